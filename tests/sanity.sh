#!/usr/bin/env bash
# ansible-test sanity on the collection as it ships (ansible-galaxy build), with no ignore entries.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ansible-galaxy collection build --force --output-path "$work" . >/dev/null
mkdir -p "$work/ansible_collections/hakvm/cluster"
tar -xzf "$work"/hakvm-cluster-*.tar.gz -C "$work/ansible_collections/hakvm/cluster"
# ansible-test bootstraps pip in its venvs with a script from a host outside the package registries:
# give it ours. 24.2 is the pip of the pinned ansible-core 2.19.
mkdir -p ~/.ansible/test/cache
cp tests/get_pip_offline.py ~/.ansible/test/cache/get_pip_24_2.py
cd "$work/ansible_collections/hakvm/cluster"
python=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible-test sanity --python "$python" --requirements --color no

"""The base role replaces /etc/nftables.conf only when nothing of anyone's is lost.

hakvm's nftables.conf loads the tables in /etc/nftables.d; an operator's own rules in that file would
be gone at the next boot. The role's check (vars __base_nftables_conf_check) runs here with /bin/sh
as Ansible's shell module runs it, on files as Debian ships them and as operators write them, with a
dpkg-query that answers as Debian's does. The preflight refuses "other" unless told to replace it.
"""
import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from templating import evaluate, render, role_vars

ROOT = Path(__file__).resolve().parents[3]

# /etc/nftables.conf as nftables 1.1.3 ships it in trixie (and 1.0.6 in bookworm, the same text).
DEBIAN = """#!/usr/sbin/nft -f

flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter;
\t}
\tchain forward {
\t\ttype filter hook forward priority filter;
\t}
\tchain output {
\t\ttype filter hook output priority filter;
\t}
}
"""

OPERATOR = """#!/usr/sbin/nft -f
flush ruleset
# monitoring
table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\ttcp dport 9100 ip saddr 192.0.2.10 accept
\t}
}
"""


def classify(tmp_path, content, installed=True):
    conf = tmp_path / "nftables.conf"
    if content is not None:
        conf.write_text(content)
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    md5 = hashlib.md5(DEBIAN.encode()).hexdigest()
    # dpkg-query -W -f='${Conffiles}\n' nftables: one line per conffile, a leading space.
    answer = f"printf ' /etc/nftables.conf {md5}\\n'" if installed else \
        "echo 'dpkg-query: no packages found matching nftables' >&2; exit 1"
    (fake / "dpkg-query").write_text(f"#!/bin/sh\n{answer}\n")
    (fake / "dpkg-query").chmod(0o755)
    variables = role_vars("base") | {"__base_nftables_conf_path": str(conf)}
    cmd = evaluate("{{ __base_nftables_conf_check }}", variables)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
    run = subprocess.run(["/bin/sh", "-c", cmd], env=env, capture_output=True, text=True, check=True)
    return run.stdout.splitlines()


def test_debians_own_file_is_recognised_by_the_checksum_dpkg_recorded(tmp_path):
    assert classify(tmp_path, DEBIAN) == ["stock"]


def test_hakvms_file_and_an_empty_one_have_nothing_to_lose(tmp_path):
    ours = render("base", "nftables.conf.j2", role_vars("base") | {"ansible_managed": "Ansible managed"})
    assert classify(tmp_path, ours) == ["hakvm"]
    assert classify(tmp_path, "") == ["hakvm"]


def test_no_file_is_absent(tmp_path):
    assert classify(tmp_path, None) == ["absent"]


def test_an_operators_rules_are_named_with_their_first_lines(tmp_path):
    assert classify(tmp_path, OPERATOR) == [
        "other", "flush ruleset", "table inet filter {", "\tchain input {",
        "\t\ttype filter hook input priority filter; policy drop;", "\t\ttcp dport 9100 ip saddr 192.0.2.10 accept"]


@pytest.mark.parametrize("content", [
    DEBIAN.replace("chain forward", "chain forward  "),              # Debian's file, edited
    'include "/etc/nftables.d/*.nft"\ntable inet mine { }\n',        # hakvm's include and a table
])
def test_anything_else_is_an_operators(tmp_path, content):
    assert classify(tmp_path, content)[0] == "other"


def test_debians_file_without_the_package_is_an_operators(tmp_path):
    assert classify(tmp_path, DEBIAN, installed=False)[0] == "other"


def preflight(name):
    tasks = yaml.safe_load((ROOT / "roles/base/tasks/preflight.yml").read_text())
    return next(t for t in tasks if t["name"] == name)


@pytest.mark.parametrize("found, replace, passes", [
    ("absent", False, True), ("hakvm", False, True), ("stock", False, True),
    ("other", False, False), ("other", True, True),
])
def test_preflight_refuses_an_operators_file_unless_told_to_replace_it(found, replace, passes):
    task = preflight("Refuse to replace an operator's own /etc/nftables.conf")["ansible.builtin.assert"]
    result = evaluate("{{ " + task["that"] + " }}", {
        "__base_nftables_conf": {"stdout_lines": [found]}, "base_firewall_replace_nftables_conf": replace})
    assert result is passes
    read = preflight("Read what /etc/nftables.conf is")
    assert read["check_mode"] is False and read["changed_when"] is False


def test_the_replaced_file_is_kept_only_when_it_was_an_operators():
    tasks = yaml.safe_load((ROOT / "roles/base/tasks/firewall.yml").read_text())
    template = next(t for t in tasks if t.get("ansible.builtin.template", {}).get("dest") == "/etc/nftables.conf")
    backup = template["ansible.builtin.template"]["backup"]
    for found, kept in (("other", True), ("stock", False), ("hakvm", False)):
        assert evaluate(backup, {"__base_nftables_conf": {"stdout_lines": [found]}}) is kept

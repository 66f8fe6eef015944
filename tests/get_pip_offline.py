"""Offline stand-in for the get-pip.py script ansible-test downloads to bootstrap pip in its venvs.

That download comes from a host outside the package registries; this installs the pip bundled
with Python (ensurepip), then the requested packages from the package index as usual.
"""
import ensurepip
import os
import subprocess
import sys

# ensurepip points PIP_CONFIG_FILE at /dev/null in our environment; pip proper needs the real config.
ENV = dict(os.environ)
ensurepip.bootstrap()
ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *ARGS], env=ENV))

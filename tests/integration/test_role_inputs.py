"""Bad inventories and inputs a new user gives the roles: refused before any change, naming the culprit.

Each case runs ansible-playbook on this machine (connection local) against an inventory written here;
the roles fail in their argument specs or preflight, before any task that would touch the host.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = """- hosts: hypervisors
  gather_facts: false
  roles: [hakvm.cluster.{role}]
"""
INVENTORY = """all:
  children:
    hypervisors:
      hosts:
        kvm1.example.net: {{ansible_connection: local, ansible_python_interpreter: {python}}}
        kvm2.example.net: {{ansible_connection: local, ansible_python_interpreter: {python}}}
"""


def run_role(tmp_path, role, extra="{}"):
    (tmp_path / "inventory.yml").write_text(INVENTORY.format(python=sys.executable))
    (tmp_path / "play.yml").write_text(PLAYBOOK.format(role=role))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default")
    result = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
                             str(tmp_path / "play.yml"), "-e", extra], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, check=False)
    return result.returncode, " ".join((result.stdout + result.stderr).split())


@pytest.mark.skipif(not (ROOT / "collections" / "ansible_collections" / "hakvm" / "cluster").exists(),
                    reason="the working tree is not linked as hakvm.cluster")
def test_the_cluster_role_names_the_groups_it_needs_when_the_inventory_lacks_them(tmp_path):
    rc, out = run_role(tmp_path, "cluster")
    assert rc != 0
    assert "needs the inventory group kvm_hosts (cluster_hosts_group)" in out, out
    assert "the inventory has the groups hypervisors" in out, out
    assert "changed=0" in out and "Traceback" not in out, out


@pytest.mark.skipif(not (ROOT / "collections" / "ansible_collections" / "hakvm" / "cluster").exists(),
                    reason="the working tree is not linked as hakvm.cluster")
def test_the_drbd_role_refuses_a_split_brain_policy_drbd_does_not_know(tmp_path):
    rc, out = run_role(tmp_path, "drbd", '{"drbd_after_sb_1pri": "discard-everything", "drbd_shared_secret": "x"}')
    assert rc != 0
    assert "value of drbd_after_sb_1pri must be one of" in out and "got: discard-everything" in out, out
    assert "changed=0" in out, out

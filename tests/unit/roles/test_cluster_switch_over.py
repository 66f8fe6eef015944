"""The whole-cluster switch-over keeps every resource where it runs.

It restarts pacemaker on every host in maintenance mode. The restart drops the transient node attributes,
among them the connectivity check's pingd, and guests are banned from a host without pingd: the cluster
scenario's switch to two_node on trixie VMs moved test_dummy (banned by the same rule) to the other host.
Maintenance mode may end only once every host has its pingd again.
"""
from pathlib import Path

import pytest
import yaml

from templating import evaluate, role_vars

SWITCH = Path(__file__).resolve().parents[3] / "roles/cluster/tasks/switch_over.yml"
NODES = [{"name": "kvm-a", "id": 1}, {"name": "kvm-b", "id": 2}]

# `attrd_updater --query --all --name pingd` on a bookworm lab host (Pacemaker 2.1.5): both hosts
# reported; then as it reads while only one has (the other line is missing); none has (rc 78, stderr
# "attribute does not exist"); and the shell's answer when the CIB has no ping clone.
BOTH = 'name="pingd" host="kvm-b" value="1000"\nname="pingd" host="kvm-a" value="1000"\n'
ONE = 'name="pingd" host="kvm-b" value="1000"\n'
NONE = ""
NO_CLONE = "no connectivity check\n"


def tasks():
    return yaml.safe_load(SWITCH.read_text())


def index(name_start):
    return next(i for i, t in enumerate(tasks()) if t["name"].startswith(name_start))


def test_maintenance_mode_ends_only_after_the_connectivity_wait():
    wait = index("Wait until every host's connectivity check has reported")
    assert index("Start pacemaker on every host") < wait < index("Leave maintenance mode")
    task = tasks()[wait]
    assert "attrd_updater --query --all --name {{ cluster_ping_attribute | quote }}" in task["ansible.builtin.shell"]
    assert task["retries"] * task["delay"] >= 60 and "failed_when" not in task


@pytest.mark.parametrize("stdout, done", [(BOTH, True), (ONE, False), (NONE, False), (NO_CLONE, True)])
def test_the_wait_ends_when_every_host_has_reported(stdout, done):
    task = tasks()[index("Wait until every host's connectivity check has reported")]
    variables = role_vars("cluster") | {"__cluster_nodes": NODES, "__cluster_pingd": {"stdout": stdout}}
    assert evaluate("{{ " + task["until"] + " }}", variables) is done

"""The whole-cluster switch-over keeps every resource where it runs.

It restarts pacemaker on every host in maintenance mode. The restart drops the transient node attributes,
among them the connectivity check's pingd, and guests are banned from a host without pingd. Maintenance
mode may end only once every host that runs the ping clone has its pingd in the CIB again: the scheduler
reads the CIB, and since Pacemaker 2.1.7 (trixie) attrd holds the probe's value for the 5 s dampening
before it writes it there (Pacemaker's changelog and source): with a wait that asked attrd, the switch to
two_node on trixie VMs still stopped test_dummy, which the same rule bans.
The command itself runs on a CIB file in tests/integration/test_cluster_switch_over_cib.py.
"""
from pathlib import Path

import pytest
import yaml

from templating import evaluate, role_vars

SWITCH = Path(__file__).resolve().parents[3] / "roles/cluster/tasks/switch_over.yml"

# What the wait's command prints (tests/integration runs it on a CIB file): a line per host that runs the
# ping clone, and one per such host whose pingd is in the CIB.
BOTH = "runs kvm-b\nreported kvm-b\nruns kvm-a\nreported kvm-a\n"
ONE = "runs kvm-b\nreported kvm-b\nruns kvm-a\n"
NONE = "runs kvm-b\nruns kvm-a\n"
STANDBY = "runs kvm-b\nreported kvm-b\n"   # kvm-a runs no ping clone: nothing to wait for there
NO_CLONE = ""


def tasks():
    return yaml.safe_load(SWITCH.read_text())


def index(name_start):
    return next(i for i, t in enumerate(tasks()) if t["name"].startswith(name_start))


def test_maintenance_mode_ends_only_after_the_connectivity_wait():
    wait = index("Wait until every host's connectivity check has reported")
    assert index("Start pacemaker on every host") < wait < index("Leave maintenance mode")
    task = tasks()[wait]
    assert "transient_attributes//nvpair[@name='{{ cluster_ping_attribute }}']" in task["ansible.builtin.shell"]["cmd"]
    assert "attrd_updater" not in task["ansible.builtin.shell"]["cmd"]
    assert task["ansible.builtin.shell"]["executable"] == "/bin/bash"   # set -o pipefail
    assert task["retries"] * task["delay"] >= 60 and "failed_when" not in task


@pytest.mark.parametrize("stdout, done", [(BOTH, True), (ONE, False), (NONE, False), (STANDBY, True),
                                          (NO_CLONE, True)])
def test_the_wait_ends_when_every_host_has_reported(stdout, done):
    task = tasks()[index("Wait until every host's connectivity check has reported")]
    variables = role_vars("cluster") | {"__cluster_pingd": {"stdout": stdout}}
    assert evaluate("{{ " + task["until"] + " }}", variables) is done

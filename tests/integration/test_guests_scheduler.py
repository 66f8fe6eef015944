"""The guests role's Pacemaker objects under the controller's real scheduler (crm_simulate on a CIB file).

Two guests, each on its own host, both DRBD disks Promoted on both hosts, as on the lab. The scheduler's
transition graph is read as the cluster would execute it: no agent runs.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests" / "unit" / "roles")]
from pacemaker_cib import empty_cib, run_module  # noqa: E402
from templating import render  # noqa: E402
import test_guests_templates as guests_templates  # noqa: E402

pytestmark = pytest.mark.skipif(not shutil.which("crm_simulate"), reason="needs pacemaker-cli-utils (./dev setup)")

HOSTS = {"hv1": {"ansible_host": "198.51.100.11"}, "hv2": {"ansible_host": "198.51.100.12"}}
GUESTS = [{"name": "alpha", "memory": "128M", "disks": [{"size": "64M", "minor": 10}], "preferred_host": "hv1"},
          {"name": "beta", "memory": "128M", "disks": [{"size": "64M", "minor": 11}], "preferred_host": "hv2"}]


def tool(cib, *argv):
    return subprocess.run(list(argv), env=dict(os.environ, CIB_file=cib), capture_output=True, text=True,
                          check=True).stdout


def simulate(cib, out=None, dot=None, up=()):
    """One transition: its summary, and the graph's edges as (before, after) pairs."""
    argv = ["crm_simulate", "--xml-file", cib, "--simulate"] + (["--save-output", out] if out else [])
    argv += [arg for name in up for arg in ("--node-up", name)]
    summary = subprocess.run(argv + (["--save-dotfile", dot] if dot else []), capture_output=True, text=True,
                             check=True).stdout
    edges = set()
    if dot:
        edges = set(re.findall(r'^"([^"]+)" -> "([^"]+)"', Path(dot).read_text(), re.M))
    return summary.split("Transition Summary:", 1)[1].split("Executing Cluster Transition:", 1)[0], edges


def steady(tmp_path):
    """The guests' objects as the role declares them, both hosts up and both guests running."""
    extra = dict(guests=GUESTS, hostvars=HOSTS, groups={"kvm_hosts": sorted(HOSTS)})
    merged = guests_templates.variables(**extra)
    merged["__guests_plan"] = guests_templates.plan(**extra)
    merged["__guests_before"] = []
    objects = json.loads(render("guests", "cib.json.j2", merged))
    cib = str(tmp_path / "cib.xml")
    empty_cib(cib)
    for number, name in enumerate(sorted(HOSTS), 1):
        tool(cib, "cibadmin", "--create", "--scope", "nodes", "--xml-text", '<node id="%d" uname="%s"/>' % (number, name))
    decl = {key: value for key, value in objects.items() if key != "remove"}
    _took, result = run_module(cib, dict(decl, properties={"stonith-enabled": False, "no-quorum-policy": "ignore",
                                                           "placement-strategy": "utilization"},
                                         rsc_defaults={"resource-stickiness": 100}))
    assert result["changed"], result
    state = str(tmp_path / "state.xml")
    simulate(cib, out=state, up=sorted(HOSTS))            # the hosts join; probes; nothing can start yet
    for name in HOSTS:
        tool(state, "crm_attribute", "--node", name, "--utilization", "--name", "cpu", "--update", "4")
        tool(state, "crm_attribute", "--node", name, "--utilization", "--name", "hv_memory", "--update", "1024")
        for disk in ("alpha-disk0", "beta-disk0"):           # what the drbd agent sets on an UpToDate disk
            tool(state, "crm_attribute", "--node", name, "--lifetime", "reboot",
                 "--name", "master-p_drbd_" + disk, "--update", "10000")
    return state


def test_guests_start_only_after_their_disks_are_promoted(tmp_path):
    state = steady(tmp_path)
    summary, edges = simulate(state, out=state, dot=str(tmp_path / "start.dot"))
    assert re.search(r"Start\s+vm_alpha\s+\(\s*hv1 \)", summary) and re.search(r"Start\s+vm_beta\s+\(\s*hv2 \)", summary)
    assert ("ms_drbd_alpha-disk0_confirmed-post_notify_promoted_0", "vm_alpha_start_0 hv1") in edges
    summary, _ = simulate(state, out=state)
    assert summary.strip() == "", summary


def test_a_host_in_standby_live_migrates_its_guest_and_demotes_only_after(tmp_path):
    state = steady(tmp_path)
    simulate(state, out=state)
    tool(state, "crm_attribute", "--node", "hv2", "--name", "standby", "--update", "on")
    summary, edges = simulate(state, out=state, dot=str(tmp_path / "standby.dot"))
    assert re.search(r"Migrate\s+vm_beta\s+\(\s*hv2 -> hv1 \)", summary), summary
    assert "vm_alpha" not in summary, summary
    assert ("vm_beta_migrate_to_0 hv2", "vm_beta_migrate_from_0 hv1") in edges
    assert ("vm_beta_migrate_from_0 hv1", "vm_beta_stop_0 hv2") in edges
    assert ("vm_beta_stop_0 hv2", "ms_drbd_beta-disk0_demote_0") in edges
    # Back from standby: the disk is promoted on hv2 again before the guest may return there.
    tool(state, "crm_attribute", "--node", "hv2", "--name", "standby", "--update", "off")
    summary, edges = simulate(state, out=state, dot=str(tmp_path / "back.dot"))
    assert "Restart" not in summary and "Stop       vm_" not in summary, summary
    if "vm_beta" in summary:
        assert re.search(r"Migrate\s+vm_beta\s+\(\s*hv1 -> hv2 \)", summary), summary
        assert ("ms_drbd_beta-disk0_confirmed-post_notify_promoted_0", "vm_beta_migrate_to_0 hv1") in edges


def test_a_guest_moved_by_the_operator_migrates_live(tmp_path):
    state = steady(tmp_path)
    simulate(state, out=state)
    tool(state, "crm_resource", "--resource", "vm_alpha", "--move", "--node", "hv2")
    summary, _ = simulate(state, out=state)
    assert re.search(r"Migrate\s+vm_alpha\s+\(\s*hv1 -> hv2 \)", summary), summary

"""pacemaker_node as a module process on a CIB file, with the controller's real pacemaker tools.

The CIB is a recorded two-node cluster with both nodes up and resources running
(tests/unit/plugins/module_utils/fixtures/pacemaker-node-cib-running.xml), so crm_mon on the file sees hv1 and
hv2 online. Attributes are set beforehand with crm_attribute, in the lifetime each test needs.
"""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from pacemaker_cib import run_module  # noqa: E402

MODULE = str(ROOT / "plugins" / "modules" / "pacemaker_node.py")
CIB = ROOT / "tests" / "unit" / "plugins" / "module_utils" / "fixtures" / "pacemaker-node-cib-running.xml"

pytestmark = pytest.mark.skipif(not shutil.which("cibadmin"), reason="needs pacemaker-cli-utils (./dev setup)")


@pytest.fixture
def cib(tmp_path):
    path = tmp_path / "cib.xml"
    shutil.copy(CIB, path)
    return str(path)


def tool(cib, *argv, check=True):
    return subprocess.run(list(argv), env=dict(os.environ, CIB_file=cib, PATH=os.environ["PATH"] + ":/usr/sbin"),
                          capture_output=True, text=True, check=check)


def attribute(cib, node, name, lifetime, value):
    tool(cib, "crm_attribute", "--node", node, "--name", name, "--lifetime", lifetime, "--update", value)


def attributes(cib, node):
    """{(name, lifetime): value} as crm_attribute reads them back."""
    found = {}
    for name in ("standby", "maintenance"):
        for lifetime in ("forever", "reboot"):
            done = tool(cib, "crm_attribute", "--node", node, "--name", name, "--lifetime", lifetime, "--query",
                        "--quiet", check=False)
            if done.returncode == 0:
                found[(name, lifetime)] = done.stdout.strip()
    return found


def crm_mon_node(cib, node):
    root = ET.fromstring(tool(cib, "crm_mon", "--one-shot", "--output-as=xml").stdout)
    return root.find("nodes/node[@name='%s']" % node).attrib


def node(cib, check=False, **args):
    return run_module(cib, args, check=check, module=MODULE)[1]


def test_online_clears_both_attributes_in_both_lifetimes(cib):
    attribute(cib, "hv1", "standby", "forever", "on")
    attribute(cib, "hv1", "standby", "reboot", "on")
    attribute(cib, "hv1", "maintenance", "reboot", "on")
    assert crm_mon_node(cib, "hv1")["standby"] == "true" and crm_mon_node(cib, "hv1")["maintenance"] == "true"
    result = node(cib, node="hv1", state="online")
    assert result["changed"], result
    assert result["previous_state"] == "standby+maintenance (until reboot, then standby)"
    assert result["state"] == "online" and result["diff"]["after"] == "state: online\n"
    assert attributes(cib, "hv1") == {}
    assert crm_mon_node(cib, "hv1")["standby"] == "false" and crm_mon_node(cib, "hv1")["maintenance"] == "false"


def test_a_transient_off_does_not_hide_a_permanent_standby(cib):
    attribute(cib, "hv1", "standby", "forever", "on")
    attribute(cib, "hv1", "standby", "reboot", "off")
    assert crm_mon_node(cib, "hv1")["standby"] == "false"
    again = node(cib, node="hv1", state="online")
    assert again["previous_state"] == "online (until reboot, then standby)" and again["state"] == "online"
    assert ("standby", "forever") not in attributes(cib, "hv1")


def test_standby_is_refused_when_the_only_other_node_is_in_standby(cib):
    attribute(cib, "hv2", "standby", "reboot", "on")
    content = Path(cib).read_bytes()
    for check in (True, False):
        refused = node(cib, check=check, node="hv1", state="standby")
        assert refused.get("failed") and not refused["changed"], refused
        assert refused["msg"] == ("Refuse to put hv1 in standby without force=true: no other node can take over its "
                                  "resources (hv2 is in standby); force=true stops every resource hv1 runs")
    assert Path(cib).read_bytes() == content, "a refused run wrote the CIB"
    forced = node(cib, node="hv1", state="standby", force=True)
    assert forced["changed"] and forced["state"] == "standby" and crm_mon_node(cib, "hv1")["standby"] == "true"
    assert "Unknown node hv9 (the CIB has: hv1, hv2)" in node(cib, node="hv9", state="online")["msg"]


def test_check_mode_writes_nothing_and_a_second_run_changes_nothing(cib):
    attribute(cib, "hv1", "maintenance", "forever", "on")
    steps = [dict(state="standby", lifetime="reboot", previous="maintenance", now="standby (until reboot)"),
             dict(state="standby", lifetime="forever", previous="standby (until reboot)", now="standby"),
             dict(state="maintenance", lifetime="reboot", previous="standby", now="maintenance (until reboot)"),
             dict(state="online", lifetime="forever", previous="maintenance (until reboot)", now="online")]
    for step in steps:
        args = dict(node="hv1", state=step["state"], lifetime=step["lifetime"])
        content = Path(cib).read_bytes()
        checked = node(cib, check=True, **args)
        assert checked["changed"] and checked["previous_state"] == step["previous"], checked
        assert checked["state"] == step["now"] and checked["diff"]["after"] == "state: %s\n" % step["now"]
        assert Path(cib).read_bytes() == content, "check mode wrote the CIB"
        applied = node(cib, **args)
        assert applied["changed"] and applied["state"] == step["now"], applied
        content = Path(cib).read_bytes()
        again = node(cib, **args)
        assert not again["changed"] and again["previous_state"] == again["state"] == step["now"], again
        assert Path(cib).read_bytes() == content, "an unchanged run wrote the CIB"
    assert attributes(cib, "hv1") == {}

"""pacemaker_cib as a module process on a CIB file, with the controller's real pacemaker and crmsh."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from pacemaker_cib import empty_cib, epoch, run_module, stacks  # noqa: E402

pytestmark = pytest.mark.skipif(not shutil.which("cibadmin"), reason="needs pacemaker-cli-utils (./dev setup)")


@pytest.fixture
def cib(tmp_path):
    path = str(tmp_path / "cib.xml")
    empty_cib(path)
    decl = stacks(3)[0]
    _took, result = run_module(path, dict(decl, properties={"stonith-enabled": False}))
    assert result["changed"] and len(result["added"]) == 16, result
    return path


def verify(path):
    return subprocess.run(["crm_verify", "--xml-file", path], capture_output=True, text=True, check=False)


def test_apply_is_valid_idempotent_and_honest_in_check_mode(cib):
    assert verify(cib).returncode == 0
    decl = stacks(3)[0]
    before = epoch(cib)
    _took, again = run_module(cib, decl)
    assert not again["changed"] and again["epoch"] == before == epoch(cib)
    decl["primitives"][1]["params"]["config"] = "/srv/vm001.xml"
    content = Path(cib).read_bytes()
    _took, check = run_module(cib, decl, check=True)
    assert check["changed"] and check["modified"] == ["vm_vm001"]
    assert Path(cib).read_bytes() == content, "check mode wrote the CIB"
    _took, applied = run_module(cib, decl)
    assert applied["modified"] == ["vm_vm001"] and applied["epoch"] > before
    shown = subprocess.run(["crm", "configure", "show", "vm_vm001"], env={"CIB_file": cib, "PAGER": "cat",
                           "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, capture_output=True, text=True,
                           check=True).stdout
    assert "config=\"/srv/vm001.xml\"" in shown and verify(cib).returncode == 0


@pytest.mark.parametrize("change, message", [
    (dict(primitives=[dict(id="x", agent="ocf:heartbeat:NoSuchAgent")]), "primitive x: unknown resource agent"),
    (dict(primitives=[dict(id="x", agent="ocf:heartbeat:VirtualDomain", params={"config": "/a", "cpus": 2})]),
     "primitive x: agent ocf:heartbeat:VirtualDomain has no parameter cpus"),
    (dict(colocations=[{"id": "c", "resource": "vm_vm001", "with": "vm_vm002", "score": "always"}]),
     "colocation c: invalid score"),
    (dict(orders=[dict(id="o", first="vm_vm001", then="vm_gone")]), "rsc_order o refers to resource vm_gone"),
    (dict(primitives=[dict(id="1st", agent="ocf:pacemaker:Dummy")]), "primitive '1st': invalid id"),
    (dict(locations=[dict(id="l", resource="vm_vm001", rules=[dict(expression="pingd lte 0 or")])]),
     "location l: rule 'pingd lte 0 or' is empty or ends with an operator"),
    (dict(primitives=[dict(id="d", agent="ocf:pacemaker:Dummy", operations=[dict(name="monitor", interval="10s",
                                                                            on_fail="explode")])]),
     "crm_verify rejects the new configuration"),
    (dict(remove=["vm_vm001"]), "rsc_colocation col_vm001_on_drbd refers to resource vm_vm001, which is being removed"),
])
def test_bad_input_is_rejected_and_the_cib_is_untouched(cib, change, message):
    content, before = Path(cib).read_bytes(), epoch(cib)
    _took, result = run_module(cib, change)
    assert result.get("failed") and message in result["msg"], result.get("msg")
    assert "the CIB was not changed" in result["msg"]
    assert Path(cib).read_bytes() == content and epoch(cib) == before


def test_remove_undeclared_objects_needs_its_option(cib):
    decl = stacks(2)[0]
    _took, kept = run_module(cib, decl)
    assert not kept["changed"]
    _took, pruned = run_module(cib, dict(decl, remove_undeclared_objects=True))
    assert sorted(pruned["removed"]) == ["col_vm003_on_drbd", "ms_drbd_vm003", "ord_drbd_before_vm003", "vm_vm003"]
    assert verify(cib).returncode == 0


def test_node_states(cib):
    node_module = str(ROOT / "plugins" / "modules" / "pacemaker_node.py")
    subprocess.run(["cibadmin", "--create", "--scope", "nodes", "--xml-text", '<node id="1" uname="hv1"/>'],
                   env=dict(os.environ, CIB_file=cib), check=True)

    def node(state, check=False, name="hv1"):
        return run_module(cib, dict(node=name, state=state), check=check, module=node_module)[1]

    assert not node("online")["changed"]
    before = epoch(cib)
    checked = node("standby", check=True)
    assert checked["changed"] and checked["state"] == "standby" and epoch(cib) == before
    assert node("standby")["previous_state"] == "online"
    assert not node("standby")["changed"]
    assert node("maintenance")["previous_state"] == "standby"
    assert node("online")["previous_state"] == "maintenance"
    assert "Unknown node hv9 (the CIB has: hv1)" in node("online", name="hv9")["msg"]

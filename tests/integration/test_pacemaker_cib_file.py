"""pacemaker_cib as a module process on a CIB file, with the controller's real pacemaker and crmsh."""
import json
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


def crm(path, *argv):
    """crmsh on the CIB file, as an operator would run it on a node."""
    return subprocess.run(["crm", "-F"] + list(argv), env={"CIB_file": path, "PAGER": "cat",
                          "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, capture_output=True, text=True, check=True).stdout


def add_nodes(path, *names):
    for number, name in enumerate(names, 1):
        subprocess.run(["cibadmin", "--create", "--scope", "nodes", "--xml-text",
                        '<node id="%d" uname="%s"/>' % (number, name)], env=dict(os.environ, CIB_file=path), check=True)


def nothing_reported(result):
    return not result["changed"] and result["added"] == result["modified"] == result["removed"] == []


DUMMIES = dict(properties={"stonith-enabled": False},
               primitives=[dict(id=rid, agent="ocf:pacemaker:Dummy") for rid in ("a", "b")],
               groups=[dict(id="g", resources=["a", "b"])])
# c started on hv1, as the controller records it in the status section.
C_RUNNING = ('<node_state id="1" uname="hv1" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="1">'
             '<lrm_resources><lrm_resource id="c" class="ocf" provider="pacemaker" type="Dummy"><lrm_rsc_op id="c_last_0" '
             'operation_key="c_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.1" '
             'transition-key="1:1:0:00000000-0000-0000-0000-000000000000" transition-magic="0:0;1:1:0:00000000-0000-'
             '0000-0000-000000000000" exit-reason="" on_node="hv1" call-id="7" rc-code="0" op-status="0" interval="0" '
             'last-rc-change="1700000000" exec-time="10" queue-time="0"/></lrm_resource></lrm_resources></lrm>'
             '</node_state>')


@pytest.fixture
def group_cib(tmp_path):
    """Group g [a, b] converged by the module on a CIB file with nodes hv1 and hv2."""
    path = empty_cib(str(tmp_path / "cib.xml"))
    add_nodes(path, "hv1", "hv2")
    _took, result = run_module(path, DUMMIES)
    assert result["added"] == ["cib-bootstrap-options", "a", "b", "g"], result
    return path


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
    (dict(groups=[dict(id="g", resources=["ms_drbd_vm001"])]),
     "group g: member ms_drbd_vm001 is a clone; a group holds only primitives"),
    (dict(clones=[dict(id="cl", resource="ms_drbd_vm001")]), "clone cl: resource ms_drbd_vm001 is a clone"),
    (dict(groups=[dict(id="g", resources=[])]), "group g: no members declared"),
    (dict(fencing_topology=[dict(node="hv1", devices=["vm_vm001"])]),
     "fencing level hv1/1: unknown node hv1 (the CIB lists no nodes"),
])
def test_bad_input_is_rejected_and_the_cib_is_untouched(cib, change, message):
    content, before = Path(cib).read_bytes(), epoch(cib)
    _took, result = run_module(cib, change)
    assert result.get("failed") and message in result["msg"], result.get("msg")
    assert "the CIB was not changed" in result["msg"]
    assert nothing_reported(result) and "diff" not in result, "a failure reported changes that were not applied"
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
    add_nodes(cib, "hv1")

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


def test_a_group_member_added_by_hand_is_kept_and_removed_only_by_the_rules(group_cib):
    """The issue's reproduction: modgroup g add c by hand, c running, then a plain re-apply."""
    crm(group_cib, "configure", "primitive", "c", "ocf:pacemaker:Dummy")
    crm(group_cib, "configure", "modgroup", "g", "add", "c")
    subprocess.run(["cibadmin", "--create", "--scope", "status", "--xml-text", C_RUNNING],
                   env=dict(os.environ, CIB_file=group_cib), check=True)
    before = epoch(group_cib)
    _took, again = run_module(group_cib, DUMMIES)
    assert nothing_reported(again) and epoch(group_cib) == before, again
    assert "group g a b c" in " ".join(crm(group_cib, "configure", "show", "g").split())
    content = Path(group_cib).read_bytes()
    _took, refused = run_module(group_cib, dict(DUMMIES, remove_undeclared_objects=True))
    assert "Refusing to remove running resources c without force=true" in refused["msg"], refused
    assert nothing_reported(refused) and Path(group_cib).read_bytes() == content
    _took, removed = run_module(group_cib, dict(DUMMIES, remove=["c"], force=True))
    assert (removed["removed"], removed["modified"]) == (["c"], ["g"]), removed
    assert "group g a b" in " ".join(crm(group_cib, "configure", "show", "g").split())
    # Only warnings: the hand-made status still shows c running, now an orphan for Pacemaker to stop.
    assert "Errors found" not in verify(group_cib).stderr


@pytest.mark.parametrize("operator", [["resource", "stop", "g"], ["resource", "unmanage", "g"]])
def test_an_operators_stop_or_unmanage_of_a_group_needs_no_write(group_cib, operator):
    crm(group_cib, *operator)
    before = epoch(group_cib)
    _took, again = run_module(group_cib, DUMMIES)
    assert nothing_reported(again) and epoch(group_cib) == before, again


def test_constraints_crm_made_match_their_declaration_with_defaults_left_out(group_cib):
    decl = dict(DUMMIES, primitives=DUMMIES["primitives"] + [dict(id=r, agent="ocf:pacemaker:Dummy") for r in "xyz"])
    run_module(group_cib, decl)
    for line in ("order o_plain x g", "order o_mandatory Mandatory: x g", "order o_serial Serialize: x y",
                 "colocation col_g_x inf: g:Started x", "location loc_g g resource-discovery=always 100: hv1"):
        crm(group_cib, "configure", *line.split())
    before = epoch(group_cib)
    _took, again = run_module(group_cib, dict(
        decl, orders=[dict(id="o_plain", first="x", then="g"), dict(id="o_mandatory", first="x", then="g", kind="Mandatory"),
                      dict(id="o_serial", first="x", then="y", kind="Serialize", symmetrical=False)],
        colocations=[{"id": "col_g_x", "resource": "g", "with": "x"}],
        locations=[dict(id="loc_g", resource="g", node="hv1", score="100")]))
    assert nothing_reported(again) and epoch(group_cib) == before, again


def test_fencing_levels_name_nodes_of_the_cluster(group_cib):
    fence = dict(id="f_hv1", agent="stonith:fence_ipmilan", params={"ip": "198.18.2.1", "username": "admin"})
    decl = dict(DUMMIES, primitives=DUMMIES["primitives"] + [fence], validate_agents=False)
    _took, typo = run_module(group_cib, dict(decl, fencing_topology=[dict(node="hv9", devices=["f_hv1"])]))
    assert "fencing level hv9/1: unknown node hv9 (the CIB has: hv1, hv2)" in typo["msg"] and nothing_reported(typo)
    _took, ok = run_module(group_cib, dict(decl, fencing_topology=[dict(node="hv2", devices=["f_hv1"])]))
    assert ok["added"] == ["f_hv1", "fl-hv2-1"], ok


def test_secret_parameters_are_masked_in_every_result(tmp_path):
    """A fence device's password appears nowhere in the module's JSON, diffs included; the password
    script's path is not a secret and stays readable."""
    path = empty_cib(str(tmp_path / "cib.xml"))
    secret, script = "S3cr3t-value", "/usr/local/sbin/ipmi-password"

    def decl(password):
        return dict(properties={"stonith-enabled": False}, validate_agents=False, primitives=[dict(
            id="fence_hv1", agent="stonith:fence_ipmilan",
            params={"ip": "198.18.2.1", "username": "admin", "password": password, "password_script": script})])

    _took, checked = run_module(path, decl(secret), check=True)
    _took, applied = run_module(path, decl(secret))
    assert secret in Path(path).read_text(), "the CIB itself holds the password"
    _took, changed = run_module(path, decl("N3w-s3cret"))
    _took, removed = run_module(path, dict(remove=["fence_hv1"], force=True))
    for result in (checked, applied, changed, removed):
        shown = json.dumps(result)
        assert result["diff"] and not result.get("failed"), result
        assert secret not in shown and "N3w-s3cret" not in shown, shown
    assert script in json.dumps(checked["diff"]) and "********" in json.dumps(checked["diff"])
    assert changed["modified"] == ["fence_hv1"] and removed["removed"] == ["fence_hv1"]

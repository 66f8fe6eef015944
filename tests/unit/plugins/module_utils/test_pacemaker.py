"""pacemaker_cib's planning on recorded CIB XML (cibadmin --query of real clusters and CIB files)."""
from pathlib import Path

import pytest

from ansible_collections.hakvm.cluster.plugins.module_utils.pacemaker import (
    CibError, PacemakerCli, Plan, canon, interval_ms, is_secret, score, secret_values)

FIXTURES = Path(__file__).parent / "fixtures"
# crmsh 4.4.1 / pacemaker 2.1.5 (bookworm), made with `crm configure` including the old `ms` syntax.
BOOKWORM = (FIXTURES / "crmsh-4.4-bookworm.xml").read_text()
# The same with the nodes that fencing levels name (the recorded file has none).
BOOKWORM_NODES = BOOKWORM.replace("<nodes/>", '<nodes><node id="1" uname="hv1"/><node id="2" uname="hv2"/></nodes>')

WEB = dict(
    primitives=[
        dict(id="p_drbd_web", agent="ocf:linbit:drbd", params={"drbd_resource": "web"},
             operations=[dict(name="monitor", interval="29s", role="Promoted", timeout="20s"),
                         dict(name="monitor", interval="31s", role="Unpromoted", timeout="20s")]),
        dict(id="vm_web", agent="ocf:heartbeat:VirtualDomain",
             params={"config": "/etc/hakvm/guests/web.xml", "hypervisor": "qemu:///system",
                     "migration_transport": "ssh"},
             meta={"allow-migrate": True}, operations=[dict(name="monitor", interval="30s", timeout="30s")]),
    ],
    colocations=[{"id": "col_web_on_drbd", "resource": "vm_web", "with": "ms_drbd_web", "with_role": "Promoted"}],
    orders=[dict(id="ord_drbd_before_web", first="ms_drbd_web", first_action="promote", then="vm_web",
                 kind="Mandatory")],
    locations=[dict(id="loc_web_connected", resource="vm_web",
                    rules=[dict(expression="not_defined pingd or pingd lte 0", score="-inf")])],
    properties={"stonith-enabled": False, "priority-fencing-delay": "15s"},
    rsc_defaults={"resource-stickiness": 100},
)


def declared(**changes):
    result = {k: [dict(o) for o in v] if isinstance(v, list) else dict(v) for k, v in WEB.items()}
    result.update(changes)
    return result


def test_what_crmsh_made_matches_the_same_declaration():
    """Role names Master/Promoted, 30000ms/30s, nvpair ids and order, kept target-role: no change."""
    plan = Plan(BOOKWORM, declared())
    assert (plan.added, plan.modified, plan.removed) == ([], [], [])
    assert not plan.changed and plan.agents == {}


def test_operator_stop_is_kept_and_parameter_change_is_in_place():
    spec = declared()
    spec["primitives"][1] = dict(spec["primitives"][1], params=dict(spec["primitives"][1]["params"], config="/srv/web.xml"))
    plan = Plan(BOOKWORM, spec)
    assert plan.modified == ["vm_web"] and not plan.added and not plan.removed
    [diff] = plan.diff
    assert '-    <nvpair' not in diff["after"] and 'value="/srv/web.xml"' in diff["after"]
    assert 'name="target-role" value="Stopped"' in diff["after"], "an operator's stop survives the update"
    assert list(plan.agents) == ["ocf:heartbeat:VirtualDomain"]
    new = plan.new_xml()
    assert 'epoch="2"' in new and new.count('id="vm_web"') == 1, "Pacemaker raises the epoch, not the plan"


def test_legacy_master_becomes_a_promotable_clone():
    spec = declared(clones=[dict(id="ms_drbd_web", resource="p_drbd_web", promotable=True,
                                 meta={"promoted-max": 1, "clone-max": 2, "notify": True, "interleave": True})])
    plan = Plan(BOOKWORM, spec)
    assert plan.modified == ["ms_drbd_web"]
    assert '<master' not in plan.new_xml() and 'name="promotable" value="true"' in plan.new_xml()


def test_new_stack_is_added_after_the_live_resources():
    spec = declared(primitives=WEB["primitives"] + [dict(id="vm_db", agent="ocf:heartbeat:VirtualDomain",
                                                         params={"config": "/etc/db.xml"})],
                    colocations=WEB["colocations"] + [{"id": "col_db", "resource": "vm_db", "with": "vm_web",
                                                       "score": "-100"}])
    plan = Plan(BOOKWORM, spec)
    assert plan.added == ["vm_db", "col_db"]
    resources = plan.config.find("resources")
    assert [r.get("id") for r in resources] == ["ms_drbd_web", "vm_web", "cl_ping", "vm_db"]


def test_properties_merge_and_name_only_what_changes():
    plan = Plan(BOOKWORM, dict(properties={"stonith-enabled": True, "no-quorum-policy": "stop"}))
    assert plan.modified == ["cib-bootstrap-options"]
    pairs = {nv.get("name"): nv.get("value") for nv in plan.config.iter("nvpair")
             if nv.get("id", "").startswith("cib-bootstrap-options")}
    assert pairs == {"stonith-enabled": "true", "priority-fencing-delay": "15s", "no-quorum-policy": "stop"}


def test_remove_and_remove_undeclared():
    plan = Plan(BOOKWORM, declared(), remove=["cl_ping"])
    assert plan.removed == ["cl_ping"] and "p_ping" in plan.removed_resources
    with pytest.raises(CibError, match="refers to resource ms_drbd_web, which is being removed"):
        Plan(BOOKWORM, declared(), remove_undeclared=True)
    spec = declared(clones=[dict(id="ms_drbd_web", resource="p_drbd_web", promotable=True)])
    plan = Plan(BOOKWORM, spec, remove_undeclared=True)
    assert plan.removed == ["cl_ping"] and plan.modified == ["ms_drbd_web"]
    with pytest.raises(CibError, match="rsc_colocation col_web_on_drbd refers to resource vm_web, which is being removed"):
        Plan(BOOKWORM, {}, remove=["vm_web"])
    with pytest.raises(CibError, match="both declared and listed in remove"):
        Plan(BOOKWORM, declared(), remove=["vm_web"])


@pytest.mark.parametrize("change, message", [
    (dict(primitives=[dict(id="bad id", agent="ocf:pacemaker:Dummy")]), "primitive 'bad id': invalid id"),
    (dict(primitives=[dict(id="x", agent="Dummy")]), "primitive x: invalid agent 'Dummy'"),
    (dict(colocations=[{"id": "c", "resource": "vm_web", "with": "nope"}]),
     "rsc_colocation c refers to resource nope, which does not exist"),
    (dict(colocations=[{"id": "c", "resource": "vm_web", "with": "cl_ping", "score": "lots"}]),
     "colocation c: invalid score 'lots'"),
    (dict(locations=[dict(id="l", resource="vm_web", rules=[dict(expression="pingd lte")])]),
     "location l: rule 'pingd lte': cannot read 'pingd lte'"),
    (dict(locations=[dict(id="l", resource="vm_web", rules=[dict(expression="defined a and defined b or defined c")])]),
     'mixes "and" and "or"'),
    (dict(locations=[dict(id="l", resource="vm_web", rules=[dict(expression="defined a or")])]),
     "ends with an operator"),
    (dict(locations=[dict(id="l", resource="vm_web")]), "location l: give either node"),
    (dict(orders=[dict(id="o", first="vm_web", then="cl_ping", first_action="begin")]), "invalid first_action"),
    (dict(primitives=[dict(id="vm_web", agent="ocf:pacemaker:Dummy")], groups=[dict(id="vm_web", resources=[])]),
     "id vm_web is declared more than once"),
    (dict(groups=[dict(id="cl_ping", resources=["vm_web"])]), "group cl_ping: the CIB holds a clone"),
    (dict(fencing_topology=[dict(node="hv1", devices=["vm_web"])]), "fencing level hv1/1: vm_web is not a stonith"),
    (dict(fencing_topology=[dict(node="hv3", devices=["vm_web"])]),
     "fencing level hv3/1: unknown node hv3 (the CIB has: hv1, hv2)"),
    (dict(primitives=[dict(id="x", agent="ocf:pacemaker:Dummy", operations=[dict(name="monitor", interval="soon")])]),
     "operation monitor has an invalid interval"),
])
def test_bad_input_names_the_object(change, message):
    with pytest.raises(CibError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Plan(BOOKWORM_NODES, change)


def test_scores_intervals_and_canon():
    assert [score("x", v) for v in ("inf", "+INFINITY", "-inf", "007", -5)] == [
        "INFINITY", "INFINITY", "-INFINITY", "7", "-5"]
    assert interval_ms("30s") == interval_ms("30000ms") == interval_ms("30") == "30000"
    assert interval_ms("1min") == "60000"
    import xml.etree.ElementTree as ET
    a = ET.fromstring('<op id="a" name="monitor" interval="1min" role="Master"/>')
    b = ET.fromstring('<op id="b" name="monitor" interval="60s" role="Promoted"/>')
    assert canon(a) == canon(b)


def test_fencing_levels_match_by_node_and_index():
    stonith = [dict(id="f_hv1", agent="stonith:fence_ipmilan"), dict(id="f_hv2", agent="stonith:fence_ipmilan")]
    first = Plan(BOOKWORM_NODES, dict(primitives=stonith, fencing_topology=[dict(node="hv1", devices=["f_hv1"])]))
    assert first.added == ["f_hv1", "f_hv2", "fl-hv1-1"]
    again = Plan(first.new_xml(), dict(primitives=stonith, fencing_topology=[dict(node="hv1", index=1, devices=["f_hv1"])]))
    assert not again.changed
    moved = Plan(first.new_xml(), dict(primitives=stonith, fencing_topology=[dict(node="hv1", devices=["f_hv2"])]))
    assert moved.modified == ["fl-hv1-1"]


def test_member_of_an_undeclared_clone_is_updated_where_it_is():
    plan = Plan(BOOKWORM, dict(primitives=[dict(id="p_ping", agent="ocf:pacemaker:ping",
                                                params={"host_list": "198.18.0.2", "multiplier": 1000},
                                                operations=[dict(name="monitor", interval="15s")])]))
    assert plan.modified == ["p_ping"]
    clone = plan.config.find("resources/clone[@id='cl_ping']")
    assert [c.get("id") for c in clone if c.tag == "primitive"] == ["p_ping"]
    assert len(plan.config.findall("resources/primitive[@id='p_ping']")) == 0


class FakeModule:
    """Answers the pacemaker tools like a live cluster whose CIB is `live`; records what ran."""

    def __init__(self, live):
        self.live, self.ran = live, []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return name

    def run_command(self, argv, environ_update=None):
        self.ran.append(argv[0] + (' ' + argv[1] if len(argv) > 1 else ''))
        if argv[0] == 'crm_diff':
            return 1, '<diff format="2"/>', ''
        if argv[:2] == ['cibadmin', '--query']:
            return 0, self.live, ''
        return 0, '', ''


def test_patch_ignores_status_updates_but_replans_after_a_configuration_change():
    # Seen on a cluster under TCG: every status update raises num_updates, so a versioned patch was
    # refused on every attempt. Only admin_epoch and epoch count.
    old = '<cib admin_epoch="0" epoch="7" num_updates="3"><configuration/><status/></cib>'
    status_moved = FakeModule(old.replace('num_updates="3"', 'num_updates="9"'))
    assert PacemakerCli(status_moved).patch(old, old) is True
    assert status_moved.ran[-1] == 'cibadmin --patch'
    config_moved = FakeModule(old.replace('epoch="7"', 'epoch="8"'))
    assert PacemakerCli(config_moved).patch(old, old) is False
    assert 'cibadmin --patch' not in config_moved.ran


# The live CIB of the lab's VM cluster on trixie (pacemaker 3.0.0, crmsh 5.0.0~rc1) after the cluster
# role and the molecule scenario's test_dummy; the lab's IPMI password is replaced by REDACTED.
TRIXIE = (FIXTURES / "pacemaker-3.0-trixie-live.xml").read_text()
ROLE = dict(
    properties={"stonith-enabled": True, "priority-fencing-delay": "15s", "no-quorum-policy": "stop"},
    rsc_defaults={"resource-stickiness": 100, "migration-threshold": 3},
    op_defaults={"timeout": "60s"},
    primitives=[dict(id="fence_" + host, agent="stonith:fence_ipmilan",
                     params={"pcmk_host_list": host, "ip": "198.18.2.1", "ipport": port, "username": "admin",
                             "password": "REDACTED", "lanplus": 1},
                     operations=[dict(name="monitor", interval="60s", timeout="30s")])
                for host, port in (("hv1", 6241), ("hv2", 6242))] + [
        dict(id="p_ping", agent="ocf:pacemaker:ping",
             params={"host_list": "198.18.2.1", "multiplier": 1000, "dampen": "5s", "name": "pingd"},
             operations=[dict(name="monitor", interval="10s", timeout="60s")])],
    clones=[dict(id="cl_ping", resource="p_ping", meta={"interleave": True})],
    locations=[dict(id="loc_fence_%s_avoids_%s" % (h, h), resource="fence_" + h, node=h, score="-INFINITY")
               for h in ("hv1", "hv2")],
)


def test_pacemaker_3_live_cib_matches_the_cluster_roles_declaration():
    plan = Plan(TRIXIE, ROLE)
    assert not plan.changed, plan.diff
    # The status section names primitives only: a clone is active when its primitive runs.
    assert plan.active("test_dummy") and plan.active("cl_ping") and plan.active("fence_hv2")
    assert not plan.active("fence_hv1_typo")


def test_pacemaker_3_parameter_change_touches_one_object():
    spec = dict(ROLE, primitives=[dict(p) for p in ROLE["primitives"]])
    spec["primitives"][2] = dict(spec["primitives"][2], params=dict(spec["primitives"][2]["params"], dampen="10s"))
    plan = Plan(TRIXIE, spec)
    assert (plan.modified, plan.added, plan.removed) == (["p_ping"], [], [])
    config = plan.new_xml().split('<status')[0]
    assert 'name="dampen" value="10s"' in config and config.count('id="test_dummy"') == 1


# crmsh 4.4.0 / pacemaker 2.1.5 on a CIB file with nodes hv1 and hv2. The module converged HAND_DECLARED;
# then by hand: `crm configure primitive c ocf:pacemaker:Dummy`, `crm configure modgroup g add c`, the
# constraints (crm's own spelling of the defaults: kind="Mandatory" or none, no actions, rsc-role="Started",
# resource-discovery="always"), `crm resource unmanage g`, and last `crm resource stop g2`, which appends
# g2's new meta_attributes after its members.
HAND = (FIXTURES / "pacemaker-2.1-crmsh-hand-edits.xml").read_text()
HAND_DECLARED = dict(
    properties={"stonith-enabled": False},
    primitives=[dict(id=rid, agent="ocf:pacemaker:Dummy") for rid in ("a", "b", "d", "e", "p_x")],
    groups=[dict(id="g", resources=["a", "b"]), dict(id="g2", resources=["d", "e"])],
    clones=[dict(id="cl_x", resource="p_x", meta={"interleave": True})],
)


def hand(without=(), **changes):
    """HAND_DECLARED without the primitives named, and with changes."""
    result = dict(HAND_DECLARED, primitives=[p for p in HAND_DECLARED["primitives"] if p["id"] not in without])
    result.update(changes)
    return result


def members(plan, oid):
    """The ids of what container oid holds in the new CIB, in order."""
    container = next(e for e in plan.config.find("resources").iter() if e.get("id") == oid)
    return [m.get("id") for m in container if m.tag in ("primitive", "group")]


def test_a_member_added_by_hand_survives_a_plain_reapply():
    """Issue: c, added with crm configure modgroup, was deleted silently and reported as g 'modified'."""
    plan = Plan(HAND, hand())
    assert (plan.added, plan.modified, plan.removed) == ([], [], []), plan.diff
    assert members(plan, "g") == ["a", "b", "c"] and not plan.removed_resources


def test_an_undeclared_member_is_removed_only_by_the_removal_rules():
    with pytest.raises(CibError, match="rsc_location loc_c_hv2 refers to resource c, which is being removed"):
        Plan(HAND, hand(), remove=["c"])
    plan = Plan(HAND, hand(), remove=["c", "loc_c_hv2"])
    assert plan.removed == ["c", "loc_c_hv2"] and plan.modified == ["g"] and plan.removed_resources == {"c"}
    assert members(plan, "g") == ["a", "b"]
    pruned = Plan(HAND, hand(), remove_undeclared=True)
    assert "c" in pruned.removed and pruned.removed_resources == {"c"} and members(pruned, "g") == ["a", "b"]


def test_a_member_dropped_from_the_declaration_stays_unless_declared_elsewhere():
    # b declared on its own: it moves to the top level, where it is declared.
    moved = Plan(HAND, hand(groups=[dict(id="g", resources=["a"]), HAND_DECLARED["groups"][1]]))
    assert sorted(moved.modified) == ["b", "g"] and not moved.removed
    assert members(moved, "g") == ["a", "c"]
    assert "b" in [r.get("id") for r in moved.config.find("resources")]
    # b not declared at all: it stays, after the declared members, in the order it had.
    kept = Plan(HAND, hand(without=["b"], groups=[dict(id="g", resources=["a"]), HAND_DECLARED["groups"][1]]))
    assert not kept.changed and members(kept, "g") == ["a", "b", "c"]
    reordered = Plan(HAND, hand(without=["a"], groups=[dict(id="g", resources=["b"]), HAND_DECLARED["groups"][1]]))
    assert reordered.modified == ["g"] and members(reordered, "g") == ["b", "a", "c"]


def test_a_clone_whose_resource_is_swapped_names_both_unless_the_old_one_is_removed():
    swapped = hand(without=["p_x"], primitives=[dict(id="p_y", agent="ocf:pacemaker:Dummy")],
                   clones=[dict(id="cl_x", resource="p_y", meta={"interleave": True})])
    with pytest.raises(CibError, match="clone cl_x: declared with resource p_y, but in the CIB it holds p_x"):
        Plan(HAND, swapped)
    plan = Plan(HAND, swapped, remove=["p_x"])
    assert (plan.added, plan.modified, plan.removed) == (["p_y"], ["cl_x"], ["p_x"])
    assert plan.removed_resources == {"p_x"}
    # Declared elsewhere, the old resource moves there.
    moved = Plan(HAND, dict(swapped, primitives=swapped["primitives"] + [dict(id="p_x", agent="ocf:pacemaker:Dummy")]))
    assert moved.added == ["p_y"] and sorted(moved.modified) == ["cl_x", "p_x"] and not moved.removed


@pytest.mark.parametrize("change, remove, message", [
    (dict(groups=[dict(id="g3", resources=["cl_x"])]), [], "group g3: member cl_x is a clone; a group holds only primitives"),
    (dict(groups=[dict(id="g3", resources=["g2"])]), [], "group g3: member g2 is a group"),
    (dict(groups=[dict(id="g3", resources=["g3"])]), [], "group g3: member g3 is a group"),
    (dict(clones=[dict(id="cl_y", resource="cl_x")]), [], "clone cl_y: resource cl_x is a clone; a clone holds one"),
    (dict(clones=[dict(id="cl_y", resource="cl_y")]), [], "clone cl_y: resource cl_y is a clone"),
    (dict(groups=[dict(id="g3", resources=[])]), [], "group g3: no members declared"),
    (dict(groups=[dict(id="g3", resources=["nowhere"])]), [], "group g3: member nowhere is neither declared nor in"),
    ({}, ["d", "e"], "group g2 would be left without members"),
    ({}, ["p_x"], "clone cl_x would be left without members"),
])
def test_structural_mistakes_name_the_object(change, remove, message):
    with pytest.raises(CibError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Plan(HAND, change, remove=remove)


def test_operator_meta_after_the_members_is_no_difference():
    """crm resource stop appends g2's meta_attributes after d and e: not a change; member order still is."""
    plan = Plan(HAND, dict(primitives=HAND_DECLARED["primitives"][2:4], groups=[HAND_DECLARED["groups"][1]]))
    assert not plan.changed, plan.diff
    swapped = Plan(HAND, dict(primitives=HAND_DECLARED["primitives"][2:4], groups=[dict(id="g2", resources=["e", "d"])]))
    assert swapped.modified == ["g2"] and 'value="Stopped"' in swapped.diff[0]["after"]


def test_pacemaker_defaults_equal_what_crm_wrote():
    constraints = dict(
        orders=[dict(id="o_plain", first="cl_x", then="g"),
                dict(id="o_mandatory", first="cl_x", then="g", first_action="start"),
                dict(id="o_serial", first="cl_x", then="g2", kind="Serialize", symmetrical=False)],
        colocations=[{"id": "col_g_with_x", "resource": "g", "with": "cl_x"}],
        locations=[dict(id="loc_g_hv1", resource="g", node="hv1", score=100),
                   dict(id="loc_c_hv2", resource="c", node="hv2", score=-50, role="Started")])
    plan = Plan(HAND, hand(**constraints))
    assert not plan.changed, plan.diff
    constraints["orders"][0]["kind"] = "Mandatory"
    constraints["locations"][0]["resource_discovery"] = "always"
    constraints["colocations"][0]["resource_role"] = "Started"
    assert not Plan(HAND, hand(**constraints)).changed


@pytest.mark.parametrize("a, b, same", [
    ('<rsc_order id="o" first="x" then="y" kind="Mandatory"/>', '<rsc_order id="p" first="x" then="y"/>', True),
    ('<rsc_order id="o" first="x" then="y" kind="Mandatory" score="0"/>', '<rsc_order id="o" first="x" then="y" score="0"/>',
     False),
    ('<rsc_order id="o" first="x" then="y" symmetrical="true"/>', '<rsc_order id="o" first="x" then="y"/>', True),
    ('<rsc_order id="o" first="x" then="y" kind="Serialize" symmetrical="false"/>',
     '<rsc_order id="o" first="x" then="y" kind="Serialize"/>', True),
    ('<rsc_order id="o" first="x" then="y" kind="Serialize" symmetrical="true"/>',
     '<rsc_order id="o" first="x" then="y" kind="Serialize"/>', False),
    ('<rsc_order id="o" first="x" then="y" symmetrical="no"/>', '<rsc_order id="o" first="x" then="y" symmetrical="false"/>',
     True),
    ('<rsc_order id="o" first="x" then="y" then-action="promote"/>', '<rsc_order id="o" first="x" then="y"/>', False),
    ('<rsc_colocation id="c" score="INFINITY" rsc="x" with-rsc="y" with-rsc-role="Started"/>',
     '<rsc_colocation id="c" score="inf" rsc="x" with-rsc="y"/>', True),
    ('<rsc_colocation id="c" score="INFINITY" rsc="x" with-rsc="y" with-rsc-role="Master"/>',
     '<rsc_colocation id="c" score="INFINITY" rsc="x" with-rsc="y"/>', False),
    ('<rsc_location id="l" rsc="x" node="n" score="0" resource-discovery="never"/>',
     '<rsc_location id="l" rsc="x" node="n" score="0"/>', False),
    ('<group id="g"><primitive id="a"/><meta_attributes id="m"><nvpair name="t" value="1"/></meta_attributes>'
     '<primitive id="b"/></group>', '<group id="g"><meta_attributes id="n"><nvpair name="t" value="1"/>'
     '</meta_attributes><primitive id="a"/><primitive id="b"/></group>', True),
    ('<group id="g"><primitive id="a"/><primitive id="b"/></group>', '<group id="g"><primitive id="b"/><primitive id="a"/></group>',
     False),
])
def test_canon_defaults_and_order(a, b, same):
    import xml.etree.ElementTree as ET
    assert (canon(ET.fromstring(a)) == canon(ET.fromstring(b))) is same


def test_fencing_level_for_a_node_the_cib_does_not_know():
    stonith = [dict(id="f_hv1", agent="stonith:fence_ipmilan")]
    with pytest.raises(CibError, match=r"fencing level hv9/1: unknown node hv9 \(the CIB has: hv1, hv2\)"):
        Plan(HAND, dict(primitives=stonith, fencing_topology=[dict(node="hv9", devices=["f_hv1"])]))
    # A CIB without nodes (cibadmin --empty) has nothing to check a typo against: refused too, saying so.
    with pytest.raises(CibError, match="fencing level hv1/1: unknown node hv1 \\(the CIB lists no nodes"):
        Plan(BOOKWORM, dict(primitives=stonith, fencing_topology=[dict(node="hv1", devices=["f_hv1"])]))
    remote = [dict(id="hv3", agent="ocf:pacemaker:remote")]
    plan = Plan(HAND, dict(primitives=stonith + remote, fencing_topology=[dict(node="hv3", devices=["f_hv1"])]))
    assert "fl-hv3-1" in plan.added


@pytest.mark.parametrize("name, secret", [
    ("password", True), ("passwd", True), ("PASSWORD", True), ("snmp_priv_passwd", True), ("community", True),
    ("secret_key", True), ("access_key", True), ("apikey", True), ("api-key", True), ("token", True),
    ("client_secret", True), ("hexadecimal_kg", True),
    ("password_script", False), ("passwd_script", False), ("snmp_priv_passwd_script", False),
    ("identity_file", False), ("keyfile", False), ("key_file", False), ("username", False), ("ip", False),
    ("pcmk_host_list", False), ("keys", False),
])
def test_secret_parameter_names(name, secret):
    assert is_secret(name) is secret


def test_secret_values_as_given_and_as_written_in_xml():
    found = secret_values([("password", 'a<b&"c'), ("password_script", "/usr/local/bin/pw"), ("login", "admin"),
                           ("community", True), ("token", ""), ("api_key", 12345)])
    assert found == {'a<b&"c', "a&lt;b&amp;&quot;c", "12345"}

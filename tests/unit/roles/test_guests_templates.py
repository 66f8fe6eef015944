"""The guests role's derivations, rendered by Ansible: the plan, capacity, DRBD resources, CIB objects, XML."""
import json
import xml.etree.ElementTree as ET

from templating import render, role_vars

HOSTVARS = {"hv1.example.net": {"ansible_host": "198.51.100.11"}, "hv2.example.net": {"ansible_host": "198.51.100.12"}}
GUESTS = [
    {"name": "web1", "vcpus": 2, "memory": "2G", "disks": [{"size": "10G", "minor": 3}], "nics": [{"bridge": "br0"}],
     "preferred_host": "hv1.example.net"},
    {"name": "db1", "memory": "4G", "disks": [{"size": "20G", "minor": 4}, {"size": "1G", "minor": 5}],
     "preferred_host": "hv2.example.net", "priority": 20, "state": "stopped"},
]


def variables(guests=GUESTS, **extra):
    merged = dict(role_vars("guests"), hakvm_guests=guests, hostvars=HOSTVARS,
                  groups={"kvm_hosts": sorted(HOSTVARS)}, drbd_resources=[{"name": "old", "minor": 0}],
                  ansible_managed="managed")
    merged.update(extra)
    return merged


def plan(**extra):
    return json.loads(render("guests", "guests.json.j2", variables(**extra)))


def test_the_plan_derives_disks_nodes_and_a_stable_mac():
    result = plan()
    assert result["errors"] == []
    web1, db1 = result["guests"]
    assert (web1["nodes"], web1["preferred_node"], web1["memory_mib"], web1["vcpus"]) == (["hv1", "hv2"], "hv1", 2048, 2)
    disk = web1["disks"][0]
    assert (disk["resource"], disk["device"], disk["target"], disk["size_bytes"]) == ("web1-disk0", "/dev/drbd3", "vda", 10 * 2**30)
    # 10 GiB of data plus DRBD 8.4's internal metadata (36 KiB + a 320 KiB bitmap) and 4 KiB of slack.
    assert disk["volume_bytes"] == 10 * 2**30 + 36 * 1024 + 320 * 1024 + 4096
    assert [d["target"] for d in db1["disks"]] == ["vda", "vdb"] and db1["state"] == "stopped"
    assert web1["nics"][0]["mac"].startswith("52:54:00:") and web1["nics"][0]["mac"] == plan()["guests"][0]["nics"][0]["mac"]


def test_declaration_mistakes_are_named():
    bad = [{"name": "Web_1", "disks": [{"size": "1G", "minor": 0}]},                        # bad name, minor taken
           {"name": "x", "disks": [{"size": "1G", "minor": 200}], "preferred_host": "hv9"},  # minor range, host
           {"name": "x", "disks": []}]
    errors = " | ".join(plan(guests=bad)["errors"])
    for needle in ("guest Web_1: a name is", "DRBD minor 0 is used twice", "minor 200 must be 0-111",
                   "preferred_host hv9 is not one of its hosts", "guest x is declared twice", "it needs at least one disk"):
        assert needle in errors, needle


def capacity(memory_kib, cpus, **extra):
    merged = variables(**extra)
    merged["__guests_plan"] = plan(**extra)
    merged["__guests_resources"] = {"results": [{"item": h, "rc": 0, "stdout": "%d %d" % (memory_kib, cpus)}
                                                for h in sorted(HOSTVARS)]}
    return json.loads(render("guests", "capacity.json.j2", merged))


def test_either_host_must_run_every_guest_of_its_pair():
    # 2 GiB + 4 GiB + 2 x 64 MiB overhead = 6272 MiB, 3 vCPUs; a host keeps 1 GiB.
    fits = capacity((6272 + 1024) * 1024, 1)
    assert fits["errors"] == [] and fits["hosts"]["hv1.example.net"] == {"memory_mib": 6272, "cpus": 4}
    tight = capacity((6271 + 1024) * 1024, 1)
    assert len(tight["errors"]) == 2 and "web1" in tight["errors"][0] and "db1" in tight["errors"][0]
    assert "need 6272 MiB" in tight["errors"][0]
    assert "(web1 2048 MiB 2 vCPU, db1 4096 MiB 1 vCPU) need" in tight["errors"][0], tight["errors"][0]
    assert capacity((6272 + 1024) * 1024, 1, guests_cpu_overcommit=2.0)["errors"]   # 3 vCPUs > 2


def cib(before=(), **extra):
    merged = variables(**extra)
    merged["__guests_plan"] = plan(**extra)
    merged["__guests_before"] = list(before)
    return json.loads(render("guests", "cib.json.j2", merged))


def test_one_transaction_declares_clones_guests_and_their_constraints():
    objects = cib(guests_require_connectivity=True)
    assert sorted(p["id"] for p in objects["primitives"]) == [
        "p_drbd_db1-disk0", "p_drbd_db1-disk1", "p_drbd_web1-disk0", "vm_db1", "vm_web1"]
    clone = next(c for c in objects["clones"] if c["id"] == "ms_drbd_web1-disk0")
    assert clone["promotable"] and clone["meta"]["promoted-max"] == 2 and clone["meta"]["notify"]
    vm = next(p for p in objects["primitives"] if p["id"] == "vm_web1")
    # A running guest declares no target-role: an operator's crm resource stop is kept.
    assert vm["meta"] == {"allow-migrate": True, "priority": 10, "hakvm-state": "running"}
    assert vm["utilization"] == {"cpu": 2, "hv_memory": 2048 + 64}
    assert vm["params"]["migration_transport"] == "ssh" and vm["params"]["autoset_utilization_cpu"] is False
    assert {o["name"]: o["timeout"] for o in vm["operations"]}["migrate_to"] == "180s"     # 2 GiB x 60 s + 60 s
    assert next(p for p in objects["primitives"] if p["id"] == "vm_db1")["meta"]["target-role"] == "Stopped"
    assert sorted(c["id"] for c in objects["colocations"]) == [
        "col_vm_db1_on_db1-disk0", "col_vm_db1_on_db1-disk1", "col_vm_web1_on_web1-disk0"]
    orders = {(o["first"], o["first_action"], o["then"], o["then_action"], o["symmetrical"]) for o in objects["orders"]}
    assert ("ms_drbd_web1-disk0", "promote", "vm_web1", "start", False) in orders
    assert ("vm_web1", "stop", "ms_drbd_web1-disk0", "demote", False) in orders
    assert len(objects["orders"]) == 2 * 3
    locations = {loc["id"]: loc for loc in objects["locations"]}
    assert locations["loc_vm_web1_preferred"]["node"] == "hv1" and locations["loc_vm_db1_preferred"]["node"] == "hv2"
    assert locations["loc_vm_web1_connected"]["rules"][0]["expression"] == "not_defined pingd or pingd lte 0"
    assert objects["remove"] == []


def test_operation_timeouts_keep_the_roles_values_unless_named():
    def timeouts(primitive):
        return {(o["name"], o.get("role")): o["timeout"] for o in primitive["operations"]}
    default = {p["id"]: timeouts(p) for p in cib()["primitives"]}
    assert default["p_drbd_web1-disk0"][("monitor", "Promoted")] == "20s"
    assert default["vm_web1"][("stop", None)] == "180s" and default["vm_db1"][("migrate_to", None)] == "300s"
    slow = {p["id"]: timeouts(p) for p in cib(guests_operation_timeouts={
        "drbd_monitor": 60, "guest_stop": 400, "guest_migrate_to": 600})["primitives"]}
    assert slow["p_drbd_web1-disk0"][("monitor", "Unpromoted")] == "60s"
    assert slow["p_drbd_web1-disk0"][("start", None)] == "240s"
    assert slow["vm_web1"][("stop", None)] == "400s" and slow["vm_web1"][("start", None)] == "120s"
    assert slow["vm_db1"][("migrate_to", None)] == "600s"      # more than 4 GiB x 60 s + 60 s


def test_a_guest_declared_stopped_before_is_started_again():
    before = [{"name": "web1", "configured": True, "meta": {"hakvm-state": "stopped", "target-role": "Stopped"}}]
    vm = next(p for p in cib(before=before)["primitives"] if p["id"] == "vm_web1")
    assert vm["meta"]["target-role"] == "Started" and vm["meta"]["hakvm-state"] == "running"
    operator = [{"name": "web1", "configured": True, "meta": {"hakvm-state": "running", "target-role": "Stopped"}}]
    assert "target-role" not in next(p for p in cib(before=operator)["primitives"] if p["id"] == "vm_web1")["meta"]


def test_sizes_need_a_unit_and_quoted_booleans_are_booleans():
    bad = [{"name": "a", "memory": "4096", "disks": [{"size": "4096", "minor": 1}]},
           {"name": "b", "memory": "16M", "disks": [{"size": "1M", "minor": 2}], "state": "gone"}]
    errors = " | ".join(plan(guests=bad)["errors"])
    for needle in ("guest a: memory 4096 needs a unit", "guest a disk 0: size 4096 needs a unit",
                   "guest b: memory 16M is below 32M", "guest b disk 0: size 1M is below 4M",
                   "guest b: state gone is none of"):
        assert needle in errors, needle
    quoted = [dict(GUESTS[0], state="absent", purge="no", skip_initial_sync="false")]
    guest = plan(guests=quoted)["guests"][0]
    assert guest["purge"] is False and guest["skip_initial_sync"] is False


def test_the_mac_depends_on_the_clusters_seed():
    assert plan()["guests"][0]["nics"][0]["mac"] != plan(guests_mac_seed="staging")["guests"][0]["nics"][0]["mac"]


def test_offers_name_every_node():
    merged = variables()
    merged["__guests_capacity"] = {"hosts": {"hv1.example.net": {"memory_mib": 6000, "cpus": 8},
                                             "hv2.example.net": {"memory_mib": 5000, "cpus": 4}}}
    assert json.loads(render("guests", "offers.json.j2", merged)) == [
        {"node": "hv1", "cpu": 8, "hv_memory": 6000}, {"node": "hv2", "cpu": 4, "hv_memory": 5000}]


def test_an_absent_guest_is_removed_from_the_cib_and_its_disks_from_drbd():
    guests = [dict(GUESTS[0], state="absent"), GUESTS[1]]
    objects = cib(guests=guests)
    assert "vm_web1" in objects["remove"] and "ms_drbd_web1-disk0" in objects["remove"]
    assert {"ord_web1-disk0_before_vm_web1", "ord_vm_web1_before_web1-disk0_demote"} <= set(objects["remove"])
    assert not [p for p in objects["primitives"] if "web1" in p["id"]]
    merged = variables(guests=guests)
    merged["__guests_plan"] = plan(guests=guests)
    resources = json.loads(render("guests", "drbd_resources.json.j2", merged))
    assert [r["name"] for r in resources] == ["db1-disk0", "db1-disk1"]
    assert resources[0] == {"name": "db1-disk0", "minor": 4, "disk": "/dev/guests/db1-disk0",
                            "hosts": sorted(HOSTVARS), "size": "%dB" % (20 * 2**30), "initial_sync_source": "hv2.example.net",
                            "skip_initial_sync": False, "fencing": "resource-and-stonith", "allow_two_primaries": True}


def test_the_domain_xml_is_valid_shape_with_drbd_disks_and_the_kvm_roles_cpu():
    merged = variables()
    merged.update(__guest=plan()["guests"][1], __guests_machine="pc-q35-7.2",
                  __guests_cpu="<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>")
    root = ET.fromstring(render("guests", "domain.xml.j2", merged).split("-->", 2)[2])
    assert root.get("type") == "kvm" and root.findtext("name") == "db1"
    assert root.find("os/type").get("machine") == "pc-q35-7.2" and root.find("cpu/model").text == "qemu64"
    disks = root.findall("devices/disk")
    assert [(d.find("source").get("dev"), d.find("target").get("dev")) for d in disks] == [
        ("/dev/drbd4", "vda"), ("/dev/drbd5", "vdb")]
    assert disks[0].find("driver").attrib == {"name": "qemu", "type": "raw", "cache": "none", "io": "native",
                                              "discard": "unmap"}
    assert root.find("devices/serial/log").get("file") == "/var/log/libvirt/qemu/db1-serial.log"


def test_a_host_that_does_not_answer_is_left_unchecked_not_a_crash():
    # hv2 is down: the delegated read came back unreachable (failed_when false, ignore_unreachable).
    merged = variables()
    merged["__guests_plan"] = plan()
    merged["__guests_resources"] = {"results": [
        {"item": "hv1.example.net", "rc": 0, "stdout": "%d 4" % ((6272 + 1024) * 1024)},
        {"item": "hv2.example.net", "unreachable": True, "msg": "Failed to connect to the host via ssh"}]}
    result = json.loads(render("guests", "capacity.json.j2", merged))
    assert result["errors"] == [] and result["unchecked"] == ["hv2.example.net"]
    assert list(result["hosts"]) == ["hv1.example.net"]
    merged["__guests_resources"]["results"][0]["stdout"] = "%d 4" % ((6271 + 1024) * 1024)
    tight = json.loads(render("guests", "capacity.json.j2", merged))
    assert len(tight["errors"]) == 1 and "hv1.example.net alone offers" in tight["errors"][0]


def held(known, play_hosts, clones=None):
    merged = variables(ansible_play_hosts=play_hosts)
    merged["__guests_plan"] = plan()
    merged["__guests_cib_before"] = {"guests": [{"name": g["name"], "configured": g["name"] in known}
                                                for g in merged["__guests_plan"]["guests"]]}
    if clones is None:      # the clones of every disk of the known guests
        clones = ["ms_drbd_" + d["resource"] for g in merged["__guests_plan"]["guests"] if g["name"] in known
                  for d in g["disks"]]
    merged["__guests_cib_resources"] = {"stdout": "<resources>" + "".join(
        '<clone id="%s"><meta_attributes id="%s-meta"/></clone>' % (c, c) for c in clones) + "</resources>"}
    return json.loads(render("guests", "held.json.j2", merged))


def test_a_new_guest_is_held_back_when_the_run_does_not_reach_both_of_its_hosts():
    both = sorted(HOSTVARS)
    assert held(known=[], play_hosts=both) == []
    # --limit hv1, or hv2 down: web1 is new and is not half-created on hv1; db1 runs already and goes on.
    assert held(known=["db1"], play_hosts=["hv1.example.net"]) == [{"name": "web1", "missing": ["hv2.example.net"]}]
    assert held(known=["db1", "web1"], play_hosts=["hv1.example.net"]) == []
    assert [g["name"] for g in held(known=[], play_hosts=[])] == ["web1", "db1"]


def test_a_new_disk_of_a_running_guest_is_held_back_too():
    # db1 runs with its first disk; its second (db1-disk1) is new. On one host only it could never be promoted,
    # and the guest is colocated with each disk's Promoted role: Pacemaker would stop it.
    known = ["db1", "web1"]
    clones = ["ms_drbd_web1-disk0", "ms_drbd_db1-disk0"]
    assert held(known, ["hv2.example.net"], clones) == [{"name": "db1", "missing": ["hv1.example.net"]}]
    assert held(known, sorted(HOSTVARS), clones) == []

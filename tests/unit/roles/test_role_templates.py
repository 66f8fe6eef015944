"""Templates and derived variables of the raid, lvm, arbitrator, drbd and cluster roles, rendered by Ansible."""
import base64
import json
import subprocess
from pathlib import Path

import pytest

from templating import evaluate, render, role_vars

# mdadm --detail --scan on a host with the installer's system mirror (md0) and the guests' mirror.
SCAN = [
    "ARRAY /dev/md0 metadata=1.2 name=hv1:0 UUID=aaaaaaaa:bbbbbbbb:cccccccc:dddddddd",
    "ARRAY /dev/md/guests metadata=1.2 name=hv1:guests UUID=11111111:22222222:33333333:44444444",
    "ARRAY /dev/md/handmade metadata=1.2 name=hv1:handmade UUID=99999999:88888888:77777777:66666666",
]
INSTALLER_CONF = """# mdadm.conf written by the installer
HOMEHOST <system>
MAILADDR root
ARRAY /dev/md/0  metadata=1.2 UUID=aaaaaaaa:bbbbbbbb:cccccccc:dddddddd name=hv1:0
"""
GUESTS = {"device": "/dev/md/guests", "metadata": "1.2", "uuid": "11111111:22222222:33333333:44444444",
          "name": "hv1:guests"}


def mdadm_block(conf, scan=SCAN, arrays=(GUESTS,)):
    variables = dict(role_vars("raid"), __raid_scan={"stdout_lines": list(scan)},
                     __raid_conf={"content": base64.b64encode(conf.encode()).decode()},
                     __raid_arrays={"results": [{"array": a} for a in arrays]})
    return render("raid", "mdadm-arrays.j2", variables)


def array_lines(text):
    return [line for line in text.splitlines() if line.startswith("ARRAY")]


def test_mdadm_block_keeps_every_active_array_the_file_does_not_name():
    # The installer's mirror is named outside the block and stays there; the guests' array and an array
    # made by hand (active, not managed, not named anywhere) get lines in the block.
    lines = array_lines(mdadm_block(INSTALLER_CONF))
    assert [line.split()[1] for line in lines] == ["/dev/md/guests", "/dev/md/handmade"]
    assert "UUID=aaaaaaaa" not in " ".join(lines)


def test_mdadm_block_is_stable_once_written():
    block = mdadm_block(INSTALLER_CONF)
    conf = INSTALLER_CONF + "# BEGIN hakvm.cluster.raid\n" + block + "\n# END hakvm.cluster.raid\n"
    assert mdadm_block(conf) == block


def test_mdadm_block_leaves_arrays_named_by_an_older_file_alone():
    old = INSTALLER_CONF + "ARRAY /dev/md/guests metadata=1.2 UUID=11111111:22222222:33333333:44444444 name=hv1:guests\n"
    assert [line.split()[1] for line in array_lines(mdadm_block(old))] == ["/dev/md/handmade"]


def test_lvm_filter_derives_from_the_physical_volumes():
    variables = dict(role_vars("lvm"), lvm_pvs=["/dev/md/guests", "/dev/sdb", "/dev/disk/by-id/ata-X_1.0"])
    assert evaluate("{{ __lvm_filter }}", variables) == [
        "a|^/dev/md|", "a|^/dev/sdb$|", "a|^/dev/disk/by\\-id/ata\\-X_1\\.0$|", "r|^/dev/drbd|", "r|.*|"]
    variables["lvm_global_filter"] = ["a|.*|"]
    assert evaluate("{{ __lvm_filter }}", variables) == ["a|.*|"]


def test_qnetd_tls_given_as_an_unquoted_yaml_boolean_is_the_word():
    for value, expected in ((False, "-s off -c off"), (True, "-s on -c on"), ("required", "-s req -c on")):
        variables = dict(role_vars("arbitrator"), arbitrator_tls=value, ansible_managed="managed")
        assert expected in render("arbitrator", "corosync-qnetd.default.j2", variables), value


# ---- cluster: node names and ids, fence devices ------------------------------------------------------

CLUSTER_HOSTVARS = {
    "kvm-a.example.net": {"ansible_host": "198.51.100.11", "base_backplane_address": "192.0.2.11",
                          "cluster_fence_ipmi_address": "203.0.113.11"},
    "kvm-b.example.net": {"ansible_host": "198.51.100.12", "base_backplane_address": "192.0.2.12",
                          "cluster_fence_ipmi_address": "203.0.113.12", "cluster_fence_ipmi_port": 6230},
}


def info(host, origin="absent", nodes=(), running=False, resources=()):
    return {"item": host, "config": {"origin": origin, "nodes": [dict(n) for n in nodes]},
            "running": running, "members": [], "resources": list(resources)}


def cluster_vars(infos, hosts=("kvm-a.example.net", "kvm-b.example.net"), hostvars=None, **extra):
    variables = dict(role_vars("cluster"), groups={"kvm_hosts": list(hosts), "arbitrator": ["arb"]},
                     hostvars=hostvars or CLUSTER_HOSTVARS, __cluster_infos={"results": list(infos)},
                     inventory_hostname=hosts[0])
    variables.update(extra)
    return variables


def nodes(variables):
    return json.loads(render("cluster", "nodes.json.j2", variables))


def test_new_cluster_numbers_hosts_in_group_order_with_short_node_names():
    plan = nodes(cluster_vars([info("kvm-a.example.net"), info("kvm-b.example.net", "debian-default")]))
    assert plan["errors"] == []
    assert [(n["name"], n["nodeid"], n["link0"], n["link1"]) for n in plan["nodes"]] == [
        ("kvm-a", 1, "192.0.2.11", "198.51.100.11"), ("kvm-b", 2, "192.0.2.12", "198.51.100.12")]


def test_reordered_inventory_keeps_the_running_node_ids():
    running = [{"name": "kvm-a", "nodeid": 1}, {"name": "kvm-b", "nodeid": 2}]
    plan = nodes(cluster_vars([info(h, "hakvm", running, True) for h in ("kvm-b.example.net", "kvm-a.example.net")],
                              hosts=("kvm-b.example.net", "kvm-a.example.net")))
    assert plan["errors"] == [] and {n["name"]: n["nodeid"] for n in plan["nodes"]} == {"kvm-a": 1, "kvm-b": 2}


def test_a_replaced_host_joins_with_its_old_id_and_a_new_host_takes_a_free_one():
    running = [{"name": "kvm-a", "nodeid": 1}, {"name": "kvm-b", "nodeid": 2}]
    hostvars = dict(CLUSTER_HOSTVARS, **{"kvm-c.example.net": {"ansible_host": "198.51.100.13",
                                                               "base_backplane_address": "192.0.2.13"}})
    hosts = ("kvm-c.example.net", "kvm-a.example.net", "kvm-b.example.net")
    plan = nodes(cluster_vars([info("kvm-c.example.net"), info("kvm-a.example.net"),
                               info("kvm-b.example.net", "hakvm", running, True)], hosts=hosts, hostvars=hostvars))
    assert {n["name"]: n["nodeid"] for n in plan["nodes"]} == {"kvm-a": 1, "kvm-b": 2, "kvm-c": 3}


def test_changing_a_running_node_id_is_refused():
    running = [{"name": "kvm-a", "nodeid": 1}, {"name": "kvm-b", "nodeid": 2}]
    hostvars = {h: dict(v, cluster_nodeid=5 if h.startswith("kvm-a") else 2) for h, v in CLUSTER_HOSTVARS.items()}
    plan = nodes(cluster_vars([info(h, "hakvm", running, True) for h in CLUSTER_HOSTVARS], hostvars=hostvars))
    assert plan["errors"] and "cluster_nodeid 5" in plan["errors"][0] and "kvm-a as id 1" in plan["errors"][0]


def test_an_adopted_cluster_keeps_its_node_ids_and_a_foreign_one_counts_only_when_adopting():
    theirs = [{"name": "kvm-a", "nodeid": 7}, {"name": "kvm-b", "nodeid": 9}]
    infos = [info(h, "other", theirs, True, ["existing_dummy"]) for h in CLUSTER_HOSTVARS]
    assert {n["name"]: n["nodeid"] for n in nodes(cluster_vars(infos, cluster_adopt=True))["nodes"]} == {
        "kvm-a": 7, "kvm-b": 9}
    assert {n["name"]: n["nodeid"] for n in nodes(cluster_vars(infos))["nodes"]} == {"kvm-a": 1, "kvm-b": 2}


def test_two_hosts_with_one_node_name_are_refused():
    hostvars = {h: dict(v, hakvm_node_name="kvm") for h, v in CLUSTER_HOSTVARS.items()}
    plan = nodes(cluster_vars([info(h) for h in CLUSTER_HOSTVARS], hostvars=hostvars))
    assert any("two hosts have the node name kvm" in e for e in plan["errors"])


def fencing(**extra):
    variables = cluster_vars([info(h) for h in CLUSTER_HOSTVARS], cluster_fence_ipmi_user="fence",
                             cluster_fence_ipmi_password="Pa55-word", **extra)
    variables["__cluster_nodes"] = nodes(variables)["nodes"]
    return json.loads(render("cluster", "fence_devices.json.j2", variables))


def test_fence_devices_keep_the_password_out_of_the_cib_by_default():
    devices = {d["id"]: d for d in fencing()["devices"]}
    a = devices["fence_kvm-a"]["params"]
    assert a == {"pcmk_host_list": "kvm-a", "ip": "203.0.113.11", "ipport": 623, "username": "fence", "lanplus": 1,
                 "password_script": "/bin/cat /etc/hakvm/fence/fence_kvm-a.password"}
    assert devices["fence_kvm-b"]["params"]["ipport"] == 6230
    assert "Pa55-word" not in json.dumps(fencing())
    assert fencing(cluster_fence_password_in_cib=True)["devices"][0]["params"]["password"] == "Pa55-word"
    assert fencing()["bans"][1] == {"id": "loc_fence_kvm-b_avoids_kvm-b", "resource": "fence_kvm-b",
                                    "node": "kvm-b", "score": "-INFINITY"}


def test_the_fence_monitor_timeout_is_the_users():
    def timeouts(**extra):
        return {d["id"]: d["operations"][0]["timeout"] for d in fencing(**extra)["devices"]}
    assert timeouts() == {"fence_kvm-a": "30s", "fence_kvm-b": "30s"}
    assert set(timeouts(cluster_fence_monitor_timeout="120s").values()) == {"120s"}


def test_two_node_mode_delays_fencing_the_survivor_only():
    def delays(**extra):
        return {d["id"]: d["params"].get("pcmk_delay_base") for d in fencing(**extra)["devices"]}
    assert delays() == {"fence_kvm-a": None, "fence_kvm-b": None}          # the quorum device decides
    assert delays(cluster_qdevice=False) == {"fence_kvm-a": "5s", "fence_kvm-b": None}
    assert delays(cluster_qdevice=False, cluster_two_node_survivor="kvm-b.example.net") == {
        "fence_kvm-a": None, "fence_kvm-b": "5s"}


def test_fqdn_node_names_are_valid_and_bad_ones_are_named():
    hostvars = {h: dict(v, hakvm_node_name=h) for h, v in CLUSTER_HOSTVARS.items()}
    assert nodes(cluster_vars([info(h) for h in CLUSTER_HOSTVARS], hostvars=hostvars))["errors"] == []
    hostvars = {h: dict(v, hakvm_node_name=h.replace("kvm-", "kvm_")) for h, v in CLUSTER_HOSTVARS.items()}
    errors = nodes(cluster_vars([info(h) for h in CLUSTER_HOSTVARS], hostvars=hostvars))["errors"]
    assert any("kvm_a.example.net is not a valid host name" in e for e in errors), errors


def drbd_conflicts(existing):
    variables = dict(role_vars("drbd"), drbd_hosts=["hv1", "hv2"], drbd_port_base=7788,
                     drbd_resources=[{"name": "web1-disk0", "minor": 3, "disk": "/dev/guests/web1-disk0"}],
                     hostvars={"hv1": {"base_backplane_address": "10.9.0.1"}, "hv2": {"base_backplane_address": "10.9.0.2"}},
                     inventory_hostname="hv1", __drbd_existing={"stdout_lines": existing})
    return json.loads(render("drbd", "conflicts.json.j2", variables))


def test_drbd_refuses_a_resource_on_another_resources_minor_address_or_name():
    # awk's lines from `drbdadm dump all`: the declared resource itself in its own file is no conflict.
    assert drbd_conflicts(["web1-disk0 /etc/drbd.d/web1-disk0.res minor 3",
                           "web1-disk0 /etc/drbd.d/web1-disk0.res address 10.9.0.1:7791",
                           "old /etc/drbd.d/old.res minor 4"]) == []
    errors = " | ".join(drbd_conflicts(["gone-disk0 /etc/drbd.d/gone-disk0.res minor 3",
                                        "gone-disk0 /etc/drbd.d/gone-disk0.res address 10.9.0.2:7791",
                                        "web1-disk0 /etc/drbd.d/hand.res minor 9"]))
    assert "gone-disk0 (/etc/drbd.d/gone-disk0.res) already uses minor 3, which web1-disk0" in errors
    assert "already uses address 10.9.0.2:7791" in errors
    assert "web1-disk0 is already defined in /etc/drbd.d/hand.res" in errors


def drbd_resource_file(hostvars, hosts=("kvm-a.example.net", "kvm-b.example.net")):
    variables = dict(role_vars("drbd"), drbd_hosts=list(hosts), drbd_port_base=7788, hostvars=hostvars,
                     ansible_managed="managed", item={"name": "web1-disk0", "minor": 3, "disk": "/dev/guests/web1-disk0",
                                                      "size": "1G", "fencing": "resource-and-stonith",
                                                      "allow_two_primaries": "true"})
    return render("drbd", "resource.res.j2", variables)


def test_drbd_knows_fqdn_hosts_by_the_node_name_the_cluster_uses():
    # An inventory of FQDNs: DRBD's "on" sections name the short node names, the names of the
    # Pacemaker nodes the fence-peer handler constrains, never the inventory names.
    hostvars = {"kvm-a.example.net": {"base_backplane_address": "10.9.0.1"},
                "kvm-b.example.net": {"base_backplane_address": "10.9.0.2"}}
    text = drbd_resource_file(hostvars)
    assert "on kvm-a {" in text and "on kvm-b {" in text and "example.net {" not in text
    assert "address ipv4 10.9.0.2:7791;" in text and "size 2097152s;" in text
    assert "allow-two-primaries yes;" in text and "fencing resource-and-stonith;" in text
    hostvars["kvm-a.example.net"]["hakvm_node_name"] = "hv-east"
    assert "on hv-east {" in drbd_resource_file(hostvars)


def test_drbd_common_config_parses_with_drbdadm_84_and_calls_the_pri_lost_handler(tmp_path):
    # A link back while the side with older data is still Primary: DRBD 8.4 leaves it StandAlone
    # unless rr-conflict call-pri-lost runs the handler that reconnects it once it is demoted.
    variables = dict(role_vars("drbd"), ansible_managed="managed", drbd_shared_secret="s3cret")
    common = render("drbd", "global_common.conf.j2", variables)
    assert "rr-conflict call-pri-lost;" in common
    assert 'pri-lost "/usr/local/sbin/hakvm-drbd-fence-peer --pri-lost";' in common
    hostvars = {"kvm-a.example.net": {"base_backplane_address": "10.9.0.1"},
                "kvm-b.example.net": {"base_backplane_address": "10.9.0.2"}}
    (tmp_path / "global_common.conf").write_text(common)
    (tmp_path / "web1-disk0.res").write_text(drbd_resource_file(hostvars))
    (tmp_path / "drbd.conf").write_text(f'include "{tmp_path}/global_common.conf";\n'
                                        f'include "{tmp_path}/*.res";\n')
    drbdadm = Path("/usr/lib/drbd/drbdadm-84")
    if not drbdadm.exists():
        pytest.skip("drbd-utils' drbdadm-84 is not installed")
    dump = subprocess.run([str(drbdadm), "-c", str(tmp_path / "drbd.conf"), "dump", "all"],
                          capture_output=True, text=True, check=False)
    assert dump.returncode == 0, dump.stderr
    assert "rr-conflict" in dump.stdout and "call-pri-lost" in dump.stdout and "pri-lost" in dump.stdout
    disconnect = render("drbd", "global_common.conf.j2", dict(variables, drbd_rr_conflict="disconnect"))
    assert "rr-conflict disconnect;" in disconnect and "pri-lost " not in disconnect

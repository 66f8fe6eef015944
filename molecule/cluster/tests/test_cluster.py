"""Verify the cluster as an administrator would: corosync links and crypto, votes, qnetd, pacemaker."""
import os

import pytest


def name(host):
    """The node name: the inventory name (kvm-a.lab.example) up to its first dot."""
    return host.backend.get_hostname().split(".")[0]


# The inventory names are FQDNs (kvm-a.lab.example); the node names, and host names, the short ones.
NODES = {"kvm-a": 7, "kvm-b": 9}     # node ids the hand-made cluster had; adoption kept them


def is_kvm_host(host):
    return name(host) in NODES


@pytest.fixture
def kvm_host(host):
    if not is_kvm_host(host):
        pytest.skip("KVM hosts only")
    return host


@pytest.fixture
def arbitrator(host):
    if is_kvm_host(host):
        pytest.skip("arbitrator only")
    return host


def test_stack_runs_and_starts_at_boot(kvm_host):
    for unit in ("corosync", "corosync-qdevice", "pacemaker"):
        assert kvm_host.service(unit).is_running, unit
        assert kvm_host.service(unit).is_enabled, unit


def test_authkey_is_root_only(kvm_host):
    key = kvm_host.file("/etc/corosync/authkey")
    assert (key.user, key.group, key.mode, key.size) == ("root", "root", 0o400, 256)


def test_crypto_is_on_at_runtime(kvm_host):
    assert kvm_host.check_output("corosync-cmapctl -g totem.crypto_cipher").endswith("= aes256")
    assert kvm_host.check_output("corosync-cmapctl -g totem.crypto_hash").endswith("= sha256")
    assert kvm_host.check_output("corosync-cmapctl -g totem.link_mode").endswith("= passive")


def test_both_links_connect_to_the_peer(kvm_host):
    # Connected links prove the peer holds the same authkey (knet drops what it cannot decrypt).
    out = kvm_host.check_output("corosync-cfgtool -n")
    peer = str(NODES["kvm-a" if name(kvm_host) == "kvm-b" else "kvm-b"])
    block = out.split(f"nodeid: {peer} reachable", 1)[1]
    assert "LINK: 0" in block and "LINK: 1" in block
    assert block.count(" connected") == 2, out


def test_quorum_with_the_device(kvm_host):
    out = kvm_host.check_output("corosync-quorumtool -s")
    for expected in ("Quorate:          Yes", "Expected votes:   3", "Total votes:      3", "Qdevice"):
        assert expected in out, out
    assert "2Node" not in out
    assert "WaitForAll" in out


def test_qdevice_uses_tls(kvm_host):
    out = kvm_host.check_output("corosync-qdevice-tool -sv")
    flat = " ".join(out.split())  # the tool aligns its values with tabs
    assert "State: Connected" in flat, out
    assert "TLS active: Yes" in flat, out


def test_qnetd_serves_the_cluster(arbitrator):
    assert arbitrator.service("corosync-qnetd").is_running
    out = arbitrator.check_output("corosync-qnetd-tool -l")
    assert "Cluster \"hakvm\"" in out and out.count("Node ID") == 2, out
    assert "-s req -c on" in arbitrator.file("/etc/default/corosync-qnetd").content_string


def test_pacemaker_configuration_is_valid(kvm_host):
    assert kvm_host.run("crm_verify -L").rc == 0
    assert kvm_host.check_output("crm_attribute -t crm_config -n stonith-enabled -G -q") == "true"
    assert kvm_host.check_output("crm_attribute -t crm_config -n priority-fencing-delay -G -q") == "15s"


def test_each_fence_device_runs_on_the_other_host(kvm_host):
    for target, runner in (("kvm-a", "kvm-b"), ("kvm-b", "kvm-a")):
        out = kvm_host.check_output(f"crm_resource --locate --resource fence_{target}")
        assert f"running on: {runner}" in out, out


def test_connectivity_clone_sets_pingd(kvm_host):
    out = kvm_host.check_output("crm_resource --locate --resource cl_ping")
    assert "running on: kvm-a" in out and "running on: kvm-b" in out, out
    score = kvm_host.check_output(f"attrd_updater --query --name pingd --node {name(kvm_host)}")
    assert 'value="1000"' in score, score


def test_fence_devices_use_the_backends_agent(kvm_host):
    # VMs have virtual BMCs: the production agent. Containers have none: the lab-only dummy.
    agent = "fence_ipmilan" if os.environ.get("HAKVM_LAB_BACKEND") == "vm" else "fence_dummy"
    status = kvm_host.check_output("crm_mon --one-shot --output-as=xml")   # agents, never parameters
    for target in NODES:
        assert f'id="fence_{target}" resource_agent="stonith:{agent}"' in status, status


def test_the_adopted_clusters_node_ids_and_resource_are_kept(kvm_host):
    nodelist = kvm_host.check_output("corosync-cmapctl -b nodelist.node")
    for node, nodeid in NODES.items():
        index = nodelist.split("name (str) = %s" % node)[0].rsplit("nodelist.node.", 1)[1].split(".")[0]
        assert "nodelist.node.%s.nodeid (u32) = %d" % (index, nodeid) in nodelist, nodelist
    assert "running on" in kvm_host.check_output("crm_resource --locate --resource existing_dummy")
    assert "cluster_name: hakvm" in kvm_host.file("/etc/corosync/corosync.conf").content_string


def test_the_bmc_password_stays_out_of_the_cib(kvm_host):
    if os.environ.get("HAKVM_LAB_BACKEND") != "vm":
        pytest.skip("fence_ipmilan (vm backend) only")
    cib = kvm_host.check_output("cibadmin --query --scope resources")
    assert 'name="password_script"' in cib and 'name="password"' not in cib
    secret = kvm_host.file("/etc/hakvm/fence/fence_kvm-a.password")
    assert (secret.user, secret.mode) == ("root", 0o600)

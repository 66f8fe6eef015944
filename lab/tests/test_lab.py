"""Unit tests of the lab: topology checks, the image recipe, node identity, clearing what a killed build left."""
import os
import shutil
import subprocess

import pytest

from hakvm_lab import image, nodes, topology, util
from hakvm_lab.util import LabError


def topo(**over):
    data = {
        "name": "t1",
        "networks": {"lan": {"cidr": "198.18.8.0/24"}, "backplane": {"cidr": "198.18.9.0/24"}},
        "nodes": [{"name": "hv1", "lan": "198.18.8.11", "backplane": "198.18.9.11", "disks": ["1G"]},
                  {"name": "arb", "lan": "198.18.8.13", "groups": ["arbitrator"]}],
    }
    data.update(over)
    return data


def test_normalize_fills_defaults_and_names_bridges():
    t = topology.normalize(topo(), backend="nspawn", release="bookworm")
    assert t["backend"] == "nspawn" and t["release"] == "bookworm"
    assert t["networks"]["lan"] == {"cidr": "198.18.8.0/24", "bridge": "hk-t1-la", "controller": "198.18.8.1"}
    arb = t["nodes"][1]
    assert arb["backplane"] is None and arb["memory_mb"] == 1024 and "groups" not in arb


@pytest.mark.parametrize("change, message", [
    ({"name": "Bad_Name"}, "lab name"),
    ({"networks": {"lan": {"cidr": "10.0.0.0/24"}, "backplane": {"cidr": "198.18.9.0/24"}}}, "outside the lab range"),
    ({"nodes": [{"name": "hv1", "lan": "198.18.8.1"}]}, "not a free host address"),
    ({"nodes": [{"name": "hv1", "lan": "198.18.7.5"}]}, "not a free host address"),
    ({"nodes": [{"name": "hv1", "lan": "198.18.8.5"}, {"name": "hv1", "lan": "198.18.8.6"}]}, "defined twice"),
    ({"nodes": [{"name": "a", "lan": "198.18.8.5"}, {"name": "b", "lan": "198.18.8.5"}]}, "share an address"),
    ({"nodes": [{"name": "hv1"}]}, "needs a lan address"),
    ({"nodes": [{"name": "Kvm-A.example.net", "lan": "198.18.8.5"}]}, "names are"),
    ({"nodes": [{"name": "kvm-a..example.net", "lan": "198.18.8.5"}]}, "names are"),
    ({"nodes": []}, "no nodes"),
])
def test_normalize_rejects_bad_input_naming_the_culprit(change, message):
    with pytest.raises(LabError, match=message):
        topology.normalize(topo(**change))


def test_node_names_may_be_fqdns():
    t = topology.normalize(topo(nodes=[{"name": "kvm-a.lab.example", "lan": "198.18.8.11"}]))
    assert t["nodes"][0]["name"] == "kvm-a.lab.example"


def test_backend_is_checked():
    with pytest.raises(LabError, match="backend 'xen'"):
        topology.normalize(topo(), backend="xen")


def test_recipe_bakes_in_the_role_packages_and_hash_follows_content():
    trixie = image.recipe("trixie")
    assert "chrony" in trixie["packages"] and "linux-image-amd64" in trixie["packages"]
    assert trixie["packages"] == sorted(set(trixie["packages"]))
    assert image.recipe_hash(trixie) == image.recipe_hash(image.recipe("trixie"))
    assert image.recipe_hash(trixie) != image.recipe_hash(image.recipe("bookworm"))
    with pytest.raises(LabError, match="unknown release"):
        image.recipe("sid")


def test_node_nics_follow_the_networks_a_node_is_on():
    t = topology.normalize(topo())
    hv1, arb = t["nodes"]
    assert [(n, i, b) for n, i, b, _ in nodes.node_nics(t, hv1)] == [
        ("lan", "eth0", "hk-t1-la"), ("backplane", "eth1", "hk-t1-ba")]
    assert [n for n, *_ in nodes.node_nics(t, arb)] == ["lan"]
    assert nodes.mac("t1", "hv1", "lan") == nodes.mac("t1", "hv1", "lan") != nodes.mac("t1", "hv2", "lan")
    assert nodes.mac("t1", "hv1", "lan").startswith("52:54:00:")


@pytest.mark.parametrize("backend, dep", [("vm", True), ("nspawn", False)])
def test_prepare_rootfs_gives_identity_and_vms_a_hardware_only_initramfs(tmp_path, monkeypatch, backend, dep):
    """VMs update their initramfs with MODULES=dep (fast); containers, with no root block device, keep
    Debian's default."""
    (tmp_path / "img" / "rootfs" / "etc" / "ssh").mkdir(parents=True)
    (tmp_path / "img" / "rootfs" / "root").mkdir()
    key = tmp_path / "id_ed25519"
    (tmp_path / "id_ed25519.pub").write_text("ssh-ed25519 AAAA lab\n")
    monkeypatch.setattr(nodes, "KEY", key)
    t = topology.normalize(topo(), backend=backend, release="trixie")
    root = nodes.prepare_rootfs(tmp_path / "img", tmp_path / "node", t, t["nodes"][0], backend)
    assert (root / "etc" / "hostname").read_text() == "hv1\n"
    assert (root / "root" / ".ssh" / "authorized_keys").read_text() == "ssh-ed25519 AAAA lab\n"
    conf = root / "etc" / "initramfs-tools" / "conf.d" / "hakvm-lab"
    assert conf.exists() is dep
    if dep:
        assert "MODULES=dep" in conf.read_text().splitlines()


# /proc/self/mountinfo after a killed image build (recorded on the lab machine, 2026-11-26): mmdebstrap
# had mounted these in the rootfs (dev/shm is a bind of the host's /dev/shm), and the next build's
# rmtree(ignore_errors=True) walked into them and then failed with "[Errno 17] File exists".
KILLED_BUILD_MOUNTINFO = """\
27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
42 27 0:39 / /var/lib/hakvm-lab/images/trixie-5cd2fd024bfb.tmp/rootfs/dev/pts rw,nosuid,noexec,relatime - devpts none rw,uid=5,mode=620,ptmxmode=666
43 27 0:27 / /var/lib/hakvm-lab/images/trixie-5cd2fd024bfb.tmp/rootfs/dev/shm rw,relatime - tmpfs tmpfs rw,size=24684096k
44 27 0:22 / /var/lib/hakvm-lab/images/trixie-5cd2fd024bfb.tmp/rootfs/sys ro,nosuid,nodev,noexec,relatime - sysfs sys rw
45 27 0:40 / /var/lib/hakvm-lab/images/trixie-5cd2fd024bfb.tmp/rootfs/proc ro,relatime - proc proc ro
46 27 0:41 / /var/lib/hakvm-lab/images/trixie-5cd2fd024bfb.tmpx/rootfs/proc ro,relatime - proc proc ro
47 27 0:42 / /var/lib/hakvm-lab/images/with\\040space/proc ro,relatime - proc proc ro
48 27 0:43 / /var/lib/hakvm-lab/images/imäges\\134x/proc ro,relatime - proc proc ro
"""


def test_mounts_below_finds_a_killed_builds_mounts_deepest_first():
    tmp = "/var/lib/hakvm-lab/images/trixie-5cd2fd024bfb.tmp"
    found = util.mounts_below(tmp + "/", KILLED_BUILD_MOUNTINFO)
    assert sorted(found) == sorted(tmp + "/rootfs/" + p for p in ("dev/pts", "dev/shm", "sys", "proc"))
    assert found.index(tmp + "/rootfs/dev/pts") < found.index(tmp + "/rootfs/sys")
    assert util.mounts_below("/var/lib/hakvm-lab/images/with space", KILLED_BUILD_MOUNTINFO) == [
        "/var/lib/hakvm-lab/images/with space/proc"]
    assert util.mounts_below("/var/lib/hakvm-lab/images/imäges\\x", KILLED_BUILD_MOUNTINFO) == [
        "/var/lib/hakvm-lab/images/imäges\\x/proc"]
    assert util.mounts_below("/var/lib/hakvm-lab/images/bookworm-1", KILLED_BUILD_MOUNTINFO) == []


def fake_mounts(monkeypatch, mounted, umount_works=True):
    """Stand in for the kernel: umount takes a point off `mounted` (if it works), rm removes for real."""
    calls = []

    def run(argv, check=True):
        calls.append(argv)
        if argv[0] == "umount" and umount_works:
            mounted.remove(argv[-1])
        if argv[0] == "rm":
            shutil.rmtree(argv[-1])
    monkeypatch.setattr(util, "mounts_below", lambda path: list(mounted))
    monkeypatch.setattr(util, "run", run)
    return calls


def test_remove_tree_unmounts_first_then_deletes_within_one_filesystem(tmp_path, monkeypatch):
    left = tmp_path / "x.tmp"
    shm = left / "rootfs" / "dev" / "shm"
    shm.mkdir(parents=True)
    calls = fake_mounts(monkeypatch, [str(shm)])
    util.remove_tree(left)
    assert calls == [["umount", "--lazy", str(shm)], ["rm", "-rf", "--one-file-system", "--", str(left)]]
    assert not left.exists()


def test_remove_tree_deletes_nothing_while_a_mount_stays(tmp_path, monkeypatch):
    left = tmp_path / "x.tmp"
    shm = left / "rootfs" / "dev" / "shm"
    shm.mkdir(parents=True)
    (shm / "host-file").write_text("the host's /dev/shm")
    calls = fake_mounts(monkeypatch, [str(shm)], umount_works=False)
    with pytest.raises(LabError, match="still mounted"):
        util.remove_tree(left)
    assert all(argv[0] != "rm" for argv in calls) and (shm / "host-file").exists()


def test_remove_tree_names_what_it_cannot_remove(tmp_path, monkeypatch):
    left = tmp_path / "x.tmp"
    left.mkdir()
    monkeypatch.setattr(util, "mounts_below", lambda path: [])
    monkeypatch.setattr(util, "run", lambda argv, check=True: None)
    with pytest.raises(LabError, match="x.tmp"):
        util.remove_tree(left)


def test_remove_tree_removes_a_plain_directory_with_the_real_rm(tmp_path):
    left = tmp_path / "x.tmp"
    (left / "rootfs" / "etc").mkdir(parents=True)
    (left / "rootfs" / "etc" / "hostname").write_text("hv1\n")
    util.remove_tree(left)
    assert not left.exists() and tmp_path.exists()


def test_remove_tree_over_real_mounts_keeps_what_they_showed(tmp_path):
    """What a killed mmdebstrap leaves, made for real: a bind mount of a directory that must survive
    (as the host's /dev/shm) and a proc mount, under the directory to remove."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount")
    host_shm = tmp_path / "host-shm"
    host_shm.mkdir()
    (host_shm / "in-use").write_text("must survive")
    left = tmp_path / "x.tmp"
    for sub in ("rootfs/dev/shm", "rootfs/proc"):
        (left / sub).mkdir(parents=True)
    try:
        subprocess.run(["mount", "--bind", str(host_shm), str(left / "rootfs/dev/shm")], check=True)
        subprocess.run(["mount", "-t", "proc", "proc", str(left / "rootfs/proc")], check=True)
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("cannot mount here")
    try:
        assert len(util.mounts_below(left)) == 2
        util.remove_tree(left)
        assert not left.exists() and util.mounts_below(left) == []
        assert (host_shm / "in-use").read_text() == "must survive"
    finally:
        for point in util.mounts_below(left):
            subprocess.run(["umount", "--lazy", point], check=False)

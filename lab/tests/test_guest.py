"""Unit tests of the test guest's pure parts: recipe hash, package resolution, modules, the initramfs."""
import gzip
import select
import shutil
import stat
import subprocess

import pytest

from hakvm_lab import guest, image
from hakvm_lab.util import LabError

# Recorded `apt-cache show --no-all-versions linux-image-cloud-amd64` (trixie-security, Nov 2025).
SHOW_TRIXIE = """\
Package: linux-image-cloud-amd64
Source: linux-signed-amd64 (6.12.118+1)
Version: 6.12.118-1
Installed-Size: 13
Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>
Architecture: amd64
Provides: linux-latest-modules-6.12.118+deb13-cloud-amd64, virtualbox-guest-modules, wireguard-modules (= 1.0.0)
Depends: linux-image-6.12.118+deb13-cloud-amd64 (= 6.12.118-1)
Description: Linux for x86-64 cloud (meta-package)
Section: kernel
"""
SHOW_BOOKWORM = """\
Package: linux-image-cloud-amd64
Version: 6.1.192-2
Provides: linux-latest-modules-6.1.0-56-cloud-amd64, virtualbox-guest-modules, wireguard-modules (= 1.0.0)
Depends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)
"""


def read_newc(archive):
    """{path: (mode, data, (rdevmajor, rdevminor))} of a gzipped newc cpio archive."""
    data, pos, members = gzip.decompress(archive), 0, {}
    while True:
        assert data[pos:pos + 6] == b"070701"
        fields = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rdev, namesize = fields[1], fields[6], (fields[9], fields[10]), fields[11]
        name = data[pos + 110:pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        if name == "TRAILER!!!":
            return members
        members[name] = (mode, data[pos:pos + size], rdev)
        pos += size
        pos += -pos % 4


def test_recipe_hash_follows_release_and_init_script(tmp_path, monkeypatch):
    trixie = guest.recipe("trixie")
    assert trixie["packages"] == ["linux-image-cloud-amd64", "busybox-static"]
    assert trixie["mirror"] == image.recipe("trixie")["mirror"]
    assert image.recipe_hash(trixie) == image.recipe_hash(guest.recipe("trixie"))
    assert image.recipe_hash(trixie) != image.recipe_hash(guest.recipe("bookworm"))
    changed = tmp_path / "guest-init.sh"
    changed.write_text(guest.INIT_SCRIPT.read_text() + "# changed\n")
    monkeypatch.setattr(guest, "INIT_SCRIPT", changed)
    assert image.recipe_hash(guest.recipe("trixie")) != image.recipe_hash(trixie)
    changed_seq = tmp_path / "guest-seq.c"
    changed_seq.write_text(guest.SEQ_SOURCE.read_text() + "/* changed */\n")
    before = image.recipe_hash(guest.recipe("trixie"))
    monkeypatch.setattr(guest, "SEQ_SOURCE", changed_seq)
    assert image.recipe_hash(guest.recipe("trixie")) != before
    path, _ = guest.guest_dir("trixie")
    assert path.parent.name == "guest" and path.name.startswith("trixie-")
    with pytest.raises(LabError, match="unknown release"):
        guest.recipe("sid")


@pytest.mark.parametrize("show, expected", [
    (SHOW_TRIXIE, "linux-image-6.12.118+deb13-cloud-amd64"),
    (SHOW_BOOKWORM, "linux-image-6.1.0-56-cloud-amd64"),
    ("Depends: linux-base, linux-image-6.1.0-9-cloud-amd64 (= 6.1.27-1) | linux-image-6.1.0-9-cloud-amd64-unsigned\n",
     "linux-image-6.1.0-9-cloud-amd64"),
])
def test_versioned_kernel_is_read_from_the_metapackage(show, expected):
    assert guest.versioned_kernel(show) == expected


def test_versioned_kernel_missing_is_an_error():
    with pytest.raises(LabError, match="depends on no versioned cloud kernel: linux-image-6.1.0-9-amd64"):
        guest.versioned_kernel("Package: linux-image-cloud-amd64\nDepends: linux-image-6.1.0-9-amd64\n")
    with pytest.raises(LabError, match="nothing"):
        guest.versioned_kernel("Package: linux-image-cloud-amd64\n")


def test_modules_to_load_puts_dependencies_first_and_skips_built_ins():
    config = guest.kernel_config("# CONFIG_FOO is not set\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_BLK=m\nCONFIG_PCI=y\n")
    assert config == {"CONFIG_VIRTIO_PCI": "m", "CONFIG_VIRTIO_BLK": "m", "CONFIG_PCI": "y"}
    deps = {"virtio_pci": ["virtio_ring", "virtio"], "virtio_blk": ["virtio_ring", "virtio"], "virtio": ["virtio_ring"],
            "virtio_ring": []}
    assert guest.modules_to_load(config, guest.DRIVERS, deps.__getitem__) == [
        "virtio_ring", "virtio", "virtio_pci", "virtio_blk"]
    built_in = {"CONFIG_VIRTIO_PCI": "y", "CONFIG_VIRTIO_BLK": "m"}
    assert guest.modules_to_load(built_in, guest.DRIVERS, lambda name: []) == ["virtio_blk"]
    with pytest.raises(LabError, match="lacks CONFIG_VIRTIO_BLK"):
        guest.modules_to_load({"CONFIG_VIRTIO_PCI": "y"}, guest.DRIVERS, lambda name: [])


def test_modules_to_load_adds_the_optional_drivers_the_kernel_has():
    config = {"CONFIG_VIRTIO_PCI": "y", "CONFIG_VIRTIO_BLK": "y", "CONFIG_INPUT_EVDEV": "m", "CONFIG_ACPI_BUTTON": "y"}
    assert guest.modules_to_load(config, guest.DRIVERS, lambda name: [], optional=guest.OPTIONAL_DRIVERS) == [
        "evdev"]
    assert guest.modules_to_load({"CONFIG_VIRTIO_PCI": "y", "CONFIG_VIRTIO_BLK": "y"}, guest.DRIVERS,
                                 lambda name: [], optional=guest.OPTIONAL_DRIVERS) == []


def test_modinfo_depends_reads_the_modinfo_section():
    ko = b"\x7fELF\0junk\0license=GPL\0depends=virtio_ring,virtio\0retpoline=Y\0name=virtio_blk\0"
    assert guest.modinfo_depends(ko) == ["virtio_ring", "virtio"]
    assert guest.modinfo_depends(b"\0license=GPL\0depends=\0name=virtio\0") == []


def test_initramfs_holds_an_executable_init_busybox_the_write_loop_and_modules_in_load_order():
    script = guest.INIT_SCRIPT.read_text()
    members = read_newc(guest.initramfs(b"BUSYBOX", script, [("virtio", b"KO1"), ("virtio_blk", b"KO2")],
                                        b"SEQ"))
    mode, data, _ = members["init"]
    assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o755 and data.decode() == script
    assert members["bin/hakvm-seq"][:2] == (stat.S_IFREG | 0o755, b"SEQ")
    assert 'exec /bin/hakvm-seq "$disk" "$last" "$boot_id"' in script
    assert members["bin/busybox"][:2] == (stat.S_IFREG | 0o755, b"BUSYBOX")
    assert members["bin/sh"][:2] == (stat.S_IFLNK | 0o777, b"busybox")
    mode, _, rdev = members["dev/console"]
    assert stat.S_ISCHR(mode) and rdev == (5, 1)
    assert members["etc/modules"][1] == b"virtio\nvirtio_blk\n"
    assert members["lib/modules/virtio_blk.ko"][1] == b"KO2"
    assert all(stat.S_ISDIR(members[d][0]) for d in ("proc", "sys", "dev", "lib/modules"))


def test_initramfs_is_reproducible():
    assert guest.initramfs(b"B", "#!/bin/sh\n", [], b"S") == guest.initramfs(b"B", "#!/bin/sh\n", [], b"S")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_write_loop_writes_durable_records_then_acknowledges_them(tmp_path):
    """The real hakvm-seq, built as the lab builds it, on a file for a disk: records after the last one."""
    seq = tmp_path / "hakvm-seq"
    subprocess.run(["gcc", "-static", "-Os", "-s", "-Wall", "-Werror", "-o", str(seq), str(guest.SEQ_SOURCE)],
                   check=True)
    disk = tmp_path / "disk"
    disk.write_bytes(b"\0" * 64 * 512)
    proc = subprocess.Popen([str(seq), str(disk), "5", "bootid-1"], stdout=subprocess.PIPE, text=True)
    try:
        acks = []
        for _ in range(2):
            assert select.select([proc.stdout], [], [], 10)[0], "hakvm-seq printed no ACK within 10 s"
            acks.append(proc.stdout.readline().strip())
    finally:
        proc.kill()
        proc.wait()
    assert acks == ["ACK 6", "ACK 7"]
    data = disk.read_bytes()
    blocks = [data[i * 512:(i + 1) * 512] for i in range(9)]
    assert all(len(b) == 512 and b.endswith(b"\n") for b in blocks[6:8])
    assert blocks[0].startswith(b"HAKVM-SEQ LAST 7 ") or blocks[0].startswith(b"HAKVM-SEQ LAST 8 ")
    for k in (6, 7):
        fields = blocks[k].decode().split()
        assert fields[0] == "SEQ" and fields[1] == str(k) and fields[2].isdigit() and fields[3] == "bootid-1"
    assert blocks[5] == b"\0" * 512                     # before LAST+1: untouched
    assert subprocess.run([str(seq)], capture_output=True, check=False).returncode == 2


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_init_script_is_shellcheck_clean():
    proc = subprocess.run(["shellcheck", str(guest.INIT_SCRIPT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout

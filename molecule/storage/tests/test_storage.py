"""Verify the storage as an administrator would: the mirror, mdadm.conf, the volume group, the volumes."""


def test_mirror_is_clean_with_both_disks(host):
    detail = host.check_output("mdadm --detail /dev/md/guests")
    assert "raid1" in detail and "Active Devices : 2" in detail and "Intent Bitmap : Internal" in detail
    assert host.file("/sys/class/block/%s/md/degraded" % host.check_output("basename $(readlink -f /dev/md/guests)")
                     ).content_string.strip() == "0"


def test_mdadm_conf_names_the_array_by_uuid(host):
    uuid = host.check_output("mdadm --detail --export /dev/md/guests | sed -n 's/^MD_UUID=//p'")
    conf = host.file("/etc/mdadm/mdadm.conf").content_string
    assert "ARRAY /dev/md/guests metadata=1.2 UUID=%s" % uuid in conf
    assert "MAILADDR root" in conf


def test_initramfs_carries_the_same_mdadm_conf(host):
    listing = host.check_output("lsinitramfs /boot/initrd.img-$(uname -r) | grep mdadm.conf || true")
    assert "etc/mdadm/mdadm.conf" in listing


def test_lvm_scans_only_md_devices(host):
    config = host.check_output("lvmconfig devices/global_filter")
    assert '"a|^/dev/md|"' in config and '"r|^/dev/drbd|"' in config and '"r|.*|"' in config


def test_volume_group_on_the_mirror(host):
    pvs = host.check_output("pvs --noheadings -o pv_name,vg_name").split()
    assert pvs[1] == "guests" and pvs[0].startswith("/dev/md")


def test_volumes_have_exact_sizes_in_whole_extents_and_tags(host):
    rows = host.check_output("lvs --noheadings --units b --nosuffix -o lv_name,lv_size,lv_tags guests").splitlines()
    volumes = {r.split()[0]: (int(r.split()[1]), r.split()[2]) for r in rows}
    # 200M = 50 extents of 4 MiB; 130M rounds up to 33 extents (132 MiB), the same on both hosts; the
    # side effect then grew web2-disk0 to 140 MiB (and its DRBD device online).
    assert volumes == {"web1-disk0": (200 * 2**20, "guest_web1,hakvm"),
                       "web2-disk0": (140 * 2**20, "guest_web2,hakvm")}


def test_drbd_resources_connected_and_uptodate(host):
    proc = host.file("/proc/drbd").content_string
    assert "version: 8.4" in proc
    for minor in (0, 1):
        assert " %d: cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate C " % minor in proc


def test_drbd_devices_equal_size_on_the_volumes(host):
    # 200 MiB backing volume minus 8.4's internal metadata (4 KiB superblock, 32 KiB AL, 8 KiB bitmap).
    assert int(host.file("/sys/block/drbd0/size").content_string) == 200 * 2048 - 88
    assert int(host.file("/sys/block/drbd1/size").content_string) == 140 * 2048 - 88
    assert host.check_output("drbdadm sh-ll-dev web1-disk0") == "/dev/guests/web1-disk0"


def test_drbd_configuration(host):
    common = host.file("/etc/drbd.d/global_common.conf")
    assert common.mode == 0o600 and common.user == "root"
    dump = host.check_output("drbdadm dump web1-disk0")
    assert "address          ipv4 198.18.3.11:7788;" in dump and "address          ipv4 198.18.3.12:7788;" in dump
    assert "minor 0;" in dump
    assert "cram-hmac-alg" in host.check_output("drbdadm dump all | grep -v shared-secret")


def test_drbd_is_left_to_pacemaker(host):
    assert not host.service("drbd").is_enabled
    assert host.file("/etc/modules-load.d/drbd.conf").contains("^drbd")


def test_drbd_ports_open_on_the_backplane_only(host):
    ruleset = host.check_output("nft list table inet hakvm")
    drbd_rules = [line for line in ruleset.splitlines() if "7788" in line]
    assert drbd_rules and all("backplane" in line for line in drbd_rules)

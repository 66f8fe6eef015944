"""Verify the storage as an administrator would: the mirror, mdadm.conf, the volume group, the volumes."""


def test_mirror_is_clean_with_both_disks(host):
    detail = host.check_output("mdadm --detail /dev/md/guests")
    assert "raid1" in detail and "Active Devices : 2" in detail and "Intent Bitmap : Internal" in detail
    assert host.file("/sys/class/block/%s/md/degraded" % host.check_output("basename $(readlink -f /dev/md/guests)")
                     ).content_string.strip() == "0"


def uuid(host, array):
    return host.check_output("mdadm --detail --export /dev/md/%s | sed -n 's/^MD_UUID=//p'" % array)


def test_mdadm_conf_names_every_array_by_uuid_and_keeps_the_installers_lines(host):
    conf = host.file("/etc/mdadm/mdadm.conf").content_string
    block = conf.split("# BEGIN hakvm.cluster.raid", 1)[1].split("# END hakvm.cluster.raid", 1)[0]
    outside = conf.replace(block, "")
    # The role's array and the one made by hand (active, named nowhere) are in the role's block; the
    # "installer's" mirror keeps its own line outside it, written by prepare.yml.
    assert "ARRAY /dev/md/guests metadata=1.2 UUID=%s" % uuid(host, "guests") in block
    assert "UUID=%s" % uuid(host, "handmade") in block
    assert "UUID=%s" % uuid(host, "system") in outside and "UUID=%s" % uuid(host, "system") not in block
    assert "# installer" in outside and outside.count("MAILADDR root") == 1


def test_initramfs_of_every_kernel_carries_every_array(host):
    for initrd in host.check_output("ls /boot/initrd.img-*").split():
        conf = host.check_output("d=$(mktemp -d) && unmkinitramfs %s $d && cat $(find $d -path '*etc/mdadm/mdadm.conf')"
                                 " && rm -rf $d" % initrd)
        for array in ("guests", "handmade", "system"):
            assert "UUID=%s" % uuid(host, array) in conf, (initrd, array)


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
    assert "on hv1 {" in dump and "on hv2 {" in dump and "minor 0;" in dump
    settings = host.check_output("drbdadm dump all | grep -v shared-secret")
    # Split brains are never resolved by throwing changes away, and are reported.
    for line in ("cram-hmac-alg    sha256;", "after-sb-0pri    discard-zero-changes;", "after-sb-1pri    consensus;",
                 "after-sb-2pri    disconnect;", "fencing          resource-only;",
                 'fence-peer       /usr/local/sbin/hakvm-drbd-fence-peer;',
                 'split-brain      "/usr/lib/drbd/notify-split-brain.sh root";'):
        assert line in settings, line


def test_drbd_is_left_to_pacemaker(host):
    assert not host.service("drbd").is_enabled
    assert host.file("/etc/modules-load.d/drbd.conf").contains("^drbd")


def test_drbd_ports_open_on_the_backplane_only(host):
    ruleset = host.check_output("nft list table inet hakvm")
    drbd_rules = [line for line in ruleset.splitlines() if "7788" in line]
    assert drbd_rules and all("backplane" in line for line in drbd_rules)

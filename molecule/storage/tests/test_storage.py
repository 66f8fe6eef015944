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
    # 200M = 50 extents of 4 MiB; 130M rounds up to 33 extents (132 MiB), the same on both hosts.
    assert volumes == {"web1-disk0": (200 * 2**20, "guest_web1,hakvm"),
                       "web2-disk0": (132 * 2**20, "guest_web2,hakvm")}

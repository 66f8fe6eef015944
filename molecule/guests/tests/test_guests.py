"""Verify the KVM hosts and their guests as an administrator would: libvirt, migration, the guests' XML,
DRBD under Pacemaker, the Pacemaker objects."""
import pytest


def name(host):
    return host.backend.get_hostname()


@pytest.fixture
def kvm_host(host):
    if name(host) not in ("hv1", "hv2"):
        pytest.skip("KVM hosts only")
    return host


def test_libvirt_runs_and_libvirt_guests_does_not(kvm_host):
    assert kvm_host.service("libvirtd").is_enabled or kvm_host.service("libvirtd.socket").is_enabled
    guests = kvm_host.service("libvirt-guests")
    assert not guests.is_enabled and not guests.is_running


def test_no_guest_is_defined_persistently_or_autostarted(kvm_host):
    assert kvm_host.check_output("virsh list --all --persistent --name").strip() == ""
    assert kvm_host.check_output("virsh list --all --autostart --name").strip() == ""


def test_migration_reaches_the_peer_over_the_backplane_with_pinned_keys(kvm_host):
    peer = "hv2" if name(kvm_host) == "hv1" else "hv1"
    assert kvm_host.check_output("getent hosts %s" % peer).startswith("198.18.3.")
    kvm_host.check_output("virsh -c qemu+ssh://%s/system version" % peer)
    assert kvm_host.file("/root/.ssh/hakvm_migration").mode == 0o600


def test_the_guests_xml_is_outside_libvirt_and_uses_drbd_raw_virtio_without_cache(kvm_host):
    for guest, minor in (("alpha", 10), ("beta", 11)):
        xml = kvm_host.file("/etc/hakvm/guests/%s.xml" % guest).content_string
        assert "<source dev='/dev/drbd%d'/>" % minor in xml
        assert "type='raw' cache='none' io='native'" in xml and "bus='virtio'" in xml
        assert "<type arch='x86_64' machine='" in xml and "<serial type='pty'>" in xml
        assert kvm_host.run("virt-xml-validate /etc/hakvm/guests/%s.xml domain" % guest).rc == 0


def test_drbd_is_dual_primary_capable_fenced_and_left_to_pacemaker(kvm_host):
    dump = kvm_host.check_output("drbdadm dump alpha-disk0 | grep -v shared-secret")
    assert "allow-two-primaries yes;" in dump and "fencing          resource-and-stonith;" in dump
    assert not kvm_host.service("drbd").is_enabled
    # 64 MiB exactly: the size the guest was declared with.
    assert int(kvm_host.file("/sys/block/drbd10/size").content_string) * 512 == 64 * 2**20


def test_pacemaker_runs_each_guest_once_on_drbd_promoted_with_the_rules(kvm_host):
    cib = kvm_host.check_output("cibadmin --query --scope configuration")
    for guest in ("alpha", "beta"):
        for needle in ('id="vm_%s"' % guest, 'id="ms_drbd_%s-disk0"' % guest,
                       'id="col_vm_%s_on_%s-disk0"' % (guest, guest), 'id="ord_%s-disk0_before_vm_%s"' % (guest, guest),
                       'id="loc_vm_%s_connected"' % guest, 'id="loc_vm_%s_preferred"' % guest):
            assert needle in cib, needle
    assert 'name="placement-strategy" value="utilization"' in cib
    assert 'name="promoted-max" value="2"' in cib and 'name="allow-migrate" value="true"' in cib
    status = kvm_host.check_output("crm_mon --one-shot --output-as=xml")
    for guest in ("alpha", "beta"):
        assert status.count('id="vm_%s" resource_agent="ocf:heartbeat:VirtualDomain" role="Started"' % guest) == 1

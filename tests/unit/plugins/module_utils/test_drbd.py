"""drbd_resource's parsing and decisions on real DRBD 8.4 output recorded in the storage scenario's trixie
VMs (fixtures/drbd, made by fixtures/drbd/record.sh); files named *-handmade.* are written by hand in the
recorded formats."""
import os

import pytest

from ansible_collections.hakvm.cluster.plugins.module_utils import drbd

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'drbd')
MIB = 1024 * 1024


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_connected_resources():
    states = drbd.parse_proc_drbd(fixture('proc-connected.txt'))
    assert sorted(states) == [0, 1]
    for state in states.values():
        assert (state['connection'], state['role'], state['peer_role'], state['disk'], state['peer_disk']) == (
            'Connected', 'Secondary', 'Secondary', 'UpToDate', 'UpToDate')
        assert state['out_of_sync_bytes'] == 0 and state['sync_percent'] is None
        assert drbd.is_up(state) and drbd.is_connected(state)


def test_a_sync_in_progress():
    states = drbd.parse_proc_drbd(fixture('proc-syncing.txt'))
    state = states[0]
    assert state['connection'] == 'SyncSource' and (state['disk'], state['peer_disk']) == ('UpToDate', 'Inconsistent')
    assert (state['sync_percent'], state['out_of_sync_bytes'], state['sync_finish'], state['sync_speed_kib']) == (
        16.0, 173480 * 1024, '0:00:10', 15636)
    assert drbd.is_connected(state)
    # The progress lines belong to minor 0 only.
    assert (states[1]['sync_percent'], states[1]['sync_speed_kib'], states[1]['out_of_sync_bytes']) == (None, None, 0)


def test_a_new_resource_waiting_for_its_peer():
    state = drbd.parse_proc_drbd(fixture('proc-waiting.txt'))[9]
    assert (state['connection'], state['disk'], state['peer_disk']) == ('WFConnection', 'Inconsistent', 'DUnknown')
    assert drbd.is_up(state) and not drbd.is_connected(state)
    uuid = drbd.current_uuid(fixture('get-gi-new.txt'))
    assert uuid == drbd.UUID_JUST_CREATED
    # Not connected: no initial sync yet, whatever the UUID says.
    assert not drbd.needs_initial_sync(state, uuid)
    assert drbd.needs_initial_sync(dict(state, connection='Connected', peer_disk='Inconsistent'), uuid)


def test_a_synced_resource_is_never_forced_again():
    state = drbd.parse_proc_drbd(fixture('proc-connected.txt'))[0]
    uuid = drbd.current_uuid(fixture('get-gi-synced.txt'))
    assert uuid == 'EE38F495801B1A6E'
    # Even if both sides looked Inconsistent, a volume that was ever synced is not forced.
    assert not drbd.needs_initial_sync(dict(state, disk='Inconsistent', peer_disk='Inconsistent'), uuid)


def test_standalone_and_unconfigured():
    state = drbd.parse_proc_drbd(fixture('proc-standalone.txt'))[9]
    assert state['connection'] == 'StandAlone' and not drbd.is_connected(state)
    assert not drbd.is_up(drbd.unconfigured())
    assert drbd.parse_proc_drbd('version: 8.4.11 (api:1/proto:86-101)\n') == {}


@pytest.mark.parametrize('name, rc, found', [
    ('dump-md-none.txt', 1, False), ('dump-md-unclean.txt', 1, True), ('dump-md-found.txt', 0, True)])
def test_metadata_is_read_not_guessed(name, rc, found):
    assert drbd.metadata_found(rc, fixture(name)) is found


def test_any_other_dump_md_failure_is_no_answer():
    assert drbd.metadata_found(20, "Failure: (114) Lower device is already claimed.") is None


def test_pending_changes_name_the_drbdsetup_verbs_of_the_adjust_dry_run():
    assert drbd.pending_changes(fixture('adjust-dry-unchanged.txt')) == []
    assert drbd.pending_changes(fixture('adjust-dry-changed.txt')) == ['disk-options']
    # Handmade in the recorded format: a reconnect carries the shared secret, which the verbs leave out.
    reconnect = ('drbdsetup-84 connect rec ipv4:198.18.3.11:7797 ipv4:198.18.3.12:7797 --protocol=C '
                 '--cram-hmac-alg=sha256 --shared-secret=s3cret-value\n' + fixture('adjust-dry-changed.txt'))
    assert drbd.pending_changes(reconnect) == ['connect', 'disk-options']


# sizes.txt: volumes of 12M/200M/620M recorded by record.sh; 132M and 140M: web2-disk0 before and after the storage
# scenario grows it, the device sizes its verifier asserts (/sys/block/drbd1/size).
SIZES = [tuple(int(n) for n in line.split()) for line in fixture('sizes.txt').splitlines()] + [
    (132 * MIB, 132 * 2048 - 88), (140 * MIB, 140 * 2048 - 88)]


@pytest.mark.parametrize('backing_bytes, device_sectors', SIZES)
def test_device_size_from_the_backing_size(backing_bytes, device_sectors):
    assert drbd.max_size_sectors(backing_bytes // 512) == device_sectors
    # The smallest volume for that device is the one it was made on (all are whole 4 MiB extents).
    assert drbd.min_backing_bytes(device_sectors * 512) <= backing_bytes
    assert drbd.max_size_sectors(drbd.min_backing_bytes(device_sectors * 512) // 512) >= device_sectors


def test_metadata_begins_below_the_last_whole_4k_of_an_unaligned_device():
    # The kernel puts the superblock in the last whole 4 KiB (drbd_md_ss: capacity & ~7, less 8 sectors):
    # the odd sectors after it hold nothing, so the device is no larger than on the aligned size.
    assert drbd.max_size_sectors(24576 + 5) == drbd.max_size_sectors(24576) == 24496


def test_min_backing_bytes_is_the_smallest_whole_4k_volume_that_fits():
    assert drbd.min_backing_bytes(409512 * 512) == 200 * MIB
    assert drbd.min_backing_bytes(200 * MIB) == 200 * MIB + 88 * 512
    # Across a bitmap step (every 128 MiB of volume the bitmap takes 4 KiB more) and for sizes not in whole 4 KiB.
    for data_bytes in (1, 512, 4096, 128 * MIB - 4096, 128 * MIB, 20 * 1024 * MIB + 512, 2 * 1024 ** 4):
        backing = drbd.min_backing_bytes(data_bytes)
        assert backing % 4096 == 0
        assert drbd.max_size_sectors(backing // 512) * 512 >= data_bytes
        assert drbd.max_size_sectors(backing // 512 - 8) * 512 < data_bytes


def test_size_problem_names_the_volume_size_needed():
    disk = '/dev/guests/db1-disk0'
    assert drbd.size_problem(disk, 200 * MIB, 409512 * 512) is None
    problem = drbd.size_problem(disk, 200 * MIB, 200 * MIB)
    assert problem.startswith('/dev/guests/db1-disk0 holds 209715200 bytes, too few for data_bytes 209715200')
    assert 'at least 209760256 bytes (201 MiB)' in problem and 'hakvm.cluster.lvm_volume size: 201M' in problem
    # A running device larger than the pinned size would be shrunk: refused whatever the volume's size.
    problem = drbd.size_problem(disk, 400 * MIB, 100 * MIB, device_bytes=409512 * 512)
    assert problem.startswith('the device presents 209670144 bytes, more than data_bytes 104857600')
    assert drbd.size_problem(disk, 400 * MIB, 409512 * 512, device_bytes=409512 * 512) is None


def test_grow_target_is_the_pinned_size_when_there_is_one():
    assert drbd.grow_target_bytes(140 * MIB) == (140 * 2048 - 88) * 512
    assert drbd.grow_target_bytes(140 * MIB, 132 * MIB) == 132 * MIB
    assert drbd.grow_target_bytes(132 * MIB, 140 * MIB) == (132 * 2048 - 88) * 512


def test_a_standalone_resource_is_protected_and_the_message_says_how_to_resolve_it():
    state = drbd.parse_proc_drbd(fixture('proc-standalone.txt'))[9]
    problem = drbd.protected_state('rec', state, has_disk=True)
    assert problem.startswith('resource rec is left as it is (connection StandAlone, role Secondary/Unknown, '
                              'disk Inconsistent/DUnknown)')
    assert ('on the node whose changes are to be thrown away run `drbdadm secondary rec; drbdadm connect '
            '--discard-my-data rec`, on the other `drbdadm connect rec`') in problem
    assert 'repair=true' in problem and 'resolves no split brain' in problem
    assert 'drbdadm attach' not in problem


def test_a_diskless_resource_is_protected_only_when_it_has_a_disk():
    # proc-waiting.txt as 8.4 shows a resource whose backing device was detached, Connected to an UpToDate peer.
    text = fixture('proc-waiting.txt').replace('cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown',
                                               'cs:Connected ro:Secondary/Primary ds:Diskless/UpToDate')
    state = drbd.parse_proc_drbd(text)[9]
    problem = drbd.protected_state('rec', state, has_disk=True)
    assert problem.startswith('resource rec is left as it is (connection Connected, role Secondary/Primary, '
                              'disk Diskless/UpToDate)')
    assert 'check the backing device and its kernel log' in problem and '`drbdadm attach rec`' in problem
    assert 'discard-my-data' not in problem
    assert drbd.protected_state('rec', state, has_disk=False) is None
    # Under Pacemaker the message offers no repair by the module.
    managed = drbd.protected_state('rec', state, has_disk=True, owner='ms_drbd_rec')
    assert managed.endswith("Pacemaker (ms_drbd_rec) manages it, so the module does not repair it behind Pacemaker's "
                            "back, not even with repair=true: resolve it by hand")
    assert 'repair=true lets' not in managed


@pytest.mark.parametrize('name, minor', [('proc-connected.txt', 0), ('proc-waiting.txt', 9), ('proc-syncing.txt', 0)])
def test_connected_waiting_syncing_and_down_resources_are_not_protected(name, minor):
    assert drbd.protected_state('rec', drbd.parse_proc_drbd(fixture(name))[minor], has_disk=True) is None
    assert drbd.protected_state('rec', drbd.unconfigured(), has_disk=True) is None


def test_pacemaker_owner_in_a_promotable_clone():
    resources = fixture('cib-resources-promotable-handmade.xml')
    assert drbd.pacemaker_owner(resources, 'web1-disk0') == 'ms_drbd_web1-disk0'
    assert drbd.pacemaker_owner(resources, 'web2-disk0') is None
    # Only an ocf:linbit:drbd primitive runs DRBD, whatever another one's parameters say.
    other_agent = resources.replace('provider="linbit" type="drbd"', 'provider="heartbeat" type="Dummy"')
    assert drbd.pacemaker_owner(other_agent, 'web1-disk0') is None
    # A primitive of its own, outside any clone, names itself.
    alone = '<resources>%s</resources>' % resources[resources.index('<primitive id="p_drbd'):resources.index('</clone>')]
    assert drbd.pacemaker_owner(alone, 'web1-disk0') == 'p_drbd_web1-disk0'


def test_pacemaker_owner_in_recorded_cibs():
    # A whole CIB too: crmsh 4.4's old `ms` (<master>) on bookworm, and pacemaker 3.0's live CIB without DRBD.
    with open(os.path.join(FIXTURES, '..', 'crmsh-4.4-bookworm.xml')) as handle:
        assert drbd.pacemaker_owner(handle.read(), 'web') == 'ms_drbd_web'
    with open(os.path.join(FIXTURES, '..', 'pacemaker-3.0-trixie-live.xml')) as handle:
        assert drbd.pacemaker_owner(handle.read(), 'web') is None


def test_describe():
    state = dict(drbd.parse_proc_drbd(fixture('proc-connected.txt'))[0], size_bytes=1024)
    assert drbd.describe('r0', state) == (
        'resource r0: Connected\nrole: Secondary/Secondary\ndisk: UpToDate/UpToDate\nsize_bytes: 1024\n')
    assert drbd.describe('r0', drbd.unconfigured()) == 'resource r0: down\n'

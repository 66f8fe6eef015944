"""drbd_resource's parsing and decisions on real DRBD 8.4 output recorded in the storage scenario's trixie
VMs (fixtures/drbd, made by fixtures/drbd/record.sh)."""
import os

import pytest

from ansible_collections.hakvm.cluster.plugins.module_utils import drbd

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'drbd')


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
    state = drbd.parse_proc_drbd(fixture('proc-syncing.txt'))[0]
    assert state['connection'] == 'SyncSource' and (state['disk'], state['peer_disk']) == ('UpToDate', 'Inconsistent')
    assert 0 < state['sync_percent'] < 100 and state['out_of_sync_bytes'] > 0 and state['sync_speed_kib'] > 0
    assert drbd.is_connected(state)


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
    assert uuid != drbd.UUID_JUST_CREATED
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


def test_adjust_dry_run_is_empty_when_unchanged_and_not_when_changed():
    assert fixture('adjust-dry-unchanged.txt').strip() == ''
    assert fixture('adjust-dry-changed.txt').strip() != ''


@pytest.mark.parametrize('line', fixture('sizes.txt').splitlines())
def test_device_size_from_the_backing_size(line):
    backing_bytes, device_sectors = (int(n) for n in line.split())
    assert drbd.max_size_sectors(backing_bytes // 512) == device_sectors


def test_describe():
    state = dict(drbd.parse_proc_drbd(fixture('proc-connected.txt'))[0], size_bytes=1024)
    assert drbd.describe('r0', state) == (
        'resource r0: Connected\nrole: Secondary/Secondary\ndisk: UpToDate/UpToDate\nsize_bytes: 1024\n')
    assert drbd.describe('r0', drbd.unconfigured()) == 'resource r0: down\n'

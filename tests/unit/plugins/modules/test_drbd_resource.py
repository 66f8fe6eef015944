"""drbd_resource's decisions, driven by the DRBD output recorded in the lab (module_utils/fixtures/drbd)
through a fake module: which commands it runs, which it only lists in check mode, and what it refuses.

The main() tests run the whole module: its arguments are validated with ansible's own ArgumentSpecValidator,
and the commands that change DRBD rewrite the fake /proc/drbd and sysfs size as the kernel would."""
import os

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.hakvm.cluster.plugins.module_utils import blockdev
from ansible_collections.hakvm.cluster.plugins.module_utils.drbd import Refusal
from ansible_collections.hakvm.cluster.plugins.modules import drbd_resource

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures')
ADM = drbd_resource.DRBDADM_84
MIB = 1024 * 1024
# What drbd_resource may run in check mode: readers only.
READERS = ('modinfo ', ADM + ' sh-minor ', ADM + ' sh-ll-dev ', ADM + ' dump-md ', ADM + ' -d adjust ',
           ADM + ' get-gi ', 'wipefs --no-act ', 'blockdev --getsize64 ', 'cibadmin --query ', 'crm_node -n ',
           'crm_resource --resource ms_drbd_web1-disk0 --locate ')
# Minor 9 ("rec") in proc-waiting.txt, and the states the tests put in its place.
WAITING = 'cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown'
NEW_PAIR = 'cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent'
SYNCED = 'cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate'
SYNCING = 'cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent'
DISKLESS = 'cs:Connected ro:Secondary/Primary ds:Diskless/UpToDate'
STANDALONE = 'cs:StandAlone ro:Secondary/Unknown ds:UpToDate/DUnknown'
DOWN = None
# The 200M volume of sizes.txt and its device.
VOLUME, DEVICE = 200 * MIB, 409512 * 512


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


class Done(Exception):
    """exit_json or fail_json was called."""

    def __init__(self, failed, result):
        super(Done, self).__init__(result.get('msg'))
        self.failed, self.result = failed, result


class FakeModule:
    """Answers the commands drbd_resource runs from a table; records what it ran and what it warned.

    The longest prefix of a command line in the table answers it, with (rc, out, err) or a function of the
    command line that returns them (and may change the host); any other command succeeds silently.
    """

    def __init__(self, answers, check_mode=False, missing=()):
        self.answers, self.check_mode, self.missing = answers, check_mode, missing
        self.ran, self.warnings, self.no_log_values = [], [], set()
        self.params, self._diff = {}, False

    def get_bin_path(self, name, required=False, opt_dirs=None):
        if name in self.missing:
            assert not required, 'the module would fail: %s is missing' % name
            return None
        return name

    def run_command(self, argv, environ_update=None, data=None):
        line = ' '.join(argv)
        self.ran.append(line)
        prefixes = [prefix for prefix in self.answers if line.startswith(prefix)]
        if not prefixes:
            return 0, '', ''
        answer = self.answers[max(prefixes, key=len)]
        return answer(line) if callable(answer) else answer

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise Done(False, result)

    def fail_json(self, **result):
        raise Done(True, result)

    def changing(self):
        """The commands run that are not readers."""
        return [line for line in self.ran if not (line + ' ').startswith(READERS)]


def answers(**extra):
    table = {
        'modinfo -F version drbd': (0, '8.4.11\n', ''),
        ADM + ' sh-minor': (0, '9\n', ''),
        ADM + ' sh-ll-dev': (0, '/dev/guests/rec\n', ''),
        ADM + ' dump-md': (0, '', ''),
        'wipefs': (0, '', ''),
        'blockdev --getsize64': (0, '%d\n' % VOLUME, ''),
        # No cluster on this host.
        'cibadmin': (102, '', 'Could not connect to the CIB: Transport endpoint is not connected\n'),
    }
    table.update(extra)
    return table


class Host:
    """The fake /proc/drbd (recorded, with minor 9 put in a given state) and minor 9's sysfs size."""

    def __init__(self, tmp_path, monkeypatch):
        self.proc, self.size = tmp_path / 'drbd', tmp_path / 'size9'
        monkeypatch.setattr(drbd_resource, 'PROC_DRBD', str(self.proc))
        monkeypatch.setattr(drbd_resource, 'SYS_SIZE', str(tmp_path / 'size%d'))
        monkeypatch.setattr(drbd_resource, 'POLL_S', 0)
        self.cib = tmp_path / 'cib.xml'          # Pacemaker's CIB on disk: none unless a test writes it
        monkeypatch.setattr(drbd_resource, 'CIB_ON_DISK', str(self.cib))

    def set(self, state, size_bytes=DEVICE):
        """state: minor 9's line from cs: to ds:, or DOWN."""
        if state is DOWN:
            self.proc.write_text(fixture('drbd/proc-connected.txt'))
        else:
            self.proc.write_text(fixture('drbd/proc-waiting.txt').replace(WAITING, state))
        self.size.write_text('%d\n' % (size_bytes // 512))

    def becomes(self, state, size_bytes=DEVICE):
        """An answer that succeeds and leaves minor 9 in state."""
        def answer(line):
            self.set(state, size_bytes)
            return 0, '', ''
        return answer


@pytest.fixture
def host(tmp_path, monkeypatch):
    return Host(tmp_path, monkeypatch)


@pytest.fixture
def proc(host):
    """Point the module at a recorded /proc/drbd (and no sysfs sizes)."""
    def use(name):
        host.proc.write_text(fixture('drbd/' + name) if name else 'version: 8.4.11 (api:1/proto:86-101)\n')
    return use


def resource(module):
    return drbd_resource.Resource(module, drbd_resource.Runner(module), 'rec')


def run(monkeypatch, module, **params):
    """main() with these arguments, validated as AnsibleModule would; the Done it ended with."""
    def ansible_module(argument_spec, supports_check_mode, **checks):
        validated = ArgumentSpecValidator(argument_spec, **checks).validate(dict(dict(name='rec'), **params))
        if validated.error_messages:
            module.fail_json(msg='; '.join(validated.error_messages))
        module.params = validated.validated_parameters
        return module
    monkeypatch.setattr(drbd_resource, 'AnsibleModule', ansible_module)
    with pytest.raises(Done) as done:
        drbd_resource.main()
    return done.value


# ---- Resource, step by step ---------------------------------------------------------------------------------------

def test_metadata_over_a_filesystem_is_refused_and_nothing_runs(proc):
    proc(None)
    module = FakeModule(answers(**{ADM + ' dump-md': (1, '', fixture('drbd/dump-md-none.txt')),
                                   'wipefs': (0, fixture('mdadm/wipefs-ext4.json'), '')}))
    res = resource(module)
    with pytest.raises(Refusal, match='refusing to create DRBD metadata on /dev/guests/rec: it holds ext4 signature'):
        res.up(force=False, keep_data=False, data_bytes=None)
    assert res.commands == [] and not any('create-md' in argv for argv in module.ran)


def test_check_mode_lists_create_md_and_up_and_runs_only_readers(proc):
    proc(None)
    module = FakeModule(answers(**{ADM + ' dump-md': (1, '', fixture('drbd/dump-md-none.txt'))}), check_mode=True)
    res = resource(module)
    res.up(force=False, keep_data=False, data_bytes=None)
    assert res.commands == ['drbdadm create-md --force rec', 'drbdadm up rec']
    assert module.changing() == []


def test_unclean_metadata_after_a_reboot_is_only_brought_up(proc):
    proc(None)
    module = FakeModule(answers(**{ADM + ' dump-md': (1, '', fixture('drbd/dump-md-unclean.txt'))}))
    res = resource(module)
    res.up(force=False, keep_data=False, data_bytes=None)
    assert res.commands == ['drbdadm up rec']


def test_unchanged_configuration_is_not_adjusted(proc):
    proc('proc-waiting.txt')
    module = FakeModule(answers(**{ADM + ' -d adjust': (0, fixture('drbd/adjust-dry-unchanged.txt'), '')}))
    res = resource(module)
    res.adjust()
    assert res.commands == []
    module.answers[ADM + ' -d adjust'] = (0, fixture('drbd/adjust-dry-changed.txt'), '')
    res.adjust()
    assert res.commands == ['drbdadm adjust rec']


def test_initial_sync_needs_the_peer(proc, monkeypatch):
    proc('proc-waiting.txt')
    monkeypatch.setattr(drbd_resource, 'POLL_S', 0)
    module = FakeModule(answers(**{ADM + ' get-gi': (0, fixture('drbd/get-gi-new.txt'), '')}))
    with pytest.raises(Refusal, match='the peer did not connect within 0 s'):
        resource(module).initial_sync(skip=False, timeout=0)


def test_initial_sync_once_both_sides_are_new_and_connected(host):
    host.set(NEW_PAIR)
    module = FakeModule(answers(**{ADM + ' get-gi': (0, fixture('drbd/get-gi-new.txt'), '')}))
    res = resource(module)
    res.initial_sync(skip=False, timeout=0)
    assert res.commands == ['drbdadm primary --force rec']
    # A volume that was synced before is never forced again, even if both sides look Inconsistent.
    module.answers[ADM + ' get-gi'] = (0, fixture('drbd/get-gi-synced.txt'), '')
    res.commands.clear()
    res.initial_sync(skip=True, timeout=0)
    assert res.commands == []


# ---- main(): the initial sync ---------------------------------------------------------------------------------------

def new_resource(host, **extra):
    """A resource without metadata on a blank volume, whose peer connects as soon as it is up."""
    host.set(DOWN)
    return answers(**dict({
        ADM + ' dump-md': (1, '', fixture('drbd/dump-md-none.txt')),
        ADM + ' get-gi': (0, fixture('drbd/get-gi-new.txt'), ''),
        ADM + ' up': host.becomes(NEW_PAIR),
        ADM + ' new-current-uuid': host.becomes(SYNCED),
        ADM + ' primary': host.becomes(SYNCING),
        ADM + ' secondary': host.becomes(SYNCING.replace('Primary/', 'Secondary/')),
    }, **extra))


def test_skip_initial_sync_clears_the_bitmap_and_never_forces_a_promotion(host, monkeypatch):
    module = FakeModule(new_resource(host))
    done = run(monkeypatch, module, initial_sync_source=True, skip_initial_sync=True)
    assert not done.failed and done.result['changed']
    assert done.result['commands'] == ['drbdadm create-md --force rec', 'drbdadm up rec',
                                       'drbdadm new-current-uuid --clear-bitmap rec']
    assert not any(' primary' in line or ' secondary' in line for line in module.ran)
    assert (done.result['resource']['disk_state'], done.result['resource']['peer_disk_state']) == ('UpToDate', 'UpToDate')


def test_the_initial_sync_source_forces_the_sync_and_goes_back_to_secondary(host, monkeypatch):
    module = FakeModule(new_resource(host))
    done = run(monkeypatch, module, initial_sync_source=True)
    assert done.result['commands'] == ['drbdadm create-md --force rec', 'drbdadm up rec', 'drbdadm primary --force rec',
                                       'drbdadm secondary rec']
    assert done.result['resource']['connection'] == 'SyncSource' and done.result['resource']['role'] == 'Secondary'


# ---- main(): grow ---------------------------------------------------------------------------------------------------

def grown(host, roles, grows_to, backing=208 * MIB, **extra):
    """A synced resource on a 200M volume grown to backing; resize leaves the device at grows_to bytes."""
    host.set(SYNCED.replace('Secondary/Secondary', roles))
    return answers(**dict({'blockdev --getsize64': (0, '%d\n' % backing, ''),
                           ADM + ' resize': host.becomes(SYNCED.replace('Secondary/Secondary', roles), grows_to)},
                          **extra))


def test_grow_resizes_when_the_volume_grew_and_one_side_is_primary(host, monkeypatch):
    module = FakeModule(grown(host, 'Secondary/Primary', (208 * 2048 - 88) * 512))
    done = run(monkeypatch, module)
    assert done.result['commands'] == ['drbdadm resize rec'] and done.result['changed']
    assert done.result['resource']['size_bytes'] == (208 * 2048 - 88) * 512
    assert module.warnings == []


def test_grow_with_two_secondaries_warns_and_does_not_resize(host, monkeypatch):
    module = FakeModule(grown(host, 'Secondary/Secondary', 208 * MIB))
    done = run(monkeypatch, module)
    assert done.result['commands'] == [] and not done.result['changed']
    assert not any(' resize' in line for line in module.ran)
    assert len(module.warnings) == 1 and 'resizes only while one side is Primary' in module.warnings[0]


def test_grow_warns_while_the_peer_is_still_smaller(host, monkeypatch):
    # DRBD takes the smaller side: the resize runs, the device keeps its size.
    module = FakeModule(grown(host, 'Primary/Secondary', DEVICE))
    done = run(monkeypatch, module)
    assert ADM + ' resize rec' in module.ran
    assert done.result['commands'] == [] and not done.result['changed']
    assert done.result['resource']['size_bytes'] == DEVICE
    assert len(module.warnings) == 1 and "the peer's backing device is still smaller" in module.warnings[0]


def test_grow_stops_at_the_pinned_size(host, monkeypatch):
    # The volume has room for more, but the configuration pins the device at its present size: nothing to grow,
    # and no warning about the peer.
    module = FakeModule(grown(host, 'Primary/Secondary', DEVICE))
    done = run(monkeypatch, module, data_bytes=DEVICE)
    assert done.result['commands'] == [] and module.warnings == []
    assert not any(' resize' in line for line in module.ran)


def test_grow_false_leaves_a_grown_volume_alone(host, monkeypatch):
    module = FakeModule(grown(host, 'Primary/Secondary', 208 * MIB))
    done = run(monkeypatch, module, grow=False)
    assert done.result['commands'] == [] and not any('blockdev' in line for line in module.ran)


# ---- main(): check mode predicts the real run -----------------------------------------------------------------------

def imported_disk(host):
    return new_resource(host, wipefs=(0, fixture('mdadm/wipefs-ext4.json'), ''))


def after_a_reboot(host):
    return new_resource(host, **{ADM + ' dump-md': (1, '', fixture('drbd/dump-md-unclean.txt'))})


def settings_changed(host):
    host.set(SYNCED)
    return answers(**{ADM + ' -d adjust': (0, fixture('drbd/adjust-dry-changed.txt'), ''),
                      ADM + ' adjust': host.becomes(SYNCED)})


def promoted(host):
    host.set(SYNCED)
    return answers(**{ADM + ' primary': host.becomes(SYNCED.replace('Secondary/', 'Primary/'))})


def promoted_then_grown(host):
    table = grown(host, 'Primary/Secondary', (208 * 2048 - 88) * 512,
                  **{ADM + ' primary': host.becomes(SYNCED.replace('Secondary/', 'Primary/'))})
    host.set(SYNCED)
    return table


def taken_down(host):
    host.set(SYNCED)
    return answers(**{ADM + ' down': host.becomes(DOWN)})


def unchanged(host):
    host.set(SYNCED)
    return answers()


SCENARIOS = {
    'new resource, initial sync': (new_resource, dict(initial_sync_source=True)),
    'new resource, skip the initial sync': (new_resource, dict(initial_sync_source=True, skip_initial_sync=True)),
    'new resource, not the source': (new_resource, {}),
    'new resource on an imported disk': (imported_disk, dict(initial_sync_source=True, data_bytes=DEVICE, keep_data=True)),
    'down after a reboot': (after_a_reboot, {}),
    'settings changed': (settings_changed, {}),
    'promote': (promoted, dict(role='primary')),
    # Check mode reads Secondary/Secondary after the promotion it lists: the resize must still be predicted.
    'promote and grow': (promoted_then_grown, dict(role='primary')),
    'take down': (taken_down, dict(state='down')),
    'nothing to do': (unchanged, {}),
}


@pytest.mark.parametrize('scenario', sorted(SCENARIOS))
def test_check_mode_lists_what_a_real_run_runs_and_changes_nothing(scenario, tmp_path, monkeypatch):
    table, params = SCENARIOS[scenario]
    (tmp_path / 'check').mkdir()
    (tmp_path / 'real').mkdir()
    check = FakeModule(table(Host(tmp_path / 'check', monkeypatch)), check_mode=True)
    predicted = run(monkeypatch, check, **params)
    real = FakeModule(table(Host(tmp_path / 'real', monkeypatch)))
    done = run(monkeypatch, real, **params)
    assert not predicted.failed and not done.failed
    assert predicted.result['commands'] == done.result['commands']
    assert predicted.result['changed'] == done.result['changed'] == bool(done.result['commands'])
    assert check.changing() == []
    # The real run ran exactly the commands it reports (drbdadm-84 for drbdadm).
    assert [line.replace(ADM, 'drbdadm') for line in real.changing()] == done.result['commands']


# ---- main(): states that protect data -------------------------------------------------------------------------------

@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('params', [{}, dict(role='primary', initial_sync_source=True)])
def test_a_standalone_resource_is_refused_and_left_alone(proc, monkeypatch, check_mode, params):
    proc('proc-standalone.txt')
    module = FakeModule(answers(**{ADM + ' -d adjust': (0, 'drbdsetup-84 connect rec ipv4:198.18.3.11:7797 '
                                                           'ipv4:198.18.3.12:7797 --protocol=C\n', '')}), check_mode)
    done = run(monkeypatch, module, **params)
    assert done.failed and done.result['commands'] == [] and module.changing() == []
    assert done.result['msg'].startswith('drbd_resource rec: resource rec is left as it is (connection StandAlone, '
                                         'role Secondary/Unknown, disk Inconsistent/DUnknown)')
    assert 'drbdadm connect --discard-my-data rec' in done.result['msg'] and 'repair=true' in done.result['msg']
    assert done.result['resource']['connection'] == 'StandAlone' and done.result['resource']['name'] == 'rec'


def test_a_diskless_resource_is_refused_and_left_alone(host, monkeypatch):
    host.set(DISKLESS)
    module = FakeModule(answers(**{ADM + ' -d adjust': (0, 'drbdsetup-84 attach 9 /dev/guests/rec /dev/guests/rec '
                                                           'internal\n', '')}))
    done = run(monkeypatch, module, grow=True)
    assert done.failed and done.result['commands'] == [] and module.changing() == []
    assert 'disk Diskless/UpToDate' in done.result['msg'] and '`drbdadm attach rec`' in done.result['msg']
    assert done.result['resource']['disk_state'] == 'Diskless'


def test_repair_reconnects_a_standalone_resource(proc, monkeypatch):
    proc('proc-standalone.txt')
    module = FakeModule(answers(**{ADM + ' -d adjust': (0, 'drbdsetup-84 connect rec ipv4:198.18.3.11:7797 '
                                                           'ipv4:198.18.3.12:7797 --protocol=C\n', '')}))
    done = run(monkeypatch, module, repair=True)
    assert not done.failed and done.result['commands'] == ['drbdadm adjust rec']


# ---- main(): data on the volume and its size ------------------------------------------------------------------------

def test_keep_data_creates_metadata_after_the_data_and_warns(host, monkeypatch):
    module = FakeModule(new_resource(host, wipefs=(0, fixture('mdadm/wipefs-ext4.json'), '')))
    done = run(monkeypatch, module, data_bytes=DEVICE, keep_data=True)
    assert not done.failed
    assert done.result['commands'] == ['drbdadm create-md --force rec', 'drbdadm up rec']
    assert len(module.warnings) == 1
    assert 'keep_data: the data on /dev/guests/rec (ext4 signature at offset 0x438) is kept' in module.warnings[0]
    assert "overwrites the peer's volume" in module.warnings[0]


@pytest.mark.parametrize('keep_data, wipefs', [(True, 'mdadm/wipefs-ext4.json'), (False, 'mdadm/wipefs-blank.json')])
def test_a_volume_without_room_for_data_and_metadata_is_refused(host, monkeypatch, keep_data, wipefs):
    # 200M volume, a 200M disk to keep: the metadata would overwrite the last 44 KiB of the data.
    module = FakeModule(new_resource(host, wipefs=(0, fixture(wipefs), '')))
    done = run(monkeypatch, module, data_bytes=VOLUME, keep_data=keep_data)
    assert done.failed and done.result['commands'] == [] and module.changing() == []
    assert ('/dev/guests/rec holds 209715200 bytes, too few for data_bytes 209715200 and the internal DRBD metadata '
            'after it: the volume needs at least 209760256 bytes (201 MiB)') in done.result['msg']
    assert 'hakvm.cluster.lvm_volume' in done.result['msg']


def test_data_without_keep_data_is_still_refused_and_the_message_names_keep_data(host, monkeypatch):
    module = FakeModule(new_resource(host, wipefs=(0, fixture('mdadm/wipefs-ext4.json'), '')))
    done = run(monkeypatch, module, data_bytes=DEVICE)
    assert done.failed and done.result['commands'] == [] and 'keep_data=true' in done.result['msg']


def test_keep_data_does_not_override_a_kernel_holder(host, monkeypatch):
    monkeypatch.setattr(blockdev, 'holders', lambda device: ['dm-3'])
    monkeypatch.setattr(drbd_resource, 'holders', lambda device: ['dm-3'])
    module = FakeModule(new_resource(host, wipefs=(0, fixture('mdadm/wipefs-ext4.json'), '')))
    done = run(monkeypatch, module, data_bytes=DEVICE, keep_data=True)
    assert done.failed and done.result['commands'] == [] and 'held by dm-3' in done.result['msg']


def test_a_pinned_size_below_the_running_device_is_refused(host, monkeypatch):
    host.set(SYNCED)
    module = FakeModule(answers(**{ADM + ' -d adjust': (0, 'drbdsetup-84 resize 9 --size=204800s\n', '')}))
    done = run(monkeypatch, module, data_bytes=100 * MIB)
    assert done.failed and done.result['commands'] == [] and module.changing() == []
    assert 'the device presents 209670144 bytes, more than data_bytes 104857600' in done.result['msg']


@pytest.mark.parametrize('params, message', [
    (dict(keep_data=True), 'keep_data is True but all of the following are missing: data_bytes'),
    (dict(keep_data=True, data_bytes=DEVICE, skip_initial_sync=True), 'skip_initial_sync would leave the peer'),
    (dict(keep_data=True, data_bytes=DEVICE, force=True), 'force destroys it'),
    (dict(data_bytes=DEVICE + 100), 'data_bytes must be a positive multiple of 512'),
])
def test_contradicting_options_are_refused_before_anything_runs(host, monkeypatch, params, message):
    module = FakeModule(new_resource(host))
    done = run(monkeypatch, module, **params)
    assert done.failed and message in done.result['msg'] and module.ran == []


# ---- main(): under Pacemaker ----------------------------------------------------------------------------------------

def managed():
    """The CIB's resources with web1-disk0 in the promotable clone ms_drbd_web1-disk0 (handmade)."""
    return {'cibadmin --query --scope resources': (0, fixture('drbd/cib-resources-promotable-handmade.xml'), '')}


def test_under_pacemaker_pending_settings_are_only_warned_about(host, monkeypatch):
    host.set(SYNCED)
    module = FakeModule(answers(**dict(managed(), **{ADM + ' -d adjust': (0, fixture('drbd/adjust-dry-changed.txt'), '')})))
    done = run(monkeypatch, module, name='web1-disk0', initial_sync_source=True)
    assert not done.failed and done.result['managed_by_pacemaker'] is True
    assert done.result['commands'] == [] and module.changing() == []
    assert module.warnings == [
        'resource web1-disk0: the configuration differs from the running settings (disk-options); Pacemaker '
        '(ms_drbd_web1-disk0) applies it when it next starts the resource, or run `drbdadm adjust web1-disk0`']


def test_under_pacemaker_a_stopped_resource_with_metadata_is_left_to_it(host, monkeypatch):
    # Down here (standby, Pacemaker stopped, the clone stopped) with its metadata: nothing to do.
    module = FakeModule(new_resource(host, **managed()))
    module.answers[ADM + ' dump-md'] = (0, '# DRBD meta data dump\nversion "v08";\n', '')
    done = run(monkeypatch, module, name='web1-disk0', initial_sync_source=True)
    assert not done.failed and done.result['commands'] == [] and module.changing() == []
    assert not any('wipefs' in line or 'crm_' in line for line in module.ran)


# crm_resource --locate of a promotable clone, Pacemaker 3.0: the peer runs it Promoted, this host not at all.
LOCATE_PEER_PROMOTED = 'resource ms_drbd_web1-disk0 is running on: hv-a Promoted\n'


def rebuilt_host(host, **extra):
    return new_resource(host, **dict(managed(), **dict({
        'crm_node -n': (0, 'hv-b\n', ''),
        'crm_resource --resource ms_drbd_web1-disk0 --locate': (0, LOCATE_PEER_PROMOTED, '')}, **extra)))


@pytest.mark.parametrize('check_mode', [False, True])
def test_under_pacemaker_a_rebuilt_host_gets_metadata_and_pacemaker_starts_it_again(host, monkeypatch, check_mode):
    # A host rebuilt while its peer ran on: a new blank volume, the resource down here, Pacemaker's start of
    # it failed, the peer runs it Promoted. Metadata, then the clone's failures on this node cleared; never
    # up, never a sync, no wait (the resync is Pacemaker's).
    module = FakeModule(rebuilt_host(host), check_mode=check_mode)
    done = run(monkeypatch, module, name='web1-disk0', initial_sync_source=True, wait_uptodate=30)
    assert not done.failed and done.result['changed'] and done.result['managed_by_pacemaker'] is True
    assert done.result['commands'] == ['drbdadm create-md --force web1-disk0',
                                       'crm_resource --cleanup --resource ms_drbd_web1-disk0 --node hv-b']
    assert module.changing() == ([] if check_mode else [
        ADM + ' create-md --force web1-disk0', 'crm_resource --cleanup --resource ms_drbd_web1-disk0 --node hv-b'])
    assert any(line.startswith('wipefs --no-act') for line in module.ran)
    assert ('would create' if check_mode else 'created DRBD metadata') in module.warnings[0]
    assert "takes the peer's data (Promoted on hv-a) in a full resync" in module.warnings[0]


@pytest.mark.parametrize('force', [False, True])
def test_under_pacemaker_a_volume_with_a_signature_gets_no_metadata_not_even_forced(host, monkeypatch, force):
    module = FakeModule(rebuilt_host(host, wipefs=(0, fixture('mdadm/wipefs-ext4.json'), '')))
    done = run(monkeypatch, module, name='web1-disk0', force=force)
    assert done.failed and 'has no DRBD metadata on this host, but /dev/guests/rec holds' in done.result['msg']
    assert 'wipefs --all /dev/guests/rec' in done.result['msg'] and module.changing() == []


@pytest.mark.parametrize('rc, locate', [(0, ''), (74, ''), (0, 'resource ms_drbd_web1-disk0 is running on: hv-a\n'),
                                        (0, 'resource ms_drbd_web1-disk0 is running on: hv-b Promoted\n')])
def test_under_pacemaker_no_metadata_without_a_promoted_peer(host, monkeypatch, rc, locate):
    # Nobody Promoted (Pacemaker 3.0 exits 74 when the clone runs nowhere), the peer only Secondary, or only
    # this node: no copy is known to be good to take.
    module = FakeModule(rebuilt_host(host, **{'crm_resource --resource ms_drbd_web1-disk0 --locate': (rc, locate, '')}))
    done = run(monkeypatch, module, name='web1-disk0')
    assert done.failed and 'no other node runs it Promoted' in done.result['msg'] and module.changing() == []


def test_a_failed_cleanup_after_the_metadata_names_the_command(host, monkeypatch):
    module = FakeModule(rebuilt_host(host, **{'crm_resource --cleanup': (1, '', 'Could not connect to the CIB')}))
    done = run(monkeypatch, module, name='web1-disk0')
    assert done.failed and 'run `crm resource cleanup ms_drbd_web1-disk0`' in done.result['msg']
    assert module.changing()[0] == ADM + ' create-md --force web1-disk0'


def test_under_pacemaker_stopped_here_the_missing_metadata_is_only_reported(host, monkeypatch):
    # cibadmin fails (Pacemaker is stopped here); its CIB on disk names the clone. Nothing is created then.
    host.cib.write_text('<cib><configuration>%s</configuration></cib>'
                        % fixture('drbd/cib-resources-promotable-handmade.xml'))
    module = FakeModule(new_resource(host))
    done = run(monkeypatch, module, name='web1-disk0')
    assert not done.failed and done.result['commands'] == [] and module.changing() == []
    assert 'does not run on this host: nothing was changed' in module.warnings[0]


SYNC_TARGET = 'cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate'


@pytest.mark.parametrize('state', [SYNCED, SYNC_TARGET, DOWN, WAITING.replace('Inconsistent/', 'UpToDate/'), SYNCING])
def test_under_pacemaker_nothing_is_waited_for(host, monkeypatch, state):
    # With wait_uptodate, a full resync Pacemaker runs (hours on a large volume) would fail the run at its timeout.
    host.set(state)
    table = answers(**managed())
    table[ADM + ' dump-md'] = (0, '# DRBD meta data dump\n', '')
    done = run(monkeypatch, FakeModule(table), name='web1-disk0', wait_uptodate=1)
    assert not done.failed, done.result['msg']


@pytest.mark.parametrize('state, params, message', [
    (SYNCED, dict(role='secondary'), 'managed by Pacemaker (ms_drbd_web1-disk0), which owns its role'),
    (SYNCED, dict(state='down'), 'managed by Pacemaker (ms_drbd_web1-disk0): stop it through Pacemaker'),
    (STANDALONE, dict(repair=True), 'Pacemaker (ms_drbd_web1-disk0) manages it, so the module does not repair it'),
])
def test_under_pacemaker_role_down_and_repair_are_refused(host, monkeypatch, state, params, message):
    host.set(state)
    module = FakeModule(answers(**managed()))
    done = run(monkeypatch, module, name='web1-disk0', **params)
    assert done.failed and message in done.result['msg']
    assert done.result['commands'] == [] and module.changing() == [] and done.result['managed_by_pacemaker'] is True


def test_under_pacemaker_the_device_still_grows_online(host, monkeypatch):
    module = FakeModule(grown(host, 'Primary/Secondary', (208 * 2048 - 88) * 512, **managed()))
    done = run(monkeypatch, module, name='web1-disk0')
    assert done.result['commands'] == ['drbdadm resize web1-disk0'] and done.result['managed_by_pacemaker'] is True


@pytest.mark.parametrize('missing', [('cibadmin',), ()])
def test_no_cibadmin_or_no_cluster_means_not_managed(host, monkeypatch, missing):
    # answers() has cibadmin fail as it does where no cluster runs.
    host.set(SYNCED)
    module = FakeModule(answers(**{ADM + ' -d adjust': (0, fixture('drbd/adjust-dry-changed.txt'), ''),
                                   ADM + ' adjust': host.becomes(SYNCED)}), missing=missing)
    done = run(monkeypatch, module, name='web1-disk0')
    assert done.result['managed_by_pacemaker'] is False and done.result['commands'] == ['drbdadm adjust web1-disk0']
    assert any('cibadmin' in line for line in module.ran) is not bool(missing)


def test_pacemaker_stopped_here_still_owns_the_resource_by_its_cib_on_disk(host, monkeypatch):
    # cibadmin fails (answers()) as on a host whose pacemaker is stopped; the CIB it keeps on disk names the clone.
    host.set(SYNCED)
    host.cib.write_text('<cib><configuration>%s</configuration></cib>'
                        % fixture('drbd/cib-resources-promotable-handmade.xml'))
    module = FakeModule(answers(**{ADM + ' -d adjust': (0, fixture('drbd/adjust-dry-changed.txt'), '')}))
    done = run(monkeypatch, module, name='web1-disk0')
    assert done.result['managed_by_pacemaker'] is True and done.result['commands'] == [] and module.changing() == []


def test_unreadable_cib_output_is_an_error_not_a_guess(host, monkeypatch):
    host.set(SYNCED)
    module = FakeModule(answers(**{'cibadmin --query': (0, '<resources><clone', '')}))
    done = run(monkeypatch, module, name='web1-disk0')
    assert done.failed and 'unreadable output' in done.result['msg'] and module.changing() == []

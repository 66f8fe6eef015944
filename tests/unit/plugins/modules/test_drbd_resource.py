"""drbd_resource's decisions, driven by the DRBD output recorded in the lab (module_utils/fixtures/drbd)
through a fake module: which commands it runs, which it only lists in check mode, and what it refuses."""
import os

import pytest

from ansible_collections.hakvm.cluster.plugins.module_utils.drbd import Refusal
from ansible_collections.hakvm.cluster.plugins.modules import drbd_resource

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures')
ADM = drbd_resource.DRBDADM_84


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


class FakeModule:
    """Answers the commands drbd_resource runs from a table; records what it ran and what it warned."""

    def __init__(self, answers, check_mode=False):
        self.answers, self.check_mode, self.ran, self.warnings = answers, check_mode, [], []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return name

    def run_command(self, argv, environ_update=None, data=None):
        self.ran.append(' '.join(argv))
        for prefix, answer in self.answers.items():
            if ' '.join(argv).startswith(prefix):
                return answer
        return 0, '', ''

    def warn(self, text):
        self.warnings.append(text)


def answers(**extra):
    table = {
        'modinfo -F version drbd': (0, '8.4.11\n', ''),
        ADM + ' sh-minor': (0, '9\n', ''),
        ADM + ' sh-ll-dev': (0, '/dev/guests/rec\n', ''),
        'wipefs': (0, '', ''),
    }
    table.update(extra)
    return table


@pytest.fixture
def proc(tmp_path, monkeypatch):
    """Point the module at a recorded /proc/drbd (and no sysfs sizes)."""
    def use(name):
        path = tmp_path / 'drbd'
        path.write_text(fixture('drbd/' + name) if name else 'version: 8.4.11 (api:1/proto:86-101)\n')
        monkeypatch.setattr(drbd_resource, 'PROC_DRBD', str(path))
        monkeypatch.setattr(drbd_resource, 'SYS_SIZE', str(tmp_path / 'size%d'))
    return use


def resource(module):
    return drbd_resource.Resource(module, drbd_resource.Runner(module), 'rec')


def test_metadata_over_a_filesystem_is_refused_and_nothing_runs(proc):
    proc(None)
    module = FakeModule(answers(**{ADM + ' dump-md': (1, '', fixture('drbd/dump-md-none.txt')),
                                   'wipefs': (0, fixture('mdadm/wipefs-ext4.json'), '')}))
    res = resource(module)
    with pytest.raises(Refusal, match='refusing to create DRBD metadata on /dev/guests/rec: it holds ext4 signature'):
        res.up(force=False)
    assert res.commands == [] and not any('create-md' in argv for argv in module.ran)


def test_check_mode_lists_create_md_and_up_and_runs_only_readers(proc):
    proc(None)
    module = FakeModule(answers(**{ADM + ' dump-md': (1, '', fixture('drbd/dump-md-none.txt'))}), check_mode=True)
    res = resource(module)
    res.up(force=False)
    assert res.commands == ['drbdadm create-md --force rec', 'drbdadm up rec']
    assert not any(verb in argv for argv in module.ran for verb in (' create-md', ' up '))


def test_unclean_metadata_after_a_reboot_is_only_brought_up(proc):
    proc(None)
    module = FakeModule(answers(**{ADM + ' dump-md': (1, '', fixture('drbd/dump-md-unclean.txt'))}))
    res = resource(module)
    res.up(force=False)
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


def test_initial_sync_once_both_sides_are_new_and_connected(proc, tmp_path):
    proc('proc-waiting.txt')
    path = tmp_path / 'drbd'
    path.write_text(path.read_text().replace('cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown',
                                             'cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent'))
    module = FakeModule(answers(**{ADM + ' get-gi': (0, fixture('drbd/get-gi-new.txt'), '')}))
    res = resource(module)
    res.initial_sync(skip=False, timeout=0)
    assert res.commands == ['drbdadm primary --force rec']
    # A volume that was synced before is never forced again, even if both sides look Inconsistent.
    module.answers[ADM + ' get-gi'] = (0, fixture('drbd/get-gi-synced.txt'), '')
    res.commands.clear()
    res.initial_sync(skip=True, timeout=0)
    assert res.commands == []

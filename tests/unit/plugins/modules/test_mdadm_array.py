"""mdadm_array's main(), on the mdadm output and md sysfs recorded in the lab (module_utils/fixtures/mdadm),
through a fake module on a fake /dev and sysfs: what it runs, what it only reports, what it refuses, and
what it warns about. Paths that the molecule scenario does not reach: a dead disk (its by-id link gone), a
faulty member with and without repair, md refusing a re-add, members named by the kernel."""
import os

import pytest

from ansible_collections.hakvm.cluster.plugins.module_utils import blockdev
from ansible_collections.hakvm.cluster.plugins.modules import mdadm_array

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures', 'mdadm')
UUID = 'b533f583:39510063:82423839:dc0ef6fd'


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


class Exited(Exception):
    pass


class Failed(Exception):
    pass


class FakeModule:
    """AnsibleModule as main() uses it: params with the argument spec's defaults, commands answered from a
    table of prefixes, the longest that matches (a tuple, or a function of argv for a command that changes
    the fake host)."""

    def __init__(self, argument_spec, params, answers, check_mode):
        unknown = set(params) - set(argument_spec)
        assert not unknown, 'not in the argument spec: %s' % unknown
        self.params = dict((key, spec.get('default')) for key, spec in argument_spec.items())
        self.params.update(params)
        self.answers, self.check_mode, self._diff = answers, check_mode, False
        self.ran, self.warnings = [], []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return name

    def run_command(self, argv, environ_update=None, data=None):
        line = ' '.join(argv)
        self.ran.append(line)
        prefixes = [prefix for prefix in self.answers if line.startswith(prefix)]
        if not prefixes:
            return 0, '', ''
        answer = self.answers[max(prefixes, key=len)]
        return answer(argv) if callable(answer) else answer

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise Exited(result)

    def fail_json(self, **result):
        raise Failed(result)


class Host:
    """A fake /dev (disk nodes as files, by-id links) and /sys/class/block for one array, md127."""

    def __init__(self, root, monkeypatch):
        self.dev, self.sys = root / 'dev', root / 'sys'
        (self.dev / 'md').mkdir(parents=True)
        (self.dev / 'disk' / 'by-id').mkdir(parents=True)
        self.sys.mkdir()
        self.device = str(self.dev / 'md' / 'rec')
        self.answers = {'mdadm --detail --export': (1, '', 'mdadm: cannot open %s\n' % self.device),
                        'mdadm --examine --export': (1, '', fixture('examine-blank.txt')),
                        'wipefs': (0, fixture('wipefs-blank.json'), '')}
        monkeypatch.setattr(mdadm_array, 'DEV', str(self.dev))
        monkeypatch.setattr(mdadm_array, 'SYS', str(self.sys))
        monkeypatch.setattr(blockdev, 'holders', lambda device: [])

    def disk(self, name, superblock=False):
        """A disk that is there, named by its by-id link; superblock: it carries the array's."""
        (self.dev / name).write_text('')
        link = self.dev / 'disk' / 'by-id' / ('virtio-' + name)
        link.symlink_to(os.path.join('..', '..', name))
        if superblock:
            self.answers['mdadm --examine --export %s' % self.kernel(name)] = (0, fixture('examine-member.txt'), '')
        return str(link)

    def dead(self, name):
        """The by-id link of a disk that died: udev removed it with the disk."""
        return str(self.dev / 'disk' / 'by-id' / ('virtio-' + name))

    def kernel(self, name):
        return str(self.dev / name)

    def array(self, sysfs, detail):
        """Make md127 active as the recorded sysfs-SYSFS.txt and detail-DETAIL.txt show it."""
        if not os.path.exists(self.device):
            (self.dev / 'md127').write_text('')
            os.symlink('../md127', self.device)
        md = self.sys / 'md127'
        if md.exists():
            for path in sorted(md.rglob('*'), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
        for line in fixture('sysfs-%s.txt' % sysfs).splitlines():
            rel, _sep, value = line.partition('=')
            (md / rel).parent.mkdir(parents=True, exist_ok=True)
            (md / rel).write_text(value + '\n')
        self.answers['mdadm --detail --export'] = (0, fixture('detail-%s.txt' % detail), '')

    def becomes(self, sysfs, detail, answer=(0, '', '')):
        """An answer for a command that leaves the array as recorded in sysfs-SYSFS.txt."""
        def run(argv):
            self.array(sysfs, detail)
            return answer
        return run

    def run(self, monkeypatch, check_mode=False, **params):
        """main() with params (device defaults to the fake md device): ('exit' or 'fail', result, module)."""
        made = []

        def factory(argument_spec, supports_check_mode):
            made.append(FakeModule(argument_spec, dict(dict(name='rec', device=self.device), **params),
                                   self.answers, check_mode))
            return made[0]
        monkeypatch.setattr(mdadm_array, 'AnsibleModule', factory)
        try:
            mdadm_array.main()
        except Exited as done:
            return 'exit', done.args[0], made[0]
        except Failed as failed:
            return 'fail', failed.args[0], made[0]
        raise AssertionError('main() neither exited nor failed')


@pytest.fixture
def host(tmp_path, monkeypatch):
    return Host(tmp_path.resolve(), monkeypatch)


def changing(module):
    """The commands that ran and change the array (not the readers)."""
    return [line for line in module.ran if line.startswith(('mdadm --manage', 'mdadm --assemble', 'mdadm --create'))]


def test_dead_disk_of_an_active_array_is_reported_and_nothing_runs(host, monkeypatch):
    host.array('degraded', 'degraded')
    vdb, vdc = host.disk('vdb'), host.dead('vdc')
    how, result, module = host.run(monkeypatch, members=[vdb, vdc])
    assert how == 'exit', result.get('msg')
    assert result['missing'] == [vdc] and not result['changed']
    assert result['commands'] == [] and result['repair_commands'] == [] and changing(module) == []
    assert result['array']['state'] == 'degraded'
    # Nothing reads the vanished path (wipefs on it would fail the module).
    assert not any(vdc in line for line in module.ran)
    assert len(module.warnings) == 1 and vdc in module.warnings[0] and 'runs without it' in module.warnings[0]


@pytest.mark.parametrize('check_mode', [False, True])
def test_stopped_array_with_a_dead_disk_is_assembled_from_the_rest(host, monkeypatch, check_mode):
    vdb, vdc = host.disk('vdb', superblock=True), host.dead('vdc')
    host.answers['mdadm --assemble'] = host.becomes('degraded', 'degraded')
    how, result, module = host.run(monkeypatch, check_mode=check_mode, members=[vdb, vdc])
    assert how == 'exit', result.get('msg')
    assemble = 'mdadm --assemble %s --run --uuid %s %s' % (host.device, UUID, host.kernel('vdb'))
    assert result['commands'] == [assemble] and result['changed'] and result['missing'] == [vdc]
    assert changing(module) == ([] if check_mode else [assemble])
    assert result['array'] == {} if check_mode else result['array']['state'] == 'degraded'
    assert any(vdc in text and 'assembled (--run)' in text for text in module.warnings)


def test_replacement_disk_is_left_out_of_an_assembly_and_named(host, monkeypatch):
    # Assembling a stopped array is not a repair: the blank disk waits for repair=true.
    vdb, vdd = host.disk('vdb', superblock=True), host.disk('vdd')
    host.answers['mdadm --assemble'] = host.becomes('degraded', 'degraded')
    how, result, module = host.run(monkeypatch, members=[vdb, vdd])
    assert how == 'exit', result.get('msg')
    assert changing(module) == ['mdadm --assemble %s --run --uuid %s %s' % (host.device, UUID, host.kernel('vdb'))]
    assert module.warnings == ['%s: %s carries no superblock of the array, so it is left out of the assembly; '
                               'once the array is active, repair=true adds it' % (host.device, vdd)]


def test_creating_with_a_dead_disk_fails_naming_it(host, monkeypatch):
    vdb, vdc = host.disk('vdb'), host.dead('vdc')
    how, result, module = host.run(monkeypatch, members=[vdb, vdc])
    assert how == 'fail'
    assert 'cannot create %s: %s does not exist' % (host.device, vdc) in result['msg']
    assert result['missing'] == [vdc] and changing(module) == []


def test_faulty_member_is_reported_not_repaired_without_repair(host, monkeypatch):
    host.array('faulty', 'degraded')
    vdb, vdc = host.disk('vdb'), host.disk('vdc', superblock=True)
    how, result, module = host.run(monkeypatch, members=[vdb, vdc])
    assert how == 'exit', result.get('msg')
    assert changing(module) == [] and result['commands'] == [] and not result['changed']
    assert result['faulty'] == [vdc] and result['missing'] == []
    assert result['repair_commands'] == ['mdadm --manage %s --remove %s' % (host.device, host.kernel('vdc')),
                                         'mdadm --manage %s --re-add %s' % (host.device, host.kernel('vdc'))]
    assert len(module.warnings) == 1
    assert 'md marked %s faulty' % vdc in module.warnings[0] and 'repair=true' in module.warnings[0]


@pytest.mark.parametrize('check_mode', [False, True])
def test_faulty_member_is_removed_and_re_added_with_repair(host, monkeypatch, check_mode):
    host.array('faulty', 'degraded')
    vdb, vdc = host.disk('vdb'), host.disk('vdc', superblock=True)
    host.answers['mdadm --manage %s --re-add' % host.device] = host.becomes('clean', 'clean')
    how, result, module = host.run(monkeypatch, check_mode=check_mode, members=[vdb, vdc], repair=True)
    assert how == 'exit', result.get('msg')
    expected = ['mdadm --manage %s --remove %s' % (host.device, host.kernel('vdc')),
                'mdadm --manage %s --re-add %s' % (host.device, host.kernel('vdc'))]
    assert result['commands'] == expected and result['repair_commands'] == expected and result['changed']
    assert result['faulty'] == [vdc] and module.warnings == []
    assert changing(module) == ([] if check_mode else expected)
    assert result['array']['state'] == ('degraded' if check_mode else 'clean')


def test_member_that_came_back_is_re_added_only_with_repair(host, monkeypatch):
    host.array('degraded', 'degraded')
    vdb, vdc = host.disk('vdb'), host.disk('vdc', superblock=True)
    re_add = 'mdadm --manage %s --re-add %s' % (host.device, host.kernel('vdc'))
    how, result, module = host.run(monkeypatch, members=[vdb, vdc])
    assert (how, changing(module), result['commands'], result['repair_commands']) == ('exit', [], [], [re_add])
    assert any(re_add in text for text in module.warnings)
    how, result, module = host.run(monkeypatch, members=[vdb, vdc], repair=True)
    assert (how, result['commands'], changing(module)) == ('exit', [re_add], [re_add])


def test_re_add_refused_by_md_falls_back_to_a_full_add(host, monkeypatch):
    host.array('degraded', 'degraded')
    vdb, vdc = host.disk('vdb'), host.disk('vdc', superblock=True)
    re_add = 'mdadm --manage %s --re-add %s' % (host.device, host.kernel('vdc'))
    add = 'mdadm --manage %s --add %s' % (host.device, host.kernel('vdc'))
    # md refuses a re-add when the member is too far behind for the bitmap.
    host.answers[re_add] = (1, '', 'mdadm: --re-add for %s to %s is not possible\n' % (host.kernel('vdc'), host.device))
    host.answers[add] = host.becomes('resyncing', 'clean')
    how, result, module = host.run(monkeypatch, members=[vdb, vdc], repair=True)
    assert how == 'exit', result.get('msg')
    assert result['commands'] == [re_add, add] and changing(module) == [re_add, add]
    assert result['repair_commands'] == [re_add] and result['array']['state'] == 'resyncing'


def test_kernel_names_are_warned_about_once(host, monkeypatch):
    host.array('clean', 'clean')
    host.disk('vdb'), host.disk('vdc')
    how, result, module = host.run(monkeypatch, members=[host.kernel('vdb'), host.kernel('vdc')])
    assert (how, result['changed'], result['commands']) == ('exit', False, [])
    assert len(module.warnings) == 1
    assert '%s, %s are named by the kernel' % (host.kernel('vdb'), host.kernel('vdc')) in module.warnings[0]
    assert '/dev/disk/by-id/' in module.warnings[0]
    # The same disks by their by-id links: no warning.
    how, result, module = host.run(monkeypatch, members=[host.dead('vdb'), host.dead('vdc')])
    assert (how, result['missing'], module.warnings) == ('exit', [], [])

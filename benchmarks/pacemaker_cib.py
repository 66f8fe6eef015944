#!/usr/bin/env python3
"""pacemaker_cib against per-object `crm configure`, on a CIB file, in one run.

100 guest stacks (DRBD primitive, promotable clone, VirtualDomain primitive, colocation, order: 500
objects). Times the module process itself as it runs on a cluster node (the JSON arguments Ansible would
send), so Ansible's connection overhead is left out.

Then compares like with like as a user sees it: whole `ansible-playbook` runs (localhost, connection
local, hakvm.cluster resolved through collections/) of one pacemaker_cib task against one task running
`crm configure load update` with the same objects, fresh and unchanged, beside a run of one trivial task
(Ansible's fixed cost). --skip-playbooks leaves these out.

Prints a table and, with --json, the figures. Needs pacemaker-cli-utils, crmsh, resource-agents and
drbd-utils (./dev setup installs them). Targets (issue 3): fresh <= 3 s, unchanged <= 1 s, >= 50x the
per-object baseline.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join(ROOT, 'plugins', 'modules', 'pacemaker_cib.py')
COLLECTIONS = os.path.join(ROOT, 'collections')


def stacks(count, vm_param='/etc/hakvm/guests/%s.xml'):
    """The declaration for COUNT guests, and the same objects as crm configure lines."""
    decl = dict(primitives=[], clones=[], colocations=[], orders=[])
    lines = []
    for n in range(1, count + 1):
        g = 'vm%03d' % n
        decl['primitives'].append(dict(
            id='p_drbd_' + g, agent='ocf:linbit:drbd', params=dict(drbd_resource=g),
            operations=[dict(name='monitor', interval='29s', role='Promoted', timeout='20s'),
                        dict(name='monitor', interval='31s', role='Unpromoted', timeout='20s')]))
        decl['clones'].append(dict(id='ms_drbd_' + g, resource='p_drbd_' + g, promotable=True,
                                   meta={'promoted-max': 1, 'clone-max': 2, 'notify': True, 'interleave': True}))
        decl['primitives'].append(dict(
            id='vm_' + g, agent='ocf:heartbeat:VirtualDomain',
            params=dict(config=vm_param % g, hypervisor='qemu:///system', migration_transport='ssh'),
            meta={'allow-migrate': True},
            operations=[dict(name='monitor', interval='30s', timeout='30s'),
                        dict(name='start', timeout='120s'), dict(name='stop', timeout='180s'),
                        dict(name='migrate_to', timeout='300s'), dict(name='migrate_from', timeout='60s')]))
        decl['colocations'].append(dict(id='col_%s_on_drbd' % g, resource='vm_' + g, **{'with': 'ms_drbd_' + g},
                                        with_role='Promoted'))
        decl['orders'].append(dict(id='ord_drbd_before_' + g, first='ms_drbd_' + g, first_action='promote',
                                   then='vm_' + g))
        lines += [
            'primitive p_drbd_%s ocf:linbit:drbd params drbd_resource=%s op monitor interval=29s role=Promoted '
            'timeout=20s op monitor interval=31s role=Unpromoted timeout=20s' % (g, g),
            'clone ms_drbd_%s p_drbd_%s meta promotable=true promoted-max=1 clone-max=2 notify=true '
            'interleave=true' % (g, g),
            'primitive vm_%s ocf:heartbeat:VirtualDomain params config=%s hypervisor=qemu:///system '
            'migration_transport=ssh meta allow-migrate=true op monitor interval=30s timeout=30s op start '
            'timeout=120s op stop timeout=180s op migrate_to timeout=300s op migrate_from timeout=60s'
            % (g, vm_param % g),
            'colocation col_%s_on_drbd inf: vm_%s ms_drbd_%s:Promoted' % (g, g, g),
            'order ord_drbd_before_%s Mandatory: ms_drbd_%s:promote vm_%s:start' % (g, g, g)]
    return decl, lines


def empty_cib(path):
    with open(path, 'w') as handle:
        subprocess.run(['cibadmin', '--empty'], stdout=handle, check=True)
    return path


def epoch(cib):
    out = subprocess.run(['cibadmin', '--query'], env=dict(os.environ, CIB_file=cib), check=True,
                         capture_output=True, text=True).stdout
    return int(out.split('epoch="', 1)[1].split('"', 1)[0])


def object_ids(cib):
    """Ids of the resources and constraints in a CIB file."""
    out = subprocess.run(['cibadmin', '--query', '--scope', 'configuration'], env=dict(os.environ, CIB_file=cib),
                         check=True, capture_output=True, text=True).stdout
    root = ET.fromstring(out)
    return sorted(e.get('id') for section in ('resources', 'constraints') for e in root.find(section)
                  if e.get('id'))


def run_module(cib, decl, check=False, module=MODULE, profile=None):
    """Seconds and result of one module process; with profile=N, cProfile's N costliest functions too."""
    args = dict(decl, cib_file=cib, _ansible_check_mode=check, _ansible_diff=True)
    with tempfile.NamedTemporaryFile('w', suffix='.json') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
        handle.flush()
        env = dict(os.environ, PYTHONPATH=COLLECTIONS)
        python = [sys.executable] + (['-m', 'cProfile', '-s', 'tottime'] if profile else [])
        start = time.monotonic()
        proc = subprocess.run(python + [module, handle.name], env=env, capture_output=True, text=True)
        took = time.monotonic() - start
    if profile:
        result, stats = proc.stdout.split('\n', 2)[1], proc.stdout.split('\n', 2)[2]
        return took, json.loads(result), '\n'.join(stats.splitlines()[:profile + 9])
    return took, json.loads(proc.stdout)


def run_crm(cib, lines, per_object):
    env = dict(os.environ, CIB_file=cib, PAGER='cat')
    start = time.monotonic()
    if per_object:
        for line in lines:
            subprocess.run(['crm', '-F', 'configure'] + line.split(), env=env, check=True, capture_output=True)
    else:
        with tempfile.NamedTemporaryFile('w', suffix='.crm') as handle:
            handle.write('\n'.join(lines) + '\n')
            handle.flush()
            subprocess.run(['crm', '-F', 'configure', 'load', 'update', handle.name], env=env, check=True,
                           capture_output=True)
    return time.monotonic() - start


def run_playbook(tasks):
    """Seconds for one whole ansible-playbook run of TASKS against localhost (connection local).

    The playbook is written into the repository so that its ansible.cfg resolves hakvm.cluster to this
    tree through collections/, as for any playbook of the project.
    """
    with tempfile.NamedTemporaryFile('w', suffix='.yml', dir=ROOT) as handle:
        json.dump([{'hosts': 'localhost', 'gather_facts': False, 'connection': 'local', 'tasks': tasks}], handle)
        handle.flush()
        start = time.monotonic()
        subprocess.run(['ansible-playbook', '-i', 'localhost,', '-e', 'ansible_python_interpreter=' + sys.executable,
                        handle.name], cwd=ROOT, check=True, capture_output=True)
        return time.monotonic() - start


def playbooks(work, decl, lines):
    """Whole playbook runs: one pacemaker_cib task against one `crm configure load update` task."""
    crm_file = os.path.join(work, 'stacks.crm')
    with open(crm_file, 'w') as handle:
        handle.write('\n'.join(lines) + '\n')
    module_cib = empty_cib(os.path.join(work, 'playbook-module.xml'))
    crm_cib = empty_cib(os.path.join(work, 'playbook-crm.xml'))
    module_task = {'hakvm.cluster.pacemaker_cib': dict(decl, cib_file=module_cib)}
    crm_task = {'ansible.builtin.command': {'argv': [shutil.which('crm'), '-F', 'configure', 'load', 'update',
                                                     crm_file]},
                'environment': {'CIB_file': crm_cib, 'PAGER': 'cat'}}
    fig = {'playbook_fixed_s': run_playbook([{'ansible.builtin.command': {'argv': ['true']}}])}
    for state in ('fresh', 'unchanged'):
        fig['playbook_module_%s_s' % state] = run_playbook([module_task])
        fig['playbook_crm_%s_s' % state] = run_playbook([crm_task])
    assert object_ids(module_cib) == object_ids(crm_cib), 'the two playbooks configured different objects'
    return fig


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--stacks', type=int, default=100, help='guest stacks (5 objects each)')
    parser.add_argument('--baseline-stacks', type=int, default=None,
                        help='stacks for the per-object crm baseline (default: all; ~1 s per object)')
    parser.add_argument('--json', action='store_true', help='print the figures as JSON too')
    parser.add_argument('--skip-playbooks', action='store_true', help='leave out the whole ansible-playbook runs')
    parser.add_argument('--profile', type=int, metavar='N', default=0,
                        help="print cProfile's N costliest functions of an unchanged run")
    opts = parser.parse_args()
    base_stacks = opts.stacks if opts.baseline_stacks is None else opts.baseline_stacks
    work = tempfile.mkdtemp(prefix='hakvm-bench-')
    decl, lines = stacks(opts.stacks)
    objects = 5 * opts.stacks
    fig = {'objects': objects}

    cib = empty_cib(os.path.join(work, 'module.xml'))
    fig['fresh_s'], fresh = run_module(cib, decl)
    assert len(fresh['added']) == objects, fresh.get('msg', fresh['added'])
    before = epoch(cib)
    fig['unchanged_s'], same = run_module(cib, decl)
    assert not same['changed'] and epoch(cib) == before, 'unchanged re-apply changed the CIB'
    fig['unchanged_check_s'] = run_module(cib, decl, check=True)[0]
    if opts.profile:
        print(run_module(cib, decl, profile=opts.profile)[2])
    decl['primitives'][1]['params']['config'] = '/srv/guests/vm001.xml'
    fig['one_param_s'], one = run_module(cib, decl)
    assert one['modified'] == ['vm_vm001'] and not one['added'] and not one['removed'], one
    if not opts.skip_playbooks:
        fig.update(playbooks(work, *stacks(opts.stacks)))

    fig['crm_load_update_s'] = run_crm(empty_cib(os.path.join(work, 'load.xml')), lines, per_object=False)
    fig['crm_load_update_unchanged_s'] = run_crm(os.path.join(work, 'load.xml'), lines, per_object=False)
    base_lines = lines[:5 * base_stacks]
    fig['baseline_objects'] = len(base_lines)
    fig['baseline_s'] = run_crm(empty_cib(os.path.join(work, 'baseline.xml')), base_lines, per_object=True)
    per_object = fig['baseline_s'] / len(base_lines)
    fig['baseline_per_object_s'] = per_object
    fig['speedup_fresh'] = per_object * objects / fig['fresh_s']
    subprocess.run(['rm', '-rf', work], check=True)

    estimated = '' if base_stacks == opts.stacks else ' (estimated from %d objects)' % len(base_lines)
    rows = [
        ('pacemaker_cib, fresh, %d objects' % objects, fig['fresh_s'], '<= 3 s'),
        ('pacemaker_cib, unchanged re-apply', fig['unchanged_s'], '<= 1 s'),
        ('pacemaker_cib, unchanged, check mode', fig['unchanged_check_s'], ''),
        ('pacemaker_cib, one parameter changed', fig['one_param_s'], ''),
        ('crm configure load update, fresh (one call)', fig['crm_load_update_s'], ''),
        ('crm configure load update, unchanged', fig['crm_load_update_unchanged_s'], ''),
        ('per-object crm configure, %d calls' % len(base_lines), fig['baseline_s'], ''),
        ('per-object crm configure, %d objects%s' % (objects, estimated), per_object * objects, ''),
    ]
    if not opts.skip_playbooks:
        rows += [
            ('ansible-playbook, one trivial task (fixed cost)', fig['playbook_fixed_s'], ''),
            ('ansible-playbook, pacemaker_cib task, fresh', fig['playbook_module_fresh_s'], ''),
            ('ansible-playbook, crm configure load update task, fresh', fig['playbook_crm_fresh_s'], ''),
            ('ansible-playbook, pacemaker_cib task, unchanged', fig['playbook_module_unchanged_s'], ''),
            ('ansible-playbook, crm configure load update task, unchanged', fig['playbook_crm_unchanged_s'], ''),
        ]
    width = max(len(name) for name, _seconds, _target in rows)
    print('%-*s %9s  %s' % (width, 'step', 'seconds', 'target'))
    for name, seconds, target in rows:
        print('%-*s %9.2f  %s' % (width, name, seconds, target))
    print('speed-up of a fresh apply over per-object crm configure: %.0fx (target >= 50x)' % fig['speedup_fresh'])
    if not opts.skip_playbooks:
        print('whole playbooks, pacemaker_cib against crm configure load update: fresh %.2f s against %.2f s, '
              'unchanged %.2f s against %.2f s (of which %.2f s is Ansible\'s fixed cost)'
              % (fig['playbook_module_fresh_s'], fig['playbook_crm_fresh_s'], fig['playbook_module_unchanged_s'],
                 fig['playbook_crm_unchanged_s'], fig['playbook_fixed_s']))
    ok = fig['fresh_s'] <= 3 and fig['unchanged_s'] <= 1 and fig['speedup_fresh'] >= 50
    print('targets met' if ok else 'TARGETS MISSED')
    if opts.json:
        print(json.dumps(fig, indent=2, sort_keys=True))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())

"""pacemaker_node's decisions: the node's state in both lifetimes, the writes that reach the wanted state, who can
take over a node's resources, and whether they moved or stopped.

The crm_mon samples (module_utils/fixtures/pacemaker-node-mon-*.xml) and the CIB are real pacemaker 2.1.5 output:
a two-node cluster shaped like ours taken through transitions with crm_simulate; pacemaker-node-fixtures.sh
there records them again. In the running cluster hv1 runs vm_vm001 (its DRBD promoted there), vm_vm003 (which
cannot run on hv2), the group g_backup, fence_hv2 and clone instances; vm_vm004 is switched off.
"""
import os
import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.hakvm.cluster.plugins.module_utils.pacemaker import PacemakerCli
from ansible_collections.hakvm.cluster.plugins.modules import pacemaker_node as pn

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures')


def fixture(name):
    with open(os.path.join(FIXTURES, 'pacemaker-node-%s.xml' % name)) as handle:
        return handle.read()


def mon(name):
    return fixture('mon-' + name)


# ---- both lifetimes -----------------------------------------------------------------------------

F, R = 'forever', 'reboot'


@pytest.mark.parametrize('values, described', [
    ({}, 'online'),
    ({('standby', F): 'on'}, 'standby'),
    ({('standby', R): 'on'}, 'standby (until reboot)'),
    ({('standby', F): 'on', ('standby', R): 'off'}, 'online (until reboot, then standby)'),
    ({('standby', F): 'off', ('maintenance', R): 'true'}, 'maintenance (until reboot)'),
    ({('standby', F): 'on', ('maintenance', R): 'on'}, 'standby+maintenance (until reboot, then standby)'),
    ({('standby', F): 'on', ('standby', R): 'on', ('maintenance', F): 'yes'}, 'standby+maintenance'),
])
def test_the_state_is_described_from_both_lifetimes(values, described):
    assert pn.describe(pn.effective(values)) == described


@pytest.mark.parametrize('values, state, lifetime, steps', [
    # online deletes what is on, in either lifetime; an "off" is already clear unless it hides an "on"
    ({('standby', R): 'on', ('maintenance', F): 'on'}, 'online', F,
     [('standby', R, None), ('maintenance', F, None)]),
    ({('standby', F): 'on', ('standby', R): 'off'}, 'online', R, [('standby', F, None)]),
    ({('standby', F): 'off', ('maintenance', R): 'off'}, 'online', F, []),
    # a transient "off" would hide the permanent standby: it goes
    ({('standby', F): 'on', ('standby', R): 'off'}, 'standby', F, [('standby', R, None)]),
    # standby until reboot: the permanent one would take over after the restart, so it goes, after the setting
    ({('standby', F): 'on'}, 'standby', R, [('standby', R, 'on'), ('standby', F, None)]),
    ({('standby', R): 'on'}, 'standby', F, [('standby', F, 'on')]),
    # standby -> maintenance: set maintenance before standby is cleared, so the node is never online between
    ({('standby', F): 'on', ('maintenance', R): 'on'}, 'maintenance', F,
     [('maintenance', F, 'on'), ('standby', F, None)]),
    ({('standby', R): 'on', ('standby', F): 'on'}, 'standby', F, []),
    ({('maintenance', R): 'TRUE'}, 'maintenance', R, []),
])
def test_writes_reach_the_wanted_state_and_nothing_more(values, state, lifetime, steps):
    wanted = pn.target(state, lifetime)
    assert pn.writes(values, wanted) == steps
    after = dict(values)
    for name, life, value in steps:
        if value is None:
            del after[(name, life)]
        else:
            after[(name, life)] = value
    assert pn.effective(after) == wanted


def test_node_values_come_from_the_nodes_section_and_the_status_section():
    cib = fixture('cib-running')
    assert pn.node_values(cib, 'hv1') == {}
    cib = cib.replace('<node id="1" uname="hv1"/>', '<node id="1" uname="hv1"><instance_attributes id="nodes-1">'
                      '<nvpair id="nodes-1-standby" name="standby" value="on"/></instance_attributes></node>')
    cib = cib.replace('<nvpair id="status-2-master-p_drbd_vm001"',
                      '<nvpair id="status-2-maintenance" name="maintenance" value="on"/>'
                      '<nvpair id="status-2-master-p_drbd_vm001"')
    assert pn.node_values(cib, 'hv1') == {('standby', F): 'on'}
    assert pn.node_values(cib, 'hv2') == {('maintenance', R): 'on'}
    with pytest.raises(pn.Failure, match=r'Unknown node hv9 \(the CIB has: hv1, hv2\)'):
        pn.node_values(cib, 'hv9')


# ---- who can take over ---------------------------------------------------------------------------

@pytest.mark.parametrize('sample, able, unable', [
    ('running', ['hv2'], {}),
    ('hv2-standby', [], {'hv2': ['in standby']}),
    ('hv2-maintenance', [], {'hv2': ['in maintenance']}),
    ('hv2-unclean', [], {'hv2': ['offline', 'unclean']}),
])
def test_who_can_take_over_hv1(sample, able, unable):
    assert pn.takeover(mon(sample), 'hv1') == (True, able, unable)


def test_standby_is_refused_with_the_reason_for_each_other_node():
    assert pn.standby_refusal(mon('running'), 'hv1') is None
    assert pn.standby_refusal(mon('hv2-unclean'), 'hv1') == (
        'Refuse to put hv1 in standby without force=true: no other node can take over its resources '
        '(hv2 is offline and unclean); force=true stops every resource hv1 runs')
    assert '(hv2 is in maintenance)' in pn.standby_refusal(mon('hv2-maintenance'), 'hv1')


def test_a_lone_node_is_refused_and_an_offline_node_is_not():
    root = ET.fromstring(mon('running'))
    nodes = root.find('nodes')
    nodes.remove(nodes.find("node[@name='hv2']"))
    assert '(hv1 is the only node)' in pn.standby_refusal(ET.tostring(root, encoding='unicode'), 'hv1')
    # hv2 is unclean and offline: it runs nothing that standby could stop, whatever hv1 does
    assert pn.standby_refusal(mon('hv2-unclean'), 'hv2') is None


# ---- moved or stopped -----------------------------------------------------------------------------

def test_placements_key_primitives_by_id_and_clone_instances_by_clone():
    found = pn.placements(mon('running'))
    assert found['vm_vm001'] == ({'hv1'}, False, False)
    assert found['backup_ip'] == ({'hv1'}, False, False)  # a group member counts by itself
    assert found['ms_drbd_vm001'] == ({'hv1', 'hv2'}, True, False)
    assert found['cl_ping'] == ({'hv1', 'hv2'}, True, False)
    assert found['vm_vm004'] == (set(), False, True)  # target-role Stopped
    assert found['fence_hv2'] == ({'hv1'}, False, True)  # the fencer uses it whether it runs or not
    assert 'p_ping' not in found and 'p_drbd_vm001' not in found and 'g_backup' not in found


def test_standby_moves_guests_and_the_group_and_stops_the_guest_bound_to_hv1():
    moved, stopped, remaining = pn.outcome(mon('running'), mon('hv1-standby'), 'hv1')
    assert moved == {'vm_vm001': 'hv2', 'backup_ip': 'hv2', 'backup_agent': 'hv2'}
    # fence_hv2 stopped too (it may run on hv1 only) but is no loss; clone instances only had to go
    assert stopped == ['vm_vm003'] and remaining == []


def test_a_resource_switched_off_during_the_drain_is_not_stopped_by_it():
    moved, stopped, remaining = pn.outcome(mon('running'), mon('hv1-standby-vm003-off'), 'hv1')
    assert sorted(moved) == ['backup_agent', 'backup_ip', 'vm_vm001'] and stopped == [] and remaining == []


def test_an_unmanaged_guest_stays_on_the_drained_node():
    moved, stopped, remaining = pn.outcome(mon('running'), mon('hv1-standby-unmanaged'), 'hv1')
    assert remaining == ['vm_vm001'] and stopped == ['vm_vm003'] and 'vm_vm001' not in moved


def test_a_clone_instance_left_on_the_node_remains():
    after = mon('hv1-standby').replace(
        '<resource id="p_ping" resource_agent="ocf:pacemaker:ping" role="Stopped" active="false" orphaned="false" '
        'blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="0"/>',
        '<resource id="p_ping" resource_agent="ocf:pacemaker:ping" role="Started" active="true" orphaned="false" '
        'blocked="false" managed="false" failed="false" failure_ignored="false" nodes_running_on="1">'
        '<node name="hv1" id="1" cached="true"/></resource>', 1)
    assert pn.outcome(mon('running'), after, 'hv1')[2] == ['cl_ping']


def test_only_what_ran_on_the_node_is_judged():
    moved, stopped, remaining = pn.outcome(mon('running'), mon('hv1-standby'), 'hv2')
    assert moved == {} and stopped == [] and sorted(remaining) == ['cl_ping', 'ms_drbd_vm001', 'ms_drbd_vm002',
                                                                   'vm_vm002']


# ---- the module's flow on a live cluster, through a fake module -------------------------------------

@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """The module polls the CIB until attributes show; the fake answers at once."""
    monkeypatch.setattr(pn.time, 'sleep', lambda seconds: None)


class FakeModule:
    """Answers the commands pacemaker_node runs, in turn per command; records what ran."""

    def __init__(self, answers):
        self.answers, self.ran = answers, []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return name

    def run_command(self, argv, environ_update=None, data=None):
        line = ' '.join(argv)
        self.ran.append(line)
        for prefix, queue in self.answers.items():
            if line.startswith(prefix):
                return (0, queue.pop(0) if len(queue) > 1 else queue[0], '')
        return 0, '', ''

    def writes(self):
        return [line for line in self.ran if line.startswith(('crm_attribute', 'crm_resource'))]


def with_standby(cib, node_id='1', uname='hv1'):
    return re.sub(r'<node id="%s" uname="%s"/>' % (node_id, uname),
                  '<node id="%s" uname="%s"><instance_attributes id="nodes-%s"><nvpair id="nodes-%s-standby" '
                  'name="standby" value="on"/></instance_attributes></node>' % (node_id, uname, node_id, node_id), cib)


def with_transient(cib, name, value, node_id='1'):
    anchor = '<nvpair id="status-%s-master-p_drbd_vm001"' % node_id
    return cib.replace(anchor, '<nvpair id="status-%s-%s" name="%s" value="%s"/>%s'
                       % (node_id, name, name, value, anchor), 1)


# The module's parameters as AnsibleModule hands them over, for a live cluster.
ARGS = dict(node='hv1', state='standby', lifetime='forever', force=False, wait=False, wait_timeout=60, cib_file=None)


def drain(after, check_mode=False, cibs=None, **params):
    """hv1 into standby with wait, crm_mon showing the running cluster and then AFTER."""
    cib = fixture('cib-running')
    module = FakeModule({'cibadmin --query': cibs or [cib, with_standby(cib)],
                         'crm_mon': [mon('running'), mon(after)]})
    return module, pn.manage(PacemakerCli(module), dict(ARGS, wait=True, **params), check_mode)


def test_wait_fails_naming_what_stopped_instead_of_moving():
    with pytest.raises(pn.Failure) as failed:
        drain('hv1-standby')
    assert str(failed.value) == 'hv1 is standby, but resources that ran there stopped instead of moving: vm_vm003'
    assert failed.value.result['stopped'] == ['vm_vm003'] and failed.value.result['changed']
    assert failed.value.result['moved'] == {'vm_vm001': 'hv2', 'backup_ip': 'hv2', 'backup_agent': 'hv2'}


def test_wait_fails_when_a_guest_stays_on_the_drained_node():
    with pytest.raises(pn.Failure, match='still running on hv1: vm_vm001'):
        drain('hv1-standby-unmanaged')


def test_wait_returns_where_resources_moved():
    module, result = drain('hv1-standby-vm003-off')
    assert result['moved'] == {'vm_vm001': 'hv2', 'backup_ip': 'hv2', 'backup_agent': 'hv2'}
    assert result['stopped'] == [] and result['state'] == 'standby' and result['previous_state'] == 'online'
    assert module.writes() == ['crm_attribute --node hv1 --name standby --lifetime forever --update on',
                               'crm_resource --wait --timeout 60s']
    assert [line for line in module.ran if line.startswith('crm_mon')] == ['crm_mon --one-shot --output-as=xml'] * 2


def test_check_mode_writes_nothing():
    module, result = drain('hv1-standby', check_mode=True)
    assert result['changed'] and result['state'] == 'standby' and module.writes() == []


def test_refusal_writes_nothing_and_force_overrides_it():
    cib = fixture('cib-running')
    args = dict(ARGS, lifetime='reboot')
    module = FakeModule({'cibadmin --query': [cib], 'crm_mon': [mon('hv2-standby')]})
    with pytest.raises(pn.Failure, match=r'\(hv2 is in standby\)') as refused:
        pn.manage(PacemakerCli(module), args, False)
    assert module.writes() == [] and not refused.value.result['changed']
    module = FakeModule({'cibadmin --query': [cib, with_transient(cib, 'standby', 'on')],
                         'crm_mon': [mon('hv2-standby')]})
    assert pn.manage(PacemakerCli(module), dict(args, force=True), False)['state'] == 'standby (until reboot)'
    assert module.writes() == ['crm_attribute --node hv1 --name standby --lifetime reboot --update on']


def test_the_cluster_is_only_waited_for_once_the_cib_shows_the_new_state():
    """A transient attribute reaches the CIB through pacemaker-attrd, a moment after crm_attribute returns."""
    cib = fixture('cib-running')
    module, result = drain('hv1-standby-vm003-off', cibs=[cib, cib, cib, with_transient(cib, 'standby', 'on')],
                           lifetime='reboot')
    assert result['state'] == 'standby (until reboot)'
    queries = [n for n, line in enumerate(module.ran) if line.startswith('cibadmin --query')]
    assert len(queries) == 4 and queries[-1] < module.ran.index('crm_resource --wait --timeout 60s')


def test_a_permanent_standby_is_deleted_only_once_the_transient_one_shows():
    old = with_standby(fixture('cib-running'))
    both = with_transient(old, 'standby', 'on')
    new = with_transient(fixture('cib-running'), 'standby', 'on')
    module = FakeModule({'cibadmin --query': [old, old, both, new]})
    result = pn.manage(PacemakerCli(module), dict(ARGS, lifetime='reboot'), False)
    assert result['previous_state'] == 'standby' and result['state'] == 'standby (until reboot)'
    assert module.ran[1:] == ['crm_attribute --node hv1 --name standby --lifetime reboot --update on',
                              'cibadmin --query', 'cibadmin --query',
                              'crm_attribute --node hv1 --name standby --lifetime forever --delete',
                              'cibadmin --query']


def test_nothing_is_deleted_when_the_setting_never_shows(monkeypatch):
    monkeypatch.setattr(pn, 'SETTLE_S', 0)
    old = with_standby(fixture('cib-running'))
    module = FakeModule({'cibadmin --query': [old]})
    with pytest.raises(pn.Failure, match=r'hv1: the CIB does not show standby=on \(reboot\) after 0 s'):
        pn.manage(PacemakerCli(module), dict(ARGS, lifetime='reboot'), False)
    assert not any('--delete' in line for line in module.ran)

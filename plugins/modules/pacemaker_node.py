#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pacemaker_node
short_description: Put a Pacemaker node online, in standby or in maintenance
version_added: 0.1.0
description:
  - Sets the node attributes V(standby) and V(maintenance) of one cluster node, the way
    C(crm node standby|online|maintenance|ready) does, and only when the node's state differs.
  - Both attributes exist in two lifetimes, and the module reads and writes both. V(forever) is a node attribute
    in the configuration; V(reboot) is a transient attribute in the status section, which overrides the permanent
    one until the node's cluster stack restarts.
  - V(standby) drains the node (Pacemaker moves its resources away, live-migrating guests that allow it);
    V(maintenance) leaves resources running but unmanaged on the node; V(online) clears both.
  - Refuses to put an online node in standby when no other node can take over its resources, unless O(force=true).
  - Optionally waits until the cluster has finished the resulting transition, so that a following task
    (a reboot, a package upgrade) starts on a drained node, and checks that the node's resources moved
    rather than stopped.
author: hakvm.cluster developers (@hakvm-cluster)
requirements:
  - Pacemaker command line tools (cibadmin, crm_attribute, crm_mon, crm_resource) on the node.
attributes:
  check_mode:
    support: full
    description: Reports the state the node would get and refuses what a real run would refuse; changes nothing.
  diff_mode:
    support: full
    description: Shows the node state before and after.
options:
  node:
    description: The node name as Pacemaker knows it (C(crm_node -n) on that node).
    type: str
    required: true
  state:
    description:
      - V(online) clears standby and maintenance in both lifetimes.
      - V(standby) and V(maintenance) set that attribute for O(lifetime), and clear the other attribute in both
        lifetimes.
    type: str
    required: true
    choices: [online, standby, maintenance]
  lifetime:
    description:
      - How long O(state=standby) or O(state=maintenance) lasts. V(forever) survives a restart of the node;
        V(reboot) lasts until the node's cluster stack restarts (a permanent setting of the same attribute is
        cleared, so that it does not take over then).
      - Ignored with O(state=online).
    type: str
    default: forever
    choices: [forever, reboot]
  force:
    description:
      - Put an online node in standby even when no other node can take over its resources (every other node is
        offline, unclean, in standby or in maintenance, or there is no other node).
      - This stops every resource the node runs.
    type: bool
    default: false
  wait:
    description:
      - After a change, wait for the cluster to settle (C(crm_resource --wait)), then fail when a resource that ran
        on the node is now active nowhere (it stopped instead of moving) or, with O(state=standby), still runs on
        the node.
      - Clone and bundle instances only need to be gone from the node. Resources whose target-role is Stopped, and
        fencing devices (the fencer uses them whether they run or not), are not checked.
      - Ignored with O(cib_file).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the cluster to settle before failing.
    type: int
    default: 600
  cib_file:
    description: Work on this CIB XML file instead of the live cluster (for tests).
    type: path
seealso:
  - module: hakvm.cluster.pacemaker_cib
'''

EXAMPLES = r'''
- name: Drain hv1 before its kernel upgrade
  hakvm.cluster.pacemaker_node:
    node: hv1
    state: standby
    wait: true
  run_once: true

- name: Keep hv1 in standby only until its cluster stack restarts
  hakvm.cluster.pacemaker_node:
    node: hv1
    state: standby
    lifetime: reboot
  run_once: true

- name: Bring hv1 back
  hakvm.cluster.pacemaker_node:
    node: hv1
    state: online
  run_once: true
'''

RETURN = r'''
state:
  description:
    - The node's state after the call (in check mode, the state it would get) - V(online), V(standby),
      V(maintenance) or V(standby+maintenance).
    - A state that lasts only until the node's cluster stack restarts says so, as in V(standby (until reboot\)),
      or V(online (until reboot, then standby\)) when a permanent setting takes over then.
  returned: always
  type: str
  sample: standby
previous_state:
  description: The node's state before the call, in the same form as RV(state).
  returned: always
  type: str
  sample: standby (until reboot)
moved:
  description: With O(wait), the resources that ran on the node and now run elsewhere, and where.
  returned: always
  type: dict
  sample: {"vm_vm001": "hv2", "backup_ip": "hv2"}
stopped:
  description: With O(wait), the resources that ran on the node and now run nowhere (the module then fails).
  returned: always
  type: list
  elements: str
  sample: [vm_vm003]
'''

import time
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hakvm.cluster.plugins.module_utils.command import CommandError
from ansible_collections.hakvm.cluster.plugins.module_utils.pacemaker import PacemakerCli

ATTRIBUTES = ('standby', 'maintenance')
TRUE = ('on', 'true', 'yes', 'y', '1')
MON = ['crm_mon', '--one-shot', '--output-as=xml']
# On a live cluster crm_attribute hands transient attributes to pacemaker-attrd, which writes them to the CIB a
# moment later: the re-read waits this long for them before it reports what it sees.
SETTLE_S = 10
# What keeps another node from taking over resources, as crm_mon flags it (besides not being online).
UNFIT = (('unclean', 'unclean'), ('pending', 'still joining'), ('shutdown', 'shutting down'),
         ('standby', 'in standby'), ('standby_onfail', 'in standby after a failure'),
         ('maintenance', 'in maintenance'))
# Containers whose instances belong to nodes: an instance goes away with its node instead of moving.
INSTANCES = ('clone', 'bundle')


class Failure(Exception):
    """A refusal or a failed check, with the result keys that go with it."""

    def __init__(self, msg, **result):
        super(Failure, self).__init__(msg)
        self.result = result


def is_on(value):
    return value is not None and value.strip().lower() in TRUE


# ---- the node's attributes ---------------------------------------------------------------------

def node_values(cib_xml, node):
    """{(attribute, lifetime): value} of the node's standby and maintenance as the CIB holds them (unset: absent)."""
    root = ET.fromstring(cib_xml)
    nodes = dict((n.get('uname'), n) for n in root.iterfind('configuration/nodes/node'))
    if node not in nodes:
        raise Failure('Unknown node %s (the CIB has: %s)' % (node, ', '.join(sorted(nodes)) or 'no nodes'))
    holders = [('forever', nodes[node])]
    holders += [('reboot', state.find('transient_attributes')) for state in root.iterfind('status/node_state')
                if state.get('id') == nodes[node].get('id')]
    values = {}
    for lifetime, holder in holders:
        for nvpair in holder.iterfind('instance_attributes/nvpair') if holder is not None else []:
            if nvpair.get('name') in ATTRIBUTES:
                values[(nvpair.get('name'), lifetime)] = nvpair.get('value')
    return values


def effective(values):
    """{attribute: (now, after a restart)}: a transient value overrides the permanent one until the node's
    cluster stack restarts, which clears it."""
    result = {}
    for name in ATTRIBUTES:
        after = is_on(values.get((name, 'forever')))
        reboot = values.get((name, 'reboot'))
        result[name] = (after if reboot is None else is_on(reboot), after)
    return result


def target(state, lifetime):
    return dict((name, (state == name, state == name and lifetime == 'forever')) for name in ATTRIBUTES)


def describe(states):
    now = '+'.join(name for name in ATTRIBUTES if states[name][0]) or 'online'
    later = '+'.join(name for name in ATTRIBUTES if states[name][1]) or 'online'
    if now == later:
        return now
    if later == 'online':
        return '%s (until reboot)' % now
    return '%s (until reboot, then %s)' % (now, later)


def writes(values, wanted):
    """[(attribute, lifetime, value, or None to delete it)] that give the node the wanted state, settings first:
    the node does not pass through online between two states."""
    steps = []
    for name in ATTRIBUTES:
        now, after = wanted[name]
        if is_on(values.get((name, 'forever'))) != after:
            steps.append((name, 'forever', 'on' if after else None))
        reboot = values.get((name, 'reboot'))
        if (after if reboot is None else is_on(reboot)) != now:
            steps.append((name, 'reboot', None if now == after else ('on' if now else 'off')))
    return sorted(steps, key=lambda step: step[2] is None)


# ---- what crm_mon shows ------------------------------------------------------------------------

def unfit(attrs):
    """Why a node (the attributes of crm_mon's <node>) cannot take over resources; empty when it can."""
    reasons = [] if attrs.get('online') == 'true' else ['offline']
    return reasons + [text for key, text in UNFIT if attrs.get(key) == 'true']


def takeover(mon_xml, node):
    """(whether the node is online, the other nodes that can take over its resources,
    {other node: why it cannot})."""
    nodes = dict((n.get('name'), n.attrib) for n in ET.fromstring(mon_xml).iterfind('nodes/node'))
    able, unable = [], {}
    for name in sorted(nodes):
        if name == node:
            continue
        reasons = unfit(nodes[name])
        if reasons:
            unable[name] = reasons
        else:
            able.append(name)
    return nodes.get(node, {}).get('online') == 'true', able, unable


def standby_refusal(mon_xml, node):
    """Why the node must not go to standby without force, or None. An offline node runs nothing to stop."""
    online, able, unable = takeover(mon_xml, node)
    if not online or able:
        return None
    why = '; '.join('%s is %s' % (name, ' and '.join(unable[name])) for name in sorted(unable))
    return ('Refuse to put %s in standby without force=true: no other node can take over its resources (%s); '
            'force=true stops every resource %s runs' % (node, why or '%s is the only node' % node, node))


def placements(mon_xml):
    """{resource: (nodes it runs on, whether it is a clone or bundle, whether the check leaves it out)}.

    A primitive counts by its own id, also inside a group; the instances of a clone or bundle together by the
    clone's id. Left out: resources whose target-role is Stopped (on them or a container) and fencing devices.
    """
    found = {}

    def walk(element, clone, disabled):
        for child in element:
            disabled_here = disabled or child.get('disabled') == 'true' or \
                (child.get('target_role') or '').lower() == 'stopped'
            if child.tag == 'resource':
                key = clone or child.get('id')
                nodes, _clone, exempt = found.get(key, (set(), None, False))
                nodes.update(n.get('name') for n in child.iterfind('node'))
                exempt = exempt or disabled_here or (child.get('resource_agent') or '').startswith('stonith:')
                found[key] = (nodes, clone is not None, exempt)
            else:
                walk(child, clone or (child.get('id') if child.tag in INSTANCES else None), disabled_here)

    resources = ET.fromstring(mon_xml).find('resources')
    walk(resources if resources is not None else [], None, False)
    return found


def outcome(before_xml, after_xml, node):
    """({resource: where it runs now}, [stopped], [still on the node]) for what ran on the node before.

    A resource moved when it runs elsewhere now; it stopped when it runs nowhere (clone instances only need to
    be gone from the node, and left-out resources are never stopped or remaining)."""
    before, after = placements(before_xml), placements(after_xml)
    moved, stopped, remaining = {}, [], []
    for key in sorted(before):
        if node not in before[key][0]:
            continue
        nodes, clone, exempt = after.get(key, (set(), before[key][1], False))
        exempt = exempt or before[key][2]
        if node in nodes:
            if not exempt:
                remaining.append(key)
        elif nodes and not clone:
            moved[key] = ','.join(sorted(nodes))
        elif not nodes and not clone and not exempt:
            stopped.append(key)
    return moved, stopped, remaining


# ---- the module --------------------------------------------------------------------------------

def settle(cli, node, done, live):
    """The node's attribute values once done(values) holds; on a live cluster it is given SETTLE_S to get there,
    on a CIB file it has to hold at once. Returns the last values read and whether done held."""
    deadline = time.monotonic() + (SETTLE_S if live else 0)
    while True:
        values = node_values(cli.query(), node)
        if done(values) or time.monotonic() >= deadline:
            return values, done(values)
        time.sleep(0.5)


def apply(cli, node, steps, wanted, live):
    """Run the writes and return the node's state as the CIB shows it then. Deletions wait until the settings
    show in the CIB, so that the node is not online in between (a transient value reaches the CIB late)."""
    def command(name, lifetime, value):
        cli.run(['crm_attribute', '--node', node, '--name', name, '--lifetime', lifetime]
                + (['--delete'] if value is None else ['--update', value]))

    def shown(values):
        return all(values.get((name, lifetime)) == value for name, lifetime, value in settings)

    settings = [step for step in steps if step[2] is not None]
    deletions = [step for step in steps if step[2] is None]
    for step in settings:
        command(*step)
    if settings and deletions:
        if not settle(cli, node, shown, live)[1]:
            missing = ', '.join('%s=%s (%s)' % (name, value, lifetime) for name, lifetime, value in settings)
            raise Failure('%s: the CIB does not show %s after %d s; nothing was deleted' % (node, missing, SETTLE_S),
                          changed=True)
    for step in deletions:
        command(*step)
    return effective(settle(cli, node, lambda values: effective(values) == wanted, live)[0])


def manage(cli, params, check_mode):
    """Read the node's state, plan, refuse, apply, re-read; with wait, check where its resources went."""
    node = params['node']
    values = node_values(cli.query(), node)
    before, wanted = effective(values), target(params['state'], params['lifetime'])
    steps = writes(values, wanted)
    result = dict(changed=bool(steps), previous_state=describe(before), state=describe(wanted), moved={},
                  stopped=[])
    waiting = params['wait'] and not params['cib_file']
    draining = wanted['standby'][0] and not before['standby'][0]
    mon = cli.run(MON)[1] if steps and (draining or (waiting and not check_mode)) else None
    if steps and draining and not params['force']:
        refusal = standby_refusal(mon, node)
        if refusal:
            raise Failure(refusal, changed=False, previous_state=result['previous_state'],
                          state=result['previous_state'], moved={}, stopped=[])
    if steps and not check_mode:
        result['state'] = describe(apply(cli, node, steps, wanted, not params['cib_file']))
        if waiting:
            cli.run(['crm_resource', '--wait', '--timeout', '%ds' % params['wait_timeout']])
            moved, stopped, remaining = outcome(mon, cli.run(MON)[1], node)
            result.update(moved=moved, stopped=stopped)
            problems = ['stopped instead of moving: %s' % ', '.join(stopped)] if stopped else []
            if remaining and params['state'] == 'standby':
                problems.append('still running on %s: %s' % (node, ', '.join(remaining)))
            if problems:
                raise Failure('%s is %s, but resources that ran there %s'
                              % (node, result['state'], '; '.join(problems)), **result)
    result['diff'] = dict(before='state: %s\n' % result['previous_state'], after='state: %s\n' % result['state'])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            node=dict(type='str', required=True),
            state=dict(type='str', required=True, choices=['online', 'standby', 'maintenance']),
            lifetime=dict(type='str', default='forever', choices=['forever', 'reboot']),
            force=dict(type='bool', default=False),
            wait=dict(type='bool', default=False),
            wait_timeout=dict(type='int', default=600),
            cib_file=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    try:
        result = manage(PacemakerCli(module, module.params['cib_file']), module.params, module.check_mode)
    except Failure as exc:
        module.fail_json(msg=str(exc), **exc.result)
    except CommandError as exc:
        module.fail_json(msg=str(exc), rc=exc.rc, stdout=exc.out, stderr=exc.err)
    module.exit_json(**result)


if __name__ == '__main__':
    main()

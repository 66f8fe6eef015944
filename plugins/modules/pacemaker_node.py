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
    C(crm node standby|online|maintenance|ready) does, and only when they differ.
  - V(standby) drains the node (Pacemaker moves its resources away, live-migrating guests that allow it);
    V(maintenance) leaves resources running but unmanaged on the node; V(online) clears both.
  - Optionally waits until the cluster has finished the resulting transition, so that a following task
    (a reboot, a package upgrade) starts on a drained node.
author: hakvm.cluster developers (@hakvm-cluster)
requirements:
  - Pacemaker command line tools (crm_attribute, crm_resource, cibadmin) on the node.
attributes:
  check_mode:
    support: full
    description: Reports the state the node would get; changes nothing.
  diff_mode:
    support: full
    description: Shows the node state before and after.
options:
  node:
    description: The node name as Pacemaker knows it (C(crm_node -n) on that node).
    type: str
    required: true
  state:
    description: V(online) clears standby and maintenance; V(standby) and V(maintenance) set one and clear the other.
    type: str
    required: true
    choices: [online, standby, maintenance]
  lifetime:
    description: V(forever) survives a node reboot; V(reboot) lasts until the node's cluster stack restarts.
    type: str
    default: forever
    choices: [forever, reboot]
  wait:
    description: After a change, wait for the cluster to settle (C(crm_resource --wait)). Ignored with O(cib_file).
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

- name: Bring hv1 back
  hakvm.cluster.pacemaker_node:
    node: hv1
    state: online
  run_once: true
'''

RETURN = r'''
state:
  description: The node's state after the call.
  returned: always
  type: str
  sample: standby
previous_state:
  description: The node's state before the call (V(standby+maintenance) when both were set).
  returned: always
  type: str
  sample: online
'''

import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hakvm.cluster.plugins.module_utils.command import CommandError
from ansible_collections.hakvm.cluster.plugins.module_utils.pacemaker import PacemakerCli

ATTRIBUTES = ('standby', 'maintenance')
ON = ('on', 'true', 'yes', '1', 'y')


def read(cli, node, lifetime):
    values = {}
    for name in ATTRIBUTES:
        rc, out, err = cli.run(['crm_attribute', '--node', node, '--name', name, '--lifetime', lifetime,
                                '--query', '--quiet'], check=False)
        if rc != 0 and 'No such' not in err + out:
            raise CommandError(['crm_attribute', '--query', name], rc, out, err)
        values[name] = rc == 0 and out.strip().lower() in ON
    return values


def describe(values):
    return '+'.join(name for name in ATTRIBUTES if values[name]) or 'online'


def main():
    module = AnsibleModule(
        argument_spec=dict(
            node=dict(type='str', required=True),
            state=dict(type='str', required=True, choices=['online', 'standby', 'maintenance']),
            lifetime=dict(type='str', default='forever', choices=['forever', 'reboot']),
            wait=dict(type='bool', default=False),
            wait_timeout=dict(type='int', default=600),
            cib_file=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    cli = PacemakerCli(module, params['cib_file'])
    node = params['node']
    try:
        nodes = ET.fromstring(cli.run(['cibadmin', '--query', '--scope', 'nodes'])[1])
        known = sorted(n.get('uname') for n in nodes.iter('node'))
        if node not in known:
            module.fail_json(msg='Unknown node %s (the CIB has: %s)' % (node, ', '.join(known) or 'no nodes'))
        before = read(cli, node, params['lifetime'])
        wanted = dict((name, params['state'] == name) for name in ATTRIBUTES)
        result = dict(changed=before != wanted, previous_state=describe(before), state=describe(wanted),
                      diff=dict(before='state: %s\n' % describe(before), after='state: %s\n' % describe(wanted)))
        if result['changed'] and not module.check_mode:
            for name in ATTRIBUTES:
                if before[name] != wanted[name]:
                    cli.run(['crm_attribute', '--node', node, '--name', name, '--lifetime', params['lifetime'],
                             '--update', 'on' if wanted[name] else 'off'])
            if params['wait'] and not params['cib_file']:
                cli.run(['crm_resource', '--wait', '--timeout', '%ds' % params['wait_timeout']])
    except CommandError as exc:
        module.fail_json(msg=str(exc), rc=exc.rc, stdout=exc.out, stderr=exc.err)
    module.exit_json(**result)


if __name__ == '__main__':
    main()

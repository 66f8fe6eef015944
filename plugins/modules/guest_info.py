#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: guest_info
short_description: The guests of an HA KVM cluster as seen from a host - where they run, their DRBD disks, their use
version_added: 0.1.0
description:
  - For each guest named in O(guests), reports from this host what an operator looks at first - the node
    Pacemaker runs it on and whether it is started, the role, connection, disk states and sync progress of
    each of its DRBD resources on this host, and, when it runs here, its vCPUs and memory use (from libvirt)
    and when it last arrived by live migration (from Pacemaker's operation history).
  - Also reports whether the guest's VirtualDomain C(vm_NAME) is in the CIB's configuration and its meta
    attributes (the guests role reads them before it changes the CIB).
  - Reads only; runs C(crm_mon), C(cibadmin --query) and C(virsh domstats), and reads /proc/drbd.
author: hakvm.cluster developers (@hakvm-cluster)
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Nothing changes.
options:
  guests:
    description:
      - The guests, each with its C(name) and its C(disks), each disk with its DRBD C(resource) name and C(minor)
        (the guests role's plan of a guest has this shape; other keys are ignored).
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: Report the guests
  hakvm.cluster.guest_info:
    guests:
      - name: web1
        disks: [{resource: web1-disk0, minor: 0}]
  register: report
'''

RETURN = r'''
node:
  description: This host's node name (C(crm_node --name)).
  returned: always
  type: str
  sample: hv1
guests:
  description: One entry per guest, in the order given.
  returned: always
  type: list
  elements: dict
  sample:
    - name: web1
      node: hv1
      state: Started
      here: true
      configured: true
      meta: {allow-migrate: "true", priority: "10", hakvm-state: running}
      vcpus: 1
      memory_kib: 131072
      rss_kib: 98304
      last_migration: "2026-11-25 16:02:11 UTC (migrate_from on hv1)"
      drbd: [{resource: web1-disk0, connection: Connected, role: Primary, peer_role: Primary,
              disk: UpToDate, peer_disk: UpToDate, sync_percent: null}]
'''

import re
import time
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hakvm.cluster.plugins.module_utils.command import Runner
from ansible_collections.hakvm.cluster.plugins.module_utils.drbd import parse_proc_drbd, unconfigured

STAT_RE = re.compile(r'^\s*([a-z0-9_.]+)=(\S+)\s*$', re.MULTILINE)


def placements(crm_mon_xml):
    """{resource id: (node or None, role)} from crm_mon --output-as=xml."""
    found = {}
    for resource in ET.fromstring(crm_mon_xml).iter('resource'):
        node = resource.find('node')
        found[resource.get('id')] = (node.get('name') if node is not None else None, resource.get('role'))
    return found


def last_migration(cib_xml, rid):
    """When rid last arrived by live migration, from the status section: the newest migrate_from."""
    newest = None
    for state in ET.fromstring(cib_xml).iter('node_state'):
        for resource in state.iter('lrm_resource'):
            if resource.get('id') != rid:
                continue
            for op in resource.iter('lrm_rsc_op'):
                if op.get('operation') == 'migrate_from' and op.get('rc-code') == '0':
                    when = int(op.get('last-rc-change') or 0)
                    if newest is None or when > newest[0]:
                        newest = (when, state.get('uname'))
    if newest is None:
        return None
    return '%s (migrate_from on %s)' % (time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(newest[0])), newest[1])


def resource_meta(cib_xml, rid):
    """The meta attributes of primitive rid in the configuration section, or None when it has none."""
    for primitive in ET.fromstring(cib_xml).iter('primitive'):
        if primitive.get('id') == rid:
            return dict((nvpair.get('name'), nvpair.get('value'))
                        for meta in primitive.findall('meta_attributes') for nvpair in meta.iter('nvpair'))
    return None


def domstats(text):
    """The fields of one domain from `virsh domstats --vcpu --balloon`."""
    values = dict(STAT_RE.findall(text))

    def number(key):
        return int(values[key]) if values.get(key, '').isdigit() else None
    return {'vcpus': number('vcpu.current'), 'memory_kib': number('balloon.current'), 'rss_kib': number('balloon.rss')}


def main():
    module = AnsibleModule(argument_spec=dict(guests=dict(type='list', elements='dict', required=True)),
                           supports_check_mode=True)
    runner = Runner(module)
    rc, mon, _err = runner.run(['crm_mon', '--one-shot', '--output-as=xml'], check=False)
    where = placements(mon) if rc == 0 and mon.strip().startswith('<') else {}
    rc, cib, _err = runner.run(['cibadmin', '--query'], check=False)
    cib = cib if rc == 0 and cib.strip().startswith('<') else '<cib/>'
    me = runner.run(['crm_node', '--name'], check=False)[1].strip()
    try:
        with open('/proc/drbd') as proc:
            drbd = parse_proc_drbd(proc.read())
    except (IOError, OSError):
        drbd = {}
    rc, running, _err = runner.run(['virsh', '--connect', 'qemu:///system', 'list', '--name'], check=False)
    running = set(running.split()) if rc == 0 else set()
    report = []
    for guest in module.params['guests']:
        name = guest['name']
        node, role = where.get('vm_' + name, (None, None))
        meta = resource_meta(cib, 'vm_' + name)
        entry = dict(name=name, node=node, state=role or 'unknown', here=name in running,
                     configured=meta is not None, meta=meta or {},
                     vcpus=None, memory_kib=None, rss_kib=None, last_migration=last_migration(cib, 'vm_' + name))
        if name in running:
            stats = runner.run(['virsh', '--connect', 'qemu:///system', 'domstats', '--vcpu', '--balloon', name],
                               check=False)[1]
            entry.update(domstats(stats))
        entry['drbd'] = []
        for disk in guest.get('disks') or []:
            state = drbd.get(int(disk['minor'])) or unconfigured()
            entry['drbd'].append(dict(resource=disk['resource'], connection=state['connection'], role=state['role'],
                                      peer_role=state['peer_role'], disk=state['disk'], peer_disk=state['peer_disk'],
                                      sync_percent=state['sync_percent']))
        report.append(entry)
    module.exit_json(changed=False, node=me, guests=report)


if __name__ == '__main__':
    main()

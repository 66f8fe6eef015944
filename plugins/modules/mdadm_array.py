#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mdadm_array
short_description: Create, assemble and repair a Linux software RAID (md) array, safely
version_added: 0.1.0
description:
  - Makes sure the md array O(device) is active with the listed O(members) and O(spares).
  - When the array is not active and its devices carry its md superblock, it is assembled (also degraded,
    so that a host whose disk died still boots its guests). It is never created again over itself.
  - When none of the devices carries an md superblock, the array is created. Before that every device is
    checked for a partition table, filesystem, LVM, md or DRBD signature (libblkid, through
    C(wipefs --no-act)) and for kernel holders; any of them makes the module refuse, naming the device and
    what it found, unless O(force=true).
  - On an active array, a listed member that is missing (a degraded array after a disk was pulled) or
    faulty is put back with C(mdadm --re-add), or C(--add) when it is a blank replacement disk. The
    resync then runs in the background; RV(array.state) and RV(array.sync_progress) report it.
  - It does not change the level, remove members or reshape. Such requests fail and change nothing.
  - /etc/mdadm/mdadm.conf and the initramfs are the raid role's job.
author: hakvm.cluster developers (@hakvm-cluster)
requirements:
  - mdadm, and wipefs (util-linux) on the host.
attributes:
  check_mode:
    support: full
    description: Reads the devices and reports the commands it would run; changes nothing.
  diff_mode:
    support: full
    description: Shows members, spares and state before and after.
options:
  device:
    description:
      - The array's device. Defaults to C(/dev/md/NAME), the name udev gives an array created with O(name).
    type: path
  name:
    description: The array's name, stored in its superblock (C(mdadm --name)); also names O(device) by default.
    type: str
    required: true
  level:
    description: RAID level, as mdadm spells it without the prefix (V(1) for a mirror).
    type: str
    default: '1'
    choices: ['0', '1', '4', '5', '6', '10']
  members:
    description:
      - The active devices, in order (whole disks or partitions; links such as C(/dev/disk/by-id/...) are
        resolved).
    type: list
    elements: path
    required: true
  spares:
    description: Hot spares.
    type: list
    elements: path
    default: []
  metadata:
    description: Superblock format used when creating.
    type: str
    default: '1.2'
  bitmap:
    description:
      - Write-intent bitmap used when creating. V(internal) makes a re-added disk resync only what changed
        while it was away.
    type: str
    default: internal
    choices: [internal, none]
  force:
    description:
      - Create over, or add, devices that hold data (a partition table, filesystem, LVM or other
        signature). B(This destroys that data.) Devices that belong to another md array are refused even so.
    type: bool
    default: false
seealso:
  - name: mdadm(8)
    description: The mdadm manual.
    link: https://manpages.debian.org/mdadm.8
'''

EXAMPLES = r'''
- name: Mirror the two guest disks
  hakvm.cluster.mdadm_array:
    name: guests
    level: '1'
    members: [/dev/disk/by-id/ata-DISK1, /dev/disk/by-id/ata-DISK2]
  register: md

- name: Show the resync
  ansible.builtin.debug:
    msg: "{{ md.array.device }} is {{ md.array.state }} ({{ md.array.sync_progress }} %)"
'''

RETURN = r'''
array:
  description: The array after the call (before it, in check mode, when nothing exists yet it is empty).
  returned: always
  type: dict
  contains:
    device: {description: The array device given or defaulted., type: str, sample: /dev/md/guests}
    kernel_device: {description: The md device the kernel uses., type: str, sample: /dev/md127}
    name: {description: Name in the superblock (homehost:name)., type: str, sample: "hv1:guests"}
    uuid: {description: Array UUID., type: str, sample: "1c2a4b5e:0b1e2d3c:4f5a6b7c:8d9e0f1a"}
    level: {description: RAID level., type: str, sample: raid1}
    metadata: {description: Superblock version., type: str, sample: "1.2"}
    raid_devices: {description: Number of active slots., type: int, sample: 2}
    size_bytes: {description: Usable size., type: int, sample: 1071644672}
    state: {description: "clean, degraded, resyncing, recovering, check, repair, reshape or inactive.", type: str, sample: clean}
    array_state: {description: The kernel's array_state., type: str, sample: clean}
    degraded: {description: Number of missing active members., type: int, sample: 0}
    sync_action: {description: The kernel's sync_action., type: str, sample: idle}
    sync_progress: {description: Percent done of the running resync or recovery; null when none runs., type: float, sample: 42.5}
    members: {description: Active members by slot., type: list, elements: str, sample: [/dev/vdb, /dev/vdc]}
    spares: {description: Spare members., type: list, elements: str, sample: []}
    faulty: {description: Members marked faulty., type: list, elements: str, sample: []}
commands:
  description: The mdadm commands run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: ["mdadm --manage /dev/md/guests --re-add /dev/vdc"]
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hakvm.cluster.plugins.module_utils.command import CommandError, Runner
from ansible_collections.hakvm.cluster.plugins.module_utils.blockdev import in_use, kernel_name
from ansible_collections.hakvm.cluster.plugins.module_utils.mdadm import (
    Refusal, parse_export, plan_active, plan_new, summary, sysfs_state, validate)


def examine(runner, dev):
    """The md superblock on dev as a dict, or None when it carries none."""
    rc, out, _err = runner.run(['mdadm', '--examine', '--export', dev], check=False)
    info = parse_export(out) if rc == 0 else {}
    return info if info.get('MD_UUID') else None


def active(runner, device):
    """summary() of the active array at device, or None."""
    if not os.path.exists(device):
        return None
    rc, out, _err = runner.run(['mdadm', '--detail', '--export', device], check=False)
    if rc != 0:
        return None
    return summary(parse_export(out), sysfs_state(kernel_name(device)), device)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            device=dict(type='path'),
            name=dict(type='str', required=True),
            level=dict(type='str', default='1', choices=['0', '1', '4', '5', '6', '10']),
            members=dict(type='list', elements='path', required=True),
            spares=dict(type='list', elements='path', default=[]),
            metadata=dict(type='str', default='1.2'),
            bitmap=dict(type='str', default='internal', choices=['internal', 'none']),
            force=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    device = p['device'] or '/dev/md/' + p['name']
    members = [os.path.realpath(d) for d in p['members']]
    spares = [os.path.realpath(d) for d in p['spares']]
    errors = validate(p['level'], members, spares)
    errors += ['%s does not exist' % d for d in members + spares if not os.path.exists(d)]
    if errors:
        module.fail_json(msg='mdadm_array %s: %s' % (device, '; '.join(errors)))
    runner = Runner(module)
    result = dict(changed=False, commands=[], array={})
    try:
        before = active(runner, device)
        missing = [d for d in members + spares if not before or d not in before['members'] + before['spares']]
        examined = dict((d, examine(runner, d)) for d in missing)
        # An md superblock is what examine reports; the other signatures and holders count against a device.
        uses = dict((d, in_use(runner, d, ignore_types=('linux_raid_member',))) for d in missing)
        if before:
            steps = plan_active(device, before, p['level'], members, spares, examined, uses, p['force'])
        else:
            steps = plan_new(device, p['name'], p['level'], members, spares, p['metadata'], p['bitmap'],
                             examined, uses, p['force'])
        result['commands'] = [' '.join(argv) for _verb, argv in steps]
        result['changed'] = bool(steps)
        if steps and not module.check_mode:
            for verb, argv in steps:
                rc, out, err = runner.run(argv, check=verb != 're-add')
                if rc != 0:
                    # Too far behind for the bitmap: a full resync, the same member added anew.
                    runner.run(['mdadm', '--manage', device, '--add', argv[-1]])
                    result['commands'].append('mdadm --manage %s --add %s' % (device, argv[-1]))
            runner.run(['udevadm', 'settle', '--timeout=30'], check=False)
        after = active(runner, device) if steps and not module.check_mode else before
    except Refusal as exc:
        module.fail_json(msg='mdadm_array %s: %s' % (device, exc), **result)
    except CommandError as exc:
        module.fail_json(msg='mdadm_array %s: %s' % (device, exc), rc=exc.rc, stdout=exc.out, stderr=exc.err,
                         **result)
    if steps and not module.check_mode and not after:
        module.fail_json(msg='mdadm_array %s: mdadm succeeded but the array is not active' % device, **result)
    result['array'] = after or {}
    if module._diff:
        result['diff'] = dict(before=describe(before), after=describe(after) if not module.check_mode
                              else planned(device, members, spares, steps, before))
    module.exit_json(**result)


def describe(array):
    if not array:
        return 'absent\n'
    return 'device: %s\nstate: %s\nmembers: %s\nspares: %s\n' % (
        array['device'], array['state'], ' '.join(array['members']), ' '.join(array['spares']))


def planned(device, members, spares, steps, before):
    if not steps:
        return describe(before)
    state = 'resyncing' if steps[0][0] in ('create', 're-add', 'add') else 'assembled'
    return describe(dict(device=device, state=state, members=members, spares=spares))


if __name__ == '__main__':
    main()

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
  - When the array is not active and its devices carry its md superblock, it is assembled from those
    devices with C(mdadm --assemble --run), also degraded, so that a host whose disk died still boots its
    guests. It is never created again over itself. Assembling is not a repair, and needs no O(repair).
  - When none of the devices carries an md superblock, the array is created. Before that every device is
    checked for a partition table, filesystem, LVM, md or DRBD signature (libblkid, through
    C(wipefs --no-act)) and for kernel holders; any of them makes the module refuse, naming the device and
    what it found, unless O(force=true).
  - A listed device that does not exist (a C(/dev/disk/by-id) link vanishes with its disk) does not fail
    the module when the array is active or can be assembled from the other devices. It is returned in
    RV(missing) and named in a warning. Only creating an array needs every listed device.
  - States md enters to protect data are reported, never repaired silently. On an active array, a member
    md marked faulty, and a listed device that is not in the array (a removed member, or a replacement
    disk), are returned in RV(faulty) and RV(repair_commands) with a warning, and nothing changes. With
    O(repair=true) the module runs those commands. The resync then runs in the background;
    RV(array.state) and RV(array.sync_progress) report it.
  - A listed device that belongs to another md array, or holds data (unless O(force=true)), makes the
    module fail, with or without O(repair), since it cannot be added as it is.
  - It does not change the level, remove members that are not faulty or reshape. Such requests fail and
    change nothing.
  - /etc/mdadm/mdadm.conf and the initramfs are the raid role's job.
notes:
  - Name members and spares by a stable link, C(/dev/disk/by-id/...) (the disk's model and serial number)
    or C(/dev/disk/by-path/...) (the port it is plugged into). Kernel names (C(/dev/sdb), C(/dev/vdc1),
    C(/dev/nvme0n1)) follow the order the disks are found in, so after a reboot or a disk swap the same name
    can be another disk; the module warns when it is given one.
author: hakvm.cluster developers (@hakvm-cluster)
requirements:
  - mdadm, and wipefs (util-linux) on the host.
attributes:
  check_mode:
    support: full
    description:
      - Reads the devices and reports the commands it would run; changes nothing.
      - A re-add that md refuses at run time (see O(repair)) cannot be predicted; the real run then also
        runs C(--add).
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
      - The active devices, in order (whole disks or partitions). Links such as C(/dev/disk/by-id/...) are
        resolved. Use C(/dev/disk/by-id/...) or C(/dev/disk/by-path/...) links; kernel names such as
        C(/dev/sdb) can name another disk after a reboot or a disk swap.
    type: list
    elements: path
    required: true
  spares:
    description: Hot spares, named as O(members).
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
  repair:
    description:
      - Let the module change the membership of an active array. It removes the listed members md marked
        faulty and puts them back with C(mdadm --re-add), re-adds a listed device that carries this array's
        superblock (a disk that came back), and adds a listed device without one (a replacement disk, under
        the O(force) rules). A re-add that md refuses (the disk is too far behind for the bitmap) is
        followed by C(--add), a full resync.
      - Without it those commands are only returned in RV(repair_commands) and named in a warning, because
        a disk that md failed may fail again, and putting it back on every run would hide that.
    type: bool
    default: false
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
# By-id links name the disk itself (ls -l /dev/disk/by-id); /dev/sdb could be another disk after a reboot.
- name: Mirror the two guest disks
  hakvm.cluster.mdadm_array:
    name: guests
    level: '1'
    members: [/dev/disk/by-id/ata-DISK1, /dev/disk/by-id/ata-DISK2]
  register: md

- name: Show the resync, and what the array lacks
  ansible.builtin.debug:
    msg: >-
      {{ md.array.device }} is {{ md.array.state }} ({{ md.array.sync_progress }} %);
      missing: {{ md.missing }}, faulty: {{ md.faulty }}, repair would run: {{ md.repair_commands }}

# After the dead disk ata-DISK2 was replaced by ata-DISK3: the new disk is added, the mirror resyncs.
- name: Add the replacement disk
  hakvm.cluster.mdadm_array:
    name: guests
    members: [/dev/disk/by-id/ata-DISK1, /dev/disk/by-id/ata-DISK3]
    repair: true
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
    members: {description: Active members by slot (kernel names)., type: list, elements: str, sample: [/dev/vdb, /dev/vdc]}
    spares: {description: Spare members (kernel names)., type: list, elements: str, sample: []}
    faulty: {description: Members marked faulty (kernel names)., type: list, elements: str, sample: []}
commands:
  description:
    - The mdadm commands run (or, in check mode, that would run).
    - Commands that change an active array's membership are here only with O(repair=true).
  returned: always
  type: list
  elements: str
  sample: ["mdadm --assemble /dev/md/guests --run --uuid 1c2a4b5e:0b1e2d3c:4f5a6b7c:8d9e0f1a /dev/vdb"]
repair_commands:
  description:
    - The commands that repair the active array as the call found it (remove faulty members, re-add, add),
      run only with O(repair=true); without it, the operator's next step. Empty when the array is not active.
  returned: always
  type: list
  elements: str
  sample: ["mdadm --manage /dev/md/guests --remove /dev/vdc", "mdadm --manage /dev/md/guests --re-add /dev/vdc"]
missing:
  description: The listed members and spares (as given) that do not exist, such as the by-id link of a dead disk.
  returned: always
  type: list
  elements: str
  sample: [/dev/disk/by-id/ata-DISK2]
faulty:
  description:
    - The members md had marked faulty when the call began, as listed when they are (kernel names otherwise).
      Empty when the array was not active.
  returned: always
  type: list
  elements: str
  sample: [/dev/disk/by-id/ata-DISK2]
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hakvm.cluster.plugins.module_utils.command import CommandError, Runner
from ansible_collections.hakvm.cluster.plugins.module_utils.blockdev import SYS_BLOCK, in_use, kernel_name
from ansible_collections.hakvm.cluster.plugins.module_utils.mdadm import (
    Refusal, kernel_named, parse_export, plan_active, plan_new, summary, sysfs_state, validate)

# Where device nodes and the kernel's block attributes are (the unit tests use recorded trees).
DEV = '/dev'
SYS = SYS_BLOCK


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
    return summary(parse_export(out), sysfs_state(kernel_name(device), SYS, DEV), device)


def command_lines(steps):
    return [' '.join(argv) for _verb, argv in steps]


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
            repair=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    device = p['device'] or '/dev/md/' + p['name']
    # Compared with the kernel's members by resolved path; the name given is what the operator reads.
    resolved = dict((d, os.path.realpath(d)) for d in p['members'] + p['spares'])
    given = dict((r, d) for d, r in resolved.items())
    members = [resolved[d] for d in p['members']]
    spares = [resolved[d] for d in p['spares']]
    errors = validate(p['level'], members, spares)
    if errors:
        module.fail_json(msg='mdadm_array %s: %s' % (device, '; '.join(errors)))
    kernel = kernel_named(p['members'] + p['spares'], DEV)
    if kernel:
        module.warn('%s: %s %s named by the kernel, and after a reboot or a disk swap that name can be another '
                    'disk; name members and spares by their /dev/disk/by-id/... or /dev/disk/by-path/... links' % (
                        device, ', '.join(kernel), 'is' if len(kernel) == 1 else 'are'))
    # A by-id link vanishes with its disk (and then resolves to itself).
    gone = [d for d in p['members'] + p['spares'] if not os.path.exists(resolved[d])]
    gone_names = [d if resolved[d] == d else '%s (%s)' % (d, resolved[d]) for d in gone]
    members = [m for m in members if given[m] not in gone]
    spares = [s for s in spares if given[s] not in gone]
    runner = Runner(module)
    result = dict(changed=False, commands=[], repair_commands=[], missing=gone, faulty=[], array={})
    try:
        before = active(runner, device)
        outside = [d for d in members + spares if not before or d not in before['members'] + before['spares']]
        examined = dict((d, examine(runner, d)) for d in outside)
        # An md superblock is what examine reports; the other signatures and holders count against a device.
        uses = dict((d, in_use(runner, d, ignore_types=('linux_raid_member',))) for d in outside)
        if before:
            repair = plan_active(device, before, p['level'], members, spares, examined, uses, p['force'])
            result['faulty'] = [given.get(d, d) for d in before['faulty']]
            result['repair_commands'] = command_lines(repair)
            steps = repair if p['repair'] else []
        else:
            steps = plan_new(device, p['name'], p['level'], members, spares, p['metadata'], p['bitmap'],
                             examined, uses, p['force'], missing=gone_names)
        result['commands'] = command_lines(steps)
        result['changed'] = bool(steps)
        for text in advice(device, before, steps, result, p['repair'], gone_names,
                           [given[d] for d in outside if not examined[d]], members + spares):
            module.warn(text)
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


def advice(device, before, steps, result, repair, gone_names, blank, listed):
    """Warnings with the operator's next step: what is missing, faulty or left to repair."""
    texts = []
    assembled = bool(steps) and steps[0][0] == 'assemble'
    if gone_names:
        texts.append('%s: %s not found (is the disk gone?); %s' % (device, ', '.join(gone_names), (
            'the array runs without it. Once the disk is replaced, list the new one and run with repair=true'
            if before else 'the array is assembled (--run) from the other devices')))
    if assembled and blank:
        texts.append('%s: %s %s no superblock of the array, so %s left out of the assembly; once the array is '
                     'active, repair=true adds %s' % ((device, ', '.join(blank)) + (
                         ('carries', 'it is', 'it') if len(blank) == 1 else ('carry', 'they are', 'them'))))
    if not before:
        return texts
    faulty = list(zip(before['faulty'], result['faulty']))
    listed_faulty = [name for dev, name in faulty if dev in listed]
    if result['repair_commands'] and not repair:
        texts.append('%s needs repair%s; nothing was changed. Once the disk is sound or replaced, run with '
                     'repair=true, which runs: %s' % (
                         device, ': md marked %s faulty' % ', '.join(listed_faulty) if listed_faulty else '',
                         '; '.join(result['repair_commands'])))
    unlisted = [name for dev, name in faulty if dev not in listed]
    if unlisted:
        texts.append('%s: md marked %s faulty; not listed, so left as is (mdadm --manage %s --remove failed '
                     'removes it)' % (device, ', '.join(unlisted), device))
    return texts


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

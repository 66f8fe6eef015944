#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: lvm_volume
short_description: An LVM logical volume of an exact size that only ever grows
version_added: 0.1.0
description:
  - Creates the logical volume O(lv) in O(vg) with O(size), grows it when O(size) grows, and keeps its
    O(tags) exactly as listed.
  - The size is converted to whole extents by the module (rounded up), so two hosts whose volume groups
    have the same extent size get volumes of exactly the same size, as DRBD needs.
  - It never shrinks a volume. A smaller O(size) fails with a clear error and changes nothing, because
    shrinking a volume under DRBD or a filesystem destroys data.
  - A new volume is created with C(--wipesignatures y), so that reused extents do not show an old
    filesystem or old DRBD metadata.
  - It does not resize what is on the volume (a filesystem, or the DRBD device that uses it).
author: hakvm.cluster developers (@hakvm-cluster)
requirements:
  - lvm2 on the host.
attributes:
  check_mode:
    support: full
    description: Runs the planned lvcreate / lvextend / lvchange with C(--test), so errors LVM would raise show up; changes nothing.
  diff_mode:
    support: full
    description: Shows size and tags before and after.
options:
  vg:
    description: Volume group.
    type: str
    required: true
  lv:
    description: Logical volume name.
    type: str
    required: true
  size:
    description:
      - Size with a unit, LVM style (powers of 1024 whatever the case), one of V(b), V(s) (512-byte sectors), V(k),
        V(m), V(g), V(t), V(p); for example V(20G) or V(512m). A number without a unit is refused.
    type: str
    required: true
  tags:
    description: LVM tags of the volume, exactly; tags not listed are removed.
    type: list
    elements: str
    default: []
seealso:
  - module: community.general.lvg
'''

EXAMPLES = r'''
- name: The disk of guest web1, replicated by DRBD
  hakvm.cluster.lvm_volume:
    vg: guests
    lv: web1-disk0
    size: 20G
    tags: [hakvm, guest_web1]
  register: disk
'''

RETURN = r'''
volume:
  description: The volume after the call (in check mode, as it would be).
  returned: always
  type: dict
  contains:
    vg: {description: Volume group., type: str, sample: guests}
    lv: {description: Logical volume., type: str, sample: web1-disk0}
    path: {description: Device path., type: str, sample: /dev/guests/web1-disk0}
    size_bytes: {description: Size in bytes (whole extents)., type: int, sample: 21474836480}
    tags: {description: 'Tags, sorted.', type: list, elements: str, sample: [guest_web1, hakvm]}
    active: {description: Whether the volume is active on this host., type: bool, sample: true}
commands:
  description: The LVM commands run (in check mode, run with --test).
  returned: always
  type: list
  elements: str
  sample: ["lvextend --extents 5376 guests/web1-disk0"]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hakvm.cluster.plugins.module_utils.command import CommandError, Runner

from ansible_collections.hakvm.cluster.plugins.module_utils.lvm import (NAME_RE, REPORT, Refusal, extents, parse_report, plan,
                                                                        size_bytes, volume)

LV_FIELDS = 'vg_name,lv_name,lv_path,lv_size,lv_tags,lv_active'


def read(runner, vg, lv):
    """(volume or None, extent size, free extents); extent size None when the volume group does not exist."""
    rc, out, _err = runner.run(['vgs'] + REPORT + ['-o', 'vg_name,vg_extent_size,vg_free_count', vg], check=False)
    if rc != 0:
        return None, None, None
    group = parse_report(out, 'vg')[0]
    rows = parse_report(runner.run(['lvs'] + REPORT + ['-o', LV_FIELDS, '-S', 'lv_name=' + lv, vg])[1], 'lv')
    return (volume(rows[0]) if rows else None), int(group['vg_extent_size']), int(group['vg_free_count'])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            vg=dict(type='str', required=True),
            lv=dict(type='str', required=True),
            size=dict(type='str', required=True),
            tags=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    name = '%s/%s' % (p['vg'], p['lv'])
    for what in ('vg', 'lv'):
        if not NAME_RE.match(p[what]):
            module.fail_json(msg='lvm_volume %s: %s %r is not a valid LVM name' % (name, what, p[what]))
    try:
        want = size_bytes(p['size'])
    except ValueError as exc:
        module.fail_json(msg='lvm_volume %s: %s' % (name, exc))
    tags = sorted(set(p['tags']))
    runner = Runner(module)
    result = dict(changed=False, commands=[], volume={})
    try:
        before, extent_size, free = read(runner, p['vg'], p['lv'])
        if extent_size is None and module.check_mode:
            # In a check run before the volume group exists (the lvm role creates it first).
            module.warn('volume group %s does not exist yet; %s would be created once it does' % (p['vg'], name))
            module.exit_json(changed=True, commands=[], volume={})
        if extent_size is None:
            raise Refusal('volume group %s not found' % p['vg'])
        steps = plan(p['vg'], p['lv'], want, tags, before, extent_size, free)
        for _verb, argv in steps:
            argv = argv[:1] + (['--test'] if module.check_mode else []) + argv[1:]
            runner.run(argv)
            result['commands'].append(' '.join(argv))
        result['changed'] = bool(steps)
        if not steps:
            after = before
        elif module.check_mode:
            after = dict(before or {'vg': p['vg'], 'lv': p['lv'], 'path': '/dev/' + name, 'active': True},
                         size_bytes=max(extents(want, extent_size) * extent_size, (before or {}).get('size_bytes', 0)),
                         tags=tags)
        else:
            after = read(runner, p['vg'], p['lv'])[0]
    except Refusal as exc:
        module.fail_json(msg='lvm_volume %s: %s' % (name, exc), **result)
    except CommandError as exc:
        module.fail_json(msg='lvm_volume %s: %s' % (name, exc), rc=exc.rc, stdout=exc.out, stderr=exc.err, **result)
    result['volume'] = after
    if module._diff:
        result['diff'] = dict(before=describe(before), after=describe(after))
    module.exit_json(**result)


def describe(vol):
    if not vol:
        return 'absent\n'
    return 'size_bytes: %d\ntags: %s\n' % (vol['size_bytes'], ','.join(vol['tags']))


if __name__ == '__main__':
    main()

# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Linux software RAID (md) for hakvm.cluster.mdadm_array: state readers and the pure planning step.

State comes from machine-readable sources only: `mdadm --detail --export` and `mdadm --examine --export`
(KEY=VALUE lines) and the md attributes in sysfs (array_state, degraded, sync_action, one dev-X
directory per member with its slot and state).

Devices are compared by the path they resolve to (the kernel's /dev/vdb for /dev/disk/by-id/...). A by-id
link vanishes with its disk and then resolves to itself: such a device is "missing", and only creating an
array needs every device.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.hakvm.cluster.plugins.module_utils.blockdev import SYS_BLOCK, kernel_name

# Fewest members each level can be created with.
MIN_MEMBERS = {'0': 2, '1': 2, '4': 3, '5': 3, '6': 4, '10': 2}

# Kernel names of disks and partitions (sdb, vdc1, hda, xvdb2, nvme0n1, nvme0n1p2): given in the order the
# disks are found, so after a reboot or a disk swap the same name can be another disk.
KERNEL_NAME = re.compile(r'((sd|vd|hd|xvd)[a-z]+[0-9]*|nvme[0-9]+n[0-9]+(p[0-9]+)?)$')


class Refusal(Exception):
    """A request that would destroy data or cannot be done safely; nothing was changed."""


def parse_export(out):
    """KEY=VALUE lines of mdadm --export into a dict."""
    values = {}
    for line in out.splitlines():
        key, sep, value = line.partition('=')
        if sep:
            values[key.strip()] = value.strip()
    return values


def level_name(level):
    level = str(level).lower()
    return level if level.startswith('raid') else 'raid' + level


def _read(path, default=None):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return default


def kernel_named(paths, dev_dir='/dev'):
    """The paths that name a disk or partition by its kernel name rather than a stable link."""
    return [path for path in paths
            if os.path.dirname(path) == dev_dir and KERNEL_NAME.match(os.path.basename(path))]


def sysfs_state(kname, sys_block=SYS_BLOCK, dev_dir='/dev'):
    """The md attributes of an active array (kname: md127), members sorted by slot."""
    md = os.path.join(sys_block, kname, 'md')
    members = []
    for entry in sorted(os.listdir(md)) if os.path.isdir(md) else []:
        if not entry.startswith('dev-'):
            continue
        slot = _read(os.path.join(md, entry, 'slot'), 'none')
        members.append({
            'device': os.path.join(dev_dir, entry[4:]),
            'slot': int(slot) if slot.isdigit() else None,
            'state': _read(os.path.join(md, entry, 'state'), '').split(','),
        })
    members.sort(key=lambda m: (m['slot'] is None, m['slot'], m['device']))
    completed = _read(os.path.join(md, 'sync_completed'), 'none')
    progress = None
    if '/' in completed:
        done, total = (int(x) for x in completed.split('/'))
        progress = round(100.0 * done / total, 1) if total else None
    return {
        'array_state': _read(os.path.join(md, 'array_state'), 'inactive'),
        'degraded': int(_read(os.path.join(md, 'degraded'), '0') or 0),
        'sync_action': _read(os.path.join(md, 'sync_action'), 'idle'),
        'sync_progress': progress,
        'raid_disks': int(_read(os.path.join(md, 'raid_disks'), '0') or 0),
        'size_bytes': int(_read(os.path.join(sys_block, kname, 'size'), '0') or 0) * 512,
        'members': members,
    }


def summary(detail, sysfs, device):
    """The array as the module returns it."""
    members = [m for m in sysfs['members'] if m['slot'] is not None and 'faulty' not in m['state']]
    state = 'clean'
    if sysfs['array_state'] == 'inactive':
        state = 'inactive'
    elif sysfs['sync_action'] in ('resync', 'recover', 'reshape', 'check', 'repair'):
        state = {'resync': 'resyncing', 'recover': 'recovering'}.get(sysfs['sync_action'], sysfs['sync_action'])
    elif sysfs['degraded']:
        state = 'degraded'
    return {
        'device': device,
        'kernel_device': '/dev/' + kernel_name(device),
        'name': detail.get('MD_NAME', ''),
        'uuid': detail.get('MD_UUID', ''),
        'level': detail.get('MD_LEVEL', ''),
        'metadata': detail.get('MD_METADATA', ''),
        'raid_devices': sysfs['raid_disks'],
        'size_bytes': sysfs['size_bytes'],
        'state': state,
        'array_state': sysfs['array_state'],
        'degraded': sysfs['degraded'],
        'sync_action': sysfs['sync_action'],
        'sync_progress': sysfs['sync_progress'],
        'members': [m['device'] for m in members],
        'spares': [m['device'] for m in sysfs['members'] if m['slot'] is None and 'faulty' not in m['state']],
        'faulty': [m['device'] for m in sysfs['members'] if 'faulty' in m['state']],
    }


def validate(level, members, spares):
    """Errors in the request itself, before anything is read."""
    errors = []
    key = str(level).lower().replace('raid', '')
    if key not in MIN_MEMBERS:
        errors.append('level %s is not supported (choose one of %s)' % (level, ', '.join(sorted(MIN_MEMBERS))))
    elif len(members) < MIN_MEMBERS[key]:
        errors.append('level %s needs at least %d members, got %d' % (level, MIN_MEMBERS[key], len(members)))
    for dev in set(members + spares):
        if (members + spares).count(dev) > 1:
            errors.append('%s is listed more than once among members and spares' % dev)
    return errors


def short_name(md_name):
    """guests for hv1:guests (homehost:name in the superblock)."""
    return md_name.rpartition(':')[2]


def plan_new(device, name, level, members, spares, metadata, bitmap, examined, uses, force, missing=()):
    """Steps for an array that is not active. members, spares: the listed devices that exist;
    missing: how to name the listed devices that do not. examined: {dev: examine export dict or None};
    uses: {dev: [reasons it must not be written: 'held by ...', signatures]}. Returns [(verb, argv)]
    or raises Refusal. force overrides signatures only: never another array's members, never a held device.
    An array whose superblock is on some device is assembled from those (--run: degraded too); only
    creating it needs every listed device."""
    devices = members + spares
    foreign = [(dev, examined[dev]) for dev in devices
               if examined.get(dev) and short_name(examined[dev].get('MD_NAME', '')) != name]
    if foreign:
        raise Refusal('refusing to use members of other md arrays for %s: %s' % (device, '; '.join(
            '%s belongs to %s (%s)' % (dev, e.get('MD_NAME'), e['MD_UUID']) for dev, e in foreign)))
    held = [(dev, [r for r in uses.get(dev, []) if r.startswith('held by')]) for dev in devices]
    held = [(dev, reasons) for dev, reasons in held if reasons]
    if held and all(examined.get(dev) for dev, _reasons in held):
        # Its own members, held by md: the array runs under another name (assembled before mdadm.conf
        # named it, e.g. by an initramfs without the ARRAY line).
        raise Refusal('%s is already active as %s, not as %s; update the initramfs (mdadm.conf names it at '
                      'boot) or stop it and run again' % (
                          name, ', '.join(sorted(set(r[len('held by '):] for _d, rs in held for r in rs))), device))
    if held:
        raise Refusal('devices for %s are in use: %s' % (device, '; '.join(
            '%s is %s' % (dev, ', '.join(reasons)) for dev, reasons in held)))
    uuids = sorted(set(examined[dev]['MD_UUID'] for dev in devices if examined.get(dev)))
    if len(uuids) > 1:
        raise Refusal('the devices of %s belong to different md arrays named %s (%s)' % (
            device, name, ', '.join(uuids)))
    if uuids:
        # The array exists, stopped: assemble it from what is there; never create over it.
        found = [dev for dev in devices if examined.get(dev)]
        if level_name(level) != level_name(examined[found[0]].get('MD_LEVEL', level)):
            raise Refusal('%s holds a %s array (%s), not %s; refusing to touch it' % (
                found[0], examined[found[0]].get('MD_LEVEL'), uuids[0], level_name(level)))
        return [('assemble', ['mdadm', '--assemble', device, '--run', '--uuid', uuids[0]] + found)]
    if missing:
        raise Refusal('cannot create %s: %s %s not exist, and no listed device carries the array\'s superblock' % (
            device, ', '.join(missing), 'does' if len(missing) == 1 else 'do'))
    used = [(dev, uses[dev]) for dev in devices if uses.get(dev)]
    if used and not force:
        raise Refusal('refusing to create %s over devices that hold data (force=true overrides): %s' % (
            device, '; '.join('%s: %s' % (dev, ', '.join(r)) for dev, r in used)))
    argv = ['mdadm', '--create', device, '--run', '--level=%s' % str(level).lower().replace('raid', ''),
            '--raid-devices=%d' % len(members), '--metadata=%s' % metadata, '--name=%s' % name,
            '--bitmap=%s' % bitmap]
    if spares:
        argv.append('--spare-devices=%d' % len(spares))
    return [('create', argv + members + spares)]


def plan_active(device, current, level, members, spares, examined, uses, force):
    """Steps that repair an active array: remove listed faulty members, then re-add or add the listed
    devices that are not in it; nothing else. members, spares: the listed devices that exist;
    current: summary(); examined/uses: as for plan_new, for the devices not in the array only."""
    if level_name(level) != current['level']:
        raise Refusal('%s is %s, not %s; changing the level is not done by this module' % (
            device, current['level'], level_name(level)))
    unknown = sorted(set(current['members'] + current['spares']) - set(members + spares))
    if unknown:
        raise Refusal('%s has members that are not listed: %s; removing or replacing members is not done by '
                      'this module' % (device, ', '.join(unknown)))
    steps = []
    for dev in current['faulty']:
        if dev in members + spares:
            steps.append(('remove', ['mdadm', '--manage', device, '--remove', dev]))
    present = set(current['members'] + current['spares'])
    for dev in members + spares:
        if dev in present:
            continue
        info = examined.get(dev)
        if info and info.get('MD_UUID') == current['uuid']:
            steps.append(('re-add', ['mdadm', '--manage', device, '--re-add', dev]))
        elif info:
            raise Refusal('%s belongs to another md array (%s); refusing to add it to %s' % (
                dev, info.get('MD_UUID'), device))
        elif uses.get(dev) and not force:
            raise Refusal('refusing to add %s to %s: it holds data (%s); force=true overrides' % (
                dev, device, ', '.join(uses[dev])))
        else:
            steps.append(('add', ['mdadm', '--manage', device, '--add', dev]))
    return steps

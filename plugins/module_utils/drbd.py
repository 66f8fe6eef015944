# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DRBD 8.4 resources for hakvm.cluster.drbd_resource: state parsing and the pure planning step.

Debian's kernels carry the DRBD 8.4 module; drbd-utils 9 drives it through drbdadm-84. State comes
from /proc/drbd (one line per minor, the same on every 8.4 kernel), generation identifiers from
`drbdadm get-gi`, sizes from sysfs and blockdev.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# create-md writes this current UUID: the volume has never been synced nor made primary.
UUID_JUST_CREATED = '0000000000000004'
# Internal metadata of 8.4 with the default activity log (1 stripe of 32 KiB): superblock 4 KiB + AL 32 KiB,
# plus the bitmap: one bit per 4 KiB of data, allocated per 16 MiB (one 512-byte bitmap sector), 4 KiB aligned.
MD_FIXED_SECTORS = 8 + 64
BM_SECTORS_PER_SECTOR = 1 << 15
# Grow only when the backing device gained at least this much: LVM grows in whole extents (4 MiB by default).
GROW_MIN_BYTES = 1024 * 1024

STATE_RE = re.compile(r'^\s*(\d+):\s+cs:(\S+)(?:\s+ro:(\S+)/(\S+)\s+ds:(\S+)/(\S+))?')
OOS_RE = re.compile(r'\boos:(\d+)')
SYNCED_RE = re.compile(r"sync'ed:\s*([\d.]+)%")
FINISH_RE = re.compile(r'finish:\s*(\S+)\s+speed:\s*([\d,]+)')
SYNCING = ('SyncSource', 'SyncTarget', 'PausedSyncS', 'PausedSyncT', 'VerifyS', 'VerifyT')


class Refusal(Exception):
    """A request that would destroy data or cannot be met; nothing (more) was changed."""


def parse_proc_drbd(text):
    """{minor: state} from /proc/drbd; a minor that is not configured is absent or 'Unconfigured'."""
    states, current = {}, None
    for line in text.splitlines():
        match = STATE_RE.match(line)
        if match:
            minor, cstate, role, peer_role, disk, peer_disk = match.groups()
            current = states[int(minor)] = {
                'connection': cstate, 'role': role or 'Unconfigured', 'peer_role': peer_role or 'Unknown',
                'disk': disk or 'Unconfigured', 'peer_disk': peer_disk or 'DUnknown',
                'out_of_sync_bytes': 0, 'sync_percent': None, 'sync_finish': None, 'sync_speed_kib': None,
            }
            continue
        if current is None:
            continue
        oos = OOS_RE.search(line)
        if oos:
            current['out_of_sync_bytes'] = int(oos.group(1)) * 1024
        synced = SYNCED_RE.search(line)
        if synced:
            current['sync_percent'] = float(synced.group(1))
        finish = FINISH_RE.search(line)
        if finish:
            current['sync_finish'] = finish.group(1)
            current['sync_speed_kib'] = int(finish.group(2).replace(',', ''))
    return states


def unconfigured():
    return parse_proc_drbd(' 0: cs:Unconfigured')[0]


def is_up(state):
    return state['connection'] != 'Unconfigured'


def is_connected(state):
    return state['connection'] == 'Connected' or state['connection'] in SYNCING


def max_size_sectors(backing_sectors):
    """The largest DRBD device 8.4 makes on a backing device of that many sectors (internal metadata)."""
    bitmap = -(-backing_sectors // BM_SECTORS_PER_SECTOR)
    bitmap = -(-bitmap // 8) * 8
    return backing_sectors - bitmap - MD_FIXED_SECTORS


def current_uuid(get_gi_output):
    """The current UUID from `drbdadm get-gi` (first field of 'UUID:UUID:...:flags')."""
    return get_gi_output.strip().split(':', 1)[0].upper()


def needs_initial_sync(state, uuid):
    """Both sides connected, both Inconsistent, and this side never synced: the one case for --force."""
    return (state['connection'] == 'Connected' and state['disk'] == 'Inconsistent'
            and state['peer_disk'] == 'Inconsistent' and uuid == UUID_JUST_CREATED)


def metadata_found(rc, output):
    """From `drbdadm dump-md` (resource down): True, False only on 'No valid meta data found', else None.

    After a crash or a reboot without `down` the metadata is "unclean" (dump-md asks for apply-al, which
    `up` runs): that is metadata too. Any other failure is no answer at all.
    """
    if rc == 0 or 'apply-al' in output:
        return True
    if 'No valid meta data found' in output:
        return False
    return None


def describe(name, state):
    """One readable line per fact, for --diff."""
    if not is_up(state):
        return 'resource %s: down\n' % name
    text = ('resource %s: %s\nrole: %s/%s\ndisk: %s/%s\n' % (
        name, state['connection'], state['role'], state['peer_role'], state['disk'], state['peer_disk']))
    if state.get('size_bytes') is not None:
        text += 'size_bytes: %d\n' % state['size_bytes']
    return text

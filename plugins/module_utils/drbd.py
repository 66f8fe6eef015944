# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DRBD 8.4 resources for hakvm.cluster.drbd_resource: state parsing and the pure planning step.

Debian's kernels carry the DRBD 8.4 module; drbd-utils 9 drives it through drbdadm-84. State comes
from /proc/drbd (one line per minor, the same on every 8.4 kernel), generation identifiers from
`drbdadm get-gi`, sizes from sysfs and blockdev, Pacemaker's ownership from the CIB's resources.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import xml.etree.ElementTree as ET

# create-md writes this current UUID: the volume has never been synced nor made primary.
UUID_JUST_CREATED = '0000000000000004'
# Internal metadata of 8.4 with the default activity log (1 stripe of 32 KiB): superblock 4 KiB + AL 32 KiB,
# plus the bitmap: one bit per 4 KiB of data, allocated per 16 MiB (one 512-byte bitmap sector), 4 KiB aligned.
MD_FIXED_SECTORS = 8 + 64
BM_SECTORS_PER_SECTOR = 1 << 15
SECTOR = 512
MIB = 1024 * 1024
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


def metadata_sectors(backing_sectors):
    """Sectors 8.4's internal metadata takes at the end of a backing device of that many sectors."""
    bitmap = -(-backing_sectors // BM_SECTORS_PER_SECTOR)
    return -(-bitmap // 8) * 8 + MD_FIXED_SECTORS


def max_size_sectors(backing_sectors):
    """The largest DRBD device 8.4 makes on a backing device of that many sectors (internal metadata).

    The superblock sits in the device's last whole 4 KiB (the kernel's drbd_md_ss), the rest of the
    metadata below it; the data ends where the metadata begins.
    """
    return backing_sectors // 8 * 8 - metadata_sectors(backing_sectors)


def min_backing_bytes(data_bytes):
    """The smallest backing device, in whole 4 KiB, whose internal metadata lies beyond data_bytes.

    On 4 KiB multiples max_size_sectors never decreases (the bitmap grows by 4 KiB at most per 4 KiB),
    so every larger such device has room too.
    """
    data = -(-data_bytes // SECTOR)
    backing = -(-(data + metadata_sectors(data)) // 8) * 8
    while max_size_sectors(backing) < data:
        backing += 8
    return backing * SECTOR


def size_problem(disk, backing_bytes, data_bytes, device_bytes=None):
    """Why a DRBD device of data_bytes cannot be had on disk (backing_bytes large); None when it can.

    device_bytes is the running device's size: pinning a smaller size would make DRBD shrink the device,
    cutting off the end of the data on it.
    """
    if device_bytes is not None and device_bytes > data_bytes:
        return ('the device presents %d bytes, more than data_bytes %d: DRBD would shrink it and cut off the end of '
                'the data on it; set data_bytes to at least %d (the module never shrinks a device)'
                % (device_bytes, data_bytes, device_bytes))
    if max_size_sectors(backing_bytes // SECTOR) * SECTOR >= data_bytes:
        return None
    needed = min_backing_bytes(data_bytes)
    return ('%s holds %d bytes, too few for data_bytes %d and the internal DRBD metadata after it: the volume needs '
            'at least %d bytes (%d MiB); grow it first (hakvm.cluster.lvm_volume size: %dM; DRBD 8.4 metadata '
            'takes 36 KiB plus 32 KiB per GiB of the volume)' % (
                disk, backing_bytes, data_bytes, needed, -(-needed // MIB), -(-needed // MIB)))


def grow_target_bytes(backing_bytes, data_bytes=None):
    """The size the device may grow to: all the backing device allows, or the pinned data_bytes."""
    largest = max_size_sectors(backing_bytes // SECTOR) * SECTOR
    return largest if data_bytes is None else min(largest, data_bytes)


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


def pending_changes(adjust_dry_run):
    """What `drbdadm -d adjust` would change, as the drbdsetup verbs it prints (disk-options, connect, ...).

    Only the verbs: the lines themselves carry the options, the shared secret among them.
    """
    verbs = []
    for line in adjust_dry_run.splitlines():
        words = line.split()
        if words:
            verb = words[1] if words[0].startswith('drbdsetup') and len(words) > 1 else words[0]
            if verb not in verbs:
                verbs.append(verb)
    return verbs


def protected_state(name, state, has_disk, owner=None):
    """Why a resource that is up must be left as it is: StandAlone or (with a disk configured) Diskless.

    Both protect data: StandAlone after a split brain keeps the two diverged sides apart; Diskless after a
    failed or detached backing device serves the peer's data. The text says what was found and what the
    operator does (owner: the Pacemaker resource running it, which rules repair out); None when neither applies.
    """
    if not is_up(state):
        return None
    found = 'connection %s, role %s/%s, disk %s/%s' % (
        state['connection'], state['role'], state['peer_role'], state['disk'], state['peer_disk'])
    advice = []
    if state['connection'] == 'StandAlone':
        advice.append(
            'this side does not connect to its peer (a split brain or a manual disconnect). After a split brain, on '
            'the node whose changes are to be thrown away run `drbdadm secondary {0}; drbdadm connect '
            '--discard-my-data {0}`, on the other `drbdadm connect {0}` (if it is StandAlone too)'.format(name))
    if has_disk and state['disk'] == 'Diskless':
        advice.append(
            'this side has no backing device although one is configured (it failed or was detached): check the '
            'backing device and its kernel log (journalctl -k), then run `drbdadm attach {0}`'.format(name))
    if not advice:
        return None
    if owner:
        repair = ('Pacemaker (%s) manages it, so the module does not repair it behind Pacemaker\'s back, not even with '
                  'repair=true: resolve it by hand' % owner)
    else:
        repair = ('repair=true lets the module run `drbdadm adjust %s`, which reconnects and re-attaches but resolves '
                  'no split brain: DRBD detects it again and stays StandAlone rather than lose data' % name)
    return 'resource %s is left as it is (%s): %s. %s' % (name, found, '; '.join(advice), repair)


def pacemaker_owner(cib_xml, name):
    """The id of the CIB resource (the clone around it, or the primitive) running DRBD resource name.

    cib_xml is `cibadmin --query --scope resources` (or a whole CIB); None when no ocf:linbit:drbd
    primitive has drbd_resource=name.
    """
    root = ET.fromstring(cib_xml)
    resources = root if root.tag == 'resources' else root.find('.//resources')
    for top in (resources if resources is not None else ()):
        for primitive in top.iter('primitive'):
            if (primitive.get('class'), primitive.get('provider'), primitive.get('type')) != ('ocf', 'linbit', 'drbd'):
                continue
            for attributes in primitive.findall('instance_attributes'):
                for nvpair in attributes.findall('nvpair'):
                    if nvpair.get('name') == 'drbd_resource' and nvpair.get('value') == name:
                        return top.get('id')
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

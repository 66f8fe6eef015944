# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LVM logical volumes for hakvm.cluster.lvm_volume: sizes, report parsing and the pure planning step.

Sizes are turned into whole extents here, not by lvcreate: both DRBD hosts get exactly the same number
of extents for the same request (same extent size), so the two backing volumes are equal.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# LVM's size units are powers of 1024 whatever their case; s is a 512-byte sector.
UNITS = {'b': 1, 's': 512, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3, 't': 1024 ** 4, 'p': 1024 ** 5}
SIZE_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([bskmgtp])(?:i?b)?\s*$', re.IGNORECASE)
NAME_RE = re.compile(r'^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$')
REPORT = ['--reportformat', 'json', '--units', 'b', '--nosuffix']


class Refusal(Exception):
    """A request that would destroy data or cannot be met; nothing was changed."""


def size_bytes(size):
    """'10G' -> 10737418240. A number needs a unit: a bare '10' is ambiguous, so it is refused."""
    match = SIZE_RE.match(str(size))
    if not match:
        raise ValueError('size %r is not a number with a unit (b, s, k, m, g, t, p; e.g. 10G or 512M)' % (size,))
    value = float(match.group(1)) * UNITS[match.group(2).lower()]
    if value != int(value):
        raise ValueError('size %r is not a whole number of bytes' % (size,))
    return int(value)


def extents(nbytes, extent_size):
    """Whole extents to hold nbytes (rounded up, as lvcreate rounds)."""
    return -(-nbytes // extent_size)


def parse_report(out, kind):
    """Rows of an lvs/vgs --reportformat json report: kind is 'lv' or 'vg'."""
    rows = []
    for report in json.loads(out).get('report', []):
        rows.extend(report.get(kind, []))
    return rows


def volume(row):
    """The LV as the module returns it, from an lvs row."""
    return {
        'vg': row['vg_name'],
        'lv': row['lv_name'],
        'path': row['lv_path'],
        'size_bytes': int(row['lv_size']),
        'tags': sorted(t for t in row['lv_tags'].split(',') if t),
        'active': row.get('lv_active') == 'active',
    }


def plan(vg, lv, want_bytes, tags, current, extent_size, free_extents):
    """Steps [(verb, argv)] to make vg/lv at least want_bytes with exactly tags; raises Refusal."""
    want_extents = extents(want_bytes, extent_size)
    name = '%s/%s' % (vg, lv)
    if current is None:
        if want_extents > free_extents:
            raise Refusal('volume group %s has %d free extents of %d bytes; %s needs %d' % (
                vg, free_extents, extent_size, name, want_extents))
        # --wipesignatures: a new volume on reused extents must not show an old filesystem or DRBD metadata.
        argv = ['lvcreate', '--yes', '--wipesignatures', 'y', '--extents', str(want_extents), '--name', lv]
        for tag in tags:
            argv += ['--addtag', tag]
        return [('create', argv + [vg])]
    steps = []
    have_extents = current['size_bytes'] // extent_size
    if want_extents < have_extents:
        raise Refusal('refusing to shrink %s from %d to %d bytes: shrinking a volume (and the DRBD device or '
                      'filesystem on it) destroys data; nothing was changed' % (
                          name, current['size_bytes'], want_extents * extent_size))
    if want_extents > have_extents:
        if want_extents - have_extents > free_extents:
            raise Refusal('volume group %s has %d free extents; growing %s needs %d more' % (
                vg, free_extents, name, want_extents - have_extents))
        steps.append(('extend', ['lvextend', '--extents', str(want_extents), name]))
    add = [t for t in tags if t not in current['tags']]
    delete = [t for t in current['tags'] if t not in tags]
    if add or delete:
        argv = ['lvchange']
        for tag in add:
            argv += ['--addtag', tag]
        for tag in delete:
            argv += ['--deltag', tag]
        steps.append(('tag', argv + [name]))
    return steps

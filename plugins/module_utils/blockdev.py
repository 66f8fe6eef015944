# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Block devices for the storage modules: what a device holds or who holds it.

The storage modules refuse to write over a device that holds data. "Holds data" is read, never guessed:
the signatures libblkid finds (wipefs --no-act: partition tables, filesystems, LVM, md, DRBD metadata)
and the kernel's holders (a device opened by md, device-mapper or DRBD).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

SYS_BLOCK = '/sys/class/block'


def kernel_name(device):
    """vdb for /dev/vdb or a link to it (/dev/disk/by-id/..., /dev/md/NAME)."""
    return os.path.basename(os.path.realpath(device))


def parse_wipefs(out):
    """Signatures from `wipefs --no-act --json`: [{'type': 'ext4', 'offset': '0x438', ...}]; empty output: none."""
    if not out.strip():
        return []
    return json.loads(out).get('signatures', [])


def holders(device, sys_block=SYS_BLOCK):
    """Kernel devices that hold device open as their component (md127, dm-0, drbd0)."""
    path = os.path.join(sys_block, kernel_name(device), 'holders')
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def in_use(runner, device, ignore_types=()):
    """Why device must not be overwritten, as readable reasons; empty when it is blank and free."""
    held = holders(device)
    reasons = ['held by %s' % ', '.join(held)] if held else []
    signatures = parse_wipefs(runner.run(['wipefs', '--no-act', '--json', device])[1])
    reasons += ['%s signature at offset %s' % (sig['type'], sig['offset'])
                for sig in signatures if sig['type'] not in ignore_types]
    return reasons

# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""corosync.conf for hakvm.cluster.corosync_info: a parser, and who wrote the file.

The cluster role must never take a running cluster for a new host. Whether a corosync.conf is Debian's
stock example (the package's conffile, unchanged), ours (it carries our marker) or anything else (a
cluster built with pcs or crmsh, a hand edit) is decided positively here, never guessed from its absence
of a marker.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

# Our corosync.conf names what a reload cannot change in a comment (roles/cluster/templates/corosync.conf.j2).
IDENTITY_RE = re.compile(r'^#.*\b(?:hakvm-identity|restart-identity): *(.*?) *$', re.MULTILINE)


class ParseError(Exception):
    """The text is not corosync.conf syntax."""


def parse(text):
    """corosync.conf as nested dicts; a section name maps to a list of its occurrences (node, interface)."""
    root = {}
    stack = [root]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        if line.endswith('{'):
            name = line[:-1].strip()
            if not name:
                raise ParseError('line %d: a section without a name' % number)
            section = {}
            stack[-1].setdefault(name, []).append(section)
            stack.append(section)
        elif line == '}':
            if len(stack) == 1:
                raise ParseError('line %d: "}" closes no section' % number)
            stack.pop()
        elif ':' in line:
            key, _sep, value = line.partition(':')
            stack[-1][key.strip()] = value.strip()
        else:
            raise ParseError('line %d: cannot read %r' % (number, line))
    if len(stack) != 1:
        raise ParseError('a section is not closed')
    return root


def first(conf, *path):
    """The value at path (sections taken at their first occurrence), or None."""
    node = conf
    for name in path:
        if isinstance(node, list):
            node = node[0] if node else {}
        if not isinstance(node, dict) or name not in node:
            return None
        node = node[name]
    return node


def nodes(conf):
    """The nodelist: [{name, nodeid, ring0_addr, ring1_addr}], nodeid an int or None."""
    found = []
    for node in first(conf, 'nodelist', 'node') or []:
        nodeid = node.get('nodeid')
        found.append({
            'name': node.get('name') or node.get('ring0_addr'),
            'nodeid': int(nodeid) if nodeid and nodeid.isdigit() else None,
            'ring0_addr': node.get('ring0_addr'),
            'ring1_addr': node.get('ring1_addr'),
        })
    return found


def describe(text, stock_md5=None):
    """What a corosync.conf is: its origin (absent, debian-default, hakvm, other, unreadable) and content."""
    info = {'exists': text is not None, 'origin': 'absent', 'md5': None, 'cluster_name': None, 'nodes': [],
            'identity': None, 'transport': None, 'crypto_cipher': None, 'crypto_hash': None,
            'two_node': None, 'qdevice': False, 'error': None}
    if text is None:
        return info
    info['md5'] = hashlib.md5(text.encode('utf-8')).hexdigest()
    identity = IDENTITY_RE.search(text)
    if stock_md5 and info['md5'] == stock_md5:
        info['origin'] = 'debian-default'
    elif identity:
        info['origin'] = 'hakvm'
        info['identity'] = identity.group(1)
    else:
        info['origin'] = 'other'
    try:
        conf = parse(text)
    except ParseError as exc:
        info['error'] = str(exc)
        if info['origin'] != 'debian-default':
            info['origin'] = 'unreadable'
        return info
    info.update(
        cluster_name=first(conf, 'totem', 'cluster_name'),
        nodes=nodes(conf),
        transport=first(conf, 'totem', 'transport') or 'knet',
        crypto_cipher=first(conf, 'totem', 'crypto_cipher') or 'none',
        crypto_hash=first(conf, 'totem', 'crypto_hash') or 'none',
        two_node=first(conf, 'quorum', 'two_node') == '1',
        qdevice=first(conf, 'quorum', 'device') is not None,
    )
    return info


def conffile_md5(dpkg_conffiles, path='/etc/corosync/corosync.conf'):
    """The md5 dpkg recorded for path, from `dpkg-query -W -f='${Conffiles}' corosync`."""
    for line in dpkg_conffiles.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == path:
            return fields[1]
    return None

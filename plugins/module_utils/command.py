# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one command runner of the collection's modules: argv lists only, LC_ALL=C, errors with rc/out/err.

It is also where secrets are redacted: whatever a tool prints (drbdadm's dry runs and errors carry
`--shared-secret=...`, a dump carries `shared-secret "...";`) reaches neither an error message nor a
module result, whoever called it. Secrets found are also added to the module's no_log_values, so that
Ansible masks them anywhere else in the result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

MASK = '********'
# Secrets tools print: DRBD's shared secret, as drbdsetup options and as configuration. Each pattern's
# group 2 is the secret; groups 1 and 3 stay. Output is parsed by the callers (a CIB is XML): only these
# patterns are masked there.
OUTPUT_PATTERNS = (
    re.compile(r'(--shared-secret[= ]+)("[^"]*"|\S+)()'),
    re.compile(r'(\bshared-secret\s+)("[^"]*"|[^\s;]+)(\s*;?)'),
)
# Error messages are read by people: command-line passwords are masked there too.
SECRET_PATTERNS = OUTPUT_PATTERNS + (
    re.compile(r'(\b(?:password|passwd)\s*=\s*)("[^"]*"|\S+)()', re.IGNORECASE),
)


def secrets_in(text, patterns=SECRET_PATTERNS):
    """The secret values the patterns find in text, quotes stripped."""
    found = set()
    if not text or 'secret' not in text and 'passw' not in text.lower():
        return found
    for pattern in patterns:
        for match in pattern.finditer(text):
            value = match.group(2).strip('"')
            if value and value != MASK:
                found.add(value)
    return found


def redact(text, known=(), patterns=SECRET_PATTERNS):
    """text with every secret the patterns find, and every known value, replaced by MASK."""
    if not text:
        return text
    if 'secret' in text or 'passw' in text.lower():
        for pattern in patterns:
            text = pattern.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    for value in sorted((v for v in known if isinstance(v, str) and len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


class CommandError(Exception):
    def __init__(self, argv, rc, out, err):
        self.rc, self.out, self.err = rc, out, err
        super(CommandError, self).__init__('%s failed (rc %s): %s' % (' '.join(argv), rc, (err or out).strip()))


class Runner:
    """Runs tools for an AnsibleModule (or anything with get_bin_path and run_command).

    A binary is taken by its path, or looked up in PATH, /usr/sbin and /sbin; env is added to LC_ALL=C.
    Output and errors come back with secrets redacted (see the module docstring).
    """

    def __init__(self, module, env=None):
        self.module = module
        self.env = dict({'LC_ALL': 'C'}, **(env or {}))

    def run(self, argv, check=True, data=None):
        binary = argv[0] if os.path.isabs(argv[0]) else self.module.get_bin_path(
            argv[0], required=True, opt_dirs=['/usr/sbin', '/sbin'])
        extra = {} if data is None else {'data': data}
        rc, out, err = self.module.run_command([binary] + list(argv[1:]), environ_update=self.env, **extra)
        # Output is parsed by the callers: only the secret patterns are masked there. An error message
        # is read by people: every value the module knows to be secret is masked too.
        known = getattr(self.module, 'no_log_values', None)
        found = set(v for v in secrets_in(out, OUTPUT_PATTERNS) | secrets_in(err, OUTPUT_PATTERNS) if len(v) >= 4)
        if found and known is not None:
            known.update(found)
        out, err = redact(out, found, OUTPUT_PATTERNS), redact(err, found, OUTPUT_PATTERNS)
        if check and rc != 0:
            secret = found | set(known or ())
            raise CommandError([redact(a, secret) for a in argv], rc, redact(out, secret), redact(err, secret))
        return rc, out, err

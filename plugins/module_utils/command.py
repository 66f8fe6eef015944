# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one command runner of the collection's modules: argv lists only, LC_ALL=C, errors with rc/out/err."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


class CommandError(Exception):
    def __init__(self, argv, rc, out, err):
        self.rc, self.out, self.err = rc, out, err
        super(CommandError, self).__init__('%s failed (rc %s): %s' % (' '.join(argv), rc, (err or out).strip()))


class Runner:
    """Runs tools for an AnsibleModule (or anything with get_bin_path and run_command).

    A binary is taken by its path, or looked up in PATH, /usr/sbin and /sbin; env is added to LC_ALL=C.
    """

    def __init__(self, module, env=None):
        self.module = module
        self.env = dict({'LC_ALL': 'C'}, **(env or {}))

    def run(self, argv, check=True, data=None):
        binary = argv[0] if os.path.isabs(argv[0]) else self.module.get_bin_path(
            argv[0], required=True, opt_dirs=['/usr/sbin', '/sbin'])
        extra = {} if data is None else {'data': data}
        rc, out, err = self.module.run_command([binary] + list(argv[1:]), environ_update=self.env, **extra)
        if check and rc != 0:
            raise CommandError(argv, rc, out, err)
        return rc, out, err

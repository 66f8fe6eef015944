#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: corosync_info
short_description: What corosync and pacemaker run on a host, and who wrote its corosync.conf
version_added: 0.1.0
description:
  - Reads C(/etc/corosync/corosync.conf) and tells positively where it comes from, and returns its cluster
    name, nodes and node ids. V(absent); V(debian-default), Debian's unchanged example, whose checksum equals
    the one dpkg recorded for the package's conffile; V(hakvm), which carries the marker of hakvm.cluster's
    template; V(other), a cluster built with pcs or crmsh or a hand edit; or V(unreadable).
  - Also whether corosync runs here, its current members, and the resources the Pacemaker configuration
    holds (from the running CIB, or from the CIB on disk when Pacemaker is stopped).
  - The cluster role decides with it whether a host is new (its stack may be replaced), already ours,
    or part of a cluster it must not touch.
author: hakvm.cluster developers (@hakvm-cluster)
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Nothing changes.
options:
  path:
    description: The corosync configuration file.
    type: path
    default: /etc/corosync/corosync.conf
  cib_path:
    description: The CIB Pacemaker keeps on disk, read when C(cibadmin) cannot reach a running Pacemaker.
    type: path
    default: /var/lib/pacemaker/cib/cib.xml
'''

EXAMPLES = r'''
- name: See what runs here before changing anything
  hakvm.cluster.corosync_info:
  register: corosync

- name: Refuse to take over a cluster someone else built
  ansible.builtin.assert:
    that: corosync.config.origin in ['absent', 'debian-default', 'hakvm']
    fail_msg: "{{ corosync.config.cluster_name }} is not ours"
'''

RETURN = r'''
config:
  description: The configuration file as read.
  returned: always
  type: dict
  contains:
    exists: {description: Whether the file exists., type: bool, sample: true}
    origin: {description: "absent, debian-default, hakvm, other or unreadable.", type: str, sample: hakvm}
    md5: {description: Checksum of the file., type: str, sample: 887ff038dcd6ad88b4c6b9dd772bf4d2}
    cluster_name: {description: totem.cluster_name., type: str, sample: hakvm}
    nodes:
      description: The nodelist, in file order.
      type: list
      elements: dict
      sample: [{name: hv1, nodeid: 1, ring0_addr: 198.18.1.11, ring1_addr: 198.18.0.11}]
    identity: {description: What hakvm.cluster's file says a reload cannot change (hakvm origin only)., type: str, sample: "hakvm knet aes256 sha256 qdevice"}
    transport: {description: totem.transport., type: str, sample: knet}
    crypto_cipher: {description: totem.crypto_cipher., type: str, sample: aes256}
    crypto_hash: {description: totem.crypto_hash., type: str, sample: sha256}
    two_node: {description: Whether quorum.two_node is on., type: bool, sample: false}
    qdevice: {description: Whether a quorum device is configured., type: bool, sample: true}
    error: {description: "Why the file could not be read as corosync.conf; null when it could.", type: str, sample: null}
running:
  description: Whether corosync runs on this host.
  returned: always
  type: bool
  sample: true
members:
  description: Node ids of the current members, as corosync sees them (empty when it does not run).
  returned: always
  type: list
  elements: int
  sample: [1, 2]
resources:
  description: Ids of the top-level resources in the Pacemaker configuration (empty when there is none).
  returned: always
  type: list
  elements: str
  sample: [fence_hv1, fence_hv2, cl_ping]
'''

import os
import re
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hakvm.cluster.plugins.module_utils.command import Runner
from ansible_collections.hakvm.cluster.plugins.module_utils.corosync import conffile_md5, describe

MEMBER_RE = re.compile(r'^runtime\.members\.(\d+)\.status \(str\) = joined$', re.MULTILINE)
RESOURCE_TAGS = ('primitive', 'group', 'clone', 'master', 'bundle')


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def resources(runner, cib_path):
    rc, out, _err = runner.run(['cibadmin', '--query', '--scope', 'resources'], check=False)
    if rc == 0 and out.strip().startswith('<'):
        section = ET.fromstring(out)
    else:
        text = read_text(cib_path)
        try:
            section = ET.fromstring(text).find('configuration/resources') if text else None
        except ET.ParseError:
            section = None
    return [child.get('id') for child in (section if section is not None else []) if child.tag in RESOURCE_TAGS]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/corosync/corosync.conf'),
            cib_path=dict(type='path', default='/var/lib/pacemaker/cib/cib.xml'),
        ),
        supports_check_mode=True,
    )
    runner = Runner(module)
    path = module.params['path']
    text = read_text(path)
    if text is None and os.path.exists(path):
        config = describe('', None)
        config.update(exists=True, origin='unreadable', error='%s exists but cannot be read' % path)
    else:
        conffiles = runner.run(['dpkg-query', '-W', '-f=${Conffiles}', 'corosync'], check=False)[1]
        config = describe(text, conffile_md5(conffiles, path))
    rc, out, _err = runner.run(['corosync-cmapctl', '-b', 'runtime.members'], check=False) \
        if module.get_bin_path('corosync-cmapctl', opt_dirs=['/usr/sbin']) else (1, '', '')
    members = sorted(int(n) for n in MEMBER_RE.findall(out)) if rc == 0 else []
    found = resources(runner, module.params['cib_path']) if module.get_bin_path('cibadmin', opt_dirs=['/usr/sbin']) \
        else []
    module.exit_json(changed=False, config=config, running=rc == 0, members=members, resources=found)


if __name__ == '__main__':
    main()

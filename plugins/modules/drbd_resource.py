#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: drbd_resource
short_description: The lifecycle of one DRBD resource, safely - metadata, up, initial sync, role, resize
version_added: 0.1.0
description:
  - Brings the DRBD resource O(name), already defined in the DRBD configuration (the drbd role writes it),
    to O(state) on this host, for Debian's DRBD 8.4 kernel module driven by drbd-utils 9 (through
    C(drbdadm-84)).
  - Metadata is created only when the backing device has none, which is checked with C(drbdadm dump-md)
    ("No valid meta data found"), never guessed. Before C(create-md), the backing device is checked for
    a filesystem, partition table, LVM or other signature (C(wipefs --no-act)) and for kernel holders; any
    of them makes the module refuse, naming what it found, unless O(keep_data=true) (the data stays, the
    metadata goes after it) or O(force=true) (the data is lost).
  - A resource that is down is brought up; one that is up is adjusted only when C(drbdadm -d adjust) (a
    dry run) shows that the running settings differ from the configuration.
  - The initial sync happens exactly once, on the node with O(initial_sync_source=true), and only when both
    sides are connected, both Inconsistent, and this side's current UUID is the one create-md writes (it
    was never synced nor primary). Then C(primary --force) starts a full sync, or with
    O(skip_initial_sync=true) C(new-current-uuid --clear-bitmap) marks both sides UpToDate without one.
  - O(role) promotes or demotes. O(grow) resizes the device online once both backing devices grew and
    one side is Primary (DRBD 8.4 refuses to resize two Secondaries).
  - O(wait_uptodate) waits until both disks are UpToDate and returns the sync progress seen meanwhile.
  - States that protect data are left alone. A resource that is up but StandAlone on this side (after a split
    brain, or a manual disconnect) or Diskless although its configuration has a backing device (the device
    failed or was detached) is neither reconnected nor re-attached. The module changes nothing and fails with
    the state found and the commands that resolve it, unless O(repair=true).
  - Once Pacemaker manages the resource (the CIB, read with C(cibadmin --query --scope resources), has an
    C(ocf:linbit:drbd) primitive with C(drbd_resource) set to O(name)), the module never brings it up or down,
    adjusts it, starts the initial sync nor changes the role behind Pacemaker's back. It fails when O(role) is
    set or O(state=down), and warns when the configuration differs from the running settings (Pacemaker
    applies it when it next starts the resource). It still grows the device online (O(grow)). When Pacemaker
    is stopped on this host, the CIB it keeps on disk (C(/var/lib/pacemaker/cib/cib.xml)) is read instead;
    without either the resource counts as not managed.
  - One exception, for a host rebuilt (or given a new volume) while its peer ran on - Pacemaker cannot start a
    resource without metadata and stops trying after the first failure. When the resource is down here, its
    backing device has no metadata, the cluster runs on this host and another node runs the clone Promoted
    (C(crm_resource --locate), so it holds the data to take), the module creates the metadata - on a device with
    no signature and no holder only, never with O(force) -, clears Pacemaker's failures of the clone on this
    node (C(crm_resource --cleanup)) and warns; Pacemaker then starts the resource and it takes the peer's
    data in a full resync. Otherwise it refuses (a signature, no Promoted peer) or warns (Pacemaker not
    running here) and changes nothing.
  - Under Pacemaker, O(wait_uptodate) does not wait, as bringing the resource to UpToDate is Pacemaker's (a peer
    that is down, a full resync after a rebuild).
author: hakvm.cluster developers (@hakvm-cluster)
requirements:
  - drbd-utils 9 and the DRBD 8.4 kernel module (Debian bookworm, trixie).
attributes:
  check_mode:
    support: full
    description:
      - Reads the state, the metadata and the CIB, runs the adjust dry run, and reports the commands it would
        run; changes nothing. It refuses what a real run refuses. For a resource that is down it cannot know
        the peer, so the initial sync it predicts assumes a new peer too; a resize it predicts leaves the
        device as it is while the peer's backing device is still smaller.
  diff_mode:
    support: full
    description: Shows connection, roles, disk states and size before and after.
options:
  name:
    description: The resource name, as in its C(.res) file.
    type: str
    required: true
  state:
    description:
      - V(up) creates metadata when there is none, brings the resource up or adjusts it.
      - V(down) takes it down (fails when the device is in use).
    type: str
    default: up
    choices: [up, down]
  role:
    description: V(primary) or V(secondary). Leave it unset to keep the role (pacemaker owns it on a cluster).
    type: str
    choices: [primary, secondary]
  initial_sync_source:
    description:
      - This node is the source of the initial sync. Set it on exactly one of the two nodes.
      - Its data overwrites the peer's in the initial sync, but only while both are brand new (see above).
    type: bool
    default: false
  skip_initial_sync:
    description:
      - With O(initial_sync_source), skip the full initial sync by clearing the bitmap. Only for brand-new
        volumes that hold nothing anyone will read; whatever they hold is NOT made equal on both sides.
    type: bool
    default: false
  connect_timeout:
    description: Seconds to wait for the peer to connect when the initial sync needs it.
    type: int
    default: 120
  grow:
    description:
      - Resize the device online (C(drbdadm resize)) when this backing device has grown and one side is
        Primary (the guest runs). DRBD takes the smaller of the two sides, so the device grows once both
        backing devices grew; until then, and while both sides are Secondary, the module warns.
    type: bool
    default: true
  wait_uptodate:
    description: Seconds to wait until both disks are UpToDate (0 does not wait). Fails when the time is up.
    type: int
    default: 0
  force:
    description:
      - Create metadata on a backing device that holds a filesystem or other signature. B(With internal
        metadata this overwrites the end of the device, and the initial sync overwrites the rest of the
        peer's.) Not with O(keep_data).
    type: bool
    default: false
  data_bytes:
    description:
      - The size in bytes (a multiple of 512) the DRBD device presents, as the resource's configuration pins it
        with C(disk { size ...; }) (the drbd role writes it).
      - The module refuses, before it creates metadata or brings the resource up, when the backing device is too
        small for this size plus the internal metadata after it, naming the smallest volume that fits; and
        when the running device is larger than this size (DRBD would shrink it, cutting off the end of the
        data).
    type: int
  keep_data:
    description:
      - The backing device holds data that becomes the DRBD device's content, such as an imported guest disk.
        Metadata is created although the device holds a filesystem or other signature, but only when the
        internal metadata, at the end of the device, lies beyond the first O(data_bytes) bytes, which stay
        untouched. Otherwise the module refuses and names the volume size needed; grow the volume first
        (M(hakvm.cluster.lvm_volume)). Requires O(data_bytes).
      - Set it only on the host whose data is the initial sync source (O(initial_sync_source)), because the
        initial sync overwrites the peer's volume. Not with O(skip_initial_sync), which would leave the peer without the
        data.
      - A device held by the kernel (md, device-mapper, another DRBD) is refused all the same.
    type: bool
    default: false
  repair:
    description:
      - Run C(drbdadm adjust) on a resource that is StandAlone or Diskless on this side (see above), which
        reconnects and re-attaches it. B(It resolves no split brain.) DRBD detects it again and stays StandAlone
        rather than lose data; resolve it by hand as the module's message says.
      - Not under Pacemaker, which the module never works behind.
    type: bool
    default: false
seealso:
  - module: hakvm.cluster.lvm_volume
'''

EXAMPLES = r'''
- name: Replicate the disk of guest web1; hv1 holds the data to start from
  hakvm.cluster.drbd_resource:
    name: web1-disk0
    initial_sync_source: "{{ inventory_hostname == 'hv1' }}"
    wait_uptodate: 3600

- name: Promote it here
  hakvm.cluster.drbd_resource:
    name: web1-disk0
    role: primary

- name: Replicate an imported disk of 20 GiB; hv1 holds it, on a volume grown by the metadata size first
  hakvm.cluster.drbd_resource:
    name: db1-disk0
    data_bytes: 21474836480
    keep_data: "{{ inventory_hostname == 'hv1' }}"
    initial_sync_source: "{{ inventory_hostname == 'hv1' }}"
'''

RETURN = r'''
resource:
  description: The resource after the call (in check mode, as read before it); when the module fails, as it is then.
  returned: always
  type: dict
  contains:
    name: {description: Resource name., type: str, sample: web1-disk0}
    minor: {description: Device minor., type: int, sample: 0}
    device: {description: DRBD device., type: str, sample: /dev/drbd0}
    disk: {description: Backing device., type: str, sample: /dev/guests/web1-disk0}
    connection: {description: 'Connection state (Unconfigured when down).', type: str, sample: Connected}
    role: {description: This node's role., type: str, sample: Secondary}
    peer_role: {description: The peer's role., type: str, sample: Primary}
    disk_state: {description: This node's disk state., type: str, sample: UpToDate}
    peer_disk_state: {description: The peer's disk state., type: str, sample: UpToDate}
    sync_percent: {description: 'Sync progress in percent, while syncing; else null.', type: float, sample: 42.5}
    out_of_sync_bytes: {description: Data this node knows to be out of sync., type: int, sample: 0}
    size_bytes: {description: 'Size of the DRBD device (null when down).', type: int, sample: 209670144}
commands:
  description: The drbdadm commands run (in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: ["drbdadm create-md --force web1-disk0", "drbdadm up web1-disk0"]
managed_by_pacemaker:
  description: Whether Pacemaker manages the resource (an ocf:linbit:drbd primitive for it in the CIB).
  returned: always
  type: bool
  sample: false
sync_log:
  description: Progress seen while waiting (O(wait_uptodate)), a line every 10 seconds and one at the end.
  returned: always
  type: list
  elements: str
  sample: ["12s SyncSource 42.5% done, 110 MiB out of sync, 9,216 KiB/s"]
'''

import os
import re
import time
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hakvm.cluster.plugins.module_utils.command import CommandError, Runner
from ansible_collections.hakvm.cluster.plugins.module_utils.blockdev import holders, in_use
from ansible_collections.hakvm.cluster.plugins.module_utils.drbd import (
    GROW_MIN_BYTES, SECTOR, Refusal, current_uuid, describe, grow_target_bytes, is_connected, is_up, metadata_found,
    needs_initial_sync, pacemaker_owner, parse_proc_drbd, pending_changes, protected_state, size_problem, unconfigured)

PROC_DRBD = '/proc/drbd'
CIB_ON_DISK = '/var/lib/pacemaker/cib/cib.xml'
# crm_resource --locate: "resource ms_drbd_web1-disk0 is running on: hv1 Promoted" (Master before Pacemaker 2.1).
PROMOTED_RE = re.compile(r'is running on: (\S+) (?:Promoted|Master)\b')
SYS_SIZE = '/sys/block/drbd%d/size'
DRBDADM_84 = '/usr/lib/drbd/drbdadm-84'
POLL_S = 2
LOG_EVERY_S = 10


class Resource:
    """One resource on this host: reads its configuration and state, and runs (or, in check mode, lists) commands."""

    def __init__(self, module, runner, name):
        self.module, self.runner, self.name = module, runner, name
        self.commands = []
        # The role set_role gave this side: check mode does not change the state later steps read.
        self.role_set = None
        # Whether the CIB was read from the running cluster (not from the copy Pacemaker keeps on disk).
        self.cib_live = False
        # The 8.4 module needs the 8.4 parser; drbdadm picks it only once the module is loaded.
        version = runner.run(['modinfo', '-F', 'version', 'drbd'], check=False)[1].strip()
        self.admin = DRBDADM_84 if version.startswith('8.4') and os.path.exists(DRBDADM_84) else 'drbdadm'
        rc, out, err = runner.run([self.admin, 'sh-minor', name], check=False)
        if rc != 0:
            raise Refusal('resource %s is not defined in the DRBD configuration: %s' % (name, (err or out).strip()))
        self.minor = int(out.strip())
        self.device = '/dev/drbd%d' % self.minor
        self.disk = runner.run([self.admin, 'sh-ll-dev', name])[1].strip()

    def drbdadm(self, *args, **kwargs):
        return self.runner.run([self.admin] + list(args), **kwargs)

    def act(self, *args):
        """Run a changing drbdadm command (not in check mode); shown as plain `drbdadm ...`."""
        self.commands.append(' '.join(('drbdadm',) + args))
        if not self.module.check_mode:
            self.drbdadm(*args)

    def node_name(self):
        """This host's node name, as Pacemaker knows it."""
        return self.runner.run(['crm_node', '-n'])[1].strip()

    def promoted_on(self, owner):
        """The nodes that run owner (a promotable clone) Promoted, from `crm_resource --locate`."""
        # Pacemaker 3.0 exits non-zero when the clone runs nowhere: that is an answer too (no node).
        out = self.runner.run(['crm_resource', '--resource', owner, '--locate'], check=False)[1]
        return PROMOTED_RE.findall(out)

    def cleanup(self, owner, node):
        """Clear Pacemaker's failures of owner on this node, so that it starts the resource here again."""
        argv = ['crm_resource', '--cleanup', '--resource', owner, '--node', node]
        self.commands.append(' '.join(argv))
        if not self.module.check_mode:
            self.runner.run(argv)

    def state(self):
        text = ''
        if os.path.exists(PROC_DRBD):
            with open(PROC_DRBD) as proc:
                text = proc.read()
        state = parse_proc_drbd(text).get(self.minor) or unconfigured()
        state['size_bytes'] = None
        size_file = SYS_SIZE % self.minor
        if is_up(state) and os.path.exists(size_file):
            with open(size_file) as size:
                state['size_bytes'] = int(size.read()) * SECTOR
        return state

    def report(self, state):
        return dict(
            name=self.name, minor=self.minor, device=self.device, disk=self.disk, connection=state['connection'],
            role=state['role'], peer_role=state['peer_role'], disk_state=state['disk'], peer_disk_state=state['peer_disk'],
            sync_percent=state['sync_percent'], out_of_sync_bytes=state['out_of_sync_bytes'],
            size_bytes=state['size_bytes'])

    def wait(self, done, timeout, log=None):
        """Poll the state until done(state) or timeout seconds; returns the last state.

        log gets a progress line every LOG_EVERY_S seconds and the last one.
        """
        start = logged = time.time()
        state = self.state()
        while not done(state) and time.time() - start < timeout:
            time.sleep(POLL_S)
            state = self.state()
            now = time.time()
            if log is not None and (done(state) or now - logged >= LOG_EVERY_S):
                log.append(progress(now - start, state))
                logged = now
        return state

    def pacemaker_owner(self):
        """The Pacemaker resource that runs this one; None without cibadmin or a cluster running here."""
        if not self.module.get_bin_path('cibadmin', opt_dirs=['/usr/sbin', '/sbin']):
            return None
        rc, out, err = self.runner.run(['cibadmin', '--query', '--scope', 'resources'], check=False)
        self.cib_live = rc == 0
        if rc != 0:
            # Pacemaker is stopped here: the CIB it keeps on disk still says who owns the resource.
            if not os.path.exists(CIB_ON_DISK):
                return None
            with open(CIB_ON_DISK) as cib:
                out = cib.read()
        try:
            return pacemaker_owner(out, self.name)
        except ET.ParseError as exc:
            # Unreadable is no answer: guessing "not managed" would act behind Pacemaker's back.
            raise CommandError(['cibadmin', '--query', '--scope', 'resources'], rc, out, 'unreadable output: %s' % exc)

    def backing_bytes(self):
        return int(self.runner.run(['blockdev', '--getsize64', self.disk])[1])

    def has_metadata(self):
        rc, out, err = self.drbdadm('dump-md', self.name, check=False)
        found = metadata_found(rc, out + err)
        if found is None:
            raise CommandError(['drbdadm', 'dump-md', self.name], rc, out, err)
        return found

    def check_size(self, data_bytes, state):
        problem = size_problem(self.disk, self.backing_bytes(), data_bytes, state['size_bytes'] if is_up(state) else None)
        if problem:
            raise Refusal('resource %s: %s; nothing was changed' % (self.name, problem))

    def create_metadata(self, force, keep_data, data_bytes):
        """create-md on a backing device without metadata, once it is known to hold nothing (or keep_data, force)."""
        reasons = in_use(self.runner, self.disk)
        if reasons and keep_data:
            held = holders(self.disk)
            if held:
                raise Refusal('refusing to create DRBD metadata on %s: it is held by %s, which keep_data does not '
                              'override; nothing was changed' % (self.disk, ', '.join(held)))
            # check_size() found room for the metadata after data_bytes (keep_data requires data_bytes).
            self.module.warn('resource %s: keep_data: the data on %s (%s) is kept; the DRBD metadata goes after '
                             'its first %d bytes. The initial sync from this host overwrites the peer\'s volume'
                             % (self.name, self.disk, '; '.join(reasons), data_bytes))
        elif reasons and not force:
            raise Refusal('refusing to create DRBD metadata on %s: it holds %s (keep_data=true with data_bytes keeps '
                          'the data, when the volume has room for the metadata after it; force=true overrides and '
                          'destroys it); nothing was changed' % (self.disk, '; '.join(reasons)))
        # Checked above: no metadata and nothing else (or force, or keep_data), so drbdmeta's questions are answered.
        self.act('create-md', '--force', self.name)

    def up(self, force, keep_data, data_bytes):
        if not self.has_metadata():
            self.create_metadata(force, keep_data, data_bytes)
        self.act('up', self.name)

    def pending(self):
        """The drbdsetup verbs of `drbdadm -d adjust`: empty when the running settings match the configuration."""
        return pending_changes(self.drbdadm('-d', 'adjust', self.name)[1])

    def adjust(self):
        if self.pending():
            self.act('adjust', self.name)

    def initial_sync(self, skip, timeout):
        """Start the initial sync when it is due; True when that promoted this side (primary --force)."""
        state = self.state()
        if self.module.check_mode and not is_up(state):
            return self.start_initial_sync(skip)
        if state['disk'] == 'UpToDate' or state['peer_disk'] == 'UpToDate':
            return False
        if self.module.check_mode and not is_connected(state):
            self.module.warn('resource %s is not connected; the initial sync starts once it is' % self.name)
            return False
        state = self.wait(is_connected, timeout)
        uuid = current_uuid(self.drbdadm('get-gi', self.name)[1])
        if needs_initial_sync(state, uuid):
            return self.start_initial_sync(skip)
        if not is_connected(state):
            raise Refusal('resource %s: the peer did not connect within %d s (%s), so the initial sync cannot '
                          'start; bring it up on the peer' % (self.name, timeout, state['connection']))
        return False

    def start_initial_sync(self, skip):
        """True when it promoted this side to start a full sync."""
        if skip:
            # Both sides UpToDate at once: only for volumes nobody will read before writing.
            self.act('new-current-uuid', '--clear-bitmap', self.name)
            return False
        self.act('primary', '--force', self.name)
        return True

    def set_role(self, role):
        if self.state()['role'].lower() != role:
            self.act(role, self.name)
        self.role_set = role.capitalize()

    def grow(self, data_bytes):
        state = self.state()
        if not (state['connection'] == 'Connected' and state['disk'] == state['peer_disk'] == 'UpToDate'):
            return
        if grow_target_bytes(self.backing_bytes(), data_bytes) - state['size_bytes'] < GROW_MIN_BYTES:
            return
        if 'Primary' not in (self.role_set or state['role'], state['peer_role']):
            self.module.warn('resource %s: %s grew, but DRBD 8.4 resizes only while one side is Primary; the '
                             'device grows when this runs with one side Primary' % (self.name, self.disk))
            return
        self.act('resize', self.name)
        if not self.module.check_mode and self.state()['size_bytes'] == state['size_bytes']:
            self.module.warn('resource %s: %s grew but the device did not: the peer\'s backing device is '
                             'still smaller; grow it too' % (self.name, self.disk))
            self.commands.pop()


def progress(elapsed, state):
    text = '%ds %s %s/%s' % (elapsed, state['connection'], state['disk'], state['peer_disk'])
    if state['sync_percent'] is not None:
        text += ' %.1f%% done, %d MiB out of sync' % (state['sync_percent'], state['out_of_sync_bytes'] // 2 ** 20)
        if state['sync_speed_kib']:
            text += ', %s KiB/s' % format(state['sync_speed_kib'], ',')
    return text


def uptodate(state):
    return state['disk'] == 'UpToDate' and state['peer_disk'] == 'UpToDate'


def check_options(p):
    if p['data_bytes'] is not None and (p['data_bytes'] <= 0 or p['data_bytes'] % SECTOR):
        raise Refusal('data_bytes must be a positive multiple of 512 (DRBD sizes are in sectors), not %d' % p['data_bytes'])
    if p['keep_data'] and p['skip_initial_sync']:
        raise Refusal('keep_data keeps this host\'s data for the initial sync; skip_initial_sync would leave the peer '
                      'without it')
    if p['keep_data'] and p['force']:
        raise Refusal('keep_data keeps the data on the backing device, force destroys it: choose one')


def under_pacemaker(res, p, owner, state):
    """What the module still does when Pacemaker runs the resource: refuse, warn, grow, give a rebuilt host metadata.

    Returns whether it created metadata (rebuilt()).
    """
    if p['state'] == 'down':
        raise Refusal('resource %s is managed by Pacemaker (%s): stop it through Pacemaker, not behind its back'
                      % (res.name, owner))
    if p['role']:
        raise Refusal('resource %s is managed by Pacemaker (%s), which owns its role: promote or demote it through '
                      'Pacemaker, or leave role unset' % (res.name, owner))
    if not is_up(state):
        return rebuilt(res, p, owner)
    pending = res.pending()
    if pending:
        res.module.warn('resource %s: the configuration differs from the running settings (%s); Pacemaker (%s) '
                        'applies it when it next starts the resource, or run `drbdadm adjust %s`'
                        % (res.name, ', '.join(pending), owner, res.name))
    if p['initial_sync_source'] and state['disk'] == state['peer_disk'] == 'Inconsistent':
        res.module.warn('resource %s: both sides are Inconsistent, but Pacemaker (%s) runs it, so the initial sync is '
                        'not started behind its back' % (res.name, owner))
    if p['grow']:
        res.grow(p['data_bytes'])
    return False


def rebuilt(res, p, owner):
    """A resource Pacemaker runs, down here and without metadata: a host rebuilt, or given a new volume.

    Pacemaker cannot start it here without metadata (its start fails, and it stops trying). Metadata on a
    volume with no signature on it is what an operator would create by hand, once the peer runs the
    resource Promoted (it holds the data this side is to take); Pacemaker then starts the resource here and
    it takes the peer's data in a full resync. Never with force: a volume that holds a signature is for the
    operator to wipe. Returns whether metadata was (or, in check mode, would be) created.
    """
    if res.has_metadata():
        return False
    if not res.cib_live:
        res.module.warn('resource %s has no DRBD metadata on %s, and Pacemaker (%s) does not run on this host: '
                        'nothing was changed; run again once the cluster runs here' % (res.name, res.disk, owner))
        return False
    reasons = in_use(res.runner, res.disk)
    if reasons:
        raise Refusal('resource %s is managed by Pacemaker (%s) and has no DRBD metadata on this host, but %s holds %s: '
                      'not created behind it, not even with force. If this host was rebuilt and the volume is to take '
                      'the peer\'s data, wipe it (wipefs --all %s) and run again; nothing was changed'
                      % (res.name, owner, res.disk, '; '.join(reasons), res.disk))
    node = res.node_name()
    promoted = res.promoted_on(owner)
    if not [other for other in promoted if other != node]:
        raise Refusal('resource %s is managed by Pacemaker (%s) and has no DRBD metadata on this host, and no other node '
                      'runs it Promoted (%s): no copy is known to be good to take; nothing was changed. Create the '
                      'metadata by hand (drbdadm create-md %s) once you know which side holds the data'
                      % (res.name, owner, ', '.join(promoted) or 'none', res.name))
    res.act('create-md', '--force', res.name)
    # Pacemaker's failures of the clone here would keep it from starting the resource (a start that failed is
    # not retried).
    try:
        res.cleanup(owner, node)
    except CommandError as exc:
        raise Refusal('resource %s: created DRBD metadata on %s, but clearing Pacemaker\'s failures of %s on %s failed '
                      '(%s): run `crm resource cleanup %s` so that Pacemaker starts it here'
                      % (res.name, res.disk, owner, node, exc, owner))
    res.module.warn('resource %s: %s DRBD metadata on %s, which had none (a rebuilt host or a new volume); Pacemaker '
                    '(%s) starts the resource here and it takes the peer\'s data (Promoted on %s) in a full resync'
                    % (res.name, 'would create' if res.module.check_mode else 'created', res.disk, owner,
                       ', '.join(promoted)))
    return True


def converge(res, p, state):
    """state=up without Pacemaker: metadata, up or adjust, initial sync, role, grow."""
    if is_up(state):
        res.adjust()
    else:
        res.up(p['force'], p['keep_data'], p['data_bytes'])
    forced = p['initial_sync_source'] and res.initial_sync(p['skip_initial_sync'], p['connect_timeout'])
    if p['role']:
        res.set_role(p['role'])
    elif forced:
        # The forced promotion only starts the sync; the source goes back to Secondary.
        res.act('secondary', res.name)
    if p['grow'] and is_up(state):
        res.grow(p['data_bytes'])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='up', choices=['up', 'down']),
            role=dict(type='str', choices=['primary', 'secondary']),
            initial_sync_source=dict(type='bool', default=False),
            skip_initial_sync=dict(type='bool', default=False),
            connect_timeout=dict(type='int', default=120),
            grow=dict(type='bool', default=True),
            wait_uptodate=dict(type='int', default=0),
            force=dict(type='bool', default=False),
            data_bytes=dict(type='int'),
            keep_data=dict(type='bool', default=False),
            repair=dict(type='bool', default=False),
        ),
        required_if=[('keep_data', True, ['data_bytes'])],
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False, commands=[], sync_log=[], resource={}, managed_by_pacemaker=False)
    res = None
    try:
        check_options(p)
        res = Resource(module, Runner(module), p['name'])
        result['commands'] = res.commands
        before = res.state()
        owner = res.pacemaker_owner()
        result['managed_by_pacemaker'] = owner is not None
        if p['state'] == 'up':
            problem = protected_state(res.name, before, res.disk not in ('', 'none'), owner)
            if problem and (owner or not p['repair']):
                raise Refusal(problem)
            if p['data_bytes'] is not None:
                res.check_size(p['data_bytes'], before)
        created_under_pacemaker = False
        if owner:
            created_under_pacemaker = under_pacemaker(res, p, owner, before)
        elif p['state'] == 'down':
            if is_up(before):
                res.act('down', res.name)
        else:
            converge(res, p, before)
        after = before if module.check_mode else res.state()
        # Under Pacemaker, bringing the resource to UpToDate is Pacemaker's (a peer down, a full resync after a
        # rebuild that takes hours): not waited for.
        if p['wait_uptodate'] > 0 and not module.check_mode and p['state'] == 'up' and not owner:
            after = res.wait(uptodate, p['wait_uptodate'], result['sync_log'])
            if not uptodate(after):
                raise Refusal('resource %s: not UpToDate on both sides after %d s: %s' % (
                    res.name, p['wait_uptodate'], progress(p['wait_uptodate'], after)))
    except (Refusal, CommandError) as exc:
        if res is not None:
            result['resource'] = res.report(res.state())
        extra = dict(rc=exc.rc, stdout=exc.out, stderr=exc.err) if isinstance(exc, CommandError) else {}
        module.fail_json(msg='drbd_resource %s: %s' % (p['name'], exc), **dict(result, **extra))
    result['changed'] = bool(res.commands)
    result['resource'] = res.report(after)
    if module._diff:
        result['diff'] = dict(before=describe(res.name, before), after=describe(res.name, after))
    module.exit_json(**result)


if __name__ == '__main__':
    main()

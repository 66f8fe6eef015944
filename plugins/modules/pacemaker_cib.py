#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pacemaker_cib
short_description: Declare Pacemaker resources, constraints and properties in one CIB transaction
version_added: 0.1.0
description:
  - Brings the declared objects of a Pacemaker cluster configuration (CIB) to the declared state in one
    atomic transaction, from the node it runs on. Run it on one node only (C(run_once)).
  - Objects that are not declared are left alone. They are removed only when listed in O(remove), or, for
    resources, constraints and fencing levels, when O(remove_undeclared_objects=true).
  - That holds inside a declared group too. A member the declaration does not name (added by hand with
    C(crm configure modgroup), or dropped from the declaration) stays in the group after the declared
    members, in the order it had, unless the rules above remove it; it is then listed in RV(removed) like
    any removed resource. A member that is declared elsewhere (on its own, or in another group) moves there.
  - A clone holds one resource. When the declared resource is not the one the clone holds, the call fails
    and names both, unless the old one is removed by the rules above or declared elsewhere.
  - Declared objects are compared with the live CIB by meaning (nested element ids, nvpair order and
    interval spellings such as V(30s) and V(30000ms) do not count). Pacemaker's defaults count as absent,
    spelled out or not. These are an order's V(kind=Mandatory) (without a score), V(first-action) and
    V(then-action) V(start) and V(symmetrical) V(true) (V(false) for V(Serialize)), a constraint role
    V(Started) and V(resource-discovery=always). Where a group's meta attributes stand among its members does not count
    (C(crm resource stop) appends them); the order of the members does. An object that differs is updated in
    place, so only the resources whose definition changed are touched by Pacemaker. When everything
    matches, nothing is written and the CIB epoch stays as it is.
  - The new configuration is built from the live CIB, checked (ids, scores, references, rule syntax,
    resource agents and their parameters, then C(crm_verify) on the whole new CIB) and applied as a single
    C(crm_diff) patch through C(cibadmin --patch), which names only the changed elements. When the
    configuration version (admin_epoch, epoch) moved on since the CIB was read, the module plans again
    (up to three times) instead of applying a stale patch. Status updates do not count.
  - Bad input fails with a message that names the object, before anything is written. That includes
    structural mistakes (a group holding anything but primitives, a clone of a clone, a group without
    members, a group or clone that removals or moves would leave empty) and fencing levels for nodes the
    CIB does not know. A failed call reports C(changed=false) and empty RV(added), RV(modified) and
    RV(removed), as nothing was applied.
  - The meta attributes V(target-role) and V(is-managed) that operators set with C(crm resource stop) or
    C(crm resource unmanage) are kept on existing resources unless the declaration sets them.
author: hakvm.cluster developers (@hakvm-cluster)
requirements:
  - Pacemaker command line tools (cibadmin, crm_diff, crm_verify, crm_resource) on the node, 2.1 or newer.
attributes:
  check_mode:
    support: full
    description: Computes and validates the new CIB and reports what would change; writes nothing.
  diff_mode:
    support: full
    description: One diff per added, modified or removed object, as CIB XML.
options:
  cib_file:
    description:
      - Work on this CIB XML file instead of the live cluster (sets C(CIB_file) for the Pacemaker tools).
        For tests and offline preparation. Start from C(cibadmin --empty).
    type: path
  properties:
    description: Cluster properties, merged into V(cib-bootstrap-options). Properties not named are left alone.
    type: dict
    default: {}
  rsc_defaults:
    description: Resource defaults (meta attributes), merged into V(rsc-options).
    type: dict
    default: {}
  op_defaults:
    description: Operation defaults, merged into V(op-options).
    type: dict
    default: {}
  primitives:
    description: Primitive resources.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Resource id.
        type: str
        required: true
      agent:
        description: The agent as C(ocf:PROVIDER:TYPE), C(stonith:TYPE), C(systemd:UNIT) or C(lsb:NAME).
        type: str
        required: true
      params:
        description: Instance attributes (agent parameters).
        type: dict
        default: {}
      meta:
        description: Meta attributes.
        type: dict
        default: {}
      utilization:
        description: Utilization attributes (for placement strategies).
        type: dict
        default: {}
      operations:
        description:
          - Operations, each a dict with V(name), V(interval) (default V(0s)) and further op attributes such
            as V(timeout), V(role), V(on_fail) (underscores become dashes).
        type: list
        elements: dict
        default: []
  groups:
    description: Groups; members are started in list order.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Group id.
        type: str
        required: true
      resources:
        description: Member primitive ids, in order.
        type: list
        elements: str
        required: true
      meta:
        description: Meta attributes.
        type: dict
        default: {}
  clones:
    description: Clones and promotable clones.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Clone id.
        type: str
        required: true
      resource:
        description: The primitive or group that is cloned.
        type: str
        required: true
      promotable:
        description: A promotable clone (Promoted and Unpromoted roles).
        type: bool
        default: false
      meta:
        description: Meta attributes such as V(promoted-max) or V(notify).
        type: dict
        default: {}
  locations:
    description: Location constraints, either O(locations[].node) with a score or O(locations[].rules).
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Constraint id.
        type: str
        required: true
      resource:
        description: The constrained resource.
        type: str
        required: true
      node:
        description: Node name for a plain node preference or ban.
        type: str
      score:
        description: 'Score for O(locations[].node); V(INFINITY), V(-INFINITY) or an integer.'
        type: str
        default: INFINITY
      role:
        description: Role the node constraint applies to.
        type: str
      resource_discovery:
        description: Whether Pacemaker probes the resource on the node.
        type: str
        choices: [always, never, exclusive]
      rules:
        description:
          - Rules, each a dict with V(expression) in crmsh syntax (V(defined ATTR), V(not_defined ATTR),
            V(ATTR lt|gt|lte|gte|eq|ne [integer:|number:|version:|string:]VALUE), joined by one of V(and)
            or V(or)), V(score) (default V(-INFINITY)) and an optional V(role).
        type: list
        elements: dict
  colocations:
    description: Colocation constraints, O(colocations[].resource) placed relative to O(colocations[].with).
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Constraint id.
        type: str
        required: true
      resource:
        description: The dependent resource.
        type: str
        required: true
      with:
        description: The resource it follows.
        type: str
        required: true
      score:
        description: Score.
        type: str
        default: INFINITY
      resource_role:
        description: 'Role of O(colocations[].resource).'
        type: str
      with_role:
        description: 'Role of O(colocations[].with), for example V(Promoted).'
        type: str
  orders:
    description: Order constraints.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Constraint id.
        type: str
        required: true
      first:
        description: Resource acted on first.
        type: str
        required: true
      first_action:
        description: Action on the first resource.
        type: str
        default: start
        choices: [start, stop, promote, demote]
      then:
        description: Resource acted on second.
        type: str
        required: true
      then_action:
        description: Action on the second resource.
        type: str
        default: start
        choices: [start, stop, promote, demote]
      kind:
        description: Order kind.
        type: str
        choices: [Mandatory, Optional, Serialize]
      symmetrical:
        description: Whether the reverse order applies when stopping.
        type: bool
  fencing_topology:
    description: Fencing levels, matched with the live ones by node and index.
    type: list
    elements: dict
    default: []
    suboptions:
      node:
        description:
          - The node these devices fence, as the CIB's C(nodes) section names it (or the id of an
            C(ocf:pacemaker:remote) resource). A node the CIB does not know is refused, with the nodes it knows.
          - A CIB without any node, such as a new file from C(cibadmin --empty), refuses every level; add the
            nodes to it first (C(cibadmin --create --scope nodes)).
        type: str
        required: true
      index:
        description: Level; lower levels are tried first.
        type: int
        default: 1
      devices:
        description: Stonith resource ids that must all succeed at this level.
        type: list
        elements: str
        required: true
  remove:
    description:
      - Ids of resources, constraints or fencing levels (by id) to remove. Ids not in the CIB are ignored.
        This is also how an undeclared member of a declared group, or the old resource of a clone, is removed.
      - A resource that is running is refused unless O(force=true) (Pacemaker stops it when it is removed).
    type: list
    elements: str
    default: []
  remove_undeclared_objects:
    description:
      - Remove every resource, constraint and fencing level that is not declared in this call, also a member
        of a declared group that the declaration does not name. Properties and defaults that are not named
        are still left alone.
      - Running resources among them are refused unless O(force=true).
    type: bool
    default: false
  force:
    description: Allow removing resources that are running.
    type: bool
    default: false
  validate_agents:
    description:
      - Check that the agent of every new or changed primitive exists on this node and knows each parameter
        given (C(pcmk_*) parameters of stonith agents are Pacemaker's own and always accepted).
      - Turn off only when preparing a CIB file on a machine without the agents.
    type: bool
    default: true
notes:
  - Pacemaker 3 removed the V(Master)/V(Slave) role names. This module writes V(Promoted)/V(Unpromoted) and
    treats the old names as equal when comparing.
  - Secrets in primitive parameters, such as a fence device's password, are masked in everything the module
    returns, diffs included, without O(primitives) needing C(no_log). A parameter counts as secret when its
    name contains V(passw), V(secret), V(token) or V(community), or ends in V(key) or V(_kg) (IPMI's
    V(hexadecimal_kg)); the same holds for such parameters already in the CIB. Names ending in V(file),
    V(script), V(path) or V(dir) (V(password_script), V(identity_file)) name where a secret is kept and are
    shown. Ansible still logs the module's arguments on the node (syslog or journal) before the module
    runs; set C(no_log) on the task, or C(ANSIBLE_NO_TARGET_SYSLOG), where that matters.
seealso:
  - module: hakvm.cluster.pacemaker_node
'''

EXAMPLES = r'''
- name: One guest on DRBD, with a connectivity rule
  hakvm.cluster.pacemaker_cib:
    properties:
      stonith-enabled: true
      priority-fencing-delay: 15s
    rsc_defaults:
      resource-stickiness: 100
    primitives:
      - id: p_drbd_web
        agent: ocf:linbit:drbd
        params: {drbd_resource: web}
        operations:
          - {name: monitor, interval: 29s, role: Promoted, timeout: 20s}
          - {name: monitor, interval: 31s, role: Unpromoted, timeout: 20s}
      - id: vm_web
        agent: ocf:heartbeat:VirtualDomain
        params: {config: /etc/libvirt/qemu/web.xml, hypervisor: "qemu:///system", migration_transport: ssh}
        meta: {allow-migrate: true}
    clones:
      - {id: ms_drbd_web, resource: p_drbd_web, promotable: true,
         meta: {promoted-max: 1, clone-max: 2, notify: true, interleave: true}}
    colocations:
      - {id: col_web_on_drbd, resource: vm_web, with: ms_drbd_web, with_role: Promoted}
    orders:
      - {id: ord_drbd_before_web, first: ms_drbd_web, first_action: promote, then: vm_web}
    locations:
      - id: loc_web_connected
        resource: vm_web
        rules:
          - expression: not_defined pingd or pingd lte 0
  run_once: true

- name: Take a guest out of the cluster configuration
  hakvm.cluster.pacemaker_cib:
    remove: [col_web_on_drbd, ord_drbd_before_web, loc_web_connected, vm_web]
    force: true
  run_once: true
'''

RETURN = r'''
added:
  description: Ids of objects created (property sets by their set id).
  returned: always
  type: list
  elements: str
  sample: [p_drbd_web, ms_drbd_web]
modified:
  description: Ids of objects updated in place.
  returned: always
  type: list
  elements: str
  sample: [cib-bootstrap-options]
removed:
  description:
    - Ids of objects removed. Members of a removed group or clone are not listed separately; a member removed
      from a group or clone that stays is.
  returned: always
  type: list
  elements: str
  sample: []
epoch_before:
  description: The CIB epoch before the call.
  returned: always
  type: int
  sample: 41
epoch:
  description: The CIB epoch after the call (unchanged when nothing changed, and in check mode).
  returned: always
  type: int
  sample: 42
warnings_verify:
  description: Problems C(crm_verify) reports that the CIB already had before this call.
  returned: always
  type: list
  elements: str
  sample: []
'''

import re
import xml.etree.ElementTree as ET

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hakvm.cluster.plugins.module_utils.command import CommandError
from ansible_collections.hakvm.cluster.plugins.module_utils.pacemaker import (
    ACTIONS, CibError, PacemakerCli, Plan, agent_parameters, secret_values, unknown_parameters)

DECLARED = ('properties', 'rsc_defaults', 'op_defaults', 'primitives', 'groups', 'clones', 'locations',
            'colocations', 'orders', 'fencing_topology')


def argument_spec():
    any_dict = dict(type='dict', default={})

    def objects(**options):
        return dict(type='list', elements='dict', default=[], options=options)

    role = dict(type='str')
    actions = list(ACTIONS)
    return dict(
        cib_file=dict(type='path'),
        properties=any_dict, rsc_defaults=any_dict, op_defaults=any_dict,
        primitives=objects(id=dict(type='str', required=True), agent=dict(type='str', required=True),
                           params=any_dict, meta=any_dict, utilization=any_dict,
                           operations=dict(type='list', elements='dict', default=[])),
        groups=objects(id=dict(type='str', required=True), meta=any_dict,
                       resources=dict(type='list', elements='str', required=True)),
        clones=objects(id=dict(type='str', required=True), resource=dict(type='str', required=True),
                       promotable=dict(type='bool', default=False), meta=any_dict),
        locations=objects(id=dict(type='str', required=True), resource=dict(type='str', required=True),
                          node=dict(type='str'), score=dict(type='str', default='INFINITY'), role=role,
                          resource_discovery=dict(type='str', choices=['always', 'never', 'exclusive']),
                          rules=dict(type='list', elements='dict')),
        colocations=objects(id=dict(type='str', required=True), resource=dict(type='str', required=True),
                            score=dict(type='str', default='INFINITY'), resource_role=role, with_role=role,
                            **{'with': dict(type='str', required=True)}),
        orders=objects(id=dict(type='str', required=True), first=dict(type='str', required=True),
                       then=dict(type='str', required=True),
                       first_action=dict(type='str', default='start', choices=actions),
                       then_action=dict(type='str', default='start', choices=actions),
                       kind=dict(type='str', choices=['Mandatory', 'Optional', 'Serialize']),
                       symmetrical=dict(type='bool')),
        fencing_topology=objects(node=dict(type='str', required=True), index=dict(type='int', default=1),
                                 devices=dict(type='list', elements='str', required=True)),
        remove=dict(type='list', elements='str', default=[]),
        remove_undeclared_objects=dict(type='bool', default=False),
        force=dict(type='bool', default=False),
        validate_agents=dict(type='bool', default=True),
    )


def check_agents(cli, plan, cache):
    for agent, elements in plan.agents.items():
        if agent not in cache:
            metadata = cli.metadata(agent)
            cache[agent] = agent_parameters(metadata) if metadata else None
        for element in elements:
            if cache[agent] is None:
                raise CibError('primitive %s: unknown resource agent %s (crm_resource --show-metadata found '
                               'nothing on this node)' % (element.get('id'), agent))
            unknown = unknown_parameters(agent, element, cache[agent])
            if unknown:
                raise CibError('primitive %s: agent %s has no parameter %s'
                               % (element.get('id'), agent, ', '.join(unknown)))


def verify(cli, old_xml, new_xml):
    """crm_verify problems the new CIB introduces, and those the old one already had."""
    clean = re.compile(r'^\S+\.xml:\d+: ')  # file and line of the temporary copy
    errors = [clean.sub('', line) for line in cli.verify(new_xml)]
    if not errors:
        return [], []
    before = [clean.sub('', line) for line in cli.verify(old_xml)]
    return [line for line in errors if line not in before], before


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    # Fence devices carry passwords in their params: Ansible masks these values anywhere in the result.
    for spec in params['primitives']:
        module.no_log_values.update(secret_values((spec.get('params') or {}).items()))
    cli = PacemakerCli(module, params['cib_file'])
    declared = dict((key, params[key]) for key in DECLARED)
    metadata = {}
    # A failure returns this as it stands: until the patch is applied, nothing is reported as changed.
    result = dict(changed=False, added=[], modified=[], removed=[], warnings_verify=[])

    def fail(msg, **extra):
        module.fail_json(msg=msg, **dict(result, **extra))

    def outcome(plan):
        """The result with what the plan changes (in check mode: would change)."""
        done = dict(result)
        done.update(changed=plan.changed, added=plan.added, modified=plan.modified, removed=plan.removed)
        if module._diff:
            done['diff'] = plan.diff
        return done

    try:
        for _attempt in range(3):
            old_xml = cli.query()
            plan = Plan(old_xml, declared, params['remove'], params['remove_undeclared_objects'])
            module.no_log_values.update(plan.secrets)
            result.update(epoch_before=plan.epoch, epoch=plan.epoch)
            running = sorted(oid for oid in plan.removed_resources if plan.active(oid))
            if running and not params['force']:
                fail('Refusing to remove running resources %s without force=true (Pacemaker would stop them); '
                     'the CIB was not changed' % ', '.join(running))
            if params['validate_agents']:
                check_agents(cli, plan, metadata)
            if not plan.changed:
                module.exit_json(**outcome(plan))
            new_xml = plan.new_xml()
            introduced, result['warnings_verify'] = verify(cli, old_xml, new_xml)
            if introduced:
                fail('crm_verify rejects the new configuration; the CIB was not changed: %s' % '; '.join(introduced),
                     errors=introduced)
            if module.check_mode:
                module.exit_json(**outcome(plan))
            if cli.patch(old_xml, new_xml):
                break
        else:
            fail('The CIB configuration changed under every attempt to patch it; nothing was applied')
        result = outcome(plan)  # applied: a failure from here on still reports it
        result['epoch'] = int(ET.fromstring(cli.query()).get('epoch', '0'))
    except CibError as exc:
        fail('%s; the CIB was not changed' % exc)
    except CommandError as exc:
        fail(str(exc), rc=exc.rc, stdout=exc.out, stderr=exc.err)
    module.exit_json(**result)


if __name__ == '__main__':
    main()

# -*- coding: utf-8 -*-
# Copyright: hakvm.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pacemaker CIB planning for hakvm.cluster.

The CIB is plain XML. This file turns declared objects into CIB elements, compares them with the
live configuration semantically (ids of nested elements, nvpair order and interval spelling do not
count) and builds the new configuration. It has no Ansible imports so that it can be tested alone;
PacemakerCli at the bottom runs the pacemaker tools for a module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re
import shlex
import tempfile
import xml.etree.ElementTree as ET

from ansible_collections.hakvm.cluster.plugins.module_utils.command import CommandError, Runner

ID_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_.-]*$')
SCORE_RE = re.compile(r'^([-+]?)(inf|infinity|\d+)$', re.IGNORECASE)
INTERVAL_RE = re.compile(r'^\s*(\d+)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$')
INTERVAL_MS = {None: 1000, 's': 1000, 'sec': 1000, 'ms': 1, 'msec': 1, 'us': 0.001, 'usec': 0.001,
               'm': 60000, 'min': 60000, 'h': 3600000, 'hr': 3600000}
ROLE_ALIASES = {'master': 'Promoted', 'promoted': 'Promoted', 'slave': 'Unpromoted',
                'unpromoted': 'Unpromoted', 'started': 'Started', 'stopped': 'Stopped'}
ACTIONS = ('start', 'stop', 'promote', 'demote')
RESOURCE_TAGS = ('primitive', 'group', 'clone', 'master', 'bundle')
CONSTRAINT_TAGS = ('rsc_location', 'rsc_colocation', 'rsc_order', 'rsc_ticket')
NVSET_TAGS = ('instance_attributes', 'meta_attributes', 'utilization', 'cluster_property_set')
EMPTY_IS_ABSENT = NVSET_TAGS + ('operations',)
RULE_OPS = ('lt', 'gt', 'lte', 'gte', 'eq', 'ne')
RULE_TYPES = ('string', 'integer', 'number', 'version')
# Operators set these with crm resource stop/unmanage; a re-run keeps them unless they are declared.
OPERATOR_META = ('target-role', 'is-managed')
# Sections of <configuration>, in the order pacemaker writes them.
SECTIONS = ('crm_config', 'nodes', 'resources', 'constraints', 'fencing-topology', 'op_defaults',
            'rsc_defaults')
# What pacemaker assumes when these attributes are left out: spelled out or left out, they mean the same.
# In constraints (and rules), a role of Started applies to every role, as no role does.
ROLE_ATTRS = ('role', 'rsc-role', 'with-rsc-role')  # an op's role too, where Started is kept
ORDER_DEFAULTS = {'first-action': 'start', 'then-action': 'start'}
BOOLEANS = {'true': 'true', 'yes': 'true', 'on': 'true', 'y': 'true', '1': 'true',
            'false': 'false', 'no': 'false', 'off': 'false', 'n': 'false', '0': 'false'}
# Parameter names whose values are secrets (fence agents' password, SNMP community, API keys and
# tokens, IPMI's hexadecimal_kg); a name ending in file, script, path or dir names where a secret is kept
# (password_script, identity_file), which is not one itself.
SECRET_NAME = re.compile(r'passw|secret|token|community|key$|_kg$', re.IGNORECASE)
SECRET_PATH_NAME = re.compile(r'(file|script|path|dir)$', re.IGNORECASE)
DEFAULT_SETS = {'properties': ('crm_config', 'cluster_property_set', 'cib-bootstrap-options'),
                'rsc_defaults': ('rsc_defaults', 'meta_attributes', 'rsc-options'),
                'op_defaults': ('op_defaults', 'meta_attributes', 'op-options')}


class CibError(Exception):
    """Bad input or a configuration pacemaker would refuse; the message names the object."""


def text(value):
    """An attribute value as pacemaker writes it (YAML booleans become true/false)."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def check_id(kind, value):
    if not isinstance(value, str) or not ID_RE.match(value):
        raise CibError('%s %r: invalid id (a letter or _ first, then letters, digits, _ . -)' % (kind, value))
    return value


def score(owner, value):
    match = SCORE_RE.match(text(value).strip())
    if not match:
        raise CibError('%s: invalid score %r (an integer, INFINITY or -INFINITY)' % (owner, value))
    sign, number = match.groups()
    if number.isdigit():
        return str(int(sign + number))
    return '-INFINITY' if sign == '-' else 'INFINITY'


def role(owner, value):
    if value is None:
        return None
    try:
        return ROLE_ALIASES[text(value).lower()]
    except KeyError:
        raise CibError('%s: invalid role %r (Started, Stopped, Promoted or Unpromoted)' % (owner, value))


def interval_ms(value):
    """Milliseconds for pacemaker's interval spellings, or the text itself when it is not one."""
    match = INTERVAL_RE.match(value or '0')
    if not match:
        return value
    return str(int(int(match.group(1)) * INTERVAL_MS[match.group(2)]))


def nvset(tag, set_id, values):
    """An instance_attributes / meta_attributes / utilization element, or None when empty."""
    if not values:
        return None
    element = ET.Element(tag, id=set_id)
    for name in sorted(values):
        ET.SubElement(element, 'nvpair', id='%s-%s' % (set_id, re.sub(r'[^A-Za-z0-9_.-]', '_', name)),
                      name=name, value=text(values[name]))
    return element


def nvpairs(element):
    return dict((nv.get('name'), nv.get('value')) for nv in element.iter('nvpair')) if element is not None else {}


def is_secret(name):
    return bool(SECRET_NAME.search(name)) and not SECRET_PATH_NAME.search(name)


def secret_values(pairs):
    """The values among (name, value) pairs whose names say they are secrets, for Ansible's no_log_values:
    as given and as they are written in CIB XML (escaped). YAML booleans and empty values are left out."""
    found = set()
    for name, value in pairs:
        if not name or value is None or isinstance(value, bool) or not is_secret(name) or text(value) == '':
            continue
        found.add(text(value))
        found.add(ET.tostring(ET.Element('n', v=text(value)), encoding='unicode')[6:-4])  # <n v="..." />
    return found


def append(parent, child):
    if child is not None:
        parent.append(child)


# ---- declared objects -> elements -------------------------------------------------------------

def primitive(spec):
    rid = check_id('primitive', spec['id'])
    owner = 'primitive %s' % rid
    parts = (spec.get('agent') or '').split(':')
    if parts[0] == 'ocf' and len(parts) == 3 and all(parts):
        attrs = {'class': 'ocf', 'provider': parts[1], 'type': parts[2]}
    elif parts[0] in ('stonith', 'systemd', 'lsb', 'service') and len(parts) == 2 and parts[1]:
        attrs = {'class': parts[0], 'type': parts[1]}
    else:
        raise CibError('%s: invalid agent %r (ocf:PROVIDER:TYPE, stonith:TYPE, systemd:UNIT, lsb:NAME)'
                       % (owner, spec.get('agent')))
    element = ET.Element('primitive', id=rid, **attrs)
    append(element, nvset('instance_attributes', rid + '-instance_attributes', spec.get('params')))
    append(element, nvset('meta_attributes', rid + '-meta_attributes', spec.get('meta')))
    append(element, nvset('utilization', rid + '-utilization', spec.get('utilization')))
    ops = spec.get('operations') or []
    if ops:
        operations = ET.SubElement(element, 'operations')
        seen = set()
        for op in ops:
            op = dict(op)
            name = op.pop('name', None)
            if not name:
                raise CibError('%s: every operation needs a name' % owner)
            interval = text(op.pop('interval', None) or '0s')
            if interval_ms(interval) == interval:
                raise CibError('%s: operation %s has an invalid interval %r' % (owner, name, interval))
            key = (name, interval_ms(interval))
            if key in seen:
                raise CibError('%s: operation %s with interval %s is declared twice' % (owner, name, interval))
            seen.add(key)
            attrs = {'id': '%s-%s-%s' % (rid, name, interval), 'name': name, 'interval': interval}
            for attr, value in op.items():
                if value is not None:
                    attrs[attr.replace('_', '-')] = role(owner, value) if attr == 'role' else text(value)
            ET.SubElement(operations, 'op', attrs)
    return element


def container(tag, spec, members):
    rid = check_id(tag, spec['id'])
    element = ET.Element(tag, id=rid)
    meta = dict(spec.get('meta') or {})
    if tag == 'clone' and spec.get('promotable'):
        meta['promotable'] = True
    append(element, nvset('meta_attributes', rid + '-meta_attributes', meta))
    return element, [check_id('%s %s member' % (tag, rid), m) for m in members]


def rule(cid, spec, index):
    """A <rule> of location cid from crmsh's expression syntax: 'not_defined pingd or pingd lte 0'."""
    owner = 'location %s' % cid
    rule_id = '%s-rule%s' % (cid, '' if index == 0 else '-%d' % index)
    expression = spec.get('expression') or ''
    try:
        words = shlex.split(expression)
    except ValueError as exc:
        raise CibError('%s: rule %r: %s' % (owner, expression, exc))
    attrs = {'id': rule_id, 'score': score(owner, spec.get('score', '-INFINITY'))}
    if spec.get('role'):
        attrs['role'] = role(owner, spec['role'])
    element = ET.Element('rule', attrs)
    terms, current = [], []
    for word in words:
        if word not in ('and', 'or'):
            current.append(word)
        elif current:
            terms.append(current)
            current = []
        else:
            raise CibError('%s: rule %r has an operator without a condition before it' % (owner, expression))
    if not current:
        raise CibError('%s: rule %r is empty or ends with an operator' % (owner, expression))
    terms.append(current)
    joins = set(w for w in words if w in ('and', 'or'))
    if len(joins) > 1:
        raise CibError('%s: rule %r mixes "and" and "or"; declare one rule per operator' % (owner, expression))
    operator = joins.pop() if joins else 'and'
    element.set('boolean-op', operator)
    for number, term in enumerate(terms):
        expr_id = '%s-expression%s' % (rule_id, '' if number == 0 else '-%d' % number)
        if len(term) == 2 and term[0] in ('defined', 'not_defined'):
            ET.SubElement(element, 'expression', id=expr_id, attribute=term[1], operation=term[0])
        elif len(term) == 3 and term[1] in RULE_OPS:
            kind, _sep, value = term[2].rpartition(':')
            attrs = {'id': expr_id, 'attribute': term[0], 'operation': term[1], 'value': value if kind in RULE_TYPES else term[2]}
            if kind in RULE_TYPES:
                attrs['type'] = kind
            ET.SubElement(element, 'expression', attrs)
        else:
            raise CibError('%s: rule %r: cannot read %r (expected "defined ATTR", "not_defined ATTR" or '
                           '"ATTR lt|gt|lte|gte|eq|ne [string:|integer:|number:|version:]VALUE")'
                           % (owner, expression, ' '.join(term)))
    return element


def location(spec):
    cid = check_id('location', spec['id'])
    owner = 'location %s' % cid
    attrs = {'id': cid, 'rsc': check_id(owner + ' resource', spec.get('resource'))}
    if spec.get('resource_discovery'):
        attrs['resource-discovery'] = spec['resource_discovery']
    rules = spec.get('rules') or []
    if bool(rules) == bool(spec.get('node')):
        raise CibError('%s: give either node (with score) or rules' % owner)
    if spec.get('node'):
        attrs['node'] = spec['node']
        attrs['score'] = score(owner, spec.get('score', 'INFINITY'))
        if spec.get('role'):
            attrs['role'] = role(owner, spec['role'])
    element = ET.Element('rsc_location', attrs)
    for index, item in enumerate(rules):
        element.append(rule(cid, item, index))
    return element


def colocation(spec):
    cid = check_id('colocation', spec['id'])
    owner = 'colocation %s' % cid
    attrs = {'id': cid, 'score': score(owner, spec.get('score', 'INFINITY')),
             'rsc': check_id(owner + ' resource', spec.get('resource')),
             'with-rsc': check_id(owner + ' with', spec.get('with'))}
    if spec.get('resource_role'):
        attrs['rsc-role'] = role(owner, spec['resource_role'])
    if spec.get('with_role'):
        attrs['with-rsc-role'] = role(owner, spec['with_role'])
    return ET.Element('rsc_colocation', attrs)


def order(spec):
    cid = check_id('order', spec['id'])
    owner = 'order %s' % cid
    attrs = {'id': cid, 'first': check_id(owner + ' first', spec.get('first')),
             'then': check_id(owner + ' then', spec.get('then'))}
    for key in ('first_action', 'then_action'):
        action = spec.get(key) or 'start'
        if action not in ACTIONS:
            raise CibError('%s: invalid %s %r (one of %s)' % (owner, key, action, ', '.join(ACTIONS)))
        attrs[key.replace('_', '-')] = action
    if spec.get('kind'):
        attrs['kind'] = spec['kind']
    if spec.get('symmetrical') is not None:
        attrs['symmetrical'] = text(spec['symmetrical'])
    return ET.Element('rsc_order', attrs)


def fencing_level(spec):
    owner = 'fencing level %s/%s' % (spec.get('node'), spec.get('index'))
    devices = [check_id(owner + ' device', d) for d in spec.get('devices') or []]
    if not spec.get('node') or not devices:
        raise CibError('%s: needs a node and at least one device' % owner)
    index = int(spec.get('index') or 1)
    return ET.Element('fencing-level', id=check_id(owner, 'fl-%s-%d' % (spec['node'], index)),
                      target=spec['node'], index=str(index), devices=','.join(devices))


# ---- comparison --------------------------------------------------------------------------------

def canon(element):
    """What an element means to pacemaker, without the ids of its nested elements.

    Pacemaker's default values count as absent, and the order of nested elements does not count, except
    for the members of a group (their start order) and the expressions of a rule.
    """
    attrs = dict(element.attrib)
    attrs.pop('id', None)
    if element.tag != 'nvpair':  # most elements, with nothing to normalise
        normalise(element.tag, attrs)
    children, members = [], []
    for child in element:
        if child.tag in RESOURCE_TAGS:
            members.append(('member', child.get('id')))
        elif len(child) or child.tag not in EMPTY_IS_ABSENT:
            children.append(canon(child))
    if element.tag != 'rule':
        children.sort()  # canonical forms are tuples of text: they compare as they are
    return (element.tag, tuple(sorted(attrs.items())), tuple(children + members))


def normalise(tag, attrs):
    """attrs in one spelling: role aliases, interval and score spellings, defaults left out."""
    for key in ROLE_ATTRS:
        if key in attrs:
            attrs[key] = ROLE_ALIASES.get(attrs[key].lower(), attrs[key])
            if attrs[key] == 'Started' and tag in CONSTRAINT_TAGS + ('rule',):
                del attrs[key]
    if tag == 'rsc_order':
        for key, default in ORDER_DEFAULTS.items():
            if attrs.get(key) == default:
                del attrs[key]
        if attrs.get('kind') == 'Mandatory' and 'score' not in attrs:
            del attrs['kind']
        if 'symmetrical' in attrs:
            attrs['symmetrical'] = BOOLEANS.get(attrs['symmetrical'].lower(), attrs['symmetrical'])
            if attrs['symmetrical'] == ('false' if attrs.get('kind') == 'Serialize' else 'true'):
                del attrs['symmetrical']
    elif tag == 'rsc_location' and attrs.get('resource-discovery') == 'always':
        del attrs['resource-discovery']
    elif tag == 'op':
        attrs['interval'] = interval_ms(attrs.get('interval'))
    if 'score' in attrs and SCORE_RE.match(attrs['score']):
        attrs['score'] = score('', attrs['score'])


def pretty(element):
    if element is None:
        return ''
    shown = copy.deepcopy(element)
    for child in list(shown):
        if child.tag in RESOURCE_TAGS:  # members are objects of their own
            shown.remove(child)
            ET.SubElement(shown, child.tag, id=child.get('id'))
    ET.indent(shown)
    return ET.tostring(shown, encoding='unicode').rstrip() + '\n'


# ---- the plan ----------------------------------------------------------------------------------

class Plan:
    """The new CIB for a declaration, and what changes on the way there."""

    def __init__(self, cib_xml, declared, remove=(), remove_undeclared=False):
        self.cib_xml = cib_xml
        self._old = None
        # The plan edits this tree in place: parsing the text again is cheaper than a deep copy, and the
        # old tree is needed only when resources are removed (see active()).
        self.new = ET.fromstring(cib_xml)
        self.added, self.modified, self.removed = [], [], []
        self.diff = []
        self.agents = {}  # agent -> primitive ids that are new or changed, for metadata checks
        self.config = self.new.find('configuration')
        # Secret parameters of the live resources: a diff of a changed or removed one would show them.
        self.secrets = secret_values((nv.get('name'), nv.get('value'))
                                     for ia in self.config.iter('instance_attributes') for nv in ia.iter('nvpair'))
        self._build(declared, set(remove), remove_undeclared)

    @property
    def old(self):
        """The CIB as it was read."""
        if self._old is None:
            self._old = ET.fromstring(self.cib_xml)
        return self._old

    @property
    def changed(self):
        return bool(self.added or self.modified or self.removed)

    @property
    def epoch(self):
        return int(self.new.get('epoch', '0'))  # the plan never changes the attributes of <cib>

    def section(self, name):
        found = self.config.find(name)
        if found is None:
            found = ET.Element(name)
            position = sum(1 for s in SECTIONS[:SECTIONS.index(name)] if self.config.find(s) is not None)
            self.config.insert(position, found)
        return found

    def _note(self, kind, oid, before, after):
        if before is None:
            self.added.append(oid)
        elif after is None:
            self.removed.append(oid)
        else:
            self.modified.append(oid)
        self.diff.append({'before_header': '%s %s' % (kind, oid), 'after_header': '%s %s' % (kind, oid),
                          'before': pretty(before), 'after': pretty(after)})

    def _build(self, declared, remove, remove_undeclared):
        objects = {}   # id -> (kind, element, member ids)
        for spec in declared.get('primitives') or []:
            objects.setdefault(spec['id'], []).append(('primitive', primitive(spec), []))
        for spec in declared.get('groups') or []:
            objects.setdefault(spec['id'], []).append(('group',) + container('group', spec, spec.get('resources') or []))
        for spec in declared.get('clones') or []:
            objects.setdefault(spec['id'], []).append(('clone',) + container('clone', spec, [spec.get('resource')]))
        constraints = []
        for key, build in (('locations', location), ('colocations', colocation), ('orders', order)):
            for spec in declared.get(key) or []:
                element = build(spec)
                objects.setdefault(element.get('id'), []).append((element.tag, element, []))
                constraints.append(element)
        for oid, entries in objects.items():
            if len(entries) > 1:
                raise CibError('id %s is declared more than once (%s)' % (oid, ', '.join(e[0] for e in entries)))
        objects = dict((oid, entries[0]) for oid, entries in objects.items())
        overlap = remove & set(objects)
        if overlap:
            raise CibError('%s: both declared and listed in remove' % ', '.join(sorted(overlap)))
        resources = dict((oid, o) for oid, o in objects.items() if o[0] in RESOURCE_TAGS)
        levels = [fencing_level(spec) for spec in declared.get('fencing_topology') or []]
        self._nvsets(declared)
        self._resources(resources, remove, remove_undeclared)
        self._flat(self.section('constraints'), CONSTRAINT_TAGS, constraints, remove, remove_undeclared,
                   key=lambda e: e.get('id'))
        self._check_nodes(levels)
        if levels or self.config.find('fencing-topology') is not None:
            self._flat(self.section('fencing-topology'), ('fencing-level',), levels, remove, remove_undeclared,
                       key=lambda e: (e.get('target'), e.get('index')))
        self._check_references()

    def _check_nodes(self, levels):
        """A fencing level must name a node of the cluster: the <nodes> section, or a remote node's resource.

        A CIB without any node (a file from cibadmin --empty) refuses every level too: there is nothing to
        check a typo against. Add the nodes to such a file first.
        """
        nodes = sorted(n.get('uname') for n in self.config.iterfind('nodes/node') if n.get('uname'))
        remote = set(p.get('id') for p in self.config.iter('primitive')
                     if (p.get('class'), p.get('provider'), p.get('type')) == ('ocf', 'pacemaker', 'remote'))
        for level in levels:
            target = level.get('target')
            if target not in nodes and target not in remote:
                known = ('the CIB has: %s' % ', '.join(nodes) if nodes else
                         'the CIB lists no nodes; a file from cibadmin --empty needs them first, e.g. '
                         'cibadmin --create --scope nodes --xml-text \'<node id="1" uname="%s"/>\'' % target)
                raise CibError('fencing level %s/%s: unknown node %s (%s)'
                               % (target, level.get('index'), target, known))

    def _nvsets(self, declared):
        for key, (section_name, tag, set_id) in DEFAULT_SETS.items():
            values = dict((name, text(value)) for name, value in (declared.get(key) or {}).items())
            if not values:
                continue
            section = self.section(section_name)
            target = section.find("%s[@id='%s']" % (tag, set_id))
            if target is None:
                target = section.find(tag)
            if target is None:
                target = ET.SubElement(section, tag, id=set_id)
            before = copy.deepcopy(target)
            current = dict((nv.get('name'), nv) for nv in target.findall('nvpair'))
            for name in sorted(values):
                if name in current:
                    current[name].set('value', values[name])
                else:
                    ET.SubElement(target, 'nvpair', id='%s-%s' % (target.get('id'), name), name=name,
                                  value=values[name])
            if nvpairs(before) != nvpairs(target):
                self._note(key, target.get('id'), before if len(before) else None, target)

    @staticmethod
    def _check_structure(declared, existing):
        """A group holds primitives, a clone one primitive or one group: say which object breaks that."""
        def kind_of(oid):
            if oid in declared:
                return declared[oid][0]
            return {'master': 'clone'}.get(existing[oid].tag, existing[oid].tag) if oid in existing else None

        for oid, (kind, _element, members) in declared.items():
            if kind == 'group' and not members:
                raise CibError('group %s: no members declared (a group holds one or more primitives)' % oid)
            for member in members:
                inner = kind_of(member)
                if inner is None:
                    raise CibError('%s %s: member %s is neither declared nor in the CIB' % (kind, oid, member))
                if kind == 'group' and inner != 'primitive':
                    raise CibError('group %s: member %s is a %s; a group holds only primitives' % (oid, member, inner))
                if kind == 'clone' and inner not in ('primitive', 'group'):
                    raise CibError('clone %s: resource %s is a %s; a clone holds one primitive or one group'
                                   % (oid, member, inner))

    def _resources(self, declared, remove, remove_undeclared):
        section = self.section('resources')
        existing, parent_of = {}, {}
        for parent in section.iter():
            for child in parent:
                if child.tag in RESOURCE_TAGS:
                    existing[child.get('id')] = child
                    parent_of[child.get('id')] = parent
        wanted_parent = {}
        for oid, (kind, _element, members) in declared.items():
            for member in members:
                if member in wanted_parent:
                    raise CibError('%s %s: %s is already a member of %s' % (kind, oid, member, wanted_parent[member]))
                wanted_parent[member] = oid
        for oid, (kind, _element, _members) in declared.items():
            old = existing.get(oid)
            if old is not None and old.tag != kind and (old.tag, kind) != ('master', 'clone'):
                raise CibError('%s %s: the CIB holds a %s with that id; remove it first' % (kind, oid, old.tag))
        self._check_structure(declared, existing)
        # Undeclared: neither declared nor named as a member, wherever it is (also inside a declared group).
        undeclared = set(i for i in existing if i not in declared and i not in wanted_parent)
        dropped = set(i for i in existing if i in remove or (remove_undeclared and i in undeclared))
        # A dropped container takes its members along unless they are declared elsewhere.
        for oid in list(dropped):
            for inner in existing[oid].iter():
                if inner.tag in RESOURCE_TAGS and not (inner.get('id') in declared or inner.get('id') in wanted_parent):
                    dropped.add(inner.get('id'))
        self.removed_resources = dropped

        def place(oid):
            """The container a resource belongs in, None for the top level.

            Named as a member: that container. Declared on its own but held by a declared container that no
            longer names it: the top level. Otherwise where it is now, also when undeclared in a declared
            group: a re-apply does not take away what an operator added.
            """
            if oid in wanted_parent:
                return wanted_parent[oid]
            holder = parent_of.get(oid, section)
            if holder is section or holder.get('id') in dropped or (oid in declared and holder.get('id') in declared):
                return None
            return holder.get('id')

        def build(oid):
            if oid not in declared:
                element = existing[oid]
                for child in [c for c in element if c.tag in RESOURCE_TAGS]:
                    if child.get('id') in dropped or place(child.get('id')) != oid:
                        element.remove(child)
                    else:
                        self._swap(element, child, build(child.get('id')))
                return element
            kind, element, members = declared[oid]
            old = existing.get(oid)
            kept = [c.get('id') for c in (old if old is not None else []) if c.tag in RESOURCE_TAGS and
                    c.get('id') not in members and c.get('id') not in dropped and place(c.get('id')) == oid]
            if kind == 'clone' and kept:
                raise CibError('clone %s: declared with resource %s, but in the CIB it holds %s; list %s in remove '
                               '(or set remove_undeclared_objects, or declare it elsewhere) to replace it'
                               % (oid, members[0], kept[0], kept[0]))
            if old is not None:
                keep = dict((k, v) for k, v in nvpairs(old.find('meta_attributes')).items() if k in OPERATOR_META)
                meta = element.find('meta_attributes')
                for name, value in sorted(keep.items()):
                    if name not in nvpairs(meta):
                        if meta is None:
                            meta = ET.Element('meta_attributes', id=oid + '-meta_attributes')
                            element.insert(0, meta)
                        ET.SubElement(meta, 'nvpair', id='%s-%s' % (meta.get('id'), name), name=name, value=value)
            for member in members:
                if member in dropped:
                    raise CibError('%s %s: member %s is being removed' % (kind, oid, member))
            # Undeclared members stay after the declared ones, in the order they had.
            built = [build(member) for member in members + kept]
            element.extend(built)
            same_place = old is not None and place(oid) == (None if parent_of[oid] is section else parent_of[oid].get('id'))
            if same_place and canon(old) == canon(element):
                element = old  # unchanged: keep the live element, its ids and the places of its children
                for child, member in zip([c for c in old if c.tag in RESOURCE_TAGS], built):
                    self._swap(old, child, member)
            else:
                self._note(kind, oid, old, element)
                if kind == 'primitive':
                    agent = ':'.join(element.get(k) for k in ('class', 'provider', 'type') if element.get(k))
                    self.agents.setdefault(agent, []).append(element)
            return element

        top = [c.get('id') for c in section if c.tag in RESOURCE_TAGS]
        listed = set(top)
        top += [oid for oid in declared if oid not in listed and place(oid) is None]
        order = dict((oid, index) for index, oid in enumerate(existing))
        for oid in sorted(dropped, key=order.get):
            if not any(oid != other and existing[oid] in existing[other].iter() for other in dropped):
                self._note(existing[oid].tag, oid, existing[oid], None)
        for child in list(section):
            if child.tag in RESOURCE_TAGS:
                section.remove(child)
        for oid in top:
            if oid not in dropped and place(oid) is None:
                section.append(build(oid))
        for element in section.iter():
            if element.tag in ('group', 'clone', 'master') and not any(c.tag in RESOURCE_TAGS for c in element):
                raise CibError('%s %s would be left without members (they are being removed or are declared '
                               'elsewhere); remove it too' % (element.tag, element.get('id')))

    def _flat(self, section, tags, declared, remove, remove_undeclared, key):
        wanted = dict((key(e), e) for e in declared)
        done = set()
        for old in [c for c in section if c.tag in tags]:
            k = key(old)
            if k in wanted:
                done.add(k)
                if canon(old) != canon(wanted[k]):
                    new = wanted[k]
                    if old.get('id'):  # fencing levels are matched by target and index: keep the live id
                        new.set('id', old.get('id'))
                    self._swap(section, old, new)
                    self._note(old.tag, old.get('id'), old, new)
            elif old.get('id') in remove or remove_undeclared:
                section.remove(old)
                self._note(old.tag, old.get('id'), old, None)
        for k, element in wanted.items():
            if k not in done:
                section.append(element)
                self._note(element.tag, element.get('id'), None, element)

    @staticmethod
    def _swap(section, old, new):
        index = list(section).index(old)
        section.remove(old)
        section.insert(index, new)

    def _check_references(self):
        resources = self.config.find('resources')
        ids = set(e.get('id') for e in resources.iter() if e.tag in RESOURCE_TAGS)
        fencing = set(e.get('id') for e in resources.iter('primitive') if e.get('class') == 'stonith')
        for element in self.config.find('constraints'):
            for attr in ('rsc', 'with-rsc', 'first', 'then'):
                ref = element.get(attr)
                if ref is not None and ref not in ids:
                    why = 'which is being removed' if ref in self.removed_resources else 'which does not exist'
                    raise CibError('%s %s refers to resource %s, %s' % (element.tag, element.get('id'), ref, why))
        topology = self.config.find('fencing-topology')
        for level in topology if topology is not None else []:
            for device in (level.get('devices') or '').split(','):
                if device not in fencing:
                    raise CibError('fencing level %s/%s: %s is not a stonith resource'
                                   % (level.get('target'), level.get('index'), device))
        seen = set()
        for element in self.config.iter():
            oid = element.get('id')
            if oid is not None and element.tag != 'node':
                if oid in seen:
                    raise CibError('id %s would be used twice in the CIB (%s); rename the object' % (oid, element.tag))
                seen.add(oid)

    def active(self, oid):
        """Whether the status section shows the resource running: for a group or clone, any primitive in it
        (the status section knows only primitives, clone instances as id or id:N)."""
        primitives = set([oid])
        for element in self.old.iter():
            if element.get('id') == oid and element.tag in RESOURCE_TAGS:
                primitives.update(p.get('id') for p in element.iter('primitive'))
        status = self.old.find('status')
        for lrm in status.iter('lrm_resource') if status is not None else []:
            if lrm.get('id').split(':')[0] not in primitives:
                continue
            ops = sorted(lrm.findall('lrm_rsc_op'), key=lambda o: int(o.get('call-id', '0')))
            ops = [o for o in ops if o.get('operation') != 'monitor' or o.get('rc-code') in ('0', '8')]
            if ops and ops[-1].get('operation') not in ('stop', 'migrate_to') and \
                    ops[-1].get('rc-code') in ('0', '8'):
                return True
        return False

    def new_xml(self):
        """The new CIB (Pacemaker raises its epoch itself when the patch changes the configuration)."""
        return ET.tostring(self.new, encoding='unicode')


def agent_parameters(metadata_xml):
    root = ET.fromstring(metadata_xml)
    return set(p.get('name') for p in root.iter('parameter'))


def unknown_parameters(agent, element, known):
    params = nvpairs(element.find('instance_attributes'))
    return sorted(p for p in params if p not in known and not (agent.startswith('stonith:') and p.startswith('pcmk_')))


class PacemakerCli(Runner):
    """The pacemaker command line tools, run by an AnsibleModule (or anything with run_command)."""

    def __init__(self, module, cib_file=None):
        super(PacemakerCli, self).__init__(module, dict({'PAGER': 'cat'}, **({'CIB_file': cib_file} if cib_file else {})))

    def query(self):
        return self.run(['cibadmin', '--query'])[1]

    def metadata(self, agent):
        rc, out, err = self.run(['crm_resource', '--show-metadata', agent], check=False)
        return out if rc == 0 and out.strip().startswith('<') else None

    def verify(self, cib_xml):
        """Error lines of crm_verify for a whole CIB; empty when it is valid."""
        with tempfile.TemporaryDirectory(prefix='hakvm-cib-') as workdir:
            rc, out, err = self.run(['crm_verify', '--verbose', '--xml-file', write(workdir, 'cib.xml', cib_xml)],
                                    check=False)
        if rc == 0:
            return []
        lines = [line.strip() for line in (out + err).splitlines() if 'error' in line.lower()]
        return [line for line in lines if not line.startswith('crm_verify: Errors found')] or lines

    def patch(self, old_xml, new_xml):
        """Apply new over old as one cibadmin patch; returns False when the configuration changed meanwhile.

        The patch carries no CIB version: a versioned patch also pins num_updates, which every status
        update raises, so on a busy cluster it would be refused again and again. Instead the configuration
        version (admin_epoch, epoch) is compared just before the patch; the patch itself names only the
        changed elements, so a concurrent change elsewhere in the CIB survives it.
        """
        with tempfile.TemporaryDirectory(prefix='hakvm-cib-') as workdir:
            rc, diff, err = self.run(['crm_diff', '--no-version', '--original', write(workdir, 'old.xml', old_xml),
                                      '--new', write(workdir, 'new.xml', new_xml)], check=False)
            if rc == 0:
                return True
            if rc != 1:
                raise CommandError(['crm_diff'], rc, diff, err)
            if config_version(self.query()) != config_version(old_xml):
                return False
            self.run(['cibadmin', '--patch', '--xml-file', write(workdir, 'diff.xml', diff)])
        return True


def config_version(cib_xml):
    """(admin_epoch, epoch): what changes when the configuration changes; num_updates counts status updates."""
    root = ET.fromstring(cib_xml)
    return int(root.get('admin_epoch', '0')), int(root.get('epoch', '0'))


def write(directory, name, content):
    path = os.path.join(directory, name)
    with open(path, 'w') as handle:
        handle.write(content)
    return path

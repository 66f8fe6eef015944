"""Every conditional in the collection's playbooks, roles and scenarios is a string.

An unquoted conditional holding ': ' (e.g. search('running on: hv1')) is a YAML mapping, which
ansible-core 2.19 refuses only when the task runs; ansible-lint and the syntax check let it through.
"""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"that", "when", "failed_when", "changed_when", "until"}


def conditionals(node, where):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in KEYS:
                for expression in value if isinstance(value, list) else [value]:
                    yield where + "/" + key, expression
            yield from conditionals(value, where + "/" + str(key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from conditionals(item, "%s/%d" % (where, index))


def yaml_files():
    files = [p for d in ("roles", "molecule", "playbooks") for p in (ROOT / d).rglob("*.yml")]
    files += list(ROOT.glob("*.yml"))
    assert len(files) > 50
    return files


def test_every_conditional_is_a_string_or_a_boolean():
    broken = []
    for path in yaml_files():
        for where, expression in conditionals(yaml.safe_load(path.read_text()), ""):
            if not isinstance(expression, (str, bool)):
                broken.append("%s:%s %r" % (path.relative_to(ROOT), where, expression))
    assert broken == []


# A back-reference argument of regex_search or regex_replace, as ansible-core 2.19 reads it (checked with ansible-playbook):
# in a bare conditional the Jinja string literal is unescaped, so it must be written '\\1'; in a value
# templated with {{ }} it is not, so it must be '\1' (a '\\1' there fails: "'NoneType' object has no
# attribute 'group'"). Each file is read as YAML, so these are the characters Ansible gets.
GROUP_ARG = re.compile(r"""(?<!\\)(\\+)(?:[1-9]|g<)""")
USES_GROUPS = ("regex_search", "regex_replace")


def strings(node, where, conditional=False):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, where + "/" + str(key), conditional or key in KEYS)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from strings(item, "%s/%d" % (where, index), conditional)
    elif isinstance(node, str):
        yield where, node, conditional and "{{" not in node


def test_regex_back_references_are_escaped_as_ansible_reads_them():
    broken, checked = [], 0
    for path in yaml_files():
        for where, text, bare in strings(yaml.safe_load(path.read_text()), ""):
            if not any(name in text for name in USES_GROUPS):
                continue
            for backslashes in GROUP_ARG.findall(text):
                checked += 1
                if len(backslashes) != (2 if bare else 1):
                    broken.append("%s:%s %s" % (path.relative_to(ROOT), where, text.strip()[:120]))
    assert broken == []
    assert checked >= 15

"""Every conditional in the collection's playbooks, roles and scenarios is a string.

An unquoted conditional holding ': ' (e.g. search('running on: hv1')) is a YAML mapping, which
ansible-core 2.19 refuses only when the task runs; ansible-lint and the syntax check let it through.
"""
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


def test_every_conditional_is_a_string_or_a_boolean():
    files = [p for d in ("roles", "molecule", "playbooks") for p in (ROOT / d).rglob("*.yml")]
    files += list(ROOT.glob("*.yml"))
    assert len(files) > 50
    broken = []
    for path in files:
        for where, expression in conditionals(yaml.safe_load(path.read_text()), ""):
            if not isinstance(expression, (str, bool)):
                broken.append("%s:%s %r" % (path.relative_to(ROOT), where, expression))
    assert broken == []

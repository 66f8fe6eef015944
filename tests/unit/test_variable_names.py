"""A task's or block's own vars cannot be shadowed by a registered variable.

Ansible ranks a registered variable or a set_fact (host facts, alive for the whole ansible-playbook run)
above task and block vars. A task var named like something a play registered earlier silently reads the
registered value: the cluster scenario's crash fail-over ran 'hakvm-lab crash' against the skipped result
of the isolate pass's `register: __victim` instead of the victim's name held in the task var __victim.
"""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
INCLUDES = {"include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role"}


def walk(node, where):
    """Yield (kind, name, where) for each task/block var and each register or set_fact below node."""
    if isinstance(node, dict):
        if isinstance(node.get("register"), str):
            yield "register", node["register"], where
        for key in ("set_fact", "ansible.builtin.set_fact"):
            if isinstance(node.get(key), dict):
                for name in node[key]:
                    if name != "cacheable":
                        yield "register", name, where
        # Plays (hosts:) rank their vars below registered ones too, but are not what this is about;
        # include_role/import_role vars are role params, which rank above registered variables.
        if isinstance(node.get("vars"), dict) and "hosts" not in node and not INCLUDES & node.keys():
            for name in node["vars"]:
                yield "var", name, where
        for key, value in node.items():
            yield from walk(value, "%s/%s" % (where, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from walk(item, "%s/%d" % (where, index))


def names(paths):
    found = []
    for path in paths:
        found += [(kind, name, "%s:%s" % (path.relative_to(ROOT), where))
                  for kind, name, where in walk(yaml.safe_load(path.read_text()), "")]
    return found


def test_the_scenarios_never_register_or_set_a_name_they_use_as_a_task_var():
    scenarios = [d for d in (ROOT / "molecule").iterdir() if d.is_dir()]
    assert len(scenarios) >= 4
    clashes = []
    for scenario in scenarios:
        found = names(sorted(scenario.rglob("*.yml")))
        registered = {name for kind, name, _ in found if kind == "register"}
        clashes += [where + " " + name for kind, name, where in found if kind == "var" and name in registered]
    assert clashes == []


def test_the_roles_task_vars_carry_the_role_prefix():
    # A playbook that reuses a role may register any unprefixed name (the scenarios register __refused,
    # __running, __kept...): the role's own task vars must not be readable under such a name.
    unprefixed = []
    for tasks in sorted((ROOT / "roles").glob("*/tasks/*.yml")):
        role = tasks.parts[-3]
        unprefixed += [where + " " + name for kind, name, where in names([tasks])
                       if kind == "var" and not name.startswith(("__%s_" % role, "%s_" % role))]
    assert unprefixed == []

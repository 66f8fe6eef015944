"""Render a role's template (or an expression of its vars) with Ansible's own templating engine."""
from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLES = Path(__file__).resolve().parents[3] / "roles"


def trusted(value):
    """Strings from a role's files are templates to Ansible; mark them so, as its loader does."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [trusted(v) for v in value]
    if isinstance(value, dict):
        return dict((k, trusted(v)) for k, v in value.items())
    return value


def role_vars(role):
    """The role's defaults and vars, as Ansible would layer them."""
    merged = {}
    for part in ("defaults", "vars"):
        path = ROLES / role / part / "main.yml"
        if path.exists():
            merged.update(trusted(yaml.safe_load(path.read_text()) or {}))
    return merged


def templar(variables):
    return Templar(loader=DataLoader(), variables=variables)


def render(role, template, variables):
    text = (ROLES / role / "templates" / template).read_text()
    return templar(variables).template(trust_as_template(text))


def evaluate(expression, variables):
    """A Jinja expression ("{{ ... }}") with these variables."""
    return templar(variables).template(trust_as_template(expression))

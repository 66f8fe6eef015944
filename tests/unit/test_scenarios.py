"""Every molecule scenario proves the three things issue 10 asks of each: a converge, a second converge
with 0 changed (molecule's idempotence step) and a check-mode run of the converge playbook that reports
changed=0 on every host (a play in the scenario's side effect, since molecule has no such step)."""
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(d.name for d in (ROOT / "molecule").iterdir() if (d / "molecule.yml").exists())


def tasks(plays):
    for play in plays:
        for task in play.get("tasks", []):
            yield task
            for section in ("block", "rescue", "always"):
                yield from task.get(section, [])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_scenario_converges_twice_and_in_check_mode(scenario):
    directory = ROOT / "molecule" / scenario
    sequence = yaml.safe_load((directory / "molecule.yml").read_text())["scenario"]["test_sequence"]
    assert sequence.index("converge") < sequence.index("idempotence") < sequence.index("side_effect")

    found = list(tasks(yaml.safe_load((directory / "side_effect.yml").read_text())))
    # guests' converge.yml only wraps its site.yml in a -vvv run and a search for secrets.
    playbooks = ("/converge.yml", "/site.yml") if scenario == "guests" else ("/converge.yml",)
    own = "{{ lookup('env', 'MOLECULE_SCENARIO_DIRECTORY') }}"
    runs = [i for i, t in enumerate(found) if isinstance(t.get("ansible.builtin.command"), dict)
            and "--check" in t["ansible.builtin.command"].get("argv", [])
            and any(str(a) in (own + p for p in playbooks) for a in t["ansible.builtin.command"]["argv"])]
    assert runs, "%s: no check-mode run of its own converge playbook in side_effect.yml" % scenario
    registered = found[runs[0]]["register"]
    asserts = [t for t in found[runs[0] + 1:] if "ansible.builtin.assert" in t
               and registered + ".stdout | regex_findall('changed=([0-9]+)')" in str(t["ansible.builtin.assert"].get("that"))
               and str(t["ansible.builtin.assert"].get("that")).endswith("| max == 0")]
    assert asserts, "%s: nothing after the check-mode run asserts changed=0 on every host of %s" % (scenario, registered)


def test_there_are_scenarios():
    assert {"base", "cluster", "guests", "storage"} <= set(SCENARIOS)

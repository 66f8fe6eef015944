"""A KVM host whose peer is down (dead, or being rebuilt) is not stopped by it.

Ansible marks a host unreachable, and drops it from the play, when a task delegated to its dead peer
cannot connect. Every task of the kvm role that reaches the peer runs only when the peer answered
(the probe in tasks/preflight.yml); with it down, tasks/peer_down.yml keeps what the last run with both
hosts wrote, and refuses a host that never had it. The guests role reads both hosts' capacity without
being stopped by one that does not answer (see test_guests_templates for what it then holds back).
"""
from pathlib import Path

import pytest
import yaml

from templating import evaluate, role_vars

ROOT = Path(__file__).resolve().parents[3]
KVM = ROOT / "roles/kvm/tasks"


def tasks(path):
    return yaml.safe_load(path.read_text()) or []


def imports_with_conditions():
    """(task file, the `when` of its import in main.yml) for every file main.yml imports."""
    yield "main.yml", ""
    for task in tasks(KVM / "main.yml"):
        name = task.get("ansible.builtin.import_tasks") or task.get("ansible.builtin.include_tasks")
        if name:
            yield name, str(task.get("when", ""))


def test_every_task_that_reaches_the_peer_waits_for_the_probe():
    found = 0
    for name, import_when in imports_with_conditions():
        for task in tasks(KVM / name):
            if "delegate_to" not in task or task.get("register") == "__kvm_peer_probe":
                continue
            found += 1
            guarded = "__kvm_peer_up" in import_when or "__kvm_peer_up" in str(task.get("when", "")) \
                or "__kvm_reachable_pair" in str(task.get("loop", ""))
            assert guarded, f"{name}: {task['name']}"
    assert found >= 6


def test_the_probe_itself_survives_a_dead_peer():
    probe = next(t for t in tasks(KVM / "preflight.yml") if t.get("register") == "__kvm_peer_probe")
    assert probe["ignore_unreachable"] is True and probe["delegate_to"] == "{{ kvm_peer }}"
    assert probe["check_mode"] is False and probe["changed_when"] is False


@pytest.mark.parametrize("probe, up, pair", [
    ({"changed": False, "rc": 0}, True, ["hv-a.example.net", "hv-b.example.net"]),
    ({"unreachable": True, "msg": "Failed to connect to the host via ssh: No route to host"}, False,
     ["hv-b.example.net"]),
])
def test_the_hosts_read_on_both_are_this_host_alone_when_the_peer_is_down(probe, up, pair):
    variables = role_vars("kvm") | {"__kvm_peer_probe": probe, "inventory_hostname": "hv-b.example.net",
                                    "kvm_peer": "hv-a.example.net"}
    assert evaluate("{{ __kvm_peer_up }}", variables) is up
    assert evaluate("{{ __kvm_reachable_pair }}", variables) == pair


def preflight(name):
    return next(t for t in tasks(KVM / "preflight.yml") if t["name"] == name)


@pytest.mark.parametrize("kept, missing", [
    (["cpu", "machine pc-q35-7.2", "authorized_keys", "known_hosts"], ""),
    (["machine pc-q35-7.2", "authorized_keys", "known_hosts"], "guest CPU (/etc/hakvm/guest-cpu.xml)"),
    ([], "guest CPU (/etc/hakvm/guest-cpu.xml), machine type (/etc/hakvm/guest-machine), "
         "peer key in /root/.ssh/authorized_keys, pinned peer host key in /root/.ssh/known_hosts"),
])
def test_a_host_that_never_ran_with_its_peer_is_refused_naming_what_it_lacks(kept, missing):
    check = preflight("Fail if this host never ran the role with its peer")
    variables = role_vars("kvm") | {"__kvm_kept": {"stdout_lines": kept}}
    assert ", ".join(evaluate(check["vars"]["__kvm_missing"], variables)) == missing
    # In the preflight, before any change, and in check mode too (a real run would refuse).
    assert check["when"] == "not __kvm_peer_up" and "check_mode" not in check


@pytest.mark.parametrize("kept, passes", [
    (["cpu", "machine pc-q35-7.2"], True), (["cpu", "machine pc-q35-8.2"], False), (["cpu"], True)])
def test_the_machine_type_cannot_change_while_the_peer_is_down(kept, passes):
    check = preflight("Refuse a new machine type while the peer is down")
    variables = role_vars("kvm") | {"__kvm_kept": {"stdout_lines": kept}, "kvm_machine_type": "pc-q35-7.2"}
    assert evaluate("{{ " + check["ansible.builtin.assert"]["that"] + " }}", variables | {
        "__kvm_kept_machine": evaluate(check["vars"]["__kvm_kept_machine"], variables)}) is passes


def test_the_guests_capacity_read_survives_a_dead_host():
    # A delegated loop that meets a dead host ends the play for the host that reads (Ansible 2.19, even with
    # ignore_unreachable): hosts of the run read themselves, hosts outside it one at a time, never in a loop.
    plan = tasks(ROOT / "roles/guests/tasks/plan.yml")
    assert not any("delegate_to" in t and "loop" in t for t in plan)
    own = next(t for t in plan if t.get("register") == "__guests_own_resources")
    assert "delegate_to" not in own and "run_once" not in own
    outside = next(t for t in plan if t.get("ansible.builtin.include_tasks") == "read_host.yml")
    assert "ansible_play_hosts_all" in outside["loop"]
    read = tasks(ROOT / "roles/guests/tasks/read_host.yml")[0]
    assert read["ignore_unreachable"] is True and read["failed_when"] is False and "loop" not in read


def resources(play_hosts, play_hosts_all, outside=None):
    hosts = ["hv-a.example.net", "hv-b.example.net"]
    hostvars = {h: {"__guests_own_resources": {"rc": 0, "stdout": "4045000 2"}} for h in play_hosts}
    hostvars.setdefault(play_hosts[0], {})["__guests_outside"] = outside or {}
    variables = role_vars("guests") | {
        "__guests_plan": {"guests": [{"name": "web1", "hosts": hosts}]}, "hostvars": hostvars,
        "ansible_play_hosts": play_hosts, "ansible_play_hosts_all": play_hosts_all}
    import json
    from templating import render
    return json.loads(render("guests", "resources.json.j2", variables))["results"]


def test_each_host_offers_what_it_read_and_a_dead_or_dropped_host_is_unreachable():
    both = ["hv-a.example.net", "hv-b.example.net"]
    assert [r.get("stdout") for r in resources(both, both)] == ["4045000 2", "4045000 2"]
    # hv-b dropped from the run (unreachable at the start): never tried again.
    dropped = resources(["hv-a.example.net"], both)
    assert dropped[1] == {"item": "hv-b.example.net", "unreachable": True}
    # --limit hv-a: hv-b read through delegate_to, alive or dead.
    alive = resources(["hv-a.example.net"], ["hv-a.example.net"],
                      {"hv-b.example.net": {"rc": 0, "stdout": "8090000 4", "changed": False}})
    assert alive[1] == {"item": "hv-b.example.net", "rc": 0, "stdout": "8090000 4"}
    dead = resources(["hv-a.example.net"], ["hv-a.example.net"],
                     {"hv-b.example.net": {"unreachable": True, "msg": "Connection refused"}})
    assert dead[1] == {"item": "hv-b.example.net", "unreachable": True}

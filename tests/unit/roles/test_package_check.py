"""Each role asks dpkg before apt: apt runs only when a package of the role is not installed.

apt loads its whole cache even when there is nothing to do (15 to 25 s a role on an emulated host);
dpkg-query answers in a moment. The `when` of every role's apt task, evaluated by Ansible on
dpkg-query output as Debian prints it.
"""
from pathlib import Path

import pytest
import yaml

from templating import evaluate

ROOT = Path(__file__).resolve().parents[3]
ROLES = {
    "base": "roles/base/tasks/packages.yml", "cluster": "roles/cluster/tasks/packages.yml",
    "drbd": "roles/drbd/tasks/configure.yml", "kvm": "roles/kvm/tasks/packages.yml",
    "lvm": "roles/lvm/tasks/storage.yml", "raid": "roles/raid/tasks/arrays.yml",
    "arbitrator": "roles/arbitrator/tasks/main.yml",
}


def tasks_of(role):
    tasks = yaml.safe_load((ROOT / ROLES[role]).read_text())
    query = next(t for t in tasks if "dpkg-query" in str(t.get("ansible.builtin.command", "")))
    apt = next(t for t in tasks if "ansible.builtin.apt" in t)
    return query, apt


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_asks_dpkg_first_and_never_changes_anything_by_asking(role):
    query, apt = tasks_of(role)
    assert query["register"] == f"__{role}_dpkg"
    assert query["changed_when"] is False and query["check_mode"] is False and query["failed_when"] is False
    assert f"__{role}_dpkg.stdout_lines" in apt["when"]


# dpkg-query -W -f='${Status} ${Package}\n' mdadm drbd-utils: one missing (rc 1, a line on stderr),
# one removed with its configuration left, one held.
@pytest.mark.parametrize("lines, runs", [
    (["install ok installed mdadm", "install ok installed drbd-utils"], False),
    (["hold ok installed mdadm", "install ok installed drbd-utils"], False),
    (["install ok installed mdadm"], True),
    (["deinstall ok config-files mdadm", "install ok installed drbd-utils"], True),
    (["install ok unpacked mdadm", "install ok installed drbd-utils"], True),
    ([], True),
])
def test_apt_runs_only_when_a_package_is_missing(lines, runs):
    _, apt = tasks_of("raid")
    when = apt["when"].replace("raid_packages", "wanted")
    assert evaluate("{{ " + when + " }}", {"__raid_dpkg": {"stdout_lines": lines},
                                         "wanted": ["mdadm", "drbd-utils"]}) is runs


def test_the_query_names_every_package_quoted():
    query, _ = tasks_of("kvm")
    cmd = evaluate(query["ansible.builtin.command"], {"kvm_packages": ["qemu-system-x86", "libvirt-daemon-system"]})
    assert cmd == "dpkg-query -W -f='${Status} ${Package}\\n' qemu-system-x86 libvirt-daemon-system"


def test_the_kvm_role_installs_what_validates_the_guests_xml():
    # Found on bookworm VMs: the guests role installs each domain XML with `validate: virt-xml-validate`;
    # bookworm's virt-xml-validate (libvirt-clients 9.0) is a shell script that runs xmllint, and neither
    # libvirt-clients nor anything else of the kvm role depends on or recommends libxml2-utils, which has
    # it: "virt-xml-validate: 144: xmllint: not found", and no guest could be defined.
    domains = (ROOT / "roles/guests/tasks/domains.yml").read_text()
    assert "virt-xml-validate" in domains
    defaults = yaml.safe_load((ROOT / "roles/kvm/defaults/main.yml").read_text())
    assert "libxml2-utils" in defaults["kvm_packages"]

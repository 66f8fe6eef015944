"""The kvm role: its templates and derived variables rendered by Ansible, and its bridge helper's planning.

The helper (roles/kvm/files/hakvm-bridge) reads ifupdown's files and the running links on the host; here
its pure planning runs on file texts and `ip -json -details address show` data written as a Debian host
has them, and bridge.j2 renders what it found, as tasks/bridge.yml does.
"""
import json
from pathlib import Path

import pytest

from scripts import load_script
from templating import evaluate, render, role_vars

HELPER = Path(__file__).resolve().parents[3] / "roles" / "kvm" / "files" / "hakvm-bridge"


hb = load_script(HELPER, "hakvm_bridge")

HOSTVARS = {
    "kvm1.example.net": {"ansible_host": "203.0.113.11", "base_backplane_address": "10.99.0.11"},
    "kvm2.example.net": {"ansible_host": "203.0.113.12", "base_backplane_address": "10.99.0.12"},
    "arb.example.net": {"ansible_host": "203.0.113.13"},
}


def kvm_vars(host="kvm1.example.net", hostvars=None, **extra):
    hostvars = hostvars or HOSTVARS
    variables = dict(role_vars("kvm"), groups={"kvm_hosts": ["kvm1.example.net", "kvm2.example.net"],
                                               "arbitrator": ["arb.example.net"]},
                     hostvars=hostvars, inventory_hostname=host, inventory_hostname_short=host.split(".")[0],
                     ansible_check_mode=False)
    variables.update(hostvars[host])
    variables.update(extra)
    return variables


# ---- bridges ---------------------------------------------------------------------------------------

OWN = "/etc/network/interfaces.d/hakvm-bridge-br0"
INSTALLER = """# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug eth0
iface eth0 inet static
\taddress 203.0.113.11/24
\tgateway 203.0.113.1
\t# dns-* options are implemented by the resolvconf package, if installed
\tdns-nameservers 203.0.113.1
\tmtu 9000
iface eth0 inet6 auto
"""
BACKPLANE = "/etc/network/interfaces.d/hakvm-backplane"
BACKPLANE_TEXT = "auto eth1\niface eth1 inet static\n    address 10.99.0.11/24\n    mtu 9000\n"


def link(name, addresses=(), master=None, kind=None, up=True):
    data = {"ifname": name, "flags": ["BROADCAST", "MULTICAST"] + (["UP"] if up else []),
            "addr_info": [{"family": "inet6" if ":" in a else "inet", "local": a.split("/")[0],
                           "prefixlen": int(a.split("/")[1]), "scope": "global"} for a in addresses]}
    if master:
        data["master"] = master
    if kind:
        data["linkinfo"] = {"info_kind": kind}
    return data


def links(*items):
    return {item["ifname"]: item for item in items}


BEFORE = links(link("lo"), link("eth0", ["203.0.113.11/24"]), link("eth1", ["10.99.0.11/24"]))
AFTER = links(link("lo"), link("eth0", master="br0"), link("eth1", ["10.99.0.11/24"]),
              link("br0", ["203.0.113.11/24"], kind="bridge"))


def bridge_file(plan, name="br0", interface="eth0"):
    bridge = {"name": name} if interface is None else {"name": name, "interface": interface}
    return render("kvm", "bridge.j2", {"__kvm_bridge": bridge, "__kvm_bridge_plan": plan})


def test_the_hosts_address_moves_to_the_bridge_and_the_nic_keeps_its_link_settings():
    plan = hb.plan({"/etc/network/interfaces": INSTALLER, BACKPLANE: BACKPLANE_TEXT}, "br0", "eth0", OWN, BEFORE)
    assert plan["errors"] == [] and plan["moved_from"] == ["/etc/network/interfaces:12", "/etc/network/interfaces:18"]
    assert bridge_file(plan) == """# Managed by hakvm.cluster (kvm role): guest bridge br0. Local edits are overwritten.

# eth0 keeps its link settings; its addresses are the bridge's.
auto eth0
iface eth0 inet manual
    mtu 9000

auto br0
iface br0 inet static
    address 203.0.113.11/24
    gateway 203.0.113.1
    dns-nameservers 203.0.113.1
    bridge_ports eth0
    bridge_hw eth0
    bridge_stp off
    bridge_fd 0

iface br0 inet6 auto
"""
    assert plan["expect"] == {"bridge": "br0", "interface": "eth0", "addresses": ["203.0.113.11"], "dhcp": False}
    assert plan["running_problems"] == ["bridge br0 does not exist"]


def test_the_interfaces_old_stanza_is_commented_out_and_everything_else_kept():
    plan = hb.plan({"/etc/network/interfaces": INSTALLER, BACKPLANE: BACKPLANE_TEXT}, "br0", "eth0", OWN, BEFORE)
    assert list(plan["rewritten"]) == ["/etc/network/interfaces"]      # the backplane's file is not touched
    after = plan["rewritten"]["/etc/network/interfaces"].split("\n")
    before = INSTALLER.split("\n")
    assert len(after) == len(before)
    for old, new in zip(before, after):
        if new != old:
            assert new == "# moved to hakvm-bridge-br0: " + old
    changed = [old.strip() for old, new in zip(before, after) if new != old]
    assert changed == ["allow-hotplug eth0", "iface eth0 inet static", "address 203.0.113.11/24", "gateway 203.0.113.1",
                       "dns-nameservers 203.0.113.1", "mtu 9000", "iface eth0 inet6 auto"]
    assert [s for s in hb.parse("x", plan["rewritten"]["/etc/network/interfaces"])
            if s["kind"] == "iface" and s["words"][1] == "eth0"] == []


def test_a_second_run_finds_the_moved_stanzas_in_its_own_file_and_changes_nothing():
    first = hb.plan({"/etc/network/interfaces": INSTALLER}, "br0", "eth0", OWN, BEFORE)
    texts = {"/etc/network/interfaces": first["rewritten"]["/etc/network/interfaces"], OWN: bridge_file(first)}
    second = hb.plan(texts, "br0", "eth0", OWN, AFTER)
    assert second["errors"] == [] and second["rewritten"] == {} and second["running_problems"] == []
    assert bridge_file(second) == texts[OWN] == second["own_content"]


def test_an_auto_line_naming_other_interfaces_keeps_them():
    text = "auto eth0 eth2\niface eth0 inet dhcp\n"
    plan = hb.plan({"/etc/network/interfaces": text}, "br0", "eth0", OWN, BEFORE)
    assert plan["rewritten"]["/etc/network/interfaces"] == (
        "# moved to hakvm-bridge-br0: auto eth0 eth2\nauto eth2\n# moved to hakvm-bridge-br0: iface eth0 inet dhcp\n")
    assert plan["bridge_stanzas"] == [{"family": "inet", "method": "dhcp", "options": []}]
    assert plan["expect"]["dhcp"] is True and plan["expect"]["addresses"] == []
    assert "iface br0 inet dhcp\n    bridge_ports eth0\n    bridge_hw eth0\n" in bridge_file(plan)


def test_a_bond_keeps_its_bond_options_and_comes_up_before_the_bridge():
    text = ("auto bond0\niface bond0 inet static\n    bond-slaves eno1 eno2\n    bond-mode 802.3ad\n"
            "    address 203.0.113.11/24\n    gateway 203.0.113.1\n    post-up ip route add 198.51.100.0/24 via 203.0.113.254\n")
    plan = hb.plan({"/etc/network/interfaces": text}, "br0", "bond0", OWN,
                   links(link("bond0", ["203.0.113.11/24"], kind="bond")))
    assert plan["port_options"] == [["bond-slaves", "eno1 eno2"], ["bond-mode", "802.3ad"]]
    assert plan["warnings"] == ["/etc/network/interfaces:2: its post-up commands now run for br0"]
    rendered = bridge_file(plan, interface="bond0")
    assert rendered.index("auto bond0\niface bond0 inet manual\n    bond-slaves eno1 eno2\n") < rendered.index("auto br0")
    assert "    post-up ip route add 198.51.100.0/24 via 203.0.113.254\n    bridge_ports bond0\n" in rendered


@pytest.mark.parametrize("interface,present", [("eth2", links(link("eth2"))),
                                               ("eth0.100", links(link("eth0", ["203.0.113.11/24"]))),
                                               (None, {})])
def test_an_interface_without_addresses_or_none_just_gets_a_bridge(interface, present):
    plan = hb.plan({"/etc/network/interfaces": INSTALLER}, "br1", interface, "/x/hakvm-bridge-br1", present)
    assert plan["errors"] == [] and plan["rewritten"] == {} and plan["bridge_stanzas"] == []
    assert plan["expect"] == {"bridge": "br1", "interface": interface, "addresses": [], "dhcp": False}
    port = interface or "none"
    assert bridge_file(plan, "br1", interface) == (
        "# Managed by hakvm.cluster (kvm role): guest bridge br1. Local edits are overwritten.\n\n"
        "auto br1\niface br1 inet manual\n    bridge_ports %s\n%s    bridge_stp off\n    bridge_fd 0\n"
        % (port, "    bridge_hw %s\n" % interface if interface else ""))


def test_a_bridge_defined_by_hand_is_taken_over_with_its_addresses():
    text = "auto br0\niface br0 inet static\n  bridge_ports eth0 eth3\n  address 203.0.113.11/24\niface eth0 inet manual\n"
    plan = hb.plan({"/etc/network/interfaces": text}, "br0", "eth0", OWN,
                   links(link("eth0", master="br0"), link("br0", ["203.0.113.11/24"], kind="bridge")))
    assert plan["bridge_stanzas"] == [{"family": "inet", "method": "static", "options": [["address", "203.0.113.11/24"]]}]
    assert plan["warnings"] == ["/etc/network/interfaces: br0 had bridge_ports eth0 eth3; its port is now eth0"]
    assert plan["running_problems"] == [] and "/etc/network/interfaces" in plan["rewritten"]


@pytest.mark.parametrize("texts,present,error", [
    ({}, links(link("eth0", master="br9")), "eth0 is a port of br9 already"),
    ({}, links(link("eth0", ["203.0.113.11/24"])), "eth0 carries 203.0.113.11/24, but no ifupdown stanza configures it"),
    ({}, {}, "there is no interface eth0"),
    ({"/etc/network/interfaces": "iface eth0 inet static inherits common\n  address 203.0.113.11/24\n"},
     links(link("eth0")), "is not 'iface NAME FAMILY METHOD'"),
    ({"/etc/network/interfaces": "iface eth0 inet ppp\n  provider isp\n"}, links(link("eth0")),
     "inet ppp is not a configuration a bridge can take over"),
    ({"/etc/network/interfaces": "iface eth0 inet static\n  address 203.0.113.99/24\n",
      OWN: "auto br0\niface br0 inet static\n    address 203.0.113.11/24\n    bridge_ports eth0\n"},
     links(link("eth0")), "keep one of them"),
])
def test_what_cannot_be_moved_safely_is_refused(texts, present, error):
    present = dict(present, br0=link("br0", kind="bridge")) if "br0" not in present else present
    plan = hb.plan(texts, "br0", "eth0", OWN, present)
    assert any(error in e for e in plan["errors"]), plan["errors"]


def test_the_helper_refuses_an_own_file_named_for_another_bridge():
    # The own file is the one stanzas move into: mistaking another file for it would comment that out.
    plan = hb.plan({}, "br0", None, "/etc/network/interfaces.d/hakvm-bridge-br1", {})
    assert plan["errors"] == ["the role's own file must be named hakvm-bridge-br0, not /etc/network/interfaces.d/hakvm-bridge-br1"]


def test_a_device_of_another_kind_with_the_bridges_name_is_refused():
    plan = hb.plan({}, "br0", None, OWN, links(link("br0", kind="vlan")))
    assert plan["errors"] == ["br0 exists and is not a bridge (vlan)"]


def test_guests_attached_to_the_bridge_are_reported():
    present = dict(AFTER, vnet0=link("vnet0", master="br0"), vnet3=link("vnet3", master="br0"))
    assert hb.plan({}, "br0", "eth0", OWN, present)["guest_ports"] == ["vnet0", "vnet3"]


def test_running_problems_name_what_is_missing():
    expect = {"bridge": "br0", "interface": "eth0", "addresses": ["203.0.113.11"], "dhcp": False}
    assert hb.running_problems(expect, AFTER) == []
    down = dict(AFTER, br0=link("br0", kind="bridge", up=False), eth0=link("eth0"))
    assert hb.running_problems(expect, down) == [
        "bridge br0 is down", "eth0 is not a port of br0", "br0 lacks its address 203.0.113.11"]
    assert hb.running_problems(dict(expect, addresses=[], dhcp=True), dict(AFTER, br0=link("br0", kind="bridge"))) == [
        "br0 got no address by DHCP"]


def test_the_files_ifupdown_reads_are_followed_through_source_lines(tmp_path):
    (tmp_path / "interfaces.d").mkdir()
    (tmp_path / "more").mkdir()
    (tmp_path / "interfaces").write_text("source interfaces.d/*\nsource-directory more\n")
    (tmp_path / "interfaces.d" / "a").write_text("iface eth0 inet manual\n")
    (tmp_path / "more" / "b-1").write_text("")
    (tmp_path / "more" / "c.bak").write_text("")          # source-directory reads [A-Za-z0-9_-] names only
    assert list(hb.read_files(str(tmp_path / "interfaces"))) == [
        str(tmp_path / "interfaces"), str(tmp_path / "interfaces.d" / "a"), str(tmp_path / "more" / "b-1")]


def test_continued_lines_and_tab_separated_options_are_parsed():
    stanza = hb.parse("f", "iface eth0 inet static\n\taddress\t203.0.113.11/24\n  post-up a \\\n    b\n")[0]
    assert stanza["options"] == [["address", "203.0.113.11/24"], ["post-up", "a     b"]]
    assert (stanza["first"], stanza["last"]) == (0, 3)


# ---- SSH for libvirt's migration control ------------------------------------------------------------

PEER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPeerMigrationKey hakvm-migration@kvm2"
PEER_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPeerHostKey root@kvm2"


def test_the_ssh_config_block_reaches_the_peer_by_node_name_over_the_backplane():
    block = render("kvm", "ssh-config.j2", kvm_vars())
    assert block == ("Host kvm2 10.99.0.12\n    HostName 10.99.0.12\n    User root\n    IdentityFile /root/.ssh/hakvm_migration\n"
                     "    IdentitiesOnly yes\n    StrictHostKeyChecking yes\n    HostKeyAlgorithms ssh-ed25519\n"
                     "    BatchMode yes\n    ConnectTimeout 10\n")


def test_the_peers_node_name_comes_from_hakvm_node_name_when_set():
    hostvars = dict(HOSTVARS, **{"kvm2.example.net": dict(HOSTVARS["kvm2.example.net"], hakvm_node_name="hv-b")})
    assert render("kvm", "ssh-config.j2", kvm_vars(hostvars=hostvars)).startswith("Host hv-b 10.99.0.12\n")
    assert evaluate("{{ __kvm_peer_node_name }}", kvm_vars("kvm2.example.net")) == "kvm1"


def test_known_hosts_pins_the_peers_host_key_for_its_node_name_and_backplane_address():
    line = render("kvm", "known-hosts.j2", kvm_vars(__kvm_peer_host_key=PEER_HOST_KEY))
    assert line.strip() == "kvm2,10.99.0.12 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPeerHostKey"


def test_authorized_keys_admits_the_peers_key_from_its_backplane_address_only():
    line = render("kvm", "authorized-keys.j2", kvm_vars(__kvm_peer_migration_key=PEER_KEY))
    assert line.strip() == ('from="10.99.0.12",restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPeerMigrationKey '
                            'hakvm-migration@kvm2')


@pytest.mark.parametrize("sources,admitted", [
    ([], True), (["10.99.0.0/24"], True), (["10.99.0.12"], True), (["203.0.113.0/24", "10.0.0.0/8"], True),
    (["203.0.113.0/24", "198.51.100.10"], False), (["10.99.0.11/32"], False), (["10.99.0.0/31"], False),
])
def test_the_firewalls_ssh_sources_must_admit_the_peers_backplane_address(sources, admitted):
    result = evaluate("{{ __kvm_firewall_admits_peer | bool }}", kvm_vars(base_firewall_ssh_sources=sources))
    assert result is admitted


def test_the_peer_defaults_to_the_other_kvm_host():
    assert evaluate("{{ kvm_peer }}", kvm_vars()) == "kvm2.example.net"
    assert evaluate("{{ kvm_peer }}", kvm_vars("kvm2.example.net")) == "kvm1.example.net"
    assert evaluate("{{ __kvm_pair }}", kvm_vars("kvm2.example.net")) == ["kvm1.example.net", "kvm2.example.net"]


# ---- qemu.conf, CPU ---------------------------------------------------------------------------------

def qemu_conf(**extra):
    return {k: str(v) for k, v in evaluate("{{ __kvm_qemu_conf }}", kvm_vars(**extra)).items()}


def test_qemu_conf_listens_for_migrations_on_the_backplane_in_the_firewalls_ports():
    assert qemu_conf() == {"migration_address": '"10.99.0.11"', "migration_host": '"10.99.0.11"',
                           "migration_port_min": "49152", "migration_port_max": "49215"}
    assert qemu_conf(base_firewall_migration_ports="50000-50063")["migration_port_max"] == "50063"
    assert qemu_conf(kvm_migration_port_min=49200)["migration_port_min"] == "49200"


@pytest.mark.parametrize("domain_type,cpu,mode,model", [
    ("kvm", "baseline", "baseline", None), ("kvm", "host-model", "host-model", None),
    ("kvm", "Haswell-noTSX", "named", "Haswell-noTSX"), ("qemu", "baseline", "named", "qemu64"),
    ("qemu", "Westmere", "named", "Westmere"),
])
def test_the_cpu_mode_follows_kvm_cpu_and_tcg_uses_a_named_model(domain_type, cpu, mode, model):
    variables = kvm_vars(kvm_domain_type=domain_type, kvm_cpu=cpu)
    assert evaluate("{{ __kvm_cpu_mode }}", variables) == mode
    if model:
        assert evaluate("{{ __kvm_cpu_named }}", variables) == (
            "<cpu mode='custom' match='exact'>\n  <model fallback='forbid'>%s</model>\n</cpu>" % model)


def test_libvirt_is_asked_about_the_guests_hypervisor_and_machine_type():
    assert evaluate("{{ __kvm_virsh_guest_args }}", kvm_vars(kvm_domain_type="qemu")) == [
        "--virttype", "qemu", "--arch", "x86_64", "--machine", "pc-q35-7.2"]


def test_the_helper_plans_as_json():
    plan = hb.plan({"/etc/network/interfaces": INSTALLER}, "br0", "eth0", OWN, BEFORE)
    assert json.loads(json.dumps(plan)) == plan

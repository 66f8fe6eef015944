"""The base role's firewall and /etc/hosts templates, rendered by Ansible's own templating engine."""
import json
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[3] / "roles" / "base"
HOSTVARS = {
    "hv1": {"ansible_host": "198.51.100.11", "base_backplane_address": "192.0.2.11"},
    "hv2": {"ansible_host": "198.51.100.12", "base_backplane_address": "192.0.2.12"},
    "arb": {"ansible_host": "198.51.100.13"},
}
GROUPS = {"hakvm_cluster": ["hv1", "hv2", "arb"], "kvm_hosts": ["hv1", "hv2"], "arbitrator": ["arb"]}


def render(template, host, **extra):
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables = dict(defaults, **HOSTVARS[host])
    variables.update(
        inventory_hostname=host, groups=GROUPS, hostvars=HOSTVARS, ansible_managed="managed",
        base_lan_address=HOSTVARS[host]["ansible_host"],
        __base_is_kvm_host=host in GROUPS["kvm_hosts"], __base_is_arbitrator=host in GROUPS["arbitrator"],
    )
    variables.update(extra)
    text = (ROLE / "templates" / template).read_text()
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(text))


def hosts_entries(text):
    return {line.split()[-1]: line.split()[0] for line in text.splitlines()
            if line and not line.startswith(("#", "127.", "::1", "ff02"))}


def test_hosts_use_the_backplane_between_kvm_hosts_and_the_lan_for_the_arbitrator():
    assert hosts_entries(render("hosts.j2", "hv1")) == {
        "hv1": "192.0.2.11", "hv2": "192.0.2.12", "arb": "198.51.100.13"}
    assert hosts_entries(render("hosts.j2", "arb")) == {
        "hv1": "198.51.100.11", "hv2": "198.51.100.12", "arb": "198.51.100.13"}


def test_hosts_with_domain_and_extra_entries():
    text = render("hosts.j2", "hv1", base_domain="example.net",
                  base_etc_hosts_extra=[{"address": "198.51.100.50", "names": ["backup", "bk"]}])
    assert "192.0.2.12\thv2.example.net hv2" in text
    assert "198.51.100.50\tbackup bk" in text


def test_kvm_host_opens_cluster_ports_to_peers_only():
    text = render("hakvm.nft.j2", "hv1")
    assert "policy drop;" in text
    assert "elements = { 192.0.2.12 }" in text                      # backplane peers: hv2 only
    assert "elements = { 198.51.100.12, 198.51.100.13 }" in text    # LAN peers
    assert 'iifname "eth1" ip saddr @backplane_peers tcp dport { 7788-7899 } accept' in text
    assert 'iifname "eth1" ip saddr @backplane_peers udp dport { 5405-5406 } accept' in text
    assert "5403" not in text


def test_arbitrator_opens_qnetd_to_the_hosts_of_every_cluster_it_serves():
    # tasks/qnetd_clients.yml: this inventory's KVM hosts plus the lists other clusters' runs left.
    clients = ["198.51.100.11", "198.51.100.12", "203.0.113.21", "203.0.113.22"]
    text = render("hakvm.nft.j2", "arb", __base_qnetd_clients=clients)
    assert "ip saddr { %s } tcp dport 5403 accept" % ", ".join(clients) in text
    assert "7788" not in text and "backplane_peers" not in text


def test_node_names_in_etc_hosts_follow_hakvm_node_name():
    hostvars = dict(HOSTVARS, **{"kvm-a.example.net": {"ansible_host": "198.51.100.21", "base_backplane_address": "192.0.2.21"},
                                 "hv9": {"ansible_host": "198.51.100.29", "hakvm_node_name": "server-29"}})
    groups = {"hakvm_cluster": ["kvm-a.example.net", "hv9", "arb"], "kvm_hosts": ["kvm-a.example.net", "hv9"],
              "arbitrator": ["arb"]}
    entries = hosts_entries(render("hosts.j2", "arb", hostvars=hostvars, groups=groups))
    assert entries == {"kvm-a": "198.51.100.21", "server-29": "198.51.100.29", "arb": "198.51.100.13"}


@pytest.mark.parametrize("sources, rule", [
    ([], 'tcp dport 22 accept comment "ssh"'),
    (["203.0.113.0/24"], 'ip saddr @ssh_sources tcp dport 22 accept comment "ssh"'),
])
def test_ssh_sources(sources, rule):
    text = render("hakvm.nft.j2", "hv2", base_firewall_ssh_sources=sources)
    assert rule in text


def test_table_replaces_itself_without_flushing_other_tables():
    text = render("hakvm.nft.j2", "hv1")
    assert text.index("table inet hakvm\n") < text.index("delete table inet hakvm") < text.index("table inet hakvm {")
    assert "flush ruleset" not in text


def test_node_names_must_be_host_names_and_unique():
    def errors(hosts, **hostvars):
        defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
        variables = dict(defaults, groups={"hakvm_cluster": hosts}, hostvars={h: hostvars.get(h, {}) for h in hosts})
        text = (ROLE / "templates" / "node_names.json.j2").read_text()
        return json.loads(Templar(loader=DataLoader(), variables=variables).template(trust_as_template(text)))
    assert errors(["kvm-a.example.net", "kvm-b.example.net", "arb-1"]) == []
    ips = " | ".join(errors(["192.0.2.11", "192.0.2.12"]))
    assert "192.0.2.11: node name 192 is not a valid host name" in ips
    dup = errors(["hv1.site-a.example", "hv1.site-b.example"])
    assert dup == ["hv1.site-b.example: node name hv1 is also hv1.site-a.example's"]
    assert errors(["192.0.2.11", "192.0.2.12"], **{"192.0.2.11": {"hakvm_node_name": "kvm-a"},
                                                   "192.0.2.12": {"hakvm_node_name": "kvm-b"}}) == []
    assert errors(["-bad", "good"])[0].startswith("-bad: node name -bad")

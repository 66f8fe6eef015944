"""Lab topology: which nodes, on which networks, with what resources.

A topology comes from a YAML/JSON file (molecule writes one from its platforms) or from an Ansible
inventory (the main job's lab). Both give the same shape.
"""
import ipaddress
import json
import re
from pathlib import Path

import yaml

from hakvm_lab.util import LabError, run, venv_bin

LAB_RANGE = ipaddress.ip_network("198.18.0.0/15")
BACKENDS = ("vm", "nspawn")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,14}$")
# Node names may be FQDNs (an inventory of kvm-a.example.net): a short first label, then DNS labels.
NODE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,14}(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
NODE_DEFAULTS = {"lan": None, "backplane": None, "memory_mb": 1024, "cpus": 1, "disks": [], "ipmi_port": None}


def _network(name, spec, lab):
    try:
        cidr = ipaddress.ip_network(spec["cidr"])
    except (KeyError, ValueError) as exc:
        raise LabError(f"network {name}: needs a valid cidr ({exc})") from exc
    if not cidr.subnet_of(LAB_RANGE):
        raise LabError(f"network {name}: {cidr} is outside the lab range {LAB_RANGE}")
    bridge = spec.get("bridge") or f"hk-{lab}-{name[:2]}"
    if len(bridge) > 15:
        raise LabError(f"network {name}: bridge name {bridge!r} is longer than 15 characters")
    return {"cidr": str(cidr), "bridge": bridge, "controller": str(next(cidr.hosts()))}


def normalize(data, backend=None, release=None):
    """Validate a topology dict and fill defaults; errors name the culprit."""
    name = data.get("name", "")
    if not NAME_RE.match(name) or len(name) > 8:
        raise LabError(f"lab name {name!r}: use 1-8 lower-case letters, digits or '-'")
    topo = {
        "name": name,
        "backend": backend or data.get("backend") or "vm",
        "release": release or data.get("release") or "trixie",
        "networks": {},
        "nodes": [],
    }
    if topo["backend"] not in BACKENDS:
        raise LabError(f"backend {topo['backend']!r}: choose one of {', '.join(BACKENDS)}")
    for net in ("lan", "backplane"):
        topo["networks"][net] = _network(net, data.get("networks", {}).get(net, {}), name)
    seen = set()
    for raw in data.get("nodes", []):
        node = dict(NODE_DEFAULTS, **{k: v for k, v in raw.items() if k in NODE_DEFAULTS or k == "name"})
        nname = node.get("name", "")
        if not NODE_NAME_RE.match(str(nname)) or len(str(nname)) > 55:
            raise LabError(f"node {nname!r}: names are 1-15 lower-case letters, digits or '-', optionally followed "
                           "by a domain (kvm-a.example.net), 55 characters at most")
        if nname in seen:
            raise LabError(f"node {nname}: defined twice")
        seen.add(nname)
        if node["lan"] is None:
            raise LabError(f"node {nname}: needs a lan address")
        for net in ("lan", "backplane"):
            if node[net] is None:
                continue
            cidr = ipaddress.ip_network(topo["networks"][net]["cidr"])
            try:
                addr = ipaddress.ip_address(node[net])
            except ValueError as exc:
                raise LabError(f"node {nname}: {net} address {node[net]!r} is not an IP address") from exc
            if addr not in cidr or str(addr) == topo["networks"][net]["controller"]:
                raise LabError(f"node {nname}: {net} address {addr} is not a free host address of {cidr}")
        topo["nodes"].append(node)
    if not topo["nodes"]:
        raise LabError("the topology has no nodes")
    addrs = [n["lan"] for n in topo["nodes"]] + [n["backplane"] for n in topo["nodes"] if n["backplane"]]
    if len(addrs) != len(set(addrs)):
        raise LabError("two nodes share an address")
    return topo


def load_file(path, backend=None, release=None):
    text = Path(path).read_text()
    data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    return normalize(data, backend, release)


def from_inventory(inventory, backend=None, release=None):
    """Build the topology from an Ansible inventory: ansible_host is the LAN address,
    base_backplane_address the backplane one, lab_* variables size the node."""
    out = run([venv_bin("ansible-inventory"), "-i", inventory, "--list"]).stdout
    inv = json.loads(out)
    hostvars = inv.get("_meta", {}).get("hostvars", {})
    if not hostvars:
        raise LabError(f"inventory {inventory} has no hosts")
    any_vars = next(iter(hostvars.values()))
    data = {
        "name": any_vars.get("lab_name", "hakvm"),
        "networks": {
            "lan": {"cidr": any_vars.get("lab_lan_cidr", "198.18.0.0/24")},
            "backplane": {"cidr": any_vars.get("lab_backplane_cidr", "198.18.1.0/24")},
        },
        "nodes": [],
    }
    for host in sorted(hostvars):
        hv = hostvars[host]
        data["nodes"].append({
            "name": host,
            "lan": hv.get("ansible_host"),
            "backplane": hv.get("base_backplane_address"),
            "memory_mb": hv.get("lab_memory_mb", NODE_DEFAULTS["memory_mb"]),
            "cpus": hv.get("lab_cpus", NODE_DEFAULTS["cpus"]),
            "disks": hv.get("lab_disks", []),
            "ipmi_port": hv.get("lab_ipmi_port"),
        })
    return normalize(data, backend or any_vars.get("lab_backend"), release or any_vars.get("lab_release"))

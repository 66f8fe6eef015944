"""Lab networks: Linux bridges in 198.18.0.0/15 that the lab owns, and veth links for containers."""
import ipaddress
import json
from pathlib import Path

from hakvm_lab.util import LabError, run

ALIAS_PREFIX = "hakvm-lab:"


def _links():
    return {link["ifname"]: link for link in json.loads(run(["ip", "-j", "-d", "link", "show"]).stdout)}


def _addresses():
    """(interface, ip_interface) for every IPv4 address on this machine."""
    out = []
    for link in json.loads(run(["ip", "-j", "addr", "show"]).stdout):
        for addr in link.get("addr_info", []):
            if addr.get("family") == "inet":
                out.append((link["ifname"], ipaddress.ip_interface(f"{addr['local']}/{addr['prefixlen']}")))
    return out


def owned_bridges(lab):
    return [name for name, link in _links().items() if link.get("ifalias") == ALIAS_PREFIX + lab]


def check_free(topo):
    """Refuse to start when a bridge name or an address range is used by something that is not this lab."""
    links = _links()
    mine = ALIAS_PREFIX + topo["name"]
    for net, spec in topo["networks"].items():
        link = links.get(spec["bridge"])
        if link and link.get("ifalias") != mine:
            raise LabError(f"bridge {spec['bridge']} ({net}) already exists and is not lab {topo['name']}'s; "
                           "remove it or choose another lab name")
        cidr = ipaddress.ip_network(spec["cidr"])
        for ifname, addr in _addresses():
            if ifname != spec["bridge"] and addr.network.overlaps(cidr):
                raise LabError(f"{cidr} ({net}) overlaps {addr} on {ifname}; another lab or network uses it")


def ensure_bridge(lab, spec, with_address):
    name = spec["bridge"]
    if name not in _links():
        run(["ip", "link", "add", name, "type", "bridge"])
        run(["ip", "link", "set", name, "alias", ALIAS_PREFIX + lab])
    if with_address:
        prefix = ipaddress.ip_network(spec["cidr"]).prefixlen
        wanted = f"{spec['controller']}/{prefix}"
        present = [str(a) for i, a in _addresses() if i == name]
        if wanted not in present:
            run(["ip", "addr", "add", wanted, "dev", name])
    run(["ip", "link", "set", name, "up"])


def delete_link(name):
    """Delete a link. One that vanishes meanwhile is gone all the same: a container's veth goes with
    the container, and CI once saw "Cannot find device" between the listing and the delete."""
    if name in _links():
        done = run(["ip", "link", "del", name], check=False)
        if done.returncode != 0 and link_exists(name):
            raise LabError(f"ip link del {name} failed (rc={done.returncode}): {(done.stderr or '').strip()}")


def link_exists(name):
    return Path("/sys/class/net", name).exists()


def attach(link, bridge):
    run(["ip", "link", "set", link, "master", bridge, "up"])

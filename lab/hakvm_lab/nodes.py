"""What every lab node gets, whatever the backend: its own copy of the image with its identity."""
import hashlib
import ipaddress
import os
import secrets
import shutil
from pathlib import Path

from hakvm_lab.util import LAB_ROOT, run

KEY = LAB_ROOT / "id_ed25519"
# NIC order on every node: eth0 on the LAN, eth1 on the backplane.
NICS = (("lan", "eth0"), ("backplane", "eth1"))


def ensure_key():
    if not KEY.exists():
        LAB_ROOT.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hakvm-lab", "-f", KEY])
    return KEY


def mac(lab, node, net):
    digest = hashlib.sha256(f"{lab}/{node}/{net}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def node_nics(topo, node):
    """[(network, ifname, bridge, mac)] for the networks this node is on."""
    return [(net, ifname, topo["networks"][net]["bridge"], mac(topo["name"], node["name"], net))
            for net, ifname in NICS if node[net]]


def _write(root, rel, text, mode=0o644):
    path = Path(root) / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def prepare_rootfs(image, dest, topo, node, backend):
    """Copy the image's tree to dest and give it the node's identity and LAN address.

    The backplane interface is left to the base role, which is what it is there to test.
    """
    tmp = Path(str(dest) + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    run(["cp", "-a", "--reflink=auto", Path(image) / "rootfs", tmp])
    lan = topo["networks"]["lan"]
    prefix = ipaddress.ip_network(lan["cidr"]).prefixlen
    _write(tmp, "/etc/hostname", node["name"] + "\n")
    hosts = ["127.0.0.1\tlocalhost", "::1\t\tlocalhost ip6-localhost ip6-loopback"]
    hosts += [f"{n['lan']}\t{n['name']}" for n in topo["nodes"]]
    _write(tmp, "/etc/hosts", "\n".join(hosts) + "\n")
    _write(tmp, "/etc/network/interfaces.d/lab-lan",
           "# Written by hakvm-lab: the lab LAN, Ansible's way in.\n"
           f"auto eth0\niface eth0 inet static\n    address {node['lan']}/{prefix}\n")
    _write(tmp, "/etc/machine-id", secrets.token_hex(16) + "\n", 0o444)
    _write(tmp, "/etc/fstab", "/dev/vda / ext4 defaults,discard,errors=remount-ro 0 1\n"
           if backend == "vm" else "# root filesystem provided by systemd-nspawn\n")
    if backend == "vm":
        # The raid role updates the node's initramfs. Debian's MODULES=most packs most of the kernel's
        # drivers: 154 s on an emulated node, for an initramfs no lab VM boots (they boot the image's).
        # Not in containers: there / is no block device, and MODULES=dep fails without one.
        _write(tmp, "/etc/initramfs-tools/conf.d/hakvm-lab",
               "# Written by hakvm-lab: only the modules this VM's hardware needs.\nMODULES=dep\n")
    (tmp / "root" / ".ssh").mkdir(mode=0o700, exist_ok=True)
    _write(tmp, "/root/.ssh/authorized_keys", Path(str(KEY) + ".pub").read_text(), 0o600)
    run(["ssh-keygen", "-A", "-f", tmp])
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest

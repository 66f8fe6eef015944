"""VM backend: libvirt domains booting the image's kernel directly. KVM where it works, TCG otherwise."""
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from xml.sax.saxutils import escape

from hakvm_lab import nodes, vbmc
from hakvm_lab.util import LAB_ROOT, LabError, log, require_tools, run, wait_until

URI = "qemu:///system"
QEMU = "/usr/bin/qemu-system-x86_64"
ROOT_SIZE = "6G"
ACCEL_CACHE = Path("/run/hakvm-lab/accel")
STARTED_LIBVIRTD = LAB_ROOT / "libvirtd-started-by-lab"
QEMU_CONF = Path("/etc/libvirt/qemu.conf")
# libvirt without systemd cannot use cgroups or mount namespaces; these settings let it run domains.
NO_SYSTEMD_QEMU_CONF = "\n# hakvm-lab: libvirtd runs without systemd on this host\nnamespaces = []\ncgroup_controllers = []\n"


def _virsh(*args, check=True):
    return run(["virsh", "-q", "-c", URI, *args], check=check)


def domain_name(topo, node):
    return f"hakvm-{topo['name']}-{node['name']}"


def _systemd_is_init():
    return Path("/run/systemd/system").is_dir()


def ensure_libvirtd(accel):
    if _virsh("version", check=False).returncode == 0:
        return
    for attempt in (1, 2):
        _start_libvirtd(accel)
        if wait_until(lambda: _virsh("version", check=False).returncode == 0, 30):
            return
        if attempt == 1 and run(["pgrep", "-x", "libvirtd"], check=False).returncode != 0:
            # Seen after a lab's processes were killed (a machine's session ended): the first libvirtd
            # reconnects to the dead domains' status files, drops them and exits; the next one starts.
            log("libvirtd exited while starting (stale state of domains killed earlier); starting it again")
            continue
        break
    raise LabError("libvirtd did not come up; check /var/log/libvirt/libvirtd.log")


def _start_libvirtd(accel):
    if _systemd_is_init():
        run(["systemctl", "start", "libvirtd.service"])
    else:
        if "hakvm-lab" not in QEMU_CONF.read_text():
            with QEMU_CONF.open("a") as conf:
                conf.write(NO_SYSTEMD_QEMU_CONF)
        if run(["pgrep", "-x", "virtlogd"], check=False).returncode != 0:
            run(["virtlogd", "-d"])
        if accel == "kvm" or not Path("/dev/kvm").exists():
            run(["libvirtd", "-d"])
        else:
            # Where /dev/kvm exists but cannot run guests, libvirt re-probes QEMU on every call (about
            # a minute each): hide /dev/kvm from the libvirtd we start so it settles on TCG.
            run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 "mount --bind /dev/null /dev/kvm && exec libvirtd -d"])
        STARTED_LIBVIRTD.parent.mkdir(parents=True, exist_ok=True)
        STARTED_LIBVIRTD.write_text("libvirtd and virtlogd were started by hakvm-lab\n")


def stop_libvirtd_if_idle():
    """Stop the libvirtd we started by hand once no domain is left."""
    if not STARTED_LIBVIRTD.exists() or _virsh("version", check=False).returncode != 0:
        return
    if _virsh("list", "--all", "--name").stdout.strip():
        return
    for daemon in ("libvirtd", "virtlogd"):
        run(["pkill", "-x", daemon], check=False)
    wait_until(lambda: run(["pgrep", "-x", "libvirtd"], check=False).returncode != 0, 20, 0.5)
    STARTED_LIBVIRTD.unlink()


def accelerator(image):
    """'kvm' if this machine runs a guest kernel under KVM, else 'qemu' (TCG). Probed once per boot."""
    if ACCEL_CACHE.exists():
        return ACCEL_CACHE.read_text().strip()
    accel = "qemu"
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        accel = "kvm" if _kernel_boots_under_kvm(Path(image) / "vmlinuz") else "qemu"
    ACCEL_CACHE.parent.mkdir(parents=True, exist_ok=True)
    ACCEL_CACHE.write_text(accel + "\n")
    log(f"accelerator: {'KVM' if accel == 'kvm' else 'TCG (KVM unusable here)'}")
    return accel


def _kernel_boots_under_kvm(kernel, timeout=15):
    argv = [QEMU, "-accel", "kvm", "-M", "q35", "-m", "256", "-nographic", "-no-reboot", "-nodefaults",
            "-serial", "stdio", "-kernel", str(kernel), "-append", "console=ttyS0 panic=-1"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL) as proc:
        seen = b""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and b"Linux version" not in seen:
                ready, _, _ = select.select([proc.stdout], [], [], 1)
                if ready:
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    seen += chunk
        finally:
            proc.kill()
    return b"Linux version" in seen and b"KVM internal error" not in seen


def check(_topo):
    require_tools("virsh", "libvirtd", QEMU, "mkfs.ext4", "ipmitool")


def _domain_xml(topo, node, workdir, image, accel):
    disks = [("vda", workdir / "root.img")] + [
        (f"vd{chr(ord('b') + i)}", workdir / f"disk{i + 1}.img") for i in range(len(node["disks"]))]
    disk_xml = "".join(
        f"<disk type='file' device='disk'><driver name='qemu' type='raw' cache='unsafe' discard='unmap'/>"
        f"<source file='{escape(str(path))}'/><target dev='{dev}' bus='virtio'/><serial>hakvm-{dev}</serial></disk>"
        for dev, path in disks)
    nic_xml = "".join(
        f"<interface type='bridge'><source bridge='{bridge}'/><mac address='{mac}'/><model type='virtio'/></interface>"
        for _, _, bridge, mac in nodes.node_nics(topo, node))
    cpu = "<cpu mode='host-passthrough'/>" if accel == "kvm" else ""
    return f"""<domain type='{accel}'>
  <name>{domain_name(topo, node)}</name>
  <memory unit='MiB'>{node['memory_mb']}</memory>
  <vcpu>{node['cpus']}</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{escape(str(Path(image) / 'vmlinuz'))}</kernel><initrd>{escape(str(Path(image) / 'initrd.img'))}</initrd>
    <cmdline>root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet</cmdline></os>
  <features><acpi/></features>{cpu}
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices><emulator>{QEMU}</emulator>{disk_xml}{nic_xml}
    <serial type='file'><source path='{escape(str(workdir / 'console.log'))}' append='on'/></serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def prepare(topo, node, image, workdir):
    """The node's root disk image, unless it exists: the image's tree with the node's identity.

    About a minute of copying and mkfs each; the lab builds the nodes' disks side by side."""
    root = Path(workdir) / "root.img"
    if not root.exists():
        tree = nodes.prepare_rootfs(image, Path(workdir) / "rootfs", topo, node, "vm")
        run(["mkfs.ext4", "-q", "-F", "-L", "root", "-d", tree, str(root) + ".tmp", ROOT_SIZE])
        shutil.rmtree(tree)
        Path(str(root) + ".tmp").rename(root)


def up(topo, node, image, workdir, record):
    workdir = Path(workdir)
    name = domain_name(topo, node)
    record["domain"] = name
    state = _virsh("domstate", name, check=False)
    if state.returncode == 0 and not (workdir / "root.img").exists():
        # Left over from an 'up' cut short, its files gone: define it again.
        _virsh("destroy", name, check=False)
        _virsh("undefine", name)
        state = _virsh("domstate", name, check=False)
    if state.returncode != 0:
        prepare(topo, node, image, workdir)
        for i, size in enumerate(node["disks"]):
            disk = workdir / f"disk{i + 1}.img"
            if not disk.exists():
                run(["truncate", "-s", size, disk])
        xml = workdir / "domain.xml"
        xml.write_text(_domain_xml(topo, node, workdir, image, accelerator(image)))
        _virsh("define", xml)
    if "running" not in state.stdout:
        _virsh("start", name)
        log(f"{node['name']}: VM {name} started")
    if node.get("ipmi_port"):
        vbmc.add(name, topo["networks"]["lan"]["controller"], node["ipmi_port"])
        record["ipmi"] = {"address": topo["networks"]["lan"]["controller"], "port": node["ipmi_port"]}


def set_link(topo, node, record, network, state):
    """Cut or restore one of node's networks: the guest sees its NIC lose carrier, as with a pulled cable."""
    mac = next((m for net, _, _, m in nodes.node_nics(topo, node) if net == network), None)
    if mac is None:
        raise LabError(f"{node['name']} is not on the {network} network")
    _virsh("domif-setlink", record.get("domain") or domain_name(topo, node), mac, state)


def set_disk(topo, node, record, dev, state, workdir):
    """Pull an extra disk out of a running VM, or plug it back in, as a failed or replaced drive would be.

    The guest sees a hot-unplug (its /dev/disk/by-id link vanishes with it) and a hot-plug of the same
    image with the same serial."""
    name = record.get("domain") or domain_name(topo, node)
    index = ord(dev[-1]) - ord("b")
    if not dev.startswith("vd") or dev == "vda" or not 0 <= index < len(node["disks"]):
        raise LabError(f"{node['name']} has no extra disk {dev} (it has vdb..vd{chr(ord('a') + len(node['disks']))})")
    if state == "detach":
        _virsh("detach-disk", name, dev, "--live")
    else:
        _virsh("attach-disk", name, Path(workdir) / f"disk{index + 1}.img", dev, "--live", "--targetbus", "virtio",
               "--driver", "qemu", "--subdriver", "raw", "--cache", "unsafe", "--serial", f"hakvm-{dev}")


def running(record):
    state = _virsh("domstate", record.get("domain", ""), check=False)
    return state.returncode == 0 and "running" in state.stdout


def down(topo, node, record):
    # By name too: an 'up' cut short may have defined the domain before it was recorded.
    name = record.get("domain") or domain_name(topo, node)
    vbmc.remove(name)
    if _virsh("domstate", name, check=False).returncode == 0:
        _virsh("destroy", name, check=False)
        _virsh("undefine", name)
    log(f"{node['name']}: VM {name} removed")

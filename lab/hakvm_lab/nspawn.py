"""systemd-nspawn backend: containers booting systemd. Fast; no kernel modules (md, dm, drbd)."""
import shutil
from pathlib import Path

from hakvm_lab import net, nodes
from hakvm_lab.util import LabError, log, pid_alive, require_tools, run, spawn, stop_pid, wait_until


def _veths(topo, node):
    idx = [n["name"] for n in topo["nodes"]].index(node["name"])
    return [(ifname, f"hk{topo['name'][:6]}{idx}{network[0]}", bridge)
            for network, ifname, bridge, _ in nodes.node_nics(topo, node)]


def check(_topo):
    require_tools("systemd-nspawn", "ip")


def up(topo, node, image, workdir, record):
    """Start node's container unless it runs; record what was created in record (a dict)."""
    if pid_alive(record.get("pid")):
        return
    rootfs = Path(workdir) / "rootfs"
    if not rootfs.exists():
        nodes.prepare_rootfs(image, rootfs, topo, node, "nspawn")
    veths = _veths(topo, node)
    record.update(rootfs=str(rootfs), veths=[host for _, host, _ in veths])
    # nspawn makes the network namespace itself (so the container's /sys shows its own interfaces);
    # the host ends of its veth pairs are put on the lab bridges once they appear.
    argv = ["systemd-nspawn", "--quiet", "--boot", f"--directory={rootfs}", f"--machine={topo['name']}-{node['name']}",
            f"--hostname={node['name']}", "--private-network", "--register=no", "--keep-unit",
            "--console=read-only", "--resolv-conf=off", "--timezone=off", "--link-journal=no",
            *[f"--network-veth-extra={host}:{inner}" for inner, host, _ in veths]]
    record["pid"] = spawn(argv, Path(workdir) / "console.log", env={"SYSTEMD_NSPAWN_TMPFS_TMP": "0"})
    for _, host, bridge in veths:
        if not wait_until(lambda h=host: net.link_exists(h), 30, 0.2):
            raise LabError(f"{node['name']}: veth {host} did not appear; see {workdir}/console.log")
        net.attach(host, bridge)
    log(f"{node['name']}: container started (pid {record['pid']})")


def set_link(topo, node, _record, network, state):
    """Cut or restore one of node's networks at the host end of its veth (the container keeps its address)."""
    host = next((h for _, h, _ in _veths(topo, node) if h.endswith(network[0])), None)
    if host is None:
        raise LabError(f"{node['name']} is not on the {network} network")
    run(["ip", "link", "set", host, state])


def running(record):
    return pid_alive(record.get("pid"))


def down(topo, node, record):
    # SIGTERM asks the container's systemd to power off; SIGKILL after the timeout.
    stop_pid(record.get("pid"), timeout=30)
    # nspawn leaves its mount propagation directory behind when /run is not a tmpfs.
    shutil.rmtree(f"/run/systemd/nspawn/propagate/{topo['name']}-{node['name']}", ignore_errors=True)
    for host in record.get("veths", []):
        net.delete_link(host)
    log(f"{node['name']}: container stopped")

"""hakvm-lab command line: image, guest-image, up, down, status."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hakvm_lab import guest, image, net, nodes, nspawn, proxy, topology, vbmc, vm
from hakvm_lab.util import (LAB_ROOT, REPO_ROOT, LabError, log, pid_alive, read_json, run, spawn, stop_pid,
                            write_json)

BACKENDS = {"vm": vm, "nspawn": nspawn}
SSH_TIMEOUT = {"vm": 900, "nspawn": 120}


def lab_dir(name):
    return LAB_ROOT / "labs" / name


def ssh_argv(address, *command):
    return ["ssh", "-i", nodes.KEY, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
            f"root@{address}", *command]


def ssh_ok(address):
    return run(ssh_argv(address, "true"), check=False, timeout=30).returncode == 0


def _load_topology(args):
    if getattr(args, "topology", None):
        return topology.load_file(args.topology, args.backend, args.release)
    return topology.from_inventory(args.inventory, args.backend, args.release)


def _lab_name(args):
    if getattr(args, "name", None):
        return args.name
    return _load_topology(args)["name"]


def cmd_image(args):
    for release in args.release or ["trixie"]:
        print(image.ensure_image(release))
    return 0


def cmd_guest_image(args):
    print(guest.ensure_guest(args.release))
    return 0


def cmd_up(args):
    started = time.monotonic()
    topo = _load_topology(args)
    backend = BACKENDS[topo["backend"]]
    backend.check(topo)
    workdir = lab_dir(topo["name"])
    state = read_json(workdir / "state.json")
    if state and state["topology"] != topo:
        raise LabError(f"lab {topo['name']} is up with another topology (backend {state['topology']['backend']}, "
                       f"release {state['topology']['release']}); run 'hakvm-lab down --name {topo['name']}' first")
    img = image.ensure_image(topo["release"])
    image_seconds = time.monotonic() - started
    nodes.ensure_key()
    if topo["backend"] == "vm":
        vm.ensure_libvirtd(vm.accelerator(img))
    if not state:
        net.check_free(topo)
        state = {"topology": topo, "image": str(img), "nodes": {}}
        write_json(workdir / "state.json", state)
    for name, spec in topo["networks"].items():
        net.ensure_bridge(topo["name"], spec, with_address=name == "lan")
    lan_ip = topo["networks"]["lan"]["controller"]
    if not pid_alive(state.get("proxy_pid")):
        state["proxy_pid"] = spawn([sys.executable, "-m", "hakvm_lab", "proxy", "--listen", lan_ip],
                                   workdir / "proxy.log", env={"PYTHONPATH": str(REPO_ROOT / "lab")})
    for node in topo["nodes"]:
        (workdir / node["name"]).mkdir(parents=True, exist_ok=True)
    if hasattr(backend, "prepare"):
        # The nodes' disks side by side (copying and mkfs, about a minute each), two at a time: two cores.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda n: backend.prepare(topo, n, img, workdir / n["name"]), topo["nodes"]))
    for node in topo["nodes"]:
        record = state["nodes"].setdefault(node["name"], {})
        nodedir = workdir / node["name"]
        try:
            backend.up(topo, node, img, nodedir, record)
        finally:
            write_json(workdir / "state.json", state)
    boot_started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(topo["nodes"])) as pool:
        ready = dict(zip([n["name"] for n in topo["nodes"]], pool.map(
            lambda n: _wait_ssh(n, backend, state["nodes"][n["name"]], SSH_TIMEOUT[topo["backend"]]),
            topo["nodes"])))
    late = [f"{n} ({why})" for n, why in ready.items() if why]
    if late:
        raise LabError(f"no SSH from {', '.join(late)}; see {workdir}/<node>/console.log")
    summary = {
        "name": topo["name"], "backend": topo["backend"], "release": topo["release"],
        "image_seconds": round(image_seconds, 1), "boot_seconds": round(time.monotonic() - boot_started, 1),
        "total_seconds": round(time.monotonic() - started, 1), "identity_file": str(nodes.KEY),
        "nodes": [{"name": n["name"], "address": n["lan"], "backplane": n["backplane"],
                   "ipmi": state["nodes"][n["name"]].get("ipmi")} for n in topo["nodes"]],
    }
    write_json(workdir / "up.json", summary)
    log(f"lab {topo['name']} up ({topo['backend']}, {topo['release']}): image {summary['image_seconds']} s, "
        f"boot to SSH {summary['boot_seconds']} s, total {summary['total_seconds']} s")
    print(json.dumps(summary, indent=2) if args.json else "\n".join(
        f"{n['name']:<12} {n['address']}" for n in summary["nodes"]))
    return 0


def _wait_ssh(node, backend, record, timeout):
    """None once node answers on SSH; otherwise why not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ssh_ok(node["lan"]):
            return None
        if not backend.running(record):
            return "it stopped"
        time.sleep(2)
    return f"not within {timeout} s"


def down(name):
    workdir = lab_dir(name)
    state = read_json(workdir / "state.json")
    if state:
        topo = state["topology"]
        backend = BACKENDS[topo["backend"]]
        for node in topo["nodes"]:
            backend.down(topo, node, state["nodes"].get(node["name"], {}))
        stop_pid(state.get("proxy_pid"), timeout=5)
    for bridge in net.owned_bridges(name):
        net.delete_link(bridge)
    shutil.rmtree(workdir, ignore_errors=True)
    if vbmc.is_configured():
        vbmc.stop_daemon_if_idle()
    if Path(vm.STARTED_LIBVIRTD).exists():
        vm.stop_libvirtd_if_idle()
    log(f"lab {name} is down" if state else f"lab {name} was not up; removed what was left of it")


def cmd_down(args):
    names = ([p.name for p in (LAB_ROOT / "labs").glob("*")] if args.all else [_lab_name(args)])
    for name in names:
        down(name)
    return 0


def cmd_status(args):
    name = _lab_name(args)
    state = read_json(lab_dir(name) / "state.json")
    if not state:
        print(f"lab {name}: down")
        return 3
    topo = state["topology"]
    backend = BACKENDS[topo["backend"]]
    rows, healthy = [], True
    for node in topo["nodes"]:
        record = state["nodes"].get(node["name"], {})
        up = backend.running(record)
        reach = up and ssh_ok(node["lan"])
        ipmi = vbmc.power_status(record["ipmi"]["address"], record["ipmi"]["port"]) if record.get("ipmi") else "-"
        healthy &= reach
        rows.append({"name": node["name"], "running": up, "ssh": reach, "address": node["lan"], "ipmi": ipmi})
    if args.json:
        print(json.dumps({"name": name, "backend": topo["backend"], "release": topo["release"], "nodes": rows}))
    else:
        print(f"lab {name}: {topo['backend']}, {topo['release']}")
        for row in rows:
            print(f"  {row['name']:<12} {row['address']:<15} running={row['running']} ssh={row['ssh']} "
                  f"ipmi={row['ipmi']}")
    return 0 if healthy else 1


def _running_node(args):
    """The state of the running lab and its node args.node."""
    state = read_json(lab_dir(_lab_name(args)) / "state.json")
    if not state:
        raise LabError("the lab is not up")
    node = next((n for n in state["topology"]["nodes"] if n["name"] == args.node), None)
    if not node:
        raise LabError(f"no node {args.node} in lab {state['topology']['name']}")
    return state, node


def cmd_ssh(args):
    _state, node = _running_node(args)
    os.execvp("ssh", [str(a) for a in ssh_argv(node["lan"], *args.command)])
    return 0


def cmd_link(args):
    """Fault tests: take one node's LAN or backplane link down, or back up."""
    state, node = _running_node(args)
    topo = state["topology"]
    BACKENDS[topo["backend"]].set_link(topo, node, state["nodes"][args.node], args.network, args.state)
    log(f"{args.node}: {args.network} link {args.state}")
    return 0


def cmd_disk(args):
    """Fault tests: pull a VM's extra disk out (as a dead drive) or plug it back in."""
    state, node = _running_node(args)
    topo = state["topology"]
    if topo["backend"] != "vm":
        raise LabError("disk needs the vm backend: containers have no disks of their own")
    vm.set_disk(topo, node, state["nodes"][args.node], args.dev, args.state, lab_dir(topo["name"]) / node["name"])
    log(f"{args.node}: disk {args.dev} {args.state}ed")
    return 0


def cmd_crash(args):
    """Fault tests: crash a VM's kernel (sysrq c). It hangs, powered on and silent, until its BMC resets it."""
    state, node = _running_node(args)
    if state["topology"]["backend"] != "vm":
        raise LabError("crash needs the vm backend: a container has no kernel of its own to crash")
    console = lab_dir(state["topology"]["name"]) / node["name"] / "console.log"
    seen = console.stat().st_size if console.exists() else 0
    # Detached, so that SSH returns before the kernel stops.
    run(ssh_argv(node["lan"], "nohup sh -c 'sleep 1; echo c > /proc/sysrq-trigger' >/dev/null 2>&1 &"),
        timeout=30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(console, "rb") as fh:
            fh.seek(seen)
            if b"Kernel panic" in fh.read():
                log(f"{args.node}: kernel crashed (sysrq c); the VM stays on until it is reset")
                return 0
        time.sleep(0.5)
    raise LabError(f"{args.node}: no kernel panic on its console within 60 s; see {console}")


def cmd_power_off(args):
    """Fault tests: a hard power-off through the node's virtual BMC. It stays off until fenced (powered on)."""
    state, node = _running_node(args)
    ipmi = state["nodes"][args.node].get("ipmi")
    if not ipmi:
        raise LabError(f"{args.node} has no virtual BMC (give it ipmi_port in the topology)")
    vbmc.power_off(ipmi["address"], ipmi["port"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = vbmc.power_status(ipmi["address"], ipmi["port"])
        if "off" in status:
            log(f"{args.node}: powered off through its BMC ({status})")
            return 0
        time.sleep(0.5)
    raise LabError(f"{args.node}: its BMC still reports '{status}' 30 s after power off")


def cmd_proxy(args):
    proxy.serve(args.listen)
    return 0


def parser():
    p = argparse.ArgumentParser(prog="hakvm-lab", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    def with_topology(sp):
        sp.add_argument("--inventory", default=str(REPO_ROOT / "inventory"),
                        help="Ansible inventory describing the lab (default: the repo's inventory/)")
        sp.add_argument("--topology", help="a topology YAML/JSON file instead of an inventory")
        sp.add_argument("--backend", choices=sorted(BACKENDS), default=os.environ.get("HAKVM_LAB_BACKEND"))
        sp.add_argument("--release", choices=image.RELEASES, default=os.environ.get("HAKVM_LAB_RELEASE"))

    sp = sub.add_parser("image", help="build (or reuse) the node image")
    sp.add_argument("--release", action="append", choices=image.RELEASES)
    sp.set_defaults(func=cmd_image)
    sp = sub.add_parser("guest-image", help="build (or reuse) the test guest: cloud kernel and busybox initramfs")
    sp.add_argument("--release", choices=image.RELEASES, default="trixie")
    sp.set_defaults(func=cmd_guest_image)
    sp = sub.add_parser("up", help="bring the lab up (idempotent)")
    with_topology(sp)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_up)
    sp = sub.add_parser("down", help="remove the lab and everything it made")
    with_topology(sp)
    sp.add_argument("--name")
    sp.add_argument("--all", action="store_true", help="every lab on this machine")
    sp.set_defaults(func=cmd_down)
    sp = sub.add_parser("status", help="show the lab's nodes")
    with_topology(sp)
    sp.add_argument("--name")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_status)
    sp = sub.add_parser("ssh", help="open a shell on a node")
    with_topology(sp)
    sp.add_argument("--name")
    sp.add_argument("node")
    sp.add_argument("command", nargs="*")
    sp.set_defaults(func=cmd_ssh)
    sp = sub.add_parser("link", help="take a node's network link down or up (fault tests)")
    with_topology(sp)
    sp.add_argument("--name")
    sp.add_argument("node")
    sp.add_argument("network", choices=["lan", "backplane"])
    sp.add_argument("state", choices=["up", "down"])
    sp.set_defaults(func=cmd_link)
    sp = sub.add_parser("disk", help="pull a VM's extra disk out or plug it back in (fault tests)")
    with_topology(sp)
    sp.add_argument("--name")
    sp.add_argument("node")
    sp.add_argument("dev", help="vdb, vdc, ...")
    sp.add_argument("state", choices=["detach", "attach"])
    sp.set_defaults(func=cmd_disk)
    sp = sub.add_parser("crash", help="crash a VM's kernel; it hangs until fenced (fault tests)")
    with_topology(sp)
    sp.add_argument("--name")
    sp.add_argument("node")
    sp.set_defaults(func=cmd_crash)
    sp = sub.add_parser("power-off", help="hard power-off through a VM's virtual BMC; off until fenced (fault tests)")
    with_topology(sp)
    sp.add_argument("--name")
    sp.add_argument("node")
    sp.set_defaults(func=cmd_power_off)
    sp = sub.add_parser("proxy", help=argparse.SUPPRESS)
    sp.add_argument("--listen", required=True)
    sp.set_defaults(func=cmd_proxy)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if os.geteuid() != 0 and args.cmd != "proxy":
        print("hakvm-lab: run as root (it creates bridges, containers and VMs)", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except LabError as exc:
        print(f"hakvm-lab: {exc}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as exc:
        print(f"hakvm-lab: {' '.join(map(str, exc.cmd))} did not finish within {exc.timeout} s", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"hakvm-lab: {exc}", file=sys.stderr)
        return 1

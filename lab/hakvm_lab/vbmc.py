"""Virtual BMCs (virtualbmc): IPMI endpoints for lab VMs, so fence_ipmilan can fence them for real."""
import secrets
from pathlib import Path

from hakvm_lab.util import LAB_ROOT, LabError, pid_alive, run, spawn, stop_pid, venv_bin, wait_until

HOME = LAB_ROOT / "vbmc"
CONFIG = HOME / "virtualbmc.conf"
PIDFILE = HOME / "vbmcd.pid"
PASSWORD_FILE = LAB_ROOT / "ipmi-password"
USER = "admin"
ENV = {"VIRTUALBMC_CONFIG": str(CONFIG)}


def password():
    """The lab's IPMI password (ipmitool takes at most 20 bytes)."""
    if not PASSWORD_FILE.exists():
        LAB_ROOT.mkdir(parents=True, exist_ok=True)
        PASSWORD_FILE.touch(mode=0o600)
        PASSWORD_FILE.write_text(secrets.token_hex(8) + "\n")
    return PASSWORD_FILE.read_text().strip()


def _daemon_pid():
    try:
        return int(PIDFILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _vbmc(*args, check=True):
    return run([venv_bin("vbmc"), *args], env=ENV, check=check)


def ensure_daemon():
    if pid_alive(_daemon_pid()):
        return
    (HOME / "domains").mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(f"[default]\nconfig_dir = {HOME / 'domains'}\npid_file = {PIDFILE}\nserver_port = 50891\n"
                      f"[log]\nlogfile = {HOME / 'vbmcd.log'}\n")
    spawn([venv_bin("vbmcd"), "--foreground"], HOME / "vbmcd.out", env=ENV)
    if not wait_until(lambda: _vbmc("list", check=False).returncode == 0, 30, 0.5):
        raise LabError(f"vbmcd did not start; see {HOME / 'vbmcd.out'}")


def add(domain, address, port):
    ensure_daemon()
    if domain not in _vbmc("list", "-f", "value", "-c", "Domain name").stdout.split():
        _vbmc("add", domain, "--address", address, "--port", str(port), "--username", USER,
              f"--password={password()}", "--libvirt-uri", "qemu:///system")
    _vbmc("start", domain, check=False)


def remove(domain):
    if pid_alive(_daemon_pid()):
        _vbmc("delete", domain, check=False)


def stop_daemon_if_idle():
    pid = _daemon_pid()
    if not pid_alive(pid):
        return
    if not _vbmc("list", "-f", "value", "-c", "Domain name").stdout.split():
        stop_pid(pid, timeout=10)


def _ipmi_power(address, port, action, check):
    return run(["ipmitool", "-I", "lanplus", "-H", address, "-p", str(port), "-U", USER, "-P", password(),
                "power", action], check=check, timeout=20)


def power_status(address, port):
    out = _ipmi_power(address, port, "status", check=False)
    return (out.stdout or out.stderr).strip()


def power_off(address, port):
    """Hard power-off through the BMC, as an operator's ipmitool would (the VM is destroyed, no shutdown)."""
    _ipmi_power(address, port, "off", check=True)


def is_configured():
    return Path(CONFIG).exists()

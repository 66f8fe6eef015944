"""Small helpers shared by the lab: running commands, paths, state files."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

LAB_ROOT = Path(os.environ.get("HAKVM_LAB_DIR", "/var/lib/hakvm-lab"))
REPO_ROOT = Path(__file__).resolve().parents[2]


class LabError(Exception):
    """An error the user can act on; printed without a traceback."""


def log(msg):
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def run(argv, check=True, capture=True, env=None, timeout=None, input_text=None):
    """Run argv (a list, never a shell string) with LC_ALL=C; return CompletedProcess."""
    full_env = dict(os.environ, LC_ALL="C.UTF-8")
    if env:
        full_env.update(env)
    try:
        proc = subprocess.run(
            [str(a) for a in argv], check=False, text=True, env=full_env, timeout=timeout,
            input=input_text,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise LabError(f"command not found: {argv[0]} (run ./dev setup to install the lab's packages)") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip() if capture else ""
        raise LabError(f"{' '.join(str(a) for a in argv)} failed (rc={proc.returncode}): {detail}")
    return proc


def require_tools(*names):
    missing = [n for n in names if shutil.which(n) is None and not Path(n).exists()]
    if missing:
        raise LabError(f"missing prerequisite(s): {', '.join(missing)}; run ./dev setup")


def mounts_below(path, mountinfo=None):
    """The mount points at or below path, deepest first, read from /proc/self/mountinfo."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text(errors="surrogateescape")
    base = os.path.realpath(path)
    found = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        # The kernel writes space, tab, newline and backslash as octal escapes (\040, \011, \012, \134).
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4])
        if point == base or point.startswith(base.rstrip("/") + "/"):
            found.append(point)
    return sorted(found, key=lambda p: p.count("/"), reverse=True)


def remove_tree(path):
    """Remove a directory that an interrupted build may have left, unmounting what is mounted in it.

    mmdebstrap (root mode) mounts /proc, /sys and /dev/pts inside the rootfs it builds and binds the
    host's /dev/shm there; a build that is killed leaves them mounted. Nothing is deleted while anything
    is still mounted below path, and the deletion never crosses into another filesystem."""
    for point in mounts_below(path):
        run(["umount", "--lazy", point], check=False)
    left = mounts_below(path)
    if left:
        raise LabError(f"cannot remove {path}: {', '.join(left)} still mounted; unmount and remove it by hand")
    run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False)
    if os.path.lexists(path):
        raise LabError(f"cannot remove {path}, left by an interrupted build; remove it by hand")


def venv_bin(name):
    """A console script installed beside the running Python (the project's venv)."""
    return str(Path(sys.executable).parent / name)


def read_json(path, default=None):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return default


def write_json(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def wait_until(predicate, timeout, interval=1.0):
    """Call predicate until it returns a truthy value or timeout seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def stop_pid(pid, sig=15, timeout=30):
    """Send sig to pid, wait up to timeout, then SIGKILL. Returns when the process is gone."""
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    if not wait_until(lambda: not pid_alive(pid), timeout, 0.5):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            return
        wait_until(lambda: not pid_alive(pid), 10, 0.2)


def spawn(argv, logfile, env=None):
    """Start argv detached from us (own session), output to logfile; return its pid."""
    full_env = dict(os.environ, LC_ALL="C.UTF-8")
    if env:
        full_env.update(env)
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=full_env, start_new_session=True,
        )
    return proc.pid

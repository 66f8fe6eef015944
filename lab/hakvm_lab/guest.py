"""The lab's test guest: Debian's cloud kernel and a busybox initramfs, cached by recipe hash.

A guest runs under TCG inside a lab VM that itself runs under TCG, where a stock Debian guest needs
minutes to boot. The cloud kernel booted directly (no boot loader, no root filesystem) with an
initramfs of a static busybox and guest-init.sh is up in about a minute there; the script checks the
disk and hands over to hakvm-seq (guest-seq.c, built static with the controller's gcc), which writes
numbered records to the disk and acknowledges each on the serial console (see the script's header for
the format). The packages are downloaded with apt-get into the build directory and unpacked with
dpkg-deb: no chroot, no root filesystem.
"""
import gzip
import hashlib
import json
import lzma
import re
import shutil
import stat
import time
from pathlib import Path

from hakvm_lab import image
from hakvm_lab.util import LAB_ROOT, LabError, log, remove_tree, require_tools, run

INIT_SCRIPT = Path(__file__).with_name("guest-init.sh")
SEQ_SOURCE = Path(__file__).with_name("guest-seq.c")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
KERNEL_PACKAGE = "linux-image-cloud-amd64"      # a metapackage: its dependency is the versioned kernel
BUSYBOX_PACKAGE = "busybox-static"
# Drivers /init needs to find its disk, by kernel config option; modules (=m) go into the initramfs.
DRIVERS = {"CONFIG_VIRTIO_PCI": "virtio_pci", "CONFIG_VIRTIO_BLK": "virtio_blk"}
# Drivers for the ACPI power button (virsh shutdown), loaded when the kernel has them: without them the
# guest ignores a graceful shutdown and Pacemaker's stop waits out its timeout before destroying it.
OPTIONAL_DRIVERS = {"CONFIG_INPUT_EVDEV": "evdev", "CONFIG_ACPI_BUTTON": "button"}
BUILD_VERSION = 3                       # raise when the build itself changes


def recipe(release):
    """Everything that decides the guest's content, the init script by its hash."""
    node = image.recipe(release)
    return {
        "build_version": BUILD_VERSION,
        "release": release,
        "mirror": node["mirror"],
        "security_mirror": node["security_mirror"],
        "packages": [KERNEL_PACKAGE, BUSYBOX_PACKAGE],
        "drivers": DRIVERS,
        "optional_drivers": OPTIONAL_DRIVERS,
        "init_sha256": hashlib.sha256(INIT_SCRIPT.read_bytes()).hexdigest(),
        "seq_sha256": hashlib.sha256(SEQ_SOURCE.read_bytes()).hexdigest(),
    }


def guest_dir(release):
    rcp = recipe(release)
    return LAB_ROOT / "guest" / f"{release}-{image.recipe_hash(rcp)}", rcp


def ensure_guest(release):
    """Return the directory of a ready guest (vmlinuz, initrd.img) for release, built if its recipe changed."""
    path, rcp = guest_dir(release)
    if (path / "ready").exists():
        return path
    require_tools("apt-get", "apt-cache", "dpkg-deb", "env", "gcc", KEYRING)
    tmp = path.with_name(path.name + ".tmp")
    remove_tree(tmp)
    work = tmp / "work"
    log(f"building the {release} test guest in {path}")
    started = time.monotonic()
    debs = _download(rcp, work)
    tree = work / "tree"
    for deb in debs:
        run(["dpkg-deb", "-x", deb, tree])
    kernels = sorted((tree / "boot").glob("vmlinuz-*"))
    if len(kernels) != 1:
        raise LabError(f"expected one kernel in {KERNEL_PACKAGE}'s dependency, found {len(kernels)}")
    version = kernels[0].name.removeprefix("vmlinuz-")
    config = kernel_config((tree / "boot" / f"config-{version}").read_text())
    modules = _module_files(tree, version)
    order = modules_to_load(config, DRIVERS, lambda name: modinfo_depends(_module_bytes(modules, name)),
                            optional=OPTIONAL_DRIVERS)
    busybox = next((p for p in (tree / "usr/bin/busybox", tree / "bin/busybox") if p.exists()), None)
    if busybox is None:
        raise LabError(f"{BUSYBOX_PACKAGE} has no busybox binary")
    seq = work / "hakvm-seq"
    run(["gcc", "-static", "-Os", "-s", "-Wall", "-Werror", "-o", seq, SEQ_SOURCE], timeout=300)
    archive = initramfs(busybox.read_bytes(), INIT_SCRIPT.read_text(),
                        [(name, _module_bytes(modules, name)) for name in order], seq=seq.read_bytes())
    shutil.copy2(kernels[0], tmp / "vmlinuz")
    (tmp / "initrd.img").write_bytes(archive)
    resolved = dict(_package_version(deb) for deb in debs)
    (tmp / "recipe.json").write_text(json.dumps(
        dict(rcp, kernel=version, resolved=resolved, modules=order), indent=2) + "\n")
    shutil.rmtree(work)
    seconds = time.monotonic() - started
    (tmp / "ready").write_text(f"{seconds:.1f}\n")
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    for old in path.parent.glob(f"{release}-*"):
        if old != path:
            shutil.rmtree(old, ignore_errors=True)
    log(f"guest {path.name} built in {seconds:.0f} s: kernel {version}, modules {', '.join(order) or 'none'}")
    return path


def _download(rcp, work):
    """Download the kernel and busybox .debs with apt-get on its own lists and cache under work."""
    apt = work / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "empty"):
        (apt / sub).mkdir(parents=True)
    (apt / "status").write_text("")
    (apt / "sources.list").write_text("".join(
        f"deb [signed-by={KEYRING}] {mirror} {suite} main\n"
        for mirror, suite in ((rcp["mirror"], rcp["release"]), (rcp["mirror"], f"{rcp['release']}-updates"),
                              (rcp["security_mirror"], f"{rcp['release']}-security"))))
    options = []
    for key, value in {
        "Dir::Etc::SourceList": apt / "sources.list", "Dir::Etc::SourceParts": apt / "empty",
        "Dir::Etc::Preferences": apt / "preferences", "Dir::Etc::PreferencesParts": apt / "empty",
        "Dir::State": apt, "Dir::State::Lists": apt / "lists", "Dir::State::status": apt / "status",
        "Dir::Cache": apt / "cache", "APT::Architectures::": "amd64", "Acquire::Languages": "none",
        # The build directory is root's; apt's _apt user could not write the downloads there.
        "APT::Sandbox::User": "root",
    }.items():
        options += ["-o", f"{key}={value}"]
    run(["apt-get", *options, "-q", "update"], timeout=600)
    show = run(["apt-cache", *options, "show", "--no-all-versions", KERNEL_PACKAGE], timeout=120).stdout
    debs = work / "debs"
    debs.mkdir()
    # apt-get download saves into the current directory.
    run(["env", "-C", debs, "apt-get", *options, "-q", "download", versioned_kernel(show), BUSYBOX_PACKAGE],
        timeout=1200)
    return sorted(debs.glob("*.deb"))


def _package_version(deb):
    name, version = run(["dpkg-deb", "--field", deb, "Package", "Version"]).stdout.splitlines()
    return name.removeprefix("Package: "), version.removeprefix("Version: ")


def versioned_kernel(show):
    """The versioned kernel package the cloud metapackage depends on, from `apt-cache show` output."""
    depends = next((line.split(":", 1)[1] for line in show.splitlines() if line.startswith("Depends:")), "")
    for alternative in re.split(r"[,|]", depends):
        name = alternative.split("(", 1)[0].strip()
        if re.fullmatch(r"linux-image-\d\S*-cloud-amd64", name):
            return name
    raise LabError(f"{KERNEL_PACKAGE} depends on no versioned cloud kernel: {depends.strip() or 'nothing'}")


def kernel_config(text):
    """A kernel config file as {option: value} ("y", "m", ...)."""
    return dict(line.split("=", 1) for line in text.splitlines() if line.startswith("CONFIG_") and "=" in line)


def modules_to_load(config, drivers, depends, optional=None):
    """The modules to insmod for drivers ({option: module}), dependencies first, then those of the
    optional drivers the kernel has.

    depends(name) lists a module's dependencies. Built-in (=y) drivers need none."""
    order = []

    def add(name):
        if name not in order:
            for dep in depends(name):
                add(dep)
            order.append(name)

    for option, module in drivers.items():
        value = config.get(option)
        if value == "m":
            add(module)
        elif value != "y":
            raise LabError(f"the guest kernel lacks {option} ({module}), which the guest needs to find its disk")
    for option, module in (optional or {}).items():
        if config.get(option) == "m":
            add(module)
    return order


def modinfo_depends(ko):
    """The depends= field of a kernel module (its .modinfo section) as a list of module names."""
    found = re.search(rb"(?:^|\0)depends=([\w,-]*)\0", ko)
    return [name for name in found.group(1).decode().split(",") if name] if found else []


def _module_files(tree, version):
    """{module name: file} of the kernel package; names with - and _ are the same module."""
    base = next((d for d in (tree / "usr/lib/modules" / version, tree / "lib/modules" / version) if d.is_dir()),
                None)
    if base is None:
        return {}
    return {p.name.split(".ko", 1)[0].replace("-", "_"): p for p in base.rglob("*.ko*")}


def _module_bytes(modules, name):
    """A module uncompressed: busybox insmod loads plain .ko files."""
    path = modules.get(name.replace("-", "_"))
    if path is None:
        raise LabError(f"the guest kernel has no module {name}")
    data = path.read_bytes()
    if path.name.endswith(".ko.xz"):
        return lzma.decompress(data)
    if path.name.endswith(".ko.gz"):
        return gzip.decompress(data)
    if path.name.endswith(".ko"):
        return data
    raise LabError(f"cannot decompress kernel module {path.name}")


def initramfs(busybox, init_script, modules, seq):
    """The gzipped newc cpio archive: busybox, /init, the write loop (hakvm-seq, a static executable) and the
    modules ([(name, bytes)]) with their load order."""
    entries = [(d, stat.S_IFDIR | 0o755, b"") for d in ("bin", "dev", "etc", "lib", "lib/modules", "proc", "sys")]
    entries += [
        ("dev/console", stat.S_IFCHR | 0o600, (5, 1)),     # the kernel opens it for /init before devtmpfs
        ("bin/busybox", stat.S_IFREG | 0o755, busybox),
        ("bin/sh", stat.S_IFLNK | 0o777, b"busybox"),
        ("bin/hakvm-seq", stat.S_IFREG | 0o755, seq),
        ("init", stat.S_IFREG | 0o755, init_script.encode()),
        ("etc/modules", stat.S_IFREG | 0o644, "".join(f"{name}\n" for name, _ in modules).encode()),
    ]
    entries += [(f"lib/modules/{name}.ko", stat.S_IFREG | 0o644, data) for name, data in modules]
    return gzip.compress(newc(entries), mtime=0)


def newc(entries):
    """A cpio archive in the kernel's newc format from (path, mode, data) entries, owned by root, time 0.

    data is the file's content, a symlink's target, or (major, minor) of a device node."""
    out = bytearray()
    for ino, (path, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        rdev, body = (data, b"") if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else ((0, 0), data)
        name = path.encode() + b"\0"
        fields = (ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(body), 0, 0, *rdev, len(name), 0)
        out += b"070701" + b"".join(b"%08x" % f for f in fields) + name
        out += b"\0" * (-len(out) % 4) + body
        out += b"\0" * (-len(out) % 4)
    return bytes(out)

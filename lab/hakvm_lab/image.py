"""The lab node image: a Debian root filesystem built with mmdebstrap, cached by recipe hash."""
import hashlib
import json
import shutil
import time
from pathlib import Path

import yaml

from hakvm_lab.util import LAB_ROOT, REPO_ROOT, LabError, log, remove_tree, require_tools, run

RELEASES = ("trixie", "bookworm")
RECIPE_FILE = REPO_ROOT / "lab" / "image.yml"
# Bump when the way the image is made changes without the recipe file changing.
BUILD_VERSION = 2                       # raise when the build itself changes (2: boot initrd without mdadm)


def recipe(release):
    """The full, resolved recipe for a release: everything that decides the image's content."""
    if release not in RELEASES:
        raise LabError(f"unknown release {release!r}; choose one of {', '.join(RELEASES)}")
    data = yaml.safe_load(RECIPE_FILE.read_text())
    packages = set(data["packages"])
    for source in data.get("role_packages", []):
        defaults = yaml.safe_load((REPO_ROOT / source["file"]).read_text()) or {}
        value = defaults.get(source["var"])
        if not isinstance(value, list):
            raise LabError(f"{source['file']}: {source['var']} is not a list of packages")
        packages.update(value)
    return {
        "build_version": BUILD_VERSION,
        "release": release,
        "mirror": data["mirror"],
        "security_mirror": data["security_mirror"],
        "components": data["components"],
        "packages": sorted(packages),
        "masked_units": sorted(data.get("masked_units", [])),
        "removed_paths": sorted(data.get("removed_paths", [])),
    }


def recipe_hash(rcp):
    return hashlib.sha256(json.dumps(rcp, sort_keys=True).encode()).hexdigest()[:12]


def image_dir(release):
    rcp = recipe(release)
    return LAB_ROOT / "images" / f"{release}-{recipe_hash(rcp)}", rcp


def ensure_image(release):
    """Return the directory of a ready image for release, building it if its recipe changed."""
    path, rcp = image_dir(release)
    if (path / "ready").exists():
        return path
    require_tools("mmdebstrap", "systemctl")
    tmp = path.with_name(path.name + ".tmp")
    remove_tree(tmp)
    tmp.mkdir(parents=True)
    rootfs = tmp / "rootfs"
    components = " ".join(rcp["components"])
    sources = [
        f"deb {rcp['mirror']} {release} {components}",
        f"deb {rcp['mirror']} {release}-updates {components}",
        f"deb {rcp['security_mirror']} {release}-security {components}",
    ]
    log(f"building the {release} image ({len(rcp['packages'])} packages) in {path}")
    started = time.monotonic()
    run(["mmdebstrap", "--variant=apt", "--mode=root", "--format=directory",
         f"--include={','.join(rcp['packages'])}", "--components=" + ",".join(rcp["components"]),
         release, rootfs, "\n".join(sources)], timeout=1800)
    _finish_rootfs(rootfs, rcp)
    boot = rootfs / "boot"
    kernels = sorted(boot.glob("vmlinuz-*"))
    initrds = sorted(boot.glob("initrd.img-*"))
    if not kernels or not initrds:
        raise LabError(f"image for {release} has no kernel or initrd in /boot")
    shutil.copy2(kernels[-1], tmp / "vmlinuz")
    _boot_initrd(rootfs, kernels[-1].name.removeprefix("vmlinuz-"), tmp / "initrd.img")
    (tmp / "recipe.json").write_text(json.dumps(rcp, indent=2) + "\n")
    seconds = time.monotonic() - started
    (tmp / "ready").write_text(f"{seconds:.1f}\n")
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    for old in path.parent.glob(f"{release}-*"):
        if old != path:
            try:
                remove_tree(old)        # an older recipe's image, or what a killed build of it left
            except LabError as err:
                log(str(err))
    log(f"image {path.name} built in {seconds:.0f} s")
    return path


def _boot_initrd(rootfs, version, dest):
    """The initrd VMs boot (the host's files, not the node's /boot): one without mdadm.

    A lab node's root is no md array, like a host whose system disk is not on the guests' RAID. An
    initramfs with mdadm but without the node's mdadm.conf would assemble the lab's arrays under
    host-less names (/dev/md/hv1:guests) before the root's udev names them from mdadm.conf."""
    hook = rootfs / "usr/share/initramfs-tools/hooks/mdadm"
    aside = rootfs / "root/mdadm.hook"
    if hook.exists():
        hook.rename(aside)
    try:
        run(["chroot", rootfs, "mkinitramfs", "-o", "/root/boot-initrd.img", version], timeout=600)
    finally:
        if aside.exists():
            aside.rename(hook)
    shutil.move(rootfs / "root/boot-initrd.img", dest)


def _finish_rootfs(rootfs, rcp):
    """Make the tree generic: every node gets its own identity when the lab creates it."""
    run(["systemctl", f"--root={rootfs}", "mask", *rcp["masked_units"]])
    for path in rcp.get("removed_paths", []):
        (Path(rootfs) / path.lstrip("/")).unlink(missing_ok=True)
    for key in (rootfs / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    (rootfs / "etc" / "machine-id").write_text("")
    (rootfs / "var" / "lib" / "dbus" / "machine-id").unlink(missing_ok=True)

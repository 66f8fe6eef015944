#!/bin/sh
# /init of the lab's test guest (hakvm-lab guest-image): a busybox initramfs, no root filesystem.
# It proves the guest runs and that its disk keeps every write it acknowledged. It checks the disk, then
# execs hakvm-seq (guest-seq.c), which writes a record a second: fsync, then ACK on the console.
#
# Disk /dev/vda, 512-byte records, each one line padded with spaces:
#   block 0   "HAKVM-SEQ LAST <n>"              the last record written (no header: a blank disk)
#   block k   "SEQ <k> <unix time> <boot id>"   k >= 1
# Serial console (ttyS0), one line per event; output is slow under emulation, so little of it:
#   HAKVM-GUEST BOOT <uptime s>                  /init started
#   HAKVM-GUEST RESUME last=<n> ok               records n-9..n are on the disk (last=0: blank disk)
#   HAKVM-GUEST RESUME last=<n> MISSING <k>...   these records of n-9..n are not
#   ACK <k>                                      record k and the header naming it are durable
#   HAKVM-GUEST ALIVE seq=<k> up=<uptime s>      every 60th record
#   HAKVM-GUEST ERROR <what>                     and it retries
#   HAKVM-GUEST POWEROFF                         the ACPI power button was pressed (virsh shutdown)

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "HAKVM-GUEST $*"; }
uptime_s() { read -r up _ </proc/uptime; echo "$up"; }

# The firmware leaves the console mid-line (after terminal escapes): start ours on a line of its own.
echo
say "BOOT $(uptime_s)"

# Drivers the kernel has as modules (the build lists them in load order).
if [ -s /etc/modules ]; then
    while read -r module; do
        insmod "/lib/modules/$module.ko" || say "ERROR insmod $module"
    done </etc/modules
fi

# A graceful shutdown (virsh shutdown, Pacemaker's stop) presses the ACPI power button: flush and power
# off, as an operating system would. A record being written then is not acknowledged yet.
for event in /sys/class/input/event*; do
    read -r name <"$event/device/name" 2>/dev/null || continue
    case $name in
        *"Power Button"*)
            (dd if="/dev/input/${event##*/}" bs=24 count=1 >/dev/null 2>&1 && say POWEROFF && sync && poweroff -f) &
            ;;
    esac
done

disk=/dev/vda
waited=0
until [ -b "$disk" ]; do
    waited=$((waited + 1))
    [ "$waited" -eq 120 ] && say "ERROR no $disk after 120 s"
    sleep 1
done

read_block() { dd if="$disk" bs=512 skip="$1" count=1 2>/dev/null; }

# Block 0 is read before anything is written. A read error is no blank disk: retry, never overwrite.
until header=$(read_block 0); do
    say "ERROR read $disk block 0"
    sleep 5
done
last=0
case $header in
    "HAKVM-SEQ LAST "*)
        last=${header#HAKVM-SEQ LAST }
        last=${last%% *}
        case $last in
            '' | *[!0-9]*)
                say "ERROR bad header, taken as a blank disk"
                last=0
                ;;
        esac
        ;;
esac

missing=
k=$((last > 9 ? last - 9 : 1))
while [ "$k" -le "$last" ]; do
    case $(read_block "$k") in
        "SEQ $k "*) ;;
        *) missing="$missing $k" ;;
    esac
    k=$((k + 1))
done
if [ -n "$missing" ]; then
    say "RESUME last=$last MISSING$missing"
else
    say "RESUME last=$last ok"
fi

read -r boot_id </proc/sys/kernel/random/boot_id
# The write loop is a small static program (guest-seq.c): a shell loop forks for every record, which
# kept the emulated guest, and so its host, busy all the time.
exec /bin/hakvm-seq "$disk" "$last" "$boot_id"

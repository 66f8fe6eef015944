"""hakvm-lab: real Debian nodes (VMs or systemd-nspawn containers) on one machine."""

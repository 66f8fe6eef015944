"""Verify the base role on lab nodes: what a Debian and Pacemaker administrator would check by hand."""
import pytest

HOSTS = {"hv1": ("198.18.2.11", "198.18.3.11"), "hv2": ("198.18.2.12", "198.18.3.12"), "arb": ("198.18.2.13", None)}


def name(host):
    return host.backend.get_hostname()


def in_container(host):
    return host.run("systemd-detect-virt --container").rc == 0


def test_base_packages(host):
    for pkg in ("chrony", "nftables", "ifupdown", "openssh-server", "python3-apt", "rsync"):
        assert host.package(pkg).is_installed, pkg


def test_apt_uses_the_proxy_and_deb822_sources(host):
    assert 'Acquire::http::Proxy "http://198.18.2.1:3142";' in host.file("/etc/apt/apt.conf.d/80hakvm-proxy").content_string
    release = host.system_info.codename
    sources = host.file("/etc/apt/sources.list.d/debian.sources").content_string
    assert f"Suites: {release} {release}-updates" in sources
    assert f"Suites: {release}-security" in sources
    # The lists were refreshed through the proxy.
    assert host.run("ls /var/lib/apt/lists/ | grep -c _Packages").stdout.strip() != "0"


def test_hostname(host):
    assert host.check_output("hostname") == name(host)


def test_hosts_file_resolves_every_member(host):
    me = name(host)
    for other, (lan, backplane) in HOSTS.items():
        # KVM hosts see each other on the backplane; the arbitrator and its peers use the LAN.
        expected = backplane if (backplane and HOSTS[me][1]) else lan
        assert host.check_output(f"getent hosts {other}").split()[0] == expected, other
    assert "127.0.1.1" not in host.file("/etc/hosts").content_string


def test_backplane(host):
    me = name(host)
    lan, backplane = HOSTS[me]
    if backplane is None:
        assert not host.file("/etc/network/interfaces.d/hakvm-backplane").exists
        return
    assert f"{backplane}/24" in host.check_output("ip -o -4 addr show dev eth1")
    peer = "hv2" if me == "hv1" else "hv1"
    assert host.run(f"ping -c1 -W2 {HOSTS[peer][1]}").rc == 0


def test_chrony_uses_the_lab_server(host):
    assert "server 198.18.2.1 iburst" in host.file("/etc/chrony/sources.d/hakvm.sources").content_string
    assert "# pool 2.debian.pool.ntp.org" in host.file("/etc/chrony/chrony.conf").content_string
    assert host.service("chrony").is_enabled
    if not in_container(host):
        assert host.service("chrony").is_running


def test_sysctl(host):
    conf = host.file("/etc/sysctl.d/60-hakvm.conf").content_string
    assert "kernel.panic_on_oops=1" in conf and "kernel.panic=30" in conf
    if not in_container(host):
        assert host.sysctl("kernel.panic") == 30
        assert host.sysctl("vm.swappiness") == 10


def test_sshd_effective_settings(host):
    effective = host.check_output("sshd -T")
    for line in ("permitrootlogin without-password", "passwordauthentication no", "x11forwarding no",
                 "allowtcpforwarding no", "kbdinteractiveauthentication no"):
        assert line in effective, line


def test_firewall_table(host):
    ruleset = host.check_output("nft list table inet hakvm")
    assert "policy drop" in ruleset
    assert 'tcp dport 22 accept comment "ssh"' in ruleset
    if HOSTS[name(host)][1]:
        assert 'comment "drbd"' in ruleset and 'comment "corosync link 0"' in ruleset
        assert "corosync-qnetd" not in ruleset
    else:
        assert 'ip saddr { 198.18.2.11, 198.18.2.12 } tcp dport 5403 accept comment "corosync-qnetd' in ruleset
        assert "drbd" not in ruleset
    assert host.service("nftables").is_enabled


def _tcp(host, address, port):
    """'refused' when the packet reached a closed port, 'dropped' when the firewall ate it."""
    cmd = host.run(f"timeout 3 bash -c '</dev/tcp/{address}/{port}'")
    return {124: "dropped", 1: "refused", 0: "open"}.get(cmd.rc, cmd.rc)


@pytest.mark.parametrize("port", [7788, 49152])
def test_cluster_ports_open_to_backplane_peers_only(host, port):
    me = name(host)
    if me == "hv2":
        # From the peer over the backplane: the packet reaches hv1 (nothing listens yet: refused).
        assert _tcp(host, "198.18.3.11", port) == "refused"
    elif me == "arb":
        # From the arbitrator on the LAN: dropped by hv1's firewall.
        assert _tcp(host, "198.18.2.11", port) == "dropped"


def test_boot_configuration_flushes_no_one_elses_tables(host):
    conf = "\n".join(line for line in host.file("/etc/nftables.conf").content_string.splitlines()
                     if not line.lstrip().startswith("#"))
    assert "flush ruleset" not in conf and 'include "/etc/nftables.d/*.nft"' in conf
    assert "ExecStop=-/usr/sbin/nft delete table inet hakvm" in host.check_output("systemctl cat nftables")
    # The boot table is the one proven last; its listing is what the next run compares the running table with.
    assert host.file("/var/lib/hakvm/firewall/proven.listing").content_string.strip() == \
        host.check_output("nft list table inet hakvm").strip()


def test_rollback_timer_is_disarmed(host):
    assert host.run("systemctl is-active hakvm-nft-rollback.timer").stdout.strip() != "active"

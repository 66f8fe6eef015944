"""Who wrote a corosync.conf, read positively: Debian's example (the package's conffile checksum), ours
(the marker), or someone else's cluster, which the cluster role must never take for a new host."""
import hashlib
import os

import pytest

from ansible_collections.hakvm.cluster.plugins.module_utils.corosync import ParseError, conffile_md5, describe, parse

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'corosync')
# dpkg-query -W -f='${Conffiles}' corosync, in the trixie lab image (the bookworm package ships the same file).
CONFFILES = (' /etc/corosync/corosync.conf 887ff038dcd6ad88b4c6b9dd772bf4d2\n'
             ' /etc/default/corosync 615971ba03bbc663df238e60fd82039e\n')
HANDMADE = """totem {
    version: 2
    cluster_name: handmade
    transport: knet
}
quorum {
    provider: corosync_votequorum
    two_node: 1
}
nodelist {
    node {
        ring0_addr: 198.18.2.11
        name: kvm-a
        nodeid: 7
    }
    node {
        ring0_addr: 198.18.2.12
        name: kvm-b
        nodeid: 9
    }
}
"""


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.mark.parametrize('name', ['debian-12-stock.conf', 'debian-13-stock.conf'])
def test_debian_example_is_recognised_by_the_package_checksum(name):
    info = describe(fixture(name), conffile_md5(CONFFILES))
    assert info['origin'] == 'debian-default' and info['cluster_name'] == 'debian'
    assert info['nodes'] == [{'name': 'node1', 'nodeid': 1, 'ring0_addr': '127.0.0.1', 'ring1_addr': None}]


def test_an_edited_example_is_not_debians():
    text = fixture('debian-13-stock.conf').replace('cluster_name: debian', 'cluster_name: mine')
    assert describe(text, conffile_md5(CONFFILES))['origin'] == 'other'


def test_someone_elses_cluster_is_other_with_its_nodes_and_quorum():
    info = describe(HANDMADE, conffile_md5(CONFFILES))
    assert info['origin'] == 'other' and info['cluster_name'] == 'handmade'
    assert [(n['name'], n['nodeid']) for n in info['nodes']] == [('kvm-a', 7), ('kvm-b', 9)]
    assert info['two_node'] and not info['qdevice'] and info['crypto_cipher'] == 'none'


def test_ours_carries_the_marker_older_ones_too():
    ours = '# Managed by hakvm.cluster (cluster role).\n# hakvm-identity: hakvm knet aes256 sha256 qdevice\n' + HANDMADE
    older = '# Managed by hakvm.cluster; restart-identity: hakvm knet aes256 sha256\n' + HANDMADE
    assert describe(ours)['origin'] == 'hakvm' and describe(ours)['identity'] == 'hakvm knet aes256 sha256 qdevice'
    assert describe(older)['origin'] == 'hakvm'


def test_absent_and_unreadable():
    assert describe(None)['origin'] == 'absent'
    broken = describe('totem {\n    version: 2\n')
    assert broken['origin'] == 'unreadable' and 'not closed' in broken['error']
    with pytest.raises(ParseError, match='line 2'):
        parse('totem {\n what is this\n}\n')


def test_the_fixture_checksums_match_the_package():
    for name in ('debian-12-stock.conf', 'debian-13-stock.conf'):
        assert hashlib.md5(fixture(name).encode()).hexdigest() == conffile_md5(CONFFILES)

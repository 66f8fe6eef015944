"""lvm_volume planning on real vgs/lvs reports recorded in a trixie lab VM (fixtures/lvm, made by
fixtures/lvm/record.sh: a 4 MiB-extent VG "rec" with the volume disk0 of 25 extents)."""
import os

import pytest

from ansible_collections.hakvm.cluster.plugins.module_utils import lvm

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'lvm')
MiB = 1024 ** 2


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def group(name):
    row = lvm.parse_report(fixture(name), 'vg')[0]
    return int(row['vg_extent_size']), int(row['vg_free_count'])


def disk0():
    return lvm.volume(lvm.parse_report(fixture('lvs-disk0.json'), 'lv')[0])


@pytest.mark.parametrize('size, expected', [
    ('100M', 100 * MiB), ('100m', 100 * MiB), ('1G', 1024 * MiB), ('1.5g', 1536 * MiB), ('2048s', MiB),
    ('512 KiB', 512 * 1024), ('4096b', 4096),
])
def test_sizes_are_lvm_units(size, expected):
    assert lvm.size_bytes(size) == expected


@pytest.mark.parametrize('size', ['100', 'ten G', '1.3b', '-5G', '5X'])
def test_sizes_without_a_unit_or_malformed_are_refused(size):
    with pytest.raises(ValueError, match='size'):
        lvm.size_bytes(size)


def test_extents_round_up_the_same_way_everywhere():
    assert lvm.extents(100 * MiB, 4 * MiB) == 25
    assert lvm.extents(100 * MiB + 1, 4 * MiB) == 26
    assert lvm.extents(130 * MiB, 4 * MiB) == 33


def test_reports_parse():
    assert lvm.parse_report(fixture('lvs-absent.json'), 'lv') == []
    vol = disk0()
    assert vol == {'vg': 'rec', 'lv': 'disk0', 'path': '/dev/rec/disk0', 'size_bytes': 100 * MiB,
                   'tags': ['guest_web1', 'hakvm'], 'active': True}
    extent, free = group('vgs-empty.json')
    assert extent == 4 * MiB and free - group('vgs-used.json')[1] == 25


def test_create_uses_whole_extents_and_wipes_old_signatures():
    extent, free = group('vgs-empty.json')
    steps = lvm.plan('rec', 'disk0', 99 * MiB, ['hakvm'], None, extent, free)
    assert steps == [('create', ['lvcreate', '--yes', '--wipesignatures', 'y', '--extents', '25', '--name',
                                 'disk0', '--addtag', 'hakvm', 'rec'])]


def test_same_size_and_tags_plan_nothing():
    extent, free = group('vgs-used.json')
    assert lvm.plan('rec', 'disk0', 100 * MiB, ['guest_web1', 'hakvm'], disk0(), extent, free) == []
    # A request that rounds to the same extents is the same size.
    assert lvm.plan('rec', 'disk0', 97 * MiB, ['guest_web1', 'hakvm'], disk0(), extent, free) == []


def test_grow_and_retag_in_place():
    extent, free = group('vgs-used.json')
    steps = lvm.plan('rec', 'disk0', 120 * MiB, ['hakvm', 'replicated'], disk0(), extent, free)
    assert steps == [('extend', ['lvextend', '--extents', '30', 'rec/disk0']),
                     ('tag', ['lvchange', '--addtag', 'replicated', '--deltag', 'guest_web1', 'rec/disk0'])]


def test_shrink_is_refused():
    extent, free = group('vgs-used.json')
    with pytest.raises(lvm.Refusal, match='refusing to shrink rec/disk0 from 104857600 to 83886080 bytes'):
        lvm.plan('rec', 'disk0', 80 * MiB, ['hakvm'], disk0(), extent, free)


def test_not_enough_space_is_named_before_lvm_tries():
    extent, free = group('vgs-used.json')
    with pytest.raises(lvm.Refusal, match='volume group rec has %d free extents' % free):
        lvm.plan('rec', 'huge', 100 * 1024 ** 4, [], None, extent, free)
    with pytest.raises(lvm.Refusal, match='growing rec/disk0 needs'):
        lvm.plan('rec', 'disk0', 100 * 1024 ** 4, [], disk0(), extent, free)

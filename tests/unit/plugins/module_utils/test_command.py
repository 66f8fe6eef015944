"""The shared command runner: secrets in what tools print never reach a result or an error message."""
import os

import pytest

from ansible_collections.hakvm.cluster.plugins.module_utils.command import CommandError, Runner, redact

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')
SECRET = 'lab-only-drbd-secret'


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


class FakeModule:
    def __init__(self, rc, out, err=''):
        self.answer = (rc, out, err)
        self.no_log_values = set()

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return name

    def run_command(self, argv, environ_update=None, data=None):
        return self.answer


def test_a_dry_run_that_reconnects_shows_no_shared_secret():
    # What drbdadm -d adjust printed for a StandAlone resource in the lab (fixtures/drbd/record.sh).
    out = fixture('drbd/adjust-dry-standalone.txt')
    assert SECRET in out
    module = FakeModule(0, out)
    rc, seen, _err = Runner(module).run(['drbdadm', '-d', 'adjust', 'web1-disk0'])
    assert SECRET not in seen and '--shared-secret=********' in seen
    assert SECRET in module.no_log_values


def test_an_error_message_names_no_secret_the_module_knows():
    module = FakeModule(10, '', 'Command failed: net-options --shared-secret=%s (peer mismatch)' % SECRET)
    module.no_log_values.add('fence-Pa55word')
    with pytest.raises(CommandError) as failed:
        Runner(module).run(['fence_ipmilan', '--password', 'fence-Pa55word'])
    text = '%s %s %s' % (failed.value, failed.value.err, failed.value.out)
    assert SECRET not in text and 'fence-Pa55word' not in text and '********' in text


@pytest.mark.parametrize('text, expected', [
    ('shared-secret "s3cret-value";', 'shared-secret ********;'),
    ('shared-secret s3cret-value;', 'shared-secret ********;'),
    ('--shared-secret s3cret-value --x', '--shared-secret ******** --x'),
    ('ipmitool -U admin password=Hunter22', 'ipmitool -U admin password=********'),
    ('no secret here: 7788', 'no secret here: 7788'),
])
def test_patterns(text, expected):
    assert redact(text) == expected


def test_parsed_output_keeps_its_shape_a_cib_value_with_password_in_it_stays_xml():
    cib = '<nvpair id="x" name="options" value="-o password=abc"/>\n<nvpair id="y" name="b" value="c"/>\n'
    module = FakeModule(0, cib)
    assert Runner(module).run(['cibadmin', '--query'])[1] == cib

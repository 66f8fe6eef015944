"""delete_link: a link that vanishes between the listing and the delete is not an error."""
import subprocess

import pytest

from hakvm_lab import net
from hakvm_lab.util import LabError


def failed_delete(argv, check=True, **_):
    return subprocess.CompletedProcess(argv, 1, "", 'Cannot find device "hkmbase2l"')


def test_a_link_gone_meanwhile_is_deleted_all_the_same(monkeypatch):
    monkeypatch.setattr(net, "_links", lambda: ["hkmbase2l"])
    monkeypatch.setattr(net, "run", failed_delete)
    monkeypatch.setattr(net, "link_exists", lambda name: False)
    net.delete_link("hkmbase2l")


def test_a_link_that_stays_is_an_error_naming_it(monkeypatch):
    monkeypatch.setattr(net, "_links", lambda: ["hkmbase2l"])
    monkeypatch.setattr(net, "run", failed_delete)
    monkeypatch.setattr(net, "link_exists", lambda name: True)
    with pytest.raises(LabError, match="hkmbase2l"):
        net.delete_link("hkmbase2l")

"""The switch-over's wait for pingd, run with the real cibadmin on a recorded CIB file.

The CIB (tests/unit/plugins/module_utils/fixtures/pacemaker-node-cib-running.xml) is a two-node cluster,
hv1 and hv2, with the ping clone running on both and no pingd yet; crm_attribute --lifetime reboot puts
pingd where attrd writes it (the node's transient_attributes in the status section).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "roles"))
from templating import evaluate, role_vars  # noqa: E402

CIB = ROOT / "tests" / "unit" / "plugins" / "module_utils" / "fixtures" / "pacemaker-node-cib-running.xml"

pytestmark = pytest.mark.skipif(not shutil.which("cibadmin") and not os.path.exists("/usr/sbin/cibadmin"),
                                reason="needs pacemaker-cli-utils (./dev setup)")


@pytest.fixture
def cib(tmp_path):
    path = tmp_path / "cib.xml"
    shutil.copy(CIB, path)
    return str(path)


def env(cib):
    return dict(os.environ, CIB_file=cib, PATH=os.environ["PATH"] + ":/usr/sbin")


def wait_task():
    tasks = yaml.safe_load((ROOT / "roles/cluster/tasks/switch_over.yml").read_text())
    return next(t for t in tasks if t["name"].startswith("Wait until every host's connectivity check"))


def run_wait(cib):
    """The task's command as the role renders it, run on the CIB file; then its end condition."""
    task = wait_task()
    variables = role_vars("cluster")
    shell = task["ansible.builtin.shell"]
    command = evaluate(shell["cmd"], variables)
    done = subprocess.run([shell["executable"], "-c", command], env=env(cib), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ended = evaluate("{{ " + task["until"] + " }}", variables | {"__cluster_pingd": {"stdout": done.stdout}})
    return done.stdout, ended


def pingd(cib, node, value="1000"):
    subprocess.run(["crm_attribute", "--node", node, "--name", "pingd", "--lifetime", "reboot", "--update", value],
                   env=env(cib), check=True, capture_output=True)


def test_no_host_has_reported_yet(cib):
    assert run_wait(cib) == ("runs hv2\nruns hv1\n", False)


def test_one_host_has_reported(cib):
    pingd(cib, "hv2")
    assert run_wait(cib) == ("runs hv2\nreported hv2\nruns hv1\n", False)


def test_every_host_has_reported_even_without_connectivity(cib):
    # A host whose targets do not answer has pingd=0: reported (the rule then moves guests off it, rightly).
    pingd(cib, "hv1", "0")
    pingd(cib, "hv2")
    assert run_wait(cib) == ("runs hv2\nreported hv2\nruns hv1\nreported hv1\n", True)


def test_a_host_that_runs_no_ping_clone_is_not_waited_for(cib):
    # In standby, or with the clone banned, a host has no ping probe that could set pingd.
    subprocess.run(["cibadmin", "--delete", "--xpath", "//node_state[@uname='hv1']//lrm_resource[@id='p_ping']"],
                   env=env(cib), check=True)
    pingd(cib, "hv2")
    assert run_wait(cib) == ("runs hv2\nreported hv2\n", True)


def test_a_cluster_without_the_ping_clone_does_not_wait(cib):
    subprocess.run(["cibadmin", "--delete", "--xml-text", '<clone id="cl_ping"/>'], env=env(cib), check=True)
    assert run_wait(cib) == ("", True)

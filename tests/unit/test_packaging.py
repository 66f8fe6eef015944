"""What the built collection ships, and that every role documents its whole surface."""
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-galaxy"), "collection", "build", "--output-path", str(out),
                    str(ROOT)], check=True, capture_output=True)
    with tarfile.open(next(out.glob("hakvm-cluster-*.tar.gz"))) as tar:
        return tar.getnames()


def test_the_collection_ships_what_users_need_and_nothing_of_the_lab(shipped):
    for needed in ("LICENSE", "README.md", "requirements.yml", "playbooks/site.yml", "meta/runtime.yml",
                   "examples/production/hosts.yml", "examples/production/group_vars/all/vault.yml.example",
                   "plugins/modules/pacemaker_cib.py", "roles/cluster/README.md", "changelogs/changelog.yaml",
                   "CHANGELOG.rst"):
        assert needed in shipped, needed
    for name in shipped:
        top = name.split("/", 1)[0]
        assert top not in ("inventory", "molecule", "lab", "tests", "benchmarks", ".venv", ".pytest_cache", "collections",
                           ".config", "dev", "requirements.txt", "ansible.cfg"), name
        assert "__pycache__" not in name and not name.endswith(".pyc") and not name.endswith("plugin-cache.yaml"), name


def test_the_changelog_has_a_release():
    changes = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())
    assert "0.1.0" in changes["releases"]
    assert "v0.1.0" in (ROOT / "CHANGELOG.rst").read_text()


@pytest.mark.parametrize("role", ROLES)
def test_every_role_variable_is_documented_with_an_example(role):
    readme = (ROOT / "roles" / role / "README.md").read_text()
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    undocumented = sorted(v for v in set(defaults) | set(options) if "`%s`" % v not in readme)
    assert not undocumented, "%s README lacks %s" % (role, ", ".join(undocumented))
    unspecified = sorted(set(defaults) - set(options))
    assert not unspecified, "%s argument_specs lack %s" % (role, ", ".join(unspecified))
    assert "## Example" in readme

"""The drbd role's fence-peer handler (roles/drbd/files/hakvm-drbd-fence-peer).

Pure functions against the two recorded CIBs (Pacemaker 3.0 with timestamp node_state, crmsh 4.4 on
bookworm with <master>) and variants edited from them; then the real script as a process against CIB
files built with cibadmin (CIB_file=...), with fake crm_node, crmadmin and stonith_admin on PATH,
since those ask the live cluster and never read CIB_file.
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scripts import load_script

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "roles" / "drbd" / "files" / "hakvm-drbd-fence-peer"
FIXTURES = ROOT / "tests" / "unit" / "plugins" / "module_utils" / "fixtures"
TRIXIE = FIXTURES / "pacemaker-3.0-trixie-live.xml"
BOOKWORM = FIXTURES / "crmsh-4.4-bookworm.xml"
CID = "drbd-fence-by-handler-web-ms_drbd_web"


fp = load_script(SCRIPT, "hakvm_drbd_fence_peer")


def cib(path):
    return ET.parse(path).getroot()


def set_node_state(root, uname, **attrs):
    """A copy of the CIB whose node_state for `uname` carries these attributes (created if absent)."""
    root = copy.deepcopy(root)
    status = root.find("status")
    state = next((s for s in status.iter("node_state") if s.get("uname") == uname), None)
    if state is None:
        state = ET.SubElement(status, "node_state", {"id": uname, "uname": uname})
    state.attrib.update(attrs)
    return root


LEGACY_UP = {"in_ccm": "true", "crmd": "online", "join": "member", "expected": "member"}
LEGACY_FENCED = {"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "down"}
STAMP_UP = {"in_ccm": "1795437138", "crmd": "1795437142", "join": "member", "expected": "member"}
STAMP_LOST = {"in_ccm": "0", "crmd": "0", "join": "member", "expected": "member"}
STAMP_FENCED = {"in_ccm": "0", "crmd": "0", "join": "down", "expected": "down"}


# ------------------------------------------------------------------ node_state in both formats

@pytest.mark.parametrize("value, member", [
    ("true", True), ("false", False), ("1795437021", True), ("0", False), ("1", True),
    (None, None), ("garbage", None), ("-5", None)])
def test_in_ccm_is_read_as_boolean_or_timestamp(value, member):
    assert fp.parse_member(value) is member


@pytest.mark.parametrize("value, online", [
    ("online", True), ("offline", False), ("1795437020", True), ("0", False), (None, False),
    ("garbage", False)])
def test_crmd_is_read_as_word_or_timestamp(value, online):
    assert fp.parse_online(value) is online


def test_recorded_pacemaker_3_cib_has_both_nodes_active_in_timestamp_format():
    root = cib(TRIXIE)
    for node in ("hv1", "hv2"):
        state = fp.node_state_of(root, node)
        assert state.active and not state.down
        assert state.fmt == "timestamp"
    assert fp.node_state_of(root, "hv3") is None


def test_timestamp_zero_means_lost_and_expected_down_means_fenced():
    lost = fp.node_state_of(set_node_state(cib(TRIXIE), "hv2", **STAMP_LOST), "hv2")
    assert (lost.member, lost.online, lost.active, lost.down) == (False, False, False, False)
    fenced = fp.node_state_of(set_node_state(cib(TRIXIE), "hv2", **STAMP_FENCED), "hv2")
    assert fenced.down and not fenced.active


def test_legacy_words_on_the_bookworm_cib():
    root = set_node_state(cib(BOOKWORM), "hv2", **LEGACY_UP)
    up = fp.node_state_of(root, "hv2")
    assert up.active and up.fmt == "legacy"
    down = fp.node_state_of(set_node_state(root, "hv2", **LEGACY_FENCED), "hv2")
    assert down.down and not down.active
    # what the broken 9.22 script misses: a live 3.0 node is not crmd="online", yet it is active
    assert fp.node_state_of(set_node_state(root, "hv2", **STAMP_UP), "hv2").active


def test_a_node_pending_its_join_is_not_active():
    state = fp.node_state_of(set_node_state(cib(TRIXIE), "hv2", join="pending"), "hv2")
    assert state.member and state.online and not state.active


# ------------------------------------------------------------------ clone, role, constraint XML

def test_finds_the_master_of_the_bookworm_cib_and_nothing_else():
    assert fp.find_drbd_clone(cib(BOOKWORM), "web") == "ms_drbd_web"
    assert fp.find_drbd_clone(cib(BOOKWORM), "db") is None
    assert fp.find_drbd_clone(cib(TRIXIE), "web") is None  # no DRBD there: not run by Pacemaker


def test_finds_a_promotable_clone_but_not_a_plain_one():
    root = cib(BOOKWORM)
    master = root.find("configuration/resources/master")
    master.tag = "clone"
    master.set("id", "cl_drbd_web")
    assert fp.find_drbd_clone(root, "web") is None  # a clone that is not promotable
    meta = master.find("meta_attributes")
    ET.SubElement(meta, "nvpair", {"id": "p", "name": "promotable", "value": "true"})
    assert fp.find_drbd_clone(root, "web") == "cl_drbd_web"


@pytest.mark.parametrize("schema, role", [
    ("pacemaker-3.9", "Promoted"), ("pacemaker-4.0", "Promoted"), ("pacemaker-3.7", "Promoted"),
    ("pacemaker-3.6", "Master"), ("pacemaker-2.10", "Master"), ("pacemaker-next", "Promoted"),
    ("none", "Master"), (None, "Master")])
def test_role_spelling_follows_the_schema(schema, role):
    assert fp.role_for_schema(schema) == role


def test_recorded_cibs_get_promoted():
    assert fp.role_for_schema(cib(BOOKWORM).get("validate-with")) == "Promoted"
    assert fp.role_for_schema(cib(TRIXIE).get("validate-with")) == "Promoted"


def test_constraint_forbids_the_promoted_role_everywhere_but_here():
    xml = ET.fromstring(fp.build_constraint("web", "ms_drbd_web", "hv1", "Promoted"))
    assert (xml.tag, xml.get("id"), xml.get("rsc")) == ("rsc_location", CID, "ms_drbd_web")
    rule = xml.find("rule")
    assert (rule.get("role"), rule.get("score")) == ("Promoted", "-INFINITY")
    expr = rule.find("expression")
    assert (expr.get("attribute"), expr.get("operation"), expr.get("value")) == ("#uname", "ne", "hv1")
    assert fp.constraint_owner(xml) == "hv1"


def test_upstream_constraints_are_recognised_and_odd_ones_are_not():
    upstream = ET.fromstring(
        f'<rsc_location rsc="ms_drbd_web" id="{CID}"><rule role="Master" score="-INFINITY" '
        'id="drbd-fence-by-handler-web-rule-ms_drbd_web"><expression attribute="#uname" '
        'operation="ne" value="hv2" id="drbd-fence-by-handler-web-expr-ms_drbd_web"/></rule>'
        '</rsc_location>')
    assert fp.constraint_owner(upstream) == "hv2"
    assert fp.constraint_state(upstream, "hv1") == (fp.OTHER, "hv2")
    assert fp.constraint_state(upstream, "hv2") == (fp.MINE, "hv2")
    assert fp.constraint_state(None, "hv1") == (fp.ABSENT, None)
    odd = ET.fromstring(f'<rsc_location id="{CID}" rsc="ms_drbd_web" node="hv2" score="-INFINITY"/>')
    assert fp.constraint_state(odd, "hv1") == (fp.FOREIGN, None)


def test_constraints_are_found_by_resource_even_for_a_renamed_clone():
    root = cib(BOOKWORM)
    constraints = root.find("configuration/constraints")
    for resource, clone in (("web", "ms_old"), ("web-db", "ms_x"), ("web", "ms_drbd_web")):
        constraints.append(ET.fromstring(fp.build_constraint(resource, clone, "hv1", "Promoted")))
    found = [c.get("id") for c in fp.find_fence_constraints(root, "web")]
    assert found == ["drbd-fence-by-handler-web-ms_old", CID]


# ------------------------------------------------------------------ local state and CLI output

PROC = """version: 8.4.11 (api:1/proto:86-101)
srcversion: 0F36B2A6F1D1C3A5E4B7B10
 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C s---F-
    ns:8 nr:0 dw:8 dr:1024 al:1 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:8
 1: cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate C r-----
    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
 2: cs:Unconfigured
 3: cs:WFConnection ro:Secondary/Unknown ds:Consistent/DUnknown C r-----
"""


def test_proc_drbd_of_the_resource_minors():
    lost = fp.parse_proc_drbd(PROC, (0,))
    assert lost.configured and lost.all_uptodate and lost.primary and not lost.link_back
    back = fp.parse_proc_drbd(PROC, (1,))
    assert back.link_back and back.both_uptodate and not back.primary
    assert not fp.parse_proc_drbd(PROC, (2,)).configured
    assert not fp.parse_proc_drbd(PROC, (7,)).configured
    mixed = fp.parse_proc_drbd(PROC, (0, 3))
    assert mixed.all_consistent and not mixed.all_uptodate
    assert fp.parse_minors("0 3") == (0, 3) and fp.parse_minors(None) == ()


def test_cluster_tool_output():
    assert fp.parse_crm_node_list("1 hv1 member\n2 hv2 lost\n") == {"hv1": "member", "hv2": "lost"}
    assert fp.parse_quorum("1\n") is True and fp.parse_quorum("0\n") is False
    assert fp.parse_quorum("") is None
    ok = ('<pacemaker-result api-version="2.25" request="crmadmin -S hv2"><crmd node_name="hv2" '
          'state="S_NOT_DC" result="ok"/><status code="0" message="OK"/></pacemaker-result>')
    assert fp.parse_crmadmin_status(ok, "hv2") and not fp.parse_crmadmin_status(ok, "hv1")
    assert not fp.parse_crmadmin_status("Controller on hv2 in state S_NOT_DC: ok", "hv2")


@pytest.mark.parametrize("text, epoch", [
    ("2026-11-23 12:25:20Z", 1795436720.0),  # 2.1.5
    ("2026-11-23 12:25:20.250000Z", 1795436720.25),  # 3.0 adds microseconds
    ("2026-11-23 13:25:20 +01:00", 1795436720.0),  # a node not on UTC
    ("yesterday", None)])
def test_fencing_history_times(text, epoch):
    assert fp.parse_pcmk_time(text) == epoch


def test_last_successful_fencing_of_the_peer():
    history = """<pacemaker-result api-version="2.25" request="stonith_admin --history hv2">
      <fence_history>
        <fence_event action="reboot" target="hv2" client="pacemaker-controld.1" origin="hv1"
            status="success" delegate="hv1" completed="2026-11-23 12:25:20Z"/>
        <fence_event action="reboot" target="hv2" client="pacemaker-controld.1" origin="hv1"
            status="failed" exit-reason="timeout" completed="2026-11-23 12:30:00Z"/>
        <fence_event action="on" target="hv2" client="x" origin="hv1" status="success"
            completed="2026-11-23 12:40:00Z"/>
        <fence_event action="off" target="hv1" client="x" origin="hv2" status="success"
            completed="2026-11-23 12:50:00Z"/>
        <fence_event action="reboot" target="hv2" client="x" origin="hv1" status="pending"
            extended-status="1"/>
      </fence_history>
      <status code="0" message="OK"/>
    </pacemaker-result>"""
    assert fp.last_fencing(history, "hv2") == 1795436720.0
    assert fp.last_fencing(history, "hv3") is None


# ------------------------------------------------------------------ the decision table

STARTED = 1795436720.0


def evidence(state="up", live="member", quorate=True, controller=True, fenced=None):
    """Evidence about hv2; `fenced` is the last fencing's time relative to the handler's start."""
    state = STAMP_UP if state == "up" else state
    node_state = None if state is None else fp.node_state_from_attrs(dict(state, uname="hv2"))
    return fp.Evidence(node_state, live, quorate, controller,
                       None if fenced is None else STARTED + fenced, STARTED)


@pytest.mark.parametrize("ev, expected", [
    (evidence(), fp.REACHABLE),
    (evidence(state=LEGACY_UP), fp.REACHABLE),
    (evidence(live=None), fp.REACHABLE),  # crm_node could not answer: crmadmin's round trip counts
    (evidence(live="lost"), fp.PENDING),
    (evidence(quorate=False), fp.PENDING),
    (evidence(quorate=None), fp.PENDING),
    (evidence(controller=False), fp.PENDING),  # a full split corosync has not noticed yet
    (evidence(state=STAMP_LOST, live="lost", controller=None), fp.PENDING),  # unclean, fencing due
    (evidence(state=None, live="lost", controller=None), fp.PENDING),
    (evidence(state=STAMP_LOST, live="lost", controller=None, fenced=12), fp.FENCED),
    (evidence(state=STAMP_LOST, live="lost", controller=None, fenced=-3), fp.FENCED),  # clock slack
    (evidence(state=STAMP_LOST, live="lost", controller=None, fenced=-30), fp.PENDING),
    (evidence(state=None, live=None, quorate=None, controller=None, fenced=2), fp.FENCED),
    (evidence(state=STAMP_FENCED, live="lost", controller=None, fenced=-30), fp.FENCED),
    (evidence(state=LEGACY_FENCED, live="lost", controller=None, fenced=-30), fp.FENCED),
    (evidence(state=STAMP_FENCED, live="lost", controller=None, fenced=-600), fp.PENDING),
    (evidence(state=STAMP_FENCED, live="lost", controller=None), fp.PENDING),  # Pacemaker stopped
    (evidence(state=STAMP_FENCED, live="lost", quorate=False, controller=None, fenced=-30),
     fp.PENDING),
    (evidence(state=STAMP_FENCED, live="member", controller=None, fenced=-30), fp.PENDING),
])
def test_peer_classification(ev, expected):
    assert fp.classify_peer(ev)[0] == expected


def local(disk="UpToDate", role="Primary"):
    return fp.LocalState((0,), (fp.Volume(0, "WFConnection", role, "Unknown", disk, "DUnknown"),))


@pytest.mark.parametrize("peer, disk, role, cstate, code, place", [
    (fp.REACHABLE, "UpToDate", "Primary", fp.ABSENT, 4, True),
    (fp.REACHABLE, "UpToDate", "Primary", fp.MINE, 4, True),
    (fp.REACHABLE, "Consistent", "Secondary", fp.ABSENT, 4, True),  # upstream: promotion may go on
    (fp.REACHABLE, "Outdated", "Secondary", fp.ABSENT, 5, False),
    (fp.FENCED, "UpToDate", "Primary", fp.ABSENT, 7, True),
    (fp.FENCED, "UpToDate", "Primary", fp.MINE, 7, True),
    (fp.FENCED, "Consistent", "Secondary", fp.ABSENT, 5, False),  # upstream: kernel refuses promotion
    (fp.PENDING, "UpToDate", "Primary", fp.ABSENT, None, None),
    (fp.PENDING, "UpToDate", "Primary", fp.MINE, None, None),
    (fp.PENDING, "UpToDate", "Primary", fp.OTHER, 12, False),
    (fp.REACHABLE, "UpToDate", "Primary", fp.OTHER, 12, False),
    (fp.REACHABLE, "UpToDate", "Secondary", fp.OTHER, 6, False),
    (fp.FENCED, "Consistent", "Secondary", fp.OTHER, 6, False),
    (fp.REACHABLE, "UpToDate", "Secondary", fp.FOREIGN, 12, False),
])
def test_decision_table(peer, disk, role, cstate, code, place):
    decision = fp.decide(peer, local(disk, role), cstate)
    if code is None:
        assert decision is None
    else:
        assert (decision.exit_code, decision.place) == (code, place)


# ------------------------------------------------------------------ the script as a process

pytestmark_cli = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("cibadmin", "crm_verify", "crm_simulate")),
    reason="needs Pacemaker's cibadmin, crm_verify and crm_simulate")

FAKE_TOOL = r'''#!{python}
"""Fake {name}: answers from the JSON in $FAKE_STATE, as the live cluster would."""
import json, os, sys, time
from datetime import datetime, timezone

state = json.load(open(os.environ["FAKE_STATE"]))
if time.time() < state.get("controller_down_until", 0):
    print("Could not connect to controller: Transport endpoint is not connected", file=sys.stderr)
    sys.exit(102)
args = sys.argv[1:]
name = os.path.basename(sys.argv[0])
with open(state["calls"], "a") as calls:
    calls.write(" ".join([name] + args) + "\n")
if name == "crm_node":
    if "--name" in args:
        print(state["me"])
    elif "--quorum" in args:
        print(state["quorum"])
        sys.exit(0 if state["quorum"] else 3)
    elif "--list" in args:
        for number, (node, member) in enumerate(sorted(state["members"].items()), 1):
            print(number, node, member)
elif name == "crmadmin":
    peer = args[args.index("--status") + 1]
    if peer not in state["answering"]:
        print("error: Could not get controller status: Timer expired", file=sys.stderr)
        sys.exit(124)
    print('<pacemaker-result api-version="2.25" request="crmadmin">'
          f'<crmd node_name="{{peer}}" state="S_NOT_DC" result="ok"/>'
          '<status code="0" message="OK"/></pacemaker-result>')
elif name == "stonith_admin":
    peer = args[args.index("--history") + 1]
    print('<pacemaker-result api-version="2.25" request="stonith_admin"><fence_history>')
    for event in state["fencing"]:
        if event["target"] == peer and event["at"] <= time.time():
            done = datetime.fromtimestamp(event["at"], timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
            print(f'<fence_event action="reboot" target="{{peer}}" client="pacemaker-controld.1" '
                  f'origin="hv1" status="success" delegate="hv1" completed="{{done}}"/>')
    print('</fence_history><status code="0" message="OK"/></pacemaker-result>')
'''


def proc_drbd(cs="WFConnection", role="Primary", disk="UpToDate", pdsk="DUnknown"):
    return (f"version: 8.4.11 (api:1/proto:86-101)\n"
            f" 0: cs:{cs} ro:{role}/Unknown ds:{disk}/{pdsk} C s---F-\n"
            "    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n")


class Cluster:
    """A CIB file (cibadmin --empty + two nodes + a promotable clone of ocf:linbit:drbd), the
    fake live tools and the environment drbdadm-84 gives a fence-peer handler."""

    def __init__(self, path: Path):
        self.path = path
        self.cib = path / "cib.xml"
        self.bin = path / "bin"
        self.bin.mkdir()
        for tool in ("crm_node", "crmadmin", "stonith_admin"):
            fake = self.bin / tool
            fake.write_text(FAKE_TOOL.format(python=sys.executable, name=tool))
            fake.chmod(0o755)
        self.state_file = path / "state.json"
        self.state = {"me": "hv1", "quorum": 1, "members": {"hv1": "member", "hv2": "member"},
                      "answering": ["hv2"], "fencing": [], "calls": str(path / "calls.log")}
        self.save()
        self.proc = path / "proc_drbd"
        self.proc.write_text(proc_drbd())

    def save(self):
        self.state_file.write_text(json.dumps(self.state))

    def env(self, **extra):
        env = dict(os.environ, PATH=f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
                   CIB_file=str(self.cib), FAKE_STATE=str(self.state_file), DRBD_RESOURCE="web",
                   DRBD_PEER="hv2", DRBD_PEERS="hv2", DRBD_MINOR="0", DRBD_PEER_AF="ipv4",
                   DRBD_PEER_ADDRESS="192.0.2.12", DRBD_CONF="/etc/drbd.conf")
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def cibadmin(self, *args):
        done = subprocess.run(["cibadmin", *args], env=self.env(), capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def build(self, peer_state=None, base=None):
        peer_state = peer_state or LEGACY_UP
        if base is None:
            self.cib.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True,
                                               text=True, check=True).stdout)
            self.cibadmin("--create", "--scope", "resources", "--xml-text",
                          '<clone id="ms_drbd_web"><meta_attributes id="ms_drbd_web-meta">'
                          '<nvpair id="ms_drbd_web-meta-promotable" name="promotable" value="true"/>'
                          '<nvpair id="ms_drbd_web-meta-promoted-max" name="promoted-max" value="2"/>'
                          '<nvpair id="ms_drbd_web-meta-clone-max" name="clone-max" value="2"/>'
                          '<nvpair id="ms_drbd_web-meta-notify" name="notify" value="true"/>'
                          '</meta_attributes><primitive id="p_drbd_web" class="ocf" provider="linbit"'
                          ' type="drbd"><instance_attributes id="p_drbd_web-params"><nvpair '
                          'id="p_drbd_web-params-res" name="drbd_resource" value="web"/>'
                          '</instance_attributes></primitive></clone>')
            for node in ("hv1", "hv2"):
                self.cibadmin("--create", "--scope", "resources", "--xml-text",
                              f'<primitive id="fence_{node}" class="stonith" type="fence_ipmilan">'
                              f'<instance_attributes id="fence_{node}-params"><nvpair '
                              f'id="fence_{node}-params-hosts" name="pcmk_host_list" value="{node}"/>'
                              '</instance_attributes></primitive>')
        else:
            shutil.copy(base, self.cib)
        for number, node in enumerate(("hv1", "hv2"), 1):
            self.cibadmin("--create", "--scope", "nodes", "--xml-text",
                          f'<node id="{number}" uname="{node}"/>')
            attrs = LEGACY_UP if node == "hv1" else peer_state
            state = ET.Element("node_state", dict(attrs, id=str(number), uname=node))
            # promotion scores, so crm_simulate shows where the clone would be promoted
            ET.SubElement(ET.SubElement(ET.SubElement(state, "transient_attributes", id=str(number)),
                                        "instance_attributes", id=f"status-{number}"),
                          "nvpair", id=f"status-{number}-master", name="master-p_drbd_web",
                          value="10000")
            self.cibadmin("--create", "--scope", "status", "--xml-text",
                          ET.tostring(state, encoding="unicode"))
        self.cibadmin("--modify", "--xml-text", '<cib have-quorum="1" dc-uuid="1"/>')
        return self

    def run(self, *args, timeout=20, proc=None, **env):
        """The handler as a process. proc: a /proc whose processes hold nothing open; without it the
        Primary-without-a-user head start is off (--yield-seconds 0)."""
        started = time.monotonic()
        extra = ["--proc", str(proc)] if proc else ["--yield-seconds", "0"]
        done = subprocess.run([str(SCRIPT), "--proc-drbd", str(self.proc), *extra, *args],
                              env=self.env(**env), capture_output=True, text=True, timeout=timeout,
                              check=False)
        done.elapsed = time.monotonic() - started
        return done

    def root(self):
        return ET.fromstring(self.cibadmin("--query"))

    def constraints(self):
        return fp.find_fence_constraints(self.root(), "web")

    def verify(self):
        return subprocess.run(["crm_verify", "--live-check", "-V"], env=self.env(),
                              capture_output=True, text=True, check=False)

    def promoted_on(self):
        out = subprocess.run(["crm_simulate", "--simulate", "--xml-file", str(self.cib)],
                             env=self.env(), capture_output=True, text=True, check=True).stdout
        return sorted({line.split("Promoted")[1].split(")")[0].strip()
                       for line in out.splitlines() if "-> Promoted" in line})


@pytest.fixture
def cluster(tmp_path):
    return Cluster(tmp_path)


def place_constraint_for(cluster, node):
    cluster.cibadmin("--create", "--scope", "constraints", "--xml-text",
                     fp.build_constraint("web", "ms_drbd_web", node, "Promoted"))


@pytestmark_cli
def test_reachable_peer_is_outdated_within_seconds_and_pacemaker_accepts_the_constraint(cluster):
    cluster.build()
    assert cluster.promoted_on() == ["hv1", "hv2"]
    done = cluster.run()
    assert done.returncode == 4, done.stderr
    assert done.elapsed < 5
    [location] = cluster.constraints()
    assert location.get("id") == CID
    assert location.find("rule").get("role") == "Promoted"  # cibadmin --empty: pacemaker-3.9
    assert fp.constraint_owner(location) == "hv1"
    assert cluster.verify().returncode == 0, cluster.verify().stderr
    assert cluster.promoted_on() == ["hv1"]
    assert "peer reachable" in done.stderr and "exit 4" in done.stderr


@pytestmark_cli
def test_second_run_keeps_the_constraint_without_writing(cluster):
    cluster.build()
    assert cluster.run().returncode == 4
    epoch = cluster.root().get("epoch")
    done = cluster.run()
    assert done.returncode == 4, done.stderr
    assert "already keeps hv1 promotable" in done.stderr
    assert cluster.root().get("epoch") == epoch
    assert len(cluster.constraints()) == 1


@pytestmark_cli
def test_unfence_removes_the_constraint_and_is_idempotent(cluster):
    cluster.build()
    assert cluster.run().returncode == 4
    cluster.proc.write_text(proc_drbd(cs="Connected", pdsk="UpToDate"))
    done = cluster.run("--unfence")
    assert done.returncode == 0, done.stderr
    assert cluster.constraints() == []
    assert cluster.verify().returncode == 0
    assert cluster.promoted_on() == ["hv1", "hv2"]
    again = cluster.run("--unfence")
    assert again.returncode == 0 and "nothing to do" in again.stderr


@pytestmark_cli
def test_unfence_without_a_cluster_gives_up_soon(cluster):
    """after-resync-target runs in DRBD's worker: an initial sync before Pacemaker runs must not stall it."""
    cluster.build()
    cluster.proc.write_text(proc_drbd(cs="Connected", pdsk="UpToDate"))
    done = cluster.run("--unfence", "--unfence-timeout", "2", CIB_file=str(cluster.path / "nowhere.xml"))
    assert done.returncode == 1 and 2 <= done.elapsed < 8, done.stderr
    assert "drbd-fence-by-handler-" in done.stderr


@pytestmark_cli
def test_a_program_name_with_unfence_unfences(cluster):
    """Like upstream's crm-unfence-peer.sh symlink: the name alone selects --unfence."""
    cluster.build()
    assert cluster.run().returncode == 4
    cluster.proc.write_text(proc_drbd(cs="Connected", pdsk="UpToDate"))
    link = cluster.path / "hakvm-drbd-unfence-peer"
    link.symlink_to(SCRIPT)
    done = subprocess.run([str(link), "--proc-drbd", str(cluster.proc)], env=cluster.env(),
                          capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr
    assert cluster.constraints() == []


@pytestmark_cli
def test_unfence_keeps_the_constraint_while_the_link_is_down_unless_run_by_hand(cluster):
    cluster.build()
    assert cluster.run().returncode == 4
    done = cluster.run("--unfence")
    assert done.returncode == 0 and "keeping the constraint" in done.stderr
    assert len(cluster.constraints()) == 1
    assert cluster.run("--unfence", DRBD_MINOR=None).returncode == 0  # operator: no DRBD_MINOR
    assert cluster.constraints() == []


@pytestmark_cli
def test_pacemaker_3_timestamps_are_understood(cluster):
    cluster.build(peer_state=STAMP_UP)
    done = cluster.run()
    assert done.returncode == 4, done.stderr
    assert "timestamp format" in done.stderr


@pytestmark_cli
def test_bookworm_master_resource_gets_the_constraint(cluster):
    cluster.build(base=BOOKWORM)
    done = cluster.run()
    assert done.returncode == 4, done.stderr
    assert [c.get("rsc") for c in cluster.constraints()] == ["ms_drbd_web"]
    assert cluster.verify().returncode == 0


@pytestmark_cli
@pytest.mark.parametrize("peer_state", [STAMP_FENCED, LEGACY_FENCED])
def test_peer_fenced_just_before_drbd_noticed_is_answered_7(cluster, peer_state):
    cluster.build(peer_state=peer_state)
    cluster.state.update(members={"hv1": "member", "hv2": "lost"}, answering=[],
                         fencing=[{"target": "hv2", "at": time.time() - 20}])
    cluster.save()
    done = cluster.run()
    assert done.returncode == 7, done.stderr
    assert done.elapsed < 5
    assert fp.constraint_owner(cluster.constraints()[0]) == "hv1"


@pytestmark_cli
def test_peer_down_without_fencing_is_not_trusted(cluster):
    """Pacemaker stopped on the peer (maintenance mode): DRBD may still write there."""
    cluster.build(peer_state=STAMP_FENCED)
    cluster.state.update(members={"hv1": "member", "hv2": "lost"}, answering=[])
    cluster.save()
    done = cluster.run("--primary-timeout", "2")
    assert done.returncode == 13, done.stderr
    assert "no fencing in the last 120s" in done.stderr
    assert cluster.constraints() == []


@pytestmark_cli
def test_lost_peer_is_awaited_until_fencing_succeeds(cluster):
    cluster.build(peer_state=STAMP_LOST)
    cluster.state.update(members={"hv1": "member", "hv2": "lost"}, answering=[],
                         fencing=[{"target": "hv2", "at": time.time() + 2}])
    cluster.save()
    done = cluster.run("--timeout", "15")
    assert done.returncode == 7, done.stderr
    assert 1.5 < done.elapsed < 8
    assert "fencing history: success" in done.stderr
    assert len(cluster.constraints()) == 1


@pytestmark_cli
def test_unconfirmed_peer_keeps_io_frozen_and_places_nothing(cluster):
    cluster.build(peer_state=STAMP_LOST)
    cluster.state.update(members={"hv1": "member", "hv2": "lost"}, answering=[],
                         fencing=[{"target": "hv2", "at": time.time() - 60}])  # an older incident
    cluster.save()
    done = cluster.run("--primary-timeout", "3")
    assert done.returncode == 13, done.stderr
    assert 3 <= done.elapsed < 10
    assert "I/O STAYS FROZEN" in done.stderr
    assert cluster.constraints() == []


@pytestmark_cli
def test_a_primary_waits_past_the_timeout_until_the_peer_is_fenced(cluster):
    """A fencing that takes longer than --timeout (a BMC retry): giving up would freeze I/O for good."""
    cluster.build(peer_state=STAMP_LOST)
    cluster.state.update(members={"hv1": "member", "hv2": "lost"}, answering=[],
                         fencing=[{"target": "hv2", "at": time.time() + 4}])
    cluster.save()
    done = cluster.run("--timeout", "1")
    assert done.returncode == 7, done.stderr
    assert 3.5 < done.elapsed < 10
    assert len(cluster.constraints()) == 1


@pytestmark_cli
def test_a_secondary_gives_up_after_the_timeout(cluster):
    cluster.build(peer_state=STAMP_LOST)
    cluster.state.update(members={"hv1": "member", "hv2": "lost"}, answering=[])
    cluster.save()
    cluster.proc.write_text(proc_drbd(role="Secondary"))
    done = cluster.run("--timeout", "2")
    assert done.returncode == 13, done.stderr
    assert 2 <= done.elapsed < 8 and cluster.constraints() == []


@pytestmark_cli
def test_peer_member_whose_controller_does_not_answer_is_not_reachable(cluster):
    cluster.build()
    cluster.state["answering"] = []
    cluster.save()
    done = cluster.run("--primary-timeout", "2")
    assert done.returncode == 13, done.stderr
    assert "controller does not answer" in done.stderr
    assert cluster.constraints() == []


@pytestmark_cli
def test_cluster_without_controller_for_a_while_is_retried(cluster):
    cluster.build()
    cluster.state["controller_down_until"] = time.time() + 2
    cluster.save()
    done = cluster.run("--timeout", "15")
    assert done.returncode == 4, done.stderr
    assert done.elapsed > 1.5


@pytestmark_cli
def test_cib_that_appears_late_is_retried_and_a_missing_one_times_out(cluster):
    cluster.build()
    hidden = cluster.path / "hidden.xml"
    cluster.cib.rename(hidden)
    timer = threading.Timer(1.5, hidden.rename, args=(cluster.cib,))
    timer.start()
    try:
        done = cluster.run("--timeout", "15")
    finally:
        timer.join()
    assert done.returncode == 4, done.stderr
    assert "cibadmin --query failed" in done.stderr
    missing = cluster.run("--primary-timeout", "2", CIB_file=str(cluster.path / "nowhere.xml"))
    assert missing.returncode == 11, missing.stderr


@pytestmark_cli
@pytest.mark.parametrize("role, code", [("Primary", 12), ("Secondary", 6)])
def test_constraint_of_the_peer_wins(cluster, role, code):
    cluster.build()
    place_constraint_for(cluster, "hv2")
    cluster.proc.write_text(proc_drbd(role=role))
    epoch = cluster.root().get("epoch")
    done = cluster.run()
    assert done.returncode == code, done.stderr
    assert "keeps hv2 promotable" in done.stderr
    assert cluster.root().get("epoch") == epoch
    assert fp.constraint_owner(cluster.constraints()[0]) == "hv2"


RACING_CIBADMIN = r'''#!{python}
"""cibadmin that lets the peer's handler win: its constraint lands just before ours."""
import os, subprocess, sys
real = {real!r}
if os.environ.get("RACE_XML") and "--create" in sys.argv and not os.path.exists(os.environ["RACE_DONE"]):
    open(os.environ["RACE_DONE"], "w").close()
    subprocess.run([real, "--create", "--scope", "constraints", "--xml-text", os.environ["RACE_XML"]],
                   check=True)
os.execv(real, [real] + sys.argv[1:])
'''


@pytestmark_cli
def test_losing_the_race_for_the_constraint_keeps_io_frozen(cluster):
    """Backplane cut with both nodes Primary: both handlers see each other reachable, one wins."""
    cluster.build()
    wrapper = cluster.bin / "cibadmin"
    wrapper.write_text(RACING_CIBADMIN.format(python=sys.executable, real=shutil.which("cibadmin")))
    wrapper.chmod(0o755)
    done = cluster.run(RACE_XML=fp.build_constraint("web", "ms_drbd_web", "hv2", "Promoted"),
                       RACE_DONE=str(cluster.path / "race.done"))
    assert done.returncode == 12, done.stderr
    assert "lost the race" in done.stderr
    assert [fp.constraint_owner(c) for c in cluster.constraints()] == ["hv2"]


@pytestmark_cli
def test_fenced_peer_but_only_consistent_here_places_nothing(cluster):
    cluster.build(peer_state=STAMP_FENCED)
    cluster.state.update(members={"hv1": "member", "hv2": "lost"}, answering=[],
                         fencing=[{"target": "hv2", "at": time.time() - 20}])
    cluster.save()
    cluster.proc.write_text(proc_drbd(role="Secondary", disk="Consistent"))
    done = cluster.run()
    assert done.returncode == 5, done.stderr
    assert cluster.constraints() == []


@pytestmark_cli
def test_drbd_not_run_by_pacemaker(cluster):
    cluster.build()
    done = cluster.run(DRBD_RESOURCE="db")
    assert done.returncode == 10, done.stderr
    assert done.elapsed < 5
    assert "not run by Pacemaker" in done.stderr


@pytestmark_cli
@pytest.mark.parametrize("cs, pdsk", [("Connected", "UpToDate"), ("SyncSource", "Inconsistent"),
                                      ("WFBitMapS", "Outdated")])
def test_link_back_before_anything_is_done(cluster, cs, pdsk):
    cluster.build()
    cluster.proc.write_text(proc_drbd(cs=cs, pdsk=pdsk))
    done = cluster.run()
    assert done.returncode == 1
    assert cluster.constraints() == []


@pytestmark_cli
def test_unknown_peer_name_is_refused_at_once(cluster):
    cluster.build()
    done = cluster.run(DRBD_PEER="hv9.example.org", DRBD_PEERS="hv9.example.org")
    assert done.returncode == 13 and done.elapsed < 5
    assert cluster.constraints() == []


@pytestmark_cli
def test_peer_guessed_when_drbdadm_gives_none(cluster):
    cluster.build()
    done = cluster.run(DRBD_PEER=None, DRBD_PEERS=None)
    assert done.returncode == 4, done.stderr
    assert "the only other cluster node is hv2" in done.stderr


@pytestmark_cli
def test_calls_carry_timeouts_and_never_print_secrets(cluster):
    cluster.build()
    cluster.cibadmin("--create", "--scope", "resources", "--xml-text",
                     '<primitive id="fence_x" class="stonith" type="fence_ipmilan">'
                     '<instance_attributes id="fence_x-p"><nvpair id="fence_x-p-pw" name="password"'
                     ' value="s3cret-Passw0rd"/></instance_attributes></primitive>')
    done = cluster.run()
    assert done.returncode == 4
    assert "s3cret" not in done.stdout + done.stderr
    calls = (cluster.path / "calls.log").read_text().splitlines()
    assert any(c.startswith("crmadmin --status hv2") and "--timeout" in c for c in calls)


def test_bad_invocations_answer_1(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRBD_")}
    done = subprocess.run([str(SCRIPT), "--bogus"], env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1
    done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "no DRBD_RESOURCE" in done.stderr


def test_script_is_executable_and_handed_to_python3_by_sh():
    assert os.access(SCRIPT, os.X_OK)
    lines = SCRIPT.read_text().splitlines()
    assert lines[0] == "#!/bin/sh"
    assert '"exec" "/usr/bin/python3" "$0" "$@"' in lines[:8]
    done = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "conn_try_outdate_peer" in done.stdout


def test_history_times_in_fake_match_the_parser():
    now = datetime(2026, 11, 23, 12, 25, 20, tzinfo=timezone.utc)
    assert fp.parse_pcmk_time(now.strftime("%Y-%m-%d %H:%M:%SZ")) == now.timestamp()


def test_devices_in_use_finds_a_process_holding_the_drbd_device(tmp_path):
    fd = tmp_path / "proc" / "4242" / "fd"
    fd.mkdir(parents=True)
    (tmp_path / "proc" / "self").mkdir()
    (fd / "7").symlink_to("/dev/drbd10")
    (fd / "8").symlink_to("/dev/null")
    assert fp.devices_in_use((10,), str(tmp_path / "proc"))
    assert not fp.devices_in_use((11,), str(tmp_path / "proc"))


@pytestmark_cli
def test_a_primary_whose_device_nobody_uses_lets_the_peer_go_first(cluster, tmp_path):
    # Both Primary (live migration allowed), the link cut, the peer still a member: the side where
    # no guest holds the device waits before it places the constraint; it still gets there.
    cluster.build()
    (tmp_path / "empty-proc").mkdir()
    done = cluster.run("--timeout", "15", "--yield-seconds", "2", proc=tmp_path / "empty-proc")
    assert done.returncode == 4 and done.elapsed >= 2, done.stderr
    assert "nothing here holds the device open" in done.stderr


@pytestmark_cli
def test_a_primary_whose_device_nobody_uses_yields_as_soon_as_the_peers_constraint_is_there(cluster, tmp_path):
    # Seen on the lab under load: the guest's side needed 15 s to place its constraint and lost a fixed
    # 3 s head start, so its guest froze. The side without a user now waits for the peer's constraint
    # (up to --yield-seconds) and yields the moment it appears.
    cluster.build()
    (tmp_path / "empty-proc").mkdir()
    placer = threading.Timer(2.0, place_constraint_for, (cluster, "hv2"))
    placer.start()
    try:
        done = cluster.run("--timeout", "15", "--yield-seconds", "30", proc=tmp_path / "empty-proc", timeout=40)
    finally:
        placer.join()
    assert done.returncode == 12 and 2 <= done.elapsed < 15, (done.elapsed, done.stderr)
    assert "giving the peer up to 30s" in done.stderr and "done waiting" in done.stderr
    assert [fp.constraint_owner(c) for c in cluster.constraints()] == ["hv2"]


@pytestmark_cli
def test_a_primary_whose_device_nobody_uses_stops_yielding_to_a_peer_that_left(cluster, tmp_path):
    # A peer that is no longer a member places nothing: no point in waiting for it; the handler goes
    # on to wait for its fencing, as before.
    cluster.build()
    cluster.state["members"]["hv2"] = "lost"
    cluster.save()
    (tmp_path / "empty-proc").mkdir()
    done = cluster.run("--timeout", "15", "--yield-seconds", "30", "--primary-timeout", "2",
                       proc=tmp_path / "empty-proc", timeout=40)
    assert done.returncode == 13 and done.elapsed < 15, (done.elapsed, done.stderr)
    assert "peer hv2 has left (crm_node: lost)" in done.stderr and cluster.constraints() == []


@pytestmark_cli
def test_yielding_ends_when_the_cib_records_the_peer_gone_even_if_crm_node_still_lists_it(cluster, tmp_path):
    # crm_node may lag or fail on a loaded survivor; the CIB's node_state of a crashed peer is enough.
    cluster.build(peer_state=STAMP_LOST)
    (tmp_path / "empty-proc").mkdir()
    done = cluster.run("--timeout", "15", "--yield-seconds", "30", "--primary-timeout", "2",
                       proc=tmp_path / "empty-proc", timeout=40)
    assert done.elapsed < 15 and "peer hv2 has left (in_ccm=no" in done.stderr, (done.elapsed, done.stderr)


@pytestmark_cli
def test_yielding_ends_when_the_link_comes_back(cluster, tmp_path):
    # A handler that waited on after a short flap could place a stale constraint later, which a
    # second cut's handler would take for the peer's: the wait ends as soon as the link is back.
    cluster.build()
    (tmp_path / "empty-proc").mkdir()
    back = threading.Timer(2.0, lambda: cluster.proc.write_text(proc_drbd(cs="Connected", pdsk="UpToDate")))
    back.start()
    try:
        done = cluster.run("--timeout", "15", "--yield-seconds", "30", proc=tmp_path / "empty-proc", timeout=40)
    finally:
        back.join()
    assert done.returncode == 1 and done.elapsed < 15, (done.elapsed, done.stderr)
    assert "the replication link is back" in done.stderr and cluster.constraints() == []


# ------------------------------------------------------------------ pri-lost: reconnect after demotion

def volumes(*specs):
    """LocalState of minors 0.. from (cs, role) pairs."""
    return fp.LocalState(tuple(range(len(specs))), tuple(
        fp.Volume(minor, cs, role, "Unknown", "UpToDate") for minor, (cs, role) in enumerate(specs)))


@pytest.mark.parametrize("specs, action", [
    ([("StandAlone", "Secondary")], "connect"),
    ([("StandAlone", "Secondary"), ("StandAlone", "Secondary")], "connect"),
    ([("StandAlone", "Primary")], "wait"),                        # Pacemaker has not demoted it yet
    ([("StandAlone", "Secondary"), ("StandAlone", "Primary")], "wait"),
    ([("WFReportParams", "Primary")], "wait"),                    # the handler runs inside the handshake
    ([("Disconnecting", "Primary")], "wait"),                     # and the teardown follows it
    ([("WFConnection", "Secondary")], "done"),                    # someone reconnected it
    ([("SyncTarget", "Secondary")], "done"),
    ([("Unconfigured", "Unknown")], "done"),                      # taken down
    ([], "done"),
])
def test_after_a_refused_reconnect_connect_only_a_standalone_secondary(specs, action):
    assert fp.after_pri_lost(volumes(*specs))[0] == action


@pytest.mark.parametrize("cs, outcome", [
    ("SyncTarget", "ok"), ("Connected", "ok"), ("WFBitMapT", "ok"),
    ("WFConnection", "pending"), ("WFReportParams", "pending"),
    ("StandAlone", "refused"), ("Unconfigured", "refused"),
])
def test_after_connect_the_handshake_must_take_it(cs, outcome):
    assert fp.after_connect(volumes((cs, "Secondary"))) == outcome


class Waiter:
    """The pri-lost handler as a process, with a fake drbdadm whose connect moves /proc/drbd on."""

    def __init__(self, cluster, after_connect="SyncTarget"):
        self.cluster = cluster
        self.calls = cluster.path / "drbdadm.log"
        connected = cluster.path / "proc_after_connect"
        connected.write_text(proc_drbd(cs=after_connect, role="Secondary", disk="Inconsistent", pdsk="UpToDate"))
        tool = cluster.bin / "drbdadm"
        tool.write_text(f'#!/bin/sh\necho "$*" >> {self.calls}\n'
                        f'[ "$1" = connect ] && cp {connected} {cluster.proc}\nexit 0\n')
        tool.chmod(0o755)

    def state(self, cs, role):
        self.cluster.proc.write_text(proc_drbd(cs=cs, role=role))

    def later(self, seconds, cs, role):
        timer = threading.Timer(seconds, self.state, (cs, role))
        timer.start()
        return timer

    def run(self, *args, timeout=40):
        return self.cluster.run("--pri-lost", "--lock-dir", str(self.cluster.path), "--connect-check-seconds", "3",
                                *args, timeout=timeout)

    def connects(self):
        return self.calls.read_text().count("connect web\n") if self.calls.exists() else 0


def test_pri_lost_waiter_connects_once_pacemaker_has_demoted_this_side(cluster):
    # As the kernel goes: the handshake (the handler runs in it), its teardown, StandAlone while still
    # Primary, then Secondary once Pacemaker has demoted it.
    waiter = Waiter(cluster)
    waiter.state("WFReportParams", "Primary")
    timers = [waiter.later(1.0, "Disconnecting", "Primary"), waiter.later(2.0, "StandAlone", "Primary"),
              waiter.later(4.0, "StandAlone", "Secondary")]
    try:
        done = waiter.run("--detached", "--reconnect-timeout", "30")
    finally:
        for timer in timers:
            timer.join()
    assert done.returncode == 0, done.stderr
    assert 4.0 <= done.elapsed < 12, done.elapsed
    assert waiter.connects() == 1
    assert "drbdadm connect web done, now 0:SyncTarget" in done.stderr


def test_pri_lost_handler_returns_at_once_and_leaves_the_waiter_behind(cluster):
    waiter = Waiter(cluster)
    waiter.state("WFReportParams", "Primary")
    done = waiter.run("--reconnect-timeout", "30")
    assert done.returncode == 0 and done.elapsed < 5, (done.elapsed, done.stderr)
    assert "waits up to 30s for it to be Secondary" in done.stderr
    waiter.state("StandAlone", "Primary")
    time.sleep(3)
    assert waiter.connects() == 0                                  # still Primary: nothing yet
    waiter.state("StandAlone", "Secondary")
    deadline = time.monotonic() + 15
    while not waiter.connects() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert waiter.connects() == 1


def test_one_waiter_per_resource(cluster):
    waiter = Waiter(cluster)
    waiter.state("StandAlone", "Primary")
    first = subprocess.Popen([str(SCRIPT), "--proc-drbd", str(cluster.proc), "--pri-lost", "--detached",
                              "--lock-dir", str(cluster.path), "--reconnect-timeout", "6"],
                             env=cluster.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)
        second = waiter.run("--detached", "--reconnect-timeout", "30")
        assert second.returncode == 0 and second.elapsed < 5, second.stderr
        assert "another waiter already watches this resource" in second.stderr
    finally:
        first.wait(timeout=20)


def test_pri_lost_waiter_leaves_a_reconnected_resource_alone(cluster):
    waiter = Waiter(cluster)
    waiter.state("WFConnection", "Secondary")
    done = waiter.run("--detached")
    assert done.returncode == 0 and waiter.connects() == 0, done.stderr
    assert "nothing to reconnect" in done.stderr


def test_pri_lost_waiter_gives_up_on_a_side_that_stays_primary_and_says_what_to_do(cluster):
    waiter = Waiter(cluster)
    waiter.state("StandAlone", "Primary")
    done = waiter.run("--detached", "--reconnect-timeout", "1")
    assert done.returncode == 1 and done.elapsed < 6, (done.elapsed, done.stderr)
    assert waiter.connects() == 0
    assert "run drbdadm connect web" in done.stderr


@pytest.mark.parametrize("after_connect, code, says", [
    ("StandAlone", 1, "the operator must reconnect it"),           # the handshake refused it again
    ("WFConnection", 0, "DRBD keeps trying to reach the peer"),    # left to DRBD
])
def test_what_the_connect_led_to_is_reported(cluster, after_connect, code, says):
    waiter = Waiter(cluster, after_connect=after_connect)
    waiter.state("StandAlone", "Secondary")
    done = waiter.run("--detached")
    assert done.returncode == code and waiter.connects() == 1, done.stderr
    assert says in done.stderr

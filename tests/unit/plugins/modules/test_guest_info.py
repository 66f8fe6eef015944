"""guest_info's readers: where crm_mon places the guests, the last live migration, libvirt's statistics."""
from ansible_collections.hakvm.cluster.plugins.modules import guest_info

CRM_MON = """<pacemaker-result api-version="2.30" request="crm_mon --output-as=xml">
  <resources>
    <resource id="vm_alpha" resource_agent="ocf:heartbeat:VirtualDomain" role="Started" active="true" nodes_running_on="1">
      <node name="hv2" id="9" cached="true"/>
    </resource>
    <resource id="vm_beta" resource_agent="ocf:heartbeat:VirtualDomain" role="Stopped" active="false" nodes_running_on="0"/>
  </resources>
</pacemaker-result>"""

CIB = """<cib><status>
  <node_state uname="hv1"><lrm><lrm_resources><lrm_resource id="vm_alpha">
    <lrm_rsc_op id="a" operation="migrate_from" rc-code="0" last-rc-change="1795600000"/>
  </lrm_resource></lrm_resources></lrm></node_state>
  <node_state uname="hv2"><lrm><lrm_resources><lrm_resource id="vm_alpha">
    <lrm_rsc_op id="b" operation="migrate_from" rc-code="0" last-rc-change="1795600600"/>
    <lrm_rsc_op id="c" operation="migrate_from" rc-code="1" last-rc-change="1795600900"/>
  </lrm_resource></lrm_resources></lrm></node_state>
</status></cib>"""

DOMSTATS = """Domain: 'alpha'
  balloon.current=131072
  balloon.maximum=131072
  balloon.rss=98304
  vcpu.current=1
  vcpu.maximum=1
"""


def test_placements_name_the_node_and_role():
    assert guest_info.placements(CRM_MON) == {"vm_alpha": ("hv2", "Started"), "vm_beta": (None, "Stopped")}


def test_last_migration_is_the_newest_successful_migrate_from():
    assert guest_info.last_migration(CIB, "vm_alpha") == "2026-11-25 09:56:40 UTC (migrate_from on hv2)"
    assert guest_info.last_migration(CIB, "vm_beta") is None


def test_domstats_fields():
    assert guest_info.domstats(DOMSTATS) == {"vcpus": 1, "memory_kib": 131072, "rss_kib": 98304}
    assert guest_info.domstats("Domain: 'x'\n") == {"vcpus": None, "memory_kib": None, "rss_kib": None}


CONFIGURED = """<cib><configuration><resources>
  <primitive id="vm_alpha" class="ocf" provider="heartbeat" type="VirtualDomain">
    <meta_attributes id="vm_alpha-meta_attributes">
      <nvpair id="vm_alpha-meta_attributes-hakvm-state" name="hakvm-state" value="stopped"/>
      <nvpair id="vm_alpha-meta_attributes-target-role" name="target-role" value="Stopped"/>
    </meta_attributes>
  </primitive>
  <primitive id="vm_beta" class="ocf" provider="heartbeat" type="VirtualDomain"/>
</resources></configuration></cib>"""


def test_resource_meta_reads_the_configuration_and_tells_absent_from_bare():
    assert guest_info.resource_meta(CONFIGURED, "vm_alpha") == {"hakvm-state": "stopped", "target-role": "Stopped"}
    assert guest_info.resource_meta(CONFIGURED, "vm_beta") == {}
    assert guest_info.resource_meta(CONFIGURED, "vm_gamma") is None

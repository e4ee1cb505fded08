"""armsim driven by Microsoft's own Azure management SDKs for Python.

Every resource type of the estate goes through create (polling its long-running operation the SDK's
way), get, list and delete, built from the SDK's model classes; the in-use refusals come back as the
SDK's HttpResponseError with ARM's code. Each client runs at the api-version trench pins
(arm/src/api_versions.rs), so this checks the wire protocol the provider relies on, deserialised by
the SDK rather than by our own code.

Input (environment): ARMSIM_INFO (armsim.json: endpoint, tenant, client id and secret, CA file,
subscription) and TRENCH_API_VERSIONS (arm/src/api_versions.rs). Output: one line per check, then
a JSON summary line; exit status 1 if any check failed.
"""

import json
import os
import re
import sys
import time
import traceback
from collections import Counter

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential

INFO = json.load(open(os.environ["ARMSIM_INFO"]))
os.environ["REQUESTS_CA_BUNDLE"] = INFO["ca_file"]
os.environ["SSL_CERT_FILE"] = INFO["ca_file"]
SUB = INFO["subscription_ids"][0]
ENDPOINT = INFO["endpoint"]
LOCATION = "westeurope"
RG = "rg-sdk"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}"

PINNED = dict(re.findall(r'\("([A-Za-z.]+/[A-Za-z/]+)", "([0-9a-z-]+)"\)', open(os.environ["TRENCH_API_VERSIONS"]).read()))

CRED = ClientSecretCredential(
    INFO["tenant_id"],
    INFO["client_id"],
    INFO["client_secret"],
    authority=ENDPOINT.removeprefix("https://"),
    disable_instance_discovery=True,
)

# What was exercised: (resource type, verb) -> count; and every check's outcome.
DONE = Counter()
FAILED = []


def client(cls, resource_type, **kw):
    """A management client at the api-version trench pins for `resource_type`."""
    return cls(
        CRED,
        SUB,
        base_url=ENDPOINT,
        credential_scopes=["https://management.azure.com/.default"],
        api_version=PINNED[resource_type],
        polling_interval=0.05,
        **kw,
    )


def rid(*parts):
    return RG_ID + "/providers/" + "/".join(parts)


def check(name, fn):
    try:
        out = fn()
        print(f"ok   {name}")
        return out
    except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
        FAILED.append(name)
        print(f"FAIL {name}: {type(e).__name__}: {e}")
        traceback.print_exc(limit=3, file=sys.stdout)
        return None


def lifecycle(ty, create, get, lister, expect=None):
    """create → get → list; `expect(obj)` asserts on what get returned. Returns the got object."""
    obj = check(f"{ty} create", lambda: done(ty, "create", create()))
    got = check(f"{ty} get", lambda: done(ty, "get", get()))
    if got is not None and expect is not None:
        check(f"{ty} shape", lambda: expect(got))
    check(f"{ty} list", lambda: done(ty, "list", listed(lister(), got or obj)))
    return got


def done(ty, verb, value):
    DONE[(ty, verb)] += 1
    return value


def listed(items, obj):
    ids = [i.id.lower() for i in items]
    assert obj is not None and obj.id.lower() in ids, f"{getattr(obj, 'id', None)} not in {ids}"
    return ids


def delete(ty, fn, then_gone=None):
    def run():
        r = fn()
        if hasattr(r, "result"):
            r.result()
        if then_gone is not None:
            try:
                then_gone()
            except ResourceNotFoundError:
                return
            raise AssertionError("still there after delete")

    check(f"{ty} delete", lambda: done(ty, "delete", run()))


def refused(name, code, fn, status=None):
    """`fn` must fail with ARM error `code` (and HTTP `status`)."""

    def run():
        try:
            r = fn()
            if hasattr(r, "result"):
                r.result()
        except HttpResponseError as e:
            got = e.error.code if e.error is not None else None
            assert got == code, f"expected {code}, got {got}: {e.message}"
            assert status is None or e.status_code == status, f"expected HTTP {status}, got {e.status_code}"
            return
        raise AssertionError(f"expected {code}, but it succeeded")

    check(f"refused: {name} ({code})", lambda: done("refusal", code, run()))


def eq(a, b):
    assert a == b, f"{a!r} != {b!r}"


def assert_true(v):
    assert v, f"{v!r} is empty"


# ---------------------------------------------------------------------------------------- groups

from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: E402
from azure.mgmt.resource.resources.models import ResourceGroup  # noqa: E402

resources = client(ResourceManagementClient, "Microsoft.Resources/resourceGroups")
lifecycle(
    "Microsoft.Resources/resourceGroups",
    lambda: resources.resource_groups.create_or_update(RG, ResourceGroup(location=LOCATION, tags={"owner": "sdk"})),
    lambda: resources.resource_groups.get(RG),
    lambda: resources.resource_groups.list(),
    lambda g: (eq(g.location, LOCATION), eq(g.properties.provisioning_state, "Succeeded")),
)

from azure.mgmt.resource.subscriptions import SubscriptionClient  # noqa: E402

subs = SubscriptionClient(
    CRED, base_url=ENDPOINT, credential_scopes=["https://management.azure.com/.default"], api_version=PINNED["Microsoft.Resources/subscriptions"]
)
check("Microsoft.Resources/subscriptions get", lambda: done("Microsoft.Resources/subscriptions", "get", eq(subs.subscriptions.get(SUB).subscription_id, SUB)))
check("Microsoft.Resources/subscriptions list", lambda: done("Microsoft.Resources/subscriptions", "list", assert_true([x for x in subs.subscriptions.list() if x.subscription_id == SUB])))
check(
    "Microsoft.Resources/providers get",
    lambda: done("Microsoft.Resources/providers", "get", eq(resources.providers.get("Microsoft.Network").registration_state, "Registered")),
)

# --------------------------------------------------------------------------------------- network

from azure.mgmt.network import NetworkManagementClient  # noqa: E402
from azure.mgmt.network import models as nm  # noqa: E402

net = client(NetworkManagementClient, "Microsoft.Network/virtualNetworks")
T = "Microsoft.Network/"

lifecycle(
    T + "routeTables",
    lambda: net.route_tables.begin_create_or_update(
        RG,
        "rt",
        nm.RouteTable(
            location=LOCATION,
            routes=[nm.Route(name="default", address_prefix="0.0.0.0/0", next_hop_type="VirtualAppliance", next_hop_ip_address="10.0.1.4")],
        ),
    ).result(),
    lambda: net.route_tables.get(RG, "rt"),
    lambda: net.route_tables.list(RG),
    lambda rt: eq(rt.routes[0].next_hop_ip_address, "10.0.1.4"),
)
lifecycle(
    T + "networkSecurityGroups",
    lambda: net.network_security_groups.begin_create_or_update(
        RG,
        "nsg",
        nm.NetworkSecurityGroup(
            location=LOCATION,
            security_rules=[
                nm.SecurityRule(
                    name="ssh-from-admins",
                    priority=100,
                    direction="Inbound",
                    access="Allow",
                    protocol="Tcp",
                    source_address_prefix="203.0.113.0/24",
                    source_port_range="*",
                    destination_address_prefix="*",
                    destination_port_range="22",
                )
            ],
        ),
    ).result(),
    lambda: net.network_security_groups.get(RG, "nsg"),
    lambda: net.network_security_groups.list(RG),
    lambda n: eq(len(n.default_security_rules), 6),
)


def sub_res(i):
    return nm.SubResource(id=i)


lifecycle(
    T + "virtualNetworks",
    lambda: net.virtual_networks.begin_create_or_update(
        RG,
        "hub",
        nm.VirtualNetwork(
            location=LOCATION,
            tags={"environment": "sdk"},
            address_space=nm.AddressSpace(address_prefixes=["10.0.0.0/16"]),
            subnets=[
                nm.Subnet(name="AzureFirewallSubnet", address_prefix="10.0.1.0/26"),
                nm.Subnet(
                    name="nodes",
                    address_prefix="10.0.4.0/22",
                    route_table=sub_res(rid(T + "routeTables/rt")),
                    network_security_group=sub_res(rid(T + "networkSecurityGroups/nsg")),
                ),
                nm.Subnet(name="shared", address_prefix="10.0.2.0/24"),
                nm.Subnet(name="private-endpoints", address_prefix="10.0.3.0/24"),
            ],
        ),
    ).result(),
    lambda: net.virtual_networks.get(RG, "hub"),
    lambda: net.virtual_networks.list(RG),
    lambda v: eq(sorted(s.name for s in v.subnets), ["AzureFirewallSubnet", "nodes", "private-endpoints", "shared"]),
)
lifecycle(
    T + "virtualNetworks/subnets",
    lambda: net.subnets.begin_create_or_update(RG, "hub", "extra", nm.Subnet(address_prefix="10.0.8.0/24")).result(),
    lambda: net.subnets.get(RG, "hub", "extra"),
    lambda: net.subnets.list(RG, "hub"),
    lambda s: eq(s.address_prefix, "10.0.8.0/24"),
)
check(
    "Microsoft.Network/virtualNetworks spoke create",
    lambda: net.virtual_networks.begin_create_or_update(
        RG, "spoke", nm.VirtualNetwork(location=LOCATION, address_space=nm.AddressSpace(address_prefixes=["10.1.0.0/16"]))
    ).result(),
)


def peer(local, remote):
    return net.virtual_network_peerings.begin_create_or_update(
        RG,
        local,
        f"{local}-to-{remote}",
        nm.VirtualNetworkPeering(
            remote_virtual_network=sub_res(rid(T + f"virtualNetworks/{remote}")),
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
        ),
    ).result()


lifecycle(
    T + "virtualNetworks/virtualNetworkPeerings",
    lambda: (peer("hub", "spoke"), peer("spoke", "hub"))[0],
    lambda: net.virtual_network_peerings.get(RG, "hub", "hub-to-spoke"),
    lambda: net.virtual_network_peerings.list(RG, "hub"),
    lambda p: eq(p.peering_state, "Connected"),
)
lifecycle(
    T + "publicIPAddresses",
    lambda: net.public_ip_addresses.begin_create_or_update(
        RG,
        "fw-pip",
        nm.PublicIPAddress(location=LOCATION, sku=nm.PublicIPAddressSku(name="Standard"), public_ip_allocation_method="Static"),
    ).result(),
    lambda: net.public_ip_addresses.get(RG, "fw-pip"),
    lambda: net.public_ip_addresses.list(RG),
    lambda p: assert_true(p.ip_address),
)


lifecycle(
    T + "firewallPolicies",
    lambda: net.firewall_policies.begin_create_or_update(
        RG, "fwpolicy", nm.FirewallPolicy(location=LOCATION, sku=nm.FirewallPolicySku(tier="Standard"), threat_intel_mode="Deny")
    ).result(),
    lambda: net.firewall_policies.get(RG, "fwpolicy"),
    lambda: net.firewall_policies.list(RG),
    lambda p: eq(p.threat_intel_mode, "Deny"),
)
lifecycle(
    T + "firewallPolicies/ruleCollectionGroups",
    lambda: net.firewall_policy_rule_collection_groups.begin_create_or_update(
        RG,
        "fwpolicy",
        "egress",
        nm.FirewallPolicyRuleCollectionGroup(
            priority=200,
            rule_collections=[
                nm.FirewallPolicyFilterRuleCollection(
                    name="aks",
                    priority=100,
                    action=nm.FirewallPolicyFilterRuleCollectionAction(type="Allow"),
                    rules=[
                        nm.ApplicationRule(
                            name="aks-fqdn",
                            source_addresses=["10.1.0.0/16"],
                            protocols=[nm.FirewallPolicyRuleApplicationProtocol(protocol_type="Https", port=443)],
                            fqdn_tags=["AzureKubernetesService"],
                        )
                    ],
                ),
                nm.FirewallPolicyFilterRuleCollection(
                    name="net",
                    priority=200,
                    action=nm.FirewallPolicyFilterRuleCollectionAction(type="Allow"),
                    rules=[
                        nm.NetworkRule(
                            name="ntp",
                            ip_protocols=["UDP"],
                            source_addresses=["10.1.0.0/16"],
                            destination_addresses=["*"],
                            destination_ports=["123"],
                        )
                    ],
                ),
            ],
        ),
    ).result(),
    lambda: net.firewall_policy_rule_collection_groups.get(RG, "fwpolicy", "egress"),
    lambda: net.firewall_policy_rule_collection_groups.list(RG, "fwpolicy"),
    lambda g: eq([c.name for c in g.rule_collections], ["aks", "net"]),
)
lifecycle(
    T + "azureFirewalls",
    lambda: net.azure_firewalls.begin_create_or_update(
        RG,
        "fw",
        nm.AzureFirewall(
            location=LOCATION,
            sku=nm.AzureFirewallSku(name="AZFW_VNet", tier="Standard"),
            firewall_policy=sub_res(rid(T + "firewallPolicies/fwpolicy")),
            ip_configurations=[
                nm.AzureFirewallIPConfiguration(
                    name="ipconfig",
                    subnet=sub_res(rid(T + "virtualNetworks/hub/subnets/AzureFirewallSubnet")),
                    public_ip_address=sub_res(rid(T + "publicIPAddresses/fw-pip")),
                )
            ],
        ),
    ).result(),
    lambda: net.azure_firewalls.get(RG, "fw"),
    lambda: net.azure_firewalls.list(RG),
    lambda f: eq(f.ip_configurations[0].private_ip_address, "10.0.1.4"),
)
lifecycle(
    T + "networkInterfaces",
    lambda: net.network_interfaces.begin_create_or_update(
        RG,
        "jump-nic",
        nm.NetworkInterface(
            location=LOCATION,
            ip_configurations=[
                nm.NetworkInterfaceIPConfiguration(name="ipconfig", subnet=sub_res(rid(T + "virtualNetworks/hub/subnets/shared")))
            ],
        ),
    ).result(),
    lambda: net.network_interfaces.get(RG, "jump-nic"),
    lambda: net.network_interfaces.list(RG),
    lambda n: eq(n.ip_configurations[0].private_ip_address, "10.0.2.4"),
)

# Referential integrity, as the SDK sees it.
refused("route table on a subnet", "InUseRouteTableCannotBeDeleted", lambda: net.route_tables.begin_delete(RG, "rt"), 400)
refused("NSG on a subnet", "InUseNetworkSecurityGroupCannotBeDeleted", lambda: net.network_security_groups.begin_delete(RG, "nsg"), 400)
refused("public IP on the firewall", "PublicIPAddressCannotBeDeleted", lambda: net.public_ip_addresses.begin_delete(RG, "fw-pip"), 400)
refused("subnet with the firewall", "InUseSubnetCannotBeDeleted", lambda: net.subnets.begin_delete(RG, "hub", "AzureFirewallSubnet"), 400)
refused("subnet with a NIC", "InUseSubnetCannotBeDeleted", lambda: net.subnets.begin_delete(RG, "hub", "shared"), 400)
refused("firewall policy on the firewall", "InUseFirewallPolicyCannotBeDeleted", lambda: net.firewall_policies.begin_delete(RG, "fwpolicy"), 400)
refused(
    "subnet pointing at a missing route table",
    "InvalidResourceReference",
    lambda: net.subnets.begin_create_or_update(
        RG, "hub", "broken", nm.Subnet(address_prefix="10.0.9.0/24", route_table=sub_res(rid(T + "routeTables/missing")))
    ),
    400,
)

# ----------------------------------------------------------------------------------- private DNS

from azure.mgmt.privatedns import PrivateDnsManagementClient  # noqa: E402
from azure.mgmt.privatedns import models as dm  # noqa: E402

dns = client(PrivateDnsManagementClient, "Microsoft.Network/privateDnsZones")
ZONE = "privatelink.vaultcore.azure.net"
lifecycle(
    T + "privateDnsZones",
    lambda: dns.private_zones.begin_create_or_update(RG, ZONE, dm.PrivateZone(location="global")).result(),
    lambda: dns.private_zones.get(RG, ZONE),
    lambda: dns.private_zones.list_by_resource_group(RG),
)
lifecycle(
    T + "privateDnsZones/virtualNetworkLinks",
    lambda: dns.virtual_network_links.begin_create_or_update(
        RG,
        ZONE,
        "hub",
        dm.VirtualNetworkLink(location="global", virtual_network=dm.SubResource(id=rid(T + "virtualNetworks/hub")), registration_enabled=False),
    ).result(),
    lambda: dns.virtual_network_links.get(RG, ZONE, "hub"),
    lambda: dns.virtual_network_links.list(RG, ZONE),
    lambda l: eq(l.virtual_network_link_state, "Completed"),
)
lifecycle(
    T + "privateDnsZones/A",
    lambda: dns.record_sets.create_or_update(RG, ZONE, "A", "kv-sdk", dm.RecordSet(ttl=300, a_records=[dm.ARecord(ipv4_address="10.0.3.10")])),
    lambda: dns.record_sets.get(RG, ZONE, "A", "kv-sdk"),
    lambda: dns.record_sets.list_by_type(RG, ZONE, "A"),
    lambda r: eq(r.a_records[0].ipv4_address, "10.0.3.10"),
)
refused("zone with a virtual network link", "CannotDeleteResource", lambda: dns.private_zones.begin_delete(RG, ZONE), 409)

# ------------------------------------------------------------------------------------ identities

from azure.mgmt.msi import ManagedServiceIdentityClient  # noqa: E402
from azure.mgmt.msi.v2024_11_30 import models as im  # noqa: E402

msi = client(ManagedServiceIdentityClient, "Microsoft.ManagedIdentity/userAssignedIdentities")
MI = "Microsoft.ManagedIdentity/"
uai = lifecycle(
    MI + "userAssignedIdentities",
    lambda: msi.user_assigned_identities.create_or_update(RG, "id-catalog", im.Identity(location=LOCATION, tags={"owner": "sdk"})),
    lambda: msi.user_assigned_identities.get(RG, "id-catalog"),
    lambda: msi.user_assigned_identities.list_by_resource_group(RG),
    lambda i: (assert_true(i.principal_id), eq(i.tenant_id, INFO["tenant_id"])),
)
lifecycle(
    MI + "userAssignedIdentities/federatedIdentityCredentials",
    lambda: msi.federated_identity_credentials.create_or_update(
        RG,
        "id-catalog",
        "catalog-api",
        im.FederatedIdentityCredential(
            issuer="https://westeurope.oic.prod-aks.azure.com/tenant/issuer/",
            subject="system:serviceaccount:catalog:catalog-api",
            audiences=["api://AzureADTokenExchange"],
        ),
    ),
    lambda: msi.federated_identity_credentials.get(RG, "id-catalog", "catalog-api"),
    lambda: msi.federated_identity_credentials.list(RG, "id-catalog"),
    lambda f: eq(f.subject, "system:serviceaccount:catalog:catalog-api"),
)

from azure.mgmt.authorization import AuthorizationManagementClient  # noqa: E402
from azure.mgmt.authorization.v2022_04_01 import models as am  # noqa: E402

authz = client(AuthorizationManagementClient, "Microsoft.Authorization/roleAssignments")
AZ = "Microsoft.Authorization/"
SECRETS_USER = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
check(
    AZ + "roleDefinitions get",
    lambda: done(AZ + "roleDefinitions", "get", eq(authz.role_definitions.get_by_id(SECRETS_USER).role_name, "Key Vault Secrets User")),
)
check(
    AZ + "roleDefinitions list",
    lambda: done(AZ + "roleDefinitions", "list", assert_true(list(authz.role_definitions.list(f"/subscriptions/{SUB}")))),
)
ASSIGNMENT = "0b1d3a9e-5a1c-4c1e-9a52-6a7e0a3b4e01"
if uai is not None:
    lifecycle(
        AZ + "roleAssignments",
        lambda: authz.role_assignments.create(
            RG_ID,
            ASSIGNMENT,
            am.RoleAssignmentCreateParameters(role_definition_id=SECRETS_USER, principal_id=uai.principal_id, principal_type="ServicePrincipal"),
        ),
        lambda: authz.role_assignments.get(RG_ID, ASSIGNMENT),
        lambda: authz.role_assignments.list_for_scope(RG_ID),
        lambda a: eq(a.principal_id, uai.principal_id),
    )
    refused(
        "the same role twice",
        "RoleAssignmentExists",
        lambda: authz.role_assignments.create(
            RG_ID,
            "0b1d3a9e-5a1c-4c1e-9a52-6a7e0a3b4e02",
            am.RoleAssignmentCreateParameters(role_definition_id=SECRETS_USER, principal_id=uai.principal_id, principal_type="ServicePrincipal"),
        ),
        409,
    )

# ---------------------------------------------------------------------------------------- PaaS

from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.keyvault import models as kvm  # noqa: E402

kv = client(KeyVaultManagementClient, "Microsoft.KeyVault/vaults")
KV = "kv-sdk-conformance"
vault = lifecycle(
    "Microsoft.KeyVault/vaults",
    lambda: kv.vaults.begin_create_or_update(
        RG,
        KV,
        kvm.VaultCreateOrUpdateParameters(
            location=LOCATION,
            properties=kvm.VaultProperties(
                tenant_id=INFO["tenant_id"],
                sku=kvm.Sku(family="A", name="standard"),
                enable_rbac_authorization=True,
                public_network_access="Disabled",
                network_acls=kvm.NetworkRuleSet(bypass="AzureServices", default_action="Deny"),
                soft_delete_retention_in_days=7,
            ),
        ),
    ).result(),
    lambda: kv.vaults.get(RG, KV),
    lambda: kv.vaults.list_by_resource_group(RG),
    lambda v: assert_true(v.properties.vault_uri),
)

from azure.mgmt.containerregistry import ContainerRegistryManagementClient  # noqa: E402
from azure.mgmt.containerregistry import models as crm  # noqa: E402

acr = client(ContainerRegistryManagementClient, "Microsoft.ContainerRegistry/registries")
lifecycle(
    "Microsoft.ContainerRegistry/registries",
    lambda: acr.registries.begin_create(
        RG, "trenchacrsdk", crm.Registry(location=LOCATION, sku=crm.Sku(name="Basic"), admin_user_enabled=False)
    ).result(),
    lambda: acr.registries.get(RG, "trenchacrsdk"),
    lambda: acr.registries.list_by_resource_group(RG),
    lambda r: eq(r.login_server, "trenchacrsdk.azurecr.io"),
)

from azure.mgmt.loganalytics import LogAnalyticsManagementClient  # noqa: E402
from azure.mgmt.loganalytics import models as lam  # noqa: E402

la = client(LogAnalyticsManagementClient, "Microsoft.OperationalInsights/workspaces")
law = lifecycle(
    "Microsoft.OperationalInsights/workspaces",
    lambda: la.workspaces.begin_create_or_update(
        RG, "law-sdk", lam.Workspace(location=LOCATION, sku=lam.WorkspaceSku(name="PerGB2018"), retention_in_days=30)
    ).result(),
    lambda: la.workspaces.get(RG, "law-sdk"),
    lambda: la.workspaces.list_by_resource_group(RG),
    lambda w: assert_true(w.customer_id),
)

# azure-mgmt-monitor 7 dropped diagnostic settings; 6.x still carries them per api-version.
from azure.mgmt.monitor import MonitorManagementClient  # noqa: E402
from azure.mgmt.monitor.v2021_05_01_preview import models as mm  # noqa: E402

monitor = client(MonitorManagementClient, "Microsoft.Insights/diagnosticSettings")
if vault is not None and law is not None:
    lifecycle(
        "Microsoft.Insights/diagnosticSettings",
        lambda: monitor.diagnostic_settings.create_or_update(
            vault.id,
            "to-law",
            mm.DiagnosticSettingsResource(
                workspace_id=law.id,
                logs=[mm.LogSettings(category="AuditEvent", enabled=True)],
                metrics=[mm.MetricSettings(category="AllMetrics", enabled=True)],
            ),
        ),
        lambda: monitor.diagnostic_settings.get(vault.id, "to-law"),
        lambda: monitor.diagnostic_settings.list(vault.id),
        lambda d: eq(d.workspace_id.lower(), law.id.lower()),
    )

from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient  # noqa: E402
from azure.mgmt.postgresqlflexibleservers import models as pgm  # noqa: E402

pg = client(PostgreSQLManagementClient, "Microsoft.DBforPostgreSQL/flexibleServers")
PG = "Microsoft.DBforPostgreSQL/flexibleServers"
lifecycle(
    PG,
    lambda: pg.servers.begin_create_or_update(
        RG,
        "trench-data-pg-sdk",
        pgm.Server(
            location=LOCATION,
            sku=pgm.Sku(name="Standard_B1ms", tier="Burstable"),
            version="16",
            administrator_login="trenchadmin",
            administrator_login_password="Sdk-Conformance-Passw0rd!",
            storage=pgm.Storage(storage_size_gb=32, auto_grow="Disabled"),
            backup=pgm.Backup(backup_retention_days=7, geo_redundant_backup="Disabled"),
            high_availability=pgm.HighAvailability(mode="Disabled"),
            network=pgm.Network(public_network_access="Disabled"),
            auth_config=pgm.AuthConfig(active_directory_auth="Disabled", password_auth="Enabled"),
        ),
    ).result(),
    lambda: pg.servers.get(RG, "trench-data-pg-sdk"),
    lambda: pg.servers.list_by_resource_group(RG),
    lambda sv: (assert_true(sv.fully_qualified_domain_name), eq(sv.state, "Ready")),
)
lifecycle(
    PG + "/databases",
    lambda: pg.databases.begin_create(RG, "trench-data-pg-sdk", "orders", pgm.Database(charset="UTF8", collation="en_US.utf8")).result(),
    lambda: pg.databases.get(RG, "trench-data-pg-sdk", "orders"),
    lambda: pg.databases.list_by_server(RG, "trench-data-pg-sdk"),
)
lifecycle(
    PG + "/firewallRules",
    lambda: pg.firewall_rules.begin_create_or_update(
        RG, "trench-data-pg-sdk", "admins", pgm.FirewallRule(start_ip_address="203.0.113.1", end_ip_address="203.0.113.9")
    ).result(),
    lambda: pg.firewall_rules.get(RG, "trench-data-pg-sdk", "admins"),
    lambda: pg.firewall_rules.list_by_server(RG, "trench-data-pg-sdk"),
)

from azure.mgmt.servicebus import ServiceBusManagementClient  # noqa: E402
from azure.mgmt.servicebus import models as sbm  # noqa: E402

sb = client(ServiceBusManagementClient, "Microsoft.ServiceBus/namespaces")
SB = "trench-core-sb-sdk"
lifecycle(
    "Microsoft.ServiceBus/namespaces",
    lambda: sb.namespaces.begin_create_or_update(
        RG,
        SB,
        sbm.SBNamespace(location=LOCATION, sku=sbm.SBSku(name="Standard", tier="Standard"), minimum_tls_version="1.2", disable_local_auth=True),
    ).result(),
    lambda: sb.namespaces.get(RG, SB),
    lambda: sb.namespaces.list_by_resource_group(RG),
    lambda n: assert_true(n.service_bus_endpoint),
)
lifecycle(
    "Microsoft.ServiceBus/namespaces/queues",
    lambda: sb.queues.create_or_update(RG, SB, "orders", sbm.SBQueue(max_delivery_count=10, lock_duration="PT1M")),
    lambda: sb.queues.get(RG, SB, "orders"),
    lambda: sb.queues.list_by_namespace(RG, SB),
    lambda q: eq(q.max_delivery_count, 10),
)
check(
    "Microsoft.ServiceBus/namespaces/networkRuleSets create",
    lambda: done(
        "Microsoft.ServiceBus/namespaces/networkRuleSets",
        "create",
        sb.namespaces.create_or_update_network_rule_set(
            RG,
            SB,
            sbm.NetworkRuleSet(default_action="Deny", public_network_access="Enabled", ip_rules=[sbm.NWRuleSetIpRules(ip_mask="203.0.113.7", action="Allow")]),
        ),
    ),
)
check(
    "Microsoft.ServiceBus/namespaces/networkRuleSets get",
    lambda: done("Microsoft.ServiceBus/namespaces/networkRuleSets", "get", eq(sb.namespaces.get_network_rule_set(RG, SB).default_action, "Deny")),
)

from azure.mgmt.storage import StorageManagementClient  # noqa: E402
from azure.mgmt.storage import models as stm  # noqa: E402

st = client(StorageManagementClient, "Microsoft.Storage/storageAccounts")
SA = "trenchtfstatesdk"
lifecycle(
    "Microsoft.Storage/storageAccounts",
    lambda: st.storage_accounts.begin_create(
        RG,
        SA,
        stm.StorageAccountCreateParameters(
            location=LOCATION,
            kind="StorageV2",
            sku=stm.Sku(name="Standard_LRS"),
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            enable_https_traffic_only=True,
        ),
    ).result(),
    lambda: st.storage_accounts.get_properties(RG, SA),
    lambda: st.storage_accounts.list_by_resource_group(RG),
    lambda a: assert_true(a.primary_endpoints.blob),
)
check(
    "Microsoft.Storage/storageAccounts/blobServices create",
    lambda: done(
        "Microsoft.Storage/storageAccounts/blobServices",
        "create",
        st.blob_services.set_service_properties(RG, SA, stm.BlobServiceProperties(is_versioning_enabled=True)),
    ),
)
lifecycle(
    "Microsoft.Storage/storageAccounts/blobServices/containers",
    lambda: st.blob_containers.create(RG, SA, "tfstate", stm.BlobContainer(public_access="None")),
    lambda: st.blob_containers.get(RG, SA, "tfstate"),
    lambda: st.blob_containers.list(RG, SA),
)

from azure.mgmt.cosmosdb import CosmosDBManagementClient  # noqa: E402
from azure.mgmt.cosmosdb import models as cdm  # noqa: E402

cosmos = client(CosmosDBManagementClient, "Microsoft.DocumentDB/databaseAccounts")


def wait_registered(ns):
    for _ in range(200):
        if resources.providers.get(ns).registration_state == "Registered":
            return True
        time.sleep(0.05)
    raise AssertionError(f"{ns} never registered")


check(
    "Microsoft.Resources/providers register",
    lambda: done("Microsoft.Resources/providers", "register", resources.providers.register("Microsoft.DocumentDB") and wait_registered("Microsoft.DocumentDB")),
)


lifecycle(
    "Microsoft.DocumentDB/databaseAccounts",
    lambda: cosmos.database_accounts.begin_create_or_update(
        RG,
        "trench-core-cosmos-sdk",
        cdm.DatabaseAccountCreateUpdateParameters(
            location=LOCATION,
            kind="GlobalDocumentDB",
            database_account_offer_type="Standard",
            locations=[cdm.Location(location_name=LOCATION, failover_priority=0, is_zone_redundant=False)],
            consistency_policy=cdm.ConsistencyPolicy(default_consistency_level="Session"),
            public_network_access="Disabled",
            disable_local_auth=True,
        ),
    ).result(),
    lambda: cosmos.database_accounts.get(RG, "trench-core-cosmos-sdk"),
    lambda: cosmos.database_accounts.list_by_resource_group(RG),
    lambda a: assert_true(a.document_endpoint),
)

# --------------------------------------------------------------------- private endpoints and AKS

if vault is not None:
    lifecycle(
        T + "privateEndpoints",
        lambda: net.private_endpoints.begin_create_or_update(
            RG,
            "kv-pe",
            nm.PrivateEndpoint(
                location=LOCATION,
                subnet=sub_res(rid(T + "virtualNetworks/hub/subnets/private-endpoints")),
                custom_network_interface_name="kv-pe-nic",
                private_link_service_connections=[
                    nm.PrivateLinkServiceConnection(name="kv-pe", private_link_service_id=vault.id, group_ids=["vault"])
                ],
            ),
        ).result(),
        lambda: net.private_endpoints.get(RG, "kv-pe"),
        lambda: net.private_endpoints.list(RG),
        lambda e: eq(e.private_link_service_connections[0].private_link_service_connection_state.status, "Approved"),
    )
    lifecycle(
        T + "privateEndpoints/privateDnsZoneGroups",
        lambda: net.private_dns_zone_groups.begin_create_or_update(
            RG,
            "kv-pe",
            "default",
            nm.PrivateDnsZoneGroup(private_dns_zone_configs=[nm.PrivateDnsZoneConfig(name="vault", private_dns_zone_id=rid(T + f"privateDnsZones/{ZONE}"))]),
        ).result(),
        lambda: net.private_dns_zone_groups.get(RG, "kv-pe", "default"),
        lambda: net.private_dns_zone_groups.list("kv-pe", RG),
    )
    refused("the endpoint's own NIC", "NicInUse", lambda: net.network_interfaces.begin_delete(RG, "kv-pe-nic"), 400)

from azure.mgmt.containerservice import ContainerServiceClient  # noqa: E402
from azure.mgmt.containerservice import models as csm  # noqa: E402

aks = client(ContainerServiceClient, "Microsoft.ContainerService/managedClusters")
AKS = "Microsoft.ContainerService/managedClusters"
NODES = rid(T + "virtualNetworks/hub/subnets/nodes")


def pool(name, mode):
    return dict(
        name=name,
        mode=mode,
        vm_size="Standard_D4s_v5",
        count=2 if mode == "System" else 1,
        os_type="Linux",
        type="VirtualMachineScaleSets",
        vnet_subnet_id=NODES,
        enable_auto_scaling=False,
    )


lifecycle(
    AKS,
    lambda: aks.managed_clusters.begin_create_or_update(
        RG,
        "trench-aks-cluster-sdk",
        csm.ManagedCluster(
            location=LOCATION,
            identity=csm.ManagedClusterIdentity(type="SystemAssigned"),
            sku=csm.ManagedClusterSKU(name="Base", tier="Free"),
            dns_prefix="trench-aks-sdk",
            enable_rbac=True,
            api_server_access_profile=csm.ManagedClusterAPIServerAccessProfile(
                enable_private_cluster=True, private_dns_zone="system", enable_private_cluster_public_fqdn=False
            ),
            oidc_issuer_profile=csm.ManagedClusterOIDCIssuerProfile(enabled=True),
            security_profile=csm.ManagedClusterSecurityProfile(workload_identity=csm.ManagedClusterSecurityProfileWorkloadIdentity(enabled=True)),
            network_profile=csm.ContainerServiceNetworkProfile(
                network_plugin="azure",
                network_plugin_mode="overlay",
                outbound_type="userDefinedRouting",
                load_balancer_sku="standard",
                service_cidr="172.16.0.0/16",
                dns_service_ip="172.16.0.10",
                pod_cidr="192.168.0.0/16",
            ),
            agent_pool_profiles=[csm.ManagedClusterAgentPoolProfile(**pool("system", "System"))],
            addon_profiles={
                "omsagent": csm.ManagedClusterAddonProfile(
                    enabled=True, config={"logAnalyticsWorkspaceResourceID": law.id if law else "", "useAADAuth": "true"}
                )
            },
        ),
    ).result(),
    lambda: aks.managed_clusters.get(RG, "trench-aks-cluster-sdk"),
    lambda: aks.managed_clusters.list_by_resource_group(RG),
    lambda c: (assert_true(c.oidc_issuer_profile.issuer_url), assert_true(c.identity_profile["kubeletidentity"].object_id)),
)
aks_pools = client(ContainerServiceClient, AKS + "/agentPools")
p = pool("user", "User")
del p["name"]
lifecycle(
    AKS + "/agentPools",
    lambda: aks_pools.agent_pools.begin_create_or_update(RG, "trench-aks-cluster-sdk", "user", csm.AgentPool(**p)).result(),
    lambda: aks_pools.agent_pools.get(RG, "trench-aks-cluster-sdk", "user"),
    lambda: aks_pools.agent_pools.list(RG, "trench-aks-cluster-sdk"),
    lambda ap: eq(ap.mode, "User"),
)
refused(
    "the node subnet of a cluster",
    "InUseSubnetCannotBeDeleted",
    lambda: net.subnets.begin_delete(RG, "hub", "nodes"),
    400,
)

# --------------------------------------------------------------------------------------- compute

from azure.mgmt.compute import ComputeManagementClient  # noqa: E402
from azure.mgmt.compute import models as cm  # noqa: E402

compute = ComputeManagementClient(CRED, SUB, base_url=ENDPOINT, credential_scopes=["https://management.azure.com/.default"], polling_interval=0.05)
VM_API = PINNED["Microsoft.Compute/virtualMachines"]
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7o7Bv8b8Q3lQn0d3sUu8xR3a2a1H2xYqv0Y1mB7kP9 sdk@trench"
lifecycle(
    "Microsoft.Compute/virtualMachines",
    lambda: compute.virtual_machines.begin_create_or_update(
        RG,
        "trench-core-jump-sdk",
        cm.VirtualMachine(
            location=LOCATION,
            hardware_profile=cm.HardwareProfile(vm_size="Standard_B2s"),
            storage_profile=cm.StorageProfile(
                image_reference=cm.ImageReference(publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="latest"),
                os_disk=cm.OSDisk(create_option="FromImage", managed_disk=cm.ManagedDiskParameters(storage_account_type="Standard_LRS"), delete_option="Delete"),
            ),
            os_profile=cm.OSProfile(
                computer_name="jump",
                admin_username="azureuser",
                linux_configuration=cm.LinuxConfiguration(
                    disable_password_authentication=True,
                    ssh=cm.SshConfiguration(public_keys=[cm.SshPublicKey(path="/home/azureuser/.ssh/authorized_keys", key_data=SSH_KEY)]),
                ),
            ),
            network_profile=cm.NetworkProfile(network_interfaces=[cm.NetworkInterfaceReference(id=rid(T + "networkInterfaces/jump-nic"), primary=True)]),
        ),
        api_version=VM_API,
    ).result(),
    lambda: compute.virtual_machines.get(RG, "trench-core-jump-sdk", api_version=VM_API),
    lambda: compute.virtual_machines.list(RG, api_version=VM_API),
    lambda vm: assert_true(vm.vm_id),
)
refused("a NIC on a VM", "NicInUse", lambda: net.network_interfaces.begin_delete(RG, "jump-nic"), 400)

check(
    "Microsoft.Resources/resources list",
    lambda: done("Microsoft.Resources/resources", "list", assert_true(len(list(resources.resources.list_by_resource_group(RG))) > 20)),
)

# ---------------------------------------------------------------------------------------- delete

# The estate torn down in dependency order, each delete polled to its end the SDK's way.
delete("Microsoft.Compute/virtualMachines", lambda: compute.virtual_machines.begin_delete(RG, "trench-core-jump-sdk", api_version=VM_API),
       lambda: compute.virtual_machines.get(RG, "trench-core-jump-sdk", api_version=VM_API))
delete(T + "networkInterfaces", lambda: net.network_interfaces.begin_delete(RG, "jump-nic"), lambda: net.network_interfaces.get(RG, "jump-nic"))
delete(AKS + "/agentPools", lambda: aks_pools.agent_pools.begin_delete(RG, "trench-aks-cluster-sdk", "user"),
       lambda: aks_pools.agent_pools.get(RG, "trench-aks-cluster-sdk", "user"))
delete(AKS, lambda: aks.managed_clusters.begin_delete(RG, "trench-aks-cluster-sdk"), lambda: aks.managed_clusters.get(RG, "trench-aks-cluster-sdk"))
delete(T + "privateEndpoints/privateDnsZoneGroups", lambda: net.private_dns_zone_groups.begin_delete(RG, "kv-pe", "default"),
       lambda: net.private_dns_zone_groups.get(RG, "kv-pe", "default"))
delete(T + "privateEndpoints", lambda: net.private_endpoints.begin_delete(RG, "kv-pe"), lambda: net.private_endpoints.get(RG, "kv-pe"))
delete("Microsoft.DocumentDB/databaseAccounts", lambda: cosmos.database_accounts.begin_delete(RG, "trench-core-cosmos-sdk"),
       lambda: cosmos.database_accounts.get(RG, "trench-core-cosmos-sdk"))
delete("Microsoft.Storage/storageAccounts/blobServices/containers", lambda: st.blob_containers.delete(RG, SA, "tfstate"),
       lambda: st.blob_containers.get(RG, SA, "tfstate"))
delete("Microsoft.Storage/storageAccounts", lambda: st.storage_accounts.delete(RG, SA), lambda: st.storage_accounts.get_properties(RG, SA))
delete("Microsoft.ServiceBus/namespaces/queues", lambda: sb.queues.delete(RG, SB, "orders"), lambda: sb.queues.get(RG, SB, "orders"))
delete("Microsoft.ServiceBus/namespaces", lambda: sb.namespaces.begin_delete(RG, SB), lambda: sb.namespaces.get(RG, SB))
delete(PG + "/firewallRules", lambda: pg.firewall_rules.begin_delete(RG, "trench-data-pg-sdk", "admins"),
       lambda: pg.firewall_rules.get(RG, "trench-data-pg-sdk", "admins"))
delete(PG + "/databases", lambda: pg.databases.begin_delete(RG, "trench-data-pg-sdk", "orders"),
       lambda: pg.databases.get(RG, "trench-data-pg-sdk", "orders"))
delete(PG, lambda: pg.servers.begin_delete(RG, "trench-data-pg-sdk"), lambda: pg.servers.get(RG, "trench-data-pg-sdk"))
if vault is not None:
    delete("Microsoft.Insights/diagnosticSettings", lambda: monitor.diagnostic_settings.delete(vault.id, "to-law"),
           lambda: monitor.diagnostic_settings.get(vault.id, "to-law"))
delete("Microsoft.OperationalInsights/workspaces", lambda: la.workspaces.begin_delete(RG, "law-sdk", force=True), lambda: la.workspaces.get(RG, "law-sdk"))
delete("Microsoft.ContainerRegistry/registries", lambda: acr.registries.begin_delete(RG, "trenchacrsdk"), lambda: acr.registries.get(RG, "trenchacrsdk"))
delete("Microsoft.KeyVault/vaults", lambda: kv.vaults.delete(RG, KV), lambda: kv.vaults.get(RG, KV))
check("Microsoft.KeyVault/locations/deletedVaults get", lambda: done("Microsoft.KeyVault/locations/deletedVaults", "get",
      eq(kv.vaults.get_deleted(KV, LOCATION).name, KV)))
check("Microsoft.KeyVault/locations/deletedVaults list", lambda: done("Microsoft.KeyVault/locations/deletedVaults", "list",
      assert_true([v for v in kv.vaults.list_deleted() if v.name == KV])))
check("Microsoft.KeyVault/locations/deletedVaults purge", lambda: done("Microsoft.KeyVault/locations/deletedVaults", "delete",
      kv.vaults.begin_purge_deleted(KV, LOCATION).result()))
delete(AZ + "roleAssignments", lambda: authz.role_assignments.delete(RG_ID, ASSIGNMENT), lambda: authz.role_assignments.get(RG_ID, ASSIGNMENT))
delete(MI + "userAssignedIdentities/federatedIdentityCredentials",
       lambda: msi.federated_identity_credentials.delete(RG, "id-catalog", "catalog-api"),
       lambda: msi.federated_identity_credentials.get(RG, "id-catalog", "catalog-api"))
delete(MI + "userAssignedIdentities", lambda: msi.user_assigned_identities.delete(RG, "id-catalog"),
       lambda: msi.user_assigned_identities.get(RG, "id-catalog"))
delete(T + "privateDnsZones/A", lambda: dns.record_sets.delete(RG, ZONE, "A", "kv-sdk"), lambda: dns.record_sets.get(RG, ZONE, "A", "kv-sdk"))
delete(T + "privateDnsZones/virtualNetworkLinks", lambda: dns.virtual_network_links.begin_delete(RG, ZONE, "hub"),
       lambda: dns.virtual_network_links.get(RG, ZONE, "hub"))
delete(T + "privateDnsZones", lambda: dns.private_zones.begin_delete(RG, ZONE), lambda: dns.private_zones.get(RG, ZONE))
delete(T + "azureFirewalls", lambda: net.azure_firewalls.begin_delete(RG, "fw"), lambda: net.azure_firewalls.get(RG, "fw"))
delete(T + "firewallPolicies/ruleCollectionGroups", lambda: net.firewall_policy_rule_collection_groups.begin_delete(RG, "fwpolicy", "egress"),
       lambda: net.firewall_policy_rule_collection_groups.get(RG, "fwpolicy", "egress"))
delete(T + "firewallPolicies", lambda: net.firewall_policies.begin_delete(RG, "fwpolicy"), lambda: net.firewall_policies.get(RG, "fwpolicy"))
delete(T + "publicIPAddresses", lambda: net.public_ip_addresses.begin_delete(RG, "fw-pip"), lambda: net.public_ip_addresses.get(RG, "fw-pip"))
delete(T + "virtualNetworks/virtualNetworkPeerings", lambda: net.virtual_network_peerings.begin_delete(RG, "hub", "hub-to-spoke"),
       lambda: net.virtual_network_peerings.get(RG, "hub", "hub-to-spoke"))
delete(T + "virtualNetworks/subnets", lambda: net.subnets.begin_delete(RG, "hub", "extra"), lambda: net.subnets.get(RG, "hub", "extra"))
delete(T + "virtualNetworks", lambda: net.virtual_networks.begin_delete(RG, "spoke"), lambda: net.virtual_networks.get(RG, "spoke"))
delete(T + "virtualNetworks", lambda: net.virtual_networks.begin_delete(RG, "hub"), lambda: net.virtual_networks.get(RG, "hub"))
delete(T + "routeTables", lambda: net.route_tables.begin_delete(RG, "rt"), lambda: net.route_tables.get(RG, "rt"))
delete(T + "networkSecurityGroups", lambda: net.network_security_groups.begin_delete(RG, "nsg"), lambda: net.network_security_groups.get(RG, "nsg"))
delete("Microsoft.Resources/resourceGroups", lambda: resources.resource_groups.begin_delete(RG), lambda: resources.resource_groups.get(RG))

# ------------------------------------------------------------------------------------------ done

summary = {
    "checks_failed": FAILED,
    "operations": sum(DONE.values()),
    "types": sorted({t for (t, _) in DONE if t != "refusal"}),
    "refusals": sorted(v for (t, v) in DONE if t == "refusal"),
}
print(json.dumps(summary))
sys.exit(1 if FAILED else 0)

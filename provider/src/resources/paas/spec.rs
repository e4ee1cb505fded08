//! The PaaS bundle as it should be: names, ids and the ARM body of every
//! object it owns, computed from the planned state with no ARM calls.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use trench_arm::ResourceId;

/// What to do when a soft-deleted vault holds the Key Vault's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnSoftDeleted {
    /// Stop with an error saying how to recover or purge it.
    Fail,
    /// Recover it (keys, secrets and certificates come back).
    Recover,
    /// Purge it, then create a new vault.
    Purge,
}

/// Names of every object the bundle owns.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleNames {
    /// The hub's resource group (exists; never created or deleted here).
    pub resource_group: String,
    /// The data resource group (created and deleted with the bundle).
    pub data_resource_group: String,
    /// Container registry.
    pub acr: String,
    /// Key Vault.
    pub key_vault: String,
    /// PostgreSQL flexible server.
    pub postgresql: String,
    /// Service Bus namespace.
    pub service_bus: String,
    /// Log Analytics workspace.
    pub log_analytics: String,
    /// State storage account.
    pub storage_account: String,
    /// State container.
    pub container: String,
    /// Cosmos DB account.
    pub cosmos: String,
    /// Environment (private endpoint names carry it).
    pub env: String,
}

/// A private-link target kind: where its endpoint lives, which group it
/// connects and which zone resolves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// The Key Vault.
    KeyVault,
    /// The PostgreSQL server.
    Postgresql,
    /// The Cosmos DB account.
    CosmosDb,
}

impl Target {
    /// Every kind, in a fixed order.
    pub const ALL: [Target; 3] = [Target::KeyVault, Target::Postgresql, Target::CosmosDb];

    /// The key in computed maps (`private_endpoint_ips`, …).
    pub fn key(self) -> &'static str {
        match self {
            Target::KeyVault => "key_vault",
            Target::Postgresql => "postgresql",
            Target::CosmosDb => "cosmos_db",
        }
    }
    /// The private DNS zone that resolves it.
    pub fn zone(self) -> &'static str {
        match self {
            Target::KeyVault => "privatelink.vaultcore.azure.net",
            Target::Postgresql => "privatelink.postgres.database.azure.com",
            Target::CosmosDb => "privatelink.documents.azure.com",
        }
    }
    /// The private-link group id.
    pub fn group(self) -> &'static str {
        match self {
            Target::KeyVault => "vault",
            Target::Postgresql => "postgresqlServer",
            Target::CosmosDb => "Sql",
        }
    }
    /// The public DNS suffix the endpoint's FQDNs end in.
    pub fn suffix(self) -> &'static str {
        match self {
            Target::KeyVault => ".vault.azure.net",
            Target::Postgresql => ".postgres.database.azure.com",
            Target::CosmosDb => ".documents.azure.com",
        }
    }
}

/// Where the bundle's objects live: subscription and names give every id.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleIds {
    /// Subscription.
    pub subscription: String,
    /// Names.
    pub names: BundleNames,
}

impl BundleIds {
    fn core(&self, ns: &str, ty: &str, name: &str) -> ResourceId {
        ResourceId::resource(&self.subscription, &self.names.resource_group, ns, ty, name)
    }
    /// The hub's resource group.
    pub fn rg_id(&self) -> ResourceId {
        ResourceId::resource_group(&self.subscription, &self.names.resource_group)
    }
    /// The data resource group.
    pub fn data_rg_id(&self) -> ResourceId {
        ResourceId::resource_group(&self.subscription, &self.names.data_resource_group)
    }
    /// Container registry.
    pub fn acr_id(&self) -> ResourceId {
        self.core("Microsoft.ContainerRegistry", "registries", &self.names.acr)
    }
    /// Key Vault: the bundle's id and import id.
    pub fn key_vault_id(&self) -> ResourceId {
        self.core("Microsoft.KeyVault", "vaults", &self.names.key_vault)
    }
    /// The soft-deleted vault of the same name, if any.
    pub fn deleted_vault_id(&self, location: &str) -> ResourceId {
        ResourceId {
            subscription: self.subscription.clone(),
            resource_group: None,
            namespace: Some("Microsoft.KeyVault".into()),
            segments: vec![("locations".into(), location.to_owned()), ("deletedVaults".into(), self.names.key_vault.clone())],
            scope: None,
        }
    }
    /// PostgreSQL server.
    pub fn postgresql_id(&self) -> ResourceId {
        ResourceId::resource(
            &self.subscription,
            &self.names.data_resource_group,
            "Microsoft.DBforPostgreSQL",
            "flexibleServers",
            &self.names.postgresql,
        )
    }
    /// A PostgreSQL database.
    pub fn database_id(&self, db: &str) -> ResourceId {
        self.postgresql_id().child("databases", db)
    }
    /// Service Bus namespace.
    pub fn service_bus_id(&self) -> ResourceId {
        self.core("Microsoft.ServiceBus", "namespaces", &self.names.service_bus)
    }
    /// A queue.
    pub fn queue_id(&self, q: &str) -> ResourceId {
        self.service_bus_id().child("queues", q)
    }
    /// The namespace's network rule set (always named `default`).
    pub fn network_rules_id(&self) -> ResourceId {
        self.service_bus_id().child("networkRuleSets", "default")
    }
    /// Log Analytics workspace.
    pub fn log_analytics_id(&self) -> ResourceId {
        self.core("Microsoft.OperationalInsights", "workspaces", &self.names.log_analytics)
    }
    /// State storage account.
    pub fn storage_account_id(&self) -> ResourceId {
        self.core("Microsoft.Storage", "storageAccounts", &self.names.storage_account)
    }
    /// State container.
    pub fn container_id(&self) -> ResourceId {
        self.storage_account_id().child("blobServices", "default").child("containers", &self.names.container)
    }
    /// Cosmos DB account.
    pub fn cosmos_id(&self) -> ResourceId {
        self.core("Microsoft.DocumentDB", "databaseAccounts", &self.names.cosmos)
    }
    /// The private-link target of a kind.
    pub fn target_id(&self, t: Target) -> ResourceId {
        match t {
            Target::KeyVault => self.key_vault_id(),
            Target::Postgresql => self.postgresql_id(),
            Target::CosmosDb => self.cosmos_id(),
        }
    }
    /// The private endpoint of a kind, in its target's resource group.
    pub fn endpoint_id(&self, t: Target) -> ResourceId {
        let env = &self.names.env;
        let (rg, name) = match t {
            Target::KeyVault => (&self.names.resource_group, format!("trench-core-kvpe-{env}")),
            Target::Postgresql => (&self.names.data_resource_group, format!("trench-data-pgpe-{env}")),
            Target::CosmosDb => (&self.names.resource_group, format!("trench-core-cosmospe-{env}")),
        };
        ResourceId::resource(&self.subscription, rg, "Microsoft.Network", "privateEndpoints", &name)
    }
    /// A private DNS zone (in the hub's resource group).
    pub fn zone_id(&self, t: Target) -> ResourceId {
        self.core("Microsoft.Network", "privateDnsZones", t.zone())
    }
    /// A zone's link to a VNet, named after the VNet.
    pub fn link_id(&self, t: Target, vnet: &ResourceId) -> ResourceId {
        self.zone_id(t).child("virtualNetworkLinks", &link_name(vnet))
    }
    /// The A records an endpoint needs: the names its target's FQDNs take
    /// in the zone (Cosmos DB serves a regional name as well).
    pub fn record_names(&self, t: Target, location: &str) -> Vec<String> {
        match t {
            Target::KeyVault => vec![self.names.key_vault.to_ascii_lowercase()],
            Target::Postgresql => vec![self.names.postgresql.clone()],
            Target::CosmosDb => {
                let c = self.names.cosmos.clone();
                vec![c.clone(), format!("{c}-{location}")]
            }
        }
    }
    /// An A record in a zone.
    pub fn record_id(&self, t: Target, record: &str) -> ResourceId {
        self.zone_id(t).child("A", record)
    }
}

/// The link name for a VNet: `link-<vnet name>`.
pub fn link_name(vnet: &ResourceId) -> String {
    format!("link-{}", vnet.name())
}

/// Container registry settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AcrSpec {
    /// `Basic`, `Standard` or `Premium`.
    pub sku: String,
    /// Admin user (Phase 1 on, hardened off).
    pub admin_enabled: bool,
    /// Public network access (only Premium can turn it off).
    pub public_network_access: bool,
}

/// Key Vault settings.
#[derive(Clone, Debug, PartialEq)]
pub struct KvSpec {
    /// `standard` or `premium`.
    pub sku: String,
    /// Soft-delete retention, 7-90 days (fixed at creation).
    pub retention_days: i64,
    /// Purge protection (irreversible).
    pub purge_protection: bool,
    /// What to do with a soft-deleted vault of the same name.
    pub on_soft_deleted: OnSoftDeleted,
    /// Purge the vault after deleting it (impossible with purge protection).
    pub purge_on_destroy: bool,
    /// Public network access (off: private endpoint only).
    pub public_network_access: bool,
}

/// PostgreSQL settings.
#[derive(Clone, Debug, PartialEq)]
pub struct PgSpec {
    /// Major version.
    pub version: String,
    /// Compute SKU (`Standard_B1ms`).
    pub sku_name: String,
    /// Storage in GB.
    pub storage_gb: i64,
    /// Storage auto-grow.
    pub auto_grow: bool,
    /// Databases.
    pub databases: Vec<String>,
    /// Administrator login.
    pub login: String,
}

impl PgSpec {
    /// The SKU tier ARM wants beside the name.
    pub fn tier(&self) -> &'static str {
        sku_tier(&self.sku_name).unwrap_or("Burstable")
    }
}

/// The tier of a flexible-server SKU: B-series burst, D-series general
/// purpose, E-series memory optimised.
pub fn sku_tier(sku: &str) -> Option<&'static str> {
    let family = sku.strip_prefix("Standard_")?.chars().next()?;
    match family {
        'B' => Some("Burstable"),
        'D' => Some("GeneralPurpose"),
        'E' => Some("MemoryOptimized"),
        _ => None,
    }
}

/// Service Bus settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SbSpec {
    /// `Basic`, `Standard` or `Premium`.
    pub sku: String,
    /// Queues.
    pub queues: Vec<String>,
    /// `Deny` (only the allowed addresses) or `Allow`.
    pub default_action: String,
}

/// The complete desired bundle.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleSpec {
    /// Ids of every object.
    pub ids: BundleIds,
    /// Location.
    pub location: String,
    /// Tags for every object.
    pub tags: BTreeMap<String, String>,
    /// Subnet of the private endpoints.
    pub endpoint_subnet: ResourceId,
    /// VNets the private DNS zones are linked to.
    pub dns_vnets: Vec<ResourceId>,
    /// The hub firewall's public IP (allowed on Service Bus).
    pub firewall_public_ip: Option<String>,
    /// Admin CIDRs (allowed on Service Bus).
    pub admin_cidrs: Vec<String>,
    /// Registry.
    pub acr: AcrSpec,
    /// Vault.
    pub kv: KvSpec,
    /// PostgreSQL.
    pub pg: PgSpec,
    /// Service Bus.
    pub sb: SbSpec,
    /// Log Analytics retention in days.
    pub law_retention_days: i64,
    /// Whether the state storage account and container exist.
    pub state_storage: bool,
    /// Whether the Cosmos DB account exists.
    pub cosmos: bool,
}

fn enabled(b: bool) -> &'static str {
    if b { "Enabled" } else { "Disabled" }
}

impl BundleSpec {
    /// The private-link targets this bundle has.
    pub fn targets(&self) -> Vec<Target> {
        Target::ALL.into_iter().filter(|t| *t != Target::CosmosDb || self.cosmos).collect()
    }

    /// Data resource group.
    pub fn data_rg_body(&self) -> Json {
        json!({"location": self.location, "tags": self.tags})
    }

    /// Registry.
    pub fn acr_body(&self) -> Json {
        json!({
            "location": self.location, "tags": self.tags, "sku": {"name": self.acr.sku},
            "properties": {
                "adminUserEnabled": self.acr.admin_enabled,
                "publicNetworkAccess": enabled(self.acr.public_network_access),
                "anonymousPullEnabled": false,
            }
        })
    }

    /// Vault: RBAC only, reachable through its private endpoint; trusted
    /// Azure services may bypass the firewall. Purge protection is only
    /// ever sent as true (ARM refuses false once set, and on create).
    pub fn key_vault_body(&self, tenant: &str) -> Json {
        let mut b = json!({
            "location": self.location, "tags": self.tags,
            "properties": {
                "tenantId": tenant,
                "sku": {"family": "A", "name": self.kv.sku},
                "enableRbacAuthorization": true,
                "accessPolicies": [],
                "publicNetworkAccess": enabled(self.kv.public_network_access),
                "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []},
                "enableSoftDelete": true,
                "softDeleteRetentionInDays": self.kv.retention_days,
            }
        });
        if self.kv.purge_protection {
            b["properties"]["enablePurgeProtection"] = json!(true);
        }
        b
    }

    /// PostgreSQL server in private-endpoint mode; the password only when
    /// it is to be set (create, or a new password version).
    pub fn postgresql_body(&self, password: Option<&str>) -> Json {
        let mut b = json!({
            "location": self.location, "tags": self.tags,
            "sku": {"name": self.pg.sku_name, "tier": self.pg.tier()},
            "properties": {
                "version": self.pg.version,
                "administratorLogin": self.pg.login,
                "storage": {"storageSizeGB": self.pg.storage_gb, "autoGrow": enabled(self.pg.auto_grow)},
                "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
                "highAvailability": {"mode": "Disabled"},
                "network": {"publicNetworkAccess": "Disabled"},
                "authConfig": {"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"},
            }
        });
        if let Some(p) = password {
            b["properties"]["administratorLoginPassword"] = json!(p);
        }
        b
    }

    /// A database.
    pub fn database_body() -> Json {
        json!({"properties": {"charset": "UTF8", "collation": "en_US.utf8"}})
    }

    /// Service Bus namespace: Entra ID only (no SAS keys), TLS 1.2.
    pub fn service_bus_body(&self) -> Json {
        json!({
            "location": self.location, "tags": self.tags, "sku": {"name": self.sb.sku, "tier": self.sb.sku},
            "properties": {"minimumTlsVersion": "1.2", "publicNetworkAccess": "Enabled", "disableLocalAuth": true}
        })
    }

    /// A queue.
    pub fn queue_body() -> Json {
        json!({"properties": {"maxDeliveryCount": 10, "lockDuration": "PT1M", "deadLetteringOnMessageExpiration": true}})
    }

    /// The addresses Service Bus admits: the firewall's public IP (bare)
    /// and the admin CIDRs (with a prefix length), which is also how a
    /// read tells them apart.
    pub fn allowed_ips(&self) -> Vec<String> {
        self.firewall_public_ip.iter().cloned().chain(self.admin_cidrs.iter().cloned()).collect()
    }

    /// The namespace's network rule set.
    pub fn network_rules_body(&self) -> Json {
        let ip_rules: Vec<Json> = self.allowed_ips().iter().map(|ip| json!({"ipMask": ip, "action": "Allow"})).collect();
        json!({
            "properties": {
                "defaultAction": self.sb.default_action,
                "publicNetworkAccess": "Enabled",
                "trustedServiceAccessEnabled": true,
                "ipRules": ip_rules,
                "virtualNetworkRules": [],
            }
        })
    }

    /// Log Analytics workspace.
    pub fn log_analytics_body(&self) -> Json {
        json!({
            "location": self.location, "tags": self.tags,
            "properties": {
                "sku": {"name": "PerGB2018"}, "retentionInDays": self.law_retention_days,
                "publicNetworkAccessForIngestion": "Enabled", "publicNetworkAccessForQuery": "Enabled",
            }
        })
    }

    /// State storage account: Entra ID only (no shared keys), no public
    /// blobs, TLS 1.2. The endpoint stays public so CI runners reach it.
    pub fn storage_account_body(&self) -> Json {
        json!({
            "location": self.location, "tags": self.tags, "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
            "properties": {
                "minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": false, "allowSharedKeyAccess": false,
                "supportsHttpsTrafficOnly": true, "publicNetworkAccess": "Enabled",
            }
        })
    }

    /// State container.
    pub fn container_body() -> Json {
        json!({"properties": {"publicAccess": "None"}})
    }

    /// Cosmos DB account: private endpoint only, Entra ID only.
    pub fn cosmos_body(&self) -> Json {
        json!({
            "location": self.location, "tags": self.tags, "kind": "GlobalDocumentDB",
            "properties": {
                "databaseAccountOfferType": "Standard",
                "locations": [{"locationName": self.location, "failoverPriority": 0, "isZoneRedundant": false}],
                "consistencyPolicy": {"defaultConsistencyLevel": "Session"},
                "publicNetworkAccess": "Disabled", "disableLocalAuth": true,
            }
        })
    }

    /// A private endpoint to a target, with a predictable NIC name.
    pub fn endpoint_body(&self, t: Target) -> Json {
        let id = self.ids.endpoint_id(t);
        json!({
            "location": self.location, "tags": self.tags,
            "properties": {
                "subnet": {"id": self.endpoint_subnet.to_string()},
                "customNetworkInterfaceName": format!("{}-nic", id.name()),
                "privateLinkServiceConnections": [{"name": id.name(), "properties": {
                    "privateLinkServiceId": self.ids.target_id(t).to_string(), "groupIds": [t.group()]}}],
            }
        })
    }

    /// A private DNS zone (always `global`).
    pub fn zone_body(&self) -> Json {
        json!({"location": "global", "tags": self.tags})
    }

    /// A zone's link to a VNet (resolution only, no auto-registration).
    pub fn link_body(&self, vnet: &ResourceId) -> Json {
        json!({"location": "global", "tags": self.tags, "properties": {"virtualNetwork": {"id": vnet.to_string()}, "registrationEnabled": false}})
    }

    /// An A record pointing at an endpoint's private IP.
    pub fn record_body(ip: &str) -> Json {
        json!({"properties": {"ttl": 300, "aRecords": [{"ipv4Address": ip}]}})
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const SUB: &str = "00000000-0000-4000-8000-000000000002";

    pub(crate) fn sample() -> BundleSpec {
        let names = BundleNames {
            resource_group: "rg-trench-core-dev".into(),
            data_resource_group: "rg-trench-data-dev".into(),
            acr: "trenchacrcoredev".into(),
            key_vault: "trench-core-kv-dev".into(),
            postgresql: "trench-data-pg-dev".into(),
            service_bus: "trench-core-sb-dev".into(),
            log_analytics: "trench-core-law-dev".into(),
            storage_account: "trenchtfstatecoredev".into(),
            container: "tfstate".into(),
            cosmos: "trench-core-cosmos-dev".into(),
            env: "dev".into(),
        };
        let vnet = |rg: &str, n: &str| ResourceId::resource(SUB, rg, "Microsoft.Network", "virtualNetworks", n);
        BundleSpec {
            ids: BundleIds { subscription: SUB.into(), names },
            location: "westeurope".into(),
            tags: crate::resources::common::with_owner(
                crate::resources::common::tags_all(&BTreeMap::new(), "dev", None),
                "trench_paas_bundle",
                "trench-core-kv-dev",
            ),
            endpoint_subnet: vnet("rg-trench-aks-dev", "trench-aks-vnet-dev").child("subnets", "private-endpoints"),
            // Sorted, as spec_from keeps them.
            dns_vnets: vec![vnet("rg-trench-aks-dev", "trench-aks-vnet-dev"), vnet("rg-trench-core-dev", "trench-core-vnet-dev")],
            firewall_public_ip: Some("20.1.2.3".into()),
            admin_cidrs: vec!["203.0.113.0/24".into()],
            acr: AcrSpec { sku: "Basic".into(), admin_enabled: true, public_network_access: true },
            kv: KvSpec {
                sku: "standard".into(),
                retention_days: 7,
                purge_protection: false,
                on_soft_deleted: OnSoftDeleted::Recover,
                purge_on_destroy: true,
                public_network_access: false,
            },
            pg: PgSpec {
                version: "17".into(),
                sku_name: "Standard_B1ms".into(),
                storage_gb: 32,
                auto_grow: true,
                databases: vec!["catalog".into(), "orders".into()],
                login: "trenchadmin".into(),
            },
            sb: SbSpec { sku: "Standard".into(), queues: vec!["orders".into()], default_action: "Deny".into() },
            law_retention_days: 30,
            state_storage: true,
            cosmos: true,
        }
    }

    #[test]
    fn ids_and_bodies_of_every_owned_object() {
        let s = sample();
        let i = &s.ids;
        let mut bodies: BTreeMap<String, Json> = BTreeMap::new();
        let mut put = |id: ResourceId, b: Json| {
            bodies.insert(id.to_string(), b);
        };
        put(i.data_rg_id(), s.data_rg_body());
        put(i.acr_id(), s.acr_body());
        put(i.key_vault_id(), s.key_vault_body("00000000-0000-4000-8000-000000000001"));
        put(i.postgresql_id(), s.postgresql_body(Some("<secret>")));
        put(i.database_id("catalog"), BundleSpec::database_body());
        put(i.service_bus_id(), s.service_bus_body());
        put(i.queue_id("orders"), BundleSpec::queue_body());
        put(i.network_rules_id(), s.network_rules_body());
        put(i.log_analytics_id(), s.log_analytics_body());
        put(i.storage_account_id(), s.storage_account_body());
        put(i.container_id(), BundleSpec::container_body());
        put(i.cosmos_id(), s.cosmos_body());
        for t in s.targets() {
            put(i.endpoint_id(t), s.endpoint_body(t));
            put(i.zone_id(t), s.zone_body());
            for v in &s.dns_vnets {
                put(i.link_id(t, v), s.link_body(v));
            }
            for r in i.record_names(t, &s.location) {
                put(i.record_id(t, &r), BundleSpec::record_body("10.1.2.4"));
            }
        }
        put(i.deleted_vault_id("westeurope"), Json::Null);
        insta::assert_json_snapshot!(bodies);
    }

    #[test]
    fn sku_tiers_follow_the_vm_family() {
        assert_eq!(sku_tier("Standard_B1ms"), Some("Burstable"));
        assert_eq!(sku_tier("Standard_D2ds_v5"), Some("GeneralPurpose"));
        assert_eq!(sku_tier("Standard_E4ds_v5"), Some("MemoryOptimized"));
        assert_eq!(sku_tier("B1ms"), None);
        assert_eq!(sku_tier("Standard_X1"), None);
    }

    #[test]
    fn purge_protection_is_only_ever_sent_as_true() {
        let mut s = sample();
        assert!(s.key_vault_body("t")["properties"].get("enablePurgeProtection").is_none());
        s.kv.purge_protection = true;
        assert_eq!(s.key_vault_body("t")["properties"]["enablePurgeProtection"], json!(true));
    }

    #[test]
    fn the_password_is_sent_only_when_given() {
        let s = sample();
        assert!(s.postgresql_body(None)["properties"].get("administratorLoginPassword").is_none());
        assert_eq!(s.postgresql_body(Some("x"))["properties"]["administratorLoginPassword"], json!("x"));
    }
}

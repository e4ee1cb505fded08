//! The PaaS bundle as it should be: names, ids and the ARM body of every
//! object it owns (expand), and the bundle a set of bodies describes
//! (flatten), with no ARM calls.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use trench_arm::ResourceId;
use trench_arm::id::same_id;
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::{Val, Value, from_value};

use super::{BundleComputed, BundleConfig, PaasBundle, defaults};
use crate::conventions::names;
use crate::resources::common::{self, Env};
use crate::resources::composite::{Bodies, Claims, Specs, str_at};

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
        let n = names::bundle(&self.names.env);
        let (rg, name) = match t {
            Target::KeyVault => (&self.names.resource_group, n.key_vault_endpoint),
            Target::Postgresql => (&self.names.data_resource_group, n.postgresql_endpoint),
            Target::CosmosDb => (&self.names.resource_group, n.cosmos_endpoint),
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
    /// The password's version: a change sends the password again.
    pub password_version: Option<i64>,
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

/// The conventional names, with the configured ones over them.
pub fn bundle_names(env: &str, cfg: &BundleConfig) -> BundleNames {
    let pick = |v: &Val<String>, default: String| v.known().cloned().unwrap_or(default);
    let d = names::bundle(env);
    BundleNames {
        resource_group: pick(&cfg.resource_group_name, d.resource_group),
        data_resource_group: pick(&cfg.data_resource_group_name, d.data_resource_group),
        acr: pick(&cfg.acr_name, d.acr),
        key_vault: pick(&cfg.key_vault_name, d.key_vault),
        postgresql: pick(&cfg.postgresql_name, d.postgresql),
        service_bus: pick(&cfg.service_bus_name, d.service_bus),
        log_analytics: pick(&cfg.log_analytics_name, d.log_analytics),
        storage_account: pick(&cfg.state_storage_account_name, d.storage_account),
        container: pick(&cfg.state_container_name, d.container),
        cosmos: pick(&cfg.cosmos_db_name, d.cosmos),
        env: env.to_owned(),
    }
}

/// One object the bundle owns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// The data resource group.
    DataRg,
    /// The container registry.
    Acr,
    /// The Key Vault.
    KeyVault,
    /// The PostgreSQL server.
    Postgresql,
    /// A database on it.
    Database(String),
    /// The Service Bus namespace.
    ServiceBus,
    /// A queue in it.
    Queue(String),
    /// Its network rule set.
    NetworkRules,
    /// The Log Analytics workspace.
    LogAnalytics,
    /// The state storage account.
    Storage,
    /// Its state container.
    Container,
    /// The Cosmos DB account.
    Cosmos,
    /// A private endpoint.
    Endpoint(Target),
    /// A private DNS zone.
    Zone(Target),
    /// A zone's link to a VNet, by link name.
    Link(Target, String),
    /// An A record, by name.
    Record(Target, String),
}

impl Slot {
    /// The object's id.
    pub fn id(&self, spec: &BundleSpec) -> ResourceId {
        let i = &spec.ids;
        match self {
            Slot::DataRg => i.data_rg_id(),
            Slot::Acr => i.acr_id(),
            Slot::KeyVault => i.key_vault_id(),
            Slot::Postgresql => i.postgresql_id(),
            Slot::Database(d) => i.database_id(d),
            Slot::ServiceBus => i.service_bus_id(),
            Slot::Queue(q) => i.queue_id(q),
            Slot::NetworkRules => i.network_rules_id(),
            Slot::LogAnalytics => i.log_analytics_id(),
            Slot::Storage => i.storage_account_id(),
            Slot::Container => i.container_id(),
            Slot::Cosmos => i.cosmos_id(),
            Slot::Endpoint(t) => i.endpoint_id(*t),
            Slot::Zone(t) => i.zone_id(*t),
            Slot::Link(t, vnet) => i.zone_id(*t).child("virtualNetworkLinks", vnet),
            Slot::Record(t, r) => i.record_id(*t, r),
        }
    }
}

/// The private IP an endpoint serves a record's name on: the FQDN that
/// starts with the record name (the suffix differs per cloud).
pub fn endpoint_ip<'a>(pe: &'a Json, record: &str) -> Option<&'a str> {
    let prefix = format!("{}.", record.to_ascii_lowercase());
    pe.pointer("/properties/customDnsConfigs")?
        .as_array()?
        .iter()
        .find(|c| c.get("fqdn").and_then(Json::as_str).is_some_and(|f| f.to_ascii_lowercase().starts_with(&prefix)))?
        .pointer("/ipAddresses/0")?
        .as_str()
}

/// The body the spec writes to `slot` (expand); records need the private
/// IP their endpoint got, links a VNet the spec still lists.
pub fn want(spec: &BundleSpec, slot: &Slot, tenant: &str, b: &Bodies<Slot>) -> Option<Json> {
    Some(match slot {
        Slot::DataRg => spec.data_rg_body(),
        Slot::Acr => spec.acr_body(),
        Slot::KeyVault => spec.key_vault_body(tenant),
        Slot::Postgresql => spec.postgresql_body(None),
        Slot::Database(_) => BundleSpec::database_body(),
        Slot::ServiceBus => spec.service_bus_body(),
        Slot::Queue(_) => BundleSpec::queue_body(),
        Slot::NetworkRules => spec.network_rules_body(),
        Slot::LogAnalytics => spec.log_analytics_body(),
        Slot::Storage => spec.storage_account_body(),
        Slot::Container => BundleSpec::container_body(),
        Slot::Cosmos => spec.cosmos_body(),
        Slot::Endpoint(t) => spec.endpoint_body(*t),
        Slot::Zone(_) => spec.zone_body(),
        Slot::Link(_, name) => spec.link_body(spec.dns_vnets.iter().find(|v| &link_name(v) == name)?),
        Slot::Record(t, r) => BundleSpec::record_body(endpoint_ip(b.get(&Slot::Endpoint(*t))?, r)?),
    })
}

fn bool_at(j: &Json, ptr: &str) -> Option<bool> {
    j.pointer(ptr).and_then(Json::as_bool)
}

fn enabled_at(j: &Json, ptr: &str) -> Option<bool> {
    str_at(j, ptr).map(|s| s.eq_ignore_ascii_case("Enabled"))
}

/// The bundle the bodies describe (flatten); `spec` supplies what they
/// cannot say (names, the soft-delete choices, the password version).
pub fn flatten(spec: &BundleSpec, b: &Bodies<Slot>) -> BundleSpec {
    let mut s = spec.clone();
    if let Some(loc) = b.get(&Slot::KeyVault).or_else(|| b.get(&Slot::Acr)).and_then(|j| str_at(j, "/location")) {
        s.location = loc.to_owned();
    }
    if let Some(a) = b.get(&Slot::Acr) {
        s.acr.sku = str_at(a, "/sku/name").unwrap_or(&s.acr.sku).to_owned();
        s.acr.admin_enabled = bool_at(a, "/properties/adminUserEnabled").unwrap_or(s.acr.admin_enabled);
        s.acr.public_network_access = enabled_at(a, "/properties/publicNetworkAccess").unwrap_or(s.acr.public_network_access);
    }
    if let Some(v) = b.get(&Slot::KeyVault) {
        s.kv.sku = str_at(v, "/properties/sku/name").unwrap_or(&s.kv.sku).to_ascii_lowercase();
        s.kv.retention_days = v.pointer("/properties/softDeleteRetentionInDays").and_then(Json::as_i64).unwrap_or(s.kv.retention_days);
        s.kv.purge_protection = bool_at(v, "/properties/enablePurgeProtection").unwrap_or(false);
        s.kv.public_network_access = enabled_at(v, "/properties/publicNetworkAccess").unwrap_or(s.kv.public_network_access);
    }
    if let Some(p) = b.get(&Slot::Postgresql) {
        s.pg.version = str_at(p, "/properties/version").unwrap_or(&s.pg.version).to_owned();
        s.pg.sku_name = str_at(p, "/sku/name").unwrap_or(&s.pg.sku_name).to_owned();
        s.pg.storage_gb = p.pointer("/properties/storage/storageSizeGB").and_then(Json::as_i64).unwrap_or(s.pg.storage_gb);
        s.pg.auto_grow = enabled_at(p, "/properties/storage/autoGrow").unwrap_or(s.pg.auto_grow);
        s.pg.login = str_at(p, "/properties/administratorLogin").unwrap_or(&s.pg.login).to_owned();
        s.pg.databases.retain(|d| b.has(&Slot::Database(d.clone())));
    }
    if let Some(n) = b.get(&Slot::ServiceBus) {
        s.sb.sku = str_at(n, "/sku/name").unwrap_or(&s.sb.sku).to_owned();
        s.sb.queues.retain(|q| b.has(&Slot::Queue(q.clone())));
    }
    if let Some(r) = b.get(&Slot::NetworkRules) {
        s.sb.default_action = str_at(r, "/properties/defaultAction").unwrap_or(&s.sb.default_action).to_owned();
        let masks: Vec<String> = r
            .pointer("/properties/ipRules")
            .and_then(Json::as_array)
            .map(|rs| rs.iter().filter_map(|x| x.get("ipMask").and_then(Json::as_str)).map(str::to_owned).collect())
            .unwrap_or_default();
        // Bare addresses are the firewall's, CIDRs the admins' (see allowed_ips).
        let (bare, cidrs): (Vec<String>, Vec<String>) = masks.into_iter().partition(|m| !m.contains('/'));
        s.firewall_public_ip = bare.first().cloned();
        let mut cidrs = cidrs;
        cidrs.extend(bare.into_iter().skip(1));
        cidrs.sort();
        s.admin_cidrs = cidrs;
    }
    if let Some(w) = b.get(&Slot::LogAnalytics) {
        s.law_retention_days = w.pointer("/properties/retentionInDays").and_then(Json::as_i64).unwrap_or(s.law_retention_days);
    }
    // The endpoints' subnet, when they agree on one.
    let subnets: Vec<&str> =
        s.targets().into_iter().filter_map(|t| b.get(&Slot::Endpoint(t))).filter_map(|pe| str_at(pe, "/properties/subnet/id")).collect();
    if let Some(first) = subnets.first()
        && subnets.iter().all(|x| same_id(x, first))
        && let Ok(id) = ResourceId::parse(first)
    {
        s.endpoint_subnet = id;
    }
    s
}

impl BundleSpec {
    /// The private-link targets this bundle has.
    pub fn targets(&self) -> Vec<Target> {
        Target::ALL.into_iter().filter(|t| *t != Target::CosmosDb || self.cosmos).collect()
    }
}

impl Specs for PaasBundle {
    type Spec = BundleSpec;
    type Slot = Slot;

    /// The desired bundle from a wholly known planned (or prior) state.
    fn spec_from(env: &Env, v: &Value) -> Result<BundleSpec, Diagnostics> {
        let cfg: BundleConfig = from_value(v)?;
        let need = |x: Option<String>, what: &str| {
            x.ok_or_else(|| Diagnostics::error("Planned value not known", format!("{what} is not known at apply time.")))
        };
        let (default_tags, subscription) = (&env.default_tags, common::subscription_of(v, env));
        let env = need(cfg.environment.known().cloned(), "environment")?;
        let subnet = need(cfg.private_endpoint_subnet_id.known().cloned(), "private_endpoint_subnet_id")?;
        let parse = |s: &str| ResourceId::parse(s).map_err(|e| Diagnostics::error("Invalid id", e.to_string()));
        let mut dns_vnets =
            cfg.dns_zone_vnet_ids.known().cloned().unwrap_or_default().iter().map(|s| parse(s)).collect::<Result<Vec<_>, _>>()?;
        dns_vnets.sort();
        let mut admin_cidrs = cfg.admin_cidrs.known().cloned().unwrap_or_default();
        admin_cidrs.sort();
        let sorted = |v: &Val<Vec<String>>, default: &[&str]| {
            let mut x = v.known().cloned().unwrap_or_else(|| default.iter().map(|s| (*s).to_owned()).collect());
            x.sort();
            x
        };
        let on_soft_deleted = match cfg.key_vault_on_soft_deleted.known().map(String::as_str) {
            Some("recover") => OnSoftDeleted::Recover,
            Some("purge") => OnSoftDeleted::Purge,
            _ => OnSoftDeleted::Fail,
        };
        let purge_protection = cfg.key_vault_purge_protection.known() == Some(&true);
        let names = bundle_names(&env, &cfg);
        Ok(BundleSpec {
            tags: common::with_owner(common::tags_all(default_tags, &env, cfg.tags.known()), "trench_paas_bundle", &names.key_vault),
            ids: BundleIds { subscription, names },
            location: need(cfg.location.known().cloned(), "location")?,
            endpoint_subnet: parse(&subnet)?,
            dns_vnets,
            firewall_public_ip: cfg.firewall_public_ip.known().cloned(),
            admin_cidrs,
            acr: AcrSpec {
                sku: cfg.acr_sku.known().cloned().unwrap_or_else(|| defaults::ACR_SKU.into()),
                admin_enabled: cfg.acr_admin_enabled.known() == Some(&true),
                public_network_access: cfg.acr_public_network_access.known() != Some(&false),
            },
            kv: KvSpec {
                sku: cfg.key_vault_sku.known().cloned().unwrap_or_else(|| defaults::KV_SKU.into()),
                retention_days: cfg.key_vault_soft_delete_retention_days.known().copied().unwrap_or(defaults::KV_RETENTION_DAYS),
                purge_protection,
                on_soft_deleted,
                purge_on_destroy: cfg.key_vault_purge_on_destroy.known().copied().unwrap_or(!purge_protection),
                public_network_access: cfg.key_vault_public_network_access.known() == Some(&true),
            },
            pg: PgSpec {
                version: cfg.postgresql_version.known().cloned().unwrap_or_else(|| defaults::PG_VERSION.into()),
                sku_name: cfg.postgresql_sku_name.known().cloned().unwrap_or_else(|| defaults::PG_SKU.into()),
                storage_gb: cfg.postgresql_storage_gb.known().copied().unwrap_or(defaults::PG_STORAGE_GB),
                auto_grow: cfg.postgresql_auto_grow.known() != Some(&false),
                databases: sorted(&cfg.postgresql_databases, defaults::PG_DATABASES),
                login: cfg.postgresql_administrator_login.known().cloned().unwrap_or_else(|| defaults::PG_LOGIN.into()),
                password_version: cfg.postgresql_administrator_password_wo_version.known().copied(),
            },
            sb: SbSpec {
                sku: cfg.service_bus_sku.known().cloned().unwrap_or_else(|| defaults::SB_SKU.into()),
                queues: sorted(&cfg.service_bus_queues, defaults::SB_QUEUES),
                default_action: cfg.service_bus_default_action.known().cloned().unwrap_or_else(|| "Deny".into()),
            },
            law_retention_days: cfg.log_analytics_retention_days.known().copied().unwrap_or(defaults::LAW_RETENTION_DAYS),
            state_storage: cfg.state_storage_enabled.known() != Some(&false),
            cosmos: cfg.cosmos_db_enabled.known() == Some(&true),
        })
    }

    fn id(spec: &BundleSpec, slot: &Slot) -> ResourceId {
        slot.id(spec)
    }

    /// Every object the spec owns, in dependency order (what a delete undoes
    /// last comes first).
    fn slots(spec: &BundleSpec) -> Vec<Slot> {
        let mut s = vec![Slot::DataRg, Slot::Acr, Slot::KeyVault, Slot::Postgresql];
        s.extend(spec.pg.databases.iter().cloned().map(Slot::Database));
        s.extend([Slot::ServiceBus, Slot::NetworkRules]);
        s.extend(spec.sb.queues.iter().cloned().map(Slot::Queue));
        s.push(Slot::LogAnalytics);
        if spec.state_storage {
            s.extend([Slot::Storage, Slot::Container]);
        }
        if spec.cosmos {
            s.push(Slot::Cosmos);
        }
        for t in spec.targets() {
            s.extend([Slot::Zone(t), Slot::Endpoint(t)]);
            s.extend(spec.dns_vnets.iter().map(|v| Slot::Link(t, link_name(v))));
            s.extend(spec.ids.record_names(t, &spec.location).into_iter().map(|r| Slot::Record(t, r)));
        }
        s
    }

    fn import_id(spec: &BundleSpec) -> ResourceId {
        spec.ids.key_vault_id()
    }

    fn tags(spec: &BundleSpec) -> &BTreeMap<String, String> {
        &spec.tags
    }

    fn claims(spec: &BundleSpec) -> Claims {
        let i = &spec.ids;
        Claims {
            group: Some((i.data_rg_id(), "data_resource_group_name")),
            objects: vec![i.key_vault_id(), i.postgresql_id(), i.acr_id(), i.service_bus_id()],
        }
    }

    /// Computed attributes from what exists; ids are derived (equal to what
    /// plan predicted whatever casing ARM answers with), read-only values are
    /// read from the bodies.
    fn computed(spec: &BundleSpec, b: &Bodies<Slot>) -> BundleComputed {
        let mut c = BundleComputed::default();
        super::planned_ids(spec, &mut c);
        let read = |s: Slot, ptr: &str| match b.get(&s).and_then(|j| str_at(j, ptr)) {
            Some(v) => Val::Known(v.to_owned()),
            None => Val::Null,
        };
        c.acr_login_server = read(Slot::Acr, "/properties/loginServer");
        c.vault_uri = read(Slot::KeyVault, "/properties/vaultUri");
        c.postgresql_fqdn = read(Slot::Postgresql, "/properties/fullyQualifiedDomainName");
        c.service_bus_endpoint = read(Slot::ServiceBus, "/properties/serviceBusEndpoint");
        c.log_analytics_workspace_customer_id = read(Slot::LogAnalytics, "/properties/customerId");
        c.cosmos_db_endpoint = if spec.cosmos { read(Slot::Cosmos, "/properties/documentEndpoint") } else { Val::Null };
        c.private_endpoint_ips = Val::Known(
            spec.targets()
                .into_iter()
                .filter_map(|t| {
                    let pe = b.get(&Slot::Endpoint(t))?;
                    let first = spec.ids.record_names(t, &spec.location).into_iter().next()?;
                    Some((t.key().to_owned(), endpoint_ip(pe, &first)?.to_owned()))
                })
                .collect(),
        );
        c
    }
}

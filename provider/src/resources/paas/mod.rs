//! `trench_paas_bundle`: the estate's platform services. In the hub's
//! resource group: a container registry, a Key Vault (RBAC only, private
//! endpoint, soft-delete handling), a Service Bus namespace with queues and
//! network rules (default deny, the firewall's public IP and admin CIDRs),
//! a Log Analytics workspace, the Terraform state storage account and
//! container, optionally Cosmos DB; in the data resource group, which the
//! bundle owns: PostgreSQL Flexible with its databases and an
//! administrator password that is write-only. Private endpoints sit on the
//! spoke's `private-endpoints` subnet, resolved by private DNS zones linked
//! to the hub and spoke VNets with an A record per endpoint.
//!
//! Independent services are created in parallel; Azure's orders are kept
//! (the zone's links before its records, the target before its endpoint).
//! Changes Azure cannot make in place are refused at plan naming the
//! attribute; a change that would replace the whole bundle needs
//! `allow_replacement = true`.

mod apply;
mod bodies;
mod observe;
pub mod spec;
mod validate;

use validate::in_place_refusals;
pub use validate::validate_config;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::resources::composite::{Defaults, Model, PlanCx, Specs as _, kept};
use spec::{BundleNames, BundleSpec};
use trench_arm::ResourceId;
use trench_plugin::framework::timeouts::Timeouts;
use trench_plugin::framework::{AttrPath, Attribute, Block, Diagnostics, PlanRequest};
use trench_plugin::value::{Number, Type, Val, Value};

/// The composite.
pub struct PaasBundle;

/// Defaults: DESIGN.md section 1 (the dev estate), secure where Azure lets
/// the SKU be (ACR Basic cannot close its public endpoint).
mod defaults {
    pub const ACR_SKU: &str = "Basic";
    pub const KV_SKU: &str = "standard";
    pub const KV_RETENTION_DAYS: i64 = 7;
    pub const PG_VERSION: &str = "17";
    pub const PG_SKU: &str = "Standard_B1ms";
    pub const PG_STORAGE_GB: i64 = 32;
    pub const PG_LOGIN: &str = "trenchadmin";
    pub const PG_DATABASES: &[&str] = &["catalog", "orders"];
    pub const SB_SKU: &str = "Standard";
    pub const SB_QUEUES: &[&str] = &["orders"];
    pub const LAW_RETENTION_DAYS: i64 = 30;
    pub const CONTAINER: &str = "tfstate";
}

/// Flexible-server storage sizes Azure offers (GB).
const PG_STORAGE_SIZES: &[i64] = &[32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767];
/// Databases every flexible server has; never managed here.
const PG_SYSTEM_DATABASES: &[&str] = &["postgres", "azure_maintenance", "azure_sys"];

const PASSWORD: &str = "postgresql_administrator_password_wo";
const PASSWORD_VERSION: &str = "postgresql_administrator_password_wo_version";

/// The settable attributes, each possibly null or unknown.
#[derive(Clone, Debug, Deserialize)]
pub struct BundleConfig {
    environment: Val<String>,
    location: Val<String>,
    resource_group_name: Val<String>,
    data_resource_group_name: Val<String>,
    private_endpoint_subnet_id: Val<String>,
    dns_zone_vnet_ids: Val<Vec<String>>,
    firewall_public_ip: Val<String>,
    admin_cidrs: Val<Vec<String>>,
    acr_name: Val<String>,
    acr_sku: Val<String>,
    acr_admin_enabled: Val<bool>,
    acr_public_network_access: Val<bool>,
    key_vault_name: Val<String>,
    key_vault_sku: Val<String>,
    key_vault_soft_delete_retention_days: Val<i64>,
    key_vault_purge_protection: Val<bool>,
    key_vault_on_soft_deleted: Val<String>,
    key_vault_purge_on_destroy: Val<bool>,
    key_vault_public_network_access: Val<bool>,
    postgresql_name: Val<String>,
    postgresql_version: Val<String>,
    postgresql_sku_name: Val<String>,
    postgresql_storage_gb: Val<i64>,
    postgresql_auto_grow: Val<bool>,
    postgresql_databases: Val<Vec<String>>,
    postgresql_administrator_login: Val<String>,
    postgresql_administrator_password_wo: Val<String>,
    postgresql_administrator_password_wo_version: Val<i64>,
    service_bus_name: Val<String>,
    service_bus_sku: Val<String>,
    service_bus_queues: Val<Vec<String>>,
    service_bus_default_action: Val<String>,
    log_analytics_name: Val<String>,
    log_analytics_retention_days: Val<i64>,
    state_storage_enabled: Val<bool>,
    state_storage_account_name: Val<String>,
    state_container_name: Val<String>,
    cosmos_db_enabled: Val<bool>,
    cosmos_db_name: Val<String>,
    tags: Val<BTreeMap<String, String>>,
}

/// Computed attributes, patched into state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BundleComputed {
    id: Val<String>,
    data_resource_group_id: Val<String>,
    acr_id: Val<String>,
    acr_login_server: Val<String>,
    key_vault_id: Val<String>,
    vault_uri: Val<String>,
    postgresql_id: Val<String>,
    postgresql_fqdn: Val<String>,
    postgresql_database_ids: Val<BTreeMap<String, String>>,
    service_bus_id: Val<String>,
    service_bus_endpoint: Val<String>,
    service_bus_queue_ids: Val<BTreeMap<String, String>>,
    log_analytics_workspace_id: Val<String>,
    log_analytics_workspace_customer_id: Val<String>,
    storage_account_id: Val<String>,
    state_container_id: Val<String>,
    cosmos_db_id: Val<String>,
    cosmos_db_endpoint: Val<String>,
    private_endpoint_ips: Val<BTreeMap<String, String>>,
    private_dns_zone_ids: Val<BTreeMap<String, String>>,
}

/// The inputs every id depends on.
const ID_INPUTS: &[&str] = &[
    "environment",
    "location",
    "resource_group_name",
    "data_resource_group_name",
    "acr_name",
    "key_vault_name",
    "postgresql_name",
    "service_bus_name",
    "log_analytics_name",
    "state_storage_account_name",
    "state_container_name",
    "cosmos_db_name",
    "postgresql_databases",
    "service_bus_queues",
    "state_storage_enabled",
    "cosmos_db_enabled",
];

/// Computed values known at plan: every id follows from the names.
fn planned_ids(spec: &BundleSpec, c: &mut BundleComputed) {
    let i = &spec.ids;
    let id = |r: ResourceId| Val::Known(r.to_string());
    c.id = id(i.key_vault_id());
    c.key_vault_id = id(i.key_vault_id());
    c.data_resource_group_id = id(i.data_rg_id());
    c.acr_id = id(i.acr_id());
    c.postgresql_id = id(i.postgresql_id());
    c.postgresql_database_ids = Val::Known(spec.pg.databases.iter().map(|d| (d.clone(), i.database_id(d).to_string())).collect());
    c.service_bus_id = id(i.service_bus_id());
    c.service_bus_queue_ids = Val::Known(spec.sb.queues.iter().map(|q| (q.clone(), i.queue_id(q).to_string())).collect());
    c.log_analytics_workspace_id = id(i.log_analytics_id());
    c.storage_account_id = if spec.state_storage { id(i.storage_account_id()) } else { Val::Null };
    c.state_container_id = if spec.state_storage { id(i.container_id()) } else { Val::Null };
    c.cosmos_db_id = if spec.cosmos { id(i.cosmos_id()) } else { Val::Null };
    c.private_dns_zone_ids = Val::Known(spec.targets().into_iter().map(|t| (t.key().to_owned(), i.zone_id(t).to_string())).collect());
}

#[async_trait]
impl Model for PaasBundle {
    const TYPE: &'static str = "trench_paas_bundle";
    const NOUN: &'static str = "bundle";
    const IMPORT: (&'static str, &'static str) = ("Microsoft.KeyVault/vaults", "Key Vault");
    const IMPORT_OVERRIDES: &'static [&'static str] = observe::OVERRIDES;
    const REPLACEMENT_DESTROYS: Option<&'static str> = Some(
        "Replacing the bundle deletes the PostgreSQL server with its data, the vault with its secrets and the registry with its images.",
    );
    const ARM_TYPES: &'static [&'static str] = &[
        "Microsoft.Resources/resourceGroups",
        "Microsoft.ContainerRegistry/registries",
        "Microsoft.KeyVault/vaults",
        "Microsoft.KeyVault/locations/deletedVaults",
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "Microsoft.DBforPostgreSQL/flexibleServers/databases",
        "Microsoft.ServiceBus/namespaces",
        "Microsoft.ServiceBus/namespaces/queues",
        "Microsoft.ServiceBus/namespaces/networkRuleSets",
        "Microsoft.OperationalInsights/workspaces",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "Microsoft.DocumentDB/databaseAccounts",
        "Microsoft.Network/privateEndpoints",
        "Microsoft.Network/privateDnsZones",
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
        "Microsoft.Network/privateDnsZones/A",
    ];
    const REPLACE: &'static [(&'static str, &'static str)] = &[
        ("environment", "every name contains the environment, and Azure cannot rename these services."),
        ("location", "Azure cannot move these services to another region."),
        ("resource_group_name", "Azure cannot move the registry, vault, namespace and workspace in place."),
        ("data_resource_group_name", "Azure cannot move a PostgreSQL server to another resource group."),
        ("acr_name", "Azure cannot rename a registry; a new one starts empty."),
        ("key_vault_name", "Azure cannot rename a vault; a new one starts empty."),
        ("postgresql_name", "Azure cannot rename a PostgreSQL server; a new one starts empty."),
        ("service_bus_name", "Azure cannot rename a namespace."),
        ("log_analytics_name", "Azure cannot rename a workspace."),
        ("state_storage_account_name", "Azure cannot rename a storage account; the state in it would be left behind."),
        ("cosmos_db_name", "Azure cannot rename a Cosmos DB account."),
    ];

    // PostgreSQL and private endpoints dominate; azurerm gives both 60 min.
    const TIMEOUTS: Timeouts = Timeouts::minutes(90, 5, 90, 60);

    const CHECK: fn(&Self::Config) -> Diagnostics = validate_config;
    type Config = BundleConfig;
    type Computed = BundleComputed;

    fn attributes() -> Block {
        let s = |n: &str, d: &str| Attribute::optional_computed(n, Type::String).describe(d);
        let b = |n: &str, d: &str| Attribute::optional_computed(n, Type::Bool).describe(d);
        let n = |n: &str, d: &str| Attribute::optional_computed(n, Type::Number).describe(d);
        let c = |n: &str, d: &str| Attribute::computed(n, Type::String).describe(d);
        let cm = |n: &str, d: &str| Attribute::computed(n, Type::map(Type::String)).describe(d);
        let strs = |xs: &[&str]| xs.iter().map(|x| format!("`{x}`")).collect::<Vec<_>>().join(", ");
        Block::new("The estate's platform services: container registry, Key Vault, PostgreSQL Flexible, Service Bus, Log Analytics, Terraform state storage and optional Cosmos DB, with private endpoints on the spoke's `private-endpoints` subnet and private DNS zones linked to the hub and spoke. Public network access is off wherever the SKU allows; the PostgreSQL password is write-only and never reaches state.")
                .attr(Attribute::required("environment", Type::String).describe("Environment name (`dev`, `prod`); part of every name. Changing it replaces the bundle (guarded by `allow_replacement`)."))
                .attr(Attribute::required("location", Type::String).describe("Azure location, e.g. `westeurope`. Changing it replaces the bundle (guarded by `allow_replacement`)."))
                .attr(s("resource_group_name", "Resource group of the registry, vault, Service Bus, workspace, state storage and DNS zones; it must exist (the hub's: `trench_hub.<name>.resource_group_name`) and is never created or deleted here. Default `rg-trench-core-<env>`."))
                .attr(s("data_resource_group_name", "Resource group for PostgreSQL and its private endpoint, created and (when empty) deleted by the bundle. Default `rg-trench-data-<env>`."))
                .attr(Attribute::required("private_endpoint_subnet_id", Type::String).describe("Subnet for the private endpoints: `trench_spoke.<name>.subnet_ids[\"private-endpoints\"]`. Changing it moves the endpoints (they are recreated)."))
                .attr(Attribute::required("dns_zone_vnet_ids", Type::set(Type::String)).describe("VNets the private DNS zones are linked to, so names resolve to the private endpoints: the hub's and the spoke's ids."))
                .attr(Attribute::optional("firewall_public_ip", Type::String).describe("The hub firewall's public IP (`trench_hub.<name>.firewall_public_ip`): cluster egress comes from it, so Service Bus admits it."))
                .attr(Attribute::optional("admin_cidrs", Type::set(Type::String)).describe("Admin networks Service Bus admits, in CIDR notation (`203.0.113.0/24`, `198.51.100.7/32`)."))
                .attr(s("acr_name", "Registry name (5-50 letters and digits, globally unique). Default `trenchacrcore<env>`."))
                .attr(s("acr_sku", &format!("`Basic` (default `{}`), `Standard` or `Premium`.", defaults::ACR_SKU)))
                .attr(b("acr_admin_enabled", "The registry's admin user. Default false; Phase 1 turns it on, the Phase-7 hardening turns it off again in place."))
                .attr(b("acr_public_network_access", "Public network access to the registry. Default true: only Premium can turn it off."))
                .attr(s("key_vault_name", "Vault name (3-24 characters, globally unique). Default `trench-core-kv-<env>`."))
                .attr(s("key_vault_sku", "`standard` (default) or `premium`."))
                .attr(n("key_vault_soft_delete_retention_days", &format!("Days a deleted vault stays recoverable, 7-90. Default {}. Azure fixes it when the vault is created.", defaults::KV_RETENTION_DAYS)))
                .attr(b("key_vault_purge_protection", "Purge protection. Default false (dev); once on, Azure never turns it off."))
                .attr(s("key_vault_on_soft_deleted", "What to do when a soft-deleted vault holds the name: `fail` (default, with the commands to run), `recover` it, or `purge` it and create a new one."))
                .attr(b("key_vault_purge_on_destroy", "Purge the vault after destroying it, so the name is free at once. Default true without purge protection (and impossible with it)."))
                .attr(b("key_vault_public_network_access", "Public network access to the vault. Default false: reachable through its private endpoint only."))
                .attr(s("postgresql_name", "Server name (3-63 lowercase letters, digits and hyphens, globally unique). Default `trench-data-pg-<env>`."))
                .attr(s("postgresql_version", &format!("PostgreSQL major version, 11-18. Default `{}`. Upgrades happen in place; downgrades are refused.", defaults::PG_VERSION)))
                .attr(s("postgresql_sku_name", &format!("Compute SKU: `Standard_B…` (Burstable), `Standard_D…` (General Purpose) or `Standard_E…` (Memory Optimized). Default `{}`.", defaults::PG_SKU)))
                .attr(n("postgresql_storage_gb", &format!("Storage in GB: one of {}. Default {}. It can grow, never shrink.", PG_STORAGE_SIZES.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "), defaults::PG_STORAGE_GB)))
                .attr(b("postgresql_auto_grow", "Grow storage automatically before it fills. Default true."))
                .attr(Attribute::optional_computed("postgresql_databases", Type::set(Type::String)).describe(&format!("Databases on the server. Default {}.", strs(defaults::PG_DATABASES))))
                .attr(s("postgresql_administrator_login", &format!("Administrator login, fixed at creation. Default `{}`.", defaults::PG_LOGIN)))
                .attr(Attribute::optional(PASSWORD, Type::String).sensitive().write_only().describe("Administrator password (write-only: sent to Azure, never stored in plan or state). Required when the server is created; 8-128 characters from three of upper case, lower case, digits and symbols, not containing the login. Bump `postgresql_administrator_password_wo_version` to send a new one."))
                .attr(Attribute::optional(PASSWORD_VERSION, Type::Number).describe("Any number; changing it sends `postgresql_administrator_password_wo` to the server again (rotation)."))
                .attr(s("service_bus_name", "Namespace name (6-50 characters, globally unique). Default `trench-core-sb-<env>`."))
                .attr(s("service_bus_sku", &format!("`Basic`, `Standard` (default `{}`) or `Premium`.", defaults::SB_SKU)))
                .attr(Attribute::optional_computed("service_bus_queues", Type::set(Type::String)).describe(&format!("Queues. Default {}.", strs(defaults::SB_QUEUES))))
                .attr(s("service_bus_default_action", "`Deny` (default: only the firewall's public IP and `admin_cidrs` get in) or `Allow`."))
                .attr(s("log_analytics_name", "Workspace name. Default `trench-core-law-<env>`."))
                .attr(n("log_analytics_retention_days", &format!("Retention, 30-730 days. Default {}.", defaults::LAW_RETENTION_DAYS)))
                .attr(b("state_storage_enabled", "Create the storage account and container for Terraform state (Phase 2.5.3). Default true."))
                .attr(s("state_storage_account_name", "State storage account (3-24 lowercase letters and digits, globally unique). Default `trenchtfstatecore<env>`."))
                .attr(s("state_container_name", &format!("State container. Default `{}`.", defaults::CONTAINER)))
                .attr(b("cosmos_db_enabled", "Add a Cosmos DB account (private endpoint only). Default false."))
                .attr(s("cosmos_db_name", "Cosmos DB account name. Default `trench-core-cosmos-<env>`."))
                .attr(Attribute::optional("allow_replacement", Type::Bool).describe("Allow a change that replaces the whole bundle, deleting the PostgreSQL data and the vault's secrets (default false: such a plan is refused and the reason shown)."))
                .attr(c("id", "The Key Vault's id; the bundle's import id."))
                .attr(c("data_resource_group_id", "Data resource group id."))
                .attr(c("acr_id", "Container registry id (`trench_private_aks.<name>.acr_id`)."))
                .attr(c("acr_login_server", "Registry login server."))
                .attr(c("key_vault_id", "Key Vault id (a role assignment scope)."))
                .attr(c("vault_uri", "Vault URI."))
                .attr(c("postgresql_id", "PostgreSQL server id."))
                .attr(c("postgresql_fqdn", "PostgreSQL FQDN; inside the estate it resolves to the private endpoint."))
                .attr(cm("postgresql_database_ids", "Database ids by name."))
                .attr(c("service_bus_id", "Service Bus namespace id (a role assignment scope)."))
                .attr(c("service_bus_endpoint", "Service Bus endpoint."))
                .attr(cm("service_bus_queue_ids", "Queue ids by name."))
                .attr(c("log_analytics_workspace_id", "Workspace resource id (`trench_private_aks.<name>.log_analytics_workspace_id`)."))
                .attr(c("log_analytics_workspace_customer_id", "Workspace (customer) id, the GUID agents send to."))
                .attr(c("storage_account_id", "State storage account id (null when disabled)."))
                .attr(c("state_container_id", "State container id (null when disabled)."))
                .attr(c("cosmos_db_id", "Cosmos DB account id (null when disabled)."))
                .attr(c("cosmos_db_endpoint", "Cosmos DB endpoint (null when disabled)."))
                .attr(cm("private_endpoint_ips", "Private IP of each endpoint: `key_vault`, `postgresql`, `cosmos_db`."))
                .attr(cm("private_dns_zone_ids", "Private DNS zone ids, by the same keys."))
    }

    /// Sets the defaults of optional+computed attributes the configuration
    /// leaves null; the default wins over a drifted state value.
    fn fill_defaults(planned: &mut Value, req: &PlanRequest, cfg: &BundleConfig) {
        let Some(mut d) = Defaults::of(planned, &req.config) else { return };
        let strings = |xs: &[&str]| Value::Set(xs.iter().map(|x| Value::string(*x)).collect());
        let num = |n: i64| Value::Number(Number::Int(n));
        let env = cfg.environment.known();
        let protected = cfg.key_vault_purge_protection.known() == Some(&true);
        let named = |f: &dyn Fn(&BundleNames) -> String| match env {
            Some(e) => Value::string(f(&spec::bundle_names(e, cfg))),
            None => Value::unknown(),
        };
        d.set("resource_group_name", named(&|n| n.resource_group.clone()));
        d.set("data_resource_group_name", named(&|n| n.data_resource_group.clone()));
        d.set("acr_name", named(&|n| n.acr.clone()));
        d.set("key_vault_name", named(&|n| n.key_vault.clone()));
        d.set("postgresql_name", named(&|n| n.postgresql.clone()));
        d.set("service_bus_name", named(&|n| n.service_bus.clone()));
        d.set("log_analytics_name", named(&|n| n.log_analytics.clone()));
        d.set("state_storage_account_name", named(&|n| n.storage_account.clone()));
        d.set("cosmos_db_name", named(&|n| n.cosmos.clone()));
        d.set("state_container_name", Value::string(defaults::CONTAINER));
        d.set("acr_sku", Value::string(defaults::ACR_SKU));
        d.set("acr_admin_enabled", Value::Bool(false));
        d.set("acr_public_network_access", Value::Bool(true));
        d.set("key_vault_sku", Value::string(defaults::KV_SKU));
        d.set("key_vault_soft_delete_retention_days", num(defaults::KV_RETENTION_DAYS));
        d.set("key_vault_purge_protection", Value::Bool(false));
        d.set("key_vault_on_soft_deleted", Value::string("fail"));
        d.set("key_vault_purge_on_destroy", Value::Bool(!protected));
        d.set("key_vault_public_network_access", Value::Bool(false));
        d.set("postgresql_version", Value::string(defaults::PG_VERSION));
        d.set("postgresql_sku_name", Value::string(defaults::PG_SKU));
        d.set("postgresql_storage_gb", num(defaults::PG_STORAGE_GB));
        d.set("postgresql_auto_grow", Value::Bool(true));
        d.set("postgresql_databases", strings(defaults::PG_DATABASES));
        d.set("postgresql_administrator_login", Value::string(defaults::PG_LOGIN));
        d.set("service_bus_sku", Value::string(defaults::SB_SKU));
        d.set("service_bus_queues", strings(defaults::SB_QUEUES));
        d.set("service_bus_default_action", Value::string("Deny"));
        d.set("log_analytics_retention_days", num(defaults::LAW_RETENTION_DAYS));
        d.set("state_storage_enabled", Value::Bool(true));
        d.set("cosmos_db_enabled", Value::Bool(false));
    }

    async fn plan(cx: &mut PlanCx<'_, Self>) -> Result<BundleComputed, Diagnostics> {
        let (req, cfg, replacing) = (cx.req, &cx.cfg, cx.replacing);
        let pc = cx.planned_config()?;
        if !req.prior.is_null() && !replacing {
            let refusals = in_place_refusals(&req.prior, &pc);
            if refusals.has_errors() {
                return Err(refusals);
            }
        }
        // The password: needed to create the server, and for a new version.
        let password_set = !cfg.postgresql_administrator_password_wo.is_null();
        if (req.prior.is_null() || replacing) && !password_set && !cfg.postgresql_administrator_password_wo.is_unknown() {
            return Err(Diagnostics::attr_error(
                AttrPath::root(PASSWORD),
                "PostgreSQL needs an administrator password",
                "Set postgresql_administrator_password_wo (for example from a variable marked sensitive, or an ephemeral value) to create the server. It is sent once and never stored.",
            ));
        }
        let version_changed = !req.prior.is_null() && req.prior.get_attr(PASSWORD_VERSION) != cx.planned.get_attr(PASSWORD_VERSION);
        if version_changed && !password_set && !cfg.postgresql_administrator_password_wo.is_unknown() {
            return Err(Diagnostics::attr_error(
                AttrPath::root(PASSWORD_VERSION),
                "A new password version needs the password",
                "postgresql_administrator_password_wo_version changed, but postgresql_administrator_password_wo is not set: there is nothing to send.",
            ));
        }
        let prior_comp = cx.prior_computed();
        let keep = |f: fn(&BundleComputed) -> &Val<String>| kept(prior_comp.as_ref(), f);
        let planned = &cx.planned;
        let spec = PaasBundle::spec_from(&cx.azure.env, planned)
            .ok()
            .filter(|_| ID_INPUTS.iter().all(|a| planned.get_attr(a).is_none_or(Value::is_wholly_known)));
        // Ids are unknown while a name they derive from is.
        let base = match spec {
            Some(_) => BundleComputed::default(),
            None => cx.all_unknown()?,
        };
        let mut computed = BundleComputed {
            acr_login_server: keep(|c| &c.acr_login_server),
            vault_uri: keep(|c| &c.vault_uri),
            postgresql_fqdn: keep(|c| &c.postgresql_fqdn),
            service_bus_endpoint: keep(|c| &c.service_bus_endpoint),
            log_analytics_workspace_customer_id: keep(|c| &c.log_analytics_workspace_customer_id),
            ..base
        };
        if let Some(spec) = spec {
            planned_ids(&spec, &mut computed);
            computed.cosmos_db_endpoint = if spec.cosmos { keep(|c| &c.cosmos_db_endpoint) } else { Val::Null };
            // Endpoint IPs survive unless an endpoint is added, removed,
            // moved or recreated (drift on an endpoint).
            let mut wanted: Vec<&str> = spec.targets().iter().map(|t| t.key()).collect();
            let endpoint_drift = cx.prior_drift().iter().any(|l| l.starts_with("Private Endpoint"));
            wanted.sort_unstable();
            computed.private_endpoint_ips = match &prior_comp {
                Some(p)
                    if req.prior.get_attr("private_endpoint_subnet_id") == planned.get_attr("private_endpoint_subnet_id")
                        && !endpoint_drift
                        && p.private_endpoint_ips.known().is_some_and(|m| m.keys().map(String::as_str).eq(wanted.iter().copied())) =>
                {
                    p.private_endpoint_ips.clone()
                }
                _ => Val::Unknown,
            };
        }
        Ok(computed)
    }
}

#[cfg(test)]
mod tests;

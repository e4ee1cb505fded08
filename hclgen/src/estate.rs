//! `env/<name>/estate.toml`: the file schema (what an operator writes, every
//! key but `environment` optional) and the resolved [`Estate`] (every value
//! filled in from DESIGN.md section 1's defaults, validated).
//!
//! The schema mirrors `modules/estate/variables.tf` key for key, so an
//! operator who knows one knows the other. Two additions: `[backend]`
//! (Terraform's backend, not a module input) and `[extra_spokes.<name>]`
//! (more spokes through `modules/spoke`).

use std::collections::BTreeMap;

use ipnet::{IpNet, Ipv4Net};
use serde::Deserialize;

use crate::problem::Problems;

/// The file as written. Unknown keys are errors everywhere.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct EstateFile {
    pub environment: String,
    pub location: Option<String>,
    pub postgresql_administrator_password_version: Option<u32>,
    pub tags: Option<BTreeMap<String, String>>,
    pub backend: Option<BackendFile>,
    pub hub: Option<HubFile>,
    pub spoke: Option<SpokeFile>,
    pub aks: Option<AksFile>,
    pub paas: Option<PaasFile>,
    pub workloads: Option<BTreeMap<String, WorkloadFile>>,
    pub extra_spokes: Option<BTreeMap<String, ExtraSpokeFile>>,
}

/// Which Terraform backend keeps the state.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BackendType {
    /// `terraform.tfstate` next to the configuration (Phase 1).
    #[default]
    Local,
    /// Azure Storage with Entra ID auth and blob-lease locking (Phase 8.10).
    Azurerm,
}

/// `[backend]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct BackendFile {
    #[serde(rename = "type", default)]
    pub kind: BackendType,
    pub path: Option<String>,
    pub resource_group_name: Option<String>,
    pub storage_account_name: Option<String>,
    pub container_name: Option<String>,
    pub key: Option<String>,
    pub use_oidc: Option<bool>,
    pub use_azuread_auth: Option<bool>,
}

/// `[hub]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct HubFile {
    pub address_space: Option<Vec<String>>,
    pub subnets: Option<BTreeMap<String, String>>,
    pub firewall_sku_tier: Option<String>,
    pub threat_intel_mode: Option<String>,
    pub egress_mode: Option<String>,
    pub admin_cidrs: Option<Vec<String>>,
    pub application_rules: Option<Vec<AppRule>>,
    pub network_rules: Option<Vec<NetRule>>,
    pub jump_host: Option<JumpHostFile>,
}

/// `[[hub.application_rules]]`: an extra allow rule by FQDN.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct AppRule {
    pub name: String,
    pub source_addresses: Vec<String>,
    pub target_fqdns: Vec<String>,
    pub protocols: Vec<String>,
}

/// `[[hub.network_rules]]`: an extra allow rule by address and port.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct NetRule {
    pub name: String,
    pub protocols: Vec<String>,
    pub source_addresses: Vec<String>,
    pub destination_addresses: Vec<String>,
    pub destination_ports: Vec<String>,
}

/// `[hub.jump_host]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct JumpHostFile {
    pub size: Option<String>,
    pub admin_username: Option<String>,
    pub ssh_public_key: String,
    pub public_ip: Option<bool>,
}

/// `[spoke]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SpokeFile {
    pub address_space: Option<Vec<String>>,
    pub subnets: Option<BTreeMap<String, String>>,
}

/// `[aks]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct AksFile {
    pub kubernetes_version: Option<String>,
    pub sku_tier: Option<String>,
    pub system_pool: Option<SystemPoolFile>,
    pub node_pools: Option<BTreeMap<String, NodePool>>,
    pub admin_group_object_ids: Option<Vec<String>>,
}

/// `[aks.system_pool]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SystemPoolFile {
    pub vm_size: Option<String>,
    pub node_count: Option<u32>,
}

/// `[aks.node_pools.<name>]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct NodePool {
    pub vm_size: String,
    pub node_count: Option<u32>,
    pub min_count: Option<u32>,
    pub max_count: Option<u32>,
    pub labels: Option<BTreeMap<String, String>>,
    pub taints: Option<Vec<String>>,
}

/// `[paas]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PaasFile {
    pub acr_sku: Option<String>,
    pub acr_admin_enabled: Option<bool>,
    pub key_vault_purge_protection: Option<bool>,
    pub key_vault_soft_delete_retention_days: Option<u32>,
    pub key_vault_on_soft_deleted: Option<String>,
    pub postgresql_version: Option<String>,
    pub postgresql_sku_name: Option<String>,
    pub postgresql_storage_gb: Option<u32>,
    pub postgresql_databases: Option<Vec<String>>,
    pub postgresql_administrator_login: Option<String>,
    pub service_bus_queues: Option<Vec<String>>,
    pub log_analytics_retention_days: Option<u32>,
    pub cosmos_db: Option<bool>,
}

/// `[workloads.<name>]`: a workload that gets a federated identity.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct WorkloadFile {
    pub namespace: String,
    pub service_account: String,
    pub roles: Option<Vec<String>>,
}

/// `[extra_spokes.<name>]`: another spoke on the hub, through modules/spoke.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ExtraSpokeFile {
    pub address_space: Vec<String>,
    pub subnets: Option<BTreeMap<String, String>>,
}

/// Defaults: DESIGN.md section 1 as it stands in Phase 1 (the dev estate).
/// `trench-hclgen new` writes prod-grade values explicitly instead.
pub mod defaults {
    /// Location.
    pub const LOCATION: &str = "westeurope";
    /// Hub address space.
    pub const HUB_ADDRESS_SPACE: &str = "10.0.0.0/16";
    /// AKS spoke address space.
    pub const SPOKE_ADDRESS_SPACE: &str = "10.1.0.0/16";
    /// Firewall SKU tier.
    pub const FIREWALL_SKU_TIER: &str = "Standard";
    /// Threat intelligence mode.
    pub const THREAT_INTEL_MODE: &str = "Alert";
    /// Egress: strict (AKS, registries, your rules); `loose` allows all for a Phase-1 bring-up.
    pub const EGRESS_MODE: &str = "strict";
    /// Jump host VM size.
    pub const JUMP_HOST_SIZE: &str = "Standard_B2s";
    /// Jump host admin user.
    pub const JUMP_HOST_ADMIN: &str = "azureuser";
    /// AKS SKU tier.
    pub const AKS_SKU_TIER: &str = "Free";
    /// System pool VM size.
    pub const SYSTEM_POOL_VM_SIZE: &str = "Standard_D2s_v5";
    /// System pool nodes.
    pub const SYSTEM_POOL_NODES: u32 = 2;
    /// Registry SKU.
    pub const ACR_SKU: &str = "Basic";
    /// Registry admin user: on in Phase 1, off once hardened (Phase 7.6).
    pub const ACR_ADMIN_ENABLED: bool = true;
    /// Purge protection: off for dev.
    pub const KEY_VAULT_PURGE_PROTECTION: bool = false;
    /// Soft-delete retention.
    pub const KEY_VAULT_RETENTION_DAYS: u32 = 7;
    /// What to do when a vault of the same name is soft-deleted.
    pub const KEY_VAULT_ON_SOFT_DELETED: &str = "recover";
    /// PostgreSQL major version (latest).
    pub const POSTGRESQL_VERSION: &str = "17";
    /// PostgreSQL compute (Burstable).
    pub const POSTGRESQL_SKU: &str = "Standard_B1ms";
    /// PostgreSQL storage.
    pub const POSTGRESQL_STORAGE_GB: u32 = 32;
    /// Databases, one per service.
    pub const POSTGRESQL_DATABASES: &[&str] = &["catalog", "orders"];
    /// PostgreSQL administrator login.
    pub const POSTGRESQL_ADMIN: &str = "trenchadmin";
    /// Service Bus queues.
    pub const SERVICE_BUS_QUEUES: &[&str] = &["orders"];
    /// Log Analytics retention.
    pub const LOG_ANALYTICS_RETENTION_DAYS: u32 = 30;
}

/// Egress policy of the hub firewall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EgressMode {
    /// Only AKS, registries and the extra rules.
    Strict,
    /// Everything allowed (Phase-1 bring-up).
    Loose,
}

impl EgressMode {
    /// As estate.toml and the module spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            EgressMode::Strict => "strict",
            EgressMode::Loose => "loose",
        }
    }
}

/// The resolved backend.
#[derive(Clone, Debug, PartialEq)]
pub enum Backend {
    /// Local state file.
    Local {
        /// Path of the state file, relative to env/<name>/.
        path: String,
    },
    /// Azure Storage.
    Azurerm {
        /// Resource group of the storage account.
        resource_group_name: String,
        /// Storage account.
        storage_account_name: String,
        /// Blob container.
        container_name: String,
        /// Blob name of the state.
        key: String,
        /// Authenticate with an OIDC token (GitHub Actions) rather than az CLI.
        use_oidc: bool,
    },
}

/// A resolved VNet: address space and subnet layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Address space.
    pub address_space: Vec<Ipv4Net>,
    /// Subnets by name.
    pub subnets: BTreeMap<String, Ipv4Net>,
}

/// The resolved jump host.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct JumpHost {
    pub size: String,
    pub admin_username: String,
    pub ssh_public_key: String,
    pub public_ip: bool,
}

/// The resolved hub.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Hub {
    pub network: Network,
    pub firewall_sku_tier: String,
    pub threat_intel_mode: String,
    pub egress_mode: EgressMode,
    pub admin_cidrs: Vec<IpNet>,
    pub application_rules: Vec<AppRule>,
    pub network_rules: Vec<NetRule>,
    pub jump_host: Option<JumpHost>,
}

/// The resolved system pool.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct SystemPool {
    pub vm_size: String,
    pub node_count: u32,
}

/// The resolved AKS cluster.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Aks {
    pub kubernetes_version: Option<String>,
    pub sku_tier: String,
    pub system_pool: SystemPool,
    pub node_pools: BTreeMap<String, NodePool>,
    pub admin_group_object_ids: Vec<String>,
}

/// The resolved PaaS bundle.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Paas {
    pub acr_sku: String,
    pub acr_admin_enabled: bool,
    pub key_vault_purge_protection: bool,
    pub key_vault_soft_delete_retention_days: u32,
    pub key_vault_on_soft_deleted: String,
    pub postgresql_version: String,
    pub postgresql_sku_name: String,
    pub postgresql_storage_gb: u32,
    pub postgresql_databases: Vec<String>,
    pub postgresql_administrator_login: String,
    pub service_bus_queues: Vec<String>,
    pub log_analytics_retention_days: u32,
    pub cosmos_db: bool,
}

/// A resolved workload identity.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Workload {
    pub namespace: String,
    pub service_account: String,
    pub roles: Vec<String>,
}

/// One environment, every value resolved and validated.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)]
pub struct Estate {
    pub environment: String,
    pub location: String,
    /// owner, cost-center, purpose and any others; never `environment`.
    pub tags: BTreeMap<String, String>,
    pub backend: Backend,
    pub hub: Hub,
    pub spoke: Network,
    pub aks: Aks,
    pub paas: Paas,
    pub postgresql_administrator_password_version: u32,
    pub workloads: BTreeMap<String, Workload>,
    pub extra_spokes: BTreeMap<String, Network>,
}

/// Parses estate.toml text. Syntax errors carry line and column; type and
/// unknown-key errors carry the dotted key path. `file` names the file in
/// messages.
pub fn parse(file: &str, text: &str) -> Result<EstateFile, Problems> {
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let e: toml::de::Error = e;
            return Err(Problems::one(file, at(text, e.span()), format!("TOML syntax: {}", e.message().trim_end())));
        }
    };
    secrets_never_live_here(file, &table)?;
    let de = toml::Deserializer::parse(text).map_err(|e| Problems::one(file, at(text, e.span()), e.message().trim_end()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        let inner = e.inner();
        Problems::one(file, key, inner.message().trim_end().replace('`', "\""))
    })
}

/// The PostgreSQL password is an ephemeral variable: it must never be
/// written to estate.toml (which is committed) or terraform.tfvars.
fn secrets_never_live_here(file: &str, table: &toml::Table) -> Result<(), Problems> {
    fn walk(prefix: &str, t: &toml::Table, found: &mut Vec<String>) {
        for (k, v) in t {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            if k.contains("password") && !k.ends_with("password_version") {
                found.push(key.clone());
            }
            if let toml::Value::Table(inner) = v {
                walk(&key, inner, found);
            }
        }
    }
    let mut found = Vec::new();
    walk("", table, &mut found);
    match found.first() {
        None => Ok(()),
        Some(key) => Err(Problems::one(
            file,
            key.as_str(),
            "passwords never go in estate.toml (it is committed) nor terraform.tfvars: the PostgreSQL administrator password is an \
             ephemeral Terraform variable; export TF_VAR_postgresql_administrator_password before plan and apply",
        )),
    }
}

/// `line L, column C` for a byte span, or empty.
fn at(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else { return String::new() };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {col}")
}

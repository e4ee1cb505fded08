//! The default name of every object the estate's composites create, one
//! function per composite, so the provider (defaults, import, the
//! `trench_hub` data source), the `trench_conventions` data source and
//! hclgen (READMEs, backends) always agree. `env` must pass
//! [`crate::check_environment`]; nothing here checks.

/// `trench-<service>-<resource>-<env>`, unchecked.
fn n(service: &str, resource: &str, env: &str) -> String {
    format!("trench-{service}-{resource}-{env}")
}

/// `trench<resource><service><env>` without hyphens, unchecked.
fn compact(service: &str, resource: &str, env: &str) -> String {
    format!("trench{resource}{service}{env}").replace('-', "")
}

/// `rg-trench-<service>-<env>`: a part of the estate's resource group.
pub fn resource_group(service: &str, env: &str) -> String {
    format!("rg-trench-{service}-{env}")
}

/// The hub's objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubNames {
    /// Core resource group.
    pub resource_group: String,
    /// Hub VNet.
    pub vnet: String,
    /// Azure Firewall.
    pub firewall: String,
    /// Firewall policy.
    pub firewall_policy: String,
    /// Firewall public IP.
    pub public_ip: String,
    /// Jump host VM.
    pub jump_vm: String,
    /// Jump host NIC.
    pub jump_nic: String,
    /// Jump host NSG.
    pub jump_nsg: String,
    /// Jump host public IP.
    pub jump_pip: String,
}

/// The hub's default names.
pub fn hub(env: &str) -> HubNames {
    HubNames {
        resource_group: resource_group("core", env),
        vnet: n("core", "vnet", env),
        firewall: n("core", "fw", env),
        firewall_policy: n("core", "fwpolicy", env),
        public_ip: n("core", "fwpip", env),
        jump_vm: n("core", "jump", env),
        jump_nic: n("core", "jumpnic", env),
        jump_nsg: n("core", "jumpnsg", env),
        jump_pip: n("core", "jumppip", env),
    }
}

/// The service name of the estate's first spoke.
pub const DEFAULT_SPOKE: &str = "aks";

/// A spoke's objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpokeNames {
    /// Spoke resource group.
    pub resource_group: String,
    /// Spoke VNet.
    pub vnet: String,
    /// Route table.
    pub route_table: String,
    /// Peering on the hub VNet.
    pub hub_to_spoke: String,
    /// Peering on the spoke VNet.
    pub spoke_to_hub: String,
}

/// A spoke's default names; `service` is the spoke's name (`aks`).
pub fn spoke(service: &str, env: &str) -> SpokeNames {
    SpokeNames {
        resource_group: resource_group(service, env),
        vnet: n(service, "vnet", env),
        route_table: format!("rt-{service}-nodes-{env}"),
        hub_to_spoke: format!("trench-hub-to-{service}-{env}"),
        spoke_to_hub: format!("trench-{service}-to-hub-{env}"),
    }
}

/// The private cluster's objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterNames {
    /// The spoke's resource group, where the cluster lives.
    pub resource_group: String,
    /// The managed cluster.
    pub cluster: String,
    /// The resource group AKS manages for the nodes.
    pub node_resource_group: String,
}

/// The cluster's default names.
pub fn cluster(env: &str) -> ClusterNames {
    ClusterNames {
        resource_group: resource_group(DEFAULT_SPOKE, env),
        cluster: n("aks", "cluster", env),
        node_resource_group: resource_group("aksnodes", env),
    }
}

/// The PaaS bundle's objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleNames {
    /// The hub's resource group, where most services live.
    pub resource_group: String,
    /// PostgreSQL's own resource group.
    pub data_resource_group: String,
    /// Container registry.
    pub acr: String,
    /// Key Vault.
    pub key_vault: String,
    /// Key Vault private endpoint.
    pub key_vault_endpoint: String,
    /// PostgreSQL flexible server.
    pub postgresql: String,
    /// PostgreSQL private endpoint.
    pub postgresql_endpoint: String,
    /// Service Bus namespace.
    pub service_bus: String,
    /// Log Analytics workspace.
    pub log_analytics: String,
    /// Remote-state storage account.
    pub storage_account: String,
    /// Remote-state container.
    pub container: String,
    /// Cosmos DB account.
    pub cosmos: String,
    /// Cosmos DB private endpoint.
    pub cosmos_endpoint: String,
}

/// The bundle's default names.
pub fn bundle(env: &str) -> BundleNames {
    BundleNames {
        resource_group: resource_group("core", env),
        data_resource_group: resource_group("data", env),
        acr: compact("core", "acr", env),
        key_vault: n("core", "kv", env),
        key_vault_endpoint: n("core", "kvpe", env),
        postgresql: n("data", "pg", env),
        postgresql_endpoint: n("data", "pgpe", env),
        service_bus: n("core", "sb", env),
        log_analytics: n("core", "law", env),
        storage_account: compact("core", "tfstate", env),
        container: "tfstate".to_owned(),
        cosmos: n("core", "cosmos", env),
        cosmos_endpoint: n("core", "cosmospe", env),
    }
}

/// A workload's user-assigned identity: `trench-<workload>-id-<env>`.
pub fn identity(workload: &str, env: &str) -> String {
    n(workload, "id", env)
}

/// Where workload identities live by default: the hub's resource group.
pub fn identity_resource_group(env: &str) -> String {
    resource_group("core", env)
}

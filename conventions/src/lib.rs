#![warn(missing_docs)]
//! trench's naming and tagging conventions (DESIGN.md section 1) and Azure's
//! naming rules per resource type. Pure functions: no Azure calls.
//!
//! Names are `trench-<service>-<resource>-<env>`; where Azure forbids hyphens
//! (ACR, storage) the compact form is `trench<resource><service><env>`, the
//! order the operators' plan uses (`trenchacrcoredev`).

use std::collections::BTreeMap;

pub mod names;

/// Azure resource types that carry a conventional name, each with its rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AzureType {
    /// Microsoft.Resources/resourceGroups
    ResourceGroup,
    /// Microsoft.Network/virtualNetworks
    VirtualNetwork,
    /// Microsoft.Network/virtualNetworks/subnets
    Subnet,
    /// Microsoft.Network/virtualNetworks/virtualNetworkPeerings
    Peering,
    /// Microsoft.Network/publicIPAddresses
    PublicIp,
    /// Microsoft.Network/azureFirewalls
    Firewall,
    /// Microsoft.Network/firewallPolicies
    FirewallPolicy,
    /// Microsoft.Network/routeTables
    RouteTable,
    /// Microsoft.Network/networkSecurityGroups
    NetworkSecurityGroup,
    /// Microsoft.Network/networkInterfaces
    NetworkInterface,
    /// Microsoft.Network/privateEndpoints
    PrivateEndpoint,
    /// Microsoft.Compute/virtualMachines (Linux)
    VirtualMachine,
    /// Microsoft.ContainerService/managedClusters
    ManagedCluster,
    /// Microsoft.ContainerRegistry/registries
    ContainerRegistry,
    /// Microsoft.KeyVault/vaults
    KeyVault,
    /// Microsoft.DBforPostgreSQL/flexibleServers
    PostgresServer,
    /// Microsoft.ServiceBus/namespaces
    ServiceBusNamespace,
    /// Microsoft.OperationalInsights/workspaces
    LogAnalyticsWorkspace,
    /// Microsoft.Storage/storageAccounts
    StorageAccount,
    /// Microsoft.Storage/storageAccounts/blobServices/containers
    StorageContainer,
    /// Microsoft.ManagedIdentity/userAssignedIdentities
    UserAssignedIdentity,
    /// Microsoft.DocumentDB/databaseAccounts
    CosmosAccount,
}

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn len_in(name: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&name.chars().count())
}

/// Network RP names: alphanumerics, `_ . -`; start alphanumeric; end
/// alphanumeric or `_`.
fn network_rule(name: &str, min: usize, max: usize) -> bool {
    len_in(name, min, max)
        && name.chars().all(|c| alnum(c) || "_.-".contains(c))
        && name.starts_with(alnum)
        && name.ends_with(|c: char| alnum(c) || c == '_')
}

impl AzureType {
    /// The ARM resource type.
    pub fn arm_type(self) -> &'static str {
        use AzureType::*;
        match self {
            ResourceGroup => "Microsoft.Resources/resourceGroups",
            VirtualNetwork => "Microsoft.Network/virtualNetworks",
            Subnet => "Microsoft.Network/virtualNetworks/subnets",
            Peering => "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
            PublicIp => "Microsoft.Network/publicIPAddresses",
            Firewall => "Microsoft.Network/azureFirewalls",
            FirewallPolicy => "Microsoft.Network/firewallPolicies",
            RouteTable => "Microsoft.Network/routeTables",
            NetworkSecurityGroup => "Microsoft.Network/networkSecurityGroups",
            NetworkInterface => "Microsoft.Network/networkInterfaces",
            PrivateEndpoint => "Microsoft.Network/privateEndpoints",
            VirtualMachine => "Microsoft.Compute/virtualMachines",
            ManagedCluster => "Microsoft.ContainerService/managedClusters",
            ContainerRegistry => "Microsoft.ContainerRegistry/registries",
            KeyVault => "Microsoft.KeyVault/vaults",
            PostgresServer => "Microsoft.DBforPostgreSQL/flexibleServers",
            ServiceBusNamespace => "Microsoft.ServiceBus/namespaces",
            LogAnalyticsWorkspace => "Microsoft.OperationalInsights/workspaces",
            StorageAccount => "Microsoft.Storage/storageAccounts",
            StorageContainer => "Microsoft.Storage/storageAccounts/blobServices/containers",
            UserAssignedIdentity => "Microsoft.ManagedIdentity/userAssignedIdentities",
            CosmosAccount => "Microsoft.DocumentDB/databaseAccounts",
        }
    }

    /// Azure's naming rule, in words.
    pub fn rule(self) -> &'static str {
        use AzureType::*;
        match self {
            ResourceGroup => "1-90 characters: letters, digits, '_', '-', '.', '(', ')'; not ending in '.'",
            VirtualNetwork | PrivateEndpoint => {
                "2-64 characters: letters, digits, '_', '.', '-'; start alphanumeric, end alphanumeric or '_'"
            }
            Subnet | Peering | PublicIp | FirewallPolicy | RouteTable | NetworkSecurityGroup | NetworkInterface => {
                "1-80 characters: letters, digits, '_', '.', '-'; start alphanumeric, end alphanumeric or '_'"
            }
            Firewall => "1-56 characters: letters, digits, '_', '.', '-'; start alphanumeric, end alphanumeric or '_'",
            VirtualMachine => "1-64 characters: letters, digits, '-', '.'; start and end alphanumeric",
            ManagedCluster => "1-63 characters: letters, digits, '-', '_'; start and end alphanumeric",
            ContainerRegistry => "5-50 characters: letters and digits only; globally unique",
            KeyVault => "3-24 characters: letters, digits, '-'; start with a letter, end alphanumeric, no '--'; globally unique",
            PostgresServer => "3-63 characters: lowercase letters, digits, '-'; start and end alphanumeric; globally unique",
            ServiceBusNamespace => {
                "6-50 characters: letters, digits, '-'; start with a letter, end alphanumeric; not ending in '-sb' or '-mgmt'; globally unique"
            }
            LogAnalyticsWorkspace => "4-63 characters: letters, digits, '-'; start and end alphanumeric",
            StorageAccount => "3-24 characters: lowercase letters and digits only; globally unique",
            StorageContainer => "3-63 characters: lowercase letters, digits, '-'; start alphanumeric, no '--'",
            UserAssignedIdentity => "3-128 characters: letters, digits, '-', '_'; start alphanumeric",
            CosmosAccount => "3-44 characters: lowercase letters, digits, '-'; start and end alphanumeric; globally unique",
        }
    }

    /// Checks `name` against Azure's rule for this type.
    pub fn check(self, name: &str) -> Result<(), String> {
        use AzureType::*;
        let lower_dash = |min, max| {
            len_in(name, min, max)
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && name.starts_with(alnum)
                && name.ends_with(alnum)
        };
        let ok = match self {
            ResourceGroup => {
                len_in(name, 1, 90) && name.chars().all(|c| c.is_alphanumeric() || "_-.()".contains(c)) && !name.ends_with('.')
            }
            VirtualNetwork | PrivateEndpoint => network_rule(name, 2, 64),
            Subnet | Peering | PublicIp | FirewallPolicy | RouteTable | NetworkSecurityGroup | NetworkInterface => {
                network_rule(name, 1, 80)
            }
            Firewall => network_rule(name, 1, 56),
            VirtualMachine => {
                len_in(name, 1, 64)
                    && name.chars().all(|c| alnum(c) || "-.".contains(c))
                    && name.starts_with(alnum)
                    && name.ends_with(alnum)
            }
            ManagedCluster => {
                len_in(name, 1, 63)
                    && name.chars().all(|c| alnum(c) || "-_".contains(c))
                    && name.starts_with(alnum)
                    && name.ends_with(alnum)
            }
            ContainerRegistry => len_in(name, 5, 50) && name.chars().all(alnum),
            KeyVault => {
                len_in(name, 3, 24)
                    && name.chars().all(|c| alnum(c) || c == '-')
                    && name.starts_with(|c: char| c.is_ascii_alphabetic())
                    && name.ends_with(alnum)
                    && !name.contains("--")
            }
            PostgresServer => lower_dash(3, 63),
            ServiceBusNamespace => {
                len_in(name, 6, 50)
                    && name.chars().all(|c| alnum(c) || c == '-')
                    && name.starts_with(|c: char| c.is_ascii_alphabetic())
                    && name.ends_with(alnum)
                    && !name.ends_with("-sb")
                    && !name.ends_with("-mgmt")
            }
            LogAnalyticsWorkspace => {
                len_in(name, 4, 63) && name.chars().all(|c| alnum(c) || c == '-') && name.starts_with(alnum) && name.ends_with(alnum)
            }
            StorageAccount => len_in(name, 3, 24) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            StorageContainer => lower_dash(3, 63) && !name.contains("--"),
            UserAssignedIdentity => len_in(name, 3, 128) && name.chars().all(|c| alnum(c) || "-_".contains(c)) && name.starts_with(alnum),
            CosmosAccount => lower_dash(3, 44),
        };
        if ok { Ok(()) } else { Err(format!("{name:?} does not fit the {} naming rule: {}", self.arm_type(), self.rule())) }
    }
}

/// Which argument of `name`/`compact_name` is wrong, and why.
#[derive(Debug, PartialEq)]
pub struct TokenError {
    /// 0 = service, 1 = resource, 2 = env.
    pub argument: usize,
    /// What is wrong.
    pub message: String,
}

/// Checks an environment name: 2-12 lowercase letters and digits, starting
/// with a letter (it ends up inside names that forbid hyphens).
pub fn check_environment(env: &str) -> Result<(), String> {
    let ok = len_in(env, 2, 12)
        && env.starts_with(|c: char| c.is_ascii_lowercase())
        && env.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "environment {env:?} must be 2-12 lowercase letters or digits, starting with a letter (for example \"dev\" or \"prod\")"
        ))
    }
}

fn check_token(what: &str, t: &str) -> Result<(), String> {
    let ok =
        len_in(t, 1, 24) && t.split('-').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {t:?} must be 1-24 lowercase letters or digits, optionally joined by single hyphens (for example \"core\" or \"catalog-api\")"
        ))
    }
}

fn check_tokens(service: &str, resource: &str, env: &str) -> Result<(), TokenError> {
    check_token("service", service).map_err(|message| TokenError { argument: 0, message })?;
    check_token("resource", resource).map_err(|message| TokenError { argument: 1, message })?;
    check_environment(env).map_err(|message| TokenError { argument: 2, message })
}

/// `trench-<service>-<resource>-<env>`.
pub fn name(service: &str, resource: &str, env: &str) -> Result<String, TokenError> {
    check_tokens(service, resource, env)?;
    Ok(format!("trench-{service}-{resource}-{env}"))
}

/// `trench<resource><service><env>` without hyphens, for ACR and storage
/// accounts; it must fit both rules (5-24 lowercase alphanumerics).
pub fn compact_name(service: &str, resource: &str, env: &str) -> Result<String, TokenError> {
    check_tokens(service, resource, env)?;
    let n: String = format!("trench{resource}{service}{env}").chars().filter(|c| *c != '-').collect();
    if !len_in(&n, 5, 24) {
        return Err(TokenError {
            argument: 1,
            message: format!(
                "{n:?} is {} characters; compact names must be at most 24 to fit storage accounts (and 5-50 for ACR): shorten the resource or service",
                n.len()
            ),
        });
    }
    Ok(n)
}

/// One conventional name of the estate.
#[derive(Clone, Debug, PartialEq)]
pub struct EstateName {
    /// The name.
    pub name: String,
    /// Its Azure type.
    pub azure_type: AzureType,
}

/// Every conventional name of one environment's estate (DESIGN.md section 1),
/// keyed by a stable logical key. `env` must pass [`check_environment`].
pub fn estate_names(env: &str) -> BTreeMap<&'static str, EstateName> {
    use AzureType::*;
    let (hub, spoke, aks, paas) = (names::hub(env), names::spoke(names::DEFAULT_SPOKE, env), names::cluster(env), names::bundle(env));
    let entries: Vec<(&'static str, String, AzureType)> = vec![
        ("core_resource_group", hub.resource_group, ResourceGroup),
        ("aks_resource_group", spoke.resource_group, ResourceGroup),
        ("data_resource_group", paas.data_resource_group, ResourceGroup),
        ("hub_vnet", hub.vnet, VirtualNetwork),
        ("spoke_vnet", spoke.vnet, VirtualNetwork),
        ("hub_to_spoke_peering", spoke.hub_to_spoke, Peering),
        ("spoke_to_hub_peering", spoke.spoke_to_hub, Peering),
        ("firewall", hub.firewall, Firewall),
        ("firewall_public_ip", hub.public_ip, PublicIp),
        ("firewall_policy", hub.firewall_policy, FirewallPolicy),
        ("route_table", spoke.route_table, RouteTable),
        ("jump_host_vm", hub.jump_vm, VirtualMachine),
        ("jump_host_nic", hub.jump_nic, NetworkInterface),
        ("jump_host_nsg", hub.jump_nsg, NetworkSecurityGroup),
        ("aks_cluster", aks.cluster, ManagedCluster),
        ("aks_node_resource_group", aks.node_resource_group, ResourceGroup),
        ("container_registry", paas.acr, ContainerRegistry),
        ("key_vault", paas.key_vault, KeyVault),
        ("key_vault_private_endpoint", paas.key_vault_endpoint, PrivateEndpoint),
        ("postgresql_server", paas.postgresql, PostgresServer),
        ("postgresql_private_endpoint", paas.postgresql_endpoint, PrivateEndpoint),
        ("service_bus_namespace", paas.service_bus, ServiceBusNamespace),
        ("log_analytics_workspace", paas.log_analytics, LogAnalyticsWorkspace),
        ("state_storage_account", paas.storage_account, StorageAccount),
        ("state_container", paas.container, StorageContainer),
        ("cosmos_account", paas.cosmos, CosmosAccount),
        ("catalog_api_identity", names::identity("catalog-api", env), UserAssignedIdentity),
    ];
    entries.into_iter().map(|(k, name, azure_type)| (k, EstateName { name, azure_type })).collect()
}

/// The conventional tag set.
pub fn tags(env: &str, owner: &str, cost_center: &str, purpose: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("owner".to_owned(), owner.to_owned()),
        ("environment".to_owned(), env.to_owned()),
        ("cost-center".to_owned(), cost_center.to_owned()),
        ("purpose".to_owned(), purpose.to_owned()),
    ])
}

/// Default tag values when the operator gives none.
pub const DEFAULT_OWNER: &str = "platform-team";
/// Default cost center.
pub const DEFAULT_COST_CENTER: &str = "trench";
/// Default purpose.
pub const DEFAULT_PURPOSE: &str = "hub-spoke-estate";

/// Checks a tag against Azure's limits (name ≤ 512 without `<>%&\?/`, value ≤ 256).
pub fn check_tag(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > 512 || key.chars().any(|c| "<>%&\\?/".contains(c)) {
        return Err(format!("tag name {key:?} must be 1-512 characters without any of < > % & \\ ? /"));
    }
    if value.chars().count() > 256 {
        return Err(format!("tag {key:?} has a value longer than 256 characters"));
    }
    Ok(())
}

/// Azure regions trench accepts (public, US Government, China), lowercase
/// as ARM spells them.
pub const LOCATIONS: &[&str] = &[
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "austriaeast",
    "belgiumcentral",
    "brazilsouth",
    "brazilsoutheast",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "chilecentral",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "indonesiacentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "jioindiacentral",
    "jioindiawest",
    "koreacentral",
    "koreasouth",
    "malaysiawest",
    "mexicocentral",
    "newzealandnorth",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "norwaywest",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southafricawest",
    "southcentralus",
    "southeastasia",
    "southindia",
    "spaincentral",
    "swedencentral",
    "swedensouth",
    "switzerlandnorth",
    "switzerlandwest",
    "uaecentral",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
    "usgovarizona",
    "usgovtexas",
    "usgovvirginia",
    "usdodcentral",
    "usdodeast",
    "chinaeast",
    "chinaeast2",
    "chinaeast3",
    "chinanorth",
    "chinanorth2",
    "chinanorth3",
];

/// Checks a location; the error suggests the closest known one.
pub fn check_location(loc: &str) -> Result<(), String> {
    if LOCATIONS.contains(&loc) {
        return Ok(());
    }
    let squashed: String = loc.to_ascii_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
    let hint = if LOCATIONS.contains(&squashed.as_str()) {
        format!(" Did you mean {squashed:?}? ARM spells locations in lowercase without spaces.")
    } else {
        String::new()
    };
    Err(format!("{loc:?} is not an Azure location trench knows.{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_pattern() {
        assert_eq!(name("core", "vnet", "dev").unwrap(), "trench-core-vnet-dev");
        assert_eq!(name("catalog-api", "id", "prod").unwrap(), "trench-catalog-api-id-prod");
    }

    #[test]
    fn compact_names_match_the_operators_example() {
        assert_eq!(compact_name("core", "acr", "dev").unwrap(), "trenchacrcoredev");
        assert_eq!(compact_name("core", "tfstate", "staging").unwrap(), "trenchtfstatecorestaging");
    }

    #[test]
    fn bad_tokens_blame_the_right_argument() {
        assert_eq!(name("Core", "vnet", "dev").unwrap_err().argument, 0);
        assert_eq!(name("core", "v_net", "dev").unwrap_err().argument, 1);
        assert_eq!(name("core", "vnet", "DEV").unwrap_err().argument, 2);
        assert_eq!(name("core", "vnet", "d").unwrap_err().argument, 2);
        let long = compact_name("core", "tfstatebackup", "staging").unwrap_err();
        assert!(long.message.contains("at most 24"), "{}", long.message);
    }

    #[test]
    fn every_dev_and_prod_name_fits_azure_rules() {
        for env in ["dev", "prod", "staging"] {
            for (key, n) in estate_names(env) {
                n.azure_type.check(&n.name).unwrap_or_else(|e| panic!("{key}: {e}"));
            }
        }
    }

    #[test]
    fn long_environments_break_the_global_names_first() {
        let names = estate_names("integration1");
        assert!(names["state_storage_account"].azure_type.check(&names["state_storage_account"].name).is_err());
        assert!(names["hub_vnet"].azure_type.check(&names["hub_vnet"].name).is_ok());
    }

    #[test]
    fn naming_rules_reject_what_azure_rejects() {
        use AzureType::*;
        let bad: &[(AzureType, &str)] = &[
            (KeyVault, "1vault"),
            (KeyVault, "my--vault"),
            (KeyVault, "this-key-vault-name-is-too-long"),
            (StorageAccount, "Trench"),
            (StorageAccount, "trench-state"),
            (ContainerRegistry, "acr"),
            (ContainerRegistry, "trench-acr"),
            (ServiceBusNamespace, "trench-sb"),
            (ServiceBusNamespace, "orders-mgmt"),
            (VirtualNetwork, "-vnet"),
            (VirtualNetwork, "v"),
            (ResourceGroup, "rg."),
            (PostgresServer, "Trench-pg"),
            (ManagedCluster, "aks-"),
        ];
        for (t, n) in bad {
            assert!(t.check(n).is_err(), "{t:?} {n}");
        }
    }

    #[test]
    fn locations_suggest_the_arm_spelling() {
        assert!(check_location("westeurope").is_ok());
        let e = check_location("West Europe").unwrap_err();
        assert!(e.contains("Did you mean \"westeurope\""), "{e}");
        assert!(check_location("atlantis").is_err());
    }

    #[test]
    fn tags_reject_forbidden_characters() {
        assert!(check_tag("cost-center", "trench").is_ok());
        assert!(check_tag("a/b", "x").is_err());
        assert!(check_tag("k", &"x".repeat(257)).is_err());
    }
}

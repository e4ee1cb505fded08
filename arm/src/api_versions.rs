//! One pinned, tested api-version per ARM resource type. The choices follow
//! the versions azurerm ships (battle-tested), except Key Vault, whose older
//! control-plane versions retire in February 2027, and types azurerm has no
//! current SDK for (latest stable). Changing one is a deliberate, tested act.

/// `(resource type, api-version)`; types compare case-insensitively.
pub const TABLE: &[(&str, &str)] = &[
    ("Microsoft.Resources/resourceGroups", "2023-07-01"),
    ("Microsoft.Resources/subscriptions", "2023-07-01"),
    ("Microsoft.Resources/providers", "2023-07-01"),
    ("Microsoft.Resources/resources", "2023-07-01"),
    ("Microsoft.Network/virtualNetworks", "2025-01-01"),
    ("Microsoft.Network/virtualNetworks/subnets", "2025-01-01"),
    ("Microsoft.Network/virtualNetworks/virtualNetworkPeerings", "2025-01-01"),
    ("Microsoft.Network/publicIPAddresses", "2025-01-01"),
    ("Microsoft.Network/azureFirewalls", "2025-01-01"),
    ("Microsoft.Network/firewallPolicies", "2025-01-01"),
    ("Microsoft.Network/firewallPolicies/ruleCollectionGroups", "2025-01-01"),
    ("Microsoft.Network/routeTables", "2025-01-01"),
    ("Microsoft.Network/networkSecurityGroups", "2025-01-01"),
    ("Microsoft.Network/networkInterfaces", "2025-01-01"),
    ("Microsoft.Network/privateEndpoints", "2025-01-01"),
    ("Microsoft.Network/privateEndpoints/privateDnsZoneGroups", "2025-01-01"),
    ("Microsoft.Network/privateDnsZones", "2024-06-01"),
    ("Microsoft.Network/privateDnsZones/virtualNetworkLinks", "2024-06-01"),
    ("Microsoft.Network/privateDnsZones/A", "2024-06-01"),
    ("Microsoft.ContainerRegistry/registries", "2025-11-01"),
    ("Microsoft.ContainerService/managedClusters", "2026-04-01"),
    ("Microsoft.ContainerService/managedClusters/agentPools", "2025-10-01"),
    ("Microsoft.Authorization/roleAssignments", "2022-04-01"),
    ("Microsoft.Authorization/roleDefinitions", "2022-04-01"),
    ("Microsoft.ManagedIdentity/userAssignedIdentities", "2024-11-30"),
    ("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", "2024-11-30"),
    ("Microsoft.KeyVault/vaults", "2026-02-01"),
    ("Microsoft.KeyVault/locations/deletedVaults", "2026-02-01"),
    ("Microsoft.DBforPostgreSQL/flexibleServers", "2025-08-01"),
    ("Microsoft.DBforPostgreSQL/flexibleServers/databases", "2025-08-01"),
    ("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules", "2025-08-01"),
    ("Microsoft.ServiceBus/namespaces", "2024-01-01"),
    ("Microsoft.ServiceBus/namespaces/queues", "2024-01-01"),
    ("Microsoft.ServiceBus/namespaces/networkRuleSets", "2024-01-01"),
    ("Microsoft.OperationalInsights/workspaces", "2025-07-01"),
    ("Microsoft.Insights/diagnosticSettings", "2021-05-01-preview"),
    ("Microsoft.Storage/storageAccounts", "2025-06-01"),
    ("Microsoft.Storage/storageAccounts/blobServices", "2025-06-01"),
    ("Microsoft.Storage/storageAccounts/blobServices/containers", "2025-06-01"),
    ("Microsoft.Compute/virtualMachines", "2024-03-01"),
    ("Microsoft.DocumentDB/databaseAccounts", "2026-03-15"),
];

/// The pinned api-version for a resource type.
pub fn for_type(resource_type: &str) -> Option<&'static str> {
    TABLE.iter().find(|(t, _)| t.eq_ignore_ascii_case(resource_type)).map(|(_, v)| *v)
}

/// The api-version for a resource provider namespace's own endpoints
/// (`/providers/{ns}` registration).
pub const PROVIDERS: &str = "2023-07-01";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case_and_every_type_is_pinned_once() {
        assert_eq!(for_type("microsoft.network/VIRTUALNETWORKS"), Some("2025-01-01"));
        assert_eq!(for_type("Microsoft.KeyVault/vaults"), Some("2026-02-01"));
        assert_eq!(for_type("Microsoft.Nope/things"), None);
        let mut seen = std::collections::HashSet::new();
        for (t, v) in TABLE {
            assert!(seen.insert(t.to_ascii_lowercase()), "{t} pinned twice");
            assert!(v.len() >= 10 && v.chars().nth(4) == Some('-'), "{t}: {v}");
        }
    }
}

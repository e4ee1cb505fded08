//! Built-in Azure role definitions trench assigns, and stable names for
//! role assignments (the same principal, role and scope always get the same
//! assignment name, so a re-apply finds the assignment instead of
//! colliding with RoleAssignmentExists).

/// Built-in roles by name → role definition GUID (these never change).
pub const BUILT_IN: &[(&str, &str)] = &[
    ("AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d"),
    ("AcrPush", "8311e382-0749-4cb8-b61a-304f252e45ec"),
    ("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6"),
    ("Key Vault Secrets Officer", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"),
    ("Key Vault Administrator", "00482a5a-887f-4fb3-b363-3b7fe8e74483"),
    ("Key Vault Crypto User", "12338af0-0e69-4776-bea7-57ae8d297424"),
    ("Azure Service Bus Data Sender", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"),
    ("Azure Service Bus Data Receiver", "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"),
    ("Azure Service Bus Data Owner", "090c5cfd-751d-490a-894a-3ce6f1109419"),
    ("Network Contributor", "4d97b98b-1d4f-4787-a291-c67834d212e7"),
    ("Private DNS Zone Contributor", "b12aa53e-6015-4669-85d0-8515ebb3ae7f"),
    ("Managed Identity Operator", "f1a07417-d97a-45cb-824c-7a7467783830"),
    ("Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb"),
    ("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"),
    ("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
    ("Azure Kubernetes Service RBAC Cluster Admin", "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"),
    ("Azure Kubernetes Service Cluster User Role", "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    ("User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"),
];

/// The role definition GUID for a built-in role name (case-insensitive) or
/// a GUID given directly.
pub fn role_guid(role: &str) -> Option<String> {
    if uuid::Uuid::try_parse(role).is_ok() && role.len() == 36 {
        return Some(role.to_ascii_lowercase());
    }
    BUILT_IN.iter().find(|(n, _)| n.eq_ignore_ascii_case(role)).map(|(_, g)| (*g).to_owned())
}

/// The built-in role name for a role definition GUID (case-insensitive), so
/// an imported assignment reads back the way operators write it.
pub fn role_name(guid: &str) -> Option<&'static str> {
    BUILT_IN.iter().find(|(_, g)| g.eq_ignore_ascii_case(guid)).map(|(n, _)| *n)
}

/// The full role definition id in a subscription.
pub fn role_definition_id(subscription: &str, role: &str) -> Option<String> {
    role_guid(role)
        .map(|g| trench_arm::ResourceId::subscription(subscription).extension("Microsoft.Authorization", "roleDefinitions", &g).to_string())
}

/// A stable assignment name (a UUID v5) for principal + role on a scope;
/// the scope compares case-insensitively, as ARM ids do.
pub fn assignment_name(scope: &str, principal: &str, role_guid: &str) -> String {
    let key = format!("{}|{}|{}", scope.to_ascii_lowercase(), principal.to_ascii_lowercase(), role_guid.to_ascii_lowercase());
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_guids_resolve_and_assignment_names_are_stable() {
        assert_eq!(role_guid("acrpull").as_deref(), Some("7f951dda-4ed3-4680-a7ca-43fe172d538d"));
        assert_eq!(role_guid("4633458B-17DE-408A-B874-0445C86B69E6").as_deref(), Some("4633458b-17de-408a-b874-0445c86b69e6"));
        assert_eq!(role_guid("Chief"), None);
        assert_eq!(role_name("4633458B-17DE-408A-B874-0445C86B69E6"), Some("Key Vault Secrets User"));
        assert_eq!(role_name("00000000-0000-0000-0000-000000000000"), None);
        let a = assignment_name("/subscriptions/X/resourceGroups/RG", "p", "g");
        assert_eq!(a, assignment_name("/subscriptions/x/resourcegroups/rg", "P", "G"));
        assert_ne!(a, assignment_name("/subscriptions/x/resourcegroups/rg", "q", "g"));
        assert_eq!(a.len(), 36);
        assert_eq!(
            role_definition_id("s1", "AcrPull").as_deref(),
            Some("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d")
        );
    }
}

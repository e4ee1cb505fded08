//! Typed Azure resource ids: parsed once, compared case-insensitively,
//! displayed the way an operator reads them
//! (`Subnet "aks-nodes" (Virtual Network "trench-aks-vnet-dev", Resource Group "rg-trench-aks-dev")`).

use std::fmt;
use std::hash::{Hash, Hasher};

/// An ARM resource id: subscription, resource group, a provider-namespaced
/// chain of `type/name` pairs, and for extension resources (role
/// assignments, diagnostic settings) the scope they hang off.
#[derive(Clone, Debug)]
pub struct ResourceId {
    /// Subscription id.
    pub subscription: String,
    /// Resource group, if the id is inside one.
    pub resource_group: Option<String>,
    /// Provider namespace (`Microsoft.Network`), if any.
    pub namespace: Option<String>,
    /// `(type, name)` pairs from the namespace down.
    pub segments: Vec<(String, String)>,
    /// The scope of an extension resource.
    pub scope: Option<Box<ResourceId>>,
}

/// Why a string is not a resource id.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{id:?} is not an Azure resource id: {reason}")]
pub struct IdError {
    id: String,
    reason: &'static str,
}

impl ResourceId {
    /// A subscription.
    pub fn subscription(sub: &str) -> ResourceId {
        ResourceId { subscription: sub.to_owned(), resource_group: None, namespace: None, segments: Vec::new(), scope: None }
    }

    /// A resource group.
    pub fn resource_group(sub: &str, rg: &str) -> ResourceId {
        ResourceId { resource_group: Some(rg.to_owned()), ..ResourceId::subscription(sub) }
    }

    /// A top-level resource in a resource group: `namespace/type/name`.
    pub fn resource(sub: &str, rg: &str, namespace: &str, ty: &str, name: &str) -> ResourceId {
        ResourceId {
            namespace: Some(namespace.to_owned()),
            segments: vec![(ty.to_owned(), name.to_owned())],
            ..ResourceId::resource_group(sub, rg)
        }
    }

    /// A child of this resource (`…/subnets/aks-nodes`).
    pub fn child(&self, ty: &str, name: &str) -> ResourceId {
        let mut c = self.clone();
        c.segments.push((ty.to_owned(), name.to_owned()));
        c
    }

    /// An extension resource on this scope (`…/providers/Microsoft.Authorization/roleAssignments/<guid>`).
    pub fn extension(&self, namespace: &str, ty: &str, name: &str) -> ResourceId {
        ResourceId {
            subscription: self.subscription.clone(),
            resource_group: None,
            namespace: Some(namespace.to_owned()),
            segments: vec![(ty.to_owned(), name.to_owned())],
            scope: Some(Box::new(self.clone())),
        }
    }

    /// The parent (one segment up, or the resource group, or the subscription).
    pub fn parent(&self) -> Option<ResourceId> {
        let mut p = self.clone();
        if p.segments.len() > 1 {
            p.segments.pop();
            return Some(p);
        }
        if !p.segments.is_empty() {
            if let Some(scope) = p.scope {
                return Some(*scope);
            }
            p.segments.clear();
            p.namespace = None;
            return Some(p);
        }
        if p.resource_group.is_some() {
            p.resource_group = None;
            return Some(p);
        }
        None
    }

    /// The last name (the resource's own name).
    pub fn name(&self) -> &str {
        self.segments.last().map(|(_, n)| n.as_str()).or(self.resource_group.as_deref()).unwrap_or(&self.subscription)
    }

    /// The full ARM type, e.g. `Microsoft.Network/virtualNetworks/subnets`.
    pub fn resource_type(&self) -> String {
        match &self.namespace {
            Some(ns) => {
                let mut t = ns.clone();
                for (ty, _) in &self.segments {
                    t.push('/');
                    t.push_str(ty);
                }
                t
            }
            None if self.resource_group.is_some() => "Microsoft.Resources/resourceGroups".to_owned(),
            None => "Microsoft.Resources/subscriptions".to_owned(),
        }
    }

    /// Parses an id (case-insensitive keywords, any casing of names kept).
    pub fn parse(s: &str) -> Result<ResourceId, IdError> {
        let err = |reason| IdError { id: s.to_owned(), reason };
        let trimmed = s.trim_end_matches('/');
        let parts: Vec<&str> = trimmed.split('/').collect();
        if parts.len() < 3 || !parts[0].is_empty() || !parts[1].eq_ignore_ascii_case("subscriptions") || parts[2].is_empty() {
            return Err(err("it must start with /subscriptions/<id>"));
        }
        if parts.iter().skip(1).any(|p| p.is_empty()) {
            return Err(err("it has an empty segment"));
        }
        let mut id = ResourceId::subscription(parts[2]);
        let mut i = 3;
        if i < parts.len() && parts[i].eq_ignore_ascii_case("resourceGroups") {
            let rg = parts.get(i + 1).ok_or_else(|| err("resourceGroups has no name"))?;
            id.resource_group = Some((*rg).to_owned());
            i += 2;
        }
        while i < parts.len() {
            if !parts[i].eq_ignore_ascii_case("providers") {
                return Err(err("expected /providers/<namespace> after the scope"));
            }
            let ns = parts.get(i + 1).ok_or_else(|| err("providers has no namespace"))?;
            i += 2;
            let rest = &parts[i..];
            // Up to the next "providers" keyword (an extension on this resource).
            let end = rest.iter().position(|p| p.eq_ignore_ascii_case("providers")).unwrap_or(rest.len());
            let pairs = &rest[..end];
            if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
                return Err(err("types and names must come in pairs"));
            }
            let segments: Vec<(String, String)> = pairs.chunks(2).map(|c| (c[0].to_owned(), c[1].to_owned())).collect();
            if id.namespace.is_some() {
                // This is an extension resource on `id`.
                id = ResourceId {
                    subscription: id.subscription.clone(),
                    resource_group: None,
                    namespace: Some((*ns).to_owned()),
                    segments,
                    scope: Some(Box::new(id)),
                };
            } else {
                id.namespace = Some((*ns).to_owned());
                id.segments = segments;
            }
            i += end;
        }
        Ok(id)
    }

    /// True if `self` is `other` or inside it.
    pub fn is_within(&self, other: &ResourceId) -> bool {
        let (a, b) = (self.to_string().to_ascii_lowercase(), other.to_string().to_ascii_lowercase());
        a == b || a.starts_with(&format!("{b}/"))
    }

    /// The readable form used in diagnostics.
    pub fn display(&self) -> String {
        let mut parts = Vec::new();
        let mut cur = Some(self);
        while let Some(id) = cur {
            let mut names: Vec<String> = Vec::new();
            for (ty, name) in id.segments.iter().rev() {
                names.push(format!("{} {name:?}", friendly_type(ty)));
            }
            if let Some(rg) = &id.resource_group {
                names.push(format!("Resource Group {rg:?}"));
            }
            if names.is_empty() {
                names.push(format!("Subscription {:?}", id.subscription));
            }
            parts.push(names);
            cur = id.scope.as_deref();
        }
        // "X (Parent, Resource Group)" and, for extensions, " on <scope display>"
        let mut out = String::new();
        for (i, names) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str(" on ");
            }
            out.push_str(&names[0]);
            if names.len() > 1 {
                out.push_str(&format!(" ({})", names[1..].join(", ")));
            }
        }
        out
    }
}

/// Singular, spaced names of the types trench touches.
fn friendly_type(ty: &str) -> String {
    let known = [
        ("virtualNetworks", "Virtual Network"),
        ("subnets", "Subnet"),
        ("virtualNetworkPeerings", "Virtual Network Peering"),
        ("publicIPAddresses", "Public IP Address"),
        ("azureFirewalls", "Firewall"),
        ("firewallPolicies", "Firewall Policy"),
        ("ruleCollectionGroups", "Rule Collection Group"),
        ("routeTables", "Route Table"),
        ("networkSecurityGroups", "Network Security Group"),
        ("networkInterfaces", "Network Interface"),
        ("privateEndpoints", "Private Endpoint"),
        ("privateDnsZoneGroups", "Private DNS Zone Group"),
        ("privateDnsZones", "Private DNS Zone"),
        ("virtualNetworkLinks", "Virtual Network Link"),
        ("A", "A Record"),
        ("registries", "Container Registry"),
        ("managedClusters", "Kubernetes Cluster"),
        ("agentPools", "Node Pool"),
        ("roleAssignments", "Role Assignment"),
        ("userAssignedIdentities", "User Assigned Identity"),
        ("federatedIdentityCredentials", "Federated Identity Credential"),
        ("vaults", "Key Vault"),
        ("deletedVaults", "Deleted Key Vault"),
        ("flexibleServers", "PostgreSQL Flexible Server"),
        ("databases", "Database"),
        ("firewallRules", "Firewall Rule"),
        ("namespaces", "Service Bus Namespace"),
        ("queues", "Queue"),
        ("networkRuleSets", "Network Rule Set"),
        ("workspaces", "Log Analytics Workspace"),
        ("diagnosticSettings", "Diagnostic Setting"),
        ("storageAccounts", "Storage Account"),
        ("blobServices", "Blob Service"),
        ("containers", "Container"),
        ("virtualMachines", "Virtual Machine"),
        ("databaseAccounts", "Cosmos DB Account"),
        ("locations", "Location"),
    ];
    known.iter().find(|(k, _)| k.eq_ignore_ascii_case(ty)).map(|(_, v)| (*v).to_owned()).unwrap_or_else(|| ty.to_owned())
}

impl fmt::Display for ResourceId {
    /// The canonical ARM path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Some(scope) => write!(f, "{scope}")?,
            None => {
                write!(f, "/subscriptions/{}", self.subscription)?;
                if let Some(rg) = &self.resource_group {
                    write!(f, "/resourceGroups/{rg}")?;
                }
            }
        }
        if let Some(ns) = &self.namespace {
            write!(f, "/providers/{ns}")?;
            for (t, n) in &self.segments {
                write!(f, "/{t}/{n}")?;
            }
        }
        Ok(())
    }
}

impl PartialEq for ResourceId {
    fn eq(&self, other: &Self) -> bool {
        self.to_string().eq_ignore_ascii_case(&other.to_string())
    }
}

impl Eq for ResourceId {}

/// Ordered like their lower-cased ARM paths, consistent with equality, so
/// ids can key sorted sets.
impl Ord for ResourceId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_string().to_ascii_lowercase().cmp(&other.to_string().to_ascii_lowercase())
    }
}

impl PartialOrd for ResourceId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for ResourceId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.to_string().to_ascii_lowercase().hash(state);
    }
}

/// Compares two id strings as ARM does (case-insensitively).
pub fn same_id(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-4000-8000-000000000002";

    #[test]
    fn parses_and_formats_nested_resources() {
        let s = format!(
            "/subscriptions/{SUB}/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev/subnets/aks-nodes"
        );
        let id = ResourceId::parse(&s).unwrap();
        assert_eq!(id.to_string(), s);
        assert_eq!(id.resource_type(), "Microsoft.Network/virtualNetworks/subnets");
        assert_eq!(id.name(), "aks-nodes");
        assert_eq!(id.display(), "Subnet \"aks-nodes\" (Virtual Network \"trench-aks-vnet-dev\", Resource Group \"rg-trench-aks-dev\")");
        assert_eq!(id.parent().unwrap().name(), "trench-aks-vnet-dev");
    }

    #[test]
    fn keywords_are_case_insensitive_and_equality_too() {
        let a =
            ResourceId::parse(&format!("/SUBSCRIPTIONS/{SUB}/resourcegroups/RG/PROVIDERS/microsoft.network/virtualnetworks/V")).unwrap();
        let b = ResourceId::resource(SUB, "rg", "Microsoft.Network", "virtualNetworks", "v");
        assert_eq!(a, b);
        assert!(same_id(&a.to_string(), &b.to_string()));
    }

    #[test]
    fn extension_resources_keep_their_scope() {
        let kv = ResourceId::resource(SUB, "rg-trench-core-dev", "Microsoft.KeyVault", "vaults", "trench-core-kv-dev");
        let ra = kv.extension("Microsoft.Authorization", "roleAssignments", "1b8c7e7e-0000-4000-8000-000000000001");
        let s = ra.to_string();
        assert!(s.ends_with(
            "/vaults/trench-core-kv-dev/providers/Microsoft.Authorization/roleAssignments/1b8c7e7e-0000-4000-8000-000000000001"
        ));
        let parsed = ResourceId::parse(&s).unwrap();
        assert_eq!(parsed, ra);
        assert_eq!(parsed.resource_type(), "Microsoft.Authorization/roleAssignments");
        assert_eq!(parsed.scope.as_deref(), Some(&kv));
        assert_eq!(
            parsed.display(),
            "Role Assignment \"1b8c7e7e-0000-4000-8000-000000000001\" on Key Vault \"trench-core-kv-dev\" (Resource Group \"rg-trench-core-dev\")"
        );
        // subscription-scope extension
        let sub_ra = ResourceId::parse(&format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/x")).unwrap();
        assert_eq!(sub_ra.resource_type(), "Microsoft.Authorization/roleAssignments");
        assert!(sub_ra.scope.is_none());
    }

    #[test]
    fn resource_groups_and_subscriptions() {
        let rg = ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg-x")).unwrap();
        assert_eq!(rg.resource_type(), "Microsoft.Resources/resourceGroups");
        assert_eq!(rg.display(), "Resource Group \"rg-x\"");
        assert_eq!(rg.parent().unwrap().resource_type(), "Microsoft.Resources/subscriptions");
        let deleted =
            ResourceId::parse(&format!("/subscriptions/{SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv")).unwrap();
        assert_eq!(deleted.resource_type(), "Microsoft.KeyVault/locations/deletedVaults");
    }

    #[test]
    fn malformed_ids_are_errors() {
        for bad in [
            "",
            "/",
            "subscriptions/x",
            "/subscriptions/",
            "/subscriptions/x/resourceGroups",
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks",
            "/subscriptions/x/resourceGroups/rg/virtualNetworks/v",
            "/subscriptions/x//resourceGroups/rg",
        ] {
            assert!(ResourceId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn within_is_prefix_aware() {
        let rg = ResourceId::resource_group(SUB, "rg");
        let v = ResourceId::resource(SUB, "rg", "Microsoft.Network", "virtualNetworks", "v");
        let rg2 = ResourceId::resource_group(SUB, "rg2");
        assert!(v.is_within(&rg));
        assert!(!v.is_within(&rg2));
    }
}

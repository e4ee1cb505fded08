//! The modelled data plane: questions an operator's checkpoints ask of the estate, answered from
//! armsim's ARM state, each answer with the chain of objects that decided it.
//!
//! - DNS (`/_sim/check/dns`): what a name resolves to from a VNet. Azure has no API for this, so it
//!   lives in the admin API. Private zones linked to the VNet answer first (longest zone wins; a
//!   linked zone without the record is NXDOMAIN, Azure DNS does not fall back to public DNS); the
//!   public names of services with a private endpoint are CNAMEs to their `privatelink.` name, as
//!   Azure's public DNS answers them, which without a linked zone lead to the public endpoint;
//!   anything else is a public name.
//! - Authorization (`/_sim/check/authz`): whether a principal may perform an action (or data
//!   action) at a scope, from role assignments at the scope or above and the built-in role
//!   definitions armsim serves.
//! - Egress (`/_sim/check/egress`, in `egress.rs`): whether a flow from a subnet leaves the estate.

use serde_json::{Value, json};

mod egress;
pub(crate) use egress::egress;

use crate::armpath::key_of;
use crate::error::ArmError;
use crate::state::State;
use crate::types::dns::{A_TYPE, LINK_TYPE};

/// Public DNS suffixes of the estate's services and the private zone Azure CNAMEs them to when
/// the resource has a private endpoint.
const PRIVATE_LINK_ZONES: &[(&str, &str)] = &[
    ("vault.azure.net", "privatelink.vaultcore.azure.net"),
    ("postgres.database.azure.com", "privatelink.postgres.database.azure.com"),
    ("azurecr.io", "privatelink.azurecr.io"),
    ("servicebus.windows.net", "privatelink.servicebus.windows.net"),
    ("blob.core.windows.net", "privatelink.blob.core.windows.net"),
    ("documents.azure.com", "privatelink.documents.azure.com"),
];

const PE_TYPE: &str = "Microsoft.Network/privateEndpoints";
const VNET_TYPE: &str = "Microsoft.Network/virtualNetworks";

fn step(what: &str, id: &str, detail: impl Into<String>) -> Value {
    json!({"step": what, "id": id, "detail": detail.into()})
}

/// Resolves `name` from the VNet `from`.
pub(crate) fn dns(st: &State, from: &str, name: &str) -> Result<Value, ArmError> {
    let vnet_key = key_of(from);
    if st.get(&vnet_key).filter(|v| v.is(VNET_TYPE)).is_none() {
        return Err(ArmError::not_found("ResourceNotFound", format!("The virtual network '{from}' was not found.")));
    }
    let mut chain = Vec::new();
    let answer = resolve(st, &vnet_key, &name.trim_end_matches('.').to_ascii_lowercase(), &mut chain, 0);
    Ok(json!({"from": from, "name": name, "answer": answer, "chain": chain}))
}

fn resolve(st: &State, vnet_key: &str, name: &str, chain: &mut Vec<Value>, depth: usize) -> Value {
    if depth > 8 {
        return json!({"kind": "servfail", "ips": []});
    }
    // Private zones linked to the VNet: the longest one containing the name.
    let zone = st
        .of_type(LINK_TYPE)
        .filter(|l| crate::types::ref_key(l.prop("virtualNetwork")).as_deref() == Some(vnet_key))
        .filter_map(|l| {
            let zone_id = l.id.rsplitn(3, '/').nth(2)?.to_string();
            let zone = crate::armpath::last_segment(&zone_id).to_ascii_lowercase();
            (name == zone || name.ends_with(&format!(".{zone}"))).then_some((zone, zone_id, l.id.clone()))
        })
        .max_by_key(|(zone, _, _)| zone.len());
    if let Some((zone, zone_id, link_id)) = zone {
        chain.push(step("virtual network link", &link_id, format!("links the VNet to {zone}")));
        let relative = if name == zone { "@".to_string() } else { name[..name.len() - zone.len() - 1].to_string() };
        let record = st.children(&key_of(&zone_id), A_TYPE).into_iter().find(|r| r.name().eq_ignore_ascii_case(&relative));
        return match record {
            Some(r) => {
                let ips: Vec<Value> =
                    crate::jpath::array(&r.body, "properties.aRecords").iter().filter_map(|a| a.get("ipv4Address").cloned()).collect();
                chain.push(step("A record", &r.id, format!("{relative} in {zone}")));
                json!({"kind": "private", "ips": ips})
            }
            None => {
                chain.push(step("private DNS zone", &zone_id, format!("has no record {relative}; a linked zone answers NXDOMAIN")));
                json!({"kind": "nxdomain", "ips": []})
            }
        };
    }
    // Public DNS: the privatelink CNAME of a service that has a private endpoint.
    for (suffix, pl_zone) in PRIVATE_LINK_ZONES {
        let Some(label) = name.strip_suffix(&format!(".{suffix}")).filter(|l| !l.contains('.')) else { continue };
        if let Some(pe) = private_endpoint_to(st, label, suffix) {
            let target = format!("{label}.{pl_zone}");
            chain.push(step("CNAME", &pe, format!("{name} → {target} (the resource has this private endpoint)")));
            return resolve(st, vnet_key, &target, chain, depth + 1);
        }
    }
    // Outside a linked zone a PaaS privatelink name goes on, in public DNS, to the service's public
    // endpoint (where its firewall decides); other privatelink names (AKS's) have no public record.
    for (suffix, pl_zone) in PRIVATE_LINK_ZONES {
        if let Some(label) = name.strip_suffix(&format!(".{pl_zone}")).filter(|l| !l.contains('.'))
            && let Some(pe) = private_endpoint_to(st, label, suffix)
        {
            chain.push(step(
                "public DNS",
                &pe,
                format!("no zone for {pl_zone} is linked to the VNet: the name resolves to the public endpoint"),
            ));
            return json!({"kind": "public", "ips": []});
        }
    }
    if name.contains(".privatelink.") || name.starts_with("privatelink.") {
        chain.push(step("public DNS", "", "no public record for this privatelink name"));
        return json!({"kind": "nxdomain", "ips": []});
    }
    chain.push(step("public DNS", "", "no private zone linked to the VNet holds the name; Azure-provided public resolution"));
    json!({"kind": "public", "ips": []})
}

/// A private endpoint connecting to a resource named `label` of the service behind `suffix`.
fn private_endpoint_to(st: &State, label: &str, suffix: &str) -> Option<String> {
    let provider = match suffix {
        "vault.azure.net" => "microsoft.keyvault/vaults/",
        "postgres.database.azure.com" => "microsoft.dbforpostgresql/flexibleservers/",
        "azurecr.io" => "microsoft.containerregistry/registries/",
        "servicebus.windows.net" => "microsoft.servicebus/namespaces/",
        "blob.core.windows.net" => "microsoft.storage/storageaccounts/",
        "documents.azure.com" => "microsoft.documentdb/databaseaccounts/",
        _ => return None,
    };
    let wanted = format!("/providers/{provider}{label}");
    st.of_type(PE_TYPE)
        .find(|pe| {
            crate::jpath::array(&pe.body, "properties.privateLinkServiceConnections")
                .iter()
                .any(|c| crate::jpath::get_str(c, "properties.privateLinkServiceId").is_some_and(|t| key_of(t).ends_with(&wanted)))
        })
        .map(|pe| pe.id.clone())
}

/// Whether `principal` may perform `action` (a data action if `data`) at `scope`.
pub(crate) fn authz(st: &State, principal: &str, action: &str, data: bool, scope: &str) -> Value {
    let scope_key = key_of(scope);
    let mut chain = Vec::new();
    let mut allowed = false;
    for ra in st.of_type(crate::types::authz::RA_TYPE) {
        if !ra.prop_str("principalId").is_some_and(|p| p.eq_ignore_ascii_case(principal)) {
            continue;
        }
        let at = key_of(ra.id.split("/providers/Microsoft.Authorization/").next().unwrap_or_default());
        let at = if at.is_empty() { "/".to_string() } else { at };
        let inherits = scope_key == at || scope_key.starts_with(&format!("{}/", at.trim_end_matches('/')));
        if !inherits {
            continue;
        }
        let role_guid = crate::armpath::last_segment(ra.prop_str("roleDefinitionId").unwrap_or_default()).to_ascii_lowercase();
        let Some(role) = crate::types::authz::BUILT_IN_ROLES.iter().find(|r| r.0 == role_guid) else { continue };
        let (grants, denies) = if data { (role.4, &[][..]) } else { (role.3, crate::types::authz::not_actions(role.0)) };
        let granted = grants.iter().find(|p| wildcard(p, action));
        let denied = denies.iter().find(|p| wildcard(p, action));
        match (granted, denied) {
            (Some(g), None) => {
                allowed = true;
                chain.push(step("role assignment", &ra.id, format!("{} grants {g}", role.1)));
            }
            (Some(_), Some(d)) => chain.push(step("role assignment", &ra.id, format!("{} excludes {d} (notActions)", role.1))),
            _ => chain.push(step("role assignment", &ra.id, format!("{} does not grant {action}", role.1))),
        }
    }
    if chain.is_empty() {
        chain.push(step("role assignments", "", format!("none for {principal} at {scope} or above")));
    }
    json!({"principal": principal, "action": action, "data_action": data, "scope": scope, "allowed": allowed, "chain": chain})
}

/// Azure RBAC's action pattern: `*` matches any run of characters, case-insensitively.
fn wildcard(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == a;
    }
    let mut rest = a.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else { return false };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn rbac_wildcards_match_any_run_of_characters_case_insensitively() {
        assert!(wildcard("*", "Microsoft.Network/routeTables/write"));
        assert!(wildcard("Microsoft.Network/*", "microsoft.network/virtualNetworks/subnets/join/action"));
        assert!(wildcard("*/read", "Microsoft.KeyVault/vaults/read"));
        assert!(wildcard("Microsoft.ServiceBus/*/send/action", "Microsoft.ServiceBus/namespaces/queues/send/action"));
        assert!(!wildcard("Microsoft.ServiceBus/*/send/action", "Microsoft.ServiceBus/namespaces/queues/receive/action"));
        assert!(!wildcard("*/read", "Microsoft.Network/routeTables/write"));
        assert!(!wildcard("Microsoft.ContainerRegistry/registries/pull/read", "Microsoft.ContainerRegistry/registries/push/write"));
    }
}

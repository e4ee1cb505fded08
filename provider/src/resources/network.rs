//! ARM JSON for virtual networks shared by the hub and spokes: building a
//! VNet PUT body from the existing object (ARM's PUT replaces embedded
//! subnets and peerings, so everything we do not own must be carried over),
//! peering bodies, and reading subnets back.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

/// What a composite wants of one subnet.
#[derive(Clone, Debug, PartialEq)]
pub struct SubnetSpec {
    /// Address prefix.
    pub prefix: String,
    /// Route table to associate, if any.
    pub route_table: Option<String>,
    /// Network security group to associate, if any.
    pub nsg: Option<String>,
}

/// A VNet PUT body: `existing` (from GET) with address space, tags and the
/// subnets replaced by `subnets`; peerings and the properties of subnets we
/// keep are carried over.
pub fn vnet_body(
    existing: Option<&Json>,
    location: &str,
    tags: &BTreeMap<String, String>,
    space: &[String],
    subnets: &BTreeMap<String, SubnetSpec>,
) -> Json {
    let old_subnets: Vec<Json> =
        existing.and_then(|e| e.pointer("/properties/subnets")).and_then(Json::as_array).cloned().unwrap_or_default();
    let peerings = existing.and_then(|e| e.pointer("/properties/virtualNetworkPeerings")).cloned().unwrap_or_else(|| json!([]));
    let subnets: Vec<Json> = subnets
        .iter()
        .map(|(name, s)| {
            let mut props = old_subnets
                .iter()
                .find(|o| o.get("name").and_then(Json::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name)))
                .and_then(|o| o.get("properties").cloned())
                .map(writable_subnet_properties)
                .unwrap_or_else(|| json!({}));
            props["addressPrefix"] = json!(s.prefix);
            match &s.route_table {
                Some(id) => props["routeTable"] = json!({ "id": id }),
                None => {
                    props.as_object_mut().map(|m| m.remove("routeTable"));
                }
            }
            match &s.nsg {
                Some(id) => props["networkSecurityGroup"] = json!({ "id": id }),
                None => {
                    props.as_object_mut().map(|m| m.remove("networkSecurityGroup"));
                }
            }
            json!({ "name": name, "properties": props })
        })
        .collect();
    json!({
        "location": location,
        "tags": tags,
        "properties": {
            "addressSpace": { "addressPrefixes": space },
            "subnets": subnets,
            "virtualNetworkPeerings": strip_peerings(peerings),
        }
    })
}

/// Subnet properties without ARM's read-only fields.
fn writable_subnet_properties(mut p: Json) -> Json {
    if let Some(m) = p.as_object_mut() {
        for k in [
            "provisioningState",
            "ipConfigurations",
            "privateEndpoints",
            "purpose",
            "serviceAssociationLinks",
            "resourceNavigationLinks",
            "ipConfigurationProfiles",
            "addressPrefixes",
        ] {
            m.remove(k);
        }
    }
    p
}

/// Peerings as they go back into a VNet PUT (read-only fields dropped).
fn strip_peerings(mut p: Json) -> Json {
    if let Some(arr) = p.as_array_mut() {
        for peer in arr {
            if let Some(props) = peer.get_mut("properties").and_then(Json::as_object_mut) {
                for k in [
                    "provisioningState",
                    "peeringState",
                    "peeringSyncLevel",
                    "resourceGuid",
                    "remoteAddressSpace",
                    "remoteVirtualNetworkAddressSpace",
                    "remoteBgpCommunities",
                    "remoteVirtualNetworkEncryption",
                ] {
                    props.remove(k);
                }
            }
            if let Some(m) = peer.as_object_mut() {
                m.remove("etag");
                m.remove("type");
            }
        }
    }
    p
}

/// A peering PUT body: both directions allow VNet access and forwarded
/// traffic (the hub firewall forwards the spoke's egress).
pub fn peering_body(remote_vnet_id: &str) -> Json {
    json!({
        "properties": {
            "remoteVirtualNetwork": { "id": remote_vnet_id },
            "allowVirtualNetworkAccess": true,
            "allowForwardedTraffic": true,
            "allowGatewayTransit": false,
            "useRemoteGateways": false
        }
    })
}

/// The subnets of a VNet GET body as name → (prefix, route table id, NSG id).
pub fn read_subnets(vnet: &Json) -> BTreeMap<String, SubnetSpec> {
    vnet.pointer("/properties/subnets")
        .and_then(Json::as_array)
        .map(|subs| {
            subs.iter()
                .filter_map(|s| {
                    let name = s.get("name")?.as_str()?.to_owned();
                    let p = s.get("properties")?;
                    let prefix = p
                        .get("addressPrefix")
                        .and_then(Json::as_str)
                        .or_else(|| p.pointer("/addressPrefixes/0").and_then(Json::as_str))
                        .unwrap_or("")
                        .to_owned();
                    let route_table = p.pointer("/routeTable/id").and_then(Json::as_str).map(str::to_owned);
                    let nsg = p.pointer("/networkSecurityGroup/id").and_then(Json::as_str).map(str::to_owned);
                    Some((name, SubnetSpec { prefix, route_table, nsg }))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The address prefixes of a VNet GET body.
pub fn read_space(vnet: &Json) -> Vec<String> {
    vnet.pointer("/properties/addressSpace/addressPrefixes")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The tags of an ARM body.
pub fn read_tags(body: &Json) -> BTreeMap<String, String> {
    body.get("tags")
        .and_then(Json::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

/// A drift line if `actual` tags differ from `want`.
pub fn tag_drift(what: &str, actual: &Json, want: &BTreeMap<String, String>) -> Option<String> {
    let have = read_tags(actual);
    if &have == want {
        return None;
    }
    let mut diffs = Vec::new();
    for (k, v) in want {
        match have.get(k) {
            None => diffs.push(format!("{k} missing")),
            Some(h) if h != v => diffs.push(format!("{k}={h:?} (want {v:?})")),
            _ => {}
        }
    }
    for k in have.keys().filter(|k| !want.contains_key(*k)) {
        diffs.push(format!("{k} not in configuration"));
    }
    Some(format!("{what}: tags differ: {}", diffs.join(", ")))
}

/// Case-insensitive id equality for optional ids.
pub fn same(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => trench_arm::id::same_id(a, b),
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vnet_put_keeps_peerings_and_unmanaged_subnet_properties() {
        let existing = json!({
            "properties": {
                "subnets": [
                    {"name": "aks-nodes", "properties": {"addressPrefix": "10.1.0.0/22", "serviceEndpoints": [{"service": "Microsoft.KeyVault"}], "ipConfigurations": [{"id": "x"}], "provisioningState": "Succeeded"}},
                    {"name": "rogue", "properties": {"addressPrefix": "10.1.9.0/24"}}
                ],
                "virtualNetworkPeerings": [{"name": "p", "etag": "e", "properties": {"remoteVirtualNetwork": {"id": "/r"}, "peeringState": "Connected", "allowForwardedTraffic": true}}]
            }
        });
        let subnets = BTreeMap::from([
            ("aks-nodes".to_owned(), SubnetSpec { prefix: "10.1.0.0/22".into(), route_table: Some("/rt".into()), nsg: None }),
            ("private-endpoints".to_owned(), SubnetSpec { prefix: "10.1.4.0/24".into(), route_table: None, nsg: None }),
        ]);
        let body = vnet_body(Some(&existing), "westeurope", &BTreeMap::new(), &["10.1.0.0/16".into()], &subnets);
        insta::assert_json_snapshot!(body);
    }

    #[test]
    fn tag_drift_names_each_difference() {
        let want = BTreeMap::from([("owner".to_owned(), "a".to_owned()), ("environment".to_owned(), "dev".to_owned())]);
        let actual = json!({"tags": {"owner": "b", "extra": "x"}});
        assert_eq!(
            tag_drift("Virtual Network \"v\"", &actual, &want).unwrap(),
            "Virtual Network \"v\": tags differ: environment missing, owner=\"b\" (want \"a\"), extra not in configuration"
        );
        assert_eq!(tag_drift("x", &json!({"tags": {"owner": "a", "environment": "dev"}}), &want), None);
    }
}

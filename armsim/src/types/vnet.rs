//! Virtual networks, subnets and peerings. Subnets and peerings are stored as children and embedded
//! in the VNet body when rendered, so both views stay consistent; a VNet PUT is authoritative for them.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::{NETWORK_NAME, name_rule, ref_key, sub_resource, versions};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::ipam;
use crate::jpath;
use crate::spec::{BASE, DeleteStyle, Effect, Hooks, Loc, Lock, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{Resource, State};

pub(crate) const VNET_TYPE: &str = "Microsoft.Network/virtualNetworks";
pub(crate) const SUBNET_TYPE: &str = "Microsoft.Network/virtualNetworks/subnets";
pub(crate) const PEERING_TYPE: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings";

/// Defaults shared by Network RP types: 201 + Azure-AsyncOperation, 202 deletes, etags, VNet-style conflicts.
pub(crate) const NET: Spec = Spec {
    api_versions: versions::NETWORK,
    name: Some(&NETWORK_NAME),
    create: PutStyle::AsyncOp { status: 201, also_location: false },
    update: PutStyle::AsyncOp { status: 200, also_location: false },
    delete: DeleteStyle::Accepted { async_header: true, done: 204 },
    conflict_code: "AnotherOperationInProgress",
    etag: true,
    ..BASE
};

static VNET_NAME: NameRule = name_rule!(
    2,
    64,
    r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$",
    "InvalidResourceName",
    "The name must be 2-64 characters, begin with a letter or number, end with a letter, number or underscore, and may contain only letters, numbers, underscores, periods, or hyphens."
);

pub(crate) static VNET: Spec = Spec {
    type_name: VNET_TYPE,
    name: Some(&VNET_NAME),
    durations: secs(5.0, 5.0, 10.0),
    readonly: &["properties.resourceGuid", "properties.flowLogs", "properties.defaultPublicNatGateway"],
    hooks: &VnetHooks,
    ..NET
};

pub(crate) static SUBNET: Spec = Spec {
    type_name: SUBNET_TYPE,
    loc: Loc::None,
    lock: Lock::Parent,
    durations: secs(5.0, 5.0, 5.0),
    readonly: SUBNET_READONLY,
    hooks: &SubnetHooks,
    ..NET
};

pub(crate) static PEERING: Spec = Spec {
    type_name: PEERING_TYPE,
    loc: Loc::None,
    lock: Lock::Parent,
    durations: secs(10.0, 10.0, 10.0),
    readonly: PEERING_READONLY,
    hooks: &PeeringHooks,
    ..NET
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&VNET, &SUBNET, &PEERING]
}

const SUBNET_READONLY: &[&str] = &[
    "properties.ipConfigurations",
    "properties.privateEndpoints",
    "properties.serviceAssociationLinks",
    "properties.resourceNavigationLinks",
    "properties.purpose",
    "properties.ipConfigurationProfiles",
];

const PEERING_READONLY: &[&str] = &[
    "properties.peeringState",
    "properties.peeringSyncLevel",
    "properties.remoteAddressSpace",
    "properties.remoteVirtualNetworkAddressSpace",
    "properties.remoteBgpCommunities",
    "properties.remoteVirtualNetworkEncryption",
    "properties.resourceGuid",
    "properties.localAddressSpace",
    "properties.localVirtualNetworkAddressSpace",
];

/// VNet address prefixes from a body.
pub(crate) fn vnet_prefixes(body: &Value, owner: &str) -> Result<Vec<Ipv4Net>, ArmError> {
    jpath::array(body, "properties.addressSpace.addressPrefixes").iter().map(|p| ipam::prefix(p.as_str().unwrap_or(""), owner)).collect()
}

/// A subnet's prefixes (`addressPrefix` or `addressPrefixes`).
pub(crate) fn subnet_prefixes(props: &Value, owner: &str) -> Result<Vec<Ipv4Net>, ArmError> {
    let mut out = Vec::new();
    if let Some(p) = props.get("addressPrefix").and_then(Value::as_str) {
        out.push(ipam::prefix(p, owner)?);
    }
    for p in props.get("addressPrefixes").and_then(Value::as_array).into_iter().flatten() {
        let n = ipam::prefix(p.as_str().unwrap_or(""), owner)?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

/// The first prefix of a stored subnet.
pub(crate) fn subnet_net(subnet: &Resource) -> Option<Ipv4Net> {
    subnet_prefixes(subnet.body.get("properties").unwrap_or(&Value::Null), &subnet.id).ok()?.into_iter().next()
}

fn check_refs_exist(st: &State, props: &Value, owner: &str) -> Result<(), ArmError> {
    for field in ["routeTable", "networkSecurityGroup", "natGateway"] {
        if let Some(id) = props.get(field).and_then(|v| v.get("id")).and_then(Value::as_str)
            && field != "natGateway"
            && st.get(&crate::armpath::key_of(id)).is_none()
        {
            return Err(invalid_reference(id, owner));
        }
    }
    Ok(())
}

pub(crate) fn invalid_reference(id: &str, owner: &str) -> ArmError {
    ArmError::bad_request(
        "InvalidResourceReference",
        format!(
            "Resource {id} referenced by resource {owner} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region."
        ),
    )
}

/// Validates one subnet against its VNet and siblings; returns its prefixes.
#[allow(clippy::too_many_arguments)]
fn check_subnet(
    st: &State,
    vnet_name: &str,
    vnet_nets: &[Ipv4Net],
    name: &str,
    props: &Value,
    siblings: &[(String, Vec<Ipv4Net>)],
    owner: &str,
) -> Result<Vec<Ipv4Net>, ArmError> {
    NETWORK_NAME.check(name, "subnet")?;
    let nets = subnet_prefixes(props, owner)?;
    if nets.is_empty() {
        return Err(ArmError::bad_request(
            "NetcfgInvalidSubnet",
            format!("Subnet '{name}' is not valid in virtual network '{vnet_name}': it has no addressPrefix."),
        ));
    }
    for n in &nets {
        if n.prefix_len() > 29 {
            return Err(ArmError::bad_request(
                "NetcfgInvalidSubnet",
                format!(
                    "Subnet '{name}' is not valid in virtual network '{vnet_name}'. The prefix {n} is smaller than the smallest allowed subnet (/29)."
                ),
            ));
        }
        if !vnet_nets.iter().any(|v| v.contains(n)) {
            return Err(ArmError::bad_request(
                "NetcfgSubnetRangeOutsideVnet",
                format!(
                    "Subnet '{name}' is not valid because its IP address range is outside the IP address range of virtual network '{vnet_name}'."
                ),
            ));
        }
        for (other, onets) in siblings {
            if other.eq_ignore_ascii_case(name) {
                continue;
            }
            if onets.iter().any(|o| ipam::overlaps(o, n)) {
                return Err(ArmError::bad_request(
                    "NetcfgSubnetRangesOverlap",
                    format!(
                        "Subnet '{name}' is not valid in virtual network '{vnet_name}' because its IP address range overlaps with that of an existing subnet '{other}'."
                    ),
                ));
            }
        }
        let firewall = name.eq_ignore_ascii_case("AzureFirewallSubnet") || name.eq_ignore_ascii_case("AzureFirewallManagementSubnet");
        if firewall && n.prefix_len() > 26 {
            return Err(ArmError::bad_request(
                "AzureFirewallSubnetSizeTooSmall",
                format!("Subnet '{name}' must be /26 or larger for Azure Firewall; {n} is too small."),
            ));
        }
    }
    check_refs_exist(st, props, owner)?;
    for d in props.get("delegations").and_then(Value::as_array).into_iter().flatten() {
        if d.get("name").and_then(Value::as_str).is_none() || jpath::get_str(d, "properties.serviceName").is_none() {
            return Err(ArmError::bad_request(
                "InvalidRequestFormat",
                format!("Delegation in subnet '{name}' needs a name and properties.serviceName."),
            ));
        }
    }
    Ok(nets)
}

fn subnet_defaults(props: &mut Value) {
    jpath::default(props, "privateEndpointNetworkPolicies", json!("Disabled"));
    jpath::default(props, "privateLinkServiceNetworkPolicies", json!("Enabled"));
    jpath::default(props, "delegations", json!([]));
}

/// Who uses a subnet (NIC and firewall IP configurations, agent pools, delegated servers).
pub(crate) fn subnet_users(st: &State, subnet_key: &str) -> Vec<String> {
    let mut users = Vec::new();
    for r in st.referrers(subnet_key) {
        let ipconfigs = |seg: &str| -> Vec<String> {
            jpath::array(&r.body, "properties.ipConfigurations")
                .iter()
                .filter(|c| ref_key(jpath::get(c, "properties.subnet")).as_deref() == Some(subnet_key))
                .map(|c| format!("{}/{seg}/{}", r.id, c.get("name").and_then(Value::as_str).unwrap_or("ipconfig")))
                .collect()
        };
        if r.is(super::netmisc::NIC_TYPE) {
            users.extend(ipconfigs("ipConfigurations"));
        } else if r.is(super::firewall::FIREWALL_TYPE) {
            users.extend(ipconfigs("azureFirewallIpConfigurations"));
        } else if r.is(super::aks::POOL_TYPE) || r.is(super::postgres::SERVER_TYPE) {
            users.push(r.id.clone());
        }
    }
    users
}

fn in_use_error(subnet_name: &str, users: &[String]) -> ArmError {
    ArmError::bad_request(
        "InUseSubnetCannotBeDeleted",
        format!(
            "Subnet {subnet_name} is in use by {} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
            users.join(", ")
        ),
    )
}

// ---------------------------------------------------------------- VNet

struct VnetHooks;

impl Hooks for VnetHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let owner = cx.id.clone();
        let nets = vnet_prefixes(&cx.body, &owner)?;
        if nets.is_empty() {
            return Err(ArmError::bad_request(
                "InvalidRequestFormat",
                "The virtual network needs properties.addressSpace.addressPrefixes.",
            ));
        }
        cx.keep("properties.resourceGuid", |c| json!(c.guid("resourceGuid")));
        jpath::default(&mut cx.body, "properties.enableDdosProtection", json!(false));
        jpath::default(&mut cx.body, "properties.dhcpOptions", json!({"dnsServers": []}));
        jpath::default(&mut cx.body, "properties.privateEndpointVNetPolicies", json!("Disabled"));
        let vnet_name = cx.name.clone();

        // Subnets: the body is authoritative, and an absent list means "no subnets".
        let desired: Vec<Value> =
            jpath::remove(&mut cx.body, "properties.subnets").into_iter().next().and_then(|v| v.as_array().cloned()).unwrap_or_default();
        let mut seen: Vec<(String, Vec<Ipv4Net>)> = Vec::new();
        let mut planned = Vec::new();
        for s in &desired {
            let name = s.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let mut props = s.get("properties").cloned().unwrap_or(json!({}));
            for p in SUBNET_READONLY {
                jpath::remove(&mut props, p.trim_start_matches("properties."));
            }
            if let Some(o) = props.as_object_mut() {
                o.remove("provisioningState");
            }
            let sid = format!("{}/subnets/{name}", cx.id);
            let nets = check_subnet(cx.st, &vnet_name, &nets, &name, &props, &seen, &sid)?;
            if seen.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                return Err(ArmError::bad_request(
                    "DuplicateResourceName",
                    format!("Subnet name '{name}' appears more than once in {owner}."),
                ));
            }
            seen.push((name.clone(), nets));
            subnet_defaults(&mut props);
            planned.push((name, sid, props));
        }
        // Subnets in use keep their range: changing a used subnet's prefix is refused.
        for existing in cx.st.children(&cx.key, SUBNET_TYPE) {
            let keep = planned.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(existing.name()));
            let users = subnet_users(cx.st, &existing.key());
            match keep {
                None if !users.is_empty() => return Err(in_use_error(existing.name(), &users)),
                None => cx.remove(existing.key()),
                Some((_, _, props)) => {
                    if !users.is_empty() && subnet_net(existing) != subnet_prefixes(props, &existing.id)?.into_iter().next() {
                        return Err(ArmError::bad_request(
                            "InUseSubnetCannotBeUpdated",
                            format!(
                                "Subnet {} is in use by {} and its address prefix cannot be changed.",
                                existing.name(),
                                users.join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        for (name, sid, props) in planned {
            let id = cx
                .st
                .children(&cx.key, SUBNET_TYPE)
                .into_iter()
                .find(|s| s.name().eq_ignore_ascii_case(&name))
                .map(|s| s.id.clone())
                .unwrap_or(sid);
            cx.covers.push(crate::armpath::key_of(&id));
            cx.upsert(SUBNET_TYPE, id, json!({"properties": props}));
        }

        // Peerings: same full-replace semantics.
        let desired: Vec<Value> = jpath::remove(&mut cx.body, "properties.virtualNetworkPeerings")
            .into_iter()
            .next()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        let mut names = BTreeSet::new();
        for p in &desired {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            NETWORK_NAME.check(&name, "virtual network peering")?;
            names.insert(name.to_ascii_lowercase());
            let pid = cx
                .st
                .children(&cx.key, PEERING_TYPE)
                .into_iter()
                .find(|x| x.name().eq_ignore_ascii_case(&name))
                .map(|x| x.id.clone())
                .unwrap_or(format!("{}/virtualNetworkPeerings/{name}", cx.id));
            let mut body = json!({"properties": p.get("properties").cloned().unwrap_or(json!({}))});
            for ro in PEERING_READONLY {
                jpath::remove(&mut body, ro);
            }
            if let Some(o) = body["properties"].as_object_mut() {
                o.remove("provisioningState");
            }
            let pkey = crate::armpath::key_of(&pid);
            let existing = cx.st.get(&pkey);
            let body = plan_peering(cx, &pid, existing, body, &nets, false)?;
            cx.covers.push(pkey);
            cx.upsert(PEERING_TYPE, pid, body);
        }
        for existing in cx.st.children(&cx.key, PEERING_TYPE) {
            if !names.contains(&existing.name().to_ascii_lowercase()) {
                cx.remove(existing.key());
            }
        }
        Ok(())
    }

    fn render(&self, st: &State, cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let subnets: Vec<Value> = st.children(&res.key(), SUBNET_TYPE).into_iter().map(|s| crate::engine::render(st, cfg, s)).collect();
        let peerings: Vec<Value> = st.children(&res.key(), PEERING_TYPE).into_iter().map(|s| crate::engine::render(st, cfg, s)).collect();
        body["properties"]["subnets"] = json!(subnets);
        body["properties"]["virtualNetworkPeerings"] = json!(peerings);
    }

    fn on_delete(&self, st: &State, _cfg: &SimConfig, _now: i64, res: &Resource) -> Vec<Effect> {
        // Private DNS links to a deleted network are cleared (Azure's Private DNS FAQ).
        let key = res.key();
        st.referrers(&key)
            .into_iter()
            .filter(|r| r.is(super::dns::LINK_TYPE) && ref_key(r.prop("virtualNetwork")).as_deref() == Some(key.as_str()))
            .map(|l| Effect::Remove { key: l.key() })
            .collect()
    }

    fn check_delete(&self, st: &State, res: &Resource) -> Result<(), ArmError> {
        for s in st.children(&res.key(), SUBNET_TYPE) {
            let users = subnet_users(st, &s.key());
            if !users.is_empty() {
                return Err(in_use_error(s.name(), &users));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- subnets

struct SubnetHooks;

impl Hooks for SubnetHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let vnet = cx.parent.expect("subnets have a VNet");
        let vnet_nets = vnet_prefixes(&vnet.body, &vnet.id)?;
        let siblings: Vec<(String, Vec<Ipv4Net>)> = cx
            .st
            .children(&vnet.key(), SUBNET_TYPE)
            .into_iter()
            .filter(|s| s.key() != cx.key)
            .map(|s| (s.name().to_string(), subnet_prefixes(s.body.get("properties").unwrap_or(&Value::Null), &s.id).unwrap_or_default()))
            .collect();
        let mut props = cx.body.get("properties").cloned().unwrap_or(json!({}));
        let nets = check_subnet(cx.st, vnet.name(), &vnet_nets, &cx.name, &props, &siblings, &cx.id)?;
        if let Some(e) = cx.existing {
            let users = subnet_users(cx.st, &cx.key);
            if !users.is_empty() && subnet_net(e) != nets.first().copied() {
                return Err(ArmError::bad_request(
                    "InUseSubnetCannotBeUpdated",
                    format!("Subnet {} is in use by {} and its address prefix cannot be changed.", cx.name, users.join(", ")),
                ));
            }
        }
        subnet_defaults(&mut props);
        cx.body = json!({"properties": props});
        Ok(())
    }

    fn render(&self, st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let key = res.key();
        let mut ipconfigs = Vec::new();
        let mut pes = Vec::new();
        let mut links = Vec::new();
        for r in st.referrers(&key) {
            if r.is(super::netmisc::NIC_TYPE) || r.is(super::firewall::FIREWALL_TYPE) {
                let seg = if r.is(super::firewall::FIREWALL_TYPE) { "azureFirewallIpConfigurations" } else { "ipConfigurations" };
                for c in jpath::array(&r.body, "properties.ipConfigurations") {
                    if ref_key(jpath::get(c, "properties.subnet")).as_deref() == Some(key.as_str()) {
                        ipconfigs.push(sub_resource(&format!("{}/{seg}/{}", r.id, c.get("name").and_then(Value::as_str).unwrap_or(""))));
                    }
                }
            } else if r.is(super::privatelink::PE_TYPE) {
                pes.push(sub_resource(&r.id));
            } else if r.is(super::postgres::SERVER_TYPE) {
                links.push(json!({
                    "name": format!("{}-sal", r.name()),
                    "id": format!("{}/serviceAssociationLinks/{}-sal", res.id, r.name()),
                    "type": "Microsoft.Network/virtualNetworks/subnets/serviceAssociationLinks",
                    "properties": {"linkedResourceType": super::postgres::SERVER_TYPE, "link": r.id, "provisioningState": "Succeeded"}
                }));
            }
        }
        let props = &mut body["properties"];
        if !ipconfigs.is_empty() {
            props["ipConfigurations"] = json!(ipconfigs);
        }
        if !pes.is_empty() {
            props["privateEndpoints"] = json!(pes);
        }
        if !links.is_empty() {
            props["serviceAssociationLinks"] = json!(links);
        }
        if let Some(ds) = props.get_mut("delegations").and_then(Value::as_array_mut) {
            for d in ds {
                let name = d.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                d["id"] = json!(format!("{}/delegations/{name}", res.id));
                d["type"] = json!("Microsoft.Network/virtualNetworks/subnets/delegations");
                d["etag"] = json!(format!("W/\"{}\"", res.etag));
                d["properties"]["provisioningState"] = json!("Succeeded");
                jpath::default(d, "properties.actions", json!(["Microsoft.Network/virtualNetworks/subnets/join/action"]));
            }
        }
    }

    fn check_delete(&self, st: &State, res: &Resource) -> Result<(), ArmError> {
        let users = subnet_users(st, &res.key());
        if users.is_empty() { Ok(()) } else { Err(in_use_error(res.name(), &users)) }
    }
}

// ---------------------------------------------------------------- peerings

fn vnet_of_peering_id(id: &str) -> String {
    let k = crate::armpath::key_of(id);
    k.rsplitn(3, '/').nth(2).unwrap_or("").to_string()
}

/// Validates a peering body and computes its state; plans the remote side's transition.
fn plan_peering(
    cx: &mut PutCx<'_>,
    id: &str,
    existing: Option<&Resource>,
    mut body: Value,
    local_nets: &[Ipv4Net],
    direct: bool,
) -> Result<Value, ArmError> {
    let local_key = vnet_of_peering_id(id);
    let Some(remote_id) = jpath::get_str(&body, "properties.remoteVirtualNetwork.id").map(str::to_string) else {
        return Err(ArmError::bad_request("InvalidRequestFormat", format!("Peering {id} needs properties.remoteVirtualNetwork.id.")));
    };
    let remote_key = crate::armpath::key_of(&remote_id);
    if remote_key == local_key {
        return Err(ArmError::bad_request(
            "CannotPeerVirtualNetworkWithItself",
            format!("Peering {id} points at its own virtual network."),
        ));
    }
    let Some(remote) = cx.st.get(&remote_key).filter(|r| r.is(VNET_TYPE)) else {
        return Err(invalid_reference(&remote_id, id));
    };
    let remote_nets = vnet_prefixes(&remote.body, &remote.id)?;
    let overlap: Vec<String> =
        local_nets.iter().filter(|l| remote_nets.iter().any(|r| ipam::overlaps(l, r))).map(|n| n.to_string()).collect();
    if !overlap.is_empty() {
        return Err(ArmError::bad_request(
            "VnetAddressSpacesOverlap",
            format!(
                "Cannot create or update peering {id}. Virtual networks {} and {} cannot be peered because their address spaces overlap. Overlapping address prefixes: {}",
                local_key,
                remote.id,
                overlap.join(", ")
            ),
        ));
    }
    if jpath::get_bool(&body, "properties.useRemoteGateways") == Some(true) {
        return Err(ArmError::bad_request(
            "RemoteVnetHasNoGateways",
            format!(
                "Peering {id} cannot have UseRemoteGateways flag set to true because remote virtual network {} referenced by the peering does not have any gateways.",
                remote.id
            ),
        ));
    }
    let p = &mut body["properties"];
    jpath::default(p, "allowVirtualNetworkAccess", json!(true));
    jpath::default(p, "allowForwardedTraffic", json!(false));
    jpath::default(p, "allowGatewayTransit", json!(false));
    jpath::default(p, "useRemoteGateways", json!(false));
    jpath::default(p, "doNotVerifyRemoteGateways", json!(false));
    jpath::default(p, "peerCompleteVnets", json!(true));
    jpath::default(p, "enableOnlyIPv6Peering", json!(false));
    // The snapshot of the remote address space refreshes on every PUT (and with syncRemoteAddressSpace).
    p["remoteAddressSpace"] = remote.body["properties"]["addressSpace"].clone();
    let resource_guid = existing
        .and_then(|e| jpath::get_str(&e.body, "properties.resourceGuid").map(str::to_string))
        .unwrap_or_else(|| crate::ids::guid(cx.cfg.seed, &[&crate::armpath::key_of(id), "resourceGuid", &cx.incarnation.to_string()]));
    p["resourceGuid"] = json!(resource_guid);
    let back = cx
        .st
        .children(&remote_key, PEERING_TYPE)
        .into_iter()
        .find(|b| ref_key(jpath::get(&b.body, "properties.remoteVirtualNetwork")).as_deref() == Some(local_key.as_str()));
    let state = match back {
        Some(b) if jpath::get_str(&b.body, "properties.peeringState") != Some("Disconnected") => {
            let bkey = b.key();
            cx.mutate(bkey, |r| r.body.modify(|b| b["properties"]["peeringState"] = json!("Connected")));
            "Connected"
        }
        _ => match existing.and_then(|e| jpath::get_str(&e.body, "properties.peeringState")) {
            Some("Disconnected") => "Disconnected",
            _ => "Initiated",
        },
    };
    p["peeringState"] = json!(state);
    let _ = direct;
    Ok(body)
}

struct PeeringHooks;

impl Hooks for PeeringHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let vnet = cx.parent.expect("peerings have a VNet");
        let nets = vnet_prefixes(&vnet.body, &vnet.id)?;
        let body = cx.body.clone();
        let id = cx.id.clone();
        let existing = cx.existing;
        let planned = plan_peering(cx, &id, existing, body, &nets, true)?;
        cx.body = planned;
        Ok(())
    }

    fn render(&self, st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let local_key = vnet_of_peering_id(&res.id);
        let Some(local) = st.get(&local_key) else { return };
        let local_space = local.body["properties"]["addressSpace"].clone();
        let props = &mut body["properties"];
        props["localAddressSpace"] = local_space.clone();
        props["localVirtualNetworkAddressSpace"] = local_space.clone();
        let remote_key = ref_key(props.get("remoteVirtualNetwork"));
        let remote = remote_key.as_deref().and_then(|k| st.get(k));
        let Some(remote) = remote else {
            props["peeringSyncLevel"] = json!("FullyInSync");
            return;
        };
        let live = remote.body["properties"]["addressSpace"].clone();
        props["remoteVirtualNetworkAddressSpace"] = live.clone();
        let local_ok = same_prefixes(&props["remoteAddressSpace"], &live);
        let back = st
            .children(&remote.key(), PEERING_TYPE)
            .into_iter()
            .find(|b| ref_key(jpath::get(&b.body, "properties.remoteVirtualNetwork")).as_deref() == Some(local_key.as_str()));
        let remote_ok = back.is_none_or(|b| same_prefixes(&b.body["properties"]["remoteAddressSpace"], &local_space));
        props["peeringSyncLevel"] = json!(match (local_ok, remote_ok) {
            (true, true) => "FullyInSync",
            (false, true) => "LocalNotInSync",
            (true, false) => "RemoteNotInSync",
            (false, false) => "LocalAndRemoteNotInSync",
        });
    }

    fn on_delete(&self, st: &State, _cfg: &SimConfig, _now: i64, res: &Resource) -> Vec<Effect> {
        // The remote side's peering back to us shows Disconnected.
        let local_key = vnet_of_peering_id(&res.id);
        let Some(remote_key) = ref_key(jpath::get(&res.body, "properties.remoteVirtualNetwork")) else { return Vec::new() };
        st.children(&remote_key, PEERING_TYPE)
            .into_iter()
            .filter(|b| ref_key(jpath::get(&b.body, "properties.remoteVirtualNetwork")).as_deref() == Some(local_key.as_str()))
            .map(|b| Effect::Mutate {
                key: b.key(),
                f: Box::new(|r: &mut Resource| r.body.modify(|b| b["properties"]["peeringState"] = json!("Disconnected"))),
            })
            .collect()
    }
}

fn same_prefixes(a: &Value, b: &Value) -> bool {
    let set = |v: &Value| -> BTreeSet<String> {
        jpath::array(v, "addressPrefixes").iter().filter_map(|x| x.as_str().map(str::to_ascii_lowercase)).collect()
    };
    set(a) == set(b)
}

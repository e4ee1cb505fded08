//! Public IPs, route tables, network security groups and network interfaces.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::vnet::{NET, SUBNET_TYPE, invalid_reference, subnet_net};
use super::{NETWORK_NAME, ref_key, sub_resource};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{Hooks, PutCx, Spec, secs};
use crate::state::{Resource, State};

pub(crate) const PIP_TYPE: &str = "Microsoft.Network/publicIPAddresses";
pub(crate) const RT_TYPE: &str = "Microsoft.Network/routeTables";
pub(crate) const NSG_TYPE: &str = "Microsoft.Network/networkSecurityGroups";
pub(crate) const NIC_TYPE: &str = "Microsoft.Network/networkInterfaces";

pub(crate) static PIP: Spec = Spec {
    type_name: PIP_TYPE,
    durations: secs(5.0, 5.0, 10.0),
    readonly: &["properties.ipConfiguration", "properties.resourceGuid", "properties.natGateway"],
    hooks: &PipHooks,
    ..NET
};
pub(crate) static RT: Spec = Spec {
    type_name: RT_TYPE,
    durations: secs(5.0, 5.0, 10.0),
    readonly: &["properties.subnets", "properties.resourceGuid"],
    hooks: &RtHooks,
    ..NET
};
pub(crate) static NSG: Spec = Spec {
    type_name: NSG_TYPE,
    durations: secs(5.0, 5.0, 10.0),
    readonly: &[
        "properties.subnets",
        "properties.networkInterfaces",
        "properties.defaultSecurityRules",
        "properties.resourceGuid",
        "properties.flowLogs",
    ],
    hooks: &NsgHooks,
    ..NET
};
pub(crate) static NIC: Spec = Spec {
    type_name: NIC_TYPE,
    durations: secs(5.0, 5.0, 10.0),
    readonly: &[
        "properties.macAddress",
        "properties.virtualMachine",
        "properties.privateEndpoint",
        "properties.resourceGuid",
        "properties.hostedWorkloads",
        "properties.tapConfigurations",
        "properties.privateLinkService",
        "properties.vnetEncryptionSupported",
    ],
    hooks: &NicHooks,
    ..NET
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&PIP, &RT, &NSG, &NIC]
}

/// Addresses taken in a subnet by NICs and firewalls (except `exclude`).
pub(crate) fn used_ips(st: &State, subnet_key: &str, exclude: &str) -> BTreeSet<Ipv4Addr> {
    let mut used = BTreeSet::new();
    for r in st.referrers(subnet_key) {
        if r.key() == exclude {
            continue;
        }
        for c in jpath::array(&r.body, "properties.ipConfigurations") {
            if ref_key(jpath::get(c, "properties.subnet")).as_deref() == Some(subnet_key)
                && let Some(ip) = jpath::get_str(c, "properties.privateIPAddress").and_then(|s| s.parse().ok())
            {
                used.insert(ip);
            }
        }
    }
    used
}

/// Every IP configuration (of NICs and firewalls) that references `target_key` at `field`.
fn ipconfig_users(st: &State, target_key: &str, field: &str) -> Vec<String> {
    let mut out = Vec::new();
    for r in st.referrers(target_key) {
        let seg = if r.is(super::firewall::FIREWALL_TYPE) { "azureFirewallIpConfigurations" } else { "ipConfigurations" };
        for c in jpath::array(&r.body, "properties.ipConfigurations") {
            if ref_key(jpath::get(c, &format!("properties.{field}"))).as_deref() == Some(target_key) {
                out.push(format!("{}/{seg}/{}", r.id, c.get("name").and_then(Value::as_str).unwrap_or("")));
            }
        }
    }
    out
}

// ---------------------------------------------------------------- public IP

struct PipHooks;

impl Hooks for PipHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        jpath::default(&mut cx.body, "sku", json!({"name": "Standard", "tier": "Regional"}));
        jpath::default(&mut cx.body, "sku.tier", json!("Regional"));
        let sku = jpath::get_str(&cx.body, "sku.name").unwrap_or("Standard").to_string();
        let method = cx.prop_str("publicIPAllocationMethod").unwrap_or(if sku == "Basic" { "Dynamic" } else { "Static" }).to_string();
        if sku.starts_with("Standard") && method.eq_ignore_ascii_case("Dynamic") {
            return Err(ArmError::bad_request(
                "StandardSkuPublicIPAddressesCannotBeDynamic",
                format!("Standard sku publicIp {} must have AllocationMethod set to Static.", cx.id),
            ));
        }
        let p = &mut cx.body["properties"];
        if p.is_null() {
            *p = json!({});
        }
        p["publicIPAllocationMethod"] = json!(method);
        jpath::default(p, "publicIPAddressVersion", json!("IPv4"));
        jpath::default(p, "idleTimeoutInMinutes", json!(4));
        jpath::default(p, "ipTags", json!([]));
        cx.keep("properties.resourceGuid", |c| json!(c.guid("resourceGuid")));
        let existing_ip = cx.existing.and_then(|e| e.prop_str("ipAddress")).map(str::to_string);
        let ip = match existing_ip {
            Some(ip) => ip,
            None => allocate_public_ip(cx),
        };
        cx.body["properties"]["ipAddress"] = json!(ip);
        Ok(())
    }

    fn render(&self, st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        if let Some(user) = ipconfig_users(st, &res.key(), "publicIPAddress").into_iter().next() {
            body["properties"]["ipConfiguration"] = sub_resource(&user);
        }
    }

    fn check_delete(&self, st: &State, res: &Resource) -> Result<(), ArmError> {
        match ipconfig_users(st, &res.key(), "publicIPAddress").into_iter().next() {
            // Azure's wording, its two spaces before "To learn" included.
            Some(user) => Err(ArmError::bad_request(
                "PublicIPAddressCannotBeDeleted",
                format!(
                    "Public IP address {} can not be deleted since it is still allocated to resource {user}. In order to delete the public IP, disassociate/detach the Public IP address from the resource.  To learn how to do this, see aka.ms/deletepublicip.",
                    res.id
                ),
            )),
            None => Ok(()),
        }
    }
}

/// A deterministic address from a seeded 20.x.y.z pool, unique among stored public IPs.
fn allocate_public_ip(cx: &PutCx<'_>) -> String {
    let taken: BTreeSet<String> = cx.st.of_type(PIP_TYPE).filter_map(|r| r.prop_str("ipAddress").map(str::to_string)).collect();
    for attempt in 0u32.. {
        let b = crate::ids::bytes(cx.cfg.seed, &[&cx.key, &cx.incarnation.to_string(), "public-ip", &attempt.to_string()]);
        let ip = format!("20.{}.{}.{}", 40 + b[0] % 200, b[1], 1 + b[2] % 254);
        if !taken.contains(&ip) {
            return ip;
        }
    }
    unreachable!("the pool has millions of addresses")
}

// ---------------------------------------------------------------- route tables

const NEXT_HOPS: &[&str] = &["Internet", "None", "VirtualAppliance", "VirtualApplianceEcmp", "VirtualNetworkGateway", "VnetLocal"];

struct RtHooks;

impl Hooks for RtHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        cx.keep("properties.resourceGuid", |c| json!(c.guid("resourceGuid")));
        jpath::default(&mut cx.body, "properties.disableBgpRoutePropagation", json!(false));
        jpath::default(&mut cx.body, "properties.routes", json!([]));
        let mut names = BTreeSet::new();
        let owner = cx.id.clone();
        for r in cx.body["properties"]["routes"].as_array_mut().into_iter().flatten() {
            let name = r.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            NETWORK_NAME.check(&name, "route")?;
            if !names.insert(name.to_ascii_lowercase()) {
                return Err(ArmError::bad_request(
                    "DuplicateResourceName",
                    format!("Route name '{name}' appears more than once in {owner}."),
                ));
            }
            for ro in ["id", "etag", "type"] {
                r.as_object_mut().map(|o| o.remove(ro));
            }
            let p = &mut r["properties"];
            for ro in ["provisioningState", "hasBgpOverride"] {
                p.as_object_mut().map(|o| o.remove(ro));
            }
            let prefix = p.get("addressPrefix").and_then(Value::as_str).unwrap_or("");
            if prefix.is_empty() {
                return Err(ArmError::bad_request("InvalidRequestFormat", format!("Route '{name}' needs an addressPrefix.")));
            }
            if prefix.contains('/') && prefix.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                crate::ipam::prefix(prefix, &format!("{owner}/routes/{name}"))?;
            }
            let hop = p.get("nextHopType").and_then(Value::as_str).unwrap_or("");
            if !NEXT_HOPS.iter().any(|h| h.eq_ignore_ascii_case(hop)) {
                return Err(ArmError::bad_request(
                    "InvalidNextHopType",
                    format!("Route '{name}' has next hop type '{hop}'; allowed: {}.", NEXT_HOPS.join(", ")),
                ));
            }
            let ip = p.get("nextHopIpAddress").and_then(Value::as_str).filter(|s| !s.is_empty());
            let appliance = hop.eq_ignore_ascii_case("VirtualAppliance");
            match (appliance, ip) {
                (true, None) => {
                    return Err(ArmError::bad_request(
                        "InvalidNextHopIpAddress",
                        format!("Route '{name}' has next hop type VirtualAppliance and needs a nextHopIpAddress."),
                    ));
                }
                (true, Some(ip)) if ip.parse::<Ipv4Addr>().is_err() => {
                    return Err(ArmError::bad_request(
                        "InvalidNextHopIpAddress",
                        format!("Route '{name}' next hop '{ip}' is not an IPv4 address."),
                    ));
                }
                (false, Some(_)) => {
                    return Err(ArmError::bad_request(
                        "InvalidNextHopIpAddress",
                        format!("Route '{name}' has next hop type {hop}; a nextHopIpAddress is only allowed with VirtualAppliance."),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn render(&self, st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        for r in body["properties"]["routes"].as_array_mut().into_iter().flatten() {
            let name = r.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            r["id"] = json!(format!("{}/routes/{name}", res.id));
            r["type"] = json!("Microsoft.Network/routeTables/routes");
            r["etag"] = json!(format!("W/\"{}\"", res.etag));
            r["properties"]["provisioningState"] = json!(res.prov.shown());
            r["properties"]["hasBgpOverride"] = json!(false);
        }
        let subnets = associated_subnets(st, &res.key(), "routeTable");
        if !subnets.is_empty() {
            body["properties"]["subnets"] = json!(subnets);
        }
    }

    fn check_delete(&self, st: &State, res: &Resource) -> Result<(), ArmError> {
        // ARM names the table alone, not the subnets.
        if associated(st, &res.key(), &[SUBNET_TYPE], "routeTable").is_empty() {
            return Ok(());
        }
        Err(ArmError::bad_request("InUseRouteTableCannotBeDeleted", format!("Route table {} is in use and cannot be deleted.", res.name())))
    }
}

fn associated_subnets(st: &State, key: &str, field: &str) -> Vec<Value> {
    associated(st, key, &[SUBNET_TYPE], field).iter().map(|id| sub_resource(id)).collect()
}

/// Ids of the objects of `types` whose `properties.<field>` points at `key`.
fn associated(st: &State, key: &str, types: &[&str], field: &str) -> Vec<String> {
    st.referrers(key)
        .into_iter()
        .filter(|r| types.iter().any(|t| r.is(t)) && ref_key(r.prop(field)).as_deref() == Some(key))
        .map(|r| r.id.clone())
        .collect()
}

// ---------------------------------------------------------------- NSGs

struct NsgHooks;

const DEFAULT_RULES: &[(&str, &str, &str, &str, &str, u32)] = &[
    ("AllowVnetInBound", "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork", 65000),
    ("AllowAzureLoadBalancerInBound", "Inbound", "Allow", "AzureLoadBalancer", "*", 65001),
    ("DenyAllInBound", "Inbound", "Deny", "*", "*", 65500),
    ("AllowVnetOutBound", "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork", 65000),
    ("AllowInternetOutBound", "Outbound", "Allow", "*", "Internet", 65001),
    ("DenyAllOutBound", "Outbound", "Deny", "*", "*", 65500),
];

impl Hooks for NsgHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        cx.keep("properties.resourceGuid", |c| json!(c.guid("resourceGuid")));
        jpath::default(&mut cx.body, "properties.securityRules", json!([]));
        let mut seen: Vec<(String, i64, String)> = Vec::new();
        let owner = cx.id.clone();
        for r in cx.body["properties"]["securityRules"].as_array_mut().into_iter().flatten() {
            let name = r.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            NETWORK_NAME.check(&name, "security rule")?;
            for ro in ["id", "etag", "type"] {
                r.as_object_mut().map(|o| o.remove(ro));
            }
            let p = &mut r["properties"];
            p.as_object_mut().map(|o| o.remove("provisioningState"));
            let prio = p.get("priority").and_then(Value::as_i64).unwrap_or(0);
            if !(100..=4096).contains(&prio) {
                return Err(ArmError::bad_request(
                    "SecurityRuleInvalidPriority",
                    format!("Security rule {name} has invalid priority {prio}. Value provided: {prio} Allowed range 100-4096."),
                ));
            }
            let dir = p.get("direction").and_then(Value::as_str).unwrap_or("").to_string();
            if !["Inbound", "Outbound"].contains(&dir.as_str()) {
                return Err(ArmError::bad_request(
                    "SecurityRuleInvalidDirection",
                    format!("Security rule {name} needs direction Inbound or Outbound."),
                ));
            }
            let access = p.get("access").and_then(Value::as_str).unwrap_or("");
            if !["Allow", "Deny"].contains(&access) {
                return Err(ArmError::bad_request(
                    "SecurityRuleInvalidAccess",
                    format!("Security rule {name} needs access Allow or Deny."),
                ));
            }
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("");
            if !["Tcp", "Udp", "Icmp", "Esp", "Ah", "*"].contains(&proto) {
                return Err(ArmError::bad_request(
                    "SecurityRuleInvalidProtocol",
                    format!("Security rule {name} has invalid protocol '{proto}'."),
                ));
            }
            if let Some((other, _, _)) = seen.iter().find(|(_, p2, d2)| *p2 == prio && *d2 == dir) {
                return Err(ArmError::bad_request(
                    "SecurityRuleConflict",
                    format!(
                        "Security rule {name} conflicts with rule {other}. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules."
                    ),
                ));
            }
            seen.push((name.clone(), prio, dir));
            for (k, d) in [
                ("sourcePortRanges", json!([])),
                ("destinationPortRanges", json!([])),
                ("sourceAddressPrefixes", json!([])),
                ("destinationAddressPrefixes", json!([])),
            ] {
                jpath::default(p, k, d);
            }
        }
        let _ = owner;
        Ok(())
    }

    fn render(&self, st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        for r in body["properties"]["securityRules"].as_array_mut().into_iter().flatten() {
            let name = r.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            r["id"] = json!(format!("{}/securityRules/{name}", res.id));
            r["type"] = json!("Microsoft.Network/networkSecurityGroups/securityRules");
            r["etag"] = json!(format!("W/\"{}\"", res.etag));
            r["properties"]["provisioningState"] = json!(res.prov.shown());
        }
        let defaults: Vec<Value> = DEFAULT_RULES
            .iter()
            .map(|(name, dir, access, src, dst, prio)| {
                json!({
                    "name": name,
                    "id": format!("{}/defaultSecurityRules/{name}", res.id),
                    "type": "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
                    "etag": format!("W/\"{}\"", res.etag),
                    "properties": {
                        "provisioningState": "Succeeded", "description": format!("Default rule {name}"),
                        "protocol": "*", "sourcePortRange": "*", "destinationPortRange": "*",
                        "sourceAddressPrefix": src, "destinationAddressPrefix": dst, "access": access,
                        "priority": prio, "direction": dir, "sourcePortRanges": [], "destinationPortRanges": [],
                        "sourceAddressPrefixes": [], "destinationAddressPrefixes": []
                    }
                })
            })
            .collect();
        body["properties"]["defaultSecurityRules"] = json!(defaults);
        let subnets = associated_subnets(st, &res.key(), "networkSecurityGroup");
        if !subnets.is_empty() {
            body["properties"]["subnets"] = json!(subnets);
        }
        let nics: Vec<Value> = associated(st, &res.key(), &[NIC_TYPE], "networkSecurityGroup").iter().map(|id| sub_resource(id)).collect();
        if !nics.is_empty() {
            body["properties"]["networkInterfaces"] = json!(nics);
        }
    }

    fn check_delete(&self, st: &State, res: &Resource) -> Result<(), ArmError> {
        let users = associated(st, &res.key(), &[SUBNET_TYPE, NIC_TYPE], "networkSecurityGroup");
        if users.is_empty() {
            return Ok(());
        }
        Err(ArmError::bad_request(
            "InUseNetworkSecurityGroupCannotBeDeleted",
            format!(
                "Network security group {} cannot be deleted because it is in use by the following resources: {}. In order to delete the Network security group, remove the association with the resource(s). To learn how to do this, see aka.ms/deletensg.",
                res.id,
                users.join(", ")
            ),
        ))
    }
}

// ---------------------------------------------------------------- NICs

struct NicHooks;

/// Validates NIC IP configurations and allocates private addresses (also used for private endpoint NICs).
pub(crate) fn allocate_ipconfigs(
    st: &State,
    nic_key: &str,
    owner: &str,
    existing: Option<&Resource>,
    configs: &mut [Value],
) -> Result<(), ArmError> {
    let mut taken_here: BTreeSet<Ipv4Addr> = BTreeSet::new();
    for (i, c) in configs.iter_mut().enumerate() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        if name.is_empty() {
            return Err(ArmError::bad_request("InvalidRequestFormat", format!("IP configuration {i} of {owner} needs a name.")));
        }
        for ro in ["id", "etag", "type"] {
            c.as_object_mut().map(|o| o.remove(ro));
        }
        let p = &mut c["properties"];
        p.as_object_mut().map(|o| o.remove("provisioningState"));
        let Some(subnet_key) = ref_key(p.get("subnet")) else {
            return Err(ArmError::bad_request(
                "InvalidRequestFormat",
                format!("IP configuration {name} of {owner} needs properties.subnet.id."),
            ));
        };
        let subnet_id = p["subnet"]["id"].as_str().unwrap_or("").to_string();
        let Some(subnet) = st.get(&subnet_key).filter(|s| s.is(SUBNET_TYPE)) else {
            return Err(invalid_reference(&subnet_id, owner));
        };
        if let Some(pip) = p.get("publicIPAddress").and_then(|v| v.get("id")).and_then(Value::as_str)
            && st.get(&crate::armpath::key_of(pip)).is_none()
        {
            return Err(invalid_reference(pip, owner));
        }
        let net = subnet_net(subnet).ok_or_else(|| invalid_reference(&subnet_id, owner))?;
        let mut used = used_ips(st, &subnet_key, nic_key);
        used.extend(taken_here.iter().copied());
        let method = p.get("privateIPAllocationMethod").and_then(Value::as_str).unwrap_or("Dynamic").to_string();
        let ip: Ipv4Addr = if method.eq_ignore_ascii_case("Static") {
            let s = p.get("privateIPAddress").and_then(Value::as_str).unwrap_or("");
            let ip: Ipv4Addr = s.parse().map_err(|_| {
                ArmError::bad_request(
                    "PrivateIPAddressInvalid",
                    format!("Private static IP address '{s}' of {owner} is not a valid IPv4 address."),
                )
            })?;
            if !net.contains(&ip) {
                return Err(ArmError::bad_request(
                    "PrivateIPAddressNotInSubnet",
                    format!(
                        "IP configuration {owner}/ipConfigurations/{name} is referencing a private IP address {ip} that is not within the subnet address prefix {net}."
                    ),
                ));
            }
            if used.contains(&ip) {
                return Err(ArmError::bad_request(
                    "PrivateIPAddressInUse",
                    format!(
                        "IP configuration {owner}/ipConfigurations/{name} is using the private IP address {ip} which is already allocated to another resource."
                    ),
                ));
            }
            ip
        } else {
            let previous = existing
                .and_then(|e| {
                    jpath::array(&e.body, "properties.ipConfigurations")
                        .iter()
                        .find(|x| x.get("name").and_then(Value::as_str) == Some(name.as_str()))
                        .filter(|x| ref_key(jpath::get(x, "properties.subnet")).as_deref() == Some(subnet_key.as_str()))
                        .and_then(|x| jpath::get_str(x, "properties.privateIPAddress"))
                        .and_then(|s| s.parse::<Ipv4Addr>().ok())
                })
                .filter(|ip| !used.contains(ip));
            match previous.or_else(|| crate::ipam::allocate(&net, &used)) {
                Some(ip) => ip,
                None => {
                    return Err(ArmError::bad_request(
                        "SubnetIsFull",
                        format!("Subnet {} with address prefix {net} does not have enough capacity for 1 IP addresses.", subnet.name()),
                    ));
                }
            }
        };
        taken_here.insert(ip);
        p["privateIPAddress"] = json!(ip.to_string());
        p["privateIPAllocationMethod"] = json!(if method.eq_ignore_ascii_case("Static") { "Static" } else { "Dynamic" });
        jpath::default(p, "privateIPAddressVersion", json!("IPv4"));
        p["primary"] = json!(i == 0);
    }
    Ok(())
}

impl Hooks for NicHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        cx.keep("properties.resourceGuid", |c| json!(c.guid("resourceGuid")));
        if let Some(pe) = cx.existing.and_then(|e| e.prop("privateEndpoint")).cloned() {
            // NICs a private endpoint owns keep that link.
            cx.body["properties"]["privateEndpoint"] = pe;
        }
        let mut configs = cx.body["properties"]["ipConfigurations"].as_array().cloned().unwrap_or_default();
        if configs.is_empty() {
            return Err(ArmError::bad_request(
                "InvalidRequestFormat",
                format!("Network interface {} needs at least one IP configuration.", cx.id),
            ));
        }
        if let Some(nsg) = cx.prop("networkSecurityGroup").and_then(|v| v.get("id")).and_then(Value::as_str)
            && cx.st.get(&crate::armpath::key_of(nsg)).is_none()
        {
            return Err(invalid_reference(nsg, &cx.id));
        }
        allocate_ipconfigs(cx.st, &cx.key, &cx.id, cx.existing, &mut configs)?;
        cx.body["properties"]["ipConfigurations"] = json!(configs);
        for (k, d) in [
            ("enableAcceleratedNetworking", json!(false)),
            ("enableIPForwarding", json!(false)),
            ("nicType", json!("Standard")),
            ("disableTcpStateTracking", json!(false)),
            ("auxiliaryMode", json!("None")),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), d);
        }
        Ok(())
    }

    fn render(&self, st: &State, cfg: &SimConfig, res: &Resource, body: &mut Value) {
        render_nic(st, cfg, res, body);
    }

    fn check_delete(&self, st: &State, res: &Resource) -> Result<(), ArmError> {
        let user = st
            .referrers(&res.key())
            .into_iter()
            .find(|r| r.is(super::compute::VM_TYPE))
            .map(|r| r.id.clone())
            .or_else(|| jpath::get_str(&res.body, "properties.privateEndpoint.id").map(str::to_string));
        match user {
            Some(u) => Err(ArmError::bad_request(
                "NicInUse",
                format!(
                    "Network Interface {} is used by existing resource {u}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.",
                    res.id
                ),
            )),
            None => Ok(()),
        }
    }
}

pub(crate) fn render_nic(st: &State, cfg: &SimConfig, res: &Resource, body: &mut Value) {
    for c in body["properties"]["ipConfigurations"].as_array_mut().into_iter().flatten() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        c["id"] = json!(format!("{}/ipConfigurations/{name}", res.id));
        c["type"] = json!("Microsoft.Network/networkInterfaces/ipConfigurations");
        c["etag"] = json!(format!("W/\"{}\"", res.etag));
        c["properties"]["provisioningState"] = json!(res.prov.shown());
    }
    let vm = st.referrers(&res.key()).into_iter().find(|r| r.is(super::compute::VM_TYPE));
    let hex = crate::ids::hexid(cfg.seed, &[&res.key(), "nic"], 12).to_ascii_uppercase();
    body["properties"]["dnsSettings"] = json!({
        "dnsServers": [], "appliedDnsServers": [],
        "internalDomainNameSuffix": format!("{}.ax.internal.cloudapp.net", &crate::ids::hexid(cfg.seed, &[&res.key(), "dns"], 26)),
    });
    body["properties"]["vnetEncryptionSupported"] = json!(false);
    body["properties"]["hostedWorkloads"] = json!([]);
    body["properties"]["tapConfigurations"] = json!([]);
    if let Some(vm) = vm {
        body["properties"]["virtualMachine"] = sub_resource(&vm.id);
        body["properties"]["primary"] = json!(true);
        body["properties"]["macAddress"] = json!(format!("00-0D-3A-{}-{}-{}", &hex[0..2], &hex[2..4], &hex[4..6]));
    }
}

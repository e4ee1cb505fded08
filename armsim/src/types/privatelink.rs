//! Private endpoints (with their managed NIC, private IP and DNS configs) and private DNS zone
//! groups (which write the A records into the linked private DNS zones).

use serde_json::{Value, json};

use super::dns::{A_TYPE, ZONE_TYPE};
use super::netmisc::{NIC_TYPE, allocate_ipconfigs};
use super::ref_key;
use super::vnet::{NET, SUBNET_TYPE, invalid_reference};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{Effect, Hooks, Loc, Lock, PutCx, Spec, secs};
use crate::state::{Resource, State};

pub(crate) const PE_TYPE: &str = "Microsoft.Network/privateEndpoints";
pub(crate) const ZONE_GROUP_TYPE: &str = "Microsoft.Network/privateEndpoints/privateDnsZoneGroups";

pub(crate) static PE: Spec = Spec {
    type_name: PE_TYPE,
    durations: secs(60.0, 30.0, 30.0),
    readonly: &["properties.networkInterfaces", "properties.customDnsConfigs", "properties.resourceGuid"],
    hooks: &PeHooks,
    ..NET
};
pub(crate) static ZONE_GROUP: Spec = Spec {
    type_name: ZONE_GROUP_TYPE,
    loc: Loc::None,
    lock: Lock::Parent,
    durations: secs(45.0, 45.0, 30.0),
    readonly: &["properties.privateDnsZoneConfigs[].properties.recordSets"],
    hooks: &ZoneGroupHooks,
    ..NET
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&PE, &ZONE_GROUP]
}

/// One name a private endpoint serves: its member name and public FQDN.
struct DnsName {
    member: String,
    fqdn: String,
}

/// What a target type accepts as group ids, and the names each group serves.
fn dns_names(target: &Resource, group: &str) -> Result<Vec<DnsName>, String> {
    let name = target.name().to_ascii_lowercase();
    let loc = target.location().unwrap_or("westeurope").to_string();
    let one = |member: &str, suffix: &str, _zone: &str| vec![DnsName { member: member.into(), fqdn: format!("{name}.{suffix}") }];
    let t = target.type_name.as_str();
    let g = group.to_ascii_lowercase();
    let names = match (t, g.as_str()) {
        (super::keyvault::VAULT_TYPE, "vault") => one("default", "vault.azure.net", "privatelink.vaultcore.azure.net"),
        (super::postgres::SERVER_TYPE, "postgresqlserver") => {
            one("postgresqlServer", "postgres.database.azure.com", "privatelink.postgres.database.azure.com")
        }
        (super::servicebus::NAMESPACE_TYPE, "namespace") => {
            one("namespace", "servicebus.windows.net", "privatelink.servicebus.windows.net")
        }
        (super::storage::ACCOUNT_TYPE, "blob") => one("blob", "blob.core.windows.net", "privatelink.blob.core.windows.net"),
        (super::storage::ACCOUNT_TYPE, "file") => one("file", "file.core.windows.net", "privatelink.file.core.windows.net"),
        (super::storage::ACCOUNT_TYPE, "queue") => one("queue", "queue.core.windows.net", "privatelink.queue.core.windows.net"),
        (super::storage::ACCOUNT_TYPE, "table") => one("table", "table.core.windows.net", "privatelink.table.core.windows.net"),
        (super::storage::ACCOUNT_TYPE, "dfs") => one("dfs", "dfs.core.windows.net", "privatelink.dfs.core.windows.net"),
        (super::acr::REGISTRY_TYPE, "registry") => vec![
            DnsName { member: "registry".into(), fqdn: format!("{name}.azurecr.io") },
            DnsName { member: format!("registry_data_{loc}"), fqdn: format!("{name}.{loc}.data.azurecr.io") },
        ],
        (super::cosmos::ACCOUNT_TYPE, "sql") => vec![
            DnsName { member: name.clone(), fqdn: format!("{name}.documents.azure.com") },
            DnsName { member: format!("{name}-{loc}"), fqdn: format!("{name}-{loc}.documents.azure.com") },
        ],
        _ => {
            let allowed = match t {
                super::keyvault::VAULT_TYPE => "vault",
                super::postgres::SERVER_TYPE => "postgresqlServer",
                super::servicebus::NAMESPACE_TYPE => "namespace",
                super::storage::ACCOUNT_TYPE => "blob, file, queue, table, dfs",
                super::acr::REGISTRY_TYPE => "registry",
                super::cosmos::ACCOUNT_TYPE => "Sql",
                _ => return Err(format!("resource type {t} does not support private endpoints")),
            };
            return Err(format!("group id '{group}' is not supported by {t}; supported: {allowed}"));
        }
    };
    Ok(names)
}

/// Premium-only targets and other per-target refusals.
fn check_target_sku(target: &Resource, pe_id: &str) -> Result<(), ArmError> {
    let premium_only = |what: &str, sku: Option<&str>| -> Result<(), ArmError> {
        if sku.is_some_and(|s| s.eq_ignore_ascii_case("Premium")) {
            return Ok(());
        }
        Err(ArmError::bad_request(
            "PrivateEndpointRequiresPremiumSku",
            format!(
                "Private endpoint {pe_id} cannot connect to {what} {}: private endpoints require the Premium SKU (it is {}).",
                target.id,
                sku.unwrap_or("unknown")
            ),
        ))
    };
    match target.type_name.as_str() {
        super::acr::REGISTRY_TYPE => premium_only("container registry", jpath::get_str(&target.body, "sku.name")),
        super::servicebus::NAMESPACE_TYPE => premium_only("Service Bus namespace", jpath::get_str(&target.body, "sku.name")),
        super::postgres::SERVER_TYPE if target.prop_str("network.delegatedSubnetResourceId").is_some() => Err(ArmError::bad_request(
            "PrivateEndpointNotSupportedForVnetIntegratedServer",
            format!(
                "Server {} uses VNet integration (a delegated subnet); private endpoints are only for servers in public-access mode.",
                target.id
            ),
        )),
        _ => Ok(()),
    }
}

/// `privateEndpointConnections` for a private-link target, derived from the endpoints pointing at it.
pub(crate) fn pe_connections(st: &State, cfg: &SimConfig, target: &Resource) -> Vec<Value> {
    let key = target.key();
    let mut out = Vec::new();
    for pe in st.referrers(&key).into_iter().filter(|r| r.is(PE_TYPE)) {
        for field in ["privateLinkServiceConnections", "manualPrivateLinkServiceConnections"] {
            for c in pe.prop(field).and_then(Value::as_array).into_iter().flatten() {
                if jpath::get_str(c, "properties.privateLinkServiceId").map(crate::armpath::key_of).as_deref() != Some(key.as_str()) {
                    continue;
                }
                let name = format!("{}.{}", pe.name(), crate::ids::guid(cfg.seed, &[&pe.key(), "connection"]));
                out.push(json!({
                    "id": format!("{}/privateEndpointConnections/{name}", target.id),
                    "name": name,
                    "type": format!("{}/privateEndpointConnections", target.type_name),
                    "properties": {
                        "privateEndpoint": {"id": pe.id},
                        "privateLinkServiceConnectionState": c["properties"]["privateLinkServiceConnectionState"].clone(),
                        "groupIds": c["properties"]["groupIds"].clone(),
                        "provisioningState": "Succeeded",
                    }
                }));
            }
        }
    }
    out
}

struct PeHooks;

impl Hooks for PeHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let owner = cx.id.clone();
        let Some(subnet_key) = ref_key(cx.prop("subnet")) else {
            return Err(ArmError::bad_request("InvalidRequestFormat", format!("Private endpoint {owner} needs properties.subnet.id.")));
        };
        let subnet_id = cx.prop_str("subnet.id").unwrap_or("").to_string();
        if cx.st.get(&subnet_key).filter(|s| s.is(SUBNET_TYPE)).is_none() {
            return Err(invalid_reference(&subnet_id, &owner));
        }
        if let Some(e) = cx.existing
            && ref_key(e.prop("subnet")).as_deref() != Some(subnet_key.as_str())
        {
            return Err(ArmError::bad_request(
                "CannotChangePrivateEndpointSubnet",
                format!("The subnet of private endpoint {owner} cannot be changed."),
            ));
        }
        cx.keep("properties.resourceGuid", |c| json!(c.guid("resourceGuid")));
        let mut dns: Vec<(DnsName, String)> = Vec::new();
        let mut any = false;
        for (field, manual) in [("privateLinkServiceConnections", false), ("manualPrivateLinkServiceConnections", true)] {
            let mut conns = cx.prop(field).and_then(Value::as_array).cloned().unwrap_or_default();
            for c in conns.iter_mut() {
                any = true;
                for ro in ["id", "etag", "type"] {
                    c.as_object_mut().map(|o| o.remove(ro));
                }
                let cname = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                let Some(target_id) = jpath::get_str(c, "properties.privateLinkServiceId").map(str::to_string) else {
                    return Err(ArmError::bad_request(
                        "InvalidRequestFormat",
                        format!("Connection {cname} of {owner} needs properties.privateLinkServiceId."),
                    ));
                };
                let Some(target) = cx.st.get(&crate::armpath::key_of(&target_id)) else {
                    return Err(invalid_reference(&target_id, &owner));
                };
                let groups: Vec<String> =
                    jpath::array(c, "properties.groupIds").iter().filter_map(|g| g.as_str().map(str::to_string)).collect();
                let [group] = groups.as_slice() else {
                    return Err(ArmError::bad_request(
                        "InvalidGroupId",
                        format!("Connection {cname} of {owner} must name exactly one group id."),
                    ));
                };
                let names = dns_names(target, group)
                    .map_err(|m| ArmError::bad_request("InvalidGroupId", format!("Connection {cname} of {owner}: {m}.")))?;
                check_target_sku(target, &owner)?;
                let state = if manual {
                    json!({"status": "Pending", "description": "Awaiting approval", "actionsRequired": "None"})
                } else {
                    json!({"status": "Approved", "description": "Auto-Approved", "actionsRequired": "None"})
                };
                c["properties"]["privateLinkServiceConnectionState"] = state;
                c["properties"].as_object_mut().map(|o| o.remove("provisioningState"));
                dns.extend(names.into_iter().map(|n| (n, group.clone())));
            }
            if cx.prop(field).is_some() {
                cx.body["properties"][field] = json!(conns);
            }
        }
        if !any {
            return Err(ArmError::bad_request(
                "InvalidRequestFormat",
                format!("Private endpoint {owner} needs a privateLinkServiceConnection or a manualPrivateLinkServiceConnection."),
            ));
        }
        // The endpoint's NIC, in the endpoint's resource group, with one address per DNS name.
        let nic_id = match cx
            .existing
            .and_then(|e| jpath::array(&e.body, "properties.networkInterfaces").first().and_then(|n| n.get("id")).and_then(Value::as_str))
        {
            Some(id) => id.to_string(),
            None => {
                let nic_name = cx
                    .prop_str("customNetworkInterfaceName")
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{}.nic.{}", cx.name, cx.guid("nic")));
                format!("/subscriptions/{}/resourceGroups/{}/providers/{NIC_TYPE}/{nic_name}", cx.sub, cx.rg.clone().unwrap_or_default())
            }
        };
        let nic_key = crate::armpath::key_of(&nic_id);
        let statics: Vec<Value> = cx.prop("ipConfigurations").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut configs: Vec<Value> = dns
            .iter()
            .enumerate()
            .map(|(i, (n, group))| {
                let fixed = statics
                    .iter()
                    .find(|s| jpath::get_str(s, "properties.memberName").is_some_and(|m| m.eq_ignore_ascii_case(&n.member)))
                    .and_then(|s| jpath::get_str(s, "properties.privateIPAddress"));
                let mut p = json!({
                    "subnet": {"id": subnet_id},
                    "privateIPAllocationMethod": if fixed.is_some() { "Static" } else { "Dynamic" },
                    "privateLinkConnectionProperties": {"groupId": group, "requiredMemberName": n.member, "fqdns": [n.fqdn]},
                });
                if let Some(ip) = fixed {
                    p["privateIPAddress"] = json!(ip);
                }
                json!({"name": format!("privateEndpointIpConfig.{}", crate::ids::guid(cx.cfg.seed, &[&nic_key, &i.to_string()])), "properties": p})
            })
            .collect();
        let existing_nic = cx.st.get(&nic_key);
        allocate_ipconfigs(cx.st, &nic_key, &nic_id, existing_nic, &mut configs)?;
        let custom: Vec<Value> = configs
            .iter()
            .zip(&dns)
            .map(|(c, (n, _))| json!({"fqdn": n.fqdn, "ipAddresses": [c["properties"]["privateIPAddress"].clone()]}))
            .collect();
        cx.body["properties"]["networkInterfaces"] = json!([{"id": nic_id}]);
        cx.body["properties"]["customDnsConfigs"] = json!(custom);
        jpath::default(&mut cx.body, "properties.ipConfigurations", json!([]));
        jpath::default(&mut cx.body, "properties.customNetworkInterfaceName", json!(""));
        let location = cx.body.get("location").cloned().unwrap_or(json!("westeurope"));
        let pe_id = cx.id.clone();
        cx.upsert(
            NIC_TYPE,
            nic_id,
            json!({"location": location, "properties": {
                "ipConfigurations": configs, "privateEndpoint": {"id": pe_id},
                "nicType": "Standard", "enableAcceleratedNetworking": false, "enableIPForwarding": false,
                "disableTcpStateTracking": false, "auxiliaryMode": "None",
                "resourceGuid": crate::ids::guid(cx.cfg.seed, &[&nic_key, "resourceGuid"]),
            }}),
        );
        Ok(())
    }

    fn render(&self, _st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        for field in ["privateLinkServiceConnections", "manualPrivateLinkServiceConnections"] {
            for c in body["properties"][field].as_array_mut().into_iter().flatten() {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                c["id"] = json!(format!("{}/{field}/{name}", res.id));
                c["type"] = json!(format!("Microsoft.Network/privateEndpoints/{field}"));
                c["etag"] = json!(format!("W/\"{}\"", res.etag));
                c["properties"]["provisioningState"] = json!(res.prov.shown());
            }
        }
    }

    fn on_delete(&self, _st: &State, _cfg: &SimConfig, _now: i64, res: &Resource) -> Vec<Effect> {
        // The endpoint's NIC is Azure-managed: it goes with the endpoint.
        jpath::array(&res.body, "properties.networkInterfaces")
            .iter()
            .filter_map(|n| ref_key(Some(n)))
            .map(|key| Effect::Remove { key })
            .collect()
    }
}

struct ZoneGroupHooks;

fn group_records(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for c in jpath::array(body, "properties.privateDnsZoneConfigs") {
        let zone = jpath::get_str(c, "properties.privateDnsZoneId").unwrap_or("");
        for r in jpath::array(c, "properties.recordSets") {
            if let Some(n) = r.get("recordSetName").and_then(Value::as_str) {
                out.push(crate::armpath::key_of(&format!("{zone}/A/{n}")));
            }
        }
    }
    out
}

impl Hooks for ZoneGroupHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let pe = cx.parent.expect("zone groups have an endpoint");
        let owner = cx.id.clone();
        let mut configs = cx.prop("privateDnsZoneConfigs").and_then(Value::as_array).cloned().unwrap_or_default();
        if configs.len() > 5 {
            return Err(ArmError::bad_request(
                "TooManyPrivateDnsZoneConfigs",
                format!("Zone group {owner} has {} zone configs; at most 5 are allowed.", configs.len()),
            ));
        }
        let dns: Vec<(String, String)> = jpath::array(&pe.body, "properties.customDnsConfigs")
            .iter()
            .map(|d| (d["fqdn"].as_str().unwrap_or("").to_string(), d["ipAddresses"][0].as_str().unwrap_or("").to_string()))
            .collect();
        let pe_guid = pe.prop_str("resourceGuid").unwrap_or("").to_string();
        let mut wanted = Vec::new();
        for c in configs.iter_mut() {
            let Some(zone_id) = jpath::get_str(c, "properties.privateDnsZoneId").map(str::to_string) else {
                return Err(ArmError::bad_request(
                    "InvalidRequestFormat",
                    format!("Zone config in {owner} needs properties.privateDnsZoneId."),
                ));
            };
            let Some(zone) = cx.st.get(&crate::armpath::key_of(&zone_id)).filter(|z| z.is(ZONE_TYPE)) else {
                return Err(invalid_reference(&zone_id, &owner));
            };
            let zone_name = zone.name().to_ascii_lowercase();
            let mut sets = Vec::new();
            for (fqdn, ip) in &dns {
                let Some(record) = record_name(fqdn, &zone_name) else { continue };
                sets.push(json!({
                    "recordType": "A", "recordSetName": record, "fqdn": format!("{record}.{zone_name}"),
                    "ttl": 10, "ipAddresses": [ip], "provisioningState": "Succeeded",
                }));
                let rid = format!("{}/A/{record}", zone.id);
                wanted.push(crate::armpath::key_of(&rid));
                cx.upsert(
                    A_TYPE,
                    rid,
                    json!({"properties": {"ttl": 10, "aRecords": [{"ipv4Address": ip}],
                        "metadata": {"creator": format!("created by private endpoint {} with resource guid {pe_guid}", pe.name())}}}),
                );
            }
            c["properties"]["recordSets"] = json!(sets);
            if c.get("name").is_none() {
                c["name"] = json!(zone_name.replace('.', "-"));
            }
        }
        if let Some(e) = cx.existing {
            for old in group_records(&e.body) {
                if !wanted.contains(&old) {
                    cx.remove(old);
                }
            }
        }
        cx.body["properties"]["privateDnsZoneConfigs"] = json!(configs);
        Ok(())
    }

    fn on_delete(&self, _st: &State, _cfg: &SimConfig, _now: i64, res: &Resource) -> Vec<Effect> {
        // The records the zone group wrote go with it.
        group_records(&res.body).into_iter().map(|key| Effect::Remove { key }).collect()
    }
}

/// `kv1.vault.azure.net` in zone `privatelink.vaultcore.azure.net` → `kv1`.
fn record_name(fqdn: &str, zone: &str) -> Option<String> {
    const SUFFIXES: &[(&str, &str)] = &[
        ("privatelink.vaultcore.azure.net", "vault.azure.net"),
        ("privatelink.postgres.database.azure.com", "postgres.database.azure.com"),
        ("privatelink.servicebus.windows.net", "servicebus.windows.net"),
        ("privatelink.blob.core.windows.net", "blob.core.windows.net"),
        ("privatelink.file.core.windows.net", "file.core.windows.net"),
        ("privatelink.queue.core.windows.net", "queue.core.windows.net"),
        ("privatelink.table.core.windows.net", "table.core.windows.net"),
        ("privatelink.dfs.core.windows.net", "dfs.core.windows.net"),
        ("privatelink.azurecr.io", "azurecr.io"),
        ("privatelink.documents.azure.com", "documents.azure.com"),
    ];
    let (_, public) = SUFFIXES.iter().find(|(z, _)| *z == zone)?;
    fqdn.to_ascii_lowercase().strip_suffix(&format!(".{public}")).map(str::to_string)
}

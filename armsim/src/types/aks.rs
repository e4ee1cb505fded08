//! Managed clusters and agent pools. Pools live as children and are embedded as
//! `agentPoolProfiles`; the cluster owns a node resource group holding its kubelet (and add-on)
//! identities and, for private clusters, the private DNS zone. UDR egress is checked like AKS does.

use serde_json::{Map, Value, json};

use super::identity::{UAI_TYPE, platform_uai_body};
use super::netmisc::RT_TYPE;
use super::resources::RG_TYPE;
use super::vnet::{SUBNET_TYPE, invalid_reference, subnet_net};
use super::{name_rule, ref_key, versions};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{BASE, DeleteStyle, Effect, Hooks, Loc, Lock, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{Resource, State};

pub(crate) const CLUSTER_TYPE: &str = "Microsoft.ContainerService/managedClusters";
pub(crate) const POOL_TYPE: &str = "Microsoft.ContainerService/managedClusters/agentPools";

static CLUSTER_NAME: NameRule = name_rule!(
    1,
    63,
    r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$",
    "InvalidResourceName",
    "Cluster names are 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit."
);
static POOL_NAME: NameRule = name_rule!(
    1,
    12,
    r"^[a-z][a-z0-9]{0,11}$",
    "InvalidResourceName",
    "Agent pool names are 1-12 lower-case letters and digits, starting with a letter (Windows pools at most 6)."
);

const AKS: Spec = Spec {
    api_versions: versions::AKS,
    create: PutStyle::AsyncOp { status: 201, also_location: false },
    update: PutStyle::AsyncOp { status: 200, also_location: false },
    delete: DeleteStyle::Accepted { async_header: true, done: 204 },
    conflict_code: "OperationNotAllowed",
    conflict_message: Some(conflict_message),
    ..BASE
};

/// AKS's own words for a write while another operation runs, which clients
/// match on (the code alone also means a quota refusal).
fn conflict_message(running_type: &str, running_name: &str, shown: &str) -> String {
    let what = if running_type.eq_ignore_ascii_case(POOL_TYPE) {
        format!("Another agentpool operation ({running_name} - {shown})")
    } else {
        format!("Another operation ({shown})")
    };
    format!(
        "Operation is not allowed: {what} is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details"
    )
}

pub(crate) static CLUSTER: Spec = Spec {
    type_name: CLUSTER_TYPE,
    name: Some(&CLUSTER_NAME),
    durations: secs(480.0, 300.0, 360.0),
    readonly: &[
        "properties.fqdn",
        "properties.privateFQDN",
        "properties.azurePortalFQDN",
        "properties.currentKubernetesVersion",
        "properties.maxAgentPools",
        "properties.powerState",
        "properties.resourceUID",
        "properties.oidcIssuerProfile.issuerURL",
        "identity.principalId",
        "identity.tenantId",
    ],
    hooks: &ClusterHooks,
    ..AKS
};
pub(crate) static POOL: Spec = Spec {
    type_name: POOL_TYPE,
    name: Some(&POOL_NAME),
    loc: Loc::None,
    lock: Lock::Parent,
    durations: secs(240.0, 180.0, 180.0),
    readonly: POOL_READONLY,
    hooks: &PoolHooks,
    ..AKS
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&CLUSTER, &POOL]
}

const POOL_READONLY: &[&str] =
    &["properties.powerState", "properties.currentOrchestratorVersion", "properties.nodeImageVersion", "properties.provisioningState"];

fn patch_version(v: &str) -> Result<String, ArmError> {
    let known = [("1.30", "1.30.14"), ("1.31", "1.31.10"), ("1.32", "1.32.6"), ("1.33", "1.33.2"), ("1.34", "1.34.1")];
    let minor: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
    match known.iter().find(|(m, _)| *m == minor) {
        Some((_, p)) if v.split('.').count() == 2 => Ok(p.to_string()),
        Some(_) => Ok(v.to_string()),
        None => Err(ArmError::bad_request(
            "K8sVersionNotSupported",
            format!("Version {v} is not supported in this region. Please use [az aks get-versions] command to get the supported version list in this region."),
        )
        .with_target("kubernetesVersion")),
    }
}

/// AKS refuses UDR clusters whose node subnet lacks a route table sending 0.0.0.0/0 to an appliance.
fn check_udr(st: &State, subnet_id: Option<&str>, pool: &str) -> Result<(), ArmError> {
    let Some(subnet_id) = subnet_id else {
        return Err(ArmError::bad_request(
            "InvalidParameter",
            format!("Agent pool {pool}: outboundType userDefinedRouting requires a custom subnet (vnetSubnetID)."),
        )
        .with_target("agentPoolProfile.vnetSubnetID"));
    };
    let subnet = st.get(&crate::armpath::key_of(subnet_id)).ok_or_else(|| invalid_reference(subnet_id, pool))?;
    let Some(rt) = ref_key(subnet.prop("routeTable")).and_then(|k| st.get(&k)).filter(|r| r.is(RT_TYPE)) else {
        return Err(ArmError::bad_request(
            "ExistingRouteTableNotAssociatedWithSubnet",
            format!("An existing route table has not been associated with subnet {subnet_id}. Please update the route table association"),
        ));
    };
    let default =
        jpath::array(&rt.body, "properties.routes").iter().find(|r| jpath::get_str(r, "properties.addressPrefix") == Some("0.0.0.0/0"));
    let hop = default.and_then(|r| jpath::get_str(r, "properties.nextHopType")).unwrap_or("Internet");
    if !(hop.eq_ignore_ascii_case("VirtualAppliance") || hop.eq_ignore_ascii_case("VirtualNetworkGateway")) || default.is_none() {
        let what = if default.is_some() { format!("has a next hop of {hop}") } else { "is missing".to_string() };
        return Err(ArmError::bad_request(
            "RouteTableInvalidNextHop",
            format!(
                "Default route 0.0.0.0/0 in route table {} {what} but only next hops of VirtualAppliance or VirtualNetworkGateway are allowed",
                rt.id
            ),
        ));
    }
    Ok(())
}

/// Normalises one pool's properties (defaults, subnet check).
fn pool_props(st: &State, name: &str, mut p: Value, version: &str, udr: bool) -> Result<Value, ArmError> {
    POOL_NAME.check(name, "agent pool")?;
    for ro in POOL_READONLY {
        jpath::remove(&mut p, ro.trim_start_matches("properties."));
    }
    if p.get("vmSize").and_then(Value::as_str).is_none() {
        return Err(ArmError::bad_request("InvalidParameter", format!("Agent pool {name} needs vmSize.")).with_target("vmSize"));
    }
    jpath::default(&mut p, "mode", json!("User"));
    jpath::default(&mut p, "count", json!(1));
    jpath::default(&mut p, "osType", json!("Linux"));
    jpath::default(&mut p, "osSKU", json!("Ubuntu"));
    jpath::default(&mut p, "type", json!("VirtualMachineScaleSets"));
    jpath::default(&mut p, "maxPods", json!(110));
    jpath::default(&mut p, "osDiskType", json!("Managed"));
    jpath::default(&mut p, "osDiskSizeGB", json!(128));
    jpath::default(&mut p, "enableAutoScaling", json!(false));
    jpath::default(&mut p, "orchestratorVersion", json!(version));
    if p.get("osType").and_then(Value::as_str) == Some("Windows") && name.len() > 6 {
        return Err(ArmError::bad_request(
            "InvalidParameter",
            format!("Windows agent pool name {name} can not be longer than 6 characters."),
        )
        .with_target("name"));
    }
    let count = p.get("count").and_then(Value::as_i64).unwrap_or(1);
    if p.get("mode").and_then(Value::as_str) == Some("System") && count < 1 {
        return Err(
            ArmError::bad_request("InvalidParameter", format!("System agent pool {name} must have at least 1 node.")).with_target("count")
        );
    }
    let subnet = p.get("vnetSubnetID").and_then(Value::as_str).map(str::to_string);
    if let Some(s) = &subnet
        && st.get(&crate::armpath::key_of(s)).filter(|r| r.is(SUBNET_TYPE)).is_none()
    {
        return Err(invalid_reference(s, name));
    }
    if udr {
        check_udr(st, subnet.as_deref(), name)?;
    }
    Ok(p)
}

struct ClusterHooks;

impl Hooks for ClusterHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let owner = cx.id.clone();
        let name = cx.name.clone();
        let location = cx.location();
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        let existing = cx.existing;
        let old = |path: &str| existing.and_then(|e| e.prop(path)).cloned();

        // dnsPrefix: required, well formed, immutable.
        let prefix = cx.prop_str("dnsPrefix").map(str::to_string).or_else(|| old("dnsPrefix").and_then(|v| v.as_str().map(str::to_string)));
        let Some(prefix) = prefix else {
            return Err(ArmError::bad_request("InvalidParameter", "Required parameter dnsPrefix is missing (null).")
                .with_target("properties.dnsPrefix"));
        };
        let ok = (1..=54).contains(&prefix.len())
            && prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !prefix.starts_with('-')
            && !prefix.ends_with('-');
        if !ok {
            return Err(ArmError::bad_request(
                "InvalidDnsPrefix",
                format!("DNS prefix '{prefix}' is invalid: 1-54 letters, digits and hyphens, starting and ending with a letter or digit."),
            ));
        }
        if old("dnsPrefix").and_then(|v| v.as_str().map(str::to_string)).is_some_and(|o| o != prefix) {
            return Err(ArmError::bad_request("PropertyChangeNotAllowed", "Changing property 'dnsPrefix' is not allowed.")
                .with_target("properties.dnsPrefix"));
        }
        cx.body["properties"]["dnsPrefix"] = json!(prefix);

        jpath::default(&mut cx.body, "properties.kubernetesVersion", json!("1.33"));
        let version = cx.prop_str("kubernetesVersion").unwrap_or("1.33").to_string();
        let current = patch_version(&version)?;
        jpath::default(&mut cx.body, "sku", json!({"name": "Base", "tier": "Free"}));
        jpath::default(&mut cx.body, "properties.enableRBAC", json!(true));
        jpath::default(&mut cx.body, "identity", json!({"type": "SystemAssigned"}));

        // Network profile.
        let np_default = json!({
            "networkPlugin": "azure", "networkPluginMode": "overlay", "loadBalancerSku": "standard",
            "outboundType": "loadBalancer", "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10",
            "podCidr": "10.244.0.0/16", "ipFamilies": ["IPv4"],
        });
        let mut np = cx.prop("networkProfile").cloned().unwrap_or(json!({}));
        for (k, v) in np_default.as_object().expect("object") {
            jpath::default(&mut np, k, v.clone());
        }
        network_policy(&mut np, old("networkProfile.networkPolicy"), old("networkProfile.networkDataplane"))?;
        let outbound = np["outboundType"].as_str().unwrap_or("loadBalancer").to_string();
        if let Some(o) = old("networkProfile.outboundType").and_then(|v| v.as_str().map(str::to_string))
            && o != outbound
        {
            return Err(ArmError::bad_request(
                "PropertyChangeNotAllowed",
                "Changing property 'networkProfile.outboundType' is not allowed.",
            )
            .with_target("properties.networkProfile.outboundType"));
        }
        let service_cidr = crate::ipam::prefix(np["serviceCidr"].as_str().unwrap_or(""), &owner)?;
        let dns_ip: std::net::Ipv4Addr = np["dnsServiceIP"]
            .as_str()
            .unwrap_or("")
            .parse()
            .map_err(|_| ArmError::bad_request("InvalidDnsServiceIP", "networkProfile.dnsServiceIP must be an IPv4 address."))?;
        if !service_cidr.contains(&dns_ip) {
            return Err(ArmError::bad_request(
                "InvalidDnsServiceIP",
                format!("The DNS service IP {dns_ip} must be within the service CIDR {service_cidr}."),
            ));
        }
        cx.body["properties"]["networkProfile"] = np;
        let udr = outbound == "userDefinedRouting";

        // Agent pools: authoritative when listed; at least one System pool.
        let listed = cx.prop("agentPoolProfiles").and_then(Value::as_array).cloned();
        if existing.is_none() && listed.as_ref().is_none_or(Vec::is_empty) {
            return Err(ArmError::bad_request(
                "InvalidParameter",
                "A managed cluster needs agentPoolProfiles with at least one System pool.",
            )
            .with_target("properties.agentPoolProfiles"));
        }
        if let Some(o) = cx.body["properties"].as_object_mut() {
            o.remove("agentPoolProfiles");
        }
        let existing_pools: Vec<&Resource> = cx.st.children(&cx.key, POOL_TYPE);
        let mut planned: Vec<(String, Value)> = Vec::new();
        match &listed {
            Some(list) => {
                for (i, prof) in list.iter().enumerate() {
                    let pname = prof.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                    let mut p = prof.clone();
                    if let Some(o) = p.as_object_mut() {
                        o.remove("name");
                    }
                    if i == 0 && p.get("mode").is_none() {
                        p["mode"] = json!("System");
                    }
                    let p = pool_props(cx.st, &pname, p, &version, udr)?;
                    if planned.iter().any(|(n, _)| n == &pname) {
                        return Err(ArmError::bad_request("InvalidParameter", format!("Agent pool name {pname} is used more than once.")));
                    }
                    planned.push((pname, p));
                }
            }
            None => {
                for pool in &existing_pools {
                    planned.push((pool.name().to_string(), pool.body["properties"].clone()));
                }
                if udr {
                    for (n, p) in &planned {
                        check_udr(cx.st, p.get("vnetSubnetID").and_then(Value::as_str), n)?;
                    }
                }
            }
        }
        if !planned.iter().any(|(_, p)| p.get("mode").and_then(Value::as_str) == Some("System")) {
            return Err(ArmError::bad_request("MustDefineAtLeastOneSystemPool", "Must define at least one system pool."));
        }
        // The service CIDR must not overlap the node subnets' VNets.
        for (_, p) in &planned {
            if let Some(s) = p.get("vnetSubnetID").and_then(Value::as_str)
                && let Some(net) = cx.st.get(&crate::armpath::key_of(s)).and_then(subnet_net)
                && crate::ipam::overlaps(&net, &service_cidr)
            {
                return Err(ArmError::bad_request(
                    "ServiceCidrOverlapExistingSubnetsCidr",
                    format!("The specified service CIDR {service_cidr} is conflicted with an existing subnet CIDR {net}"),
                ));
            }
        }

        // Identity, OIDC and workload identity.
        let oidc = cx.prop("oidcIssuerProfile.enabled").and_then(Value::as_bool).unwrap_or(false);
        if old("oidcIssuerProfile.enabled").and_then(|v| v.as_bool()) == Some(true) && !oidc {
            return Err(ArmError::bad_request(
                "OIDCIssuerFeatureCannotBeDisabled",
                "The OIDC issuer cannot be disabled once it is enabled.",
            )
            .with_target("properties.oidcIssuerProfile.enabled"));
        }
        let wi = cx.prop("securityProfile.workloadIdentity.enabled").and_then(Value::as_bool).unwrap_or(false);
        if wi && !oidc {
            return Err(ArmError::bad_request(
                "OIDCIssuerRequiredForWorkloadIdentity",
                "Enabling workload identity requires enabling the OIDC issuer (oidcIssuerProfile.enabled).",
            )
            .with_target("properties.securityProfile.workloadIdentity.enabled"));
        }
        if cx.prop("disableLocalAccounts").and_then(Value::as_bool) == Some(true)
            && cx.prop("aadProfile.managed").and_then(Value::as_bool) != Some(true)
        {
            return Err(ArmError::bad_request(
                "BadRequest",
                "Local accounts can only be disabled on clusters with managed Microsoft Entra integration (aadProfile.managed).",
            )
            .with_target("properties.disableLocalAccounts"));
        }
        let id_type = jpath::get_str(&cx.body, "identity.type").unwrap_or("SystemAssigned").to_string();
        if id_type == "UserAssigned" {
            let ids: Vec<String> = jpath::get(&cx.body, "identity.userAssignedIdentities")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            if ids.len() != 1 {
                return Err(ArmError::bad_request("InvalidParameter", "A UserAssigned cluster identity needs exactly one identity.")
                    .with_target("identity.userAssignedIdentities"));
            }
            let uai =
                cx.st.get(&crate::armpath::key_of(&ids[0])).filter(|u| u.is(UAI_TYPE)).ok_or_else(|| invalid_reference(&ids[0], &owner))?;
            cx.body["identity"]["userAssignedIdentities"] =
                json!({ids[0].clone(): {"principalId": uai.prop_str("principalId"), "clientId": uai.prop_str("clientId")}});
        } else if id_type == "SystemAssigned" {
            cx.keep("identity.principalId", |c| json!(c.guid("systemIdentity")));
            let tenant = cx.tenant().to_string();
            cx.body["identity"]["tenantId"] = json!(tenant);
        }

        // Node resource group and the identities AKS creates in it.
        let rg = cx.rg.clone().unwrap_or_default();
        let default_node_rg = format!("MC_{rg}_{name}_{location}");
        let node_rg = cx
            .prop_str("nodeResourceGroup")
            .map(str::to_string)
            .or_else(|| old("nodeResourceGroup").and_then(|v| v.as_str().map(str::to_string)))
            .unwrap_or(default_node_rg);
        if let Some(o) = old("nodeResourceGroup").and_then(|v| v.as_str().map(str::to_string))
            && !o.eq_ignore_ascii_case(&node_rg)
        {
            return Err(ArmError::bad_request("PropertyChangeNotAllowed", "Changing property 'nodeResourceGroup' is not allowed."));
        }
        let node_rg_id = format!("/subscriptions/{}/resourceGroups/{node_rg}", cx.sub);
        let node_rg_key = crate::armpath::key_of(&node_rg_id);
        if existing.is_none() {
            if let Some(r) = cx.st.get(&node_rg_key) {
                let _ = r;
                return Err(ArmError::bad_request(
                    "NodeResourceGroupAlreadyExists",
                    format!("The node resource group {node_rg} already exists; AKS creates it and it must not exist beforehand."),
                ));
            }
            cx.upsert(RG_TYPE, node_rg_id.clone(), json!({"location": location, "managedBy": owner, "tags": {}, "properties": {}}));
        }
        cx.body["properties"]["nodeResourceGroup"] = json!(node_rg);
        let platform_uai = |cx: &mut PutCx<'_>, uai_name: &str| -> (String, Value) {
            let id = format!("{node_rg_id}/providers/{UAI_TYPE}/{uai_name}");
            let key = crate::armpath::key_of(&id);
            let body = match cx.st.get(&key) {
                Some(u) => u.body.to_value(),
                None => {
                    let b = platform_uai_body(cx.cfg.seed, &cx.cfg.tenant_id, &key, cx.st.next_incarnation(&key), &location);
                    cx.upsert(UAI_TYPE, id.clone(), b.clone());
                    b
                }
            };
            (
                id.clone(),
                json!({"resourceId": id, "clientId": body["properties"]["clientId"], "objectId": body["properties"]["principalId"]}),
            )
        };
        let kubelet = match cx.prop_str("identityProfile.kubeletidentity.resourceId").map(str::to_string) {
            Some(id) if !id.to_ascii_lowercase().starts_with(&node_rg_key) => {
                let u = cx.st.get(&crate::armpath::key_of(&id)).filter(|u| u.is(UAI_TYPE)).ok_or_else(|| invalid_reference(&id, &owner))?;
                json!({"resourceId": u.id, "clientId": u.prop_str("clientId"), "objectId": u.prop_str("principalId")})
            }
            _ => platform_uai(cx, &format!("{name}-agentpool")).1,
        };
        cx.body["properties"]["identityProfile"] = json!({"kubeletidentity": kubelet});
        if let Some(addons) = cx.prop("addonProfiles").and_then(Value::as_object).cloned() {
            let mut out = Map::new();
            for (k, mut v) in addons {
                if let Some(o) = v.as_object_mut() {
                    o.remove("identity");
                }
                let enabled = v.get("enabled").and_then(Value::as_bool) == Some(true);
                if enabled && k.eq_ignore_ascii_case("omsagent") {
                    let ws = jpath::get_str(&v, "config.logAnalyticsWorkspaceResourceID").unwrap_or("").to_string();
                    if cx.st.get(&crate::armpath::key_of(&ws)).filter(|w| w.is(super::monitor::LAW_TYPE)).is_none() {
                        return Err(invalid_reference(&ws, &owner));
                    }
                    v["identity"] = platform_uai(cx, &format!("omsagent-{name}")).1;
                }
                out.insert(k, v);
            }
            cx.body["properties"]["addonProfiles"] = Value::Object(out);
        }

        // Private cluster: private FQDN and (for privateDNSZone "system") the zone in the node RG.
        let api_subnet = planned.iter().find_map(|(_, p)| p.get("vnetSubnetID").and_then(Value::as_str).map(str::to_string));
        let private = cx.prop("apiServerAccessProfile.enablePrivateCluster").and_then(Value::as_bool).unwrap_or(false);
        let hash = cx.hex("fqdn", 8);
        let zone_guid = cx.guid("private-dns-zone");
        cx.body["properties"]["fqdn"] = json!(format!("{prefix}-{hash}.hcp.{location}.azmk8s.io"));
        cx.body["properties"]["azurePortalFQDN"] = json!(format!("{prefix}-{hash}.portal.hcp.{location}.azmk8s.io"));
        if private {
            jpath::default(&mut cx.body, "properties.apiServerAccessProfile.privateDNSZone", json!("system"));
            jpath::default(&mut cx.body, "properties.apiServerAccessProfile.enablePrivateClusterPublicFQDN", json!(true));
            let zone = cx.prop_str("apiServerAccessProfile.privateDNSZone").unwrap_or("system").to_string();
            let zone_name = match zone.to_ascii_lowercase().as_str() {
                "system" => {
                    let zname = format!("{zone_guid}.privatelink.{location}.azmk8s.io");
                    if existing.is_none() {
                        let zone_id = format!("{node_rg_id}/providers/{}/{zname}", super::dns::ZONE_TYPE);
                        cx.upsert(super::dns::ZONE_TYPE, zone_id.clone(), json!({"location": "global", "tags": {}, "properties": {}}));
                        // As AKS does: the API server's record, at an address in the node subnet, and a
                        // link to the cluster's own VNet (and no other).
                        if let Some(subnet) = api_subnet.as_deref() {
                            system_zone_entries(cx, &zone_id, subnet, &format!("{prefix}-{hash}"));
                        }
                    }
                    zname
                }
                "none" => format!("{zone_guid}.privatelink.{location}.azmk8s.io"),
                _ => {
                    let z = cx.st.get(&crate::armpath::key_of(&zone)).ok_or_else(|| invalid_reference(&zone, &owner))?;
                    z.name().to_string()
                }
            };
            let host = format!("{prefix}-{hash}");
            let fqdn = match zone_name.split_once(".privatelink.") {
                Some((sub, _)) if !sub.is_empty() && zone.eq_ignore_ascii_case("system") => format!("{host}.{zone_name}"),
                _ => format!("{host}.{zone_guid}.privatelink.{location}.azmk8s.io"),
            };
            cx.body["properties"]["privateFQDN"] = json!(fqdn);
        }
        if oidc {
            let tenant = cx.tenant().to_string();
            cx.keep("properties.oidcIssuerProfile.issuerURL", |c| {
                json!(format!("https://{location}.oic.prod-aks.azure.com/{tenant}/{}/", c.guid("oidc-issuer")))
            });
        }
        cx.body["properties"]["currentKubernetesVersion"] = json!(current);
        cx.body["properties"]["maxAgentPools"] = json!(100);
        cx.body["properties"]["powerState"] = json!({"code": "Running"});
        cx.keep("properties.resourceUID", |c| json!(c.hex("resourceUID", 24)));

        // Pools: upsert the planned ones through the cluster; drop the ones no longer listed.
        if listed.is_some() {
            for pool in &existing_pools {
                if !planned.iter().any(|(n, _)| n.eq_ignore_ascii_case(pool.name())) {
                    cx.remove(pool.key());
                }
            }
        }
        for (pname, p) in planned {
            let id = existing_pools
                .iter()
                .find(|x| x.name().eq_ignore_ascii_case(&pname))
                .map(|x| x.id.clone())
                .unwrap_or(format!("{owner}/agentPools/{pname}"));
            cx.covers.push(crate::armpath::key_of(&id));
            cx.upsert(POOL_TYPE, id, json!({"properties": p}));
        }
        Ok(())
    }

    fn render(&self, st: &State, cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let pools: Vec<Value> = st
            .children(&res.key(), POOL_TYPE)
            .into_iter()
            .map(|p| {
                let r = crate::engine::render(st, cfg, p);
                let mut prof = r["properties"].clone();
                prof["name"] = json!(p.name());
                prof
            })
            .collect();
        body["properties"]["agentPoolProfiles"] = json!(pools);
        if res.prov.shown() == "Deleting" {
            body["properties"]["powerState"] = json!({"code": "Stopped"});
        }
    }

    fn action(&self, _st: &State, cfg: &SimConfig, res: &Resource, action: &str) -> Option<Result<Value, ArmError>> {
        let (name, user) = match action {
            "listclusterusercredential" => ("clusterUser", true),
            "listclusteradmincredential" => ("clusterAdmin", false),
            _ => return None,
        };
        if !user && res.prop("disableLocalAccounts").and_then(Value::as_bool) == Some(true) {
            return Some(Err(ArmError::bad_request(
                "BadRequest",
                "Getting static credential is not allowed because this cluster is set to disable local accounts.",
            )));
        }
        let server = res.prop_str("privateFQDN").or_else(|| res.prop_str("fqdn")).unwrap_or("localhost").to_string();
        let cluster = res.name();
        let token = crate::ids::hexid(cfg.seed, &[&res.key(), name, &res.incarnation.to_string()], 64);
        let user_entry = if user && res.prop("aadProfile.managed").and_then(Value::as_bool) == Some(true) {
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin\n      args: [get-token, --login, devicecode, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]".to_string()
        } else {
            format!("    token: {token}")
        };
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {cluster}\n  cluster:\n    server: https://{server}:443\n    certificate-authority-data: TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PQ==\ncontexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: {name}_{cluster}\ncurrent-context: {cluster}\nusers:\n- name: {name}_{cluster}\n  user:\n{user_entry}\n"
        );
        use base64::Engine;
        Some(Ok(json!({"kubeconfigs": [{"name": name, "value": base64::engine::general_purpose::STANDARD.encode(kubeconfig)}]})))
    }

    fn on_delete(&self, _st: &State, _cfg: &SimConfig, _now: i64, res: &Resource) -> Vec<Effect> {
        // AKS deletes the node resource group it manages.
        match (res.prop_str("nodeResourceGroup"), crate::armpath::parse_id(&res.id)) {
            (Some(node_rg), Some(p)) => vec![Effect::Remove { key: crate::engine::rg_key(&p.sub, node_rg) }],
            _ => Vec::new(),
        }
    }
}

struct PoolHooks;

impl Hooks for PoolHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let cluster = cx.parent.expect("pools have a cluster");
        let version = cluster.prop_str("kubernetesVersion").unwrap_or("1.33").to_string();
        let udr = cluster.prop_str("networkProfile.outboundType") == Some("userDefinedRouting");
        let props = cx.body.get("properties").cloned().unwrap_or(json!({}));
        let props = pool_props(cx.st, &cx.name, props, &version, udr)?;
        if let Some(e) = cx.existing
            && e.prop_str("mode") == Some("System")
            && props.get("mode").and_then(Value::as_str) != Some("System")
        {
            let others = cx
                .st
                .children(&cluster.key(), POOL_TYPE)
                .into_iter()
                .filter(|p| p.key() != cx.key && p.prop_str("mode") == Some("System"))
                .count();
            if others == 0 {
                return Err(ArmError::bad_request("MustDefineAtLeastOneSystemPool", "Must define at least one system pool."));
            }
        }
        cx.body = json!({"properties": props});
        Ok(())
    }

    fn render(&self, _st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let p = &mut body["properties"];
        let version = p.get("orchestratorVersion").and_then(Value::as_str).unwrap_or("1.33").to_string();
        p["currentOrchestratorVersion"] = json!(patch_version(&version).unwrap_or(version));
        p["powerState"] = json!({"code": if res.prov.shown() == "Deleting" { "Stopped" } else { "Running" }});
        p["nodeImageVersion"] = json!("AKSUbuntu-2204gen2containerd-202511.01.0");
    }

    fn check_delete(&self, st: &State, res: &Resource) -> Result<(), ArmError> {
        if res.prop_str("mode") != Some("System") {
            return Ok(());
        }
        let cluster = res.key().rsplitn(3, '/').nth(2).unwrap_or("").to_string();
        let others =
            st.children(&cluster, POOL_TYPE).into_iter().filter(|p| p.key() != res.key() && p.prop_str("mode") == Some("System")).count();
        if others == 0 {
            return Err(ArmError::bad_request(
                "OperationNotAllowed",
                format!("Agent pool {} is the last System pool of its cluster and cannot be deleted.", res.name()),
            ));
        }
        Ok(())
    }
}

/// The API server's A record and the link to the cluster's VNet in an AKS-made private zone.
fn system_zone_entries(cx: &mut PutCx<'_>, zone_id: &str, subnet_id: &str, host: &str) {
    let subnet_key = crate::armpath::key_of(subnet_id);
    let Some(subnet) = cx.st.get(&subnet_key) else { return };
    let Some(net) = super::vnet::subnet_net(subnet) else { return };
    let used = super::netmisc::used_ips(cx.st, &subnet_key, "");
    let ip = crate::ipam::allocate(&net, &used).unwrap_or_else(|| crate::ipam::nth(&net, 4));
    let vnet_id = subnet_id.rsplitn(3, '/').nth(2).unwrap_or_default().to_string();
    let link = cx.guid("system-zone-link");
    cx.upsert(
        super::dns::LINK_TYPE,
        format!("{zone_id}/virtualNetworkLinks/{link}"),
        json!({"location": "global", "tags": {}, "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": false}}),
    );
    cx.upsert(
        super::dns::A_TYPE,
        format!("{zone_id}/A/{host}"),
        json!({"properties": {"ttl": 300, "aRecords": [{"ipv4Address": ip.to_string()}]}}),
    );
}

/// The network policy engine and dataplane, as AKS accepts them: Cilium policy needs the Cilium
/// dataplane (and the reverse); a running cluster may move to Cilium or drop its engine, nothing
/// else, and never leaves the Cilium dataplane.
fn network_policy(np: &mut Value, old_policy: Option<Value>, old_dataplane: Option<Value>) -> Result<(), ArmError> {
    let policy = np.get("networkPolicy").and_then(Value::as_str).unwrap_or("none").to_ascii_lowercase();
    let dataplane = np.get("networkDataplane").and_then(Value::as_str).unwrap_or("azure").to_ascii_lowercase();
    if !["none", "azure", "calico", "cilium"].contains(&policy.as_str()) {
        return Err(ArmError::bad_request(
            "InvalidParameter",
            format!(
                "The value of parameter networkProfile.networkPolicy is invalid: '{policy}'. Allowed values are 'azure', 'calico', 'cilium' and 'none'."
            ),
        ));
    }
    if (policy == "cilium") != (dataplane == "cilium") {
        return Err(ArmError::bad_request(
            "InvalidParameter",
            format!(
                "networkPolicy '{policy}' with networkDataplane '{dataplane}': the cilium network policy requires the cilium dataplane, and the cilium dataplane enforces only the cilium network policy."
            ),
        ));
    }
    if let Some(old) =
        old_policy.as_ref().and_then(Value::as_str).map(str::to_ascii_lowercase).or(old_dataplane.as_ref().map(|_| "none".to_string()))
        && old != policy
        && !(policy == "cilium" || policy == "none")
    {
        return Err(ArmError::bad_request(
            "OperationNotAllowed",
            format!(
                "Changing networkPolicy from '{old}' to '{policy}' is not supported on an existing cluster; a cluster can be updated to 'cilium' or to 'none' only."
            ),
        ));
    }
    if old_dataplane.as_ref().and_then(Value::as_str).is_some_and(|d| d.eq_ignore_ascii_case("cilium")) && dataplane != "cilium" {
        return Err(ArmError::bad_request("OperationNotAllowed", "Changing networkDataplane from 'cilium' is not supported."));
    }
    np["networkPolicy"] = json!(policy);
    np["networkDataplane"] = json!(dataplane);
    Ok(())
}

#[cfg(test)]
mod network_policy_tests {
    use super::network_policy;
    use serde_json::json;

    #[test]
    fn a_running_cluster_moves_to_cilium_or_none_only_and_never_leaves_the_cilium_dataplane() {
        let np = |p: &str, d: &str| json!({"networkPolicy": p, "networkDataplane": d});
        assert!(network_policy(&mut np("cilium", "cilium"), Some(json!("azure")), Some(json!("azure"))).is_ok());
        assert!(network_policy(&mut np("none", "azure"), Some(json!("calico")), Some(json!("azure"))).is_ok());
        let e = network_policy(&mut np("calico", "azure"), Some(json!("azure")), Some(json!("azure"))).unwrap_err();
        assert!(format!("{e:?}").contains("OperationNotAllowed"), "{e:?}");
        let e = network_policy(&mut np("none", "azure"), Some(json!("cilium")), Some(json!("cilium"))).unwrap_err();
        assert!(format!("{e:?}").contains("OperationNotAllowed"), "{e:?}");
        assert!(network_policy(&mut np("azure", "azure"), None, None).is_ok());
    }
}

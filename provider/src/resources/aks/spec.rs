//! The cluster as it should be: ids and ARM bodies (expand), and the
//! cluster a set of bodies describes (flatten), with no ARM calls.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use trench_arm::ResourceId;
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::{Val, Value, from_value};

use super::{
    AksComputed, AksConfig, DEFAULT_DNS_SERVICE_IP, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, DEFAULT_VM_SIZE, PoolConfig, PrivateAks,
};
use crate::conventions::names;
use crate::resources::common::{self, Env};
use crate::resources::composite::{Bodies, Claims, Specs, str_at};
use crate::resources::roles;

/// Control-plane log categories sent to Log Analytics.
pub const LOG_CATEGORIES: [&str; 6] =
    ["kube-apiserver", "kube-audit-admin", "kube-controller-manager", "kube-scheduler", "cluster-autoscaler", "guard"];
/// Name of trench's diagnostic setting on the cluster.
pub const DIAG_NAME: &str = "trench-control-plane";

/// Where the cluster lives.
#[derive(Clone, Debug, PartialEq)]
pub struct AksIds {
    /// Subscription.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Cluster name.
    pub name: String,
}

impl AksIds {
    /// Ids for a cluster.
    pub fn new(sub: &str, rg: &str, name: &str) -> AksIds {
        AksIds { subscription: sub.to_owned(), resource_group: rg.to_owned(), name: name.to_owned() }
    }
    /// The cluster.
    pub fn cluster_id(&self) -> ResourceId {
        ResourceId::resource(&self.subscription, &self.resource_group, "Microsoft.ContainerService", "managedClusters", &self.name)
    }
    /// A node pool.
    pub fn pool_id(&self, pool: &str) -> ResourceId {
        self.cluster_id().child("agentPools", pool)
    }
    /// trench's diagnostic setting.
    pub fn diag_id(&self) -> ResourceId {
        self.cluster_id().extension("Microsoft.Insights", "diagnosticSettings", DIAG_NAME)
    }
}

/// One node pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// Name.
    pub name: String,
    /// System or user.
    pub system: bool,
    /// VM size.
    pub vm_size: String,
    /// Fixed count (None with autoscaling).
    pub node_count: Option<i64>,
    /// Autoscaling range.
    pub autoscale: Option<(i64, i64)>,
    /// Node labels.
    pub labels: BTreeMap<String, String>,
    /// Taints.
    pub taints: Vec<String>,
}

impl Pool {
    fn from_config(name: &str, p: &PoolConfig, system: bool) -> Pool {
        let autoscale = match (&p.min_count, &p.max_count) {
            (trench_plugin::value::Val::Known(a), trench_plugin::value::Val::Known(b)) => Some((*a, *b)),
            _ => None,
        };
        Pool {
            name: name.to_owned(),
            system,
            vm_size: p.vm_size.known().cloned().unwrap_or_else(|| DEFAULT_VM_SIZE.to_owned()),
            node_count: if autoscale.is_some() { None } else { Some(p.node_count.known().copied().unwrap_or(if system { 2 } else { 1 })) },
            autoscale,
            labels: p.labels.known().cloned().unwrap_or_default(),
            taints: p.taints.known().cloned().unwrap_or_default(),
        }
    }
}

/// The desired cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct AksSpec {
    /// Ids.
    pub ids: AksIds,
    /// Environment.
    pub env: String,
    /// Location.
    pub location: String,
    /// Node subnet.
    pub subnet_id: String,
    /// Firewall policy to check, if given.
    pub firewall_policy_id: Option<String>,
    /// Kubernetes version, if pinned.
    pub kubernetes_version: Option<String>,
    /// DNS prefix.
    pub dns_prefix: String,
    /// SKU tier.
    pub sku_tier: String,
    /// Network policy engine (`cilium`, `azure`, `calico`, `none`).
    pub network_policy: String,
    /// Service CIDR.
    pub service_cidr: String,
    /// Cluster DNS IP.
    pub dns_service_ip: String,
    /// Pod CIDR.
    pub pod_cidr: String,
    /// Pools, system first.
    pub pools: Vec<Pool>,
    /// Log Analytics workspace.
    pub law: Option<String>,
    /// Container registry for AcrPull.
    pub acr: Option<String>,
    /// VNets linked to the cluster's private DNS zone besides its own.
    pub dns_links: Vec<String>,
    /// Entra admin groups.
    pub admin_groups: Vec<String>,
    /// Tenant (for managed Entra integration).
    pub tenant: Option<String>,
    /// The kubelet identity's object id, once the cluster has one.
    pub kubelet: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl PoolConfig {
    fn empty() -> PoolConfig {
        use trench_plugin::value::Val;
        PoolConfig {
            vm_size: Val::Null,
            node_count: Val::Null,
            min_count: Val::Null,
            max_count: Val::Null,
            labels: Val::Null,
            taints: Val::Null,
        }
    }
}

impl AksSpec {
    /// Properties of one pool, as the agentPools API and agentPoolProfiles take them.
    pub fn pool_properties(&self, p: &Pool) -> Json {
        let mut props = json!({
            "mode": if p.system { "System" } else { "User" },
            "vmSize": p.vm_size,
            "osType": "Linux",
            "type": "VirtualMachineScaleSets",
            "vnetSubnetID": self.subnet_id,
            "nodeLabels": p.labels,
            "nodeTaints": p.taints,
            "tags": self.tags,
        });
        match p.autoscale {
            Some((min, max)) => {
                props["enableAutoScaling"] = json!(true);
                props["minCount"] = json!(min);
                props["maxCount"] = json!(max);
                // A fresh autoscaled pool starts at its minimum.
                props["count"] = json!(min);
            }
            None => {
                props["enableAutoScaling"] = json!(false);
                props["count"] = json!(p.node_count.unwrap_or(1));
            }
        }
        if let Some(v) = &self.kubernetes_version {
            props["orchestratorVersion"] = json!(v);
        }
        props
    }

    /// The cluster body; `pools` lists the agent pool profiles to send
    /// (all of them at create, the current ones on update).
    pub fn cluster_body(&self, pools: Vec<Json>) -> Json {
        let mut props = json!({
            "dnsPrefix": self.dns_prefix,
            "enableRBAC": true,
            "apiServerAccessProfile": { "enablePrivateCluster": true, "privateDNSZone": "system", "enablePrivateClusterPublicFQDN": false },
            "oidcIssuerProfile": { "enabled": true },
            "securityProfile": { "workloadIdentity": { "enabled": true } },
            "networkProfile": {
                "networkPlugin": "azure", "networkPluginMode": "overlay", "outboundType": "userDefinedRouting", "loadBalancerSku": "standard",
                "serviceCidr": self.service_cidr, "dnsServiceIP": self.dns_service_ip, "podCidr": self.pod_cidr,
                "networkPolicy": self.network_policy
            },
            "agentPoolProfiles": pools,
        });
        if let Some(v) = &self.kubernetes_version {
            props["kubernetesVersion"] = json!(v);
        }
        if self.network_policy == "cilium" {
            props["networkProfile"]["networkDataplane"] = json!("cilium");
        }
        if !self.admin_groups.is_empty() {
            props["aadProfile"] =
                json!({ "managed": true, "enableAzureRBAC": true, "adminGroupObjectIDs": self.admin_groups, "tenantID": self.tenant });
            props["disableLocalAccounts"] = json!(true);
        }
        if let Some(law) = &self.law {
            props["addonProfiles"] =
                json!({ "omsagent": { "enabled": true, "config": { "logAnalyticsWorkspaceResourceID": law, "useAADAuth": "true" } } });
        }
        json!({
            "location": self.location,
            "tags": self.tags,
            "identity": { "type": "SystemAssigned" },
            "sku": { "name": "Base", "tier": self.sku_tier },
            "properties": props
        })
    }

    /// All pools as agentPoolProfiles (create).
    pub fn pool_profiles(&self) -> Vec<Json> {
        self.pools
            .iter()
            .map(|p| {
                let mut v = self.pool_properties(p);
                v["name"] = json!(p.name);
                v
            })
            .collect()
    }

    /// The control-plane diagnostic setting.
    pub fn diag_body(&self) -> Option<Json> {
        let law = self.law.as_ref()?;
        Some(json!({
            "properties": {
                "workspaceId": law,
                "logAnalyticsDestinationType": "Dedicated",
                "logs": LOG_CATEGORIES.iter().map(|c| json!({ "category": c, "enabled": true })).collect::<Vec<_>>(),
                "metrics": [{ "category": "AllMetrics", "enabled": true }]
            }
        }))
    }
}
/// The AcrPull assignment for the kubelet identity on `acr`.
pub fn acr_pull(sub: &str, acr: &str, kubelet_object_id: &str) -> Option<(ResourceId, Json)> {
    let scope = ResourceId::parse(acr).ok()?;
    let role = roles::role_definition_id(sub, "AcrPull")?;
    let guid = role.rsplit('/').next().unwrap_or_default().to_owned();
    let id = scope.extension("Microsoft.Authorization", "roleAssignments", &roles::assignment_name(acr, kubelet_object_id, &guid));
    // principalType always: a fresh identity is not yet in ARM's replica of the directory.
    let body = json!({ "properties": { "roleDefinitionId": role, "principalId": kubelet_object_id, "principalType": "ServicePrincipal" } });
    Some((id, body))
}

/// Network Contributor for the cluster's own identity on the node subnet and its route table: a
/// userDefinedRouting cluster's internal load balancers fail with `LinkedAuthorizationFailed`
/// without it. Empty until the cluster reports its identity; `subnet` is the node subnet's body.
pub fn network_roles(spec: &AksSpec, cluster: &Json, subnet: Option<&Json>) -> Vec<(ResourceId, Json)> {
    let Some(principal) = str_at(cluster, "/identity/principalId") else { return Vec::new() };
    let Ok(subnet_id) = ResourceId::parse(&spec.subnet_id) else { return Vec::new() };
    let mut scopes = vec![subnet_id];
    if let Some(rt) = subnet.and_then(|s| str_at(s, "/properties/routeTable/id")).and_then(|r| ResourceId::parse(r).ok()) {
        scopes.push(rt);
    }
    let Some(role) = roles::role_definition_id(&spec.ids.subscription, "Network Contributor") else { return Vec::new() };
    let guid = role.rsplit('/').next().unwrap_or_default().to_owned();
    scopes
        .into_iter()
        .map(|scope| {
            let name = roles::assignment_name(&scope.to_string(), principal, &guid);
            let body = json!({ "properties": { "roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal" } });
            (scope.extension("Microsoft.Authorization", "roleAssignments", &name), body)
        })
        .collect()
}

/// The link of `vnet` to the private DNS zone AKS made for the API server (in the node resource
/// group, named by the private FQDN without its host label). None before the cluster reports them.
pub fn dns_link(spec: &AksSpec, cluster: &Json, vnet: &str) -> Option<(ResourceId, Json)> {
    let fqdn = str_at(cluster, "/properties/privateFQDN")?;
    let node_rg = str_at(cluster, "/properties/nodeResourceGroup")?;
    let zone = fqdn.split_once('.')?.1;
    let vnet_id = ResourceId::parse(vnet).ok()?;
    let name = format!("trench-{}", vnet_id.name()).to_ascii_lowercase();
    let id = ResourceId::resource(&spec.ids.subscription, node_rg, "Microsoft.Network", "privateDnsZones", zone)
        .child("virtualNetworkLinks", &name);
    let body = json!({ "location": "global", "tags": spec.tags, "properties": { "virtualNetwork": { "id": vnet }, "registrationEnabled": false } });
    Some((id, body))
}

/// One object the cluster owns (its pools live inside it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// The managed cluster with its pools.
    Cluster,
    /// trench's control-plane diagnostic setting.
    Diag,
    /// AcrPull for the kubelet identity (its object id).
    AcrPull(String),
    /// Network Contributor for the cluster identity (the assignment's id).
    NetworkRole(String),
    /// A link of another VNet to the cluster's private DNS zone (the link's id).
    DnsLink(String),
    /// The node subnet as read (not owned: its route table names a role scope).
    NodeSubnet,
}

impl Slot {
    /// The object's id.
    pub fn id(&self, spec: &AksSpec) -> ResourceId {
        match self {
            Slot::Cluster => spec.ids.cluster_id(),
            Slot::Diag => spec.ids.diag_id(),
            Slot::NetworkRole(id) | Slot::DnsLink(id) => ResourceId::parse(id).unwrap_or_else(|_| spec.ids.cluster_id()),
            Slot::NodeSubnet => ResourceId::parse(&spec.subnet_id).unwrap_or_else(|_| spec.ids.cluster_id()),
            Slot::AcrPull(kubelet) => match spec.acr.as_deref().and_then(|acr| acr_pull(&spec.ids.subscription, acr, kubelet)) {
                Some((id, _)) => id,
                None => spec.ids.cluster_id(),
            },
        }
    }
}

/// A pool as its profile in the cluster body says.
fn pool_of(name: &str, p: &Json) -> Pool {
    let num = |k: &str| p.get(k).and_then(Json::as_i64);
    let autoscale = p.get("enableAutoScaling").and_then(Json::as_bool) == Some(true);
    Pool {
        name: name.to_owned(),
        system: str_at(p, "/mode").is_some_and(|m| m.eq_ignore_ascii_case("System")),
        vm_size: str_at(p, "/vmSize").unwrap_or("").to_owned(),
        node_count: if autoscale { None } else { num("count") },
        autoscale: if autoscale { num("minCount").zip(num("maxCount")) } else { None },
        labels: p
            .get("nodeLabels")
            .and_then(Json::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned())).collect())
            .unwrap_or_default(),
        taints: p
            .get("nodeTaints")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
    }
}

/// The pools in a cluster body, by name.
pub fn profiles(cluster: &Json) -> Vec<(String, Json)> {
    cluster
        .pointer("/properties/agentPoolProfiles")
        .and_then(Json::as_array)
        .map(|ps| ps.iter().filter_map(|p| Some((p.get("name")?.as_str()?.to_owned(), p.clone()))).collect())
        .unwrap_or_default()
}

/// The cluster the bodies describe (flatten); `spec` supplies what they
/// cannot say (names, the firewall policy to check, tags). A pinned
/// version that the running one starts with stays as written (`1.33`).
pub fn flatten(spec: &AksSpec, b: &Bodies<Slot>) -> AksSpec {
    let mut s = spec.clone();
    if let Some(c) = b.get(&Slot::Cluster) {
        let prop = |k: &str| str_at(c, &format!("/properties/{k}")).map(str::to_owned);
        s.location = str_at(c, "/location").map(str::to_owned).unwrap_or(s.location);
        s.sku_tier = str_at(c, "/sku/tier").map(str::to_owned).unwrap_or(s.sku_tier);
        s.network_policy = prop("networkProfile/networkPolicy").unwrap_or_else(|| "none".into());
        if let Some(have) = prop("kubernetesVersion")
            && !s.kubernetes_version.as_ref().is_some_and(|want| have.starts_with(want.as_str()))
        {
            s.kubernetes_version = Some(have);
        }
        s.dns_prefix = prop("dnsPrefix").unwrap_or(s.dns_prefix);
        s.service_cidr = prop("networkProfile/serviceCidr").unwrap_or(s.service_cidr);
        s.dns_service_ip = prop("networkProfile/dnsServiceIP").unwrap_or(s.dns_service_ip);
        s.pod_cidr = prop("networkProfile/podCidr").unwrap_or(s.pod_cidr);
        s.law = c
            .pointer("/properties/addonProfiles/omsagent")
            .filter(|o| o.get("enabled").and_then(Json::as_bool) == Some(true))
            .and_then(|o| str_at(o, "/config/logAnalyticsWorkspaceResourceID"))
            .map(str::to_owned);
        s.admin_groups = c
            .pointer("/properties/aadProfile/adminGroupObjectIDs")
            .and_then(Json::as_array)
            .map(|g| g.iter().filter_map(Json::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let pools = profiles(c);
        if let Some(subnet) = pools.iter().find_map(|(_, p)| str_at(p, "/vnetSubnetID")) {
            s.subnet_id = subnet.to_owned();
        }
        // System first, then the others by name.
        let mut ps: Vec<Pool> = pools.iter().map(|(n, p)| pool_of(n, p)).collect();
        ps.sort_by(|a, b| (!a.system, &a.name).cmp(&(!b.system, &b.name)));
        s.pools = ps;
        s.kubelet = str_at(c, "/properties/identityProfile/kubeletidentity/objectId").map(str::to_owned);
    }
    s
}

impl Specs for PrivateAks {
    type Spec = AksSpec;
    type Slot = Slot;

    /// The desired cluster from a planned or state value.
    fn spec_from(e: &Env, v: &Value) -> Result<AksSpec, Diagnostics> {
        let c: AksConfig = from_value(v)?;
        fn need<T: Clone>(x: Option<&T>, what: &str) -> Result<T, Diagnostics> {
            x.cloned().ok_or_else(|| Diagnostics::error("Planned value not known", format!("{what} is not known at apply time.")))
        }
        let env: String = need(c.environment.known(), "environment")?;
        let defaults = names::cluster(&env);
        let name = c.name.known().cloned().unwrap_or(defaults.cluster);
        let rg = c.resource_group_name.known().cloned().unwrap_or(defaults.resource_group);
        // Pools are read object by object: a planned pool's count may be
        // unknown (autoscaling), which must not hide the whole pool.
        let system: PoolConfig = v
            .get_attr("system_pool")
            .filter(|p| !p.is_null() && !p.is_unknown())
            .map(from_value)
            .transpose()?
            .unwrap_or_else(PoolConfig::empty);
        let mut pools = vec![Pool::from_config("system", &system, true)];
        if let Some(Value::Map(ps)) = v.get_attr("node_pools") {
            for (n, p) in ps {
                pools.push(Pool::from_config(n, &from_value(p)?, false));
            }
        }
        let sub = common::subscription_of(v, e);
        Ok(AksSpec {
            ids: AksIds::new(&sub, &rg, &name),
            location: need(c.location.known(), "location")?,
            subnet_id: need(c.subnet_id.known(), "subnet_id")?,
            firewall_policy_id: c.firewall_policy_id.known().cloned(),
            kubernetes_version: c.kubernetes_version.known().cloned(),
            dns_prefix: c.dns_prefix.known().cloned().unwrap_or_else(|| name.clone()),
            sku_tier: c.sku_tier.known().cloned().unwrap_or_else(|| "Free".into()),
            network_policy: c.network_policy.known().cloned().unwrap_or_else(|| super::DEFAULT_NETWORK_POLICY.into()),
            service_cidr: c.service_cidr.known().cloned().unwrap_or_else(|| DEFAULT_SERVICE_CIDR.into()),
            dns_service_ip: c.dns_service_ip.known().cloned().unwrap_or_else(|| DEFAULT_DNS_SERVICE_IP.into()),
            pod_cidr: c.pod_cidr.known().cloned().unwrap_or_else(|| DEFAULT_POD_CIDR.into()),
            pools,
            law: c.log_analytics_workspace_id.known().cloned(),
            acr: c.acr_id.known().cloned(),
            dns_links: c.dns_link_virtual_network_ids.known().cloned().unwrap_or_default(),
            admin_groups: c.admin_group_object_ids.known().cloned().unwrap_or_default(),
            tenant: e.tenant.clone(),
            kubelet: v.get_attr("kubelet_identity_object_id").and_then(Value::as_str).map(str::to_owned),
            tags: common::with_owner(common::tags_all(&e.default_tags, &env, c.tags.known()), "trench_private_aks", &name),
            env,
        })
    }

    fn id(spec: &AksSpec, slot: &Slot) -> ResourceId {
        slot.id(spec)
    }

    /// Every object the spec owns; AcrPull once the kubelet identity is known.
    fn slots(spec: &AksSpec) -> Vec<Slot> {
        let mut s = vec![Slot::Cluster];
        if spec.law.is_some() {
            s.push(Slot::Diag);
        }
        if let (Some(_), Some(k)) = (&spec.acr, &spec.kubelet) {
            s.push(Slot::AcrPull(k.clone()));
        }
        s
    }

    fn import_id(spec: &AksSpec) -> ResourceId {
        spec.ids.cluster_id()
    }

    fn tags(spec: &AksSpec) -> &BTreeMap<String, String> {
        &spec.tags
    }

    fn claims(spec: &AksSpec) -> Claims {
        Claims { group: None, objects: vec![spec.ids.cluster_id()] }
    }

    /// Computed attributes from what exists.
    fn computed(spec: &AksSpec, b: &Bodies<Slot>) -> AksComputed {
        let c = b.get(&Slot::Cluster);
        let s = |ptr: &str| match c.and_then(|c| str_at(c, ptr)) {
            Some(v) => Val::Known(v.to_owned()),
            None => Val::Null,
        };
        let acr_pull = b.iter().find(|(slot, _)| matches!(slot, Slot::AcrPull(_))).and_then(|(_, a)| str_at(a, "/id"));
        AksComputed {
            id: Val::Known(spec.ids.cluster_id().to_string()),
            oidc_issuer_url: s("/properties/oidcIssuerProfile/issuerURL"),
            kubelet_identity_object_id: s("/properties/identityProfile/kubeletidentity/objectId"),
            kubelet_identity_client_id: s("/properties/identityProfile/kubeletidentity/clientId"),
            kubelet_identity_id: s("/properties/identityProfile/kubeletidentity/resourceId"),
            private_fqdn: s("/properties/privateFQDN"),
            node_resource_group: s("/properties/nodeResourceGroup"),
            current_kubernetes_version: s("/properties/currentKubernetesVersion"),
            acr_pull_role_assignment_id: match (&spec.acr, acr_pull) {
                (Some(_), Some(id)) => Val::Known(id.to_owned()),
                _ => Val::Null,
            },
            diagnostic_setting_id: if spec.law.is_some() && b.has(&Slot::Diag) {
                Val::Known(spec.ids.diag_id().to_string())
            } else {
                Val::Null
            },
        }
    }
}

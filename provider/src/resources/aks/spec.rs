//! The cluster as it should be: ids and ARM bodies, no ARM calls.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::{AksConfig, DEFAULT_DNS_SERVICE_IP, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, DEFAULT_VM_SIZE, PoolConfig};
use crate::resources::common;
use trench_arm::ResourceId;
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::{Value, from_value};

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
    /// Entra admin groups.
    pub admin_groups: Vec<String>,
    /// Tenant (for managed Entra integration).
    pub tenant: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// The desired cluster from a planned or state value.
pub fn spec_from(
    subscription: &str,
    tenant: Option<&str>,
    default_tags: &BTreeMap<String, String>,
    v: &Value,
) -> Result<AksSpec, Diagnostics> {
    let c: AksConfig = from_value(v)?;
    fn need<T: Clone>(x: Option<&T>, what: &str) -> Result<T, Diagnostics> {
        x.cloned().ok_or_else(|| Diagnostics::error("Planned value not known", format!("{what} is not known at apply time.")))
    }
    let env: String = need(c.environment.known(), "environment")?;
    let name = c.name.known().cloned().unwrap_or_else(|| format!("trench-aks-cluster-{env}"));
    let rg = c.resource_group_name.known().cloned().unwrap_or_else(|| format!("rg-trench-aks-{env}"));
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
    // Keep the subscription of an existing cluster (from its id in state).
    let sub = v
        .get_attr("id")
        .and_then(Value::as_str)
        .and_then(|i| ResourceId::parse(i).ok())
        .map(|i| i.subscription)
        .unwrap_or_else(|| subscription.to_owned());
    Ok(AksSpec {
        ids: AksIds::new(&sub, &rg, &name),
        location: need(c.location.known(), "location")?,
        subnet_id: need(c.subnet_id.known(), "subnet_id")?,
        firewall_policy_id: c.firewall_policy_id.known().cloned(),
        kubernetes_version: c.kubernetes_version.known().cloned(),
        dns_prefix: c.dns_prefix.known().cloned().unwrap_or_else(|| name.clone()),
        sku_tier: c.sku_tier.known().cloned().unwrap_or_else(|| "Free".into()),
        service_cidr: c.service_cidr.known().cloned().unwrap_or_else(|| DEFAULT_SERVICE_CIDR.into()),
        dns_service_ip: c.dns_service_ip.known().cloned().unwrap_or_else(|| DEFAULT_DNS_SERVICE_IP.into()),
        pod_cidr: c.pod_cidr.known().cloned().unwrap_or_else(|| DEFAULT_POD_CIDR.into()),
        pools,
        law: c.log_analytics_workspace_id.known().cloned(),
        acr: c.acr_id.known().cloned(),
        admin_groups: c.admin_group_object_ids.known().cloned().unwrap_or_default(),
        tenant: tenant.map(str::to_owned),
        tags: common::with_owner(common::tags_all(default_tags, &env, c.tags.known()), "trench_private_aks", &name),
        env,
    })
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
                "serviceCidr": self.service_cidr, "dnsServiceIP": self.dns_service_ip, "podCidr": self.pod_cidr
            },
            "agentPoolProfiles": pools,
        });
        if let Some(v) = &self.kubernetes_version {
            props["kubernetesVersion"] = json!(v);
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> AksSpec {
        AksSpec {
            ids: AksIds::new("00000000-0000-4000-8000-000000000002", "rg-trench-aks-dev", "trench-aks-cluster-dev"),
            env: "dev".into(),
            location: "westeurope".into(),
            subnet_id: "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev/subnets/aks-nodes".into(),
            firewall_policy_id: None,
            kubernetes_version: Some("1.33".into()),
            dns_prefix: "trench-aks-cluster-dev".into(),
            sku_tier: "Free".into(),
            service_cidr: DEFAULT_SERVICE_CIDR.into(),
            dns_service_ip: DEFAULT_DNS_SERVICE_IP.into(),
            pod_cidr: DEFAULT_POD_CIDR.into(),
            pools: vec![
                Pool { name: "system".into(), system: true, vm_size: DEFAULT_VM_SIZE.into(), node_count: Some(2), autoscale: None, labels: BTreeMap::new(), taints: vec!["CriticalAddonsOnly=true:NoSchedule".into()] },
                Pool { name: "user".into(), system: false, vm_size: "Standard_D4s_v5".into(), node_count: None, autoscale: Some((1, 5)), labels: BTreeMap::from([("workload".into(), "apps".into())]), taints: vec![] },
            ],
            law: Some("/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.OperationalInsights/workspaces/trench-core-law-dev".into()),
            acr: None,
            admin_groups: vec![],
            tenant: None,
            tags: BTreeMap::from([("environment".into(), "dev".into())]),
        }
    }

    #[test]
    fn cluster_and_diagnostic_bodies() {
        let s = sample();
        insta::assert_json_snapshot!(
            json!({ "cluster": s.cluster_body(s.pool_profiles()), "diag": s.diag_body(), "diag_id": s.ids.diag_id().to_string() })
        );
    }
}

//! `trench_private_aks`: a private AKS cluster on the spoke's `aks-nodes`
//! subnet with Kubernetes RBAC, OIDC issuer, workload identity,
//! `userDefinedRouting` egress through the hub firewall, a `system` pool
//! and optional `user`/`infra` pools, Container Insights and control-plane
//! diagnostic settings to Log Analytics, and AcrPull for the kubelet.
//!
//! Two guards operators asked for: the egress path is checked before the
//! cluster PUT (at plan time when it already exists), so a UDR cluster does
//! not fail after a long create; and a change that would replace the
//! cluster is refused unless `allow_replacement = true`, with the reason.

mod apply;
mod observe;
pub mod spec;
mod validate;

pub use validate::validate_config;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use trench_plugin::framework::plan::ReplaceRule;
use trench_plugin::framework::timeouts::Timeouts;
use trench_plugin::framework::{AttrPath, Attribute, Block, Diagnostics, Mode, Nesting, PlanRequest};
use trench_plugin::value::{Type, Val, Value};

use crate::conventions::names;
use crate::resources::common::{self, ArmDiagnostics as _};
use crate::resources::composite::{Defaults, Model, PlanCx, kept, named};

/// The composite.
pub struct PrivateAks;

const DEFAULT_VM_SIZE: &str = "Standard_D2s_v5";
const DEFAULT_SERVICE_CIDR: &str = "172.16.0.0/16";
const DEFAULT_DNS_SERVICE_IP: &str = "172.16.0.10";
const DEFAULT_POD_CIDR: &str = "192.168.0.0/16";
/// Cilium: Azure's recommended engine (Azure NPM on Linux is being retired).
const DEFAULT_NETWORK_POLICY: &str = "cilium";

/// A node pool as configured.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct PoolConfig {
    vm_size: Val<String>,
    node_count: Val<i64>,
    min_count: Val<i64>,
    max_count: Val<i64>,
    labels: Val<BTreeMap<String, String>>,
    taints: Val<Vec<String>>,
}

/// The settable attributes, each possibly null or unknown.
#[derive(Clone, Debug, Deserialize)]
pub struct AksConfig {
    environment: Val<String>,
    location: Val<String>,
    name: Val<String>,
    resource_group_name: Val<String>,
    subnet_id: Val<String>,
    firewall_policy_id: Val<String>,
    kubernetes_version: Val<String>,
    dns_prefix: Val<String>,
    sku_tier: Val<String>,
    network_policy: Val<String>,
    service_cidr: Val<String>,
    dns_service_ip: Val<String>,
    pod_cidr: Val<String>,
    system_pool: Val<PoolConfig>,
    node_pools: Val<BTreeMap<String, PoolConfig>>,
    log_analytics_workspace_id: Val<String>,
    acr_id: Val<String>,
    dns_link_virtual_network_ids: Val<Vec<String>>,
    admin_group_object_ids: Val<Vec<String>>,
    tags: Val<BTreeMap<String, String>>,
}

/// Computed attributes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AksComputed {
    id: Val<String>,
    oidc_issuer_url: Val<String>,
    kubelet_identity_object_id: Val<String>,
    kubelet_identity_client_id: Val<String>,
    kubelet_identity_id: Val<String>,
    private_fqdn: Val<String>,
    node_resource_group: Val<String>,
    current_kubernetes_version: Val<String>,
    acr_pull_role_assignment_id: Val<String>,
    diagnostic_setting_id: Val<String>,
}

fn pool_attrs(system: bool) -> Vec<Attribute> {
    let mut v = vec![
        if system {
            Attribute::optional_computed("vm_size", Type::String)
                .describe(&format!("VM size. Default `{DEFAULT_VM_SIZE}`. Changing the system pool's size replaces the cluster."))
        } else {
            Attribute::required("vm_size", Type::String)
                .describe("VM size, e.g. `Standard_D4s_v5`. Changing it recreates the pool (its nodes are drained by AKS).")
        },
        Attribute::optional_computed("node_count", Type::Number)
            .describe("Fixed node count (ignored with autoscaling). Default 2 for the system pool, 1 otherwise."),
        Attribute::optional("min_count", Type::Number).describe("Autoscaling minimum; set with `max_count`."),
        Attribute::optional("max_count", Type::Number).describe("Autoscaling maximum; set with `min_count`."),
        Attribute::optional("labels", Type::map(Type::String)).describe("Kubernetes node labels."),
        Attribute::optional("taints", Type::list(Type::String))
            .describe("Node taints as `key=value:Effect` (NoSchedule, PreferNoSchedule, NoExecute)."),
    ];
    if system {
        v[1] = Attribute::optional_computed("node_count", Type::Number).describe("Fixed node count (ignored with autoscaling). Default 2.");
    }
    v
}

/// An autoscaled pool that changes ends with whatever count AKS settles on.
fn unknown_counts_of_changed_pools(prior: &Value, planned: &mut Value) {
    let changed = |old: Option<&Value>, new: &Value| {
        let strip = |v: &Value| match v {
            Value::Object(m) => {
                Value::Object(m.iter().filter(|(k, _)| k.as_str() != "node_count").map(|(k, v)| (k.clone(), v.clone())).collect())
            }
            other => other.clone(),
        };
        old.is_none_or(|o| strip(o) != strip(new))
    };
    let autoscaled = |p: &Value| p.get_attr("min_count").is_some_and(|v| !v.is_null());
    let fix = |old: Option<&Value>, new: &mut Value| {
        if autoscaled(new)
            && changed(old, new)
            && let Value::Object(m) = new
        {
            m.insert("node_count".into(), Value::unknown());
        }
    };
    let Value::Object(m) = planned else { return };
    if let Some(sp) = m.get_mut("system_pool") {
        fix(prior.get_attr("system_pool"), sp);
    }
    if let Some(Value::Map(pools)) = m.get_mut("node_pools") {
        let old = match prior.get_attr("node_pools") {
            Some(Value::Map(o)) => o.clone(),
            _ => BTreeMap::new(),
        };
        for (n, p) in pools.iter_mut() {
            fix(old.get(n), p);
        }
    }
}

#[async_trait]
impl Model for PrivateAks {
    const TYPE: &'static str = "trench_private_aks";
    const NOUN: &'static str = "cluster";
    const IMPORT: (&'static str, &'static str) = ("Microsoft.ContainerService/managedClusters", "cluster");
    // Anchor: surprise AKS recreations. Refuse, saying why.
    const REPLACEMENT_DESTROYS: Option<&'static str> = Some("Replacing a cluster deletes it and every workload on it.");
    const ARM_TYPES: &'static [&'static str] = &[
        "Microsoft.ContainerService/managedClusters",
        "Microsoft.ContainerService/managedClusters/agentPools",
        "Microsoft.Authorization/roleAssignments",
        "Microsoft.Insights/diagnosticSettings",
    ];
    const REPLACE: &'static [(&'static str, &'static str)] = &[
        ("environment", "the cluster's name and node resource group contain the environment."),
        ("location", "AKS cannot move a cluster to another region."),
        ("name", "AKS cannot rename a cluster."),
        ("resource_group_name", "AKS cannot move a cluster to another resource group."),
        ("subnet_id", "the node subnet of existing pools cannot change."),
        ("dns_prefix", "AKS does not allow changing dnsPrefix."),
        ("service_cidr", "the network profile cannot change after creation."),
        ("dns_service_ip", "the network profile cannot change after creation."),
        ("pod_cidr", "the network profile cannot change after creation."),
    ];

    const TIMEOUTS: Timeouts = Timeouts::minutes(90, 5, 90, 60);

    const CHECK: fn(&Self::Config) -> Diagnostics = validate_config;
    type Config = AksConfig;
    type Computed = AksComputed;

    fn attributes() -> Block {
        let s = |n: &str, d: &str| Attribute::optional_computed(n, Type::String).describe(d);
        let c = |n: &str, d: &str| Attribute::computed(n, Type::String).describe(d);
        Block::new("A private AKS cluster on the spoke's `aks-nodes` subnet: API server private only, Kubernetes RBAC, OIDC issuer and workload identity, `userDefinedRouting` egress through the hub firewall, a `system` pool plus optional pools, Container Insights and control-plane logs to Log Analytics, AcrPull for the kubelet identity. The egress path is checked before the cluster is created.")
                .attr(Attribute::required("environment", Type::String).describe("Environment name. Changing it replaces the cluster (guarded by `allow_replacement`)."))
                .attr(Attribute::required("location", Type::String).describe("Azure location; the spoke's. Changing it replaces the cluster."))
                .attr(s("name", "Cluster name. Default `trench-aks-cluster-<env>`. Changing it replaces the cluster."))
                .attr(s("resource_group_name", "Resource group (the spoke's, which must exist). Default `rg-trench-aks-<env>`."))
                .attr(Attribute::required("subnet_id", Type::String).describe("The node subnet: `trench_spoke.<name>.subnet_ids[\"aks-nodes\"]`. It must route 0.0.0.0/0 to the hub firewall. Changing it replaces the cluster."))
                .attr(Attribute::optional("firewall_policy_id", Type::String).describe("The hub firewall policy (`trench_hub.<name>.firewall_policy_id`); when given, trench checks before creating the cluster that it allows AKS egress."))
                .attr(Attribute::optional("kubernetes_version", Type::String).describe("Kubernetes version (`1.33`); null takes AKS's default. Upgrades happen in place."))
                .attr(s("dns_prefix", "DNS prefix of the API server. Default: the cluster name. Changing it replaces the cluster."))
                .attr(s("sku_tier", "`Free` (default) or `Standard` (uptime SLA)."))
                .attr(s("network_policy", "Network policy engine enforcing Kubernetes NetworkPolicies: `cilium` (default; Azure CNI powered by Cilium), `azure`, `calico` or `none`. Moving to `cilium` or `none` happens in place; AKS refuses other changes on a running cluster."))
                .attr(s("service_cidr", &format!("Kubernetes service CIDR; must not overlap the VNets. Default `{DEFAULT_SERVICE_CIDR}`. Changing it replaces the cluster.")))
                .attr(s("dns_service_ip", &format!("Cluster DNS IP inside `service_cidr`. Default `{DEFAULT_DNS_SERVICE_IP}`.")))
                .attr(s("pod_cidr", &format!("Pod CIDR (Azure CNI overlay). Default `{DEFAULT_POD_CIDR}`. Changing it replaces the cluster.")))
                .attr(Attribute::nested("system_pool", Nesting::Single, Mode::OptionalComputed, pool_attrs(true)).describe("The `system` pool (system workloads only)."))
                .attr(Attribute::nested("node_pools", Nesting::Map, Mode::Optional, pool_attrs(false)).describe("More pools by name (`user`, `infra`): 1-12 lowercase letters and digits, starting with a letter."))
                .attr(Attribute::optional("log_analytics_workspace_id", Type::String).describe("Log Analytics workspace for Container Insights and control-plane diagnostic settings."))
                .attr(Attribute::optional("acr_id", Type::String).describe("Container registry the kubelet identity gets AcrPull on."))
                .attr(Attribute::optional("dns_link_virtual_network_ids", Type::list(Type::String)).describe("VNets besides the cluster's own that must resolve the private API server, e.g. the hub (`trench_hub.<name>.id`) where the jump host and CI runners live: each is linked to the cluster's private DNS zone."))
                .attr(Attribute::optional("admin_group_object_ids", Type::list(Type::String)).describe("Entra groups that administer the cluster; enables managed Entra integration with Azure RBAC and disables local accounts."))
                .attr(Attribute::optional("allow_replacement", Type::Bool).describe("Allow a change that replaces the cluster (default false: such a plan is refused and the reason shown)."))
                .attr(c("id", "Cluster id; the import id."))
                .attr(c("oidc_issuer_url", "OIDC issuer URL, for federated credentials (`trench_workload_identity`)."))
                .attr(c("kubelet_identity_object_id", "Kubelet identity object (principal) id."))
                .attr(c("kubelet_identity_client_id", "Kubelet identity client id."))
                .attr(c("kubelet_identity_id", "Kubelet identity resource id."))
                .attr(c("private_fqdn", "Private FQDN of the API server."))
                .attr(c("node_resource_group", "Resource group AKS manages for the nodes."))
                .attr(c("current_kubernetes_version", "Kubernetes version running."))
                .attr(c("acr_pull_role_assignment_id", "AcrPull role assignment id (null without `acr_id`)."))
                .attr(c("diagnostic_setting_id", "Control-plane diagnostic setting id (null without a workspace)."))
    }

    fn replace_rules() -> Vec<ReplaceRule> {
        let mut r: Vec<ReplaceRule> = Self::REPLACE.iter().map(|(a, why)| ReplaceRule { path: AttrPath::root(a), reason: why }).collect();
        r.push(ReplaceRule {
            path: AttrPath::root("system_pool").attr("vm_size"),
            reason: "the system pool's VM size cannot change; AKS needs a new system pool.",
        });
        r
    }

    fn fill_defaults(planned: &mut Value, req: &PlanRequest, cfg: &AksConfig) {
        let Some(d) = Defaults::of(planned, &req.config) else { return };
        let conventional = cfg.environment.known().map(|e| names::cluster(e));
        let name = match (&cfg.name, &conventional) {
            (Val::Known(n), _) => Value::string(n),
            (Val::Null, Some(c)) => Value::string(&c.cluster),
            _ => Value::unknown(),
        };
        let defaults = [
            ("name", name.clone()),
            ("resource_group_name", named(conventional.as_ref(), |c| &c.resource_group)),
            ("dns_prefix", name),
            ("sku_tier", Value::string("Free")),
            ("network_policy", Value::string(DEFAULT_NETWORK_POLICY)),
            ("service_cidr", Value::string(DEFAULT_SERVICE_CIDR)),
            ("dns_service_ip", Value::string(DEFAULT_DNS_SERVICE_IP)),
            ("pod_cidr", Value::string(DEFAULT_POD_CIDR)),
        ];
        for (k, v) in defaults {
            if d.unset(k) {
                d.planned.insert(k.to_owned(), v);
            }
        }
        // Pools: fill the optional+computed fields the configuration leaves null.
        let fill_pool = |pool: &mut Value, conf: Option<&Value>, system: bool| {
            if let Value::Object(p) = pool {
                let c = |k: &str| conf.and_then(|c| c.get_attr(k)).is_none_or(Value::is_null);
                if system && c("vm_size") {
                    p.insert("vm_size".into(), Value::string(DEFAULT_VM_SIZE));
                }
                let autoscale = !conf.and_then(|c| c.get_attr("min_count")).is_none_or(Value::is_null);
                if c("node_count") {
                    // With autoscaling AKS owns the count: keep what state knows.
                    if !autoscale || p.get("node_count").is_none_or(Value::is_null) {
                        p.insert(
                            "node_count".into(),
                            if autoscale {
                                Value::unknown()
                            } else {
                                Value::Number(trench_plugin::value::Number::Int(if system { 2 } else { 1 }))
                            },
                        );
                    }
                }
            }
        };
        if d.unset("system_pool") || d.planned.get("system_pool").is_none_or(Value::is_null) {
            let mut p = BTreeMap::new();
            for k in ["vm_size", "node_count", "min_count", "max_count", "labels", "taints"] {
                p.insert(k.to_owned(), Value::Null);
            }
            if let Some(Value::Object(prior)) = d.planned.get("system_pool") {
                p.insert("node_count".into(), prior.get("node_count").cloned().unwrap_or(Value::Null));
            }
            d.planned.insert("system_pool".into(), Value::Object(p));
        }
        let sys_conf = req.config.get_attr("system_pool").filter(|v| !v.is_null()).cloned();
        if let Some(sp) = d.planned.get_mut("system_pool") {
            fill_pool(sp, sys_conf.as_ref(), true);
        }
        let pools_conf = req.config.get_attr("node_pools").cloned();
        if let Some(Value::Map(pools)) = d.planned.get_mut("node_pools") {
            for (name, pool) in pools.iter_mut() {
                let conf = pools_conf.as_ref().and_then(|p| match p {
                    Value::Map(pm) => pm.get(name).cloned(),
                    _ => None,
                });
                fill_pool(pool, conf.as_ref(), false);
            }
        }
        unknown_counts_of_changed_pools(&req.prior, planned);
    }

    async fn plan(cx: &mut PlanCx<'_, Self>) -> Result<AksComputed, Diagnostics> {
        let (req, cfg) = (cx.req, &cx.cfg);
        let pc = cx.planned_config()?;
        // The egress pre-check, when the network already exists.
        if let (Val::Known(subnet), true) = (&cfg.subnet_id, req.prior.is_null() || cx.replacing) {
            let op = common::op(cx.ctx, "checking the egress path of", Duration::from_secs(60));
            let policy = cfg.firewall_policy_id.known().map(String::as_str);
            match apply::egress_problems(&cx.azure, &op, subnet, policy).await.map_err(|e| e.diagnostics())? {
                Some(problems) if !problems.is_empty() => return Err(apply::egress_refusal(problems)),
                _ => {}
            }
        }
        let prior_comp = cx.prior_computed();
        let planned = &cx.planned;
        let keep = |f: fn(&AksComputed) -> &Val<String>| kept(prior_comp.as_ref(), f);
        let mut computed = AksComputed {
            oidc_issuer_url: keep(|c| &c.oidc_issuer_url),
            kubelet_identity_object_id: keep(|c| &c.kubelet_identity_object_id),
            kubelet_identity_client_id: keep(|c| &c.kubelet_identity_client_id),
            kubelet_identity_id: keep(|c| &c.kubelet_identity_id),
            private_fqdn: keep(|c| &c.private_fqdn),
            node_resource_group: keep(|c| &c.node_resource_group),
            ..AksComputed::default()
        };
        let version_changes = prior_comp.is_none() || req.prior.get_attr("kubernetes_version") != planned.get_attr("kubernetes_version");
        computed.current_kubernetes_version = if version_changes { Val::Unknown } else { keep(|c| &c.current_kubernetes_version) };
        if let (Val::Known(rg), Val::Known(name)) = (&pc.resource_group_name, &pc.name) {
            let ids = spec::AksIds::new(&cx.azure.env.subscription, rg, name);
            computed.id = Val::Known(ids.cluster_id().to_string());
            computed.diagnostic_setting_id =
                if pc.log_analytics_workspace_id.is_null() { Val::Null } else { Val::Known(ids.diag_id().to_string()) };
        } else {
            computed.id = Val::Unknown;
            computed.diagnostic_setting_id = if pc.log_analytics_workspace_id.is_null() { Val::Null } else { Val::Unknown };
        }
        // The assignment's name derives from the kubelet principal, known only after create.
        computed.acr_pull_role_assignment_id = match &pc.acr_id {
            Val::Null => Val::Null,
            _ if req.prior.get_attr("acr_id") == planned.get_attr("acr_id") => keep(|c| &c.acr_pull_role_assignment_id),
            _ => Val::Unknown,
        };
        Ok(computed)
    }
}

#[cfg(test)]
mod tests;

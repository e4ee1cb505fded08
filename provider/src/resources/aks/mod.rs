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

use crate::resources::common::ArmDiagnostics as _;
use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::conventions::{self, AzureType};
use crate::resources::{cidr, common};
use trench_arm::ResourceId;
use trench_plugin::framework::plan::{self, ReplaceRule};
use trench_plugin::framework::timeouts::{self, Timeouts};
use trench_plugin::framework::{
    ApplyRequest, AttrPath, Attribute, Block, Ctx, Diagnostics, Mode, Nesting, PlanRequest, Planned, Resource, Schema, StateResult,
};
use trench_plugin::value::{Type, Val, Value, from_value};

/// The resource.
pub struct PrivateAks;

fn default_timeouts() -> Timeouts {
    Timeouts {
        create: Duration::from_secs(90 * 60),
        read: Duration::from_secs(5 * 60),
        update: Duration::from_secs(90 * 60),
        delete: Duration::from_secs(60 * 60),
    }
}

const DEFAULT_VM_SIZE: &str = "Standard_D2s_v5";
const DEFAULT_SERVICE_CIDR: &str = "172.16.0.0/16";
const DEFAULT_DNS_SERVICE_IP: &str = "172.16.0.10";
const DEFAULT_POD_CIDR: &str = "192.168.0.0/16";

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
    service_cidr: Val<String>,
    dns_service_ip: Val<String>,
    pod_cidr: Val<String>,
    system_pool: Val<PoolConfig>,
    node_pools: Val<BTreeMap<String, PoolConfig>>,
    log_analytics_workspace_id: Val<String>,
    acr_id: Val<String>,
    admin_group_object_ids: Val<Vec<String>>,
    allow_replacement: Val<bool>,
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
    tags_all: Val<BTreeMap<String, String>>,
    drift: Val<Vec<String>>,
    api_versions: Val<BTreeMap<String, String>>,
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

fn schema() -> Schema {
    let s = |n: &str, d: &str| Attribute::optional_computed(n, Type::String).describe(d);
    let c = |n: &str, d: &str| Attribute::computed(n, Type::String).describe(d);
    Schema::new(
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
            .attr(s("service_cidr", &format!("Kubernetes service CIDR; must not overlap the VNets. Default `{DEFAULT_SERVICE_CIDR}`. Changing it replaces the cluster.")))
            .attr(s("dns_service_ip", &format!("Cluster DNS IP inside `service_cidr`. Default `{DEFAULT_DNS_SERVICE_IP}`.")))
            .attr(s("pod_cidr", &format!("Pod CIDR (Azure CNI overlay). Default `{DEFAULT_POD_CIDR}`. Changing it replaces the cluster.")))
            .attr(Attribute::nested("system_pool", Nesting::Single, Mode::OptionalComputed, pool_attrs(true)).describe("The `system` pool (system workloads only)."))
            .attr(Attribute::nested("node_pools", Nesting::Map, Mode::Optional, pool_attrs(false)).describe("More pools by name (`user`, `infra`): 1-12 lowercase letters and digits, starting with a letter."))
            .attr(Attribute::optional("log_analytics_workspace_id", Type::String).describe("Log Analytics workspace for Container Insights and control-plane diagnostic settings."))
            .attr(Attribute::optional("acr_id", Type::String).describe("Container registry the kubelet identity gets AcrPull on."))
            .attr(Attribute::optional("admin_group_object_ids", Type::list(Type::String)).describe("Entra groups that administer the cluster; enables managed Entra integration with Azure RBAC and disables local accounts."))
            .attr(Attribute::optional("allow_replacement", Type::Bool).describe("Allow a change that replaces the cluster (default false: such a plan is refused and the reason shown)."))
            .attr(Attribute::optional("tags", Type::map(Type::String)).describe("Tags, merged over the provider's `default_tags` and trench's conventional tags."))
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
            .attr(Attribute::computed("tags_all", Type::map(Type::String)).describe("The tags every object carries."))
            .attr(Attribute::computed("drift", Type::list(Type::String)).describe("Objects found differing from configuration at the last refresh, one line each; apply repairs them."))
            .attr(Attribute::computed("api_versions", Type::map(Type::String)).describe("The ARM api-version used for each resource type."))
            .block("timeouts", Nesting::Single, timeouts::block(&default_timeouts())),
    )
}

const REPLACE: &[(&str, &str)] = &[
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

fn replace_rules() -> Vec<ReplaceRule> {
    let mut r: Vec<ReplaceRule> = REPLACE.iter().map(|(a, why)| ReplaceRule { path: AttrPath::root(a), reason: why }).collect();
    r.push(ReplaceRule {
        path: AttrPath::root("system_pool").attr("vm_size"),
        reason: "the system pool's VM size cannot change; AKS needs a new system pool.",
    });
    r
}

fn api_versions() -> BTreeMap<String, String> {
    [
        "Microsoft.ContainerService/managedClusters",
        "Microsoft.ContainerService/managedClusters/agentPools",
        "Microsoft.Authorization/roleAssignments",
        "Microsoft.Insights/diagnosticSettings",
    ]
    .iter()
    .map(|t| ((*t).to_owned(), trench_arm::api_versions::for_type(t).unwrap_or("").to_owned()))
    .collect()
}

fn check_id(v: &Val<String>, attr: &str, ty: &str, d: &mut Diagnostics) {
    if let Val::Known(s) = v {
        match ResourceId::parse(s) {
            Ok(id) if id.resource_type().eq_ignore_ascii_case(ty) => {}
            Ok(id) => {
                d.add_attr_error(AttrPath::root(attr), format!("{attr} is not a {ty} id"), format!("It names a {}.", id.resource_type()))
            }
            Err(e) => d.add_attr_error(AttrPath::root(attr), format!("Invalid {attr}"), e.to_string()),
        }
    }
}

fn check_pool(name: &str, p: &PoolConfig, path: AttrPath, system: bool, d: &mut Diagnostics) {
    let ok_name = !name.is_empty()
        && name.len() <= 12
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok_name {
        d.add_attr_error(
            path.clone(),
            "Invalid node pool name",
            format!("{name:?}: 1-12 lowercase letters and digits, starting with a letter."),
        );
    }
    if let Val::Known(size) = &p.vm_size
        && (!size.starts_with("Standard_") || size.contains(' '))
    {
        d.add_attr_error(path.clone().attr("vm_size"), "Invalid VM size", format!("{size:?}: sizes look like `Standard_D4s_v5`."));
    }
    match (&p.min_count, &p.max_count) {
        (Val::Known(min), Val::Known(max)) => {
            if min > max {
                d.add_attr_error(
                    path.clone().attr("min_count"),
                    "Autoscaling range is empty",
                    format!("min_count {min} is above max_count {max}."),
                );
            }
            if *min < i64::from(system) || *max > 1000 {
                d.add_attr_error(
                    path.clone().attr("min_count"),
                    "Autoscaling range out of bounds",
                    format!("{} to 1000 nodes.", i64::from(system)),
                );
            }
        }
        (Val::Known(_), Val::Null) | (Val::Null, Val::Known(_)) => {
            d.add_attr_error(
                path.clone().attr("max_count"),
                "Incomplete autoscaling range",
                "Set both min_count and max_count, or neither.",
            );
        }
        _ => {}
    }
    if let Val::Known(n) = &p.node_count
        && (*n < i64::from(system) || *n > 1000)
    {
        d.add_attr_error(
            path.clone().attr("node_count"),
            "Invalid node count",
            format!("{n}: {} to 1000{}.", i64::from(system), if system { " (the system pool needs a node)" } else { "" }),
        );
    }
    if let Val::Known(taints) = &p.taints {
        for (i, t) in taints.iter().enumerate() {
            let ok =
                t.split_once(':').is_some_and(|(kv, eff)| !kv.is_empty() && ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&eff));
            if !ok {
                d.add_attr_error(
                    path.clone().attr("taints").index(i),
                    "Invalid taint",
                    format!("{t:?}: use `key=value:NoSchedule` (or PreferNoSchedule, NoExecute)."),
                );
            }
        }
    }
}

/// Plan-time validation; no ARM calls.
pub fn validate_config(cfg: &AksConfig) -> Diagnostics {
    let mut d = Diagnostics::new();
    if let Val::Known(e) = &cfg.environment
        && let Err(m) = conventions::check_environment(e)
    {
        d.add_attr_error(AttrPath::root("environment"), "Invalid environment", m);
    }
    if let Val::Known(l) = &cfg.location
        && let Err(m) = conventions::check_location(l)
    {
        d.add_attr_error(AttrPath::root("location"), "Unknown location", m);
    }
    if let Val::Known(n) = &cfg.name
        && let Err(m) = AzureType::ManagedCluster.check(n)
    {
        d.add_attr_error(AttrPath::root("name"), "Invalid cluster name", m);
    }
    if let Val::Known(p) = &cfg.dns_prefix {
        let ok = (1..=54).contains(&p.len())
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !p.starts_with('-')
            && !p.ends_with('-');
        if !ok {
            d.add_attr_error(
                AttrPath::root("dns_prefix"),
                "Invalid DNS prefix",
                format!("{p:?}: 1-54 letters, digits and hyphens, starting and ending with a letter or digit."),
            );
        }
    }
    check_id(&cfg.subnet_id, "subnet_id", "Microsoft.Network/virtualNetworks/subnets", &mut d);
    check_id(&cfg.firewall_policy_id, "firewall_policy_id", "Microsoft.Network/firewallPolicies", &mut d);
    check_id(&cfg.log_analytics_workspace_id, "log_analytics_workspace_id", "Microsoft.OperationalInsights/workspaces", &mut d);
    check_id(&cfg.acr_id, "acr_id", "Microsoft.ContainerRegistry/registries", &mut d);
    if let Val::Known(v) = &cfg.kubernetes_version {
        let parts: Vec<&str> = v.split('.').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.parse::<u32>().is_err()) {
            d.add_attr_error(AttrPath::root("kubernetes_version"), "Invalid Kubernetes version", format!("{v:?}: use `1.33` or `1.33.2`."));
        }
    }
    if let Val::Known(t) = &cfg.sku_tier
        && !["Free", "Standard", "Premium"].contains(&t.as_str())
    {
        d.add_attr_error(AttrPath::root("sku_tier"), "Invalid SKU tier", format!("{t:?}: use Free, Standard or Premium."));
    }
    let service = match &cfg.service_cidr {
        Val::Known(s) => match cidr::parse(s) {
            Ok(n) => Some(n),
            Err(e) => {
                d.add_attr_error(AttrPath::root("service_cidr"), "Invalid service CIDR", e);
                None
            }
        },
        Val::Null => cidr::parse(DEFAULT_SERVICE_CIDR).ok(),
        Val::Unknown => None,
    };
    if let Val::Known(ip) = &cfg.dns_service_ip {
        match ip.parse::<std::net::Ipv4Addr>() {
            Ok(a) if service.is_some_and(|s| !s.contains(&a)) => {
                d.add_attr_error(
                    AttrPath::root("dns_service_ip"),
                    "DNS service IP outside the service CIDR",
                    format!("{a} must be inside {}.", service.expect("checked")),
                );
            }
            Ok(_) => {}
            Err(_) => {
                d.add_attr_error(AttrPath::root("dns_service_ip"), "Invalid DNS service IP", format!("{ip:?} is not an IPv4 address."))
            }
        }
    }
    if let Val::Known(p) = &cfg.pod_cidr {
        match cidr::parse(p) {
            Ok(pod) if service.is_some_and(|s| cidr::overlaps(&s, &pod)) => {
                d.add_attr_error(
                    AttrPath::root("pod_cidr"),
                    "Pod CIDR overlaps the service CIDR",
                    format!("{pod} overlaps {}.", service.expect("checked")),
                );
            }
            Ok(_) => {}
            Err(e) => d.add_attr_error(AttrPath::root("pod_cidr"), "Invalid pod CIDR", e),
        }
    }
    if let Val::Known(p) = &cfg.system_pool {
        check_pool("system", p, AttrPath::root("system_pool"), true, &mut d);
    }
    if let Val::Known(pools) = &cfg.node_pools {
        for (name, p) in pools {
            if name == "system" {
                d.add_attr_error(
                    AttrPath::root("node_pools").key(name),
                    "Reserved pool name",
                    "`system` is the system pool; configure it in `system_pool`.",
                );
            }
            check_pool(name, p, AttrPath::root("node_pools").key(name), false, &mut d);
        }
    }
    if let Val::Known(ids) = &cfg.admin_group_object_ids {
        for (i, g) in ids.iter().enumerate() {
            if uuid::Uuid::try_parse(g).is_err() {
                d.add_attr_error(
                    AttrPath::root("admin_group_object_ids").index(i),
                    "Invalid group object id",
                    format!("{g:?} is not a UUID."),
                );
            }
        }
    }
    if let Val::Known(tags) = &cfg.tags {
        for (k, v) in tags {
            if let Err(e) = conventions::check_tag(k, v) {
                d.add_attr_error(AttrPath::root("tags").key(k), "Invalid tag", e);
            }
        }
    }
    d
}

fn fill_defaults(planned: &mut Value, config: &Value, cfg: &AksConfig) {
    let Value::Object(m) = planned else { return };
    let unset = |k: &str| config.get_attr(k).is_none_or(Value::is_null);
    let env = cfg.environment.known().cloned();
    let name = match (&cfg.name, &env) {
        (Val::Known(n), _) => Value::string(n),
        (Val::Null, Some(e)) => Value::string(format!("trench-aks-cluster-{e}")),
        _ => Value::unknown(),
    };
    let defaults = [
        ("name", name.clone()),
        ("resource_group_name", env.as_ref().map(|e| Value::string(format!("rg-trench-aks-{e}"))).unwrap_or_else(Value::unknown)),
        ("dns_prefix", name),
        ("sku_tier", Value::string("Free")),
        ("service_cidr", Value::string(DEFAULT_SERVICE_CIDR)),
        ("dns_service_ip", Value::string(DEFAULT_DNS_SERVICE_IP)),
        ("pod_cidr", Value::string(DEFAULT_POD_CIDR)),
    ];
    for (k, v) in defaults {
        if unset(k) {
            m.insert(k.to_owned(), v);
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
    if unset("system_pool") || m.get("system_pool").is_none_or(Value::is_null) {
        let mut p = BTreeMap::new();
        for k in ["vm_size", "node_count", "min_count", "max_count", "labels", "taints"] {
            p.insert(k.to_owned(), Value::Null);
        }
        if let Some(Value::Object(prior)) = m.get("system_pool") {
            p.insert("node_count".into(), prior.get("node_count").cloned().unwrap_or(Value::Null));
        }
        m.insert("system_pool".into(), Value::Object(p));
    }
    let sys_conf = config.get_attr("system_pool").filter(|v| !v.is_null()).cloned();
    if let Some(sp) = m.get_mut("system_pool") {
        fill_pool(sp, sys_conf.as_ref(), true);
    }
    let pools_conf = config.get_attr("node_pools").cloned();
    if let Some(Value::Map(pools)) = m.get_mut("node_pools") {
        for (name, pool) in pools.iter_mut() {
            let conf = pools_conf.as_ref().and_then(|p| match p {
                Value::Map(pm) => pm.get(name).cloned(),
                _ => None,
            });
            fill_pool(pool, conf.as_ref(), false);
        }
    }
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
impl Resource for PrivateAks {
    fn type_name(&self) -> &'static str {
        "trench_private_aks"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        common::validate::<AksConfig>(config, default_timeouts(), validate_config)
    }

    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> Planned {
        let common::PlanStart { cfg, diags: mut d, azure, mut planned } =
            match common::plan_start::<AksConfig>(ctx, &req, validate_config, fill_defaults) {
                Ok(s) => s,
                Err(p) => return p,
            };
        unknown_counts_of_changed_pools(&req.prior, &mut planned);
        let (requires_replace, warnings) = plan::requires_replace(&req.prior, &planned, &replace_rules(), "cluster");
        if !requires_replace.is_empty() && cfg.allow_replacement.known() != Some(&true) {
            // Anchor: surprise AKS recreations. Refuse, saying why.
            return Planned::failed(common::refuse_replacement(warnings, "Replacing a cluster deletes it and every workload on it."));
        }
        d.extend(warnings);
        let pc: AksConfig = match from_value(&planned) {
            Ok(c) => c,
            Err(e) => return Planned::failed(e.into()),
        };
        // The egress pre-check, when the network already exists.
        if let (Val::Known(subnet), true) = (&cfg.subnet_id, req.prior.is_null() || !requires_replace.is_empty()) {
            let op = common::op(ctx, "checking the egress path of", Duration::from_secs(60));
            match apply::egress_problems(&azure, &op, subnet, cfg.firewall_policy_id.known().map(String::as_str)).await {
                Ok(Some(problems)) if !problems.is_empty() => {
                    let mut e = Diagnostics::new();
                    for (attr, msg) in problems {
                        e.add_attr_error(AttrPath::root(attr), "Egress path not ready for a userDefinedRouting cluster", msg);
                    }
                    return Planned::failed(e);
                }
                Ok(_) => {}
                Err(err) => return Planned::failed(err.diagnostics()),
            }
        }
        let prior_comp: Option<AksComputed> =
            if req.prior.is_null() || !requires_replace.is_empty() { None } else { from_value(&req.prior).ok() };
        let keep = |f: fn(&AksComputed) -> &Val<String>| {
            prior_comp.as_ref().map(|p| f(p).clone()).filter(|v| !v.is_null()).unwrap_or(Val::Unknown)
        };
        let mut computed = AksComputed {
            drift: Val::Known(Vec::new()),
            api_versions: Val::Known(api_versions()),
            tags_all: common::planned_tags_all(&azure.default_tags, &cfg.environment, &cfg.tags),
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
            let ids = spec::AksIds::new(&azure.subscription, rg, name);
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
        if let Err(e) = common::patch(&mut planned, &computed) {
            return Planned::failed(e);
        }
        Planned::of(planned, requires_replace, d)
    }

    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> StateResult {
        apply::apply(ctx, req).await
    }

    async fn read(&self, ctx: &Ctx, state: Value, private: Vec<u8>) -> StateResult {
        observe::read(ctx, state, private).await
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> StateResult {
        observe::import(ctx, id).await
    }
}

#[cfg(test)]
mod tests;

//! Reading the cluster back (one GET for the cluster with its pools, one per
//! diagnostic setting and role assignment) and importing it by id.

use crate::resources::common::ArmDiagnostics as _;
use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::apply::{Bodies, acr_pull, computed_from};
use super::default_timeouts;
use super::spec::{AksIds, AksSpec, spec_from};
use crate::resources::common;
use crate::resources::network::tag_drift;
use trench_arm::reconcile::matches;
use trench_arm::{ResourceId, id::same_id};
use trench_plugin::framework::{Ctx, Diagnostics, StateResult};
use trench_plugin::value::{Number, Value};

fn s<'a>(j: &'a Json, ptr: &str) -> Option<&'a str> {
    j.pointer(ptr).and_then(Json::as_str)
}

/// The value to keep: the prior's when it means the same (null vs empty).
fn keep_or(prior: Option<&Value>, observed: Value) -> Value {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Map(m) | Value::Object(m) => m.is_empty(),
        Value::List(l) | Value::Set(l) => l.is_empty(),
        _ => false,
    };
    match prior {
        Some(p) if *p == observed || (empty(p) && empty(&observed)) => p.clone(),
        // Nothing to follow (import): unset reads as null, as configurations leave it.
        None if empty(&observed) => Value::Null,
        _ => observed,
    }
}

/// A pool object for state from its profile, keeping the prior's spelling.
fn pool_value(profile: &Json, prior: Option<&Value>) -> Value {
    let autoscale = profile.get("enableAutoScaling").and_then(Json::as_bool) == Some(true);
    let num = |k: &str| profile.get(k).and_then(Json::as_i64).map(|n| Value::Number(Number::Int(n))).unwrap_or(Value::Null);
    let labels: BTreeMap<String, Value> = profile
        .get("nodeLabels")
        .and_then(Json::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), Value::string(v.as_str().unwrap_or("")))).collect())
        .unwrap_or_default();
    let taints: Vec<Value> = profile
        .get("nodeTaints")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(Value::string).collect())
        .unwrap_or_default();
    let observed = [
        ("vm_size", profile.get("vmSize").and_then(Json::as_str).map(Value::string).unwrap_or(Value::Null)),
        // AKS sets an autoscaled pool's count; state shows what it is.
        ("node_count", num("count")),
        ("min_count", if autoscale { num("minCount") } else { Value::Null }),
        ("max_count", if autoscale { num("maxCount") } else { Value::Null }),
        ("labels", Value::Map(labels)),
        ("taints", Value::List(taints)),
    ];
    Value::Object(observed.into_iter().map(|(k, v)| (k.to_owned(), keep_or(prior.and_then(|p| p.get_attr(k)), v))).collect())
}

fn drift(spec: &AksSpec, b: &Bodies) -> Vec<String> {
    let mut out = Vec::new();
    let id = spec.ids.cluster_id();
    if let Some(c) = &b.cluster {
        out.extend(tag_drift(&id.display(), c, &spec.tags));
        let checks = [
            ("/properties/apiServerAccessProfile/enablePrivateCluster", "the API server is not private"),
            ("/properties/oidcIssuerProfile/enabled", "the OIDC issuer is off"),
            ("/properties/securityProfile/workloadIdentity/enabled", "workload identity is off"),
            ("/properties/enableRBAC", "Kubernetes RBAC is off"),
        ];
        for (ptr, what) in checks {
            if c.pointer(ptr).and_then(Json::as_bool) != Some(true) {
                out.push(format!("{}: {what}", id.display()));
            }
        }
        if !s(c, "/properties/networkProfile/outboundType").is_some_and(|o| o.eq_ignore_ascii_case("userDefinedRouting")) {
            out.push(format!("{}: egress is not userDefinedRouting", id.display()));
        }
    }
    if let Some(body) = spec.diag_body() {
        match &b.diag {
            None => out.push(format!("{} is missing", spec.ids.diag_id().display())),
            Some(d) if !matches(&body["properties"], &d["properties"]) => {
                out.push(format!("{}: logs or destination differ", spec.ids.diag_id().display()))
            }
            _ => {}
        }
    }
    if spec.acr.is_some() && b.acr_pull.is_none() {
        out.push(format!("AcrPull for the kubelet identity on {} is missing", spec.acr.as_deref().unwrap_or("")));
    }
    out
}

/// State for what exists: inputs an attribute expresses are read back.
pub(super) fn state_for(prior: &Value, spec: &AksSpec, b: &Bodies) -> Result<Value, Diagnostics> {
    let mut state = prior.clone();
    if let (Some(c), Value::Object(m)) = (&b.cluster, &mut state) {
        let set = |m: &mut BTreeMap<String, Value>, k: &str, v: Value| {
            let keep = keep_or(m.get(k), v);
            m.insert(k.to_owned(), keep);
        };
        if let Some(t) = s(c, "/sku/tier") {
            set(m, "sku_tier", Value::string(t));
        }
        // An out-of-band upgrade shows as a version change (downgrades are refused by AKS).
        if let (Some(want), Some(have)) =
            (m.get("kubernetes_version").and_then(Value::as_str).map(str::to_owned), s(c, "/properties/kubernetesVersion"))
            && !have.starts_with(&want)
        {
            m.insert("kubernetes_version".into(), Value::string(have));
        }
        let law = c
            .pointer("/properties/addonProfiles/omsagent")
            .filter(|o| o.get("enabled").and_then(Json::as_bool) == Some(true))
            .and_then(|o| s(o, "/config/logAnalyticsWorkspaceResourceID"))
            .map(Value::string)
            .unwrap_or(Value::Null);
        let same_law = matches!((m.get("log_analytics_workspace_id"), &law), (Some(Value::String(a)), Value::String(b)) if same_id(a, b));
        if !same_law {
            m.insert("log_analytics_workspace_id".into(), law);
        }
        let groups = c
            .pointer("/properties/aadProfile/adminGroupObjectIDs")
            .and_then(Json::as_array)
            .map(|g| Value::List(g.iter().filter_map(Json::as_str).map(Value::string).collect()))
            .unwrap_or(Value::Null);
        set(m, "admin_group_object_ids", groups);
        let pools: Vec<(String, Json)> = c
            .pointer("/properties/agentPoolProfiles")
            .and_then(Json::as_array)
            .map(|ps| ps.iter().filter_map(|p| Some((p.get("name")?.as_str()?.to_owned(), p.clone()))).collect())
            .unwrap_or_default();
        if let Some((_, sys)) = pools.iter().find(|(n, _)| n == "system") {
            let v = pool_value(sys, m.get("system_pool"));
            m.insert("system_pool".into(), v);
        }
        let prior_pools = match m.get("node_pools") {
            Some(Value::Map(pm)) => pm.clone(),
            _ => BTreeMap::new(),
        };
        let others: BTreeMap<String, Value> =
            pools.iter().filter(|(n, _)| n != "system").map(|(n, p)| (n.clone(), pool_value(p, prior_pools.get(n)))).collect();
        let node_pools = if others.is_empty() && prior_pools.is_empty() {
            m.get("node_pools").cloned().unwrap_or(Value::Null)
        } else {
            Value::Map(others)
        };
        m.insert("node_pools".into(), node_pools);
    }
    common::patch(&mut state, &computed_from(spec, b, drift(spec, b)))?;
    Ok(state)
}

async fn fetch(azure: &common::Azure, op: &trench_arm::Op, spec: &AksSpec) -> Result<Bodies, trench_arm::ArmError> {
    let arm = &*azure.arm;
    let cluster = arm.get(op, &spec.ids.cluster_id()).await?;
    let mut b = Bodies { cluster, ..Bodies::default() };
    if b.cluster.is_none() {
        return Ok(b);
    }
    let kubelet = b.cluster.as_ref().and_then(|c| s(c, "/properties/identityProfile/kubeletidentity/objectId")).unwrap_or("").to_owned();
    let diag_id = spec.ids.diag_id();
    let pull = spec.acr.as_ref().and_then(|a| acr_pull(&spec.ids.subscription, a, &kubelet));
    let (diag, acr) = tokio::join!(async { if spec.law.is_some() { arm.get(op, &diag_id).await } else { Ok(None) } }, async {
        match &pull {
            Some((id, _)) => arm.get(op, id).await,
            None => Ok(None),
        }
    });
    b.diag = diag?;
    b.acr_pull = acr?;
    Ok(b)
}

pub(super) async fn read(ctx: &Ctx, state: Value, private: Vec<u8>) -> StateResult {
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(state, d),
    };
    let tenant = ctx.data::<crate::config::Session>().ok().and_then(|c| c.config.tenant_id.clone());
    let spec = match spec_from(&azure.subscription, tenant.as_deref(), &azure.default_tags, &state) {
        Ok(s) => s,
        Err(d) => return StateResult::failed(state, d),
    };
    let t = common::timeouts(&state, default_timeouts()).unwrap_or(default_timeouts());
    let op = common::op(ctx, "reading", t.read);
    let b = match fetch(&azure, &op, &spec).await {
        Ok(b) => b,
        Err(e) => return StateResult::failed(state, e.diagnostics()),
    };
    if b.cluster.is_none() {
        return StateResult::ok(Value::Null);
    }
    match state_for(&state, &spec, &b) {
        Ok(s) => StateResult { state: s, private, diagnostics: Diagnostics::new() },
        Err(d) => StateResult::failed(state, d),
    }
}

pub(super) async fn import(ctx: &Ctx, id: &str) -> StateResult {
    let fail = |s: &str, d: String| StateResult::failed(Value::Null, Diagnostics::error(s, d));
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(Value::Null, d),
    };
    let cid = match ResourceId::parse(id) {
        Ok(v) if v.resource_type().eq_ignore_ascii_case("Microsoft.ContainerService/managedClusters") => v,
        Ok(v) => {
            return fail("Wrong import id", format!("trench_private_aks is imported by its cluster id; {id} is a {}.", v.resource_type()));
        }
        Err(e) => return fail("Invalid import id", e.to_string()),
    };
    let op = common::op(ctx, "importing", default_timeouts().read);
    let cluster = match azure.arm.get(&op, &cid).await {
        Ok(Some(c)) => c,
        Ok(None) => return fail("Cluster not found", format!("{} does not exist.", cid.display())),
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    let tags = crate::resources::network::read_tags(&cluster);
    let name = cid.name().to_owned();
    let Some(env) = tags
        .get("environment")
        .cloned()
        .or_else(|| name.rsplit('-').next().map(str::to_owned))
        .filter(|e| crate::conventions::check_environment(e).is_ok())
    else {
        return fail(
            "Cannot tell the environment",
            format!("{} has no `environment` tag and its name does not end in one.", cid.display()),
        );
    };
    let pools = cluster.pointer("/properties/agentPoolProfiles").and_then(Json::as_array).cloned().unwrap_or_default();
    let subnet = pools.iter().find_map(|p| s(p, "/vnetSubnetID")).unwrap_or("").to_owned();
    let kubelet = s(&cluster, "/properties/identityProfile/kubeletidentity/objectId").unwrap_or("").to_owned();
    // The kubelet's AcrPull names the registry.
    let assignments = azure
        .arm
        .list(
            &op,
            "role assignments",
            &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments", cid.subscription),
            trench_arm::api_versions::for_type("Microsoft.Authorization/roleAssignments").unwrap_or("2022-04-01"),
        )
        .await;
    let acr_guid = crate::resources::roles::role_definition_id(&cid.subscription, "AcrPull")
        .and_then(|r| r.rsplit('/').next().map(str::to_owned))
        .unwrap_or_default();
    let acr = match assignments {
        Ok(list) => list.unwrap_or_default().iter().find_map(|a| {
            let principal = s(a, "/properties/principalId")?;
            let role = s(a, "/properties/roleDefinitionId")?;
            (principal == kubelet && role.to_ascii_lowercase().ends_with(&acr_guid))
                .then(|| s(a, "/properties/scope").map(str::to_owned))
                .flatten()
        }),
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    let np = |k: &str| s(&cluster, &format!("/properties/networkProfile/{k}")).map(Value::string).unwrap_or(Value::Null);
    let user_tags: BTreeMap<String, Value> =
        common::user_tags(&tags, &azure.default_tags, &env).into_iter().map(|(k, v)| (k, Value::string(v))).collect();
    let mut m: BTreeMap<String, Value> = super::schema().block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    m.insert("timeouts".into(), Value::Null);
    m.insert("environment".into(), Value::string(&env));
    m.insert("location".into(), cluster.get("location").and_then(Json::as_str).map(Value::string).unwrap_or(Value::Null));
    m.insert("name".into(), Value::string(&name));
    m.insert("resource_group_name".into(), Value::string(cid.resource_group.clone().unwrap_or_default()));
    m.insert("subnet_id".into(), Value::string(&subnet));
    m.insert("kubernetes_version".into(), s(&cluster, "/properties/kubernetesVersion").map(Value::string).unwrap_or(Value::Null));
    m.insert("dns_prefix".into(), s(&cluster, "/properties/dnsPrefix").map(Value::string).unwrap_or(Value::Null));
    m.insert("service_cidr".into(), np("serviceCidr"));
    m.insert("dns_service_ip".into(), np("dnsServiceIP"));
    m.insert("pod_cidr".into(), np("podCidr"));
    m.insert("acr_id".into(), acr.map(Value::String).unwrap_or(Value::Null));
    if !user_tags.is_empty() {
        m.insert("tags".into(), Value::Map(user_tags));
    }
    let mut state = Value::Object(m);
    let tenant = ctx.data::<crate::config::Session>().ok().and_then(|c| c.config.tenant_id.clone());
    // A first pass fills the inputs the cluster expresses, the second reads like a refresh.
    let ids = AksIds::new(&cid.subscription, cid.resource_group.as_deref().unwrap_or(""), &name);
    let first = Bodies { cluster: Some(cluster.clone()), ..Bodies::default() };
    let skeleton_spec = |st: &Value| {
        spec_from(&ids.subscription, tenant.as_deref(), &azure.default_tags, st).map(|mut sp| {
            sp.ids = ids.clone();
            sp
        })
    };
    let spec = match skeleton_spec(&state) {
        Ok(sp) => sp,
        Err(d) => return StateResult::failed(Value::Null, d),
    };
    state = match state_for(&state, &spec, &first) {
        Ok(st) => st,
        Err(d) => return StateResult::failed(Value::Null, d),
    };
    let spec = match skeleton_spec(&state) {
        Ok(sp) => sp,
        Err(d) => return StateResult::failed(Value::Null, d),
    };
    let b = match fetch(&azure, &op, &spec).await {
        Ok(b) => b,
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    match state_for(&state, &spec, &b) {
        Ok(st) => StateResult::ok(st),
        Err(d) => StateResult::failed(Value::Null, d),
    }
}

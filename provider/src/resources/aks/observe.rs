//! Reading the cluster back (one GET for the cluster with its pools, one per
//! diagnostic setting and role assignment) and importing it by id.

use crate::resources::composite::{Model as _, Observe, Specs as _};
use async_trait::async_trait;
use std::collections::BTreeMap;

use serde_json::Value as Json;
use trench_arm::reconcile::matches;
use trench_arm::{ArmError, Op};
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::{Number, Value};

use super::PrivateAks;
use super::spec::{AksIds, AksSpec, Pool, Slot, acr_pull, dns_link, flatten, network_roles, profiles};
use crate::resources::common::{self, ArmDiagnostics as _, Azure};
use crate::resources::composite::{Bodies, ImportCx, Imported, merge_inputs, null_state, read_state, same_meaning, str_at};
use crate::resources::network::tag_drift;
use crate::resources::roles;

/// The value to keep: the prior's when it is the same or both are empty.
fn keep_or(prior: Option<&Value>, observed: Value) -> Value {
    let empty = |v: &Value| same_meaning(v, &Value::Null);
    match prior {
        Some(p) if *p == observed || (empty(p) && empty(&observed)) => p.clone(),
        // Nothing to follow (import): unset reads as null, as configurations leave it.
        None if empty(&observed) => Value::Null,
        _ => observed,
    }
}

/// A pool object for state, keeping the prior's spelling. AKS sets an
/// autoscaled pool's count: state shows what it is.
fn pool_value(pool: &Pool, count: Option<i64>, prior: Option<&Value>) -> Value {
    let num = |n: Option<i64>| n.map(|n| Value::Number(Number::Int(n))).unwrap_or(Value::Null);
    let (min, max) = pool.autoscale.map_or((None, None), |(a, b)| (Some(a), Some(b)));
    let observed = [
        ("vm_size", Value::string(&pool.vm_size)),
        ("node_count", num(count)),
        ("min_count", num(min)),
        ("max_count", num(max)),
        ("labels", Value::string_map(&pool.labels)),
        ("taints", Value::strings(&pool.taints)),
    ];
    Value::Object(observed.into_iter().map(|(k, v)| (k.to_owned(), keep_or(prior.and_then(|p| p.get_attr(k)), v))).collect())
}

fn drift(spec: &AksSpec, b: &Bodies<Slot>) -> Vec<String> {
    let mut out = Vec::new();
    let id = spec.ids.cluster_id();
    if let Some(c) = b.get(&Slot::Cluster) {
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
        if !str_at(c, "/properties/networkProfile/outboundType").is_some_and(|o| o.eq_ignore_ascii_case("userDefinedRouting")) {
            out.push(format!("{}: egress is not userDefinedRouting", id.display()));
        }
    }
    if let Some(body) = spec.diag_body() {
        match b.get(&Slot::Diag) {
            None => out.push(format!("{} is missing", spec.ids.diag_id().display())),
            Some(d) if !matches(&body["properties"], &d["properties"]) => {
                out.push(format!("{}: logs or destination differ", spec.ids.diag_id().display()))
            }
            _ => {}
        }
    }
    if let Some(cluster) = b.get(&Slot::Cluster) {
        let roles = network_roles(spec, cluster, b.get(&Slot::NodeSubnet));
        let links = spec.dns_links.iter().filter_map(|v| dns_link(spec, cluster, v));
        for (id, want) in roles {
            match b.get(&Slot::NetworkRole(id.to_string())) {
                None => out.push(format!("Network Contributor for the cluster identity at {} is missing", id.display())),
                Some(have) if !matches(&want, have) => out.push(format!("{} differs", id.display())),
                Some(_) => {}
            }
        }
        for (id, _) in links {
            if !b.has(&Slot::DnsLink(id.to_string())) {
                out.push(format!("{} is missing", id.display()));
            }
        }
    }
    if spec.acr.is_some() && !b.slots().any(|s| matches!(s, Slot::AcrPull(_))) {
        out.push(format!("AcrPull for the kubelet identity on {} is missing", spec.acr.as_deref().unwrap_or("")));
    }
    out
}

#[async_trait]
impl Observe for PrivateAks {
    /// The cluster, then what hangs off it: the diagnostic setting and the
    /// kubelet's AcrPull (named after the kubelet identity the cluster reports).
    async fn fetch(azure: &Azure, op: &Op, spec: &Self::Spec) -> Result<Bodies<Self::Slot>, ArmError> {
        let arm = &*azure.arm;
        let mut b = Bodies::default();
        let Some(cluster) = arm.get(op, &spec.ids.cluster_id()).await? else { return Ok(b) };
        let kubelet = str_at(&cluster, "/properties/identityProfile/kubeletidentity/objectId").unwrap_or("").to_owned();
        b.insert(Slot::Cluster, cluster);
        let diag_id = spec.ids.diag_id();
        let pull = spec.acr.as_ref().and_then(|a| acr_pull(&spec.ids.subscription, a, &kubelet));
        let (diag, acr) = tokio::join!(async { if spec.law.is_some() { arm.get(op, &diag_id).await } else { Ok(None) } }, async {
            match &pull {
                Some((id, _)) => arm.get(op, id).await,
                None => Ok(None),
            }
        });
        if let Some(d) = diag? {
            b.insert(Slot::Diag, d);
        }
        if let Some(a) = acr? {
            b.insert(Slot::AcrPull(kubelet), a);
        }
        // What trench adds around the cluster: its identity's Network Contributor and the extra DNS links.
        let subnet = match trench_arm::ResourceId::parse(&spec.subnet_id) {
            Ok(id) => arm.get(op, &id).await?,
            Err(_) => None,
        };
        let cluster = b.get(&Slot::Cluster).cloned().unwrap_or_default();
        let mut extra: Vec<(Slot, trench_arm::ResourceId)> =
            network_roles(spec, &cluster, subnet.as_ref()).into_iter().map(|(id, _)| (Slot::NetworkRole(id.to_string()), id)).collect();
        extra.extend(spec.dns_links.iter().filter_map(|v| dns_link(spec, &cluster, v)).map(|(id, _)| (Slot::DnsLink(id.to_string()), id)));
        for (slot, id) in extra {
            if let Some(body) = arm.get(op, &id).await? {
                b.insert(slot, body);
            }
        }
        if let Some(s) = subnet {
            b.insert(Slot::NodeSubnet, s);
        }
        Ok(b)
    }

    fn gone(_spec: &AksSpec, bodies: &Bodies<Slot>) -> bool {
        !bodies.has(&Slot::Cluster)
    }

    /// State for what exists: inputs an attribute expresses are read back.
    fn read_back(state: &mut Value, spec: &AksSpec, b: &Bodies<Slot>) -> Result<(), Diagnostics> {
        if let Some(c) = b.get(&Slot::Cluster) {
            let seen = flatten(spec, b);
            let groups = if seen.admin_groups.is_empty() { Value::Null } else { Value::strings(&seen.admin_groups) };
            merge_inputs(
                state,
                [
                    ("sku_tier", Value::string(&seen.sku_tier)),
                    ("network_policy", Value::string(&seen.network_policy)),
                    ("log_analytics_workspace_id", seen.law.as_deref().map(Value::string).unwrap_or(Value::Null)),
                    ("admin_group_object_ids", groups),
                ],
            );
            let counts: BTreeMap<String, Option<i64>> =
                profiles(c).into_iter().map(|(n, p)| (n, p.get("count").and_then(Json::as_i64))).collect();
            if let Value::Object(m) = state {
                // An out-of-band upgrade shows as a version change (downgrades are
                // refused by AKS); an unpinned version follows AKS silently.
                if spec.kubernetes_version.is_some()
                    && seen.kubernetes_version != spec.kubernetes_version
                    && let Some(v) = &seen.kubernetes_version
                {
                    m.insert("kubernetes_version".into(), Value::string(v));
                }
                let count = |p: &Pool| counts.get(&p.name).copied().flatten();
                if let Some(sys) = seen.pools.iter().find(|p| p.system) {
                    let v = pool_value(sys, count(sys), m.get("system_pool"));
                    m.insert("system_pool".into(), v);
                }
                let prior_pools = match m.get("node_pools") {
                    Some(Value::Map(pm)) => pm.clone(),
                    _ => BTreeMap::new(),
                };
                let others: BTreeMap<String, Value> = seen
                    .pools
                    .iter()
                    .filter(|p| !p.system)
                    .map(|p| (p.name.clone(), pool_value(p, count(p), prior_pools.get(&p.name))))
                    .collect();
                let node_pools = if others.is_empty() && prior_pools.is_empty() {
                    m.get("node_pools").cloned().unwrap_or(Value::Null)
                } else {
                    Value::Map(others)
                };
                m.insert("node_pools".into(), node_pools);
            }
        }
        Ok(())
    }

    fn drift(spec: &AksSpec, b: &Bodies<Slot>) -> Vec<String> {
        drift(spec, b)
    }

    async fn import(cx: &ImportCx<'_>) -> Result<Imported<Self>, Diagnostics> {
        let (azure, op, cid) = (cx.azure, cx.op, cx.id);
        let (cluster, tags) = cx.primary("Cluster").await?;
        let env = cx.environment(&tags)?;
        let name = cid.name().to_owned();
        let kubelet = str_at(&cluster, "/properties/identityProfile/kubeletidentity/objectId").unwrap_or("").to_owned();
        // The kubelet's AcrPull names the registry.
        let sub = trench_arm::ResourceId::subscription(&cid.subscription);
        let filter = format!("principalId eq '{kubelet}'");
        let assignments = azure
            .arm
            .list_at_scope(op, &sub, "Microsoft.Authorization", "roleAssignments", Some(&filter))
            .await
            .map_err(|e| e.diagnostics())?;
        let acr_guid = roles::role_guid("AcrPull").unwrap_or_default();
        let acr = assignments.unwrap_or_default().iter().find_map(|a| {
            let principal = str_at(a, "/properties/principalId")?;
            let role = str_at(a, "/properties/roleDefinitionId")?;
            (principal == kubelet && role.to_ascii_lowercase().ends_with(&acr_guid))
                .then(|| str_at(a, "/properties/scope").map(str::to_owned))
                .flatten()
        });
        let user_tags: BTreeMap<String, Value> =
            common::user_tags(&tags, &azure.env.default_tags, &env).into_iter().map(|(k, v)| (k, Value::string(v))).collect();
        // What the cluster says of the inputs a refresh does not read back.
        let ids = AksIds::new(&cid.subscription, cid.resource_group.as_deref().unwrap_or(""), &name);
        let first = Bodies::from_iter([(Slot::Cluster, cluster.clone())]);
        let mut m = null_state(&PrivateAks::schema());
        m.insert("environment".into(), Value::string(&env));
        m.insert("location".into(), Value::string(str_at(&cluster, "/location").unwrap_or("")));
        m.insert("name".into(), Value::string(&name));
        m.insert("resource_group_name".into(), Value::string(&ids.resource_group));
        m.insert("subnet_id".into(), Value::string(""));
        m.insert("acr_id".into(), acr.map(Value::String).unwrap_or(Value::Null));
        if !user_tags.is_empty() {
            m.insert("tags".into(), Value::Map(user_tags));
        }
        let skeleton_spec = |st: &Value| {
            PrivateAks::spec_from(&azure.env, st).map(|mut sp| {
                sp.ids = ids.clone();
                sp
            })
        };
        let seen = flatten(&skeleton_spec(&Value::Object(m.clone()))?, &first);
        m.insert("subnet_id".into(), Value::string(&seen.subnet_id));
        m.insert("kubernetes_version".into(), seen.kubernetes_version.as_deref().map(Value::string).unwrap_or(Value::Null));
        m.insert("dns_prefix".into(), Value::string(&seen.dns_prefix));
        m.insert("service_cidr".into(), Value::string(&seen.service_cidr));
        m.insert("dns_service_ip".into(), Value::string(&seen.dns_service_ip));
        m.insert("pod_cidr".into(), Value::string(&seen.pod_cidr));
        // A first pass fills the inputs the cluster expresses; the driver's read is the second.
        let state = read_state::<Self>(&Value::Object(m.clone()), &skeleton_spec(&Value::Object(m))?, &first)?;
        let spec = skeleton_spec(&state)?;
        let bodies = Self::fetch(azure, op, &spec).await.map_err(|e| e.diagnostics())?;
        Ok(Imported { state, spec, bodies, warnings: Diagnostics::new() })
    }
}

//! Creating, updating and deleting the cluster, its pools, the kubelet's
//! AcrPull and the control-plane diagnostic setting.

use crate::resources::common::ArmDiagnostics as _;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value as Json, json};

use super::spec::{AksIds, AksSpec, spec_from};
use super::{AksComputed, default_timeouts};
use crate::resources::common::{self, Azure};
use crate::resources::roles;
use trench_arm::reconcile::{ensure, failed, matches, settle};
use trench_arm::{ArmClient, ArmError, Op, ResourceId};
use trench_plugin::framework::{ApplyRequest, Ctx, Diagnostics, StateResult};
use trench_plugin::value::{Val, Value};

/// How long a fresh kubelet identity may take to replicate to ARM.
const PRINCIPAL_REPLICATION: Duration = Duration::from_secs(120);

fn str_at<'a>(j: &'a Json, ptr: &str) -> Option<&'a str> {
    j.pointer(ptr).and_then(Json::as_str)
}

/// What is missing on the egress path of a userDefinedRouting cluster, by
/// attribute. `None` when the subnet does not exist yet (it may be created
/// in the same apply); checked again before the cluster PUT.
pub(super) async fn egress_problems(
    azure: &Azure,
    op: &Op,
    subnet_id: &str,
    policy: Option<&str>,
) -> Result<Option<Vec<(&'static str, String)>>, ArmError> {
    let arm = &*azure.arm;
    let Ok(subnet_ref) = ResourceId::parse(subnet_id) else { return Ok(None) };
    let Some(subnet) = arm.get(op, &subnet_ref).await? else { return Ok(None) };
    let mut problems = Vec::new();
    match str_at(&subnet, "/properties/routeTable/id").and_then(|id| ResourceId::parse(id).ok()) {
        None => problems.push(("subnet_id", format!("{} has no route table. A userDefinedRouting cluster needs one sending 0.0.0.0/0 to the hub firewall (trench_spoke associates it through route_table_subnets); AKS would fail the create with ExistingRouteTableNotAssociatedWithSubnet. If this configuration also fixes the spoke, apply that first (terraform apply -target=<the trench_spoke>).", subnet_ref.display()))),
        Some(rt_id) => match arm.get(op, &rt_id).await? {
            None => problems.push(("subnet_id", format!("{} is associated with {}, which does not exist.", subnet_ref.display(), rt_id.display()))),
            Some(rt) => {
                let routes = rt.pointer("/properties/routes").and_then(Json::as_array).cloned().unwrap_or_default();
                let default = routes.iter().find(|r| str_at(r, "/properties/addressPrefix") == Some("0.0.0.0/0"));
                let hop = default.and_then(|r| str_at(r, "/properties/nextHopType")).unwrap_or("");
                if !(hop.eq_ignore_ascii_case("VirtualAppliance") || hop.eq_ignore_ascii_case("VirtualNetworkGateway")) {
                    let what = if default.is_some() { format!("sends 0.0.0.0/0 to {hop}") } else { "has no 0.0.0.0/0 route".to_owned() };
                    problems.push(("subnet_id", format!("{} {what}; a userDefinedRouting cluster needs 0.0.0.0/0 → VirtualAppliance (the hub firewall's private IP). AKS would fail with RouteTableInvalidNextHop.", rt_id.display())));
                }
            }
        },
    }
    if let Some(policy) = policy.and_then(|p| ResourceId::parse(p).ok()) {
        let rcg = policy.child("ruleCollectionGroups", crate::resources::hub::spec::RCG_NAME);
        let allows = match arm.get(op, &rcg).await? {
            None => false,
            Some(g) => g.pointer("/properties/ruleCollections").and_then(Json::as_array).is_some_and(|cols| {
                cols.iter().any(|c| {
                    c.pointer("/action/type").and_then(Json::as_str).is_some_and(|a| a.eq_ignore_ascii_case("Allow"))
                        && c.get("rules").and_then(Json::as_array).is_some_and(|rules| {
                            rules.iter().any(|r| {
                                let tags = r
                                    .get("fqdnTags")
                                    .and_then(Json::as_array)
                                    .is_some_and(|t| t.iter().any(|x| x.as_str() == Some("AzureKubernetesService")));
                                let all = r
                                    .get("destinationAddresses")
                                    .and_then(Json::as_array)
                                    .is_some_and(|d| d.iter().any(|x| x.as_str() == Some("*")))
                                    && r.get("destinationPorts")
                                        .and_then(Json::as_array)
                                        .is_some_and(|d| d.iter().any(|x| x.as_str() == Some("*")));
                                tags || all
                            })
                        })
                })
            }),
        };
        if !allows {
            problems.push(("firewall_policy_id", format!("{} does not allow AKS egress (an Allow rule with FQDN tag AzureKubernetesService, or allow-all). Nodes could not reach the control plane or pull images. Set egress_mode on trench_hub (strict includes the AKS rules).", policy.display())));
        }
    }
    Ok(Some(problems))
}

#[derive(Default)]
pub(super) struct Bodies {
    pub cluster: Option<Json>,
    pub diag: Option<Json>,
    pub acr_pull: Option<Json>,
}

/// Computed attributes from what exists.
pub(super) fn computed_from(spec: &AksSpec, b: &Bodies, drift: Vec<String>) -> AksComputed {
    let c = b.cluster.as_ref();
    let s = |ptr: &str| match c.and_then(|c| str_at(c, ptr)) {
        Some(v) => Val::Known(v.to_owned()),
        None => Val::Null,
    };
    AksComputed {
        id: Val::Known(spec.ids.cluster_id().to_string()),
        oidc_issuer_url: s("/properties/oidcIssuerProfile/issuerURL"),
        kubelet_identity_object_id: s("/properties/identityProfile/kubeletidentity/objectId"),
        kubelet_identity_client_id: s("/properties/identityProfile/kubeletidentity/clientId"),
        kubelet_identity_id: s("/properties/identityProfile/kubeletidentity/resourceId"),
        private_fqdn: s("/properties/privateFQDN"),
        node_resource_group: s("/properties/nodeResourceGroup"),
        current_kubernetes_version: s("/properties/currentKubernetesVersion"),
        acr_pull_role_assignment_id: match (&spec.acr, b.acr_pull.as_ref().and_then(|a| str_at(a, "/id"))) {
            (Some(_), Some(id)) => Val::Known(id.to_owned()),
            _ => Val::Null,
        },
        diagnostic_setting_id: if spec.law.is_some() && b.diag.is_some() { Val::Known(spec.ids.diag_id().to_string()) } else { Val::Null },
        tags_all: Val::Known(common::visible_tags(&spec.tags)),
        drift: Val::Known(drift),
        api_versions: Val::Known(super::api_versions()),
    }
}

/// The AcrPull assignment for the kubelet identity on `acr`.
pub(super) fn acr_pull(sub: &str, acr: &str, kubelet_object_id: &str) -> Option<(ResourceId, Json)> {
    let scope = ResourceId::parse(acr).ok()?;
    let role = roles::role_definition_id(sub, "AcrPull")?;
    let guid = role.rsplit('/').next().unwrap_or_default().to_owned();
    let id = scope.extension("Microsoft.Authorization", "roleAssignments", &roles::assignment_name(acr, kubelet_object_id, &guid));
    // principalType always: a fresh identity is not yet in ARM's replica of the directory.
    let body = json!({ "properties": { "roleDefinitionId": role, "principalId": kubelet_object_id, "principalType": "ServicePrincipal" } });
    Some((id, body))
}

/// How long the cluster waits for the registry or workspace it names: the
/// estate creates them beside the cluster, not before it (so the cluster
/// need not wait for the whole PaaS bundle), and they are there long
/// before its minutes-long create ends.
const REFERENCED_WAIT: Duration = Duration::from_secs(10 * 60);

/// Waits until a referenced object (registry, workspace) exists.
async fn await_referenced(arm: &ArmClient, op: &Op, id: &str) -> Result<(), ArmError> {
    let Ok(rid) = ResourceId::parse(id) else { return Ok(()) };
    arm.wait_visible(&op.with_action("waiting for"), &rid, REFERENCED_WAIT).await.map(|_| ())
}

fn tenant(ctx: &Ctx) -> Option<String> {
    ctx.data::<crate::config::Session>().ok().and_then(|c| c.config.tenant_id.clone())
}

pub(super) async fn apply(ctx: &Ctx, req: ApplyRequest) -> StateResult {
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let source = if req.planned.is_null() { &req.prior } else { &req.planned };
    let t = match common::timeouts(source, default_timeouts()) {
        Ok(t) => t,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let tenant = tenant(ctx);
    if req.planned.is_null() {
        let op = common::op(ctx, "deleting", t.delete);
        return match spec_from(&azure.subscription, tenant.as_deref(), &azure.default_tags, &req.prior) {
            Ok(spec) => match delete(&azure, &op, &spec, &req.prior).await {
                Ok(()) => StateResult::ok(Value::Null),
                Err(e) => StateResult::failed(req.prior, e.diagnostics()),
            },
            Err(d) => StateResult::failed(req.prior, d),
        };
    }
    let spec = match spec_from(&azure.subscription, tenant.as_deref(), &azure.default_tags, &req.planned) {
        Ok(s) => s,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let creating = req.prior.is_null();
    let op = if creating { common::op(ctx, "creating", t.create) } else { common::op(ctx, "updating", t.update) };
    let bodies = Mutex::new(Bodies::default());
    let prior_spec = if creating { None } else { spec_from(&azure.subscription, tenant.as_deref(), &azure.default_tags, &req.prior).ok() };
    let result = reconcile(&azure, &op, &spec, prior_spec.as_ref(), &bodies).await;
    let bodies = bodies.into_inner().expect("bodies lock");
    let mut state = req.planned.clone();
    let missing = if result.is_ok() { Vec::new() } else { vec![format!("{} not finished", spec.ids.cluster_id().display())] };
    if let Err(d) = common::patch(&mut state, &computed_from(&spec, &bodies, missing)) {
        return StateResult::failed(req.prior, d);
    }
    match result {
        // The cluster as Azure now reports it (an autoscaled pool's count, say).
        Ok(()) => match super::observe::state_for(&state, &spec, &bodies) {
            Ok(mut s) => {
                let _ = common::patch(&mut s, &computed_from(&spec, &bodies, Vec::new()));
                StateResult::ok(s)
            }
            Err(d) => StateResult::failed(state, d),
        },
        Err(Failure::Refused(d)) => StateResult::failed(if creating { Value::Null } else { req.prior }, d),
        Err(Failure::Arm(e)) => {
            state.unknowns_to_null();
            let exists: Vec<String> = if bodies.cluster.is_some() { vec![spec.ids.cluster_id().display()] } else { Vec::new() };
            let d = common::partial_failure(e, if creating { "cluster" } else { "cluster update" }, &exists);
            if creating && exists.is_empty() { StateResult::failed(Value::Null, d) } else { StateResult::failed(state, d) }
        }
    }
}

enum Failure {
    Refused(Diagnostics),
    Arm(ArmError),
}

impl From<ArmError> for Failure {
    fn from(e: ArmError) -> Self {
        Failure::Arm(e)
    }
}

fn keep(b: &Mutex<Bodies>, f: impl FnOnce(&mut Bodies)) {
    f(&mut b.lock().expect("bodies lock"));
}

/// A pool profile from a cluster body, without read-only fields, keyed by name.
fn current_pools(cluster: &Json) -> Vec<(String, Json)> {
    cluster
        .pointer("/properties/agentPoolProfiles")
        .and_then(Json::as_array)
        .map(|ps| ps.iter().filter_map(|p| Some((p.get("name")?.as_str()?.to_owned(), p.clone()))).collect())
        .unwrap_or_default()
}

fn writable_profile(mut p: Json) -> Json {
    if let Some(m) = p.as_object_mut() {
        for k in ["provisioningState", "powerState", "nodeImageVersion", "currentOrchestratorVersion", "eTag"] {
            m.remove(k);
        }
    }
    p
}

/// What to compare a pool with: AKS owns the count of an autoscaled pool.
fn pool_want(spec: &AksSpec, p: &super::spec::Pool) -> Json {
    let mut w = spec.pool_properties(p);
    if p.autoscale.is_some() {
        w.as_object_mut().map(|m| m.remove("count"));
    }
    if spec.kubernetes_version.is_none() {
        w.as_object_mut().map(|m| m.remove("orchestratorVersion"));
    }
    w
}

async fn reconcile(azure: &Azure, op: &Op, spec: &AksSpec, prior: Option<&AksSpec>, bodies: &Mutex<Bodies>) -> Result<(), Failure> {
    let arm = &*azure.arm;
    let ids = &spec.ids;
    let read = op.with_action("reading");
    // Container Insights names the workspace in the cluster itself.
    if let Some(law) = &spec.law {
        await_referenced(arm, op, law).await?;
    }
    let existing = arm.get(&read, &ids.cluster_id()).await?;
    if let (Some(c), None) = (&existing, prior)
        && !common::owned_by(c, &spec.tags)
    {
        return Err(Failure::Refused(Diagnostics::error(
            format!("{} already exists", ids.cluster_id().display()),
            format!(
                "trench does not take over clusters it did not create. To manage it with Terraform, import it:\n\n  terraform import <address of this trench_private_aks> {}",
                ids.cluster_id()
            ),
        )));
    }
    // Ours and still being written (a create an interrupted apply started):
    // every later step would race that operation.
    let existing = settle(arm, op, &ids.cluster_id(), existing).await?;
    let cluster = match (existing, prior) {
        (None, _) => {
            // Before a long create: is the egress path there?
            let check = op.with_action("checking the egress path of");
            if let Some(problems) = egress_problems(azure, &check, &spec.subnet_id, spec.firewall_policy_id.as_deref()).await? {
                if !problems.is_empty() {
                    let mut d = Diagnostics::new();
                    for (attr, msg) in problems {
                        d.add_attr_error(
                            trench_plugin::framework::AttrPath::root(attr),
                            "Egress path not ready for a userDefinedRouting cluster",
                            msg,
                        );
                    }
                    return Err(Failure::Refused(d));
                }
            } else {
                return Err(Failure::Refused(Diagnostics::attr_error(
                    trench_plugin::framework::AttrPath::root("subnet_id"),
                    "Node subnet not found",
                    format!("{} does not exist; create the spoke first (trench_spoke).", spec.subnet_id),
                )));
            }
            arm.put(op, &ids.cluster_id(), &spec.cluster_body(spec.pool_profiles())).await?
        }
        // An update, or a create resumed on the cluster it started.
        (Some(current), _) => {
            // Cluster-level settings: ARM's PUT carries the pools as they are.
            let pools: Vec<Json> = current_pools(&current).into_iter().map(|(_, p)| writable_profile(p)).collect();
            let mut want = spec.cluster_body(Vec::new());
            want["properties"].as_object_mut().map(|m| m.remove("agentPoolProfiles"));
            let c = if matches(&want, &current) && !failed(&current) {
                current
            } else {
                arm.put(op, &ids.cluster_id(), &spec.cluster_body(pools)).await?
            };
            update_pools(azure, op, spec, &c).await?;
            arm.get(&read, &ids.cluster_id()).await?.unwrap_or(c)
        }
    };
    keep(bodies, |b| b.cluster = Some(cluster.clone()));

    let diag = async {
        match (&spec.law, spec.diag_body()) {
            (Some(_), Some(body)) => {
                let d = ensure(arm, op, &ids.diag_id(), &body, None).await?;
                keep(bodies, |b| b.diag = Some(d));
            }
            _ if prior.is_some_and(|p| p.law.is_some()) => arm.delete(&op.with_action("removing"), &ids.diag_id()).await?,
            _ => {}
        }
        Ok::<_, ArmError>(())
    };
    let pull = async {
        let kubelet = str_at(&cluster, "/properties/identityProfile/kubeletidentity/objectId").unwrap_or_default().to_owned();
        if let Some(old) = prior.and_then(|p| p.acr.clone()).filter(|o| Some(o) != spec.acr.as_ref())
            && let Some((id, _)) = acr_pull(&ids.subscription, &old, &kubelet)
        {
            arm.delete(&op.with_action("removing"), &id).await?;
        }
        if let Some((id, body)) = spec.acr.as_ref().and_then(|acr| acr_pull(&ids.subscription, acr, &kubelet)) {
            await_referenced(arm, op, spec.acr.as_deref().unwrap_or_default()).await?;
            let a = match arm.get(&read, &id).await? {
                Some(a) if matches(&body, &a) => a,
                _ => arm.put_retrying(op, &id, &body, &["PrincipalNotFound"], PRINCIPAL_REPLICATION).await?,
            };
            keep(bodies, |b| b.acr_pull = Some(a));
        }
        Ok::<_, ArmError>(())
    };
    let (d, p) = tokio::join!(diag, pull);
    d?;
    p?;
    Ok(())
}

/// Pools through the agentPools API: changed ones updated, new ones
/// created, dropped ones deleted; a user pool whose VM size changes is
/// recreated (Azure cannot resize a pool's VMs).
async fn update_pools(azure: &Azure, op: &Op, spec: &AksSpec, cluster: &Json) -> Result<(), ArmError> {
    let arm = &*azure.arm;
    let current = current_pools(cluster);
    for p in &spec.pools {
        let id = spec.ids.pool_id(&p.name);
        let have = current.iter().find(|(n, _)| n.eq_ignore_ascii_case(&p.name)).map(|(_, b)| b);
        let want = pool_want(spec, p);
        // The autoscaler owns an autoscaled pool's count: keep it, within the new range.
        let mut props = spec.pool_properties(p);
        if let (Some((min, max)), Some(h)) = (p.autoscale, have) {
            let current = h.get("count").and_then(Json::as_i64).unwrap_or(min);
            props["count"] = json!(current.clamp(min, max));
        }
        match have {
            Some(h) if matches(&want, h) && !failed(h) => {}
            Some(h) if !p.system && !str_at(h, "/vmSize").is_some_and(|s| s.eq_ignore_ascii_case(&p.vm_size)) => {
                arm.delete(&op.with_action("recreating (VM size change)"), &id).await?;
                arm.put(op, &id, &json!({ "properties": spec.pool_properties(p) })).await?;
            }
            Some(_) => {
                arm.put(op, &id, &json!({ "properties": props })).await?;
            }
            None => {
                arm.put(op, &id, &json!({ "properties": spec.pool_properties(p) })).await?;
            }
        }
    }
    for (name, _) in &current {
        if !spec.pools.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            arm.delete(&op.with_action("removing"), &spec.ids.pool_id(name)).await?;
        }
    }
    Ok(())
}

async fn delete(azure: &Azure, op: &Op, spec: &AksSpec, prior: &Value) -> Result<(), ArmError> {
    let arm = &*azure.arm;
    let ids: &AksIds = &spec.ids;
    if let Some(id) = prior.get_attr("acr_pull_role_assignment_id").and_then(Value::as_str).and_then(|s| ResourceId::parse(s).ok()) {
        arm.delete(op, &id).await?;
    }
    // Diagnostic settings outlive their resource in Azure and block a re-create's name.
    if spec.law.is_some() {
        arm.delete(op, &ids.diag_id()).await?;
    }
    arm.delete(op, &ids.cluster_id()).await
}

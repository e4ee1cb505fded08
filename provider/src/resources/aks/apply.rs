//! Creating, updating and deleting the cluster, its pools, the kubelet's
//! AcrPull and the control-plane diagnostic setting.

use crate::resources::composite::{Apply, Bodies, Deletion};
use async_trait::async_trait;
use std::time::Duration;

use serde_json::{Value as Json, json};
use trench_arm::reconcile::{failed, matches, settle};
use trench_arm::{ArmClient, ArmError, Op, ResourceId};
use trench_plugin::framework::{AttrPath, Diagnostics};
use trench_plugin::value::Value;

use super::PrivateAks;
use super::spec::{AksIds, AksSpec, Pool, Slot, acr_pull, dns_link, network_roles, profiles};
use crate::resources::common::Azure;
use crate::resources::composite::{Failure, Run, read_state, str_at};

/// How long a fresh kubelet identity may take to replicate to ARM.
const PRINCIPAL_REPLICATION: Duration = Duration::from_secs(120);

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

/// Network Contributor for the cluster's identity on the node subnet (read now) and its route table.
async fn network_contributor(arm: &ArmClient, op: &Op, spec: &AksSpec, cluster: &Json) -> Result<Vec<(ResourceId, Json)>, ArmError> {
    let subnet = match ResourceId::parse(&spec.subnet_id) {
        Ok(id) => arm.get(op, &id).await?,
        Err(_) => None,
    };
    Ok(network_roles(spec, cluster, subnet.as_ref()))
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

fn writable_profile(mut p: Json) -> Json {
    if let Some(m) = p.as_object_mut() {
        for k in ["provisioningState", "powerState", "nodeImageVersion", "currentOrchestratorVersion", "eTag"] {
            m.remove(k);
        }
    }
    p
}

/// What to compare a pool with: AKS owns the count of an autoscaled pool.
fn pool_want(spec: &AksSpec, p: &Pool) -> Json {
    let mut w = spec.pool_properties(p);
    if p.autoscale.is_some() {
        w.as_object_mut().map(|m| m.remove("count"));
    }
    if spec.kubernetes_version.is_none() {
        w.as_object_mut().map(|m| m.remove("orchestratorVersion"));
    }
    w
}

/// The refusal of a cluster whose egress path is not ready, by attribute.
pub(super) fn egress_refusal(problems: Vec<(&'static str, String)>) -> Diagnostics {
    let mut d = Diagnostics::new();
    for (attr, msg) in problems {
        d.add_attr_error(AttrPath::root(attr), "Egress path not ready for a userDefinedRouting cluster", msg);
    }
    d
}

/// Pools through the agentPools API: changed ones updated, new ones
/// created, dropped ones deleted; a user pool whose VM size changes is
/// recreated (Azure cannot resize a pool's VMs).
async fn update_pools(arm: &ArmClient, op: &Op, spec: &AksSpec, cluster: &Json) -> Result<(), ArmError> {
    let current = profiles(cluster);
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

#[async_trait]
impl Apply for PrivateAks {
    async fn reconcile(run: &Run<'_, Self>) -> Result<(), Failure> {
        let (arm, op, spec, prior) = (run.arm(), run.op, run.spec, run.prior);
        let ids = &spec.ids;
        let read = op.with_action("reading");
        // Container Insights names the workspace in the cluster itself.
        if let Some(law) = &spec.law {
            await_referenced(arm, op, law).await?;
        }
        let existing = arm.get(&read, &ids.cluster_id()).await?;
        // Ours and still being written (a create an interrupted apply started):
        // every later step would race that operation.
        let existing = settle(arm, op, &ids.cluster_id(), existing).await?;
        let cluster = match (existing, prior) {
            (None, _) => {
                // Before a long create: is the egress path there?
                let check = op.with_action("checking the egress path of");
                if let Some(problems) = egress_problems(run.azure, &check, &spec.subnet_id, spec.firewall_policy_id.as_deref()).await? {
                    if !problems.is_empty() {
                        return Err(Failure::Refused(egress_refusal(problems)));
                    }
                } else {
                    return Err(Failure::Refused(Diagnostics::attr_error(
                        AttrPath::root("subnet_id"),
                        "Node subnet not found",
                        format!("{} does not exist; create the spoke first (trench_spoke).", spec.subnet_id),
                    )));
                }
                arm.put(op, &ids.cluster_id(), &spec.cluster_body(spec.pool_profiles())).await?
            }
            // An update, or a create resumed on the cluster it started.
            (Some(current), _) => {
                // Cluster-level settings: ARM's PUT carries the pools as they are.
                let pools: Vec<Json> = profiles(&current).into_iter().map(|(_, p)| writable_profile(p)).collect();
                let mut want = spec.cluster_body(Vec::new());
                want["properties"].as_object_mut().map(|m| m.remove("agentPoolProfiles"));
                let c = if matches(&want, &current) && !failed(&current) {
                    current
                } else {
                    arm.put(op, &ids.cluster_id(), &spec.cluster_body(pools)).await?
                };
                update_pools(arm, op, spec, &c).await?;
                arm.get(&read, &ids.cluster_id()).await?.unwrap_or(c)
            }
        };
        run.keep(Slot::Cluster, cluster.clone());

        let diag = async {
            match (&spec.law, spec.diag_body()) {
                (Some(_), Some(body)) => {
                    run.ensure(Slot::Diag, &body).await?;
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
                run.keep(Slot::AcrPull(kubelet.clone()), a);
            }
            Ok::<_, ArmError>(())
        };
        let net = async {
            for (id, body) in network_contributor(arm, &read, spec, &cluster).await? {
                let a = match arm.get(&read, &id).await? {
                    Some(a) if matches(&body, &a) => a,
                    _ => arm.put_retrying(op, &id, &body, &["PrincipalNotFound"], PRINCIPAL_REPLICATION).await?,
                };
                run.keep(Slot::NetworkRole(id.to_string()), a);
            }
            let mut dropped: Vec<String> = prior.map(|p| p.dns_links.clone()).unwrap_or_default();
            dropped.retain(|v| !spec.dns_links.iter().any(|w| w.eq_ignore_ascii_case(v)));
            for vnet in dropped {
                if let Some((id, _)) = dns_link(spec, &cluster, &vnet) {
                    arm.delete(&op.with_action("removing"), &id).await?;
                }
            }
            for vnet in &spec.dns_links {
                if let Some((id, body)) = dns_link(spec, &cluster, vnet) {
                    let l = match arm.get(&read, &id).await? {
                        Some(l) if matches(&body, &l) => l,
                        _ => arm.put(op, &id, &body).await?,
                    };
                    run.keep(Slot::DnsLink(id.to_string()), l);
                }
            }
            Ok::<_, ArmError>(())
        };
        let (d, p, n) = tokio::join!(diag, pull, net);
        d?;
        p?;
        n?;
        Ok(())
    }

    async fn delete(d: &Deletion<'_, Self>) -> Result<Diagnostics, Failure> {
        let (azure, op, spec, prior) = (d.azure, d.op, d.spec, d.state);
        let arm = &*azure.arm;
        let ids: &AksIds = &spec.ids;
        if let Some(id) = prior.get_attr("acr_pull_role_assignment_id").and_then(Value::as_str).and_then(|s| ResourceId::parse(s).ok()) {
            arm.delete(op, &id).await?;
        }
        // What trench added around the cluster: role assignments outlive their principal in Azure.
        if let Some(cluster) = arm.get(op, &ids.cluster_id()).await? {
            for (id, _) in network_contributor(arm, op, spec, &cluster).await? {
                arm.delete(op, &id).await?;
            }
            for vnet in &spec.dns_links {
                if let Some((id, _)) = dns_link(spec, &cluster, vnet) {
                    arm.delete(op, &id).await?;
                }
            }
        }
        // Diagnostic settings outlive their resource in Azure and block a re-create's name.
        if spec.law.is_some() {
            arm.delete(op, &ids.diag_id()).await?;
        }
        arm.delete(op, &ids.cluster_id()).await?;
        Ok(Diagnostics::new())
    }

    /// The cluster as Azure now reports it (an autoscaled pool's count, say).
    fn applied(planned: &Value, spec: &AksSpec, bodies: &Bodies<Slot>) -> Result<Value, Diagnostics> {
        read_state::<Self>(planned, spec, bodies)
    }
}

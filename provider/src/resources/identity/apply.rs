//! Creating, updating and deleting the workload identity: the identity
//! first, then its federated credentials (one write at a time under the
//! identity) alongside its role assignments (in parallel, with
//! `principalType` and a bounded `PrincipalNotFound` retry).

use crate::resources::common::ArmDiagnostics as _;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value as Json;

use super::spec::{self, Assignment, IdentitySpec, RoleAssignment, ServiceAccount};
use super::{IdentityComputed, default_timeouts, spec_from};
use crate::resources::common::{self, Azure};
use trench_arm::reconcile::{ensure, matches};
use trench_arm::{ArmClient, ArmError, ArmErrorKind, Op, ResourceId};
use trench_plugin::framework::{ApplyRequest, AttrPath, Ctx, Diagnostics, StateResult};
use trench_plugin::value::{Val, Value, from_value};

/// How long a role assignment keeps retrying `PrincipalNotFound` while a new
/// identity replicates through Entra ID (minutes in the worst cases seen).
pub(super) const REPLICATION_WAIT: Duration = Duration::from_secs(120);

/// Bodies of objects known to exist, filled in as steps finish, so a
/// failure part-way still reports everything that exists.
#[derive(Default, Debug)]
pub(super) struct Bodies {
    pub identity: Option<Json>,
    /// By service account key (`<namespace>/<name>`).
    pub credentials: BTreeMap<String, Json>,
    /// By assignment key (`<role>|<scope>`).
    pub assignments: BTreeMap<String, Json>,
}

pub(super) fn str_at<'a>(j: &'a Json, ptr: &str) -> Option<&'a str> {
    j.pointer(ptr).and_then(Json::as_str)
}

fn keep(slot: &Mutex<Bodies>, f: impl FnOnce(&mut Bodies)) {
    f(&mut slot.lock().expect("bodies lock"));
}

/// What a state says exists: the objects an update may have to remove and
/// a delete must remove.
#[derive(Debug, Default)]
pub(super) struct Owned {
    pub identity: Option<ResourceId>,
    pub credentials: BTreeSet<ResourceId>,
    pub assignments: BTreeSet<ResourceId>,
}

#[derive(serde::Deserialize)]
struct StateLists {
    service_accounts: Val<Vec<ServiceAccount>>,
    role_assignments: Val<Vec<RoleAssignment>>,
}

/// The owned objects recorded in a state: the ids it lists, plus the ids its
/// inputs imply (so a partly written state still finds everything).
pub(super) fn owned(subscription: &str, state: &Value) -> Owned {
    let c: IdentityComputed = from_value(state).unwrap_or_default();
    let lists: Option<StateLists> = from_value(state).ok();
    let parse = |s: &str| ResourceId::parse(s).ok();
    let identity = c.id.known().and_then(|i| parse(i)).or_else(|| {
        let s = |k: &str| state.get_attr(k).and_then(Value::as_str);
        Some(spec::identity_id(subscription, s("resource_group_name")?, s("name")?, s("environment")?))
    });
    let mut o = Owned { identity, ..Owned::default() };
    o.credentials.extend(c.federated_credential_ids.known().into_iter().flat_map(|m| m.values()).filter_map(|s| parse(s)));
    o.assignments.extend(c.role_assignment_ids.known().into_iter().flat_map(|m| m.values()).filter_map(|s| parse(s)));
    if let Some(l) = lists {
        if let (Some(i), Some(sas)) = (&o.identity, l.service_accounts.known()) {
            o.credentials.extend(sas.iter().map(|sa| spec::credential_id(i, sa)));
        }
        if let (Some(p), Some(ras)) = (c.principal_id.known(), l.role_assignments.known()) {
            o.assignments.extend(ras.iter().filter_map(|ra| spec::assignment(ra, p)).map(|a| a.id));
        }
    }
    o
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
    if req.planned.is_null() {
        let op = common::op(ctx, "deleting", t.delete);
        return match delete(&azure.arm, &op, &owned(&azure.subscription, &req.prior)).await {
            Ok(()) => StateResult::ok(Value::Null),
            Err(e) => StateResult::failed(req.prior, e.diagnostics()),
        };
    }
    let spec = match spec_from(&azure.subscription, &azure.default_tags, &req.planned) {
        Ok(s) => s,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let creating = req.prior.is_null();
    let op = if creating { common::op(ctx, "creating", t.create) } else { common::op(ctx, "updating", t.update) };
    let resuming = match creating {
        true => match refuse_adoption(&azure, &op, &spec).await {
            Ok(r) => r,
            Err(d) => return StateResult::failed(Value::Null, d),
        },
        false => false,
    };
    let prior = if creating { Owned::default() } else { owned(&azure.subscription, &req.prior) };
    let bodies = Mutex::new(Bodies::default());
    // A resumed create compares with what exists instead of writing blind.
    let result = reconcile(&azure.arm, &op, &spec, creating && !resuming, &prior, &bodies).await;
    let bodies = bodies.into_inner().expect("bodies lock");
    let mut state = req.planned.clone();
    if let Err(d) = common::patch(&mut state, &computed_from(&spec, &bodies, result.is_ok())) {
        return StateResult::failed(req.prior, d);
    }
    match result {
        Ok(()) => StateResult::ok(state),
        Err(e) => {
            state.unknowns_to_null();
            let created = existing(&spec, &bodies);
            let d = if e.has_code("ResourceGroupNotFound") && bodies.identity.is_none() {
                missing_group(&spec, &e)
            } else {
                common::partial_failure(e, if creating { "workload identity" } else { "workload identity update" }, &created)
            };
            // Nothing exists after a failed create: report no state at all.
            if creating && created.is_empty() { StateResult::failed(Value::Null, d) } else { StateResult::failed(state, d) }
        }
    }
}

/// The group belongs to the hub; say so instead of ARM's generic hint.
fn missing_group(spec: &IdentitySpec, e: &ArmError) -> Diagnostics {
    Diagnostics::attr_error(
        AttrPath::root("resource_group_name"),
        format!("Resource group {:?} does not exist", spec.resource_group),
        format!(
            "trench_workload_identity lives in an existing resource group and never creates one. Apply the trench_hub that owns {:?} first, and reference it (resource_group_name = trench_hub.<name>.resource_group_name) so Terraform orders the two.\n\n{}",
            spec.resource_group,
            e.detail()
        ),
    )
}

/// Objects that exist, readable.
fn existing(spec: &IdentitySpec, b: &Bodies) -> Vec<String> {
    let mut out = Vec::new();
    if b.identity.is_some() {
        out.push(spec.identity_id().display());
    }
    for sa in spec.service_accounts.iter().filter(|sa| b.credentials.contains_key(&sa.key())) {
        out.push(spec.credential_id(sa).display());
    }
    for a in b.assignments.values() {
        if let Some(id) = str_at(a, "/id").and_then(|i| ResourceId::parse(i).ok()) {
            out.push(id.display());
        }
    }
    out
}

/// Computed attributes from what exists; ids are derived, not echoed, so
/// they equal what plan predicted whatever casing ARM answers with.
pub(super) fn computed_from(spec: &IdentitySpec, b: &Bodies, complete: bool) -> IdentityComputed {
    let from_identity = |ptr: &str| match b.identity.as_ref().and_then(|j| str_at(j, ptr)) {
        Some(s) => Val::Known(s.to_owned()),
        None => Val::Null,
    };
    let principal = b.identity.as_ref().and_then(|j| str_at(j, "/properties/principalId"));
    let assignments: Vec<Assignment> = principal.map(|p| spec.assignments(p)).unwrap_or_default();
    let mut missing = Vec::new();
    if !complete {
        if b.identity.is_none() {
            missing.push(format!("{} not yet in place", spec.identity_id().display()));
        }
        for sa in spec.service_accounts.iter().filter(|sa| !b.credentials.contains_key(&sa.key())) {
            missing.push(format!("{} not yet in place", spec.credential_id(sa).display()));
        }
        for ra in spec.role_assignments.iter().filter(|ra| !b.assignments.contains_key(&ra.key())) {
            missing.push(format!("role {:?} on {} not yet assigned", ra.role, ra.scope));
        }
    }
    IdentityComputed {
        id: Val::Known(spec.identity_id().to_string()),
        principal_id: from_identity("/properties/principalId"),
        client_id: from_identity("/properties/clientId"),
        tenant_id: from_identity("/properties/tenantId"),
        federated_credential_ids: Val::Known(
            spec.service_accounts
                .iter()
                .filter(|sa| b.credentials.contains_key(&sa.key()))
                .map(|sa| (sa.key(), spec.credential_id(sa).to_string()))
                .collect(),
        ),
        role_assignment_ids: Val::Known(
            assignments.into_iter().filter(|a| b.assignments.contains_key(&a.key)).map(|a| (a.key, a.id.to_string())).collect(),
        ),
        tags_all: Val::Known(common::visible_tags(&spec.tags)),
        drift: Val::Known(missing),
        api_versions: Val::Known(super::api_versions()),
    }
}

/// An identity that exists in Azure but not in state is not silently
/// adopted; one this composite made in an interrupted apply (its owner
/// tag) is resumed. Returns whether it resumes.
async fn refuse_adoption(azure: &Azure, op: &Op, spec: &IdentitySpec) -> Result<bool, Diagnostics> {
    let id = spec.identity_id();
    match azure.arm.get(&op.with_action("checking for an existing"), &id).await {
        Ok(Some(body)) if common::owned_by(&body, &spec.tags) => Ok(true),
        Ok(Some(_)) => Err(Diagnostics::error(
            format!("{} already exists", id.display()),
            format!(
                "trench does not take over objects it did not create. To manage this identity (its federated credentials and role assignments come with it) with Terraform, import it:\n\n  terraform import <address of this trench_workload_identity> {id}\n\nor add an import block with that id."
            ),
        )),
        Ok(None) => Ok(false),
        Err(e) => Err(e.diagnostics()),
    }
}

fn protocol(op: &Op, id: &ResourceId, what: &str) -> ArmError {
    ArmError {
        action: op.action.to_owned(),
        resource: id.display(),
        kind: ArmErrorKind::Protocol(what.to_owned()),
        request_id: None,
        correlation_id: None,
    }
}

async fn reconcile(
    arm: &ArmClient,
    op: &Op,
    spec: &IdentitySpec,
    creating: bool,
    prior: &Owned,
    bodies: &Mutex<Bodies>,
) -> Result<(), ArmError> {
    let id = spec.identity_id();
    // A create found nothing (refuse_adoption), so there is nothing to compare with.
    let identity =
        if creating { arm.put(op, &id, &spec.identity_body()).await? } else { ensure(arm, op, &id, &spec.identity_body(), None).await? };
    let principal = str_at(&identity, "/properties/principalId")
        .map(str::to_owned)
        .ok_or_else(|| protocol(op, &id, "the identity came back without properties.principalId"))?;
    keep(bodies, |b| b.identity = Some(identity));

    let credentials = async {
        // Azure fails concurrent federated-credential writes under one identity.
        let _lock = arm.locks.lock(&id.to_string()).await;
        let wanted: BTreeSet<ResourceId> = spec.service_accounts.iter().map(|sa| spec.credential_id(sa)).collect();
        // Removals first: they free slots of the 20 an identity may hold.
        for stale in prior.credentials.iter().filter(|c| !wanted.contains(*c)) {
            arm.delete(&op.with_action("removing"), stale).await?;
        }
        for sa in &spec.service_accounts {
            let (cid, body) = (spec.credential_id(sa), spec.credential_body(sa));
            let b = if creating { arm.put(op, &cid, &body).await? } else { ensure(arm, op, &cid, &body, None).await? };
            keep(bodies, |x| {
                x.credentials.insert(sa.key(), b);
            });
        }
        Ok::<_, ArmError>(())
    };
    let assignments = async {
        let wanted = spec.assignments(&principal);
        let wanted_ids: BTreeSet<&ResourceId> = wanted.iter().map(|a| &a.id).collect();
        // Assignments are immutable: a changed role is a removal plus a new one.
        let removing = op.with_action("removing");
        let removals = prior.assignments.iter().filter(|a| !wanted_ids.contains(a)).map(|a| arm.delete(&removing, a));
        let writes = wanted.iter().map(|a| assign(arm, op, a, creating, bodies));
        let (removed, written) = tokio::join!(futures::future::join_all(removals), futures::future::join_all(writes));
        removed.into_iter().chain(written).collect::<Result<Vec<()>, ArmError>>().map(|_| ())
    };
    let (c, a) = tokio::join!(credentials, assignments);
    c?;
    a
}

/// Makes one role assignment exist as wanted.
async fn assign(arm: &ArmClient, op: &Op, a: &Assignment, creating: bool, bodies: &Mutex<Bodies>) -> Result<(), ArmError> {
    let existing = if creating { None } else { arm.get(&op.with_action("reading"), &a.id).await? };
    let body = match existing {
        Some(h) if matches(&a.body, &h) => h,
        other => {
            if other.is_some() {
                // Same name, other principal or role: Azure refuses to update it in place.
                arm.delete(&op.with_action("replacing"), &a.id).await?;
            }
            arm.put_retrying(op, &a.id, &a.body, &["PrincipalNotFound"], REPLICATION_WAIT).await?
        }
    };
    keep(bodies, |b| {
        b.assignments.insert(a.key.clone(), body);
    });
    Ok(())
}

/// Removes role assignments, federated credentials, then the identity;
/// whatever is already gone counts as removed.
pub(super) async fn delete(arm: &ArmClient, op: &Op, o: &Owned) -> Result<(), ArmError> {
    let assignments = async {
        let done = futures::future::join_all(o.assignments.iter().map(|a| arm.delete(op, a))).await;
        done.into_iter().collect::<Result<Vec<()>, ArmError>>().map(|_| ())
    };
    let credentials = async {
        let Some(id) = &o.identity else { return Ok(()) };
        let _lock = arm.locks.lock(&id.to_string()).await;
        for c in &o.credentials {
            arm.delete(op, c).await?;
        }
        Ok::<_, ArmError>(())
    };
    let (a, c) = tokio::join!(assignments, credentials);
    a?;
    c?;
    if let Some(id) = &o.identity {
        arm.delete(op, id).await?;
    }
    Ok(())
}

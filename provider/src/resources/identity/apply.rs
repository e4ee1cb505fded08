//! Creating, updating and deleting the workload identity: the identity
//! first, then its federated credentials (one write at a time under the
//! identity) alongside its role assignments (in parallel, with
//! `principalType` and a bounded `PrincipalNotFound` retry).

use crate::resources::composite::{Apply, Deletion, Failure};
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::time::Duration;

use trench_arm::reconcile::matches;
use trench_arm::{ArmError, ResourceId};
use trench_plugin::framework::{AttrPath, Diagnostics};
use trench_plugin::value::{Val, Value, from_value};

use super::spec::{self, Assignment, IdentitySpec, RoleAssignment, ServiceAccount, Slot};
use super::{IdentityComputed, WorkloadIdentity};
use crate::resources::common::Env;
use crate::resources::composite::{Bodies, Run, str_at};

/// How long a role assignment keeps retrying `PrincipalNotFound` while a new
/// identity replicates through Entra ID (minutes in the worst cases seen).
pub(super) const REPLICATION_WAIT: Duration = Duration::from_secs(120);

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
pub(super) fn owned(env: &Env, state: &Value) -> Owned {
    let c: IdentityComputed = from_value(state).unwrap_or_default();
    let lists: Option<StateLists> = from_value(state).ok();
    let parse = |s: &str| ResourceId::parse(s).ok();
    let identity = c.id.known().and_then(|i| parse(i)).or_else(|| {
        let s = |k: &str| state.get_attr(k).and_then(Value::as_str);
        Some(spec::identity_id(&env.subscription, s("resource_group_name")?, s("name")?, s("environment")?))
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

/// Makes one role assignment exist as wanted.
async fn assign(run: &Run<'_, WorkloadIdentity>, ra: &RoleAssignment, a: &Assignment, creating: bool) -> Result<(), ArmError> {
    let (arm, op) = (run.arm(), run.op);
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
    run.keep(Slot::Assignment(ra.clone()), body);
    Ok(())
}

#[async_trait]
impl Apply for WorkloadIdentity {
    async fn reconcile(run: &Run<'_, Self>) -> Result<(), Failure> {
        let (arm, op, spec) = (run.arm(), run.op, run.spec);
        // A create that found nothing has nothing to compare with; a resumed one does.
        let creating = run.creating && !run.resuming;
        let prior = if run.creating { Owned::default() } else { owned(&run.azure.env, run.prior_state) };
        let id = spec.identity_id();
        let identity = if creating {
            run.put(Slot::Identity, &spec.identity_body()).await?
        } else {
            run.ensure(Slot::Identity, &spec.identity_body()).await?
        };
        let principal = str_at(&identity, "/properties/principalId")
            .map(str::to_owned)
            .ok_or_else(|| ArmError::protocol(op, &id, "the identity came back without properties.principalId"))?;

        let credentials = async {
            // Azure fails concurrent federated-credential writes under one identity.
            let _lock = arm.locks.lock(&id.to_string()).await;
            let wanted: BTreeSet<ResourceId> = spec.service_accounts.iter().map(|sa| spec.credential_id(sa)).collect();
            // Removals first: they free slots of the 20 an identity may hold.
            for stale in prior.credentials.iter().filter(|c| !wanted.contains(*c)) {
                arm.delete(&op.with_action("removing"), stale).await?;
            }
            for sa in &spec.service_accounts {
                let (slot, body) = (Slot::Credential(sa.clone()), spec.credential_body(sa));
                if creating {
                    run.put(slot, &body).await?;
                } else {
                    run.ensure(slot, &body).await?;
                }
            }
            Ok::<_, ArmError>(())
        };
        let assignments = async {
            let wanted: Vec<(RoleAssignment, Assignment)> =
                spec.role_assignments.iter().filter_map(|ra| Some((ra.clone(), spec::assignment(ra, &principal)?))).collect();
            let wanted_ids: BTreeSet<&ResourceId> = wanted.iter().map(|(_, a)| &a.id).collect();
            // Assignments are immutable: a changed role is a removal plus a new one.
            let removing = op.with_action("removing");
            let removals = prior.assignments.iter().filter(|a| !wanted_ids.contains(a)).map(|a| arm.delete(&removing, a));
            let writes = wanted.iter().map(|(ra, a)| assign(run, ra, a, creating));
            let (removed, written) = tokio::join!(futures::future::join_all(removals), futures::future::join_all(writes));
            removed.into_iter().chain(written).collect::<Result<Vec<()>, ArmError>>().map(|_| ())
        };
        let (c, a) = tokio::join!(credentials, assignments);
        c?;
        Ok(a?)
    }

    /// Removes role assignments, federated credentials, then the identity;
    /// whatever is already gone counts as removed.
    async fn delete(d: &Deletion<'_, Self>) -> Result<Diagnostics, Failure> {
        let (arm, op, o) = (&*d.azure.arm, d.op, &owned(&d.azure.env, d.state));
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
        Ok(Diagnostics::new())
    }

    /// The group belongs to the hub: before the identity exists, say so
    /// instead of ARM's generic hint.
    fn explain(spec: &IdentitySpec, bodies: &Bodies<Slot>, e: &ArmError) -> Option<Diagnostics> {
        (e.has_code("ResourceGroupNotFound") && !bodies.has(&Slot::Identity)).then(|| missing_group(spec, e))
    }
}

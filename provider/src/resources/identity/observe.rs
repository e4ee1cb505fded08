//! Reading the workload identity back: one GET per owned object (the
//! identity, each federated credential, each role assignment). What an input
//! expresses goes back into that input (a deleted credential or assignment
//! leaves its list, an issuer changed on every credential changes
//! `oidc_issuer_url`), so the plan shows the difference; everything else is
//! a `drift` line that apply repairs. Import discovers the credentials by
//! listing them and the assignments by listing the principal's.

use crate::resources::common::Azure;
use crate::resources::composite::{Model as _, Observe};
use async_trait::async_trait;
use std::collections::BTreeMap;

use serde_json::Value as Json;
use trench_arm::id::same_id;
use trench_arm::{ArmError, Op, ResourceId};
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::{Value, to_value};

use super::WorkloadIdentity;
use super::spec::{self, IdentitySpec, RoleAssignment, ServiceAccount, Slot, audiences, flatten};
use crate::resources::common::{self, ArmDiagnostics as _};
use crate::resources::composite::{Bodies, ImportCx, Imported, get_all, null_state, str_at};
use crate::resources::network::tag_drift;
use crate::resources::roles;

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Both lists of the schema are sets.
fn as_set(v: Value) -> Value {
    match v {
        Value::List(items) => Value::Set(items),
        other => other,
    }
}

/// `trench-<workload>-id-<env>` → workload, if the name follows the convention.
fn workload_of(name: &str, env: &str) -> Option<String> {
    let w = name.strip_prefix("trench-")?.strip_suffix(&format!("-id-{env}"))?;
    (crate::conventions::name(w, "id", env).ok()? == name).then(|| w.to_owned())
}

#[async_trait]
impl Observe for WorkloadIdentity {
    /// GETs the identity, then every credential and assignment it should have,
    /// in parallel. No identity means nothing else is looked for.
    async fn fetch(azure: &Azure, op: &Op, spec: &Self::Spec) -> Result<Bodies<Self::Slot>, ArmError> {
        let arm = &*azure.arm;
        let Some(identity) = arm.get(op, &spec.identity_id()).await? else {
            return Ok(Bodies::default());
        };
        let principal = str_at(&identity, "/properties/principalId").unwrap_or_default().to_owned();
        let mut objects: Vec<(ResourceId, Slot)> =
            spec.service_accounts.iter().map(|sa| (spec.credential_id(sa), Slot::Credential(sa.clone()))).collect();
        objects.extend(
            spec.role_assignments.iter().filter_map(|ra| Some((spec::assignment(ra, &principal)?.id, Slot::Assignment(ra.clone())))),
        );
        let mut b = get_all(arm, op, objects).await?;
        b.insert(Slot::Identity, identity);
        Ok(b)
    }

    fn gone(_spec: &IdentitySpec, bodies: &Bodies<Slot>) -> bool {
        // Credentials go with their identity; assignments to a deleted
        // principal no longer grant anything.
        !bodies.has(&Slot::Identity)
    }

    /// The state value for what was observed.
    fn read_back(state: &mut Value, spec: &IdentitySpec, b: &Bodies<Slot>) -> Result<(), Diagnostics> {
        let seen = flatten(spec, b);
        if let Value::Object(m) = state {
            if !m.get("location").and_then(Value::as_str).is_some_and(|l| l.eq_ignore_ascii_case(&seen.location)) {
                m.insert("location".into(), Value::string(&seen.location));
            }
            // A deleted credential or assignment leaves its list.
            if seen.service_accounts.len() != spec.service_accounts.len() {
                m.insert("service_accounts".into(), as_set(to_value(&seen.service_accounts)?));
            }
            if seen.role_assignments.len() != spec.role_assignments.len() {
                m.insert("role_assignments".into(), as_set(to_value(&seen.role_assignments)?));
            }
            if seen.issuer != spec.issuer {
                m.insert("oidc_issuer_url".into(), Value::string(&seen.issuer));
            }
            if seen.audiences != spec.audiences {
                m.insert("audiences".into(), to_value(&seen.audiences)?);
            }
        }
        Ok(())
    }

    fn drift(spec: &IdentitySpec, b: &Bodies<Slot>) -> Vec<String> {
        let seen = flatten(spec, b);
        let mut drift = Vec::new();
        if let Some(identity) = b.get(&Slot::Identity) {
            drift.extend(tag_drift(&spec.identity_id().display(), identity, &spec.tags));
        }
        for sa in &seen.service_accounts {
            let Some(body) = b.get(&Slot::Credential(sa.clone())) else { continue };
            let what = spec.credential_id(sa).display();
            let subject = str_at(body, "/properties/subject").unwrap_or("");
            if subject != sa.subject() {
                drift.push(format!("{what}: subject is {subject:?}, not {:?}", sa.subject()));
            }
            // Entra ID compares issuers as exact strings.
            let have = str_at(body, "/properties/issuer").unwrap_or("");
            if have != seen.issuer {
                drift.push(format!("{what}: issuer is {have:?}, not {:?}", seen.issuer));
            }
            if sorted(audiences(body)) != sorted(seen.audiences.clone()) {
                drift.push(format!("{what}: audiences are {:?}, not {:?}", audiences(body), spec.audiences));
            }
        }
        let principal = seen.principal.as_deref().unwrap_or("");
        for ra in &seen.role_assignments {
            let (Some(body), Some(a)) = (b.get(&Slot::Assignment(ra.clone())), spec::assignment(ra, principal)) else { continue };
            let role = str_at(body, "/properties/roleDefinitionId").and_then(|r| r.rsplit('/').next()).unwrap_or("");
            let holder = str_at(body, "/properties/principalId").unwrap_or("");
            if !role.eq_ignore_ascii_case(&a.role_guid) || !holder.eq_ignore_ascii_case(principal) {
                drift.push(format!("{}: grants role {role} to {holder}, not {} to {principal}", a.id.display(), a.role_guid));
            }
        }
        drift
    }

    async fn import(cx: &ImportCx<'_>) -> Result<Imported<Self>, Diagnostics> {
        let fail = |s: &str, d: String| Err(Diagnostics::error(s, d));
        let (azure, op, uai) = (cx.azure, cx.op, cx.id);
        let arm = &*azure.arm;
        let (identity, tags) = cx.primary("Identity").await?;
        let name = uai.name().to_owned();
        let Some((env, workload)) = cx.environment_hint(&tags).and_then(|e| workload_of(&name, &e).map(|w| (e, w))) else {
            return fail(
                "Not a trench workload identity",
                format!("{} is not named trench-<name>-id-<env>, so its workload name and environment cannot be told.", uai.display()),
            );
        };
        let principal = str_at(&identity, "/properties/principalId").unwrap_or_default().to_owned();
        let mut warnings = Diagnostics::new();

        // Credentials: the ones named and shaped the way trench makes them.
        let listed = arm.list_children(op, uai, "federatedIdentityCredentials").await.map_err(|e| e.diagnostics())?;
        let mut credentials: BTreeMap<ServiceAccount, Json> = BTreeMap::new();
        {
            {
                for f in listed.unwrap_or_default() {
                    let fname = f.get("name").and_then(Json::as_str).unwrap_or("").to_owned();
                    match str_at(&f, "/properties/subject").and_then(ServiceAccount::from_subject) {
                        Some(sa) if sa.credential_name() == fname => {
                            credentials.insert(sa, f);
                        }
                        _ => warnings.add_warning(
                            None,
                            format!("Federated credential {fname:?} left unmanaged"),
                            "Its name and subject are not <namespace>-<name> and system:serviceaccount:<namespace>:<name>, so trench_workload_identity cannot express it; it stays in Azure untouched.",
                        ),
                    }
                }
            }
        }
        // Sorted by (namespace, name): the order Terraform sees is stable.
        let service_accounts: Vec<ServiceAccount> = credentials.keys().cloned().collect();
        let first = service_accounts.first().map(|sa| &credentials[sa]);
        let issuer = first.and_then(|f| str_at(f, "/properties/issuer")).map(str::to_owned);
        let audiences = first.map(audiences).unwrap_or_else(|| vec![spec::DEFAULT_AUDIENCE.to_owned()]);

        // Assignments: ARM filters by principal; the name tells trench's own.
        let sub = ResourceId::subscription(&uai.subscription);
        let filter = format!("principalId eq '{principal}'");
        let listed =
            arm.list_at_scope(op, &sub, "Microsoft.Authorization", "roleAssignments", Some(&filter)).await.map_err(|e| e.diagnostics())?;
        let mut found: Vec<(RoleAssignment, Json)> = Vec::new();
        {
            {
                for a in listed.unwrap_or_default() {
                    if !str_at(&a, "/properties/principalId").is_some_and(|p| p.eq_ignore_ascii_case(&principal)) {
                        continue;
                    }
                    let scope = str_at(&a, "/properties/scope").unwrap_or("").to_owned();
                    let guid =
                        str_at(&a, "/properties/roleDefinitionId").and_then(|r| r.rsplit('/').next()).unwrap_or("").to_ascii_lowercase();
                    let role = roles::role_name(&guid).map(str::to_owned).unwrap_or_else(|| guid.clone());
                    let ra = RoleAssignment { scope, role };
                    match spec::assignment(&ra, &principal) {
                        Some(x) if str_at(&a, "/id").is_some_and(|i| same_id(i, &x.id.to_string())) => found.push((ra, a)),
                        _ => warnings.add_warning(
                            None,
                            format!("Role assignment {} left unmanaged", str_at(&a, "/id").unwrap_or("")),
                            "It grants a role to this identity but was not created by trench (its name is not derived from scope, principal and role); it stays in Azure untouched.",
                        ),
                    }
                }
            }
        }
        found.sort_by(|(a, _), (b, _)| (a.scope.to_ascii_lowercase(), &a.role).cmp(&(b.scope.to_ascii_lowercase(), &b.role)));

        // User tags: what the identity carries beyond trench's and the provider's.
        let user_tags = common::user_tags(&tags, &azure.env.default_tags, &env);
        let spec = IdentitySpec {
            subscription: uai.subscription.clone(),
            resource_group: uai.resource_group.clone().unwrap_or_default(),
            env: env.clone(),
            workload: workload.clone(),
            location: identity.get("location").and_then(Json::as_str).unwrap_or("").to_owned(),
            issuer: issuer.clone().unwrap_or_default(),
            service_accounts: service_accounts.clone(),
            audiences: audiences.clone(),
            role_assignments: found.iter().map(|(r, _)| r.clone()).collect(),
            tags: common::with_owner(
                common::tags_all(&azure.env.default_tags, &env, Some(&user_tags)),
                "trench_workload_identity",
                uai.name(),
            ),
            principal: Some(principal.clone()),
        };
        let ras = &spec.role_assignments;
        let (sas, auds) = (to_value(&service_accounts), to_value(&audiences));
        let (sas, auds, ras) = (sas?, auds?, to_value(ras)?);
        let mut skeleton = null_state(&WorkloadIdentity::schema());
        skeleton.insert("environment".into(), Value::string(&env));
        skeleton.insert("name".into(), Value::string(&workload));
        skeleton.insert("location".into(), Value::string(&spec.location));
        skeleton.insert("resource_group_name".into(), Value::string(&spec.resource_group));
        skeleton.insert("oidc_issuer_url".into(), issuer.map(Value::String).unwrap_or(Value::Null));
        skeleton.insert("service_accounts".into(), as_set(sas));
        skeleton.insert("audiences".into(), auds);
        if !spec.role_assignments.is_empty() {
            skeleton.insert("role_assignments".into(), as_set(ras));
        }
        if !user_tags.is_empty() {
            skeleton.insert("tags".into(), Value::string_map(&user_tags));
        }
        let mut bodies: Bodies<Slot> = credentials.into_iter().map(|(sa, f)| (Slot::Credential(sa), f)).collect();
        bodies.insert(Slot::Identity, identity);
        for (ra, a) in found {
            bodies.insert(Slot::Assignment(ra), a);
        }
        Ok(Imported { state: Value::Object(skeleton), spec, bodies, warnings })
    }
}

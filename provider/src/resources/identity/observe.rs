//! Reading the workload identity back: one GET per owned object (the
//! identity, each federated credential, each role assignment). What an input
//! expresses goes back into that input (a deleted credential or assignment
//! leaves its list, an issuer changed on every credential changes
//! `oidc_issuer_url`), so the plan shows the difference; everything else is
//! a `drift` line that apply repairs. Import discovers the credentials by
//! listing them and the assignments by listing the principal's.

use crate::resources::common::ArmDiagnostics as _;
use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::apply::{Bodies, computed_from, str_at};
use super::spec::{self, IdentitySpec, RoleAssignment, ServiceAccount};
use super::{default_timeouts, spec_from};
use crate::resources::common;
use crate::resources::network::{read_tags, tag_drift};
use crate::resources::roles;
use trench_arm::id::same_id;
use trench_arm::{ArmClient, ArmError, Op, ResourceId};
use trench_plugin::framework::{Ctx, Diagnostics, StateResult};
use trench_plugin::value::{Val, Value, to_value};

/// GETs the identity, then every credential and assignment it should have,
/// in parallel. No identity means nothing else is looked for.
async fn fetch(arm: &ArmClient, op: &Op, spec: &IdentitySpec) -> Result<Bodies, ArmError> {
    let Some(identity) = arm.get(op, &spec.identity_id()).await? else {
        return Ok(Bodies::default());
    };
    let principal = str_at(&identity, "/properties/principalId").unwrap_or_default().to_owned();
    let assignments = spec.assignments(&principal);
    let credentials = futures::future::join_all(spec.service_accounts.iter().map(|sa| async move {
        let id = spec.credential_id(sa);
        arm.get(op, &id).await.map(|b| (sa.key(), b))
    }));
    let roles = futures::future::join_all(assignments.iter().map(|a| async move { arm.get(op, &a.id).await.map(|b| (a.key.clone(), b)) }));
    let (credentials, roles) = tokio::join!(credentials, roles);
    let mut b = Bodies { identity: Some(identity), ..Bodies::default() };
    for r in credentials {
        if let (key, Some(body)) = r? {
            b.credentials.insert(key, body);
        }
    }
    for r in roles {
        if let (key, Some(body)) = r? {
            b.assignments.insert(key, body);
        }
    }
    Ok(b)
}

fn audiences_of(fic: &Json) -> Vec<String> {
    fic.pointer("/properties/audiences")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The value every observed credential agrees on, or `fallback` when they
/// disagree or there are none (then the odd ones out are drift).
fn consensus<T: PartialEq + Clone>(seen: &[T], fallback: &T) -> T {
    match seen.first() {
        Some(first) if seen.iter().all(|s| s == first) => first.clone(),
        _ => fallback.clone(),
    }
}

/// Both lists of the schema are sets.
fn as_set(v: Value) -> Value {
    match v {
        Value::List(items) => Value::Set(items),
        other => other,
    }
}

/// The state value for what was observed.
pub(super) fn state_for(prior: &Value, spec: &IdentitySpec, b: &Bodies) -> Result<Value, Diagnostics> {
    let mut state = prior.clone();
    let mut drift = Vec::new();
    let identity = b.identity.as_ref().expect("the identity exists");
    drift.extend(tag_drift(&spec.identity_id().display(), identity, &spec.tags));

    let present: Vec<&ServiceAccount> = spec.service_accounts.iter().filter(|sa| b.credentials.contains_key(&sa.key())).collect();
    let fic = |sa: &ServiceAccount| &b.credentials[&sa.key()];
    let issuers: Vec<String> = present.iter().map(|sa| str_at(fic(sa), "/properties/issuer").unwrap_or("").to_owned()).collect();
    let issuer = consensus(&issuers, &spec.issuer);
    let audience_sets: Vec<Vec<String>> = present.iter().map(|sa| sorted(audiences_of(fic(sa)))).collect();
    let audiences = consensus(&audience_sets, &sorted(spec.audiences.clone()));
    for sa in &present {
        let (what, body) = (spec.credential_id(sa).display(), fic(sa));
        let subject = str_at(body, "/properties/subject").unwrap_or("");
        if subject != sa.subject() {
            drift.push(format!("{what}: subject is {subject:?}, not {:?}", sa.subject()));
        }
        // Entra ID compares issuers as exact strings.
        let have = str_at(body, "/properties/issuer").unwrap_or("");
        if have != issuer {
            drift.push(format!("{what}: issuer is {have:?}, not {issuer:?}"));
        }
        if sorted(audiences_of(body)) != audiences {
            drift.push(format!("{what}: audiences are {:?}, not {:?}", audiences_of(body), spec.audiences));
        }
    }

    let principal = str_at(identity, "/properties/principalId").unwrap_or("");
    let assignments = spec.assignments(principal);
    for a in &assignments {
        let Some(body) = b.assignments.get(&a.key) else { continue };
        let role = str_at(body, "/properties/roleDefinitionId").and_then(|r| r.rsplit('/').next()).unwrap_or("");
        let holder = str_at(body, "/properties/principalId").unwrap_or("");
        if !role.eq_ignore_ascii_case(&a.role_guid) || !holder.eq_ignore_ascii_case(principal) {
            drift.push(format!("{}: grants role {role} to {holder}, not {} to {principal}", a.id.display(), a.role_guid));
        }
    }
    let present_roles: Vec<&RoleAssignment> = spec.role_assignments.iter().filter(|ra| b.assignments.contains_key(&ra.key())).collect();

    if let Value::Object(m) = &mut state {
        if let Some(loc) = identity.get("location").and_then(Json::as_str)
            && !m.get("location").and_then(Value::as_str).is_some_and(|l| l.eq_ignore_ascii_case(loc))
        {
            m.insert("location".into(), Value::string(loc));
        }
        if present.len() != spec.service_accounts.len() {
            m.insert("service_accounts".into(), as_set(to_value(&present)?));
        }
        if present_roles.len() != spec.role_assignments.len() {
            m.insert("role_assignments".into(), as_set(to_value(&present_roles)?));
        }
        if issuer != spec.issuer {
            m.insert("oidc_issuer_url".into(), Value::string(&issuer));
        }
        if audiences != sorted(spec.audiences.clone()) {
            // Every credential agrees on other audiences; keep one's order.
            let first = present.first().map(|sa| audiences_of(fic(sa))).unwrap_or(audiences);
            m.insert("audiences".into(), to_value(&first)?);
        }
    }
    let mut computed = computed_from(spec, b, true);
    computed.drift = Val::Known(drift);
    common::patch(&mut state, &computed)?;
    Ok(state)
}

pub(super) async fn read(ctx: &Ctx, state: Value, private: Vec<u8>) -> StateResult {
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(state, d),
    };
    let spec = match spec_from(&azure.subscription, &azure.default_tags, &state) {
        Ok(s) => s,
        Err(d) => return StateResult::failed(state, d),
    };
    let t = common::timeouts(&state, default_timeouts()).unwrap_or(default_timeouts());
    let op = common::op(ctx, "reading", t.read);
    let b = match fetch(&azure.arm, &op, &spec).await {
        Ok(b) => b,
        Err(e) => return StateResult::failed(state, e.diagnostics()),
    };
    if b.identity.is_none() {
        // Credentials go with their identity; assignments to a deleted
        // principal no longer grant anything.
        return StateResult::ok(Value::Null);
    }
    match state_for(&state, &spec, &b) {
        Ok(s) => StateResult { state: s, private, diagnostics: Diagnostics::new() },
        Err(d) => StateResult::failed(state, d),
    }
}

/// `trench-<workload>-id-<env>` → workload, if the name follows the convention.
fn workload_of(name: &str, env: &str) -> Option<String> {
    let w = name.strip_prefix("trench-")?.strip_suffix(&format!("-id-{env}"))?;
    (crate::conventions::name(w, "id", env).ok()? == name).then(|| w.to_owned())
}

pub(super) async fn import(ctx: &Ctx, id: &str) -> StateResult {
    let fail = |s: &str, d: String| StateResult::failed(Value::Null, Diagnostics::error(s, d));
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(Value::Null, d),
    };
    let uai = match ResourceId::parse(id) {
        Ok(v) if v.resource_type().eq_ignore_ascii_case("Microsoft.ManagedIdentity/userAssignedIdentities") => v,
        Ok(v) => {
            return fail(
                "Wrong import id",
                format!("trench_workload_identity is imported by its user-assigned identity id; {id} is a {}.", v.resource_type()),
            );
        }
        Err(e) => return fail("Invalid import id", e.to_string()),
    };
    let op = common::op(ctx, "importing", default_timeouts().read);
    let arm = &*azure.arm;
    let identity = match arm.get(&op, &uai).await {
        Ok(Some(v)) => v,
        Ok(None) => return fail("Identity not found", format!("{} does not exist.", uai.display())),
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    let tags = read_tags(&identity);
    let name = uai.name().to_owned();
    let env = tags
        .get("environment")
        .cloned()
        .or_else(|| name.rsplit('-').next().map(str::to_owned))
        .filter(|e| crate::conventions::check_environment(e).is_ok());
    let Some((env, workload)) = env.and_then(|e| workload_of(&name, &e).map(|w| (e, w))) else {
        return fail(
            "Not a trench workload identity",
            format!("{} is not named trench-<name>-id-<env>, so its workload name and environment cannot be told.", uai.display()),
        );
    };
    let principal = str_at(&identity, "/properties/principalId").unwrap_or_default().to_owned();
    let mut warnings = Diagnostics::new();

    // Credentials: the ones named and shaped the way trench makes them.
    let fic_type = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";
    let listed = arm
        .list(
            &op,
            &format!("federated credentials of {}", uai.display()),
            &format!("{uai}/federatedIdentityCredentials"),
            trench_arm::api_versions::for_type(fic_type).unwrap_or("2024-11-30"),
        )
        .await;
    let mut credentials: BTreeMap<ServiceAccount, Json> = BTreeMap::new();
    match listed {
        Ok(items) => {
            for f in items.unwrap_or_default() {
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
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    }
    // Sorted by (namespace, name): the order Terraform sees is stable.
    let service_accounts: Vec<ServiceAccount> = credentials.keys().cloned().collect();
    let first = service_accounts.first().map(|sa| &credentials[sa]);
    let issuer = first.and_then(|f| str_at(f, "/properties/issuer")).map(str::to_owned);
    let audiences = first.map(audiences_of).unwrap_or_else(|| vec![spec::DEFAULT_AUDIENCE.to_owned()]);

    // Assignments: ARM filters by principal; the name tells trench's own.
    let ra_type = "Microsoft.Authorization/roleAssignments";
    let listed = arm
        .list_with_query(
            &op,
            &format!("role assignments of {}", uai.display()),
            &format!("/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments", uai.subscription),
            trench_arm::api_versions::for_type(ra_type).unwrap_or("2022-04-01"),
            &[("$filter", &format!("principalId eq '{principal}'"))],
        )
        .await;
    let mut found: Vec<(RoleAssignment, Json)> = Vec::new();
    match listed {
        Ok(items) => {
            for a in items.unwrap_or_default() {
                if !str_at(&a, "/properties/principalId").is_some_and(|p| p.eq_ignore_ascii_case(&principal)) {
                    continue;
                }
                let scope = str_at(&a, "/properties/scope").unwrap_or("").to_owned();
                let guid = str_at(&a, "/properties/roleDefinitionId").and_then(|r| r.rsplit('/').next()).unwrap_or("").to_ascii_lowercase();
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
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    }
    found.sort_by(|(a, _), (b, _)| (a.scope.to_ascii_lowercase(), &a.role).cmp(&(b.scope.to_ascii_lowercase(), &b.role)));

    // User tags: what the identity carries beyond trench's and the provider's.
    let user_tags = common::user_tags(&tags, &azure.default_tags, &env);
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
        tags: common::with_owner(common::tags_all(&azure.default_tags, &env, Some(&user_tags)), "trench_workload_identity", uai.name()),
    };
    let ras = &spec.role_assignments;
    let (sas, auds) = (to_value(&service_accounts), to_value(&audiences));
    let (sas, auds, ras) = match (sas, auds, to_value(ras)) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return StateResult::failed(Value::Null, e.into()),
    };
    let mut skeleton: BTreeMap<String, Value> = super::schema().block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    skeleton.insert("timeouts".into(), Value::Null);
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
        skeleton.insert("tags".into(), Value::Map(user_tags.iter().map(|(k, v)| (k.clone(), Value::string(v))).collect()));
    }
    let bodies = Bodies {
        identity: Some(identity),
        credentials: credentials.into_iter().map(|(sa, f)| (sa.key(), f)).collect(),
        assignments: found.into_iter().map(|(ra, a)| (ra.key(), a)).collect(),
    };
    match state_for(&Value::Object(skeleton), &spec, &bodies) {
        Ok(s) => StateResult { state: s, private: Vec::new(), diagnostics: warnings },
        Err(d) => StateResult::failed(Value::Null, d),
    }
}

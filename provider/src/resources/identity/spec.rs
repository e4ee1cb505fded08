//! The workload identity as it should be: names, ids and the ARM body of
//! every object it owns (expand), and the identity a set of bodies
//! describes (flatten), with no ARM calls.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use trench_arm::ResourceId;
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::{Val, Value, from_value};

use super::{IdentityComputed, IdentityConfig, WorkloadIdentity};
use crate::conventions::names;
use crate::resources::common::{self, Env};
use crate::resources::composite::{Bodies, Claims, Specs, str_at};
use crate::resources::roles;

/// The audience Entra ID expects in workload-identity token exchanges.
pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A Kubernetes service account that may sign in as the identity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServiceAccount {
    /// Kubernetes namespace.
    pub namespace: String,
    /// Service account name.
    pub name: String,
}

impl ServiceAccount {
    /// Key in `federated_credential_ids`: `<namespace>/<name>`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
    /// The federated credential's name: `<namespace>-<name>`.
    pub fn credential_name(&self) -> String {
        format!("{}-{}", self.namespace, self.name)
    }
    /// The token subject AKS issues for this service account.
    pub fn subject(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
    /// The service account a subject names, if it is a Kubernetes one.
    pub fn from_subject(subject: &str) -> Option<ServiceAccount> {
        let rest = subject.strip_prefix("system:serviceaccount:")?;
        let (ns, name) = rest.split_once(':')?;
        (!ns.is_empty() && !name.is_empty() && !name.contains(':'))
            .then(|| ServiceAccount { namespace: ns.to_owned(), name: name.to_owned() })
    }
}

/// A role the identity holds on a scope.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// ARM id of the scope.
    pub scope: String,
    /// Built-in role name or role definition GUID.
    pub role: String,
}

impl RoleAssignment {
    /// Key in `role_assignment_ids`: `<role>|<scope>`.
    pub fn key(&self) -> String {
        format!("{}|{}", self.role, self.scope)
    }
}

/// A role assignment resolved for one principal: its id and body.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// `<role>|<scope>`.
    pub key: String,
    /// The assignment's id (a stable GUID name on the scope).
    pub id: ResourceId,
    /// The role definition GUID.
    pub role_guid: String,
    /// The PUT body.
    pub body: Json,
}

/// Resolves `ra` for `principal`; `None` if the scope or role does not
/// resolve (validation rejects both at plan time).
pub fn assignment(ra: &RoleAssignment, principal: &str) -> Option<Assignment> {
    let scope = ResourceId::parse(&ra.scope).ok()?;
    // Built-in role definitions are addressed through the scope's subscription.
    let role_id = roles::role_definition_id(&scope.subscription, &ra.role)?;
    let role_guid = roles::role_guid(&ra.role)?;
    let name = roles::assignment_name(&scope.to_string(), principal, &role_guid);
    // principalType always: a fresh identity is not yet in ARM's replica of
    // the directory, and without it Azure answers PrincipalNotFound.
    let body = json!({ "properties": { "roleDefinitionId": role_id, "principalId": principal, "principalType": "ServicePrincipal" } });
    Some(Assignment { key: ra.key(), id: scope.extension("Microsoft.Authorization", "roleAssignments", &name), role_guid, body })
}

/// The complete desired identity.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentitySpec {
    /// Subscription.
    pub subscription: String,
    /// Resource group (the hub's; never created or deleted here).
    pub resource_group: String,
    /// Environment.
    pub env: String,
    /// Workload name (`catalog-api`).
    pub workload: String,
    /// Location.
    pub location: String,
    /// OIDC issuer URL of the cluster.
    pub issuer: String,
    /// Service accounts, in configuration order.
    pub service_accounts: Vec<ServiceAccount>,
    /// Token audiences.
    pub audiences: Vec<String>,
    /// Role assignments, in configuration order.
    pub role_assignments: Vec<RoleAssignment>,
    /// Tags for the identity.
    pub tags: BTreeMap<String, String>,
    /// The identity's principal, once it exists.
    pub principal: Option<String>,
}

/// The identity's id.
pub fn identity_id(subscription: &str, resource_group: &str, workload: &str, env: &str) -> ResourceId {
    ResourceId::resource(
        subscription,
        resource_group,
        "Microsoft.ManagedIdentity",
        "userAssignedIdentities",
        &names::identity(workload, env),
    )
}

/// A federated credential's id under the identity.
pub fn credential_id(identity: &ResourceId, sa: &ServiceAccount) -> ResourceId {
    identity.child("federatedIdentityCredentials", &sa.credential_name())
}

impl IdentitySpec {
    /// The identity's id.
    pub fn identity_id(&self) -> ResourceId {
        identity_id(&self.subscription, &self.resource_group, &self.workload, &self.env)
    }

    /// Identity body.
    pub fn identity_body(&self) -> Json {
        json!({ "location": self.location, "tags": self.tags })
    }

    /// A federated credential's id.
    pub fn credential_id(&self, sa: &ServiceAccount) -> ResourceId {
        credential_id(&self.identity_id(), sa)
    }

    /// A federated credential's body.
    pub fn credential_body(&self, sa: &ServiceAccount) -> Json {
        json!({ "properties": { "issuer": self.issuer, "subject": sa.subject(), "audiences": self.audiences } })
    }

    /// `federated_credential_ids` for every configured service account.
    pub fn credential_ids(&self) -> BTreeMap<String, String> {
        self.service_accounts.iter().map(|sa| (sa.key(), self.credential_id(sa).to_string())).collect()
    }

    /// Every configured role assignment for `principal`.
    pub fn assignments(&self, principal: &str) -> Vec<Assignment> {
        self.role_assignments.iter().filter_map(|ra| assignment(ra, principal)).collect()
    }
}

/// One object the identity owns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// The user-assigned identity.
    Identity,
    /// The federated credential of a service account.
    Credential(ServiceAccount),
    /// A role assignment (named after the identity's principal).
    Assignment(RoleAssignment),
}

impl Slot {
    /// The object's id.
    pub fn id(&self, spec: &IdentitySpec) -> ResourceId {
        match self {
            Slot::Identity => spec.identity_id(),
            Slot::Credential(sa) => spec.credential_id(sa),
            Slot::Assignment(ra) => match spec.principal.as_deref().and_then(|p| assignment(ra, p)) {
                Some(a) => a.id,
                None => spec.identity_id(),
            },
        }
    }
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

/// The identity the bodies describe (flatten): the credentials and
/// assignments that exist, the issuer and audiences every credential
/// agrees on; `spec` supplies what they cannot say (names, tags) and what
/// they disagree on.
pub fn flatten(spec: &IdentitySpec, b: &Bodies<Slot>) -> IdentitySpec {
    let mut s = spec.clone();
    if let Some(identity) = b.get(&Slot::Identity) {
        s.location = str_at(identity, "/location").unwrap_or(&s.location).to_owned();
        s.principal = str_at(identity, "/properties/principalId").map(str::to_owned).or(s.principal);
    }
    s.service_accounts.retain(|sa| b.has(&Slot::Credential(sa.clone())));
    let fics: Vec<&Json> = s.service_accounts.iter().filter_map(|sa| b.get(&Slot::Credential(sa.clone()))).collect();
    let issuers: Vec<String> = fics.iter().map(|f| str_at(f, "/properties/issuer").unwrap_or("").to_owned()).collect();
    s.issuer = consensus(&issuers, &spec.issuer);
    let audience_sets: Vec<Vec<String>> = fics.iter().map(|f| sorted(audiences_of(f))).collect();
    if consensus(&audience_sets, &sorted(spec.audiences.clone())) != sorted(spec.audiences.clone()) {
        // Every credential agrees on other audiences; keep one's order.
        s.audiences = fics.first().map(|f| audiences_of(f)).unwrap_or_default();
    }
    s.role_assignments.retain(|ra| b.has(&Slot::Assignment(ra.clone())));
    s
}

/// The audiences a credential body accepts.
pub fn audiences(fic: &Json) -> Vec<String> {
    audiences_of(fic)
}

fn need<T>(x: Option<T>, what: &str) -> Result<T, Diagnostics> {
    x.ok_or_else(|| Diagnostics::error("Planned value not known", format!("{what} is not known at apply time.")))
}

impl Specs for WorkloadIdentity {
    type Spec = IdentitySpec;
    type Slot = Slot;

    /// The desired identity from a wholly known planned (or prior) state.
    fn spec_from(e: &Env, v: &Value) -> Result<IdentitySpec, Diagnostics> {
        let cfg: IdentityConfig = from_value(v)?;
        let env = need(cfg.environment.known().cloned(), "environment")?;
        let subscription = common::subscription_of(v, e);
        Ok(IdentitySpec {
            subscription,
            resource_group: cfg.resource_group_name.known().cloned().unwrap_or_else(|| names::identity_resource_group(&env)),
            workload: need(cfg.name.known().cloned(), "name")?,
            location: need(cfg.location.known().cloned(), "location")?,
            // Null only in an imported state whose identity has no credentials.
            issuer: cfg.oidc_issuer_url.known().cloned().unwrap_or_default(),
            service_accounts: need(cfg.service_accounts.known().cloned(), "service_accounts")?,
            audiences: cfg.audiences.known().cloned().unwrap_or_else(|| vec![DEFAULT_AUDIENCE.to_owned()]),
            role_assignments: cfg.role_assignments.known().cloned().unwrap_or_default(),
            tags: common::with_owner(
                common::tags_all(&e.default_tags, &env, cfg.tags.known()),
                "trench_workload_identity",
                &names::identity(cfg.name.known().map(String::as_str).unwrap_or_default(), &env),
            ),
            principal: v.get_attr("principal_id").and_then(Value::as_str).map(str::to_owned),
            env,
        })
    }

    fn id(spec: &IdentitySpec, slot: &Slot) -> ResourceId {
        slot.id(spec)
    }

    /// Every object the spec owns; assignments once the principal is known.
    fn slots(spec: &IdentitySpec) -> Vec<Slot> {
        let mut s = vec![Slot::Identity];
        s.extend(spec.service_accounts.iter().cloned().map(Slot::Credential));
        if spec.principal.is_some() {
            s.extend(spec.role_assignments.iter().cloned().map(Slot::Assignment));
        }
        s
    }

    fn import_id(spec: &IdentitySpec) -> ResourceId {
        spec.identity_id()
    }

    fn tags(spec: &IdentitySpec) -> &BTreeMap<String, String> {
        &spec.tags
    }

    fn claims(spec: &IdentitySpec) -> Claims {
        Claims { group: None, objects: vec![spec.identity_id()] }
    }

    /// Computed attributes from what exists; ids are derived, not echoed, so
    /// they equal what plan predicted whatever casing ARM answers with.
    fn computed(spec: &IdentitySpec, b: &Bodies<Slot>) -> IdentityComputed {
        let identity = b.get(&Slot::Identity);
        let from_identity = |ptr: &str| match identity.and_then(|j| str_at(j, ptr)) {
            Some(s) => Val::Known(s.to_owned()),
            None => Val::Null,
        };
        let principal = identity.and_then(|j| str_at(j, "/properties/principalId"));
        IdentityComputed {
            id: Val::Known(spec.identity_id().to_string()),
            principal_id: from_identity("/properties/principalId"),
            client_id: from_identity("/properties/clientId"),
            tenant_id: from_identity("/properties/tenantId"),
            federated_credential_ids: Val::Known(
                spec.service_accounts
                    .iter()
                    .filter(|sa| b.has(&Slot::Credential((*sa).clone())))
                    .map(|sa| (sa.key(), spec.credential_id(sa).to_string()))
                    .collect(),
            ),
            role_assignment_ids: Val::Known(
                spec.role_assignments
                    .iter()
                    .filter(|ra| b.has(&Slot::Assignment((*ra).clone())))
                    .filter_map(|ra| assignment(ra, principal?))
                    .map(|a| (a.key, a.id.to_string()))
                    .collect(),
            ),
        }
    }
}

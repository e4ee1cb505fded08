//! `trench_workload_identity`: a user-assigned identity for one workload,
//! a federated credential per Kubernetes service account on the cluster's
//! OIDC issuer, and the identity's role assignments (Key Vault, Service
//! Bus, …).
//!
//! Azure's rules kept here: the identity exists before anything refers to
//! it; federated-credential writes under one identity are serialised (Azure
//! rejects concurrent ones); role assignments always carry `principalType`
//! and briefly retry `PrincipalNotFound` (a fresh identity takes time to
//! replicate); assignments are immutable, so a changed role is a delete and
//! a create. The resource group is the hub's: it is never created or deleted
//! here.

mod apply;
mod observe;
pub mod spec;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::conventions::{self, AzureType};
use crate::resources::{common, roles};
use spec::{DEFAULT_AUDIENCE, IdentitySpec, RoleAssignment, ServiceAccount};
use trench_arm::ResourceId;
use trench_plugin::framework::plan::{self, ReplaceRule};
use trench_plugin::framework::timeouts::{self, Timeouts};
use trench_plugin::framework::{
    ApplyRequest, AttrPath, Attribute, Block, Ctx, Diagnostics, Mode, Nesting, PlanRequest, Planned, Resource, Schema, StateResult,
};
use trench_plugin::value::{Type, Val, Value, from_value};

/// The resource.
pub struct WorkloadIdentity;

/// Azure's limit of federated credentials per identity.
pub const MAX_CREDENTIALS: usize = 20;

fn default_timeouts() -> Timeouts {
    // Everything here is synchronous in Azure; the time goes to principal
    // replication and to one federated-credential write at a time.
    Timeouts {
        create: Duration::from_secs(30 * 60),
        read: Duration::from_secs(5 * 60),
        update: Duration::from_secs(30 * 60),
        delete: Duration::from_secs(30 * 60),
    }
}

/// The settable attributes, each possibly null or unknown. Lists are known
/// only when wholly known; validation reads their elements one by one.
#[derive(Clone, Debug, Deserialize)]
pub struct IdentityConfig {
    environment: Val<String>,
    name: Val<String>,
    location: Val<String>,
    resource_group_name: Val<String>,
    oidc_issuer_url: Val<String>,
    service_accounts: Val<Vec<ServiceAccount>>,
    audiences: Val<Vec<String>>,
    role_assignments: Val<Vec<RoleAssignment>>,
    tags: Val<BTreeMap<String, String>>,
}

/// Computed attributes, patched into state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IdentityComputed {
    id: Val<String>,
    principal_id: Val<String>,
    client_id: Val<String>,
    tenant_id: Val<String>,
    federated_credential_ids: Val<BTreeMap<String, String>>,
    role_assignment_ids: Val<BTreeMap<String, String>>,
    tags_all: Val<BTreeMap<String, String>>,
    drift: Val<Vec<String>>,
    api_versions: Val<BTreeMap<String, String>>,
}

fn schema() -> Schema {
    let c = |n: &str, d: &str| Attribute::computed(n, Type::String).describe(d);
    let sa = vec![
        Attribute::required("namespace", Type::String).describe("Kubernetes namespace (a lowercase RFC 1123 label)."),
        Attribute::required("name", Type::String).describe("Service account name (a lowercase RFC 1123 label)."),
    ];
    let ra = vec![
        Attribute::required("scope", Type::String)
            .describe("ARM id of the scope, e.g. `trench_paas_bundle.<name>.key_vault_id` or a resource group id."),
        Attribute::required("role", Type::String).describe(&format!(
            "A built-in role name ({}) or a role definition GUID. Changing it deletes the old assignment and creates the new one.",
            roles::BUILT_IN.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        )),
    ];
    Schema::new(
        Block::new("The Azure identity of one workload: a user-assigned identity `trench-<name>-id-<env>` in the hub's resource group, a federated credential per Kubernetes service account on the cluster's OIDC issuer (AKS workload identity), and role assignments on the resources the workload uses. Annotate the service accounts with `azure.workload.identity/client-id = client_id`.")
            .attr(Attribute::required("environment", Type::String).describe("Environment name (`dev`, `prod`); part of the identity's name. Changing it replaces the identity."))
            .attr(Attribute::required("name", Type::String).describe("Workload name, e.g. `catalog-api`: 1-24 lowercase letters or digits joined by single hyphens. The identity is named `trench-<name>-id-<env>`. Changing it replaces the identity (new client id)."))
            .attr(Attribute::required("location", Type::String).describe("Azure location, e.g. `westeurope`. Changing it replaces the identity."))
            .attr(Attribute::optional_computed("resource_group_name", Type::String).describe("Resource group the identity lives in; it must already exist (the hub's: `trench_hub.<name>.resource_group_name`) and is never created or deleted here. Default `rg-trench-core-<env>`. Changing it replaces the identity."))
            .attr(Attribute::required("oidc_issuer_url", Type::String).describe("The cluster's OIDC issuer (`trench_private_aks.<name>.oidc_issuer_url`); an https URL. Changing it updates every federated credential in place."))
            .attr(Attribute::nested("service_accounts", Nesting::Set, Mode::Required, sa).describe(&format!("Kubernetes service accounts that may sign in as this identity; each gets a federated credential named `<namespace>-<name>` with subject `system:serviceaccount:<namespace>:<name>`. At most {MAX_CREDENTIALS}; a set, so order does not matter.")))
            .attr(Attribute::optional_computed("audiences", Type::list(Type::String)).describe(&format!("Token audiences the federated credentials accept. Default `[\"{DEFAULT_AUDIENCE}\"]`.")))
            .attr(Attribute::nested("role_assignments", Nesting::Set, Mode::Optional, ra).describe("Roles the identity holds, each on one scope. Assignments are sent with `principalType = ServicePrincipal`; each gets a stable name derived from scope, principal and role. A set: order does not matter, and import reads built-in roles back by name."))
            .attr(Attribute::optional("tags", Type::map(Type::String)).describe("Tags for the identity, merged over the provider's `default_tags` and trench's conventional tags."))
            .attr(c("id", "Id of the user-assigned identity; the import id."))
            .attr(c("principal_id", "Object (principal) id of the identity's service principal: what role assignments name."))
            .attr(c("client_id", "Client id of the identity: the service accounts' `azure.workload.identity/client-id` annotation."))
            .attr(c("tenant_id", "Entra tenant of the identity."))
            .attr(Attribute::computed("federated_credential_ids", Type::map(Type::String)).describe("Federated credential ids by `<namespace>/<name>`."))
            .attr(Attribute::computed("role_assignment_ids", Type::map(Type::String)).describe("Role assignment ids by `<role>|<scope>`, as the role and scope are written in configuration."))
            .attr(Attribute::computed("tags_all", Type::map(Type::String)).describe("The tags the identity carries."))
            .attr(Attribute::computed("drift", Type::list(Type::String)).describe("Objects found differing from configuration at the last refresh, one line each; apply repairs them."))
            .attr(Attribute::computed("api_versions", Type::map(Type::String)).describe("The ARM api-version used for each resource type."))
            .block("timeouts", Nesting::Single, timeouts::block(&default_timeouts())),
    )
}

const REPLACE: &[(&str, &str)] = &[
    (
        "environment",
        "the identity's name contains the environment and Azure cannot rename an identity; the new one has a new client id and principal, so workloads must pick up the new client_id.",
    ),
    (
        "name",
        "the identity is named after the workload and Azure cannot rename an identity; the new one has a new client id and principal, so workloads must pick up the new client_id.",
    ),
    ("location", "Azure cannot move a user-assigned identity to another region."),
    ("resource_group_name", "Azure cannot move a user-assigned identity to another resource group in place."),
];

fn replace_rules() -> Vec<ReplaceRule> {
    REPLACE.iter().map(|(a, r)| ReplaceRule { path: AttrPath::root(a), reason: r }).collect()
}

fn api_versions() -> BTreeMap<String, String> {
    [
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
        "Microsoft.Authorization/roleAssignments",
    ]
    .iter()
    .map(|t| ((*t).to_owned(), trench_arm::api_versions::for_type(t).unwrap_or("").to_owned()))
    .collect()
}

fn default_resource_group(env: &str) -> String {
    format!("rg-trench-core-{env}")
}

/// The elements of a list or set attribute, each read on its own so one
/// unknown element does not hide mistakes in the others. `Unknown` for an
/// unknown collection, `Null` for an unset one; an unknown element reads as
/// `Unknown`. Set elements have no stable position, so diagnostics name the
/// element, not an index.
fn elements<T: DeserializeOwned>(config: &Value, attr: &str) -> Val<Vec<Val<T>>> {
    match config.get_attr(attr) {
        None | Some(Value::Null) => Val::Null,
        Some(Value::List(items) | Value::Set(items)) => Val::Known(
            items
                .iter()
                .map(|v| if v.is_unknown() { Val::Unknown } else { from_value::<T>(v).map(Val::Known).unwrap_or(Val::Unknown) })
                .collect(),
        ),
        Some(_) => Val::Unknown,
    }
}

/// A service account element with its fields possibly unknown.
#[derive(Deserialize)]
struct SaItem {
    namespace: Val<String>,
    name: Val<String>,
}

/// A role assignment element with its fields possibly unknown.
#[derive(Deserialize)]
struct RaItem {
    scope: Val<String>,
    role: Val<String>,
}

/// A lowercase RFC 1123 label, as Kubernetes requires of namespaces and
/// service account names here.
fn is_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Federated credential names: `^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$`.
fn is_credential_name(s: &str) -> bool {
    (3..=120).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_issuer(url: &str) -> Result<(), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL ({e}); use trench_private_aks.<name>.oidc_issuer_url."))?;
    if u.scheme() != "https" || u.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?}: Entra ID only trusts https issuers; use trench_private_aks.<name>.oidc_issuer_url."));
    }
    if !u.username().is_empty() || u.password().is_some() || u.query().is_some() || u.fragment().is_some() {
        return Err(format!("{url:?}: an OIDC issuer has no credentials, query or fragment."));
    }
    Ok(())
}

/// Plan-time validation of a (possibly partly unknown) configuration; no
/// ARM calls. Exposed for the bad-input tests.
pub fn validate_config(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    let cfg: IdentityConfig = match from_value(config) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    if let Val::Known(e) = &cfg.environment
        && let Err(m) = conventions::check_environment(e)
    {
        d.add_attr_error(AttrPath::root("environment"), "Invalid environment", m);
    }
    if let Val::Known(n) = &cfg.name {
        // The naming convention's own rule for a name token; the environment
        // is checked on its own above.
        if conventions::name(n, "id", "dev").is_err() {
            d.add_attr_error(
                AttrPath::root("name"),
                "Invalid workload name",
                format!(
                    "{n:?} must be 1-24 lowercase letters or digits, optionally joined by single hyphens (for example \"catalog-api\"); the identity is named trench-<name>-id-<env>."
                ),
            );
        }
    }
    if let Val::Known(l) = &cfg.location
        && let Err(m) = conventions::check_location(l)
    {
        d.add_attr_error(AttrPath::root("location"), "Unknown location", m);
    }
    if let Val::Known(rg) = &cfg.resource_group_name
        && let Err(m) = AzureType::ResourceGroup.check(rg)
    {
        d.add_attr_error(AttrPath::root("resource_group_name"), "Invalid name", m);
    }
    if let Val::Known(u) = &cfg.oidc_issuer_url
        && let Err(m) = check_issuer(u)
    {
        d.add_attr_error(AttrPath::root("oidc_issuer_url"), "Invalid OIDC issuer URL", m);
    }
    check_service_accounts(config, &mut d);
    if let Val::Known(auds) = &cfg.audiences {
        if auds.is_empty() {
            d.add_attr_error(
                AttrPath::root("audiences"),
                "No audiences",
                format!("A federated credential needs at least one audience; AKS workload identity uses {DEFAULT_AUDIENCE:?}."),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, a) in auds.iter().enumerate() {
            if a.trim().is_empty() || a.len() > 600 {
                d.add_attr_error(AttrPath::root("audiences").index(i), "Invalid audience", "An audience is 1-600 characters.");
            } else if !seen.insert(a.as_str()) {
                d.add_attr_error(AttrPath::root("audiences").index(i), "Duplicate audience", format!("{a:?} is listed twice."));
            }
        }
    }
    check_role_assignments(config, &mut d);
    if let Val::Known(tags) = &cfg.tags {
        for (k, v) in tags {
            if let Err(e) = conventions::check_tag(k, v) {
                d.add_attr_error(AttrPath::root("tags").key(k), "Invalid tag", e);
            }
        }
    }
    d
}

fn check_service_accounts(config: &Value, d: &mut Diagnostics) {
    let Val::Known(items) = elements::<SaItem>(config, "service_accounts") else { return };
    let root = AttrPath::root("service_accounts");
    if items.is_empty() {
        d.add_attr_error(
            root.clone(),
            "No service accounts",
            "Give at least one service account: nothing can sign in as the identity otherwise.",
        );
    }
    if items.len() > MAX_CREDENTIALS {
        d.add_attr_error(
            root.clone(),
            "Too many service accounts",
            format!("{} service accounts; Azure allows at most {MAX_CREDENTIALS} federated credentials per identity.", items.len()),
        );
    }
    // credential name → the service account that takes it, for collisions.
    let mut credentials: BTreeMap<String, String> = BTreeMap::new();
    for item in &items {
        let Val::Known(sa) = item else { continue };
        let mut ok = true;
        for (v, field) in [(&sa.namespace, "namespace"), (&sa.name, "name")] {
            if let Val::Known(s) = v
                && !is_label(s)
            {
                ok = false;
                d.add_attr_error(
                    root.clone(),
                    "Invalid Kubernetes name",
                    format!(
                        "service account {field} {s:?}: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit."
                    ),
                );
            }
        }
        let (Val::Known(ns), Val::Known(name), true) = (&sa.namespace, &sa.name, ok) else { continue };
        let account = ServiceAccount { namespace: ns.clone(), name: name.clone() };
        let cred = account.credential_name();
        if !is_credential_name(&cred) {
            d.add_attr_error(
                root.clone(),
                "Federated credential name too long",
                format!("{}: the credential is named {cred:?} ({} characters); Azure allows at most 120.", account.key(), cred.len()),
            );
        } else if let Some(other) = credentials.insert(cred.clone(), account.key()) {
            d.add_attr_error(
                root.clone(),
                "Federated credential names collide",
                format!("{other} and {} both give the credential name {cred:?} (<namespace>-<name>).", account.key()),
            );
        }
    }
}

fn check_role_assignments(config: &Value, d: &mut Diagnostics) {
    let Val::Known(items) = elements::<RaItem>(config, "role_assignments") else { return };
    let root = AttrPath::root("role_assignments");
    // (scope, role GUID) → the role as written: the same role twice on a
    // scope (by name and by GUID) is one assignment in Azure.
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for item in &items {
        let Val::Known(ra) = item else { continue };
        let scope = match &ra.scope {
            Val::Known(s) => match ResourceId::parse(s) {
                Ok(id) => Some(id.to_string().to_ascii_lowercase()),
                Err(e) => {
                    d.add_attr_error(
                        root.clone(),
                        "Invalid scope",
                        format!("{e}. Use the id of a resource, resource group or subscription."),
                    );
                    None
                }
            },
            _ => None,
        };
        let guid = match &ra.role {
            Val::Known(r) => match roles::role_guid(r) {
                Some(g) => Some(g),
                None => {
                    d.add_attr_error(
                        root.clone(),
                        "Unknown role",
                        format!(
                            "{r:?} is neither a built-in role trench knows ({}) nor a role definition GUID.",
                            roles::BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                        ),
                    );
                    None
                }
            },
            _ => None,
        };
        if let (Some(s), Some(g), Val::Known(role)) = (scope, guid, &ra.role)
            && let Some(first) = seen.insert((s.clone(), g), role.clone())
        {
            d.add_attr_error(
                root.clone(),
                "Duplicate role assignment",
                format!("{first:?} and {role:?} are the same role on {s}; Azure holds one assignment per principal, role and scope."),
            );
        }
    }
}

fn need<T>(x: Option<T>, what: &str) -> Result<T, Diagnostics> {
    x.ok_or_else(|| Diagnostics::error("Planned value not known", format!("{what} is not known at apply time.")))
}

/// The desired identity from a wholly known planned (or prior) state.
fn spec_from(subscription: &str, default_tags: &BTreeMap<String, String>, v: &Value) -> Result<IdentitySpec, Diagnostics> {
    let cfg: IdentityConfig = from_value(v)?;
    let env = need(cfg.environment.known().cloned(), "environment")?;
    // The subscription an existing identity lives in is the one in its id.
    let subscription = v
        .get_attr("id")
        .and_then(Value::as_str)
        .and_then(|id| ResourceId::parse(id).ok())
        .map(|i| i.subscription)
        .unwrap_or_else(|| subscription.to_owned());
    Ok(IdentitySpec {
        subscription,
        resource_group: cfg.resource_group_name.known().cloned().unwrap_or_else(|| default_resource_group(&env)),
        workload: need(cfg.name.known().cloned(), "name")?,
        location: need(cfg.location.known().cloned(), "location")?,
        // Null only in an imported state whose identity has no credentials.
        issuer: cfg.oidc_issuer_url.known().cloned().unwrap_or_default(),
        service_accounts: need(cfg.service_accounts.known().cloned(), "service_accounts")?,
        audiences: cfg.audiences.known().cloned().unwrap_or_else(|| vec![DEFAULT_AUDIENCE.to_owned()]),
        role_assignments: cfg.role_assignments.known().cloned().unwrap_or_default(),
        tags: common::with_owner(
            common::tags_all(default_tags, &env, cfg.tags.known()),
            "trench_workload_identity",
            &spec::identity_name(cfg.name.known().map(String::as_str).unwrap_or_default(), &env),
        ),
        env,
    })
}

/// Sets the defaults of optional+computed attributes the configuration
/// leaves null; the default wins over a drifted state value.
fn fill_defaults(planned: &mut Value, config: &Value, cfg: &IdentityConfig) {
    let Value::Object(m) = planned else { return };
    let unset = |k: &str| config.get_attr(k).is_none_or(Value::is_null);
    if unset("resource_group_name") {
        let rg = cfg.environment.known().map(|e| Value::string(default_resource_group(e))).unwrap_or_else(Value::unknown);
        m.insert("resource_group_name".into(), rg);
    }
    if unset("audiences") {
        m.insert("audiences".into(), Value::List(vec![Value::string(DEFAULT_AUDIENCE)]));
    }
}

/// Computed values as far as they are known at plan time.
fn planned_computed(
    subscription: &str,
    default_tags: &BTreeMap<String, String>,
    cfg: &IdentityConfig,
    pc: &IdentityConfig,
    prior: &IdentityComputed,
) -> IdentityComputed {
    let mut c = IdentityComputed {
        tags_all: common::planned_tags_all(default_tags, &cfg.environment, &cfg.tags),
        drift: Val::Known(Vec::new()),
        api_versions: Val::Known(api_versions()),
        ..IdentityComputed::default()
    };
    // The service principal exists only once the identity does; an update keeps it.
    let keep = |v: &Val<String>| if v.known().is_some() { v.clone() } else { Val::Unknown };
    c.principal_id = keep(&prior.principal_id);
    c.client_id = keep(&prior.client_id);
    c.tenant_id = keep(&prior.tenant_id);
    let id = match (&pc.environment, &pc.name, &pc.resource_group_name) {
        (Val::Known(env), Val::Known(name), Val::Known(rg)) => Some(spec::identity_id(subscription, rg, name, env)),
        _ => None,
    };
    c.id = id.as_ref().map_or(Val::Unknown, |i| Val::Known(i.to_string()));
    c.federated_credential_ids = match (&id, &pc.service_accounts) {
        (Some(i), Val::Known(sas)) => Val::Known(sas.iter().map(|sa| (sa.key(), spec::credential_id(i, sa).to_string())).collect()),
        _ => Val::Unknown,
    };
    c.role_assignment_ids = match (&pc.role_assignments, &c.principal_id) {
        (Val::Null, _) => Val::Known(BTreeMap::new()),
        (Val::Known(ras), Val::Known(principal)) => {
            let resolved: Option<BTreeMap<String, String>> =
                ras.iter().map(|ra| spec::assignment(ra, principal).map(|a| (a.key, a.id.to_string()))).collect();
            resolved.map_or(Val::Unknown, Val::Known)
        }
        (Val::Known(ras), _) if ras.is_empty() => Val::Known(BTreeMap::new()),
        _ => Val::Unknown,
    };
    c
}

#[async_trait]
impl Resource for WorkloadIdentity {
    fn type_name(&self) -> &'static str {
        "trench_workload_identity"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = validate_config(config);
        if let Err(t) = common::timeouts(config, default_timeouts()) {
            d.extend(t);
        }
        d
    }

    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> Planned {
        // Checked on the raw value: it names nested attributes better than decoding does.
        let checked = validate_config(&req.config);
        if checked.has_errors() {
            return Planned::failed(checked);
        }
        let common::PlanStart { cfg, diags: mut d, azure, mut planned } =
            match common::plan_start::<IdentityConfig>(ctx, &req, |_| checked, fill_defaults) {
                Ok(s) => s,
                Err(p) => return p,
            };
        let (requires_replace, warnings) = plan::requires_replace(&req.prior, &planned, &replace_rules(), "workload identity");
        d.extend(warnings);
        let prior: IdentityComputed = if req.prior.is_null() || !requires_replace.is_empty() {
            IdentityComputed::default()
        } else {
            from_value(&req.prior).unwrap_or_default()
        };
        let pc: IdentityConfig = match from_value(&planned) {
            Ok(c) => c,
            Err(e) => return Planned::failed(e.into()),
        };
        let computed = planned_computed(&azure.subscription, &azure.default_tags, &cfg, &pc, &prior);
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

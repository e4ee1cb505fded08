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
mod validate;

pub use validate::validate_config;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use trench_plugin::framework::timeouts::Timeouts;
use trench_plugin::framework::{Attribute, Block, Diagnostics, Mode, Nesting, PlanRequest};
use trench_plugin::value::{Type, Val, Value};

use crate::conventions::names;
use crate::resources::composite::{Defaults, Model, PlanCx};
use crate::resources::roles;
use spec::{DEFAULT_AUDIENCE, RoleAssignment, ServiceAccount};

/// The composite.
pub struct WorkloadIdentity;

/// Azure's limit of federated credentials per identity.
pub const MAX_CREDENTIALS: usize = 20;

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
}

/// Computed values as far as they are known at plan time.
fn planned_computed(subscription: &str, pc: &IdentityConfig, prior: &IdentityComputed) -> IdentityComputed {
    let mut c = IdentityComputed::default();
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
impl Model for WorkloadIdentity {
    const TYPE: &'static str = "trench_workload_identity";
    const NOUN: &'static str = "workload identity";
    const IMPORT: (&'static str, &'static str) = ("Microsoft.ManagedIdentity/userAssignedIdentities", "user-assigned identity");
    const ARM_TYPES: &'static [&'static str] = &[
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
        "Microsoft.Authorization/roleAssignments",
    ];
    const REPLACE: &'static [(&'static str, &'static str)] = &[
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

    // Everything here is synchronous in Azure; the time goes to principal
    // replication and to one federated-credential write at a time.
    const TIMEOUTS: Timeouts = Timeouts::minutes(30, 5, 30, 30);

    // Everything is checked on the raw value (`check`).
    const CHECK: fn(&Self::Config) -> Diagnostics = |_| Diagnostics::new();
    const TAGGED: &'static str = "the identity";
    type Config = IdentityConfig;
    type Computed = IdentityComputed;

    fn attributes() -> Block {
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
        Block::new("The Azure identity of one workload: a user-assigned identity `trench-<name>-id-<env>` in the hub's resource group, a federated credential per Kubernetes service account on the cluster's OIDC issuer (AKS workload identity), and role assignments on the resources the workload uses. Annotate the service accounts with `azure.workload.identity/client-id = client_id`.")
                .attr(Attribute::required("environment", Type::String).describe("Environment name (`dev`, `prod`); part of the identity's name. Changing it replaces the identity."))
                .attr(Attribute::required("name", Type::String).describe("Workload name, e.g. `catalog-api`: 1-24 lowercase letters or digits joined by single hyphens. The identity is named `trench-<name>-id-<env>`. Changing it replaces the identity (new client id)."))
                .attr(Attribute::required("location", Type::String).describe("Azure location, e.g. `westeurope`. Changing it replaces the identity."))
                .attr(Attribute::optional_computed("resource_group_name", Type::String).describe("Resource group the identity lives in; it must already exist (the hub's: `trench_hub.<name>.resource_group_name`) and is never created or deleted here. Default `rg-trench-core-<env>`. Changing it replaces the identity."))
                .attr(Attribute::required("oidc_issuer_url", Type::String).describe("The cluster's OIDC issuer (`trench_private_aks.<name>.oidc_issuer_url`); an https URL. Changing it updates every federated credential in place."))
                .attr(Attribute::nested("service_accounts", Nesting::Set, Mode::Required, sa).describe(&format!("Kubernetes service accounts that may sign in as this identity; each gets a federated credential named `<namespace>-<name>` with subject `system:serviceaccount:<namespace>:<name>`. At most {MAX_CREDENTIALS}; a set, so order does not matter.")))
                .attr(Attribute::optional_computed("audiences", Type::list(Type::String)).describe(&format!("Token audiences the federated credentials accept. Default `[\"{DEFAULT_AUDIENCE}\"]`.")))
                .attr(Attribute::nested("role_assignments", Nesting::Set, Mode::Optional, ra).describe("Roles the identity holds, each on one scope. Assignments are sent with `principalType = ServicePrincipal`; each gets a stable name derived from scope, principal and role. A set: order does not matter, and import reads built-in roles back by name."))
                .attr(c("id", "Id of the user-assigned identity; the import id."))
                .attr(c("principal_id", "Object (principal) id of the identity's service principal: what role assignments name."))
                .attr(c("client_id", "Client id of the identity: the service accounts' `azure.workload.identity/client-id` annotation."))
                .attr(c("tenant_id", "Entra tenant of the identity."))
                .attr(Attribute::computed("federated_credential_ids", Type::map(Type::String)).describe("Federated credential ids by `<namespace>/<name>`."))
                .attr(Attribute::computed("role_assignment_ids", Type::map(Type::String)).describe("Role assignment ids by `<role>|<scope>`, as the role and scope are written in configuration."))
    }

    /// Checked on the raw value: it names nested attributes better than decoding does.
    fn check(raw: &Value) -> Diagnostics {
        validate_config(raw)
    }

    /// Sets the defaults of optional+computed attributes the configuration
    /// leaves null; the default wins over a drifted state value.
    fn fill_defaults(planned: &mut Value, req: &PlanRequest, cfg: &IdentityConfig) {
        let Some(d) = Defaults::of(planned, &req.config) else { return };
        if d.unset("resource_group_name") {
            let rg = cfg.environment.known().map(|e| Value::string(names::identity_resource_group(e))).unwrap_or_else(Value::unknown);
            d.planned.insert("resource_group_name".into(), rg);
        }
        if d.unset("audiences") {
            d.planned.insert("audiences".into(), Value::List(vec![Value::string(DEFAULT_AUDIENCE)]));
        }
    }

    async fn plan(cx: &mut PlanCx<'_, Self>) -> Result<IdentityComputed, Diagnostics> {
        let prior = cx.prior_computed().unwrap_or_default();
        let pc = cx.planned_config()?;
        Ok(planned_computed(&cx.azure.env.subscription, &pc, &prior))
    }
}

#[cfg(test)]
mod tests;

//! The workload identity as it should be: names, ids and the ARM body of
//! every object it owns, computed from the planned state with no ARM calls.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::resources::roles;
use trench_arm::ResourceId;

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// `trench-<workload>-id-<env>`.
pub fn identity_name(workload: &str, env: &str) -> String {
    format!("trench-{workload}-id-{env}")
}

/// The identity's id.
pub fn identity_id(subscription: &str, resource_group: &str, workload: &str, env: &str) -> ResourceId {
    ResourceId::resource(subscription, resource_group, "Microsoft.ManagedIdentity", "userAssignedIdentities", &identity_name(workload, env))
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const SUB: &str = "00000000-0000-4000-8000-000000000002";

    pub(crate) fn sample() -> IdentitySpec {
        IdentitySpec {
            subscription: SUB.into(),
            resource_group: "rg-trench-core-dev".into(),
            env: "dev".into(),
            workload: "catalog-api".into(),
            location: "westeurope".into(),
            issuer: "https://westeurope.oic.prod-aks.azure.com/tenant/issuer/".into(),
            service_accounts: vec![
                ServiceAccount { namespace: "catalog".into(), name: "api".into() },
                ServiceAccount { namespace: "catalog".into(), name: "worker".into() },
            ],
            audiences: vec![DEFAULT_AUDIENCE.into()],
            role_assignments: vec![
                RoleAssignment {
                    scope: format!(
                        "/subscriptions/{SUB}/resourceGroups/rg-trench-core-dev/providers/Microsoft.KeyVault/vaults/trench-core-kv-dev"
                    ),
                    role: "Key Vault Secrets User".into(),
                },
                RoleAssignment {
                    scope: format!(
                        "/subscriptions/{SUB}/resourceGroups/rg-trench-core-dev/providers/Microsoft.ServiceBus/namespaces/trench-core-sb-dev"
                    ),
                    role: "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39".into(),
                },
            ],
            tags: BTreeMap::from([("environment".into(), "dev".into())]),
        }
    }

    #[test]
    fn ids_and_bodies_of_every_owned_object() {
        let s = sample();
        let principal = "11111111-2222-4333-8444-555555555555";
        let a = s.assignments(principal);
        let bodies = json!({
            "identity": [s.identity_id().to_string(), s.identity_body()],
            "credentials": s.service_accounts.iter().map(|sa| json!([s.credential_id(sa).to_string(), s.credential_body(sa)])).collect::<Vec<_>>(),
            "assignments": a.iter().map(|x| json!([x.key, x.id.to_string(), x.body])).collect::<Vec<_>>(),
        });
        insta::assert_json_snapshot!(bodies);
    }

    #[test]
    fn assignment_names_are_stable_and_principal_specific() {
        let s = sample();
        let one = s.assignments("11111111-2222-4333-8444-555555555555");
        assert_eq!(one, s.assignments("11111111-2222-4333-8444-555555555555"));
        let other = s.assignments("99999999-2222-4333-8444-555555555555");
        assert_ne!(one[0].id, other[0].id);
        // A GUID and the role's name are the same role.
        let by_name =
            assignment(&RoleAssignment { scope: s.role_assignments[1].scope.clone(), role: "Azure Service Bus Data Sender".into() }, "p")
                .unwrap();
        let by_guid = assignment(&s.role_assignments[1], "p").unwrap();
        assert_eq!(by_name.id, by_guid.id);
        assert_ne!(by_name.key, by_guid.key, "keys keep the spelling the operator used");
    }

    #[test]
    fn subjects_round_trip() {
        let sa = ServiceAccount { namespace: "orders".into(), name: "worker".into() };
        assert_eq!(ServiceAccount::from_subject(&sa.subject()), Some(sa));
        assert_eq!(ServiceAccount::from_subject("repo:org/app:ref:refs/heads/main"), None);
        assert_eq!(ServiceAccount::from_subject("system:serviceaccount:ns"), None);
    }
}

//! Role assignments (extension resources at any scope) and the built-in role definitions they name.
//! Refuses unknown principals, and fresh identities inside the replication window unless the
//! request says `principalType`, as Entra replication makes ARM do.

use serde_json::{Value, json};

use super::{GUID_RE, versions};
use crate::armpath::ResPath;
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::reply::Reply;
use crate::sim::{Req, Sim};
use crate::spec::{BASE, Hooks, Loc, NameRule, PutCx, Spec};
use crate::state::State;

pub(crate) const RA_TYPE: &str = "Microsoft.Authorization/roleAssignments";

static RA_NAME: NameRule = NameRule {
    min: 36,
    max: 36,
    re: std::sync::LazyLock::new(|| GUID_RE.clone()),
    code: "InvalidRoleAssignmentId",
    rule: "The role assignment ID must be a GUID.",
};

pub(crate) static RA: Spec = Spec {
    type_name: RA_TYPE,
    api_versions: versions::AUTHZ,
    loc: Loc::None,
    name: Some(&RA_NAME),
    prov_path: None,
    delete_echoes_body: true,
    readonly: &["properties.scope", "properties.createdOn", "properties.updatedOn", "properties.createdBy", "properties.updatedBy"],
    hooks: &RaHooks,
    ..BASE
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&RA]
}

/// (GUID, name, description, actions, dataActions)
type Role = (&'static str, &'static str, &'static str, &'static [&'static str], &'static [&'static str]);

pub(crate) const BUILT_IN_ROLES: &[Role] = &[
    ("7f951dda-4ed3-4680-a7ca-43fe172d538d", "AcrPull", "acr pull", &["Microsoft.ContainerRegistry/registries/pull/read"], &[]),
    (
        "8311e382-0749-4cb8-b61a-304f252e45ec",
        "AcrPush",
        "acr push",
        &["Microsoft.ContainerRegistry/registries/pull/read", "Microsoft.ContainerRegistry/registries/push/write"],
        &[],
    ),
    (
        "4633458b-17de-408a-b874-0445c86b69e6",
        "Key Vault Secrets User",
        "Read secret contents.",
        &[],
        &["Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
    ),
    (
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        "Key Vault Secrets Officer",
        "Perform any action on the secrets of a key vault.",
        &["Microsoft.KeyVault/vaults/*/read"],
        &["Microsoft.KeyVault/vaults/secrets/*"],
    ),
    (
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        "Key Vault Administrator",
        "Perform all data plane operations on a key vault.",
        &["Microsoft.KeyVault/vaults/*/read"],
        &["Microsoft.KeyVault/vaults/*"],
    ),
    (
        "12338af0-0e69-4776-bea7-57ae8d297424",
        "Key Vault Crypto User",
        "Perform cryptographic operations using keys.",
        &[],
        &[
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/encrypt/action",
            "Microsoft.KeyVault/vaults/keys/decrypt/action",
        ],
    ),
    (
        "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
        "Azure Service Bus Data Sender",
        "Allows for send access to Azure Service Bus resources.",
        &["Microsoft.ServiceBus/*/queues/read"],
        &["Microsoft.ServiceBus/*/send/action"],
    ),
    (
        "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
        "Azure Service Bus Data Receiver",
        "Allows for receive access to Azure Service Bus resources.",
        &["Microsoft.ServiceBus/*/queues/read"],
        &["Microsoft.ServiceBus/*/receive/action"],
    ),
    (
        "090c5cfd-751d-490a-894a-3ce6f1109419",
        "Azure Service Bus Data Owner",
        "Allows for full access to Azure Service Bus resources.",
        &["Microsoft.ServiceBus/*"],
        &["Microsoft.ServiceBus/*"],
    ),
    (
        "4d97b98b-1d4f-4787-a291-c67834d212e7",
        "Network Contributor",
        "Lets you manage networks, but not access to them.",
        &["Microsoft.Network/*"],
        &[],
    ),
    (
        "b12aa53e-6015-4669-85d0-8515ebb3ae7f",
        "Private DNS Zone Contributor",
        "Lets you manage private DNS zone resources.",
        &["Microsoft.Network/privateDnsZones/*"],
        &[],
    ),
    (
        "f1a07417-d97a-45cb-824c-7a7467783830",
        "Managed Identity Operator",
        "Read and Assign User Assigned Identity",
        &["Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"],
        &[],
    ),
    (
        "3913510d-42f4-4e42-8a64-420c390055eb",
        "Monitoring Metrics Publisher",
        "Enables publishing metrics against Azure resources",
        &["Microsoft.Insights/Register/Action"],
        &["Microsoft.Insights/Metrics/Write"],
    ),
    (
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        "Storage Blob Data Contributor",
        "Read, write, and delete Azure Storage containers and blobs.",
        &["Microsoft.Storage/storageAccounts/blobServices/containers/*"],
        &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
    ),
    (
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        "Storage Blob Data Reader",
        "Read and list Azure Storage containers and blobs.",
        &["Microsoft.Storage/storageAccounts/blobServices/containers/read"],
        &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    ),
    (
        "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
        "Azure Kubernetes Service RBAC Cluster Admin",
        "Lets you manage all resources in the cluster.",
        &["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"],
        &["Microsoft.ContainerService/managedClusters/*"],
    ),
    (
        "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
        "Azure Kubernetes Service Cluster User Role",
        "List cluster user credential action.",
        &["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"],
        &[],
    ),
    (
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Contributor",
        "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
        &["*"],
        &[],
    ),
    (
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "Owner",
        "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        &["*"],
        &[],
    ),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", "View all resources, but does not allow you to make any changes.", &["*/read"], &[]),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
        "Lets you manage user access to Azure resources.",
        &["*/read", "Microsoft.Authorization/*"],
        &[],
    ),
];

/// The notActions of a built-in role (only Contributor's matter to the estate's checks).
pub(crate) fn not_actions(guid: &str) -> &'static [&'static str] {
    match guid {
        // Contributor
        "b24988ac-6180-42a0-ab88-20f7382dd24c" => &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ],
        _ => &[],
    }
}

fn role(guid: &str) -> Option<&'static Role> {
    BUILT_IN_ROLES.iter().find(|r| r.0.eq_ignore_ascii_case(guid))
}

fn role_body(sub: &str, r: &Role) -> Value {
    json!({
        "id": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}", r.0),
        "name": r.0,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": r.1,
            "type": "BuiltInRole",
            "description": r.2,
            "assignableScopes": ["/"],
            "permissions": [{"actions": r.3, "notActions": not_actions(r.0), "dataActions": r.4, "notDataActions": []}],
            "createdOn": "2015-02-02T21:55:09.8806423Z",
            "updatedOn": "2024-01-01T00:00:00.0000000Z",
            "createdBy": null,
            "updatedBy": null,
        }
    })
}

/// GET `{scope}/providers/Microsoft.Authorization/roleDefinitions[/{guid}]`.
pub(crate) fn role_definitions(_sim: &Sim, req: &Req, p: &ResPath) -> Result<Reply, ArmError> {
    crate::engine::check_versions(req, versions::ROLE_DEFINITIONS, "Microsoft.Authorization", "roleDefinitions")?;
    if req.method != "GET" {
        return Err(ArmError::new(405, "MethodNotAllowed", "Built-in role definitions are read-only in armsim."));
    }
    let sub = p.sub.to_ascii_lowercase();
    if p.is_resource() {
        let guid = p.name();
        return match role(guid) {
            Some(r) => Ok(Reply::json(200, &role_body(&sub, r))),
            None => Err(ArmError::not_found(
                "RoleDefinitionDoesNotExist",
                format!("The specified role definition with ID '{guid}' does not exist."),
            )),
        };
    }
    let filter = req.query.get("$filter").cloned().unwrap_or_default();
    let wanted = filter.split_once("roleName eq '").and_then(|(_, rest)| rest.split_once('\'')).map(|(name, _)| name.to_string());
    let v: Vec<Value> =
        BUILT_IN_ROLES.iter().filter(|r| wanted.as_ref().is_none_or(|w| r.1.eq_ignore_ascii_case(w))).map(|r| role_body(&sub, r)).collect();
    Ok(Reply::json(200, &json!({"value": v})))
}

/// A known directory object: (principal type, creation time if it was created in this simulator).
fn principal_info(st: &State, cfg: &SimConfig, oid: &str) -> Option<(&'static str, Option<i64>)> {
    if cfg.effective_principals().iter().any(|p| crate::auth::principal_oid(&p.client_id).eq_ignore_ascii_case(oid)) {
        return Some(("ServicePrincipal", None));
    }
    if cfg.known_principals.iter().any(|k| k.eq_ignore_ascii_case(oid)) {
        return Some(("User", None));
    }
    for r in st.of_type(super::identity::UAI_TYPE) {
        if r.body.peek(|b| crate::jpath::get_str(b, "properties.principalId").is_some_and(|p| p.eq_ignore_ascii_case(oid))) {
            return Some(("ServicePrincipal", Some(r.created_ms)));
        }
    }
    for t in [super::aks::CLUSTER_TYPE, super::compute::VM_TYPE] {
        for r in st.of_type(t) {
            if r.body.peek(|b| crate::jpath::get_str(b, "identity.principalId").is_some_and(|p| p.eq_ignore_ascii_case(oid))) {
                return Some(("ServicePrincipal", Some(r.created_ms)));
            }
        }
    }
    None
}

fn principal_not_found(oid: &str, tenant: &str) -> ArmError {
    ArmError::bad_request(
        "PrincipalNotFound",
        format!(
            "Principal {} does not exist in the directory {tenant}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
            oid.replace('-', "")
        ),
    )
}

const PRINCIPAL_TYPES: &[&str] = &["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"];

struct RaHooks;

impl Hooks for RaHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let role_id = cx.prop_str("roleDefinitionId").unwrap_or("").to_string();
        let role_guid = crate::armpath::last_segment(&role_id).to_string();
        if role(&role_guid).is_none() || !role_id.to_ascii_lowercase().contains("/providers/microsoft.authorization/roledefinitions/") {
            return Err(ArmError::bad_request(
                "RoleDefinitionDoesNotExist",
                format!("The specified role definition with ID '{role_guid}' does not exist."),
            ));
        }
        let principal = cx.prop_str("principalId").unwrap_or("").to_ascii_lowercase();
        if !GUID_RE.is_match(&principal) {
            return Err(ArmError::bad_request("InvalidPrincipalId", format!("The principal ID '{principal}' is not a valid GUID.")));
        }
        let sent_type = cx.prop_str("principalType").map(str::to_string);
        if let Some(t) = &sent_type
            && !PRINCIPAL_TYPES.contains(&t.as_str())
        {
            return Err(ArmError::bad_request(
                "InvalidPrincipalType",
                format!("The principal type '{t}' is not valid; use one of {}.", PRINCIPAL_TYPES.join(", ")),
            ));
        }
        let tenant = cx.tenant().to_string();
        let Some((actual_type, created)) = principal_info(cx.st, cx.cfg, &principal) else {
            return Err(principal_not_found(&principal, &tenant));
        };
        if let Some(created) = created {
            let window = cx.cfg.scaled_ms(cx.cfg.principal_replication_secs);
            if sent_type.is_none() && cx.now_ms - created < window {
                return Err(principal_not_found(&principal, &tenant));
            }
        }
        let scope = cx.id.rsplitn(5, '/').nth(4).unwrap_or("").to_string();
        let scope = if scope.is_empty() { format!("/subscriptions/{}", cx.sub) } else { scope };
        if let Some(e) = cx.existing {
            let same = |a: Option<&str>, b: &str| a.is_some_and(|a| a.eq_ignore_ascii_case(b));
            if !same(e.prop_str("principalId"), &principal)
                || !same(e.prop_str("roleDefinitionId").map(crate::armpath::last_segment), &role_guid)
            {
                return Err(ArmError::bad_request(
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                ));
            }
        }
        let scope_l = scope.to_ascii_lowercase();
        if let Some(dup) = cx.st.of_type(RA_TYPE).find(|r| {
            r.key() != cx.key
                && r.prop_str("scope").is_some_and(|s| s.eq_ignore_ascii_case(&scope_l))
                && r.prop_str("principalId").is_some_and(|p| p.eq_ignore_ascii_case(&principal))
                && r.prop_str("roleDefinitionId").map(crate::armpath::last_segment).is_some_and(|g| g.eq_ignore_ascii_case(&role_guid))
        }) {
            return Err(ArmError::conflict("RoleAssignmentExists", "The role assignment already exists.")
                .with_detail("RoleAssignmentExists", format!("The existing role assignment is {}.", dup.id)));
        }
        let now = crate::clock::rfc3339(cx.now_ms);
        let caller = cx.caller.clone();
        let p = &mut cx.body["properties"];
        p["roleDefinitionId"] = json!(format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}",
            cx.sub,
            role_guid.to_ascii_lowercase()
        ));
        p["principalId"] = json!(principal);
        p["principalType"] = json!(sent_type.unwrap_or_else(|| actual_type.to_string()));
        p["scope"] = json!(scope);
        p["updatedOn"] = json!(now.clone());
        p["updatedBy"] = json!(caller.clone());
        crate::jpath::default(p, "condition", Value::Null);
        crate::jpath::default(p, "conditionVersion", Value::Null);
        crate::jpath::default(p, "description", Value::Null);
        crate::jpath::default(p, "delegatedManagedIdentityResourceId", Value::Null);
        cx.keep("properties.createdOn", |_| json!(now));
        cx.keep("properties.createdBy", |_| json!(caller));
        Ok(())
    }
}

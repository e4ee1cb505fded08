//! User-assigned identities (principal/client/tenant ids) and their federated credentials, which the
//! token endpoint honours for workload-identity client assertions.

use serde_json::{Value, json};

use super::{name_rule, versions};
use crate::error::ArmError;
use crate::jpath;
use crate::sim::Sim;
use crate::spec::{BASE, Hooks, Loc, NameRule, PutCx, Spec, secs};

pub(crate) const UAI_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";
pub(crate) const FIC_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";

static UAI_NAME: NameRule = name_rule!(
    3,
    128,
    r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$",
    "InvalidResourceName",
    "The name must be 3-128 characters: letters, digits, '-' and '_', starting with a letter or digit."
);
static FIC_NAME: NameRule = name_rule!(
    3,
    120,
    r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$",
    "InvalidResourceName",
    "The name must be 3-120 characters: letters, digits, '-' and '_', starting with a letter or digit."
);

pub(crate) static UAI: Spec = Spec {
    type_name: UAI_TYPE,
    api_versions: versions::MSI,
    name: Some(&UAI_NAME),
    prov_path: None,
    readonly: &["properties.principalId", "properties.clientId", "properties.tenantId"],
    hooks: &UaiHooks,
    ..BASE
};
pub(crate) static FIC: Spec = Spec {
    type_name: FIC_TYPE,
    api_versions: versions::MSI,
    name: Some(&FIC_NAME),
    loc: Loc::None,
    prov_path: None,
    durations: secs(1.0, 1.0, 1.0),
    conflict_code: "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
    hooks: &FicHooks,
    ..BASE
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&UAI, &FIC]
}

/// (principalId, clientId) of the identity incarnation stored at `key`.
pub(crate) fn identity_ids(seed: u64, key: &str, incarnation: u32) -> (String, String) {
    let inc = incarnation.to_string();
    (crate::ids::guid(seed, &[key, &inc, "principalId"]), crate::ids::guid(seed, &[key, &inc, "clientId"]))
}

/// A body for an identity the platform creates itself (AKS kubelet and add-on identities).
pub(crate) fn platform_uai_body(seed: u64, tenant: &str, key: &str, incarnation: u32, location: &str) -> Value {
    let (principal, client) = identity_ids(seed, key, incarnation);
    json!({"location": location, "tags": {}, "properties": {
        "principalId": principal, "clientId": client, "tenantId": tenant, "isolationScope": "None"
    }})
}

struct UaiHooks;

impl Hooks for UaiHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.body.get("properties").is_none_or(|p| !p.is_object()) {
            cx.body["properties"] = json!({});
        }
        let (principal, client) = identity_ids(cx.cfg.seed, &cx.key, cx.incarnation);
        cx.keep("properties.principalId", |_| json!(principal));
        cx.keep("properties.clientId", |_| json!(client));
        let tenant = cx.tenant().to_string();
        cx.body["properties"]["tenantId"] = json!(tenant);
        jpath::default(&mut cx.body, "properties.isolationScope", json!("None"));
        Ok(())
    }
}

struct FicHooks;

impl Hooks for FicHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let owner = cx.id.clone();
        let issuer = cx.prop_str("issuer").unwrap_or("").to_string();
        let subject = cx.prop_str("subject").unwrap_or("").to_string();
        let audiences: Vec<String> =
            cx.prop("audiences").and_then(Value::as_array).into_iter().flatten().filter_map(|a| a.as_str().map(str::to_string)).collect();
        if !issuer.starts_with("https://") {
            return Err(ArmError::bad_request(
                "BadRequest",
                format!("Federated identity credential {owner}: issuer must be an https URL."),
            )
            .with_target("properties.issuer"));
        }
        if subject.is_empty() {
            return Err(ArmError::bad_request("BadRequest", format!("Federated identity credential {owner}: subject is required."))
                .with_target("properties.subject"));
        }
        if audiences.is_empty() {
            return Err(ArmError::bad_request(
                "BadRequest",
                format!("Federated identity credential {owner}: at least one audience is required."),
            )
            .with_target("properties.audiences"));
        }
        let uai = cx.parent.expect("credentials have an identity");
        let siblings = cx.st.children(&uai.key(), FIC_TYPE);
        if cx.existing.is_none() && siblings.len() >= 20 {
            return Err(ArmError::bad_request(
                "BadRequest",
                format!("Identity {} already has the maximum of 20 federated identity credentials.", uai.id),
            ));
        }
        if let Some(dup) = siblings
            .iter()
            .find(|s| s.key() != cx.key && s.prop_str("issuer") == Some(issuer.as_str()) && s.prop_str("subject") == Some(subject.as_str()))
        {
            return Err(ArmError::conflict(
                "Conflict",
                format!("Federated identity credential {} already uses issuer '{issuer}' and subject '{subject}'.", dup.name()),
            ));
        }
        cx.body = json!({"properties": {"issuer": issuer, "subject": subject, "audiences": audiences}});
        Ok(())
    }
}

/// For a client assertion naming a UAI's client id: `Some(Ok(principalId))` when one of its
/// federated credentials matches issuer and subject, `Some(Err(()))` when none does, `None` when no
/// identity has that client id.
pub(crate) fn federated_match(sim: &Sim, client_id: &str, iss: &str, sub: &str) -> Option<Result<String, ()>> {
    let st = sim.read();
    let uai = st
        .of_type(UAI_TYPE)
        .find(|u| u.body.peek(|b| jpath::get_str(b, "properties.clientId").is_some_and(|c| c.eq_ignore_ascii_case(client_id))))?;
    let ok = st.children(&uai.key(), FIC_TYPE).into_iter().any(|f| {
        f.prop_str("issuer") == Some(iss)
            && f.prop_str("subject") == Some(sub)
            && jpath::array(&f.body, "properties.audiences").iter().any(|a| a.as_str() == Some("api://AzureADTokenExchange"))
    });
    Some(if ok { Ok(uai.prop_str("principalId").unwrap_or("").to_string()) } else { Err(()) })
}

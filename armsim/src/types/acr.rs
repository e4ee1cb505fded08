//! Microsoft.ContainerRegistry/registries: global names, Premium-only network features, and ACR's
//! quirk of reporting `Creating` (not `InProgress`) from its async-operation endpoint.

use serde_json::{Value, json};

use super::{name_rule, versions};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{BASE, DeleteStyle, GlobalName, Hooks, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{Resource, State};

pub(crate) const REGISTRY_TYPE: &str = "Microsoft.ContainerRegistry/registries";

static NAME: NameRule = name_rule!(
    5,
    50,
    r"^[a-zA-Z0-9]*$",
    "InvalidResourceName",
    "Registry names may contain only alpha numeric characters and must be between 5 and 50 characters."
);

pub(crate) static REGISTRY: Spec = Spec {
    type_name: REGISTRY_TYPE,
    api_versions: versions::ACR,
    name: Some(&NAME),
    create: PutStyle::AsyncOp { status: 201, also_location: false },
    update: PutStyle::AsyncOp { status: 200, also_location: false },
    delete: DeleteStyle::Accepted { async_header: true, done: 204 },
    durations: secs(20.0, 10.0, 20.0),
    global_name: Some(GlobalName {
        status: 409,
        code: "AlreadyInUse",
        message: "The registry DNS name {name}.azurecr.io is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability",
    }),
    running_status: "Creating",
    readonly: &[
        "properties.loginServer",
        "properties.creationDate",
        "properties.status",
        "properties.dataEndpointHostNames",
        "properties.privateEndpointConnections",
        "sku.tier",
    ],
    hooks: &AcrHooks,
    ..BASE
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&REGISTRY]
}

struct AcrHooks;

impl Hooks for AcrHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let sku = jpath::get_str(&cx.body, "sku.name")
            .map(str::to_string)
            .or_else(|| cx.existing.and_then(|e| jpath::get_str(&e.body, "sku.name").map(str::to_string)));
        let Some(sku) = sku.filter(|s| ["Basic", "Standard", "Premium"].contains(&s.as_str())) else {
            return Err(
                ArmError::bad_request("InvalidSku", "The registry needs sku.name Basic, Standard or Premium.").with_target("sku.name")
            );
        };
        cx.body["sku"] = json!({"name": sku, "tier": sku});
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        let premium = sku == "Premium";
        let name = cx.name.clone();
        if !premium && cx.prop_str("publicNetworkAccess") == Some("Disabled") {
            return Err(ArmError::bad_request(
                "PublicNetworkAccessDisabledRequiresPremiumSku",
                format!("Registry {name} is {sku}: disabling public network access requires the Premium SKU."),
            ));
        }
        let rules = cx.prop("networkRuleSet");
        let restrictive =
            rules.is_some_and(|r| r.get("defaultAction").and_then(Value::as_str) == Some("Deny") || !jpath::array(r, "ipRules").is_empty());
        if !premium && restrictive {
            return Err(ArmError::bad_request(
                "NetworkRuleSetRequiresPremiumSku",
                format!("Registry {name} is {sku}: network rules require the Premium SKU."),
            ));
        }
        for (k, v) in [
            ("adminUserEnabled", json!(false)),
            ("anonymousPullEnabled", json!(false)),
            ("publicNetworkAccess", json!("Enabled")),
            ("zoneRedundancy", json!("Disabled")),
            ("networkRuleBypassOptions", json!("AzureServices")),
            ("dataEndpointEnabled", json!(false)),
            ("encryption", json!({"status": "disabled"})),
            (
                "policies",
                json!({
                    "quarantinePolicy": {"status": "disabled"},
                    "trustPolicy": {"type": "Notary", "status": "disabled"},
                    "retentionPolicy": {"days": 7, "status": "disabled"},
                    "exportPolicy": {"status": "enabled"},
                    "azureADAuthenticationAsArmPolicy": {"status": "enabled"},
                }),
            ),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), v);
        }
        cx.body["properties"]["loginServer"] = json!(format!("{}.azurecr.io", name.to_ascii_lowercase()));
        let now = cx.now_ms;
        cx.keep("properties.creationDate", |_| json!(crate::clock::rfc3339(now)));
        cx.body["properties"]["dataEndpointHostNames"] = json!([]);
        Ok(())
    }

    fn render(&self, st: &State, cfg: &SimConfig, res: &Resource, body: &mut Value) {
        body["properties"]["privateEndpointConnections"] = json!(super::privatelink::pe_connections(st, cfg, res));
    }

    fn action(&self, _st: &State, cfg: &SimConfig, res: &Resource, action: &str) -> Option<Result<Value, ArmError>> {
        if action != "listcredentials" {
            return None;
        }
        if res.prop("adminUserEnabled").and_then(Value::as_bool) != Some(true) {
            return Some(Err(ArmError::bad_request(
                "UnAuthorizedForCredentialOperations",
                format!(
                    "Cannot perform credential operations for {} as admin user is disabled. Kindly enable admin user as per docs: https://docs.microsoft.com/en-us/azure/container-registry/container-registry-authentication#admin-account",
                    res.id
                ),
            )));
        }
        let pw = |n: &str| crate::ids::hexid(cfg.seed, &[&res.key(), n, &res.incarnation.to_string()], 32);
        Some(Ok(json!({
            "username": res.name(),
            "passwords": [{"name": "password", "value": pw("password")}, {"name": "password2", "value": pw("password2")}],
        })))
    }
}

//! Cosmos DB accounts (Microsoft.DocumentDB, not registered by default): 200 + Azure-AsyncOperation
//! and Location, computed endpoints and location lists, global names.

use serde_json::{Value, json};

use super::{name_rule, versions};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{BASE, DeleteStyle, GlobalName, Hooks, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{Resource, State};

pub(crate) const ACCOUNT_TYPE: &str = "Microsoft.DocumentDB/databaseAccounts";

static NAME: NameRule = name_rule!(
    3,
    44,
    r"^[a-z0-9]+(-[a-z0-9]+)*$",
    "InvalidResourceName",
    "Database account names are 3-44 lower-case letters, numbers and single hyphens, starting and ending with a letter or number."
);

pub(crate) static ACCOUNT: Spec = Spec {
    type_name: ACCOUNT_TYPE,
    api_versions: versions::COSMOS,
    name: Some(&NAME),
    create: PutStyle::AsyncOp { status: 200, also_location: true },
    update: PutStyle::AsyncOp { status: 200, also_location: true },
    delete: DeleteStyle::Accepted { async_header: true, done: 200 },
    durations: secs(420.0, 300.0, 300.0),
    global_name: Some(GlobalName {
        status: 400,
        code: "BadRequest",
        message: "Dns record for {name} under zone Document is already taken. Please use another name for the account.",
    }),
    readonly: &[
        "properties.documentEndpoint",
        "properties.writeLocations",
        "properties.readLocations",
        "properties.instanceId",
        "properties.privateEndpointConnections",
    ],
    hooks: &CosmosHooks,
    ..BASE
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&ACCOUNT]
}

struct CosmosHooks;

impl Hooks for CosmosHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.prop_str("databaseAccountOfferType") != Some("Standard") {
            return Err(ArmError::bad_request("BadRequest", "databaseAccountOfferType must be 'Standard'.")
                .with_target("properties.databaseAccountOfferType"));
        }
        let name = cx.name.clone();
        let mut locations = cx.prop("locations").and_then(Value::as_array).cloned().unwrap_or_default();
        if locations.is_empty() {
            return Err(ArmError::bad_request("BadRequest", format!("Database account {name} needs at least one location."))
                .with_target("properties.locations"));
        }
        let mut prios = Vec::new();
        for l in locations.iter_mut() {
            let raw = l.get("locationName").and_then(Value::as_str).unwrap_or("");
            let Some(region) = crate::regions::normalise(raw) else {
                return Err(ArmError::bad_request("BadRequest", format!("Location '{raw}' is not a valid Azure region.")));
            };
            let p = l.get("failoverPriority").and_then(Value::as_i64).unwrap_or(0);
            if prios.contains(&p) {
                return Err(ArmError::bad_request("BadRequest", format!("Failover priority {p} is used by more than one location.")));
            }
            prios.push(p);
            *l = json!({
                "id": format!("{name}-{region}"),
                "locationName": crate::regions::display(&region),
                "documentEndpoint": format!("https://{name}-{region}.documents.azure.com:443/"),
                "provisioningState": "Succeeded",
                "failoverPriority": p,
                "isZoneRedundant": l.get("isZoneRedundant").and_then(Value::as_bool).unwrap_or(false),
            });
        }
        if !prios.contains(&0) {
            return Err(ArmError::bad_request("BadRequest", "One location must have failoverPriority 0 (the write region)."));
        }
        locations.sort_by_key(|l| l["failoverPriority"].as_i64());
        jpath::default(&mut cx.body, "kind", json!("GlobalDocumentDB"));
        for (k, v) in [
            ("consistencyPolicy", json!({"defaultConsistencyLevel": "Session", "maxIntervalInSeconds": 5, "maxStalenessPrefix": 100})),
            ("publicNetworkAccess", json!("Enabled")),
            ("disableLocalAuth", json!(false)),
            ("enableAutomaticFailover", json!(false)),
            ("enableMultipleWriteLocations", json!(false)),
            ("capabilities", json!([])),
            ("isVirtualNetworkFilterEnabled", json!(false)),
            ("virtualNetworkRules", json!([])),
            ("ipRules", json!([])),
            (
                "backupPolicy",
                json!({"type": "Periodic", "periodicModeProperties": {"backupIntervalInMinutes": 240, "backupRetentionIntervalInHours": 8, "backupStorageRedundancy": "Geo"}}),
            ),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), v);
        }
        cx.keep("properties.instanceId", |c| json!(c.guid("instanceId")));
        let p = &mut cx.body["properties"];
        p["documentEndpoint"] = json!(format!("https://{name}.documents.azure.com:443/"));
        p["writeLocations"] = json!([locations[0].clone()]);
        p["readLocations"] = json!(locations.clone());
        p["locations"] = json!(locations);
        Ok(())
    }

    fn render(&self, st: &State, cfg: &SimConfig, res: &Resource, body: &mut Value) {
        body["properties"]["privateEndpointConnections"] = json!(super::privatelink::pe_connections(st, cfg, res));
    }
}

//! Storage accounts (202 + Location create whose final poll returns the account), the implicit
//! `blobServices/default`, and blob containers.

use serde_json::{Value, json};

use super::{name_rule, versions};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{BASE, GlobalName, Hooks, Loc, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{Resource, State};

pub(crate) const ACCOUNT_TYPE: &str = "Microsoft.Storage/storageAccounts";
pub(crate) const BLOB_SERVICE_TYPE: &str = "Microsoft.Storage/storageAccounts/blobServices";
pub(crate) const CONTAINER_TYPE: &str = "Microsoft.Storage/storageAccounts/blobServices/containers";

static ACCOUNT_NAME: NameRule = name_rule!(
    3,
    24,
    r"^[a-z0-9]+$",
    "AccountNameInvalid",
    "Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."
);
static CONTAINER_NAME: NameRule = name_rule!(
    3,
    63,
    r"^[a-z0-9](-?[a-z0-9])*$",
    "InvalidResourceName",
    "Container names are 3-63 lower-case letters, numbers and single hyphens, starting and ending with a letter or number."
);

pub(crate) static ACCOUNT: Spec = Spec {
    type_name: ACCOUNT_TYPE,
    api_versions: versions::STORAGE,
    name: Some(&ACCOUNT_NAME),
    create: PutStyle::Accepted { async_header: false },
    update: PutStyle::Sync,
    durations: secs(30.0, 0.0, 0.0),
    global_name: Some(GlobalName {
        status: 409,
        code: "StorageAccountAlreadyTaken",
        message: "The storage account named {name} is already taken.",
    }),
    readonly: &[
        "properties.primaryEndpoints",
        "properties.secondaryEndpoints",
        "properties.primaryLocation",
        "properties.secondaryLocation",
        "properties.statusOfPrimary",
        "properties.statusOfSecondary",
        "properties.creationTime",
        "properties.privateEndpointConnections",
        "properties.keyCreationTime",
        "sku.tier",
    ],
    hooks: &AccountHooks,
    ..BASE
};
pub(crate) static BLOB_SERVICE: Spec = Spec {
    type_name: BLOB_SERVICE_TYPE,
    api_versions: versions::STORAGE,
    fixed_name: Some("default"),
    loc: Loc::None,
    prov_path: None,
    sync_create_status: 200,
    readonly: &["sku"],
    hooks: &BlobServiceHooks,
    ..BASE
};
pub(crate) static CONTAINER: Spec = Spec {
    type_name: CONTAINER_TYPE,
    api_versions: versions::STORAGE,
    name: Some(&CONTAINER_NAME),
    loc: Loc::None,
    prov_path: None,
    etag: true,
    readonly: &[
        "properties.lastModifiedTime",
        "properties.leaseStatus",
        "properties.leaseState",
        "properties.hasImmutabilityPolicy",
        "properties.hasLegalHold",
        "properties.deleted",
        "properties.remainingRetentionDays",
    ],
    hooks: &ContainerHooks,
    ..BASE
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&ACCOUNT, &BLOB_SERVICE, &CONTAINER]
}

const KINDS: &[&str] = &["StorageV2", "Storage", "BlobStorage", "BlockBlobStorage", "FileStorage"];
const SKUS: &[&str] = &[
    "Standard_LRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_ZRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
    "Premium_LRS",
    "Premium_ZRS",
    "StandardV2_LRS",
    "StandardV2_ZRS",
    "StandardV2_GRS",
    "StandardV2_GZRS",
    "PremiumV2_LRS",
    "PremiumV2_ZRS",
];

struct AccountHooks;

impl Hooks for AccountHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let kind = cx
            .body
            .get("kind")
            .and_then(Value::as_str)
            .or_else(|| cx.existing.and_then(|e| e.body.get("kind").and_then(Value::as_str)))
            .unwrap_or("")
            .to_string();
        if !KINDS.contains(&kind.as_str()) {
            return Err(ArmError::bad_request(
                "InvalidValuesForRequestParameters",
                format!("Values for request parameters are invalid: kind '{kind}' (use one of {}).", KINDS.join(", ")),
            ));
        }
        let sku = jpath::get_str(&cx.body, "sku.name")
            .or_else(|| cx.existing.and_then(|e| jpath::get_str(&e.body, "sku.name")))
            .unwrap_or("")
            .to_string();
        if !SKUS.contains(&sku.as_str()) {
            return Err(ArmError::bad_request(
                "InvalidValuesForRequestParameters",
                format!("Values for request parameters are invalid: sku.name '{sku}'."),
            ));
        }
        cx.body["kind"] = json!(kind);
        cx.body["sku"] = json!({"name": sku, "tier": if sku.starts_with("Premium") { "Premium" } else { "Standard" }});
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        if kind == "StorageV2" || kind == "BlobStorage" {
            jpath::default(&mut cx.body, "properties.accessTier", json!("Hot"));
        }
        for (k, v) in [
            ("supportsHttpsTrafficOnly", json!(true)),
            ("minimumTlsVersion", json!("TLS1_2")),
            ("allowBlobPublicAccess", json!(false)),
            ("allowCrossTenantReplication", json!(false)),
            ("defaultToOAuthAuthentication", json!(false)),
            ("isHnsEnabled", json!(false)),
            ("dnsEndpointType", json!("Standard")),
            ("publicNetworkAccess", json!("Enabled")),
            (
                "networkAcls",
                json!({"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": [], "resourceAccessRules": []}),
            ),
            (
                "encryption",
                json!({"services": {"blob": {"enabled": true, "keyType": "Account"}, "file": {"enabled": true, "keyType": "Account"}},
                       "keySource": "Microsoft.Storage", "requireInfrastructureEncryption": false}),
            ),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), v);
        }
        let name = cx.name.clone();
        let now = crate::clock::rfc3339(cx.now_ms);
        cx.keep("properties.creationTime", |_| json!(now.clone()));
        cx.keep("properties.keyCreationTime", |_| json!({"key1": now.clone(), "key2": now.clone()}));
        let location = cx.location();
        let p = &mut cx.body["properties"];
        p["primaryEndpoints"] = json!({
            "blob": format!("https://{name}.blob.core.windows.net/"),
            "queue": format!("https://{name}.queue.core.windows.net/"),
            "table": format!("https://{name}.table.core.windows.net/"),
            "file": format!("https://{name}.file.core.windows.net/"),
            "dfs": format!("https://{name}.dfs.core.windows.net/"),
            "web": format!("https://{name}.z6.web.core.windows.net/"),
        });
        p["primaryLocation"] = json!(location);
        p["statusOfPrimary"] = json!("available");
        if cx.existing.is_none() {
            let id = format!("{}/blobServices/default", cx.id);
            cx.upsert(BLOB_SERVICE_TYPE, id, blob_service_defaults());
        }
        Ok(())
    }

    fn render(&self, st: &State, cfg: &SimConfig, res: &Resource, body: &mut Value) {
        body["properties"]["privateEndpointConnections"] = json!(super::privatelink::pe_connections(st, cfg, res));
    }

    fn action(&self, _st: &State, cfg: &SimConfig, res: &Resource, action: &str) -> Option<Result<Value, ArmError>> {
        if action != "listkeys" {
            return None;
        }
        use base64::Engine;
        let key = |n: &str| {
            base64::engine::general_purpose::STANDARD
                .encode(crate::ids::bytes(cfg.seed, &[&res.key(), n, &res.incarnation.to_string()]).repeat(2))
        };
        let created = res.prop_str("creationTime").unwrap_or("").to_string();
        Some(Ok(json!({"keys": [
            {"keyName": "key1", "value": key("key1"), "permissions": "FULL", "creationTime": created},
            {"keyName": "key2", "value": key("key2"), "permissions": "FULL", "creationTime": created},
        ]})))
    }
}

fn blob_service_defaults() -> Value {
    json!({"properties": {"cors": {"corsRules": []}, "deleteRetentionPolicy": {"allowPermanentDelete": false, "enabled": false}}})
}

fn account_of(st: &State, child_key: &str, levels: usize) -> Option<String> {
    let mut k = child_key.to_string();
    for _ in 0..levels {
        k = k.rsplitn(3, '/').nth(2)?.to_string();
    }
    st.get(&k).map(|_| k)
}

struct BlobServiceHooks;

impl Hooks for BlobServiceHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        jpath::default(&mut cx.body, "properties.cors", json!({"corsRules": []}));
        jpath::default(&mut cx.body, "properties.deleteRetentionPolicy", json!({"allowPermanentDelete": false, "enabled": false}));
        Ok(())
    }

    fn render(&self, st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        if let Some(acct) = account_of(st, &res.key(), 1).and_then(|k| st.get(&k)) {
            body["sku"] = acct.body["sku"].clone();
        }
    }
}

struct ContainerHooks;

impl Hooks for ContainerHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        jpath::default(&mut cx.body, "properties.publicAccess", json!("None"));
        let public = cx.prop_str("publicAccess").unwrap_or("None").to_string();
        if !["None", "Blob", "Container"].contains(&public.as_str()) {
            return Err(ArmError::bad_request(
                "InvalidValuesForRequestParameters",
                format!("publicAccess '{public}' must be None, Blob or Container."),
            ));
        }
        let account_key = account_of(cx.st, &cx.key, 2);
        let blocked =
            account_key.as_deref().and_then(|k| cx.st.get(k)).and_then(|a| a.prop("allowBlobPublicAccess")).and_then(Value::as_bool)
                == Some(false);
        if public != "None" && blocked {
            return Err(ArmError::conflict("PublicAccessNotPermitted", "Public access is not permitted on this storage account."));
        }
        for (k, v) in [
            ("defaultEncryptionScope", json!("$account-encryption-key")),
            ("denyEncryptionScopeOverride", json!(false)),
            ("metadata", json!({})),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), v);
        }
        let now = crate::clock::rfc3339(cx.now_ms);
        let p = &mut cx.body["properties"];
        p["lastModifiedTime"] = json!(now);
        p["leaseStatus"] = json!("Unlocked");
        p["leaseState"] = json!("Available");
        p["hasImmutabilityPolicy"] = json!(false);
        p["hasLegalHold"] = json!(false);
        p["deleted"] = json!(false);
        p["remainingRetentionDays"] = json!(0);
        Ok(())
    }

    fn render(&self, _st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        body["etag"] = json!(format!("\"0x8D{}\"", &res.etag.replace('-', "")[..12].to_ascii_uppercase()));
    }
}

//! Key Vault: provisioningState polling (`RegisteringDns`), mandatory soft delete, deleted vaults
//! (GET, purge, `createMode: recover`), irreversible purge protection and global names.

use serde_json::{Value, json};

use super::{name_rule, versions};
use crate::armpath::ResPath;
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::reply::Reply;
use crate::sim::{Req, Sim};
use crate::spec::{BASE, Effect, GlobalName, Hooks, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{OpKind, OpResult, OpStatus, Operation, Resource, SoftDeleted, State};

pub(crate) const VAULT_TYPE: &str = "Microsoft.KeyVault/vaults";
/// Seconds a purge takes, before time-scale.
const PURGE_SECS: f64 = 30.0;

static NAME: NameRule = name_rule!(
    3,
    24,
    r"^[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]$",
    "VaultNameNotValid",
    "A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens."
);

pub(crate) static VAULT: Spec = Spec {
    type_name: VAULT_TYPE,
    api_versions: versions::KEYVAULT,
    name: Some(&NAME),
    create: PutStyle::Poll { state: "RegisteringDns" },
    update: PutStyle::Sync,
    durations: secs(20.0, 0.0, 0.0),
    readonly: &["properties.vaultUri", "properties.hsmPoolResourceId", "properties.privateEndpointConnections"],
    global_name: Some(GlobalName {
        status: 409,
        code: "VaultAlreadyExists",
        message: "The vault name '{name}' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need to be purged before reusing the name.",
    }),
    hooks: &VaultHooks,
    ..BASE
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&VAULT]
}

/// Deleted vaults are kept by subscription and name: `recover` and the
/// `deletedVaults` routes look them up so.
fn deleted_key(sub: &str, name: &str) -> String {
    format!("{VAULT_TYPE}/{sub}/{name}").to_ascii_lowercase()
}

struct VaultHooks;

impl Hooks for VaultHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let name = cx.name.clone();
        if name.contains("--") {
            return Err(ArmError::bad_request("VaultNameNotValid", format!("The vault name '{name}' is invalid. {}", NAME.rule)));
        }
        let create_mode = cx.prop_str("createMode").unwrap_or("default").to_ascii_lowercase();
        if let Some(o) = cx.body["properties"].as_object_mut() {
            o.remove("createMode");
        }
        let dkey = deleted_key(&cx.sub, &name);
        // A live vault of the same name anywhere, or a deleted one in another
        // subscription, is refused by the engine (`global_name`).
        if cx.existing.is_none() {
            match (create_mode.as_str(), cx.st.soft_deleted.get(&dkey)) {
                ("recover", Some(d)) => {
                    if !d.id.eq_ignore_ascii_case(&cx.id) {
                        return Err(ArmError::bad_request(
                            "BadRequest",
                            format!("The deleted vault '{name}' was {}; recover it under that id.", d.id),
                        ));
                    }
                    let mut body = d.body.clone();
                    if let Some(tags) = cx.body.get("tags") {
                        body["tags"] = tags.clone();
                    }
                    cx.body = body;
                    cx.recover(dkey);
                    return Ok(());
                }
                ("recover", None) => {
                    return Err(ArmError::bad_request(
                        "DeletedVaultNotFound",
                        format!("There is no deleted vault named '{name}' in this subscription to recover."),
                    ));
                }
                (_, Some(_)) => {
                    return Err(ArmError::conflict(
                        "ConflictError",
                        format!(
                            "A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault. Vault name: '{name}'."
                        ),
                    ));
                }
                _ => {}
            }
        }
        let owner = cx.id.clone();
        if !cx.prop_str("tenantId").is_some_and(|t| super::GUID_RE.is_match(t)) {
            return Err(ArmError::bad_request("BadRequest", format!("Vault {owner} needs properties.tenantId (a GUID)."))
                .with_target("properties.tenantId"));
        }
        let sku = cx.prop_str("sku.name").unwrap_or("").to_ascii_lowercase();
        if sku != "standard" && sku != "premium" {
            return Err(ArmError::bad_request("BadRequest", format!("Vault {owner} needs properties.sku.name standard or premium."))
                .with_target("properties.sku.name"));
        }
        cx.body["properties"]["sku"] = json!({"family": "A", "name": sku});
        if cx.prop("enableSoftDelete").and_then(Value::as_bool) == Some(false) {
            return Err(ArmError::bad_request(
                "SoftDeleteCannotBeDisabled",
                format!("Vault {owner}: soft delete is always on; enableSoftDelete cannot be set to false."),
            ));
        }
        let retention = cx.prop("softDeleteRetentionInDays").and_then(Value::as_i64).unwrap_or(90);
        if !(7..=90).contains(&retention) {
            return Err(ArmError::bad_request(
                "InvalidSoftDeleteRetentionInDays",
                format!("Vault {owner}: softDeleteRetentionInDays must be between 7 and 90 (got {retention})."),
            ));
        }
        if let Some(e) = cx.existing {
            let old = e.prop("softDeleteRetentionInDays").and_then(Value::as_i64).unwrap_or(90);
            if old != retention {
                return Err(ArmError::bad_request(
                    "SoftDeleteRetentionCannotBeChanged",
                    format!("Vault {owner}: softDeleteRetentionInDays is set at creation ({old}) and cannot be changed."),
                ));
            }
            let was = e.prop("enablePurgeProtection").and_then(Value::as_bool) == Some(true);
            match cx.prop("enablePurgeProtection").and_then(Value::as_bool) {
                Some(false) if was => {
                    return Err(ArmError::bad_request(
                        "PurgeProtectionCannotBeDisabled",
                        format!("Vault {owner}: purge protection cannot be disabled once it is enabled."),
                    ));
                }
                None if was => cx.body["properties"]["enablePurgeProtection"] = json!(true),
                _ => {}
            }
        }
        cx.body["properties"]["enableSoftDelete"] = json!(true);
        cx.body["properties"]["softDeleteRetentionInDays"] = json!(retention);
        for (k, v) in [
            ("enableRbacAuthorization", json!(true)),
            ("accessPolicies", json!([])),
            ("enabledForDeployment", json!(false)),
            ("enabledForDiskEncryption", json!(false)),
            ("enabledForTemplateDeployment", json!(false)),
            ("publicNetworkAccess", json!("Enabled")),
            ("networkAcls", json!({"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []})),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), v);
        }
        cx.body["properties"]["vaultUri"] = json!(format!("https://{}.vault.azure.net/", name.to_ascii_lowercase()));
        Ok(())
    }

    fn render(&self, st: &State, cfg: &SimConfig, res: &Resource, body: &mut Value) {
        body["properties"]["privateEndpointConnections"] = json!(super::privatelink::pe_connections(st, cfg, res));
        body["properties"]["hsmPoolResourceId"] = Value::Null;
    }

    fn on_delete(&self, _st: &State, cfg: &SimConfig, now: i64, res: &Resource) -> Vec<Effect> {
        // Soft delete is mandatory: the vault lives on as a deleted vault until purged.
        let days = res.prop("softDeleteRetentionInDays").and_then(Value::as_i64).unwrap_or(90);
        let sub = crate::armpath::parse_id(&res.id).map(|p| p.sub.to_ascii_lowercase()).unwrap_or_default();
        let kept = SoftDeleted {
            type_name: VAULT_TYPE.to_owned(),
            id: res.id.clone(),
            name: res.name().to_string(),
            location: res.location().unwrap_or("westeurope").to_string(),
            body: res.body.to_value(),
            deleted_ms: now,
            purge_ms: now + cfg.scaled_ms(days as f64 * 86_400.0),
            scheduled_purge_date: crate::clock::rfc3339(now + days * 86_400_000),
            purge_protection: res.prop("enablePurgeProtection").and_then(Value::as_bool) == Some(true),
            purging: false,
            sub,
        };
        vec![Effect::SoftDelete { key: deleted_key(&kept.sub, &kept.name), kept }]
    }
}

fn deleted_body(v: &SoftDeleted) -> Value {
    json!({
        "id": format!("/subscriptions/{}/providers/Microsoft.KeyVault/locations/{}/deletedVaults/{}", v.sub, v.location, v.name),
        "name": v.name,
        "type": "Microsoft.KeyVault/deletedVaults",
        "properties": {
            "vaultId": v.id,
            "location": v.location,
            "deletionDate": crate::clock::rfc3339(v.deleted_ms),
            "scheduledPurgeDate": v.scheduled_purge_date,
            "tags": v.body.get("tags").cloned().unwrap_or(json!({})),
            "purgeProtectionEnabled": v.purge_protection,
        }
    })
}

/// `deletedVaults`: list, GET one, and POST `/purge`.
pub(crate) fn deleted_route(sim: &Sim, req: &Req, p: &ResPath) -> Result<Reply, ArmError> {
    crate::engine::check_versions(req, versions::KEYVAULT, "Microsoft.KeyVault", "deletedVaults")?;
    let b = p.blocks.last().expect("a provider block");
    let sub = p.sub.to_ascii_lowercase();
    let loc = (b.types.first().is_some_and(|t| t.eq_ignore_ascii_case("locations"))).then(|| b.names.first().cloned()).flatten();
    let name = b.names.get(1).cloned();
    let purge = b.types.last().is_some_and(|t| t.eq_ignore_ascii_case("purge"));
    match (req.method.as_str(), name, purge) {
        ("GET", None, false) => {
            let st = sim.read();
            let v: Vec<Value> = st
                .soft_deleted_of(VAULT_TYPE)
                .map(|(_, v)| v)
                .filter(|v| v.sub == sub && loc.as_ref().is_none_or(|l| l.eq_ignore_ascii_case(&v.location)))
                .map(deleted_body)
                .collect();
            Ok(Reply::json(200, &json!({"value": v})))
        }
        ("GET", Some(name), false) => {
            let st = sim.read();
            match st
                .soft_deleted
                .get(&deleted_key(&sub, &name))
                .filter(|v| loc.as_ref().is_none_or(|l| l.eq_ignore_ascii_case(&v.location)))
            {
                Some(v) => Ok(Reply::json(200, &deleted_body(v))),
                None => Err(not_deleted(&name, loc.as_deref().unwrap_or(""))),
            }
        }
        ("POST", Some(name), true) => purge_vault(sim, req, &sub, loc.as_deref().unwrap_or(""), &name),
        (m, _, _) => Err(ArmError::new(405, "MethodNotAllowed", format!("{m} is not supported on deleted vaults."))),
    }
}

fn not_deleted(name: &str, loc: &str) -> ArmError {
    ArmError::not_found("ResourceNotFound", format!("The vault '{name}' is not in a deleted state in location '{loc}'."))
}

fn purge_vault(sim: &Sim, req: &Req, sub: &str, loc: &str, name: &str) -> Result<Reply, ArmError> {
    let now = sim.now_ms();
    let mut st = sim.write();
    let key = deleted_key(sub, name);
    let Some(v) = st.soft_deleted.get(&key).filter(|v| v.location.eq_ignore_ascii_case(loc)) else {
        return Err(not_deleted(name, loc));
    };
    if v.purge_protection {
        return Err(ArmError::conflict(
            "PurgeProtectionEnabled",
            format!(
                "Operation 'purge' is not allowed because purge protection is enabled for vault '{name}'. Key Vault will purge it automatically on {}.",
                v.scheduled_purge_date
            ),
        ));
    }
    if v.purging {
        return Err(ArmError::conflict("Conflict", format!("Vault '{name}' is already being purged.")));
    }
    let op = Operation {
        id: crate::ids::guid(sim.cfg().seed, &[&key, "purge", &st.generation.to_string()]),
        sub: sub.to_string(),
        namespace: "Microsoft.KeyVault".into(),
        location: v.location.clone(),
        resource_id: format!("/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{}/deletedVaults/{name}", v.location),
        resource_key: key.clone(),
        kind: OpKind::Purge { key: key.clone() },
        lock_key: None,
        conflict_code: "Conflict".into(),
        start_ms: now,
        due_ms: now + sim.cfg().scaled_ms(PURGE_SECS),
        end_ms: None,
        status: OpStatus::InProgress,
        error: None,
        fail: None,
        running_status: "InProgress".into(),
        covers: Vec::new(),
        api_version: req.api_version().unwrap_or(versions::KEYVAULT[0]).to_string(),
        result: OpResult::Status(200),
    };
    if let Some(v) = st.soft_deleted.get_mut(&key) {
        v.purging = true;
    }
    let mut r = Reply::status(202);
    r.push_header("location", crate::ops::result_url(&req.base, &op));
    crate::ops::push_retry_after(&mut r, sim.cfg(), &op, now);
    st.add_op(op);
    sim.after_write(&st);
    Ok(r)
}

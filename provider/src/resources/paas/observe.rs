//! Reading the bundle back: one GET per owned object, every property the
//! bundle sets compared with what exists. Values an input can express go
//! back into that input (so the plan shows the difference: admin user
//! switched on, a queue deleted, public access opened); everything else is
//! a `drift` line that apply repairs. Import starts from the Key Vault and
//! finds the rest by name, listing queues, databases and DNS links.

use crate::resources::composite::{Model as _, Observe, Specs as _};
use async_trait::async_trait;
use serde_json::Value as Json;
use trench_arm::ArmError;
use trench_arm::reconcile::matches;
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::{Number, Value, from_value};

use super::spec::{BundleIds, BundleSpec, Slot, Target, bundle_names, flatten, want};
use super::{BundleConfig, PG_SYSTEM_DATABASES, PaasBundle};
use crate::resources::common::{self, ArmDiagnostics as _};
use crate::resources::composite::{Bodies, ImportCx, Imported, merge_inputs, null_state, str_at};
use crate::resources::network::tag_drift;

fn without_tags(mut j: Json) -> Json {
    if let Some(o) = j.as_object_mut() {
        o.remove("tags");
    }
    j
}

/// Drift the inputs cannot express, one line per object.
fn drift(spec: &BundleSpec, seen: &BundleSpec, b: &Bodies<Slot>) -> Vec<String> {
    let mut out = Vec::new();
    let tenant = b.get(&Slot::KeyVault).and_then(|v| str_at(v, "/properties/tenantId")).unwrap_or("").to_owned();
    for s in PaasBundle::slots(spec) {
        let what = s.id(spec).display();
        let Some(have) = b.get(&s) else {
            // Lost databases and queues leave their inputs instead.
            if !matches!(s, Slot::Database(_) | Slot::Queue(_)) {
                out.push(format!("{what} is missing"));
            }
            continue;
        };
        let Some(want) = want(seen, &s, &tenant, b) else { continue };
        if have.get("tags").is_some() || want.get("tags").is_some() {
            out.extend(tag_drift(&what, have, &spec.tags));
        }
        if !matches(&without_tags(want), &without_tags(have.clone())) {
            out.push(format!("{what}: settings differ from trench's definition"));
        }
    }
    out
}

fn set(xs: &[String]) -> Value {
    Value::Set(xs.iter().map(Value::string).collect())
}

/// Names an import id may override after `?`: `key=value` pairs joined by `&`.
pub(super) const OVERRIDES: &[&str] = &[
    "data_resource_group_name",
    "acr_name",
    "postgresql_name",
    "service_bus_name",
    "log_analytics_name",
    "state_storage_account_name",
    "state_container_name",
    "cosmos_db_name",
];

fn names_of(list: Option<Vec<Json>>) -> Vec<String> {
    let mut v: Vec<String> =
        list.unwrap_or_default().iter().filter_map(|x| x.get("name").and_then(Json::as_str)).map(str::to_owned).collect();
    v.sort();
    v
}

#[async_trait]
impl Observe for PaasBundle {
    /// True when none of the bundle's services exists any more.
    fn gone(_spec: &BundleSpec, b: &Bodies<Slot>) -> bool {
        [Slot::KeyVault, Slot::Postgresql, Slot::Acr, Slot::ServiceBus, Slot::LogAnalytics].iter().all(|s| !b.has(s))
    }

    /// The state value for what was observed.
    fn read_back(state: &mut Value, spec: &BundleSpec, b: &Bodies<Slot>) -> Result<(), Diagnostics> {
        let seen = flatten(spec, b);
        let num = |n: i64| Value::Number(Number::Int(n));
        merge_inputs(
            state,
            [
                ("location", Value::string(&seen.location)),
                ("private_endpoint_subnet_id", Value::string(seen.endpoint_subnet.to_string())),
                ("firewall_public_ip", seen.firewall_public_ip.clone().map(Value::String).unwrap_or(Value::Null)),
                ("admin_cidrs", if seen.admin_cidrs.is_empty() { Value::Null } else { set(&seen.admin_cidrs) }),
                ("acr_sku", Value::string(&seen.acr.sku)),
                ("acr_admin_enabled", Value::Bool(seen.acr.admin_enabled)),
                ("acr_public_network_access", Value::Bool(seen.acr.public_network_access)),
                ("key_vault_sku", Value::string(&seen.kv.sku)),
                ("key_vault_soft_delete_retention_days", num(seen.kv.retention_days)),
                ("key_vault_purge_protection", Value::Bool(seen.kv.purge_protection)),
                ("key_vault_public_network_access", Value::Bool(seen.kv.public_network_access)),
                ("postgresql_version", Value::string(&seen.pg.version)),
                ("postgresql_sku_name", Value::string(&seen.pg.sku_name)),
                ("postgresql_storage_gb", num(seen.pg.storage_gb)),
                ("postgresql_auto_grow", Value::Bool(seen.pg.auto_grow)),
                ("postgresql_databases", set(&seen.pg.databases)),
                ("postgresql_administrator_login", Value::string(&seen.pg.login)),
                ("service_bus_sku", Value::string(&seen.sb.sku)),
                ("service_bus_queues", set(&seen.sb.queues)),
                ("service_bus_default_action", Value::string(&seen.sb.default_action)),
                ("log_analytics_retention_days", num(seen.law_retention_days)),
            ],
        );
        Ok(())
    }

    fn drift(spec: &BundleSpec, b: &Bodies<Slot>) -> Vec<String> {
        drift(spec, &flatten(spec, b), b)
    }

    async fn import(cx: &ImportCx<'_>) -> Result<Imported<Self>, Diagnostics> {
        let fail = |summary: &str, detail: String| Err(Diagnostics::error(summary, detail));
        let (azure, vault_id, op) = (cx.azure, cx.id, cx.op);
        let arm = &*azure.arm;
        let (vault, tags) = cx.primary("Bundle").await?;
        let env = cx.environment(&tags)?;
        // A configuration value holding the names this bundle uses.
        let mut skeleton = null_state(&PaasBundle::schema());
        skeleton.insert("environment".into(), Value::string(&env));
        skeleton.insert("location".into(), Value::string(str_at(&vault, "/location").unwrap_or("")));
        skeleton.insert("resource_group_name".into(), Value::string(vault_id.resource_group.clone().unwrap_or_default()));
        skeleton.insert("key_vault_name".into(), Value::string(vault_id.name()));
        for (k, v) in cx.overrides {
            skeleton.insert(k.clone(), Value::string(v));
        }
        let cfg: BundleConfig = from_value(&Value::Object(skeleton.clone()))?;
        let ids = BundleIds { subscription: vault_id.subscription.clone(), names: bundle_names(&env, &cfg) };
        for (k, v) in [
            ("data_resource_group_name", &ids.names.data_resource_group),
            ("acr_name", &ids.names.acr),
            ("postgresql_name", &ids.names.postgresql),
            ("service_bus_name", &ids.names.service_bus),
            ("log_analytics_name", &ids.names.log_analytics),
            ("state_storage_account_name", &ids.names.storage_account),
            ("state_container_name", &ids.names.container),
            ("cosmos_db_name", &ids.names.cosmos),
        ] {
            skeleton.insert(k.to_owned(), Value::string(v));
        }
        // What exists decides the optional parts; listings give the children.
        let (pe_id, storage_id, cosmos_id) = (ids.endpoint_id(Target::KeyVault), ids.storage_account_id(), ids.cosmos_id());
        let (sb_id, pg_id, zone_id) = (ids.service_bus_id(), ids.postgresql_id(), ids.zone_id(Target::KeyVault));
        let (pe, storage, cosmos, queues, dbs, links) = tokio::join!(
            arm.get(op, &pe_id),
            arm.get(op, &storage_id),
            arm.get(op, &cosmos_id),
            arm.list_children(op, &sb_id, "queues"),
            arm.list_children(op, &pg_id, "databases"),
            arm.list_children(op, &zone_id, "virtualNetworkLinks"),
        );
        let found = (|| Ok::<_, ArmError>((pe?, storage?, cosmos?, queues?, dbs?, links?)))();
        let (pe, storage, cosmos, queues, dbs, links) = found.map_err(|e| e.diagnostics())?;
        let Some(subnet) = pe.as_ref().and_then(|p| str_at(p, "/properties/subnet/id")).map(str::to_owned) else {
            return fail(
                "No private endpoint found",
                format!(
                    "{} has no private endpoint {}; this vault is not part of a trench bundle.",
                    vault_id.display(),
                    ids.endpoint_id(Target::KeyVault).display()
                ),
            );
        };
        let mut vnets: Vec<String> =
            links.unwrap_or_default().iter().filter_map(|l| str_at(l, "/properties/virtualNetwork/id")).map(str::to_owned).collect();
        vnets.sort();
        let databases: Vec<String> = names_of(dbs).into_iter().filter(|d| !PG_SYSTEM_DATABASES.contains(&d.as_str())).collect();
        skeleton.insert("private_endpoint_subnet_id".into(), Value::string(subnet));
        skeleton.insert("dns_zone_vnet_ids".into(), set(&vnets));
        skeleton.insert("postgresql_databases".into(), set(&databases));
        skeleton.insert("service_bus_queues".into(), set(&names_of(queues)));
        skeleton.insert("state_storage_enabled".into(), Value::Bool(storage.is_some()));
        skeleton.insert("cosmos_db_enabled".into(), Value::Bool(cosmos.is_some()));
        // Settings Azure does not record: their defaults.
        let purge_protection = vault.pointer("/properties/enablePurgeProtection").and_then(Json::as_bool) == Some(true);
        skeleton.insert("key_vault_on_soft_deleted".into(), Value::string("fail"));
        skeleton.insert("key_vault_purge_on_destroy".into(), Value::Bool(!purge_protection));
        // User tags: what is on the vault beyond trench's and the provider's.
        let user_tags = common::user_tags(&tags, &azure.env.default_tags, &env);
        if !user_tags.is_empty() {
            skeleton.insert("tags".into(), Value::string_map(&user_tags));
        }
        let state = Value::Object(skeleton);
        let spec = PaasBundle::spec_from(&azure.env, &state)?;
        let bodies = PaasBundle::fetch(azure, op, &spec).await.map_err(|e| e.diagnostics())?;
        Ok(Imported { state, spec, bodies, warnings: Diagnostics::new() })
    }
}

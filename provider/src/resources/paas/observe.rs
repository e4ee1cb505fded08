//! Reading the bundle back: one GET per owned object, every property the
//! bundle sets compared with what exists. Values an input can express go
//! back into that input (so the plan shows the difference: admin user
//! switched on, a queue deleted, public access opened); everything else is
//! a `drift` line that apply repairs. Import starts from the Key Vault and
//! finds the rest by name, listing queues, databases and DNS links.

use crate::resources::common::ArmDiagnostics as _;
use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::apply::{Bodies, Slot, computed_from, endpoint_ip, slots, str_at};
use super::spec::{BundleIds, BundleSpec, Target};
use super::{BundleConfig, PG_SYSTEM_DATABASES, default_timeouts, names, spec_from};
use crate::resources::common;
use crate::resources::network::{read_tags, tag_drift};
use trench_arm::id::same_id;
use trench_arm::reconcile::matches;
use trench_arm::{ArmClient, ArmError, Op, ResourceId};
use trench_plugin::framework::{Ctx, Diagnostics, StateResult};
use trench_plugin::value::{Number, Val, Value, from_value};

/// GETs every object the spec owns, in parallel.
pub(super) async fn fetch(arm: &ArmClient, op: &Op, spec: &BundleSpec) -> Result<Bodies, ArmError> {
    let all = slots(spec);
    let ids: Vec<ResourceId> = all.iter().map(|s| s.id(spec)).collect();
    let got = futures::future::join_all(ids.iter().map(|id| arm.get(op, id))).await;
    let mut b = Bodies::default();
    for (s, r) in all.into_iter().zip(got) {
        if let Some(body) = r? {
            b.0.insert(s, body);
        }
    }
    Ok(b)
}

fn bool_at(j: &Json, ptr: &str) -> Option<bool> {
    j.pointer(ptr).and_then(Json::as_bool)
}

fn enabled_at(j: &Json, ptr: &str) -> Option<bool> {
    str_at(j, ptr).map(|s| s.eq_ignore_ascii_case("Enabled"))
}

/// What the objects say the inputs are; `spec` supplies what they cannot.
pub(super) fn observed_spec(spec: &BundleSpec, b: &Bodies) -> BundleSpec {
    let mut s = spec.clone();
    if let Some(loc) = b.get(&Slot::KeyVault).or_else(|| b.get(&Slot::Acr)).and_then(|j| str_at(j, "/location")) {
        s.location = loc.to_owned();
    }
    if let Some(a) = b.get(&Slot::Acr) {
        s.acr.sku = str_at(a, "/sku/name").unwrap_or(&s.acr.sku).to_owned();
        s.acr.admin_enabled = bool_at(a, "/properties/adminUserEnabled").unwrap_or(s.acr.admin_enabled);
        s.acr.public_network_access = enabled_at(a, "/properties/publicNetworkAccess").unwrap_or(s.acr.public_network_access);
    }
    if let Some(v) = b.get(&Slot::KeyVault) {
        s.kv.sku = str_at(v, "/properties/sku/name").unwrap_or(&s.kv.sku).to_ascii_lowercase();
        s.kv.retention_days = v.pointer("/properties/softDeleteRetentionInDays").and_then(Json::as_i64).unwrap_or(s.kv.retention_days);
        s.kv.purge_protection = bool_at(v, "/properties/enablePurgeProtection").unwrap_or(false);
        s.kv.public_network_access = enabled_at(v, "/properties/publicNetworkAccess").unwrap_or(s.kv.public_network_access);
    }
    if let Some(p) = b.get(&Slot::Postgresql) {
        s.pg.version = str_at(p, "/properties/version").unwrap_or(&s.pg.version).to_owned();
        s.pg.sku_name = str_at(p, "/sku/name").unwrap_or(&s.pg.sku_name).to_owned();
        s.pg.storage_gb = p.pointer("/properties/storage/storageSizeGB").and_then(Json::as_i64).unwrap_or(s.pg.storage_gb);
        s.pg.auto_grow = enabled_at(p, "/properties/storage/autoGrow").unwrap_or(s.pg.auto_grow);
        s.pg.login = str_at(p, "/properties/administratorLogin").unwrap_or(&s.pg.login).to_owned();
        s.pg.databases.retain(|d| b.has(&Slot::Database(d.clone())));
    }
    if let Some(n) = b.get(&Slot::ServiceBus) {
        s.sb.sku = str_at(n, "/sku/name").unwrap_or(&s.sb.sku).to_owned();
        s.sb.queues.retain(|q| b.has(&Slot::Queue(q.clone())));
    }
    if let Some(r) = b.get(&Slot::NetworkRules) {
        s.sb.default_action = str_at(r, "/properties/defaultAction").unwrap_or(&s.sb.default_action).to_owned();
        let masks: Vec<String> = r
            .pointer("/properties/ipRules")
            .and_then(Json::as_array)
            .map(|rs| rs.iter().filter_map(|x| x.get("ipMask").and_then(Json::as_str)).map(str::to_owned).collect())
            .unwrap_or_default();
        // Bare addresses are the firewall's, CIDRs the admins' (see allowed_ips).
        let (bare, cidrs): (Vec<String>, Vec<String>) = masks.into_iter().partition(|m| !m.contains('/'));
        s.firewall_public_ip = bare.first().cloned();
        let mut cidrs = cidrs;
        cidrs.extend(bare.into_iter().skip(1));
        cidrs.sort();
        s.admin_cidrs = cidrs;
    }
    if let Some(w) = b.get(&Slot::LogAnalytics) {
        s.law_retention_days = w.pointer("/properties/retentionInDays").and_then(Json::as_i64).unwrap_or(s.law_retention_days);
    }
    // The endpoints' subnet, when they agree on one.
    let subnets: Vec<&str> =
        s.targets().into_iter().filter_map(|t| b.get(&Slot::Endpoint(t))).filter_map(|pe| str_at(pe, "/properties/subnet/id")).collect();
    if let Some(first) = subnets.first()
        && subnets.iter().all(|x| same_id(x, first))
        && let Ok(id) = ResourceId::parse(first)
    {
        s.endpoint_subnet = id;
    }
    s
}

fn without_tags(mut j: Json) -> Json {
    if let Some(o) = j.as_object_mut() {
        o.remove("tags");
    }
    j
}

/// Drift the inputs cannot express, one line per object.
fn drift(spec: &BundleSpec, seen: &BundleSpec, b: &Bodies) -> Vec<String> {
    let mut out = Vec::new();
    let tenant = b.get(&Slot::KeyVault).and_then(|v| str_at(v, "/properties/tenantId")).unwrap_or("").to_owned();
    for s in slots(spec) {
        let what = s.id(spec).display();
        let Some(have) = b.get(&s) else {
            // Lost databases and queues leave their inputs instead.
            if !matches!(s, Slot::Database(_) | Slot::Queue(_)) {
                out.push(format!("{what} is missing"));
            }
            continue;
        };
        let want = match &s {
            Slot::DataRg => seen.data_rg_body(),
            Slot::Acr => seen.acr_body(),
            Slot::KeyVault => seen.key_vault_body(&tenant),
            Slot::Postgresql => seen.postgresql_body(None),
            Slot::Database(_) => BundleSpec::database_body(),
            Slot::ServiceBus => seen.service_bus_body(),
            Slot::Queue(_) => BundleSpec::queue_body(),
            Slot::NetworkRules => seen.network_rules_body(),
            Slot::LogAnalytics => seen.log_analytics_body(),
            Slot::Storage => seen.storage_account_body(),
            Slot::Container => BundleSpec::container_body(),
            Slot::Cosmos => seen.cosmos_body(),
            Slot::Endpoint(t) => seen.endpoint_body(*t),
            Slot::Zone(_) => seen.zone_body(),
            Slot::Link(_, name) => match seen.dns_vnets.iter().find(|v| &super::spec::link_name(v) == name) {
                Some(v) => seen.link_body(v),
                None => continue,
            },
            Slot::Record(t, r) => match b.get(&Slot::Endpoint(*t)).and_then(|pe| endpoint_ip(pe, r)) {
                Some(ip) => BundleSpec::record_body(ip),
                None => continue,
            },
        };
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

/// Equal as Terraform should see it: strings case-insensitively (ARM
/// echoes its own casing), sets and lists of strings without order.
fn same_meaning(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::List(x) | Value::Set(x), Value::List(y) | Value::Set(y)) => {
            x.len() == y.len() && x.iter().all(|v| y.iter().any(|w| same_meaning(v, w)))
        }
        _ => a == b,
    }
}

/// The state value for what was observed.
pub(super) fn state_for(prior: &Value, spec: &BundleSpec, b: &Bodies) -> Result<Value, Diagnostics> {
    let seen = observed_spec(spec, b);
    let mut state = prior.clone();
    let num = |n: i64| Value::Number(Number::Int(n));
    let inputs: Vec<(&str, Value)> = vec![
        ("location", Value::string(&seen.location)),
        ("private_endpoint_subnet_id", Value::string(seen.endpoint_subnet.to_string())),
        ("firewall_public_ip", seen.firewall_public_ip.clone().map(Value::String).unwrap_or(Value::Null)),
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
    ];
    if let Value::Object(m) = &mut state {
        for (k, v) in inputs {
            let keep = m.get(k).is_some_and(|p| same_meaning(p, &v));
            if !keep {
                m.insert(k.to_owned(), v);
            }
        }
        // Unset and empty mean the same for the admin CIDRs.
        let cidrs = if seen.admin_cidrs.is_empty() { None } else { Some(set(&seen.admin_cidrs)) };
        let prior_v = m.get("admin_cidrs").cloned().unwrap_or(Value::Null);
        let empty_both = cidrs.is_none() && (prior_v.is_null() || matches!(&prior_v, Value::Set(l) | Value::List(l) if l.is_empty()));
        if !empty_both && !cidrs.as_ref().is_some_and(|c| same_meaning(&prior_v, c)) {
            m.insert("admin_cidrs".into(), cidrs.unwrap_or(Value::Null));
        }
    }
    let mut computed = computed_from(spec, b);
    computed.drift = Val::Known(drift(spec, &seen, b));
    common::patch(&mut state, &computed)?;
    Ok(state)
}

/// True when none of the bundle's services exists any more.
fn gone(b: &Bodies) -> bool {
    [Slot::KeyVault, Slot::Postgresql, Slot::Acr, Slot::ServiceBus, Slot::LogAnalytics].iter().all(|s| !b.has(s))
}

pub(super) async fn read(ctx: &Ctx, state: Value, private: Vec<u8>) -> StateResult {
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(state, d),
    };
    let spec = match spec_from(&azure.subscription, &azure.default_tags, &state) {
        Ok(s) => s,
        Err(d) => return StateResult::failed(state, d),
    };
    let t = common::timeouts(&state, default_timeouts()).unwrap_or(default_timeouts());
    let op = common::op(ctx, "reading", t.read);
    let bodies = match fetch(&azure.arm, &op, &spec).await {
        Ok(b) => b,
        Err(e) => return StateResult::failed(state, e.diagnostics()),
    };
    if gone(&bodies) {
        return StateResult::ok(Value::Null);
    }
    match state_for(&state, &spec, &bodies) {
        Ok(s) => StateResult { state: s, private, diagnostics: Diagnostics::new() },
        Err(d) => StateResult::failed(state, d),
    }
}

/// Names an import id may override after `?`: `key=value` pairs joined by `&`.
const OVERRIDES: &[&str] = &[
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

pub(super) async fn import(ctx: &Ctx, id: &str) -> StateResult {
    let fail = |summary: &str, detail: String| StateResult::failed(Value::Null, Diagnostics::error(summary, detail));
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(Value::Null, d),
    };
    let (vault_part, query) = id.split_once('?').unwrap_or((id, ""));
    let vault_id = match ResourceId::parse(vault_part) {
        Ok(v) if v.resource_type().eq_ignore_ascii_case("Microsoft.KeyVault/vaults") => v,
        Ok(v) => {
            return fail(
                "Wrong import id",
                format!("trench_paas_bundle is imported by its Key Vault id; {vault_part} is a {}.", v.resource_type()),
            );
        }
        Err(e) => return fail("Invalid import id", e.to_string()),
    };
    let mut overrides = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((k, v)) if OVERRIDES.contains(&k) => {
                overrides.insert(k.to_owned(), v.to_owned());
            }
            _ => {
                return fail(
                    "Invalid import id",
                    format!(
                        "{pair:?}: after '?' the import id takes name=value pairs joined by '&', with names from {}.",
                        OVERRIDES.join(", ")
                    ),
                );
            }
        }
    }
    let op = common::op(ctx, "importing", default_timeouts().read);
    let arm = &*azure.arm;
    let vault = match arm.get(&op, &vault_id).await {
        Ok(Some(v)) => v,
        Ok(None) => return fail("Bundle not found", format!("{} does not exist.", vault_id.display())),
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    let tags = read_tags(&vault);
    let env = tags
        .get("environment")
        .cloned()
        .or_else(|| vault_id.name().rsplit('-').next().map(str::to_owned))
        .filter(|e| crate::conventions::check_environment(e).is_ok());
    let Some(env) = env else {
        return fail(
            "Cannot tell the environment",
            format!("{} has no `environment` tag and its name does not end in one.", vault_id.display()),
        );
    };
    // A configuration value holding the names this bundle uses.
    let mut skeleton: BTreeMap<String, Value> = super::schema().block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    skeleton.insert("timeouts".into(), Value::Null);
    skeleton.insert("environment".into(), Value::string(&env));
    skeleton.insert("location".into(), Value::string(str_at(&vault, "/location").unwrap_or("")));
    skeleton.insert("resource_group_name".into(), Value::string(vault_id.resource_group.clone().unwrap_or_default()));
    skeleton.insert("key_vault_name".into(), Value::string(vault_id.name()));
    for (k, v) in &overrides {
        skeleton.insert(k.clone(), Value::string(v));
    }
    let cfg: BundleConfig = match from_value(&Value::Object(skeleton.clone())) {
        Ok(c) => c,
        Err(e) => return StateResult::failed(Value::Null, e.into()),
    };
    let ids = BundleIds { subscription: vault_id.subscription.clone(), names: names(&env, &cfg) };
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
    let op = &op;
    let list = |path: String, ty: &'static str| async move {
        let v = trench_arm::api_versions::for_type(ty).unwrap_or("");
        arm.list(op, &path, &path, v).await
    };
    let (pe_id, storage_id, cosmos_id) = (ids.endpoint_id(Target::KeyVault), ids.storage_account_id(), ids.cosmos_id());
    let (pe, storage, cosmos, queues, dbs, links) = tokio::join!(
        arm.get(op, &pe_id),
        arm.get(op, &storage_id),
        arm.get(op, &cosmos_id),
        list(format!("{}/queues", ids.service_bus_id()), "Microsoft.ServiceBus/namespaces/queues"),
        list(format!("{}/databases", ids.postgresql_id()), "Microsoft.DBforPostgreSQL/flexibleServers/databases"),
        list(format!("{}/virtualNetworkLinks", ids.zone_id(Target::KeyVault)), "Microsoft.Network/privateDnsZones/virtualNetworkLinks"),
    );
    let found = (|| Ok::<_, ArmError>((pe?, storage?, cosmos?, queues?, dbs?, links?)))();
    let (pe, storage, cosmos, queues, dbs, links) = match found {
        Ok(f) => f,
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
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
    let user_tags = common::user_tags(&tags, &azure.default_tags, &env);
    if !user_tags.is_empty() {
        skeleton.insert("tags".into(), Value::Map(user_tags.iter().map(|(k, v)| (k.clone(), Value::string(v))).collect()));
    }
    let state = Value::Object(skeleton);
    let spec = match spec_from(&azure.subscription, &azure.default_tags, &state) {
        Ok(s) => s,
        Err(d) => return StateResult::failed(Value::Null, d),
    };
    let bodies = match fetch(arm, op, &spec).await {
        Ok(b) => b,
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    match state_for(&state, &spec, &bodies) {
        Ok(s) => StateResult::ok(s),
        Err(d) => StateResult::failed(Value::Null, d),
    }
}

//! Plan-time checks of trench_paas_bundle: every rule Azure would apply at
//! create (names, SKU limits, password complexity) and the changes it
//! refuses on an existing bundle, each reported on its attribute with no
//! ARM call.

use std::collections::BTreeMap;

use super::spec;
use super::{BundleConfig, PASSWORD, PASSWORD_VERSION, PG_STORAGE_SIZES, PG_SYSTEM_DATABASES, defaults};
use crate::conventions::AzureType;
use crate::resources::checks;
use trench_arm::ResourceId;
use trench_plugin::framework::{AttrPath, Diagnostics};
use trench_plugin::value::{Val, Value, from_value};

fn err(d: &mut Diagnostics, attr: &str, summary: &str, detail: impl Into<String>) {
    d.add_attr_error(AttrPath::root(attr), summary, detail);
}

fn one_of(v: &Val<String>, attr: &str, allowed: &[&str], d: &mut Diagnostics) {
    if let Val::Known(s) = v
        && !allowed.contains(&s.as_str())
    {
        err(d, attr, &format!("Invalid {attr}"), format!("{s:?}: use {}.", allowed.join(", ")));
    }
}

fn in_range(v: &Val<i64>, attr: &str, lo: i64, hi: i64, d: &mut Diagnostics) {
    if let Val::Known(n) = v
        && !(lo..=hi).contains(n)
    {
        err(d, attr, &format!("{attr} out of range"), format!("{n}: {lo} to {hi}."));
    }
}

/// Azure's complexity rule for flexible-server passwords.
fn check_password(pw: &str, login: &str) -> Result<(), String> {
    let n = pw.chars().count();
    let classes = [
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if !(8..=128).contains(&n) {
        return Err(format!("The password is {n} characters; Azure wants 8-128."));
    }
    if classes < 3 {
        return Err("The password needs characters from three of: upper case, lower case, digits, symbols.".into());
    }
    if !login.is_empty() && pw.to_ascii_lowercase().contains(&login.to_ascii_lowercase()) {
        return Err("The password must not contain the administrator login.".into());
    }
    Ok(())
}

fn check_login(login: &str) -> Result<(), String> {
    let l = login.to_ascii_lowercase();
    let reserved = ["azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public"];
    let well_formed = (1..=63).contains(&login.len())
        && login.starts_with(|c: char| c.is_ascii_alphabetic())
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if reserved.contains(&l.as_str()) || l.starts_with("pg_") || !well_formed {
        return Err(format!(
            "{login:?}: 1-63 letters, digits and '_', starting with a letter; not {} and not starting with pg_.",
            reserved.join(", ")
        ));
    }
    Ok(())
}

fn check_database(db: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&db.len())
        && db.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        return Err(format!("{db:?}: 1-63 letters, digits, '_' or '-', starting with a letter or '_'."));
    }
    if PG_SYSTEM_DATABASES.contains(&db) {
        return Err(format!("{db:?} is a system database every server has; it is not managed here."));
    }
    Ok(())
}

fn check_queue(q: &str) -> Result<(), String> {
    let ok = (1..=260).contains(&q.len())
        && q.chars().all(|c| c.is_ascii_alphanumeric() || "-._/".contains(c))
        && q.starts_with(|c: char| c.is_ascii_alphanumeric())
        && q.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!("{q:?}: 1-260 letters, digits, '.', '-', '_' or '/', starting and ending with a letter or digit."))
    }
}

/// Plan-time validation of a (possibly partly unknown) configuration; no
/// ARM calls. Exposed for the bad-input tests.
pub fn validate_config(cfg: &BundleConfig) -> Diagnostics {
    let mut d = Diagnostics::new();
    checks::environment(&cfg.environment, &mut d);
    checks::location(&cfg.location, &mut d);
    for (v, attr, t) in [
        (&cfg.resource_group_name, "resource_group_name", AzureType::ResourceGroup),
        (&cfg.data_resource_group_name, "data_resource_group_name", AzureType::ResourceGroup),
        (&cfg.acr_name, "acr_name", AzureType::ContainerRegistry),
        (&cfg.key_vault_name, "key_vault_name", AzureType::KeyVault),
        (&cfg.postgresql_name, "postgresql_name", AzureType::PostgresServer),
        (&cfg.service_bus_name, "service_bus_name", AzureType::ServiceBusNamespace),
        (&cfg.log_analytics_name, "log_analytics_name", AzureType::LogAnalyticsWorkspace),
        (&cfg.state_storage_account_name, "state_storage_account_name", AzureType::StorageAccount),
        (&cfg.state_container_name, "state_container_name", AzureType::StorageContainer),
        (&cfg.cosmos_db_name, "cosmos_db_name", AzureType::CosmosAccount),
    ] {
        if let Val::Known(n) = v
            && let Err(e) = t.check(n)
        {
            err(&mut d, attr, "Invalid name", e);
        }
    }
    if let (Val::Known(core), Val::Known(data)) = (&cfg.resource_group_name, &cfg.data_resource_group_name)
        && core.eq_ignore_ascii_case(data)
    {
        err(
            &mut d,
            "data_resource_group_name",
            "The data resource group must be its own",
            format!(
                "{data:?} is also resource_group_name; the bundle creates and deletes the data resource group, so it cannot be the hub's."
            ),
        );
    }
    checks::arm_id(&cfg.private_endpoint_subnet_id, "private_endpoint_subnet_id", "Microsoft.Network/virtualNetworks/subnets", &mut d);
    if let Val::Known(vnets) = &cfg.dns_zone_vnet_ids {
        if vnets.is_empty() {
            err(
                &mut d,
                "dns_zone_vnet_ids",
                "No VNets to link",
                "Link the zones to at least the spoke's VNet, or nothing resolves the private endpoints.",
            );
        }
        let mut links: BTreeMap<String, &str> = BTreeMap::new();
        for v in vnets {
            match ResourceId::parse(v) {
                Ok(id) if id.resource_type().eq_ignore_ascii_case("Microsoft.Network/virtualNetworks") => {
                    if let Some(other) = links.insert(spec::link_name(&id).to_ascii_lowercase(), v) {
                        err(
                            &mut d,
                            "dns_zone_vnet_ids",
                            "VNet names collide",
                            format!("{other} and {v} would both be linked as {:?}.", spec::link_name(&id)),
                        );
                    }
                }
                Ok(id) => err(&mut d, "dns_zone_vnet_ids", "Not a VNet id", format!("{v} names a {}.", id.resource_type())),
                Err(e) => err(&mut d, "dns_zone_vnet_ids", "Invalid VNet id", e.to_string()),
            }
        }
    }
    if let Val::Known(ip) = &cfg.firewall_public_ip
        && ip.parse::<std::net::Ipv4Addr>().is_err()
    {
        err(
            &mut d,
            "firewall_public_ip",
            "Invalid firewall public IP",
            format!("{ip:?} is not an IPv4 address (use trench_hub.<name>.firewall_public_ip)."),
        );
    }
    if let Val::Known(cidrs) = &cfg.admin_cidrs {
        for c in cidrs {
            if !c.contains('/') || c.parse::<ipnet::Ipv4Net>().is_err() {
                err(
                    &mut d,
                    "admin_cidrs",
                    "Invalid admin CIDR",
                    format!("{c:?}: use CIDR notation such as \"203.0.113.0/24\" or \"198.51.100.7/32\"."),
                );
            }
        }
    }
    one_of(&cfg.acr_sku, "acr_sku", &["Basic", "Standard", "Premium"], &mut d);
    if cfg.acr_public_network_access.known() == Some(&false) && cfg.acr_sku.known().is_none_or(|s| s != "Premium") {
        err(
            &mut d,
            "acr_public_network_access",
            "Closing the registry's public endpoint needs Premium",
            format!(
                "acr_sku is {}: Azure only lets Premium registries turn public network access off.",
                cfg.acr_sku.known().map(String::as_str).unwrap_or(defaults::ACR_SKU)
            ),
        );
    }
    one_of(&cfg.key_vault_sku, "key_vault_sku", &["standard", "premium"], &mut d);
    in_range(&cfg.key_vault_soft_delete_retention_days, "key_vault_soft_delete_retention_days", 7, 90, &mut d);
    one_of(&cfg.key_vault_on_soft_deleted, "key_vault_on_soft_deleted", &["fail", "recover", "purge"], &mut d);
    if cfg.key_vault_purge_on_destroy.known() == Some(&true) && cfg.key_vault_purge_protection.known() == Some(&true) {
        err(
            &mut d,
            "key_vault_purge_on_destroy",
            "A purge-protected vault cannot be purged",
            "With key_vault_purge_protection on, Azure refuses to purge the vault until its retention ends; leave key_vault_purge_on_destroy unset or false.",
        );
    }
    if let Val::Known(v) = &cfg.postgresql_version
        && !v.parse::<u32>().is_ok_and(|n| (11..=18).contains(&n))
    {
        err(&mut d, "postgresql_version", "Unsupported PostgreSQL version", format!("{v:?}: a major version from 11 to 18."));
    }
    if let Val::Known(s) = &cfg.postgresql_sku_name
        && spec::sku_tier(s).is_none()
    {
        err(
            &mut d,
            "postgresql_sku_name",
            "Invalid PostgreSQL SKU",
            format!("{s:?}: use a flexible-server size such as Standard_B1ms, Standard_D2ds_v5 or Standard_E2ds_v5."),
        );
    }
    if let Val::Known(g) = &cfg.postgresql_storage_gb
        && !PG_STORAGE_SIZES.contains(g)
    {
        err(&mut d, "postgresql_storage_gb", "Invalid storage size", format!("{g} GB: one of {PG_STORAGE_SIZES:?}."));
    }
    if let Val::Known(dbs) = &cfg.postgresql_databases {
        for db in dbs {
            if let Err(m) = check_database(db) {
                err(&mut d, "postgresql_databases", "Invalid database name", m);
            }
        }
    }
    if let Val::Known(l) = &cfg.postgresql_administrator_login
        && let Err(m) = check_login(l)
    {
        err(&mut d, "postgresql_administrator_login", "Invalid administrator login", m);
    }
    if let Val::Known(pw) = &cfg.postgresql_administrator_password_wo {
        let login = cfg.postgresql_administrator_login.known().map(String::as_str).unwrap_or(defaults::PG_LOGIN);
        if let Err(m) = check_password(pw, login) {
            err(&mut d, PASSWORD, "Password too weak", m);
        }
    }
    in_range(&cfg.postgresql_administrator_password_wo_version, PASSWORD_VERSION, 0, i64::MAX, &mut d);
    one_of(&cfg.service_bus_sku, "service_bus_sku", &["Basic", "Standard", "Premium"], &mut d);
    one_of(&cfg.service_bus_default_action, "service_bus_default_action", &["Allow", "Deny"], &mut d);
    if cfg.service_bus_sku.known().is_some_and(|s| s == "Basic") && cfg.service_bus_default_action.known().is_none_or(|a| a == "Deny") {
        err(
            &mut d,
            "service_bus_sku",
            "Service Bus network rules need Standard or Premium",
            "A Basic namespace has no IP firewall, so it cannot deny by default; use Standard, or set service_bus_default_action = \"Allow\".",
        );
    }
    if let Val::Known(qs) = &cfg.service_bus_queues {
        for q in qs {
            if let Err(m) = check_queue(q) {
                err(&mut d, "service_bus_queues", "Invalid queue name", m);
            }
        }
    }
    in_range(&cfg.log_analytics_retention_days, "log_analytics_retention_days", 30, 730, &mut d);
    checks::tags(&cfg.tags, &mut d);
    d
}

/// Changes Azure refuses to make to an existing bundle, named at plan
/// instead of failing at apply.
pub(super) fn in_place_refusals(prior: &Value, planned: &BundleConfig) -> Diagnostics {
    let mut d = Diagnostics::new();
    let Ok(p) = from_value::<BundleConfig>(prior) else { return d };
    let changed = |a: &Val<i64>, b: &Val<i64>| matches!((a, b), (Val::Known(x), Val::Known(y)) if x != y);
    if changed(&p.key_vault_soft_delete_retention_days, &planned.key_vault_soft_delete_retention_days) {
        err(
            &mut d,
            "key_vault_soft_delete_retention_days",
            "Soft-delete retention cannot change",
            "Azure fixes a vault's soft-delete retention when it is created; revert the change (or create a new vault under a new key_vault_name).",
        );
    }
    if p.key_vault_purge_protection.known() == Some(&true) && planned.key_vault_purge_protection.known() == Some(&false) {
        err(
            &mut d,
            "key_vault_purge_protection",
            "Purge protection cannot be turned off",
            "Once a vault has purge protection, Azure never turns it off.",
        );
    }
    if let (Val::Known(a), Val::Known(b)) = (&p.postgresql_administrator_login, &planned.postgresql_administrator_login)
        && a != b
    {
        err(
            &mut d,
            "postgresql_administrator_login",
            "The administrator login cannot change",
            format!("The server was created with {a:?}; Azure cannot rename its administrator."),
        );
    }
    if let (Val::Known(a), Val::Known(b)) = (&p.postgresql_version, &planned.postgresql_version)
        && b.parse::<u32>().unwrap_or(0) < a.parse::<u32>().unwrap_or(0)
    {
        err(&mut d, "postgresql_version", "PostgreSQL cannot be downgraded", format!("The server runs {a}; major versions only go up."));
    }
    if let (Val::Known(a), Val::Known(b)) = (&p.postgresql_storage_gb, &planned.postgresql_storage_gb)
        && b < a
    {
        err(
            &mut d,
            "postgresql_storage_gb",
            "Storage cannot shrink",
            format!("The server has {a} GB; Azure can grow storage, never shrink it."),
        );
    }
    d
}

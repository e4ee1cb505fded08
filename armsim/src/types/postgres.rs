//! PostgreSQL flexible servers, databases and firewall rules: 202 + Location LROs with no body,
//! a write-only admin password (stored as SHA-256), password complexity and reserved admin names,
//! VNet integration checks and global server names.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::vnet::{SUBNET_TYPE, invalid_reference};
use super::{name_rule, versions};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{BASE, DeleteStyle, GlobalName, Hooks, Loc, Lock, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{Prov, Resource, State};

pub(crate) const SERVER_TYPE: &str = "Microsoft.DBforPostgreSQL/flexibleServers";
pub(crate) const DB_TYPE: &str = "Microsoft.DBforPostgreSQL/flexibleServers/databases";
pub(crate) const FW_TYPE: &str = "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules";

static SERVER_NAME: NameRule = name_rule!(
    3,
    63,
    r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
    "InvalidResourceName",
    "Server name must be 3-63 characters: lower-case letters, digits and hyphens, not starting or ending with a hyphen."
);
static DB_NAME: NameRule = name_rule!(
    1,
    63,
    r"^[a-zA-Z_][\w-]{0,62}$",
    "InvalidResourceName",
    "Database names start with a letter or underscore and contain letters, digits, '_' or '-'."
);
static FW_NAME: NameRule = name_rule!(
    1,
    80,
    r"^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,78}[_a-zA-Z0-9])?$",
    "InvalidResourceName",
    "Firewall rule names are 1-80 letters, digits, '-' or '_', starting with a letter or digit and not ending with '-'."
);

const PG: Spec = Spec {
    api_versions: versions::POSTGRES,
    create: PutStyle::Accepted { async_header: true },
    update: PutStyle::Accepted { async_header: true },
    delete: DeleteStyle::Accepted { async_header: true, done: 204 },
    prov_path: None,
    ..BASE
};

pub(crate) static SERVER: Spec = Spec {
    type_name: SERVER_TYPE,
    name: Some(&SERVER_NAME),
    durations: secs(360.0, 120.0, 120.0),
    global_name: Some(GlobalName {
        status: 409,
        code: "ServerNameAlreadyExists",
        message: "Specified server name '{name}' is already used.",
    }),
    conflict_code: "ServerBusy",
    secrets: &["properties.administratorLoginPassword"],
    readonly: &[
        "properties.fullyQualifiedDomainName",
        "properties.state",
        "properties.minorVersion",
        "properties.replicaCapacity",
        "properties.privateEndpointConnections",
        "properties.backup.earliestRestoreDate",
        "properties.highAvailability.state",
        "properties.pointInTimeUTC",
        "properties.sourceServerResourceId",
    ],
    hooks: &ServerHooks,
    ..PG
};
pub(crate) static DATABASE: Spec = Spec {
    type_name: DB_TYPE,
    name: Some(&DB_NAME),
    loc: Loc::None,
    lock: Lock::Parent,
    conflict_code: "ServerBusy",
    durations: secs(30.0, 30.0, 30.0),
    hooks: &DbHooks,
    ..PG
};
pub(crate) static FIREWALL_RULE: Spec = Spec {
    type_name: FW_TYPE,
    name: Some(&FW_NAME),
    loc: Loc::None,
    lock: Lock::Parent,
    conflict_code: "ServerBusy",
    durations: secs(30.0, 30.0, 30.0),
    hooks: &FwHooks,
    ..PG
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&SERVER, &DATABASE, &FIREWALL_RULE]
}

const RESERVED_LOGINS: &[&str] = &["azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public"];

fn check_password(password: &str, login: &str) -> Result<(), ArmError> {
    let n = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let contains_login = !login.is_empty() && password.to_ascii_lowercase().contains(&login.to_ascii_lowercase());
    if !(8..=128).contains(&n) || classes < 3 || contains_login {
        return Err(ArmError::bad_request(
            "PasswordNotComplex",
            "The password does not meet complexity requirements: it must be 8-128 characters long, contain characters from three of these categories (upper-case letters, lower-case letters, digits, non-alphanumeric characters), and must not contain the login name.",
        )
        .with_target("properties.administratorLoginPassword"));
    }
    Ok(())
}

fn minor_version(major: &str) -> &'static str {
    match major {
        "11" | "12" => "22",
        "13" => "18",
        "14" => "15",
        "15" => "10",
        "16" => "6",
        "17" => "2",
        _ => "0",
    }
}

struct ServerHooks;

impl Hooks for ServerHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let owner = cx.id.clone();
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        if let Some(o) = cx.body["properties"].as_object_mut() {
            o.remove("createMode");
        }
        let tier = jpath::get_str(&cx.body, "sku.tier").unwrap_or("");
        if !["Burstable", "GeneralPurpose", "MemoryOptimized"].contains(&tier) || jpath::get_str(&cx.body, "sku.name").is_none() {
            return Err(ArmError::bad_request(
                "InvalidParameterValue",
                format!("Server {owner} needs sku.name and sku.tier (Burstable, GeneralPurpose or MemoryOptimized)."),
            )
            .with_target("sku"));
        }
        jpath::default(&mut cx.body, "properties.version", json!("16"));
        let version = cx.prop_str("version").unwrap_or("16").to_string();
        if !(11..=18).contains(&version.parse::<u32>().unwrap_or(0)) {
            return Err(ArmError::bad_request(
                "InvalidParameterValue",
                format!("PostgreSQL version '{version}' is not supported (11-18)."),
            )
            .with_target("properties.version"));
        }
        jpath::default(&mut cx.body, "properties.authConfig", json!({"activeDirectoryAuth": "Disabled", "passwordAuth": "Enabled"}));
        let password_auth = cx.prop_str("authConfig.passwordAuth") != Some("Disabled");
        let login = cx.prop_str("administratorLogin").map(str::to_string);
        let password = jpath::get_str(cx.raw, "properties.administratorLoginPassword").map(str::to_string);
        match cx.existing {
            None if password_auth => {
                let Some(login) = login.clone() else {
                    return Err(ArmError::bad_request(
                        "InvalidParameterValue",
                        format!("Server {owner} needs properties.administratorLogin."),
                    )
                    .with_target("properties.administratorLogin"));
                };
                let l = login.to_ascii_lowercase();
                let well_formed = login.len() <= 63
                    && login.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if RESERVED_LOGINS.contains(&l.as_str()) || l.starts_with("pg_") || !well_formed {
                    return Err(ArmError::bad_request(
                        "InvalidAdministratorLoginName",
                        format!("The administrator login '{login}' is not allowed: it cannot be azure_superuser, azure_pg_admin, admin, administrator, root, guest or public, cannot start with pg_, and must start with a letter and contain only letters, digits and '_'."),
                    )
                    .with_target("properties.administratorLogin"));
                }
                let Some(pw) = password.as_deref() else {
                    return Err(ArmError::bad_request(
                        "InvalidParameterValue",
                        format!("Server {owner} needs properties.administratorLoginPassword."),
                    )
                    .with_target("properties.administratorLoginPassword"));
                };
                check_password(pw, &login)?;
            }
            Some(e) => {
                let old = e.prop_str("administratorLogin");
                if login.is_some() && old.is_some() && login.as_deref() != old {
                    return Err(ArmError::bad_request(
                        "CannotChangeAdministratorLogin",
                        format!("The administrator login of server {owner} cannot be changed."),
                    ));
                }
                if let Some(old) = old {
                    cx.body["properties"]["administratorLogin"] = json!(old);
                }
                if let Some(pw) = password.as_deref() {
                    check_password(pw, old.unwrap_or(""))?;
                }
                let old_size = e.prop("storage.storageSizeGB").and_then(Value::as_i64).unwrap_or(0);
                let new_size = cx.prop("storage.storageSizeGB").and_then(Value::as_i64).unwrap_or(old_size);
                if new_size < old_size {
                    return Err(ArmError::bad_request(
                        "StorageSizeCannotBeDecreased",
                        format!("The storage size of server {owner} cannot be decreased ({old_size} GB to {new_size} GB)."),
                    ));
                }
            }
            None => {}
        }
        // Network: VNet integration needs a delegated subnet and a private DNS zone.
        if let Some(subnet_id) = cx.prop_str("network.delegatedSubnetResourceId").map(str::to_string) {
            let Some(subnet) = cx.st.get(&crate::armpath::key_of(&subnet_id)).filter(|s| s.is(SUBNET_TYPE)) else {
                return Err(invalid_reference(&subnet_id, &owner));
            };
            let delegated = jpath::array(&subnet.body, "properties.delegations")
                .iter()
                .any(|d| jpath::get_str(d, "properties.serviceName").is_some_and(|s| s.eq_ignore_ascii_case(SERVER_TYPE)));
            if !delegated {
                return Err(ArmError::bad_request(
                    "SubnetNotDelegated",
                    format!("Subnet {subnet_id} must be delegated to {SERVER_TYPE} for VNet integration."),
                ));
            }
            let Some(zone_id) = cx.prop_str("network.privateDnsZoneArmResourceId").map(str::to_string) else {
                return Err(ArmError::bad_request(
                    "InvalidParameterValue",
                    format!("Server {owner} uses a delegated subnet and needs network.privateDnsZoneArmResourceId."),
                ));
            };
            let zone = cx.st.get(&crate::armpath::key_of(&zone_id)).ok_or_else(|| invalid_reference(&zone_id, &owner))?;
            if !zone.name().to_ascii_lowercase().ends_with(".postgres.database.azure.com") {
                return Err(ArmError::bad_request(
                    "InvalidPrivateDnsZone",
                    format!("Private DNS zone {} must end with .postgres.database.azure.com.", zone.name()),
                ));
            }
            cx.body["properties"]["network"]["publicNetworkAccess"] = json!("Disabled");
        } else {
            jpath::default(&mut cx.body, "properties.network.publicNetworkAccess", json!("Enabled"));
        }
        let now = cx.now_ms;
        for (k, v) in [
            ("storage.storageSizeGB", json!(32)),
            ("storage.autoGrow", json!("Disabled")),
            ("storage.tier", json!("P4")),
            ("storage.iops", json!(120)),
            ("backup.backupRetentionDays", json!(7)),
            ("backup.geoRedundantBackup", json!("Disabled")),
            ("highAvailability.mode", json!("Disabled")),
            ("maintenanceWindow", json!({"customWindow": "Disabled", "dayOfWeek": 0, "startHour": 0, "startMinute": 0})),
            ("dataEncryption", json!({"type": "SystemManaged"})),
            ("replicationRole", json!("Primary")),
            ("availabilityZone", json!("1")),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), v);
        }
        cx.keep("properties.backup.earliestRestoreDate", |_| json!(crate::clock::rfc3339(now)));
        let ha = if cx.prop_str("highAvailability.mode").is_some_and(|m| m != "Disabled") { "Healthy" } else { "NotEnabled" };
        cx.body["properties"]["highAvailability"]["state"] = json!(ha);
        cx.body["properties"]["fullyQualifiedDomainName"] = json!(format!("{}.postgres.database.azure.com", cx.name));
        cx.body["properties"]["minorVersion"] = json!(minor_version(&version));
        cx.body["properties"]["replicaCapacity"] = json!(5);
        cx.body["properties"]["replica"] = json!({"role": "Primary", "capacity": 5});
        Ok(())
    }

    fn render(&self, st: &State, cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let state = match &res.prov {
            Prov::Succeeded => "Ready",
            Prov::Failed => "Disabled",
            Prov::Pending { shown, .. } => match shown.as_str() {
                "Creating" => "Provisioning",
                "Deleting" => "Dropping",
                _ => "Updating",
            },
        };
        body["properties"]["state"] = json!(state);
        body["properties"]["privateEndpointConnections"] = json!(super::privatelink::pe_connections(st, cfg, res));
    }
}

struct DbHooks;

impl Hooks for DbHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        jpath::default(&mut cx.body, "properties.charset", json!("UTF8"));
        jpath::default(&mut cx.body, "properties.collation", json!("en_US.utf8"));
        if let Some(e) = cx.existing {
            for k in ["charset", "collation"] {
                if e.prop_str(k) != cx.prop_str(k) {
                    return Err(ArmError::bad_request(
                        "InvalidParameterValue",
                        format!("The {k} of database {} cannot be changed.", cx.id),
                    ));
                }
            }
        }
        Ok(())
    }
}

struct FwHooks;

impl Hooks for FwHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let server = cx.parent.expect("rules have a server");
        if server.prop_str("network.delegatedSubnetResourceId").is_some() {
            return Err(ArmError::bad_request(
                "FirewallRulesNotSupportedForPrivateAccess",
                format!("Server {} uses VNet integration (private access); firewall rules are not supported.", server.id),
            ));
        }
        let parse = |k: &str| -> Result<Ipv4Addr, ArmError> {
            let s = cx.prop_str(k).unwrap_or("");
            s.parse().map_err(|_| {
                ArmError::bad_request("InvalidParameterValue", format!("Firewall rule {}: {k} '{s}' is not an IPv4 address.", cx.id))
                    .with_target(format!("properties.{k}"))
            })
        };
        let (start, end) = (parse("startIpAddress")?, parse("endIpAddress")?);
        if start > end {
            return Err(ArmError::bad_request(
                "InvalidParameterValue",
                format!("Firewall rule {}: startIpAddress {start} is after endIpAddress {end}.", cx.id),
            ));
        }
        Ok(())
    }
}

//! Plan-time checks of trench_workload_identity, on the raw configuration
//! so each element of the service account and role assignment sets is
//! read on its own and named in diagnostics.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use trench_arm::ResourceId;
use trench_plugin::framework::{AttrPath, Diagnostics};
use trench_plugin::value::{Val, Value, from_value};

use super::spec::{DEFAULT_AUDIENCE, ServiceAccount};
use super::{IdentityConfig, MAX_CREDENTIALS};
use crate::conventions::{self, AzureType};
use crate::resources::checks;
use crate::resources::roles;

/// The elements of a list or set attribute, each read on its own so one
/// unknown element does not hide mistakes in the others. `Unknown` for an
/// unknown collection, `Null` for an unset one; an unknown element reads as
/// `Unknown`. Set elements have no stable position, so diagnostics name the
/// element, not an index.
fn elements<T: DeserializeOwned>(config: &Value, attr: &str) -> Val<Vec<Val<T>>> {
    match config.get_attr(attr) {
        None | Some(Value::Null) => Val::Null,
        Some(Value::List(items) | Value::Set(items)) => Val::Known(
            items
                .iter()
                .map(|v| if v.is_unknown() { Val::Unknown } else { from_value::<T>(v).map(Val::Known).unwrap_or(Val::Unknown) })
                .collect(),
        ),
        Some(_) => Val::Unknown,
    }
}

/// A service account element with its fields possibly unknown.
#[derive(Deserialize)]
struct SaItem {
    namespace: Val<String>,
    name: Val<String>,
}

/// A role assignment element with its fields possibly unknown.
#[derive(Deserialize)]
struct RaItem {
    scope: Val<String>,
    role: Val<String>,
}

/// A lowercase RFC 1123 label, as Kubernetes requires of namespaces and
/// service account names here.
fn is_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Federated credential names: `^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$`.
fn is_credential_name(s: &str) -> bool {
    (3..=120).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_issuer(url: &str) -> Result<(), String> {
    let u = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL ({e}); use trench_private_aks.<name>.oidc_issuer_url."))?;
    if u.scheme() != "https" || u.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?}: Entra ID only trusts https issuers; use trench_private_aks.<name>.oidc_issuer_url."));
    }
    if !u.username().is_empty() || u.password().is_some() || u.query().is_some() || u.fragment().is_some() {
        return Err(format!("{url:?}: an OIDC issuer has no credentials, query or fragment."));
    }
    Ok(())
}

/// Plan-time validation of a (possibly partly unknown) configuration; no
/// ARM calls. Exposed for the bad-input tests.
pub fn validate_config(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    let cfg: IdentityConfig = match from_value(config) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    checks::environment(&cfg.environment, &mut d);
    if let Val::Known(n) = &cfg.name {
        // The naming convention's own rule for a name token; the environment
        // is checked on its own above.
        if conventions::name(n, "id", "dev").is_err() {
            d.add_attr_error(
                AttrPath::root("name"),
                "Invalid workload name",
                format!(
                    "{n:?} must be 1-24 lowercase letters or digits, optionally joined by single hyphens (for example \"catalog-api\"); the identity is named trench-<name>-id-<env>."
                ),
            );
        }
    }
    checks::location(&cfg.location, &mut d);
    if let Val::Known(rg) = &cfg.resource_group_name
        && let Err(m) = AzureType::ResourceGroup.check(rg)
    {
        d.add_attr_error(AttrPath::root("resource_group_name"), "Invalid name", m);
    }
    if let Val::Known(u) = &cfg.oidc_issuer_url
        && let Err(m) = check_issuer(u)
    {
        d.add_attr_error(AttrPath::root("oidc_issuer_url"), "Invalid OIDC issuer URL", m);
    }
    check_service_accounts(config, &mut d);
    if let Val::Known(auds) = &cfg.audiences {
        if auds.is_empty() {
            d.add_attr_error(
                AttrPath::root("audiences"),
                "No audiences",
                format!("A federated credential needs at least one audience; AKS workload identity uses {DEFAULT_AUDIENCE:?}."),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, a) in auds.iter().enumerate() {
            if a.trim().is_empty() || a.len() > 600 {
                d.add_attr_error(AttrPath::root("audiences").index(i), "Invalid audience", "An audience is 1-600 characters.");
            } else if !seen.insert(a.as_str()) {
                d.add_attr_error(AttrPath::root("audiences").index(i), "Duplicate audience", format!("{a:?} is listed twice."));
            }
        }
    }
    check_role_assignments(config, &mut d);
    checks::tags(&cfg.tags, &mut d);
    d
}

fn check_service_accounts(config: &Value, d: &mut Diagnostics) {
    let Val::Known(items) = elements::<SaItem>(config, "service_accounts") else { return };
    let root = AttrPath::root("service_accounts");
    if items.is_empty() {
        d.add_attr_error(
            root.clone(),
            "No service accounts",
            "Give at least one service account: nothing can sign in as the identity otherwise.",
        );
    }
    if items.len() > MAX_CREDENTIALS {
        d.add_attr_error(
            root.clone(),
            "Too many service accounts",
            format!("{} service accounts; Azure allows at most {MAX_CREDENTIALS} federated credentials per identity.", items.len()),
        );
    }
    // credential name → the service account that takes it, for collisions.
    let mut credentials: BTreeMap<String, String> = BTreeMap::new();
    for item in &items {
        let Val::Known(sa) = item else { continue };
        let mut ok = true;
        for (v, field) in [(&sa.namespace, "namespace"), (&sa.name, "name")] {
            if let Val::Known(s) = v
                && !is_label(s)
            {
                ok = false;
                d.add_attr_error(
                    root.clone(),
                    "Invalid Kubernetes name",
                    format!(
                        "service account {field} {s:?}: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit."
                    ),
                );
            }
        }
        let (Val::Known(ns), Val::Known(name), true) = (&sa.namespace, &sa.name, ok) else { continue };
        let account = ServiceAccount { namespace: ns.clone(), name: name.clone() };
        let cred = account.credential_name();
        if !is_credential_name(&cred) {
            d.add_attr_error(
                root.clone(),
                "Federated credential name too long",
                format!("{}: the credential is named {cred:?} ({} characters); Azure allows at most 120.", account.key(), cred.len()),
            );
        } else if let Some(other) = credentials.insert(cred.clone(), account.key()) {
            d.add_attr_error(
                root.clone(),
                "Federated credential names collide",
                format!("{other} and {} both give the credential name {cred:?} (<namespace>-<name>).", account.key()),
            );
        }
    }
}

fn check_role_assignments(config: &Value, d: &mut Diagnostics) {
    let Val::Known(items) = elements::<RaItem>(config, "role_assignments") else { return };
    let root = AttrPath::root("role_assignments");
    // (scope, role GUID) → the role as written: the same role twice on a
    // scope (by name and by GUID) is one assignment in Azure.
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for item in &items {
        let Val::Known(ra) = item else { continue };
        let scope = match &ra.scope {
            Val::Known(s) => match ResourceId::parse(s) {
                Ok(id) => Some(id.to_string().to_ascii_lowercase()),
                Err(e) => {
                    d.add_attr_error(
                        root.clone(),
                        "Invalid scope",
                        format!("{e}. Use the id of a resource, resource group or subscription."),
                    );
                    None
                }
            },
            _ => None,
        };
        let guid = match &ra.role {
            Val::Known(r) => match roles::role_guid(r) {
                Some(g) => Some(g),
                None => {
                    d.add_attr_error(
                        root.clone(),
                        "Unknown role",
                        format!(
                            "{r:?} is neither a built-in role trench knows ({}) nor a role definition GUID.",
                            roles::BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                        ),
                    );
                    None
                }
            },
            _ => None,
        };
        if let (Some(s), Some(g), Val::Known(role)) = (scope, guid, &ra.role)
            && let Some(first) = seen.insert((s.clone(), g), role.clone())
        {
            d.add_attr_error(
                root.clone(),
                "Duplicate role assignment",
                format!("{first:?} and {role:?} are the same role on {s}; Azure holds one assignment per principal, role and scope."),
            );
        }
    }
}

//! One module per ARM resource family. Each declares its `Spec`s (api-versions, name rule, LRO
//! style, durations) and the hooks for what differs.

use std::sync::LazyLock;

use regex::Regex;

use crate::armpath::ResPath;
use crate::error::ArmError;
use crate::reply::Reply;
use crate::sim::{Req, Sim};
use crate::spec::{NameRule, Spec};

pub(crate) mod acr;
pub(crate) mod aks;
pub(crate) mod authz;
pub(crate) mod compute;
pub(crate) mod cosmos;
pub(crate) mod dns;
pub(crate) mod firewall;
pub(crate) mod identity;
pub(crate) mod keyvault;
pub(crate) mod monitor;
pub(crate) mod netmisc;
pub(crate) mod postgres;
pub(crate) mod privatelink;
pub(crate) mod resources;
pub(crate) mod servicebus;
pub(crate) mod storage;
pub(crate) mod vnet;

/// api-versions accepted per namespace: the spec's latest stable, the ones azurerm uses and the
/// defaults of the current Azure SDKs (so SDK scripts run against armsim unpinned).
pub(crate) mod versions {
    pub const NETWORK: &[&str] = &["2026-03-01", "2025-09-01", "2025-01-01"];
    pub const PRIVATE_DNS: &[&str] = &["2024-06-01"];
    pub const ACR: &[&str] = &["2025-11-01"];
    pub const AKS: &[&str] = &["2026-08-01", "2026-05-01", "2026-04-01", "2025-10-01"];
    pub const AUTHZ: &[&str] = &["2022-04-01"];
    pub const ROLE_DEFINITIONS: &[&str] = &["2022-04-01", "2022-05-01-preview"];
    pub const MSI: &[&str] = &["2024-11-30"];
    pub const KEYVAULT: &[&str] = &["2026-05-15", "2026-02-01"];
    pub const POSTGRES: &[&str] = &["2025-08-01"];
    pub const SERVICEBUS: &[&str] = &["2026-01-01", "2024-01-01"];
    pub const COSMOS: &[&str] = &["2026-03-15", "2025-10-15"];
    pub const LAW: &[&str] = &["2026-03-01", "2025-07-01"];
    pub const DIAGNOSTICS: &[&str] = &["2021-05-01-preview", "2016-09-01"];
    pub const STORAGE: &[&str] = &["2026-04-01", "2025-08-01", "2025-06-01"];
    pub const COMPUTE: &[&str] = &["2026-04-01", "2024-07-01", "2024-03-01"];
    /// Microsoft.Resources answers every stable version of its spec (the
    /// Python SDK registers namespaces with 2016-02-01).
    pub const RESOURCES: &[&str] = &[
        "2025-04-01",
        "2024-07-01",
        "2024-03-01",
        "2023-07-01",
        "2022-09-01",
        "2021-04-01",
        "2021-01-01",
        "2020-10-01",
        "2020-08-01",
        "2020-06-01",
        "2019-10-01",
        "2019-08-01",
        "2019-07-01",
        "2019-05-10",
        "2019-05-01",
        "2019-03-01",
        "2018-05-01",
        "2018-02-01",
        "2017-05-10",
        "2016-09-01",
        "2016-07-01",
        "2016-02-01",
        "2015-11-01",
    ];
}

pub(crate) fn all() -> Vec<&'static Spec> {
    let mut v: Vec<&'static Spec> = vec![&resources::RG];
    v.extend(vnet::specs());
    v.extend(netmisc::specs());
    v.extend(firewall::specs());
    v.extend(privatelink::specs());
    v.extend(dns::specs());
    v.extend(acr::specs());
    v.extend(aks::specs());
    v.extend(authz::specs());
    v.extend(identity::specs());
    v.extend(keyvault::specs());
    v.extend(postgres::specs());
    v.extend(servicebus::specs());
    v.extend(monitor::specs());
    v.extend(storage::specs());
    v.extend(compute::specs());
    v.extend(cosmos::specs());
    v
}

/// Answers a request to a path that is not a stored resource.
pub(crate) type TypeRoute = fn(&Sim, &Req, &ResPath) -> Result<Reply, ArmError>;

/// The route for such a path's lower-case type key, if a type module has one.
pub(crate) fn route(type_key: &str) -> Option<TypeRoute> {
    let routes: [(&[&str], TypeRoute); 3] = [
        (
            &[
                "microsoft.keyvault/locations/deletedvaults",
                "microsoft.keyvault/locations/deletedvaults/purge",
                "microsoft.keyvault/deletedvaults",
            ],
            keyvault::deleted_route,
        ),
        (&["microsoft.authorization/roledefinitions"], authz::role_definitions),
        (&["microsoft.insights/diagnosticsettingscategories"], monitor::categories_route),
    ];
    routes.into_iter().find(|(keys, _)| keys.contains(&type_key)).map(|(_, r)| r)
}

/// Seconds a write holds its parent (concurrent writes under the same parent conflict meanwhile).
pub(crate) fn write_hold(spec: &Spec) -> Option<f64> {
    (spec.type_name == identity::FIC_TYPE).then_some(1.0)
}

/// Builds a name rule (regex compiled on first use).
macro_rules! name_rule {
    ($min:expr, $max:expr, $re:expr, $code:expr, $rule:expr) => {
        crate::spec::NameRule {
            min: $min,
            max: $max,
            re: std::sync::LazyLock::new(|| regex::Regex::new($re).expect("valid name pattern")),
            code: $code,
            rule: $rule,
        }
    };
}
pub(crate) use name_rule;

/// Network RP names (1–80): start alphanumeric, end alphanumeric or `_`, `.-_` inside.
pub(crate) static NETWORK_NAME: NameRule = name_rule!(
    1,
    80,
    r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$",
    "InvalidResourceName",
    "The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'."
);

/// A GUID (role assignment names).
pub(crate) static GUID_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$").expect("regex"));

/// `{"id": id}`.
pub(crate) fn sub_resource(id: &str) -> serde_json::Value {
    serde_json::json!({ "id": id })
}

/// The `id` field of a JSON object as a lower-case key.
pub(crate) fn ref_key(v: Option<&serde_json::Value>) -> Option<String> {
    v.and_then(|v| v.get("id")).and_then(|i| i.as_str()).map(crate::armpath::key_of)
}

//! The `provider "trench" {}` block: schema, environment fallbacks (azurerm's
//! names where they exist), validation with attribute paths, and the
//! configured session every resource call receives. The only place the
//! provider reads the environment.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use trench_arm::{ArmClient, ClientOptions, Credentials, Settings};
use trench_plugin::framework::{AttrPath, Attribute, Block as SchemaBlock, Diagnostics, ProviderBlock, ProviderData, Schema};
use trench_plugin::value::{Type, Val, Value, from_value};

pub use trench_arm::{CloudEnvironment, Secret};

/// The validated provider configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderConfig {
    /// Subscription to manage.
    pub subscription_id: Option<String>,
    /// How to authenticate (the authority host is the cloud's unless overridden).
    pub credentials: Credentials,
    /// Cloud.
    pub environment: CloudEnvironment,
    /// Resource Manager endpoint (the cloud's, unless overridden).
    pub arm_endpoint: String,
    /// An extra trusted CA certificate (PEM file).
    pub ca_certificate_file: Option<String>,
    /// That file's contents, read once when configuring.
    pub ca_certificate_pem: Option<Vec<u8>>,
    /// Tags merged into every resource's tags.
    pub default_tags: BTreeMap<String, String>,
    /// Upper bound on concurrent ARM requests.
    pub max_parallel_requests: u32,
    /// First retry delay, when the environment scales Azure's timings down.
    pub retry_base_delay: Option<Duration>,
    /// Poll interval, when the environment scales Azure's timings down.
    pub poll_interval: Option<Duration>,
}

/// Default for `max_parallel_requests`.
pub const DEFAULT_MAX_PARALLEL_REQUESTS: u32 = trench_arm::client::DEFAULT_MAX_PARALLEL_REQUESTS as u32;

/// Every environment variable the provider reads: each attribute with its
/// fallbacks in lookup order, then the two timings simulators and tests
/// scale down (`TRENCH_RETRY_BASE_DELAY_MS`, `TRENCH_POLL_INTERVAL_MS`),
/// which have no attribute.
pub const ENV: &[(&str, &[&str])] = &[
    ("subscription_id", &["ARM_SUBSCRIPTION_ID"]),
    ("tenant_id", &["ARM_TENANT_ID"]),
    ("client_id", &["ARM_CLIENT_ID"]),
    ("client_secret", &["ARM_CLIENT_SECRET"]),
    ("use_oidc", &["ARM_USE_OIDC"]),
    ("oidc_token", &["ARM_OIDC_TOKEN"]),
    ("oidc_token_file_path", &["ARM_OIDC_TOKEN_FILE_PATH", "AZURE_FEDERATED_TOKEN_FILE"]),
    ("oidc_request_url", &["ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL"]),
    ("oidc_request_token", &["ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"]),
    ("use_msi", &["ARM_USE_MSI"]),
    ("use_cli", &["ARM_USE_CLI"]),
    ("environment", &["ARM_ENVIRONMENT"]),
    ("arm_endpoint", &["TRENCH_ARM_ENDPOINT"]),
    ("authority_host", &["TRENCH_AUTHORITY_HOST"]),
    ("ca_certificate_file", &["TRENCH_CA_CERT_FILE"]),
    (RETRY_BASE_DELAY, &["TRENCH_RETRY_BASE_DELAY_MS"]),
    (POLL_INTERVAL, &["TRENCH_POLL_INTERVAL_MS"]),
];

/// Keys in [`ENV`] of settings that are not attributes.
const RETRY_BASE_DELAY: &str = "(retry base delay, ms)";
const POLL_INTERVAL: &str = "(poll interval, ms)";

/// The variables of [`ENV`] as this process sees them, read once.
#[derive(Clone, Debug, Default)]
pub struct Environment(BTreeMap<&'static str, String>);

impl Environment {
    /// Reads every variable in [`ENV`].
    pub fn capture() -> Environment {
        Environment(ENV.iter().flat_map(|(_, names)| names.iter()).filter_map(|n| std::env::var(n).ok().map(|v| (*n, v))).collect())
    }
    /// One variable.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

fn env_names(attr: &str) -> &'static [&'static str] {
    ENV.iter().find(|(a, _)| *a == attr).map(|(_, e)| *e).unwrap_or(&[])
}

fn describe(text: &str, attr: &str) -> String {
    let envs = env_names(attr);
    if envs.is_empty() {
        return text.to_owned();
    }
    let list = envs.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", then ");
    format!("{text} Falls back to {list}.")
}

/// The provider block's schema.
pub fn schema() -> Schema {
    let s = |name: &str, text: &str| Attribute::optional(name, Type::String).describe(&describe(text, name));
    let b = |name: &str, text: &str| Attribute::optional(name, Type::Bool).describe(&describe(text, name));
    Schema::new(
        SchemaBlock::new("Configures how trench authenticates to Azure Resource Manager and what it applies to every resource.")
            .attr(s("subscription_id", "Subscription the estate lives in (a UUID)."))
            .attr(s("tenant_id", "Entra ID tenant (a UUID)."))
            .attr(s("client_id", "Client id of the service principal or user-assigned identity (a UUID)."))
            .attr(s("client_secret", "Client secret of the service principal. Prefer OIDC in CI.").sensitive())
            .attr(b("use_oidc", "Authenticate with an OIDC federated token (GitHub Actions, a token file or `oidc_token`)."))
            .attr(s("oidc_token", "An OIDC ID token to exchange for an Azure token.").sensitive())
            .attr(s("oidc_token_file_path", "File holding an OIDC ID token; re-read on every token refresh."))
            .attr(s("oidc_request_url", "GitHub Actions ID-token request URL; a fresh assertion is fetched on every token refresh."))
            .attr(s("oidc_request_token", "Bearer token for `oidc_request_url`.").sensitive())
            .attr(b("use_msi", "Authenticate with a managed identity."))
            .attr(b("use_cli", "Authenticate with the Azure CLI's login. Default `true`."))
            .attr(s("environment", "Azure cloud: `public` (default), `usgovernment` or `china`."))
            .attr(s("arm_endpoint", "Override the Resource Manager endpoint (for example the armsim simulator or Azure Stack). HTTPS only, except loopback."))
            .attr(s("authority_host", "Override the Entra ID authority host. HTTPS only, except loopback."))
            .attr(s("ca_certificate_file", "PEM file with an extra CA certificate to trust (armsim, TLS-inspecting proxies)."))
            .attr(
                Attribute::optional("default_tags", Type::map(Type::String))
                    .describe("Tags merged into every resource's tags (resource tags win). trench's conventional tags are `owner`, `environment`, `cost-center` and `purpose`."),
            )
            .attr(
                Attribute::optional("max_parallel_requests", Type::Number)
                    .describe(&format!("Upper bound on concurrent ARM requests from this provider, 1 to 256. Default {DEFAULT_MAX_PARALLEL_REQUESTS}.")),
            ),
    )
}

#[derive(Deserialize)]
struct Raw {
    subscription_id: Val<String>,
    tenant_id: Val<String>,
    client_id: Val<String>,
    client_secret: Val<String>,
    use_oidc: Val<bool>,
    oidc_token: Val<String>,
    oidc_token_file_path: Val<String>,
    oidc_request_url: Val<String>,
    oidc_request_token: Val<String>,
    use_msi: Val<bool>,
    use_cli: Val<bool>,
    environment: Val<String>,
    arm_endpoint: Val<String>,
    authority_host: Val<String>,
    ca_certificate_file: Val<String>,
    default_tags: Val<BTreeMap<String, Val<String>>>,
    max_parallel_requests: Val<f64>,
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok() && s.len() == 36
}

/// Checks an endpoint URL: absolute, HTTPS, or plain HTTP to loopback only.
pub fn check_endpoint(url: &str) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").ok_or("must be an absolute URL such as https://management.azure.com/")?;
    let hostport = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if let Some(h) = hostport.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        hostport.rsplit_once(':').map_or(hostport, |(h, _)| h)
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" => {
            let loopback = host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback { Ok(()) } else { Err(format!("uses plain HTTP to {host}; only HTTPS is allowed except to loopback")) }
        }
        other => Err(format!("has scheme {other:?}; use https")),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" | "" => Some(false),
        _ => None,
    }
}

/// Validates the attributes set in configuration (ValidateProviderConfig).
/// Unknown values are skipped: they are checked again at configure time.
pub fn validate(config: &Value) -> Diagnostics {
    match from_value::<Raw>(config) {
        Ok(raw) => check(&raw, &|_| None, false).err().unwrap_or_default(),
        Err(e) => e.into(),
    }
}

/// Builds the configuration, applying environment fallbacks through `env`.
pub fn configure(config: &Value, env: &dyn Fn(&str) -> Option<String>) -> Result<ProviderConfig, Diagnostics> {
    let raw = from_value::<Raw>(config).map_err(Diagnostics::from)?;
    check(&raw, env, true)
}

impl ProviderConfig {
    /// The ARM client's settings for this configuration.
    pub fn arm_settings(&self, terraform_version: &str) -> Settings {
        let mut options = ClientOptions::scaled(self.retry_base_delay, self.poll_interval);
        options.max_parallel_requests = self.max_parallel_requests as usize;
        Settings {
            endpoint: self.arm_endpoint.clone(),
            cloud: self.environment,
            credentials: self.credentials.clone(),
            extra_ca_pem: self.ca_certificate_pem.clone(),
            user_agent: format!("terraform-provider-trench/{} terraform/{terraform_version}", crate::VERSION),
            options,
        }
    }
}

/// What every resource call gets once the provider block is configured.
#[derive(Debug)]
pub struct Session {
    /// The validated provider configuration (environment fallbacks applied).
    pub config: ProviderConfig,
    /// The Terraform version that configured us.
    pub terraform_version: String,
    /// The ARM client (credentials are only used when a request is made).
    pub arm: Arc<ArmClient>,
}

/// The `provider "trench"` block.
pub struct Block;

#[async_trait]
impl ProviderBlock for Block {
    fn schema(&self) -> Schema {
        schema()
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        validate(config)
    }
    async fn configure(&self, config: &Value, terraform_version: &str) -> Result<ProviderData, Diagnostics> {
        let env = Environment::capture();
        let config = configure(config, &|k| env.get(k))?;
        let arm = ArmClient::connect(config.arm_settings(terraform_version))
            .map_err(|e| Diagnostics::error("Cannot set up the Azure client", e))?;
        tracing::debug!(arm_endpoint = %config.arm_endpoint, "Azure client ready");
        Ok(Arc::new(Session { config, terraform_version: terraform_version.to_owned(), arm: Arc::new(arm) }))
    }
}

fn check(raw: &Raw, env: &dyn Fn(&str) -> Option<String>, resolve: bool) -> Result<ProviderConfig, Diagnostics> {
    let mut d = Diagnostics::new();
    // The value of an attribute, or its environment fallback, with where it came from.
    let pick = |attr: &str, v: &Val<String>| -> Option<(String, String)> {
        match v {
            Val::Known(s) => Some((s.clone(), format!("`{attr}`"))),
            Val::Unknown => None,
            Val::Null if resolve => {
                env_names(attr).iter().find_map(|e| env(e).filter(|v| !v.is_empty()).map(|v| (v, format!("environment variable {e}"))))
            }
            Val::Null => None,
        }
    };
    let pick_bool = |attr: &str, v: &Val<bool>, d: &mut Diagnostics| -> Option<bool> {
        match v {
            Val::Known(b) => Some(*b),
            Val::Unknown => None,
            Val::Null if resolve => env_names(attr).iter().find_map(|e| env(e).map(|s| (e, s))).and_then(|(e, s)| {
                let b = parse_bool(&s);
                if b.is_none() {
                    d.add_attr_error(AttrPath::root(attr), "Invalid boolean", format!("{e}={s:?} is not true or false."));
                }
                b
            }),
            Val::Null => None,
        }
    };

    let uuid_attr = |attr: &str, v: &Val<String>, d: &mut Diagnostics| -> Option<String> {
        let (s, from) = pick(attr, v)?;
        if !is_uuid(&s) {
            d.add_attr_error(
                AttrPath::root(attr),
                format!("Invalid {attr}"),
                format!("{from} must be a UUID such as 00000000-0000-0000-0000-000000000000; got {s:?}."),
            );
        }
        Some(s)
    };
    let subscription_id = uuid_attr("subscription_id", &raw.subscription_id, &mut d);
    let tenant_id = uuid_attr("tenant_id", &raw.tenant_id, &mut d);
    let client_id = uuid_attr("client_id", &raw.client_id, &mut d);

    let environment = match pick("environment", &raw.environment) {
        Some((s, from)) => CloudEnvironment::parse(&s).unwrap_or_else(|| {
            d.add_attr_error(
                AttrPath::root("environment"),
                "Unknown Azure environment",
                format!("{from} is {s:?}; use one of \"public\", \"usgovernment\" or \"china\"."),
            );
            CloudEnvironment::Public
        }),
        None => CloudEnvironment::Public,
    };

    let endpoint = |attr: &str, v: &Val<String>, default: &str, d: &mut Diagnostics| -> String {
        match pick(attr, v) {
            Some((s, from)) => {
                if let Err(why) = check_endpoint(&s) {
                    d.add_attr_error(AttrPath::root(attr), format!("Invalid {attr}"), format!("{from} ({s:?}) {why}."));
                }
                if s.ends_with('/') { s } else { format!("{s}/") }
            }
            None => default.to_owned(),
        }
    };
    let arm_endpoint = endpoint("arm_endpoint", &raw.arm_endpoint, environment.arm_endpoint(), &mut d);
    let authority_host = endpoint("authority_host", &raw.authority_host, environment.authority_host(), &mut d);

    let mut ca_certificate_pem = None;
    let ca_certificate_file = pick("ca_certificate_file", &raw.ca_certificate_file).map(|(path, from)| {
        if path.trim().is_empty() {
            d.add_attr_error(AttrPath::root("ca_certificate_file"), "Empty CA certificate path", format!("{from} is empty."));
        } else if resolve {
            match std::fs::read_to_string(&path) {
                Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => ca_certificate_pem = Some(pem.into_bytes()),
                Ok(_) => d.add_attr_error(
                    AttrPath::root("ca_certificate_file"),
                    "Not a PEM certificate",
                    format!("{from} ({path}) holds no PEM certificate."),
                ),
                Err(e) => {
                    d.add_attr_error(AttrPath::root("ca_certificate_file"), "Cannot read CA certificate", format!("{from} ({path}): {e}."))
                }
            }
        }
        path
    });

    if let Some((s, from)) = pick("oidc_request_url", &raw.oidc_request_url)
        && let Err(why) = check_endpoint(&s)
    {
        d.add_attr_error(AttrPath::root("oidc_request_url"), "Invalid oidc_request_url", format!("{from} {why}."));
    }

    let mut default_tags = BTreeMap::new();
    if let Val::Known(tags) = &raw.default_tags {
        for (k, v) in tags {
            let path = AttrPath::root("default_tags").key(k);
            if let Err(why) = crate::conventions::check_tag(k, v.known().map(String::as_str).unwrap_or("")) {
                d.add_attr_error(path, "Invalid tag", why);
            }
            if let Val::Known(v) = v {
                default_tags.insert(k.clone(), v.clone());
            }
        }
    }

    let max_parallel_requests = match &raw.max_parallel_requests {
        Val::Known(n) if n.fract() != 0.0 || !(1.0..=256.0).contains(n) => {
            d.add_attr_error(
                AttrPath::root("max_parallel_requests"),
                "Invalid max_parallel_requests",
                format!("Must be a whole number from 1 to 256; got {n}."),
            );
            DEFAULT_MAX_PARALLEL_REQUESTS
        }
        Val::Known(n) => *n as u32,
        _ => DEFAULT_MAX_PARALLEL_REQUESTS,
    };

    let millis = |key: &str| -> Option<Duration> {
        let (name, v) = env_names(key).iter().find_map(|n| env(n).map(|v| (*n, v)))?;
        match v.trim().parse::<u64>() {
            Ok(ms) => Some(Duration::from_millis(ms)),
            Err(_) => {
                tracing::warn!(variable = name, "ignored: not a number of milliseconds");
                None
            }
        }
    };
    let secret = |attr: &str, v: &Val<String>| pick(attr, v).map(|(s, _)| Secret::new(s));
    let cfg = ProviderConfig {
        subscription_id,
        credentials: Credentials {
            tenant_id,
            client_id,
            client_secret: secret("client_secret", &raw.client_secret),
            use_oidc: pick_bool("use_oidc", &raw.use_oidc, &mut d).unwrap_or(false),
            oidc_token: secret("oidc_token", &raw.oidc_token),
            oidc_token_file_path: pick("oidc_token_file_path", &raw.oidc_token_file_path).map(|p| p.0),
            oidc_request_url: pick("oidc_request_url", &raw.oidc_request_url).map(|p| p.0),
            oidc_request_token: secret("oidc_request_token", &raw.oidc_request_token),
            use_msi: pick_bool("use_msi", &raw.use_msi, &mut d).unwrap_or(false),
            use_cli: pick_bool("use_cli", &raw.use_cli, &mut d).unwrap_or(true),
            authority_host,
        },
        environment,
        arm_endpoint,
        ca_certificate_file,
        ca_certificate_pem,
        default_tags,
        max_parallel_requests,
        retry_base_delay: if resolve { millis(RETRY_BASE_DELAY) } else { None },
        poll_interval: if resolve { millis(POLL_INTERVAL) } else { None },
    };
    if d.has_errors() { Err(d) } else { Ok(cfg) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut m: BTreeMap<String, Value> = schema().block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
        for (k, v) in pairs {
            m.insert((*k).to_owned(), v.clone());
        }
        Value::Object(m)
    }

    fn errors_at(d: &Diagnostics) -> Vec<String> {
        d.iter().filter_map(|x| x.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn explicit_values_win_over_environment() {
        let env = |k: &str| (k == "ARM_SUBSCRIPTION_ID").then(|| "11111111-1111-1111-1111-111111111111".to_owned());
        let c = configure(&config(&[("subscription_id", Value::string("22222222-2222-2222-2222-222222222222"))]), &env).unwrap();
        assert_eq!(c.subscription_id.as_deref(), Some("22222222-2222-2222-2222-222222222222"));
        let c = configure(&config(&[]), &env).unwrap();
        assert_eq!(c.subscription_id.as_deref(), Some("11111111-1111-1111-1111-111111111111"));
        assert_eq!(c.arm_endpoint, "https://management.azure.com/");
        assert!(c.credentials.use_cli, "azurerm's default");
    }

    #[test]
    fn fallback_chains_follow_azurerm_order() {
        let env = |k: &str| match k {
            "ACTIONS_ID_TOKEN_REQUEST_URL" => Some("https://token.actions.example/x".to_owned()),
            "AZURE_FEDERATED_TOKEN_FILE" => Some("/var/run/token".to_owned()),
            _ => None,
        };
        let c = configure(&config(&[]), &env).unwrap();
        assert_eq!(c.credentials.oidc_request_url.as_deref(), Some("https://token.actions.example/x"));
        assert_eq!(c.credentials.oidc_token_file_path.as_deref(), Some("/var/run/token"));
    }

    #[test]
    fn bad_values_are_reported_on_their_attributes() {
        let d = validate(&config(&[
            ("subscription_id", Value::string("not-a-uuid")),
            ("environment", Value::string("mars")),
            ("arm_endpoint", Value::string("http://arm.example.com/")),
            ("max_parallel_requests", Value::Number(trench_plugin::value::Number::Int(0))),
        ]));
        assert_eq!(errors_at(&d), vec!["subscription_id", "environment", "arm_endpoint", "max_parallel_requests"]);
    }

    #[test]
    fn unknown_values_are_not_validated_yet() {
        assert!(validate(&config(&[("subscription_id", Value::unknown())])).is_empty());
    }

    #[test]
    fn bad_environment_variables_name_the_variable() {
        let env = |k: &str| (k == "ARM_TENANT_ID").then(|| "nope".to_owned());
        let d = configure(&config(&[]), &env).unwrap_err();
        assert!(d.0[0].detail.contains("environment variable ARM_TENANT_ID"), "{:?}", d);
    }

    #[test]
    fn plain_http_is_allowed_only_to_loopback() {
        assert!(check_endpoint("http://127.0.0.1:8443/").is_ok());
        assert!(check_endpoint("http://[::1]:80").is_ok());
        assert!(check_endpoint("http://localhost/").is_ok());
        assert!(check_endpoint("https://management.azure.com").is_ok());
        assert!(check_endpoint("http://10.0.0.1/").is_err());
        assert!(check_endpoint("ftp://x/").is_err());
        assert!(check_endpoint("management.azure.com").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let c = configure(&config(&[("client_secret", Value::string("hunter2-very-secret"))]), &|_| None).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}

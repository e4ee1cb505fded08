//! The ARM client: authentication, the request pipeline (retries,
//! throttling, contention), long-running operations, typed resource ids and
//! the api-version table. Resources never build HTTP requests themselves.

// ArmError carries the whole ARM error tree and ids by design; it is only
// built on failures, so its size costs nothing on the happy path.
#![allow(clippy::result_large_err)]

pub mod api_versions;
pub mod auth;
pub mod client;
pub mod error;
pub mod id;
pub mod locks;
pub mod lro;
pub mod throttle;

pub use client::{ArmClient, ClientOptions, Op};
pub use error::{ArmError, ArmErrorKind};
pub use id::ResourceId;

use crate::config::ProviderConfig;

/// Builds the HTTP client: rustls, the system roots plus the configured CA.
pub fn http_client(cfg: &ProviderConfig) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(20))
        .timeout(std::time::Duration::from_secs(120))
        .pool_idle_timeout(std::time::Duration::from_secs(60));
    if let Some(path) = &cfg.ca_certificate_file {
        let pem = std::fs::read(path).map_err(|e| format!("reading ca_certificate_file {path}: {e}"))?;
        let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| format!("ca_certificate_file {path}: {e}"))?;
        b = b.tls_certs_merge([cert]);
    }
    b.build().map_err(|e| format!("building the HTTP client: {e}"))
}

/// The token scope for the configured ARM endpoint: the public clouds'
/// documented audiences, or `<endpoint>/.default` for custom endpoints.
pub fn scope_for(cfg: &ProviderConfig) -> String {
    if cfg.arm_endpoint == cfg.environment.arm_endpoint() {
        format!("{}.default", cfg.environment.arm_endpoint())
    } else {
        format!("{}/.default", cfg.arm_endpoint.trim_end_matches('/'))
    }
}

/// The client for a configured provider.
pub fn client_for(cfg: &ProviderConfig, terraform_version: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<ArmClient, String> {
    let mut options = ClientOptions::from_env(env);
    options.max_parallel_requests = cfg.max_parallel_requests as usize;
    client_with_options(cfg, terraform_version, options)
}

/// The client with explicit options (benchmarks, tests).
pub fn client_with_options(cfg: &ProviderConfig, terraform_version: &str, options: ClientOptions) -> Result<ArmClient, String> {
    let http = http_client(cfg)?;
    let credential = auth::credential(cfg, &http);
    let endpoint = reqwest::Url::parse(&cfg.arm_endpoint).map_err(|e| format!("arm_endpoint {}: {e}", cfg.arm_endpoint))?;
    let user_agent = format!("terraform-provider-trench/{} terraform/{terraform_version}", crate::VERSION);
    Ok(ArmClient::new(http, endpoint, scope_for(cfg), credential, user_agent, options))
}

//! An Azure Resource Manager client: credentials (azure_identity), the
//! request pipeline (retries, throttling, contention), long-running
//! operations, reconciling one object, typed resource ids and the
//! api-version table. It knows nothing of Terraform; `trench-provider`'s
//! resources reach Azure only through it.
#![warn(missing_docs)]
// ArmError carries the whole ARM error tree and ids by design; it is only
// built on failures, so its size costs nothing on the happy path.
#![allow(clippy::result_large_err)]

pub mod api_versions;
pub mod auth;
pub mod client;
mod cloud;
pub mod error;
pub mod id;
pub mod locks;
pub mod lro;
mod op;
pub mod reconcile;
mod response;
mod secret;
pub mod throttle;
mod verbs;

pub use auth::Credentials;
pub use client::{ArmClient, ClientOptions};
pub use cloud::CloudEnvironment;
pub use error::{ArmError, ArmErrorKind};
pub use id::ResourceId;
pub use op::Op;
pub use response::Response;
pub use secret::Secret;
pub use verbs::Backoff;

/// The pinned api-version of each of these resource types (for showing
/// them: the client picks versions itself).
pub fn pinned_api_versions(types: &[&str]) -> std::collections::BTreeMap<String, String> {
    types.iter().map(|t| ((*t).to_owned(), api_versions::for_type(t).unwrap_or("").to_owned())).collect()
}

/// Everything a client needs: where ARM is, who to be, what to trust.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The Resource Manager endpoint (`https://management.azure.com/`).
    pub endpoint: String,
    /// The cloud, for the token audience of its own endpoint.
    pub cloud: CloudEnvironment,
    /// How to authenticate.
    pub credentials: Credentials,
    /// PEM of an extra CA certificate to trust (a simulator, a TLS-inspecting proxy).
    pub extra_ca_pem: Option<Vec<u8>>,
    /// The `User-Agent` of every request.
    pub user_agent: String,
    /// Retries, polling and parallelism.
    pub options: ClientOptions,
}

/// Builds the HTTP client: rustls, the system roots plus the extra CA.
pub fn http_client(extra_ca_pem: Option<&[u8]>) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(20))
        .timeout(std::time::Duration::from_secs(120))
        .pool_idle_timeout(std::time::Duration::from_secs(60));
    if let Some(pem) = extra_ca_pem {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|e| format!("the extra CA certificate: {e}"))?;
        b = b.tls_certs_merge([cert]);
    }
    b.build().map_err(|e| format!("building the HTTP client: {e}"))
}

/// The token scope for an ARM endpoint: the public clouds' documented
/// audiences, or `<endpoint>/.default` for custom endpoints.
pub fn scope_for(endpoint: &str, cloud: CloudEnvironment) -> String {
    if endpoint == cloud.arm_endpoint() {
        format!("{}.default", cloud.arm_endpoint())
    } else {
        format!("{}/.default", endpoint.trim_end_matches('/'))
    }
}

impl ArmClient {
    /// The client for these settings. Credentials are only used when a
    /// request is made.
    pub fn connect(settings: Settings) -> Result<ArmClient, String> {
        let http = http_client(settings.extra_ca_pem.as_deref())?;
        let credential = auth::credential(&settings.credentials, &http);
        let endpoint = reqwest::Url::parse(&settings.endpoint).map_err(|e| format!("ARM endpoint {}: {e}", settings.endpoint))?;
        let scope = scope_for(&settings.endpoint, settings.cloud);
        Ok(ArmClient::new(http, endpoint, scope, credential, settings.user_agent, settings.options))
    }
}

//! Test support: the shared armsim process harness plus an ARM client
//! configured for it.
#![allow(dead_code)]

use std::sync::Arc;

use serde_json::Value as Json;
use trench_provider::arm::{self, ArmClient};
use trench_provider::config::{CloudEnvironment, ProviderConfig, Secret};

pub use trench_e2e::sim::Sim;

/// Provider configuration with the simulator's client secret.
pub fn config(sim: &Sim) -> ProviderConfig {
    ProviderConfig {
        subscription_id: Some(sim.subscription()),
        tenant_id: Some(sim.field("tenant_id")),
        client_id: Some(sim.field("client_id")),
        client_secret: Some(Secret::new(sim.field("client_secret"))),
        use_oidc: false,
        oidc_token: None,
        oidc_token_file_path: None,
        oidc_request_url: None,
        oidc_request_token: None,
        use_msi: false,
        use_cli: false,
        environment: CloudEnvironment::Public,
        arm_endpoint: format!("{}/", sim.endpoint.trim_end_matches('/')),
        authority_host: format!("{}/", sim.endpoint.trim_end_matches('/')),
        ca_certificate_file: Some(sim.ca_file()),
        default_tags: Default::default(),
        max_parallel_requests: 32,
    }
}

/// A client with fast retries for tests.
pub fn client_with(cfg: &ProviderConfig) -> Arc<ArmClient> {
    let env = |k: &str| match k {
        "TRENCH_RETRY_BASE_DELAY_MS" | "TRENCH_POLL_INTERVAL_MS" => Some("20".to_owned()),
        _ => None,
    };
    Arc::new(arm::client_for(cfg, "1.11.4", &env).unwrap())
}

/// The default client for a simulator.
pub fn client(sim: &Sim) -> Arc<ArmClient> {
    client_with(&config(sim))
}

/// An unsigned-but-well-formed JWT like a GitHub OIDC token.
pub fn fake_oidc_jwt(subject: &str) -> String {
    use base64::Engine as _;
    let b64 = |j: Json| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(j.to_string());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    format!(
        "{}.{}.{}",
        b64(serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        b64(
            serde_json::json!({"iss": "https://token.actions.githubusercontent.com", "sub": subject, "aud": "api://AzureADTokenExchange", "iat": now, "exp": now + 300})
        ),
        "c2lnbmF0dXJl"
    )
}

//! Test support: the shared armsim process harness plus an ARM client
//! configured for it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;
use trench_arm::{ArmClient, ClientOptions, CloudEnvironment, Credentials, Secret, Settings};

pub use trench_e2e::sim::Sim;

/// Client settings with the simulator's client secret and fast retries.
pub fn config(sim: &Sim) -> Settings {
    let endpoint = format!("{}/", sim.endpoint.trim_end_matches('/'));
    Settings {
        credentials: Credentials {
            tenant_id: Some(sim.field("tenant_id")),
            client_id: Some(sim.field("client_id")),
            client_secret: Some(Secret::new(sim.field("client_secret"))),
            authority_host: endpoint.clone(),
            ..Credentials::default()
        },
        endpoint,
        cloud: CloudEnvironment::Public,
        extra_ca_pem: Some(std::fs::read(sim.ca_file()).expect("the simulator's CA")),
        user_agent: "trench-arm-tests".into(),
        options: ClientOptions::scaled(Some(Duration::from_millis(20)), Some(Duration::from_millis(20))),
    }
}

/// A client for these settings.
pub fn client_with(cfg: &Settings) -> Arc<ArmClient> {
    Arc::new(ArmClient::connect(cfg.clone()).unwrap())
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

//! Credentials, chosen in azurerm's documented order:
//!
//! 1. client secret (`client_id` + `client_secret`);
//! 2. OIDC (`use_oidc`): an explicit `oidc_token`, an `oidc_token_file_path`,
//!    or GitHub Actions' `oidc_request_url` + `oidc_request_token`; the
//!    assertion is fetched fresh on every token refresh, so applies longer
//!    than its few minutes' lifetime keep working;
//! 3. managed identity (`use_msi`);
//! 4. the Azure CLI's login (`use_cli`, on by default).
//!
//! The first one that yields a token is kept for the session; when none
//! does, the error lists each one and why it was skipped or failed.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, Secret as AzSecret, TokenCredential, TokenRequestOptions};
use azure_core::http::ClientOptions;
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
};
use tokio::sync::RwLock;

use crate::Secret;

/// How to authenticate, in azurerm's terms; which credentials are tried
/// follows from what is set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Credentials {
    /// Entra tenant.
    pub tenant_id: Option<String>,
    /// Service principal or user-assigned identity client id.
    pub client_id: Option<String>,
    /// Client secret.
    pub client_secret: Option<Secret>,
    /// Use OIDC federation.
    pub use_oidc: bool,
    /// An explicit OIDC token.
    pub oidc_token: Option<Secret>,
    /// A file holding the OIDC token (re-read on every token refresh).
    pub oidc_token_file_path: Option<String>,
    /// GitHub Actions' ID-token request URL.
    pub oidc_request_url: Option<String>,
    /// GitHub Actions' ID-token request bearer token.
    pub oidc_request_token: Option<Secret>,
    /// Use a managed identity.
    pub use_msi: bool,
    /// Use the Azure CLI's login.
    pub use_cli: bool,
    /// The Entra authority host.
    pub authority_host: String,
}

/// Audience GitHub's ID token must carry for Entra's token exchange.
pub const OIDC_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A credential that could be tried, or why it was not.
enum Candidate {
    Ready { name: &'static str, credential: Arc<dyn TokenCredential> },
    Skipped { name: &'static str, why: String },
}

/// The credential chain, with one cached token: not every credential caches
/// (the Azure CLI one spawns `az` per call), and one refresh at a time
/// keeps a burst of requests from fetching a token each.
pub struct ChainedCredential {
    candidates: Vec<Candidate>,
    chosen: RwLock<Option<(usize, &'static str)>>,
    cached: tokio::sync::Mutex<Option<AccessToken>>,
}

/// Tokens are refreshed this long before they expire.
const REFRESH_MARGIN: time::Duration = time::Duration::minutes(5);

impl fmt::Debug for ChainedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .candidates
            .iter()
            .map(|c| match c {
                Candidate::Ready { name, .. } => (*name).to_owned(),
                Candidate::Skipped { name, .. } => format!("{name} (skipped)"),
            })
            .collect();
        f.debug_struct("ChainedCredential").field("candidates", &names).finish()
    }
}

fn client_options(transport: &reqwest::Client, authority_host: &str) -> ClientOptions {
    let mut custom = azure_core::cloud::CustomConfiguration::default();
    custom.authority_host = authority_host.trim_end_matches('/').to_owned();
    ClientOptions {
        transport: Some(azure_core::http::Transport::new(Arc::new(transport.clone()))),
        cloud: Some(Arc::new(custom.into())),
        ..ClientOptions::default()
    }
}

/// Builds the chain from the settings. `http` carries the trusted CAs.
pub fn credential(cfg: &Credentials, http: &reqwest::Client) -> ChainedCredential {
    let mut out = Vec::new();
    let tenant = cfg.tenant_id.clone();
    let client = cfg.client_id.clone();
    let opts = || client_options(http, &cfg.authority_host);

    // 1. client secret
    out.push(match (&tenant, &client, &cfg.client_secret) {
        (Some(t), Some(c), Some(s)) => match ClientSecretCredential::new(
            t,
            c.clone(),
            AzSecret::new(s.expose().to_owned()),
            Some(ClientSecretCredentialOptions { client_options: opts() }),
        ) {
            Ok(cred) => Candidate::Ready { name: "client secret", credential: cred },
            Err(e) => Candidate::Skipped { name: "client secret", why: e.to_string() },
        },
        (_, _, None) => Candidate::Skipped { name: "client secret", why: "client_secret is not set".into() },
        _ => Candidate::Skipped { name: "client secret", why: "tenant_id and client_id are required with client_secret".into() },
    });

    // 2. OIDC
    out.push(if !cfg.use_oidc {
        Candidate::Skipped { name: "OIDC", why: "use_oidc is false".into() }
    } else {
        let source = if let Some(t) = &cfg.oidc_token {
            Some(AssertionSource::Token(t.clone()))
        } else if let Some(p) = &cfg.oidc_token_file_path {
            Some(AssertionSource::File(p.clone()))
        } else {
            match (&cfg.oidc_request_url, &cfg.oidc_request_token) {
                (Some(u), Some(t)) => Some(AssertionSource::GitHub { url: u.clone(), token: t.clone(), http: http.clone() }),
                _ => None,
            }
        };
        match (&tenant, &client, source) {
            (Some(t), Some(c), Some(src)) => match ClientAssertionCredential::new(
                t.clone(),
                c.clone(),
                Assertion(src),
                Some(ClientAssertionCredentialOptions { client_options: opts() }),
            ) {
                Ok(cred) => Candidate::Ready { name: "OIDC", credential: cred },
                Err(e) => Candidate::Skipped { name: "OIDC", why: e.to_string() },
            },
            (_, _, None) => Candidate::Skipped {
                name: "OIDC",
                why: "no token source: set oidc_token, oidc_token_file_path, or oidc_request_url with oidc_request_token (GitHub Actions sets ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN when the job has `id-token: write`)".into(),
            },
            _ => Candidate::Skipped { name: "OIDC", why: "tenant_id and client_id are required with use_oidc".into() },
        }
    });

    // 3. managed identity
    out.push(if !cfg.use_msi {
        Candidate::Skipped { name: "managed identity", why: "use_msi is false".into() }
    } else {
        let options = ManagedIdentityCredentialOptions {
            user_assigned_id: client.clone().map(UserAssignedId::ClientId),
            client_options: client_options(http, &cfg.authority_host),
        };
        match ManagedIdentityCredential::new(Some(options)) {
            Ok(cred) => Candidate::Ready { name: "managed identity", credential: cred },
            Err(e) => Candidate::Skipped { name: "managed identity", why: e.to_string() },
        }
    });

    // 4. Azure CLI
    out.push(if !cfg.use_cli {
        Candidate::Skipped { name: "Azure CLI", why: "use_cli is false".into() }
    } else {
        let options = AzureCliCredentialOptions { tenant_id: tenant.clone(), ..AzureCliCredentialOptions::default() };
        match AzureCliCredential::new(Some(options)) {
            Ok(cred) => Candidate::Ready { name: "Azure CLI", credential: cred },
            Err(e) => Candidate::Skipped { name: "Azure CLI", why: e.to_string() },
        }
    });

    ChainedCredential { candidates: out, chosen: RwLock::new(None), cached: tokio::sync::Mutex::new(None) }
}

impl ChainedCredential {
    /// The name of the credential in use, once one has produced a token.
    pub async fn chosen(&self) -> Option<&'static str> {
        self.chosen.read().await.map(|(_, n)| n)
    }

    /// A token for `scope` (the client uses one scope), from the cache while
    /// it is fresh; the error lists every credential tried.
    pub async fn token(&self, scope: &str) -> Result<AccessToken, String> {
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref()
            && t.expires_on - REFRESH_MARGIN > time::OffsetDateTime::now_utc()
        {
            return Ok(t.clone());
        }
        let fresh = self.fetch(scope).await?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    async fn fetch(&self, scope: &str) -> Result<AccessToken, String> {
        if let Some((i, name)) = *self.chosen.read().await
            && let Candidate::Ready { credential, .. } = &self.candidates[i]
        {
            return credential.get_token(&[scope], None).await.map_err(|e| format!("{name}: {}", first_line(&e.to_string())));
        }
        let mut tried = Vec::new();
        for (i, c) in self.candidates.iter().enumerate() {
            match c {
                Candidate::Skipped { name, why } => tried.push(format!("- {name}: skipped, {why}")),
                Candidate::Ready { name, credential } => match credential.get_token(&[scope], None::<TokenRequestOptions>).await {
                    Ok(t) => {
                        tracing::info!(credential = name, "authenticated to Azure");
                        *self.chosen.write().await = Some((i, name));
                        return Ok(t);
                    }
                    Err(e) => tried.push(format!("- {name}: failed, {}", first_line(&e.to_string()))),
                },
            }
        }
        Err(format!("No credential could obtain a token for {scope}. Tried, in order:\n{}", tried.join("\n")))
    }
}

fn first_line(s: &str) -> String {
    // azure_identity errors can carry response bodies; keep them short and
    // never echo request bodies (which could hold a secret).
    s.lines().next().unwrap_or("").chars().take(400).collect()
}

/// Where an OIDC assertion comes from; read afresh every time.
enum AssertionSource {
    Token(Secret),
    File(String),
    GitHub { url: String, token: Secret, http: reqwest::Client },
}

struct Assertion(AssertionSource);

impl fmt::Debug for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match &self.0 {
            AssertionSource::Token(_) => "Assertion(token)",
            AssertionSource::File(_) => "Assertion(file)",
            AssertionSource::GitHub { .. } => "Assertion(github)",
        })
    }
}

fn az_err(msg: String) -> azure_core::Error {
    azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, msg)
}

#[async_trait]
impl ClientAssertion for Assertion {
    async fn secret(&self, _: Option<azure_core::http::ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        match &self.0 {
            AssertionSource::Token(t) => Ok(t.expose().to_owned()),
            AssertionSource::File(p) => tokio::fs::read_to_string(p)
                .await
                .map(|s| s.trim().to_owned())
                .map_err(|e| az_err(format!("reading the OIDC token file {p}: {e}"))),
            AssertionSource::GitHub { url, token, http } => {
                let full = if url.contains("audience=") {
                    url.clone()
                } else {
                    format!("{url}{}audience={OIDC_AUDIENCE}", if url.contains('?') { '&' } else { '?' })
                };
                let resp = http
                    .get(&full)
                    .bearer_auth(token.expose())
                    .header("Accept", "application/json")
                    .send()
                    .await
                    .map_err(|e| az_err(format!("requesting a GitHub OIDC token: {e}")))?;
                let status = resp.status();
                let body: serde_json::Value = resp.json().await.map_err(|e| az_err(format!("GitHub OIDC token response: {e}")))?;
                match body.get("value").and_then(|v| v.as_str()) {
                    Some(v) if status.is_success() => Ok(v.to_owned()),
                    _ => Err(az_err(format!("GitHub OIDC token request returned HTTP {status} without a token"))),
                }
            }
        }
    }
}

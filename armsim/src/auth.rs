//! The Entra token endpoint (client secret and JWT client assertion) and bearer-token checks on ARM routes.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::error::ArmError;
use crate::reply::Reply;
use crate::sim::Sim;

/// Claims of tokens this simulator issues.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub appid: String,
    pub appidacr: String,
    pub idtyp: String,
    pub oid: String,
    pub sub: String,
    pub tid: String,
    pub uti: String,
    pub ver: String,
}

/// HS256 keys for issued tokens.
pub(crate) struct Signer {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
}

impl Signer {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the simulator's clock, which may be a manual one.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        Signer { enc: EncodingKey::from_secret(secret), dec: DecodingKey::from_secret(secret), validation }
    }
    pub fn sign(&self, c: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), c, &self.enc).expect("HS256 signing cannot fail")
    }
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.dec, &self.validation).ok().map(|d| d.claims)
    }
}

/// The object id of a configured service principal (stable: derived from its client id).
pub(crate) fn principal_oid(client_id: &str) -> String {
    crate::ids::guid(0, &["service-principal-object-id", &client_id.to_ascii_lowercase()])
}

/// Checks `Authorization` on an ARM request.
pub(crate) fn check_bearer(sim: &Sim, headers: &HeaderMap, base_url: &str) -> Result<Claims, Reply> {
    let tenant = &sim.cfg().tenant_id;
    let fail = |code: &str, msg: String, desc: &str| {
        let mut r: Reply = ArmError::new(401, code, msg).into();
        r.push_header(
            "www-authenticate",
            format!("Bearer authorization_uri=\"{base_url}/{tenant}\", error=\"invalid_token\", error_description=\"{desc}\""),
        );
        r
    };
    let Some(h) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(fail(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".into(),
            "The authentication failed because of missing 'Authorization' header.",
        ));
    };
    let Some(token) = h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")) else {
        return Err(fail(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.".into(),
            "The access token is in an invalid format.",
        ));
    };
    let Some(claims) = sim.inner.signer.verify(token.trim()) else {
        return Err(fail(
            "InvalidAuthenticationToken",
            "The access token is invalid.".into(),
            "The access token signature or format is invalid.",
        ));
    };
    let now = sim.now_ms();
    if claims.exp * 1000 <= now {
        return Err(fail(
            "ExpiredAuthenticationToken",
            format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                rfc3339(claims.exp * 1000),
                rfc3339(now)
            ),
            "The access token has expired.",
        ));
    }
    if !claims.tid.eq_ignore_ascii_case(tenant) {
        return Err(fail(
            "InvalidAuthenticationTokenTenant",
            format!("The access token is from the wrong issuer '{}'. It must match the tenant '{tenant}'.", claims.iss),
            "The access token is from the wrong tenant.",
        ));
    }
    Ok(claims)
}

fn entra_error(sim: &Sim, status: u16, error: &str, code: u32, text: String) -> Response {
    let now = sim.now_ms();
    let n = sim.next_request_number();
    let trace = crate::ids::request_guid(sim.cfg().seed ^ 0x5eed, n);
    let corr = crate::ids::request_guid(sim.cfg().seed ^ 0xc0, n);
    let ts = rfc3339(now);
    let desc = format!("AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {corr} Timestamp: {ts}");
    Reply::json(
        status,
        &json!({
            "error": error,
            "error_description": desc,
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
    .into_response()
}

fn host_of(headers: &HeaderMap) -> String {
    headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_string()
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(State(sim): State<Sim>, Path(tenant): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    sim.with_stats(|s| s.token_requests += 1);
    let form: HashMap<String, String> = match serde_urlencoded_parse(&body) {
        Some(f) => f,
        None => {
            return entra_error(&sim, 400, "invalid_request", 900144, "The request body must be form-encoded.".into());
        }
    };
    let cfg = sim.cfg();
    if !tenant.eq_ignore_ascii_case(&cfg.tenant_id) {
        return entra_error(
            &sim,
            400,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let missing = |p: &str| {
        entra_error(&sim, 400, "invalid_request", 900144, format!("The request body must contain the following parameter: '{p}'."))
    };
    let Some(grant) = form.get("grant_type") else { return missing("grant_type") };
    if grant != "client_credentials" {
        return entra_error(&sim, 400, "unsupported_grant_type", 70003, format!("The app requested an unsupported grant type '{grant}'."));
    }
    let Some(client_id) = form.get("client_id").map(|c| c.to_ascii_lowercase()) else { return missing("client_id") };
    let Some(scope) = form.get("scope") else { return missing("scope") };
    let host = host_of(&headers);
    let Some(resource) = scope.strip_suffix("/.default") else {
        return entra_error(
            &sim,
            400,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    let r = resource.trim_end_matches('/').to_ascii_lowercase();
    let accepted = ["https://management.azure.com", "https://management.core.windows.net"];
    let own = format!("https://{}", host.to_ascii_lowercase());
    if !accepted.contains(&r.as_str()) && r != own && !r.starts_with("https://127.0.0.1:") && !r.starts_with("https://localhost:") {
        return entra_error(
            &sim,
            400,
            "invalid_resource",
            500011,
            format!("The resource principal named {resource} was not found in the tenant named {}.", cfg.tenant_id),
        );
    }
    let aud = format!("{}/", resource.trim_end_matches('/'));

    let principal = cfg.effective_principals().into_iter().find(|p| p.client_id.eq_ignore_ascii_case(&client_id));
    let oid;
    if let Some(secret) = form.get("client_secret") {
        let Some(p) = principal else { return unknown_app(&sim, &client_id) };
        if p.client_secret != *secret {
            return entra_error(
                &sim,
                401,
                "invalid_client",
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                ),
            );
        }
        oid = principal_oid(&client_id);
    } else if let Some(assertion) = form.get("client_assertion") {
        sim.with_stats(|s| {
            s.client_assertions += 1;
            s.distinct_assertions.insert(crate::ids::sha256_hex(assertion.as_bytes()));
        });
        if form.get("client_assertion_type").map(String::as_str) != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
            return entra_error(
                &sim,
                400,
                "invalid_request",
                700023,
                "Client assertion type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.".into(),
            );
        }
        let claims: Value = match jsonwebtoken::dangerous::insecure_decode::<Value>(assertion) {
            Ok(d) => d.claims,
            Err(e) => {
                return entra_error(&sim, 400, "invalid_client", 50027, format!("JWT token is invalid or is malformed ({e})."));
            }
        };
        let now_s = sim.now_ms() / 1000;
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if exp <= now_s {
            return entra_error(
                &sim,
                400,
                "invalid_client",
                700024,
                format!(
                    "Client assertion is not within its valid time range. Current time: {}, expiry time of assertion {}.",
                    rfc3339(now_s * 1000),
                    rfc3339(exp * 1000)
                ),
            );
        }
        let auds: Vec<String> = match claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        };
        if !auds.iter().any(|a| a == "api://AzureADTokenExchange") {
            return entra_error(
                &sim,
                400,
                "invalid_client",
                700212,
                format!("No matching federated identity record found for presented assertion audience '{}'.", auds.join(",")),
            );
        }
        if principal.is_some() {
            oid = principal_oid(&client_id);
        } else {
            let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
            let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
            match crate::types::identity::federated_match(&sim, &client_id, iss, sub) {
                Some(Ok(principal_id)) => oid = principal_id,
                Some(Err(())) => {
                    return entra_error(
                        &sim,
                        400,
                        "invalid_client",
                        70021,
                        format!(
                            "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: 'api://AzureADTokenExchange'."
                        ),
                    );
                }
                None => return unknown_app(&sim, &client_id),
            }
        }
    } else {
        return entra_error(
            &sim,
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into(),
        );
    }
    let now_s = sim.now_ms() / 1000;
    let life = cfg.token_lifetime_secs as i64;
    let n = sim.next_request_number();
    let claims = Claims {
        aud,
        iss: format!("https://sts.windows.net/{}/", cfg.tenant_id),
        iat: now_s,
        nbf: now_s,
        exp: now_s + life,
        appid: client_id,
        appidacr: "1".into(),
        idtyp: "app".into(),
        oid: oid.clone(),
        sub: oid,
        tid: cfg.tenant_id.clone(),
        uti: crate::ids::request_guid(cfg.seed ^ 0x7417, n),
        ver: "1.0".into(),
    };
    let token = sim.inner.signer.sign(&claims);
    Reply::json(200, &json!({"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": token}))
        .header("cache-control", "no-store, no-cache")
        .header("pragma", "no-cache")
        .into_response()
}

fn unknown_app(sim: &Sim, client_id: &str) -> Response {
    entra_error(
        sim,
        400,
        "unauthorized_client",
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
            sim.cfg().tenant_id
        ),
    )
}

fn serde_urlencoded_parse(body: &[u8]) -> Option<HashMap<String, String>> {
    let s = std::str::from_utf8(body).ok()?;
    let mut out = HashMap::new();
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |x: &str| percent_encoding::percent_decode_str(&x.replace('+', " ")).decode_utf8().ok().map(|c| c.into_owned());
        out.insert(dec(k)?, dec(v)?);
    }
    Some(out)
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(sim): State<Sim>, Path(tenant): Path<String>, headers: HeaderMap) -> Response {
    let base = format!("https://{}", host_of(&headers));
    let tid = &sim.cfg().tenant_id;
    if !tenant.eq_ignore_ascii_case(tid) && tenant != "common" && tenant != "organizations" {
        return entra_error(&sim, 400, "invalid_tenant", 90002, format!("Tenant '{tenant}' not found."));
    }
    Reply::json(
        200,
        &json!({
            "token_endpoint": format!("{base}/{tid}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{base}/{tid}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{base}/{tid}/v2.0"),
            "authorization_endpoint": format!("{base}/{tid}/oauth2/v2.0/authorize"),
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }),
    )
    .into_response()
}

/// `GET /common/discovery/instance` (MSAL instance discovery).
pub(crate) async fn instance_discovery(State(sim): State<Sim>, headers: HeaderMap) -> Response {
    let host = host_of(&headers);
    let tid = &sim.cfg().tenant_id;
    Reply::json(
        200,
        &json!({
            "tenant_discovery_endpoint": format!("https://{host}/{tid}/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }),
    )
    .into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys`: issued tokens are HS256, so there are no public keys.
pub(crate) async fn keys() -> Response {
    Reply::json(200, &json!({"keys": []})).into_response()
}

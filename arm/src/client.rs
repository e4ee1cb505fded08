//! The ARM client: the only place HTTP requests to Azure are built.
//!
//! Every request: a `max_parallel_requests` permit, a token from the
//! subscription's bucket, a bearer token, `User-Agent` and
//! `x-ms-client-request-id`. Responses are classified:
//! - 408, 5xx and connection errors: retried with jittered exponential
//!   backoff, honouring `Retry-After` / `retry-after-ms`;
//! - 429 `RetryableError` and 409 `AnotherOperationInProgress`: contention,
//!   retried patiently without touching the buckets;
//! - other 429s: throttling, the bucket is drained and `Retry-After` obeyed;
//! - 409 `MissingSubscriptionRegistration`: that one namespace is
//!   registered, then the request is retried once.
//!
//! Every wait is bounded by the operation's deadline and ends at once when
//! Terraform calls StopProvider.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode, Url};
use serde_json::Value as Json;
use tokio::sync::Semaphore;

use super::api_versions;
use super::auth::ChainedCredential;
use super::error::{ArmError, ArmErrorKind};
use super::id::ResourceId;
use super::locks::KeyedLocks;
use super::op::Op;
use super::response::{Response, error_of};
use super::throttle::{OpClass, SubscriptionBuckets};

/// Tunables; defaults suit real Azure.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// First backoff delay for transient failures (doubles, with jitter).
    pub retry_base: Duration,
    /// Largest single backoff delay.
    pub retry_max_delay: Duration,
    /// Attempts for transient failures (contention retries until the deadline).
    pub max_attempts: u32,
    /// Poll interval when ARM sends no `Retry-After`.
    pub poll_interval: Duration,
    /// Concurrent requests.
    pub max_parallel_requests: usize,
    /// Client-side token buckets.
    pub throttle: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retry_base: Duration::from_secs(1),
            retry_max_delay: Duration::from_secs(60),
            max_attempts: 10,
            poll_interval: Duration::from_secs(5),
            max_parallel_requests: DEFAULT_MAX_PARALLEL_REQUESTS,
            throttle: true,
        }
    }
}

/// Default for [`ClientOptions::max_parallel_requests`].
pub const DEFAULT_MAX_PARALLEL_REQUESTS: usize = 32;

impl ClientOptions {
    /// The defaults with Azure's timings scaled down (simulators, tests):
    /// backoff starting at `retry_base`, capped at 64 times that, and
    /// polls every `poll_interval` when ARM sends no `Retry-After`.
    pub fn scaled(retry_base: Option<Duration>, poll_interval: Option<Duration>) -> ClientOptions {
        let mut o = ClientOptions::default();
        if let Some(d) = retry_base {
            o.retry_base = d;
            o.retry_max_delay = o.retry_max_delay.min(d * 64).max(d);
        }
        if let Some(d) = poll_interval {
            o.poll_interval = d;
        }
        o
    }
}

/// Counters for benchmarks and the operator summary.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Stats {
    /// Requests sent, by method.
    pub by_method: HashMap<String, u64>,
    /// Retries because of transient failures.
    pub transient_retries: u64,
    /// Retries because of contention.
    pub contention_retries: u64,
    /// 429s received because of throttling.
    pub throttled: u64,
    /// Namespaces registered.
    pub registrations: u64,
}

/// The ARM client. Cheap to share (`Arc`).
pub struct ArmClient {
    http: reqwest::Client,
    pub(crate) endpoint: Url,
    scope: String,
    credential: ChainedCredential,
    user_agent: String,
    pub(crate) options: ClientOptions,
    parallel: Semaphore,
    buckets: Mutex<HashMap<String, Arc<SubscriptionBuckets>>>,
    registered: tokio::sync::Mutex<HashSet<String>>,
    stats: Mutex<Stats>,
    /// Serialises writes per VNet, firewall policy, identity …
    pub locks: KeyedLocks,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient").field("endpoint", &self.endpoint.as_str()).finish()
    }
}

enum Outcome {
    Done(Response),
    Retry { wait: Duration, contention: bool },
    Register(String),
}

impl ArmClient {
    /// A client for `endpoint` authenticating with `credential` for `scope`.
    pub fn new(
        http: reqwest::Client,
        endpoint: Url,
        scope: String,
        credential: ChainedCredential,
        user_agent: String,
        options: ClientOptions,
    ) -> ArmClient {
        ArmClient {
            http,
            endpoint,
            scope,
            credential,
            user_agent,
            parallel: Semaphore::new(options.max_parallel_requests.max(1)),
            options,
            buckets: Mutex::new(HashMap::new()),
            registered: tokio::sync::Mutex::new(HashSet::new()),
            stats: Mutex::new(Stats::default()),
            locks: KeyedLocks::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.stats.lock().expect("stats lock").clone()
    }

    /// The ARM endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Options in effect.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// The URL of a resource at its pinned api-version.
    pub fn url_for(&self, id: &ResourceId, api_version: &str) -> Url {
        let mut url = self.endpoint.clone();
        {
            let mut segs = url.path_segments_mut().expect("endpoint is a base URL");
            segs.pop_if_empty();
            for s in id.to_string().split('/').filter(|s| !s.is_empty()) {
                segs.push(s);
            }
        }
        url.query_pairs_mut().append_pair("api-version", api_version);
        url
    }

    pub(crate) fn api_version(&self, op: &Op, id: &ResourceId) -> Result<&'static str, ArmError> {
        let ty = id.resource_type();
        api_versions::for_type(&ty).ok_or_else(|| ArmError::protocol(op, id, format!("no api-version is pinned for {ty}")))
    }

    pub(crate) fn err(&self, op: &Op, resource: &str, kind: ArmErrorKind, rsp: Option<&Response>) -> ArmError {
        error_of(op, resource, kind, rsp)
    }

    /// Waits `d` unless the deadline or a stop comes first.
    pub(crate) async fn sleep(&self, op: &Op, resource: &str, d: Duration) -> Result<(), ArmError> {
        let now = Instant::now();
        if now + d > op.deadline {
            tokio::select! {
                _ = tokio::time::sleep(op.deadline.saturating_duration_since(now)) => {}
                _ = op.cancel.cancelled() => {}
            }
            return Err(if op.cancel.is_cancelled() {
                self.err(op, resource, ArmErrorKind::Cancelled, None)
            } else {
                self.err(op, resource, ArmErrorKind::Timeout(op.timeout), None)
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = op.cancel.cancelled() => Err(self.err(op, resource, ArmErrorKind::Cancelled, None)),
        }
    }

    pub(crate) fn buckets_for(&self, url: &Url) -> Option<Arc<SubscriptionBuckets>> {
        if !self.options.throttle {
            return None;
        }
        let mut parts = url.path_segments()?;
        let sub = loop {
            let p = parts.next()?;
            if p.eq_ignore_ascii_case("subscriptions") {
                break parts.next()?.to_ascii_lowercase();
            }
        };
        Some(self.buckets.lock().expect("bucket map").entry(sub).or_default().clone())
    }

    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        // Full jitter: uniform in [base/2, base·2^attempt] capped.
        let cap = self.options.retry_base.saturating_mul(1u32 << attempt.min(16)).min(self.options.retry_max_delay);
        let lo = self.options.retry_base / 2;
        let span = cap.saturating_sub(lo).as_millis() as u64;
        let r = (uuid::Uuid::new_v4().as_u128() % (span as u128 + 1)) as u64;
        lo + Duration::from_millis(r)
    }

    /// Sends one request with every policy applied; returns any final
    /// response (including 4xx) for the caller to interpret.
    pub async fn send(&self, op: &Op, resource: &str, method: Method, url: Url, body: Option<&Json>) -> Result<Response, ArmError> {
        if !same_origin(&url, &self.endpoint) {
            return Err(self.err(
                op,
                resource,
                ArmErrorKind::Protocol(format!(
                    "refusing to send credentials to {} (not the configured ARM endpoint)",
                    url.origin().ascii_serialization()
                )),
                None,
            ));
        }
        let class = OpClass::of(method.as_str());
        let buckets = self.buckets_for(&url);
        let payload = body.map(|b| serde_json::to_vec(b).expect("JSON serialises"));
        let mut attempt = 0u32;
        let mut registered_once = false;
        loop {
            if op.cancel.is_cancelled() {
                return Err(self.err(op, resource, ArmErrorKind::Cancelled, None));
            }
            if Instant::now() >= op.deadline {
                return Err(self.err(op, resource, ArmErrorKind::Timeout(op.timeout), None));
            }
            let permit = tokio::select! {
                p = self.parallel.acquire() => p.expect("semaphore never closed"),
                _ = op.cancel.cancelled() => return Err(self.err(op, resource, ArmErrorKind::Cancelled, None)),
            };
            if let Some(b) = &buckets {
                b.get(class).acquire(&op.cancel).await.map_err(|_| self.err(op, resource, ArmErrorKind::Cancelled, None))?;
            }
            let token = match self.credential.token(&self.scope).await {
                Ok(t) => t,
                Err(e) => return Err(self.err(op, resource, ArmErrorKind::Auth(e), None)),
            };
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.token.secret())
                .header("User-Agent", &self.user_agent)
                .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string())
                .header("Accept", "application/json");
            if let Some(p) = &payload {
                req = req.header("Content-Type", "application/json").body(p.clone());
            } else if method == Method::POST || method == Method::PUT {
                req = req.header("Content-Length", "0");
            }
            tracing::debug!(method = %method, url = %redact_query(&url), attempt, "arm request");
            {
                let mut s = self.stats.lock().expect("stats lock");
                *s.by_method.entry(method.to_string()).or_default() += 1;
            }
            let sent = tokio::select! {
                r = req.send() => r,
                _ = op.cancel.cancelled() => return Err(self.err(op, resource, ArmErrorKind::Cancelled, None)),
            };
            let rsp = match sent {
                Ok(r) => {
                    let status = r.status();
                    let headers = r.headers().clone();
                    match r.bytes().await {
                        Ok(body) => Response { status, headers, body },
                        Err(e) => {
                            drop(permit);
                            if let Some(b) = &buckets {
                                b.get(class).observe(None, Instant::now());
                            }
                            attempt += 1;
                            if attempt >= self.options.max_attempts {
                                return Err(self.err(op, resource, ArmErrorKind::Transport(format!("reading the response: {e}")), None));
                            }
                            self.stats.lock().expect("stats lock").transient_retries += 1;
                            self.sleep(op, resource, self.backoff(attempt)).await?;
                            continue;
                        }
                    }
                }
                Err(e) => {
                    drop(permit);
                    if let Some(b) = &buckets {
                        b.get(class).observe(None, Instant::now());
                    }
                    attempt += 1;
                    let why = error_chain(&e);
                    tracing::debug!(error = %why, attempt, "arm request failed to connect");
                    if attempt >= self.options.max_attempts {
                        return Err(self.err(op, resource, ArmErrorKind::Transport(format!("{why} (after {attempt} attempts)")), None));
                    }
                    self.stats.lock().expect("stats lock").transient_retries += 1;
                    self.sleep(op, resource, self.backoff(attempt)).await?;
                    continue;
                }
            };
            drop(permit);
            if let Some(b) = &buckets {
                let remaining = rsp.header(class.remaining_header()).and_then(|v| v.parse::<f64>().ok());
                b.get(class).observe(remaining, Instant::now());
            }
            match self.classify(&rsp, attempt, registered_once) {
                Outcome::Done(r) => return Ok(r),
                Outcome::Register(ns) => {
                    registered_once = true;
                    self.register(op, &url, &ns).await?;
                }
                Outcome::Retry { wait, contention } => {
                    if rsp.status == StatusCode::TOO_MANY_REQUESTS && !contention {
                        self.stats.lock().expect("stats lock").throttled += 1;
                        if let Some(b) = &buckets {
                            b.get(class).drain(Instant::now());
                        }
                    }
                    attempt += 1;
                    if !contention && attempt >= self.options.max_attempts {
                        return Ok(rsp);
                    }
                    {
                        let mut s = self.stats.lock().expect("stats lock");
                        if contention { s.contention_retries += 1 } else { s.transient_retries += 1 }
                    }
                    tracing::debug!(status = rsp.status.as_u16(), wait_ms = wait.as_millis() as u64, contention, "arm retry");
                    if Instant::now() + wait > op.deadline {
                        // Out of time: report what ARM said rather than a bare timeout.
                        return Ok(rsp);
                    }
                    self.sleep(op, resource, wait).await?;
                }
            }
        }
    }

    fn classify(&self, rsp: &Response, attempt: u32, registered_once: bool) -> Outcome {
        let s = rsp.status;
        if s.is_success() || s.is_redirection() || s == StatusCode::NOT_FOUND {
            return Outcome::Done(rsp.clone());
        }
        let e = rsp.error();
        if s == StatusCode::CONFLICT
            && !registered_once
            && (e.has_code("MissingSubscriptionRegistration") || e.has_code("SubscriptionNotRegistered"))
            && let Some(ns) = namespace_from_message(&e.message)
        {
            return Outcome::Register(ns);
        }
        // PostgreSQL's ServerBusy and AKS's OperationNotAllowed "Another operation (…) is in
        // progress" are the same "one operation at a time" refusal.
        let contention = e.has_code("AnotherOperationInProgress")
            || e.has_code("ServerBusy")
            || (s == StatusCode::CONFLICT && e.is_operation_in_progress())
            || (s == StatusCode::TOO_MANY_REQUESTS && (e.has_code("RetryableError") || e.has_code("RetryableErrorDueToAnotherOperation")));
        if contention {
            let wait = rsp.retry_after().unwrap_or_else(|| self.backoff(attempt.min(4)));
            return Outcome::Retry { wait, contention: true };
        }
        let transient = matches!(s.as_u16(), 408 | 429 | 500 | 502 | 503 | 504);
        if transient {
            let wait = rsp.retry_after().map(|d| d.min(Duration::from_secs(600))).unwrap_or_else(|| self.backoff(attempt));
            return Outcome::Retry { wait, contention: false };
        }
        Outcome::Done(rsp.clone())
    }

    /// Registers one resource provider namespace and waits until ARM says
    /// `Registered`. Never called up front: only when ARM asks.
    async fn register(&self, op: &Op, url: &Url, namespace: &str) -> Result<(), ArmError> {
        let mut done = self.registered.lock().await;
        if done.contains(&namespace.to_ascii_lowercase()) {
            return Ok(());
        }
        let sub = url
            .path_segments()
            .and_then(|mut p| {
                p.find(|s| s.eq_ignore_ascii_case("subscriptions"))?;
                p.next()
            })
            .unwrap_or_default()
            .to_owned();
        let what = format!("Resource Provider {namespace:?} (Subscription {sub:?})");
        let reg_op = op.with_action("registering");
        tracing::info!(namespace, "registering resource provider namespace");
        let mut reg_url = self.endpoint.clone();
        reg_url.set_path(&format!("{}subscriptions/{sub}/providers/{namespace}/register", self.endpoint.path()));
        reg_url.query_pairs_mut().append_pair("api-version", api_versions::PROVIDERS);
        let rsp = Box::pin(self.send(&reg_op, &what, Method::POST, reg_url, None)).await?;
        if !rsp.status.is_success() {
            return Err(self.err(&reg_op, &what, ArmErrorKind::Response { status: rsp.status.as_u16(), error: rsp.error() }, Some(&rsp)));
        }
        let mut get_url = self.endpoint.clone();
        get_url.set_path(&format!("{}subscriptions/{sub}/providers/{namespace}", self.endpoint.path()));
        get_url.query_pairs_mut().append_pair("api-version", api_versions::PROVIDERS);
        let mut pace = self.polling();
        loop {
            let r = Box::pin(self.send(&reg_op, &what, Method::GET, get_url.clone(), None)).await?;
            let state = r.json().and_then(|j| j.get("registrationState").and_then(|s| s.as_str()).map(str::to_owned)).unwrap_or_default();
            if state.eq_ignore_ascii_case("Registered") {
                break;
            }
            let wait = pace.next_wait();
            self.sleep(&reg_op, &what, r.retry_after().unwrap_or(wait)).await?;
        }
        self.stats.lock().expect("stats lock").registrations += 1;
        done.insert(namespace.to_ascii_lowercase());
        Ok(())
    }
}

/// An error with its causes ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// ARM names the namespace in the message: "… namespace 'Microsoft.DocumentDB' …".
fn namespace_from_message(msg: &str) -> Option<String> {
    msg.split(['\'', '"', ' ']).find(|w| w.starts_with("Microsoft.") && w.len() > 10).map(|w| w.trim_end_matches(['.', ',']).to_owned())
}

/// True if `a` has the same scheme, host and port as `b`.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

fn redact_query(u: &Url) -> String {
    // Only the api-version is ever in our queries; drop anything else.
    format!("{}{}", u.origin().ascii_serialization(), u.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_is_read_from_arms_message() {
        assert_eq!(
            namespace_from_message(
                "The subscription is not registered to use namespace 'Microsoft.DocumentDB'. See https://aka.ms/rps-not-found"
            ),
            Some("Microsoft.DocumentDB".to_owned())
        );
        assert_eq!(namespace_from_message("nothing here"), None);
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Url::parse("https://127.0.0.1:8443/subscriptions/x").unwrap();
        assert!(same_origin(&a, &Url::parse("https://127.0.0.1:8443/").unwrap()));
        assert!(!same_origin(&a, &Url::parse("https://127.0.0.1:9443/").unwrap()));
        assert!(!same_origin(&a, &Url::parse("http://127.0.0.1:8443/").unwrap()));
    }
}

//! `Sim`: the shared simulator (state, journal, throttling, faults, keys) and the ARM request pipeline:
//! auth → subscription → throttling → faults → operation clock → dispatch → ARM headers → journal.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, Response};
use bytes::Bytes;

use crate::armpath::{self, Route};
use crate::auth::{Claims, Signer};
use crate::config::SimConfig;
use crate::error::{ArmError, Error, Result};
use crate::faults::{FaultKind, FaultProbe, Faults};
use crate::journal::{Entry, Journal, Stats};
use crate::persist;
use crate::reply::{Reply, retry_after};
use crate::state::State;
use crate::throttle::{Buckets, Category, Draw};

/// A simulator instance. Cheap to clone (shared state); build the HTTP app with [`crate::app`].
#[derive(Clone)]
pub struct Sim {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub cfg: SimConfig,
    pub state: RwLock<State>,
    /// Earliest pending deadline (ms), so most requests skip the write lock.
    pub next_due: AtomicI64,
    pub journal: Mutex<Journal>,
    pub stats: Mutex<Stats>,
    pub buckets: Mutex<Buckets>,
    pub faults: Mutex<Faults>,
    pub has_faults: AtomicBool,
    pub signer: Signer,
    pub req_counter: AtomicU64,
    /// Parents with a write in flight that holds them (federated credentials under one identity).
    pub busy: Mutex<HashSet<String>>,
    pub dirty: AtomicBool,
    pub flush_lock: Mutex<()>,
    pub flusher_started: AtomicBool,
}

/// One ARM request as the handlers see it.
pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub raw_query: String,
    /// Query parameters with lower-case names.
    pub query: BTreeMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// `https://host:port` as the client addressed us (header URLs must use the request's host).
    pub base: String,
    pub claims: Option<Claims>,
}

impl Req {
    pub fn api_version(&self) -> Option<&str> {
        self.query.get("api-version").map(String::as_str).filter(|v| !v.is_empty())
    }
}

fn read_or_create_key(path: &std::path::Path) -> Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(s) => {
            let bytes: Option<Vec<u8>> =
                (0..s.trim().len()).step_by(2).map(|i| s.trim().get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
            match bytes {
                Some(b) if b.len() == 32 => Ok(b),
                _ => Err(Error::State { path: path.to_path_buf(), reason: "not a 64-hex-digit signing key".into() }),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 32];
            aws_lc_rs::rand::fill(&mut key).map_err(|_| Error::Config("no system randomness for the signing key".into()))?;
            persist::write_atomic(path, crate::ids::hex(&key).as_bytes())?;
            Ok(key)
        }
        Err(e) => Err(Error::Io { action: "reading", path: path.to_path_buf(), source: e }),
    }
}

impl Sim {
    /// Creates the simulator, loading `state.json` from the state directory when present.
    pub fn new(config: SimConfig) -> Result<Sim> {
        config.validate().map_err(Error::Config)?;
        let mut cfg = config;
        cfg.tenant_id = cfg.tenant_id.to_ascii_lowercase();
        cfg.subscription_ids = cfg.effective_subscriptions();
        std::fs::create_dir_all(&cfg.state_dir).map_err(|e| Error::Io { action: "creating", path: cfg.state_dir.clone(), source: e })?;
        let key = read_or_create_key(&cfg.state_dir.join("token-signing.key"))?;
        let mut state = persist::load(&persist::state_path(&cfg.state_dir))?;
        state.generation = 1;
        let faults = Faults::new(cfg.seed, cfg.faults.clone());
        let has_faults = !faults.is_empty();
        let due = state.earliest_due().unwrap_or(i64::MAX);
        Ok(Sim {
            inner: Arc::new(Inner {
                journal: Mutex::new(Journal::new(cfg.journal_capacity, cfg.journal_body_budget_mb * 1024 * 1024)),
                cfg,
                state: RwLock::new(state),
                next_due: AtomicI64::new(due),
                stats: Mutex::new(Stats::default()),
                buckets: Mutex::new(Buckets::default()),
                faults: Mutex::new(faults),
                has_faults: AtomicBool::new(has_faults),
                signer: Signer::new(&key),
                req_counter: AtomicU64::new(0),
                busy: Mutex::new(HashSet::new()),
                dirty: AtomicBool::new(false),
                flush_lock: Mutex::new(()),
                flusher_started: AtomicBool::new(false),
            }),
        })
    }

    /// The effective configuration.
    pub fn config(&self) -> &SimConfig {
        &self.inner.cfg
    }

    /// Where state lives.
    pub fn state_dir(&self) -> PathBuf {
        self.inner.cfg.state_dir.clone()
    }

    /// Writes `state.json` now (also done automatically, debounced, after changes and on shutdown).
    pub fn flush(&self) -> Result<()> {
        let _guard = self.inner.flush_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.dirty.store(false, Ordering::SeqCst);
        let now = self.now_ms();
        let st = self.read();
        persist::write_atomic_with(&persist::state_path(&self.inner.cfg.state_dir), |w| {
            persist::serialise(&st, now, w).map_err(std::io::Error::other)
        })
    }

    /// Moves a manual clock forward and completes whatever became due (tests).
    pub fn advance(&self, by: Duration) {
        self.inner.cfg.clock.advance(by);
        self.tick();
    }

    /// Issues an access token for a configured principal, as the token endpoint would (tests).
    pub fn issue_token(&self, client_id: &str) -> Option<String> {
        let p = self.cfg().effective_principals().into_iter().find(|p| p.client_id.eq_ignore_ascii_case(client_id))?;
        let now = self.now_ms() / 1000;
        let oid = crate::auth::principal_oid(&p.client_id);
        Some(self.inner.signer.sign(&Claims {
            aud: "https://management.azure.com/".into(),
            iss: format!("https://sts.windows.net/{}/", self.cfg().tenant_id),
            iat: now,
            nbf: now,
            exp: now + self.cfg().token_lifetime_secs as i64,
            appid: p.client_id.clone(),
            appidacr: "1".into(),
            idtyp: "app".into(),
            oid: oid.clone(),
            sub: oid,
            tid: self.cfg().tenant_id.clone(),
            uti: "test".into(),
            ver: "1.0".into(),
        }))
    }

    /// The object id tokens for this client carry (`oid`), as role assignments must name it.
    pub fn principal_object_id(client_id: &str) -> String {
        crate::auth::principal_oid(client_id)
    }

    // ---- crate-internal plumbing ----

    pub(crate) fn cfg(&self) -> &SimConfig {
        &self.inner.cfg
    }
    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.cfg.clock.now_ms()
    }
    pub(crate) fn next_request_number(&self) -> u64 {
        self.inner.req_counter.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub(crate) fn with_stats<R>(&self, f: impl FnOnce(&mut Stats) -> R) -> R {
        f(&mut self.inner.stats.lock().unwrap_or_else(|e| e.into_inner()))
    }
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.inner.state.read().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner.state.write().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.inner.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Completes operations (and registrations, purges) whose time has come.
    pub(crate) fn tick(&self) {
        let now = self.now_ms();
        if now < self.inner.next_due.load(Ordering::Acquire) {
            return;
        }
        let mut st = self.write();
        crate::ops::advance(&mut st, self.cfg(), now);
        self.after_write(&st);
    }

    /// Call with the write lock held after any change.
    pub(crate) fn after_write(&self, st: &State) {
        self.inner.next_due.store(st.earliest_due().unwrap_or(i64::MAX), Ordering::Release);
        self.inner.dirty.store(true, Ordering::Release);
    }

    /// Starts the debounced `state.json` writer (needs a Tokio runtime; a no-op without one).
    pub(crate) fn start_flusher(&self) {
        if self.inner.flusher_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.inner.flusher_started.store(false, Ordering::SeqCst);
            return;
        };
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        rt.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let Some(inner) = weak.upgrade() else { return };
                if inner.dirty.load(Ordering::Acquire) {
                    let sim = Sim { inner };
                    let res = tokio::task::spawn_blocking(move || sim.flush()).await;
                    if let Ok(Err(e)) = res {
                        tracing::error!("persisting state: {e}");
                    }
                }
            }
        });
    }

    /// Wipes resources, operations, journal, stats, faults and buckets (keeps principals, keys, CA).
    pub(crate) fn reset(&self) {
        {
            let mut st = self.write();
            st.clear();
            self.after_write(&st);
        }
        self.inner.journal.lock().unwrap_or_else(|e| e.into_inner()).clear();
        *self.inner.stats.lock().unwrap_or_else(|e| e.into_inner()) = Stats::default();
        self.faults().clear();
        self.inner.has_faults.store(false, Ordering::Release);
        self.inner.buckets.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |x: &str| percent_encoding::percent_decode_str(&x.replace('+', " ")).decode_utf8_lossy().into_owned();
            (dec(k).to_ascii_lowercase(), dec(v))
        })
        .collect()
}

/// Connection-level hooks the server installs in request extensions (absent under `oneshot`).
#[derive(Clone)]
pub(crate) struct ConnHandle {
    pub peer: std::net::SocketAddr,
    pub reset: Arc<tokio::sync::Notify>,
}

/// Entry point for every ARM request.
pub(crate) async fn handle_arm(sim: Sim, req: Request<Body>) -> Response<Body> {
    let started = Instant::now();
    let conn = req.extensions().get::<ConnHandle>().cloned();
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "127.0.0.1".into());
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let mut req = Req {
        method: parts.method.as_str().to_ascii_uppercase(),
        path: parts.uri.path().to_string(),
        query: parse_query(&raw_query),
        raw_query,
        headers: parts.headers,
        body,
        base: format!("https://{host}"),
        claims: None,
    };
    let n = sim.next_request_number();
    let route = armpath::parse(&req.path);
    let type_label = match &route {
        Ok(Route::Arm(p)) => crate::spec::lookup(&p.type_key()).map(|s| s.type_name.to_string()).unwrap_or_else(|| p.type_label()),
        Ok(r) => r.type_label(),
        Err(_) => "unknown".into(),
    };
    let category = Category::of(&req.method);
    let mut remaining: Option<i64> = None;
    let mut reply = pipeline(&sim, &mut req, route, &type_label, category, &mut remaining).await;

    if reply.reset {
        sim.with_stats(|s| s.faults_injected += 1);
        let fault = reply.fault.take();
        if let Some(conn) = conn {
            journal(&sim, &req, &type_label, &reply, 0, started);
            conn.reset.notify_one();
            // The connection task drops this request with the socket (RST); never answer.
            std::future::pending::<()>().await;
        }
        // In-process (`oneshot`) there is no socket to reset: answer 502 so tests can see it fired.
        reply =
            ArmError::new(502, "SimulatedConnectionReset", "The connection was reset (armsim fault rule; no socket to reset in-process).")
                .into();
        reply.fault = fault;
    }
    finish_headers(&sim, &req, &mut reply, n, category, remaining);
    let status = reply.status.as_u16();
    journal(&sim, &req, &type_label, &reply, status, started);
    reply.into_response()
}

async fn pipeline(
    sim: &Sim,
    req: &mut Req,
    route: std::result::Result<Route, ArmError>,
    type_label: &str,
    category: Category,
    remaining: &mut Option<i64>,
) -> Reply {
    match crate::auth::check_bearer(sim, &req.headers, &req.base) {
        Ok(c) => req.claims = Some(c),
        Err(r) => return r,
    }
    let route = match route {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    if let Some(sub) = route.subscription() {
        let sub_l = sub.to_ascii_lowercase();
        if !sim.cfg().subscription_ids.contains(&sub_l) {
            return ArmError::not_found("SubscriptionNotFound", format!("The subscription '{sub}' could not be found.")).into();
        }
        if sim.cfg().throttle == crate::config::ThrottleMode::Real {
            let draw = sim.inner.buckets.lock().unwrap_or_else(|e| e.into_inner()).draw(&sub_l, category, sim.cfg().clock.mono_ms());
            match draw {
                Draw::Ok(left) => *remaining = Some(left),
                Draw::Throttled(wait_ms) => {
                    sim.with_stats(|s| s.throttled += 1);
                    *remaining = Some(0);
                    let secs = ((wait_ms + 999) / 1000).max(1);
                    let mut r: Reply = ArmError::new(
                        429,
                        "SubscriptionRequestsThrottled",
                        format!(
                            "Number of '{}' requests for subscription '{sub_l}' actor '{}' exceeded. Please try again after '{secs}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling",
                            category.word(),
                            req.claims.as_ref().map(|c| c.oid.as_str()).unwrap_or("")
                        ),
                    )
                    .into();
                    r.push_header("retry-after", secs.to_string());
                    return r;
                }
            }
        } else {
            *remaining = Some(category.limits().0 - 1);
        }
    }
    if sim.inner.has_faults.load(Ordering::Acquire) {
        let probe = FaultProbe { method: &req.method, resource_type: type_label, path: &req.path };
        let kinds =
            [FaultKind::Throttle429, FaultKind::Error500, FaultKind::Error503, FaultKind::Reset, FaultKind::Slow, FaultKind::Conflict409];
        let fired = sim.faults().fire(&probe, &kinds);
        if let Some(rule) = fired
            && let Some(r) = fault_reply(sim, &rule).await
        {
            return r;
        }
    }
    sim.tick();
    crate::engine::dispatch(sim, req, route).await
}

async fn fault_reply(sim: &Sim, rule: &crate::faults::ActiveRule) -> Option<Reply> {
    let tag = format!("{} ({:?})", rule.id, rule.rule.kind);
    let mut r: Reply = match rule.rule.kind {
        FaultKind::Slow => {
            sim.with_stats(|s| s.faults_injected += 1);
            tokio::time::sleep(Duration::from_millis(rule.rule.delay_ms.unwrap_or(0))).await;
            return None;
        }
        FaultKind::Throttle429 => {
            let mut r: Reply =
                ArmError::new(429, "TooManyRequests", format!("The request is being throttled (armsim fault rule {}).", rule.id)).into();
            retry_after(&mut r, rule.rule.delay_ms.map(|d| d as i64).unwrap_or(1000));
            r
        }
        FaultKind::Error500 => {
            ArmError::new(500, "InternalServerError", format!("Encountered internal server error. (armsim fault rule {})", rule.id)).into()
        }
        FaultKind::Error503 => {
            let mut r: Reply = ArmError::new(
                503,
                "ServiceUnavailable",
                format!("The service is temporarily unavailable. (armsim fault rule {})", rule.id),
            )
            .into();
            retry_after(&mut r, rule.rule.delay_ms.map(|d| d as i64).unwrap_or(1000));
            r
        }
        FaultKind::Conflict409 => ArmError::conflict(
            "AnotherOperationInProgress",
            format!("Another operation on this or dependent resource is in progress. (armsim fault rule {})", rule.id),
        )
        .into(),
        FaultKind::Reset => {
            let mut r = Reply::status(502);
            r.reset = true;
            r.fault = Some(tag);
            return Some(r);
        }
        FaultKind::FailOperation => return None,
    };
    sim.with_stats(|s| s.faults_injected += 1);
    r.fault = Some(tag);
    Some(r)
}

fn finish_headers(sim: &Sim, req: &Req, reply: &mut Reply, n: u64, cat: Category, remaining: Option<i64>) {
    let seed = sim.cfg().seed;
    let now = sim.now_ms();
    let rid = crate::ids::request_guid(seed, n);
    let corr = req
        .headers
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| crate::ids::request_guid(seed ^ 0xC022, n));
    let t = time::OffsetDateTime::from_unix_timestamp(now / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let routing = format!(
        "WESTEUROPE:{:04}{:02}{:02}T{:02}{:02}{:02}Z:{}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        crate::ids::request_guid(seed ^ 0x4007, n)
    );
    reply.push_header("x-ms-request-id", rid);
    reply.push_header("x-ms-correlation-request-id", corr);
    reply.push_header("x-ms-routing-request-id", routing);
    if let Some(c) = req.headers.get("x-ms-client-request-id").and_then(|v| v.to_str().ok()) {
        reply.push_header("x-ms-client-request-id", c.to_string());
    }
    if let Some(left) = remaining {
        reply.push_header(cat.header(), left.to_string());
    }
    reply.push_header("date", crate::clock::http_date(now));
    reply.push_header("cache-control", "no-cache");
    reply.push_header("pragma", "no-cache");
    reply.push_header("expires", "-1");
    reply.push_header("x-content-type-options", "nosniff");
    reply.push_header("strict-transport-security", "max-age=31536000; includeSubDomains");
}

fn journal(sim: &Sim, req: &Req, type_label: &str, reply: &Reply, status: u16, started: Instant) {
    let request_body = if req.body.is_empty() {
        None
    } else {
        // A copy: the request's bytes may share hyper's whole read buffer.
        Some(crate::writes::redact_for_journal(type_label, &Bytes::copy_from_slice(&req.body)))
    };
    let entry = Entry {
        seq: 0,
        time_ms: sim.now_ms(),
        method: req.method.as_str().into(),
        path: req.path.as_str().into(),
        query: req.raw_query.as_str().into(),
        status,
        resource_type: type_label.into(),
        api_version: req.api_version().map(Into::into),
        request_body,
        response_body: reply.body.clone(),
        duration_ms: started.elapsed().as_secs_f32() * 1000.0,
        client_request_id: req.headers.get("x-ms-client-request-id").and_then(|v| v.to_str().ok()).map(Into::into),
        fault: reply.fault.as_deref().map(Into::into),
        bodies_dropped: false,
    };
    sim.with_stats(|s| s.count(&req.method, type_label, status));
    sim.inner.journal.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
}

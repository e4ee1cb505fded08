//! Test harness: a simulator on a manual clock, driven in-process with `oneshot`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use armsim::{Clock, Sim, SimConfig};
use axum::Router;
use axum::body::Body;
use http::Request;
use serde_json::Value;
use tower::ServiceExt;

pub const SUB: &str = armsim::DEFAULT_SUBSCRIPTION;
pub const TENANT: &str = armsim::DEFAULT_TENANT;
/// The Host tests address the simulator as, so header URLs are stable.
pub const HOST: &str = "armsim.test";

pub struct Resp {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    pub raw: bytes::Bytes,
}

impl Resp {
    pub fn at(&self, path: &str) -> &Value {
        let mut cur = &self.body;
        for seg in path.split('.') {
            cur = match seg.parse::<usize>() {
                Ok(i) => cur.get(i).unwrap_or(&Value::Null),
                Err(_) => cur.get(seg).unwrap_or(&Value::Null),
            };
        }
        cur
    }
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

pub struct H {
    pub sim: Sim,
    pub app: Router,
    pub token: String,
    pub dir: tempfile::TempDir,
}

pub fn base_config(dir: &std::path::Path) -> SimConfig {
    SimConfig { state_dir: dir.to_path_buf(), seed: 7, clock: Clock::manual(), ..SimConfig::default() }
}

impl H {
    pub async fn new() -> H {
        Self::with(|_| {}).await
    }

    pub async fn with(f: impl FnOnce(&mut SimConfig)) -> H {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = base_config(dir.path());
        f(&mut cfg);
        Self::from_config(cfg, dir).await
    }

    pub async fn from_config(cfg: SimConfig, dir: tempfile::TempDir) -> H {
        let sim = Sim::new(cfg).expect("simulator starts");
        let app = armsim::app(sim.clone());
        let mut h = H { sim, app, token: String::new(), dir };
        let principal = h.sim.config().effective_principals()[0].clone();
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
            principal.client_id, principal.client_secret
        );
        let r = h.form(&format!("/{TENANT}/oauth2/v2.0/token"), &form).await;
        assert_eq!(r.status, 200, "token: {}", r.body);
        h.token = r.body["access_token"].as_str().expect("token").to_string();
        h
    }

    pub fn advance(&self, secs: f64) {
        self.sim.advance(Duration::from_millis((secs * 1000.0).round() as u64));
    }

    pub async fn raw(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status().as_u16();
        let headers = resp.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
        let raw = axum::body::to_bytes(resp.into_body(), 64 << 20).await.expect("body");
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into()))
        };
        Resp { status, headers, body, raw }
    }

    /// An ARM call with the harness token (unless `headers` sets `authorization`; `-` removes it).
    pub async fn call_with(&self, method: &str, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Resp {
        let text = body.map(|v| v.to_string());
        self.call_text(method, path, text.as_deref(), headers).await
    }

    /// Like `call_with` with a raw (possibly malformed) body.
    pub async fn call_text(&self, method: &str, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Resp {
        let path = path.replace("{sub}", &format!("/subscriptions/{SUB}"));
        assert!(!path.contains('{'), "unexpanded placeholder in {path}");
        let mut b = Request::builder().method(method).uri(path).header("host", HOST);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
            b = b.header("authorization", format!("Bearer {}", self.token));
        }
        for (k, v) in headers {
            if *v != "-" {
                b = b.header(*k, *v);
            }
        }
        let req = match body {
            Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .expect("request");
        self.raw(req).await
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.call_with(method, path, body, &[]).await
    }
    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(&body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, None).await
    }

    pub async fn form(&self, path: &str, form: &str) -> Resp {
        let req = Request::post(path)
            .header("host", HOST)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.to_string()))
            .expect("request");
        self.raw(req).await
    }

    /// An admin API call (no auth).
    pub async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let b = Request::builder().method(method).uri(format!("/_sim/{path}")).header("host", HOST);
        let req = match body {
            Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .expect("request");
        self.raw(req).await
    }

    /// Puts a resource group in West Europe.
    pub async fn rg(&self, name: &str) {
        let r =
            self.put(&format!("{{sub}}/resourceGroups/{name}?api-version=2025-04-01"), serde_json::json!({"location": "westeurope"})).await;
        assert!(r.status == 201 || r.status == 200, "rg {name}: {} {}", r.status, r.body);
    }

    /// Lets every pending operation finish.
    pub fn settle(&self) {
        self.advance(3600.0);
    }
}

/// Path and query of an absolute header URL.
pub fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.find('/').map(|i| rest[i..].to_string()).unwrap_or_else(|| "/".into())
}

//! A response under construction, before the ARM-wide headers are added.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use bytes::Bytes;
use serde_json::Value;

use crate::error::ArmError;

#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Option<Bytes>,
    /// Drop the connection instead of answering (fault `reset`).
    pub reset: bool,
    /// Fault rule that shaped this reply, for the journal.
    pub fault: Option<String>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: Vec::new(),
            body: None,
            reset: false,
            fault: None,
        }
    }
    pub fn json(status: u16, v: &Value) -> Self {
        let mut b = serde_json::to_vec(v).expect("JSON values serialise");
        b.shrink_to_fit();
        Self::bytes(status, Bytes::from(b))
    }
    pub fn bytes(status: u16, b: Bytes) -> Self {
        let mut r = Self::status(status);
        r.body = Some(b);
        r
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((HeaderName::from_static(name), value.into()));
        self
    }
    pub fn push_header(&mut self, name: &'static str, value: impl Into<String>) {
        self.headers.push((HeaderName::from_static(name), value.into()));
    }

    pub fn into_response(self) -> Response<Body> {
        let mut b = Response::builder().status(self.status);
        let h = b.headers_mut().expect("builder has headers");
        if self.body.is_some() {
            h.insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
        }
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.append(k, v);
            }
        }
        b.body(self.body.map(Body::from).unwrap_or_else(Body::empty)).expect("valid response")
    }
}

impl From<ArmError> for Reply {
    fn from(e: ArmError) -> Self {
        let mut r = Reply::json(e.status.as_u16(), &e.envelope());
        r.push_header("x-ms-error-code", e.code.clone());
        r
    }
}

/// `Retry-After` (integer seconds) or, below one second, only `retry-after-ms`: clients that read
/// `Retry-After` first treat `0` as "no hint" and fall back to their 30 s default poll interval.
pub(crate) fn retry_after(r: &mut Reply, ms: i64) {
    let ms = ms.max(0);
    if ms < 1000 {
        r.push_header("retry-after-ms", ms.to_string());
    } else {
        r.push_header("retry-after", ((ms + 999) / 1000).to_string());
    }
}

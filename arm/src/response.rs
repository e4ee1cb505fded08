//! ARM's answers as the pipeline sees them: status, headers, body, how
//! long ARM asked to wait, and the error it sent.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value as Json;

use super::error::{ArmError, ArmErrorKind, ErrorDetail};
use super::op::Op;

/// A raw response.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body bytes.
    pub body: bytes::Bytes,
}

impl Response {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Json> {
        if self.body.is_empty() { None } else { serde_json::from_slice(&self.body).ok() }
    }
    /// How long ARM asked us to wait (`retry-after-ms`, `x-ms-retry-after-ms`, `Retry-After` seconds).
    pub fn retry_after(&self) -> Option<Duration> {
        for h in ["retry-after-ms", "x-ms-retry-after-ms"] {
            if let Some(ms) = self.header(h).and_then(|v| v.trim().parse::<u64>().ok()) {
                return Some(Duration::from_millis(ms));
            }
        }
        let v = self.header("retry-after")?.trim();
        if let Ok(s) = v.parse::<u64>() {
            return Some(Duration::from_secs(s));
        }
        httpdate::parse_http_date(v).ok().map(|t| t.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
    }
    pub(crate) fn error(&self) -> ErrorDetail {
        ErrorDetail::from_body(&self.body).unwrap_or_else(|| ErrorDetail {
            code: self.header("x-ms-error-code").unwrap_or("").to_owned(),
            message: String::from_utf8_lossy(&self.body).chars().take(500).collect(),
            ..ErrorDetail::default()
        })
    }
}

/// What `op` on `resource` ran into, with the ids of the response if there was one.
pub(crate) fn error_of(op: &Op, resource: &str, kind: ArmErrorKind, rsp: Option<&Response>) -> ArmError {
    ArmError::new(op.action, resource, kind)
        .with_ids(rsp.and_then(|r| r.header("x-ms-request-id")), rsp.and_then(|r| r.header("x-ms-correlation-request-id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_ms_seconds_and_dates() {
        let mk = |k: &str, v: &str| {
            let mut h = reqwest::header::HeaderMap::new();
            h.insert(reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
            Response { status: StatusCode::TOO_MANY_REQUESTS, headers: h, body: bytes::Bytes::new() }
        };
        assert_eq!(mk("retry-after-ms", "250").retry_after(), Some(Duration::from_millis(250)));
        assert_eq!(mk("Retry-After", "7").retry_after(), Some(Duration::from_secs(7)));
        assert!(mk("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT").retry_after().is_some());
        assert_eq!(mk("Retry-After", "soon").retry_after(), None);
    }
}

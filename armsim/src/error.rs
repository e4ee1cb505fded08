//! Errors: `Error` for the embedding API (start-up, persistence), `ArmError` for ARM-shaped HTTP refusals.

use std::path::PathBuf;

use axum::http::StatusCode;
use serde_json::{Value, json};

/// What can go wrong starting or running the simulator outside of a single request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file in the state directory could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing", …).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The persisted state exists but cannot be used; it is left untouched.
    #[error("state file {path} cannot be loaded: {reason} (the file was left untouched; move it away to start with an empty simulator)")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Certificate generation or TLS setup failed.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// The listener could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: std::net::SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Result alias for [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An ARM error response: `{"error":{"code","message","target"?,"details"?}}` with its HTTP status.
#[derive(Debug, Clone)]
pub(crate) struct ArmError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    pub details: Vec<Value>,
}

impl ArmError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ArmError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code: code.to_string(),
            message: message.into(),
            target: None,
            details: Vec::new(),
        }
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
    pub fn with_detail(mut self, code: &str, message: impl Into<String>) -> Self {
        self.details.push(json!({"code": code, "message": message.into()}));
        self
    }
    /// The `error` object (also used as an operation's `error`).
    pub fn to_value(&self) -> Value {
        let mut e = json!({"code": self.code, "message": self.message});
        if let Some(t) = &self.target {
            e["target"] = json!(t);
        }
        if !self.details.is_empty() {
            e["details"] = Value::Array(self.details.clone());
        }
        e
    }
    pub fn envelope(&self) -> Value {
        json!({"error": self.to_value()})
    }
    pub fn invalid_body(msg: impl Into<String>) -> Self {
        Self::bad_request("InvalidRequestContent", msg)
    }
}

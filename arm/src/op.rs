//! What one ARM call belongs to: its verb, deadline and cancellation. Every
//! layer of the client (pipeline, LRO polling, error wording) reads it.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// What a call is part of: the verb for messages, the deadline, and
/// Terraform's stop signal.
#[derive(Clone, Debug)]
pub struct Op {
    /// `creating`, `reading`, `updating`, `deleting`, …
    pub action: &'static str,
    /// When to give up.
    pub deadline: Instant,
    /// The timeout the deadline came from (for messages).
    pub timeout: Duration,
    /// StopProvider.
    pub cancel: CancellationToken,
}

impl Op {
    /// An operation with a timeout from now.
    pub fn new(action: &'static str, timeout: Duration, cancel: CancellationToken) -> Op {
        Op { action, deadline: Instant::now() + timeout, timeout, cancel }
    }
    /// The same deadline and cancellation for another verb.
    pub fn with_action(&self, action: &'static str) -> Op {
        Op { action, ..self.clone() }
    }
}

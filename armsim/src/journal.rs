//! Request journal (a bounded ring of cheap entries; bodies are shared `Bytes`) and counters.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;
use serde_json::{Value, json};

pub(crate) struct Entry {
    pub seq: u64,
    pub time_ms: i64,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub resource_type: String,
    pub api_version: Option<String>,
    pub request_body: Option<Bytes>,
    pub response_body: Option<Bytes>,
    pub duration_ms: f64,
    pub client_request_id: Option<String>,
    pub fault: Option<String>,
}

fn body_value(b: &Option<Bytes>) -> Value {
    match b {
        None => Value::Null,
        Some(b) if b.is_empty() => Value::Null,
        Some(b) => serde_json::from_slice(b).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned())),
    }
}

impl Entry {
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "time": crate::clock::rfc3339(self.time_ms),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "resource_type": self.resource_type,
            "api_version": self.api_version,
            "request_body": body_value(&self.request_body),
            "response_body": body_value(&self.response_body),
            "duration_ms": self.duration_ms,
            "client_request_id": self.client_request_id,
            "fault": self.fault,
        })
    }
}

pub(crate) struct Journal {
    entries: VecDeque<Entry>,
    next_seq: u64,
    cap: usize,
}

impl Journal {
    pub fn new(cap: usize) -> Self {
        Journal { entries: VecDeque::new(), next_seq: 1, cap: cap.max(1) }
    }
    pub fn push(&mut self, mut e: Entry) {
        e.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() >= self.cap {
            self.entries.pop_front();
        }
        self.entries.push_back(e);
    }
    pub fn since(&self, seq: u64) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.seq > seq)
    }
    /// Clears entries; sequence numbers keep growing so `since` stays meaningful.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }
}

#[derive(Default)]
pub(crate) struct Stats {
    pub total: u64,
    pub by_method: BTreeMap<String, u64>,
    pub by_type: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
    pub by_method_and_type: BTreeMap<String, u64>,
    pub throttled: u64,
    pub faults_injected: u64,
    pub token_requests: u64,
    pub client_assertions: u64,
    pub distinct_assertions: BTreeSet<String>,
}

impl Stats {
    pub fn count(&mut self, method: &str, rtype: &str, status: u16) {
        self.total += 1;
        *self.by_method.entry(method.to_string()).or_default() += 1;
        *self.by_type.entry(rtype.to_string()).or_default() += 1;
        *self.by_status.entry(status.to_string()).or_default() += 1;
        *self.by_method_and_type.entry(format!("{method} {rtype}")).or_default() += 1;
    }
    pub fn to_json(&self) -> Value {
        json!({
            "total": self.total,
            "by_method": self.by_method,
            "by_type": self.by_type,
            "by_status": self.by_status,
            "by_method_and_type": self.by_method_and_type,
            "throttled": self.throttled,
            "faults_injected": self.faults_injected,
            "token_requests": self.token_requests,
            "client_assertions": self.client_assertions,
            "distinct_client_assertions": self.distinct_assertions.len(),
        })
    }
}

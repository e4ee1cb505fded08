//! Request journal (a bounded ring of cheap entries; bodies are shared `Bytes`) and counters.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;
use serde_json::{Value, json};

pub(crate) struct Entry {
    pub seq: u64,
    pub time_ms: i64,
    pub method: Box<str>,
    pub path: Box<str>,
    pub query: Box<str>,
    pub status: u16,
    pub resource_type: Box<str>,
    pub api_version: Option<Box<str>>,
    pub request_body: Option<Bytes>,
    pub response_body: Option<Bytes>,
    pub duration_ms: f32,
    pub client_request_id: Option<Box<str>>,
    pub fault: Option<Box<str>>,
    /// Bodies were dropped to keep the journal within its memory budget.
    pub bodies_dropped: bool,
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
            "bodies_dropped": self.bodies_dropped,
        })
    }
}

/// A ring of entries. Every request keeps its entry until `cap` newer ones exist; bodies are kept
/// for the newest requests only, within `body_budget` bytes, so a long run at thousands of
/// requests per second stays small.
pub(crate) struct Journal {
    entries: VecDeque<Entry>,
    next_seq: u64,
    cap: usize,
    body_budget: usize,
    body_bytes: usize,
    /// Index (into `entries`) before which no entry has bodies any more.
    body_floor: usize,
}

fn body_len(e: &Entry) -> usize {
    e.request_body.as_ref().map_or(0, Bytes::len) + e.response_body.as_ref().map_or(0, Bytes::len)
}

impl Journal {
    pub fn new(cap: usize, body_budget: usize) -> Self {
        Journal { entries: VecDeque::new(), next_seq: 1, cap: cap.max(1), body_budget, body_bytes: 0, body_floor: 0 }
    }
    pub fn push(&mut self, mut e: Entry) {
        e.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() >= self.cap {
            if let Some(old) = self.entries.pop_front() {
                self.body_bytes -= body_len(&old);
            }
            self.body_floor = self.body_floor.saturating_sub(1);
        }
        self.body_bytes += body_len(&e);
        self.entries.push_back(e);
        while self.body_bytes > self.body_budget && self.body_floor + 1 < self.entries.len() {
            let old = &mut self.entries[self.body_floor];
            self.body_bytes -= body_len(old);
            if old.request_body.take().is_some() | old.response_body.take().is_some() {
                old.bodies_dropped = true;
            }
            self.body_floor += 1;
        }
    }
    pub fn since(&self, seq: u64) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.seq > seq)
    }
    /// Clears entries; sequence numbers keep growing so `since` stays meaningful.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.body_bytes = 0;
        self.body_floor = 0;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: usize) -> Entry {
        Entry {
            seq: 0,
            time_ms: 0,
            method: "GET".into(),
            path: "/p".into(),
            query: "".into(),
            status: 200,
            resource_type: "t".into(),
            api_version: None,
            request_body: None,
            response_body: Some(Bytes::from(vec![b'x'; body])),
            duration_ms: 0.0,
            client_request_id: None,
            fault: None,
            bodies_dropped: false,
        }
    }

    #[test]
    fn old_bodies_go_first_and_entries_stay() {
        let mut j = Journal::new(5, 250);
        for _ in 0..4 {
            j.push(entry(100));
        }
        let kept: Vec<bool> = j.since(0).map(|e| e.response_body.is_some()).collect();
        assert_eq!(kept, [false, false, true, true], "bodies within 250 bytes, newest first");
        assert!(j.since(0).next().unwrap().bodies_dropped);
        for _ in 0..4 {
            j.push(entry(10));
        }
        assert_eq!(j.since(0).count(), 5, "the ring keeps its capacity");
        assert_eq!(j.since(0).next().unwrap().seq, 4);
        assert_eq!(j.last_seq(), 8);
    }
}

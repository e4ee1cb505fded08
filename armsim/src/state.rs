//! The simulator's store: resources keyed by lower-case id in a BTreeMap (prefix scans give children
//! and cascades), a reverse-reference index, operations, soft-deleted vaults and RP registrations.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::SimConfig;
use crate::jpath;
use crate::spec::{self, Effect, Spec};

/// A resource's provisioning state as the simulator tracks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum Prov {
    Succeeded,
    Failed,
    /// An operation is running; `shown` is what GET reports (`Creating`, `Updating`, `Deleting`, …).
    Pending {
        op: String,
        shown: String,
    },
}

impl Prov {
    pub fn shown(&self) -> &str {
        match self {
            Prov::Succeeded => "Succeeded",
            Prov::Failed => "Failed",
            Prov::Pending { shown, .. } => shown,
        }
    }
    pub fn is_pending(&self) -> bool {
        matches!(self, Prov::Pending { .. })
    }
}

/// A stored body as compact JSON text: a parsed `serde_json::Value` takes several times the
/// memory of its text, and most stored bodies are only read when (re-)rendered. The parsed form is
/// kept once something dereferences it, until the body changes.
pub(crate) struct Body {
    text: Box<str>,
    parsed: OnceLock<Value>,
}

impl Body {
    pub fn new(v: &Value) -> Self {
        Body { text: serde_json::to_string(v).expect("JSON values serialise").into_boxed_str(), parsed: OnceLock::new() }
    }
    fn parse(&self) -> Value {
        serde_json::from_str(&self.text).expect("stored bodies are valid JSON")
    }
    /// An owned copy.
    pub fn to_value(&self) -> Value {
        match self.parsed.get() {
            Some(v) => v.clone(),
            None => self.parse(),
        }
    }
    /// Looks at the body without keeping a parsed copy around (for scans over many resources).
    pub fn peek<R>(&self, f: impl FnOnce(&Value) -> R) -> R {
        match self.parsed.get() {
            Some(v) => f(v),
            None => f(&self.parse()),
        }
    }
    pub fn modify(&mut self, f: impl FnOnce(&mut Value)) {
        let mut v = self.to_value();
        f(&mut v);
        *self = Body::new(&v);
    }
}

impl std::ops::Deref for Body {
    type Target = Value;
    fn deref(&self) -> &Value {
        self.parsed.get_or_init(|| self.parse())
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.peek(|v| v.serialize(s))
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(|v| Body::new(&v))
    }
}

/// One stored resource. `body` is the base body (what the client sent, normalised, plus properties
/// computed once); properties derived from other resources are added when rendering.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Resource {
    pub id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub api_version: String,
    pub body: Body,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    pub prov: Prov,
    pub etag: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub seq: u64,
    #[serde(default)]
    pub incarnation: u32,
    /// Simulator bookkeeping that is not part of the ARM body.
    #[serde(default)]
    pub sim: Map<String, Value>,
    /// Rendered bytes and the store generation they were rendered at.
    #[serde(skip)]
    pub cache: Mutex<Option<(u64, Bytes)>>,
}

impl Resource {
    pub fn spec(&self) -> &'static Spec {
        spec::by_name(&self.type_name)
    }
    pub fn key(&self) -> String {
        crate::armpath::key_of(&self.id)
    }
    pub fn name(&self) -> &str {
        crate::armpath::last_segment(&self.id)
    }
    pub fn location(&self) -> Option<&str> {
        self.body.get("location").and_then(Value::as_str)
    }
    pub fn prop(&self, path: &str) -> Option<&Value> {
        jpath::get(&self.body, &format!("properties.{path}"))
    }
    pub fn prop_str(&self, path: &str) -> Option<&str> {
        self.prop(path).and_then(Value::as_str)
    }
    pub fn is(&self, type_name: &str) -> bool {
        self.type_name.eq_ignore_ascii_case(type_name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) enum OpStatus {
    InProgress,
    Succeeded,
    Failed,
    Canceled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum OpKind {
    Put,
    Delete,
    RgDelete,
    /// Purging the soft-deleted object under `key`.
    Purge {
        #[serde(alias = "vault_key")]
        key: String,
    },
    Register {
        ns: String,
    },
}

/// What a `Location` poll answers once the operation is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OpResult {
    /// 200 with the resource body (storage and PostgreSQL creates).
    Resource,
    /// This status with no body.
    Status(u16),
}

/// A long-running operation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Operation {
    pub id: String,
    pub sub: String,
    pub namespace: String,
    pub location: String,
    pub resource_id: String,
    pub resource_key: String,
    pub kind: OpKind,
    pub lock_key: Option<String>,
    pub conflict_code: String,
    pub start_ms: i64,
    pub due_ms: i64,
    pub end_ms: Option<i64>,
    pub status: OpStatus,
    pub error: Option<Value>,
    /// Error injected by a `fail_operation` fault: the operation ends `Failed` with it.
    pub fail: Option<Value>,
    pub running_status: String,
    pub covers: Vec<String>,
    pub api_version: String,
    pub result: OpResult,
}

/// An object Azure keeps after its delete until it is purged, its
/// retention ends or it is recovered (a Key Vault, a Log Analytics
/// workspace). The store knows no types: each type's hooks say what goes in
/// and under which key, and what a recovery or a name check looks up.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SoftDeleted {
    /// Canonical type of the deleted object.
    pub type_name: String,
    /// Its id while it existed.
    pub id: String,
    /// Subscription, lower-case.
    pub sub: String,
    pub name: String,
    pub location: String,
    /// Its body at deletion, for a recovery.
    pub body: Value,
    pub deleted_ms: i64,
    /// When it is purged automatically (retention, scaled by time-scale).
    pub purge_ms: i64,
    /// The purge date Azure reports (retention in real time).
    pub scheduled_purge_date: String,
    pub purge_protection: bool,
    /// A purge operation is running.
    pub purging: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum RegState {
    NotRegistered,
    Registering { due_ms: i64 },
    Registered,
}

/// The whole mutable state of the simulator (behind one RwLock).
#[derive(Default)]
pub(crate) struct State {
    pub resources: BTreeMap<String, Resource>,
    refs_in: HashMap<String, BTreeSet<String>>,
    refs_out: HashMap<String, Vec<String>>,
    pub ops: HashMap<String, Operation>,
    pub op_order: Vec<String>,
    pub running: BTreeSet<String>,
    pub due: BinaryHeap<Reverse<(i64, String)>>,
    /// Soft-deleted objects by the key their type chose.
    pub soft_deleted: BTreeMap<String, SoftDeleted>,
    pub registrations: BTreeMap<String, BTreeMap<String, RegState>>,
    pub incarnations: HashMap<String, u32>,
    pub seq: u64,
    /// Bumped on every change; rendered caches older than this are stale.
    pub generation: u64,
}

/// Completed operations kept for late pollers.
const MAX_FINISHED_OPS: usize = 5_000;

impl State {
    pub fn get(&self, key: &str) -> Option<&Resource> {
        self.resources.get(key)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Resource> {
        self.generation += 1;
        let r = self.resources.get_mut(key)?;
        *r.cache.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
        Some(r)
    }

    /// Re-indexes a resource's outgoing references after its body changed.
    pub fn reindex(&mut self, key: &str) {
        self.unindex(key);
        let Some(r) = self.resources.get(key) else { return };
        let mut ids = Vec::new();
        r.body.peek(|b| jpath::arm_ids(b, &mut ids));
        let mut targets: Vec<String> =
            ids.iter().map(|i| crate::armpath::key_of(i)).filter(|t| t != key && !t.starts_with(&format!("{key}/"))).collect();
        targets.sort();
        targets.dedup();
        for t in &targets {
            self.refs_in.entry(t.clone()).or_default().insert(key.to_string());
        }
        self.refs_out.insert(key.to_string(), targets);
    }

    fn unindex(&mut self, key: &str) {
        if let Some(old) = self.refs_out.remove(key) {
            for t in old {
                if let Some(set) = self.refs_in.get_mut(&t) {
                    set.remove(key);
                    if set.is_empty() {
                        self.refs_in.remove(&t);
                    }
                }
            }
        }
    }

    /// Resources whose bodies name `key` (or a sub-resource of it when `include_subpaths`).
    pub fn referrers(&self, key: &str) -> Vec<&Resource> {
        let mut out: Vec<&Resource> = self.refs_in.get(key).into_iter().flatten().filter_map(|k| self.resources.get(k)).collect();
        out.sort_by_key(|r| r.seq);
        out
    }

    /// Direct children of `parent_key` of one type, in creation order.
    pub fn children(&self, parent_key: &str, type_name: &str) -> Vec<&Resource> {
        let prefix = format!("{parent_key}/");
        let mut out: Vec<&Resource> = self
            .resources
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, r)| r.is(type_name) && k[prefix.len()..].matches('/').count() == 1)
            .map(|(_, r)| r)
            .collect();
        out.sort_by_key(|r| r.seq);
        out
    }

    /// Every resource whose key starts with `prefix` (`prefix` itself excluded unless it matches exactly).
    pub fn under(&self, key: &str) -> impl Iterator<Item = &Resource> {
        let prefix = format!("{key}/");
        self.resources.range(prefix.clone()..).take_while(move |(k, _)| k.starts_with(&prefix)).map(|(_, r)| r)
    }

    pub fn of_type<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.values().filter(move |r| r.is(type_name))
    }

    /// Creates or replaces a resource; keeps creation time and order of an existing one.
    #[allow(clippy::too_many_arguments)]
    pub fn store(&mut self, cfg: &SimConfig, type_name: &str, id: &str, body: Value, api_version: &str, prov: Prov, now_ms: i64) -> bool {
        let key = crate::armpath::key_of(id);
        self.generation += 1;
        let etag_n = self.generation;
        let created = if let Some(r) = self.resources.get_mut(&key) {
            r.body = Body::new(&body);
            r.api_version = api_version.to_string();
            r.prov = prov;
            r.updated_ms = now_ms;
            r.etag = crate::ids::guid(cfg.seed, &[&key, "etag", &etag_n.to_string()]);
            *r.cache.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
            false
        } else {
            // Only deleted ids are remembered, so a re-created resource gets new generated ids.
            let incarnation = self.incarnations.remove(&key).unwrap_or(0) + 1;
            self.seq += 1;
            let r = Resource {
                id: id.to_string(),
                type_name: type_name.to_string(),
                api_version: api_version.to_string(),
                body: Body::new(&body),
                secrets: BTreeMap::new(),
                prov,
                etag: crate::ids::guid(cfg.seed, &[&key, "etag", &etag_n.to_string()]),
                created_ms: now_ms,
                updated_ms: now_ms,
                seq: self.seq,
                incarnation,
                sim: Map::new(),
                cache: Mutex::new(None),
            };
            self.resources.insert(key.clone(), r);
            true
        };
        self.reindex(&key);
        created
    }

    /// The incarnation a resource created now at `key` would get.
    pub fn next_incarnation(&self, key: &str) -> u32 {
        match self.resources.get(key) {
            Some(r) => r.incarnation,
            None => self.incarnations.get(key).copied().unwrap_or(0) + 1,
        }
    }

    /// Removes one resource without hooks.
    pub fn remove_one(&mut self, key: &str) -> Option<Resource> {
        self.generation += 1;
        self.unindex(key);
        let r = self.resources.remove(key)?;
        self.incarnations.insert(key.to_string(), r.incarnation);
        Some(r)
    }

    /// Removes a resource and everything under it, deepest first, running each type's delete hook.
    pub fn remove_tree(&mut self, cfg: &SimConfig, now_ms: i64, key: &str) -> Vec<String> {
        let mut keys: Vec<String> = self.under(key).map(|r| r.key()).collect();
        if self.resources.contains_key(key) {
            keys.push(key.to_string());
        }
        keys.sort_by_key(|k| Reverse(k.matches('/').count()));
        let mut removed = Vec::new();
        for k in keys {
            if let Some(r) = self.remove_one(&k) {
                for e in r.spec().hooks.on_delete(self, cfg, now_ms, &r) {
                    self.apply(cfg, now_ms, e);
                }
                removed.push(r.id.clone());
            }
        }
        removed
    }

    /// Applies one effect; what a created resource shows is settled at once
    /// (writes that follow an operation go through `writes::apply_effects`).
    pub fn apply(&mut self, cfg: &SimConfig, now_ms: i64, e: Effect) {
        match e {
            Effect::Upsert { type_name, id, body } => {
                let av = spec::by_name(type_name).api_versions[0];
                self.store(cfg, type_name, &id, body, av, Prov::Succeeded, now_ms);
            }
            Effect::Remove { key } => {
                self.remove_tree(cfg, now_ms, &key);
            }
            Effect::Mutate { key, f } => {
                if let Some(r) = self.get_mut(&key) {
                    f(r);
                    self.reindex(&key);
                }
            }
            Effect::SoftDelete { key, kept } => {
                self.generation += 1;
                self.soft_deleted.insert(key, kept);
            }
            Effect::Recover { key } => {
                self.generation += 1;
                self.soft_deleted.remove(&key);
            }
        }
    }

    /// The soft-deleted objects of one type.
    pub fn soft_deleted_of<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = (&'a String, &'a SoftDeleted)> + 'a {
        self.soft_deleted.iter().filter(move |(_, d)| d.type_name.eq_ignore_ascii_case(type_name))
    }

    // ---- operations ----

    pub fn add_op(&mut self, op: Operation) {
        self.due.push(Reverse((op.due_ms, op.id.clone())));
        self.running.insert(op.id.clone());
        self.op_order.push(op.id.clone());
        self.ops.insert(op.id.clone(), op);
        if self.op_order.len() > MAX_FINISHED_OPS + self.running.len() {
            let drop_n = self.op_order.len() - MAX_FINISHED_OPS - self.running.len();
            let mut kept = Vec::with_capacity(self.op_order.len());
            let mut dropped = 0;
            for id in std::mem::take(&mut self.op_order) {
                if dropped < drop_n && !self.running.contains(&id) {
                    self.ops.remove(&id);
                    dropped += 1;
                } else {
                    kept.push(id);
                }
            }
            self.op_order = kept;
        }
    }

    /// The running operation that a write to `lock_key` collides with.
    pub fn running_on(&self, lock_key: &str) -> Option<&Operation> {
        self.running
            .iter()
            .filter_map(|id| self.ops.get(id))
            .find(|o| o.lock_key.as_deref() == Some(lock_key) || o.resource_key == lock_key)
    }

    pub fn earliest_due(&self) -> Option<i64> {
        let op_due = self.due.peek().map(|Reverse((d, _))| *d);
        let reg_due = self
            .registrations
            .values()
            .flat_map(|m| m.values())
            .filter_map(|s| match s {
                RegState::Registering { due_ms } => Some(*due_ms),
                _ => None,
            })
            .min();
        let purge_due = self.soft_deleted.values().map(|d| d.purge_ms).min();
        [op_due, reg_due, purge_due].into_iter().flatten().min()
    }

    // ---- registrations ----

    pub fn registration(&self, cfg: &SimConfig, sub: &str, ns: &str) -> RegState {
        self.registrations
            .get(&sub.to_ascii_lowercase())
            .and_then(|m| m.get(&ns.to_ascii_lowercase()))
            .cloned()
            .unwrap_or(if cfg.registered_namespaces.initially_registered(ns) { RegState::Registered } else { RegState::NotRegistered })
    }

    pub fn set_registration(&mut self, sub: &str, ns: &str, s: RegState) {
        self.generation += 1;
        self.registrations.entry(sub.to_ascii_lowercase()).or_default().insert(ns.to_ascii_lowercase(), s);
    }

    /// Everything a reset wipes.
    pub fn clear(&mut self) {
        let generation = self.generation + 1;
        *self = State::default();
        self.generation = generation;
    }

    /// Rebuilds indexes after loading.
    pub fn rebuild_indexes(&mut self) {
        let keys: Vec<String> = self.resources.keys().cloned().collect();
        for k in keys {
            self.reindex(&k);
        }
        self.due.clear();
        self.running.clear();
        for op in self.ops.values() {
            if op.status == OpStatus::InProgress {
                self.due.push(Reverse((op.due_ms, op.id.clone())));
                self.running.insert(op.id.clone());
            }
        }
    }
}

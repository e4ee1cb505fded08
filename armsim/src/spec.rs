//! The data that makes the engine generic: one `Spec` per ARM resource type, with hooks for the
//! few things that differ (validation, computed properties, embedded children, side effects).

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::config::SimConfig;
use crate::error::ArmError;
use crate::state::{Resource, SoftDeleted, State};

/// Where a type's `location` comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Loc {
    /// A tracked resource: `location` required and must be an Azure region.
    Region,
    /// Must be `global` (private DNS).
    Global,
    /// Child, proxy and extension resources: no location of their own.
    None,
}

/// How a PUT (create or update) answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PutStyle {
    /// 200/201 with the final body.
    Sync,
    /// 200/201 with a body in a non-terminal state and `Azure-AsyncOperation` (Network, AKS, ACR, Compute, Cosmos).
    AsyncOp { status: u16, also_location: bool },
    /// 202 with no body and `Location` (plus `Azure-AsyncOperation` when `async_header`).
    Accepted { async_header: bool },
    /// 200/201 with a non-terminal `provisioningState` and no header: clients poll the resource (Key Vault).
    Poll { state: &'static str },
}

impl PutStyle {
    pub fn is_lro(self) -> bool {
        self != PutStyle::Sync
    }
}

/// How a DELETE answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeleteStyle {
    /// 200 (or 204 when already gone) at once.
    Sync,
    /// 202 with `Location` (and `Azure-AsyncOperation` when `async_header`); the Location poll ends with `done`.
    Accepted { async_header: bool, done: u16 },
}

/// Which writes conflict with a running operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lock {
    /// Only operations on the resource itself.
    Own,
    /// Operations on the parent (and the parent's other children): subnets and peerings lock their VNet.
    Parent,
}

/// Realistic durations (seconds, before time-scale) of create, update and delete.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Durations {
    pub create: f64,
    pub update: f64,
    pub delete: f64,
}

pub(crate) const fn secs(create: f64, update: f64, delete: f64) -> Durations {
    Durations { create, update, delete }
}

/// A per-type name rule: length bounds plus a pattern.
pub(crate) struct NameRule {
    pub min: usize,
    pub max: usize,
    pub re: LazyLock<Regex>,
    pub code: &'static str,
    pub rule: &'static str,
}

impl NameRule {
    pub fn check(&self, name: &str, what: &str) -> Result<(), ArmError> {
        let n = name.chars().count();
        if n < self.min || n > self.max || !self.re.is_match(name) {
            return Err(ArmError::bad_request(self.code, format!("The {what} name '{name}' is invalid. {}", self.rule)).with_target("name"));
        }
        Ok(())
    }
}

/// Globally unique names (DNS names): the code ARM answers when another resource holds the name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GlobalName {
    pub status: u16,
    pub code: &'static str,
    pub message: &'static str,
}

/// Everything the engine needs to know about one resource type.
pub(crate) struct Spec {
    /// Canonical type, e.g. `Microsoft.Network/virtualNetworks/subnets`.
    pub type_name: &'static str,
    pub api_versions: &'static [&'static str],
    pub loc: Loc,
    pub name: Option<&'static NameRule>,
    /// The only name allowed (`default` for blob services and network rule sets).
    pub fixed_name: Option<&'static str>,
    pub create: PutStyle,
    pub update: PutStyle,
    pub delete: DeleteStyle,
    pub durations: Durations,
    pub global_name: Option<GlobalName>,
    pub lock: Lock,
    /// Error code for a write that collides with a running operation.
    pub conflict_code: &'static str,
    /// The type's own wording for that collision, given the running
    /// operation's resource type, name and shown state (ARM's generic
    /// "Another operation on this or dependent resource…" when `None`).
    pub conflict_message: Option<fn(&str, &str, &str) -> String>,
    /// Where provisioningState lives, if the type has one.
    pub prov_path: Option<&'static str>,
    pub etag: bool,
    /// Read-only paths dropped from request bodies (the simulator computes them).
    pub readonly: &'static [&'static str],
    /// Write-only paths: stored as SHA-256, never echoed.
    pub secrets: &'static [&'static str],
    /// Status an Azure-AsyncOperation poll shows while running (ACR says `Creating`).
    pub running_status: &'static str,
    /// Whether a sync DELETE answers with the deleted body (role assignments do).
    pub delete_echoes_body: bool,
    /// Status of a synchronous create (201 for most, 200 for Service Bus children).
    pub sync_create_status: u16,
    pub hooks: &'static dyn Hooks,
}

/// A spec with the common defaults, for struct-update syntax.
pub(crate) const BASE: Spec = Spec {
    type_name: "",
    api_versions: &[],
    loc: Loc::Region,
    name: None,
    fixed_name: None,
    create: PutStyle::Sync,
    update: PutStyle::Sync,
    delete: DeleteStyle::Sync,
    durations: secs(0.0, 0.0, 0.0),
    global_name: None,
    lock: Lock::Own,
    conflict_code: "Conflict",
    conflict_message: None,
    prov_path: Some("properties.provisioningState"),
    etag: false,
    readonly: &[],
    secrets: &[],
    running_status: "InProgress",
    delete_echoes_body: false,
    sync_create_status: 201,
    hooks: &NoHooks,
};

impl Spec {
    pub fn namespace(&self) -> &'static str {
        self.type_name.split('/').next().unwrap_or("")
    }
    /// Type segments after the namespace.
    pub fn type_segments(&self) -> Vec<&'static str> {
        self.type_name.split('/').skip(1).collect()
    }
    pub fn short_type(&self) -> &'static str {
        self.type_name.rsplit('/').next().unwrap_or(self.type_name)
    }
}

/// The verb of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Create,
    Update,
    Delete,
}

/// Side effects a validated write asks the engine to apply after storing the resource.
pub(crate) enum Effect {
    /// Create or replace a resource of another (or the same) type, e.g. subnets from a VNet body.
    Upsert { type_name: &'static str, id: String, body: Value },
    /// Delete a resource and everything under it (running its delete hooks).
    Remove { key: String },
    /// Change a stored resource in place.
    Mutate { key: String, f: Box<dyn FnOnce(&mut Resource) + Send> },
    /// Keep a deleted object in the soft-delete store under `key` until it
    /// is purged, expires or is recovered.
    SoftDelete { key: String, kept: SoftDeleted },
    /// The soft-deleted object under `key` is back (a recovering create).
    Recover { key: String },
}

/// What a `validate` hook sees and can change.
pub(crate) struct PutCx<'a> {
    pub st: &'a State,
    pub cfg: &'a SimConfig,
    pub now_ms: i64,
    pub id: String,
    pub key: String,
    pub name: String,
    pub sub: String,
    /// Canonical resource-group name, when the resource lives in one.
    pub rg: Option<String>,
    pub parent: Option<&'a Resource>,
    pub existing: Option<&'a Resource>,
    /// The new stored body (read-only paths and secrets already removed).
    pub body: Value,
    /// The body as received (secrets included), for checks on write-only values.
    pub raw: &'a Value,
    pub effects: Vec<Effect>,
    /// Seconds the operation takes when the hook knows better than the table.
    pub duration: Option<f64>,
    /// Resources whose provisioningState follows this operation (children written through the parent).
    pub covers: Vec<String>,
    pub incarnation: u32,
    /// Object id of the caller (from the bearer token).
    pub caller: String,
}

impl PutCx<'_> {
    /// A GUID stable for this resource incarnation and purpose.
    pub fn guid(&self, purpose: &str) -> String {
        crate::ids::guid(self.cfg.seed, &[&self.key, &self.incarnation.to_string(), purpose])
    }
    pub fn hex(&self, purpose: &str, n: usize) -> String {
        crate::ids::hexid(self.cfg.seed, &[&self.key, &self.incarnation.to_string(), purpose], n)
    }
    /// Keeps a computed value from the stored resource, or computes it on create.
    pub fn keep(&mut self, path: &str, make: impl FnOnce(&Self) -> Value) {
        let v =
            self.existing.and_then(|e| crate::jpath::get(&e.body, path).cloned()).filter(|v| !v.is_null()).unwrap_or_else(|| make(self));
        crate::jpath::set(&mut self.body, path, v);
    }
    pub fn location(&self) -> String {
        self.body
            .get("location")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| self.parent.and_then(|p| p.location().map(str::to_string)))
            .unwrap_or_else(|| "global".into())
    }
    pub fn tenant(&self) -> &str {
        &self.cfg.tenant_id
    }
    pub fn prop(&self, path: &str) -> Option<&Value> {
        crate::jpath::get(&self.body, &format!("properties.{path}"))
    }
    pub fn prop_str(&self, path: &str) -> Option<&str> {
        self.prop(path).and_then(Value::as_str)
    }
    pub fn upsert(&mut self, type_name: &'static str, id: String, body: Value) {
        self.effects.push(Effect::Upsert { type_name, id, body });
    }
    pub fn remove(&mut self, key: String) {
        self.effects.push(Effect::Remove { key });
    }
    pub fn mutate(&mut self, key: String, f: impl FnOnce(&mut Resource) + Send + 'static) {
        self.effects.push(Effect::Mutate { key, f: Box::new(f) });
    }
    /// The soft-deleted object under `key` is recovered by this write.
    pub fn recover(&mut self, key: String) {
        self.effects.push(Effect::Recover { key });
    }
}

/// Type-specific behaviour. Every method has a do-nothing default.
pub(crate) trait Hooks: Sync {
    /// Validate the new body, fill defaults and computed properties, and plan side effects.
    fn validate(&self, _cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        Ok(())
    }
    /// Add properties derived from other resources (back-references, embedded children, counts).
    fn render(&self, _st: &State, _cfg: &SimConfig, _res: &Resource, _body: &mut Value) {}
    /// Refuse a delete (a subnet in use, a public IP attached to a firewall).
    fn check_delete(&self, _st: &State, _res: &Resource) -> Result<(), ArmError> {
        Ok(())
    }
    /// Side effects of the resource disappearing (soft delete, owned
    /// resources), as effects the engine applies: hooks never change state.
    fn on_delete(&self, _st: &State, _cfg: &SimConfig, _now_ms: i64, _res: &Resource) -> Vec<Effect> {
        Vec::new()
    }
    /// POST actions on a resource (`listKeys`); `None` means the action does not exist.
    fn action(&self, _st: &State, _cfg: &SimConfig, _res: &Resource, _action: &str) -> Option<Result<Value, ArmError>> {
        None
    }
    /// Duration override for an operation (a policy attached to a firewall takes a firewall update).
    fn duration(&self, _st: &State, _res_key: &str, _verb: Verb, base: f64) -> f64 {
        base
    }
}

/// A type with no special behaviour.
pub(crate) struct NoHooks;
impl Hooks for NoHooks {}

static REGISTRY: LazyLock<HashMap<String, &'static Spec>> =
    LazyLock::new(|| crate::types::all().into_iter().map(|s| (s.type_name.to_ascii_lowercase(), s)).collect());

/// Looks a type up by its lower-case key.
pub(crate) fn lookup(type_key: &str) -> Option<&'static Spec> {
    REGISTRY.get(type_key).copied()
}

/// Every spec, sorted by type name.
pub(crate) fn all_sorted() -> Vec<&'static Spec> {
    let mut v: Vec<_> = REGISTRY.values().copied().collect();
    v.sort_by_key(|s| s.type_name);
    v
}

/// Looks a spec up by canonical type name (for effects).
pub(crate) fn by_name(type_name: &str) -> &'static Spec {
    lookup(&type_name.to_ascii_lowercase()).unwrap_or_else(|| panic!("type {type_name} is not registered"))
}

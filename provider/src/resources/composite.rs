//! What a composite resource is. Each of the five (hub, spoke, private AKS,
//! PaaS bundle, workload identity) implements [`Composite`]: its schema and
//! typed model, its plan, the spec (names, ids, ARM bodies) and how its
//! owned objects are reconciled, deleted, read back and imported. The
//! driver ([`super::driver`]) turns any `Composite` into a Terraform
//! resource with one sequence for all of them: validation, the plan
//! preamble and replacement rules, refusing objects that are not ours,
//! partial-failure state, drift, read and import.
//!
//! Contract for implementors: every ARM call goes through the `Azure`
//! client handed in; every object written is recorded with
//! [`Run::keep`] as soon as it exists, so a failure part-way still
//! reports it; nothing panics on what ARM or Terraform sends.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use trench_arm::{ArmClient, ArmError, Op, ResourceId};
use trench_plugin::framework::plan::ReplaceRule;
use trench_plugin::framework::timeouts::Timeouts;
use trench_plugin::framework::{Attribute, Block, Ctx, Diagnostics, Nesting, PlanRequest, Schema};
use trench_plugin::value::{Type, Val, Value, all_unknown, from_value};

use super::common::{ArmDiagnostics as _, Azure, Env};

/// The ARM bodies of a composite's owned objects, by slot (one per owned
/// object). Filled as objects are read or written.
#[derive(Clone, Debug)]
pub struct Bodies<S: Ord>(BTreeMap<S, Json>);

impl<S: Ord> Default for Bodies<S> {
    fn default() -> Self {
        Bodies(BTreeMap::new())
    }
}

impl<S: Ord + Clone> Bodies<S> {
    /// The body in `slot`, if that object exists.
    pub fn get(&self, slot: &S) -> Option<&Json> {
        self.0.get(slot)
    }
    /// True if the object in `slot` exists.
    pub fn has(&self, slot: &S) -> bool {
        self.0.contains_key(slot)
    }
    /// The body in `slot`, to change.
    pub fn get_mut(&mut self, slot: &S) -> Option<&mut Json> {
        self.0.get_mut(slot)
    }
    /// Records an object.
    pub fn insert(&mut self, slot: S, body: Json) {
        self.0.insert(slot, body);
    }
    /// Forgets an object (deleted, or about to be recreated).
    pub fn remove(&mut self, slot: &S) -> Option<Json> {
        self.0.remove(slot)
    }
    /// The slots of the objects that exist.
    pub fn slots(&self) -> impl Iterator<Item = &S> {
        self.0.keys()
    }
    /// Slot and body of every object that exists.
    pub fn iter(&self) -> impl Iterator<Item = (&S, &Json)> {
        self.0.iter()
    }
}

impl<S: Ord> FromIterator<(S, Json)> for Bodies<S> {
    fn from_iter<I: IntoIterator<Item = (S, Json)>>(iter: I) -> Self {
        Bodies(iter.into_iter().collect())
    }
}

/// A string at a JSON pointer.
pub fn str_at<'a>(j: &'a Json, ptr: &str) -> Option<&'a str> {
    j.pointer(ptr).and_then(Json::as_str)
}

/// Why an apply stopped.
#[derive(Debug)]
pub enum Failure {
    /// Refused before anything was written (a missing hub, an egress path
    /// that is not ready): the state stays as it was.
    Refused(Diagnostics),
    /// ARM failed a call.
    Arm(ArmError),
    /// A problem of our own, after writes began (with its attribute path).
    Diag(Diagnostics),
    /// Several independent branches failed.
    Many(Vec<Failure>),
}

impl From<ArmError> for Failure {
    fn from(e: ArmError) -> Failure {
        Failure::Arm(e)
    }
}

impl Failure {
    /// Every ARM error inside, for explanations that depend on the code.
    pub fn arm_errors(&self) -> Vec<&ArmError> {
        match self {
            Failure::Arm(e) => vec![e],
            Failure::Many(v) => v.iter().flat_map(Failure::arm_errors).collect(),
            _ => Vec::new(),
        }
    }
    /// As diagnostics; `explain` may say better what an ARM error means here.
    pub fn diagnostics(self, explain: &dyn Fn(&ArmError) -> Option<Diagnostics>) -> Diagnostics {
        match self {
            Failure::Refused(d) | Failure::Diag(d) => d,
            Failure::Arm(e) => explain(&e).unwrap_or_else(|| e.diagnostics()),
            Failure::Many(v) => {
                let mut d = Diagnostics::new();
                v.into_iter().for_each(|f| d.extend(f.diagnostics(explain)));
                d
            }
        }
    }
    /// All of `results`' failures as one, or `Ok`.
    pub fn all<T>(results: impl IntoIterator<Item = Result<T, Failure>>) -> Result<(), Failure> {
        let mut failed: Vec<Failure> = results.into_iter().filter_map(Result::err).collect();
        match failed.len() {
            0 => Ok(()),
            1 => Err(failed.remove(0)),
            _ => Err(Failure::Many(failed)),
        }
    }
}

/// What a create must not find, unless this composite made it in an apply
/// that did not finish (its owner tag): a resource group it creates and
/// deletes with itself (and the attribute naming it), and its main objects.
#[derive(Clone, Debug, Default)]
pub struct Claims {
    /// The resource group the composite owns, and the attribute naming it.
    pub group: Option<(ResourceId, &'static str)>,
    /// Objects that must be new.
    pub objects: Vec<ResourceId>,
}

/// One apply: the client, the spec and what the prior state owned, and the
/// bodies of what exists so far.
pub struct Run<'a, C: Specs> {
    /// The configured client and subscription.
    pub azure: &'a Azure,
    /// The operation (verb, deadline, stop signal).
    pub op: &'a Op,
    /// What should exist.
    pub spec: &'a C::Spec,
    /// What the prior state described (`None` when creating).
    pub prior: Option<&'a C::Spec>,
    /// The prior state itself (null when creating).
    pub prior_state: &'a Value,
    /// The configuration, with write-only values (null-free only at apply).
    pub config: &'a Value,
    /// A create, rather than an update.
    pub creating: bool,
    /// A create that found its own objects from an interrupted apply.
    pub resuming: bool,
    bodies: Mutex<Bodies<C::Slot>>,
}

impl<'a, C: Specs> Run<'a, C> {
    /// A run with nothing recorded yet.
    pub fn new(
        azure: &'a Azure,
        op: &'a Op,
        spec: &'a C::Spec,
        prior: Option<&'a C::Spec>,
        prior_state: &'a Value,
        config: &'a Value,
    ) -> Self {
        Run { azure, op, spec, prior, prior_state, config, creating: prior_state.is_null(), resuming: false, bodies: Mutex::default() }
    }
    /// The ARM client.
    pub fn arm(&self) -> &ArmClient {
        &self.azure.arm
    }
    /// The id of an owned object.
    pub fn id(&self, slot: &C::Slot) -> ResourceId {
        C::id(self.spec, slot)
    }
    /// Records that an object exists, as ARM last returned it.
    pub fn keep(&self, slot: C::Slot, body: Json) {
        self.bodies.lock().unwrap_or_else(PoisonError::into_inner).insert(slot, body);
    }
    /// Forgets an object that is being removed or recreated.
    pub fn forget(&self, slot: &C::Slot) {
        self.bodies.lock().unwrap_or_else(PoisonError::into_inner).remove(slot);
    }
    /// What is recorded of an object.
    pub fn body(&self, slot: &C::Slot) -> Option<Json> {
        self.bodies.lock().unwrap_or_else(PoisonError::into_inner).get(slot).cloned()
    }
    /// Makes one object match `want` (GET, wait out a running write, PUT
    /// only when missing, different or failed) and records it.
    pub async fn ensure(&self, slot: C::Slot, want: &Json) -> Result<Json, ArmError> {
        self.ensure_from(slot, want, None).await
    }
    /// [`Run::ensure`] with a body just read, saving the GET.
    pub async fn ensure_from(&self, slot: C::Slot, want: &Json, known: Option<Json>) -> Result<Json, ArmError> {
        let b = trench_arm::reconcile::ensure(self.arm(), self.op, &self.id(&slot), want, known).await?;
        self.keep(slot, b.clone());
        Ok(b)
    }
    /// PUTs without comparing (a create that found nothing) and records it.
    pub async fn put(&self, slot: C::Slot, want: &Json) -> Result<Json, ArmError> {
        let b = self.arm().put(self.op, &self.id(&slot), want).await?;
        self.keep(slot, b.clone());
        Ok(b)
    }
    /// Everything recorded.
    pub fn into_bodies(self) -> Bodies<C::Slot> {
        self.bodies.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A delete: the client and what the state to remove describes.
pub struct Deletion<'a, C: Specs> {
    /// The configured client and subscription.
    pub azure: &'a Azure,
    /// The operation.
    pub op: &'a Op,
    /// What the state describes.
    pub spec: &'a C::Spec,
    /// The state itself.
    pub state: &'a Value,
}

/// A plan, after the shared preamble: the configuration checked and
/// decoded, defaults filled in, replacement decided.
pub struct PlanCx<'a, C: Model> {
    /// The call's context (for plan-time ARM reads).
    pub ctx: &'a Ctx,
    /// Terraform's request.
    pub req: &'a PlanRequest,
    /// The configuration as written.
    pub cfg: C::Config,
    /// The configured client and subscription.
    pub azure: Azure,
    /// The planned state so far (defaults filled in); the driver patches
    /// the computed values into it.
    pub planned: Value,
    /// True if the plan replaces the composite.
    pub replacing: bool,
    /// Warnings so far; add more.
    pub diags: Diagnostics,
}

impl<C: Model> PlanCx<'_, C> {
    /// Every computed value unknown: what a plan says before the names the
    /// ids derive from are known.
    pub fn all_unknown(&self) -> Result<C::Computed, Diagnostics> {
        all_unknown().map_err(|e| Diagnostics::error(format!("Planning the {}", C::NOUN), e.to_string()))
    }
    /// The prior state's computed values, unless creating or replacing.
    pub fn prior_computed(&self) -> Option<C::Computed> {
        if self.req.prior.is_null() || self.replacing { None } else { from_value(&self.req.prior).ok() }
    }
    /// The drift lines of the prior state.
    pub fn prior_drift(&self) -> Vec<String> {
        match self.req.prior.get_attr("drift") {
            Some(Value::List(l)) => l.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    }
    /// The planned state as the typed configuration (defaults filled in).
    pub fn planned_config(&self) -> Result<C::Config, Diagnostics> {
        from_value(&self.planned).map_err(Diagnostics::from)
    }
}

/// An import, after the id was parsed and checked.
pub struct ImportCx<'a> {
    /// The configured client and subscription.
    pub azure: &'a Azure,
    /// The operation.
    pub op: &'a Op,
    /// The id given, parsed (the part before any `?`).
    pub id: &'a ResourceId,
    /// Names given after `?` in the import id (`name=value&…`), only from
    /// [`Model::IMPORT_OVERRIDES`].
    pub overrides: &'a BTreeMap<String, String>,
}

impl ImportCx<'_> {
    /// GETs the object the import id names, and its tags; "`<what>` not
    /// found" when it does not exist.
    pub async fn primary(&self, what: &str) -> Result<(Json, BTreeMap<String, String>), Diagnostics> {
        match self.azure.arm.get(self.op, self.id).await.map_err(|e| e.diagnostics())? {
            Some(body) => {
                let tags = super::network::read_tags(&body);
                Ok((body, tags))
            }
            None => Err(Diagnostics::error(format!("{what} not found"), format!("{} does not exist.", self.id.display()))),
        }
    }

    /// The environment the object belongs to: its `environment` tag, else
    /// the last `-` part of its name, if either is a valid environment.
    pub fn environment_hint(&self, tags: &BTreeMap<String, String>) -> Option<String> {
        tags.get("environment")
            .cloned()
            .or_else(|| self.id.name().rsplit('-').next().map(str::to_owned))
            .filter(|e| crate::conventions::check_environment(e).is_ok())
    }

    /// [`Self::environment_hint`], or an error saying neither tells it.
    pub fn environment(&self, tags: &BTreeMap<String, String>) -> Result<String, Diagnostics> {
        self.environment_hint(tags).ok_or_else(|| {
            Diagnostics::error(
                "Cannot tell the environment",
                format!("{} has no `environment` tag and its name does not end in one.", self.id.display()),
            )
        })
    }
}

/// What an import found: a state with the inputs discovered, the spec they
/// imply and the bodies read. The driver finishes it like a refresh.
pub struct Imported<C: Specs> {
    /// A state value with every attribute, the inputs filled in.
    pub state: Value,
    /// The spec (ids of what was found).
    pub spec: C::Spec,
    /// Bodies of the objects found.
    pub bodies: Bodies<C::Slot>,
    /// Warnings (objects left unmanaged).
    pub warnings: Diagnostics,
}

/// A composite's schema, typed model and plan: what Terraform sees. Lives
/// in the composite's `mod.rs`.
#[async_trait]
pub trait Model: Sized + Send + Sync + 'static {
    /// Terraform type name (`trench_hub`).
    const TYPE: &'static str;
    /// What it is called in messages (`hub`).
    const NOUN: &'static str;
    /// The ARM type of the import id and what that object is (`hub VNet`).
    const IMPORT: (&'static str, &'static str);
    /// Names an import id may set after `?`.
    const IMPORT_OVERRIDES: &'static [&'static str] = &[];
    /// When set, a plan that replaces the composite is refused unless
    /// `allow_replacement = true`; the text says what replacing destroys.
    const REPLACEMENT_DESTROYS: Option<&'static str> = None;
    /// The ARM types it manages (the `api_versions` attribute).
    const ARM_TYPES: &'static [&'static str];
    /// Top-level attributes whose change replaces the composite, with why.
    const REPLACE: &'static [(&'static str, &'static str)];

    /// The typed configuration (every attribute possibly null or unknown).
    type Config: DeserializeOwned + Send + Sync;
    /// The computed attributes.
    type Computed: Serialize + DeserializeOwned + Default + Send;

    /// Who carries `tags_all` (`every object`).
    const TAGGED: &'static str = "every object";
    /// The composite's own attributes (the driver adds `tags_all`, `drift`,
    /// `api_versions` and `timeouts`).
    fn attributes() -> Block;
    /// The schema: [`Model::attributes`] and the bookkeeping every composite has.
    fn schema() -> Schema {
        Schema::new(bookkeeping(Self::attributes(), Self::TAGGED, &Self::TIMEOUTS))
    }
    /// Default timeouts.
    const TIMEOUTS: Timeouts;
    /// Every replacement rule ([`Model::REPLACE`] unless a composite has
    /// nested ones).
    fn replace_rules() -> Vec<ReplaceRule> {
        Self::REPLACE.iter().map(|(a, r)| ReplaceRule { path: trench_plugin::framework::AttrPath::root(a), reason: r }).collect()
    }
    /// Static validation of the typed configuration (its `validate.rs`).
    const CHECK: fn(&Self::Config) -> Diagnostics;
    /// Static validation of a (possibly partly unknown) configuration, with
    /// attribute paths; no ARM call. By default the typed configuration is
    /// checked by [`Model::CHECK`].
    fn check(raw: &Value) -> Diagnostics {
        match from_value::<Self::Config>(raw) {
            Ok(c) => (Self::CHECK)(&c),
            Err(e) => e.into(),
        }
    }
    /// Fills the defaults of optional+computed attributes the configuration
    /// leaves null (the default wins over a drifted state value).
    fn fill_defaults(planned: &mut Value, req: &PlanRequest, cfg: &Self::Config);
    /// The computed values as far as a plan knows them; may add warnings
    /// or refuse.
    async fn plan(cx: &mut PlanCx<'_, Self>) -> Result<Self::Computed, Diagnostics>;
}

/// A composite's spec: the objects it owns, their ids, and the computed
/// values their bodies give. Lives in `spec.rs`, with the ARM bodies
/// (expand) and reading them back (flatten).
pub trait Specs: Model {
    /// The desired objects, from a known state; no ARM call makes one.
    type Spec: Clone + Debug + Send + Sync;
    /// One owned object.
    type Slot: Clone + Ord + Debug + Send + Sync;

    /// The desired objects from a wholly known planned or state value.
    fn spec_from(env: &Env, v: &Value) -> Result<Self::Spec, Diagnostics>;
    /// The id of an owned object.
    fn id(spec: &Self::Spec, slot: &Self::Slot) -> ResourceId;
    /// Every object the spec owns, in dependency order.
    fn slots(spec: &Self::Spec) -> Vec<Self::Slot>;
    /// The composite's own id (its import id).
    fn import_id(spec: &Self::Spec) -> ResourceId;
    /// The tags every object carries, the owner tag included.
    fn tags(spec: &Self::Spec) -> &BTreeMap<String, String>;
    /// What a create must not find.
    fn claims(spec: &Self::Spec) -> Claims;
    /// The computed values from what exists (the driver adds `tags_all`,
    /// `drift` and `api_versions`).
    fn computed(spec: &Self::Spec, bodies: &Bodies<Self::Slot>) -> Self::Computed;
}

/// Creating, updating and deleting a composite's objects (`apply.rs`).
#[async_trait]
pub trait Apply: Specs {
    /// Creates or updates every owned object, recording each in `run`.
    async fn reconcile(run: &Run<'_, Self>) -> Result<(), Failure>;
    /// Deletes every object the state owns, tolerant of objects already
    /// gone; warnings for what it leaves (a resource group not empty).
    async fn delete(d: &Deletion<'_, Self>) -> Result<Diagnostics, Failure>;
    /// A better diagnostic for an ARM error in this composite, if there is one.
    fn explain(_spec: &Self::Spec, _bodies: &Bodies<Self::Slot>, _e: &ArmError) -> Option<Diagnostics> {
        None
    }
    /// The state after a successful apply: the planned state with the
    /// computed values. Override to read back what Azure decides.
    fn applied(planned: &Value, spec: &Self::Spec, bodies: &Bodies<Self::Slot>) -> Result<Value, Diagnostics> {
        let mut state = planned.clone();
        super::common::patch(&mut state, &Self::computed(spec, bodies))?;
        Ok(state)
    }
}

/// Reading a composite back and importing it (`observe.rs`).
#[async_trait]
pub trait Observe: Specs {
    /// GETs every owned object (one GET each). By default every slot, in parallel.
    async fn fetch(azure: &Azure, op: &Op, spec: &Self::Spec) -> Result<Bodies<Self::Slot>, ArmError> {
        get_all(&azure.arm, op, Self::slots(spec).into_iter().map(|s| (Self::id(spec, &s), s)).collect()).await
    }
    /// True if what was fetched means the composite no longer exists.
    fn gone(spec: &Self::Spec, bodies: &Bodies<Self::Slot>) -> bool;
    /// Writes back into a state the inputs an attribute expresses, as
    /// observed (keeping the prior's spelling when the meaning is the same:
    /// [`merge_inputs`]). The computed values are [`Specs::computed`]'s.
    fn read_back(state: &mut Value, spec: &Self::Spec, bodies: &Bodies<Self::Slot>) -> Result<(), Diagnostics>;
    /// What differs in ways no input expresses, one line per object: apply repairs it.
    fn drift(spec: &Self::Spec, bodies: &Bodies<Self::Slot>) -> Vec<String>;
    /// Finds an existing composite from its id.
    async fn import(cx: &ImportCx<'_>) -> Result<Imported<Self>, Diagnostics>;
}

/// One composite resource: its four parts, one per file of its folder.
/// See the module documentation for the contract.
pub trait Composite: Model + Specs + Apply + Observe {}

impl<C: Model + Specs + Apply + Observe> Composite for C {}

/// The state for what exists: `prior` with the observed inputs read back
/// and the computed values.
pub fn read_state<C: Observe>(prior: &Value, spec: &C::Spec, bodies: &Bodies<C::Slot>) -> Result<Value, Diagnostics> {
    let mut state = prior.clone();
    C::read_back(&mut state, spec, bodies)?;
    super::common::patch(&mut state, &C::computed(spec, bodies))?;
    Ok(state)
}

/// GETs the objects in parallel; the bodies of those that exist.
pub async fn get_all<S: Ord + Clone + Send>(arm: &ArmClient, op: &Op, objects: Vec<(ResourceId, S)>) -> Result<Bodies<S>, ArmError> {
    let got = futures::future::join_all(objects.iter().map(|(id, _)| arm.get(op, id))).await;
    let mut b = Bodies::default();
    for ((_, slot), r) in objects.into_iter().zip(got) {
        if let Some(body) = r? {
            b.insert(slot, body);
        }
    }
    Ok(b)
}

/// Deletes the objects in parallel; all must go (or be gone already).
pub async fn delete_all(arm: &ArmClient, op: &Op, ids: &[ResourceId]) -> Result<(), ArmError> {
    futures::future::join_all(ids.iter().map(|id| arm.delete(op, id))).await.into_iter().collect::<Result<Vec<()>, ArmError>>()?;
    Ok(())
}

/// A state value with every attribute of the schema null (and `timeouts`),
/// for an import to fill in.
pub fn null_state(schema: &Schema) -> BTreeMap<String, Value> {
    let mut m: BTreeMap<String, Value> = schema.block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    m.extend(schema.block.blocks.iter().map(|b| (b.name.clone(), Value::Null)));
    m
}

/// Equal as Terraform should see it: strings case-insensitively (ARM
/// echoes its own casing), lists and sets of strings without order, null
/// and empty alike.
pub fn same_meaning(a: &Value, b: &Value) -> bool {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Map(m) | Value::Object(m) => m.is_empty(),
        Value::List(l) | Value::Set(l) => l.is_empty(),
        _ => false,
    };
    match (a, b) {
        _ if empty(a) && empty(b) => true,
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::List(x) | Value::Set(x), Value::List(y) | Value::Set(y)) if x.iter().all(|v| matches!(v, Value::String(_))) => {
            x.len() == y.len() && x.iter().all(|v| y.iter().any(|w| same_meaning(v, w)))
        }
        _ => a == b,
    }
}

/// Writes observed inputs into a state, each unless the state already says
/// the same ([`same_meaning`]), so a refresh shows only real differences.
pub fn merge_inputs(state: &mut Value, inputs: impl IntoIterator<Item = (&'static str, Value)>) {
    let Value::Object(m) = state else { return };
    for (k, v) in inputs {
        if !m.get(k).is_some_and(|p| same_meaning(p, &v)) {
            m.insert(k.to_owned(), v);
        }
    }
}

/// The drift every composite reports alike: an owned object that is
/// missing (unless its absence shows in an input instead: `missing_is_drift`
/// says), and tags that differ on every object that carries them.
pub fn presence_drift<C: Specs>(
    spec: &C::Spec,
    b: &Bodies<C::Slot>,
    tagged: impl Fn(&C::Slot) -> bool,
    missing_is_drift: impl Fn(&C::Slot) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for slot in C::slots(spec) {
        let what = C::id(spec, &slot).display();
        match b.get(&slot) {
            None if missing_is_drift(&slot) => out.push(format!("{what} is missing")),
            None => {}
            Some(body) if tagged(&slot) => out.extend(super::network::tag_drift(&what, body, C::tags(spec))),
            Some(_) => {}
        }
    }
    out
}

/// [`Model::fill_defaults`] for a create (tests).
#[cfg(test)]
pub fn fill_for_create<C: Model>(planned: &mut Value, config: &Value, cfg: &C::Config) {
    let req = PlanRequest { prior: Value::Null, proposed: planned.clone(), config: config.clone(), prior_private: Vec::new() };
    C::fill_defaults(planned, &req, cfg)
}

/// The computed attributes every composite has, which the driver keeps:
/// the tags objects carry, what differs, and the api-versions in use.
#[derive(Serialize)]
pub struct Bookkeeping {
    /// `tags_all`.
    pub tags_all: Val<BTreeMap<String, String>>,
    /// `drift`.
    pub drift: Val<Vec<String>>,
    /// `api_versions`.
    pub api_versions: Val<BTreeMap<String, String>>,
}

/// The attributes and block every composite ends with: `tags` and
/// `tags_all` (the tags `who` carries), `drift`, `api_versions` and `timeouts`.
pub fn bookkeeping(block: Block, who: &str, timeouts: &Timeouts) -> Block {
    let tags = format!("Tags for {who}, merged over the provider's `default_tags` and trench's conventional tags.");
    block
        .attr(Attribute::optional("tags", Type::map(Type::String)).describe(&tags))
        .attr(Attribute::computed("tags_all", Type::map(Type::String)).describe(&format!("The tags {who} carries.")))
        .attr(
            Attribute::computed("drift", Type::list(Type::String))
                .describe("Objects found differing from configuration at the last refresh, one line each; apply repairs them."),
        )
        .attr(Attribute::computed("api_versions", Type::map(Type::String)).describe("The ARM api-version used for each resource type."))
        .block("timeouts", Nesting::Single, trench_plugin::framework::timeouts::block(timeouts))
}

/// A plan's top-level attributes, for filling in defaults: a default goes
/// in only where the configuration leaves the attribute null (the default
/// wins over a drifted state value).
pub struct Defaults<'a> {
    /// The planned state's attributes.
    pub planned: &'a mut BTreeMap<String, Value>,
    config: &'a Value,
}

impl<'a> Defaults<'a> {
    /// Over a planned object value; `None` for anything else.
    pub fn of(planned: &'a mut Value, config: &'a Value) -> Option<Defaults<'a>> {
        match planned {
            Value::Object(m) => Some(Defaults { planned: m, config }),
            _ => None,
        }
    }
    /// True if the configuration leaves `attr` null.
    pub fn unset(&self, attr: &str) -> bool {
        self.config.get_attr(attr).is_none_or(Value::is_null)
    }
    /// Sets `attr` to `v` unless the configuration sets it.
    pub fn set(&mut self, attr: &str, v: Value) {
        if self.unset(attr) {
            self.planned.insert(attr.to_owned(), v);
        }
    }
}

impl Defaults<'_> {
    /// Sets `attr` to what `derive` makes of a known input: unknown until
    /// that input is known, or when nothing can be derived from it.
    pub fn derived<T>(&mut self, attr: &str, input: &Val<T>, derive: impl FnOnce(&T) -> Option<Value>) {
        self.set(attr, input.known().and_then(derive).unwrap_or_else(Value::unknown));
    }
}

/// A computed value kept from the prior state; unknown when the prior has
/// none yet (create, or a value not learnt).
pub fn kept<C, T: Clone>(prior: Option<&C>, pick: impl Fn(&C) -> &Val<T>) -> Val<T> {
    prior.map_or(Val::Unknown, |p| pick(p).clone().or_unknown())
}

/// A conventional name as a planned value: unknown until what it is made
/// from is known.
pub fn named<N>(names: Option<&N>, pick: impl Fn(&N) -> &String) -> Value {
    names.map(|n| Value::string(pick(n))).unwrap_or_else(Value::unknown)
}

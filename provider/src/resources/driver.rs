//! Any [`Composite`] as a Terraform resource: one sequence for validate,
//! plan, apply, read and import, the same for all five.
//!
//! - plan: check → decode → fill defaults → replacement rules (and the
//!   `allow_replacement` guard) → the composite's computed values;
//! - apply: delete, or spec → refuse what is not ours (create) →
//!   reconcile → state; on failure the state records every object that
//!   exists, lists what is not yet in place as drift, and says how to resume;
//! - read: spec → fetch (one GET per owned object) → gone, or state with drift;
//! - import: id checked → the composite finds its objects → read.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use async_trait::async_trait;
use trench_arm::{ArmError, ResourceId};
use trench_plugin::framework::plan;
use trench_plugin::framework::timeouts::Timeouts;
use trench_plugin::framework::{ApplyRequest, AttrPath, Ctx, Diagnostics, PlanRequest, Planned, Resource, Schema, Severity, StateResult};
use trench_plugin::value::{Val, Value, from_value};

use super::common::{self, Azure, owned_by};
use super::composite::{Bodies, Bookkeeping, Claims, Composite, Deletion, ImportCx, Model, PlanCx, Run, Specs};

/// A composite served as a Terraform resource.
pub struct Composed<C>(PhantomData<C>);

impl<C> Composed<C> {
    /// The resource.
    pub fn new() -> Composed<C> {
        Composed(PhantomData)
    }
}

impl<C> Default for Composed<C> {
    fn default() -> Self {
        Composed::new()
    }
}

#[async_trait]
impl<C: Composite> Resource for Composed<C> {
    fn type_name(&self) -> &'static str {
        C::TYPE
    }

    fn schema(&self) -> Schema {
        C::schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = C::check(config);
        if let Err(t) = Timeouts::from_value(config, C::TIMEOUTS) {
            d.extend(t);
        }
        d
    }

    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> Planned {
        plan_composite::<C>(ctx, &req).await.unwrap_or_else(Planned::failed)
    }

    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> StateResult {
        apply::<C>(ctx, req).await
    }

    async fn read(&self, ctx: &Ctx, state: Value, private: Vec<u8>) -> StateResult {
        match read::<C>(ctx, &state).await {
            Ok(s) => StateResult { state: s, private, diagnostics: Diagnostics::new() },
            Err(d) => StateResult { state, private, diagnostics: d },
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> StateResult {
        match import::<C>(ctx, id).await {
            Ok(r) => r,
            Err(d) => StateResult::failed(Value::Null, d),
        }
    }
}

async fn plan_composite<C: Composite>(ctx: &Ctx, req: &PlanRequest) -> Result<Planned, Diagnostics> {
    let checked = C::check(&req.config);
    if checked.has_errors() {
        return Err(checked);
    }
    let cfg: C::Config = from_value(&req.config)?;
    let azure = common::azure(ctx)?;
    let mut planned = req.proposed.clone();
    C::fill_defaults(&mut planned, req, &cfg);
    let (requires_replace, warnings) = plan::requires_replace(&req.prior, &planned, &C::replace_rules(), C::NOUN);
    let replacing = !requires_replace.is_empty();
    if let Some(destroys) = C::REPLACEMENT_DESTROYS
        && replacing
        && req.config.get_attr("allow_replacement") != Some(&Value::Bool(true))
    {
        return Err(common::refuse_replacement(warnings, destroys));
    }
    let mut diags = checked;
    diags.extend(warnings);
    let tagging: Tagging = from_value(&req.config)?;
    let tags_all = common::planned_tags_all(&azure.env.default_tags, &tagging.environment, &tagging.tags);
    let mut cx = PlanCx::<C> { ctx, req, cfg, azure, planned, replacing, diags };
    let computed = C::plan(&mut cx).await?;
    common::patch(&mut cx.planned, &computed)?;
    let bookkeeping = Bookkeeping { tags_all, drift: Val::Known(Vec::new()), api_versions: Val::Known(api_versions::<C>()) };
    common::patch(&mut cx.planned, &bookkeeping)?;
    Ok(Planned::of(cx.planned, requires_replace, cx.diags))
}

async fn apply<C: Composite>(ctx: &Ctx, req: ApplyRequest) -> StateResult {
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let source = if req.planned.is_null() { &req.prior } else { &req.planned };
    let t = match Timeouts::from_value(source, C::TIMEOUTS) {
        Ok(t) => t,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let prior = if req.prior.is_null() { None } else { Some(C::spec_from(&azure.env, &req.prior)) };
    if req.planned.is_null() {
        let op = common::op(ctx, "deleting", t.delete);
        let spec = match prior {
            Some(Ok(s)) => s,
            Some(Err(d)) => return StateResult::failed(req.prior, d),
            None => return StateResult::ok(Value::Null),
        };
        return match C::delete(&Deletion { azure: &azure, op: &op, spec: &spec, state: &req.prior }).await {
            Ok(warnings) => StateResult { state: Value::Null, private: Vec::new(), diagnostics: warnings },
            Err(f) => StateResult::failed(req.prior, f.diagnostics(&|e| C::explain(&spec, &Bodies::default(), e))),
        };
    }
    let spec = match C::spec_from(&azure.env, &req.planned) {
        Ok(s) => s,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let prior = prior.and_then(Result::ok);
    let creating = req.prior.is_null();
    let op = if creating { common::op(ctx, "creating", t.create) } else { common::op(ctx, "updating", t.update) };
    let mut run = Run::<C>::new(&azure, &op, &spec, prior.as_ref(), &req.prior, &req.config);
    if creating {
        run.resuming = match refuse_foreign::<C>(&azure, &op, &spec).await {
            Ok(resuming) => resuming,
            Err(d) => return StateResult::failed(Value::Null, d),
        };
    }
    let result = C::reconcile(&run).await;
    let bodies = run.into_bodies();
    let failure = match result {
        Ok(()) => {
            return match C::applied(&req.planned, &spec, &bodies).and_then(|s| bookkept::<C>(s, &spec, Vec::new())) {
                Ok(state) => StateResult::ok(state),
                Err(d) => StateResult::failed(req.planned, d),
            };
        }
        Err(super::composite::Failure::Refused(d)) => return StateResult::failed(if creating { Value::Null } else { req.prior }, d),
        Err(f) => f,
    };
    // Part-way: record what exists, list what is not yet in place (so the
    // next plan shows an update), and say how to go on.
    let mut drift = unfinished::<C>(&spec, &bodies);
    if drift.is_empty() {
        drift.push(format!("{}: the last apply did not finish", C::import_id(&spec).display()));
    }
    let mut state = req.planned.clone();
    let patched = common::patch(&mut state, &C::computed(&spec, &bodies)).and_then(|()| bookkept::<C>(state.clone(), &spec, drift));
    let mut state = match patched {
        Ok(s) => s,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    state.unknowns_to_null();
    let exist: Vec<String> = bodies.slots().map(|s| C::id(&spec, s).display()).collect();
    let mut d = failure.diagnostics(&|e: &ArmError| C::explain(&spec, &bodies, e));
    resume_hint::<C>(&mut d, creating, &exist);
    if creating && exist.is_empty() { StateResult::failed(Value::Null, d) } else { StateResult::failed(state, d) }
}

/// What the spec owns that does not exist (yet), one line each.
pub fn unfinished<C: Specs>(spec: &C::Spec, bodies: &Bodies<C::Slot>) -> Vec<String> {
    C::slots(spec).into_iter().filter(|s| !bodies.has(s)).map(|s| format!("{} not yet in place", C::id(spec, &s).display())).collect()
}

/// Appends to the first error what exists and how to resume.
fn resume_hint<C: Model>(d: &mut Diagnostics, creating: bool, exist: &[String]) {
    if exist.is_empty() {
        return;
    }
    let Some(first) = d.0.iter_mut().find(|x| x.severity == Severity::Error) else { return };
    let what = if creating { C::NOUN.to_owned() } else { format!("{} update", C::NOUN) };
    let list = exist.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n");
    first.detail.push_str(&format!(
        "\n\nThe {what} is partly in place; these objects exist and are recorded in state:\n{list}\nRun `terraform apply` again to finish (Terraform will replace the tainted {noun}, removing these first, unless you run `terraform untaint` to resume in place).",
        noun = C::NOUN
    ));
}

/// A create never adopts what it did not make: an object (or owned
/// resource group) that exists is refused with the import command, unless
/// it carries this composite's owner tag (an apply that did not finish),
/// which resumes. Returns whether it resumes.
async fn refuse_foreign<C: Specs>(azure: &Azure, op: &trench_arm::Op, spec: &C::Spec) -> Result<bool, Diagnostics> {
    let Claims { group, objects } = C::claims(spec);
    let tags = C::tags(spec);
    let look = op.with_action("checking for an existing");
    let import = format!("terraform import <address of this {}> {}", C::TYPE, C::import_id(spec));
    let mut resuming = false;
    if let Some((rg, attr)) = group {
        match azure.arm.get(&look, &rg).await {
            Ok(None) => {}
            Ok(Some(body)) if owned_by(&body, tags) => resuming = true,
            Ok(Some(_)) => {
                return Err(Diagnostics::attr_error(
                    AttrPath::root(attr),
                    format!("{} already exists", rg.display()),
                    format!(
                        "This {} creates its own resource group and deletes it with itself, so it does not take over one that exists (another composite's, or one made by hand). Choose another {attr}, or, if these objects are this {}'s, import it:\n\n  {import}",
                        C::NOUN,
                        C::NOUN
                    ),
                ));
            }
            Err(e) => return Err(common::ArmDiagnostics::diagnostics(&e)),
        }
    }
    let found = futures::future::join_all(objects.iter().map(|id| azure.arm.get(&look, id))).await;
    for (id, r) in objects.iter().zip(found) {
        match r {
            Ok(None) => {}
            Ok(Some(body)) if owned_by(&body, tags) => resuming = true,
            Ok(Some(_)) => return Err(foreign::<C>(id, &import)),
            Err(e) => return Err(common::ArmDiagnostics::diagnostics(&e)),
        }
    }
    Ok(resuming)
}

fn foreign<C: Model>(id: &ResourceId, import: &str) -> Diagnostics {
    Diagnostics::error(
        format!("{} already exists", id.display()),
        format!(
            "trench does not take over objects it did not create. To manage this {} with Terraform, import it:\n\n  {import}\n\nor add an import block with that id; otherwise choose other names.",
            C::NOUN
        ),
    )
}

async fn read<C: Composite>(ctx: &Ctx, state: &Value) -> Result<Value, Diagnostics> {
    let azure = common::azure(ctx)?;
    let spec = C::spec_from(&azure.env, state)?;
    let t = Timeouts::from_value(state, C::TIMEOUTS).unwrap_or(C::TIMEOUTS);
    let op = common::op(ctx, "reading", t.read);
    let bodies = C::fetch(&azure, &op, &spec).await.map_err(|e| common::ArmDiagnostics::diagnostics(&e))?;
    if C::gone(&spec, &bodies) {
        return Ok(Value::Null);
    }
    observed::<C>(state, &spec, &bodies)
}

/// What a refresh makes of the bodies: the state for them, with `drift`,
/// `tags_all` and `api_versions`.
pub fn observed<C: Composite>(prior: &Value, spec: &C::Spec, bodies: &Bodies<C::Slot>) -> Result<Value, Diagnostics> {
    bookkept::<C>(super::composite::read_state::<C>(prior, spec, bodies)?, spec, C::drift(spec, bodies))
}

/// The attributes every composite has, set on a state.
fn bookkept<C: Specs>(mut state: Value, spec: &C::Spec, drift: Vec<String>) -> Result<Value, Diagnostics> {
    let b = Bookkeeping {
        tags_all: Val::Known(common::visible_tags(C::tags(spec))),
        drift: Val::Known(drift),
        api_versions: Val::Known(api_versions::<C>()),
    };
    common::patch(&mut state, &b)?;
    Ok(state)
}

/// What `tags_all` is planned from.
#[derive(serde::Deserialize)]
struct Tagging {
    environment: Val<String>,
    tags: Val<BTreeMap<String, String>>,
}

async fn import<C: Composite>(ctx: &Ctx, raw: &str) -> Result<StateResult, Diagnostics> {
    let azure = common::azure(ctx)?;
    let (base, query) = raw.split_once('?').unwrap_or((raw, ""));
    let (ty, what) = C::IMPORT;
    let id = match ResourceId::parse(base) {
        Ok(id) if id.resource_type().eq_ignore_ascii_case(ty) => id,
        Ok(id) => {
            return Err(Diagnostics::error(
                "Wrong import id",
                format!("{} is imported by its {what} id; {base} is a {}.", C::TYPE, id.resource_type()),
            ));
        }
        Err(e) => return Err(Diagnostics::error("Invalid import id", e.to_string())),
    };
    let mut overrides = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((k, v)) if C::IMPORT_OVERRIDES.contains(&k) => {
                overrides.insert(k.to_owned(), v.to_owned());
            }
            _ if C::IMPORT_OVERRIDES.is_empty() => {
                return Err(Diagnostics::error(
                    "Invalid import id",
                    format!("{} is imported by its {what} id alone; remove {query:?}.", C::TYPE),
                ));
            }
            _ => {
                return Err(Diagnostics::error(
                    "Invalid import id",
                    format!(
                        "{pair:?}: after '?' the import id takes name=value pairs joined by '&', with names from {}.",
                        C::IMPORT_OVERRIDES.join(", ")
                    ),
                ));
            }
        }
    }
    let op = common::op(ctx, "importing", C::TIMEOUTS.read);
    let found = C::import(&ImportCx { azure: &azure, op: &op, id: &id, overrides: &overrides }).await?;
    let state = observed::<C>(&found.state, &found.spec, &found.bodies)?;
    Ok(StateResult { state, private: Vec::new(), diagnostics: found.warnings })
}

/// The api-version of each type a composite manages.
pub fn api_versions<C: Model>() -> BTreeMap<String, String> {
    trench_arm::pinned_api_versions(C::ARM_TYPES)
}

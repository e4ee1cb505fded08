//! The provider framework: what a resource, data source or function is,
//! independent of protobuf and gRPC (which live in `tfplugin`).
//!
//! Contract for implementors: values arrive decoded with the schema's
//! implied type and must be returned in that shape; write-only attributes
//! are nulled by the framework before anything leaves the provider; every
//! error is a [`Diagnostics`] value, never a panic.

mod diag;
pub mod plan;
mod schema;
pub mod timeouts;

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

pub use diag::{AttrPath, Diagnostic, Diagnostics, PathStep, Severity};
pub use schema::{AttrType, Attribute, Block, Mode, NestedBlock, Nesting, Schema};

use crate::value::{Type, Value};

/// Who the provider is: the names go-plugin, Terraform and humans see.
#[derive(Clone, Copy, Debug)]
pub struct Identity {
    /// The provider's local name (`trench`): type names start with `<name>_`.
    pub name: &'static str,
    /// The binary (`terraform-provider-trench`), for messages.
    pub binary: &'static str,
    /// The source address (`registry.terraform.io/trench-lab/trench`), the
    /// key of `--debug`'s TF_REATTACH_PROVIDERS line.
    pub source_address: &'static str,
    /// The provider's version.
    pub version: &'static str,
    /// Crates whose log events are shown at Terraform's log level (others
    /// only from `warn`).
    pub log_crates: &'static [&'static str],
}

/// What a configured provider hands every later call, opaque to the
/// framework: the provider decides its type and downcasts it with
/// [`Ctx::data`].
pub type ProviderData = Arc<dyn Any + Send + Sync>;

/// The `provider` block: its schema, static validation, and configuring.
#[async_trait]
pub trait ProviderBlock: Send + Sync {
    /// Schema of the provider block.
    fn schema(&self) -> Schema;
    /// Static validation of a (possibly partly unknown) configuration.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Configures from a wholly known configuration; what it returns
    /// reaches every later call through [`Ctx::data`].
    async fn configure(&self, config: &Value, terraform_version: &str) -> Result<ProviderData, Diagnostics>;
}

/// A provider block without attributes that configures to nothing.
pub struct NoConfig;

#[async_trait]
impl ProviderBlock for NoConfig {
    fn schema(&self) -> Schema {
        Schema::new(Block::new("This provider takes no configuration."))
    }
    async fn configure(&self, _: &Value, _: &str) -> Result<ProviderData, Diagnostics> {
        Ok(Arc::new(()))
    }
}

/// Per-call context: cancellation (StopProvider) and the provider data.
#[derive(Clone)]
pub struct Ctx {
    /// Cancelled when Terraform asks the provider to stop.
    pub cancel: CancellationToken,
    data: Option<ProviderData>,
}

impl Ctx {
    /// A context for tests and callers outside a Terraform session.
    pub fn new(cancel: CancellationToken, data: Option<ProviderData>) -> Ctx {
        Ctx { cancel, data }
    }
    /// The configured provider's data, or the diagnostic Terraform users
    /// expect when the provider block could not be configured.
    pub fn data<T: Any + Send + Sync>(&self) -> Result<&T, Diagnostics> {
        let data = self.data.as_ref().ok_or_else(|| {
            Diagnostics::error(
                "Provider not configured",
                "The provider was used before ConfigureProvider succeeded; check the provider block for errors.",
            )
        })?;
        data.downcast_ref::<T>()
            .ok_or_else(|| Diagnostics::error("Internal error", format!("the provider data is not a {}", std::any::type_name::<T>())))
    }
}

/// A PlanResourceChange call. `prior` is null on create.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    /// State before the change (null when creating).
    pub prior: Value,
    /// Terraform's proposed new state (config merged over prior).
    pub proposed: Value,
    /// The configuration, including write-only values.
    pub config: Value,
    /// Private bytes from the prior state.
    pub prior_private: Vec<u8>,
}

/// The result of planning.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The planned state; unknowns mark values known after apply.
    pub state: Value,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<AttrPath>,
    /// Private bytes handed back at apply.
    pub private: Vec<u8>,
    /// Warnings and errors.
    pub diagnostics: Diagnostics,
}

impl Planned {
    /// A plan that stops with these diagnostics and plans no state.
    pub fn failed(diagnostics: Diagnostics) -> Planned {
        Planned { state: Value::Null, requires_replace: Vec::new(), private: Vec::new(), diagnostics }
    }

    /// A plan of `state`, without private bytes.
    pub fn of(state: Value, requires_replace: Vec<AttrPath>, diagnostics: Diagnostics) -> Planned {
        Planned { state, requires_replace, private: Vec::new(), diagnostics }
    }
}

/// An ApplyResourceChange call. `planned` is null for delete.
#[derive(Clone, Debug)]
pub struct ApplyRequest {
    /// State before the change (null when creating).
    pub prior: Value,
    /// The planned state (null when deleting).
    pub planned: Value,
    /// The configuration (null when deleting).
    pub config: Value,
    /// Private bytes from the plan.
    pub planned_private: Vec<u8>,
}

/// The outcome of apply, read or import: a state (null when the object is
/// gone) with the diagnostics. On a partial failure the state still records
/// everything that exists, so nothing is left untracked.
#[derive(Clone, Debug)]
pub struct StateResult {
    /// New state; null means "does not exist".
    pub state: Value,
    /// Private bytes to keep with the state.
    pub private: Vec<u8>,
    /// Warnings and errors.
    pub diagnostics: Diagnostics,
}

impl StateResult {
    /// A state with no diagnostics.
    pub fn ok(state: Value) -> StateResult {
        StateResult { state, private: Vec::new(), diagnostics: Diagnostics::new() }
    }
    /// An error that leaves the given state in place.
    pub fn failed(state: Value, diagnostics: Diagnostics) -> StateResult {
        StateResult { state, private: Vec::new(), diagnostics }
    }
}

/// A managed resource.
#[async_trait]
pub trait Resource: Send + Sync {
    /// `trench_…` type name.
    fn type_name(&self) -> &'static str;
    /// Schema; bump `version` and handle it in [`Resource::upgrade_state`] when
    /// the state shape changes.
    fn schema(&self) -> Schema;
    /// Static validation of a (possibly partly unknown) configuration. No
    /// network calls; errors carry attribute paths.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Rewrites state JSON written by an older schema version into the shape
    /// of the current one. Called only when `from_version` differs.
    fn upgrade_state(&self, from_version: i64, _state: serde_json::Value) -> Result<serde_json::Value, Diagnostics> {
        Err(Diagnostics::error(
            "Unsupported state version",
            format!(
                "{} state was written with schema version {from_version}, which this provider version cannot upgrade; use the provider version that wrote it.",
                self.type_name()
            ),
        ))
    }
    /// Plans a create or update (Terraform plans deletes itself).
    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> Planned;
    /// Creates, updates or (when `planned` is null) deletes.
    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> StateResult;
    /// Refreshes the state from the real objects; null state when gone.
    async fn read(&self, ctx: &Ctx, state: Value, private: Vec<u8>) -> StateResult;
    /// Builds a state from an import id; Terraform reads it afterwards.
    async fn import(&self, ctx: &Ctx, id: &str) -> StateResult;
}

/// A data source.
#[async_trait]
pub trait DataSource: Send + Sync {
    /// `trench_…` type name.
    fn type_name(&self) -> &'static str;
    /// Schema.
    fn schema(&self) -> Schema;
    /// Static validation of a (possibly partly unknown) configuration.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Reads; the returned value must be wholly known.
    async fn read(&self, ctx: &Ctx, config: Value) -> StateResult;
}

/// A provider-defined function parameter.
#[derive(Clone, Debug)]
pub struct Param {
    /// Name (an HCL identifier).
    pub name: &'static str,
    /// Type constraint.
    pub ty: Type,
    /// Markdown description.
    pub description: &'static str,
}

/// A function's signature.
#[derive(Clone, Debug)]
pub struct Signature {
    /// Positional parameters.
    pub params: Vec<Param>,
    /// Return type.
    pub returns: Type,
    /// One-line summary.
    pub summary: &'static str,
    /// Markdown description.
    pub description: &'static str,
}

/// A function failure, optionally blaming one argument (0-based).
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionError {
    /// Message shown to the user.
    pub text: String,
    /// The argument at fault.
    pub argument: Option<usize>,
}

/// A provider-defined function (`provider::trench::<name>(…)`).
pub trait Function: Send + Sync {
    /// Name.
    fn name(&self) -> &'static str;
    /// Signature.
    fn signature(&self) -> Signature;
    /// Calls it with known, non-null arguments of the declared types.
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError>;
}

/// Everything the provider offers, plus its session state.
pub struct Provider {
    identity: Identity,
    block: Box<dyn ProviderBlock>,
    resources: BTreeMap<&'static str, Arc<dyn Resource>>,
    data_sources: BTreeMap<&'static str, Arc<dyn DataSource>>,
    functions: BTreeMap<&'static str, Arc<dyn Function>>,
    data: RwLock<Option<ProviderData>>,
    stop: CancellationToken,
}

impl Provider {
    /// A provider with this identity and provider block, offering nothing yet.
    pub fn new(identity: Identity, block: impl ProviderBlock + 'static) -> Provider {
        Provider {
            identity,
            block: Box::new(block),
            resources: BTreeMap::new(),
            data_sources: BTreeMap::new(),
            functions: BTreeMap::new(),
            data: RwLock::new(None),
            stop: CancellationToken::new(),
        }
    }
    /// Who the provider is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
    /// The provider block.
    pub fn block(&self) -> &dyn ProviderBlock {
        self.block.as_ref()
    }
    /// Registers a resource.
    pub fn with_resource(mut self, r: impl Resource + 'static) -> Provider {
        self.resources.insert(r.type_name(), Arc::new(r));
        self
    }
    /// Registers a data source.
    pub fn with_data_source(mut self, d: impl DataSource + 'static) -> Provider {
        self.data_sources.insert(d.type_name(), Arc::new(d));
        self
    }
    /// Registers a function.
    pub fn with_function(mut self, f: impl Function + 'static) -> Provider {
        self.functions.insert(f.name(), Arc::new(f));
        self
    }
    /// Looks up a resource.
    pub fn resource(&self, name: &str) -> Option<&Arc<dyn Resource>> {
        self.resources.get(name)
    }
    /// Looks up a data source.
    pub fn data_source(&self, name: &str) -> Option<&Arc<dyn DataSource>> {
        self.data_sources.get(name)
    }
    /// Looks up a function.
    pub fn function(&self, name: &str) -> Option<&Arc<dyn Function>> {
        self.functions.get(name)
    }
    /// All resources by name.
    pub fn resources(&self) -> impl Iterator<Item = &Arc<dyn Resource>> {
        self.resources.values()
    }
    /// All data sources by name.
    pub fn data_sources(&self) -> impl Iterator<Item = &Arc<dyn DataSource>> {
        self.data_sources.values()
    }
    /// All functions by name.
    pub fn functions(&self) -> impl Iterator<Item = &Arc<dyn Function>> {
        self.functions.values()
    }
    /// Records what configuring the provider returned.
    pub fn set_data(&self, data: ProviderData) {
        *self.data.write().unwrap_or_else(|p| p.into_inner()) = Some(data);
    }
    /// A context for one call.
    pub fn ctx(&self) -> Ctx {
        Ctx::new(self.stop.clone(), self.data.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
    /// Cancels in-flight and future work (StopProvider).
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

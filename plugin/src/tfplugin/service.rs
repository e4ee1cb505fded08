//! tfplugin6.Provider: decode, dispatch to the framework, encode. Every
//! failure becomes a diagnostic (a gRPC status would read "Plugin error").

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt as _;
use tonic::{Request, Response, Status};

use super::convert::{self, decode, diagnostics, encode};
use super::proto::{self, provider_server};
use crate::framework::{ApplyRequest, AttrPath, Block, Diagnostics, PathStep, PlanRequest, Provider, Schema, StateResult, plan};
use crate::value::{Type, Value, decode_json};

/// A schema with its implied type, computed once.
struct Typed {
    schema: Schema,
    ty: Type,
}

impl Typed {
    fn new(schema: Schema) -> Typed {
        let ty = schema.implied_type();
        Typed { schema, ty }
    }
}

/// The tfplugin6 service over a [`Provider`].
pub(crate) struct ProviderService {
    provider: Arc<Provider>,
    provider_schema: Typed,
    resources: HashMap<String, Typed>,
    data_sources: HashMap<String, Typed>,
    schema_response: proto::get_provider_schema::Response,
}

type Rpc<T> = Result<Response<T>, Status>;

/// What a panic carried, for the diagnostic.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>().map(|s| (*s).to_owned()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "no message".into())
}

impl ProviderService {
    pub(crate) fn new(provider: Arc<Provider>) -> ProviderService {
        let provider_schema = Typed::new(provider.block().schema());
        let resources: HashMap<_, _> = provider.resources().map(|r| (r.type_name().to_owned(), Typed::new(r.schema()))).collect();
        let data_sources: HashMap<_, _> = provider.data_sources().map(|d| (d.type_name().to_owned(), Typed::new(d.schema()))).collect();
        let schema_response = proto::get_provider_schema::Response {
            provider: Some(convert::schema(&provider_schema.schema)),
            resource_schemas: convert::schemas(resources.iter().map(|(n, t)| (n.as_str(), t.schema.clone()))),
            data_source_schemas: convert::schemas(data_sources.iter().map(|(n, t)| (n.as_str(), t.schema.clone()))),
            functions: provider.functions().map(|f| (f.name().to_owned(), convert::function(&f.signature()))).collect(),
            ephemeral_resource_schemas: HashMap::new(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        };
        ProviderService { provider, provider_schema, resources, data_sources, schema_response }
    }

    fn unknown_type(&self, kind: &str, name: &str) -> Diagnostics {
        Diagnostics::error(format!("Unknown {kind} type"), format!("{} has no {kind} named {name:?}.", self.provider.identity().binary))
    }

    /// The diagnostic for a panic inside `rpc` on `type_name`: the call
    /// fails, the process (and every other call) goes on.
    fn crashed(&self, rpc: &str, type_name: &str, p: &(dyn std::any::Any + Send)) -> Diagnostics {
        let message = panic_message(p);
        tracing::error!(rpc, type_name, panic = %message, "a provider call panicked");
        Diagnostics::error(
            format!("{} crashed in {rpc} for {type_name}", self.provider.identity().binary),
            format!(
                "The provider hit an internal error ({message}) and stopped this call; it keeps serving the others. This is a bug: please report it with the provider log (TF_LOG_PROVIDER=debug). Nothing this call did after the error was recorded; running the command again resumes from the state Terraform has."
            ),
        )
    }

    /// Runs one resource or data source call; a panic becomes `Err` with
    /// the diagnostic naming the RPC and type.
    async fn guarded<T>(&self, rpc: &str, type_name: &str, call: impl Future<Output = T>) -> Result<T, Diagnostics> {
        AssertUnwindSafe(call).catch_unwind().await.map_err(|p| self.crashed(rpc, type_name, p.as_ref()))
    }

    /// [`ProviderService::guarded`] for a synchronous call.
    fn guarded_sync<T>(&self, rpc: &str, type_name: &str, call: impl FnOnce() -> T) -> Result<T, Diagnostics> {
        std::panic::catch_unwind(AssertUnwindSafe(call)).map_err(|p| self.crashed(rpc, type_name, p.as_ref()))
    }

    /// Finishes a state-returning call: write-only values nulled, encoded.
    fn state_out(&self, typed: &Typed, mut r: StateResult, what: &str) -> (Option<proto::DynamicValue>, Vec<u8>, Diagnostics) {
        plan::null_write_only(&typed.schema.block, &mut r.state);
        match encode(&r.state, &typed.ty, what) {
            Ok(dv) => (Some(dv), r.private, r.diagnostics),
            Err(mut d) => {
                d.extend(r.diagnostics);
                (None, r.private, d)
            }
        }
    }
}

/// Terraform locates a diagnostic's path in the configuration through
/// nested blocks to an attribute, plus one index into it; a step into a
/// nested attribute's object falls back to the whole resource block. So the
/// path is trimmed to what Terraform can point at, and the full path goes
/// into the detail.
fn locatable(mut d: Diagnostics, block: &Block) -> Diagnostics {
    for diag in &mut d.0 {
        let Some(path) = &diag.path else { continue };
        let mut keep = Vec::new();
        let mut cur = block;
        let mut steps = path.0.iter().peekable();
        while let Some(step) = steps.next() {
            match step {
                PathStep::Attr(name) => {
                    if let Some(nb) = cur.blocks.iter().find(|b| &b.name == name) {
                        keep.push(step.clone());
                        // A repeated block's index selects the block.
                        if let Some(idx @ (PathStep::Index(_) | PathStep::Key(_))) = steps.peek() {
                            keep.push((*idx).clone());
                            steps.next();
                        }
                        cur = &nb.block;
                        continue;
                    }
                    keep.push(step.clone());
                    // Terraform maps an index onto the configuration's
                    // literal, whose order a set does not keep.
                    let is_set = cur.attributes.iter().any(|a| &a.name == name && matches!(a.value_type(), Type::Set(_)));
                    if let Some(idx @ (PathStep::Index(_) | PathStep::Key(_))) = steps.peek()
                        && !is_set
                    {
                        keep.push((*idx).clone());
                    }
                    break;
                }
                _ => break,
            }
        }
        if keep.len() < path.0.len() {
            diag.detail = format!("{path}: {}", diag.detail);
            diag.path = Some(AttrPath(keep));
        }
    }
    d
}

#[cfg(test)]
pub(super) fn locatable_for_test(d: Diagnostics, block: &Block) -> Diagnostics {
    locatable(d, block)
}

fn capabilities() -> proto::ServerCapabilities {
    // The schema is static per binary, so Terraform may cache it.
    proto::ServerCapabilities { plan_destroy: false, get_provider_schema_optional: true, move_resource_state: false }
}

#[tonic::async_trait]
impl provider_server::Provider for ProviderService {
    async fn get_metadata(&self, _: Request<proto::get_metadata::Request>) -> Rpc<proto::get_metadata::Response> {
        use proto::get_metadata::{DataSourceMetadata, FunctionMetadata, ResourceMetadata};
        Ok(Response::new(proto::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: Vec::new(),
            data_sources: self.data_sources.keys().map(|n| DataSourceMetadata { type_name: n.clone() }).collect(),
            resources: self.resources.keys().map(|n| ResourceMetadata { type_name: n.clone() }).collect(),
            functions: self.provider.functions().map(|f| FunctionMetadata { name: f.name().to_owned() }).collect(),
            ephemeral_resources: Vec::new(),
        }))
    }

    async fn get_provider_schema(&self, _: Request<proto::get_provider_schema::Request>) -> Rpc<proto::get_provider_schema::Response> {
        Ok(Response::new(self.schema_response.clone()))
    }

    async fn validate_provider_config(
        &self,
        req: Request<proto::validate_provider_config::Request>,
    ) -> Rpc<proto::validate_provider_config::Response> {
        let req = req.into_inner();
        let d = match decode(req.config.as_ref(), &self.provider_schema.ty, "provider configuration") {
            Ok(v) => self.guarded_sync("ValidateProviderConfig", "provider", || self.provider.block().validate(&v)).unwrap_or_else(|d| d),
            Err(d) => d,
        };
        Ok(Response::new(proto::validate_provider_config::Response { diagnostics: diagnostics(&d) }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<proto::validate_resource_config::Request>,
    ) -> Rpc<proto::validate_resource_config::Response> {
        let req = req.into_inner();
        let d = match (self.provider.resource(&req.type_name), self.resources.get(&req.type_name)) {
            (Some(r), Some(t)) => match decode(req.config.as_ref(), &t.ty, "configuration") {
                Ok(v) => locatable(
                    self.guarded_sync("ValidateResourceConfig", &req.type_name, || r.validate(&v)).unwrap_or_else(|d| d),
                    &t.schema.block,
                ),
                Err(d) => d,
            },
            _ => self.unknown_type("resource", &req.type_name),
        };
        Ok(Response::new(proto::validate_resource_config::Response { diagnostics: diagnostics(&d) }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<proto::validate_data_resource_config::Request>,
    ) -> Rpc<proto::validate_data_resource_config::Response> {
        let req = req.into_inner();
        let d = match (self.provider.data_source(&req.type_name), self.data_sources.get(&req.type_name)) {
            (Some(ds), Some(t)) => match decode(req.config.as_ref(), &t.ty, "configuration") {
                Ok(v) => locatable(
                    self.guarded_sync("ValidateDataResourceConfig", &req.type_name, || ds.validate(&v)).unwrap_or_else(|d| d),
                    &t.schema.block,
                ),
                Err(d) => d,
            },
            _ => self.unknown_type("data source", &req.type_name),
        };
        Ok(Response::new(proto::validate_data_resource_config::Response { diagnostics: diagnostics(&d) }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<proto::upgrade_resource_state::Request>,
    ) -> Rpc<proto::upgrade_resource_state::Response> {
        let req = req.into_inner();
        let fail = |d: Diagnostics| {
            Ok(Response::new(proto::upgrade_resource_state::Response { upgraded_state: None, diagnostics: diagnostics(&d) }))
        };
        let (Some(r), Some(t)) = (self.provider.resource(&req.type_name), self.resources.get(&req.type_name)) else {
            return fail(self.unknown_type("resource", &req.type_name));
        };
        let Some(raw) = req.raw_state.filter(|s| !s.json.is_empty()) else {
            return fail(Diagnostics::error(
                "Unsupported state format",
                "This state is in Terraform's legacy flatmap format, which this provider never wrote; remove it from state and import the resource.",
            ));
        };
        let json = if req.version == t.schema.version {
            raw.json
        } else {
            let parsed: serde_json::Value = match serde_json::from_slice(&raw.json) {
                Ok(j) => j,
                Err(e) => return fail(Diagnostics::error("Malformed state", format!("The stored state is not JSON: {e}"))),
            };
            match self.guarded_sync("UpgradeResourceState", &req.type_name, || r.upgrade_state(req.version, parsed)) {
                Ok(Ok(j)) => j.to_string().into_bytes(),
                Ok(Err(d)) | Err(d) => return fail(d),
            }
        };
        let value = match decode_json(&json, &t.ty) {
            Ok(v) => v,
            Err(e) => {
                return fail(Diagnostics::error(
                    "State does not match the schema",
                    format!("{} state could not be read: {e}", req.type_name),
                ));
            }
        };
        let (dv, _, d) = self.state_out(t, StateResult::ok(value), "upgraded state");
        Ok(Response::new(proto::upgrade_resource_state::Response { upgraded_state: dv, diagnostics: diagnostics(&d) }))
    }

    async fn configure_provider(&self, req: Request<proto::configure_provider::Request>) -> Rpc<proto::configure_provider::Response> {
        let req = req.into_inner();
        let d = match decode(req.config.as_ref(), &self.provider_schema.ty, "provider configuration") {
            Ok(v) => {
                let configured =
                    self.guarded("ConfigureProvider", "provider", self.provider.block().configure(&v, &req.terraform_version)).await;
                match configured {
                    Ok(Ok(data)) => {
                        tracing::debug!(terraform_version = %req.terraform_version, "provider configured");
                        self.provider.set_data(data);
                        Diagnostics::new()
                    }
                    Ok(Err(d)) | Err(d) => d,
                }
            }
            Err(d) => d,
        };
        Ok(Response::new(proto::configure_provider::Response { diagnostics: diagnostics(&d) }))
    }

    async fn read_resource(&self, req: Request<proto::read_resource::Request>) -> Rpc<proto::read_resource::Response> {
        let req = req.into_inner();
        let fail = |d: Diagnostics| {
            Ok(Response::new(proto::read_resource::Response {
                new_state: None,
                diagnostics: diagnostics(&d),
                private: Vec::new(),
                deferred: None,
            }))
        };
        let (Some(r), Some(t)) = (self.provider.resource(&req.type_name), self.resources.get(&req.type_name)) else {
            return fail(self.unknown_type("resource", &req.type_name));
        };
        let state = match decode(req.current_state.as_ref(), &t.ty, "state") {
            Ok(v) => v,
            Err(d) => return fail(d),
        };
        let result =
            match self.guarded("ReadResource", &req.type_name, r.read(&self.provider.ctx(), state.clone(), req.private.clone())).await {
                Ok(r) => r,
                // The state as it was: a crash must not make Terraform forget the object.
                Err(d) => StateResult { state, private: req.private, diagnostics: d },
            };
        let (dv, private, d) = self.state_out(t, result, "state");
        Ok(Response::new(proto::read_resource::Response { new_state: dv, diagnostics: diagnostics(&d), private, deferred: None }))
    }

    async fn plan_resource_change(&self, req: Request<proto::plan_resource_change::Request>) -> Rpc<proto::plan_resource_change::Response> {
        let req = req.into_inner();
        let fail = |d: Diagnostics| {
            Ok(Response::new(proto::plan_resource_change::Response {
                planned_state: None,
                requires_replace: Vec::new(),
                planned_private: Vec::new(),
                diagnostics: diagnostics(&d),
                legacy_type_system: false,
                deferred: None,
            }))
        };
        let (Some(r), Some(t)) = (self.provider.resource(&req.type_name), self.resources.get(&req.type_name)) else {
            return fail(self.unknown_type("resource", &req.type_name));
        };
        let decoded = (|| {
            Ok::<_, Diagnostics>((
                decode(req.prior_state.as_ref(), &t.ty, "prior state")?,
                decode(req.proposed_new_state.as_ref(), &t.ty, "proposed state")?,
                decode(req.config.as_ref(), &t.ty, "configuration")?,
            ))
        })();
        let (prior, proposed, config) = match decoded {
            Ok(x) => x,
            Err(d) => return fail(d),
        };
        if proposed.is_null() {
            // Destroy: nothing to plan (we do not ask for plan_destroy).
            let dv = encode(&Value::Null, &t.ty, "plan").ok();
            return Ok(Response::new(proto::plan_resource_change::Response {
                planned_state: dv,
                requires_replace: Vec::new(),
                planned_private: req.prior_private,
                diagnostics: Vec::new(),
                legacy_type_system: false,
                deferred: None,
            }));
        }
        let ctx = self.provider.ctx();
        let call = r.plan(&ctx, PlanRequest { prior, proposed, config, prior_private: req.prior_private });
        let mut planned = match self.guarded("PlanResourceChange", &req.type_name, call).await {
            Ok(p) => p,
            Err(d) => return fail(d),
        };
        plan::null_write_only(&t.schema.block, &mut planned.state);
        let (dv, mut d) = match encode(&planned.state, &t.ty, "plan") {
            Ok(dv) => (Some(dv), Diagnostics::new()),
            Err(d) => (None, d),
        };
        d.extend(locatable(planned.diagnostics, &t.schema.block));
        Ok(Response::new(proto::plan_resource_change::Response {
            planned_state: if d.has_errors() { None } else { dv },
            requires_replace: planned.requires_replace.iter().map(convert::path).collect(),
            planned_private: planned.private,
            diagnostics: diagnostics(&d),
            legacy_type_system: false,
            deferred: None,
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<proto::apply_resource_change::Request>,
    ) -> Rpc<proto::apply_resource_change::Response> {
        let req = req.into_inner();
        let fail = |d: Diagnostics| {
            Ok(Response::new(proto::apply_resource_change::Response {
                new_state: None,
                private: Vec::new(),
                diagnostics: diagnostics(&d),
                legacy_type_system: false,
            }))
        };
        let (Some(r), Some(t)) = (self.provider.resource(&req.type_name), self.resources.get(&req.type_name)) else {
            return fail(self.unknown_type("resource", &req.type_name));
        };
        let decoded = (|| {
            Ok::<_, Diagnostics>((
                decode(req.prior_state.as_ref(), &t.ty, "prior state")?,
                decode(req.planned_state.as_ref(), &t.ty, "planned state")?,
                decode(req.config.as_ref(), &t.ty, "configuration")?,
            ))
        })();
        let (prior, planned, config) = match decoded {
            Ok(x) => x,
            Err(d) => return fail(d),
        };
        let ctx = self.provider.ctx();
        let call = r.apply(&ctx, ApplyRequest { prior: prior.clone(), planned, config, planned_private: req.planned_private });
        let mut result = match self.guarded("ApplyResourceChange", &req.type_name, call).await {
            Ok(r) => r,
            // The prior state stays: Terraform must not forget what existed.
            Err(d) => StateResult::failed(prior, d),
        };
        result.diagnostics = locatable(result.diagnostics, &t.schema.block);
        let (dv, private, d) = self.state_out(t, result, "state");
        Ok(Response::new(proto::apply_resource_change::Response {
            new_state: dv,
            private,
            diagnostics: diagnostics(&d),
            legacy_type_system: false,
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<proto::import_resource_state::Request>,
    ) -> Rpc<proto::import_resource_state::Response> {
        let req = req.into_inner();
        let (Some(r), Some(t)) = (self.provider.resource(&req.type_name), self.resources.get(&req.type_name)) else {
            let d = self.unknown_type("resource", &req.type_name);
            return Ok(Response::new(proto::import_resource_state::Response {
                imported_resources: Vec::new(),
                diagnostics: diagnostics(&d),
                deferred: None,
            }));
        };
        let result = match self.guarded("ImportResourceState", &req.type_name, r.import(&self.provider.ctx(), &req.id)).await {
            Ok(r) => r,
            Err(d) => StateResult::failed(Value::Null, d),
        };
        let (dv, private, d) = self.state_out(t, result, "imported state");
        let imported = match dv {
            Some(state) if !d.has_errors() => {
                vec![proto::import_resource_state::ImportedResource { type_name: req.type_name, state: Some(state), private }]
            }
            _ => Vec::new(),
        };
        Ok(Response::new(proto::import_resource_state::Response {
            imported_resources: imported,
            diagnostics: diagnostics(&d),
            deferred: None,
        }))
    }

    async fn move_resource_state(&self, req: Request<proto::move_resource_state::Request>) -> Rpc<proto::move_resource_state::Response> {
        let req = req.into_inner();
        let d = Diagnostics::error(
            format!("Moving state into {} resources is not supported", self.provider.identity().name),
            format!(
                "{} cannot take over state from {} ({}); import the existing Azure objects with an import block instead.",
                req.target_type_name, req.source_type_name, req.source_provider_address
            ),
        );
        Ok(Response::new(proto::move_resource_state::Response {
            target_state: None,
            diagnostics: diagnostics(&d),
            target_private: Vec::new(),
        }))
    }

    async fn read_data_source(&self, req: Request<proto::read_data_source::Request>) -> Rpc<proto::read_data_source::Response> {
        let req = req.into_inner();
        let fail = |d: Diagnostics| {
            Ok(Response::new(proto::read_data_source::Response { state: None, diagnostics: diagnostics(&d), deferred: None }))
        };
        let (Some(ds), Some(t)) = (self.provider.data_source(&req.type_name), self.data_sources.get(&req.type_name)) else {
            return fail(self.unknown_type("data source", &req.type_name));
        };
        let config = match decode(req.config.as_ref(), &t.ty, "configuration") {
            Ok(v) => v,
            Err(d) => return fail(d),
        };
        let result = match self.guarded("ReadDataSource", &req.type_name, ds.read(&self.provider.ctx(), config)).await {
            Ok(r) => r,
            Err(d) => StateResult::failed(Value::Null, d),
        };
        let (dv, _, d) = self.state_out(t, result, "data source state");
        Ok(Response::new(proto::read_data_source::Response {
            state: if d.has_errors() { None } else { dv },
            diagnostics: diagnostics(&d),
            deferred: None,
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<proto::validate_ephemeral_resource_config::Request>,
    ) -> Rpc<proto::validate_ephemeral_resource_config::Response> {
        let d = self.unknown_type("ephemeral resource", &req.into_inner().type_name);
        Ok(Response::new(proto::validate_ephemeral_resource_config::Response { diagnostics: diagnostics(&d) }))
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<proto::open_ephemeral_resource::Request>,
    ) -> Rpc<proto::open_ephemeral_resource::Response> {
        let d = self.unknown_type("ephemeral resource", &req.into_inner().type_name);
        Ok(Response::new(proto::open_ephemeral_resource::Response {
            diagnostics: diagnostics(&d),
            renew_at: None,
            result: None,
            private: None,
            deferred: None,
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<proto::renew_ephemeral_resource::Request>,
    ) -> Rpc<proto::renew_ephemeral_resource::Response> {
        let d = self.unknown_type("ephemeral resource", &req.into_inner().type_name);
        Ok(Response::new(proto::renew_ephemeral_resource::Response { diagnostics: diagnostics(&d), renew_at: None, private: None }))
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<proto::close_ephemeral_resource::Request>,
    ) -> Rpc<proto::close_ephemeral_resource::Response> {
        let d = self.unknown_type("ephemeral resource", &req.into_inner().type_name);
        Ok(Response::new(proto::close_ephemeral_resource::Response { diagnostics: diagnostics(&d) }))
    }

    async fn get_functions(&self, _: Request<proto::get_functions::Request>) -> Rpc<proto::get_functions::Response> {
        Ok(Response::new(proto::get_functions::Response { functions: self.schema_response.functions.clone(), diagnostics: Vec::new() }))
    }

    async fn call_function(&self, req: Request<proto::call_function::Request>) -> Rpc<proto::call_function::Response> {
        let req = req.into_inner();
        let err = |text: String, argument: Option<usize>| {
            Ok(Response::new(proto::call_function::Response {
                result: None,
                error: Some(convert::function_error(&crate::framework::FunctionError { text, argument })),
            }))
        };
        let Some(f) = self.provider.function(&req.name) else {
            return err(format!("{} has no function named {:?}", self.provider.identity().binary, req.name), None);
        };
        let sig = f.signature();
        if req.arguments.len() != sig.params.len() {
            return err(format!("{} takes {} arguments, got {}", req.name, sig.params.len(), req.arguments.len()), None);
        }
        let mut args = Vec::with_capacity(sig.params.len());
        for (i, (dv, p)) in req.arguments.iter().zip(&sig.params).enumerate() {
            match decode(Some(dv), &p.ty, "function argument") {
                Ok(v) if v.is_null() => return err(format!("argument {} must not be null", p.name), Some(i)),
                Ok(v) => args.push(v),
                Err(d) => return err(d.0.first().map(|x| x.detail.clone()).unwrap_or_default(), Some(i)),
            }
        }
        let called = self.guarded_sync("CallFunction", &req.name, || f.call(&args)).unwrap_or_else(|d| {
            Err(crate::framework::FunctionError {
                text: d.0.first().map(|x| format!("{}: {}", x.summary, x.detail)).unwrap_or_default(),
                argument: None,
            })
        });
        match called.and_then(|v| {
            encode(&v, &sig.returns, "function result").map_err(|d| crate::framework::FunctionError {
                text: d.0.first().map(|x| x.detail.clone()).unwrap_or_default(),
                argument: None,
            })
        }) {
            Ok(result) => Ok(Response::new(proto::call_function::Response { result: Some(result), error: None })),
            Err(e) => Ok(Response::new(proto::call_function::Response { result: None, error: Some(convert::function_error(&e)) })),
        }
    }

    async fn stop_provider(&self, _: Request<proto::stop_provider::Request>) -> Rpc<proto::stop_provider::Response> {
        tracing::info!("stop requested: cancelling in-flight operations");
        self.provider.stop();
        Ok(Response::new(proto::stop_provider::Response { error: String::new() }))
    }
}

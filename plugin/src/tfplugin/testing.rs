//! An in-process Terraform for a provider's own tests: the real tonic
//! service over an in-memory duplex stream, driven by the generated client,
//! with framework types on both sides of every call. Protobuf stays inside
//! this crate; callers see [`Value`], [`Diagnostics`] and [`AttrPath`].

use std::sync::Arc;

use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tonic::transport::{Channel, Endpoint, Server};

use super::goplugin::grpc_controller_client::GrpcControllerClient;
use super::proto::{self, provider_client::ProviderClient};
use crate::framework::{AttrPath, Diagnostic, Diagnostics, FunctionError, PathStep, Provider, Severity};
use crate::value::{Type, Value, decode_msgpack, encode_msgpack};

/// A provider served in-process, and a client calling it as Terraform does.
pub struct Harness {
    /// The provider being served.
    pub provider: Arc<Provider>,
    pub(crate) client: ProviderClient<Channel>,
    controller: GrpcControllerClient<Channel>,
    shutdown: mpsc::Receiver<()>,
}

/// What GetProviderSchema and GetMetadata said, by name.
#[derive(Debug)]
pub struct Offered {
    /// Resource type names.
    pub resources: Vec<String>,
    /// Data source type names.
    pub data_sources: Vec<String>,
    /// Function names.
    pub functions: Vec<String>,
    /// Diagnostics of GetProviderSchema.
    pub diagnostics: Diagnostics,
    /// Whether Terraform may cache the schema.
    pub schema_optional: bool,
}

/// A plan's answer.
#[derive(Debug)]
pub struct PlanOut {
    /// The planned state (`None` when the plan failed).
    pub state: Option<Value>,
    /// Attributes that force replacement.
    pub requires_replace: Vec<AttrPath>,
    /// Private bytes for apply.
    pub private: Vec<u8>,
    /// Diagnostics.
    pub diagnostics: Diagnostics,
}

/// A state-returning call's answer (apply, read, import, data source).
#[derive(Debug)]
pub struct StateOut {
    /// The state (`None` when absent, e.g. after a failed import).
    pub state: Option<Value>,
    /// Private bytes.
    pub private: Vec<u8>,
    /// Diagnostics.
    pub diagnostics: Diagnostics,
}

fn dv(v: &Value, ty: &Type) -> Option<proto::DynamicValue> {
    Some(proto::DynamicValue { msgpack: encode_msgpack(v, ty).expect("test value matches its type"), json: Vec::new() })
}

fn value(dv: Option<proto::DynamicValue>, ty: &Type) -> Option<Value> {
    dv.map(|d| decode_msgpack(&d.msgpack, ty).expect("the provider encodes what its schema says"))
}

fn path(p: &proto::AttributePath) -> AttrPath {
    use proto::attribute_path::step::Selector;
    AttrPath(
        p.steps
            .iter()
            .filter_map(|s| match s.selector.as_ref()? {
                Selector::AttributeName(a) => Some(PathStep::Attr(a.clone())),
                Selector::ElementKeyString(k) => Some(PathStep::Key(k.clone())),
                Selector::ElementKeyInt(i) => Some(PathStep::Index(*i)),
            })
            .collect(),
    )
}

fn diagnostics(ds: Vec<proto::Diagnostic>) -> Diagnostics {
    Diagnostics(
        ds.into_iter()
            .map(|d| Diagnostic {
                severity: if d.severity == proto::diagnostic::Severity::Warning as i32 { Severity::Warning } else { Severity::Error },
                summary: d.summary,
                detail: d.detail,
                path: d.attribute.as_ref().map(path),
            })
            .collect(),
    )
}

impl Harness {
    /// Serves `provider` in-process and connects a client to it.
    pub async fn start(provider: Provider) -> Harness {
        let provider = Arc::new(provider);
        let (tx, rx) = mpsc::channel(1);
        let routes = super::routes(provider.clone(), tx).await;
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            Server::builder()
                .add_routes(routes)
                .serve_with_incoming(tokio_stream::iter(vec![Ok::<_, std::io::Error>(server_io)]))
                .await
                .expect("in-process server");
        });
        let mut client_io = Some(client_io);
        let channel = Endpoint::from_static("http://in-process")
            .connect_with_connector(tower::service_fn(move |_| {
                let io = client_io.take();
                async move { io.map(TokioIo::new).ok_or_else(|| std::io::Error::other("connector used twice")) }
            }))
            .await
            .expect("in-process channel");
        Harness {
            provider,
            client: ProviderClient::new(channel.clone()).max_decoding_message_size(super::MAX_MESSAGE_SIZE),
            controller: GrpcControllerClient::new(channel),
            shutdown: rx,
        }
    }

    fn resource_type(&self, type_name: &str) -> Type {
        self.provider.resource(type_name).map(|r| r.schema().implied_type()).unwrap_or(Type::Dynamic)
    }

    fn data_source_type(&self, type_name: &str) -> Type {
        self.provider.data_source(type_name).map(|d| d.schema().implied_type()).unwrap_or(Type::Dynamic)
    }

    /// GetProviderSchema and GetMetadata.
    pub async fn offered(&mut self) -> Offered {
        let s = self.client.get_provider_schema(proto::get_provider_schema::Request {}).await.expect("rpc").into_inner();
        let meta = self.client.get_metadata(proto::get_metadata::Request {}).await.expect("rpc").into_inner();
        let names = |mut m: Vec<String>| {
            m.sort();
            m
        };
        assert_eq!(
            names(s.resource_schemas.keys().cloned().collect()),
            names(meta.resources.iter().map(|r| r.type_name.clone()).collect()),
            "GetMetadata and GetProviderSchema agree"
        );
        Offered {
            resources: names(s.resource_schemas.into_keys().collect()),
            data_sources: names(s.data_source_schemas.into_keys().collect()),
            functions: names(s.functions.into_keys().collect()),
            diagnostics: diagnostics(s.diagnostics),
            schema_optional: s.server_capabilities.is_some_and(|c| c.get_provider_schema_optional),
        }
    }

    /// ValidateProviderConfig.
    pub async fn validate_provider_config(&mut self, config: &Value) -> Diagnostics {
        let ty = self.provider.block().schema().implied_type();
        let r =
            self.client.validate_provider_config(proto::validate_provider_config::Request { config: dv(config, &ty) }).await.expect("rpc");
        diagnostics(r.into_inner().diagnostics)
    }

    /// ConfigureProvider.
    pub async fn configure(&mut self, terraform_version: &str, config: &Value) -> Diagnostics {
        let ty = self.provider.block().schema().implied_type();
        let r = self
            .client
            .configure_provider(proto::configure_provider::Request {
                terraform_version: terraform_version.to_owned(),
                config: dv(config, &ty),
                client_capabilities: None,
            })
            .await
            .expect("rpc");
        diagnostics(r.into_inner().diagnostics)
    }

    /// ValidateResourceConfig.
    pub async fn validate_resource(&mut self, type_name: &str, config: &Value) -> Diagnostics {
        let ty = self.resource_type(type_name);
        let r = self
            .client
            .validate_resource_config(proto::validate_resource_config::Request {
                type_name: type_name.to_owned(),
                config: dv(config, &ty),
                client_capabilities: None,
            })
            .await
            .expect("rpc");
        diagnostics(r.into_inner().diagnostics)
    }

    /// ValidateDataResourceConfig.
    pub async fn validate_data_source(&mut self, type_name: &str, config: &Value) -> Diagnostics {
        let ty = self.data_source_type(type_name);
        let r = self
            .client
            .validate_data_resource_config(proto::validate_data_resource_config::Request {
                type_name: type_name.to_owned(),
                config: dv(config, &ty),
            })
            .await
            .expect("rpc");
        diagnostics(r.into_inner().diagnostics)
    }

    /// ReadDataSource.
    pub async fn read_data_source(&mut self, type_name: &str, config: &Value) -> StateOut {
        let ty = self.data_source_type(type_name);
        let r = self
            .client
            .read_data_source(proto::read_data_source::Request {
                type_name: type_name.to_owned(),
                config: dv(config, &ty),
                provider_meta: None,
                client_capabilities: None,
            })
            .await
            .expect("rpc")
            .into_inner();
        StateOut { state: value(r.state, &ty), private: Vec::new(), diagnostics: diagnostics(r.diagnostics) }
    }

    /// PlanResourceChange.
    pub async fn plan(&mut self, type_name: &str, prior: &Value, proposed: &Value, config: &Value, prior_private: Vec<u8>) -> PlanOut {
        let ty = self.resource_type(type_name);
        let r = self
            .client
            .plan_resource_change(proto::plan_resource_change::Request {
                type_name: type_name.to_owned(),
                prior_state: dv(prior, &ty),
                proposed_new_state: dv(proposed, &ty),
                config: dv(config, &ty),
                prior_private,
                provider_meta: None,
                client_capabilities: None,
            })
            .await
            .expect("rpc")
            .into_inner();
        PlanOut {
            state: value(r.planned_state, &ty),
            requires_replace: r.requires_replace.iter().map(path).collect(),
            private: r.planned_private,
            diagnostics: diagnostics(r.diagnostics),
        }
    }

    /// ApplyResourceChange.
    pub async fn apply(&mut self, type_name: &str, prior: &Value, planned: &Value, config: &Value, planned_private: Vec<u8>) -> StateOut {
        let ty = self.resource_type(type_name);
        let r = self
            .client
            .apply_resource_change(proto::apply_resource_change::Request {
                type_name: type_name.to_owned(),
                prior_state: dv(prior, &ty),
                planned_state: dv(planned, &ty),
                config: dv(config, &ty),
                planned_private,
                provider_meta: None,
            })
            .await
            .expect("rpc")
            .into_inner();
        StateOut { state: value(r.new_state, &ty), private: r.private, diagnostics: diagnostics(r.diagnostics) }
    }

    /// ReadResource.
    pub async fn read(&mut self, type_name: &str, state: &Value, private: Vec<u8>) -> StateOut {
        let ty = self.resource_type(type_name);
        let r = self
            .client
            .read_resource(proto::read_resource::Request {
                type_name: type_name.to_owned(),
                current_state: dv(state, &ty),
                private,
                provider_meta: None,
                client_capabilities: None,
            })
            .await
            .expect("rpc")
            .into_inner();
        StateOut { state: value(r.new_state, &ty), private: r.private, diagnostics: diagnostics(r.diagnostics) }
    }

    /// ImportResourceState (the first imported object).
    pub async fn import(&mut self, type_name: &str, id: &str) -> StateOut {
        let ty = self.resource_type(type_name);
        let r = self
            .client
            .import_resource_state(proto::import_resource_state::Request {
                type_name: type_name.to_owned(),
                id: id.to_owned(),
                client_capabilities: None,
            })
            .await
            .expect("rpc")
            .into_inner();
        let first = r.imported_resources.into_iter().next();
        StateOut {
            private: first.as_ref().map(|i| i.private.clone()).unwrap_or_default(),
            state: value(first.and_then(|i| i.state), &ty),
            diagnostics: diagnostics(r.diagnostics),
        }
    }

    /// CallFunction with arguments of the declared parameter types.
    pub async fn call_function(&mut self, name: &str, args: &[Value]) -> Result<Value, FunctionError> {
        let sig = self.provider.function(name).map(|f| f.signature());
        let types: Vec<Type> = match &sig {
            Some(s) => s.params.iter().map(|p| p.ty.clone()).collect(),
            None => Vec::new(),
        };
        let arguments = args.iter().enumerate().map(|(i, a)| dv(a, types.get(i).unwrap_or(&Type::String)).expect("encoded")).collect();
        let r = self.client.call_function(proto::call_function::Request { name: name.to_owned(), arguments }).await.expect("rpc");
        let r = r.into_inner();
        match (r.error, sig) {
            (Some(e), _) => Err(FunctionError { text: e.text, argument: e.function_argument.map(|a| a as usize) }),
            (None, Some(sig)) => Ok(value(r.result, &sig.returns).unwrap_or(Value::Null)),
            (None, None) => Err(FunctionError { text: "no result and no error".into(), argument: None }),
        }
    }

    /// StopProvider.
    pub async fn stop(&mut self) {
        self.client.stop_provider(proto::stop_provider::Request {}).await.expect("rpc");
    }

    /// go-plugin's Shutdown; true once the server has been told to exit.
    pub async fn shutdown(&mut self) -> bool {
        self.controller.shutdown(super::goplugin::Empty {}).await.expect("rpc");
        matches!(tokio::time::timeout(std::time::Duration::from_secs(1), self.shutdown.recv()).await, Ok(Some(())))
    }
}

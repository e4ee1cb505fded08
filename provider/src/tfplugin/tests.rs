//! In-process gRPC tests: the real tonic service over an in-memory duplex
//! stream, driven by the generated client, so every RPC is exercised as
//! Terraform would call it (without a socket or TLS; those are covered by
//! the end-to-end tests).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tonic::transport::{Channel, Endpoint, Server};

use super::goplugin::grpc_controller_client::GrpcControllerClient;
use super::proto::{self, provider_client::ProviderClient};
use crate::framework::{
    ApplyRequest, AttrPath, Attribute, Block, Ctx, Diagnostics, Nesting, PlanRequest, Planned, Resource, Schema, StateResult, plan,
    timeouts,
};
use crate::value::{Type, Val, Value, decode_msgpack, encode_msgpack, from_value, to_value};

/// A resource that needs no Azure, to drive the framework's paths.
struct Thing;

#[derive(Serialize, Deserialize)]
struct ThingModel {
    id: Val<String>,
    name: String,
    size: Val<i64>,
    secret: Val<String>,
    secret_version: Val<i64>,
    timeouts: Option<BTreeMap<String, Option<String>>>,
}

fn thing_timeouts() -> timeouts::Timeouts {
    let m = Duration::from_secs(60);
    timeouts::Timeouts { create: m, read: m, update: m, delete: m }
}

#[async_trait]
impl Resource for Thing {
    fn type_name(&self) -> &'static str {
        "trench_thing"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("thing")
                .attr(Attribute::computed("id", Type::String).describe("id"))
                .attr(Attribute::required("name", Type::String).describe("name"))
                .attr(Attribute::optional_computed("size", Type::Number).describe("size"))
                .attr(Attribute::optional("secret", Type::String).describe("secret").write_only())
                .attr(Attribute::optional("secret_version", Type::Number).describe("secret version"))
                .block("timeouts", Nesting::Single, timeouts::block(&thing_timeouts())),
        )
        .version(2)
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        if let Some(Value::String(n)) = config.get_attr("name")
            && n.contains(' ')
        {
            d.add_attr_error(AttrPath::root("name"), "Invalid name", "no spaces");
        }
        if let Err(e) = timeouts::Timeouts::from_value(config, thing_timeouts()) {
            d.extend(e);
        }
        d
    }
    fn upgrade_state(&self, from: i64, mut state: serde_json::Value) -> Result<serde_json::Value, Diagnostics> {
        // v1 called `size` `capacity`.
        if from == 1 {
            let cap = state.as_object_mut().and_then(|o| o.remove("capacity")).unwrap_or_default();
            state["size"] = cap;
            return Ok(state);
        }
        Err(Diagnostics::error("Unsupported state version", format!("version {from}")))
    }
    async fn plan(&self, _: &Ctx, req: PlanRequest) -> Planned {
        let mut state = req.proposed.clone();
        plan::mark_computed_unknown(&self.schema().block, &mut state, &req.config);
        let rules = [plan::ReplaceRule { path: AttrPath::root("name"), reason: "Things cannot be renamed." }];
        let (requires_replace, diagnostics) = plan::requires_replace(&req.prior, &state, &rules, "thing");
        Planned { state, requires_replace, private: b"planned".to_vec(), diagnostics }
    }
    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> StateResult {
        if req.planned.is_null() {
            return StateResult::ok(Value::Null);
        }
        let mut m: ThingModel = from_value(&req.planned).unwrap();
        if m.name == "slow" {
            // Waits until StopProvider, then reports the interruption.
            ctx.cancel.cancelled().await;
            return StateResult::failed(Value::Null, Diagnostics::error("Interrupted", "stopped"));
        }
        m.id = Val::Known(format!("thing-{}", m.name));
        if m.size.is_unknown() {
            m.size = Val::Known(1);
        }
        assert!(matches!(req.config.get_attr("secret"), Some(Value::String(_)) | Some(Value::Null)));
        let mut r = StateResult::ok(to_value(&m).unwrap());
        r.private = req.planned_private;
        r
    }
    async fn read(&self, _: &Ctx, state: Value, private: Vec<u8>) -> StateResult {
        StateResult { state, private, diagnostics: Diagnostics::new() }
    }
    async fn import(&self, _: &Ctx, id: &str) -> StateResult {
        let name = id.strip_prefix("thing-").unwrap_or(id).to_owned();
        let m = ThingModel {
            id: Val::Known(id.to_owned()),
            name,
            size: Val::Known(1),
            secret: Val::Null,
            secret_version: Val::Null,
            timeouts: None,
        };
        StateResult::ok(to_value(&m).unwrap())
    }
}

fn test_provider() -> crate::framework::Provider {
    crate::provider().with_resource(Thing)
}

struct Harness {
    provider: Arc<crate::framework::Provider>,
    client: ProviderClient<Channel>,
    controller: GrpcControllerClient<Channel>,
    shutdown: mpsc::Receiver<()>,
}

async fn harness() -> Harness {
    let provider = Arc::new(test_provider());
    let (tx, rx) = mpsc::channel(1);
    let routes = super::routes(provider.clone(), tx).await;
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        Server::builder()
            .add_routes(routes)
            .serve_with_incoming(tokio_stream::iter(vec![Ok::<_, std::io::Error>(server_io)]))
            .await
            .unwrap();
    });
    let mut client_io = Some(client_io);
    let channel = Endpoint::from_static("http://in-process")
        .connect_with_connector(tower::service_fn(move |_| {
            let io = client_io.take();
            async move { io.map(TokioIo::new).ok_or_else(|| std::io::Error::other("connector used twice")) }
        }))
        .await
        .unwrap();
    Harness {
        provider,
        client: ProviderClient::new(channel.clone()).max_decoding_message_size(super::MAX_MESSAGE_SIZE),
        controller: GrpcControllerClient::new(channel),
        shutdown: rx,
    }
}

fn dv(v: &Value, ty: &Type) -> Option<proto::DynamicValue> {
    Some(proto::DynamicValue { msgpack: encode_msgpack(v, ty).unwrap(), json: Vec::new() })
}

fn null_object(block: &Block) -> Value {
    let mut m: BTreeMap<String, Value> = block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    for b in &block.blocks {
        m.insert(b.name.clone(), Value::Null);
    }
    Value::Object(m)
}

fn with(base: &Value, pairs: &[(&str, Value)]) -> Value {
    let Value::Object(mut m) = base.clone() else { panic!() };
    for (k, v) in pairs {
        m.insert((*k).to_owned(), v.clone());
    }
    Value::Object(m)
}

fn paths(diags: &[proto::Diagnostic]) -> Vec<String> {
    use proto::attribute_path::step::Selector;
    diags
        .iter()
        .map(|d| {
            d.attribute
                .as_ref()
                .map(|p| {
                    p.steps
                        .iter()
                        .map(|s| match s.selector.as_ref().unwrap() {
                            Selector::AttributeName(a) => a.clone(),
                            Selector::ElementKeyString(k) => format!("[{k}]"),
                            Selector::ElementKeyInt(i) => format!("[{i}]"),
                        })
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default()
        })
        .collect()
}

fn provider_config(pairs: &[(&str, Value)]) -> Value {
    with(&null_object(&crate::config::schema().block), pairs)
}

#[tokio::test]
async fn schema_is_valid_for_terraform_and_offers_everything() {
    let mut h = harness().await;
    let s = h.client.get_provider_schema(proto::get_provider_schema::Request {}).await.unwrap().into_inner();
    assert!(s.diagnostics.is_empty());
    assert!(s.data_source_schemas.contains_key("trench_conventions"));
    assert!(s.functions.contains_key("name") && s.functions.contains_key("compact_name"));
    assert!(s.server_capabilities.unwrap().get_provider_schema_optional);
    // Every schema passes the checks Terraform runs when it loads one.
    crate::config::schema().block.internal_validate("provider").unwrap();
    for r in h.provider.resources() {
        r.schema().block.internal_validate(r.type_name()).unwrap();
    }
    for d in h.provider.data_sources() {
        d.schema().block.internal_validate(d.type_name()).unwrap();
    }
    let meta = h.client.get_metadata(proto::get_metadata::Request {}).await.unwrap().into_inner();
    assert_eq!(meta.data_sources.len(), 2);
    assert_eq!(meta.functions.len(), 2);
    let f = h.client.get_functions(proto::get_functions::Request {}).await.unwrap().into_inner();
    assert_eq!(f.functions.len(), 2);
}

#[tokio::test]
async fn provider_config_errors_point_at_attributes() {
    let mut h = harness().await;
    let ty = crate::config::schema().implied_type();
    let cfg = provider_config(&[("tenant_id", Value::string("x")), ("environment", Value::string("moon"))]);
    let r =
        h.client.validate_provider_config(proto::validate_provider_config::Request { config: dv(&cfg, &ty) }).await.unwrap().into_inner();
    assert_eq!(paths(&r.diagnostics), vec!["tenant_id", "environment"]);
    let r = h
        .client
        .configure_provider(proto::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: dv(&provider_config(&[]), &ty),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
}

#[tokio::test]
async fn conventions_data_source_reads_names_tags_and_checks() {
    let mut h = harness().await;
    let ds = crate::data_sources::conventions::Conventions;
    let ty = crate::framework::DataSource::schema(&ds).implied_type();
    let block = crate::framework::DataSource::schema(&ds).block;
    let cfg = with(&null_object(&block), &[("environment", Value::string("dev")), ("owner", Value::string("team-a"))]);
    let r = h
        .client
        .read_data_source(proto::read_data_source::Request {
            type_name: "trench_conventions".into(),
            config: dv(&cfg, &ty),
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let state = decode_msgpack(&r.state.unwrap().msgpack, &ty).unwrap();
    assert!(state.is_wholly_known());
    let names = state.get_attr("names").unwrap();
    assert_eq!(names.get_attr("hub_vnet"), None, "names is a map, not an object");
    let Value::Map(names) = names else { panic!("{names:?}") };
    assert_eq!(names["key_vault"], Value::string("trench-core-kv-dev"));
    let Value::Map(tags) = state.get_attr("tags").unwrap() else { panic!() };
    assert_eq!(tags["owner"], Value::string("team-a"));
    assert_eq!(tags["cost-center"], Value::string("trench"));
    assert_eq!(state.get_attr("location"), Some(&Value::string("westeurope")));

    let bad = with(&null_object(&block), &[("environment", Value::string("Dev-1")), ("location", Value::string("West Europe"))]);
    let r = h
        .client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "trench_conventions".into(),
            config: dv(&bad, &ty),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paths(&r.diagnostics), vec!["environment", "location"]);
    // Unknown (not yet known) values validate cleanly.
    let unknown = with(&null_object(&block), &[("environment", Value::unknown())]);
    let r = h
        .client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "trench_conventions".into(),
            config: dv(&unknown, &ty),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty());
}

async fn call(h: &mut Harness, name: &str, args: &[&str]) -> proto::call_function::Response {
    let arguments = args.iter().map(|a| dv(&Value::string(*a), &Type::String).unwrap()).collect();
    h.client.call_function(proto::call_function::Request { name: name.into(), arguments }).await.unwrap().into_inner()
}

#[tokio::test]
async fn functions_return_names_or_blame_an_argument() {
    let mut h = harness().await;
    let r = call(&mut h, "compact_name", &["core", "acr", "dev"]).await;
    assert_eq!(decode_msgpack(&r.result.unwrap().msgpack, &Type::String).unwrap(), Value::string("trenchacrcoredev"));
    let r = call(&mut h, "name", &["core", "vnet", "DEV"]).await;
    let e = r.error.unwrap();
    assert_eq!(e.function_argument, Some(2));
    assert!(e.text.contains("environment \"DEV\""), "{}", e.text);
    let r = call(&mut h, "name", &["core"]).await;
    assert!(r.error.unwrap().text.contains("takes 3 arguments"));
    let r = call(&mut h, "nope", &[]).await;
    assert!(r.error.is_some());
}

#[tokio::test]
async fn state_from_an_older_schema_version_is_upgraded() {
    let mut h = harness().await;
    let ty = Thing.schema().implied_type();
    let raw = br#"{"id":"thing-a","name":"a","capacity":3,"secret_version":null,"timeouts":null}"#.to_vec();
    let r = h
        .client
        .upgrade_resource_state(proto::upgrade_resource_state::Request {
            type_name: "trench_thing".into(),
            version: 1,
            raw_state: Some(proto::RawState { json: raw, flatmap: Default::default() }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let v = decode_msgpack(&r.upgraded_state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(v.get_attr("size"), Some(&Value::Number(crate::value::Number::Int(3))));
    // Same version: decoded as is. Unknown future version: a clear error.
    let r = h
        .client
        .upgrade_resource_state(proto::upgrade_resource_state::Request {
            type_name: "trench_thing".into(),
            version: 7,
            raw_state: Some(proto::RawState { json: b"{}".to_vec(), flatmap: Default::default() }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.upgraded_state.is_none());
    assert_eq!(r.diagnostics[0].summary, "Unsupported state version");
}

#[tokio::test]
async fn plan_and_apply_keep_write_only_values_out_and_explain_replacement() {
    let mut h = harness().await;
    let schema = Thing.schema();
    let ty = schema.implied_type();
    let config = with(&null_object(&schema.block), &[("name", Value::string("a")), ("secret", Value::string("hunter2"))]);
    let plan = h
        .client
        .plan_resource_change(proto::plan_resource_change::Request {
            type_name: "trench_thing".into(),
            prior_state: dv(&Value::Null, &ty),
            proposed_new_state: dv(&config, &ty),
            config: dv(&config, &ty),
            prior_private: Vec::new(),
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    let planned = decode_msgpack(&plan.planned_state.clone().unwrap().msgpack, &ty).unwrap();
    assert_eq!(planned.get_attr("secret"), Some(&Value::Null), "write-only never planned");
    assert!(planned.get_attr("id").unwrap().is_unknown());
    assert!(planned.get_attr("size").unwrap().is_unknown());

    let applied = h
        .client
        .apply_resource_change(proto::apply_resource_change::Request {
            type_name: "trench_thing".into(),
            prior_state: dv(&Value::Null, &ty),
            planned_state: plan.planned_state,
            config: dv(&config, &ty),
            planned_private: plan.planned_private,
            provider_meta: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    assert_eq!(applied.private, b"planned");
    let state = decode_msgpack(&applied.new_state.unwrap().msgpack, &ty).unwrap();
    assert!(state.is_wholly_known());
    assert_eq!(state.get_attr("secret"), Some(&Value::Null));

    // Renaming: replacement with the reason as a warning on the attribute.
    let renamed = with(&state, &[("name", Value::string("b"))]);
    let plan = h
        .client
        .plan_resource_change(proto::plan_resource_change::Request {
            type_name: "trench_thing".into(),
            prior_state: dv(&state, &ty),
            proposed_new_state: dv(&renamed, &ty),
            config: dv(&with(&renamed, &[("id", Value::Null), ("size", Value::Null)]), &ty),
            prior_private: Vec::new(),
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plan.requires_replace.len(), 1);
    assert_eq!(paths(&plan.diagnostics), vec!["name"]);
    assert_eq!(plan.diagnostics[0].severity, proto::diagnostic::Severity::Warning as i32);
    assert_eq!(plan.diagnostics[0].detail, "Things cannot be renamed.");
}

#[tokio::test]
async fn validation_reports_bad_timeouts_on_the_attribute() {
    let mut h = harness().await;
    let schema = Thing.schema();
    let ty = schema.implied_type();
    let t = with(
        &null_object(&schema.block.blocks.iter().find(|b| b.name == "timeouts").unwrap().block),
        &[("create", Value::string("ninety minutes"))],
    );
    let config = with(&null_object(&schema.block), &[("name", Value::string("a b")), ("timeouts", t)]);
    let r = h
        .client
        .validate_resource_config(proto::validate_resource_config::Request {
            type_name: "trench_thing".into(),
            config: dv(&config, &ty),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paths(&r.diagnostics), vec!["name", "timeouts.create"]);
}

#[tokio::test]
async fn import_returns_state_that_read_accepts() {
    let mut h = harness().await;
    let ty = Thing.schema().implied_type();
    let r = h
        .client
        .import_resource_state(proto::import_resource_state::Request {
            type_name: "trench_thing".into(),
            id: "thing-x".into(),
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.imported_resources.len(), 1);
    let state = r.imported_resources[0].state.clone();
    let read = h
        .client
        .read_resource(proto::read_resource::Request {
            type_name: "trench_thing".into(),
            current_state: state,
            private: Vec::new(),
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    let v = decode_msgpack(&read.new_state.unwrap().msgpack, &ty).unwrap();
    assert_eq!(v.get_attr("name"), Some(&Value::string("x")));
}

#[tokio::test]
async fn stop_provider_cancels_in_flight_apply() {
    let mut h = harness().await;
    let schema = Thing.schema();
    let ty = schema.implied_type();
    let planned =
        with(&null_object(&schema.block), &[("name", Value::string("slow")), ("id", Value::unknown()), ("size", Value::unknown())]);
    let mut client = h.client.clone();
    let req = proto::apply_resource_change::Request {
        type_name: "trench_thing".into(),
        prior_state: dv(&Value::Null, &ty),
        planned_state: dv(&planned, &ty),
        config: dv(&with(&planned, &[("id", Value::Null), ("size", Value::Null)]), &ty),
        planned_private: Vec::new(),
        provider_meta: None,
    };
    let apply = tokio::spawn(async move { client.apply_resource_change(req).await.unwrap().into_inner() });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!apply.is_finished(), "apply waits for the stop");
    h.client.stop_provider(proto::stop_provider::Request {}).await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), apply).await.expect("apply returned after stop").unwrap();
    assert_eq!(r.diagnostics[0].summary, "Interrupted");
}

#[tokio::test]
async fn unsupported_rpcs_answer_with_diagnostics_not_errors() {
    let mut h = harness().await;
    let r = h
        .client
        .move_resource_state(proto::move_resource_state::Request {
            source_type_name: "azurerm_virtual_network".into(),
            target_type_name: "trench_hub".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics[0].summary.contains("not supported"));
    let r = h
        .client
        .validate_ephemeral_resource_config(proto::validate_ephemeral_resource_config::Request {
            type_name: "trench_token".into(),
            config: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.diagnostics[0].summary, "Unknown ephemeral resource type");
    let r = h
        .client
        .open_ephemeral_resource(proto::open_ephemeral_resource::Request { type_name: "trench_token".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(!r.diagnostics.is_empty());
    let r = h
        .client
        .renew_ephemeral_resource(proto::renew_ephemeral_resource::Request { type_name: "x".into(), private: None })
        .await
        .unwrap()
        .into_inner();
    assert!(!r.diagnostics.is_empty());
    let r = h
        .client
        .close_ephemeral_resource(proto::close_ephemeral_resource::Request { type_name: "x".into(), private: None })
        .await
        .unwrap()
        .into_inner();
    assert!(!r.diagnostics.is_empty());
    let r = h
        .client
        .read_resource(proto::read_resource::Request { type_name: "trench_nope".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.diagnostics[0].summary, "Unknown resource type");
}

#[tokio::test]
async fn malformed_values_become_diagnostics() {
    let mut h = harness().await;
    let r = h
        .client
        .validate_data_resource_config(proto::validate_data_resource_config::Request {
            type_name: "trench_conventions".into(),
            config: Some(proto::DynamicValue { msgpack: vec![0x81, 0xa1, b'x', 0xc0], json: Vec::new() }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.diagnostics[0].summary, "Malformed configuration");
}

#[tokio::test]
async fn shutdown_is_answered_then_signalled() {
    let mut h = harness().await;
    h.controller.shutdown(super::goplugin::Empty {}).await.unwrap();
    assert_eq!(tokio::time::timeout(Duration::from_secs(1), h.shutdown.recv()).await.unwrap(), Some(()));
}

#[test]
fn paths_into_nested_attributes_are_trimmed_to_what_terraform_can_locate() {
    use crate::framework::{AttrPath, Diagnostics, Mode};
    let block = Block::new("b")
        .attr(
            Attribute::nested(
                "rules",
                Nesting::List,
                Mode::Optional,
                vec![Attribute::required("ports", Type::list(Type::String)).describe("p")],
            )
            .describe("r"),
        )
        .attr(
            Attribute::nested("members", Nesting::Set, Mode::Optional, vec![Attribute::required("id", Type::String).describe("i")])
                .describe("m"),
        )
        .attr(Attribute::optional("name", Type::String).describe("n"))
        .block("timeouts", Nesting::Single, Block::new("t").attr(Attribute::optional("create", Type::String).describe("c")));
    let mut d = Diagnostics::new();
    d.add_attr_error(AttrPath::root("rules").index(0).attr("ports").index(1), "Invalid port", "bad");
    // Terraform would map a set index onto the literal's order, which a set does not keep.
    d.add_attr_error(AttrPath::root("members").index(1).attr("id"), "Invalid member", "bad");
    d.add_attr_error(AttrPath::root("timeouts").attr("create"), "Invalid timeout", "bad");
    d.add_attr_error(AttrPath::root("name"), "Invalid name", "bad");
    let out = super::service::locatable_for_test(d, &block);
    let got: Vec<(String, String)> = out.iter().map(|x| (x.path.as_ref().unwrap().to_string(), x.detail.clone())).collect();
    assert_eq!(
        got,
        vec![
            ("rules[0]".to_owned(), "rules[0].ports[1]: bad".to_owned()),
            ("members".to_owned(), "members[1].id: bad".to_owned()),
            ("timeouts.create".to_owned(), "bad".to_owned()),
            ("name".to_owned(), "bad".to_owned()),
        ]
    );
}

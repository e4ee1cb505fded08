//! In-process gRPC tests: the real tonic service over an in-memory duplex
//! stream, driven by the generated client, so every RPC is exercised as
//! Terraform would call it (without a socket or TLS; those are covered by
//! the end-to-end tests).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::proto;
use super::testing::Harness;
use crate::framework::{
    ApplyRequest, AttrPath, Attribute, Block, Ctx, DataSource, Diagnostics, Function, FunctionError, Identity, Nesting, Param, PlanRequest,
    Planned, ProviderBlock, ProviderData, Resource, Schema, Signature, StateResult, plan, timeouts,
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
        "test_thing"
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
        if m.name == "panic" {
            panic!("asked to panic");
        }
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

/// A provider block whose attributes must be lowercase.
struct Block1;

#[async_trait]
impl ProviderBlock for Block1 {
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("test")
                .attr(Attribute::optional("region", Type::String).describe("A lowercase region."))
                .attr(Attribute::optional("token", Type::String).describe("A token.").sensitive()),
        )
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        for attr in ["region", "token"] {
            if let Some(Value::String(s)) = config.get_attr(attr)
                && s.chars().any(|c| c.is_ascii_uppercase())
            {
                d.add_attr_error(AttrPath::root(attr), format!("Invalid {attr}"), "Use lowercase.");
            }
        }
        d
    }
    async fn configure(&self, config: &Value, terraform_version: &str) -> Result<ProviderData, Diagnostics> {
        let d = self.validate(config);
        if d.has_errors() {
            return Err(d);
        }
        Ok(Arc::new(format!("configured by terraform {terraform_version}")))
    }
}

/// A data source that echoes its input, and panics when asked to.
struct Echo;

#[async_trait]
impl DataSource for Echo {
    fn type_name(&self) -> &'static str {
        "test_echo"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("echo")
                .attr(Attribute::required("text", Type::String).describe("Text."))
                .attr(Attribute::computed("echo", Type::String).describe("The text again.")),
        )
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        match config.get_attr("text") {
            Some(Value::String(s)) if s.is_empty() => Diagnostics::attr_error(AttrPath::root("text"), "Empty text", "Say something."),
            _ => Diagnostics::new(),
        }
    }
    async fn read(&self, ctx: &Ctx, config: Value) -> StateResult {
        let Some(Value::String(text)) = config.get_attr("text").cloned() else { return StateResult::ok(Value::Null) };
        if text == "panic" {
            panic!("asked to panic");
        }
        let by = ctx.data::<String>().cloned().unwrap_or_else(|_| "unconfigured".into());
        let mut m = BTreeMap::new();
        m.insert("text".to_owned(), Value::string(&text));
        m.insert("echo".to_owned(), Value::string(format!("{text} ({by})")));
        StateResult::ok(Value::Object(m))
    }
}

/// `upper(s)`: fails on an empty argument.
struct Upper;

impl Function for Upper {
    fn name(&self) -> &'static str {
        "upper"
    }
    fn signature(&self) -> Signature {
        Signature {
            params: vec![Param { name: "s", ty: Type::String, description: "Text." }],
            returns: Type::String,
            summary: "Upper case",
            description: "Upper-cases its argument.",
        }
    }
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        match &args[0] {
            Value::String(s) if s.is_empty() => Err(FunctionError { text: "s must not be empty".into(), argument: Some(0) }),
            Value::String(s) => Ok(Value::string(s.to_uppercase())),
            _ => Err(FunctionError { text: "not a string".into(), argument: Some(0) }),
        }
    }
}

fn test_provider() -> crate::framework::Provider {
    let identity = Identity {
        name: "test",
        binary: "terraform-provider-test",
        source_address: "registry.terraform.io/example/test",
        version: "0.0.1",
        log_crates: &["trench_plugin"],
    };
    crate::framework::Provider::new(identity, Block1).with_resource(Thing).with_data_source(Echo).with_function(Upper)
}

async fn harness() -> Harness {
    Harness::start(test_provider()).await
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

fn paths_of(d: &Diagnostics) -> Vec<String> {
    d.iter().map(|x| x.path.as_ref().map(ToString::to_string).unwrap_or_default()).collect()
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

#[tokio::test]
async fn schema_is_valid_for_terraform_and_offers_everything() {
    let mut h = harness().await;
    let offered = h.offered().await;
    assert!(offered.diagnostics.is_empty());
    assert_eq!(offered.resources, vec!["test_thing"]);
    assert_eq!(offered.data_sources, vec!["test_echo"]);
    assert_eq!(offered.functions, vec!["upper"]);
    assert!(offered.schema_optional);
    // Every schema passes the checks Terraform runs when it loads one.
    h.provider.block().schema().block.internal_validate("provider").unwrap();
    for r in h.provider.resources() {
        r.schema().block.internal_validate(r.type_name()).unwrap();
    }
    for d in h.provider.data_sources() {
        d.schema().block.internal_validate(d.type_name()).unwrap();
    }
    let f = h.client.get_functions(proto::get_functions::Request {}).await.unwrap().into_inner();
    assert_eq!(f.functions.len(), 1);
}

fn provider_config(pairs: &[(&str, Value)]) -> Value {
    with(&null_object(&Block1.schema().block), pairs)
}

#[tokio::test]
async fn provider_config_errors_point_at_attributes_and_configuring_reaches_every_call() {
    let mut h = harness().await;
    let bad = provider_config(&[("region", Value::string("West")), ("token", Value::string("ABC"))]);
    assert_eq!(paths_of(&h.validate_provider_config(&bad).await), vec!["region", "token"]);
    let echo = with(&null_object(&Echo.schema().block), &[("text", Value::string("hi"))]);
    let before = h.read_data_source("test_echo", &echo).await;
    assert_eq!(before.state.unwrap().get_attr("echo"), Some(&Value::string("hi (unconfigured)")));
    assert!(h.configure("1.11.4", &provider_config(&[("region", Value::string("west"))])).await.is_empty());
    let after = h.read_data_source("test_echo", &echo).await;
    assert_eq!(after.state.unwrap().get_attr("echo"), Some(&Value::string("hi (configured by terraform 1.11.4)")));
}

#[tokio::test]
async fn data_source_validation_names_the_attribute_and_skips_unknowns() {
    let mut h = harness().await;
    let block = Echo.schema().block;
    let d = h.validate_data_source("test_echo", &with(&null_object(&block), &[("text", Value::string(""))])).await;
    assert_eq!(paths_of(&d), vec!["text"]);
    assert!(h.validate_data_source("test_echo", &with(&null_object(&block), &[("text", Value::unknown())])).await.is_empty());
}

#[tokio::test]
async fn functions_return_values_or_blame_an_argument() {
    let mut h = harness().await;
    assert_eq!(h.call_function("upper", &[Value::string("dev")]).await, Ok(Value::string("DEV")));
    let e = h.call_function("upper", &[Value::string("")]).await.unwrap_err();
    assert_eq!(e.argument, Some(0));
    let e = h.call_function("upper", &[]).await.unwrap_err();
    assert!(e.text.contains("takes 1 arguments"), "{}", e.text);
    let e = h.call_function("nope", &[]).await.unwrap_err();
    assert!(e.text.contains("terraform-provider-test has no function named"), "{}", e.text);
}

#[tokio::test]
async fn a_panic_in_a_call_is_a_diagnostic_naming_the_rpc_and_type_and_the_provider_keeps_serving() {
    let mut h = harness().await;
    let ask = |text: &str| with(&null_object(&Echo.schema().block), &[("text", Value::string(text))]);
    let crashed = h.read_data_source("test_echo", &ask("panic")).await;
    assert!(crashed.state.is_none());
    let d = &crashed.diagnostics.0[0];
    assert_eq!(d.summary, "terraform-provider-test crashed in ReadDataSource for test_echo");
    assert!(d.detail.contains("asked to panic"), "{}", d.detail);
    // An apply that panics keeps the prior state, so Terraform forgets nothing.
    let schema = Thing.schema();
    let prior = with(
        &null_object(&schema.block),
        &[("id", Value::string("thing-a")), ("name", Value::string("a")), ("size", Value::Number(crate::value::Number::Int(1)))],
    );
    let planned = with(&prior, &[("name", Value::string("panic"))]);
    let applied = h.apply("test_thing", &prior, &planned, &planned, Vec::new()).await;
    assert_eq!(applied.diagnostics.0[0].summary, "terraform-provider-test crashed in ApplyResourceChange for test_thing");
    assert_eq!(applied.state, Some(prior));
    // And the next call is served.
    let ok = h.read_data_source("test_echo", &ask("still here")).await;
    assert!(ok.diagnostics.is_empty(), "{:?}", ok.diagnostics);
}

#[tokio::test]
async fn state_from_an_older_schema_version_is_upgraded() {
    let mut h = harness().await;
    let ty = Thing.schema().implied_type();
    let raw = br#"{"id":"thing-a","name":"a","capacity":3,"secret_version":null,"timeouts":null}"#.to_vec();
    let r = h
        .client
        .upgrade_resource_state(proto::upgrade_resource_state::Request {
            type_name: "test_thing".into(),
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
            type_name: "test_thing".into(),
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
            type_name: "test_thing".into(),
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
            type_name: "test_thing".into(),
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
            type_name: "test_thing".into(),
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
            type_name: "test_thing".into(),
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
            type_name: "test_thing".into(),
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
            type_name: "test_thing".into(),
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
        type_name: "test_thing".into(),
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
            target_type_name: "test_thing".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics[0].summary.contains("not supported"));
    let r = h
        .client
        .validate_ephemeral_resource_config(proto::validate_ephemeral_resource_config::Request {
            type_name: "test_token".into(),
            config: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.diagnostics[0].summary, "Unknown ephemeral resource type");
    let r = h
        .client
        .open_ephemeral_resource(proto::open_ephemeral_resource::Request { type_name: "test_token".into(), ..Default::default() })
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
        .read_resource(proto::read_resource::Request { type_name: "test_nope".into(), ..Default::default() })
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
            type_name: "test_echo".into(),
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
    assert!(h.shutdown().await);
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

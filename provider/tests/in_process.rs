//! The provider served in-process (the real gRPC service, framework types
//! on both ends): what GetProviderSchema offers, the provider block's
//! diagnostics, the conventions data source and the functions. No Azure.

use std::collections::BTreeMap;

use trench_plugin::framework::{Block, Diagnostics};
use trench_plugin::testing::Harness;
use trench_plugin::value::Value;

fn null_object(block: &Block) -> Value {
    let mut m: BTreeMap<String, Value> = block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    m.extend(block.blocks.iter().map(|b| (b.name.clone(), Value::Null)));
    Value::Object(m)
}

fn with(base: &Value, pairs: &[(&str, Value)]) -> Value {
    let Value::Object(mut m) = base.clone() else { panic!("an object") };
    m.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    Value::Object(m)
}

fn paths(d: &Diagnostics) -> Vec<String> {
    d.iter().map(|x| x.path.as_ref().map(ToString::to_string).unwrap_or_default()).collect()
}

async fn harness() -> Harness {
    Harness::start(trench_provider::provider()).await
}

#[tokio::test]
async fn schema_is_valid_for_terraform_and_offers_every_composite_data_source_and_function() {
    let mut h = harness().await;
    let offered = h.offered().await;
    assert!(offered.diagnostics.is_empty());
    assert_eq!(offered.resources, ["trench_hub", "trench_paas_bundle", "trench_private_aks", "trench_spoke", "trench_workload_identity"]);
    assert_eq!(offered.data_sources, ["trench_conventions", "trench_hub"]);
    assert_eq!(offered.functions, ["compact_name", "name"]);
    assert!(offered.schema_optional);
    // Every schema passes the checks Terraform runs when it loads one.
    h.provider.block().schema().block.internal_validate("provider").unwrap();
    for r in h.provider.resources() {
        r.schema().block.internal_validate(r.type_name()).unwrap();
    }
    for d in h.provider.data_sources() {
        d.schema().block.internal_validate(d.type_name()).unwrap();
    }
}

#[tokio::test]
async fn provider_config_errors_point_at_attributes() {
    let mut h = harness().await;
    let block = h.provider.block().schema().block;
    let bad = with(&null_object(&block), &[("tenant_id", Value::string("x")), ("environment", Value::string("moon"))]);
    assert_eq!(paths(&h.validate_provider_config(&bad).await), ["tenant_id", "environment"]);
    let d = h.configure("1.11.4", &null_object(&block)).await;
    assert!(d.is_empty(), "{d:?}");
}

#[tokio::test]
async fn conventions_data_source_reads_names_tags_and_checks() {
    let mut h = harness().await;
    let block = h.provider.data_source("trench_conventions").unwrap().schema().block;
    let cfg = with(&null_object(&block), &[("environment", Value::string("dev")), ("owner", Value::string("team-a"))]);
    let r = h.read_data_source("trench_conventions", &cfg).await;
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let state = r.state.unwrap();
    assert!(state.is_wholly_known());
    let names = state.get_attr("names").unwrap();
    assert_eq!(names.get_attr("hub_vnet"), None, "names is a map, not an object");
    let Value::Map(names) = names else { panic!("{names:?}") };
    assert_eq!(names["key_vault"], Value::string("trench-core-kv-dev"));
    let Some(Value::Map(tags)) = state.get_attr("tags") else { panic!("tags") };
    assert_eq!(tags["owner"], Value::string("team-a"));
    assert_eq!(tags["cost-center"], Value::string("trench"));
    assert_eq!(state.get_attr("location"), Some(&Value::string("westeurope")));

    let bad = with(&null_object(&block), &[("environment", Value::string("Dev-1")), ("location", Value::string("West Europe"))]);
    assert_eq!(paths(&h.validate_data_source("trench_conventions", &bad).await), ["environment", "location"]);
    // Unknown (not yet known) values validate cleanly.
    let unknown = with(&null_object(&block), &[("environment", Value::unknown())]);
    assert!(h.validate_data_source("trench_conventions", &unknown).await.is_empty());
}

#[tokio::test]
async fn functions_return_names_or_blame_an_argument() {
    let mut h = harness().await;
    let s = |v: &[&str]| v.iter().map(|x| Value::string(*x)).collect::<Vec<_>>();
    assert_eq!(h.call_function("compact_name", &s(&["core", "acr", "dev"])).await, Ok(Value::string("trenchacrcoredev")));
    let e = h.call_function("name", &s(&["core", "vnet", "DEV"])).await.unwrap_err();
    assert_eq!(e.argument, Some(2));
    assert!(e.text.contains("environment \"DEV\""), "{}", e.text);
    assert!(h.call_function("name", &s(&["core"])).await.unwrap_err().text.contains("takes 3 arguments"));
    assert!(h.call_function("nope", &[]).await.is_err());
}

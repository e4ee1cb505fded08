//! Plan-time behaviour of trench_spoke: validation with attribute paths,
//! defaults, and reading the bodies it writes back into the same spoke.

use serde_json::json;

use super::spec::*;
use super::spec::{flatten, want};
use super::*;
use crate::resources::common::Env;
use crate::resources::composite::{Bodies, Model, Specs};
use crate::resources::testing::{self, list};

fn config(pairs: &[(&'static str, Value)]) -> Value {
    let hub = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev";
    let base = vec![
        ("environment", Value::string("dev")),
        ("hub_id", Value::string(hub)),
        ("firewall_private_ip", Value::string("10.0.0.4")),
        ("address_space", list(&["10.1.0.0/16"])),
        ("hub_address_space", list(&["10.0.0.0/16"])),
    ];
    testing::config::<Spoke>(&testing::overlay(base, pairs))
}

fn errors(pairs: &[(&'static str, Value)]) -> Vec<String> {
    testing::validation_paths::<Spoke>(&config(pairs), false)
}

#[test]
fn bad_inputs_name_their_attribute() {
    let sub = |pairs: &[(&str, &str)]| Value::Map(pairs.iter().map(|(k, v)| ((*k).to_owned(), Value::string(*v))).collect());
    type Case = (Vec<(&'static str, Value)>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        (vec![], vec![]),
        (vec![("address_space", list(&["10.0.128.0/17"]))], vec!["address_space[0]"]),
        (vec![("address_space", list(&["10.0.0.0/8"]))], vec!["address_space[0]", "firewall_private_ip"]),
        (vec![("firewall_private_ip", Value::string("10.9.9.9"))], vec!["firewall_private_ip"]),
        (vec![("firewall_private_ip", Value::string("fw"))], vec!["firewall_private_ip"]),
        (vec![("hub_id", Value::string("/subscriptions/x/resourceGroups/rg"))], vec!["hub_id"]),
        (vec![("hub_id", Value::string("not an id"))], vec!["hub_id"]),
        (vec![("name", Value::string("AKS"))], vec!["name"]),
        (vec![("subnets", sub(&[("aks-nodes", "10.2.0.0/22")]))], vec!["subnets[\"aks-nodes\"]"]),
        (vec![("subnets", sub(&[("AzureFirewallSubnet", "10.1.0.0/26")]))], vec!["subnets[\"AzureFirewallSubnet\"]"]),
        (vec![("route_table_subnets", list(&["nodes"]))], vec!["route_table_subnets[0]"]),
        (vec![("route_table_name", Value::string("rt!"))], vec!["route_table_name"]),
        (vec![("address_space", list(&["10.1.0.0/26"]))], vec!["address_space"]),
    ];
    for (pairs, want) in cases {
        assert_eq!(errors(&pairs), want, "{pairs:?}");
    }
}

#[test]
fn default_subnets_carve_nodes_and_endpoints() {
    let s = default_subnets(&["10.1.0.0/16".into()]).unwrap();
    assert_eq!(s[NODES_SUBNET], "10.1.0.0/22");
    assert_eq!(s[ENDPOINTS_SUBNET], "10.1.4.0/24");
}

/// The spoke of the test configuration, as apply would see it.
fn sample() -> SpokeSpec {
    let env = Env { subscription: "00000000-0000-4000-8000-000000000002".into(), ..Env::default() };
    let mut v = config(&[("location", Value::string("westeurope"))]);
    let cfg: SpokeConfig = trench_plugin::value::from_value(&v).unwrap();
    let req = PlanRequest { prior: Value::Null, proposed: v.clone(), config: v.clone(), prior_private: Vec::new() };
    <Spoke as Model>::fill_defaults(&mut v, &req, &cfg);
    Spoke::spec_from(&env, &v).unwrap()
}

#[test]
fn defaults_follow_the_conventions() {
    let s = sample();
    assert_eq!(s.ids.names.resource_group, "rg-trench-aks-dev");
    assert_eq!(s.ids.names.vnet, "trench-aks-vnet-dev");
    assert_eq!(s.ids.names.route_table, "rt-aks-nodes-dev");
    assert_eq!(s.ids.names.hub_to_spoke, "trench-hub-to-aks-dev");
    assert_eq!(s.route_table_subnets, vec![NODES_SUBNET.to_owned()]);
}

#[test]
fn flatten_reads_back_every_input_expand_writes() {
    let s = sample();
    let bodies: Bodies<Slot> = SLOTS
        .into_iter()
        .map(|slot| {
            let mut b = want(&s, slot, s.location.as_deref().unwrap_or_default(), None);
            b["id"] = json!(slot.id(&s.ids).to_string());
            (slot, b)
        })
        .collect();
    let mut base = s.clone();
    base.location = None;
    base.address_space = vec!["10.9.0.0/16".into()];
    base.subnets = BTreeMap::new();
    base.route_table_subnets = Vec::new();
    base.firewall_private_ip = "10.0.0.99".into();
    assert_eq!(flatten(&base, &bodies), s);
}

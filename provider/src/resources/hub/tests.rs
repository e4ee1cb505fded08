//! Plan-time behaviour of trench_hub that needs no ARM: validation with
//! attribute paths, defaults, deterministic ids, replace reasons.

use serde_json::json;

use super::spec::*;
use super::spec::{EgressMode, HubNames, JumpHost, flatten, want};
use super::*;
use crate::resources::composite::{Bodies, Specs};
use crate::resources::driver::Composed;
use crate::resources::testing::{self, list};
use trench_plugin::framework::Resource;
use trench_plugin::value::Value;

fn map(xs: &[(&str, &str)]) -> Value {
    Value::Map(xs.iter().map(|(k, v)| ((*k).to_owned(), Value::string(*v))).collect())
}

fn config(pairs: &[(&str, Value)]) -> Value {
    testing::config::<Hub>(pairs)
}

fn errors(pairs: &[(&'static str, Value)]) -> Vec<String> {
    testing::validation_paths::<Hub>(&config(&testing::overlay(base(), pairs)), true)
}

fn base() -> Vec<(&'static str, Value)> {
    vec![("environment", Value::string("dev")), ("location", Value::string("westeurope")), ("address_space", list(&["10.0.0.0/16"]))]
}

#[test]
fn a_valid_hub_has_no_diagnostics() {
    assert!(errors(&[]).is_empty());
    let jump = Value::Object(BTreeMap::from([
        ("size".to_owned(), Value::Null),
        ("admin_username".to_owned(), Value::Null),
        ("ssh_public_key".to_owned(), Value::string("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG dev@host")),
        ("public_ip".to_owned(), Value::Null),
    ]));
    assert!(errors(&[("jump_host", jump), ("admin_cidrs", list(&["203.0.113.0/24"]))]).is_empty());
}

#[test]
fn bad_inputs_name_their_attribute() {
    let jump_bad_key = Value::Object(BTreeMap::from([
        ("size".to_owned(), Value::string("B2s")),
        ("admin_username".to_owned(), Value::string("root")),
        ("ssh_public_key".to_owned(), Value::string("not a key")),
        ("public_ip".to_owned(), Value::Null),
    ]));
    type Case = (Vec<(&'static str, Value)>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        (vec![("environment", Value::string("Dev"))], vec!["environment"]),
        (vec![("location", Value::string("mars"))], vec!["location"]),
        (vec![("address_space", list(&["10.0.0.0/33"]))], vec!["address_space[0]"]),
        (vec![("address_space", list(&["10.0.0.1/16"]))], vec!["address_space[0]"]),
        (vec![("address_space", list(&["10.0.0.0/16", "10.0.128.0/17"]))], vec!["address_space[1]"]),
        (vec![("subnets", map(&[("AzureFirewallSubnet", "10.0.0.0/27")]))], vec!["subnets[\"AzureFirewallSubnet\"]"]),
        (vec![("subnets", map(&[("AzureFirewallSubnet", "10.0.0.0/26"), ("x", "10.9.0.0/24")]))], vec!["subnets[\"x\"]"]),
        (vec![("subnets", map(&[("AzureFirewallSubnet", "10.0.0.0/26"), ("x", "10.0.0.0/24")]))], vec!["subnets[\"x\"]"]),
        (vec![("subnets", map(&[("shared-services", "10.0.1.0/24")]))], vec!["subnets"]),
        (vec![("subnets", map(&[("AzureFirewallSubnet", "10.0.0.0/26"), ("-bad", "10.0.1.0/24")]))], vec!["subnets[\"-bad\"]"]),
        (vec![("firewall_sku_tier", Value::string("Basic"))], vec!["firewall_sku_tier"]),
        (vec![("firewall_sku_tier", Value::string("premium"))], vec!["firewall_sku_tier"]),
        (vec![("threat_intel_mode", Value::string("Block"))], vec!["threat_intel_mode"]),
        (vec![("egress_mode", Value::string("open"))], vec!["egress_mode"]),
        (vec![("egress_source_addresses", list(&["10.0.0.0/8", "nope"]))], vec!["egress_source_addresses[1]"]),
        (vec![("admin_cidrs", list(&["1.2.3.4/33"]))], vec!["admin_cidrs[0]"]),
        (vec![("jump_host", jump_bad_key)], vec!["admin_cidrs", "jump_host.ssh_public_key", "jump_host.size", "jump_host.admin_username"]),
        (vec![("vnet_name", Value::string("-vnet"))], vec!["vnet_name"]),
        (vec![("firewall_name", Value::string("x".repeat(57)))], vec!["firewall_name"]),
        (vec![("tags", map(&[("a/b", "x")]))], vec!["tags[\"a/b\"]"]),
        (vec![("address_space", list(&["10.0.0.0/28"]))], vec!["address_space"]),
    ];
    for (pairs, want) in cases {
        assert_eq!(errors(&pairs), want, "{pairs:?}");
    }
}

#[test]
fn rule_lists_are_validated_per_element() {
    let app = Value::List(vec![Value::Object(BTreeMap::from([
        ("name".to_owned(), Value::string("gh")),
        ("source_addresses".to_owned(), list(&["10.1.0.0/16"])),
        ("target_fqdns".to_owned(), list(&["https://github.com/"])),
        ("protocols".to_owned(), list(&["Https:443", "Ftp:21"])),
    ]))]);
    let net = Value::List(vec![Value::Object(BTreeMap::from([
        ("name".to_owned(), Value::string("dns")),
        ("protocols".to_owned(), list(&["UDP", "SCTP"])),
        ("source_addresses".to_owned(), list(&["*"])),
        ("destination_addresses".to_owned(), list(&["AzureCloud.westeurope", "bad addr"])),
        ("destination_ports".to_owned(), list(&["53", "70000", "10-5"])),
    ]))]);
    assert_eq!(
        errors(&[("application_rules", app), ("network_rules", net)]),
        vec![
            "application_rules[0].target_fqdns",
            "application_rules[0].protocols[1]",
            "network_rules[0].protocols[1]",
            "network_rules[0].destination_addresses[1]",
            "network_rules[0].destination_ports[1]",
            "network_rules[0].destination_ports[2]",
        ]
    );
}

#[test]
fn default_subnets_carve_a_26_and_a_24() {
    let s = default_subnets(&["10.0.0.0/16".into()]).unwrap();
    assert_eq!(s[FIREWALL_SUBNET], "10.0.0.0/26");
    assert_eq!(s[SHARED_SUBNET], "10.0.1.0/24");
}

#[test]
fn unknown_values_are_left_for_later() {
    let mut all = base();
    all.push(("address_space", Value::unknown()));
    all.push(("environment", Value::unknown()));
    assert!(Composed::<Hub>::new().validate(&config(&all)).is_empty());
}

fn sample() -> HubSpec {
    HubSpec {
        ids: HubIds {
            subscription: "00000000-0000-4000-8000-000000000002".into(),
            names: HubNames {
                resource_group: "rg-trench-core-dev".into(),
                vnet: "trench-core-vnet-dev".into(),
                firewall: "trench-core-fw-dev".into(),
                firewall_policy: "trench-core-fwpolicy-dev".into(),
                public_ip: "trench-core-fwpip-dev".into(),
                jump_vm: "trench-core-jump-dev".into(),
                jump_nic: "trench-core-jumpnic-dev".into(),
                jump_nsg: "trench-core-jumpnsg-dev".into(),
                jump_pip: "trench-core-jumppip-dev".into(),
            },
        },
        env: "dev".into(),
        location: "westeurope".into(),
        address_space: vec!["10.0.0.0/16".into()],
        subnets: BTreeMap::from([(FIREWALL_SUBNET.into(), "10.0.0.0/26".into()), (SHARED_SUBNET.into(), "10.0.1.0/24".into())]),
        firewall_sku_tier: "Standard".into(),
        threat_intel_mode: "Alert".into(),
        egress_mode: EgressMode::Strict,
        egress_sources: vec!["10.0.0.0/8".into()],
        application_rules: vec![AppRule {
            name: "github".into(),
            source_addresses: vec!["10.1.0.0/16".into()],
            target_fqdns: vec!["github.com".into()],
            protocols: vec!["Https:443".into()],
        }],
        network_rules: vec![],
        admin_cidrs: vec!["203.0.113.0/24".into()],
        jump_host: Some(JumpHost {
            size: "Standard_B2s".into(),
            admin_username: "azureuser".into(),
            ssh_public_key: "ssh-ed25519 AAAAC3Nza test".into(),
            public_ip: true,
        }),
        tags: BTreeMap::from([("environment".into(), "dev".into())]),
    }
}

#[test]
fn bodies_of_every_owned_object() {
    let s = sample();
    let bodies = json!({
        "ids": [s.ids.rg_id().to_string(), s.ids.vnet_id().to_string(), s.ids.rcg_id().to_string(), s.ids.firewall_id().to_string(), s.ids.vm_id().to_string()],
        "vnet": s.vnet_body(None),
        "policy": s.policy_body(),
        "rcg": s.rcg_body(),
        "firewall": s.firewall_body(),
        "nsg": s.nsg_body(),
        "nic": s.nic_body(),
        "vm": s.vm_body(),
    });
    insta::assert_json_snapshot!(bodies);
}

#[test]
fn loose_mode_adds_one_allow_all_collection() {
    let mut s = sample();
    let strict = s.rule_collections();
    s.egress_mode = EgressMode::Loose;
    let loose = s.rule_collections();
    assert_eq!(loose.as_array().unwrap().len(), strict.as_array().unwrap().len() + 1);
    assert_eq!(loose[0]["name"], "allow-all");
}

/// Bodies as ARM returns them for a spec: what the spec writes, with ids
/// and provisioning states.
fn echoed(s: &HubSpec) -> Bodies<Slot> {
    Hub::slots(s)
        .into_iter()
        .map(|slot| {
            let mut b = want(s, slot, None).unwrap();
            b["id"] = json!(slot.id(&s.ids).to_string());
            b["properties"]["provisioningState"] = json!("Succeeded");
            (slot, b)
        })
        .collect()
}

#[test]
fn flatten_reads_back_every_input_expand_writes() {
    let s = sample();
    // Only names and tags come from the base: no body says them.
    let mut base = s.clone();
    base.location = "northeurope".into();
    base.address_space = vec!["192.168.0.0/16".into()];
    base.subnets = BTreeMap::new();
    base.firewall_sku_tier = "Premium".into();
    base.threat_intel_mode = "Deny".into();
    base.egress_mode = EgressMode::Loose;
    base.egress_sources = Vec::new();
    base.application_rules = Vec::new();
    base.network_rules = vec![NetRule {
        name: "x".into(),
        protocols: vec![],
        source_addresses: vec![],
        destination_addresses: vec![],
        destination_ports: vec![],
    }];
    base.admin_cidrs = Vec::new();
    base.jump_host = Some(JumpHost { size: "x".into(), admin_username: "x".into(), ssh_public_key: "x".into(), public_ip: false });
    assert_eq!(flatten(&base, &echoed(&s)), s);
    let mut loose = s.clone();
    loose.egress_mode = EgressMode::Loose;
    loose.jump_host = None;
    // Without a jump host no NSG holds the admin CIDRs: the base's stand.
    loose.admin_cidrs = Vec::new();
    loose.network_rules = base.network_rules.clone();
    let strict_base = HubSpec { jump_host: None, egress_mode: EgressMode::Strict, ..base };
    assert_eq!(flatten(&strict_base, &echoed(&loose)), loose, "loose mode and network rules read back");
}

//! Plan-time behaviour of trench_hub that needs no ARM: validation with
//! attribute paths, defaults, deterministic ids, replace reasons.

use super::*;
use trench_plugin::value::Value;

fn config(pairs: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> = schema().block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    m.insert("timeouts".into(), Value::Null);
    for (k, v) in pairs {
        m.insert((*k).to_owned(), v.clone());
    }
    Value::Object(m)
}

fn list(xs: &[&str]) -> Value {
    Value::List(xs.iter().map(|x| Value::string(*x)).collect())
}

fn map(xs: &[(&str, &str)]) -> Value {
    Value::Map(xs.iter().map(|(k, v)| ((*k).to_owned(), Value::string(*v))).collect())
}

fn base() -> Vec<(&'static str, Value)> {
    vec![("environment", Value::string("dev")), ("location", Value::string("westeurope")), ("address_space", list(&["10.0.0.0/16"]))]
}

fn errors(pairs: &[(&str, Value)]) -> Vec<String> {
    let mut all = base();
    all.extend(pairs.iter().cloned());
    Hub.validate(&config(&all))
        .iter()
        .filter(|d| d.severity == trench_plugin::framework::Severity::Error)
        .map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default())
        .collect()
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
    assert!(Hub.validate(&config(&all)).is_empty());
}

//! Plan-time behaviour of trench_spoke: validation with attribute paths.

use super::*;

fn config(pairs: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> = schema().block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    m.insert("timeouts".into(), Value::Null);
    m.insert("environment".into(), Value::string("dev"));
    m.insert("hub_id".into(), Value::string("/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev"));
    m.insert("firewall_private_ip".into(), Value::string("10.0.0.4"));
    m.insert("address_space".into(), list(&["10.1.0.0/16"]));
    m.insert("hub_address_space".into(), list(&["10.0.0.0/16"]));
    for (k, v) in pairs {
        m.insert((*k).to_owned(), v.clone());
    }
    Value::Object(m)
}

fn list(xs: &[&str]) -> Value {
    Value::List(xs.iter().map(|x| Value::string(*x)).collect())
}

fn errors(pairs: &[(&str, Value)]) -> Vec<String> {
    Spoke.validate(&config(pairs)).iter().map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default()).collect()
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

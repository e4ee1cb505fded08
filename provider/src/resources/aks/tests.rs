//! Plan-time behaviour of trench_private_aks that needs no ARM.

use super::*;

fn config(pairs: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> = schema().block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    m.insert("timeouts".into(), Value::Null);
    m.insert("environment".into(), Value::string("dev"));
    m.insert("location".into(), Value::string("westeurope"));
    m.insert(
        "subnet_id".into(),
        Value::string("/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev/subnets/aks-nodes"),
    );
    for (k, v) in pairs {
        m.insert((*k).to_owned(), v.clone());
    }
    Value::Object(m)
}

fn pool(pairs: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> =
        ["vm_size", "node_count", "min_count", "max_count", "labels", "taints"].iter().map(|k| ((*k).to_owned(), Value::Null)).collect();
    for (k, v) in pairs {
        m.insert((*k).to_owned(), v.clone());
    }
    Value::Object(m)
}

fn n(i: i64) -> Value {
    Value::Number(trench_plugin::value::Number::Int(i))
}

fn errors(pairs: &[(&str, Value)]) -> Vec<String> {
    PrivateAks.validate(&config(pairs)).iter().map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default()).collect()
}

#[test]
fn bad_inputs_name_their_attribute() {
    type Case = (Vec<(&'static str, Value)>, Vec<&'static str>);
    let pools = |name: &str, p: Value| Value::Map(BTreeMap::from([(name.to_owned(), p)]));
    let cases: Vec<Case> = vec![
        (vec![], vec![]),
        (vec![("name", Value::string("aks_"))], vec!["name"]),
        (vec![("dns_prefix", Value::string("-x"))], vec!["dns_prefix"]),
        (vec![("subnet_id", Value::string("/subscriptions/x/resourceGroups/rg"))], vec!["subnet_id"]),
        (vec![("acr_id", Value::string("nope"))], vec!["acr_id"]),
        (vec![("kubernetes_version", Value::string("latest"))], vec!["kubernetes_version"]),
        (vec![("sku_tier", Value::string("Gold"))], vec!["sku_tier"]),
        (vec![("service_cidr", Value::string("172.16.0.1/16"))], vec!["service_cidr"]),
        (vec![("dns_service_ip", Value::string("10.0.0.10"))], vec!["dns_service_ip"]),
        (vec![("pod_cidr", Value::string("172.16.128.0/17"))], vec!["pod_cidr"]),
        (vec![("system_pool", pool(&[("node_count", n(0))]))], vec!["system_pool.node_count"]),
        (vec![("system_pool", pool(&[("min_count", n(3)), ("max_count", n(2))]))], vec!["system_pool.min_count"]),
        (vec![("system_pool", pool(&[("min_count", n(1))]))], vec!["system_pool.max_count"]),
        (vec![("node_pools", pools("UserPool", pool(&[("vm_size", Value::string("Standard_D4s_v5"))])))], vec!["node_pools[\"UserPool\"]"]),
        (vec![("node_pools", pools("system", pool(&[("vm_size", Value::string("Standard_D4s_v5"))])))], vec!["node_pools[\"system\"]"]),
        (vec![("node_pools", pools("user", pool(&[("vm_size", Value::string("D4s"))])))], vec!["node_pools[\"user\"].vm_size"]),
        (
            vec![(
                "node_pools",
                pools(
                    "infra",
                    pool(&[("vm_size", Value::string("Standard_D4s_v5")), ("taints", Value::List(vec![Value::string("infra=true")]))]),
                ),
            )],
            vec!["node_pools[\"infra\"].taints[0]"],
        ),
        (vec![("admin_group_object_ids", Value::List(vec![Value::string("admins")]))], vec!["admin_group_object_ids[0]"]),
        (vec![("environment", Value::string("Prod"))], vec!["environment"]),
        (vec![("location", Value::string("mars"))], vec!["location"]),
    ];
    for (pairs, want) in cases {
        assert_eq!(errors(&pairs), want, "{pairs:?}");
    }
}

//! Plan-time behaviour of trench_private_aks that needs no ARM.

use serde_json::json;

use super::spec::*;
use super::spec::{AksIds, Pool, flatten};
use super::*;
use crate::resources::composite::Bodies;
use crate::resources::testing;

fn config(pairs: &[(&'static str, Value)]) -> Value {
    let subnet = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev/subnets/aks-nodes";
    let base = vec![("environment", Value::string("dev")), ("location", Value::string("westeurope")), ("subnet_id", Value::string(subnet))];
    testing::config::<PrivateAks>(&testing::overlay(base, pairs))
}

fn n(i: i64) -> Value {
    testing::num(i)
}

fn errors(pairs: &[(&'static str, Value)]) -> Vec<String> {
    testing::validation_paths::<PrivateAks>(&config(pairs), false)
}

fn pool(pairs: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> =
        ["vm_size", "node_count", "min_count", "max_count", "labels", "taints"].iter().map(|k| ((*k).to_owned(), Value::Null)).collect();
    for (k, v) in pairs {
        m.insert((*k).to_owned(), v.clone());
    }
    Value::Object(m)
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
        (vec![("network_policy", Value::string("weave"))], vec!["network_policy"]),
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

fn sample() -> AksSpec {
    AksSpec {
        ids: AksIds::new("00000000-0000-4000-8000-000000000002", "rg-trench-aks-dev", "trench-aks-cluster-dev"),
        env: "dev".into(),
        location: "westeurope".into(),
        subnet_id: "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev/subnets/aks-nodes".into(),
        firewall_policy_id: None,
        kubernetes_version: Some("1.33".into()),
        dns_prefix: "trench-aks-cluster-dev".into(),
        sku_tier: "Free".into(),
        network_policy: "cilium".into(),
        service_cidr: DEFAULT_SERVICE_CIDR.into(),
        dns_service_ip: DEFAULT_DNS_SERVICE_IP.into(),
        pod_cidr: DEFAULT_POD_CIDR.into(),
        pools: vec![
            Pool { name: "system".into(), system: true, vm_size: DEFAULT_VM_SIZE.into(), node_count: Some(2), autoscale: None, labels: BTreeMap::new(), taints: vec!["CriticalAddonsOnly=true:NoSchedule".into()] },
            Pool { name: "user".into(), system: false, vm_size: "Standard_D4s_v5".into(), node_count: None, autoscale: Some((1, 5)), labels: BTreeMap::from([("workload".into(), "apps".into())]), taints: vec![] },
        ],
        law: Some("/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.OperationalInsights/workspaces/trench-core-law-dev".into()),
        acr: None,
        dns_links: vec![],
        admin_groups: vec![],
        tenant: None,
        kubelet: None,
        tags: BTreeMap::from([("environment".into(), "dev".into())]),
    }
}

#[test]
fn cluster_and_diagnostic_bodies() {
    let s = sample();
    insta::assert_json_snapshot!(
        json!({ "cluster": s.cluster_body(s.pool_profiles()), "diag": s.diag_body(), "diag_id": s.ids.diag_id().to_string() })
    );
}

#[test]
fn flatten_reads_back_every_input_expand_writes() {
    let s = sample();
    let cluster = s.cluster_body(s.pool_profiles());
    let bodies = Bodies::from_iter([(Slot::Cluster, cluster)]);
    // Names, the firewall policy to check and tags come from the base.
    let mut base = s.clone();
    base.location = "northeurope".into();
    base.subnet_id = String::new();
    base.kubernetes_version = Some("1.30".into());
    base.dns_prefix = String::new();
    base.sku_tier = "Standard".into();
    base.network_policy = "azure".into();
    base.service_cidr = String::new();
    base.dns_service_ip = String::new();
    base.pod_cidr = String::new();
    base.pools = Vec::new();
    base.law = None;
    base.admin_groups = vec!["00000000-0000-4000-8000-00000000000a".into()];
    assert_eq!(flatten(&base, &bodies), s);
    // A running version that the pinned one prefixes stays as written.
    let mut running = bodies.clone();
    running.get_mut(&Slot::Cluster).unwrap()["properties"]["kubernetesVersion"] = json!("1.33.2");
    assert_eq!(flatten(&s, &running).kubernetes_version.as_deref(), Some("1.33"));
    running.get_mut(&Slot::Cluster).unwrap()["properties"]["kubernetesVersion"] = json!("1.34.0");
    assert_eq!(flatten(&s, &running).kubernetes_version.as_deref(), Some("1.34.0"), "an upgrade made outside shows");
}

//! `reconcile::ensure` against armsim: what an apply does with an object an
//! earlier, interrupted apply left behind (still being written, or failed).

mod support;

use std::time::Duration;

use serde_json::{Value as Json, json};
use support::{Sim, client};
use tokio_util::sync::CancellationToken;
use trench_arm::reconcile::ensure;
use trench_arm::{ArmClient, Op, ResourceId};

fn op() -> Op {
    Op::new("testing", Duration::from_secs(60), CancellationToken::new())
}

fn puts(c: &ArmClient) -> u64 {
    c.stats().by_method.get("PUT").copied().unwrap_or(0)
}

fn state(body: &Json) -> &str {
    body.pointer("/properties/provisioningState").and_then(Json::as_str).unwrap_or("")
}

async fn rg(sim: &Sim, c: &ArmClient, name: &str) {
    c.put(&op(), &ResourceId::resource_group(&sim.subscription(), name), &json!({"location": "westeurope"})).await.unwrap();
}

fn cluster(sim: &Sim) -> (ResourceId, Json) {
    let id = ResourceId::resource(&sim.subscription(), "rg-aks", "Microsoft.ContainerService", "managedClusters", "aks-a");
    let body = json!({"location": "westeurope", "properties": {"dnsPrefix": "aks-a",
        "agentPoolProfiles": [{"name": "system", "mode": "System", "count": 1, "vmSize": "Standard_D4ds_v5"}]}});
    (id, body)
}

/// Starts a cluster create and returns once ARM shows it as Creating,
/// the way an apply interrupted mid-create leaves it.
async fn start_create(c: &std::sync::Arc<ArmClient>, id: &ResourceId, body: &Json) -> tokio::task::JoinHandle<()> {
    let (c2, id2, b2) = (c.clone(), id.clone(), body.clone());
    let first = tokio::spawn(async move {
        c2.put(&op(), &id2, &b2).await.unwrap();
    });
    loop {
        if let Some(b) = c.get(&op(), id).await.unwrap() {
            assert_eq!(state(&b), "Creating", "{b}");
            return first;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A simulator with a cluster create under way (480 s of AKS create at
/// 1/500: long enough to act while it runs).
async fn mid_create() -> (Sim, std::sync::Arc<ArmClient>, ResourceId, Json, tokio::task::JoinHandle<()>) {
    let sim = Sim::start(&["--time-scale", "0.002"]);
    let c = client(&sim);
    rg(&sim, &c, "rg-aks").await;
    let (id, body) = cluster(&sim);
    let first = start_create(&c, &id, &body).await;
    (sim, c, id, body, first)
}

#[tokio::test]
async fn an_object_still_being_created_is_waited_for_then_matched_without_a_second_put() {
    let (_sim, c, id, body, first) = mid_create().await;
    let before = puts(&c);
    let got = ensure(&c, &op(), &id, &body, None).await.unwrap();
    assert_eq!(state(&got), "Succeeded", "ensure returned before the create ended: {got}");
    assert_eq!(puts(&c), before, "ensure wrote again instead of waiting for the running create");
    first.await.unwrap();
}

#[tokio::test]
async fn aks_another_operation_in_progress_is_waited_out_as_contention() {
    let (_sim, c, id, body, first) = mid_create().await;
    let mut tagged = body.clone();
    tagged["tags"] = json!({"owner": "platform"});
    let got = c.put(&op(), &id, &tagged).await.unwrap();
    assert_eq!(got["tags"]["owner"], "platform", "{got}");
    assert!(c.stats().contention_retries >= 1, "AKS's OperationNotAllowed was not treated as contention: {:?}", c.stats());
    first.await.unwrap();
}

#[tokio::test]
async fn a_failed_object_is_put_again_even_when_its_body_matches() {
    let sim = Sim::start(&[]);
    let c = client(&sim);
    rg(&sim, &c, "rg-failed").await;
    let id = ResourceId::resource(&sim.subscription(), "rg-failed", "Microsoft.Network", "virtualNetworks", "vnet-a");
    let body = json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}}});
    sim.faults(json!({"method": "PUT", "resource_type": "Microsoft.Network/virtualNetworks", "kind": "fail_operation", "count": 1})).await;
    c.put(&op(), &id, &body).await.unwrap_err();
    let left = c.get(&op(), &id).await.unwrap().expect("a failed create leaves the object behind");
    assert_eq!(state(&left), "Failed", "{left}");
    let before = puts(&c);
    let got = ensure(&c, &op(), &id, &body, None).await.unwrap();
    assert_eq!(state(&got), "Succeeded", "{got}");
    assert_eq!(puts(&c), before + 1);
}

use serde_json::{Value, json};

use crate::common::H;

async fn pattern(seed: u64) -> Vec<u16> {
    let h = H::with(|c| {
        c.seed = seed;
        c.faults = armsim::parse_fault_spec("GET:Microsoft.Resources/resourceGroups:error500:p=0.5").unwrap();
    })
    .await;
    h.rg("rg").await;
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(h.get("{sub}/resourceGroups/rg?api-version=2025-04-01").await.status);
    }
    out
}

#[tokio::test]
async fn probabilistic_faults_are_deterministic_under_a_seed() {
    let a = pattern(1).await;
    assert_eq!(a, pattern(1).await, "same seed, same faults");
    assert_ne!(a, pattern(2).await, "another seed, other faults");
    let fired = a.iter().filter(|s| **s == 500).count();
    assert!((8..=32).contains(&fired), "about half of 40 fire, got {fired}");
    assert!(a.iter().all(|s| *s == 200 || *s == 500));
}

#[tokio::test]
async fn admin_api_manages_rules_and_each_kind_behaves() {
    let h = H::with(|c| c.time_scale = 0.0).await;
    h.rg("rg").await;
    let added = h
        .admin(
            "POST",
            "faults",
            Some(&json!([
                {"method": "GET", "resource_type": "microsoft.resources/resourcegroups", "kind": "throttle429", "count": 1},
                {"method": "GET", "resource_type": "Microsoft.Resources/resourceGroups", "kind": "error503", "count": 1},
                {"method": "GET", "path_contains": "/RESOURCEGROUPS/RG", "kind": "conflict409", "count": 1},
                {"method": "GET", "resource_type": "Microsoft.Resources/resourceGroups", "kind": "reset", "count": 1},
                {"method": "GET", "resource_type": "Microsoft.Resources/resourceGroups", "kind": "slow", "delay_ms": 5, "count": 1}
            ])),
        )
        .await;
    assert_eq!(added.body["ids"], json!(["f1", "f2", "f3", "f4", "f5"]));
    let path = "{sub}/resourceGroups/rg?api-version=2025-04-01";
    let r = h.get(path).await;
    assert_eq!((r.status, r.code(), r.header("retry-after")), (429, "TooManyRequests", Some("1")));
    let r = h.get(path).await;
    assert_eq!((r.status, r.code()), (503, "ServiceUnavailable"));
    let r = h.get(path).await;
    assert_eq!((r.status, r.code()), (409, "AnotherOperationInProgress"));
    // No socket in-process: a reset shows as 502 here (see the TLS test for a real reset).
    let r = h.get(path).await;
    assert_eq!((r.status, r.code()), (502, "SimulatedConnectionReset"));
    let t = std::time::Instant::now();
    assert_eq!(h.get(path).await.status, 200);
    assert!(t.elapsed() >= std::time::Duration::from_millis(5), "slow waits before answering");
    assert_eq!(h.get(path).await.status, 200, "count-limited rules retire");
    let listed = h.admin("GET", "faults", None).await;
    assert!(listed.body["value"].as_array().unwrap().iter().all(|r| r["count"] == 0 && r["fired"] == 1));
    assert_eq!(h.admin("GET", "stats", None).await.body["faults_injected"], 5);
    let journal = h.admin("GET", "journal", None).await;
    let faults: Vec<&Value> = journal.body["value"].as_array().unwrap().iter().filter(|e| !e["fault"].is_null()).collect();
    assert_eq!(faults.len(), 4, "slow faults answer normally; the others are journaled with their rule");
    assert_eq!(h.admin("DELETE", "faults/f1", None).await.status, 200);
    assert_eq!(h.admin("DELETE", "faults/f1", None).await.status, 404);
    assert_eq!(h.admin("DELETE", "faults", None).await.status, 200);
    assert_eq!(h.admin("GET", "faults", None).await.body["value"], json!([]));
    assert_eq!(h.admin("POST", "faults", Some(&json!({"kind": "slow"}))).await.status, 400, "slow needs a delay");
}

#[tokio::test]
async fn fail_operation_ends_the_next_lro_failed_like_azure() {
    let h = H::with(|c| c.faults = armsim::parse_fault_spec("PUT:Microsoft.Network/virtualNetworks:fail_operation:count=1").unwrap()).await;
    h.rg("rg").await;
    let body = json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}});
    let r = h.put("{sub}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn?api-version=2025-09-01", body.clone()).await;
    assert_eq!(r.status, 201, "the request itself succeeds");
    let op = crate::common::path_of(r.header("azure-asyncoperation").unwrap());
    h.advance(5.0);
    let status = h.get(&op).await;
    assert_eq!(status.body["status"], "Failed");
    assert_eq!(status.body["error"]["code"], "InternalServerError");
    assert_eq!(status.body["error"]["details"][0]["code"], "OperationFailed");
    let vn = h.get("{sub}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn?api-version=2025-09-01").await;
    assert_eq!(vn.at("properties.provisioningState"), "Failed");
    // A retry (the next PUT) is not affected and repairs the state.
    let r = h.put("{sub}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn?api-version=2025-09-01", body).await;
    assert_eq!(r.status, 200);
    h.advance(5.0);
    let vn = h.get("{sub}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn?api-version=2025-09-01").await;
    assert_eq!(vn.at("properties.provisioningState"), "Succeeded");
}

#[tokio::test]
async fn concurrent_federated_credential_writes_under_one_identity_conflict() {
    let h = H::with(|c| c.time_scale = 0.05).await;
    h.rg("rg").await;
    h.put(
        "{sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a?api-version=2024-11-30",
        json!({"location": "westeurope"}),
    )
    .await;
    let fic = |n: &str| {
        (
            format!(
                "{{sub}}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a/federatedIdentityCredentials/{n}?api-version=2024-11-30"
            ),
            json!({"properties": {"issuer": "https://issuer.example/", "subject": format!("system:serviceaccount:ns:{n}"), "audiences": ["api://AzureADTokenExchange"]}}),
        )
    };
    let (p1, b1) = fic("one");
    let (p2, b2) = fic("two");
    let (r1, r2) = tokio::join!(h.put(&p1, b1.clone()), h.put(&p2, b2.clone()));
    let mut statuses = [r1.status, r2.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let loser = if r1.status == 409 { &r1 } else { &r2 };
    assert_eq!(loser.code(), "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity");
    // One at a time works.
    assert_eq!(h.put(&p1, b1).await.status / 100, 2);
    assert_eq!(h.put(&p2, b2).await.status / 100, 2);
}

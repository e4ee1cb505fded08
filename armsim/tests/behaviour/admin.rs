use serde_json::json;

use crate::common::H;

const VNET: &str = "{sub}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn?api-version=2025-09-01";

async fn with_vnet() -> H {
    let h = H::new().await;
    h.rg("rg").await;
    let r = h
        .put(VNET, json!({"location": "westeurope", "tags": {"env": "dev"}, "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": [{"name": "a", "properties": {"addressPrefix": "10.0.0.0/24"}}]}}))
        .await;
    assert_eq!(r.status, 201);
    h
}

#[tokio::test]
async fn resources_can_be_listed_inspected_drifted_and_deleted_out_of_band() {
    let h = with_vnet().await;
    let list = h.admin("GET", "resources?type=microsoft.network/virtualnetworks", None).await;
    let items = list.body["value"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["type"], "Microsoft.Network/virtualNetworks");
    assert_eq!(items[0]["api_version"], "2025-09-01");
    assert_eq!(items[0]["body"]["properties"]["subnets"][0]["name"], "a");
    let all = h.admin("GET", "resources", None).await;
    assert_eq!(all.body["value"].as_array().unwrap().len(), 3, "group, VNet and subnet");

    let id = "subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn";
    let one = h.admin("GET", &format!("resources/{id}"), None).await;
    assert_eq!(one.body["provisioning"]["state"], "pending");

    // Drift: an out-of-band change shows on the next ARM GET, with a new etag.
    let before = h.get(VNET).await;
    let patched = h.admin("PATCH", &format!("resources/{id}"), Some(&json!({"tags": {"env": "prod", "owner": null}}))).await;
    assert_eq!(patched.status, 200);
    let after = h.get(VNET).await;
    assert_eq!(after.body["tags"], json!({"env": "prod"}));
    assert_ne!(before.body["etag"], after.body["etag"]);

    // Out-of-band delete removes children too.
    let gone = h.admin("DELETE", &format!("resources/{}", id.to_uppercase()), None).await;
    assert_eq!(gone.body["deleted"].as_array().unwrap().len(), 2);
    assert_eq!(h.get(VNET).await.status, 404);
    assert_eq!(h.admin("GET", &format!("resources/{id}"), None).await.status, 404);
}

#[tokio::test]
async fn journal_and_stats_record_every_arm_request() {
    let h = with_vnet().await;
    h.advance(5.0);
    let op = crate::common::path_of(
        h.put(VNET, json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}))
            .await
            .header("azure-asyncoperation")
            .expect("an update LRO"),
    );
    let seq = h.admin("GET", "journal", None).await.body["last_seq"].as_u64().unwrap();
    let echoed = h.call_with("GET", VNET, None, &[("x-ms-client-request-id", "abc-123"), ("x-ms-correlation-request-id", "corr-9")]).await;
    assert_eq!(echoed.header("x-ms-client-request-id"), Some("abc-123"));
    assert_eq!(echoed.header("x-ms-correlation-request-id"), Some("corr-9"));
    for h in ["x-ms-request-id", "x-ms-routing-request-id", "date", "x-ms-ratelimit-remaining-subscription-reads"] {
        assert!(echoed.header(h).is_some(), "{h} missing");
    }
    h.get(VNET).await;
    h.get(&op).await;
    let j = h.admin("GET", &format!("journal?since={seq}"), None).await;
    let entries = j.body["value"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["method"], "GET");
    assert_eq!(entries[0]["client_request_id"], "abc-123");
    assert_eq!(entries[0]["resource_type"], "Microsoft.Network/virtualNetworks");
    assert_eq!(entries[0]["api_version"], "2025-09-01");
    assert_eq!(entries[0]["response_body"]["name"], "vn");
    assert_eq!(entries[2]["resource_type"], "operations");
    let stats = h.admin("GET", "stats", None).await.body;
    assert_eq!(stats["by_method_and_type"]["GET Microsoft.Network/virtualNetworks"], 2);
    assert_eq!(stats["by_method_and_type"]["PUT Microsoft.Network/virtualNetworks"], 2);
    assert_eq!(stats["by_type"]["operations"], 1);
    assert_eq!(stats["total"], 6, "rg PUT, 2 VNet PUTs, 2 VNet GETs, 1 poll");
    assert_eq!(h.admin("DELETE", "journal", None).await.status, 200);
    assert_eq!(h.admin("GET", "journal", None).await.body["value"], json!([]));
}

#[tokio::test]
async fn reset_wipes_state_but_keeps_principals() {
    let h = with_vnet().await;
    h.admin("POST", "faults", Some(&json!({"kind": "error500", "method": "DELETE"}))).await;
    assert_eq!(h.admin("POST", "reset", None).await.status, 200);
    assert_eq!(h.admin("GET", "resources", None).await.body["value"], json!([]));
    assert_eq!(h.admin("GET", "faults", None).await.body["value"], json!([]));
    assert_eq!(h.admin("GET", "stats", None).await.body["total"], 0);
    // The harness token still works: principals and keys survive a reset.
    assert_eq!(h.get("{sub}/resourcegroups?api-version=2025-04-01").await.status, 200);
}

#[tokio::test]
async fn durations_and_health() {
    let h = H::with(|c| c.time_scale = 0.5).await;
    assert_eq!(h.admin("GET", "health", None).await.body, json!({"status": "ok"}));
    let d = h.admin("GET", "durations", None).await.body;
    assert_eq!(d["time_scale"], 0.5);
    assert_eq!(d["types"]["Microsoft.Network/azureFirewalls"]["create_ms"], 180_000);
    assert_eq!(d["types"]["Microsoft.Network/azureFirewalls"]["base_create_s"], 360.0);
    assert_eq!(d["types"]["Microsoft.ContainerService/managedClusters"]["create_style"], "azure-async-operation");
    assert_eq!(d["types"]["Microsoft.DBforPostgreSQL/flexibleServers"]["create_style"], "location");
    assert_eq!(d["types"]["Microsoft.KeyVault/vaults"]["create_style"], "provisioning-state");
    assert_eq!(d["types"]["Microsoft.ManagedIdentity/userAssignedIdentities"]["create_ms"], 0);
}

#[tokio::test]
async fn write_only_secrets_are_kept_as_hashes_and_redacted_from_the_journal() {
    let h = H::with(|c| c.time_scale = 0.0).await;
    h.rg("rg").await;
    let pw = "Str0ng!Passw0rd";
    let r = h
        .put(
            "{sub}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-one?api-version=2025-08-01",
            json!({"location": "westeurope", "sku": {"name": "Standard_B1ms", "tier": "Burstable"}, "properties": {"administratorLogin": "pgadmin", "administratorLoginPassword": pw}}),
        )
        .await;
    assert_eq!(r.status, 202);
    let id =
        "subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-one";
    let s = h.admin("GET", &format!("secrets/{id}"), None).await;
    let expected = {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, pw.as_bytes());
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert_eq!(s.body["secrets"]["properties.administratorLoginPassword"]["sha256"], expected);
    let journal = h.admin("GET", "journal", None).await.body.to_string();
    assert!(!journal.contains(pw), "the password never reaches the journal");
    let listed = h.admin("GET", "resources?type=Microsoft.DBforPostgreSQL/flexibleServers", None).await.body.to_string();
    assert!(!listed.contains(pw));
}

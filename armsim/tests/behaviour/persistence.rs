use serde_json::json;

use crate::common::{H, base_config};

#[tokio::test]
async fn state_survives_a_restart_including_running_operations_and_deleted_vaults() {
    let h = H::new().await;
    h.rg("rg").await;
    let vn = "{sub}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vn?api-version=2025-09-01";
    h.put(vn, json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})).await;
    let kv = "{sub}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-persist?api-version=2026-02-01";
    h.put(
        kv,
        json!({"location": "westeurope", "properties": {"tenantId": armsim::DEFAULT_TENANT, "sku": {"family": "A", "name": "standard"}}}),
    )
    .await;
    h.advance(30.0);
    assert_eq!(h.delete(kv).await.status, 200);
    h.put(vn, json!({"location": "westeurope", "tags": {"v": "2"}, "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}))
        .await;
    let before = h.get(vn).await.body;
    assert_eq!(before["properties"]["provisioningState"], "Updating");
    h.sim.flush().unwrap();
    let state = std::fs::read_to_string(h.dir.path().join("state.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(v["format"], "trench-armsim-state");
    assert_eq!(v["version"], 2);
    assert_eq!(v["soft_deleted"].as_object().map(|m| m.len()), Some(1), "the deleted vault, in the one soft-delete store");

    // A new simulator on the same directory (same clock) sees the same world.
    let mut cfg = base_config(h.dir.path());
    cfg.clock = h.sim.config().clock.clone();
    let sim2 = armsim::Sim::new(cfg).unwrap();
    let h2 = H { app: armsim::app(sim2.clone()), sim: sim2, token: h.token.clone(), dir: tempfile::tempdir().unwrap() };
    assert_eq!(h2.get(vn).await.body, before, "same body, same pending state, same token key");
    assert_eq!(
        h2.get("{sub}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv-persist?api-version=2026-02-01").await.status,
        200
    );
    h2.advance(5.0);
    assert_eq!(h2.get(vn).await.body["properties"]["provisioningState"], "Succeeded");
}

fn start_err(dir: &std::path::Path) -> String {
    match armsim::Sim::new(base_config(dir)) {
        Ok(_) => panic!("a bad state file must stop start-up"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn corrupt_or_foreign_state_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    for (content, needle) in [
        ("{\"format\": \"trench-armsim-state\", \"version\": 1, \"resour", "not valid JSON"),
        ("{\"format\": \"terraform-state\", \"version\": 4}", "not a \"trench-armsim-state\" file"),
        ("{\"hello\": 1}", "no \"format\""),
        ("{\"format\": \"trench-armsim-state\", \"version\": 9, \"seq\": 0, \"resources\": []}", "newer trench-armsim"),
        ("{\"format\": \"trench-armsim-state\", \"version\": 2, \"seq\": 0, \"resources\": [{\"id\": 1}]}", "does not match version 2"),
        ("{\"format\": \"trench-armsim-state\", \"version\": 1, \"seq\": 0, \"resources\": []}", "older trench-armsim"),
    ] {
        std::fs::write(&path, content).unwrap();
        let msg = start_err(dir.path());
        assert!(msg.contains(&path.display().to_string()), "names the file: {msg}");
        assert!(msg.contains(needle), "explains the problem ({needle}): {msg}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content, "never overwritten");
    }
}

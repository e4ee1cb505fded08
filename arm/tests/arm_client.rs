//! The ARM client against armsim: every credential path that runs here,
//! each long-running-operation style, retries and giving up, contention,
//! throttling with zero 429s, cancellation mid-poll, RP registration, and
//! how ARM errors read.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use support::{Sim, client, client_with, config, fake_oidc_jwt};
use tokio_util::sync::CancellationToken;
use trench_arm::{ArmErrorKind, Op, ResourceId};

fn op() -> Op {
    Op::new("testing", Duration::from_secs(60), CancellationToken::new())
}

fn rg(sim: &Sim, name: &str) -> ResourceId {
    ResourceId::resource_group(&sim.subscription(), name)
}

fn vnet(sim: &Sim, rg_name: &str, name: &str) -> ResourceId {
    ResourceId::resource(&sim.subscription(), rg_name, "Microsoft.Network", "virtualNetworks", &format!("vnet-{name}"))
}

fn vnet_body() -> Json {
    json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
           "subnets": [{"name": "a", "properties": {"addressPrefix": "10.1.0.0/24"}}, {"name": "b", "properties": {"addressPrefix": "10.1.1.0/24"}}]}})
}

async fn with_rg(sim: &Sim, name: &str) {
    client(sim).put(&op(), &rg(sim, name), &json!({"location": "westeurope"})).await.unwrap();
}

#[tokio::test]
async fn client_secret_create_read_delete_with_the_expected_headers() {
    let sim = Sim::start(&[]);
    let c = client(&sim);
    with_rg(&sim, "rg-a").await;
    let v = c.put(&op(), &vnet(&sim, "rg-a", "v"), &vnet_body()).await.unwrap();
    assert_eq!(v["properties"]["provisioningState"], "Succeeded");
    assert_eq!(v["properties"]["subnets"].as_array().unwrap().len(), 2);
    assert!(c.get(&op(), &vnet(&sim, "rg-a", "v")).await.unwrap().is_some());
    c.delete(&op(), &vnet(&sim, "rg-a", "v")).await.unwrap();
    assert!(c.get(&op(), &vnet(&sim, "rg-a", "v")).await.unwrap().is_none());
    // Deleting what is gone is fine.
    c.delete(&op(), &vnet(&sim, "rg-a", "v")).await.unwrap();
    let journal = sim.journal().await;
    let put = journal.iter().find(|e| e["method"] == "PUT" && e["path"].as_str().unwrap().contains("virtualNetworks")).unwrap();
    assert_eq!(put["api_version"], "2025-01-01");
    assert!(put["client_request_id"].as_str().is_some_and(|s| s.len() == 36), "{put}");
}

#[tokio::test]
async fn oidc_token_file_is_read_again_on_every_token_refresh() {
    // Tokens shorter-lived than the refresh margin force a refresh per request.
    let sim = Sim::start(&["--token-lifetime", "60"]);
    let file = sim.dir.path().join("oidc-token");
    std::fs::write(&file, fake_oidc_jwt("repo:trench-lab/trench:environment:dev")).unwrap();
    let mut cfg = config(&sim);
    cfg.credentials.client_secret = None;
    cfg.credentials.use_oidc = true;
    cfg.credentials.oidc_token_file_path = Some(file.display().to_string());
    let c = client_with(&cfg);
    with_rg(&sim, "rg-oidc").await;
    for _ in 0..3 {
        c.get(&op(), &rg(&sim, "rg-oidc")).await.unwrap();
    }
    assert!(sim.stats().await["client_assertions"].as_u64().unwrap() >= 3, "one assertion per token refresh");
    // A broken file fails with what was tried.
    std::fs::write(&file, "").unwrap();
    let e = c.get(&op(), &rg(&sim, "rg-oidc")).await.unwrap_err();
    assert!(matches!(e.kind, ArmErrorKind::Auth(_)), "{e}");
}

#[tokio::test]
async fn github_actions_oidc_fetches_a_fresh_assertion_each_time() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = Sim::start(&["--token-lifetime", "60"]);
    // A stand-in for GitHub's ID-token endpoint: checks the bearer token and audience.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let ok = req.contains("audience=api://AzureADTokenExchange")
                && req.to_lowercase().contains("authorization: bearer gh-request-token");
            let body = if ok {
                json!({"value": fake_oidc_jwt("repo:trench-lab/trench:ref:refs/heads/main")}).to_string()
            } else {
                "{}".to_owned()
            };
            let status = if ok { "200 OK" } else { "401 Unauthorized" };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = s
                .write_all(
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    let mut cfg = config(&sim);
    cfg.credentials.client_secret = None;
    cfg.credentials.use_oidc = true;
    cfg.credentials.oidc_request_url = Some(format!("http://{addr}/token?api-version=2.0"));
    cfg.credentials.oidc_request_token = Some(trench_arm::Secret::new("gh-request-token"));
    let c = client_with(&cfg);
    with_rg(&sim, "rg-gh").await;
    for _ in 0..2 {
        c.get(&op(), &rg(&sim, "rg-gh")).await.unwrap();
    }
    assert!(served.load(std::sync::atomic::Ordering::SeqCst) >= 2, "a fresh GitHub token per refresh");
}

#[tokio::test]
async fn azure_cli_credential_runs_az_and_failures_list_every_attempt() {
    let sim = Sim::start(&[]);
    let token = sim.token().await;
    let bin = sim.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let expires = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    let script = format!("#!/bin/sh\necho '{{\"accessToken\":\"{token}\",\"expires_on\":{expires},\"tokenType\":\"Bearer\"}}'\n");
    std::fs::write(bin.join("az"), script).unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(bin.join("az")).unwrap().permissions(), 0o755);
    std::fs::set_permissions(bin.join("az"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // SAFETY: tests in this binary that read PATH run after this point only.
    unsafe { std::env::set_var("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())) };
    let mut cfg = config(&sim);
    cfg.credentials.client_secret = None;
    cfg.credentials.use_cli = true;
    let c = client_with(&cfg);
    c.put(&op(), &rg(&sim, "rg-cli"), &json!({"location": "westeurope"})).await.unwrap();

    // Nothing usable: the error lists each credential and why.
    let mut none = config(&sim);
    none.credentials.client_secret = None;
    none.credentials.use_oidc = true;
    let e = client_with(&none).get(&op(), &rg(&sim, "rg-cli")).await.unwrap_err();
    let text = e.detail();
    for want in [
        "client secret: skipped",
        "OIDC: skipped, no token source",
        "managed identity: skipped, use_msi is false",
        "Azure CLI: skipped, use_cli is false",
    ] {
        assert!(text.contains(want), "{want:?} missing in:\n{text}");
    }
}

#[tokio::test]
async fn every_long_running_operation_style_completes() {
    let sim = Sim::start(&[]);
    let c = client(&sim);
    let sub = sim.subscription();
    with_rg(&sim, "rg-lro").await;
    // 201 + Azure-AsyncOperation (network)
    c.put(&op(), &vnet(&sim, "rg-lro", "v"), &vnet_body()).await.unwrap();
    // 202 + Location, no body (PostgreSQL)
    let pg = ResourceId::resource(&sub, "rg-lro", "Microsoft.DBforPostgreSQL", "flexibleServers", "trench-lro-pg-test");
    let body = json!({"location": "westeurope", "sku": {"name": "Standard_B1ms", "tier": "Burstable"},
        "properties": {"version": "16", "administratorLogin": "trenchadmin", "administratorLoginPassword": "Str0ng!Passw0rd#", "createMode": "Create",
                       "storage": {"storageSizeGB": 32, "autoGrow": "Enabled"}, "network": {"publicNetworkAccess": "Disabled"}}});
    let s = c.put(&op(), &pg, &body).await.unwrap();
    assert_eq!(s["properties"]["fullyQualifiedDomainName"], "trench-lro-pg-test.postgres.database.azure.com");
    assert!(s["properties"].get("administratorLoginPassword").is_none(), "write-only never echoed");
    // provisioningState polling (Key Vault)
    let kv = ResourceId::resource(&sub, "rg-lro", "Microsoft.KeyVault", "vaults", "trench-lro-kv");
    let kv_body = json!({"location": "westeurope", "properties": {"tenantId": sim.info["tenant_id"], "sku": {"family": "A", "name": "standard"},
        "enableRbacAuthorization": true, "publicNetworkAccess": "Disabled", "softDeleteRetentionInDays": 7}});
    let k = c.put(&op(), &kv, &kv_body).await.unwrap();
    assert_eq!(k["properties"]["provisioningState"], "Succeeded");
    assert_eq!(k["properties"]["vaultUri"], "https://trench-lro-kv.vault.azure.net/");
    // 202 + Location then 204 (deletes)
    c.delete(&op(), &pg).await.unwrap();
    c.delete(&op(), &vnet(&sim, "rg-lro", "v")).await.unwrap();
    let stats = sim.stats().await;
    assert!(
        stats["by_method_and_type"].as_object().unwrap().keys().any(|k| k.contains("operations"))
            || stats.to_string().contains("operations"),
        "{stats}"
    );
}

#[tokio::test]
async fn transient_failures_are_retried_then_given_up_with_the_arm_code() {
    let sim = Sim::start(&[]);
    let c = client(&sim);
    with_rg(&sim, "rg-retry").await;
    sim.faults(json!([
        {"method": "PUT", "resource_type": "Microsoft.Network/virtualNetworks", "kind": "error500", "count": 2},
        {"method": "PUT", "resource_type": "Microsoft.Network/virtualNetworks", "kind": "reset", "count": 1},
        {"method": "PUT", "resource_type": "Microsoft.Network/virtualNetworks", "kind": "throttle429", "count": 1},
    ]))
    .await;
    c.put(&op(), &vnet(&sim, "rg-retry", "v"), &vnet_body()).await.unwrap();
    assert!(c.stats().transient_retries >= 4, "{:?}", c.stats());

    sim.faults(json!({"method": "GET", "resource_type": "Microsoft.Network/virtualNetworks", "kind": "error503", "probability": 1.0}))
        .await;
    let e = c.get(&op(), &vnet(&sim, "rg-retry", "v")).await.unwrap_err();
    assert_eq!(e.status(), Some(503), "{e}");
    assert!(e.summary().starts_with("testing Virtual Network \"vnet-v\" (Resource Group \"rg-retry\")"), "{}", e.summary());
}

#[tokio::test]
async fn contention_is_retried_separately_from_throttling() {
    let sim = Sim::start(&[]);
    let c = client(&sim);
    with_rg(&sim, "rg-cont").await;
    sim.faults(json!({"method": "PUT", "resource_type": "Microsoft.Network/virtualNetworks", "kind": "conflict409", "count": 3})).await;
    c.put(&op(), &vnet(&sim, "rg-cont", "v"), &vnet_body()).await.unwrap();
    let s = c.stats();
    assert_eq!(s.contention_retries, 3, "{s:?}");
    assert_eq!(s.throttled, 0);
}

#[tokio::test]
async fn failed_operations_surface_code_message_and_details() {
    let sim = Sim::start(&[]);
    let c = client(&sim);
    with_rg(&sim, "rg-fail").await;
    sim.faults(json!({"method": "PUT", "resource_type": "Microsoft.Network/virtualNetworks", "kind": "fail_operation", "count": 1})).await;
    let e = c.put(&op(), &vnet(&sim, "rg-fail", "v"), &vnet_body()).await.unwrap_err();
    assert!(matches!(e.kind, ArmErrorKind::OperationFailed { .. }), "{e}");
    assert!(e.summary().contains("operation Failed"), "{}", e.summary());
    assert!(e.correlation_id.is_some() || e.request_id.is_some());
}

#[tokio::test]
async fn a_large_read_burst_paces_itself_and_sees_no_429() {
    let sim = Sim::start(&["--throttle", "real"]);
    let c = client(&sim);
    with_rg(&sim, "rg-burst").await;
    let id = rg(&sim, "rg-burst");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..300 {
        let (c, id) = (c.clone(), id.clone());
        tasks.push(tokio::spawn(async move { c.get(&op(), &id).await.map(|_| ()) }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let elapsed = start.elapsed();
    let stats = sim.stats().await;
    assert_eq!(stats["throttled"], 0, "{stats}");
    assert_eq!(c.stats().throttled, 0);
    // 250 burst, then 25/s: the remaining ~50 take about 2 s.
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
}

#[tokio::test]
async fn stop_cancels_a_wait_mid_poll() {
    // Real-time durations: the firewall would take minutes.
    let sim = Sim::start(&["--time-scale", "1"]);
    let c = client(&sim);
    with_rg(&sim, "rg-stop").await;
    let cancel = CancellationToken::new();
    let o = Op::new("creating", Duration::from_secs(600), cancel.clone());
    let id = vnet(&sim, "rg-stop", "v");
    let task = tokio::spawn({
        let c = c.clone();
        async move { c.put(&o, &id, &vnet_body()).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    cancel.cancel();
    let r = tokio::time::timeout(Duration::from_secs(2), task).await.expect("returns promptly").unwrap();
    assert!(matches!(r.unwrap_err().kind, ArmErrorKind::Cancelled));
    assert!(t.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn unregistered_namespace_is_registered_once_then_retried() {
    let sim = Sim::start(&[]);
    let c = client(&sim);
    with_rg(&sim, "rg-reg").await;
    let cosmos = ResourceId::resource(&sim.subscription(), "rg-reg", "Microsoft.DocumentDB", "databaseAccounts", "trench-reg-cosmos");
    let body = json!({"location": "westeurope", "kind": "GlobalDocumentDB", "properties": {"databaseAccountOfferType": "Standard",
        "locations": [{"locationName": "westeurope", "failoverPriority": 0}], "publicNetworkAccess": "Disabled"}});
    c.put(&op(), &cosmos, &body).await.unwrap();
    assert_eq!(c.stats().registrations, 1);
    let journal = sim.journal().await;
    let registers: Vec<_> = journal.iter().filter(|e| e["path"].as_str().unwrap_or("").ends_with("/register")).collect();
    assert_eq!(registers.len(), 1, "only the namespace ARM asked for");
    assert!(registers[0]["path"].as_str().unwrap().contains("Microsoft.DocumentDB"));
}

#[tokio::test]
async fn arm_errors_render_what_was_done_to_which_object() {
    let sim = Sim::start(&[]);
    let c = client(&sim);
    with_rg(&sim, "rg-err").await;
    let mut body = vnet_body();
    body["properties"]["subnets"][1]["properties"]["addressPrefix"] = json!("10.9.0.0/24");
    let e = c
        .put(&Op::new("creating", Duration::from_secs(60), CancellationToken::new()), &vnet(&sim, "rg-err", "trench-aks-vnet-dev"), &body)
        .await
        .unwrap_err();
    let rendered = format!("{}\n---\n{}", e.summary(), e.detail());
    let redacted: String = rendered
        .lines()
        .map(|l| {
            if l.starts_with("Request ID:") || l.starts_with("Correlation ID:") {
                l.split(':').next().unwrap().to_owned() + ": <id>"
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(redacted);
    let missing_rg = c.put(&op(), &vnet(&sim, "rg-nope", "v"), &vnet_body()).await.unwrap_err();
    assert_eq!(missing_rg.code(), Some("ResourceGroupNotFound"));
    assert!(missing_rg.detail().contains("Hint:"));
}

//! The real thing: `serve` on port 0 with TLS from the simulator's CA, driven by reqwest.

use std::time::Duration;

use serde_json::{Value, json};

fn client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn token(c: &reqwest::Client, run: &armsim::RunningSim) -> String {
    let r = c
        .post(format!("{}/{}/oauth2/v2.0/token", run.endpoint(), run.tenant_id()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &run.client_id()),
            ("client_secret", &run.client_secret()),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn serve_over_tls_with_token_reset_fault_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = armsim::SimConfig { state_dir: dir.path().to_path_buf(), time_scale: 0.0, ..Default::default() };
    let started = std::time::Instant::now();
    let run = armsim::serve(cfg.clone()).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(run.endpoint().starts_with("https://127.0.0.1:"));
    assert_eq!(std::fs::read_to_string(run.ca_file()).unwrap(), run.ca_pem());
    let info: Value = serde_json::from_slice(&std::fs::read(dir.path().join("armsim.json")).unwrap()).unwrap();
    assert_eq!(info["endpoint"], run.endpoint());
    assert_eq!(info["ca_file"], run.ca_file().display().to_string());
    assert_eq!(info["tenant_id"], armsim::DEFAULT_TENANT);
    assert_eq!(info["subscription_ids"], json!([armsim::DEFAULT_SUBSCRIPTION]));
    assert_eq!(info["client_id"], armsim::DEMO_CLIENT_ID);
    assert_eq!(info["client_secret"], armsim::DEMO_CLIENT_SECRET);
    assert_eq!(info["pid"], std::process::id());

    let c = client(&run.ca_pem());
    let tok = token(&c, &run).await;
    let rg = format!("{}/subscriptions/{}/resourceGroups/rg-tls?api-version=2025-04-01", run.endpoint(), run.subscription_id());
    let r = c.put(&rg).bearer_auth(&tok).json(&json!({"location": "westeurope"})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert!(r.headers().contains_key("x-ms-request-id"));
    assert!(r.headers().contains_key("date"));

    // A reset fault drops the TCP connection without an HTTP response.
    let added = c
        .post(format!("{}/_sim/faults", run.endpoint()))
        .json(&json!({"method": "GET", "kind": "reset", "count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let err = c.get(&rg).bearer_auth(&tok).send().await.expect_err("the connection is reset");
    assert!(!err.is_status() && !err.is_timeout(), "a transport error, not an HTTP answer: {err:?}");
    let ok = c.get(&rg).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(ok.status(), 200, "the next request works on a fresh connection");
    let stats: Value = c.get(format!("{}/_sim/stats", run.endpoint())).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["faults_injected"], 1);

    // Shutdown writes state; a restart reuses the CA and keeps resources.
    let ca = run.ca_pem();
    run.shutdown().await.unwrap();
    assert!(dir.path().join("state.json").exists());
    let run = armsim::serve(cfg).await.unwrap();
    assert_eq!(run.ca_pem(), ca, "the CA is reused across restarts");
    let c = client(&run.ca_pem());
    let rg = format!("{}/subscriptions/{}/resourceGroups/rg-tls?api-version=2025-04-01", run.endpoint(), run.subscription_id());
    let r = c.get(&rg).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status(), 200, "tokens and resources survive the restart");
    run.shutdown().await.unwrap();
}

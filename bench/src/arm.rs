//! The ARM client against armsim: throughput through the client, overhead
//! per request against the same GET sent with bare reqwest, and the ARM
//! calls for create/read/delete of one VNet against the contract's minimum.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;
use trench_arm::{ArmClient, ClientOptions, CloudEnvironment, Credentials, Op, ResourceId, Secret, Settings};
use trench_e2e::sim::Sim;

use crate::report::{Figure, at_most};

/// Client settings for a simulator, polling every 10 ms.
fn config(sim: &Sim) -> Settings {
    let endpoint = format!("{}/", sim.endpoint);
    Settings {
        credentials: Credentials {
            tenant_id: Some(sim.field("tenant_id")),
            client_id: Some(sim.field("client_id")),
            client_secret: Some(Secret::new(sim.field("client_secret"))),
            authority_host: endpoint.clone(),
            ..Credentials::default()
        },
        endpoint,
        cloud: CloudEnvironment::Public,
        extra_ca_pem: Some(std::fs::read(sim.ca_file()).unwrap()),
        user_agent: "trench-bench".into(),
        options: ClientOptions::scaled(None, Some(Duration::from_millis(10))),
    }
}

fn op() -> Op {
    Op::new("benchmarking", Duration::from_secs(120), CancellationToken::new())
}

fn figure(name: &str, value: f64, unit: &str) -> Figure {
    Figure {
        name: name.into(),
        value: (value * 100.0).round() / 100.0,
        unit: unit.into(),
        target: "-".into(),
        anchor: "-".into(),
        pass: None,
    }
}

pub fn run() -> Vec<Figure> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async {
        let mut out = Vec::new();
        // Throughput: throttling off, so the figure is the client's, not ARM's limit.
        let sim = Sim::start(&["--throttle", "off"]);
        let mut cfg = config(&sim);
        cfg.options.throttle = false;
        let client = Arc::new(ArmClient::connect(cfg).unwrap());
        let rg = ResourceId::resource_group(&sim.subscription(), "rg-bench");
        client.put(&op(), &rg, &json!({"location": "westeurope"})).await.unwrap();
        const N: usize = 2000;
        const CONCURRENCY: usize = 16;
        let run_client = || {
            let (client, rg) = (client.clone(), rg.clone());
            async move {
                let start = Instant::now();
                let mut tasks = Vec::new();
                for w in 0..CONCURRENCY {
                    let (client, rg) = (client.clone(), rg.clone());
                    tasks.push(tokio::spawn(async move {
                        for _ in (w..N).step_by(CONCURRENCY) {
                            client.get(&op(), &rg).await.unwrap();
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
                start.elapsed()
            }
        };
        // The same GETs with bare reqwest and a fixed token: the floor.
        let token = sim.token().await;
        let ca = std::fs::read(sim.ca_file()).unwrap();
        let raw = reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_pem(&ca).unwrap()]).build().unwrap();
        let url = format!("{}{rg}?api-version=2023-07-01", sim.endpoint);
        let run_raw = || {
            let (raw, url, token) = (raw.clone(), url.clone(), token.clone());
            async move {
                let start = Instant::now();
                let mut tasks = Vec::new();
                for w in 0..CONCURRENCY {
                    let (raw, url, token) = (raw.clone(), url.clone(), token.clone());
                    tasks.push(tokio::spawn(async move {
                        for _ in (w..N).step_by(CONCURRENCY) {
                            let r = raw.get(&url).bearer_auth(&token).send().await.unwrap();
                            assert!(r.status().is_success());
                            r.bytes().await.unwrap();
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
                start.elapsed()
            }
        };
        // Warm both, then alternate so noise hits both equally.
        run_client().await;
        run_raw().await;
        let (mut tc, mut tr) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..3 {
            tc += run_client().await;
            tr += run_raw().await;
        }
        let (tc, tr) = (tc.as_secs_f64() / 3.0, tr.as_secs_f64() / 3.0);
        out.push(figure("ARM client GETs per second, client buckets off (16 concurrent)", N as f64 / tc, "req/s"));
        out.push(figure("bare reqwest GETs per second, same requests", N as f64 / tr, "req/s"));
        out.push(figure("ARM client overhead per request (wall, 16 concurrent)", (tc - tr) / N as f64 * 1e6, "us"));

        // Calls for one VNet with two subnets: create, read, delete.
        let sim = Sim::start(&[]);
        let client = ArmClient::connect(config(&sim)).unwrap();
        let rg = ResourceId::resource_group(&sim.subscription(), "rg-calls");
        client.put(&op(), &rg, &json!({"location": "westeurope"})).await.unwrap();
        let before = sim.stats().await["total"].as_u64().unwrap_or(0);
        let vnet = ResourceId::resource(&sim.subscription(), "rg-calls", "Microsoft.Network", "virtualNetworks", "vnet-calls");
        let body = json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [{"name": "a", "properties": {"addressPrefix": "10.1.0.0/24"}}, {"name": "b", "properties": {"addressPrefix": "10.1.1.0/24"}}]}});
        client.put(&op(), &vnet, &body).await.unwrap();
        client.get(&op(), &vnet).await.unwrap();
        client.delete(&op(), &vnet).await.unwrap();
        let after = sim.stats().await["total"].as_u64().unwrap_or(0);
        // PUT + one status poll + final GET; one GET; DELETE + one Location poll.
        let minimum = 6.0;
        out.push(Figure {
            name: "ARM calls: create/read/delete one VNet with 2 subnets".into(),
            value: (after - before) as f64,
            unit: "calls".into(),
            target: format!("<= {minimum} (contract minimum)"),
            anchor: "PUT+poll+GET, GET, DELETE+poll".into(),
            pass: Some((after - before) as f64 <= minimum),
        });
        // Against real throttling: 400 GETs take 250 at once, then 25/s, and no 429.
        let paced = Arc::new(client);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..400 {
            let (c, rg) = (paced.clone(), rg.clone());
            tasks.push(tokio::spawn(async move { c.get(&op(), &rg).await.unwrap() }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let paced_s = start.elapsed().as_secs_f64();
        let bound = (400.0 - 250.0) / 25.0;
        out.push(Figure {
            name: "400 GETs with ARM-shaped client buckets (bound (400-250)/25 s)".into(),
            value: (paced_s * 100.0).round() / 100.0,
            unit: "s".into(),
            target: format!("<= {:.1} (1.2x bound)", bound * 1.2),
            anchor: "ARM 2024 token bucket".into(),
            pass: Some(paced_s <= bound * 1.2),
        });

        out.push(at_most("429s returned by armsim (throttling real) during the 400 GETs", sim.stats().await["throttled"].as_f64().unwrap_or(-1.0), "count", 0.0, "ARM's 2024 limits"));
        out
    })
}

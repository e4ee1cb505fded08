//! `trench-armsim bench`: starts `trench-armsim serve` as a child process, fills it with resources
//! over HTTPS, then measures sustained GET throughput, p99 latency and the server's RSS.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// Options for [`run`].
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Resources to create before measuring.
    pub resources: usize,
    /// Seconds of GET load.
    pub seconds: u64,
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Seconds of warm-up before measuring.
    pub warmup: u64,
    /// Extra `serve` arguments (for experiments, e.g. `--journal-capacity`).
    pub serve_args: Vec<String>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions { resources: 10_000, seconds: 10, connections: 8, warmup: 2, serve_args: Vec::new() }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Body>;

struct Client {
    addr: String,
    host: String,
    tls: tokio_rustls::TlsConnector,
}

impl Client {
    async fn connect(&self) -> Result<Sender, String> {
        let tcp = tokio::net::TcpStream::connect(&self.addr).await.map_err(|e| format!("connect {}: {e}", self.addr))?;
        tcp.set_nodelay(true).ok();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1".to_string()).map_err(|e| e.to_string())?;
        let tls = self.tls.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

async fn send(
    s: &mut Sender,
    host: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Result<(u16, Bytes), String> {
    let what = format!("{method} {path}");
    s.ready().await.map_err(|e| format!("{what}: connection not ready: {e:?}"))?;
    let mut b = Request::builder().method(method).uri(path).header("host", host);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(json) => b.header("content-type", "application/json").body(Body::from(json)),
        None => b.body(Body::empty()),
    }
    .map_err(|e| e.to_string())?;
    let resp = s.send_request(req).await.map_err(|e| format!("{what}: {e:?}"))?;
    let status = resp.status().as_u16();
    let bytes =
        axum::body::to_bytes(Body::new(resp.into_body()), 16 << 20).await.map_err(|e| format!("{what}: reading the body: {e:?}"))?;
    Ok((status, bytes))
}

fn tls_connector(ca_pem: &str) -> Result<tokio_rustls::TlsConnector, String> {
    use base64::Engine;
    let mut roots = rustls::RootCertStore::empty();
    let b64: String = ca_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| format!("ca.pem: {e}"))?;
    roots.add(rustls::pki_types::CertificateDer::from(der)).map_err(|e| format!("ca.pem: {e}"))?;
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(cfg)))
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// The bench estate: (path, body) PUTs that leave exactly `n` resources stored (a VNet's two
/// subnets count, as they are resources of their own). A mix of identities, NSGs, route tables
/// and VNets, 100 per resource group.
fn estate(n: usize, sub: &str) -> Vec<(String, Value)> {
    let mut out = Vec::with_capacity(n);
    let mut stored = 0;
    let mut i = 0;
    let mut rg_n = 0;
    while stored < n {
        let rg = format!("/subscriptions/{sub}/resourceGroups/rg-bench-{rg_n:04}");
        out.push((format!("{rg}?api-version=2025-04-01"), json!({"location": "westeurope", "tags": {"owner": "bench"}})));
        stored += 1;
        let mut in_rg = 1;
        while in_rg < 100 && stored < n {
            let tags = json!({"owner": "bench", "environment": "dev", "cost-center": "42", "purpose": "bench"});
            let vnet_fits = n - stored >= 3;
            let (item, weight) = match i % 4 {
                0 => (
                    (
                        format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-{i}?api-version=2024-11-30"),
                        json!({"location": "westeurope", "tags": tags}),
                    ),
                    1,
                ),
                1 => (
                    (
                        format!("{rg}/providers/Microsoft.Network/networkSecurityGroups/nsg-{i}?api-version=2025-09-01"),
                        json!({"location": "westeurope", "tags": tags, "properties": {"securityRules": [
                            {"name": "ssh", "properties": {"priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                             "sourceAddressPrefix": "10.0.0.0/8", "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "22"}}]}}),
                    ),
                    1,
                ),
                3 if vnet_fits => (
                    (
                        format!("{rg}/providers/Microsoft.Network/virtualNetworks/vnet-{i}?api-version=2025-09-01"),
                        json!({"location": "westeurope", "tags": tags, "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                            "subnets": [{"name": "a", "properties": {"addressPrefix": "10.1.1.0/24"}}, {"name": "b", "properties": {"addressPrefix": "10.1.2.0/24"}}]}}),
                    ),
                    3,
                ),
                _ => (
                    (
                        format!("{rg}/providers/Microsoft.Network/routeTables/rt-{i}?api-version=2025-09-01"),
                        json!({"location": "westeurope", "tags": tags, "properties": {"routes": [
                            {"name": "default", "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.1.4"}}]}}),
                    ),
                    1,
                ),
            };
            out.push(item);
            stored += weight;
            in_rg += weight;
            i += 1;
        }
        rg_n += 1;
    }
    out
}

/// Runs the benchmark against a fresh `trench-armsim serve` child and returns the result object.
pub async fn run(opts: BenchOptions) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("trench-armsim-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(exe)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--throttle",
            "off",
            "--time-scale",
            "0",
            "--registered-namespaces",
            "all",
            "--state-dir",
        ])
        .arg(&dir)
        .args(&opts.serve_args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting the server: {e}"))?;
    let pid = child.id();
    let result = measure(&mut child, &dir, &opts).await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|mut v| {
        v["server_pid"] = json!(pid);
        v
    })
}

async fn measure(child: &mut std::process::Child, dir: &std::path::Path, opts: &BenchOptions) -> Result<Value, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Read the first line, then keep draining so the server never writes into a closed pipe.
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = tx.send(reader.read_line(&mut line).map(|_| line));
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let first = rx.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    let endpoint =
        first.trim().strip_prefix("trench-armsim listening on ").ok_or_else(|| format!("unexpected first line {first:?}"))?.to_string();
    let addr = endpoint.trim_start_matches("https://").to_string();
    let info: Value =
        serde_json::from_slice(&std::fs::read(dir.join("armsim.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let ca = std::fs::read_to_string(dir.join("ca.pem")).map_err(|e| e.to_string())?;
    let client = Arc::new(Client { host: addr.clone(), addr, tls: tls_connector(&ca)? });
    let tenant = info["tenant_id"].as_str().unwrap_or_default().to_string();
    let sub = info["subscription_ids"][0].as_str().unwrap_or_default().to_string();
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
        info["client_id"].as_str().unwrap_or_default(),
        info["client_secret"].as_str().unwrap_or_default()
    );
    let mut s = client.connect().await?;
    s.ready().await.map_err(|e| e.to_string())?;
    let req = Request::post(format!("/{tenant}/oauth2/v2.0/token"))
        .header("host", &client.host)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .map_err(|e| e.to_string())?;
    let resp = s.send_request(req).await.map_err(|e| e.to_string())?;
    let body = axum::body::to_bytes(Body::new(resp.into_body()), 1 << 20).await.map_err(|e| e.to_string())?;
    let tok: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let token: Arc<str> = tok["access_token"].as_str().ok_or("no access token")?.into();

    // Fill: resource groups first, then their contents, over a few connections.
    let items = estate(opts.resources, &sub);
    let fill_start = Instant::now();
    let (rgs, rest): (Vec<_>, Vec<_>) = items.into_iter().partition(|(p, _)| !p.contains("/providers/"));
    let mut paths: Vec<String> = Vec::new();
    for batch in [rgs, rest] {
        let chunks: Vec<Vec<(String, Value)>> = batch.chunks(batch.len().div_ceil(4).max(1)).map(|c| c.to_vec()).collect();
        let mut tasks = Vec::new();
        for chunk in chunks {
            let client = client.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let mut s = client.connect().await?;
                let mut done = Vec::new();
                for (path, body) in chunk {
                    let (status, b) = send(&mut s, &client.host, Method::PUT, &path, Some(&token), Some(body.to_string())).await?;
                    if status >= 300 {
                        return Err(format!("PUT {path}: {status} {}", String::from_utf8_lossy(&b)));
                    }
                    done.push(path);
                }
                Ok::<_, String>(done)
            }));
        }
        for t in tasks {
            paths.extend(t.await.map_err(|e| e.to_string())??);
        }
    }
    let fill_s = fill_start.elapsed().as_secs_f64();
    // Let the debounced state writer run once, then record memory before the read load.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after_fill = rss_mb(child.id());
    let paths: Arc<Vec<String>> = Arc::new(paths);

    // Load: each connection GETs pseudo-random resources as fast as it can.
    let stop_at = Instant::now() + Duration::from_secs(opts.warmup + opts.seconds);
    let measure_from = Instant::now() + Duration::from_secs(opts.warmup);
    let mut tasks = Vec::new();
    for c in 0..opts.connections {
        let client = client.clone();
        let token = token.clone();
        let paths = paths.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = client.connect().await?;
            let mut lat: Vec<u32> = Vec::with_capacity(200_000);
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ c as u64;
            loop {
                let now = Instant::now();
                if now >= stop_at {
                    break;
                }
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let path = &paths[(x % paths.len() as u64) as usize];
                let t0 = Instant::now();
                let (status, _) = send(&mut s, &client.host, Method::GET, path, Some(&token), None).await?;
                if status != 200 {
                    return Err(format!("GET {path}: {status}"));
                }
                if t0 >= measure_from {
                    lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
            }
            Ok::<_, String>(lat)
        }));
    }
    let mut all: Vec<u32> = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    all.sort_unstable();
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0) as f64 / 1000.0;
    let pid = child.id();
    Ok(json!({
        "get_per_s": (all.len() as f64 / opts.seconds as f64).round(),
        "p99_ms": (pct(0.99) * 1000.0).round() / 1000.0,
        "rss_mb": (rss_mb(pid) * 10.0).round() / 10.0,
        "p50_ms": (pct(0.50) * 1000.0).round() / 1000.0,
        "resources": opts.resources,
        "puts": paths.len(),
        "connections": opts.connections,
        "seconds": opts.seconds,
        "fill_s": (fill_s * 100.0).round() / 100.0,
        "rss_after_fill_mb": (rss_after_fill * 10.0).round() / 10.0,
    }))
}

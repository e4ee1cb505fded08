//! The suites. Each trial runs the real terraform against its own armsim
//! and says, on failure, what went wrong and with which seed.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value as Json, json};
use trench_e2e::corpus;
use trench_e2e::sim::Sim;
use trench_e2e::terraform::Workspace;

use crate::Outcome;
use crate::estate::{NETWORK, full, workspace};

/// A small deterministic generator (splitmix64): every trial is replayable from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

const LRO_TYPES: &[&str] = &[
    "Microsoft.Network/azureFirewalls",
    "Microsoft.Network/virtualNetworks",
    "Microsoft.DBforPostgreSQL/flexibleServers",
    "Microsoft.Network/privateEndpoints",
    "Microsoft.ContainerService/managedClusters",
    "Microsoft.ServiceBus/namespaces",
];

/// A fault mix at 10-20 %: throttling, server errors, resets, slow answers
/// and one long-running operation that ends Failed.
fn fault_mix(rng: &mut Rng) -> Json {
    json!([
        {"method": "PUT", "kind": "throttle429", "probability": rng.range(0.1, 0.2)},
        {"method": "GET", "kind": "throttle429", "probability": rng.range(0.02, 0.08)},
        {"method": *rng.pick(&["PUT", "GET", "DELETE"]), "kind": *rng.pick(&["error500", "error503"]), "probability": rng.range(0.05, 0.15)},
        {"method": "*", "kind": "reset", "probability": rng.range(0.02, 0.06)},
        {"method": "*", "kind": "slow", "probability": rng.range(0.05, 0.1), "delay_ms": 150},
        {"method": "PUT", "resource_type": *rng.pick(LRO_TYPES), "kind": "fail_operation", "count": 1},
    ])
}

/// What a failed run said: its first error diagnostic (summary and detail), else its last lines.
fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = lines.iter().position(|l| l.contains("Error:")).unwrap_or(lines.len().saturating_sub(6));
    lines[from..].iter().take(24).copied().collect::<Vec<_>>().join(" | ")
}

/// terraform's state as JSON: every trench resource's id.
fn state_ids(ws: &Workspace) -> Vec<String> {
    let r = ws.tf(&["show", "-json"]);
    let v: Json = serde_json::from_str(&r.stdout).unwrap_or(Json::Null);
    let mut ids = Vec::new();
    let mut stack = vec![v["values"]["root_module"].clone()];
    while let Some(m) = stack.pop() {
        for r in m["resources"].as_array().into_iter().flatten() {
            if let Some(id) = r["values"]["id"].as_str() {
                ids.push(id.to_owned());
            }
        }
        stack.extend(m["child_modules"].as_array().cloned().unwrap_or_default());
    }
    ids
}

/// Untaints whatever Terraform tainted after a failed create: the
/// runbook's way to resume in place rather than replace.
fn untaint_all(ws: &Workspace) {
    let list = ws.tf(&["state", "list"]);
    for addr in list.stdout.lines().filter(|l| !l.trim().is_empty()) {
        let _ = ws.tf(&["untaint", addr.trim()]);
    }
}

/// After a trial: no state entry points at a missing object, the plan is
/// empty, and a destroy leaves armsim with nothing (no orphan).
async fn converged(sim: &Sim, ws: &Workspace) -> Result<(), String> {
    let present: Vec<String> = sim.resources().await.iter().filter_map(|r| r["id"].as_str().map(str::to_ascii_lowercase)).collect();
    for id in state_ids(ws) {
        if !present.contains(&id.to_ascii_lowercase()) {
            return Err(format!("state points at a missing object: {id}"));
        }
    }
    let plan = ws.tf(&["plan", "-input=false", "-detailed-exitcode"]);
    if plan.code != 0 {
        return Err(format!("the next plan is not empty (exit {}): {}", plan.code, tail(&plan.all())));
    }
    let d = ws.tf(&["destroy", "-auto-approve", "-input=false"]);
    if d.code != 0 {
        return Err(format!("destroy failed: {}", tail(&d.all())));
    }
    let left = sim.resources().await;
    if !left.is_empty() {
        return Err(format!("orphans after destroy: {:?}", left.iter().filter_map(|r| r["id"].as_str()).collect::<Vec<_>>()));
    }
    Ok(())
}

pub async fn fault_soak(seed: u64, trials: u64) -> Outcome {
    let mut failures = Vec::new();
    for i in 0..trials {
        let s = seed + i;
        let mut rng = Rng(s);
        let rules = fault_mix(&mut rng);
        let sim = Sim::start(&["--seed", &s.to_string()]);
        sim.faults(rules.clone()).await;
        let ws = workspace(&sim, &full());
        let first = ws.tf(&["apply", "-auto-approve", "-input=false"]);
        let mut resumed = false;
        let outcome = if first.code == 0 {
            Ok(())
        } else {
            // One resume, faults still on, as after a bad day in Azure.
            resumed = true;
            untaint_all(&ws);
            let second = ws.tf(&["apply", "-auto-approve", "-input=false"]);
            if second.code == 0 { Ok(()) } else { Err(format!("did not converge after one resume: {}", tail(&second.all()))) }
        };
        sim.admin(reqwest::Method::DELETE, "faults", None).await;
        let outcome = match outcome {
            Ok(()) => converged(&sim, &ws).await,
            e => e,
        };
        let stats = sim.stats().await;
        let faults = stats["faults_injected"].as_u64().unwrap_or(0);
        println!(
            "fault-soak seed {s}: {} ({faults} faults injected{})",
            if outcome.is_ok() { "ok" } else { "FAILED" },
            if resumed { ", one resume" } else { "" }
        );
        if let Err(e) = outcome {
            let kept = keep_evidence(&sim, &format!("fault-soak-{s}")).await;
            failures.push(format!("seed {s}: {e}{kept}"));
        }
    }
    Outcome { trials, failures }
}

/// Keeps a failed trial's armsim journal and log under `target/reliability/`
/// so the failure can be read after the simulator is gone.
async fn keep_evidence(sim: &Sim, label: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/reliability");
    let _ = std::fs::create_dir_all(&dir);
    let journal = sim.try_admin(reqwest::Method::GET, "journal", None).await.unwrap_or(Json::Null);
    let _ = std::fs::write(dir.join(format!("{label}.journal.json")), serde_json::to_vec_pretty(&journal).unwrap_or_default());
    let _ = std::fs::copy(sim.dir.path().join("armsim.log"), dir.join(format!("{label}.armsim.log")));
    format!(" (journal: target/reliability/{label}.journal.json)")
}

/// The provider processes terraform started.
fn provider_pids(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().filter_map(Result::ok) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let ppid = stat.rsplit(')').next().and_then(|r| r.split_whitespace().nth(1)).and_then(|p| p.parse::<u32>().ok());
        let cmd = std::fs::read_to_string(e.path().join("cmdline")).unwrap_or_default();
        if ppid == Some(parent) && cmd.contains("terraform-provider-trench") {
            out.push(pid);
        }
    }
    out
}

fn signal(sig: &str, pid: u32) {
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
}

pub async fn crash(seed: u64, trials: u64) -> Outcome {
    let modes = ["SIGINT terraform", "SIGKILL terraform", "SIGKILL provider"];
    let mut failures = Vec::new();
    for i in 0..trials {
        let s = seed + i;
        let mut rng = Rng(s ^ 0xC0FFEE);
        let mode = modes[(i % 3) as usize];
        // At time-scale 0.01 a full apply takes about 15 s: stop it somewhere inside.
        let after = rng.range(1.0, 12.0);
        let sim = Sim::start(&["--time-scale", "0.01", "--seed", &s.to_string()]);
        let ws = workspace(&sim, &full());
        let mut child = ws
            .command(&["apply", "-auto-approve", "-input=false", "-no-color"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_secs_f64(after)).await;
        match mode {
            "SIGINT terraform" => signal("INT", child.id()),
            "SIGKILL terraform" => signal("KILL", child.id()),
            _ => {
                for p in provider_pids(child.id()) {
                    signal("KILL", p);
                }
            }
        }
        let _ = child.wait();
        // The runbook: a killed run may leave the lock; tainted resources are untainted to resume in place.
        if ws.path(".terraform.tfstate.lock.info").exists() {
            let _ = std::fs::remove_file(ws.path(".terraform.tfstate.lock.info"));
        }
        untaint_all(&ws);
        let again = ws.tf(&["apply", "-auto-approve", "-input=false"]);
        let outcome =
            if again.code == 0 { converged(&sim, &ws).await } else { Err(format!("the next apply failed: {}", tail(&again.all()))) };
        println!("crash trial {i} (seed {s}, {mode} after {after:.1} s): {}", if outcome.is_ok() { "ok" } else { "FAILED" });
        if let Err(e) = outcome {
            let kept = keep_evidence(&sim, &format!("crash-{s}")).await;
            failures.push(format!("trial {i} (seed {s}, {mode} after {after:.1} s): {e}{kept}"));
        }
    }
    Outcome { trials, failures }
}

const SUB: &str = "/subscriptions/00000000-0000-4000-8000-000000000002";

/// One out-of-band change: where, how, and what the plan must mention.
struct Drift {
    what: &'static str,
    method: &'static str,
    id: String,
    body: Option<Json>,
    plan_says: &'static str,
}

fn drifts() -> Vec<Drift> {
    let core = format!("{SUB}/resourceGroups/rg-trench-core-dev/providers");
    let aks = format!("{SUB}/resourceGroups/rg-trench-aks-dev/providers");
    let data = format!("{SUB}/resourceGroups/rg-trench-data-dev/providers");
    let d = |what, method, id: String, body: Option<Json>, plan_says| Drift { what, method, id, body, plan_says };
    vec![
        d(
            "route table association removed from aks-nodes",
            "PATCH",
            format!("{aks}/Microsoft.Network/virtualNetworks/trench-aks-vnet-dev/subnets/aks-nodes"),
            Some(json!({"properties": {"routeTable": null}})),
            "route_table_subnets",
        ),
        d(
            "firewall rule collection edited",
            "PATCH",
            format!("{core}/Microsoft.Network/firewallPolicies/trench-core-fwpolicy-dev/ruleCollectionGroups/trench-egress"),
            Some(json!({"properties": {"priority": 999}})),
            "rule collections differ",
        ),
        d(
            "Key Vault public access enabled",
            "PATCH",
            format!("{core}/Microsoft.KeyVault/vaults/trench-core-kv-dev"),
            Some(json!({"properties": {"publicNetworkAccess": "Enabled"}})),
            "key_vault_public_network_access",
        ),
        d(
            "hub-to-spoke peering deleted",
            "DELETE",
            format!("{core}/Microsoft.Network/virtualNetworks/trench-core-vnet-dev/virtualNetworkPeerings/trench-hub-to-aks-dev"),
            None,
            "trench_spoke.aks",
        ),
        d(
            "system pool scaled by hand",
            "PATCH",
            format!("{aks}/Microsoft.ContainerService/managedClusters/trench-aks-cluster-dev/agentPools/system"),
            Some(json!({"properties": {"count": 5}})),
            "node_count",
        ),
        d(
            "queue deleted",
            "DELETE",
            format!("{core}/Microsoft.ServiceBus/namespaces/trench-core-sb-dev/queues/orders"),
            None,
            "service_bus_queues",
        ),
        d(
            "tag changed on the hub VNet",
            "PATCH",
            format!("{core}/Microsoft.Network/virtualNetworks/trench-core-vnet-dev"),
            Some(json!({"tags": {"owner": "someone"}})),
            "tags differ",
        ),
        d(
            "Key Vault DNS record removed",
            "DELETE",
            format!("{core}/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net/A/trench-core-kv-dev"),
            None,
            "is missing",
        ),
        d(
            "database dropped",
            "DELETE",
            format!("{data}/Microsoft.DBforPostgreSQL/flexibleServers/trench-data-pg-dev/databases/orders"),
            None,
            "postgresql_databases",
        ),
        d(
            "registry admin user enabled",
            "PATCH",
            format!("{core}/Microsoft.ContainerRegistry/registries/trenchacrcoredev"),
            Some(json!({"properties": {"adminUserEnabled": true}})),
            "acr_admin_enabled",
        ),
        d(
            "Service Bus opened to everyone",
            "PATCH",
            format!("{core}/Microsoft.ServiceBus/namespaces/trench-core-sb-dev/networkRuleSets/default"),
            Some(json!({"properties": {"defaultAction": "Allow"}})),
            "service_bus_default_action",
        ),
        d(
            "federated credential deleted",
            "DELETE",
            format!(
                "{core}/Microsoft.ManagedIdentity/userAssignedIdentities/trench-catalog-api-id-dev/federatedIdentityCredentials/catalog-api"
            ),
            None,
            "service_accounts",
        ),
        d(
            "state storage shared keys turned on",
            "PATCH",
            format!("{core}/Microsoft.Storage/storageAccounts/trenchtfstatecoredev"),
            Some(json!({"properties": {"allowSharedKeyAccess": true}})),
            "settings differ",
        ),
        d(
            "diagnostic setting deleted",
            "DELETE",
            format!(
                "{aks}/Microsoft.ContainerService/managedClusters/trench-aks-cluster-dev/providers/Microsoft.Insights/diagnosticSettings/trench-control-plane"
            ),
            None,
            "trench_private_aks.main",
        ),
    ]
}

pub async fn drift() -> Outcome {
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, &full());
    let mut failures = Vec::new();
    let all = drifts();
    if let Err(e) = ws.tf(&["apply", "-auto-approve", "-input=false"]).code.eq(&0).then_some(()).ok_or("the estate did not apply") {
        return Outcome { trials: all.len() as u64, failures: vec![e.to_owned()] };
    }
    for d in &all {
        let method = reqwest::Method::from_bytes(d.method.as_bytes()).unwrap();
        let injected = sim.try_admin(method, &format!("resources{}", d.id), d.body.clone()).await;
        let result = match injected {
            Err(e) => Err(format!("could not inject: {e}")),
            Ok(_) => {
                let plan = ws.tf(&["plan", "-input=false", "-detailed-exitcode"]);
                let out = corpus::squash(&plan.all());
                if plan.code != 2 {
                    Err(format!("plan did not see it (exit {}): {}", plan.code, tail(&plan.all())))
                } else if !out.contains(d.plan_says) {
                    Err(format!("the plan does not say {:?}: {}", d.plan_says, tail(&plan.stdout)))
                } else {
                    let a = ws.tf(&["apply", "-auto-approve", "-input=false"]);
                    if a.code != 0 {
                        Err(format!("apply did not repair it: {}", tail(&a.all())))
                    } else if !ws.plan_is_empty() {
                        Err("the plan after the repair is not empty".to_owned())
                    } else {
                        Ok(())
                    }
                }
            }
        };
        println!("drift {}: {}", d.what, if result.is_ok() { "detected and repaired" } else { "FAILED" });
        if let Err(e) = result {
            failures.push(format!("{}: {e}", d.what));
        }
    }
    ws.tf(&["destroy", "-auto-approve", "-input=false"]);
    Outcome { trials: all.len() as u64, failures }
}

fn writes(journal: &[Json]) -> Vec<String> {
    journal
        .iter()
        .filter(|e| e["method"] != "GET" && !e["path"].as_str().unwrap_or("").contains("/oauth2/"))
        .map(|e| format!("{} {}", e["method"], e["path"]))
        .collect()
}

/// Every case of the bad-input corpus and of the bad estate.toml corpus.
pub async fn bad_input() -> Outcome {
    let corpus = corpus::load();
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, NETWORK);
    let mut failures = Vec::new();
    let mut trials = 0;
    for case in &corpus.case {
        trials += 1;
        sim.admin(reqwest::Method::DELETE, "journal", None).await;
        let r = corpus::check(&ws, &corpus, case);
        let w = writes(&sim.journal().await);
        match (r, w.is_empty()) {
            (Ok(()), true) => {}
            (Ok(()), false) => failures.push(format!("{}: refused, but after ARM writes {w:?}", case.name)),
            (Err(e), _) => failures.push(e),
        }
    }
    // estate.toml: hclgen refuses each, naming the key.
    #[derive(serde::Deserialize)]
    struct Estates {
        case: Vec<Estate>,
    }
    #[derive(serde::Deserialize)]
    struct Estate {
        name: String,
        key: String,
        estate: String,
    }
    let text = std::fs::read_to_string(trench_e2e::repo_root().join("tests/corpus/bad-estates.toml")).unwrap();
    let estates: Estates = toml::from_str(&text).unwrap();
    for e in estates.case {
        trials += 1;
        let root = tempfile::tempdir().unwrap();
        let repo = trench_e2e::repo_root();
        for m in ["estate", "spoke"] {
            let dst = root.path().join("modules").join(m);
            std::fs::create_dir_all(&dst).unwrap();
            for f in std::fs::read_dir(repo.join("modules").join(m)).unwrap().filter_map(Result::ok).filter(|f| f.path().is_file()) {
                std::fs::copy(f.path(), dst.join(f.file_name())).unwrap();
            }
        }
        std::fs::create_dir_all(root.path().join("env/dev")).unwrap();
        std::fs::write(root.path().join("env/dev/estate.toml"), &e.estate).unwrap();
        let out =
            Command::new(trench_e2e::bin("trench-hclgen")).arg("--root").arg(root.path()).args(["check", "--env", "dev"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !err.contains("env/dev/estate.toml") || !err.contains(&e.key) {
            failures.push(format!("estate {}: expected a refusal naming {:?}, got: {}", e.name, e.key, err.trim()));
        }
    }
    Outcome { trials, failures }
}

/// The cargo-fuzz targets under fuzz/, each for a bounded time (stable
/// rustc with RUSTC_BOOTSTRAP for libFuzzer's instrumentation flags).
pub fn fuzz(seconds: u64) -> Outcome {
    let root = trench_e2e::repo_root();
    let targets: Vec<String> = std::fs::read_dir(root.join("fuzz/fuzz_targets"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let mut failures = Vec::new();
    if targets.is_empty() {
        failures.push("no fuzz targets under fuzz/fuzz_targets".to_owned());
    }
    for t in &targets {
        let status = Command::new("cargo")
            .args(["fuzz", "run", "--sanitizer", "none", t, "--", &format!("-max_total_time={seconds}")])
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match status {
            Ok(o) if o.status.success() => println!("fuzz {t}: {seconds} s, no crash"),
            Ok(o) => {
                println!("fuzz {t}: FAILED");
                failures.push(format!("{t}: {}", tail(&String::from_utf8_lossy(&o.stderr))));
            }
            Err(e) => failures.push(format!("{t}: cargo fuzz: {e} (make reliability installs it into .trench/tools)")),
        }
    }
    Outcome { trials: targets.len().max(1) as u64, failures }
}

pub async fn security() -> Outcome {
    let mut failures = Vec::new();
    let mut trials = 0;
    // 1. A gRPC client without Terraform's certificate gets no session.
    trials += 1;
    {
        use trench_e2e::plugin::{ClientAuth, ClientIdentity, PluginProcess, connect};
        let id = ClientIdentity::generate();
        let other = ClientIdentity::generate();
        let p = PluginProcess::spawn(&trench_e2e::bin("terraform-provider-trench"), &id.cert_pem).unwrap();
        let refused = match connect(&p, ClientAuth::Cert(&other)).await {
            Err(_) => true,
            Ok(mut c) => c.call("/tfplugin6.Provider/GetProviderSchema", &[]).await.is_err(),
        };
        if !refused {
            failures.push("a client with another certificate got a session".into());
        }
    }
    // 2. Plain HTTP to a remote ARM endpoint is refused.
    trials += 1;
    {
        let mut ws = Workspace::new(&format!("{}data \"trench_hub\" \"x\" {{ environment = \"dev\" }}\n", crate::estate::HEADER));
        ws.env.push(("TRENCH_ARM_ENDPOINT".into(), "http://arm.example.com/".into()));
        ws.env.push(("ARM_SUBSCRIPTION_ID".into(), "00000000-0000-4000-8000-000000000002".into()));
        ws.env.push(("TF_VAR_pg_password".into(), crate::estate::PASSWORD.into()));
        ws.tf(&["init", "-input=false"]);
        let r = ws.tf(&["plan", "-input=false"]);
        if r.code == 0 || !r.all().contains("only HTTPS is allowed except to loopback") {
            failures.push(format!("plain HTTP was not refused: {}", tail(&r.all())));
        }
    }
    // 3 and 4. A full apply at TF_LOG=trace: no secret in the log; no write-only value in state.
    trials += 2;
    {
        let sim = Sim::start(&[]);
        let mut ws = workspace(&sim, &full());
        let log = ws.path("trace.log");
        ws.env.push(("TF_LOG".into(), "trace".into()));
        ws.env.push(("TF_LOG_PATH".into(), log.display().to_string()));
        let r = ws.tf(&["apply", "-auto-approve", "-input=false"]);
        if r.code != 0 {
            failures.push(format!("the traced apply failed: {}", tail(&r.all())));
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let secret = sim.field("client_secret");
        let password = crate::estate::PASSWORD;
        for (what, needle) in [
            ("the client secret", secret.as_str()),
            ("the PostgreSQL password", password),
            ("a bearer token", "Bearer ey"),
            ("a JWT", "eyJhbGciOi"),
        ] {
            if !needle.is_empty() && text.contains(needle) {
                failures.push(format!("{what} is in the TF_LOG=trace log"));
            }
        }
        if text.len() < 10_000 {
            failures.push(format!("the trace log is suspiciously short ({} bytes)", text.len()));
        }
        let state = std::fs::read_to_string(ws.path("terraform.tfstate")).unwrap_or_default();
        if state.contains(password) || state.is_empty() {
            failures.push("the state holds the write-only password (or is missing)".into());
        }
        ws.env.retain(|(k, _)| k != "TF_LOG" && k != "TF_LOG_PATH");
        ws.tf(&["destroy", "-auto-approve", "-input=false"]);
    }
    Outcome { trials, failures }
}

//! `make demo`: env/dev applied with the real terraform against a local
//! armsim, with no Azure subscription. The simulator's state, terraform's
//! state and data directory live in `.trench/demo/` (git-ignored), so a
//! second run converges with no changes and `--destroy` tears it down.
//! env/dev itself stays pointed at Azure: the simulator is chosen by
//! environment variables and the state path by `-backend-config`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::Value as Json;

struct Sim {
    child: Child,
    endpoint: String,
    info: Json,
    http: reqwest::blocking::Client,
}

impl Sim {
    fn start(bin: &Path, dir: &Path) -> Result<Sim, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("armsim.log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(bin.join("trench-armsim"))
            .args(["serve", "--listen", "127.0.0.1:0", "--time-scale", "0.01", "--state-dir"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting trench-armsim (run make build first?): {e}"))?;
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        out.read_line(&mut line).map_err(|e| e.to_string())?;
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let endpoint = line
            .trim()
            .strip_prefix("trench-armsim listening on ")
            .ok_or_else(|| format!("trench-armsim said {line:?}; see {}", dir.join("armsim.log").display()))?
            .to_owned();
        let info: Json =
            serde_json::from_slice(&std::fs::read(dir.join("armsim.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        let ca = std::fs::read(dir.join("ca.pem")).map_err(|e| e.to_string())?;
        let cert = reqwest::Certificate::from_pem(&ca).map_err(|e| e.to_string())?;
        let http = reqwest::blocking::Client::builder().tls_certs_merge([cert]).build().map_err(|e| e.to_string())?;
        Ok(Sim { child, endpoint, info, http })
    }

    fn field(&self, k: &str) -> String {
        self.info[k].as_str().unwrap_or_default().to_owned()
    }

    fn admin(&self, path: &str) -> Result<Json, String> {
        self.http
            .get(format!("{}/_sim/{path}", self.endpoint))
            .send()
            .and_then(|r| r.json())
            .map_err(|e| format!("armsim /_sim/{path}: {e}"))
    }

    /// A check of the modelled data plane (`/_sim/check/<what>?…`).
    fn check(&self, what: &str, query: &[(&str, &str)]) -> Result<Json, String> {
        self.http
            .get(format!("{}/_sim/check/{what}", self.endpoint))
            .query(query)
            .send()
            .and_then(|r| r.json())
            .map_err(|e| format!("armsim check {what}: {e}"))
    }

    /// Stops it gracefully (it writes state.json on SIGTERM).
    fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn terraform(root: &Path, env: &[(String, String)], args: &[&str]) -> Result<std::process::Output, String> {
    let mut c = Command::new("terraform");
    // A CLI config that names a missing file only makes terraform warn on every command.
    if std::env::var_os("TF_CLI_CONFIG_FILE").is_some_and(|f| !Path::new(&f).exists()) {
        c.env_remove("TF_CLI_CONFIG_FILE");
    }
    c.arg(format!("-chdir={}", root.join("env/dev").display()))
        .args(args)
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running terraform: {e}"))
}

fn ok(out: std::process::Output, what: &str) -> Result<String, String> {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() { Ok(text) } else { Err(format!("terraform {what} failed:\n{text}")) }
}

/// A strong password kept in `.trench/demo/` (the simulator stores only its hash).
fn password(dir: &Path) -> Result<String, String> {
    let p = dir.join("pg-password");
    if let Ok(s) = std::fs::read_to_string(&p) {
        return Ok(s.trim().to_owned());
    }
    let pw = format!("Demo-{}", uuid::Uuid::new_v4());
    std::fs::write(&p, &pw).map_err(|e| e.to_string())?;
    Ok(pw)
}

fn count(v: &Json) -> u64 {
    v["value"].as_array().map(|a| a.len() as u64).unwrap_or(0)
}

fn writes(stats: &Json) -> u64 {
    ["PUT", "PATCH", "POST", "DELETE"].iter().filter_map(|m| stats["by_method"][m].as_u64()).sum()
}

pub fn run(root: &Path, destroy: bool, expect_unchanged: bool) -> Result<(), String> {
    let root = std::fs::canonicalize(root).map_err(|e| e.to_string())?;
    let dir = root.join(".trench/demo");
    let bin: PathBuf = root.join("target/release");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let hclgen = |args: &[&str]| -> Result<(), String> {
        let st = Command::new(bin.join("trench-hclgen")).arg("--root").arg(&root).args(args).status().map_err(|e| e.to_string())?;
        if st.success() { Ok(()) } else { Err(format!("trench-hclgen {} failed", args.join(" "))) }
    };
    if !destroy {
        println!("==> regenerating env/dev from estate.toml");
        hclgen(&["generate", "--env", "dev"])?;
        hclgen(&["check", "--env", "dev"])?;
    }
    println!("==> starting the simulator (state in .trench/demo/sim)");
    let sim = Sim::start(&bin, &dir.join("sim"))?;
    let result = (|| {
        let env: Vec<(String, String)> = [
            ("ARM_SUBSCRIPTION_ID", sim.info["subscription_ids"][0].as_str().unwrap_or_default().to_owned()),
            ("ARM_TENANT_ID", sim.field("tenant_id")),
            ("ARM_CLIENT_ID", sim.field("client_id")),
            ("ARM_CLIENT_SECRET", sim.field("client_secret")),
            ("ARM_USE_CLI", "false".to_owned()),
            ("TRENCH_ARM_ENDPOINT", sim.endpoint.clone()),
            ("TRENCH_AUTHORITY_HOST", sim.endpoint.clone()),
            ("TRENCH_CA_CERT_FILE", dir.join("sim/ca.pem").display().to_string()),
            ("TF_DATA_DIR", dir.join("tfdata").display().to_string()),
            ("TF_VAR_postgresql_administrator_password", password(&dir)?),
            ("TF_IN_AUTOMATION", "1".to_owned()),
            ("CHECKPOINT_DISABLE", "1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let state = format!("-backend-config=path={}", dir.join("terraform.tfstate").display());
        println!("==> terraform init (provider from the implied local mirror, state in .trench/demo)");
        ok(terraform(&root, &env, &["init", "-input=false", "-upgrade", "-reconfigure", &state])?, "init")?;
        if destroy {
            let t = Instant::now();
            ok(terraform(&root, &env, &["destroy", "-auto-approve", "-input=false"])?, "destroy")?;
            let left = count(&sim.admin("resources")?);
            println!("==> destroyed in {:.1} s; {left} objects left in the simulator", t.elapsed().as_secs_f64());
            return if left == 0 { Ok(()) } else { Err(format!("{left} objects are left in the simulator")) };
        }
        let before = sim.admin("stats")?;
        println!("==> terraform apply");
        let t = Instant::now();
        let out = ok(terraform(&root, &env, &["apply", "-auto-approve", "-input=false"])?, "apply")?;
        let apply_s = t.elapsed().as_secs_f64();
        let summary = out.lines().find(|l| l.starts_with("Apply complete!")).unwrap_or("").to_owned();
        let after = sim.admin("stats")?;
        println!("==> outputs");
        print!("{}", ok(terraform(&root, &env, &["output"])?, "output")?);
        let outputs: Json =
            serde_json::from_str(&ok(terraform(&root, &env, &["output", "-json"])?, "output -json")?).map_err(|e| e.to_string())?;
        println!("\n==> checkpoints (estate-plan.md, answered by the simulator's data-plane model)");
        let failed = checkpoints(&sim, &outputs)?;
        let t = Instant::now();
        let plan = terraform(&root, &env, &["plan", "-input=false", "-detailed-exitcode"])?;
        let plan_s = t.elapsed().as_secs_f64();
        let objects = count(&sim.admin("resources")?);
        let calls = after["total"].as_u64().unwrap_or(0).saturating_sub(before["total"].as_u64().unwrap_or(0));
        let w = writes(&after).saturating_sub(writes(&before));
        println!("\n==> summary");
        println!("  {summary}");
        println!("  objects in the simulator: {objects}");
        println!("  ARM calls during apply:   {calls} ({w} writes)");
        println!("  apply: {apply_s:.1} s, plan: {plan_s:.1} s");
        if failed > 0 {
            return Err(format!("{failed} checkpoint(s) failed"));
        }
        if expect_unchanged && !summary.contains("0 added, 0 changed, 0 destroyed") {
            return Err(format!("a repeated demo must change nothing, but: {summary}"));
        }
        match plan.status.code() {
            Some(0) => {
                println!("  next plan: no changes");
                Ok(())
            }
            _ => Err(format!("the plan after apply is not empty:\n{}", String::from_utf8_lossy(&plan.stdout))),
        }
    })();
    println!("==> stopping the simulator");
    sim.stop();
    if destroy && result.is_ok() {
        std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
    }
    result
}

/// Prints the operators' main checkpoints as a table; returns how many failed. The full set, each
/// also shown failing when broken, is `tests/tests/checkpoints.rs`.
fn checkpoints(sim: &Sim, out: &Json) -> Result<usize, String> {
    let o = |k: &str| out[k]["value"].as_str().unwrap_or_default().to_owned();
    let host = |u: &str| u.trim_start_matches("https://").split(['/', ':']).next().unwrap_or_default().to_owned();
    let hub = o("hub_id");
    let nodes = out["spoke_subnet_ids"]["value"]["aks-nodes"].as_str().unwrap_or_default().to_owned();
    let cluster = sim.admin(&format!("resources{}", o("aks_cluster_id")))?;
    let kubelet = cluster["body"]["properties"]["identityProfile"]["kubeletidentity"]["objectId"].as_str().unwrap_or_default().to_owned();
    let workload = out["workload_principal_ids"]["value"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut rows: Vec<(String, bool, String)> = Vec::new();
    for (what, name) in
        [("API server", o("aks_private_fqdn")), ("Key Vault", host(&o("key_vault_uri"))), ("PostgreSQL", host(&o("postgresql_fqdn")))]
    {
        let r = sim.check("dns", &[("from", &hub), ("name", &name)])?;
        let ips: Vec<&str> = r["answer"]["ips"].as_array().map(|a| a.iter().filter_map(Json::as_str).collect()).unwrap_or_default();
        rows.push((
            format!("hub resolves the {what}"),
            r["answer"]["kind"] == "private",
            format!("{name} → {} {}", r["answer"]["kind"].as_str().unwrap_or(""), ips.join(",")),
        ));
    }
    for (to, port, want) in
        [("mcr.microsoft.com", "443", true), (&*host(&o("acr_login_server")), "443", true), ("example.com", "443", false)]
    {
        let r = sim.check("egress", &[("from", &nodes), ("to", to), ("port", port)])?;
        let allowed = r["allowed"] == true;
        rows.push((
            format!("aks-nodes → {to}:{port} {}", if want { "allowed" } else { "denied" }),
            allowed == want,
            r["reason"].as_str().unwrap_or("").to_owned(),
        ));
    }
    for (who, principal, kind, action, scope) in [
        ("kubelet", &kubelet, "action", "Microsoft.ContainerRegistry/registries/pull/read", o("acr_id")),
        ("workload", &workload, "dataAction", "Microsoft.KeyVault/vaults/secrets/getSecret/action", o("key_vault_id")),
    ] {
        let r = sim.check("authz", &[("principal", principal), (kind, action), ("scope", &scope)])?;
        let by = r["chain"]
            .as_array()
            .and_then(|c| c.iter().find(|s| s["detail"].as_str().is_some_and(|d| d.contains("grants"))))
            .map(|s| s["detail"].as_str().unwrap_or("").to_owned());
        rows.push((format!("{who} may {}", action.rsplit('/').nth(1).unwrap_or(action)), r["allowed"] == true, by.unwrap_or_default()));
    }
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    for (what, pass, detail) in &rows {
        println!("  {}  {what:width$}  {detail}", if *pass { "PASS" } else { "FAIL" });
    }
    Ok(rows.iter().filter(|r| !r.1).count())
}

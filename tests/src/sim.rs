//! A `trench-armsim` process for tests and benchmarks: spawned from the
//! built binary (never linked), on a free port, with its admin API.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value as Json;

use crate::bin;

/// A running simulator; killed on drop.
pub struct Sim {
    child: Child,
    /// Its state directory (CA, state.json, armsim.json, armsim.log).
    pub dir: tempfile::TempDir,
    /// `https://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The parsed `armsim.json`.
    pub info: Json,
    http: reqwest::Client,
    /// Set once stopped on purpose (so Drop does not report an early exit).
    stopped: bool,
}

impl Sim {
    /// Starts armsim on a free port with `args`; the time scale defaults to
    /// 0.001 (a 6-minute firewall takes 0.36 s).
    pub fn start(args: &[&str]) -> Sim {
        Sim::start_in(tempfile::tempdir().unwrap(), args)
    }

    /// Starts armsim on a state directory that may hold an earlier run's
    /// state (it is loaded, as after a restart).
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Sim {
        let mut cmd = Command::new(bin("trench-armsim"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--state-dir"]).arg(dir.path());
        if !args.contains(&"--time-scale") {
            cmd.args(["--time-scale", "0.001"]);
        }
        let log = std::fs::File::create(dir.path().join("armsim.log")).unwrap();
        cmd.args(args).stdout(Stdio::piped()).stderr(log);
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Keep draining: the simulator prints more and must not see a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let endpoint =
            line.trim().strip_prefix("trench-armsim listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_owned();
        let info: Json = serde_json::from_str(&std::fs::read_to_string(dir.path().join("armsim.json")).unwrap()).unwrap();
        let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();
        let http = reqwest::Client::builder().tls_certs_merge([reqwest::Certificate::from_pem(&ca).unwrap()]).build().unwrap();
        Sim { child, dir, endpoint, info, http, stopped: false }
    }

    /// Path of the CA certificate.
    pub fn ca_file(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }

    /// The default subscription.
    pub fn subscription(&self) -> String {
        self.info["subscription_ids"][0].as_str().unwrap().to_owned()
    }

    /// A field of armsim.json as a string.
    pub fn field(&self, k: &str) -> String {
        self.info[k].as_str().unwrap_or_default().to_owned()
    }

    /// Environment variables that point the provider at this simulator.
    pub fn provider_env(&self) -> Vec<(String, String)> {
        vec![
            ("ARM_SUBSCRIPTION_ID".into(), self.subscription()),
            ("ARM_TENANT_ID".into(), self.field("tenant_id")),
            ("ARM_CLIENT_ID".into(), self.field("client_id")),
            ("ARM_CLIENT_SECRET".into(), self.field("client_secret")),
            ("ARM_USE_CLI".into(), "false".into()),
            ("TRENCH_ARM_ENDPOINT".into(), self.endpoint.clone()),
            ("TRENCH_AUTHORITY_HOST".into(), self.endpoint.clone()),
            ("TRENCH_CA_CERT_FILE".into(), self.ca_file()),
            ("TRENCH_RETRY_BASE_DELAY_MS".into(), "20".into()),
            ("TRENCH_POLL_INTERVAL_MS".into(), "20".into()),
        ]
    }

    /// Calls the admin API (`/_sim/<path>`); panics on an error status.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Json>) -> Json {
        let mut r = self.http.request(method, format!("{}/_sim/{path}", self.endpoint));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let rsp = r.send().await.unwrap();
        let status = rsp.status();
        let text = rsp.text().await.unwrap();
        assert!(status.is_success(), "admin {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Json::Null)
    }

    /// Calls the admin API, returning the error status and text instead of panicking.
    pub async fn try_admin(&self, method: reqwest::Method, path: &str, body: Option<Json>) -> Result<Json, String> {
        let mut r = self.http.request(method, format!("{}/_sim/{path}", self.endpoint));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let rsp = r.send().await.map_err(|e| e.to_string())?;
        let status = rsp.status();
        let text = rsp.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status} {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Json::Null))
    }

    /// `/_sim/stats`.
    pub async fn stats(&self) -> Json {
        self.admin(reqwest::Method::GET, "stats", None).await
    }

    /// `/_sim/journal` entries.
    pub async fn journal(&self) -> Vec<Json> {
        self.admin(reqwest::Method::GET, "journal", None).await["value"].as_array().cloned().unwrap_or_default()
    }

    /// Adds fault rules.
    pub async fn faults(&self, rules: Json) {
        self.admin(reqwest::Method::POST, "faults", Some(rules)).await;
    }

    /// Every resource armsim holds.
    pub async fn resources(&self) -> Vec<Json> {
        self.admin(reqwest::Method::GET, "resources", None).await["value"].as_array().cloned().unwrap_or_default()
    }

    /// A raw access token from the simulator's Entra endpoint.
    pub async fn token(&self) -> String {
        let tenant = self.field("tenant_id");
        let rsp: Json = self
            .http
            .post(format!("{}/{tenant}/oauth2/v2.0/token", self.endpoint))
            .form(&[
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", self.field("client_id")),
                ("client_secret", self.field("client_secret")),
                ("scope", format!("{}/.default", self.endpoint)),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        rsp["access_token"].as_str().unwrap_or_else(|| panic!("no token: {rsp}")).to_owned()
    }
}

impl Sim {
    /// Stops armsim gracefully (SIGTERM: it writes state.json) and starts it
    /// again on the same state with other flags, e.g. throttling on.
    pub fn restart(mut self, args: &[&str]) -> Sim {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        self.stopped = true;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        drop(self);
        Sim::start_in(dir, args)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // A simulator that died on its own is a bug worth seeing.
        if let (false, Ok(Some(status))) = (self.stopped, self.child.try_wait()) {
            let log = std::fs::read_to_string(self.dir.path().join("armsim.log")).unwrap_or_default();
            eprintln!("trench-armsim exited early ({status}):\n{log}");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

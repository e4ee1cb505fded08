//! `trench-armsim`: a thin CLI over the armsim library.

use std::net::SocketAddr;
use std::path::PathBuf;

use armsim::{Principal, RegisteredNamespaces, SimConfig, ThrottleMode};
use clap::{Parser, Subcommand};

const FAULTS_HELP: &str = "Fault rules, comma-separated METHOD:TYPE:KIND[:p=F][:count=N][:delay=MS][:path=S]. \
METHOD is an HTTP method or *, TYPE a resource type (case-insensitive; `operations` for operation polls) or *, \
KIND one of throttle429, error500, error503, reset (drop the TCP connection), slow (needs delay=MS), \
fail_operation (the next matching long-running operation ends Failed), conflict409. \
p= fires with that seeded probability, count= fires on the next N matches only. \
Example: PUT:Microsoft.Network/virtualNetworks:error500:p=0.2,*:*:reset:count=2. \
A value starting with [ or { is read as JSON rules ({\"method\",\"resource_type\",\"path_contains\",\"kind\",\"probability\",\"count\",\"delay_ms\"}). \
@PATH reads the rules (either form) from a file. Rules can also be managed at runtime with GET/POST/DELETE /_sim/faults.";

/// A faithful local Azure Resource Manager (and Entra token endpoint) for trench.
#[derive(Parser)]
#[command(name = "trench-armsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve ARM over HTTPS. Prints `trench-armsim listening on https://127.0.0.1:<port>` first and
    /// writes <state-dir>/armsim.json (endpoint, CA file, tenant, subscriptions, principal, pid).
    /// The admin API lives under /_sim/ (health, resources, journal, stats, faults, reset,
    /// durations, secrets). Stops cleanly on SIGINT/SIGTERM, writing state.json.
    Serve(Box<ServeArgs>),
    /// Measure GET throughput, p99 latency and memory at N resources over real HTTPS (starts its own
    /// server process); prints one JSON object {"get_per_s","p99_ms","rss_mb",…}.
    Bench(BenchArgs),
    /// Ask a running armsim's data-plane model (/_sim/check/…) a checkpoint question; prints the
    /// answer with the chain of objects that decided it. Exit status 0 when the name resolves or
    /// the flow/action is allowed, 1 when not.
    Check(CheckArgs),
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The running simulator's state directory (its armsim.json names the endpoint and CA).
    #[arg(long, default_value = ".trench/sim")]
    state_dir: PathBuf,
    #[command(subcommand)]
    what: CheckCmd,
}

#[derive(Subcommand)]
enum CheckCmd {
    /// What NAME resolves to from the VNet FROM (private zones, privatelink CNAMEs, public DNS).
    Dns {
        #[arg(long)]
        from: String,
        #[arg(long)]
        name: String,
    },
    /// Whether a flow from the subnet FROM to TO (FQDN or IPv4) on PORT leaves the estate.
    Egress {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        port: u16,
        #[arg(long, default_value = "TCP")]
        protocol: String,
    },
    /// Whether PRINCIPAL (object id) may perform ACTION (or DATA_ACTION) at SCOPE.
    Authz {
        #[arg(long)]
        principal: String,
        #[arg(long)]
        scope: String,
        #[arg(long, conflicts_with = "data_action", required_unless_present = "data_action")]
        action: Option<String>,
        #[arg(long)]
        data_action: Option<String>,
    },
}

/// Calls `/_sim/check/<what>` on the simulator whose armsim.json is in `dir`; true when it passed.
async fn check(a: CheckArgs) -> Result<bool, String> {
    let info_file = a.state_dir.join("armsim.json");
    let info: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&info_file).map_err(|e| format!("{}: {e} (is the simulator running? make sim)", info_file.display()))?,
    )
    .map_err(|e| format!("{}: {e}", info_file.display()))?;
    let field = |k: &str| info[k].as_str().unwrap_or_default().to_owned();
    let ca = std::fs::read(field("ca_file")).map_err(|e| format!("{}: {e}", field("ca_file")))?;
    let cert = reqwest::Certificate::from_pem(&ca).map_err(|e| e.to_string())?;
    let http = reqwest::Client::builder().tls_certs_merge([cert]).build().map_err(|e| e.to_string())?;
    let port;
    let (what, query): (&str, Vec<(&str, &str)>) = match &a.what {
        CheckCmd::Dns { from, name } => ("dns", vec![("from", from), ("name", name)]),
        CheckCmd::Egress { from, to, port: p, protocol } => {
            port = p.to_string();
            ("egress", vec![("from", from), ("to", to), ("port", &port), ("protocol", protocol)])
        }
        CheckCmd::Authz { principal, scope, action, data_action } => {
            let mut q = vec![("principal", principal.as_str()), ("scope", scope.as_str())];
            match (action, data_action) {
                (Some(x), _) => q.push(("action", x)),
                (_, Some(x)) => q.push(("dataAction", x)),
                _ => {}
            }
            ("authz", q)
        }
    };
    let rsp = http.get(format!("{}/_sim/check/{what}", field("endpoint"))).query(&query).send().await.map_err(|e| e.to_string())?;
    let status = rsp.status();
    let body: serde_json::Value = rsp.json().await.map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
    if !status.is_success() {
        return Err(format!("{status}: {}", body["error"]["message"].as_str().unwrap_or("")));
    }
    Ok(match what {
        "dns" => body["answer"]["kind"] == "private" || body["answer"]["kind"] == "public",
        _ => body["allowed"] == true,
    })
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Directory for ca.pem, keys, state.json and armsim.json (created if missing).
    #[arg(long, default_value = ".trench/sim")]
    state_dir: PathBuf,
    /// Multiplies realistic operation durations and Retry-After (AKS and firewall take minutes at 1.0; 0 = instant).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Seed for generated ids, addresses and fault probabilities.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, help = FAULTS_HELP)]
    faults: Option<String>,
    /// ARM throttling: `real` (per-subscription token buckets: reads 250 burst/25 per s, writes and deletes 200/10 per s) or `off`.
    #[arg(long, default_value = "real")]
    throttle: ThrottleMode,
    /// Accepted service principal CLIENT_ID:SECRET (repeatable). Without one, the demo principal is accepted and printed.
    #[arg(long = "principal", value_parser = Principal::parse)]
    principals: Vec<Principal>,
    /// Tenant id.
    #[arg(long, default_value = armsim::DEFAULT_TENANT)]
    tenant: String,
    /// Subscription id (repeatable; default 00000000-0000-4000-8000-000000000002).
    #[arg(long = "subscription")]
    subscriptions: Vec<String>,
    /// Lifetime of issued access tokens in seconds.
    #[arg(long, default_value_t = 3600)]
    token_lifetime: u64,
    /// Resource-provider namespaces registered at start: `default` (all but Microsoft.DocumentDB), `all`, or a comma-separated list.
    #[arg(long, default_value = "default")]
    registered_namespaces: String,
    /// Extra directory object ids role assignments may name (users, groups; repeatable).
    #[arg(long = "known-principal")]
    known_principals: Vec<String>,
    /// Seconds (before time-scale) a new identity's principal takes to replicate (role assignments without principalType fail meanwhile).
    #[arg(long, default_value_t = 10.0)]
    replication_delay: f64,
    /// Journal entries kept in memory (oldest dropped first).
    #[arg(long, default_value_t = 20_000)]
    journal_capacity: usize,
    /// Megabytes of request/response bodies the journal keeps; older entries keep only their metadata.
    #[arg(long, default_value_t = 16)]
    journal_body_mb: usize,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Resources to create before measuring.
    #[arg(long, default_value_t = 10_000)]
    resources: usize,
    /// Seconds of sustained GET load.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent keep-alive HTTPS connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Extra argument for the measured `serve` process (repeatable), e.g. --serve-arg=--journal-capacity=1000.
    #[arg(long = "serve-arg", allow_hyphen_values = true)]
    serve_args: Vec<String>,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = match cli.command {
        Cmd::Serve(a) => rt.block_on(serve(*a)),
        Cmd::Bench(a) => rt.block_on(async {
            let opts = armsim::bench::BenchOptions {
                resources: a.resources,
                seconds: a.seconds,
                connections: a.connections,
                serve_args: a.serve_args,
                ..Default::default()
            };
            armsim::bench::run(opts).await.map(|v| println!("{v}"))
        }),
        Cmd::Check(a) => match rt.block_on(check(a)) {
            Ok(true) => Ok(()),
            Ok(false) => return std::process::ExitCode::from(1),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trench-armsim: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(a: ServeArgs) -> Result<(), String> {
    let faults = match a.faults.as_deref() {
        Some(spec) if spec.starts_with('@') => {
            let text = std::fs::read_to_string(&spec[1..]).map_err(|e| format!("reading fault file {}: {e}", &spec[1..]))?;
            armsim::parse_fault_spec(&text)?
        }
        Some(spec) => armsim::parse_fault_spec(spec)?,
        None => Vec::new(),
    };
    let demo = a.principals.is_empty();
    let config = SimConfig {
        listen: a.listen,
        state_dir: a.state_dir,
        time_scale: a.time_scale,
        seed: a.seed,
        faults,
        throttle: a.throttle,
        principals: a.principals,
        tenant_id: a.tenant,
        subscription_ids: a.subscriptions,
        token_lifetime_secs: a.token_lifetime,
        registered_namespaces: RegisteredNamespaces::parse(&a.registered_namespaces),
        known_principals: a.known_principals,
        principal_replication_secs: a.replication_delay,
        journal_capacity: a.journal_capacity,
        journal_body_budget_mb: a.journal_body_mb,
        ..SimConfig::default()
    };
    // Handlers first, so a signal right after the "listening" line still stops us cleanly.
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let running = armsim::serve(config).await.map_err(|e| e.to_string())?;
    // Write errors are ignored: a supervisor may read the first line and close the pipe, and that
    // must not take the simulator down (println! would panic on EPIPE).
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| {
        use std::io::Write;
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    say(format!("trench-armsim listening on {}", running.endpoint()));
    say(format!("  tenant:        {}", running.tenant_id()));
    say(format!("  subscription:  {}", running.subscription_id()));
    if demo {
        say(format!("  demo principal (no --principal given): client id {} secret {}", running.client_id(), running.client_secret()));
    } else {
        say(format!("  principal:     {}", running.client_id()));
    }
    say(format!("  CA:            {}", running.ca_file().display()));
    say(format!("  connection:    {}", running.sim().state_dir().join("armsim.json").display()));
    say(format!("  state:         {}", running.sim().state_dir().join("state.json").display()));
    say(format!("  admin API:     {}/_sim/health", running.endpoint()));
    drop(out);

    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    running.shutdown().await.map_err(|e| e.to_string())?;
    eprintln!("trench-armsim: stopped; state written");
    Ok(())
}

//! Simulator configuration: every `serve` flag as a field, with deterministic defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::clock::Clock;
use crate::faults::FaultRule;

/// Default tenant id.
pub const DEFAULT_TENANT: &str = "00000000-0000-4000-8000-000000000001";
/// Default subscription id.
pub const DEFAULT_SUBSCRIPTION: &str = "00000000-0000-4000-8000-000000000002";
/// Client id of the demo principal used when no principal is configured.
pub const DEMO_CLIENT_ID: &str = "00000000-0000-4000-8000-0000000000c1";
/// Secret of the demo principal.
pub const DEMO_CLIENT_SECRET: &str = "trench-demo-secret";

/// A service principal the token endpoint accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Application (client) id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
}

impl Principal {
    /// Parses `CLIENT_ID:SECRET` (the `--principal` flag form).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (id, secret) = s.split_once(':').ok_or_else(|| format!("principal {s:?} is not CLIENT_ID:SECRET"))?;
        let id = parse_uuid(id).map_err(|e| format!("principal client id: {e}"))?;
        if secret.is_empty() {
            return Err(format!("principal {id} has an empty secret"));
        }
        Ok(Principal { client_id: id, client_secret: secret.to_string() })
    }

    /// The demo principal.
    pub fn demo() -> Self {
        Principal { client_id: DEMO_CLIENT_ID.into(), client_secret: DEMO_CLIENT_SECRET.into() }
    }
}

/// Whether ARM's per-subscription token buckets are enforced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThrottleMode {
    /// Enforce ARM's 2024 limits (reads 250/25 s⁻¹, writes and deletes 200/10 s⁻¹).
    #[default]
    Real,
    /// Never throttle (benchmarks).
    Off,
}

impl std::str::FromStr for ThrottleMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "real" => Ok(ThrottleMode::Real),
            "off" => Ok(ThrottleMode::Off),
            _ => Err(format!("throttle mode {s:?} is neither `real` nor `off`")),
        }
    }
}

/// Which resource-provider namespaces a subscription starts registered for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum RegisteredNamespaces {
    /// Everything except Microsoft.DocumentDB, so the registration path gets exercised.
    #[default]
    Default,
    /// Every namespace.
    All,
    /// Exactly these (Microsoft.Resources and Microsoft.Authorization are always registered).
    List(Vec<String>),
}

impl RegisteredNamespaces {
    /// Parses the flag form: `default`, `all`, or a comma-separated list.
    pub fn parse(s: &str) -> Self {
        match s.trim() {
            "default" => RegisteredNamespaces::Default,
            "all" => RegisteredNamespaces::All,
            list => RegisteredNamespaces::List(list.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect()),
        }
    }

    pub(crate) fn initially_registered(&self, ns: &str) -> bool {
        if ns.eq_ignore_ascii_case("Microsoft.Resources") || ns.eq_ignore_ascii_case("Microsoft.Authorization") {
            return true;
        }
        match self {
            RegisteredNamespaces::Default => !ns.eq_ignore_ascii_case("Microsoft.DocumentDB"),
            RegisteredNamespaces::All => true,
            RegisteredNamespaces::List(l) => l.iter().any(|n| n.eq_ignore_ascii_case(ns)),
        }
    }
}

/// Everything `trench-armsim serve` can be told. `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Directory for `ca.pem`, keys, `state.json` and `armsim.json`.
    pub state_dir: PathBuf,
    /// Multiplies realistic operation durations (and `Retry-After`); 0 completes operations at once.
    pub time_scale: f64,
    /// Seed for every generated id, allocated address and fault probability draw.
    pub seed: u64,
    /// Fault rules active from the start.
    pub faults: Vec<FaultRule>,
    /// Throttling mode.
    pub throttle: ThrottleMode,
    /// Accepted service principals; empty means the demo principal.
    pub principals: Vec<Principal>,
    /// The tenant id.
    pub tenant_id: String,
    /// Known subscriptions; empty means the default subscription.
    pub subscription_ids: Vec<String>,
    /// Lifetime of issued access tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// Namespaces registered at start in each subscription.
    pub registered_namespaces: RegisteredNamespaces,
    /// Extra directory object ids role assignments may name (users, groups).
    pub known_principals: Vec<String>,
    /// Seconds (before time-scale) during which a new identity's principal is not yet replicated.
    pub principal_replication_secs: f64,
    /// Number of journal entries kept (oldest dropped first).
    pub journal_capacity: usize,
    /// Megabytes of request/response bodies the journal keeps (oldest bodies dropped first).
    pub journal_body_budget_mb: usize,
    /// Time source.
    pub clock: Clock,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: PathBuf::from(".trench/sim"),
            time_scale: 1.0,
            seed: 0,
            faults: Vec::new(),
            throttle: ThrottleMode::Real,
            principals: Vec::new(),
            tenant_id: DEFAULT_TENANT.into(),
            subscription_ids: Vec::new(),
            token_lifetime_secs: 3600,
            registered_namespaces: RegisteredNamespaces::Default,
            known_principals: Vec::new(),
            principal_replication_secs: 10.0,
            journal_capacity: 20_000,
            journal_body_budget_mb: 16,
            clock: Clock::System,
        }
    }
}

impl SimConfig {
    /// The principals actually accepted (the demo one when none is configured).
    pub fn effective_principals(&self) -> Vec<Principal> {
        if self.principals.is_empty() { vec![Principal::demo()] } else { self.principals.clone() }
    }

    /// The subscriptions actually served.
    pub fn effective_subscriptions(&self) -> Vec<String> {
        if self.subscription_ids.is_empty() {
            vec![DEFAULT_SUBSCRIPTION.into()]
        } else {
            self.subscription_ids.iter().map(|s| s.to_ascii_lowercase()).collect()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(self.time_scale.is_finite() && self.time_scale >= 0.0) {
            return Err(format!("time scale {} must be a finite number ≥ 0", self.time_scale));
        }
        parse_uuid(&self.tenant_id).map_err(|e| format!("tenant: {e}"))?;
        for s in &self.subscription_ids {
            parse_uuid(s).map_err(|e| format!("subscription: {e}"))?;
        }
        for p in &self.principals {
            parse_uuid(&p.client_id).map_err(|e| format!("principal: {e}"))?;
        }
        if self.token_lifetime_secs == 0 {
            return Err("token lifetime must be at least one second".into());
        }
        Ok(())
    }

    /// Scales a realistic duration in seconds to milliseconds of simulated waiting.
    pub(crate) fn scaled_ms(&self, secs: f64) -> i64 {
        (secs * 1000.0 * self.time_scale).round() as i64
    }
}

/// Checks a GUID and returns it lower-cased.
pub(crate) fn parse_uuid(s: &str) -> Result<String, String> {
    uuid::Uuid::parse_str(s).map(|u| u.hyphenated().to_string()).map_err(|e| format!("{s:?} is not a GUID ({e})"))
}

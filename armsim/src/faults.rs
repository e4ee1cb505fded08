//! Fault injection: rules matched against ARM requests, fired by count or seeded probability.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 with `Retry-After`, as an RP throttling the request.
    Throttle429,
    /// 500 `InternalServerError`.
    Error500,
    /// 503 `ServiceUnavailable` with `Retry-After`.
    Error503,
    /// Drop the TCP connection without any response (a real reset over a socket).
    Reset,
    /// Delay the response by `delay_ms`, then answer normally.
    Slow,
    /// Let the request succeed but make the long-running operation it starts end `Failed`.
    FailOperation,
    /// 409 `AnotherOperationInProgress`.
    Conflict409,
}

impl FaultKind {
    fn parse(s: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .map_err(|_| format!("unknown fault kind {s:?} (throttle429, error500, error503, reset, slow, fail_operation, conflict409)"))
    }
}

/// A fault rule. `None` fields match anything.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// HTTP method to match.
    #[serde(default)]
    pub method: Option<String>,
    /// Resource type to match, case-insensitively (`operations` for operation-status polls).
    #[serde(default)]
    pub resource_type: Option<String>,
    /// Substring the request path must contain (case-insensitive).
    #[serde(default)]
    pub path_contains: Option<String>,
    /// The fault.
    pub kind: FaultKind,
    /// Chance that a matching request triggers the fault (seeded).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Fire on the next N triggering requests, then retire.
    #[serde(default)]
    pub count: Option<u64>,
    /// Delay for `slow`, in milliseconds.
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

/// Parses the compact `--faults` form: comma-separated `METHOD:TYPE:KIND[:p=F][:count=N][:delay=MS][:path=S]`
/// with `*` for any method or type; a value starting with `[` or `{` is read as JSON instead.
pub fn parse_fault_spec(spec: &str) -> Result<Vec<FaultRule>, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Ok(Vec::new());
    }
    if spec.starts_with('[') {
        return serde_json::from_str(spec).map_err(|e| format!("fault JSON: {e}"));
    }
    if spec.starts_with('{') {
        return serde_json::from_str(spec).map(|r| vec![r]).map_err(|e| format!("fault JSON: {e}"));
    }
    spec.split(',').map(|r| parse_rule(r.trim())).collect()
}

fn parse_rule(r: &str) -> Result<FaultRule, String> {
    let parts: Vec<&str> = r.split(':').collect();
    if parts.len() < 3 {
        return Err(format!("fault rule {r:?} is not METHOD:TYPE:KIND[:option]…"));
    }
    let any = |s: &str| if s == "*" || s.is_empty() { None } else { Some(s.to_string()) };
    let mut rule = FaultRule {
        method: any(parts[0]).map(|m| m.to_ascii_uppercase()),
        resource_type: any(parts[1]),
        path_contains: None,
        kind: FaultKind::parse(parts[2])?,
        probability: None,
        count: None,
        delay_ms: None,
    };
    for opt in &parts[3..] {
        let (k, v) = opt.split_once('=').ok_or_else(|| format!("fault option {opt:?} is not key=value"))?;
        match k {
            "p" | "probability" => {
                let p: f64 = v.parse().map_err(|_| format!("fault probability {v:?} is not a number"))?;
                rule.probability = Some(p);
            }
            "count" | "n" => rule.count = Some(v.parse().map_err(|_| format!("fault count {v:?} is not an integer"))?),
            "delay" | "delay_ms" => rule.delay_ms = Some(v.parse().map_err(|_| format!("fault delay {v:?} is not milliseconds"))?),
            "path" | "path_contains" => rule.path_contains = Some(v.to_string()),
            _ => return Err(format!("unknown fault option {k:?} (p, count, delay, path)")),
        }
    }
    validate(&rule)?;
    Ok(rule)
}

fn validate(rule: &FaultRule) -> Result<(), String> {
    if let Some(p) = rule.probability
        && !(0.0..=1.0).contains(&p)
    {
        return Err(format!("fault probability {p} is outside 0..1"));
    }
    if rule.kind == FaultKind::Slow && rule.delay_ms.is_none() {
        return Err("a `slow` fault needs delay_ms".into());
    }
    Ok(())
}

/// An installed rule with its bookkeeping.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ActiveRule {
    pub id: String,
    #[serde(flatten)]
    pub rule: FaultRule,
    pub fired: u64,
}

/// The installed rules and the seeded generator for probability draws.
pub(crate) struct Faults {
    rules: Vec<ActiveRule>,
    next_id: u64,
    rng: ChaCha8Rng,
}

/// What the request being matched looks like.
pub(crate) struct FaultProbe<'a> {
    pub method: &'a str,
    pub resource_type: &'a str,
    pub path: &'a str,
}

impl Faults {
    pub fn new(seed: u64, rules: Vec<FaultRule>) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(7);
        let mut f = Faults { rules: Vec::new(), next_id: 1, rng };
        for r in rules {
            f.add(r).expect("rules from the configuration were validated");
        }
        f
    }

    pub fn add(&mut self, rule: FaultRule) -> Result<String, String> {
        validate(&rule)?;
        let id = format!("f{}", self.next_id);
        self.next_id += 1;
        self.rules.push(ActiveRule { id: id.clone(), rule, fired: 0 });
        Ok(id)
    }

    pub fn list(&self) -> &[ActiveRule] {
        &self.rules
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id != id);
        before != self.rules.len()
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Returns the first rule of one of `kinds` that fires for this request, consuming its count.
    pub fn fire(&mut self, probe: &FaultProbe<'_>, kinds: &[FaultKind]) -> Option<ActiveRule> {
        let path_lower = probe.path.to_ascii_lowercase();
        for i in 0..self.rules.len() {
            let r = &self.rules[i].rule;
            if !kinds.contains(&r.kind) || r.count == Some(0) {
                continue;
            }
            if let Some(m) = &r.method
                && !m.eq_ignore_ascii_case(probe.method)
            {
                continue;
            }
            if let Some(t) = &r.resource_type
                && !t.eq_ignore_ascii_case(probe.resource_type)
            {
                continue;
            }
            if let Some(p) = &r.path_contains
                && !path_lower.contains(&p.to_ascii_lowercase())
            {
                continue;
            }
            if let Some(p) = r.probability {
                // One draw per matching request keeps the sequence reproducible under a seed.
                if self.rng.random::<f64>() >= p {
                    continue;
                }
            }
            let active = &mut self.rules[i];
            if let Some(c) = active.rule.count.as_mut() {
                *c -= 1;
            }
            active.fired += 1;
            let fired = active.clone();
            return Some(fired);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_spec_parses_like_the_help_says() {
        let rules = parse_fault_spec("PUT:Microsoft.Network/virtualNetworks:error500:p=0.2,*:*:reset:count=2").unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].method.as_deref(), Some("PUT"));
        assert_eq!(rules[0].resource_type.as_deref(), Some("Microsoft.Network/virtualNetworks"));
        assert_eq!(rules[0].kind, FaultKind::Error500);
        assert_eq!(rules[0].probability, Some(0.2));
        assert_eq!(rules[1].method, None);
        assert_eq!(rules[1].kind, FaultKind::Reset);
        assert_eq!(rules[1].count, Some(2));
        assert!(parse_fault_spec("GET:*:slow").is_err(), "slow needs a delay");
        assert!(parse_fault_spec("GET:*:explode").is_err());
        assert!(parse_fault_spec("GET:*:error500:p=2").is_err());
        let json = parse_fault_spec(r#"[{"kind":"slow","delay_ms":5}]"#).unwrap();
        assert_eq!(json[0].delay_ms, Some(5));
    }

    #[test]
    fn count_retires_a_rule() {
        let mut f = Faults::new(0, parse_fault_spec("GET:*:error503:count=2").unwrap());
        let probe = FaultProbe { method: "GET", resource_type: "x", path: "/a" };
        assert!(f.fire(&probe, &[FaultKind::Error503]).is_some());
        assert!(f.fire(&probe, &[FaultKind::Error503]).is_some());
        assert!(f.fire(&probe, &[FaultKind::Error503]).is_none());
    }
}

//! Subscriptions and resource-provider registration (`Registering` → `Registered` after a scaled delay).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::ArmError;
use crate::reply::Reply;
use crate::sim::{Req, Sim};
use crate::spec;
use crate::state::RegState;

/// api-versions for subscriptions and providers (Microsoft.Resources).
const SUBSCRIPTION_VERSIONS: &[&str] = &["2025-04-01", "2023-07-01", "2022-12-01"];
/// Seconds a registration takes, before time-scale.
const REGISTRATION_SECS: f64 = 30.0;

/// Namespaces the simulator serves, with their resource types (canonical casing).
fn namespaces() -> BTreeMap<String, (&'static str, Vec<&'static spec::Spec>)> {
    let mut m: BTreeMap<String, (&'static str, Vec<&'static spec::Spec>)> = BTreeMap::new();
    for s in spec::all_sorted() {
        m.entry(s.namespace().to_ascii_lowercase()).or_insert((s.namespace(), Vec::new())).1.push(s);
    }
    m
}

fn provider_body(sim: &Sim, sub: &str, ns: &'static str, specs: &[&'static spec::Spec]) -> Value {
    let state = match sim.read().registration(sim.cfg(), sub, ns) {
        RegState::Registered => "Registered",
        RegState::Registering { .. } => "Registering",
        RegState::NotRegistered => "NotRegistered",
    };
    let types: Vec<Value> = specs
        .iter()
        .map(|s| {
            json!({
                "resourceType": s.type_segments().join("/"),
                "locations": crate::regions::DISPLAY.clone(),
                "apiVersions": s.api_versions,
            })
        })
        .collect();
    json!({
        "id": format!("/subscriptions/{sub}/providers/{ns}"),
        "namespace": ns,
        "registrationState": state,
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": types,
    })
}

fn find_ns(ns: &str) -> Result<(&'static str, Vec<&'static spec::Spec>), ArmError> {
    namespaces()
        .remove(&ns.to_ascii_lowercase())
        .ok_or_else(|| ArmError::not_found("InvalidResourceNamespace", format!("The resource namespace '{ns}' is invalid.")))
}

fn versions(req: &Req) -> Result<(), ArmError> {
    crate::engine::check_versions(req, crate::types::versions::RESOURCES, "Microsoft.Resources", "providers").map(|_| ())
}

pub(crate) fn list(sim: &Sim, req: &Req, sub: &str) -> Result<Reply, ArmError> {
    versions(req)?;
    let sub = sub.to_ascii_lowercase();
    let v: Vec<Value> = namespaces().into_values().map(|(ns, specs)| provider_body(sim, &sub, ns, &specs)).collect();
    Ok(Reply::json(200, &json!({"value": v})))
}

pub(crate) fn get(sim: &Sim, req: &Req, sub: &str, ns: &str) -> Result<Reply, ArmError> {
    versions(req)?;
    let (ns, specs) = find_ns(ns)?;
    Ok(Reply::json(200, &provider_body(sim, &sub.to_ascii_lowercase(), ns, &specs)))
}

pub(crate) fn action(sim: &Sim, req: &Req, sub: &str, ns: &str, action: &str) -> Result<Reply, ArmError> {
    if req.method != "POST" {
        return Err(ArmError::new(405, "MethodNotAllowed", format!("Use POST for '{action}'.")));
    }
    versions(req)?;
    let (ns, specs) = find_ns(ns)?;
    let sub = sub.to_ascii_lowercase();
    {
        let mut st = sim.write();
        let now = sim.now_ms();
        match (action, st.registration(sim.cfg(), &sub, ns)) {
            ("register", RegState::NotRegistered) => {
                let due_ms = now + sim.cfg().scaled_ms(REGISTRATION_SECS);
                st.set_registration(&sub, ns, RegState::Registering { due_ms });
            }
            ("unregister", _) => st.set_registration(&sub, ns, RegState::NotRegistered),
            _ => {}
        }
        sim.after_write(&st);
    }
    Ok(Reply::json(200, &provider_body(sim, &sub, ns, &specs)))
}

fn subscription_body(sim: &Sim, sub: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{sub}"),
        "authorizationSource": "RoleBased",
        "subscriptionId": sub,
        "tenantId": sim.cfg().tenant_id,
        "displayName": format!("armsim subscription {}", &sub[..8.min(sub.len())]),
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    })
}

pub(crate) fn get_subscription(sim: &Sim, req: &Req, sub: &str) -> Result<Reply, ArmError> {
    crate::engine::check_versions(req, SUBSCRIPTION_VERSIONS, "Microsoft.Resources", "subscriptions")?;
    Ok(Reply::json(200, &subscription_body(sim, &sub.to_ascii_lowercase())))
}

pub(crate) fn list_subscriptions(sim: &Sim, req: &Req) -> Result<Reply, ArmError> {
    crate::engine::check_versions(req, SUBSCRIPTION_VERSIONS, "Microsoft.Resources", "subscriptions")?;
    let v: Vec<Value> = sim.cfg().subscription_ids.iter().map(|s| subscription_body(sim, s)).collect();
    Ok(Reply::json(200, &json!({"value": v})))
}

//! The generic ARM engine: routing, api-version and container checks, reads (GET, HEAD, lists,
//! actions) and rendering with a per-resource cache, for every type described by a `Spec`. Writes
//! live in `writes.rs`.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::armpath::{ResPath, Route};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::ops;
use crate::reply::Reply;
use crate::sim::{Req, Sim};
use crate::spec::{self, Spec};
use crate::state::{RegState, Resource, State};

pub(crate) async fn dispatch(sim: &Sim, req: &Req, route: Route) -> Reply {
    let res = match route {
        Route::Subscriptions => crate::providers::list_subscriptions(sim, req),
        Route::Subscription { sub } => crate::providers::get_subscription(sim, req, &sub),
        Route::ResourceGroups { sub } => list_resource_groups(sim, req, &sub),
        Route::RgResources { sub, rg } => list_rg_resources(sim, req, &sub, &rg),
        Route::Providers { sub } => crate::providers::list(sim, req, &sub),
        Route::Provider { sub, ns } => crate::providers::get(sim, req, &sub, &ns),
        Route::ProviderAction { sub, ns, action } => crate::providers::action(sim, req, &sub, &ns, &action),
        Route::Operation { sub, op, result } => ops::poll(sim, req, &sub, &op, result),
        Route::SubOperationResult { sub, op } => ops::poll(sim, req, &sub, &op, true),
        Route::Arm(p) => arm(sim, req, p).await,
    };
    res.unwrap_or_else(Reply::from)
}

async fn arm(sim: &Sim, req: &Req, p: ResPath) -> Result<Reply, ArmError> {
    let type_key = p.type_key();
    // Paths that are not stored resources (deleted vaults, built-in role
    // definitions): their type module answers them.
    if let Some(route) = crate::types::route(&type_key) {
        return route(sim, req, &p);
    }
    if p.trailing().is_some_and(|t| t.eq_ignore_ascii_case("checkNameAvailability")) && req.method == "POST" {
        return check_name_availability(sim, req, &p);
    }
    if p.is_resource() {
        let spec = spec::lookup(&type_key).ok_or_else(|| unknown_type(&p))?;
        let api = check_api(req, spec)?;
        match req.method.as_str() {
            "GET" => get(sim, &p, spec),
            "HEAD" => head(sim, &p, spec),
            "PUT" => crate::writes::put(sim, req, &p, spec, &api, false).await,
            "PATCH" => crate::writes::put(sim, req, &p, spec, &api, true).await,
            "DELETE" => crate::writes::delete(sim, req, &p, spec, &api),
            m => Err(method_not_allowed(m)),
        }
    } else {
        match req.method.as_str() {
            "GET" => {
                let spec = spec::lookup(&type_key).ok_or_else(|| unknown_type(&p))?;
                check_api(req, spec)?;
                list(sim, &p, spec)
            }
            "POST" => action(sim, req, &p),
            m => Err(method_not_allowed(m)),
        }
    }
}

fn method_not_allowed(m: &str) -> ArmError {
    ArmError::new(405, "MethodNotAllowed", format!("The requested method '{m}' is not allowed for this resource."))
}

fn unknown_type(p: &ResPath) -> ArmError {
    let label = p.type_label();
    let (ns, t) = label.split_once('/').unwrap_or((&label, ""));
    ArmError::bad_request(
        "InvalidResourceType",
        format!("The resource type '{t}' could not be found in the namespace '{ns}' for this simulator."),
    )
}

/// Checks `api-version` against the type's supported list and returns it.
pub(crate) fn check_api(req: &Req, spec: &Spec) -> Result<String, ArmError> {
    check_versions(req, spec.api_versions, spec.namespace(), spec.short_type())
}

pub(crate) fn check_versions(req: &Req, versions: &[&str], ns: &str, short: &str) -> Result<String, ArmError> {
    let Some(v) = req.api_version() else {
        return Err(ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    if versions.iter().any(|s| s.eq_ignore_ascii_case(v)) {
        return Ok(v.to_string());
    }
    let list = versions.join(", ");
    if ns.eq_ignore_ascii_case("Microsoft.Resources") {
        return Err(ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{v}' is invalid. The supported versions are '{list}'. Please refer to https://aka.ms/arm-api-versions for more information."
            ),
        ));
    }
    Err(ArmError::bad_request(
        "NoRegisteredProviderFound",
        format!(
            "No registered resource provider found for location 'westeurope' and API version '{v}' for type '{short}'. The supported api-versions are '{list}'. The supported locations are '{}'.",
            crate::regions::DISPLAY.join(", ")
        ),
    ))
}

pub(crate) fn check_registered(st: &State, cfg: &SimConfig, sub: &str, ns: &str) -> Result<(), ArmError> {
    match st.registration(cfg, sub, ns) {
        RegState::Registered => Ok(()),
        _ => Err(ArmError::conflict(
            "MissingSubscriptionRegistration",
            format!("The subscription is not registered to use namespace '{ns}'. See https://aka.ms/rps-not-found for how to register subscriptions."),
        )
        .with_detail("MissingSubscriptionRegistration", format!("The subscription is not registered to use namespace '{ns}'."))),
    }
}

pub(crate) fn rg_key(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourcegroups/{rg}").to_ascii_lowercase()
}

pub(crate) fn rg_not_found(rg: &str) -> ArmError {
    ArmError::not_found("ResourceGroupNotFound", format!("Resource group '{rg}' could not be found."))
}

pub(crate) fn resource_not_found(p: &ResPath, spec: &Spec) -> ArmError {
    let chain = full_type_and_names(p, spec);
    match &p.rg {
        Some(rg) => ArmError::not_found(
            "ResourceNotFound",
            format!(
                "The Resource '{chain}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        ),
        None => ArmError::not_found("ResourceNotFound", format!("The Resource '{chain}' was not found.")),
    }
}

fn full_type_and_names(p: &ResPath, spec: &Spec) -> String {
    let b = p.blocks.last();
    let mut s = spec.namespace().to_string();
    if let Some(b) = b {
        for (t, n) in spec.type_segments().iter().zip(&b.names) {
            s.push_str(&format!("/{t}/{n}"));
        }
    }
    s
}

/// Checks that the resource group (and parent or scope) of `p` exist; returns the parent resource key.
pub(crate) fn check_container(st: &State, p: &ResPath, spec: &Spec) -> Result<Option<String>, ArmError> {
    if spec.type_name == crate::types::resources::RG_TYPE {
        return Ok(None);
    }
    if let Some(rg) = &p.rg
        && st.get(&rg_key(&p.sub, rg)).is_none()
    {
        return Err(rg_not_found(rg));
    }
    let Some(parent) = p.parent() else { return Ok(None) };
    if parent.blocks.is_empty() {
        return Ok(None);
    }
    let key = parent.key();
    if st.get(&key).is_none() {
        if p.is_extension() {
            let pspec = spec::lookup(&parent.type_key());
            return Err(match pspec {
                Some(ps) => resource_not_found(&parent, ps),
                None => unknown_type(&parent),
            });
        }
        return Err(ArmError::not_found(
            "ParentResourceNotFound",
            format!("Can not perform requested operation on nested resource. Parent resource '{}' not found.", parent.name()),
        ));
    }
    Ok(Some(key))
}

// ---------------------------------------------------------------- rendering

pub(crate) fn render(st: &State, cfg: &SimConfig, res: &Resource) -> Value {
    let spec = res.spec();
    let mut body = res.body.to_value();
    if !body.is_object() {
        body = Value::Object(Map::new());
    }
    body["id"] = json!(res.id);
    body["name"] = json!(res.name());
    body["type"] = json!(spec.type_name);
    if spec.etag {
        body["etag"] = json!(format!("W/\"{}\"", res.etag));
    }
    if let Some(p) = spec.prov_path {
        jpath::set(&mut body, p, json!(res.prov.shown()));
    }
    spec.hooks.render(st, cfg, res, &mut body);
    body
}

/// Rendered JSON bytes, cached until the store changes.
pub(crate) fn rendered_bytes(st: &State, cfg: &SimConfig, res: &Resource) -> Bytes {
    if let Some((g, b)) = &*res.cache.lock().unwrap_or_else(|e| e.into_inner())
        && *g == st.generation
    {
        return b.clone();
    }
    let mut v = serde_json::to_vec(&render(st, cfg, res)).expect("JSON serialises");
    // Cached for the resource's lifetime: do not keep the serialiser's spare capacity.
    v.shrink_to_fit();
    let b = Bytes::from(v);
    *res.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((st.generation, b.clone()));
    b
}

// ---------------------------------------------------------------- reads

fn get(sim: &Sim, p: &ResPath, spec: &'static Spec) -> Result<Reply, ArmError> {
    let st = sim.read();
    if spec.type_name != crate::types::resources::RG_TYPE {
        check_registered(&st, sim.cfg(), &p.sub, spec.namespace())?;
    }
    check_container(&st, p, spec)?;
    let Some(res) = st.get(&p.key()).filter(|r| r.is(spec.type_name)) else {
        if spec.type_name == crate::types::resources::RG_TYPE {
            return Err(rg_not_found(p.name()));
        }
        return Err(resource_not_found(p, spec));
    };
    Ok(Reply::bytes(200, rendered_bytes(&st, sim.cfg(), res)))
}

fn head(sim: &Sim, p: &ResPath, spec: &'static Spec) -> Result<Reply, ArmError> {
    let st = sim.read();
    Ok(Reply::status(if st.get(&p.key()).is_some_and(|r| r.is(spec.type_name)) { 204 } else { 404 }))
}

fn list(sim: &Sim, p: &ResPath, spec: &'static Spec) -> Result<Reply, ArmError> {
    let st = sim.read();
    check_registered(&st, sim.cfg(), &p.sub, spec.namespace())?;
    let parent = p.parent().expect("a collection has a parent");
    let (prefix, exact) = if parent.blocks.is_empty() && parent.rg.is_none() {
        (format!("/subscriptions/{}", p.sub).to_ascii_lowercase(), false)
    } else {
        if let Some(rg) = &parent.rg
            && st.get(&rg_key(&p.sub, rg)).is_none()
        {
            return Err(rg_not_found(rg));
        }
        let k = parent.key();
        if !parent.blocks.is_empty() && st.get(&k).is_none() {
            return Err(ArmError::not_found(
                "ParentResourceNotFound",
                format!("Can not perform requested operation on nested resource. Parent resource '{}' not found.", parent.name()),
            ));
        }
        (k, true)
    };
    let slashes = if spec.type_segments().len() > 1 { 1 } else { 3 };
    let plen = prefix.len() + 1;
    let mut found: Vec<&Resource> =
        st.under(&prefix).filter(|r| r.is(spec.type_name)).filter(|r| !exact || r.key()[plen..].matches('/').count() == slashes).collect();
    found.sort_by_key(|r| r.seq);
    let items: Vec<Value> = found.into_iter().map(|r| render(&st, sim.cfg(), r)).collect();
    Ok(Reply::json(200, &json!({"value": items})))
}

fn list_resource_groups(sim: &Sim, req: &Req, sub: &str) -> Result<Reply, ArmError> {
    check_api(req, spec::by_name(crate::types::resources::RG_TYPE))?;
    let st = sim.read();
    let prefix = format!("/subscriptions/{sub}").to_ascii_lowercase();
    let items: Vec<Value> =
        st.under(&prefix).filter(|r| r.is(crate::types::resources::RG_TYPE)).map(|r| render(&st, sim.cfg(), r)).collect();
    Ok(Reply::json(200, &json!({"value": items})))
}

fn list_rg_resources(sim: &Sim, req: &Req, sub: &str, rg: &str) -> Result<Reply, ArmError> {
    check_api(req, spec::by_name(crate::types::resources::RG_TYPE))?;
    let st = sim.read();
    let key = rg_key(sub, rg);
    if st.get(&key).is_none() {
        return Err(rg_not_found(rg));
    }
    let plen = key.len() + 1;
    let items: Vec<Value> = st
        .under(&key)
        .filter(|r| r.key()[plen..].matches('/').count() == 3)
        .map(|r| {
            let mut v = json!({"id": r.id, "name": r.name(), "type": r.type_name});
            if let Some(l) = r.location() {
                v["location"] = json!(l);
            }
            if let Some(t) = r.body.get("tags") {
                v["tags"] = t.clone();
            }
            v
        })
        .collect();
    Ok(Reply::json(200, &json!({"value": items})))
}

fn action(sim: &Sim, req: &Req, p: &ResPath) -> Result<Reply, ArmError> {
    let action = p.trailing().unwrap_or("").to_string();
    let target = p.parent().expect("an action has a target");
    let spec = spec::lookup(&target.type_key()).ok_or_else(|| unknown_type(&target))?;
    check_api(req, spec)?;
    let st = sim.read();
    check_registered(&st, sim.cfg(), &p.sub, spec.namespace())?;
    check_container(&st, &target, spec)?;
    let res = st.get(&target.key()).ok_or_else(|| resource_not_found(&target, spec))?;
    match spec.hooks.action(&st, sim.cfg(), res, &action.to_ascii_lowercase()) {
        Some(r) => Ok(Reply::json(200, &r?)),
        None => Err(ArmError::not_found(
            "InvalidResourceType",
            format!("The action '{action}' is not supported on resource type '{}'.", spec.type_name),
        )),
    }
}

fn check_name_availability(sim: &Sim, req: &Req, p: &ResPath) -> Result<Reply, ArmError> {
    let body: Value = serde_json::from_slice(&req.body).map_err(|e| ArmError::invalid_body(e.to_string()))?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    let ns = p.namespace();
    let want = body.get("type").and_then(Value::as_str).unwrap_or("");
    let spec = spec::all_sorted()
        .into_iter()
        .find(|s| {
            s.namespace().eq_ignore_ascii_case(ns) && s.global_name.is_some() && (want.is_empty() || s.type_name.eq_ignore_ascii_case(want))
        })
        .ok_or_else(|| unknown_type(p))?;
    check_api(req, spec)?;
    let st = sim.read();
    let taken = st.of_type(spec.type_name).any(|r| r.name().eq_ignore_ascii_case(name))
        || st.soft_deleted_of(spec.type_name).any(|(_, d)| d.name.eq_ignore_ascii_case(name));
    let invalid = spec.name.map(|n| n.check(name, spec.short_type()).is_err()).unwrap_or(false);
    let v = if invalid {
        json!({"nameAvailable": false, "reason": "Invalid", "message": format!("The name '{name}' is not valid.")})
    } else if taken {
        json!({"nameAvailable": false, "reason": "AlreadyExists", "message": format!("The name '{name}' is already in use.")})
    } else {
        json!({"nameAvailable": true})
    };
    Ok(Reply::json(200, &v))
}

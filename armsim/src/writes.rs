//! The write half of the engine: PUT/PATCH (validation, hooks, effects, operations) and DELETE,
//! with ARM's preconditions, locks and long-running-operation responses.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::armpath::{self, ResPath};
use crate::config::SimConfig;
use crate::engine::{check_container, check_registered, render, rendered_bytes, resource_not_found, rg_key, rg_not_found};
use crate::error::ArmError;
use crate::faults::{FaultKind, FaultProbe};
use crate::jpath;
use crate::ops;
use crate::reply::Reply;
use crate::sim::{Req, Sim};
use crate::spec::{self, DeleteStyle, Effect, Loc, Lock, PutCx, PutStyle, Spec, Verb};
use crate::state::{OpKind, OpResult, OpStatus, Operation, Prov, Resource, State};

/// Removes what clients must not set and returns the hashes of write-only values.
fn scrub(spec: &Spec, body: &mut Value) -> BTreeMap<String, String> {
    if let Some(o) = body.as_object_mut() {
        for k in ["id", "name", "type", "etag", "systemData"] {
            o.remove(k);
        }
    }
    if let Some(p) = spec.prov_path {
        jpath::remove(body, p);
    }
    for p in spec.readonly {
        jpath::remove(body, p);
    }
    let mut secrets = BTreeMap::new();
    for p in spec.secrets {
        for v in jpath::remove(body, p) {
            let raw = match &v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            secrets.insert((*p).to_string(), crate::ids::sha256_hex(raw.as_bytes()));
        }
    }
    secrets
}

/// Request body with write-only values replaced, for the journal.
pub(crate) fn redact_for_journal(type_label: &str, body: &Bytes) -> Bytes {
    let Some(spec) = spec::lookup(&type_label.to_ascii_lowercase()) else { return body.clone() };
    if spec.secrets.is_empty() {
        return body.clone();
    }
    let Ok(mut v) = serde_json::from_slice::<Value>(body) else { return body.clone() };
    let mut changed = false;
    for p in spec.secrets {
        if let Some(old) = jpath::get(&v, p) {
            let hash = crate::ids::sha256_hex(old.as_str().map(str::to_string).unwrap_or_else(|| old.to_string()).as_bytes());
            jpath::set(&mut v, p, json!(format!("<redacted sha256:{hash}>")));
            changed = true;
        }
    }
    if changed { Bytes::from(serde_json::to_vec(&v).expect("serialises")) } else { body.clone() }
}

fn canonical_id(st: &State, sim: &Sim, p: &ResPath, spec: &Spec, parent_key: Option<&str>, existing: Option<&Resource>) -> String {
    if let Some(e) = existing {
        return e.id.clone();
    }
    let sub = p.sub.to_ascii_lowercase();
    let _ = sim;
    if spec.type_name == crate::types::resources::RG_TYPE {
        return format!("/subscriptions/{sub}/resourceGroups/{}", p.name());
    }
    let segs = spec.type_segments();
    if let Some(pk) = parent_key.filter(|_| !p.is_extension()) {
        let parent = st.get(pk).expect("checked");
        return format!("{}/{}/{}", parent.id, segs.last().expect("child type"), p.name());
    }
    let scope = match (parent_key, &p.rg) {
        (Some(pk), _) => st.get(pk).expect("checked").id.clone(),
        (None, Some(rg)) => {
            st.get(&rg_key(&sub, rg)).map(|r| r.id.clone()).unwrap_or_else(|| format!("/subscriptions/{sub}/resourceGroups/{rg}"))
        }
        (None, None) => format!("/subscriptions/{sub}"),
    };
    format!("{scope}/providers/{}/{}/{}", spec.namespace(), segs.join("/"), p.name())
}

fn conflict(st: &State, spec: &Spec, op: &Operation, base: &str, id: &str) -> ArmError {
    let url = ops::status_url(base, op);
    let code = if op.conflict_code.is_empty() { spec.conflict_code } else { op.conflict_code.as_str() };
    if let Some(words) = spec.conflict_message {
        let running = st.get(&op.resource_key);
        let shown = running.filter(|r| r.prov.is_pending()).map_or("Updating", |r| r.prov.shown());
        let (running_type, name) = running.map_or(("", ""), |r| (r.type_name.as_str(), r.name()));
        return ArmError::new(409, code, words(running_type, name, shown));
    }
    ArmError::new(
        409,
        code,
        format!(
            "Another operation on this or dependent resource is in progress. Operation on '{id}' cannot proceed while operation '{}' on '{}' is running. To retrieve status of the operation use uri: {url}",
            op.id, op.resource_id
        ),
    )
}

fn lock_key(spec: &Spec, key: &str, parent_key: Option<&str>) -> String {
    match (spec.lock, parent_key) {
        (Lock::Parent, Some(pk)) => pk.to_string(),
        _ => key.to_string(),
    }
}

fn new_op_id(sim: &Sim, st: &State, key: &str) -> String {
    crate::ids::guid(sim.cfg().seed, &[key, "operation", &st.generation.to_string(), &st.ops.len().to_string()])
}

fn injected_failure(sim: &Sim, method: &str, spec: &Spec, path: &str) -> Option<Value> {
    if !sim.inner.has_faults.load(Ordering::Acquire) {
        return None;
    }
    let probe = FaultProbe { method, resource_type: spec.type_name, path };
    let rule = sim.faults().fire(&probe, &[FaultKind::FailOperation])?;
    sim.with_stats(|s| s.faults_injected += 1);
    Some(json!({
        "code": "InternalServerError",
        "message": format!("The operation failed because of an internal error (armsim fault rule {}).", rule.id),
        "details": [{"code": "OperationFailed", "message": format!("{method} {path} was failed on purpose by fault rule {}.", rule.id)}]
    }))
}

pub(crate) async fn put(sim: &Sim, req: &Req, p: &ResPath, spec: &'static Spec, api: &str, patch: bool) -> Result<Reply, ArmError> {
    let raw: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ArmError::invalid_body(format!("The request content was invalid and could not be deserialized: '{e}'.")))?
    };
    if !raw.is_object() {
        return Err(ArmError::invalid_body("The request content must be a JSON object."));
    }
    // Writes that hold their parent for a moment (federated credentials) conflict when concurrent.
    let hold = crate::types::write_hold(spec);
    let hold_key = match (&hold, p.parent()) {
        (Some(_), Some(parent)) => Some(parent.key()),
        _ => None,
    };
    if let Some(hk) = &hold_key {
        let mut busy = sim.inner.busy.lock().unwrap_or_else(|e| e.into_inner());
        if !busy.insert(hk.clone()) {
            return Err(ArmError::conflict(
                spec.conflict_code,
                format!(
                    "Too many concurrent writes to '{}'. Writes under one parent must be made one at a time.",
                    p.parent().map(|x| x.name().to_string()).unwrap_or_default()
                ),
            ));
        }
    }
    let result = put_locked(sim, req, p, spec, api, patch, raw);
    if let (Some(secs), Some(hk)) = (hold, &hold_key) {
        let ms = sim.cfg().scaled_ms(secs);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms as u64)).await;
        }
        sim.inner.busy.lock().unwrap_or_else(|e| e.into_inner()).remove(hk);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn put_locked(sim: &Sim, req: &Req, p: &ResPath, spec: &'static Spec, api: &str, patch: bool, raw: Value) -> Result<Reply, ArmError> {
    let cfg = sim.cfg();
    let now = sim.now_ms();
    let mut st = sim.write();
    if spec.type_name != crate::types::resources::RG_TYPE {
        check_registered(&st, cfg, &p.sub, spec.namespace())?;
    }
    let parent_key = check_container(&st, p, spec)?;
    if let Some(rg) = &p.rg
        && spec.type_name != crate::types::resources::RG_TYPE
        && let Some(r) = st.get(&rg_key(&p.sub, rg))
        && r.prov.is_pending()
    {
        return Err(ArmError::conflict(
            "ResourceGroupBeingDeleted",
            format!("The resource group '{}' is in deprovisioning state and cannot perform this operation.", r.name()),
        ));
    }
    let name = p.name().to_string();
    if let Some(fixed) = spec.fixed_name {
        if !name.eq_ignore_ascii_case(fixed) {
            return Err(ArmError::bad_request(
                "InvalidResourceName",
                format!("The resource name '{name}' is invalid: the only supported name for {} is '{fixed}'.", spec.type_name),
            ));
        }
    } else if let Some(rule) = spec.name {
        rule.check(&name, spec.short_type())?;
    }
    let key = p.key();
    let existing = st.get(&key).filter(|r| r.is(spec.type_name));
    check_preconditions(&st, cfg, req, existing)?;
    if patch && existing.is_none() {
        return Err(resource_not_found(p, spec));
    }
    let lk = lock_key(spec, &key, parent_key.as_deref());
    if let Some(op) = st.running_on(&lk).or_else(|| st.running_on(&key)) {
        let id = existing.map(|e| e.id.clone()).unwrap_or_else(|| key.clone());
        return Err(conflict(&st, spec, op, &req.base, &id));
    }
    let id = canonical_id(&st, sim, p, spec, parent_key.as_deref(), existing);
    let mut body = match (patch, existing) {
        (true, Some(e)) => {
            let mut b = e.body.to_value();
            jpath::merge_patch(&mut b, &raw);
            b
        }
        _ => raw.clone(),
    };
    let mut secrets = scrub(spec, &mut body);
    if let Some(e) = existing {
        for (k, v) in &e.secrets {
            secrets.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let parent = parent_key.as_deref().and_then(|k| st.get(k));
    normalise_location(spec, &mut body, existing, &id)?;
    if let Some(t) = body.get("tags")
        && !t.is_null()
        && !t.as_object().is_some_and(|o| o.values().all(Value::is_string))
    {
        return Err(ArmError::bad_request("InvalidTag", "The tags must be an object of string values."));
    }
    // A global name is held by a live object anywhere, and by a soft-deleted
    // one in another subscription (in this one, the type's hook decides:
    // recover, or refuse).
    if let Some(g) = spec.global_name
        && existing.is_none()
        && (st.of_type(spec.type_name).any(|r| r.name().eq_ignore_ascii_case(&name))
            || st.soft_deleted_of(spec.type_name).any(|(_, d)| d.name.eq_ignore_ascii_case(&name) && !d.sub.eq_ignore_ascii_case(&p.sub)))
    {
        return Err(ArmError::new(g.status, g.code, g.message.replace("{name}", &name)));
    }
    let rg_name = p.rg.as_ref().map(|rg| st.get(&rg_key(&p.sub, rg)).map(|r| r.name().to_string()).unwrap_or(rg.clone()));
    let mut cx = PutCx {
        st: &st,
        cfg,
        now_ms: now,
        id: id.clone(),
        key: key.clone(),
        name: armpath::last_segment(&id).to_string(),
        sub: p.sub.to_ascii_lowercase(),
        rg: rg_name,
        parent,
        existing,
        body,
        raw: &raw,
        effects: Vec::new(),
        duration: None,
        covers: Vec::new(),
        incarnation: st.next_incarnation(&key),
        caller: req.claims.as_ref().map(|c| c.oid.clone()).unwrap_or_default(),
    };
    spec.hooks.validate(&mut cx)?;
    let created = existing.is_none();
    let (body, effects, covers, dur_override, location) =
        (cx.body.clone(), std::mem::take(&mut cx.effects), std::mem::take(&mut cx.covers), cx.duration, cx.location());
    drop(cx);
    let verb = if created { Verb::Create } else { Verb::Update };
    let style = if created { spec.create } else { spec.update };
    let op = if style.is_lro() {
        let base = dur_override.unwrap_or(if created { spec.durations.create } else { spec.durations.update });
        let secs = spec.hooks.duration(&st, &key, verb, base);
        let op_id = new_op_id(sim, &st, &key);
        let fail = injected_failure(sim, &req.method, spec, &req.path);
        let shown = match style {
            PutStyle::Poll { state } if created => state.to_string(),
            _ if created => "Creating".to_string(),
            _ => "Updating".to_string(),
        };
        Some((
            Operation {
                id: op_id,
                sub: p.sub.to_ascii_lowercase(),
                namespace: spec.namespace().to_string(),
                location: location.clone(),
                resource_id: id.clone(),
                resource_key: key.clone(),
                kind: OpKind::Put,
                lock_key: Some(lk.clone()),
                conflict_code: spec.conflict_code.to_string(),
                start_ms: now,
                due_ms: now + cfg.scaled_ms(secs),
                end_ms: None,
                status: OpStatus::InProgress,
                error: None,
                fail,
                running_status: if created { spec.running_status.to_string() } else { "InProgress".to_string() },
                covers: Vec::new(),
                api_version: api.to_string(),
                result: OpResult::Resource,
            },
            shown,
        ))
    } else {
        None
    };
    let prov = match &op {
        Some((o, shown)) => Prov::Pending { op: o.id.clone(), shown: shown.clone() },
        None => Prov::Succeeded,
    };
    st.store(cfg, spec.type_name, &id, body, api, prov.clone(), now);
    if let Some(r) = st.resources.get_mut(&key) {
        r.secrets = secrets;
    }
    let mut covered = vec![key.clone()];
    apply_effects(&mut st, cfg, now, effects, api, &prov, &covers, &mut covered);
    let mut reply_op = None;
    if let Some((mut o, _)) = op {
        o.covers = covered;
        reply_op = Some(o.clone());
        st.add_op(o);
    }
    let res = st.get(&key).expect("just stored");
    let status_created = |s: u16| if created { s } else { 200 };
    let reply = match (style, &reply_op) {
        (PutStyle::Sync, _) | (_, None) => Reply::bytes(status_created(spec.sync_create_status), rendered_bytes(&st, cfg, res)),
        (PutStyle::Poll { .. }, _) => Reply::bytes(status_created(201), rendered_bytes(&st, cfg, res)),
        (PutStyle::AsyncOp { status, also_location }, Some(o)) => {
            let mut r = Reply::bytes(status_created(status), rendered_bytes(&st, cfg, res));
            r.push_header("azure-asyncoperation", ops::status_url(&req.base, o));
            if also_location {
                r.push_header("location", ops::result_url(&req.base, o));
            }
            ops::push_retry_after(&mut r, cfg, o, now);
            r
        }
        (PutStyle::Accepted { async_header }, Some(o)) => {
            let mut r = Reply::status(202);
            r.push_header("location", ops::result_url(&req.base, o));
            if async_header {
                r.push_header("azure-asyncoperation", ops::status_url(&req.base, o));
            }
            ops::push_retry_after(&mut r, cfg, o, now);
            r
        }
    };
    sim.after_write(&st);
    Ok(reply)
}

/// `If-Match` / `If-None-Match` against the etag GET shows (optimistic concurrency).
fn check_preconditions(st: &State, cfg: &SimConfig, req: &Req, existing: Option<&Resource>) -> Result<(), ArmError> {
    let header = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let current = existing.and_then(|r| render(st, cfg, r).get("etag").and_then(Value::as_str).map(str::to_string));
    let failed = |msg: String| Err(ArmError::new(412, "PreconditionFailed", msg));
    if let Some(want) = header("if-none-match") {
        if want == "*" && existing.is_some() {
            return failed("The resource already exists and If-None-Match: * was given.".into());
        }
        if current.as_deref() == Some(want) {
            return failed(format!("The resource's etag is {want}, which If-None-Match excludes."));
        }
    }
    if let Some(want) = header("if-match") {
        let ok = match (&current, want) {
            (Some(_), "*") => true,
            (Some(c), w) => c == w,
            (None, _) => false,
        };
        if !ok {
            return failed(format!(
                "The etag in If-Match ({want}) does not match the resource's current etag ({}).",
                current.as_deref().unwrap_or("none: the resource does not exist")
            ));
        }
    }
    Ok(())
}

fn normalise_location(spec: &Spec, body: &mut Value, existing: Option<&Resource>, id: &str) -> Result<(), ArmError> {
    match spec.loc {
        Loc::None => {
            if let Some(o) = body.as_object_mut() {
                o.remove("location");
            }
        }
        Loc::Global => {
            let l = body.get("location").and_then(Value::as_str).unwrap_or("");
            if !l.eq_ignore_ascii_case("global") {
                return Err(ArmError::bad_request(
                    "LocationNotAvailableForResourceType",
                    format!(
                        "The provided location '{l}' is not available for resource type '{}'. List of available regions for the resource type is 'global'.",
                        spec.type_name
                    ),
                ));
            }
            body["location"] = json!("global");
        }
        Loc::Region => {
            let Some(l) = body.get("location").and_then(Value::as_str) else {
                return Err(ArmError::bad_request("LocationRequired", "The location property is required for this definition."));
            };
            let norm = crate::regions::normalise(l).ok_or_else(|| {
                ArmError::bad_request(
                    "LocationNotAvailableForResourceType",
                    format!("The provided location '{l}' is not available for resource type '{}'. List of available regions for the resource type is '{}'.", spec.type_name, crate::regions::NAMES.join(",")),
                )
            })?;
            if let Some(old) = existing.and_then(|e| e.location())
                && old != norm
            {
                if spec.type_name == crate::types::resources::RG_TYPE {
                    return Err(ArmError::conflict(
                        "InvalidResourceGroupLocation",
                        format!("Invalid resource group location '{norm}'. The Resource group already exists in location '{old}'."),
                    ));
                }
                return Err(ArmError::conflict(
                    "InvalidResourceLocation",
                    format!(
                        "The resource '{id}' already exists in location '{old}'. A resource with the same name cannot be created in location '{norm}'. Please select a new resource name."
                    ),
                ));
            }
            body["location"] = json!(norm);
        }
    }
    Ok(())
}

/// Applies planned side effects. Children written through their parent follow its operation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_effects(
    st: &mut State,
    cfg: &SimConfig,
    now: i64,
    effects: Vec<Effect>,
    api: &str,
    prov: &Prov,
    follow: &[String],
    covered: &mut Vec<String>,
) {
    for e in effects {
        match e {
            Effect::Upsert { type_name, id, body } => {
                let spec = spec::by_name(type_name);
                let av = if spec.api_versions.contains(&api) { api } else { spec.api_versions[0] };
                let key = armpath::key_of(&id);
                let p = if follow.contains(&key) { prov.clone() } else { Prov::Succeeded };
                if p.is_pending() {
                    covered.push(key);
                }
                st.store(cfg, type_name, &id, body, av, p, now);
            }
            other => st.apply(cfg, now, other),
        }
    }
}

pub(crate) fn delete(sim: &Sim, req: &Req, p: &ResPath, spec: &'static Spec, api: &str) -> Result<Reply, ArmError> {
    let cfg = sim.cfg();
    let now = sim.now_ms();
    let mut st = sim.write();
    let is_rg = spec.type_name == crate::types::resources::RG_TYPE;
    if !is_rg {
        check_registered(&st, cfg, &p.sub, spec.namespace())?;
        if let Some(rg) = &p.rg
            && st.get(&rg_key(&p.sub, rg)).is_none()
        {
            return Err(rg_not_found(rg));
        }
    }
    let key = p.key();
    let Some(res) = st.get(&key).filter(|r| r.is(spec.type_name)) else {
        if is_rg {
            return Err(rg_not_found(p.name()));
        }
        return Ok(Reply::status(204));
    };
    let id = res.id.clone();
    let parent_key = p.parent().filter(|pp| !pp.blocks.is_empty() && !p.is_extension()).map(|pp| pp.key());
    // A second DELETE while one runs answers with the same operation.
    if let Prov::Pending { op, .. } = &res.prov
        && let Some(o) = st.ops.get(op).filter(|o| o.kind == OpKind::Delete || o.kind == OpKind::RgDelete)
    {
        let o = o.clone();
        return Ok(accepted_delete(spec, &o, req, cfg, now));
    }
    let lk = lock_key(spec, &key, parent_key.as_deref());
    if let Some(op) = st.running_on(&lk).or_else(|| st.running_on(&key)) {
        return Err(conflict(&st, spec, op, &req.base, &id));
    }
    check_preconditions(&st, cfg, req, Some(res))?;
    spec.hooks.check_delete(&st, res)?;
    if req.query.get("force").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        && let Some(r) = st.get_mut(&key)
    {
        r.sim.insert("force_delete".into(), json!(true));
    }
    let style = if is_rg { DeleteStyle::Accepted { async_header: false, done: 200 } } else { spec.delete };
    match style {
        DeleteStyle::Sync => {
            let body = spec.delete_echoes_body.then(|| rendered_bytes(&st, cfg, st.get(&key).expect("exists")));
            st.remove_tree(cfg, now, &key);
            sim.after_write(&st);
            Ok(match body {
                Some(b) => Reply::bytes(200, b),
                None => Reply::status(200),
            })
        }
        DeleteStyle::Accepted { done, .. } => {
            let secs = if is_rg {
                crate::types::resources::cascade_seconds(&st, &key)
            } else {
                spec.hooks.duration(&st, &key, Verb::Delete, spec.durations.delete)
            };
            let location = st.get(&key).and_then(|r| r.location().map(str::to_string)).unwrap_or_else(|| {
                parent_key.as_deref().and_then(|k| st.get(k)).and_then(|r| r.location().map(str::to_string)).unwrap_or("global".into())
            });
            let op = Operation {
                id: new_op_id(sim, &st, &key),
                sub: p.sub.to_ascii_lowercase(),
                namespace: spec.namespace().to_string(),
                location,
                resource_id: id,
                resource_key: key.clone(),
                kind: if is_rg { OpKind::RgDelete } else { OpKind::Delete },
                lock_key: Some(lk),
                conflict_code: spec.conflict_code.to_string(),
                start_ms: now,
                due_ms: now + cfg.scaled_ms(secs),
                end_ms: None,
                status: OpStatus::InProgress,
                error: None,
                fail: injected_failure(sim, "DELETE", spec, &req.path),
                running_status: "InProgress".into(),
                covers: vec![key.clone()],
                api_version: api.to_string(),
                result: OpResult::Status(done),
            };
            if let Some(r) = st.get_mut(&key) {
                r.prov = Prov::Pending { op: op.id.clone(), shown: "Deleting".into() };
            }
            let reply = accepted_delete(spec, &op, req, cfg, now);
            st.add_op(op);
            sim.after_write(&st);
            Ok(reply)
        }
    }
}

fn accepted_delete(spec: &Spec, op: &Operation, req: &Req, cfg: &SimConfig, now: i64) -> Reply {
    let mut r = Reply::status(202);
    r.push_header("location", ops::result_url(&req.base, op));
    if let DeleteStyle::Accepted { async_header: true, .. } = spec.delete
        && op.kind != OpKind::RgDelete
    {
        r.push_header("azure-asyncoperation", ops::status_url(&req.base, op));
    }
    ops::push_retry_after(&mut r, cfg, op, now);
    r
}

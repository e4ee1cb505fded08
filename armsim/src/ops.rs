//! Long-running operations: completion as simulated time passes, and the two polling resources
//! (`Azure-AsyncOperation` status, always 200; `Location` result, 202 until done).

use std::cmp::Reverse;

use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::reply::{Reply, retry_after};
use crate::sim::{Req, Sim};
use crate::state::{OpKind, OpResult, OpStatus, Operation, Prov, RegState, State};

/// The RP's usual polling hint (Network sends 10 s), before time-scale.
const RETRY_AFTER_SECS: f64 = 10.0;

pub(crate) fn status_url(base: &str, op: &Operation) -> String {
    format!(
        "{base}/subscriptions/{}/providers/{}/locations/{}/operations/{}?api-version={}",
        op.sub, op.namespace, op.location, op.id, op.api_version
    )
}

pub(crate) fn result_url(base: &str, op: &Operation) -> String {
    if op.kind == OpKind::RgDelete {
        return format!("{base}/subscriptions/{}/operationresults/{}?api-version={}", op.sub, op.id, op.api_version);
    }
    format!(
        "{base}/subscriptions/{}/providers/{}/locations/{}/operationResults/{}?api-version={}",
        op.sub, op.namespace, op.location, op.id, op.api_version
    )
}

/// Suggests polling again after the RP's usual interval (scaled) or when the operation ends, if sooner.
pub(crate) fn push_retry_after(r: &mut Reply, cfg: &SimConfig, op: &Operation, now: i64) {
    let hint = cfg.scaled_ms(RETRY_AFTER_SECS);
    let remaining = (op.due_ms - now).max(0);
    retry_after(r, hint.min(remaining.max(1)));
}

/// Completes everything due at `now`.
pub(crate) fn advance(st: &mut State, cfg: &SimConfig, now: i64) {
    while let Some(Reverse((due, id))) = st.due.peek().cloned() {
        if due > now {
            break;
        }
        st.due.pop();
        complete(st, cfg, &id, due);
    }
    let mut done = Vec::new();
    for (sub, m) in &st.registrations {
        for (ns, s) in m {
            if let RegState::Registering { due_ms } = s
                && *due_ms <= now
            {
                done.push((sub.clone(), ns.clone()));
            }
        }
    }
    for (sub, ns) in done {
        st.set_registration(&sub, &ns, RegState::Registered);
    }
    let expired: Vec<String> = st.soft_deleted.iter().filter(|(_, d)| d.purge_ms <= now).map(|(k, _)| k.clone()).collect();
    for k in expired {
        st.soft_deleted.remove(&k);
        st.generation += 1;
    }
}

fn complete(st: &mut State, cfg: &SimConfig, id: &str, at: i64) {
    let Some(op) = st.ops.get(id).cloned() else { return };
    if op.status != OpStatus::InProgress {
        return;
    }
    st.running.remove(id);
    st.generation += 1;
    let failed = op.fail.clone();
    let status = if failed.is_some() { OpStatus::Failed } else { OpStatus::Succeeded };
    match &op.kind {
        OpKind::Put => {
            for k in &op.covers {
                if let Some(r) = st.resources.get_mut(k)
                    && matches!(&r.prov, Prov::Pending { op: o, .. } if o == id)
                {
                    r.prov = if failed.is_some() { Prov::Failed } else { Prov::Succeeded };
                    r.updated_ms = at;
                    *r.cache.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
                }
            }
        }
        OpKind::Delete | OpKind::RgDelete => {
            if failed.is_some() {
                if let Some(r) = st.resources.get_mut(&op.resource_key) {
                    r.prov = Prov::Failed;
                }
            } else {
                st.remove_tree(cfg, at, &op.resource_key);
            }
        }
        OpKind::Purge { key } => {
            if failed.is_none() {
                st.soft_deleted.remove(key);
            } else if let Some(d) = st.soft_deleted.get_mut(key) {
                d.purging = false;
            }
        }
        OpKind::Register { ns } => {
            st.set_registration(&op.sub, ns, RegState::Registered);
        }
    }
    if let Some(o) = st.ops.get_mut(id) {
        o.status = status;
        o.end_ms = Some(at);
        o.error = failed;
        // Only pollers need a finished operation; what it locked and covered no longer matters.
        o.lock_key = None;
        o.covers = Vec::new();
        o.fail = None;
    }
}

fn op_body(op: &Operation) -> Value {
    let status = match op.status {
        OpStatus::InProgress => op.running_status.clone(),
        s => serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
    };
    let mut v = json!({
        "id": format!("/subscriptions/{}/providers/{}/locations/{}/operations/{}", op.sub, op.namespace, op.location, op.id),
        "name": op.id,
        "status": status,
        "startTime": rfc3339(op.start_ms),
    });
    if let Some(end) = op.end_ms {
        v["endTime"] = json!(rfc3339(end));
        v["percentComplete"] = json!(100);
    }
    if let Some(e) = &op.error {
        v["error"] = e.clone();
    }
    v
}

/// GET on an operation's status (`result == false`) or result (`true`) URL.
pub(crate) fn poll(sim: &Sim, req: &Req, sub: &str, op_id: &str, result: bool) -> Result<Reply, ArmError> {
    let st = sim.read();
    let op = st
        .ops
        .get(op_id)
        .filter(|o| o.sub.eq_ignore_ascii_case(sub))
        .ok_or_else(|| ArmError::not_found("OperationNotFound", format!("The operation '{op_id}' could not be found.")))?;
    let now = sim.now_ms();
    if !result {
        let mut r = Reply::json(200, &op_body(op));
        if op.status == OpStatus::InProgress {
            push_retry_after(&mut r, sim.cfg(), op, now);
        }
        return Ok(r);
    }
    match op.status {
        OpStatus::InProgress => {
            let mut r = Reply::status(202);
            r.push_header("location", result_url(&req.base, op));
            push_retry_after(&mut r, sim.cfg(), op, now);
            Ok(r)
        }
        OpStatus::Failed | OpStatus::Canceled => {
            let e = op.error.clone().unwrap_or_else(|| json!({"code": "Canceled", "message": "The operation was canceled."}));
            Ok(Reply::json(500, &json!({"error": e})))
        }
        OpStatus::Succeeded => match op.result {
            OpResult::Status(s) => Ok(Reply::status(s)),
            OpResult::Resource => match st.get(&op.resource_key) {
                Some(res) => Ok(Reply::bytes(200, crate::engine::rendered_bytes(&st, sim.cfg(), res))),
                None => Ok(Reply::status(204)),
            },
        },
    }
}

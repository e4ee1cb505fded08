//! The `/_sim/` admin API for tests: resources (with out-of-band PATCH/DELETE), journal, stats,
//! faults, reset, durations and hashes of write-only values. No auth; loopback callers only.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ArmError;
use crate::faults::FaultRule;
use crate::reply::Reply;
use crate::sim::{ConnHandle, Sim};

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/health", get(health))
        .route("/resources", get(list_resources))
        .route("/resources/{*id}", get(get_resource).patch(patch_resource).delete(delete_resource))
        .route("/secrets/{*id}", get(secrets))
        .route("/journal", get(journal).delete(clear_journal))
        .route("/stats", get(stats))
        .route("/faults", get(list_faults).post(add_faults).delete(clear_faults))
        .route("/faults/{id}", axum::routing::delete(delete_fault))
        .route("/reset", post(reset))
        .route("/durations", get(durations))
        .route("/check/dns", get(check_dns))
        .route("/check/authz", get(check_authz))
        .route("/check/egress", get(check_egress))
        .layer(middleware::from_fn(loopback_only))
}

async fn loopback_only(req: Request, next: Next) -> Response {
    if let Some(c) = req.extensions().get::<ConnHandle>()
        && !c.peer.ip().is_loopback()
    {
        return Reply::json(
            403,
            &json!({"error": {"code": "Forbidden", "message": "The armsim admin API only answers loopback clients."}}),
        )
        .into_response();
    }
    next.run(req).await
}

fn ok(v: Value) -> Response {
    Reply::json(200, &v).into_response()
}

fn err(status: u16, code: &str, msg: impl Into<String>) -> Response {
    Reply::from(ArmError::new(status, code, msg)).into_response()
}

async fn health() -> Response {
    ok(json!({"status": "ok"}))
}

#[derive(Deserialize)]
struct TypeFilter {
    #[serde(rename = "type")]
    type_name: Option<String>,
}

fn view(st: &crate::state::State, sim: &Sim, r: &crate::state::Resource) -> Value {
    json!({
        "id": r.id,
        "type": r.type_name,
        "api_version": r.api_version,
        "body": crate::engine::render(st, sim.cfg(), r),
    })
}

async fn list_resources(State(sim): State<Sim>, Query(f): Query<TypeFilter>) -> Response {
    sim.tick();
    let st = sim.read();
    let v: Vec<Value> =
        st.resources.values().filter(|r| f.type_name.as_ref().is_none_or(|t| r.is(t))).map(|r| view(&st, &sim, r)).collect();
    ok(json!({"value": v}))
}

fn key(id: &str) -> String {
    crate::armpath::key_of(&format!("/{}", id.trim_start_matches('/')))
}

async fn get_resource(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    sim.tick();
    let st = sim.read();
    match st.get(&key(&id)) {
        Some(r) => {
            let mut v = view(&st, &sim, r);
            v["provisioning"] = serde_json::to_value(&r.prov).unwrap_or(Value::Null);
            v["secrets"] = secret_view(r);
            ok(v)
        }
        None => err(404, "ResourceNotFound", format!("/{id} is not stored")),
    }
}

fn secret_view(r: &crate::state::Resource) -> Value {
    Value::Object(r.secrets.iter().map(|(k, v)| (k.clone(), json!({"sha256": v}))).collect())
}

async fn secrets(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let st = sim.read();
    match st.get(&key(&id)) {
        Some(r) => ok(json!({"id": r.id, "secrets": secret_view(r)})),
        None => err(404, "ResourceNotFound", format!("/{id} is not stored")),
    }
}

async fn patch_resource(State(sim): State<Sim>, Path(id): Path<String>, body: Bytes) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return err(400, "InvalidRequestContent", format!("merge patch is not JSON: {e}")),
    };
    let k = key(&id);
    let mut st = sim.write();
    let Some(r) = st.get_mut(&k) else { return err(404, "ResourceNotFound", format!("/{id} is not stored")) };
    r.body.modify(|b| crate::jpath::merge_patch(b, &patch));
    // An out-of-band change still changes the etag, as a portal edit would.
    r.etag = crate::ids::guid(sim.cfg().seed, &[&k, "oob-etag", &r.updated_ms.to_string(), &body.len().to_string()]);
    st.reindex(&k);
    st.generation += 1;
    sim.after_write(&st);
    let r = st.get(&k).expect("exists");
    ok(view(&st, &sim, r))
}

async fn delete_resource(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let k = key(&id);
    let mut st = sim.write();
    if st.get(&k).is_none() {
        return err(404, "ResourceNotFound", format!("/{id} is not stored"));
    }
    let removed = st.remove_tree(sim.cfg(), sim.now_ms(), &k);
    sim.after_write(&st);
    ok(json!({"deleted": removed}))
}

#[derive(Deserialize)]
struct Since {
    since: Option<u64>,
}

async fn journal(State(sim): State<Sim>, Query(s): Query<Since>) -> Response {
    let j = sim.inner.journal.lock().unwrap_or_else(|e| e.into_inner());
    let v: Vec<Value> = j.since(s.since.unwrap_or(0)).map(|e| e.to_json()).collect();
    ok(json!({"value": v, "last_seq": j.last_seq()}))
}

async fn clear_journal(State(sim): State<Sim>) -> Response {
    sim.inner.journal.lock().unwrap_or_else(|e| e.into_inner()).clear();
    ok(json!({"cleared": true}))
}

async fn stats(State(sim): State<Sim>) -> Response {
    ok(sim.with_stats(|s| s.to_json()))
}

fn faults_view(sim: &Sim) -> Value {
    json!({"value": sim.faults().list()})
}

async fn list_faults(State(sim): State<Sim>) -> Response {
    ok(faults_view(&sim))
}

async fn add_faults(State(sim): State<Sim>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return err(400, "InvalidRequestContent", format!("fault rules are not JSON: {e}")),
    };
    let rules: Vec<FaultRule> = match if v.is_array() { serde_json::from_value(v) } else { serde_json::from_value(v).map(|r| vec![r]) } {
        Ok(r) => r,
        Err(e) => return err(400, "InvalidRequestContent", format!("not a fault rule: {e}")),
    };
    let mut ids = Vec::new();
    let mut f = sim.faults();
    for r in rules {
        match f.add(r) {
            Ok(id) => ids.push(id),
            Err(e) => return err(400, "InvalidFaultRule", e),
        }
    }
    sim.inner.has_faults.store(!f.is_empty(), std::sync::atomic::Ordering::Release);
    ok(json!({"ids": ids}))
}

async fn clear_faults(State(sim): State<Sim>) -> Response {
    sim.faults().clear();
    sim.inner.has_faults.store(false, std::sync::atomic::Ordering::Release);
    ok(json!({"cleared": true}))
}

async fn delete_fault(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let mut f = sim.faults();
    if f.remove(&id) {
        sim.inner.has_faults.store(!f.is_empty(), std::sync::atomic::Ordering::Release);
        ok(json!({"deleted": id}))
    } else {
        err(404, "FaultNotFound", format!("no fault rule {id}"))
    }
}

async fn reset(State(sim): State<Sim>) -> Response {
    sim.reset();
    if let Err(e) = sim.flush() {
        return err(500, "PersistenceFailed", e.to_string());
    }
    ok(json!({"reset": true}))
}

#[derive(Deserialize)]
struct DnsQuery {
    from: String,
    name: String,
}

/// What `name` resolves to from the VNet `from`.
async fn check_dns(State(sim): State<Sim>, Query(q): Query<DnsQuery>) -> Response {
    sim.tick();
    match crate::check::dns(&sim.read(), &q.from, &q.name) {
        Ok(v) => ok(v),
        Err(e) => Reply::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct EgressQuery {
    from: String,
    to: String,
    port: u16,
    protocol: Option<String>,
}

/// Whether a flow from a subnet to a host or address leaves the estate.
async fn check_egress(State(sim): State<Sim>, Query(q): Query<EgressQuery>) -> Response {
    sim.tick();
    let protocol = q.protocol.unwrap_or_else(|| "TCP".into()).to_ascii_uppercase();
    if protocol != "TCP" && protocol != "UDP" {
        return err(400, "InvalidRequest", format!("protocol must be TCP or UDP, not {protocol}."));
    }
    match crate::check::egress(&sim.read(), &q.from, &q.to, q.port, &protocol) {
        Ok(v) => ok(v),
        Err(e) => Reply::from(e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthzQuery {
    principal: String,
    scope: String,
    action: Option<String>,
    data_action: Option<String>,
}

/// Whether a principal may perform an action (or a data action) at a scope.
async fn check_authz(State(sim): State<Sim>, Query(q): Query<AuthzQuery>) -> Response {
    sim.tick();
    let (action, data) = match (q.action, q.data_action) {
        (Some(a), None) => (a, false),
        (None, Some(a)) => (a, true),
        _ => return err(400, "InvalidRequest", "Give exactly one of action= or dataAction=."),
    };
    ok(crate::check::authz(&sim.read(), &q.principal, &action, data, &q.scope))
}

async fn durations(State(sim): State<Sim>) -> Response {
    let cfg = sim.cfg();
    let mut types = serde_json::Map::new();
    for s in crate::spec::all_sorted() {
        let lro = |style: crate::spec::PutStyle| match style {
            crate::spec::PutStyle::Sync => "sync",
            crate::spec::PutStyle::AsyncOp { .. } => "azure-async-operation",
            crate::spec::PutStyle::Accepted { .. } => "location",
            crate::spec::PutStyle::Poll { .. } => "provisioning-state",
        };
        let d = s.durations;
        let eff = |secs: f64, lro: bool| if lro { cfg.scaled_ms(secs) } else { 0 };
        let del_lro = !matches!(s.delete, crate::spec::DeleteStyle::Sync);
        types.insert(
            s.type_name.to_string(),
            json!({
                "create_ms": eff(d.create, s.create.is_lro()),
                "update_ms": eff(d.update, s.update.is_lro()),
                "delete_ms": eff(d.delete, del_lro),
                "base_create_s": d.create,
                "base_update_s": d.update,
                "base_delete_s": d.delete,
                "create_style": lro(s.create),
                "update_style": lro(s.update),
                "delete_style": if del_lro { "location" } else { "sync" },
            }),
        );
    }
    ok(json!({
        "time_scale": cfg.time_scale,
        "notes": "create/update/delete_ms are in effect (scaled; 0 for synchronous styles). A policy or rule collection group attached to a firewall takes the firewall's update time; a resource-group delete takes 10 s plus its slowest resource's delete.",
        "types": types,
    }))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn only_loopback_peers_reach_the_admin_api() {
        let dir = tempfile::tempdir().unwrap();
        let sim = Sim::new(crate::SimConfig { state_dir: dir.path().into(), ..Default::default() }).unwrap();
        let app = crate::app(sim);
        let call = |peer: &str| {
            let mut req = axum::http::Request::get("/_sim/health").body(Body::empty()).unwrap();
            req.extensions_mut().insert(ConnHandle { peer: peer.parse().unwrap(), reset: Default::default() });
            app.clone().oneshot(req)
        };
        assert_eq!(call("127.0.0.1:5000").await.unwrap().status(), 200);
        assert_eq!(call("[::1]:5000").await.unwrap().status(), 200);
        assert_eq!(call("10.1.2.3:5000").await.unwrap().status(), 403);
    }
}

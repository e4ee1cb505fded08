//! Reading the spoke back (one GET per owned object; the spoke→hub peering
//! comes inside the VNet) and importing it from its VNet id.

use crate::resources::common::ArmDiagnostics as _;
use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::apply::{Bodies, SpokeIds, SpokeSpec, computed_from, spec_from};
use super::{NODES_SUBNET, SpokeNames, default_timeouts};
use crate::resources::common::{self, Azure};
use crate::resources::network::{read_space, read_subnets, read_tags, same, tag_drift};
use trench_arm::reconcile::matches;
use trench_arm::{ArmError, Op, ResourceId};
use trench_plugin::framework::{Ctx, Diagnostics, StateResult};
use trench_plugin::value::{Value, to_value};

async fn fetch(azure: &Azure, op: &Op, i: &SpokeIds) -> Result<Bodies, ArmError> {
    let arm = &*azure.arm;
    let ids = [i.rg_id(), i.vnet_id(), i.rt_id(), i.hub_peering_id()];
    let (rg, vnet, rt, hub_peering) = tokio::join!(arm.get(op, &ids[0]), arm.get(op, &ids[1]), arm.get(op, &ids[2]), arm.get(op, &ids[3]));
    let vnet = vnet?;
    let spoke_peering = vnet.as_ref().and_then(|v| {
        v.pointer("/properties/virtualNetworkPeerings")?
            .as_array()?
            .iter()
            .find(|p| p.get("name").and_then(Json::as_str).is_some_and(|n| n.eq_ignore_ascii_case(&i.names.spoke_to_hub)))
            .cloned()
    });
    Ok(Bodies { rg: rg?, vnet, rt: rt?, hub_peering: hub_peering?, spoke_peering })
}

fn peering_drift(what: String, p: &Option<Json>, remote: &ResourceId, out: &mut Vec<String>) {
    match p {
        None => out.push(format!("{what} is missing")),
        Some(p) => {
            if !same(p.pointer("/properties/remoteVirtualNetwork/id").and_then(Json::as_str), Some(&remote.to_string())) {
                out.push(format!("{what}: points at another network"));
            }
            for flag in ["allowVirtualNetworkAccess", "allowForwardedTraffic"] {
                if p.pointer(&format!("/properties/{flag}")).and_then(Json::as_bool) != Some(true) {
                    out.push(format!("{what}: {flag} is off"));
                }
            }
            if let Some(s) =
                p.pointer("/properties/peeringSyncLevel").and_then(Json::as_str).filter(|s| !s.eq_ignore_ascii_case("FullyInSync"))
            {
                out.push(format!("{what}: address spaces out of sync ({s})"));
            }
            if let Some(s) = p.pointer("/properties/peeringState").and_then(Json::as_str).filter(|s| !s.eq_ignore_ascii_case("Connected")) {
                out.push(format!("{what}: {s}"));
            }
        }
    }
}

fn drift(spec: &SpokeSpec, b: &Bodies) -> Vec<String> {
    let i = &spec.ids;
    let mut out = Vec::new();
    for (body, id) in [(&b.rg, i.rg_id()), (&b.vnet, i.vnet_id()), (&b.rt, i.rt_id())] {
        match body {
            None => out.push(format!("{} is missing", id.display())),
            Some(j) => out.extend(tag_drift(&id.display(), j, &spec.tags)),
        }
    }
    if let Some(rt) = &b.rt {
        let want = spec.rt_body(spec.location.as_deref().unwrap_or(""));
        if !matches(&want["properties"], &rt["properties"]) {
            out.push(format!(
                "{}: routes differ (want only 0.0.0.0/0 → VirtualAppliance {}, BGP propagation off)",
                i.rt_id().display(),
                spec.firewall_private_ip
            ));
        }
    }
    peering_drift(i.spoke_peering_id().display(), &b.spoke_peering, &i.hub, &mut out);
    peering_drift(i.hub_peering_id().display(), &b.hub_peering, &i.vnet_id(), &mut out);
    out
}

/// State for what was observed; inputs Azure can express are read back.
fn state_for(prior: &Value, spec: &SpokeSpec, b: &Bodies) -> Result<Value, Diagnostics> {
    let mut state = prior.clone();
    if let (Some(v), Value::Object(m)) = (&b.vnet, &mut state) {
        let subnets = read_subnets(v);
        let prefixes: BTreeMap<String, String> = subnets.iter().map(|(k, s)| (k.clone(), s.prefix.clone())).collect();
        let rt = spec.ids.rt_id().to_string();
        let mut routed: Vec<String> =
            subnets.iter().filter(|(_, s)| same(s.route_table.as_deref(), Some(&rt))).map(|(k, _)| k.clone()).collect();
        routed.sort();
        let space = read_space(v);
        let set_if_changed = |m: &mut BTreeMap<String, Value>, k: &str, new: Value, set_like: bool| {
            let old = m.get(k).cloned().unwrap_or(Value::Null);
            let same = match (&old, &new) {
                (Value::List(a), Value::List(b)) if set_like => a.len() == b.len() && a.iter().all(|x| b.contains(x)),
                _ => old == new,
            };
            if !same {
                m.insert(k.to_owned(), new);
            }
        };
        set_if_changed(m, "address_space", to_value(&space)?, true);
        set_if_changed(m, "subnets", to_value(&prefixes)?, false);
        set_if_changed(m, "route_table_subnets", to_value(&routed)?, true);
        if let Some(loc) = v.get("location").and_then(Json::as_str)
            && !m.get("location").and_then(Value::as_str).is_some_and(|l| l.eq_ignore_ascii_case(loc))
        {
            m.insert("location".into(), Value::string(loc));
        }
        if let Some(ip) = b.rt.as_ref().and_then(|r| r.pointer("/properties/routes/0/properties/nextHopIpAddress")).and_then(Json::as_str) {
            let only_default =
                b.rt.as_ref().and_then(|r| r.pointer("/properties/routes")).and_then(Json::as_array).is_some_and(|r| r.len() == 1);
            if only_default {
                set_if_changed(m, "firewall_private_ip", Value::string(ip), false);
            }
        }
    }
    common::patch(&mut state, &computed_from(spec, b, drift(spec, b)))?;
    Ok(state)
}

pub(super) async fn read(ctx: &Ctx, state: Value, private: Vec<u8>) -> StateResult {
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(state, d),
    };
    let spec = match spec_from(&azure.subscription, &azure.default_tags, &state) {
        Ok(s) => s,
        Err(d) => return StateResult::failed(state, d),
    };
    let t = common::timeouts(&state, default_timeouts()).unwrap_or(default_timeouts());
    let op = common::op(ctx, "reading", t.read);
    let b = match fetch(&azure, &op, &spec.ids).await {
        Ok(b) => b,
        Err(e) => return StateResult::failed(state, e.diagnostics()),
    };
    if b.rg.is_none() {
        return StateResult::ok(Value::Null);
    }
    match state_for(&state, &spec, &b) {
        Ok(s) => StateResult { state: s, private, diagnostics: Diagnostics::new() },
        Err(d) => StateResult::failed(state, d),
    }
}

pub(super) async fn import(ctx: &Ctx, id: &str) -> StateResult {
    let fail = |s: &str, d: String| StateResult::failed(Value::Null, Diagnostics::error(s, d));
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(Value::Null, d),
    };
    let vnet_id = match ResourceId::parse(id) {
        Ok(v) if v.resource_type().eq_ignore_ascii_case("Microsoft.Network/virtualNetworks") => v,
        Ok(v) => {
            return fail("Wrong import id", format!("trench_spoke is imported by its spoke VNet id; {id} is a {}.", v.resource_type()));
        }
        Err(e) => return fail("Invalid import id", e.to_string()),
    };
    let op = common::op(ctx, "importing", default_timeouts().read);
    let vnet = match azure.arm.get(&op, &vnet_id).await {
        Ok(Some(v)) => v,
        Ok(None) => return fail("Spoke not found", format!("{} does not exist.", vnet_id.display())),
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    let tags = read_tags(&vnet);
    let vname = vnet_id.name().to_owned();
    // trench-<name>-vnet-<env>
    let parts: Vec<&str> = vname.split('-').collect();
    let env = tags.get("environment").cloned().or_else(|| parts.last().map(|s| (*s).to_owned())).unwrap_or_default();
    let svc = if parts.len() == 4 && parts[0] == "trench" && parts[2] == "vnet" { parts[1].to_owned() } else { "aks".into() };
    // The peering whose remote is not us leads to the hub.
    let peerings = vnet.pointer("/properties/virtualNetworkPeerings").and_then(Json::as_array).cloned().unwrap_or_default();
    let Some(spoke_peering) = peerings.first() else {
        return fail("No hub peering", format!("{} has no peering; it is not a trench spoke.", vnet_id.display()));
    };
    let Some(hub) =
        spoke_peering.pointer("/properties/remoteVirtualNetwork/id").and_then(Json::as_str).and_then(|h| ResourceId::parse(h).ok())
    else {
        return fail("No hub peering", "The peering names no remote network.".into());
    };
    let subnets = read_subnets(&vnet);
    let rt_id =
        subnets.get(NODES_SUBNET).and_then(|s| s.route_table.clone()).or_else(|| subnets.values().find_map(|s| s.route_table.clone()));
    let rt_name = rt_id
        .as_deref()
        .and_then(|r| ResourceId::parse(r).ok())
        .map(|r| r.name().to_owned())
        .unwrap_or_else(|| format!("rt-{svc}-nodes-{env}"));
    let hub_vnet = match azure.arm.get(&op, &hub).await {
        Ok(h) => h,
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    let hub_peering_name = hub_vnet
        .as_ref()
        .and_then(|h| h.pointer("/properties/virtualNetworkPeerings")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .find(|p| same(p.pointer("/properties/remoteVirtualNetwork/id").and_then(Json::as_str), Some(&vnet_id.to_string())))
        .and_then(|p| p.get("name").and_then(Json::as_str).map(str::to_owned))
        .unwrap_or_else(|| format!("trench-hub-to-{svc}-{env}"));
    let names = SpokeNames {
        resource_group: vnet_id.resource_group.clone().unwrap_or_default(),
        vnet: vname.clone(),
        route_table: rt_name,
        hub_to_spoke: hub_peering_name,
        spoke_to_hub: spoke_peering.get("name").and_then(Json::as_str).unwrap_or("").to_owned(),
    };
    let user_tags = common::user_tags(&tags, &azure.default_tags, &env);
    let mut skeleton: BTreeMap<String, Value> = super::schema().block.attributes.iter().map(|a| (a.name.clone(), Value::Null)).collect();
    skeleton.insert("timeouts".into(), Value::Null);
    skeleton.insert("environment".into(), Value::string(&env));
    skeleton.insert("name".into(), Value::string(&svc));
    skeleton.insert("hub_id".into(), Value::string(hub.to_string()));
    skeleton.insert("resource_group_name".into(), Value::string(&names.resource_group));
    skeleton.insert("vnet_name".into(), Value::string(&names.vnet));
    skeleton.insert("route_table_name".into(), Value::string(&names.route_table));
    skeleton.insert("firewall_private_ip".into(), Value::string(""));
    skeleton.insert("address_space".into(), Value::List(Vec::new()));
    if let Some(h) = &hub_vnet {
        skeleton.insert("hub_address_space".into(), Value::List(read_space(h).into_iter().map(Value::String).collect()));
    }
    if !user_tags.is_empty() {
        skeleton.insert("tags".into(), Value::Map(user_tags.iter().map(|(k, v)| (k.clone(), Value::string(v))).collect()));
    }
    let mut state = Value::Object(skeleton);
    let ids = SpokeIds { subscription: vnet_id.subscription.clone(), names, hub };
    let b = match fetch(&azure, &op, &ids).await {
        Ok(b) => b,
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    // Inputs from what exists, then the usual read.
    if let Value::Object(m) = &mut state {
        m.insert("address_space".into(), Value::List(read_space(&vnet).into_iter().map(Value::String).collect()));
        m.insert("subnets".into(), Value::Map(subnets.iter().map(|(k, s)| (k.clone(), Value::string(&s.prefix))).collect()));
        m.insert("route_table_subnets".into(), Value::List(Vec::new()));
    }
    let spec = match spec_from(&azure.subscription, &azure.default_tags, &state) {
        Ok(mut s) => {
            s.ids = ids;
            s.location = vnet.get("location").and_then(Json::as_str).map(str::to_owned);
            s.firewall_private_ip =
                b.rt.as_ref()
                    .and_then(|r| r.pointer("/properties/routes/0/properties/nextHopIpAddress"))
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_owned();
            s
        }
        Err(d) => return StateResult::failed(Value::Null, d),
    };
    match state_for(&state, &spec, &b) {
        Ok(s) => StateResult::ok(s),
        Err(d) => StateResult::failed(Value::Null, d),
    }
}

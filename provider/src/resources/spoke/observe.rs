//! Reading the spoke back (one GET per owned object; the spoke→hub peering
//! comes inside the VNet) and importing it from its VNet id.

use crate::resources::composite::{Model as _, Observe, Specs as _};
use async_trait::async_trait;
use serde_json::Value as Json;
use trench_arm::reconcile::matches;
use trench_arm::{ArmError, Op, ResourceId};
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::Value;

use super::spec::{Slot, SpokeIds, SpokeNames, SpokeSpec, flatten};
use super::{NODES_SUBNET, Spoke};
use crate::conventions::names;
use crate::resources::common::{self, ArmDiagnostics as _, Azure};
use crate::resources::composite::{Bodies, ImportCx, Imported, get_all, merge_inputs, null_state, presence_drift, str_at};
use crate::resources::network::{read_space, read_subnets, same};

fn peering_drift(what: String, p: Option<&Json>, remote: &ResourceId, out: &mut Vec<String>) {
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

fn drift(spec: &SpokeSpec, b: &Bodies<Slot>) -> Vec<String> {
    let i = &spec.ids;
    let peering = |s: &Slot| matches!(s, Slot::SpokePeering | Slot::HubPeering);
    let mut out = presence_drift::<Spoke>(spec, b, |s| !peering(s), |s| !peering(s));
    if let Some(rt) = b.get(&Slot::Rt) {
        let want = spec.rt_body(spec.location.as_deref().unwrap_or(""));
        if !matches(&want["properties"], &rt["properties"]) {
            out.push(format!(
                "{}: routes differ (want only 0.0.0.0/0 → VirtualAppliance {}, BGP propagation off)",
                i.rt_id().display(),
                spec.firewall_private_ip
            ));
        }
    }
    peering_drift(i.spoke_peering_id().display(), b.get(&Slot::SpokePeering), &i.hub, &mut out);
    peering_drift(i.hub_peering_id().display(), b.get(&Slot::HubPeering), &i.vnet_id(), &mut out);
    out
}

#[async_trait]
impl Observe for Spoke {
    /// One GET per owned object: the spoke→hub peering comes inside the VNet.
    async fn fetch(azure: &Azure, op: &Op, spec: &Self::Spec) -> Result<Bodies<Self::Slot>, ArmError> {
        let i = &spec.ids;
        let mut b = get_all(&azure.arm, op, [Slot::Rg, Slot::Vnet, Slot::Rt, Slot::HubPeering].map(|s| (s.id(i), s)).into()).await?;
        let spoke_peering = b.get(&Slot::Vnet).and_then(|v| {
            v.pointer("/properties/virtualNetworkPeerings")?
                .as_array()?
                .iter()
                .find(|p| p.get("name").and_then(Json::as_str).is_some_and(|n| n.eq_ignore_ascii_case(&i.names.spoke_to_hub)))
                .cloned()
        });
        if let Some(p) = spoke_peering {
            b.insert(Slot::SpokePeering, p);
        }
        Ok(b)
    }

    fn gone(_spec: &SpokeSpec, bodies: &Bodies<Slot>) -> bool {
        !bodies.has(&Slot::Rg)
    }

    /// State for what was observed; inputs Azure can express are read back.
    fn read_back(state: &mut Value, spec: &SpokeSpec, b: &Bodies<Slot>) -> Result<(), Diagnostics> {
        let seen = flatten(spec, b);
        merge_inputs(
            state,
            [
                ("address_space", Value::strings(&seen.address_space)),
                ("subnets", Value::string_map(&seen.subnets)),
                ("route_table_subnets", Value::strings(&seen.route_table_subnets)),
                ("location", seen.location.as_deref().map(Value::string).unwrap_or(Value::Null)),
                ("firewall_private_ip", Value::string(&seen.firewall_private_ip)),
            ],
        );
        Ok(())
    }

    fn drift(spec: &SpokeSpec, b: &Bodies<Slot>) -> Vec<String> {
        drift(spec, b)
    }

    async fn import(cx: &ImportCx<'_>) -> Result<Imported<Self>, Diagnostics> {
        let fail = |s: &str, d: String| Err(Diagnostics::error(s, d));
        let (azure, op, vnet_id) = (cx.azure, cx.op, cx.id);
        let (vnet, tags) = cx.primary("Spoke").await?;
        let env = cx.environment(&tags)?;
        let vname = vnet_id.name().to_owned();
        // trench-<name>-vnet-<env>
        let parts: Vec<&str> = vname.split('-').collect();
        let svc =
            if parts.len() == 4 && parts[0] == "trench" && parts[2] == "vnet" { parts[1].to_owned() } else { names::DEFAULT_SPOKE.into() };
        let defaults = names::spoke(&svc, &env);
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
            .unwrap_or_else(|| defaults.route_table.clone());
        let hub_vnet = azure.arm.get(op, &hub).await.map_err(|e| e.diagnostics())?;
        let hub_peering_name = hub_vnet
            .as_ref()
            .and_then(|h| h.pointer("/properties/virtualNetworkPeerings")?.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .find(|p| same(p.pointer("/properties/remoteVirtualNetwork/id").and_then(Json::as_str), Some(&vnet_id.to_string())))
            .and_then(|p| p.get("name").and_then(Json::as_str).map(str::to_owned))
            .unwrap_or_else(|| defaults.hub_to_spoke.clone());
        let names = SpokeNames {
            resource_group: vnet_id.resource_group.clone().unwrap_or_default(),
            vnet: vname.clone(),
            route_table: rt_name,
            hub_to_spoke: hub_peering_name,
            spoke_to_hub: spoke_peering.get("name").and_then(Json::as_str).unwrap_or("").to_owned(),
        };
        let user_tags = common::user_tags(&tags, &azure.env.default_tags, &env);
        let mut skeleton = null_state(&Spoke::schema());
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
            skeleton.insert("tags".into(), Value::string_map(&user_tags));
        }
        let mut state = Value::Object(skeleton);
        let ids = SpokeIds { subscription: vnet_id.subscription.clone(), names, hub };
        if let Value::Object(m) = &mut state {
            m.insert("address_space".into(), Value::List(read_space(&vnet).into_iter().map(Value::String).collect()));
            m.insert("subnets".into(), Value::Map(subnets.iter().map(|(k, s)| (k.clone(), Value::string(&s.prefix))).collect()));
            m.insert("route_table_subnets".into(), Value::List(Vec::new()));
        }
        let mut spec = Spoke::spec_from(&azure.env, &state)?;
        spec.ids = ids;
        spec.location = vnet.get("location").and_then(Json::as_str).map(str::to_owned);
        let bodies = Self::fetch(azure, op, &spec).await.map_err(|e| e.diagnostics())?;
        // The route's next hop is the firewall's IP, whatever else the table holds.
        spec.firewall_private_ip =
            bodies.get(&Slot::Rt).and_then(|r| str_at(r, "/properties/routes/0/properties/nextHopIpAddress")).unwrap_or("").to_owned();
        Ok(Imported { state, spec, bodies, warnings: Diagnostics::new() })
    }
}

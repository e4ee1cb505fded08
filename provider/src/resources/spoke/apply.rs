//! The spoke's desired objects and how they are created, updated and deleted.

use crate::resources::composite::{Apply, Bodies, Deletion, Specs as _};
use async_trait::async_trait;
use serde_json::Value as Json;
use trench_arm::reconcile::{matches, settle};
use trench_arm::{ArmClient, ArmError, Op, ResourceId};
use trench_plugin::framework::{AttrPath, Diagnostics};
use trench_plugin::value::Value;

use super::Spoke;
use super::spec::{Slot, SpokeSpec, want};
use crate::resources::cidr;
use crate::resources::common::{self};
use crate::resources::composite::{Failure, Run, str_at};
use crate::resources::network::{peering_body, read_space};

fn state_of(p: &Option<Json>) -> Option<&str> {
    p.as_ref().and_then(|p| str_at(p, "/properties/peeringState"))
}

/// Peers `vnet` → `remote`, re-syncing when ARM says the remote address
/// space moved on (after either side's address space changed).
async fn ensure_peering(
    arm: &ArmClient,
    op: &Op,
    id: &ResourceId,
    remote: &ResourceId,
    existing: Option<Json>,
    force_sync: bool,
) -> Result<Json, ArmError> {
    let out_of_sync = existing
        .as_ref()
        .and_then(|p| p.pointer("/properties/peeringSyncLevel"))
        .and_then(Json::as_str)
        .is_some_and(|s| !s.eq_ignore_ascii_case("FullyInSync"));
    let want = peering_body(&remote.to_string());
    match existing {
        Some(p) if (out_of_sync || force_sync) && matches(&want, &p) => {
            arm.put_with_query(&op.with_action("re-syncing"), id, &want, &[("syncRemoteAddressSpace", "true")]).await
        }
        known => trench_arm::reconcile::ensure(arm, op, id, &want, known).await,
    }
}

/// Both sides of the hub–spoke peering. A side whose partner was deleted
/// stays Disconnected for good, and deleting one side disconnects the
/// other, so a broken pair is removed as a whole and peered again.
async fn ensure_peerings(run: &Run<'_, Spoke>, force_sync: bool) -> Result<(), ArmError> {
    let (arm, op, i) = (run.arm(), run.op, &run.spec.ids);
    let read = op.with_action("reading");
    let (spoke_id, hub_id) = (i.spoke_peering_id(), i.hub_peering_id());
    let (mut spoke, mut hub) = (arm.get(&read, &spoke_id).await?, arm.get(&read, &hub_id).await?);
    let disconnected = |p: &Option<Json>| state_of(p).is_some_and(|s| s.eq_ignore_ascii_case("Disconnected"));
    if disconnected(&spoke) || disconnected(&hub) {
        let again = op.with_action("re-peering (disconnected)");
        {
            let _lock = arm.locks.lock(&i.vnet_id().to_string()).await;
            arm.delete(&again, &spoke_id).await?;
        }
        {
            let _lock = arm.locks.lock(&i.hub.to_string()).await;
            arm.delete(&again, &hub_id).await?;
        }
        (spoke, hub) = (None, None);
    }
    let s = {
        let _lock = arm.locks.lock(&i.vnet_id().to_string()).await;
        ensure_peering(arm, op, &spoke_id, &i.hub, spoke, force_sync).await?
    };
    run.keep(Slot::SpokePeering, s);
    let h = {
        let _lock = arm.locks.lock(&i.hub.to_string()).await;
        ensure_peering(arm, op, &hub_id, &i.vnet_id(), hub, force_sync).await?
    };
    run.keep(Slot::HubPeering, h);
    // The first side reports Connected only once the second exists.
    if let Some(p) = arm.get(&read, &spoke_id).await? {
        run.keep(Slot::SpokePeering, p);
    }
    Ok(())
}

/// The spoke's location: configured, or the hub's.
fn location_of(spec: &SpokeSpec, hub: &Json) -> String {
    spec.location.clone().unwrap_or_else(|| hub.get("location").and_then(Json::as_str).unwrap_or("westeurope").to_owned())
}

#[async_trait]
impl Apply for Spoke {
    async fn reconcile(run: &Run<'_, Self>) -> Result<(), Failure> {
        let (arm, op, spec) = (run.arm(), run.op, run.spec);
        let i = &spec.ids;
        let read = op.with_action("reading");
        let hub = match arm.get(&read, &i.hub).await? {
            Some(h) => h,
            None => {
                return Err(Failure::Refused(Diagnostics::error(
                    format!("The hub {} does not exist", i.hub.display()),
                    "Create the hub first (trench_hub), or check hub_id.",
                )));
            }
        };
        // Disjoint address spaces, checked against the real hub.
        let hub_space: Vec<_> = read_space(&hub).iter().filter_map(|s| cidr::parse(s).ok()).collect();
        for s in &spec.address_space {
            if let Ok(n) = cidr::parse(s)
                && let Some(h) = hub_space.iter().find(|h| cidr::overlaps(h, &n))
            {
                return Err(Failure::Refused(Diagnostics::attr_error(
                    AttrPath::root("address_space"),
                    "Overlaps the hub",
                    format!("{n} overlaps the hub's {h}; peered networks need disjoint address spaces."),
                )));
            }
        }
        let location = location_of(spec, &hub);
        let existing_vnet = arm.get(&read, &i.vnet_id()).await?;
        // Decide on where a running write ends, not on its first step.
        let existing_vnet = settle(arm, op, &i.vnet_id(), existing_vnet).await?;
        run.ensure(Slot::Rg, &want(spec, Slot::Rg, &location, None)).await?;
        run.ensure(Slot::Rt, &want(spec, Slot::Rt, &location, None)).await?;
        let space_changed = existing_vnet.as_ref().is_some_and(|e| {
            let (mut a, mut b) = (read_space(e), spec.address_space.clone());
            a.sort();
            b.sort();
            a != b
        });
        {
            let _lock = arm.locks.lock(&i.vnet_id().to_string()).await;
            let body = want(spec, Slot::Vnet, &location, existing_vnet.as_ref());
            run.ensure_from(Slot::Vnet, &body, existing_vnet).await?;
        }
        ensure_peerings(run, space_changed).await?;
        Ok(())
    }

    async fn delete(d: &Deletion<'_, Self>) -> Result<Diagnostics, Failure> {
        let (azure, op, i) = (d.azure, d.op, &d.spec.ids);
        let arm = &*azure.arm;
        let hub_side = async {
            let _lock = arm.locks.lock(&i.hub.to_string()).await;
            arm.delete(op, &i.hub_peering_id()).await
        };
        let spoke_side = async {
            let _lock = arm.locks.lock(&i.vnet_id().to_string()).await;
            arm.delete(op, &i.spoke_peering_id()).await
        };
        let (a, b) = tokio::join!(hub_side, spoke_side);
        a?;
        b?;
        arm.delete(op, &i.vnet_id()).await?;
        arm.delete(op, &i.rt_id()).await?;
        Ok(common::delete_rg_if_empty(azure, op, &i.rg_id()).await?)
    }

    /// The state records the location learnt from the hub.
    fn applied(planned: &Value, spec: &SpokeSpec, bodies: &Bodies<Slot>) -> Result<Value, Diagnostics> {
        let mut state = planned.clone();
        let location = bodies.get(&Slot::Rg).and_then(|rg| rg.get("location")).and_then(serde_json::Value::as_str);
        if let (Some(loc), Value::Object(m)) = (location, &mut state) {
            m.insert("location".into(), Value::string(loc));
        }
        common::patch(&mut state, &Self::computed(spec, bodies))?;
        Ok(state)
    }
}

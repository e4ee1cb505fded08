//! The spoke's desired objects and how they are created, updated and deleted.

use crate::resources::common::ArmDiagnostics as _;
use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value as Json, json};

use super::{SpokeComputed, SpokeConfig, SpokeNames, default_subnets, default_timeouts, names};
use crate::resources::cidr;
use crate::resources::common::{self, Azure};
use crate::resources::network::{SubnetSpec, peering_body, read_space, vnet_body};
use trench_arm::reconcile::{ensure, settle};
use trench_arm::{ArmError, Op, ResourceId};
use trench_plugin::framework::{ApplyRequest, Ctx, Diagnostics, StateResult};
use trench_plugin::value::{Val, Value, from_value};

/// Where the spoke's objects live.
#[derive(Clone, Debug, PartialEq)]
pub struct SpokeIds {
    /// Subscription.
    pub subscription: String,
    /// Names.
    pub names: SpokeNames,
    /// The hub VNet.
    pub hub: ResourceId,
}

impl SpokeIds {
    /// Resource group.
    pub fn rg_id(&self) -> ResourceId {
        ResourceId::resource_group(&self.subscription, &self.names.resource_group)
    }
    /// Spoke VNet (the composite's id).
    pub fn vnet_id(&self) -> ResourceId {
        ResourceId::resource(&self.subscription, &self.names.resource_group, "Microsoft.Network", "virtualNetworks", &self.names.vnet)
    }
    /// A subnet.
    pub fn subnet_id(&self, name: &str) -> ResourceId {
        self.vnet_id().child("subnets", name)
    }
    /// Route table.
    pub fn rt_id(&self) -> ResourceId {
        ResourceId::resource(&self.subscription, &self.names.resource_group, "Microsoft.Network", "routeTables", &self.names.route_table)
    }
    /// The peering on the hub VNet.
    pub fn hub_peering_id(&self) -> ResourceId {
        self.hub.child("virtualNetworkPeerings", &self.names.hub_to_spoke)
    }
    /// The peering on the spoke VNet.
    pub fn spoke_peering_id(&self) -> ResourceId {
        self.vnet_id().child("virtualNetworkPeerings", &self.names.spoke_to_hub)
    }
}

/// The desired spoke.
#[derive(Clone, Debug, PartialEq)]
pub struct SpokeSpec {
    /// Ids.
    pub ids: SpokeIds,
    /// Environment.
    pub env: String,
    /// Location (None: take the hub's).
    pub location: Option<String>,
    /// Address space.
    pub address_space: Vec<String>,
    /// Subnets.
    pub subnets: BTreeMap<String, String>,
    /// Subnets routed through the firewall.
    pub route_table_subnets: Vec<String>,
    /// The next hop.
    pub firewall_private_ip: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl SpokeSpec {
    /// Route table body: the default route to the firewall; BGP routes off
    /// so nothing learned can bypass it.
    pub fn rt_body(&self, location: &str) -> Json {
        json!({
            "location": location,
            "tags": self.tags,
            "properties": {
                "disableBgpRoutePropagation": true,
                "routes": [{ "name": "default-via-firewall", "properties": {
                    "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": self.firewall_private_ip } }]
            }
        })
    }

    /// VNet body over the existing VNet, with route table associations.
    pub fn vnet_body(&self, existing: Option<&Json>, location: &str) -> Json {
        let rt = self.ids.rt_id().to_string();
        let subnets = self
            .subnets
            .iter()
            .map(|(n, p)| {
                (
                    n.clone(),
                    SubnetSpec { prefix: p.clone(), route_table: self.route_table_subnets.contains(n).then(|| rt.clone()), nsg: None },
                )
            })
            .collect();
        vnet_body(existing, location, &self.tags, &self.address_space, &subnets)
    }
}

/// Ids recorded in a state value.
pub(super) fn ids_from(subscription: &str, v: &Value) -> Option<SpokeIds> {
    let cfg: SpokeConfig = from_value(v).ok()?;
    let env = cfg.environment.known()?.clone();
    let hub = ResourceId::parse(cfg.hub_id.known()?).ok()?;
    let sub = v
        .get_attr("id")
        .and_then(Value::as_str)
        .and_then(|id| ResourceId::parse(id).ok())
        .map(|i| i.subscription)
        .unwrap_or_else(|| subscription.to_owned());
    Some(SpokeIds { subscription: sub, names: names(&env, &cfg), hub })
}

/// The desired spoke from a (known) planned or state value.
pub(super) fn spec_from(subscription: &str, default_tags: &BTreeMap<String, String>, v: &Value) -> Result<SpokeSpec, Diagnostics> {
    let cfg: SpokeConfig = from_value(v)?;
    let ids = ids_from(subscription, v)
        .ok_or_else(|| Diagnostics::error("Planned value not known", "environment and hub_id must be known at apply time."))?;
    let address_space =
        cfg.address_space.known().cloned().ok_or_else(|| Diagnostics::error("Planned value not known", "address_space is not known."))?;
    let subnets = match cfg.subnets.known() {
        Some(s) => s.clone(),
        None => default_subnets(&address_space)
            .ok_or_else(|| Diagnostics::error("No room for default subnets", "address_space cannot hold them."))?,
    };
    let env = cfg.environment.known().cloned().unwrap_or_default();
    Ok(SpokeSpec {
        tags: common::with_owner(common::tags_all(default_tags, &env, cfg.tags.known()), "trench_spoke", &ids.names.vnet),
        env,
        location: cfg.location.known().cloned(),
        route_table_subnets: cfg.route_table_subnets.known().cloned().unwrap_or_else(|| vec![super::NODES_SUBNET.to_owned()]),
        firewall_private_ip: cfg.firewall_private_ip.known().cloned().unwrap_or_default(),
        address_space,
        subnets,
        ids,
    })
}

/// Objects known to exist.
#[derive(Default, Debug)]
pub(super) struct Bodies {
    pub rg: Option<Json>,
    pub rt: Option<Json>,
    pub vnet: Option<Json>,
    pub spoke_peering: Option<Json>,
    pub hub_peering: Option<Json>,
}

pub(super) fn computed_from(spec: &SpokeSpec, b: &Bodies, drift: Vec<String>) -> SpokeComputed {
    let i = &spec.ids;
    let state = |p: &Option<Json>| p.as_ref().and_then(|p| p.pointer("/properties/peeringState")).and_then(Json::as_str).map(str::to_owned);
    let peering_state = match (state(&b.hub_peering), state(&b.spoke_peering)) {
        (Some(a), Some(c)) if a == c => a,
        (Some(a), Some(c)) => format!("hub side {a}, spoke side {c}"),
        (Some(a), None) | (None, Some(a)) => format!("{a} (one side missing)"),
        (None, None) => "NotPeered".to_owned(),
    };
    SpokeComputed {
        id: Val::Known(i.vnet_id().to_string()),
        resource_group_id: Val::Known(i.rg_id().to_string()),
        subnet_ids: Val::Known(spec.subnets.keys().map(|k| (k.clone(), i.subnet_id(k).to_string())).collect()),
        route_table_id: Val::Known(i.rt_id().to_string()),
        hub_to_spoke_peering_id: Val::Known(i.hub_peering_id().to_string()),
        spoke_to_hub_peering_id: Val::Known(i.spoke_peering_id().to_string()),
        peering_state: Val::Known(peering_state),
        tags_all: Val::Known(common::visible_tags(&spec.tags)),
        drift: Val::Known(drift),
        api_versions: Val::Known(super::api_versions()),
    }
}

fn keep(slot: &Mutex<Bodies>, f: impl FnOnce(&mut Bodies)) {
    f(&mut slot.lock().expect("bodies lock"));
}

pub(super) async fn apply(ctx: &Ctx, req: ApplyRequest) -> StateResult {
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let source = if req.planned.is_null() { &req.prior } else { &req.planned };
    let t = match common::timeouts(source, default_timeouts()) {
        Ok(t) => t,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    if req.planned.is_null() {
        let op = common::op(ctx, "deleting", t.delete);
        return match delete(&azure, &op, &req.prior).await {
            Ok(w) => StateResult { state: Value::Null, private: Vec::new(), diagnostics: w },
            Err(e) => StateResult::failed(req.prior, e.diagnostics()),
        };
    }
    let mut spec = match spec_from(&azure.subscription, &azure.default_tags, &req.planned) {
        Ok(s) => s,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let creating = req.prior.is_null();
    let op = if creating { common::op(ctx, "creating", t.create) } else { common::op(ctx, "updating", t.update) };
    let bodies = Mutex::new(Bodies::default());
    let result = reconcile(&azure, &op, &mut spec, creating, &bodies).await;
    let bodies = bodies.into_inner().expect("bodies lock");
    let mut state = req.planned.clone();
    if let (Some(loc), Value::Object(m)) = (&spec.location, &mut state) {
        m.insert("location".into(), Value::string(loc));
    }
    let missing = if result.is_ok() { Vec::new() } else { unfinished(&spec, &bodies) };
    if let Err(d) = common::patch(&mut state, &computed_from(&spec, &bodies, missing)) {
        return StateResult::failed(req.prior, d);
    }
    match result {
        Ok(()) => StateResult::ok(state),
        Err(Failure::Refused(d)) => StateResult::failed(if creating { Value::Null } else { req.prior }, d),
        Err(Failure::Arm(e)) => {
            state.unknowns_to_null();
            let exist: Vec<String> = existing(&spec, &bodies);
            let d = common::partial_failure(e, if creating { "spoke" } else { "spoke update" }, &exist);
            if creating && exist.is_empty() { StateResult::failed(Value::Null, d) } else { StateResult::failed(state, d) }
        }
    }
}

fn existing(spec: &SpokeSpec, b: &Bodies) -> Vec<String> {
    let i = &spec.ids;
    [
        (b.rg.is_some(), i.rg_id()),
        (b.rt.is_some(), i.rt_id()),
        (b.vnet.is_some(), i.vnet_id()),
        (b.spoke_peering.is_some(), i.spoke_peering_id()),
        (b.hub_peering.is_some(), i.hub_peering_id()),
    ]
    .into_iter()
    .filter(|(e, _)| *e)
    .map(|(_, id)| id.display())
    .collect()
}

fn unfinished(spec: &SpokeSpec, b: &Bodies) -> Vec<String> {
    let i = &spec.ids;
    [
        (b.rg.is_none(), i.rg_id()),
        (b.rt.is_none(), i.rt_id()),
        (b.vnet.is_none(), i.vnet_id()),
        (b.spoke_peering.is_none(), i.spoke_peering_id()),
        (b.hub_peering.is_none(), i.hub_peering_id()),
    ]
    .into_iter()
    .filter(|(m, _)| *m)
    .map(|(_, id)| format!("{} not yet in place", id.display()))
    .collect()
}

enum Failure {
    Refused(Diagnostics),
    Arm(ArmError),
}

impl From<ArmError> for Failure {
    fn from(e: ArmError) -> Self {
        Failure::Arm(e)
    }
}

fn state_of(p: &Option<Json>) -> Option<&str> {
    p.as_ref().and_then(|p| p.pointer("/properties/peeringState")).and_then(Json::as_str)
}

/// Peers `vnet` → `remote`, re-syncing when ARM says the remote address
/// space moved on (after either side's address space changed).
async fn ensure_peering(
    azure: &Azure,
    op: &Op,
    id: &ResourceId,
    remote: &ResourceId,
    existing: Option<Json>,
    force_sync: bool,
) -> Result<Json, ArmError> {
    let arm = &*azure.arm;
    let out_of_sync = existing
        .as_ref()
        .and_then(|p| p.pointer("/properties/peeringSyncLevel"))
        .and_then(Json::as_str)
        .is_some_and(|s| !s.eq_ignore_ascii_case("FullyInSync"));
    let want = peering_body(&remote.to_string());
    match existing {
        Some(p) if (out_of_sync || force_sync) && trench_arm::reconcile::matches(&want, &p) => {
            arm.put_with_query(&op.with_action("re-syncing"), id, &want, &[("syncRemoteAddressSpace", "true")]).await
        }
        known => ensure(arm, op, id, &want, known).await,
    }
}

/// Both sides of the hub–spoke peering. A side whose partner was deleted
/// stays Disconnected for good, and deleting one side disconnects the
/// other, so a broken pair is removed as a whole and peered again.
async fn ensure_peerings(azure: &Azure, op: &Op, i: &SpokeIds, force_sync: bool, bodies: &Mutex<Bodies>) -> Result<(), ArmError> {
    let arm = &*azure.arm;
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
        ensure_peering(azure, op, &spoke_id, &i.hub, spoke, force_sync).await?
    };
    keep(bodies, |b| b.spoke_peering = Some(s));
    let h = {
        let _lock = arm.locks.lock(&i.hub.to_string()).await;
        ensure_peering(azure, op, &hub_id, &i.vnet_id(), hub, force_sync).await?
    };
    keep(bodies, |b| b.hub_peering = Some(h));
    // The first side reports Connected only once the second exists.
    if let Some(p) = arm.get(&read, &spoke_id).await? {
        keep(bodies, |b| b.spoke_peering = Some(p));
    }
    Ok(())
}

async fn reconcile(azure: &Azure, op: &Op, spec: &mut SpokeSpec, creating: bool, bodies: &Mutex<Bodies>) -> Result<(), Failure> {
    let arm = &*azure.arm;
    let i = spec.ids.clone();
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
                trench_plugin::framework::AttrPath::root("address_space"),
                "Overlaps the hub",
                format!("{n} overlaps the hub's {h}; peered networks need disjoint address spaces."),
            )));
        }
    }
    let location = spec.location.clone().unwrap_or_else(|| hub.get("location").and_then(Json::as_str).unwrap_or("westeurope").to_owned());
    spec.location = Some(location.clone());
    let existing_vnet = arm.get(&read, &i.vnet_id()).await?;
    if creating
        && existing_vnet.is_none()
        && let Err(d) = common::refuse_existing_group(azure, op, &i.rg_id(), &spec.tags, "resource_group_name", &i.vnet_id()).await
    {
        return Err(Failure::Refused(d));
    }
    if creating && existing_vnet.as_ref().is_some_and(|v| !common::owned_by(v, &spec.tags)) {
        return Err(Failure::Refused(Diagnostics::error(
            format!("{} already exists", i.vnet_id().display()),
            format!(
                "trench does not take over objects it did not create. To manage this spoke with Terraform, import it:\n\n  terraform import <address of this trench_spoke> {}",
                i.vnet_id()
            ),
        )));
    }
    // Past the ownership checks: decide on where a running write ends, not on its first step.
    let existing_vnet = settle(arm, op, &i.vnet_id(), existing_vnet).await?;
    let rg = ensure(arm, op, &i.rg_id(), &json!({ "location": location, "tags": spec.tags }), None).await?;
    keep(bodies, |b| b.rg = Some(rg));
    let rt = ensure(arm, op, &i.rt_id(), &spec.rt_body(&location), None).await?;
    keep(bodies, |b| b.rt = Some(rt));
    let space_changed = existing_vnet.as_ref().is_some_and(|e| {
        let (mut a, mut b) = (read_space(e), spec.address_space.clone());
        a.sort();
        b.sort();
        a != b
    });
    let vnet = {
        let _lock = arm.locks.lock(&i.vnet_id().to_string()).await;
        let want = spec.vnet_body(existing_vnet.as_ref(), &location);
        ensure(arm, op, &i.vnet_id(), &want, existing_vnet).await?
    };
    keep(bodies, |b| b.vnet = Some(vnet));
    ensure_peerings(azure, op, &i, space_changed, bodies).await?;
    Ok(())
}

async fn delete(azure: &Azure, op: &Op, prior: &Value) -> Result<Diagnostics, ArmError> {
    let arm = &*azure.arm;
    let Some(i) = ids_from(&azure.subscription, prior) else { return Ok(Diagnostics::new()) };
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
    common::delete_rg_if_empty(azure, op, &i.rg_id()).await
}

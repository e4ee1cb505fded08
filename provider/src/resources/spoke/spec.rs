//! The spoke as it should be: names, ids and the ARM body of every object
//! it owns (expand), and the spoke a set of bodies describes (flatten),
//! with no ARM calls.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};
use trench_arm::ResourceId;
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::{Val, Value, from_value};

use super::{ENDPOINTS_SUBNET, NODES_SUBNET, Spoke, SpokeComputed, SpokeConfig};
use crate::conventions::names;
use crate::resources::cidr;
use crate::resources::common::{self, Env};
use crate::resources::composite::{Bodies, Claims, Specs, str_at};
use crate::resources::network::{SubnetSpec, peering_body, read_space, read_subnets, same, vnet_body};

/// Names of the spoke's objects (conventional unless configured).
pub use crate::conventions::names::SpokeNames;

/// Conventional names, with overrides from configuration.
pub fn spoke_names(env: &str, cfg: &SpokeConfig) -> SpokeNames {
    let svc = cfg.name.known().cloned().unwrap_or_else(|| names::DEFAULT_SPOKE.into());
    let pick = |v: &Val<String>, d: String| v.known().cloned().unwrap_or(d);
    let d = names::spoke(&svc, env);
    SpokeNames {
        resource_group: pick(&cfg.resource_group_name, d.resource_group.clone()),
        vnet: pick(&cfg.vnet_name, d.vnet.clone()),
        route_table: pick(&cfg.route_table_name, d.route_table.clone()),
        ..d
    }
}

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

/// One object the spoke owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// The spoke resource group.
    Rg,
    /// The route table.
    Rt,
    /// The spoke VNet.
    Vnet,
    /// The peering on the spoke VNet.
    SpokePeering,
    /// The peering on the hub VNet (the spoke's, though it lives on the hub).
    HubPeering,
}

impl Slot {
    /// The object's id.
    pub fn id(self, i: &SpokeIds) -> ResourceId {
        match self {
            Slot::Rg => i.rg_id(),
            Slot::Rt => i.rt_id(),
            Slot::Vnet => i.vnet_id(),
            Slot::SpokePeering => i.spoke_peering_id(),
            Slot::HubPeering => i.hub_peering_id(),
        }
    }
}

/// Every object the spoke owns, in dependency order.
pub const SLOTS: [Slot; 5] = [Slot::Rg, Slot::Rt, Slot::Vnet, Slot::SpokePeering, Slot::HubPeering];

/// The body the spec writes to `slot` (expand), at the location the spoke
/// has (the hub's, unless configured), over the VNet as it is.
pub fn want(spec: &SpokeSpec, slot: Slot, location: &str, existing_vnet: Option<&Json>) -> Json {
    match slot {
        Slot::Rg => json!({ "location": location, "tags": spec.tags }),
        Slot::Rt => spec.rt_body(location),
        Slot::Vnet => spec.vnet_body(existing_vnet, location),
        Slot::SpokePeering => peering_body(&spec.ids.hub.to_string()),
        Slot::HubPeering => peering_body(&spec.ids.vnet_id().to_string()),
    }
}

/// The spoke the bodies describe (flatten); `spec` supplies what they
/// cannot say (names, the hub, tags).
pub fn flatten(spec: &SpokeSpec, b: &Bodies<Slot>) -> SpokeSpec {
    let mut s = spec.clone();
    if let Some(v) = b.get(&Slot::Vnet) {
        let subnets = read_subnets(v);
        let rt = spec.ids.rt_id().to_string();
        let mut routed: Vec<String> =
            subnets.iter().filter(|(_, s)| same(s.route_table.as_deref(), Some(&rt))).map(|(k, _)| k.clone()).collect();
        routed.sort();
        s.subnets = subnets.into_iter().map(|(k, v)| (k, v.prefix)).collect();
        s.route_table_subnets = routed;
        s.address_space = read_space(v);
        if let Some(loc) = v.get("location").and_then(Json::as_str) {
            s.location = Some(loc.to_owned());
        }
    }
    // The next hop, when the table holds trench's one route.
    if let Some(routes) = b.get(&Slot::Rt).and_then(|r| r.pointer("/properties/routes")).and_then(Json::as_array)
        && let [only] = routes.as_slice()
        && let Some(ip) = str_at(only, "/properties/nextHopIpAddress")
    {
        s.firewall_private_ip = ip.to_owned();
    }
    s
}

/// Ids recorded in a state value.
pub fn ids_from(e: &Env, v: &Value) -> Option<SpokeIds> {
    let cfg: SpokeConfig = from_value(v).ok()?;
    let env = cfg.environment.known()?.clone();
    let hub = ResourceId::parse(cfg.hub_id.known()?).ok()?;
    Some(SpokeIds { subscription: common::subscription_of(v, e), names: spoke_names(&env, &cfg), hub })
}

/// Default subnets: `aks-nodes` /22 and `private-endpoints` /24.
pub fn default_subnets(space: &[String]) -> Option<BTreeMap<String, String>> {
    let nets: Vec<_> = space.iter().map(|s| cidr::parse(s)).collect::<Result<_, _>>().ok()?;
    let nodes = cidr::carve(&nets, 22, &[])?;
    let pe = cidr::carve(&nets, 24, &[nodes])?;
    Some(BTreeMap::from([(NODES_SUBNET.to_owned(), nodes.to_string()), (ENDPOINTS_SUBNET.to_owned(), pe.to_string())]))
}

impl Specs for Spoke {
    type Spec = SpokeSpec;
    type Slot = Slot;

    /// The desired spoke from a (known) planned or state value.
    fn spec_from(e: &Env, v: &Value) -> Result<SpokeSpec, Diagnostics> {
        let cfg: SpokeConfig = from_value(v)?;
        let ids = ids_from(e, v)
            .ok_or_else(|| Diagnostics::error("Planned value not known", "environment and hub_id must be known at apply time."))?;
        let address_space = cfg
            .address_space
            .known()
            .cloned()
            .ok_or_else(|| Diagnostics::error("Planned value not known", "address_space is not known."))?;
        let subnets = match cfg.subnets.known() {
            Some(s) => s.clone(),
            None => default_subnets(&address_space)
                .ok_or_else(|| Diagnostics::error("No room for default subnets", "address_space cannot hold them."))?,
        };
        let env = cfg.environment.known().cloned().unwrap_or_default();
        Ok(SpokeSpec {
            tags: common::with_owner(common::tags_all(&e.default_tags, &env, cfg.tags.known()), "trench_spoke", &ids.names.vnet),
            env,
            location: cfg.location.known().cloned(),
            route_table_subnets: cfg.route_table_subnets.known().cloned().unwrap_or_else(|| vec![NODES_SUBNET.to_owned()]),
            firewall_private_ip: cfg.firewall_private_ip.known().cloned().unwrap_or_default(),
            address_space,
            subnets,
            ids,
        })
    }

    fn id(spec: &SpokeSpec, slot: &Slot) -> ResourceId {
        slot.id(&spec.ids)
    }

    fn slots(_spec: &SpokeSpec) -> Vec<Slot> {
        SLOTS.to_vec()
    }

    fn import_id(spec: &SpokeSpec) -> ResourceId {
        spec.ids.vnet_id()
    }

    fn tags(spec: &SpokeSpec) -> &BTreeMap<String, String> {
        &spec.tags
    }

    fn claims(spec: &SpokeSpec) -> Claims {
        let i = &spec.ids;
        Claims { group: Some((i.rg_id(), "resource_group_name")), objects: vec![i.vnet_id()] }
    }

    fn computed(spec: &SpokeSpec, b: &Bodies<Slot>) -> SpokeComputed {
        let i = &spec.ids;
        let state = |s: Slot| b.get(&s).and_then(|p| str_at(p, "/properties/peeringState")).map(str::to_owned);
        let peering_state = match (state(Slot::HubPeering), state(Slot::SpokePeering)) {
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
        }
    }
}

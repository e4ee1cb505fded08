//! `trench_spoke`: a spoke resource group and VNet (`aks-nodes`,
//! `private-endpoints`), peerings hub→spoke and spoke→hub (VNet access and
//! forwarded traffic allowed), and a route table sending 0.0.0.0/0 to the
//! hub firewall's private IP, associated with `aks-nodes`.
//!
//! The hub→spoke peering lives on the hub's VNet but belongs to the spoke:
//! creating a spoke is what peers it, and writes to the hub VNet take the
//! hub VNet's lock.

mod apply;
mod observe;
pub mod spec;
mod validate;

pub use validate::validate_config;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use trench_arm::ResourceId;
use trench_plugin::framework::timeouts::Timeouts;
use trench_plugin::framework::{Attribute, Block, Diagnostics, PlanRequest};
use trench_plugin::value::{Type, Val, Value};

use crate::conventions::names;
use crate::resources::composite::{Defaults, Model, PlanCx, named};
use spec::{SpokeIds, default_subnets};

/// The composite.
pub struct Spoke;

/// Subnet AKS nodes live in.
pub const NODES_SUBNET: &str = "aks-nodes";
/// Subnet for private endpoints.
pub const ENDPOINTS_SUBNET: &str = "private-endpoints";

/// The spoke's settable attributes, each possibly null or unknown.
#[derive(Clone, Debug, Deserialize)]
pub struct SpokeConfig {
    environment: Val<String>,
    name: Val<String>,
    hub_id: Val<String>,
    hub_address_space: Val<Vec<String>>,
    firewall_private_ip: Val<String>,
    location: Val<String>,
    address_space: Val<Vec<String>>,
    subnets: Val<BTreeMap<String, String>>,
    route_table_subnets: Val<Vec<String>>,
    resource_group_name: Val<String>,
    vnet_name: Val<String>,
    route_table_name: Val<String>,
    tags: Val<BTreeMap<String, String>>,
}

/// Computed attributes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SpokeComputed {
    id: Val<String>,
    resource_group_id: Val<String>,
    subnet_ids: Val<BTreeMap<String, String>>,
    route_table_id: Val<String>,
    hub_to_spoke_peering_id: Val<String>,
    spoke_to_hub_peering_id: Val<String>,
    peering_state: Val<String>,
}

#[async_trait]
impl Model for Spoke {
    const TYPE: &'static str = "trench_spoke";
    const NOUN: &'static str = "spoke";
    const IMPORT: (&'static str, &'static str) = ("Microsoft.Network/virtualNetworks", "spoke VNet");
    const ARM_TYPES: &'static [&'static str] = &[
        "Microsoft.Resources/resourceGroups",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
        "Microsoft.Network/routeTables",
    ];
    const REPLACE: &'static [(&'static str, &'static str)] = &[
        ("environment", "every object's name contains the environment, and Azure cannot rename resources."),
        ("name", "every object's name contains the spoke name, and Azure cannot rename resources."),
        ("hub_id", "a spoke is peered with one hub; moving it means new peerings and a new route."),
        ("location", "Azure cannot move a virtual network to another region."),
        ("resource_group_name", "Azure cannot move the spoke's objects by renaming their resource group."),
        ("vnet_name", "Azure cannot rename a virtual network."),
    ];

    const TIMEOUTS: Timeouts = Timeouts::minutes(30, 5, 30, 30);

    const CHECK: fn(&Self::Config) -> Diagnostics = validate_config;
    type Config = SpokeConfig;
    type Computed = SpokeComputed;

    fn attributes() -> Block {
        let s = |n: &str, d: &str| Attribute::optional_computed(n, Type::String).describe(d);
        let c = |n: &str, d: &str| Attribute::computed(n, Type::String).describe(d);
        Block::new("A spoke of the hub–spoke estate: resource group, spoke VNet (`aks-nodes`, `private-endpoints`), peerings in both directions with forwarded traffic allowed, and a route table sending `0.0.0.0/0` to the hub firewall, associated with `aks-nodes`.")
                .attr(Attribute::required("environment", Type::String).describe("Environment name; part of every name. Changing it replaces the spoke."))
                .attr(s("name", "The spoke's service name in `trench-<name>-vnet-<env>`. Default `aks`. Changing it replaces the spoke."))
                .attr(Attribute::required("hub_id", Type::String).describe("The hub VNet id (`trench_hub.<name>.id`, or the `trench_hub` data source's `id`). Changing it replaces the spoke."))
                .attr(Attribute::optional("hub_address_space", Type::list(Type::String)).describe("The hub's address space (`trench_hub.<name>.address_space`); when given, overlap with the spoke is caught at plan time. It is always checked against the hub at apply."))
                .attr(Attribute::required("firewall_private_ip", Type::String).describe("The hub firewall's private IP (`trench_hub.<name>.firewall_private_ip`): the next hop of the default route."))
                .attr(s("location", "Azure location. Default: the hub's. Changing it replaces the spoke."))
                .attr(Attribute::required("address_space", Type::list(Type::String)).describe("Spoke VNet address space, disjoint from the hub's, e.g. `[\"10.1.0.0/16\"]`. Prefixes can be added in place; peerings are re-synced."))
                .attr(Attribute::optional_computed("subnets", Type::map(Type::String)).describe("Subnets by name → prefix. Default: `aks-nodes` (the first /22) and `private-endpoints` (the next free /24)."))
                .attr(Attribute::optional_computed("route_table_subnets", Type::list(Type::String)).describe("Subnets whose egress goes through the hub firewall (associated with the route table). Default `[\"aks-nodes\"]`."))
                .attr(s("resource_group_name", "Resource group name. Default `rg-trench-<name>-<env>`. Changing it replaces the spoke."))
                .attr(s("vnet_name", "Spoke VNet name. Default `trench-<name>-vnet-<env>`. Changing it replaces the spoke."))
                .attr(s("route_table_name", "Route table name. Default `rt-<name>-nodes-<env>`."))
                .attr(c("id", "Id of the spoke VNet; the spoke's import id."))
                .attr(c("resource_group_id", "Resource group id."))
                .attr(Attribute::computed("subnet_ids", Type::map(Type::String)).describe("Subnet ids by name (`subnet_ids[\"aks-nodes\"]` for the AKS cluster)."))
                .attr(c("route_table_id", "Route table id."))
                .attr(c("hub_to_spoke_peering_id", "Id of the peering on the hub VNet."))
                .attr(c("spoke_to_hub_peering_id", "Id of the peering on the spoke VNet."))
                .attr(c("peering_state", "Peering state as Azure reports it (`Connected` when both sides exist)."))
    }

    /// Sets the defaults of optional+computed attributes the configuration
    /// leaves null; the default wins over a drifted state value.
    fn fill_defaults(planned: &mut Value, req: &PlanRequest, cfg: &SpokeConfig) {
        let Some(mut d) = Defaults::of(planned, &req.config) else { return };
        let svc = match &cfg.name {
            Val::Known(n) => Some(n.clone()),
            Val::Null => Some(names::DEFAULT_SPOKE.to_owned()),
            Val::Unknown => None,
        };
        let defaults = match (&svc, cfg.environment.known()) {
            (Some(s), Some(e)) => Some(names::spoke(s, e)),
            _ => None,
        };
        // The hub's location, learnt at apply: keep what state knows.
        if d.planned.get("location").is_none_or(Value::is_null) {
            d.planned.insert("location".into(), Value::unknown());
        }
        d.set("name", svc.clone().map(Value::String).unwrap_or_else(Value::unknown));
        d.set("resource_group_name", named(defaults.as_ref(), |n| &n.resource_group));
        d.set("vnet_name", named(defaults.as_ref(), |n| &n.vnet));
        d.set("route_table_name", named(defaults.as_ref(), |n| &n.route_table));
        d.set("route_table_subnets", Value::List(vec![Value::string(NODES_SUBNET)]));
        d.derived("subnets", &cfg.address_space, |space| default_subnets(space).map(Value::string_map));
    }

    async fn plan(cx: &mut PlanCx<'_, Self>) -> Result<SpokeComputed, Diagnostics> {
        let (cfg, pc) = (&cx.cfg, cx.planned_config()?);
        let mut computed = SpokeComputed { ..SpokeComputed::default() };
        let names_known = [&pc.name, &pc.resource_group_name, &pc.vnet_name, &pc.route_table_name].into_iter().all(|v| !v.is_unknown());
        let hub = pc.hub_id.known().and_then(|h| ResourceId::parse(h).ok());
        match (&cfg.environment, hub, names_known) {
            (Val::Known(env), Some(hub), true) => {
                let ids = SpokeIds { subscription: cx.azure.env.subscription.clone(), names: spec::spoke_names(env, &pc), hub };
                computed.id = Val::Known(ids.vnet_id().to_string());
                computed.resource_group_id = Val::Known(ids.rg_id().to_string());
                computed.route_table_id = Val::Known(ids.rt_id().to_string());
                computed.hub_to_spoke_peering_id = Val::Known(ids.hub_peering_id().to_string());
                computed.spoke_to_hub_peering_id = Val::Known(ids.spoke_peering_id().to_string());
                computed.subnet_ids = match pc.subnets.known() {
                    Some(s) => Val::Known(s.keys().map(|k| (k.clone(), ids.subnet_id(k).to_string())).collect()),
                    None => Val::Unknown,
                };
            }
            _ => computed = cx.all_unknown()?,
        }
        // "Connected" once both sides exist; a fresh or repaired spoke shows it after apply.
        let clean = cx.prior_drift().is_empty();
        computed.peering_state = match cx.prior_computed() {
            Some(p) if p.peering_state.known().is_some_and(|s| s == "Connected") && clean => p.peering_state,
            _ => Val::Unknown,
        };
        Ok(computed)
    }
}

#[cfg(test)]
mod tests;

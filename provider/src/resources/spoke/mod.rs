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

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::conventions::{self, AzureType};
use crate::resources::{cidr, common};
use trench_arm::ResourceId;
use trench_plugin::framework::plan::{self, ReplaceRule};
use trench_plugin::framework::timeouts::{self, Timeouts};
use trench_plugin::framework::{
    ApplyRequest, AttrPath, Attribute, Block, Ctx, Diagnostics, Nesting, PlanRequest, Planned, Resource, Schema, StateResult,
};
use trench_plugin::value::{Type, Val, Value, from_value};

/// The resource.
pub struct Spoke;

/// Subnet AKS nodes live in.
pub const NODES_SUBNET: &str = "aks-nodes";
/// Subnet for private endpoints.
pub const ENDPOINTS_SUBNET: &str = "private-endpoints";

fn default_timeouts() -> Timeouts {
    Timeouts {
        create: Duration::from_secs(30 * 60),
        read: Duration::from_secs(5 * 60),
        update: Duration::from_secs(30 * 60),
        delete: Duration::from_secs(30 * 60),
    }
}

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
    tags_all: Val<BTreeMap<String, String>>,
    drift: Val<Vec<String>>,
    api_versions: Val<BTreeMap<String, String>>,
}

fn schema() -> Schema {
    let s = |n: &str, d: &str| Attribute::optional_computed(n, Type::String).describe(d);
    let c = |n: &str, d: &str| Attribute::computed(n, Type::String).describe(d);
    Schema::new(
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
            .attr(Attribute::optional("tags", Type::map(Type::String)).describe("Tags for every object, merged over the provider's `default_tags` and trench's conventional tags."))
            .attr(c("id", "Id of the spoke VNet; the spoke's import id."))
            .attr(c("resource_group_id", "Resource group id."))
            .attr(Attribute::computed("subnet_ids", Type::map(Type::String)).describe("Subnet ids by name (`subnet_ids[\"aks-nodes\"]` for the AKS cluster)."))
            .attr(c("route_table_id", "Route table id."))
            .attr(c("hub_to_spoke_peering_id", "Id of the peering on the hub VNet."))
            .attr(c("spoke_to_hub_peering_id", "Id of the peering on the spoke VNet."))
            .attr(c("peering_state", "Peering state as Azure reports it (`Connected` when both sides exist)."))
            .attr(Attribute::computed("tags_all", Type::map(Type::String)).describe("The tags every object carries."))
            .attr(Attribute::computed("drift", Type::list(Type::String)).describe("Objects found differing from configuration at the last refresh, one line each; apply repairs them."))
            .attr(Attribute::computed("api_versions", Type::map(Type::String)).describe("The ARM api-version used for each resource type."))
            .block("timeouts", Nesting::Single, timeouts::block(&default_timeouts())),
    )
}

const REPLACE: &[(&str, &str)] = &[
    ("environment", "every object's name contains the environment, and Azure cannot rename resources."),
    ("name", "every object's name contains the spoke name, and Azure cannot rename resources."),
    ("hub_id", "a spoke is peered with one hub; moving it means new peerings and a new route."),
    ("location", "Azure cannot move a virtual network to another region."),
    ("resource_group_name", "Azure cannot move the spoke's objects by renaming their resource group."),
    ("vnet_name", "Azure cannot rename a virtual network."),
];

/// Names of the spoke's objects.
#[derive(Clone, Debug, PartialEq)]
pub struct SpokeNames {
    /// Resource group.
    pub resource_group: String,
    /// Spoke VNet.
    pub vnet: String,
    /// Route table.
    pub route_table: String,
    /// Peering on the hub VNet.
    pub hub_to_spoke: String,
    /// Peering on the spoke VNet.
    pub spoke_to_hub: String,
}

fn names(env: &str, cfg: &SpokeConfig) -> SpokeNames {
    let svc = cfg.name.known().cloned().unwrap_or_else(|| "aks".into());
    let pick = |v: &Val<String>, d: String| v.known().cloned().unwrap_or(d);
    SpokeNames {
        resource_group: pick(&cfg.resource_group_name, format!("rg-trench-{svc}-{env}")),
        vnet: pick(&cfg.vnet_name, format!("trench-{svc}-vnet-{env}")),
        route_table: pick(&cfg.route_table_name, format!("rt-{svc}-nodes-{env}")),
        hub_to_spoke: format!("trench-hub-to-{svc}-{env}"),
        spoke_to_hub: format!("trench-{svc}-to-hub-{env}"),
    }
}

/// Default subnets: `aks-nodes` /22 and `private-endpoints` /24.
pub fn default_subnets(space: &[String]) -> Option<BTreeMap<String, String>> {
    let nets: Vec<_> = space.iter().map(|s| cidr::parse(s)).collect::<Result<_, _>>().ok()?;
    let nodes = cidr::carve(&nets, 22, &[])?;
    let pe = cidr::carve(&nets, 24, &[nodes])?;
    Some(BTreeMap::from([(NODES_SUBNET.to_owned(), nodes.to_string()), (ENDPOINTS_SUBNET.to_owned(), pe.to_string())]))
}

fn api_versions() -> BTreeMap<String, String> {
    [
        "Microsoft.Resources/resourceGroups",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
        "Microsoft.Network/routeTables",
    ]
    .iter()
    .map(|t| ((*t).to_owned(), trench_arm::api_versions::for_type(t).unwrap_or("").to_owned()))
    .collect()
}

/// Plan-time validation; no ARM calls.
pub fn validate_config(cfg: &SpokeConfig) -> Diagnostics {
    let mut d = Diagnostics::new();
    if let Val::Known(e) = &cfg.environment
        && let Err(m) = conventions::check_environment(e)
    {
        d.add_attr_error(AttrPath::root("environment"), "Invalid environment", m);
    }
    if let Val::Known(n) = &cfg.name {
        let ok = !n.is_empty()
            && n.len() <= 20
            && n.starts_with(|c: char| c.is_ascii_lowercase())
            && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !ok {
            d.add_attr_error(
                AttrPath::root("name"),
                "Invalid spoke name",
                format!("{n:?}: 1-20 lowercase letters and digits, starting with a letter (it becomes part of every name)."),
            );
        }
    }
    if let Val::Known(l) = &cfg.location
        && let Err(m) = conventions::check_location(l)
    {
        d.add_attr_error(AttrPath::root("location"), "Unknown location", m);
    }
    if let Val::Known(h) = &cfg.hub_id {
        match ResourceId::parse(h) {
            Ok(id) if id.resource_type().eq_ignore_ascii_case("Microsoft.Network/virtualNetworks") => {}
            Ok(id) => d.add_attr_error(
                AttrPath::root("hub_id"),
                "hub_id is not a VNet id",
                format!("It names a {}; use `trench_hub.<name>.id`.", id.resource_type()),
            ),
            Err(e) => d.add_attr_error(AttrPath::root("hub_id"), "Invalid hub_id", e.to_string()),
        }
    }
    let space = match &cfg.address_space {
        Val::Known(s) => cidr::check_space(s, AttrPath::root("address_space"), &mut d),
        _ => Vec::new(),
    };
    let hub_space = match &cfg.hub_address_space {
        Val::Known(s) => cidr::check_space(s, AttrPath::root("hub_address_space"), &mut d),
        _ => Vec::new(),
    };
    for (i, n) in space.iter().enumerate() {
        if let Some(h) = hub_space.iter().find(|h| cidr::overlaps(h, n)) {
            d.add_attr_error(
                AttrPath::root("address_space").index(i),
                "Overlaps the hub",
                format!("{n} overlaps the hub's {h}; peered networks need disjoint address spaces."),
            );
        }
    }
    if let Val::Known(ip) = &cfg.firewall_private_ip {
        match ip.parse::<std::net::Ipv4Addr>() {
            Ok(a) if !hub_space.is_empty() && !hub_space.iter().any(|h| h.contains(&a)) => {
                d.add_attr_error(
                    AttrPath::root("firewall_private_ip"),
                    "Firewall IP outside the hub",
                    format!("{a} is not in the hub's address space; use trench_hub.<name>.firewall_private_ip."),
                );
            }
            Ok(a) if space.iter().any(|s| s.contains(&a)) => {
                d.add_attr_error(
                    AttrPath::root("firewall_private_ip"),
                    "Firewall IP inside the spoke",
                    format!("{a} is in the spoke's own address space; the next hop must be the hub firewall."),
                );
            }
            Ok(_) => {}
            Err(_) => {
                d.add_attr_error(AttrPath::root("firewall_private_ip"), "Invalid IP address", format!("{ip:?} is not an IPv4 address."))
            }
        }
    }
    let subnet_names: Option<Vec<String>> = match &cfg.subnets {
        Val::Known(subnets) => {
            for name in subnets.keys() {
                if let Err(m) = AzureType::Subnet.check(name) {
                    d.add_attr_error(AttrPath::root("subnets").key(name), "Invalid subnet name", m);
                }
                if name.starts_with("Azure") || name == "GatewaySubnet" {
                    d.add_attr_error(
                        AttrPath::root("subnets").key(name),
                        "Reserved subnet name",
                        format!("{name} is reserved by Azure for its own services; spokes use their own names."),
                    );
                }
            }
            cidr::check_subnets(subnets, &space, &[], AttrPath::root("subnets"), &mut d);
            Some(subnets.keys().cloned().collect())
        }
        Val::Null => {
            if !space.is_empty() && cfg.address_space.known().is_some_and(|s| default_subnets(s).is_none()) {
                d.add_attr_error(
                    AttrPath::root("address_space"),
                    "Address space too small",
                    "It must hold a /22 for aks-nodes and a /24 for private-endpoints; set `subnets` for a custom layout.",
                );
            }
            Some(vec![NODES_SUBNET.to_owned(), ENDPOINTS_SUBNET.to_owned()])
        }
        Val::Unknown => None,
    };
    if let (Val::Known(rts), Some(names)) = (&cfg.route_table_subnets, &subnet_names) {
        for (i, r) in rts.iter().enumerate() {
            if !names.contains(r) {
                d.add_attr_error(
                    AttrPath::root("route_table_subnets").index(i),
                    "Unknown subnet",
                    format!("{r:?} is not one of the spoke's subnets ({}).", names.join(", ")),
                );
            }
        }
    }
    for (v, attr, t) in [
        (&cfg.resource_group_name, "resource_group_name", AzureType::ResourceGroup),
        (&cfg.vnet_name, "vnet_name", AzureType::VirtualNetwork),
        (&cfg.route_table_name, "route_table_name", AzureType::RouteTable),
    ] {
        if let Val::Known(n) = v
            && let Err(e) = t.check(n)
        {
            d.add_attr_error(AttrPath::root(attr), "Invalid name", e);
        }
    }
    if let Val::Known(tags) = &cfg.tags {
        for (k, v) in tags {
            if let Err(e) = conventions::check_tag(k, v) {
                d.add_attr_error(AttrPath::root("tags").key(k), "Invalid tag", e);
            }
        }
    }
    d
}

/// Sets the defaults of optional+computed attributes the configuration
/// leaves null; the default wins over a drifted state value.
fn fill_defaults(planned: &mut Value, config: &Value, cfg: &SpokeConfig) {
    let Value::Object(m) = planned else { return };
    let unset = |k: &str| config.get_attr(k).is_none_or(Value::is_null);
    let svc = match &cfg.name {
        Val::Known(n) => Some(n.clone()),
        Val::Null => Some("aks".to_owned()),
        Val::Unknown => None,
    };
    let env = cfg.environment.known().cloned();
    let name = |f: &dyn Fn(&str, &str) -> String| match (&svc, &env) {
        (Some(s), Some(e)) => Value::string(f(s, e)),
        _ => Value::unknown(),
    };
    // The hub's location, learnt at apply: keep what state knows.
    if m.get("location").is_none_or(Value::is_null) {
        m.insert("location".into(), Value::unknown());
    }
    let mut set = |k: &str, v: Value| {
        if unset(k) {
            m.insert(k.to_owned(), v);
        }
    };
    set("name", svc.clone().map(Value::String).unwrap_or_else(Value::unknown));
    set("resource_group_name", name(&|s, e| format!("rg-trench-{s}-{e}")));
    set("vnet_name", name(&|s, e| format!("trench-{s}-vnet-{e}")));
    set("route_table_name", name(&|s, e| format!("rt-{s}-nodes-{e}")));
    set("route_table_subnets", Value::List(vec![Value::string(NODES_SUBNET)]));
    let subnets = match &cfg.address_space {
        Val::Known(space) => default_subnets(space)
            .map(|s| Value::Map(s.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
            .unwrap_or_else(Value::unknown),
        _ => Value::unknown(),
    };
    set("subnets", subnets);
}

#[async_trait]
impl Resource for Spoke {
    fn type_name(&self) -> &'static str {
        "trench_spoke"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        common::validate::<SpokeConfig>(config, default_timeouts(), validate_config)
    }

    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> Planned {
        let common::PlanStart { cfg, diags: mut d, azure, mut planned } =
            match common::plan_start::<SpokeConfig>(ctx, &req, validate_config, fill_defaults) {
                Ok(s) => s,
                Err(p) => return p,
            };
        let rules: Vec<ReplaceRule> = REPLACE.iter().map(|(a, r)| ReplaceRule { path: AttrPath::root(a), reason: r }).collect();
        let (requires_replace, warnings) = plan::requires_replace(&req.prior, &planned, &rules, "spoke");
        d.extend(warnings);
        let pc: SpokeConfig = match from_value(&planned) {
            Ok(c) => c,
            Err(e) => return Planned::failed(e.into()),
        };
        let mut computed =
            SpokeComputed { drift: Val::Known(Vec::new()), api_versions: Val::Known(api_versions()), ..SpokeComputed::default() };
        computed.tags_all = common::planned_tags_all(&azure.default_tags, &cfg.environment, &cfg.tags);
        let names_known = [&pc.name, &pc.resource_group_name, &pc.vnet_name, &pc.route_table_name].into_iter().all(|v| !v.is_unknown());
        match (&cfg.environment, &pc.hub_id, names_known) {
            (Val::Known(env), Val::Known(hub), true) => {
                let ids = apply::SpokeIds {
                    subscription: azure.subscription.clone(),
                    names: names(env, &pc),
                    hub: ResourceId::parse(hub).expect("validated"),
                };
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
            _ => {
                computed.id = Val::Unknown;
                computed.resource_group_id = Val::Unknown;
                computed.route_table_id = Val::Unknown;
                computed.hub_to_spoke_peering_id = Val::Unknown;
                computed.spoke_to_hub_peering_id = Val::Unknown;
                computed.subnet_ids = Val::Unknown;
            }
        }
        // "Connected" once both sides exist; a fresh or repaired spoke shows it after apply.
        let prior_state: Option<SpokeComputed> =
            if req.prior.is_null() || !requires_replace.is_empty() { None } else { from_value(&req.prior).ok() };
        computed.peering_state = match prior_state {
            Some(p) if p.peering_state.known().is_some_and(|s| s == "Connected") && p.drift.known().is_none_or(Vec::is_empty) => {
                p.peering_state
            }
            _ => Val::Unknown,
        };
        if let Err(e) = common::patch(&mut planned, &computed) {
            return Planned::failed(e);
        }
        Planned::of(planned, requires_replace, d)
    }

    async fn apply(&self, ctx: &Ctx, req: ApplyRequest) -> StateResult {
        apply::apply(ctx, req).await
    }

    async fn read(&self, ctx: &Ctx, state: Value, private: Vec<u8>) -> StateResult {
        observe::read(ctx, state, private).await
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> StateResult {
        observe::import(ctx, id).await
    }
}

#[cfg(test)]
mod tests;

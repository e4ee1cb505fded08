//! Plan-time checks of trench_spoke: names, the address plan against the
//! hub's, the next hop and route table subnets, each on its attribute.

use trench_arm::ResourceId;
use trench_plugin::framework::{AttrPath, Diagnostics};
use trench_plugin::value::Val;

use super::spec::default_subnets;
use super::{ENDPOINTS_SUBNET, NODES_SUBNET, SpokeConfig};
use crate::conventions::AzureType;
use crate::resources::{checks, cidr};

/// Plan-time validation; no ARM calls.
pub fn validate_config(cfg: &SpokeConfig) -> Diagnostics {
    let mut d = Diagnostics::new();
    checks::environment(&cfg.environment, &mut d);
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
    checks::location(&cfg.location, &mut d);
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
    checks::tags(&cfg.tags, &mut d);
    d
}

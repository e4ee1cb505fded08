//! Egress from a subnet: the effective route (system routes, peerings, the subnet's route table),
//! then, when the next hop is an Azure Firewall, its policy as the firewall processes it: network
//! rule collections before application rule collections, each in rule collection group then
//! collection priority order, the first matching rule deciding; no match is the default deny.
//! Network security groups are not evaluated (see PARITY.md).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::step;
use crate::armpath::key_of;
use crate::error::ArmError;
use crate::jpath;
use crate::state::State;
use crate::types::firewall::{FIREWALL_TYPE, RCG_TYPE};
use crate::types::vnet::{PEERING_TYPE, SUBNET_TYPE, subnet_net};

/// FQDN tags as Azure Firewall expands them (only the ones the estate uses; Microsoft's lists).
const FQDN_TAGS: &[(&str, &[&str])] = &[(
    "AzureKubernetesService",
    &[
        "*.hcp.*.azmk8s.io",
        "mcr.microsoft.com",
        "*.data.mcr.microsoft.com",
        "mcr-0001.mcr-msedge.net",
        "management.azure.com",
        "login.microsoftonline.com",
        "packages.microsoft.com",
        "acs-mirror.azureedge.net",
        "packages.aks.azure.com",
    ],
)];

/// Service tags, by the public names of the services behind them (network rules name tags, flows
/// name hosts). `AzureCloud.<region>` stands for the AKS control plane of that region.
const SERVICE_TAGS: &[(&str, &[&str])] = &[
    ("AzureContainerRegistry", &["*.azurecr.io"]),
    (
        "AzureMonitor",
        &[
            "*.ods.opinsights.azure.com",
            "*.oms.opinsights.azure.com",
            "*.monitoring.azure.com",
            "*.ingest.monitor.azure.com",
            "*.handler.control.monitor.azure.com",
        ],
    ),
    ("ServiceBus", &["*.servicebus.windows.net"]),
    ("Storage", &["*.blob.core.windows.net"]),
    ("AzureKeyVault", &["*.vault.azure.net"]),
];

/// The destination of a flow: an address (private or given), or a public host.
enum Dest {
    Ip(Ipv4Addr),
    Host(String),
}

/// Whether a TCP/UDP flow from subnet `from` to `to` (FQDN or IP) on `port` leaves the estate.
pub(crate) fn egress(st: &State, from: &str, to: &str, port: u16, protocol: &str) -> Result<Value, ArmError> {
    let subnet = st
        .get(&key_of(from))
        .filter(|s| s.is(SUBNET_TYPE))
        .ok_or_else(|| ArmError::not_found("ResourceNotFound", format!("The subnet '{from}' was not found.")))?;
    let vnet_id = from.rsplitn(3, '/').nth(2).unwrap_or_default().to_string();
    let source = subnet_net(subnet).ok_or_else(|| ArmError::bad_request("InvalidRequest", format!("{from} has no address prefix.")))?;
    let mut chain = Vec::new();
    let dest = match to.parse::<Ipv4Addr>() {
        Ok(ip) => Dest::Ip(ip),
        Err(_) => {
            let r = super::dns(st, &vnet_id, to)?;
            chain.extend(r["chain"].as_array().cloned().unwrap_or_default());
            match r["answer"]["ips"][0].as_str().and_then(|s| s.parse().ok()) {
                Some(ip) => Dest::Ip(ip),
                None if r["answer"]["kind"] == "nxdomain" => {
                    return Ok(verdict(from, to, port, protocol, false, "the name does not resolve", chain));
                }
                None => Dest::Host(to.trim_end_matches('.').to_ascii_lowercase()),
            }
        }
    };

    // Effective routes: longest prefix wins; a user route wins over a system route of equal length.
    let mut routes: Vec<(Ipv4Net, bool, String, Option<String>, String)> = Vec::new(); // prefix, user, hop type, hop ip, source id
    if let Some(vnet) = st.get(&key_of(&vnet_id)) {
        for p in jpath::array(&vnet.body, "properties.addressSpace.addressPrefixes") {
            if let Some(n) = p.as_str().and_then(|s| s.parse().ok()) {
                routes.push((n, false, "VnetLocal".into(), None, vnet_id.clone()));
            }
        }
    }
    for peering in st.children(&key_of(&vnet_id), PEERING_TYPE) {
        if peering.prop_str("peeringState") != Some("Connected") {
            continue;
        }
        for p in jpath::array(&peering.body, "properties.remoteAddressSpace.addressPrefixes") {
            if let Some(n) = p.as_str().and_then(|s| s.parse().ok()) {
                routes.push((n, false, "VNetPeering".into(), None, peering.id.clone()));
            }
        }
    }
    routes.push(("0.0.0.0/0".parse().expect("prefix"), false, "Internet".into(), None, "system route".into()));
    if let Some(rt_id) = subnet.prop_str("routeTable.id")
        && let Some(rt) = st.get(&key_of(rt_id))
    {
        for r in jpath::array(&rt.body, "properties.routes") {
            let Some(n) = jpath::get_str(r, "properties.addressPrefix").and_then(|s| s.parse().ok()) else { continue };
            let hop = jpath::get_str(r, "properties.nextHopType").unwrap_or("None").to_string();
            let ip = jpath::get_str(r, "properties.nextHopIpAddress").map(str::to_string);
            routes.push((n, true, hop, ip, format!("{}/routes/{}", rt.id, r.get("name").and_then(Value::as_str).unwrap_or(""))));
        }
    }
    let best = routes
        .iter()
        .filter(|(n, ..)| match &dest {
            Dest::Ip(ip) => n.contains(ip),
            // A public host's address is not modelled: only default routes apply to it.
            Dest::Host(_) => n.prefix_len() == 0,
        })
        .max_by_key(|(n, user, ..)| (n.prefix_len(), *user))
        .cloned()
        .expect("the default route matches everything");
    let (_, _, hop, hop_ip, route_id) = best;
    chain.push(step("route", &route_id, format!("next hop {hop}{}", hop_ip.as_deref().map(|i| format!(" {i}")).unwrap_or_default())));
    match hop.as_str() {
        "VnetLocal" | "VNetPeering" => {
            return Ok(verdict(from, to, port, protocol, true, "delivered inside the network (NSGs are not evaluated)", chain));
        }
        "Internet" => return Ok(verdict(from, to, port, protocol, true, "leaves through Azure's default outbound access", chain)),
        "VirtualAppliance" => {}
        other => return Ok(verdict(from, to, port, protocol, false, &format!("next hop {other} drops the flow"), chain)),
    }
    let hop_ip = hop_ip.unwrap_or_default();
    let Some(fw) = st.of_type(FIREWALL_TYPE).find(|f| {
        jpath::array(&f.body, "properties.ipConfigurations")
            .iter()
            .any(|c| jpath::get_str(c, "properties.privateIPAddress") == Some(hop_ip.as_str()))
    }) else {
        return Ok(verdict(from, to, port, protocol, false, &format!("no firewall answers at {hop_ip}"), chain));
    };
    chain.push(step("firewall", &fw.id, format!("private IP {hop_ip}")));
    let Some(policy) = fw.prop_str("firewallPolicy.id").map(str::to_string) else {
        return Ok(verdict(from, to, port, protocol, false, "the firewall has no policy: default deny", chain));
    };
    let region = fw.location().unwrap_or_default().to_ascii_lowercase();
    let mut collections: Vec<(i64, i64, String, Value)> = Vec::new();
    for rcg in st.children(&key_of(&policy), RCG_TYPE) {
        let group_priority = rcg.prop("priority").and_then(Value::as_i64).unwrap_or(65000);
        for c in jpath::array(&rcg.body, "properties.ruleCollections") {
            collections.push((group_priority, c.get("priority").and_then(Value::as_i64).unwrap_or(65000), rcg.id.clone(), c.clone()));
        }
    }
    collections.sort_by_key(|(g, c, ..)| (*g, *c));
    for kind in ["NetworkRule", "ApplicationRule"] {
        for (_, _, rcg_id, c) in &collections {
            for rule in jpath::array(c, "rules") {
                if rule.get("ruleType").and_then(Value::as_str) != Some(kind) {
                    continue;
                }
                let hit = if kind == "NetworkRule" {
                    network_match(rule, &source, &dest, port, protocol, &region)
                } else {
                    app_match(rule, &source, &dest, port)
                };
                if hit {
                    let allow = jpath::get_str(c, "action.type").is_some_and(|a| a.eq_ignore_ascii_case("Allow"));
                    let name = format!(
                        "{}/{}",
                        c.get("name").and_then(Value::as_str).unwrap_or(""),
                        rule.get("name").and_then(Value::as_str).unwrap_or("")
                    );
                    chain.push(step(if kind == "NetworkRule" { "network rule" } else { "application rule" }, rcg_id, name));
                    let why = if allow { "allowed by the firewall policy" } else { "denied by the firewall policy" };
                    return Ok(verdict(from, to, port, protocol, allow, why, chain));
                }
            }
        }
    }
    chain.push(step("firewall policy", &policy, "no rule matched: default deny"));
    Ok(verdict(from, to, port, protocol, false, "no rule matched", chain))
}

fn verdict(from: &str, to: &str, port: u16, protocol: &str, allowed: bool, why: &str, chain: Vec<Value>) -> Value {
    json!({"from": from, "to": to, "port": port, "protocol": protocol, "allowed": allowed, "reason": why, "chain": chain})
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

fn source_match(rule: &Value, source: &Ipv4Net) -> bool {
    strings(rule.get("sourceAddresses")).iter().any(|s| {
        s == "*"
            || s.parse::<Ipv4Net>().is_ok_and(|n| n.contains(source))
            || s.parse::<Ipv4Addr>().is_ok_and(|ip| source.prefix_len() == 32 && source.addr() == ip)
    })
}

fn port_match(ports: &[String], port: u16) -> bool {
    ports.iter().any(|p| {
        p == "*"
            || p.parse::<u16>() == Ok(port)
            || p.split_once('-')
                .is_some_and(|(a, b)| a.parse::<u16>().is_ok_and(|a| a <= port) && b.parse::<u16>().is_ok_and(|b| port <= b))
    })
}

/// Azure Firewall's FQDN pattern: `*` alone matches everything, `*.x` any name under x.
fn fqdn_match(pattern: &str, host: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    if p == "*" {
        return true;
    }
    if p.contains('*') {
        let re = format!("^{}$", regex::escape(&p).replace(r"\*", "[^ ]+"));
        return regex::Regex::new(&re).is_ok_and(|r| r.is_match(host));
    }
    p == host
}

fn network_match(rule: &Value, source: &Ipv4Net, dest: &Dest, port: u16, protocol: &str, region: &str) -> bool {
    let protocols = strings(rule.get("ipProtocols"));
    if !protocols.iter().any(|p| p.eq_ignore_ascii_case("Any") || p.eq_ignore_ascii_case(protocol)) {
        return false;
    }
    if !source_match(rule, source) || !port_match(&strings(rule.get("destinationPorts")), port) {
        return false;
    }
    let addresses = strings(rule.get("destinationAddresses"));
    let fqdns = strings(rule.get("destinationFqdns"));
    match dest {
        Dest::Ip(ip) => {
            addresses.iter().any(|a| a == "*" || a.parse::<Ipv4Net>().is_ok_and(|n| n.contains(ip)) || a.parse::<Ipv4Addr>() == Ok(*ip))
        }
        Dest::Host(h) => addresses.iter().any(|a| a == "*" || tag_covers(a, h, region)) || fqdns.iter().any(|f| fqdn_match(f, h)),
    }
}

fn tag_covers(tag: &str, host: &str, region: &str) -> bool {
    if let Some(r) = tag.strip_prefix("AzureCloud.") {
        return r.eq_ignore_ascii_case(region) && fqdn_match(&format!("*.hcp.{}.azmk8s.io", r.to_ascii_lowercase()), host);
    }
    // A regional tag (`ServiceBus.westeurope`) covers the service's names in that region; armsim
    // places every estate object in the firewall's region.
    let base = match tag.split_once('.') {
        Some((b, r)) if r.eq_ignore_ascii_case(region) => b,
        Some(_) => return false,
        None => tag,
    };
    SERVICE_TAGS.iter().any(|(t, names)| t.eq_ignore_ascii_case(base) && names.iter().any(|n| fqdn_match(n, host)))
}

fn app_match(rule: &Value, source: &Ipv4Net, dest: &Dest, port: u16) -> bool {
    // Application rules match on the host name (SNI / Host header): a flow to a bare address
    // matches only an all-names rule.
    let host = match dest {
        Dest::Host(h) => h.as_str(),
        Dest::Ip(_) => "",
    };
    let ports: Vec<u16> =
        jpath::array(rule, "protocols").iter().filter_map(|p| p.get("port").and_then(Value::as_u64)).map(|p| p as u16).collect();
    if !source_match(rule, source) || !ports.contains(&port) {
        return false;
    }
    let targets = strings(rule.get("targetFqdns"));
    let tags = strings(rule.get("fqdnTags"));
    targets.iter().any(|t| t == "*" || (!host.is_empty() && fqdn_match(t, host)))
        || tags.iter().any(|t| {
            FQDN_TAGS
                .iter()
                .any(|(name, fqdns)| name.eq_ignore_ascii_case(t) && !host.is_empty() && fqdns.iter().any(|f| fqdn_match(f, host)))
        })
}

#[cfg(test)]
mod tests {
    use super::{fqdn_match, port_match};

    #[test]
    fn firewall_fqdn_patterns_match_names_under_the_wildcard_only() {
        assert!(fqdn_match("*.azurecr.io", "trenchacrcoredev.azurecr.io"));
        assert!(!fqdn_match("*.azurecr.io", "azurecr.io.evil.example"));
        assert!(fqdn_match("*.hcp.*.azmk8s.io", "x-1.hcp.westeurope.azmk8s.io"));
        assert!(fqdn_match("*", "example.com"));
        assert!(!fqdn_match("mcr.microsoft.com", "example.com"));
    }

    #[test]
    fn firewall_ports_take_single_values_ranges_and_any() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(port_match(&p(&["443"]), 443));
        assert!(port_match(&p(&["8000-9000"]), 8443));
        assert!(port_match(&p(&["*"]), 1));
        assert!(!port_match(&p(&["80", "1194"]), 443));
    }
}

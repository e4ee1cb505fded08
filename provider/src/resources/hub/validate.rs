//! Plan-time checks of trench_hub: names, the address plan, rule lists and
//! the jump host, each reported on its attribute with no ARM call.

use trench_plugin::framework::{AttrPath, Diagnostics};
use trench_plugin::value::Val;

use super::HubConfig;
use super::spec::{FIREWALL_SUBNET, SHARED_SUBNET, default_subnets, parse_egress};
use crate::conventions::AzureType;
use crate::resources::{checks, cidr};

fn check_addresses(list: &[String], path: AttrPath, allow_tags: bool, d: &mut Diagnostics) {
    if list.is_empty() {
        d.add_attr_error(path.clone(), "No addresses", "Give at least one address, CIDR or `*`.");
    }
    for (i, a) in list.iter().enumerate() {
        let ok = a == "*"
            || cidr::parse(a).is_ok()
            || a.parse::<std::net::Ipv4Addr>().is_ok()
            || (allow_tags && a.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !a.contains(' '));
        if !ok {
            d.add_attr_error(
                path.clone().index(i),
                "Invalid address",
                format!("{a:?} is not an IPv4 address, a CIDR{} or `*`.", if allow_tags { ", a service tag" } else { "" }),
            );
        }
    }
}

/// Plan-time validation; no ARM calls.
pub fn validate_config(cfg: &HubConfig) -> Diagnostics {
    let mut d = Diagnostics::new();
    checks::environment(&cfg.environment, &mut d);
    checks::location(&cfg.location, &mut d);
    let space = match &cfg.address_space {
        Val::Known(s) => cidr::check_space(s, AttrPath::root("address_space"), &mut d),
        _ => Vec::new(),
    };
    match &cfg.subnets {
        Val::Known(subnets) => {
            for name in subnets.keys() {
                if let Err(m) = AzureType::Subnet.check(name) {
                    d.add_attr_error(AttrPath::root("subnets").key(name), "Invalid subnet name", m);
                }
            }
            cidr::check_subnets(subnets, &space, &[(FIREWALL_SUBNET, 26)], AttrPath::root("subnets"), &mut d);
            if !subnets.contains_key(FIREWALL_SUBNET) {
                d.add_attr_error(
                    AttrPath::root("subnets"),
                    "AzureFirewallSubnet missing",
                    "The firewall needs a subnet named exactly AzureFirewallSubnet (/26 or larger).",
                );
            }
            if matches!(cfg.jump_host, Val::Known(_)) && !subnets.contains_key(SHARED_SUBNET) {
                d.add_attr_error(
                    AttrPath::root("subnets"),
                    "shared-services missing",
                    "The jump host lives in a subnet named shared-services.",
                );
            }
        }
        Val::Null if !space.is_empty() && default_subnets(cfg.address_space.known().map(Vec::as_slice).unwrap_or(&[])).is_none() => {
            d.add_attr_error(
                AttrPath::root("address_space"),
                "Address space too small",
                "It must hold a /26 for AzureFirewallSubnet and a /24 for shared-services; set `subnets` explicitly for a custom layout.",
            );
        }
        _ => {}
    }
    if let Val::Known(t) = &cfg.firewall_sku_tier {
        match t.as_str() {
            "Standard" | "Premium" => {}
            "Basic" => d.add_attr_error(AttrPath::root("firewall_sku_tier"), "Basic firewalls are not supported", "Azure Firewall Basic needs a separate management subnet and public IP, which this hub does not create; use Standard or Premium."),
            _ => d.add_attr_error(AttrPath::root("firewall_sku_tier"), "Invalid firewall SKU tier", format!("{t:?}: use \"Standard\" or \"Premium\" (case-sensitive, as ARM spells them).")),
        }
    }
    if let Val::Known(m) = &cfg.threat_intel_mode
        && !["Alert", "Deny", "Off"].contains(&m.as_str())
    {
        d.add_attr_error(
            AttrPath::root("threat_intel_mode"),
            "Invalid threat intelligence mode",
            format!("{m:?}: use \"Alert\", \"Deny\" or \"Off\"."),
        );
    }
    if let Val::Known(m) = &cfg.egress_mode
        && parse_egress(m).is_none()
    {
        d.add_attr_error(
            AttrPath::root("egress_mode"),
            "Invalid egress mode",
            format!("{m:?}: use \"strict\" (only AKS, registries and your rules) or \"loose\" (allow all, for bring-up)."),
        );
    }
    if let Val::Known(src) = &cfg.egress_source_addresses {
        check_addresses(src, AttrPath::root("egress_source_addresses"), false, &mut d);
    }
    if let Val::Known(rules) = &cfg.application_rules {
        let mut seen = std::collections::HashSet::new();
        for (i, r) in rules.iter().enumerate() {
            let p = AttrPath::root("application_rules").index(i);
            if !seen.insert(r.name.to_ascii_lowercase()) {
                d.add_attr_error(p.clone().attr("name"), "Duplicate rule name", format!("{:?} is used twice.", r.name));
            }
            check_addresses(&r.source_addresses, p.clone().attr("source_addresses"), false, &mut d);
            if r.target_fqdns.is_empty() || r.target_fqdns.iter().any(|f| f.is_empty() || f.contains(' ') || f.contains('/')) {
                d.add_attr_error(
                    p.clone().attr("target_fqdns"),
                    "Invalid FQDNs",
                    "Give host names such as `github.com` or `*.example.com` (no schemes or paths).",
                );
            }
            for (j, proto) in r.protocols.iter().enumerate() {
                let ok = proto
                    .split_once(':')
                    .is_some_and(|(t, port)| ["Http", "Https", "Mssql"].contains(&t) && port.parse::<u16>().is_ok_and(|p| p > 0));
                if !ok {
                    d.add_attr_error(
                        p.clone().attr("protocols").index(j),
                        "Invalid protocol",
                        format!("{proto:?}: use `Https:443`, `Http:80` or `Mssql:1433`."),
                    );
                }
            }
        }
    }
    if let Val::Known(rules) = &cfg.network_rules {
        let mut seen = std::collections::HashSet::new();
        for (i, r) in rules.iter().enumerate() {
            let p = AttrPath::root("network_rules").index(i);
            if !seen.insert(r.name.to_ascii_lowercase()) {
                d.add_attr_error(p.clone().attr("name"), "Duplicate rule name", format!("{:?} is used twice.", r.name));
            }
            for (j, proto) in r.protocols.iter().enumerate() {
                if !["TCP", "UDP", "ICMP", "Any"].contains(&proto.as_str()) {
                    d.add_attr_error(
                        p.clone().attr("protocols").index(j),
                        "Invalid protocol",
                        format!("{proto:?}: use TCP, UDP, ICMP or Any."),
                    );
                }
            }
            check_addresses(&r.source_addresses, p.clone().attr("source_addresses"), false, &mut d);
            check_addresses(&r.destination_addresses, p.clone().attr("destination_addresses"), true, &mut d);
            for (j, port) in r.destination_ports.iter().enumerate() {
                let ok = port == "*"
                    || port.parse::<u16>().is_ok_and(|p| p > 0)
                    || port
                        .split_once('-')
                        .is_some_and(|(a, b)| matches!((a.parse::<u16>(), b.parse::<u16>()), (Ok(a), Ok(b)) if a > 0 && a <= b));
                if !ok {
                    d.add_attr_error(
                        p.clone().attr("destination_ports").index(j),
                        "Invalid port",
                        format!("{port:?}: use a port (443), a range (1000-2000) or `*`."),
                    );
                }
            }
        }
    }
    if let Val::Known(cidrs) = &cfg.admin_cidrs {
        for (i, c) in cidrs.iter().enumerate() {
            if let Err(e) = cidr::parse(c) {
                d.add_attr_error(AttrPath::root("admin_cidrs").index(i), "Invalid admin CIDR", e);
            }
        }
    }
    if let Val::Known(j) = &cfg.jump_host {
        if matches!(&cfg.admin_cidrs, Val::Null) || matches!(&cfg.admin_cidrs, Val::Known(c) if c.is_empty()) {
            d.add_attr_error(
                AttrPath::root("admin_cidrs"),
                "Jump host without admin CIDRs",
                "The jump host only accepts SSH from admin_cidrs; give at least one, e.g. your office's public range.",
            );
        }
        if let Val::Known(k) = &j.ssh_public_key {
            let ok = ["ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ", "ecdsa-sha2-nistp521 "]
                .iter()
                .any(|p| k.starts_with(p))
                && k.split_whitespace().nth(1).is_some_and(|b| b.len() >= 16);
            if !ok {
                d.add_attr_error(
                    AttrPath::root("jump_host").attr("ssh_public_key"),
                    "Invalid SSH public key",
                    "Give an OpenSSH public key line such as `ssh-ed25519 AAAAC3Nza… user@host`.",
                );
            }
        }
        if let Val::Known(size) = &j.size
            && (!size.starts_with("Standard_") || size.contains(' '))
        {
            d.add_attr_error(
                AttrPath::root("jump_host").attr("size"),
                "Invalid VM size",
                format!("{size:?}: VM sizes look like `Standard_B2s`."),
            );
        }
        if let Val::Known(u) = &j.admin_username {
            let reserved = ["admin", "administrator", "root", "guest", "user", "test", "azureadmin"];
            if u.is_empty()
                || u.len() > 32
                || !u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
                || reserved.contains(&u.as_str())
            {
                d.add_attr_error(
                    AttrPath::root("jump_host").attr("admin_username"),
                    "Invalid admin username",
                    format!("{u:?}: 1-32 lowercase letters, digits, '-' or '_', and not a reserved name ({}).", reserved.join(", ")),
                );
            }
        }
    }
    checks::name(&cfg.resource_group_name, "resource_group_name", AzureType::ResourceGroup, &mut d);
    checks::name(&cfg.vnet_name, "vnet_name", AzureType::VirtualNetwork, &mut d);
    checks::name(&cfg.firewall_name, "firewall_name", AzureType::Firewall, &mut d);
    checks::name(&cfg.firewall_policy_name, "firewall_policy_name", AzureType::FirewallPolicy, &mut d);
    checks::name(&cfg.public_ip_name, "public_ip_name", AzureType::PublicIp, &mut d);
    checks::tags(&cfg.tags, &mut d);
    d
}

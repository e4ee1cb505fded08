//! Address-plan checks done at plan time, with no ARM call: CIDRs parse,
//! subnets sit inside the address space and do not overlap, reserved
//! subnets are big enough, address spaces of peered networks are disjoint.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use trench_plugin::framework::{AttrPath, Diagnostics};

/// Parses an IPv4 CIDR, insisting on the network address (`10.0.0.0/16`,
/// not `10.0.0.1/16`), as ARM does.
pub fn parse(s: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = s.parse().map_err(|_| format!("{s:?} is not an IPv4 CIDR such as \"10.0.0.0/16\""))?;
    if net.trunc() != net {
        return Err(format!("{s:?} has host bits set; the network is {}", net.trunc()));
    }
    Ok(net)
}

/// Checks an address space (list of CIDRs) attribute.
pub fn check_space(spaces: &[String], path: AttrPath, d: &mut Diagnostics) -> Vec<Ipv4Net> {
    let mut nets = Vec::new();
    if spaces.is_empty() {
        d.add_attr_error(path.clone(), "Empty address space", "Give at least one CIDR, for example [\"10.0.0.0/16\"].");
    }
    for (i, s) in spaces.iter().enumerate() {
        match parse(s) {
            Ok(n) => {
                if let Some(o) = nets.iter().find(|o: &&Ipv4Net| overlaps(o, &n)) {
                    d.add_attr_error(
                        path.clone().index(i),
                        "Overlapping address space",
                        format!("{n} overlaps {o} in the same address space."),
                    );
                }
                nets.push(n);
            }
            Err(e) => d.add_attr_error(path.clone().index(i), "Invalid CIDR", e),
        }
    }
    nets
}

/// True if two networks share any address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Checks subnets (name → prefix) against the address space; `min_prefix`
/// gives reserved subnets' minimum size (e.g. AzureFirewallSubnet → 26).
pub fn check_subnets(
    subnets: &BTreeMap<String, String>,
    space: &[Ipv4Net],
    min_prefix: &[(&str, u8)],
    path: AttrPath,
    d: &mut Diagnostics,
) {
    let mut seen: Vec<(&str, Ipv4Net)> = Vec::new();
    for (name, prefix) in subnets {
        let p = path.clone().key(name);
        let net = match parse(prefix) {
            Ok(n) => n,
            Err(e) => {
                d.add_attr_error(p, "Invalid subnet prefix", e);
                continue;
            }
        };
        if !space.is_empty() && !space.iter().any(|s| s.contains(&net)) {
            let list = space.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            d.add_attr_error(
                p.clone(),
                "Subnet outside the address space",
                format!("{name} ({net}) is not inside the address space ({list})."),
            );
        }
        if net.prefix_len() > 29 {
            d.add_attr_error(
                p.clone(),
                "Subnet too small",
                format!("{name} ({net}): Azure subnets must be /29 or larger (Azure reserves 5 addresses in each)."),
            );
        }
        if let Some((_, min)) = min_prefix.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))
            && net.prefix_len() > *min
        {
            d.add_attr_error(
                p.clone(),
                format!("{name} is too small"),
                format!("Azure requires {name} to be /{min} or larger; {net} is /{}.", net.prefix_len()),
            );
        }
        if let Some((other, o)) = seen.iter().find(|(_, o)| overlaps(o, &net)) {
            d.add_attr_error(p.clone(), "Overlapping subnets", format!("{name} ({net}) overlaps {other} ({o})."));
        }
        seen.push((name.as_str(), net));
    }
}

/// The first `/len` block of `space` that does not overlap `taken`.
pub fn carve(space: &[Ipv4Net], len: u8, taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    for s in space {
        if len < s.prefix_len() {
            continue;
        }
        if let Ok(mut subs) = s.subnets(len)
            && let Some(n) = subs.find(|n| !taken.iter().any(|t| overlaps(t, n)))
        {
            return Some(n);
        }
    }
    None
}

/// The Nth usable host address of a subnet (Azure reserves .0-.3 and the
/// broadcast address; the first usable is .4).
pub fn nth_host(net: &Ipv4Net, n: u32) -> Option<std::net::Ipv4Addr> {
    let base = u32::from(net.network());
    let last = u32::from(net.broadcast());
    let ip = base.checked_add(n)?;
    (ip < last).then(|| std::net::Ipv4Addr::from(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<Ipv4Net> {
        s.iter().map(|x| parse(x).unwrap()).collect()
    }

    #[test]
    fn parse_rejects_host_bits_and_garbage() {
        assert!(parse("10.0.0.0/16").is_ok());
        assert!(parse("10.0.0.1/16").unwrap_err().contains("host bits"));
        assert!(parse("10.0.0.0").is_err());
        assert!(parse("fd00::/8").is_err());
    }

    #[test]
    fn subnet_rules_each_name_the_subnet() {
        let space = nets(&["10.0.0.0/16"]);
        let subnets = BTreeMap::from([
            ("AzureFirewallSubnet".to_owned(), "10.0.0.0/27".to_owned()),
            ("shared-services".to_owned(), "10.0.0.0/24".to_owned()),
            ("outside".to_owned(), "10.9.0.0/24".to_owned()),
            ("tiny".to_owned(), "10.0.5.0/30".to_owned()),
        ]);
        let mut d = Diagnostics::new();
        check_subnets(&subnets, &space, &[("AzureFirewallSubnet", 26)], AttrPath::root("subnets"), &mut d);
        let got: Vec<(String, String)> = d.iter().map(|x| (x.path.as_ref().unwrap().to_string(), x.summary.clone())).collect();
        assert_eq!(
            got,
            vec![
                ("subnets[\"AzureFirewallSubnet\"]".into(), "AzureFirewallSubnet is too small".into()),
                ("subnets[\"outside\"]".into(), "Subnet outside the address space".into()),
                ("subnets[\"shared-services\"]".into(), "Overlapping subnets".into()),
                ("subnets[\"tiny\"]".into(), "Subnet too small".into()),
            ]
        );
    }

    #[test]
    fn carving_skips_taken_blocks() {
        let space = nets(&["10.1.0.0/16"]);
        let first = carve(&space, 22, &[]).unwrap();
        assert_eq!(first.to_string(), "10.1.0.0/22");
        let second = carve(&space, 24, &[first]).unwrap();
        assert_eq!(second.to_string(), "10.1.4.0/24");
        assert_eq!(carve(&nets(&["10.0.0.0/27"]), 26, &[]), None);
        assert_eq!(nth_host(&first, 4).unwrap().to_string(), "10.1.0.4");
    }
}

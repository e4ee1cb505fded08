//! IPv4 prefix checks and address allocation (Azure reserves .0–.3 and the broadcast address).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::error::ArmError;

/// Parses a CIDR the way the Network RP does: host bits set is `InvalidCIDRNotation`.
pub(crate) fn prefix(s: &str, owner: &str) -> Result<Ipv4Net, ArmError> {
    let net: Ipv4Net = s.trim().parse().map_err(|_| {
        ArmError::bad_request("InvalidCIDRNotation", format!("The address prefix {s} in resource {owner} has an invalid CIDR notation."))
    })?;
    if net.trunc() != net {
        return Err(ArmError::bad_request(
            "InvalidCIDRNotation",
            format!(
                "The address prefix {s} in resource {owner} has an invalid CIDR notation. For the given prefix length, the address prefix should be {}.",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}

/// The `n`th address of a prefix (n = 4 is the first Azure hands out).
pub(crate) fn nth(net: &Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()).wrapping_add(n))
}

/// First free address from .4 up, skipping the broadcast address.
pub(crate) fn allocate(net: &Ipv4Net, used: &BTreeSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let size = 1u64 << (32 - net.prefix_len());
    (4..size.saturating_sub(1)).map(|n| nth(net, n as u32)).find(|a| !used.contains(a))
}

pub(crate) fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_bits_are_refused_and_allocation_starts_at_four() {
        assert_eq!(prefix("10.0.1.0/24", "x").unwrap().to_string(), "10.0.1.0/24");
        let e = prefix("10.0.1.1/24", "x").unwrap_err();
        assert_eq!(e.code, "InvalidCIDRNotation");
        assert!(e.message.contains("10.0.1.0/24"));
        assert!(prefix("10.0.1/24", "x").is_err());
        let net = prefix("10.0.0.0/29", "x").unwrap();
        let mut used = BTreeSet::new();
        assert_eq!(allocate(&net, &used), Some(Ipv4Addr::new(10, 0, 0, 4)));
        used.insert(Ipv4Addr::new(10, 0, 0, 4));
        assert_eq!(allocate(&net, &used), Some(Ipv4Addr::new(10, 0, 0, 5)));
        used.insert(Ipv4Addr::new(10, 0, 0, 5));
        used.insert(Ipv4Addr::new(10, 0, 0, 6));
        assert_eq!(allocate(&net, &used), None, ".7 is the broadcast address");
        assert!(overlaps(&prefix("10.0.0.0/16", "x").unwrap(), &prefix("10.0.5.0/24", "x").unwrap()));
    }
}

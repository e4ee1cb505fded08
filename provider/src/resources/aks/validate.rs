//! Plan-time checks of trench_private_aks: names, ids, the network profile
//! and the pools, each reported on its attribute with no ARM call.

use trench_plugin::framework::{AttrPath, Diagnostics};
use trench_plugin::value::Val;

use super::{AksConfig, DEFAULT_SERVICE_CIDR, PoolConfig};
use crate::conventions::AzureType;
use crate::resources::{checks, cidr};

fn check_pool(name: &str, p: &PoolConfig, path: AttrPath, system: bool, d: &mut Diagnostics) {
    let ok_name = !name.is_empty()
        && name.len() <= 12
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok_name {
        d.add_attr_error(
            path.clone(),
            "Invalid node pool name",
            format!("{name:?}: 1-12 lowercase letters and digits, starting with a letter."),
        );
    }
    if let Val::Known(size) = &p.vm_size
        && (!size.starts_with("Standard_") || size.contains(' '))
    {
        d.add_attr_error(path.clone().attr("vm_size"), "Invalid VM size", format!("{size:?}: sizes look like `Standard_D4s_v5`."));
    }
    match (&p.min_count, &p.max_count) {
        (Val::Known(min), Val::Known(max)) => {
            if min > max {
                d.add_attr_error(
                    path.clone().attr("min_count"),
                    "Autoscaling range is empty",
                    format!("min_count {min} is above max_count {max}."),
                );
            }
            if *min < i64::from(system) || *max > 1000 {
                d.add_attr_error(
                    path.clone().attr("min_count"),
                    "Autoscaling range out of bounds",
                    format!("{} to 1000 nodes.", i64::from(system)),
                );
            }
        }
        (Val::Known(_), Val::Null) | (Val::Null, Val::Known(_)) => {
            d.add_attr_error(
                path.clone().attr("max_count"),
                "Incomplete autoscaling range",
                "Set both min_count and max_count, or neither.",
            );
        }
        _ => {}
    }
    if let Val::Known(n) = &p.node_count
        && (*n < i64::from(system) || *n > 1000)
    {
        d.add_attr_error(
            path.clone().attr("node_count"),
            "Invalid node count",
            format!("{n}: {} to 1000{}.", i64::from(system), if system { " (the system pool needs a node)" } else { "" }),
        );
    }
    if let Val::Known(taints) = &p.taints {
        for (i, t) in taints.iter().enumerate() {
            let ok =
                t.split_once(':').is_some_and(|(kv, eff)| !kv.is_empty() && ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&eff));
            if !ok {
                d.add_attr_error(
                    path.clone().attr("taints").index(i),
                    "Invalid taint",
                    format!("{t:?}: use `key=value:NoSchedule` (or PreferNoSchedule, NoExecute)."),
                );
            }
        }
    }
}

/// Plan-time validation; no ARM calls.
pub fn validate_config(cfg: &AksConfig) -> Diagnostics {
    let mut d = Diagnostics::new();
    checks::environment(&cfg.environment, &mut d);
    checks::location(&cfg.location, &mut d);
    if let Val::Known(n) = &cfg.name
        && let Err(m) = AzureType::ManagedCluster.check(n)
    {
        d.add_attr_error(AttrPath::root("name"), "Invalid cluster name", m);
    }
    if let Val::Known(p) = &cfg.dns_prefix {
        let ok = (1..=54).contains(&p.len())
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !p.starts_with('-')
            && !p.ends_with('-');
        if !ok {
            d.add_attr_error(
                AttrPath::root("dns_prefix"),
                "Invalid DNS prefix",
                format!("{p:?}: 1-54 letters, digits and hyphens, starting and ending with a letter or digit."),
            );
        }
    }
    checks::arm_id(&cfg.subnet_id, "subnet_id", "Microsoft.Network/virtualNetworks/subnets", &mut d);
    checks::arm_id(&cfg.firewall_policy_id, "firewall_policy_id", "Microsoft.Network/firewallPolicies", &mut d);
    checks::arm_id(&cfg.log_analytics_workspace_id, "log_analytics_workspace_id", "Microsoft.OperationalInsights/workspaces", &mut d);
    checks::arm_id(&cfg.acr_id, "acr_id", "Microsoft.ContainerRegistry/registries", &mut d);
    if let Val::Known(v) = &cfg.kubernetes_version {
        let parts: Vec<&str> = v.split('.').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.parse::<u32>().is_err()) {
            d.add_attr_error(AttrPath::root("kubernetes_version"), "Invalid Kubernetes version", format!("{v:?}: use `1.33` or `1.33.2`."));
        }
    }
    if let Val::Known(t) = &cfg.sku_tier
        && !["Free", "Standard", "Premium"].contains(&t.as_str())
    {
        d.add_attr_error(AttrPath::root("sku_tier"), "Invalid SKU tier", format!("{t:?}: use Free, Standard or Premium."));
    }
    if let Val::Known(p) = &cfg.network_policy
        && !["cilium", "azure", "calico", "none"].contains(&p.as_str())
    {
        d.add_attr_error(
            AttrPath::root("network_policy"),
            "Invalid network policy engine",
            format!("{p:?}: use cilium, azure, calico or none."),
        );
    }
    let service = match &cfg.service_cidr {
        Val::Known(s) => match cidr::parse(s) {
            Ok(n) => Some(n),
            Err(e) => {
                d.add_attr_error(AttrPath::root("service_cidr"), "Invalid service CIDR", e);
                None
            }
        },
        Val::Null => cidr::parse(DEFAULT_SERVICE_CIDR).ok(),
        Val::Unknown => None,
    };
    if let Val::Known(ip) = &cfg.dns_service_ip {
        match ip.parse::<std::net::Ipv4Addr>() {
            Ok(a) if service.is_some_and(|s| !s.contains(&a)) => {
                d.add_attr_error(
                    AttrPath::root("dns_service_ip"),
                    "DNS service IP outside the service CIDR",
                    format!("{a} must be inside {}.", service.expect("checked")),
                );
            }
            Ok(_) => {}
            Err(_) => {
                d.add_attr_error(AttrPath::root("dns_service_ip"), "Invalid DNS service IP", format!("{ip:?} is not an IPv4 address."))
            }
        }
    }
    if let Val::Known(p) = &cfg.pod_cidr {
        match cidr::parse(p) {
            Ok(pod) if service.is_some_and(|s| cidr::overlaps(&s, &pod)) => {
                d.add_attr_error(
                    AttrPath::root("pod_cidr"),
                    "Pod CIDR overlaps the service CIDR",
                    format!("{pod} overlaps {}.", service.expect("checked")),
                );
            }
            Ok(_) => {}
            Err(e) => d.add_attr_error(AttrPath::root("pod_cidr"), "Invalid pod CIDR", e),
        }
    }
    if let Val::Known(p) = &cfg.system_pool {
        check_pool("system", p, AttrPath::root("system_pool"), true, &mut d);
    }
    if let Val::Known(pools) = &cfg.node_pools {
        for (name, p) in pools {
            if name == "system" {
                d.add_attr_error(
                    AttrPath::root("node_pools").key(name),
                    "Reserved pool name",
                    "`system` is the system pool; configure it in `system_pool`.",
                );
            }
            check_pool(name, p, AttrPath::root("node_pools").key(name), false, &mut d);
        }
    }
    if let Val::Known(ids) = &cfg.admin_group_object_ids {
        for (i, g) in ids.iter().enumerate() {
            if uuid::Uuid::try_parse(g).is_err() {
                d.add_attr_error(
                    AttrPath::root("admin_group_object_ids").index(i),
                    "Invalid group object id",
                    format!("{g:?} is not a UUID."),
                );
            }
        }
    }
    checks::tags(&cfg.tags, &mut d);
    d
}

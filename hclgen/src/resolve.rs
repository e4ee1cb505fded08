//! From the file as written to the resolved [`Estate`]: every default of
//! DESIGN.md section 1 filled in, every value checked, each problem reported
//! with the key it is about. All problems are collected, not just the first.

use std::collections::BTreeMap;

use ipnet::{IpNet, Ipv4Net};

use crate::estate::{
    Aks, Backend, BackendType, EgressMode, Estate, EstateFile, Hub, JumpHost, Network, NodePool, Paas, SystemPool, Workload, defaults,
};
use crate::problem::{Collector, Problems};

/// Subnets a network must have: name, the largest prefix length it may
/// have, and the default length (the provider's default layout, carved in
/// this order from the first address space).
type Required = (&'static str, u8, u8);
const HUB_SUBNETS: &[Required] = &[("AzureFirewallSubnet", 26, 26), ("shared-services", 29, 24)];
const SPOKE_SUBNETS: &[Required] = &[("aks-nodes", 27, 22), ("private-endpoints", 28, 24)];
/// Roles a workload may hold, each on the bundle object the module scopes it to.
pub const WORKLOAD_ROLES: &[&str] = &[
    "Key Vault Secrets User",
    "Key Vault Secrets Officer",
    "Azure Service Bus Data Sender",
    "Azure Service Bus Data Receiver",
    "Azure Service Bus Data Owner",
    "AcrPull",
    "Storage Blob Data Reader",
    "Storage Blob Data Contributor",
];
const PG_STORAGE_SIZES: &[u32] = &[32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767];

fn cidr(c: &mut Collector, key: &str, s: &str) -> Option<Ipv4Net> {
    match s.parse::<Ipv4Net>() {
        Ok(n) if n.trunc() == n => Some(n),
        Ok(n) => {
            c.add(key, format!("{s:?} has host bits set; the network is {}", n.trunc()));
            None
        }
        Err(_) => {
            c.add(key, format!("{s:?} is not an IPv4 CIDR such as \"10.0.0.0/16\""));
            None
        }
    }
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn one_of(c: &mut Collector, key: &str, v: &str, allowed: &[&str]) {
    if !allowed.contains(&v) {
        c.add(key, format!("{v:?} is not one of {}", allowed.join(", ")));
    }
}

/// A Kubernetes name: a lowercase RFC 1123 label.
fn label(c: &mut Collector, key: &str, v: &str) {
    let ok = (1..=63).contains(&v.len())
        && v.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if !ok {
        c.add(key, format!("{v:?} must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit"));
    }
}

/// Address space plus subnets; the default layout is carved when
/// `subnets` is absent. `min` gives required subnets and their minimum size.
fn network(
    c: &mut Collector,
    prefix: &str,
    space: Option<&Vec<String>>,
    default_space: &str,
    subnets: Option<&BTreeMap<String, String>>,
    required: &[Required],
) -> Network {
    let space: Vec<String> = space.cloned().unwrap_or_else(|| vec![default_space.to_owned()]);
    if space.is_empty() {
        c.add(format!("{prefix}.address_space"), "give at least one CIDR, for example [\"10.0.0.0/16\"]");
    }
    let nets: Vec<Ipv4Net> = space.iter().enumerate().filter_map(|(i, s)| cidr(c, &format!("{prefix}.address_space[{i}]"), s)).collect();
    let subnets: BTreeMap<String, Ipv4Net> = match subnets {
        Some(m) => {
            let mut out: BTreeMap<String, Ipv4Net> = BTreeMap::new();
            for (name, p) in m {
                let key = format!("{prefix}.subnets.{name}");
                let Some(n) = cidr(c, &key, p) else { continue };
                if !nets.is_empty() && !nets.iter().any(|s| s.contains(&n)) {
                    c.add(&key, format!("{n} is outside the address space {}", space.join(", ")));
                }
                if let Some((other, _)) = out.iter().find(|(_, o)| overlaps(o, &n)) {
                    c.add(&key, format!("{n} overlaps subnet {other}"));
                }
                out.insert(name.clone(), n);
            }
            for (name, min, _) in required {
                match out.get(*name) {
                    None => c.add(format!("{prefix}.subnets"), format!("the {name} subnet is required")),
                    Some(n) if n.prefix_len() > *min => {
                        c.add(format!("{prefix}.subnets.{name}"), format!("{n} is too small: {name} needs at least a /{min}"))
                    }
                    Some(_) => {}
                }
            }
            out
        }
        None => carve(&nets, required),
    };
    Network { address_space: nets, subnets }
}

/// The default layout, as the provider carves it: each required subnet at
/// its default length, the first free block of the address space.
fn carve(space: &[Ipv4Net], required: &[Required]) -> BTreeMap<String, Ipv4Net> {
    let mut out: BTreeMap<String, Ipv4Net> = BTreeMap::new();
    for (name, _, len) in required {
        let free = space
            .iter()
            .filter(|s| *len >= s.prefix_len())
            .filter_map(|s| s.subnets(*len).ok())
            .flat_map(|subs| subs.into_iter())
            .find(|n| !out.values().any(|t| overlaps(t, n)));
        if let Some(n) = free {
            out.insert((*name).to_owned(), n);
        }
    }
    out
}

/// Resolves and validates; `file` names the file in problems.
pub fn resolve(file: &str, f: &EstateFile) -> Result<Estate, Problems> {
    let mut c = Collector::new(file);
    let env = f.environment.clone();
    if let Err(m) = trench_conventions::check_environment(&env) {
        c.add("environment", m);
    }
    let location = f.location.clone().unwrap_or_else(|| defaults::LOCATION.to_owned());
    if let Err(m) = trench_conventions::check_location(&location) {
        c.add("location", m);
    }
    let tags = f.tags.clone().unwrap_or_default();
    for (k, v) in &tags {
        if k == "environment" {
            c.add("tags.environment", "the environment tag is always the environment; leave it out");
        } else if let Err(m) = trench_conventions::check_tag(k, v) {
            c.add(format!("tags.{k}"), m);
        }
    }

    let b = f.backend.clone().unwrap_or_default();
    let backend = match b.kind {
        BackendType::Local => {
            for (k, set) in [
                ("resource_group_name", b.resource_group_name.is_some()),
                ("storage_account_name", b.storage_account_name.is_some()),
                ("container_name", b.container_name.is_some()),
                ("key", b.key.is_some()),
            ] {
                if set {
                    c.add(format!("backend.{k}"), "only the azurerm backend takes this; set type = \"azurerm\" or remove it");
                }
            }
            Backend::Local { path: b.path.clone().unwrap_or_else(|| "terraform.tfstate".to_owned()) }
        }
        BackendType::Azurerm => {
            if b.path.is_some() {
                c.add("backend.path", "the azurerm backend has no path; use key");
            }
            // The bundle's state storage: the account, its container and resource group.
            let defaults = trench_conventions::names::bundle(&env);
            let account = b.storage_account_name.clone().unwrap_or(defaults.storage_account);
            if let Err(m) = trench_conventions::AzureType::StorageAccount.check(&account) {
                c.add("backend.storage_account_name", m);
            }
            Backend::Azurerm {
                resource_group_name: b.resource_group_name.clone().unwrap_or(defaults.resource_group),
                storage_account_name: account,
                container_name: b.container_name.clone().unwrap_or(defaults.container),
                key: b.key.clone().unwrap_or_else(|| format!("{env}.terraform.tfstate")),
                use_oidc: b.use_oidc.unwrap_or(true),
            }
        }
    };
    if b.use_azuread_auth == Some(false) {
        c.add("backend.use_azuread_auth", "the state account has shared keys disabled; Entra ID auth is the only way in");
    }

    let h = f.hub.clone().unwrap_or_default();
    let hub_net = network(&mut c, "hub", h.address_space.as_ref(), defaults::HUB_ADDRESS_SPACE, h.subnets.as_ref(), HUB_SUBNETS);
    let firewall_sku_tier = h.firewall_sku_tier.clone().unwrap_or_else(|| defaults::FIREWALL_SKU_TIER.to_owned());
    one_of(&mut c, "hub.firewall_sku_tier", &firewall_sku_tier, &["Standard", "Premium"]);
    let threat_intel_mode = h.threat_intel_mode.clone().unwrap_or_else(|| defaults::THREAT_INTEL_MODE.to_owned());
    one_of(&mut c, "hub.threat_intel_mode", &threat_intel_mode, &["Alert", "Deny", "Off"]);
    let egress_mode = match h.egress_mode.as_deref().unwrap_or(defaults::EGRESS_MODE) {
        "strict" => EgressMode::Strict,
        "loose" => EgressMode::Loose,
        other => {
            c.add("hub.egress_mode", format!("{other:?} is strict (AKS, registries and your rules) or loose (allow all, for bring-up)"));
            EgressMode::Strict
        }
    };
    let mut admin_cidrs = Vec::new();
    for (i, s) in h.admin_cidrs.clone().unwrap_or_default().iter().enumerate() {
        match s.parse::<IpNet>() {
            Ok(n) if s.contains('/') => admin_cidrs.push(n),
            _ => c.add(
                format!("hub.admin_cidrs[{i}]"),
                format!("{s:?}: use CIDR notation such as \"203.0.113.0/24\" or \"198.51.100.7/32\""),
            ),
        }
    }
    let jump_host = h.jump_host.as_ref().map(|j| {
        if !j.ssh_public_key.starts_with("ssh-") && !j.ssh_public_key.starts_with("ecdsa-") {
            c.add("hub.jump_host.ssh_public_key", "an OpenSSH public key starts with ssh-ed25519, ssh-rsa or ecdsa-");
        }
        if admin_cidrs.is_empty() {
            c.add("hub.jump_host", "a jump host needs hub.admin_cidrs: SSH is only allowed from them");
        }
        JumpHost {
            size: j.size.clone().unwrap_or_else(|| defaults::JUMP_HOST_SIZE.to_owned()),
            admin_username: j.admin_username.clone().unwrap_or_else(|| defaults::JUMP_HOST_ADMIN.to_owned()),
            ssh_public_key: j.ssh_public_key.clone(),
            public_ip: j.public_ip.unwrap_or(true),
        }
    });
    let hub = Hub {
        network: hub_net,
        firewall_sku_tier,
        threat_intel_mode,
        egress_mode,
        admin_cidrs,
        application_rules: h.application_rules.clone().unwrap_or_default(),
        network_rules: h.network_rules.clone().unwrap_or_default(),
        jump_host,
    };

    let s = f.spoke.clone().unwrap_or_default();
    let spoke = network(&mut c, "spoke", s.address_space.as_ref(), defaults::SPOKE_ADDRESS_SPACE, s.subnets.as_ref(), SPOKE_SUBNETS);
    let mut spaces: Vec<(String, Ipv4Net)> = hub.network.address_space.iter().map(|n| ("hub".to_owned(), *n)).collect();
    let mut disjoint = |c: &mut Collector, owner: &str, key: String, nets: &[Ipv4Net]| {
        for n in nets {
            if let Some((other, o)) = spaces.iter().find(|(_, o)| overlaps(o, n)) {
                c.add(&key, format!("{n} overlaps {other}'s {o}: peered networks need disjoint address spaces"));
            }
        }
        spaces.extend(nets.iter().map(|n| (owner.to_owned(), *n)));
    };
    disjoint(&mut c, "spoke", "spoke.address_space".into(), &spoke.address_space);
    let mut extra_spokes = BTreeMap::new();
    for (name, x) in f.extra_spokes.clone().unwrap_or_default() {
        let key = format!("extra_spokes.{name}");
        if !(name.len() <= 20
            && name.starts_with(|ch: char| ch.is_ascii_lowercase())
            && name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit()))
        {
            c.add(&key, "a spoke name is 1-20 lowercase letters or digits, starting with a letter");
        }
        if ["aks", "core", "data"].contains(&name.as_str()) {
            c.add(&key, format!("{name:?} is taken: rg-trench-{name}-<env> is one of the estate's own resource groups"));
        }
        let net = network(&mut c, &key, Some(&x.address_space), "", x.subnets.as_ref(), SPOKE_SUBNETS);
        disjoint(&mut c, &key, format!("{key}.address_space"), &net.address_space);
        extra_spokes.insert(name, net);
    }

    let a = f.aks.clone().unwrap_or_default();
    let sku_tier = a.sku_tier.clone().unwrap_or_else(|| defaults::AKS_SKU_TIER.to_owned());
    one_of(&mut c, "aks.sku_tier", &sku_tier, &["Free", "Standard", "Premium"]);
    if let Some(v) = &a.kubernetes_version {
        let parts: Vec<&str> = v.split('.').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.parse::<u32>().is_err()) {
            c.add("aks.kubernetes_version", format!("{v:?}: use 1.33 or 1.33.2"));
        }
    }
    let sp = a.system_pool.clone().unwrap_or_default();
    let system_pool = SystemPool {
        vm_size: sp.vm_size.clone().unwrap_or_else(|| defaults::SYSTEM_POOL_VM_SIZE.to_owned()),
        node_count: sp.node_count.unwrap_or(defaults::SYSTEM_POOL_NODES),
    };
    if !(1..=1000).contains(&system_pool.node_count) {
        c.add("aks.system_pool.node_count", "the system pool has 1 to 1000 nodes");
    }
    let node_pools: BTreeMap<String, NodePool> = a.node_pools.clone().unwrap_or_default();
    for (name, p) in &node_pools {
        let key = format!("aks.node_pools.{name}");
        if name == "system"
            || name.len() > 12
            || !name.starts_with(|ch: char| ch.is_ascii_lowercase())
            || !name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
        {
            c.add(&key, "pool names are 1-12 lowercase letters or digits, starting with a letter, and not \"system\"");
        }
        if !p.vm_size.starts_with("Standard_") {
            c.add(format!("{key}.vm_size"), format!("{:?}: sizes look like Standard_D4s_v5", p.vm_size));
        }
        match (p.min_count, p.max_count) {
            (Some(lo), Some(hi)) if lo > hi => c.add(format!("{key}.min_count"), format!("min_count {lo} is above max_count {hi}")),
            (Some(_), None) | (None, Some(_)) => c.add(format!("{key}.max_count"), "set both min_count and max_count, or neither"),
            _ => {}
        }
    }
    for (i, g) in a.admin_group_object_ids.clone().unwrap_or_default().iter().enumerate() {
        if g.len() != 36 || g.chars().filter(|ch| *ch == '-').count() != 4 {
            c.add(format!("aks.admin_group_object_ids[{i}]"), format!("{g:?} is not an Entra object id (a UUID)"));
        }
    }
    let aks = Aks {
        kubernetes_version: a.kubernetes_version.clone(),
        sku_tier,
        system_pool,
        node_pools,
        admin_group_object_ids: a.admin_group_object_ids.clone().unwrap_or_default(),
    };

    let p = f.paas.clone().unwrap_or_default();
    let paas = Paas {
        acr_sku: p.acr_sku.clone().unwrap_or_else(|| defaults::ACR_SKU.to_owned()),
        acr_admin_enabled: p.acr_admin_enabled.unwrap_or(defaults::ACR_ADMIN_ENABLED),
        key_vault_purge_protection: p.key_vault_purge_protection.unwrap_or(defaults::KEY_VAULT_PURGE_PROTECTION),
        key_vault_soft_delete_retention_days: p.key_vault_soft_delete_retention_days.unwrap_or(defaults::KEY_VAULT_RETENTION_DAYS),
        key_vault_on_soft_deleted: p.key_vault_on_soft_deleted.clone().unwrap_or_else(|| defaults::KEY_VAULT_ON_SOFT_DELETED.to_owned()),
        postgresql_version: p.postgresql_version.clone().unwrap_or_else(|| defaults::POSTGRESQL_VERSION.to_owned()),
        postgresql_sku_name: p.postgresql_sku_name.clone().unwrap_or_else(|| defaults::POSTGRESQL_SKU.to_owned()),
        postgresql_storage_gb: p.postgresql_storage_gb.unwrap_or(defaults::POSTGRESQL_STORAGE_GB),
        postgresql_databases: p
            .postgresql_databases
            .clone()
            .unwrap_or_else(|| defaults::POSTGRESQL_DATABASES.iter().map(|s| (*s).to_owned()).collect()),
        postgresql_administrator_login: p.postgresql_administrator_login.clone().unwrap_or_else(|| defaults::POSTGRESQL_ADMIN.to_owned()),
        service_bus_queues: p
            .service_bus_queues
            .clone()
            .unwrap_or_else(|| defaults::SERVICE_BUS_QUEUES.iter().map(|s| (*s).to_owned()).collect()),
        log_analytics_retention_days: p.log_analytics_retention_days.unwrap_or(defaults::LOG_ANALYTICS_RETENTION_DAYS),
        cosmos_db: p.cosmos_db.unwrap_or(false),
    };
    one_of(&mut c, "paas.acr_sku", &paas.acr_sku, &["Basic", "Standard", "Premium"]);
    if !(7..=90).contains(&paas.key_vault_soft_delete_retention_days) {
        c.add("paas.key_vault_soft_delete_retention_days", "a vault keeps deleted objects 7 to 90 days");
    }
    one_of(&mut c, "paas.key_vault_on_soft_deleted", &paas.key_vault_on_soft_deleted, &["recover", "purge", "fail"]);
    if !paas.postgresql_version.parse::<u32>().is_ok_and(|v| (11..=18).contains(&v)) {
        c.add("paas.postgresql_version", format!("{:?}: a PostgreSQL major version from 11 to 18", paas.postgresql_version));
    }
    if !["Standard_B", "Standard_D", "Standard_E"].iter().any(|f| paas.postgresql_sku_name.starts_with(f)) {
        c.add("paas.postgresql_sku_name", format!("{:?}: a flexible-server size such as Standard_B1ms", paas.postgresql_sku_name));
    }
    if !PG_STORAGE_SIZES.contains(&paas.postgresql_storage_gb) {
        c.add("paas.postgresql_storage_gb", format!("{} GB: one of {PG_STORAGE_SIZES:?}", paas.postgresql_storage_gb));
    }
    for (i, d) in paas.postgresql_databases.iter().enumerate() {
        let ok = (1..=63).contains(&d.len())
            && d.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
            && d.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
            && !["postgres", "azure_maintenance", "azure_sys"].contains(&d.as_str());
        if !ok {
            c.add(
                format!("paas.postgresql_databases[{i}]"),
                format!("{d:?}: 1-63 letters, digits, '_' or '-', starting with a letter; not a system database"),
            );
        }
    }
    for (i, q) in paas.service_bus_queues.iter().enumerate() {
        let ok = (1..=260).contains(&q.len())
            && q.chars().all(|ch| ch.is_ascii_alphanumeric() || "-._/".contains(ch))
            && q.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && q.ends_with(|ch: char| ch.is_ascii_alphanumeric());
        if !ok {
            c.add(
                format!("paas.service_bus_queues[{i}]"),
                format!("{q:?}: letters, digits, '.', '-', '_' or '/', starting and ending with a letter or digit"),
            );
        }
    }
    if !(30..=730).contains(&paas.log_analytics_retention_days) {
        c.add("paas.log_analytics_retention_days", "a workspace keeps data 30 to 730 days");
    }

    let mut workloads = BTreeMap::new();
    for (name, w) in f.workloads.clone().unwrap_or_default() {
        let key = format!("workloads.{name}");
        if trench_conventions::name(&name, "id", "dev").is_err() {
            c.add(&key, "a workload name is 1-24 lowercase letters or digits, optionally joined by single hyphens (catalog-api)");
        }
        label(&mut c, &format!("{key}.namespace"), &w.namespace);
        label(&mut c, &format!("{key}.service_account"), &w.service_account);
        let roles = w.roles.clone().unwrap_or_default();
        for (i, r) in roles.iter().enumerate() {
            one_of(&mut c, &format!("{key}.roles[{i}]"), r, WORKLOAD_ROLES);
        }
        workloads.insert(name, Workload { namespace: w.namespace, service_account: w.service_account, roles });
    }
    let version = f.postgresql_administrator_password_version.unwrap_or(1);
    c.finish(Estate {
        environment: env,
        location,
        tags,
        backend,
        hub,
        spoke,
        aks,
        paas,
        postgresql_administrator_password_version: version,
        workloads,
        extra_spokes,
    })
}

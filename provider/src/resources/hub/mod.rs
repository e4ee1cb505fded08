//! `trench_hub`: the core resource group, the hub VNet with
//! `AzureFirewallSubnet` and `shared-services`, a Standard public IP, a
//! firewall policy with trench's egress rule collection group, the Azure
//! Firewall, and optionally a jump host (NSG, NIC, public IP, VM with
//! cloud-init for az CLI and kubectl).
//!
//! Shape of every operation: read the planned state into the typed model →
//! check diagnostics → reconcile the objects through the ARM client →
//! write state. `spec` computes desired bodies, `observe` maps what exists
//! back to state (with a `drift` line per child that differs), `apply`
//! creates, updates and deletes.

mod apply;
mod observe;
pub mod spec;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::conventions::{self, AzureType};
use crate::resources::{cidr, common};
use spec::{AppRule, EgressMode, FIREWALL_SUBNET, HubIds, HubNames, HubSpec, JumpHost, NetRule, SHARED_SUBNET};
use trench_plugin::framework::plan::{self, ReplaceRule};
use trench_plugin::framework::timeouts::{self, Timeouts};
use trench_plugin::framework::{
    ApplyRequest, AttrPath, Attribute, Block, Ctx, Diagnostics, Mode, Nesting, PlanRequest, Planned, Resource, Schema, StateResult,
};
use trench_plugin::value::{Type, Val, Value, from_value};

/// The resource.
pub struct Hub;

/// Defaults an operator can rely on.
pub const DEFAULT_SKU_TIER: &str = "Standard";
const DEFAULT_THREAT_INTEL: &str = "Alert";
const DEFAULT_EGRESS_SOURCES: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
const DEFAULT_JUMP_SIZE: &str = "Standard_B2s";
const DEFAULT_ADMIN: &str = "azureuser";

fn default_timeouts() -> Timeouts {
    // An Azure Firewall takes minutes to create and each update 3-5 more.
    Timeouts {
        create: Duration::from_secs(90 * 60),
        read: Duration::from_secs(5 * 60),
        update: Duration::from_secs(90 * 60),
        delete: Duration::from_secs(90 * 60),
    }
}

/// Jump host as configured (defaults may still be null or unknown).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct JumpHostConfig {
    size: Val<String>,
    admin_username: Val<String>,
    ssh_public_key: Val<String>,
    public_ip: Val<bool>,
}

/// The hub's settable attributes, each possibly null or unknown.
#[derive(Clone, Debug, Deserialize)]
pub struct HubConfig {
    environment: Val<String>,
    location: Val<String>,
    address_space: Val<Vec<String>>,
    subnets: Val<BTreeMap<String, String>>,
    firewall_sku_tier: Val<String>,
    threat_intel_mode: Val<String>,
    egress_mode: Val<String>,
    egress_source_addresses: Val<Vec<String>>,
    application_rules: Val<Vec<AppRule>>,
    network_rules: Val<Vec<NetRule>>,
    admin_cidrs: Val<Vec<String>>,
    jump_host: Val<JumpHostConfig>,
    resource_group_name: Val<String>,
    vnet_name: Val<String>,
    firewall_name: Val<String>,
    firewall_policy_name: Val<String>,
    public_ip_name: Val<String>,
    tags: Val<BTreeMap<String, String>>,
}

/// Computed attributes (and filled-in defaults), patched into state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HubComputed {
    id: Val<String>,
    resource_group_id: Val<String>,
    subnet_ids: Val<BTreeMap<String, String>>,
    firewall_id: Val<String>,
    firewall_private_ip: Val<String>,
    firewall_public_ip: Val<String>,
    firewall_policy_id: Val<String>,
    public_ip_id: Val<String>,
    jump_host_id: Val<String>,
    jump_host_private_ip: Val<String>,
    jump_host_public_ip: Val<String>,
    tags_all: Val<BTreeMap<String, String>>,
    drift: Val<Vec<String>>,
    api_versions: Val<BTreeMap<String, String>>,
}

fn s(name: &str, d: &str) -> Attribute {
    Attribute::optional_computed(name, Type::String).describe(d)
}

fn c(name: &str, d: &str) -> Attribute {
    Attribute::computed(name, Type::String).describe(d)
}

fn strings() -> Type {
    Type::list(Type::String)
}

fn schema() -> Schema {
    let app_rule = vec![
        Attribute::required("name", Type::String).describe("Rule name, unique among the application rules."),
        Attribute::required("source_addresses", strings()).describe("Source CIDRs, or `*`."),
        Attribute::required("target_fqdns", strings()).describe("FQDNs to allow; `*.example.com` wildcards allowed."),
        Attribute::required("protocols", strings()).describe("Protocol and port pairs: `Https:443`, `Http:80`, `Mssql:1433`."),
    ];
    let net_rule = vec![
        Attribute::required("name", Type::String).describe("Rule name, unique among the network rules."),
        Attribute::required("protocols", strings()).describe("`TCP`, `UDP`, `ICMP` or `Any`."),
        Attribute::required("source_addresses", strings()).describe("Source CIDRs, or `*`."),
        Attribute::required("destination_addresses", strings())
            .describe("Destination CIDRs, service tags (`AzureCloud.westeurope`) or `*`."),
        Attribute::required("destination_ports", strings()).describe("Ports or ranges: `443`, `1000-2000`, `*`."),
    ];
    let jump = vec![
        s("size", &format!("VM size. Default `{DEFAULT_JUMP_SIZE}`. Changing it resizes the VM in place (it restarts).")),
        s("admin_username", &format!("Admin user. Default `{DEFAULT_ADMIN}`. Changing it recreates the VM (Azure cannot change it).")),
        Attribute::required("ssh_public_key", Type::String)
            .describe("OpenSSH public key (`ssh-ed25519 …` or `ssh-rsa …`). Password login is disabled. Changing it recreates the VM."),
        Attribute::optional_computed("public_ip", Type::Bool)
            .describe("Give the jump host a public IP, reachable over SSH from `admin_cidrs` only. Default `true`."),
    ];
    Schema::new(
        Block::new("The hub of a hub–spoke estate: resource group, hub VNet (`AzureFirewallSubnet`, `shared-services`), Azure Firewall with one Standard public IP and a firewall policy whose rule collection group allows AKS and ACR egress (default deny), and an optional jump host. Names follow `trench-<service>-<resource>-<env>` unless overridden.")
            .attr(Attribute::required("environment", Type::String).describe("Environment name (`dev`, `prod`); part of every name. Changing it replaces the hub."))
            .attr(Attribute::required("location", Type::String).describe("Azure location, e.g. `westeurope`. Changing it replaces the hub."))
            .attr(Attribute::required("address_space", strings()).describe("Hub VNet address space, e.g. `[\"10.0.0.0/16\"]`. Prefixes can be added in place; peerings are re-synced."))
            .attr(Attribute::optional_computed("subnets", Type::map(Type::String)).describe("Subnets by name → prefix. Default: `AzureFirewallSubnet` (the first /26) and `shared-services` (the next free /24). `AzureFirewallSubnet` must be /26 or larger. Free subnets can be added or resized in place."))
            .attr(s("firewall_sku_tier", "`Standard` (default) or `Premium`. Changing it recreates the firewall (minutes without egress)."))
            .attr(s("threat_intel_mode", "Threat intelligence: `Alert` (default), `Deny` or `Off`."))
            .attr(Attribute::optional_computed("egress_mode", Type::String).describe("`strict` (default): only AKS (FQDN tag `AzureKubernetesService`, UDP 1194, TCP 9000, NTP), container registries and the extra rules; `loose`: allow all egress (Phase-1 bring-up). Switches in place."))
            .attr(Attribute::optional_computed("egress_source_addresses", strings()).describe("Sources the egress rules apply to. Default: the RFC 1918 ranges."))
            .attr(Attribute::nested("application_rules", Nesting::List, Mode::Optional, app_rule).describe("Extra application rules (allow), in collection `extra-app`."))
            .attr(Attribute::nested("network_rules", Nesting::List, Mode::Optional, net_rule).describe("Extra network rules (allow), in collection `extra-net`."))
            .attr(Attribute::optional("admin_cidrs", strings()).describe("CIDRs of administrators; the only sources allowed to SSH to the jump host."))
            .attr(Attribute::nested("jump_host", Nesting::Single, Mode::Optional, jump).describe("A Linux jump host in `shared-services` with az CLI and kubectl installed by cloud-init. Omit for none."))
            .attr(s("resource_group_name", "Resource group name. Default `rg-trench-core-<env>`. Changing it replaces the hub."))
            .attr(s("vnet_name", "Hub VNet name. Default `trench-core-vnet-<env>`. Changing it replaces the hub."))
            .attr(s("firewall_name", "Firewall name. Default `trench-core-fw-<env>`."))
            .attr(s("firewall_policy_name", "Firewall policy name. Default `trench-core-fwpolicy-<env>`."))
            .attr(s("public_ip_name", "Firewall public IP name. Default `trench-core-fwpip-<env>`."))
            .attr(Attribute::optional("tags", Type::map(Type::String)).describe("Tags for every object, merged over the provider's `default_tags` and trench's conventional tags."))
            .attr(c("id", "Id of the hub VNet; the hub's import id."))
            .attr(c("resource_group_id", "Resource group id."))
            .attr(Attribute::computed("subnet_ids", Type::map(Type::String)).describe("Subnet ids by name."))
            .attr(c("firewall_id", "Azure Firewall id."))
            .attr(c("firewall_private_ip", "Firewall private IP: the next hop for spokes' default route."))
            .attr(c("firewall_public_ip", "Firewall public IP: where egress comes from (allow it in PaaS firewalls)."))
            .attr(c("firewall_policy_id", "Firewall policy id."))
            .attr(c("public_ip_id", "Firewall public IP id."))
            .attr(c("jump_host_id", "Jump host VM id (null without a jump host)."))
            .attr(c("jump_host_private_ip", "Jump host private IP."))
            .attr(c("jump_host_public_ip", "Jump host public IP (null without one)."))
            .attr(Attribute::computed("tags_all", Type::map(Type::String)).describe("The tags every object carries."))
            .attr(Attribute::computed("drift", strings()).describe("Objects found differing from configuration at the last refresh, one line each; apply repairs them."))
            .attr(Attribute::computed("api_versions", Type::map(Type::String)).describe("The ARM api-version used for each resource type."))
            .block("timeouts", Nesting::Single, timeouts::block(&default_timeouts())),
    )
}

const REPLACE: &[(&str, &str)] = &[
    ("environment", "every object's name contains the environment, and Azure cannot rename resources."),
    ("location", "Azure cannot move a virtual network or firewall to another region."),
    ("resource_group_name", "Azure cannot move the hub's objects to another resource group by renaming it."),
    ("vnet_name", "Azure cannot rename a virtual network."),
];

fn replace_rules() -> Vec<ReplaceRule> {
    REPLACE.iter().map(|(a, r)| ReplaceRule { path: AttrPath::root(a), reason: r }).collect()
}

/// Conventional names, with overrides from configuration.
fn names(env: &str, cfg: &HubConfig) -> HubNames {
    let pick = |v: &Val<String>, d: String| v.known().cloned().unwrap_or(d);
    let n = |s: &str, r: &str| format!("trench-{s}-{r}-{env}");
    HubNames {
        resource_group: pick(&cfg.resource_group_name, format!("rg-trench-core-{env}")),
        vnet: pick(&cfg.vnet_name, n("core", "vnet")),
        firewall: pick(&cfg.firewall_name, n("core", "fw")),
        firewall_policy: pick(&cfg.firewall_policy_name, n("core", "fwpolicy")),
        public_ip: pick(&cfg.public_ip_name, n("core", "fwpip")),
        jump_vm: n("core", "jump"),
        jump_nic: n("core", "jumpnic"),
        jump_nsg: n("core", "jumpnsg"),
        jump_pip: n("core", "jumppip"),
    }
}

fn parse_egress(m: &str) -> Option<EgressMode> {
    match m {
        "strict" => Some(EgressMode::Strict),
        "loose" => Some(EgressMode::Loose),
        _ => None,
    }
}

/// Default subnets for an address space.
pub fn default_subnets(space: &[String]) -> Option<BTreeMap<String, String>> {
    let nets: Vec<_> = space.iter().map(|s| cidr::parse(s)).collect::<Result<_, _>>().ok()?;
    let fw = cidr::carve(&nets, 26, &[])?;
    let shared = cidr::carve(&nets, 24, &[fw])?;
    Some(BTreeMap::from([(FIREWALL_SUBNET.to_owned(), fw.to_string()), (SHARED_SUBNET.to_owned(), shared.to_string())]))
}

fn api_versions() -> BTreeMap<String, String> {
    [
        "Microsoft.Resources/resourceGroups",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Network/firewallPolicies",
        "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
        "Microsoft.Network/azureFirewalls",
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Network/networkInterfaces",
        "Microsoft.Compute/virtualMachines",
    ]
    .iter()
    .map(|t| ((*t).to_owned(), trench_arm::api_versions::for_type(t).unwrap_or("").to_owned()))
    .collect()
}

fn check_name(v: &Val<String>, attr: &str, t: AzureType, d: &mut Diagnostics) {
    if let Val::Known(n) = v
        && let Err(e) = t.check(n)
    {
        d.add_attr_error(AttrPath::root(attr), "Invalid name", e);
    }
}

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

/// Plan-time validation; no ARM calls. Exposed for the bad-input tests.
pub fn validate_config(cfg: &HubConfig) -> Diagnostics {
    let mut d = Diagnostics::new();
    if let Val::Known(e) = &cfg.environment
        && let Err(m) = conventions::check_environment(e)
    {
        d.add_attr_error(AttrPath::root("environment"), "Invalid environment", m);
    }
    if let Val::Known(l) = &cfg.location
        && let Err(m) = conventions::check_location(l)
    {
        d.add_attr_error(AttrPath::root("location"), "Unknown location", m);
    }
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
    check_name(&cfg.resource_group_name, "resource_group_name", AzureType::ResourceGroup, &mut d);
    check_name(&cfg.vnet_name, "vnet_name", AzureType::VirtualNetwork, &mut d);
    check_name(&cfg.firewall_name, "firewall_name", AzureType::Firewall, &mut d);
    check_name(&cfg.firewall_policy_name, "firewall_policy_name", AzureType::FirewallPolicy, &mut d);
    check_name(&cfg.public_ip_name, "public_ip_name", AzureType::PublicIp, &mut d);
    if let Val::Known(tags) = &cfg.tags {
        for (k, v) in tags {
            if let Err(e) = conventions::check_tag(k, v) {
                d.add_attr_error(AttrPath::root("tags").key(k), "Invalid tag", e);
            }
        }
    }
    d
}

/// The desired hub from a wholly known planned state.
fn spec_from(subscription: &str, default_tags: &BTreeMap<String, String>, v: &Value) -> Result<HubSpec, Diagnostics> {
    let cfg: HubConfig = from_value(v)?;
    fn need<T>(x: Option<T>, what: &str) -> Result<T, Diagnostics> {
        x.ok_or_else(|| Diagnostics::error("Planned value not known", format!("{what} is not known at apply time.")))
    }
    let env = need(cfg.environment.known().cloned(), "environment")?;
    let jump_host = match &cfg.jump_host {
        Val::Known(j) => Some(JumpHost {
            size: j.size.known().cloned().unwrap_or_else(|| DEFAULT_JUMP_SIZE.into()),
            admin_username: j.admin_username.known().cloned().unwrap_or_else(|| DEFAULT_ADMIN.into()),
            ssh_public_key: need(j.ssh_public_key.known().cloned(), "jump_host.ssh_public_key")?,
            public_ip: j.public_ip.known().copied().unwrap_or(true),
        }),
        _ => None,
    };
    let address_space = need(cfg.address_space.known().cloned(), "address_space")?;
    let subnets = match cfg.subnets.known() {
        Some(s) => s.clone(),
        None => default_subnets(&address_space)
            .ok_or_else(|| Diagnostics::error("No room for default subnets", "address_space cannot hold the default subnets."))?,
    };
    Ok(HubSpec {
        ids: HubIds { subscription: subscription.to_owned(), names: names(&env, &cfg) },
        location: need(cfg.location.known().cloned(), "location")?,
        address_space,
        subnets,
        firewall_sku_tier: cfg.firewall_sku_tier.known().cloned().unwrap_or_else(|| DEFAULT_SKU_TIER.into()),
        threat_intel_mode: cfg.threat_intel_mode.known().cloned().unwrap_or_else(|| DEFAULT_THREAT_INTEL.into()),
        egress_mode: cfg.egress_mode.known().and_then(|m| parse_egress(m)).unwrap_or(EgressMode::Strict),
        egress_sources: cfg
            .egress_source_addresses
            .known()
            .cloned()
            .unwrap_or_else(|| DEFAULT_EGRESS_SOURCES.iter().map(|s| (*s).to_owned()).collect()),
        application_rules: cfg.application_rules.known().cloned().unwrap_or_default(),
        network_rules: cfg.network_rules.known().cloned().unwrap_or_default(),
        admin_cidrs: cfg.admin_cidrs.known().cloned().unwrap_or_default(),
        jump_host,
        tags: common::with_owner(common::tags_all(default_tags, &env, cfg.tags.known()), "trench_hub", &names(&env, &cfg).vnet),
        env,
    })
}

/// Sets the defaults of optional+computed attributes the configuration
/// leaves null. The default wins over state: a value that drifted from it
/// is planned back.
fn fill_defaults(planned: &mut Value, config: &Value, cfg: &HubConfig) {
    let Value::Object(m) = planned else { return };
    let unset = |k: &str| config.get_attr(k).is_none_or(Value::is_null);
    let mut set = |k: &str, v: Value| {
        if unset(k) {
            m.insert(k.to_owned(), v);
        }
    };
    let env = cfg.environment.known();
    let name = |f: fn(&str) -> String| env.map(|e| Value::string(f(e))).unwrap_or_else(Value::unknown);
    set("resource_group_name", name(|e| format!("rg-trench-core-{e}")));
    set("vnet_name", name(|e| format!("trench-core-vnet-{e}")));
    set("firewall_name", name(|e| format!("trench-core-fw-{e}")));
    set("firewall_policy_name", name(|e| format!("trench-core-fwpolicy-{e}")));
    set("public_ip_name", name(|e| format!("trench-core-fwpip-{e}")));
    set("firewall_sku_tier", Value::string(DEFAULT_SKU_TIER));
    set("threat_intel_mode", Value::string(DEFAULT_THREAT_INTEL));
    set("egress_mode", Value::string("strict"));
    set("egress_source_addresses", Value::List(DEFAULT_EGRESS_SOURCES.iter().map(|s| Value::string(*s)).collect()));
    let subnets = match &cfg.address_space {
        Val::Known(space) => default_subnets(space)
            .map(|s| Value::Map(s.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
            .unwrap_or_else(Value::unknown),
        _ => Value::unknown(),
    };
    set("subnets", subnets);
    if let Some(Value::Object(j)) = m.get_mut("jump_host") {
        for (k, v) in
            [("size", Value::string(DEFAULT_JUMP_SIZE)), ("admin_username", Value::string(DEFAULT_ADMIN)), ("public_ip", Value::Bool(true))]
        {
            if j.get(k).is_none_or(Value::is_null) {
                j.insert(k.to_owned(), v);
            }
        }
    }
}

#[async_trait]
impl Resource for Hub {
    fn type_name(&self) -> &'static str {
        "trench_hub"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        common::validate::<HubConfig>(config, default_timeouts(), validate_config)
    }

    async fn plan(&self, ctx: &Ctx, req: PlanRequest) -> Planned {
        let common::PlanStart { cfg, diags: mut d, azure, mut planned } =
            match common::plan_start::<HubConfig>(ctx, &req, validate_config, fill_defaults) {
                Ok(s) => s,
                Err(p) => return p,
            };
        let (requires_replace, warnings) = plan::requires_replace(&req.prior, &planned, &replace_rules(), "hub");
        d.extend(warnings);
        let replacing = !requires_replace.is_empty();
        let prior: HubComputed =
            if req.prior.is_null() || replacing { HubComputed::default() } else { from_value(&req.prior).unwrap_or_default() };

        // Ids are deterministic once names are known; IPs only after apply.
        let planned_cfg: HubConfig = match from_value(&planned) {
            Ok(c) => c,
            Err(e) => return Planned::failed(e.into()),
        };
        let mut computed = HubComputed {
            tags_all: common::planned_tags_all(&azure.default_tags, &cfg.environment, &cfg.tags),
            drift: Val::Known(Vec::new()),
            api_versions: Val::Known(api_versions()),
            ..HubComputed::default()
        };
        let names_known = [
            &planned_cfg.resource_group_name,
            &planned_cfg.vnet_name,
            &planned_cfg.firewall_name,
            &planned_cfg.firewall_policy_name,
            &planned_cfg.public_ip_name,
        ]
        .into_iter()
        .all(|v| !v.is_unknown());
        match (&cfg.environment, names_known) {
            (Val::Known(env), true) => {
                let ids = HubIds { subscription: azure.subscription.clone(), names: names(env, &planned_cfg) };
                computed.id = Val::Known(ids.vnet_id().to_string());
                computed.resource_group_id = Val::Known(ids.rg_id().to_string());
                computed.firewall_id = Val::Known(ids.firewall_id().to_string());
                computed.firewall_policy_id = Val::Known(ids.policy_id().to_string());
                computed.public_ip_id = Val::Known(ids.pip_id().to_string());
                computed.subnet_ids = match planned_cfg.subnets.known() {
                    Some(subs) => Val::Known(subs.keys().map(|k| (k.clone(), ids.subnet_id(k).to_string())).collect()),
                    None => Val::Unknown,
                };
                computed.jump_host_id = if planned_cfg.jump_host.is_null() { Val::Null } else { Val::Known(ids.vm_id().to_string()) };
            }
            _ => {
                computed.id = Val::Unknown;
                computed.resource_group_id = Val::Unknown;
                computed.firewall_id = Val::Unknown;
                computed.firewall_policy_id = Val::Unknown;
                computed.public_ip_id = Val::Unknown;
                computed.subnet_ids = Val::Unknown;
                computed.jump_host_id = if planned_cfg.jump_host.is_null() { Val::Null } else { Val::Unknown };
            }
        }

        // IPs: kept from state unless what determines them changes.
        let prior_cfg: Option<HubConfig> = if req.prior.is_null() || replacing { None } else { from_value(&req.prior).ok() };
        let same = |f: fn(&HubConfig) -> String| prior_cfg.as_ref().is_some_and(|p| f(p) == f(&planned_cfg));
        let fw_key = |c: &HubConfig| {
            format!("{:?}{:?}{:?}", c.subnets.known().and_then(|s| s.get(FIREWALL_SUBNET).cloned()), c.firewall_name, c.firewall_sku_tier)
        };
        let pip_key = |c: &HubConfig| format!("{:?}", c.public_ip_name);
        computed.firewall_private_ip = if same(fw_key) { prior.firewall_private_ip.clone() } else { Val::Unknown };
        computed.firewall_public_ip = if same(pip_key) && same(fw_key) { prior.firewall_public_ip.clone() } else { Val::Unknown };
        let jump_key = |c: &HubConfig| format!("{:?}{:?}", c.jump_host, c.subnets.known().and_then(|s| s.get(SHARED_SUBNET).cloned()));
        let has_jump = !planned_cfg.jump_host.is_null();
        let public = match &planned_cfg.jump_host {
            Val::Known(j) => j.public_ip.known().copied().unwrap_or(true),
            _ => true,
        };
        computed.jump_host_private_ip = if !has_jump {
            Val::Null
        } else if same(jump_key) {
            prior.jump_host_private_ip.clone()
        } else {
            Val::Unknown
        };
        computed.jump_host_public_ip = if !has_jump || !public {
            Val::Null
        } else if same(jump_key) {
            prior.jump_host_public_ip.clone()
        } else {
            Val::Unknown
        };
        // Null from an empty prior means "not known yet", not "none".
        if computed.firewall_private_ip.is_null() {
            computed.firewall_private_ip = Val::Unknown;
        }
        if computed.firewall_public_ip.is_null() {
            computed.firewall_public_ip = Val::Unknown;
        }
        if has_jump && computed.jump_host_private_ip.is_null() {
            computed.jump_host_private_ip = Val::Unknown;
        }
        if has_jump && public && computed.jump_host_public_ip.is_null() {
            computed.jump_host_public_ip = Val::Unknown;
        }

        // Changes Azure can only make by recreating a child, said up front.
        if let Some(p) = &prior_cfg {
            if p.firewall_sku_tier != planned_cfg.firewall_sku_tier {
                d.add_warning(Some(AttrPath::root("firewall_sku_tier")), "The firewall will be recreated", "Azure cannot change an existing firewall's SKU tier here: trench deletes and recreates it, so egress through the hub stops for several minutes.");
            }
            if let (Val::Known(a), Val::Known(b)) = (&p.jump_host, &planned_cfg.jump_host)
                && (a.admin_username != b.admin_username || a.ssh_public_key != b.ssh_public_key)
            {
                d.add_warning(Some(AttrPath::root("jump_host")), "The jump host VM will be recreated", "Azure cannot change a VM's admin user or its cloud-init/SSH key after creation; trench recreates the VM (its OS disk is replaced).");
            }
        }

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

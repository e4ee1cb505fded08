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
mod validate;

pub use validate::validate_config;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::conventions::names;
use crate::resources::composite::{Defaults, Model, PlanCx, named};
use spec::{AppRule, FIREWALL_SUBNET, HubIds, NetRule, SHARED_SUBNET, default_subnets};
use trench_plugin::framework::timeouts::Timeouts;
use trench_plugin::framework::{AttrPath, Attribute, Block, Diagnostics, Mode, Nesting, PlanRequest};
use trench_plugin::value::{Type, Val, Value, from_value};

/// The composite.
pub struct Hub;

/// Defaults an operator can rely on.
pub const DEFAULT_SKU_TIER: &str = "Standard";
const DEFAULT_THREAT_INTEL: &str = "Alert";
const DEFAULT_EGRESS_SOURCES: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
const DEFAULT_JUMP_SIZE: &str = "Standard_B2s";
const DEFAULT_ADMIN: &str = "azureuser";

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

#[async_trait]
impl Model for Hub {
    const TYPE: &'static str = "trench_hub";
    const NOUN: &'static str = "hub";
    const IMPORT: (&'static str, &'static str) = ("Microsoft.Network/virtualNetworks", "hub VNet");
    const ARM_TYPES: &'static [&'static str] = &[
        "Microsoft.Resources/resourceGroups",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Network/firewallPolicies",
        "Microsoft.Network/firewallPolicies/ruleCollectionGroups",
        "Microsoft.Network/azureFirewalls",
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Network/networkInterfaces",
        "Microsoft.Compute/virtualMachines",
    ];
    const REPLACE: &'static [(&'static str, &'static str)] = &[
        ("environment", "every object's name contains the environment, and Azure cannot rename resources."),
        ("location", "Azure cannot move a virtual network or firewall to another region."),
        ("resource_group_name", "Azure cannot move the hub's objects to another resource group by renaming it."),
        ("vnet_name", "Azure cannot rename a virtual network."),
    ];

    // An Azure Firewall takes minutes to create and each update 3-5 more.
    const TIMEOUTS: Timeouts = Timeouts::minutes(90, 5, 90, 90);

    const CHECK: fn(&Self::Config) -> Diagnostics = validate_config;
    type Config = HubConfig;
    type Computed = HubComputed;

    fn attributes() -> Block {
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
    }

    /// Sets the defaults of optional+computed attributes the configuration
    /// leaves null. The default wins over state: a value that drifted from it
    /// is planned back.
    fn fill_defaults(planned: &mut Value, req: &PlanRequest, cfg: &HubConfig) {
        let Some(mut d) = Defaults::of(planned, &req.config) else { return };
        let defaults = cfg.environment.known().map(|e| names::hub(e));
        d.set("resource_group_name", named(defaults.as_ref(), |n| &n.resource_group));
        d.set("vnet_name", named(defaults.as_ref(), |n| &n.vnet));
        d.set("firewall_name", named(defaults.as_ref(), |n| &n.firewall));
        d.set("firewall_policy_name", named(defaults.as_ref(), |n| &n.firewall_policy));
        d.set("public_ip_name", named(defaults.as_ref(), |n| &n.public_ip));
        d.set("firewall_sku_tier", Value::string(DEFAULT_SKU_TIER));
        d.set("threat_intel_mode", Value::string(DEFAULT_THREAT_INTEL));
        d.set("egress_mode", Value::string("strict"));
        d.set("egress_source_addresses", Value::strings(DEFAULT_EGRESS_SOURCES));
        d.derived("subnets", &cfg.address_space, |space| default_subnets(space).map(Value::string_map));
        if let Some(Value::Object(j)) = d.planned.get_mut("jump_host") {
            for (k, v) in [
                ("size", Value::string(DEFAULT_JUMP_SIZE)),
                ("admin_username", Value::string(DEFAULT_ADMIN)),
                ("public_ip", Value::Bool(true)),
            ] {
                if j.get(k).is_none_or(Value::is_null) {
                    j.insert(k.to_owned(), v);
                }
            }
        }
    }

    async fn plan(cx: &mut PlanCx<'_, Self>) -> Result<HubComputed, Diagnostics> {
        let (req, cfg, replacing) = (cx.req, &cx.cfg, cx.replacing);
        let prior = cx.prior_computed().unwrap_or_default();
        // Ids are deterministic once names are known; IPs only after apply.
        let planned_cfg = cx.planned_config()?;
        let mut computed = HubComputed { ..HubComputed::default() };
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
                let ids = HubIds { subscription: cx.azure.env.subscription.clone(), names: spec::hub_names(env, &planned_cfg) };
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
                computed = cx.all_unknown()?;
                computed.jump_host_id = if planned_cfg.jump_host.is_null() { Val::Null } else { Val::Unknown };
            }
        }

        // IPs: kept from state unless what determines them changes.
        let prior_cfg: Option<HubConfig> = if req.prior.is_null() || replacing { None } else { from_value(&req.prior).ok() };
        let fw_key = |c: &HubConfig| (subnet(c, FIREWALL_SUBNET), c.firewall_name.clone(), c.firewall_sku_tier.clone());
        let jump_key = |c: &HubConfig| (c.jump_host.clone(), subnet(c, SHARED_SUBNET));
        let fw_same = unchanged(prior_cfg.as_ref(), &planned_cfg, fw_key);
        let pip_same = unchanged(prior_cfg.as_ref(), &planned_cfg, |c| c.public_ip_name.clone());
        let jump_same = unchanged(prior_cfg.as_ref(), &planned_cfg, jump_key);
        let has_jump = !planned_cfg.jump_host.is_null();
        let public = match &planned_cfg.jump_host {
            Val::Known(j) => j.public_ip.known().copied().unwrap_or(true),
            _ => true,
        };
        // Null in the prior means "not learnt yet", not "none".
        let keep_if = |same: bool, v: &Val<String>| if same { v.clone().or_unknown() } else { Val::Unknown };
        computed.firewall_private_ip = keep_if(fw_same, &prior.firewall_private_ip);
        computed.firewall_public_ip = keep_if(pip_same && fw_same, &prior.firewall_public_ip);
        computed.jump_host_private_ip = if has_jump { keep_if(jump_same, &prior.jump_host_private_ip) } else { Val::Null };
        computed.jump_host_public_ip = if has_jump && public { keep_if(jump_same, &prior.jump_host_public_ip) } else { Val::Null };

        // Changes Azure can only make by recreating a child, said up front.
        if let Some(p) = &prior_cfg {
            if p.firewall_sku_tier != planned_cfg.firewall_sku_tier {
                cx.diags.add_warning(Some(AttrPath::root("firewall_sku_tier")), "The firewall will be recreated", "Azure cannot change an existing firewall's SKU tier here: trench deletes and recreates it, so egress through the hub stops for several minutes.");
            }
            if let (Val::Known(a), Val::Known(b)) = (&p.jump_host, &planned_cfg.jump_host)
                && (a.admin_username != b.admin_username || a.ssh_public_key != b.ssh_public_key)
            {
                cx.diags.add_warning(Some(AttrPath::root("jump_host")), "The jump host VM will be recreated", "Azure cannot change a VM's admin user or its cloud-init/SSH key after creation; trench recreates the VM (its OS disk is replaced).");
            }
        }

        Ok(computed)
    }
}

/// The configured prefix of one subnet, if known.
fn subnet(c: &HubConfig, name: &str) -> Option<String> {
    c.subnets.known().and_then(|s| s.get(name).cloned())
}

/// Whether what `key` picks out is the same in the prior config as planned;
/// with no prior (create, replace) nothing is "the same".
fn unchanged<K: PartialEq>(prior: Option<&HubConfig>, planned: &HubConfig, key: impl Fn(&HubConfig) -> K) -> bool {
    prior.is_some_and(|p| key(p) == key(planned))
}

#[cfg(test)]
mod tests;

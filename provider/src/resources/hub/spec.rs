//! The hub as it should be: names, ids and the ARM body of every object it
//! owns (expand), and the hub a set of bodies describes (flatten), with no
//! ARM calls.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use trench_arm::ResourceId;
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::{Val, Value, from_value};

use super::{
    DEFAULT_ADMIN, DEFAULT_EGRESS_SOURCES, DEFAULT_JUMP_SIZE, DEFAULT_SKU_TIER, DEFAULT_THREAT_INTEL, Hub, HubComputed, HubConfig,
};
use crate::conventions::names;
use crate::resources::cidr;
use crate::resources::common::{self, Env};
use crate::resources::composite::{Bodies, Claims, Specs, str_at};
use crate::resources::network::{SubnetSpec, read_space, read_subnets, vnet_body};

/// Subnet the firewall must live in.
pub const FIREWALL_SUBNET: &str = "AzureFirewallSubnet";
/// Subnet for shared services (the jump host).
pub const SHARED_SUBNET: &str = "shared-services";
/// The one rule collection group trench manages on the policy.
pub const RCG_NAME: &str = "trench-egress";

/// Egress policy of the firewall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EgressMode {
    /// Phase-1 bring-up: everything allowed.
    Loose,
    /// Only AKS, ACR and the extra rules.
    Strict,
}

/// An extra application rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppRule {
    /// Rule name.
    pub name: String,
    /// Source CIDRs (or `*`).
    pub source_addresses: Vec<String>,
    /// Allowed FQDNs (wildcards as `*.example.com`).
    pub target_fqdns: Vec<String>,
    /// `Https:443`, `Http:80`, `Mssql:1433`.
    pub protocols: Vec<String>,
}

/// An extra network rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetRule {
    /// Rule name.
    pub name: String,
    /// `TCP`, `UDP`, `ICMP`, `Any`.
    pub protocols: Vec<String>,
    /// Source CIDRs (or `*`).
    pub source_addresses: Vec<String>,
    /// Destination CIDRs, service tags or `*`.
    pub destination_addresses: Vec<String>,
    /// Ports or ranges (`443`, `1000-2000`, `*`).
    pub destination_ports: Vec<String>,
}

/// The optional jump host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JumpHost {
    /// VM size.
    pub size: String,
    /// Admin user.
    pub admin_username: String,
    /// SSH public key (OpenSSH format).
    pub ssh_public_key: String,
    /// Whether it gets a public IP (SSH from `admin_cidrs`).
    pub public_ip: bool,
}

/// Names of the hub's objects (conventional unless configured).
pub use crate::conventions::names::HubNames;

/// Where the hub's objects live: subscription and names give every id.
#[derive(Clone, Debug, PartialEq)]
pub struct HubIds {
    /// Subscription.
    pub subscription: String,
    /// Names.
    pub names: HubNames,
}

/// The complete desired hub.
#[derive(Clone, Debug, PartialEq)]
pub struct HubSpec {
    /// Ids of every object.
    pub ids: HubIds,
    /// Environment.
    pub env: String,
    /// Location.
    pub location: String,
    /// VNet address space.
    pub address_space: Vec<String>,
    /// Subnets, name → prefix.
    pub subnets: BTreeMap<String, String>,
    /// `Standard` or `Premium`.
    pub firewall_sku_tier: String,
    /// `Alert`, `Deny` or `Off`.
    pub threat_intel_mode: String,
    /// Loose or strict.
    pub egress_mode: EgressMode,
    /// Sources the egress rules apply to.
    pub egress_sources: Vec<String>,
    /// Extra application rules.
    pub application_rules: Vec<AppRule>,
    /// Extra network rules.
    pub network_rules: Vec<NetRule>,
    /// Admin CIDRs allowed to SSH to the jump host.
    pub admin_cidrs: Vec<String>,
    /// Jump host, if any.
    pub jump_host: Option<JumpHost>,
    /// Tags for every object.
    pub tags: BTreeMap<String, String>,
}

/// cloud-init for the jump host: Azure CLI and kubectl, ready for
/// `az aks get-credentials`.
pub const CLOUD_INIT: &str = "#cloud-config
package_update: true
packages:
  - ca-certificates
  - curl
  - apt-transport-https
  - gnupg
runcmd:
  - curl -sL https://aka.ms/InstallAzureCLIDeb | bash
  - curl -fsSLo /usr/local/bin/kubectl \"https://dl.k8s.io/release/$(curl -fsSL https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl\"
  - chmod 0755 /usr/local/bin/kubectl
";

impl HubIds {
    fn res(&self, ns: &str, ty: &str, name: &str) -> ResourceId {
        ResourceId::resource(&self.subscription, &self.names.resource_group, ns, ty, name)
    }
    /// Resource group.
    pub fn rg_id(&self) -> ResourceId {
        ResourceId::resource_group(&self.subscription, &self.names.resource_group)
    }
    /// Hub VNet (the composite's id).
    pub fn vnet_id(&self) -> ResourceId {
        self.res("Microsoft.Network", "virtualNetworks", &self.names.vnet)
    }
    /// A subnet.
    pub fn subnet_id(&self, name: &str) -> ResourceId {
        self.vnet_id().child("subnets", name)
    }
    /// Firewall public IP.
    pub fn pip_id(&self) -> ResourceId {
        self.res("Microsoft.Network", "publicIPAddresses", &self.names.public_ip)
    }
    /// Firewall policy.
    pub fn policy_id(&self) -> ResourceId {
        self.res("Microsoft.Network", "firewallPolicies", &self.names.firewall_policy)
    }
    /// The rule collection group.
    pub fn rcg_id(&self) -> ResourceId {
        self.policy_id().child("ruleCollectionGroups", RCG_NAME)
    }
    /// Firewall.
    pub fn firewall_id(&self) -> ResourceId {
        self.res("Microsoft.Network", "azureFirewalls", &self.names.firewall)
    }
    /// Jump host NSG.
    pub fn nsg_id(&self) -> ResourceId {
        self.res("Microsoft.Network", "networkSecurityGroups", &self.names.jump_nsg)
    }
    /// Jump host NIC.
    pub fn nic_id(&self) -> ResourceId {
        self.res("Microsoft.Network", "networkInterfaces", &self.names.jump_nic)
    }
    /// Jump host public IP.
    pub fn jump_pip_id(&self) -> ResourceId {
        self.res("Microsoft.Network", "publicIPAddresses", &self.names.jump_pip)
    }
    /// Jump host VM.
    pub fn vm_id(&self) -> ResourceId {
        self.res("Microsoft.Compute", "virtualMachines", &self.names.jump_vm)
    }
}

impl HubSpec {
    /// Resource group body.
    pub fn rg_body(&self) -> Json {
        json!({ "location": self.location, "tags": self.tags })
    }

    /// VNet body, merged over the existing VNet (keeps spokes' peerings).
    pub fn vnet_body(&self, existing: Option<&Json>) -> Json {
        let subnets =
            self.subnets.iter().map(|(n, p)| (n.clone(), SubnetSpec { prefix: p.clone(), route_table: None, nsg: None })).collect();
        vnet_body(existing, &self.location, &self.tags, &self.address_space, &subnets)
    }

    fn standard_pip(&self) -> Json {
        json!({
            "location": self.location,
            "tags": self.tags,
            "sku": { "name": "Standard", "tier": "Regional" },
            "properties": { "publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4", "idleTimeoutInMinutes": 4 }
        })
    }

    /// Firewall public IP body.
    pub fn pip_body(&self) -> Json {
        self.standard_pip()
    }

    /// Jump host public IP body.
    pub fn jump_pip_body(&self) -> Json {
        self.standard_pip()
    }

    /// Firewall policy body.
    pub fn policy_body(&self) -> Json {
        json!({
            "location": self.location,
            "tags": self.tags,
            "properties": {
                "sku": { "tier": self.firewall_sku_tier },
                "threatIntelMode": self.threat_intel_mode,
                // Network rules may name FQDNs only with the DNS proxy on.
                "dnsSettings": { "enableProxy": true }
            }
        })
    }

    /// The rule collections loose/strict mode and the extra rules imply.
    pub fn rule_collections(&self) -> Json {
        let src = &self.egress_sources;
        let aks_region = format!("AzureCloud.{}", self.location);
        let mut cols = Vec::new();
        if self.egress_mode == EgressMode::Loose {
            cols.push(json!({
                "ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "allow-all", "priority": 100,
                "action": { "type": "Allow" },
                "rules": [{ "ruleType": "NetworkRule", "name": "allow-all", "ipProtocols": ["Any"],
                            "sourceAddresses": ["*"], "destinationAddresses": ["*"], "destinationPorts": ["*"] }]
            }));
        }
        cols.push(json!({
            "ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "aks-egress-app", "priority": 200,
            "action": { "type": "Allow" },
            "rules": [
                { "ruleType": "ApplicationRule", "name": "aks-fqdn-tag", "sourceAddresses": src,
                  "protocols": [{ "protocolType": "Https", "port": 443 }, { "protocolType": "Http", "port": 80 }],
                  "fqdnTags": ["AzureKubernetesService"] },
                { "ruleType": "ApplicationRule", "name": "container-registries", "sourceAddresses": src,
                  "protocols": [{ "protocolType": "Https", "port": 443 }],
                  "targetFqdns": ["*.azurecr.io", "*.data.azurecr.io", "mcr.microsoft.com", "*.data.mcr.microsoft.com"] }
            ]
        }));
        cols.push(json!({
            "ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "aks-egress-net", "priority": 300,
            "action": { "type": "Allow" },
            "rules": [
                { "ruleType": "NetworkRule", "name": "aks-tunnel-udp", "ipProtocols": ["UDP"], "sourceAddresses": src,
                  "destinationAddresses": [aks_region], "destinationPorts": ["1194"] },
                { "ruleType": "NetworkRule", "name": "aks-tunnel-tcp", "ipProtocols": ["TCP"], "sourceAddresses": src,
                  "destinationAddresses": [aks_region], "destinationPorts": ["9000"] },
                { "ruleType": "NetworkRule", "name": "ntp", "ipProtocols": ["UDP"], "sourceAddresses": src,
                  "destinationAddresses": ["*"], "destinationPorts": ["123"] }
            ]
        }));
        if !self.application_rules.is_empty() {
            let rules: Vec<Json> = self
                .application_rules
                .iter()
                .map(|r| {
                    let protocols: Vec<Json> = r
                        .protocols
                        .iter()
                        .filter_map(|p| {
                            let (t, port) = p.split_once(':')?;
                            Some(json!({ "protocolType": t, "port": port.parse::<u16>().ok()? }))
                        })
                        .collect();
                    json!({ "ruleType": "ApplicationRule", "name": r.name, "sourceAddresses": r.source_addresses,
                            "protocols": protocols, "targetFqdns": r.target_fqdns })
                })
                .collect();
            cols.push(json!({ "ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "extra-app", "priority": 400,
                              "action": { "type": "Allow" }, "rules": rules }));
        }
        if !self.network_rules.is_empty() {
            let rules: Vec<Json> = self
                .network_rules
                .iter()
                .map(|r| {
                    json!({ "ruleType": "NetworkRule", "name": r.name, "ipProtocols": r.protocols,
                            "sourceAddresses": r.source_addresses, "destinationAddresses": r.destination_addresses,
                            "destinationPorts": r.destination_ports })
                })
                .collect();
            cols.push(json!({ "ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": "extra-net", "priority": 500,
                              "action": { "type": "Allow" }, "rules": rules }));
        }
        Json::Array(cols)
    }

    /// The rule collection group body.
    pub fn rcg_body(&self) -> Json {
        json!({ "properties": { "priority": 200, "ruleCollections": self.rule_collections() } })
    }

    /// Firewall body.
    pub fn firewall_body(&self) -> Json {
        json!({
            "location": self.location,
            "tags": self.tags,
            "properties": {
                "sku": { "name": "AZFW_VNet", "tier": self.firewall_sku_tier },
                "firewallPolicy": { "id": self.ids.policy_id().to_string() },
                "ipConfigurations": [{
                    "name": "ipconfig1",
                    "properties": {
                        "subnet": { "id": self.ids.subnet_id(FIREWALL_SUBNET).to_string() },
                        "publicIPAddress": { "id": self.ids.pip_id().to_string() }
                    }
                }]
            }
        })
    }

    /// Jump host NSG body: SSH only from the admin CIDRs.
    pub fn nsg_body(&self) -> Json {
        json!({
            "location": self.location,
            "tags": self.tags,
            "properties": { "securityRules": [{
                "name": "allow-ssh-from-admins",
                "properties": {
                    "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                    "sourceAddressPrefixes": self.admin_cidrs, "sourcePortRange": "*",
                    "destinationAddressPrefix": "*", "destinationPortRange": "22"
                }
            }]}
        })
    }

    /// Jump host NIC body.
    pub fn nic_body(&self) -> Json {
        let mut ipconf = json!({
            "name": "ipconfig1",
            "properties": { "subnet": { "id": self.ids.subnet_id(SHARED_SUBNET).to_string() }, "privateIPAllocationMethod": "Dynamic" }
        });
        if self.jump_host.as_ref().is_some_and(|j| j.public_ip) {
            ipconf["properties"]["publicIPAddress"] = json!({ "id": self.ids.jump_pip_id().to_string() });
        }
        json!({
            "location": self.location,
            "tags": self.tags,
            "properties": { "networkSecurityGroup": { "id": self.ids.nsg_id().to_string() }, "ipConfigurations": [ipconf] }
        })
    }

    /// Jump host VM body.
    pub fn vm_body(&self) -> Option<Json> {
        let j = self.jump_host.as_ref()?;
        Some(json!({
            "location": self.location,
            "tags": self.tags,
            "properties": {
                "hardwareProfile": { "vmSize": j.size },
                "storageProfile": {
                    "imageReference": { "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest" },
                    "osDisk": { "createOption": "FromImage", "managedDisk": { "storageAccountType": "StandardSSD_LRS" }, "deleteOption": "Delete" }
                },
                "osProfile": {
                    "computerName": "jump",
                    "adminUsername": j.admin_username,
                    "customData": base64::engine::general_purpose::STANDARD.encode(CLOUD_INIT),
                    "linuxConfiguration": {
                        "disablePasswordAuthentication": true,
                        "ssh": { "publicKeys": [{ "path": format!("/home/{}/.ssh/authorized_keys", j.admin_username), "keyData": j.ssh_public_key }] }
                    }
                },
                "networkProfile": { "networkInterfaces": [{ "id": self.ids.nic_id().to_string(), "properties": { "primary": true, "deleteOption": "Detach" } }] }
            }
        }))
    }
}

/// One object the hub owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// The core resource group.
    Rg,
    /// The hub VNet.
    Vnet,
    /// The firewall's public IP.
    Pip,
    /// The firewall policy.
    Policy,
    /// trench's rule collection group on it.
    Rcg,
    /// The Azure Firewall.
    Firewall,
    /// The jump host's NSG.
    Nsg,
    /// The jump host's public IP.
    JumpPip,
    /// The jump host's NIC.
    Nic,
    /// The jump host.
    Vm,
}

impl Slot {
    /// The object's id.
    pub fn id(self, i: &HubIds) -> ResourceId {
        match self {
            Slot::Rg => i.rg_id(),
            Slot::Vnet => i.vnet_id(),
            Slot::Pip => i.pip_id(),
            Slot::Policy => i.policy_id(),
            Slot::Rcg => i.rcg_id(),
            Slot::Firewall => i.firewall_id(),
            Slot::Nsg => i.nsg_id(),
            Slot::JumpPip => i.jump_pip_id(),
            Slot::Nic => i.nic_id(),
            Slot::Vm => i.vm_id(),
        }
    }
}

/// The body the spec writes to `slot` (expand), over the VNet as it is.
pub fn want(spec: &HubSpec, slot: Slot, existing_vnet: Option<&Json>) -> Option<Json> {
    Some(match slot {
        Slot::Rg => spec.rg_body(),
        Slot::Vnet => spec.vnet_body(existing_vnet),
        Slot::Pip => spec.pip_body(),
        Slot::Policy => spec.policy_body(),
        Slot::Rcg => spec.rcg_body(),
        Slot::Firewall => spec.firewall_body(),
        Slot::Nsg => spec.nsg_body(),
        Slot::JumpPip => spec.jump_pip_body(),
        Slot::Nic => spec.nic_body(),
        Slot::Vm => spec.vm_body()?,
    })
}

/// Conventional names, with overrides from configuration.
pub fn hub_names(env: &str, cfg: &HubConfig) -> HubNames {
    let pick = |v: &Val<String>, d: String| v.known().cloned().unwrap_or(d);
    let d = names::hub(env);
    HubNames {
        resource_group: pick(&cfg.resource_group_name, d.resource_group.clone()),
        vnet: pick(&cfg.vnet_name, d.vnet.clone()),
        firewall: pick(&cfg.firewall_name, d.firewall.clone()),
        firewall_policy: pick(&cfg.firewall_policy_name, d.firewall_policy.clone()),
        public_ip: pick(&cfg.public_ip_name, d.public_ip.clone()),
        ..d
    }
}

/// `strict` or `loose`.
pub fn parse_egress(m: &str) -> Option<EgressMode> {
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

fn strings(j: Option<&Json>) -> Vec<String> {
    j.and_then(Json::as_array).map(|a| a.iter().filter_map(Json::as_str).map(str::to_owned).collect()).unwrap_or_default()
}

/// A rule collection of the group by name.
pub fn collection<'a>(rcg: &'a Json, name: &str) -> Option<&'a Json> {
    rcg.pointer("/properties/ruleCollections")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Json::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// The hub the bodies describe (flatten); `spec` supplies what they cannot
/// say (names, tags).
pub fn flatten(spec: &HubSpec, b: &Bodies<Slot>) -> HubSpec {
    let mut s = spec.clone();
    if let Some(v) = b.get(&Slot::Vnet) {
        if let Some(loc) = v.get("location").and_then(Json::as_str) {
            s.location = loc.to_owned();
        }
        s.address_space = read_space(v);
        s.subnets = read_subnets(v).into_iter().map(|(k, v)| (k, v.prefix)).collect();
    }
    if let Some(fw) = b.get(&Slot::Firewall)
        && let Some(t) = str_at(fw, "/properties/sku/tier")
    {
        s.firewall_sku_tier = t.to_owned();
    }
    if let Some(p) = b.get(&Slot::Policy)
        && let Some(m) = str_at(p, "/properties/threatIntelMode")
    {
        s.threat_intel_mode = m.to_owned();
    }
    if let Some(r) = b.get(&Slot::Rcg) {
        s.egress_mode = if collection(r, "allow-all").is_some() { EgressMode::Loose } else { EgressMode::Strict };
        if let Some(src) = collection(r, "aks-egress-app").and_then(|c| c.pointer("/rules/0/sourceAddresses")) {
            s.egress_sources = strings(Some(src));
        }
        s.application_rules = collection(r, "extra-app")
            .and_then(|c| c.get("rules"))
            .and_then(Json::as_array)
            .map(|rules| {
                rules
                    .iter()
                    .map(|r| AppRule {
                        name: r.get("name").and_then(Json::as_str).unwrap_or("").to_owned(),
                        source_addresses: strings(r.get("sourceAddresses")),
                        target_fqdns: strings(r.get("targetFqdns")),
                        protocols: r
                            .get("protocols")
                            .and_then(Json::as_array)
                            .map(|ps| {
                                ps.iter()
                                    .map(|p| {
                                        format!(
                                            "{}:{}",
                                            p.get("protocolType").and_then(Json::as_str).unwrap_or(""),
                                            p.get("port").and_then(Json::as_u64).unwrap_or(0)
                                        )
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        s.network_rules = collection(r, "extra-net")
            .and_then(|c| c.get("rules"))
            .and_then(Json::as_array)
            .map(|rules| {
                rules
                    .iter()
                    .map(|r| NetRule {
                        name: r.get("name").and_then(Json::as_str).unwrap_or("").to_owned(),
                        protocols: strings(r.get("ipProtocols")),
                        source_addresses: strings(r.get("sourceAddresses")),
                        destination_addresses: strings(r.get("destinationAddresses")),
                        destination_ports: strings(r.get("destinationPorts")),
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
    if let Some(nsg) = b.get(&Slot::Nsg) {
        let rule = nsg
            .pointer("/properties/securityRules")
            .and_then(Json::as_array)
            .and_then(|rs| rs.iter().find(|r| r.get("name").and_then(Json::as_str) == Some("allow-ssh-from-admins")));
        s.admin_cidrs = rule.map(|r| strings(r.pointer("/properties/sourceAddressPrefixes"))).unwrap_or_default();
    }
    if let (Some(vm), Some(j)) = (b.get(&Slot::Vm), s.jump_host.as_mut()) {
        if let Some(size) = str_at(vm, "/properties/hardwareProfile/vmSize") {
            j.size = size.to_owned();
        }
        if let Some(u) = str_at(vm, "/properties/osProfile/adminUsername") {
            j.admin_username = u.to_owned();
        }
        if let Some(k) = str_at(vm, "/properties/osProfile/linuxConfiguration/ssh/publicKeys/0/keyData") {
            j.ssh_public_key = k.trim().to_owned();
        }
    }
    if let (Some(nic), Some(j)) = (b.get(&Slot::Nic), s.jump_host.as_mut()) {
        j.public_ip = nic.pointer("/properties/ipConfigurations/0/properties/publicIPAddress/id").is_some();
    }
    s
}

impl Specs for Hub {
    type Spec = HubSpec;
    type Slot = Slot;

    /// The desired hub from a wholly known planned state.
    fn spec_from(e: &Env, v: &Value) -> Result<HubSpec, Diagnostics> {
        let cfg: HubConfig = from_value(v)?;
        let subscription = common::subscription_of(v, e);
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
            ids: HubIds { subscription, names: hub_names(&env, &cfg) },
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
            tags: common::with_owner(common::tags_all(&e.default_tags, &env, cfg.tags.known()), "trench_hub", &hub_names(&env, &cfg).vnet),
            env,
        })
    }

    fn id(spec: &HubSpec, slot: &Slot) -> ResourceId {
        slot.id(&spec.ids)
    }

    /// Every object the spec owns, in dependency order.
    fn slots(spec: &HubSpec) -> Vec<Slot> {
        let mut s = vec![Slot::Rg, Slot::Vnet, Slot::Pip, Slot::Policy, Slot::Rcg, Slot::Firewall];
        if let Some(j) = &spec.jump_host {
            s.push(Slot::Nsg);
            if j.public_ip {
                s.push(Slot::JumpPip);
            }
            s.extend([Slot::Nic, Slot::Vm]);
        }
        s
    }

    fn import_id(spec: &HubSpec) -> ResourceId {
        spec.ids.vnet_id()
    }

    fn tags(spec: &HubSpec) -> &BTreeMap<String, String> {
        &spec.tags
    }

    fn claims(spec: &HubSpec) -> Claims {
        let i = &spec.ids;
        Claims { group: Some((i.rg_id(), "resource_group_name")), objects: vec![i.vnet_id(), i.firewall_id()] }
    }

    /// Computed attributes from what exists.
    fn computed(spec: &HubSpec, b: &Bodies<Slot>) -> HubComputed {
        let i = &spec.ids;
        let ip = |slot: Slot, ptr: &str| match b.get(&slot).and_then(|j| str_at(j, ptr)) {
            Some(s) => Val::Known(s.to_owned()),
            None => Val::Null,
        };
        let jump = spec.jump_host.is_some();
        HubComputed {
            id: Val::Known(i.vnet_id().to_string()),
            resource_group_id: Val::Known(i.rg_id().to_string()),
            subnet_ids: Val::Known(spec.subnets.keys().map(|k| (k.clone(), i.subnet_id(k).to_string())).collect()),
            firewall_id: Val::Known(i.firewall_id().to_string()),
            firewall_private_ip: ip(Slot::Firewall, "/properties/ipConfigurations/0/properties/privateIPAddress"),
            firewall_public_ip: ip(Slot::Pip, "/properties/ipAddress"),
            firewall_policy_id: Val::Known(i.policy_id().to_string()),
            public_ip_id: Val::Known(i.pip_id().to_string()),
            jump_host_id: if jump { Val::Known(i.vm_id().to_string()) } else { Val::Null },
            jump_host_private_ip: if jump {
                ip(Slot::Nic, "/properties/ipConfigurations/0/properties/privateIPAddress")
            } else {
                Val::Null
            },
            jump_host_public_ip: if spec.jump_host.as_ref().is_some_and(|j| j.public_ip) {
                ip(Slot::JumpPip, "/properties/ipAddress")
            } else {
                Val::Null
            },
        }
    }
}

//! The hub as it should be: names, ids and the ARM body of every object it
//! owns, computed from the planned state with no ARM calls.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::resources::network::{SubnetSpec, vnet_body};
use trench_arm::ResourceId;

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

/// Names of every object.
#[derive(Clone, Debug, PartialEq)]
pub struct HubNames {
    /// Resource group.
    pub resource_group: String,
    /// Hub VNet.
    pub vnet: String,
    /// Firewall.
    pub firewall: String,
    /// Firewall policy.
    pub firewall_policy: String,
    /// Firewall public IP.
    pub public_ip: String,
    /// Jump host VM.
    pub jump_vm: String,
    /// Jump host NIC.
    pub jump_nic: String,
    /// Jump host NSG.
    pub jump_nsg: String,
    /// Jump host public IP.
    pub jump_pip: String,
}

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> HubSpec {
        HubSpec {
            ids: HubIds {
                subscription: "00000000-0000-4000-8000-000000000002".into(),
                names: HubNames {
                    resource_group: "rg-trench-core-dev".into(),
                    vnet: "trench-core-vnet-dev".into(),
                    firewall: "trench-core-fw-dev".into(),
                    firewall_policy: "trench-core-fwpolicy-dev".into(),
                    public_ip: "trench-core-fwpip-dev".into(),
                    jump_vm: "trench-core-jump-dev".into(),
                    jump_nic: "trench-core-jumpnic-dev".into(),
                    jump_nsg: "trench-core-jumpnsg-dev".into(),
                    jump_pip: "trench-core-jumppip-dev".into(),
                },
            },
            env: "dev".into(),
            location: "westeurope".into(),
            address_space: vec!["10.0.0.0/16".into()],
            subnets: BTreeMap::from([(FIREWALL_SUBNET.into(), "10.0.0.0/26".into()), (SHARED_SUBNET.into(), "10.0.1.0/24".into())]),
            firewall_sku_tier: "Standard".into(),
            threat_intel_mode: "Alert".into(),
            egress_mode: EgressMode::Strict,
            egress_sources: vec!["10.0.0.0/8".into()],
            application_rules: vec![AppRule {
                name: "github".into(),
                source_addresses: vec!["10.1.0.0/16".into()],
                target_fqdns: vec!["github.com".into()],
                protocols: vec!["Https:443".into()],
            }],
            network_rules: vec![],
            admin_cidrs: vec!["203.0.113.0/24".into()],
            jump_host: Some(JumpHost {
                size: "Standard_B2s".into(),
                admin_username: "azureuser".into(),
                ssh_public_key: "ssh-ed25519 AAAAC3Nza test".into(),
                public_ip: true,
            }),
            tags: BTreeMap::from([("environment".into(), "dev".into())]),
        }
    }

    #[test]
    fn bodies_of_every_owned_object() {
        let s = sample();
        let bodies = json!({
            "ids": [s.ids.rg_id().to_string(), s.ids.vnet_id().to_string(), s.ids.rcg_id().to_string(), s.ids.firewall_id().to_string(), s.ids.vm_id().to_string()],
            "vnet": s.vnet_body(None),
            "policy": s.policy_body(),
            "rcg": s.rcg_body(),
            "firewall": s.firewall_body(),
            "nsg": s.nsg_body(),
            "nic": s.nic_body(),
            "vm": s.vm_body(),
        });
        insta::assert_json_snapshot!(bodies);
    }

    #[test]
    fn loose_mode_adds_one_allow_all_collection() {
        let mut s = sample();
        let strict = s.rule_collections();
        s.egress_mode = EgressMode::Loose;
        let loose = s.rule_collections();
        assert_eq!(loose.as_array().unwrap().len(), strict.as_array().unwrap().len() + 1);
        assert_eq!(loose[0]["name"], "allow-all");
    }
}

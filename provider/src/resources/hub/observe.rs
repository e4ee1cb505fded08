//! Reading the hub back: one GET per owned object, every property the hub
//! sets compared with what exists. Values an input can express go back into
//! that input (so the plan shows the difference); everything else becomes a
//! `drift` line that apply repairs. Import discovers the children from the
//! VNet's own back-references.

use crate::resources::composite::{Model as _, Observe};
use async_trait::async_trait;
use std::collections::BTreeMap;

use serde_json::Value as Json;
use trench_arm::ResourceId;
use trench_arm::reconcile::matches;
use trench_plugin::framework::Diagnostics;
use trench_plugin::value::{Value, to_value};

use super::spec::{EgressMode, FIREWALL_SUBNET, HubIds, HubNames, HubSpec, JumpHost, SHARED_SUBNET, Slot, flatten};
use super::{DEFAULT_SKU_TIER, Hub};
use crate::conventions::names;
use crate::resources::common::{self, ArmDiagnostics as _};
use crate::resources::composite::{Bodies, ImportCx, Imported, merge_inputs, null_state, presence_drift, str_at};
use crate::resources::network::same;

/// Drift the inputs cannot express, one line per object.
fn drift(spec: &HubSpec, seen: &HubSpec, b: &Bodies<Slot>) -> Vec<String> {
    let i = &spec.ids;
    let mut out = presence_drift::<Hub>(spec, b, |s| *s != Slot::Rcg, |_| true);
    if let Some(rcg) = b.get(&Slot::Rcg) {
        // Compare with what the observed inputs imply: an edited AKS rule or
        // a collection added by hand is drift, a changed extra rule is not.
        let want = seen.rcg_body();
        if !matches(&want["properties"], &rcg["properties"]) {
            out.push(format!("{}: rule collections differ from trench's definition", i.rcg_id().display()));
        }
    }
    if let Some(p) = b.get(&Slot::Policy)
        && !str_at(p, "/properties/sku/tier").is_some_and(|t| t.eq_ignore_ascii_case(&seen.firewall_sku_tier))
    {
        out.push(format!("{}: SKU tier differs from the firewall's", i.policy_id().display()));
    }
    if let Some(fw) = b.get(&Slot::Firewall) {
        if !same(str_at(fw, "/properties/firewallPolicy/id"), Some(&i.policy_id().to_string())) {
            out.push(format!("{}: not attached to {}", i.firewall_id().display(), i.policy_id().display()));
        }
        if !same(str_at(fw, "/properties/ipConfigurations/0/properties/publicIPAddress/id"), Some(&i.pip_id().to_string()))
            || !same(str_at(fw, "/properties/ipConfigurations/0/properties/subnet/id"), Some(&i.subnet_id(FIREWALL_SUBNET).to_string()))
        {
            out.push(format!("{}: IP configuration differs (subnet or public IP)", i.firewall_id().display()));
        }
    }
    if let Some(pip) = b.get(&Slot::Pip)
        && (!str_at(pip, "/sku/name").is_some_and(|s| s.eq_ignore_ascii_case("Standard"))
            || !str_at(pip, "/properties/publicIPAllocationMethod").is_some_and(|s| s.eq_ignore_ascii_case("Static")))
    {
        out.push(format!("{}: not a Standard static public IP", i.pip_id().display()));
    }
    if let Some(nsg) = b.get(&Slot::Nsg) {
        // A rule added or edited by hand; the admin CIDRs themselves are an input.
        let want = seen.nsg_body();
        if !matches(&want["properties"]["securityRules"], nsg.pointer("/properties/securityRules").unwrap_or(&Json::Null)) {
            out.push(format!("{}: security rules differ from trench's (SSH from admin CIDRs only)", i.nsg_id().display()));
        }
    }
    if let Some(nic) = b.get(&Slot::Nic)
        && (!same(str_at(nic, "/properties/networkSecurityGroup/id"), Some(&i.nsg_id().to_string()))
            || !same(str_at(nic, "/properties/ipConfigurations/0/properties/subnet/id"), Some(&i.subnet_id(SHARED_SUBNET).to_string())))
    {
        out.push(format!("{}: subnet or network security group association differs", i.nic_id().display()));
    }
    out
}

/// The child named in a back-reference id such as
/// `…/azureFirewalls/fw/azureFirewallIpConfigurations/ipconfig1`.
fn owner_of(ip_config_id: &str, ty: &str) -> Option<ResourceId> {
    let id = ResourceId::parse(ip_config_id).ok()?;
    let pos = id.segments.iter().position(|(t, _)| t.eq_ignore_ascii_case(ty))?;
    let mut owner = id.clone();
    owner.segments.truncate(pos + 1);
    Some(owner)
}

#[async_trait]
impl Observe for Hub {
    fn gone(_spec: &HubSpec, bodies: &Bodies<Slot>) -> bool {
        // Everything lived in it.
        !bodies.has(&Slot::Rg)
    }

    /// The state value for what was observed. Inputs that mean the same as the
    /// prior state keep the prior's spelling (so `[]` vs null or list order
    /// never shows as a change).
    fn read_back(state: &mut Value, spec: &HubSpec, b: &Bodies<Slot>) -> Result<(), Diagnostics> {
        let seen = flatten(spec, b);
        merge_inputs(
            state,
            [
                ("location", Value::string(&seen.location)),
                ("address_space", Value::strings(&seen.address_space)),
                ("subnets", Value::string_map(&seen.subnets)),
                ("firewall_sku_tier", Value::string(&seen.firewall_sku_tier)),
                ("threat_intel_mode", Value::string(&seen.threat_intel_mode)),
                ("egress_mode", to_value(&seen.egress_mode)?),
                ("egress_source_addresses", Value::strings(&seen.egress_sources)),
                ("application_rules", to_value(&seen.application_rules)?),
                ("network_rules", to_value(&seen.network_rules)?),
                ("admin_cidrs", Value::strings(&seen.admin_cidrs)),
            ],
        );
        if let (Some(j), Value::Object(m)) = (&seen.jump_host, state)
            && let Some(Value::Object(pj)) = m.get_mut("jump_host")
        {
            pj.insert("size".into(), Value::string(&j.size));
            pj.insert("admin_username".into(), Value::string(&j.admin_username));
            pj.insert("ssh_public_key".into(), Value::string(&j.ssh_public_key));
            pj.insert("public_ip".into(), Value::Bool(j.public_ip));
        }
        Ok(())
    }

    fn drift(spec: &HubSpec, b: &Bodies<Slot>) -> Vec<String> {
        drift(spec, &flatten(spec, b), b)
    }

    async fn import(cx: &ImportCx<'_>) -> Result<Imported<Self>, Diagnostics> {
        let fail = |summary: &str, detail: String| Err(Diagnostics::error(summary, detail));
        let (azure, op, vnet_id) = (cx.azure, cx.op, cx.id);
        let (vnet, tags) = cx.primary("Hub").await?;
        let env = cx.environment(&tags)?;
        let rg = vnet_id.resource_group.clone().unwrap_or_default();
        let vnet_name = vnet_id.name().to_owned();
        // The VNet's subnets point at what uses them.
        let backref = |subnet: &str, ty: &str| -> Option<ResourceId> {
            vnet.pointer("/properties/subnets")?
                .as_array()?
                .iter()
                .find(|s| s.get("name").and_then(Json::as_str).is_some_and(|n| n.eq_ignore_ascii_case(subnet)))?
                .pointer("/properties/ipConfigurations")?
                .as_array()?
                .iter()
                .filter_map(|c| c.get("id").and_then(Json::as_str))
                .find_map(|c| owner_of(c, ty))
        };
        let Some(fw_id) = backref(FIREWALL_SUBNET, "azureFirewalls") else {
            return fail(
                "No firewall found",
                format!("No Azure Firewall uses {}/subnets/{FIREWALL_SUBNET}; this VNet is not a trench hub.", vnet_id.display()),
            );
        };
        let Some(fw) = azure.arm.get(op, &fw_id).await.map_err(|e| e.diagnostics())? else {
            return fail("Firewall not found", format!("{} does not exist.", fw_id.display()));
        };
        let name_of = |ptr: &str| str_at(&fw, ptr).and_then(|s| ResourceId::parse(s).ok()).map(|i| i.name().to_owned());
        let nic_id = backref(SHARED_SUBNET, "networkInterfaces");
        let jump_host = nic_id.is_some().then(|| JumpHost {
            size: String::new(),
            admin_username: String::new(),
            ssh_public_key: String::new(),
            public_ip: false,
        });
        // The jump host's names are trench's own; what exists is found from its NIC.
        let defaults = names::hub(&env);
        let spec = HubSpec {
            ids: HubIds {
                subscription: vnet_id.subscription.clone(),
                names: HubNames {
                    resource_group: rg.clone(),
                    vnet: vnet_name.clone(),
                    firewall: fw_id.name().to_owned(),
                    firewall_policy: name_of("/properties/firewallPolicy/id").unwrap_or_else(|| defaults.firewall_policy.clone()),
                    public_ip: name_of("/properties/ipConfigurations/0/properties/publicIPAddress/id")
                        .unwrap_or_else(|| defaults.public_ip.clone()),
                    jump_nic: nic_id.as_ref().map(|n| n.name().to_owned()).unwrap_or_else(|| defaults.jump_nic.clone()),
                    ..defaults.clone()
                },
            },
            env: env.clone(),
            location: vnet.get("location").and_then(Json::as_str).unwrap_or("").to_owned(),
            address_space: Vec::new(),
            subnets: BTreeMap::new(),
            firewall_sku_tier: DEFAULT_SKU_TIER.into(),
            threat_intel_mode: "Alert".into(),
            egress_mode: EgressMode::Strict,
            egress_sources: Vec::new(),
            application_rules: Vec::new(),
            network_rules: Vec::new(),
            admin_cidrs: Vec::new(),
            jump_host,
            tags: BTreeMap::new(),
        };
        let mut bodies = Hub::fetch(azure, op, &spec).await.map_err(|e| e.diagnostics())?;
        // The jump host's NSG, public IP and VM are found from its NIC.
        if let Some(nic) = bodies.get(&Slot::Nic).cloned() {
            for (slot, ptr) in [
                (Slot::Vm, "/properties/virtualMachine/id"),
                (Slot::Nsg, "/properties/networkSecurityGroup/id"),
                (Slot::JumpPip, "/properties/ipConfigurations/0/properties/publicIPAddress/id"),
            ] {
                bodies.remove(&slot);
                if let Some(id) = str_at(&nic, ptr).and_then(|s| ResourceId::parse(s).ok())
                    && let Some(body) = azure.arm.get(op, &id).await.map_err(|e| e.diagnostics())?
                {
                    bodies.insert(slot, body);
                }
            }
        }
        let mut seen = flatten(&spec, &bodies);
        // User tags: what is on the VNet beyond trench's and the provider's.
        let all_user = common::user_tags(&tags, &azure.env.default_tags, &env);
        seen.tags =
            common::with_owner(common::tags_all(&azure.env.default_tags, &env, Some(&all_user)), "trench_hub", &spec.ids.names.vnet);
        let spec = seen;
        // A state with every attribute, the names and tags filled in; the rest follows from the bodies.
        let mut state = Value::Object(null_state(&Hub::schema()));
        if let Value::Object(m) = &mut state {
            m.insert("environment".into(), Value::string(&env));
            m.insert("resource_group_name".into(), Value::string(&spec.ids.names.resource_group));
            m.insert("vnet_name".into(), Value::string(&spec.ids.names.vnet));
            m.insert("firewall_name".into(), Value::string(&spec.ids.names.firewall));
            m.insert("firewall_policy_name".into(), Value::string(&spec.ids.names.firewall_policy));
            m.insert("public_ip_name".into(), Value::string(&spec.ids.names.public_ip));
            if !all_user.is_empty() {
                m.insert("tags".into(), Value::string_map(&all_user));
            }
            if spec.jump_host.is_some() {
                m.insert("jump_host".into(), Value::Object(BTreeMap::new()));
            }
        }
        Ok(Imported { state, spec, bodies, warnings: Diagnostics::new() })
    }
}

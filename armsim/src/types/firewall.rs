//! Azure Firewall, firewall policies and rule collection groups. The firewall's private IP is the
//! fourth address of AzureFirewallSubnet; policy and group writes attached to a firewall take a
//! firewall update's time and serialise on the policy.

use serde_json::{Value, json};

use super::netmisc::PIP_TYPE;
use super::vnet::{NET, SUBNET_TYPE, invalid_reference, subnet_net};
use super::{NETWORK_NAME, ref_key, sub_resource};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{Hooks, Loc, Lock, PutCx, Spec, Verb, secs};
use crate::state::{Resource, State};

pub(crate) const FIREWALL_TYPE: &str = "Microsoft.Network/azureFirewalls";
pub(crate) const POLICY_TYPE: &str = "Microsoft.Network/firewallPolicies";
pub(crate) const RCG_TYPE: &str = "Microsoft.Network/firewallPolicies/ruleCollectionGroups";

pub(crate) static FIREWALL: Spec = Spec {
    type_name: FIREWALL_TYPE,
    durations: secs(360.0, 240.0, 300.0),
    readonly: &["properties.hubIPAddresses", "properties.ipGroups"],
    hooks: &FirewallHooks,
    ..NET
};
pub(crate) static POLICY: Spec = Spec {
    type_name: POLICY_TYPE,
    durations: secs(5.0, 5.0, 10.0),
    readonly: &["properties.ruleCollectionGroups", "properties.firewalls", "properties.childPolicies", "properties.size"],
    hooks: &PolicyHooks,
    ..NET
};
pub(crate) static RCG: Spec = Spec {
    type_name: RCG_TYPE,
    loc: Loc::None,
    lock: Lock::Parent,
    durations: secs(15.0, 15.0, 15.0),
    readonly: &["properties.size"],
    hooks: &RcgHooks,
    ..NET
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&FIREWALL, &POLICY, &RCG]
}

fn tier_rank(t: &str) -> u8 {
    match t.to_ascii_lowercase().as_str() {
        "basic" => 0,
        "premium" => 2,
        _ => 1,
    }
}

struct FirewallHooks;

impl Hooks for FirewallHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        jpath::default(&mut cx.body, "properties.sku", json!({"name": "AZFW_VNet", "tier": "Standard"}));
        jpath::default(&mut cx.body, "properties.threatIntelMode", json!("Alert"));
        jpath::default(&mut cx.body, "properties.additionalProperties", json!({}));
        for k in ["applicationRuleCollections", "natRuleCollections", "networkRuleCollections"] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), json!([]));
        }
        let owner = cx.id.clone();
        let tier = cx.prop_str("sku.tier").unwrap_or("Standard").to_string();
        if let Some(pid) = cx.prop("firewallPolicy").and_then(|v| v.get("id")).and_then(Value::as_str).map(str::to_string) {
            let Some(policy) = cx.st.get(&crate::armpath::key_of(&pid)).filter(|p| p.is(POLICY_TYPE)) else {
                return Err(invalid_reference(&pid, &owner));
            };
            let ptier = policy.prop_str("sku.tier").unwrap_or("Standard");
            if tier_rank(ptier) < tier_rank(&tier) {
                return Err(ArmError::bad_request(
                    "FirewallPolicyTierMismatch",
                    format!(
                        "Firewall {owner} has tier {tier} but its policy {pid} has tier {ptier}; the policy tier must be at least the firewall tier."
                    ),
                ));
            }
            let classic = ["applicationRuleCollections", "natRuleCollections", "networkRuleCollections"]
                .iter()
                .any(|k| cx.prop(k).and_then(Value::as_array).is_some_and(|a| !a.is_empty()));
            if classic {
                return Err(ArmError::bad_request(
                    "AzureFirewallCannotHaveBothPolicyAndRules",
                    format!("Firewall {owner} references a firewall policy and also has classic rule collections; use one or the other."),
                ));
            }
        }
        let hub = cx.prop_str("sku.name") == Some("AZFW_Hub");
        let mut configs = cx.prop("ipConfigurations").and_then(Value::as_array).cloned().unwrap_or_default();
        if configs.is_empty() && !hub {
            return Err(ArmError::bad_request(
                "AzureFirewallIpConfigurationMissing",
                format!("Firewall {owner} needs an IP configuration on AzureFirewallSubnet."),
            ));
        }
        for (i, c) in configs.iter_mut().enumerate() {
            for ro in ["id", "etag", "type"] {
                c.as_object_mut().map(|o| o.remove(ro));
            }
            let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let p = &mut c["properties"];
            if let Some(o) = p.as_object_mut() {
                o.remove("provisioningState");
                o.remove("privateIPAddress");
            }
            if let Some(pip) = p.get("publicIPAddress").and_then(|v| v.get("id")).and_then(Value::as_str) {
                let Some(r) = cx.st.get(&crate::armpath::key_of(pip)).filter(|r| r.is(PIP_TYPE)) else {
                    return Err(invalid_reference(pip, &owner));
                };
                if !jpath::get_str(&r.body, "sku.name").unwrap_or("Standard").starts_with("Standard") {
                    return Err(ArmError::bad_request(
                        "AzureFirewallPublicIpMustBeStandardSku",
                        format!("Public IP {pip} used by firewall {owner} must be Standard SKU with static allocation."),
                    ));
                }
            }
            let Some(subnet_key) = ref_key(p.get("subnet")) else { continue };
            let subnet_id = p["subnet"]["id"].as_str().unwrap_or("").to_string();
            let Some(subnet) = cx.st.get(&subnet_key).filter(|s| s.is(SUBNET_TYPE)) else {
                return Err(invalid_reference(&subnet_id, &owner));
            };
            if !subnet.name().eq_ignore_ascii_case("AzureFirewallSubnet") {
                return Err(ArmError::bad_request(
                    "AzureFirewallSubnetMissing",
                    format!("Firewall {owner} IP configuration {name} must use a subnet named AzureFirewallSubnet, not {}.", subnet.name()),
                ));
            }
            if p.get("publicIPAddress").is_none() && i == 0 {
                return Err(ArmError::bad_request(
                    "AzureFirewallPublicIpMissing",
                    format!("Firewall {owner} IP configuration {name} needs a public IP address when it has a subnet."),
                ));
            }
            let net = subnet_net(subnet).ok_or_else(|| invalid_reference(&subnet_id, &owner))?;
            if net.prefix_len() > 26 {
                return Err(ArmError::bad_request(
                    "AzureFirewallSubnetSizeTooSmall",
                    format!("AzureFirewallSubnet {net} must be /26 or larger."),
                ));
            }
            // Azure hands the firewall the first usable address of its subnet (x.x.x.4).
            p["privateIPAddress"] = json!(crate::ipam::nth(&net, 4).to_string());
            p["privateIPAllocationMethod"] = json!("Dynamic");
        }
        cx.body["properties"]["ipConfigurations"] = json!(configs);
        Ok(())
    }

    fn render(&self, _st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        for c in body["properties"]["ipConfigurations"].as_array_mut().into_iter().flatten() {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            c["id"] = json!(format!("{}/azureFirewallIpConfigurations/{name}", res.id));
            c["type"] = json!("Microsoft.Network/azureFirewalls/azureFirewallIpConfigurations");
            c["etag"] = json!(format!("W/\"{}\"", res.etag));
            c["properties"]["provisioningState"] = json!(res.prov.shown());
        }
        jpath::default(body, "properties.ipGroups", json!([]));
    }
}

/// Firewalls attached to a policy.
fn attached_firewalls<'a>(st: &'a State, policy_key: &str) -> Vec<&'a Resource> {
    st.referrers(policy_key)
        .into_iter()
        .filter(|r| r.is(FIREWALL_TYPE) && ref_key(r.prop("firewallPolicy")).as_deref() == Some(policy_key))
        .collect()
}

struct PolicyHooks;

impl Hooks for PolicyHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        jpath::default(&mut cx.body, "properties.sku", json!({"tier": "Standard"}));
        jpath::default(&mut cx.body, "properties.threatIntelMode", json!("Alert"));
        if let Some(base) = cx.prop("basePolicy").and_then(|v| v.get("id")).and_then(Value::as_str)
            && cx.st.get(&crate::armpath::key_of(base)).is_none()
        {
            return Err(invalid_reference(base, &cx.id));
        }
        Ok(())
    }

    fn render(&self, st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let key = res.key();
        let groups: Vec<Value> = st.children(&key, RCG_TYPE).into_iter().map(|g| sub_resource(&g.id)).collect();
        let fws: Vec<Value> = attached_firewalls(st, &key).into_iter().map(|f| sub_resource(&f.id)).collect();
        body["properties"]["ruleCollectionGroups"] = json!(groups);
        body["properties"]["firewalls"] = json!(fws);
        body["properties"]["childPolicies"] = json!([]);
    }

    fn check_delete(&self, st: &State, res: &Resource) -> Result<(), ArmError> {
        match attached_firewalls(st, &res.key()).first() {
            Some(fw) => Err(ArmError::bad_request(
                "InUseFirewallPolicyCannotBeDeleted",
                format!("Firewall policy {} is associated with firewall {} and cannot be deleted.", res.id, fw.id),
            )),
            None => Ok(()),
        }
    }

    fn duration(&self, st: &State, key: &str, verb: Verb, base: f64) -> f64 {
        attached_duration(st, key, verb, base)
    }
}

/// A change to a policy in use reconfigures its firewalls: it takes a firewall update's time.
fn attached_duration(st: &State, policy_key: &str, _verb: Verb, base: f64) -> f64 {
    if attached_firewalls(st, policy_key).is_empty() { base } else { base.max(FIREWALL.durations.update) }
}

struct RcgHooks;

const COLLECTION_TYPES: &[&str] = &["FirewallPolicyFilterRuleCollection", "FirewallPolicyNatRuleCollection"];
const RULE_TYPES: &[&str] = &["ApplicationRule", "NetworkRule", "NatRule"];

impl Hooks for RcgHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let owner = cx.id.clone();
        let prio = cx.prop("priority").and_then(Value::as_i64).unwrap_or(0);
        if !(100..=65000).contains(&prio) {
            return Err(ArmError::bad_request(
                "FirewallPolicyRuleCollectionGroupInvalidPriority",
                format!("Rule collection group {owner} has priority {prio}; it must be between 100 and 65000."),
            ));
        }
        let proxy = cx.parent.and_then(|p| jpath::get_bool(&p.body, "properties.dnsSettings.enableProxy")).unwrap_or(false);
        jpath::default(&mut cx.body, "properties.ruleCollections", json!([]));
        for c in cx.body["properties"]["ruleCollections"].as_array().into_iter().flatten() {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            NETWORK_NAME.check(name, "rule collection")?;
            let t = c.get("ruleCollectionType").and_then(Value::as_str).unwrap_or("");
            if !COLLECTION_TYPES.contains(&t) {
                return Err(ArmError::bad_request(
                    "FirewallPolicyRuleCollectionInvalidType",
                    format!("Rule collection {name} has ruleCollectionType '{t}'; allowed: {}.", COLLECTION_TYPES.join(", ")),
                ));
            }
            let cp = c.get("priority").and_then(Value::as_i64).unwrap_or(0);
            if !(100..=65000).contains(&cp) {
                return Err(ArmError::bad_request(
                    "FirewallPolicyRuleCollectionInvalidPriority",
                    format!("Rule collection {name} has priority {cp}; it must be between 100 and 65000."),
                ));
            }
            for r in c.get("rules").and_then(Value::as_array).into_iter().flatten() {
                let rt = r.get("ruleType").and_then(Value::as_str).unwrap_or("");
                let rname = r.get("name").and_then(Value::as_str).unwrap_or("");
                if !RULE_TYPES.contains(&rt) {
                    return Err(ArmError::bad_request(
                        "FirewallPolicyRuleInvalidType",
                        format!("Rule {rname} in collection {name} has ruleType '{rt}'; allowed: {}.", RULE_TYPES.join(", ")),
                    ));
                }
                let fqdns = r.get("destinationFqdns").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
                if rt == "NetworkRule" && fqdns && !proxy {
                    return Err(ArmError::bad_request(
                        "FirewallPolicyNetworkRuleFqdnRequiresDnsProxy",
                        format!(
                            "Network rule {rname} in collection {name} uses destinationFqdns, which needs DNS proxy enabled on the firewall policy (dnsSettings.enableProxy)."
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn duration(&self, st: &State, key: &str, verb: Verb, base: f64) -> f64 {
        let policy = key.rsplitn(3, '/').nth(2).unwrap_or("");
        attached_duration(st, policy, verb, base)
    }
}

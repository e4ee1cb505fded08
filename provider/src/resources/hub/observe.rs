//! Reading the hub back: one GET per owned object, every property the hub
//! sets compared with what exists. Values an input can express go back into
//! that input (so the plan shows the difference); everything else becomes a
//! `drift` line that apply repairs. Import discovers the children from the
//! VNet's own back-references.

use crate::resources::common::ArmDiagnostics as _;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

use super::apply::{Bodies, computed_from, ids_from_state, str_at};
use super::spec::{AppRule, EgressMode, FIREWALL_SUBNET, HubIds, HubNames, HubSpec, JumpHost, NetRule, SHARED_SUBNET};
use super::{DEFAULT_SKU_TIER, default_timeouts, spec_from};
use crate::resources::common::{self, Azure};
use crate::resources::network::{read_space, read_subnets, same, tag_drift};
use trench_arm::reconcile::matches;
use trench_arm::{ArmError, Op, ResourceId};
use trench_plugin::framework::{Ctx, Diagnostics, StateResult};
use trench_plugin::value::{Value, to_value};

/// GETs every object the hub owns, in parallel.
async fn fetch(azure: &Azure, op: &Op, i: &HubIds, jump: bool) -> Result<Bodies, ArmError> {
    let arm = &*azure.arm;
    let none = || async { Ok::<Option<Json>, ArmError>(None) };
    let ids = [
        i.rg_id(),
        i.vnet_id(),
        i.pip_id(),
        i.policy_id(),
        i.rcg_id(),
        i.firewall_id(),
        i.nsg_id(),
        i.nic_id(),
        i.vm_id(),
        i.jump_pip_id(),
    ];
    let (rg, vnet, pip, policy, rcg, firewall) = tokio::join!(
        arm.get(op, &ids[0]),
        arm.get(op, &ids[1]),
        arm.get(op, &ids[2]),
        arm.get(op, &ids[3]),
        arm.get(op, &ids[4]),
        arm.get(op, &ids[5]),
    );
    let (nsg, nic, vm, jump_pip) = if jump {
        tokio::join!(arm.get(op, &ids[6]), arm.get(op, &ids[7]), arm.get(op, &ids[8]), arm.get(op, &ids[9]))
    } else {
        tokio::join!(none(), none(), none(), none())
    };
    Ok(Bodies {
        rg: rg?,
        vnet: vnet?,
        pip: pip?,
        policy: policy?,
        rcg: rcg?,
        firewall: firewall?,
        nsg: nsg?,
        nic: nic?,
        vm: vm?,
        jump_pip: jump_pip?,
    })
}

fn strings(j: Option<&Json>) -> Vec<String> {
    j.and_then(Json::as_array).map(|a| a.iter().filter_map(Json::as_str).map(str::to_owned).collect()).unwrap_or_default()
}

fn collection<'a>(rcg: &'a Json, name: &str) -> Option<&'a Json> {
    rcg.pointer("/properties/ruleCollections")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Json::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// What the objects say the inputs are; `spec` supplies what they cannot.
fn observed_spec(spec: &HubSpec, b: &Bodies) -> HubSpec {
    let mut s = spec.clone();
    if let Some(v) = &b.vnet {
        if let Some(loc) = v.get("location").and_then(Json::as_str) {
            s.location = loc.to_owned();
        }
        s.address_space = read_space(v);
        s.subnets = read_subnets(v).into_iter().map(|(k, v)| (k, v.prefix)).collect();
    }
    if let Some(fw) = &b.firewall
        && let Some(t) = str_at(fw, "/properties/sku/tier")
    {
        s.firewall_sku_tier = t.to_owned();
    }
    if let Some(p) = &b.policy
        && let Some(m) = str_at(p, "/properties/threatIntelMode")
    {
        s.threat_intel_mode = m.to_owned();
    }
    if let Some(r) = &b.rcg {
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
    if let Some(nsg) = &b.nsg {
        let rule = nsg
            .pointer("/properties/securityRules")
            .and_then(Json::as_array)
            .and_then(|rs| rs.iter().find(|r| r.get("name").and_then(Json::as_str) == Some("allow-ssh-from-admins")));
        s.admin_cidrs = rule.map(|r| strings(r.pointer("/properties/sourceAddressPrefixes"))).unwrap_or_default();
    }
    if let (Some(vm), Some(j)) = (&b.vm, s.jump_host.as_mut()) {
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
    if let (Some(nic), Some(j)) = (&b.nic, s.jump_host.as_mut()) {
        j.public_ip = nic.pointer("/properties/ipConfigurations/0/properties/publicIPAddress/id").is_some();
    }
    s
}

/// Drift the inputs cannot express, one line per object.
fn drift(spec: &HubSpec, seen: &HubSpec, b: &Bodies) -> Vec<String> {
    let i = &spec.ids;
    let mut out = Vec::new();
    let mut need = |body: &Option<Json>, id: ResourceId, wanted: bool| {
        if wanted && body.is_none() {
            out.push(format!("{} is missing", id.display()));
        }
    };
    let jump = spec.jump_host.is_some();
    need(&b.rg, i.rg_id(), true);
    need(&b.vnet, i.vnet_id(), true);
    need(&b.pip, i.pip_id(), true);
    need(&b.policy, i.policy_id(), true);
    need(&b.rcg, i.rcg_id(), true);
    need(&b.firewall, i.firewall_id(), true);
    need(&b.nsg, i.nsg_id(), jump);
    need(&b.nic, i.nic_id(), jump);
    need(&b.vm, i.vm_id(), jump);
    need(&b.jump_pip, i.jump_pip_id(), jump && spec.jump_host.as_ref().is_some_and(|j| j.public_ip));
    for (body, id) in [
        (&b.rg, i.rg_id()),
        (&b.vnet, i.vnet_id()),
        (&b.pip, i.pip_id()),
        (&b.policy, i.policy_id()),
        (&b.firewall, i.firewall_id()),
        (&b.nsg, i.nsg_id()),
        (&b.nic, i.nic_id()),
        (&b.vm, i.vm_id()),
        (&b.jump_pip, i.jump_pip_id()),
    ] {
        if let Some(body) = body
            && let Some(line) = tag_drift(&id.display(), body, &spec.tags)
        {
            out.push(line);
        }
    }
    if let Some(rcg) = &b.rcg {
        // Compare with what the observed inputs imply: an edited AKS rule or
        // a collection added by hand is drift, a changed extra rule is not.
        let want = seen.rcg_body();
        if !matches(&want["properties"], &rcg["properties"]) {
            out.push(format!("{}: rule collections differ from trench's definition", i.rcg_id().display()));
        }
    }
    if let Some(p) = &b.policy
        && !str_at(p, "/properties/sku/tier").is_some_and(|t| t.eq_ignore_ascii_case(&seen.firewall_sku_tier))
    {
        out.push(format!("{}: SKU tier differs from the firewall's", i.policy_id().display()));
    }
    if let Some(fw) = &b.firewall {
        if !same(str_at(fw, "/properties/firewallPolicy/id"), Some(&i.policy_id().to_string())) {
            out.push(format!("{}: not attached to {}", i.firewall_id().display(), i.policy_id().display()));
        }
        if !same(str_at(fw, "/properties/ipConfigurations/0/properties/publicIPAddress/id"), Some(&i.pip_id().to_string()))
            || !same(str_at(fw, "/properties/ipConfigurations/0/properties/subnet/id"), Some(&i.subnet_id(FIREWALL_SUBNET).to_string()))
        {
            out.push(format!("{}: IP configuration differs (subnet or public IP)", i.firewall_id().display()));
        }
    }
    if let Some(pip) = &b.pip
        && (!str_at(pip, "/sku/name").is_some_and(|s| s.eq_ignore_ascii_case("Standard"))
            || !str_at(pip, "/properties/publicIPAllocationMethod").is_some_and(|s| s.eq_ignore_ascii_case("Static")))
    {
        out.push(format!("{}: not a Standard static public IP", i.pip_id().display()));
    }
    if let Some(nsg) = &b.nsg {
        // A rule added or edited by hand; the admin CIDRs themselves are an input.
        let want = seen.nsg_body();
        if !matches(&want["properties"]["securityRules"], nsg.pointer("/properties/securityRules").unwrap_or(&Json::Null)) {
            out.push(format!("{}: security rules differ from trench's (SSH from admin CIDRs only)", i.nsg_id().display()));
        }
    }
    if let Some(nic) = &b.nic
        && (!same(str_at(nic, "/properties/networkSecurityGroup/id"), Some(&i.nsg_id().to_string()))
            || !same(str_at(nic, "/properties/ipConfigurations/0/properties/subnet/id"), Some(&i.subnet_id(SHARED_SUBNET).to_string())))
    {
        out.push(format!("{}: subnet or network security group association differs", i.nic_id().display()));
    }
    out
}

/// The state value for what was observed. Inputs that mean the same as the
/// prior state keep the prior's spelling (so `[]` vs null or list order
/// never shows as a change).
fn state_for(prior: &Value, spec: &HubSpec, seen: &HubSpec, b: &Bodies) -> Result<Value, Diagnostics> {
    let mut state = prior.clone();
    #[derive(Serialize)]
    struct Inputs<'a> {
        location: &'a str,
        address_space: &'a [String],
        subnets: &'a BTreeMap<String, String>,
        firewall_sku_tier: &'a str,
        threat_intel_mode: &'a str,
        egress_mode: EgressMode,
        egress_source_addresses: &'a [String],
    }
    let inputs = Inputs {
        location: &seen.location,
        address_space: &seen.address_space,
        subnets: &seen.subnets,
        firewall_sku_tier: &seen.firewall_sku_tier,
        threat_intel_mode: &seen.threat_intel_mode,
        egress_mode: seen.egress_mode,
        egress_source_addresses: &seen.egress_sources,
    };
    let Value::Object(obs) = to_value(&inputs)? else { unreachable!("struct") };
    if let Value::Object(m) = &mut state {
        for (k, v) in obs {
            let keep = m.get(k.as_str()).is_some_and(|p| same_meaning(p, &v));
            if !keep {
                m.insert(k, v);
            }
        }
        let rules_app = if seen.application_rules.is_empty() { None } else { Some(to_value(&seen.application_rules)?) };
        let rules_net = if seen.network_rules.is_empty() { None } else { Some(to_value(&seen.network_rules)?) };
        let admins = if seen.admin_cidrs.is_empty() { None } else { Some(to_value(&seen.admin_cidrs)?) };
        for (k, v) in [("application_rules", rules_app), ("network_rules", rules_net), ("admin_cidrs", admins)] {
            let prior_v = m.get(k).cloned().unwrap_or(Value::Null);
            let empty_both = v.is_none() && (prior_v.is_null() || matches!(&prior_v, Value::List(l) if l.is_empty()));
            if !empty_both && !v.as_ref().is_some_and(|v| same_meaning(&prior_v, v)) {
                m.insert(k.to_owned(), v.unwrap_or(Value::Null));
            }
        }
        if let (Some(j), Some(Value::Object(pj))) = (&seen.jump_host, m.get_mut("jump_host")) {
            pj.insert("size".into(), Value::string(&j.size));
            pj.insert("admin_username".into(), Value::string(&j.admin_username));
            pj.insert("ssh_public_key".into(), Value::string(&j.ssh_public_key));
            pj.insert("public_ip".into(), Value::Bool(j.public_ip));
        }
    }
    let mut computed = computed_from(spec, b, true);
    computed.drift = trench_plugin::value::Val::Known(drift(spec, seen, b));
    common::patch(&mut state, &computed)?;
    Ok(state)
}

/// Equal as Terraform should see it: lists of strings as sets, strings
/// case-insensitively (ARM echoes its own casing).
fn same_meaning(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::List(x) | Value::Set(x), Value::List(y) | Value::Set(y)) if x.iter().all(|v| matches!(v, Value::String(_))) => {
            x.len() == y.len() && x.iter().all(|v| y.contains(v))
        }
        _ => a == b,
    }
}

pub(super) async fn read(ctx: &Ctx, state: Value, private: Vec<u8>) -> StateResult {
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(state, d),
    };
    let spec = match spec_from(&azure.subscription, &azure.default_tags, &state) {
        Ok(mut s) => {
            if let Some(ids) = ids_from_state(&azure.subscription, &state) {
                s.ids = ids;
            }
            s
        }
        Err(d) => return StateResult::failed(state, d),
    };
    let t = common::timeouts(&state, default_timeouts()).unwrap_or(default_timeouts());
    let op = common::op(ctx, "reading", t.read);
    let bodies = match fetch(&azure, &op, &spec.ids, spec.jump_host.is_some()).await {
        Ok(b) => b,
        Err(e) => return StateResult::failed(state, e.diagnostics()),
    };
    if bodies.rg.is_none() {
        // Everything lived in it: the hub is gone.
        return StateResult::ok(Value::Null);
    }
    let seen = observed_spec(&spec, &bodies);
    match state_for(&state, &spec, &seen, &bodies) {
        Ok(s) => StateResult { state: s, private, diagnostics: Diagnostics::new() },
        Err(d) => StateResult::failed(state, d),
    }
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

pub(super) async fn import(ctx: &Ctx, id: &str) -> StateResult {
    let fail = |summary: &str, detail: String| StateResult::failed(Value::Null, Diagnostics::error(summary, detail));
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(Value::Null, d),
    };
    let vnet_id = match ResourceId::parse(id) {
        Ok(v) if v.resource_type().eq_ignore_ascii_case("Microsoft.Network/virtualNetworks") => v,
        Ok(v) => return fail("Wrong import id", format!("trench_hub is imported by its hub VNet id; {id} is a {}.", v.resource_type())),
        Err(e) => return fail("Invalid import id", e.to_string()),
    };
    let op = common::op(ctx, "importing", default_timeouts().read);
    let vnet = match azure.arm.get(&op, &vnet_id).await {
        Ok(Some(v)) => v,
        Ok(None) => return fail("Hub not found", format!("{} does not exist.", vnet_id.display())),
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    let rg = vnet_id.resource_group.clone().unwrap_or_default();
    let tags = crate::resources::network::read_tags(&vnet);
    let vnet_name = vnet_id.name().to_owned();
    let env = tags
        .get("environment")
        .cloned()
        .or_else(|| vnet_name.rsplit('-').next().map(str::to_owned))
        .filter(|e| crate::conventions::check_environment(e).is_ok());
    let Some(env) = env else {
        return fail(
            "Cannot tell the environment",
            format!("{} has no `environment` tag and its name does not end in one.", vnet_id.display()),
        );
    };
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
    let fw = match azure.arm.get(&op, &fw_id).await {
        Ok(Some(f)) => f,
        Ok(None) => return fail("Firewall not found", format!("{} does not exist.", fw_id.display())),
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    let name_of = |ptr: &str| str_at(&fw, ptr).and_then(|s| ResourceId::parse(s).ok()).map(|i| i.name().to_owned());
    let nic_id = backref(SHARED_SUBNET, "networkInterfaces");
    let jump_host = nic_id.is_some().then(|| JumpHost {
        size: String::new(),
        admin_username: String::new(),
        ssh_public_key: String::new(),
        public_ip: false,
    });
    let defaults = |r: &str| format!("trench-core-{r}-{env}");
    let spec = HubSpec {
        ids: HubIds {
            subscription: vnet_id.subscription.clone(),
            names: HubNames {
                resource_group: rg.clone(),
                vnet: vnet_name.clone(),
                firewall: fw_id.name().to_owned(),
                firewall_policy: name_of("/properties/firewallPolicy/id").unwrap_or_else(|| defaults("fwpolicy")),
                public_ip: name_of("/properties/ipConfigurations/0/properties/publicIPAddress/id").unwrap_or_else(|| defaults("fwpip")),
                jump_vm: defaults("jump"),
                jump_nic: nic_id.as_ref().map(|n| n.name().to_owned()).unwrap_or_else(|| defaults("jumpnic")),
                jump_nsg: defaults("jumpnsg"),
                jump_pip: defaults("jumppip"),
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
    let mut bodies = match fetch(&azure, &op, &spec.ids, spec.jump_host.is_some()).await {
        Ok(b) => b,
        Err(e) => return StateResult::failed(Value::Null, e.diagnostics()),
    };
    // The jump host's NSG and VM are found from its NIC.
    if let Some(nic) = &bodies.nic {
        let (vm, nsg) = (str_at(nic, "/properties/virtualMachine/id"), str_at(nic, "/properties/networkSecurityGroup/id"));
        let (vm, nsg) = (vm.and_then(|s| ResourceId::parse(s).ok()), nsg.and_then(|s| ResourceId::parse(s).ok()));
        if let Some(vm) = &vm {
            bodies.vm = azure.arm.get(&op, vm).await.ok().flatten();
        }
        if let Some(nsg) = &nsg {
            bodies.nsg = azure.arm.get(&op, nsg).await.ok().flatten();
        }
    }
    let mut seen = observed_spec(&spec, &bodies);
    // User tags: what is on the VNet beyond trench's and the provider's.
    let all_user = common::user_tags(&tags, &azure.default_tags, &env);
    seen.tags = common::with_owner(common::tags_all(&azure.default_tags, &env, Some(&all_user)), "trench_hub", &spec.ids.names.vnet);
    let spec = HubSpec { tags: seen.tags.clone(), ..seen.clone() };
    // A skeleton state with every attribute, then filled like a read.
    let skeleton = super::schema()
        .block
        .attributes
        .iter()
        .map(|a| (a.name.clone(), Value::Null))
        .chain([("timeouts".to_owned(), Value::Null)])
        .collect();
    let mut state = Value::Object(skeleton);
    if let Value::Object(m) = &mut state {
        m.insert("environment".into(), Value::string(&env));
        m.insert("resource_group_name".into(), Value::string(&spec.ids.names.resource_group));
        m.insert("vnet_name".into(), Value::string(&spec.ids.names.vnet));
        m.insert("firewall_name".into(), Value::string(&spec.ids.names.firewall));
        m.insert("firewall_policy_name".into(), Value::string(&spec.ids.names.firewall_policy));
        m.insert("public_ip_name".into(), Value::string(&spec.ids.names.public_ip));
        if !all_user.is_empty() {
            m.insert("tags".into(), Value::Map(all_user.iter().map(|(k, v)| (k.clone(), Value::string(v))).collect()));
        }
        if spec.jump_host.is_some() {
            m.insert("jump_host".into(), Value::Object(BTreeMap::new()));
        }
    }
    match state_for(&state, &spec, &seen, &bodies) {
        Ok(s) => StateResult::ok(s),
        Err(d) => StateResult::failed(Value::Null, d),
    }
}

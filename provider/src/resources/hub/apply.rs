//! Creating, updating and deleting the hub's objects, in dependency order
//! with independent ones in parallel, one write at a time per VNet and per
//! firewall policy.

use crate::resources::common::ArmDiagnostics as _;
use std::sync::Mutex;

use serde_json::Value as Json;

use super::spec::{HubIds, HubSpec};
use super::{HubComputed, HubConfig, default_timeouts, names, spec_from};
use crate::resources::common::{self, Azure};
use trench_arm::reconcile::{ensure, failed, matches, settled};
use trench_arm::{ArmError, Op, ResourceId};
use trench_plugin::framework::{ApplyRequest, Ctx, Diagnostics, StateResult};
use trench_plugin::value::{Val, Value, from_value};

/// Bodies of objects known to exist, filled in as steps finish, so a
/// failure part-way still reports everything that exists.
#[derive(Default, Debug)]
pub(super) struct Bodies {
    pub rg: Option<Json>,
    pub vnet: Option<Json>,
    pub pip: Option<Json>,
    pub policy: Option<Json>,
    pub rcg: Option<Json>,
    pub firewall: Option<Json>,
    pub nsg: Option<Json>,
    pub jump_pip: Option<Json>,
    pub nic: Option<Json>,
    pub vm: Option<Json>,
}

pub(super) fn str_at<'a>(j: &'a Json, ptr: &str) -> Option<&'a str> {
    j.pointer(ptr).and_then(Json::as_str)
}

/// The ids recorded in a state value.
pub(super) fn ids_from_state(subscription: &str, state: &Value) -> Option<HubIds> {
    let cfg: HubConfig = from_value(state).ok()?;
    let env = cfg.environment.known()?.clone();
    // The subscription the hub was created in is the one in its id.
    let sub = state
        .get_attr("id")
        .and_then(Value::as_str)
        .and_then(|id| ResourceId::parse(id).ok())
        .map(|i| i.subscription)
        .unwrap_or_else(|| subscription.to_owned());
    Some(HubIds { subscription: sub, names: names(&env, &cfg) })
}

pub(super) async fn apply(ctx: &Ctx, req: ApplyRequest) -> StateResult {
    let azure = match common::azure(ctx) {
        Ok(a) => a,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let source = if req.planned.is_null() { &req.prior } else { &req.planned };
    let t = match common::timeouts(source, default_timeouts()) {
        Ok(t) => t,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    if req.planned.is_null() {
        let op = common::op(ctx, "deleting", t.delete);
        return match delete(&azure, &op, &req.prior).await {
            Ok(warnings) => StateResult { state: Value::Null, private: Vec::new(), diagnostics: warnings },
            Err(e) => StateResult::failed(req.prior, e.diagnostics()),
        };
    }
    let spec = match spec_from(&azure.subscription, &azure.default_tags, &req.planned) {
        Ok(s) => s,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let creating = req.prior.is_null();
    let op = if creating { common::op(ctx, "creating", t.create) } else { common::op(ctx, "updating", t.update) };
    if creating && let Err(d) = refuse_adoption(&azure, &op, &spec).await {
        return StateResult::failed(Value::Null, d);
    }
    let prior_ids = if creating { None } else { ids_from_state(&azure.subscription, &req.prior) };
    let prior_had_jump = !creating && req.prior.get_attr("jump_host").is_some_and(|j| !j.is_null());
    let bodies = Mutex::new(Bodies::default());
    let result = reconcile(&azure, &op, &spec, prior_ids.as_ref(), prior_had_jump, &bodies).await;
    let bodies = bodies.into_inner().expect("bodies lock");
    let mut state = req.planned.clone();
    let computed = computed_from(&spec, &bodies, result.is_ok());
    if let Err(d) = common::patch(&mut state, &computed) {
        return StateResult::failed(req.prior, d);
    }
    match result {
        Ok(()) => StateResult::ok(state),
        Err(e) => {
            state.unknowns_to_null();
            let created = existing(&spec, &bodies);
            let what = if creating { "hub" } else { "hub update" };
            let d = common::partial_failure(e, what, &created);
            // Nothing exists after a failed create: report no state at all.
            if creating && created.is_empty() { StateResult::failed(Value::Null, d) } else { StateResult::failed(state, d) }
        }
    }
}

/// Objects that exist, readable.
fn existing(spec: &HubSpec, b: &Bodies) -> Vec<String> {
    let i = &spec.ids;
    [
        (b.rg.is_some(), i.rg_id()),
        (b.vnet.is_some(), i.vnet_id()),
        (b.pip.is_some(), i.pip_id()),
        (b.policy.is_some(), i.policy_id()),
        (b.rcg.is_some(), i.rcg_id()),
        (b.firewall.is_some(), i.firewall_id()),
        (b.nsg.is_some(), i.nsg_id()),
        (b.jump_pip.is_some(), i.jump_pip_id()),
        (b.nic.is_some(), i.nic_id()),
        (b.vm.is_some(), i.vm_id()),
    ]
    .into_iter()
    .filter(|(e, _)| *e)
    .map(|(_, id)| id.display())
    .collect()
}

/// Computed attributes from what exists.
pub(super) fn computed_from(spec: &HubSpec, b: &Bodies, complete: bool) -> HubComputed {
    let i = &spec.ids;
    let ip = |body: &Option<Json>, ptr: &str| match body.as_ref().and_then(|j| str_at(j, ptr)) {
        Some(s) => Val::Known(s.to_owned()),
        None => Val::Null,
    };
    let jump = spec.jump_host.is_some();
    let missing: Vec<String> = if complete {
        Vec::new()
    } else {
        let mut m = Vec::new();
        for (present, id, wanted) in [
            (b.rg.is_some(), i.rg_id(), true),
            (b.vnet.is_some(), i.vnet_id(), true),
            (b.pip.is_some(), i.pip_id(), true),
            (b.policy.is_some(), i.policy_id(), true),
            (b.rcg.is_some(), i.rcg_id(), true),
            (b.firewall.is_some(), i.firewall_id(), true),
            (b.nsg.is_some(), i.nsg_id(), jump),
            (b.nic.is_some(), i.nic_id(), jump),
            (b.vm.is_some(), i.vm_id(), jump),
        ] {
            if wanted && !present {
                m.push(format!("{} not yet in place", id.display()));
            }
        }
        m
    };
    HubComputed {
        id: Val::Known(i.vnet_id().to_string()),
        resource_group_id: Val::Known(i.rg_id().to_string()),
        subnet_ids: Val::Known(spec.subnets.keys().map(|k| (k.clone(), i.subnet_id(k).to_string())).collect()),
        firewall_id: Val::Known(i.firewall_id().to_string()),
        firewall_private_ip: ip(&b.firewall, "/properties/ipConfigurations/0/properties/privateIPAddress"),
        firewall_public_ip: ip(&b.pip, "/properties/ipAddress"),
        firewall_policy_id: Val::Known(i.policy_id().to_string()),
        public_ip_id: Val::Known(i.pip_id().to_string()),
        jump_host_id: if jump { Val::Known(i.vm_id().to_string()) } else { Val::Null },
        jump_host_private_ip: if jump { ip(&b.nic, "/properties/ipConfigurations/0/properties/privateIPAddress") } else { Val::Null },
        jump_host_public_ip: if spec.jump_host.as_ref().is_some_and(|j| j.public_ip) {
            ip(&b.jump_pip, "/properties/ipAddress")
        } else {
            Val::Null
        },
        tags_all: Val::Known(common::visible_tags(&spec.tags)),
        drift: Val::Known(missing),
        api_versions: Val::Known(super::api_versions()),
    }
}

/// A hub that exists in Azure but not in state is not silently adopted.
async fn refuse_adoption(azure: &Azure, op: &Op, spec: &HubSpec) -> Result<(), Diagnostics> {
    let read = op.with_action("checking for an existing");
    let i = &spec.ids;
    common::refuse_existing_group(azure, op, &i.rg_id(), &spec.tags, "resource_group_name", &i.vnet_id()).await?;
    let (vnet_id, fw_id) = (i.vnet_id(), i.firewall_id());
    let (v, f) = tokio::join!(azure.arm.get(&read, &vnet_id), azure.arm.get(&read, &fw_id));
    for (r, id) in [(v, i.vnet_id()), (f, i.firewall_id())] {
        match r {
            // Ours, from an apply that did not finish: resume.
            Ok(Some(body)) if common::owned_by(&body, &spec.tags) => {}
            Ok(Some(_)) => {
                return Err(Diagnostics::error(
                    format!("{} already exists", id.display()),
                    format!(
                        "trench does not take over objects it did not create. To manage this hub with Terraform, import it:\n\n  terraform import <address of this trench_hub> {}\n\nor add an import block with that id.",
                        i.vnet_id()
                    ),
                ));
            }
            Ok(None) => {}
            Err(e) => return Err(e.diagnostics()),
        }
    }
    Ok(())
}

fn keep(slot: &Mutex<Bodies>, f: impl FnOnce(&mut Bodies)) {
    f(&mut slot.lock().expect("bodies lock"));
}

async fn reconcile(
    azure: &Azure,
    op: &Op,
    spec: &HubSpec,
    prior: Option<&HubIds>,
    prior_had_jump: bool,
    bodies: &Mutex<Bodies>,
) -> Result<(), ArmError> {
    let arm = &*azure.arm;
    let i = &spec.ids;
    let read = op.with_action("reading");

    // Objects renamed away from go first: one firewall per subnet.
    if let Some(p) = prior {
        for (old, new) in [(p.firewall_id(), i.firewall_id()), (p.policy_id(), i.policy_id()), (p.pip_id(), i.pip_id())] {
            if old != new {
                arm.delete(&op.with_action("deleting the renamed"), &old).await?;
            }
        }
    }

    let rg = ensure(arm, op, &i.rg_id(), &spec.rg_body(), None).await?;
    keep(bodies, |b| b.rg = Some(rg));

    // A firewall of another tier must go before the policy changes tier.
    let firewall_now = if prior.is_some() { arm.get(&read, &i.firewall_id()).await? } else { None };
    let firewall_now = match firewall_now {
        Some(fw) if !str_at(&fw, "/properties/sku/tier").is_some_and(|t| t.eq_ignore_ascii_case(&spec.firewall_sku_tier)) => {
            arm.delete(&op.with_action("recreating (SKU tier change)"), &i.firewall_id()).await?;
            None
        }
        other => other,
    };

    let vnet = async {
        let _lock = arm.locks.lock(&i.vnet_id().to_string()).await;
        // Decide on where a running write ends, not on its first step.
        let existing = settled(arm, op, &i.vnet_id()).await?;
        let want = spec.vnet_body(existing.as_ref());
        let space_changed = existing.as_ref().is_some_and(|e| {
            let have = crate::resources::network::read_space(e);
            let mut a = have.clone();
            let mut b = spec.address_space.clone();
            a.sort();
            b.sort();
            a != b
        });
        let v = ensure(arm, op, &i.vnet_id(), &want, existing).await?;
        keep(bodies, |b| b.vnet = Some(v.clone()));
        if space_changed {
            resync_peerings(arm, op, &i.vnet_id(), &v).await?;
        }
        Ok::<_, ArmError>(())
    };
    let pip = async {
        let p = ensure(arm, op, &i.pip_id(), &spec.pip_body(), None).await?;
        keep(bodies, |b| b.pip = Some(p));
        Ok::<_, ArmError>(())
    };
    let policy = async {
        let _lock = arm.locks.lock(&i.policy_id().to_string()).await;
        let p = ensure(arm, op, &i.policy_id(), &spec.policy_body(), None).await?;
        keep(bodies, |b| b.policy = Some(p));
        let r = ensure(arm, op, &i.rcg_id(), &spec.rcg_body(), None).await?;
        keep(bodies, |b| b.rcg = Some(r));
        Ok::<_, ArmError>(())
    };
    let jump_prereqs = async {
        match &spec.jump_host {
            Some(j) => {
                let nsg = ensure(arm, op, &i.nsg_id(), &spec.nsg_body(), None).await?;
                keep(bodies, |b| b.nsg = Some(nsg));
                if j.public_ip {
                    let p = ensure(arm, op, &i.jump_pip_id(), &spec.jump_pip_body(), None).await?;
                    keep(bodies, |b| b.jump_pip = Some(p));
                }
            }
            None if prior_had_jump => {
                let del = op.with_action("removing the jump host");
                arm.delete(&del, &i.vm_id()).await?;
                arm.delete(&del, &i.nic_id()).await?;
                let (nsg, pip) = (i.nsg_id(), i.jump_pip_id());
                let (a, b) = tokio::join!(arm.delete(&del, &nsg), arm.delete(&del, &pip));
                a?;
                b?;
            }
            None => {}
        }
        Ok::<_, ArmError>(())
    };
    let (a, b, c, d) = tokio::join!(vnet, pip, policy, jump_prereqs);
    a?;
    b?;
    c?;
    d?;

    let firewall = async {
        let fw = ensure(arm, op, &i.firewall_id(), &spec.firewall_body(), firewall_now).await?;
        keep(bodies, |b| b.firewall = Some(fw));
        Ok::<_, ArmError>(())
    };
    let jump = async {
        let Some(j) = &spec.jump_host else { return Ok(()) };
        let nic = ensure(arm, op, &i.nic_id(), &spec.nic_body(), None).await?;
        keep(bodies, |b| b.nic = Some(nic));
        if !j.public_ip && prior_had_jump {
            // Detached above by the NIC update; now it can go.
            arm.delete(&op.with_action("removing the jump host public IP of"), &i.jump_pip_id()).await?;
        }
        let want = spec.vm_body().expect("jump host present");
        let existing = settled(arm, op, &i.vm_id()).await?;
        // Azure cannot change the admin user, SSH keys or cloud-init of a VM.
        let existing = match existing {
            Some(vm) if !vm_identity_matches(&vm, j) => {
                arm.delete(&op.with_action("recreating"), &i.vm_id()).await?;
                None
            }
            other => other,
        };
        let mut compare = want.clone();
        if let Some(os) = compare.pointer_mut("/properties/osProfile").and_then(Json::as_object_mut) {
            os.remove("customData");
        }
        let vm = match existing {
            Some(h) if matches(&compare, &h) && !failed(&h) => h,
            _ => arm.put(op, &i.vm_id(), &want).await?,
        };
        keep(bodies, |b| b.vm = Some(vm));
        Ok::<_, ArmError>(())
    };
    let (f, j) = tokio::join!(firewall, jump);
    f?;
    j?;
    Ok(())
}

/// True if the VM has the admin user and key the spec wants.
pub(super) fn vm_identity_matches(vm: &Json, j: &super::spec::JumpHost) -> bool {
    let user = str_at(vm, "/properties/osProfile/adminUsername").unwrap_or("");
    let key = str_at(vm, "/properties/osProfile/linuxConfiguration/ssh/publicKeys/0/keyData").unwrap_or("");
    user == j.admin_username && key.trim() == j.ssh_public_key.trim()
}

/// After an address-space change every peering must pick it up
/// (`syncRemoteAddressSpace`), or the remote side keeps routing to the old one.
async fn resync_peerings(arm: &trench_arm::ArmClient, op: &Op, vnet: &ResourceId, body: &Json) -> Result<(), ArmError> {
    let peerings = body.pointer("/properties/virtualNetworkPeerings").and_then(Json::as_array).cloned().unwrap_or_default();
    for p in peerings {
        let Some(name) = p.get("name").and_then(Json::as_str) else { continue };
        let Some(remote) = str_at(&p, "/properties/remoteVirtualNetwork/id") else { continue };
        let mut want = crate::resources::network::peering_body(remote);
        for k in ["allowVirtualNetworkAccess", "allowForwardedTraffic", "allowGatewayTransit", "useRemoteGateways"] {
            if let Some(v) = p.pointer(&format!("/properties/{k}")) {
                want["properties"][k] = v.clone();
            }
        }
        arm.put_with_query(
            &op.with_action("re-syncing"),
            &vnet.child("virtualNetworkPeerings", name),
            &want,
            &[("syncRemoteAddressSpace", "true")],
        )
        .await?;
    }
    Ok(())
}

/// Deletes in reverse dependency order; objects already gone are fine. The
/// resource group goes only when nothing else is left in it.
async fn delete(azure: &Azure, op: &Op, prior: &Value) -> Result<Diagnostics, ArmError> {
    let arm = &*azure.arm;
    let Some(i) = ids_from_state(&azure.subscription, prior) else { return Ok(Diagnostics::new()) };
    let jump = async {
        arm.delete(op, &i.vm_id()).await?;
        arm.delete(op, &i.nic_id()).await?;
        let (nsg, pip) = (i.nsg_id(), i.jump_pip_id());
        let (a, b) = tokio::join!(arm.delete(op, &nsg), arm.delete(op, &pip));
        a.and(b)
    };
    let firewall = async {
        arm.delete(op, &i.firewall_id()).await?;
        let (policy, pip) = (i.policy_id(), i.pip_id());
        let (a, b) = tokio::join!(arm.delete(op, &policy), arm.delete(op, &pip));
        a.and(b)
    };
    let (a, b) = tokio::join!(jump, firewall);
    a?;
    b?;
    {
        let _lock = arm.locks.lock(&i.vnet_id().to_string()).await;
        arm.delete(op, &i.vnet_id()).await?;
    }
    common::delete_rg_if_empty(azure, op, &i.rg_id()).await
}

//! Creating, updating and deleting the hub's objects, in dependency order
//! with independent ones in parallel, one write at a time per VNet and per
//! firewall policy.

use crate::resources::composite::{Apply, Deletion, Failure};
use async_trait::async_trait;
use serde_json::Value as Json;
use trench_arm::reconcile::{failed, matches, settled};
use trench_arm::{ArmError, Op, ResourceId};
use trench_plugin::framework::Diagnostics;

use super::Hub;
use super::spec::{JumpHost, Slot};
use crate::resources::common::{self};
use crate::resources::composite::{Run, str_at};

/// True if the VM has the admin user and key the spec wants.
pub(super) fn vm_identity_matches(vm: &Json, j: &JumpHost) -> bool {
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

#[async_trait]
impl Apply for Hub {
    async fn reconcile(run: &Run<'_, Self>) -> Result<(), Failure> {
        let (arm, op, spec) = (run.arm(), run.op, run.spec);
        let prior = run.prior.map(|p| &p.ids);
        let prior_had_jump = run.prior.is_some_and(|p| p.jump_host.is_some());
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

        run.ensure(Slot::Rg, &spec.rg_body()).await?;

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
            let v = run.ensure_from(Slot::Vnet, &want, existing).await?;
            if space_changed {
                resync_peerings(arm, op, &i.vnet_id(), &v).await?;
            }
            Ok::<_, ArmError>(())
        };
        let pip = async {
            run.ensure(Slot::Pip, &spec.pip_body()).await?;
            Ok::<_, ArmError>(())
        };
        let policy = async {
            let _lock = arm.locks.lock(&i.policy_id().to_string()).await;
            run.ensure(Slot::Policy, &spec.policy_body()).await?;
            run.ensure(Slot::Rcg, &spec.rcg_body()).await?;
            Ok::<_, ArmError>(())
        };
        let jump_prereqs = async {
            match &spec.jump_host {
                Some(j) => {
                    run.ensure(Slot::Nsg, &spec.nsg_body()).await?;
                    if j.public_ip {
                        run.ensure(Slot::JumpPip, &spec.jump_pip_body()).await?;
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
            run.ensure_from(Slot::Firewall, &spec.firewall_body(), firewall_now).await?;
            Ok::<_, ArmError>(())
        };
        let jump = async {
            let Some(j) = &spec.jump_host else { return Ok(()) };
            run.ensure(Slot::Nic, &spec.nic_body()).await?;
            if !j.public_ip && prior_had_jump {
                // Detached above by the NIC update; now it can go.
                arm.delete(&op.with_action("removing the jump host public IP of"), &i.jump_pip_id()).await?;
            }
            let Some(want) = spec.vm_body() else { return Ok(()) };
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
            match existing {
                Some(h) if matches(&compare, &h) && !failed(&h) => run.keep(Slot::Vm, h),
                _ => drop(run.put(Slot::Vm, &want).await?),
            }
            Ok::<_, ArmError>(())
        };
        let (f, j) = tokio::join!(firewall, jump);
        f?;
        j?;
        Ok(())
    }

    /// Deletes in reverse dependency order; objects already gone are fine. The
    /// resource group goes only when nothing else is left in it.
    async fn delete(d: &Deletion<'_, Self>) -> Result<Diagnostics, Failure> {
        let (azure, op, i) = (d.azure, d.op, &d.spec.ids);
        let arm = &*azure.arm;
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
        Ok(common::delete_rg_if_empty(azure, op, &i.rg_id()).await?)
    }
}

//! Creating, updating and deleting the bundle. Independent services go in
//! parallel; per private-link target the order is: the target and its zone
//! (with the zone's VNet links) side by side, then the endpoint, then the A
//! records. Every branch runs to completion, so a failure in one leaves
//! the others' objects recorded in state rather than cancelled mid-write.

use crate::resources::composite::{Apply, Deletion};
use async_trait::async_trait;
use serde_json::{Value as Json, json};
use trench_arm::reconcile::{ensure, failed, matches, settled};
use trench_arm::{ArmClient, ArmError, Op, ResourceId};
use trench_plugin::framework::{AttrPath, Diagnostics};
use trench_plugin::value::Value;

use super::spec::{BundleSpec, OnSoftDeleted, Slot, Target, endpoint_ip, link_name};
use super::{PASSWORD, PaasBundle};
use crate::resources::common::{self, Azure};
use crate::resources::composite::{Failure, Run, delete_all, str_at};

type Step = Result<(), Failure>;

/// One apply of the bundle: the driver's run, the tenant the vault trusts
/// and the password when it is to be sent.
struct Bundle<'a, 'r> {
    run: &'a Run<'r, PaasBundle>,
    spec: &'a BundleSpec,
    prior: Option<&'a BundleSpec>,
    tenant: &'a str,
    password: Option<&'a str>,
}

impl Bundle<'_, '_> {
    fn arm(&self) -> &ArmClient {
        self.run.arm()
    }

    fn op(&self) -> &Op {
        self.run.op
    }

    /// GET, PUT if missing or different, record the result.
    async fn ensure(&self, s: Slot, want: Json) -> Result<Json, ArmError> {
        self.run.ensure(s, &want).await
    }

    /// Deletes what the prior state owned that the spec no longer does.
    async fn remove_stale(&self, stale: Vec<ResourceId>) -> Step {
        Ok(delete_all(self.arm(), &self.op().with_action("removing"), &stale).await?)
    }

    async fn registry(&self) -> Step {
        self.ensure(Slot::Acr, self.spec.acr_body()).await?;
        Ok(())
    }

    async fn workspace(&self) -> Step {
        self.ensure(Slot::LogAnalytics, self.spec.log_analytics_body()).await?;
        Ok(())
    }

    async fn state_storage(&self) -> Step {
        if !self.spec.state_storage {
            // Turned off: the account goes (with its containers).
            if self.prior.is_some_and(|p| p.state_storage) {
                self.arm().delete(&self.op().with_action("removing"), &self.spec.ids.storage_account_id()).await?;
            }
            return Ok(());
        }
        self.ensure(Slot::Storage, self.spec.storage_account_body()).await?;
        self.ensure(Slot::Container, BundleSpec::container_body()).await?;
        Ok(())
    }

    async fn service_bus(&self) -> Step {
        self.ensure(Slot::ServiceBus, self.spec.service_bus_body()).await?;
        let queues =
            futures::future::join_all(self.spec.sb.queues.iter().map(|q| self.ensure(Slot::Queue(q.clone()), BundleSpec::queue_body())));
        let rules = self.ensure(Slot::NetworkRules, self.spec.network_rules_body());
        let stale: Vec<ResourceId> = self
            .prior
            .map(|p| p.sb.queues.iter().filter(|q| !self.spec.sb.queues.contains(q)).map(|q| self.spec.ids.queue_id(q)).collect())
            .unwrap_or_default();
        let (queues, rules, removed) = tokio::join!(queues, rules, self.remove_stale(stale));
        queues.into_iter().collect::<Result<Vec<Json>, ArmError>>()?;
        rules?;
        removed
    }

    /// The vault, minding a soft-deleted namesake as configured.
    async fn vault(&self) -> Step {
        let i = &self.spec.ids;
        let id = i.key_vault_id();
        let want = self.spec.key_vault_body(self.tenant);
        if let Some(have) = settled(self.arm(), self.op(), &id).await? {
            let b = if matches(&want, &have) && !failed(&have) { have } else { self.arm().put(self.op(), &id, &want).await? };
            self.run.keep(Slot::KeyVault, b);
            return Ok(());
        }
        let deleted_id = i.deleted_vault_id(&self.spec.location);
        let deleted = self.arm().get(&self.op().with_action("looking for a soft-deleted"), &deleted_id).await?;
        match (deleted, self.spec.kv.on_soft_deleted) {
            (None, _) => {}
            (Some(_), OnSoftDeleted::Fail) => {
                let (name, loc, sub) = (&i.names.key_vault, &self.spec.location, &i.subscription);
                return Err(Failure::Diag(Diagnostics::attr_error(
                    AttrPath::root("key_vault_on_soft_deleted"),
                    format!("Key Vault {name:?} is soft-deleted"),
                    format!(
                        "A deleted vault named {name:?} is still recoverable in {loc}, so Azure will not create a new one. Choose what happens to it:\n  key_vault_on_soft_deleted = \"recover\"  (brings back its keys, secrets and certificates)\n  key_vault_on_soft_deleted = \"purge\"    (destroys it for good; impossible with purge protection)\nor by hand: az keyvault recover --name {name} --subscription {sub}  /  az keyvault purge --name {name} --location {loc}"
                    ),
                )));
            }
            (Some(_), OnSoftDeleted::Recover) => {
                let recover = json!({
                    "location": self.spec.location, "tags": self.spec.tags,
                    "properties": {"createMode": "recover", "tenantId": self.tenant, "sku": {"family": "A", "name": self.spec.kv.sku}}
                });
                let b = self.arm().put(&self.op().with_action("recovering"), &id, &recover).await?;
                self.run.keep(Slot::KeyVault, b.clone());
                // The recovered vault keeps its old settings; bring them to ours.
                let b = ensure(self.arm(), self.op(), &id, &want, Some(b)).await?;
                self.run.keep(Slot::KeyVault, b);
                return Ok(());
            }
            (Some(_), OnSoftDeleted::Purge) => {
                self.arm().post(&self.op().with_action("purging"), &deleted_id, "purge", None).await?;
            }
        }
        let b = self.arm().put(self.op(), &id, &want).await?;
        self.run.keep(Slot::KeyVault, b);
        Ok(())
    }

    /// The data resource group, then the server: the password goes along
    /// on create and when its version changed; a server that has to be
    /// created again without one cannot be.
    async fn server(&self) -> Step {
        self.ensure(Slot::DataRg, self.spec.data_rg_body()).await?;
        let id = self.spec.ids.postgresql_id();
        let have = settled(self.arm(), self.op(), &id).await?;
        let b = match (have, self.password) {
            (_, Some(p)) => self.arm().put(self.op(), &id, &self.spec.postgresql_body(Some(p))).await?,
            (Some(h), None) => {
                let want = self.spec.postgresql_body(None);
                if matches(&want, &h) && !failed(&h) { h } else { self.arm().put(self.op(), &id, &want).await? }
            }
            (None, None) => {
                return Err(Failure::Diag(Diagnostics::attr_error(
                    AttrPath::root(PASSWORD),
                    format!("{} must be created again, and needs its password", id.display()),
                    "The server no longer exists (deleted outside Terraform?). Set postgresql_administrator_password_wo so it can be created; its data is only back if you restore a backup.",
                )));
            }
        };
        self.run.keep(Slot::Postgresql, b);
        Ok(())
    }

    /// Databases one at a time: a flexible server runs one operation at a
    /// time and answers `ServerBusy` to the next.
    async fn databases(&self) -> Step {
        for d in &self.spec.pg.databases {
            self.ensure(Slot::Database(d.clone()), BundleSpec::database_body()).await?;
        }
        let stale: Vec<String> = self
            .prior
            .map(|p| p.pg.databases.iter().filter(|d| !self.spec.pg.databases.contains(d)).cloned().collect())
            .unwrap_or_default();
        for d in stale {
            self.arm().delete(&self.op().with_action("removing"), &self.spec.ids.database_id(&d)).await?;
        }
        Ok(())
    }

    async fn cosmos(&self) -> Step {
        self.ensure(Slot::Cosmos, self.spec.cosmos_body()).await?;
        Ok(())
    }

    /// A target's zone and its VNet links; links to VNets no longer listed go.
    async fn zone(&self, t: Target) -> Step {
        self.ensure(Slot::Zone(t), self.spec.zone_body()).await?;
        let links =
            futures::future::join_all(self.spec.dns_vnets.iter().map(|v| self.ensure(Slot::Link(t, link_name(v)), self.spec.link_body(v))));
        let stale: Vec<ResourceId> = self
            .prior
            .filter(|p| p.targets().contains(&t))
            .map(|p| {
                p.dns_vnets
                    .iter()
                    .filter(|v| !self.spec.dns_vnets.iter().any(|w| link_name(w) == link_name(v)))
                    .map(|v| self.spec.ids.link_id(t, v))
                    .collect()
            })
            .unwrap_or_default();
        let (links, removed) = tokio::join!(links, self.remove_stale(stale));
        links.into_iter().collect::<Result<Vec<Json>, ArmError>>()?;
        removed
    }

    /// A target's endpoint (recreated when it must move subnet), then its
    /// A records with the endpoint's private IPs.
    async fn endpoint(&self, t: Target) -> Step {
        let id = self.spec.ids.endpoint_id(t);
        let want = self.spec.endpoint_body(t);
        let have = settled(self.arm(), self.op(), &id).await?;
        let pe = match have {
            Some(h) if matches(&want, &h) && !failed(&h) => h,
            Some(h) => {
                let moved = !str_at(&h, "/properties/subnet/id")
                    .is_some_and(|s| trench_arm::id::same_id(s, &self.spec.endpoint_subnet.to_string()));
                if moved {
                    // ARM cannot move an endpoint: a new one, with new IPs.
                    self.run.forget(&Slot::Endpoint(t));
                    self.arm().delete(&self.op().with_action("moving"), &id).await?;
                }
                self.arm().put(self.op(), &id, &want).await?
            }
            None => self.arm().put(self.op(), &id, &want).await?,
        };
        self.run.keep(Slot::Endpoint(t), pe.clone());
        let records = self.spec.ids.record_names(t, &self.spec.location);
        let (pe, id) = (&pe, &id);
        let writes = records.iter().map(|r| async move {
            let ip =
                endpoint_ip(pe, r).ok_or_else(|| ArmError::protocol(self.op(), id, format!("the endpoint has no private IP for {r:?}")))?;
            self.ensure(Slot::Record(t, r.clone()), BundleSpec::record_body(ip)).await
        });
        futures::future::join_all(writes).await.into_iter().collect::<Result<Vec<Json>, ArmError>>()?;
        Ok(())
    }

    /// Target, zone and links side by side; then endpoint and records.
    async fn private_link(&self, t: Target, target: impl std::future::Future<Output = Step>) -> Step {
        let (a, z) = tokio::join!(target, self.zone(t));
        a?;
        z?;
        self.endpoint(t).await
    }

    async fn everything(&self) -> Result<(), Failure> {
        let kv = self.private_link(Target::KeyVault, self.vault());
        let pg = async {
            self.private_link(Target::Postgresql, self.server()).await?;
            self.databases().await
        };
        let cosmos = async {
            if self.spec.cosmos {
                self.private_link(Target::CosmosDb, self.cosmos()).await
            } else if let Some(p) = self.prior.filter(|p| p.cosmos) {
                // Turned off: the account and everything that served it.
                remove_target(self.arm(), &self.op().with_action("removing"), p, Target::CosmosDb).await.map_err(Failure::from)
            } else {
                Ok(())
            }
        };
        let (a, b, c, d, e, f, g) =
            tokio::join!(self.registry(), self.workspace(), self.state_storage(), self.service_bus(), kv, pg, cosmos);
        Failure::all([a, b, c, d, e, f, g])
    }
}

/// Deletes a private-link target with everything that served it: records,
/// links and endpoint, then zone and target.
async fn remove_target(arm: &ArmClient, op: &Op, spec: &BundleSpec, t: Target) -> Result<(), ArmError> {
    let i = &spec.ids;
    let records: Vec<ResourceId> = i.record_names(t, &spec.location).iter().map(|r| i.record_id(t, r)).collect();
    delete_all(arm, op, &records).await?;
    let mut second: Vec<ResourceId> = spec.dns_vnets.iter().map(|v| i.link_id(t, v)).collect();
    second.push(i.endpoint_id(t));
    delete_all(arm, op, &second).await?;
    let zone_id = i.zone_id(t);
    let (zone, target) = tokio::join!(arm.delete(op, &zone_id), async {
        match t {
            Target::KeyVault => delete_vault(arm, op, spec).await,
            Target::Postgresql => arm.delete(op, &i.postgresql_id()).await,
            Target::CosmosDb => arm.delete(op, &i.cosmos_id()).await,
        }
    });
    zone?;
    target
}

/// Deletes the vault (Azure soft-deletes it), then purges it when asked.
async fn delete_vault(arm: &ArmClient, op: &Op, spec: &BundleSpec) -> Result<(), ArmError> {
    let existed = arm.get(&op.with_action("reading"), &spec.ids.key_vault_id()).await?.is_some();
    arm.delete(op, &spec.ids.key_vault_id()).await?;
    if existed && spec.kv.purge_on_destroy && !spec.kv.purge_protection {
        let deleted = spec.ids.deleted_vault_id(&spec.location);
        if arm.get(&op.with_action("reading"), &deleted).await?.is_some() {
            arm.post(&op.with_action("purging"), &deleted, "purge", None).await?;
        }
    }
    Ok(())
}

/// The tenant the vault trusts: the provider's, or the subscription's.
async fn tenant(azure: &Azure, op: &Op) -> Result<String, Failure> {
    if let Some(t) = azure.env.tenant.clone() {
        return Ok(t);
    }
    let sub = ResourceId::subscription(&azure.env.subscription);
    let body = azure.arm.get(&op.with_action("reading"), &sub).await?;
    body.as_ref().and_then(|b| str_at(b, "/tenantId")).map(str::to_owned).ok_or_else(|| {
        Failure::Refused(Diagnostics::error(
            "Cannot tell the tenant",
            "Set tenant_id in the provider block (or ARM_TENANT_ID): the Key Vault trusts one tenant.",
        ))
    })
}

#[async_trait]
impl Apply for PaasBundle {
    /// Every service in parallel; a failure in one leaves the others' objects
    /// recorded. The password goes along on create and when its version changed.
    async fn reconcile(run: &Run<'_, Self>) -> Result<(), Failure> {
        let tenant = tenant(run.azure, run.op).await?;
        let version_changed = run.prior.is_some_and(|p| p.pg.password_version != run.spec.pg.password_version);
        let password = run.config.get_attr(PASSWORD).and_then(Value::as_str).filter(|_| run.creating || version_changed);
        Bundle { run, spec: run.spec, prior: run.prior, tenant: &tenant, password }.everything().await
    }

    /// Deletes everything the state owns, tolerant of objects already gone:
    /// private links first, then the services, then the data resource group
    /// (only if nothing else lives in it).
    async fn delete(d: &Deletion<'_, Self>) -> Result<Diagnostics, Failure> {
        let (azure, op, spec) = (d.azure, d.op, d.spec);
        let arm = &*azure.arm;
        let i = &spec.ids;
        let links = futures::future::join_all(spec.targets().into_iter().map(|t| remove_target(arm, op, spec, t)));
        let services = [i.acr_id(), i.service_bus_id(), i.log_analytics_id(), i.storage_account_id()];
        let rest = delete_all(arm, op, &services);
        let (links, rest) = tokio::join!(links, rest);
        links.into_iter().collect::<Result<Vec<()>, ArmError>>()?;
        rest?;
        Ok(common::delete_rg_if_empty(azure, op, &i.data_rg_id()).await?)
    }
}

//! Creating, updating and deleting the bundle. Independent services go in
//! parallel; per private-link target the order is: the target and its zone
//! (with the zone's VNet links) side by side, then the endpoint, then the A
//! records. Every branch runs to completion, so a failure in one leaves
//! the others' objects recorded in state rather than cancelled mid-write.

use crate::resources::common::ArmDiagnostics as _;
use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value as Json, json};

use super::spec::{BundleSpec, OnSoftDeleted, Target};
use super::{BundleComputed, PASSWORD, PASSWORD_VERSION, default_timeouts, spec_from};
use crate::resources::common::{self, Azure};
use trench_arm::reconcile::{ensure, failed, matches, settled};
use trench_arm::{ArmClient, ArmError, ArmErrorKind, Op, ResourceId};
use trench_plugin::framework::{ApplyRequest, AttrPath, Ctx, Diagnostics, StateResult};
use trench_plugin::value::{Val, Value};

/// One owned object, as a key into [`Bodies`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Slot {
    DataRg,
    Acr,
    KeyVault,
    Postgresql,
    Database(String),
    ServiceBus,
    Queue(String),
    NetworkRules,
    LogAnalytics,
    Storage,
    Container,
    Cosmos,
    Endpoint(Target),
    Zone(Target),
    Link(Target, String),
    Record(Target, String),
}

impl Slot {
    /// The object's id.
    pub(super) fn id(&self, spec: &BundleSpec) -> ResourceId {
        let i = &spec.ids;
        match self {
            Slot::DataRg => i.data_rg_id(),
            Slot::Acr => i.acr_id(),
            Slot::KeyVault => i.key_vault_id(),
            Slot::Postgresql => i.postgresql_id(),
            Slot::Database(d) => i.database_id(d),
            Slot::ServiceBus => i.service_bus_id(),
            Slot::Queue(q) => i.queue_id(q),
            Slot::NetworkRules => i.network_rules_id(),
            Slot::LogAnalytics => i.log_analytics_id(),
            Slot::Storage => i.storage_account_id(),
            Slot::Container => i.container_id(),
            Slot::Cosmos => i.cosmos_id(),
            Slot::Endpoint(t) => i.endpoint_id(*t),
            Slot::Zone(t) => i.zone_id(*t),
            Slot::Link(t, vnet) => i.zone_id(*t).child("virtualNetworkLinks", vnet),
            Slot::Record(t, r) => i.record_id(*t, r),
        }
    }
}

/// Every object the spec owns, in dependency order (what a delete undoes
/// last comes first).
pub(super) fn slots(spec: &BundleSpec) -> Vec<Slot> {
    let mut s = vec![Slot::DataRg, Slot::Acr, Slot::KeyVault, Slot::Postgresql];
    s.extend(spec.pg.databases.iter().cloned().map(Slot::Database));
    s.extend([Slot::ServiceBus, Slot::NetworkRules]);
    s.extend(spec.sb.queues.iter().cloned().map(Slot::Queue));
    s.push(Slot::LogAnalytics);
    if spec.state_storage {
        s.extend([Slot::Storage, Slot::Container]);
    }
    if spec.cosmos {
        s.push(Slot::Cosmos);
    }
    for t in spec.targets() {
        s.extend([Slot::Zone(t), Slot::Endpoint(t)]);
        s.extend(spec.dns_vnets.iter().map(|v| Slot::Link(t, super::spec::link_name(v))));
        s.extend(spec.ids.record_names(t, &spec.location).into_iter().map(|r| Slot::Record(t, r)));
    }
    s
}

/// Bodies of objects known to exist, filled in as steps finish.
#[derive(Clone, Debug, Default)]
pub(super) struct Bodies(pub BTreeMap<Slot, Json>);

impl Bodies {
    pub(super) fn get(&self, s: &Slot) -> Option<&Json> {
        self.0.get(s)
    }
    pub(super) fn has(&self, s: &Slot) -> bool {
        self.0.contains_key(s)
    }
}

pub(super) fn str_at<'a>(j: &'a Json, ptr: &str) -> Option<&'a str> {
    j.pointer(ptr).and_then(Json::as_str)
}

/// The private IP an endpoint serves a record's name on: the FQDN that
/// starts with the record name (the suffix differs per cloud).
pub(super) fn endpoint_ip<'a>(pe: &'a Json, record: &str) -> Option<&'a str> {
    let prefix = format!("{}.", record.to_ascii_lowercase());
    pe.pointer("/properties/customDnsConfigs")?
        .as_array()?
        .iter()
        .find(|c| c.get("fqdn").and_then(Json::as_str).is_some_and(|f| f.to_ascii_lowercase().starts_with(&prefix)))?
        .pointer("/ipAddresses/0")?
        .as_str()
}

/// Computed attributes from what exists; ids are derived (equal to what
/// plan predicted whatever casing ARM answers with), read-only values are
/// read from the bodies.
pub(super) fn computed_from(spec: &BundleSpec, b: &Bodies) -> BundleComputed {
    let mut c = BundleComputed::default();
    super::planned_ids(spec, &mut c);
    let read = |s: Slot, ptr: &str| match b.get(&s).and_then(|j| str_at(j, ptr)) {
        Some(v) => Val::Known(v.to_owned()),
        None => Val::Null,
    };
    c.acr_login_server = read(Slot::Acr, "/properties/loginServer");
    c.vault_uri = read(Slot::KeyVault, "/properties/vaultUri");
    c.postgresql_fqdn = read(Slot::Postgresql, "/properties/fullyQualifiedDomainName");
    c.service_bus_endpoint = read(Slot::ServiceBus, "/properties/serviceBusEndpoint");
    c.log_analytics_workspace_customer_id = read(Slot::LogAnalytics, "/properties/customerId");
    c.cosmos_db_endpoint = if spec.cosmos { read(Slot::Cosmos, "/properties/documentEndpoint") } else { Val::Null };
    c.private_endpoint_ips = Val::Known(
        spec.targets()
            .into_iter()
            .filter_map(|t| {
                let pe = b.get(&Slot::Endpoint(t))?;
                let first = spec.ids.record_names(t, &spec.location).into_iter().next()?;
                Some((t.key().to_owned(), endpoint_ip(pe, &first)?.to_owned()))
            })
            .collect(),
    );
    c.tags_all = Val::Known(common::visible_tags(&spec.tags));
    c.drift = Val::Known(Vec::new());
    c.api_versions = Val::Known(super::api_versions());
    c
}

/// A failed step: an ARM error, or a diagnostic of our own (with its path).
enum Failure {
    Arm(ArmError),
    Diag(Diagnostics),
}

impl From<ArmError> for Failure {
    fn from(e: ArmError) -> Failure {
        Failure::Arm(e)
    }
}

type Step = Result<(), Failure>;

fn protocol(op: &Op, id: &ResourceId, what: &str) -> ArmError {
    ArmError {
        action: op.action.to_owned(),
        resource: id.display(),
        kind: ArmErrorKind::Protocol(what.to_owned()),
        request_id: None,
        correlation_id: None,
    }
}

/// What one apply writes with: the client, the spec, what the prior state
/// owned (for removals), and the slot map to fill.
struct Run<'a> {
    arm: &'a ArmClient,
    op: &'a Op,
    spec: &'a BundleSpec,
    prior: Option<&'a BundleSpec>,
    bodies: &'a Mutex<Bodies>,
    tenant: &'a str,
    password: Option<&'a str>,
}

impl Run<'_> {
    fn keep(&self, s: Slot, b: Json) {
        self.bodies.lock().expect("bodies lock").0.insert(s, b);
    }
    fn forget(&self, s: &Slot) {
        self.bodies.lock().expect("bodies lock").0.remove(s);
    }

    /// GET, PUT if missing or different, record the result.
    async fn ensure(&self, s: Slot, want: Json) -> Result<Json, ArmError> {
        let b = ensure(self.arm, self.op, &s.id(self.spec), &want, None).await?;
        self.keep(s, b.clone());
        Ok(b)
    }

    /// Deletes what the prior state owned that the spec no longer does.
    async fn remove_stale(&self, stale: Vec<ResourceId>) -> Step {
        let removing = self.op.with_action("removing");
        let done = futures::future::join_all(stale.iter().map(|id| self.arm.delete(&removing, id))).await;
        done.into_iter().collect::<Result<Vec<()>, ArmError>>()?;
        Ok(())
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
                self.arm.delete(&self.op.with_action("removing"), &self.spec.ids.storage_account_id()).await?;
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
        if let Some(have) = settled(self.arm, self.op, &id).await? {
            let b = if matches(&want, &have) && !failed(&have) { have } else { self.arm.put(self.op, &id, &want).await? };
            self.keep(Slot::KeyVault, b);
            return Ok(());
        }
        let deleted_id = i.deleted_vault_id(&self.spec.location);
        let deleted = self.arm.get(&self.op.with_action("looking for a soft-deleted"), &deleted_id).await?;
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
                let b = self.arm.put(&self.op.with_action("recovering"), &id, &recover).await?;
                self.keep(Slot::KeyVault, b.clone());
                // The recovered vault keeps its old settings; bring them to ours.
                let b = ensure(self.arm, self.op, &id, &want, Some(b)).await?;
                self.keep(Slot::KeyVault, b);
                return Ok(());
            }
            (Some(_), OnSoftDeleted::Purge) => {
                self.arm.post(&self.op.with_action("purging"), &deleted_id, "purge", None).await?;
            }
        }
        let b = self.arm.put(self.op, &id, &want).await?;
        self.keep(Slot::KeyVault, b);
        Ok(())
    }

    /// The data resource group, then the server: the password goes along
    /// on create and when its version changed; a server that has to be
    /// created again without one cannot be.
    async fn server(&self) -> Step {
        self.ensure(Slot::DataRg, self.spec.data_rg_body()).await?;
        let id = self.spec.ids.postgresql_id();
        let have = settled(self.arm, self.op, &id).await?;
        let b = match (have, self.password) {
            (_, Some(p)) => self.arm.put(self.op, &id, &self.spec.postgresql_body(Some(p))).await?,
            (Some(h), None) => {
                let want = self.spec.postgresql_body(None);
                if matches(&want, &h) && !failed(&h) { h } else { self.arm.put(self.op, &id, &want).await? }
            }
            (None, None) => {
                return Err(Failure::Diag(Diagnostics::attr_error(
                    AttrPath::root(PASSWORD),
                    format!("{} must be created again, and needs its password", id.display()),
                    "The server no longer exists (deleted outside Terraform?). Set postgresql_administrator_password_wo so it can be created; its data is only back if you restore a backup.",
                )));
            }
        };
        self.keep(Slot::Postgresql, b);
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
            self.arm.delete(&self.op.with_action("removing"), &self.spec.ids.database_id(&d)).await?;
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
        let links = futures::future::join_all(
            self.spec.dns_vnets.iter().map(|v| self.ensure(Slot::Link(t, super::spec::link_name(v)), self.spec.link_body(v))),
        );
        let stale: Vec<ResourceId> = self
            .prior
            .filter(|p| p.targets().contains(&t))
            .map(|p| {
                p.dns_vnets
                    .iter()
                    .filter(|v| !self.spec.dns_vnets.iter().any(|w| super::spec::link_name(w) == super::spec::link_name(v)))
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
        let have = settled(self.arm, self.op, &id).await?;
        let pe = match have {
            Some(h) if matches(&want, &h) && !failed(&h) => h,
            Some(h) => {
                let moved = !str_at(&h, "/properties/subnet/id")
                    .is_some_and(|s| trench_arm::id::same_id(s, &self.spec.endpoint_subnet.to_string()));
                if moved {
                    // ARM cannot move an endpoint: a new one, with new IPs.
                    self.forget(&Slot::Endpoint(t));
                    self.arm.delete(&self.op.with_action("moving"), &id).await?;
                }
                self.arm.put(self.op, &id, &want).await?
            }
            None => self.arm.put(self.op, &id, &want).await?,
        };
        self.keep(Slot::Endpoint(t), pe.clone());
        let records = self.spec.ids.record_names(t, &self.spec.location);
        let (pe, id) = (&pe, &id);
        let writes = records.iter().map(|r| async move {
            let ip = endpoint_ip(pe, r).ok_or_else(|| protocol(self.op, id, &format!("the endpoint has no private IP for {r:?}")))?;
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

    async fn everything(&self) -> Vec<Failure> {
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
                remove_target(self.arm, &self.op.with_action("removing"), p, Target::CosmosDb).await.map_err(Failure::from)
            } else {
                Ok(())
            }
        };
        let (a, b, c, d, e, f, g) =
            tokio::join!(self.registry(), self.workspace(), self.state_storage(), self.service_bus(), kv, pg, cosmos);
        [a, b, c, d, e, f, g].into_iter().filter_map(Result::err).collect()
    }
}

/// Deletes a private-link target with everything that served it: records,
/// links and endpoint, then zone and target.
async fn remove_target(arm: &ArmClient, op: &Op, spec: &BundleSpec, t: Target) -> Result<(), ArmError> {
    let i = &spec.ids;
    let records: Vec<ResourceId> = i.record_names(t, &spec.location).iter().map(|r| i.record_id(t, r)).collect();
    all(arm, op, &records).await?;
    let mut second: Vec<ResourceId> = spec.dns_vnets.iter().map(|v| i.link_id(t, v)).collect();
    second.push(i.endpoint_id(t));
    all(arm, op, &second).await?;
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

async fn all(arm: &ArmClient, op: &Op, ids: &[ResourceId]) -> Result<(), ArmError> {
    futures::future::join_all(ids.iter().map(|id| arm.delete(op, id))).await.into_iter().collect::<Result<Vec<()>, ArmError>>().map(|_| ())
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

/// Deletes everything the state owns, tolerant of objects already gone:
/// private links first, then the services, then the data resource group
/// (only if nothing else lives in it).
pub(super) async fn delete(azure: &Azure, op: &Op, spec: &BundleSpec) -> Result<Diagnostics, ArmError> {
    let arm = &*azure.arm;
    let i = &spec.ids;
    let links = futures::future::join_all(spec.targets().into_iter().map(|t| remove_target(arm, op, spec, t)));
    let services = [i.acr_id(), i.service_bus_id(), i.log_analytics_id(), i.storage_account_id()];
    let rest = all(arm, op, &services);
    let (links, rest) = tokio::join!(links, rest);
    links.into_iter().collect::<Result<Vec<()>, ArmError>>()?;
    rest?;
    common::delete_rg_if_empty(azure, op, &i.data_rg_id()).await
}

/// Objects that exist, readable.
fn existing(spec: &BundleSpec, b: &Bodies) -> Vec<String> {
    b.0.keys().map(|s| s.id(spec).display()).collect()
}

/// An object of the bundle that exists in Azure but not in state is never
/// silently adopted.
async fn refuse_adoption(azure: &Azure, op: &Op, spec: &BundleSpec) -> Result<(), Diagnostics> {
    let look = op.with_action("checking for an existing");
    let i = &spec.ids;
    common::refuse_existing_group(azure, op, &i.data_rg_id(), &spec.tags, "data_resource_group_name", &i.key_vault_id()).await?;
    let ids = [i.key_vault_id(), i.postgresql_id(), i.acr_id(), i.service_bus_id()];
    let found = futures::future::join_all(ids.iter().map(|id| azure.arm.get(&look, id))).await;
    for (id, r) in ids.iter().zip(found) {
        // Ours, from an apply that did not finish, is resumed.
        if r.map_err(|e| e.diagnostics())?.is_some_and(|b| !common::owned_by(&b, &spec.tags)) {
            return Err(Diagnostics::error(
                format!("{} already exists", id.display()),
                format!(
                    "trench does not take over objects it did not create. To manage an existing bundle with Terraform, import it by its Key Vault id:\n\n  terraform import <address of this trench_paas_bundle> {}\n\nor add an import block with that id; otherwise choose other names.",
                    i.key_vault_id()
                ),
            ));
        }
    }
    Ok(())
}

/// The tenant the vault trusts: the provider's, or the subscription's.
async fn tenant(ctx: &Ctx, azure: &Azure, op: &Op) -> Result<String, Diagnostics> {
    if let Some(t) = ctx.data::<crate::config::Session>()?.config.tenant_id.clone() {
        return Ok(t);
    }
    let sub = ResourceId::subscription(&azure.subscription);
    let body = azure.arm.get(&op.with_action("reading"), &sub).await.map_err(|e| e.diagnostics())?;
    body.as_ref().and_then(|b| str_at(b, "/tenantId")).map(str::to_owned).ok_or_else(|| {
        Diagnostics::error(
            "Cannot tell the tenant",
            "Set tenant_id in the provider block (or ARM_TENANT_ID): the Key Vault trusts one tenant.",
        )
    })
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
    let prior = if req.prior.is_null() { None } else { spec_from(&azure.subscription, &azure.default_tags, &req.prior).ok() };
    if req.planned.is_null() {
        let Some(p) = prior else { return StateResult::ok(Value::Null) };
        let op = common::op(ctx, "deleting", t.delete);
        return match delete(&azure, &op, &p).await {
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
    let tenant = match tenant(ctx, &azure, &op).await {
        Ok(t) => t,
        Err(d) => return StateResult::failed(req.prior, d),
    };
    let version_changed = !creating && req.prior.get_attr(PASSWORD_VERSION) != req.planned.get_attr(PASSWORD_VERSION);
    let password = req.config.get_attr(PASSWORD).and_then(Value::as_str).filter(|_| creating || version_changed);
    let bodies = Mutex::new(Bodies::default());
    let run = Run { arm: &azure.arm, op: &op, spec: &spec, prior: prior.as_ref(), bodies: &bodies, tenant: &tenant, password };
    let failures = run.everything().await;
    let bodies = bodies.into_inner().expect("bodies lock");
    let mut state = req.planned.clone();
    if let Err(d) = common::patch(&mut state, &computed_from(&spec, &bodies)) {
        return StateResult::failed(req.prior, d);
    }
    if failures.is_empty() {
        return StateResult::ok(state);
    }
    state.unknowns_to_null();
    let created = existing(&spec, &bodies);
    let mut d = Diagnostics::new();
    for f in failures {
        d.extend(match f {
            Failure::Arm(e) => e.diagnostics(),
            Failure::Diag(x) => x,
        });
    }
    if !created.is_empty()
        && let Some(first) = d.0.iter_mut().find(|x| x.severity == trench_plugin::framework::Severity::Error)
    {
        let what = if creating { "bundle" } else { "bundle update" };
        let list = created.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n");
        first.detail.push_str(&format!(
            "\n\nThe {what} is partly in place; these objects exist and are recorded in state:\n{list}\nRun `terraform apply` again to finish (Terraform will replace the tainted bundle unless you run `terraform untaint` first to resume in place, which keeps the data)."
        ));
    }
    if creating && created.is_empty() { StateResult::failed(Value::Null, d) } else { StateResult::failed(state, d) }
}

//! Log Analytics workspaces (soft delete; re-creating the same id recovers) and diagnostic settings
//! (an extension on any resource) with per-type log categories.

use serde_json::{Value, json};

use super::{name_rule, versions};
use crate::armpath::ResPath;
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::reply::Reply;
use crate::sim::{Req, Sim};
use crate::spec::{BASE, DeleteStyle, Effect, Hooks, Loc, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{Resource, SoftDeleted, State};

pub(crate) const LAW_TYPE: &str = "Microsoft.OperationalInsights/workspaces";
pub(crate) const DIAG_TYPE: &str = "Microsoft.Insights/diagnosticSettings";
/// Soft-deleted workspaces are kept 14 days (before time-scale).
const LAW_SOFT_DELETE_SECS: f64 = 14.0 * 86_400.0;

static LAW_NAME: NameRule = name_rule!(
    4,
    63,
    r"^[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$",
    "InvalidResourceName",
    "Workspace names are 4-63 letters, digits or hyphens, starting and ending with a letter or digit."
);
static DIAG_NAME: NameRule = name_rule!(1, 260, r"^[^*#&+:<>?/%\\]+$", "InvalidResourceName", "The name cannot contain *#&+:<>?/%\\.");

pub(crate) static LAW: Spec = Spec {
    type_name: LAW_TYPE,
    api_versions: versions::LAW,
    name: Some(&LAW_NAME),
    create: PutStyle::Poll { state: "ProvisioningAccount" },
    update: PutStyle::Sync,
    delete: DeleteStyle::Accepted { async_header: false, done: 200 },
    durations: secs(30.0, 0.0, 10.0),
    etag: true,
    readonly: &["properties.customerId", "properties.createdDate", "properties.modifiedDate"],
    hooks: &LawHooks,
    ..BASE
};
pub(crate) static DIAG: Spec = Spec {
    type_name: DIAG_TYPE,
    api_versions: versions::DIAGNOSTICS,
    name: Some(&DIAG_NAME),
    loc: Loc::None,
    prov_path: None,
    sync_create_status: 200,
    hooks: &DiagHooks,
    ..BASE
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&LAW, &DIAG]
}

struct LawHooks;

impl Hooks for LawHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        jpath::default(&mut cx.body, "properties.sku", json!({"name": "PerGB2018"}));
        jpath::default(&mut cx.body, "properties.retentionInDays", json!(30));
        let retention = cx.prop("retentionInDays").and_then(Value::as_i64).unwrap_or(30);
        if cx.prop_str("sku.name") == Some("PerGB2018") && !(30..=730).contains(&retention) {
            return Err(ArmError::bad_request(
                "InvalidParameter",
                format!("retentionInDays {retention} is out of range: workspaces on PerGB2018 keep data 30-730 days."),
            )
            .with_target("properties.retentionInDays"));
        }
        for (k, v) in [
            ("publicNetworkAccessForIngestion", json!("Enabled")),
            ("publicNetworkAccessForQuery", json!("Enabled")),
            ("features", json!({"enableLogAccessUsingOnlyResourcePermissions": true, "legacy": 0, "searchVersion": 1})),
            ("workspaceCapping", json!({"dailyQuotaGb": -1.0, "dataIngestionStatus": "RespectQuota"})),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), v);
        }
        let now = crate::clock::rfc3339(cx.now_ms);
        let key = cx.key.clone();
        // Re-creating a soft-deleted workspace recovers it, with its old customer id.
        let recovered = cx.st.soft_deleted.get(&key).and_then(|w| jpath::get(&w.body, "properties.customerId").cloned());
        if let Some(cid) = recovered {
            cx.body["properties"]["customerId"] = cid;
            cx.recover(key);
        } else {
            cx.keep("properties.customerId", |c| json!(c.guid("customerId")));
        }
        cx.keep("properties.createdDate", |_| json!(now.clone()));
        cx.body["properties"]["modifiedDate"] = json!(now);
        Ok(())
    }

    fn on_delete(&self, _st: &State, cfg: &SimConfig, now: i64, res: &Resource) -> Vec<Effect> {
        if res.sim.get("force_delete").and_then(Value::as_bool) == Some(true) {
            return Vec::new();
        }
        // Kept by id: re-creating the same id recovers it.
        let kept = SoftDeleted {
            type_name: LAW_TYPE.to_owned(),
            id: res.id.clone(),
            sub: crate::armpath::parse_id(&res.id).map(|p| p.sub.to_ascii_lowercase()).unwrap_or_default(),
            name: res.name().to_owned(),
            location: res.location().unwrap_or_default().to_owned(),
            body: res.body.to_value(),
            deleted_ms: now,
            purge_ms: now + cfg.scaled_ms(LAW_SOFT_DELETE_SECS),
            scheduled_purge_date: crate::clock::rfc3339(now + (LAW_SOFT_DELETE_SECS * 1000.0) as i64),
            purge_protection: false,
            purging: false,
        };
        vec![Effect::SoftDelete { key: res.key(), kept }]
    }
}

/// Log categories per resource type (`None`: not restricted).
fn categories(type_name: &str) -> Option<&'static [&'static str]> {
    Some(match type_name {
        super::aks::CLUSTER_TYPE => &[
            "kube-apiserver",
            "kube-audit",
            "kube-audit-admin",
            "kube-controller-manager",
            "kube-scheduler",
            "cluster-autoscaler",
            "cloud-controller-manager",
            "guard",
            "csi-azuredisk-controller",
            "csi-azurefile-controller",
            "csi-snapshot-controller",
        ],
        super::firewall::FIREWALL_TYPE => &[
            "AzureFirewallApplicationRule",
            "AzureFirewallNetworkRule",
            "AzureFirewallDnsProxy",
            "AZFWNetworkRule",
            "AZFWApplicationRule",
            "AZFWNatRule",
            "AZFWThreatIntel",
            "AZFWIdpsSignature",
            "AZFWDnsQuery",
            "AZFWFqdnResolveFailure",
            "AZFWFatFlow",
            "AZFWFlowTrace",
            "AZFWApplicationRuleAggregation",
            "AZFWNetworkRuleAggregation",
            "AZFWNatRuleAggregation",
        ],
        super::keyvault::VAULT_TYPE => &["AuditEvent", "AzurePolicyEvaluationDetails"],
        super::postgres::SERVER_TYPE => &[
            "PostgreSQLLogs",
            "PostgreSQLFlexSessions",
            "PostgreSQLFlexQueryStoreRuntime",
            "PostgreSQLFlexQueryStoreWaitStats",
            "PostgreSQLFlexTableStats",
            "PostgreSQLFlexDatabaseXacts",
        ],
        super::servicebus::NAMESPACE_TYPE => {
            &["OperationalLogs", "VNetAndIPFilteringLogs", "RuntimeAuditLogs", "ApplicationMetricsLogs", "DiagnosticErrorLogs"]
        }
        super::acr::REGISTRY_TYPE => &["ContainerRegistryRepositoryEvents", "ContainerRegistryLoginEvents"],
        super::netmisc::PIP_TYPE => &["DDoSProtectionNotifications", "DDoSMitigationFlowLogs", "DDoSMitigationReports"],
        super::netmisc::NSG_TYPE => &["NetworkSecurityGroupEvent", "NetworkSecurityGroupRuleCounter"],
        super::storage::ACCOUNT_TYPE => &[],
        _ => return None,
    })
}

const GROUPS: &[&str] = &["allLogs", "audit"];

struct DiagHooks;

impl Hooks for DiagHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let target = cx.parent.expect("diagnostic settings hang off a resource");
        let owner = cx.id.clone();
        let dests = ["workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId"];
        if !dests.iter().any(|d| cx.prop_str(d).is_some_and(|s| !s.is_empty())) {
            return Err(ArmError::bad_request(
                "BadRequest",
                "At least one destination must be set: workspaceId, storageAccountId, eventHubAuthorizationRuleId or marketplacePartnerId.",
            ));
        }
        for (field, t) in [("workspaceId", LAW_TYPE), ("storageAccountId", super::storage::ACCOUNT_TYPE)] {
            if let Some(id) = cx.prop_str(field)
                && cx.st.get(&crate::armpath::key_of(id)).filter(|r| r.is(t)).is_none()
            {
                return Err(ArmError::bad_request(
                    "LinkedInvalidPropertyId",
                    format!("Property id '{id}' at path 'properties.{field}' is invalid: no such {t}."),
                ));
            }
        }
        let siblings = cx.st.under(&target.key()).filter(|r| r.is(DIAG_TYPE) && r.key() != cx.key).count();
        if siblings >= 5 {
            return Err(ArmError::bad_request(
                "BadRequest",
                format!("Resource {} already has the maximum of 5 diagnostic settings.", target.id),
            ));
        }
        let allowed = categories(&target.type_name);
        for l in cx.prop("logs").and_then(Value::as_array).into_iter().flatten() {
            if let Some(g) = l.get("categoryGroup").and_then(Value::as_str) {
                if !GROUPS.iter().any(|x| x.eq_ignore_ascii_case(g)) {
                    return Err(ArmError::bad_request("BadRequest", format!("Category group '{g}' is not supported.")));
                }
            } else if let Some(c) = l.get("category").and_then(Value::as_str) {
                if allowed.is_some_and(|a| !a.iter().any(|x| x.eq_ignore_ascii_case(c))) {
                    return Err(ArmError::bad_request("BadRequest", format!("Category '{c}' is not supported for {}.", target.type_name)));
                }
            } else {
                return Err(ArmError::bad_request(
                    "BadRequest",
                    format!("Each log setting of {owner} needs a category or a categoryGroup."),
                ));
            }
        }
        for m in cx.prop("metrics").and_then(Value::as_array).into_iter().flatten() {
            let c = m.get("category").and_then(Value::as_str).unwrap_or("AllMetrics");
            if c != "AllMetrics" {
                return Err(ArmError::bad_request("BadRequest", format!("Metric category '{c}' is not supported; use AllMetrics.")));
            }
        }
        jpath::default(&mut cx.body, "properties.logs", json!([]));
        jpath::default(&mut cx.body, "properties.metrics", json!([]));
        Ok(())
    }
}

/// GET `{resourceId}/providers/Microsoft.Insights/diagnosticSettingsCategories`.
pub(crate) fn categories_route(sim: &Sim, req: &Req, p: &ResPath) -> Result<Reply, ArmError> {
    crate::engine::check_versions(req, versions::DIAGNOSTICS, "Microsoft.Insights", "diagnosticSettingsCategories")?;
    let target = p
        .parent()
        .filter(|t| !t.blocks.is_empty())
        .ok_or_else(|| ArmError::bad_request("InvalidResourceType", "Categories hang off a resource."))?;
    let st = sim.read();
    let res = st
        .get(&target.key())
        .ok_or_else(|| ArmError::not_found("ResourceNotFound", format!("The Resource '{}' was not found.", target.key())))?;
    let mut v: Vec<Value> = categories(&res.type_name)
        .unwrap_or(&[])
        .iter()
        .map(|c| {
            json!({"id": format!("{}/providers/microsoft.insights/diagnosticSettingsCategories/{c}", res.id), "name": c,
                   "type": "Microsoft.Insights/diagnosticSettingsCategories",
                   "properties": {"categoryType": "Logs", "categoryGroups": ["allLogs"]}})
        })
        .collect();
    v.push(json!({"id": format!("{}/providers/microsoft.insights/diagnosticSettingsCategories/AllMetrics", res.id), "name": "AllMetrics",
                  "type": "Microsoft.Insights/diagnosticSettingsCategories", "properties": {"categoryType": "Metrics", "categoryGroups": []}}));
    Ok(Reply::json(200, &json!({"value": v})))
}

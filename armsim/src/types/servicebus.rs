//! Service Bus namespaces, queues and the namespace's `networkRuleSets/default` (which always
//! exists). VNet rules and private endpoints need the Premium tier.

use serde_json::{Value, json};

use super::vnet::{SUBNET_TYPE, invalid_reference};
use super::{name_rule, versions};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{BASE, DeleteStyle, GlobalName, Hooks, Loc, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{Resource, State};

pub(crate) const NAMESPACE_TYPE: &str = "Microsoft.ServiceBus/namespaces";
pub(crate) const QUEUE_TYPE: &str = "Microsoft.ServiceBus/namespaces/queues";
pub(crate) const NRS_TYPE: &str = "Microsoft.ServiceBus/namespaces/networkRuleSets";

static NS_NAME: NameRule = name_rule!(
    6,
    50,
    r"^[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]$",
    "InvalidResourceName",
    "The namespace name can contain only letters, numbers, and hyphens, must start with a letter, end with a letter or number, be 6-50 characters, and cannot end with '-sb' or '-mgmt'."
);
static QUEUE_NAME: NameRule = name_rule!(
    1,
    260,
    r"^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$",
    "InvalidResourceName",
    "Queue names contain letters, numbers, periods, hyphens, underscores and slashes, and start and end with a letter or number."
);

pub(crate) static NAMESPACE: Spec = Spec {
    type_name: NAMESPACE_TYPE,
    api_versions: versions::SERVICEBUS,
    name: Some(&NS_NAME),
    create: PutStyle::AsyncOp { status: 201, also_location: false },
    update: PutStyle::AsyncOp { status: 200, also_location: false },
    delete: DeleteStyle::Accepted { async_header: true, done: 200 },
    durations: secs(90.0, 30.0, 60.0),
    global_name: Some(GlobalName {
        status: 409,
        code: "NamespaceNameNotAvailable",
        message: "The namespace name '{name}' is not available: Service Bus namespace names are globally unique.",
    }),
    readonly: &[
        "properties.serviceBusEndpoint",
        "properties.metricId",
        "properties.status",
        "properties.createdAt",
        "properties.updatedAt",
        "properties.privateEndpointConnections",
    ],
    hooks: &NamespaceHooks,
    ..BASE
};
pub(crate) static QUEUE: Spec = Spec {
    type_name: QUEUE_TYPE,
    api_versions: versions::SERVICEBUS,
    name: Some(&QUEUE_NAME),
    loc: Loc::None,
    prov_path: None,
    sync_create_status: 200,
    readonly: &[
        "properties.messageCount",
        "properties.countDetails",
        "properties.sizeInBytes",
        "properties.accessedAt",
        "properties.createdAt",
        "properties.updatedAt",
    ],
    hooks: &QueueHooks,
    ..BASE
};
pub(crate) static NRS: Spec = Spec {
    type_name: NRS_TYPE,
    api_versions: versions::SERVICEBUS,
    fixed_name: Some("default"),
    loc: Loc::None,
    prov_path: None,
    sync_create_status: 200,
    hooks: &NrsHooks,
    ..BASE
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&NAMESPACE, &QUEUE, &NRS]
}

fn default_rules() -> Value {
    json!({"properties": {"defaultAction": "Allow", "publicNetworkAccess": "Enabled", "trustedServiceAccessEnabled": false, "ipRules": [], "virtualNetworkRules": []}})
}

struct NamespaceHooks;

impl Hooks for NamespaceHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let name = cx.name.clone();
        let lower = name.to_ascii_lowercase();
        if lower.ends_with("-sb") || lower.ends_with("-mgmt") {
            return Err(ArmError::bad_request("InvalidResourceName", format!("The namespace name '{name}' is invalid. {}", NS_NAME.rule)));
        }
        let sku = jpath::get_str(&cx.body, "sku.name")
            .or_else(|| cx.existing.and_then(|e| jpath::get_str(&e.body, "sku.name")))
            .unwrap_or("")
            .to_string();
        if !["Basic", "Standard", "Premium"].contains(&sku.as_str()) {
            return Err(ArmError::bad_request("InvalidSku", format!("Namespace {name} needs sku.name Basic, Standard or Premium."))
                .with_target("sku.name"));
        }
        let capacity = jpath::get(&cx.body, "sku.capacity").cloned();
        cx.body["sku"] = json!({"name": sku, "tier": sku});
        if sku == "Premium" {
            cx.body["sku"]["capacity"] = capacity.unwrap_or(json!(1));
        }
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        for (k, v) in [
            ("minimumTlsVersion", json!("1.2")),
            ("publicNetworkAccess", json!("Enabled")),
            ("disableLocalAuth", json!(false)),
            ("zoneRedundant", json!(sku == "Premium")),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), v);
        }
        if sku == "Premium" {
            jpath::default(&mut cx.body, "properties.premiumMessagingPartitions", json!(1));
            if cx.existing.is_none() {
                // Premium namespaces take minutes, not seconds, to provision.
                cx.duration = Some(600.0);
            }
        }
        let now = crate::clock::rfc3339(cx.now_ms);
        cx.keep("properties.createdAt", |_| json!(now.clone()));
        cx.body["properties"]["updatedAt"] = json!(now);
        cx.body["properties"]["serviceBusEndpoint"] = json!(format!("https://{lower}.servicebus.windows.net:443/"));
        cx.body["properties"]["metricId"] = json!(format!("{}:{lower}", cx.sub));
        if cx.existing.is_none() {
            let nrs = format!("{}/networkRuleSets/default", cx.id);
            cx.upsert(NRS_TYPE, nrs, default_rules());
        } else if sku != "Premium" {
            let rules = cx.st.get(&format!("{}/networkrulesets/default", cx.key));
            if rules.is_some_and(|r| !jpath::array(&r.body, "properties.virtualNetworkRules").is_empty()) {
                return Err(vnet_rules_need_premium(&name, &sku));
            }
        }
        Ok(())
    }

    fn render(&self, st: &State, cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let status = match res.prov.shown() {
            "Creating" => "Activating",
            "Deleting" => "Removing",
            _ => "Active",
        };
        body["properties"]["status"] = json!(status);
        body["properties"]["privateEndpointConnections"] = json!(super::privatelink::pe_connections(st, cfg, res));
    }
}

fn vnet_rules_need_premium(name: &str, sku: &str) -> ArmError {
    ArmError::bad_request(
        "VirtualNetworkRulesRequirePremiumSku",
        format!("Namespace {name} is {sku}: virtual network rules are only supported for Premium namespaces."),
    )
}

struct QueueHooks;

impl Hooks for QueueHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        const FOREVER: &str = "P10675199DT2H48M5.4775807S";
        for (k, v) in [
            ("lockDuration", json!("PT1M")),
            ("maxSizeInMegabytes", json!(1024)),
            ("requiresDuplicateDetection", json!(false)),
            ("requiresSession", json!(false)),
            ("defaultMessageTimeToLive", json!(FOREVER)),
            ("deadLetteringOnMessageExpiration", json!(false)),
            ("duplicateDetectionHistoryTimeWindow", json!("PT10M")),
            ("maxDeliveryCount", json!(10)),
            ("status", json!("Active")),
            ("enableBatchedOperations", json!(true)),
            ("autoDeleteOnIdle", json!(FOREVER)),
            ("enablePartitioning", json!(false)),
            ("enableExpress", json!(false)),
            ("maxMessageSizeInKilobytes", json!(256)),
        ] {
            jpath::default(&mut cx.body, &format!("properties.{k}"), v);
        }
        if let Some(e) = cx.existing {
            for k in ["requiresSession", "enablePartitioning", "requiresDuplicateDetection"] {
                if e.prop(k) != cx.prop(k) {
                    return Err(ArmError::bad_request(
                        "BadRequest",
                        format!("SubCode=40000. The value for the {k} property of an existing Queue cannot be changed. Queue: {}.", cx.id),
                    ));
                }
            }
        }
        let now = crate::clock::rfc3339(cx.now_ms);
        cx.keep("properties.createdAt", |_| json!(now.clone()));
        cx.body["properties"]["updatedAt"] = json!(now.clone());
        cx.body["properties"]["accessedAt"] = json!("0001-01-01T00:00:00Z");
        Ok(())
    }

    fn render(&self, st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let ns_key = res.key().rsplitn(3, '/').nth(2).unwrap_or("").to_string();
        if let Some(l) = st.get(&ns_key).and_then(|n| n.location()) {
            body["location"] = json!(l);
        }
        body["properties"]["messageCount"] = json!(0);
        body["properties"]["sizeInBytes"] = json!(0);
        body["properties"]["countDetails"] = json!({"activeMessageCount": 0, "deadLetterMessageCount": 0, "scheduledMessageCount": 0, "transferMessageCount": 0, "transferDeadLetterMessageCount": 0});
    }
}

struct NrsHooks;

impl Hooks for NrsHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let ns = cx.parent.expect("rule sets have a namespace");
        let sku = jpath::get_str(&ns.body, "sku.name").unwrap_or("Standard").to_string();
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        let action = cx.prop_str("defaultAction").unwrap_or("Allow").to_string();
        if action != "Allow" && action != "Deny" {
            return Err(ArmError::bad_request("BadRequest", format!("defaultAction '{action}' must be Allow or Deny."))
                .with_target("properties.defaultAction"));
        }
        let vnet_rules = cx.prop("virtualNetworkRules").and_then(Value::as_array).cloned().unwrap_or_default();
        if !vnet_rules.is_empty() && sku != "Premium" {
            return Err(vnet_rules_need_premium(ns.name(), &sku));
        }
        for r in &vnet_rules {
            let id = jpath::get_str(r, "subnet.id").unwrap_or("");
            if cx.st.get(&crate::armpath::key_of(id)).filter(|s| s.is(SUBNET_TYPE)).is_none() {
                return Err(invalid_reference(id, &cx.id));
            }
        }
        let mut ip_rules = cx.prop("ipRules").and_then(Value::as_array).cloned().unwrap_or_default();
        for r in ip_rules.iter_mut() {
            let mask = r.get("ipMask").and_then(Value::as_str).unwrap_or("");
            let ok = mask.parse::<std::net::Ipv4Addr>().is_ok() || mask.parse::<ipnet::Ipv4Net>().is_ok();
            if !ok {
                return Err(ArmError::bad_request("BadRequest", format!("ipMask '{mask}' is not an IPv4 address or CIDR range."))
                    .with_target("properties.ipRules"));
            }
            jpath::default(r, "action", json!("Allow"));
        }
        cx.body["properties"]["ipRules"] = json!(ip_rules);
        cx.body["properties"]["virtualNetworkRules"] = json!(vnet_rules);
        cx.body["properties"]["defaultAction"] = json!(action);
        jpath::default(&mut cx.body, "properties.publicNetworkAccess", json!("Enabled"));
        jpath::default(&mut cx.body, "properties.trustedServiceAccessEnabled", json!(false));
        Ok(())
    }

    fn render(&self, st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let ns_key = res.key().rsplitn(3, '/').nth(2).unwrap_or("").to_string();
        if let Some(l) = st.get(&ns_key).and_then(|n| n.location()) {
            body["location"] = json!(l);
        }
    }
}

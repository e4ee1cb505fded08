//! Private DNS zones (location `global`), virtual network links and A record sets.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use super::vnet::{VNET_TYPE, invalid_reference};
use super::{NETWORK_NAME, name_rule, ref_key, versions};
use crate::config::SimConfig;
use crate::error::ArmError;
use crate::jpath;
use crate::spec::{BASE, DeleteStyle, Hooks, Loc, NameRule, PutCx, PutStyle, Spec, secs};
use crate::state::{Resource, State};

pub(crate) const ZONE_TYPE: &str = "Microsoft.Network/privateDnsZones";
pub(crate) const LINK_TYPE: &str = "Microsoft.Network/privateDnsZones/virtualNetworkLinks";
pub(crate) const A_TYPE: &str = "Microsoft.Network/privateDnsZones/A";

static ZONE_NAME: NameRule = name_rule!(
    3,
    253,
    r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
    "InvalidResourceName",
    "A private DNS zone name must be a fully qualified domain name with at least two labels, each 1-63 letters, digits or hyphens."
);

static RECORD_NAME: NameRule = name_rule!(
    1,
    253,
    r"^(@|\*|(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*)$",
    "InvalidResourceName",
    "A record set name is '@' or one or more DNS labels."
);

const DNS: crate::spec::Spec = Spec {
    api_versions: versions::PRIVATE_DNS,
    loc: Loc::Global,
    create: PutStyle::Accepted { async_header: true },
    update: PutStyle::Accepted { async_header: true },
    delete: DeleteStyle::Accepted { async_header: true, done: 200 },
    etag: true,
    conflict_code: "Conflict",
    ..BASE
};

pub(crate) static ZONE: Spec = Spec {
    type_name: ZONE_TYPE,
    name: Some(&ZONE_NAME),
    durations: secs(45.0, 30.0, 45.0),
    readonly: &[
        "properties.numberOfRecordSets",
        "properties.maxNumberOfRecordSets",
        "properties.numberOfVirtualNetworkLinks",
        "properties.maxNumberOfVirtualNetworkLinks",
        "properties.numberOfVirtualNetworkLinksWithRegistration",
        "properties.maxNumberOfVirtualNetworkLinksWithRegistration",
        "properties.internalId",
    ],
    hooks: &ZoneHooks,
    ..DNS
};
pub(crate) static LINK: Spec = Spec {
    type_name: LINK_TYPE,
    name: Some(&NETWORK_NAME),
    durations: secs(45.0, 30.0, 30.0),
    readonly: &["properties.virtualNetworkLinkState"],
    hooks: &LinkHooks,
    ..DNS
};
pub(crate) static A: Spec = Spec {
    type_name: A_TYPE,
    name: Some(&RECORD_NAME),
    loc: Loc::None,
    create: PutStyle::Sync,
    update: PutStyle::Sync,
    delete: DeleteStyle::Sync,
    prov_path: None,
    readonly: &["properties.fqdn", "properties.isAutoRegistered"],
    hooks: &ARecordHooks,
    ..DNS
};

pub(crate) fn specs() -> Vec<&'static Spec> {
    vec![&ZONE, &LINK, &A]
}

struct ZoneHooks;

impl Hooks for ZoneHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        cx.keep("properties.internalId", |c| {
            use base64::Engine;
            json!(base64::engine::general_purpose::STANDARD.encode(format!(
                "Microsoft.Network/privateDnsZones/{};{}",
                c.name,
                c.hex("internal", 8)
            )))
        });
        Ok(())
    }

    fn render(&self, st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let key = res.key();
        let records = st.children(&key, A_TYPE).len();
        let links = st.children(&key, LINK_TYPE);
        let registration = links.iter().filter(|l| l.prop("registrationEnabled").and_then(Value::as_bool) == Some(true)).count();
        let p = &mut body["properties"];
        p["numberOfRecordSets"] = json!(records + 1);
        p["maxNumberOfRecordSets"] = json!(25000);
        p["numberOfVirtualNetworkLinks"] = json!(links.len());
        p["maxNumberOfVirtualNetworkLinks"] = json!(1000);
        p["numberOfVirtualNetworkLinksWithRegistration"] = json!(registration);
        p["maxNumberOfVirtualNetworkLinksWithRegistration"] = json!(100);
    }

    fn check_delete(&self, st: &State, res: &Resource) -> Result<(), ArmError> {
        // ARM's generic nested-resource refusal; records go with the zone, links do not.
        let links: Vec<String> = st
            .children(&res.key(), LINK_TYPE)
            .iter()
            .map(|l| format!("'{ZONE_TYPE}/{}/virtualNetworkLinks/{}'", res.name(), l.name()))
            .collect();
        if links.is_empty() {
            return Ok(());
        }
        Err(ArmError::conflict(
            "CannotDeleteResource",
            format!(
                "Cannot delete resource while nested resources exist. Some existing nested resource IDs include: {}. Please delete all nested resources before deleting this resource.",
                links.join(", ")
            ),
        ))
    }
}

struct LinkHooks;

impl Hooks for LinkHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        let owner = cx.id.clone();
        let Some(vnet_key) = ref_key(cx.prop("virtualNetwork")) else {
            return Err(ArmError::bad_request(
                "InvalidRequestFormat",
                format!("Virtual network link {owner} needs properties.virtualNetwork.id."),
            ));
        };
        let vnet_id = cx.prop_str("virtualNetwork.id").unwrap_or("").to_string();
        if cx.st.get(&vnet_key).filter(|v| v.is(VNET_TYPE)).is_none() {
            return Err(invalid_reference(&vnet_id, &owner));
        }
        let zone = cx.parent.expect("links have a zone");
        if let Some(other) = cx
            .st
            .children(&zone.key(), LINK_TYPE)
            .into_iter()
            .find(|l| l.key() != cx.key && ref_key(l.prop("virtualNetwork")).as_deref() == Some(vnet_key.as_str()))
        {
            return Err(ArmError::conflict(
                "Conflict",
                format!(
                    "A virtual network cannot be linked to the same zone more than once. Virtual network {vnet_id} is already linked to {} by {}.",
                    zone.name(),
                    other.name()
                ),
            ));
        }
        jpath::default(&mut cx.body, "properties.registrationEnabled", json!(false));
        jpath::default(&mut cx.body, "properties.resolutionPolicy", json!("Default"));
        Ok(())
    }

    fn render(&self, _st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        body["properties"]["virtualNetworkLinkState"] = json!(if res.prov.is_pending() { "InProgress" } else { "Completed" });
    }
}

struct ARecordHooks;

impl Hooks for ARecordHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if cx.body.get("properties").is_none() {
            cx.body["properties"] = json!({});
        }
        jpath::default(&mut cx.body, "properties.ttl", json!(3600));
        jpath::default(&mut cx.body, "properties.metadata", json!({}));
        let owner = cx.id.clone();
        let records = cx.prop("aRecords").and_then(Value::as_array).cloned().unwrap_or_default();
        for r in &records {
            let ip = r.get("ipv4Address").and_then(Value::as_str).unwrap_or("");
            if ip.parse::<Ipv4Addr>().is_err() {
                return Err(ArmError::bad_request("BadRequest", format!("The record set {owner} has an invalid IPv4 address '{ip}'.")));
            }
        }
        cx.body["properties"]["aRecords"] = json!(records);
        Ok(())
    }

    fn render(&self, _st: &State, _cfg: &SimConfig, res: &Resource, body: &mut Value) {
        let zone = crate::armpath::last_segment(res.id.rsplitn(3, '/').nth(2).unwrap_or(""));
        let name = res.name();
        body["properties"]["fqdn"] = json!(if name == "@" { format!("{zone}.") } else { format!("{name}.{zone}.") });
        body["properties"]["isAutoRegistered"] = json!(false);
        body["etag"] = json!(res.etag);
    }
}

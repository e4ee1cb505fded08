//! Microsoft.Resources/resourceGroups: sync PUT, location immutable, delete cascades as an LRO.

use serde_json::json;

use super::{name_rule, versions};
use crate::error::ArmError;
use crate::spec::{BASE, DeleteStyle, Hooks, NameRule, PutCx, Spec, secs};
use crate::state::State;

pub(crate) const RG_TYPE: &str = "Microsoft.Resources/resourceGroups";

static RG_NAME: NameRule = name_rule!(
    1,
    90,
    r"^[-\w._()]*[-\w_()]$",
    "InvalidResourceGroup",
    "The name can only be a letter, digit, '-', '.', '(', ')' or '_', up to 90 characters, and cannot end with '.'."
);

pub(crate) static RG: Spec = Spec {
    type_name: RG_TYPE,
    api_versions: versions::RESOURCES,
    name: Some(&RG_NAME),
    delete: DeleteStyle::Accepted { async_header: false, done: 200 },
    durations: secs(0.0, 0.0, 10.0),
    hooks: &RgHooks,
    ..BASE
};

struct RgHooks;

impl Hooks for RgHooks {
    fn validate(&self, cx: &mut PutCx<'_>) -> Result<(), ArmError> {
        if let Some(e) = cx.existing
            && let Some(m) = e.body.get("managedBy")
        {
            cx.body["managedBy"] = m.clone();
        }
        let props = cx.body.get("properties").cloned().unwrap_or(json!({}));
        if !props.is_object() {
            return Err(ArmError::invalid_body("properties must be an object"));
        }
        cx.body["properties"] = json!({});
        Ok(())
    }
}

/// Seconds a resource-group delete takes: 10 s plus the slowest contained resource's delete.
pub(crate) fn cascade_seconds(st: &State, rg_key: &str) -> f64 {
    let slowest = st
        .under(rg_key)
        .map(|r| r.spec())
        .filter(|s| !matches!(s.delete, DeleteStyle::Sync))
        .map(|s| s.durations.delete)
        .fold(0.0, f64::max);
    RG.durations.delete + slowest
}

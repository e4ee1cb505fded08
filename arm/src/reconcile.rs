//! Reconciling one ARM object: compare what exists with what is wanted and
//! write only when they differ, so an update touches only changed children
//! and a resumed create skips what is already in place.

use serde_json::Value as Json;

use crate::{ArmClient, ArmError, Op, ResourceId};

/// True if every field of `want` is present in `have` with the same value.
/// Objects compare key by key (ARM adds read-only fields, which are
/// ignored); arrays must have the same length and match element for element
/// in any order; strings compare case-insensitively, as ARM treats ids and
/// enum values. `tags` must match exactly: extra tags are drift too.
pub fn matches(want: &Json, have: &Json) -> bool {
    match (want, have) {
        (Json::Object(w), Json::Object(h)) => w.iter().all(|(k, wv)| match h.get(k) {
            Some(hv) if k == "tags" => tags_equal(wv, hv),
            Some(hv) => matches(wv, hv),
            None => wv.is_null() || wv.as_array().is_some_and(Vec::is_empty) || wv.as_object().is_some_and(|o| o.is_empty()),
        }),
        (Json::Array(w), Json::Array(h)) => {
            if w.len() != h.len() {
                return false;
            }
            let mut used = vec![false; h.len()];
            w.iter().all(|we| {
                if let Some(i) = (0..h.len()).find(|i| !used[*i] && matches(we, &h[*i])) {
                    used[i] = true;
                    true
                } else {
                    false
                }
            })
        }
        (Json::String(a), Json::String(b)) => a.eq_ignore_ascii_case(b),
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        (Json::Number(a), Json::String(b)) | (Json::String(b), Json::Number(a)) => b.parse::<f64>().ok() == a.as_f64(),
        (a, b) => a == b,
    }
}

fn tags_equal(a: &Json, b: &Json) -> bool {
    let norm = |j: &Json| {
        j.as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned())).collect::<std::collections::BTreeMap<_, _>>())
            .unwrap_or_default()
    };
    norm(a) == norm(b)
}

/// Makes one object match `want`: GET it (unless `known` already holds the
/// body), PUT only if it is missing, differs or failed. Returns the object as it now is.
pub async fn ensure(arm: &ArmClient, op: &Op, id: &ResourceId, want: &Json, known: Option<Json>) -> Result<Json, ArmError> {
    let have = match known {
        Some(k) => settle(arm, op, id, Some(k)).await?,
        None => settled(arm, op, id).await?,
    };
    match have {
        Some(h) if matches(want, &h) && !failed(&h) => Ok(h),
        _ => arm.put(op, id, want).await,
    }
}

/// GETs the object and, while ARM is still writing it, waits for that write to end.
pub async fn settled(arm: &ArmClient, op: &Op, id: &ResourceId) -> Result<Option<Json>, ArmError> {
    let got = arm.get(&op.with_action("reading"), id).await?;
    settle(arm, op, id, got).await
}

/// The object as it is once ARM's running write on it (an apply that was
/// interrupted, or someone by hand) ends: what to do next depends on where
/// that write ends, not on its first step. `got` is a body just read.
pub async fn settle(arm: &ArmClient, op: &Op, id: &ResourceId, got: Option<Json>) -> Result<Option<Json>, ArmError> {
    match got {
        Some(b) if in_flight(&b) => arm.wait_settled(&op.with_action("waiting for the running operation on"), id, in_flight).await,
        other => Ok(other),
    }
}

/// True if ARM's last write on the object failed or was canceled: the same
/// PUT again is how Azure repairs it, so it never counts as matching. Reads
/// `properties.provisioningState`, or the flat one of an embedded agent
/// pool profile.
pub fn failed(body: &Json) -> bool {
    body.pointer("/properties/provisioningState")
        .or_else(|| body.get("provisioningState"))
        .and_then(Json::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("Failed") || s.eq_ignore_ascii_case("Canceled"))
}

/// True while ARM is still writing the object (its provisioning state, or
/// PostgreSQL's own `state`, is not a final one).
pub fn in_flight(body: &Json) -> bool {
    let states = ["/properties/provisioningState", "/properties/state"];
    states.iter().filter_map(|p| body.pointer(p).and_then(Json::as_str)).any(|s| {
        [
            "Creating",
            "Updating",
            "Deleting",
            "Accepted",
            "Provisioning",
            "RegisteringDns",
            "ResolvingDNS",
            "InProgress",
            "Upgrading",
            "Scaling",
        ]
        .iter()
        .any(|x| x.eq_ignore_ascii_case(s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_only_fields_and_order_are_ignored_but_extra_tags_and_items_are_not() {
        let want = json!({"location": "westeurope", "tags": {"a": "1"}, "properties": {"subnets": [{"name": "a"}, {"name": "b"}], "sku": {"tier": "Standard"}}});
        let have = json!({"id": "/x", "location": "WestEurope", "tags": {"a": "1"}, "properties": {"provisioningState": "Succeeded", "subnets": [{"name": "b", "id": "/b"}, {"name": "a"}], "sku": {"tier": "standard"}}});
        assert!(matches(&want, &have));
        let extra_tag = json!({"location": "westeurope", "tags": {"a": "1", "b": "2"}, "properties": {"subnets": [{"name": "a"}, {"name": "b"}], "sku": {"tier": "Standard"}}});
        assert!(!matches(&want, &extra_tag));
        let extra_subnet = json!({"location": "westeurope", "tags": {"a": "1"}, "properties": {"subnets": [{"name": "a"}, {"name": "b"}, {"name": "c"}], "sku": {"tier": "Standard"}}});
        assert!(!matches(&want, &extra_subnet));
    }

    #[test]
    fn failed_and_canceled_writes_never_count_as_done_nested_or_flat() {
        for (body, want) in [
            (json!({"properties": {"provisioningState": "Failed"}}), true),
            (json!({"properties": {"provisioningState": "Canceled"}}), true),
            (json!({"name": "user", "provisioningState": "failed"}), true),
            (json!({"properties": {"provisioningState": "Succeeded"}}), false),
            (json!({"name": "user", "provisioningState": "Succeeded"}), false),
            (json!({"properties": {}}), false),
        ] {
            assert_eq!(failed(&body), want, "{body}");
        }
    }
}

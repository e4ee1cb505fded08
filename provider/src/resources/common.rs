//! What every composite needs: the configured ARM client and subscription,
//! ARM errors as diagnostics, operations with the right deadline, the tag
//! set and the owner tag, and patching computed values into a state.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use serde_json::Value as Json;
use trench_arm::{ArmClient, ArmError, Op, ResourceId};
use trench_plugin::framework::{Ctx, Diagnostics};
use trench_plugin::value::{Val, Value, to_value};

use crate::config::Session;
use crate::conventions;

/// ARM failures as Terraform diagnostics: what was being done to which
/// object, ARM's code and message, the request and correlation ids, a hint.
pub trait ArmDiagnostics {
    /// As an error diagnostic, on `path` when the failure is about an attribute.
    fn diagnostics_at(&self, path: Option<trench_plugin::framework::AttrPath>) -> Diagnostics;
    /// As an error diagnostic on the resource.
    fn diagnostics(&self) -> Diagnostics {
        self.diagnostics_at(None)
    }
}

impl ArmDiagnostics for ArmError {
    fn diagnostics_at(&self, path: Option<trench_plugin::framework::AttrPath>) -> Diagnostics {
        match path {
            Some(p) => Diagnostics::attr_error(p, self.summary(), self.detail()),
            None => Diagnostics::error(self.summary(), self.detail()),
        }
    }
}

/// What specs are made from: the configured provider's subscription,
/// tenant and default tags.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// The subscription trench manages.
    pub subscription: String,
    /// The tenant, when the provider names one.
    pub tenant: Option<String>,
    /// Provider `default_tags`.
    pub default_tags: BTreeMap<String, String>,
}

/// The ARM client and what specs are made from.
pub struct Azure {
    /// The client.
    pub arm: Arc<ArmClient>,
    /// Subscription, tenant, default tags.
    pub env: Env,
}

/// The ARM client and subscription, or the diagnostic saying what to set.
pub fn azure(ctx: &Ctx) -> Result<Azure, Diagnostics> {
    let c = ctx.data::<Session>()?;
    let subscription = c.config.subscription_id.clone().ok_or_else(|| {
        Diagnostics::error(
            "No subscription configured",
            "trench resources need a subscription: set subscription_id in the provider block or ARM_SUBSCRIPTION_ID.",
        )
    })?;
    let env = Env { subscription, tenant: c.config.credentials.tenant_id.clone(), default_tags: c.config.default_tags.clone() };
    Ok(Azure { arm: c.arm.clone(), env })
}

/// The subscription a composite lives in: the one in its recorded `id`
/// (a state), else the provider's (a plan).
pub fn subscription_of(v: &Value, env: &Env) -> String {
    v.get_attr("id")
        .and_then(Value::as_str)
        .and_then(|id| ResourceId::parse(id).ok())
        .map(|i| i.subscription)
        .unwrap_or_else(|| env.subscription.clone())
}

/// An operation bounded by the matching timeout.
pub fn op(ctx: &Ctx, action: &'static str, timeout: std::time::Duration) -> Op {
    Op::new(action, timeout, ctx.cancel.clone())
}

/// The tags every object gets: trench's conventional defaults, then the
/// provider's `default_tags`, then the resource's `tags`; `environment`
/// always names the environment.
pub fn tags_all(default_tags: &BTreeMap<String, String>, env: &str, tags: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let mut t = conventions::tags(env, conventions::DEFAULT_OWNER, conventions::DEFAULT_COST_CENTER, conventions::DEFAULT_PURPOSE);
    t.extend(default_tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(tags) = tags {
        t.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    t.insert("environment".into(), env.to_owned());
    t
}

/// `tags_all` as a plan knows it: unknown until the environment (and the
/// tags, if set) are known.
pub fn planned_tags_all(
    default_tags: &BTreeMap<String, String>,
    env: &Val<String>,
    tags: &Val<BTreeMap<String, String>>,
) -> Val<BTreeMap<String, String>> {
    match (env, tags) {
        (Val::Known(env), Val::Known(t)) => Val::Known(tags_all(default_tags, env, Some(t))),
        (Val::Known(env), Val::Null) => Val::Known(tags_all(default_tags, env, None)),
        _ => Val::Unknown,
    }
}

/// The tag naming the composite that created an object
/// (`trench_hub/trench-core-vnet-dev`). An apply interrupted part-way
/// (terraform or the provider killed) leaves objects Terraform never
/// recorded; the next create finds its own by this tag and resumes, while
/// anything else that exists is still refused.
pub const OWNER_TAG: &str = "trench-owner";

/// `tags` plus the owner tag of `kind` (`trench_hub`) named `name`.
pub fn with_owner(mut tags: BTreeMap<String, String>, kind: &str, name: &str) -> BTreeMap<String, String> {
    tags.insert(OWNER_TAG.to_owned(), format!("{kind}/{name}"));
    tags
}

/// The tags shown as `tags_all`: every tag but the owner tag, which is
/// trench's bookkeeping.
pub fn visible_tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter().filter(|(k, _)| k.as_str() != OWNER_TAG).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// True if an existing object carries the owner tag these tags carry:
/// this composite made it, in an apply that did not finish.
pub fn owned_by(body: &Json, tags: &BTreeMap<String, String>) -> bool {
    match (body.pointer(&format!("/tags/{OWNER_TAG}")).and_then(Json::as_str), tags.get(OWNER_TAG)) {
        (Some(have), Some(want)) => have.eq_ignore_ascii_case(want),
        _ => false,
    }
}

/// The tags an imported composite's configuration sets: what an object
/// carries beyond the environment, the owner tag, trench's conventional
/// values and the provider's `default_tags`.
pub fn user_tags(observed: &BTreeMap<String, String>, default_tags: &BTreeMap<String, String>, env: &str) -> BTreeMap<String, String> {
    let defaults = tags_all(default_tags, env, None);
    observed
        .iter()
        .filter(|(k, v)| k.as_str() != "environment" && k.as_str() != OWNER_TAG && defaults.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Overwrites attributes of an object value with those of `patch`
/// (a typed struct of computed values).
pub fn patch<T: Serialize>(target: &mut Value, patch: &T) -> Result<(), Diagnostics> {
    let Value::Object(p) = to_value(patch)? else {
        return Err(Diagnostics::error("Internal error", "a patch must be an object"));
    };
    if let Value::Object(t) = target {
        t.extend(p);
    }
    Ok(())
}

/// The replacement warnings of a plan turned into refusals: the
/// resource's `allow_replacement` guard, saying what replacing destroys.
pub fn refuse_replacement(warnings: Diagnostics, destroys: &str) -> Diagnostics {
    Diagnostics(
        warnings
            .0
            .into_iter()
            .map(|w| trench_plugin::framework::Diagnostic {
                severity: trench_plugin::framework::Severity::Error,
                summary: format!("{} (refused)", w.summary),
                detail: format!("{} {destroys} Set `allow_replacement = true` to accept, or revert the change.", w.detail),
                path: w.path,
            })
            .collect(),
    )
}

/// Deletes a resource group unless something else still lives in it (then
/// leaves it, with a warning naming what is there).
pub async fn delete_rg_if_empty(azure: &Azure, op: &Op, rg: &ResourceId) -> Result<Diagnostics, ArmError> {
    let mut d = Diagnostics::new();
    let listing = azure.arm.list_group_resources(&op.with_action("listing"), rg).await?;
    match listing {
        None => {}
        Some(items) if items.is_empty() => azure.arm.delete(op, rg).await?,
        Some(items) => {
            let names: Vec<String> =
                items.iter().filter_map(|r| r.get("id").and_then(Json::as_str)).map(|s| format!("  - {s}")).take(10).collect();
            d.add_warning(
                None,
                format!("{} kept: it is not empty", rg.display()),
                format!("Other objects still live in it, so trench left it in place:\n{}", names.join("\n")),
            );
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_owner_tag_marks_objects_for_resuming_and_stays_out_of_tags_all_and_imports() {
        let tags = with_owner(tags_all(&BTreeMap::new(), "dev", None), "trench_hub", "trench-core-vnet-dev");
        assert_eq!(tags[OWNER_TAG], "trench_hub/trench-core-vnet-dev");
        assert!(!visible_tags(&tags).contains_key(OWNER_TAG));
        assert_eq!(visible_tags(&tags).len(), 4, "owner, environment, cost-center, purpose");
        assert!(owned_by(&json!({"tags": {"trench-owner": "TRENCH_HUB/trench-core-vnet-dev"}}), &tags));
        assert!(!owned_by(&json!({"tags": {"trench-owner": "trench_spoke/trench-aks-vnet-dev"}}), &tags), "another composite's");
        assert!(!owned_by(&json!({"tags": {"owner": "data-team"}}), &tags), "made by hand");
        assert!(!owned_by(&json!({}), &tags));
        let observed: BTreeMap<String, String> =
            [(OWNER_TAG, "trench_hub/x"), ("environment", "dev"), ("owner", "platform-team"), ("team", "network")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(user_tags(&observed, &BTreeMap::new(), "dev"), BTreeMap::from([("team".to_owned(), "network".to_owned())]));
    }
}

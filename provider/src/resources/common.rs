//! What every composite needs: the configured ARM client and subscription,
//! operations with the right deadline, the tag set, and patching computed
//! values into Terraform's proposed state.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::conventions;
use serde_json::Value as Json;
use trench_arm::{ArmClient, ArmError, Op, ResourceId};
use trench_plugin::framework::timeouts::Timeouts;
use trench_plugin::framework::{Ctx, Diagnostics, PlanRequest, Planned};
use trench_plugin::value::{Val, Value, from_value, to_value};

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

/// The ARM client and subscription of a configured provider.
pub struct Azure {
    /// The client.
    pub arm: Arc<ArmClient>,
    /// The subscription trench manages.
    pub subscription: String,
    /// Provider `default_tags`.
    pub default_tags: BTreeMap<String, String>,
}

/// The ARM client and subscription, or the diagnostic saying what to set.
pub fn azure(ctx: &Ctx) -> Result<Azure, Diagnostics> {
    let c = ctx.data::<crate::config::Session>()?;
    let subscription = c.config.subscription_id.clone().ok_or_else(|| {
        Diagnostics::error(
            "No subscription configured",
            "trench resources need a subscription: set subscription_id in the provider block or ARM_SUBSCRIPTION_ID.",
        )
    })?;
    Ok(Azure { arm: c.arm.clone(), subscription, default_tags: c.config.default_tags.clone() })
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

/// Where every composite's plan starts: its configuration decoded and
/// checked, the provider's Azure context, and Terraform's proposed state
/// with the composite's defaults filled in.
pub struct PlanStart<C> {
    /// The configuration as written.
    pub cfg: C,
    /// What the check said (warnings only: errors end the plan).
    pub diags: Diagnostics,
    /// The configured client and subscription.
    pub azure: Azure,
    /// The proposed state with defaults filled in.
    pub planned: Value,
}

/// Decodes and checks the configuration, then fills in defaults; a plan
/// that cannot go on comes back as `Err`, ready to return.
pub fn plan_start<C: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    req: &PlanRequest,
    check: impl FnOnce(&C) -> Diagnostics,
    fill_defaults: fn(&mut Value, &Value, &C),
) -> Result<PlanStart<C>, Planned> {
    let cfg: C = from_value(&req.config).map_err(|e| Planned::failed(e.into()))?;
    let diags = check(&cfg);
    if diags.has_errors() {
        return Err(Planned::failed(diags));
    }
    let azure = azure(ctx).map_err(Planned::failed)?;
    let mut planned = req.proposed.clone();
    fill_defaults(&mut planned, &req.config, &cfg);
    Ok(PlanStart { cfg, diags, azure, planned })
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

/// A composite's static validation: its typed configuration checked by
/// `check`, plus its `timeouts` block.
pub fn validate<C: serde::de::DeserializeOwned>(config: &Value, defaults: Timeouts, check: fn(&C) -> Diagnostics) -> Diagnostics {
    let mut d = match trench_plugin::value::from_value::<C>(config) {
        Ok(c) => check(&c),
        Err(e) => e.into(),
    };
    if let Err(t) = timeouts(config, defaults) {
        d.extend(t);
    }
    d
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

/// Timeouts from a resource value, or the diagnostic.
pub fn timeouts(v: &Value, defaults: Timeouts) -> Result<Timeouts, Diagnostics> {
    Timeouts::from_value(v, defaults)
}

/// Turns an ARM error into diagnostics with a resume hint appended when
/// part of the composite already exists.
pub fn partial_failure(e: ArmError, composite: &str, created: &[String]) -> Diagnostics {
    let mut d = e.diagnostics_at(None);
    if !created.is_empty() {
        let list = created.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n");
        d.0[0].detail.push_str(&format!(
            "\n\nThe {composite} is partly in place; these objects exist and are recorded in state:\n{list}\nRun `terraform apply` again to finish (Terraform will replace the tainted {composite}, removing these first, unless you run `terraform untaint` to resume in place)."
        ));
    }
    d
}

/// Deletes a resource group unless something else still lives in it (then
/// leaves it, with a warning naming what is there).
pub async fn delete_rg_if_empty(azure: &Azure, op: &Op, rg: &ResourceId) -> Result<Diagnostics, ArmError> {
    let mut d = Diagnostics::new();
    let listing = azure
        .arm
        .list(
            &op.with_action("listing"),
            &rg.display(),
            &format!("{rg}/resources"),
            trench_arm::api_versions::for_type("Microsoft.Resources/resources").unwrap_or("2023-07-01"),
        )
        .await?;
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

/// A resource group the composite creates (and deletes with itself) must not
/// exist yet, unless this composite made it in an interrupted apply (its
/// owner tag): taking over someone else's group would rewrite its tags
/// and, on destroy, try to delete what else lives there.
pub async fn refuse_existing_group(
    azure: &Azure,
    op: &Op,
    rg: &ResourceId,
    tags: &BTreeMap<String, String>,
    attr: &str,
    import_id: &ResourceId,
) -> Result<(), Diagnostics> {
    match azure.arm.get(&op.with_action("checking for an existing"), rg).await {
        Ok(None) => Ok(()),
        Ok(Some(body)) if owned_by(&body, tags) => Ok(()),
        Ok(Some(_)) => Err(Diagnostics::attr_error(
            trench_plugin::framework::AttrPath::root(attr),
            format!("{} already exists", rg.display()),
            format!(
                "This resource creates its own resource group and deletes it with itself, so it does not take over one that exists (another composite's, or one made by hand). Choose another {attr}, or, if these objects are this resource's, import it:\n\n  terraform import <address of this resource> {import_id}"
            ),
        )),
        Err(e) => Err(e.diagnostics()),
    }
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

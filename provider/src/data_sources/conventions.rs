//! `trench_conventions`: every conventional name and the tag set of one
//! environment, with Azure's naming rule checked per name. No Azure calls.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::conventions::{self, DEFAULT_COST_CENTER, DEFAULT_OWNER, DEFAULT_PURPOSE};
use trench_plugin::framework::{AttrPath, Attribute, Block, Ctx, DataSource, Diagnostics, Schema, StateResult};
use trench_plugin::value::{Type, Val, Value, from_value, to_value};

/// Default location when none is given.
pub const DEFAULT_LOCATION: &str = "westeurope";

/// The data source.
pub struct Conventions;

#[derive(Deserialize)]
struct Config {
    environment: Val<String>,
    location: Val<String>,
    owner: Val<String>,
    cost_center: Val<String>,
    purpose: Val<String>,
}

#[derive(Serialize)]
struct NameCheck {
    resource_type: String,
    valid: bool,
    rule: String,
}

#[derive(Serialize)]
struct State {
    environment: String,
    location: String,
    owner: String,
    cost_center: String,
    purpose: String,
    names: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    name_checks: BTreeMap<String, NameCheck>,
}

#[async_trait]
impl DataSource for Conventions {
    fn type_name(&self) -> &'static str {
        "trench_conventions"
    }

    fn schema(&self) -> Schema {
        let check_type = Type::object([("resource_type", Type::String), ("valid", Type::Bool), ("rule", Type::String)]);
        Schema::new(
            Block::new("The estate's conventional names (`trench-<service>-<resource>-<env>`, compact forms for ACR and storage) and tags for one environment, each name checked against Azure's naming rule for its type.")
                .attr(Attribute::required("environment", Type::String).describe("Environment name, 2-12 lowercase letters or digits starting with a letter, e.g. `dev`."))
                .attr(Attribute::optional_computed("location", Type::String).describe(&format!("Azure location, e.g. `westeurope` (the default: `{DEFAULT_LOCATION}`).")))
                .attr(Attribute::optional_computed("owner", Type::String).describe(&format!("Value of the `owner` tag. Defaults to the provider's `default_tags`, then `{DEFAULT_OWNER}`.")))
                .attr(Attribute::optional_computed("cost_center", Type::String).describe(&format!("Value of the `cost-center` tag. Defaults to the provider's `default_tags`, then `{DEFAULT_COST_CENTER}`.")))
                .attr(Attribute::optional_computed("purpose", Type::String).describe(&format!("Value of the `purpose` tag. Defaults to the provider's `default_tags`, then `{DEFAULT_PURPOSE}`.")))
                .attr(Attribute::computed("names", Type::map(Type::String)).describe("Every conventional name of the estate, by logical key (`hub_vnet`, `key_vault`, `container_registry`, …)."))
                .attr(Attribute::computed("tags", Type::map(Type::String)).describe("The tags every resource carries: `owner`, `environment`, `cost-center`, `purpose`, merged over the provider's `default_tags`."))
                .attr(Attribute::computed("name_checks", Type::map(check_type)).describe("Per name: its ARM `resource_type`, whether it is `valid` under Azure's naming rule, and the `rule` itself.")),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let c: Config = match from_value(config) {
            Ok(c) => c,
            Err(e) => return e.into(),
        };
        let mut d = Diagnostics::new();
        if let Val::Known(env) = &c.environment
            && let Err(e) = conventions::check_environment(env)
        {
            d.add_attr_error(AttrPath::root("environment"), "Invalid environment", e);
        }
        if let Val::Known(loc) = &c.location
            && let Err(e) = conventions::check_location(loc)
        {
            d.add_attr_error(AttrPath::root("location"), "Unknown location", e);
        }
        for (attr, tag, v) in
            [("owner", "owner", &c.owner), ("cost_center", "cost-center", &c.cost_center), ("purpose", "purpose", &c.purpose)]
        {
            if let Val::Known(v) = v
                && let Err(e) = conventions::check_tag(tag, v)
            {
                d.add_attr_error(AttrPath::root(attr), "Invalid tag value", e);
            }
        }
        d
    }

    async fn read(&self, ctx: &Ctx, config: Value) -> StateResult {
        let d = self.validate(&config);
        if d.has_errors() {
            return StateResult::failed(Value::Null, d);
        }
        let c: Config = match from_value(&config) {
            Ok(c) => c,
            Err(e) => return StateResult::failed(Value::Null, e.into()),
        };
        let Val::Known(env) = c.environment else {
            return StateResult::failed(
                Value::Null,
                Diagnostics::attr_error(
                    AttrPath::root("environment"),
                    "Environment not known",
                    "The environment must be known to read conventions.",
                ),
            );
        };
        let defaults = ctx.data::<crate::config::Session>().map(|p| p.config.default_tags.clone()).unwrap_or_default();
        let pick = |v: Val<String>, tag: &str, fallback: &str| {
            v.into_option().or_else(|| defaults.get(tag).cloned()).unwrap_or_else(|| fallback.to_owned())
        };
        let owner = pick(c.owner, "owner", DEFAULT_OWNER);
        let cost_center = pick(c.cost_center, "cost-center", DEFAULT_COST_CENTER);
        let purpose = pick(c.purpose, "purpose", DEFAULT_PURPOSE);
        let mut tags = defaults.clone();
        tags.extend(conventions::tags(&env, &owner, &cost_center, &purpose));

        let mut diags = Diagnostics::new();
        let mut names = BTreeMap::new();
        let mut name_checks = BTreeMap::new();
        for (key, n) in conventions::estate_names(&env) {
            let verdict = n.azure_type.check(&n.name);
            if let Err(e) = &verdict {
                diags.add_warning(
                    Some(AttrPath::root("environment")),
                    format!("Conventional name for {key} breaks Azure's naming rule"),
                    e.clone(),
                );
            }
            name_checks.insert(
                key.to_owned(),
                NameCheck {
                    resource_type: n.azure_type.arm_type().to_owned(),
                    valid: verdict.is_ok(),
                    rule: n.azure_type.rule().to_owned(),
                },
            );
            names.insert(key.to_owned(), n.name);
        }
        let state = State {
            environment: env,
            location: c.location.into_option().unwrap_or_else(|| DEFAULT_LOCATION.to_owned()),
            owner,
            cost_center,
            purpose,
            names,
            tags,
            name_checks,
        };
        match to_value(&state) {
            Ok(v) => StateResult { state: v, private: Vec::new(), diagnostics: diags },
            Err(e) => StateResult::failed(Value::Null, e.into()),
        }
    }
}

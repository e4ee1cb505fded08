//! `trench_hub` data source: finds an existing hub by environment (and
//! optionally its names) so spokes in other repositories can attach to it.

use crate::resources::common::ArmDiagnostics as _;
use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::conventions;
use crate::resources::common;
use crate::resources::network::{read_space, read_subnets};
use trench_arm::ResourceId;
use trench_plugin::framework::{AttrPath, Attribute, Block, Ctx, DataSource, Diagnostics, Schema, StateResult};
use trench_plugin::value::{Type, Val, Value, from_value, to_value};

/// The data source.
pub struct HubLookup;

#[derive(Deserialize)]
struct Config {
    environment: Val<String>,
    resource_group_name: Val<String>,
    vnet_name: Val<String>,
}

#[derive(Serialize)]
struct State {
    environment: String,
    resource_group_name: String,
    vnet_name: String,
    id: String,
    location: String,
    address_space: Vec<String>,
    subnet_ids: BTreeMap<String, String>,
    firewall_id: String,
    firewall_private_ip: String,
    firewall_public_ip: String,
    firewall_policy_id: String,
}

#[async_trait]
impl DataSource for HubLookup {
    fn type_name(&self) -> &'static str {
        "trench_hub"
    }

    fn schema(&self) -> Schema {
        let c = |n: &str, d: &str| Attribute::computed(n, Type::String).describe(d);
        Schema::new(
            Block::new("Looks up an existing trench hub, for attaching spokes from another configuration (`modules/spoke`).")
                .attr(Attribute::required("environment", Type::String).describe("Environment of the hub, e.g. `dev`."))
                .attr(
                    Attribute::optional_computed("resource_group_name", Type::String)
                        .describe("Hub resource group. Default `rg-trench-core-<env>`."),
                )
                .attr(Attribute::optional_computed("vnet_name", Type::String).describe("Hub VNet name. Default `trench-core-vnet-<env>`."))
                .attr(c("id", "Hub VNet id (a spoke's `hub_id`)."))
                .attr(c("location", "Hub location."))
                .attr(
                    Attribute::computed("address_space", Type::list(Type::String))
                        .describe("Hub address space (a spoke's `hub_address_space`)."),
                )
                .attr(Attribute::computed("subnet_ids", Type::map(Type::String)).describe("Hub subnet ids by name."))
                .attr(c("firewall_id", "Azure Firewall id."))
                .attr(c("firewall_private_ip", "Firewall private IP (a spoke's `firewall_private_ip`)."))
                .attr(c("firewall_public_ip", "Firewall public IP."))
                .attr(c("firewall_policy_id", "Firewall policy id.")),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        if let Ok(c) = from_value::<Config>(config)
            && let Val::Known(e) = &c.environment
            && let Err(m) = conventions::check_environment(e)
        {
            d.add_attr_error(AttrPath::root("environment"), "Invalid environment", m);
        }
        d
    }

    async fn read(&self, ctx: &Ctx, config: Value) -> StateResult {
        let fail = |d: Diagnostics| StateResult::failed(Value::Null, d);
        let c: Config = match from_value(&config) {
            Ok(c) => c,
            Err(e) => return fail(e.into()),
        };
        let azure = match common::azure(ctx) {
            Ok(a) => a,
            Err(d) => return fail(d),
        };
        let Val::Known(env) = c.environment else { return fail(Diagnostics::error("Environment not known", "environment must be known.")) };
        let defaults = conventions::names::hub(&env);
        let rg = c.resource_group_name.into_option().unwrap_or(defaults.resource_group);
        let vnet_name = c.vnet_name.into_option().unwrap_or(defaults.vnet);
        let vnet_id = ResourceId::resource(&azure.env.subscription, &rg, "Microsoft.Network", "virtualNetworks", &vnet_name);
        let op = common::op(ctx, "looking up", std::time::Duration::from_secs(300));
        let vnet = match azure.arm.get(&op, &vnet_id).await {
            Ok(Some(v)) => v,
            Ok(None) => {
                return fail(Diagnostics::attr_error(
                    AttrPath::root("environment"),
                    "Hub not found",
                    format!("{} does not exist; create the hub first or give its names.", vnet_id.display()),
                ));
            }
            Err(e) => return fail(e.diagnostics()),
        };
        // The firewall is whatever uses AzureFirewallSubnet.
        let fw_id = vnet
            .pointer("/properties/subnets")
            .and_then(Json::as_array)
            .and_then(|s| s.iter().find(|s| s.get("name").and_then(Json::as_str) == Some("AzureFirewallSubnet")))
            .and_then(|s| s.pointer("/properties/ipConfigurations/0/id"))
            .and_then(Json::as_str)
            .and_then(|id| ResourceId::parse(id).ok())
            .map(|mut id| {
                id.segments.truncate(1);
                id
            });
        let Some(fw_id) = fw_id else {
            return fail(Diagnostics::error(
                "No firewall in the hub",
                format!("Nothing uses AzureFirewallSubnet in {}.", vnet_id.display()),
            ));
        };
        let fw = match azure.arm.get(&op, &fw_id).await {
            Ok(Some(f)) => f,
            Ok(None) => return fail(Diagnostics::error("Firewall not found", fw_id.display())),
            Err(e) => return fail(e.diagnostics()),
        };
        let s = |j: &Json, p: &str| j.pointer(p).and_then(Json::as_str).unwrap_or("").to_owned();
        let pip_id = s(&fw, "/properties/ipConfigurations/0/properties/publicIPAddress/id");
        let public_ip = match ResourceId::parse(&pip_id) {
            Ok(id) => match azure.arm.get(&op, &id).await {
                Ok(Some(p)) => s(&p, "/properties/ipAddress"),
                Ok(None) => String::new(),
                Err(e) => return fail(e.diagnostics()),
            },
            Err(_) => String::new(),
        };
        let state = State {
            environment: env,
            resource_group_name: rg,
            vnet_name,
            id: vnet_id.to_string(),
            location: s(&vnet, "/location"),
            address_space: read_space(&vnet),
            subnet_ids: read_subnets(&vnet).keys().map(|k| (k.clone(), vnet_id.child("subnets", k).to_string())).collect(),
            firewall_id: fw_id.to_string(),
            firewall_private_ip: s(&fw, "/properties/ipConfigurations/0/properties/privateIPAddress"),
            firewall_public_ip: public_ip,
            firewall_policy_id: s(&fw, "/properties/firewallPolicy/id"),
        };
        match to_value(&state) {
            Ok(v) => StateResult::ok(v),
            Err(e) => fail(e.into()),
        }
    }
}

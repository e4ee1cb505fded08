//! trench_hub and trench_spoke under the real terraform against armsim:
//! create → empty plan → in-place update → empty plan → drift injected
//! through the admin API → plan shows it → apply repairs → import verify →
//! destroy leaves armsim empty; bad input rejected at plan with no ARM
//! write; faults converge with no orphan; the data source attaches a spoke
//! from another configuration.

use serde_json::{Value as Json, json};
use trench_e2e::corpus;
use trench_e2e::sim::Sim;
use trench_e2e::terraform::Workspace;

const HEADER: &str = r#"
terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}
provider "trench" {}
"#;

fn hub(extra: &str) -> String {
    format!(
        r#"
resource "trench_hub" "core" {{
  environment   = "dev"
  location      = "westeurope"
  address_space = ["10.0.0.0/16"]
  egress_mode   = "loose"
  admin_cidrs   = ["203.0.113.0/24"]
  jump_host = {{
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOPERATORKEYOPERATORKEY op@laptop"
  }}
{extra}
}}
"#
    )
}

fn spoke(extra: &str) -> String {
    format!(
        r#"
resource "trench_spoke" "aks" {{
  environment         = "dev"
  hub_id              = trench_hub.core.id
  hub_address_space   = trench_hub.core.address_space
  firewall_private_ip = trench_hub.core.firewall_private_ip
  address_space       = ["10.1.0.0/16"]
{extra}
}}
output "peering" {{ value = trench_spoke.aks.peering_state }}
output "fw" {{ value = trench_hub.core.firewall_private_ip }}
"#
    )
}

fn workspace(sim: &Sim, body: &str) -> Workspace {
    let mut ws = Workspace::new(&format!("{HEADER}{body}"));
    ws.env = sim.provider_env();
    ws.tf(&["init", "-input=false"]).ok();
    ws
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

const SUB: &str = "/subscriptions/00000000-0000-4000-8000-000000000002";

async fn patch(sim: &Sim, id: &str, body: Json) {
    sim.admin(reqwest::Method::PATCH, &format!("resources{id}"), Some(body)).await;
}

async fn delete(sim: &Sim, id: &str) {
    sim.admin(reqwest::Method::DELETE, &format!("resources{id}"), None).await;
}

fn writes(journal: &[Json]) -> Vec<String> {
    journal
        .iter()
        .filter(|e| e["method"] != "GET" && !e["path"].as_str().unwrap_or("").contains("/oauth2/"))
        .map(|e| format!("{} {}", e["method"], e["path"]))
        .collect()
}

fn import_verify(ws: &Workspace, address: &str) {
    let before = ws.tf(&["state", "show", address]).ok().stdout;
    let id = before
        .lines()
        .find_map(|l| l.trim().strip_prefix("id ").map(|v| v.trim().trim_start_matches("= ").trim_matches('"').to_owned()))
        .unwrap();
    ws.tf(&["state", "rm", address]).ok();
    ws.tf(&["import", "-input=false", address, &id]).ok();
    let after = ws.tf(&["state", "show", address]).ok().stdout;
    assert_eq!(before, after, "import of {address} must reproduce state");
}

#[tokio::test]
async fn lifecycle_create_update_drift_import_destroy() {
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, &format!("{}{}", hub(""), spoke("")));
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert_eq!(ws.output_json("peering"), "Connected");
    assert_eq!(ws.output_json("fw"), "10.0.0.4");
    assert!(ws.plan_is_empty(), "plan after create");

    // A no-change plan reads each owned object once and writes nothing.
    sim.admin(reqwest::Method::DELETE, "journal", None).await;
    assert!(ws.plan_is_empty());
    let journal = sim.journal().await;
    assert!(writes(&journal).is_empty(), "{:?}", writes(&journal));

    // In place: strict egress with an extra rule, a new subnet, tags; the
    // spoke grows (peerings re-sync).
    let updated_hub = hub(
        r#"  subnets       = { "AzureFirewallSubnet" = "10.0.0.0/26", "shared-services" = "10.0.1.0/24", "mgmt" = "10.0.2.0/24" }
  network_rules = [{ name = "dns", protocols = ["UDP"], source_addresses = ["10.1.0.0/16"], destination_addresses = ["168.63.129.16"], destination_ports = ["53"] }]
  tags          = { team = "net" }"#,
    )
    .replace(r#"egress_mode   = "loose""#, r#"egress_mode   = "strict""#);
    let updated_spoke =
        spoke("").replace(r#"address_space       = ["10.1.0.0/16"]"#, r#"address_space       = ["10.1.0.0/16", "10.2.0.0/16"]"#);
    ws.write("main.tf", &format!("{HEADER}{updated_hub}{updated_spoke}"));
    let r = ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(r.stdout.contains("0 added, 2 changed, 0 destroyed"), "{}", r.stdout);
    assert!(ws.plan_is_empty(), "plan after update");

    // Drift, injected the way the portal or a script would.
    let core = format!("{SUB}/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network");
    let aks = format!("{SUB}/resourceGroups/rg-trench-aks-dev/providers/Microsoft.Network");
    delete(&sim, &format!("{core}/virtualNetworks/trench-core-vnet-dev/virtualNetworkPeerings/trench-hub-to-aks-dev")).await;
    patch(&sim, &format!("{aks}/virtualNetworks/trench-aks-vnet-dev/subnets/aks-nodes"), json!({"properties": {"routeTable": null}})).await;
    patch(&sim, &format!("{aks}/routeTables/rt-aks-nodes-dev"), json!({"properties": {"routes": [{"name": "default-via-firewall", "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "Internet"}}]}})).await;
    patch(&sim, &format!("{core}/azureFirewalls/trench-core-fw-dev"), json!({"tags": {"owner": "someone"}})).await;
    patch(
        &sim,
        &format!("{core}/firewallPolicies/trench-core-fwpolicy-dev/ruleCollectionGroups/trench-egress"),
        json!({"properties": {"priority": 250}}),
    )
    .await;
    delete(&sim, &format!("{core}/networkSecurityGroups/trench-core-jumpnsg-dev")).await;
    let plan = ws.tf(&["plan", "-input=false"]).ok().stdout;
    for want in [
        "trench-hub-to-aks-dev",
        "route_table_subnets",
        "routes differ",
        "Firewall \\\"trench-core-fw-dev\\\" (Resource Group \\\"rg-trench-core-dev\\\"): tags differ",
        "rule collections differ",
        "trench-core-jumpnsg-dev\\\" (Resource Group \\\"rg-trench-core-dev\\\") is missing",
    ] {
        assert!(plan.contains(want), "plan should show {want:?}:\n{plan}");
    }
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(ws.plan_is_empty(), "plan after repair");
    assert_eq!(ws.output_json("peering"), "Connected");

    import_verify(&ws, "trench_spoke.aks");
    import_verify(&ws, "trench_hub.core");
    assert!(ws.plan_is_empty(), "plan after import");

    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    let left = sim.resources().await;
    assert!(left.is_empty(), "destroy leaves armsim empty: {:?}", left.iter().map(|r| r["id"].clone()).collect::<Vec<_>>());
}

#[tokio::test]
async fn bad_inputs_are_rejected_at_plan_naming_the_attribute_with_no_arm_write() {
    let corpus = corpus::load();
    let cases: Vec<_> = corpus.case.iter().filter(|c| matches!(c.base.as_deref(), Some("hub" | "spoke"))).collect();
    assert!(cases.len() >= 20, "the hub and spoke table has {} cases", cases.len());
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, "");
    for c in cases {
        corpus::check(&ws, &corpus, c).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(writes(&sim.journal().await).is_empty(), "no ARM write for any bad input");
}

#[tokio::test]
async fn apply_under_faults_converges_with_no_orphans() {
    let sim = Sim::start(&["--seed", "7"]);
    sim.faults(json!([
        {"method": "PUT", "kind": "throttle429", "probability": 0.15},
        {"method": "PUT", "resource_type": "Microsoft.Network/azureFirewalls", "kind": "error500", "count": 2},
        {"method": "GET", "kind": "error503", "probability": 0.1},
        {"method": "*", "kind": "reset", "probability": 0.05},
        {"method": "PUT", "resource_type": "Microsoft.Network/virtualNetworks", "kind": "fail_operation", "count": 1},
    ]))
    .await;
    let ws = workspace(&sim, &format!("{}{}", hub(""), spoke("")));
    let first = ws.tf(&["apply", "-auto-approve", "-input=false"]);
    if first.code != 0 {
        // The failed operation is reported with the resume hint, then one resume.
        assert!(first.all().contains("terraform apply"), "{}", first.all());
        ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    }
    sim.admin(reqwest::Method::DELETE, "faults", None).await;
    assert!(ws.plan_is_empty(), "converged");
    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    let left = sim.resources().await;
    assert!(left.is_empty(), "no orphans: {:?}", left.iter().map(|r| r["id"].clone()).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_spoke_in_another_configuration_attaches_through_the_data_source() {
    let sim = Sim::start(&[]);
    let core = workspace(&sim, &hub(""));
    core.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    let other = workspace(
        &sim,
        r#"
data "trench_hub" "core" {
  environment = "dev"
}
resource "trench_spoke" "data" {
  environment         = "dev"
  name                = "data"
  hub_id              = data.trench_hub.core.id
  hub_address_space   = data.trench_hub.core.address_space
  firewall_private_ip = data.trench_hub.core.firewall_private_ip
  address_space       = ["10.3.0.0/16"]
}
output "peering" { value = trench_spoke.data.peering_state }
"#,
    );
    other.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert_eq!(other.output_json("peering"), "Connected");
    assert!(other.plan_is_empty());
    other.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    core.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    assert!(sim.resources().await.is_empty());
}

#[tokio::test]
async fn a_resource_group_that_already_exists_is_not_taken_over() {
    let sim = Sim::start(&[]);
    // Someone else's group with the spoke's conventional name.
    let token = sim.token().await;
    let ca = reqwest::Certificate::from_pem(&std::fs::read(sim.ca_file()).unwrap()).unwrap();
    let http = reqwest::Client::builder().tls_certs_merge([ca]).build().unwrap();
    let rg = format!("{}/subscriptions/{}/resourceGroups/rg-trench-aks-dev?api-version=2023-07-01", sim.endpoint, sim.subscription());
    let put =
        http.put(&rg).bearer_auth(&token).json(&json!({"location": "westeurope", "tags": {"owner": "data-team"}})).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());
    let ws = workspace(&sim, &format!("{}{}", hub(""), spoke("")));
    let r = ws.tf(&["apply", "-auto-approve", "-input=false"]);
    assert_ne!(r.code, 0, "the spoke must not adopt the group");
    let out = squash(&r.all());
    assert!(out.contains("Resource Group \"rg-trench-aks-dev\" already exists"), "{out}");
    assert!(out.contains("Choose another resource_group_name"), "{out}");
    let got: Json = http.get(&rg).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["tags"], json!({"owner": "data-team"}), "its tags are untouched");
}

#[tokio::test]
async fn a_create_interrupted_before_terraform_recorded_it_is_resumed_but_a_strangers_objects_are_refused() {
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, &hub(""));
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    // As after terraform or the provider was killed mid-create: the objects exist, the state does not know them.
    ws.tf(&["state", "rm", "trench_hub.core"]).ok();
    let r = ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(r.stdout.contains("1 added, 0 changed, 0 destroyed"), "the create resumes on its own objects: {}", r.stdout);
    assert!(ws.plan_is_empty(), "and converges");
    let objects = sim.resources().await.len();

    // The same names without trench's owner tag (made by hand): refused, nothing taken over.
    ws.tf(&["state", "rm", "trench_hub.core"]).ok();
    const VNET: &str = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.Network/virtualNetworks/trench-core-vnet-dev";
    let got = sim.admin(reqwest::Method::GET, &format!("resources{VNET}"), None).await;
    let mut tags = got["body"]["tags"].clone();
    tags.as_object_mut().unwrap().remove("trench-owner");
    sim.admin(reqwest::Method::PATCH, &format!("resources{VNET}"), Some(json!({"tags": null}))).await;
    sim.admin(reqwest::Method::PATCH, &format!("resources{VNET}"), Some(json!({"tags": tags}))).await;
    let r = ws.tf(&["apply", "-auto-approve", "-input=false"]);
    assert_ne!(r.code, 0);
    let out = squash(&r.all());
    assert!(
        out.contains("trench-core-vnet-dev\" (Resource Group \"rg-trench-core-dev\") already exists") && out.contains("terraform import"),
        "{out}"
    );
    assert_eq!(sim.resources().await.len(), objects, "nothing created or changed");
}

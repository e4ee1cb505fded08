//! trench_workload_identity under the real terraform against armsim: the
//! identity with federated credentials on the cluster's OIDC issuer and role
//! assignments, empty plan, in-place changes (a service account added, a
//! role swapped), drift (a credential and an assignment deleted out of band)
//! repaired, import verify, destroy; bad inputs rejected at plan with the
//! attribute named and no ARM write.

use trench_e2e::sim::Sim;
use trench_e2e::terraform::Workspace;

const ESTATE: &str = r#"
terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}
provider "trench" {}
resource "trench_hub" "core" {
  environment   = "dev"
  location      = "westeurope"
  address_space = ["10.0.0.0/16"]
}
resource "trench_spoke" "aks" {
  environment         = "dev"
  hub_id              = trench_hub.core.id
  hub_address_space   = trench_hub.core.address_space
  firewall_private_ip = trench_hub.core.firewall_private_ip
  address_space       = ["10.1.0.0/16"]
}
resource "trench_private_aks" "main" {
  environment        = "dev"
  location           = "westeurope"
  subnet_id          = trench_spoke.aks.subnet_ids["aks-nodes"]
  firewall_policy_id = trench_hub.core.firewall_policy_id
}
"#;

fn identity(service_accounts: &str, roles: &str) -> String {
    format!(
        r#"
resource "trench_workload_identity" "catalog" {{
  environment         = "dev"
  name                = "catalog-api"
  location            = "westeurope"
  resource_group_name = trench_hub.core.resource_group_name
  oidc_issuer_url     = trench_private_aks.main.oidc_issuer_url
  service_accounts    = [{service_accounts}]
  role_assignments    = [{roles}]
}}
output "client_id" {{ value = trench_workload_identity.catalog.client_id }}
"#
    )
}

const API: &str = r#"{ namespace = "catalog", name = "api" }"#;
const WORKER: &str = r#"{ namespace = "catalog", name = "worker" }"#;

fn role(name: &str) -> String {
    format!(r#"{{ scope = trench_hub.core.resource_group_id, role = "{name}" }}"#)
}

fn workspace(sim: &Sim, body: &str) -> Workspace {
    let mut ws = Workspace::new(body);
    ws.env = sim.provider_env();
    ws.tf(&["init", "-input=false"]).ok();
    ws
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

const IDENTITY: &str = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/trench-catalog-api-id-dev";

async fn of_type(sim: &Sim, ty: &str) -> Vec<String> {
    sim.resources()
        .await
        .into_iter()
        .filter(|r| r["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(ty)))
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn lifecycle_credentials_roles_drift_import_destroy() {
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, &format!("{ESTATE}{}", identity(API, &role("Key Vault Secrets User"))));
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    let client_id = ws.output_json("client_id");
    assert!(uuid_like(client_id.as_str().unwrap()), "client id is a GUID: {client_id}");
    assert!(ws.plan_is_empty(), "plan after create");
    let creds = of_type(&sim, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials").await;
    assert_eq!(creds, vec![format!("{IDENTITY}/federatedIdentityCredentials/catalog-api")]);

    // In place: a second service account, the role swapped for two others.
    let roles = format!("{}, {}", role("Azure Service Bus Data Sender"), role("Azure Service Bus Data Receiver"));
    ws.write("main.tf", &format!("{ESTATE}{}", identity(&format!("{API}, {WORKER}"), &roles)));
    let r = ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(r.stdout.contains("0 added, 1 changed, 0 destroyed"), "{}", r.stdout);
    assert!(ws.plan_is_empty(), "plan after update");
    assert_eq!(ws.output_json("client_id"), client_id, "an update keeps the identity");
    assert_eq!(of_type(&sim, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials").await.len(), 2);
    let assignments = of_type(&sim, "Microsoft.Authorization/roleAssignments").await;
    let ours: Vec<_> = assignments.iter().filter(|a| a.contains("rg-trench-core-dev/providers/Microsoft.Authorization")).collect();
    assert_eq!(ours.len(), 2, "the old assignment is gone, both new ones exist: {assignments:?}");

    // Drift: a credential and an assignment deleted out of band.
    sim.admin(reqwest::Method::DELETE, &format!("resources{IDENTITY}/federatedIdentityCredentials/catalog-worker"), None).await;
    sim.admin(reqwest::Method::DELETE, &format!("resources{}", ours[0]), None).await;
    let plan = squash(&ws.tf(&["plan", "-input=false"]).ok().stdout);
    assert!(plan.contains("1 to change"), "{plan}");
    assert!(plan.contains("\"worker\""), "the missing credential shows: {plan}");
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(ws.plan_is_empty(), "plan after repair");
    assert_eq!(of_type(&sim, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials").await.len(), 2);

    let before = ws.tf(&["state", "show", "trench_workload_identity.catalog"]).ok().stdout;
    ws.tf(&["state", "rm", "trench_workload_identity.catalog"]).ok();
    ws.tf(&["import", "-input=false", "trench_workload_identity.catalog", IDENTITY]).ok();
    let after = ws.tf(&["state", "show", "trench_workload_identity.catalog"]).ok().stdout;
    assert_eq!(before, after, "import reproduces the identity");
    assert!(ws.plan_is_empty(), "plan after import");

    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    let left = sim.resources().await;
    assert!(left.is_empty(), "{:?}", left.iter().map(|r| r["id"].clone()).collect::<Vec<_>>());
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn bad_inputs_are_rejected_at_plan_naming_the_attribute_with_no_arm_write() {
    let corpus = trench_e2e::corpus::load();
    let cases: Vec<_> = corpus.case.iter().filter(|c| c.base.as_deref() == Some("identity")).collect();
    assert!(cases.len() >= 7, "the identity table has {} cases", cases.len());
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, ESTATE);
    sim.admin(reqwest::Method::DELETE, "journal", None).await;
    for c in cases {
        trench_e2e::corpus::check(&ws, &corpus, c).unwrap_or_else(|e| panic!("{e}"));
    }
    let writes: Vec<_> =
        sim.journal().await.into_iter().filter(|e| e["method"] != "GET" && !e["path"].as_str().unwrap_or("").contains("oauth2")).collect();
    assert!(writes.is_empty(), "no ARM write: {writes:?}");
}

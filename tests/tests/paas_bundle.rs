//! trench_paas_bundle, and the whole estate around it, under the real
//! terraform against armsim: hub, spoke, private AKS (AcrPull on the
//! bundle's registry, Container Insights to its workspace), the bundle and
//! a workload identity with roles on its vault and namespace. Create, empty
//! plan, in-place updates, drift repaired, import verify, destroy to an
//! empty armsim; the write-only password never in state or plan but set on
//! the server; a soft-deleted vault recovered as configured; bad inputs
//! refused at plan with no ARM write; applies under faults converge.

use serde_json::{Value as Json, json};
use trench_e2e::sim::Sim;
use trench_e2e::terraform::Workspace;

const PASSWORD: &str = "Tr3nch-Dev-Passw0rd!";
const ROTATED: &str = "An0ther-Passw0rd#2";

const NETWORK: &str = r#"
terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}
provider "trench" {}
variable "pg_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
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
"#;

fn bundle(extra: &str) -> String {
    format!(
        r#"
resource "trench_paas_bundle" "this" {{
  environment                          = "dev"
  location                             = "westeurope"
  resource_group_name                  = trench_hub.core.resource_group_name
  private_endpoint_subnet_id           = trench_spoke.aks.subnet_ids["private-endpoints"]
  dns_zone_vnet_ids                    = [trench_hub.core.id, trench_spoke.aks.id]
  firewall_public_ip                   = trench_hub.core.firewall_public_ip
  postgresql_administrator_password_wo = var.pg_password
{extra}
}}
output "vault_uri" {{ value = trench_paas_bundle.this.vault_uri }}
output "pg_fqdn" {{ value = trench_paas_bundle.this.postgresql_fqdn }}
output "ips" {{ value = trench_paas_bundle.this.private_endpoint_ips }}
"#
    )
}

const WORKLOADS: &str = r#"
resource "trench_private_aks" "main" {
  environment                = "dev"
  location                   = "westeurope"
  subnet_id                  = trench_spoke.aks.subnet_ids["aks-nodes"]
  firewall_policy_id         = trench_hub.core.firewall_policy_id
  acr_id                     = trench_paas_bundle.this.acr_id
  log_analytics_workspace_id = trench_paas_bundle.this.log_analytics_workspace_id
}
resource "trench_workload_identity" "catalog" {
  environment         = "dev"
  name                = "catalog-api"
  location            = "westeurope"
  resource_group_name = trench_hub.core.resource_group_name
  oidc_issuer_url     = trench_private_aks.main.oidc_issuer_url
  service_accounts    = [{ namespace = "catalog", name = "api" }]
  role_assignments = [
    { scope = trench_paas_bundle.this.key_vault_id, role = "Key Vault Secrets User" },
    { scope = trench_paas_bundle.this.service_bus_id, role = "Azure Service Bus Data Sender" },
  ]
}
"#;

const SUB: &str = "/subscriptions/00000000-0000-4000-8000-000000000002";
const VAULT: &str = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-core-dev/providers/Microsoft.KeyVault/vaults/trench-core-kv-dev";
const SERVER: &str = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-data-dev/providers/Microsoft.DBforPostgreSQL/flexibleServers/trench-data-pg-dev";

fn workspace(sim: &Sim, body: &str, password: &str) -> Workspace {
    let mut ws = Workspace::new(body);
    ws.env = sim.provider_env();
    ws.env.push(("TF_VAR_pg_password".into(), password.into()));
    ws.tf(&["init", "-input=false"]).ok();
    ws
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn apply(ws: &Workspace) -> String {
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok().stdout
}

async fn ids_of(sim: &Sim, ty: &str) -> Vec<String> {
    let mut v: Vec<String> = sim
        .resources()
        .await
        .into_iter()
        .filter(|r| r["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(ty)))
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    v.sort();
    v
}

async fn password_hash(sim: &Sim) -> String {
    let s = sim.admin(reqwest::Method::GET, &format!("secrets{SERVER}"), None).await;
    s["secrets"]["properties.administratorLoginPassword"]["sha256"].as_str().unwrap_or_default().to_owned()
}

fn sha256(s: &str) -> String {
    use std::fmt::Write;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    digest.as_ref().iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[tokio::test]
async fn the_whole_estate_lifecycle_updates_drift_import_destroy() {
    let sim = Sim::start(&[]);
    let config = |extra: &str| format!("{NETWORK}{}{WORKLOADS}", bundle(extra));
    let ws = workspace(&sim, &config("  acr_admin_enabled = true"), PASSWORD);
    apply(&ws);
    assert!(ws.output_json("vault_uri").as_str().unwrap().starts_with("https://trench-core-kv-dev.vault"));
    assert_eq!(ws.output_json("pg_fqdn"), json!("trench-data-pg-dev.postgres.database.azure.com"));
    let ips = ws.output_json("ips");
    assert!(ips["key_vault"].as_str().unwrap().starts_with("10.1."), "endpoints sit in the spoke: {ips}");
    assert!(ws.plan_is_empty(), "plan after create");
    // The estate's PaaS objects, as DESIGN.md section 1 lists them.
    assert_eq!(
        ids_of(&sim, "Microsoft.DBforPostgreSQL/flexibleServers/databases").await,
        vec![format!("{SERVER}/databases/catalog"), format!("{SERVER}/databases/orders")]
    );
    // The bundle's zones (AKS keeps its own private zone in the node resource group).
    let bundle_rg = "/resourceGroups/rg-trench-core-dev/";
    let records: Vec<String> =
        ids_of(&sim, "Microsoft.Network/privateDnsZones/A").await.into_iter().filter(|i| i.contains(bundle_rg)).collect();
    assert_eq!(records.len(), 2, "one A record per endpoint: {records:?}");
    assert_eq!(
        ids_of(&sim, "Microsoft.Network/privateDnsZones/virtualNetworkLinks").await.into_iter().filter(|i| i.contains(bundle_rg)).count(),
        4,
        "two zones, each linked to hub and spoke"
    );
    let assignments = ids_of(&sim, "Microsoft.Authorization/roleAssignments").await;
    assert!(assignments.iter().any(|a| a.starts_with(VAULT)), "Key Vault Secrets User on the vault: {assignments:?}");
    assert!(assignments.iter().any(|a| a.contains("/registries/trenchacrcoredev/")), "AcrPull for the kubelet: {assignments:?}");

    // In place: the Phase-7 hardening (admin off), a queue, a database, an admin network.
    let updated = r#"  acr_admin_enabled    = false
  service_bus_queues   = ["orders", "payments"]
  postgresql_databases = ["catalog", "orders", "reporting"]
  admin_cidrs          = ["203.0.113.0/24"]"#;
    ws.write("main.tf", &config(updated));
    let out = apply(&ws);
    assert!(out.contains("0 added, 1 changed, 0 destroyed"), "{out}");
    assert!(ws.plan_is_empty(), "plan after update");
    let rules = sim.admin(reqwest::Method::GET, &format!("resources{SUB}/resourceGroups/rg-trench-core-dev/providers/Microsoft.ServiceBus/namespaces/trench-core-sb-dev/networkRuleSets/default"), None).await;
    let rules = &rules["body"]["properties"];
    let masks: Vec<&str> = rules["ipRules"].as_array().unwrap().iter().filter_map(|r| r["ipMask"].as_str()).collect();
    assert_eq!(masks.len(), 2, "firewall IP and the admin CIDR: {rules}");
    assert!(masks.contains(&"203.0.113.0/24"), "{masks:?}");
    assert_eq!(rules["defaultAction"], "Deny");

    // Drift: public access opened on the vault, a queue deleted, a DNS record removed, a tag changed.
    let records = ids_of(&sim, "Microsoft.Network/privateDnsZones/A").await;
    let record = records.iter().find(|r| r.contains("vaultcore")).cloned().unwrap_or_else(|| panic!("no vault record in {records:?}"));
    sim.admin(
        reqwest::Method::PATCH,
        &format!("resources{VAULT}"),
        Some(json!({"properties": {"publicNetworkAccess": "Enabled"}, "tags": {"owner": "someone"}})),
    )
    .await;
    sim.admin(
        reqwest::Method::DELETE,
        &format!(
            "resources{SUB}/resourceGroups/rg-trench-core-dev/providers/Microsoft.ServiceBus/namespaces/trench-core-sb-dev/queues/payments"
        ),
        None,
    )
    .await;
    sim.admin(reqwest::Method::DELETE, &format!("resources{record}"), None).await;
    let plan = squash(&ws.tf(&["plan", "-input=false"]).ok().stdout);
    assert!(plan.contains("key_vault_public_network_access = true -> false"), "{plan}");
    assert!(plan.contains("+ \"payments\""), "the lost queue shows: {plan}");
    assert!(plan.contains("is missing"), "the lost record shows: {plan}");
    assert!(plan.contains("tags differ"), "{plan}");
    apply(&ws);
    assert!(ws.plan_is_empty(), "plan after repair");
    assert!(ids_of(&sim, "Microsoft.Network/privateDnsZones/A").await.contains(&record), "record back");

    // Import reproduces the bundle; the password version and the behaviour
    // settings Azure does not record are the documented exceptions.
    let before = ws.tf(&["state", "show", "trench_paas_bundle.this"]).ok().stdout;
    ws.tf(&["state", "rm", "trench_paas_bundle.this"]).ok();
    ws.tf(&["import", "-input=false", "trench_paas_bundle.this", VAULT]).ok();
    let after = ws.tf(&["state", "show", "trench_paas_bundle.this"]).ok().stdout;
    assert_eq!(before, after, "import reproduces the bundle");
    assert!(ws.plan_is_empty(), "plan after import");

    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    let left = sim.resources().await;
    assert!(left.is_empty(), "{:?}", left.iter().map(|r| r["id"].clone()).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_write_only_password_reaches_the_server_but_never_state_or_plan() {
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, &format!("{NETWORK}{}", bundle("  postgresql_administrator_password_wo_version = 1")), PASSWORD);
    let plan = ws.tf(&["plan", "-input=false"]).ok().stdout;
    assert!(!plan.contains(PASSWORD), "not in plan output");
    apply(&ws);
    assert_eq!(password_hash(&sim).await, sha256(PASSWORD), "armsim holds the password's hash");
    let state = std::fs::read_to_string(ws.path("terraform.tfstate")).unwrap();
    assert!(!state.contains(PASSWORD), "not in state");
    assert!(ws.plan_is_empty());

    // Rotation: a new password with a new version is sent; without a new version it is not.
    let mut rotated = ws.env.clone();
    rotated.retain(|(k, _)| k != "TF_VAR_pg_password");
    rotated.push(("TF_VAR_pg_password".into(), ROTATED.into()));
    let mut ws = ws;
    ws.env = rotated;
    assert!(ws.plan_is_empty(), "a different password alone changes nothing");
    ws.write("main.tf", &format!("{NETWORK}{}", bundle("  postgresql_administrator_password_wo_version = 2")));
    let out = apply(&ws);
    assert!(!out.contains(ROTATED), "not in apply output");
    assert_eq!(password_hash(&sim).await, sha256(ROTATED), "rotated");
    let state = std::fs::read_to_string(ws.path("terraform.tfstate")).unwrap();
    assert!(!state.contains(ROTATED) && !state.contains(PASSWORD), "still not in state");
    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
}

#[tokio::test]
async fn a_soft_deleted_vault_is_refused_then_recovered_as_configured() {
    let sim = Sim::start(&[]);
    let keep = "  key_vault_purge_on_destroy = false";
    let ws = workspace(&sim, &format!("{NETWORK}{}", bundle(keep)), PASSWORD);
    apply(&ws);
    ws.write("main.tf", NETWORK);
    apply(&ws);
    // The vault is soft-deleted now; by default the bundle stops and says what to do.
    ws.write("main.tf", &format!("{NETWORK}{}", bundle(keep)));
    let r = ws.tf(&["apply", "-auto-approve", "-input=false"]);
    assert_ne!(r.code, 0);
    let out = squash(&r.all());
    assert!(out.contains("Key Vault \"trench-core-kv-dev\" is soft-deleted"), "{out}");
    assert!(out.contains("key_vault_on_soft_deleted = \"recover\""), "{out}");
    // Recover it.
    ws.tf(&["untaint", "trench_paas_bundle.this"]).ok();
    ws.write("main.tf", &format!("{NETWORK}{}", bundle(&format!("{keep}\n  key_vault_on_soft_deleted = \"recover\""))));
    apply(&ws);
    assert!(ws.plan_is_empty(), "recovered and converged");
    let journal = sim.journal().await;
    assert!(
        journal.iter().any(|e| e["method"] == "PUT"
            && e["path"].as_str().unwrap_or("").contains("/vaults/trench-core-kv-dev")
            && e["request_body"].to_string().contains("recover")),
        "the vault was recovered, not created"
    );
    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
}

#[tokio::test]
async fn bad_inputs_are_rejected_at_plan_naming_the_attribute_with_no_arm_write() {
    let corpus = trench_e2e::corpus::load();
    let cases: Vec<_> = corpus.case.iter().filter(|c| c.base.as_deref() == Some("bundle")).collect();
    assert!(cases.len() >= 20, "the bundle table has {} cases", cases.len());
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, NETWORK, PASSWORD);
    sim.admin(reqwest::Method::DELETE, "journal", None).await;
    for c in cases {
        trench_e2e::corpus::check(&ws, &corpus, c).unwrap_or_else(|e| panic!("{e}"));
    }
    let writes: Vec<Json> =
        sim.journal().await.into_iter().filter(|e| e["method"] != "GET" && !e["path"].as_str().unwrap_or("").contains("oauth2")).collect();
    assert!(writes.is_empty(), "no ARM write for any bad input: {writes:?}");
}

#[tokio::test]
async fn a_missing_password_and_immutable_changes_are_refused_at_plan() {
    let sim = Sim::start(&[]);
    let no_password = format!("{NETWORK}{}", bundle("").replace("  postgresql_administrator_password_wo = var.pg_password\n", ""));
    let ws = workspace(&sim, &no_password, PASSWORD);
    let r = ws.tf(&["plan", "-input=false"]);
    assert_ne!(r.code, 0);
    assert!(squash(&r.all()).contains("PostgreSQL needs an administrator password"), "{}", r.all());
    ws.write("main.tf", &format!("{NETWORK}{}", bundle("")));
    apply(&ws);
    for (change, expect) in [
        ("  key_vault_soft_delete_retention_days = 30", "Soft-delete retention cannot change"),
        ("  postgresql_administrator_login = \"other_admin\"", "The administrator login cannot change"),
        ("  postgresql_version = \"16\"", "PostgreSQL cannot be downgraded"),
        ("  key_vault_name = \"trench-core-kv2-dev\"", "Changing key_vault_name replaces the bundle (refused)"),
    ] {
        ws.write("main.tf", &format!("{NETWORK}{}", bundle(change)));
        let r = ws.tf(&["plan", "-input=false"]);
        assert_ne!(r.code, 0, "{change}");
        assert!(squash(&r.all()).contains(expect), "{change}: {}", r.all());
    }
    ws.write("main.tf", &format!("{NETWORK}{}", bundle("  postgresql_storage_gb = 64\n  postgresql_version = \"18\"")));
    let out = apply(&ws);
    assert!(out.contains("0 added, 1 changed, 0 destroyed"), "growth and upgrade happen in place: {out}");
    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
}

#[tokio::test]
async fn apply_under_faults_converges_with_no_orphans() {
    let sim = Sim::start(&["--seed", "11"]);
    sim.faults(json!([
        {"method": "PUT", "kind": "throttle429", "probability": 0.15},
        {"method": "PUT", "resource_type": "Microsoft.DBforPostgreSQL/flexibleServers", "kind": "error500", "count": 1},
        {"method": "GET", "kind": "error503", "probability": 0.05},
        {"method": "*", "kind": "reset", "probability": 0.03},
        {"method": "PUT", "resource_type": "Microsoft.Network/privateEndpoints", "kind": "fail_operation", "count": 1},
    ]))
    .await;
    let ws = workspace(&sim, &format!("{NETWORK}{}", bundle("")), PASSWORD);
    let first = ws.tf(&["apply", "-auto-approve", "-input=false"]);
    if first.code != 0 {
        // The failed operation is reported with the resume hint; one resume.
        assert!(first.all().contains("terraform apply"), "{}", first.all());
        ws.tf(&["untaint", "trench_paas_bundle.this"]);
        apply(&ws);
    }
    sim.admin(reqwest::Method::DELETE, "faults", None).await;
    assert!(ws.plan_is_empty(), "converged");
    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    let left = sim.resources().await;
    assert!(left.is_empty(), "no orphans: {:?}", left.iter().map(|r| r["id"].clone()).collect::<Vec<_>>());
}

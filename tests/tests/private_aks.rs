//! trench_private_aks under the real terraform against armsim: create on the
//! spoke, empty plan, in-place pool changes, drift (a pool scaled and a
//! diagnostic setting deleted out of band) repaired, import verify, destroy;
//! the egress pre-check fails at plan time naming what is missing; a change
//! that would replace the cluster is refused unless allowed; a cluster trench
//! did not create is refused at once, even while its owner's update runs.

use serde_json::json;
use trench_e2e::sim::Sim;
use trench_e2e::terraform::Workspace;

const NET: &str = r#"
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
  egress_mode   = "strict"
}
resource "trench_spoke" "aks" {
  environment         = "dev"
  hub_id              = trench_hub.core.id
  hub_address_space   = trench_hub.core.address_space
  firewall_private_ip = trench_hub.core.firewall_private_ip
  address_space       = ["10.1.0.0/16"]
  ROUTE_TABLE_SUBNETS
}
"#;

fn net(route_table_subnets: &str) -> String {
    NET.replace("ROUTE_TABLE_SUBNETS", route_table_subnets)
}

fn cluster(extra: &str) -> String {
    format!(
        r#"
resource "trench_private_aks" "main" {{
  environment        = "dev"
  location           = "westeurope"
  subnet_id          = trench_spoke.aks.subnet_ids["aks-nodes"]
  firewall_policy_id = trench_hub.core.firewall_policy_id
  kubernetes_version = "1.33"
{extra}
}}
output "oidc" {{ value = trench_private_aks.main.oidc_issuer_url }}
"#
    )
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

const CLUSTER: &str = "/subscriptions/00000000-0000-4000-8000-000000000002/resourceGroups/rg-trench-aks-dev/providers/Microsoft.ContainerService/managedClusters/trench-aks-cluster-dev";

#[tokio::test]
async fn lifecycle_pools_drift_import_destroy() {
    let sim = Sim::start(&[]);
    let pools = r#"  node_pools = {
    user = { vm_size = "Standard_D4s_v5", min_count = 1, max_count = 3, labels = { workload = "apps" } }
  }"#;
    let ws = workspace(&sim, &format!("{}{}", net(""), cluster(pools)));
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(ws.output_json("oidc").as_str().unwrap().starts_with("https://westeurope.oic.prod-aks.azure.com/"));
    assert!(ws.plan_is_empty(), "plan after create");

    // In place: a fixed-size infra pool with a taint, the system pool scaled, the user pool's range.
    let pools2 = r#"  system_pool = { node_count = 3 }
  node_pools = {
    user  = { vm_size = "Standard_D4s_v5", min_count = 2, max_count = 5, labels = { workload = "apps" } }
    infra = { vm_size = "Standard_D2s_v5", node_count = 2, taints = ["workload=infra:NoSchedule"] }
  }"#;
    ws.write("main.tf", &format!("{}{}", net(""), cluster(pools2)));
    let r = ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(r.stdout.contains("0 added, 1 changed, 0 destroyed"), "{}", r.stdout);
    assert!(ws.plan_is_empty(), "plan after pool changes");

    // Drift: the infra pool scaled by hand, a tag changed on the cluster.
    sim.admin(reqwest::Method::PATCH, &format!("resources{CLUSTER}/agentPools/infra"), Some(json!({"properties": {"count": 5}}))).await;
    sim.admin(reqwest::Method::PATCH, &format!("resources{CLUSTER}"), Some(json!({"tags": {"owner": "someone"}}))).await;
    let plan = ws.tf(&["plan", "-input=false"]).ok().stdout;
    assert!(plan.contains("node_count = 5 -> 2"), "pool scaled out of band shows:\n{plan}");
    assert!(plan.contains("tags differ"), "{plan}");
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(ws.plan_is_empty(), "plan after repair");

    let before = ws.tf(&["state", "show", "trench_private_aks.main"]).ok().stdout;
    ws.tf(&["state", "rm", "trench_private_aks.main"]).ok();
    ws.tf(&["import", "-input=false", "trench_private_aks.main", CLUSTER]).ok();
    let after = ws.tf(&["state", "show", "trench_private_aks.main"]).ok().stdout;
    // firewall_policy_id is a plan-time check input Azure does not record.
    let strip = |s: &str| s.lines().filter(|l| !l.contains("firewall_policy_id")).collect::<Vec<_>>().join("\n");
    assert_eq!(strip(&before), strip(&after), "import reproduces the cluster");
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(ws.plan_is_empty());

    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    let left = sim.resources().await;
    assert!(left.is_empty(), "{:?}", left.iter().map(|r| r["id"].clone()).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_missing_egress_path_fails_at_plan_naming_what_is_missing() {
    let sim = Sim::start(&[]);
    // The spoke without its route table association, applied first.
    let ws = workspace(&sim, &net("route_table_subnets = []"));
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    ws.write("main.tf", &format!("{}{}", net("route_table_subnets = []"), cluster("")));
    sim.admin(reqwest::Method::DELETE, "journal", None).await;
    let r = ws.tf(&["plan", "-input=false"]);
    assert_ne!(r.code, 0);
    let out = squash(&r.all());
    assert!(out.contains("Egress path not ready for a userDefinedRouting cluster"), "{out}");
    assert!(out.contains("has no route table"), "{out}");
    assert!(out.contains("subnet_id = trench_spoke.aks.subnet_ids[\"aks-nodes\"]"), "points at the attribute: {out}");
    let writes: Vec<_> =
        sim.journal().await.into_iter().filter(|e| e["method"] != "GET" && !e["path"].as_str().unwrap_or("").contains("oauth2")).collect();
    assert!(writes.is_empty(), "no ARM write: {writes:?}");
    // Fix the spoke first (the plan cannot see another resource's pending
    // change), then the cluster goes through.
    ws.write("main.tf", &net(""));
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    ws.write("main.tf", &format!("{}{}", net(""), cluster("")));
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(ws.plan_is_empty());
    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
}

#[tokio::test]
async fn replacing_the_cluster_is_refused_unless_allowed() {
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, &format!("{}{}", net(""), cluster("")));
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    ws.write(
        "main.tf",
        &format!(
            "{}{}",
            net(""),
            cluster(
                r#"  service_cidr = "172.20.0.0/16"
  dns_service_ip = "172.20.0.10""#
            )
        ),
    );
    let r = ws.tf(&["plan", "-input=false"]);
    assert_ne!(r.code, 0);
    let out = squash(&r.all());
    assert!(out.contains("Changing service_cidr replaces the cluster (refused)"), "{out}");
    assert!(out.contains("allow_replacement = true"), "{out}");
    ws.write(
        "main.tf",
        &format!(
            "{}{}",
            net(""),
            cluster(
                r#"  service_cidr = "172.20.0.0/16"
  dns_service_ip = "172.20.0.10"
  allow_replacement = true"#
            )
        ),
    );
    let plan = ws.tf(&["plan", "-input=false"]).ok().stdout;
    assert!(plan.contains("must be replaced"), "{plan}");
}

#[tokio::test]
async fn bad_inputs_are_rejected_at_plan_naming_the_attribute_with_no_arm_write() {
    let corpus = trench_e2e::corpus::load();
    let cases: Vec<_> = corpus.case.iter().filter(|c| c.base.as_deref() == Some("aks")).collect();
    assert!(cases.len() >= 10, "the cluster table has {} cases", cases.len());
    let sim = Sim::start(&[]);
    let ws = workspace(&sim, &net(""));
    sim.admin(reqwest::Method::DELETE, "journal", None).await;
    for c in cases {
        trench_e2e::corpus::check(&ws, &corpus, c).unwrap_or_else(|e| panic!("{e}"));
    }
    let writes: Vec<_> =
        sim.journal().await.into_iter().filter(|e| e["method"] != "GET" && !e["path"].as_str().unwrap_or("").contains("oauth2")).collect();
    assert!(writes.is_empty(), "no ARM write: {writes:?}");
}

#[tokio::test]
async fn a_strangers_cluster_mid_update_is_refused_at_once_not_after_its_update() {
    let sim = Sim::start(&[]);
    let mut ws = workspace(&sim, &format!("{}{}", net(""), cluster("")));
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    // As if the cluster had been made by hand: not in state, no owner tag.
    ws.tf(&["state", "rm", "trench_private_aks.main"]).ok();
    let got = sim.admin(reqwest::Method::GET, &format!("resources{CLUSTER}"), None).await;
    let mut tags = got["body"]["tags"].clone();
    tags.as_object_mut().unwrap().remove("trench-owner");
    sim.admin(reqwest::Method::PATCH, &format!("resources{CLUSTER}"), Some(json!({"tags": null}))).await;
    sim.admin(reqwest::Method::PATCH, &format!("resources{CLUSTER}"), Some(json!({"tags": tags}))).await;

    // Its owner starts an update that runs for minutes (AKS's 300 s at 1/2).
    let sim = sim.restart(&["--time-scale", "0.5"]);
    ws.env = sim.provider_env();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(sim.ca_file()).unwrap()).unwrap();
    let http = reqwest::Client::builder().tls_certs_merge([ca]).build().unwrap();
    let url = format!("{}{CLUSTER}?api-version=2026-04-01", sim.endpoint);
    let token = sim.token().await;
    let mut body: serde_json::Value = http.get(&url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    body["tags"]["purpose"] = json!("their own");
    let put = http.put(&url).bearer_auth(&token).json(&body).send().await.unwrap();
    assert!(put.status().is_success(), "{}", put.text().await.unwrap());

    let r = ws.tf(&["apply", "-auto-approve", "-input=false"]);
    assert_ne!(r.code, 0, "the cluster must not be adopted");
    let out = squash(&r.all());
    assert!(out.contains("trench-aks-cluster-dev") && out.contains("already exists") && out.contains("terraform import"), "{out}");
    let now = sim.admin(reqwest::Method::GET, &format!("resources{CLUSTER}"), None).await;
    assert_eq!(
        now["body"]["properties"]["provisioningState"], "Updating",
        "refused while their update still runs, without waiting it out: {}",
        now["body"]["properties"]["provisioningState"]
    );
    assert_eq!(now["body"]["tags"]["purpose"], "their own", "their change is untouched");
}

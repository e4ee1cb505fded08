//! The provider core under the real terraform CLI: offline init from the
//! implied local mirror, validate/plan/apply of the conventions data source
//! and functions, an empty second plan, and bad input rejected with the
//! attribute named.

use trench_e2e::terraform::Workspace;

const REQUIRED: &str = r#"
terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}
"#;

fn config(body: &str) -> String {
    format!("{REQUIRED}\n{body}\n")
}

const ISSUE_EXAMPLE: &str = r#"
provider "trench" {}

data "trench_conventions" "dev" {
  environment = "dev"
}

output "names" { value = data.trench_conventions.dev.names }
output "tags" { value = data.trench_conventions.dev.tags }
output "checks" { value = data.trench_conventions.dev.name_checks }
output "acr" { value = provider::trench::compact_name("core", "acr", "dev") }
output "vnet" { value = provider::trench::name("core", "vnet", "dev") }
"#;

#[test]
fn init_installs_from_the_implied_local_mirror_and_writes_the_lock_file() {
    let ws = Workspace::new(&config(ISSUE_EXAMPLE));
    let r = ws.tf(&["init", "-input=false"]).ok();
    assert!(r.stdout.contains("Installed trench-lab/trench v0.1.0"), "{}", r.stdout);
    let lock = ws.read(".terraform.lock.hcl");
    assert!(lock.contains("registry.terraform.io/trench-lab/trench") && lock.contains("h1:"), "{lock}");
    ws.tf(&["validate"]).ok();
}

#[test]
fn apply_prints_the_estates_names_and_tags_and_the_next_plan_is_empty() {
    let ws = Workspace::new(&config(ISSUE_EXAMPLE));
    ws.init_apply().ok();
    assert_eq!(ws.output_json("acr"), "trenchacrcoredev");
    assert_eq!(ws.output_json("vnet"), "trench-core-vnet-dev");
    let names = ws.output_json("names");
    for (k, v) in [
        ("core_resource_group", "rg-trench-core-dev"),
        ("aks_resource_group", "rg-trench-aks-dev"),
        ("data_resource_group", "rg-trench-data-dev"),
        ("hub_vnet", "trench-core-vnet-dev"),
        ("spoke_vnet", "trench-aks-vnet-dev"),
        ("route_table", "rt-aks-nodes-dev"),
        ("container_registry", "trenchacrcoredev"),
        ("key_vault", "trench-core-kv-dev"),
    ] {
        assert_eq!(names[k], v, "{k}");
    }
    let tags = ws.output_json("tags");
    assert_eq!(
        tags,
        serde_json::json!({"owner": "platform-team", "environment": "dev", "cost-center": "trench", "purpose": "hub-spoke-estate"})
    );
    let checks = ws.output_json("checks");
    assert!(checks.as_object().unwrap().values().all(|c| c["valid"] == true), "{checks}");
    assert_eq!(checks["key_vault"]["resource_type"], "Microsoft.KeyVault/vaults");
    assert!(ws.plan_is_empty(), "second plan must be empty");
}

#[test]
fn provider_default_tags_fill_in_the_conventional_tags() {
    let ws = Workspace::new(&config(
        r#"
provider "trench" {
  default_tags = { owner = "team-net", "cost-center" = "cc-42", extra = "x" }
}
data "trench_conventions" "prod" {
  environment = "prod"
  purpose     = "platform"
}
output "tags" { value = data.trench_conventions.prod.tags }
"#,
    ));
    ws.init_apply().ok();
    assert_eq!(
        ws.output_json("tags"),
        serde_json::json!({"owner": "team-net", "environment": "prod", "cost-center": "cc-42", "purpose": "platform", "extra": "x"})
    );
}

/// One bad input and what terraform must say about it.

#[test]
fn bad_inputs_are_rejected_with_the_attribute_named() {
    // The corpus cases that are whole configurations: provider blocks, data sources and functions.
    let corpus = trench_e2e::corpus::load();
    let cases: Vec<_> = corpus.case.iter().filter(|c| c.base.is_none()).collect();
    assert!(cases.len() >= 9, "{} cases", cases.len());
    let ws = Workspace::new(&config(""));
    ws.tf(&["init", "-input=false"]).ok();
    for c in cases {
        trench_e2e::corpus::check(&ws, &corpus, c).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn bad_environment_variables_are_rejected_naming_the_variable() {
    let mut ws = Workspace::new(&config("provider \"trench\" {}\ndata \"trench_conventions\" \"x\" { environment = \"dev\" }"));
    ws.env.push(("ARM_TENANT_ID".into(), "contoso".into()));
    ws.tf(&["init", "-input=false"]).ok();
    let out = ws.tf(&["plan", "-input=false"]).failed().all();
    assert!(out.contains("Invalid tenant_id") && out.contains("environment variable ARM_TENANT_ID"), "{out}");
}

#[test]
fn secrets_never_reach_the_provider_log() {
    let mut ws = Workspace::new(&config(
        "provider \"trench\" { client_secret = \"s3cr3t-from-config\" }\ndata \"trench_conventions\" \"x\" { environment = \"dev\" }",
    ));
    ws.env.push(("ARM_OIDC_TOKEN".into(), "s3cr3t-from-env".into()));
    ws.env.push(("TF_LOG_PROVIDER".into(), "trace".into()));
    ws.env.push(("TF_LOG_PATH".into(), ws.path("tf.log").display().to_string()));
    ws.init_apply().ok();
    let log = ws.read("tf.log");
    assert!(log.contains("provider configured"), "the provider logged at trace");
    assert!(!log.contains("s3cr3t-from-config") && !log.contains("s3cr3t-from-env"));
}

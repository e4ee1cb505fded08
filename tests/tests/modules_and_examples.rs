//! The Terraform that operators and module consumers touch: `terraform
//! test` in every module (mock provider, no Azure, no simulator), and every
//! example applied against armsim with the real terraform, an empty plan
//! after it, and a destroy that leaves the simulator empty.

use trench_e2e::sim::Sim;
use trench_e2e::terraform::Workspace;

fn modules() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(trench_e2e::repo_root().join("modules"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("tests").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn terraform_test_passes_in_every_module() {
    let ms = modules();
    assert!(ms.contains(&"estate".to_owned()) && ms.contains(&"spoke".to_owned()), "{ms:?}");
    for m in ms {
        let ws = Workspace::from_repo(&["modules"], &format!("modules/{m}"));
        ws.tf(&["init", "-input=false", "-backend=false"]).ok();
        let r = ws.tf(&["test"]).ok();
        assert!(r.stdout.contains("0 failed"), "modules/{m}:\n{}", r.stdout);
        assert!(!r.stdout.contains(" 0 passed"), "modules/{m} ran no test:\n{}", r.stdout);
    }
}

#[test]
fn modules_and_examples_are_fmt_and_validate_clean() {
    let ws = Workspace::from_repo(&["modules", "examples", "env"], "");
    let r = ws.tf(&["fmt", "-check", "-recursive", "-diff"]);
    assert_eq!(r.code, 0, "terraform fmt would change:\n{}", r.all());
    for dir in [
        "modules/estate",
        "modules/spoke",
        "examples/hub-only",
        "examples/hub-and-spoke",
        "examples/full-estate",
        "examples/spoke-from-another-repo",
        "env/dev",
        "env/prod",
    ] {
        let ws = Workspace::from_repo(&["modules", "examples", "env"], dir);
        ws.tf(&["init", "-input=false", "-backend=false"]).ok();
        ws.tf(&["validate"]).ok();
    }
}

fn apply_plan(ws: &Workspace, what: &str) {
    ws.tf(&["init", "-input=false"]).ok();
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(ws.plan_is_empty(), "{what}: plan after apply");
}

async fn assert_empty(sim: &Sim, what: &str) {
    let left = sim.resources().await;
    assert!(left.is_empty(), "{what}: {:?}", left.iter().map(|r| r["id"].clone()).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_hub_only_and_hub_and_spoke_examples_apply_and_destroy() {
    for ex in ["hub-only", "hub-and-spoke"] {
        let sim = Sim::start(&[]);
        let mut ws = Workspace::from_repo(&["modules", &format!("examples/{ex}")], &format!("examples/{ex}"));
        ws.env = sim.provider_env();
        apply_plan(&ws, ex);
        ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
        assert_empty(&sim, ex).await;
    }
}

#[tokio::test]
async fn the_full_estate_and_a_spoke_from_another_repo_apply_and_destroy() {
    let sim = Sim::start(&[]);
    let mut estate = Workspace::from_repo(&["modules", "examples/full-estate"], "examples/full-estate");
    estate.env = sim.provider_env();
    estate.env.push(("TF_VAR_postgresql_administrator_password".into(), "Example-Passw0rd!".into()));
    apply_plan(&estate, "full-estate");
    // Another repository attaches a spoke to that hub through the data source.
    let mut other = Workspace::from_repo(&["modules", "examples/spoke-from-another-repo"], "examples/spoke-from-another-repo");
    other.env = sim.provider_env();
    apply_plan(&other, "spoke-from-another-repo");
    other.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    estate.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    assert_empty(&sim, "full-estate").await;
}

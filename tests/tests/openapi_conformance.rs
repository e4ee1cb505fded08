//! Every request the provider sends and every answer armsim gives, held to Microsoft's OpenAPI
//! specifications: the full estate is created, updated, planned with no change and destroyed
//! through the real terraform, then `tests/openapi/validate.py` checks armsim's journal against
//! the spec files vendored under `tests/openapi/specs/` (path template and api-version, request
//! body schema, no read-only property sent, response status and schema). Known spec quirks are
//! listed, each with why, in `tests/openapi/exceptions.json` (and in armsim/PARITY.md).

use std::process::Command;

use trench_e2e::repo_root;
use trench_e2e::sim::Sim;
use trench_e2e::terraform::Workspace;

#[tokio::test]
async fn the_estate_s_requests_and_armsim_s_answers_validate_against_microsoft_s_specs() {
    let python =
        std::env::var("TRENCH_SDK_PYTHON").unwrap_or_else(|_| repo_root().join(".trench/ci-venv/bin/python").display().to_string());
    assert!(std::path::Path::new(&python).exists(), "{python} is missing: `make tools` installs the venv (make test does)");
    let sim = Sim::start(&["--journal-body-mb", "256", "--journal-capacity", "100000"]);
    let mut ws = Workspace::from_repo(&["modules", "examples/full-estate"], "examples/full-estate");
    ws.env = sim.provider_env();
    ws.env.push(("TF_VAR_postgresql_administrator_password".into(), "Example-Passw0rd!".into()));
    ws.tf(&["init", "-input=false"]).ok();
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    // An update that reaches several composites: the admins' networks.
    ws.env.push(("TF_VAR_admin_cidrs".into(), r#"["203.0.113.0/24","198.51.100.0/24"]"#.into()));
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(ws.plan_is_empty(), "the plan after the update");
    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();

    let journal = sim.journal().await;
    assert!(journal.iter().all(|e| e["bodies_dropped"] != true), "the journal kept every body");
    // Kept under target/ so a violation can be re-checked with validate.py alone.
    let dir = repo_root().join("target/openapi-conformance");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("journal.json");
    std::fs::write(&file, serde_json::to_vec(&journal).unwrap()).unwrap();
    let openapi = repo_root().join("tests/openapi");
    let out = Command::new(&python)
        .arg(openapi.join("validate.py"))
        .arg(openapi.join("specs"))
        .arg(&file)
        .arg(openapi.join("exceptions.json"))
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "violations of Microsoft's specs (journal: {}):\n{report}", file.display());
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("a JSON summary line");
    // The run must validate something real: every vendored spec is exercised by the estate's requests,
    // so a spec file that stops matching (a path template or api-version drifts) fails here.
    for (spec, n) in summary["by_spec"].as_object().expect("by_spec") {
        assert!(n.as_u64().unwrap() > 0, "no journaled request was validated against {spec}:\n{report}");
    }
    assert!(summary["request_bodies"].as_u64().unwrap() > 0 && summary["response_bodies"].as_u64().unwrap() > 0, "{report}");
    println!("{summary}");
}

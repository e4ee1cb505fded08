//! armsim as Microsoft's own client sees it: `tests/sdk/conformance.py` drives a fresh simulator
//! with the Azure management SDKs for Python (model classes, the SDK's own LRO polling and error
//! parsing, each client at the api-version trench pins), through create, get, list and delete of
//! every resource type the estate uses and the in-use refusals. `make tools` installs the SDKs
//! (tests/sdk/requirements.txt) into `.trench/ci-venv`; `make test` points TRENCH_SDK_PYTHON at it.

use std::collections::BTreeSet;
use std::process::Command;

use trench_e2e::repo_root;
use trench_e2e::sim::Sim;

/// The resource types of `arm/src/api_versions.rs`.
fn pinned_types() -> BTreeSet<String> {
    let table = std::fs::read_to_string(repo_root().join("arm/src/api_versions.rs")).unwrap();
    table.lines().filter_map(|l| l.trim().strip_prefix("(\"")?.split('"').next().map(str::to_owned)).filter(|t| t.contains('/')).collect()
}

#[test]
fn the_azure_sdk_for_python_drives_every_estate_type_through_armsim() {
    let python =
        std::env::var("TRENCH_SDK_PYTHON").unwrap_or_else(|_| repo_root().join(".trench/ci-venv/bin/python").display().to_string());
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} is missing: `make tools` installs the Azure SDKs into .trench/ci-venv (make test does)"
    );
    let sim = Sim::start(&[]);
    let out = Command::new(&python)
        .arg(repo_root().join("tests/sdk/conformance.py"))
        .env("ARMSIM_INFO", sim.dir.path().join("armsim.json"))
        .env("TRENCH_API_VERSIONS", repo_root().join("arm/src/api_versions.rs"))
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the SDK run failed:\n{report}");
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("a JSON summary line");
    let driven: BTreeSet<String> = summary["types"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect();
    let missing: Vec<String> = pinned_types().into_iter().filter(|t| !driven.contains(t)).collect();
    assert!(missing.is_empty(), "pinned types the SDK never drove: {missing:?}\n{report}");
    let refusals: BTreeSet<&str> = summary["refusals"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    for code in [
        "InUseRouteTableCannotBeDeleted",
        "InUseNetworkSecurityGroupCannotBeDeleted",
        "PublicIPAddressCannotBeDeleted",
        "InUseSubnetCannotBeDeleted",
        "NicInUse",
        "CannotDeleteResource",
    ] {
        assert!(refusals.contains(code), "the SDK saw no {code} refusal:\n{report}");
    }
    assert!(summary["operations"].as_u64().unwrap() >= 150, "{summary}");
}

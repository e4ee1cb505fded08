//! What other repositories consume: registry-format docs that are current
//! with the provider's schema, every registry example applied for real
//! against armsim, a release layout that `terraform init` accepts from a
//! filesystem mirror, and workflow files a real validator accepts.

use std::path::Path;
use std::process::Command;

use trench_e2e::sim::Sim;
use trench_e2e::terraform::{Workspace, platform};
use trench_e2e::{PROVIDER_VERSION, bin, repo_root};

fn sha256_hex(b: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b).as_ref().iter().map(|x| format!("{x:02x}")).collect()
}

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(bin("trench-xtask")).args(args).current_dir(repo_root()).output().expect("trench-xtask")
}

#[test]
fn docs_are_current_with_the_schema_and_examples() {
    let provider = bin("terraform-provider-trench");
    let out = xtask(&["docs", "--check", "--binary", provider.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for page in [
        "index.md",
        "resources/hub.md",
        "resources/spoke.md",
        "resources/private_aks.md",
        "resources/paas_bundle.md",
        "resources/workload_identity.md",
        "data-sources/hub.md",
        "data-sources/conventions.md",
        "functions/name.md",
        "functions/compact_name.md",
    ] {
        let text = std::fs::read_to_string(repo_root().join("docs").join(page)).unwrap();
        assert!(text.contains("## Example Usage\n\n```terraform\n"), "{page} has its example");
    }
}

#[test]
fn a_stale_page_is_named() {
    let root = tempfile::tempdir().unwrap();
    for d in ["docs", "examples"] {
        copy(&repo_root().join(d), &root.path().join(d));
    }
    std::fs::write(root.path().join("docs/resources/hub.md"), "edited\n").unwrap();
    let provider = bin("terraform-provider-trench");
    let out = xtask(&["docs", "--check", "--binary", provider.to_str().unwrap(), "--root", root.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("docs/resources/hub.md"), "{}", String::from_utf8_lossy(&out.stderr));
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().filter_map(Result::ok) {
        if e.path().is_dir() {
            copy(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn apply_example(sim: &Sim, rel: &str, file: &str) -> Workspace {
    let text = std::fs::read_to_string(repo_root().join(rel).join(file)).unwrap();
    let mut ws = Workspace::new(&text);
    ws.env = sim.provider_env();
    ws.env.push(("TF_VAR_postgresql_administrator_password".into(), "Example-Passw0rd!".into()));
    ws.tf(&["init", "-input=false"]).ok();
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    assert!(ws.plan_is_empty(), "{rel}: plan after apply");
    ws
}

#[tokio::test]
async fn every_registry_example_applies_against_armsim() {
    for r in ["trench_hub", "trench_spoke", "trench_private_aks", "trench_paas_bundle", "trench_workload_identity"] {
        let sim = Sim::start(&[]);
        let ws = apply_example(&sim, &format!("examples/resources/{r}"), "resource.tf");
        // The import example names the id the example created.
        let import = std::fs::read_to_string(repo_root().join(format!("examples/resources/{r}/import.sh"))).unwrap();
        let line = import.lines().find(|l| l.starts_with("terraform import ")).unwrap();
        let (addr, id) = line.trim_start_matches("terraform import ").split_once(' ').unwrap();
        let before = ws.tf(&["state", "show", addr]).ok().stdout;
        ws.tf(&["state", "rm", addr]).ok();
        ws.tf(&["import", "-input=false", addr, id]).ok();
        let after = ws.tf(&["state", "show", addr]).ok().stdout;
        // Inputs Azure does not record (the plan-time policy check, the password version) are the
        // documented exceptions; alignment follows the longest name shown, so spaces are squashed.
        let comparable = |s: &str| {
            s.lines()
                .filter(|l| !l.contains("firewall_policy_id") && !l.contains("_wo_version"))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(comparable(&before), comparable(&after), "{r}: the documented import reproduces the state");
        ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
        assert!(sim.resources().await.is_empty(), "{r}: destroy leaves armsim empty");
    }
    // The data source finds a hub another configuration made; the conventions and functions need no Azure.
    let sim = Sim::start(&[]);
    let hub = apply_example(&sim, "examples/resources/trench_hub", "resource.tf");
    let ds = apply_example(&sim, "examples/data-sources/trench_hub", "data-source.tf");
    assert_eq!(ds.output_json("firewall_private_ip"), hub.output_json("firewall_private_ip"));
    let conv = apply_example(&sim, "examples/data-sources/trench_conventions", "data-source.tf");
    assert_eq!(conv.output_json("key_vault_name"), "trench-core-kv-dev");
    assert_eq!(apply_example(&sim, "examples/functions/name", "function.tf").output_json("vnet_name"), "trench-core-vnet-dev");
    assert_eq!(apply_example(&sim, "examples/functions/compact_name", "function.tf").output_json("acr_name"), "trenchacrcoredev");
    let provider = apply_example(&sim, "examples/provider", "provider.tf");
    drop(provider);
    hub.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
}

#[test]
fn the_release_layout_installs_from_a_filesystem_mirror_with_matching_checksums() {
    let dist = tempfile::tempdir().unwrap();
    let mirror = tempfile::tempdir().unwrap();
    let (os, arch) = platform().split_once('_').map(|(a, b)| (a.to_owned(), b.to_owned())).unwrap();
    let d = dist.path().to_str().unwrap();
    let provider = bin("terraform-provider-trench");
    for args in [
        vec!["package", "--binary", provider.to_str().unwrap(), "--version", PROVIDER_VERSION, "--os", &os, "--arch", &arch, "--out", d],
        vec!["checksums", "--dir", d, "--version", PROVIDER_VERSION],
        vec!["mirror", "--dir", d, "--out", mirror.path().to_str().unwrap(), "--version", PROVIDER_VERSION],
    ] {
        let out = xtask(&args);
        assert!(out.status.success(), "xtask {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let zip = format!("terraform-provider-trench_{PROVIDER_VERSION}_{os}_{arch}.zip");
    let sums = std::fs::read_to_string(dist.path().join(format!("terraform-provider-trench_{PROVIDER_VERSION}_SHA256SUMS"))).unwrap();
    let zip_sum =
        sums.lines().find(|l| l.ends_with(&zip)).and_then(|l| l.split_whitespace().next()).expect("the zip is in SHA256SUMS").to_owned();
    assert_eq!(zip_sum, sha256_hex(&std::fs::read(dist.path().join(&zip)).unwrap()), "SHA256SUMS is the zip's checksum");
    let manifest =
        std::fs::read_to_string(dist.path().join(format!("terraform-provider-trench_{PROVIDER_VERSION}_manifest.json"))).unwrap();
    assert!(manifest.contains("\"6.0\""), "protocol 6 in the manifest: {manifest}");
    assert!(sums.contains("_manifest.json"), "the manifest is checksummed too");

    // A workspace whose CLI config only knows the mirror (no implied local mirror, no registry).
    let ws = Workspace::new("terraform {\n  required_providers {\n    trench = { source = \"trench-lab/trench\" }\n  }\n}\n");
    std::fs::remove_dir_all(ws.home().join(".terraform.d")).unwrap();
    let rc = ws.home().join("mirror.tfrc");
    std::fs::write(
        &rc,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/trench-lab/trench\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/trench-lab/trench\"]\n  }}\n}}\n",
            mirror.path().display()
        ),
    )
    .unwrap();
    let mut ws = ws;
    ws.env.push(("TF_CLI_CONFIG_FILE".into(), rc.display().to_string()));
    ws.tf(&["init", "-input=false"]).ok();
    // What terraform unpacked is the binary we built, under the name it expects.
    let installed = ws
        .dir()
        .join(".terraform/providers/registry.terraform.io/trench-lab/trench")
        .join(PROVIDER_VERSION)
        .join(platform())
        .join(format!("terraform-provider-trench_v{PROVIDER_VERSION}"));
    assert_eq!(std::fs::read(&installed).unwrap(), std::fs::read(&provider).unwrap(), "{} is the built provider", installed.display());
    let lock = ws.read(".terraform.lock.hcl");
    assert!(lock.contains("version = \"0.1.0\"") && lock.contains("\"h1:"), "the lock file records the mirrored version:\n{lock}");
    ws.tf(&["validate"]).ok();
}

#[test]
fn the_workflows_pass_a_real_workflow_validator() {
    let validator = std::env::var("TRENCH_WORKFLOW_VALIDATOR").unwrap_or_else(|_| "check-jsonschema".into());
    let files: Vec<String> = std::fs::read_dir(repo_root().join(".github/workflows"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".yml"))
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    let out = Command::new(&validator)
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("{validator}: {e}; .ci/run installs it (pip install check-jsonschema)"));
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // And it does reject a broken one.
    let bad = tempfile::tempdir().unwrap();
    let f = bad.path().join("bad.yml");
    std::fs::write(&f, "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stepz: []\n").unwrap();
    let out = Command::new(&validator).args(["--builtin-schema", "vendor.github-workflows"]).arg(&f).output().unwrap();
    assert!(!out.status.success(), "the validator must catch a misspelt key");
}

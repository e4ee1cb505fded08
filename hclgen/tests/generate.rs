//! hclgen against fixtures and the real terraform: snapshots of every
//! generated file for fixture estates (dev, prod, three spokes, a minimal
//! one, rules and pools), generated HCL byte-identical to `terraform fmt`,
//! `check` on the committed environments, `new`, and a table of bad
//! estate.toml files each refused with the key named.

use std::path::{Path, PathBuf};
use std::process::Command;

use hclgen::{estate, generate, module, resolve};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn interface() -> module::Interface {
    module::read(&repo().join("modules/estate")).unwrap()
}

fn files_of(name: &str, text: &str) -> Vec<generate::File> {
    let file = estate::parse(name, text).unwrap_or_else(|p| panic!("{name}: {p}"));
    let e = resolve::resolve(name, &file).unwrap_or_else(|p| panic!("{name}: {p}"));
    generate::overlay(&e, &interface()).unwrap()
}

fn all(files: &[generate::File]) -> String {
    files.iter().map(|f| format!("==> {} <==\n{}", f.name, f.content)).collect::<Vec<_>>().join("\n")
}

fn fixtures() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(repo().join("hclgen/tests/fixtures"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    for env in ["dev", "prod"] {
        let p = repo().join(format!("env/{env}/estate.toml"));
        v.push((format!("env-{env}"), std::fs::read_to_string(p).unwrap()));
    }
    v.sort();
    v
}

#[test]
fn fixture_estates_generate_the_snapshotted_overlays() {
    for (name, text) in fixtures() {
        insta::assert_snapshot!(name.clone(), all(&files_of(&name, &text)));
    }
}

fn terraform_fmt(text: &str) -> String {
    let mut child = Command::new("terraform")
        .args(["fmt", "-"])
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("terraform on PATH");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "terraform fmt refused the text:\n{text}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn generated_hcl_is_byte_identical_to_what_terraform_fmt_writes() {
    for (name, text) in fixtures() {
        for f in files_of(&name, &text).iter().filter(|f| f.name.ends_with(".tf") || f.name.ends_with(".tfvars")) {
            assert_eq!(terraform_fmt(&f.content), f.content, "{name}/{}: terraform fmt would change it", f.name);
        }
    }
}

#[test]
fn generating_twice_gives_the_same_bytes() {
    for (name, text) in fixtures() {
        assert_eq!(all(&files_of(&name, &text)), all(&files_of(&name, &text)), "{name}");
    }
}

fn hclgen(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trench-hclgen")).arg("--root").arg(root).args(args).output().unwrap()
}

#[test]
fn the_committed_environments_and_module_readmes_are_current() {
    let out = hclgen(&repo(), &["check"]);
    assert!(out.status.success(), "trench-hclgen check:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// A scratch repository: the modules and env/dev copied in.
fn scratch() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for m in hclgen::MODULES {
        let dst = t.path().join("modules").join(m);
        std::fs::create_dir_all(&dst).unwrap();
        for e in std::fs::read_dir(repo().join("modules").join(m)).unwrap().filter_map(Result::ok) {
            if e.path().is_file() {
                std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
            }
        }
    }
    std::fs::create_dir_all(t.path().join("env/dev")).unwrap();
    std::fs::copy(repo().join("env/dev/estate.toml"), t.path().join("env/dev/estate.toml")).unwrap();
    t
}

#[test]
fn check_names_each_stale_file_and_generate_makes_it_current() {
    let t = scratch();
    let out = hclgen(t.path(), &["check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for f in ["env/dev/main.tf", "env/dev/terraform.tfvars", "env/dev/README.md"] {
        assert!(err.contains(&format!("stale: {f}")), "{f} named in:\n{err}");
    }
    assert!(hclgen(t.path(), &["generate", "--env", "dev"]).status.success());
    assert!(hclgen(t.path(), &["check"]).status.success());
    std::fs::write(t.path().join("env/dev/main.tf"), "# edited by hand\n").unwrap();
    let err = String::from_utf8_lossy(&hclgen(t.path(), &["check"]).stderr).into_owned();
    assert_eq!(err.lines().collect::<Vec<_>>(), vec!["stale: env/dev/main.tf (run `trench-hclgen generate`)"]);
}

#[test]
fn new_starts_prod_from_dev_with_prod_grade_values_and_refuses_to_overwrite() {
    let t = scratch();
    let out = hclgen(t.path(), &["new", "--env", "prod"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let e = hclgen::load(t.path(), "prod").unwrap();
    assert!(e.paas.key_vault_purge_protection, "purge protection on");
    assert!(!e.paas.acr_admin_enabled, "registry admin user off");
    assert_eq!(e.hub.egress_mode, estate::EgressMode::Strict);
    assert!(e.aks.system_pool.node_count >= 3 && e.aks.node_pools.contains_key("user"), "larger pools");
    assert!(matches!(e.backend, estate::Backend::Azurerm { .. }), "remote state");
    let dev = hclgen::load(t.path(), "dev").unwrap();
    assert_ne!(e.hub.network.address_space, dev.hub.network.address_space, "its own address plan");
    assert_eq!(e.workloads.keys().collect::<Vec<_>>(), dev.workloads.keys().collect::<Vec<_>>());
    assert!(t.path().join("env/prod/main.tf").is_file(), "and generated");
    assert!(hclgen(t.path(), &["check", "--env", "prod"]).status.success());
    let again = hclgen(t.path(), &["new", "--env", "prod"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("env/prod/estate.toml: already exists"));
}

/// (what is wrong, the estate.toml, the key the error must name)
#[derive(serde::Deserialize)]
struct BadEstates {
    case: Vec<BadEstate>,
}

/// One refused estate.toml: what is wrong, the file, the key it must name.
#[derive(serde::Deserialize)]
struct BadEstate {
    name: String,
    estate: String,
    key: String,
}

fn bad_estates() -> Vec<BadEstate> {
    let text = std::fs::read_to_string(repo().join("tests/corpus/bad-estates.toml")).unwrap();
    toml::from_str::<BadEstates>(&text).unwrap().case
}

#[test]
fn bad_estate_files_are_refused_naming_the_key() {
    let cases = bad_estates();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    for BadEstate { name: what, estate: text, key } in &cases {
        let file = "env/dev/estate.toml";
        let problems = match estate::parse(file, text) {
            Err(p) => p,
            Ok(f) => resolve::resolve(file, &f).expect_err(what),
        };
        let shown = problems.to_string();
        assert!(shown.starts_with("env/dev/estate.toml: "), "{what}: names the file: {shown}");
        assert!(shown.contains(key.as_str()), "{what}: expected {key:?} in {shown}");
    }
}

#[test]
fn the_cli_exits_non_zero_with_the_reason() {
    let t = scratch();
    std::fs::write(t.path().join("env/dev/estate.toml"), "environment = \"dev\"\n[hub]\negress_mode = \"open\"\n").unwrap();
    let out = hclgen(t.path(), &["generate", "--env", "dev"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: env/dev/estate.toml: hub.egress_mode: \"open\" is strict"), "{err}");
    let out = hclgen(t.path(), &["generate", "--env", "nope"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("env/nope/estate.toml: cannot read it"));
}

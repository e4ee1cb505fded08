//! `make docs`: provider documentation in the Terraform Registry's layout
//! (`docs/index.md`, `docs/resources/*.md`, `docs/data-sources/*.md`,
//! `docs/functions/*.md`), from the schema the real terraform reads out of
//! the built provider (`terraform providers schema -json`), with each
//! page's example taken from `examples/`. `--check` names stale pages.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

const SOURCE: &str = "registry.terraform.io/trench-lab/trench";

/// The provider's schema as terraform reports it.
fn schema(binary: &Path) -> Result<Json, String> {
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let version = env!("CARGO_PKG_VERSION");
    let platform = format!(
        "{}_{}",
        std::env::consts::OS,
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            a => a,
        }
    );
    let mirror = home.path().join(".terraform.d/plugins").join(SOURCE).join(version).join(platform);
    std::fs::create_dir_all(&mirror).map_err(|e| e.to_string())?;
    std::fs::copy(binary, mirror.join(format!("terraform-provider-trench_v{version}")))
        .map_err(|e| format!("copying {}: {e}", binary.display()))?;
    let work = home.path().join("work");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    std::fs::write(work.join("main.tf"), "terraform {\n  required_providers {\n    trench = { source = \"trench-lab/trench\" }\n  }\n}\n")
        .map_err(|e| e.to_string())?;
    let tf = |args: &[&str]| {
        Command::new("terraform")
            .args(args)
            .current_dir(&work)
            .env("HOME", home.path())
            .env("TF_CLI_CONFIG_FILE", home.path().join("none.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .map_err(|e| format!("running terraform: {e}"))
    };
    std::fs::write(home.path().join("none.tfrc"), "").map_err(|e| e.to_string())?;
    let init = tf(&["init", "-input=false", "-no-color"])?;
    if !init.status.success() {
        return Err(format!("terraform init: {}", String::from_utf8_lossy(&init.stdout)));
    }
    let out = tf(&["providers", "schema", "-json"])?;
    if !out.status.success() {
        return Err(format!("terraform providers schema: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let all: Json = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    all["provider_schemas"].get(SOURCE).cloned().ok_or_else(|| "terraform reported no trench schema".to_owned())
}

fn type_name(t: &Json) -> String {
    match t {
        Json::String(s) => match s.as_str() {
            "string" => "String".into(),
            "number" => "Number".into(),
            "bool" => "Boolean".into(),
            "dynamic" => "Dynamic".into(),
            other => other.into(),
        },
        Json::Array(a) => match (a.first().and_then(Json::as_str), a.get(1)) {
            (Some("list"), Some(e)) => format!("List of {}", type_name(e)),
            (Some("set"), Some(e)) => format!("Set of {}", type_name(e)),
            (Some("map"), Some(e)) => format!("Map of {}", type_name(e)),
            (Some("object"), _) => "Object".into(),
            (Some("tuple"), _) => "Tuple".into(),
            _ => "Dynamic".into(),
        },
        _ => "Dynamic".into(),
    }
}

fn nesting(mode: &str, what: &str) -> String {
    match mode {
        "single" | "group" => what.to_owned(),
        "list" => format!("{what} List"),
        "set" => format!("{what} Set"),
        "map" => format!("{what} Map"),
        other => format!("{what} {other}"),
    }
}

/// One attribute or block as a bullet, queueing nested schemas to write after.
fn bullet(out: &mut String, anchor: &str, name: &str, a: &Json, nested: &mut Vec<(String, String, Json)>) {
    let mut kind = match (a.get("nested_type"), a.get("type")) {
        (Some(n), _) => {
            let id = format!("nestedatt--{anchor}{name}");
            nested.push((id.clone(), format!("{anchor}{name}"), n.clone()));
            format!("{}, see [below for nested schema](#{id})", nesting(n["nesting_mode"].as_str().unwrap_or("single"), "Attributes"))
        }
        (None, Some(t)) => type_name(t),
        (None, None) => "Block".into(),
    };
    if a["sensitive"] == true {
        kind.push_str(", Sensitive");
    }
    if a["write_only"] == true {
        kind.push_str(", [Write-only](https://developer.hashicorp.com/terraform/language/resources/ephemeral#write-only-arguments)");
    }
    if a["deprecated"] == true {
        kind.push_str(", Deprecated");
    }
    let desc = a["description"].as_str().unwrap_or("").trim();
    let _ = writeln!(out, "- `{name}` ({kind}) {desc}");
}

/// The Required / Optional / Read-Only sections of a block, then its
/// nested schemas.
fn block_doc(out: &mut String, anchor: &str, block: &Json) {
    let attrs: BTreeMap<String, Json> = block["attributes"].as_object().map(|m| m.clone().into_iter().collect()).unwrap_or_default();
    let blocks: BTreeMap<String, Json> = block["block_types"].as_object().map(|m| m.clone().into_iter().collect()).unwrap_or_default();
    let mut nested: Vec<(String, String, Json)> = Vec::new();
    let group = |a: &Json| {
        if a["required"] == true {
            0
        } else if a["optional"] == true {
            1
        } else {
            2
        }
    };
    for (g, title) in [(0, "Required"), (1, "Optional"), (2, "Read-Only")] {
        let mut section = String::new();
        for (n, a) in attrs.iter().filter(|(_, a)| group(a) == g) {
            bullet(&mut section, anchor, n, a, &mut nested);
        }
        if g == 1 {
            for (n, b) in &blocks {
                let id = format!("nestedblock--{anchor}{n}");
                let mode = nesting(b["nesting_mode"].as_str().unwrap_or("single"), "Block");
                let desc = b["block"]["description"].as_str().unwrap_or("").trim();
                let _ = writeln!(section, "- `{n}` ({mode}, see [below for nested schema](#{id})) {desc}");
                nested.push((id, format!("{anchor}{n}"), b["block"].clone()));
            }
        }
        if !section.is_empty() {
            let _ = write!(out, "\n### {title}\n\n{section}");
        }
    }
    for (id, path, n) in nested {
        let _ = write!(out, "\n<a id=\"{id}\"></a>\n### Nested Schema for `{path}`\n");
        block_doc(out, &format!("{path}."), &n);
    }
}

fn example(root: &Path, rel: &str, lang: &str) -> Result<String, String> {
    let p = root.join(rel);
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{rel}: {e} (every page needs its example)"))?;
    Ok(format!("```{lang}\n{}\n```\n", text.trim_end()))
}

fn first_sentence(s: &str) -> String {
    let s = s.trim();
    match s.find(". ") {
        Some(i) => s[..=i].to_owned(),
        None => s.to_owned(),
    }
}

fn front(title: &str, description: &str) -> String {
    format!(
        "---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n\n",
        first_sentence(description).replace('\n', " ")
    )
}

fn resource_page(root: &Path, name: &str, kind: &str, s: &Json) -> Result<String, String> {
    let block = &s["block"];
    let desc = block["description"].as_str().unwrap_or("");
    let (label, dir, file) =
        if kind == "resource" { ("Resource", "resources", "resource.tf") } else { ("Data Source", "data-sources", "data-source.tf") };
    let mut out = front(&format!("{name} {label} - trench"), desc);
    let _ = write!(
        out,
        "# {name} ({label})\n\n{desc}\n\n## Example Usage\n\n{}\n## Schema\n",
        example(root, &format!("examples/{dir}/{name}/{file}"), "terraform")?
    );
    block_doc(&mut out, "", block);
    if kind == "resource" {
        let _ = write!(
            out,
            "\n## Import\n\nImport is supported using the following syntax:\n\n{}",
            example(root, &format!("examples/resources/{name}/import.sh"), "shell")?
        );
    }
    Ok(out)
}

fn function_page(root: &Path, name: &str, f: &Json) -> Result<String, String> {
    let summary = f["summary"].as_str().unwrap_or("");
    let mut out = front(&format!("{name} function - trench"), summary);
    let params: Vec<&Json> = f["parameters"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let sig: Vec<String> =
        params.iter().map(|p| format!("{} {}", p["name"].as_str().unwrap_or(""), p["type"].as_str().unwrap_or("dynamic"))).collect();
    let _ = write!(
        out,
        "# function: {name}\n\n{}\n\n## Example Usage\n\n{}\n## Signature\n\n```text\n{name}({}) {}\n```\n\n## Arguments\n\n",
        f["description"].as_str().unwrap_or(""),
        example(root, &format!("examples/functions/{name}/function.tf"), "terraform")?,
        sig.join(", "),
        f["return_type"].as_str().unwrap_or("dynamic")
    );
    for (i, p) in params.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. `{}` ({}) {}",
            i + 1,
            p["name"].as_str().unwrap_or(""),
            type_name(&p["type"]),
            p["description"].as_str().unwrap_or("")
        );
    }
    Ok(out)
}

const AUTH: &str = r#"## Authentication

The provider authenticates like azurerm, trying in this order and reporting every method it tried when none works:

1. **Client secret**: `client_id` + `client_secret` (+ `tenant_id`).
2. **OIDC** (`use_oidc = true`): a token file (`oidc_token_file_path`, or `AZURE_FEDERATED_TOKEN_FILE`), or GitHub Actions' request URL and token (`ARM_OIDC_REQUEST_URL`/`ACTIONS_ID_TOKEN_REQUEST_URL` with `ARM_OIDC_REQUEST_TOKEN`/`ACTIONS_ID_TOKEN_REQUEST_TOKEN`). A fresh assertion is fetched at every token refresh, so applies longer than the assertion's lifetime keep working.
3. **Managed identity** (`use_msi = true`).
4. **Azure CLI** (`use_cli`, on by default): the account of `az login`.

In GitHub Actions, set `ARM_USE_OIDC=true`, `ARM_CLIENT_ID`, `ARM_TENANT_ID` and `ARM_SUBSCRIPTION_ID`, and give the job `permissions: id-token: write`; no secret is needed.

## Environment variables

| Attribute | Environment variable |
|---|---|
| `subscription_id` | `ARM_SUBSCRIPTION_ID` |
| `tenant_id` | `ARM_TENANT_ID` |
| `client_id` | `ARM_CLIENT_ID` |
| `client_secret` | `ARM_CLIENT_SECRET` |
| `use_oidc` | `ARM_USE_OIDC` |
| `oidc_token_file_path` | `ARM_OIDC_TOKEN_FILE_PATH`, `AZURE_FEDERATED_TOKEN_FILE` |
| `use_msi` | `ARM_USE_MSI` |
| `use_cli` | `ARM_USE_CLI` |
| `environment` | `ARM_ENVIRONMENT` (`public`, `usgovernment`, `china`) |
| `arm_endpoint` | `TRENCH_ARM_ENDPOINT` |
| `authority_host` | `TRENCH_AUTHORITY_HOST` |
| `ca_certificate_file` | `TRENCH_CA_CERT_FILE` |

Endpoints must be HTTPS, except on loopback (the local simulator). Secrets are never logged; `TF_LOG_PROVIDER=debug` shows the provider's log.
"#;

fn index(root: &Path, s: &Json) -> Result<String, String> {
    let block = &s["provider"]["block"];
    let mut out = front("trench Provider", "The trench provider runs an Azure hub–spoke estate through a few composite resources.");
    let _ = write!(
        out,
        "# trench Provider\n\nThe trench provider runs an Azure hub–spoke estate with plain Terraform through one composite resource per part of the estate: `trench_hub`, `trench_spoke`, `trench_private_aks`, `trench_paas_bundle` and `trench_workload_identity`. Each owns every Azure Resource Manager object of its part, creates them in the order Azure needs, reads every property back so drift shows in the next plan, and names the reason when a change would replace it.\n\n## Example Usage\n\n{}\n{AUTH}\n## Schema\n",
        example(root, "examples/provider/provider.tf", "terraform")?
    );
    block_doc(&mut out, "", block);
    Ok(out)
}

/// Every page: its path under the root and its content.
fn pages(root: &Path, s: &Json) -> Result<Vec<(PathBuf, String)>, String> {
    let mut out = vec![(root.join("docs/index.md"), index(root, s)?)];
    for (kind, key, dir) in [("resource", "resource_schemas", "resources"), ("data source", "data_source_schemas", "data-sources")] {
        for (name, rs) in s[key].as_object().cloned().unwrap_or_default() {
            let short = name.trim_start_matches("trench_");
            out.push((root.join(format!("docs/{dir}/{short}.md")), resource_page(root, &name, kind, &rs)?));
        }
    }
    for (name, f) in s["functions"].as_object().cloned().unwrap_or_default() {
        out.push((root.join(format!("docs/functions/{name}.md")), function_page(root, &name, &f)?));
    }
    Ok(out)
}

pub fn run(binary: &Path, root: &Path, check: bool) -> Result<(), String> {
    let s = schema(binary)?;
    let pages = pages(root, &s)?;
    // Pages of things the provider no longer offers are stale too.
    let mut known: Vec<PathBuf> = pages.iter().map(|(p, _)| p.clone()).collect();
    known.sort();
    let mut extra = Vec::new();
    for dir in ["docs/resources", "docs/data-sources", "docs/functions"] {
        for e in std::fs::read_dir(root.join(dir)).into_iter().flatten().filter_map(Result::ok) {
            if !known.contains(&e.path()) {
                extra.push(e.path());
            }
        }
    }
    if check {
        let mut stale: Vec<String> = pages
            .iter()
            .filter(|(p, c)| std::fs::read_to_string(p).ok().as_deref() != Some(c.as_str()))
            .map(|(p, _)| p.strip_prefix(root).unwrap_or(p).display().to_string())
            .collect();
        stale.extend(extra.iter().map(|p| format!("{} (no longer in the provider)", p.strip_prefix(root).unwrap_or(p).display())));
        return if stale.is_empty() { Ok(()) } else { Err(format!("docs/ is stale (run make docs): {}", stale.join(", "))) };
    }
    for p in extra {
        std::fs::remove_file(&p).map_err(|e| e.to_string())?;
    }
    for (p, c) in pages {
        std::fs::create_dir_all(p.parent().expect("docs dir")).map_err(|e| e.to_string())?;
        if std::fs::read_to_string(&p).ok().as_deref() != Some(c.as_str()) {
            std::fs::write(&p, c).map_err(|e| e.to_string())?;
            println!("wrote {}", p.strip_prefix(root).unwrap_or(&p).display());
        }
    }
    Ok(())
}

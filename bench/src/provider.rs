//! Provider footprint and start-up: binary size, RSS and latency of
//! handshake + GetProviderSchema, and `terraform validate` with trench
//! against the same configuration without any provider.

use std::time::Instant;

use trench_e2e::plugin::{ClientAuth, ClientIdentity, PluginProcess, connect};
use trench_e2e::terraform::Workspace;

use crate::report::{Figure, at_most, median};

const WITH_TRENCH: &str = r#"
terraform {
  required_providers {
    trench = { source = "trench-lab/trench" }
  }
}
provider "trench" {}
data "trench_conventions" "dev" { environment = "dev" }
output "names" { value = data.trench_conventions.dev.names }
output "acr" { value = provider::trench::compact_name("core", "acr", "dev") }
"#;

// The same shape of configuration with no provider at all: the floor is
// Terraform's own start-up and config loading.
const WITHOUT_PROVIDER: &str = r#"
locals { env = "dev" }
output "names" { value = { hub_vnet = "trench-core-${local.env}-vnet" } }
output "acr" { value = "trenchacrcore${local.env}" }
"#;

pub fn run(runs: usize) -> Vec<Figure> {
    let bin = trench_e2e::bin("terraform-provider-trench");
    let size = std::fs::metadata(&bin).expect("provider binary").len() as f64 / 1e6;
    let mut out = vec![at_most("provider binary size (release, stripped)", size, "MB", 20.0, "azurerm > 230 MB; aws 675 MiB")];

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let id = ClientIdentity::generate();
    let mut latencies = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let p = PluginProcess::spawn(&bin, &id.cert_pem).expect("spawn provider");
        let schema = rt.block_on(async {
            let mut c = connect(&p, ClientAuth::Cert(&id)).await.expect("mTLS connect");
            c.call("/tfplugin6.Provider/GetProviderSchema", &[]).await.expect("schema")
        });
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        assert!(!schema.is_empty());
        rss.push(p.rss_bytes().unwrap_or(0) as f64 / (1024.0 * 1024.0));
    }
    out.push(at_most("provider RSS after handshake + GetProviderSchema", median(rss), "MiB", 25.0, "aws provider ~519 MB measured here"));
    out.push(at_most(
        "handshake + GetProviderSchema (spawn to response)",
        median(latencies),
        "ms",
        20.0,
        "aws provider 113-145 ms measured here",
    ));

    // terraform validate, alternating the two configurations: the small
    // configuration above, and env/dev (the overlay, modules/estate and
    // its five composites) against the same tree with the module's
    // resources and every provider requirement taken out.
    let with = Workspace::new(WITH_TRENCH);
    with.tf(&["init", "-input=false"]).ok();
    let without = Workspace::new(WITHOUT_PROVIDER);
    without.tf(&["init", "-input=false"]).ok();
    let dev = Workspace::from_repo(&["env/dev", "modules"], "env/dev");
    dev.tf(&["init", "-input=false", "-backend=false"]).ok();
    let bare = Workspace::from_repo(&["env/dev", "modules"], "env/dev");
    strip_provider(&bare);
    bare.tf(&["init", "-input=false", "-backend=false"]).ok();
    let mut samples = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..runs {
        for (ws, i) in [(&with, 0), (&without, 1), (&dev, 2), (&bare, 3)] {
            let t = Instant::now();
            ws.tf(&["validate"]).ok();
            samples[i].push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let [a, b, c, d] = samples.map(median);
    let ms = |name: &str, v: f64| Figure {
        name: name.into(),
        value: (v * 10.0).round() / 10.0,
        unit: "ms".into(),
        target: "-".into(),
        anchor: "-".into(),
        pass: None,
    };
    out.push(ms("terraform validate with trench (one data source, two functions)", a));
    out.push(ms("terraform validate, same shape with no provider", b));
    out.push(at_most("terraform validate ratio (trench / no provider)", a / b, "x", 1.3, "do-nothing Rust provider 1.45-1.5x; aws ~50x"));
    out.push(ms("terraform validate on env/dev (overlay, modules/estate, five composites)", c));
    out.push(ms("terraform validate on env/dev with no provider (resources and requirements removed)", d));
    out.push(at_most(
        "terraform validate ratio on env/dev (trench / no provider)",
        c / d,
        "x",
        1.3,
        "do-nothing Rust provider 1.45-1.5x; aws ~50x",
    ));
    out.extend(validate_breakdown(&with));
    out
}

/// env/dev with nothing that needs a provider: the module keeps its
/// variables (with their validation blocks and the role table they read)
/// and its outputs (as nulls) but no resource; the overlay loses its
/// provider and version requirements. The floor: Terraform loading and
/// checking the same overlay with no plugin to start.
fn strip_provider(ws: &Workspace) {
    let module = ws.dir().join("../../modules/estate");
    let main = std::fs::read_to_string(module.join("main.tf")).unwrap();
    let start = main.find("  workload_role_targets = {").expect("the role table in modules/estate/main.tf");
    let end = start + main[start..].find("\n  }\n").expect("its end") + 4;
    std::fs::write(module.join("main.tf"), format!("locals {{\n{}\n}}\n", &main[start..end])).unwrap();
    let _ = std::fs::remove_file(module.join("versions.tf"));
    let _ = std::fs::remove_dir_all(module.join("tests"));
    let outputs = std::fs::read_to_string(module.join("outputs.tf")).unwrap();
    let nulls: Vec<&str> = outputs.lines().map(|l| if l.trim_start().starts_with("value") { "  value       = null" } else { l }).collect();
    std::fs::write(module.join("outputs.tf"), nulls.join("\n") + "\n").unwrap();
    for f in ["versions.tf", "providers.tf"] {
        let _ = std::fs::remove_file(ws.dir().join(f));
    }
}

/// Where the validate overhead goes, read from Terraform's own trace log:
/// how often it starts the provider, and how long go-plugin spends before
/// each start preparing AutoMTLS (generating its P-521 client certificate).
fn validate_breakdown(ws: &Workspace) -> Vec<Figure> {
    let log = ws.path("validate-trace.log");
    let mut cmd = ws.command(&["validate", "-no-color"]);
    cmd.env("TF_LOG", "trace").env("TF_LOG_PATH", &log);
    assert!(cmd.output().unwrap().status.success());
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let stamp = |l: &str| -> Option<f64> {
        // 2026-11-23T03:06:01.643Z
        let t = l.get(11..23)?;
        let mut it = t.split(':');
        let (h, m, s): (f64, f64, f64) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
        Some((h * 3600.0 + m * 60.0 + s) * 1000.0)
    };
    let mut starts = 0;
    let mut prep = Vec::new();
    let mut mtls_at = None;
    for l in text.lines() {
        if l.contains("configuring client automatic mTLS") {
            mtls_at = stamp(l);
        } else if l.contains("provider: starting plugin:") {
            starts += 1;
            if let (Some(a), Some(b)) = (mtls_at.take(), stamp(l)) {
                prep.push(b - a);
            }
        }
    }
    vec![
        Figure {
            name: "provider starts per terraform validate (this config)".into(),
            value: starts as f64,
            unit: "count".into(),
            target: "-".into(),
            anchor: "decided by Terraform".into(),
            pass: None,
        },
        Figure {
            name: "terraform's AutoMTLS prep per provider start".into(),
            value: (median(prep) * 10.0).round() / 10.0,
            unit: "ms".into(),
            target: "-".into(),
            anchor: "go-plugin P-521 client cert; not in the provider".into(),
            pass: None,
        },
    ]
}

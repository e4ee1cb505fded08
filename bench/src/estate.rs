//! The estate under the real terraform against armsim: apply wall time
//! against the critical path of armsim's operation durations, ARM calls of
//! a no-change plan against the objects owned, a refresh of 1 hub + 100
//! spokes against ARM's read limit with throttling on, hclgen for 100
//! environments, and the demo's apply and plan.
//!
//! The critical path is computed from a model of what Azure requires (an
//! endpoint after its target, a firewall after its policy, …) and the
//! durations armsim itself reports at `/_sim/durations`, so it is the
//! limit no scheduler could beat. It is reported twice: with Terraform's
//! graph between composites (a composite starts when every composite it
//! references is done), which is what any provider of these composites
//! faces, and object by object, the floor were every object its own
//! resource.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value as Json;
use trench_e2e::sim::Sim;
use trench_e2e::terraform::Workspace;

use crate::estate_hcl::{HEADER, NETWORK, full, workspace};
use crate::report::{Figure, at_most};

/// Armsim's clock for the apply figures: a firewall takes 18 s, AKS 24 s.
const SCALE: f64 = 0.05;

/// One object: its composite, its ARM type and what Azure needs first.
/// `after` names objects (`h.fw`) or whole composites (`hub`).
struct Node {
    id: &'static str,
    composite: &'static str,
    ty: &'static str,
    after: &'static [&'static str],
}

const fn n(id: &'static str, composite: &'static str, ty: &'static str, after: &'static [&'static str]) -> Node {
    Node { id, composite, ty, after }
}

const RG: &str = "Microsoft.Resources/resourceGroups";
const VNET: &str = "Microsoft.Network/virtualNetworks";

/// The objects the estate creates, with Azure's ordering rules between them.
const ESTATE: &[Node] = &[
    n("h.rg", "hub", RG, &[]),
    n("h.vnet", "hub", VNET, &["h.rg"]),
    n("h.pip", "hub", "Microsoft.Network/publicIPAddresses", &["h.rg"]),
    n("h.policy", "hub", "Microsoft.Network/firewallPolicies", &["h.rg"]),
    // Rules before the firewall: added to a policy in use, they cost a firewall update.
    n("h.rcg", "hub", "Microsoft.Network/firewallPolicies/ruleCollectionGroups", &["h.policy"]),
    n("h.fw", "hub", "Microsoft.Network/azureFirewalls", &["h.vnet", "h.pip", "h.rcg"]),
    n("s.rg", "spoke", RG, &[]),
    n("s.rt", "spoke", "Microsoft.Network/routeTables", &["s.rg", "h.fw"]),
    n("s.vnet", "spoke", VNET, &["s.rt"]),
    n("s.peer_hub", "spoke", "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", &["s.vnet", "h.vnet"]),
    n("s.peer_spoke", "spoke", "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", &["s.vnet", "h.vnet"]),
    n("b.drg", "bundle", RG, &[]),
    n("b.acr", "bundle", "Microsoft.ContainerRegistry/registries", &["h.rg"]),
    n("b.kv", "bundle", "Microsoft.KeyVault/vaults", &["h.rg"]),
    n("b.law", "bundle", "Microsoft.OperationalInsights/workspaces", &["h.rg"]),
    n("b.sa", "bundle", "Microsoft.Storage/storageAccounts", &["h.rg"]),
    n("b.ctr", "bundle", "Microsoft.Storage/storageAccounts/blobServices/containers", &["b.sa"]),
    n("b.sb", "bundle", "Microsoft.ServiceBus/namespaces", &["h.rg"]),
    n("b.q", "bundle", "Microsoft.ServiceBus/namespaces/queues", &["b.sb"]),
    n("b.nrs", "bundle", "Microsoft.ServiceBus/namespaces/networkRuleSets", &["b.sb", "h.fw"]),
    n("b.pg", "bundle", "Microsoft.DBforPostgreSQL/flexibleServers", &["b.drg"]),
    // A flexible server runs one operation at a time.
    n("b.db1", "bundle", "Microsoft.DBforPostgreSQL/flexibleServers/databases", &["b.pg"]),
    n("b.db2", "bundle", "Microsoft.DBforPostgreSQL/flexibleServers/databases", &["b.db1"]),
    n("b.zkv", "bundle", "Microsoft.Network/privateDnsZones", &["h.rg"]),
    n("b.zpg", "bundle", "Microsoft.Network/privateDnsZones", &["h.rg"]),
    n("b.lkv1", "bundle", "Microsoft.Network/privateDnsZones/virtualNetworkLinks", &["b.zkv", "h.vnet"]),
    n("b.lkv2", "bundle", "Microsoft.Network/privateDnsZones/virtualNetworkLinks", &["b.zkv", "s.vnet"]),
    n("b.lpg1", "bundle", "Microsoft.Network/privateDnsZones/virtualNetworkLinks", &["b.zpg", "h.vnet"]),
    n("b.lpg2", "bundle", "Microsoft.Network/privateDnsZones/virtualNetworkLinks", &["b.zpg", "s.vnet"]),
    n("b.pekv", "bundle", "Microsoft.Network/privateEndpoints", &["b.kv", "s.vnet"]),
    n("b.pepg", "bundle", "Microsoft.Network/privateEndpoints", &["b.pg", "s.vnet"]),
    n("b.rkv", "bundle", "Microsoft.Network/privateDnsZones/A", &["b.pekv", "b.lkv1", "b.lkv2"]),
    n("b.rpg", "bundle", "Microsoft.Network/privateDnsZones/A", &["b.pepg", "b.lpg1", "b.lpg2"]),
    // UDR clusters need the route and the egress rules in place.
    n("a.mc", "aks", "Microsoft.ContainerService/managedClusters", &["s.vnet", "s.rt", "h.rcg", "h.fw"]),
    n("a.acrpull", "aks", "Microsoft.Authorization/roleAssignments", &["a.mc", "b.acr"]),
    n("a.diag", "aks", "Microsoft.Insights/diagnosticSettings", &["a.mc", "b.law"]),
    n("i.uai", "identity", "Microsoft.ManagedIdentity/userAssignedIdentities", &["h.rg"]),
    n("i.fic", "identity", "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", &["i.uai", "a.mc"]),
    n("i.ra1", "identity", "Microsoft.Authorization/roleAssignments", &["i.uai", "b.kv"]),
    n("i.ra2", "identity", "Microsoft.Authorization/roleAssignments", &["i.uai", "b.sb"]),
];

/// Which composites reference which, as modules/estate wires them: the
/// cluster names the registry and the workspace by id (and waits for them
/// itself) instead of waiting for the whole bundle.
const REFERENCES: &[(&str, &[&str])] = &[
    ("hub", &[]),
    ("spoke", &["hub"]),
    ("bundle", &["hub", "spoke"]),
    ("aks", &["hub", "spoke"]),
    ("identity", &["hub", "aks", "bundle"]),
];

/// Longest path in seconds. With `composite_graph`, an object also waits
/// for every composite its own composite references (Terraform's graph).
fn critical_path(nodes: &[Node], refs: &[(&str, &[&str])], durations: &BTreeMap<String, f64>, composite_graph: bool) -> f64 {
    let mut done: BTreeMap<&str, f64> = BTreeMap::new();
    let mut composite_end: BTreeMap<&str, f64> = BTreeMap::new();
    // Nodes are listed with what they need first, composites in order.
    for c in refs.iter().map(|(c, _)| *c) {
        let start = if composite_graph {
            refs.iter()
                .find(|(x, _)| *x == c)
                .map(|(_, deps)| deps.iter().map(|d| composite_end.get(d).copied().unwrap_or(0.0)).fold(0.0, f64::max))
                .unwrap_or(0.0)
        } else {
            0.0
        };
        for node in nodes.iter().filter(|x| x.composite == c) {
            let ready = node.after.iter().map(|a| done.get(a).copied().unwrap_or(0.0)).fold(start, f64::max);
            let end = ready + durations.get(&node.ty.to_ascii_lowercase()).copied().unwrap_or(0.0);
            done.insert(node.id, end);
            let e = composite_end.entry(c).or_insert(0.0);
            *e = e.max(end);
        }
    }
    done.values().copied().fold(0.0, f64::max)
}

/// Create durations in seconds by lower-cased type, as armsim runs them now.
async fn durations(sim: &Sim) -> BTreeMap<String, f64> {
    let d = sim.admin(reqwest::Method::GET, "durations", None).await;
    let types = d.get("types").unwrap_or(&d);
    types
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.to_ascii_lowercase(), v["create_ms"].as_f64().unwrap_or(0.0) / 1000.0)).collect())
        .unwrap_or_default()
}

fn figure(name: &str, value: f64, unit: &str, anchor: &str) -> Figure {
    Figure {
        name: name.into(),
        value: (value * 100.0).round() / 100.0,
        unit: unit.into(),
        target: "-".into(),
        anchor: anchor.into(),
        pass: None,
    }
}

fn apply_secs(ws: &Workspace) -> f64 {
    let t = Instant::now();
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    t.elapsed().as_secs_f64()
}

fn journal_key(e: &Json) -> Option<(String, String)> {
    let path = e["path"].as_str()?;
    if path.contains("/oauth2/") || path.starts_with("/_sim") {
        return None;
    }
    Some((e["method"].as_str()?.to_owned(), path.to_ascii_lowercase()))
}

/// Applies hub + spoke, then the whole estate, against the critical paths;
/// then a no-change plan's ARM calls.
async fn apply_figures() -> Vec<Figure> {
    let mut out = Vec::new();
    let scale = SCALE.to_string();
    let sim = Sim::start(&["--time-scale", &scale]);
    let d = durations(&sim).await;
    // Only the composites listed take part: hub and spoke first.
    let net_path = critical_path(ESTATE, &REFERENCES[..2], &d, true);
    let ws = workspace(&sim, NETWORK);
    let net_wall = apply_secs(&ws);
    out.push(figure("hub + spoke apply, wall", net_wall, "s", &format!("armsim at time-scale {SCALE}")));
    out.push(figure("hub + spoke critical path of armsim's durations", net_path, "s", "the dependency graph is the limit"));
    out.push(at_most("hub + spoke apply / critical path", net_wall / net_path, "x", 1.10, "the dependency graph is the limit"));
    ws.write("main.tf", &format!("{HEADER}{}", full()));
    let full_path = critical_path(ESTATE, REFERENCES, &d, true);
    let object_path = critical_path(ESTATE, REFERENCES, &d, false);
    let t = Instant::now();
    ws.tf(&["apply", "-auto-approve", "-input=false"]).ok();
    let rest_wall = t.elapsed().as_secs_f64();
    let full_wall = net_wall + rest_wall;
    out.push(figure("full estate apply, wall (hub + spoke, then the rest)", full_wall, "s", &format!("armsim at time-scale {SCALE}")));
    out.push(figure("full estate critical path, composites as Terraform orders them", full_path, "s", "the dependency graph is the limit"));
    out.push(at_most(
        "full estate apply / critical path (composite graph)",
        full_wall / full_path,
        "x",
        1.10,
        "the dependency graph is the limit",
    ));
    out.push(figure(
        "full estate apply / critical path (object graph)",
        full_wall / object_path,
        "x",
        &format!("floor {object_path:.1} s if every object were its own resource"),
    ));

    // A no-change plan: every owned object read once, nothing written.
    sim.admin(reqwest::Method::DELETE, "journal", None).await;
    assert!(ws.plan_is_empty(), "the estate converged");
    let journal = sim.journal().await;
    let calls: Vec<(String, String)> = journal.iter().filter_map(journal_key).collect();
    let gets: Vec<&String> = calls.iter().filter(|(m, _)| m == "GET").map(|(_, p)| p).collect();
    let mut distinct = gets.clone();
    distinct.sort();
    distinct.dedup();
    let writes = calls.iter().filter(|(m, _)| m != "GET").count();
    let stored = sim.resources().await.len();
    out.push(figure("no-change plan of the full estate: ARM GETs", gets.len() as f64, "calls", "-"));
    out.push(figure(
        "no-change plan: distinct objects read",
        distinct.len() as f64,
        "objects",
        &format!("{stored} objects in armsim, the rest Azure-managed (node resource group, endpoint NICs, kubelet identity)"),
    ));
    out.push(at_most("no-change plan: GETs per object read", gets.len() as f64 / distinct.len().max(1) as f64, "x", 1.0, "the minimum"));
    out.push(at_most("no-change plan: ARM writes", writes as f64, "calls", 0.0, "the minimum"));
    ws.tf(&["destroy", "-auto-approve", "-input=false"]).ok();
    out
}

/// 1 hub + 100 spokes created with throttling off, then refreshed with
/// ARM's token buckets on: the time against the read-limit bound.
async fn refresh_figures() -> Vec<Figure> {
    let sim = Sim::start(&["--throttle", "off"]);
    let mut body = String::from(
        "resource \"trench_hub\" \"core\" {\n  environment   = \"dev\"\n  location      = \"westeurope\"\n  address_space = [\"10.0.0.0/16\"]\n}\n",
    );
    for i in 1..=100 {
        body.push_str(&format!(
            "resource \"trench_spoke\" \"s{i}\" {{\n  environment         = \"dev\"\n  name                = \"s{i}\"\n  hub_id              = trench_hub.core.id\n  hub_address_space   = trench_hub.core.address_space\n  firewall_private_ip = trench_hub.core.firewall_private_ip\n  address_space       = [\"10.{i}.0.0/16\"]\n}}\n"
        ));
    }
    let ws = workspace(&sim, &body);
    ws.tf(&["apply", "-auto-approve", "-input=false", "-parallelism=20"]).ok();
    let sim = sim.restart(&["--throttle", "real"]);
    let mut ws = ws;
    ws.env = sim.provider_env().into_iter().filter(|(k, _)| !k.starts_with("TRENCH_RETRY") && !k.starts_with("TRENCH_POLL")).collect();
    ws.env.push(("TF_VAR_pg_password".into(), crate::estate_hcl::PASSWORD.into()));
    sim.admin(reqwest::Method::DELETE, "journal", None).await;
    let t = Instant::now();
    let r = ws.tf(&["plan", "-refresh-only", "-input=false", "-detailed-exitcode"]);
    let wall = t.elapsed().as_secs_f64();
    assert_eq!(r.code, 0, "refresh found changes:\n{}", r.all());
    let journal = sim.journal().await;
    let reads = journal.iter().filter_map(journal_key).filter(|(m, _)| m == "GET").count() as f64;
    let throttled = journal.iter().filter(|e| e["status"] == 429).count() as f64;
    let bound = ((reads - 250.0) / 25.0).max(0.0);
    vec![
        figure("refresh of 1 hub + 100 spokes: ARM reads", reads, "GETs", "-"),
        figure("refresh of 1 hub + 100 spokes: wall", wall, "s", "-"),
        figure("ARM read-limit bound for those reads ((reads-250)/25)", bound, "s", "ARM's 2024 token bucket: 250 burst, 25/s"),
        at_most("refresh wall / read-limit bound", wall / bound.max(0.001), "x", 1.2, "ARM's 2024 token bucket"),
        at_most("429s during the refresh", throttled, "count", 0.0, "azurerm users hit throttling on plan refresh"),
    ]
}

/// hclgen generating 100 environments from scratch.
fn hclgen_figures() -> Vec<Figure> {
    let root = tempfile::tempdir().unwrap();
    let repo = trench_e2e::repo_root();
    for m in ["estate", "spoke"] {
        let dst = root.path().join("modules").join(m);
        std::fs::create_dir_all(&dst).unwrap();
        for e in std::fs::read_dir(repo.join("modules").join(m)).unwrap().filter_map(Result::ok).filter(|e| e.path().is_file()) {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
    let dev = std::fs::read_to_string(repo.join("env/dev/estate.toml")).unwrap();
    for i in 0..100 {
        let env = format!("e{i:03}");
        let dir = root.path().join("env").join(&env);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("estate.toml"), dev.replace("environment = \"dev\"", &format!("environment = \"{env}\""))).unwrap();
    }
    let t = Instant::now();
    let out = std::process::Command::new(trench_e2e::bin("trench-hclgen")).arg("--root").arg(root.path()).arg("generate").output().unwrap();
    let wall = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    vec![figure("trench-hclgen generate, 100 environments", wall * 1000.0, "ms", "Terragrunt run-all / CDKTF synth: seconds to minutes")]
}

/// `make demo`'s steps in a scratch copy of the repository's Terraform.
fn demo_figures() -> Vec<Figure> {
    let repo = trench_e2e::repo_root();
    // What make demo runs first: the build, and the provider installed into the implied local mirror.
    let t = Instant::now();
    let build =
        std::process::Command::new("cargo").args(["build", "--release", "--workspace", "--bins"]).current_dir(&repo).status().unwrap();
    assert!(build.success());
    let install =
        std::process::Command::new("make").args(["-s", "install"]).current_dir(&repo).stdout(std::process::Stdio::null()).status().unwrap();
    assert!(install.success());
    let build_s = t.elapsed().as_secs_f64();
    let root = tempfile::tempdir().unwrap();
    for d in ["env", "modules"] {
        copy(&repo.join(d), &root.path().join(d));
    }
    std::fs::create_dir_all(root.path().join("target")).unwrap();
    std::os::unix::fs::symlink(repo.join("target/release"), root.path().join("target/release")).unwrap();
    let out =
        std::process::Command::new(repo.join("target/release/trench-xtask")).args(["demo", "--root"]).arg(root.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = text.lines().find(|l| l.trim_start().starts_with("apply:")).unwrap_or_default();
    let num =
        |key: &str| line.split(key).nth(1).and_then(|r| r.trim().split(' ').next()).and_then(|x| x.parse::<f64>().ok()).unwrap_or(f64::NAN);
    vec![
        figure("make demo: build and install (cargo build --release, cache as found)", build_s, "s", "a clean build is reported by CI"),
        figure("make demo: terraform apply of env/dev (time-scale 0.01)", num("apply:"), "s", "-"),
        figure("make demo: the plan that proves no changes", num("plan:"), "s", "-"),
    ]
}

fn copy(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".terraform") || name.ends_with(".tfstate") {
            continue;
        }
        if e.path().is_dir() { copy(&e.path(), &to.join(&name)) } else { std::fs::copy(e.path(), to.join(&name)).map(|_| ()).unwrap() }
    }
}

pub fn run() -> Vec<Figure> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut out = rt.block_on(apply_figures());
    out.extend(rt.block_on(refresh_figures()));
    out.extend(hclgen_figures());
    out.extend(demo_figures());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_paths_follow_the_slowest_chain() {
        let d: BTreeMap<String, f64> = [
            ("microsoft.network/azurefirewalls", 360.0),
            ("microsoft.containerservice/managedclusters", 480.0),
            ("microsoft.dbforpostgresql/flexibleservers", 360.0),
            ("microsoft.network/privateendpoints", 60.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let composite = critical_path(ESTATE, REFERENCES, &d, true);
        let objects = critical_path(ESTATE, REFERENCES, &d, false);
        // Both: the firewall, then AKS (the bundle's PostgreSQL and endpoint run beside the cluster).
        assert_eq!(composite, 360.0 + 480.0);
        assert_eq!(objects, 360.0 + 480.0);
        // Were the cluster to wait for the bundle, PostgreSQL and its endpoint would come first.
        let waiting: Vec<(&str, &[&str])> =
            REFERENCES.iter().map(|(c, d)| if *c == "aks" { (*c, &["hub", "spoke", "bundle"][..]) } else { (*c, *d) }).collect();
        assert_eq!(critical_path(ESTATE, &waiting, &d, true), 360.0 + 360.0 + 60.0 + 480.0);
    }
}

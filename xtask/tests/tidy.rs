//! The architecture invariants of ARCHITECTURE.md, checked over the source
//! tree (rust-analyzer's "tidy" style): each test reads the code as it is
//! and names every place that breaks a rule. The `*_is_caught` tests feed
//! each check a small known-bad input, so a check that can no longer fail
//! fails itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

// ------------------------------------------------------------- the module tree

/// One source file of a crate, parsed, with its module path (`resources::aks::apply`).
struct Source {
    path: PathBuf,
    module: Vec<String>,
    ast: syn::File,
}

fn has_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string().split(|c: char| !c.is_alphanumeric() && c != '_').any(|t| t == "test"))
    })
}

fn parse(path: &Path) -> syn::File {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Every non-test file of the crate rooted at `root_file`, following `mod x;`
/// declarations the way rustc does (`x.rs` or `x/mod.rs` beside the parent).
fn crate_sources(root_file: &Path) -> Vec<Source> {
    let mut out = Vec::new();
    let mut todo = vec![(root_file.to_path_buf(), Vec::<String>::new())];
    while let Some((path, module)) = todo.pop() {
        let ast = parse(&path);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let dir = if module.is_empty() || stem == "mod" { path.parent().unwrap().to_path_buf() } else { path.with_extension("") };
        for item in &ast.items {
            if let syn::Item::Mod(m) = item
                && m.content.is_none()
                && !has_cfg_test(&m.attrs)
            {
                let name = m.ident.to_string();
                let file = [dir.join(format!("{name}.rs")), dir.join(&name).join("mod.rs")].into_iter().find(|p| p.exists());
                let file = file.unwrap_or_else(|| panic!("{}: no file for `mod {name};`", path.display()));
                let mut child = module.clone();
                child.push(name);
                todo.push((file, child));
            }
        }
        out.push(Source { path, module, ast });
    }
    out.sort_by(|a, b| a.module.cmp(&b.module));
    out
}

/// The roots of every workspace crate's library and binary.
fn workspace_crates() -> Vec<(String, Vec<Source>)> {
    let mut crates = Vec::new();
    for member in ["plugin", "arm", "provider", "armsim", "conventions", "tests", "bench", "hclgen", "xtask"] {
        for root_file in ["src/lib.rs", "src/main.rs"] {
            let p = root().join(member).join(root_file);
            if p.exists() {
                crates.push((format!("{member}/{root_file}"), crate_sources(&p)));
            }
        }
    }
    crates
}

/// Paths a file names, resolved against its module where they start with
/// `crate`, `super` or `self` (or a child module it declares): absolute
/// module paths of this crate, and the external paths as written.
#[derive(Default)]
struct Refs {
    internal: Vec<Vec<String>>,
    external: Vec<Vec<String>>,
    strings: Vec<String>,
    /// `fn` signatures in `impl Hooks for …` blocks, as written.
    hook_signatures: Vec<String>,
}

struct Collector<'a> {
    modules: &'a BTreeSet<Vec<String>>,
    at: Vec<String>,
    refs: Refs,
}

impl Collector<'_> {
    fn resolve(&mut self, segs: Vec<String>) {
        let Some(first) = segs.first() else { return };
        let mut base = self.at.clone();
        let rest: &[String] = match first.as_str() {
            "crate" => {
                base.clear();
                &segs[1..]
            }
            "self" => &segs[1..],
            "super" => {
                let mut i = 0;
                while segs.get(i).is_some_and(|s| s == "super") {
                    base.pop();
                    i += 1;
                }
                &segs[i..]
            }
            _ if segs.len() > 1 && self.modules.contains(&[self.at.clone(), vec![first.clone()]].concat()) => &segs[..],
            _ => {
                self.refs.external.push(segs);
                return;
            }
        };
        base.extend(rest.iter().filter(|s| *s != "self").cloned());
        self.refs.internal.push(base);
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.resolve([prefix.clone(), vec![n.ident.to_string()]].concat()),
            syn::UseTree::Rename(r) => self.resolve([prefix.clone(), vec![r.ident.to_string()]].concat()),
            syn::UseTree::Glob(_) => self.resolve(prefix.clone()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(prefix, t)),
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if has_cfg_test(&m.attrs) || m.content.is_none() {
            return;
        }
        self.at.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.at.pop();
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !has_cfg_test(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if has_cfg_test(&i.attrs) {
            return;
        }
        if i.trait_.as_ref().is_some_and(|(_, p, _)| p.segments.last().is_some_and(|s| s.ident == "Hooks")) {
            for item in &i.items {
                if let syn::ImplItem::Fn(f) = item {
                    let sig = &f.sig;
                    self.refs.hook_signatures.push(quote::quote!(#sig).to_string());
                }
            }
        }
        syn::visit::visit_item_impl(self, i);
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if !has_cfg_test(&u.attrs) {
            self.use_tree(&mut Vec::new(), &u.tree);
        }
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.resolve(p.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, p);
    }
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {
        // Doc comments are string literals to syn; they are prose.
    }
    fn visit_lit_str(&mut self, s: &'ast syn::LitStr) {
        self.refs.strings.push(s.value());
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Format strings and other macro arguments are tokens to syn; their
        // string literals still count.
        for t in m.tokens.clone() {
            if let proc_macro2::TokenTree::Literal(l) = t
                && let Ok(s) = syn::parse_str::<syn::LitStr>(&l.to_string())
            {
                self.refs.strings.push(s.value());
            }
        }
        syn::visit::visit_macro(self, m);
    }
}

fn refs_of(sources: &[Source]) -> Vec<(&Source, Refs)> {
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    sources
        .iter()
        .map(|s| {
            let mut c = Collector { modules: &modules, at: s.module.clone(), refs: Refs::default() };
            c.visit_file(&s.ast);
            (s, c.refs)
        })
        .collect()
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

fn report(rule: &str, problems: &[String]) {
    assert!(problems.is_empty(), "{rule}:\n  {}", problems.join("\n  "));
}

// ------------------------------------------------------------------ the checks

/// Cycles among sibling modules: for every reference from module S to
/// module T, the children of their common ancestor on each side get an
/// edge; a cycle in any ancestor's graph is a tangle a reader cannot start
/// from either end of. Parent ↔ child references do not count. Reported
/// as the sets of siblings that all reach each other.
fn sibling_cycles(sources: &[Source]) -> Vec<String> {
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (s, refs) in refs_of(sources) {
        for r in &refs.internal {
            // The module a path lands in: its longest prefix that is a module.
            let Some(t) = (0..=r.len()).rev().map(|n| r[..n].to_vec()).find(|p| modules.contains(p)) else { continue };
            let common = s.module.iter().zip(&t).take_while(|(a, b)| a == b).count();
            if common < s.module.len() && common < t.len() {
                graphs
                    .entry(s.module[..common].to_vec())
                    .or_default()
                    .entry(s.module[common].clone())
                    .or_default()
                    .insert(t[common].clone());
            }
        }
    }
    // Each strongly connected set of siblings (every one reaches every
    // other), named once: stable however the edges inside it change.
    let mut cycles = Vec::new();
    for (parent, g) in &graphs {
        let reach = |from: &String| {
            let mut seen = BTreeSet::new();
            let mut todo = vec![from.clone()];
            while let Some(n) = todo.pop() {
                for next in g.get(&n).into_iter().flatten() {
                    if seen.insert(next.clone()) {
                        todo.push(next.clone());
                    }
                }
            }
            seen
        };
        let reaches: BTreeMap<&String, BTreeSet<String>> = g.keys().map(|n| (n, reach(n))).collect();
        let mut done = BTreeSet::new();
        for (n, r) in &reaches {
            if done.contains(*n) || !r.contains(*n) {
                continue;
            }
            let set: BTreeSet<&String> = r.iter().filter(|m| reaches.get(m).is_some_and(|back| back.contains(*n))).collect();
            done.extend(set.iter().map(|m| (*m).clone()));
            let at = if parent.is_empty() { "the crate root".to_owned() } else { parent.join("::") };
            cycles.push(format!("in {at}: {}", set.into_iter().cloned().collect::<Vec<_>>().join(" ↔ ")));
        }
    }
    cycles
}

/// Cycles that predate this check, one per line: armsim's engine, types
/// and server modules still call each other. The list may only shrink.
const KNOWN_CYCLES: &str = include_str!("tidy/known_cycles.txt");

#[test]
fn no_sibling_modules_import_each_other_in_a_cycle() {
    let known: BTreeSet<&str> = KNOWN_CYCLES.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let mut found = BTreeSet::new();
    for (name, sources) in workspace_crates() {
        found.extend(sibling_cycles(&sources).into_iter().map(|c| format!("{name}: {c}")));
    }
    let new: Vec<String> = found.iter().filter(|c| !known.contains(c.as_str())).cloned().collect();
    report("sibling modules that depend on each other", &new);
    let gone: Vec<String> =
        known.iter().filter(|k| !found.contains(**k)).map(|k| format!("{k} (remove it from tests/tidy/known_cycles.txt)")).collect();
    report("known cycles that are gone", &gone);
}

/// Places outside `plugin/src/tfplugin` that name protobuf types.
fn protobuf_outside_tfplugin(crate_name: &str, sources: &[Source]) -> Vec<String> {
    let mut out = Vec::new();
    for (s, refs) in refs_of(sources) {
        let in_tfplugin = crate_name.starts_with("plugin/") && s.module.first().is_some_and(|m| m == "tfplugin");
        if in_tfplugin {
            continue;
        }
        let proto =
            |p: &Vec<String>| ["prost", "prost_types", "tonic_prost"].contains(&p[0].as_str()) || p.iter().any(|s| s == "include_proto");
        let ours = |p: &Vec<String>| p.windows(2).any(|w| w[0] == "tfplugin" && (w[1] == "proto" || w[1] == "goplugin"));
        for p in refs.external.iter().filter(|p| proto(p)).chain(refs.internal.iter().filter(|p| ours(p))) {
            out.push(format!("{}: {}", rel(&s.path), p.join("::")));
        }
    }
    out
}

#[test]
fn only_tfplugin_knows_protobuf_types() {
    let mut problems = Vec::new();
    for (name, sources) in workspace_crates() {
        problems.extend(protobuf_outside_tfplugin(&name, &sources));
    }
    report("protobuf types outside plugin/src/tfplugin", &problems);
}

/// What a composite or other resource code may not do itself: spell ARM
/// paths, pick api-versions, or speak HTTP.
fn resources_bypassing_the_arm_client(sources: &[Source]) -> Vec<String> {
    let mut out = Vec::new();
    for (s, refs) in refs_of(sources) {
        if s.module.first().is_none_or(|m| m != "resources") {
            continue;
        }
        for lit in refs.strings.iter().filter(|l| l.contains("/subscriptions/") || l.contains("api-version=")) {
            out.push(format!(
                "{}: the literal {lit:?} (build ids with trench_arm::ResourceId, lists with the client's helpers)",
                rel(&s.path)
            ));
        }
        for p in &refs.external {
            let bad = matches!(p[0].as_str(), "reqwest" | "azure_core" | "hyper")
                || (p[0] == "trench_arm" && p.get(1).is_some_and(|m| m == "api_versions"));
            if bad {
                out.push(format!("{}: {}", rel(&s.path), p.join("::")));
            }
        }
    }
    out
}

#[test]
fn resources_never_spell_arm_paths_pick_api_versions_or_speak_http() {
    let sources = crate_sources(&root().join("provider/src/lib.rs"));
    report("resources doing the ARM client's work", &resources_bypassing_the_arm_client(&sources));
}

/// Hooks that take the simulator's state mutably instead of returning effects.
fn hooks_mutating_state(sources: &[Source]) -> Vec<String> {
    let mut out = Vec::new();
    for (s, refs) in refs_of(sources) {
        for sig in refs.hook_signatures.iter().filter(|sig| sig.replace(' ', "").contains("&mutState")) {
            out.push(format!("{}: {sig}", rel(&s.path)));
        }
        for p in refs.internal.iter().chain(&refs.external) {
            if p.windows(2).any(|w| w[0] == "Effect" && w[1] == "State") {
                out.push(format!("{}: {} (an effect that runs arbitrary code on the state)", rel(&s.path), p.join("::")));
            }
        }
    }
    out
}

#[test]
fn armsim_hooks_return_effects_and_never_mutate_state() {
    let sources = crate_sources(&root().join("armsim/src/lib.rs"));
    report("armsim hooks that change state themselves", &hooks_mutating_state(&sources));
}

/// Where the provider and the ARM client read the process environment:
/// only the provider's `config.rs` may, so its table lists every variable.
fn environment_reads(sources: &[Source], allowed: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (s, refs) in refs_of(sources) {
        if allowed.iter().any(|a| rel(&s.path) == *a) {
            continue;
        }
        for p in refs.external.iter().filter(|p| p.len() >= 3 && p[0] == "std" && p[1] == "env" && p[2].starts_with("var")) {
            out.push(format!("{}: {}", rel(&s.path), p.join("::")));
        }
    }
    out
}

#[test]
fn only_the_provider_config_reads_the_environment() {
    let mut problems = environment_reads(&crate_sources(&root().join("provider/src/lib.rs")), &["provider/src/config.rs"]);
    problems.extend(environment_reads(&crate_sources(&root().join("arm/src/lib.rs")), &[]));
    report("environment read outside provider/src/config.rs", &problems);
}

/// The workspace crates a crate may depend on (normal, dev and build).
const ALLOWED_EDGES: &[(&str, &[&str])] = &[
    // The protocol crate knows nothing of Azure; the ARM client nothing of Terraform.
    ("trench-plugin", &[]),
    ("trench-arm", &["trench-e2e"]),
    ("trench-conventions", &[]),
    ("trench-provider", &["trench-plugin", "trench-arm", "trench-conventions", "trench-e2e"]),
    // The simulator, the generator and the tests drive the provider as a binary.
    ("trench-armsim", &[]),
    ("trench-hclgen", &["trench-conventions"]),
    ("trench-e2e", &[]),
    ("trench-bench", &["trench-arm", "trench-e2e"]),
    ("trench-xtask", &[]),
];

fn edge_violations(metadata: &serde_json::Value) -> Vec<String> {
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let ours: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut out = Vec::new();
    for p in &packages {
        let name = p["name"].as_str().unwrap_or_default();
        let Some((_, allowed)) = ALLOWED_EDGES.iter().find(|(n, _)| *n == name) else {
            out.push(format!("{name} is not in ALLOWED_EDGES: say what it may depend on"));
            continue;
        };
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let dep = d["name"].as_str().unwrap_or_default();
            if ours.contains(dep) && !allowed.contains(&dep) {
                out.push(format!("{name} depends on {dep} ({} dependency)", d["kind"].as_str().unwrap_or("normal")));
            }
        }
    }
    out
}

#[test]
fn crate_dependencies_follow_the_layers() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .expect("running cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    report("crate dependencies across layers", &edge_violations(&metadata));
}

/// The files every composite's folder holds, so each reads the same way.
const COMPOSITE_FILES: &[&str] = &["mod.rs", "validate.rs", "spec.rs", "apply.rs", "observe.rs", "tests.rs"];

#[test]
fn every_composite_folder_has_the_standard_files() {
    let dir = root().join("provider/src/resources");
    let mut problems = Vec::new();
    let mut folders = 0;
    for entry in std::fs::read_dir(&dir).expect("provider/src/resources") {
        let path = entry.expect("a directory entry").path();
        if !path.is_dir() || path.file_name().is_some_and(|n| n == "snapshots") {
            continue;
        }
        folders += 1;
        for f in COMPOSITE_FILES.iter().filter(|f| !path.join(f).exists()) {
            problems.push(format!("{} has no {f}", rel(&path)));
        }
    }
    assert_eq!(folders, 5, "one folder per composite: hub, spoke, aks, paas, identity");
    report("composite folders missing a standard file", &problems);
}

/// A file's length as if wrapped at 100 columns.
fn wrapped_lines(text: &str) -> usize {
    text.lines().map(|l| l.chars().count().div_ceil(100).max(1)).sum()
}

const MAX_LINES: usize = 800;

#[test]
fn no_source_file_is_past_800_lines_at_100_columns() {
    let mut problems = Vec::new();
    for (_, sources) in workspace_crates() {
        for s in sources {
            let n = wrapped_lines(&std::fs::read_to_string(&s.path).unwrap());
            if n > MAX_LINES {
                problems.push(format!("{}: {n} lines (split it by concern)", rel(&s.path)));
            }
        }
    }
    report("files too long to read", &problems);
}

// ------------------------------------------------- each check catches its case

fn synthetic(files: &[(&str, &str)]) -> Vec<Source> {
    files
        .iter()
        .map(|(m, text)| Source {
            path: PathBuf::from(format!("{m}.rs")),
            module: m.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            ast: syn::parse_file(text).expect("valid Rust"),
        })
        .collect()
}

#[test]
fn a_cycle_between_sibling_files_is_caught() {
    let tree = synthetic(&[
        ("", "mod resources;"),
        ("resources", "mod aks; mod common;"),
        ("resources::aks", "mod apply; mod observe;"),
        ("resources::aks::apply", "use super::observe::fetch; fn f() { crate::resources::common::x(); }"),
        ("resources::aks::observe", "fn g() { super::apply::put(); }"),
        ("resources::common", "use super::aks::Spec;"),
    ]);
    let cycles = sibling_cycles(&tree);
    assert_eq!(cycles, ["in resources: aks ↔ common", "in resources::aks: apply ↔ observe"], "a parent using its children is no cycle");
}

#[test]
fn protobuf_types_and_arm_shortcuts_and_state_mutation_are_caught() {
    let plugin = synthetic(&[("framework", "fn f(x: prost::bytes::Bytes) {}"), ("tfplugin", "use prost::Message;")]);
    assert_eq!(protobuf_outside_tfplugin("plugin/src/lib.rs", &plugin), ["framework.rs: prost::bytes::Bytes"]);

    let resources = synthetic(&[(
        "resources::hub::apply",
        r#"fn f(sub: &str) { let p = format!("/subscriptions/{sub}/resourceGroups"); let v = trench_arm::api_versions::NETWORK; reqwest::Client::new(); }"#,
    )]);
    assert_eq!(resources_bypassing_the_arm_client(&resources).len(), 3, "{:?}", resources_bypassing_the_arm_client(&resources));

    let armsim = synthetic(&[(
        "types::vault",
        "impl Hooks for V { fn on_delete(&self, st: &mut State, res: &Resource) {} fn validate(&self, cx: &mut PutCx) { cx.effects.push(Effect::State(Box::new(|_| {}))); } }",
    )]);
    assert_eq!(hooks_mutating_state(&armsim).len(), 2, "{:?}", hooks_mutating_state(&armsim));

    let env = synthetic(&[("arm::client", "fn f() { std::env::var(\"TRENCH_X\"); }")]);
    assert_eq!(environment_reads(&env, &[]).len(), 1);
}

#[test]
fn a_dependency_across_the_layers_is_caught() {
    let metadata = serde_json::json!({"packages": [
        {"name": "trench-arm", "dependencies": [{"name": "trench-plugin", "kind": null}]},
        {"name": "trench-plugin", "dependencies": []},
        {"name": "trench-armsim", "dependencies": [{"name": "trench-provider", "kind": "dev"}]},
        {"name": "trench-provider", "dependencies": [{"name": "serde", "kind": null}]},
    ]});
    assert_eq!(
        edge_violations(&metadata),
        ["trench-arm depends on trench-plugin (normal dependency)", "trench-armsim depends on trench-provider (dev dependency)"]
    );
}

#[test]
fn long_lines_count_as_the_lines_they_wrap_to() {
    assert_eq!(wrapped_lines(&format!("{}\n\nshort\n", "x".repeat(250))), 5);
}

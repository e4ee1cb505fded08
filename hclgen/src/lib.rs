#![warn(missing_docs)]
//! hclgen: trench's environment overlays from a typed description.
//!
//! `env/<name>/estate.toml` is parsed ([`estate`]), resolved with the
//! estate's defaults and validated ([`resolve`]), and written as thin
//! Terraform overlays over `modules/estate` ([`generate`], [`readme`])
//! through an emitter that lays HCL out exactly as `terraform fmt` does
//! ([`emit`]). Module READMEs document each module's interface ([`module`]).
//! hclgen never talks to Azure and never links the provider.

pub mod emit;
pub mod estate;
pub mod generate;
pub mod module;
pub mod newenv;
pub mod problem;
pub mod readme;
pub mod resolve;

use std::path::{Path, PathBuf};

use problem::Problems;

/// The modules whose READMEs hclgen keeps current.
pub const MODULES: &[&str] = &["estate", "spoke"];

/// Reads, parses and resolves `env/<env>/estate.toml` under `root`.
pub fn load(root: &Path, env: &str) -> Result<estate::Estate, Problems> {
    let shown = format!("env/{env}/estate.toml");
    let text = std::fs::read_to_string(root.join(&shown)).map_err(|e| Problems::one(&shown, "", format!("cannot read it: {e}")))?;
    let file = estate::parse(&shown, &text)?;
    if file.environment != env {
        return Err(Problems::one(&shown, "environment", format!("{:?} does not match its folder env/{env}/", file.environment)));
    }
    resolve::resolve(&shown, &file)
}

/// Every environment under `root/env/` that has an estate.toml, sorted.
pub fn environments(root: &Path) -> Vec<String> {
    let mut envs: Vec<String> = std::fs::read_dir(root.join("env"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("estate.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    envs.sort();
    envs
}

/// What `generate` writes for `envs` (all environments when empty), plus
/// the module READMEs: each path under `root` with its content.
pub fn outputs(root: &Path, envs: &[String]) -> Result<Vec<(PathBuf, String)>, Problems> {
    let module = module::read(&root.join("modules/estate"))?;
    let envs = if envs.is_empty() { environments(root) } else { envs.to_vec() };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for env in &envs {
        match load(root, env).and_then(|e| generate::overlay(&e, &module)) {
            Ok(files) => out.extend(files.into_iter().map(|f| (root.join("env").join(env).join(f.name), f.content))),
            Err(p) => problems.extend(p.0),
        }
    }
    for m in MODULES {
        let dir = root.join("modules").join(m);
        let interface = module::read(&dir)?;
        let path = dir.join("README.md");
        let existing = std::fs::read_to_string(&path).ok();
        out.push((path, module::readme(existing.as_deref(), &format!("modules/{m}"), &interface)));
    }
    if problems.is_empty() { Ok(out) } else { Err(Problems(problems)) }
}

/// The generated files whose content on disk differs (or that are missing).
pub fn stale(root: &Path, envs: &[String]) -> Result<Vec<PathBuf>, Problems> {
    Ok(outputs(root, envs)?
        .into_iter()
        .filter(|(p, content)| std::fs::read_to_string(p).ok().as_deref() != Some(content.as_str()))
        .map(|(p, _)| p)
        .collect())
}

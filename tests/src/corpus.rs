//! The bad-input corpus (`tests/corpus/bad-inputs.toml`): configurations
//! trench must refuse before any ARM write, each refusal naming the
//! attribute. The end-to-end tests run the cases of their resource and
//! `make reliability` runs them all; both through [`check`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::terraform::Workspace;

/// A base configuration and the block its cases edit.
#[derive(Debug, Deserialize)]
pub struct Base {
    /// The target block's address (`trench_hub.core`).
    pub block: String,
    /// The configuration.
    pub config: String,
}

/// One bad input.
#[derive(Debug, Deserialize)]
pub struct Case {
    /// What is wrong.
    pub name: String,
    /// The base configuration it edits.
    pub base: Option<String>,
    /// A whole configuration instead of a base.
    pub config: Option<String>,
    /// `plan` (default) or `validate`.
    pub command: Option<String>,
    /// The block the diagnostic must point at, when not the base's (empty: none).
    pub block: Option<String>,
    /// Attributes or blocks replacing the base block's of the same name, or added to it.
    #[serde(default)]
    pub set: Vec<String>,
    /// Text swapped anywhere in the base.
    #[serde(default)]
    pub replace: Vec<(String, String)>,
    /// What terraform's output must contain (whitespace collapsed).
    pub expect: Vec<String>,
}

/// The corpus.
#[derive(Debug, Deserialize)]
pub struct Corpus {
    /// Bases by name.
    pub base: BTreeMap<String, Base>,
    /// Cases in file order.
    pub case: Vec<Case>,
}

/// Reads the corpus from the repository.
pub fn load() -> Corpus {
    let path = crate::repo_root().join("tests/corpus/bad-inputs.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whitespace collapsed, as terraform wraps diagnostic text.
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The header line of a block address: `resource "a" "b" {` or `data "a" "b" {`.
fn header(block: &str) -> Option<String> {
    let parts: Vec<&str> = block.split('.').collect();
    match parts.as_slice() {
        ["data", t, n] => Some(format!("data \"{t}\" \"{n}\" {{")),
        [t, n] => Some(format!("resource \"{t}\" \"{n}\" {{")),
        _ => None,
    }
}

/// The statements of a `set` entry: one block, or one attribute per line.
fn statements(entry: &str) -> Vec<String> {
    if entry.lines().next().is_some_and(|l| l.trim_end().ends_with('{') && !l.contains('=')) {
        vec![entry.to_owned()]
    } else {
        entry.lines().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect()
    }
}

/// The name a statement sets (`a` of `a = …` or of `a {`).
fn key(stmt: &str) -> &str {
    stmt.split(|c: char| c == '=' || c == '{' || c.is_whitespace()).next().unwrap_or("")
}

impl Case {
    /// The configuration to run.
    pub fn config(&self, c: &Corpus) -> String {
        if let Some(cfg) = &self.config {
            return cfg.clone();
        }
        let base = &c.base[self.base.as_deref().expect("a case has a base or a config")];
        let mut text = base.config.clone();
        for (from, to) in &self.replace {
            assert!(text.contains(from.as_str()), "{}: {from:?} is not in the base", self.name);
            text = text.replacen(from.as_str(), to, 1);
        }
        if self.set.is_empty() {
            return text;
        }
        let head = header(&base.block).expect("resource bases");
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let start = lines.iter().position(|l| l.trim() == head).unwrap_or_else(|| panic!("{}: no {head} in the base", self.name));
        for stmt in self.set.iter().flat_map(|e| statements(e)) {
            let end = start + lines[start..].iter().position(|l| l == "}").expect("block end");
            let k = key(&stmt).to_owned();
            let existing =
                (start + 1..end).find(|i| key(lines[*i].trim()) == k && lines[*i].starts_with("  ") && !lines[*i].starts_with("   "));
            match existing {
                Some(i) => lines[i] = format!("  {stmt}"),
                None => lines.insert(end, format!("  {stmt}")),
            }
        }
        lines.join("\n") + "\n"
    }

    /// The block the diagnostic must point at (None: any).
    pub fn block(&self, c: &Corpus) -> Option<String> {
        match &self.block {
            Some(b) if b.is_empty() => None,
            Some(b) => Some(b.clone()),
            None => self.base.as_ref().map(|b| c.base[b].block.clone()),
        }
    }
}

/// Runs one case in `ws` (already initialised for the provider): terraform
/// must fail, say everything expected and point at the block.
pub fn check(ws: &Workspace, corpus: &Corpus, case: &Case) -> Result<(), String> {
    ws.write("main.tf", &case.config(corpus));
    let cmd = case.command.as_deref().unwrap_or("plan");
    let r = if cmd == "validate" { ws.tf(&["validate"]) } else { ws.tf(&[cmd, "-input=false"]) };
    let out = squash(&r.all());
    if r.code == 0 {
        return Err(format!("{}: terraform {cmd} accepted it", case.name));
    }
    for e in &case.expect {
        if !out.contains(&squash(e)) {
            return Err(format!("{}: expected {e:?} in:\n{out}", case.name));
        }
    }
    if let Some(b) = case.block(corpus)
        && !out.contains(&format!("with {b}"))
    {
        return Err(format!("{}: the diagnostic does not point at {b}:\n{out}", case.name));
    }
    Ok(())
}

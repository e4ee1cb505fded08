//! Diagnostics with attribute paths: how every problem reaches the operator.
//! Accumulate them; don't stop at the first.

use std::fmt;

/// One step of an attribute path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An attribute or nested block by name.
    Attr(String),
    /// A map key (or a set/map nested-block key).
    Key(String),
    /// A list or tuple index.
    Index(i64),
}

/// A path to an attribute inside a resource's configuration, shown by
/// Terraform against the offending line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AttrPath(pub Vec<PathStep>);

impl AttrPath {
    /// A path starting at a top-level attribute.
    pub fn root(name: &str) -> AttrPath {
        AttrPath(vec![PathStep::Attr(name.to_owned())])
    }
    /// Adds an attribute step.
    pub fn attr(mut self, name: &str) -> AttrPath {
        self.0.push(PathStep::Attr(name.to_owned()));
        self
    }
    /// Adds a map-key step.
    pub fn key(mut self, key: &str) -> AttrPath {
        self.0.push(PathStep::Key(key.to_owned()));
        self
    }
    /// Adds a list-index step.
    pub fn index(mut self, i: usize) -> AttrPath {
        self.0.push(PathStep::Index(i as i64));
        self
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                PathStep::Attr(a) if i == 0 => f.write_str(a)?,
                PathStep::Attr(a) => write!(f, ".{a}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Error or warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Stops the operation.
    Error,
    /// Shown, but the operation goes on.
    Warning,
}

/// One diagnostic.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One line: what went wrong.
    pub summary: String,
    /// Why, and what to do.
    pub detail: String,
    /// The attribute it is about, if any.
    pub path: Option<AttrPath>,
}

/// An ordered collection of diagnostics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Diagnostics {
        Diagnostics(Vec::new())
    }
    /// A single error.
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostics {
        let mut d = Diagnostics::new();
        d.add_error(summary, detail);
        d
    }
    /// A single error on an attribute.
    pub fn attr_error(path: AttrPath, summary: impl Into<String>, detail: impl Into<String>) -> Diagnostics {
        let mut d = Diagnostics::new();
        d.add_attr_error(path, summary, detail);
        d
    }
    /// Adds an error not tied to an attribute.
    pub fn add_error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Diagnostic { severity: Severity::Error, summary: summary.into(), detail: detail.into(), path: None });
    }
    /// Adds an error pointing at an attribute.
    pub fn add_attr_error(&mut self, path: AttrPath, summary: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Diagnostic { severity: Severity::Error, summary: summary.into(), detail: detail.into(), path: Some(path) });
    }
    /// Adds a warning, optionally on an attribute.
    pub fn add_warning(&mut self, path: Option<AttrPath>, summary: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Diagnostic { severity: Severity::Warning, summary: summary.into(), detail: detail.into(), path });
    }
    /// Appends all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    /// True if there are none at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Iterates over them.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl From<crate::value::ValueError> for Diagnostics {
    /// A value that does not fit the schema is a provider bug or a protocol
    /// mismatch; say so plainly.
    fn from(e: crate::value::ValueError) -> Diagnostics {
        Diagnostics::error("Value does not match the schema", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_terraform_addresses() {
        let p = AttrPath::root("subnets").key("aks-nodes").attr("address_prefix");
        assert_eq!(p.to_string(), "subnets[\"aks-nodes\"].address_prefix");
        assert_eq!(AttrPath::root("pools").index(2).to_string(), "pools[2]");
    }

    #[test]
    fn warnings_alone_are_not_errors() {
        let mut d = Diagnostics::new();
        d.add_warning(None, "w", "");
        assert!(!d.has_errors());
        d.add_error("e", "");
        assert!(d.has_errors());
    }
}

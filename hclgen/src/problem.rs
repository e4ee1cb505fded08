//! Errors as values with a file and a key path (STYLE.md 4): validation
//! accumulates every problem it finds instead of stopping at the first.

use std::fmt;

/// One problem: which file, which key (dotted path, `hub.address_space[0]`),
/// and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// File the problem is in, as the operator would name it (`env/dev/estate.toml`).
    pub file: String,
    /// Key path inside the file; empty for the file as a whole.
    pub key: String,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)
        }
    }
}

/// Everything that went wrong in one operation; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// A single problem.
    pub fn one(file: impl Into<String>, key: impl Into<String>, message: impl Into<String>) -> Problems {
        Problems(vec![Problem { file: file.into(), key: key.into(), message: message.into() }])
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Collects problems for one file.
#[derive(Debug)]
pub(crate) struct Collector {
    file: String,
    problems: Vec<Problem>,
}

impl Collector {
    pub(crate) fn new(file: &str) -> Collector {
        Collector { file: file.to_owned(), problems: Vec::new() }
    }

    pub(crate) fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem { file: self.file.clone(), key: key.into(), message: message.into() });
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, Problems> {
        if self.problems.is_empty() { Ok(value) } else { Err(Problems(self.problems)) }
    }
}

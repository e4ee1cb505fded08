//! What the composites' unit tests share: configuration values built from
//! a schema, and the attribute paths validation reports.

use trench_plugin::framework::{Diagnostics, Resource, Severity};
use trench_plugin::value::{Number, Value};

use super::composite::{Composite, Model, null_state};
use super::driver::Composed;

/// A configuration of `C`: every attribute null but `pairs` (later pairs win).
pub fn config<C: Model>(pairs: &[(&str, Value)]) -> Value {
    let mut m = null_state(&C::schema());
    m.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    Value::Object(m)
}

/// `base` with `over` replacing or adding attributes.
pub fn overlay(base: Vec<(&'static str, Value)>, over: &[(&'static str, Value)]) -> Vec<(&'static str, Value)> {
    let mut all: Vec<_> = base.into_iter().filter(|(k, _)| !over.iter().any(|(o, _)| o == k)).collect();
    all.extend(over.iter().cloned());
    all
}

/// The attribute path of every diagnostic (errors only, when asked).
pub fn paths(d: &Diagnostics, errors_only: bool) -> Vec<String> {
    d.iter()
        .filter(|x| !errors_only || x.severity == Severity::Error)
        .map(|x| x.path.as_ref().map(ToString::to_string).unwrap_or_default())
        .collect()
}

/// The paths of what `C`'s validation reports for `config`.
pub fn validation_paths<C: Composite>(config: &Value, errors_only: bool) -> Vec<String> {
    paths(&Composed::<C>::new().validate(config), errors_only)
}

/// A list of strings.
pub fn list(xs: &[&str]) -> Value {
    Value::List(xs.iter().map(|x| Value::string(*x)).collect())
}

/// A set of strings.
pub fn set(xs: &[&str]) -> Value {
    Value::Set(xs.iter().map(|x| Value::string(*x)).collect())
}

/// A whole number.
pub fn num(n: i64) -> Value {
    Value::Number(Number::Int(n))
}

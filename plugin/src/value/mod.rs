//! cty values as Terraform exchanges them, independent of protobuf.
//!
//! `Value` is dynamic (it mirrors cty); the schema's implied [`Type`] drives
//! the msgpack and JSON codecs. Resources work with typed models through the
//! serde bridge in [`serde_bridge`] and the tri-state [`Val`].

mod json;
mod msgpack;
mod serde_bridge;
mod ty;

use std::collections::BTreeMap;
use std::fmt;

pub use json::{decode_json, encode_json};
pub use msgpack::{decode_msgpack, encode_msgpack};
pub use serde_bridge::{Val, all_unknown, from_value, to_value};
pub use ty::{ObjectType, Type, TypeJsonError};

/// A cty number. cty numbers are arbitrary-precision; we keep the common
/// cases native and anything else as its decimal text so nothing is lost.
#[derive(Clone, Debug)]
pub enum Number {
    /// An integer that fits in i64.
    Int(i64),
    /// A binary float (also ±infinity).
    Float(f64),
    /// Any other number, as decimal text (for example a u64 above i64::MAX).
    Big(String),
}

impl Number {
    /// The value as f64 (lossy for big numbers).
    pub fn as_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
            Number::Big(s) => s.parse().unwrap_or(f64::NAN),
        }
    }

    /// The value as i64 if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(f) if f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64 => Some(*f as i64),
            Number::Float(_) => None,
            Number::Big(s) => s.parse().ok(),
        }
    }

    /// Parses decimal text, keeping it exact when it is not an i64 or a float
    /// that prints back identically.
    pub fn parse(s: &str) -> Option<Number> {
        let s = s.trim();
        if let Ok(i) = s.parse::<i64>() {
            return Some(Number::Int(i));
        }
        let f: f64 = s.parse().ok()?;
        if f.is_finite() && f.to_string() == s {
            Some(Number::Float(f))
        } else if f.is_finite() {
            Some(Number::Big(s.to_owned()))
        } else {
            None
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Big(a), Number::Big(b)) => a == b || a.parse::<f64>().ok() == b.parse::<f64>().ok(),
            (a, b) => a.as_f64() == b.as_f64(),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
            Number::Big(s) => f.write_str(s),
        }
    }
}

/// What Terraform already knows about an unknown value (cty refinements).
/// All fields empty means a plain unknown.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Refinements {
    /// The value will definitely not be null.
    pub definitely_not_null: bool,
    /// A string value will start with this prefix.
    pub string_prefix: Option<String>,
    /// Lower bound of a number, and whether it is inclusive.
    pub number_lower: Option<(Number, bool)>,
    /// Upper bound of a number, and whether it is inclusive.
    pub number_upper: Option<(Number, bool)>,
    /// Minimum length of a collection.
    pub length_lower: Option<u64>,
    /// Maximum length of a collection.
    pub length_upper: Option<u64>,
}

impl Refinements {
    /// True when nothing is known beyond "unknown".
    pub fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }
}

/// A cty value.
#[derive(Clone, Debug)]
pub enum Value {
    /// A null of whatever type the schema says.
    Null,
    /// A value not known until apply, possibly refined.
    Unknown(Refinements),
    /// `bool`
    Bool(bool),
    /// `number`
    Number(Number),
    /// `string`
    String(String),
    /// `list(T)`
    List(Vec<Value>),
    /// `set(T)`: order carries no meaning.
    Set(Vec<Value>),
    /// `map(T)`
    Map(BTreeMap<String, Value>),
    /// `object({...})` and nested blocks.
    Object(BTreeMap<String, Value>),
    /// `tuple([...])`
    Tuple(Vec<Value>),
    /// A value in a `dynamic` slot, with the concrete type it was sent with.
    Dynamic(Box<Type>, Box<Value>),
}

impl Value {
    /// A plain unknown.
    pub fn unknown() -> Value {
        Value::Unknown(Refinements::default())
    }

    /// Convenience for string values.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    /// A list of strings.
    pub fn strings<S: AsRef<str>>(xs: impl IntoIterator<Item = S>) -> Value {
        Value::List(xs.into_iter().map(|x| Value::string(x.as_ref())).collect())
    }
    /// A map of strings.
    pub fn string_map<K: Into<String>, S: Into<String>>(m: impl IntoIterator<Item = (K, S)>) -> Value {
        Value::Map(m.into_iter().map(|(k, v)| (k.into(), Value::string(v))).collect())
    }

    /// True for `Null` (and a null inside a dynamic wrapper).
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Dynamic(_, v) => v.is_null(),
            _ => false,
        }
    }

    /// True if this value itself is unknown (not looking inside).
    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) => true,
            Value::Dynamic(_, v) => v.is_unknown(),
            _ => false,
        }
    }

    /// True if no unknown appears anywhere in the value.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(vs) | Value::Set(vs) | Value::Tuple(vs) => vs.iter().all(Value::is_wholly_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(_, v) => v.is_wholly_known(),
            _ => true,
        }
    }

    /// Replaces every unknown with null: a partial result (an apply that
    /// failed part-way) must be wholly known.
    pub fn unknowns_to_null(&mut self) {
        match self {
            Value::Unknown(_) => *self = Value::Null,
            Value::List(vs) | Value::Set(vs) | Value::Tuple(vs) => vs.iter_mut().for_each(Value::unknowns_to_null),
            Value::Map(m) | Value::Object(m) => m.values_mut().for_each(Value::unknowns_to_null),
            Value::Dynamic(_, inner) => inner.unknowns_to_null(),
            _ => {}
        }
    }

    /// The attribute of an object value, if this is an object holding it.
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.get(name),
            Value::Dynamic(_, v) => v.get_attr(name),
            _ => None,
        }
    }

    /// The string, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Equality as cty defines it for our purposes: sets compare without order,
/// numbers numerically, unknowns equal when their refinements are.
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Unknown(a), Unknown(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) | (List(a), Tuple(b)) | (Tuple(a), List(b)) => a == b,
            (Set(a), Set(b)) => set_eq(a, b),
            (Map(a), Map(b)) | (Object(a), Object(b)) | (Map(a), Object(b)) | (Object(a), Map(b)) => a == b,
            (Dynamic(ta, a), Dynamic(tb, b)) => ta == tb && a == b,
            (Dynamic(_, a), b) => **a == *b,
            (a, Dynamic(_, b)) => *a == **b,
            _ => false,
        }
    }
}

fn set_eq(a: &[Value], b: &[Value]) -> bool {
    a.iter().all(|x| b.contains(x)) && b.iter().all(|y| a.contains(y))
}

/// Why a value did not fit the type it was encoded or decoded with.
/// The path says where, in Terraform's own spelling.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{}{message}", path_prefix(path))]
pub struct ValueError {
    /// Where in the value the problem is, like `.subnets[0].name`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn path_prefix(p: &str) -> String {
    if p.is_empty() { String::new() } else { format!("at {p}: ") }
}

impl ValueError {
    pub(crate) fn new(path: &str, message: impl Into<String>) -> Self {
        ValueError { path: path.to_owned(), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_compare_without_order_and_numbers_numerically() {
        let a = Value::Set(vec![Value::string("x"), Value::string("y")]);
        let b = Value::Set(vec![Value::string("y"), Value::string("x")]);
        assert_eq!(a, b);
        assert_eq!(Value::Number(Number::Int(3)), Value::Number(Number::Float(3.0)));
        assert_ne!(Value::Null, Value::unknown());
    }

    #[test]
    fn numbers_parse_exactly() {
        assert_eq!(Number::parse("42"), Some(Number::Int(42)));
        assert!(matches!(Number::parse("0.5"), Some(Number::Float(f)) if f == 0.5));
        assert!(matches!(Number::parse("18446744073709551616"), Some(Number::Big(_))));
        assert_eq!(Number::parse("nope"), None);
    }
}

//! cty types and their JSON type-constraint form (`"string"`, `["list","number"]`,
//! `["object",{…},["optional"]]`), used in schemas and in `dynamic` values.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value as Json;

/// A cty type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// `bool`
    Bool,
    /// `number` (arbitrary precision in cty)
    Number,
    /// `string`
    String,
    /// `dynamic`: the value carries its own type on the wire.
    Dynamic,
    /// `list(T)`
    List(Box<Type>),
    /// `set(T)`
    Set(Box<Type>),
    /// `map(T)`
    Map(Box<Type>),
    /// `object({...})`
    Object(ObjectType),
    /// `tuple([...])`
    Tuple(Vec<Type>),
}

/// Attribute types of an object type, plus the attributes marked optional
/// (only meaningful in type constraints such as function parameters).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectType {
    /// Attribute name to type.
    pub attrs: BTreeMap<String, Type>,
    /// Attributes that may be omitted in a type constraint.
    pub optional: BTreeSet<String>,
}

/// A type-constraint JSON document that is not a valid cty type.
#[derive(Debug, thiserror::Error)]
#[error("invalid type constraint {json}: {reason}")]
pub struct TypeJsonError {
    json: String,
    reason: &'static str,
}

impl Type {
    /// `list(elem)`
    pub fn list(elem: Type) -> Type {
        Type::List(Box::new(elem))
    }
    /// `set(elem)`
    pub fn set(elem: Type) -> Type {
        Type::Set(Box::new(elem))
    }
    /// `map(elem)`
    pub fn map(elem: Type) -> Type {
        Type::Map(Box::new(elem))
    }
    /// `object({...})` from (name, type) pairs.
    pub fn object<I, S>(attrs: I) -> Type
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Type::Object(ObjectType { attrs: attrs.into_iter().map(|(k, v)| (k.into(), v)).collect(), optional: BTreeSet::new() })
    }

    /// The JSON type-constraint form Terraform uses in schemas and dynamic values.
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => Json::from("bool"),
            Type::Number => Json::from("number"),
            Type::String => Json::from("string"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(e) => Json::Array(vec!["list".into(), e.to_json()]),
            Type::Set(e) => Json::Array(vec!["set".into(), e.to_json()]),
            Type::Map(e) => Json::Array(vec!["map".into(), e.to_json()]),
            Type::Object(o) => {
                let attrs = o.attrs.iter().map(|(k, t)| (k.clone(), t.to_json())).collect();
                let mut parts = vec![Json::from("object"), Json::Object(attrs)];
                if !o.optional.is_empty() {
                    parts.push(Json::Array(o.optional.iter().map(|s| Json::from(s.as_str())).collect()));
                }
                Json::Array(parts)
            }
            Type::Tuple(ts) => Json::Array(vec!["tuple".into(), Json::Array(ts.iter().map(Type::to_json).collect())]),
        }
    }

    /// Serialised type-constraint bytes (as in `Schema.Attribute.type`).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).expect("type JSON always serialises")
    }

    /// Parses the JSON type-constraint form.
    pub fn from_json(json: &Json) -> Result<Type, TypeJsonError> {
        let err = |reason| TypeJsonError { json: json.to_string(), reason };
        match json {
            Json::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(err("unknown primitive type")),
            },
            Json::Array(parts) => {
                let kind = parts.first().and_then(Json::as_str).ok_or_else(|| err("missing type kind"))?;
                match (kind, parts.len()) {
                    ("list", 2) => Ok(Type::list(Type::from_json(&parts[1])?)),
                    ("set", 2) => Ok(Type::set(Type::from_json(&parts[1])?)),
                    ("map", 2) => Ok(Type::map(Type::from_json(&parts[1])?)),
                    ("tuple", 2) => {
                        let elems = parts[1].as_array().ok_or_else(|| err("tuple element types must be an array"))?;
                        Ok(Type::Tuple(elems.iter().map(Type::from_json).collect::<Result<_, _>>()?))
                    }
                    ("object", 2 | 3) => {
                        let attrs = parts[1].as_object().ok_or_else(|| err("object attributes must be a JSON object"))?;
                        let mut obj = ObjectType::default();
                        for (k, v) in attrs {
                            obj.attrs.insert(k.clone(), Type::from_json(v)?);
                        }
                        if let Some(opt) = parts.get(2) {
                            let opt = opt.as_array().ok_or_else(|| err("optional attributes must be an array"))?;
                            for o in opt {
                                let name = o.as_str().ok_or_else(|| err("optional attribute names must be strings"))?;
                                if !obj.attrs.contains_key(name) {
                                    return Err(err("optional attribute not in the object type"));
                                }
                                obj.optional.insert(name.to_owned());
                            }
                        }
                        Ok(Type::Object(obj))
                    }
                    _ => Err(err("unknown type kind or wrong arity")),
                }
            }
            _ => Err(err("a type is a string or an array")),
        }
    }

    /// Parses serialised type-constraint bytes.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, TypeJsonError> {
        let json: Json = serde_json::from_slice(bytes)
            .map_err(|_| TypeJsonError { json: String::from_utf8_lossy(bytes).into_owned(), reason: "not JSON" })?;
        Type::from_json(&json)
    }
}

impl fmt::Display for Type {
    /// HCL-style spelling, for error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::Dynamic => f.write_str("dynamic"),
            Type::List(e) => write!(f, "list({e})"),
            Type::Set(e) => write!(f, "set({e})"),
            Type::Map(e) => write!(f, "map({e})"),
            Type::Object(o) => {
                f.write_str("object({")?;
                for (i, (k, t)) in o.attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={t}")?;
                }
                f.write_str("})")
            }
            Type::Tuple(ts) => {
                f.write_str("tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_json_round_trips_every_kind() {
        let cases = [
            r#""string""#,
            r#""dynamic""#,
            r#"["list","number"]"#,
            r#"["set",["map","bool"]]"#,
            r#"["object",{"a":"string","b":["list","number"]}]"#,
            r#"["object",{"a":"string","b":"number"},["b"]]"#,
            r#"["tuple",["string","number","dynamic"]]"#,
        ];
        for c in cases {
            let t = Type::from_json_bytes(c.as_bytes()).unwrap();
            assert_eq!(String::from_utf8(t.to_json_bytes()).unwrap(), c);
        }
    }

    #[test]
    fn malformed_type_json_is_an_error_not_a_panic() {
        for c in [r#""strin""#, r#"["list"]"#, r#"["object",[]]"#, r#"["object",{"a":"string"},["b"]]"#, "42", "{", r#"[1,2]"#] {
            assert!(Type::from_json_bytes(c.as_bytes()).is_err(), "{c}");
        }
    }

    #[test]
    fn display_uses_hcl_spelling() {
        let t = Type::object([("names", Type::map(Type::String)), ("n", Type::Number)]);
        assert_eq!(t.to_string(), "object({n=number, names=map(string)})");
    }
}

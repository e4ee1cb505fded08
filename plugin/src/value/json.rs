//! The JSON form of cty values: how Terraform stores state (`RawState.json`).
//! Unknowns cannot be represented; missing object attributes decode as null
//! and unexpected ones are an error, as in cty's JSON decoder.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::{Number, Type, Value, ValueError};

/// Decodes JSON bytes as a value of type `ty`.
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let json: Json = serde_json::from_slice(bytes).map_err(|e| ValueError::new("", format!("malformed JSON: {e}")))?;
    from_json(&json, ty, &mut String::new())
}

/// Encodes a wholly known value as JSON for type `ty`.
pub fn encode_json(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let json = to_json(value, ty, &mut String::new())?;
    Ok(serde_json::to_vec(&json).expect("JSON values always serialise"))
}

fn step<T>(path: &mut String, s: String, f: impl FnOnce(&mut String) -> Result<T, ValueError>) -> Result<T, ValueError> {
    let len = path.len();
    path.push_str(&s);
    let r = f(path);
    path.truncate(len);
    r
}

pub(crate) fn from_json(json: &Json, ty: &Type, path: &mut String) -> Result<Value, ValueError> {
    if json.is_null() {
        return Ok(Value::Null);
    }
    let mismatch = |what: &str| ValueError::new(path, format!("{what} required"));
    match ty {
        Type::Bool => json.as_bool().map(Value::Bool).ok_or_else(|| mismatch("bool")),
        Type::String => json.as_str().map(Value::string).ok_or_else(|| mismatch("string")),
        Type::Number => match json {
            Json::Number(n) => Ok(Value::Number(if let Some(i) = n.as_i64() {
                Number::Int(i)
            } else if let Some(u) = n.as_u64() {
                Number::Big(u.to_string())
            } else {
                Number::Float(n.as_f64().unwrap_or(f64::NAN))
            })),
            // cty accepts numbers written as strings too
            Json::String(s) => Number::parse(s).map(Value::Number).ok_or_else(|| mismatch("number")),
            _ => Err(mismatch("number")),
        },
        Type::Dynamic => {
            let obj = json.as_object().ok_or_else(|| mismatch("dynamic value object with \"value\" and \"type\""))?;
            let t = Type::from_json(obj.get("type").ok_or_else(|| mismatch("\"type\" in dynamic value"))?)
                .map_err(|e| ValueError::new(path, e.to_string()))?;
            let inner = from_json(obj.get("value").unwrap_or(&Json::Null), &t, path)?;
            Ok(Value::Dynamic(Box::new(t), Box::new(inner)))
        }
        Type::List(e) | Type::Set(e) => {
            let items = json.as_array().ok_or_else(|| mismatch("array"))?;
            let vs = items
                .iter()
                .enumerate()
                .map(|(i, it)| step(path, format!("[{i}]"), |p| from_json(it, e, p)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if matches!(ty, Type::Set(_)) { Value::Set(vs) } else { Value::List(vs) })
        }
        Type::Tuple(ts) => {
            let items = json.as_array().ok_or_else(|| mismatch("array"))?;
            if items.len() != ts.len() {
                return Err(ValueError::new(path, format!("a tuple of length {} is required", ts.len())));
            }
            let vs = items
                .iter()
                .zip(ts)
                .enumerate()
                .map(|(i, (it, t))| step(path, format!("[{i}]"), |p| from_json(it, t, p)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Tuple(vs))
        }
        Type::Map(e) => {
            let m = json.as_object().ok_or_else(|| mismatch("object"))?;
            let mut out = BTreeMap::new();
            for (k, v) in m {
                out.insert(k.clone(), step(path, format!("[{k:?}]"), |p| from_json(v, e, p))?);
            }
            Ok(Value::Map(out))
        }
        Type::Object(o) => {
            let m = json.as_object().ok_or_else(|| mismatch("object"))?;
            if let Some(extra) = m.keys().find(|k| !o.attrs.contains_key(*k)) {
                return Err(ValueError::new(path, format!("unsupported attribute {extra:?}")));
            }
            let mut out = BTreeMap::new();
            for (k, aty) in &o.attrs {
                let v = match m.get(k) {
                    Some(v) => step(path, format!(".{k}"), |p| from_json(v, aty, p))?,
                    None => Value::Null,
                };
                out.insert(k.clone(), v);
            }
            Ok(Value::Object(out))
        }
    }
}

fn to_json(value: &Value, ty: &Type, path: &mut String) -> Result<Json, ValueError> {
    match (ty, value) {
        (_, Value::Unknown(_)) => Err(ValueError::new(path, "unknown values cannot be written as JSON")),
        (Type::Dynamic, Value::Null) => Ok(Json::Null),
        (Type::Dynamic, Value::Dynamic(t, v)) => Ok(serde_json::json!({ "value": to_json(v, t, path)?, "type": t.to_json() })),
        (Type::Dynamic, other) => {
            let t = super::msgpack::infer_type(other).ok_or_else(|| ValueError::new(path, "cannot tell the type of a dynamic value"))?;
            Ok(serde_json::json!({ "value": to_json(other, &t, path)?, "type": t.to_json() }))
        }
        (_, Value::Null) => Ok(Json::Null),
        (_, Value::Dynamic(_, v)) => to_json(v, ty, path),
        (Type::Bool, Value::Bool(b)) => Ok(Json::Bool(*b)),
        (Type::String, Value::String(s)) => Ok(Json::String(s.clone())),
        (Type::Number, Value::Number(n)) => Ok(match n {
            Number::Int(i) => Json::from(*i),
            Number::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or_else(|| Json::String(f.to_string())),
            Number::Big(s) => serde_json::from_str::<Json>(s).unwrap_or_else(|_| Json::String(s.clone())),
        }),
        (Type::List(e) | Type::Set(e), Value::List(vs) | Value::Set(vs) | Value::Tuple(vs)) => Ok(Json::Array(
            vs.iter().enumerate().map(|(i, v)| step(path, format!("[{i}]"), |p| to_json(v, e, p))).collect::<Result<_, _>>()?,
        )),
        (Type::Tuple(ts), Value::List(vs) | Value::Tuple(vs)) if ts.len() == vs.len() => Ok(Json::Array(
            vs.iter()
                .zip(ts)
                .enumerate()
                .map(|(i, (v, t))| step(path, format!("[{i}]"), |p| to_json(v, t, p)))
                .collect::<Result<_, _>>()?,
        )),
        (Type::Map(e), Value::Map(m) | Value::Object(m)) => Ok(Json::Object(
            m.iter().map(|(k, v)| Ok((k.clone(), step(path, format!("[{k:?}]"), |p| to_json(v, e, p))?))).collect::<Result<_, _>>()?,
        )),
        (Type::Object(o), Value::Object(m) | Value::Map(m)) => {
            let mut out = serde_json::Map::new();
            for (k, aty) in &o.attrs {
                let v = m.get(k).unwrap_or(&Value::Null);
                out.insert(k.clone(), step(path, format!(".{k}"), |p| to_json(v, aty, p))?);
            }
            Ok(Json::Object(out))
        }
        (t, _) => Err(ValueError::new(path, format!("value does not fit type {t}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_json_fills_missing_attributes_with_null() {
        let ty = Type::object([("id", Type::String), ("tags", Type::map(Type::String))]);
        let v = decode_json(br#"{"id":"x"}"#, &ty).unwrap();
        assert_eq!(v.get_attr("tags"), Some(&Value::Null));
    }

    #[test]
    fn state_json_rejects_unexpected_attributes() {
        let ty = Type::object([("id", Type::String)]);
        let err = decode_json(br#"{"id":"x","gone":1}"#, &ty).unwrap_err();
        assert_eq!(err.message, "unsupported attribute \"gone\"");
    }

    #[test]
    fn json_round_trips_nested_values_and_dynamic() {
        let ty = Type::object([
            ("n", Type::Number),
            ("s", Type::set(Type::String)),
            ("d", Type::Dynamic),
            ("t", Type::Tuple(vec![Type::Bool, Type::String])),
        ]);
        let bytes = br#"{"d":{"type":["list","number"],"value":[1,2.5]},"n":3,"s":["a","b"],"t":[true,"x"]}"#;
        let v = decode_json(bytes, &ty).unwrap();
        assert_eq!(String::from_utf8(encode_json(&v, &ty).unwrap()).unwrap(), String::from_utf8(bytes.to_vec()).unwrap());
    }

    #[test]
    fn unknowns_cannot_be_written_as_json() {
        assert!(encode_json(&Value::unknown(), &Type::String).is_err());
    }
}

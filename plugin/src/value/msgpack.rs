//! The msgpack form of cty values (Terraform's `DynamicValue.msgpack`),
//! decoded and encoded against a type, as cty's own codec does.
//!
//! Rules that matter (object-wire-format.md and cty/msgpack): any extension
//! is an unknown (type 12 carries refinements); objects carry exactly one
//! entry per attribute; numbers arrive as int, uint, float or decimal string;
//! a `dynamic` slot is `[type JSON bytes, value]`.

use std::collections::BTreeMap;

use rmpv::Value as Mp;

use super::{Number, Refinements, Type, Value, ValueError};

const EXT_UNKNOWN: i8 = 0;
const EXT_REFINED_UNKNOWN: i8 = 12;

/// Decodes msgpack bytes as a value of type `ty`. Malformed input is an
/// error, never a panic.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, ValueError> {
    let mut rd = bytes;
    let mp = rmpv::decode::read_value(&mut rd).map_err(|e| ValueError::new("", format!("malformed msgpack: {e}")))?;
    if !rd.is_empty() {
        return Err(ValueError::new("", format!("{} trailing bytes after the value", rd.len())));
    }
    from_mp(&mp, ty, &mut String::new())
}

/// Encodes `value` as msgpack for type `ty`.
pub fn encode_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, ValueError> {
    let mp = to_mp(value, ty, &mut String::new())?;
    let mut out = Vec::with_capacity(64);
    rmpv::encode::write_value(&mut out, &mp).map_err(|e| ValueError::new("", format!("msgpack write: {e}")))?;
    Ok(out)
}

fn with_path<T>(path: &mut String, step: &str, f: impl FnOnce(&mut String) -> Result<T, ValueError>) -> Result<T, ValueError> {
    let len = path.len();
    path.push_str(step);
    let r = f(path);
    path.truncate(len);
    r
}

fn from_mp(mp: &Mp, ty: &Type, path: &mut String) -> Result<Value, ValueError> {
    if let Mp::Ext(kind, payload) = mp {
        return Ok(Value::Unknown(if *kind == EXT_REFINED_UNKNOWN { decode_refinements(payload) } else { Refinements::default() }));
    }
    if *ty == Type::Dynamic {
        return match mp {
            Mp::Nil => Ok(Value::Null),
            Mp::Array(parts) if parts.len() == 2 => {
                let type_bytes = match &parts[0] {
                    Mp::Binary(b) => b.as_slice(),
                    Mp::String(s) => s.as_bytes(),
                    _ => return Err(ValueError::new(path, "dynamic value type must be bytes")),
                };
                let inner_ty = Type::from_json_bytes(type_bytes).map_err(|e| ValueError::new(path, e.to_string()))?;
                let inner = from_mp(&parts[1], &inner_ty, path)?;
                Ok(Value::Dynamic(Box::new(inner_ty), Box::new(inner)))
            }
            _ => Err(ValueError::new(path, "a dynamic value must be a [type, value] pair")),
        };
    }
    if let Mp::Nil = mp {
        return Ok(Value::Null);
    }
    let mismatch = |what: &str| ValueError::new(path, format!("{what} required, got {}", mp_kind(mp)));
    match ty {
        Type::Bool => mp.as_bool().map(Value::Bool).ok_or_else(|| mismatch("bool")),
        Type::String => match mp {
            Mp::String(s) => s.as_str().map(Value::string).ok_or_else(|| ValueError::new(path, "string is not valid UTF-8")),
            _ => Err(mismatch("string")),
        },
        Type::Number => match mp {
            Mp::Integer(i) => Ok(Value::Number(match i.as_i64() {
                Some(v) => Number::Int(v),
                None => Number::Big(i.as_u64().map(|u| u.to_string()).unwrap_or_default()),
            })),
            Mp::F32(f) => Ok(Value::Number(Number::Float(f64::from(*f)))),
            Mp::F64(f) => Ok(Value::Number(Number::Float(*f))),
            Mp::String(s) => s
                .as_str()
                .and_then(Number::parse)
                .map(Value::Number)
                .ok_or_else(|| ValueError::new(path, "number string is not a decimal number")),
            _ => Err(mismatch("number")),
        },
        Type::List(e) | Type::Set(e) => {
            let items = mp.as_array().ok_or_else(|| mismatch("array"))?;
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                out.push(with_path(path, &format!("[{i}]"), |p| from_mp(it, e, p))?);
            }
            Ok(if matches!(ty, Type::Set(_)) { Value::Set(out) } else { Value::List(out) })
        }
        Type::Tuple(ts) => {
            let items = mp.as_array().ok_or_else(|| mismatch("array"))?;
            if items.len() != ts.len() {
                return Err(ValueError::new(path, format!("a tuple of length {} is required ({} given)", ts.len(), items.len())));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (it, t)) in items.iter().zip(ts).enumerate() {
                out.push(with_path(path, &format!("[{i}]"), |p| from_mp(it, t, p))?);
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(e) => {
            let entries = mp.as_map().ok_or_else(|| mismatch("map"))?;
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = k.as_str().ok_or_else(|| ValueError::new(path, "map keys must be strings"))?;
                let val = with_path(path, &format!("[{key:?}]"), |p| from_mp(v, e, p))?;
                out.insert(key.to_owned(), val);
            }
            Ok(Value::Map(out))
        }
        Type::Object(o) => {
            let entries = mp.as_map().ok_or_else(|| mismatch("object"))?;
            if entries.len() != o.attrs.len() {
                return Err(ValueError::new(
                    path,
                    format!("an object with {} attributes is required ({} given)", o.attrs.len(), entries.len()),
                ));
            }
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = k.as_str().ok_or_else(|| ValueError::new(path, "object keys must be strings"))?;
                let aty = o.attrs.get(key).ok_or_else(|| ValueError::new(path, format!("unsupported attribute {key:?}")))?;
                let val = with_path(path, &format!(".{key}"), |p| from_mp(v, aty, p))?;
                out.insert(key.to_owned(), val);
            }
            Ok(Value::Object(out))
        }
        Type::Dynamic => unreachable!("handled above"),
    }
}

fn mp_kind(mp: &Mp) -> &'static str {
    match mp {
        Mp::Nil => "nil",
        Mp::Boolean(_) => "bool",
        Mp::Integer(_) | Mp::F32(_) | Mp::F64(_) => "number",
        Mp::String(_) => "string",
        Mp::Binary(_) => "bytes",
        Mp::Array(_) => "array",
        Mp::Map(_) => "map",
        Mp::Ext(..) => "extension",
    }
}

fn decode_refinements(payload: &[u8]) -> Refinements {
    // Refinements are advisory: unreadable ones degrade to a plain unknown.
    let mut r = Refinements::default();
    let mut rd = payload;
    let Ok(Mp::Map(entries)) = rmpv::decode::read_value(&mut rd) else {
        return r;
    };
    let bound = |v: &Mp| -> Option<(Number, bool)> {
        let pair = v.as_array()?;
        let n = match pair.first()? {
            Mp::Integer(i) => Number::Int(i.as_i64()?),
            Mp::F64(f) => Number::Float(*f),
            Mp::F32(f) => Number::Float(f64::from(*f)),
            Mp::String(s) => Number::parse(s.as_str()?)?,
            _ => return None,
        };
        Some((n, pair.get(1)?.as_bool()?))
    };
    for (k, v) in &entries {
        match k.as_i64() {
            Some(1) => r.definitely_not_null = v.as_bool() == Some(false),
            Some(2) => r.string_prefix = v.as_str().map(str::to_owned),
            Some(3) => r.number_lower = bound(v),
            Some(4) => r.number_upper = bound(v),
            Some(5) => r.length_lower = v.as_u64(),
            Some(6) => r.length_upper = v.as_u64(),
            _ => {} // keys from newer cty versions are ignored
        }
    }
    r
}

fn encode_refinements(r: &Refinements) -> Vec<u8> {
    let mut entries = Vec::new();
    if r.definitely_not_null {
        entries.push((Mp::from(1), Mp::Boolean(false)));
    }
    if let Some(p) = &r.string_prefix {
        entries.push((Mp::from(2), Mp::from(p.as_str())));
    }
    let bound = |(n, inc): &(Number, bool)| Mp::Array(vec![number_mp(n), Mp::Boolean(*inc)]);
    if let Some(b) = &r.number_lower {
        entries.push((Mp::from(3), bound(b)));
    }
    if let Some(b) = &r.number_upper {
        entries.push((Mp::from(4), bound(b)));
    }
    if let Some(n) = r.length_lower {
        entries.push((Mp::from(5), Mp::from(n)));
    }
    if let Some(n) = r.length_upper {
        entries.push((Mp::from(6), Mp::from(n)));
    }
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &Mp::Map(entries)).expect("writing to a Vec cannot fail");
    out
}

fn number_mp(n: &Number) -> Mp {
    match n {
        Number::Int(i) => Mp::from(*i),
        Number::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Mp::from(*f as i64),
        Number::Float(f) => Mp::F64(*f),
        Number::Big(s) => Mp::from(s.as_str()),
    }
}

fn to_mp(value: &Value, ty: &Type, path: &mut String) -> Result<Mp, ValueError> {
    if let Value::Unknown(r) = value {
        return Ok(if r.is_empty() { Mp::Ext(EXT_UNKNOWN, vec![0]) } else { Mp::Ext(EXT_REFINED_UNKNOWN, encode_refinements(r)) });
    }
    if *ty == Type::Dynamic {
        return match value {
            Value::Null => Ok(Mp::Nil),
            Value::Dynamic(t, v) => Ok(Mp::Array(vec![Mp::Binary(t.to_json_bytes()), to_mp(v, t, path)?])),
            other => {
                let t = infer_type(other).ok_or_else(|| {
                    ValueError::new(path, "cannot tell the type of a value in a dynamic attribute; wrap it in Value::Dynamic")
                })?;
                Ok(Mp::Array(vec![Mp::Binary(t.to_json_bytes()), to_mp(other, &t, path)?]))
            }
        };
    }
    let mismatch = |what: &str| ValueError::new(path, format!("{what} required for type {ty}, got {}", value_kind(value)));
    match (ty, value) {
        (_, Value::Null) => Ok(Mp::Nil),
        (_, Value::Dynamic(t, v)) if **t == *ty => to_mp(v, ty, path),
        (Type::Bool, Value::Bool(b)) => Ok(Mp::Boolean(*b)),
        (Type::String, Value::String(s)) => Ok(Mp::from(s.as_str())),
        (Type::Number, Value::Number(n)) => Ok(number_mp(n)),
        (Type::List(e), Value::List(vs) | Value::Set(vs) | Value::Tuple(vs)) => {
            let mut out = Vec::with_capacity(vs.len());
            for (i, v) in vs.iter().enumerate() {
                out.push(with_path(path, &format!("[{i}]"), |p| to_mp(v, e, p))?);
            }
            Ok(Mp::Array(out))
        }
        (Type::Set(e), Value::List(vs) | Value::Set(vs) | Value::Tuple(vs)) => {
            // A set holds each element once; duplicates would be merged by
            // Terraform and then look like drift.
            let mut unique: Vec<&Value> = Vec::with_capacity(vs.len());
            for v in vs {
                if !unique.contains(&v) {
                    unique.push(v);
                }
            }
            let mut out = Vec::with_capacity(unique.len());
            for (i, v) in unique.into_iter().enumerate() {
                out.push(with_path(path, &format!("[{i}]"), |p| to_mp(v, e, p))?);
            }
            Ok(Mp::Array(out))
        }
        (Type::Tuple(ts), Value::List(vs) | Value::Tuple(vs)) => {
            if vs.len() != ts.len() {
                return Err(ValueError::new(path, format!("a tuple of length {} is required ({} given)", ts.len(), vs.len())));
            }
            let mut out = Vec::with_capacity(vs.len());
            for (i, (v, t)) in vs.iter().zip(ts).enumerate() {
                out.push(with_path(path, &format!("[{i}]"), |p| to_mp(v, t, p))?);
            }
            Ok(Mp::Array(out))
        }
        (Type::Map(e), Value::Map(m) | Value::Object(m)) => {
            let mut out = Vec::with_capacity(m.len());
            for (k, v) in m {
                out.push((Mp::from(k.as_str()), with_path(path, &format!("[{k:?}]"), |p| to_mp(v, e, p))?));
            }
            Ok(Mp::Map(out))
        }
        (Type::Object(o), Value::Object(m) | Value::Map(m)) => {
            if let Some(extra) = m.keys().find(|k| !o.attrs.contains_key(*k)) {
                return Err(ValueError::new(path, format!("unsupported attribute {extra:?}")));
            }
            let mut out = Vec::with_capacity(o.attrs.len());
            for (k, aty) in &o.attrs {
                let v = m.get(k).ok_or_else(|| {
                    ValueError::new(path, format!("attribute {k:?} is missing (every attribute must be present, null if unset)"))
                })?;
                out.push((Mp::from(k.as_str()), with_path(path, &format!(".{k}"), |p| to_mp(v, aty, p))?));
            }
            Ok(Mp::Map(out))
        }
        (Type::Bool, _) => Err(mismatch("bool")),
        (Type::String, _) => Err(mismatch("string")),
        (Type::Number, _) => Err(mismatch("number")),
        (Type::List(_) | Type::Set(_) | Type::Tuple(_), _) => Err(mismatch("a sequence")),
        (Type::Map(_) | Type::Object(_), _) => Err(mismatch("an object")),
        (Type::Dynamic, _) => unreachable!("handled above"),
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown(_) => "unknown",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
        Value::Tuple(_) => "tuple",
        Value::Dynamic(..) => "dynamic",
    }
}

/// Best-effort type of a value with no schema type (for `dynamic` slots).
/// None when the value does not say (nulls and unknowns inside, empty lists).
pub(crate) fn infer_type(v: &Value) -> Option<Type> {
    Some(match v {
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::Dynamic(t, _) => (**t).clone(),
        Value::List(vs) => Type::list(infer_type(vs.first()?)?),
        Value::Set(vs) => Type::set(infer_type(vs.first()?)?),
        Value::Tuple(vs) => Type::Tuple(vs.iter().map(infer_type).collect::<Option<_>>()?),
        Value::Map(m) => Type::map(infer_type(m.values().next()?)?),
        Value::Object(m) => Type::object(m.iter().map(|(k, v)| Some((k.clone(), infer_type(v)?))).collect::<Option<Vec<_>>>()?),
        Value::Null | Value::Unknown(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    #[test]
    fn plain_unknown_is_cty_fixext1_zero() {
        assert_eq!(encode_msgpack(&Value::unknown(), &Type::String).unwrap(), vec![0xd4, 0x00, 0x00]);
    }

    #[test]
    fn any_extension_decodes_as_unknown() {
        // fixext1 type 5: not one cty writes today, still an unknown.
        assert!(decode_msgpack(&[0xd4, 0x05, 0x00], &Type::Number).unwrap().is_unknown());
    }

    #[test]
    fn refined_unknown_round_trips() {
        let r = Refinements {
            definitely_not_null: true,
            string_prefix: Some("rg-".into()),
            length_lower: Some(1),
            length_upper: Some(3),
            number_lower: Some((Number::Int(0), true)),
            number_upper: Some((Number::Float(2.5), false)),
        };
        let bytes = encode_msgpack(&Value::Unknown(r.clone()), &Type::String).unwrap();
        assert_eq!(bytes[0], 0xc7, "ext8 with a payload");
        assert_eq!(decode_msgpack(&bytes, &Type::String).unwrap(), Value::Unknown(r));
    }

    #[test]
    fn numbers_accept_int_uint_float_and_decimal_string() {
        let cases: [(&[u8], Number); 4] = [
            (&[0x2a], Number::Int(42)),
            (&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], Number::Big("18446744073709551615".into())),
            (&[0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0], Number::Float(0.5)),
            (&[0xa3, b'1', b'.', b'5'], Number::Float(1.5)),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode_msgpack(bytes, &Type::Number).unwrap(), Value::Number(want));
        }
    }

    #[test]
    fn object_must_carry_every_attribute() {
        let ty = Type::object([("a", Type::String), ("b", Type::String)]);
        let err = encode_msgpack(&obj(&[("a", Value::string("x"))]), &ty).unwrap_err();
        assert!(err.message.contains("\"b\" is missing"), "{err}");
        // decoding: one entry given for a two-attribute object
        let bytes = encode_msgpack(&obj(&[("a", Value::string("x"))]), &Type::object([("a", Type::String)])).unwrap();
        let err = decode_msgpack(&bytes, &ty).unwrap_err();
        assert_eq!(err.message, "an object with 2 attributes is required (1 given)");
    }

    #[test]
    fn dynamic_values_carry_their_type() {
        let v = Value::Dynamic(Box::new(Type::list(Type::String)), Box::new(Value::List(vec![Value::string("a")])));
        let bytes = encode_msgpack(&v, &Type::Dynamic).unwrap();
        assert_eq!(decode_msgpack(&bytes, &Type::Dynamic).unwrap(), v);
        // null dynamic is plain nil, unknown dynamic a bare extension
        assert_eq!(encode_msgpack(&Value::Null, &Type::Dynamic).unwrap(), vec![0xc0]);
        assert!(decode_msgpack(&[0xd4, 0, 0], &Type::Dynamic).unwrap().is_unknown());
    }

    #[test]
    fn sets_drop_duplicates_on_encode() {
        let v = Value::List(vec![Value::string("a"), Value::string("a"), Value::string("b")]);
        let bytes = encode_msgpack(&v, &Type::set(Type::String)).unwrap();
        assert_eq!(decode_msgpack(&bytes, &Type::set(Type::String)).unwrap(), Value::Set(vec![Value::string("a"), Value::string("b")]));
    }

    #[test]
    fn trailing_bytes_and_truncation_are_errors() {
        assert!(decode_msgpack(&[0xc0, 0xc0], &Type::String).is_err());
        assert!(decode_msgpack(&[0x92, 0xa1], &Type::list(Type::String)).is_err());
        assert!(decode_msgpack(&[], &Type::String).is_err());
    }

    fn arb_type() -> impl Strategy<Value = Type> {
        let leaf = prop_oneof![Just(Type::Bool), Just(Type::Number), Just(Type::String), Just(Type::Dynamic)];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(Type::list),
                inner.clone().prop_map(Type::set),
                inner.clone().prop_map(Type::map),
                prop::collection::vec(inner.clone(), 0..3).prop_map(Type::Tuple),
                prop::collection::btree_map("[a-z]{1,4}", inner, 0..4).prop_map(Type::object),
            ]
        })
    }

    fn arb_value(ty: Type) -> BoxedStrategy<Value> {
        let special = prop_oneof![Just(Value::Null), Just(Value::unknown())];
        let known: BoxedStrategy<Value> = match ty.clone() {
            Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
            Type::Number => prop_oneof![
                any::<i64>().prop_map(|i| Value::Number(Number::Int(i))),
                (-1e12f64..1e12).prop_map(|f| Value::Number(Number::Float(f))),
            ]
            .boxed(),
            Type::String => ".{0,8}".prop_map(Value::String).boxed(),
            Type::Dynamic => prop_oneof![
                ".{0,4}".prop_map(|s| Value::Dynamic(Box::new(Type::String), Box::new(Value::String(s)))),
                any::<bool>().prop_map(|b| Value::Dynamic(Box::new(Type::list(Type::Bool)), Box::new(Value::List(vec![Value::Bool(b)])))),
            ]
            .boxed(),
            Type::List(e) => prop::collection::vec(arb_value(*e), 0..3).prop_map(Value::List).boxed(),
            Type::Set(e) => prop::collection::vec(arb_value(*e), 0..3)
                .prop_map(|vs| {
                    let mut u: Vec<Value> = Vec::new();
                    for v in vs {
                        if !u.contains(&v) {
                            u.push(v);
                        }
                    }
                    Value::Set(u)
                })
                .boxed(),
            Type::Map(e) => prop::collection::btree_map("[a-z]{0,3}", arb_value(*e), 0..3).prop_map(Value::Map).boxed(),
            Type::Tuple(ts) => ts.into_iter().map(arb_value).collect::<Vec<_>>().prop_map(Value::Tuple).boxed(),
            Type::Object(o) => {
                let keys: Vec<String> = o.attrs.keys().cloned().collect();
                o.attrs
                    .into_values()
                    .map(arb_value)
                    .collect::<Vec<_>>()
                    .prop_map(move |vs| Value::Object(keys.iter().cloned().zip(vs).collect()))
                    .boxed()
            }
        };
        prop_oneof![1 => special, 6 => known].boxed()
    }

    proptest! {
        #[test]
        fn every_value_round_trips_through_msgpack((ty, v) in arb_type().prop_flat_map(|t| (Just(t.clone()), arb_value(t)))) {
            let bytes = encode_msgpack(&v, &ty).unwrap();
            prop_assert_eq!(decode_msgpack(&bytes, &ty).unwrap(), v);
        }

        #[test]
        fn malformed_bytes_never_panic(ty in arb_type(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_msgpack(&bytes, &ty);
        }
    }
}

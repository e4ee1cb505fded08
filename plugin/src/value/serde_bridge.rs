//! Typed models over [`Value`]: `#[derive(Serialize, Deserialize)]` structs
//! whose fields are named like the schema's attributes, with [`Val<T>`] where
//! an attribute can be null or unknown.
//!
//! Written by hand because no crate maps serde onto cty's three-state values
//! (known, null, unknown); the unknown state travels through serde as a
//! marker newtype/unit-struct name that only this module understands.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize};
use serde::{Deserialize, Deserializer, Serializer};

use super::{Number, Value, ValueError};

const VAL_MARKER: &str = "$trench::Val";
const UNKNOWN_MARKER: &str = "$trench::Unknown";

/// An attribute value that may be known, null or unknown (not known until
/// apply). `Known` means wholly known: a value with an unknown anywhere
/// inside reads as `Unknown`.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Val<T> {
    /// A known value.
    Known(T),
    /// Null: unset in config, or absent.
    #[default]
    Null,
    /// Not known until apply.
    Unknown,
}

impl<T> Val<T> {
    /// The known value, if any.
    pub fn known(&self) -> Option<&T> {
        match self {
            Val::Known(t) => Some(t),
            _ => None,
        }
    }
    /// True if unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Val::Unknown)
    }
    /// True if null.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
    /// Null read as "not known yet": a computed value a prior state has not
    /// learnt is known after apply, not absent.
    pub fn or_unknown(self) -> Val<T> {
        match self {
            Val::Null => Val::Unknown,
            v => v,
        }
    }
    /// Consumes into an Option, treating unknown as absent.
    pub fn into_option(self) -> Option<T> {
        match self {
            Val::Known(t) => Some(t),
            _ => None,
        }
    }
}

impl<T> From<Option<T>> for Val<T> {
    fn from(o: Option<T>) -> Self {
        o.map_or(Val::Null, Val::Known)
    }
}

impl<T: Serialize> Serialize for Val<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Known(t) => t.serialize(s),
            Val::Null => s.serialize_none(),
            Val::Unknown => s.serialize_unit_struct(UNKNOWN_MARKER),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Val<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Val<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a known, null or unknown value")
            }
            fn visit_none<E: de::Error>(self) -> Result<Val<T>, E> {
                Ok(Val::Null)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Val<T>, E> {
                Ok(Val::Unknown)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Val<T>, D::Error> {
                T::deserialize(d).map(Val::Known)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Val<T>, D::Error> {
                T::deserialize(d).map(Val::Known)
            }
        }
        d.deserialize_newtype_struct(VAL_MARKER, V(std::marker::PhantomData))
    }
}

/// A model with every attribute unknown ("known after apply"): what a plan
/// says of computed values before the names they derive from are known.
pub fn all_unknown<T: Serialize + DeserializeOwned + Default>() -> Result<T, ValueError> {
    let mut v = to_value(&T::default())?;
    if let Value::Object(m) = &mut v {
        m.values_mut().for_each(|x| *x = Value::unknown());
    }
    from_value(&v)
}

/// Converts a typed model into a [`Value`].
pub fn to_value<T: Serialize + ?Sized>(t: &T) -> Result<Value, ValueError> {
    t.serialize(ValueSerializer)
}

/// Reads a typed model out of a [`Value`]. Unknowns are only accepted where
/// the model says [`Val`].
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, ValueError> {
    T::deserialize(ValueDeserializer { value: v, path: String::new() })
}

impl ser::Error for ValueError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        ValueError::new("", msg.to_string())
    }
}

impl de::Error for ValueError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        ValueError::new("", msg.to_string())
    }
}

// ---------------------------------------------------------------- serializer

struct ValueSerializer;

struct SeqSer(Vec<Value>);
struct MapSer {
    map: BTreeMap<String, Value>,
    key: Option<String>,
    is_struct: bool,
}

impl Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = ser::Impossible<Value, ValueError>;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = ser::Impossible<Value, ValueError>;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        Ok(Value::Number(Number::Int(v)))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        self.serialize_i64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        self.serialize_i64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        self.serialize_i64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        Ok(Value::Number(i64::try_from(v).map(Number::Int).unwrap_or_else(|_| Number::Big(v.to_string()))))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        Ok(Value::Number(Number::Float(v)))
    }
    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::string(v))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Value, ValueError> {
        Err(ValueError::new("", "cty has no bytes type"))
    }
    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, ValueError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Value, ValueError> {
        Ok(if name == UNKNOWN_MARKER { Value::unknown() } else { Value::Null })
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Value, ValueError> {
        Ok(Value::string(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<Value, ValueError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<Value, ValueError> {
        Err(ValueError::new("", format!("enum variant {variant} with data has no cty form")))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, ValueError> {
        Ok(SeqSer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer, ValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        Err(ValueError::new("", format!("enum variant {v} with data has no cty form")))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSer, ValueError> {
        Ok(MapSer { map: BTreeMap::new(), key: None, is_struct: false })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapSer, ValueError> {
        Ok(MapSer { map: BTreeMap::new(), key: None, is_struct: true })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        Err(ValueError::new("", format!("enum variant {v} with data has no cty form")))
    }
}

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.0.push(v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Tuple(self.0))
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Tuple(self.0))
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), ValueError> {
        match k.serialize(ValueSerializer)? {
            Value::String(s) => {
                self.key = Some(s);
                Ok(())
            }
            _ => Err(ValueError::new("", "map keys must be strings")),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        let k = self.key.take().ok_or_else(|| ValueError::new("", "map value without a key"))?;
        let val = v.serialize(ValueSerializer).map_err(|e| prefix(e, &format!("[{k:?}]")))?;
        self.map.insert(k, val);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(if self.is_struct { Value::Object(self.map) } else { Value::Map(self.map) })
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, k: &'static str, v: &T) -> Result<(), ValueError> {
        let val = v.serialize(ValueSerializer).map_err(|e| prefix(e, &format!(".{k}")))?;
        self.map.insert(k.to_owned(), val);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(self.map))
    }
}

fn prefix(mut e: ValueError, step: &str) -> ValueError {
    e.path = format!("{step}{}", e.path);
    e
}

// -------------------------------------------------------------- deserializer

struct ValueDeserializer<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> ValueDeserializer<'a> {
    fn err(&self, msg: impl Into<String>) -> ValueError {
        ValueError::new(&self.path, msg)
    }
    fn inner(&self) -> &'a Value {
        match self.value {
            Value::Dynamic(_, v) => v,
            v => v,
        }
    }
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Value>,
    idx: usize,
    path: String,
}

impl<'de, 'a> SeqAccess<'de> for SeqDe<'a> {
    type Error = ValueError;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, ValueError> {
        let Some(v) = self.items.next() else { return Ok(None) };
        let d = ValueDeserializer { value: v, path: format!("{}[{}]", self.path, self.idx) };
        self.idx += 1;
        seed.deserialize(d).map(Some)
    }
}

struct MapDe<'a> {
    entries: std::collections::btree_map::Iter<'a, String, Value>,
    pending: Option<(&'a String, &'a Value)>,
    path: String,
    is_object: bool,
}

impl<'de, 'a> MapAccess<'de> for MapDe<'a> {
    type Error = ValueError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, ValueError> {
        let Some((k, v)) = self.entries.next() else { return Ok(None) };
        self.pending = Some((k, v));
        seed.deserialize(k.as_str().into_deserializer()).map(Some)
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, ValueError> {
        let (k, v) = self.pending.take().ok_or_else(|| ValueError::new(&self.path, "value without key"))?;
        let step = if self.is_object { format!(".{k}") } else { format!("[{k:?}]") };
        seed.deserialize(ValueDeserializer { value: v, path: format!("{}{step}", self.path) })
    }
}

macro_rules! forward_to_any {
    ($($m:ident)*) => { $(fn $m<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ValueError> { self.deserialize_any(v) })* };
}

impl<'de, 'a> Deserializer<'de> for ValueDeserializer<'a> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.inner() {
            Value::Null => visitor.visit_unit(),
            Value::Unknown(_) => Err(self.err("value is not known yet")),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(Number::Int(i)) => visitor.visit_i64(*i),
            Value::Number(n @ Number::Float(f)) => match n.as_i64() {
                Some(i) => visitor.visit_i64(i),
                None => visitor.visit_f64(*f),
            },
            Value::Number(Number::Big(s)) => match s.parse::<u64>() {
                Ok(u) => visitor.visit_u64(u),
                Err(_) => visitor.visit_f64(s.parse().map_err(|_| self.err("number out of range"))?),
            },
            Value::String(s) => visitor.visit_str(s),
            Value::List(vs) | Value::Set(vs) | Value::Tuple(vs) => {
                visitor.visit_seq(SeqDe { items: vs.iter(), idx: 0, path: self.path.clone() })
            }
            Value::Map(m) => visitor.visit_map(MapDe { entries: m.iter(), pending: None, path: self.path.clone(), is_object: false }),
            Value::Object(m) => visitor.visit_map(MapDe { entries: m.iter(), pending: None, path: self.path.clone(), is_object: true }),
            Value::Dynamic(..) => unreachable!("inner() unwraps dynamic"),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.inner() {
            Value::Null => visitor.visit_none(),
            Value::Unknown(_) => Err(self.err("value is not known yet")),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, ValueError> {
        if name == VAL_MARKER {
            // Known only when wholly known: a list with one unknown element
            // is, for a typed model, not known yet.
            return match self.inner() {
                Value::Null => visitor.visit_none(),
                v if !v.is_wholly_known() => visitor.visit_unit(),
                _ => visitor.visit_some(self),
            };
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(self, _: &'static str, _: &'static [&'static str], visitor: V) -> Result<V::Value, ValueError> {
        match self.inner() {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()).map_err(|e: ValueError| self.err(e.message)),
            Value::Unknown(_) => Err(self.err("value is not known yet")),
            _ => Err(self.err("expected a string naming one of the allowed values")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(self, _: &'static str, _: &'static [&'static str], visitor: V) -> Result<V::Value, ValueError> {
        match self.inner() {
            Value::Object(_) | Value::Map(_) => self.deserialize_any(visitor),
            Value::Null => Err(self.err("a value is required here")),
            Value::Unknown(_) => Err(self.err("value is not known yet")),
            _ => Err(self.err("expected an object")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.inner() {
            Value::String(s) => visitor.visit_str(s),
            Value::Null => Err(self.err("a value is required here")),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_string(visitor)
    }

    forward_to_any! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128 deserialize_f32
        deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_seq deserialize_map deserialize_identifier
    }

    /// Fields a model does not name are skipped whatever they hold,
    /// unknowns included.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_any(visitor)
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_any(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, _: usize, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_any(visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Loose,
        Strict,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Subnet {
        name: String,
        prefix: String,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Model {
        id: Val<String>,
        environment: String,
        count: Val<i64>,
        mode: Val<Mode>,
        tags: Option<BTreeMap<String, String>>,
        subnets: Vec<Subnet>,
    }

    #[test]
    fn typed_model_round_trips_known_null_and_unknown() {
        let m = Model {
            id: Val::Unknown,
            environment: "dev".into(),
            count: Val::Null,
            mode: Val::Known(Mode::Strict),
            tags: Some(BTreeMap::from([("owner".into(), "platform".into())])),
            subnets: vec![Subnet { name: "aks-nodes".into(), prefix: "10.1.0.0/22".into() }],
        };
        let v = to_value(&m).unwrap();
        assert!(v.get_attr("id").unwrap().is_unknown());
        assert_eq!(v.get_attr("mode"), Some(&Value::string("strict")));
        let back: Model = from_value(&v).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn fields_the_model_ignores_may_be_unknown() {
        let v = Value::Object(BTreeMap::from([
            ("name".to_owned(), Value::string("a")),
            ("prefix".to_owned(), Value::string("p")),
            ("ip".to_owned(), Value::unknown()),
        ]));
        assert_eq!(from_value::<Subnet>(&v).unwrap().name, "a");
    }

    #[test]
    fn partly_unknown_values_read_as_unknown() {
        let v = Value::Object(BTreeMap::from([("xs".to_owned(), Value::List(vec![Value::string("a"), Value::unknown()]))]));
        #[derive(Deserialize)]
        struct M {
            xs: Val<Vec<String>>,
        }
        assert!(from_value::<M>(&v).unwrap().xs.is_unknown());
    }

    #[test]
    fn unknown_where_the_model_has_no_val_names_the_path() {
        let v = Value::Object(BTreeMap::from([("name".to_owned(), Value::unknown()), ("prefix".to_owned(), Value::string("10.0.0.0/24"))]));
        let err = from_value::<Subnet>(&v).unwrap_err();
        assert_eq!(err.to_string(), "at .name: value is not known yet");
    }

    #[test]
    fn bad_enum_value_is_an_error_with_the_path() {
        let v = Value::Object(BTreeMap::from([("m".to_owned(), Value::string("medium"))]));
        #[derive(Debug, Deserialize)]
        struct W {
            #[allow(dead_code)]
            m: Mode,
        }
        let err = from_value::<W>(&v).unwrap_err();
        assert!(err.to_string().starts_with("at .m: unknown variant `medium`"), "{err}");
    }
}

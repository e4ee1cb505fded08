//! Conversions between generated protobuf types and the framework's types.

use std::collections::HashMap;

use super::proto;
use crate::framework::{AttrPath, AttrType, Attribute, Block, Diagnostics, FunctionError, Nesting, PathStep, Schema, Severity, Signature};
use crate::value::{Type, Value, decode_json, decode_msgpack, encode_msgpack};

pub(super) fn diagnostics(d: &Diagnostics) -> Vec<proto::Diagnostic> {
    d.iter()
        .map(|x| proto::Diagnostic {
            severity: match x.severity {
                Severity::Error => proto::diagnostic::Severity::Error,
                Severity::Warning => proto::diagnostic::Severity::Warning,
            } as i32,
            summary: x.summary.clone(),
            detail: x.detail.clone(),
            attribute: x.path.as_ref().map(path),
        })
        .collect()
}

pub(super) fn path(p: &AttrPath) -> proto::AttributePath {
    use proto::attribute_path::step::Selector;
    proto::AttributePath {
        steps: p
            .0
            .iter()
            .map(|s| proto::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(a) => Selector::AttributeName(a.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

fn markdown() -> i32 {
    proto::StringKind::Markdown as i32
}

fn attribute(a: &Attribute) -> proto::schema::Attribute {
    use crate::framework::Mode;
    let (ty, nested_type) = match &a.ty {
        AttrType::Type(t) => (t.to_json_bytes(), None),
        AttrType::Nested { nesting, attributes } => (
            Vec::new(),
            Some(proto::schema::Object {
                attributes: attributes.iter().map(attribute).collect(),
                nesting: match nesting {
                    Nesting::Single | Nesting::Group => proto::schema::object::NestingMode::Single,
                    Nesting::List => proto::schema::object::NestingMode::List,
                    Nesting::Set => proto::schema::object::NestingMode::Set,
                    Nesting::Map => proto::schema::object::NestingMode::Map,
                } as i32,
                min_items: 0,
                max_items: 0,
            }),
        ),
    };
    proto::schema::Attribute {
        name: a.name.clone(),
        r#type: ty,
        nested_type,
        description: a.description.clone(),
        required: a.mode == Mode::Required,
        optional: matches!(a.mode, Mode::Optional | Mode::OptionalComputed),
        computed: a.is_computed(),
        sensitive: a.sensitive,
        description_kind: markdown(),
        deprecated: a.deprecated,
        write_only: a.write_only,
    }
}

fn block(b: &Block) -> proto::schema::Block {
    proto::schema::Block {
        version: 0,
        attributes: b.attributes.iter().map(attribute).collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| proto::schema::NestedBlock {
                type_name: nb.name.clone(),
                block: Some(block(&nb.block)),
                nesting: match nb.nesting {
                    Nesting::Single => proto::schema::nested_block::NestingMode::Single,
                    Nesting::Group => proto::schema::nested_block::NestingMode::Group,
                    Nesting::List => proto::schema::nested_block::NestingMode::List,
                    Nesting::Set => proto::schema::nested_block::NestingMode::Set,
                    Nesting::Map => proto::schema::nested_block::NestingMode::Map,
                } as i32,
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: markdown(),
        deprecated: b.deprecated,
    }
}

pub(super) fn schema(s: &Schema) -> proto::Schema {
    let mut b = block(&s.block);
    b.version = s.version;
    proto::Schema { version: s.version, block: Some(b) }
}

pub(super) fn function(sig: &Signature) -> proto::Function {
    proto::Function {
        parameters: sig
            .params
            .iter()
            .map(|p| proto::function::Parameter {
                name: p.name.to_owned(),
                r#type: p.ty.to_json_bytes(),
                allow_null_value: false,
                allow_unknown_values: false,
                description: p.description.to_owned(),
                description_kind: markdown(),
            })
            .collect(),
        variadic_parameter: None,
        r#return: Some(proto::function::Return { r#type: sig.returns.to_json_bytes() }),
        summary: sig.summary.to_owned(),
        description: sig.description.to_owned(),
        description_kind: markdown(),
        deprecation_message: String::new(),
    }
}

pub(super) fn function_error(e: &FunctionError) -> proto::FunctionError {
    proto::FunctionError { text: e.text.clone(), function_argument: e.argument.map(|a| a as i64) }
}

/// Decodes a DynamicValue (msgpack preferred, JSON accepted); an absent
/// value is null.
pub(super) fn decode(dv: Option<&proto::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    let r = if !dv.msgpack.is_empty() {
        decode_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        decode_json(&dv.json, ty)
    } else {
        return Ok(Value::Null);
    };
    r.map_err(|e| Diagnostics::error(format!("Malformed {what}"), format!("Terraform sent a value the provider cannot decode: {e}")))
}

pub(super) fn encode(v: &Value, ty: &Type, what: &str) -> Result<proto::DynamicValue, Diagnostics> {
    encode_msgpack(v, ty)
        .map(|msgpack| proto::DynamicValue { msgpack, json: Vec::new() })
        .map_err(|e| Diagnostics::error(format!("Provider produced an invalid {what}"), format!("This is a bug in the provider: {e}")))
}

pub(super) fn schemas<'a>(items: impl Iterator<Item = (&'a str, Schema)>) -> HashMap<String, proto::Schema> {
    items.map(|(n, s)| (n.to_owned(), schema(&s))).collect()
}

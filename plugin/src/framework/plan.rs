//! Plan helpers shared by every resource: which computed values become
//! unknown, which are kept from state, which changes force replacement (and
//! why), and keeping write-only values out of anything persisted.

use super::{AttrPath, AttrType, Block, Diagnostics, Nesting, PathStep};
use crate::value::Value;

/// The value at `path`, if present.
pub fn value_at<'a>(v: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    let mut cur = v;
    for step in &path.0 {
        cur = match (step, cur) {
            (PathStep::Attr(a), Value::Object(m)) => m.get(a)?,
            (PathStep::Key(k), Value::Map(m) | Value::Object(m)) => m.get(k)?,
            (PathStep::Index(i), Value::List(vs) | Value::Tuple(vs)) => vs.get(usize::try_from(*i).ok()?)?,
            (_, Value::Dynamic(_, inner)) => return value_at(inner, &AttrPath(vec![step.clone()])),
            _ => return None,
        };
    }
    Some(cur)
}

fn attrs_mut(v: &mut Value) -> Option<&mut std::collections::BTreeMap<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// On create (and for computed attributes the user left unset that have no
/// prior value), marks computed attributes unknown: "known after apply".
/// Attributes already holding a value (kept from state) stay as they are.
pub fn mark_computed_unknown(block: &Block, planned: &mut Value, config: &Value) {
    let Some(planned_attrs) = attrs_mut(planned) else { return };
    for a in block.attributes.iter().filter(|a| a.is_computed()) {
        let config_null = config.get_attr(&a.name).is_none_or(Value::is_null);
        if let Some(v) = planned_attrs.get_mut(&a.name)
            && config_null
            && v.is_null()
        {
            *v = Value::unknown();
        }
    }
    for b in block.blocks.iter().filter(|b| matches!(b.nesting, Nesting::Single | Nesting::Group)) {
        if let (Some(pv), Some(cv)) = (planned_attrs.get_mut(&b.name), config.get_attr(&b.name)) {
            mark_computed_unknown(&b.block, pv, cv);
        }
    }
}

/// Marks `outputs` unknown when any of `inputs` differs between prior and
/// planned (or is unknown): derived values are recomputed at apply. When
/// nothing they depend on changed, they keep their state values.
pub fn unknown_when_changed(prior: &Value, planned: &mut Value, inputs: &[&str], outputs: &[&str]) {
    if prior.is_null() {
        return;
    }
    let changed = inputs.iter().any(|i| {
        let (p, n) = (prior.get_attr(i), planned.get_attr(i));
        n.is_some_and(|n| !n.is_wholly_known()) || p != n
    });
    if !changed {
        return;
    }
    if let Some(attrs) = attrs_mut(planned) {
        for o in outputs {
            if let Some(v) = attrs.get_mut(*o) {
                *v = Value::unknown();
            }
        }
    }
}

/// Sets every write-only attribute to null, recursively: Terraform rejects
/// any plan or state that carries one.
pub fn null_write_only(block: &Block, v: &mut Value) {
    let Some(attrs) = attrs_mut(v) else { return };
    for a in &block.attributes {
        if a.write_only {
            if let Some(x) = attrs.get_mut(&a.name) {
                *x = Value::Null;
            }
        } else if let AttrType::Nested { attributes, .. } = &a.ty
            && let Some(x) = attrs.get_mut(&a.name)
        {
            let inner = Block { attributes: attributes.clone(), ..Block::default() };
            for_each_element(x, |e| null_write_only(&inner, e));
        }
    }
    for b in &block.blocks {
        if let Some(x) = attrs.get_mut(&b.name) {
            for_each_element(x, |e| null_write_only(&b.block, e));
        }
    }
}

fn for_each_element(v: &mut Value, mut f: impl FnMut(&mut Value)) {
    match v {
        Value::Object(_) => f(v),
        Value::List(vs) | Value::Set(vs) | Value::Tuple(vs) => vs.iter_mut().for_each(f),
        Value::Map(m) => m.values_mut().for_each(f),
        _ => {}
    }
}

/// An attribute whose change forces replacement, with the reason an
/// operator sees (Azure's rule, not "ForceNew").
#[derive(Clone, Debug)]
pub struct ReplaceRule {
    /// The attribute.
    pub path: AttrPath,
    /// Why Azure forces it.
    pub reason: &'static str,
}

/// Checks replace rules against prior and planned state. Returns the paths
/// for `requires_replace` and a warning per triggered rule stating why.
pub fn requires_replace(prior: &Value, planned: &Value, rules: &[ReplaceRule], type_name: &str) -> (Vec<AttrPath>, Diagnostics) {
    let mut paths = Vec::new();
    let mut diags = Diagnostics::new();
    if prior.is_null() {
        return (paths, diags);
    }
    for r in rules {
        let (p, n) = (value_at(prior, &r.path), value_at(planned, &r.path));
        let changed = match (p, n) {
            (Some(p), Some(n)) => !n.is_wholly_known() || p != n,
            (None, None) => false,
            _ => true,
        };
        if changed {
            paths.push(r.path.clone());
            diags.add_warning(Some(r.path.clone()), format!("Changing {} replaces the {type_name}", r.path), r.reason.to_owned());
        }
    }
    (paths, diags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{Attribute, Block, Mode};
    use crate::value::Type;
    use std::collections::BTreeMap;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect::<BTreeMap<_, _>>())
    }

    fn block() -> Block {
        Block::new("t")
            .attr(Attribute::required("location", Type::String).describe("l"))
            .attr(Attribute::computed("id", Type::String).describe("i"))
            .attr(Attribute::optional_computed("sku", Type::String).describe("s"))
            .attr(Attribute::optional("password", Type::String).describe("p").write_only())
            .attr(
                Attribute::nested(
                    "pools",
                    Nesting::List,
                    Mode::Optional,
                    vec![
                        Attribute::required("name", Type::String).describe("n"),
                        Attribute::optional("secret", Type::String).describe("s").write_only(),
                    ],
                )
                .describe("pools"),
            )
    }

    #[test]
    fn create_marks_unset_computed_attributes_unknown() {
        let config = obj(&[("location", Value::string("westeurope")), ("id", Value::Null), ("sku", Value::string("Basic"))]);
        let mut planned = obj(&[("location", Value::string("westeurope")), ("id", Value::Null), ("sku", Value::string("Basic"))]);
        mark_computed_unknown(&block(), &mut planned, &config);
        assert!(planned.get_attr("id").unwrap().is_unknown());
        assert_eq!(planned.get_attr("sku"), Some(&Value::string("Basic")), "set by the user: kept");
    }

    #[test]
    fn update_keeps_computed_values_from_state() {
        let config = obj(&[("location", Value::string("westeurope")), ("id", Value::Null), ("sku", Value::Null)]);
        let mut planned = obj(&[("location", Value::string("westeurope")), ("id", Value::string("/x")), ("sku", Value::string("Basic"))]);
        mark_computed_unknown(&block(), &mut planned, &config);
        assert_eq!(planned.get_attr("id"), Some(&Value::string("/x")));
        assert_eq!(planned.get_attr("sku"), Some(&Value::string("Basic")));
    }

    #[test]
    fn derived_values_turn_unknown_only_when_their_inputs_change() {
        let prior = obj(&[("location", Value::string("westeurope")), ("sku", Value::string("x"))]);
        let mut same = prior.clone();
        unknown_when_changed(&prior, &mut same, &["location"], &["sku"]);
        assert_eq!(same.get_attr("sku"), Some(&Value::string("x")));
        let mut moved = obj(&[("location", Value::string("northeurope")), ("sku", Value::string("x"))]);
        unknown_when_changed(&prior, &mut moved, &["location"], &["sku"]);
        assert!(moved.get_attr("sku").unwrap().is_unknown());
    }

    #[test]
    fn write_only_values_are_nulled_everywhere() {
        let mut v = obj(&[
            ("password", Value::string("hunter2")),
            ("pools", Value::List(vec![obj(&[("name", Value::string("a")), ("secret", Value::string("s"))])])),
        ]);
        null_write_only(&block(), &mut v);
        assert_eq!(v.get_attr("password"), Some(&Value::Null));
        assert_eq!(value_at(&v, &AttrPath::root("pools").index(0).attr("secret")), Some(&Value::Null));
    }

    #[test]
    fn replace_rules_fire_only_on_change_and_say_why() {
        let rules = [ReplaceRule { path: AttrPath::root("location"), reason: "Azure cannot move it." }];
        let prior = obj(&[("location", Value::string("westeurope"))]);
        let (p, d) = requires_replace(&prior, &prior.clone(), &rules, "hub");
        assert!(p.is_empty() && d.is_empty());
        let planned = obj(&[("location", Value::string("northeurope"))]);
        let (p, d) = requires_replace(&prior, &planned, &rules, "hub");
        assert_eq!(p, vec![AttrPath::root("location")]);
        assert_eq!(d.0[0].detail, "Azure cannot move it.");
        let (p, _) = requires_replace(&Value::Null, &planned, &rules, "hub");
        assert!(p.is_empty(), "create never replaces");
    }
}

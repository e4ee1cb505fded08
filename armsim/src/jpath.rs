//! Small helpers over `serde_json::Value` bodies: dotted paths (`a.b[].c`) and JSON merge patch.

use serde_json::{Map, Value};

/// Reads `a.b.c` (no arrays).
pub(crate) fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path.split('.') {
        cur = cur.get(seg)?;
    }
    Some(cur)
}

pub(crate) fn get_str<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

pub(crate) fn get_bool(v: &Value, path: &str) -> Option<bool> {
    get(v, path).and_then(Value::as_bool)
}

/// Sets `a.b.c`, creating objects on the way.
pub(crate) fn set(v: &mut Value, path: &str, new: Value) {
    let mut cur = v;
    let segs: Vec<&str> = path.split('.').collect();
    for (i, seg) in segs.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut().expect("just made an object");
        if i == segs.len() - 1 {
            obj.insert(seg.to_string(), new);
            return;
        }
        cur = obj.entry(seg.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Sets `a.b.c` only when absent or null.
pub(crate) fn default(v: &mut Value, path: &str, new: Value) {
    if get(v, path).is_none_or(Value::is_null) {
        set(v, path, new);
    }
}

/// Removes every value at `path`, where `x[]` walks each element of array `x`.
pub(crate) fn remove(v: &mut Value, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    remove_in(v, &path.split('.').collect::<Vec<_>>(), &mut out);
    out
}

fn remove_in(v: &mut Value, segs: &[&str], out: &mut Vec<Value>) {
    let Some((first, rest)) = segs.split_first() else { return };
    let (name, each) = match first.strip_suffix("[]") {
        Some(n) => (n, true),
        None => (*first, false),
    };
    let Some(obj) = v.as_object_mut() else { return };
    if rest.is_empty() && !each {
        if let Some(x) = obj.remove(name) {
            out.push(x);
        }
        return;
    }
    let Some(child) = obj.get_mut(name) else { return };
    if each {
        if let Some(arr) = child.as_array_mut() {
            for el in arr {
                remove_in(el, rest, out);
            }
        }
    } else {
        remove_in(child, rest, out);
    }
}

/// RFC 7386 JSON merge patch (a dozen lines; not worth a dependency).
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Every string in `v` (values and object keys) that looks like an ARM id.
pub(crate) fn arm_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if looks_like_id(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| arm_ids(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                if looks_like_id(k) {
                    out.push(k.clone());
                }
                arm_ids(x, out);
            }
        }
        _ => {}
    }
}

fn looks_like_id(s: &str) -> bool {
    s.len() > 15 && s.as_bytes()[..15].eq_ignore_ascii_case(b"/subscriptions/")
}

/// Array at `path`, or empty.
pub(crate) fn array<'a>(v: &'a Value, path: &str) -> &'a [Value] {
    get(v, path).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": [1]});
        merge_patch(&mut t, &json!({"a": {"b": 1}}));
        assert_eq!(t, json!({"a": {"b": 1}}));
    }

    #[test]
    fn remove_walks_arrays() {
        let mut v = json!({"p": {"x": [{"a": 1, "b": 2}, {"a": 3}]}});
        let gone = remove(&mut v, "p.x[].a");
        assert_eq!(gone, vec![json!(1), json!(3)]);
        assert_eq!(v, json!({"p": {"x": [{"b": 2}, {}]}}));
    }

    #[test]
    fn finds_ids_in_values_and_keys() {
        let mut ids = Vec::new();
        arm_ids(&json!({"/subscriptions/x/a": {}, "k": ["/SUBSCRIPTIONS/y/b", "no"]}), &mut ids);
        assert_eq!(ids, vec!["/subscriptions/x/a".to_string(), "/SUBSCRIPTIONS/y/b".to_string()]);
    }
}

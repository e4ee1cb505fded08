//! The conventional `timeouts { create = "90m" … }` block.

use std::time::Duration;

use super::{AttrPath, Attribute, Block, Diagnostics};
use crate::value::{Type, Value};

/// The operations a timeout can be set for.
pub const OPERATIONS: [&str; 4] = ["create", "read", "update", "delete"];

/// The schema block, with each default stated in its description.
pub fn block(defaults: &Timeouts) -> Block {
    let mut b = Block::new("How long each operation may take before the provider gives up (Go duration syntax, e.g. `90m`, `1h30m`).");
    for (op, d) in OPERATIONS.iter().zip(defaults.all()) {
        b = b.attr(Attribute::optional(op, Type::String).describe(&format!("Timeout for {op}. Default `{}`.", fmt_duration(d))));
    }
    b
}

/// Effective timeouts per operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Create.
    pub create: Duration,
    /// Read (refresh).
    pub read: Duration,
    /// Update.
    pub update: Duration,
    /// Delete.
    pub delete: Duration,
}

impl Timeouts {
    /// Timeouts in whole minutes.
    pub const fn minutes(create: u64, read: u64, update: u64, delete: u64) -> Timeouts {
        Timeouts {
            create: Duration::from_secs(create * 60),
            read: Duration::from_secs(read * 60),
            update: Duration::from_secs(update * 60),
            delete: Duration::from_secs(delete * 60),
        }
    }

    fn all(&self) -> [Duration; 4] {
        [self.create, self.read, self.update, self.delete]
    }

    /// Reads the `timeouts` block out of a resource value, falling back to
    /// `defaults`; unknown values mean "default" (known by apply time).
    pub fn from_value(resource: &Value, defaults: Timeouts) -> Result<Timeouts, Diagnostics> {
        let mut out = defaults;
        let Some(Value::Object(block)) = resource.get_attr("timeouts") else {
            return Ok(out);
        };
        let mut diags = Diagnostics::new();
        for (i, op) in OPERATIONS.iter().enumerate() {
            if let Some(Value::String(s)) = block.get(*op) {
                match parse_duration(s) {
                    Some(d) if !d.is_zero() => match i {
                        0 => out.create = d,
                        1 => out.read = d,
                        2 => out.update = d,
                        _ => out.delete = d,
                    },
                    _ => diags.add_attr_error(
                        AttrPath::root("timeouts").attr(op),
                        "Invalid timeout",
                        format!("{s:?} is not a positive duration; use Go duration syntax such as \"45m\" or \"1h30m\"."),
                    ),
                }
            }
        }
        if diags.has_errors() { Err(diags) } else { Ok(out) }
    }
}

/// Parses Go duration syntax (`300ms`, `1.5h`, `2h45m`); no sign allowed.
pub fn parse_duration(s: &str) -> Option<Duration> {
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * secs;
        rest = &rest[unit_len..];
    }
    (total.is_finite() && total < 1e9).then(|| Duration::from_secs_f64(total))
}

/// Formats a duration the way operators write it (`90m`, `1h30m`, `45s`).
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out += &format!("{h}h");
    }
    if m > 0 {
        out += &format!("{m}m");
    }
    if sec > 0 || out.is_empty() {
        out += &format!("{sec}s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn go_duration_syntax_parses() {
        assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        for bad in ["", "m", "10", "10x", "-5m", "1h-3m"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn bad_timeout_points_at_the_attribute() {
        let d = Timeouts {
            create: Duration::from_secs(60),
            read: Duration::from_secs(60),
            update: Duration::from_secs(60),
            delete: Duration::from_secs(60),
        };
        let v = Value::Object(BTreeMap::from([(
            "timeouts".to_owned(),
            Value::Object(BTreeMap::from([
                ("create".to_owned(), Value::string("2h")),
                ("read".to_owned(), Value::Null),
                ("update".to_owned(), Value::string("soon")),
                ("delete".to_owned(), Value::unknown()),
            ])),
        )]));
        let err = Timeouts::from_value(&v, d).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].path.as_ref().unwrap().to_string(), "timeouts.update");
        assert_eq!(fmt_duration(Duration::from_secs(5400)), "1h30m");
    }
}

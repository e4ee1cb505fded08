//! The results format: a list of `{name, value, unit, target, anchor, pass}`.

use serde::Serialize;

/// One measured figure.
#[derive(Serialize, Debug, Clone)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// The measurement.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// The target, in words (e.g. "<= 20").
    pub target: String,
    /// What others achieve (stated, not re-measured unless said).
    pub anchor: String,
    /// Whether the target is met (None where there is no target).
    pub pass: Option<bool>,
}

/// A figure with an upper-bound target.
pub fn at_most(name: &str, value: f64, unit: &str, target: f64, anchor: &str) -> Figure {
    Figure {
        name: name.into(),
        value: round(value),
        unit: unit.into(),
        target: format!("<= {target}"),
        anchor: anchor.into(),
        pass: Some(value <= target),
    }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Prints the table.
pub fn print(rs: &[Figure]) {
    println!("{:<52} {:>12} {:<6} {:<10} {:<5} anchor", "figure", "value", "unit", "target", "pass");
    for r in rs {
        let pass = match r.pass {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        println!("{:<52} {:>12} {:<6} {:<10} {:<5} {}", r.name, r.value, r.unit, r.target, pass, r.anchor);
    }
}

/// Writes the JSON file.
pub fn write(path: &std::path::Path, rs: &[Figure]) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(path, serde_json::to_string_pretty(rs).unwrap() + "\n").unwrap();
}

/// Median of samples.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

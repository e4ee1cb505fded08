//! armsim's own load figures: its `bench` subcommand serves 10,000
//! resources over HTTPS keep-alive in its own process and prints one JSON
//! line (`get_per_s`, `p99_ms`, `rss_mb`).

use crate::report::{Figure, at_most};

pub fn run() -> Vec<Figure> {
    let out = std::process::Command::new(trench_e2e::bin("trench-armsim"))
        .args(["bench", "--resources", "10000", "--seconds", "10"])
        .output()
        .expect("trench-armsim bench");
    let line = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").to_owned();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("armsim bench printed {line:?}: {e}"));
    let get = v["get_per_s"].as_f64().unwrap_or(0.0);
    vec![
        Figure {
            name: "armsim GETs per second (10k resources, HTTPS keep-alive, 2 cores)".into(),
            value: get.round(),
            unit: "GET/s".into(),
            target: ">= 5000".into(),
            anchor: "-".into(),
            pass: Some(get >= 5000.0),
        },
        at_most("armsim GET p99 latency", v["p99_ms"].as_f64().unwrap_or(f64::NAN), "ms", 5.0, "-"),
        at_most("armsim RSS with 10,000 resources", v["rss_mb"].as_f64().unwrap_or(f64::NAN), "MB", 100.0, "-"),
    ]
}

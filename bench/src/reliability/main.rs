//! `make reliability`: the suites that try to break trench, each trial
//! recorded with its seed. Every suite ends with one line
//! `<suite>: <N> trials, <P> passed, <F> failed`, and the run exits
//! non-zero if any trial failed.
//!
//! - `fault-soak`: full-estate applies under random fault mixes, at most
//!   one resume, then armsim's inventory against terraform's state;
//! - `crash`: terraform or the provider interrupted (SIGINT) or killed
//!   (SIGKILL) at a random point of an apply, then the next apply;
//! - `drift`: out-of-band changes across every composite, each detected by
//!   plan and repaired by apply;
//! - `bad-input`: the whole bad-input corpus, refused before any ARM write;
//! - `fuzz`: the cargo-fuzz targets, each for a bounded time;
//! - `security`: mutual TLS, plain HTTP refused, no secret in a trace log
//!   or in state.

#[path = "../estate_hcl.rs"]
mod estate;
mod suites;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Reliability suites for trench (make reliability)")]
struct Args {
    /// Suites to run (default: all).
    #[arg(long = "suite")]
    suites: Vec<String>,
    /// Fault-soak trials.
    #[arg(long, default_value_t = 30)]
    soak_trials: u64,
    /// Crash and interrupt trials.
    #[arg(long, default_value_t = 21)]
    crash_trials: u64,
    /// Seconds per fuzz target.
    #[arg(long, default_value_t = 30)]
    fuzz_seconds: u64,
    /// First seed (trial i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// A suite's outcome: trials run, and what failed (one line each).
pub struct Outcome {
    pub trials: u64,
    pub failures: Vec<String>,
}

fn main() {
    let a = Args::parse();
    let want = |s: &str| a.suites.is_empty() || a.suites.iter().any(|x| x == s);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut results: Vec<(&str, Outcome)> = Vec::new();
    if want("fault-soak") {
        results.push(("fault-soak", rt.block_on(suites::fault_soak(a.seed, a.soak_trials))));
    }
    if want("crash") {
        results.push(("crash", rt.block_on(suites::crash(a.seed, a.crash_trials))));
    }
    if want("drift") {
        results.push(("drift", rt.block_on(suites::drift())));
    }
    if want("bad-input") {
        results.push(("bad-input", rt.block_on(suites::bad_input())));
    }
    if want("fuzz") {
        results.push(("fuzz", suites::fuzz(a.fuzz_seconds)));
    }
    if want("security") {
        results.push(("security", rt.block_on(suites::security())));
    }
    println!();
    let mut failed = 0;
    for (name, o) in &results {
        for f in &o.failures {
            println!("  {name} FAILED: {f}");
        }
    }
    for (name, o) in &results {
        let f = o.failures.len() as u64;
        failed += f;
        println!("{name}: {} trials, {} passed, {f} failed", o.trials, o.trials - f);
    }
    if failed > 0 {
        std::process::exit(1);
    }
}

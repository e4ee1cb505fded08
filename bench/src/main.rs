//! `make bench`: measures every figure in one run on this machine, prints a
//! table (figure, target, anchor, pass) and writes `bench/results.json`.
//! Ratios are measured side by side in the same run, alternating the two
//! sides so machine noise hits both equally.

mod arm;
mod estate;
mod estate_hcl;
mod provider;
mod report;
mod sim;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Measure trench's figures (DESIGN.md section 4) and write bench/results.json")]
struct Args {
    /// Where to write the results.
    #[arg(long, default_value = "bench/results.json")]
    out: std::path::PathBuf,
    /// Repetitions for timed figures (medians are reported).
    #[arg(long, default_value_t = 15)]
    runs: usize,
}

fn main() {
    let args = Args::parse();
    let mut results = Vec::new();
    results.extend(provider::run(args.runs));
    results.extend(arm::run());
    results.extend(sim::run());
    results.extend(estate::run());
    report::print(&results);
    report::write(&args.out, &results);
    let failed = results.iter().filter(|r| r.pass == Some(false)).count();
    println!(
        "\n{} figures, {} meet their target, {} miss it; written to {}",
        results.len(),
        results.iter().filter(|r| r.pass == Some(true)).count(),
        failed,
        args.out.display()
    );
}

//! `terraform-provider-trench`: parses arguments and hands over to the library.

use std::process::ExitCode;
use std::sync::Arc;

use trench_provider::plugin::{self, StartError};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = |k: &str| std::env::var(k).ok();
    match args.first().map(String::as_str) {
        Some("--version" | "-v") => {
            println!("terraform-provider-trench {}", trench_provider::VERSION);
            return ExitCode::SUCCESS;
        }
        Some("--help" | "-h") => {
            println!(
                "terraform-provider-trench {}\n\n{}\n\nOptions:\n  --debug    serve for TF_REATTACH_PROVIDERS (for debuggers)\n  --version  print the version",
                trench_provider::VERSION,
                plugin::NOT_BY_HAND
            );
            return ExitCode::SUCCESS;
        }
        Some("--debug") | None => {}
        Some(other) => {
            eprintln!("terraform-provider-trench: unknown argument {other:?} (try --help)");
            return ExitCode::from(2);
        }
    }
    let debug = args.first().is_some_and(|a| a == "--debug");
    // Checked before starting anything so a human gets the message at once.
    if !debug && let Err(e) = plugin::check_environment(&env) {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    trench_provider::logging::init(trench_provider::logging::level_from_env(&env).or(debug.then_some(tracing::Level::DEBUG)));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("terraform-provider-trench: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let provider = Arc::new(trench_provider::provider());
    let result: Result<(), StartError> =
        runtime.block_on(async { if debug { plugin::run_debug(provider).await } else { plugin::run_managed(provider, &env).await } });
    // Don't wait for stray tasks (e.g. a retry sleeping) once serving is over.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-trench: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `trench-hclgen`: generate, check and start environment overlays.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hclgen::problem::Problems;

#[derive(Parser)]
#[command(name = "trench-hclgen", version, about = "Generates trench's env/<name>/ Terraform overlays from env/<name>/estate.toml")]
struct Cli {
    /// Repository root (holds env/ and modules/).
    #[arg(long, global = true, default_value = ".")]
    root: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write env/<name>/{versions,providers,backend,main,variables,outputs}.tf, terraform.tfvars and
    /// README.md from estate.toml, and the inputs/outputs section of each module README. Without --env,
    /// every environment that has an estate.toml.
    Generate {
        /// Environment(s) to generate.
        #[arg(long = "env")]
        envs: Vec<String>,
    },
    /// Exit 1, naming each stale file, when what is on disk differs from what generate would write.
    Check {
        /// Environment(s) to check (default: all).
        #[arg(long = "env")]
        envs: Vec<String>,
    },
    /// Start env/<name>/estate.toml from another environment's, with prod-grade values (purge
    /// protection on, registry admin user off, strict egress, larger pools, the azurerm backend), then
    /// generate it.
    New {
        /// The new environment.
        #[arg(long = "env")]
        env: String,
        /// The environment to start from.
        #[arg(long, default_value = "dev")]
        from: String,
    },
}

/// Writes what changed; prints each file written.
fn generate(root: &Path, envs: &[String]) -> Result<(), Problems> {
    for (path, content) in hclgen::outputs(root, envs)? {
        if std::fs::read_to_string(&path).ok().as_deref() == Some(content.as_str()) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Problems::one(dir.display().to_string(), "", e.to_string()))?;
        }
        std::fs::write(&path, content).map_err(|e| Problems::one(path.display().to_string(), "", e.to_string()))?;
        println!("wrote {}", path.strip_prefix(root).unwrap_or(&path).display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Generate { envs } => generate(&cli.root, &envs),
        Cmd::Check { envs } => match hclgen::stale(&cli.root, &envs) {
            Ok(stale) if stale.is_empty() => Ok(()),
            Ok(stale) => {
                for p in &stale {
                    eprintln!("stale: {} (run `trench-hclgen generate`)", p.strip_prefix(&cli.root).unwrap_or(p).display());
                }
                return ExitCode::FAILURE;
            }
            Err(e) => Err(e),
        },
        Cmd::New { env, from } => hclgen::newenv::create(&cli.root, &env, &from).and_then(|path| {
            println!("wrote {}", path.strip_prefix(&cli.root).unwrap_or(&path).display());
            generate(&cli.root, &[env])
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(problems) => {
            for p in &problems.0 {
                eprintln!("error: {p}");
            }
            ExitCode::FAILURE
        }
    }
}

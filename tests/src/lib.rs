//! Shared harness for the end-to-end tests: hermetic terraform working
//! directories that install the provider from Terraform's implied local
//! mirror, and a small gRPC-over-mTLS client that talks to a provider
//! process the way Terraform's go-plugin client does.
//!
//! This crate links neither the provider nor armsim: it drives the built
//! binaries.

pub mod corpus;
pub mod plugin;
pub mod sim;
pub mod terraform;

use std::path::PathBuf;

/// Directory holding the workspace's built binaries (`target/<profile>`),
/// found from the running test executable (`target/<profile>/deps/…`).
pub fn bin_dir() -> PathBuf {
    if let Ok(d) = std::env::var("TRENCH_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test binary has a parent dir");
    let dir = if deps.ends_with("deps") { deps.parent().unwrap() } else { deps };
    dir.to_path_buf()
}

/// Path of a built workspace binary; panics with the command to run if it
/// has not been built (`make test` builds all binaries first).
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(p.exists(), "{} is not built; run `cargo build --workspace --bins` (make test does) first", p.display());
    p
}

/// The repository root (the workspace this crate belongs to).
pub fn repo_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repository").to_path_buf()
}

/// The provider version the binaries are built as.
pub const PROVIDER_VERSION: &str = env!("CARGO_PKG_VERSION");

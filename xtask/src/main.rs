//! `trench-xtask`: project chores that must run the same on a laptop and in
//! CI, written in Rust so CI needs nothing beyond the toolchain.
//!
//! - `package`: one platform's zip in the Terraform registry layout;
//! - `checksums`: the registry manifest and `SHA256SUMS` over a release dir;
//! - `mirror`: a `terraform providers mirror`-compatible layout (packed
//!   archives plus the network mirror protocol's JSON) for internal mirrors;
//! - `docs`: registry-format docs from the provider's schema (see docs.rs);
//! - `demo`: env/dev applied against a local simulator (`make demo`).

mod demo;
mod docs;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use sha2::{Digest, Sha256};

/// Provider type name.
const NAME: &str = "trench";
/// Registry address, as Terraform spells directories.
const ADDRESS: [&str; 3] = ["registry.terraform.io", "trench-lab", "trench"];

#[derive(Parser)]
#[command(about = "trench project chores: release packaging and docs")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Zip one platform's binary as terraform-provider-trench_<version>_<os>_<arch>.zip.
    Package {
        /// The built provider binary.
        #[arg(long)]
        binary: PathBuf,
        /// Release version (no leading v).
        #[arg(long)]
        version: String,
        /// Terraform's OS name: linux, darwin, windows.
        #[arg(long)]
        os: String,
        /// Terraform's arch name: amd64, arm64.
        #[arg(long)]
        arch: String,
        /// Output directory.
        #[arg(long, default_value = "dist")]
        out: PathBuf,
    },
    /// Write the manifest (protocol 6) and SHA256SUMS over every zip in a release dir.
    Checksums {
        /// Release directory.
        #[arg(long, default_value = "dist")]
        dir: PathBuf,
        /// Release version.
        #[arg(long)]
        version: String,
    },
    /// Lay out a release dir as a filesystem/network provider mirror.
    Mirror {
        /// Release directory with the zips.
        #[arg(long, default_value = "dist")]
        dir: PathBuf,
        /// Mirror root to write.
        #[arg(long)]
        out: PathBuf,
        /// Release version.
        #[arg(long)]
        version: String,
    },
    /// Generate docs/ from the provider schema; --check fails, naming the pages, when docs/ is stale.
    Docs {
        /// The built provider binary.
        #[arg(long, default_value = "target/debug/terraform-provider-trench")]
        binary: PathBuf,
        /// Fail instead of writing when docs/ differs.
        #[arg(long)]
        check: bool,
        /// Repository root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Apply env/dev against a local simulator (`make demo`); --destroy tears it down.
    Demo {
        /// Destroy the demo estate and remove .trench/demo.
        #[arg(long)]
        destroy: bool,
        /// Fail unless the apply changes nothing (a repeated run).
        #[arg(long)]
        expect_unchanged: bool,
        /// Repository root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Package { binary, version, os, arch, out } => {
            package(&binary, &version, &os, &arch, &out).map(|p| println!("{}", p.display()))
        }
        Cmd::Checksums { dir, version } => checksums(&dir, &version).map(|p| println!("{}", p.display())),
        Cmd::Mirror { dir, out, version } => mirror(&dir, &out, &version).map(|p| println!("{}", p.display())),
        Cmd::Docs { binary, check, root } => docs::run(&binary, &root, check),
        Cmd::Demo { destroy, expect_unchanged, root } => demo::run(&root, destroy, expect_unchanged),
    };
    if let Err(e) = r {
        eprintln!("trench-xtask: {e}");
        std::process::exit(1);
    }
}

fn zip_name(version: &str, os: &str, arch: &str) -> String {
    format!("terraform-provider-{NAME}_{version}_{os}_{arch}.zip")
}

/// Zips the binary as `terraform-provider-trench_v<version>[.exe]`,
/// executable, with a fixed timestamp so the same binary gives the same zip.
fn package(binary: &Path, version: &str, os: &str, arch: &str, out: &Path) -> Result<PathBuf, String> {
    if !["linux", "darwin", "windows", "freebsd"].contains(&os) || !["amd64", "arm64", "386", "arm"].contains(&arch) {
        return Err(format!("unknown platform {os}_{arch} (Terraform's names: linux/darwin/windows, amd64/arm64)"));
    }
    let bytes = std::fs::read(binary).map_err(|e| format!("reading {}: {e}", binary.display()))?;
    std::fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let path = out.join(zip_name(version, os, arch));
    let file = std::fs::File::create(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let mut z = zip::ZipWriter::new(file);
    let exe = if os == "windows" { ".exe" } else { "" };
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    z.start_file(format!("terraform-provider-{NAME}_v{version}{exe}"), opts).map_err(|e| e.to_string())?;
    z.write_all(&bytes).map_err(|e| e.to_string())?;
    z.finish().map_err(|e| e.to_string())?;
    Ok(path)
}

fn sha256_file(p: &Path) -> Result<String, String> {
    let bytes = std::fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

fn zips(dir: &Path, version: &str) -> Result<Vec<PathBuf>, String> {
    let prefix = format!("terraform-provider-{NAME}_{version}_");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".zip")))
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(format!("no {prefix}*.zip in {}", dir.display()));
    }
    Ok(v)
}

/// The registry's manifest (protocol 6 only) and `SHA256SUMS` over the zips
/// and the manifest, in `sha256sum` format.
fn checksums(dir: &Path, version: &str) -> Result<PathBuf, String> {
    let manifest = dir.join(format!("terraform-provider-{NAME}_{version}_manifest.json"));
    let body = serde_json::json!({ "version": 1, "metadata": { "protocol_versions": ["6.0"] } });
    std::fs::write(&manifest, serde_json::to_string_pretty(&body).expect("json") + "\n").map_err(|e| e.to_string())?;
    let mut files = zips(dir, version)?;
    files.push(manifest);
    let mut out = String::new();
    for f in &files {
        out += &format!("{}  {}\n", sha256_file(f)?, f.file_name().and_then(|n| n.to_str()).unwrap_or_default());
    }
    let sums = dir.join(format!("terraform-provider-{NAME}_{version}_SHA256SUMS"));
    std::fs::write(&sums, out).map_err(|e| e.to_string())?;
    Ok(sums)
}

/// What `terraform providers mirror` writes: the packed archives under
/// `<host>/<namespace>/<type>/`, plus `index.json` and `<version>.json` of
/// the network mirror protocol (hashes as `zh:`, the archive checksum).
fn mirror(dir: &Path, out: &Path, version: &str) -> Result<PathBuf, String> {
    let root = ADDRESS.iter().fold(out.to_path_buf(), |p, s| p.join(s));
    std::fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
    let mut archives = BTreeMap::new();
    for z in zips(dir, version)? {
        let name = z.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let platform = name.trim_start_matches(&format!("terraform-provider-{NAME}_{version}_")).trim_end_matches(".zip").to_owned();
        std::fs::copy(&z, root.join(&name)).map_err(|e| e.to_string())?;
        archives.insert(platform, serde_json::json!({ "url": name, "hashes": [format!("zh:{}", sha256_file(&z)?)] }));
    }
    let write = |name: &str, v: serde_json::Value| {
        std::fs::write(root.join(name), serde_json::to_string_pretty(&v).expect("json") + "\n").map_err(|e| e.to_string())
    };
    // Merge with versions already in the mirror.
    let mut versions = std::fs::read_to_string(root.join("index.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v.get("versions").cloned())
        .unwrap_or_else(|| serde_json::json!({}));
    versions[version] = serde_json::json!({});
    write("index.json", serde_json::json!({ "versions": versions }))?;
    write(&format!("{version}.json"), serde_json::json!({ "archives": archives }))?;
    Ok(root)
}

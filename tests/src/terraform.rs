//! Hermetic terraform working directories.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::{PROVIDER_VERSION, bin};

/// `<os>_<arch>` as Terraform names platforms.
pub fn platform() -> String {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}_{arch}")
}

/// A temporary HOME with the provider in `~/.terraform.d/plugins` (the
/// implied local mirror, as `make install` does), an empty CLI config, and a
/// working directory.
pub struct Workspace {
    root: tempfile::TempDir,
    /// Extra environment for every terraform run.
    pub env: Vec<(String, String)>,
    /// Where terraform runs, relative to the work tree.
    sub: PathBuf,
}

/// A finished terraform command.
#[derive(Debug)]
pub struct Run {
    /// Exit status code.
    pub code: i32,
    /// Stdout.
    pub stdout: String,
    /// Stderr.
    pub stderr: String,
}

impl Run {
    /// Stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    /// Panics with the output unless the command succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "terraform failed:\n{}", self.all());
        self
    }
    /// Panics with the output unless the command failed.
    pub fn failed(self) -> Run {
        assert_ne!(self.code, 0, "terraform unexpectedly succeeded:\n{}", self.all());
        self
    }
}

impl Workspace {
    /// A workspace whose `main.tf` is `config`.
    pub fn new(config: &str) -> Workspace {
        let root = tempfile::Builder::new().prefix("trench-e2e").tempdir().expect("tempdir");
        let home = root.path().join("home");
        let mirror = home.join(".terraform.d/plugins/registry.terraform.io/trench-lab/trench").join(PROVIDER_VERSION).join(platform());
        std::fs::create_dir_all(&mirror).unwrap();
        let target = mirror.join(format!("terraform-provider-trench_v{PROVIDER_VERSION}"));
        // A copy, not a link: a rebuild during the test run must not change it.
        std::fs::copy(bin("terraform-provider-trench"), &target).unwrap();
        std::fs::write(root.path().join("terraformrc"), "").unwrap();
        std::fs::create_dir_all(root.path().join("work")).unwrap();
        let ws = Workspace { root, env: Vec::new(), sub: PathBuf::new() };
        ws.write("main.tf", config);
        ws
    }

    /// A workspace holding copies of repository folders (`modules`,
    /// `examples/hub-only`, …) at their repository paths, running terraform
    /// in `at`; relative module sources between them keep working.
    pub fn from_repo(folders: &[&str], at: &str) -> Workspace {
        let mut ws = Workspace::new("");
        std::fs::remove_file(ws.dir().join("main.tf")).unwrap();
        let repo = crate::repo_root();
        for f in folders {
            copy_tree(&repo.join(f), &ws.root.path().join("work").join(f));
        }
        ws.sub = PathBuf::from(at);
        ws
    }

    /// Runs terraform in another folder of the work tree from now on.
    pub fn cd(&mut self, at: &str) {
        self.sub = PathBuf::from(at);
    }

    /// The working directory.
    pub fn dir(&self) -> PathBuf {
        self.root.path().join("work").join(&self.sub)
    }

    /// The temporary HOME.
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// Writes a file in the working directory.
    pub fn write(&self, name: &str, content: &str) {
        std::fs::write(self.dir().join(name), content).unwrap();
    }

    /// Reads a file from the working directory.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(name)).unwrap_or_default()
    }

    /// The command, with a clean, offline environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("terraform");
        c.args(args)
            .current_dir(self.dir())
            .env("HOME", self.home())
            .env("TF_CLI_CONFIG_FILE", self.root.path().join("terraformrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .env_remove("TF_CLI_ARGS");
        for (k, _) in std::env::vars() {
            if k.starts_with("ARM_") || k.starts_with("TRENCH_") || k.starts_with("TF_VAR_") {
                c.env_remove(k);
            }
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs terraform with `-no-color` appended where it applies.
    pub fn tf(&self, args: &[&str]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        if !matches!(args.first(), Some(&"version") | Some(&"fmt") | Some(&"output") | Some(&"show")) {
            all.push("-no-color");
        }
        run(self.command(&all).output().expect("terraform on PATH"))
    }

    /// `terraform init` then `apply -auto-approve`.
    pub fn init_apply(&self) -> Run {
        self.tf(&["init", "-input=false"]).ok();
        self.tf(&["apply", "-auto-approve", "-input=false"])
    }

    /// `terraform plan -detailed-exitcode`: exit 0 means no changes.
    pub fn plan_is_empty(&self) -> bool {
        let r = self.tf(&["plan", "-input=false", "-detailed-exitcode"]);
        assert_ne!(r.code, 1, "plan failed:\n{}", r.all());
        r.code == 0
    }

    /// A terraform output as JSON.
    pub fn output_json(&self, name: &str) -> serde_json::Value {
        let r = run(self.command(&["output", "-json", name]).output().unwrap()).ok();
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("output {name} is not JSON ({e}): {}", r.stdout))
    }

    /// Path of a file in the working directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }
}

/// Copies a folder, leaving out terraform's own files (`.terraform`, lock
/// files, state), so the copy starts clean.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())).filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".terraform") || name.ends_with(".tfstate") || name.ends_with(".tfstate.backup") {
            continue;
        }
        if e.path().is_dir() {
            copy_tree(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

fn run(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

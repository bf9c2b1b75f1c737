//! Phase 2: `cargo build` of the service binaries, and where cargo put them.
//!
//! The executables are read from cargo's own JSON messages (`compiler-artifact`), so a
//! `CARGO_TARGET_DIR`, a `--release` or a workspace-wide target directory need no guessing.
//!
//! It builds every binary of the workspace (`--workspace --bins`), not `-p` each service:
//! cargo unifies features over the packages it is asked for, so a `-p` selection compiles the
//! dependencies with other features than a plain `cargo build [--release]` does, and each
//! would rebuild them all after the other. Building the whole workspace's binaries shares its
//! artifacts (and only the wanted packages' executables are kept).

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nova_gen_core::Failure;
use nova_gen_core::layout::Layout;

use super::DevOptions;
use super::provision::DevService;

/// The package of the seeder `--seed` runs (tools/seed).
pub const SEED_PACKAGE: &str = "nova-seed";

/// Why `cargo build` gave no binaries to run.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cargo build failed ({0}); fix the errors above and run `nova-gen dev` again")]
    Failed(std::process::ExitStatus),
    /// The packages, comma-separated.
    #[error("cargo built no binary for {0}: each needs a src/main.rs")]
    NoBinary(String),
}

/// Package name -> executable.
pub type Binaries = BTreeMap<String, PathBuf>;

/// Builds every service's binary (and the seeder when asked), with the rest of the
/// workspace's binaries (see the module docs), showing cargo's progress and
/// errors as usual; fails naming the packages cargo did not produce a binary for.
pub fn build(layout: &Layout, services: &[DevService], options: &DevOptions) -> Result<Binaries, Failure> {
    let mut packages: Vec<&str> = services.iter().map(|s| s.package.as_str()).collect();
    if options.seed {
        packages.push(SEED_PACKAGE);
    }
    println!("dev: building the workspace's binaries ({} to run){}", packages.len(), if options.release { " (release)" } else { "" });
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command.current_dir(&layout.root).args(["build", "--workspace", "--bins", "--message-format=json-render-diagnostics"]);
    if options.release {
        command.arg("--release");
    }
    // Cargo's progress and diagnostics go to stderr, shown as they come; stdout is JSON.
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().map_err(Failure::io("running cargo build"))?;
    let mut binaries = Binaries::new();
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.map_err(Failure::io("reading cargo's output"))?;
            if let Some((package, executable)) = executable_of(&line)
                && packages.contains(&package.as_str())
            {
                binaries.insert(package, executable);
            }
        }
    }
    let status = child.wait().map_err(Failure::io("waiting for cargo build"))?;
    if !status.success() {
        return Err(Failure::Command(Box::new(BuildError::Failed(status))));
    }
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !binaries.contains_key(*p)).collect();
    if !missing.is_empty() {
        return Err(Failure::Command(Box::new(BuildError::NoBinary(missing.join(", ")))));
    }
    Ok(binaries)
}

/// `(package, executable)` from one `compiler-artifact` message of a binary target named like
/// its package (the service binaries are `src/main.rs`).
fn executable_of(line: &str) -> Option<(String, PathBuf)> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    let executable = message.get("executable")?.as_str()?;
    let target = message.get("target")?;
    let is_bin = target.get("kind")?.as_array()?.iter().any(|k| k.as_str() == Some("bin"));
    let name = target.get("name")?.as_str()?;
    is_bin.then(|| (name.to_string(), PathBuf::from(executable)))
}

#[cfg(test)]
mod tests {
    use super::executable_of;

    #[test]
    fn reads_binaries_from_cargo_messages() {
        let bin = r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"nova-auth-service"},"executable":"/t/debug/nova-auth-service"}"#;
        assert_eq!(executable_of(bin), Some(("nova-auth-service".to_string(), "/t/debug/nova-auth-service".into())));
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"nova_auth"},"executable":null}"#;
        assert_eq!(executable_of(lib), None);
        assert_eq!(executable_of(r#"{"reason":"build-finished","success":true}"#), None);
        assert_eq!(executable_of("not json"), None);
    }
}

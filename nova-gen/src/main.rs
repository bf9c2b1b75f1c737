//! `nova-gen generate` and `nova-gen check`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nova_gen::layout::Layout;
use nova_gen::{Failure, boundaries, diagnostic, sync};

#[derive(Parser)]
#[command(name = "nova-gen", version, about = "Generates nova's service crates, migrations and ops artifacts from specs/")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Repository root: generated/, migrations/ and handwritten/ live below it.
    #[arg(long, global = true, default_value = ".")]
    root: PathBuf,
    /// Directory holding ownership.toml and proto/ (default: <root>/specs).
    #[arg(long, global = true)]
    specs: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate everything from the specs (writes only files that change; scaffolds missing
    /// handwritten crates, never overwriting them).
    Generate,
    /// Fail if anything generated is out of sync with the specs, or if a handwritten crate
    /// crosses a service boundary. Writes nothing.
    Check,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut layout = Layout::at(&cli.root);
    if let Some(specs) = &cli.specs {
        layout = layout.with_specs(specs);
    }
    let outcome = match cli.command {
        Command::Generate => generate(&layout),
        Command::Check => check(&layout),
    };
    match outcome {
        Ok(code) => code,
        Err(Failure::Spec(diagnostics)) => {
            eprint!("{}", diagnostic::render(&diagnostics));
            ExitCode::from(2)
        }
        Err(Failure::Internal(message)) => {
            eprintln!("nova-gen: {message}");
            ExitCode::from(3)
        }
    }
}

fn generate(layout: &Layout) -> Result<ExitCode, Failure> {
    let (analysis, files) = nova_gen::generate_files(layout)?;
    let report = sync::write(&layout.root, &files).map_err(|e| Failure::Internal(format!("writing files: {e}")))?;
    for path in &report.written {
        println!("wrote      {path}");
    }
    for path in &report.removed {
        println!("removed    {path}");
    }
    for path in &report.scaffolded {
        println!("scaffolded {path}");
    }
    println!(
        "{} services: {} files written, {} unchanged, {} removed, {} scaffolded",
        analysis.spec.services.len(),
        report.written.len(),
        report.unchanged,
        report.removed.len(),
        report.scaffolded.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn check(layout: &Layout) -> Result<ExitCode, Failure> {
    let (analysis, files) = nova_gen::generate_files(layout)?;
    let drift = sync::compare(&layout.root, &files).map_err(|e| Failure::Internal(format!("reading the tree: {e}")))?;
    let violations = boundaries::check(&layout.root, &analysis.spec).map_err(|e| Failure::Internal(format!("reading handwritten crates: {e}")))?;
    if drift.is_empty() && violations.is_empty() {
        println!("nova-gen check: {} services, {} generated files in sync, boundaries respected", analysis.spec.services.len(), files.owned.len());
        return Ok(ExitCode::SUCCESS);
    }
    if !drift.is_empty() {
        eprint!("{}", sync::render_drift(&drift));
    }
    if !violations.is_empty() {
        eprint!("{}", diagnostic::render(&violations));
    }
    Ok(ExitCode::FAILURE)
}

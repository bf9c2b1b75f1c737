//! How long `generate` and `check` take on the real eight-service specs and on synthetic
//! specs of growing size, to show the cost grows linearly with the spec.
//!
//!     cargo bench -p nova-gen-core --bench pipeline
//!
//! Prints a Markdown table (medians of several runs); README.md records the figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod synthetic;

use std::path::Path;
use std::time::{Duration, Instant};

use nova_gen_core::layout::Layout;

const RUNS: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(mut f: impl FnMut() -> T) -> Duration {
    let samples = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .collect();
    median(samples)
}

struct Row {
    label: String,
    services: usize,
    rpcs: usize,
    tables: usize,
    files: usize,
    analyse: Duration,
    emit: Duration,
    write: Duration,
    check: Duration,
}

fn measure(label: &str, root: &Path) -> Row {
    let layout = Layout::at(root);
    let (analysis, files) = nova_gen_core::generate_files(&layout).expect("specs are valid");
    let analyse = time(|| nova_gen_core::analyse(&layout).expect("valid"));
    let emit = time(|| nova_gen_core::emit::emit(&analysis.spec, &analysis.protos, &analysis.migration_files()).expect("emits"));
    // `generate` end to end (the first run writes everything; later runs find it unchanged).
    let write = time(|| {
        let (_, files) = nova_gen_core::generate_files(&layout).expect("valid");
        nova_gen_core::sync::write(root, &files).expect("writes")
    });
    let check = time(|| {
        let (analysis, files) = nova_gen_core::generate_files(&layout).expect("valid");
        let drift = nova_gen_core::sync::compare(root, &files).expect("reads");
        let violations = nova_gen_core::boundaries::check(root, &analysis.spec).expect("reads");
        assert!(drift.is_empty() && violations.is_empty());
    });
    Row {
        label: label.to_string(),
        services: analysis.spec.services.len(),
        rpcs: analysis.spec.services.iter().map(|s| s.rpcs.len()).sum(),
        tables: analysis.spec.services.iter().map(|s| s.tables.len()).sum(),
        files: files.owned.len() + files.scaffold.len(),
        analyse,
        emit,
        write,
        check,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root").to_path_buf();
    let mut rows = Vec::new();
    let real = tempfile::tempdir().expect("temp dir");
    synthetic::copy_dir(&repo_root.join("specs"), &real.path().join("specs"));
    synthetic::copy_dir(&repo_root.join("handwritten"), &real.path().join("handwritten"));
    rows.push(measure("nova specs", real.path()));
    for services in [25, 50, 100, 200] {
        let dir = tempfile::tempdir().expect("temp dir");
        synthetic::write_spec(dir.path(), services);
        rows.push(measure(&format!("synthetic {services}"), dir.path()));
    }
    println!("| spec | services | RPCs | tables | files | load+validate+model ms | emit ms | generate ms | check ms | check µs per table |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let per_table = row.check.as_secs_f64() * 1e6 / row.tables as f64;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |",
            row.label,
            row.services,
            row.rpcs,
            row.tables,
            row.files,
            ms(row.analyse),
            ms(row.emit),
            ms(row.write),
            ms(row.check),
            per_table
        );
    }
}

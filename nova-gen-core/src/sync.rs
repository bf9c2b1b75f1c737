//! Phase 5, *write/compare*: `generate` writes the file set (only files whose contents
//! changed, removing stale generated files); `check` compares it with the tree and lists
//! every difference, with diffs — the CI drift gate.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use crate::fileset::FileSet;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteReport {
    pub written: Vec<String>,
    pub unchanged: usize,
    pub removed: Vec<String>,
    pub scaffolded: Vec<String>,
}

/// Writes `files` below `root`.
pub fn write(root: &Path, files: &FileSet) -> io::Result<WriteReport> {
    let mut report = WriteReport::default();
    for (path, contents) in &files.owned {
        let target = root.join(path);
        if std::fs::read(&target).ok().as_deref() == Some(contents.as_slice()) {
            report.unchanged += 1;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, contents)?;
        report.written.push(path.clone());
    }
    for extra in extra_files(root, files)? {
        std::fs::remove_file(root.join(&extra))?;
        report.removed.push(extra);
    }
    for dir in FileSet::owned_dirs() {
        remove_empty_dirs(&root.join(dir))?;
    }
    for (path, contents) in &files.scaffold {
        let target = root.join(path);
        if target.exists() {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, contents.as_bytes())?;
        report.scaffolded.push(path.clone());
    }
    Ok(report)
}

/// One way the tree differs from what the specs generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The file exists with other contents; `diff` is unified, tree -> generated.
    Changed {
        path: String,
        diff: String,
    },
    Missing {
        path: String,
    },
    /// A file under generated/ that the specs do not produce.
    Extra {
        path: String,
    },
    /// A handwritten crate file the scaffold would create.
    MissingScaffold {
        path: String,
    },
}

impl Drift {
    pub fn path(&self) -> &str {
        match self {
            Drift::Changed { path, .. } | Drift::Missing { path } | Drift::Extra { path } | Drift::MissingScaffold { path } => path,
        }
    }
}

/// Everything that differs, in path order.
pub fn compare(root: &Path, files: &FileSet) -> io::Result<Vec<Drift>> {
    let mut drift = Vec::new();
    for (path, contents) in &files.owned {
        match std::fs::read(root.join(path)) {
            Ok(existing) if existing == *contents => {}
            Ok(existing) => {
                let diff = match (std::str::from_utf8(&existing), std::str::from_utf8(contents)) {
                    (Ok(old), Ok(new)) => diff(path, old, new),
                    _ => format!("{path}: binary contents differ ({} bytes in the tree, {} generated)\n", existing.len(), contents.len()),
                };
                drift.push(Drift::Changed { path: path.clone(), diff });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => drift.push(Drift::Missing { path: path.clone() }),
            Err(e) => return Err(e),
        }
    }
    drift.extend(extra_files(root, files)?.into_iter().map(|path| Drift::Extra { path }));
    for path in files.scaffold.keys() {
        if !root.join(path).exists() {
            drift.push(Drift::MissingScaffold { path: path.clone() });
        }
    }
    drift.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(drift)
}

/// The drift report `check` prints.
pub fn render_drift(drift: &[Drift]) -> String {
    let mut out = String::new();
    for item in drift {
        let _ = match item {
            Drift::Changed { path, .. } => writeln!(out, "changed: {path} (differs from what the specs generate)"),
            Drift::Missing { path } => writeln!(out, "missing: {path}"),
            Drift::Extra { path } => writeln!(out, "extra:   {path} (not generated from the specs)"),
            Drift::MissingScaffold { path } => writeln!(out, "missing: {path} (handwritten crate file; `generate` scaffolds it)"),
        };
    }
    for item in drift {
        if let Drift::Changed { diff, .. } = item {
            out.push('\n');
            out.push_str(diff);
        }
    }
    let _ = writeln!(
        out,
        "\n{} file{} out of sync with the specs. Never edit generated files: change specs/ (or nova-gen) and run `{}`.",
        drift.len(),
        if drift.len() == 1 { " is" } else { "s are" },
        crate::emit::REGENERATE
    );
    out
}

const MAX_DIFF_LINES: usize = 60;

fn diff(path: &str, old: &str, new: &str) -> String {
    let text = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(&format!("{path} (in the tree)"), &format!("{path} (generated)"))
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_DIFF_LINES {
        return text;
    }
    let mut shown = lines[..MAX_DIFF_LINES].join("\n");
    let _ = writeln!(shown, "\n... {} more diff lines", lines.len() - MAX_DIFF_LINES);
    shown
}

/// Files under the owned directories that the file set does not contain.
fn extra_files(root: &Path, files: &FileSet) -> io::Result<Vec<String>> {
    let mut extra = Vec::new();
    for dir in FileSet::owned_dirs() {
        for file in walk(&root.join(dir))? {
            let relative = file.strip_prefix(root).unwrap_or(&file).to_string_lossy().replace('\\', "/");
            if !files.owned.contains_key(&relative) {
                extra.push(relative);
            }
        }
    }
    extra.sort();
    Ok(extra)
}

fn walk(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    if !dir.exists() {
        return Ok(found);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() { pending.push(path) } else { found.push(path) }
        }
    }
    Ok(found)
}

fn remove_empty_dirs(dir: &Path) -> io::Result<bool> {
    if !dir.is_dir() {
        return Ok(false);
    }
    let mut empty = true;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !(path.is_dir() && remove_empty_dirs(&path)?) {
            empty = false;
        }
    }
    if empty {
        std::fs::remove_dir(dir)?;
    }
    Ok(empty)
}

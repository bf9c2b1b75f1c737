//! `migrations/<service>/nova.sum`: the checksum of every migration file (and of the schema
//! state), like Atlas's `atlas.sum`. nova-gen only ever appends migration entries to it, so a
//! committed migration that is edited, renamed or removed no longer matches its entry and
//! `check` names it.
//!
//! ```text
//! h1:<sha256 of every line below, newline-terminated>
//! 0001_init.sql h1:<sha256 of the file>
//! 0002_pin_posts.sql h1:<…>
//! schema.json h1:<…>
//! ```

use sha2::{Digest as _, Sha256};

pub const FILE_NAME: &str = "nova.sum";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumEntry {
    pub file: String,
    pub hash: String,
    /// 0-based line in the sum file (for diagnostics).
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumFile {
    /// The hash on the first line.
    pub total: String,
    pub entries: Vec<SumEntry>,
}

/// `h1:` and the SHA-256 of `bytes`, in hex.
pub fn hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut text = String::from("h1:");
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

impl SumFile {
    /// A sum over `(file, contents)` pairs, in the order given.
    pub fn over<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let entries: Vec<SumEntry> =
            files.into_iter().enumerate().map(|(i, (file, bytes))| SumEntry { file: file.to_string(), hash: hash(bytes), line: i + 1 }).collect();
        let mut sum = SumFile { total: String::new(), entries };
        sum.total = sum.computed_total();
        sum
    }

    /// The hash the first line must hold for these entries.
    pub fn computed_total(&self) -> String {
        hash(self.entry_lines().as_bytes())
    }

    fn entry_lines(&self) -> String {
        self.entries.iter().map(|e| format!("{} {}\n", e.file, e.hash)).collect()
    }

    pub fn render(&self) -> String {
        format!("{}\n{}", self.total, self.entry_lines())
    }

    pub fn entry(&self, file: &str) -> Option<&SumEntry> {
        self.entries.iter().find(|e| e.file == file)
    }
}

/// Parses a sum file; the error names the 1-based line that is not `<file> h1:<hash>`.
pub fn parse(text: &str) -> Result<SumFile, usize> {
    let mut lines = text.lines();
    let total = lines.next().filter(|l| l.starts_with("h1:")).ok_or(1usize)?.to_string();
    let mut entries = Vec::new();
    for (i, line) in lines.enumerate() {
        let (file, hash) = line.split_once(' ').filter(|(f, h)| !f.is_empty() && h.starts_with("h1:")).ok_or(i + 2)?;
        entries.push(SumEntry { file: file.to_string(), hash: hash.to_string(), line: i + 1 });
    }
    Ok(SumFile { total, entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_and_parse_round_trip() {
        let sum = SumFile::over([("0001_init.sql", b"CREATE TABLE a ();".as_slice()), ("schema.json", b"{}".as_slice())]);
        let text = sum.render();
        assert!(text.starts_with("h1:"));
        assert_eq!(text.lines().count(), 3);
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed, sum);
        assert_eq!(parsed.computed_total(), parsed.total);
        assert_eq!(parse("nonsense\n"), Err(1));
        assert_eq!(parse(&format!("{}\n0001.sql\n", sum.total)), Err(2));
    }
}

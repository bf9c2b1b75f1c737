//! Finds the SQL in a hand-written crate's source by parsing it with `syn`: every string
//! literal (plain or raw, a `concat!` of literals and of the crate's argument-less
//! `macro_rules!` that expand to literals, a `const` or `static` initialised with one) whose
//! text reads as a statement. Nothing is listed by hand, so a statement added to a crate is
//! found without a change anywhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use proc_macro2::{TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Expr, Lit, LitStr, Macro, Token};

/// The words a statement starts with.
const KEYWORDS: &[&str] = &["select", "insert", "update", "delete", "with"];
/// The functions of sqlx that run a statement given as their first argument.
const QUERY_FUNCTIONS: &[&str] = &["query", "query_as", "query_scalar", "query_with", "query_as_with", "query_scalar_with", "raw_sql"];
/// Macros whose first string literal is a format string (its `{}` filled at run time).
const FORMAT_MACROS: &[&str] =
    &["format", "format_args", "write", "writeln", "print", "println", "eprint", "eprintln", "panic", "unreachable", "todo", "anyhow", "bail"];
/// Methods that append a piece to a statement built at run time (`String`, sqlx's `QueryBuilder`).
const APPENDING_METHODS: &[&str] = &["push", "push_str", "push_unseparated", "separated"];

/// Where a literal is: `handwritten/feed/src/queries.rs:14`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// SQL found in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub place: Place,
    pub sql: String,
    /// `None` for a whole statement (it can be prepared); for a piece of a statement built
    /// at run time, how it is used.
    pub dynamic: Option<&'static str>,
}

/// What a crate's source holds.
#[derive(Debug, Default)]
pub struct Scan {
    /// In file order, then line order.
    pub found: Vec<Found>,
    /// The constants whose value is SQL, by name.
    pub sql_constants: BTreeSet<String>,
    /// The constants a sqlx query function is called with: `(name, place of the call)`.
    pub executed_constants: Vec<(String, Place)>,
    /// Calls of a sqlx query function with a statement chosen at run time (a variable).
    pub executed_variables: Vec<(String, Place)>,
}

impl Scan {
    pub fn statements(&self) -> impl Iterator<Item = &Found> {
        self.found.iter().filter(|found| found.dynamic.is_none())
    }

    pub fn dynamic(&self) -> impl Iterator<Item = &Found> {
        self.found.iter().filter(|found| found.dynamic.is_some())
    }
}

/// Whether `text` reads as a statement: its first word is a statement's, in any case. Written
/// in upper case that word suffices; otherwise the words after it must be those SQL puts
/// there (`insert into`, `delete from`, `update t set`, `with t as`, a `select` with `from` or a
/// call), so that prose such as "delete this media" is not taken for SQL.
pub fn is_statement(text: &str) -> bool {
    let text = text.trim_start();
    let first: String = text.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let lower = first.to_ascii_lowercase();
    if !KEYWORDS.contains(&lower.as_str()) {
        return false;
    }
    match text[first.len()..].chars().next() {
        None => return false,
        Some(c) if c.is_whitespace() || c == '(' => {}
        Some(_) => return false,
    }
    if first.chars().all(|c| c.is_ascii_uppercase()) {
        return true;
    }
    let words: Vec<String> = text.split_whitespace().map(str::to_ascii_lowercase).collect();
    let word = |i: usize| words.get(i).map(String::as_str);
    match lower.as_str() {
        "insert" => word(1) == Some("into"),
        "delete" => word(1) == Some("from"),
        "update" => (2..=5).any(|i| word(i) == Some("set")),
        "with" => words.iter().skip(2).any(|w| w == "as" || w.starts_with("as(")),
        _ => words.iter().any(|w| w == "from") || text.contains('('),
    }
}

/// Whether a format string has a placeholder (`{}`, `{name}`; not the escaped `{{`).
fn has_placeholder(text: &str) -> bool {
    text.replace("{{", "").replace("}}", "").contains('{')
}

/// Macros that expand to SQL text, by the key an invocation is looked up with: the crate's
/// own `macro_rules!` without arguments (`name`), and the generated repositories'
/// `<table>::columns!()` (`__<table>__columns`) and `<table>::<column>_sql!(value)`
/// (`__<table>__<column>__sql(value)`, one entry per rule).
type Macros = BTreeMap<String, TokenStream>;

/// Scans `src/**/*.rs` of the service crate at `crate_dir`, with the macros of its generated
/// crate at `generated_dir` (its repositories' column lists and enum literals) known.
pub fn scan_service(root: &Path, crate_dir: &Path, generated_dir: &Path) -> Scan {
    let mut generated = Vec::new();
    rust_files(&generated_dir.join("src").join("repo"), &mut generated);
    generated.sort();
    let mut macros = Macros::new();
    for path in &generated {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: does not parse: {e}", path.display()));
        collect_macros(&file, &mut macros);
    }
    scan_with(root, crate_dir, macros)
}

/// Scans `src/**/*.rs` of the crate at `crate_dir`; places are given relative to `root`.
fn scan_with(root: &Path, crate_dir: &Path, mut macros: Macros) -> Scan {
    let mut files = Vec::new();
    rust_files(&crate_dir.join("src"), &mut files);
    files.sort();
    let sources: Vec<(String, syn::File)> = files
        .iter()
        .map(|path| {
            let label = path.strip_prefix(root).unwrap_or(path).display().to_string();
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{label}: {e}"));
            let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{label}:{}: does not parse: {e}", e.span().start().line));
            (label, parsed)
        })
        .collect();
    for (_, file) in &sources {
        collect_macros(file, &mut macros);
    }
    let mut scan = Scan::default();
    for (label, file) in &sources {
        Scanner { file: label, macros: &macros, scan: &mut scan }.visit_file(file);
    }
    scan
}

/// Scans one file's text (for the scanner's own tests).
pub fn scan_source(label: &str, text: &str) -> Scan {
    let file = syn::parse_file(text).unwrap_or_else(|e| panic!("{label}: does not parse: {e}"));
    let mut macros = Macros::new();
    collect_macros(&file, &mut macros);
    let mut scan = Scan::default();
    Scanner { file: label, macros: &macros, scan: &mut scan }.visit_file(&file);
    scan
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn collect_macros(file: &syn::File, macros: &mut Macros) {
    struct Collector<'m>(&'m mut Macros);
    impl<'ast> Visit<'ast> for Collector<'_> {
        fn visit_item_macro(&mut self, item: &'ast syn::ItemMacro) {
            let (Some(name), true) = (&item.ident, item.mac.path.is_ident("macro_rules")) else { return };
            // Rules `(matcher) => { body }`, each optionally followed by `;`. A rule without
            // arguments is the macro's text; one whose matcher is a single word `value` (the
            // generated enum literals) is `name(value)`.
            let tokens: Vec<TokenTree> = item.mac.tokens.clone().into_iter().collect();
            let mut rest = tokens.as_slice();
            while let [TokenTree::Group(matcher), TokenTree::Punct(eq), TokenTree::Punct(gt), TokenTree::Group(body), after @ ..] = rest {
                if eq.as_char() != '=' || gt.as_char() != '>' {
                    return;
                }
                let matcher: Vec<TokenTree> = matcher.stream().into_iter().collect();
                match matcher.as_slice() {
                    [] => {
                        self.0.insert(name.to_string(), body.stream());
                    }
                    [TokenTree::Ident(value)] => {
                        self.0.insert(format!("{name}({value})"), body.stream());
                    }
                    _ => return,
                }
                rest = match after {
                    [TokenTree::Punct(semi), more @ ..] if semi.as_char() == ';' => more,
                    more => more,
                };
            }
        }
    }
    Collector(macros).visit_file(file);
}

/// The key of an invocation in [`Macros`]: `name` for a crate macro `name!()`,
/// `__<table>__columns` for `<table>::columns!()`, `__<table>__<column>__sql(value)` for
/// `<table>::<column>_sql!(value)` (the generated repositories' macros, named through the
/// table's module as the handwritten crates do).
fn macro_key(path: &syn::Path, tokens: &TokenStream) -> Option<String> {
    let segments: Vec<String> = path.segments.iter().map(|segment| segment.ident.to_string()).collect();
    let args: Vec<TokenTree> = tokens.clone().into_iter().collect();
    match (segments.as_slice(), args.as_slice()) {
        ([name], []) => Some(name.clone()),
        ([.., table, name], []) if name == "columns" => Some(format!("__{table}__columns")),
        ([.., table, name], [TokenTree::Ident(value)]) => {
            let column = name.strip_suffix("_sql")?;
            Some(format!("__{table}__{column}__sql({value})"))
        }
        _ => None,
    }
}

fn last_segment(path: &syn::Path) -> String {
    path.segments.last().map(|segment| segment.ident.to_string()).unwrap_or_default()
}

fn line_of(spanned: &impl syn::spanned::Spanned) -> usize {
    spanned.span().start().line
}

struct Scanner<'s> {
    file: &'s str,
    macros: &'s Macros,
    scan: &'s mut Scan,
}

impl Scanner<'_> {
    fn place(&self, line: usize) -> Place {
        Place { file: self.file.to_string(), line }
    }

    fn record(&mut self, line: usize, sql: String, dynamic: Option<&'static str>) {
        let place = self.place(line);
        self.scan.found.push(Found { place, sql, dynamic });
    }

    /// The text of a constant expression of literals, if it is one.
    fn text(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Lit(lit) => match &lit.lit {
                Lit::Str(s) => Some(s.value()),
                Lit::Char(c) => Some(c.value().to_string()),
                Lit::Int(i) => Some(i.base10_digits().to_string()),
                Lit::Bool(b) => Some(b.value.to_string()),
                _ => None,
            },
            Expr::Group(group) => self.text(&group.expr),
            Expr::Paren(paren) => self.text(&paren.expr),
            Expr::Macro(mac) => self.macro_text(&mac.mac),
            _ => None,
        }
    }

    /// The text of `concat!(..)` of constant pieces, or of an argument-less crate macro.
    fn macro_text(&self, mac: &Macro) -> Option<String> {
        let name = last_segment(&mac.path);
        if name == "concat" {
            let pieces = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated).ok()?;
            pieces.iter().map(|piece| self.text(piece)).collect()
        } else {
            let body = self.macros.get(&macro_key(&mac.path, &mac.tokens)?)?;
            self.text(&syn::parse2::<Expr>(body.clone()).ok()?)
        }
    }

    /// A string literal found with no context that makes it a piece.
    fn literal(&mut self, lit: &LitStr, dynamic: Option<&'static str>) {
        let text = lit.value();
        if is_statement(&text) {
            self.record(line_of(lit), text, dynamic);
        }
    }

    /// An expression that may be a piece of a statement built at run time.
    fn piece(&mut self, expr: &Expr, why: &'static str) {
        match expr {
            Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) => self.literal(lit, Some(why)),
            other => self.visit_expr(other),
        }
    }

    /// Every string literal in tokens this scanner does not understand, taken as written.
    fn raw_tokens(&mut self, tokens: TokenStream) {
        for tree in tokens {
            match tree {
                TokenTree::Group(group) => self.raw_tokens(group.stream()),
                TokenTree::Literal(literal) => {
                    if let Ok(lit) = syn::parse2::<LitStr>(TokenTree::Literal(literal).into()) {
                        self.literal(&lit, None);
                    }
                }
                _ => {}
            }
        }
    }

    /// A constant's value: a whole statement when it is text and reads as one.
    fn constant(&mut self, name: &syn::Ident, value: &Expr) {
        match self.text(value) {
            Some(text) if is_statement(&text) => {
                self.scan.sql_constants.insert(name.to_string());
                self.record(line_of(value), text, None);
            }
            Some(_) => {}
            None => self.visit_expr(value),
        }
    }
}

impl<'ast> Visit<'ast> for Scanner<'_> {
    /// Doc comments and other attributes are prose, not code.
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}

    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        self.constant(&item.ident, &item.expr);
    }

    fn visit_impl_item_const(&mut self, item: &'ast syn::ImplItemConst) {
        self.constant(&item.ident, &item.expr);
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        self.constant(&item.ident, &item.expr);
    }

    fn visit_expr(&mut self, expr: &'ast Expr) {
        match expr {
            Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) => self.literal(lit, None),
            Expr::MethodCall(call) if APPENDING_METHODS.contains(&call.method.to_string().as_str()) => {
                self.visit_expr(&call.receiver);
                for arg in &call.args {
                    self.piece(arg, "appended to a statement built at run time");
                }
            }
            Expr::Call(call) => {
                let function = match &*call.func {
                    Expr::Path(path) => Some(&path.path),
                    _ => None,
                };
                let name = function.map(last_segment).unwrap_or_default();
                let builder = function.is_some_and(|path| path.segments.iter().any(|segment| segment.ident == "QueryBuilder"));
                if builder {
                    for arg in &call.args {
                        self.piece(arg, "the start of a QueryBuilder");
                    }
                    return;
                }
                if QUERY_FUNCTIONS.contains(&name.as_str()) {
                    let place = self.place(line_of(call));
                    match call.args.first() {
                        Some(Expr::Path(path)) => {
                            let argument = last_segment(&path.path);
                            if argument.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
                                self.scan.executed_constants.push((argument, place));
                            } else {
                                self.scan.executed_variables.push((argument, place));
                            }
                        }
                        Some(Expr::Lit(_) | Expr::Macro(_)) | None => {}
                        Some(_) => self.scan.executed_variables.push(("an expression".to_string(), place)),
                    }
                }
                visit::visit_expr(self, expr);
            }
            other => visit::visit_expr(self, other),
        }
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        let name = last_segment(&mac.path);
        let line = line_of(&mac.path);
        if name == "macro_rules" {
            self.raw_tokens(mac.tokens.clone());
            return;
        }
        if let Some(text) = self.macro_text(mac) {
            if is_statement(&text) {
                self.record(line, text, None);
            }
            return;
        }
        let Ok(args) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) else {
            self.raw_tokens(mac.tokens.clone());
            return;
        };
        if name == "concat" {
            for arg in &args {
                self.piece(arg, "a piece of a concat! this scanner cannot expand");
            }
        } else if FORMAT_MACROS.contains(&name.as_str()) {
            let mut format_string_seen = false;
            for arg in &args {
                match arg {
                    Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) if !format_string_seen => {
                        format_string_seen = true;
                        let placeholder = has_placeholder(&lit.value());
                        self.literal(lit, placeholder.then_some("the format string of a format! (filled at run time)"));
                    }
                    other => self.visit_expr(other),
                }
            }
        } else {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
    }
}

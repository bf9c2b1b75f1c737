//! Reads a handwritten crate's Rust with `syn` and flags every path into another service's
//! generated crate that is not its client or its messages, and every string holding SQL on
//! another service's tables.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::spanned::Spanned as _;
use syn::visit::Visit;

use super::Ownership;
use super::manifest::client_name;
use super::sql::{mentioned_databases, mentioned_tables};
use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span as ByteSpan};

/// What another service's generated crate offers other services: its client and the types
/// its API speaks. Everything else (repo, db, server, Logic) is the owner's alone.
fn allowed_item(service: &str, item: &str) -> bool {
    matches!(item, "client" | "pb" | "rpc" | "SERVICE" | "PROTO_SERVICE" | "DEFAULT_PORT" | "CallContext" | "LogicError")
        || item == client_name(service)
}

pub(crate) fn check_rust(file: &SourceFile, service: &str, crates: &BTreeMap<String, String>, ownership: &Ownership<'_>) -> Vec<Diagnostic> {
    let parsed = match syn::parse_file(&file.text) {
        Ok(parsed) => parsed,
        // Code that does not parse fails the build anyway; the compiler explains it better.
        Err(_) => return Vec::new(),
    };
    let mut visitor = BoundaryVisitor { file, service, crates: crates.clone(), ownership, diagnostics: Vec::new() };
    visitor.visit_file(&parsed);
    visitor.diagnostics
}

struct BoundaryVisitor<'a> {
    file: &'a SourceFile,
    service: &'a str,
    /// Names that refer to other services' generated crates, aliases included.
    crates: BTreeMap<String, String>,
    ownership: &'a Ownership<'a>,
    diagnostics: Vec<Diagnostic>,
}

impl BoundaryVisitor<'_> {
    fn byte_span(&self, span: Span) -> ByteSpan {
        let (start, end) = (span.start(), span.end());
        self.file.offset_of(start.line.saturating_sub(1), start.column)..self.file.offset_of(end.line.saturating_sub(1), end.column)
    }

    /// The service behind a crate name, when it is another service.
    fn other_service(&self, name: &str) -> Option<String> {
        self.crates.get(name).filter(|s| s.as_str() != self.service).cloned()
    }

    /// Checks `krate::item::...`; `item` is the first segment after the crate.
    fn check_reach(&mut self, krate: &str, item: Option<&str>, span: Span) {
        let Some(owner) = self.other_service(krate) else { return };
        let Some(item) = item else { return };
        if allowed_item(&owner, item) {
            return;
        }
        let what = match item {
            "repo" => "repositories",
            "db" | "DATABASE" => "database",
            "server" => "server",
            "Logic" | "logic" => "business-logic trait",
            _ => "internals",
        };
        let diagnostic = Diagnostic::new(
            "boundary::foreign-internals",
            format!("the {} service reaches the {owner} service's {what} (`{krate}::{item}`)", self.service),
        )
        .in_file(self.file)
        .label(self.byte_span(span), "crosses a service boundary")
        .help(format!("only the {owner} service uses its {what}; call `{krate}::{}` (gRPC) instead", client_name(&owner)));
        self.diagnostics.push(diagnostic);
    }

    fn check_use_tree(&mut self, tree: &syn::UseTree, krate: Option<&str>) {
        match (tree, krate) {
            (syn::UseTree::Path(path), None) => {
                let name = path.ident.to_string();
                if self.other_service(&name).is_some() {
                    self.check_use_tree(&path.tree, Some(&name));
                }
            }
            (syn::UseTree::Path(path), Some(krate)) => self.check_reach(krate, Some(&path.ident.to_string()), path.ident.span()),
            (syn::UseTree::Name(name), Some(krate)) => {
                let item = name.ident.to_string();
                if item != "self" {
                    self.check_reach(krate, Some(&item), name.ident.span());
                }
            }
            (syn::UseTree::Rename(rename), None) => {
                if let Some(owner) = self.other_service(&rename.ident.to_string()) {
                    self.crates.insert(rename.rename.to_string(), owner);
                }
            }
            (syn::UseTree::Rename(rename), Some(krate)) => {
                let item = rename.ident.to_string();
                if item == "self" {
                    let owner = self.crates.get(krate).cloned().unwrap_or_default();
                    self.crates.insert(rename.rename.to_string(), owner);
                } else {
                    self.check_reach(krate, Some(&item), rename.ident.span());
                }
            }
            (syn::UseTree::Glob(glob), Some(krate)) => {
                let owner = self.crates.get(krate).cloned().unwrap_or_default();
                let diagnostic = Diagnostic::new("boundary::glob-import", format!("`use {krate}::*` imports the {owner} service's internals"))
                    .in_file(self.file)
                    .label(self.byte_span(glob.span()), "imports everything, repositories included")
                    .help(format!("import what other services may use: `use {krate}::{{{}, pb}};`", client_name(&owner)));
                self.diagnostics.push(diagnostic);
            }
            (syn::UseTree::Group(group), krate) => {
                for item in &group.items {
                    self.check_use_tree(item, krate);
                }
            }
            _ => {}
        }
    }

    fn check_string(&mut self, value: &str, span: Span) {
        for table in mentioned_tables(value) {
            if let Some(owner) = self.ownership.foreign_owner(self.service, &table) {
                let diagnostic = Diagnostic::new(
                    "boundary::foreign-table",
                    format!("the {} service queries table `{table}`, owned by the {owner} service", self.service),
                )
                .in_file(self.file)
                .label(self.byte_span(span), format!("SQL on the {owner} service's table `{table}`"))
                .help(format!("the {owner} service's tables live in its own database; read them through `{}` (gRPC)", client_name(owner)));
                self.diagnostics.push(diagnostic);
            }
        }
        for database in mentioned_databases(value) {
            let owner = self.ownership.spec.services.iter().find(|s| s.database == database && s.name != self.service);
            if let Some(owner) = owner {
                let diagnostic = Diagnostic::new(
                    "boundary::foreign-database",
                    format!("the {} service names the {} service's database `{database}`", self.service, owner.name),
                )
                .in_file(self.file)
                .label(self.byte_span(span), "another service's database")
                .help(format!(
                    "connect only to your own database; reach the {} service through `{}`",
                    owner.name,
                    client_name(&owner.name)
                ));
                self.diagnostics.push(diagnostic);
            }
        }
    }

    /// String literals inside macro invocations (`format!`, `sqlx::query!`), which syn leaves
    /// as tokens.
    fn check_tokens(&mut self, tokens: TokenStream) {
        for token in tokens {
            match token {
                TokenTree::Group(group) => self.check_tokens(group.stream()),
                TokenTree::Literal(literal) => {
                    if let Ok(text) = syn::parse_str::<syn::LitStr>(&literal.to_string()) {
                        self.check_string(&text.value(), literal.span());
                    }
                }
                _ => {}
            }
        }
    }
}

impl<'ast> Visit<'ast> for BoundaryVisitor<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.check_use_tree(&item.tree, None);
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        if let (Some((_, rename)), Some(owner)) = (&item.rename, self.other_service(&item.ident.to_string())) {
            self.crates.insert(rename.to_string(), owner);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<&syn::PathSegment> = path.segments.iter().collect();
        if let [krate, item, ..] = segments.as_slice() {
            self.check_reach(&krate.ident.to_string(), Some(&item.ident.to_string()), item.ident.span());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_lit_str(&mut self, literal: &'ast syn::LitStr) {
        self.check_string(&literal.value(), literal.span());
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.check_tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }
}

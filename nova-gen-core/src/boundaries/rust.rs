//! Reads a handwritten crate's Rust with `syn` and flags what the crate graph cannot see:
//! strings holding SQL on another service's tables, or naming another service's database.
//! (Reaching another service's repositories or server is impossible: a handwritten crate may
//! only depend on other services' API crates, which `manifest.rs` enforces.)

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::visit::Visit;

use super::Ownership;
use super::sql::{mentioned_databases, mentioned_tables};
use crate::diagnostic::Diagnostic;
use crate::names::client_struct_name;
use crate::source::{SourceFile, Span as ByteSpan};

pub(crate) fn check_rust(file: &SourceFile, service: &str, ownership: &Ownership<'_>) -> Vec<Diagnostic> {
    let parsed = match syn::parse_file(&file.text) {
        Ok(parsed) => parsed,
        // Code that does not parse fails the build anyway; the compiler explains it better.
        Err(_) => return Vec::new(),
    };
    let mut visitor = BoundaryVisitor { file, service, ownership, diagnostics: Vec::new() };
    visitor.visit_file(&parsed);
    visitor.diagnostics
}

struct BoundaryVisitor<'a> {
    file: &'a SourceFile,
    service: &'a str,
    ownership: &'a Ownership<'a>,
    diagnostics: Vec<Diagnostic>,
}

impl BoundaryVisitor<'_> {
    fn byte_span(&self, span: Span) -> ByteSpan {
        let (start, end) = (span.start(), span.end());
        self.file.offset_of(start.line.saturating_sub(1), start.column)..self.file.offset_of(end.line.saturating_sub(1), end.column)
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
                .help(format!("the {owner} service's tables live in its own database; read them through `{}` (gRPC)", client_struct_name(owner)));
                self.diagnostics.push(diagnostic);
            }
        }
        for database in mentioned_databases(value) {
            let owner = self.ownership.spec.services.iter().find(|s| s.database.as_deref() == Some(database.as_str()) && s.name != self.service);
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
                    client_struct_name(&owner.name)
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
    fn visit_lit_str(&mut self, literal: &'ast syn::LitStr) {
        self.check_string(&literal.value(), literal.span());
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.check_tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }
}

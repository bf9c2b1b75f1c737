//! Located, human-first error reports.
//!
//! Every problem with the specs becomes a [`Diagnostic`]: a stable code, a sentence saying what
//! is wrong, labelled spans in the offending file and a help line saying what to do. They are
//! collected (never returned at the first problem) and rendered together, each headed by a
//! `file:line:column` line that editors and terminals can follow.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use crate::source::{SourceFile, Span};

/// One problem found in the specs (or in handwritten code, for boundary rules).
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Stable identifier, e.g. `spec::duplicate-table`; tests and docs refer to it.
    pub code: &'static str,
    pub message: String,
    pub file: Option<SourceFile>,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

impl Diagnostic {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { code, message: message.into(), file: None, labels: Vec::new(), help: None }
    }

    /// Attaches the file the labels point into.
    pub fn in_file(mut self, file: &SourceFile) -> Self {
        self.file = Some(file.clone());
        self
    }

    pub fn label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label { span, text: text.into() });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column` of the first label, or the file name alone.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        Some(match self.labels.first() {
            Some(label) => file.location(label.span.start),
            None => file.name.to_string(),
        })
    }

    fn sort_key(&self) -> (String, usize, &'static str, String) {
        let file = self.file.as_ref().map(|f| f.name.to_string()).unwrap_or_default();
        let offset = self.labels.first().map_or(0, |l| l.span.start);
        (file, offset, self.code, self.message.clone())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        None
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(|(i, label)| {
            let span = SourceSpan::from(label.span.clone());
            let text = (!label.text.is_empty()).then(|| label.text.clone());
            if i == 0 { LabeledSpan::new_primary_with_span(text, span) } else { LabeledSpan::new_with_span(text, span) }
        })))
    }
}

/// Renders diagnostics for a terminal or a snapshot: sorted by location, no colours, fixed
/// width, so the same problems always read the same.
pub fn render(diagnostics: &[Diagnostic]) -> String {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| d.sort_key());
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100).with_links(false).with_context_lines(1);
    let mut out = String::new();
    for diagnostic in sorted {
        let headline = match diagnostic.location() {
            Some(location) => format!("{location}: error[{}]: {}\n", diagnostic.code, diagnostic.message),
            None => format!("error[{}]: {}\n", diagnostic.code, diagnostic.message),
        };
        out.push_str(&headline);
        let with_source = WithSource { diagnostic, source: diagnostic.file.as_ref().map(NamedText::new) };
        let mut report = String::new();
        // Rendering into a String cannot fail; on error the headline stands alone.
        if handler.render_report(&mut report, &with_source).is_ok() {
            // miette always opens with a `×` line holding the message; the headline already
            // says it (WithSource displays as nothing), so that line is dropped.
            let mut lines = report.lines().skip_while(|line| line.trim() == "×").peekable();
            if lines.peek().is_some() {
                for line in lines {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out.push('\n');
    }
    let count = diagnostics.len();
    out.push_str(&format!("{count} error{} found\n", if count == 1 { "" } else { "s" }));
    out
}

/// Lends a diagnostic its named source for rendering only, so the diagnostic itself stays a
/// plain cloneable value.
struct WithSource<'a> {
    diagnostic: &'a Diagnostic,
    source: Option<NamedText>,
}

impl fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for WithSource<'_> {
    /// Nothing: the message is printed once, in the headline that [`render`] writes.
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl std::error::Error for WithSource<'_> {}

impl miette::Diagnostic for WithSource<'_> {
    // The code is already in the headline.
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        miette::Diagnostic::help(self.diagnostic)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        miette::Diagnostic::labels(self.diagnostic)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|source| source as &dyn miette::SourceCode)
    }
}

/// Lets a [`SourceFile`] serve as miette source code under its repository-relative name.
struct NamedText(NamedSource<std::sync::Arc<str>>);

impl NamedText {
    fn new(file: &SourceFile) -> Self {
        NamedText(NamedSource::new(&file.name, file.text.clone()))
    }
}

impl fmt::Debug for NamedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NamedText")
    }
}

impl miette::SourceCode for NamedText {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        self.0.read_span(span, context_lines_before, context_lines_after)
    }
}

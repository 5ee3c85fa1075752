//! Located problems in a manifest or its recipients file, shown by miette with the source line.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, Severity, SourceCode, SourceSpan};

/// One source file as diagnostics show it, with a line index that turns positions into bytes.
#[derive(Clone)]
pub struct SourceFile {
    name: Arc<str>,
    text: Arc<String>,
    /// Byte offset of the start of each line.
    line_starts: Arc<Vec<usize>>,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("name", &self.name)
            .field("bytes", &self.text.len())
            .finish()
    }
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, byte)| *byte == b'\n')
                .map(|(index, _)| index + 1),
        );
        SourceFile {
            name: Arc::from(name.into()),
            text: Arc::new(text),
            line_starts: Arc::new(line_starts),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Converts a 1-based line and a 1-based column counted in characters, as the YAML parser
    /// reports them, into a byte offset. Out-of-range positions clamp to the end of the text.
    pub fn offset(&self, line: usize, column: usize) -> usize {
        let Some(start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[*start..];
        let within = rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(index, _)| index);
        start + within
    }

    /// Returns the 1-based line and the 1-based column in characters of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(index) => index,
            Err(index) => index.saturating_sub(1),
        };
        let start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |prefix| prefix.chars().count());
        (line_index + 1, column + 1)
    }

    /// Returns the byte length of the rest of the line from `offset`, without its line break.
    pub fn rest_of_line(&self, offset: usize) -> usize {
        let rest = self.text.get(offset..).unwrap_or("");
        let end = rest.find('\n').unwrap_or(rest.len());
        rest[..end].trim_end_matches('\r').len()
    }

    fn named(&self) -> NamedSource<Arc<String>> {
        NamedSource::new(&*self.name, Arc::clone(&self.text)).with_language("yaml")
    }
}

/// One problem found in a manifest: an error, or a warning that does not stop a run.
#[derive(Clone)]
pub struct Problem {
    /// Stable machine name of the check, such as `manifest::amount`.
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
    pub severity: Severity,
    /// Name of the file the problem is in, as the user gave it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset, which orders problems in file order.
    pub offset: usize,
    label: String,
    span: SourceSpan,
    source: NamedSource<Arc<String>>,
}

impl Problem {
    /// Creates an error at `offset..offset + len` in `file`.
    pub fn error(
        code: &'static str,
        file: &SourceFile,
        offset: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Problem {
        // miette fails to render a span past the end of its source, so clamp it to the text.
        let offset = offset.min(file.text.len());
        let len = len.min(file.text.len() - offset);
        let (line, column) = file.line_column(offset);
        Problem {
            code,
            message: message.into(),
            help: None,
            severity: Severity::Error,
            file: file.name.to_string(),
            line,
            column,
            offset,
            label: "here".to_owned(),
            span: SourceSpan::new(offset.into(), len),
            source: file.named(),
        }
    }

    /// Creates a warning at `offset..offset + len` in `file`.
    pub fn warning(
        code: &'static str,
        file: &SourceFile,
        offset: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(code, file, offset, len, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Problem {
        self.label = label.into();
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Returns `false` for a problem about a file that could not be read, which has no text to show.
    fn has_source(&self) -> bool {
        !self.source.inner().is_empty()
    }
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.code, self.message
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl miette::Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.has_source().then_some(&self.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if !self.has_source() {
            return None;
        }
        let label = LabeledSpan::new_with_span(Some(self.label.clone()), self.span);
        Some(Box::new(std::iter::once(label)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_counts_characters_not_bytes() {
        let file = SourceFile::new("m.yaml", "name: Kouadio Aké\nid: E001\n".to_owned());
        assert_eq!(file.offset(2, 1), "name: Kouadio Aké\n".len());
        assert_eq!(file.offset(1, 17), "name: Kouadio Ak".len());
        assert_eq!(file.line_column(file.offset(1, 18)), (1, 18));
    }

    #[test]
    fn span_past_end_is_clamped() {
        let file = SourceFile::new("m.yaml", "a: [\n".to_owned());
        let problem = Problem::error("manifest::yaml", &file, 5, 1, "invalid YAML");
        let mut out = String::new();
        miette::GraphicalReportHandler::new()
            .render_report(&mut out, &problem)
            .expect("renders");
        assert!(out.contains("invalid YAML"), "{out}");
        assert_eq!(problem.line, 2);
    }

    #[test]
    fn positions_past_end_clamp() {
        let file = SourceFile::new("m.yaml", "a: 1\n".to_owned());
        assert_eq!(file.offset(9, 1), 5);
        assert_eq!(file.line_column(99), (2, 1));
    }
}

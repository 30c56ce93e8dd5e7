//! The one error type of the library: a message about a spot in the source, with hints.
//!
//! The core never prints. It returns a [`Diagnostic`] carrying byte spans; `render` turns it
//! into a rustc-style report (file, line, column, the source line, a caret under the spot)
//! as a string, and only the binary writes that string out.

/// A byte range in the source text.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A secondary spot the message refers to ("first assigned here").
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub span: Span,
    pub message: String,
}

/// A problem with an input: a message, the span it points at (with a label), notes pointing
/// elsewhere and a help line; [`Diagnostic::render`] prints it with a caret under the spot.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    /// Where the problem is; `None` for problems of the input as a whole (not UTF-8, no input).
    pub span: Option<Span>,
    /// The text under the caret.
    pub label: Box<str>,
    pub notes: Vec<Note>,
    /// Advice printed at the end (`help: ...`). Boxed: a diagnostic stays small.
    pub help: Option<Box<str>>,
    /// The text the span points into when it is not the input the caller gave: a template,
    /// by file name (the caller knows its path and text). Boxed: a diagnostic stays small.
    pub file: Option<Box<FileName>>,
    /// Which of the caller's inputs beside the program is at fault, if one is: the library
    /// names what is wrong, and the caller says how that input is given (the binary's
    /// option, the Python package's argument).
    pub input: Option<Input>,
}

/// An input a caller gives beside the program, named in a [`Diagnostic`] that is about it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The point: values of inputs, targets and parameters (or parameters drawn by an
    /// initialisation).
    Point,
    /// The learning rate η.
    LearningRate,
    /// The derivatives asked for.
    Targets,
}

/// The name of a file a diagnostic points into (see [`Diagnostic::file`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FileName(pub String);

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: None,
            label: Box::from(""),
            notes: vec![],
            help: None,
            file: None,
            input: None,
        }
    }

    pub fn at(span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: Some(span),
            label: label.into().into_boxed_str(),
            notes: vec![],
            help: None,
            file: None,
            input: None,
        }
    }

    /// The diagnostic, marked as about one of the caller's inputs.
    pub fn about(mut self, input: Input) -> Diagnostic {
        self.input = Some(input);
        self
    }

    pub fn with_note(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.notes.push(Note {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into().into_boxed_str());
        self
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

pub type Result<T> = std::result::Result<T, Diagnostic>;

use crate::core::excerpt::{self, Excerpt};

impl Diagnostic {
    /// The report as rustc prints it: `error: message`, ` --> file:line:col`, the source line
    /// with a caret under the spot and the label, the notes as secondary labels, and
    /// `= help: ...`. With `color`, ANSI escapes style it; without, it is plain text.
    ///
    /// The source is shown as an [`Excerpt`]: invisible characters spelled out (`<U+200B>`),
    /// a long line cut to a window around the spot; line and column count the real source.
    /// Spans are clamped to the source and to character boundaries, so any diagnostic renders.
    pub fn render(&self, file_name: &str, source: &str, color: bool) -> String {
        self.render_as(false, file_name, source, color)
    }

    /// The report as [`Diagnostic::render`] writes it, headed `warning:`: for an input that is
    /// read, but probably not as meant.
    pub fn render_warning(&self, file_name: &str, source: &str, color: bool) -> String {
        self.render_as(true, file_name, source, color)
    }

    fn render_as(&self, warning: bool, file_name: &str, source: &str, color: bool) -> String {
        use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
        use codespan_reporting::term::{self, Chars, Config, termcolor};

        let clamp = |mut at: usize| {
            at = at.min(source.len());
            while !source.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        let range = |span: Span| {
            let start = clamp(span.start);
            start..clamp(span.end).max(start)
        };
        let spots: Vec<std::ops::Range<usize>> = self
            .span
            .iter()
            .copied()
            .chain(self.notes.iter().map(|n| n.span))
            .map(range)
            .collect();
        let excerpt = Excerpt::new(source, if self.span.is_some() { &spots } else { &[] });
        // The name is shown as the source is: a file named with an escape sequence stays inert.
        let name = excerpt::visible_name(file_name);
        let file = ExcerptFile::new(&name, &excerpt);
        let shown = |span: Span| {
            let r = range(span);
            excerpt.to_excerpt(r.start)..excerpt.to_excerpt(r.end)
        };
        let mut labels = vec![];
        if let Some(span) = self.span {
            labels
                .push(Label::primary((), shown(span)).with_message(excerpt::message(&self.label)));
            for note in &self.notes {
                labels.push(
                    Label::secondary((), shown(note.span))
                        .with_message(excerpt::message(&note.message)),
                );
            }
        }
        let mut notes = vec![];
        if self.span.is_none() {
            notes.extend(
                self.notes
                    .iter()
                    .map(|note| format!("note: {}", excerpt::message(&note.message))),
            );
        }
        notes.extend(
            self.help
                .iter()
                .map(|help| format!("help: {}", excerpt::message(help))),
        );
        let message = excerpt::message(&self.message);
        let report = if warning {
            Report::warning()
        } else {
            Report::error()
        }
        .with_message(&message)
        .with_labels(labels)
        .with_notes(notes);
        let config = Config {
            chars: Chars::ascii(),
            ..Config::default()
        };

        let fallback = || {
            let severity = if warning { "warning" } else { "error" };
            let mut text = format!("{severity}: {message}\n");
            if let Some(help) = &self.help {
                text.push_str(&format!("  = help: {}\n", excerpt::message(help)));
            }
            text
        };
        if color {
            let mut writer = termcolor::Ansi::new(Vec::new());
            match term::emit_to_write_style(&mut writer, &config, &file, &report) {
                Ok(()) => String::from_utf8_lossy(&writer.into_inner()).into_owned(),
                Err(_) => fallback(),
            }
        } else {
            term::emit_into_string(&config, &file, &report).unwrap_or_else(|_| fallback())
        }
    }
}

/// The excerpt as codespan sees a file: lines of the excerpt, columns of the real source.
struct ExcerptFile<'e, 's> {
    name: &'e str,
    excerpt: &'e Excerpt<'s>,
    line_starts: Vec<usize>,
}

impl<'e, 's> ExcerptFile<'e, 's> {
    fn new(name: &'e str, excerpt: &'e Excerpt<'s>) -> Self {
        ExcerptFile {
            name,
            excerpt,
            line_starts: codespan_reporting::files::line_starts(&excerpt.text).collect(),
        }
    }
}

impl<'a> codespan_reporting::files::Files<'a> for ExcerptFile<'_, '_> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> std::result::Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.name)
    }

    fn source(&'a self, (): ()) -> std::result::Result<&'a str, codespan_reporting::files::Error> {
        Ok(&self.excerpt.text)
    }

    fn line_index(
        &'a self,
        (): (),
        byte_index: usize,
    ) -> std::result::Result<usize, codespan_reporting::files::Error> {
        Ok(self
            .line_starts
            .partition_point(|&start| start <= byte_index)
            .saturating_sub(1))
    }

    fn line_range(
        &'a self,
        (): (),
        line_index: usize,
    ) -> std::result::Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        let start = |i: usize| match i.cmp(&self.line_starts.len()) {
            std::cmp::Ordering::Less => Ok(self.line_starts[i]),
            std::cmp::Ordering::Equal => Ok(self.excerpt.text.len()),
            std::cmp::Ordering::Greater => Err(codespan_reporting::files::Error::LineTooLarge {
                given: i,
                max: self.line_starts.len() - 1,
            }),
        };
        Ok(start(line_index)?..start(line_index + 1)?)
    }

    fn column_number(
        &'a self,
        (): (),
        _line_index: usize,
        byte_index: usize,
    ) -> std::result::Result<usize, codespan_reporting::files::Error> {
        Ok(self.excerpt.source_column(byte_index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let source = "input x\ncost C = (x - 1\n";
        let d = Diagnostic::at(
            Span::new(17, 18),
            "unclosed parenthesis",
            "this `(` is never closed",
        )
        .with_note(Span::new(23, 23), "expected `)` here")
        .with_help("close it");
        let text = d.render("net.bp", source, false);
        assert!(text.starts_with("error: unclosed parenthesis\n"), "{text}");
        assert!(text.contains("--> net.bp:2:10"), "{text}");
        assert!(text.contains("cost C = (x - 1"), "{text}");
        assert!(
            text.contains("  |          ^     - expected `)` here\n"),
            "{text}"
        );
        assert!(text.contains("this `(` is never closed"), "{text}");
        assert!(text.contains("= help: close it"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        let single = Diagnostic::at(Span::new(17, 18), "unclosed parenthesis", "never closed");
        let text = single.render("net.bp", source, false);
        assert!(
            text.contains("2 | cost C = (x - 1\n  |          ^ never closed\n"),
            "{text}"
        );
        let colored = d.render("net.bp", source, true);
        assert!(colored.contains('\u{1b}'), "{colored}");
    }

    #[test]
    fn renders_without_a_span() {
        let d = Diagnostic::new("the program is empty").with_help("write something");
        let text = d.render("net.bp", "", false);
        assert!(text.starts_with("error: the program is empty\n"), "{text}");
        assert!(text.contains("= help: write something"), "{text}");
        assert!(!text.contains("-->"), "{text}");
    }

    #[test]
    fn rendering_never_panics() {
        let sources = ["", "x", "σ(z) = 1\n", "a\r\nb", "\u{1F600}\u{1F600}"];
        let spans = [
            (0, 0),
            (0, 1),
            (1, 2),
            (2, 1),
            (3, 3),
            (5, 100),
            (100, 200),
            (usize::MAX - 1, usize::MAX),
        ];
        for source in sources {
            for (start, end) in spans {
                let d = Diagnostic::at(Span::new(start, end), "m", "l")
                    .with_note(Span::new(end, start), "n");
                let text = d.render("f.bp", source, false);
                assert!(text.starts_with("error: m"), "{text}");
                d.render("f.bp", source, true);
            }
        }
    }
}

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

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    /// Where the problem is; `None` for problems of the input as a whole (not UTF-8, no input).
    pub span: Option<Span>,
    /// The text under the caret.
    pub label: String,
    pub notes: Vec<Note>,
    /// Advice printed at the end (`help: ...`).
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: None,
            label: String::new(),
            notes: vec![],
            help: None,
        }
    }

    pub fn at(span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: Some(span),
            label: label.into(),
            notes: vec![],
            help: None,
        }
    }

    pub fn with_note(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.notes.push(Note {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
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

impl Diagnostic {
    /// The report as rustc prints it: `error: message`, ` --> file:line:col`, the source line
    /// with a caret under the spot and the label, the notes as secondary labels, and
    /// `= help: ...`. With `color`, ANSI escapes style it; without, it is plain text.
    ///
    /// Spans are clamped to the source and to character boundaries, so any diagnostic renders.
    pub fn render(&self, file_name: &str, source: &str, color: bool) -> String {
        use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
        use codespan_reporting::files::SimpleFile;
        use codespan_reporting::term::{self, Chars, Config, termcolor};

        let file = SimpleFile::new(file_name, source);
        let range = |span: Span| {
            let clamp = |mut at: usize| {
                at = at.min(source.len());
                while !source.is_char_boundary(at) {
                    at -= 1;
                }
                at
            };
            let start = clamp(span.start);
            start..clamp(span.end).max(start)
        };
        let mut labels = vec![];
        if let Some(span) = self.span {
            labels.push(Label::primary((), range(span)).with_message(&self.label));
            for note in &self.notes {
                labels.push(Label::secondary((), range(note.span)).with_message(&note.message));
            }
        }
        let mut notes = vec![];
        if self.span.is_none() {
            notes.extend(
                self.notes
                    .iter()
                    .map(|note| format!("note: {}", note.message)),
            );
        }
        notes.extend(self.help.iter().map(|help| format!("help: {help}")));
        let report = Report::error()
            .with_message(&self.message)
            .with_labels(labels)
            .with_notes(notes);
        let config = Config {
            chars: Chars::ascii(),
            ..Config::default()
        };

        let fallback = || {
            let mut text = format!("error: {}\n", self.message);
            if let Some(help) = &self.help {
                text.push_str(&format!("  = help: {help}\n"));
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

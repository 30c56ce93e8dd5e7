//! The one error type of the library: a message about a spot in the source, with hints.
//!
//! The core never prints. It returns a [`Diagnostic`] carrying byte spans; `render` turns it
//! into a rustc-style report (file, line, column, the source line, a caret under the spot)
//! as a string, and only the binary writes that string out.

use crate::ast::Span;

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
        Diagnostic { message: message.into(), span: None, label: String::new(), notes: vec![], help: None }
    }

    pub fn at(span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic { message: message.into(), span: Some(span), label: label.into(), notes: vec![], help: None }
    }

    pub fn with_note(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.notes.push(Note { span, message: message.into() });
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

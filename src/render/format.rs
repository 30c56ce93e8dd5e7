//! The formats a document is written in: every renderer and the line breaker choose their
//! notation and layout by it.

/// A document's format (HTML pages are made from the Markdown document).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Latex,
    Json,
}

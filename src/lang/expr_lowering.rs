//! What the two lowerings of expressions share, the scalar one (`lower`) and the vector one
//! (`shaped`): why lowering an expression stopped, and the node of a numeric literal.

use crate::core::error::{Diagnostic, Result};
use crate::core::expr::{Graph, Id, Num};
use crate::lang::ast::{Ident, Span};

/// Why lowering an expression stopped: a name the caller must resolve, or an error.
pub enum LowerFailure {
    Name(Ident),
    Error(Diagnostic),
}

impl From<Diagnostic> for LowerFailure {
    fn from(d: Diagnostic) -> LowerFailure {
        LowerFailure::Error(d)
    }
}

/// A numeric literal as a node, or the error for one past float64's range.
pub fn number(graph: &mut Graph, text: &str, span: Span) -> Result<Id> {
    match Num::parse(text) {
        Some(n) => Ok(graph.num(n)),
        None => Err(Diagnostic::at(
            span,
            format!("`{text}` is not a finite number"),
            "number out of range",
        )),
    }
}

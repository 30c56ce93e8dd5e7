//! chainrule: symbolic backpropagation, explained step by step.
//!
//! The library is pure: it turns source text and a configuration into results and never
//! touches files or the terminal. The binary in `main.rs` does the I/O.

pub mod ast;
pub mod check;
pub mod descent;
pub mod diff;
pub mod document;
pub mod document_check;
pub mod document_step;
pub mod error;
pub mod eval;
pub mod explain;
pub mod expr;
pub mod factor;
pub mod latex;
pub mod layers;
pub mod lower;
pub mod model;
pub mod network;
pub mod numeric;
pub mod render;
pub mod report;
pub mod simplify;
pub mod syntax;

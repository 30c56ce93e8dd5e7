//! The languages chainrule reads: the `.bp` syntax (and its `network` shorthand), LaTeX claims
//! as textbooks print them, `--at`/values lists and `--wrt` targets, lowered to the core's
//! model. The naming rules (Greek letters, subscripts, display forms) that parsers and
//! printers share live here too.

pub mod ast;
pub mod code_claim;
pub mod data;
pub mod display;
pub mod expansion;
pub mod expr_lowering;
pub mod latex;
pub mod load;
pub mod lower;
pub mod names;
pub mod network;
pub mod numpy;
pub mod shaped;
pub mod syntax;
pub mod vector_form;

//! Rendering: formulas in three notations, and documents (one view per command) laid out by
//! the tera templates in `templates/`, plus the JSON documents of docs/json.md.

pub mod arrays;
pub mod check;
pub mod curve;
pub mod document;
pub mod escape;
pub mod eval;
pub mod format;
pub mod formula;
pub mod graph;
pub mod html;
pub mod json;
pub mod layer_view;
pub mod linebreak;
pub mod matrix_form;
pub mod step;
pub mod summation;
pub mod train;
pub mod warning;

pub use formula::{FormulaPrinter, Notation, RenderCache};

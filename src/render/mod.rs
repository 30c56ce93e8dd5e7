//! Rendering: formulas in three notations (and, later, whole documents).
//!
//! [`formula`] holds the precedence-aware printers; document layout builds on them.

pub mod formula;

pub use formula::{
    FormulaPrinter, Notation, RenderCache, default_name_latex, default_name_text, name_latex,
    name_text,
};

//! chainrule: symbolic backpropagation, explained step by step.
//!
//! The library is pure: it turns source text and a configuration into results and never
//! touches files or the terminal. The binary in `main.rs` does the I/O.

pub mod analysis;
pub mod core;
pub mod lang;
pub mod render;

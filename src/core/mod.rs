//! The core: the expression graph and its numbers, the lowered model, differentiation with its
//! trace, simplification and numeric evaluation. Everything here is pure and imports nothing
//! from the layers above (language, analysis, rendering).

pub mod diff;
pub mod error;
pub mod eval;
pub mod excerpt;
pub mod expr;
pub mod factor;
pub mod forward;
pub mod func;
pub mod matrix_diff;
pub mod model;
pub mod number;
pub mod rational;
pub mod shape;
pub mod simplify;
pub mod tensor;

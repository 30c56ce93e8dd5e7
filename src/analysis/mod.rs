//! What chainrule concludes about a model: numbers at a point with their float64 warnings,
//! gradient descent and the checking of claims. Built on
//! the core and the languages; knows nothing of how results are printed.

pub mod check;
pub mod descent;
pub mod init;
pub mod layer_view;
pub mod numeric;
pub mod optimizer;
pub mod train;
pub mod warnings;

//! chainrule: symbolic backpropagation, explained step by step.
//!
//! The library is pure: it turns source text and a configuration into results and never
//! touches files or the terminal (the `chainrule` binary does the I/O). This page is the whole
//! public surface: load a network, derive, evaluate, check claims, descend, and the layered
//! derivation. Formulas in results are nodes of the model's expression graph; print them with
//! [`FormulaPrinter`].
//!
//! ```
//! use chainrule::{DeriveConfig, FormulaPrinter, TargetSpec};
//!
//! // The built-in example: x → σ(w2·x + b2) → σ(w3·a2 + b3), cost C = (y − a3)².
//! let mut model = chainrule::load(chainrule::BUILTIN_EXAMPLE)?;
//!
//! // ∂C/∂w3 with every chain-rule step, simplified in terms of the named intermediates.
//! let wrt = TargetSpec::List(vec!["w3".into()]);
//! let derived = chainrule::derive(&mut model, &wrt, &DeriveConfig::default())?;
//! let result = derived.derivations[0].result;
//! let printer = FormulaPrinter::for_model(&model);
//! assert_eq!(printer.plain(result), "-2(y - a3)*a3(1 - a3)*a2");
//!
//! // Its value at a point, in float64 and as a high-precision reference.
//! let at = chainrule::values(&model, "x=1.5, y=0, w2=0.8, b2=0.1, w3=-0.5, b3=0.2")?;
//! let targets = chainrule::lang::load::targets(&model, &wrt)?;
//! let request = chainrule::EvalRequest { targets, ..Default::default() };
//! let report = chainrule::evaluate(&mut model, &at, &request)?;
//! assert!(report.derivatives[0].f64 > 0.0);
//!
//! // A student's claim with the factor a2 left out is incorrect, and says why.
//! let claims = vec!["dC/dw3 = -2(y - a3)*a3*(1 - a3)".to_string()];
//! let checked = chainrule::check(&model, &claims, &at)?;
//! assert_eq!(checked[0].verdict, chainrule::Verdict::Incorrect);
//!
//! // Three steps of gradient descent with η = 0.5 lower the cost.
//! let descent = chainrule::descend(&mut model, &at, 0.5, 3)?;
//! assert!(descent.steps[2].cost_after < descent.steps[0].cost);
//!
//! // BP1–BP4 for a general layer of a network written in the shorthand.
//! let layered = chainrule::layers("network 2-3-1\nactivation sigmoid\ncost quadratic")?;
//! assert!(layered.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The modules below the facade are the layers of the implementation (core ← lang ←
//! analysis ← render); they are public for the binary, the tests and the benchmarks, and are
//! not a stable interface.

#![warn(missing_docs)]

#[doc(hidden)]
pub mod analysis;
#[doc(hidden)]
pub mod core;
#[doc(hidden)]
pub mod lang;
#[doc(hidden)]
pub mod render;

pub use crate::analysis::check::{CheckError, Checked, Verdict};
pub use crate::analysis::descent::{Descent, DescentStep};
pub use crate::analysis::layers::Layered;
pub use crate::analysis::numeric::{Report, Request as EvalRequest};
pub use crate::core::diff::{Config as DeriveConfig, Derivation, Derivations, Style, Target};
pub use crate::core::error::Diagnostic;
pub use crate::core::model::{Given, Model};
pub use crate::lang::load::{ArgumentError, BUILTIN_EXAMPLE, TargetSpec};
pub use crate::render::FormulaPrinter;

/// Parses and lowers a `.bp` program (the `network` shorthand is expanded first).
pub fn load(source: &str) -> Result<Model, Diagnostic> {
    lang::load::load(source)
}

/// Parses `NAME=VALUE` pairs (separated by commas or newlines, as `--at` and values files
/// write them) against the model's names.
pub fn values(model: &Model, text: &str) -> Result<Vec<Given>, Diagnostic> {
    lang::load::parse_assignments(model, text)
}

/// Differentiates the cost (or any name, with `dY/dX` targets) with respect to the targets,
/// recording every step when the configuration asks for steps.
pub fn derive(
    model: &mut Model,
    wrt: &TargetSpec,
    config: &DeriveConfig,
) -> Result<Derivations, ArgumentError> {
    let targets = lang::load::targets(model, wrt)?;
    Ok(core::diff::derive(model, &targets, config))
}

/// Evaluates the forward pass, the cost and the requested derivatives and formulas at a point,
/// in float64 and as a high-precision reference, with every numerical warning.
pub fn evaluate(
    model: &mut Model,
    at: &[Given],
    request: &EvalRequest,
) -> Result<Report, Diagnostic> {
    analysis::numeric::evaluate(model, at, request)
}

/// Judges claimed derivatives, values and update rules; values in `at` give the point for value
/// claims and counterexamples (parse them against [`analysis::check::with_learning_rate`]'s
/// model when they give the learning rate `eta`).
pub fn check(model: &Model, claims: &[String], at: &[Given]) -> Result<Vec<Checked>, CheckError> {
    analysis::check::check(model, claims, at)
}

/// Runs `steps` steps of gradient descent θ ← θ − η ∂C/∂θ from the values in `start`.
pub fn descend(
    model: &mut Model,
    start: &[Given],
    learning_rate: f64,
    steps: usize,
) -> Result<Descent, Diagnostic> {
    analysis::descent::descend(model, start, learning_rate, steps)
}

/// The layered derivation (BP1–BP4 in index and matrix form) of a program written with the
/// `network` shorthand; `None` for a straight-line program (which is read and checked all the
/// same, so that its mistakes are reported first). The source is parsed once.
pub fn layers(source: &str) -> Result<Option<Layered>, Diagnostic> {
    match lang::load::parse(source)? {
        lang::load::Parsed::Network(spec) => Ok(Some(analysis::layers::derive(&spec))),
        lang::load::Parsed::StraightLine(program) => {
            lang::lower::lower(&program)?;
            Ok(None)
        }
    }
}

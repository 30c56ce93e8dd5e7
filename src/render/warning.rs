//! The sentences of numerical warnings and of the gradient check's caveats: the facts the
//! analysis found (formulas as graph nodes, numbers as numbers) printed here, then worded by
//! the `warning.txt` template. Every format writes these sentences (escaped for it) and JSON
//! carries them as `message` and `caveat`.

use serde::Serialize;

use crate::analysis::numeric::{Caveat, GradCheck};
use crate::analysis::warnings::{Facts, Warning, Why};
use crate::core::error::Diagnostic;
use crate::core::model::Model;
use crate::core::number::{float, whole};
use crate::render::FormulaPrinter;
use crate::render::document::{Layout, render_each};

/// What `warning.txt` sees for one sentence: its form and the facts, printed as text.
#[derive(Serialize, Default)]
struct SentenceView {
    form: &'static str,
    /// The formula where it happens (or the formula whose reference did not settle).
    node: String,
    /// float64's value there.
    value: String,
    true_value: String,
    bits: String,
    at_least: bool,
    /// `log`, `sqrt`, `division_by_zero` or `not_real`.
    why: &'static str,
    argument: String,
    function: &'static str,
    activation: Option<String>,
    call: String,
    rounded_to: String,
    cancels: bool,
    text: String,
    read_as: Option<String>,
    label: String,
    cost: String,
}

/// The sentence of each warning, in order.
pub fn warning_messages(
    model: &Model,
    warnings: &[Warning],
    layout: &Layout,
) -> Result<Vec<String>, Diagnostic> {
    let printer = FormulaPrinter::for_model(model);
    let views = warnings.iter().map(|w| sentence(model, &printer, w));
    Ok(render_each("warning.txt", views, layout)?
        .into_iter()
        .map(|m| m.trim().to_string())
        .collect())
}

/// The caveat of each gradient check that has one.
pub fn caveats(checks: &[GradCheck], layout: &Layout) -> Result<Vec<Option<String>>, Diagnostic> {
    let views: Vec<SentenceView> = checks
        .iter()
        .filter_map(|c| c.caveat)
        .map(|c| match c {
            Caveat::NotFinite => SentenceView {
                form: "caveat_not_finite",
                ..Default::default()
            },
            Caveat::Kink { function, argument } => SentenceView {
                form: "caveat_kink",
                function: function.name(),
                argument: float(argument),
                ..Default::default()
            },
            Caveat::Saturated { function, argument } => SentenceView {
                form: "caveat_saturated",
                function: function.name(),
                argument: float(argument),
                ..Default::default()
            },
        })
        .collect();
    let mut sentences = render_each("warning.txt", views, layout)?.into_iter();
    Ok(checks
        .iter()
        .map(|c| {
            c.caveat
                .and_then(|_| sentences.next())
                .map(|s| s.trim().to_string())
        })
        .collect())
}

fn sentence(model: &Model, printer: &FormulaPrinter, w: &Warning) -> SentenceView {
    let value = float(w.float64);
    let facts = &w.facts;
    let base = SentenceView {
        form: facts.form(),
        value,
        ..Default::default()
    };
    match facts {
        Facts::Unresolved {
            formula,
            lost_bits,
            at_least,
        } => SentenceView {
            node: printer.text(*formula),
            // "at least 0 bits" says nothing: under one bit, whether float64 is right is unknown.
            bits: if *at_least && *lost_bits < 1.0 {
                "0".to_string()
            } else {
                whole(*lost_bits)
            },
            at_least: *at_least,
            ..base
        },
        Facts::Undefined { node, why } => {
            let (why, argument) = match why {
                Why::LogOf(x) => ("log", float(*x)),
                Why::SqrtOf(x) => ("sqrt", float(*x)),
                Why::DivisionByZero => ("division_by_zero", String::new()),
                Why::NotReal => ("not_real", String::new()),
            };
            SentenceView {
                node: printer.text(*node),
                why,
                argument,
                ..base
            }
        }
        Facts::Overflow { node, true_value }
        | Facts::Underflow { node, true_value }
        | Facts::Subnormal { node, true_value }
        | Facts::NotANumber { node, true_value }
        | Facts::Cancellation { node, true_value } => SentenceView {
            node: printer.text(*node),
            true_value: true_value.clone(),
            ..base
        },
        Facts::GradualLoss {
            formula: node,
            bits,
            true_value,
        }
        | Facts::NodeLoss {
            node,
            bits,
            true_value,
        } => SentenceView {
            node: printer.text(*node),
            bits: whole(*bits),
            true_value: true_value.clone(),
            ..base
        },
        Facts::DerivativeAsWritten {
            function,
            node,
            argument,
            true_value,
        } => SentenceView {
            node: printer.text(*node),
            function: function.name(),
            argument: float(*argument),
            true_value: true_value.clone(),
            ..base
        },
        Facts::Saturated {
            activation,
            call,
            function,
            argument,
            rounded_to,
            cancels,
            node,
            true_value,
        } => SentenceView {
            activation: activation.map(|s| model.name(s).to_string()),
            call: printer.text(*call),
            function: function.name(),
            argument: float(*argument),
            rounded_to: float(*rounded_to),
            cancels: *cancels,
            node: printer.text(*node),
            true_value: true_value.clone(),
            ..base
        },
        Facts::InputOutOfRange { text, read_as } => SentenceView {
            text: text.clone(),
            read_as: read_as.map(float),
            ..base
        },
        Facts::VanishingGradient { cost } => SentenceView {
            label: w.at.clone(),
            cost: float(*cost),
            ..base
        },
    }
}

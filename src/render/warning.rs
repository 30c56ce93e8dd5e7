//! The sentences of numerical warnings, of the gradient check's caveats and of the stable
//! rewrites used: the facts the
//! analysis found (formulas as graph nodes, numbers as numbers) printed here, each formula,
//! name and number in both its forms ([`math_span`]), then worded by the `warning.txt`
//! template. Each format writes these sentences through its prose function (text in a terminal
//! and in JSON's `message` and `caveat`, typeset math in Markdown and LaTeX).

use serde::Serialize;

use crate::analysis::numeric::{Caveat, GradCheck, StableRewrite};
use crate::analysis::warnings::{Facts, Warning, Why};
use crate::core::error::Diagnostic;
use crate::core::expr::{Func, Graph};
use crate::core::model::{Bound, Domain, Model};
use crate::core::number::{self, float, whole};
use crate::render::document::{Layout, render_each};
use crate::render::escape::math_span;
use crate::render::{FormulaPrinter, Notation};

/// What `warning.txt` sees for one sentence: its form and the facts, each formula, name and
/// number as a [`math_span`] (a count of bits as it is).
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
    /// The function as a formula names it (`relu`, typeset `\operatorname{relu}`).
    head: String,
    activation: Option<String>,
    call: String,
    rounded_to: String,
    cancels: bool,
    text: String,
    read_as: Option<String>,
    label: String,
    cost: String,
    /// How far a switch is from being thrown the other way: max's or min's arguments apart
    /// (`None` at an exact tie), or relu''s and sgn's argument.
    gap: Option<String>,
    /// The same in float64.
    gap_float64: String,
    /// Whether the gap is between two arguments (max, min) rather than one argument and 0.
    between: bool,
    /// Which stable rewrite (form `rewrite`), by its code.
    rewrite: &'static str,
    /// Which stable form a formula written the usual way should take (form `as_written`).
    stable: &'static str,
    /// A declared domain as the program states it (`x ∈ [0, 1]`, `p > 0`).
    domain: String,
}

/// The sentence of each warning, in order; `label_latex` sets a warning's label (a name or a
/// derivative) in LaTeX where it is one.
pub fn warning_messages(
    model: &Model,
    warnings: &[Warning],
    label_latex: &dyn Fn(&str) -> Option<String>,
    layout: &Layout,
) -> Result<Vec<String>, Diagnostic> {
    let printer = FormulaPrinter::for_model(model);
    let views = warnings
        .iter()
        .map(|w| sentence(model, &printer, label_latex, w));
    Ok(render_each("warning.txt", views, layout)?
        .into_iter()
        .map(|m| m.trim().to_string())
        .collect())
}

/// The sentence of each stable rewrite `--stable` used, in order.
pub fn rewrite_sentences(
    rewrites: &[StableRewrite],
    layout: &Layout,
) -> Result<Vec<String>, Diagnostic> {
    let views = rewrites.iter().map(|r| SentenceView {
        form: "rewrite",
        rewrite: r.code(),
        ..Default::default()
    });
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
                head: head(function),
                argument: number_span(argument),
                ..Default::default()
            },
            Caveat::Saturated { function, argument } => SentenceView {
                form: "caveat_saturated",
                function: function.name(),
                head: head(function),
                argument: number_span(argument),
                ..Default::default()
            },
            Caveat::Tie { function, gap } => SentenceView {
                form: "caveat_tie",
                function: function.name(),
                head: math_span(function.name(), &format!("\\{}", function.name())),
                gap: (gap != 0.0).then(|| number_span(gap.abs())),
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

/// A float64 in both forms: as [`float`] writes it, and set in LaTeX.
fn number_span(x: f64) -> String {
    written_span(&float(x))
}

/// A name's declared domain in both forms: an interval `x ∈ [0, 1]` (open ends in
/// parentheses), or the one bound `p > 0`.
fn domain_span(name: &str, name_latex: &str, domain: &Domain) -> String {
    let end = |b: &Bound| float(b.value);
    let (text, latex) = match (&domain.low, &domain.high) {
        (Some(low), Some(high)) => {
            let open = if low.closed { "[" } else { "(" };
            let close = if high.closed { "]" } else { ")" };
            let (low, high) = (end(low), end(high));
            (
                format!("{name} ∈ {open}{low}, {high}{close}"),
                format!(
                    "{name_latex} \\in {open}{}, {}{close}",
                    number::latex(&low),
                    number::latex(&high)
                ),
            )
        }
        (Some(b), None) | (None, Some(b)) => {
            let above = domain.low.is_some();
            let (text_op, latex_op) = match (above, b.closed) {
                (true, false) => (">", ">"),
                (true, true) => ("≥", "\\geq"),
                (false, false) => ("<", "<"),
                (false, true) => ("≤", "\\leq"),
            };
            let value = end(b);
            (
                format!("{name} {text_op} {value}"),
                format!("{name_latex} {latex_op} {}", number::latex(&value)),
            )
        }
        (None, None) => (
            format!("{name} ∈ ℝ"),
            format!("{name_latex} \\in \\mathbb{{R}}"),
        ),
    };
    math_span(&text, &latex)
}

/// A number already written by the number formatter (a reference's digits), in both forms.
fn written_span(written: &str) -> String {
    math_span(written, &number::latex(written))
}

/// A function by its name, typeset as the formula printer sets its head (`\sigma`,
/// `\operatorname{relu}`); one the printer does not write as a head (`|x|`) as an operator.
fn head(f: Func) -> String {
    let mut graph = Graph::new();
    let x = graph.int(0);
    let call = graph.call(f, x);
    let latex = FormulaPrinter::new(&graph, &[]).latex(call);
    let head = match latex.strip_suffix("(0)") {
        Some(head) => head.to_string(),
        None => format!("\\operatorname{{{}}}", f.name()),
    };
    math_span(f.name(), &head)
}

fn sentence(
    model: &Model,
    printer: &FormulaPrinter,
    label_latex: &dyn Fn(&str) -> Option<String>,
    w: &Warning,
) -> SentenceView {
    let value = number_span(w.float64);
    let printed = |id| math_span(&printer.text(id), &printer.latex(id));
    let facts = &w.facts;
    let base = SentenceView {
        form: facts.form(),
        value,
        ..Default::default()
    };
    match facts {
        Facts::OutOfRange { formula } => SentenceView {
            node: printed(*formula),
            ..base
        },
        Facts::Unresolved {
            formula,
            lost_bits,
            at_least,
        } => SentenceView {
            node: printed(*formula),
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
                Why::LogOf(x) => ("log", number_span(*x)),
                Why::SqrtOf(x) => ("sqrt", number_span(*x)),
                Why::DivisionByZero => ("division_by_zero", String::new()),
                Why::NotReal => ("not_real", String::new()),
            };
            SentenceView {
                node: printed(*node),
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
            node: printed(*node),
            true_value: written_span(true_value),
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
            node: printed(*node),
            bits: whole(*bits),
            true_value: written_span(true_value),
            ..base
        },
        Facts::DerivativeAsWritten {
            function,
            node,
            argument,
            true_value,
        } => SentenceView {
            node: printed(*node),
            function: function.name(),
            argument: number_span(*argument),
            true_value: written_span(true_value),
            ..base
        },
        Facts::AsWritten {
            form,
            node,
            argument,
            true_value,
        } => SentenceView {
            node: printed(*node),
            stable: form.code(),
            argument: number_span(*argument),
            true_value: written_span(true_value),
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
            activation: activation
                .map(|s| math_span(model.name(s), &printer.name(s, Notation::Latex))),
            call: printed(*call),
            function: function.name(),
            argument: number_span(*argument),
            rounded_to: number_span(*rounded_to),
            cancels: *cancels,
            node: printed(*node),
            true_value: written_span(true_value),
            ..base
        },
        Facts::InputOutOfRange { text, read_as } => SentenceView {
            text: text.clone(),
            read_as: read_as.map(number_span),
            ..base
        },
        Facts::OutsideDomain { text, domain } => {
            let (name, name_latex) = match model.lookup(&w.at) {
                Some(s) => (w.at.clone(), printer.name(s, Notation::Latex)),
                None => (w.at.clone(), crate::render::escape::latex_text(&w.at)),
            };
            SentenceView {
                label: math_span(&name, &name_latex),
                text: written_span(text),
                domain: domain_span(&name, &name_latex, domain),
                ..base
            }
        }
        Facts::VanishingGradient { cost } => SentenceView {
            label: match label_latex(&w.at) {
                Some(latex) => math_span(&w.at, &latex),
                None => w.at.clone(),
            },
            cost: number_span(*cost),
            ..base
        },
        Facts::Tie {
            node,
            true_value,
            between,
            gap,
            gap_float64,
        } => SentenceView {
            node: printed(*node),
            true_value: written_span(true_value),
            between: *between,
            gap: Some(written_span(&number::plain_decimal(gap))),
            gap_float64: number_span(*gap_float64),
            ..base
        },
    }
}

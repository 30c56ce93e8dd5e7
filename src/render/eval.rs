//! The `eval` report as text, Markdown, LaTeX or JSON.
//!
//! The report's numbers are printed here with the one number formatter (float64 to round-trip,
//! the reference to 17 significant digits, each also as LaTeX math) and its names with the
//! formula printer; the `eval.*` templates lay them out and hold the words (`eval_words.txt`
//! how a reference or an error is said, `warning.txt` the warnings' sentences, which JSON
//! carries too). The JSON document has the fields of docs/json.md (`values`, `cost`,
//! `derivatives`, `reference` as decimal strings, `warnings`) with a few added fields.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::analysis::numeric::{LOST_BITS, Quantity, REFERENCE_DIGITS, Report};
use crate::core::error::Diagnostic;
use crate::core::eval::{Precise, Resolution};
use crate::core::model::Model;
use crate::core::number::{self, float, plain_decimal, rough, thousands, whole};
use crate::render::document::{Format, Layout, print_target, render_template};
use crate::render::escape::{latex_prose, latex_text, markdown_prose, markdown_text, text_prose};
use crate::render::warning::{caveats, warning_messages};
use crate::render::{FormulaPrinter, Notation};

/// Networks with more names than this get a summary instead of the table of values.
const TABLE_LIMIT: usize = 300;

fn number(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// Writes the report in the format asked for, laid out by the `eval.*` templates (JSON by
/// serde, as SPEC section 3 fixes it). With `--standalone`, LaTeX is a whole document.
pub fn render_eval(
    model: &Model,
    report: &Report,
    format: Format,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let label_latex = |label: &str| label_latex(model, report, label);
    let messages = warning_messages(model, &report.warnings, &label_latex, layout)?;
    let caveats = caveats(&report.grad_checks, layout)?;
    let template = match format {
        Format::Json => {
            let messages: Vec<String> = messages.iter().map(|m| text_prose(m)).collect();
            let caveats: Vec<Option<String>> = caveats
                .iter()
                .map(|c| c.as_deref().map(text_prose))
                .collect();
            return Ok(json_report(report, &messages, &caveats));
        }
        Format::Text => "eval.txt",
        Format::Markdown => "eval.md",
        Format::Latex => "eval.tex",
    };
    let view = view(
        model,
        report,
        format,
        &layout.source_name,
        &messages,
        &caveats,
    );
    let title = format!("Values of {}", latex_text(&layout.source_name));
    render_template(template, &view, Some(&title), layout)
}

/// A label in LaTeX where it names a quantity: a derivative asked for, or a name of the model.
fn label_latex(model: &Model, report: &Report, label: &str) -> Option<String> {
    let target = report
        .derivatives
        .iter()
        .find(|q| q.label == label)
        .and_then(|q| q.target);
    match target {
        Some(t) => Some(print_target(model, t, Format::Latex)),
        None => model
            .lookup(label)
            .map(|s| FormulaPrinter::for_model(model).name(s, Notation::Latex)),
    }
}

/// A number as prose and tables show it in text (`plain`), and as LaTeX math (`math`).
#[derive(Serialize)]
struct NumberView {
    plain: String,
    math: String,
}

impl NumberView {
    fn written(plain: String) -> NumberView {
        NumberView {
            math: number::latex(&plain),
            plain,
        }
    }

    fn float(x: f64) -> NumberView {
        NumberView::written(float(x))
    }
}

/// A name (or derivative, or `--expr` formula) as the format writes it: LaTeX math in Markdown
/// and LaTeX when it is a name or a derivative (`math`), otherwise text escaped for the format.
#[derive(Serialize)]
struct NameView {
    text: String,
    math: bool,
}

/// How well the reference is known: `exact` (every digit of `value` right), `digits` (the
/// first `digits` of `value` known), `zero_within` (0, to within ±`high`), `between` (`low`
/// and `high`), or `unknown`.
#[derive(Serialize)]
struct ReferenceView {
    kind: &'static str,
    value: Option<NumberView>,
    digits: usize,
    low: Option<NumberView>,
    high: Option<NumberView>,
}

/// A value's error in float64: `bits` of 53, only a lower bound when `at_least`, and
/// `unknown` when that bound is 0.
#[derive(Serialize)]
struct ErrorView {
    bits: String,
    at_least: bool,
    unknown: bool,
}

#[derive(Serialize)]
struct QuantityView {
    name: NameView,
    float64: NumberView,
    reference: ReferenceView,
    error: ErrorView,
    /// With `--stable`: float64 through the stable forms.
    stable: Option<NumberView>,
}

#[derive(Serialize)]
struct GradCheckView {
    name: NameView,
    analytic: NumberView,
    numeric: NumberView,
    relative_error: NumberView,
    verdict: &'static str,
    caveat: Option<String>,
}

#[derive(Serialize)]
struct WarningView {
    kind: &'static str,
    at: NameView,
    message: String,
}

/// The values not listed: how many names, how many of them lost, and why they are not listed
/// (`too_many`, `no_values`).
#[derive(Serialize)]
struct SummaryView {
    names: String,
    lost: String,
    reason: &'static str,
}

/// What an `eval.*` template sees: names and numbers printed for the format, no prose.
#[derive(Serialize)]
struct EvalView {
    source: String,
    reference_digits: usize,
    lost_bits: String,
    /// The widest label, for the text layout's first column.
    width: usize,
    /// Whether the values are listed (else `summary` says why not).
    listed: bool,
    values: Vec<QuantityView>,
    summary: Option<SummaryView>,
    cost: QuantityView,
    derivatives: Vec<QuantityView>,
    rewrites: Vec<String>,
    grad_checks: Vec<GradCheckView>,
    warnings: Vec<WarningView>,
    /// Whether float64 gives every printed value to its last bits (nothing to warn about).
    all_right: bool,
}

fn view(
    model: &Model,
    report: &Report,
    format: Format,
    source_name: &str,
    messages: &[String],
    caveats: &[Option<String>],
) -> EvalView {
    let prose = |text: &str| match format {
        Format::Markdown => markdown_text(text),
        Format::Latex => latex_text(text),
        _ => text.to_string(),
    };
    // Sentences: formulas in them typeset where the format typesets, what they quote between
    // backticks (a value as written) code.
    let sentence = |text: &str| match format {
        Format::Markdown => markdown_prose(text),
        Format::Latex => latex_prose(text),
        _ => text_prose(text),
    };
    // A label names a quantity (a derivative or a name of the model), or is a formula as given.
    let name = |label: &str| {
        if format == Format::Text {
            return NameView {
                text: label.to_string(),
                math: false,
            };
        }
        match label_latex(model, report, label) {
            Some(latex) => NameView {
                text: latex,
                math: true,
            },
            None => NameView {
                text: prose(label),
                math: false,
            },
        }
    };
    let quantity = |q: &Quantity| {
        let rounded = q.error_bits.round();
        QuantityView {
            name: name(&q.label),
            float64: NumberView::float(q.f64),
            reference: reference(q),
            error: ErrorView {
                bits: whole(rounded),
                at_least: q.error_at_least,
                unknown: q.error_at_least && rounded <= 0.0,
            },
            stable: q.stable.map(NumberView::float),
        }
    };
    let listed = report.show_values && report.values.len() <= TABLE_LIMIT;
    let summary = (!listed).then(|| SummaryView {
        names: thousands(report.values.len()),
        lost: thousands(
            report
                .values
                .iter()
                .filter(|q| q.error_bits > LOST_BITS || q.error_at_least)
                .count(),
        ),
        reason: if report.show_values {
            "too_many"
        } else {
            "no_values"
        },
    });
    EvalView {
        source: prose(source_name),
        reference_digits: REFERENCE_DIGITS,
        lost_bits: whole(LOST_BITS),
        width: report
            .values
            .iter()
            .chain(&report.derivatives)
            .map(|q| q.label.chars().count())
            .max()
            .unwrap_or(4)
            .max(4),
        listed,
        values: if listed {
            report.values.iter().map(quantity).collect()
        } else {
            Vec::new()
        },
        summary,
        cost: quantity(&report.cost),
        derivatives: report.derivatives.iter().map(quantity).collect(),
        rewrites: report.rewrites_used.iter().map(|r| sentence(r)).collect(),
        grad_checks: report
            .grad_checks
            .iter()
            .zip(caveats)
            .map(|(c, caveat)| GradCheckView {
                name: name(&c.label),
                analytic: NumberView::float(c.analytic),
                numeric: NumberView::float(c.numeric),
                relative_error: NumberView {
                    plain: rough(c.relative_error),
                    math: number::latex(&number::significant(c.relative_error, 2)),
                },
                verdict: grad_check_verdict(c.unreliable, c.relative_error),
                caveat: caveat.as_deref().map(sentence),
            })
            .collect(),
        warnings: report
            .warnings
            .iter()
            .zip(messages)
            .map(|(w, message)| WarningView {
                kind: w.kind.code(),
                at: name(&w.at),
                message: sentence(message),
            })
            .collect(),
        all_right: report.warnings.is_empty() && all_right(report),
    }
}

/// The reference to 17 digits (every one of them known: the precision was raised until they
/// were), or, where it could not be resolved, the digits known or the interval.
fn reference(q: &Quantity) -> ReferenceView {
    let mut view = ReferenceView {
        kind: "unknown",
        value: None,
        digits: 0,
        low: None,
        high: None,
    };
    match &q.resolution {
        Resolution::Converged => {
            view.kind = "exact";
            view.value = Some(NumberView::written(plain_decimal(&q.reference_decimal())));
        }
        Resolution::Within { low, high } => {
            let (low, high) = (Precise::Finite(low.clone()), Precise::Finite(high.clone()));
            let known = (1..=REFERENCE_DIGITS)
                .rev()
                .find(|&n| low.to_decimal_string(n) == high.to_decimal_string(n));
            match known {
                Some(n) if !low.is_zero() && low.to_f64().signum() == high.to_f64().signum() => {
                    view.kind = "digits";
                    view.digits = n;
                    view.value = Some(NumberView::written(plain_decimal(
                        &low.to_decimal_string(n),
                    )));
                }
                _ if low.to_f64() == 0.0 && high.to_f64() == 0.0 => {
                    view.kind = "zero_within";
                    let bound = if high.to_f64().abs() > 0.0 || !high.is_zero() {
                        high.to_decimal_string(2)
                    } else {
                        low.neg().to_decimal_string(2)
                    };
                    view.high = Some(NumberView::written(bound));
                }
                _ => {
                    view.kind = "between";
                    view.low = Some(NumberView::written(low.to_decimal_string(2)));
                    view.high = Some(NumberView::written(high.to_decimal_string(2)));
                }
            }
        }
        Resolution::Unknown => {}
    }
    view
}

/// Whether every printed value is right in float64 (so "no warnings" can be said).
fn all_right(report: &Report) -> bool {
    report.values.iter().chain(&report.derivatives).all(|q| {
        !q.error_at_least
            && q.error_bits <= LOST_BITS
            && (q.f64.is_finite() || !q.reference.is_finite())
    })
}

/// The usual reading of a gradient check's relative error.
pub fn verdict(relative_error: f64) -> &'static str {
    if relative_error < 1e-7 {
        "fine"
    } else if relative_error < 1e-4 {
        "acceptable"
    } else if relative_error < 1e-2 {
        "suspicious"
    } else {
        "probably wrong"
    }
}

/// The verdict, or `unreliable here` where the comparison says nothing.
fn grad_check_verdict(unreliable: bool, relative_error: f64) -> &'static str {
    if unreliable {
        "unreliable here"
    } else {
        verdict(relative_error)
    }
}

/// A warning as SPEC section 3 has it (`kind`, `at`, `message`) with its numbers.
#[derive(Serialize)]
struct WarningJson<'a> {
    kind: &'static str,
    at: &'a str,
    message: &'a str,
    float64: f64,
    reference: &'a str,
}

#[derive(Serialize)]
struct GradCheckJson<'a> {
    analytic: Value,
    numeric: Value,
    relative_error: Value,
    verdict: &'a str,
    caveat: Option<&'a str>,
}

fn json_report(report: &Report, messages: &[String], caveats: &[Option<String>]) -> String {
    let mut values = serde_json::Map::new();
    let mut references = serde_json::Map::new();
    let mut bits = serde_json::Map::new();
    let mut at_least = serde_json::Map::new();
    let mut intervals = serde_json::Map::new();
    for q in report.values.iter().chain(&report.derivatives) {
        if let Resolution::Within { low, high } = &q.resolution {
            intervals.insert(
                q.label.clone(),
                json!([
                    Precise::Finite(low.clone()).to_decimal_string(REFERENCE_DIGITS),
                    Precise::Finite(high.clone()).to_decimal_string(REFERENCE_DIGITS)
                ]),
            );
        }
    }
    for q in report.values.iter().filter(|_| report.show_values) {
        values.insert(q.label.clone(), number(q.f64));
        references.insert(q.label.clone(), json!(reference_json(q)));
    }
    let mut derivatives = serde_json::Map::new();
    let mut stable = serde_json::Map::new();
    for q in &report.derivatives {
        derivatives.insert(q.label.clone(), number(q.f64));
        references.insert(q.label.clone(), json!(reference_json(q)));
        bits.insert(q.label.clone(), json!(q.error_bits));
        if q.error_at_least {
            at_least.insert(q.label.clone(), json!(q.error_bits));
        }
        if let Some(s) = q.stable {
            stable.insert(q.label.clone(), number(s));
        }
    }
    let checks: BTreeMap<&str, GradCheckJson> = report
        .grad_checks
        .iter()
        .zip(caveats)
        .map(|(c, caveat)| {
            (
                c.label.as_str(),
                GradCheckJson {
                    analytic: number(c.analytic),
                    numeric: number(c.numeric),
                    relative_error: number(c.relative_error),
                    verdict: grad_check_verdict(c.unreliable, c.relative_error),
                    caveat: caveat.as_deref(),
                },
            )
        })
        .collect();
    let warnings: Vec<WarningJson> = report
        .warnings
        .iter()
        .zip(messages)
        .map(|(w, message)| WarningJson {
            kind: w.kind.code(),
            at: &w.at,
            message,
            float64: w.float64,
            reference: &w.reference,
        })
        .collect();
    let mut doc = json!({
        "values": values,
        "cost": number(report.cost.f64),
        "derivatives": derivatives,
        "reference": references,
        "error_bits": bits,
        "warnings": warnings,
    });
    if !stable.is_empty() || !report.rewrites_used.is_empty() {
        doc["stable"] = json!(stable);
        doc["rewrites_used"] = json!(report.rewrites_used);
    }
    if !checks.is_empty() {
        doc["gradient_check"] = json!(checks);
    }
    if !at_least.is_empty() {
        doc["error_bits_at_least"] = json!(at_least);
    }
    if !intervals.is_empty() {
        doc["reference_interval"] = json!(intervals);
    }
    crate::render::json::document(&doc)
}

/// The reference as a decimal string for JSON: every digit written is right (an unresolved
/// value gives the digits its interval agrees on, `0` for an interval around zero that
/// float64 cannot tell from zero; `reference_interval` has the bounds).
fn reference_json(q: &Quantity) -> String {
    match &q.resolution {
        Resolution::Converged => plain_decimal(&q.reference_decimal()),
        Resolution::Within { low, high } => {
            let (low, high) = (Precise::Finite(low.clone()), Precise::Finite(high.clone()));
            let known = (1..=REFERENCE_DIGITS)
                .rev()
                .find(|&n| low.to_decimal_string(n) == high.to_decimal_string(n));
            match known {
                Some(n) if !low.is_zero() && low.to_f64().signum() == high.to_f64().signum() => {
                    plain_decimal(&low.to_decimal_string(n))
                }
                _ if low.to_f64() == 0.0 && high.to_f64() == 0.0 => "0".to_string(),
                _ => "unknown".to_string(),
            }
        }
        Resolution::Unknown => "unknown".to_string(),
    }
}

//! The `eval` report as text, Markdown, LaTeX or JSON.
//!
//! The report's numbers are printed here with the one number formatter (float64 to round-trip,
//! the reference to 17 significant digits; plain in text, LaTeX math in Markdown and LaTeX) and
//! its names with the formula printer; the `eval.*` templates lay them out and hold the words
//! (`eval_words.txt` how a reference or an error is said, `warning.txt` the warnings'
//! sentences, which JSON carries too). A network's tables run to tens of thousands of rows, so
//! a row is flat and carries only what its format writes. The JSON document has the fields of
//! docs/json.md (`values`, `cost`, `derivatives`, `reference` as decimal strings, `warnings`)
//! with a few added fields.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::analysis::numeric::{LOST_BITS, Quantity, REFERENCE_DIGITS, Report};
use crate::core::diff::Target;
use crate::core::error::Diagnostic;
use crate::core::eval::{Precise, Resolution};
use crate::core::expr::Node;
use crate::core::model::Model;
use crate::core::number::{self, float, plain_decimal, rough, thousands, whole};
use crate::core::shape::Shape;
use crate::render::arrays::{self, Key, Nested, Run, runs};
use crate::render::document::{Format, Layout, print_target, render_template};
use crate::render::escape::{latex_prose, latex_text, markdown_prose, markdown_text, text_prose};
use crate::render::warning::{caveats, rewrite_sentences, warning_messages};
use crate::render::{FormulaPrinter, Notation};

/// Networks with more names than this get a summary instead of the table of values.
const TABLE_LIMIT: usize = 300;

/// The text layout's float64 column: the longest float64 written to round-trip, and a space.
const FLOAT_WIDTH: usize = 24;

/// Writes the report in the format asked for, laid out by the `eval.*` templates (JSON by
/// serde, as SPEC section 3 fixes it). With `--standalone`, LaTeX is a whole document.
pub fn render_eval(
    model: &Model,
    report: &Report,
    format: Format,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let labels = Labels::of(model, report);
    let label_latex = |label: &str| labels.latex(label);
    let messages = warning_messages(model, &report.warnings, &label_latex, layout)?;
    let caveats = caveats(&report.grad_checks, layout)?;
    let rewrites = rewrite_sentences(&report.rewrites_used, layout)?;
    let layer_view = match (&report.layer_view, format) {
        (Some(view), Format::Text | Format::Markdown | Format::Latex) => Some(
            crate::render::layer_view::render_section(model, view, format, layout)?,
        ),
        _ => None,
    };
    if report.per_layer
        && let Some(section) = &layer_view
    {
        return Ok(section.clone());
    }
    let template = match format {
        Format::Json => {
            let messages: Vec<String> = messages.iter().map(|m| text_prose(m)).collect();
            let caveats: Vec<Option<String>> = caveats
                .iter()
                .map(|c| c.as_deref().map(text_prose))
                .collect();
            let rewrites: Vec<String> = rewrites.iter().map(|r| text_prose(r)).collect();
            let layers = match &report.layer_view {
                Some(view) => Some(crate::render::layer_view::json(model, view, layout)?),
                None => None,
            };
            if report.per_layer
                && let Some((layers, findings)) = layers
            {
                return Ok(crate::render::json::document(&serde_json::json!({
                    "cost": number(report.cost.f64),
                    "layers": layers,
                    "findings": findings,
                })));
            }
            return Ok(json_report(
                model, report, &messages, &caveats, &rewrites, layers,
            ));
        }
        Format::Text => "eval.txt",
        Format::Markdown => "eval.md",
        Format::Latex => "eval.tex",
    };
    let mut view = view(
        &labels,
        report,
        format,
        &layout.source_name,
        &messages,
        &caveats,
        &rewrites,
    );
    // A large network's report is a summary: the layer view stands for its derivatives.
    if layer_view.is_some() && view.derivatives.len() > TABLE_LIMIT && !report.all_values {
        view.derivatives_left = Some(thousands(view.derivatives.len()));
        view.derivatives.clear();
    }
    view.layer_view = layer_view;
    view.inputs_zeroed = (report.inputs_zeroed > 0).then(|| thousands(report.inputs_zeroed));
    let title = format!("Values of {}", latex_text(&layout.source_name));
    render_template(template, &view, Some(&title), layout)
}

/// The report's labels in LaTeX where they name a quantity: a derivative asked for (found by
/// its label in an index made the first time one is asked for, not by a search through tens
/// of thousands of derivatives for each label), or a name of the model.
struct Labels<'a> {
    model: &'a Model,
    report: &'a Report,
    /// Each derivative's label to its target, the first derivative's where two share a label.
    derivatives: OnceCell<HashMap<&'a str, Option<Target>>>,
}

impl<'a> Labels<'a> {
    fn of(model: &'a Model, report: &'a Report) -> Labels<'a> {
        Labels {
            model,
            report,
            derivatives: OnceCell::new(),
        }
    }

    fn latex(&self, label: &str) -> Option<String> {
        let derivatives = self.derivatives.get_or_init(|| {
            let mut index = HashMap::with_capacity(self.report.derivatives.len());
            for q in &self.report.derivatives {
                index.entry(q.label.as_str()).or_insert(q.target);
            }
            index
        });
        match derivatives.get(label).copied().flatten() {
            Some(t) => Some(print_target(self.model, t, Format::Latex)),
            None => self
                .model
                .lookup(label)
                .map(|s| FormulaPrinter::for_model(self.model).name(s, Notation::Latex)),
        }
    }
}

/// A number as prose and tables show it in text (`plain`), and as LaTeX math (`math`).
#[derive(Serialize)]
struct NumberView {
    plain: String,
    math: String,
}

impl NumberView {
    fn float(x: f64) -> NumberView {
        let plain = float(x);
        NumberView {
            math: number::latex(&plain),
            plain,
        }
    }
}

/// A name (or derivative, or `--expr` formula) as the format writes it: LaTeX math in Markdown
/// and LaTeX when it is a name or a derivative (`math`), otherwise text escaped for the format.
#[derive(Serialize)]
struct NameView {
    text: String,
    math: bool,
}

/// A row of the table of values or of derivatives. Flat, and each number printed once, for
/// the format (plain digits in text, LaTeX math in Markdown and LaTeX): a network has tens of
/// thousands of rows, and a template reads a row's own fields far faster than fields of nested
/// maps. Absent numbers and false flags are left out (a template reads them as false); `math`
/// stays, as `eval_name` takes it.
#[derive(Serialize)]
struct RowView {
    /// The label as [`NameView::text`], LaTeX math where `math`; in text, padded to the names'
    /// column (`width`).
    name: String,
    math: bool,
    /// In text, padded to the float64 column (`float_width`): the `pad` filter, twice a row,
    /// took as long as the rest of the row.
    float64: String,
    /// How well the reference is known: `exact` (every digit of `reference` right), `digits`
    /// (the first `digits` of `reference` known), `zero_within` (0, to within ±`high`),
    /// `between` (`low` and `high`), or `unknown`.
    known: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digits: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    low: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high: Option<String>,
    /// The error in float64: `bits` of 53, only a lower bound where `at_least`, and `unknown`
    /// where that bound is 0.
    bits: String,
    #[serde(skip_serializing_if = "is_false")]
    at_least: bool,
    #[serde(skip_serializing_if = "is_false")]
    unknown: bool,
    /// With `--stable`: float64 through the stable forms.
    #[serde(skip_serializing_if = "Option::is_none")]
    stable: Option<String>,
}

/// `text` filled with spaces to `width` characters, as the `pad` filter does.
fn padded(mut text: String, width: usize) -> String {
    let length = text.chars().count();
    text.extend(std::iter::repeat_n(' ', width.saturating_sub(length)));
    text
}

fn is_false(b: &bool) -> bool {
    !b
}

/// How well the reference is known, as [`RowView`] has it, with numbers as plain digits.
struct ReferenceView {
    known: &'static str,
    reference: Option<String>,
    digits: Option<usize>,
    low: Option<String>,
    high: Option<String>,
}

/// The cost, for the sentence under the values.
#[derive(Serialize)]
struct CostView {
    name: NameView,
    float64: NumberView,
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

/// An array of a vector program (its values, or the derivatives with respect to it) as a
/// matrix: each cell printed for the format and padded to its column. A reference known only
/// in part is marked in its cell (`0.00123…` the digits known, `0±1e-400` zero to within a
/// bound, `[-1, 2.5]` an interval, `?` unknown; an error `≥12` at least that many bits), and
/// `inexact` says the template should explain the marks.
#[derive(Serialize)]
struct ArrayView {
    name: String,
    math: bool,
    rows: u32,
    cols: u32,
    float64: Vec<Vec<String>>,
    /// Empty where every reference reads as its float64 (the matrix is shown once).
    reference: Vec<Vec<String>>,
    /// The error in bits of each entry (derivatives only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    error: Vec<Vec<String>>,
    inexact: bool,
}

/// What an `eval.*` template sees: names and numbers printed for the format, no prose.
#[derive(Serialize)]
struct EvalView {
    source: String,
    reference_digits: usize,
    lost_bits: String,
    /// The widest label, for the text layout's first column.
    width: usize,
    float_width: usize,
    /// Whether the values are listed (else `summary` says why not).
    listed: bool,
    values: Vec<RowView>,
    /// The arrays of a vector program's values, after the table of the other values.
    value_arrays: Vec<ArrayView>,
    summary: Option<SummaryView>,
    cost: CostView,
    derivatives: Vec<RowView>,
    /// The derivatives with respect to whole arrays, after the table of the others.
    derivative_arrays: Vec<ArrayView>,
    rewrites: Vec<String>,
    grad_checks: Vec<GradCheckView>,
    /// How many derivatives could have been checked, when only some were (printed).
    grad_checks_of: Option<String>,
    warnings: Vec<WarningView>,
    /// Whether float64 gives every printed value to its last bits (nothing to warn about).
    all_right: bool,
    /// The layer view's section, rendered for the format.
    layer_view: Option<String>,
    /// How many derivatives a large network's summary leaves out.
    derivatives_left: Option<String>,
    /// How many inputs and targets were set to 0 on request.
    inputs_zeroed: Option<String>,
}

fn view<'q>(
    labels: &Labels,
    report: &'q Report,
    format: Format,
    source_name: &str,
    messages: &[String],
    caveats: &[Option<String>],
    rewrites: &[String],
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
        match labels.latex(label) {
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
    // A number in a table: plain digits in text, LaTeX math in Markdown and LaTeX.
    let cell = |plain: String| match format {
        Format::Text => plain,
        _ => number::latex(&plain),
    };
    let model = labels.model;
    // A vector program's arrays are shown as matrices; the other quantities stay rows.
    let value_runs = runs(model, &keys(model, &report.values, false));
    let derivative_runs = runs(model, &keys(model, &report.derivatives, true));
    let singles = |runs: &[Run], quantities: &'q [Quantity]| -> Vec<&'q Quantity> {
        runs.iter()
            .filter_map(|r| match r {
                Run::Row(i) => Some(&quantities[*i]),
                Run::Array { .. } => None,
            })
            .collect()
    };
    let value_rows = singles(&value_runs, &report.values);
    let derivative_rows = singles(&derivative_runs, &report.derivatives);
    let width = value_rows
        .iter()
        .chain(&derivative_rows)
        .map(|q| q.label.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let row = |q: &Quantity| {
        let rounded = q.error_bits.round();
        let reference = reference(q);
        // In text, name and float64 padded to their columns (in place: a network's table has
        // tens of thousands of rows).
        let (name, float64) = match format {
            Format::Text => (
                NameView {
                    text: padded(q.label.clone(), width),
                    math: false,
                },
                padded(float(q.f64), FLOAT_WIDTH),
            ),
            _ => (name(&q.label), number::latex(&float(q.f64))),
        };
        RowView {
            name: name.text,
            math: name.math,
            float64,
            known: reference.known,
            reference: reference.reference.map(cell),
            digits: reference.digits,
            low: reference.low.map(cell),
            high: reference.high.map(cell),
            bits: whole(rounded),
            at_least: q.error_at_least,
            unknown: q.error_at_least && rounded <= 0.0,
            stable: q.stable.map(|s| cell(float(s))),
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
        width,
        float_width: FLOAT_WIDTH,
        listed,
        values: if listed {
            value_rows.iter().map(|q| row(q)).collect()
        } else {
            Vec::new()
        },
        value_arrays: if listed {
            array_views(model, &value_runs, &report.values, format, false)
        } else {
            Vec::new()
        },
        summary,
        cost: CostView {
            name: name(&report.cost.label),
            float64: NumberView::float(report.cost.f64),
        },
        derivatives: derivative_rows.iter().map(|q| row(q)).collect(),
        derivative_arrays: array_views(model, &derivative_runs, &report.derivatives, format, true),
        rewrites: rewrites.iter().map(|r| sentence(r)).collect(),
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
        grad_checks_of: (report.grad_checks_of > report.grad_checks.len())
            .then(|| thousands(report.grad_checks_of)),
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
        layer_view: None,
        derivatives_left: None,
        inputs_zeroed: None,
    }
}

/// What each quantity is of, for finding the arrays among them: a value is of its name, a
/// derivative (`derivatives`) of its `of` and `wrt`; an `--expr` formula of nothing.
fn keys(model: &Model, quantities: &[Quantity], derivatives: bool) -> Vec<Key> {
    quantities
        .iter()
        .map(|q| match (derivatives, q.target) {
            (true, t) => t.map(|t| (t.of.0, t.wrt)),
            (false, _) => match model.graph.node(q.formula) {
                Node::Var(s) => Some((u32::MAX, *s)),
                _ => None,
            },
        })
        .collect()
}

/// The matrices of the runs that are whole arrays: values, or (`derivatives`) the derivatives
/// of one quantity with respect to every entry of an array, with their errors.
fn array_views(
    model: &Model,
    runs: &[Run],
    quantities: &[Quantity],
    format: Format,
    derivatives: bool,
) -> Vec<ArrayView> {
    let number = |plain: String| match format {
        Format::Text => plain,
        _ => number::latex(&plain),
    };
    runs.iter()
        .filter_map(|run| {
            let Run::Array { array, rows } = run else {
                return None;
            };
            let entries = &quantities[rows.clone()];
            let (name, math) = match (format, entries[0].target) {
                (Format::Text, Some(t)) if derivatives => {
                    (arrays::derivative_label(model, t.of, array), false)
                }
                (_, Some(t)) if derivatives => (arrays::derivative_latex(model, t.of, array), true),
                (Format::Text, _) => (array.name.clone(), false),
                _ => (arrays::name_latex(array), true),
            };
            let references: Vec<ReferenceView> = entries.iter().map(reference).collect();
            let reference_cells: Vec<String> = references
                .iter()
                .map(|r| reference_cell(r, &number, format))
                .collect();
            let float64_cells: Vec<String> = entries.iter().map(|q| number(float(q.f64))).collect();
            let error_cells = entries
                .iter()
                .map(|q| {
                    let bits = whole(q.error_bits.round());
                    match (q.error_at_least, q.error_bits.round() <= 0.0) {
                        (true, true) => "?".to_string(),
                        (true, false) if format == Format::Text => format!("≥{bits}"),
                        (true, false) => format!("\\geq {bits}"),
                        (false, _) => bits,
                    }
                })
                .collect();
            // A derivative's reference is always shown beside its error.
            let same = !derivatives && float64_cells == reference_cells;
            Some(ArrayView {
                name,
                math,
                rows: array.shape.rows,
                cols: array.shape.cols,
                float64: arrays::grid(array.shape, float64_cells),
                // Left out where every entry's reference reads as its float64 (values given).
                reference: if same {
                    Vec::new()
                } else {
                    arrays::grid(array.shape, reference_cells)
                },
                error: if derivatives {
                    arrays::grid(array.shape, error_cells)
                } else {
                    Vec::new()
                },
                inexact: references.iter().any(|r| r.known != "exact"),
            })
        })
        .collect()
}

/// A reference in a matrix's cell: its digits, or the mark of how little is known of it.
fn reference_cell(r: &ReferenceView, number: &dyn Fn(String) -> String, format: Format) -> String {
    let text = format == Format::Text;
    let given = |n: &Option<String>| number(n.clone().unwrap_or_default());
    match r.known {
        "exact" => given(&r.reference),
        "digits" => format!(
            "{}{}",
            given(&r.reference),
            if text { "…" } else { "\\ldots" }
        ),
        "zero_within" => format!("0{}{}", if text { "±" } else { "\\pm " }, given(&r.high)),
        "between" => format!("[{}, {}]", given(&r.low), given(&r.high)),
        _ => "?".to_string(),
    }
}

/// The reference to 17 digits (every one of them known: the precision was raised until they
/// were), or, where it could not be resolved, the digits known or the interval.
fn reference(q: &Quantity) -> ReferenceView {
    let mut view = ReferenceView {
        known: "unknown",
        reference: None,
        digits: None,
        low: None,
        high: None,
    };
    match &q.resolution {
        Resolution::Converged => {
            view.known = "exact";
            view.reference = Some(plain_decimal(&q.reference_decimal()));
        }
        Resolution::Within { low, high } => {
            let (low, high) = (Precise::Finite(low.clone()), Precise::Finite(high.clone()));
            let known = (1..=REFERENCE_DIGITS)
                .rev()
                .find(|&n| low.to_decimal_string(n) == high.to_decimal_string(n));
            match known {
                Some(n) if !low.is_zero() && low.to_f64().signum() == high.to_f64().signum() => {
                    view.known = "digits";
                    view.digits = Some(n);
                    view.reference = Some(plain_decimal(&low.to_decimal_string(n)));
                }
                _ if low.to_f64() == 0.0 && high.to_f64() == 0.0 => {
                    view.known = "zero_within";
                    let bound = if high.to_f64().abs() > 0.0 || !high.is_zero() {
                        high.to_decimal_string(2)
                    } else {
                        low.neg().to_decimal_string(2)
                    };
                    view.high = Some(bound);
                }
                _ => {
                    view.known = "between";
                    view.low = Some(low.to_decimal_string(2));
                    view.high = Some(high.to_decimal_string(2));
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

/// A warning as SPEC section 3 has it (`kind`, `at`, `message`) with its numbers. The fields
/// of every object of the document are in alphabetical order.
#[derive(Serialize)]
struct WarningJson<'a> {
    at: &'a str,
    float64: Option<f64>,
    kind: &'static str,
    message: &'a str,
    reference: &'a str,
}

#[derive(Serialize)]
struct GradCheckJson<'a> {
    analytic: Option<f64>,
    caveat: Option<&'a str>,
    numeric: Option<f64>,
    relative_error: Option<f64>,
    verdict: &'a str,
}

/// The `eval` document of docs/json.md; the optional fields are left out where they would be
/// empty. Written straight from the report: building it as a `serde_json::Value` (tens of
/// thousands of entries for a network) took longer than writing it.
#[derive(Serialize)]
struct EvalJson<'a> {
    cost: Option<f64>,
    derivatives: Entries<'a, Nested<Option<f64>>>,
    error_bits: Entries<'a, Nested<Option<f64>>>,
    #[serde(skip_serializing_if = "Entries::is_empty")]
    error_bits_at_least: Entries<'a, Option<f64>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    gradient_check: BTreeMap<&'a str, GradCheckJson<'a>>,
    /// How many derivatives could have been checked, when `gradient_check` holds a sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    gradient_check_of: Option<usize>,
    reference: Entries<'a, Nested<String>>,
    #[serde(skip_serializing_if = "Entries::is_empty")]
    reference_interval: Entries<'a, [String; 2]>,
    /// With `--stable` (both present, or neither).
    #[serde(skip_serializing_if = "Option::is_none")]
    rewrites_used: Option<&'a [String]>,
    /// The shape `[rows, columns]` of each array above, for a vector program.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    shapes: BTreeMap<Cow<'a, str>, [u32; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stable: Option<Entries<'a, Option<f64>>>,
    values: Entries<'a, Nested<Option<f64>>>,
    warnings: Vec<WarningJson<'a>>,
    /// The layer view, for a program with layers.
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "is_zero")]
    inputs_zeroed: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A JSON object from labels to values, in the order of the labels.
struct Entries<'a, T>(Vec<(Cow<'a, str>, T)>);

impl<'a, T> Entries<'a, T> {
    /// Each quantity's value under its label, from quantities in the order of their labels
    /// ([`by_label`]): a label given twice once, with its last quantity (what inserting them
    /// one by one into a map would keep).
    fn of(sorted: impl Iterator<Item = &'a Quantity>, value: impl Fn(&Quantity) -> T) -> Self {
        Entries::sorted(sorted.map(|q| (Cow::Borrowed(q.label.as_str()), value(q))))
    }

    /// Labelled values already in the order of their labels, a label given twice kept once
    /// with its last value.
    fn sorted(items: impl Iterator<Item = (Cow<'a, str>, T)>) -> Self {
        let mut entries: Vec<(Cow<'a, str>, T)> = Vec::with_capacity(items.size_hint().0);
        for (label, value) in items {
            match entries.last_mut() {
                Some(last) if last.0 == label => *last = (label, value),
                _ => entries.push((label, value)),
            }
        }
        Entries(entries)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Serialize> Serialize for Entries<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(label, value)| (label, value)))
    }
}

/// The quantities of a report, each row as it is and each whole array as one labelled item
/// (`W1`, or `dJ/dW1` for `derivatives`), with its shape.
struct Grouped<'a> {
    items: Vec<(Cow<'a, str>, Item<'a>)>,
}

enum Item<'a> {
    One(&'a Quantity),
    Array(Shape, &'a [Quantity]),
}

impl<'a> Grouped<'a> {
    fn of(model: &Model, quantities: &'a [Quantity], derivatives: bool) -> Grouped<'a> {
        let items = runs(model, &keys(model, quantities, derivatives))
            .into_iter()
            .map(|run| match run {
                Run::Row(i) => {
                    let q = &quantities[i];
                    (Cow::Borrowed(q.label.as_str()), Item::One(q))
                }
                Run::Array { array, rows } => {
                    let entries = &quantities[rows];
                    let label = match entries[0].target {
                        Some(t) if derivatives => arrays::derivative_label(model, t.of, array),
                        _ => array.name.clone(),
                    };
                    (Cow::Owned(label), Item::Array(array.shape, entries))
                }
            })
            .collect();
        Grouped { items }
    }

    /// Each item's value, in the order of the labels (the quantities of a label in the order
    /// given).
    fn entries<T>(
        items: impl Iterator<Item = &'a (Cow<'a, str>, Item<'a>)>,
        value: impl Fn(&Quantity) -> T,
    ) -> Entries<'a, Nested<T>> {
        let mut sorted: Vec<&(Cow<str>, Item)> = items.collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        Entries::sorted(sorted.into_iter().map(|(label, item)| {
            let value = match item {
                Item::One(q) => Nested::One(value(q)),
                Item::Array(shape, entries) => {
                    Nested::Rows(arrays::nested(*shape, entries.iter().map(&value)))
                }
            };
            (label.clone(), value)
        }))
    }

    fn shapes(&self) -> impl Iterator<Item = (Cow<'a, str>, [u32; 2])> + '_ {
        self.items.iter().filter_map(|(label, item)| match item {
            Item::Array(shape, _) => Some((label.clone(), [shape.rows, shape.cols])),
            Item::One(_) => None,
        })
    }
}

/// The quantities in the order of their labels, those of a label in the order given.
fn by_label<'a>(quantities: impl Iterator<Item = &'a Quantity>) -> Vec<&'a Quantity> {
    let mut sorted: Vec<&Quantity> = quantities.collect();
    sorted.sort_by(|a, b| a.label.cmp(&b.label));
    sorted
}

/// A float64 as JSON writes it: `null` where it is not a finite number.
fn number(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn json_report(
    model: &Model,
    report: &Report,
    messages: &[String],
    caveats: &[Option<String>],
    rewrites: &[String],
    layers: Option<(serde_json::Value, serde_json::Value)>,
) -> String {
    let shown: &[Quantity] = if report.show_values {
        &report.values
    } else {
        &[]
    };
    let values = Grouped::of(model, shown, false);
    let grouped_derivatives = Grouped::of(model, &report.derivatives, true);
    let sorted_derivatives = by_label(report.derivatives.iter());
    let derivatives = || sorted_derivatives.iter().copied();
    let with_stable = report.derivatives.iter().any(|q| q.stable.is_some());
    let doc = EvalJson {
        cost: number(report.cost.f64),
        derivatives: Grouped::entries(grouped_derivatives.items.iter(), |q| number(q.f64)),
        error_bits: Grouped::entries(grouped_derivatives.items.iter(), |q| number(q.error_bits)),
        error_bits_at_least: Entries::of(derivatives().filter(|q| q.error_at_least), |q| {
            number(q.error_bits)
        }),
        gradient_check: report
            .grad_checks
            .iter()
            .zip(caveats)
            .map(|(c, caveat)| {
                (
                    c.label.as_str(),
                    GradCheckJson {
                        analytic: number(c.analytic),
                        caveat: caveat.as_deref(),
                        numeric: number(c.numeric),
                        relative_error: number(c.relative_error),
                        verdict: grad_check_verdict(c.unreliable, c.relative_error),
                    },
                )
            })
            .collect(),
        gradient_check_of: (report.grad_checks_of > report.grad_checks.len())
            .then_some(report.grad_checks_of),
        reference: Grouped::entries(
            values.items.iter().chain(&grouped_derivatives.items),
            reference_json,
        ),
        reference_interval: Entries::of(
            by_label(
                report
                    .values
                    .iter()
                    .chain(&report.derivatives)
                    .filter(|q| matches!(q.resolution, Resolution::Within { .. })),
            )
            .into_iter(),
            |q| match &q.resolution {
                Resolution::Within { low, high } => [
                    Precise::Finite(low.clone()).to_decimal_string(REFERENCE_DIGITS),
                    Precise::Finite(high.clone()).to_decimal_string(REFERENCE_DIGITS),
                ],
                _ => unreachable!("only intervals are listed"),
            },
        ),
        rewrites_used: (with_stable || !report.rewrites_used.is_empty()).then_some(rewrites),
        shapes: values
            .shapes()
            .chain(grouped_derivatives.shapes())
            .collect(),
        stable: (with_stable || !report.rewrites_used.is_empty()).then(|| {
            Entries::of(derivatives().filter(|q| q.stable.is_some()), |q| {
                q.stable.and_then(number)
            })
        }),
        values: Grouped::entries(values.items.iter(), |q| number(q.f64)),
        warnings: report
            .warnings
            .iter()
            .zip(messages)
            .map(|(w, message)| WarningJson {
                at: &w.at,
                float64: number(w.float64),
                kind: w.kind.code(),
                message,
                reference: &w.reference,
            })
            .collect(),
        inputs_zeroed: report.inputs_zeroed,
        findings: layers.as_ref().map(|(_, f)| f.clone()),
        layers: layers.map(|(l, _)| l),
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::init::{self, Init};
    use crate::analysis::numeric::{self, Request};
    use crate::core::eval::Big;
    use crate::lang::load::{self, TargetSpec};

    fn big(x: f64) -> Big {
        Big::try_from(x).unwrap()
    }

    /// A 2-2-1 network's report, its first derivatives' references and errors made the unusual
    /// kinds a long evaluation can end with (no small program reaches them in float64's range).
    fn unusual() -> (Model, Report) {
        let mut model = load::load("network 2-2-1\nactivation sigmoid\ncost quadratic\n").unwrap();
        let given = init::zero_data(&model, &init::fill(&model, &[], Init::Xavier, 1)).0;
        let request = Request {
            targets: load::targets(&model, &TargetSpec::AllParams).unwrap(),
            ..Default::default()
        };
        let mut report = numeric::evaluate(&mut model, &given, &request).unwrap();
        let tiny = big(1e-300) * big(1e-100);
        let d = &mut report.derivatives;
        d[0].resolution = Resolution::Within {
            low: big(0.00123441),
            high: big(0.00123449),
        };
        d[1].resolution = Resolution::Within {
            low: -tiny.clone(),
            high: tiny,
        };
        d[2].resolution = Resolution::Within {
            low: big(-1.0),
            high: big(2.5),
        };
        d[3].resolution = Resolution::Unknown;
        (d[0].error_bits, d[0].error_at_least) = (12.0, true);
        (d[1].error_bits, d[1].error_at_least) = (0.0, true);
        (d[2].error_bits, d[2].error_at_least) = (1.0, false);
        (model, report)
    }

    fn render(format: Format) -> String {
        let (model, report) = unusual();
        let layout = Layout {
            overrides: BTreeMap::new(),
            standalone: false,
            source_name: "net.bp".to_string(),
            ..Layout::default()
        };
        render_eval(&model, &report, format, &layout).unwrap()
    }

    /// The rows of the table of derivatives, in order: after its heading (text) or its header
    /// and rule (Markdown, LaTeX).
    fn derivative_rows(document: &str) -> Vec<&str> {
        let headers = [
            "Derivatives      float64",
            "| derivative | float64",
            "derivative & float64",
        ];
        let mut lines = document
            .lines()
            .skip_while(|l| !headers.iter().any(|h| l.starts_with(h)));
        let header = lines.next().unwrap_or_default();
        if !header.starts_with(headers[0]) {
            lines.next();
        }
        lines.collect()
    }

    #[test]
    fn unusual_references_and_errors_are_worded_in_every_format() {
        for format in [Format::Text, Format::Markdown, Format::Latex] {
            let document = render(format);
            let rows = derivative_rows(&document);
            let number = |written: &str| match format {
                Format::Text => written.to_string(),
                _ => format!("${}$", number::latex(written)),
            };
            let [first, second, third, fourth, ..] = rows[..] else {
                panic!("{document}")
            };
            assert!(
                first.contains(&format!("{} (to 4 digits)", number("0.001234"))),
                "{first}"
            );
            assert!(first.contains("at least 12 bits"), "{first}");
            assert!(
                second.contains(&format!("0 (to within ±{})", number("1e-400"))),
                "{second}"
            );
            assert!(
                second.ends_with("unknown") || second.contains("unknown "),
                "{second}"
            );
            assert!(!second.contains("bit"), "{second}");
            assert!(
                third.contains(&format!(
                    "between {} and {}",
                    number("-1e0"),
                    number("2.5e0")
                )),
                "{third}"
            );
            assert!(
                third.contains("1 bit") && !third.contains("1 bits"),
                "{third}"
            );
            assert!(fourth.contains("unknown"), "{fourth}");
            assert!(fourth.contains("0 bits"), "{fourth}");
            assert_eq!(
                rows.iter().filter(|r| r.contains("unknown")).count(),
                2,
                "{document}"
            );
        }
    }
}

//! The check report: each claim's verdict, method, counterexample, diagnosis and corrected
//! formula, as a worksheet in text, Markdown or LaTeX (tera templates `check.txt`,
//! `check.md`, `check.tex`, overridable like the derivation's), or as the JSON of
//! docs/json.md. Prose is worded once (`mistake.txt`), with every name, number and formula in it
//! carried in both forms ([`math_span`]): as the terminal writes them in text and JSON, typeset
//! as math in Markdown and LaTeX, beside the typeset formulas.

use serde::Serialize;

use serde_json::{Map, Value, json};

use crate::analysis::check::{Checked, Diagnosis, MatrixCounterexample, Mistake, summary};
use crate::core::error::Diagnostic;
use crate::core::number::{self, float, significant};
use crate::lang::names::name_latex;
use crate::render::arrays;
use crate::render::document::{Format, Layout, render_template, template_error, templates};
use crate::render::escape::{latex_prose, latex_text, markdown_prose, math_span, text_prose};
use crate::render::linebreak::formula_rows;
use crate::render::{FormulaPrinter, Notation};

mod fields;

use fields::{Style, mistake_fields};

#[derive(Serialize)]
struct ClaimView {
    number: usize,
    claim: String,
    verdict: &'static str,
    method: String,
    counterexample: Option<String>,
    claimed_value: Option<String>,
    true_value: Option<String>,
    diagnosis: Option<String>,
    corrected: Option<String>,
    /// An unreadable claim's caret diagnostic, laid out for the format (indented in text).
    unreadable: Option<String>,
    /// `corrected` broken to fit the line as derive breaks its results: text lines
    /// (continuations indented relative to the first), or LaTeX alignment rows.
    corrected_rows: Option<Vec<String>>,
    /// A claim in matrix notation whose shape is not its quantity's.
    shape: Option<ShapeView>,
    /// A claim in matrix notation found wrong: the point and both values, as arrays.
    matrix: Option<MatrixView>,
}

/// Where a claim in matrix notation differs, each value an array's cells in its rows
/// (`crate::render::arrays::grid`), printed for the format.
#[derive(Serialize)]
struct MatrixView {
    point: Vec<PointView>,
    claimed: Vec<Vec<String>>,
    truth: Vec<Vec<String>>,
}

/// A name at the point: one number (`number`), or its rows; an array too wide to print has
/// neither (JSON has its values).
#[derive(Serialize)]
struct PointView {
    name: String,
    shape: String,
    number: Option<String>,
    rows: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct ShapeView {
    /// `3×1`; `None` when the claim's operands do not fit (then `unfit` says why).
    claimed: Option<String>,
    expected: String,
    quantity: String,
    unfit: Option<String>,
}

#[derive(Serialize)]
struct ReportView {
    source: String,
    claims: Vec<ClaimView>,
    summary: String,
}

#[derive(Serialize)]
struct JsonClaim<'a> {
    claim: &'a str,
    verdict: &'static str,
    /// The method's code (docs/json.md), and its words.
    method: &'static str,
    method_text: String,
    counterexample: Option<serde_json::Map<String, serde_json::Value>>,
    diagnosis: Option<String>,
    mistake: Option<Value>,
    /// Other mistakes that fit as well, likeliest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    alternatives: Vec<Value>,
    claimed_value: Option<f64>,
    true_value: Option<f64>,
    /// A claim in matrix notation found wrong: its value and the true value at the
    /// counterexample, whole, as rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    claimed_matrix: Option<Vec<Vec<f64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    true_matrix: Option<Vec<Vec<f64>>>,
    corrected: Option<String>,
    corrected_latex: Option<String>,
    expected: Option<String>,
    expected_latex: Option<String>,
    /// An unreadable claim's caret diagnostic.
    error: Option<&'a str>,
    /// A claim in matrix notation whose shape is not its quantity's: both as [rows, columns].
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<Value>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    claims: Vec<JsonClaim<'a>>,
    summary: String,
}

/// Writes the report in the format asked for.
pub fn render_check(
    checked: &[Checked],
    format: Format,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let tera = templates(layout)?;
    let sentences = checked
        .iter()
        .map(|c| diagnosis_with(&tera, c))
        .collect::<Result<Vec<_>, _>>()?;
    let methods = checked
        .iter()
        .map(|c| method_words(&tera, c))
        .collect::<Result<Vec<_>, _>>()?;
    if format == Format::Json {
        return Ok(json_report(checked, &sentences, &methods));
    }
    let prose = |text: &str| match format {
        Format::Latex => latex_prose(text),
        Format::Markdown => markdown_prose(text),
        _ => text_prose(text),
    };
    let view = ReportView {
        source: prose(&layout.source_name),
        claims: checked
            .iter()
            .enumerate()
            .zip(sentences.iter().zip(&methods))
            .map(|((i, c), (sentence, method))| ClaimView {
                number: i + 1,
                claim: match format {
                    Format::Latex => latex_text(&c.claim),
                    // Inside a code span nothing needs escaping but the backtick itself.
                    Format::Markdown => c.claim.replace('`', "'"),
                    _ => c.claim.clone(),
                },
                verdict: c.verdict.word(),
                method: prose(method),
                counterexample: c
                    .counterexample
                    .as_ref()
                    .map(|point| prose(&describe_point(c, point))),
                claimed_value: c
                    .claimed_value
                    .map(|v| prose(&number_span(&distinct(v, c.true_value.unwrap_or(v))))),
                true_value: c
                    .true_value
                    .map(|v| prose(&number_span(&distinct(v, c.claimed_value.unwrap_or(v))))),
                diagnosis: sentence.as_deref().map(prose),
                corrected: c.corrected.map(|id| {
                    let printer = printer_of(c);
                    match format {
                        Format::Text => printer.plain(id),
                        _ => printer.latex(id),
                    }
                }),
                unreadable: c.unreadable.as_deref().map(|shown| excerpt(shown, format)),
                shape: c.shape.as_ref().map(|report| ShapeView {
                    claimed: report.claimed.map(|s| s.to_string()),
                    expected: report.expected.to_string(),
                    quantity: prose(&crate::render::escape::math_span(
                        &report.quantity,
                        &report.quantity_latex,
                    )),
                    unfit: report.unfit.as_deref().map(prose),
                }),
                matrix: c
                    .matrix_counterexample
                    .as_ref()
                    .and_then(|m| matrix_view(c, m, format)),
                corrected_rows: c.corrected.map(|id| {
                    let printer = printer_of(c);
                    // Text as derive writes its results (the input language is never laid
                    // out; JSON's `corrected` has it).
                    let notation = match format {
                        Format::Text => Notation::Text,
                        _ => Notation::Latex,
                    };
                    formula_rows(format, printer.printed(id, notation), CORRECTED_LABEL)
                }),
            })
            .collect(),
        summary: summary(checked),
    };
    let template = match format {
        Format::Text => "check.txt",
        Format::Markdown => "check.md",
        Format::Latex => "check.tex",
        Format::Json => unreachable!("JSON is written above"),
    };
    let title = format!("Claims checked against {}", view.source);
    let mut text = render_template(
        template,
        &view,
        (format == Format::Latex).then_some(title.as_str()),
        layout,
    )?;
    // The report ends its last line, so a shell prompt or an error does not run into it.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// The printer of a judgement's formulas, told their shapes when they are a vector
/// program's.
fn printer_of(c: &Checked) -> FormulaPrinter<'_> {
    let printer = FormulaPrinter::new(&c.formulas.graph, &c.formulas.symbols);
    if c.formulas.shapes.is_empty() {
        printer
    } else {
        printer.with_shapes(&c.formulas.shapes)
    }
}

/// The columns before the corrected formula in the text report (`   corrected:  `).
const CORRECTED_LABEL: usize = 15;

fn json_report(checked: &[Checked], sentences: &[Option<String>], methods: &[String]) -> String {
    let report = JsonReport {
        claims: checked
            .iter()
            .zip(sentences.iter().zip(methods))
            .map(|(c, (sentence, method))| {
                let printer = printer_of(c);
                JsonClaim {
                    claim: &c.claim,
                    verdict: c.verdict.word(),
                    method: c.method.code(),
                    method_text: text_prose(method),
                    counterexample: match (&c.counterexample, &c.matrix_counterexample) {
                        (Some(point), _) => Some(
                            point
                                .iter()
                                .map(|(name, v)| (name.clone(), serde_json::json!(v)))
                                .collect(),
                        ),
                        // Each name whole: a number, or its rows.
                        (None, Some(found)) => Some(
                            found
                                .point
                                .iter()
                                .map(|value| {
                                    let nested = match &value.values[..] {
                                        [one] => json!(one),
                                        values => json!(arrays::nested(value.shape, values)),
                                    };
                                    (value.name.clone(), nested)
                                })
                                .collect(),
                        ),
                        (None, None) => None,
                    },
                    diagnosis: sentence.as_deref().map(text_prose),
                    mistake: c
                        .mistake()
                        .map(|m| Value::Object(mistake_fields(c, m, Style::Json))),
                    alternatives: c
                        .diagnosis
                        .iter()
                        .flat_map(|d| &d.alternatives)
                        .map(|m| Value::Object(mistake_fields(c, m, Style::Json)))
                        .collect(),
                    claimed_value: c.claimed_value,
                    true_value: c.true_value,
                    claimed_matrix: c
                        .matrix_counterexample
                        .as_ref()
                        .map(|m| arrays::nested(m.shape, m.claimed.iter().copied())),
                    true_matrix: c
                        .matrix_counterexample
                        .as_ref()
                        .map(|m| arrays::nested(m.shape, m.truth.iter().copied())),
                    corrected: c.corrected.map(|id| printer.plain(id)),
                    corrected_latex: c.corrected.map(|id| printer.latex(id)),
                    expected: c.expected.map(|id| printer.plain(id)),
                    expected_latex: c.expected.map(|id| printer.latex(id)),
                    error: c.unreadable.as_deref(),
                    shape: c.shape.as_ref().map(|report| {
                        json!({
                            "claimed": report.claimed.map(|s| [s.rows, s.cols]),
                            "expected": [report.expected.rows, report.expected.cols],
                            "quantity": report.quantity,
                        })
                    }),
                }
            })
            .collect(),
        summary: summary(checked),
    };
    crate::render::json::document(&report)
}

/// The diagnosis of a judgement in one sentence, worded by the built-in `mistake.txt`, as a
/// terminal shows it.
pub fn diagnosis(checked: &Checked) -> Option<String> {
    let tera = templates(&Layout::default()).expect("the built-in templates parse");
    let sentence = diagnosis_with(&tera, checked).expect("the built-in templates render");
    sentence.as_deref().map(text_prose)
}

/// A caret diagnostic laid out for a format: its lines indented under the verdict in text,
/// as they are in Markdown's code block, in typewriter type with every space kept in LaTeX
/// (where the columns of the caret must line up).
fn excerpt(shown: &str, format: Format) -> String {
    let lines = shown.trim_end().lines();
    match format {
        Format::Latex => lines
            .map(|line| format!("\\texttt{{{}}}", latex_text(line).replace(' ', "\\ ")))
            .collect::<Vec<_>>()
            .join("\\\\\n"),
        Format::Markdown => lines.collect::<Vec<_>>().join("\n"),
        _ => lines
            .map(|line| format!("   {line}"))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// A number in prose: as written for a reader, and set as math (`-9.37804 \times 10^{-15}`).
fn number_span(written: &str) -> String {
    math_span(written, &number::latex(written))
}

/// How a claim was decided, worded by `method.txt` from the method's fields.
fn method_words(tera: &tera::Tera, checked: &Checked) -> Result<String, Diagnostic> {
    let mut context = tera::Context::new();
    context.insert("m", &checked.method);
    let text = tera
        .render("method.txt", &context)
        .map_err(template_error)?;
    Ok(text.trim().to_string())
}

fn diagnosis_with(tera: &tera::Tera, checked: &Checked) -> Result<Option<String>, Diagnostic> {
    let Some(diagnosis) = &checked.diagnosis else {
        return Ok(None);
    };
    // The runner-up is mentioned after the likeliest, worded on its own.
    let also = match diagnosis.alternatives.first() {
        Some(second) => Some(sentence(
            tera,
            checked,
            Some(second),
            &Diagnosis::of(None),
            None,
        )?),
        None => None,
    };
    sentence(tera, checked, diagnosis.mistake.as_ref(), diagnosis, also).map(Some)
}

/// One mistake's sentence; a mistake within the gradient of an update rule is worded first
/// on its own and then framed. `also` is the sentence of a mistake that fits as well.
fn sentence(
    tera: &tera::Tera,
    checked: &Checked,
    mistake: Option<&Mistake>,
    diagnosis: &Diagnosis,
    also: Option<String>,
) -> Result<String, Diagnostic> {
    let mut fields = match mistake {
        Some(m) => mistake_fields(checked, m, Style::Words),
        None => {
            let mut none = Map::new();
            none.insert("variant".into(), json!("unexplained"));
            none
        }
    };
    if let Some(Mistake::InUpdateGradient(inner)) = mistake {
        let plain = Diagnosis::of(None);
        let inner = sentence(tera, checked, Some(inner), &plain, None)?;
        fields.insert("inner".into(), json!(lowercase_first(&inner)));
    }
    let mut context = tera::Context::new();
    context.insert("m", &fields);
    context.insert("holds_at_given_point", &diagnosis.holds_at_given_point);
    context.insert("out_of_budget", &diagnosis.out_of_budget);
    context.insert("also", &also.as_deref().map(lowercase_first));
    let text = tera
        .render("mistake.txt", &context)
        .map_err(template_error)?;
    Ok(text.trim().to_string())
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A point as a reader takes it in: every name, or for a large network each value shared by
/// many names once ("784 names = 1 (x1, x2, …)") and the rest by name (JSON keeps all).
/// A wrong claim in matrix notation's point and values laid out as arrays, or `None` when
/// its value is too wide to print as a matrix (JSON has every value).
fn matrix_view(
    checked: &Checked,
    found: &MatrixCounterexample,
    format: Format,
) -> Option<MatrixView> {
    if found.shape.cols > arrays::MAX_COLUMNS {
        return None;
    }
    let cell = |text: String| match format {
        Format::Text => text,
        _ => number::latex(&text),
    };
    let both = |values: &[f64], others: &[f64]| {
        let cells = values
            .iter()
            .zip(others)
            .map(|(&v, &other)| cell(distinct(v, other)))
            .collect();
        arrays::grid(found.shape, cells)
    };
    let point = found
        .point
        .iter()
        .map(|value| {
            let name = match format {
                Format::Text => value.name.clone(),
                _ => match checked
                    .formulas
                    .symbols
                    .iter()
                    .find(|s| s.name == value.name)
                {
                    Some(symbol) => name_latex(symbol),
                    None => latex_text(&value.name),
                },
            };
            let printed = |&v: &f64| cell(significant(v, POINT_DIGITS));
            let (number, rows) = match &value.values[..] {
                [one] => (Some(printed(one)), Vec::new()),
                _ if value.shape.cols > arrays::MAX_COLUMNS => (None, Vec::new()),
                values => (
                    None,
                    arrays::grid(value.shape, values.iter().map(printed).collect()),
                ),
            };
            PointView {
                name,
                shape: match format {
                    Format::Text => value.shape.to_string(),
                    _ => format!("{} \\times {}", value.shape.rows, value.shape.cols),
                },
                number,
                rows,
            }
        })
        .collect();
    Some(MatrixView {
        point,
        claimed: both(&found.claimed, &found.truth),
        truth: both(&found.truth, &found.claimed),
    })
}

/// Significant digits of the values at a matrix claim's point (JSON has them whole).
const POINT_DIGITS: usize = 6;

fn describe_point(checked: &Checked, point: &[(String, f64)]) -> String {
    const LISTED: usize = 12;
    let symbols = &checked.formulas.symbols;
    // A name in both forms: as the program writes it, and typeset by its display form.
    let latex_name = |name: &str| match symbols.iter().find(|s| s.name == name) {
        Some(symbol) => name_latex(symbol),
        None => latex_text(name),
    };
    let entry = |(name, v): &(String, f64)| {
        let value = float(*v);
        math_span(
            &format!("{name} = {value}"),
            &format!("{} = {}", latex_name(name), number::latex(&value)),
        )
    };
    let name_span = |name: &str| math_span(name, &latex_name(name));
    // A small network's point is shown whole: the reader's own `--at` values among it.
    if point.len() <= 2 * LISTED {
        return point.iter().map(entry).collect::<Vec<_>>().join(", ");
    }
    let mut groups: Vec<(f64, Vec<&str>)> = Vec::new();
    for (name, v) in point {
        match groups.iter_mut().find(|(c, _)| c.to_bits() == v.to_bits()) {
            Some((_, names)) => names.push(name),
            None => groups.push((*v, vec![name])),
        }
    }
    let mut parts: Vec<String> = Vec::new();
    let mut single = 0;
    for (v, names) in &groups {
        if names.len() > 3 {
            parts.push(format!(
                "{} names = {} ({}, {}, …)",
                names.len(),
                number_span(&float(*v)),
                name_span(names[0]),
                name_span(names[1])
            ));
        } else {
            for name in names {
                if single < LISTED {
                    parts.push(entry(&(name.to_string(), *v)));
                }
                single += 1;
            }
        }
    }
    if single > LISTED {
        parts.push(format!("{} more (all in --format json)", single - LISTED));
    }
    parts.join(", ")
}

/// A value with six significant digits, or as many more as it takes to tell it from
/// `other` (0.6224594 against 0.62245933), for a reader rather than a parser.
fn distinct(value: f64, other: f64) -> String {
    let shown = |x: f64, digits: usize| format!("{:.*e}", digits - 1, x);
    let digits = (6..=17)
        .find(|&d| value == other || shown(value, d) != shown(other, d))
        .unwrap_or(17);
    let text: f64 = shown(value, digits).parse().unwrap_or(value);
    float(text)
}

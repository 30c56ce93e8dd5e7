//! The check report: each claim's verdict, method, counterexample, diagnosis and corrected
//! formula, as a worksheet in text, Markdown or LaTeX (tera templates `check.txt`,
//! `check.md`, `check.tex`, overridable like the derivation's), or as the JSON of SPEC
//! section 3. Prose from the checker is plain Unicode; here it is escaped for each format.

use serde::Serialize;

use crate::analysis::check::{Checked, summary};
use crate::analysis::numeric::float;
use crate::core::error::Diagnostic;
use crate::render::document::{Format, Layout, render_template};
use crate::render::escape::{latex_prose, latex_text, markdown_prose};

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
    method: &'a str,
    counterexample: Option<serde_json::Map<String, serde_json::Value>>,
    diagnosis: Option<&'a str>,
    claimed_value: Option<f64>,
    true_value: Option<f64>,
    corrected: Option<&'a str>,
    corrected_latex: Option<&'a str>,
    expected: Option<&'a str>,
    expected_latex: Option<&'a str>,
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
    if format == Format::Json {
        return Ok(json(checked));
    }
    let prose = |text: &str| match format {
        Format::Latex => latex_prose(text),
        Format::Markdown => markdown_prose(text),
        _ => text.to_string(),
    };
    let view = ReportView {
        source: prose(&layout.source_name),
        claims: checked
            .iter()
            .enumerate()
            .map(|(i, c)| ClaimView {
                number: i + 1,
                claim: match format {
                    Format::Latex => latex_text(&c.claim),
                    // Inside a code span nothing needs escaping but the backtick itself.
                    Format::Markdown => c.claim.replace('`', "'"),
                    _ => c.claim.clone(),
                },
                verdict: c.verdict.word(),
                method: prose(&c.method),
                counterexample: c
                    .counterexample
                    .as_ref()
                    .map(|point| prose(&describe_point(point))),
                claimed_value: c
                    .claimed_value
                    .map(|v| prose(&distinct(v, c.true_value.unwrap_or(v)))),
                true_value: c
                    .true_value
                    .map(|v| prose(&distinct(v, c.claimed_value.unwrap_or(v)))),
                diagnosis: c.diagnosis.as_deref().map(prose),
                corrected: c.corrected.as_ref().map(|(plain, latex)| match format {
                    Format::Text => plain.clone(),
                    _ => latex.clone(),
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

fn json(checked: &[Checked]) -> String {
    let report = JsonReport {
        claims: checked
            .iter()
            .map(|c| JsonClaim {
                claim: &c.claim,
                verdict: c.verdict.word(),
                method: &c.method,
                counterexample: c.counterexample.as_ref().map(|point| {
                    point
                        .iter()
                        .map(|(name, v)| (name.clone(), serde_json::json!(v)))
                        .collect()
                }),
                diagnosis: c.diagnosis.as_deref(),
                claimed_value: c.claimed_value,
                true_value: c.true_value,
                corrected: c.corrected.as_ref().map(|(p, _)| p.as_str()),
                corrected_latex: c.corrected.as_ref().map(|(_, l)| l.as_str()),
                expected: c.expected.as_ref().map(|(p, _)| p.as_str()),
                expected_latex: c.expected.as_ref().map(|(_, l)| l.as_str()),
            })
            .collect(),
        summary: summary(checked),
    };
    crate::render::json::document(&report)
}

/// A point as a reader takes it in: every name, or for a large network each value shared by
/// many names once ("784 names = 1 (x1, x2, …)") and the rest by name (JSON keeps all).
fn describe_point(point: &[(String, f64)]) -> String {
    const LISTED: usize = 12;
    let entry = |(name, v): &(String, f64)| format!("{name} = {}", float(*v));
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
                float(*v),
                names[0],
                names[1]
            ));
        } else {
            for name in names {
                if single < LISTED {
                    parts.push(format!("{name} = {}", float(*v)));
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

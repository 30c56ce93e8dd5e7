//! The `eval` report as text, Markdown, LaTeX or JSON.
//!
//! Numbers are printed with enough digits to round-trip (float64) and with 17 significant
//! digits for the reference; the JSON document has the fields of docs/json.md (`values`, `cost`,
//! `derivatives`, `reference` as decimal strings, `warnings`) with a few added fields.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::analysis::numeric::{LOST_BITS, Quantity, Report, thousands};
use crate::core::error::Diagnostic;
use crate::core::eval::{Precise, Resolution};
use crate::core::number::{float, plain_decimal};
use crate::render::document::{Format, Layout, standalone};
use crate::render::escape::{latex_text, markdown_text};

/// Networks with more names than this get a summary instead of the table of values.
const TABLE_LIMIT: usize = 300;

/// Digits of the reference shown and written.
const REFERENCE_DIGITS: usize = 17;

fn number(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// Writes the report in the format asked for. With `--standalone`, LaTeX is a whole document (the layout's template overrides are the
/// hook for `eval`'s own templates).
pub fn render_eval(report: &Report, format: Format, layout: &Layout) -> Result<String, Diagnostic> {
    Ok(match format {
        Format::Json => json_report(report),
        Format::Text => text_report(report),
        Format::Markdown => markdown_report(report),
        Format::Latex => {
            let title = format!("Values of {}", latex_text(&layout.source_name));
            standalone(latex_report(report), &title, layout)?
        }
    })
}

/// The reference to 17 digits (every one of them known: the precision was raised until they
/// were), or, where it could not be resolved, the digits known and the interval.
fn reference(q: &Quantity) -> String {
    match &q.resolution {
        Resolution::Converged => plain_decimal(&q.reference.to_decimal_string(REFERENCE_DIGITS)),
        Resolution::Within { low, high } => {
            let (low, high) = (Precise::Finite(low.clone()), Precise::Finite(high.clone()));
            let known = (1..=REFERENCE_DIGITS)
                .rev()
                .find(|&n| low.to_decimal_string(n) == high.to_decimal_string(n));
            match known {
                Some(n) if !low.is_zero() && low.to_f64().signum() == high.to_f64().signum() => {
                    format!(
                        "{} (to {n} digits)",
                        plain_decimal(&low.to_decimal_string(n))
                    )
                }
                _ if low.to_f64() == 0.0 && high.to_f64() == 0.0 => format!(
                    "0 (to within ±{})",
                    if high.to_f64().abs() > 0.0 || !high.is_zero() {
                        high.to_decimal_string(2)
                    } else {
                        low.neg().to_decimal_string(2)
                    }
                ),
                _ => format!(
                    "between {} and {}",
                    low.to_decimal_string(2),
                    high.to_decimal_string(2)
                ),
            }
        }
        Resolution::Unknown => "unknown".to_string(),
    }
}

/// `12 bits`, `1 bit`, `at least 12 bits`, `unknown`.
fn error_text(q: &Quantity) -> String {
    let n = q.error_bits.round();
    let unit = if n == 1.0 { "bit" } else { "bits" };
    match (q.error_at_least, n > 0.0) {
        (false, _) => format!("{n:.0} {unit}"),
        (true, true) => format!("at least {n:.0} {unit}"),
        (true, false) => "unknown".to_string(),
    }
}

/// Whether every printed value is right in float64 (so "no warnings" can be said).
fn all_right(report: &Report) -> bool {
    report.values.iter().chain(&report.derivatives).all(|q| {
        !q.error_at_least
            && q.error_bits <= LOST_BITS
            && (q.f64.is_finite() || !q.reference.is_finite())
    })
}

#[derive(Serialize)]
struct GradCheckJson<'a> {
    analytic: Value,
    numeric: Value,
    relative_error: Value,
    verdict: &'a str,
    caveat: Option<&'a str>,
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

fn json_report(report: &Report) -> String {
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
        .map(|c| {
            (
                c.label.as_str(),
                GradCheckJson {
                    analytic: number(c.analytic),
                    numeric: number(c.numeric),
                    relative_error: number(c.relative_error),
                    verdict: if c.unreliable {
                        "unreliable here"
                    } else {
                        verdict(c.relative_error)
                    },
                    caveat: c.caveat.as_deref(),
                },
            )
        })
        .collect();
    let mut doc = json!({
        "values": values,
        "cost": number(report.cost.f64),
        "derivatives": derivatives,
        "reference": references,
        "error_bits": bits,
        "warnings": report.warnings,
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

fn text_report(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .values
        .iter()
        .chain(&report.derivatives)
        .map(|q| q.label.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let listed: &[Quantity] = if report.show_values && report.values.len() <= TABLE_LIMIT {
        out.push_str(&format!(
            "Values (float64, as written; reference to {REFERENCE_DIGITS} digits)\n"
        ));
        &report.values
    } else {
        let lost = report
            .values
            .iter()
            .filter(|q| q.error_bits > LOST_BITS || q.error_at_least)
            .count();
        out.push_str(&format!(
            "Values: {} names, {} of them off in float64 by more than {LOST_BITS:.0} bits ({})\n",
            thousands(report.values.len()),
            thousands(lost),
            if report.show_values {
                "too many to list; --format json lists them"
            } else {
                "table left out by --no-values"
            }
        ));
        &[]
    };
    for q in listed {
        out.push_str(&format!(
            "  {:width$}  {:<24}  {}\n",
            q.label,
            float(q.f64),
            reference(q)
        ));
    }
    out.push_str(&format!(
        "\ncost {} = {}\n",
        report.cost.label,
        float(report.cost.f64)
    ));
    if !report.derivatives.is_empty() {
        out.push_str(
            "\nDerivatives      float64                   reference                  error\n",
        );
        for q in &report.derivatives {
            out.push_str(&format!(
                "  {:width$}  {:<24}  {:<25}  {}\n",
                q.label,
                float(q.f64),
                reference(q),
                error_text(q)
            ));
            if let Some(s) = q.stable {
                out.push_str(&format!(
                    "  {:width$}  {:<24}  (float64 through the stable forms)\n",
                    "",
                    float(s)
                ));
            }
        }
    }
    if !report.rewrites_used.is_empty() {
        out.push_str("\nStable rewrites used\n");
        for r in &report.rewrites_used {
            out.push_str(&format!("  - {r}\n"));
        }
    }
    if !report.grad_checks.is_empty() {
        out.push_str("\nGradient check (central difference in float64; relative error |a − n|/(|a| + |n|))\n");
        for c in &report.grad_checks {
            out.push_str(&format!(
                "  {:width$}  analytic {:<24} numeric {:<24} error {:.1e}  {}\n",
                c.label,
                float(c.analytic),
                float(c.numeric),
                c.relative_error,
                if c.unreliable {
                    "unreliable here"
                } else {
                    verdict(c.relative_error)
                }
            ));
            if let Some(caveat) = &c.caveat {
                out.push_str(&format!("  {:width$}  note: {caveat}\n", ""));
            }
        }
    }
    if report.warnings.is_empty() && all_right(report) {
        out.push_str(
            "\nNo numerical warnings: float64 gives every value above to its last bits.\n",
        );
    } else if !report.warnings.is_empty() {
        out.push_str("\nWarnings\n");
        for w in &report.warnings {
            out.push_str(&format!("  {} at {}: {}\n", w.kind, w.at, w.message));
        }
    }
    out
}

/// The reference as a decimal string for JSON: every digit written is right (an unresolved
/// value gives the digits its interval agrees on, `0` for an interval around zero that
/// float64 cannot tell from zero; `reference_interval` has the bounds).
fn reference_json(q: &Quantity) -> String {
    match &q.resolution {
        Resolution::Converged => plain_decimal(&q.reference.to_decimal_string(REFERENCE_DIGITS)),
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

/// The values a table lists: none with `--no-values` or past [`TABLE_LIMIT`] names.
fn listed_values(report: &Report) -> &[Quantity] {
    if report.show_values && report.values.len() <= TABLE_LIMIT {
        &report.values
    } else {
        &[]
    }
}

fn markdown_report(report: &Report) -> String {
    let mut out = String::from("| name | float64 | reference |\n|---|---|---|\n");
    for q in listed_values(report).iter().chain(&report.derivatives) {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            q.label,
            float(q.f64),
            reference(q)
        ));
    }
    out.push_str(&format!(
        "\n**Cost** `{}` = {}\n",
        report.cost.label,
        float(report.cost.f64)
    ));
    for r in &report.rewrites_used {
        out.push_str(&format!("\n*Stable rewrite:* {}\n", markdown_text(r)));
    }
    for w in &report.warnings {
        out.push_str(&format!(
            "\n> **{}** at `{}`: {}\n",
            w.kind,
            w.at,
            markdown_text(&w.message)
        ));
    }
    out
}

fn latex_report(report: &Report) -> String {
    let mut out = String::from("\\begin{tabular}{lll}\nname & float64 & reference \\\\\n\\hline\n");
    for q in listed_values(report).iter().chain(&report.derivatives) {
        out.push_str(&format!(
            "\\texttt{{{}}} & {} & {} \\\\\n",
            latex_text(&q.label),
            latex_text(&float(q.f64)),
            latex_text(&reference(q))
        ));
    }
    out.push_str("\\end{tabular}\n");
    for w in &report.warnings {
        out.push_str(&format!(
            "\n\\paragraph{{{} at {}}} {}\n",
            latex_text(w.kind.code()),
            latex_text(&w.at),
            latex_text(&w.message)
        ));
    }
    out
}

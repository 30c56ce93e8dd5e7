//! The `eval` report as text, Markdown, LaTeX or JSON.
//!
//! Numbers are printed with enough digits to round-trip (float64) and with 17 significant
//! digits for the reference; the JSON document follows SPEC section 3 (`values`, `cost`,
//! `derivatives`, `reference` as decimal strings, `warnings`) with a few added fields.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::analysis::numeric::{Quantity, Report, float, plain_decimal};
use crate::render::document::Format;
use crate::render::escape::{latex_text, markdown_text};

/// Digits of the reference shown and written.
const REFERENCE_DIGITS: usize = 17;

fn number(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// Writes the report in the format asked for.
pub fn render_eval(report: &Report, format: Format) -> String {
    match format {
        Format::Json => json_report(report),
        Format::Text => text_report(report),
        Format::Markdown => markdown_report(report),
        Format::Latex => latex_report(report),
    }
}

/// The reference to 17 digits, or to as many as it takes (up to 40) to tell it from the
/// float64 value when the two differ only beyond the 17th digit (σ(50) = 1 − 1.9e−22).
fn reference(q: &Quantity) -> String {
    let short = q.reference.to_decimal_string(REFERENCE_DIGITS);
    let differs = q.reference.rel_error(q.f64).is_some_and(|e| e > 0.0);
    if differs && short.parse::<f64>().ok() == Some(q.f64) {
        return plain_decimal(&q.reference.to_decimal_string(40));
    }
    plain_decimal(&short)
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
    for q in &report.values {
        values.insert(q.label.clone(), number(q.f64));
        references.insert(q.label.clone(), json!(reference(q)));
    }
    let mut derivatives = serde_json::Map::new();
    let mut stable = serde_json::Map::new();
    for q in &report.derivatives {
        derivatives.insert(q.label.clone(), number(q.f64));
        references.insert(q.label.clone(), json!(reference(q)));
        bits.insert(q.label.clone(), json!(q.error_bits));
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
                    verdict: verdict(c.relative_error),
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
    out.push_str(&format!(
        "Values (float64, as written; reference to {REFERENCE_DIGITS} digits)\n"
    ));
    for q in &report.values {
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
                "  {:width$}  {:<24}  {:<25}  {:.0} bits\n",
                q.label,
                float(q.f64),
                reference(q),
                q.error_bits
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
                verdict(c.relative_error)
            ));
            if let Some(caveat) = &c.caveat {
                out.push_str(&format!("  {:width$}  note: {caveat}\n", ""));
            }
        }
    }
    if report.warnings.is_empty() {
        out.push_str(
            "\nNo numerical warnings: float64 gives every value above to its last bits.\n",
        );
    } else {
        out.push_str("\nWarnings\n");
        for w in &report.warnings {
            out.push_str(&format!("  {} at {}: {}\n", w.kind, w.at, w.message));
        }
    }
    out
}

fn markdown_report(report: &Report) -> String {
    let mut out = String::from("| name | float64 | reference |\n|---|---|---|\n");
    for q in report.values.iter().chain(&report.derivatives) {
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
    for q in report.values.iter().chain(&report.derivatives) {
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
            latex_text(w.kind),
            latex_text(&w.at),
            latex_text(&w.message)
        ));
    }
    out
}

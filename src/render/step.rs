//! Documents for `step`: a gradient-descent run laid out as text, Markdown, LaTeX or JSON.
//!
//! One table per step (each parameter's value, its gradient at the start of the step, and its
//! new value), the cost before and after, and a warning whenever the cost rose. Numbers are
//! printed to 9 significant digits in the tables; JSON carries the full float64 values and
//! follows SPEC section 3. Plain Rust formatting: no templates.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::analysis::descent::{Descent, DescentStep};
use crate::core::model::Model;
use crate::render::document::Format;
use crate::render::escape::{latex_text, markdown_text};
use crate::render::{FormulaPrinter, Notation};

/// Significant digits in the tables.
const DIGITS: usize = 9;

/// Writes the descent in the format asked for. `source_name` names the program in headings;
/// `standalone` makes the LaTeX a complete document.
pub fn render_descent(
    model: &Model,
    descent: &Descent,
    format: Format,
    source_name: &str,
    standalone: bool,
) -> String {
    match format {
        Format::Text => text(model, descent, source_name),
        Format::Markdown => markdown(model, descent, source_name),
        Format::Latex => latex(model, descent, source_name, standalone),
        Format::Json => json(model, descent),
    }
}

/// The warning for a step whose cost rose, in plain words (the formats add their markup).
pub fn rise_warning(descent: &Descent, index: usize) -> String {
    let step = &descent.steps[index];
    format!(
        "the cost rose in step {}, from {} to {}: the learning rate η = {} is probably too \
         large (the step overshoots the minimum); try a smaller --lr",
        index + 1,
        number(step.cost),
        number(step.cost_after),
        number(descent.learning_rate)
    )
}

/// The warning when the run stopped early.
pub fn divergence_warning(descent: &Descent) -> String {
    format!(
        "the descent diverged in step {}: a parameter or the cost is no longer a finite number, \
         so it stopped there; try a much smaller --lr",
        descent.steps.len()
    )
}

fn summary(model: &Model, descent: &Descent) -> String {
    let n = descent.steps.len();
    let (first, last) = match (descent.steps.first(), descent.steps.last()) {
        (Some(f), Some(l)) => (f.cost, l.cost_after),
        _ => return "no steps taken".to_string(),
    };
    format!(
        "cost {}: {} → {} after {n} step{}",
        model.name(model.cost),
        number(first),
        number(last),
        if n == 1 { "" } else { "s" }
    )
}

fn text(model: &Model, descent: &Descent, source_name: &str) -> String {
    let printer = FormulaPrinter::for_model(model);
    let cost = printer.name(model.cost, Notation::Text);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Gradient descent on {source_name}: θ ← θ − η·∂{cost}/∂θ for every parameter at once, \
         η = {}\n",
        number(descent.learning_rate)
    );
    for (i, step) in descent.steps.iter().enumerate() {
        let _ = writeln!(out, "── step {}   {cost} = {}", i + 1, number(step.cost));
        let header = [
            "parameter".to_string(),
            "value".to_string(),
            format!("∂{cost}/∂θ"),
            "new value".to_string(),
        ];
        let rows: Vec<[String; 4]> = rows(step)
            .map(|(sym, before, grad, after)| {
                [
                    printer.name(sym, Notation::Text),
                    number(before),
                    number(grad),
                    number(after),
                ]
            })
            .collect();
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::from("  ");
            for (k, (cell, w)) in row.iter().zip(widths).enumerate() {
                let pad = w - cell.chars().count();
                if k == 0 {
                    let _ = write!(line, "{cell}{}", " ".repeat(pad));
                } else {
                    let _ = write!(line, "   {}{cell}", " ".repeat(pad));
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let _ = writeln!(
            out,
            "  {cost} after the step = {}  ({})",
            number(step.cost_after),
            change(step)
        );
        if step.cost_rose {
            let _ = writeln!(out, "  warning: {}", rise_warning(descent, i));
        }
        out.push('\n');
    }
    if descent.diverged {
        let _ = writeln!(out, "warning: {}", divergence_warning(descent));
    }
    let _ = writeln!(out, "{}", summary(model, descent));
    out
}

fn markdown(model: &Model, descent: &Descent, source_name: &str) -> String {
    let printer = FormulaPrinter::for_model(model);
    let cost = printer.name(model.cost, Notation::Latex);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Gradient descent on {}\n\n$\\theta \\leftarrow \\theta - \\eta \\, \\partial {cost} / \
         \\partial \\theta$ for every parameter at once, $\\eta = {}$.\n",
        markdown_text(source_name),
        latex_number(descent.learning_rate)
    );
    for (i, step) in descent.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "## Step {}\n\nCost before the step: ${cost} = {}$\n",
            i + 1,
            latex_number(step.cost)
        );
        let _ = writeln!(
            out,
            "| parameter | value | $\\partial {cost} / \\partial \\theta$ | new value |\n\
             |---|--:|--:|--:|"
        );
        for (sym, before, grad, after) in rows(step) {
            let _ = writeln!(
                out,
                "| ${}$ | {} | {} | {} |",
                printer.name(sym, Notation::Latex),
                number(before),
                number(grad),
                number(after)
            );
        }
        let _ = writeln!(
            out,
            "\nCost after the step: ${cost} = {}$ ({}).\n",
            latex_number(step.cost_after),
            change(step)
        );
        if step.cost_rose {
            let _ = writeln!(
                out,
                "> **Warning:** {}\n",
                markdown_text(&rise_warning(descent, i))
            );
        }
    }
    if descent.diverged {
        let _ = writeln!(
            out,
            "> **Warning:** {}\n",
            markdown_text(&divergence_warning(descent))
        );
    }
    let _ = writeln!(out, "{}", markdown_text(&summary(model, descent)));
    out
}

fn latex(model: &Model, descent: &Descent, source_name: &str, standalone: bool) -> String {
    let warning = |text: &str| {
        latex_text(text)
            .replace('η', "$\\eta$")
            .replace("--lr", "\\texttt{-{}-lr}")
    };
    let printer = FormulaPrinter::for_model(model);
    let cost = printer.name(model.cost, Notation::Latex);
    let mut out = String::new();
    if standalone {
        let _ = writeln!(
            out,
            "\\documentclass{{article}}\n\\usepackage[utf8]{{inputenc}}\n\\usepackage{{amsmath}}\n\
             \\usepackage[margin=2cm]{{geometry}}\n\\title{{Gradient descent on {}}}\n\
             \\author{{chainrule}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle",
            latex_text(source_name)
        );
    }
    let _ = writeln!(
        out,
        "$\\theta \\leftarrow \\theta - \\eta \\, \\partial {cost} / \
         \\partial \\theta$ for every parameter at once, $\\eta = {}$.\n",
        latex_number(descent.learning_rate)
    );
    for (i, step) in descent.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "\\paragraph{{Step {}}} Cost before the step: ${cost} = {}$.\n\n\
             \\begin{{tabular}}{{lrrr}}\n\
             parameter & value & $\\partial {cost} / \\partial \\theta$ & new value \\\\\n\\hline",
            i + 1,
            latex_number(step.cost)
        );
        for (sym, before, grad, after) in rows(step) {
            let _ = writeln!(
                out,
                "${}$ & ${}$ & ${}$ & ${}$ \\\\",
                printer.name(sym, Notation::Latex),
                latex_number(before),
                latex_number(grad),
                latex_number(after)
            );
        }
        let _ = writeln!(
            out,
            "\\end{{tabular}}\n\nCost after the step: ${cost} = {}$ ({}).\n",
            latex_number(step.cost_after),
            latex_text(&change(step))
        );
        if step.cost_rose {
            let _ = writeln!(
                out,
                "\\textbf{{Warning:}} {}\n",
                warning(&rise_warning(descent, i))
            );
        }
    }
    if descent.diverged {
        let _ = writeln!(
            out,
            "\\textbf{{Warning:}} {}\n",
            warning(&divergence_warning(descent))
        );
    }
    let _ = writeln!(
        out,
        "{}",
        latex_text(&summary(model, descent)).replace('→', "$\\to$")
    );
    if standalone {
        out.push_str("\\end{document}\n");
    }
    out
}

#[derive(Serialize)]
struct StepJson {
    cost: f64,
    gradients: BTreeMap<String, f64>,
    params: BTreeMap<String, f64>,
    cost_after: f64,
    cost_rose: bool,
}

#[derive(Serialize)]
struct WarningJson {
    kind: &'static str,
    step: usize,
    message: String,
}

#[derive(Serialize)]
struct DescentJson {
    learning_rate: f64,
    steps: Vec<StepJson>,
    diverged: bool,
    warnings: Vec<WarningJson>,
}

fn json(model: &Model, descent: &Descent) -> String {
    let named = |values: &[(crate::core::expr::Sym, f64)]| -> BTreeMap<String, f64> {
        values
            .iter()
            .map(|&(s, v)| (model.name(s).to_string(), v))
            .collect()
    };
    let mut warnings: Vec<WarningJson> = descent
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.cost_rose)
        .map(|(i, _)| WarningJson {
            kind: "cost_rose",
            step: i + 1,
            message: rise_warning(descent, i),
        })
        .collect();
    if descent.diverged {
        warnings.push(WarningJson {
            kind: "diverged",
            step: descent.steps.len(),
            message: divergence_warning(descent),
        });
    }
    let doc = DescentJson {
        learning_rate: descent.learning_rate,
        steps: descent
            .steps
            .iter()
            .map(|s| StepJson {
                cost: s.cost,
                gradients: named(&s.gradients),
                params: named(&s.params_after),
                cost_after: s.cost_after,
                cost_rose: s.cost_rose,
            })
            .collect(),
        diverged: descent.diverged,
        warnings,
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("plain data serialises");
    text.push('\n');
    text
}

/// Each parameter's value before the step, gradient, and value after.
fn rows(step: &DescentStep) -> impl Iterator<Item = (crate::core::expr::Sym, f64, f64, f64)> + '_ {
    step.params_before
        .iter()
        .zip(&step.gradients)
        .zip(&step.params_after)
        .map(|((&(sym, before), &(_, grad)), &(_, after))| (sym, before, grad, after))
}

/// How the cost changed in a step, in words.
fn change(step: &DescentStep) -> String {
    let delta = step.cost_after - step.cost;
    if delta < 0.0 {
        format!("fell by {}", number(-delta))
    } else if delta > 0.0 {
        format!("rose by {}", number(delta))
    } else if step.cost_after.is_nan() || step.cost.is_nan() {
        "not a number".to_string()
    } else {
        "unchanged".to_string()
    }
}

/// A number to `DIGITS` significant digits: fixed-point for everyday magnitudes, scientific
/// otherwise; trailing zeros dropped (`0.15`, `0.35891648`, `2.41093731e-20`).
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".to_string()
        } else if v > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        };
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let scientific = format!("{:.*e}", DIGITS - 1, v);
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`e` format has an exponent");
    let exponent: i32 = exponent.parse().expect("an integer exponent");
    if (-4..9).contains(&exponent) {
        let decimals = (DIGITS as i32 - 1 - exponent).max(0) as usize;
        let fixed = format!("{v:.decimals$}");
        trim_zeros(&fixed)
    } else {
        format!("{}e{exponent}", trim_zeros(mantissa))
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// [`number`] in LaTeX math: `2.41\times 10^{-20}`.
fn latex_number(v: f64) -> String {
    let s = number(v);
    match s.as_str() {
        "NaN" => "\\mathrm{NaN}".to_string(),
        "inf" => "\\infty".to_string(),
        "-inf" => "-\\infty".to_string(),
        _ => match s.split_once('e') {
            Some((m, e)) => format!("{m} \\times 10^{{{e}}}"),
            None => s,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_have_nine_significant_digits() {
        assert_eq!(number(0.35891647971788465), "0.35891648");
        assert_eq!(number(0.15), "0.15");
        assert_eq!(number(-0.02260254047747507), "-0.0226025405");
        assert_eq!(number(2.410937309954897e-20), "2.41093731e-20");
        assert_eq!(number(123456789012.0), "1.23456789e11");
        assert_eq!(number(30.0), "30");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(f64::NAN), "NaN");
    }
}

//! The layered derivation as a document: `derive --layers` in text, Markdown or LaTeX (laid out
//! by the `layers.*` templates, which hold its prose) or JSON. The derivation's own prose (rules,
//! notes, layer ranges) marks its formulas, which the typeset formats set as math.

use serde::Serialize;

use crate::analysis::layers::*;
use crate::core::error::Diagnostic;
use crate::lang::network::NetworkSpec;
use crate::render::document::{Format, Layout};
use crate::render::escape::{latex_text, markdown_text};

// ---------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------

fn layers_phrase(layers: &Layers, spec: &NetworkSpec) -> String {
    match layers {
        Layers::Output => format!("$l = L = {}$", spec.layers()),
        Layers::General(ls) => layer_list(ls, spec.layers()),
    }
}

/// The derivation's prose (words with formulas between `$` signs, in the terminal notation of
/// its printer) for a format: plain for text and JSON; for Markdown and LaTeX the words escaped
/// and each formula set as math.
fn prose(text: &str, format: Format) -> String {
    text.split('$')
        .enumerate()
        .map(|(i, part)| match (format, i % 2 == 1) {
            (Format::Text | Format::Json, _) => part.to_string(),
            (Format::Markdown, false) => markdown_text(part),
            (Format::Latex, false) => latex_text(part),
            (Format::Markdown | Format::Latex, true) => format!("${}$", formula_latex(part)),
        })
        .collect()
}

/// Prose set inside display math (Markdown and LaTeX): its words in `\text{…}`, its formulas
/// as math among them, `\text{(}l = 2, \ldots, L\text{; layer 1 holds the inputs)}`. A `$` inside
/// `\text{}` would reach a MathML page as a raw dollar.
fn in_math(text: &str) -> String {
    text.split('$')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("{{{}}}", formula_latex(part))
            } else {
                format!("\\text{{{}}}", latex_text(part))
            }
        })
        .collect()
}

/// Prose for a LaTeX `\tag*{…}` (text mode): its words in italics, its formulas as `$…$`
/// beside them rather than inside `\textit`, whose italic font has no `∂`.
fn in_tag(text: &str) -> String {
    text.split('$')
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("${}$", formula_latex(part))
            } else {
                format!("\\textit{{{}}}", latex_text(part))
            }
        })
        .collect()
}

/// A formula of the derivation's prose, written in the terminal notation of
/// [`show`](crate::analysis::layers::show) (`z^(l+1)_i`, `Σ_i f_i δ_ij`, `(Wᵀ)_jk`, `tanh²(z)`),
/// as LaTeX math (`z^{(l+1)}_{i}`, `\sum_{i} f_{i} \delta_{ij}`, …).
fn formula_latex(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    // A command (`\delta`) followed by a letter needs a space to end it.
    let command = |out: &mut String, name: &str, next: Option<&char>| {
        out.push_str(name);
        if next.is_some_and(|c| c.is_ascii_alphanumeric()) {
            out.push(' ');
        }
    };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            // `^(l+1)` or `^L`: a superscript, grouped.
            '^' if chars.get(i) == Some(&'(') => {
                let mut depth = 0;
                let start = i;
                while i < chars.len() {
                    match chars[i] {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    i += 1;
                    if depth == 0 {
                        break;
                    }
                }
                let inner: String = chars[start..i].iter().collect();
                out.push_str(&format!("^{{{}}}", formula_latex(&inner)));
            }
            '^' | '_' => {
                let start = i;
                let run = if c == '^' {
                    (i < chars.len()) as usize
                } else {
                    chars[i..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .count()
                };
                i += run;
                let inner: String = chars[start..i].iter().collect();
                out.push_str(&format!("{c}{{{}}}", formula_latex(&inner)));
            }
            c if c.is_ascii_alphabetic() => {
                let start = i - 1;
                while i < chars.len() && chars[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match word.as_str() {
                    "tanh" | "ln" | "exp" => command(&mut out, &format!("\\{word}"), chars.get(i)),
                    "relu" | "softplus" | "softmax" | "identity" => {
                        out.push_str(&format!("\\mathrm{{{word}}}"))
                    }
                    _ => out.push_str(&word),
                }
            }
            '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            'Σ' => command(&mut out, "\\sum", chars.get(i)),
            'ᵀ' => out.push_str("^{\\mathsf{T}}"),
            '²' => out.push_str("^{2}"),
            '−' => out.push('-'),
            '′' => out.push('\''),
            '·' => command(&mut out, "\\cdot", chars.get(i)),
            '𝟙' => out.push_str("\\mathbf{1}"),
            c => match crate::lang::names::greek_letter_latex(c).or(match c {
                '∂' => Some("\\partial"),
                '⊙' => Some("\\odot"),
                '∈' => Some("\\in"),
                '…' => Some("\\ldots"),
                _ => None,
            }) {
                Some(name) => command(&mut out, name, chars.get(i)),
                None => out.push(c),
            },
        }
    }
    out
}

#[derive(Serialize)]
struct StepView {
    lhs: String,
    rhs: String,
    rule: String,
}

#[derive(Serialize)]
struct DefinitionView {
    lhs: String,
    rhs: String,
    note: String,
}

#[derive(Serialize)]
struct EquationView {
    label: &'static str,
    title: String,
    layers: String,
    steps: Vec<StepView>,
    lhs: String,
    rhs: String,
}

#[derive(Serialize)]
struct MatrixView {
    label: &'static str,
    layers: String,
    lhs: String,
    rhs: String,
    rules: String,
}

/// What a template sees: every formula printed and every piece of prose escaped for the
/// format, so templates only arrange them.
#[derive(Serialize)]
struct DocumentView {
    source: String,
    network: String,
    convention: String,
    definitions: Vec<DefinitionView>,
    equations: Vec<EquationView>,
    matrix: Vec<MatrixView>,
}

/// The layered derivation as a document; `layout` gives the source name, template overrides
/// and whether LaTeX is a complete document.
pub fn render(layered: &Layered, format: Format, layout: &Layout) -> Result<String, Diagnostic> {
    let spec = &layered.spec;
    let (style, template) = match format {
        Format::Json => return render_json(layered, layout),
        Format::Text => (Style::Text, "layers.txt"),
        Format::Markdown => (Style::Latex, "layers.md"),
        Format::Latex => (Style::Latex, "layers.tex"),
    };
    // Plain words (the file name, the network's description) in the document's own escaping.
    let words = |text: &str| match format {
        Format::Markdown => markdown_text(text),
        Format::Latex => latex_text(text),
        _ => text.to_string(),
    };
    let range = |layers: &Layers| prose(&layers_phrase(layers, spec), format);
    let e = |x: &E| show(x, style);
    let m = |x: &M| show_m(x, style);
    let view = DocumentView {
        source: words(&layout.source_name),
        network: words(&spec.describe()),
        // The typeset formats write the convention with its formulas in their templates.
        convention: match format {
            Format::Text => wrap_text(&convention(layout)?, 92),
            _ => String::new(),
        },
        definitions: layered
            .definitions
            .iter()
            .map(|d| DefinitionView {
                lhs: e(&d.lhs),
                rhs: e(&d.rhs),
                // Inside display math in both Markdown and LaTeX.
                note: match format {
                    Format::Text => prose(&d.note, format),
                    _ => in_math(&d.note),
                },
            })
            .collect(),
        equations: layered
            .equations
            .iter()
            .map(|eq| EquationView {
                label: eq.label,
                title: words(&eq.title),
                layers: range(&eq.layers),
                steps: eq
                    .steps
                    .iter()
                    .map(|s| StepView {
                        lhs: e(&s.lhs),
                        rhs: e(&s.rhs),
                        rule: match format {
                            Format::Latex => in_tag(&s.rule),
                            _ => prose(&s.rule, format),
                        },
                    })
                    .collect(),
                lhs: e(&eq.lhs),
                rhs: e(&eq.rhs),
            })
            .collect(),
        matrix: layered
            .matrix
            .iter()
            .map(|mq| MatrixView {
                label: mq.label,
                layers: range(&mq.layers),
                lhs: m(&mq.lhs),
                rhs: m(&mq.rhs),
                rules: prose(&mq.rules.join("; "), format),
            })
            .collect(),
    };
    let title = format!(
        "Backpropagation layer by layer: {}",
        latex_text(&layout.source_name)
    );
    crate::render::document::render_template(
        template,
        &view,
        (format == Format::Latex).then_some(title.as_str()),
        layout,
    )
}

/// The layout convention in plain words (`layers_convention.txt`), as text and JSON state it.
fn convention(layout: &Layout) -> Result<String, Diagnostic> {
    let text = crate::render::document::render_template(
        "layers_convention.txt",
        &serde_json::json!({}),
        None,
        layout,
    )?;
    Ok(text.trim().to_string())
}

fn wrap_text(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        let n = word.chars().count();
        if line > 0 && line + 1 + n > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += n;
    }
    out
}

fn render_json(layered: &Layered, layout: &Layout) -> Result<String, Diagnostic> {
    let spec = &layered.spec;
    let steps = |ss: &[Step]| -> Vec<serde_json::Value> {
        ss.iter()
            .map(|s| {
                serde_json::json!({
                    "rule": prose(&s.rule, Format::Json),
                    "text": format!("{} = {}", show(&s.lhs, Style::Text), show(&s.rhs, Style::Text)),
                    "latex": format!("{} = {}", show(&s.lhs, Style::Latex), show(&s.rhs, Style::Latex)),
                })
            })
            .collect()
    };
    let equations: Vec<serde_json::Value> = layered
        .equations
        .iter()
        .map(|eq| {
            serde_json::json!({
                "label": eq.label,
                "title": eq.title,
                "layers": prose(&layers_phrase(&eq.layers, spec), Format::Json),
                "result": format!("{} = {}", show(&eq.lhs, Style::Text), show(&eq.rhs, Style::Text)),
                "result_latex": format!("{} = {}", show(&eq.lhs, Style::Latex), show(&eq.rhs, Style::Latex)),
                "steps": steps(&eq.steps),
            })
        })
        .collect();
    let matrix: Vec<serde_json::Value> = layered
        .matrix
        .iter()
        .map(|m| {
            serde_json::json!({
                "label": m.label,
                "layers": prose(&layers_phrase(&m.layers, spec), Format::Json),
                "result": format!("{} = {}", show_m(&m.lhs, Style::Text), show_m(&m.rhs, Style::Text)),
                "result_latex": format!("{} = {}", show_m(&m.lhs, Style::Latex), show_m(&m.rhs, Style::Latex)),
                "rules": m.rules.iter().map(|r| prose(r, Format::Json)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "network": spec.describe(),
        "convention": convention(layout)?,
        "equations": equations,
        "matrix": matrix,
    });
    Ok(crate::render::json::document(&doc))
}

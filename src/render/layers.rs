//! The layered derivation printed: index and matrix formulas in terminal text or LaTeX, and the
//! `derive --layers` document (text, Markdown, LaTeX through the `layers.*` templates, or JSON).

use serde::Serialize;

use crate::analysis::layers::*;
use crate::core::error::Diagnostic;
use crate::lang::network::NetworkSpec;
use crate::render::document::{Format, Layout};

// ---------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------

fn layers_phrase(layers: &Layers, spec: &NetworkSpec) -> String {
    match layers {
        Layers::Output => format!("l = L = {}", spec.layers()),
        Layers::General(ls) => layer_list(ls, spec.layers()),
    }
}

const CONVENTION: &str = "Layers are numbered l = 1, …, L, layer 1 being the input (a^(1) = x). \
w^(l)_jk is the weight from neuron k of layer l−1 to neuron j of layer l; in matrix form, W^(l) has \
one row per neuron of layer l and one column per neuron of layer l−1, (W^(l))_jk = w^(l)_jk. \
Vectors are columns, one entry per neuron; ⊙ is the elementwise (Hadamard) product and f(z) \
applies f to every entry.";

const CONVENTION_LATEX: &str = "Layers are numbered $l = 1, \\ldots, L$, layer 1 being the \
input ($a^{(1)} = x$). $w^{(l)}_{jk}$ is the weight from neuron $k$ of layer $l-1$ to neuron $j$ \
of layer $l$; in matrix form, $W^{(l)}$ has one row per neuron of layer $l$ and one column per \
neuron of layer $l-1$, $(W^{(l)})_{jk} = w^{(l)}_{jk}$. Vectors are columns, one entry per \
neuron; $\\odot$ is the elementwise (Hadamard) product and $f(z)$ applies $f$ to every entry.";

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
        Format::Json => return Ok(render_json(layered)),
        Format::Text => (Style::Text, "layers.txt"),
        Format::Markdown => (Style::Latex, "layers.md"),
        Format::Latex => (Style::Latex, "layers.tex"),
    };
    // Prose in the document's own escaping; in LaTeX, a layer range is set as math.
    let prose = |text: &str| match format {
        Format::Markdown => crate::render::escape::markdown_text(text),
        Format::Latex => crate::render::escape::latex_text(text),
        _ => text.to_string(),
    };
    let range = |layers: &Layers| prose(&layers_phrase(layers, spec));
    let e = |x: &E| show(x, style);
    let m = |x: &M| show_m(x, style);
    let view = DocumentView {
        source: prose(&layout.source_name),
        network: prose(&spec.describe()),
        convention: match format {
            Format::Text => wrap_text(CONVENTION, 92),
            Format::Latex => CONVENTION_LATEX.to_string(),
            _ => prose(CONVENTION),
        },
        definitions: layered
            .definitions
            .iter()
            .map(|d| DefinitionView {
                lhs: e(&d.lhs),
                rhs: e(&d.rhs),
                // Inside `\text{}` in both Markdown and LaTeX.
                note: if style == Style::Latex {
                    crate::render::escape::latex_text(&d.note)
                } else {
                    d.note.clone()
                },
            })
            .collect(),
        equations: layered
            .equations
            .iter()
            .map(|eq| EquationView {
                label: eq.label,
                title: prose(&eq.title),
                layers: range(&eq.layers),
                steps: eq
                    .steps
                    .iter()
                    .map(|s| StepView {
                        lhs: e(&s.lhs),
                        rhs: e(&s.rhs),
                        rule: prose(&s.rule),
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
                rules: prose(&mq.rules.join("; ")),
            })
            .collect(),
    };
    let title = format!(
        "Backpropagation layer by layer: {}",
        crate::render::escape::latex_text(&layout.source_name)
    );
    crate::render::document::render_template(
        template,
        &view,
        (format == Format::Latex).then_some(title.as_str()),
        layout,
    )
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

fn render_json(layered: &Layered) -> String {
    let spec = &layered.spec;
    let steps = |ss: &[Step]| -> Vec<serde_json::Value> {
        ss.iter()
            .map(|s| {
                serde_json::json!({
                    "rule": s.rule,
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
                "layers": layers_phrase(&eq.layers, spec),
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
                "layers": layers_phrase(&m.layers, spec),
                "result": format!("{} = {}", show_m(&m.lhs, Style::Text), show_m(&m.rhs, Style::Text)),
                "result_latex": format!("{} = {}", show_m(&m.lhs, Style::Latex), show_m(&m.rhs, Style::Latex)),
                "rules": m.rules,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "network": spec.describe(),
        "convention": CONVENTION,
        "equations": equations,
        "matrix": matrix,
    });
    crate::render::json::document(&doc)
}

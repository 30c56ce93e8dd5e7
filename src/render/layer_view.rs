//! The layer view of the gradient as a section of the `eval`, `step` and `train` documents
//! (laid out by `layer_view.{txt,md,tex}`) and as JSON's `layers` and `findings`. The
//! findings' sentences and remedies are worded by `layer_view_words.txt` from the analysis's
//! codes and numbers; each number and name arrives in both its forms ([`math_span`]), so a
//! terminal and JSON read text while Markdown and LaTeX typeset it.

use serde::Serialize;
use serde_json::{Value, json};

use crate::analysis::layer_view::{Cause, Finding, LayerView};
use crate::core::error::Diagnostic;
use crate::core::expr::{Func, Sym};
use crate::core::model::Model;
use crate::core::number::{self, significant, thousands};
use crate::render::document::{Format, Layout, render_each, render_template};
use crate::render::escape::{latex_prose, markdown_prose, math_span, text_prose};
use crate::render::{FormulaPrinter, Notation};

/// What `layer_view_words.txt` sees for one finding: its form (`message` or `remedy`), the
/// codes, and the facts printed in both forms.
#[derive(Serialize, Default)]
struct FindingWords {
    form: &'static str,
    kind: &'static str,
    cause: &'static str,
    ratio: String,
    first: usize,
    last: usize,
    /// The units named (`a^{(3)}_{1}`, …), joined, and how many there are in all.
    units: String,
    count: String,
    more: usize,
    layers: usize,
    /// 4^−layers, in both forms, and its value.
    bound: String,
    bound_value: String,
    product: String,
    layer: usize,
    rms: String,
    scale: String,
    he: bool,
    rate: String,
    norm: String,
}

/// The sentence and the remedy of each finding, in text with math spans (the caller writes
/// them through its format's prose function).
pub fn finding_sentences(
    model: &Model,
    findings: &[Finding],
    layout: &Layout,
) -> Result<Vec<(String, String)>, Diagnostic> {
    let printer = FormulaPrinter::for_model(model);
    let name = |s: Sym| math_span(model.name(s), &printer.name(s, Notation::Latex));
    let num = |x: f64| {
        let written = significant(x, 3);
        math_span(&written, &number::latex(&written))
    };
    let words = |form: &'static str, f: &Finding| {
        let mut view = FindingWords {
            form,
            kind: f.kind.code(),
            cause: f.cause.code(),
            ratio: num(f.ratio),
            first: f.first_layer,
            last: f.last_layer,
            ..Default::default()
        };
        match &f.cause {
            Cause::SigmoidSlope { layers, product } => {
                view.layers = *layers;
                view.bound = math_span(&format!("4^-{layers}"), &format!("4^{{-{layers}}}"));
                view.bound_value = num(0.25f64.powi(*layers as i32));
                view.product = num(*product);
            }
            Cause::Saturation { units, count } | Cause::DeadRelu { units, count } => {
                view.units = units
                    .iter()
                    .map(|&s| name(s))
                    .collect::<Vec<_>>()
                    .join(", ");
                view.count = thousands(*count);
                view.more = count - units.len();
            }
            Cause::SmallWeights {
                layer,
                rms,
                scale,
                he,
            }
            | Cause::LargeWeights {
                layer,
                rms,
                scale,
                he,
            } => {
                view.layer = *layer;
                view.rms = num(*rms);
                view.scale = num(*scale);
                view.he = *he;
            }
            Cause::LayerProduct { product } => view.product = num(*product),
            Cause::LearningRate { rate } => view.rate = num(*rate),
            Cause::SmallGradient { norm } => view.norm = num(*norm),
        }
        view
    };
    let messages = render_each(
        "layer_view_words.txt",
        findings.iter().map(|f| words("message", f)),
        layout,
    )?;
    let remedies = render_each(
        "layer_view_words.txt",
        findings.iter().map(|f| words("remedy", f)),
        layout,
    )?;
    Ok(messages
        .into_iter()
        .zip(remedies)
        .map(|(m, r)| (m.trim().to_string(), r.trim().to_string()))
        .collect())
}

/// One layer's row, numbers printed for the format.
#[derive(Serialize)]
struct RowView {
    layer: String,
    units: String,
    activation: &'static str,
    grad_w: String,
    grad_b: String,
    delta: String,
    slope: String,
    saturated: String,
    dead: String,
    ratio: String,
}

#[derive(Serialize)]
struct FindingView {
    kind: &'static str,
    message: String,
    remedy: String,
}

#[derive(Serialize)]
struct SectionView {
    rows: Vec<RowView>,
    findings: Vec<FindingView>,
    examples: usize,
    vanishing: String,
    exploding: String,
}

fn activation_name(f: Option<Func>) -> &'static str {
    f.map_or("—", Func::name)
}

/// The layer view as a section of a document in `format` (text, Markdown or LaTeX).
pub fn render_section(
    model: &Model,
    view: &LayerView,
    format: Format,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let template = match format {
        Format::Text => "layer_view.txt",
        Format::Markdown => "layer_view.md",
        Format::Latex => "layer_view.tex",
        Format::Json => unreachable!("JSON takes `json`"),
    };
    let cell = |x: f64| {
        let written = significant(x, 3);
        match format {
            Format::Text => written,
            _ => format!("${}$", number::latex(&written)),
        }
    };
    let prose = |text: &str| match format {
        Format::Markdown => markdown_prose(text),
        Format::Latex => latex_prose(text),
        _ => text_prose(text),
    };
    let fraction = |part: usize, of: usize| {
        if part == 0 {
            "0".to_string()
        } else {
            format!("{part}/{of}")
        }
    };
    let sentences = finding_sentences(model, &view.findings, layout)?;
    let section = SectionView {
        rows: view
            .layers
            .iter()
            .map(|s| RowView {
                layer: s.layer.to_string(),
                units: thousands(s.units),
                activation: activation_name(s.function),
                grad_w: cell(s.grad_norm_w),
                grad_b: cell(s.grad_norm_b),
                delta: cell(s.delta_norm),
                slope: s
                    .mean_activation_derivative
                    .map_or_else(|| "—".to_string(), cell),
                saturated: fraction(s.saturated.len(), s.units),
                dead: fraction(s.dead.len(), s.units),
                ratio: cell(s.ratio_to_last),
            })
            .collect(),
        findings: view
            .findings
            .iter()
            .zip(sentences)
            .map(|(f, (message, remedy))| FindingView {
                kind: f.kind.code(),
                message: prose(&message),
                remedy: prose(&remedy),
            })
            .collect(),
        examples: view.examples,
        vanishing: cell(crate::analysis::layer_view::VANISHING_RATIO),
        exploding: cell(crate::analysis::layer_view::EXPLODING_RATIO),
    };
    render_template(template, &section, None, layout)
}

/// JSON's `layers` and `findings` (docs/json.md).
pub fn json(
    model: &Model,
    view: &LayerView,
    layout: &Layout,
) -> Result<(Value, Value), Diagnostic> {
    let number = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
    let names = |syms: &[Sym]| syms.iter().map(|&s| model.name(s)).collect::<Vec<_>>();
    let layers = view
        .layers
        .iter()
        .map(|s| {
            json!({
                "layer": s.layer,
                "units": s.units,
                "activation": s.function.map(Func::name),
                "grad_norm_W": number(s.grad_norm_w),
                "grad_norm_b": number(s.grad_norm_b),
                "grad_norm": number(s.grad_norm),
                "delta_norm": number(s.delta_norm),
                "mean_activation_derivative": s.mean_activation_derivative.map(number),
                "saturated": names(&s.saturated),
                "dead": names(&s.dead),
                "ratio_to_last": number(s.ratio_to_last),
                "weight_rms": number(s.weight_rms),
                "xavier_scale": number(s.xavier_scale),
                "he_scale": number(s.he_scale),
            })
        })
        .collect();
    let sentences = finding_sentences(model, &view.findings, layout)?;
    let findings = view
        .findings
        .iter()
        .zip(sentences)
        .map(|(f, (message, remedy))| finding_json(model, f, &message, &remedy))
        .collect();
    Ok((Value::Array(layers), Value::Array(findings)))
}

/// One finding as JSON: kind, cause code, the facts, and its words as text.
pub fn finding_json(model: &Model, f: &Finding, message: &str, remedy: &str) -> Value {
    let number = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
    let mut out = json!({
        "kind": f.kind.code(),
        "cause": f.cause.code(),
        "ratio": number(f.ratio),
        "first_layer": f.first_layer,
        "last_layer": f.last_layer,
        "message": text_prose(message),
        "remedy": text_prose(remedy),
    });
    let facts = match &f.cause {
        Cause::SigmoidSlope { layers, product } => json!({
            "layers": layers, "bound": 0.25f64.powi(*layers as i32), "product": number(*product)
        }),
        Cause::Saturation { units, count } | Cause::DeadRelu { units, count } => json!({
            "units": units.iter().map(|&s| model.name(s)).collect::<Vec<_>>(), "count": count
        }),
        Cause::SmallWeights {
            layer,
            rms,
            scale,
            he,
        }
        | Cause::LargeWeights {
            layer,
            rms,
            scale,
            he,
        } => json!({
            "layer": layer, "weight_rms": number(*rms), "scale": number(*scale),
            "scale_of": if *he { "he" } else { "xavier" }
        }),
        Cause::LayerProduct { product } => json!({ "product": number(*product) }),
        Cause::LearningRate { rate } => json!({ "learning_rate": rate }),
        Cause::SmallGradient { norm } => json!({ "gradient_norm": number(*norm) }),
    };
    out["facts"] = facts;
    out
}

#[derive(Serialize)]
struct BlockView {
    layer: usize,
    next: usize,
    previous: usize,
    units: String,
    activation: &'static str,
    first_units: String,
    last: bool,
    /// `\delta^{(L-1)} \to … \to \delta^{(l)}`, the recursion from the output down to l.
    chain: String,
    row: Option<RowView>,
}

#[derive(Serialize)]
struct BlocksView {
    marker: String,
    last: usize,
    layers: Vec<BlockView>,
}

/// The graph page's Markdown for a network drawn as one block a layer (`graph_layers.md`):
/// each layer's units, the δ recursion that reaches it, and its row of the layer view when
/// values were given. `marker` is where the picture goes.
pub fn graph_sections(
    model: &Model,
    layering: &crate::analysis::layer_view::Layering,
    view: Option<&LayerView>,
    marker: &str,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let last = layering.layers.last().map_or(0, |l| l.layer);
    let cell = |x: f64| format!("${}$", number::latex(&significant(x, 3)));
    let layers = layering
        .layers
        .iter()
        .map(|l| {
            let chain: Vec<String> = (l.layer..last)
                .rev()
                .map(|k| format!("\\delta^{{({k})}}"))
                .collect();
            let row = view
                .and_then(|v| v.layers.iter().find(|s| s.layer == l.layer))
                .map(|s| RowView {
                    layer: s.layer.to_string(),
                    units: thousands(s.units),
                    activation: activation_name(s.function),
                    grad_w: cell(s.grad_norm_w),
                    grad_b: cell(s.grad_norm_b),
                    delta: cell(s.delta_norm),
                    slope: s
                        .mean_activation_derivative
                        .map_or_else(|| "—".into(), cell),
                    saturated: s.saturated.len().to_string(),
                    dead: s.dead.len().to_string(),
                    ratio: cell(s.ratio_to_last),
                });
            BlockView {
                layer: l.layer,
                next: l.layer + 1,
                previous: l.layer - 1,
                units: thousands(l.pre_activations.len()),
                activation: activation_name(l.function),
                first_units: l
                    .first_parameters()
                    .into_iter()
                    .map(|p| format!("`{}`", model.name(p)))
                    .collect::<Vec<_>>()
                    .join(", "),
                last: l.layer == last,
                chain: chain.join(" \\to "),
                row,
            }
        })
        .collect();
    let view = BlocksView {
        marker: marker.to_string(),
        last,
        layers,
    };
    render_template("graph_layers.md", &view, None, layout)
}

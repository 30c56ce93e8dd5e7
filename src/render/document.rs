//! Documents: a derivation laid out as text, Markdown, LaTeX or JSON.
//!
//! Formulas are printed by `render` (Rust code that knows precedence); this module turns the
//! derivation into one serialisable model per format and hands it to a tera template, which
//! only lays out headings, lists and environments. The built-in templates are embedded in the
//! binary; a template directory may override any of them by file name. Templates use `<< >>`,
//! `<% %>` and `<# #>` as delimiters so LaTeX braces never collide with template syntax.
//! JSON is not templated: it is the contract of SPEC section 3, written with serde.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::diff::{Derivation, Derivations, Step, Style, Target};
use crate::core::error::Diagnostic;
use crate::core::expr::Id;
use crate::core::model::Model;
use crate::render::FormulaPrinter;
use crate::render::escape::{latex_text, markdown_text};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Latex,
    Json,
}

/// The built-in templates, by the file name that overrides them.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("derive.txt", include_str!("../../templates/derive.txt")),
    ("layers.txt", include_str!("../../templates/layers.txt")),
    (
        "layers_convention.txt",
        include_str!("../../templates/layers_convention.txt"),
    ),
    ("layers.md", include_str!("../../templates/layers.md")),
    ("layers.tex", include_str!("../../templates/layers.tex")),
    (
        "step_words.txt",
        include_str!("../../templates/step_words.txt"),
    ),
    ("step.txt", include_str!("../../templates/step.txt")),
    (
        "train_words.txt",
        include_str!("../../templates/train_words.txt"),
    ),
    ("train.txt", include_str!("../../templates/train.txt")),
    ("page.html", include_str!("../../templates/page.html")),
    ("train.md", include_str!("../../templates/train.md")),
    ("train.tex", include_str!("../../templates/train.tex")),
    ("step.md", include_str!("../../templates/step.md")),
    ("step.tex", include_str!("../../templates/step.tex")),
    ("check.txt", include_str!("../../templates/check.txt")),
    ("check.md", include_str!("../../templates/check.md")),
    ("check.tex", include_str!("../../templates/check.tex")),
    ("mistake.txt", include_str!("../../templates/mistake.txt")),
    ("derive.md", include_str!("../../templates/derive.md")),
    ("derive.tex", include_str!("../../templates/derive.tex")),
    (
        "standalone.tex",
        include_str!("../../templates/standalone.tex"),
    ),
];

/// How a document is laid out.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Templates that replace the built-in ones, by file name (read by the caller).
    pub overrides: BTreeMap<String, String>,
    /// A complete LaTeX document rather than a fragment.
    pub standalone: bool,
    /// The name of the program shown in the heading.
    pub source_name: String,
}

#[derive(Serialize)]
struct StepView {
    rule: String,
    lhs: String,
    rhs: Vec<String>,
}

#[derive(Serialize)]
struct DerivationView {
    target: String,
    heading: String,
    kind: String,
    wrt: String,
    steps: Vec<StepView>,
    result: String,
    expanded: Option<String>,
}

#[derive(Serialize)]
struct DocumentView {
    source: String,
    style: &'static str,
    shared_steps: Vec<StepView>,
    derivations: Vec<DerivationView>,
}

/// Writes the derivations in the format asked for.
pub fn render_derivations(
    model: &Model,
    derivations: &Derivations,
    style: Style,
    format: Format,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    // Gradients share most of their subterms: print each once across all of them.
    let cache = crate::render::RenderCache::default();
    let printer = FormulaPrinter::with_cache(&model.graph, &model.symbols, &cache);
    if format == Format::Json {
        return Ok(json_document(model, &printer, derivations));
    }
    let print = |id: Id| match format {
        Format::Text => printer.text(id),
        Format::Markdown | Format::Latex => printer.latex(id),
        Format::Json => printer.plain(id),
    };
    let escape_rule = |rule: &str| match format {
        Format::Latex => latex_text(rule),
        Format::Markdown => markdown_text(rule),
        _ => rule.to_string(),
    };
    let step_view = |s: &Step| StepView {
        rule: escape_rule(&s.rule),
        lhs: print(s.lhs),
        rhs: s.rhs.iter().map(|&r| print(r)).collect(),
    };
    let step_views = |steps: &[Step]| -> Vec<StepView> {
        visible_steps(steps, &print).iter().map(step_view).collect()
    };
    let view = DocumentView {
        source: match format {
            Format::Latex => latex_text(&layout.source_name),
            Format::Markdown => markdown_text(&layout.source_name),
            _ => layout.source_name.clone(),
        },
        style: match style {
            Style::Chain => "chain",
            Style::Backprop => "backprop",
        },
        shared_steps: step_views(&derivations.shared_steps),
        derivations: derivations
            .derivations
            .iter()
            .map(|d| DerivationView {
                target: d.target.plain_label(model),
                heading: print_target(model, d.target, format),
                kind: model.symbol(d.target.wrt).kind.word().to_string(),
                wrt: model.name(d.target.wrt).to_string(),
                steps: step_views(&d.steps),
                result: format!(
                    "{} = {}",
                    print_target(model, d.target, format),
                    print(d.result)
                ),
                expanded: d
                    .expanded
                    .map(|e| format!("{} = {}", print_target(model, d.target, format), print(e))),
            })
            .collect(),
    };
    let template = match format {
        Format::Text => "derive.txt",
        Format::Markdown => "derive.md",
        Format::Latex => "derive.tex",
        Format::Json => unreachable!("JSON is written above"),
    };
    let title = format!("Derivatives of {}", view.source);
    render_template(
        template,
        &view,
        (format == Format::Latex).then_some(title.as_str()),
        layout,
    )
}

fn print_target(model: &Model, t: Target, format: Format) -> String {
    let of = model.name(t.of);
    let wrt = model.name(t.wrt);
    match format {
        Format::Text => format!("∂{of}/∂{wrt}"),
        Format::Json => format!("d{of}/d{wrt}"),
        Format::Markdown | Format::Latex => format!(
            "\\frac{{\\partial {}}}{{\\partial {}}}",
            crate::lang::names::name_latex(model.symbol(t.of)),
            crate::lang::names::name_latex(model.symbol(t.wrt))
        ),
    }
}

/// Renders a built-in (or overriding) template with a view. With `standalone_title` (LaTeX
/// output) and `--standalone`, the body is wrapped in `standalone.tex` under that title.
pub fn render_template(
    template: &str,
    view: &impl Serialize,
    standalone_title: Option<&str>,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let tera = templates(layout)?;
    let context = tera::Context::from_serialize(view).map_err(template_error)?;
    let body = tera.render(template, &context).map_err(template_error)?;
    match standalone_title {
        Some(title) if layout.standalone => {
            let mut context = tera::Context::new();
            context.insert("body", &body);
            context.insert("source", &latex_text(&layout.source_name));
            context.insert("title", title);
            tera.render("standalone.tex", &context)
                .map_err(template_error)
        }
        _ => Ok(body),
    }
}

pub(crate) fn templates(layout: &Layout) -> Result<tera::Tera, Diagnostic> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(Vec::<&str>::new());
    tera.set_delimiters(tera::Delimiters {
        block_start: "<%".into(),
        block_end: "%>".into(),
        variable_start: "<<".into(),
        variable_end: ">>".into(),
        comment_start: "<#".into(),
        comment_end: "#>".into(),
    })
    .map_err(template_error)?;
    let chosen: Vec<(String, String)> = TEMPLATES
        .iter()
        .map(|(name, builtin)| {
            let text = layout
                .overrides
                .get(*name)
                .cloned()
                .unwrap_or_else(|| builtin.to_string());
            (name.to_string(), text)
        })
        .collect();
    tera.add_raw_templates(chosen).map_err(template_error)?;
    Ok(tera)
}

/// Tera's error with its whole cause chain, so a broken template says where and why.
pub(crate) fn template_error(e: tera::Error) -> Diagnostic {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    Diagnostic::new(format!("a template failed: {message}"))
}

#[derive(Serialize)]
struct JsonStep {
    rule: String,
    text: String,
    latex: String,
}

#[derive(Serialize)]
struct JsonDerivation {
    target: String,
    result: String,
    result_latex: String,
    result_text: String,
    expanded: Option<String>,
    expanded_latex: Option<String>,
    steps: Vec<JsonStep>,
}

#[derive(Serialize)]
struct JsonDocument {
    /// SPEC section 3 names the list `derivatives`.
    derivatives: Vec<JsonDerivation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    shared_steps: Vec<JsonStep>,
}

/// The steps a reader sees: each changes the printed formula. A member of an equality chain
/// that prints as the member before it is left out, and so is a step that prints as the line
/// before it (a rewrite such as flattening `(−2(y − a))·a` can change the tree and not the text).
fn visible_steps(steps: &[Step], print: &dyn Fn(Id) -> String) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    let mut last_line: Option<(String, String)> = None;
    for s in steps {
        let lhs = print(s.lhs);
        let mut previous = lhs.clone();
        let mut rhs = Vec::with_capacity(s.rhs.len());
        for &r in &s.rhs {
            let printed = print(r);
            if printed != previous {
                rhs.push(r);
                previous = printed;
            }
        }
        if rhs.is_empty() {
            continue;
        }
        let line = (lhs, previous);
        if rhs.len() == 1 && last_line.as_ref() == Some(&line) {
            continue;
        }
        last_line = Some(line);
        out.push(Step {
            rule: s.rule.clone(),
            lhs: s.lhs,
            rhs,
        });
    }
    out
}

fn json_step(printer: &FormulaPrinter, s: &Step) -> JsonStep {
    let chain = |f: &dyn Fn(Id) -> String| {
        std::iter::once(f(s.lhs))
            .chain(s.rhs.iter().map(|&r| f(r)))
            .collect::<Vec<_>>()
            .join(" = ")
    };
    JsonStep {
        rule: s.rule.clone(),
        text: chain(&|i| printer.plain(i)),
        latex: chain(&|i| printer.latex(i)),
    }
}

fn json_document(model: &Model, printer: &FormulaPrinter, derivations: &Derivations) -> String {
    let doc = JsonDocument {
        derivatives: derivations
            .derivations
            .iter()
            .map(|d: &Derivation| JsonDerivation {
                target: d.target.plain_label(model),
                result: printer.plain(d.result),
                result_latex: printer.latex(d.result),
                result_text: printer.text(d.result),
                expanded: d.expanded.map(|e| printer.plain(e)),
                expanded_latex: d.expanded.map(|e| printer.latex(e)),
                steps: visible_steps(&d.steps, &|i| printer.plain(i))
                    .iter()
                    .map(|s| json_step(printer, s))
                    .collect(),
            })
            .collect(),
        shared_steps: visible_steps(&derivations.shared_steps, &|i| printer.plain(i))
            .iter()
            .map(|s| json_step(printer, s))
            .collect(),
    };
    crate::render::json::document(&doc)
}

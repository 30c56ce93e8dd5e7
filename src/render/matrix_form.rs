//! The derivation in matrix form as a document: each named error term and each parameter's
//! gradient (`δ2 = (W3ᵀ δ3) ⊙ σ′(z2)`, `∂J/∂W2 = (1/m) Δ2 A1ᵀ`) with its shape and its steps,
//! after the shape of every name of the program, in text, Markdown, LaTeX or JSON. `derive
//! --all` on a vector program lays it out in derivation order (the `matrix_form.*`
//! templates); `derive --layers` sorts it into Nielsen's four equations BP1–BP4 (the
//! `layers.*` templates). The words (the layout convention, each rule, each equation's title)
//! are the templates' (`matrix_words.txt`); Rust gives them codes. The formulas come from
//! [`crate::core::matrix_diff`].

use serde::Serialize;

use crate::core::error::Diagnostic;
use crate::core::expr::{Id, Node};
use crate::core::matrix_diff::{MatrixQuantity, MatrixRule, MatrixStep, Role};
use crate::core::model::Model;
use crate::core::tensor::Shape;
use crate::lang::load::MatrixForm;
use crate::render::document::{Format, Layout, render_template};
use crate::render::escape::{latex_text, markdown_text};
use crate::render::linebreak::{Printed, TEXT_LABEL, display_rows, plain, step_rows};
use crate::render::{FormulaPrinter, Notation};

#[derive(Serialize)]
struct NameView {
    name: String,
    shape: String,
}

#[derive(Serialize)]
struct StepView {
    /// The rule's code (`matrix-product`); `matrix_words.txt` words it.
    rule: &'static str,
    /// `∂J/∂A1 = W2ᵀ δ2`, broken to fit (text lines or LaTeX rows).
    rows: Vec<String>,
    shape: String,
}

#[derive(Serialize)]
struct QuantityView {
    /// `output-error`, `hidden-error`, `bias`, `weight` or `parameter`.
    role: &'static str,
    /// `BP1` … `BP4` (empty for another parameter).
    label: &'static str,
    /// `∂J/∂W2`, or `δ2 = ∂J/∂z2` for an error term.
    heading: String,
    shape: String,
    steps: Vec<StepView>,
    /// The result broken to fit: `∂J/∂W2 = …`, or the error term's definition `δ2 = …`.
    rows: Vec<String>,
    /// For an error term over a batch: `∂J/∂Z2 = (1/m) Δ2`.
    gradient_rows: Vec<String>,
}

#[derive(Serialize)]
struct MatrixFormView {
    source: String,
    /// The network described (`derive --layers`).
    network: String,
    cost: String,
    /// One gradient's label and its parameter, for the convention's example.
    example: Option<ExampleView>,
    names: Vec<NameView>,
    quantities: Vec<QuantityView>,
}

#[derive(Serialize)]
struct ExampleView {
    heading: String,
    wrt: String,
    shape: String,
}

#[derive(Serialize)]
struct JsonStep {
    rule: &'static str,
    text: String,
    latex: String,
    shape: [u32; 2],
}

#[derive(Serialize)]
struct JsonGradient {
    target: String,
    role: &'static str,
    label: &'static str,
    result: String,
    result_latex: String,
    result_text: String,
    /// `[rows, cols]`: the parameter's shape, which its gradient has.
    shape: [u32; 2],
    /// The matrix form is not expanded (`--all --expand` gives the entries).
    expanded: Option<String>,
    expanded_latex: Option<String>,
    steps: Vec<JsonStep>,
}

#[derive(Serialize)]
struct JsonTerm {
    /// The term's name, `delta2`.
    name: String,
    /// The gradient it names, `dC/dz2`.
    target: String,
    role: &'static str,
    label: &'static str,
    definition: String,
    definition_latex: String,
    /// The gradient in the term: `(1/m) Delta2` over a batch, else the term itself.
    gradient: String,
    shape: [u32; 2],
    steps: Vec<JsonStep>,
}

#[derive(Serialize)]
struct JsonDocument {
    /// The network the program is the vector form of (`derive --layers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<String>,
    /// The layout convention, as a code: `gradient-has-parameter-shape`.
    convention: &'static str,
    terms: Vec<JsonTerm>,
    derivatives: Vec<JsonGradient>,
}

fn shape_text(shape: Shape, format: Format) -> String {
    match format {
        Format::Markdown | Format::Latex => format!("{} \\times {}", shape.rows, shape.cols),
        _ => format!("{}×{}", shape.rows, shape.cols),
    }
}

/// Nielsen's label of a role.
fn label(role: Role) -> &'static str {
    match role {
        Role::OutputError => "BP1",
        Role::HiddenError => "BP2",
        Role::Bias => "BP3",
        Role::Weight => "BP4",
        Role::Other => "",
    }
}

/// The document of a derivation in matrix form: in derivation order, or for a `network`
/// shorthand (`derive --layers`) sorted into BP1–BP4.
pub fn render(form: &MatrixForm, format: Format, layout: &Layout) -> Result<String, Diagnostic> {
    let model = &form.model;
    let quantities: Vec<&MatrixQuantity> = match &form.network {
        Some(_) => {
            let mut sorted: Vec<&MatrixQuantity> = form.derivation.quantities.iter().collect();
            sorted.sort_by_key(|q| q.role);
            sorted
        }
        None => form.derivation.quantities.iter().collect(),
    };
    let mut roots: Vec<Id> = Vec::new();
    for q in &quantities {
        roots.push(q.result);
        roots.extend(q.term.map(|(_, d)| d));
        roots.extend(q.steps.iter().flat_map(|s| [s.of, s.result]));
    }
    let shapes = crate::core::matrix_diff::shapes_of(model, &roots);
    let printer = FormulaPrinter::for_model(model).with_shapes(&shapes);
    let shape_of = |id: Id| shapes.get(&id).copied().unwrap_or(Shape::SCALAR);
    let pair = |s: Shape| [s.rows, s.cols];
    let network = form.network.as_ref().map(|spec| spec.describe());
    if format == Format::Json {
        let json_steps = |q: &MatrixQuantity| -> Vec<JsonStep> {
            q.steps
                .iter()
                .map(|s| JsonStep {
                    rule: s.rule.code(),
                    text: format!(
                        "{} = {}",
                        gradient_label(model, &printer, s.of, Notation::Plain),
                        printer.plain(s.result)
                    ),
                    latex: format!(
                        "{} = {}",
                        gradient_label(model, &printer, s.of, Notation::Latex),
                        printer.latex(s.result)
                    ),
                    shape: pair(shape_of(s.result)),
                })
                .collect()
        };
        let doc = JsonDocument {
            network,
            convention: "gradient-has-parameter-shape",
            terms: quantities
                .iter()
                .filter_map(|q| {
                    let (term, definition) = q.term?;
                    Some(JsonTerm {
                        name: model.name(term).to_string(),
                        target: printer.deriv_label(model.cost, q.wrt, Notation::Plain),
                        role: q.role.code(),
                        label: label(q.role),
                        definition: printer.plain(definition),
                        definition_latex: printer.latex(definition),
                        gradient: printer.plain(q.result),
                        shape: pair(model.symbol(q.wrt).shape),
                        steps: json_steps(q),
                    })
                })
                .collect(),
            derivatives: quantities
                .iter()
                .filter(|q| q.term.is_none())
                .map(|q| JsonGradient {
                    target: printer.deriv_label(model.cost, q.wrt, Notation::Plain),
                    role: q.role.code(),
                    label: label(q.role),
                    result: printer.plain(q.result),
                    result_latex: printer.latex(q.result),
                    result_text: printer.text(q.result),
                    shape: pair(model.symbol(q.wrt).shape),
                    expanded: None,
                    expanded_latex: None,
                    steps: json_steps(q),
                })
                .collect(),
        };
        return Ok(crate::render::json::document(&doc));
    }
    let notation = match format {
        Format::Text => Notation::Text,
        _ => Notation::Latex,
    };
    let words = |text: &str| match format {
        Format::Latex => latex_text(text),
        Format::Markdown => markdown_text(text),
        _ => text.to_string(),
    };
    let names = model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf() || model.definition(s).is_some())
        .map(|s| NameView {
            name: printer.name(s, notation),
            shape: shape_text(model.symbol(s).shape, format),
        })
        .collect();
    let equation =
        |lhs: String, rhs: Id| -> Vec<Printed> { vec![plain(lhs), printer.printed(rhs, notation)] };
    let quantity_views = quantities
        .iter()
        .map(|q| {
            let gradient = printer.deriv_label(model.cost, q.wrt, notation);
            // a simplification that prints as the step before it says nothing
            let shown: Vec<&MatrixStep> = q
                .steps
                .iter()
                .enumerate()
                .filter(|&(k, s)| {
                    k == 0
                        || s.rule != MatrixRule::Simplify
                        || printer.text(s.result) != printer.text(q.steps[k - 1].result)
                })
                .map(|(_, s)| s)
                .collect();
            let equations: Vec<Vec<Printed>> = shown
                .iter()
                .map(|s| equation(gradient_label(model, &printer, s.of, notation), s.result))
                .collect();
            let rules: Vec<String> = shown.iter().map(|s| s.rule.code().to_string()).collect();
            let steps = step_rows(format, &equations, &rules)
                .into_iter()
                .zip(&shown)
                .map(|(rows, s)| StepView {
                    rule: s.rule.code(),
                    rows,
                    shape: shape_text(shape_of(s.result), format),
                })
                .collect();
            let (heading, rows, gradient_rows) = match q.term {
                Some((term, definition)) => {
                    let name = printer.name(term, notation);
                    let scaled = !matches!(model.graph.node(q.result), Node::Var(v) if *v == term);
                    (
                        format!("{name} = {gradient}"),
                        display_rows(format, &equation(name, definition), TEXT_LABEL),
                        if scaled {
                            display_rows(format, &equation(gradient.clone(), q.result), TEXT_LABEL)
                        } else {
                            Vec::new()
                        },
                    )
                }
                None => (
                    gradient.clone(),
                    display_rows(format, &equation(gradient, q.result), TEXT_LABEL),
                    Vec::new(),
                ),
            };
            QuantityView {
                role: q.role.code(),
                label: label(q.role),
                heading,
                shape: shape_text(model.symbol(q.wrt).shape, format),
                steps,
                rows,
                gradient_rows,
            }
        })
        .collect();
    let example = quantities
        .iter()
        .filter(|q| q.term.is_none())
        .map(|q| q.wrt)
        .find(|&p| !model.symbol(p).shape.is_scalar())
        .map(|p| ExampleView {
            heading: printer.deriv_label(model.cost, p, notation),
            wrt: printer.name(p, notation),
            shape: shape_text(model.symbol(p).shape, format),
        });
    let view = MatrixFormView {
        source: words(&layout.source_name),
        network: network.as_deref().map(words).unwrap_or_default(),
        cost: printer.name(model.cost, notation),
        example,
        names,
        quantities: quantity_views,
    };
    let family = if form.network.is_some() {
        "layers"
    } else {
        "matrix_form"
    };
    let template = match format {
        Format::Text => format!("{family}.txt"),
        Format::Markdown => format!("{family}.md"),
        _ => format!("{family}.tex"),
    };
    let title = match form.network {
        Some(_) => format!("Backpropagation in matrix form: {}", view.source),
        None => format!("Gradients of {} in matrix form", view.source),
    };
    render_template(
        &template,
        &view,
        (format == Format::Latex).then_some(title.as_str()),
        layout,
    )
}

/// `∂J/∂W2` for a name, `∂J/∂(W2 A1)` for a subexpression of a definition.
fn gradient_label(
    model: &Model,
    printer: &FormulaPrinter<'_>,
    of: Id,
    notation: Notation,
) -> String {
    if let Node::Var(v) = model.graph.node(of) {
        return printer.deriv_label(model.cost, *v, notation);
    }
    let cost = printer.name(model.cost, notation);
    let inner = printer.render(of, notation);
    match notation {
        Notation::Latex => format!("\\frac{{\\partial {cost}}}{{\\partial ({inner})}}"),
        Notation::Text => format!("∂{cost}/∂({inner})"),
        Notation::Plain => format!("d{cost}/d({inner})"),
    }
}

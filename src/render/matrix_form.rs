//! The gradients of a vector program in matrix form as a document: one formula a parameter
//! (`∂J/∂W2 = (1/m)(A2 − Y) A1ᵀ`), each with its shape, after the shape of every name of the
//! program, in text, Markdown, LaTeX (the `matrix_form.*` templates hold the prose: the layout
//! convention, what `ᵀ`, `⊙` and `𝟙` mean) or JSON (`derivatives` with `shape`, as SPEC'd for
//! `derive`). The formulas come from [`crate::core::matrix_diff`], made readable there.

use serde::Serialize;

use crate::core::error::Diagnostic;
use crate::core::expr::{Id, Sym};
use crate::core::model::Model;
use crate::core::tensor::Shape;
use crate::render::document::{Format, Layout, render_template};
use crate::render::escape::{latex_text, markdown_text};
use crate::render::linebreak::{TEXT_LABEL, display_rows, plain};
use crate::render::{FormulaPrinter, Notation};

#[derive(Serialize)]
struct NameView {
    name: String,
    shape: String,
}

#[derive(Serialize)]
struct GradientView {
    /// `∂J/∂W2` in the format's notation.
    heading: String,
    /// The parameter's name as the program spells it.
    wrt: String,
    shape: String,
    /// `∂J/∂W2 = …` broken to fit (text lines or LaTeX rows).
    rows: Vec<String>,
}

#[derive(Serialize)]
struct MatrixFormView {
    source: String,
    cost: String,
    /// One gradient's label and its parameter, for the convention's example.
    example: Option<ExampleView>,
    names: Vec<NameView>,
    gradients: Vec<GradientView>,
}

#[derive(Serialize)]
struct ExampleView {
    heading: String,
    wrt: String,
    shape: String,
}

#[derive(Serialize)]
struct JsonGradient {
    target: String,
    result: String,
    result_latex: String,
    result_text: String,
    /// `[rows, cols]`: the parameter's shape, which its gradient has.
    shape: [u32; 2],
    /// The matrix form is not expanded (`--all --expand` gives the entries).
    expanded: Option<String>,
    expanded_latex: Option<String>,
    steps: Vec<()>,
}

#[derive(Serialize)]
struct JsonDocument {
    /// The layout convention, as a code: `gradient-has-parameter-shape`.
    convention: &'static str,
    derivatives: Vec<JsonGradient>,
}

fn shape_text(shape: Shape, format: Format) -> String {
    match format {
        Format::Markdown | Format::Latex => format!("{} \\times {}", shape.rows, shape.cols),
        _ => format!("{}×{}", shape.rows, shape.cols),
    }
}

/// The document of `gradients` (of `model`'s cost, from
/// [`crate::core::matrix_diff::gradients`] and [`crate::core::matrix_diff::readable`]).
pub fn render(
    model: &Model,
    gradients: &[(Sym, Id)],
    format: Format,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let roots: Vec<Id> = gradients.iter().map(|&(_, g)| g).collect();
    let shapes = crate::core::matrix_diff::shapes_of(model, &roots);
    let printer = FormulaPrinter::for_model(model).with_shapes(&shapes);
    let shape_of = |p: Sym| model.symbol(p).shape;
    if format == Format::Json {
        let doc = JsonDocument {
            convention: "gradient-has-parameter-shape",
            derivatives: gradients
                .iter()
                .map(|&(p, g)| JsonGradient {
                    target: printer.deriv_label(model.cost, p, Notation::Plain),
                    result: printer.plain(g),
                    result_latex: printer.latex(g),
                    result_text: printer.text(g),
                    shape: [shape_of(p).rows, shape_of(p).cols],
                    expanded: None,
                    expanded_latex: None,
                    steps: Vec::new(),
                })
                .collect(),
        };
        return Ok(crate::render::json::document(&doc));
    }
    let notation = match format {
        Format::Text => Notation::Text,
        _ => Notation::Latex,
    };
    let label = |p: Sym| printer.deriv_label(model.cost, p, notation);
    let names = model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf() || model.definition(s).is_some())
        .map(|s| NameView {
            name: printer.name(s, notation),
            shape: shape_text(model.symbol(s).shape, format),
        })
        .collect();
    let view = MatrixFormView {
        source: match format {
            Format::Latex => latex_text(&layout.source_name),
            Format::Markdown => markdown_text(&layout.source_name),
            _ => layout.source_name.clone(),
        },
        cost: printer.name(model.cost, notation),
        example: gradients
            .iter()
            .map(|&(p, _)| p)
            .find(|&p| !shape_of(p).is_scalar())
            .or(gradients.first().map(|&(p, _)| p))
            .map(|p| ExampleView {
                heading: label(p),
                wrt: printer.name(p, notation),
                shape: shape_text(shape_of(p), format),
            }),
        names,
        gradients: gradients
            .iter()
            .map(|&(p, g)| GradientView {
                heading: label(p),
                wrt: model.name(p).to_string(),
                shape: shape_text(shape_of(p), format),
                rows: display_rows(
                    format,
                    &[plain(label(p)), printer.printed(g, notation)],
                    TEXT_LABEL,
                ),
            })
            .collect(),
    };
    let template = match format {
        Format::Text => "matrix_form.txt",
        Format::Markdown => "matrix_form.md",
        _ => "matrix_form.tex",
    };
    let title = format!("Gradients of {} in matrix form", view.source);
    render_template(
        template,
        &view,
        (format == Format::Latex).then_some(title.as_str()),
        layout,
    )
}

//! Documents for `step`: a gradient-descent run laid out as text, Markdown, LaTeX or JSON.
//!
//! One table per step (each parameter's value, its gradient at the start of the step, and its
//! new value), the cost before and after, and a warning whenever the cost rose. Numbers are
//! printed to 9 significant digits in the tables; JSON carries the full float64 values and
//! has the fields of docs/json.md. The `step.*` templates lay the documents out and hold the wording
//! (`step_words.txt` the warnings', shared with JSON's messages).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::descent::{Descent, DescentStep};
use crate::analysis::optimizer::{Optimizer, OptimizerKind, ParamState};
use crate::core::error::Diagnostic;
use crate::core::model::Model;
use crate::core::number::{self, significant, thousands};
use crate::render::arrays::{self, Key, Nested, Run, runs};
use crate::render::document::{Format, Layout, render_template};
use crate::render::escape::{latex_text, markdown_text, text_prose};
use crate::render::warning::warning_messages;
use crate::render::{FormulaPrinter, Notation};

/// Networks with more parameters than this get the layer view instead of the tables.
const TABLE_LIMIT: usize = 300;

/// Significant digits in the tables.
const DIGITS: usize = 9;

fn number(v: f64) -> String {
    significant(v, DIGITS)
}

/// One row of a step's table: a parameter, its value, gradient and new value, each printed for
/// the format (in text, padded to the column's width so the template only joins them).
#[derive(Serialize)]
struct RowView {
    name: String,
    value: String,
    gradient: String,
    /// The optimizer's state after the step (velocity, moments), in the header's order.
    state: Vec<String>,
    new_value: String,
}

/// How the cost changed in a step: `fell`, `rose`, `unchanged` or `nan`, and by how much.
#[derive(Serialize)]
struct ChangeView {
    kind: &'static str,
    by: String,
}

/// A number as formulas show it (LaTeX math in Markdown and LaTeX) and as prose shows it.
#[derive(Serialize)]
struct NumberView {
    math: String,
    plain: String,
}

/// A parameter of a vector program as matrices: its values, gradients and new values, each
/// cell printed for the format and padded to its column.
#[derive(Serialize)]
struct ArrayView {
    name: String,
    rows: u32,
    cols: u32,
    value: Vec<Vec<String>>,
    gradient: Vec<Vec<String>>,
    new_value: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct StepView {
    number: usize,
    cost: NumberView,
    cost_after: NumberView,
    change: ChangeView,
    rose: bool,
    /// The table was left out of a long run (see `descent::TABLE_ROWS`).
    summarised: bool,
    header: RowView,
    rows: Vec<RowView>,
    /// The parameters that are whole arrays, after the table of the others.
    arrays: Vec<ArrayView>,
}

/// What a `step.*` template sees: numbers and names printed for the format, no prose.
#[derive(Serialize)]
struct DescentView {
    source: String,
    /// The cost's name in formulas, and as a word in prose.
    cost: String,
    cost_name: String,
    learning_rate: NumberView,
    /// The optimizer's code (`sgd`, `momentum`, `nesterov`, `rmsprop`, `adam`) and its
    /// hyperparameters; `decay` when weight decay is not 0.
    optimizer: &'static str,
    momentum: NumberView,
    beta1: NumberView,
    beta2: NumberView,
    eps: NumberView,
    weight_decay: NumberView,
    decay: bool,
    steps: Vec<StepView>,
    diverged: bool,
    not_finite_start: bool,
    first_cost: Option<String>,
    last_cost: Option<String>,
    /// The layer view's section, rendered for the format.
    layer_view: Option<String>,
    /// The tables are left out for a network this size.
    big: bool,
    /// How many inputs and targets were set to 0 on request.
    inputs_zeroed: Option<String>,
}

/// Writes the descent in the format asked for, laid out by the `step.*` templates (JSON by
/// serde, as docs/json.md fixes it).
pub fn render_descent(
    model: &Model,
    descent: &Descent,
    format: Format,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let (template, notation) = match format {
        Format::Json => return json(model, descent, layout),
        Format::Text => ("step.txt", Notation::Text),
        Format::Markdown => ("step.md", Notation::Latex),
        Format::Latex => ("step.tex", Notation::Latex),
    };
    let layer_view = match &descent.layer_view {
        Some(v) => Some(crate::render::layer_view::render_section(
            model, v, format, layout,
        )?),
        None => None,
    };
    if descent.per_layer
        && let Some(section) = layer_view
    {
        return Ok(section);
    }
    let mut view = view(model, descent, format, notation, &layout.source_name);
    // A large network's steps are a summary: the layer view stands for the tables.
    view.big = layer_view.is_some() && !descent.all_values && model.params().count() > TABLE_LIMIT;
    if view.big {
        for step in &mut view.steps {
            step.rows.clear();
        }
    }
    view.layer_view = layer_view;
    view.inputs_zeroed = (descent.inputs_zeroed > 0).then(|| thousands(descent.inputs_zeroed));
    let title = format!("Gradient descent on {}", latex_text(&layout.source_name));
    render_template(template, &view, Some(&title), layout)
}

fn view(
    model: &Model,
    descent: &Descent,
    format: Format,
    notation: Notation,
    source_name: &str,
) -> DescentView {
    let printer = FormulaPrinter::for_model(model);
    let both = |v: f64| NumberView {
        math: match format {
            Format::Text => number(v),
            _ => number::latex(&number(v)),
        },
        plain: number(v),
    };
    // Table cells are math in LaTeX only; Markdown tables keep plain digits.
    let cell = |v: f64| match format {
        Format::Latex => number::latex(&number(v)),
        _ => number(v),
    };
    // A matrix's cells are math in Markdown too.
    let number_cell = |v: f64| match format {
        Format::Text => number(v),
        _ => number::latex(&number(v)),
    };
    let cost = printer.name(model.cost, notation);
    let steps = descent
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let header = RowView {
                name: "parameter".into(),
                value: "value".into(),
                gradient: match format {
                    Format::Text => format!("∂{cost}/∂θ"),
                    _ => format!("$\\partial {cost} / \\partial \\theta$"),
                },
                state: state_header(descent.optimizer.kind, format),
                new_value: "new value".into(),
            };
            let all: Vec<_> = rows(step).collect();
            let keys: Vec<Key> = all.iter().map(|r| Some((0, r.0))).collect();
            let runs = runs(model, &keys);
            let mut rows: Vec<RowView> = Vec::new();
            let mut arrays = Vec::new();
            for run in runs {
                match run {
                    Run::Row(i) => {
                        let (sym, before, grad, after) = all[i];
                        let state = step.state.get(i).copied().unwrap_or_default();
                        rows.push(RowView {
                            name: printer.name(sym, notation),
                            value: cell(before),
                            gradient: cell(grad),
                            state: state_values(&state).into_iter().map(cell).collect(),
                            new_value: cell(after),
                        });
                    }
                    Run::Array { array, rows: range } => {
                        let entries = &all[range];
                        let matrix = |f: fn(&(_, f64, f64, f64)) -> f64| {
                            arrays::grid(
                                array.shape,
                                entries.iter().map(|e| number_cell(f(e))).collect(),
                            )
                        };
                        arrays.push(ArrayView {
                            name: match format {
                                Format::Text => array.name.clone(),
                                _ => arrays::name_latex(array),
                            },
                            rows: array.shape.rows,
                            cols: array.shape.cols,
                            value: matrix(|e| e.1),
                            gradient: matrix(|e| e.2),
                            new_value: matrix(|e| e.3),
                        });
                    }
                }
            }
            let mut header = header;
            if format == Format::Text {
                pad_columns(&mut header, &mut rows);
            }
            StepView {
                number: i + 1,
                cost: both(step.cost),
                cost_after: both(step.cost_after),
                change: change(step),
                rose: step.cost_rose,
                summarised: step.summarised,
                header,
                rows,
                arrays,
            }
        })
        .collect();
    let prose = |text: &str| match format {
        Format::Markdown => markdown_text(text),
        Format::Latex => latex_text(text),
        _ => text.to_string(),
    };
    DescentView {
        source: prose(source_name),
        cost,
        cost_name: prose(model.name(model.cost)),
        learning_rate: both(descent.learning_rate),
        optimizer: descent.optimizer.kind.code(),
        momentum: both(descent.optimizer.momentum),
        beta1: both(descent.optimizer.beta1),
        beta2: both(descent.optimizer.beta2),
        eps: both(descent.optimizer.eps),
        weight_decay: both(descent.optimizer.weight_decay),
        decay: descent.optimizer.weight_decay != 0.0,
        steps,
        diverged: descent.diverged,
        not_finite_start: descent.not_finite_start,
        first_cost: descent.steps.first().map(|s| number(s.cost)),
        last_cost: descent.steps.last().map(|s| number(s.cost_after)),
        layer_view: None,
        big: false,
        inputs_zeroed: None,
    }
}

/// Pads the text table: names left-aligned, numbers right-aligned, each column as wide as its
/// widest cell.
fn pad_columns(header: &mut RowView, rows: &mut [RowView]) {
    let width = |f: fn(&RowView) -> &String| {
        std::iter::once(&*header)
            .chain(rows.iter())
            .map(|r| f(r).chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths = [
        width(|r| &r.name),
        width(|r| &r.value),
        width(|r| &r.gradient),
        width(|r| &r.new_value),
    ];
    let state_widths: Vec<usize> = (0..header.state.len())
        .map(|k| {
            std::iter::once(&*header)
                .chain(rows.iter())
                .map(|r| r.state.get(k).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(header).chain(rows.iter_mut()) {
        row.name = format!("{:<w$}", row.name, w = widths[0]);
        row.value = format!("{:>w$}", row.value, w = widths[1]);
        row.gradient = format!("{:>w$}", row.gradient, w = widths[2]);
        row.new_value = format!("{:>w$}", row.new_value, w = widths[3]);
        for (cell, &w) in row.state.iter_mut().zip(&state_widths) {
            *cell = format!("{cell:>w$}");
        }
    }
}

/// The names of the state columns an optimizer's table has, as the update rule writes them.
fn state_header(kind: OptimizerKind, format: Format) -> Vec<String> {
    let names: &[(&str, &str)] = match kind {
        OptimizerKind::Sgd => &[],
        OptimizerKind::Momentum | OptimizerKind::Nesterov => &[("b", "$b$")],
        OptimizerKind::RmsProp => &[("v", "$v$")],
        OptimizerKind::Adam => &[
            ("m", "$m$"),
            ("v", "$v$"),
            ("m̂", "$\\hat{m}$"),
            ("v̂", "$\\hat{v}$"),
        ],
    };
    names
        .iter()
        .map(|&(text, latex)| match format {
            Format::Text => text.to_string(),
            _ => latex.to_string(),
        })
        .collect()
}

/// A parameter's state as the table's columns list it.
fn state_values(state: &ParamState) -> Vec<f64> {
    [
        state.velocity,
        state.first,
        state.second,
        state.first_corrected,
        state.second_corrected,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The sentence for a warning of `step` (`rose` or `diverged`), from the `step_words.txt`
/// template, for JSON's `message`.
fn warning_message(
    kind: &str,
    step: usize,
    descent: &Descent,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let at = &descent.steps[step - 1];
    let view = serde_json::json!({
        "kind": kind,
        "step": step,
        "cost": number(at.cost),
        "cost_after": number(at.cost_after),
        "learning_rate": number(descent.learning_rate),
    });
    Ok(render_template("step_words.txt", &view, None, layout)?
        .trim()
        .to_string())
}

#[derive(Serialize)]
struct StepJson {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    summarised: bool,
    cost: f64,
    gradients: BTreeMap<String, Nested<f64>>,
    params: BTreeMap<String, Nested<f64>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    state: BTreeMap<String, StateJson>,
    cost_after: f64,
    cost_rose: bool,
}

/// One parameter's optimizer state after a step; only what the optimizer keeps.
#[derive(Serialize)]
struct StateJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    velocity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_moment: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    second_moment: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_moment_corrected: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    second_moment_corrected: Option<f64>,
    decayed: bool,
}

/// The optimizer and the hyperparameters its rule uses (in `step`'s and `train`'s JSON).
#[derive(Serialize)]
pub(crate) struct OptimizerJson {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    momentum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    beta1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    beta2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    eps: Option<f64>,
    weight_decay: f64,
}

impl OptimizerJson {
    pub(crate) fn of(o: &Optimizer) -> OptimizerJson {
        use OptimizerKind::*;
        let used = |yes: bool, v: f64| yes.then_some(v);
        OptimizerJson {
            name: o.kind.code(),
            momentum: used(matches!(o.kind, Momentum | Nesterov), o.momentum),
            beta1: used(o.kind == Adam, o.beta1),
            beta2: used(matches!(o.kind, Adam | RmsProp), o.beta2),
            eps: used(matches!(o.kind, Adam | RmsProp), o.eps),
            weight_decay: o.weight_decay,
        }
    }
}

#[derive(Serialize)]
struct WarningJson {
    kind: &'static str,
    step: usize,
    /// The name a value was given to, for a warning about the starting values.
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    message: String,
}

#[derive(Serialize)]
struct DescentJson {
    learning_rate: f64,
    optimizer: OptimizerJson,
    /// The shape `[rows, columns]` of each parameter that is an array (a vector program).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    shapes: BTreeMap<String, [u32; 2]>,
    steps: Vec<StepJson>,
    diverged: bool,
    warnings: Vec<WarningJson>,
    /// The layer view at the start, for a program with layers.
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<serde_json::Value>,
}

fn json(model: &Model, descent: &Descent, layout: &Layout) -> Result<String, Diagnostic> {
    let mut shapes = BTreeMap::new();
    // The starting values' warnings concern the first step, which starts from them.
    let start = &descent.start_warnings;
    let mut warnings: Vec<WarningJson> = warning_messages(model, start, &|_| None, layout)?
        .into_iter()
        .zip(start)
        .map(|(message, w)| WarningJson {
            kind: w.kind.code(),
            step: 1,
            at: Some(w.at.clone()),
            message: text_prose(&message),
        })
        .collect();
    for (i, step) in descent.steps.iter().enumerate() {
        if step.cost_rose {
            warnings.push(WarningJson {
                kind: "cost-rose",
                step: i + 1,
                at: None,
                message: warning_message("rose", i + 1, descent, layout)?,
            });
        }
    }
    if descent.diverged {
        let kind = if descent.not_finite_start {
            "not-finite-start"
        } else {
            "diverged"
        };
        warnings.push(WarningJson {
            kind,
            step: descent.steps.len(),
            at: None,
            message: warning_message(kind, descent.steps.len(), descent, layout)?,
        });
    }
    let with_state =
        descent.optimizer.kind != OptimizerKind::Sgd || descent.optimizer.weight_decay != 0.0;
    let steps = descent
        .steps
        .iter()
        .map(|s| StepJson {
            summarised: s.summarised,
            cost: s.cost,
            gradients: arrays::by_name(model, &s.gradients, &mut shapes),
            params: arrays::by_name(model, &s.params_after, &mut shapes),
            state: if with_state {
                s.params_after
                    .iter()
                    .zip(&s.state)
                    .map(|(&(sym, _), st)| {
                        let json = StateJson {
                            velocity: st.velocity,
                            first_moment: st.first,
                            second_moment: st.second,
                            first_moment_corrected: st.first_corrected,
                            second_moment_corrected: st.second_corrected,
                            decayed: st.decayed,
                        };
                        (model.name(sym).to_string(), json)
                    })
                    .collect()
            } else {
                BTreeMap::new()
            },
            cost_after: s.cost_after,
            cost_rose: s.cost_rose,
        })
        .collect();
    let doc = DescentJson {
        learning_rate: descent.learning_rate,
        optimizer: OptimizerJson::of(&descent.optimizer),
        shapes,
        steps,
        diverged: descent.diverged,
        warnings,
        layers: None,
        findings: None,
    };
    let mut doc = doc;
    if let Some(view) = &descent.layer_view {
        let (layers, findings) = crate::render::layer_view::json(model, view, layout)?;
        if descent.per_layer {
            return Ok(crate::render::json::document(&serde_json::json!({
                "layers": layers,
                "findings": findings,
            })));
        }
        doc.layers = Some(layers);
        doc.findings = Some(findings);
    }
    Ok(crate::render::json::document(&doc))
}

/// Each parameter's value before the step, gradient, and value after.
fn rows(step: &DescentStep) -> impl Iterator<Item = (crate::core::expr::Sym, f64, f64, f64)> + '_ {
    step.params_before
        .iter()
        .zip(&step.gradients)
        .zip(&step.params_after)
        .map(|((&(sym, before), &(_, grad)), &(_, after))| (sym, before, grad, after))
}

/// How the cost changed in a step.
fn change(step: &DescentStep) -> ChangeView {
    let delta = step.cost_after - step.cost;
    let (kind, by) = if delta < 0.0 {
        ("fell", number(-delta))
    } else if delta > 0.0 {
        ("rose", number(delta))
    } else if step.cost_after.is_nan() || step.cost.is_nan() {
        ("nan", String::new())
    } else {
        ("unchanged", String::new())
    };
    ChangeView { kind, by }
}

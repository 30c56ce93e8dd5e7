//! Documents for `train`: a training run laid out as text, Markdown, LaTeX or JSON.
//!
//! A table of epochs (mean cost and gradient norm; long runs show evenly spaced epochs and the
//! last, JSON has them all), the parameters before and after, the output for each example,
//! and the verdict when the run went wrong. Markdown carries the loss curve as inline SVG. The
//! `train.*` templates lay the documents out; `train_words.txt` holds the verdict's sentences,
//! shared with JSON's `diverged` text (docs/json.md).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::render::step::OptimizerJson;

use crate::analysis::init::Init;
use crate::analysis::train::{Direction, Divergence, Training};
use crate::core::error::Diagnostic;
use crate::core::expr::Sym;
use crate::core::model::Model;
use crate::core::number::{self, significant, thousands};
use crate::core::shape::Shape;
use crate::render::arrays::{self, Key, Nested, Run, runs};
use crate::render::curve::{layer_curves, loss_curve};
use crate::render::document::{Format, Layout, render_template};
use crate::render::escape::{latex_prose, markdown_prose, text_prose};
use crate::render::escape::{latex_text, markdown_text};
use crate::render::html::{self, Figure};
use crate::render::layer_view::finding_sentences;
use crate::render::{FormulaPrinter, Notation};

/// Significant digits in the tables.
const DIGITS: usize = 6;
/// Epochs shown in a table at most (evenly spaced, the last always).
const SHOWN_EPOCHS: usize = 20;
/// Examples whose output is listed at most.
const SHOWN_EXAMPLES: usize = 20;

fn number(v: f64) -> String {
    significant(v, DIGITS)
}

#[derive(Serialize)]
struct EpochView {
    epoch: String,
    cost: String,
    gradient_norm: String,
}

#[derive(Serialize)]
struct ParamView {
    name: String,
    initial: String,
    trained: String,
}

/// A parameter that is a whole vector or matrix (a vector program), its cells printed and
/// aligned in its rows.
#[derive(Serialize)]
struct ParamArrayView {
    name: String,
    rows: u32,
    cols: u32,
    initial: Vec<Vec<String>>,
    trained: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct OutputView {
    inputs: String,
    output: String,
}

/// The verdict on a run that went wrong, as the `train_words` component reads it.
#[derive(Serialize, Default)]
struct DivergedView {
    kind: &'static str,
    epoch: usize,
    from: String,
    to: String,
    rose_in: usize,
    neuron: String,
    argument: String,
    cost: String,
}

#[derive(Serialize)]
struct TrainView {
    source: String,
    cost: String,
    cost_name: String,
    output: String,
    learning_rate: String,
    ascent: bool,
    /// The optimizer's code and hyperparameters, as `step_rule` (in `step_words.txt`) takes
    /// them; `decay` when weight decay is not 0.
    optimizer: &'static str,
    momentum: String,
    beta1: String,
    beta2: String,
    eps: String,
    weight_decay: String,
    decay: bool,
    mode: &'static str,
    shuffle: bool,
    init: &'static str,
    seed: u64,
    examples: usize,
    epochs_asked: usize,
    epochs_run: usize,
    every: usize,
    initial_cost: String,
    final_cost: String,
    epoch_header: EpochView,
    epochs: Vec<EpochView>,
    param_header: ParamView,
    params: Vec<ParamView>,
    /// The parameters that are whole arrays, after the table of the others.
    arrays: Vec<ParamArrayView>,
    outputs: Vec<OutputView>,
    outputs_left: usize,
    diverged: Option<DivergedView>,
    curve: String,
    /// The per-layer gradient norms' picture (Markdown), or its marker on a page.
    layer_curve: Option<String>,
    /// The layer view after training, rendered for the format.
    layer_view: Option<String>,
    /// The run's stall, oscillation or divergence, each with its cause and remedy.
    findings: Vec<FindingView>,
    /// How many parameters a large network's summary leaves out of the table.
    params_left: Option<String>,
    /// The share of examples classified right, where the targets are one-hot or 0/1.
    accuracy: Option<String>,
}

#[derive(Serialize)]
struct FindingView {
    kind: &'static str,
    message: String,
    remedy: String,
}

/// Networks with more parameters than this get a summary: the table of parameters only with
/// `--all-values` (or written with `--save-values`).
const TABLE_LIMIT: usize = 300;
/// Inputs listed for an example at most; past it, the example is named by its number.
const SHOWN_INPUTS: usize = 6;
/// Outputs listed for an example at most.
const SHOWN_OUTPUTS: usize = 10;

/// Writes the run in the format asked for, laid out by the `train.*` templates (JSON by serde,
/// as docs/json.md fixes it).
pub fn render_training(
    model: &Model,
    training: &Training,
    format: Format,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let (template, notation) = match format {
        Format::Json => return json(model, training, layout),
        Format::Text => ("train.txt", Notation::Text),
        Format::Markdown => ("train.md", Notation::Latex),
        Format::Latex => ("train.tex", Notation::Latex),
    };
    let mut view = view(model, training, format, notation, &layout.source_name);
    if let Some(section) = add_layers(&mut view, model, training, format, layout)? {
        return Ok(section);
    }
    let title = format!("Training on {}", latex_text(&layout.source_name));
    render_template(template, &view, Some(&title), layout)
}

/// The layer view's section and the run's findings into the view; with `--per-layer`, the
/// section alone is the document (returned).
fn add_layers(
    view: &mut TrainView,
    model: &Model,
    training: &Training,
    format: Format,
    layout: &Layout,
) -> Result<Option<String>, Diagnostic> {
    let section = match &training.layer_view {
        Some(v) => Some(crate::render::layer_view::render_section(
            model, v, format, layout,
        )?),
        None => None,
    };
    if training.per_layer
        && let Some(section) = section
    {
        return Ok(Some(section));
    }
    view.layer_view = section;
    let prose = |text: &str| match format {
        Format::Markdown => markdown_prose(text),
        Format::Latex => latex_prose(text),
        _ => text_prose(text),
    };
    let sentences = finding_sentences(model, &training.findings, layout)?;
    view.findings = training
        .findings
        .iter()
        .zip(sentences)
        .map(|(f, (message, remedy))| FindingView {
            kind: f.kind.code(),
            message: prose(&message),
            remedy: prose(&remedy),
        })
        .collect();
    Ok(None)
}

/// The run as one HTML page: the Markdown document with the loss curve drawn in it.
pub fn render_training_page(
    model: &Model,
    training: &Training,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let (markdown, figures) = markdown_with_curve(model, training, layout)?;
    html::page(
        &format!("Training on {}", layout.source_name),
        &markdown,
        &figures,
        "",
        layout,
    )
}

/// The run as the body of that page alone, to embed in another page or a notebook.
pub fn render_training_fragment(
    model: &Model,
    training: &Training,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let (markdown, figures) = markdown_with_curve(model, training, layout)?;
    html::fragment(&markdown, &figures)
}

/// The Markdown document with the loss curve's marker (and the per-layer norms' marker), and
/// the pictures to put there.
fn markdown_with_curve(
    model: &Model,
    training: &Training,
    layout: &Layout,
) -> Result<(String, Vec<Figure>), Diagnostic> {
    let mut view = view(
        model,
        training,
        Format::Markdown,
        Notation::Latex,
        &layout.source_name,
    );
    view.curve = Figure::marker("loss");
    if let Some(section) = add_layers(&mut view, model, training, Format::Markdown, layout)? {
        return Ok((section, Vec::new()));
    }
    let mut figures = vec![Figure {
        name: "loss",
        svg: loss_curve(training, model.name(model.cost)),
    }];
    if let Some(svg) = layer_curves(training) {
        view.layer_curve = Some(Figure::marker("layers"));
        figures.push(Figure {
            name: "layers",
            svg,
        });
    }
    let markdown = render_template("train.md", &view, None, layout)?;
    Ok((markdown, figures))
}

/// The loss curve alone (for `-o curve.svg`).
pub fn render_curve(model: &Model, training: &Training) -> String {
    loss_curve(training, model.name(model.cost))
}

fn view(
    model: &Model,
    training: &Training,
    format: Format,
    notation: Notation,
    source_name: &str,
) -> TrainView {
    let printer = FormulaPrinter::for_model(model);
    let prose = |text: &str| match format {
        Format::Markdown => markdown_text(text),
        Format::Latex => latex_text(text),
        _ => text.to_string(),
    };
    // Numbers are math in LaTeX; Markdown tables and text keep plain digits.
    let cell = |v: f64| match format {
        Format::Latex => number::latex(&number(v)),
        _ => number(v),
    };
    let name = |s: Sym| printer.name(s, notation);
    let run = training.epochs.len();
    let every = run.div_ceil(SHOWN_EPOCHS).max(1);
    let epochs = training
        .epochs
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + 1) % every == 0 || i + 1 == run || *i == 0)
        .map(|(i, e)| EpochView {
            epoch: (i + 1).to_string(),
            cost: cell(e.cost),
            gradient_norm: cell(e.gradient_norm),
        })
        .collect();
    let mut epoch_header = EpochView {
        epoch: "epoch".into(),
        cost: format!("mean {}", name(model.cost)),
        gradient_norm: "gradient norm".into(),
    };
    let mut epochs: Vec<EpochView> = epochs;
    // A matrix's cells are math in Markdown too.
    let matrix_cell = |v: f64| match format {
        Format::Text => number(v),
        _ => number::latex(&number(v)),
    };
    let keys: Vec<Key> = training
        .initial
        .iter()
        .map(|&(s, _)| Some((0, s)))
        .collect();
    let mut params = Vec::new();
    let mut arrays = Vec::new();
    for run in runs(model, &keys) {
        match run {
            Run::Row(i) => {
                let ((s, before), (_, after)) = (training.initial[i], training.params[i]);
                params.push(ParamView {
                    name: name(s),
                    initial: cell(before),
                    trained: cell(after),
                });
            }
            Run::Array { array, rows } => {
                // Both values in one grid, so that their columns line up with each other.
                let cells = training.initial[rows.clone()]
                    .iter()
                    .chain(&training.params[rows])
                    .map(|&(_, v)| matrix_cell(v))
                    .collect();
                let both = Shape::new(2 * array.shape.rows, array.shape.cols);
                let mut initial = arrays::grid(both, cells);
                let trained = initial.split_off(array.shape.rows as usize);
                arrays.push(ParamArrayView {
                    name: match format {
                        Format::Text => array.name.clone(),
                        _ => arrays::name_latex(array),
                    },
                    rows: array.shape.rows,
                    cols: array.shape.cols,
                    initial,
                    trained,
                });
            }
        }
    }
    let mut param_header = ParamView {
        name: "parameter".into(),
        initial: "start".into(),
        trained: "trained".into(),
    };
    // A large network's report is a summary: its parameters go to a values file.
    let big = training.layer_view.is_some()
        && training.params.len() > TABLE_LIMIT
        && !training.all_values;
    if big {
        params.clear();
        arrays.clear();
    }
    if format == Format::Text {
        pad(
            std::iter::once(&mut epoch_header)
                .chain(epochs.iter_mut())
                .map(|e| [&mut e.epoch, &mut e.cost, &mut e.gradient_norm])
                .collect(),
            false,
        );
        pad(
            std::iter::once(&mut param_header)
                .chain(params.iter_mut())
                .map(|p| [&mut p.name, &mut p.initial, &mut p.trained])
                .collect(),
            true,
        );
    }
    let outputs = training
        .outputs
        .iter()
        .enumerate()
        .take(SHOWN_EXAMPLES)
        .map(|(i, (inputs, out))| OutputView {
            inputs: if inputs.len() > SHOWN_INPUTS {
                match notation {
                    Notation::Text => format!("example {}", i + 1),
                    _ => format!("\\text{{example {}}}", i + 1),
                }
            } else {
                inputs
                    .iter()
                    .map(|&(s, v)| match notation {
                        Notation::Text => format!("{} = {}", name(s), number(v)),
                        _ => format!("{} = {}", name(s), number::latex(&number(v))),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            // A program that names its output shows it; otherwise the output layer.
            output: match training
                .predictions
                .get(i)
                .filter(|_| model.output.is_none())
            {
                Some(predicted) => {
                    let mut shown: Vec<String> = predicted
                        .iter()
                        .take(SHOWN_OUTPUTS)
                        .map(|&v| cell(v))
                        .collect();
                    if predicted.len() > SHOWN_OUTPUTS {
                        shown.push("…".into());
                    }
                    shown.join(", ")
                }
                None => cell(*out),
            },
        })
        .collect();
    let diverged = training.diverged.as_ref().map(|d| {
        diverged_view(model, d, |s| match format {
            Format::Text => name(s),
            _ => format!("${}$", name(s)),
        })
    });
    TrainView {
        source: prose(source_name),
        cost: name(model.cost),
        cost_name: prose(model.name(model.cost)),
        output: match training.predictions.is_empty() || model.output.is_some() {
            true => name(model.output.unwrap_or(model.cost)),
            false => match notation {
                Notation::Text => "the output layer".into(),
                _ => "\\text{the output layer}".into(),
            },
        },
        learning_rate: number(training.config.learning_rate),
        ascent: training.config.direction == Direction::Ascent,
        optimizer: training.config.optimizer.kind.code(),
        momentum: number(training.config.optimizer.momentum),
        beta1: number(training.config.optimizer.beta1),
        beta2: number(training.config.optimizer.beta2),
        eps: number(training.config.optimizer.eps),
        weight_decay: number(training.config.optimizer.weight_decay),
        decay: training.config.optimizer.weight_decay != 0.0,
        mode: if training.config.per_example {
            "per-example"
        } else {
            "batch"
        },
        shuffle: training.config.shuffle && training.config.per_example,
        init: init_word(training.config.init),
        seed: training.config.seed,
        examples: training.examples,
        epochs_asked: training.config.epochs,
        epochs_run: run,
        every,
        initial_cost: cell(training.initial_cost),
        final_cost: cell(
            training
                .epochs
                .last()
                .map_or(training.initial_cost, |e| e.cost),
        ),
        epoch_header,
        epochs,
        param_header,
        params,
        arrays,
        outputs,
        outputs_left: training.outputs.len().saturating_sub(SHOWN_EXAMPLES),
        diverged,
        curve: match format {
            Format::Markdown => loss_curve(training, model.name(model.cost)),
            _ => String::new(),
        },
        layer_curve: match format {
            Format::Markdown => layer_curves(training),
            _ => None,
        },
        layer_view: None,
        findings: Vec::new(),
        params_left: big.then(|| thousands(training.params.len())),
        accuracy: training
            .accuracy
            .map(|a| format!("{}%", significant(100.0 * a, 4))),
    }
}

/// Pads a text table: numbers right-aligned, the first column left-aligned when it holds
/// names, each column as wide as its widest cell.
fn pad(mut rows: Vec<[&mut String; 3]>, names_first: bool) {
    let mut widths = [0; 3];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in &mut rows {
        for (i, cell) in row.iter_mut().enumerate() {
            **cell = if i == 0 && names_first {
                format!("{:<w$}", cell, w = widths[i])
            } else {
                format!("{:>w$}", cell, w = widths[i])
            };
        }
    }
}

fn init_word(init: Init) -> &'static str {
    match init {
        Init::Zeros => "zeros",
        Init::Random => "random",
        Init::Xavier => "xavier",
        Init::He => "he",
    }
}

fn diverged_view(model: &Model, d: &Divergence, name: impl Fn(Sym) -> String) -> DivergedView {
    match *d {
        Divergence::NotFinite { epoch } => DivergedView {
            kind: "not-finite",
            epoch,
            ..Default::default()
        },
        Divergence::Ascent { from, to } => DivergedView {
            kind: "ascent",
            from: number(from),
            to: number(to),
            ..Default::default()
        },
        Divergence::RateTooLarge { from, to, rose_in } => DivergedView {
            kind: "rate-too-large",
            from: number(from),
            to: number(to),
            rose_in,
            ..Default::default()
        },
        Divergence::Saturated {
            neuron,
            epoch,
            cost,
        } => {
            // The pre-activation the neuron is applied to, when it is a name (`z2` of σ(z2)).
            let argument = model
                .definition(neuron)
                .and_then(|def| match model.graph.node(def) {
                    crate::core::expr::Node::Call(_, arg) => match model.graph.node(*arg) {
                        crate::core::expr::Node::Var(z) => Some(name(*z)),
                        _ => None,
                    },
                    _ => None,
                })
                .unwrap_or_default();
            DivergedView {
                kind: "saturated",
                epoch,
                neuron: name(neuron),
                argument,
                cost: number(cost),
                ..Default::default()
            }
        }
    }
}

/// The verdict's sentence from `train_words.txt`, for JSON's `diverged`.
fn diverged_message(
    model: &Model,
    training: &Training,
    d: &Divergence,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let printer = FormulaPrinter::for_model(model);
    let view = diverged_view(model, d, |s| printer.name(s, Notation::Text));
    let mut context = serde_json::to_value(&view).expect("plain data serialises");
    context["learning_rate"] = serde_json::json!(number(training.config.learning_rate));
    Ok(render_template("train_words.txt", &context, None, layout)?
        .trim()
        .to_string())
}

#[derive(Serialize)]
struct EpochJson {
    cost: f64,
    gradient_norm: f64,
    /// Each layer's gradient norm, for a program with layers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    layer_norms: Vec<f64>,
}

#[derive(Serialize)]
struct TrainJson {
    epochs: Vec<EpochJson>,
    /// The shape `[rows, columns]` of each parameter that is an array (a vector program).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    shapes: BTreeMap<String, [u32; 2]>,
    params: BTreeMap<String, Nested<f64>>,
    diverged: Option<String>,
    /// A stable code for `diverged`: ascent, rate-too-large, not-finite, saturated.
    diverged_kind: Option<&'static str>,
    initial_cost: f64,
    initial_params: BTreeMap<String, Nested<f64>>,
    learning_rate: f64,
    ascent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<serde_json::Value>,
    findings: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accuracy: Option<f64>,
    optimizer: OptimizerJson,
}

fn json(model: &Model, training: &Training, layout: &Layout) -> Result<String, Diagnostic> {
    let mut shapes = BTreeMap::new();
    let params = arrays::by_name(model, &training.params, &mut shapes);
    let initial_params = arrays::by_name(model, &training.initial, &mut shapes);
    let diverged = match &training.diverged {
        Some(d) => Some(diverged_message(model, training, d, layout)?),
        None => None,
    };
    // The layer view's findings after training, then the run's own.
    let (layers, mut findings) = match &training.layer_view {
        Some(view) => {
            let (layers, findings) = crate::render::layer_view::json(model, view, layout)?;
            let findings = match findings {
                serde_json::Value::Array(f) => f,
                _ => Vec::new(),
            };
            (Some(layers), findings)
        }
        None => (None, Vec::new()),
    };
    let sentences = finding_sentences(model, &training.findings, layout)?;
    findings.extend(
        training
            .findings
            .iter()
            .zip(sentences)
            .map(|(f, (m, r))| crate::render::layer_view::finding_json(model, f, &m, &r)),
    );
    let doc = TrainJson {
        epochs: training
            .epochs
            .iter()
            .map(|e| EpochJson {
                cost: e.cost,
                gradient_norm: e.gradient_norm,
                layer_norms: e.layer_norms.clone(),
            })
            .collect(),
        shapes,
        params,
        diverged,
        diverged_kind: training
            .diverged
            .as_ref()
            .map(|d| diverged_view(model, d, |_| String::new()).kind),
        initial_cost: training.initial_cost,
        initial_params,
        learning_rate: training.config.learning_rate,
        ascent: training.config.direction == Direction::Ascent,
        layers,
        findings,
        accuracy: training.accuracy,
        optimizer: OptimizerJson::of(&training.config.optimizer),
    };
    // NaN and infinities are not JSON: serde_json writes them as null.
    let mut text = serde_json::to_string_pretty(&doc).expect("plain data serialises");
    text.push('\n');
    Ok(text)
}

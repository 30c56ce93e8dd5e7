//! chainrule: symbolic backpropagation, explained step by step.
//!
//! The library is pure: it turns source text and a configuration into results and never
//! touches files or the terminal (the `chainrule` binary does the I/O). This page is the whole
//! public surface: load a network, derive, evaluate, check claims, descend, and the layered
//! derivation. Formulas in results are nodes of the model's expression graph; print them with
//! [`FormulaPrinter`].
//!
//! ```
//! use chainrule::{DeriveConfig, FormulaPrinter, TargetSpec};
//!
//! // The built-in example: x → σ(w2·x + b2) → σ(w3·a2 + b3), cost C = (y − a3)².
//! let mut model = chainrule::load(chainrule::BUILTIN_EXAMPLE)?;
//!
//! // ∂C/∂w3 with every chain-rule step, simplified in terms of the named intermediates.
//! let wrt = TargetSpec::List(vec!["w3".into()]);
//! let derived = chainrule::derive(&mut model, &wrt, &DeriveConfig::default())?;
//! let result = derived.derivations[0].result;
//! let printer = FormulaPrinter::for_model(&model);
//! assert_eq!(printer.plain(result), "-2(y - a3)*a3(1 - a3)*a2");
//!
//! // Its value at a point, in float64 and as a high-precision reference.
//! let at = chainrule::values(&model, "x=1.5, y=0, w2=0.8, b2=0.1, w3=-0.5, b3=0.2")?;
//! let targets = chainrule::targets(&model, &wrt)?;
//! let request = chainrule::EvalRequest { targets, ..Default::default() };
//! let report = chainrule::evaluate(&mut model, &at, &request)?;
//! assert!(report.derivatives[0].f64 > 0.0);
//!
//! // A student's claim with the factor a2 left out is incorrect, and says why.
//! let claims = vec!["dC/dw3 = -2(y - a3)*a3*(1 - a3)".to_string()];
//! let checked = chainrule::check(&model, &claims, &at)?;
//! assert_eq!(checked[0].verdict, chainrule::Verdict::Incorrect);
//!
//! // Three steps of gradient descent with η = 0.5 lower the cost.
//! let descent = chainrule::descend(&mut model, &at, 0.5, 3)?;
//! assert!(descent.steps[2].cost_after < descent.steps[0].cost);
//!
//! // BP1–BP4 in matrix form for a network written in the shorthand.
//! let layered = chainrule::layers("network 2-3-1\nactivation sigmoid\ncost quadratic")?;
//! assert!(layered.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The modules below the facade are the layers of the implementation (core ← lang ←
//! analysis ← render); they are public for the binary, the tests and the benchmarks, and are
//! not a stable interface.

#![warn(missing_docs)]

#[doc(hidden)]
pub mod analysis;
#[doc(hidden)]
pub mod core;
#[doc(hidden)]
pub mod lang;
#[doc(hidden)]
pub mod render;

#[cfg(feature = "python")]
mod python;

pub use crate::analysis::check::{
    CheckError, Checked, Diagnosis, MatrixProgram, Method, Mistake, ShapeEdit, ShapeReport, Verdict,
};
pub use crate::analysis::descent::{Descent, DescentStep};
pub use crate::analysis::init::Init;
pub use crate::analysis::layer_view::{Cause, Finding, FindingKind, LayerStats, LayerView};
pub use crate::analysis::numeric::{Report, Request as EvalRequest};
pub use crate::analysis::optimizer::{
    Hyperparameter, HyperparameterOutOfRange, HyperparameterRange, Hyperparameters, Optimizer,
    OptimizerKind, ParamState, State as OptimizerState,
};
pub use crate::analysis::train::{Direction, Divergence, Epoch, TrainConfig, Training};
pub use crate::analysis::warnings::{Warning, WarningKind};
pub use crate::core::diff::EXPAND_LIMIT;
pub use crate::core::diff::{
    Config as DeriveConfig, Derivation, Derivations, Rule, Step, Style, Target,
};
pub use crate::core::error::Span;
pub use crate::core::error::{Diagnostic, Input};
pub use crate::core::excerpt::visible_name;
pub use crate::core::expr::{Id, Sym};
/// What a name of a model is (input, target, parameter, intermediate, …), as
/// `model.symbol(sym).kind` gives it.
pub use crate::core::model::SymKind;
pub use crate::core::model::{Given, Model};
pub use crate::core::number::thousands;
pub use crate::lang::data::{DataSet, Overlap};
/// The derivation in matrix form of a vector program, or of a `network` shorthand's vector
/// form ([`layers`]).
pub use crate::lang::load::MatrixForm as Layered;
pub use crate::lang::load::{ArgumentError, BUILTIN_EXAMPLE, BUILTIN_NAME, TargetSpec, Value};
pub use crate::lang::load::{MatrixForm, caveats, expand_vector, split_items};
pub use crate::render::FormulaPrinter;
pub use crate::render::document::{Layout, TEMPLATES, TemplateWatch, templates_of};
pub use crate::render::graph::{GraphOptions, HIGHLIGHT_SCRIPT, LAYER_SCRIPT, svg as graph_svg};
pub use crate::render::html::{Figure, page as html_page};

/// Parses and lowers a `.bp` program (the `network` shorthand is expanded first).
pub fn load(source: &str) -> Result<Model, Diagnostic> {
    lang::load::load(source)
}

/// Parses `NAME=VALUE` pairs (separated by commas or newlines, as `--at` and values files
/// write them) against the model's names.
pub fn values(model: &Model, text: &str) -> Result<Vec<Given>, Diagnostic> {
    lang::load::parse_assignments(model, text)
}

/// The values a program gives by name as numbers (`[("w3".into(), Value::Number(0.5))]`), as
/// [`values`] reads them from text but without writing and parsing text; an error points into
/// the name at fault.
pub fn values_of(model: &Model, values: &[(String, Value)]) -> Result<Vec<Given>, ArgumentError> {
    lang::load::values_of(model, values)
}

/// The values a NumPy archive (`np.savez("weights.npz", W1=W1, b1=b1)`) gives the program's
/// names, each array under its name and its shape checked against the declaration (`file`
/// names the archive in messages); see [`is_npz`].
pub fn npz_values(model: &Model, file: &str, bytes: &[u8]) -> Result<Vec<Given>, Diagnostic> {
    lang::numpy::npz_values(model, file, bytes)
}

/// The values a NumPy file (`np.save("w1.npy", W1)`) gives the program's name `name`, its
/// shape checked against the declaration.
pub fn npy_values(
    model: &Model,
    file: &str,
    name: &str,
    bytes: &[u8],
) -> Result<Vec<Given>, Diagnostic> {
    lang::numpy::npy_values(model, file, name, bytes)
}

pub use crate::lang::numpy::{is_npy, is_npz};

/// Differentiates the cost (or any name, with `dY/dX` targets) with respect to the targets,
/// recording every step when the configuration asks for steps.
pub fn derive(
    model: &mut Model,
    wrt: &TargetSpec,
    config: &DeriveConfig,
) -> Result<Derivations, ArgumentError> {
    let targets = lang::load::targets(model, wrt)?;
    Ok(core::diff::derive(model, &targets, config))
}

/// Evaluates the forward pass, the cost and the requested derivatives and formulas at a point,
/// in float64 and as a high-precision reference, with every numerical warning.
pub fn evaluate(
    model: &mut Model,
    at: &[Given],
    request: &EvalRequest,
) -> Result<Report, Diagnostic> {
    analysis::numeric::evaluate(model, at, request)
}

/// Judges claimed derivatives, values and update rules; values in `at` give the point for value
/// claims and counterexamples (parse them against [`analysis::check::with_learning_rate`]'s
/// model when they give the learning rate `eta`).
pub fn check(model: &Model, claims: &[String], at: &[Given]) -> Result<Vec<Checked>, CheckError> {
    analysis::check::check(model, claims, at)
}

/// The tensor form of a program written with vectors and matrices, which judges claims in
/// matrix notation (`dW1 = 1/m * np.dot(dZ1, X.T)`); `None` for any other program.
pub fn matrix_program(source: &str) -> Result<Option<MatrixProgram>, Diagnostic> {
    analysis::check::matrix::MatrixProgram::from_source(source)
}

/// Judges every claim, each on its own: claims in matrix notation by `program` (when the
/// program has vectors and matrices), the others as [`check`] does; a claim that cannot be
/// read is an error in its place.
pub fn check_claims(
    program: Option<&MatrixProgram>,
    model: &Model,
    claims: &[String],
    at: &[Given],
) -> Vec<Result<Checked, CheckError>> {
    analysis::check::matrix::check_claims(program, model, claims, at, None)
}

/// [`check_claims`] for claims about `optimizer` (`check --optimizer`): every update rule is
/// judged against the update `step` takes with it, whatever names the rule uses, so that
/// momentum's step written where Nesterov's belongs is a mistake rather than another rule.
pub fn check_claims_for(
    optimizer: OptimizerKind,
    program: Option<&MatrixProgram>,
    model: &Model,
    claims: &[String],
    at: &[Given],
) -> Vec<Result<Checked, CheckError>> {
    analysis::check::matrix::check_claims(program, model, claims, at, Some(optimizer))
}

/// Runs `steps` steps of gradient descent θ ← θ − η ∂C/∂θ from the values in `start`.
pub fn descend(
    model: &mut Model,
    start: &[Given],
    learning_rate: f64,
    steps: usize,
) -> Result<Descent, Diagnostic> {
    analysis::descent::descend(model, start, learning_rate, steps)
}

/// [`descend`] with another optimizer's update rule (momentum, Nesterov, RMSProp, Adam), its
/// state reported after every step.
pub fn descend_with(
    model: &mut Model,
    start: &[Given],
    learning_rate: f64,
    steps: usize,
    optimizer: &Optimizer,
) -> Result<Descent, Diagnostic> {
    analysis::descent::descend_with(model, start, learning_rate, steps, optimizer)
}

/// The layered derivation (BP1–BP4 in matrix form, step by step) of a program written with
/// the `network` shorthand: the derivation of its vector form; `None` for a straight-line
/// program (which is read and checked all the same, so that its mistakes are reported
/// first).
pub fn layers(source: &str) -> Result<Option<Layered>, Diagnostic> {
    lang::load::layered(source)
}

/// The derivation in matrix form of a vector program's gradients (`derive --all` on a program
/// with shapes); `None` for a scalar program or the `network` shorthand.
pub fn matrix_form(source: &str) -> Result<Option<Layered>, Diagnostic> {
    lang::load::matrix_form(source)
}

/// Differentiates with respect to targets already found (by [`targets`]): [`derive()`] for a
/// caller that keeps the targets, to point into the text that named them.
pub fn derive_targets(model: &mut Model, targets: &[Target], config: &DeriveConfig) -> Derivations {
    core::diff::derive(model, targets, config)
}

/// The float64 value of every name at a point (the forward pass alone), in program order.
pub fn forward_values(model: &Model, at: &[Given]) -> Result<Vec<(Sym, f64)>, Diagnostic> {
    let point = analysis::numeric::forward(model, at)?;
    Ok(model
        .syms()
        .filter_map(|s| point.f64.get(&s).map(|&v| (s, v)))
        .collect())
}

/// The sentences, as a terminal writes them, of the values given outside the domains their
/// names are declared with (`x=1.5` for `input x in [0, 1]`): warnings, not refusals, since
/// every formula still has a value there. `eval` carries them among its own warnings.
pub fn domain_warnings(
    model: &Model,
    given: &[Given],
    layout: &Layout,
) -> Result<Vec<String>, Diagnostic> {
    let warnings = analysis::warnings::outside_domain(model, given);
    let sentences = render::warning::warning_messages(model, &warnings, &|_| None, layout)?;
    Ok(sentences
        .iter()
        .map(String::as_str)
        .map(render::escape::text_prose)
        .collect())
}

/// Refuses a value given to a name that is not an input, target or parameter, saying `why`
/// only those may start a run.
pub fn leaves_only(model: &Model, given: &[Given], why: &str) -> Result<(), Diagnostic> {
    analysis::init::leaves_only(model, given, why)
}

/// A values file: every input, target and parameter, one `name = value` a line, under the
/// `header` lines as comments (what `chainrule values` writes).
pub fn values_file(model: &Model, values: &[Given], header: &str) -> String {
    analysis::init::values_file(model, values, header)
}

/// A network too wide to draw name by name, drawn as one block a layer: the picture, the
/// page's section for each layer (with `values`, each layer's row of the layer view; the
/// picture goes where `marker` stands), and the parameters the page offers without a search
/// (each layer's first units), whose derivations it should hold. `None` for a network without
/// layers or narrow enough to draw name by name ([`graph_svg`]).
pub fn graph_layer_blocks(
    model: &mut Model,
    values: &std::collections::HashMap<Sym, f64>,
    marker: &str,
    layout: &Layout,
) -> Result<Option<(String, String, Vec<String>)>, Diagnostic> {
    let Some(layering) =
        analysis::layer_view::Layering::of(model).filter(|_| render::graph::too_wide(model))
    else {
        return Ok(None);
    };
    let picture = render::graph::layer_blocks(model, &layering);
    let view = if values.is_empty() {
        None
    } else {
        // The page derives nothing else for the view to reuse.
        let known = std::collections::HashMap::new();
        analysis::layer_view::LayerGradients::new(model, &known).map(|gradients| {
            let leaves: Vec<(Sym, f64)> = values
                .iter()
                .filter(|(s, _)| model.symbol(**s).kind.is_leaf())
                .map(|(s, v)| (*s, *v))
                .collect();
            gradients.view(model, &[leaves])
        })
    };
    let sections =
        render::layer_view::graph_sections(model, &layering, view.as_ref(), marker, layout)?;
    let offered = layering
        .layers
        .iter()
        .flat_map(|l| l.first_parameters())
        .map(|p| model.name(p).to_string())
        .collect();
    Ok(Some((picture, sections, offered)))
}

/// Whether the program has layers the layer view reads (the `network` shorthand, or names
/// that say their layer: `z2_1`, `a2_1`, `w2_1_1`, `b2_1`), two with parameters at least.
pub fn has_layers(model: &Model) -> bool {
    analysis::layer_view::Layering::of(model).is_some()
}

/// The loss curve of a training run as an SVG picture.
pub fn loss_curve(model: &Model, training: &Training) -> String {
    render::train::render_curve(model, training)
}

/// The derivatives a specification names (every parameter, or names and `dY/dX` pairs), for
/// [`EvalRequest::targets`]; an error points into the name that is not in the program.
pub fn targets(model: &Model, wrt: &TargetSpec) -> Result<Vec<Target>, ArgumentError> {
    lang::load::targets(model, wrt)
}

/// Reads a formula in the program's names (`--expr`) into the model, to evaluate it with
/// [`EvalRequest::exprs`].
pub fn formula(model: &mut Model, text: &str) -> Result<core::expr::Id, Diagnostic> {
    lang::load::parse_formula(model, text)
}

/// The parameters the values in `given` leave out, filled as `init` draws them from `seed`
/// (the values `eval`, `step`, `train` and `values` start from with `--init`).
pub fn initialise(model: &Model, given: &[Given], init: Init, seed: u64) -> Vec<Given> {
    analysis::init::fill(model, given, init, seed)
}

/// The names of the inputs, targets and parameters the cost needs that `given` leaves without
/// a value, and how many of them are inputs and targets.
pub fn unset_leaves(model: &Model, given: &[Given]) -> (Vec<String>, usize) {
    let data = analysis::init::unset_data(model, given).len();
    let names = analysis::init::unset_leaves(model, given)
        .into_iter()
        .map(|s| model.name(s).to_string())
        .collect();
    (names, data)
}

/// `given` with the inputs and targets it leaves out set to 0, and how many: only on request.
pub fn zero_data(model: &Model, given: &[Given]) -> (Vec<Given>, usize) {
    analysis::init::zero_data(model, given)
}

/// Names quoted for a message, cut after ten: "`a`, `b` and 24,600 more".
pub fn listed(names: &[&str]) -> String {
    analysis::numeric::list(names)
}

/// A values file of a training run's trained parameters (`name = value` a line), which reads
/// back with `--values`.
pub fn trained_values(model: &Model, training: &Training, header: &str) -> String {
    let mut text: String = header.lines().map(|l| format!("# {l}\n")).collect();
    text.push_str("\n# parameters\n");
    for &(sym, value) in &training.params {
        text.push_str(&format!("{} = {value:?}\n", model.name(sym)));
    }
    text
}

/// The model claims are read against: the program's names plus the learning rate `eta` (also
/// `η`) when the program does not define one. Parse the values given to [`check`] against it,
/// so that an update rule's rate can be given a value.
pub fn with_learning_rate(model: &Model) -> Model {
    analysis::check::with_learning_rate(model)
}

/// The training examples of a program's `data` block, if it has one; every input and target
/// needs a column.
pub fn training_data(source: &str, model: &Model) -> Result<Option<DataSet>, Diagnostic> {
    training_data_holding(source, model, &[], Overlap::Refused)
}

/// Training examples from CSV text: a header naming inputs and targets, one example a line;
/// every input and target needs a column.
pub fn csv_data(text: &str, model: &Model) -> Result<DataSet, Diagnostic> {
    csv_data_holding(text, model, &[], Overlap::Refused)
}

/// The examples of a program's `data` block, if it has one, with each input and target that
/// `given` has a value for held at it in every example (a column of its own where the data
/// has none; `overlap` says what a column of the same name means). Values of other names in
/// `given` are left to the caller.
pub fn training_data_holding(
    source: &str,
    model: &Model,
    given: &[Given],
    overlap: Overlap,
) -> Result<Option<DataSet>, Diagnostic> {
    lang::load::training_data(source, model, given, overlap)
}

/// Examples from CSV text, with the inputs and targets `given` has values for held at them, as
/// [`training_data_holding`] holds them.
pub fn csv_data_holding(
    text: &str,
    model: &Model,
    given: &[Given],
    overlap: Overlap,
) -> Result<DataSet, Diagnostic> {
    lang::data::parse_csv(text, model, given, overlap)
}

/// Trains the model on the examples from the given parameters (the rest filled as the
/// configuration's `init` draws them); `progress` is told each finished epoch.
pub fn train(
    model: &mut Model,
    data: &DataSet,
    start: &[Given],
    config: &TrainConfig,
    progress: impl FnMut(usize),
) -> Result<Training, Diagnostic> {
    analysis::train::train(model, data, start, config, progress)
}

/// The straight-line program a `network` shorthand stands for, as `chainrule expand` prints
/// it (a straight-line program comes back as it is).
pub fn expand(source: &str) -> Result<String, Diagnostic> {
    lang::load::expand(source)
}

/// The network's picture as an SVG document: every name a node, the given values shown in
/// them, and the paths from `highlight` (a parameter) to the cost drawn highlighted.
pub fn graph(model: &Model, values: &[Given], highlight: Option<&str>) -> String {
    let options = render::graph::GraphOptions {
        values: values.iter().map(|g| (g.sym, g.value)).collect(),
        highlight: highlight.and_then(|name| model.lookup(name)),
    };
    render::graph::svg(model, &options)
}

/// A result to render, with what its document needs from the model it came from.
pub enum Document<'a> {
    /// What [`derive()`] found, written in the given style.
    Derivations {
        /// The model the derivations were made in (they add named terms to it).
        model: &'a Model,
        /// The derivations.
        derivations: &'a Derivations,
        /// Chain-rule steps or backpropagation's error terms.
        style: Style,
    },
    /// What [`evaluate`] found.
    Evaluation {
        /// The model evaluated.
        model: &'a Model,
        /// The report.
        report: &'a Report,
    },
    /// The verdicts of [`check`].
    Checks(&'a [Checked]),
    /// The steps of [`descend`].
    Descent {
        /// The model descended.
        model: &'a Model,
        /// The steps.
        descent: &'a Descent,
    },
    /// A run of [`train`].
    Training {
        /// The model trained.
        model: &'a Model,
        /// The run.
        training: &'a Training,
    },
    /// The layered derivation of [`layers`].
    Layers(&'a Layered),
}

/// The formats a document is written in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DocumentFormat {
    /// Terminal text, formulas in Unicode.
    Text,
    /// Markdown with `$…$` math.
    Markdown,
    /// A LaTeX fragment (a whole document with [`Layout::standalone`]).
    Latex,
    /// One JSON document (the fields docs/json.md lists).
    Json,
    /// One self-contained HTML page, math as MathML, nothing loaded from the network.
    Html,
    /// The HTML page's body alone (the same MathML), to embed in another page or a notebook.
    HtmlFragment,
}

/// Writes a result as a document in the format asked for, laid out by the templates (the
/// built-in ones, or those `layout` overrides).
pub fn render(
    document: &Document<'_>,
    format: DocumentFormat,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    use render::document::Format;
    let written = match format {
        DocumentFormat::Text => Format::Text,
        DocumentFormat::Markdown | DocumentFormat::Html | DocumentFormat::HtmlFragment => {
            Format::Markdown
        }
        DocumentFormat::Latex => Format::Latex,
        DocumentFormat::Json => Format::Json,
    };
    if let Document::Training { model, training } = *document {
        match format {
            DocumentFormat::Html => {
                return render::train::render_training_page(model, training, layout);
            }
            DocumentFormat::HtmlFragment => {
                return render::train::render_training_fragment(model, training, layout);
            }
            _ => {}
        }
    }
    let text = match *document {
        Document::Derivations {
            model,
            derivations,
            style,
        } => render::document::render_derivations(model, derivations, style, written, layout)?,
        Document::Evaluation { model, report } => {
            render::eval::render_eval(model, report, written, layout)?
        }
        Document::Checks(checked) => render::check::render_check(checked, written, layout)?,
        Document::Descent { model, descent } => {
            render::step::render_descent(model, descent, written, layout)?
        }
        Document::Training { model, training } => {
            render::train::render_training(model, training, written, layout)?
        }
        Document::Layers(layered) => render::matrix_form::render(layered, written, layout)?,
    };
    match format {
        DocumentFormat::Html => render::html::markdown_page(&text, layout),
        DocumentFormat::HtmlFragment => render::html::fragment(&text, &[]),
        _ => Ok(text),
    }
}

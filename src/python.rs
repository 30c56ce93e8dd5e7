//! The Python module `chainrule._native` (feature `python`, built by maturin): thin PyO3
//! classes over the facade in `lib.rs`. A [`Network`] holds a loaded program; each command
//! returns an [`Outcome`] that keeps the library's result and renders it on demand in any
//! format, so Python's `to_dict()` is the JSON the command line prints and the notebook
//! displays are the same documents. No logic of the library is repeated here: values arrive as
//! numbers by name (a dict of floats, lists and NumPy arrays) or as the `name=value` text the
//! command line reads; claims as text; data as the CSV the Python layer
//! (`python/chainrule/__init__.py`) writes from columns.

use pyo3::create_exception;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString, PyTuple};

use crate::{
    Checked, Derivations, DeriveConfig, Descent, Diagnostic, Direction, Document, DocumentFormat,
    EvalRequest, Given, HyperparameterRange, Hyperparameters, Init, Layered, Layout, Model,
    Optimizer, OptimizerKind, Report, Style, TargetSpec, TrainConfig, Training, Value,
};

create_exception!(
    _native,
    ChainruleError,
    PyValueError,
    "Bad input to chainrule: the message is the diagnostic with its caret, as the command line prints it."
);

/// A diagnostic as the command line prints it, pointing into `text` (named `name`).
fn failed(diagnostic: &Diagnostic, name: &str, text: &str) -> PyErr {
    let mut diagnostic = diagnostic.clone();
    // The library names what is wrong; which argument gives it is the package's to say.
    if let Some(input) = diagnostic.input {
        let how = match input {
            crate::Input::Point => "the values are the `at` argument (`init` draws the parameters)",
            crate::Input::LearningRate => "the learning rate is the `lr` argument",
            crate::Input::Targets => "the derivatives are asked for with the `wrt` argument",
        };
        diagnostic.help = Some(match diagnostic.help {
            Some(help) => format!("{help}; {how}").into(),
            None => how.into(),
        });
    }
    ChainruleError::new_err(diagnostic.render(name, text, false))
}

/// A loaded program.
#[pyclass(unsendable, module = "chainrule._native")]
pub struct Network {
    source: String,
    name: String,
    model: Model,
}

/// What a command produced, kept whole so that it can be written in every format.
// One lives per Python result; the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Held {
    Derivations {
        model: Box<Model>,
        derivations: Derivations,
        style: Style,
    },
    Evaluation {
        model: Box<Model>,
        report: Report,
    },
    Checks(Vec<Checked>),
    Descent {
        model: Box<Model>,
        descent: Descent,
    },
    Training {
        model: Box<Model>,
        training: Training,
    },
    Layers(Box<Layered>),
}

/// A command's result.
#[pyclass(unsendable, module = "chainrule._native")]
pub struct Outcome {
    held: Held,
    name: String,
}

fn format_named(format: &str) -> PyResult<DocumentFormat> {
    Ok(match format {
        "text" => DocumentFormat::Text,
        "markdown" => DocumentFormat::Markdown,
        "latex" => DocumentFormat::Latex,
        "json" => DocumentFormat::Json,
        "html" => DocumentFormat::Html,
        "html-fragment" => DocumentFormat::HtmlFragment,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown format `{other}`: text, markdown, latex, json, html or html-fragment"
            )));
        }
    })
}

fn init_named(init: &str) -> PyResult<Init> {
    Ok(match init {
        "zeros" => Init::Zeros,
        "random" => Init::Random,
        "xavier" => Init::Xavier,
        "he" => Init::He,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown init `{other}`: zeros, random, xavier or he"
            )));
        }
    })
}

#[pymethods]
impl Outcome {
    /// The command whose result this is: derive, eval, check, step, train or layers.
    #[getter]
    fn command(&self) -> &'static str {
        match self.held {
            Held::Derivations { .. } => "derive",
            Held::Evaluation { .. } => "eval",
            Held::Checks(_) => "check",
            Held::Descent { .. } => "step",
            Held::Training { .. } => "train",
            Held::Layers(_) => "layers",
        }
    }

    /// The result as a document: `text`, `markdown`, `latex`, `json`, `html` (a whole page)
    /// or `html-fragment` (its body, for a notebook); `standalone` makes LaTeX a document.
    #[pyo3(signature = (format, standalone = false))]
    fn render(&self, format: &str, standalone: bool) -> PyResult<String> {
        let layout = Layout {
            standalone,
            source_name: self.name.clone(),
            ..Layout::default()
        };
        let document = match &self.held {
            Held::Derivations {
                model,
                derivations,
                style,
            } => Document::Derivations {
                model,
                derivations,
                style: *style,
            },
            Held::Evaluation { model, report } => Document::Evaluation { model, report },
            Held::Checks(checked) => Document::Checks(checked),
            Held::Descent { model, descent } => Document::Descent { model, descent },
            Held::Training { model, training } => Document::Training { model, training },
            Held::Layers(layered) => Document::Layers(layered),
        };
        crate::render(&document, format_named(format)?, &layout)
            .map_err(|d| failed(&d, "<template>", ""))
    }

    /// Whether every claim checked is correct (`None` for other commands).
    #[getter]
    fn all_correct(&self) -> Option<bool> {
        match &self.held {
            Held::Checks(checked) => {
                Some(checked.iter().all(|c| c.verdict == crate::Verdict::Correct))
            }
            _ => None,
        }
    }
}

/// The optimizer named `name` (`sgd`, `momentum`, `nesterov`, `rmsprop`, `adam`).
fn optimizer_kind(name: &str) -> PyResult<OptimizerKind> {
    OptimizerKind::from_code(name).ok_or_else(|| {
        let codes: Vec<&str> = OptimizerKind::ALL.iter().map(|k| k.code()).collect();
        PyValueError::new_err(format!("unknown optimizer `{name}`: {}", codes.join(", ")))
    })
}

/// The optimizer `step` and `train` move the parameters with, as the Python layer passes it: a
/// dict of its name and the hyperparameters given (`None`: PyTorch's default, as
/// [`Optimizer::with_defaults`] has it).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct OptimizerChoice {
    name: String,
    momentum: Option<f64>,
    beta1: Option<f64>,
    beta2: Option<f64>,
    eps: Option<f64>,
    weight_decay: Option<f64>,
}

impl OptimizerChoice {
    /// The optimizer with its defaults filled in; a hyperparameter outside its range (a decay
    /// rate outside [0, 1), a negative ε or weight decay) is refused, naming the argument.
    fn optimizer(&self) -> PyResult<Optimizer> {
        let given = Hyperparameters {
            momentum: self.momentum,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
        };
        Optimizer::with_hyperparameters(optimizer_kind(&self.name)?, &given).map_err(|refused| {
            let (name, value) = (refused.hyperparameter.code(), refused.value);
            PyValueError::new_err(match refused.range() {
                HyperparameterRange::DecayRate => {
                    format!("`{name}` is a decay rate, at least 0 and below 1, not {value}")
                }
                HyperparameterRange::NonNegative => {
                    format!("`{name}` must be 0 or more, not {value}")
                }
            })
        })
    }
}

/// The optimizer chosen, plain gradient descent when none is.
fn optimizer_of(choice: Option<OptimizerChoice>) -> PyResult<Optimizer> {
    choice.map_or(Ok(Optimizer::sgd()), |c| c.optimizer())
}

/// One number of a value: a float or an int (NumPy's scalars among them), never a bool.
fn number(item: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    if let Ok(x) = item.cast::<PyFloat>() {
        return Ok(x.value());
    }
    if item.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "the value of `{name}` must be a number, not a bool"
        )));
    }
    item.extract::<f64>().map_err(|_| {
        PyTypeError::new_err(format!(
            "the value of `{name}` must be a number, a list of numbers, a list of rows or a \
             NumPy array, not {}",
            item.get_type()
        ))
    })
}

/// A value of the `at` dict: a number, a list (a vector's entries, or a matrix's rows) or a
/// NumPy array (read through its `tolist`).
fn value(item: &Bound<'_, PyAny>, name: &str) -> PyResult<Value> {
    if item.is_instance_of::<PyFloat>() {
        return number(item, name).map(Value::Number);
    }
    if item.hasattr("tolist")? {
        return value(&item.call_method0("tolist")?, name);
    }
    if !(item.is_instance_of::<PyList>() || item.is_instance_of::<PyTuple>()) {
        return number(item, name).map(Value::Number);
    }
    let entries: Vec<Bound<'_, PyAny>> = item.try_iter()?.collect::<PyResult<_>>()?;
    let nested = entries
        .first()
        .is_some_and(|e| e.is_instance_of::<PyList>() || e.is_instance_of::<PyTuple>());
    if nested {
        let rows = entries
            .iter()
            .map(|row| {
                row.try_iter()?
                    .map(|cell| number(&cell?, name))
                    .collect::<PyResult<Vec<f64>>>()
            })
            .collect::<PyResult<_>>()?;
        return Ok(Value::Matrix(rows));
    }
    let cells = entries.iter().map(|cell| number(cell, name));
    Ok(Value::Vector(cells.collect::<PyResult<_>>()?))
}

impl Network {
    /// The values `at` gives: a dict of numbers, lists and arrays by name, `name=value` text
    /// as the command line reads it, or nothing (`None`).
    fn given(&self, model: &Model, at: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Given>> {
        let Some(at) = at else {
            return Ok(Vec::new());
        };
        if let Ok(text) = at.cast::<PyString>() {
            let text = text.to_str()?;
            return crate::values(model, text).map_err(|d| failed(&d, "at", text));
        }
        let dict = at.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err("`at` must be a dict of values by name, or `name=value` text")
        })?;
        let mut values = Vec::with_capacity(dict.len());
        for (name, item) in dict.iter() {
            let name: String = name.extract()?;
            let value = value(&item, &name)?;
            values.push((name, value));
        }
        crate::values_of(model, &values).map_err(|e| failed(&e.diagnostic, "at", &e.argument))
    }

    fn filled(
        &self,
        at: Option<&Bound<'_, PyAny>>,
        init: Option<&str>,
        seed: u64,
    ) -> PyResult<Vec<Given>> {
        let given = self.given(&self.model, at)?;
        Ok(match init {
            Some(init) => crate::initialise(&self.model, &given, init_named(init)?, seed),
            None => given,
        })
    }

    fn targets(&self, wrt: Option<Vec<String>>) -> PyResult<Vec<crate::Target>> {
        let spec = match wrt {
            Some(names) => TargetSpec::List(names),
            None => TargetSpec::AllParams,
        };
        crate::targets(&self.model, &spec).map_err(|e| failed(&e.diagnostic, "wrt", &e.argument))
    }

    fn outcome(&self, held: Held) -> Outcome {
        Outcome {
            held,
            name: self.name.clone(),
        }
    }
}

#[pymethods]
impl Network {
    /// The program's source text.
    #[getter]
    fn source(&self) -> &str {
        &self.source
    }

    /// The names of the program's parameters, in program order.
    #[getter]
    fn params(&self) -> Vec<String> {
        self.model
            .params()
            .map(|p| self.model.name(p).to_string())
            .collect()
    }

    /// The names that take values (inputs, targets and parameters), in program order.
    #[getter]
    fn leaves(&self) -> Vec<String> {
        self.model
            .syms()
            .filter(|&s| self.model.symbol(s).kind.is_leaf())
            .map(|s| self.model.name(s).to_string())
            .collect()
    }

    /// The derivatives of the cost with respect to `wrt` (every parameter when `None`).
    #[pyo3(signature = (wrt = None, style = "chain", expand = false, steps = true))]
    fn derive(
        &self,
        wrt: Option<Vec<String>>,
        style: &str,
        expand: bool,
        steps: bool,
    ) -> PyResult<Outcome> {
        let style = match style {
            "chain" => Style::Chain,
            "backprop" => Style::Backprop,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown style `{other}`: chain or backprop"
                )));
            }
        };
        let mut model = self.model.clone();
        let spec = match wrt {
            Some(names) => TargetSpec::List(names),
            None => TargetSpec::AllParams,
        };
        let config = DeriveConfig {
            style,
            expand,
            steps,
            expand_if_small: true,
        };
        let derivations = crate::derive(&mut model, &spec, &config)
            .map_err(|e| failed(&e.diagnostic, "wrt", &e.argument))?;
        Ok(self.outcome(Held::Derivations {
            model: Box::new(model),
            derivations,
            style,
        }))
    }

    /// The forward values, the cost and the derivatives at a point (`at`: a dict of values by
    /// name, or `name=value` lines), in float64 and as a high-precision reference, with every
    /// numerical warning.
    #[pyo3(signature = (at = None, wrt = None, exprs = Vec::new(), stable = false, init = None, seed = 1))]
    fn evaluate(
        &self,
        at: Option<&Bound<'_, PyAny>>,
        wrt: Option<Vec<String>>,
        exprs: Vec<String>,
        stable: bool,
        init: Option<&str>,
        seed: u64,
    ) -> PyResult<Outcome> {
        let given = self.filled(at, init, seed)?;
        let targets = self.targets(wrt)?;
        let mut model = self.model.clone();
        let mut formulas = Vec::new();
        for text in exprs {
            let id = crate::formula(&mut model, &text).map_err(|d| failed(&d, "expr", &text))?;
            formulas.push((text, id));
        }
        let request = EvalRequest {
            targets,
            exprs: formulas,
            stable,
            ..Default::default()
        };
        let report =
            crate::evaluate(&mut model, &given, &request).map_err(|d| failed(&d, "at", ""))?;
        Ok(self.outcome(Held::Evaluation {
            model: Box::new(model),
            report,
        }))
    }

    /// Judges claims (derivatives, values, update rules; plain or LaTeX); `at` gives the
    /// point for value claims and counterexamples, the learning rate `eta` included. With an
    /// `optimizer`, every update rule is judged against that optimizer's update.
    #[pyo3(signature = (claims, at = None, optimizer = None))]
    fn check(
        &self,
        claims: Vec<String>,
        at: Option<&Bound<'_, PyAny>>,
        optimizer: Option<&str>,
    ) -> PyResult<Outcome> {
        let model = crate::with_learning_rate(&self.model);
        let given = self.given(&model, at)?;
        let checked = match optimizer {
            Some(name) => {
                crate::check_claims_for(optimizer_kind(name)?, None, &model, &claims, &given)
                    .into_iter()
                    .collect()
            }
            None => crate::check(&model, &claims, &given),
        }
        .map_err(|e| failed(&e.diagnostic, "claim", &claims[e.index]))?;
        Ok(self.outcome(Held::Checks(checked)))
    }

    /// `steps` steps of gradient descent (or of `optimizer`'s update) with learning rate `lr`
    /// from the point `at`.
    #[pyo3(signature = (at, lr, steps = 1, init = None, seed = 1, optimizer = None))]
    fn step(
        &self,
        at: Option<&Bound<'_, PyAny>>,
        lr: f64,
        steps: usize,
        init: Option<&str>,
        seed: u64,
        optimizer: Option<OptimizerChoice>,
    ) -> PyResult<Outcome> {
        let optimizer = optimizer_of(optimizer)?;
        let given = self.filled(at, init, seed)?;
        let mut model = self.model.clone();
        let descent = crate::descend_with(&mut model, &given, lr, steps, &optimizer)
            .map_err(|d| failed(&d, "at", ""))?;
        Ok(self.outcome(Held::Descent {
            model: Box::new(model),
            descent,
        }))
    }

    /// Trains on CSV examples (`data`, a header naming inputs and targets) or, without them,
    /// the program's `data` block; the parameters move by `optimizer`'s update (plain
    /// gradient descent when `None`).
    #[pyo3(signature = (data = None, at = None, epochs = 1000, lr = 0.5, batch = false,
                        shuffle = false, ascent = false, init = "random", seed = 1,
                        optimizer = None))]
    #[allow(clippy::too_many_arguments)]
    fn train(
        &self,
        data: Option<&str>,
        at: Option<&Bound<'_, PyAny>>,
        epochs: usize,
        lr: f64,
        batch: bool,
        shuffle: bool,
        ascent: bool,
        init: &str,
        seed: u64,
        optimizer: Option<OptimizerChoice>,
    ) -> PyResult<Outcome> {
        let optimizer = optimizer_of(optimizer)?;
        let mut model = self.model.clone();
        // An input or target the data has no column for (an l2 network's `lambda` and `n`)
        // may be given by `at`, held for every example, as the command line holds it.
        let given = self.given(&model, at)?;
        let overlap = crate::Overlap::Refused;
        let examples = match data {
            Some(csv) => crate::csv_data_holding(csv, &model, &given, overlap)
                .map_err(|d| failed(&d, "data", csv))?,
            None => crate::training_data_holding(&self.source, &model, &given, overlap)
                .map_err(|d| failed(&d, &self.name, &self.source))?
                .ok_or_else(|| {
                    ChainruleError::new_err(format!(
                        "{} has no training data: give `data` (a dict of columns, or CSV text) \
                         or write a `data` block in the program",
                        self.name
                    ))
                })?,
        };
        let given = examples.left_out(given);
        let config = TrainConfig {
            epochs,
            learning_rate: lr,
            direction: if ascent {
                Direction::Ascent
            } else {
                Direction::Descent
            },
            per_example: !batch,
            shuffle,
            init: init_named(init)?,
            seed,
            optimizer,
        };
        let training = crate::train(&mut model, &examples, &given, &config, |_| {})
            .map_err(|d| failed(&d, "at", ""))?;
        Ok(self.outcome(Held::Training {
            model: Box::new(model),
            training,
        }))
    }

    /// BP1–BP4 for a network written in the `network` shorthand (`None` for a straight-line
    /// program).
    fn layers(&self) -> PyResult<Option<Outcome>> {
        let layered =
            crate::layers(&self.source).map_err(|d| failed(&d, &self.name, &self.source))?;
        Ok(layered.map(|l| self.outcome(Held::Layers(Box::new(l)))))
    }

    /// The straight-line program a `network` shorthand stands for.
    fn expand(&self) -> PyResult<String> {
        crate::expand(&self.source).map_err(|d| failed(&d, &self.name, &self.source))
    }

    /// The network's picture as SVG, values from `at` shown in the nodes, the paths from the
    /// parameter `highlight` to the cost highlighted.
    #[pyo3(signature = (at = None, highlight = None))]
    fn graph(&self, at: Option<&Bound<'_, PyAny>>, highlight: Option<&str>) -> PyResult<String> {
        let given = self.given(&self.model, at)?;
        if let Some(name) = highlight.filter(|n| self.model.lookup(n).is_none()) {
            return Err(ChainruleError::new_err(format!(
                "`{name}` is not a name of {}",
                self.name
            )));
        }
        Ok(crate::graph(&self.model, &given, highlight))
    }
}

/// Reads a program (`source` is its text; `name` names it in headings and diagnostics).
#[pyfunction]
#[pyo3(signature = (source, name = "<program>"))]
fn load(source: &str, name: &str) -> PyResult<Network> {
    let model = crate::load(source).map_err(|d| failed(&d, name, source))?;
    Ok(Network {
        source: source.to_string(),
        name: name.to_string(),
        model,
    })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_class::<Network>()?;
    m.add_class::<Outcome>()?;
    m.add("ChainruleError", m.py().get_type::<ChainruleError>())?;
    m.add("BUILTIN_EXAMPLE", crate::BUILTIN_EXAMPLE)?;
    m.add("BUILTIN_NAME", crate::BUILTIN_NAME)?;
    Ok(())
}

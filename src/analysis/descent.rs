//! Gradient descent: θ ← θ − η ∂C/∂θ for every parameter at once, step by step, or the
//! step of another optimizer (momentum, Nesterov, RMSProp, Adam: `optimizer`).
//!
//! The gradients are derived symbolically once (in the model's names, intermediates included)
//! and evaluated in float64 at each step's point; every gradient is taken at the start of the
//! step, before any parameter changes, as Mazur's worked example does. Each step records the
//! cost and gradients at its start, the parameters after it, and whether the cost rose. The
//! descent stops early when a parameter or the cost stops being a finite number.

use std::collections::{HashMap, HashSet};

use crate::analysis::numeric::{self, Point};
use crate::analysis::optimizer::{Optimizer, ParamState, State, decayed_parameters};
use crate::core::diff::{Config, Target};
use crate::core::error::{Diagnostic, Input, Result};
use crate::core::expr::{Id, Sym};
use crate::core::model::Given;
use crate::core::model::{Model, SymKind};
use crate::lang::load::{self, TargetSpec};

/// One step of gradient descent.
#[derive(Clone, Debug, PartialEq)]
pub struct DescentStep {
    /// The cost at the start of the step.
    pub cost: f64,
    /// ∂C/∂θ for every parameter, at the start of the step, in declaration order.
    pub gradients: Vec<(Sym, f64)>,
    /// The parameters at the start of the step.
    pub params_before: Vec<(Sym, f64)>,
    /// The parameters after the step: θ − η ∂C/∂θ.
    pub params_after: Vec<(Sym, f64)>,
    /// The cost at the new parameters.
    pub cost_after: f64,
    /// Whether the cost after the step is higher than before it.
    pub cost_rose: bool,
    /// Each parameter's optimizer state after the step (velocity, moments), in declaration
    /// order; empty when summarised.
    pub state: Vec<ParamState>,
    /// Whether the step's parameters and gradients were left out (the vectors above are
    /// empty): a long run on a large network keeps only its first and last steps' tables.
    pub summarised: bool,
}

/// The most parameter rows a run keeps (steps × parameters). Past it, only the first and the
/// last step keep their tables and the others their costs: every table of 100 steps of a
/// 784-30-10 network held more than 2 GiB.
pub const TABLE_ROWS: usize = 250_000;

/// A run of gradient descent.
#[derive(Clone, Debug, PartialEq)]
pub struct Descent {
    pub learning_rate: f64,
    pub optimizer: Optimizer,
    pub steps: Vec<DescentStep>,
    /// Set when the run stopped early because a parameter or the cost became infinite or NaN.
    pub diverged: bool,
    /// Set when the cost or a gradient was not finite at the starting point already: no
    /// learning rate fixes that.
    pub not_finite_start: bool,
    /// The gradient layer by layer at the starting point, for a program with layers.
    pub layer_view: Option<crate::analysis::layer_view::LayerView>,
    /// How many inputs and targets were set to 0 on request.
    pub inputs_zeroed: usize,
    /// Show only the layer view.
    pub per_layer: bool,
    /// List every parameter even for a large network.
    pub all_values: bool,
    /// The values given outside the domains their names are declared with (`x=1.5` for
    /// `input x in [0, 1]`): the run starts from them all the same.
    pub start_warnings: Vec<crate::analysis::warnings::Warning>,
}

/// Runs `steps` steps of gradient descent from the given values with learning rate η.
///
/// `start` must give every input, target and parameter a value (as `--at` does); values for
/// computed names are refused, since descent moves the parameters and recomputes everything
/// downstream of them.
pub fn descend(
    model: &mut Model,
    start: &[Given],
    learning_rate: f64,
    steps: usize,
) -> Result<Descent> {
    descend_with(model, start, learning_rate, steps, &Optimizer::sgd())
}

/// [`descend`] with the given optimizer's update rule in place of plain descent.
pub fn descend_with(
    model: &mut Model,
    start: &[Given],
    learning_rate: f64,
    steps: usize,
    optimizer: &Optimizer,
) -> Result<Descent> {
    if !(learning_rate.is_finite() && learning_rate > 0.0) {
        return Err(Diagnostic::new(format!(
            "the learning rate must be a positive number, not {learning_rate}"
        ))
        .with_help("give a small positive rate such as 0.5")
        .about(Input::LearningRate));
    }
    check_start(model, start)?;
    let gradients = Gradients::new(model);
    let params = gradients.params.clone();

    let mut leaves: Vec<(Sym, f64)> = start.iter().map(|g| (g.sym, g.value)).collect();
    let layer_view =
        crate::analysis::layer_view::LayerGradients::new(model, &gradients.known(model))
            .map(|lg| lg.view(model, std::slice::from_ref(&leaves)));
    // The first point goes through the checked forward pass (it names missing values); the
    // reference is not needed to descend.
    let mut point = numeric::forward_float64(model, start)?;
    numeric::one_hot_holds(model, &point)?;
    let mut out = Vec::with_capacity(steps.min(1 << 16));
    let mut diverged = false;
    let mut not_finite_start = false;
    let summarise = params.len().saturating_mul(steps) > TABLE_ROWS;
    let decays = decayed_parameters(model, &params);
    let mut state = State::new(params.len());
    for i in 0..steps {
        let cost = point.f64[&model.cost];
        let grads = gradients.at(model, &point);
        let params_before: Vec<(Sym, f64)> = params.iter().map(|p| (*p, point.f64[p])).collect();
        let values: Vec<f64> = params_before.iter().map(|&(_, v)| v).collect();
        let (moved, param_states) =
            optimizer.step(&mut state, learning_rate, &values, &grads, &decays);
        let params_after: Vec<(Sym, f64)> = params.iter().copied().zip(moved).collect();
        let after: HashMap<Sym, f64> = params_after.iter().copied().collect();
        for (sym, value) in &mut leaves {
            if let Some(&v) = after.get(sym) {
                *value = v;
            }
        }
        point = Point::float64(model, &leaves);
        let cost_after = point.f64[&model.cost];
        let finite = cost_after.is_finite() && params_after.iter().all(|(_, v)| v.is_finite());
        out.push(DescentStep {
            cost,
            gradients: params.iter().copied().zip(grads).collect(),
            params_before,
            params_after,
            cost_after,
            cost_rose: cost_after > cost,
            state: param_states,
            summarised: false,
        });
        if out.len() == 1 && !(cost.is_finite() && out[0].gradients.iter().all(|g| g.1.is_finite()))
        {
            not_finite_start = true;
        }
        if !finite || not_finite_start {
            diverged = true;
            break;
        }
        if summarise && i > 0 && i + 1 < steps {
            let step = out.last_mut().expect("a step was just taken");
            step.gradients = Vec::new();
            step.params_before = Vec::new();
            step.params_after = Vec::new();
            step.state = Vec::new();
            step.summarised = true;
        }
    }
    Ok(Descent {
        learning_rate,
        optimizer: *optimizer,
        steps: out,
        diverged,
        not_finite_start,
        layer_view,
        inputs_zeroed: 0,
        per_layer: false,
        all_values: false,
        start_warnings: crate::analysis::warnings::outside_domain(model, start),
    })
}

/// The parameters after `steps` steps of gradient descent in which every step after the first
/// moves along the gradient taken at the start of the step before, not at its own start: the
/// stale-gradient mistake `check` recognises (for two steps, θ'' = θ' − η ∇C(θ)). `None` when a
/// value stops being a finite number on the way.
pub fn descend_with_stale_gradient(
    model: &mut Model,
    start: &[Given],
    learning_rate: f64,
    steps: usize,
) -> Result<Option<Vec<(Sym, f64)>>> {
    check_start(model, start)?;
    let gradients = Gradients::new(model);
    let mut leaves: Vec<(Sym, f64)> = start.iter().map(|g| (g.sym, g.value)).collect();
    let mut point = numeric::forward(model, start)?;
    let mut previous: Option<Vec<f64>> = None;
    for _ in 0..steps {
        let current = gradients.at(model, &point);
        let used = previous.as_ref().unwrap_or(&current);
        for (p, g) in gradients.params.iter().zip(used) {
            if let Some((_, value)) = leaves.iter_mut().find(|(s, _)| s == p) {
                *value -= learning_rate * g;
            }
        }
        if leaves.iter().any(|(_, v)| !v.is_finite()) {
            return Ok(None);
        }
        previous = Some(current);
        point = Point::float64(model, &leaves);
    }
    Ok(Some(
        gradients
            .params
            .iter()
            .map(|p| (*p, point.f64[p]))
            .collect(),
    ))
}

/// ∂C/∂θ for every parameter, derived symbolically once and evaluated in float64 at any point:
/// the gradient `step` and `train` descend along.
pub struct Gradients {
    /// The parameters, in declaration order.
    pub params: Vec<Sym>,
    /// Each parameter's derivative as a formula of the model's names.
    pub roots: Vec<Id>,
}

impl Gradients {
    pub fn new(model: &mut Model) -> Gradients {
        let params: Vec<Sym> = model.params().collect();
        let targets = load::targets(model, &TargetSpec::AllParams)
            .expect("every parameter is a valid target");
        let config = Config {
            steps: false,
            ..Default::default()
        };
        let derivations = crate::core::diff::derive(model, &targets, &config);
        let gradient_of: HashMap<Sym, Id> = derivations
            .derivations
            .iter()
            .map(|d| (d.target.wrt, d.result))
            .collect();
        let roots = params.iter().map(|p| gradient_of[p]).collect();
        Gradients { params, roots }
    }

    /// Each parameter's derivative by its target `∂C/∂θ`, for a view that reads the same
    /// gradients (the layer view).
    pub fn known(&self, model: &Model) -> HashMap<Target, Id> {
        self.params
            .iter()
            .zip(&self.roots)
            .map(|(&wrt, &root)| {
                (
                    Target {
                        of: model.cost,
                        wrt,
                    },
                    root,
                )
            })
            .collect()
    }

    /// The gradient at a point of the forward pass, in the order of `params`.
    pub fn at(&self, model: &Model, point: &Point) -> Vec<f64> {
        numeric::at_f64(model, &self.roots, point)
    }
}

/// Refuses values for computed names and requires one for every parameter.
fn check_start(model: &Model, start: &[Given]) -> Result<()> {
    crate::analysis::init::leaves_only(
        model,
        start,
        "gradient descent computes it from the parameters",
    )?;
    // Every parameter, and every leaf the cost needs, named in one report.
    let given: HashSet<Sym> = start.iter().map(|g| g.sym).collect();
    let needed: HashSet<Sym> = crate::core::forward::needed_leaves(model, &given)
        .into_iter()
        .collect();
    let missing: Vec<Sym> = model
        .syms()
        .filter(|s| model.symbol(*s).kind.is_leaf() && !given.contains(s))
        .filter(|s| model.symbol(*s).kind == SymKind::Param || needed.contains(s))
        .collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|&s| model.name(s)).collect();
        return Err(Diagnostic::new(format!(
            "no starting value given for {}",
            numeric::list(&names)
        ))
        .with_help(format!(
            "gradient descent starts from a value for every input, target and \
                     parameter, e.g. `{}`",
            names
                .iter()
                .take(3)
                .map(|n| format!("{n}=0.5"))
                .collect::<Vec<_>>()
                .join(",")
        ))
        .about(Input::Point));
    }
    Ok(())
}

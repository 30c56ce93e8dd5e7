//! Training: many gradient-descent steps over a data set, and why a run went wrong.
//!
//! The gradient is [`Gradients`](crate::analysis::descent::Gradients): derived symbolically once, evaluated in float64 at
//! each example. An epoch visits every example once, either updating after each example (in
//! order or shuffled by a seeded generator) or once with the mean gradient of the whole set.
//! After each epoch the mean cost and the norm of the mean gradient over the whole set are
//! recorded. The run is then judged: a cost that stops being a number, a cost that ends above
//! where it started (ascent, when the rule adds the gradient; a learning rate too large,
//! when it subtracts it), or a neuron that saturates on every example while the cost stays
//! high, which stalls learning. Parameters left without a value are filled by
//! [`init::fill`](crate::analysis::init::fill) from a seed, so a run is reproducible.

use std::collections::HashMap;

use crate::analysis::descent::Gradients;
use crate::analysis::init::{self, Init};
use crate::analysis::numeric::Point;
use crate::core::error::{Diagnostic, Input, Result};
use crate::core::expr::{Func, Node, Sym};
use crate::core::model::{Given, Model, SymKind};
use crate::lang::data::DataSet;

/// Which way the update moves the parameters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Direction {
    /// θ ← θ − η ∂C/∂θ, as the README's `step` section states it.
    Descent,
    /// θ ← θ + η ∂C/∂θ: the rule of the seed question's answer, run to show it rising.
    Ascent,
}

/// What a training run does.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f64,
    pub direction: Direction,
    /// Update after each example (stochastic) rather than once per epoch (batch).
    pub per_example: bool,
    /// Visit the examples in a new seeded order each epoch (per-example updates only).
    pub shuffle: bool,
    pub init: Init,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            epochs: 100,
            learning_rate: 0.5,
            direction: Direction::Descent,
            per_example: true,
            shuffle: false,
            init: Init::Random,
            seed: 1,
        }
    }
}

/// The numbers after one epoch, over the whole data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Epoch {
    /// The mean cost over the examples.
    pub cost: f64,
    /// The Euclidean norm of the mean gradient.
    pub gradient_norm: f64,
}

/// Why a run is judged to have gone wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum Divergence {
    /// The cost or a parameter stopped being a finite number in this epoch (1-based).
    NotFinite { epoch: usize },
    /// The update adds the gradient, and the cost rose from `from` to `to`.
    Ascent { from: f64, to: f64 },
    /// The update subtracts the gradient, yet the cost ended above where it started.
    RateTooLarge { from: f64, to: f64, rose_in: usize },
    /// This activation is saturated on every example from this epoch (1-based) to the end, and
    /// the cost stayed high: its derivative is nearly 0, so learning through it stalled.
    Saturated {
        neuron: Sym,
        epoch: usize,
        cost: f64,
    },
}

/// A finished training run.
#[derive(Clone, Debug, PartialEq)]
pub struct Training {
    pub config: TrainConfig,
    /// The parameters before the first epoch.
    pub initial: Vec<(Sym, f64)>,
    /// The mean cost before the first epoch.
    pub initial_cost: f64,
    pub epochs: Vec<Epoch>,
    /// The parameters after the last epoch run.
    pub params: Vec<(Sym, f64)>,
    pub diverged: Option<Divergence>,
    /// The model's output (or the cost's argument when it names none) for each example after
    /// training: (example's inputs, output).
    pub outputs: Vec<(Vec<(Sym, f64)>, f64)>,
    pub examples: usize,
}

/// Slope of an activation below which it counts as saturated: σ' < 10⁻³ (|z| > 6.9).
const SATURATED_SLOPE: f64 = 1e-3;
/// A mean cost at or below this is a run that learned; saturation then is not a problem.
const LEARNED_COST: f64 = 1e-3;

/// The starting values of the parameters: those given, the rest drawn by [`init::fill`] (the
/// same draw as `eval`, `step` and `values` make from the same seed).
pub fn initial_params(model: &Model, given: &[Given], init: Init, seed: u64) -> Vec<(Sym, f64)> {
    let filled = init::fill(model, given, init, seed);
    model
        .params()
        .map(|p| {
            let value = filled.iter().find(|g| g.sym == p).map_or(0.0, |g| g.value);
            (p, value)
        })
        .collect()
}

/// Trains the model on the data from the given (or initialised) parameters.
pub fn train(
    model: &mut Model,
    data: &DataSet,
    given: &[Given],
    config: &TrainConfig,
    mut progress: impl FnMut(usize),
) -> Result<Training> {
    if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
        return Err(Diagnostic::new(format!(
            "the learning rate must be a positive number, not {}",
            config.learning_rate
        ))
        .with_help("give a small positive rate such as 0.5 (ascent is a direction of its own, not a negative rate)")
        .about(Input::LearningRate));
    }
    if let Some(g) = given
        .iter()
        .find(|g| model.symbol(g.sym).kind != SymKind::Param)
    {
        return Err(Diagnostic::new(format!(
            "`{}` is not a parameter: training takes inputs and targets from the data",
            model.name(g.sym)
        ))
        .with_help("when training, the point gives starting values to parameters only")
        .about(Input::Point));
    }
    let gradients = Gradients::new(model);
    let mut params = initial_params(model, given, config.init, config.seed);
    let initial = params.clone();
    let sign = match config.direction {
        Direction::Descent => -1.0,
        Direction::Ascent => 1.0,
    };
    let neurons = activations(model);
    let mut rng = fastrand::Rng::with_seed(config.seed.wrapping_add(0x9E37_79B9));
    let mut order: Vec<usize> = (0..data.rows.len()).collect();

    let (initial_cost, mut mean_gradient, _) = over_set(model, &gradients, data, &params, &[]);
    let mut epochs = Vec::with_capacity(config.epochs.min(1 << 16));
    let mut saturated_since: HashMap<Sym, usize> = HashMap::new();
    let mut diverged = None;
    for epoch in 1..=config.epochs {
        if config.per_example {
            if config.shuffle {
                rng.shuffle(&mut order);
            }
            for &row in &order {
                let point = Point::float64(model, &leaves(data, row, &params));
                let grads = gradients.at(model, &point);
                step(&mut params, &grads, sign * config.learning_rate);
            }
        } else {
            step(&mut params, &mean_gradient, sign * config.learning_rate);
        }
        let (cost, gradient, saturated) = over_set(model, &gradients, data, &params, &neurons);
        mean_gradient = gradient;
        let gradient_norm = mean_gradient.iter().map(|g| g * g).sum::<f64>().sqrt();
        saturated_since.retain(|s, _| saturated.contains(s));
        for s in saturated {
            saturated_since.entry(s).or_insert(epoch);
        }
        epochs.push(Epoch {
            cost,
            gradient_norm,
        });
        progress(epoch);
        if !cost.is_finite() || params.iter().any(|(_, v)| !v.is_finite()) {
            diverged = Some(Divergence::NotFinite { epoch });
            break;
        }
    }
    let last = epochs.last().map_or(initial_cost, |e| e.cost);
    if diverged.is_none() && last > initial_cost {
        diverged = Some(match config.direction {
            Direction::Ascent => Divergence::Ascent {
                from: initial_cost,
                to: last,
            },
            Direction::Descent => Divergence::RateTooLarge {
                from: initial_cost,
                to: last,
                rose_in: rises(initial_cost, &epochs),
            },
        });
    }
    if diverged.is_none() && last > LEARNED_COST && stalled(initial_cost, &epochs) {
        // The neuron that saturated first (ties: the earlier in the program) is the one to name.
        let first = neurons
            .iter()
            .filter_map(|(s, _)| saturated_since.get(s).map(|&e| (e, *s)))
            .min_by_key(|&(e, s)| (e, model.order.iter().position(|o| *o == s)));
        if let Some((epoch, neuron)) = first {
            diverged = Some(Divergence::Saturated {
                neuron,
                epoch,
                cost: last,
            });
        }
    }
    let output = model.output.unwrap_or(model.cost);
    let outputs = (0..data.rows.len())
        .map(|row| {
            let point = Point::float64(model, &leaves(data, row, &params));
            let inputs = data
                .example(row)
                .filter(|&(s, _)| model.symbol(s).kind == SymKind::Input)
                .collect();
            (inputs, point.f64[&output])
        })
        .collect();
    Ok(Training {
        config: config.clone(),
        initial,
        initial_cost,
        epochs,
        params,
        diverged,
        outputs,
        examples: data.rows.len(),
    })
}

/// The example's values and the parameters: every leaf of the model.
fn leaves(data: &DataSet, row: usize, params: &[(Sym, f64)]) -> Vec<(Sym, f64)> {
    data.example(row).chain(params.iter().copied()).collect()
}

fn step(params: &mut [(Sym, f64)], gradient: &[f64], signed_rate: f64) {
    for ((_, value), g) in params.iter_mut().zip(gradient) {
        *value += signed_rate * g;
    }
}

/// The mean cost and mean gradient over the set, and the activations saturated on every example.
fn over_set(
    model: &Model,
    gradients: &Gradients,
    data: &DataSet,
    params: &[(Sym, f64)],
    neurons: &[(Sym, Func)],
) -> (f64, Vec<f64>, Vec<Sym>) {
    let n = data.rows.len() as f64;
    let mut cost = 0.0;
    let mut mean = vec![0.0; gradients.params.len()];
    let mut saturated: Vec<Sym> = neurons.iter().map(|(s, _)| *s).collect();
    for row in 0..data.rows.len() {
        let point = Point::float64(model, &leaves(data, row, params));
        cost += point.f64[&model.cost] / n;
        for (m, g) in mean.iter_mut().zip(gradients.at(model, &point)) {
            *m += g / n;
        }
        saturated.retain(|s| {
            let a = point.f64[s];
            let slope = match neurons.iter().find(|(n, _)| n == s).map(|(_, f)| *f) {
                Some(Func::Tanh) => 1.0 - a * a,
                _ => a * (1.0 - a),
            };
            slope < SATURATED_SLOPE
        });
    }
    (cost, mean, saturated)
}

/// Names defined as σ(…) or tanh(…): the neurons that can saturate.
fn activations(model: &Model) -> Vec<(Sym, Func)> {
    model
        .order
        .iter()
        .filter_map(|&s| {
            let def = model.definition(s)?;
            match model.graph.node(def) {
                Node::Call(f @ (Func::Sigmoid | Func::Tanh), _) => Some((s, *f)),
                _ => None,
            }
        })
        .collect()
}

/// In how many epochs the cost rose over the epoch before.
fn rises(initial: f64, epochs: &[Epoch]) -> usize {
    let mut before = initial;
    let mut count = 0;
    for e in epochs {
        if e.cost > before {
            count += 1;
        }
        before = e.cost;
    }
    count
}

/// Whether the cost barely moved over the second half of the run (under 1% of where it was).
fn stalled(initial: f64, epochs: &[Epoch]) -> bool {
    let Some(last) = epochs.last() else {
        return false;
    };
    let middle = if epochs.len() >= 2 {
        epochs[epochs.len() / 2 - 1].cost
    } else {
        initial
    };
    (middle - last.cost).abs() <= 0.01 * middle.abs()
}

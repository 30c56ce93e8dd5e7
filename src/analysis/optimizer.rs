//! The optimizers `step` and `train` move the parameters with: plain gradient descent,
//! momentum, Nesterov momentum, RMSProp and Adam, with PyTorch's update rules, names and
//! defaults. Each keeps its state per parameter (the velocity, the first and second moments)
//! and reports it after every step, bias-corrected moments included, so a reader can follow
//! a worked example by hand. Weight decay is decoupled (AdamW's rule, θ ← θ − ηλθ beside the
//! optimizer's step, not an L2 term in the cost) and spares the biases.

use crate::core::expr::{Node, Sym};
use crate::core::model::Model;

/// Which optimizer, as `--optimizer` names it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OptimizerKind {
    Sgd,
    Momentum,
    Nesterov,
    RmsProp,
    Adam,
}

impl OptimizerKind {
    pub const ALL: [OptimizerKind; 5] = [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum,
        OptimizerKind::Nesterov,
        OptimizerKind::RmsProp,
        OptimizerKind::Adam,
    ];

    /// The code `--optimizer`, the templates and JSON use.
    pub fn code(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Nesterov => "nesterov",
            OptimizerKind::RmsProp => "rmsprop",
            OptimizerKind::Adam => "adam",
        }
    }

    pub fn from_code(code: &str) -> Option<OptimizerKind> {
        OptimizerKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// An optimizer and its hyperparameters (PyTorch's names: `momentum`, `betas`, `eps`,
/// `weight_decay`; RMSProp's smoothing constant, PyTorch's `alpha`, is `beta2` here as in
/// Ng's notes).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    /// μ of momentum and Nesterov.
    pub momentum: f64,
    /// β₁, Adam's first-moment decay.
    pub beta1: f64,
    /// β₂, the second-moment decay of Adam and RMSProp.
    pub beta2: f64,
    /// ε, added outside the square root.
    pub eps: f64,
    /// λ of decoupled weight decay (0: none).
    pub weight_decay: f64,
}

impl Optimizer {
    /// The optimizer with PyTorch's defaults: momentum 0.9 (PyTorch's SGD has 0, which is
    /// plain descent), β₁ = 0.9, β₂ = 0.999 for Adam and 0.99 for RMSProp, ε = 1e-8.
    pub fn with_defaults(kind: OptimizerKind) -> Optimizer {
        Optimizer {
            kind,
            momentum: 0.9,
            beta1: 0.9,
            beta2: if kind == OptimizerKind::RmsProp {
                0.99
            } else {
                0.999
            },
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// Plain gradient descent, θ ← θ − η∂C/∂θ.
    pub fn sgd() -> Optimizer {
        Optimizer::with_defaults(OptimizerKind::Sgd)
    }
}

/// One parameter's state after a step, as the update rule names it. `None` for what the
/// optimizer does not keep.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct ParamState {
    /// The velocity `b` of momentum and Nesterov.
    pub velocity: Option<f64>,
    /// Adam's first moment `m`.
    pub first: Option<f64>,
    /// The second moment `v` (Adam, RMSProp).
    pub second: Option<f64>,
    /// Adam's bias-corrected moments m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ).
    pub first_corrected: Option<f64>,
    pub second_corrected: Option<f64>,
    /// Whether weight decay moved this parameter (not a bias, and λ > 0).
    pub decayed: bool,
}

/// The state carried from step to step, one entry per parameter.
#[derive(Clone, Debug)]
pub struct State {
    velocity: Vec<f64>,
    first: Vec<f64>,
    second: Vec<f64>,
    /// Steps taken, t of the bias correction.
    steps: i32,
}

impl State {
    pub fn new(parameters: usize) -> State {
        State {
            velocity: vec![0.0; parameters],
            first: vec![0.0; parameters],
            second: vec![0.0; parameters],
            steps: 0,
        }
    }
}

impl Optimizer {
    /// One step: the new value of each parameter and its state after the step. `decays` says
    /// which parameters weight decay applies to (see [`decayed_parameters`]).
    pub fn step(
        &self,
        state: &mut State,
        learning_rate: f64,
        values: &[f64],
        gradients: &[f64],
        decays: &[bool],
    ) -> (Vec<f64>, Vec<ParamState>) {
        state.steps += 1;
        let t = state.steps;
        let mut new_values = Vec::with_capacity(values.len());
        let mut states = Vec::with_capacity(values.len());
        for (i, (&theta, &g)) in values.iter().zip(gradients).enumerate() {
            let decayed = decays[i] && self.weight_decay != 0.0;
            let mut record = ParamState {
                decayed,
                ..ParamState::default()
            };
            let step = match self.kind {
                OptimizerKind::Sgd => g,
                OptimizerKind::Momentum | OptimizerKind::Nesterov => {
                    // PyTorch: b ← μb + g from b = 0 (so b₁ = g); Nesterov steps along g + μb
                    let b = self.momentum * state.velocity[i] + g;
                    state.velocity[i] = b;
                    record.velocity = Some(b);
                    if self.kind == OptimizerKind::Nesterov {
                        g + self.momentum * b
                    } else {
                        b
                    }
                }
                OptimizerKind::RmsProp => {
                    let v = self.beta2 * state.second[i] + (1.0 - self.beta2) * g * g;
                    state.second[i] = v;
                    record.second = Some(v);
                    g / (v.sqrt() + self.eps)
                }
                OptimizerKind::Adam => {
                    let m = self.beta1 * state.first[i] + (1.0 - self.beta1) * g;
                    let v = self.beta2 * state.second[i] + (1.0 - self.beta2) * g * g;
                    state.first[i] = m;
                    state.second[i] = v;
                    let m_hat = m / (1.0 - self.beta1.powi(t));
                    let v_hat = v / (1.0 - self.beta2.powi(t));
                    record.first = Some(m);
                    record.second = Some(v);
                    record.first_corrected = Some(m_hat);
                    record.second_corrected = Some(v_hat);
                    m_hat / (v_hat.sqrt() + self.eps)
                }
            };
            let decay = if decayed {
                learning_rate * self.weight_decay * theta
            } else {
                0.0
            };
            new_values.push(theta - decay - learning_rate * step);
            states.push(record);
        }
        (new_values, states)
    }
}

/// Which parameters weight decay applies to: every one but the biases, a bias being a
/// parameter that each definition using it adds as a term of its own (`z = w·x + b`), as L2
/// regularisation leaves them alone too.
pub fn decayed_parameters(model: &Model, params: &[Sym]) -> Vec<bool> {
    params
        .iter()
        .map(|&p| {
            let var = model.graph_var(p);
            let users = model.dependencies.users(p);
            let added = users.iter().all(|&u| {
                model.definition(u).is_some_and(
                    |d| matches!(model.graph.node(d), Node::Add(terms) if terms.contains(&var)),
                )
            });
            users.is_empty() || !added
        })
        .collect()
}

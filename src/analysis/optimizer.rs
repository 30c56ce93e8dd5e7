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

    /// The optimizer with the hyperparameters given and defaults for the rest, each checked
    /// against its range: the one check the command line and Python both make.
    pub fn with_hyperparameters(
        kind: OptimizerKind,
        given: &Hyperparameters,
    ) -> Result<Optimizer, HyperparameterOutOfRange> {
        let defaults = Optimizer::with_defaults(kind);
        let value = |which: Hyperparameter, given: Option<f64>, default: f64| match given {
            Some(value) => which.check(value),
            None => Ok(default),
        };
        Ok(Optimizer {
            momentum: value(Hyperparameter::Momentum, given.momentum, defaults.momentum)?,
            beta1: value(Hyperparameter::Beta1, given.beta1, defaults.beta1)?,
            beta2: value(Hyperparameter::Beta2, given.beta2, defaults.beta2)?,
            eps: value(Hyperparameter::Eps, given.eps, defaults.eps)?,
            weight_decay: value(
                Hyperparameter::WeightDecay,
                given.weight_decay,
                defaults.weight_decay,
            )?,
            ..defaults
        })
    }
}

/// The hyperparameters a caller gives an optimizer; `None` takes
/// [`Optimizer::with_defaults`]'s value.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Hyperparameters {
    pub momentum: Option<f64>,
    pub beta1: Option<f64>,
    pub beta2: Option<f64>,
    pub eps: Option<f64>,
    pub weight_decay: Option<f64>,
}

/// One hyperparameter of an optimizer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Hyperparameter {
    Momentum,
    Beta1,
    Beta2,
    Eps,
    WeightDecay,
}

impl Hyperparameter {
    /// Its name as a Python keyword argument (the command line's option is the same with `-`
    /// for `_`).
    pub fn code(self) -> &'static str {
        match self {
            Hyperparameter::Momentum => "momentum",
            Hyperparameter::Beta1 => "beta1",
            Hyperparameter::Beta2 => "beta2",
            Hyperparameter::Eps => "eps",
            Hyperparameter::WeightDecay => "weight_decay",
        }
    }

    /// The values it may take: the momentum and the betas are decay rates (a rate of 1 or
    /// more never forgets, and the bias correction 1 − βᵗ would divide by 0); ε and the
    /// weight decay are 0 or more.
    pub fn range(self) -> HyperparameterRange {
        match self {
            Hyperparameter::Momentum | Hyperparameter::Beta1 | Hyperparameter::Beta2 => {
                HyperparameterRange::DecayRate
            }
            Hyperparameter::Eps | Hyperparameter::WeightDecay => HyperparameterRange::NonNegative,
        }
    }

    /// `value` if it lies in [`Hyperparameter::range`] (NaN never does).
    pub fn check(self, value: f64) -> Result<f64, HyperparameterOutOfRange> {
        if self.range().admits(value) {
            Ok(value)
        } else {
            Err(HyperparameterOutOfRange {
                hyperparameter: self,
                value,
            })
        }
    }
}

/// The values a hyperparameter may take.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HyperparameterRange {
    /// At least 0 and below 1.
    DecayRate,
    /// At least 0.
    NonNegative,
}

impl HyperparameterRange {
    pub fn admits(self, value: f64) -> bool {
        match self {
            HyperparameterRange::DecayRate => (0.0..1.0).contains(&value),
            HyperparameterRange::NonNegative => value >= 0.0,
        }
    }
}

/// A hyperparameter given a value outside its range; each door words it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct HyperparameterOutOfRange {
    pub hyperparameter: Hyperparameter,
    pub value: f64,
}

impl HyperparameterOutOfRange {
    pub fn range(&self) -> HyperparameterRange {
        self.hyperparameter.range()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What is not given takes its default; what is given is checked against its range and
    /// refused as data (the hyperparameter and the value), the first one out of range.
    #[test]
    fn hyperparameters_are_checked_against_their_ranges() {
        let given = Hyperparameters {
            beta2: Some(0.5),
            weight_decay: Some(0.0),
            ..Hyperparameters::default()
        };
        let adam = Optimizer::with_hyperparameters(OptimizerKind::Adam, &given).unwrap();
        assert_eq!(
            adam,
            Optimizer {
                beta2: 0.5,
                ..Optimizer::with_defaults(OptimizerKind::Adam)
            }
        );
        let refused = |given: Hyperparameters| {
            Optimizer::with_hyperparameters(OptimizerKind::RmsProp, &given).unwrap_err()
        };
        let momentum_of_one = refused(Hyperparameters {
            momentum: Some(1.0),
            eps: Some(-1.0),
            ..Hyperparameters::default()
        });
        assert_eq!(momentum_of_one.hyperparameter, Hyperparameter::Momentum);
        assert_eq!(momentum_of_one.value, 1.0);
        assert_eq!(momentum_of_one.range(), HyperparameterRange::DecayRate);
        let negative_eps = refused(Hyperparameters {
            eps: Some(-1e-8),
            ..Hyperparameters::default()
        });
        assert_eq!(negative_eps.hyperparameter.code(), "eps");
        assert_eq!(negative_eps.range(), HyperparameterRange::NonNegative);
        let nan_decay = refused(Hyperparameters {
            weight_decay: Some(f64::NAN),
            ..Hyperparameters::default()
        });
        assert_eq!(nan_decay.hyperparameter.code(), "weight_decay");
        for beta in [-0.1, 1.0, 1.5, f64::NAN] {
            let given = Hyperparameters {
                beta1: Some(beta),
                ..Hyperparameters::default()
            };
            assert_eq!(refused(given).hyperparameter, Hyperparameter::Beta1);
        }
        assert!(HyperparameterRange::DecayRate.admits(0.0));
        assert!(HyperparameterRange::NonNegative.admits(0.0));
    }
}

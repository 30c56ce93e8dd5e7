//! The layered `network` shorthand: what a fully connected network is (widths, activation of
//! each layer, cost, biases, L2 term), independent of how it was written.
//!
//! The parser fills a [`NetworkSpec`] from `network 2-3-1` and its option lines; lowering
//! expands it into the straight-line form of the core language, and the layered derivation
//! (`derive --layers`) reads it to derive the backprop equations for a general layer.

use crate::ast::Span;

/// The activation of one layer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    Sigmoid,
    Tanh,
    Relu,
    Softplus,
    Identity,
    /// Output layer only.
    Softmax,
}

/// The cost over the output layer (summed over the output neurons).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CostKind {
    /// Σ_j (y_j − a_j)²
    Quadratic,
    /// ½ Σ_j (y_j − a_j)²
    HalfQuadratic,
    /// −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]
    CrossEntropy,
    /// −Σ_j y_j ln a_j (with a softmax output)
    LogLikelihood,
}

/// A fully connected network as the shorthand describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSpec {
    /// Neurons per layer, input layer first (`2-3-1` is `[2, 3, 1]`); every width ≥ 1.
    pub widths: Vec<usize>,
    /// The activation of layers 2..=L, one entry per layer after the input layer.
    pub activations: Vec<Activation>,
    pub cost: CostKind,
    /// Whether each neuron of layers 2..=L has a bias b^(l)_j.
    pub biases: bool,
    /// Whether the cost carries the L2 term λ/(2n)·Σ w².
    pub l2: bool,
    /// Where the `network` line was written.
    pub span: Span,
}

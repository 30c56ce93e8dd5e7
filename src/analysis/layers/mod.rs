//! The layered derivation (`derive --layers`): Nielsen's four backpropagation equations BP1–BP4
//! for a general layer l and neurons j, k, derived from the [`NetworkSpec`] by a small symbolic
//! system over *indexed* quantities, every step recorded with its rule as the scalar engine
//! records its own; the results are then rewritten in vector and matrix form by named rules,
//! and both forms can be evaluated for the actual widths ([`evaluate_index`],
//! [`evaluate_matrix`]) so that tests hold them against the scalar derivatives of the expanded
//! network.
//!
//! It has its own expression type [`E`] because the core graph cannot say what a layer-general
//! formula says. The core graph's leaves are the names of one concrete network (`w2_3_1`), so
//! "neuron j of layer l" has no node there: an [`E`] quantity carries a layer relative to l
//! (l−1, l+1, the output layer L) and *index variables* (`w^(l)_jk`). A sum runs over the
//! neurons of a layer whose width is not known ([`E::Sum`]), which the graph, holding one term
//! per neuron, cannot write. And differentiating an indexed quantity by another of its kind
//! gives *Kronecker deltas* ([`E::Kron`], ∂w_im/∂w_jk = δ_ij δ_mk), which simplification
//! eliminates by renaming an index (Σ_i f_i δ_ij = f_j) — a rewrite on index variables that the
//! graph, whose derivatives are of one name by another, never needs. Numbers are the core's
//! exact rationals ([`Num`]) and functions are evaluated by the core's float64 table
//! ([`apply_f64`](crate::core::eval::apply_f64)); what is kept here is what the core has no
//! word for: indexed quantities, sums over a layer, Kronecker deltas, and the derivative of an
//! activation the core does not name (softplus′, the identity's).
//!
//! - [`algebra`]: differentiation of indexed expressions and the simplification passes.
//! - [`derive`](mod@derive): the definitions of the network and BP1–BP4, step by step.
//! - [`matrix`]: the vector and matrix form and the rules that translate to it.
//! - [`evaluate`]: both forms evaluated at a point of an actual network.
//! - [`print`]: the formula printer of both forms, in terminal text or LaTeX.

pub mod algebra;
pub mod derive;
pub mod evaluate;
pub mod matrix;
pub mod print;

pub use derive::{Definition, Equation, Layered, Layers, derive, layer_list};
pub use evaluate::{Gradients, Point, evaluate_index, evaluate_matrix, value};
pub use matrix::{M, MatrixEquation};
pub use print::{Style, show, show_m};

use crate::core::expr::Num;
use crate::lang::network::{Activation, NetworkSpec};

// ---------------------------------------------------------------------------------------
// Indexed expressions
// ---------------------------------------------------------------------------------------

/// A layer relative to the general layer l, or the output layer L, or the l′ of a sum over
/// all layers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    Out,
    Rel(i8),
    Other,
}

/// The indexed quantities of a network.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quantity {
    /// w^(l)_jk: two indices.
    W,
    B,
    Z,
    A,
    Y,
    /// δ^(l)_j = ∂C/∂z^(l)_j.
    Delta,
    Cost,
    Lambda,
    N,
}

/// An index variable (`i`, `j`, `k`, `m`).
pub type Ix = char;

/// A function applied elementwise. Not the core's [`Func`](crate::core::expr::Func): a step
/// names the derivative of every activation as such (softplus′, the identity′ that folds to 1),
/// where the core would write σ or 1 at once; their values come from the core's table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fun {
    Act(Activation),
    /// The derivative of an activation, `σ'`.
    Prime(Activation),
    Log,
    Exp,
    /// The Huber cost with δ = 1, and its derivative, the residual clipped to [−1, 1].
    Huber,
    HuberPrime,
}

/// An expression over indexed quantities.
#[derive(Clone, Debug, PartialEq)]
pub enum E {
    /// A number: the core's exact rational (p/q in lowest terms, q > 0).
    Num(Num),
    /// A quantity with its layer (if it has one) and indices.
    At(Quantity, Option<Layer>, Vec<Ix>),
    /// The Kronecker delta δ_ij.
    Kron(Ix, Ix),
    Add(Vec<E>),
    Mul(Vec<E>),
    Pow(Box<E>, i64),
    /// Σ over the neurons of a layer.
    Sum(Ix, Layer, Box<E>),
    /// Σ over the layers l′ = 2, …, L (the L2 term).
    LayerSum(Box<E>),
    F(Fun, Box<E>),
    /// An unevaluated derivative ∂num/∂den.
    D(Box<E>, Box<E>),
}

fn num(n: i64) -> E {
    E::Num(Num::int(n))
}

fn at(q: Quantity, layer: Layer, ix: &[Ix]) -> E {
    E::At(q, Some(layer), ix.to_vec())
}

fn y(i: Ix) -> E {
    E::At(Quantity::Y, None, vec![i])
}

fn cost() -> E {
    E::At(Quantity::Cost, None, vec![])
}

fn scalar(q: Quantity) -> E {
    E::At(q, None, vec![])
}

fn mul(factors: Vec<E>) -> E {
    E::Mul(factors)
}

fn add(terms: Vec<E>) -> E {
    E::Add(terms)
}

fn neg(e: E) -> E {
    mul(vec![num(-1), e])
}

fn sub(a: E, b: E) -> E {
    add(vec![a, neg(b)])
}

fn recip(e: E) -> E {
    E::Pow(Box::new(e), -1)
}

fn sum(i: Ix, layer: Layer, body: E) -> E {
    E::Sum(i, layer, Box::new(body))
}

fn apply(f: Fun, e: E) -> E {
    E::F(f, Box::new(e))
}

fn d(of: E, wrt: E) -> E {
    E::D(Box::new(of), Box::new(wrt))
}

/// The number p/q.
fn fraction(p: i64, q: i64) -> E {
    E::Num(Num::ratio(p.into(), q.into()))
}

/// 1/c for a number other than zero (the core's exact power −1).
fn reciprocal(c: Num) -> Num {
    c.pow(Num::MINUS_ONE)
        .unwrap_or_else(|| Num::Float(1.0 / c.to_f64()))
}

impl E {
    /// Nodes in the tree: what "simpler" means when a rewrite is tried.
    pub fn size(&self) -> usize {
        1 + match self {
            E::Num(..) | E::At(..) | E::Kron(..) => 0,
            E::Add(xs) | E::Mul(xs) => xs.iter().map(E::size).sum(),
            E::Pow(b, _) => b.size(),
            E::Sum(_, _, b) | E::LayerSum(b) | E::F(_, b) => b.size(),
            E::D(a, b) => a.size() + b.size(),
        }
    }

    fn mentions(&self, i: Ix) -> bool {
        match self {
            E::Num(..) => false,
            E::At(_, _, ix) => ix.contains(&i),
            E::Kron(a, b) => *a == i || *b == i,
            E::Add(xs) | E::Mul(xs) => xs.iter().any(|x| x.mentions(i)),
            E::Pow(b, _) | E::LayerSum(b) | E::F(_, b) => b.mentions(i),
            E::Sum(j, _, b) => *j != i && b.mentions(i),
            E::D(a, b) => a.mentions(i) || b.mentions(i),
        }
    }

    fn contains_kron(&self) -> bool {
        match self {
            E::Kron(..) => true,
            E::Num(..) | E::At(..) => false,
            E::Add(xs) | E::Mul(xs) => xs.iter().any(E::contains_kron),
            E::Pow(b, _) | E::LayerSum(b) | E::F(_, b) | E::Sum(_, _, b) => b.contains_kron(),
            E::D(..) => false,
        }
    }

    fn has_denominator(&self) -> bool {
        match self {
            E::Pow(_, n) => *n < 0,
            E::Num(..) | E::At(..) | E::Kron(..) | E::D(..) => false,
            E::Add(xs) | E::Mul(xs) => xs.iter().any(E::has_denominator),
            E::LayerSum(b) | E::F(_, b) | E::Sum(_, _, b) => b.has_denominator(),
        }
    }

    /// Renames the free index `from` to `to`.
    fn rename(&self, from: Ix, to: Ix) -> E {
        let r = |x: &E| x.rename(from, to);
        let ix = |i: Ix| if i == from { to } else { i };
        match self {
            E::Num(..) => self.clone(),
            E::At(q, l, idx) => E::At(*q, *l, idx.iter().map(|&i| ix(i)).collect()),
            E::Kron(a, b) => E::Kron(ix(*a), ix(*b)),
            E::Add(xs) => E::Add(xs.iter().map(r).collect()),
            E::Mul(xs) => E::Mul(xs.iter().map(r).collect()),
            E::Pow(b, n) => E::Pow(Box::new(r(b)), *n),
            E::Sum(j, l, b) if *j == from => E::Sum(*j, *l, b.clone()),
            E::Sum(j, l, b) => E::Sum(*j, *l, Box::new(r(b))),
            E::LayerSum(b) => E::LayerSum(Box::new(r(b))),
            E::F(f, b) => E::F(*f, Box::new(r(b))),
            E::D(a, b) => E::D(Box::new(r(a)), Box::new(r(b))),
        }
    }

    /// Sets the layer l′ of a layer sum to l.
    fn other_to_l(&self) -> E {
        let r = |x: &E| x.other_to_l();
        match self {
            E::At(q, Some(Layer::Other), idx) => E::At(*q, Some(Layer::Rel(0)), idx.clone()),
            E::Num(..) | E::At(..) | E::Kron(..) => self.clone(),
            E::Add(xs) => E::Add(xs.iter().map(r).collect()),
            E::Mul(xs) => E::Mul(xs.iter().map(r).collect()),
            E::Pow(b, n) => E::Pow(Box::new(r(b)), *n),
            E::Sum(j, l, b) => {
                let l = if *l == Layer::Other {
                    Layer::Rel(0)
                } else {
                    *l
                };
                E::Sum(*j, l, Box::new(r(b)))
            }
            E::LayerSum(b) => E::LayerSum(Box::new(r(b))),
            E::F(f, b) => E::F(*f, Box::new(r(b))),
            E::D(a, b) => E::D(Box::new(r(a)), Box::new(r(b))),
        }
    }

    /// Replaces every subexpression equal to `pattern` (up to renaming `from` → `to` of the
    /// pattern's index) by `with`.
    fn replace(&self, pattern: &E, with: &E) -> E {
        if self == pattern {
            return with.clone();
        }
        let r = |x: &E| x.replace(pattern, with);
        match self {
            E::Num(..) | E::At(..) | E::Kron(..) => self.clone(),
            E::Add(xs) => E::Add(xs.iter().map(r).collect()),
            E::Mul(xs) => E::Mul(xs.iter().map(r).collect()),
            E::Pow(b, n) => E::Pow(Box::new(r(b)), *n),
            E::Sum(j, l, b) => E::Sum(*j, *l, Box::new(r(b))),
            E::LayerSum(b) => E::LayerSum(Box::new(r(b))),
            E::F(f, b) => E::F(*f, Box::new(r(b))),
            E::D(a, b) => E::D(Box::new(r(a)), Box::new(r(b))),
        }
    }
}

/// One step: `lhs = rhs`, justified by `rule`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Words with the formulas among them between `$` signs, in the terminal notation of
    /// [`print`] (`chain rule: $C$ depends on $z^L_j$ …`), so that a document can set them as
    /// math; without the signs it reads as plain text.
    pub rule: String,
    pub lhs: E,
    pub rhs: E,
}

//! The vector and matrix form of the derived equations: an index-form result read as vectors
//! (one entry per neuron), matrices W^(l), transposes, outer and inner products and Hadamard
//! products, each translation named by the rule that justifies it.

use super::derive::{Equation, Layers};
use super::{E, Fun, Ix, Layer, Quantity};
use crate::core::expr::Num;

/// An expression over vectors (one entry per neuron of a layer) and matrices.
#[derive(Clone, Debug, PartialEq)]
pub enum M {
    Num(Num),
    Scalar(Quantity),
    /// The vector of a quantity over the neurons of a layer (`y` has no layer).
    Vector(Quantity, Option<Layer>),
    /// W^(l): one row per neuron of layer l, one column per neuron of layer l−1.
    Matrix(Layer),
    /// The vector of ones (Σ_i v_i = 𝟙ᵀv).
    Ones(Layer),
    T(Box<M>),
    /// Matrix times vector.
    Apply(Box<M>, Box<M>),
    /// u vᵀ.
    Outer(Box<M>, Box<M>),
    /// uᵀ v, a number.
    Inner(Box<M>, Box<M>),
    /// Elementwise product.
    Hadamard(Vec<M>),
    /// Scalars times one vector or matrix (or scalars alone).
    Scale(Vec<M>),
    Add(Vec<M>),
    Pow(Box<M>, i64),
    F(Fun, Box<M>),
    /// ∂C/∂b^(l), ∂C/∂W^(l): the gradient with respect to a whole vector or matrix.
    Grad(Quantity, Layer),
}

/// One equation in matrix form, with the rules that turned the index form into it.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixEquation {
    pub label: &'static str,
    pub layers: Layers,
    pub lhs: M,
    pub rhs: M,
    /// Words and `$`-delimited formulas, as [`Step::rule`](super::Step::rule).
    pub rules: Vec<String>,
}

/// The index form of an equation read as vectors and matrices. The rules cover every result
/// the derivation produces for any network the shorthand accepts (a test enumerates them all);
/// were one not covered, the right-hand side would read 0, which the agreement tests catch.
pub(super) fn to_matrix(eq: &Equation) -> MatrixEquation {
    let mut rules: Vec<String> =
        vec!["components to vectors: $x_j$ for every $j$ is the vector $x$".into()];
    let lhs = match &eq.lhs {
        E::At(Quantity::Delta, Some(l), _) => M::Vector(Quantity::Delta, Some(*l)),
        E::D(_, wrt) => match &**wrt {
            E::At(q, Some(l), _) => M::Grad(*q, *l),
            _ => M::Num(Num::ZERO),
        },
        _ => M::Num(Num::ZERO),
    };
    let (row, col) = match &eq.lhs {
        E::D(_, wrt) => match &**wrt {
            E::At(_, _, ix) if ix.len() == 2 => (Some(ix[0]), Some(ix[1])),
            E::At(_, _, ix) => (ix.first().copied(), None),
            _ => (None, None),
        },
        E::At(_, _, ix) => (ix.first().copied(), None),
        _ => (None, None),
    };
    let rhs = translate(&eq.rhs, row, col, &mut rules).unwrap_or(M::Num(Num::ZERO));
    MatrixEquation {
        label: eq.label,
        layers: eq.layers.clone(),
        lhs,
        rhs,
        rules,
    }
}

fn note(rules: &mut Vec<String>, rule: &str) {
    if !rules.iter().any(|r| r == rule) {
        rules.push(rule.to_string());
    }
}

/// Translates an index expression whose free indices are `row` (and `col`).
fn translate(e: &E, row: Option<Ix>, col: Option<Ix>, rules: &mut Vec<String>) -> Option<M> {
    let free = |x: &E| {
        (
            row.is_some_and(|r| x.mentions(r)),
            col.is_some_and(|c| x.mentions(c)),
        )
    };
    match e {
        E::Num(c) => Some(M::Num(*c)),
        E::At(q @ (Quantity::Lambda | Quantity::N), ..) => Some(M::Scalar(*q)),
        E::At(Quantity::W, Some(l), ix) => {
            if Some(ix[0]) == row && Some(ix[1]) == col {
                Some(M::Matrix(*l))
            } else if Some(ix[1]) == row && Some(ix[0]) == col {
                note(rules, "transpose: $(Wᵀ)_jk = w_kj$");
                Some(M::T(Box::new(M::Matrix(*l))))
            } else {
                None
            }
        }
        E::At(q, l, ix) if ix.len() == 1 => {
            let v = M::Vector(*q, *l);
            if Some(ix[0]) == row {
                Some(v)
            } else if Some(ix[0]) == col {
                note(rules, "outer product: $u_j v_k = (u vᵀ)_jk$");
                Some(M::T(Box::new(v)))
            } else {
                None
            }
        }
        E::F(f, arg) => Some(M::F(*f, Box::new(translate(arg, row, col, rules)?))),
        E::Pow(b, n) => Some(M::Pow(Box::new(translate(b, row, col, rules)?), *n)),
        E::Add(xs) => Some(M::Add(
            xs.iter()
                .map(|x| translate(x, row, col, rules))
                .collect::<Option<Vec<_>>>()?,
        )),
        E::Mul(xs) => {
            let mut scalars = Vec::new();
            let mut rows = Vec::new();
            let mut cols = Vec::new();
            let mut whole = Vec::new();
            for x in xs {
                match free(x) {
                    (false, false) => scalars.push(translate(x, None, None, rules)?),
                    (true, false) => rows.push(translate(x, row, None, rules)?),
                    (false, true) => cols.push(translate(x, col, None, rules)?),
                    (true, true) => whole.push(translate(x, row, col, rules)?),
                }
            }
            let hadamard = |mut vs: Vec<M>, rules: &mut Vec<String>| {
                if vs.len() > 1 {
                    note(rules, "Hadamard product: $u_j v_j = (u ⊙ v)_j$");
                    M::Hadamard(vs)
                } else {
                    vs.pop().unwrap_or(M::Num(Num::ONE))
                }
            };
            let mut body = Vec::new();
            if !rows.is_empty() && !cols.is_empty() {
                note(rules, "outer product: $u_j v_k = (u vᵀ)_jk$");
                body.push(M::Outer(
                    Box::new(hadamard(rows, rules)),
                    Box::new(hadamard(cols, rules)),
                ));
            } else if !rows.is_empty() {
                body.push(hadamard(rows, rules));
            } else if !cols.is_empty() {
                return None;
            }
            body.extend(whole);
            if body.len() > 1 {
                return None;
            }
            // A number in front of a Hadamard product goes with its first factor:
            // 2(a − y) ⊙ σ'(z), as textbooks write it.
            if let [M::Hadamard(factors)] = body.as_mut_slice()
                && !scalars.is_empty()
                && scalars.iter().all(|s| matches!(s, M::Num(..)))
            {
                let first = factors.remove(0);
                let mut scaled = std::mem::take(&mut scalars);
                scaled.push(first);
                factors.insert(0, M::Scale(scaled));
            }
            scalars.extend(body);
            Some(if scalars.len() == 1 {
                scalars.pop()?
            } else {
                M::Scale(scalars)
            })
        }
        E::Sum(i, l, body) => {
            let factors = match &**body {
                E::Mul(fs) => fs.clone(),
                other => vec![other.clone()],
            };
            // Σ_i w_ij v_i = (Wᵀv)_j and Σ_i w_ji v_i = (W v)_j.
            if let Some(r) = row
                && let Some(p) = factors.iter().position(
                    |f| matches!(f, E::At(Quantity::W, _, ix) if ix.contains(i) && ix.contains(&r)),
                )
            {
                let E::At(_, Some(wl), ix) = &factors[p] else {
                    return None;
                };
                let mut rest = factors.clone();
                rest.remove(p);
                let v = translate(&E::Mul(rest), Some(*i), None, rules)?;
                let w = if ix[0] == *i {
                    note(rules, "transpose: $Σ_i w_ij v_i = (Wᵀ v)_j$");
                    M::T(Box::new(M::Matrix(*wl)))
                } else {
                    note(rules, "matrix product: $Σ_k w_jk v_k = (W v)_j$");
                    M::Matrix(*wl)
                };
                return Some(M::Apply(Box::new(w), Box::new(v)));
            }
            if free(body) != (false, false) {
                return None;
            }
            note(rules, "inner product: $Σ_i u_i v_i = uᵀv$");
            let mut vs: Vec<M> = factors
                .iter()
                .map(|f| translate(f, Some(*i), None, rules))
                .collect::<Option<Vec<_>>>()?;
            Some(match vs.len() {
                1 => M::Inner(Box::new(M::Ones(*l)), Box::new(vs.pop()?)),
                2 => {
                    let v = vs.pop()?;
                    M::Inner(Box::new(vs.pop()?), Box::new(v))
                }
                _ => {
                    let v = vs.pop()?;
                    M::Inner(Box::new(M::Hadamard(vs)), Box::new(v))
                }
            })
        }
        _ => None,
    }
}

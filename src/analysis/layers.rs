//! The layered derivation (`derive --layers`): Nielsen's four backpropagation equations BP1–BP4
//! for a general layer l and neurons j, k, derived from the [`NetworkSpec`] by a small symbolic
//! system over *indexed* quantities — a quantity carries a layer (l, l−1, l+1, L) and index
//! variables (`w^(l)_jk`), sums run over a layer's neurons, and differentiating an indexed
//! quantity by another of its kind gives Kronecker deltas that simplification eliminates
//! (Σ_i f_i δ_ij = f_j) — every step recorded with its rule, as the scalar engine records its
//! own; the results are then rewritten in vector and matrix form by named rules, and both
//! forms can be evaluated for the actual widths ([`evaluate_index`], [`evaluate_matrix`]) so
//! that tests hold them against the scalar derivatives of the expanded network.

use crate::lang::network::{Activation, CostKind, NetworkSpec};

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

/// A function applied elementwise.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fun {
    Act(Activation),
    /// The derivative of an activation, `σ'`.
    Prime(Activation),
    Log,
    Exp,
}

/// An expression over indexed quantities.
#[derive(Clone, Debug, PartialEq)]
pub enum E {
    /// A rational number p/q (q > 0, in lowest terms).
    Num(i64, i64),
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
    E::Num(n, 1)
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

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs().max(1)
    } else {
        gcd(b, a % b)
    }
}

fn rat(p: i64, q: i64) -> E {
    let g = gcd(p, q);
    let s = if q < 0 { -1 } else { 1 };
    E::Num(s * p / g, s * q / g)
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

// ---------------------------------------------------------------------------------------
// Differentiation
// ---------------------------------------------------------------------------------------

/// ∂e/∂wrt, where `wrt` is an indexed quantity and every other quantity is independent of it
/// (the chain rule through intermediates is applied by the derivation, as a step of its own).
/// The rules used are collected, in order, without repetition.
fn diff(e: &E, wrt: &E, rules: &mut Vec<&'static str>) -> E {
    let mut used = |rule: &'static str| {
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    };
    match e {
        E::Num(..) | E::Kron(..) => num(0),
        E::At(q, l, ix) => match wrt {
            E::At(wq, wl, wix) if wq == q && wl == l && wix.len() == ix.len() => {
                used("∂x_i/∂x_j = δ_ij");
                let deltas: Vec<E> = ix
                    .iter()
                    .zip(wix)
                    .map(|(&a, &b)| if a == b { num(1) } else { E::Kron(a, b) })
                    .collect();
                mul(deltas)
            }
            _ => num(0),
        },
        E::Add(xs) => {
            used("sum rule");
            add(xs.iter().map(|x| diff(x, wrt, rules)).collect())
        }
        E::Mul(xs) => {
            let terms: Vec<E> = (0..xs.len())
                .filter_map(|i| {
                    let dx = diff(&xs[i], wrt, rules);
                    if dx == num(0) {
                        return None;
                    }
                    let mut factors = xs.clone();
                    factors[i] = dx;
                    Some(mul(factors))
                })
                .collect();
            let constants = xs.iter().filter(|x| matches!(x, E::Num(..))).count();
            rules.push(if constants + 1 >= xs.len() {
                "constant multiple"
            } else {
                "product rule"
            });
            rules.dedup();
            add(terms)
        }
        E::Pow(b, n) => {
            rules.push("power rule");
            let inner = diff(b, wrt, rules);
            mul(vec![num(*n), E::Pow(b.clone(), n - 1), inner])
        }
        E::Sum(i, l, b) => {
            rules.push("derivative of a sum over neurons");
            sum(*i, *l, diff(b, wrt, rules))
        }
        E::LayerSum(b) => {
            rules.push("only the terms of layer l depend on w^(l)");
            diff(&b.other_to_l(), wrt, rules)
        }
        E::F(f, arg) => {
            let inner = diff(arg, wrt, rules);
            let outer = match f {
                Fun::Act(a) => {
                    rules.push(match a {
                        Activation::Sigmoid => "derivative of σ",
                        Activation::Tanh => "derivative of tanh",
                        Activation::Relu => "derivative of relu",
                        Activation::Softplus => "derivative of softplus",
                        Activation::Identity | Activation::Softmax => {
                            "derivative of the activation"
                        }
                    });
                    apply(Fun::Prime(*a), (**arg).clone())
                }
                Fun::Log => {
                    rules.push("derivative of ln");
                    recip((**arg).clone())
                }
                Fun::Exp => {
                    rules.push("derivative of exp");
                    e.clone()
                }
                Fun::Prime(_) => num(0),
            };
            if !matches!(**arg, E::At(..)) {
                rules.push("chain rule");
            }
            rules.dedup();
            mul(vec![outer, inner])
        }
        E::D(..) => num(0),
    }
}

// ---------------------------------------------------------------------------------------
// Simplification
// ---------------------------------------------------------------------------------------

/// One rewrite pass: a rule name and a function that returns the rewritten expression.
type Pass = (&'static str, fn(&E) -> E);

/// Applies the passes in turn until none changes the expression, recording a step (rule,
/// before, after) for each change.
fn simplify_with(e: E, passes: &[Pass], steps: &mut Vec<Step>, lhs: &E) -> E {
    let mut current = e;
    for _round in 0..50 {
        let mut changed = false;
        for (rule, pass) in passes {
            let next = fold(&pass(&current));
            if next != current {
                // A change of structure that prints the same is no step for a reader.
                if show(&next, Style::Text) == show(&current, Style::Text) {
                    current = next;
                    changed = true;
                    continue;
                }
                steps.push(Step {
                    rule: rule.to_string(),
                    lhs: lhs.clone(),
                    rhs: next.clone(),
                });
                current = next;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    current
}

const BASIC: [Pass; 4] = [
    (
        "simplify: flatten, fold constants, cancel common factors",
        fold,
    ),
    ("Kronecker delta: Σ_i f_i δ_ij = f_j", kronecker),
    (
        "simplify: constant factors out of the sum",
        factor_out_of_sums,
    ),
    ("simplify: order factors", order_factors),
];

/// Flattens nested sums and products, folds numbers, drops zeros and ones, collects equal
/// factors into powers (x·x⁻¹ = 1), and evaluates the derivative of the identity.
fn fold(e: &E) -> E {
    match e {
        E::Add(xs) => {
            let mut terms = Vec::new();
            let mut constant = (0i64, 1i64);
            for x in xs.iter().map(fold) {
                match x {
                    E::Add(inner) => terms.extend(inner),
                    E::Num(p, q) => constant = (constant.0 * q + p * constant.1, constant.1 * q),
                    other => terms.push(other),
                }
            }
            let constant = rat(constant.0, constant.1);
            if constant != num(0) {
                terms.insert(0, constant);
            }
            match terms.len() {
                0 => num(0),
                1 => terms.pop().unwrap_or(num(0)),
                _ => E::Add(terms),
            }
        }
        E::Mul(xs) => {
            let mut coefficient = (1i64, 1i64);
            let mut factors: Vec<(E, i64)> = Vec::new();
            let push = |f: E, n: i64, factors: &mut Vec<(E, i64)>| match factors
                .iter_mut()
                .find(|(b, _)| *b == f)
            {
                Some(entry) => entry.1 += n,
                None => factors.push((f, n)),
            };
            let mut stack: Vec<(E, i64)> = xs.iter().map(|x| (fold(x), 1)).collect();
            while let Some((x, n)) = stack.pop() {
                match x {
                    E::Num(p, q) if n == 1 => coefficient = (coefficient.0 * p, coefficient.1 * q),
                    E::Num(p, q) if n == -1 && p != 0 => {
                        coefficient = (coefficient.0 * q, coefficient.1 * p)
                    }
                    E::Mul(inner) if n == 1 => stack.extend(inner.into_iter().map(|f| (f, 1))),
                    E::Pow(b, m) => push(*b, m * n, &mut factors),
                    other => push(other, n, &mut factors),
                }
            }
            factors.reverse();
            let coefficient = rat(coefficient.0, coefficient.1);
            if coefficient == num(0) {
                return num(0);
            }
            let mut out: Vec<E> = Vec::new();
            if coefficient != num(1) {
                out.push(coefficient);
            }
            for (b, n) in factors {
                match n {
                    0 => {}
                    1 => out.push(b),
                    _ => out.push(E::Pow(Box::new(b), n)),
                }
            }
            match out.len() {
                0 => num(1),
                1 => out.pop().unwrap_or(num(1)),
                _ => E::Mul(out),
            }
        }
        E::Pow(b, n) => match (fold(b), n) {
            (_, 0) => num(1),
            // (2n)⁻¹ = ½·n⁻¹, so that numbers meet and fold.
            (E::Mul(fs), n) => fold(&E::Mul(
                fs.into_iter().map(|f| E::Pow(Box::new(f), *n)).collect(),
            )),
            (b, 1) => b,
            (E::Num(p, q), -1) if p != 0 => rat(q, p),
            (E::Pow(inner, m), n) => E::Pow(inner, m * n),
            (b, n) => E::Pow(Box::new(b), *n),
        },
        E::Sum(i, l, b) => match fold(b) {
            E::Num(0, _) => num(0),
            b => E::Sum(*i, *l, Box::new(b)),
        },
        E::LayerSum(b) => E::LayerSum(Box::new(fold(b))),
        E::F(Fun::Prime(Activation::Identity), _) => num(1),
        E::F(f, b) => E::F(*f, Box::new(fold(b))),
        E::Kron(a, b) if a == b => num(1),
        E::D(a, b) => E::D(Box::new(fold(a)), Box::new(fold(b))),
        _ => e.clone(),
    }
}

/// Σ_i f_i δ_ij = f_j: a sum whose summand has a Kronecker delta of its own index as a factor
/// collapses to the one term where the indices agree. A sum of terms is first split into
/// sums of each term, so that every term meets its delta.
fn kronecker(e: &E) -> E {
    match e {
        E::Sum(i, l, body) => {
            let body = kronecker(body);
            match body {
                E::Add(terms) => E::Add(terms.into_iter().map(|t| sum(*i, *l, t)).collect()),
                E::Kron(a, b) if a == *i || b == *i => num(1),
                E::Mul(factors) => {
                    let found = factors
                        .iter()
                        .position(|f| matches!(f, E::Kron(a, b) if (*a == *i) != (*b == *i)));
                    match found {
                        Some(p) => {
                            let E::Kron(a, b) = &factors[p] else {
                                return sum(*i, *l, E::Mul(factors));
                            };
                            let other = if *a == *i { *b } else { *a };
                            let mut rest = factors.clone();
                            rest.remove(p);
                            E::Mul(rest).rename(*i, other)
                        }
                        None => sum(*i, *l, E::Mul(factors)),
                    }
                }
                other => sum(*i, *l, other),
            }
        }
        E::Add(xs) => E::Add(xs.iter().map(kronecker).collect()),
        E::Mul(xs) => {
            // A factor (… δ_ij …) + (…) inside a sum over i: distribute it, so each term
            // meets its delta.
            let xs: Vec<E> = xs.iter().map(kronecker).collect();
            if let Some(p) = xs
                .iter()
                .position(|x| matches!(x, E::Add(ts) if ts.iter().any(E::contains_kron)))
            {
                let E::Add(terms) = &xs[p] else {
                    return E::Mul(xs);
                };
                return E::Add(
                    terms
                        .iter()
                        .map(|t| {
                            let mut f = xs.clone();
                            f[p] = t.clone();
                            E::Mul(f)
                        })
                        .collect(),
                );
            }
            E::Mul(xs)
        }
        E::Pow(b, n) => E::Pow(Box::new(kronecker(b)), *n),
        E::LayerSum(b) => E::LayerSum(Box::new(kronecker(b))),
        E::F(f, b) => E::F(*f, Box::new(kronecker(b))),
        _ => e.clone(),
    }
}

/// Σ_i c·f_i = c·Σ_i f_i for factors c that do not mention i.
fn factor_out_of_sums(e: &E) -> E {
    match e {
        E::Sum(i, l, body) => {
            let body = factor_out_of_sums(body);
            match body {
                E::Mul(factors) if factors.iter().any(|f| !f.mentions(*i)) => {
                    let (outside, inside): (Vec<E>, Vec<E>) =
                        factors.into_iter().partition(|f| !f.mentions(*i));
                    if inside.is_empty() {
                        return E::Mul(outside);
                    }
                    let mut out = outside;
                    out.push(sum(*i, *l, E::Mul(inside)));
                    E::Mul(out)
                }
                other => sum(*i, *l, other),
            }
        }
        E::Add(xs) => E::Add(xs.iter().map(factor_out_of_sums).collect()),
        E::Mul(xs) => E::Mul(xs.iter().map(factor_out_of_sums).collect()),
        E::Pow(b, n) => E::Pow(Box::new(factor_out_of_sums(b)), *n),
        E::F(f, b) => E::F(*f, Box::new(factor_out_of_sums(b))),
        _ => e.clone(),
    }
}

/// The order a textbook writes factors in: number, weights, activations and targets,
/// sums, error terms, derivatives of activations; the sign of a leading −1 moved into a
/// two-term difference (−(y − a) = a − y).
fn order_factors(e: &E) -> E {
    fn rank(f: &E) -> u8 {
        match f {
            E::Num(..) => 0,
            E::At(Quantity::Lambda | Quantity::N, ..) => 1,
            E::At(Quantity::W, ..) => 2,
            E::D(..) => 3,
            E::At(Quantity::Delta, ..) => 7,
            E::Sum(..) => 4,
            E::F(Fun::Prime(_), _) => 8,
            E::Pow(_, n) if *n < 0 => 9,
            _ => 5,
        }
    }
    match e {
        E::Mul(xs) => {
            let mut xs: Vec<E> = xs.iter().map(order_factors).collect();
            xs.sort_by_key(rank);
            if let (Some(E::Num(p, q)), true) = (xs.first(), xs.len() >= 2) {
                let flippable = xs
                    .iter()
                    .filter(|x| matches!(x, E::Add(ts) if ts.len() == 2 && negative(&ts[0]) != negative(&ts[1])))
                    .count();
                if *p < 0 && flippable == 1 {
                    let (p, q) = (-*p, *q);
                    let mut out = Vec::new();
                    if (p, q) != (1, 1) {
                        out.push(E::Num(p, q));
                    }
                    for x in xs.into_iter().skip(1) {
                        match x {
                            E::Add(ts) if ts.len() == 2 && negative(&ts[0]) != negative(&ts[1]) => {
                                let mut flipped: Vec<E> =
                                    ts.iter().map(|t| fold(&neg(t.clone()))).collect();
                                flipped.sort_by_key(negative);
                                out.push(E::Add(flipped));
                            }
                            other => out.push(other),
                        }
                    }
                    return if out.len() == 1 {
                        out.pop().unwrap_or(num(1))
                    } else {
                        E::Mul(out)
                    };
                }
            }
            E::Mul(xs)
        }
        E::Add(xs) => {
            let mut xs: Vec<E> = xs.iter().map(order_factors).collect();
            // A negative term first reads badly: −y + a is a − y.
            if xs.first().is_some_and(negative) {
                xs.sort_by_key(negative);
            }
            E::Add(xs)
        }
        E::Sum(i, l, b) => E::Sum(*i, *l, Box::new(order_factors(b))),
        E::Pow(b, n) => E::Pow(Box::new(order_factors(b)), *n),
        E::F(f, b) => E::F(*f, Box::new(order_factors(b))),
        _ => e.clone(),
    }
}

fn negative(e: &E) -> bool {
    match e {
        E::Num(p, _) => *p < 0,
        E::Mul(xs) => matches!(xs.first(), Some(E::Num(p, _)) if *p < 0),
        E::Sum(_, _, body) => negative(body),
        _ => false,
    }
}

/// Products over sums multiplied out, equal factors cancelled, like terms collected: tried
/// where denominators may cancel, kept only if the result is smaller.
fn expand_products(e: &E) -> E {
    match e {
        E::Mul(xs) => {
            let xs: Vec<E> = xs.iter().map(expand_products).collect();
            // Multiply out the first sum first: the one holding a denominator if any, so
            // that it meets the factor that cancels it while that factor is still whole.
            let p = xs
                .iter()
                .position(|x| matches!(x, E::Add(_)) && x.has_denominator())
                .or_else(|| xs.iter().position(|x| matches!(x, E::Add(_))));
            match p {
                Some(p) => {
                    let E::Add(terms) = &xs[p] else {
                        return E::Mul(xs);
                    };
                    let spread = E::Add(
                        terms
                            .iter()
                            .map(|t| {
                                let mut f = xs.clone();
                                f[p] = t.clone();
                                fold(&E::Mul(f))
                            })
                            .collect(),
                    );
                    expand_products(&fold(&spread))
                }
                None => fold(&E::Mul(xs)),
            }
        }
        E::Add(xs) => fold(&E::Add(xs.iter().map(expand_products).collect())),
        E::Sum(i, l, b) => E::Sum(*i, *l, Box::new(expand_products(b))),
        _ => e.clone(),
    }
}

/// Terms that differ only in their numeric coefficient are added (y·a − y·a = 0).
fn collect_terms(e: &E) -> E {
    match e {
        E::Add(xs) => {
            let mut groups: Vec<(E, (i64, i64))> = Vec::new();
            for x in xs.iter().map(collect_terms) {
                let (c, rest) = match x {
                    E::Num(p, q) => ((p, q), num(1)),
                    E::Mul(ref fs) => match fs.first() {
                        Some(E::Num(p, q)) => {
                            let rest = fs[1..].to_vec();
                            (
                                (*p, *q),
                                if rest.len() == 1 {
                                    rest[0].clone()
                                } else {
                                    E::Mul(rest)
                                },
                            )
                        }
                        _ => ((1, 1), x.clone()),
                    },
                    other => ((1, 1), other),
                };
                match groups.iter_mut().find(|(r, _)| *r == rest) {
                    Some(g) => g.1 = (g.1.0 * c.1 + c.0 * g.1.1, g.1.1 * c.1),
                    None => groups.push((rest, c)),
                }
            }
            fold(&E::Add(
                groups
                    .into_iter()
                    .map(|(rest, (p, q))| mul(vec![rat(p, q), rest]))
                    .collect(),
            ))
        }
        E::Mul(xs) => fold(&E::Mul(xs.iter().map(collect_terms).collect())),
        E::Sum(i, l, b) => E::Sum(*i, *l, Box::new(collect_terms(b))),
        _ => e.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// The derivation
// ---------------------------------------------------------------------------------------

/// One step: `lhs = rhs`, justified by `rule`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub rule: String,
    pub lhs: E,
    pub rhs: E,
}

/// Which layers an equation holds for.
#[derive(Clone, Debug, PartialEq)]
pub enum Layers {
    /// The output layer L.
    Output,
    /// The general layer l, for these layers.
    General(Vec<usize>),
}

/// One derived equation in index form.
#[derive(Clone, Debug, PartialEq)]
pub struct Equation {
    /// `BP1` … `BP4`.
    pub label: &'static str,
    pub title: String,
    pub layers: Layers,
    pub steps: Vec<Step>,
    pub lhs: E,
    pub rhs: E,
}

/// A definition of the network, as the derivation starts from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub lhs: E,
    pub rhs: E,
    pub note: String,
}

/// The whole layered derivation.
#[derive(Clone, Debug, PartialEq)]
pub struct Layered {
    pub spec: NetworkSpec,
    pub definitions: Vec<Definition>,
    pub equations: Vec<Equation>,
    pub matrix: Vec<MatrixEquation>,
}

/// z^(l)_i = Σ_m w^(l)_im a^(l−1)_m + b^(l)_i, in the layer and indices asked for.
fn weighted_input(spec: &NetworkSpec, layer: Layer, i: Ix, m: Ix) -> E {
    let below = match layer {
        Layer::Rel(r) => Layer::Rel(r - 1),
        other => other,
    };
    let mut terms = vec![sum(
        m,
        below,
        mul(vec![
            at(Quantity::W, layer, &[i, m]),
            at(Quantity::A, below, &[m]),
        ]),
    )];
    if spec.biases {
        terms.push(at(Quantity::B, layer, &[i]));
    }
    add(terms)
}

/// The cost as a sum over the output neurons, index `i` (without the L2 term).
fn data_cost(spec: &NetworkSpec, i: Ix) -> E {
    let a = at(Quantity::A, Layer::Out, &[i]);
    let body = match spec.cost {
        CostKind::Quadratic | CostKind::HalfQuadratic => E::Pow(Box::new(sub(y(i), a)), 2),
        CostKind::CrossEntropy => add(vec![
            mul(vec![y(i), apply(Fun::Log, a.clone())]),
            mul(vec![sub(num(1), y(i)), apply(Fun::Log, sub(num(1), a))]),
        ]),
        CostKind::LogLikelihood => mul(vec![y(i), apply(Fun::Log, a)]),
    };
    let total = sum(i, Layer::Out, body);
    match spec.cost {
        CostKind::Quadratic => total,
        CostKind::HalfQuadratic => mul(vec![rat(1, 2), total]),
        CostKind::CrossEntropy | CostKind::LogLikelihood => neg(total),
    }
}

/// λ/(2n) Σ_l′ Σ_i Σ_m (w^(l′)_im)².
fn l2_term() -> E {
    mul(vec![
        scalar(Quantity::Lambda),
        recip(mul(vec![num(2), scalar(Quantity::N)])),
        E::LayerSum(Box::new(sum(
            'i',
            Layer::Other,
            sum(
                'm',
                Layer::Other,
                E::Pow(Box::new(at(Quantity::W, Layer::Other, &['i', 'm'])), 2),
            ),
        ))),
    ])
}

/// a^(l)_j as a function of z^(l)_j, and the rule that names the derivative used for it.
fn activation_of(act: Activation, layer: Layer, j: Ix) -> E {
    apply(Fun::Act(act), at(Quantity::Z, layer, &[j]))
}

/// Derives BP1–BP4 and their matrix form for the network.
pub fn derive(spec: &NetworkSpec) -> Layered {
    let layers = spec.layers();
    let out_act = spec.activation(layers);
    let mut definitions = vec![Definition {
        lhs: at(Quantity::Z, Layer::Rel(0), &['j']),
        rhs: weighted_input(spec, Layer::Rel(0), 'j', 'k'),
        note: "l = 2, …, L; layer 1 holds the inputs".to_string(),
    }];
    for (act, ls) in activation_groups(spec) {
        let rhs = if act == Activation::Softmax {
            mul(vec![
                apply(Fun::Exp, at(Quantity::Z, Layer::Rel(0), &['j'])),
                recip(sum(
                    'k',
                    Layer::Rel(0),
                    apply(Fun::Exp, at(Quantity::Z, Layer::Rel(0), &['k'])),
                )),
            ])
        } else {
            activation_of(act, Layer::Rel(0), 'j')
        };
        definitions.push(Definition {
            lhs: at(Quantity::A, Layer::Rel(0), &['j']),
            rhs,
            note: layer_list(&ls, layers),
        });
    }
    let mut c = data_cost(spec, 'j');
    if spec.l2 {
        c = add(vec![c, l2_term()]);
    }
    definitions.push(Definition {
        lhs: cost(),
        rhs: c,
        note: format!("cost: {}", spec.cost.name()),
    });
    definitions.push(Definition {
        lhs: at(Quantity::Delta, Layer::Rel(0), &['j']),
        rhs: d(cost(), at(Quantity::Z, Layer::Rel(0), &['j'])),
        note: "the error of neuron j in layer l".to_string(),
    });

    let mut equations = vec![bp1(spec, out_act)];
    for (act, ls) in activation_groups(spec) {
        let hidden: Vec<usize> = ls.into_iter().filter(|&l| l < layers).collect();
        if !hidden.is_empty() {
            equations.push(bp2(spec, act, hidden));
        }
    }
    let all: Vec<usize> = (2..=layers).collect();
    if spec.biases {
        equations.push(bp3(spec, all.clone()));
    }
    equations.push(bp4(spec, all));
    let matrix = equations.iter().map(to_matrix).collect();
    Layered {
        spec: spec.clone(),
        definitions,
        equations,
        matrix,
    }
}

/// The layers after the input grouped by activation, in order of first appearance.
fn activation_groups(spec: &NetworkSpec) -> Vec<(Activation, Vec<usize>)> {
    let mut groups: Vec<(Activation, Vec<usize>)> = Vec::new();
    for l in 2..=spec.layers() {
        let a = spec.activation(l);
        match groups.iter_mut().find(|(g, _)| *g == a) {
            Some((_, ls)) => ls.push(l),
            None => groups.push((a, vec![l])),
        }
    }
    groups
}

/// "l = 2, …, 4", "l = 3", "l = 2, 4".
pub fn layer_list(ls: &[usize], layers: usize) -> String {
    let contiguous = ls.windows(2).all(|w| w[1] == w[0] + 1);
    match ls {
        [one] if *one == layers => format!("l = L = {one}"),
        [one] => format!("l = {one}"),
        [first, second] => format!("l = {first}, {second}"),
        [first, .., last] if contiguous && *last == layers => format!("l = {first}, …, L"),
        [first, .., last] if contiguous && *last + 1 == layers => format!("l = {first}, …, L−1"),
        [first, .., last] if contiguous => format!("l = {first}, …, {last}"),
        _ => {
            let s: Vec<String> = ls.iter().map(usize::to_string).collect();
            format!("l ∈ {{{}}}", s.join(", "))
        }
    }
}

/// Appends a step `lhs = rhs` (rule).
fn step(steps: &mut Vec<Step>, rule: &str, lhs: &E, rhs: E) -> E {
    steps.push(Step {
        rule: rule.to_string(),
        lhs: lhs.clone(),
        rhs: rhs.clone(),
    });
    rhs
}

/// Differentiates, recording the raw result with the rules used, then simplifies.
fn differentiate(of: &E, wrt: &E, steps: &mut Vec<Step>) -> E {
    let lhs = d(of.clone(), wrt.clone());
    let mut rules = Vec::new();
    // The rules' output is flattened at once (no `x^1`, `0 +`), so the step reads as a
    // textbook writes it; the rules are named all the same.
    let raw = fold(&diff(of, wrt, &mut rules));
    step(steps, &rules.join(", "), &lhs, raw.clone());
    simplify_with(raw, &BASIC, steps, &lhs)
}

/// BP1: δ^L_j = Σ_i ∂C/∂a^L_i ∂a^L_i/∂z^L_j, with the cost's and activation's derivatives.
fn bp1(spec: &NetworkSpec, act: Activation) -> Equation {
    let mut steps = Vec::new();
    let lhs = at(Quantity::Delta, Layer::Out, &['j']);
    let z_j = at(Quantity::Z, Layer::Out, &['j']);
    let a_i = at(Quantity::A, Layer::Out, &['i']);
    let dc_da = |i: Ix| d(cost(), at(Quantity::A, Layer::Out, &[i]));
    step(&mut steps, "definition of δ", &lhs, d(cost(), z_j.clone()));
    let local = d(a_i.clone(), z_j.clone());
    let mut rhs = step(
        &mut steps,
        "chain rule: C depends on z^L_j through the activations a^L_i",
        &lhs,
        sum('i', Layer::Out, mul(vec![dc_da('i'), local.clone()])),
    );

    // ∂a^L_i/∂z^L_j from the activation.
    let local_value = if act == Activation::Softmax {
        let a_j = at(Quantity::A, Layer::Out, &['j']);
        step(
            &mut steps,
            "derivative of softmax: ∂a_i/∂z_j = a_i(δ_ij − a_j)",
            &local,
            mul(vec![a_i.clone(), sub(E::Kron('i', 'j'), a_j)]),
        )
    } else {
        let definition = activation_of(act, Layer::Out, 'i');
        step(
            &mut steps,
            "definition of a^L_i",
            &local,
            d(definition.clone(), z_j.clone()),
        );
        differentiate(&definition, &z_j, &mut steps)
    };
    rhs = step(
        &mut steps,
        "substitute",
        &lhs,
        rhs.replace(&local, &local_value),
    );
    rhs = simplify_with(rhs, &BASIC, &mut steps, &lhs);

    // ∂C/∂a^L_j from the cost (the L2 term does not depend on a).
    let c = data_cost(spec, 'm');
    let wrt = at(Quantity::A, Layer::Out, &['j']);
    let mut sub_steps = Vec::new();
    if spec.l2 {
        sub_steps.push(Step {
            rule: "the L2 term does not depend on the activations".into(),
            lhs: dc_da('j'),
            rhs: d(c.clone(), wrt.clone()),
        });
    }
    let dcost = differentiate(&c, &wrt, &mut sub_steps);
    steps.extend(sub_steps);
    // The derivative is for index j; the chain rule may need it for index i.
    let mut substituted = rhs.replace(&dc_da('j'), &dcost);
    substituted = substituted.replace(&dc_da('i'), &dcost.rename('j', 'i'));
    rhs = step(&mut steps, "substitute ∂C/∂a^L", &lhs, substituted);
    rhs = simplify_with(rhs, &BASIC, &mut steps, &lhs);

    // Where the cost's derivative has denominators, writing σ' in terms of a may cancel them.
    rhs = try_cancellation(spec, act, rhs, &lhs, &mut steps);
    Equation {
        label: "BP1",
        title: "the error of the output layer".into(),
        layers: Layers::Output,
        steps,
        lhs,
        rhs,
    }
}

/// Writes σ'(z) = a(1 − a) (tanh'(z) = 1 − a²), multiplies out, cancels and collects; with a
/// softmax output and the log-likelihood cost uses Σ_i y_i = 1. Keeps the steps only if the
/// result is smaller than what it started from.
fn try_cancellation(
    spec: &NetworkSpec,
    act: Activation,
    rhs: E,
    lhs: &E,
    steps: &mut Vec<Step>,
) -> E {
    let mut trial = Vec::new();
    let z = at(Quantity::Z, Layer::Out, &['j']);
    let a = at(Quantity::A, Layer::Out, &['j']);
    let prime = apply(Fun::Prime(act), z);
    let mut e = rhs.clone();
    if rhs.has_denominator() || act == Activation::Softmax {
        let in_a = match act {
            Activation::Sigmoid => Some((
                "σ'(z) = σ(z)(1 − σ(z)) = a(1 − a)",
                mul(vec![a.clone(), sub(num(1), a.clone())]),
            )),
            Activation::Tanh => Some((
                "tanh'(z) = 1 − tanh²(z) = 1 − a²",
                sub(num(1), E::Pow(Box::new(a.clone()), 2)),
            )),
            _ => None,
        };
        if let Some((rule, value)) = in_a {
            e = step(&mut trial, rule, lhs, fold(&e.replace(&prime, &value)));
        }
        let spread = expand_products(&e);
        if spread != e {
            e = step(
                &mut trial,
                "multiply out and cancel common factors",
                lhs,
                spread,
            );
        }
        e = simplify_with(e, &BASIC, &mut trial, lhs);
        let collected = collect_terms(&e);
        if collected != e {
            e = step(&mut trial, "collect like terms", lhs, collected);
        }
        if spec.cost == CostKind::LogLikelihood {
            let total = sum('i', Layer::Out, y('i'));
            let replaced = fold(&e.replace(&total, &num(1)));
            if replaced != e {
                e = step(
                    &mut trial,
                    "the targets are a distribution: Σ_i y_i = 1",
                    lhs,
                    replaced,
                );
            }
        }
        e = simplify_with(e, &BASIC, &mut trial, lhs);
    }
    if e.size() < rhs.size() {
        steps.extend(trial);
        e
    } else {
        rhs
    }
}

/// BP2: δ^(l)_j = Σ_i δ^(l+1)_i ∂z^(l+1)_i/∂z^(l)_j for the hidden layers with activation `act`.
fn bp2(spec: &NetworkSpec, act: Activation, hidden: Vec<usize>) -> Equation {
    let mut steps = Vec::new();
    let lhs = at(Quantity::Delta, Layer::Rel(0), &['j']);
    let z_j = at(Quantity::Z, Layer::Rel(0), &['j']);
    let z_up = at(Quantity::Z, Layer::Rel(1), &['i']);
    step(&mut steps, "definition of δ", &lhs, d(cost(), z_j.clone()));
    let local = d(z_up.clone(), z_j.clone());
    let rhs = step(
        &mut steps,
        "chain rule: z^(l)_j reaches C only through the weighted inputs z^(l+1)_i",
        &lhs,
        sum(
            'i',
            Layer::Rel(1),
            mul(vec![d(cost(), z_up.clone()), local.clone()]),
        ),
    );
    let mut rhs = step(
        &mut steps,
        "definition of δ^(l+1)",
        &lhs,
        rhs.replace(
            &d(cost(), z_up),
            &at(Quantity::Delta, Layer::Rel(1), &['i']),
        ),
    );
    // z^(l+1)_i = Σ_k w^(l+1)_ik a^(l)_k + b^(l+1)_i with a^(l)_k = f(z^(l)_k).
    let definition = weighted_input(spec, Layer::Rel(1), 'i', 'k');
    step(
        &mut steps,
        "definition of z^(l+1)_i",
        &local,
        d(definition.clone(), z_j.clone()),
    );
    let a_k = at(Quantity::A, Layer::Rel(0), &['k']);
    let through = definition.replace(&a_k, &activation_of(act, Layer::Rel(0), 'k'));
    step(
        &mut steps,
        "definition of a^(l)_k",
        &local,
        d(through.clone(), z_j.clone()),
    );
    let local_value = differentiate(&through, &z_j, &mut steps);
    rhs = step(
        &mut steps,
        "substitute",
        &lhs,
        rhs.replace(&local, &local_value),
    );
    rhs = simplify_with(rhs, &BASIC, &mut steps, &lhs);
    Equation {
        label: "BP2",
        title: "the error of a hidden layer, from the layer above".into(),
        layers: Layers::General(hidden),
        steps,
        lhs,
        rhs,
    }
}

/// BP3: ∂C/∂b^(l)_j = Σ_i δ^(l)_i ∂z^(l)_i/∂b^(l)_j.
fn bp3(spec: &NetworkSpec, ls: Vec<usize>) -> Equation {
    let wrt = at(Quantity::B, Layer::Rel(0), &['j']);
    through_z(spec, "BP3", "the gradient of the biases", wrt, ls)
}

/// BP4: ∂C/∂w^(l)_jk = Σ_i δ^(l)_i ∂z^(l)_i/∂w^(l)_jk (+ the L2 term's own derivative).
fn bp4(spec: &NetworkSpec, ls: Vec<usize>) -> Equation {
    let wrt = at(Quantity::W, Layer::Rel(0), &['j', 'k']);
    through_z(spec, "BP4", "the gradient of the weights", wrt, ls)
}

fn through_z(
    spec: &NetworkSpec,
    label: &'static str,
    title: &str,
    wrt: E,
    ls: Vec<usize>,
) -> Equation {
    let mut steps = Vec::new();
    let lhs = d(cost(), wrt.clone());
    let z_i = at(Quantity::Z, Layer::Rel(0), &['i']);
    let local = d(z_i.clone(), wrt.clone());
    let mut terms = vec![sum(
        'i',
        Layer::Rel(0),
        mul(vec![d(cost(), z_i.clone()), local.clone()]),
    )];
    let is_weight = matches!(wrt, E::At(Quantity::W, ..));
    let direct = d(l2_term(), wrt.clone());
    let rule = if spec.l2 && is_weight {
        terms.push(direct.clone());
        "chain rule through the weighted inputs z^(l)_i, plus the L2 term, which holds w directly"
    } else {
        "chain rule: the parameter reaches C only through the weighted inputs z^(l)_i"
    };
    let rhs = step(&mut steps, rule, &lhs, add(terms));
    let mut rhs = step(
        &mut steps,
        "definition of δ^(l)",
        &lhs,
        rhs.replace(&d(cost(), z_i), &at(Quantity::Delta, Layer::Rel(0), &['i'])),
    );
    let definition = weighted_input(spec, Layer::Rel(0), 'i', 'm');
    step(
        &mut steps,
        "definition of z^(l)_i",
        &local,
        d(definition.clone(), wrt.clone()),
    );
    let local_value = differentiate(&definition, &wrt, &mut steps);
    rhs = step(
        &mut steps,
        "substitute",
        &lhs,
        rhs.replace(&local, &local_value),
    );
    if spec.l2 && is_weight {
        let value = differentiate(&l2_term(), &wrt, &mut steps);
        rhs = step(&mut steps, "substitute", &lhs, rhs.replace(&direct, &value));
    }
    rhs = simplify_with(rhs, &BASIC, &mut steps, &lhs);
    Equation {
        label,
        title: title.into(),
        layers: Layers::General(ls),
        steps,
        lhs,
        rhs,
    }
}

// ---------------------------------------------------------------------------------------
// Matrix form
// ---------------------------------------------------------------------------------------

/// An expression over vectors (one entry per neuron of a layer) and matrices.
#[derive(Clone, Debug, PartialEq)]
pub enum M {
    Num(i64, i64),
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
    pub rules: Vec<String>,
}

/// The index form of an equation read as vectors and matrices. The rules cover every result
/// the derivation produces for any network the shorthand accepts (a test enumerates them all);
/// were one not covered, the right-hand side would read 0, which the agreement tests catch.
fn to_matrix(eq: &Equation) -> MatrixEquation {
    let mut rules: Vec<String> =
        vec!["components to vectors: x_j for every j is the vector x".into()];
    let lhs = match &eq.lhs {
        E::At(Quantity::Delta, Some(l), _) => M::Vector(Quantity::Delta, Some(*l)),
        E::D(_, wrt) => match &**wrt {
            E::At(q, Some(l), _) => M::Grad(*q, *l),
            _ => M::Num(0, 1),
        },
        _ => M::Num(0, 1),
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
    let rhs = translate(&eq.rhs, row, col, &mut rules).unwrap_or(M::Num(0, 1));
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
        E::Num(p, q) => Some(M::Num(*p, *q)),
        E::At(q @ (Quantity::Lambda | Quantity::N), ..) => Some(M::Scalar(*q)),
        E::At(Quantity::W, Some(l), ix) => {
            if Some(ix[0]) == row && Some(ix[1]) == col {
                Some(M::Matrix(*l))
            } else if Some(ix[1]) == row && Some(ix[0]) == col {
                note(rules, "transpose: (Wᵀ)_jk = w_kj");
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
                note(rules, "outer product: u_j v_k = (u vᵀ)_jk");
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
                    note(rules, "Hadamard product: u_j v_j = (u ⊙ v)_j");
                    M::Hadamard(vs)
                } else {
                    vs.pop().unwrap_or(M::Num(1, 1))
                }
            };
            let mut body = Vec::new();
            if !rows.is_empty() && !cols.is_empty() {
                note(rules, "outer product: u_j v_k = (u vᵀ)_jk");
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
                    note(rules, "transpose: Σ_i w_ij v_i = (Wᵀ v)_j");
                    M::T(Box::new(M::Matrix(*wl)))
                } else {
                    note(rules, "matrix product: Σ_k w_jk v_k = (W v)_j");
                    M::Matrix(*wl)
                };
                return Some(M::Apply(Box::new(w), Box::new(v)));
            }
            if free(body) != (false, false) {
                return None;
            }
            note(rules, "inner product: Σ_i u_i v_i = uᵀv");
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

// ---------------------------------------------------------------------------------------
// Numbers: both forms evaluated for the actual widths
// ---------------------------------------------------------------------------------------

/// The numbers of one network at one point. Vectors and matrices are indexed from 0 for
/// neuron 1; `w[l]`, `b[l]`, `z[l]`, `a[l]` for layer l (entries 0 and 1 of `w`, `b`, `z`
/// are unused; `a[1]` is the input).
#[derive(Clone, Debug, Default)]
pub struct Point {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub w: Vec<Vec<Vec<f64>>>,
    pub b: Vec<Vec<f64>>,
    pub lambda: f64,
    pub n: f64,
    pub z: Vec<Vec<f64>>,
    pub a: Vec<Vec<f64>>,
}

/// ∂C/∂w and ∂C/∂b for every layer, laid out like [`Point`]'s `w` and `b`, and δ.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gradients {
    pub delta: Vec<Vec<f64>>,
    pub w: Vec<Vec<Vec<f64>>>,
    pub b: Vec<Vec<f64>>,
}

fn act_f64(a: Activation, z: f64) -> f64 {
    match a {
        Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        Activation::Tanh => z.tanh(),
        Activation::Relu => z.max(0.0),
        Activation::Softplus => z.exp().ln_1p(),
        Activation::Identity | Activation::Softmax => z,
    }
}

fn prime_f64(a: Activation, z: f64) -> f64 {
    match a {
        Activation::Sigmoid => {
            let s = act_f64(a, z);
            s * (1.0 - s)
        }
        Activation::Tanh => 1.0 - z.tanh().powi(2),
        Activation::Relu => {
            if z > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::Softplus => act_f64(Activation::Sigmoid, z),
        Activation::Identity | Activation::Softmax => 1.0,
    }
}

fn fun_f64(f: Fun, v: f64) -> f64 {
    match f {
        Fun::Act(a) => act_f64(a, v),
        Fun::Prime(a) => prime_f64(a, v),
        Fun::Log => v.ln(),
        Fun::Exp => v.exp(),
    }
}

impl Point {
    /// A point with the given parameters, inputs and targets; the forward pass (z, a) is
    /// computed from the definitions z = W a + b, a = f(z) (softmax at the output if so).
    pub fn new(
        spec: &NetworkSpec,
        x: Vec<f64>,
        y: Vec<f64>,
        w: Vec<Vec<Vec<f64>>>,
        b: Vec<Vec<f64>>,
        lambda: f64,
        n: f64,
    ) -> Point {
        let layers = spec.layers();
        let mut z = vec![vec![]; layers + 1];
        let mut a = vec![vec![]; layers + 1];
        a[1] = x.clone();
        // Missing entries (a caller's mistake) read as NaN rather than panicking, so a
        // comparison fails instead.
        let weight = |l: usize, j: usize, k: usize| {
            w.get(l)
                .and_then(|r| r.get(j))
                .and_then(|r| r.get(k))
                .copied()
                .unwrap_or(f64::NAN)
        };
        let bias =
            |l: usize, j: usize| b.get(l).and_then(|r| r.get(j)).copied().unwrap_or(f64::NAN);
        for l in 2..=layers {
            z[l] = (0..spec.width(l))
                .map(|j| {
                    let s: f64 = (0..spec.width(l - 1))
                        .map(|k| weight(l, j, k) * a[l - 1].get(k).copied().unwrap_or(f64::NAN))
                        .sum();
                    s + if spec.biases { bias(l, j) } else { 0.0 }
                })
                .collect();
            a[l] = if spec.activation(l) == Activation::Softmax {
                let total: f64 = z[l].iter().map(|v| v.exp()).sum();
                z[l].iter().map(|v| v.exp() / total).collect()
            } else {
                z[l].iter()
                    .map(|&v| act_f64(spec.activation(l), v))
                    .collect()
            };
        }
        Point {
            x,
            y,
            w,
            b,
            lambda,
            n,
            z,
            a,
        }
    }
}

struct Env<'a> {
    spec: &'a NetworkSpec,
    point: &'a Point,
    delta: &'a [Vec<f64>],
    l: usize,
    other: usize,
    ix: Vec<(Ix, usize)>,
}

impl Env<'_> {
    fn layer(&self, l: Layer) -> usize {
        match l {
            Layer::Out => self.spec.layers(),
            Layer::Rel(r) => (self.l as i64 + r as i64).max(0) as usize,
            Layer::Other => self.other,
        }
    }
    fn index(&self, i: Ix) -> Option<usize> {
        self.ix.iter().rev().find(|(j, _)| *j == i).map(|(_, v)| *v)
    }
}

/// The value of an index expression; `None` for an unevaluated derivative or an index out
/// of range.
fn eval_e(e: &E, env: &mut Env<'_>) -> Option<f64> {
    Some(match e {
        E::Num(p, q) => *p as f64 / *q as f64,
        E::At(q, l, ix) => {
            let layer = l.map(|l| env.layer(l)).unwrap_or(0);
            let i = match ix.first() {
                Some(&i) => env.index(i)?,
                None => 0,
            };
            let p = env.point;
            match q {
                Quantity::W => *p.w.get(layer)?.get(i)?.get(env.index(*ix.get(1)?)?)?,
                Quantity::B => *p.b.get(layer)?.get(i)?,
                Quantity::Z => *p.z.get(layer)?.get(i)?,
                Quantity::A => *p.a.get(layer)?.get(i)?,
                Quantity::Y => *p.y.get(i)?,
                Quantity::Delta => *env.delta.get(layer)?.get(i)?,
                Quantity::Lambda => p.lambda,
                Quantity::N => p.n,
                Quantity::Cost => return None,
            }
        }
        E::Kron(a, b) => {
            if env.index(*a)? == env.index(*b)? {
                1.0
            } else {
                0.0
            }
        }
        E::Add(xs) => xs.iter().map(|x| eval_e(x, env)).sum::<Option<f64>>()?,
        E::Mul(xs) => xs.iter().map(|x| eval_e(x, env)).product::<Option<f64>>()?,
        E::Pow(b, n) => eval_e(b, env)?.powi(*n as i32),
        E::Sum(i, l, body) => {
            let width = env
                .spec
                .widths
                .get(env.layer(*l).checked_sub(1)?)
                .copied()?;
            let mut total = 0.0;
            for v in 0..width {
                env.ix.push((*i, v));
                let term = eval_e(body, env);
                env.ix.pop();
                total += term?;
            }
            total
        }
        E::LayerSum(body) => {
            let mut total = 0.0;
            let saved = env.other;
            for l in 2..=env.spec.layers() {
                env.other = l;
                total += eval_e(body, env)?;
            }
            env.other = saved;
            total
        }
        E::F(f, arg) => fun_f64(*f, eval_e(arg, env)?),
        E::D(..) => return None,
    })
}

fn empty_like(spec: &NetworkSpec) -> Gradients {
    let layers = spec.layers();
    let mut g = Gradients {
        delta: vec![vec![]; layers + 1],
        w: vec![vec![]; layers + 1],
        b: vec![vec![]; layers + 1],
    };
    for l in 2..=layers {
        g.delta[l] = vec![0.0; spec.width(l)];
        g.w[l] = vec![vec![0.0; spec.width(l - 1)]; spec.width(l)];
        g.b[l] = vec![0.0; spec.width(l)];
    }
    g
}

fn holds_for(layers: &Layers, l: usize, spec: &NetworkSpec) -> bool {
    match layers {
        Layers::Output => l == spec.layers(),
        Layers::General(ls) => ls.contains(&l),
    }
}

/// The value of one index expression at a point, for layer `l` and the given values of its
/// free indices (0-based neuron numbers), with `delta` holding δ^(l) by layer (as
/// [`Gradients::delta`]). `None` where it has no value: an unevaluated derivative, an index
/// without a value or out of range.
pub fn value(
    spec: &NetworkSpec,
    point: &Point,
    delta: &[Vec<f64>],
    l: usize,
    indices: &[(Ix, usize)],
    e: &E,
) -> Option<f64> {
    let mut env = Env {
        spec,
        point,
        delta,
        l,
        other: 0,
        ix: indices.to_vec(),
    };
    eval_e(e, &mut env)
}

/// Evaluates the index-form equations at a point: δ^L from BP1, then δ^(l) from BP2 layer by
/// layer downwards, then the gradients from BP3 and BP4. `None` if an equation cannot be
/// evaluated (a layer no equation covers, an unevaluated derivative).
pub fn evaluate_index(layered: &Layered, point: &Point) -> Option<Gradients> {
    let spec = &layered.spec;
    let layers = spec.layers();
    let mut g = empty_like(spec);
    for l in (2..=layers).rev() {
        let label = if l == layers { "BP1" } else { "BP2" };
        let eq = layered
            .equations
            .iter()
            .find(|e| e.label == label && holds_for(&e.layers, l, spec))?;
        for j in 0..spec.width(l) {
            let mut env = Env {
                spec,
                point,
                delta: &g.delta,
                l,
                other: 0,
                ix: vec![('j', j)],
            };
            let v = eval_e(&eq.rhs, &mut env)?;
            g.delta[l][j] = v;
        }
    }
    for l in 2..=layers {
        for eq in layered
            .equations
            .iter()
            .filter(|e| holds_for(&e.layers, l, spec))
        {
            for j in 0..spec.width(l) {
                match eq.label {
                    "BP3" => {
                        let mut env = Env {
                            spec,
                            point,
                            delta: &g.delta,
                            l,
                            other: 0,
                            ix: vec![('j', j)],
                        };
                        g.b[l][j] = eval_e(&eq.rhs, &mut env)?;
                    }
                    "BP4" => {
                        for k in 0..spec.width(l - 1) {
                            let mut env = Env {
                                spec,
                                point,
                                delta: &g.delta,
                                l,
                                other: 0,
                                ix: vec![('j', j), ('k', k)],
                            };
                            g.w[l][j][k] = eval_e(&eq.rhs, &mut env)?;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Some(g)
}

/// A value of the matrix form.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    S(f64),
    V(Vec<f64>),
    /// Row-major.
    Mx(Vec<Vec<f64>>),
}

fn zip_with(a: Val, b: Val, f: impl Fn(f64, f64) -> f64) -> Option<Val> {
    Some(match (a, b) {
        (Val::S(x), Val::S(y)) => Val::S(f(x, y)),
        (Val::S(x), Val::V(v)) | (Val::V(v), Val::S(x)) => {
            Val::V(v.iter().map(|&e| f(e, x)).collect())
        }
        (Val::S(x), Val::Mx(m)) | (Val::Mx(m), Val::S(x)) => Val::Mx(
            m.iter()
                .map(|r| r.iter().map(|&e| f(e, x)).collect())
                .collect(),
        ),
        (Val::V(u), Val::V(v)) if u.len() == v.len() => {
            Val::V(u.iter().zip(&v).map(|(&x, &y)| f(x, y)).collect())
        }
        (Val::Mx(a), Val::Mx(b)) if a.len() == b.len() => Val::Mx(
            a.iter()
                .zip(&b)
                .map(|(r, s)| r.iter().zip(s).map(|(&x, &y)| f(x, y)).collect())
                .collect(),
        ),
        _ => return None,
    })
}

fn map_val(v: Val, f: impl Fn(f64) -> f64) -> Val {
    match v {
        Val::S(x) => Val::S(f(x)),
        Val::V(u) => Val::V(u.into_iter().map(f).collect()),
        Val::Mx(m) => Val::Mx(
            m.into_iter()
                .map(|r| r.into_iter().map(&f).collect())
                .collect(),
        ),
    }
}

fn eval_m(m: &M, env: &Env<'_>) -> Option<Val> {
    let p = env.point;
    Some(match m {
        M::Num(a, b) => Val::S(*a as f64 / *b as f64),
        M::Scalar(Quantity::Lambda) => Val::S(p.lambda),
        M::Scalar(Quantity::N) => Val::S(p.n),
        M::Scalar(_) | M::Grad(..) => return None,
        M::Vector(q, l) => {
            let layer = l.map(|l| env.layer(l)).unwrap_or(0);
            Val::V(match q {
                Quantity::Y => p.y.clone(),
                Quantity::A => p.a.get(layer)?.clone(),
                Quantity::Z => p.z.get(layer)?.clone(),
                Quantity::B => p.b.get(layer)?.clone(),
                Quantity::Delta => env.delta.get(layer)?.clone(),
                _ => return None,
            })
        }
        M::Matrix(l) => Val::Mx(p.w.get(env.layer(*l))?.clone()),
        M::Ones(l) => Val::V(vec![
            1.0;
            *env.spec.widths.get(env.layer(*l).checked_sub(1)?)?
        ]),
        M::T(inner) => match eval_m(inner, env)? {
            Val::Mx(a) => {
                let cols = a.first().map_or(0, Vec::len);
                Val::Mx(
                    (0..cols)
                        .map(|c| a.iter().map(|r| r[c]).collect())
                        .collect(),
                )
            }
            // A transposed vector only appears inside an outer product.
            other => other,
        },
        M::Apply(a, v) => match (eval_m(a, env)?, eval_m(v, env)?) {
            (Val::Mx(a), Val::V(v)) if a.iter().all(|r| r.len() == v.len()) => Val::V(
                a.iter()
                    .map(|r| r.iter().zip(&v).map(|(x, y)| x * y).sum())
                    .collect(),
            ),
            _ => return None,
        },
        M::Outer(u, v) => {
            let v = match &**v {
                M::T(inner) => inner,
                other => other,
            };
            match (eval_m(u, env)?, eval_m(v, env)?) {
                (Val::V(u), Val::V(v)) => Val::Mx(
                    u.iter()
                        .map(|x| v.iter().map(|y| x * y).collect())
                        .collect(),
                ),
                _ => return None,
            }
        }
        M::Inner(u, v) => match (eval_m(u, env)?, eval_m(v, env)?) {
            (Val::V(u), Val::V(v)) if u.len() == v.len() => {
                Val::S(u.iter().zip(&v).map(|(x, y)| x * y).sum())
            }
            _ => return None,
        },
        M::Hadamard(xs) | M::Scale(xs) => {
            let mut it = xs.iter();
            let mut acc = eval_m(it.next()?, env)?;
            for x in it {
                acc = zip_with(acc, eval_m(x, env)?, |a, b| a * b)?;
            }
            acc
        }
        M::Add(xs) => {
            let mut it = xs.iter();
            let mut acc = eval_m(it.next()?, env)?;
            for x in it {
                acc = zip_with(acc, eval_m(x, env)?, |a, b| a + b)?;
            }
            acc
        }
        M::Pow(b, n) => map_val(eval_m(b, env)?, |x| x.powi(*n as i32)),
        M::F(f, b) => map_val(eval_m(b, env)?, |x| fun_f64(*f, x)),
    })
}

/// Evaluates the matrix-form equations at a point, in the same order as [`evaluate_index`].
pub fn evaluate_matrix(layered: &Layered, point: &Point) -> Option<Gradients> {
    let spec = &layered.spec;
    let layers = spec.layers();
    let mut g = empty_like(spec);
    for l in (2..=layers).rev() {
        let label = if l == layers { "BP1" } else { "BP2" };
        let eq = layered
            .matrix
            .iter()
            .find(|e| e.label == label && holds_for(&e.layers, l, spec))?;
        let env = Env {
            spec,
            point,
            delta: &g.delta,
            l,
            other: 0,
            ix: vec![],
        };
        let Val::V(v) = eval_m(&eq.rhs, &env)? else {
            return None;
        };
        if v.len() != spec.width(l) {
            return None;
        }
        g.delta[l] = v;
    }
    for l in 2..=layers {
        for eq in layered
            .matrix
            .iter()
            .filter(|e| holds_for(&e.layers, l, spec))
        {
            let env = Env {
                spec,
                point,
                delta: &g.delta,
                l,
                other: 0,
                ix: vec![],
            };
            match (eq.label, eval_m(&eq.rhs, &env)?) {
                ("BP3", Val::V(v)) if v.len() == spec.width(l) => g.b[l] = v,
                ("BP4", Val::Mx(m)) if m.len() == spec.width(l) => g.w[l] = m,
                ("BP3" | "BP4", _) => return None,
                _ => {}
            }
        }
    }
    Some(g)
}

// ---------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------

/// How a formula is printed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unicode for a terminal: `w^(l+1)_ij`, `Σ_i`, `σ'(z^L_j)`, `⊙`.
    Text,
    Latex,
}

fn layer_text(l: Layer, style: Style) -> String {
    let inner = match l {
        Layer::Out => return "L".into(),
        Layer::Rel(0) => "l".to_string(),
        Layer::Rel(r) if r > 0 => format!("l+{r}"),
        Layer::Rel(r) => format!("l{}{}", if style == Style::Text { "−" } else { "-" }, -r),
        Layer::Other => {
            if style == Style::Text {
                "l′".into()
            } else {
                "l'".into()
            }
        }
    };
    format!("({inner})")
}

fn quantity_symbol(q: Quantity, style: Style) -> &'static str {
    match (q, style) {
        (Quantity::W, _) => "w",
        (Quantity::B, _) => "b",
        (Quantity::Z, _) => "z",
        (Quantity::A, _) => "a",
        (Quantity::Y, _) => "y",
        (Quantity::Delta, Style::Text) => "δ",
        (Quantity::Delta, Style::Latex) => "\\delta",
        (Quantity::Cost, _) => "C",
        (Quantity::Lambda, Style::Text) => "λ",
        (Quantity::Lambda, Style::Latex) => "\\lambda",
        (Quantity::N, _) => "n",
    }
}

fn atom(q: Quantity, l: Option<Layer>, ix: &[Ix], style: Style) -> String {
    let base = quantity_symbol(q, style);
    let idx: String = ix.iter().collect();
    match style {
        Style::Text => {
            let mut s = base.to_string();
            if let Some(l) = l {
                s.push('^');
                s.push_str(&layer_text(l, style));
            }
            if !idx.is_empty() {
                s.push('_');
                s.push_str(&idx);
            }
            s
        }
        Style::Latex => {
            let mut s = base.to_string();
            if let Some(l) = l {
                s.push_str(&format!("^{{{}}}", layer_text(l, style)));
            }
            if !idx.is_empty() {
                s.push_str(&format!("_{{{idx}}}"));
            }
            s
        }
    }
}

fn fun_name(f: Fun, style: Style) -> String {
    let act = |a: Activation| -> String {
        match (a, style) {
            (Activation::Sigmoid, Style::Text) => "σ".into(),
            (Activation::Sigmoid, Style::Latex) => "\\sigma".into(),
            (Activation::Tanh, Style::Latex) => "\\tanh".into(),
            (a, Style::Latex) => format!("\\operatorname{{{}}}", a.name()),
            (a, Style::Text) => a.name().into(),
        }
    };
    match f {
        Fun::Act(a) => act(a),
        Fun::Prime(a) => format!("{}'", act(a)),
        Fun::Log => {
            if style == Style::Text {
                "ln".into()
            } else {
                "\\ln".into()
            }
        }
        Fun::Exp => {
            if style == Style::Text {
                "exp".into()
            } else {
                "\\exp".into()
            }
        }
    }
}

fn number(p: i64, q: i64, style: Style) -> String {
    match (q, style) {
        (1, _) => p.to_string(),
        (_, Style::Text) => format!("{p}/{q}"),
        (_, Style::Latex) if p < 0 => format!("-\\frac{{{}}}{{{q}}}", -p),
        (_, Style::Latex) => format!("\\frac{{{p}}}{{{q}}}"),
    }
}

/// Precedence levels, loosest first.
const SUM: u8 = 0;
const PRODUCT: u8 = 1;
const ATOM: u8 = 3;

fn level(e: &E) -> u8 {
    match e {
        E::Add(xs) if xs.len() > 1 => SUM,
        E::Mul(_) | E::Sum(..) | E::LayerSum(_) => PRODUCT,
        E::Num(p, q) if *p < 0 || *q != 1 => PRODUCT,
        _ => ATOM,
    }
}

/// Prints an index expression.
pub fn show(e: &E, style: Style) -> String {
    let minus = if style == Style::Text { "−" } else { "-" };
    let wrap = |x: &E, min: u8| {
        let s = show(x, style);
        if level(x) < min {
            if style == Style::Latex {
                format!("\\left({s}\\right)")
            } else {
                format!("({s})")
            }
        } else {
            s
        }
    };
    match e {
        E::Num(p, q) => number(*p, *q, style),
        E::At(q, l, ix) => atom(*q, *l, ix, style),
        E::Kron(a, b) => match style {
            Style::Text => format!("δ_{a}{b}"),
            Style::Latex => format!("\\delta_{{{a}{b}}}"),
        },
        E::Add(xs) => {
            let mut out = String::new();
            for (n, x) in xs.iter().enumerate() {
                if n > 0 && negative(x) {
                    // − Σ_i f_i rather than + Σ_i −f_i.
                    let positive = match x {
                        E::Sum(i, l, body) => {
                            E::Sum(*i, *l, Box::new(fold(&neg((**body).clone()))))
                        }
                        other => fold(&neg(other.clone())),
                    };
                    out.push_str(&format!(" {minus} {}", wrap(&positive, PRODUCT)));
                } else if n > 0 {
                    out.push_str(&format!(" + {}", wrap(x, PRODUCT)));
                } else {
                    out.push_str(&show(x, style));
                }
            }
            out
        }
        E::Mul(xs) => {
            let (mut nums, mut dens) = (Vec::new(), Vec::new());
            let mut sign = "";
            for (n, x) in xs.iter().enumerate() {
                match x {
                    E::Num(-1, 1) if n == 0 => sign = minus,
                    E::Num(p, q) if n == 0 && *p < 0 => {
                        sign = minus;
                        nums.push(number(-p, *q, style));
                    }
                    E::Pow(b, k) if *k < 0 => dens.push(if *k == -1 {
                        (**b).clone()
                    } else {
                        E::Pow(b.clone(), -k)
                    }),
                    x => nums.push(wrap(x, PRODUCT + 1)),
                }
            }
            // A sum over neurons at the end of a product needs no parentheses: Σ reaches to
            // the right (−Σ_j y_j ln a_j), unless a denominator follows.
            if dens.is_empty()
                && let Some(last @ E::Sum(..)) = xs.last()
                && let Some(printed) = nums.last_mut()
            {
                *printed = show(last, style);
            }
            let sep = if style == Style::Text { "·" } else { " " };
            let joined = |parts: &[String]| {
                let mut out = String::new();
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        let prev_num = parts[i - 1].chars().all(|c| c.is_ascii_digit() || c == '/');
                        let juxtapose = style == Style::Text
                            && (prev_num || p.starts_with('(') || parts[i - 1].ends_with(')'));
                        if !juxtapose {
                            out.push_str(sep);
                        }
                    }
                    out.push_str(p);
                }
                out
            };
            let top = if nums.is_empty() {
                "1".to_string()
            } else {
                joined(&nums)
            };
            if dens.is_empty() {
                return format!("{sign}{top}");
            }
            let bottom: Vec<String> = dens.iter().map(|d| wrap(d, PRODUCT + 1)).collect();
            match style {
                // A fraction bar groups its denominator: no parentheses around one factor.
                Style::Latex if dens.len() == 1 => {
                    format!("{sign}\\frac{{{top}}}{{{}}}", show(&dens[0], style))
                }
                Style::Latex => format!("{sign}\\frac{{{top}}}{{{}}}", bottom.join(" ")),
                Style::Text => {
                    let b = if bottom.len() > 1 {
                        format!("({})", joined(&bottom))
                    } else {
                        bottom.join("")
                    };
                    format!("{sign}{top}/{b}")
                }
            }
        }
        E::Pow(b, n) => {
            let mut base = wrap(b, ATOM);
            // (w^{(l)}_{jk})^{2}: a decorated name takes no second superscript in LaTeX.
            if style == Style::Latex
                && (base.contains('^') || base.contains('_'))
                && level(b) == ATOM
            {
                base = format!("\\left({base}\\right)");
            }
            match style {
                Style::Text if *n == 2 => format!("{base}²"),
                Style::Text => format!("{base}^{n}"),
                Style::Latex => format!("{base}^{{{n}}}"),
            }
        }
        E::Sum(i, _, body) => {
            let inner = wrap(body, PRODUCT);
            match style {
                Style::Text => format!("Σ_{i} {inner}"),
                Style::Latex => format!("\\sum_{{{i}}} {inner}"),
            }
        }
        E::LayerSum(body) => {
            let inner = wrap(body, PRODUCT);
            match style {
                Style::Text => format!("Σ_l′ {inner}"),
                Style::Latex => format!("\\sum_{{l'}} {inner}"),
            }
        }
        E::F(f, arg) => match (f, style) {
            (Fun::Exp, Style::Latex) => format!("e^{{{}}}", show(arg, style)),
            _ => format!("{}({})", fun_name(*f, style), show(arg, style)),
        },
        E::D(of, wrt) => {
            let of_atom = matches!(**of, E::At(..));
            match style {
                Style::Text if of_atom => format!("∂{}/∂{}", show(of, style), show(wrt, style)),
                Style::Text => format!("∂/∂{} ({})", show(wrt, style), show(of, style)),
                Style::Latex if of_atom => format!(
                    "\\frac{{\\partial {}}}{{\\partial {}}}",
                    show(of, style),
                    show(wrt, style)
                ),
                Style::Latex => format!(
                    "\\frac{{\\partial}}{{\\partial {}}}\\left({}\\right)",
                    show(wrt, style),
                    show(of, style)
                ),
            }
        }
    }
}

fn m_level(m: &M) -> u8 {
    match m {
        M::Add(xs) if xs.len() > 1 => SUM,
        M::Hadamard(_) | M::Scale(_) | M::Apply(..) | M::Outer(..) | M::Inner(..) => PRODUCT,
        M::Num(p, q) if *p < 0 || *q != 1 => PRODUCT,
        _ => ATOM,
    }
}

fn m_negative(m: &M) -> bool {
    match m {
        M::Num(p, _) => *p < 0,
        M::Scale(xs) => matches!(xs.first(), Some(M::Num(p, _)) if *p < 0),
        _ => false,
    }
}

fn m_neg(m: &M) -> M {
    match m {
        M::Num(p, q) => M::Num(-p, *q),
        M::Scale(xs) => match xs.first() {
            Some(M::Num(-1, 1)) if xs.len() == 2 => xs[1].clone(),
            Some(M::Num(-1, 1)) => M::Scale(xs[1..].to_vec()),
            Some(M::Num(p, q)) => {
                let mut v = xs.clone();
                v[0] = M::Num(-p, *q);
                M::Scale(v)
            }
            _ => M::Scale(vec![M::Num(-1, 1), m.clone()]),
        },
        other => M::Scale(vec![M::Num(-1, 1), other.clone()]),
    }
}

/// Prints a matrix-form expression.
pub fn show_m(m: &M, style: Style) -> String {
    let minus = if style == Style::Text { "−" } else { "-" };
    let wrap = |x: &M, min: u8| {
        let s = show_m(x, style);
        if m_level(x) < min {
            if style == Style::Latex {
                format!("\\left({s}\\right)")
            } else {
                format!("({s})")
            }
        } else {
            s
        }
    };
    let transpose = |s: String| match style {
        Style::Text => format!("{s}ᵀ"),
        Style::Latex => format!("{s}^{{\\mathsf{{T}}}}"),
    };
    let vector = |q: Quantity, l: Option<Layer>| match (q, style) {
        (Quantity::Delta, _) | (Quantity::Lambda, _) => atom(q, l, &[], style),
        (_, Style::Text) => atom(q, l, &[], style),
        (_, Style::Latex) => {
            let s = atom(q, l, &[], style);
            format!("\\mathbf{{{}}}{}", &s[..1], &s[1..])
        }
    };
    match m {
        M::Num(p, q) => number(*p, *q, style),
        M::Scalar(q) => quantity_symbol(*q, style).to_string(),
        M::Vector(q, l) => vector(*q, *l),
        M::Matrix(l) => match style {
            Style::Text => format!("W^{}", layer_text(*l, style)),
            Style::Latex => format!("W^{{{}}}", layer_text(*l, style)),
        },
        M::Ones(_) => match style {
            Style::Text => "𝟙".into(),
            Style::Latex => "\\mathbf{1}".into(),
        },
        M::T(inner) => {
            let s = show_m(inner, style);
            let s = if matches!(**inner, M::Matrix(_) | M::Vector(..)) && s.contains('^') {
                if style == Style::Latex {
                    format!("\\left({s}\\right)")
                } else {
                    format!("({s})")
                }
            } else {
                wrap(inner, ATOM)
            };
            transpose(s)
        }
        M::Apply(a, v) => format!("{} {}", show_m(a, style), wrap(v, ATOM)),
        M::Outer(u, v) => {
            let v = match &**v {
                M::T(inner) => (**inner).clone(),
                other => other.clone(),
            };
            format!("{} {}", wrap(u, ATOM), show_m(&M::T(Box::new(v)), style))
        }
        M::Inner(u, v) => format!("{} {}", show_m(&M::T(u.clone()), style), wrap(v, ATOM)),
        M::Hadamard(xs) => {
            let op = if style == Style::Text {
                " ⊙ "
            } else {
                " \\odot "
            };
            // A scaled factor reads unparenthesised (2(a − y) ⊙ σ'(z)); a matrix product
            // keeps its parentheses.
            xs.iter()
                .map(|x| {
                    if matches!(x, M::Scale(_)) {
                        show_m(x, style)
                    } else {
                        wrap(x, ATOM)
                    }
                })
                .collect::<Vec<_>>()
                .join(op)
        }
        M::Scale(xs) => {
            let mut sign = "";
            let mut nums = Vec::new();
            let mut dens = Vec::new();
            for (n, x) in xs.iter().enumerate() {
                match x {
                    M::Num(-1, 1) if n == 0 => sign = minus,
                    M::Num(p, q) if n == 0 && *p < 0 => {
                        sign = minus;
                        nums.push(number(-p, *q, style));
                    }
                    M::Pow(b, -1) => dens.push(wrap(b, ATOM)),
                    x => nums.push(wrap(x, PRODUCT + 1)),
                }
            }
            let sep = if style == Style::Text { "·" } else { " " };
            let mut top = String::new();
            for (i, part) in nums.iter().enumerate() {
                let after_number = i > 0 && nums[i - 1].chars().all(|c| c.is_ascii_digit());
                if i > 0 && !(style == Style::Text && (after_number || part.starts_with('('))) {
                    top.push_str(sep);
                }
                top.push_str(part);
            }
            if dens.is_empty() {
                format!("{sign}{top}")
            } else if style == Style::Latex {
                format!(
                    "{sign}\\frac{{{}}}{{{}}}",
                    nums.first().cloned().unwrap_or("1".into()),
                    dens.join(" ")
                ) + &nums
                    .iter()
                    .skip(1)
                    .map(|s| format!(" {s}"))
                    .collect::<String>()
            } else {
                let first = nums.first().cloned().unwrap_or("1".into());
                let rest: String = nums.iter().skip(1).map(|s| format!(" {s}")).collect();
                format!("{sign}({first}/{}){rest}", dens.join(""))
            }
        }
        M::Add(xs) => {
            let mut out = String::new();
            for (n, x) in xs.iter().enumerate() {
                if n > 0 && m_negative(x) {
                    out.push_str(&format!(" {minus} {}", wrap(&m_neg(x), PRODUCT)));
                } else if n > 0 {
                    out.push_str(&format!(" + {}", wrap(x, PRODUCT)));
                } else {
                    out.push_str(&show_m(x, style));
                }
            }
            out
        }
        M::Pow(b, n) => match style {
            Style::Text => format!("{}^{n}", wrap(b, ATOM)),
            Style::Latex => format!("{}^{{{n}}}", wrap(b, ATOM)),
        },
        M::F(f, arg) => match (f, style) {
            (Fun::Exp, Style::Latex) => format!("e^{{{}}}", show_m(arg, style)),
            _ => format!("{}({})", fun_name(*f, style), show_m(arg, style)),
        },
        M::Grad(q, l) => {
            let of = if *q == Quantity::W {
                show_m(&M::Matrix(*l), style)
            } else {
                vector(*q, Some(*l))
            };
            match style {
                Style::Text => format!("∂C/∂{of}"),
                Style::Latex => format!("\\frac{{\\partial C}}{{\\partial {of}}}"),
            }
        }
    }
}

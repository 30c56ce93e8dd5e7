//! The algebra of indexed expressions: differentiation by an indexed quantity (naming the rules
//! it uses), and the simplification passes — folding numbers, eliminating Kronecker deltas,
//! factoring constants out of sums, the textbook order of factors, multiplying out and
//! collecting like terms — each change recorded as a step.

use super::print::{Style, show};
use super::{
    Activation, E, Fun, Quantity, Step, add, apply, mul, neg, num, recip, reciprocal, sum,
};
use crate::core::expr::Num;

/// ∂e/∂wrt, where `wrt` is an indexed quantity and every other quantity is independent of it
/// (the chain rule through intermediates is applied by the derivation, as a step of its own).
/// The rules used are collected, in order, without repetition.
pub(super) fn diff(e: &E, wrt: &E, rules: &mut Vec<&'static str>) -> E {
    let mut used = |rule: &'static str| {
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    };
    match e {
        E::Num(..) | E::Kron(..) => num(0),
        E::At(q, l, ix) => match wrt {
            E::At(wq, wl, wix) if wq == q && wl == l && wix.len() == ix.len() => {
                used("$∂x_i/∂x_j = δ_ij$");
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
            rules.push("only the terms of layer $l$ depend on $w^(l)$");
            diff(&b.other_to_l(), wrt, rules)
        }
        E::F(f, arg) => {
            let inner = diff(arg, wrt, rules);
            let outer = match f {
                Fun::Act(a) => {
                    rules.push(match a {
                        Activation::Sigmoid => "derivative of $σ$",
                        Activation::Tanh => "derivative of $tanh$",
                        Activation::Relu => "derivative of $relu$",
                        Activation::Softplus => "derivative of $softplus$",
                        Activation::Identity | Activation::Softmax => {
                            "derivative of the activation"
                        }
                    });
                    apply(Fun::Prime(*a), (**arg).clone())
                }
                Fun::Log => {
                    rules.push("derivative of $ln$");
                    recip((**arg).clone())
                }
                Fun::Exp => {
                    rules.push("derivative of $exp$");
                    e.clone()
                }
                Fun::Huber => {
                    rules.push("derivative of $huber$");
                    apply(Fun::HuberPrime, (**arg).clone())
                }
                Fun::Prime(_) | Fun::HuberPrime => num(0),
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
pub(super) type Pass = (&'static str, fn(&E) -> E);

/// Applies the passes in turn until none changes the expression, recording a step (rule,
/// before, after) for each change.
pub(super) fn simplify_with(e: E, passes: &[Pass], steps: &mut Vec<Step>, lhs: &E) -> E {
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

pub(super) const BASIC: [Pass; 5] = [
    (
        "simplify: flatten, fold constants, cancel common factors",
        fold,
    ),
    (
        "distribute: $Σ_i (f_i + g_i) = Σ_i f_i + Σ_i g_i$",
        distribute_sums,
    ),
    ("Kronecker delta: $Σ_i f_i δ_ij = f_j$", kronecker),
    (
        "simplify: constant factors out of the sum",
        factor_out_of_sums,
    ),
    ("simplify: order factors", order_factors),
];

/// Flattens nested sums and products, folds numbers, drops zeros and ones, collects equal
/// factors into powers (x·x⁻¹ = 1), and evaluates the derivative of the identity.
pub(super) fn fold(e: &E) -> E {
    match e {
        E::Add(xs) => {
            let mut terms = Vec::new();
            let mut constant = Num::ZERO;
            for x in xs.iter().map(fold) {
                match x {
                    E::Add(inner) => terms.extend(inner),
                    E::Num(c) => constant = constant.add(c),
                    other => terms.push(other),
                }
            }
            if constant != Num::ZERO {
                terms.insert(0, E::Num(constant));
            }
            match terms.len() {
                0 => num(0),
                1 => terms.pop().unwrap_or(num(0)),
                _ => E::Add(terms),
            }
        }
        E::Mul(xs) => {
            let mut coefficient = Num::ONE;
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
                    E::Num(c) if n == 1 => coefficient = coefficient.mul(c),
                    E::Num(c) if n == -1 && c != Num::ZERO => {
                        coefficient = coefficient.mul(reciprocal(c))
                    }
                    E::Mul(inner) if n == 1 => stack.extend(inner.into_iter().map(|f| (f, 1))),
                    E::Pow(b, m) => push(*b, m * n, &mut factors),
                    other => push(other, n, &mut factors),
                }
            }
            factors.reverse();
            if coefficient == Num::ZERO {
                return num(0);
            }
            let mut out: Vec<E> = Vec::new();
            if coefficient != Num::ONE {
                out.push(E::Num(coefficient));
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
            (E::Num(c), -1) if c != Num::ZERO => E::Num(reciprocal(c)),
            (E::Pow(inner, m), n) => E::Pow(inner, m * n),
            (b, n) => E::Pow(Box::new(b), *n),
        },
        E::Sum(i, l, b) => match fold(b) {
            E::Num(c) if c == Num::ZERO => num(0),
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

/// Σ_i (f_i + g_i) = Σ_i f_i + Σ_i g_i, and a factor (… δ_ij …) + (…) in a product
/// distributed over it, so that each term meets its Kronecker delta on its own: the
/// distribution is a step of its own, named for what it is, before the deltas collapse.
fn distribute_sums(e: &E) -> E {
    match e {
        E::Sum(i, l, body) => match distribute_sums(body) {
            E::Add(terms) => E::Add(terms.into_iter().map(|t| sum(*i, *l, t)).collect()),
            other => sum(*i, *l, other),
        },
        E::Add(xs) => E::Add(xs.iter().map(distribute_sums).collect()),
        E::Mul(xs) => {
            let xs: Vec<E> = xs.iter().map(distribute_sums).collect();
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
        E::Pow(b, n) => E::Pow(Box::new(distribute_sums(b)), *n),
        E::LayerSum(b) => E::LayerSum(Box::new(distribute_sums(b))),
        E::F(f, b) => E::F(*f, Box::new(distribute_sums(b))),
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
            if let (Some(&E::Num(c)), true) = (xs.first(), xs.len() >= 2) {
                let flippable = xs
                    .iter()
                    .filter(|x| matches!(x, E::Add(ts) if ts.len() == 2 && negative(&ts[0]) != negative(&ts[1])))
                    .count();
                if c.is_negative() && flippable == 1 {
                    let c = c.neg();
                    let mut out = Vec::new();
                    if c != Num::ONE {
                        out.push(E::Num(c));
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

pub(super) fn negative(e: &E) -> bool {
    match e {
        E::Num(c) => c.is_negative(),
        E::Mul(xs) => matches!(xs.first(), Some(E::Num(c)) if c.is_negative()),
        E::Sum(_, _, body) => negative(body),
        _ => false,
    }
}

/// Products over sums multiplied out, equal factors cancelled, like terms collected: tried
/// where denominators may cancel, kept only if the result is smaller.
pub(super) fn expand_products(e: &E) -> E {
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
pub(super) fn collect_terms(e: &E) -> E {
    match e {
        E::Add(xs) => {
            let mut groups: Vec<(E, Num)> = Vec::new();
            for x in xs.iter().map(collect_terms) {
                let (c, rest) = match x {
                    E::Num(c) => (c, num(1)),
                    E::Mul(ref fs) => match fs.first() {
                        Some(E::Num(c)) => {
                            let rest = fs[1..].to_vec();
                            (
                                *c,
                                if rest.len() == 1 {
                                    rest[0].clone()
                                } else {
                                    E::Mul(rest)
                                },
                            )
                        }
                        _ => (Num::ONE, x.clone()),
                    },
                    other => (Num::ONE, other),
                };
                match groups.iter_mut().find(|(r, _)| *r == rest) {
                    Some(g) => g.1 = g.1.add(c),
                    None => groups.push((rest, c)),
                }
            }
            fold(&E::Add(
                groups
                    .into_iter()
                    .map(|(rest, c)| mul(vec![E::Num(c), rest]))
                    .collect(),
            ))
        }
        E::Mul(xs) => fold(&E::Mul(xs.iter().map(collect_terms).collect())),
        E::Sum(i, l, b) => E::Sum(*i, *l, Box::new(collect_terms(b))),
        _ => e.clone(),
    }
}

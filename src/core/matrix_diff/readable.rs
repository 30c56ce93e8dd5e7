//! The matrix form made readable: the rewrites that turn a raw reverse-mode gradient into the
//! form a textbook prints (`(A Bᵀ)ᵀ = B Aᵀ`, one leading coefficient, scalars moved out of a
//! matrix product, stretches and sums over a dimension of 1 dropped), then the scalar
//! simplifier on the elementwise algebra, every result's shape checked.

use super::{OneHot, checked_shape, product, shapes_of, tensor};
use crate::core::expr::{FastMap, Graph, Id, Node, Num, Sym, TensorOp};
use crate::core::model::Model;
use crate::core::tensor::{Axis, Shape};

/// The gradients rewritten to read as a textbook writes them, by rewrites that keep every
/// entry's value (checked entry by entry against the scalar engine in `tests/vectors.rs`):
/// a first power dropped, `(A Bᵀ)ᵀ = B Aᵀ`, a product's factors 1 dropped and its numbers gathered into one leading coefficient, a
/// sum's zero terms dropped (both only for scalar numbers, which stretch), `(Aᵀ)ᵀ = A`, the
/// transpose of a 1×1, a sum over a dimension of 1 (`Σ` of a row is the sum across it), a
/// stretch to the shape a value already has, a matrix product with a 1×1 operand as a
/// scaling, and a scalar coefficient moved out of a matrix product (`(cA)B = c(AB)`).
pub(super) fn readable(model: &mut Model, hot: &OneHot, gradients: &[(Sym, Id)]) -> Vec<(Sym, Id)> {
    let roots: Vec<Id> = gradients.iter().map(|&(_, g)| g).collect();
    let mut shapes = shapes_of(model, &roots);
    let mut order = model.graph.reachable(&roots);
    order.sort_unstable();
    let mut rewritten: FastMap<Id, Id> = FastMap::default();
    for id in order {
        let node = model.graph.node(id).map_children(|c| rewritten[&c]);
        let new = rewrite(&mut model.graph, &mut shapes, hot, node);
        rewritten.insert(id, new);
    }
    gradients.iter().map(|&(p, g)| (p, rewritten[&g])).collect()
}

/// [`readable`], then the elementwise algebra simplified by the scalar simplifier, with the
/// program's names recognised (`σ′(Z2)` is `A2 ⊙ (1 − A2)`, and Ng's `(1/m)(A2 − Y)` comes
/// out of the cross-entropy's quotients). Its rules hold entry by entry, and the tensor nodes
/// are atoms to it; a rule that would change a shape (a ones-matrix `X ⊙ X⁻¹` folded to the
/// number 1 under a matrix product) is caught by checking every shape of the result, and that
/// gradient keeps its [`readable`] form.
pub(super) fn simplified(
    model: &mut Model,
    hot: &OneHot,
    gradients: &[(Sym, Id)],
) -> Vec<(Sym, Id)> {
    let first = readable(model, hot, gradients);
    let recognise: FastMap<Id, Id> = model
        .order
        .clone()
        .into_iter()
        .filter(|&u| u != model.cost)
        .filter_map(|u| Some((model.definition(u)?, model.graph_var(u))))
        .collect();
    let options = crate::core::simplify::Options::new(recognise, Vec::new());
    let roots: Vec<Id> = first.iter().map(|&(_, g)| g).collect();
    let simple = crate::core::simplify::simplify_all(&mut model.graph, &roots, &options);
    let candidate: Vec<(Sym, Id)> = first.iter().map(|&(p, _)| p).zip(simple).collect();
    let candidate = readable(model, hot, &candidate);
    first
        .into_iter()
        .zip(candidate)
        .map(|(kept, (p, g))| {
            if checked_shape(model, g) == Some(model.symbol(p).shape) {
                (p, g)
            } else {
                kept
            }
        })
        .collect()
}

/// One node, its children already rewritten.
fn rewrite(g: &mut Graph, shapes: &mut FastMap<Id, Shape>, hot: &OneHot, node: Node) -> Id {
    let shape_of =
        |shapes: &FastMap<Id, Shape>, x: Id| shapes.get(&x).copied().unwrap_or(Shape::SCALAR);
    match node {
        // A stretched scalar inside an elementwise operation stretches by the operation's own
        // rule: it is unwrapped, and the result stretched again only if its shape would shrink.
        Node::Mul(xs) => {
            let target = broadcast_of(shapes, &xs);
            let mut coefficient = Num::ONE;
            let mut factors: Vec<Id> = Vec::new();
            let mut pending: Vec<Id> = xs.to_vec();
            pending.reverse();
            while let Some(x) = pending.pop() {
                match g.node(x) {
                    Node::Num(n) => coefficient = coefficient.mul(*n),
                    Node::Mul(inner) => pending.extend(inner.iter().rev().copied()),
                    Node::Tensor(TensorOp::Broadcast(..), inner)
                        if shape_of(shapes, inner[0]).is_scalar() =>
                    {
                        pending.push(inner[0])
                    }
                    _ => factors.push(x),
                }
            }
            if coefficient != Num::ONE || factors.is_empty() {
                let c = g.num(coefficient);
                factors.insert(0, c);
            }
            let id = product(g, shapes, factors);
            stretched(g, shapes, id, target)
        }
        Node::Add(xs) => {
            let target = broadcast_of(shapes, &xs);
            let mut terms: Vec<Id> = Vec::new();
            let mut pending: Vec<Id> = xs.to_vec();
            pending.reverse();
            while let Some(x) = pending.pop() {
                match g.node(x) {
                    Node::Num(n) if n.is_zero() => {}
                    Node::Add(inner) => pending.extend(inner.iter().rev().copied()),
                    Node::Tensor(TensorOp::Broadcast(..), inner)
                        if shape_of(shapes, inner[0]).is_scalar() =>
                    {
                        pending.push(inner[0])
                    }
                    _ => terms.push(x),
                }
            }
            let shape = broadcast_of(shapes, &terms);
            // `−(1/m) Y + (1/m) P` is `(1/m)(P − Y)`: a scalar factor every term has, outside
            let common = common_scalars(g, shapes, &terms);
            if !common.is_empty() && terms.len() > 1 {
                let inner: Vec<Id> = terms
                    .iter()
                    .map(|&t| {
                        let Node::Mul(factors) = g.node(t).clone() else {
                            unreachable!("every term is a product with the common factors")
                        };
                        let rest: Vec<Id> = factors
                            .iter()
                            .copied()
                            .filter(|f| !common.contains(f))
                            .collect();
                        rewrite(g, shapes, hot, Node::Mul(rest.into()))
                    })
                    .collect();
                let sum = rewrite(g, shapes, hot, Node::Add(inner.into()));
                let mut factors = common;
                factors.push(sum);
                let id = rewrite(g, shapes, hot, Node::Mul(factors.into()));
                return stretched(g, shapes, id, target);
            }
            // the positive terms first, as `P − Y` is written
            let negative = |g: &Graph, t: Id| match g.node(t) {
                Node::Num(n) => n.is_negative(),
                Node::Mul(factors) => g.as_num(factors[0]).is_some_and(|n| n.is_negative()),
                _ => false,
            };
            let (positive, negatives): (Vec<Id>, Vec<Id>) =
                terms.iter().partition(|&&t| !negative(g, t));
            let terms: Vec<Id> = positive.into_iter().chain(negatives).collect();
            let id = match common_coefficient(g, &terms) {
                // `A2/4 − Y/4` is `(1/4)(A2 − Y)`
                Some(c) if terms.len() > 1 => {
                    let Num::Rat(p, q) = c else {
                        unreachable!("only exact coefficients are factored out")
                    };
                    let inverse = Num::ratio(q as i128, p as i128);
                    let inner: Vec<Id> = terms
                        .iter()
                        .map(|&t| {
                            let k = g.num(inverse);
                            rewrite(g, shapes, hot, Node::Mul(Box::new([k, t])))
                        })
                        .collect();
                    let sum = g.sum(inner);
                    shapes.insert(sum, shape);
                    let c = g.num(c);
                    product(g, shapes, vec![c, sum])
                }
                _ => {
                    let id = g.sum(terms);
                    shapes.insert(id, shape);
                    id
                }
            };
            stretched(g, shapes, id, target)
        }
        Node::Tensor(op, xs) => {
            let a = xs[0];
            let a_shape = shape_of(shapes, a);
            match op {
                TensorOp::Transpose => {
                    if a_shape.is_scalar() {
                        return a;
                    }
                    if let Node::Tensor(TensorOp::Transpose, inner) = g.node(a) {
                        return inner[0];
                    }
                    // `(A Bᵀ)ᵀ = B Aᵀ`: a transpose fewer when an operand is one
                    if let Node::Tensor(TensorOp::MatMul, operands) = g.node(a).clone()
                        && operands
                            .iter()
                            .any(|&x| matches!(g.node(x), Node::Tensor(TensorOp::Transpose, _)))
                    {
                        let left =
                            rewrite(g, shapes, hot, Node::Tensor(op, Box::new([operands[1]])));
                        let right =
                            rewrite(g, shapes, hot, Node::Tensor(op, Box::new([operands[0]])));
                        return rewrite(
                            g,
                            shapes,
                            hot,
                            Node::Tensor(TensorOp::MatMul, Box::new([left, right])),
                        );
                    }
                }
                TensorOp::Sum(None) if a_shape.is_scalar() => return a,
                TensorOp::Sum(None) if a_shape.rows == 1 => {
                    return tensor(g, shapes, TensorOp::Sum(Some(Axis::Across)), &[a]);
                }
                TensorOp::Sum(None) if a_shape.cols == 1 => {
                    return tensor(g, shapes, TensorOp::Sum(Some(Axis::Down)), &[a]);
                }
                TensorOp::Sum(_) if !split_scalars(g, shapes, a).0.is_empty() => {
                    // a sum is linear: `Σ(cA) = c ΣA`
                    let (mut factors, rest) = split_scalars(g, shapes, a);
                    let inner = rewrite(g, shapes, hot, Node::Tensor(op, Box::new([rest])));
                    factors.push(inner);
                    return rewrite(g, shapes, hot, Node::Mul(factors.into()));
                }
                // each example of a one-hot target sums to 1 (`𝟙ᵀY = 𝟙ᵀ`)
                TensorOp::Sum(Some(axis)) if axis == hot.axis && hot.targets.contains(&a) => {
                    let one = g.int(1);
                    shapes.insert(one, Shape::SCALAR);
                    let target = TensorOp::Sum(Some(axis))
                        .shape(&[a_shape])
                        .unwrap_or(Shape::SCALAR);
                    return stretched(g, shapes, one, target);
                }
                TensorOp::Sum(Some(Axis::Across)) if a_shape.cols == 1 => return a,
                TensorOp::Sum(Some(Axis::Down)) if a_shape.rows == 1 => return a,
                TensorOp::Broadcast(rows, cols) if a_shape == Shape::new(rows, cols) => return a,
                // a stretch of a stretch is one stretch
                TensorOp::Broadcast(..)
                    if matches!(g.node(a), Node::Tensor(TensorOp::Broadcast(..), _)) =>
                {
                    let Node::Tensor(_, inner) = g.node(a).clone() else {
                        unreachable!("matched above")
                    };
                    return rewrite(g, shapes, hot, Node::Tensor(op, inner));
                }
                TensorOp::MatMul => {
                    let b = xs[1];
                    if a_shape.is_scalar() || shape_of(shapes, b).is_scalar() {
                        return rewrite(g, shapes, hot, Node::Mul(Box::new([a, b])));
                    }
                    let (ca, a) = split_scalars(g, shapes, a);
                    let (cb, b) = split_scalars(g, shapes, b);
                    if !ca.is_empty() || !cb.is_empty() {
                        let inner = tensor(g, shapes, TensorOp::MatMul, &[a, b]);
                        let mut factors = ca;
                        factors.extend(cb);
                        factors.push(inner);
                        return rewrite(g, shapes, hot, Node::Mul(factors.into()));
                    }
                }
                _ => {}
            }
            tensor(g, shapes, op, &xs)
        }
        // `A^1` (left by the power rule on a square) is `A`
        Node::Pow(a, e) if g.as_num(e) == Some(Num::ONE) => a,
        node => {
            let shape = node
                .child_ids()
                .map(|c| shape_of(shapes, c))
                .fold(Shape::SCALAR, |acc, s| acc.broadcast(s).unwrap_or(acc));
            let id = g.add(node);
            // a name keeps its declared shape
            shapes.entry(id).or_insert(shape);
            id
        }
    }
}

/// The number every term of a sum is a multiple of (each term's leading coefficient, up to
/// its sign), when it is the same for all and not 1.
fn common_coefficient(g: &Graph, terms: &[Id]) -> Option<Num> {
    let mut common: Option<Num> = None;
    for &t in terms {
        let Node::Mul(factors) = g.node(t) else {
            return None;
        };
        // only exact numbers: dividing a float back out need not give the term again
        let c @ Num::Rat(..) = g.as_num(factors[0])? else {
            return None;
        };
        let c = if c.is_negative() { c.neg() } else { c };
        match common {
            None => common = Some(c),
            Some(k) if k == c => {}
            Some(_) => return None,
        }
    }
    common.filter(|&c| c != Num::ONE && !c.is_zero())
}

/// The 1×1 factors other than numbers (`1/m`, `λ`) that every term of a sum has, each a
/// product.
fn common_scalars(g: &Graph, shapes: &FastMap<Id, Shape>, terms: &[Id]) -> Vec<Id> {
    let factors_of = |t: Id| match g.node(t) {
        Node::Mul(factors) => factors.to_vec(),
        _ => Vec::new(),
    };
    let Some(&first) = terms.first() else {
        return Vec::new();
    };
    factors_of(first)
        .into_iter()
        .filter(|&f| {
            g.as_num(f).is_none()
                && shapes.get(&f).is_none_or(|s| s.is_scalar())
                && terms.iter().all(|&t| factors_of(t).contains(&f))
        })
        .collect()
}

/// The shape of an elementwise combination of `xs`.
fn broadcast_of(shapes: &FastMap<Id, Shape>, xs: &[Id]) -> Shape {
    xs.iter()
        .map(|x| shapes.get(x).copied().unwrap_or(Shape::SCALAR))
        .fold(Shape::SCALAR, |acc, s| acc.broadcast(s).unwrap_or(acc))
}

/// `x` stretched to `target` when it is smaller.
fn stretched(g: &mut Graph, shapes: &mut FastMap<Id, Shape>, x: Id, target: Shape) -> Id {
    if shapes.get(&x).copied().unwrap_or(Shape::SCALAR) == target {
        return x;
    }
    tensor(
        g,
        shapes,
        TensorOp::Broadcast(target.rows, target.cols),
        &[x],
    )
}

/// A product's 1×1 factors and the product of the rest (itself when it is no product or has
/// no 1×1 factor).
pub(super) fn split_scalars(
    g: &mut Graph,
    shapes: &mut FastMap<Id, Shape>,
    x: Id,
) -> (Vec<Id>, Id) {
    let Node::Mul(factors) = g.node(x).clone() else {
        return (Vec::new(), x);
    };
    let scalar = |f: &Id| shapes.get(f).is_none_or(|s| s.is_scalar());
    let (scalars, rest): (Vec<Id>, Vec<Id>) = factors.iter().partition(|f| scalar(f));
    if scalars.is_empty() || rest.is_empty() {
        return (Vec::new(), x);
    }
    (scalars, product(g, shapes, rest))
}

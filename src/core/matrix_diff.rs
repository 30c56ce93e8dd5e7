//! The gradient of a tensor program in matrix form: reverse mode over the tensor nodes of the
//! one graph, each name's adjoint one matrix expression (`∂C/∂W2 = δ2 A1ᵀ`), never an entry at
//! a time.
//!
//! The layout convention: the gradient of a name has the name's shape. The rules: the matrix
//! chain rule for a product (`∂/∂A = Ḡ Bᵀ`, `∂/∂B = Aᵀ Ḡ`), the
//! transpose (`Ḡᵀ`), the elementwise rule for functions and ⊙ (`Ḡ ⊙ f′(Z)`), and the
//! broadcast, whose adjoint is a sum over the stretched dimension (a bias's gradient is a sum
//! over the batch). The result's scalarisation is checked against the scalar engine's
//! gradients of the scalarised program (`tests/vectors.rs`); the step-by-step presentation of
//! these rules is still to come.

use crate::core::error::{Diagnostic, Result};
use crate::core::expr::{FastMap, Func, Graph, Id, Node, Num, Sym, TensorOp};
use crate::core::model::Model;
use crate::core::tensor::{Axis, Shape};

/// `∂C/∂p` for each parameter of the tensor program, in matrix form (a formula of `model`'s
/// graph of the parameter's shape).
pub fn gradients(model: &mut Model) -> Result<Vec<(Sym, Id)>> {
    let shapes = node_shapes(model);
    let mut adjoint: FastMap<Sym, Vec<Id>> = FastMap::default();
    let one = model.graph.int(1);
    adjoint.insert(model.cost, vec![one]);
    let mut shapes = shapes;
    for &u in model.order.clone().iter().rev() {
        let Some(terms) = adjoint.remove(&u) else {
            continue;
        };
        let Some(def) = model.definition(u) else {
            continue;
        };
        let bar = model.graph.sum(terms);
        shapes.insert(bar, model.symbol(u).shape);
        let mut bars: FastMap<Id, Vec<Id>> = FastMap::default();
        bars.insert(def, vec![bar]);
        let order = model.graph.reachable(&[def]);
        for &id in order.iter().rev() {
            let Some(terms) = bars.remove(&id) else {
                continue;
            };
            let g = &mut model.graph;
            let bar = g.sum(terms);
            let shape = shapes[&id];
            shapes.insert(bar, shape);
            let node = g.node(id).clone();
            let mut push = |g: &mut Graph, shapes: &mut FastMap<Id, Shape>, child: Id, term: Id| {
                let term = unbroadcast(g, shapes, term, shapes[&child]);
                bars.entry(child).or_default().push(term);
            };
            match node {
                Node::Num(_) | Node::Const(_) => {}
                Node::Var(v) => {
                    adjoint.entry(v).or_default().push(bar);
                }
                Node::Add(xs) => {
                    for &x in xs.iter() {
                        push(g, &mut shapes, x, bar);
                    }
                }
                Node::Mul(xs) => {
                    for (i, &x) in xs.iter().enumerate() {
                        if g.as_num(x).is_some() {
                            continue;
                        }
                        let mut factors = vec![bar];
                        factors.extend(
                            xs.iter()
                                .enumerate()
                                .filter(|&(k, _)| k != i)
                                .map(|(_, &f)| f),
                        );
                        let term = product(g, &mut shapes, factors);
                        push(g, &mut shapes, x, term);
                    }
                }
                Node::Pow(a, b) => {
                    let Some(n) = g.as_num(b) else {
                        return Err(refused("a power with a variable exponent"));
                    };
                    let lower = g.num(n.add(Num::MINUS_ONE));
                    let power = g.pow(a, lower);
                    shapes.insert(power, shapes[&a]);
                    let exponent = g.num(n);
                    let term = product(g, &mut shapes, vec![exponent, bar, power]);
                    push(g, &mut shapes, a, term);
                }
                Node::Call(f, a) => {
                    let derivative = match f {
                        Func::Sigmoid | Func::Tanh | Func::Relu => {
                            let prime = f.prime().unwrap_or(f);
                            g.call(prime, a)
                        }
                        Func::Exp => g.call(Func::Exp, a),
                        Func::Log => {
                            let minus_one = g.int(-1);
                            g.pow(a, minus_one)
                        }
                        Func::Softplus => g.call(Func::Sigmoid, a),
                        Func::Abs => g.call(Func::Sign, a),
                        Func::Sqrt => {
                            let half = g.num(Num::ratio(1, 2));
                            let minus_half = g.num(Num::ratio(-1, 2));
                            let power = g.pow(a, minus_half);
                            g.product(vec![half, power])
                        }
                        _ => return Err(refused("a second derivative or sign")),
                    };
                    shapes.insert(derivative, shapes[&a]);
                    let term = product(g, &mut shapes, vec![bar, derivative]);
                    push(g, &mut shapes, a, term);
                }
                Node::Call2(..) => return Err(refused("max and min")),
                Node::Deriv(..) => return Err(refused("a derivative inside a program")),
                Node::Tensor(op, xs) => match op {
                    TensorOp::MatMul => {
                        let (a, b) = (xs[0], xs[1]);
                        let bt = tensor(g, &mut shapes, TensorOp::Transpose, &[b]);
                        let da = tensor(g, &mut shapes, TensorOp::MatMul, &[bar, bt]);
                        push(g, &mut shapes, a, da);
                        let at = tensor(g, &mut shapes, TensorOp::Transpose, &[a]);
                        let db = tensor(g, &mut shapes, TensorOp::MatMul, &[at, bar]);
                        push(g, &mut shapes, b, db);
                    }
                    TensorOp::Transpose => {
                        let t = tensor(g, &mut shapes, TensorOp::Transpose, &[bar]);
                        push(g, &mut shapes, xs[0], t);
                    }
                    TensorOp::Sum(_) => {
                        let target = shapes[&xs[0]];
                        let spread = tensor(
                            g,
                            &mut shapes,
                            TensorOp::Broadcast(target.rows, target.cols),
                            &[bar],
                        );
                        push(g, &mut shapes, xs[0], spread);
                    }
                    // summed back over the stretched dimensions by `push`
                    TensorOp::Broadcast(..) => push(g, &mut shapes, xs[0], bar),
                    TensorOp::Softmax(axis) => {
                        // z̄ = s ⊙ (s̄ − Σ(s̄ ⊙ s)), the sum over each normalised line
                        let z = xs[0];
                        let shape = shapes[&z];
                        let weighted = product(g, &mut shapes, vec![bar, id]);
                        let total = tensor(g, &mut shapes, TensorOp::Sum(Some(axis)), &[weighted]);
                        let spread = tensor(
                            g,
                            &mut shapes,
                            TensorOp::Broadcast(shape.rows, shape.cols),
                            &[total],
                        );
                        let minus = g.neg(spread);
                        shapes.insert(minus, shape);
                        let difference = g.sum(vec![bar, minus]);
                        shapes.insert(difference, shape);
                        let term = product(g, &mut shapes, vec![id, difference]);
                        push(g, &mut shapes, z, term);
                    }
                    TensorOp::LogSumExp(axis) => {
                        let z = xs[0];
                        let shape = shapes[&z];
                        let s = tensor(g, &mut shapes, TensorOp::Softmax(axis), &[z]);
                        let spread = tensor(
                            g,
                            &mut shapes,
                            TensorOp::Broadcast(shape.rows, shape.cols),
                            &[bar],
                        );
                        let term = product(g, &mut shapes, vec![spread, s]);
                        push(g, &mut shapes, z, term);
                    }
                    TensorOp::Entry(..) => return Err(refused("an entry `z[j]`")),
                },
            }
        }
    }
    let params: Vec<Sym> = model.params().collect();
    let mut out = Vec::with_capacity(params.len());
    for p in params {
        let shape = model.symbol(p).shape;
        let gradient = match adjoint.remove(&p) {
            Some(terms) => model.graph.sum(terms),
            None => {
                let zero = model.graph.int(0);
                model.graph.add(Node::Tensor(
                    TensorOp::Broadcast(shape.rows, shape.cols),
                    Box::new([zero]),
                ))
            }
        };
        out.push((p, gradient));
    }
    Ok(out)
}

fn refused(what: &str) -> Diagnostic {
    Diagnostic::new(format!(
        "the matrix-form derivation does not handle {what} yet; the entry-by-entry derivation does"
    ))
}

/// An elementwise product, its shape the broadcast of its factors'.
fn product(g: &mut Graph, shapes: &mut FastMap<Id, Shape>, factors: Vec<Id>) -> Id {
    let shape = factors
        .iter()
        .map(|f| shapes.get(f).copied().unwrap_or(Shape::SCALAR))
        .fold(Shape::SCALAR, |acc, s| acc.broadcast(s).unwrap_or(acc));
    let id = g.product(factors);
    shapes.insert(id, shape);
    id
}

fn tensor(g: &mut Graph, shapes: &mut FastMap<Id, Shape>, op: TensorOp, xs: &[Id]) -> Id {
    let operand_shapes: Vec<Shape> = xs.iter().map(|x| shapes[x]).collect();
    let shape = op.shape(&operand_shapes).unwrap_or(Shape::SCALAR);
    let id = g.add(Node::Tensor(op, xs.into()));
    shapes.insert(id, shape);
    id
}

/// The adjoint of an operand that was stretched: summed over each dimension it was 1 in.
fn unbroadcast(g: &mut Graph, shapes: &mut FastMap<Id, Shape>, term: Id, target: Shape) -> Id {
    let shape = shapes[&term];
    if shape == target {
        return term;
    }
    if target.is_scalar() {
        return tensor(g, shapes, TensorOp::Sum(None), &[term]);
    }
    let mut term = term;
    if target.rows == 1 && shapes[&term].rows > 1 {
        term = tensor(g, shapes, TensorOp::Sum(Some(Axis::Down)), &[term]);
    }
    if target.cols == 1 && shapes[&term].cols > 1 {
        term = tensor(g, shapes, TensorOp::Sum(Some(Axis::Across)), &[term]);
    }
    term
}

/// The shape of every node of the program's definitions.
fn node_shapes(model: &Model) -> FastMap<Id, Shape> {
    let roots: Vec<Id> = model
        .order
        .iter()
        .filter_map(|&s| model.definition(s))
        .collect();
    shapes_of(model, &roots)
}

/// The shape of every node reachable from `roots` (formulas of `model`'s graph: definitions,
/// gradients), from the shapes of the names; what a printer needs to tell `⊙` from a scaling.
pub fn shapes_of(model: &Model, roots: &[Id]) -> FastMap<Id, Shape> {
    shapes_in(&model.graph, &model.symbols, roots)
}

/// [`shapes_of`] for formulas of any graph whose names are `symbols` (a judgement's own
/// formulas).
pub fn shapes_in(
    graph: &Graph,
    symbols: &[crate::core::model::Symbol],
    roots: &[Id],
) -> FastMap<Id, Shape> {
    let mut shapes: FastMap<Id, Shape> = FastMap::default();
    let mut order = graph.reachable(roots);
    // children have smaller ids than their parents
    order.sort_unstable();
    for id in order {
        let shape_of = |c: &Id| shapes.get(c).copied().unwrap_or(Shape::SCALAR);
        let shape = match graph.node(id) {
            Node::Num(_) => Shape::SCALAR,
            Node::Var(s) => symbols[s.index()].shape,
            Node::Tensor(op, xs) => {
                let operands: Vec<Shape> = xs.iter().map(shape_of).collect();
                op.shape(&operands).unwrap_or(Shape::SCALAR)
            }
            node => node
                .child_ids()
                .map(|c| shape_of(&c))
                .fold(Shape::SCALAR, |acc, s| acc.broadcast(s).unwrap_or(acc)),
        };
        shapes.insert(id, shape);
    }
    shapes
}

/// The gradients rewritten to read as a textbook writes them, by rewrites that keep every
/// entry's value (checked entry by entry against the scalar engine in `tests/vectors.rs`):
/// a product's factors 1 dropped and its numbers gathered into one leading coefficient, a
/// sum's zero terms dropped (both only for scalar numbers, which stretch), `(Aᵀ)ᵀ = A`, the
/// transpose of a 1×1, a sum over a dimension of 1 (`Σ` of a row is the sum across it), a
/// stretch to the shape a value already has, a matrix product with a 1×1 operand as a
/// scaling, and a scalar coefficient moved out of a matrix product (`(cA)B = c(AB)`).
pub fn readable(model: &mut Model, gradients: &[(Sym, Id)]) -> Vec<(Sym, Id)> {
    let roots: Vec<Id> = gradients.iter().map(|&(_, g)| g).collect();
    let mut shapes = shapes_of(model, &roots);
    let mut order = model.graph.reachable(&roots);
    order.sort_unstable();
    let mut rewritten: FastMap<Id, Id> = FastMap::default();
    for id in order {
        let node = model.graph.node(id).map_children(|c| rewritten[&c]);
        let new = rewrite(&mut model.graph, &mut shapes, node);
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
pub fn simplified(model: &mut Model, gradients: &[(Sym, Id)]) -> Vec<(Sym, Id)> {
    let first = readable(model, gradients);
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
    let candidate = readable(model, &candidate);
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

/// The shape of a formula, every operation checked to fit its operands; `None` if one does not.
pub fn checked_shape(model: &Model, root: Id) -> Option<Shape> {
    let mut shapes: FastMap<Id, Shape> = FastMap::default();
    let mut order = model.graph.reachable(&[root]);
    order.sort_unstable();
    for id in order {
        let node = model.graph.node(id);
        let operands: Vec<Shape> = node.child_ids().map(|c| shapes[&c]).collect();
        let shape = match node {
            Node::Num(_) => Shape::SCALAR,
            Node::Var(s) => model.symbol(*s).shape,
            Node::Tensor(op, _) => op.shape(&operands).ok()?,
            Node::Deriv(..) => return None,
            _ => operands
                .iter()
                .try_fold(Shape::SCALAR, |acc, &s| acc.broadcast(s))?,
        };
        shapes.insert(id, shape);
    }
    shapes.get(&root).copied()
}

/// One node, its children already rewritten.
fn rewrite(g: &mut Graph, shapes: &mut FastMap<Id, Shape>, node: Node) -> Id {
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
                            rewrite(g, shapes, Node::Mul(Box::new([k, t])))
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
                    let inner = rewrite(g, shapes, Node::Tensor(op, Box::new([rest])));
                    factors.push(inner);
                    return rewrite(g, shapes, Node::Mul(factors.into()));
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
                    return rewrite(g, shapes, Node::Tensor(op, inner));
                }
                TensorOp::MatMul => {
                    let b = xs[1];
                    if a_shape.is_scalar() || shape_of(shapes, b).is_scalar() {
                        return rewrite(g, shapes, Node::Mul(Box::new([a, b])));
                    }
                    let (ca, a) = split_scalars(g, shapes, a);
                    let (cb, b) = split_scalars(g, shapes, b);
                    if !ca.is_empty() || !cb.is_empty() {
                        let inner = tensor(g, shapes, TensorOp::MatMul, &[a, b]);
                        let mut factors = ca;
                        factors.extend(cb);
                        factors.push(inner);
                        return rewrite(g, shapes, Node::Mul(factors.into()));
                    }
                }
                _ => {}
            }
            tensor(g, shapes, op, &xs)
        }
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
fn split_scalars(g: &mut Graph, shapes: &mut FastMap<Id, Shape>, x: Id) -> (Vec<Id>, Id) {
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

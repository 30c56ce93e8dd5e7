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
                Node::Num(_) => {}
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
    let mut shapes: FastMap<Id, Shape> = FastMap::default();
    for id in model.graph.reachable(&roots) {
        let shape_of = |c: &Id| shapes.get(c).copied().unwrap_or(Shape::SCALAR);
        let shape = match model.graph.node(id) {
            Node::Num(_) => Shape::SCALAR,
            Node::Var(s) => model.symbol(*s).shape,
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

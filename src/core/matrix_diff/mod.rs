//! The gradient of a tensor program in matrix form, step by step: reverse mode over the
//! tensor nodes of the one graph, each name's adjoint one matrix expression (`∂C/∂W2 = δ2 A1ᵀ`),
//! never an entry at a time.
//!
//! The layout convention: the gradient of a name has the name's shape. Every step applies one
//! [`MatrixRule`]: the matrix chain rule (a name's gradient gathered from every name that uses
//! it), the product rule for matrix products (`∂/∂A = Ḡ Bᵀ`, `∂/∂B = Aᵀ Ḡ`), the transpose
//! (`Ḡᵀ`), the elementwise rule for functions, ⊙ and powers (`Ḡ ⊙ f′(Z)`), and the broadcast,
//! whose adjoint is a sum over the stretched dimension (a bias's gradient is a sum over the
//! batch). The adjoint of every pre-activation is a named error term, one matrix a layer
//! (`δ2 = (W3ᵀ δ3) ⊙ σ′(z2)`; over a batch the mean's `1/m` stays outside it, so that
//! `∂C/∂W = (1/m) Δ Xᵀ`, with Δ the examples' errors side by side, as Ng's `dZ`). The results'
//! scalarisation is checked against the scalar engine's gradients of the scalarised program
//! (`tests/vectors.rs`).

mod readable;

use self::readable::{readable, simplified, split_scalars};
use crate::core::error::{Diagnostic, Result};
use crate::core::expr::{FastMap, Func, Func2, Graph, Id, Node, Num, Sym, TensorOp};
use crate::core::model::{Model, SymKind};
use crate::core::tensor::{Axis, Layout, Shape};

/// A rule of matrix calculus that a step applies, as data: the words are the templates'.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum MatrixRule {
    /// A name's gradient is the sum of what reaches it through every name that uses it.
    ChainRule,
    /// The product rule for a matrix product `A B`: `∂C/∂A = Ḡ Bᵀ`, `∂C/∂B = Aᵀ Ḡ`.
    MatrixProduct,
    /// A function or a product applied entry by entry: `Ḡ ⊙ f′(Z)`, `Ḡ ⊙ B`, `n Ḡ ⊙ Aⁿ⁻¹`.
    Elementwise,
    /// `∂C/∂A = Ḡᵀ` for `Aᵀ`.
    Transpose,
    /// An operand stretched over a dimension (a bias over the batch): its gradient is summed
    /// back over it.
    BroadcastSum,
    /// A sum's gradient spread back over every entry summed.
    SumSpread,
    /// Each term of a sum receives the sum's gradient.
    SumRule,
    /// A constant multiple stays a multiple.
    Scaling,
    /// Softmax: `s ⊙ (Ḡ − Σ(Ḡ ⊙ s))` over each normalised line.
    Softmax,
    /// log Σ exp: its gradient spread and multiplied by the softmax.
    LogSumExp,
    /// The gradient of a pre-activation is named: an error term.
    NamedError,
    /// Rewritten to read as a textbook writes it, every entry's value kept.
    Simplify,
}

impl MatrixRule {
    /// The rule's code (in JSON, and what templates look up).
    pub fn code(self) -> &'static str {
        match self {
            MatrixRule::ChainRule => "matrix-chain-rule",
            MatrixRule::MatrixProduct => "matrix-product",
            MatrixRule::Elementwise => "elementwise",
            MatrixRule::Transpose => "transpose",
            MatrixRule::BroadcastSum => "broadcast-sum",
            MatrixRule::SumSpread => "sum-spread",
            MatrixRule::SumRule => "sum-rule",
            MatrixRule::Scaling => "scaling",
            MatrixRule::Softmax => "softmax",
            MatrixRule::LogSumExp => "logsumexp",
            MatrixRule::NamedError => "named-error",
            MatrixRule::Simplify => "simplify",
        }
    }
}

/// What a derived gradient is in a network, as Nielsen's four equations sort them (in their
/// order).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Role {
    /// BP1: the error of a pre-activation whose error uses no other error term.
    OutputError,
    /// BP2: the error of a pre-activation, from the errors of the layer above.
    HiddenError,
    /// BP3: a parameter added to a product (and stretched over the batch).
    Bias,
    /// BP4: a parameter that is an operand of a matrix product.
    Weight,
    /// Any other parameter.
    Other,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::OutputError => "output-error",
            Role::HiddenError => "hidden-error",
            Role::Bias => "bias",
            Role::Weight => "weight",
            Role::Other => "parameter",
        }
    }
}

/// One step: `∂C/∂of = result`, by `rule`.
#[derive(Copy, Clone, Debug)]
pub struct MatrixStep {
    pub rule: MatrixRule,
    /// The name or subexpression whose gradient the step gives (a node of the model's graph).
    pub of: Id,
    pub result: Id,
}

/// The derivation of one gradient: a parameter's, or a pre-activation's named error term.
#[derive(Clone, Debug)]
pub struct MatrixQuantity {
    /// The parameter, or the pre-activation the error term belongs to.
    pub wrt: Sym,
    /// The error term's name (`δ2`, of `wrt`'s shape), defined as `definition`.
    pub term: Option<(Sym, Id)>,
    pub role: Role,
    pub steps: Vec<MatrixStep>,
    /// `∂C/∂wrt`, in named error terms (for an error term: the term, times the mean's `1/m`).
    pub result: Id,
}

/// Every parameter's gradient with the error terms they are written in, from the output
/// backwards (each term derived before any quantity that uses it).
#[derive(Clone, Debug, Default)]
pub struct MatrixDerivation {
    pub quantities: Vec<MatrixQuantity>,
}

impl MatrixDerivation {
    /// `∂C/∂p` for each parameter, in the program's order of parameters.
    pub fn gradients(&self, model: &Model) -> Vec<(Sym, Id)> {
        model
            .params()
            .filter_map(|p| {
                let q = self
                    .quantities
                    .iter()
                    .find(|q| q.wrt == p && q.term.is_none())?;
                Some((p, q.result))
            })
            .collect()
    }
}

/// The derivation in matrix form of `∂C/∂p` for every parameter of the tensor program, with
/// the named error terms (added to `model` as names of kind `ErrorTerm`).
pub fn derive(model: &mut Model, layout: Layout) -> Result<MatrixDerivation> {
    let hot = OneHot {
        targets: model
            .one_hot
            .iter()
            .flatten()
            .map(|&s| model.graph_var(s))
            .collect(),
        axis: Axis::within_example(layout),
    };
    let mut shapes = node_shapes(model);
    let mut reached = Reached::default();
    let one = model.graph.int(1);
    reached
        .adjoint
        .insert(model.cost, vec![(one, MatrixRule::ChainRule)]);
    let mut quantities = Vec::new();
    for &u in model.order.clone().iter().rev() {
        let Some(terms) = reached.adjoint.remove(&u) else {
            continue;
        };
        let Some(def) = model.definition(u) else {
            continue;
        };
        let mut steps = reached.pending.remove(&u).unwrap_or_default();
        let bar = if u == model.cost {
            one
        } else {
            let (bar, term) = gathered(model, &hot, &mut shapes, u, terms, &mut steps);
            if let Some((sym, definition)) = term {
                let role = if model
                    .graph
                    .reachable(&[definition])
                    .iter()
                    .any(|&id| matches!(model.graph.node(id), Node::Var(v) if model.symbol(*v).kind == SymKind::ErrorTerm))
                {
                    Role::HiddenError
                } else {
                    Role::OutputError
                };
                quantities.push(MatrixQuantity {
                    wrt: u,
                    term: Some((sym, definition)),
                    role,
                    steps: std::mem::take(&mut steps),
                    result: bar,
                });
            }
            bar
        };
        shapes.insert(bar, model.symbol(u).shape);
        backward(model, &hot, &mut shapes, def, bar, steps, &mut reached)?;
    }
    let params: Vec<Sym> = model.params().collect();
    for p in params {
        let shape = model.symbol(p).shape;
        let mut steps = reached.pending.remove(&p).unwrap_or_default();
        let result = match reached.adjoint.remove(&p) {
            Some(terms) => gathered(model, &hot, &mut shapes, p, terms, &mut steps).0,
            None => {
                let zero = model.graph.int(0);
                model.graph.add(Node::Tensor(
                    TensorOp::Broadcast(shape.rows, shape.cols),
                    Box::new([zero]),
                ))
            }
        };
        quantities.push(MatrixQuantity {
            wrt: p,
            term: None,
            role: parameter_role(model, p),
            steps,
            result,
        });
    }
    Ok(MatrixDerivation { quantities })
}

/// What the reverse pass has carried to the names not yet derived: the gradients reaching
/// each (with the rule that brought each), and the steps that led there.
#[derive(Default)]
struct Reached {
    adjoint: FastMap<Sym, Vec<(Id, MatrixRule)>>,
    pending: FastMap<Sym, Vec<MatrixStep>>,
}

/// What the readable rewrites know of the program: its one-hot targets (each example's
/// entries sum to 1) and the axis along one example.
struct OneHot {
    targets: Vec<Id>,
    axis: Axis,
}

/// `∂C/∂u` from what reached it (the matrix chain rule when several names use `u`), made
/// readable; for a pre-activation, named as an error term, the factors of the mean over the
/// batch (`1/m`) kept outside it: the gradient and the term.
fn gathered(
    model: &mut Model,
    hot: &OneHot,
    shapes: &mut FastMap<Id, Shape>,
    u: Sym,
    terms: Vec<(Id, MatrixRule)>,
    steps: &mut Vec<MatrixStep>,
) -> (Id, Option<(Sym, Id)>) {
    let of = model.graph_var(u);
    let rule = match terms.as_slice() {
        [(_, rule)] => *rule,
        _ => MatrixRule::ChainRule,
    };
    let bar = model.graph.sum(terms.into_iter().map(|(t, _)| t).collect());
    shapes.insert(bar, model.symbol(u).shape);
    let plain = readable(model, hot, &[(u, bar)])[0].1;
    steps.push(MatrixStep {
        rule,
        of,
        result: plain,
    });
    let simple = simplified(model, hot, &[(u, bar)])[0].1;
    if simple != plain {
        steps.push(MatrixStep {
            rule: MatrixRule::Simplify,
            of,
            result: simple,
        });
    }
    if !crate::core::factor::is_pre_activation(model, u) {
        return (simple, None);
    }
    let shape = model.symbol(u).shape;
    let mut all_shapes = shapes_of(model, &[simple]);
    let (outside, inside) = split_scalars(&mut model.graph, &mut all_shapes, simple);
    // only a term named δ or Δ, not `dC/dZ`, which says it is the whole gradient
    let greek = !crate::core::factor::term_name(model, model.cost, u)
        .0
        .contains('/');
    let (batch, others): (Vec<Id>, Vec<Id>) = outside
        .into_iter()
        .partition(|&f| greek && mentions_size(model, f));
    let definition = if batch.is_empty() {
        simple
    } else {
        let mut factors = others;
        factors.push(inside);
        let id = model.graph.product(factors);
        readable(model, hot, &[(u, id)])[0].1
    };
    let cost = model.cost;
    let term = crate::core::factor::term_symbol(model, cost, u, definition);
    model.symbols[term.index()].shape = shape;
    let mut factors = batch;
    factors.push(model.graph_var(term));
    let named = model.graph.product(factors);
    shapes.insert(named, shape);
    steps.push(MatrixStep {
        rule: MatrixRule::NamedError,
        of,
        result: named,
    });
    (named, Some((term, definition)))
}

/// Whether a formula is a number of the program's sizes alone (`1/m`), with one size in it.
fn mentions_size(model: &Model, id: Id) -> bool {
    let mut sizes = 0;
    for x in model.graph.reachable(&[id]) {
        match model.graph.node(x) {
            Node::Var(s) if matches!(model.symbol(*s).kind, SymKind::Size(_)) => sizes += 1,
            Node::Var(_) | Node::Tensor(..) | Node::Deriv(..) => return false,
            _ => {}
        }
    }
    sizes > 0
}

/// A parameter's part in the program: an operand of a matrix product (a weight), or a term of
/// a sum (a bias).
fn parameter_role(model: &Model, p: Sym) -> Role {
    let var = model.graph_var(p);
    let roots: Vec<Id> = model
        .order
        .iter()
        .filter_map(|&s| model.definition(s))
        .collect();
    let nodes = model.graph.reachable(&roots);
    let used_by =
        |pattern: &dyn Fn(&Node) -> bool| nodes.iter().any(|&id| pattern(model.graph.node(id)));
    if used_by(&|n| matches!(n, Node::Tensor(TensorOp::MatMul, xs) if xs.contains(&var))) {
        Role::Weight
    } else if used_by(&|n| matches!(n, Node::Add(xs) if xs.contains(&var))) {
        Role::Bias
    } else {
        Role::Other
    }
}

/// Whether the gradient need not flow into `id`: no parameter or computed name is below it
/// (numbers, sizes, inputs and targets only).
fn is_fixed(model: &Model, id: Id) -> bool {
    model
        .graph
        .reachable(&[id])
        .into_iter()
        .all(|x| match model.graph.node(x) {
            Node::Var(s) => matches!(
                model.symbol(*s).kind,
                SymKind::Input | SymKind::Target | SymKind::Size(_)
            ),
            _ => true,
        })
}

/// The reverse pass over one definition `def` of gradient `bar`: what reaches each name it
/// uses goes to its `adjoint`, and the steps on the way to each name to `pending` (`carried`, the
/// steps that led to `bar`, go to the first name reached, so none is repeated).
fn backward(
    model: &mut Model,
    hot: &OneHot,
    shapes: &mut FastMap<Id, Shape>,
    def: Id,
    bar: Id,
    carried: Vec<MatrixStep>,
    reached: &mut Reached,
) -> Result<()> {
    let mut bars: FastMap<Id, Vec<(Id, MatrixRule)>> = FastMap::default();
    bars.insert(def, vec![(bar, MatrixRule::ChainRule)]);
    let order = model.graph.reachable(&[def]);
    let fixed: FastMap<Id, bool> = order.iter().map(|&id| (id, is_fixed(model, id))).collect();
    let mut walked: Vec<MatrixStep> = Vec::new();
    let mut names: Vec<Sym> = Vec::new();
    for &id in order.iter().rev() {
        let Some(terms) = bars.remove(&id) else {
            continue;
        };
        let g = &mut model.graph;
        if let Node::Var(v) = g.node(id) {
            // each contribution with its rule: the name's gradient gathers them
            reached.adjoint.entry(*v).or_default().extend(terms);
            names.push(*v);
            continue;
        }
        let bar = g.sum(terms.into_iter().map(|(t, _)| t).collect());
        let shape = shapes[&id];
        shapes.insert(bar, shape);
        let node = g.node(id).clone();
        let mut push = |g: &mut Graph,
                        shapes: &mut FastMap<Id, Shape>,
                        rule: MatrixRule,
                        child: Id,
                        term: Id| {
            if fixed[&child] {
                return;
            }
            let summed = unbroadcast(g, shapes, term, shapes[&child]);
            let rule = if summed == term {
                rule
            } else {
                MatrixRule::BroadcastSum
            };
            // a name's own step is written when its contributions are gathered
            if !matches!(g.node(child), Node::Var(_)) {
                walked.push(MatrixStep {
                    rule,
                    of: child,
                    result: summed,
                });
            }
            bars.entry(child).or_default().push((summed, rule));
        };
        match node {
            Node::Num(_) | Node::Const(_) => {}
            Node::Var(_) => unreachable!("names are handled above"),
            Node::Add(xs) => {
                for &x in xs.iter() {
                    push(g, shapes, MatrixRule::SumRule, x, bar);
                }
            }
            Node::Mul(xs) => {
                for (i, &x) in xs.iter().enumerate() {
                    let mut factors = vec![bar];
                    factors.extend(
                        xs.iter()
                            .enumerate()
                            .filter(|&(k, _)| k != i)
                            .map(|(_, &f)| f),
                    );
                    let constant = xs
                        .iter()
                        .enumerate()
                        .all(|(k, &f)| k == i || shapes[&f].is_scalar() && fixed[&f]);
                    let rule = if constant {
                        MatrixRule::Scaling
                    } else {
                        MatrixRule::Elementwise
                    };
                    let term = product(g, shapes, factors);
                    push(g, shapes, rule, x, term);
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
                let term = product(g, shapes, vec![exponent, bar, power]);
                push(g, shapes, MatrixRule::Elementwise, a, term);
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
                    Func::Sin => g.call(Func::Cos, a),
                    Func::Cos => {
                        let sine = g.call(Func::Sin, a);
                        g.neg(sine)
                    }
                    Func::Silu => {
                        let s = g.call(Func::Sigmoid, a);
                        let slope = g.call(Func::SigmoidPrime, a);
                        let rest = g.product(vec![a, slope]);
                        g.sum(vec![s, rest])
                    }
                    _ => return Err(refused("this function")),
                };
                shapes.insert(derivative, shapes[&a]);
                let term = product(g, shapes, vec![bar, derivative]);
                push(g, shapes, MatrixRule::Elementwise, a, term);
            }
            // An activation or a cost with a fixed parameter, entry by entry in its first
            // argument: leaky ReLU, ELU, Huber's residual clipped to [−δ, δ].
            Node::Call2(f, z, p) if fixed[&p] && shapes[&p].is_scalar() => {
                let derivative = match f {
                    Func2::LeakyRelu => g.call2(Func2::LeakyReluPrime, z, p),
                    Func2::Elu => g.call2(Func2::EluPrime, z, p),
                    Func2::Huber => {
                        let upper = g.call2(Func2::Min, z, p);
                        let minus_p = g.neg(p);
                        g.call2(Func2::Max, minus_p, upper)
                    }
                    _ => return Err(refused("max and min")),
                };
                shapes.insert(derivative, shapes[&z]);
                let term = product(g, shapes, vec![bar, derivative]);
                push(g, shapes, MatrixRule::Elementwise, z, term);
            }
            Node::Call2(..) => return Err(refused("max and min")),
            Node::Deriv(..) => return Err(refused("a derivative inside a program")),
            Node::Tensor(op, xs) => match op {
                TensorOp::MatMul => {
                    let (a, b) = (xs[0], xs[1]);
                    let bt = tensor(g, shapes, TensorOp::Transpose, &[b]);
                    let da = tensor(g, shapes, TensorOp::MatMul, &[bar, bt]);
                    push(g, shapes, MatrixRule::MatrixProduct, a, da);
                    let at = tensor(g, shapes, TensorOp::Transpose, &[a]);
                    let db = tensor(g, shapes, TensorOp::MatMul, &[at, bar]);
                    push(g, shapes, MatrixRule::MatrixProduct, b, db);
                }
                TensorOp::Transpose => {
                    let t = tensor(g, shapes, TensorOp::Transpose, &[bar]);
                    push(g, shapes, MatrixRule::Transpose, xs[0], t);
                }
                TensorOp::Sum(_) => {
                    let target = shapes[&xs[0]];
                    let spread = tensor(
                        g,
                        shapes,
                        TensorOp::Broadcast(target.rows, target.cols),
                        &[bar],
                    );
                    push(g, shapes, MatrixRule::SumSpread, xs[0], spread);
                }
                // summed back over the stretched dimensions by `push`
                TensorOp::Broadcast(..) => push(g, shapes, MatrixRule::BroadcastSum, xs[0], bar),
                TensorOp::Softmax(axis) => {
                    // z̄ = s ⊙ (s̄ − Σ(s̄ ⊙ s)), the sum over each normalised line
                    let z = xs[0];
                    let shape = shapes[&z];
                    let weighted = product(g, shapes, vec![bar, id]);
                    let total = tensor(g, shapes, TensorOp::Sum(Some(axis)), &[weighted]);
                    let spread = tensor(
                        g,
                        shapes,
                        TensorOp::Broadcast(shape.rows, shape.cols),
                        &[total],
                    );
                    let minus = g.neg(spread);
                    shapes.insert(minus, shape);
                    let difference = g.sum(vec![bar, minus]);
                    shapes.insert(difference, shape);
                    let term = product(g, shapes, vec![id, difference]);
                    push(g, shapes, MatrixRule::Softmax, z, term);
                }
                TensorOp::LogSumExp(axis) => {
                    let z = xs[0];
                    let shape = shapes[&z];
                    let s = tensor(g, shapes, TensorOp::Softmax(axis), &[z]);
                    let spread = tensor(
                        g,
                        shapes,
                        TensorOp::Broadcast(shape.rows, shape.cols),
                        &[bar],
                    );
                    let term = product(g, shapes, vec![spread, s]);
                    push(g, shapes, MatrixRule::LogSumExp, z, term);
                }
                TensorOp::Entry(..) => return Err(refused("an entry `z[j]`")),
            },
        }
    }
    // Each name's steps: those on the way to it, written readably.
    let below = names_below(model, &order);
    let mut carried = Some(carried);
    for v in names {
        let var = model.graph_var(v);
        let mut steps = reached.pending.remove(&v).unwrap_or_default();
        if let Some(first) = carried.take() {
            steps.extend(first);
        }
        for step in walked.iter().filter(|s| below[&s.of].contains(&var)) {
            let result = readable(model, hot, &[(v, step.result)])[0].1;
            steps.push(MatrixStep { result, ..*step });
        }
        reached.pending.insert(v, steps);
    }
    Ok(())
}

/// For each node of `order` (a formula's nodes), the `Var` nodes below it.
fn names_below(model: &Model, order: &[Id]) -> FastMap<Id, Vec<Id>> {
    let mut sorted = order.to_vec();
    sorted.sort_unstable();
    let mut below: FastMap<Id, Vec<Id>> = FastMap::default();
    for id in sorted {
        let node = model.graph.node(id);
        let mut vars: Vec<Id> = match node {
            Node::Var(_) => vec![id],
            _ => Vec::new(),
        };
        for c in node.child_ids() {
            vars.extend(below[&c].iter().copied());
        }
        vars.sort_unstable();
        vars.dedup();
        below.insert(id, vars);
    }
    below
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

//! The mistakes of vectorised backpropagation, as edits of a claim's tensor tree: a transpose
//! missing or too many, a matrix product in the wrong order, `*` (entry by entry) for `@` or
//! the reverse, a sum over the wrong axis or with `keepdims` dropped, 1/m missing or applied
//! twice, a bias gradient not summed over the batch, and σ′ taken at the activation A rather
//! than at the pre-activation Z. Each edit rewrites one node of the claim (or the whole claim)
//! in the tensor graph; the checker keeps the edits whose result has the quantity's shape and
//! names the first, in the order here, that equals the truth at every point. The search is
//! over the claim's nodes, never over expanded scalar paths.

use crate::core::expr::{Graph, Id, Node, Num, Sym};
use crate::core::model::Model;
use crate::core::tensor::{Axis, Layout, TensorOp};

use super::super::mistake::ShapeEdit;

/// What the edits need to know of the program.
pub(in crate::analysis::check) struct Context {
    pub layout: Layout,
    /// The number of examples m the cost averages over.
    pub batch: Option<u32>,
    /// Each activation with its pre-activation: `A1 = tanh(Z1)` is (A1, Z1).
    pub activations: Vec<(Sym, Sym)>,
}

/// One edit: the part of the claim it rewrites, what it becomes, and the whole claim after.
#[derive(Clone, Debug)]
pub(in crate::analysis::check) struct Candidate {
    pub edit: ShapeEdit,
    pub written: Id,
    pub should_be: Id,
    pub root: Id,
}

fn tensor(graph: &mut Graph, op: TensorOp, xs: &[Id]) -> Id {
    graph.add(Node::Tensor(op, xs.into()))
}

/// A transpose taken off, or put on.
fn toggled(graph: &mut Graph, x: Id) -> Id {
    match graph.node(x) {
        Node::Tensor(TensorOp::Transpose, xs) => xs[0],
        _ => tensor(graph, TensorOp::Transpose, &[x]),
    }
}

/// Every edit of the claim `root`, in the order a diagnosis prefers them.
pub(in crate::analysis::check) fn candidates(
    model: &mut Model,
    root: Id,
    context: &Context,
) -> Vec<Candidate> {
    let shapes = crate::core::matrix_diff::shapes_of(model, &[root]);
    let is_array = |id: Id| shapes.get(&id).is_some_and(|s| !s.is_scalar());
    let graph = &mut model.graph;
    let mut local: Vec<(ShapeEdit, Id, Id)> = Vec::new();
    let nodes = graph.reachable(&[root]);
    for &id in &nodes {
        match graph.node(id).clone() {
            Node::Tensor(TensorOp::Transpose, xs) => {
                let edit = match graph.node(xs[0]) {
                    Node::Tensor(TensorOp::Sum(Some(Axis::Across)), _) => {
                        ShapeEdit::DroppedKeepdims
                    }
                    _ => ShapeEdit::ExtraTranspose,
                };
                local.push((edit, id, xs[0]));
            }
            Node::Tensor(TensorOp::MatMul, xs) => {
                let (a, b) = (xs[0], xs[1]);
                let swapped = tensor(graph, TensorOp::MatMul, &[b, a]);
                local.push((ShapeEdit::ProductOrder, id, swapped));
                let (bt, at) = (toggled(graph, b), toggled(graph, a));
                let reversed = tensor(graph, TensorOp::MatMul, &[bt, at]);
                local.push((ShapeEdit::ProductOrder, id, reversed));
                let entrywise = graph.product(vec![a, b]);
                local.push((ShapeEdit::MatmulForElementwise, id, entrywise));
            }
            Node::Mul(factors) => {
                let arrays: Vec<usize> = (0..factors.len())
                    .filter(|&k| is_array(factors[k]))
                    .collect();
                for pair in arrays.windows(2) {
                    let (i, j) = (pair[0], pair[1]);
                    let product = tensor(graph, TensorOp::MatMul, &[factors[i], factors[j]]);
                    let mut rest: Vec<Id> = factors
                        .iter()
                        .enumerate()
                        .filter(|&(k, _)| k != i && k != j)
                        .map(|(_, &f)| f)
                        .collect();
                    rest.push(product);
                    let rewritten = graph.product(rest);
                    local.push((ShapeEdit::ElementwiseForMatmul, id, rewritten));
                }
            }
            Node::Tensor(TensorOp::Sum(Some(axis)), xs) => {
                let other = match axis {
                    Axis::Down => Axis::Across,
                    Axis::Across => Axis::Down,
                };
                let summed = tensor(graph, TensorOp::Sum(Some(other)), &[xs[0]]);
                local.push((ShapeEdit::WrongAxis, id, summed));
                let transposed = tensor(graph, TensorOp::Transpose, &[summed]);
                local.push((ShapeEdit::WrongAxis, id, transposed));
            }
            Node::Call(f, argument) => {
                for &(a, z) in &context.activations {
                    let (a_var, z_var) = (graph.var(a), graph.var(z));
                    if graph.reachable(&[argument]).contains(&a_var) {
                        let at_z = graph.replace(argument, a_var, z_var);
                        let call = graph.call(f, at_z);
                        local.push((ShapeEdit::ActivationForPreActivation, id, call));
                    }
                }
            }
            _ => {}
        }
        if is_array(id) && !matches!(graph.node(id), Node::Tensor(TensorOp::Transpose, _)) {
            let transposed = tensor(graph, TensorOp::Transpose, &[id]);
            local.push((ShapeEdit::MissingTranspose, id, transposed));
        }
    }
    let mut out: Vec<Candidate> = Vec::new();
    for (edit, written, should_be) in local {
        let root = if written == root {
            should_be
        } else {
            graph.replace(root, written, should_be)
        };
        out.push(Candidate {
            edit,
            written,
            should_be,
            root,
        });
    }
    if let Some(m) = context.batch.filter(|&m| m > 1) {
        for (edit, factor) in [
            (ShapeEdit::MissingMean, Num::ratio(1, m as i128)),
            (ShapeEdit::MeanTwice, Num::int(m as i64)),
        ] {
            let factor = graph.num(factor);
            let scaled = graph.product(vec![factor, root]);
            out.push(Candidate {
                edit,
                written: root,
                should_be: scaled,
                root: scaled,
            });
        }
    }
    let over_batch = match context.layout {
        Layout::Columns => Axis::Across,
        Layout::Rows => Axis::Down,
    };
    let summed = tensor(graph, TensorOp::Sum(Some(over_batch)), &[root]);
    out.push(Candidate {
        edit: ShapeEdit::BiasNotSummed,
        written: root,
        should_be: summed,
        root: summed,
    });
    out.sort_by_key(|c| c.edit);
    out
}

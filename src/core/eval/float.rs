//! Evaluation in float64, exactly as a textbook implementation computes it (`σ(z) = 1/(1+e^{-z})`,
//! sums and products left to right), NaN and infinity included.

use super::*;

// ---------------------------------------------------------------------------------------------
// float64
// ---------------------------------------------------------------------------------------------

/// Evaluates the roots in float64; one value per root.
pub fn eval_f64(
    graph: &Graph,
    roots: &[Id],
    value_of: &dyn Fn(Sym) -> Option<f64>,
) -> Result<Vec<f64>, EvalError> {
    let all = eval_f64_all(graph, roots, value_of)?;
    Ok(roots.iter().map(|r| all[r]).collect())
}

/// Evaluates every node reachable from the roots in float64, each once, bottom-up.
pub fn eval_f64_all(
    graph: &Graph,
    roots: &[Id],
    value_of: &dyn Fn(Sym) -> Option<f64>,
) -> Result<NodeFloats, EvalError> {
    let order = graph.reachable(roots);
    // A table over the whole graph when the formula is much of it; otherwise values beside
    // the sorted nodes, found by search: a small formula of a graph that many claims have
    // grown would otherwise pay for the whole graph each time it is evaluated.
    let dense = order.len().saturating_mul(DENSE_FRACTION) >= graph.len();
    let mut table = NodeFloats {
        values: if dense {
            vec![f64::NAN; graph.len()]
        } else {
            Vec::with_capacity(order.len())
        },
        evaluated: if dense {
            vec![false; graph.len()]
        } else {
            Vec::new()
        },
        order: Vec::new(),
        dense,
    };
    for &id in &order {
        let v = {
            let get = |x: &Id| table.value_while_filling(*x);
            match graph.node(id) {
                Node::Num(n) => n.to_f64(),
                Node::Const(c) => c.to_f64(),
                Node::Var(s) => value_of(*s).ok_or(EvalError::Unbound(*s))?,
                Node::Add(xs) => {
                    let mut it = xs.iter().map(get);
                    match it.next() {
                        Some(first) => it.fold(first, |acc, x| acc + x),
                        None => 0.0,
                    }
                }
                Node::Mul(xs) => {
                    let mut it = xs.iter().map(get);
                    match it.next() {
                        Some(first) => it.fold(first, |acc, x| acc * x),
                        None => 1.0,
                    }
                }
                Node::Pow(a, b) => pow_f64(get(a), get(b)),
                Node::Call(f, a) => apply_f64(*f, get(a)),
                Node::Call2(f, a, b) => apply2_f64(*f, get(a), get(b)),
                Node::Deriv(..) => return Err(EvalError::Unevaluated),
                // A tensor program is evaluated through its scalarisation
                // (`tensor::scalarise`); refused like any other node that is not a number yet.
                Node::Tensor(..) => return Err(EvalError::Unevaluated),
            }
        };
        if table.dense {
            table.values[id.index()] = v;
            table.evaluated[id.index()] = true;
        } else {
            table.values.push(v);
        }
        table.order.push(id);
    }
    Ok(table)
}

/// A formula at least 1/`DENSE_FRACTION` of the graph is tabled over the whole graph.
const DENSE_FRACTION: usize = 8;

/// The float64 value of every node one pass evaluated.
#[derive(Clone, Debug)]
pub struct NodeFloats {
    /// By id when `dense`, else in the order of `order`.
    values: Vec<f64>,
    /// Whether each node, by id, was evaluated (when `dense`).
    evaluated: Vec<bool>,
    /// The nodes evaluated, in increasing id order.
    order: Vec<Id>,
    dense: bool,
}

impl NodeFloats {
    /// The node's value, if it was evaluated.
    pub fn get(&self, id: Id) -> Option<f64> {
        if self.dense {
            let index = id.index();
            (*self.evaluated.get(index)?).then(|| self.values[index])
        } else {
            self.order.binary_search(&id).ok().map(|at| self.values[at])
        }
    }

    /// A child's value while the table is filled in increasing id order (children first).
    fn value_while_filling(&self, id: Id) -> f64 {
        if self.dense {
            self.values[id.index()]
        } else {
            self.order
                .binary_search(&id)
                .map_or(f64::NAN, |at| self.values[at])
        }
    }

    /// How many nodes were evaluated.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The nodes evaluated, in increasing id order (children before what uses them).
    pub fn evaluated(&self) -> &[Id] {
        &self.order
    }
}

impl std::ops::Index<&Id> for NodeFloats {
    type Output = f64;

    fn index(&self, id: &Id) -> &f64 {
        if self.dense {
            assert!(self.evaluated[id.index()], "the node was evaluated");
            &self.values[id.index()]
        } else {
            let at = self
                .order
                .binary_search(id)
                .expect("the node was evaluated");
            &self.values[at]
        }
    }
}

/// `a ^ b` in float64: `powi` for integer exponents, `powf` otherwise.
pub fn pow_f64(a: f64, b: f64) -> f64 {
    if b.fract() == 0.0 && b.abs() <= i32::MAX as f64 {
        a.powi(b as i32)
    } else {
        a.powf(b)
    }
}

/// A built-in function in float64, computed exactly as written (NaN propagates).
pub fn apply_f64(f: Func, z: f64) -> f64 {
    pub(super) fn sigmoid(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }
    match f {
        Func::Sigmoid => sigmoid(z),
        Func::Tanh => z.tanh(),
        Func::Relu => {
            if z > 0.0 || z.is_nan() {
                z
            } else {
                0.0
            }
        }
        Func::Softplus => (1.0 + z.exp()).ln(),
        Func::Exp => z.exp(),
        Func::Log => z.ln(),
        Func::Sqrt => z.sqrt(),
        Func::Abs => z.abs(),
        Func::Sign => {
            if z == 0.0 || z.is_nan() {
                z
            } else {
                z.signum()
            }
        }
        Func::SigmoidPrime => {
            let s = sigmoid(z);
            s * (1.0 - s)
        }
        Func::TanhPrime => {
            let t = z.tanh();
            1.0 - t * t
        }
        Func::ReluPrime => {
            if z.is_nan() {
                z
            } else if z > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Func::Erf => libm::erf(z),
        Func::Erfc => libm::erfc(z),
        // as PyTorch writes the exact GELU: 1 + erf cancels for z ≪ 0
        Func::Gelu => 0.5 * z * (1.0 + libm::erf(z / std::f64::consts::SQRT_2)),
        // as PyTorch writes SiLU, z·σ(z): e^−z overflows for z < −709
        Func::Silu => z * sigmoid(z),
        Func::Sin => z.sin(),
        Func::Cos => z.cos(),
    }
}

/// A built-in function of two arguments in float64: for a gate, the argument it picks (the
/// second at a tie, see [`Func2::picks_first`]); NaN if either is NaN.
pub fn apply2_f64(f: Func2, a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    match f {
        Func2::Max | Func2::Min => {
            if f.picks_first(&a, &b) {
                a
            } else {
                b
            }
        }
        _ if a > 0.0 && f != Func2::Huber => {
            if matches!(f, Func2::LeakyRelu | Func2::Elu) {
                a
            } else {
                1.0
            }
        }
        Func2::LeakyRelu => b * a,
        Func2::Elu => b * a.exp_m1(),
        Func2::LeakyReluPrime => b,
        Func2::EluPrime => b * a.exp(),
        Func2::Huber if a.abs() <= b => 0.5 * a * a,
        Func2::Huber => b * (a.abs() - 0.5 * b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small formula of a large graph is tabled beside its nodes, not over the graph (issue
    /// 23: 4,304 distinct claims each paid for the graph all the earlier ones had grown), and
    /// gives the values a table over the whole graph gives.
    #[test]
    fn a_small_formula_of_a_large_graph_evaluates_as_a_large_one_does() {
        let mut g = Graph::new();
        let x = g.var(Sym(0));
        let y = g.var(Sym(1));
        let two = g.int(2);
        let square = g.pow(x, two);
        let s = g.call(Func::Sigmoid, y);
        let small = g.product(vec![square, s]);
        let small = g.sum(vec![small, x]);
        // Many unrelated nodes after it, so it is a small part of the graph.
        let mut big = Vec::new();
        for k in 0..500 {
            let c = g.int(k + 3);
            big.push(g.product(vec![c, x, y]));
        }
        let big = g.sum(big);
        let both = g.sum(vec![big, small]);
        let value_of = |s: Sym| Some(if s == Sym(0) { 0.75 } else { -1.5 });
        let sparse = eval_f64_all(&g, &[small], &value_of).unwrap();
        let dense = eval_f64_all(&g, &[both], &value_of).unwrap();
        assert!(!sparse.dense && dense.dense);
        for &id in sparse.evaluated() {
            assert_eq!(sparse.get(id), dense.get(id));
            assert_eq!(sparse[&id], dense[&id]);
        }
        let expected = 0.75f64.powi(2) / (1.0 + 1.5f64.exp()) + 0.75;
        assert!((sparse[&small] - expected).abs() < 1e-15);
        assert_eq!(sparse.get(big), None);
        assert_eq!(sparse.len(), 7);
    }
}

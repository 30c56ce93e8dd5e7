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
    let mut vals = vec![f64::NAN; graph.len()];
    for &id in &order {
        let get = |x: &Id| vals[x.index()];
        let v = match graph.node(id) {
            Node::Num(n) => n.to_f64(),
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
            // A tensor program is evaluated through its scalarisation (`tensor::scalarise`);
            // refused like any other node that is not a number yet.
            Node::Tensor(..) => return Err(EvalError::Unevaluated),
        };
        vals[id.index()] = v;
    }
    let mut evaluated = vec![false; graph.len()];
    for id in &order {
        evaluated[id.index()] = true;
    }
    Ok(NodeFloats {
        values: vals,
        evaluated,
        order,
    })
}

/// The float64 value of every node one pass evaluated, in a table by id.
#[derive(Clone, Debug)]
pub struct NodeFloats {
    values: Vec<f64>,
    /// Whether each node, by id, was evaluated.
    evaluated: Vec<bool>,
    /// The nodes evaluated, in increasing id order.
    order: Vec<Id>,
}

impl NodeFloats {
    /// The node's value, if it was evaluated.
    pub fn get(&self, id: Id) -> Option<f64> {
        let index = id.index();
        (*self.evaluated.get(index)?).then(|| self.values[index])
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
        assert!(self.evaluated[id.index()], "the node was evaluated");
        &self.values[id.index()]
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
    }
}

/// A built-in function of two arguments in float64: the argument it picks (the second at a
/// tie, see [`Func2::picks_first`]), NaN if either is NaN.
pub fn apply2_f64(f: Func2, a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if f.picks_first(&a, &b) {
        a
    } else {
        b
    }
}

//! Both forms evaluated for the actual widths of a network at one point: the forward pass
//! ([`Point`]), then δ and the gradients layer by layer from the index-form equations or from
//! the matrix-form ones, so that tests can hold them against the scalar engine.

use super::derive::{Layered, Layers};
use super::matrix::M;
use super::{Activation, E, Fun, Ix, Layer, NetworkSpec, Quantity};
use crate::core::eval::apply_f64;
use crate::core::expr::Func;

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

/// f(z) by the core's float64 function table (the identity where the core has no function).
fn act_f64(a: Activation, z: f64) -> f64 {
    a.func().map_or(z, |f| apply_f64(f, z))
}

/// f′(z) by the core's float64 table: σ′, tanh′ and relu′ are functions of the core, softplus′
/// is σ (as the core differentiates softplus), and the identity's derivative is 1.
fn prime_f64(a: Activation, z: f64) -> f64 {
    let derivative = match a.func() {
        Some(Func::Softplus) => Some(Func::Sigmoid),
        Some(f) => f.prime(),
        None => None,
    };
    derivative.map_or(1.0, |f| apply_f64(f, z))
}

fn fun_f64(f: Fun, v: f64) -> f64 {
    match f {
        Fun::Act(a) => act_f64(a, v),
        Fun::Prime(a) => prime_f64(a, v),
        Fun::Log => apply_f64(Func::Log, v),
        Fun::Exp => apply_f64(Func::Exp, v),
        Fun::Huber => crate::core::eval::apply2_f64(crate::core::expr::Func2::Huber, v, 1.0),
        Fun::HuberPrime => v.clamp(-1.0, 1.0),
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
                let total: f64 = z[l].iter().map(|&v| apply_f64(Func::Exp, v)).sum();
                z[l].iter()
                    .map(|&v| apply_f64(Func::Exp, v) / total)
                    .collect()
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
        E::Num(c) => c.to_f64(),
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
        M::Num(c) => Val::S(c.to_f64()),
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

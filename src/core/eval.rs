//! Numeric evaluation of expression graphs: in float64 the way NumPy would, and in high precision.
//!
//! [`eval_f64`] computes every reachable node once, bottom-up in id order, with exactly the
//! formulas a textbook implementation uses (`σ(z) = 1/(1+e^{-z})`, `σ' = σ(1-σ)`, sums and
//! products left to right), so it reproduces what float64 code gets, NaN and infinity included.
//! [`eval_precise`] evaluates the same graph with binary [`dashu_float`] numbers rounded to nearest
//! at a chosen precision. It computes the *real* value of each node, not an emulation of float64:
//! the activations use cancellation-free forms (`σ(50) = 1 - 1.93e-22` stays distinguishable from
//! 1), out-of-domain operations give [`Precise::Undefined`] instead of panicking, and arguments so
//! large that the value could not be held (`exp(1e30)`) give [`Precise::OutOfRange`] instead of
//! hanging. Alongside each value it tracks a bound on the relative error the rounding may have
//! caused, so [`eval_precise_stable`] can raise the precision until the roots are both known to
//! be accurate and agree to 17 significant digits between two successive precisions: the ground
//! truth float64 results are judged against. Everything here is pure.

use std::collections::HashMap;
use std::f64::consts::{LN_2, LN_10};
use std::fmt;

use dashu_base::{Approximation, DivEuclid, Sign};
use dashu_float::round::mode::HalfEven;
use dashu_float::{Context, FBig, Repr};

use crate::core::expr::{Func, Graph, Id, Node, Num, Sym};

/// The high-precision number type: binary, rounding to nearest (ties to even).
pub type Big = FBig<HalfEven, 2>;
type IBig = <Big as DivEuclid<Big>>::Output;
type Ctx = Context<HalfEven>;
type Rounded<T> = Approximation<T, dashu_float::round::Rounding>;

/// The lowest precision (bits) [`eval_precise`] works at; smaller requests are raised to it.
pub const MIN_PRECISION: usize = 8;
/// The highest precision (bits) [`eval_precise`] works at; larger requests are lowered to it.
pub const MAX_PRECISION: usize = 1 << 20;
/// Where [`eval_precise_stable`] starts.
pub const STABLE_START_BITS: usize = 128;
/// Where [`eval_precise_stable`] gives up (reporting `converged: false`).
pub const STABLE_MAX_BITS: usize = 16384;
/// The significant digits two successive precisions must agree on.
pub const STABLE_DIGITS: usize = 17;

/// Values of magnitude beyond 2^±this are [`Precise::OutOfRange`] (keeps exponents far from
/// `isize` overflow and big integers from exhausting memory).
const MAG_LIMIT: i128 = 1 << 28;
/// `exp` of an argument beyond ±this is [`Precise::OutOfRange`]: e^x would pass 2^±MAG_LIMIT.
const EXP_LIMIT: i64 = 185_000_000;
/// Beyond this argument σ is 1, tanh ±1 and softplus(x) = x at every precision allowed here:
/// the difference, about e^{-1e6} ≈ 2^{-1.44e6}, is below half an ulp at MAX_PRECISION bits.
const SATURATE: i64 = 1_000_000;
/// Extra bits the transcendental functions work with before rounding to the target precision.
const GUARD: usize = 64;
/// The relative error a stable root must be known to be below: 2^-60.
const STABLE_LN_ERR: f64 = -60.0 * LN_2;

const INF: f64 = f64::INFINITY;
const NEG_INF: f64 = f64::NEG_INFINITY;

/// Why a graph could not be evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// A variable the caller gave no value for.
    Unbound(Sym),
    /// The graph contains an unevaluated `d(expr)/d(x)`; differentiate first.
    Unevaluated,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Unbound(s) => write!(f, "no value was given for symbol #{}", s.0),
            EvalError::Unevaluated => f.write_str(
                "the expression contains an unevaluated derivative; differentiate it first",
            ),
        }
    }
}

impl std::error::Error for EvalError {}

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
) -> Result<HashMap<Id, f64>, EvalError> {
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
            Node::Deriv(..) => return Err(EvalError::Unevaluated),
        };
        vals[id.index()] = v;
    }
    Ok(order.into_iter().map(|id| (id, vals[id.index()])).collect())
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
    fn sigmoid(z: f64) -> f64 {
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

// ---------------------------------------------------------------------------------------------
// Precise values
// ---------------------------------------------------------------------------------------------

/// A high-precision value.
#[derive(Clone, Debug, PartialEq)]
pub enum Precise {
    Finite(Big),
    /// Not a real number: log or sqrt of a negative, log 0, division by zero, a negative base
    /// to a non-integer power, or an input that was NaN or infinite.
    Undefined,
    /// A real number beyond what is tracked: a magnitude beyond 2^±2^28 (`exp` of an argument
    /// beyond ±1.85e8, say), or anything computed from such a value. Never a float64 anyway.
    OutOfRange,
}

impl Precise {
    /// The exact value of a float64 (NaN and infinities are [`Precise::Undefined`]).
    pub fn from_f64(x: f64) -> Precise {
        match Big::try_from(x) {
            Ok(b) if x.is_finite() => Precise::Finite(b),
            _ => Precise::Undefined,
        }
    }

    /// A constant of the graph rounded to `bits` (exact for dyadic rationals and integers).
    pub fn from_num(n: Num, bits: usize) -> Precise {
        num_value(n, bits.max(MIN_PRECISION)).0
    }

    /// Parses a decimal literal (`-1.5e-3`, `.25`, `7`) correctly rounded to `bits`.
    pub fn parse_decimal(text: &str, bits: usize) -> Option<Precise> {
        let text = text.trim();
        let (neg, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
            None => (body, 0),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part)
        {
            return None;
        }
        let digits = format!("{int_part}{frac_part}");
        let n: IBig = digits.parse().ok()?;
        let scale = exponent.checked_sub(frac_part.len() as i64)?;
        if n == IBig::ZERO {
            return Some(Precise::Finite(Big::ZERO));
        }
        if scale.unsigned_abs() > 1_000_000 {
            return Some(Precise::OutOfRange);
        }
        let n = if neg { -n } else { n };
        let ctx = Ctx::new(bits.max(MIN_PRECISION));
        let ten = IBig::from(10u8).pow(scale.unsigned_abs() as usize);
        let v = if scale >= 0 {
            round_to(&Big::from(n * ten), ctx.precision()).value()
        } else {
            ctx.div(Big::from(n).repr(), Big::from(ten).repr()).value()
        };
        Some(Precise::Finite(v))
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, Precise::Finite(_))
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, Precise::Finite(b) if b.repr().is_zero())
    }

    pub fn as_big(&self) -> Option<&Big> {
        match self {
            Precise::Finite(b) => Some(b),
            _ => None,
        }
    }

    /// The nearest float64 (±inf or ±0 beyond its range; NaN unless finite).
    pub fn to_f64(&self) -> f64 {
        match self {
            Precise::Finite(b) => b.to_f64().value(),
            _ => f64::NAN,
        }
    }

    /// Scientific notation with `digits` significant digits (rounded half to even), trailing
    /// zeros dropped, in Rust's `{:e}` style: `2.4109373099548972e-20`, `1e0`, `-5e-1`.
    /// Non-finite values print as `undefined` and `out of range`.
    pub fn to_decimal_string(&self, digits: usize) -> String {
        match self {
            Precise::Finite(b) => decimal_string(b, digits.max(1)),
            Precise::Undefined => "undefined".to_string(),
            Precise::OutOfRange => "out of range".to_string(),
        }
    }

    /// The relative error of a float64 approximation of this value, `|approx - self| / |self|`
    /// (0 when both are zero, infinite when only this is); `None` when either is not finite.
    pub fn rel_error(&self, approx: f64) -> Option<f64> {
        let exact = self.as_big()?;
        let a = Big::try_from(approx).ok().filter(|_| approx.is_finite())?;
        if exact.repr().is_zero() {
            return Some(if approx == 0.0 { 0.0 } else { INF });
        }
        let ctx = Ctx::new(64);
        let diff = ctx.sub(a.repr(), exact.repr()).value();
        let rel = ctx.div(diff.repr(), exact.repr()).value();
        Some(rel.to_f64().value().abs())
    }

    pub fn neg(&self) -> Precise {
        match self {
            Precise::Finite(b) => Precise::Finite(-b.clone()),
            other => other.clone(),
        }
    }

    /// `self + other` rounded to `bits`.
    pub fn add(&self, other: &Precise, bits: usize) -> Precise {
        let p = Prec::new(bits);
        p.sum(&[&Val::exact(self.clone()), &Val::exact(other.clone())])
            .v
    }

    /// `self - other` rounded to `bits`.
    pub fn sub(&self, other: &Precise, bits: usize) -> Precise {
        self.add(&other.neg(), bits)
    }

    /// `self · other` rounded to `bits`.
    pub fn mul(&self, other: &Precise, bits: usize) -> Precise {
        let p = Prec::new(bits);
        p.product(&[&Val::exact(self.clone()), &Val::exact(other.clone())])
            .v
    }

    /// `self / other` rounded to `bits`; division by zero is [`Precise::Undefined`].
    pub fn div(&self, other: &Precise, bits: usize) -> Precise {
        let p = Prec::new(bits);
        let inv = p.pow(
            &Val::exact(other.clone()),
            &Val::exact(Precise::Finite(Big::from(-1))),
        );
        p.product(&[&Val::exact(self.clone()), &inv]).v
    }

    /// `self ^ exponent` rounded to `bits`.
    pub fn pow(&self, exponent: &Precise, bits: usize) -> Precise {
        Prec::new(bits)
            .pow(&Val::exact(self.clone()), &Val::exact(exponent.clone()))
            .v
    }

    /// A built-in function of this value, rounded to `bits`.
    pub fn call(&self, f: Func, bits: usize) -> Precise {
        Prec::new(bits).call(f, &Val::exact(self.clone())).v
    }
}

impl fmt::Display for Precise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string(STABLE_DIGITS))
    }
}

// ---------------------------------------------------------------------------------------------
// Precise evaluation
// ---------------------------------------------------------------------------------------------

/// Evaluates the roots at `precision_bits` (clamped to `MIN_PRECISION..=MAX_PRECISION`).
///
/// Variable values are taken as exact; constants are rounded to the precision.
pub fn eval_precise(
    graph: &Graph,
    roots: &[Id],
    value_of: &dyn Fn(Sym) -> Option<Precise>,
    precision_bits: usize,
) -> Result<Vec<Precise>, EvalError> {
    let bind = |s| value_of(s).map(Binding::Value);
    let all = eval_bounded(graph, roots, &bind, precision_bits)?;
    Ok(roots.iter().map(|r| all[r].v.clone()).collect())
}

/// Evaluates every node reachable from the roots at `precision_bits`, each once, bottom-up.
pub fn eval_precise_all(
    graph: &Graph,
    roots: &[Id],
    value_of: &dyn Fn(Sym) -> Option<Precise>,
    precision_bits: usize,
) -> Result<HashMap<Id, Precise>, EvalError> {
    eval_reference_all(
        graph,
        roots,
        &|s| value_of(s).map(Binding::Value),
        precision_bits,
    )
}

/// [`eval_precise_all`] with names evaluated through their definitions where `bind` says so.
pub fn eval_reference_all(
    graph: &Graph,
    roots: &[Id],
    bind: &dyn Fn(Sym) -> Option<Binding>,
    precision_bits: usize,
) -> Result<HashMap<Id, Precise>, EvalError> {
    let all = eval_bounded(graph, roots, bind, precision_bits)?;
    Ok(all.into_iter().map(|(id, v)| (id, v.v)).collect())
}

/// The result of [`eval_precise_stable`].
#[derive(Clone, Debug, PartialEq)]
pub struct Stable {
    /// One value per root, from the last precision that root was evaluated at.
    pub values: Vec<Precise>,
    /// The highest precision (bits) evaluated at.
    pub precision_bits: usize,
    /// Whether every root is [`Resolution::Converged`].
    pub converged: bool,
    /// How far each root is known.
    pub resolutions: Vec<Resolution>,
}

/// How well a reference value is known.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    /// Accurate to better than 2^-60 relative (or certainly undefined) and agreeing to 17
    /// significant digits between two successive precisions.
    Converged,
    /// Not resolved at the highest precision allowed: the true value lies within
    /// `[low, high]` (both finite; the interval may contain 0). Herbie's rule applies: a
    /// reference that hit the cap is not trusted beyond this interval.
    Within { low: Big, high: Big },
    /// Not resolved, and no interval is known (an undefined or out-of-range value in doubt).
    Unknown,
}

/// What a variable stands for in a reference evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum Binding {
    /// A value given exactly.
    Value(Precise),
    /// The node that defines it: evaluated in the same pass at the same precision, so that
    /// nothing is rounded between a name and what uses it (a stored σ(400) = 1 would make
    /// 1 − σ(400) zero downstream).
    Formula(Id),
}

/// Ground truth: evaluates at 128, 256, 512, ... bits until the roots agree to 17 significant
/// digits between two successive precisions and their error bounds are below 2^-60.
pub fn eval_precise_stable(
    graph: &Graph,
    roots: &[Id],
    value_of: &dyn Fn(Sym) -> Option<Precise>,
) -> Result<Stable, EvalError> {
    eval_precise_stable_upto(graph, roots, value_of, STABLE_MAX_BITS)
}

/// [`eval_precise_stable`] with an explicit precision ceiling (bits).
pub fn eval_precise_stable_upto(
    graph: &Graph,
    roots: &[Id],
    value_of: &dyn Fn(Sym) -> Option<Precise>,
    max_bits: usize,
) -> Result<Stable, EvalError> {
    eval_reference(graph, roots, &|s| value_of(s).map(Binding::Value), max_bits)
}

/// The reference value of each root, names evaluated through their definitions where `bind`
/// says so. Each root's precision is raised on its own (128, 256, … bits) until it is
/// [`Resolution::Converged`] or `max_bits` is reached.
pub fn eval_reference(
    graph: &Graph,
    roots: &[Id],
    bind: &dyn Fn(Sym) -> Option<Binding>,
    max_bits: usize,
) -> Result<Stable, EvalError> {
    let max_bits = max_bits.clamp(MIN_PRECISION, MAX_PRECISION);
    let mut bits = STABLE_START_BITS.min(max_bits);
    let mut values: Vec<Precise> = vec![Precise::Undefined; roots.len()];
    let mut resolutions: Vec<Option<Resolution>> = vec![None; roots.len()];
    let mut previous: Vec<Option<Precise>> = vec![None; roots.len()];
    let mut pending: Vec<usize> = (0..roots.len()).collect();
    let mut used_bits = bits;
    while !pending.is_empty() {
        used_bits = bits;
        let wanted: Vec<Id> = pending.iter().map(|&i| roots[i]).collect();
        let all = eval_bounded(graph, &wanted, bind, bits)?;
        let last = bits >= max_bits;
        pending.retain(|&i| {
            let v = &all[&roots[i]];
            let accurate = match v.v {
                Precise::Finite(_) => v.lerr <= STABLE_LN_ERR && !v.shaky,
                Precise::Undefined => v.lerr == NEG_INF,
                Precise::OutOfRange => !v.shaky,
            };
            let agree = previous[i]
                .as_ref()
                .is_some_and(|p| same_digits(p, &v.v, STABLE_DIGITS));
            values[i] = v.v.clone();
            if accurate && agree {
                resolutions[i] = Some(Resolution::Converged);
                return false;
            }
            if last {
                resolutions[i] = Some(interval(v));
                return false;
            }
            previous[i] = Some(v.v.clone());
            true
        });
        bits = (bits * 2).min(max_bits);
    }
    let resolutions: Vec<Resolution> = resolutions
        .into_iter()
        .map(|r| r.unwrap_or(Resolution::Converged))
        .collect();
    Ok(Stable {
        converged: resolutions.iter().all(|r| *r == Resolution::Converged),
        values,
        precision_bits: used_bits,
        resolutions,
    })
}

/// The interval a value with an error bound is known to lie in.
fn interval(v: &Val) -> Resolution {
    let Precise::Finite(b) = &v.v else {
        return Resolution::Unknown;
    };
    if v.shaky || v.lerr.is_nan() {
        return Resolution::Unknown;
    }
    let ld = v.abs_err();
    if !ld.is_finite() {
        return if ld == NEG_INF {
            Resolution::Within {
                low: b.clone(),
                high: b.clone(),
            }
        } else {
            Resolution::Unknown
        };
    }
    // δ = e^ld as a binary float: 2^(ld / ln 2), rounded up (and no smaller than the
    // smallest magnitude held)
    let e2 = (ld / LN_2).max(-(MAG_LIMIT as f64));
    let whole = e2.ceil() as isize;
    let delta = Big::from_parts(IBig::ONE, whole + 1);
    let ctx = Ctx::new(64);
    Resolution::Within {
        low: ctx.sub(b.repr(), delta.repr()).value(),
        high: ctx.add(b.repr(), delta.repr()).value(),
    }
}

fn same_digits(a: &Precise, b: &Precise, digits: usize) -> bool {
    match (a, b) {
        (Precise::Finite(_), Precise::Finite(_)) => {
            a.to_decimal_string(digits) == b.to_decimal_string(digits)
        }
        (Precise::Undefined, Precise::Undefined) | (Precise::OutOfRange, Precise::OutOfRange) => {
            true
        }
        _ => false,
    }
}

fn eval_bounded(
    graph: &Graph,
    roots: &[Id],
    bind: &dyn Fn(Sym) -> Option<Binding>,
    precision_bits: usize,
) -> Result<HashMap<Id, Val>, EvalError> {
    let p = Prec::new(precision_bits);
    let (order, bindings) = evaluation_order(graph, roots, bind)?;
    let mut vals: HashMap<Id, Val> = HashMap::with_capacity(order.len());
    for &id in &order {
        let get = |x: &Id| vals.get(x).expect("children are evaluated first");
        let v = match graph.node(id) {
            Node::Num(n) => {
                let (v, exact) = num_value(*n, p.bits);
                Val::rounded(v, exact, p.lu)
            }
            Node::Var(_) => match &bindings[&id] {
                Binding::Value(v) => Val::rounded(v.clone(), true, p.lu),
                Binding::Formula(def) => get(def).clone(),
            },
            Node::Add(xs) => p.sum(&xs.iter().map(get).collect::<Vec<_>>()),
            Node::Mul(xs) => p.product(&xs.iter().map(get).collect::<Vec<_>>()),
            Node::Pow(a, b) => p.pow(get(a), get(b)),
            Node::Call(f, a) => p.call(*f, get(a)),
            Node::Deriv(..) => return Err(EvalError::Unevaluated),
        };
        let inherited = graph.children(id).iter().any(|c| get(c).shaky);
        vals.insert(id, v.shaky_if(inherited));
    }
    Ok(vals)
}

/// The nodes to evaluate, children (and a name's definition) before what uses them, and the
/// binding of each variable node reached.
fn evaluation_order(
    graph: &Graph,
    roots: &[Id],
    bind: &dyn Fn(Sym) -> Option<Binding>,
) -> Result<(Vec<Id>, HashMap<Id, Binding>), EvalError> {
    let mut bindings: HashMap<Id, Binding> = HashMap::new();
    let mut done: std::collections::HashSet<Id> = std::collections::HashSet::new();
    let mut order = Vec::new();
    // (node, whether its dependencies were pushed already)
    let mut stack: Vec<(Id, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
    while let Some((id, expanded)) = stack.pop() {
        if done.contains(&id) {
            continue;
        }
        if expanded {
            done.insert(id);
            order.push(id);
            continue;
        }
        stack.push((id, true));
        let deps = match graph.node(id) {
            Node::Var(s) => {
                let b = bind(*s).ok_or(EvalError::Unbound(*s))?;
                let deps = match b {
                    Binding::Formula(def) => vec![def],
                    Binding::Value(_) => vec![],
                };
                bindings.insert(id, b);
                deps
            }
            _ => graph.children(id),
        };
        stack.extend(
            deps.into_iter()
                .filter(|d| !done.contains(d))
                .map(|d| (d, false)),
        );
    }
    Ok((order, bindings))
}

/// A value with `lerr`, the natural log of a bound on its relative error.
///
/// `-inf` means exact; `+inf` unknown (a zero computed with rounding error, a sign in doubt).
/// For `Undefined`, `-inf` means certainly undefined and `+inf` possibly a rounding artefact.
/// `shaky` marks a value that might in truth be undefined: a domain decision on the way (the
/// sign under a sqrt or log, whether an exponent of a negative base is an integer) was in doubt.
#[derive(Clone, Debug)]
struct Val {
    v: Precise,
    lerr: f64,
    shaky: bool,
    /// For a zero computed with rounding error: `ln` of a bound on the true value's magnitude
    /// (`+inf` when none is known). A relative error says nothing about a zero, and an
    /// identically zero quantity (σ(x) + σ(−x) − 1) is known only through this bound.
    zero_err: f64,
}

impl Val {
    fn exact(v: Precise) -> Val {
        Val {
            v,
            lerr: NEG_INF,
            shaky: false,
            zero_err: NEG_INF,
        }
    }

    /// A zero whose true value is known to be at most `e^bound` in magnitude.
    fn zero_within(bound: f64) -> Val {
        if bound == NEG_INF {
            return Val::exact(Precise::Finite(Big::ZERO));
        }
        Val {
            v: Precise::Finite(Big::ZERO),
            lerr: INF,
            shaky: false,
            zero_err: if bound.is_nan() { INF } else { bound },
        }
    }

    /// `ln` of a bound on the absolute error (`+inf` for a value that is not finite).
    fn abs_err(&self) -> f64 {
        match &self.v {
            Precise::Finite(b) if is_zero(b) => {
                if self.lerr == NEG_INF {
                    NEG_INF
                } else {
                    self.zero_err
                }
            }
            Precise::Finite(b) => ln_delta(b, self.lerr),
            _ => INF,
        }
    }

    /// `ln` of a bound on the true value's magnitude.
    fn ln_magnitude_bound(&self) -> f64 {
        match &self.v {
            Precise::Finite(b) if is_zero(b) => self.abs_err(),
            Precise::Finite(b) => ln_abs(b) + lse(self.lerr),
            _ => INF,
        }
    }

    fn rounded(v: Precise, exact: bool, lu: f64) -> Val {
        match v {
            Precise::Finite(b) => Val::finite(b, if exact { NEG_INF } else { lu }),
            other => Val::exact(other),
        }
    }

    fn finite(b: Big, lerr: f64) -> Val {
        let r = b.repr();
        if !r.is_zero() {
            let top = r.exponent() as i128 + r.digits() as i128;
            if top < -MAG_LIMIT {
                // too small to hold: a zero known to within its magnitude, so that what it
                // is added to is not lost with it
                return Val::zero_within(top as f64 * LN_2 + lse(lerr));
            }
            if top > MAG_LIMIT {
                return Val::exact(Precise::OutOfRange);
            }
        }
        let mut lerr = if lerr.is_nan() { INF } else { lerr };
        if r.is_zero() && lerr > NEG_INF {
            lerr = INF;
        }
        Val {
            v: Precise::Finite(b),
            lerr,
            shaky: false,
            zero_err: INF,
        }
    }

    fn undefined(certain: bool) -> Val {
        Val {
            v: Precise::Undefined,
            lerr: if certain { NEG_INF } else { INF },
            shaky: false,
            zero_err: INF,
        }
    }

    fn shaky_if(mut self, doubt: bool) -> Val {
        self.shaky |= doubt;
        self
    }

    fn out_of_range() -> Val {
        Val::exact(Precise::OutOfRange)
    }

    /// Whether the sign of the true value is the sign of the computed one.
    fn sign_certain(&self) -> bool {
        self.lerr < 0.0
    }
}

/// The natural log of `|x|` (`-inf` for zero), from the top 60 bits.
fn ln_abs(x: &Big) -> f64 {
    if x.repr().is_zero() {
        return NEG_INF;
    }
    let top = round_to(x, 60).value();
    let (m, e) = top.into_repr().into_parts();
    let m = i64::try_from(m)
        .map(|m| m.unsigned_abs() as f64)
        .unwrap_or(f64::MAX);
    m.ln() + e as f64 * LN_2
}

/// `ln δ` for `δ = |x|·e^lerr`, the absolute error of a value.
fn ln_delta(x: &Big, lerr: f64) -> f64 {
    if lerr == INF {
        INF
    } else if lerr == NEG_INF {
        NEG_INF
    } else {
        ln_abs(x) + lerr
    }
}

/// `ln(a / |r|)` for an absolute error `e^a` on a result `r` with `ln|r| = lr`.
fn lsub(a: f64, lr: f64) -> f64 {
    if a == NEG_INF {
        NEG_INF
    } else if lr == NEG_INF {
        INF
    } else {
        a - lr
    }
}

fn logsumexp(xs: &[f64]) -> f64 {
    let m = xs
        .iter()
        .copied()
        .fold(NEG_INF, |a, b| if b.is_nan() { INF } else { a.max(b) });
    if m == NEG_INF || m == INF {
        return m;
    }
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// `ln(e^{e^t} - 1)`: the relative error of `e^x` when `x` is off by `e^t`.
fn ln_expm1_of_ln(t: f64) -> f64 {
    if t < -20.0 {
        t + t.exp() // e^y - 1 <= y(1 + y) for small y
    } else {
        let y = t.exp();
        if y > 700.0 { y } else { y.exp_m1().ln() }
    }
}

/// `ln(-ln(1 - r))` for `r = e^l`: the absolute error of `ln x` when `x` is off by `r` relative.
fn ln_neg_ln1p_neg(l: f64) -> f64 {
    if l >= 0.0 {
        INF
    } else if l < -20.0 {
        l + l.exp() // -ln(1-r) <= r(1 + r) for small r
    } else {
        (-(-(l.exp())).ln_1p()).ln()
    }
}

/// `ln(1 + e^a)` in float64 without overflow.
fn lse(a: f64) -> f64 {
    if a > 0.0 {
        a + (-a).exp().ln_1p()
    } else {
        a.exp().ln_1p()
    }
}

/// `ln σ'(d)`, the log of the sigmoid's slope at distance `d >= 0` from 0.
fn ln_sigmoid_prime(d: f64) -> f64 {
    -d - 2.0 * lse(-d)
}

/// `ln sech²(d)`, the log of tanh's slope at distance `d >= 0` from 0.
fn ln_sech2(d: f64) -> f64 {
    (4.0f64).ln() - 2.0 * d - 2.0 * lse(-2.0 * d)
}

/// `ln x` for `x > 0` at `bits`. dashu reduces the argument by an `f32` estimate of its binary
/// exponent, which for exponents beyond ~2^24 can be off by many units and leaves a series that
/// barely converges; so far from 1, split off the exact power of two first.
fn ln_pos(bits: usize, x: &Big) -> Rounded<Big> {
    let r = x.repr();
    let k = r.exponent() as i64 + r.digits() as i64 - 1; // x / 2^k is in [1, 2)
    if k.unsigned_abs() <= 1 << 20 {
        return Ctx::new(bits).ln(r);
    }
    // |k ln 2| is far above ln m < ln 2, so the sum cannot cancel
    let extra = 64 - k.unsigned_abs().leading_zeros() as usize;
    let w = Ctx::new(bits + extra + 8);
    let m = x.clone() >> k as isize;
    let ln_m = w.ln(m.repr()).value();
    let ln2 = w.ln(Big::from(2).repr()).value();
    let k_ln2 = w.mul(ln2.repr(), Big::from(k).repr()).value();
    let sum = w.add(k_ln2.repr(), ln_m.repr()).value();
    match round_to(&sum, bits) {
        Approximation::Exact(v) => Approximation::Inexact(v, dashu_float::round::Rounding::NoOp),
        inexact => inexact,
    }
}

/// The binary order of `|x|`: `|x|` is in `[2^(top-1), 2^top)`.
fn top(x: &Big) -> i64 {
    let r = x.repr();
    r.exponent() as i64 + r.digits() as i64
}

/// `a + b` rounded by `ctx`. When one operand lies wholly below half an ulp of the other the
/// sum is the larger one, rounded: dashu would otherwise align the operands across the whole
/// gap, which for magnitudes 2^±10^8 apart costs a 10^8-bit shift.
fn add(ctx: &Ctx, a: &Big, b: &Big) -> Rounded<Big> {
    if !is_zero(a) && !is_zero(b) {
        let gap = ctx.precision() as i64 + 2;
        let (ta, tb) = (top(a), top(b));
        let larger = if ta - tb > gap {
            Some(a)
        } else if tb - ta > gap {
            Some(b)
        } else {
            None
        };
        if let Some(l) = larger {
            let v = round_to(l, ctx.precision()).value();
            return Approximation::Inexact(v, dashu_float::round::Rounding::NoOp);
        }
    }
    ctx.add(a.repr(), b.repr())
}

/// `ln(1 + t)` for `t > 0` at the precision of `ctx` (just `t` when `t` is below that precision).
fn ln_1p(ctx: &Ctx, t: &Big) -> Big {
    if top(t) < -(ctx.precision() as i64) - 2 {
        return round_to(t, ctx.precision()).value();
    }
    ctx.ln_1p(t.repr()).value()
}

fn round_to(x: &Big, bits: usize) -> Rounded<Big> {
    Ctx::new(bits).add(x.repr(), &Repr::zero())
}

fn is_zero(x: &Big) -> bool {
    x.repr().is_zero()
}

fn is_neg(x: &Big) -> bool {
    x.sign() == Sign::Negative && !is_zero(x)
}

fn abs_big(x: &Big) -> Big {
    if is_neg(x) { -x.clone() } else { x.clone() }
}

fn approx(x: &Big) -> f64 {
    x.to_f64().value()
}

fn limit(n: i64) -> Big {
    Big::from(n)
}

/// A graph constant at `bits`, and whether it is exact.
fn num_value(n: Num, bits: usize) -> (Precise, bool) {
    match n {
        Num::Rat(a, b) => {
            let r = Ctx::new(bits).div(Big::from(a).repr(), Big::from(b).repr());
            let exact = matches!(r, Approximation::Exact(_));
            (Precise::Finite(r.value()), exact)
        }
        Num::Float(x) => match Precise::from_f64(x) {
            Precise::Finite(b) => {
                let r = round_to(&b, bits);
                let exact = matches!(r, Approximation::Exact(_));
                (Precise::Finite(r.value()), exact)
            }
            other => (other, true),
        },
    }
}

/// Combines the operands' special values: `Some` when the result is not a finite computation.
fn special(xs: &[&Val]) -> Option<Val> {
    if xs.iter().any(|x| x.v == Precise::Undefined) {
        let certain = xs
            .iter()
            .any(|x| x.v == Precise::Undefined && x.lerr == NEG_INF);
        return Some(Val::undefined(certain));
    }
    if xs.iter().any(|x| x.v == Precise::OutOfRange) {
        return Some(Val::out_of_range());
    }
    None
}

/// The arithmetic of one precision.
struct Prec {
    bits: usize,
    /// The working precision of the transcendental functions.
    work: usize,
    /// `ln` of the relative error one rounding may add (2^(1-bits), with a factor 2 to spare).
    lu: f64,
}

impl Prec {
    fn new(bits: usize) -> Prec {
        let bits = bits.clamp(MIN_PRECISION, MAX_PRECISION);
        Prec {
            bits,
            work: bits + GUARD,
            lu: (1.0 - bits as f64) * LN_2,
        }
    }

    fn ctx(&self) -> Ctx {
        Ctx::new(self.bits)
    }

    fn sum(&self, xs: &[&Val]) -> Val {
        if let Some(v) = special(xs) {
            return v;
        }
        let terms: Vec<&Big> = xs.iter().filter_map(|x| x.v.as_big()).collect();
        let Some((first, rest)) = terms.split_first() else {
            return Val::exact(Precise::Finite(Big::ZERO));
        };
        let ctx = self.ctx();
        let mut acc: Big = (*first).clone();
        let mut roundings: Vec<f64> = Vec::new();
        for t in rest {
            let r = add(&ctx, &acc, t);
            if let Approximation::Inexact(v, _) = &r {
                roundings.push(ln_abs(v) + self.lu);
            }
            acc = r.value();
        }
        let ls = ln_abs(&acc);
        let mut parts: Vec<f64> = xs.iter().map(|x| lsub(x.abs_err(), ls)).collect();
        parts.extend(roundings.iter().map(|&r| lsub(r, ls)));
        if is_zero(&acc) {
            let mut absolute: Vec<f64> = xs.iter().map(|x| x.abs_err()).collect();
            absolute.extend(roundings);
            return Val::zero_within(logsumexp(&absolute));
        }
        Val::finite(acc, logsumexp(&parts))
    }

    fn product(&self, xs: &[&Val]) -> Val {
        let exact_zero = |x: &&Val| x.v.is_zero() && x.lerr == NEG_INF;
        if !xs.iter().any(|x| x.v == Precise::Undefined) && xs.iter().any(exact_zero) {
            return Val::exact(Precise::Finite(Big::ZERO));
        }
        if let Some(v) = special(xs) {
            return v;
        }
        if xs.iter().any(|x| x.v.is_zero()) {
            let bound: f64 = xs.iter().map(|x| x.ln_magnitude_bound()).sum();
            return Val::zero_within(bound);
        }
        let factors: Vec<&Big> = xs.iter().filter_map(|x| x.v.as_big()).collect();
        let Some((first, rest)) = factors.split_first() else {
            return Val::exact(Precise::Finite(Big::ONE));
        };
        let ctx = self.ctx();
        let mut acc: Big = (*first).clone();
        let mut inexact = 0usize;
        for f in rest {
            let r = ctx.mul(acc.repr(), f.repr());
            if let Approximation::Inexact(..) = r {
                inexact += 1;
            }
            acc = r.value();
        }
        let mut lerrs: Vec<f64> = xs.iter().map(|x| x.lerr).collect();
        if inexact > 0 {
            lerrs.push((inexact as f64).ln() + self.lu);
        }
        let l = logsumexp(&lerrs);
        let lerr = if l < 0.0 {
            // Π(1 + r_i) - 1 <= e^S - 1 <= S(1 + S) for S = Σ r_i <= 1
            l + l.exp().ln_1p()
        } else {
            let s: f64 = xs.iter().map(|x| x.lerr.exp().ln_1p()).sum::<f64>()
                + inexact as f64 * self.lu.exp().ln_1p();
            s.exp_m1().ln()
        };
        Val::finite(acc, lerr)
    }

    /// A transcendental result: `prop` is `ln` of the absolute error propagated from the
    /// argument; one rounding is added unless the value is exact.
    fn finish(&self, value: Big, prop: f64, exact: bool) -> Val {
        if is_zero(&value) {
            return Val::zero_within(prop);
        }
        let lr = ln_abs(&value);
        let rounding = if exact { NEG_INF } else { self.lu };
        Val::finite(value, logsumexp(&[lsub(prop, lr), rounding]))
    }

    fn round(&self, x: &Big) -> Big {
        round_to(x, self.bits).value()
    }

    /// `e^x` at the working precision (plus the bits the argument's size costs), or `None`
    /// beyond the exp limit.
    fn exp_work(&self, x: &Big) -> Option<Big> {
        if abs_big(x) > limit(EXP_LIMIT) {
            return None;
        }
        let extra = (approx(x).abs() + 1.0).log2().ceil() as usize;
        Some(Ctx::new(self.work + extra).exp(x.repr()).value())
    }

    fn call(&self, f: Func, x: &Val) -> Val {
        if let Some(v) = special(&[x]) {
            return v;
        }
        let b = x.v.as_big().expect("finite");
        let w = Ctx::new(self.work);
        let one = Big::ONE;
        let ax = abs_big(b);
        let xf = approx(&ax);
        let ld = x.abs_err();
        // the distance from 0 of the nearest point the true argument may be at
        let d = if x.lerr >= 0.0 {
            0.0
        } else {
            xf * -(x.lerr.exp_m1())
        };
        let zero = is_zero(b);
        // where the activations saturate
        let big_arg = ax > limit(SATURATE);
        match f {
            Func::Sigmoid => {
                if zero {
                    return self.finish(
                        Big::from_parts(IBig::ONE, -1),
                        ld + ln_sigmoid_prime(d),
                        true,
                    );
                }
                let value = if big_arg && !is_neg(b) {
                    Big::ONE
                } else {
                    let Some(t) = self.exp_work(&-ax.clone()) else {
                        // σ(−X) < e^−X: beyond any magnitude held
                        return Val::zero_within(-d);
                    };
                    let den = add(&w, &one, &t).value();
                    let num = if is_neg(b) { t } else { one };
                    self.round(&w.div(num.repr(), den.repr()).value())
                };
                self.finish(value, ld + ln_sigmoid_prime(d), false)
            }
            Func::Tanh => {
                if zero {
                    return self.finish(Big::ZERO, ld, true);
                }
                let value = if big_arg {
                    Big::ONE
                } else {
                    // tanh|x| = -m / (2 + m) with m = e^{-2|x|} - 1
                    let y = -(ax.clone() << 1);
                    let extra = (xf + 1.0).log2().ceil() as usize + 1;
                    let m = Ctx::new(self.work + extra).exp_m1(y.repr()).value();
                    let den = w.add(Big::from(2).repr(), m.repr()).value();
                    self.round(&w.div((-m).repr(), den.repr()).value())
                };
                let value = if is_neg(b) { -value } else { value };
                self.finish(value, ld + ln_sech2(d), false)
            }
            Func::Softplus => {
                if big_arg && !is_neg(b) {
                    // ln(1 + e^x) = x + ln(1 + e^-x), and e^-x is far below any precision
                    return self.finish(self.round(b), ld, false);
                }
                let value = if is_neg(b) || zero {
                    let Some(t) = self.exp_work(b) else {
                        // softplus(−X) < e^−X
                        return Val::zero_within(-d);
                    };
                    ln_1p(&w, &t)
                } else {
                    let t = self.exp_work(&-b.clone()).expect("within the limit");
                    let l = ln_1p(&w, &t);
                    add(&w, b, &l).value()
                };
                let xd = if x.lerr >= 0.0 {
                    INF
                } else {
                    approx(b) + xf * x.lerr.exp()
                };
                self.finish(self.round(&value), ld - lse(-xd), false)
            }
            Func::Exp => {
                if zero {
                    return Val::finite(Big::ONE, ln_expm1_of_ln(ld));
                }
                let Some(value) = self.exp_work(b) else {
                    return if is_neg(b) {
                        Val::zero_within(-d)
                    } else {
                        Val::out_of_range()
                    };
                };
                let lerr = logsumexp(&[ln_expm1_of_ln(ld), self.lu]);
                Val::finite(self.round(&value), lerr)
            }
            Func::Log => {
                if zero || is_neg(b) {
                    return Val::undefined(x.sign_certain());
                }
                let value = ln_pos(self.work, b);
                let exact = matches!(value, Approximation::Exact(_));
                let value = self.round(&value.value());
                self.finish(value, ln_neg_ln1p_neg(x.lerr), exact)
                    .shaky_if(!x.sign_certain())
            }
            Func::Sqrt => self.sqrt(x),
            Func::Abs if zero => x.clone(),
            Func::Abs => Val::finite(ax, x.lerr),
            Func::Relu => {
                if is_neg(b) || zero {
                    if x.sign_certain() {
                        Val::exact(Precise::Finite(Big::ZERO))
                    } else {
                        // relu moves nothing further than its argument moves
                        Val::zero_within(x.abs_err())
                    }
                } else {
                    Val::finite(b.clone(), x.lerr)
                }
            }
            Func::ReluPrime => {
                let value = if is_neg(b) || zero {
                    Big::ZERO
                } else {
                    Big::ONE
                };
                Val::finite(value, if x.sign_certain() { NEG_INF } else { INF })
            }
            Func::SigmoidPrime => {
                if zero {
                    return self.finish(
                        Big::from_parts(IBig::ONE, -2),
                        ld + ln_sigmoid_prime(d),
                        true,
                    );
                }
                // σ'(x) = t / (1 + t)² with t = e^{-|x|}
                let Some(t) = self.exp_work(&-ax.clone()) else {
                    // σ'(x) < e^−|x|
                    return Val::zero_within(-d);
                };
                let den = w.sqr(add(&w, &one, &t).value().repr()).value();
                let value = self.round(&w.div(t.repr(), den.repr()).value());
                self.finish(value, ld + ln_sigmoid_prime(d), false)
            }
            Func::TanhPrime => {
                if zero {
                    return self.finish(Big::ONE, LN_2 + ld + ln_sech2(d), true);
                }
                // sech²(x) = 4t / (1 + t)² with t = e^{-2|x|}
                let Some(t) = self.exp_work(&-(ax.clone() << 1)) else {
                    // sech²(x) < 4e^−2|x|
                    return Val::zero_within(4f64.ln() - 2.0 * d);
                };
                let den = w.sqr(add(&w, &one, &t).value().repr()).value();
                let num = t << 2;
                let value = self.round(&w.div(num.repr(), den.repr()).value());
                self.finish(value, LN_2 + ld + ln_sech2(d), false)
            }
        }
    }

    fn sqrt(&self, x: &Val) -> Val {
        let b = x.v.as_big().expect("finite");
        if is_neg(b) {
            return Val::undefined(x.sign_certain());
        }
        if is_zero(b) {
            return Val::zero_within(x.abs_err() / 2.0).shaky_if(!x.sign_certain());
        }
        let r = self.ctx().sqrt(b.repr());
        let exact = matches!(r, Approximation::Exact(_));
        // sqrt(1 ± r) is within r of 1 for r < 1
        let prop = if x.lerr >= 0.0 { INF } else { x.lerr };
        let rounding = if exact { NEG_INF } else { self.lu };
        Val::finite(r.value(), logsumexp(&[prop, rounding])).shaky_if(!x.sign_certain())
    }

    fn pow(&self, a: &Val, e: &Val) -> Val {
        if let Some(v) = special(&[a, e]) {
            return v;
        }
        let (base, exp) = (a.v.as_big().expect("finite"), e.v.as_big().expect("finite"));
        if is_zero(exp) {
            let exact = e.lerr == NEG_INF;
            return Val::finite(Big::ONE, if exact { NEG_INF } else { INF })
                .shaky_if(!exact && (is_neg(base) || !a.sign_certain()));
        }
        let half = Big::from_parts(IBig::ONE, -1);
        if e.lerr == NEG_INF && *exp == half {
            return self.sqrt(a);
        }
        if is_zero(base) {
            let certain = a.lerr == NEG_INF && e.sign_certain();
            return if is_neg(exp) {
                Val::undefined(certain)
            } else {
                let bound = if e.lerr == NEG_INF && approx(exp) > 0.0 {
                    a.abs_err() * approx(exp)
                } else {
                    INF
                };
                Val::zero_within(bound).shaky_if(!e.sign_certain() || !a.sign_certain())
            };
        }
        let integer = exp.repr().is_int();
        if !integer && is_neg(base) {
            // certain when no exponent within the error bound is an integer
            let frac = approx(&abs_big(&(exp.clone() - exp.round())));
            let certain = a.sign_certain() && frac.ln() > ln_delta(exp, e.lerr);
            return Val::undefined(certain);
        }

        // a negative base needs an exponent that is certainly an integer; a non-integer one
        // needs a base that is certainly positive
        let doubt = if integer {
            is_neg(base) && e.lerr > NEG_INF
        } else {
            !a.sign_certain()
        };

        // log2|base|, accurately also when |base| is near 1
        let mut log2a = ln_abs(base) / LN_2;
        if log2a.abs() < 1.0 {
            let dm1 = Ctx::new(64)
                .sub(abs_big(base).repr(), Big::ONE.repr())
                .value();
            log2a = approx(&dm1).ln_1p() / LN_2;
        }
        let ef = approx(exp);
        let estimate = if log2a == 0.0 { 0.0 } else { log2a * ef };
        if estimate < -(MAG_LIMIT as f64) && a.lerr < -1.0 && e.lerr < -1.0 {
            // |base|^e below any magnitude held; the estimate comes from 60-bit logarithms,
            // and the operands' errors move it by at most their share
            let slack = estimate.abs() * (1e-12 + 2.0 * (a.lerr.exp() + e.lerr.exp())) + 1.0;
            return Val::zero_within(estimate * LN_2 + slack).shaky_if(doubt);
        }
        if estimate.is_nan() || estimate.abs() > MAG_LIMIT as f64 {
            return Val::out_of_range().shaky_if(doubt);
        }

        let (value, exact) = if integer {
            let r = exp.repr();
            if r.exponent() as i128 + r.digits() as i128 > 62 {
                // |base| is (within any precision) 1 here, as the estimate passed: ±1 by
                // parity, and a normalized significand is odd exactly when the exponent is 0
                let odd = r.exponent() == 0;
                (
                    if odd && is_neg(base) {
                        -Big::ONE
                    } else {
                        Big::ONE
                    },
                    true,
                )
            } else {
                let n = exp.to_int().value();
                let r = self.ctx().powi(base.repr(), n);
                let exact = matches!(r, Approximation::Exact(_));
                (r.value(), exact)
            }
        } else {
            let extra = (ef.abs() * log2a.abs() + 1.0).log2().ceil().max(0.0) as usize;
            let w = Ctx::new(self.work + extra);
            let l = ln_pos(w.precision(), base).value();
            let t = w.mul(l.repr(), exp.repr()).value();
            let Some(v) = self.exp_work(&t) else {
                return Val::out_of_range().shaky_if(doubt);
            };
            (self.round(&v), false)
        };

        // the exponent of e the true value may differ by: |b|·(-ln(1 - r_a)) + δ_b·|ln a|
        let lna = (log2a.abs() * LN_2).ln();
        let t = logsumexp(&[
            ln_abs(exp) + ln_neg_ln1p_neg(a.lerr),
            if e.lerr == NEG_INF {
                NEG_INF
            } else {
                ln_delta(exp, e.lerr) + lna
            },
        ]);
        let rounding = if exact { NEG_INF } else { self.lu };
        Val::finite(value, logsumexp(&[ln_expm1_of_ln(t), rounding])).shaky_if(doubt)
    }
}

// ---------------------------------------------------------------------------------------------
// Decimal output
// ---------------------------------------------------------------------------------------------

fn round_half_even_div(num: IBig, den: IBig) -> IBig {
    let q = &num / &den;
    let r = num - &q * &den;
    let twice = r * IBig::from(2u8);
    let odd = (&q & IBig::ONE) == IBig::ONE;
    if twice > den || (twice == den && odd) {
        q + IBig::ONE
    } else {
        q
    }
}

/// `round(|x| · 10^k)` as an integer.
fn scaled_integer(x: &Big, k: i64, digits: usize) -> IBig {
    let (m, e) = x.repr().clone().into_parts();
    let m = if m < IBig::ZERO { -m } else { m };
    const EXACT_LIMIT: u64 = 20_000;
    if (e.unsigned_abs() as u64) <= EXACT_LIMIT && k.unsigned_abs() <= EXACT_LIMIT {
        let mut num = m;
        let mut den = IBig::ONE;
        if e >= 0 {
            num <<= e as usize;
        } else {
            den <<= e.unsigned_abs();
        }
        let ten = IBig::from(10u8).pow(k.unsigned_abs() as usize);
        if k >= 0 {
            num *= ten;
        } else {
            den *= ten;
        }
        round_half_even_div(num, den)
    } else {
        // far from 1: scale at a precision well beyond the digits wanted
        let ctx = Ctx::new(digits * 4 + x.repr().digits() + 128);
        let ten = ctx.powi(Big::from(10).repr(), IBig::from(k)).value();
        let y = ctx.mul(abs_big(x).repr(), ten.repr()).value();
        y.to_int().value()
    }
}

fn decimal_string(x: &Big, digits: usize) -> String {
    if is_zero(x) {
        return "0e0".to_string();
    }
    let mut e10 = (ln_abs(x) / LN_10).floor() as i64;
    let lo = IBig::from(10u8).pow(digits - 1);
    let hi = IBig::from(10u8).pow(digits);
    let mut n = scaled_integer(x, digits as i64 - 1 - e10, digits);
    for _ in 0..4 {
        if n >= hi {
            e10 += 1;
        } else if n < lo {
            e10 -= 1;
        } else {
            break;
        }
        n = scaled_integer(x, digits as i64 - 1 - e10, digits);
    }
    let s = n.to_string();
    let (first, rest) = s.split_at(1);
    let rest = rest.trim_end_matches('0');
    let sign = if is_neg(x) { "-" } else { "" };
    if rest.is_empty() {
        format!("{sign}{first}e{e10}")
    } else {
        format!("{sign}{first}.{rest}e{e10}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const X: Sym = Sym(0);
    const Y: Sym = Sym(1);

    fn vals64(s: Sym) -> Option<f64> {
        match s {
            X => Some(2.0),
            Y => Some(3.0),
            _ => None,
        }
    }

    fn no_vars(_: Sym) -> Option<Precise> {
        None
    }

    fn exact_num(g: &mut Graph, n: i64, d: i64) -> Id {
        g.num(Num::ratio(n as i128, d as i128))
    }

    fn precise1(g: &Graph, root: Id, bits: usize) -> Precise {
        eval_precise(g, &[root], &no_vars, bits).unwrap().remove(0)
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        a == b || ((a - b) / b).abs() <= rel
    }

    #[test]
    fn f64_arithmetic_and_functions() {
        let mut g = Graph::new();
        let x = g.var(X);
        let y = g.var(Y);
        let prod = g.product(vec![x, y]);
        let q = g.div(x, y);
        let d = g.sub(prod, q);
        let sq = g.int(2);
        let p = g.pow(y, sq);
        let half = exact_num(&mut g, 1, 2);
        let r = g.pow(x, half);
        let s = g.call(Func::Sigmoid, x);
        let t = g.call(Func::Tanh, x);
        let sp = g.call(Func::Softplus, x);
        let sgp = g.call(Func::SigmoidPrime, x);
        let thp = g.call(Func::TanhPrime, x);
        let nx = g.neg(x);
        let relu = g.call(Func::Relu, nx);
        let relup = g.call(Func::ReluPrime, x);
        let roots = [d, p, r, s, t, sp, sgp, thp, relu, relup];
        let v = eval_f64(&g, &roots, &vals64).unwrap();
        let sig2 = 1.0 / (1.0 + (-2.0f64).exp());
        assert_eq!(v[0], 2.0 * 3.0 - 2.0 * 3.0f64.powi(-1));
        assert_eq!(v[1], 9.0);
        assert_eq!(v[2], 2.0f64.powf(0.5));
        assert_eq!(v[3], sig2);
        assert_eq!(v[4], 2.0f64.tanh());
        assert_eq!(v[5], (1.0 + 2.0f64.exp()).ln());
        assert_eq!(v[6], sig2 * (1.0 - sig2));
        assert_eq!(v[7], 1.0 - 2.0f64.tanh() * 2.0f64.tanh());
        assert_eq!(v[8], 0.0);
        assert_eq!(v[9], 1.0);
        let all = eval_f64_all(&g, &roots, &vals64).unwrap();
        assert_eq!(all[&x], 2.0);
        assert_eq!(all.len(), g.reachable(&roots).len());
    }

    #[test]
    fn f64_propagates_nan_and_inf() {
        let mut g = Graph::new();
        let zero = g.int(0);
        let one = g.int(1);
        let inv = g.div(one, zero);
        let m1 = g.int(-1);
        let l = g.call(Func::Log, m1);
        let rl = g.call(Func::Relu, l);
        let v = eval_f64(&g, &[inv, l, rl], &vals64).unwrap();
        assert_eq!(v[0], f64::INFINITY);
        assert!(v[1].is_nan());
        assert!(v[2].is_nan());
    }

    #[test]
    fn errors() {
        let mut g = Graph::new();
        let z = g.var(Sym(7));
        let s = g.call(Func::Sigmoid, z);
        assert_eq!(eval_f64(&g, &[s], &vals64), Err(EvalError::Unbound(Sym(7))));
        assert_eq!(
            eval_precise(&g, &[s], &no_vars, 128),
            Err(EvalError::Unbound(Sym(7)))
        );
        let x = g.var(X);
        let d = g.deriv(x, X);
        assert_eq!(eval_f64(&g, &[d], &vals64), Err(EvalError::Unevaluated));
        let f = |_: Sym| Some(Precise::from_f64(1.0));
        assert_eq!(eval_precise(&g, &[d], &f, 128), Err(EvalError::Unevaluated));
        assert_eq!(
            eval_precise_stable(&g, &[d], &f),
            Err(EvalError::Unevaluated)
        );
    }

    #[test]
    fn sigmoid_of_50_keeps_its_distance_from_one() {
        let mut g = Graph::new();
        let z = g.int(50);
        let s = g.call(Func::Sigmoid, z);
        let one = g.int(1);
        let rest = g.sub(one, s);
        let v = eval_precise(&g, &[s, rest], &no_vars, 128).unwrap();
        assert_ne!(v[0], Precise::Finite(Big::ONE));
        let reference = (-50.0f64).exp() / (1.0 + (-50.0f64).exp());
        assert!(close(v[1].to_f64(), reference, 1e-15), "{}", v[1]);
        assert!(
            close(v[1].to_f64(), 1.9287498479639178e-22, 1e-15),
            "{}",
            v[1]
        );
        assert_eq!(eval_f64(&g, &[rest], &vals64).unwrap()[0], 0.0);
    }

    /// 2·(σ(z) - 0)·σ(z)·(1 - σ(z))·62.5 with z = 0.8·62.5.
    fn seed(g: &mut Graph, w: Id) -> Id {
        let lr = exact_num(g, 125, 2);
        let z = g.product(vec![w, lr]);
        let s = g.call(Func::Sigmoid, z);
        let zero = g.int(0);
        let err = g.sub(s, zero);
        let one = g.int(1);
        let oms = g.sub(one, s);
        let two = g.int(2);
        g.product(vec![two, err, s, oms, lr])
    }

    #[test]
    fn seed_case_vanishes_in_float64_but_not_in_truth() {
        let mut g = Graph::new();
        let w = exact_num(&mut g, 4, 5);
        let root = seed(&mut g, w);
        assert_eq!(eval_f64(&g, &[root], &vals64).unwrap()[0], 0.0);
        let st = eval_precise_stable(&g, &[root], &no_vars).unwrap();
        assert!(st.converged);
        assert!(
            st.precision_bits >= 256,
            "128 bits cannot resolve 1 - σ(50) to 17 digits"
        );
        assert_eq!(st.values[0].to_decimal_string(17), "2.4109373099548972e-20");
        assert!(close(
            st.values[0].to_f64(),
            2.410_937_309_954_897e-20,
            1e-16
        ));
        // a single evaluation at 128 bits is already right to 15 digits
        let v = precise1(&g, root, 128);
        assert_eq!(v.to_decimal_string(15), "2.4109373099549e-20", "{v}");

        // the weight as the float64 0.8 rather than the rational 4/5
        let mut g = Graph::new();
        let w = g.var(Sym(3));
        let root = seed(&mut g, w);
        let f = |_: Sym| Some(Precise::from_f64(0.8));
        let st = eval_precise_stable(&g, &[root], &f).unwrap();
        assert!(st.converged);
        assert!(
            close(st.values[0].to_f64(), 2.410_937_309_954_897e-20, 1e-13),
            "{}",
            st.values[0]
        );
        // (0.8 as a float64 is 0.8000000000000000444, which moves the 15th digit)
        assert_eq!(st.values[0].to_decimal_string(17), "2.4109373099548905e-20");
        assert_eq!(eval_f64(&g, &[root], &|_| Some(0.8)).unwrap()[0], 0.0);
    }

    #[test]
    fn stable_raises_precision_for_deep_cancellation() {
        // 1 - σ(200) = e^-200/(1 + e^-200): rounds to exactly 0 at 128 and 256 bits
        let mut g = Graph::new();
        let z = g.int(200);
        let s = g.call(Func::Sigmoid, z);
        let one = g.int(1);
        let rest = g.sub(one, s);
        let st = eval_precise_stable(&g, &[rest], &no_vars).unwrap();
        assert!(st.converged);
        assert!(st.precision_bits >= 512);
        assert!(
            close(st.values[0].to_f64(), (-200.0f64).exp(), 1e-15),
            "{}",
            st.values[0]
        );
    }

    #[test]
    fn undefined_cases_do_not_panic() {
        let mut g = Graph::new();
        let m1 = g.int(-1);
        let zero = g.int(0);
        let one = g.int(1);
        let log_neg = g.call(Func::Log, m1);
        let log_zero = g.call(Func::Log, zero);
        let sqrt_neg = g.call(Func::Sqrt, m1);
        let inv_zero = g.div(one, zero);
        let half = exact_num(&mut g, 1, 3);
        let neg_root = g.pow(m1, half);
        let tail = g.product(vec![zero, log_neg]);
        let sum = g.sum(vec![one, inv_zero]);
        let roots = [log_neg, log_zero, sqrt_neg, inv_zero, neg_root, tail, sum];
        for v in eval_precise(&g, &roots, &no_vars, 128).unwrap() {
            assert_eq!(v, Precise::Undefined);
            assert!(v.to_f64().is_nan());
        }
        let st = eval_precise_stable(&g, &roots, &no_vars).unwrap();
        assert!(st.converged);
        assert_eq!(st.precision_bits, 256);
        assert_eq!(Precise::from_f64(f64::NAN), Precise::Undefined);
        assert_eq!(
            Precise::from_f64(1.0).div(&Precise::from_f64(0.0), 64),
            Precise::Undefined
        );
        assert_eq!(
            Precise::from_f64(-4.0).call(Func::Sqrt, 64),
            Precise::Undefined
        );
        assert_eq!(
            Precise::from_f64(0.0).call(Func::Log, 64),
            Precise::Undefined
        );
    }

    #[test]
    fn huge_arguments_do_not_hang() {
        let mut g = Graph::new();
        let huge = g.num(Num::Float(1e30));
        let neg_huge = g.num(Num::Float(-1e30));
        let e = g.call(Func::Exp, huge);
        let s = g.call(Func::Sigmoid, huge);
        let sn = g.call(Func::Sigmoid, neg_huge);
        let t = g.call(Func::Tanh, neg_huge);
        let sp = g.call(Func::Softplus, huge);
        let sgp = g.call(Func::SigmoidPrime, huge);
        let ten = g.int(10);
        let e1 = g.call(Func::Exp, ten);
        let e2 = g.call(Func::Exp, e1); // e^22026: large but representable
        let e3 = g.call(Func::Exp, e2);
        let big_pow = g.pow(e2, huge);
        let neg_e1 = g.neg(e1);
        let tiny = g.call(Func::Exp, neg_e1); // e^-22026
        let roots = [e, s, sn, t, sp, sgp, e2, e3, big_pow, tiny];
        let st = eval_precise_stable(&g, &roots, &no_vars).unwrap();
        let v = &st.values;
        assert_eq!(v[0], Precise::OutOfRange);
        assert_eq!(v[1], Precise::Finite(Big::ONE));
        // σ(−1e30) = e^(−1e30) is below any magnitude held: 0 known to within 2^(−2^28),
        // not a poison for what it is added to
        assert!(v[2].is_zero());
        assert!(matches!(st.resolutions[2], Resolution::Within { .. }));
        assert_eq!(v[3], Precise::Finite(-Big::ONE));
        assert_eq!(v[4].to_f64(), 1e30);
        assert!(v[5].is_zero());
        assert!(v[6].to_decimal_string(17).ends_with("e9565"), "{}", v[6]);
        assert_eq!(v[6].to_f64(), f64::INFINITY);
        assert_eq!(v[7], Precise::OutOfRange);
        assert_eq!(v[8], Precise::OutOfRange);
        assert!(v[9].to_decimal_string(5).ends_with("e-9566"), "{}", v[9]);
        assert_eq!(v[9].to_f64(), 0.0);
        assert!(!st.converged, "the tiny ones are intervals");
        // one tiny value does not poison a sum: 0.5 + σ(−1e30) is 0.5, resolved
        let mut g = Graph::new();
        let neg_huge = g.num(Num::Float(-1e30));
        let tiny = g.call(Func::Sigmoid, neg_huge);
        let half = g.num(Num::Rat(1, 2));
        let sum = g.sum(vec![half, tiny]);
        let st = eval_precise_stable(&g, &[sum], &no_vars).unwrap();
        assert!(st.converged);
        assert_eq!(st.values[0], Precise::from_f64(0.5));
    }

    #[test]
    fn powers() {
        let two = Precise::from_f64(2.0);
        let p = |x: f64| Precise::from_f64(x);
        assert_eq!(two.pow(&p(10.0), 64), p(1024.0));
        assert_eq!(two.pow(&p(-1.0), 64), p(0.5));
        assert_eq!(p(-2.0).pow(&p(3.0), 64), p(-8.0));
        assert_eq!(p(0.0).pow(&p(0.0), 64), p(1.0));
        assert_eq!(p(0.0).pow(&p(2.5), 64), p(0.0));
        assert_eq!(p(9.0).pow(&p(0.5), 64), p(3.0));
        assert!(close(
            p(8.0)
                .pow(&Precise::from_num(Num::Rat(1, 3), 128), 128)
                .to_f64(),
            2.0,
            1e-16
        ));
        assert!(close(
            p(2.0).pow(&p(0.3), 128).to_f64(),
            2.0f64.powf(0.3),
            1e-15
        ));
        assert_eq!(p(1.0).pow(&p(1e300), 64), p(1.0));
        assert_eq!(p(-1.0).pow(&p(1e300), 64), p(1.0));
        assert_eq!(p(1.5).pow(&p(1e300), 64), Precise::OutOfRange);
        assert_eq!(p(-1.5).pow(&p(2.5), 64), Precise::Undefined);
    }

    /// Accurate float64 forms (the textbook ones lose relative accuracy in the tails).
    fn reference(f: Func, z: f64) -> f64 {
        match f {
            Func::Softplus if z > 0.0 => z + (-z).exp().ln_1p(),
            Func::Softplus => z.exp().ln_1p(),
            Func::Sigmoid if z < 0.0 => z.exp() / (1.0 + z.exp()),
            Func::SigmoidPrime => {
                let t = (-z.abs()).exp();
                t / ((1.0 + t) * (1.0 + t))
            }
            Func::TanhPrime => {
                let t = (-2.0 * z.abs()).exp();
                4.0 * t / ((1.0 + t) * (1.0 + t))
            }
            _ => apply_f64(f, z),
        }
    }

    #[test]
    fn precise_functions_match_f64() {
        for &z in &[-30.0, -3.0, -0.7, -1e-9, 1e-9, 0.25, 1.0, 4.0, 30.0] {
            let x = Precise::from_f64(z);
            for f in Func::ALL {
                let want = reference(f, z);
                let got = x.call(f, 128);
                if want.is_nan() {
                    assert_eq!(got, Precise::Undefined, "{f:?}({z})");
                    continue;
                }
                let tol = 1e-14;
                assert!(
                    close(got.to_f64(), want, tol),
                    "{f:?}({z}) = {got}, float64 {want}"
                );
            }
        }
        assert_eq!(
            Precise::from_f64(0.0).call(Func::Sigmoid, 64),
            Precise::from_f64(0.5)
        );
        assert_eq!(
            Precise::from_f64(0.0).call(Func::TanhPrime, 64),
            Precise::from_f64(1.0)
        );
        assert_eq!(
            Precise::from_f64(0.0).call(Func::ReluPrime, 64),
            Precise::from_f64(0.0)
        );
    }

    #[test]
    fn decimal_strings() {
        let p = |x: f64| Precise::from_f64(x);
        assert_eq!(p(1.0).to_decimal_string(17), "1e0");
        assert_eq!(p(-0.5).to_decimal_string(17), "-5e-1");
        assert_eq!(p(0.0).to_decimal_string(17), "0e0");
        assert_eq!(p(1234.5).to_decimal_string(3), "1.23e3");
        assert_eq!(p(1.25).to_decimal_string(2), "1.2e0");
        assert_eq!(p(1.35).to_decimal_string(2), "1.4e0");
        assert_eq!(p(9.999).to_decimal_string(2), "1e1");
        for x in [
            0.1,
            2.410_937_309_954_897e-20,
            1e300,
            -7.5e-310,
            123456789.0,
        ] {
            let back: f64 = p(x).to_decimal_string(17).parse().unwrap();
            assert_eq!(back, x);
        }
        assert_eq!(p(0.1).to_decimal_string(17), "1.0000000000000001e-1");
        assert_eq!(p(1e300).to_decimal_string(17), "1.0000000000000001e300");
        assert_eq!(p(123456789.0).to_decimal_string(17), "1.23456789e8");
        assert_eq!(
            // the float64's exact value is 2.41093730995489711818...e-20
            p(2.410_937_309_954_897e-20).to_decimal_string(17),
            "2.4109373099548971e-20"
        );
        let third = Precise::from_num(Num::Rat(1, 3), 128);
        assert_eq!(third.to_decimal_string(17), "3.3333333333333333e-1");
        assert_eq!(Precise::Undefined.to_decimal_string(5), "undefined");
    }

    #[test]
    fn parsing_and_relative_error() {
        let t = Precise::parse_decimal("0.1", 200).unwrap();
        assert_eq!(t.to_f64(), 0.1);
        assert_eq!(t.to_decimal_string(40), "1e-1");
        assert_eq!(
            Precise::parse_decimal("-2.5e3", 64),
            Some(Precise::from_f64(-2500.0))
        );
        assert_eq!(
            Precise::parse_decimal(".5", 64),
            Some(Precise::from_f64(0.5))
        );
        assert_eq!(Precise::parse_decimal("abc", 64), None);
        assert_eq!(Precise::parse_decimal("", 64), None);
        let err = t.rel_error(0.1).unwrap();
        assert!(err > 0.0 && err < 1.2e-16, "{err}");
        assert_eq!(Precise::from_f64(0.0).rel_error(0.0), Some(0.0));
        assert_eq!(
            Precise::from_f64(0.0).rel_error(1e-300),
            Some(f64::INFINITY)
        );
        assert_eq!(Precise::Undefined.rel_error(1.0), None);
    }

    #[derive(Clone, Debug)]
    enum E {
        Leaf(f64),
        Add(Box<E>, Box<E>),
        Mul(Box<E>, Box<E>),
        Sig(Box<E>),
        Tanh(Box<E>),
        ExpLeaf(f64),
    }

    fn arb_expr() -> impl Strategy<Value = E> {
        let leaf = prop_oneof![
            (-3.0..3.0f64).prop_map(E::Leaf),
            (-3.0..3.0f64).prop_map(E::ExpLeaf),
        ];
        leaf.prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| E::Add(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| E::Mul(Box::new(a), Box::new(b))),
                inner.clone().prop_map(|a| E::Sig(Box::new(a))),
                inner.prop_map(|a| E::Tanh(Box::new(a))),
            ]
        })
    }

    /// Builds the expression; returns its node and a magnitude float64 errors scale with.
    fn build(g: &mut Graph, e: &E) -> (Id, f64) {
        match e {
            E::Leaf(v) => (g.num(Num::Float(*v)), v.abs()),
            E::ExpLeaf(v) => {
                let x = g.num(Num::Float(*v));
                (g.call(Func::Exp, x), v.exp())
            }
            E::Add(a, b) => {
                let ((a, ma), (b, mb)) = (build(g, a), build(g, b));
                (g.sum(vec![a, b]), ma + mb)
            }
            E::Mul(a, b) => {
                let ((a, ma), (b, mb)) = (build(g, a), build(g, b));
                (g.product(vec![a, b]), ma * mb)
            }
            E::Sig(a) => {
                let (a, ma) = build(g, a);
                (g.call(Func::Sigmoid, a), 1.0 + ma)
            }
            E::Tanh(a) => {
                let (a, ma) = build(g, a);
                (g.call(Func::Tanh, a), 1.0 + ma)
            }
        }
    }

    #[derive(Clone, Debug)]
    enum W {
        Leaf(f64),
        Add(Vec<W>),
        Mul(Vec<W>),
        Pow(Box<W>, Box<W>),
        Call(usize, Box<W>),
    }

    fn wild_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            prop::sample::select(vec![
                0.0,
                1.0,
                -1.0,
                0.5,
                -0.5,
                2.0,
                1e30,
                -1e30,
                1e-300,
                5e-324,
                700.0,
                -700.0,
                1e6,
                -1e6,
                2e6,
                1e300,
                0.1,
                1.0 / 3.0,
                -2.5,
            ]),
            -50.0..50.0f64,
        ]
    }

    fn wild_expr() -> impl Strategy<Value = W> {
        wild_value()
            .prop_map(W::Leaf)
            .prop_recursive(5, 40, 3, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 2..4).prop_map(W::Add),
                    prop::collection::vec(inner.clone(), 2..4).prop_map(W::Mul),
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| W::Pow(Box::new(a), Box::new(b))),
                    (0..Func::ALL.len(), inner).prop_map(|(f, a)| W::Call(f, Box::new(a))),
                ]
            })
    }

    fn build_wild(g: &mut Graph, e: &W) -> Id {
        match e {
            W::Leaf(v) => match Num::parse(&format!("{v:?}")) {
                Some(n) => g.num(n),
                None => g.num(Num::Float(*v)),
            },
            W::Add(xs) => {
                let ids = xs.iter().map(|x| build_wild(g, x)).collect();
                g.sum(ids)
            }
            W::Mul(xs) => {
                let ids = xs.iter().map(|x| build_wild(g, x)).collect();
                g.product(ids)
            }
            W::Pow(a, b) => {
                let (a, b) = (build_wild(g, a), build_wild(g, b));
                g.pow(a, b)
            }
            W::Call(f, a) => {
                let a = build_wild(g, a);
                g.call(Func::ALL[*f], a)
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        #[test]
        fn f64_and_precise_agree(e in arb_expr()) {
            let mut g = Graph::new();
            let (root, scale) = build(&mut g, &e);
            let f = eval_f64(&g, &[root], &vals64).unwrap()[0];
            let p = eval_precise(&g, &[root], &no_vars, 160).unwrap().remove(0);
            let p = p.to_f64();
            // relative to the magnitudes involved, so that cancellation is not counted
            prop_assert!((f - p).abs() <= 1e-12 * scale.max(p.abs()), "{f} vs {p} (scale {scale})");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 300,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        /// Whatever the input, evaluation terminates without panicking.
        #[test]
        fn wild_expressions_never_panic(e in wild_expr()) {
            let mut g = Graph::new();
            let root = build_wild(&mut g, &e);
            let _ = eval_f64(&g, &[root], &vals64).unwrap();
            let p = eval_precise(&g, &[root], &no_vars, 64).unwrap().remove(0);
            let st = eval_precise_stable_upto(&g, &[root], &no_vars, 512).unwrap();
            let _ = (p.to_decimal_string(17), st.values[0].to_decimal_string(17));
            // a converged answer does not move at four times the precision
            if st.converged {
                let hi = eval_precise(&g, &[root], &no_vars, st.precision_bits * 4).unwrap();
                match (&hi[0], &st.values[0]) {
                    (Precise::Finite(h), Precise::Finite(_)) if h.repr().is_zero() => {
                        prop_assert!(st.values[0].is_zero());
                    }
                    (Precise::Finite(_), Precise::Finite(l)) => {
                        let d = hi[0].sub(&st.values[0], 64).div(&hi[0], 64).to_f64().abs();
                        prop_assert!(d <= 2f64.powi(-58), "{} vs {}", Precise::Finite(l.clone()), hi[0]);
                    }
                    (h, l) => prop_assert_eq!(h, l),
                }
            }
        }
    }
}

//! The high-precision reference: evaluation order, bindings of names, and precision raised
//! until every root is known to the digits asked for (or reported as an interval).

use super::*;

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
pub(super) fn interval(v: &Val) -> Resolution {
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
    if e2 > MAG_LIMIT as f64 {
        // an error bound beyond any magnitude held says nothing
        return Resolution::Unknown;
    }
    let whole = e2.ceil() as isize;
    let delta = Big::from_parts(IBig::ONE, whole + 1);
    let ctx = Ctx::new(64);
    Resolution::Within {
        low: ctx.sub(b.repr(), delta.repr()).value(),
        high: ctx.add(b.repr(), delta.repr()).value(),
    }
}

pub(super) fn same_digits(a: &Precise, b: &Precise, digits: usize) -> bool {
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

pub(super) fn eval_bounded(
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
            Node::Add(xs) => match uncancelled_terms(graph, xs) {
                Some(left) => p.sum(&left.iter().map(get).collect::<Vec<_>>()),
                None => p.sum(&xs.iter().map(get).collect::<Vec<_>>()),
            },
            Node::Mul(xs) => p.product(&xs.iter().map(get).collect::<Vec<_>>()),
            Node::Pow(a, b) => p.pow(get(a), get(b)),
            Node::Call(f, a) => p.call(*f, get(a)),
            Node::Call2(f, a, b) => p.call2(*f, get(a), get(b)),
            Node::Deriv(..) => return Err(EvalError::Unevaluated),
        };
        let inherited = graph.children(id).iter().any(|c| get(c).shaky);
        vals.insert(id, v.shaky_if(inherited));
    }
    Ok(vals)
}

/// The nodes to evaluate, children (and a name's definition) before what uses them, and the
/// binding of each variable node reached.
pub(super) fn evaluation_order(
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

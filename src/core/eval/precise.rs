//! The high-precision reference: evaluation order, bindings of names, and precision raised
//! until every root is known to the digits asked for (or reported as an interval).

use std::sync::Arc;

use crate::core::expr::FastMap;

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
    Ok(roots.iter().map(|&r| all.get(r).v.clone()).collect())
}

/// [`eval_precise`], each root's value given only where its error bound settles it: a finite
/// value known to 2^-60 relative, a value certainly undefined, or one out of range without
/// doubt. `None` for a value the pass only bounds (a zero known to within its magnitude, relu'
/// of a value whose sign is not known): what is computed from it would stand on a guess.
pub fn eval_precise_settled(
    graph: &Graph,
    roots: &[Id],
    value_of: &dyn Fn(Sym) -> Option<Precise>,
    precision_bits: usize,
) -> Result<Vec<Option<Precise>>, EvalError> {
    let bind = |s| value_of(s).map(Binding::Value);
    let all = eval_bounded(graph, roots, &bind, precision_bits)?;
    Ok(roots
        .iter()
        .map(|&r| {
            let v = all.get(r);
            settled(v).then(|| v.v.clone())
        })
        .collect())
}

/// `ln` of half the smallest float64 subnormal, 2^-1075: every number of smaller magnitude
/// rounds to 0 in float64.
const LN_FLOAT64_ZERO: f64 = -1075.0 * LN_2;

/// The precision past which a root still known only to lie around 0 is not raised further
/// where float64 is what it is compared with (a quarter of [`STABLE_MAX_BITS`]): a tiny
/// value that is not 0, such as (1 − tanh'(1e-300))² = 1e-1200 below float64's range, has
/// settled by then (the interval leaves 0 once the bound is below the value).
pub const AROUND_ZERO_MAX_BITS: usize = STABLE_MAX_BITS / 4;

/// Whether a value is known only to lie in an interval around 0 so narrow that float64
/// cannot tell it from 0. Raising the precision only narrows such an interval (a gradient
/// exactly 0 by symmetry is never settled, only bounded more tightly at each pass), so
/// where what is printed is compared with float64 the climb stops at
/// [`AROUND_ZERO_MAX_BITS`]: the reference is 0 within that bound, as it would be at the
/// ceiling, with a wider bound.
fn zero_to_float64(v: &Val) -> bool {
    let Precise::Finite(b) = &v.v else {
        return false;
    };
    let around_zero = is_zero(b) || v.abs_err() >= ln_abs(b);
    !v.shaky && around_zero && v.ln_magnitude_bound() < LN_FLOAT64_ZERO
}

/// Whether a value's error bound settles it (see [`eval_precise_settled`]).
fn settled(v: &Val) -> bool {
    match v.v {
        Precise::Finite(_) => v.lerr <= STABLE_LN_ERR && !v.shaky,
        Precise::Undefined => v.lerr == NEG_INF,
        Precise::OutOfRange => !v.shaky,
    }
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
    Ok(eval_bounded(graph, roots, bind, precision_bits)?.into_values())
}

/// The result of [`eval_precise_stable`].
#[derive(Clone, Debug, PartialEq)]
pub struct Stable {
    /// One value per root, from the last precision that root was evaluated at.
    pub values: Vec<Precise>,
    /// Each value to [`STABLE_DIGITS`] significant digits as [`Precise::to_decimal_string`]
    /// writes it: the digits two passes were compared on, kept so they are not worked out
    /// again to be printed.
    pub decimals: Vec<String>,
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

impl Stable {
    /// The interval root `i`'s true value is known to lie in: its value alone where it
    /// converged (known to 2^-60 relative), the interval where it did not; `None` for a value
    /// that is not a finite real number or has no interval.
    pub fn enclosure(&self, i: usize) -> Option<Enclosure> {
        match (&self.resolutions[i], &self.values[i]) {
            (Resolution::Converged, Precise::Finite(v)) => Some(Enclosure {
                low: v.clone(),
                high: v.clone(),
            }),
            (Resolution::Within { low, high }, _) => Some(Enclosure {
                low: low.clone(),
                high: high.clone(),
            }),
            _ => None,
        }
    }
}

/// An interval a true value is known to lie in, both ends finite.
#[derive(Clone, Debug, PartialEq)]
pub struct Enclosure {
    pub low: Big,
    pub high: Big,
}

impl Enclosure {
    /// Whether every value in the interval is one float64 rounds to 0.
    pub fn rounds_to_zero_in_float64(&self) -> bool {
        nearest_f64(&self.low) == 0.0 && nearest_f64(&self.high) == 0.0
    }
}

/// Whether any two values in the intervals differ by more than `relative` times the
/// largest magnitude either interval reaches: the gap between them exceeds it. Then the true
/// values differ relatively by more than `relative`, whatever they are inside their
/// intervals.
pub fn apart(a: &Enclosure, b: &Enclosure, relative: f64) -> bool {
    let ctx = Ctx::new(64);
    let gap = if a.high < b.low {
        ctx.sub(b.low.repr(), a.high.repr()).value()
    } else if b.high < a.low {
        ctx.sub(a.low.repr(), b.high.repr()).value()
    } else {
        return false;
    };
    let reach = [&a.low, &a.high, &b.low, &b.high]
        .into_iter()
        .map(abs_big)
        .max()
        .expect("four ends");
    nearest_f64(&ctx.div(gap.repr(), reach.repr()).value()) > relative
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
    /// A value given as a decimal that is a ratio of integers (`0.1` is 1/10): rounded at each
    /// precision as a constant of the graph is, so that `x − 0.1` at x = 0.1 is exactly 0
    /// rather than the residue of a value read once to fixed bits.
    Decimal(Num),
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
    Ok(stable_run(graph, roots, bind, STABLE_START_BITS, max_bits, false)?.0)
}

/// [`eval_reference`] for a judgement float64 could not change either way: a root still known
/// only to lie within a hair of 0 that float64 cannot tell from 0 stops at
/// [`AROUND_ZERO_MAX_BITS`] as that interval (as `eval`'s reference does), rather than
/// climbing to `max_bits`. An exact zero by cancellation (`t − t` where the two `t` are not
/// one node) is never settled, so without this stop every such root costs a climb to the
/// ceiling. Roots that settle are the same as [`eval_reference`]'s.
pub fn eval_reference_for_float64(
    graph: &Graph,
    roots: &[Id],
    bind: &dyn Fn(Sym) -> Option<Binding>,
    max_bits: usize,
) -> Result<Stable, EvalError> {
    Ok(stable_run(graph, roots, bind, STABLE_START_BITS, max_bits, true)?.0)
}

/// The reference of each root as [`eval_reference`] gives it, and every node reachable from
/// the roots at one precision: the highest the roots needed, and at least `floor_bits` (so a
/// node's value can be compared with float64's even where a root did not need it).
///
/// The roots' precision starts at half the floor, so when they settle by the floor the
/// run's last pass has evaluated every node there, and it is reused rather than repeated.
/// The reference is what float64 is compared with, so a root known only to be within a
/// hair of 0 that float64 cannot tell from 0 stops at [`AROUND_ZERO_MAX_BITS`] rather than
/// climbing to `max_bits`.
pub fn eval_reference_and_nodes(
    graph: &Graph,
    roots: &[Id],
    bind: &dyn Fn(Sym) -> Option<Binding>,
    max_bits: usize,
    floor_bits: usize,
) -> Result<(Stable, NodeValues), EvalError> {
    let floor_bits = floor_bits.clamp(MIN_PRECISION, MAX_PRECISION);
    let start = (floor_bits / 2).max(MIN_PRECISION);
    let (stable, last_pass) = stable_run(graph, roots, bind, start, max_bits, true)?;
    let bits = stable.precision_bits.max(floor_bits);
    let nodes = match last_pass {
        Some((pass_bits, nodes)) if pass_bits == bits => nodes,
        _ => eval_bounded(graph, roots, bind, bits)?,
    };
    Ok((stable, nodes.into_table()))
}

/// The reference value of every node one pass evaluated, by id.
#[derive(Clone, Debug)]
pub struct NodeValues {
    values: Vec<Val>,
    slots: Arc<Slots>,
    given: Arc<[Val]>,
}

impl NodeValues {
    /// The node's value, if the pass evaluated it.
    pub fn get(&self, id: Id) -> Option<&Precise> {
        Some(&value_in(&self.slots, &self.values, &self.given, id)?.v)
    }
}

impl std::ops::Index<&Id> for NodeValues {
    type Output = Precise;

    fn index(&self, id: &Id) -> &Precise {
        self.get(*id).expect("the node was evaluated")
    }
}

/// The precision-raising loop of [`eval_reference`], from `start_bits`; with the last pass's
/// node values when that pass evaluated every root (its precision, and the values). With
/// `zero_for_float64`, a root still within a hair of 0 that float64 cannot tell from 0 at
/// [`AROUND_ZERO_MAX_BITS`] is left as that interval ([`zero_to_float64`]).
#[allow(clippy::type_complexity)]
fn stable_run(
    graph: &Graph,
    roots: &[Id],
    bind: &dyn Fn(Sym) -> Option<Binding>,
    start_bits: usize,
    max_bits: usize,
    zero_for_float64: bool,
) -> Result<(Stable, Option<(usize, Nodes)>), EvalError> {
    let max_bits = max_bits.clamp(MIN_PRECISION, MAX_PRECISION);
    let mut bits = start_bits.clamp(MIN_PRECISION, max_bits);
    let mut last_pass = None;
    let mut values: Vec<Precise> = vec![Precise::Undefined; roots.len()];
    let mut resolutions: Vec<Option<Resolution>> = vec![None; roots.len()];
    let mut decimals: Vec<String> = vec![String::new(); roots.len()];
    let mut previous: Vec<Option<String>> = vec![None; roots.len()];
    // A value exactly halfway between two decimals of STABLE_DIGITS digits (a decimal input
    // divided by 12,000, say) rounds to either side from pass to pass, never agreeing; past
    // its tie digits the passes do agree, which settles it.
    let mut previous_past_tie: Vec<Option<String>> = vec![None; roots.len()];
    let mut pending: Vec<usize> = (0..roots.len()).collect();
    let mut used_bits = bits;
    // The pass after this one, when it was evaluated alongside this one.
    let mut ahead: Option<Result<Pass, EvalError>> = None;
    while !pending.is_empty() {
        used_bits = bits;
        let every_root = pending.len() == roots.len();
        let wanted: Vec<Id> = pending.iter().map(|&i| roots[i]).collect();
        let (all, mut digits) = match ahead.take() {
            Some(pass) => pass?,
            None => {
                let plan = plan(graph, &wanted, bind)?;
                let next_bits = (bits * 2).min(max_bits);
                // Until a root has been evaluated once none can settle (settling takes two
                // passes that agree), so the second pass evaluates the same nodes as the
                // first: on a large graph both run at once, one on another thread, with the
                // same results as one after the other.
                let second_known = previous.iter().all(Option::is_none) && bits < max_bits;
                if second_known && plan.order.len() >= PARALLEL_FROM_NODES {
                    let (this, next) = std::thread::scope(|scope| {
                        // Where no thread can be had, the next pass waits its turn.
                        let next = std::thread::Builder::new()
                            .spawn_scoped(scope, || pass(graph, &plan, next_bits, &wanted))
                            .ok();
                        let this = pass(graph, &plan, bits, &wanted);
                        let next = next.map(|next| {
                            next.join()
                                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                        });
                        (this, next)
                    });
                    ahead = next;
                    this?
                } else {
                    pass(graph, &plan, bits, &wanted)?
                }
            }
        };
        let last = bits >= max_bits;
        // `digits` follows `pending`, which `retain` walks in order.
        let mut digits = digits.drain(..);
        // The last pass that evaluated every root is kept whole: the digits past a tie of a
        // pass before are read from it, rather than from a pass after.
        let earlier: Option<&Nodes> = last_pass.as_ref().map(|(_, nodes)| nodes);
        pending.retain(|&i| {
            let v = all.get(roots[i]);
            let mut written = digits.next().expect("one decimal for each root evaluated");
            let accurate = settled(v);
            let mut agree = previous[i].as_ref() == Some(&written);
            if accurate && !agree && previous[i].is_some() {
                let past_tie = v.v.to_decimal_string(STABLE_DIGITS + TIE_DIGITS);
                if previous_past_tie[i].is_none() {
                    previous_past_tie[i] = earlier
                        .map(|nodes| nodes.get(roots[i]))
                        .filter(|earlier| settled(earlier))
                        .map(|earlier| earlier.v.to_decimal_string(STABLE_DIGITS + TIE_DIGITS));
                }
                agree = previous_past_tie[i].as_ref() == Some(&past_tie);
                if agree {
                    written = decimal::round_written(&past_tie, STABLE_DIGITS);
                }
                previous_past_tie[i] = Some(past_tie);
            }
            values[i] = v.v.clone();
            decimals[i] = written.clone();
            if accurate && agree {
                resolutions[i] = Some(Resolution::Converged);
                return false;
            }
            let around_zero_done =
                zero_for_float64 && bits >= AROUND_ZERO_MAX_BITS && zero_to_float64(v);
            if last || around_zero_done {
                resolutions[i] = Some(interval(v));
                return false;
            }
            previous[i] = Some(written);
            true
        });
        drop(digits);
        last_pass = every_root.then_some((bits, all));
        bits = (bits * 2).min(max_bits);
    }
    let resolutions: Vec<Resolution> = resolutions
        .into_iter()
        .map(|r| r.unwrap_or(Resolution::Converged))
        .collect();
    let stable = Stable {
        converged: resolutions.iter().all(|r| *r == Resolution::Converged),
        values,
        decimals,
        precision_bits: used_bits,
        resolutions,
    };
    Ok((stable, last_pass))
}

/// One pass's node values and each wanted root's value to the digits two passes must agree
/// on (worked out on the pass's own thread, as they cost about as much as the pass).
type Pass = (Nodes, Vec<String>);

fn pass(graph: &Graph, plan: &Plan, bits: usize, wanted: &[Id]) -> Result<Pass, EvalError> {
    let nodes = eval_planned(graph, plan, bits)?;
    let digits = wanted
        .iter()
        .map(|&root| nodes.get(root).v.to_decimal_string(STABLE_DIGITS))
        .collect();
    Ok((nodes, digits))
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

pub(super) fn eval_bounded(
    graph: &Graph,
    roots: &[Id],
    bind: &dyn Fn(Sym) -> Option<Binding>,
    precision_bits: usize,
) -> Result<Nodes, EvalError> {
    eval_planned(graph, &plan(graph, roots, bind)?, precision_bits)
}

/// Graphs with at least this many nodes to evaluate have their first two reference passes
/// run at once: below it a pass takes well under a millisecond, less than a thread costs.
const PARALLEL_FROM_NODES: usize = 4096;

/// What one pass evaluates, the same at every precision: the nodes, children (and a name's
/// definition) first; the value of each variable given one; the terms of each sum left
/// once exact cancellations are taken out (where any cancel); and where each node's value is
/// kept (a name defined by a formula shares its definition's).
pub(super) struct Plan {
    order: Arc<[Id]>,
    uncancelled: FastMap<Id, Vec<Id>>,
    slots: Arc<Slots>,
    /// The values given exactly, the same at every precision: held once for every pass
    /// rather than copied into each (a large network's values file gives tens of thousands).
    given: Arc<[Val]>,
    /// The variables given as exact decimals ([`Binding::Decimal`]), evaluated in each pass.
    decimals: FastMap<Id, Num>,
}

/// Where each node's value is kept: by node id, an index into a pass's values, or (marked
/// `GIVEN`) into the plan's given values, or `NONE` for a node not evaluated. A pass over a
/// large graph so holds a value for the nodes it evaluates rather than a place for every node
/// of the graph.
#[derive(Debug)]
pub(super) struct Slots {
    by_id: Vec<u32>,
    /// How many values a pass computes.
    count: usize,
}

/// Where one node's value is kept.
#[derive(Copy, Clone)]
enum Slot {
    Pass(usize),
    Given(usize),
}

impl Slots {
    const NONE: u32 = u32::MAX;
    const GIVEN: u32 = 1 << 31;

    fn of(&self, id: Id) -> Option<Slot> {
        match self.by_id.get(id.index()) {
            Some(&Slots::NONE) | None => None,
            Some(&slot) if slot & Slots::GIVEN != 0 => {
                Some(Slot::Given((slot & !Slots::GIVEN) as usize))
            }
            Some(&slot) => Some(Slot::Pass(slot as usize)),
        }
    }
}

/// A node's value in a pass's values or the plan's given ones.
fn value_in<'a>(slots: &Slots, pass: &'a [Val], given: &'a [Val], id: Id) -> Option<&'a Val> {
    match slots.of(id)? {
        Slot::Pass(i) => pass.get(i),
        Slot::Given(i) => given.get(i),
    }
}

pub(super) fn plan(
    graph: &Graph,
    roots: &[Id],
    bind: &dyn Fn(Sym) -> Option<Binding>,
) -> Result<Plan, EvalError> {
    let (order, bindings) = evaluation_order(graph, roots, bind)?;
    let mut by_id = vec![Slots::NONE; graph.len()];
    let mut count = 0u32;
    let mut given = Vec::new();
    let mut uncancelled = FastMap::default();
    let mut decimals = FastMap::default();
    for &id in &order {
        by_id[id.index()] = match bindings.get(&id) {
            Some(Binding::Decimal(n)) => {
                decimals.insert(id, *n);
                count += 1;
                count - 1
            }
            Some(Binding::Formula(def)) => by_id[def.index()],
            Some(Binding::Value(v)) => {
                // exact: the same Val at every precision
                given.push(Val::rounded(v.clone(), true, NEG_INF));
                Slots::GIVEN | (given.len() - 1) as u32
            }
            None => {
                count += 1;
                count - 1
            }
        };
        if let Node::Add(terms) = graph.node(id)
            && let Some(left) = uncancelled_terms(graph, terms, &|t| decimals.get(&t).copied())
        {
            uncancelled.insert(id, left);
        }
    }
    Ok(Plan {
        order: order.into(),
        uncancelled,
        slots: Arc::new(Slots {
            by_id,
            count: count as usize,
        }),
        given: given.into(),
        decimals,
    })
}

/// Evaluates the plan's nodes at `precision_bits`, each once, bottom-up.
fn eval_planned(graph: &Graph, plan: &Plan, precision_bits: usize) -> Result<Nodes, EvalError> {
    let p = Prec::new(precision_bits);
    let slots = &plan.slots;
    let given = &plan.given;
    let mut vals: Vec<Val> = Vec::with_capacity(slots.count);
    // A given value is held exactly (a decimal input read to many bits), and a product cuts
    // an operand longer than twice its precision to that first: cut once here, not at every
    // product the value is a factor of.
    let cut_for_products: Vec<Option<Val>> = given.iter().map(|v| v.cut_to(2 * p.bits)).collect();
    // Values out of range kept in log form, by their place in the pass (rare: empty unless
    // a value passes the magnitudes held).
    let mut logs: HashMap<usize, logform::LogForm> = HashMap::new();
    for &id in plan.order.iter() {
        let get = |x: &Id| value_in(slots, &vals, given, *x).expect("children are evaluated first");
        let factor = |x: &Id| match slots.of(*x) {
            Some(Slot::Given(i)) => cut_for_products[i].as_ref().unwrap_or(&given[i]),
            _ => get(x),
        };
        let node = graph.node(id);
        let v = match node {
            Node::Num(n) => {
                let (v, exact) = num_value(*n, p.bits);
                Val::rounded(v, exact, p.lu)
            }
            Node::Const(c) => Val::rounded(
                Precise::Finite(p.round(&special::constant(*c, p.work))),
                false,
                p.lu,
            ),
            // an exact decimal rounded as a constant is; another given value is the plan's,
            // a name's its definition's
            Node::Var(_) => match plan.decimals.get(&id) {
                Some(&n) => {
                    let (v, exact) = num_value(n, p.bits);
                    Val::rounded(v, exact, p.lu)
                }
                None => continue,
            },
            Node::Add(xs) => {
                let terms = plan.uncancelled.get(&id).map_or(&xs[..], |left| &left[..]);
                match terms {
                    [a, b] => p.sum(&[get(a), get(b)]),
                    _ => p.sum(&terms.iter().map(get).collect::<Vec<_>>()),
                }
            }
            Node::Mul(xs) => match &xs[..] {
                [a, b] => p.product(&[factor(a), factor(b)]),
                [a, b, c] => p.product(&[factor(a), factor(b), factor(c)]),
                _ => p.product(&xs.iter().map(factor).collect::<Vec<_>>()),
            },
            Node::Pow(a, b) if prec::is_square(get(b)) => p.product(&[factor(a), factor(a)]),
            Node::Pow(a, b) => p.pow(get(a), get(b)),
            Node::Call(f, a) => p.call(*f, get(a)),
            Node::Call2(f, a, b) => p.call2(*f, get(a), get(b)),
            Node::Deriv(..) => return Err(EvalError::Unevaluated),
            // Evaluated through the scalarisation (`tensor::scalarise`), never here.
            Node::Tensor(..) => return Err(EvalError::Unevaluated),
        };
        let inherited = node.child_ids().any(|c| get(&c).shaky);
        let mut v = v.shaky_if(inherited);
        // Out of range: worked again in log form, where a quotient or logarithm of values
        // beyond the magnitudes held comes back into range.
        let operand_in_log_form = || {
            node.child_ids()
                .any(|c| matches!(slots.of(c), Some(Slot::Pass(i)) if logs.contains_key(&i)))
        };
        // e^x below every magnitude held is a zero within it, but kept in log form too: a
        // sum or quotient may bring it back (e^z2/(e^z1 + e^z2) for z ≈ −1e200).
        let underflowed_exp =
            matches!(node, Node::Call(Func::Exp, _)) && v.v.is_zero() && v.lerr != NEG_INF;
        if v.v == Precise::OutOfRange
            || underflowed_exp
            || (!logs.is_empty() && operand_in_log_form())
        {
            let operand = |c: Id| {
                let own = match slots.of(c) {
                    Some(Slot::Pass(i)) => logs.get(&i),
                    _ => None,
                };
                (get(&c), own)
            };
            match logform::log_form(node, &p, &operand) {
                Some(logform::Found::Value(found)) => v = found,
                Some(logform::Found::Form(form)) => {
                    let (found, keep) = logform::value_of(&form, &p);
                    v = found;
                    if keep {
                        logs.insert(vals.len(), form);
                    }
                }
                None => {}
            }
            // a value worked from one that might be undefined might be too, by any route
            v = v.shaky_if(inherited);
        }
        vals.push(v);
    }
    Ok(Nodes {
        vals,
        slots: plan.slots.clone(),
        given: plan.given.clone(),
        order: plan.order.clone(),
    })
}

/// The values of one pass: every node reachable from its roots.
pub(super) struct Nodes {
    vals: Vec<Val>,
    slots: Arc<Slots>,
    given: Arc<[Val]>,
    /// The nodes evaluated, children first.
    order: Arc<[Id]>,
}

impl Nodes {
    pub(super) fn get(&self, id: Id) -> &Val {
        value_in(&self.slots, &self.vals, &self.given, id).expect("the node was evaluated")
    }

    /// Each node's value, without its error bound, in a table by id.
    fn into_table(self) -> NodeValues {
        NodeValues {
            values: self.vals,
            slots: self.slots,
            given: self.given,
        }
    }

    /// Each node's value, without its error bound.
    pub(super) fn into_values(self) -> HashMap<Id, Precise> {
        let mut out = HashMap::with_capacity(self.order.len());
        for &id in self.order.iter() {
            out.insert(id, self.get(id).v.clone());
        }
        out
    }
}

/// The nodes to evaluate, children (and a name's definition) before what uses them, and the
/// binding of each variable node reached.
pub(super) fn evaluation_order(
    graph: &Graph,
    roots: &[Id],
    bind: &dyn Fn(Sym) -> Option<Binding>,
) -> Result<(Vec<Id>, FastMap<Id, Binding>), EvalError> {
    let mut bindings: FastMap<Id, Binding> = FastMap::default();
    let mut done = vec![false; graph.len()];
    // A node's dependencies, in a buffer reused from node to node.
    let mut deps: Vec<Id> = Vec::new();
    let mut order = Vec::new();
    // (node, whether its dependencies were pushed already)
    let mut stack: Vec<(Id, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
    while let Some((id, expanded)) = stack.pop() {
        if done[id.index()] {
            continue;
        }
        if expanded {
            done[id.index()] = true;
            order.push(id);
            continue;
        }
        stack.push((id, true));
        deps.clear();
        match graph.node(id) {
            Node::Var(s) => {
                let b = bind(*s).ok_or(EvalError::Unbound(*s))?;
                if let Binding::Formula(def) = b {
                    deps.push(def);
                }
                bindings.insert(id, b);
            }
            _ => graph.push_children(id, &mut deps),
        }
        stack.extend(
            deps.iter()
                .filter(|d| !done[d.index()])
                .map(|&d| (d, false)),
        );
    }
    Ok((order, bindings))
}

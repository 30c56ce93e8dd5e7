//! The forward pass: every name of the model computed in program order from values for some
//! names (the leaves, and intermediates given a value, which cut the graph there), in float64
//! exactly as written and, when asked, at high precision: at a fixed precision name by name
//! (check's random points), or as the reference, each name through its definition with the
//! precision raised until stable (eval). The one pass `eval`, `step`, `train`, `check` and
//! `graph` all run. A name whose definition uses a name with no value has none either; which
//! leaves the cost needs and lacks is a typed error, never a panic.

use std::collections::{HashMap, HashSet};

use crate::core::eval::{self, Binding, Precise, Resolution};
use crate::core::expr::{Id, Node, Num, Sym};
use crate::core::model::Model;

/// Every name's value at one point: float64, and the high-precision value where computed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Values {
    pub f64: HashMap<Sym, f64>,
    pub precise: HashMap<Sym, Precise>,
}

/// The reference forward pass: the values, how well each computed name's reference is known,
/// and the names computed (not given), with their definitions, in program order.
#[derive(Clone, Debug)]
pub struct Reference {
    pub values: Values,
    pub resolution: HashMap<Sym, Resolution>,
    pub computed: Vec<(Sym, Id)>,
}

/// Why a forward pass could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardError {
    /// The cost needs these leaves (in name order), and they have no value.
    Missing(Vec<Sym>),
    /// A definition holds a derivative not yet taken.
    Unevaluated,
}

impl std::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardError::Missing(names) => {
                write!(f, "{} leaves the cost needs have no value", names.len())
            }
            ForwardError::Unevaluated => {
                f.write_str("a definition holds a derivative not yet taken")
            }
        }
    }
}

impl std::error::Error for ForwardError {}

/// The float64 forward pass from values for some names. Names whose definitions use a name
/// with no value are left out.
pub fn float64(model: &Model, given: &[(Sym, f64)]) -> HashMap<Sym, f64> {
    let mut f64s: HashMap<Sym, f64> = given.iter().copied().collect();
    walk(model, &mut f64s, |_, _, _| true);
    f64s
}

/// The forward pass in float64 and at `bits` of precision, each name computed from the values
/// of the names it uses (the given values taken as exact). A name that `bits` only bounds (a
/// zero within its magnitude, 1 − σ(400) cancelled) is computed again through its definitions
/// with the precision raised until stable; where even that does not settle it, it has no
/// high-precision value, and neither has anything computed from it: a function of an
/// unsettled value is unsettled, never computed from a bound standing in for the value.
pub fn at_precision(model: &Model, given: &[(Sym, f64)], bits: usize) -> Values {
    forward_at(model, given, bits, RESCUES)
}

/// [`at_precision`] without raising the precision for any name: a name `bits` only bounds
/// has no high-precision value, nor has anything computed from it. For points that are only
/// tried (a nicer counterexample than one already confirmed), where a name the working
/// precision cannot settle is reason enough to pass the point over: at a symmetric point a
/// gradient is often exactly 0 by cancellation, and raising the precision never settles an
/// exact zero, so each such name would be evaluated again at every precision to the ceiling.
pub fn at_working_precision(model: &Model, given: &[(Sym, f64)], bits: usize) -> Values {
    forward_at(model, given, bits, 0)
}

/// The forward pass at `bits`, at most `rescues` names computed again with the precision
/// raised.
fn forward_at(model: &Model, given: &[(Sym, f64)], bits: usize, rescues_allowed: usize) -> Values {
    let mut precise: HashMap<Sym, Precise> = given
        .iter()
        .map(|&(s, v)| (s, Precise::from_f64(v)))
        .collect();
    let leaves: HashSet<Sym> = given.iter().map(|&(s, _)| s).collect();
    let mut f64s: HashMap<Sym, f64> = given.iter().copied().collect();
    let mut rescues = 0;
    walk(model, &mut f64s, |s, def, _| {
        let value_of = |t: Sym| precise.get(&t).cloned();
        let settled = match eval::eval_precise_settled(&model.graph, &[def], &value_of, bits) {
            Ok(mut v) => v.remove(0),
            // A name it uses is unsettled (its float64 value was found, or this one would not
            // be computed): this one is unless the reference settles it; its float64 stays.
            Err(eval::EvalError::Unbound(_)) => None,
            Err(_) => return false,
        };
        // Through the definitions, the precision raised until stable (relu' of a value below
        // every magnitude held is 1 when the value is known positive); a few names a point.
        let value = settled.or_else(|| {
            rescues += 1;
            if rescues > rescues_allowed {
                return None;
            }
            let bind = |t: Sym| match model.definition(t) {
                Some(d) if !leaves.contains(&t) => Some(Binding::Formula(d)),
                _ => precise.get(&t).cloned().map(Binding::Value),
            };
            let stable =
                eval::eval_reference(&model.graph, &[def], &bind, eval::STABLE_MAX_BITS).ok()?;
            (stable.resolutions[0] == Resolution::Converged).then(|| stable.values[0].clone())
        });
        if let Some(value) = value {
            precise.insert(s, value);
        }
        true
    });
    Values { f64: f64s, precise }
}

/// The names of one point [`at_precision`] computes again through their definitions at most:
/// past them an unsettled name stays so, and the pass stays linear in the network.
const RESCUES: usize = 16;

/// The reference forward pass from values given as float64 and as their exact high-precision
/// value (a decimal as written): float64 as written, and every computed name through its
/// definition, in one evaluation, at the precision that makes each stable. Every leaf the
/// cost needs must have a value.
pub fn reference(model: &Model, given: &[(Sym, f64, Precise)]) -> Result<Reference, ForwardError> {
    reference_with_decimals(model, given, &HashMap::new())
}

/// [`reference`], with the given values that are exact decimals (`0.1` as 1/10) rounded at
/// each precision as the program's constants are ([`Binding::Decimal`]), so that a difference
/// of two equal decimals is exactly 0 at every precision.
pub fn reference_with_decimals(
    model: &Model,
    given: &[(Sym, f64, Precise)],
    decimals: &HashMap<Sym, Num>,
) -> Result<Reference, ForwardError> {
    let missing = missing_leaves(model, given.iter().map(|g| g.0));
    if !missing.is_empty() {
        return Err(ForwardError::Missing(missing));
    }
    let mut f64s: HashMap<Sym, f64> = given.iter().map(|(s, v, _)| (*s, *v)).collect();
    let mut precise: HashMap<Sym, Precise> =
        given.iter().map(|(s, _, p)| (*s, p.clone())).collect();
    let computed = walk(model, &mut f64s, |_, _, _| true);
    let definitions: HashMap<Sym, Id> = computed.iter().copied().collect();
    let bind = |t: Sym| match definitions.get(&t) {
        Some(&def) => Some(Binding::Formula(def)),
        None => match decimals.get(&t) {
            Some(&n) => Some(Binding::Decimal(n)),
            None => precise.get(&t).cloned().map(Binding::Value),
        },
    };
    let roots: Vec<Id> = computed.iter().map(|&(_, def)| def).collect();
    let stable =
        eval::eval_reference(&model.graph, &roots, &bind, eval::STABLE_MAX_BITS).map_err(|e| {
            match e {
                eval::EvalError::Unbound(s) => ForwardError::Missing(vec![s]),
                eval::EvalError::Unevaluated => ForwardError::Unevaluated,
            }
        })?;
    let mut resolution = HashMap::new();
    for (&(s, _), (value, how)) in computed
        .iter()
        .zip(stable.values.into_iter().zip(stable.resolutions))
    {
        precise.insert(s, value);
        resolution.insert(s, how);
    }
    Ok(Reference {
        values: Values { f64: f64s, precise },
        resolution,
        computed,
    })
}

/// The leaves the cost depends on when the graph is cut at the given names, and that have no
/// value, in name order.
pub fn missing_leaves(model: &Model, given: impl IntoIterator<Item = Sym>) -> Vec<Sym> {
    let given: HashSet<Sym> = given.into_iter().collect();
    let mut missing: Vec<Sym> = needed_leaves(model, &given)
        .into_iter()
        .filter(|s| !given.contains(s))
        .collect();
    missing.sort();
    missing
}

/// The leaves the cost depends on when the graph is cut at the given names, in name order.
pub fn needed_leaves(model: &Model, cut: &HashSet<Sym>) -> Vec<Sym> {
    let mut needed = Vec::new();
    let mut stack = vec![model.cost];
    let mut seen = HashSet::new();
    while let Some(s) = stack.pop() {
        if !seen.insert(s) {
            continue;
        }
        if model.symbol(s).kind.is_leaf() {
            needed.push(s);
            continue;
        }
        if cut.contains(&s) {
            continue;
        }
        if let Some(def) = model.definition(s) {
            for id in model.graph.reachable(&[def]) {
                if let Node::Var(t) = model.graph.node(id) {
                    stack.push(*t);
                }
            }
        }
    }
    needed.sort();
    needed
}

/// Computes, in program order, each name without a value whose definition's names all have
/// one, in float64; `also` computes whatever else the pass keeps for it (a high-precision
/// value) and says whether the name counts as computed. Returns the names computed.
fn walk(
    model: &Model,
    f64s: &mut HashMap<Sym, f64>,
    mut also: impl FnMut(Sym, Id, f64) -> bool,
) -> Vec<(Sym, Id)> {
    let mut computed = Vec::new();
    for &s in &model.order {
        if f64s.contains_key(&s) {
            continue;
        }
        let Some(def) = model.definition(s) else {
            continue;
        };
        let Ok(v) = eval::eval_f64(&model.graph, &[def], &|t| f64s.get(&t).copied()) else {
            continue;
        };
        if also(s, def, v[0]) {
            f64s.insert(s, v[0]);
            computed.push((s, def));
        }
    }
    computed
}

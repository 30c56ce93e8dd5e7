//! Named rewrite rules that bring a formula to the form a textbook prints.
//!
//! Simplification runs rule groups in a fixed order (expand activation derivatives, flatten,
//! fold constants, 0 and 1 identities, collect like terms, collect powers, normalise signs,
//! recognise named intermediates), each applied bottom-up over the whole graph, in rounds until
//! no group changes anything. Every group that changes the formula leaves a snapshot, so the
//! steps a derivation shows are the rewrites that actually happened. Products are never
//! distributed over sums: `-2(y - a3) a3(1 - a3) a2` stays factored, as textbooks write it.
//! The same rules run whether or not snapshots are kept, so `--no-steps` gives the same result.

use crate::core::expr::{FastMap, Func, Graph, Id, Node, Num};
use crate::core::rational::Quotient;

mod shapes;

pub use shapes::{Refill, Shapes};

/// A rule group: its code in the derivation and the local rewrite it performs.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Rule {
    ExpandActivationDerivative,
    Flatten,
    FoldConstants,
    Identities,
    CollectLikeTerms,
    CollectPowers,
    CancelFractions,
    NormaliseSigns,
    OneHotTargets,
    RecogniseIntermediates,
}

impl Rule {
    pub const ORDER: [Rule; 10] = [
        Rule::ExpandActivationDerivative,
        Rule::Flatten,
        Rule::FoldConstants,
        Rule::Identities,
        Rule::CollectLikeTerms,
        Rule::CancelFractions,
        Rule::CollectPowers,
        Rule::NormaliseSigns,
        Rule::OneHotTargets,
        Rule::RecogniseIntermediates,
    ];

    /// The stable code of the rule group (`simplify-` and this in a derivation step's JSON);
    /// its wording lives in the templates (`rule.txt`).
    pub fn code(self) -> &'static str {
        match self {
            Rule::ExpandActivationDerivative => "expand-activation-derivative",
            Rule::Flatten => "flatten",
            Rule::FoldConstants => "fold-constants",
            Rule::Identities => "zero-one-identities",
            Rule::CollectLikeTerms => "collect-like-terms",
            Rule::CollectPowers => "collect-powers",
            Rule::CancelFractions => "cancel-fractions",
            Rule::NormaliseSigns => "normalise-signs",
            Rule::OneHotTargets => "one-hot-targets",
            Rule::RecogniseIntermediates => "recognise-intermediates",
        }
    }
}

/// What the simplifier may do beyond the algebraic rules.
#[derive(Clone, Default)]
pub struct Options {
    /// Subterms to replace by a name: the definition of an intermediate maps to its `Var`.
    /// Empty when a formula must stay in inputs and parameters (the `--expand` form).
    pub recognise: std::sync::Arc<FastMap<Id, Id>>,
    /// The `Var` nodes of each group of targets declared one-hot (each group sums to one).
    pub one_hot: std::sync::Arc<Vec<Vec<Id>>>,
    /// The quotient intermediates among `recognise`, found once when first needed.
    pub quotients: std::sync::Arc<std::sync::OnceLock<Vec<Quotient>>>,
}

impl Options {
    /// Options that recognise the given definitions (definition → name) and use the one-hot
    /// groups of targets.
    pub fn new(recognise: FastMap<Id, Id>, one_hot: Vec<Vec<Id>>) -> Options {
        Options {
            recognise: std::sync::Arc::new(recognise),
            one_hot: std::sync::Arc::new(one_hot),
            quotients: Default::default(),
        }
    }

    fn quotients(&self, g: &Graph) -> &[Quotient] {
        self.quotients
            .get_or_init(|| crate::core::rational::quotients_of(g, &self.recognise))
    }
}

/// One rewrite that changed the formula: the rule group and the whole formula after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub rule: Rule,
    pub after: Id,
}

const MAX_ROUNDS: usize = 16;

/// Simplifies several formulas at once (shared subterms are rewritten once).
pub fn simplify_all(graph: &mut Graph, roots: &[Id], options: &Options) -> Vec<Id> {
    let mut current = roots.to_vec();
    let mut memo = Memo::default();
    run_rounds(|rule| {
        let next = apply(graph, rule, &current, options, &mut memo);
        let changed = next != current;
        current = next;
        changed
    });
    current
}

/// Simplifies one formula, keeping a snapshot after each rule group that changed it.
pub fn simplify_traced(graph: &mut Graph, root: Id, options: &Options) -> (Id, Vec<Snapshot>) {
    let mut current = root;
    let mut trace = Vec::new();
    let mut memo = Memo::default();
    run_rounds(|rule| {
        let next = apply(graph, rule, &[current], options, &mut memo)[0];
        let changed = next != current;
        if changed {
            current = next;
            trace.push(Snapshot {
                rule,
                after: current,
            });
        }
        changed
    });
    (current, trace)
}

/// Runs the rule groups in order, in rounds, until a whole round changes nothing (or for
/// [`MAX_ROUNDS`] rounds). `apply` runs one group and tells whether it changed the formula.
///
/// A group's result depends on the formula alone, so once every group in turn has left the
/// formula as it is, every later one would too: the rounds stop there, after the same groups
/// have changed the formula as in a run that finishes its last round and does one more.
fn run_rounds(mut apply: impl FnMut(Rule) -> bool) {
    let mut unchanged_in_a_row = 0;
    for _ in 0..MAX_ROUNDS {
        let mut changed_this_round = false;
        for rule in Rule::ORDER {
            if unchanged_in_a_row >= Rule::ORDER.len() {
                return;
            }
            if apply(rule) {
                unchanged_in_a_row = 0;
                changed_this_round = true;
            } else {
                unchanged_in_a_row += 1;
            }
        }
        if !changed_this_round {
            return;
        }
    }
}

/// Simplifies one formula without a trace.
pub fn simplify(graph: &mut Graph, root: Id, options: &Options) -> Id {
    simplify_all(graph, &[root], options)[0]
}

/// What each rule group did to each node already visited in this simplification. Rounds
/// revisit the same nodes; a node whose children are unchanged gets the same answer again.
type Memo = crate::core::expr::FastMap<(Rule, Id), Id>;

fn apply(
    graph: &mut Graph,
    rule: Rule,
    roots: &[Id],
    options: &Options,
    memo: &mut Memo,
) -> Vec<Id> {
    if rule == Rule::RecogniseIntermediates && options.recognise.is_empty()
        || rule == Rule::OneHotTargets && options.one_hot.is_empty()
    {
        return roots.to_vec();
    }
    let quotients: Vec<Quotient> = if rule == Rule::CancelFractions {
        options.quotients(graph).to_vec()
    } else {
        Vec::new()
    };
    let mapped = graph.rewrite_tracked(roots, |g, original, node| {
        let unchanged = node.is_none();
        let node = match node {
            Some(node) => node,
            None => {
                if let Some(&known) = memo.get(&(rule, original)) {
                    return known;
                }
                if rule == Rule::RecogniseIntermediates {
                    return options
                        .recognise
                        .get(&original)
                        .copied()
                        .unwrap_or(original);
                }
                if !may_change(g, rule, g.node(original), options) {
                    return original;
                }
                g.node(original).clone()
            }
        };
        let id = match rule {
            Rule::ExpandActivationDerivative => expand_activation_derivative(g, node),
            Rule::Flatten => flatten(g, node),
            Rule::FoldConstants => fold_constants(g, node),
            Rule::Identities => identities(g, node),
            Rule::CollectLikeTerms => collect_like_terms(g, node),
            Rule::CollectPowers => collect_powers(g, node),
            Rule::CancelFractions => crate::core::rational::normalise(
                g,
                node,
                &crate::core::rational::Context {
                    quotients: &quotients,
                    one_hot: &options.one_hot,
                },
            ),
            Rule::NormaliseSigns => normalise_signs(g, node),
            Rule::OneHotTargets => one_hot_targets(g, original, node, &options.one_hot),
            Rule::RecogniseIntermediates => {
                let id = g.add(node);
                options.recognise.get(&id).copied().unwrap_or(id)
            }
        };
        if unchanged {
            memo.insert((rule, original), id);
        }
        id
    });
    roots.iter().map(|r| mapped[r]).collect()
}

/// Whether `rule` can rewrite this node at all; `false` lets an unchanged node be kept
/// without rebuilding it. It must never say `false` where the rule would change the node.
fn may_change(g: &Graph, rule: Rule, node: &Node, options: &Options) -> bool {
    let is_num = |id: &Id| g.as_num(*id).is_some();
    match (rule, node) {
        (_, Node::Num(_) | Node::Const(_) | Node::Var(_)) => false,
        (Rule::ExpandActivationDerivative, n) => {
            matches!(n, Node::Call(Func::SigmoidPrime | Func::TanhPrime, _))
        }
        (Rule::Flatten, Node::Add(xs)) => xs.iter().any(|x| matches!(g.node(*x), Node::Add(_))),
        (Rule::Flatten, Node::Mul(xs)) => xs.iter().any(|x| matches!(g.node(*x), Node::Mul(_))),
        (Rule::Flatten, _) => false,
        (Rule::FoldConstants, Node::Add(xs)) => xs.iter().filter(|x| is_num(x)).count() >= 2,
        (Rule::FoldConstants, Node::Mul(xs)) => {
            xs.iter().any(|&x| is_power_of_scaled(g, x))
                || xs.iter().skip(1).any(is_num)
                || xs
                    .first()
                    .is_some_and(|x| g.as_num(*x).is_some_and(Num::is_one))
        }
        (Rule::FoldConstants, Node::Pow(a, b)) => is_num(a) && is_num(b),
        (Rule::FoldConstants, Node::Call(_, a)) => is_num(a),
        (Rule::FoldConstants, Node::Call2(_, a, b)) => is_num(a) && is_num(b),
        (Rule::FoldConstants, Node::Deriv(..) | Node::Tensor(..)) => false,
        (Rule::Identities, Node::Add(xs)) => {
            xs.iter().any(|x| g.as_num(*x).is_some_and(Num::is_zero))
        }
        (Rule::Identities, Node::Mul(xs)) => xs
            .iter()
            .any(|x| g.as_num(*x).is_some_and(|n| n.is_zero() || n.is_one())),
        (Rule::Identities, Node::Pow(..)) => true,
        (Rule::Identities, _) => false,
        (Rule::CollectLikeTerms, n) => matches!(n, Node::Add(_)),
        (Rule::CollectPowers, n) => matches!(n, Node::Mul(_) | Node::Pow(..)),
        (Rule::CancelFractions, n) => crate::core::rational::may_change(g, n),
        (Rule::NormaliseSigns, Node::Mul(xs)) => {
            g.as_num(xs[0]) == Some(Num::MINUS_ONE) && matches!(g.node(xs[1]), Node::Add(_))
        }
        (Rule::NormaliseSigns, n) => matches!(n, Node::Add(_) | Node::Pow(..)),
        (Rule::OneHotTargets, Node::Add(xs)) => {
            options.one_hot.iter().any(|group| group.len() == xs.len())
        }
        (Rule::OneHotTargets, Node::Mul(xs)) => {
            !options.one_hot.is_empty() && xs.iter().any(|x| matches!(g.node(*x), Node::Add(_)))
        }
        (Rule::OneHotTargets, _) => false,
        (Rule::RecogniseIntermediates, _) => true,
    }
}

fn expand_activation_derivative(g: &mut Graph, node: Node) -> Id {
    match node {
        Node::Call(Func::SigmoidPrime, z) => {
            let s = g.call(Func::Sigmoid, z);
            let one = g.int(1);
            let rest = g.sub(one, s);
            g.product(vec![s, rest])
        }
        Node::Call(Func::TanhPrime, z) => {
            let t = g.call(Func::Tanh, z);
            let two = g.int(2);
            let sq = g.pow(t, two);
            let one = g.int(1);
            g.sub(one, sq)
        }
        other => g.add(other),
    }
}

/// `root` as a reader reads it: each product inside a product without a denominator spliced
/// into it where the nesting does not show. A product of plain factors (no denominator, and no
/// number but a leading positive one that stays in front) reads the same nested or spliced: `2(y − a)` times
/// `−1` is `2(y − a)·(−1)` either way. A nested sum, a fraction, a sign or a coefficient in
/// the middle shows (`(−2(y − a))·a`, `x·2y`), and so does every other nesting. `memo`
/// keeps every node's answer, so formulas that share subterms are read once.
pub fn as_read(graph: &mut Graph, root: Id, memo: &mut FastMap<Id, Id>) -> Id {
    if let Some(&known) = memo.get(&root) {
        return known;
    }
    // Increasing ids: a node's children come before it.
    for id in graph.reachable_unknown(&[root], |n| memo.contains_key(&n)) {
        let read = match graph.node(id).map_children(|c| memo[&c]) {
            // The sign of `−∂b/∂b` once the derivative is 1: `−1` as printed.
            Node::Mul(factors)
                if factors.len() == 2
                    && graph.as_num(factors[0]) == Some(Num::MINUS_ONE)
                    && graph.as_num(factors[1]).is_some_and(Num::is_one) =>
            {
                factors[0]
            }
            // A sign before a product: `−y/a` however the product nests.
            Node::Mul(factors)
                if factors.len() == 2
                    && graph.as_num(factors[0]) == Some(Num::MINUS_ONE)
                    && matches!(graph.node(factors[1]), Node::Mul(inner)
                        if graph.as_num(inner[0]).is_none()) =>
            {
                let Node::Mul(inner) = graph.node(factors[1]) else {
                    unreachable!("matched as a product")
                };
                let spliced = std::iter::once(factors[0])
                    .chain(inner.iter().copied())
                    .collect();
                graph.product(spliced)
            }
            Node::Mul(factors) if !factors.iter().any(|&f| is_denominator(graph, f)) => {
                let mut out = Vec::with_capacity(factors.len());
                for (i, &f) in factors.iter().enumerate() {
                    match graph.node(f) {
                        Node::Mul(inner) if reads_spliced(graph, inner, i == 0) => {
                            out.extend(inner.iter().copied())
                        }
                        _ => out.push(f),
                    }
                }
                graph.product(out)
            }
            other => graph.add(other),
        };
        memo.insert(id, read);
    }
    memo[&root]
}

/// Whether a product inside another reads the same spliced into it (see [`as_read`]).
fn reads_spliced(g: &Graph, inner: &[Id], leading: bool) -> bool {
    inner.iter().enumerate().all(|(j, &f)| match g.node(f) {
        Node::Num(n) => leading && j == 0 && !n.is_negative(),
        _ => !is_denominator(g, f),
    })
}

fn is_denominator(g: &Graph, f: Id) -> bool {
    matches!(g.node(f), Node::Pow(_, e) if g.as_num(*e).is_some_and(Num::is_negative))
}

fn flatten(g: &mut Graph, node: Node) -> Id {
    match node {
        Node::Add(terms) => {
            let mut out = Vec::with_capacity(terms.len());
            for &t in terms.iter() {
                match g.node(t) {
                    Node::Add(inner) => out.extend(inner.iter().copied()),
                    _ => out.push(t),
                }
            }
            g.sum(out)
        }
        Node::Mul(factors) => {
            let mut out = Vec::with_capacity(factors.len());
            for &f in factors.iter() {
                match g.node(f) {
                    // `−1` prints without the factor 1 of `(−1)·1`; splicing it in would show
                    // a `·1` no earlier line had.
                    Node::Mul(inner) => out.extend(
                        inner
                            .iter()
                            .copied()
                            .filter(|&x| !g.as_num(x).is_some_and(Num::is_one)),
                    ),
                    _ => out.push(f),
                }
            }
            g.product(out)
        }
        other => g.add(other),
    }
}

fn fold_constants(g: &mut Graph, node: Node) -> Id {
    match node {
        Node::Add(terms) => {
            let numbers: Vec<Num> = terms.iter().filter_map(|&t| g.as_num(t)).collect();
            if numbers.len() < 2 {
                return g.add(Node::Add(terms));
            }
            let total = numbers.iter().fold(Num::ZERO, |a, &b| a.add(b));
            let total = g.num(total);
            let first = terms
                .iter()
                .position(|&t| g.as_num(t).is_some())
                .unwrap_or(0);
            let mut out = Vec::with_capacity(terms.len());
            for (i, &t) in terms.iter().enumerate() {
                if g.as_num(t).is_none() {
                    out.push(t);
                } else if i == first {
                    out.push(total);
                }
            }
            g.sum(out)
        }
        Node::Mul(factors) => {
            // (c·u)^k = c^k·u^k for an integer k, so that 2λw/(2n) folds to λw/n.
            let factors: Box<[Id]> = factors
                .iter()
                .flat_map(|&f| match power_of_scaled(g, f) {
                    Some((c, rest, k)) => {
                        let k_id = g.num(k);
                        let c = g.num(c);
                        vec![c, g.pow(rest, k_id)]
                    }
                    None => vec![f],
                })
                .collect();
            let numbers: Vec<Num> = factors.iter().filter_map(|&f| g.as_num(f)).collect();
            let already_leading = numbers.len() == 1 && g.as_num(factors[0]).is_some();
            if numbers.is_empty() || already_leading {
                return g.add(Node::Mul(factors));
            }
            let coefficient = numbers.iter().fold(Num::ONE, |a, &b| a.mul(b));
            let mut out = if coefficient.is_one() {
                vec![]
            } else {
                vec![g.num(coefficient)]
            };
            out.extend(factors.iter().copied().filter(|&f| g.as_num(f).is_none()));
            g.product(out)
        }
        Node::Pow(base, exponent) => match (g.as_num(base), g.as_num(exponent)) {
            (Some(b), Some(e)) => match b.pow(e) {
                Some(v) if matches!(v, Num::Rat(..)) || matches!(b, Num::Float(_)) => g.num(v),
                _ => g.pow(base, exponent),
            },
            _ => g.pow(base, exponent),
        },
        Node::Call(f, arg) => match g.as_num(arg).and_then(|x| exact_call(f, x)) {
            Some(v) => g.num(v),
            None => g.call(f, arg),
        },
        Node::Call2(f, a, b) => match (g.as_num(a), g.as_num(b)) {
            (Some(Num::Rat(p, q)), Some(Num::Rat(r, s))) if f.is_gate() => {
                // p/q against r/s exactly (denominators are positive)
                let order = (p as i128 * s as i128).cmp(&(r as i128 * q as i128));
                let first = f.picks_first(&order, &std::cmp::Ordering::Equal);
                if first { a } else { b }
            }
            _ => g.call2(f, a, b),
        },
        other => g.add(other),
    }
}

fn is_power_of_scaled(g: &Graph, id: Id) -> bool {
    matches!(g.node(id), Node::Pow(base, k)
        if g.as_num(*k).is_some_and(|k| k.as_integer().is_some())
            && matches!(g.node(*base), Node::Mul(fs) if g.as_num(fs[0]).is_some()))
}

/// `(c·u)^k` with a number `c` and an integer `k` whose `c^k` is exact: `(c^k, u, k)`.
fn power_of_scaled(g: &mut Graph, id: Id) -> Option<(Num, Id, Num)> {
    let Node::Pow(base, exponent) = g.node(id).clone() else {
        return None;
    };
    let k = g.as_num(exponent).filter(|k| k.as_integer().is_some())?;
    let Node::Mul(factors) = g.node(base).clone() else {
        return None;
    };
    let c = g.as_num(factors[0])?;
    let ck = c.pow(k)?;
    let rest = g.product(factors[1..].to_vec());
    Some((ck, rest, k))
}

/// Function values that are exact rationals: σ(0) = ½, exp(0) = 1, relu(−3) = 0, ...
fn exact_call(f: Func, x: Num) -> Option<Num> {
    let zero = x.is_zero() && matches!(x, Num::Rat(..));
    let rational = matches!(x, Num::Rat(..));
    match f {
        Func::Sigmoid if zero => Some(Num::Rat(1, 2)),
        Func::SigmoidPrime if zero => Some(Num::Rat(1, 4)),
        Func::Tanh if zero => Some(Num::ZERO),
        Func::TanhPrime if zero => Some(Num::ONE),
        Func::Exp if zero => Some(Num::ONE),
        Func::Log if x.is_one() => Some(Num::ZERO),
        Func::Relu if rational => Some(if x.is_negative() { Num::ZERO } else { x }),
        Func::ReluPrime if rational => Some(if x.to_f64() > 0.0 {
            Num::ONE
        } else {
            Num::ZERO
        }),
        Func::Abs if rational => Some(if x.is_negative() { x.neg() } else { x }),
        Func::Sign => match x {
            Num::Rat(n, _) => Some(Num::int(n.signum())),
            Num::Float(_) => None,
        },
        Func::Sqrt => match x {
            Num::Rat(n, d) if n >= 0 => {
                let (rn, rd) = (isqrt(n)?, isqrt(d)?);
                Some(Num::ratio(rn as i128, rd as i128))
            }
            _ => None,
        },
        _ => None,
    }
}

fn isqrt(n: i64) -> Option<i64> {
    let r = (n as f64).sqrt().round() as i64;
    (r.checked_mul(r) == Some(n)).then_some(r)
}

fn identities(g: &mut Graph, node: Node) -> Id {
    match node {
        Node::Add(terms) => {
            let kept: Vec<Id> = terms
                .iter()
                .copied()
                .filter(|&t| !g.as_num(t).is_some_and(Num::is_zero))
                .collect();
            g.sum(kept)
        }
        Node::Mul(factors) => {
            if factors
                .iter()
                .any(|&f| g.as_num(f).is_some_and(Num::is_zero))
            {
                return g.int(0);
            }
            let kept: Vec<Id> = factors
                .iter()
                .copied()
                .filter(|&f| !g.as_num(f).is_some_and(Num::is_one))
                .collect();
            g.product(kept)
        }
        Node::Pow(base, exponent) => {
            let e = g.as_num(exponent);
            let b = g.as_num(base);
            if e.is_some_and(Num::is_one) {
                base
            } else if e.is_some_and(Num::is_zero) || b.is_some_and(Num::is_one) {
                g.int(1)
            } else if b.is_some_and(Num::is_zero) && e.is_some_and(|e| e.to_f64() > 0.0) {
                g.int(0)
            } else {
                g.pow(base, exponent)
            }
        }
        other => g.add(other),
    }
}

/// A term as `coefficient · rest`; `rest` is `None` for a bare number.
fn split_coefficient(g: &mut Graph, term: Id) -> (Num, Option<Id>) {
    match g.node(term).clone() {
        Node::Num(n) => (n, None),
        Node::Mul(factors) => match g.as_num(factors[0]) {
            Some(c) => {
                let rest = g.product(factors[1..].to_vec());
                (c, Some(rest))
            }
            None => (Num::ONE, Some(term)),
        },
        _ => (Num::ONE, Some(term)),
    }
}

/// `coefficient · rest`, keeping products flat.
pub fn scale(g: &mut Graph, coefficient: Num, rest: Id) -> Id {
    if coefficient.is_one() {
        return rest;
    }
    let c = g.num(coefficient);
    match g.node(rest).clone() {
        Node::Mul(factors) => {
            let mut out = vec![c];
            out.extend(factors.iter().copied());
            g.product(out)
        }
        _ => g.product(vec![c, rest]),
    }
}

fn collect_like_terms(g: &mut Graph, node: Node) -> Id {
    let Node::Add(terms) = node else {
        return g.add(node);
    };
    let mut order: Vec<Option<Id>> = Vec::new();
    let mut coefficients: FastMap<Option<Id>, Num> = FastMap::default();
    for &t in terms.iter() {
        let (c, rest) = split_coefficient(g, t);
        match coefficients.get_mut(&rest) {
            Some(total) => *total = total.add(c),
            None => {
                order.push(rest);
                coefficients.insert(rest, c);
            }
        }
    }
    if order.len() == terms.len() {
        return g.add(Node::Add(terms));
    }
    let mut out = Vec::with_capacity(order.len());
    for rest in order {
        let c = coefficients[&rest];
        if c.is_zero() {
            continue;
        }
        out.push(match rest {
            None => g.num(c),
            Some(r) => scale(g, c, r),
        });
    }
    g.sum(out)
}

/// A factor as `base ^ exponent` with a numeric exponent.
fn split_power(g: &Graph, factor: Id) -> (Id, Option<Num>) {
    match g.node(factor) {
        Node::Pow(b, e) => match g.as_num(*e) {
            Some(n) => (*b, Some(n)),
            None => (factor, None),
        },
        _ => (factor, Some(Num::ONE)),
    }
}

fn collect_powers(g: &mut Graph, node: Node) -> Id {
    match node {
        Node::Mul(factors) => {
            let mut order: Vec<Id> = Vec::new();
            let mut exponents: FastMap<Id, Num> = FastMap::default();
            let mut merged = false;
            let mut out_plain: Vec<(usize, Id)> = Vec::new();
            for (i, &f) in factors.iter().enumerate() {
                if g.as_num(f).is_some() {
                    out_plain.push((i, f));
                    continue;
                }
                let (base, exponent) = split_power(g, f);
                let Some(exponent) = exponent else {
                    out_plain.push((i, f));
                    continue;
                };
                match exponents.get_mut(&base) {
                    Some(total) => {
                        *total = total.add(exponent);
                        merged = true;
                    }
                    None => {
                        order.push(base);
                        exponents.insert(base, exponent);
                        out_plain.push((i, base));
                    }
                }
            }
            if !merged {
                return g.add(Node::Mul(factors));
            }
            let mut out = Vec::with_capacity(out_plain.len());
            for (_, f) in out_plain {
                match exponents.get(&f) {
                    Some(e) if e.is_zero() => {}
                    Some(e) if e.is_one() => out.push(f),
                    Some(e) => {
                        let e = g.num(*e);
                        out.push(g.pow(f, e));
                    }
                    None => out.push(f),
                }
            }
            g.product(out)
        }
        Node::Pow(base, exponent) => {
            // (b^m)^n = b^(mn) holds for every real b only when n is an integer.
            if let (Node::Pow(inner_base, inner_exp), Some(n)) =
                (g.node(base).clone(), g.as_num(exponent))
                && n.as_integer().is_some()
                && let Some(m) = g.as_num(inner_exp)
            {
                let e = g.num(m.mul(n));
                return g.pow(inner_base, e);
            }
            g.pow(base, exponent)
        }
        other => g.add(other),
    }
}

fn is_negative_term(g: &Graph, t: Id) -> bool {
    match g.node(t) {
        Node::Num(n) => n.is_negative(),
        Node::Mul(factors) => g.as_num(factors[0]).is_some_and(Num::is_negative),
        _ => false,
    }
}

/// A sum that is exactly one group of one-hot targets is 1 (and a factor 1 of a product is
/// left out at once, so the step shows `a − y` rather than `a·1 − y`).
fn one_hot_targets(g: &mut Graph, original: Id, node: Node, groups: &[Vec<Id>]) -> Id {
    let is_group = |terms: &[Id]| {
        groups
            .iter()
            .any(|group| group.len() == terms.len() && group.iter().all(|y| terms.contains(y)))
    };
    match &node {
        Node::Add(terms) if is_group(terms) => g.int(1),
        // A factor that was a group's sum is now 1 (its children are rewritten first).
        Node::Mul(after) => {
            let Node::Mul(before) = g.node(original).clone() else {
                return g.add(node);
            };
            let was_group =
                |g: &Graph, id: Id| matches!(g.node(id), Node::Add(terms) if is_group(terms));
            if before.len() != after.len() || !before.iter().any(|&f| was_group(g, f)) {
                return g.add(node);
            }
            let kept = after
                .iter()
                .zip(before.iter())
                .filter(|&(_, &b)| !was_group(g, b))
                .map(|(&a, _)| a)
                .collect();
            g.product(kept)
        }
        _ => g.add(node),
    }
}

fn normalise_signs(g: &mut Graph, node: Node) -> Id {
    match node {
        // −(y − a)·x reads better as (a − y)·x, when negating the sum adds no minus sign.
        // Only a sum that leads the product: −u·v(1 − v) keeps σ′'s (1 − σ) as it is.
        Node::Mul(factors)
            if factors.len() >= 2
                && g.as_num(factors[0]) == Some(Num::MINUS_ONE)
                && matches!(g.node(factors[1]), Node::Add(_)) =>
        {
            let at = 1;
            let Node::Add(terms) = g.node(factors[at]).clone() else {
                unreachable!("found as a sum")
            };
            let negative = terms.iter().filter(|&&t| is_negative_term(g, t)).count();
            if terms.len() - negative > negative + 1 {
                return g.add(Node::Mul(factors));
            }
            let negated: Vec<Id> = terms
                .iter()
                .map(|&t| {
                    let (c, rest) = split_coefficient(g, t);
                    match rest {
                        Some(r) => scale(g, c.neg(), r),
                        None => g.num(c.neg()),
                    }
                })
                .collect();
            let negated = g.sum(negated);
            let negated = normalise_signs(g, g.node(negated).clone());
            let mut out: Vec<Id> = factors[1..].to_vec();
            out[at - 1] = negated;
            g.product(out)
        }
        // −a + b reads better as b − a.
        Node::Add(terms) if is_negative_term(g, terms[0]) => {
            match terms.iter().position(|&t| !is_negative_term(g, t)) {
                Some(p) => {
                    let mut out = vec![terms[p]];
                    out.extend(
                        terms
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != p)
                            .map(|(_, &t)| t),
                    );
                    g.sum(out)
                }
                None => g.add(Node::Add(terms)),
            }
        }
        // (−u)^2 = u^2
        Node::Pow(base, exponent)
            if g.as_num(exponent)
                .and_then(Num::as_integer)
                .is_some_and(|n| n % 2 == 0)
                && is_negative_term(g, base)
                && g.as_num(base).is_none() =>
        {
            let (c, rest) = split_coefficient(g, base);
            let rest = rest.expect("a non-number term has a rest");
            let positive = scale(g, c.neg(), rest);
            g.pow(positive, exponent)
        }
        other => g.add(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `may_change` lets the simplifier skip a node; it must never skip one a rule rewrites.
    #[test]
    fn may_change_never_hides_a_rewrite() {
        let sources = [
            "x + 0",
            "0 + x + 0",
            "x*1",
            "1*x",
            "0*x",
            "x^1",
            "x^0",
            "1^x",
            "0^2",
            "2 + 3 + x",
            "x*2*3",
            "x*2",
            "2^3",
            "(x + y) + z",
            "(x*y)*z",
            "x + x",
            "2x + 3x",
            "x*x",
            "x^2*x^-1",
            "(x^2)^3",
            "-x + y",
            "(-x)^2",
            "sigmoid'(x)",
            "tanh'(x)",
            "exp(0)",
            "sigmoid(0)",
            "relu(-3)",
            "sqrt(4)",
            "log(1)",
            "abs(-2)",
            "x - x",
            "(y - x)*(y - x)",
            "d/dx(x^2)",
        ];
        for source in sources {
            let mut graph = Graph::new();
            let expr = crate::lang::syntax::parse_expr(source).unwrap();
            let names = ["x", "y", "z"];
            let root =
                crate::lang::lower::lower_expr_with(&mut graph, &expr, &mut |g, ident| match names
                    .iter()
                    .position(|n| *n == ident.name)
                {
                    Some(i) => Ok(g.var(crate::core::expr::Sym(i as u32))),
                    None => Err(ident.clone()),
                })
                .ok()
                .unwrap();
            for id in graph.reachable(&[root]) {
                for rule in Rule::ORDER {
                    if rule == Rule::RecogniseIntermediates
                        || may_change(&graph, rule, graph.node(id), &Options::default())
                    {
                        continue;
                    }
                    let node = graph.node(id).clone();
                    let rewritten = match rule {
                        Rule::ExpandActivationDerivative => {
                            expand_activation_derivative(&mut graph, node)
                        }
                        Rule::Flatten => flatten(&mut graph, node),
                        Rule::FoldConstants => fold_constants(&mut graph, node),
                        Rule::Identities => identities(&mut graph, node),
                        Rule::CollectLikeTerms => collect_like_terms(&mut graph, node),
                        Rule::CollectPowers => collect_powers(&mut graph, node),
                        Rule::CancelFractions => crate::core::rational::normalise(
                            &mut graph,
                            node,
                            &crate::core::rational::Context {
                                quotients: &[],
                                one_hot: &[],
                            },
                        ),
                        Rule::NormaliseSigns => normalise_signs(&mut graph, node),
                        Rule::OneHotTargets => one_hot_targets(&mut graph, id, node, &[]),
                        Rule::RecogniseIntermediates => unreachable!(),
                    };
                    assert_eq!(
                        rewritten, id,
                        "{rule:?} rewrites a node of `{source}` that may_change skips"
                    );
                }
            }
        }
    }
}

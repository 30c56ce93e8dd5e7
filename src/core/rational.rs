//! Rational normalisation: sums of fractions put over a common denominator, cancelled against
//! the product they stand in, and intermediates defined as quotients recognised inside terms.
//!
//! A formula is read as a sum of monomials `c · b1^e1 · b2^e2 ⋯` with integer exponents, where a
//! base is any node that is not a number, a product or an integer power (a sum under a negative
//! power is a base, a sum under a positive power is multiplied out). In that form `y/a − (1 −
//! y)/(1 − a)` times `a(1 − a)` is `y(1 − a) − (1 − y)a = y − a`, and `exp(z1)·exp(z2)/S²` is
//! `a1·a2` when `a1 = exp(z1)/S` and `a2 = exp(z2)/S` are named. The rewritten form is kept only
//! when it is smaller than the formula it replaces (counted as nodes of the printed tree), so
//! the rule cancels what cancels and leaves every other formula as it was.

use crate::core::expr::{FastMap, Graph, Id, Node, Num};

/// An intermediate defined as a quotient: `name = numerator / denominator`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Quotient {
    pub numerator: Id,
    pub denominator: Id,
    pub name: Id,
}

/// The quotients among the definitions the simplifier may recognise (definition → name).
pub fn quotients_of(g: &Graph, recognise: &FastMap<Id, Id>) -> Vec<Quotient> {
    let mut out: Vec<Quotient> = recognise
        .iter()
        .filter_map(|(&def, &name)| {
            let Node::Mul(factors) = g.node(def) else {
                return None;
            };
            let [a, b] = factors[..] else {
                return None;
            };
            let denominator_of = |f: Id| match g.node(f) {
                Node::Pow(base, e) if g.as_num(*e) == Some(Num::MINUS_ONE) => Some(*base),
                _ => None,
            };
            let (numerator, denominator) = match (denominator_of(a), denominator_of(b)) {
                (None, Some(d)) => (a, d),
                (Some(d), None) => (b, d),
                _ => return None,
            };
            (g.as_num(numerator).is_none()).then_some(Quotient {
                numerator,
                denominator,
                name,
            })
        })
        .collect();
    out.sort_by_key(|q| (q.name, q.numerator));
    out.dedup_by_key(|q| q.name);
    out
}

/// What normalisation knows beyond algebra: the quotient intermediates, and the groups of
/// targets declared one-hot (a sum of one group counts as the 1 it is when forms are compared).
pub struct Context<'a> {
    pub quotients: &'a [Quotient],
    pub one_hot: &'a [Vec<Id>],
}

impl Context<'_> {
    fn is_one_hot(&self, terms: &[Id]) -> bool {
        self.one_hot
            .iter()
            .any(|group| group.len() == terms.len() && group.iter().all(|y| terms.contains(y)))
    }
}

/// The most monomials one normalisation may produce; beyond it the formula is left alone.
const MAX_TERMS: usize = 64;
/// The highest power of a sum that is multiplied out.
const MAX_EXPANDED_POWER: i64 = 3;

/// `coef · Π base^exponent`, bases in the order first met (which is the order they print in).
#[derive(Clone, Debug)]
struct Monomial {
    coef: Num,
    powers: Vec<(Id, i64)>,
}

impl Monomial {
    fn constant(coef: Num) -> Monomial {
        Monomial {
            coef,
            powers: Vec::new(),
        }
    }

    fn exponent(&self, base: Id) -> i64 {
        self.powers.iter().find(|p| p.0 == base).map_or(0, |p| p.1)
    }

    fn times_power(&mut self, base: Id, e: i64) {
        match self.powers.iter_mut().find(|p| p.0 == base) {
            Some(p) => p.1 += e,
            None => self.powers.push((base, e)),
        }
    }

    fn tidy(&mut self) {
        self.powers.retain(|p| p.1 != 0);
    }

    fn key(&self) -> Vec<(Id, i64)> {
        let mut key = self.powers.clone();
        key.sort_unstable();
        key
    }

    fn has_denominator(&self) -> bool {
        self.powers.iter().any(|p| p.1 < 0)
    }
}

/// Multiplies `mono` by `id^exponent`, splitting products and integer powers into bases.
fn factor_into(g: &Graph, id: Id, exponent: i64, mono: &mut Monomial) {
    match g.node(id) {
        Node::Num(n) => match n.pow(Num::int(exponent)) {
            Some(v) => mono.coef = mono.coef.mul(v),
            None => mono.times_power(id, exponent),
        },
        Node::Mul(factors) => {
            for &f in factors.iter() {
                factor_into(g, f, exponent, mono);
            }
        }
        Node::Pow(base, e) => match g.as_num(*e).and_then(Num::as_integer) {
            Some(k) if k.abs() <= 16 && (k * exponent).abs() <= 64 => {
                factor_into(g, *base, k * exponent, mono)
            }
            _ => mono.times_power(id, exponent),
        },
        _ => mono.times_power(id, exponent),
    }
}

fn monomial_of(g: &Graph, id: Id) -> Monomial {
    let mut mono = Monomial::constant(Num::ONE);
    factor_into(g, id, 1, &mut mono);
    mono.tidy();
    mono
}

/// Multiplies out the sums `mono` holds to a small positive power; `None` past [`MAX_TERMS`].
fn expand(g: &Graph, mono: Monomial, cx: &Context, out: &mut Vec<Monomial>) -> bool {
    // A quotient's denominator stays whole, so that the quotient can still be recognised.
    let sum = mono.powers.iter().position(|&(b, e)| {
        (1..=MAX_EXPANDED_POWER).contains(&e)
            && matches!(g.node(b), Node::Add(_))
            && !cx.quotients.iter().any(|q| q.denominator == b)
    });
    let Some(i) = sum else {
        let mut mono = mono;
        recognise(&mut mono, cx);
        out.push(mono);
        return out.len() <= MAX_TERMS;
    };
    let base = mono.powers[i].0;
    let Node::Add(terms) = g.node(base) else {
        unreachable!("checked to be a sum")
    };
    let mut rest = mono;
    rest.times_power(base, -1);
    rest.tidy();
    for &t in terms.iter() {
        let mut m = rest.clone();
        factor_into(g, t, 1, &mut m);
        m.tidy();
        if !expand(g, m, cx, out) {
            return false;
        }
    }
    true
}

/// Replaces `numerator^k / denominator^k` by `name^k` for every quotient intermediate.
fn recognise(mono: &mut Monomial, cx: &Context) {
    for q in cx.quotients {
        let up = mono.exponent(q.numerator);
        let down = -mono.exponent(q.denominator);
        let k = up.min(down);
        if k > 0 {
            mono.times_power(q.numerator, -k);
            mono.times_power(q.denominator, k);
            mono.times_power(q.name, k);
        }
    }
    mono.tidy();
}

/// Adds up equal monomials (first one met keeps its place) and drops those that cancel.
fn collect(monos: Vec<Monomial>) -> Vec<Monomial> {
    let mut index: FastMap<Vec<(Id, i64)>, usize> = FastMap::default();
    let mut out: Vec<Monomial> = Vec::with_capacity(monos.len());
    for m in monos {
        match index.get(&m.key()) {
            Some(&i) => out[i].coef = out[i].coef.add(m.coef),
            None => {
                index.insert(m.key(), out.len());
                out.push(m);
            }
        }
    }
    out.retain(|m| !m.coef.is_zero());
    out
}

fn power(g: &mut Graph, base: Id, e: i64) -> Id {
    if e == 1 {
        return base;
    }
    let e = g.int(e);
    g.pow(base, e)
}

/// A monomial as a product: coefficient, numerator factors, then denominator factors.
fn build_monomial(g: &mut Graph, m: &Monomial) -> Id {
    let mut factors = Vec::with_capacity(m.powers.len() + 1);
    if !m.coef.is_one() || m.powers.is_empty() {
        factors.push(g.num(m.coef));
    }
    for &(b, e) in m.powers.iter().filter(|p| p.1 > 0) {
        factors.push(power(g, b, e));
    }
    for &(b, e) in m.powers.iter().filter(|p| p.1 < 0) {
        factors.push(power(g, b, e));
    }
    g.product(factors)
}

/// A sum of monomials, with a base shared by several terms taken out once (`a·y1 + a·y2 +
/// a·y3 − y1` is `a(y1 + y2 + y3) − y1`).
fn build_sum(g: &mut Graph, cx: &Context, monos: &[Monomial]) -> Id {
    let mut alternatives_left = MAX_FACTOR_ALTERNATIVES;
    build_sum_within(g, cx, monos, &mut alternatives_left)
}

/// How many factorings besides the first [`build_sum`] may try and compare in one sum, over
/// all its levels. Each alternative is searched again at every level below it, so without a
/// bound the search grows exponentially with the bases the terms share (a sum over the paths
/// of an unrolled recurrence shares one base per step); past the bound every level takes the
/// first base shared by the most terms.
const MAX_FACTOR_ALTERNATIVES: usize = 24;

fn build_sum_within(
    g: &mut Graph,
    cx: &Context,
    monos: &[Monomial],
    alternatives_left: &mut usize,
) -> Id {
    if monos.len() < 2 {
        return match monos.first() {
            Some(m) => build_monomial(g, m),
            None => g.int(0),
        };
    }
    let mut counts: Vec<(Id, usize)> = Vec::new();
    for m in monos {
        for &(b, e) in &m.powers {
            if e > 0 {
                match counts.iter_mut().find(|c| c.0 == b) {
                    Some(c) => c.1 += 1,
                    None => counts.push((b, 1)),
                }
            }
        }
    }
    let most = counts.iter().map(|c| c.1).max().unwrap_or(0);
    if most < 2 {
        // A positive term first, as the sum is read (a − y rather than −y + a).
        let mut ordered: Vec<&Monomial> = monos.iter().collect();
        ordered.sort_by_key(|m| m.coef.is_negative());
        let terms = ordered.into_iter().map(|m| build_monomial(g, m)).collect();
        return g.sum(terms);
    }
    // Among the bases shared by the most terms, the one whose sum prints smallest
    // (`a(y1 + y2) − y1` rather than `y1(a − 1) + y2·a`).
    // A base every term shares leaves the same terms inside whichever of them is taken out
    // first (all of them are taken out in turn), so the first is as small as any.
    let tries = if most == monos.len() {
        1
    } else {
        MAX_FACTOR_TRIES
    };
    let candidates: Vec<Id> = counts
        .iter()
        .filter(|c| c.1 == most)
        .map(|c| c.0)
        .take(tries)
        .collect();
    if candidates.len() == 1 || *alternatives_left == 0 {
        return take_out(g, cx, monos, candidates[0], alternatives_left);
    }
    let mut best: Option<(u64, Id)> = None;
    for (i, &base) in candidates.iter().enumerate() {
        if i > 0 {
            if *alternatives_left == 0 {
                break;
            }
            *alternatives_left -= 1;
        }
        let built = take_out(g, cx, monos, base, alternatives_left);
        let size = size(g, cx, built);
        if best.is_none_or(|(s, _)| size < s) {
            best = Some((size, built));
        }
    }
    best.expect("a base shared by the most terms").1
}

/// How many equally shared bases [`build_sum`] tries to take out.
const MAX_FACTOR_TRIES: usize = 3;

/// `base · (Σ terms with base, divided by it) + Σ the other terms`.
fn take_out(
    g: &mut Graph,
    cx: &Context,
    monos: &[Monomial],
    base: Id,
    alternatives_left: &mut usize,
) -> Id {
    let (mut with, without): (Vec<Monomial>, Vec<Monomial>) =
        monos.iter().cloned().partition(|m| m.exponent(base) > 0);
    for m in &mut with {
        m.times_power(base, -1);
        m.tidy();
    }
    // The terms left inside the parentheses in the order of their names (y1 + y2 + y3).
    with.sort_by_key(|m| m.key());
    let inner = build_sum_within(g, cx, &with, alternatives_left);
    let taken_out = g.product(vec![base, inner]);
    let mut terms = vec![taken_out];
    terms.extend(without.iter().map(|m| build_monomial(g, m)));
    g.sum(terms)
}

/// The printed size of a formula, in nodes of its tree (shared subterms counted each time).
fn size(g: &Graph, cx: &Context, id: Id) -> u64 {
    let mut sizes: FastMap<Id, u64> = FastMap::default();
    for node in g.reachable(&[id]) {
        let s = match g.node(node) {
            Node::Add(terms) if cx.is_one_hot(terms) => 1,
            _ => g
                .children(node)
                .iter()
                .fold(1u64, |acc, c| acc.saturating_add(sizes[c])),
        };
        sizes.insert(node, s);
    }
    sizes[&id]
}

/// Whether a term has a factor under a negative power (directly, or in a sum it multiplies).
fn has_denominator(g: &Graph, id: Id, depth: u8) -> bool {
    match g.node(id) {
        Node::Pow(_, e) => g.as_num(*e).is_some_and(Num::is_negative),
        Node::Mul(factors) => factors.iter().any(|&f| has_denominator(g, f, depth)),
        Node::Add(terms) if depth > 0 => terms.iter().any(|&t| has_denominator(g, t, depth - 1)),
        _ => false,
    }
}

/// Whether a term multiplies a sum (so that multiplying it out may let terms cancel).
fn multiplies_a_sum(g: &Graph, id: Id) -> bool {
    matches!(g.node(id), Node::Mul(factors) if factors.iter().any(|&f| matches!(g.node(f), Node::Add(_))))
}

/// The longest sum multiplied out for want of a denominator (longer sums are left alone).
const MAX_SUM_WITHOUT_DENOMINATOR: usize = 16;

/// Whether [`normalise`] may change this node; it says `true` for every node it rewrites.
pub fn may_change(g: &Graph, node: &Node) -> bool {
    match node {
        Node::Add(terms) => {
            terms.iter().any(|&t| has_denominator(g, t, 1))
                || terms.len() <= MAX_SUM_WITHOUT_DENOMINATOR
                    && terms.iter().any(|&t| multiplies_a_sum(g, t))
        }
        Node::Mul(factors) => factors.iter().any(|&f| has_denominator(g, f, 1)),
        _ => false,
    }
}

/// The rational normal form of a sum or product when it is smaller; otherwise the node itself.
pub fn normalise(g: &mut Graph, node: Node, cx: &Context) -> Id {
    let replacement = match &node {
        Node::Add(_) if may_change(g, &node) => {
            let original = g.add(node.clone());
            normalise_sum(g, original, cx)
        }
        Node::Mul(factors) if may_change(g, &node) => {
            // Either the sum of fractions cancels against the other factors, or the product
            // is multiplied out over a sum it holds (a quotient rule's numerator over its
            // denominator); whichever is smaller.
            let original = g.add(node.clone());
            let kept = normalise_product(g, factors, cx);
            let multiplied = normalise_sum(g, original, cx);
            match (kept, multiplied) {
                (Some(a), Some(b)) => Some(if size(g, cx, b) < size(g, cx, a) {
                    b
                } else {
                    a
                }),
                (a, b) => a.or(b),
            }
        }
        _ => None,
    };
    let original = g.add(node);
    match replacement {
        Some(new) if new != original && size(g, cx, new) < size(g, cx, original) => new,
        _ => original,
    }
}

/// `Σ terms` as monomials, then over a common denominator; the smaller of the two.
fn normalise_sum(g: &mut Graph, sum: Id, cx: &Context) -> Option<Id> {
    let mut monos = Vec::new();
    if !expand(g, monomial_of(g, sum), cx, &mut monos) {
        return None;
    }
    let monos = collect(monos);
    let separate = build_sum(g, cx, &monos);
    if !monos.iter().any(Monomial::has_denominator) {
        return Some(separate);
    }
    let denominator = common_denominator(&monos);
    let numerator = over(g, &monos, &denominator, cx)?;
    let mut factors = vec![numerator];
    for &(b, d) in &denominator {
        factors.push(power(g, b, -d));
    }
    let combined = g.product(factors);
    Some(if size(g, cx, combined) < size(g, cx, separate) {
        combined
    } else {
        separate
    })
}

/// For each base under a negative power in some monomial, the highest such power.
fn common_denominator(monos: &[Monomial]) -> Vec<(Id, i64)> {
    let mut denominator: Vec<(Id, i64)> = Vec::new();
    for m in monos {
        for &(b, e) in m.powers.iter().filter(|p| p.1 < 0) {
            match denominator.iter_mut().find(|d| d.0 == b) {
                Some(d) => d.1 = d.1.max(-e),
                None => denominator.push((b, -e)),
            }
        }
    }
    denominator
}

/// The numerator of `Σ monos` over `denominator`: each monomial times it, multiplied out.
fn over(g: &mut Graph, monos: &[Monomial], denominator: &[(Id, i64)], cx: &Context) -> Option<Id> {
    let mut multiplied = Vec::with_capacity(monos.len());
    for m in monos {
        let mut m = m.clone();
        for &(b, d) in denominator {
            m.times_power(b, d);
        }
        m.tidy();
        if !expand(g, m, cx, &mut multiplied) {
            return None;
        }
    }
    Some(build_sum(g, cx, &collect(multiplied)))
}

/// A product with a sum of fractions among its factors: the sum over its common denominator,
/// cancelled against the other factors; quotient intermediates recognised throughout.
fn normalise_product(g: &mut Graph, factors: &[Id], cx: &Context) -> Option<Id> {
    let sum_at = factors.iter().position(|&f| {
        matches!(g.node(f), Node::Add(terms) if terms.iter().any(|&t| has_denominator(g, t, 1)))
    });
    let mut outer = Monomial::constant(Num::ONE);
    let mut sum_position = 0;
    for (i, &f) in factors.iter().enumerate() {
        if Some(i) == sum_at {
            sum_position = outer.powers.len();
        } else {
            factor_into(g, f, 1, &mut outer);
        }
    }
    let order: Vec<Id> = outer.powers.iter().map(|p| p.0).collect();
    let numerator = match sum_at {
        None => None,
        Some(i) => {
            let mut monos = Vec::new();
            if !expand(g, monomial_of(g, factors[i]), cx, &mut monos) {
                return None;
            }
            let denominator = common_denominator(&collect(monos.clone()));
            // −(y − a) is a − y: the sign goes into the sum rather than stand before it.
            if outer.coef == Num::MINUS_ONE {
                outer.coef = Num::ONE;
                for m in &mut monos {
                    m.coef = m.coef.neg();
                }
            }
            let numerator = over(g, &monos, &denominator, cx)?;
            for &(b, d) in &denominator {
                outer.times_power(b, -d);
            }
            Some(numerator)
        }
    };
    recognise(&mut outer, cx);
    outer.tidy();
    // The same for a sum that an earlier rewrite already put over its denominator.
    let mut negated: Option<(Id, Id)> = None;
    if numerator.is_none() && outer.coef == Num::MINUS_ONE {
        // Only a sum that leads the product (the sign normalisation's rule).
        let sum = order
            .first()
            .copied()
            .filter(|&b| outer.exponent(b) == 1 && matches!(g.node(b), Node::Add(_)));
        if let Some(sum) = sum {
            let mut monos = Vec::new();
            if expand(g, monomial_of(g, sum), cx, &mut monos) {
                for m in &mut monos {
                    m.coef = m.coef.neg();
                }
                let built = build_sum(g, cx, &collect(monos));
                negated = Some((sum, built));
                outer.coef = Num::ONE;
            }
        }
    }
    let mut out = Vec::with_capacity(outer.powers.len() + 2);
    if !outer.coef.is_one() {
        out.push(g.num(outer.coef));
    }
    let mut placed = numerator.is_none();
    for (i, &b) in order.iter().enumerate() {
        if !placed && i == sum_position {
            out.push(numerator.expect("a sum to place"));
            placed = true;
        }
        let e = outer.exponent(b);
        match negated {
            Some((sum, built)) if sum == b => out.push(built),
            _ if e > 0 => out.push(power(g, b, e)),
            _ => {}
        }
    }
    if !placed {
        out.push(numerator.expect("a sum to place"));
    }
    // Bases that recognition introduced, then what is left of the denominators.
    for &(b, e) in outer.powers.iter().filter(|p| p.1 > 0) {
        if !order.contains(&b) {
            out.push(power(g, b, e));
        }
    }
    for &(b, e) in outer.powers.iter().filter(|p| p.1 < 0) {
        out.push(power(g, b, e));
    }
    Some(g.product(out))
}

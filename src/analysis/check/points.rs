//! Points: the leaves a formula depends on, random points drawn from each leaf's declared
//! domain or else its kind's (and with labels for targets when a claim holds only for them), every name's value there in
//! float64 and high precision, cached per checker so that claims about the same names share
//! points; values raised to a stable precision where the fixed one is in doubt; and the
//! simple point shown to the reader as a counterexample.

use crate::core::diff;
use crate::core::eval::{self, Binding, Precise, Stable};
use crate::core::expr::{FastSet, Id, Node, Sym};
use crate::core::forward;
use crate::core::model::SymKind;
use crate::core::simplify::Options;

use super::{Checker, FITS, Labels, PRECISION, SAME};

/// Values of every name at one point: leaves as drawn or given, the rest computed by the
/// core's forward pass.
pub(super) type Sample = forward::Values;

impl Checker {
    /// The leaves a formula (in names) depends on, through the definitions.
    pub(super) fn leaves_of(&self, roots: &[Id]) -> Vec<Sym> {
        let mut seen: FastSet<Sym> = FastSet::default();
        let mut stack: Vec<Sym> = Vec::new();
        for id in self.model.graph.reachable(roots) {
            if let Node::Var(s) = self.model.graph.node(id) {
                stack.push(*s);
            }
        }
        let mut leaves = Vec::new();
        while let Some(s) = stack.pop() {
            if !seen.insert(s) {
                continue;
            }
            match self.model.definition(s) {
                None => leaves.push(s),
                Some(def) => {
                    for id in self.model.graph.reachable(&[def]) {
                        if let Node::Var(t) = self.model.graph.node(id) {
                            stack.push(*t);
                        }
                    }
                }
            }
        }
        leaves.sort();
        leaves
    }

    pub(super) fn recognise_options(&mut self) -> Options {
        if let Some(options) = &self.recognise {
            return options.clone();
        }
        // A claim must hold for every target value; the one-hot identity Σy = 1 is weighed
        // separately (`Labels`), so it is not used to rewrite either side.
        let options = Options {
            one_hot: Default::default(),
            ..diff::recognise_options(&mut self.model)
        };
        self.recognise = Some(options.clone());
        options
    }

    /// The simplifier's options for what the program declares and nothing more: the one-hot
    /// groups (Σy = 1), no names put for definitions.
    pub(super) fn declared_options(&mut self) -> Options {
        let groups = self.model.one_hot.clone();
        let one_hot = groups
            .iter()
            .map(|group| group.iter().map(|&y| self.model.graph.var(y)).collect())
            .collect();
        Options::new(Default::default(), one_hot)
    }

    /// The random points for a set of leaves, drawn and evaluated once per checker: every
    /// claim about the same names is judged at the same points.
    pub(super) fn random_sample(
        &mut self,
        leaves: &[Sym],
        labels: Labels,
        attempt: usize,
    ) -> Option<std::rc::Rc<Sample>> {
        let key = (leaves.to_vec(), labels);
        if let Some(cached) = self.samples.get(&key).and_then(|v| v.get(attempt)) {
            return cached.clone();
        }
        // Drawn lazily (a large network's forward pass is costly) but each attempt from its
        // own seed, so the points do not depend on how many were drawn before.
        let mut rng = fastrand::Rng::with_seed(
            0x5eed_c1a1 ^ (attempt as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let targets: Vec<Sym> = leaves
            .iter()
            .copied()
            .filter(|&s| self.model.symbol(s).kind == SymKind::Target)
            .collect();
        // Mostly near the origin, where networks live, but some points far out: a claim off
        // by relu(x − 3) must not pass for never being tested beyond 3.
        let scale = [2.0, 2.0, 5.0, 10.0][attempt % 4];
        let hot = if targets.is_empty() {
            0
        } else {
            rng.usize(..targets.len())
        };
        let values: Vec<(Sym, f64)> = leaves
            .iter()
            .map(|&s| {
                let v = self.draw(&mut rng, s, scale);
                let v = match (labels, self.model.symbol(s).kind) {
                    (Labels::Binary, SymKind::Target) => v.round(),
                    (Labels::OneHot, SymKind::Target) => {
                        f64::from(u8::from(targets.get(hot) == Some(&s)))
                    }
                    _ => v,
                };
                (s, v)
            })
            .collect();
        // Targets declared one-hot are labels at every point, whatever `labels` asks: the
        // program's derivatives hold only there (Σy = 1), as for `eval` and `step`.
        let hot_in_group: Vec<usize> = self
            .model
            .one_hot
            .iter()
            .map(|group| rng.usize(..group.len().max(1)))
            .collect();
        let values = self.with_declared_labels(values, |group| hot_in_group[group]);
        let sample = self.sample(&values).map(std::rc::Rc::new);
        let cache = self.samples.entry(key).or_default();
        if cache.len() <= attempt {
            cache.resize(attempt + 1, None);
        }
        cache[attempt] = sample.clone();
        sample
    }

    /// The leaf values with each target declared one-hot set to a label: 1 for the group's
    /// `hot(group)`-th member, 0 for the others.
    pub(super) fn with_declared_labels(
        &self,
        mut values: Vec<(Sym, f64)>,
        hot: impl Fn(usize) -> usize,
    ) -> Vec<(Sym, f64)> {
        for (s, v) in values.iter_mut() {
            if let Some((group, place)) = self.one_hot_place(*s) {
                *v = f64::from(u8::from(place == hot(group)));
            }
        }
        values
    }

    /// The one-hot group a target was declared in, and its place in the group.
    pub(super) fn one_hot_place(&self, s: Sym) -> Option<(usize, usize)> {
        self.model
            .one_hot
            .iter()
            .enumerate()
            .find_map(|(g, group)| group.iter().position(|&y| y == s).map(|p| (g, p)))
    }

    /// A random value for a leaf from a domain that makes sense for its kind.
    pub(super) fn draw(&self, rng: &mut fastrand::Rng, s: Sym, scale: f64) -> f64 {
        let u = rng.f64();
        if s == self.rate {
            if let Some(g) = self.given.iter().find(|g| g.sym == s) {
                return g.value;
            }
            return 0.01 + 0.99 * u;
        }
        if let Some(domain) = self.model.domain(s) {
            let v = domain.place(u, scale);
            let rounded = (v * 1000.0).round() / 1000.0;
            return if domain.contains(rounded) { rounded } else { v };
        }
        match self.model.symbol(s).kind {
            SymKind::Target => 0.05 + 0.9 * u,
            _ => {
                let v = scale * (2.0 * u - 1.0);
                // Round to a few digits so that a counterexample reads well.
                (v * 1000.0).round() / 1000.0
            }
        }
    }

    /// `v` for the leaf `s`, or where `s` has a declared domain that does not hold `v`, a
    /// simple value inside it (the `variant`-th).
    fn inside_domain(&self, s: Sym, v: f64, variant: usize) -> f64 {
        self.model
            .domain(s)
            .map_or(v, |domain| domain.simple(v, variant))
    }

    /// Computes every name at the leaf values (float64, and high precision at the checker's
    /// working precision); a name that is undefined there has no value.
    pub(super) fn sample(&self, leaves: &[(Sym, f64)]) -> Option<Sample> {
        Some(forward::at_precision(&self.model, leaves, PRECISION))
    }

    /// [`Checker::sample`] at the working precision alone, for a point that is only tried
    /// (see [`forward::at_working_precision`]).
    fn tried_sample(&self, leaves: &[(Sym, f64)]) -> Sample {
        forward::at_working_precision(&self.model, leaves, PRECISION)
    }

    /// The value of a formula at a sample, expanded into the leaves and evaluated with the
    /// precision raised until stable: the reference when the fixed precision is in doubt.
    pub(super) fn exact_at(&mut self, id: Id, sample: &Sample) -> Option<Precise> {
        // Only a settled value: a bound (relu' of a zero known to within its magnitude) is
        // no value to judge a claim by.
        let mut reference = self.reference_at(&[id], sample, eval::STABLE_MAX_BITS)?;
        (reference.resolutions[0] == eval::Resolution::Converged)
            .then(|| reference.values.remove(0))
    }

    /// The reference of formulas at a sample, each expanded into the leaves, from the
    /// working precision up to `max_bits` (one pass where that is the working precision).
    /// What a check concludes is read against float64, so a formula still known only to lie
    /// within a hair of 0 that float64 cannot tell from 0 stops climbing there
    /// ([`eval::eval_reference_for_float64`]): a side exactly 0 by a cancellation is never
    /// settled as a value, and would otherwise cost a climb to the ceiling at every point.
    fn reference_at(&mut self, ids: &[Id], sample: &Sample, max_bits: usize) -> Option<Stable> {
        let expanded: Vec<Id> = ids.iter().map(|&id| self.expanded_of(id)).collect();
        let reference = eval::eval_reference_for_float64(
            &self.model.graph,
            &expanded,
            &|s| sample.precise.get(&s).cloned().map(Binding::Value),
            max_bits,
        )
        .ok()?;
        #[cfg(test)]
        self.climbs.record(&reference);
        Some(reference)
    }

    /// A formula expanded into the leaves, once per formula: the form the reference
    /// evaluates, shared by every point it is evaluated at.
    fn expanded_of(&mut self, id: Id) -> Id {
        match self.expanded.get(&id) {
            Some(&e) => e,
            None => {
                let e = diff::expand(&mut self.model, &[id])[0];
                self.expanded.insert(id, e);
                e
            }
        }
    }

    /// A value to show the reader: at the working precision, or where that is in doubt (a
    /// tiny value, likely the residue of a cancellation) with the precision raised.
    pub(super) fn shown_at(&mut self, id: Id, sample: &Sample) -> Option<f64> {
        let quick = self.precise_at(id, sample).as_ref().and_then(finite);
        if let Some(v) = quick.filter(|v| v.abs() >= 1e-20) {
            return Some(v);
        }
        let reference = self.reference_at(&[id], sample, eval::STABLE_MAX_BITS)?;
        let known = reference.enclosure(0)?;
        match reference.converged {
            true => finite(&reference.values[0]),
            // 0 by a cancellation, known to within what float64 can tell from 0: shown as
            // float64 would show any value there.
            false => known.rounds_to_zero_in_float64().then_some(0.0),
        }
    }

    pub(super) fn precise_at(&self, id: Id, sample: &Sample) -> Option<Precise> {
        eval::eval_precise(
            &self.model.graph,
            &[id],
            &|s| sample.precise.get(&s).cloned(),
            PRECISION,
        )
        .ok()
        .map(|mut v| v.remove(0))
    }

    pub(super) fn f64_at(&self, id: Id, sample: &Sample) -> Option<f64> {
        eval::eval_f64(&self.model.graph, &[id], &|s| sample.f64.get(&s).copied())
            .ok()
            .map(|v| v[0])
    }

    /// The `--at` point as a sample, the rest of the leaves filled with simple values.
    pub(super) fn given_sample(&self, leaves: &[Sym]) -> Option<Sample> {
        if self.given.is_empty() {
            return None;
        }
        let given = |s: Sym| self.given.iter().find(|g| g.sym == s);
        let values: Vec<(Sym, f64)> = leaves
            .iter()
            .map(|&s| match given(s) {
                Some(g) => (s, g.value),
                None => (s, self.simple_value(s, 0)),
            })
            .collect();
        // A one-hot group's targets left out are labels completing those given: 1 for the
        // first one left out unless a given one is already 1.
        let hot = |group: usize| {
            let members = &self.model.one_hot[group];
            members
                .iter()
                .position(|&y| given(y).is_some_and(|g| g.value == 1.0))
                .or_else(|| members.iter().position(|&y| given(y).is_none()))
                .unwrap_or(0)
        };
        let values: Vec<(Sym, f64)> = self
            .with_declared_labels(values, hot)
            .into_iter()
            .zip(leaves)
            .map(|((s, v), &leaf)| match given(leaf) {
                Some(g) => (s, g.value),
                None => (s, v),
            })
            .collect();
        self.sample(&values)
    }

    /// Simple values for a counterexample, by kind: the `variant`-th choice.
    pub(super) fn simple_value(&self, s: Sym, variant: usize) -> f64 {
        if s == self.rate {
            return self
                .given
                .iter()
                .find(|g| g.sym == s)
                .map_or(0.1, |g| g.value);
        }
        const PARAMS: [f64; 5] = [0.5, 1.0, -1.0, 2.0, 0.25];
        const INPUTS: [f64; 5] = [1.0, 1.0, 2.0, 0.5, -1.0];
        const TARGETS: [f64; 5] = [0.0, 1.0, 0.0, 1.0, 0.5];
        let v = match self.model.symbol(s).kind {
            SymKind::Target => TARGETS[variant % 5],
            SymKind::Param => PARAMS[variant % 5],
            _ => INPUTS[variant % 5],
        };
        self.inside_domain(s, v, variant)
    }

    /// Whether the two sides differ at a point, confirmed by the reference (see
    /// [`Checker::confirmed_difference`]); false where that cannot settle it.
    pub(super) fn sides_differ(&mut self, truth: Id, claimed: Id, sample: &Sample) -> bool {
        let quick = match (
            self.precise_at(truth, sample),
            self.precise_at(claimed, sample),
        ) {
            (Some(t), Some(k)) => {
                finite(&t).is_some() && finite(&k).is_some() && !same_precise(&t, &k)
            }
            _ => false,
        };
        quick && self.confirmed_difference(truth, claimed, sample) == Some(true)
    }

    /// Whether the two sides differ at a point, by the reference: both expanded into the
    /// leaves and evaluated with the precision raised until stable, so that neither float64's
    /// range nor a cancellation at the working precision decides. `None` where the reference
    /// cannot settle it (a side not a finite real number there, or not stable within the
    /// precision allowed).
    pub(super) fn confirmed_difference(
        &mut self,
        truth: Id,
        claimed: Id,
        sample: &Sample,
    ) -> Option<bool> {
        // Where one pass's error bounds already put the sides apart (by well beyond SAME),
        // no higher precision can bring them together: confirmed without raising it. This
        // also settles a side that is 0 by a cancellation (known only as 0 within a bound,
        // at any precision) against a truth that is not.
        if self.apart_at_working_precision(truth, claimed, sample) {
            return Some(true);
        }
        let reference = self.reference_at(&[truth, claimed], sample, eval::STABLE_MAX_BITS)?;
        let (t, k) = (reference.enclosure(0)?, reference.enclosure(1)?);
        let converged = reference.converged;
        if converged {
            return Some(!same_precise(&reference.values[0], &reference.values[1]));
        }
        if eval::apart(&t, &k, 2.0 * SAME) {
            return Some(true);
        }
        // Both sides known to be 0 to within what float64 can tell from 0 (a cancelled
        // zero on one side, or both): they agree as far as any precision could show, as
        // exact zeros agree.
        Some(false).filter(|_| t.rounds_to_zero_in_float64() && k.rounds_to_zero_in_float64())
    }

    /// Whether one pass at the working precision puts the two sides apart: the intervals its
    /// error bounds give are further apart than 2·SAME relatively, so no higher precision
    /// can bring them together. A side exactly 0 by a cancellation is only ever known as 0
    /// within a bound, never settled, yet is told apart from a truth that is not 0.
    pub(super) fn apart_at_working_precision(
        &mut self,
        truth: Id,
        claimed: Id,
        sample: &Sample,
    ) -> bool {
        let Some(quick) = self.reference_at(&[truth, claimed], sample, PRECISION) else {
            return false;
        };
        quick
            .enclosure(0)
            .zip(quick.enclosure(1))
            .is_some_and(|(t, k)| eval::apart(&t, &k, 2.0 * SAME))
    }

    /// A point to show: the `--at` point if the sides differ there, else a simple point,
    /// else the random one. Also whether the claim holds at the given point.
    pub(super) fn counterexample(
        &mut self,
        leaves: &[Sym],
        truth: Id,
        claimed: Id,
        random: Sample,
    ) -> (Sample, bool) {
        // Shown to the reader, so the sides must differ visibly, and by the reference.
        let differs = |this: &mut Self, sample: &Sample| -> bool {
            let visible = match (
                this.precise_at(truth, sample),
                this.precise_at(claimed, sample),
            ) {
                (Some(t), Some(k)) => !fits(t.to_f64(), k.to_f64()),
                _ => false,
            };
            visible && this.sides_differ(truth, claimed, sample)
        };
        // A simple point is only a nicer one to show than the random point, which the
        // reference has already confirmed: one where the working precision's own error
        // bounds do not put the sides apart is passed over rather than rescued by raising
        // the precision (at a symmetric point a gradient is often exactly 0, and an exact
        // zero is never settled: the reference would climb, for every such point).
        let settled_and_differs = |this: &mut Self, sample: &Sample| -> bool {
            this.apart_at_working_precision(truth, claimed, sample) && differs(this, sample)
        };
        let mut holds_at_given_point = false;
        // The reader's own point is judged through the reference whatever it costs: whether
        // the claim holds there is reported.
        if let Some(given) = self.given_sample(leaves) {
            if differs(self, &given) {
                return (given, false);
            }
            holds_at_given_point = true;
        }
        for variant in 0..6 {
            let values: Vec<(Sym, f64)> = leaves
                .iter()
                .enumerate()
                .map(|(i, &s)| match variant {
                    // Distinct values, for claims that swap two names equal at a symmetric point.
                    5 if s != self.rate => {
                        let v = match self.model.symbol(s).kind {
                            SymKind::Target => (i % 2) as f64,
                            _ => (i as f64 + 1.0) / 10.0,
                        };
                        (s, self.inside_domain(s, v, i))
                    }
                    _ => (s, self.simple_value(s, variant)),
                })
                .collect();
            // Labels for targets declared one-hot: each simple point makes another class hot.
            let values = self.with_declared_labels(values, |group| {
                variant % self.model.one_hot[group].len().max(1)
            });
            let key = (leaves.to_vec(), variant);
            let sample = match self.simple_samples.get(&key) {
                Some(cached) => cached.clone(),
                None => {
                    let sample = std::rc::Rc::new(self.tried_sample(&values));
                    self.simple_samples.insert(key, sample.clone());
                    sample
                }
            };
            if settled_and_differs(self, &sample) {
                return (sample.as_ref().clone(), holds_at_given_point);
            }
        }
        (random, holds_at_given_point)
    }
}

/// The reference runs a checker made, counted so that tests can bound its work.
#[cfg(test)]
#[derive(Debug, Default)]
pub(super) struct Climbs {
    /// Runs of the reference.
    pub(super) runs: usize,
    /// Runs that raised the precision past the working precision.
    pub(super) raised: usize,
    /// Runs that reached the ceiling.
    pub(super) to_ceiling: usize,
}

#[cfg(test)]
impl Climbs {
    fn record(&mut self, reference: &Stable) {
        self.runs += 1;
        self.raised += usize::from(reference.precision_bits > PRECISION);
        self.to_ceiling += usize::from(reference.precision_bits >= eval::STABLE_MAX_BITS);
    }
}

pub(super) fn finite(p: &Precise) -> Option<f64> {
    match p {
        Precise::Finite(_) => Some(p.to_f64()).filter(|v| v.is_finite()),
        _ => None,
    }
}

/// Whether two values agree to [`SAME`], relatively, at any magnitude: two gradients near
/// 1e−271428 that float64 rounds both to 0 (or two near 1e400 it takes for infinite) are told
/// apart as two near 1 are.
pub(super) fn same_precise(a: &Precise, b: &Precise) -> bool {
    if !a.is_finite() || !b.is_finite() {
        return false;
    }
    a.relative_difference(b, PRECISION)
        .is_some_and(|relative| relative <= SAME)
}

pub(super) fn fits(a: f64, b: f64) -> bool {
    a.is_finite() && b.is_finite() && (a - b).abs() <= FITS * a.abs().max(b.abs()) + 1e-300
}

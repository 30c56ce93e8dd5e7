//! Judging a derivative or update claim as an identity: symbolically first (both sides
//! expanded and simplified), then numerically at random points at high precision (the `--at`
//! point first), with labels for the targets when the claim holds only for them; a claim that
//! differs is handed a counterexample and a diagnosis.

use crate::core::diff;
use crate::core::eval::Precise;
use crate::core::expr::{Id, Node, Num, Partial, Sym};
use crate::core::model::SymKind;
use crate::core::simplify::{self, Options};

use super::claims::Subject;
use super::points::{Sample, fits, same_precise};
use super::{
    ATTEMPTS, Checked, Checker, Diagnosis, Formulas, Labels, Method, Mistake, POINTS, Verdict,
};

/// The most bytes a corrected or expected formula may print before it is written through the
/// names of the derivatives it is made of instead (see `factored_truth`).
const CORRECTED_BYTES: u64 = 4_000;

pub(super) enum Decision {
    Symbolic,
    Numeric(usize),
    /// Holds at random points whose targets are labels, not for every target value.
    ForLabels(usize, Labels),
    Differs(Sample),
    Unknown(Method),
}

impl Checker {
    pub(super) fn identity_claim(&mut self, subject: &Subject, truth: Id, claimed: Id) -> Checked {
        let decision = match self.decide(truth, claimed) {
            // Holding for labels is not enough where the given point (with its own targets)
            // is a counterexample.
            Decision::ForLabels(n, labels) => {
                let leaves = self.leaves_of(&[truth, claimed]);
                match self.given_sample(&leaves) {
                    Some(given) if self.sides_differ(truth, claimed, &given) => {
                        Decision::Differs(given)
                    }
                    _ => Decision::ForLabels(n, labels),
                }
            }
            decision => decision,
        };
        let expected = Some(self.bounded(subject, truth));
        let mut checked = Checked {
            claim: String::new(),
            verdict: Verdict::Correct,
            method: Method::Symbolic,
            counterexample: None,
            matrix_counterexample: None,
            claimed_value: None,
            true_value: None,
            diagnosis: None,
            corrected: None,
            expected,
            formulas: Formulas::default(),
            unreadable: None,
            shape: None,
        };
        match decision {
            Decision::Symbolic => checked.method = Method::Symbolic,
            Decision::Numeric(points) => {
                let leaves = self.leaves_of(&[truth, claimed]);
                checked.method = Method::Numeric {
                    points,
                    one_hot: leaves.iter().any(|&s| self.one_hot_place(s).is_some()),
                }
            }
            Decision::ForLabels(points, labels) => {
                checked.method = Method::NumericForLabels {
                    points,
                    one_hot: matches!(labels, Labels::OneHot),
                }
            }
            Decision::Unknown(why) => {
                checked.verdict = Verdict::Unknown;
                checked.method = why;
            }
            Decision::Differs(random_point) => {
                checked.verdict = Verdict::Incorrect;
                checked.method = Method::Counterexample;
                let leaves = self.leaves_of(&[truth, claimed]);
                let (point, holds_at_given_point) =
                    self.counterexample(&leaves, truth, claimed, random_point);
                // Shown to the reader: precision raised until stable, so an exact 0 is not
                // shown as a 1e−39 residue.
                let compared = self.compared_side(claimed);
                let t = self.shown_at(truth, &point);
                let k = self.shown_at(compared, &point);
                checked.counterexample = Some(
                    leaves
                        .iter()
                        .filter_map(|&s| {
                            point
                                .f64
                                .get(&s)
                                .map(|&v| (self.model.name(s).to_string(), v))
                        })
                        .collect(),
                );
                checked.true_value = t;
                checked.claimed_value = k;
                // Where float64 cannot show the difference (both sides underflow to 0 or
                // overflow), the method gives the reference's values.
                if t.zip(k).is_none_or(|(t, k)| fits(t, k))
                    && let (Some(tr), Some(kr)) = (
                        self.exact_at(truth, &point),
                        self.exact_at(compared, &point),
                    )
                {
                    checked.method = Method::CounterexampleBeyondFloat64 {
                        claimed: crate::analysis::numeric::plain_decimal(&kr.to_decimal_string(6)),
                        truth: crate::analysis::numeric::plain_decimal(&tr.to_decimal_string(6)),
                    };
                }
                let mut found = self
                    .diagnose(subject, truth, claimed, &leaves, &point)
                    .into_iter();
                let (mistake, corrected) = match found.next() {
                    Some((mistake, corrected)) => (Some(mistake), corrected.unwrap_or(truth)),
                    None => (None, truth),
                };
                let out_of_budget = mistake.is_none() && self.budget.exhausted();
                checked.diagnosis = Some(Diagnosis {
                    mistake,
                    out_of_budget,
                    holds_at_given_point,
                    alternatives: found.map(|(mistake, _)| mistake).collect(),
                });
                let edited = checked
                    .diagnosis
                    .as_ref()
                    .and_then(|d| d.mistake.as_ref())
                    .and_then(|mistake| self.edited_claim(subject, mistake, truth));
                checked.corrected = Some(match edited {
                    Some(edited) => edited,
                    None => self.correction(subject, corrected),
                });
            }
        }
        checked
    }

    /// The claim with the diagnosed edit applied to its own terms, as the claim wrote them
    /// (`δ2_1·x2` corrected to `δ2_1·x1`, not to δ2_1 written out): the diagnosis edits the
    /// claim with its derivatives worked out, and the edit is carried back where what it
    /// changed is one of the claim's own terms. Confirmed to equal the truth (for labels,
    /// where the claim is judged for them); `None` for a
    /// mistake that is not one edit, or an edit inside a derivative the claim names.
    fn edited_claim(&mut self, subject: &Subject, mistake: &Mistake, truth: Id) -> Option<Id> {
        let unresolved = self.unresolved;
        let edited = match mistake {
            Mistake::Edit {
                written, should_be, ..
            }
            | Mistake::WrongDerivative { written, should_be } => {
                if !self.model.graph.reachable(&[unresolved]).contains(written) {
                    return None;
                }
                self.model.graph.replace(unresolved, *written, *should_be)
            }
            Mistake::Sign { .. } => self.rescaled(unresolved, -1.0)?,
            Mistake::ConstantFactor { ratio, .. } => self.rescaled(unresolved, *ratio)?,
            Mistake::InUpdateGradient(inner) => match **inner {
                // θ' = θ − η·(c·g): the step, the terms beside θ, divided by c.
                Mistake::Sign { .. } | Mistake::ConstantFactor { .. } => {
                    let ratio = match **inner {
                        Mistake::ConstantFactor { ratio, .. } => ratio,
                        _ => -1.0,
                    };
                    let Subject::Update(theta) = *subject else {
                        return None;
                    };
                    let options = self.declared_options();
                    let g = &mut self.model.graph;
                    let theta = g.var(theta);
                    let claim = simplify::simplify(g, unresolved, &options);
                    let Node::Add(terms) = g.node(claim) else {
                        return None;
                    };
                    let step: Vec<Id> = terms.iter().copied().filter(|&t| t != theta).collect();
                    if step.len() + 1 != terms.len() {
                        return None;
                    }
                    let step = g.sum(step);
                    let step = self.rescaled(step, ratio)?;
                    self.model.graph.sum(vec![theta, step])
                }
                _ => return self.edited_claim(subject, inner, truth),
            },
            _ => return None,
        };
        let resolved = diff::resolve_derivatives(&mut self.model, edited);
        if !matches!(
            self.decide(truth, resolved),
            Decision::Symbolic | Decision::Numeric(_) | Decision::ForLabels(..)
        ) {
            return None;
        }
        // Tidied as derive tidies (`1·(a − y)` is `a − y`); derivatives stay named.
        let options = self.declared_options();
        Some(simplify::simplify(&mut self.model.graph, edited, &options))
    }

    /// `formula` divided by the factor `ratio` it is off by, the sign carried into a
    /// difference where the formula has one (`(y − a)·x` flipped is `(a − y)·x`, not
    /// `−(y − a)·x`), as a person fixing the claim would write it; `None` where the ratio is
    /// no small fraction.
    fn rescaled(&mut self, formula: Id, ratio: f64) -> Option<Id> {
        let (n, d) = small_fraction(ratio)?;
        let options = self.declared_options();
        let g = &mut self.model.graph;
        let formula = simplify::simplify(g, formula, &options);
        let mut factors: Vec<Id> = match g.node(formula) {
            Node::Mul(factors) => factors.to_vec(),
            _ => vec![formula],
        };
        // The claim's own coefficient joins the factor, so `−δ·x` flipped is `δ·x`.
        let mut own = Num::ONE;
        factors.retain(|&f| match g.as_num(f) {
            Some(n) => {
                own = own.mul(n);
                false
            }
            None => true,
        });
        let mut factor = own.mul(Num::ratio(d, n));
        let difference = factors
            .iter()
            .position(|&f| matches!(g.node(f), Node::Add(terms) if terms.len() == 2));
        if let Some(at) = difference
            && ratio < 0.0
            && factor.is_negative()
        {
            let flipped = g.neg(factors[at]);
            factors[at] = simplify::simplify(g, flipped, &options);
            factor = factor.neg();
        }
        let factor = g.num(factor);
        let rescaled = g.product([vec![factor], factors].concat());
        Some(simplify::simplify(g, rescaled, &options))
    }

    /// The correction where no single edit of the claim's own terms gives it: the diagnosis's
    /// formula (or the truth) simplified by the rules `derive` uses (fractions cancelled,
    /// constants folded, Σy = 1 for targets declared one-hot), in the names the claim and the
    /// diagnosis use (σ(z3) stays σ(z3)). Where the claim names derivatives (`δ2_1`), or the
    /// formula would print long, it is the truth one chain-rule step deep with the upstream
    /// derivatives named ([`Checker::factored_truth`]), as `derive` writes a result.
    fn correction(&mut self, subject: &Subject, corrected: Id) -> Id {
        let options = self.declared_options();
        let corrected = simplify::simplify(&mut self.model.graph, corrected, &options);
        let graph = &self.model.graph;
        let names_derivatives = graph
            .reachable(&[self.unresolved])
            .into_iter()
            .any(|id| matches!(graph.node(id), Node::Deriv(..)));
        match names_derivatives {
            true => self.factored_truth(subject).unwrap_or(corrected),
            false => self.bounded(subject, corrected),
        }
    }

    /// A formula equal to the truth as it is, or where it would print longer than
    /// `CORRECTED_BYTES` (a deep network's gradient written out once per path), the truth
    /// one chain-rule step deep: what a report shows stays small.
    fn bounded(&mut self, subject: &Subject, formula: Id) -> Id {
        let mut memo = Default::default();
        let bytes = crate::core::factor::printed_bytes_shared(&self.model, formula, &mut memo);
        match bytes > CORRECTED_BYTES {
            true => self.factored_truth(subject).unwrap_or(formula),
            false => formula,
        }
    }

    /// The truth of a derivative, update or change claim with its gradient written one step
    /// of the chain rule deep: `Σ ∂C/∂u·(∂u/∂w)_direct` over the names u that use w, each
    /// upstream derivative left as it is named rather than written out. Written out, a deep
    /// network's gradient prints once per path (2^layers times); this grows with the names
    /// that use w. An update rule whose claim names its gradient (`w3 + η·dC/dw3`) keeps it
    /// named (`w3 − η·∂C/∂w3`). `None` for the other claims.
    fn factored_truth(&mut self, subject: &Subject) -> Option<Id> {
        let (target, wrap) = match *subject {
            Subject::Derivative(target) => (target, None),
            Subject::Update(theta) => (self.cost_target(theta), Some(true)),
            Subject::Change(theta) => (self.cost_target(theta), Some(false)),
            _ => return None,
        };
        let g = &mut self.model.graph;
        let of = g.var(target.of);
        let named = g.deriv(of, target.wrt);
        let gradient = if wrap.is_some() && g.reachable(&[self.unresolved]).contains(&named) {
            named
        } else {
            self.one_step_gradient(target)?
        };
        let g = &mut self.model.graph;
        let formula = match wrap {
            None => gradient,
            Some(update) => {
                let eta = g.var(self.rate);
                let step = g.product(vec![eta, gradient]);
                if update {
                    let theta = g.var(target.wrt);
                    g.sub(theta, step)
                } else {
                    g.neg(step)
                }
            }
        };
        let options = self.declared_options();
        Some(simplify::simplify(&mut self.model.graph, formula, &options))
    }

    /// `Σ ∂of/∂u·(∂u/∂wrt)_direct` over the names u that use `wrt` on the way to `of`.
    fn one_step_gradient(&mut self, target: diff::Target) -> Option<Id> {
        let path = self.between(target.of, target.wrt);
        let mut terms = Vec::new();
        for u in self.users(target.wrt, &path) {
            let definition = self.model.definition(u)?;
            let g = &mut self.model.graph;
            let local = g.derivative(definition, target.wrt, Partial::Direct);
            let local = diff::resolve_derivatives(&mut self.model, local);
            let g = &mut self.model.graph;
            terms.push(if u == target.of {
                local
            } else {
                let of = g.var(target.of);
                let upstream = g.deriv(of, u);
                g.product(vec![upstream, local])
            });
        }
        Some(self.model.graph.sum(terms))
    }

    fn cost_target(&self, wrt: Sym) -> diff::Target {
        diff::Target {
            of: self.model.cost,
            wrt,
        }
    }

    pub(super) fn decide(&mut self, truth: Id, claimed: Id) -> Decision {
        let leaves = self.leaves_of(&[truth, claimed]);
        // Simplification may define what the claim leaves undefined (0/(w − w) is not 0):
        // the symbolic verdict needs the claim, as written, to have a value somewhere.
        let defined_somewhere = (0..8).any(|attempt| {
            self.random_sample(&leaves, Labels::Free, attempt)
                .is_some_and(|sample| self.f64_at(claimed, &sample).is_some_and(f64::is_finite))
        });
        if defined_somewhere {
            let expanded = diff::expand(&mut self.model, &[truth, claimed]);
            let options = Options::default();
            let t = simplify::simplify(&mut self.model.graph, expanded[0], &options);
            let k = simplify::simplify(&mut self.model.graph, expanded[1], &options);
            if t == k {
                return Decision::Symbolic;
            }
            let difference = self.model.graph.sub(t, k);
            let difference = simplify::simplify(&mut self.model.graph, difference, &options);
            if self
                .model
                .graph
                .as_num(difference)
                .is_some_and(|n| n.is_zero())
            {
                return Decision::Symbolic;
            }
        }
        let decision = self.numeric(truth, claimed, &leaves, Labels::Free);
        if !matches!(decision, Decision::Differs(_)) {
            return decision;
        }
        // δ = a − y for softmax with log-likelihood, σ(z) − y for softplus((1 − 2y)z): true
        // for the labels classifiers are trained on, not for every y.
        let targets = leaves
            .iter()
            .filter(|&&s| self.model.symbol(s).kind == SymKind::Target)
            .count();
        let labels = match targets {
            0 => return decision,
            1 => Labels::Binary,
            _ => Labels::OneHot,
        };
        match self.numeric(truth, claimed, &leaves, labels) {
            Decision::Numeric(n) => Decision::ForLabels(n, labels),
            _ => decision,
        }
    }

    /// The claimed side as its values are judged and shown at a point where it is defined:
    /// the exact constant it simplifies to (`t − t` is 0, `t/t − 1` too), or else as written.
    /// As written, a cancelled constant is only ever bounded around its value by the
    /// reference, never settled.
    fn compared_side(&mut self, claimed: Id) -> Id {
        let recognise = self.recognise_options();
        let simplified = simplify::simplify(&mut self.model.graph, claimed, &recognise);
        match self.model.graph.as_num(simplified) {
            Some(_) => simplified,
            None => claimed,
        }
    }

    /// The two sides at random points (the `--at` point first), at high precision.
    pub(super) fn numeric(
        &mut self,
        truth: Id,
        claimed: Id,
        leaves: &[Sym],
        labels: Labels,
    ) -> Decision {
        let mut valid = 0;
        let mut unsettled = 0;
        let raw = claimed;
        // The claim with its subterms named (σ(z3) is a3, known at each point): the same
        // values, without recomputing the network's activations at every point.
        let recognise = self.recognise_options();
        let claimed = simplify::simplify(&mut self.model.graph, claimed, &recognise);
        // As `compared_side` would give it, from the simplification just made.
        let compared = if self.model.graph.as_num(claimed).is_some() {
            claimed
        } else {
            raw
        };
        // The given point first: a counterexample there reads best.
        let given = if labels == Labels::Free {
            self.given_sample(leaves).map(std::rc::Rc::new)
        } else {
            None
        };
        let given_count = given.iter().count();
        for index in 0..given_count + ATTEMPTS {
            let sample = match (&given, index) {
                (Some(g), 0) => g.clone(),
                _ => match self.random_sample(leaves, labels, index - given_count) {
                    Some(s) => s,
                    None => continue,
                },
            };
            let sample = sample.as_ref();
            // Where the claim as written is undefined, the point does not count.
            let defined = self.f64_at(raw, sample).is_some_and(f64::is_finite)
                || self
                    .precise_at(raw, sample)
                    .as_ref()
                    .is_some_and(Precise::is_finite);
            if !defined {
                continue;
            }
            // In names, with the names' values at the point: the same values as the expanded
            // forms, without evaluating the network again for every formula.
            // The truth's value is shared by every claim about the same quantity.
            let tv = if index >= given_count {
                let key = (truth, leaves.to_vec(), labels, index - given_count);
                match self.truth_values.get(&key) {
                    Some(v) => v.clone(),
                    None => {
                        let v = self.precise_at(truth, sample);
                        self.truth_values.insert(key, v.clone());
                        v
                    }
                }
            } else {
                self.precise_at(truth, sample)
            };
            let (Some(tv), Some(kv)) = (tv, self.precise_at(claimed, sample)) else {
                continue;
            };
            // Beyond float64's range is no reason to skip a point: the reference compares.
            if !tv.is_finite() || !kv.is_finite() {
                continue;
            }
            if !same_precise(&tv, &kv) {
                // The working precision says the sides differ, but it cannot be trusted where
                // float64 and 128 bits cannot tell them apart (a saturated σ whose 1 − a
                // cancels, values that underflow or overflow): every disagreement is confirmed
                // in inputs and parameters alone, the precision raised until the digits are
                // stable. Where even that cannot settle, the point decides nothing.
                let confirmed = if unsettled < UNSETTLED_CLIMBS {
                    self.confirmed_difference(truth, compared, sample)
                } else {
                    self.apart_at_working_precision(truth, compared, sample)
                        .then_some(true)
                };
                match confirmed {
                    Some(true) => return Decision::Differs(sample.clone()),
                    Some(false) => {}
                    None => {
                        unsettled += 1;
                        continue;
                    }
                }
            }
            valid += 1;
            if valid >= POINTS {
                return Decision::Numeric(valid);
            }
        }
        Decision::Unknown(Method::TooFewPoints {
            valid,
            attempts: ATTEMPTS,
            needed: POINTS,
            unsettled,
        })
    }
}

/// Points at which a claim's sides are confirmed with the precision raised to no avail
/// before the rest are judged by the working precision's error bounds alone: a side the
/// reference cannot settle at a few points (the sign of a cancelled zero) is as unsettled at
/// the others, and each attempt climbs to the ceiling.
const UNSETTLED_CLIMBS: usize = 4;

/// The fraction n/d with a small denominator (up to 12) that `ratio` is, as a constant
/// factor a person writes is (2, ½, −1, ⅓); `None` for another number.
fn small_fraction(ratio: f64) -> Option<(i128, i128)> {
    (1..=12i64).find_map(|d| {
        let n = (ratio * d as f64).round();
        (n != 0.0 && n.abs() < 1e6 && fits(n / d as f64, ratio)).then_some((n as i128, d as i128))
    })
}

#[cfg(test)]
mod tests {
    use super::super::points::Climbs;
    use super::*;
    use crate::lang::load::{BUILTIN_EXAMPLE, load};

    const MAZUR: &str = include_str!("../../../examples/mazur_2_2_2.bp");

    /// A claim judged by a checker of its own, with the reference runs it made.
    fn judged(source: &str, claim: &str) -> (Checked, Climbs) {
        let model = load(source).unwrap();
        let mut checker = Checker::new(&model);
        let checked = checker.check(claim).unwrap();
        (checked, checker.climbs)
    }

    /// Found by fuzzing: a claimed side 0 by cancellation at every point was only ever
    /// bounded around 0 by the reference, which climbed to its ceiling at each of 96 points
    /// and answered `unknown`. Each such side (a difference of one term with itself, a
    /// quotient of it by itself less 1, a product with 0, and a cancellation the simplifier
    /// does not see, σ(w) + σ(−w) − 1) is now told apart from a truth that is not 0, shown as
    /// 0, without any climb to the ceiling.
    #[test]
    fn a_claimed_side_zero_by_cancellation_is_incorrect_without_climbing_to_the_ceiling() {
        let seed = [
            "dC/dw3 = 2 a2 a3^2 - 2 a2 a3^2",
            "dC/dw3 = a2*w3 - a2*w3",
            "dC/dw3 = (a2*w3)/(a2*w3) - 1",
            "dC/dw3 = exp(a3) - exp(a3)",
            "dC/dw3 = 0*a2",
            "dC/dw3 = sigmoid(w3) + sigmoid(-w3) - 1",
        ];
        let mazur = [
            "dEtotal/dw5 = outh1*w5 - outh1*w5",
            "dEtotal/dw5 = (outh1*w5)/(outh1*w5) - 1",
            "dEtotal/dw5 = exp(outo1) - exp(outo1)",
            "dEtotal/dw5 = 0*outh1",
            "dEtotal/dw1 = 2 outh1 outo1^2 - 2 outh1 outo1^2",
            "dEtotal/dw1 = sigmoid(w1) + sigmoid(-w1) - 1",
        ];
        let claims = seed.map(|c| (BUILTIN_EXAMPLE, c));
        for (source, claim) in claims.into_iter().chain(mazur.map(|c| (MAZUR, c))) {
            let (checked, climbs) = judged(source, claim);
            assert_eq!(checked.verdict, Verdict::Incorrect, "{claim}: {checked:?}");
            assert_eq!(checked.method, Method::Counterexample, "{claim}");
            assert_eq!(checked.claimed_value, Some(0.0), "{claim}");
            assert!(checked.true_value.is_some_and(|t| t != 0.0), "{claim}");
            assert!(climbs.runs > 0, "{claim}: {climbs:?}");
            assert_eq!(climbs.to_ceiling, 0, "{claim}: {climbs:?}");
            assert!(climbs.raised <= 1, "{claim}: {climbs:?}");
        }
    }

    /// The sign of a cancelled zero is settled at no precision: after a few points that climb
    /// to the ceiling in vain, the others are judged by the working precision's bounds, and
    /// the claim is `unknown`, saying at how many points, at the cost of a few climbs.
    #[test]
    fn a_side_no_precision_settles_costs_a_few_climbs_not_one_a_point() {
        let claim = "dC/dw3 = sgn(sigmoid(w3) + sigmoid(-w3) - 1)";
        let (checked, climbs) = judged(BUILTIN_EXAMPLE, claim);
        assert_eq!(checked.verdict, Verdict::Unknown, "{checked:?}");
        assert!(
            matches!(checked.method, Method::TooFewPoints { unsettled, .. } if unsettled > POINTS),
            "{:?}",
            checked.method
        );
        assert_eq!(climbs.to_ceiling, UNSETTLED_CLIMBS, "{climbs:?}");
    }

    /// Sides that agree only once a cancellation is worked out are still judged equal: the
    /// truth plus a term less itself, plus σ(w) + σ(−w) − 1, and a cancelled zero claimed
    /// to be 0 (both sides known only as 0 to float64's resolution agree, as exact zeros
    /// do), none climbing to the ceiling.
    #[test]
    fn a_claim_equal_to_the_truth_through_a_cancellation_is_correct() {
        let claims = [
            "dC/dw3 = 2(a3 - y) a3(1 - a3) a2 + 2 a2 a3^2 - 2 a2 a3^2",
            "dC/dw3 = 2(a3 - y) a3(1 - a3) a2 + sigmoid(w3) + sigmoid(-w3) - 1",
            "dC/dw3 = 2(a3 - y) a3(1 - a3) a2 + exp(w3) - exp(w3)",
            "sigmoid(w3) + sigmoid(-w3) - 1 = 0",
        ];
        for claim in claims {
            let (checked, climbs) = judged(BUILTIN_EXAMPLE, claim);
            assert_eq!(checked.verdict, Verdict::Correct, "{claim}: {checked:?}");
            assert_eq!(climbs.to_ceiling, 0, "{claim}: {climbs:?}");
        }
    }
}

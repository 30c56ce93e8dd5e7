//! Judging a value claim (`a3 = 0.73`, `f(2) = 0`, a number for a derivative at the `--at`
//! point): the reference at high precision, matched to the digits the claim gives, and for a
//! wrong number what it is instead (float64's rounding, the negative, the value before the
//! activation, another name's value, a truncation).

use crate::analysis::numeric;
use crate::core::diff::Target;
use crate::core::error::{Diagnostic, Input};
use crate::core::eval;
use crate::core::eval::Precise;
use crate::core::expr::{Func, Id, Node, Sym};
use crate::core::model::{Given, SymKind};
use crate::lang::ast::Span;

use super::claims::Subject;
use super::points::{Sample, finite};
use super::{Checked, Checker, Diagnosis, Formulas, Method, Mistake, PRECISION, Verdict};

/// How many parameters an update's formula reads whose new values are tried one by one.
const MOVED_HYPOTHESES: usize = 32;

impl Checker {
    pub(super) fn value_claim(
        &mut self,
        truth: Id,
        claimed: Id,
        digits: Option<(f64, String)>,
        given: &[Given],
        span: Span,
        subject: &Subject,
    ) -> Result<Checked, Diagnostic> {
        let target = match subject {
            Subject::Derivative(target) => Some(*target),
            _ => None,
        };
        // Leaves the claim does not depend on need no value (the target, for `f(2) = 0`).
        let needed = self.leaves_of(&[truth, claimed]);
        let mut given = given.to_vec();
        for s in self.model.syms() {
            if self.model.symbol(s).kind.is_leaf()
                && !needed.contains(&s)
                && !given.iter().any(|g| g.sym == s)
            {
                given.push(Given {
                    sym: s,
                    text: "0".to_string(),
                    value: 0.0,
                });
            }
        }
        let point = numeric::forward(&self.model, &given).map_err(|d| {
            // Say which claim needs the value.
            let mut d = d;
            if d.span.is_none() {
                d.span = Some(span);
                d.label = "a value claim is judged at the given point".into();
            }
            d.about(Input::Point)
        })?;
        let sample = Sample {
            f64: point.f64.clone(),
            precise: point.precise.clone(),
        };
        // Names through their definitions: a stored σ(400) = 1 would make 1 − σ(400) zero.
        let reference_run = eval::eval_reference(
            &self.model.graph,
            &[truth],
            &|s| point.binding(s),
            eval::STABLE_MAX_BITS,
        )
        .ok();
        let unresolved = reference_run
            .as_ref()
            .is_some_and(|r| r.resolutions[0] != eval::Resolution::Converged);
        let reference = reference_run.map(|mut s| s.values.remove(0));
        let claimed_precise = self.precise_at(claimed, &sample);
        let expected = Some(truth);
        let counterexample: Vec<(String, f64)> = given
            .iter()
            .filter(|g| needed.contains(&g.sym))
            .map(|g| (self.model.name(g.sym).to_string(), g.value))
            .collect();
        let mut checked = Checked {
            claim: String::new(),
            verdict: Verdict::Correct,
            method: Method::Value,
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
        if unresolved {
            checked.verdict = Verdict::Unknown;
            checked.method = Method::ValueUnresolved;
            return Ok(checked);
        }
        let (Some(t), Some(k)) = (
            reference.as_ref().and_then(finite),
            claimed_precise.as_ref().and_then(finite),
        ) else {
            checked.verdict = Verdict::Unknown;
            checked.method = Method::ValueNotReal;
            return Ok(checked);
        };
        let matches = |v: f64| claimed_matches(&digits, k, v);
        if matches(t) {
            if let Some((_, unit)) = &digits {
                checked.method = Method::ValueToDigits { unit: unit.clone() };
            } else if let (Some(reference), Some(claimed)) = (&reference, &claimed_precise)
                && !reference.sub(claimed, 4 * PRECISION).is_zero()
            {
                // `a2 = 1` for σ(50): right to 22 digits, and float64 even says exactly 1, but
                // the reader should know it is not.
                checked.method = Method::ValueNotExact {
                    truth: numeric::plain_decimal(&reference.to_decimal_string(25)),
                };
            }
            return Ok(checked);
        }
        checked.verdict = Verdict::Incorrect;
        checked.counterexample = Some(counterexample);
        checked.true_value = Some(t);
        checked.claimed_value = Some(k);
        let float64 = self.f64_at(truth, &sample);
        let mistake = if float64.is_some_and(matches) {
            Mistake::Float64Rounding {
                claimed: k,
                truth: t,
            }
        } else if matches(-t) {
            Mistake::ValueSign { truth: t }
        } else if let Subject::Update(parameter) = *subject
            && let Some(slip) = self.update_rule_slip(parameter, &sample, &matches)
        {
            slip
        } else if let Subject::Update(parameter) = *subject
            && let Some(moved) = self.updated_values_used(parameter, truth, &sample, &matches)
        {
            Mistake::UpdatedValuesUsed { parameter, moved }
        } else if let Some(found) =
            target.and_then(|target| self.value_paths(target, truth, &sample, &matches))
        {
            found
        } else if target.is_some() && (matches(2.0 * t) || matches(t / 2.0)) && t != 0.0 {
            // A number for a derivative twice or half the truth: the cost's ½ convention (after
            // the paths, so that `db/da = 1` for `b = a + a` stays an overwrite).
            Mistake::ConstantFactor {
                ratio: if matches(2.0 * t) { 2.0 } else { 0.5 },
                two_or_half: true,
            }
        } else if let Some(skipped) = self.activation_skipped(&sample, &matches, truth, k, t) {
            skipped
        } else if let Some((name, definition)) = self.name_with_value(&sample, matches, truth) {
            Mistake::ValueOfAnotherName {
                claimed: k,
                truth: t,
                name,
                definition,
            }
        } else {
            truncated_or_wrong(&digits, k, t)
        };
        checked.diagnosis = Some(Diagnosis::of(Some(mistake)));
        Ok(checked)
    }

    /// A number for an update θ' = θ − η ∂C/∂θ whose gradient was taken with some other
    /// parameters already at their new values (the layer after updated first, then its new
    /// weights used in the backward pass), the forward values staying the old ones: the
    /// parameters whose new values explain the number, all of them or one alone.
    fn updated_values_used(
        &mut self,
        parameter: Sym,
        truth: Id,
        sample: &Sample,
        matches: &impl Fn(f64) -> bool,
    ) -> Option<Vec<Sym>> {
        let eta = sample.precise.get(&self.rate)?.clone();
        // The parameters the update's own formula reads (the backward pass's weights), not
        // those it reaches through the forward values only.
        let read: Vec<Sym> = self
            .model
            .graph
            .reachable(&[truth])
            .into_iter()
            .filter_map(|id| match *self.model.graph.node(id) {
                Node::Var(s) if s != parameter && self.model.symbol(s).kind == SymKind::Param => {
                    Some(s)
                }
                _ => None,
            })
            .take(MOVED_HYPOTHESES)
            .collect();
        let mut new_values = Vec::new();
        for &p in &read {
            let gradient = self.gradient(p);
            let step = self.precise_at(gradient, sample)?.mul(&eta, PRECISION);
            let new = sample.precise.get(&p)?.sub(&step, PRECISION);
            new_values.push((p, new));
        }
        let value_with = |this: &Self, moved: &[(Sym, Precise)]| {
            let mut at = sample.clone();
            for (p, v) in moved {
                at.f64.insert(*p, v.to_f64());
                at.precise.insert(*p, v.clone());
            }
            this.precise_at(truth, &at)
                .as_ref()
                .and_then(finite)
                .is_some_and(matches)
        };
        if new_values.len() > 1 && value_with(self, &new_values) {
            return Some(read);
        }
        for (p, v) in &new_values {
            if value_with(self, std::slice::from_ref(&(*p, v.clone()))) {
                return Some(vec![*p]);
            }
        }
        None
    }

    /// A number for a derivative that the chain rule gives only in part: the local gradient
    /// alone (∂y/∂x, 1 for an addition gate) or the upstream gradient alone (∂C/∂y), or the
    /// contribution of only some of the paths at a fork (a gradient overwritten where it
    /// should accumulate), or routed wrongly at a relu or abs gate. Checked against the value
    /// at the point.
    fn value_paths(
        &mut self,
        target: Target,
        truth: Id,
        sample: &Sample,
        matches: &impl Fn(f64) -> bool,
    ) -> Option<Mistake> {
        let value = |this: &Self, id: Id| {
            this.precise_at(id, sample)
                .as_ref()
                .and_then(finite)
                .filter(|v| matches(*v))
                .is_some()
        };
        let path = self.between(target.of, target.wrt);
        // A fork first: with a local gradient of 1 (an addition gate) the upstream gradient
        // alone is also one path's contribution, and the overwrite is the likelier story.
        for &v in &path {
            let users = self.users(v, &path);
            if users.len() < 2 {
                continue;
            }
            for &kept in &users {
                let others: Vec<Sym> = users.iter().copied().filter(|&o| o != kept).collect();
                if let Some((_, only)) = self.cut_derivative(target, v, &others)
                    && value(self, only)
                {
                    return Some(Mistake::OverwrittenAtFork {
                        name: v,
                        users: users.clone(),
                        kept,
                    });
                }
            }
        }
        for (v, user, (occurrences, one_use)) in self.definition_forks(target) {
            if value(self, one_use) {
                return Some(Mistake::OverwrittenInDefinition {
                    name: v,
                    user,
                    occurrences,
                });
            }
        }
        for (variant, gate, share) in self.gate_variants(truth) {
            if value(self, variant) {
                return Some(Mistake::RoutingGate { gate, share });
            }
        }
        for &y in path.iter().rev() {
            if y == target.of || y == target.wrt {
                continue;
            }
            let y_var = self.model.graph_var(y);
            let local = self.derivative(y_var, target.wrt);
            if value(self, local) {
                return Some(Mistake::ChainStopped {
                    at: y,
                    wrt: target.wrt,
                    of: target.of,
                });
            }
            let of_var = self.model.graph_var(target.of);
            let upstream = self.derivative(of_var, y);
            if value(self, upstream) {
                return Some(Mistake::UpstreamOnly {
                    at: y,
                    wrt: target.wrt,
                    of: target.of,
                });
            }
        }
        None
    }

    /// A computed name whose value at the point matches the claim (`z3` claimed for `a3`).
    /// When the claimed name is an activation σ(z) (through aliases like `f = a3`) and the
    /// claim is z's value: the names down to the activation, and the activation.
    fn activation_skipped(
        &self,
        sample: &Sample,
        matches: &impl Fn(f64) -> bool,
        truth: Id,
        claimed: f64,
        true_value: f64,
    ) -> Option<Mistake> {
        let Node::Var(mut s) = *self.model.graph.node(truth) else {
            return None;
        };
        let mut aliases = vec![s];
        for _ in 0..self.model.symbols.len() {
            let def = self.model.definition(s)?;
            match *self.model.graph.node(def) {
                Node::Var(t) => {
                    s = t;
                    aliases.push(t);
                }
                Node::Call(f, arg) if f.prime().is_some() || f == Func::Softplus => {
                    let Node::Var(z) = *self.model.graph.node(arg) else {
                        return None;
                    };
                    let value = *sample.f64.get(&z)?;
                    if !matches(value) {
                        return None;
                    }
                    return Some(Mistake::ValueBeforeActivation {
                        claimed,
                        truth: true_value,
                        aliases,
                        function: f,
                        argument: z,
                        argument_value: value,
                    });
                }
                _ => return None,
            }
        }
        None
    }

    /// A computed name whose value matches the claim, with its definition.
    fn name_with_value(
        &self,
        sample: &Sample,
        matches: impl Fn(f64) -> bool,
        truth: Id,
    ) -> Option<(Sym, Option<Id>)> {
        // Computed names the claimed quantity depends on, nearest first (z3 before a2 for a
        // claim about a3), then the others.
        let truth_name = match self.model.graph.node(truth) {
            Node::Var(s) => Some(*s),
            _ => None,
        };
        let down = truth_name.map(|t| self.down_set(t)).unwrap_or_default();
        let upstream = |s: Sym| down.contains(&s);
        let mut names: Vec<Sym> = self
            .model
            .order
            .iter()
            .rev()
            .copied()
            .filter(|&s| upstream(s))
            .collect();
        names.extend(
            self.model
                .order
                .iter()
                .rev()
                .copied()
                .filter(|&s| !upstream(s)),
        );
        names
            .into_iter()
            .filter(|&s| self.model.graph_var(s) != truth)
            .find(|s| sample.f64.get(s).copied().is_some_and(&matches))
            .map(|s| (s, self.model.definition(s)))
    }
}

/// Whether `value` is what a claim of `claimed` says: a claim with d decimals (`digits`: the
/// unit of its last digit, and that unit as written) matches a value that rounds to it, one
/// without digits matches to float64's precision.
pub(super) fn claimed_matches(digits: &Option<(f64, String)>, claimed: f64, value: f64) -> bool {
    match digits {
        Some((unit, _)) => (value - claimed).abs() <= unit / 2.0 * (1.0 + 1e-9),
        None => {
            (value - claimed).abs() <= 1e-9 * value.abs().max(claimed.abs())
                || (value == 0.0 && claimed == 0.0)
        }
    }
}

/// The last reading of a wrong number: the truth cut short at the digits the claim gives
/// (`0.7310` for 0.73105…), or simply a wrong value.
pub(super) fn truncated_or_wrong(
    digits: &Option<(f64, String)>,
    claimed: f64,
    truth: f64,
) -> Mistake {
    match digits {
        Some((unit, _))
            if (truth - claimed).abs() < *unit
                && claimed.abs() < truth.abs()
                && claimed * truth > 0.0 =>
        {
            let decimals = (-unit.log10().round()).max(0.0) as usize;
            Mistake::Truncated { truth, decimals }
        }
        _ => Mistake::WrongValue { claimed, truth },
    }
}

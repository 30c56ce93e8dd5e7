//! Judging a number claimed for a parameter after several steps of gradient descent
//! (`w3'' = 0.2854`): the descent `step --steps k` runs from the `--at` point with η from
//! `--at eta=…`, the same data point each step, matched to the digits the claim gives; for a
//! wrong number, whether each step after the first reused the previous step's gradient.

use crate::analysis::descent;
use crate::core::error::{Diagnostic, Input};
use crate::core::expr::{Id, Num, Sym};
use crate::lang::ast::Span;

use super::points::{Sample, finite};
use super::values::{claimed_matches, truncated_or_wrong};
use super::{Checked, Checker, Diagnosis, Formulas, Method, Mistake, Verdict};

impl Checker {
    pub(super) fn steps_claim(
        &mut self,
        parameter: Sym,
        steps: usize,
        claimed: Id,
        digits: Option<(f64, String)>,
        span: Span,
    ) -> Result<Checked, Diagnostic> {
        let name = self.model.name(parameter).to_string();
        let Some(eta) = self
            .given
            .iter()
            .find(|g| g.sym == self.rate)
            .map(|g| g.value)
        else {
            return Err(Diagnostic::at(
                span,
                format!("`{name}` after {steps} steps needs a learning rate"),
                "the value after several steps depends on η",
            )
            .with_help("give it with the point, e.g. `…,eta=0.5`")
            .about(Input::Point));
        };
        if !(eta.is_finite() && eta > 0.0) {
            let rate = self.model.name(self.rate);
            return Err(Diagnostic::at(
                span,
                format!("gradient descent needs a positive learning rate, and `{rate}` is {eta}"),
                "the value after several steps is computed with it",
            )
            .with_help(format!(
                "give a small positive rate with the point, e.g. `…,{rate}=0.5`"
            ))
            .about(Input::Point));
        }
        let given = self.given.clone();
        let at_claim = |mut d: Diagnostic| {
            if d.span.is_none() {
                d.span = Some(span);
                d.label = "steps of gradient descent start at the given point".into();
            }
            d.about(Input::Point)
        };
        let run = descent::descend(&mut self.model, &given, eta, steps).map_err(at_claim)?;
        let counterexample: Vec<(String, f64)> = given
            .iter()
            .map(|g| (self.model.name(g.sym).to_string(), g.value))
            .collect();
        let mut checked = Checked {
            claim: String::new(),
            verdict: Verdict::Correct,
            method: Method::Descent { steps },
            counterexample: None,
            matrix_counterexample: None,
            claimed_value: None,
            true_value: None,
            diagnosis: None,
            corrected: None,
            expected: None,
            formulas: Formulas::default(),
            unreadable: None,
            shape: None,
        };
        let truth = run
            .steps
            .get(steps - 1)
            .and_then(|step| step.params_after.iter().find(|(p, _)| *p == parameter))
            .map(|&(_, v)| v)
            .filter(|v| v.is_finite());
        let no_point = Sample {
            f64: Default::default(),
            precise: Default::default(),
        };
        let claimed_value = self
            .precise_at(claimed, &no_point)
            .as_ref()
            .and_then(finite);
        let (Some(t), Some(k)) = (truth, claimed_value) else {
            checked.verdict = Verdict::Unknown;
            checked.method = Method::DescentNotReal { steps };
            return Ok(checked);
        };
        // As for other value claims (the descent is float64's).
        let matches = |v: f64| claimed_matches(&digits, k, v);
        if matches(t) {
            if let Some((_, unit)) = &digits {
                checked.method = Method::DescentToDigits {
                    steps,
                    unit: unit.clone(),
                };
            }
            return Ok(checked);
        }
        checked.verdict = Verdict::Incorrect;
        checked.counterexample = Some(counterexample);
        checked.true_value = Some(t);
        checked.claimed_value = Some(k);
        checked.corrected = Some(self.model.graph.num(Num::Float(t)));
        let stale = descent::descend_with_stale_gradient(&mut self.model, &given, eta, steps)
            .map_err(at_claim)?
            .and_then(|after| after.into_iter().find(|(p, _)| *p == parameter))
            .map(|(_, v)| v);
        let mistake = if stale.is_some_and(matches) {
            Mistake::StaleGradient {
                parameter,
                steps,
                truth: t,
            }
        } else if matches(-t) {
            Mistake::ValueSign { truth: t }
        } else {
            truncated_or_wrong(&digits, k, t)
        };
        checked.diagnosis = Some(Diagnosis::of(Some(mistake)));
        Ok(checked)
    }
}

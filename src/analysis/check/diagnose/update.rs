//! Mistakes in an update rule: ascent for descent, the learning rate missing, the change
//! written for the new value; otherwise the gradient the rule uses, diagnosed as a derivative.

use crate::core::diff::Target;
use crate::core::expr::{Id, Sym};

use super::{Found, Screen};
use crate::analysis::check::Checker;
use crate::analysis::check::Mistake;
use crate::analysis::check::points::Sample;

impl Checker {
    pub(super) fn diagnose_update(
        &mut self,
        screen: &Screen,
        theta: Sym,
        claimed: Id,
        shown: &Sample,
    ) -> Option<Found> {
        let gradient = self.gradient(theta);
        let g = &mut self.model.graph;
        let theta_var = g.var(theta);
        let eta = g.var(self.rate);
        let step = g.product(vec![eta, gradient]);
        let ascent = g.sum(vec![theta_var, step]);
        let no_rate = g.sub(theta_var, gradient);
        let neg_step = g.neg(step);
        let cost = self.model.cost;
        if self.fits_everywhere(screen, ascent, true) {
            // At the point the reader is shown (the `--at` point when given).
            let cost_before_after = self.ascent_raises_cost(shown, theta, gradient);
            let mistake = Mistake::Ascent {
                parameter: theta,
                cost,
                cost_before_after,
            };
            return Some((mistake, None));
        }
        if self.fits_everywhere(screen, no_rate, true) {
            let mistake = Mistake::MissingLearningRate {
                parameter: theta,
                cost,
            };
            return Some((mistake, None));
        }
        if self.fits_everywhere(screen, neg_step, true) {
            let mistake = Mistake::ChangeForNewValue {
                parameter: theta,
                cost,
            };
            return Some((mistake, None));
        }
        // The gradient the claim uses: (θ − θ')/η, diagnosed as a derivative claim.
        let g = &mut self.model.graph;
        let difference = g.sub(theta_var, claimed);
        let claimed_gradient = g.div(difference, eta);
        let inner_screen = Screen {
            samples: screen.samples.clone(),
            claimed: screen
                .samples
                .iter()
                .map(|s| self.f64_at(claimed_gradient, s).unwrap_or(f64::NAN))
                .collect(),
            truth: screen
                .samples
                .iter()
                .map(|s| self.f64_at(gradient, s).unwrap_or(f64::NAN))
                .collect(),
        };
        if inner_screen
            .claimed
            .iter()
            .chain(&inner_screen.truth)
            .any(|v| !v.is_finite())
        {
            return None;
        }
        let target = Target {
            of: self.model.cost,
            wrt: theta,
        };
        let inner = self.diagnose_derivative(&inner_screen, target, gradient, claimed_gradient);
        match inner {
            // A finding about the gradient as such (a factor, a path, a sign).
            Some((mistake, None)) => Some((Mistake::InUpdateGradient(Box::new(mistake)), None)),
            // An edit of (θ − θ')/η is an edit of a formula nobody wrote: edit the rule
            // itself instead.
            _ => self.single_edit(screen, claimed),
        }
    }

    /// Cost before and after a small step of the ascent rule, at a sample.
    pub(super) fn ascent_raises_cost(
        &self,
        sample: &Sample,
        theta: Sym,
        gradient: Id,
    ) -> Option<(f64, f64)> {
        let g = self.f64_at(gradient, sample)?;
        let cost = *sample.f64.get(&self.model.cost)?;
        let theta_value = *sample.f64.get(&theta)?;
        let eta = 1e-3 / g.abs().max(1e-12);
        let leaves: Vec<(Sym, f64)> = sample
            .f64
            .iter()
            .filter(|(s, _)| self.model.definition(**s).is_none())
            .map(|(&s, &v)| (s, if s == theta { theta_value + eta * g } else { v }))
            .collect();
        let after = self.sample(&leaves)?;
        let after_cost = *after.f64.get(&self.model.cost)?;
        (after_cost > cost).then_some((cost, after_cost))
    }
}

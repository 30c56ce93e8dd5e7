//! Mistakes in an update rule: ascent for descent, the learning rate missing, the change
//! written for the new value; otherwise the gradient the rule uses, diagnosed as a derivative.

use crate::analysis::numeric;
use crate::core::diff::Target;
use crate::core::expr::{Id, Sym};

use super::{Screen, lowercase_first};
use crate::analysis::check::Checker;
use crate::analysis::check::points::Sample;

impl Checker {
    pub(super) fn diagnose_update(
        &mut self,
        screen: &Screen,
        theta: Sym,
        claimed: Id,
    ) -> Option<(String, Option<Id>)> {
        let gradient = self.gradient(theta);
        let g = &mut self.model.graph;
        let theta_var = g.var(theta);
        let eta = g.var(self.rate);
        let step = g.product(vec![eta, gradient]);
        let ascent = g.sum(vec![theta_var, step]);
        let no_rate = g.sub(theta_var, gradient);
        let neg_step = g.neg(step);
        let name = self.model.name(theta).to_string();
        let cost = self.model.name(self.model.cost).to_string();
        if self.fits_everywhere(screen, ascent, true) {
            let confirmed = self.ascent_raises_cost(&screen.samples[0], theta, gradient);
            return Some((
                format!(
                    "Gradient ascent written for descent: {name} + η·∂{cost}/∂{name} moves uphill; descent subtracts the gradient, {name} − η·∂{cost}/∂{name}.{}",
                    confirmed
                        .map(|(before, after)| format!(
                            " A small step of the claimed rule raises the cost from {} to {}.",
                            numeric::float(before),
                            numeric::float(after)
                        ))
                        .unwrap_or_default()
                ),
                None,
            ));
        }
        if self.fits_everywhere(screen, no_rate, true) {
            return Some((
                format!(
                    "The learning rate is missing: the step is η·∂{cost}/∂{name}, not ∂{cost}/∂{name} alone."
                ),
                None,
            ));
        }
        if self.fits_everywhere(screen, neg_step, true) {
            return Some((
                format!(
                    "This is the change Δ{name} = −η·∂{cost}/∂{name}, not the new value {name} − η·∂{cost}/∂{name}."
                ),
                None,
            ));
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
            Some((sentence, None)) => Some((
                format!(
                    "In the gradient the rule uses, {}",
                    lowercase_first(&sentence)
                ),
                None,
            )),
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

//! Mistakes in an update rule: ascent for descent, the learning rate missing, the change
//! written for the new value; otherwise the gradient the rule uses, diagnosed as a derivative.

use crate::core::diff::Target;
use crate::core::expr::{Id, Node, Sym};
use crate::core::model::SymKind;
use crate::core::simplify;

use super::{Found, Screen};
use crate::analysis::check::Checker;
use crate::analysis::check::Mistake;
use crate::analysis::check::points::Sample;
use crate::core::eval::Precise;

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
        // `b' = b`: the parameter left out of the update.
        if self.fits_everywhere(screen, theta_var, true) {
            return Some((Mistake::NotUpdated { parameter: theta }, None));
        }
        if let Some(decay) = self.weight_decay_rate()
            && self.model.graph.as_num(gradient).is_none()
        {
            // θ − η(∂C/∂θ + kθ) for a θ the regulariser leaves alone (a bias).
            let g = &mut self.model.graph;
            let decayed = g.product(vec![eta, decay, theta_var]);
            let rule = g.sub(theta_var, step);
            let candidate = g.sub(rule, decayed);
            let regularised = self.regulariser_gradient(theta);
            if regularised.is_none() && self.fits_everywhere(screen, candidate, true) {
                return Some((Mistake::BiasDecayed { parameter: theta }, None));
            }
        }
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
        let inner = self
            .diagnose_derivative(&inner_screen, target, gradient, claimed_gradient)
            .into_iter()
            .next();
        match inner {
            // A finding about the gradient as such (a factor, a path, a sign).
            Some((mistake, None)) => Some((Mistake::InUpdateGradient(Box::new(mistake)), None)),
            // An edit of (θ − θ')/η is an edit of a formula nobody wrote: edit the rule
            // itself instead.
            _ => self.single_edit(screen, claimed).into_iter().next(),
        }
    }

    /// The regulariser's gradient with respect to θ, when the cost has a term without targets
    /// (a regulariser) that depends on θ.
    fn regulariser_gradient(&mut self, theta: Sym) -> Option<Id> {
        let def = self.model.definition(self.model.cost)?;
        let Node::Add(terms) = self.model.graph.node(def).clone() else {
            return None;
        };
        for &term in terms.iter() {
            if self.mentions_kind(term, SymKind::Target) {
                continue;
            }
            let part = self.derivative(term, theta);
            if !self.model.graph.as_num(part).is_some_and(|n| n.is_zero()) {
                return Some(part);
            }
        }
        None
    }

    /// The weight decay k of an L2 regulariser, whose gradient is k·w for each weight w it
    /// covers (λ/n for λ/(2n)·Σw²).
    fn weight_decay_rate(&mut self) -> Option<Id> {
        let params: Vec<Sym> = self.model.params().collect();
        for w in params {
            if let Some(part) = self.regulariser_gradient(w) {
                let g = &mut self.model.graph;
                let w_var = g.var(w);
                let rate = g.div(part, w_var);
                let rate = simplify::simplify(g, rate, &simplify::Options::default());
                if !g.mentions(rate, w) {
                    return Some(rate);
                }
            }
        }
        None
    }

    /// A number for an update θ' that a slip in the rule explains at the point: ascent
    /// (θ + η ∂C/∂θ), the learning rate left out (θ − ∂C/∂θ), or the change −η ∂C/∂θ for the
    /// new value; the same readings as for an update written as a formula.
    pub(in crate::analysis::check) fn update_rule_slip(
        &mut self,
        theta: Sym,
        sample: &Sample,
        matches: &impl Fn(f64) -> bool,
    ) -> Option<Mistake> {
        let gradient = self.gradient(theta);
        let gradient_value = self.precise_at(gradient, sample)?;
        let theta_value = sample.precise.get(&theta)?;
        let eta = sample.precise.get(&self.rate)?;
        let precision = crate::analysis::check::PRECISION;
        let step = gradient_value.mul(eta, precision);
        let cost = self.model.cost;
        let holds = |v: Precise| crate::analysis::check::points::finite(&v).is_some_and(matches);
        if holds(theta_value.add(&step, precision)) {
            let cost_before_after = self.ascent_raises_cost(sample, theta, gradient);
            return Some(Mistake::Ascent {
                parameter: theta,
                cost,
                cost_before_after,
            });
        }
        if holds(theta_value.sub(&gradient_value, precision)) {
            return Some(Mistake::MissingLearningRate {
                parameter: theta,
                cost,
            });
        }
        if holds(step.neg()) {
            return Some(Mistake::ChangeForNewValue {
                parameter: theta,
                cost,
            });
        }
        None
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

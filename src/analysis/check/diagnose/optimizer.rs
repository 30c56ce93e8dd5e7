//! Mistakes in an optimizer's update rule, each a hypothesis about what the claim equals: the
//! decay β and 1 − β swapped, β₁ written for β₂ (or back), a second moment of the gradient
//! rather than its square, the bias correction left out (or its power t), ε inside the square
//! root rather than outside, weight decay applied to a bias, and Nesterov's slips: momentum's
//! step written for Nesterov's, the look-ahead term left out, μ and 1 − μ swapped in it. Then,
//! as for any formula, a sign, a constant factor or a one-symbol edit.

use crate::analysis::check::claims::Subject;
use crate::analysis::check::optimizer::{Hyper, Moment, OptimizerName, StateName, VelocityRule};
use crate::analysis::check::{Checker, Edit, Mistake};
use crate::core::expr::{Id, Sym};

use super::{Found, Screen};

impl Checker {
    pub(super) fn diagnose_optimizer(
        &mut self,
        screen: &Screen,
        subject: &Subject,
        claimed: Id,
    ) -> Vec<Found> {
        let mut found: Vec<Found> = match *subject {
            Subject::OptimizerState(state) if state.corrected => {
                self.correction_slips(screen, state, claimed)
            }
            Subject::OptimizerState(state) => self.average_slips(screen, state, claimed),
            Subject::OptimizerUpdate(theta) => self.update_slips(screen, theta, claimed),
            _ => Vec::new(),
        };
        // A generic edit of the same kind as a slip found restates it.
        let generic = self.diagnose_formula(screen, claimed);
        let codes: Vec<&str> = found.iter().map(|(m, _)| m.code()).collect();
        let generic: Vec<Found> = generic
            .into_iter()
            .filter(|(m, _)| !codes.contains(&m.code()))
            .collect();
        found.extend(generic);
        found
    }

    /// `s ← βs + (1 − β)g²` written with β and 1 − β swapped, with the other moment's decay,
    /// or with g for g².
    fn average_slips(&mut self, screen: &Screen, state: StateName, claimed: Id) -> Vec<Found> {
        let moment = self.optimizer.moment(state);
        let decay = self.decay_for(moment, state.letter, claimed);
        let d = self.hyper(decay);
        let state_sym = self.state_sym(state, false);
        let previous = self.model.graph.var(state_sym);
        let signal = self.signal(moment, state.param);
        let decay_sym = self.hyper_sym(decay);
        let mut found = Vec::new();
        let g = &mut self.model.graph;
        let one = g.int(1);
        let rest = g.sub(one, d);
        let swapped = self.average(rest, previous, signal);
        if self.fits_everywhere(screen, swapped, true) {
            found.push((
                Mistake::DecaySwapped {
                    state: state_sym,
                    decay: decay_sym,
                    lookahead: false,
                },
                None,
            ));
        }
        let other = Self::other_decay(decay);
        let other_d = self.hyper(other);
        let with_other = self.average(other_d, previous, signal);
        if self.fits_everywhere(screen, with_other, true) {
            let written = self.hyper_sym(other);
            found.push((
                Mistake::WrongDecay {
                    state: state_sym,
                    written,
                    should_be: decay_sym,
                },
                None,
            ));
        }
        if moment == Moment::Second {
            let gradient = self.gradient(state.param);
            let unsquared = self.average(d, previous, gradient);
            if self.fits_everywhere(screen, unsquared, true) {
                found.push((Mistake::GradientNotSquared { state: state_sym }, None));
            }
        }
        found
    }

    /// `m̂ = m/(1 − β₁ᵗ)` written as `m` or as `m/(1 − β₁)`.
    fn correction_slips(&mut self, screen: &Screen, state: StateName, claimed: Id) -> Vec<Found> {
        let moment = self.optimizer.moment(state);
        let decay = self.decay_for(moment, state.letter, claimed);
        let d = self.hyper(decay);
        let raw_sym = self.state_sym(state, false);
        let raw = self.model.graph.var(raw_sym);
        let g = &mut self.model.graph;
        let one = g.int(1);
        let rest = g.sub(one, d);
        let without_power = g.div(raw, rest);
        let mut found = Vec::new();
        for (candidate, power_dropped) in [(raw, false), (without_power, true)] {
            if self.fits_everywhere(screen, candidate, true) {
                found.push((
                    Mistake::BiasCorrectionMissing {
                        moments: vec![raw_sym],
                        power_dropped,
                    },
                    None,
                ));
            }
        }
        found
    }

    /// An update rule with ε inside the square root, a moment left uncorrected, Nesterov's
    /// slips, or a bias decayed.
    fn update_slips(&mut self, screen: &Screen, theta: Sym, claimed: Id) -> Vec<Found> {
        let velocity = self.velocity_rule(theta, claimed);
        let mut found = match &velocity {
            Some(rule) => self.nesterov_slips(screen, theta, claimed, rule),
            None => self.adaptive_slips(screen, theta, claimed),
        };
        if self.spares_decay(theta)
            && self.mentions_optimizer_name(claimed, OptimizerName::Hyper(Hyper::Decay))
        {
            let moved = self.optimizer_move(theta, claimed, false, [false, false]);
            let rule = self.optimizer_update(theta, moved, claimed, true);
            if self.fits_everywhere(screen, rule, true) {
                found.push((Mistake::BiasDecayed { parameter: theta }, None));
            }
        }
        found
    }

    /// Nesterov asked for and momentum's step written (the gradient at the current point, not
    /// the look-ahead one), the look-ahead term left out, μ and 1 − μ swapped in it, or its
    /// sign flipped.
    fn nesterov_slips(
        &mut self,
        screen: &Screen,
        theta: Sym,
        claimed: Id,
        rule: &VelocityRule,
    ) -> Vec<Found> {
        if !rule.nesterov {
            return Vec::new();
        }
        let velocity = rule.velocity;
        let decay = rule.decay;
        let lookahead = rule.moves.lookahead;
        let behind = self.model.graph.neg(lookahead);
        let slips = [
            (
                rule.moves.momentum,
                Mistake::MomentumForNesterov {
                    parameter: theta,
                    velocity,
                },
            ),
            (
                rule.moves.without_lookahead,
                Mistake::LookAheadMissing {
                    parameter: theta,
                    velocity,
                    decay,
                },
            ),
            (
                rule.moves.swapped,
                Mistake::DecaySwapped {
                    state: velocity,
                    decay,
                    lookahead: true,
                },
            ),
            (
                rule.moves.flipped,
                Mistake::Edit {
                    written: behind,
                    should_be: lookahead,
                    edit: Edit::TermSign,
                },
            ),
        ];
        let mut found = Vec::new();
        for (moved, mistake) in slips {
            let candidate = self.optimizer_update(theta, moved, claimed, false);
            if self.fits_everywhere(screen, candidate, true) {
                found.push((mistake, None));
            }
        }
        found
    }

    /// RMSProp's and Adam's rules with ε inside the square root or a moment left uncorrected.
    fn adaptive_slips(&mut self, screen: &Screen, theta: Sym, claimed: Id) -> Vec<Found> {
        let mut found = Vec::new();
        let moved = self.optimizer_move(theta, claimed, true, [false, false]);
        let rule = self.optimizer_update(theta, moved, claimed, false);
        let eps = self.hyper_sym(Hyper::Eps);
        if self.mentions_optimizer_name(claimed, OptimizerName::Hyper(Hyper::Eps))
            && self.fits_everywhere(screen, rule, true)
        {
            found.push((
                Mistake::EpsilonInsideRoot {
                    parameter: theta,
                    epsilon: eps,
                },
                None,
            ));
        }
        // Both moments uncorrected first: the usual slip writes the raw m and v.
        for uncorrected in [[true, true], [true, false], [false, true]] {
            let moved = self.optimizer_move(theta, claimed, false, uncorrected);
            let rule = self.optimizer_update(theta, moved, claimed, false);
            if self.fits_everywhere(screen, rule, true) {
                let moments = self.uncorrected_moments(theta, claimed, uncorrected);
                if !moments.is_empty() {
                    found.push((
                        Mistake::BiasCorrectionMissing {
                            moments,
                            power_dropped: false,
                        },
                        None,
                    ));
                    break;
                }
            }
        }
        found
    }

    /// The raw moment names of θ the claim uses that `uncorrected` leaves uncorrected (none
    /// where the claim names the corrected moment, which needs no correction).
    fn uncorrected_moments(&mut self, theta: Sym, claimed: Id, uncorrected: [bool; 2]) -> Vec<Sym> {
        let mut out = Vec::new();
        for name in self.optimizer_names_in(claimed) {
            if let OptimizerName::State(state) = name
                && state.param == theta
                && !state.corrected
            {
                let slot = match self.optimizer.moment(state) {
                    Moment::First => 0,
                    Moment::Second => 1,
                };
                let s = self.state_sym(state, false);
                if uncorrected[slot] && !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out.sort();
        out
    }

    fn mentions_optimizer_name(&self, claimed: Id, name: OptimizerName) -> bool {
        self.optimizer_names_in(claimed).contains(&name)
    }

    fn state_sym(&mut self, state: StateName, corrected: bool) -> Sym {
        self.optimizer_symbol(OptimizerName::State(StateName { corrected, ..state }))
    }

    fn hyper_sym(&mut self, h: Hyper) -> Sym {
        self.optimizer_symbol(OptimizerName::Hyper(h))
    }
}

//! Mistakes of one chain-rule factor: a factor missing or extra (σ' kept where cross-entropy
//! cancels it), and an activation written where its derivative belongs; with the candidate
//! factors a chain-rule product along the path may have.

use crate::core::diff::Target;
use crate::core::expr::{FastSet, Func, Id, Node};

use super::{Found, Screen};
use crate::analysis::check::Checker;
use crate::analysis::check::{FactorRole, Mistake};

impl Checker {
    /// One chain-rule factor (a name, an activation derivative, a local derivative) missing
    /// from the claim or extra in it.
    pub(super) fn factor(
        &mut self,
        screen: &Screen,
        target: Target,
        truth: Id,
        claimed: Id,
    ) -> Option<Found> {
        let factors = self.candidate_factors(target);
        let cross_entropy = self.cost_has_log();
        // The factor may be wrong in the whole derivative, or in one term of the cost's (the
        // data term, beside a regulariser that is right).
        let mut parts: Vec<(Option<Id>, Id, Option<Id>)> = vec![(None, truth, None)];
        if target.of == self.model.cost
            && let Some(def) = self.model.definition(self.model.cost)
            && let Node::Add(terms) = self.model.graph.node(def).clone()
        {
            for &term in terms.iter() {
                let part = self.derivative(term, target.wrt);
                if self.model.graph.as_num(part).is_some_and(|n| n.is_zero()) || part == truth {
                    continue;
                }
                let rest = self.model.graph.sub(truth, part);
                parts.push((Some(rest), part, Some(term)));
            }
        }
        for (factor, role) in factors {
            let is_activation_prime = matches!(
                self.model.graph.node(factor),
                Node::Call(Func::SigmoidPrime, _)
            );
            // ∂a/∂z of an output whose log the cost takes: the softmax's a(1 − a) under the
            // log-likelihood cost, cancelled as σ' is by cross-entropy.
            let cancelled_local = match role {
                FactorRole::Local { of, wrt } if cross_entropy && self.cost_takes_log_of(of) => {
                    Some((of, wrt))
                }
                _ => None,
            };
            for &(rest, part, term) in &parts {
                let g = &mut self.model.graph;
                let mut extra = g.product(vec![part, factor]);
                // Missing F: the claim's part times F is the true part (a product, not a
                // quotient, so that relu'(z) = 0 at some points does not divide by zero).
                let claimed_part = match rest {
                    Some(rest) => {
                        let negated = g.neg(rest);
                        g.sum(vec![claimed, negated])
                    }
                    None => claimed,
                };
                let completed = g.product(vec![claimed_part, factor]);
                if let Some(rest) = rest {
                    extra = g.sum(vec![rest, extra]);
                }
                if self.fits_everywhere(screen, extra, true) {
                    if cross_entropy && is_activation_prime || cancelled_local.is_some() {
                        let local = cancelled_local;
                        return Some((Mistake::SigmaPrimeKept { factor, local }, None));
                    }
                    let mistake = Mistake::ExtraFactor {
                        factor,
                        role,
                        within: term,
                    };
                    return Some((mistake, None));
                }
                if self.nonzero_at_least(screen, factor, 3)
                    && self.fits_formulas(screen, completed, part)
                {
                    let mistake = Mistake::MissingFactor {
                        factor,
                        role,
                        within: term,
                    };
                    return Some((mistake, None));
                }
            }
        }
        None
    }

    /// The factors a chain-rule product along the path may have: the names, each activation's
    /// derivative at its argument, each local derivative.
    pub(super) fn candidate_factors(&mut self, target: Target) -> Vec<(Id, FactorRole)> {
        let path = self.between(target.of, target.wrt);
        let nearby = self.nearby.clone();
        let mut out: Vec<(Id, FactorRole)> = Vec::new();
        let mut seen: FastSet<Id> = FastSet::default();
        let mut push = |out: &mut Vec<(Id, FactorRole)>, id: Id, d: FactorRole| {
            if seen.insert(id) {
                out.push((id, d));
            }
        };
        // Activation derivatives first: σ'(z) is the factor most often dropped or kept.
        for &s in &nearby {
            if let Some(def) = self.model.definition(s)
                && let Node::Call(f, arg) = *self.model.graph.node(def)
                && let Some(prime) = f.prime()
            {
                let id = self.model.graph.call(prime, arg);
                let d = FactorRole::ActivationDerivative {
                    name: s,
                    definition: def,
                };
                push(&mut out, id, d);
            }
        }
        for &u in &path {
            let Some(def) = self.model.definition(u) else {
                continue;
            };
            for &v in &path {
                if u == v || !self.model.graph.mentions(def, v) {
                    continue;
                }
                let local = self.derivative(def, v);
                if self.model.graph.as_num(local).is_some() {
                    continue;
                }
                push(&mut out, local, FactorRole::Local { of: u, wrt: v });
                // Its factors on their own: the inner derivative (1 − 2y) of softplus((1 − 2y)z).
                if let Node::Mul(factors) = self.model.graph.node(local).clone() {
                    for f in factors.iter().copied() {
                        if self.model.graph.as_num(f).is_none() {
                            push(&mut out, f, FactorRole::PartOfLocal { of: u, wrt: v });
                        }
                    }
                }
            }
        }
        for &s in &nearby {
            let id = self.model.graph_var(s);
            push(&mut out, id, FactorRole::Name(s));
        }
        out
    }

    /// An activation written where its derivative belongs: `h1` (= relu(z1)) for relu'(z1),
    /// `σ(z)` for σ'(z), softplus for its derivative σ.
    pub(super) fn activation_for_derivative(
        &mut self,
        screen: &Screen,
        claimed: Id,
    ) -> Option<Found> {
        let nodes = self.model.graph.reachable(&[claimed]);
        for node in nodes {
            let (f, arg) = match *self.model.graph.node(node) {
                Node::Var(s) => match self.model.definition(s).map(|d| self.model.graph.node(d)) {
                    Some(&Node::Call(f, arg)) => (f, arg),
                    _ => continue,
                },
                Node::Call(f, arg) => (f, arg),
                _ => continue,
            };
            let derivative = match f {
                Func::Softplus => Func::Sigmoid,
                other => match other.prime() {
                    Some(p) => p,
                    None => continue,
                },
            };
            let replacement = self.model.graph.call(derivative, arg);
            let replaced = self.model.graph.replace(claimed, node, replacement);
            let candidate = replaced;
            if self.fits_everywhere(screen, candidate, false) {
                let mistake = Mistake::ActivationForDerivative {
                    written: node,
                    should_be: replacement,
                };
                return Some((mistake, Some(candidate)));
            }
        }
        None
    }
}

//! Mistakes about the cost's terms: a term left out of the derivative, or a regulariser's
//! gradient with the wrong factor (λ/n against λ/2n).

use crate::core::diff::Target;
use crate::core::expr::{FastSet, Id, Node, Num};
use crate::core::model::SymKind;

use super::{Found, Screen};
use crate::analysis::check::Checker;
use crate::analysis::check::FITS;
use crate::analysis::check::Mistake;

impl Checker {
    /// A term of the cost left out, or its factor wrong (the regulariser's λ/n against λ/2n).
    pub(super) fn cost_term(&mut self, screen: &Screen, target: Target) -> Option<Found> {
        if target.of != self.model.cost {
            return None;
        }
        let def = self.model.definition(self.model.cost)?;
        let Node::Add(terms) = self.model.graph.node(def).clone() else {
            return None;
        };
        let full = {
            let c = self.model.graph_var(self.model.cost);
            self.derivative(c, target.wrt)
        };
        for &term in terms.iter() {
            let part = self.derivative(term, target.wrt);
            if self.model.graph.as_num(part).is_some_and(|n| n.is_zero()) {
                continue;
            }
            let regulariser = self.is_regulariser(term);
            // claim = full − part, compared with the sizes of full and part in view (a large
            // λw/n taken from a large full leaves a small difference with few digits).
            let left_out = screen
                .samples
                .iter()
                .zip(&screen.claimed)
                .all(
                    |(sample, &k)| match (self.f64_at(full, sample), self.f64_at(part, sample)) {
                        (Some(f), Some(p)) => {
                            (f - p - k).abs() <= FITS * (f.abs() + p.abs() + k.abs())
                        }
                        _ => false,
                    },
                );
            if left_out {
                let mistake = Mistake::MissingCostTerm {
                    term,
                    gradient: part,
                    regulariser,
                };
                return Some((mistake, None));
            }
            if !regulariser {
                continue;
            }
            for (factor, twice) in [(Num::int(2), true), (Num::ratio(1, 2), false)] {
                let g = &mut self.model.graph;
                let c = g.num(factor.add(Num::int(-1)));
                let extra = g.product(vec![c, part]);
                let candidate = g.sum(vec![full, extra]);
                if self.fits_everywhere(screen, candidate, true) {
                    let mistake = Mistake::RegulariserFactor {
                        term,
                        gradient: part,
                        twice,
                    };
                    return Some((mistake, None));
                }
            }
        }
        None
    }

    /// Whether a term of the cost is a regulariser: a penalty on parameters, without targets
    /// (`λ/(2n)·w²`); a term of inputs alone (`x` in `y = x + x²`) is not one.
    pub(super) fn is_regulariser(&self, term: Id) -> bool {
        !self.mentions_kind(term, SymKind::Target) && self.mentions_kind(term, SymKind::Param)
    }

    pub(super) fn mentions_kind(&self, id: Id, kind: SymKind) -> bool {
        let mut stack = vec![id];
        let mut seen: FastSet<Id> = FastSet::default();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            for r in self.model.graph.reachable(&[n]) {
                if let Node::Var(s) = self.model.graph.node(r) {
                    if self.model.symbol(*s).kind == kind {
                        return true;
                    }
                    if let Some(d) = self.model.definition(*s) {
                        stack.push(d);
                    }
                }
            }
        }
        false
    }
}

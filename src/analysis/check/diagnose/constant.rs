//! A sign or a constant factor: the claim is c times the truth at every point (the −1 from
//! differentiating y − a inside a square, the ½ convention of the quadratic cost).

use crate::core::expr::{FastSet, Func, Graph, Id, Node};
use crate::core::model::SymKind;

use super::Screen;
use super::approximate_ratio;
use crate::analysis::check::Checker;
use crate::analysis::check::points::fits;

impl Checker {
    pub(super) fn sign_or_constant(&mut self, screen: &Screen) -> Option<(String, Option<Id>)> {
        let first = Self::constant_of(screen)?;
        if fits(first, -1.0) {
            let why = if self.cost_squares_a_difference() {
                "a minus sign dropped, most often the −1 from differentiating y − a inside the square"
            } else {
                "a minus sign dropped or a difference written the wrong way round"
            };
            return Some((
                format!("A sign error: the claim is the negative of the true value ({why})."),
                None,
            ));
        }
        let c = approximate_ratio(first);
        let convention = if fits(first, 2.0) || fits(first, 0.5) {
            " A factor of 2 or ½ usually comes from the cost's convention: ½(y − a)² has derivative (a − y), while (y − a)² has 2(a − y)."
        } else {
            ""
        };
        Some((
            format!("Off by a constant factor: the claim is {c} times the true value.{convention}"),
            None,
        ))
    }

    /// Only a constant ratio (the sign aside): a factor like 2 or ½.
    pub(super) fn constant_ratio(&mut self, screen: &Screen) -> Option<(String, Option<Id>)> {
        match Self::constant_of(screen) {
            Some(c) if !fits(c, -1.0) => self.sign_or_constant(screen),
            _ => None,
        }
    }

    /// Whether the cost (through its names) squares a difference, like (y − a)².
    pub(super) fn cost_squares_a_difference(&self) -> bool {
        self.cost_mentions(&|graph, id| {
            matches!(graph.node(id), Node::Pow(base, _) if matches!(graph.node(*base), Node::Add(_)))
        })
    }

    pub(super) fn cost_has_log(&self) -> bool {
        self.cost_mentions(&|graph, id| matches!(graph.node(id), Node::Call(Func::Log, _)))
    }

    /// Whether a node of the cost's definition, or of the definitions it uses, satisfies `is`.
    pub(super) fn cost_mentions(&self, is: &dyn Fn(&Graph, Id) -> bool) -> bool {
        let Some(def) = self.model.definition(self.model.cost) else {
            return false;
        };
        let mut stack = vec![def];
        let mut seen: FastSet<Id> = FastSet::default();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            for r in self.model.graph.reachable(&[n]) {
                if is(&self.model.graph, r) {
                    return true;
                }
                if let Node::Var(s) = self.model.graph.node(r)
                    && self.model.symbol(*s).kind == SymKind::Intermediate
                    && let Some(d) = self.model.definition(*s)
                {
                    stack.push(d);
                }
            }
        }
        false
    }
}

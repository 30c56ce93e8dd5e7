//! A sign or a constant factor: the claim is c times the truth at every point (the −1 from
//! differentiating y − a inside a square, the ½ convention of the quadratic cost).

use crate::core::expr::{FastSet, Func, Graph, Id, Node, Sym};
use crate::core::model::SymKind;

use super::{Found, Screen};
use crate::analysis::check::Checker;
use crate::analysis::check::Mistake;
use crate::analysis::check::points::fits;

impl Checker {
    pub(super) fn sign_or_constant(&mut self, screen: &Screen) -> Option<Found> {
        let first = Self::constant_of(screen)?;
        if fits(first, -1.0) {
            let squared_difference = self.cost_squares_a_difference();
            return Some((Mistake::Sign { squared_difference }, None));
        }
        Some((
            Mistake::ConstantFactor {
                ratio: first,
                two_or_half: fits(first, 2.0) || fits(first, 0.5),
            },
            None,
        ))
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

    /// Whether the cost (through its names) takes the log of a formula of `s`.
    pub(super) fn cost_takes_log_of(&self, s: Sym) -> bool {
        self.cost_mentions(&|graph, id| {
            matches!(graph.node(id), Node::Call(Func::Log, arg) if graph.mentions(*arg, s))
        })
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

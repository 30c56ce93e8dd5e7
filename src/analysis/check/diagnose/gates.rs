//! Mistakes at routing gates: relu and abs send the whole upstream gradient to one side
//! (relu = max(0, z) to z where z > 0 and nowhere else; abs = max(u, −u) to u or to −u, by u's
//! sign). A claim that passes the gradient where the gate is closed, splits it between the
//! sides, or sends it to the wrong side is the truth with the gate's local derivative changed:
//! each change is a hypothesis, built on the truth's own gate factors.

use crate::core::expr::{Func, Id, Node, Num};

use super::{Found, Screen};
use crate::analysis::check::{Checker, GateShare, Mistake};

impl Checker {
    /// The truth with one routing gate's local derivative changed, for each gate the truth
    /// goes through and each way of routing wrongly: (the changed truth, the gate's function,
    /// its argument, how the gradient was routed).
    pub(in crate::analysis::check) fn gate_variants(
        &mut self,
        truth: Id,
    ) -> Vec<(Id, Func, Id, GateShare)> {
        let g = &mut self.model.graph;
        let mut out = Vec::new();
        // abs's derivative as steps, sign(u) = relu'(u) − relu'(−u): first, so that its relu'
        // factors are not taken for relu gates.
        for node in g.reachable(&[truth]) {
            let Node::Add(terms) = g.node(node).clone() else {
                continue;
            };
            let [up, down] = terms[..] else {
                continue;
            };
            let (Node::Call(Func::ReluPrime, u), Node::Mul(fs)) =
                (g.node(up).clone(), g.node(down).clone())
            else {
                continue;
            };
            let minus_u = g.neg(u);
            let reversed = g.call(Func::ReluPrime, minus_u);
            if fs.len() == 2 && g.as_num(fs[0]) == Some(Num::int(-1)) && fs[1] == reversed {
                let one = g.int(1);
                let zero = g.int(0);
                for (local, share) in [(one, GateShare::Whole), (zero, GateShare::Split)] {
                    out.push((g.replace(truth, node, local), Func::Abs, u, share));
                }
            }
        }
        for node in g.reachable(&[truth]) {
            match g.node(node).clone() {
                // relu'(u): 1 where u > 0, 0 elsewhere.
                Node::Call(Func::ReluPrime, u) => {
                    let one = g.int(1);
                    let half = g.num(Num::ratio(1, 2));
                    let reversed = g.sub(one, node);
                    for (local, share) in [
                        (one, GateShare::Whole),
                        (half, GateShare::Split),
                        (reversed, GateShare::Reversed),
                    ] {
                        out.push((g.replace(truth, node, local), Func::Relu, u, share));
                    }
                }
                // d|u|/du = u·|u|⁻¹: the factor |u|⁻¹ carries the routing.
                Node::Pow(base, exponent) if g.as_num(exponent) == Some(Num::int(-1)) => {
                    let Node::Call(Func::Abs, u) = *g.node(base) else {
                        continue;
                    };
                    let inverse = g.pow(u, exponent);
                    let zero = g.int(0);
                    for (local, share) in [(inverse, GateShare::Whole), (zero, GateShare::Split)] {
                        out.push((g.replace(truth, node, local), Func::Abs, u, share));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The claim routes the gradient wrongly at a relu or abs gate.
    pub(super) fn routing_gate(&mut self, screen: &Screen, truth: Id) -> Option<Found> {
        for (variant, function, argument, share) in self.gate_variants(truth) {
            if self.fits_everywhere(screen, variant, true) {
                let mistake = Mistake::RoutingGate {
                    function,
                    argument,
                    share,
                };
                return Some((mistake, None));
            }
        }
        None
    }
}

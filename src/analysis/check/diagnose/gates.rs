//! Mistakes at routing gates: relu, abs, max and min send the whole upstream gradient to one
//! side (relu = max(0, z) to z where z > 0 and nowhere else; abs = max(u, −u) to u or to −u,
//! by u's sign; max(a, b) to the larger argument, min to the smaller). A claim that passes the
//! gradient where the gate is closed, splits it between the sides, or sends it to the wrong
//! side is the truth with the gate's local derivative changed: each change is a hypothesis,
//! built on the truth's own gate factors.

use crate::core::expr::{Func, Func2, Graph, Id, Node, Num};

use super::{Found, Screen};
use crate::analysis::check::{Checker, Gate, GateShare, Mistake};

/// The max or min whose derivative has the switch `relu'(u)`: the derivative rules write
/// `∂max(a, b) = relu'(a − b) ∂a + (1 − relu'(a − b)) ∂b`, and min with `relu'(b − a)`.
fn pick_of_switch(g: &Graph, u: Id) -> Option<Gate> {
    let Node::Add(terms) = g.node(u) else {
        return None;
    };
    let [p, minus_q] = terms[..] else {
        return None;
    };
    let Node::Mul(fs) = g.node(minus_q) else {
        return None;
    };
    let q = match fs[..] {
        [m1, q] if g.as_num(m1) == Some(Num::MINUS_ONE) => q,
        _ => return None,
    };
    // only a max or min the program has: the graph holds every node it was built from
    if g.find(&Node::Call2(Func2::Max, p, q)).is_some() {
        return Some(Gate::Pick(Func2::Max, p, q));
    }
    if g.find(&Node::Call2(Func2::Min, q, p)).is_some() {
        return Some(Gate::Pick(Func2::Min, q, p));
    }
    None
}

impl Checker {
    /// The truth with one routing gate's local derivative changed, for each gate the truth
    /// goes through and each way of routing wrongly: (the changed truth, the gate, how the
    /// gradient was routed).
    pub(in crate::analysis::check) fn gate_variants(
        &mut self,
        truth: Id,
    ) -> Vec<(Id, Gate, GateShare)> {
        let g = &mut self.model.graph;
        let mut out = Vec::new();
        for node in g.reachable(&[truth]) {
            match g.node(node).clone() {
                // relu'(u): 1 where u > 0, 0 elsewhere; for max and min, the share of the
                // first argument (the second gets 1 − relu'(u)).
                Node::Call(Func::ReluPrime, u) => {
                    let one = g.int(1);
                    let zero = g.int(0);
                    let half = g.num(Num::ratio(1, 2));
                    let reversed = g.sub(one, node);
                    let (gate, shares) = match pick_of_switch(g, u) {
                        Some(pick) => (
                            pick,
                            vec![
                                (one, GateShare::Whole),
                                (zero, GateShare::WholeToSecond),
                                (half, GateShare::Split),
                                (reversed, GateShare::Reversed),
                            ],
                        ),
                        None => (
                            Gate::Relu(u),
                            vec![
                                (one, GateShare::Whole),
                                (half, GateShare::Split),
                                (reversed, GateShare::Reversed),
                            ],
                        ),
                    };
                    for (local, share) in shares {
                        out.push((g.replace(truth, node, local), gate.clone(), share));
                    }
                    // Both sides given the whole gradient (max as a sum): every path through
                    // the gate carries relu'(u) or 1 − relu'(u) once, so the truth is affine
                    // in the switch, and the gradient with both shares 1 is the truth with
                    // the switch 1 plus the truth with it 0.
                    if matches!(gate, Gate::Pick(..)) {
                        let first = g.replace(truth, node, one);
                        let second = g.replace(truth, node, zero);
                        out.push((g.sum(vec![first, second]), gate.clone(), GateShare::Both));
                    }
                }
                // sgn(u), abs's derivative (when the program has abs(u)).
                Node::Call(Func::Sign, u) if g.find(&Node::Call(Func::Abs, u)).is_some() => {
                    let one = g.int(1);
                    let zero = g.int(0);
                    let reversed = g.neg(node);
                    for (local, share) in [
                        (one, GateShare::Whole),
                        (zero, GateShare::Split),
                        (reversed, GateShare::Reversed),
                    ] {
                        out.push((g.replace(truth, node, local), Gate::Abs(u), share));
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
                        out.push((g.replace(truth, node, local), Gate::Abs(u), share));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The claim routes the gradient wrongly at a relu, abs, max or min gate.
    pub(super) fn routing_gate(&mut self, screen: &Screen, truth: Id) -> Option<Found> {
        for (variant, gate, share) in self.gate_variants(truth) {
            if self.fits_everywhere(screen, variant, true) {
                return Some((Mistake::RoutingGate { gate, share }, None));
            }
        }
        None
    }
}

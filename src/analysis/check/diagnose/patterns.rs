//! Recognised patterns that change every place a slip recurs, which a one-symbol edit cannot
//! reach: an activation's derivative written at the activation (`σ(a3)(1 − σ(a3))` for
//! `a3(1 − a3)`, σ′ taken at a3 = σ(z3) rather than at z3), and an argument's sign flipped
//! (`σ(u·v)` for `σ(−u·v)`, the same way in each term of a sum).

use crate::core::expr::{Func, Id, Node};

use super::{Found, Screen};
use crate::analysis::check::{Checker, Edit, Mistake};

/// An activation's name (its `Var`), the argument of its function, and the calls the claim
/// makes at the name (with the function called).
type CallsAtActivation = (Id, Id, Vec<(Id, Func)>);

/// At most this many calls of one function are flipped in every combination; beyond it, one
/// at a time and all together.
const SUBSETS_UP_TO: usize = 6;

impl Checker {
    /// An activation's function or derivative taken at the activation rather than at its
    /// argument, in every place the claim does so: `σ(a3)` for `σ(z3)` where `a3 = σ(z3)`.
    pub(super) fn wrong_argument(&mut self, screen: &Screen, claimed: Id) -> Option<Found> {
        let g = &self.model.graph;
        let mut by_name: Vec<CallsAtActivation> = Vec::new();
        for node in g.reachable(&[claimed]) {
            let Node::Call(f, arg) = *g.node(node) else {
                continue;
            };
            let Node::Var(a) = *g.node(arg) else {
                continue;
            };
            let Some(&Node::Call(activation, inner)) = self.model.definition(a).map(|d| g.node(d))
            else {
                continue;
            };
            if f != activation && activation.prime() != Some(f) {
                continue;
            }
            match by_name.iter_mut().find(|(name, ..)| *name == arg) {
                Some((.., calls)) => calls.push((node, f)),
                None => by_name.push((arg, inner, vec![(node, f)])),
            }
        }
        for (_, inner, calls) in by_name {
            let mut candidate = claimed;
            let mut first = None;
            for &(call, f) in &calls {
                let at_argument = self.model.graph.call(f, inner);
                candidate = self.model.graph.replace(candidate, call, at_argument);
                first.get_or_insert((call, at_argument));
            }
            let (written, should_be) = first?;
            if self.fits_everywhere(screen, candidate, false) {
                let mistake = Mistake::Edit {
                    written,
                    should_be,
                    edit: Edit::WrongArgument,
                };
                return Some((mistake, Some(candidate)));
            }
        }
        None
    }

    /// A function's argument with the wrong sign: `f(x)` where `f(−x)` belongs, in one place
    /// or in several the same way (each term of a sum over k), for each function the claim
    /// calls.
    pub(super) fn flipped_argument(&mut self, screen: &Screen, claimed: Id) -> Option<Found> {
        let mut by_function: Vec<(Func, Vec<(Id, Id)>)> = Vec::new();
        for node in self.model.graph.reachable(&[claimed]) {
            let Node::Call(f, arg) = *self.model.graph.node(node) else {
                continue;
            };
            // abs and sgn are even or odd in their argument: a flip is a sign or nothing;
            // relu′ flipped is a routing gate reversed, which `gates` names.
            if matches!(f, Func::Abs | Func::Sign | Func::ReluPrime) {
                continue;
            }
            match by_function.iter_mut().find(|(h, _)| *h == f) {
                Some((_, calls)) => calls.push((node, arg)),
                None => by_function.push((f, vec![(node, arg)])),
            }
        }
        for (f, calls) in by_function {
            for subset in subsets(calls.len()) {
                let mut candidate = claimed;
                let mut first = None;
                for &i in &subset {
                    let (call, arg) = calls[i];
                    let negated = self.model.graph.neg(arg);
                    let flipped = self.model.graph.call(f, negated);
                    candidate = self.model.graph.replace(candidate, call, flipped);
                    first.get_or_insert((call, flipped));
                }
                let Some((written, should_be)) = first else {
                    continue;
                };
                if self.fits_everywhere(screen, candidate, false) {
                    let mistake = Mistake::FlippedArgument {
                        written,
                        should_be,
                        occurrences: subset.len(),
                    };
                    return Some((mistake, Some(candidate)));
                }
            }
        }
        None
    }
}

/// The non-empty subsets of `0..n` to try, fewer members first: all of them for a few calls,
/// else each alone and all together.
fn subsets(n: usize) -> Vec<Vec<usize>> {
    if n > SUBSETS_UP_TO {
        let mut out: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        out.push((0..n).collect());
        return out;
    }
    let mut out: Vec<Vec<usize>> = (1u32..(1 << n))
        .map(|mask| (0..n).filter(|&i| mask & (1 << i) != 0).collect())
        .collect();
    out.sort_by_key(Vec::len);
    out
}

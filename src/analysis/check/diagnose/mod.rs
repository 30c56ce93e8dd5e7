//! Diagnosis of a wrong formula: the claim and the truth screened at points near the origin,
//! and each kind of mistake (one submodule per family) tried as a hypothesis about what the
//! claim equals, in the order a teacher would suspect them; the first that fits at every
//! screening point is named. Also the walks of the program the hypotheses share: the names
//! between two names, a name's users, the neighbourhood of a claim.

mod constant;
mod cost_terms;
mod edits;
mod factors;
mod gates;
mod paths;
pub(super) mod shapes;
mod update;

use crate::core::diff::Target;
use crate::core::expr::{FastSet, Id, Node, Sym};

use super::claims::Subject;
use super::points::{Sample, fits};
use super::{ATTEMPTS, Checker, Gate, Labels, Mistake, SCREEN_POINTS};

/// Work a diagnosis may do on a claim of one node, in formula nodes evaluated; each node more
/// adds [`BUDGET_PER_NODE`]. Every hypothesis costs about the claim's size to evaluate, so a
/// long claim gets fewer hypotheses and the whole search grows linearly with the claim.
const BUDGET_BASE: u64 = 1_000_000;
const BUDGET_PER_NODE: u64 = 1_000;

/// The work left for the current diagnosis, spent as hypotheses are built and evaluated;
/// when it runs out every further hypothesis fails and the search reports what it found.
#[derive(Default)]
pub(super) struct Budget {
    left: std::cell::Cell<u64>,
    exhausted: std::cell::Cell<bool>,
    /// The size of the claim, the cost of evaluating one hypothesis.
    claim_size: u64,
}

impl Budget {
    fn start(&mut self, claim_size: usize) {
        let size = claim_size as u64;
        self.claim_size = size.max(1);
        self.left.set(BUDGET_BASE + BUDGET_PER_NODE * size);
        self.exhausted.set(false);
    }

    /// Spends `work`; false once the budget is gone.
    pub(super) fn spend(&self, work: u64) -> bool {
        let left = self.left.get();
        if self.exhausted.get() || left < work {
            self.exhausted.set(true);
            self.left.set(0);
            return false;
        }
        self.left.set(left - work);
        true
    }

    /// Spends one hypothesis's evaluation.
    pub(super) fn try_hypothesis(&self) -> bool {
        self.spend(self.claim_size)
    }

    pub(super) fn exhausted(&self) -> bool {
        self.exhausted.get()
    }
}

/// A mistake found, and the corrected formula when it is not the truth itself.
pub(super) type Found = (Mistake, Option<Id>);

/// Screening points with the claim's and the truth's values there.
pub(super) struct Screen {
    samples: Vec<Sample>,
    claimed: Vec<f64>,
    truth: Vec<f64>,
}

impl Checker {
    pub(super) fn screen(&mut self, leaves: &[Sym], truth: Id, claimed: Id) -> Option<Screen> {
        let mut screen = Screen {
            samples: Vec::new(),
            claimed: Vec::new(),
            truth: Vec::new(),
        };
        for attempt in 0..ATTEMPTS {
            // Hypotheses are screened in float64, so only at the points near the origin,
            // where float64 is trustworthy (far out, saturated activations cancel).
            if attempt % 4 >= 2 {
                continue;
            }
            let Some(sample) = self.random_sample(leaves, Labels::Free, attempt) else {
                continue;
            };
            let sample = sample.as_ref();
            let (Some(t), Some(k)) = (self.f64_at(truth, sample), self.f64_at(claimed, sample))
            else {
                continue;
            };
            // Zeros stay: where relu'(z) = 0 a missing relu' shows, and a constant ratio must
            // hold there too.
            if !(t.is_finite() && k.is_finite()) {
                continue;
            }
            screen.samples.push(sample.clone());
            screen.truth.push(t);
            screen.claimed.push(k);
            if screen.samples.len() == SCREEN_POINTS {
                break;
            }
        }
        // Where float64 gives 0 for both sides everywhere (values beyond its range), every
        // hypothesis would fit: no diagnosis rather than a wrong one.
        let seen = screen
            .truth
            .iter()
            .chain(&screen.claimed)
            .any(|&v| v != 0.0);
        (screen.samples.len() >= 3 && seen).then_some(screen)
    }

    /// The constant c with claim = c·truth at every screening point, if there is one (and
    /// it is not 1: then the points cannot tell the sides apart).
    pub(super) fn constant_of(screen: &Screen) -> Option<f64> {
        let nonzero = screen
            .claimed
            .iter()
            .zip(&screen.truth)
            .filter(|(k, t)| **k != 0.0 && **t != 0.0)
            .count();
        if nonzero < 3 {
            return None;
        }
        let (k0, t0) = screen
            .claimed
            .iter()
            .zip(&screen.truth)
            .find(|(k, t)| **k != 0.0 && **t != 0.0)?;
        let c = k0 / t0;
        let everywhere = screen
            .claimed
            .iter()
            .zip(&screen.truth)
            .all(|(k, t)| fits(*k, c * t));
        (everywhere && !fits(c, 1.0)).then_some(c)
    }

    /// Whether `candidate` equals `reference` values at every screening point, confirmed at
    /// high precision at the first ones.
    pub(super) fn fits_everywhere(
        &self,
        screen: &Screen,
        candidate: Id,
        against_claim: bool,
    ) -> bool {
        if !self.budget.try_hypothesis() {
            return false;
        }
        let reference = if against_claim {
            &screen.claimed
        } else {
            &screen.truth
        };
        for (sample, &r) in screen.samples.iter().zip(reference) {
            match self.f64_at(candidate, sample) {
                Some(v) if fits(v, r) => {}
                _ => return false,
            }
        }
        true
    }

    /// Whether two formulas agree at every screening point.
    pub(super) fn fits_formulas(&self, screen: &Screen, a: Id, b: Id) -> bool {
        if !self.budget.try_hypothesis() {
            return false;
        }
        screen.samples.iter().all(|sample| {
            matches!((self.f64_at(a, sample), self.f64_at(b, sample)), (Some(x), Some(y)) if fits(x, y))
        })
    }

    /// Whether a formula is non-zero at `n` screening points at least.
    pub(super) fn nonzero_at_least(&self, screen: &Screen, id: Id, n: usize) -> bool {
        screen
            .samples
            .iter()
            .filter(|sample| {
                self.f64_at(id, sample)
                    .is_some_and(|v| v != 0.0 && v.is_finite())
            })
            .count()
            >= n
    }

    /// The likeliest mistake, and the corrected formula when it is not the truth; `shown` is
    /// the point the reader is shown.
    pub(super) fn diagnose(
        &mut self,
        subject: &Subject,
        truth: Id,
        claimed: Id,
        leaves: &[Sym],
        shown: &Sample,
    ) -> Option<Found> {
        // Nodes and edges: a product of 300 equal factors is one node with 300 edges.
        let nodes = self.model.graph.reachable(&[claimed]);
        let size = nodes.len()
            + nodes
                .iter()
                .map(|&n| self.model.graph.children(n).len())
                .sum::<usize>();
        self.budget.start(size);
        let screen = self.screen(leaves, truth, claimed)?;
        let path = match *subject {
            Subject::Derivative(target) => self.between(target.of, target.wrt),
            Subject::Update(theta) | Subject::Change(theta) => self.between(self.model.cost, theta),
            _ => Vec::new(),
        };
        self.nearby = self.nearby_names(&path, &[truth, claimed]);
        match *subject {
            Subject::Update(theta) => self.diagnose_update(&screen, theta, claimed, shown),
            Subject::Derivative(target) => {
                self.diagnose_derivative(&screen, target, truth, claimed)
            }
            _ => self.diagnose_formula(&screen, claimed),
        }
    }

    pub(super) fn diagnose_formula(&mut self, screen: &Screen, claimed: Id) -> Option<Found> {
        if let Some(found) = self.sign_or_constant(screen) {
            return Some(found);
        }
        self.single_edit(screen, claimed)
    }

    pub(super) fn diagnose_derivative(
        &mut self,
        screen: &Screen,
        target: Target,
        truth: Id,
        claimed: Id,
    ) -> Option<Found> {
        if Self::constant_of(screen).is_some_and(|c| fits(c, -1.0)) {
            return self.sign_or_constant(screen);
        }
        // Before a constant ratio: `db/da = 1` for `b = a + a` is half the truth, but the
        // story is a use overwritten, not a factor 2.
        if let Some(found) = self.fork_in_definition(screen, target) {
            return Some(found);
        }
        if let Some(found) = self.constant_ratio(screen) {
            return Some(found);
        }
        if let Some(found) = self.missing_path(screen, target) {
            return Some(found);
        }
        if let Some(found) = self.cost_term(screen, target) {
            return Some(found);
        }
        if let Some(found) = self.chain_stopped(screen, target) {
            return Some(found);
        }
        if let Some(found) = self.activation_for_derivative(screen, claimed) {
            return Some(found);
        }
        // Before a missing factor: max's switch relu'(a − b) left out is a factor missing,
        // but the story is the whole gradient passed to one argument whichever is picked
        // (relu'(z) missing stays a missing factor, the activation's derivative).
        if let Some(found) = self.routing_gate(screen, truth, |gate| matches!(gate, Gate::Pick(..)))
        {
            return Some(found);
        }
        if let Some(found) = self.factor(screen, target, truth, claimed) {
            return Some(found);
        }
        if let Some(found) = self.routing_gate(screen, truth, |_| true) {
            return Some(found);
        }
        if let Some(found) = self.single_edit(screen, claimed) {
            return Some(found);
        }
        if let Some(found) = self.derivative_edit(screen) {
            return Some(found);
        }
        self.sign_or_constant(screen)
    }

    /// Names that depend on `x` (itself included) and that `y` depends on: the path.
    pub(super) fn between(&self, y: Sym, x: Sym) -> Vec<Sym> {
        let down = self.down_set(y);
        let up = self.up_set(x);
        self.model
            .syms()
            .filter(|s| down.contains(s) && up.contains(s))
            .collect()
    }

    /// `y` and every name it depends on.
    pub(super) fn down_set(&self, y: Sym) -> FastSet<Sym> {
        let mut seen: FastSet<Sym> = FastSet::default();
        let mut stack = vec![y];
        while let Some(s) = stack.pop() {
            if !seen.insert(s) {
                continue;
            }
            if let Some(def) = self.model.definition(s) {
                for id in self.model.graph.reachable(&[def]) {
                    if let Node::Var(t) = self.model.graph.node(id) {
                        stack.push(*t);
                    }
                }
            }
        }
        seen
    }

    /// `x` and every name that depends on it, in one pass over the program.
    pub(super) fn up_set(&self, x: Sym) -> FastSet<Sym> {
        let mut up: FastSet<Sym> = FastSet::default();
        up.insert(x);
        for &s in &self.model.order {
            let Some(def) = self.model.definition(s) else {
                continue;
            };
            let uses = self
                .model
                .graph
                .reachable(&[def])
                .into_iter()
                .any(|id| matches!(self.model.graph.node(id), Node::Var(t) if up.contains(t)));
            if uses {
                up.insert(s);
            }
        }
        up
    }

    /// The names a diagnosis considers: those in the two formulas, on the path, and in the
    /// path's definitions. On a large network this is the neighbourhood of the claim, not
    /// every weight.
    pub(super) fn nearby_names(&self, path: &[Sym], formulas: &[Id]) -> Vec<Sym> {
        let mut near: FastSet<Sym> = path.iter().copied().collect();
        let mut roots: Vec<Id> = formulas.to_vec();
        roots.extend(path.iter().filter_map(|&s| self.model.definition(s)));
        for id in self.model.graph.reachable(&roots) {
            if let Node::Var(s) = self.model.graph.node(id) {
                near.insert(*s);
            }
        }
        near.remove(&self.rate);
        let mut names: Vec<Sym> = near.into_iter().collect();
        names.sort();
        names
    }

    /// The users of `v` among `names`.
    pub(super) fn users(&self, v: Sym, names: &[Sym]) -> Vec<Sym> {
        names
            .iter()
            .copied()
            .filter(|&u| u != v)
            .filter(|&u| {
                self.model
                    .definition(u)
                    .is_some_and(|d| self.model.graph.mentions(d, v))
            })
            .collect()
    }
}

//! Diagnosis of a wrong formula: the claim and the truth screened at points near the origin,
//! and each kind of mistake (one submodule per family) tried as a hypothesis about what the
//! claim equals. Every family's explanation that fits at every screening point is gathered
//! and ranked by a stated prior ([`prior`]), how likely a person is to make the mistake: the
//! likeliest is named, the others that fit as well are offered after it. Also the walks of
//! the program the hypotheses share: the names between two names, a name's users, the
//! neighbourhood of a claim.

mod constant;
mod cost_terms;
mod edits;
mod factors;
mod gates;
mod optimizer;
mod paths;
mod patterns;
pub(super) mod shapes;
mod update;

use crate::core::diff::Target;
use crate::core::expr::{FastSet, Id, Node, Sym};

use super::claims::Subject;
use super::points::{Sample, fits};
use super::{ATTEMPTS, Checker, Edit, Gate, Labels, Mistake, SCREEN_POINTS};

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

    /// The mistakes that explain the claim, likeliest first, each with the corrected formula
    /// when it is not the truth; `shown` is the point the reader is shown.
    pub(super) fn diagnose(
        &mut self,
        subject: &Subject,
        truth: Id,
        claimed: Id,
        leaves: &[Sym],
        shown: &Sample,
    ) -> Vec<Found> {
        // Nodes and edges: a product of 300 equal factors is one node with 300 edges.
        let nodes = self.model.graph.reachable(&[claimed]);
        let size = nodes.len()
            + nodes
                .iter()
                .map(|&n| self.model.graph.children(n).len())
                .sum::<usize>();
        self.budget.start(size);
        let Some(screen) = self.screen(leaves, truth, claimed) else {
            return Vec::new();
        };
        let path = match *subject {
            Subject::Derivative(target) => self.between(target.of, target.wrt),
            Subject::Update(theta) | Subject::Change(theta) => self.between(self.model.cost, theta),
            _ => Vec::new(),
        };
        self.nearby = self.nearby_names(&path, &[truth, claimed]);
        match *subject {
            Subject::Update(theta) => self
                .diagnose_update(&screen, theta, claimed, shown)
                .into_iter()
                .collect(),
            Subject::Derivative(target) => {
                self.diagnose_derivative(&screen, target, truth, claimed)
            }
            Subject::OptimizerState(_) | Subject::OptimizerUpdate(_) => {
                self.diagnose_optimizer(&screen, subject, claimed)
            }
            _ => self
                .diagnose_formula(&screen, claimed)
                .into_iter()
                .collect(),
        }
    }

    pub(super) fn diagnose_formula(&mut self, screen: &Screen, claimed: Id) -> Option<Found> {
        if let Some(found) = self.sign_or_constant(screen) {
            return Some(found);
        }
        self.single_edit(screen, claimed).into_iter().next()
    }

    /// Every family's explanation of a wrong derivative, ranked by [`prior`]: the mistakes
    /// people are known to make (a wrong argument, a flipped sign, a path left out, an index
    /// slip, a constant factor, a sign) before the chain rule's other slips, and those before
    /// a generic one-symbol edit that happens to fit the value. Families are tried in full
    /// (each gives its own likeliest), so an unlikely edit found early no longer hides a
    /// likely mistake found late.
    pub(super) fn diagnose_derivative(
        &mut self,
        screen: &Screen,
        target: Target,
        truth: Id,
        claimed: Id,
    ) -> Vec<Found> {
        let mut found: Vec<Found> = Vec::new();
        found.extend(self.sign_or_constant(screen));
        found.extend(self.wrong_argument(screen, claimed));
        // A claim that is a constant times the truth is a sign or a factor: flipping an odd
        // function's argument (tanh(−x) = −tanh(x)) would fit it only as a sign does.
        if Self::constant_of(screen).is_none() {
            found.extend(self.flipped_argument(screen, claimed));
        }
        found.extend(self.fork_in_definition(screen, target));
        found.extend(self.missing_path(screen, target));
        found.extend(self.missing_direct_use(screen, target));
        found.extend(self.cost_term(screen, target));
        found.extend(self.chain_stopped(screen, target));
        found.extend(self.activation_for_derivative(screen, claimed));
        found.extend(self.routing_gate(screen, truth));
        found.extend(self.factor(screen, target, truth, claimed));
        found.extend(self.single_edit(screen, claimed));
        found.extend(self.derivative_edit(screen));
        ranked(found)
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

/// How likely a person is to make a mistake, lower first: the recognised patterns in the
/// order the course material meets them (an activation's derivative at the wrong node, an
/// argument's sign flipped, a path left out, an index slip, a constant factor, a sign), then
/// the other chain-rule slips (a factor, a cost term, a chain stopped early, a routing gate),
/// and last a generic one-symbol edit, which fits a value by coincidence more often than any
/// of these.
pub(super) fn prior(mistake: &Mistake) -> u8 {
    match mistake {
        Mistake::Edit {
            edit: Edit::WrongArgument,
            ..
        } => 0,
        Mistake::FlippedArgument { .. } => 1,
        Mistake::MissingPath { .. }
        | Mistake::MissingDirectUse { .. }
        | Mistake::OverwrittenAtFork { .. }
        | Mistake::OverwrittenInDefinition { .. } => 2,
        Mistake::Edit {
            edit: Edit::IndexSlip,
            ..
        } => 3,
        Mistake::ConstantFactor { .. } => 5,
        Mistake::Sign { .. } => 6,
        // A max or min passing the whole gradient to one side is max's own story; relu'
        // missing is first a missing factor, the activation's derivative.
        Mistake::RoutingGate {
            gate: Gate::Pick(..),
            ..
        } => 7,
        Mistake::MissingCostTerm { .. } | Mistake::RegulariserFactor { .. } => 8,
        Mistake::ChainStopped { .. } | Mistake::UpstreamOnly { .. } => 9,
        Mistake::ActivationForDerivative { .. } => 10,
        Mistake::SigmaPrimeKept { .. }
        | Mistake::ExtraFactor { .. }
        | Mistake::MissingFactor { .. } => 11,
        Mistake::RoutingGate { .. } => 12,
        Mistake::Edit {
            edit: Edit::SigmoidFormForTanh | Edit::MissingSquare | Edit::SquareOfDifference,
            ..
        } => 13,
        Mistake::WrongDerivative { .. } => 14,
        _ => 20,
    }
}

/// The explanations found, likeliest first (a stable sort: within one prior, the order the
/// families were tried), each kind named once.
fn ranked(mut found: Vec<Found>) -> Vec<Found> {
    found.sort_by_key(|(mistake, _)| prior(mistake));
    let mut seen: Vec<&'static str> = Vec::new();
    found.retain(|(mistake, _)| {
        let fresh = !seen.contains(&mistake.code());
        seen.push(mistake.code());
        fresh
    });
    found
}

//! Which adjoints get a name: an error term shared by several gradients or paths is named,
//! derived once with its steps, and the results are written in it (the textbook's δ).

use super::{Engine, INLINE_LIMIT, NamedTerm, Rule, Step, Target, push_snapshots};

/// The most target entries [`Engine::reached_twice`] gathers before it gives up.
const REACH_WORK_LIMIT: usize = 20_000_000;
use crate::core::expr::{FastMap, FastSet, Id, Node, Sym};
use crate::core::factor;
use crate::core::simplify::{self, Options};

impl Engine<'_> {
    pub(super) fn is_named(&self, y: Sym, u: Sym) -> bool {
        self.named.get(&y).is_some_and(|n| n.contains(&u))
    }

    /// Decides which adjoints get a name, from the output backwards, and adds each named term
    /// to the model. An adjoint `∂y/∂u` of a computed name is named when more than one
    /// adjoint or gradient uses it and it gathers more than one path (a sum over u's users),
    /// or more than one path continues through it, or one target reaches it by more than one
    /// path, or (fanning out linearly) it is written in another named term, or it is longer
    /// than [`INLINE_LIMIT`];
    /// one that simplifies to a number or a name is written as that instead. A chain with no
    /// fork (the seed's 1-1-1 network) keeps its single product.
    pub(super) fn name_shared_adjoints(
        &mut self,
        targets: &[Target],
        options: &Options,
    ) -> Vec<NamedTerm> {
        let mut terms = Vec::new();
        let mut ys: Vec<Sym> = Vec::new();
        for t in targets {
            if !ys.contains(&t.of) {
                ys.push(t.of);
            }
        }
        for y in ys {
            let mut starts = Vec::new();
            for t in targets {
                if t.of == y && t.wrt != y && self.depends(y, t.wrt) {
                    starts.push(t.wrt);
                }
            }
            let wrts = starts.clone();
            let mut reached_twice: Option<FastSet<Sym>> = None;
            // The names on a path from a target up to y.
            let mut on_path: FastSet<Sym> = FastSet::default();
            while let Some(v) = starts.pop() {
                if v == y || !on_path.insert(v) {
                    continue;
                }
                starts.extend(self.consumers(y, v));
            }
            let mut uses: FastMap<Sym, (u32, u32)> = FastMap::default();
            for &v in &on_path {
                let computed = self.model.definition(v).is_some();
                for u in self.consumers(y, v) {
                    let entry = uses.entry(u).or_default();
                    entry.0 += 1;
                    entry.1 += u32::from(computed);
                }
            }
            let mut paths: FastMap<Sym, u64> = FastMap::default();
            paths.insert(y, 1);
            let mut sizes = FastMap::default();
            let top_down: Vec<Sym> = self
                .model
                .order
                .iter()
                .rev()
                .copied()
                .filter(|s| on_path.contains(s))
                .collect();
            for u in top_down {
                let count = self
                    .consumers(y, u)
                    .iter()
                    .fold(0u64, |sum, c| sum.saturating_add(paths[c]));
                paths.insert(u, count);
                let (used, used_by_names) = uses.get(&u).copied().unwrap_or_default();
                if used < 2 {
                    continue;
                }
                let raw = self.adjoint(y, u);
                let simplified = self.simplify_cached(raw, options);
                if matches!(
                    self.model.graph.node(simplified),
                    Node::Num(_) | Node::Var(_)
                ) {
                    self.cut.insert((y, u), simplified);
                    continue;
                }
                let long =
                    factor::tree_nodes(&self.model.graph, simplified, &mut sizes) > INLINE_LIMIT;
                // On a single path a term is named only where the chain rule fans out
                // linearly (a pre-activation z = Σ w·a + b, whose local derivatives are
                // names: the textbook's δ) and several paths meet below it: more than one
                // computed name feeds it, or one target reaches it by more than one path (a
                // weight shared by the steps of an unrolled network). Elsewhere (a softmax
                // output) it stays in place, so that simplifying the next term cancels across
                // its local factors.
                // A term written in another named term continues that term's chain (the
                // first step of an unrolled network: δ1 = δ2·u(1 − h1^2)) and is named with it.
                if count < 2 && !long {
                    let paths_meet = used_by_names >= 2
                        || reached_twice
                            .get_or_insert_with(|| self.reached_twice(&wrts, &on_path))
                            .contains(&u)
                        || self.mentions_named(y, simplified);
                    if !paths_meet || !self.fans_out_linearly(u, &on_path) {
                        continue;
                    }
                }
                let sym = factor::term_symbol(self.model, y, u, simplified);
                let var = self.g().var(sym);
                self.cut.insert((y, u), var);
                self.named.entry(y).or_default().insert(u);
                terms.push(NamedTerm {
                    sym,
                    target: Target { of: y, wrt: u },
                    definition: simplified,
                    steps: Vec::new(),
                });
            }
        }
        // Found from the output backwards; listed as a reader expects.
        let mut ordered = Vec::with_capacity(terms.len());
        let mut ys: Vec<Sym> = Vec::new();
        for t in &terms {
            if !ys.contains(&t.target.of) {
                ys.push(t.target.of);
            }
        }
        for y in ys {
            let mut wrts: Vec<Sym> = terms
                .iter()
                .filter(|t| t.target.of == y)
                .map(|t| t.target.wrt)
                .collect();
            self.reading_order(y, &mut wrts);
            for u in wrts {
                let at = terms
                    .iter()
                    .position(|t| t.target == Target { of: y, wrt: u })
                    .expect("each term is listed once");
                ordered.push(terms.swap_remove(at));
            }
        }
        ordered
    }

    /// The names on the way up from `targets` that one target reaches by two paths or more (a
    /// weight used at every step of an unrolled network, an input feeding neurons that meet
    /// again): there several paths of one gradient go through the name's adjoint, even where
    /// a single path leads on from it. Each name gathers the targets reaching it, so the work
    /// grows with names times the targets below them; past [`REACH_WORK_LIMIT`] entries no
    /// name is reported (the terms then stay inline, as before this rule).
    fn reached_twice(&self, targets: &[Sym], on_path: &FastSet<Sym>) -> FastSet<Sym> {
        let index: FastMap<Sym, u32> = targets
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, i as u32))
            .collect();
        // A target that is not computed (a parameter, an input) reaches itself.
        let mut reach: FastMap<Sym, Vec<u32>> = index
            .iter()
            .filter(|&(&t, _)| self.model.definition(t).is_none())
            .map(|(&t, &i)| (t, vec![i]))
            .collect();
        let mut twice: FastSet<Sym> = FastSet::default();
        let mut work = 0usize;
        for &u in self.model.order.iter().filter(|s| on_path.contains(s)) {
            let mut gathered: Vec<u32> = index.get(&u).map(|&i| vec![i]).unwrap_or_default();
            let mut again = false;
            for v in self.model.dependencies.uses(u) {
                if let Some(below) = reach.get(v) {
                    again |= twice.contains(v);
                    gathered.extend_from_slice(below);
                }
            }
            work += gathered.len();
            if work > REACH_WORK_LIMIT {
                return FastSet::default();
            }
            gathered.sort_unstable();
            let before = gathered.len();
            gathered.dedup();
            if again || gathered.len() < before {
                twice.insert(u);
            }
            reach.insert(u, gathered);
        }
        twice
    }

    /// Whether `formula` mentions a term named for `y`'s adjoints.
    fn mentions_named(&self, y: Sym, formula: Id) -> bool {
        let Some(named) = self.named.get(&y).filter(|n| !n.is_empty()) else {
            return false;
        };
        let terms: FastSet<Sym> = named
            .iter()
            .filter_map(
                |&u| match self.cut.get(&(y, u)).map(|&v| self.model.graph.node(v)) {
                    Some(Node::Var(term)) => Some(*term),
                    _ => None,
                },
            )
            .collect();
        self.model
            .graph
            .reachable(&[formula])
            .into_iter()
            .any(|id| matches!(self.model.graph.node(id), Node::Var(s) if terms.contains(s)))
    }

    /// Puts names on the way to `y` in the order a reader expects: by level, the names nearest
    /// `y` first (a layer's error terms before the layer below, whose terms use them), and
    /// within a level in program order (`δ3_1, δ3_2, …, δ3_10`, then `δ2_1, …`). A name's
    /// level is the most names of the list on any path from it up to `y`.
    pub(super) fn reading_order(&mut self, y: Sym, names: &mut [Sym]) {
        let listed: FastSet<Sym> = names.iter().copied().collect();
        let mut level: FastMap<Sym, u32> = FastMap::default();
        level.insert(y, 0);
        let mut position: FastMap<Sym, usize> = FastMap::default();
        let order = self.model.order.clone();
        for (i, &s) in order.iter().enumerate().rev() {
            position.insert(s, i);
            if s == y || self.model.definition(s).is_none() || !self.depends(y, s) {
                continue;
            }
            let above = self
                .consumers(y, s)
                .into_iter()
                .filter_map(|c| level.get(&c).map(|&l| l + u32::from(listed.contains(&c))))
                .max()
                .unwrap_or(0);
            level.insert(s, above);
        }
        names.sort_by_key(|s| {
            (
                level.get(s).copied().unwrap_or(0),
                position.get(s).copied().unwrap_or(usize::MAX),
            )
        });
    }

    /// Whether every local derivative of `u` by a name on the path is a number or a name.
    pub(super) fn fans_out_linearly(&mut self, u: Sym, on_path: &FastSet<Sym>) -> bool {
        let used: Vec<Sym> = self
            .model
            .dependencies
            .uses(u)
            .iter()
            .copied()
            .filter(|v| on_path.contains(v))
            .collect();
        used.into_iter().all(|v| {
            let local = self.local_derivative(u, v, None);
            matches!(self.model.graph.node(local), Node::Num(_) | Node::Var(_))
        })
    }

    pub(super) fn simplify_cached(&mut self, raw: Id, options: &Options) -> Id {
        if let Some(&done) = self.simplified_cache.get(&raw) {
            return done;
        }
        let done = simplify::simplify(self.g(), raw, options);
        self.simplified_cache.insert(raw, done);
        done
    }

    /// Each named term's derivation: the chain rule up to the terms above it, its local
    /// derivatives (each shown once across the terms), substitution and simplification.
    pub(super) fn term_steps(&mut self, terms: &mut [NamedTerm], options: &Options) {
        let mut shown = FastSet::default();
        for term in terms {
            let t = term.target;
            let var = self.g().var(term.sym);
            let adjoint = self.deriv_name(t.of, t.wrt);
            let mut steps = Vec::new();
            self.chain_steps(t, &mut shown, &mut steps);
            let raw = self.adjoint(t.of, t.wrt);
            if steps.last().and_then(|s| s.rhs.last()) != Some(&raw) {
                steps.push(Step {
                    rule: Rule::SubstituteLocalDerivativesAndTerms,
                    lhs: adjoint,
                    rhs: vec![raw],
                });
            }
            let (result, snapshots) = simplify::simplify_traced(self.g(), raw, options);
            push_snapshots(&mut steps, adjoint, &snapshots);
            // A term named `dC/dh` is written as the adjoint it names, not `dC/dh = dC/dh`.
            let named_as_adjoint = self.model.name(term.sym) == t.plain_label(self.model);
            for (i, step) in steps.iter_mut().enumerate() {
                if step.lhs == adjoint {
                    step.lhs = var;
                    if i == 0 && !named_as_adjoint {
                        step.rhs.insert(0, adjoint);
                    }
                }
            }
            term.definition = result;
            term.steps = steps;
        }
    }
}

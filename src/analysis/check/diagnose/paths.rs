//! Mistakes of the chain rule's paths: a path left out at a fork, only one path counted (an
//! overwrite where contributions accumulate), the chain rule stopped early; and derivatives
//! with some edges from a name cut, the hypotheses these compare with.

use crate::core::diff::{self, Target};
use crate::core::expr::{Id, Node, Partial, Sym};
use crate::core::model::{SymKind, Symbol};
use crate::lang::ast::Span;

use super::{Found, Screen};
use crate::analysis::check::Checker;
use crate::analysis::check::Mistake;

impl Checker {
    /// A fork on the path where the claim counts only some of the users.
    pub(super) fn missing_path(&mut self, screen: &Screen, target: Target) -> Option<Found> {
        let path = self.between(target.of, target.wrt);
        for &v in &path {
            // A name the cost uses directly is a term of the cost: `cost_term` says it better.
            let users: Vec<Sym> = self
                .users(v, &path)
                .into_iter()
                .filter(|&u| u != self.model.cost || target.of != self.model.cost)
                .collect();
            if users.len() < 2 {
                continue;
            }
            for &u in &users {
                // Leave out u's path; then, keep only u's path.
                let without = self.cut_derivative(target, v, &[u]);
                let others: Vec<Sym> = users.iter().copied().filter(|&o| o != u).collect();
                let only = self.cut_derivative(target, v, &others);
                if let Some((_, candidate)) = &without
                    && self.fits_everywhere(screen, *candidate, true)
                {
                    let mistake = Mistake::MissingPath {
                        name: v,
                        users: users.clone(),
                        missing: u,
                        of: target.of,
                    };
                    return Some((mistake, None));
                }
                if users.len() > 2
                    && let Some((_, candidate)) = &only
                    && self.fits_everywhere(screen, *candidate, true)
                {
                    let mistake = Mistake::OverwrittenAtFork {
                        name: v,
                        users: users.clone(),
                        kept: u,
                    };
                    return Some((mistake, None));
                }
            }
        }
        None
    }

    /// A direct use left out beside an indirect one: `y = x + u1` with `u1 = x²`, where the
    /// single-variable chain rule keeps only the path through u1 (∂y/∂x = 2x for 1 + 2x).
    /// A regulariser's term of the cost is left to `cost_term`, which names it as such.
    pub(super) fn missing_direct_use(&mut self, screen: &Screen, target: Target) -> Option<Found> {
        let path = self.between(target.of, target.wrt);
        for &v in &path {
            for user in self.users(v, &path) {
                // The names `user` uses that depend on v: the indirect paths beside the direct.
                let through: Vec<Sym> = self
                    .model
                    .dependencies
                    .uses(user)
                    .iter()
                    .copied()
                    .filter(|&s| s != v && path.contains(&s) && self.down_set(s).contains(&v))
                    .collect();
                if through.is_empty() || self.regulariser_use(user, v) {
                    continue;
                }
                let Some((_, candidate)) = self.cut_derivative(target, v, &[user]) else {
                    continue;
                };
                if self.fits_everywhere(screen, candidate, true) {
                    let mistake = Mistake::MissingDirectUse {
                        name: v,
                        user,
                        through,
                    };
                    return Some((mistake, None));
                }
            }
        }
        None
    }

    /// Whether every term of the cost that uses `v` directly is a regulariser (when `user` is
    /// the cost; a name other than the cost is no regulariser).
    fn regulariser_use(&self, user: Sym, v: Sym) -> bool {
        if user != self.model.cost {
            return false;
        }
        let Some(def) = self.model.definition(user) else {
            return false;
        };
        let terms = match self.model.graph.node(def) {
            Node::Add(terms) => terms.to_vec(),
            _ => vec![def],
        };
        terms
            .into_iter()
            .filter(|&t| self.model.graph.mentions(t, v))
            .all(|t| self.is_regulariser(t))
    }

    /// A fork inside one definition (`b = a + a`) where the claim counts one use only.
    pub(super) fn fork_in_definition(&mut self, screen: &Screen, target: Target) -> Option<Found> {
        for (v, user, kept) in self.definition_forks(target) {
            if self.fits_everywhere(screen, kept.1, true) {
                let mistake = Mistake::OverwrittenInDefinition {
                    name: v,
                    user,
                    occurrences: kept.0,
                };
                return Some((mistake, None));
            }
        }
        None
    }

    /// For each name `v` on the path used more than once in one user's definition, and each
    /// of those uses: (v, the user, (how many uses, ∂Y/∂X counting that use alone)).
    pub(in crate::analysis::check) fn definition_forks(
        &mut self,
        target: Target,
    ) -> Vec<(Sym, Sym, (usize, Id))> {
        let path = self.between(target.of, target.wrt);
        let mut out = Vec::new();
        for &v in &path {
            let v_var = self.model.graph_var(v);
            for user in self.users(v, &path) {
                let Some(def) = self.model.definition(user) else {
                    continue;
                };
                let slots: Vec<(Id, usize)> = self
                    .model
                    .graph
                    .reachable(&[def])
                    .into_iter()
                    .flat_map(|n| {
                        self.model
                            .graph
                            .children(n)
                            .iter()
                            .enumerate()
                            .filter(|&(_, &c)| c == v_var)
                            .map(|(i, _)| (n, i))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                if slots.len() < 2 {
                    continue;
                }
                for &slot in &slots {
                    if let Some(id) = self.one_use_derivative(target, v, user, slot) {
                        out.push((v, user, (slots.len(), id)));
                    }
                }
            }
        }
        out
    }

    /// ∂Y/∂X with every use of `v` in `user`'s definition frozen but the one at `keep` (a
    /// parent node and a child index).
    fn one_use_derivative(
        &mut self,
        target: Target,
        v: Sym,
        user: Sym,
        keep: (Id, usize),
    ) -> Option<Id> {
        let mut model = self.model.clone();
        let placeholder = |model: &mut crate::core::model::Model, what: &str| {
            let s = Sym(model.symbols.len() as u32);
            model.symbols.push(Symbol {
                name: format!("{}__{what}", self.model.name(v)),
                kind: SymKind::Input,
                display: None,
                span: Span::default(),
                shape: crate::core::tensor::Shape::SCALAR,
            });
            model.definitions.push(None);
            model.graph.var(s)
        };
        let frozen_var = placeholder(&mut model, "frozen");
        let kept_var = placeholder(&mut model, "kept");
        let v_var = model.graph.var(v);
        let def = model.definition(user)?;
        let (parent, index) = keep;
        // The kept use is marked, the others frozen, then the mark becomes v again.
        let mut parent_kept = parent;
        for (i, c) in model
            .graph
            .children(parent)
            .to_vec()
            .into_iter()
            .enumerate()
        {
            if c == v_var {
                let child = if i == index { kept_var } else { frozen_var };
                parent_kept = super::edits::replace_child(&mut model.graph, parent_kept, i, child);
            }
        }
        let marked = model.graph.replace(def, parent, parent_kept);
        let frozen = model.graph.replace(marked, v_var, frozen_var);
        let one_use = model.graph.replace(frozen, kept_var, v_var);
        model.definitions[user.index()] = Some(one_use);
        let of = model.graph_var(target.of);
        let derivative = diff::differentiate_expr(&mut model, of, target.wrt);
        let substituted = model.graph.replace(derivative, frozen_var, v_var);
        Some(self.model.graph.import(&model.graph, substituted))
    }

    /// ∂Y/∂X with the edges from `v` into each of `cut` frozen: v is replaced there by a
    /// constant with v's value. Returns the frozen symbol and the derivative (in names).
    pub(in crate::analysis::check) fn cut_derivative(
        &mut self,
        target: Target,
        v: Sym,
        cut: &[Sym],
    ) -> Option<(Sym, Id)> {
        let key = (target, v, cut.to_vec());
        if let Some(found) = self.cut_derivatives.get(&key) {
            return *found;
        }
        let found = self.cut_derivative_uncached(target, v, cut);
        self.cut_derivatives.insert(key, found);
        found
    }

    /// The paths through an edge `v → u` contribute `∂Y/∂u·(∂u/∂v)_direct·∂v/∂X` (every path
    /// from X to v, the edge, every path from u to Y), and a path leaves v by one edge only,
    /// so cutting edges is subtracting their contributions from ∂Y/∂X. Worked on the
    /// derivatives the checker already has, this costs a few derivatives per fork rather
    /// than a network's derivative with a copy of the model per fork.
    pub(super) fn cut_derivative_uncached(
        &mut self,
        target: Target,
        v: Sym,
        cut: &[Sym],
    ) -> Option<(Sym, Id)> {
        let of = self.model.graph_var(target.of);
        let truth = self.derivative(of, target.wrt);
        let into_v = if v == target.wrt {
            self.model.graph.int(1)
        } else {
            let v_var = self.model.graph_var(v);
            self.derivative(v_var, target.wrt)
        };
        let mut removed = Vec::with_capacity(cut.len());
        for &u in cut {
            let def = self.model.definition(u)?;
            let edge = self.model.graph.derivative(def, v, Partial::Direct);
            let edge = diff::resolve_derivatives(&mut self.model, edge);
            let from_u = if u == target.of {
                self.model.graph.int(1)
            } else {
                self.derivative(of, u)
            };
            removed.push(self.model.graph.product(vec![from_u, edge, into_v]));
        }
        let g = &mut self.model.graph;
        let removed = g.sum(removed);
        Some((v, g.sub(truth, removed)))
    }

    /// The claim is ∂Y/∂X for a name Y between: the chain rule stopped at Y.
    pub(super) fn chain_stopped(&mut self, screen: &Screen, target: Target) -> Option<Found> {
        let path = self.between(target.of, target.wrt);
        for &y in path.iter().rev() {
            if y == target.of || y == target.wrt {
                continue;
            }
            let y_var = self.model.graph_var(y);
            let partial = self.derivative(y_var, target.wrt);
            if self.fits_everywhere(screen, partial, true) {
                let mistake = Mistake::ChainStopped {
                    at: y,
                    wrt: target.wrt,
                    of: target.of,
                };
                return Some((mistake, None));
            }
        }
        None
    }
}

//! Reverse-mode accumulation: the adjoint of every name, summed over its users, and the
//! resolution and expansion of derivative placeholders that the other parts leave in a formula.

use super::{Engine, SIMPLIFY_LIMIT};
use crate::core::expr::{FastMap, Id, Node, Num, Partial, Sym};
use crate::core::factor;
use crate::core::simplify;

impl Engine<'_> {
    /// The adjoint `∂y/∂v`, raw: the sum over the users u of v of `∂y/∂u · ∂u/∂v`.
    pub(super) fn adjoint(&mut self, y: Sym, v: Sym) -> Id {
        if v == y {
            return self.g().int(1);
        }
        if let Some(&a) = self.adjoint_cache.get(&(y, v)) {
            return a;
        }
        let mut terms = Vec::new();
        for u in self.consumers(y, v) {
            let local = self.local_derivative(u, v, None);
            let upstream = match self.cut.get(&(y, u)) {
                Some(&named_or_constant) => named_or_constant,
                None => self.adjoint(y, u),
            };
            terms.push(if u == y {
                local
            } else {
                self.g().product(vec![upstream, local])
            });
        }
        let a = self.g().sum(terms);
        self.adjoint_cache.insert((y, v), a);
        a
    }

    /// The derivative of an arbitrary expression with respect to a name, through intermediates.
    pub(super) fn total_derivative(&mut self, expr: Id, wrt: Sym) -> Id {
        let names: Vec<Sym> = self.vars_of(expr).to_vec();
        let mut terms = Vec::new();
        for n in names {
            let direct = self.d(expr, n, None);
            if self.g().as_num(direct).is_some_and(Num::is_zero) {
                continue;
            }
            let through = if n == wrt {
                self.g().int(1)
            } else if self.model.definition(n).is_some() && self.depends(n, wrt) {
                self.adjoint(n, wrt)
            } else {
                continue;
            };
            terms.push(self.g().product(vec![direct, through]));
        }
        self.g().sum(terms)
    }

    /// The direct partial of an expression: a name's definition (or the expression itself)
    /// differentiated with every other name held fixed.
    fn direct_derivative(&mut self, expr: Id, wrt: Sym) -> Id {
        let formula = match *self.model.graph.node(expr) {
            Node::Var(u) if u != wrt => match self.model.definition(u) {
                Some(def) => def,
                None => return self.g().int(0),
            },
            _ => expr,
        };
        self.d(formula, wrt, None)
    }

    pub(super) fn resolve_derivatives(&mut self, expr: Id) -> Id {
        let mut map = FastMap::default();
        for id in self.model.graph.reachable(&[expr]) {
            if let Node::Deriv(of, wrt, partial) = *self.model.graph.node(id) {
                let inner = self.substitute(of, &map);
                let d = match partial {
                    Partial::Total => self.total_derivative(inner, wrt),
                    Partial::Direct => self.direct_derivative(inner, wrt),
                };
                // A derivative of a derivative can be a graph whose tree is exponential in the
                // nesting (`d/dw(d/dw(...))` 14 deep): simplifying would write the tree out,
                // so a large one is kept as the shared graph, which evaluates the same.
                let mut sizes = FastMap::default();
                let d = if factor::tree_nodes(&self.model.graph, d, &mut sizes) <= SIMPLIFY_LIMIT {
                    let options = self.recognise_options();
                    simplify::simplify(self.g(), d, &options)
                } else {
                    d
                };
                map.insert(id, d);
            }
        }
        self.substitute(expr, &map)
    }

    pub(super) fn expand_all(&mut self, roots: &[Id]) -> Vec<Id> {
        if self.expanded_defs.is_empty() {
            self.expanded_defs = vec![None; self.model.symbols.len()];
            for s in self.model.order.clone() {
                let def = self
                    .model
                    .definition(s)
                    .expect("computed names have definitions");
                let expanded_defs = &self.expanded_defs;
                let mapped = self.model.graph.rewrite(&[def], |g, node| match node {
                    Node::Var(t) => expanded_defs[t.index()].unwrap_or_else(|| g.var(t)),
                    other => g.add(other),
                });
                self.expanded_defs[s.index()] = Some(mapped[&def]);
            }
        }
        let expanded_defs = &self.expanded_defs;
        let mapped = self.model.graph.rewrite(roots, |g, node| match node {
            Node::Var(t) => expanded_defs[t.index()].unwrap_or_else(|| g.var(t)),
            other => g.add(other),
        });
        roots.iter().map(|r| mapped[r]).collect()
    }

    pub(super) fn contains_deriv(&mut self, e: Id) -> bool {
        if let Some(&b) = self.has_deriv.get(&e) {
            return b;
        }
        let has_deriv = &self.has_deriv;
        let unknown = self
            .model
            .graph
            .reachable_unknown(&[e], |id| has_deriv.contains_key(&id));
        for id in unknown {
            let b = matches!(self.model.graph.node(id), Node::Deriv(..))
                || self
                    .model
                    .graph
                    .children(id)
                    .iter()
                    .any(|c| self.has_deriv[c]);
            self.has_deriv.insert(id, b);
        }
        self.has_deriv[&e]
    }

    /// Replaces the `Deriv` nodes of `map` inside `e`, leaving derivative-free subterms alone.
    pub(super) fn substitute(&mut self, e: Id, map: &FastMap<Id, Id>) -> Id {
        if let Some(&m) = map.get(&e) {
            return m;
        }
        if !self.contains_deriv(e) {
            return e;
        }
        let node = self.model.graph.node(e).clone();
        let new = match node {
            Node::Add(xs) => Node::Add(xs.iter().map(|&x| self.substitute(x, map)).collect()),
            Node::Mul(xs) => Node::Mul(xs.iter().map(|&x| self.substitute(x, map)).collect()),
            Node::Pow(a, b) => Node::Pow(self.substitute(a, map), self.substitute(b, map)),
            Node::Call(f, a) => Node::Call(f, self.substitute(a, map)),
            Node::Deriv(a, s, p) => Node::Deriv(self.substitute(a, map), s, p),
            leaf => leaf,
        };
        self.g().add(new)
    }
}

//! The derivation as a textbook shows it: the chain of names from a result down to a
//! parameter, and the backprop style that writes each layer's error term and substitutes it.

use super::{Derivations, Engine, Rule, Step, Target};
use crate::core::expr::{FastMap, FastSet, Func, Id, Node, Partial, Sym};
use crate::core::model::SymKind;
use crate::core::simplify::{self, Options};

impl Engine<'_> {
    /// The total derivative `∂of/∂wrt` of one name with respect to another.
    pub(super) fn deriv_name(&mut self, of: Sym, wrt: Sym) -> Id {
        let v = self.g().var(of);
        self.g().deriv(v, wrt)
    }

    /// The local derivative `∂u/∂v` of u's definition, as the chain rule writes its factors:
    /// marked direct where it is not the total derivative (see [`Engine::partial`]).
    pub(super) fn local_name(&mut self, u: Sym, v: Sym) -> Id {
        let kind = match self.model.definition(u) {
            Some(def) if self.holds_dependents_fixed(def, v) => Partial::Direct,
            _ => Partial::Total,
        };
        let var = self.g().var(u);
        self.g().derivative(var, v, kind)
    }

    /// `∂e/∂x` of one formula with every other name held fixed, as the rules write it: marked
    /// direct where a name in it other than x depends on x (there the total derivative goes
    /// through that name too and differs), plain elsewhere (the two are the same).
    pub(super) fn partial(&mut self, e: Id, x: Sym) -> Id {
        let kind = if self.holds_dependents_fixed(e, x) {
            Partial::Direct
        } else {
            Partial::Total
        };
        self.g().derivative(e, x, kind)
    }

    /// Whether `e` mentions a computed name other than `x` that depends on `x`.
    fn holds_dependents_fixed(&mut self, e: Id, x: Sym) -> bool {
        if let Some(&known) = self.held_fixed.get(&(e, x)) {
            return known;
        }
        let names = self.computed_vars_of(e).to_vec();
        let held = names.into_iter().any(|v| v != x && self.depends(v, x));
        self.held_fixed.insert((e, x), held);
        held
    }

    /// The chain of single users from `from` upwards: the last name reached (a fork or `y`) and
    /// the local derivatives passed, from the top down.
    /// A name whose adjoint is a named term ends a chain: the term stands for the rest.
    pub(super) fn single_user_chain(&mut self, y: Sym, from: Sym) -> (Sym, Vec<(Sym, Sym)>) {
        let mut edges = Vec::new();
        let mut current = from;
        while current != y {
            if current != from && self.cut.contains_key(&(y, current)) {
                break;
            }
            let consumers = self.consumers(y, current);
            if consumers.len() != 1 {
                break;
            }
            edges.push((consumers[0], current));
            current = consumers[0];
        }
        edges.reverse();
        (current, edges)
    }

    pub(super) fn chain_steps(
        &mut self,
        t: Target,
        shown: &mut FastSet<(Sym, Sym)>,
        steps: &mut Vec<Step>,
    ) {
        let mut edges_in_order: Vec<(Sym, Sym)> = Vec::new();
        let mut forks_done: FastSet<Sym> = FastSet::default();
        let mut pending: Vec<Sym> = vec![t.wrt];
        // The name declared first goes first (names are numbered as the program declares
        // them): the layer nearest the variable before the ones above it, and within a layer
        // by index, so that ∂C/∂z3_1 comes before ∂C/∂z3_2.
        while let Some(first) = (0..pending.len()).min_by_key(|&i| pending[i].index()) {
            let name = pending.remove(first);
            let lhs = self.deriv_name(t.of, name);
            let starts_a_chain = name == t.wrt && self.consumers(t.of, name).len() == 1;
            let rhs = if starts_a_chain {
                let (top, edges) = self.single_user_chain(t.of, name);
                let formula = self.chain_formula(t.of, top, &edges);
                edges_in_order.extend(edges.iter().copied());
                if top != t.of && !self.is_named(t.of, top) {
                    pending.push(top);
                }
                (formula, Rule::Chain)
            } else {
                if !forks_done.insert(name) {
                    continue;
                }
                let mut terms = Vec::new();
                for u in self.consumers(t.of, name) {
                    let (top, mut edges) = if self.cut.contains_key(&(t.of, u)) {
                        (u, Vec::new())
                    } else {
                        self.single_user_chain(t.of, u)
                    };
                    edges.push((u, name));
                    terms.push(self.chain_formula(t.of, top, &edges));
                    edges_in_order.extend(edges.iter().copied());
                    if top != t.of && !self.is_named(t.of, top) {
                        pending.push(top);
                    }
                }
                let rule = if terms.len() == 1 {
                    Rule::Chain
                } else {
                    Rule::ChainSum
                };
                (self.g().sum(terms), rule)
            };
            steps.push(Step {
                rule: rhs.1,
                lhs,
                rhs: vec![rhs.0],
            });
        }
        for (u, v) in edges_in_order {
            if shown.insert((u, v)) {
                self.local_derivative(u, v, Some(steps));
            }
        }
    }

    /// `∂y/∂top · ∂e1 · ∂e2 ...` with unevaluated derivatives, as the chain rule is written.
    pub(super) fn chain_formula(&mut self, y: Sym, top: Sym, edges: &[(Sym, Sym)]) -> Id {
        let mut factors = Vec::new();
        if top != y {
            factors.push(self.deriv_name(y, top));
        }
        for &(u, v) in edges {
            factors.push(self.local_name(u, v));
        }
        self.g().product(factors)
    }

    /// Names z whose value feeds an activation directly (`a = σ(z)`): backprop's δ nodes.
    pub(super) fn pre_activations(&mut self, y: Sym) -> Vec<Sym> {
        let mut out = Vec::new();
        for u in self.model.order.clone().into_iter().rev() {
            let Some(def) = self.model.definition(u) else {
                continue;
            };
            if let Node::Call(f, arg) = *self.model.graph.node(def)
                && matches!(f, Func::Sigmoid | Func::Tanh | Func::Relu | Func::Softplus)
                && let Node::Var(z) = *self.model.graph.node(arg)
                && self.model.symbol(z).kind == SymKind::Intermediate
                && self.depends(y, z)
                && !self.direct_dependency(y, z)
                && !out.contains(&z)
            {
                out.push(z);
            }
        }
        out
    }

    pub(super) fn direct_dependency(&mut self, y: Sym, z: Sym) -> bool {
        match self.model.definition(y) {
            Some(def) => self.mentions(def, z),
            None => false,
        }
    }

    /// `∂y/∂v` written with δ's of the pre-activations and unevaluated local derivatives.
    pub(super) fn backprop_formula(&mut self, y: Sym, v: Sym, deltas: &[Sym]) -> Id {
        let mut terms = Vec::new();
        for u in self.consumers(y, v) {
            let local = self.local_name(u, v);
            let upstream = if u == y {
                None
            } else if let Some(&named) = self.cut.get(&(y, u))
                && self.is_named(y, u)
            {
                // an error term derived in the named terms' section: written by its name
                Some(named)
            } else if deltas.contains(&u) {
                Some(self.deriv_name(y, u))
            } else {
                Some(self.backprop_formula(y, u, deltas))
            };
            terms.push(match upstream {
                Some(up) => self.g().product(vec![up, local]),
                None => local,
            });
        }
        self.g().sum(terms)
    }

    pub(super) fn backprop_error_terms(
        &mut self,
        targets: &[Target],
        options: &Options,
        shown: &mut FastSet<(Sym, Sym)>,
        out: &mut Derivations,
    ) {
        let mut ys: Vec<Sym> = Vec::new();
        for t in targets {
            if !ys.contains(&t.of) {
                ys.push(t.of);
            }
        }
        for y in ys {
            let deltas = self.pre_activations(y);
            let mut listed = deltas.clone();
            self.reading_order(y, &mut listed);
            for z in listed {
                // A named term is the same error term, derived with the named terms: each is
                // listed once.
                if self.is_named(y, z) {
                    continue;
                }
                let lhs = self.deriv_name(y, z);
                let formula = self.backprop_formula(y, z, &deltas);
                let mut steps = Vec::new();
                self.show_locals_of(formula, shown, &mut steps);
                let substituted = self.substitute_locals(formula, y, &deltas);
                let (simplified, _) = simplify::simplify_traced(self.g(), substituted, options);
                let mut rhs = vec![formula];
                for f in [substituted, simplified] {
                    if rhs.last() != Some(&f) {
                        rhs.push(f);
                    }
                }
                out.shared_steps.extend(steps);
                out.shared_steps.push(Step {
                    rule: Rule::ErrorTerm,
                    lhs,
                    rhs,
                });
                out.error_terms.push(Target { of: y, wrt: z });
            }
        }
    }

    pub(super) fn backprop_target_steps(
        &mut self,
        t: Target,
        shown: &mut FastSet<(Sym, Sym)>,
        steps: &mut Vec<Step>,
    ) {
        let options = self.recognise_options();
        let deltas = self.pre_activations(t.of);
        let lhs = self.deriv_name(t.of, t.wrt);
        let formula = if deltas.contains(&t.wrt) {
            lhs
        } else {
            self.backprop_formula(t.of, t.wrt, &deltas)
        };
        self.show_locals_of(formula, shown, steps);
        let substituted = self.substitute_locals(formula, t.of, &deltas);
        let mut rhs = vec![formula];
        if substituted != formula {
            rhs.push(substituted);
        }
        // Where the substituted form is the result before simplifying, the simplifier's
        // steps follow it; else it is simplified here, and the result is substituted after.
        if substituted != self.adjoint(t.of, t.wrt) {
            let (simplified, _) = simplify::simplify_traced(self.g(), substituted, &options);
            if rhs.last() != Some(&simplified) {
                rhs.push(simplified);
            }
        }
        if rhs.len() > 1 || formula != lhs {
            steps.push(Step {
                rule: Rule::ThroughErrorTerms,
                lhs,
                rhs,
            });
        }
    }

    /// Writes the steps of each local derivative `∂u/∂v` that appears in `formula`, once.
    pub(super) fn show_locals_of(
        &mut self,
        formula: Id,
        shown: &mut FastSet<(Sym, Sym)>,
        steps: &mut Vec<Step>,
    ) {
        for id in self.model.graph.reachable(&[formula]) {
            if let Node::Deriv(of, v, _) = *self.model.graph.node(id)
                && let Node::Var(u) = *self.model.graph.node(of)
                && self.model.definition(u).is_some()
                && self.users[v.index()].contains(&u)
                && shown.insert((u, v))
            {
                self.local_derivative(u, v, Some(steps));
            }
        }
    }

    /// Replaces each unevaluated error term `∂y/∂z` in `formula` by its value.
    pub(super) fn substitute_error_terms(&mut self, formula: Id, y: Sym) -> Id {
        let mut map = FastMap::default();
        for id in self.model.graph.reachable(&[formula]) {
            if let Node::Deriv(of, z, _) = *self.model.graph.node(id)
                && matches!(*self.model.graph.node(of), Node::Var(u) if u == y)
            {
                let value = self.adjoint(y, z);
                map.insert(id, value);
            }
        }
        if map.is_empty() {
            return formula;
        }
        self.substitute(formula, &map)
    }

    /// Replaces unevaluated local derivatives by their values, keeping the δ's of `deltas`.
    pub(super) fn substitute_locals(&mut self, formula: Id, y: Sym, deltas: &[Sym]) -> Id {
        let mut map = FastMap::default();
        for id in self.model.graph.reachable(&[formula]) {
            if let Node::Deriv(of, v, _) = *self.model.graph.node(id)
                && let Node::Var(u) = *self.model.graph.node(of)
                && !(u == y && deltas.contains(&v))
                && self.users[v.index()].contains(&u)
            {
                let local = self.local_derivative(u, v, None);
                map.insert(id, local);
            }
        }
        self.substitute(formula, &map)
    }
}

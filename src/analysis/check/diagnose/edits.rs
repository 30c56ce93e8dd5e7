//! One edit of the claim that makes it right: a name for another, a function for another, a
//! difference for a product, a term or factor dropped or scaled, a sign flipped, a power or
//! constant changed, a derivative taken with respect to the wrong name.

use crate::core::diff;
use crate::core::expr::{FastMap, Func, Graph, Id, Node, Num, Sym};

use super::{Found, Screen};
use crate::analysis::check::Checker;
use crate::analysis::check::{Edit, Mistake, Scaling};

impl Checker {
    /// A derivative in the claim taken with respect to the wrong name: `δ3` (∂C/∂z3) for
    /// `δ2`, `dC/da2` for `dC/dz2`.
    pub(super) fn derivative_edit(&mut self, screen: &Screen) -> Option<Found> {
        let unresolved = self.unresolved;
        let nodes = self.model.graph.reachable(&[unresolved]);
        for node in nodes {
            let Node::Deriv(of, wrt, partial) = *self.model.graph.node(node) else {
                continue;
            };
            let kind = self.model.symbol(wrt).kind;
            for other in self.nearby.clone() {
                if other == wrt || self.model.symbol(other).kind != kind {
                    continue;
                }
                let replacement = self.model.graph.derivative(of, other, partial);
                let replaced = self.model.graph.replace(unresolved, node, replacement);
                let candidate = diff::resolve_derivatives(&mut self.model, replaced);
                if self.fits_everywhere(screen, candidate, false) {
                    let mistake = Mistake::WrongDerivative {
                        written: node,
                        should_be: replacement,
                    };
                    return Some((mistake, Some(candidate)));
                }
            }
        }
        None
    }

    /// One edit of the claim that makes it right: a name for another, a function for
    /// another, a difference for a product, a term or factor dropped, a sign flipped, a
    /// power or constant changed. The first edit that fits, and the first of the recognised
    /// patterns among them (a wrong argument, an index slip) if it is another: a generic
    /// edit that fits by coincidence must not hide one.
    ///
    /// Names are tried from the claim's neighbourhood first; then, for a name in the claim,
    /// every other name of the program with a value at the screening points (an index slip
    /// may write a name the cost does not use), within the same budget.
    pub(super) fn single_edit(&mut self, screen: &Screen, claimed: Id) -> Vec<Found> {
        let nodes = self.model.graph.reachable(&[claimed]);
        if nodes.len() > 400 {
            return Vec::new();
        }
        let near = self.nearby.clone();
        let parents = parents_of(&self.model.graph, &nodes);
        let functions = self.functions_in_use(claimed);
        let mut found = Vec::new();
        let search = Search {
            nodes: &nodes,
            parents: &parents,
            functions: &functions,
        };
        if self.edits_of_kind(screen, claimed, &search, &near, false, &mut found) {
            return found;
        }
        let Some(first) = screen.samples.first() else {
            return found;
        };
        let far: Vec<Sym> = self
            .model
            .syms()
            .filter(|s| *s != self.rate && !near.contains(s) && first.f64.contains_key(s))
            .collect();
        if !far.is_empty() {
            self.edits_of_kind(screen, claimed, &search, &far, true, &mut found);
        }
        found
    }

    /// The functions a generic edit may swap in: those the program's definitions or the
    /// claim use, with their derivatives (σ′ belongs to a program that uses σ).
    fn functions_in_use(&self, claimed: Id) -> Vec<Func> {
        let mut roots: Vec<Id> = self
            .model
            .order
            .iter()
            .filter_map(|&s| self.model.definition(s))
            .collect();
        roots.push(claimed);
        let mut used: Vec<Func> = Vec::new();
        for id in self.model.graph.reachable(&roots) {
            if let Node::Call(f, _) = *self.model.graph.node(id) {
                for g in std::iter::once(f).chain(f.prime()) {
                    if !used.contains(&g) {
                        used.push(g);
                    }
                }
            }
        }
        used
    }

    /// The edits of each node of the claim tried in turn; `names_only` for name swaps alone.
    /// An edit that fits is added to `found` while none is there, or when it is a recognised
    /// pattern; true once a recognised pattern is found (the search stops there).
    fn edits_of_kind(
        &mut self,
        screen: &Screen,
        claimed: Id,
        search: &Search<'_>,
        names: &[Sym],
        names_only: bool,
        found: &mut Vec<Found>,
    ) -> bool {
        let parents = search.parents;
        for &node in search.nodes.iter().rev() {
            if self.budget.exhausted() {
                return false;
            }
            if names_only && !matches!(self.model.graph.node(node), Node::Var(_)) {
                continue;
            }
            let mut edits = self.edits(node, names, parents, search.functions);
            // Name swaps alone far out; and once a generic edit is found, only the edits that
            // may be a recognised pattern are worth the rest of the search.
            if names_only || !found.is_empty() {
                edits.retain(|(_, why)| matches!(why, Edit::WrongName | Edit::WrongArgument));
            }
            // A name or number is shared by every place it occurs: edit it in one parent at a
            // time, so `σ'(a3)` can change without the `a3` of `(a3 − y)`.
            let leaf = matches!(self.model.graph.node(node), Node::Var(_) | Node::Num(_));
            let mut places: Vec<(Id, Id)> = Vec::new();
            for (replacement, why) in &edits {
                if leaf {
                    for &parent in parents.get(&node).map(Vec::as_slice).unwrap_or(&[]) {
                        let children = self.model.graph.children(parent);
                        for (i, &c) in children.iter().enumerate() {
                            if c != node {
                                continue;
                            }
                            // A copy of the parent per place: paid for (a name repeated in a
                            // long product has as many places as factors).
                            if !self.budget.spend(children.len() as u64) {
                                return false;
                            }
                            let edited =
                                replace_child(&mut self.model.graph, parent, i, *replacement);
                            // The parent may be shared too (`−a` in both `y − a` and `1 − a`):
                            // then edit it in one grandparent at a time.
                            let grandparents: Vec<Id> =
                                parents.get(&parent).cloned().unwrap_or_default();
                            if grandparents.len() > 1 {
                                for grandparent in grandparents {
                                    let uncles = self.model.graph.children(grandparent);
                                    for (j, &u) in uncles.iter().enumerate() {
                                        if u == parent {
                                            let outer = replace_child(
                                                &mut self.model.graph,
                                                grandparent,
                                                j,
                                                edited,
                                            );
                                            places.push((grandparent, outer));
                                        }
                                    }
                                }
                            } else {
                                places.push((parent, edited));
                            }
                        }
                    }
                    if node == claimed {
                        places.push((node, *replacement));
                    }
                } else {
                    places.push((node, *replacement));
                }
                for (old_node, new_node) in places.drain(..) {
                    let replaced = self.model.graph.replace(claimed, old_node, new_node);
                    let candidate = replaced;
                    if self.fits_everywhere(screen, candidate, false) {
                        // A number reads best with its term (`−num/den²`), a name alone
                        // unless inside a call (`σ'(a3)`).
                        let number = matches!(self.model.graph.node(node), Node::Num(_));
                        let (written, should_be) = if leaf
                            && !number
                            && !matches!(self.model.graph.node(old_node), Node::Call(..))
                        {
                            (node, *replacement)
                        } else {
                            (old_node, new_node)
                        };
                        let edit = match (
                            why,
                            self.model.graph.node(node),
                            self.model.graph.node(*replacement),
                        ) {
                            (Edit::WrongName, Node::Var(w), Node::Var(r))
                                if self.index_slip(*w, *r) =>
                            {
                                Edit::IndexSlip
                            }
                            _ => why.clone(),
                        };
                        let recognised = matches!(edit, Edit::IndexSlip | Edit::WrongArgument);
                        if !found.is_empty() && !recognised {
                            continue;
                        }
                        let mistake = Mistake::Edit {
                            written,
                            should_be,
                            edit,
                        };
                        found.push((mistake, Some(candidate)));
                        if recognised {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }

    /// Whether `written` for `meant` is an index slip: the same stem with another index
    /// (`p2` for `p1`, `y_k` for `y_i`), or an input for the output with its index, computed
    /// from it (`x1` for `s1`).
    fn index_slip(&self, written: Sym, meant: Sym) -> bool {
        let (w_stem, w_index) = stem_and_index(self.model.name(written));
        let (m_stem, m_index) = stem_and_index(self.model.name(meant));
        if w_index.is_empty() || m_index.is_empty() {
            return false;
        }
        if w_stem == m_stem {
            return w_index != m_index;
        }
        w_index == m_index && self.down_set(meant).contains(&written)
    }

    pub(super) fn edits(
        &mut self,
        node: Id,
        names: &[Sym],
        parents: &FastMap<Id, Vec<Id>>,
        functions: &[Func],
    ) -> Vec<(Id, Edit)> {
        let g = &mut self.model.graph;
        let mut out: Vec<(Id, Edit)> = Vec::new();
        let in_activation_prime = parents.get(&node).is_some_and(|ps| {
            ps.iter().any(|p| {
                matches!(
                    g.node(*p),
                    Node::Call(Func::SigmoidPrime | Func::TanhPrime | Func::ReluPrime, _)
                )
            })
        });
        match g.node(node).clone() {
            Node::Var(s) => {
                for &t in names {
                    if t == s {
                        continue;
                    }
                    let why = if in_activation_prime {
                        Edit::WrongArgument
                    } else {
                        Edit::WrongName
                    };
                    out.push((g.var(t), why));
                }
                let two = g.int(2);
                out.push((g.pow(node, two), Edit::MissingSquare));
            }
            Node::Num(n) => {
                let values = [
                    (n.neg(), Edit::NumberSign),
                    (n.mul(Num::int(2)), Edit::MissingTwo),
                    (n.mul(Num::ratio(1, 2)), Edit::ExtraTwo),
                    (Num::int(1), Edit::ExtraConstant),
                ];
                let mut seen = vec![n];
                for (v, why) in values {
                    if !seen.contains(&v) {
                        seen.push(v);
                        out.push((g.num(v), why));
                    }
                }
            }
            Node::Call(f, a) => {
                for &h in functions {
                    if h != f {
                        let edit = Edit::WrongFunction {
                            written: f,
                            meant: h,
                        };
                        out.push((g.call(h, a), edit));
                    }
                }
            }
            Node::Add(terms) => {
                let n = terms.len() as u64;
                if !self.budget.spend(2 * n * n) {
                    return out;
                }
                if terms.len() == 2 {
                    let (x, y) = (terms[0], terms[1]);
                    let negated = |g: &mut Graph, t: Id| match g.node(t).clone() {
                        Node::Mul(fs) if fs.len() == 2 && g.as_num(fs[0]) == Some(Num::int(-1)) => {
                            Some(fs[1])
                        }
                        _ => None,
                    };
                    if let Some(inner) = negated(g, y) {
                        out.push((g.product(vec![x, inner]), Edit::DifferenceForProduct));
                    }
                    if let Some(inner) = negated(g, x) {
                        out.push((g.product(vec![y, inner]), Edit::DifferenceForProduct));
                    }
                    out.push((g.product(vec![x, y]), Edit::SumForProduct));
                }
                for i in 0..terms.len() {
                    let rest: Vec<Id> = terms
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(_, &t)| t)
                        .collect();
                    // A generic edit changes one symbol: a term of one name or number.
                    if is_symbol(g, terms[i]) {
                        out.push((g.sum(rest.clone()), Edit::ExtraTerm));
                    }
                    let mut flipped = rest;
                    let neg = g.neg(terms[i]);
                    flipped.insert(i, neg);
                    out.push((g.sum(flipped), Edit::TermSign));
                    // One term short of a factor (η in the decay (1 − ηλ/n), the 2 of one
                    // part of a gradient) or with one too many.
                    let scalings: Vec<(Id, Scaling)> = {
                        let mut v = vec![
                            (g.int(2), Scaling::Two),
                            (g.num(Num::ratio(1, 2)), Scaling::Half),
                        ];
                        // A name the term already has would square it: the leaf edit
                        // ("a square missing") says that better.
                        for &name in names.iter().take(40) {
                            if !g.mentions(terms[i], name) {
                                v.push((g.var(name), Scaling::Name));
                            }
                        }
                        // The learning rate too (η missing from the decay (1 − ηλ/n)).
                        v.push((g.var(self.rate), Scaling::LearningRate));
                        v
                    };
                    // Each scaled sum copies every term: paid for, so a long sum stops early.
                    if !self.budget.spend(4 * terms.len() as u64) {
                        break;
                    }
                    for (factor, shown) in scalings {
                        for (scaled, missing) in [
                            (g.product(vec![terms[i], factor]), true),
                            (g.div(terms[i], factor), false),
                        ] {
                            let mut edited: Vec<Id> = terms.to_vec();
                            edited[i] = scaled;
                            let why = if missing {
                                Edit::TermLacksFactor(shown.clone())
                            } else {
                                Edit::TermExtraFactor(shown.clone())
                            };
                            out.push((g.sum(edited), why));
                        }
                    }
                }
            }
            Node::Mul(factors) => {
                // Each edit copies the product: paid for up front.
                let n = factors.len() as u64;
                if !self.budget.spend(2 * n * n) {
                    return out;
                }
                for i in 0..factors.len() {
                    if g.as_num(factors[i]).is_some() || !is_symbol(g, factors[i]) {
                        continue;
                    }
                    let rest: Vec<Id> = factors
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(_, &t)| t)
                        .collect();
                    out.push((g.product(rest), Edit::ExtraFactor));
                }
                // a(1 − a), σ's derivative in terms of its value, used for tanh's 1 − a².
                for (i, &x) in factors.iter().enumerate() {
                    let one = g.int(1);
                    let one_minus_x = g.sub(one, x);
                    if let Some(j) = factors.iter().position(|&f| f == one_minus_x) {
                        let two = g.int(2);
                        let square = g.pow(x, two);
                        let tanh_form = g.sub(one, square);
                        let rest: Vec<Id> = factors
                            .iter()
                            .enumerate()
                            .filter(|&(k, _)| k != i && k != j)
                            .map(|(_, &f)| f)
                            .chain(std::iter::once(tanh_form))
                            .collect();
                        out.push((g.product(rest), Edit::SigmoidFormForTanh));
                    }
                }
                if factors.len() == 2 && g.as_num(factors[0]).is_none() {
                    let (x, y) = (factors[0], factors[1]);
                    let d = g.sub(x, y);
                    out.push((d, Edit::ProductForDifference));
                }
            }
            Node::Pow(base, exponent) => {
                // (1 − t)² for 1 − t²: the square of a difference for one minus a square.
                if let Node::Add(terms) = g.node(base).clone()
                    && terms.len() == 2
                    && let Node::Mul(fs) = g.node(terms[1]).clone()
                    && fs.len() == 2
                    && g.as_num(fs[0]) == Some(Num::int(-1))
                {
                    let squared = g.pow(fs[1], exponent);
                    let negated = g.neg(squared);
                    out.push((g.sum(vec![terms[0], negated]), Edit::SquareOfDifference));
                }
                out.push((base, Edit::ExtraPower));
                if let Some(e) = g.as_num(exponent) {
                    for v in [e.add(Num::int(1)), e.add(Num::int(-1)), e.neg()] {
                        let exp = g.num(v);
                        out.push((g.pow(base, exp), Edit::WrongExponent));
                    }
                }
            }
            // max for min is a routing gate's mistake, which `gates` names.
            // Claims are judged on scalar graphs; a tensor node has no edits of its own yet.
            Node::Deriv(..) | Node::Call2(..) | Node::Const(_) | Node::Tensor(..) => {}
        }
        out
    }
}

/// Whether a term or factor is one symbol: a name or a number, or its negative.
fn is_symbol(g: &Graph, id: Id) -> bool {
    match g.node(id) {
        Node::Var(_) | Node::Num(_) => true,
        Node::Mul(fs) => {
            fs.len() == 2 && g.as_num(fs[0]) == Some(Num::MINUS_ONE) && is_symbol(g, fs[1])
        }
        _ => false,
    }
}

/// What one search for single edits walks: the claim's nodes, their parents, and the
/// functions an edit may swap in.
struct Search<'a> {
    nodes: &'a [Id],
    parents: &'a FastMap<Id, Vec<Id>>,
    functions: &'a [Func],
}

/// A name's stem and its index: `p2` → (`p`, `2`), `y_k` and `y_{k}` → (`y`, `k`); a name
/// without an index has an empty one.
fn stem_and_index(name: &str) -> (&str, &str) {
    if let Some((stem, index)) = name.split_once('_') {
        return (stem, index.trim_start_matches('{').trim_end_matches('}'));
    }
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    (stem, &name[stem.len()..])
}

/// The node with its `index`-th child replaced.
pub(super) fn replace_child(graph: &mut Graph, parent: Id, index: usize, child: Id) -> Id {
    let node = match graph.node(parent).clone() {
        Node::Add(xs) => {
            let mut xs = xs.to_vec();
            xs[index] = child;
            Node::Add(xs.into_boxed_slice())
        }
        Node::Mul(xs) => {
            let mut xs = xs.to_vec();
            xs[index] = child;
            Node::Mul(xs.into_boxed_slice())
        }
        Node::Pow(a, b) => {
            if index == 0 {
                Node::Pow(child, b)
            } else {
                Node::Pow(a, child)
            }
        }
        Node::Call(f, _) => Node::Call(f, child),
        Node::Call2(f, a, b) => {
            if index == 0 {
                Node::Call2(f, child, b)
            } else {
                Node::Call2(f, a, child)
            }
        }
        Node::Deriv(_, s, p) => Node::Deriv(child, s, p),
        n @ (Node::Num(_) | Node::Const(_) | Node::Var(_)) => n,
        Node::Tensor(op, xs) => {
            let mut xs = xs.to_vec();
            xs[index] = child;
            Node::Tensor(op, xs.into_boxed_slice())
        }
    };
    graph.add(node)
}

pub(super) fn parents_of(graph: &Graph, nodes: &[Id]) -> FastMap<Id, Vec<Id>> {
    let mut parents: FastMap<Id, Vec<Id>> = FastMap::default();
    for &n in nodes {
        for c in graph.children(n) {
            parents.entry(c).or_default().push(n);
        }
    }
    parents
}

//! Local derivatives derived once per site. In a definition where many names each sit alone in
//! a term of one shape under the same factors (a penalty's `λ·Σw²/(2n)`: every weight in its
//! own square, inside the same sum, times the same `λ/(2n)`), the local derivative by each of
//! those names is the same formula up to the name. The first is derived and simplified as any
//! other; the others fill its simplified shape with their own names (see
//! [`Shapes::simplify_refillable`]), which is what deriving and simplifying each would give,
//! without walking the definition or building the raw derivative once per name.
//!
//! A site is found by the descent [`Engine::d_mentioning`] makes without steps: through a sum
//! to the one term mentioning the name (a term without a numeric coefficient), through a
//! product to the one factor mentioning it (not a denominator), down to a term whose only
//! name is that one. A name met twice, or under any other rule, has no site and is derived
//! as before.

use super::rules::is_denominator;
use super::{Engine, LARGE_SUM};
use crate::core::expr::{FastMap, FastSet, Graph, Id, Node, Sym};
use crate::core::simplify::{Refill, Shapes};

/// Definitions with at most this many names are derived name by name: for so few, finding
/// the sites would cost about what it saves.
const SITE_NAMES_MIN: usize = 64;

/// The most nodes the term holding a name may have.
const LEAF_NODES: usize = 16;

/// Where names sit in one definition.
#[derive(Default)]
pub(super) struct Sites {
    /// Each name whose site it shares with another name: the site's index and the name's
    /// node.
    by_name: FastMap<Sym, (u32, Id)>,
    /// Each site's simplified local derivative, by the site's index.
    templates: Vec<TemplateState>,
}

/// Where a site's template stands.
enum TemplateState {
    /// None of its names derived yet.
    Pending,
    /// Its first name's derivative had no shape to fill: its names are derived one by one.
    Unshaped,
    Ready(Template),
}

/// A site's local derivative for one of its names, and that name's slot among the formula's
/// names (`None` when the derivative does not mention it).
struct Template {
    refill: Refill,
    slot: Option<usize>,
}

/// A site: the factors around the term (a context), the term's shape with its name left
/// out, and the name's place in id order among the factors' names (the simplifier's
/// placeholders follow that order).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Site {
    context: u32,
    shape: u32,
    rank: u32,
}

/// A context: the product factors around a term, one (product, factor) step at a time from
/// the definition down.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Step {
    outer: u32,
    product: Id,
    factor: u32,
}

/// How a term's nodes are written in a shape key: a node without the name is itself, the
/// name is `NAME`, and a node with the name below it is its shape's number past `SHAPED`.
const NAME: u32 = u32::MAX;
const SHAPED: u32 = 1 << 31;

/// What [`Engine::sites_of`] gathers while it walks a definition.
#[derive(Default)]
struct Walk {
    /// Each name found alone in a term: the term's context, its shape and the name's node;
    /// `None` once the name is found twice or under a rule that is not a plain descent.
    found: FastMap<Sym, Option<(u32, u32, Id)>>,
    /// Each context's step (context 0, the definition itself, has none), and each step's
    /// context.
    steps: Vec<Option<Step>>,
    contexts: FastMap<Step, u32>,
    shapes: FastMap<Node, u32>,
    /// A term's nodes, the walk's stack and the nodes' codes, reused from term to term.
    nodes: Vec<Id>,
    stack: Vec<Id>,
    codes: Vec<u32>,
}

impl Walk {
    fn spoil(&mut self, names: &[Sym]) {
        for &s in names {
            self.found.insert(s, None);
        }
    }

    /// A name found in a term (or under another rule): a name found twice has no site.
    fn find(&mut self, name: Sym, at: Option<(u32, u32, Id)>) {
        match self.found.entry(name) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(at);
            }
            std::collections::hash_map::Entry::Occupied(mut slot) => {
                slot.insert(None);
            }
        }
    }

    /// The shape of `term`, whose only name is the one it holds, and that name's node;
    /// `None` when the term has more than `LEAF_NODES` nodes or holds a derivative or a
    /// tensor operation.
    fn term_shape(&mut self, graph: &Graph, term: Id) -> Option<(u32, Id)> {
        if let Node::Var(_) = graph.node(term) {
            return Some((NAME, term));
        }
        let Walk {
            nodes,
            stack,
            codes,
            shapes,
            ..
        } = self;
        codes.clear();
        let small = graph.small_reachable(term, LEAF_NODES, nodes, stack);
        if !small
            || nodes
                .iter()
                .any(|&id| matches!(graph.node(id), Node::Deriv(..) | Node::Tensor(..)))
        {
            return None;
        }
        // A node's children were built before it: in id order, each is coded before its
        // parents.
        let mut name_node = None;
        for &id in nodes.iter() {
            let code_of = |c: Id| codes[nodes.binary_search(&c).expect("a child is reached")];
            let node = graph.node(id);
            let code = match node {
                Node::Var(_) => {
                    name_node = Some(id);
                    NAME
                }
                _ if node.child_ids().all(|c| code_of(c) < SHAPED) => id.0,
                _ => {
                    let key = node.map_children(|c| Id(code_of(c)));
                    let next = shapes.len() as u32;
                    SHAPED + *shapes.entry(key).or_insert(next)
                }
            };
            codes.push(code);
        }
        let at = nodes.binary_search(&term).expect("the term is reached");
        Some((codes[at], name_node?))
    }
}

impl Engine<'_> {
    /// `∂u/∂v` (u defined by `def`) from the simplified derivative of another name at the
    /// same site, or `None` when v has no shared site, when its site's first name had no
    /// shape to fill, or when its own name keeps a formula from having a shape.
    pub(super) fn local_derivative_by_site(&mut self, u: Sym, def: Id, v: Sym) -> Option<Id> {
        if self.sites.len() <= u.index() {
            self.sites
                .resize_with(self.model.symbols.len().max(u.index() + 1), || None);
        }
        if self.sites[u.index()].is_none() {
            let sites = self.sites_of(def).unwrap_or_default();
            self.sites[u.index()] = Some(sites);
        }
        let sites = self.sites[u.index()].as_ref().expect("found above");
        let &(site, node) = sites.by_name.get(&v)?;
        let site = site as usize;
        match &sites.templates[site] {
            TemplateState::Unshaped => None,
            TemplateState::Ready(template) => {
                let shapes = self.shapes.as_mut().expect("made with the template");
                if shapes.keeps(v) {
                    return None;
                }
                let graph = &mut self.model.graph;
                Some(shapes.refill(graph, &template.refill, template.slot, node))
            }
            TemplateState::Pending => {
                // The site's first name: derived and simplified as any other (the result
                // cached as `local_derivative` caches it), and its simplified shape kept.
                let raw = self.d(def, v, None);
                let mut state = TemplateState::Unshaped;
                let result = match self.simplified_cache.get(&raw) {
                    Some(&known) => known,
                    None => {
                        self.make_shapes();
                        let shapes = self.shapes.as_mut().expect("made above");
                        let result = match shapes.simplify_refillable(&mut self.model.graph, raw) {
                            Some((result, refill)) => {
                                // A derivative node names its variable outside the
                                // placeholders: a shape with one would keep the first name's.
                                if let Some(refill) = refill.filter(|refill| {
                                    !refill.layout.iter().any(|n| matches!(n, Node::Deriv(..)))
                                }) {
                                    let slot = refill.names.iter().position(|&n| n == node);
                                    state = TemplateState::Ready(Template { refill, slot });
                                }
                                result
                            }
                            None => self.simplify_recognising(&[raw])[0],
                        };
                        self.simplified_cache.insert(raw, result);
                        result
                    }
                };
                let sites = self.sites[u.index()].as_mut().expect("found above");
                sites.templates[site] = state;
                Some(result)
            }
        }
    }

    /// Makes the [`Shapes`] of the recognising options when first needed.
    pub(super) fn make_shapes(&mut self) {
        if self.shapes.is_none() {
            let options = self.recognise_options();
            self.shapes = Some(Shapes::new(&self.model.graph, &options));
        }
    }

    /// The sites of the names of `def` that share one with another name, or `None` when it
    /// has none worth finding (few names; a wide sum of terms of several names each, a
    /// neuron's, which is read no further; a graph past 2³¹ nodes) or when finding them
    /// would cost more than the definition's size allows.
    fn sites_of(&mut self, def: Id) -> Option<Sites> {
        if self.vars_of(def).len() <= SITE_NAMES_MIN || self.model.graph.len() >= SHAPED as usize {
            return None;
        }
        // The work beyond reading each node once (names spoiled, names around a shared
        // term) is counted: past the budget the definition is left without sites, so finding
        // them stays linear in its size however its subterms are shared or its products long.
        let mut budget = 8 * self.vars_of(def).len() + 10_000;
        let mut walk = Walk {
            steps: vec![None],
            ..Walk::default()
        };
        // Each node of several names is walked once; one met again has its names twice.
        let mut walked: FastSet<Id> = FastSet::default();
        let mut stack = vec![(def, 0u32)];
        while let Some((e, context)) = stack.pop() {
            let names = self.vars_of(e);
            let (count, first) = (names.len(), names.first().copied());
            // (A term of one name met again is found twice: see `Walk::find`.)
            if count > 1 && !walked.insert(e) {
                budget = budget.checked_sub(count)?;
                let names = self.vars_of(e).to_vec();
                walk.spoil(&names);
                continue;
            }
            match (count, first) {
                (0, _) => continue,
                (1, Some(name)) => {
                    let at = walk
                        .term_shape(&self.model.graph, e)
                        .map(|(shape, node)| (context, shape, node));
                    walk.find(name, at);
                    continue;
                }
                _ => {}
            }
            match self.model.graph.node(e).clone() {
                Node::Add(terms) => {
                    if terms.len() > LARGE_SUM
                        && self.vars_of(terms[0]).len() > 1
                        && !matches!(self.model.graph.node(terms[0]), Node::Add(_))
                    {
                        return None;
                    }
                    for &t in terms.iter() {
                        let graph = &self.model.graph;
                        let coefficient = matches!(graph.node(t),
                            Node::Mul(fs) if graph.as_num(fs[0]).is_some());
                        if coefficient {
                            let names = self.vars_of(t).to_vec();
                            budget = budget.checked_sub(names.len())?;
                            walk.spoil(&names);
                        } else {
                            stack.push((t, context));
                        }
                    }
                }
                Node::Mul(factors) => {
                    for (i, &f) in factors.iter().enumerate() {
                        if is_denominator(&self.model.graph, f) {
                            let names = self.vars_of(f).to_vec();
                            budget = budget.checked_sub(names.len())?;
                            walk.spoil(&names);
                            continue;
                        }
                        let step = Step {
                            outer: context,
                            product: e,
                            factor: i as u32,
                        };
                        let next = walk.steps.len() as u32;
                        let inner = *walk.contexts.entry(step).or_insert(next);
                        if inner == next {
                            walk.steps.push(Some(step));
                        }
                        stack.push((f, inner));
                    }
                }
                _ => {
                    let names = self.vars_of(e).to_vec();
                    budget = budget.checked_sub(names.len())?;
                    walk.spoil(&names);
                }
            }
        }
        // A term's context and shape shared with another name's: only then are the names
        // around it gathered, to find the name's rank among them.
        let mut sharing: FastMap<(u32, u32), u32> = FastMap::default();
        for &(context, shape, _) in walk.found.values().flatten() {
            *sharing.entry((context, shape)).or_default() += 1;
        }
        let mut around: FastMap<u32, Vec<Id>> = FastMap::default();
        let mut at_site: Vec<(Sym, Site, Id)> = Vec::new();
        for (&name, found) in &walk.found {
            let Some((context, shape, node)) = *found else {
                continue;
            };
            if sharing[&(context, shape)] < 2 {
                continue;
            }
            let names = self.names_around(context, &walk.steps, &mut around, &mut budget)?;
            let rank = names.partition_point(|&n| n < node) as u32;
            let site = Site {
                context,
                shape,
                rank,
            };
            at_site.push((name, site, node));
        }
        let mut sharing: FastMap<Site, u32> = FastMap::default();
        for &(_, site, _) in &at_site {
            *sharing.entry(site).or_default() += 1;
        }
        let mut index: FastMap<Site, u32> = FastMap::default();
        let mut by_name = FastMap::default();
        for (name, site, node) in at_site {
            if sharing[&site] > 1 {
                let next = index.len() as u32;
                let at = *index.entry(site).or_insert(next);
                by_name.insert(name, (at, node));
            }
        }
        Some(Sites {
            by_name,
            templates: (0..index.len()).map(|_| TemplateState::Pending).collect(),
        })
    }

    /// The name nodes of the factors around a context's terms, sorted: those of its own
    /// step's other factors and those around the step's product. Each context's are gathered
    /// once, and every name gathered is charged to `budget` (`None` once it runs out). A name
    /// without a node of its own (one a derivative is taken with respect to) is none of a
    /// formula's placeholders, and is left out.
    fn names_around<'a>(
        &mut self,
        context: u32,
        steps: &[Option<Step>],
        around: &'a mut FastMap<u32, Vec<Id>>,
        budget: &mut usize,
    ) -> Option<&'a [Id]> {
        if !around.contains_key(&context) {
            let mut names = match steps[context as usize] {
                None => Vec::new(),
                Some(step) => {
                    let mut names = self
                        .names_around(step.outer, steps, around, budget)?
                        .to_vec();
                    let Node::Mul(factors) = self.model.graph.node(step.product).clone() else {
                        unreachable!("a step is into a product")
                    };
                    for (j, &other) in factors.iter().enumerate() {
                        if j != step.factor as usize {
                            self.vars_of(other);
                            let (syms, graph) = (&self.vars[&other], &self.model.graph);
                            *budget = budget.checked_sub(syms.len())?;
                            names.extend(syms.iter().filter_map(|&s| graph.find(&Node::Var(s))));
                        }
                    }
                    names
                }
            };
            names.sort_unstable();
            names.dedup();
            around.insert(context, names);
        }
        Some(&around[&context])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Model;
    use proptest::prelude::*;

    /// `a` of `ga` and `b` of `gb` are the same formula (the graphs are two loads of one
    /// program, so names and numbers agree).
    fn same_formula(ga: &Graph, a: Id, gb: &Graph, b: Id) -> bool {
        let (na, nb) = (ga.node(a), gb.node(b));
        let (ca, cb): (Vec<Id>, Vec<Id>) = (na.child_ids().collect(), nb.child_ids().collect());
        ca.len() == cb.len()
            && na.map_children(|_| Id(0)) == nb.map_children(|_| Id(0))
            && ca
                .iter()
                .zip(&cb)
                .all(|(&x, &y)| same_formula(ga, x, gb, y))
    }

    const SHAPES: [&str; 12] = [
        "{w}^2",
        "abs({w})",
        "{w}",
        "3*{w}^2",
        "({w}-1)^2",
        "sigmoid({w})",
        "{w}*{w}",
        "{w}^3",
        "exp({w})",
        "log(1+{w}^2)",
        "{w}^2/2",
        "tanh({w})^2",
    ];

    const OUTERS: [&str; 9] = [
        "lambda/(2*n)*({S})",
        "({S})*lambda",
        "({S})/n",
        "{S}",
        "sqrt({S})",
        "({S})^2",
        "lambda*({S}) + mu*({T})",
        "-lambda*({S})",
        "lambda*(({S}) + b^2)",
    ];

    /// A neuron of `weights` inputs whose cost adds a penalty: `outer` around a sum of
    /// `shape` over the weights (in `rows` parenthesised groups; the second half of another
    /// shape when `mixed`), with the penalty's own names declared before the weights, after
    /// them, or among them (`placing` 0, 1, 2), or first met among them (3).
    fn penalised(
        weights: usize,
        shape: usize,
        outer: usize,
        rows: usize,
        mixed: Option<usize>,
        placing: usize,
    ) -> String {
        let ws: Vec<String> = (1..=weights).map(|i| format!("w{i}")).collect();
        let xs: Vec<String> = (1..=weights).map(|i| format!("x{i}")).collect();
        let group = |names: &[String], shape: &str| -> String {
            let parts: Vec<String> = (0..rows)
                .map(|r| {
                    let terms: Vec<String> = names
                        .iter()
                        .skip(r)
                        .step_by(rows)
                        .map(|w| shape.replace("{w}", w))
                        .collect();
                    terms.join(" + ")
                })
                .filter(|p| !p.is_empty())
                .collect();
            if rows == 1 {
                parts.join(" + ")
            } else {
                format!("({})", parts.join(") + ("))
            }
        };
        let sum = match mixed {
            Some(other) => {
                let half = weights / 2;
                format!(
                    "{} + {}",
                    group(&ws[..half], SHAPES[shape]),
                    group(&ws[half..], SHAPES[other])
                )
            }
            None => group(&ws, SHAPES[shape]),
        };
        let third = group(&ws[..weights / 3], SHAPES[(shape + 1) % SHAPES.len()]);
        let penalty = OUTERS[outer].replace("{S}", &sum).replace("{T}", &third);
        let scalars = "input lambda, mu, n\n";
        let inputs = format!("input {}\ntarget y\n", xs.join(", "));
        let half = weights / 2;
        let declared = match placing {
            0 => format!("{scalars}{inputs}param {}, b\n", ws.join(", ")),
            1 => format!("{inputs}param {}, b\n{scalars}", ws.join(", ")),
            _ => format!(
                "{inputs}param {}\n{scalars}param {}, b\n",
                ws[..half].join(", "),
                ws[half..].join(", ")
            ),
        };
        let mut neuron: Vec<String> = ws
            .iter()
            .zip(&xs)
            .map(|(w, x)| format!("{w}*{x}"))
            .collect();
        if placing == 3 {
            // The penalty's names met among the weights' as the program is read (their nodes'
            // ids, which order a shape's placeholders, fall among the weights').
            neuron.insert(half, "n*x1*b".to_string());
            neuron.insert(half / 2, "lambda*mu*x2".to_string());
        }
        format!(
            "{declared}z = {} + b\na = sigmoid(z)\nC0 = (y - a)^2\ncost C = C0 + {penalty}\n",
            neuron.join(" + ")
        )
    }

    /// Every parameter's local derivative of the cost through sites, and how many parameters
    /// had a shared site; and the same derivatives derived and simplified one by one (the way
    /// every other local derivative is) in another load of the program. Panics where they
    /// differ.
    fn by_site_and_one_by_one(source: &str) -> usize {
        let mut model: Model = crate::lang::load::load(source).expect("the program loads");
        let mut other = model.clone();
        let cost = model.lookup("C").expect("a cost");
        let params: Vec<Sym> = model.params().collect();
        let mut engine = Engine::new(&mut model);
        let by_site: Vec<Id> = params
            .iter()
            .map(|&v| engine.local_derivative(cost, v, None))
            .collect();
        let shared = engine.sites[cost.index()]
            .as_ref()
            .map_or(0, |sites| sites.by_name.len());
        let graph = engine.model.graph.clone();
        let mut plain = Engine::new(&mut other);
        let def = plain.model.definition(cost).expect("defined");
        for (&v, &found) in params.iter().zip(&by_site) {
            let raw = plain.d(def, v, None);
            let derived = plain.simplify_recognising(&[raw])[0];
            assert!(
                same_formula(&graph, found, &plain.model.graph, derived),
                "∂C/∂{} differs by site in\n{source}",
                plain.model.name(v)
            );
        }
        shared
    }

    #[test]
    fn a_penalty_of_squares_is_derived_once_for_every_weight() {
        // Nielsen's λ/(2n)·Σw², weights in rows and the penalty's names declared among them.
        for placing in 0..4 {
            for rows in [1, 5] {
                let source = penalised(70, 0, 0, rows, None, placing);
                assert_eq!(by_site_and_one_by_one(&source), 70, "{source}");
            }
        }
    }

    #[test]
    fn names_not_in_a_plain_descent_have_no_site() {
        // A coefficient on each term, and a square root around the sum: no site.
        assert_eq!(by_site_and_one_by_one(&penalised(70, 3, 0, 1, None, 0)), 0);
        assert_eq!(by_site_and_one_by_one(&penalised(70, 0, 4, 1, None, 0)), 0);
        // Too few names to look for sites.
        assert_eq!(by_site_and_one_by_one(&penalised(20, 0, 0, 1, None, 0)), 0);
    }

    /// A product of `factors` sums, each of the squares of `names` parameters of its own.
    fn product_of_sums(factors: usize, names: usize) -> String {
        let params: Vec<String> = (1..=factors)
            .flat_map(|f| (1..=names).map(move |k| format!("p{f}_{k}")))
            .collect();
        let sums: Vec<String> = (1..=factors)
            .map(|f| {
                let squares: Vec<String> = (1..=names).map(|k| format!("p{f}_{k}^2")).collect();
                format!("({})", squares.join(" + "))
            })
            .collect();
        format!(
            "input x\nparam {}\ncost C = x*{}\n",
            params.join(", "),
            sums.join("*")
        )
    }

    #[test]
    fn the_names_around_a_site_are_gathered_within_a_budget() {
        // Two sums of 40 squares: each square's site is its sum's place in the product, and
        // the names around it are the other sum's 40.
        assert_eq!(by_site_and_one_by_one(&product_of_sums(2, 40)), 80);
        // 150 sums of two: the names around each are the other 298, gathered for each of the
        // 150 places: past the budget of the definition's size, it is left without sites.
        let mut model = crate::lang::load::load(&product_of_sums(150, 2)).expect("loads");
        let cost = model.lookup("C").expect("a cost");
        let def = model.definition(cost).expect("defined");
        let mut engine = Engine::new(&mut model);
        assert!(engine.sites_of(def).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 48,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        /// Whatever the penalty's shape and outer form, a derivative found through a site is
        /// the one deriving and simplifying it alone gives.
        #[test]
        fn a_derivative_by_site_is_the_one_derived_alone(
            weights in 65usize..90,
            shape in 0..SHAPES.len(),
            outer in 0..OUTERS.len(),
            rows in prop::sample::select(vec![1usize, 2, 5]),
            mixed in prop::option::weighted(0.25, 0..SHAPES.len()),
            placing in 0usize..4,
        ) {
            by_site_and_one_by_one(&penalised(weights, shape, outer, rows, mixed, placing));
        }
    }
}

//! Differentiation through the named intermediates, recording every step it takes.
//!
//! A derivative `∂Y/∂X` is computed the way a textbook does it: the chain rule along the names
//! between Y and X (a sum over the names that use a name where it feeds several), each local
//! derivative `∂u/∂v` of one definition by the rule that gives it (sum, product, quotient,
//! power, the derivative of each built-in), then substitution and simplification. The result is
//! the reverse-mode adjoint, built once per name and shared, so the gradient of a large network
//! stays a graph a small multiple of the cost's size. When steps are asked for, each rule
//! application is written down as it happens; the derivation shown is the trace taken.

use crate::core::expr::{FastMap, FastSet, Func, Graph, Id, Node, Num, Partial, Sym};
use crate::core::factor;
use crate::core::model::{Model, SymKind};
use crate::core::simplify::{self, Options, Snapshot};

/// One line of a derivation: `lhs = rhs[0] = rhs[1] = ...`, justified by `rule`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub rule: String,
    pub lhs: Id,
    pub rhs: Vec<Id>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Style {
    /// The chain-rule product along the path, per target.
    #[default]
    Chain,
    /// Shared error terms δ = ∂C/∂z from the output backwards, then each gradient through its δ.
    Backprop,
}

#[derive(Copy, Clone, Debug, Default)]
pub struct Config {
    pub style: Style,
    /// Also give each result in inputs and parameters alone.
    pub expand: bool,
    /// Record the steps (off for large networks: results alone).
    pub steps: bool,
    /// Without `expand`: still give each result that uses named terms in inputs and
    /// parameters alone when that prints in at most [`SMALL_EXPANSION`] bytes (JSON does, so
    /// a result can be read without its terms).
    pub expand_if_small: bool,
}

/// A derivative asked for: `∂of/∂wrt`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub of: Sym,
    pub wrt: Sym,
}

impl Target {
    /// The target as the input language and JSON's `target` field spell it: `dC/dw3`.
    pub fn plain_label(self, model: &Model) -> String {
        format!("d{}/d{}", model.name(self.of), model.name(self.wrt))
    }
}

#[derive(Clone, Debug)]
pub struct Derivation {
    pub target: Target,
    pub steps: Vec<Step>,
    /// Simplified, in terms of the named intermediates.
    pub result: Id,
    /// Simplified, in inputs and parameters alone (with `Config::expand`).
    pub expanded: Option<Id>,
}

/// An adjoint shared by several gradients or paths, given a name the results are written in:
/// `δ3_1 = ∂C/∂z3_1` (a pre-activation's, named as `check` reads it) or `dC/dh2` (any other).
/// Its symbol is a computed name of the model (kind `ErrorTerm`), evaluated after the forward
/// pass from its definition, so every gradient reads it rather than recomputing it.
#[derive(Clone, Debug)]
pub struct NamedTerm {
    pub sym: Sym,
    /// The adjoint it names: `∂of/∂wrt`.
    pub target: Target,
    /// Simplified, in the named intermediates and the named terms before it.
    pub definition: Id,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Default)]
pub struct Derivations {
    /// The named adjoints the results use, each derived once, from the output backwards (each
    /// defined before any term that uses it).
    pub terms: Vec<NamedTerm>,
    /// With `Config::expand`: the approximate printed size in bytes of the expanded results
    /// when it is over [`EXPAND_LIMIT`] (the expansion is then not built).
    pub expansion_too_large: Option<u64>,
    /// Steps shared by every target: the error terms of `Style::Backprop` and their local
    /// derivatives. Empty in the chain style.
    pub shared_steps: Vec<Step>,
    /// The error terms δ = ∂C/∂z of the backprop style, in the order derived.
    pub error_terms: Vec<Target>,
    pub derivations: Vec<Derivation>,
}

/// Differentiates the targets. Every target's `of` must be a computed name or any name.
pub fn derive(model: &mut Model, targets: &[Target], config: &Config) -> Derivations {
    let mut engine = Engine::new(model);
    engine.run(targets, config)
}

/// The derivative of any expression of the model with respect to a name, simplified and in
/// terms of the named intermediates; `Deriv` nodes inside are differentiated first.
pub fn differentiate_expr(model: &mut Model, expr: Id, wrt: Sym) -> Id {
    let mut engine = Engine::new(model);
    let resolved = engine.resolve_derivatives(expr);
    let raw = engine.total_derivative(resolved, wrt);
    // An identity for every value of the targets: Σy = 1 of one-hot targets is not assumed.
    let options = Options {
        one_hot: Default::default(),
        ..engine.recognise_options()
    };
    simplify::simplify(&mut engine.model.graph, raw, &options)
}

/// Replaces every `Deriv` node in `expr` by the derivative it denotes (simplified).
pub fn resolve_derivatives(model: &mut Model, expr: Id) -> Id {
    Engine::new(model).resolve_derivatives(expr)
}

/// The simplifier options that rewrite each intermediate's definition (`σ(z3)`) to its name
/// (`a3`), as derivation results are written.
pub fn recognise_options(model: &mut Model) -> Options {
    Engine::new(model).recognise_options()
}

/// Substitutes every intermediate by its definition, down to inputs, targets and parameters.
pub fn expand(model: &mut Model, roots: &[Id]) -> Vec<Id> {
    Engine::new(model).expand_all(roots)
}

struct Engine<'m> {
    model: &'m mut Model,
    /// For each name, the computed names whose definitions mention it.
    users: Vec<Vec<Sym>>,
    /// Free variables of nodes, sorted.
    vars: FastMap<Id, Box<[Sym]>>,
    /// For large sums: which terms mention each variable.
    term_index: FastMap<Id, FastMap<Sym, Vec<u32>>>,
    has_deriv: FastMap<Id, bool>,
    raw_cache: FastMap<(Id, Sym), Id>,
    local_cache: FastMap<(Sym, Sym), Id>,
    /// Adjoints ∂Y/∂v, raw, per (Y, v).
    adjoint_cache: FastMap<(Sym, Sym), Id>,
    /// The names each name depends on, transitively, itself included.
    down_cache: FastMap<Sym, FastSet<Sym>>,
    expanded_defs: Vec<Option<Id>>,
    recognise: Option<Options>,
    /// Formulas simplified under the `recognise` options: raw to simplified.
    simplified_cache: FastMap<Id, Id>,
    /// Adjoints `∂y/∂u` written as a named term's `Var` or as a constant, per (y, u).
    cut: FastMap<(Sym, Sym), Id>,
    /// The names whose adjoint is a named term, per y.
    named: FastMap<Sym, FastSet<Sym>>,
}

const LARGE_SUM: usize = 8;

/// The most bytes expanded results may print in one document; beyond it `--expand` refuses
/// (an expansion repeats every shared subterm and grows with the number of paths).
pub const EXPAND_LIMIT: u64 = 1_000_000;

/// The most bytes one result's expansion may print to be given unasked (`expand_if_small`).
pub const SMALL_EXPANSION: u64 = 10_000;

/// An adjoint used by several others whose simplified formula has more nodes than this is
/// named even along a single path, so long chains stay linear in size.
const INLINE_LIMIT: u64 = 60;

/// The most tree nodes a resolved derivative may have to be simplified (see
/// `resolve_derivatives`).
const SIMPLIFY_LIMIT: u64 = 20_000;

impl<'m> Engine<'m> {
    fn new(model: &'m mut Model) -> Engine<'m> {
        let n = model.symbols.len();
        let mut engine = Engine {
            model,
            users: vec![Vec::new(); n],
            vars: FastMap::default(),
            term_index: FastMap::default(),
            has_deriv: FastMap::default(),
            raw_cache: FastMap::default(),
            local_cache: FastMap::default(),
            adjoint_cache: FastMap::default(),
            down_cache: FastMap::default(),
            expanded_defs: Vec::new(),
            recognise: None,
            simplified_cache: FastMap::default(),
            cut: FastMap::default(),
            named: FastMap::default(),
        };
        let order = engine.model.order.clone();
        for u in order {
            if let Some(def) = engine.model.definition(u) {
                for v in engine.vars_of(def).to_vec() {
                    engine.users[v.index()].push(u);
                }
            }
        }
        engine
    }

    fn g(&mut self) -> &mut Graph {
        &mut self.model.graph
    }

    fn vars_of(&mut self, root: Id) -> &[Sym] {
        if !self.vars.contains_key(&root) {
            let order = self.model.graph.reachable(&[root]);
            for id in order {
                if self.vars.contains_key(&id) {
                    continue;
                }
                let set: Box<[Sym]> = match self.model.graph.node(id) {
                    Node::Var(s) => Box::new([*s]),
                    Node::Num(_) => Box::new([]),
                    Node::Deriv(a, s, _) => {
                        let mut v = self.vars[a].to_vec();
                        v.push(*s);
                        v.sort();
                        v.dedup();
                        v.into_boxed_slice()
                    }
                    _ => {
                        let mut v: Vec<Sym> = Vec::new();
                        for c in self.model.graph.children(id) {
                            v.extend(self.vars[&c].iter().copied());
                        }
                        v.sort();
                        v.dedup();
                        v.into_boxed_slice()
                    }
                };
                self.vars.insert(id, set);
            }
        }
        &self.vars[&root]
    }

    fn mentions(&mut self, e: Id, x: Sym) -> bool {
        self.vars_of(e).binary_search(&x).is_ok()
    }

    /// The names `y` depends on (through definitions), itself included.
    fn down(&mut self, y: Sym) -> &FastSet<Sym> {
        if !self.down_cache.contains_key(&y) {
            let mut seen = FastSet::default();
            let mut stack = vec![y];
            while let Some(s) = stack.pop() {
                if !seen.insert(s) {
                    continue;
                }
                if let Some(def) = self.model.definition(s) {
                    stack.extend(self.vars_of(def).iter().copied());
                }
            }
            self.down_cache.insert(y, seen);
        }
        &self.down_cache[&y]
    }

    /// The names using `v` that lie on a path to `y`.
    fn consumers(&mut self, y: Sym, v: Sym) -> Vec<Sym> {
        let users = self.users[v.index()].clone();
        let down = self.down(y);
        users.into_iter().filter(|u| down.contains(u)).collect()
    }

    fn depends(&mut self, y: Sym, x: Sym) -> bool {
        self.down(y).contains(&x)
    }

    fn recognise_options(&mut self) -> Options {
        if let Some(options) = &self.recognise {
            return options.clone();
        }
        // Every definition and its simplified form, simplified together (shared subterms are
        // rewritten once); inserted in program order, first one wins.
        let mut named: Vec<(Id, Id)> = Vec::new();
        for s in self.model.order.clone() {
            if !matches!(
                self.model.symbol(s).kind,
                SymKind::Intermediate | SymKind::Output
            ) {
                continue;
            }
            let Some(def) = self.model.definition(s) else {
                continue;
            };
            if matches!(self.model.graph.node(def), Node::Var(_) | Node::Num(_)) {
                continue;
            }
            let var = self.g().var(s);
            named.push((def, var));
        }
        let defs: Vec<Id> = named.iter().map(|&(def, _)| def).collect();
        let simplified = simplify::simplify_all(self.g(), &defs, &Options::default());
        let mut recognise = FastMap::default();
        for (&(def, var), &simplified) in named.iter().zip(&simplified) {
            recognise.entry(def).or_insert(var);
            recognise.entry(simplified).or_insert(var);
        }
        let one_hot = self.model.one_hot.clone();
        let one_hot = one_hot
            .iter()
            .map(|group| group.iter().map(|&y| self.g().var(y)).collect())
            .collect();
        let options = Options::new(recognise, one_hot);
        self.recognise = Some(options.clone());
        options
    }

    fn run(&mut self, targets: &[Target], config: &Config) -> Derivations {
        let options = self.recognise_options();
        let mut out = Derivations {
            terms: self.name_shared_adjoints(targets, &options),
            ..Derivations::default()
        };
        if !config.steps {
            let raws: Vec<Id> = targets.iter().map(|t| self.adjoint(t.of, t.wrt)).collect();
            let results = simplify::simplify_all(self.g(), &raws, &options);
            let expanded = if config.expand {
                self.expand_within_limit(&results, &mut out)
                    .map(|e| simplify::simplify_all(self.g(), &e, &Options::default()))
            } else {
                None
            };
            for (i, t) in targets.iter().enumerate() {
                out.derivations.push(Derivation {
                    target: *t,
                    steps: Vec::new(),
                    result: results[i],
                    expanded: expanded.as_ref().map(|e| e[i]),
                });
            }
            if !config.expand && config.expand_if_small {
                self.expand_small_results(&mut out);
            }
            return out;
        }
        let mut shown_locals: FastSet<(Sym, Sym)> = FastSet::default();
        self.term_steps(&mut out.terms, &options);
        if config.style == Style::Backprop {
            self.backprop_error_terms(targets, &options, &mut shown_locals, &mut out);
        }
        for &t in targets {
            let mut steps = Vec::new();
            let lhs = self.deriv_name(t.of, t.wrt);
            let raw = if t.of == t.wrt {
                let one = self.g().int(1);
                steps.push(Step {
                    rule: "identity".into(),
                    lhs,
                    rhs: vec![one],
                });
                one
            } else if !self.depends(t.of, t.wrt) {
                let zero = self.g().int(0);
                let rule = format!(
                    "constant: {} does not depend on {}",
                    self.model.name(t.of),
                    self.model.name(t.wrt)
                );
                steps.push(Step {
                    rule,
                    lhs,
                    rhs: vec![zero],
                });
                zero
            } else {
                match config.style {
                    Style::Chain => {
                        let mut local_steps_shown = FastSet::default();
                        self.chain_steps(t, &mut local_steps_shown, &mut steps);
                    }
                    Style::Backprop => self.backprop_target_steps(t, &mut shown_locals, &mut steps),
                }
                let raw = self.adjoint(t.of, t.wrt);
                let last = steps.last().and_then(|s| s.rhs.last().copied());
                if last != Some(raw) {
                    steps.push(Step {
                        rule: "substitute the local derivatives".into(),
                        lhs,
                        rhs: vec![raw],
                    });
                }
                raw
            };
            let (result, snapshots) = simplify::simplify_traced(self.g(), raw, &options);
            push_snapshots(&mut steps, lhs, &snapshots);
            out.derivations.push(Derivation {
                target: t,
                steps,
                result,
                expanded: None,
            });
        }
        if !config.expand && config.expand_if_small {
            self.expand_small_results(&mut out);
        }
        if config.expand {
            let results: Vec<Id> = out.derivations.iter().map(|d| d.result).collect();
            if let Some(expanded) = self.expand_within_limit(&results, &mut out) {
                for (i, e) in expanded.into_iter().enumerate() {
                    let t = out.derivations[i].target;
                    let lhs = self.deriv_name(t.of, t.wrt);
                    let (x, snaps) = simplify::simplify_traced(self.g(), e, &Options::default());
                    let d = &mut out.derivations[i];
                    if e != d.result {
                        d.steps.push(Step {
                            rule: "expand: substitute the definitions".into(),
                            lhs,
                            rhs: vec![e],
                        });
                        push_snapshots(&mut d.steps, lhs, &snaps);
                    }
                    d.expanded = Some(x);
                }
            }
        }
        out
    }

    /// Each result that uses a named term, in inputs and parameters alone when that is small.
    fn expand_small_results(&mut self, out: &mut Derivations) {
        if out.terms.is_empty() {
            return;
        }
        let results: Vec<Id> = out.derivations.iter().map(|d| d.result).collect();
        let expanded = self.expand_all(&results);
        let mut memo = FastMap::default();
        let small: Vec<usize> = (0..expanded.len())
            .filter(|&i| {
                expanded[i] != results[i]
                    && factor::printed_bytes_shared(self.model, expanded[i], &mut memo)
                        <= SMALL_EXPANSION
            })
            .collect();
        let roots: Vec<Id> = small.iter().map(|&i| expanded[i]).collect();
        let simplified = simplify::simplify_all(self.g(), &roots, &Options::default());
        for (&i, e) in small.iter().zip(simplified) {
            out.derivations[i].expanded = Some(e);
        }
    }

    /// The results in inputs and parameters alone, unless they would print more than
    /// [`EXPAND_LIMIT`] bytes (measured on the graph, without building the text).
    fn expand_within_limit(&mut self, results: &[Id], out: &mut Derivations) -> Option<Vec<Id>> {
        let expanded = self.expand_all(results);
        let bytes = factor::printed_bytes(self.model, &expanded);
        if bytes > EXPAND_LIMIT {
            out.expansion_too_large = Some(bytes);
            return None;
        }
        Some(expanded)
    }

    fn is_named(&self, y: Sym, u: Sym) -> bool {
        self.named.get(&y).is_some_and(|n| n.contains(&u))
    }

    /// Decides which adjoints get a name, from the output backwards, and adds each named term
    /// to the model. An adjoint `∂y/∂u` of a computed name is named when more than one
    /// adjoint or gradient uses it and it gathers more than one path (a sum over u's users),
    /// or more than one path continues through it, or it is longer than [`INLINE_LIMIT`];
    /// one that simplifies to a number or a name is written as that instead. A chain with no
    /// fork (the seed's 1-1-1 network) keeps its single product.
    fn name_shared_adjoints(&mut self, targets: &[Target], options: &Options) -> Vec<NamedTerm> {
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
                // names: the textbook's δ). Elsewhere (a softmax output) it stays in place, so
                // that simplifying the next term cancels across its local factors.
                if count < 2 && !long && (used_by_names < 2 || !self.fans_out_linearly(u, &on_path))
                {
                    continue;
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
        terms
    }

    /// Whether every local derivative of `u` by a name on the path is a number or a name.
    fn fans_out_linearly(&mut self, u: Sym, on_path: &FastSet<Sym>) -> bool {
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

    fn simplify_cached(&mut self, raw: Id, options: &Options) -> Id {
        if let Some(&done) = self.simplified_cache.get(&raw) {
            return done;
        }
        let done = simplify::simplify(self.g(), raw, options);
        self.simplified_cache.insert(raw, done);
        done
    }

    /// Each named term's derivation: the chain rule up to the terms above it, its local
    /// derivatives (each shown once across the terms), substitution and simplification.
    fn term_steps(&mut self, terms: &mut [NamedTerm], options: &Options) {
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
                    rule: "substitute the local derivatives and the terms above".into(),
                    lhs: adjoint,
                    rhs: vec![raw],
                });
            }
            let (result, snapshots) = simplify::simplify_traced(self.g(), raw, options);
            push_snapshots(&mut steps, adjoint, &snapshots);
            for (i, step) in steps.iter_mut().enumerate() {
                if step.lhs == adjoint {
                    step.lhs = var;
                    if i == 0 {
                        step.rhs.insert(0, adjoint);
                    }
                }
            }
            term.definition = result;
            term.steps = steps;
        }
    }

    /// The total derivative `∂of/∂wrt` of one name with respect to another.
    fn deriv_name(&mut self, of: Sym, wrt: Sym) -> Id {
        let v = self.g().var(of);
        self.g().deriv(v, wrt)
    }

    /// The local derivative `∂u/∂v` of u's definition, as the chain rule writes its factors:
    /// marked direct where it is not the total derivative (see [`Engine::partial`]).
    fn local_name(&mut self, u: Sym, v: Sym) -> Id {
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
    fn partial(&mut self, e: Id, x: Sym) -> Id {
        let kind = if self.holds_dependents_fixed(e, x) {
            Partial::Direct
        } else {
            Partial::Total
        };
        self.g().derivative(e, x, kind)
    }

    /// Whether `e` mentions a computed name other than `x` that depends on `x`.
    fn holds_dependents_fixed(&mut self, e: Id, x: Sym) -> bool {
        let names = self.vars_of(e).to_vec();
        names
            .into_iter()
            .any(|v| v != x && self.model.definition(v).is_some() && self.depends(v, x))
    }

    /// A derivative placeholder of the rules in [`Engine::d`]: as printed when steps are
    /// written, plain otherwise (it is substituted away before anyone sees it).
    fn placeholder(&mut self, e: Id, x: Sym, shown: bool) -> Id {
        if shown {
            self.partial(e, x)
        } else {
            self.g().deriv(e, x)
        }
    }

    /// The chain of single users from `from` upwards: the last name reached (a fork or `y`) and
    /// the local derivatives passed, from the top down.
    /// A name whose adjoint is a named term ends a chain: the term stands for the rest.
    fn single_user_chain(&mut self, y: Sym, from: Sym) -> (Sym, Vec<(Sym, Sym)>) {
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

    fn chain_steps(&mut self, t: Target, shown: &mut FastSet<(Sym, Sym)>, steps: &mut Vec<Step>) {
        let mut edges_in_order: Vec<(Sym, Sym)> = Vec::new();
        let mut forks_done: FastSet<Sym> = FastSet::default();
        let mut pending: Vec<Sym> = vec![t.wrt];
        while let Some(name) = pending.pop() {
            let lhs = self.deriv_name(t.of, name);
            let starts_a_chain = name == t.wrt && self.consumers(t.of, name).len() == 1;
            let rhs = if starts_a_chain {
                let (top, edges) = self.single_user_chain(t.of, name);
                let formula = self.chain_formula(t.of, top, &edges);
                edges_in_order.extend(edges.iter().copied());
                if top != t.of && !self.is_named(t.of, top) {
                    pending.push(top);
                }
                (formula, "chain rule")
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
                    "chain rule"
                } else {
                    "chain rule: sum over the names that use it"
                };
                (self.g().sum(terms), rule)
            };
            steps.push(Step {
                rule: rhs.1.into(),
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
    fn chain_formula(&mut self, y: Sym, top: Sym, edges: &[(Sym, Sym)]) -> Id {
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
    fn pre_activations(&mut self, y: Sym) -> Vec<Sym> {
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

    fn direct_dependency(&mut self, y: Sym, z: Sym) -> bool {
        match self.model.definition(y) {
            Some(def) => self.mentions(def, z),
            None => false,
        }
    }

    /// `∂y/∂v` written with δ's of the pre-activations and unevaluated local derivatives.
    fn backprop_formula(&mut self, y: Sym, v: Sym, deltas: &[Sym]) -> Id {
        let mut terms = Vec::new();
        for u in self.consumers(y, v) {
            let local = self.local_name(u, v);
            let upstream = if u == y {
                None
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

    fn backprop_error_terms(
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
            for &z in &deltas {
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
                    rule: "backprop: error term".into(),
                    lhs,
                    rhs,
                });
                out.error_terms.push(Target { of: y, wrt: z });
            }
        }
    }

    fn backprop_target_steps(
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
        let (simplified, _) = simplify::simplify_traced(self.g(), substituted, &options);
        let mut rhs = vec![formula];
        for f in [substituted, simplified] {
            if rhs.last() != Some(&f) {
                rhs.push(f);
            }
        }
        if rhs.len() > 1 || formula != lhs {
            steps.push(Step {
                rule: "backprop: gradient through the error terms".into(),
                lhs,
                rhs,
            });
        }
    }

    /// Writes the steps of each local derivative `∂u/∂v` that appears in `formula`, once.
    fn show_locals_of(
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

    /// Replaces unevaluated local derivatives by their values, keeping the δ's of `deltas`.
    fn substitute_locals(&mut self, formula: Id, y: Sym, deltas: &[Sym]) -> Id {
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

    /// The simplified local derivative `∂u/∂v` of u's definition, recording its steps if asked.
    fn local_derivative(&mut self, u: Sym, v: Sym, steps: Option<&mut Vec<Step>>) -> Id {
        let def = self
            .model
            .definition(u)
            .expect("a local derivative of a computed name");
        let options = self.recognise_options();
        let Some(steps) = steps else {
            if let Some(&cached) = self.local_cache.get(&(u, v)) {
                return cached;
            }
            let raw = self.d(def, v, None);
            // Many local derivatives are the same formula (`∂z_j/∂w_jk = a_k` for every j):
            // simplify each formula once.
            let result = match self.simplified_cache.get(&raw) {
                Some(&r) => r,
                None => {
                    let r = simplify::simplify(self.g(), raw, &options);
                    self.simplified_cache.insert(raw, r);
                    r
                }
            };
            self.local_cache.insert((u, v), result);
            return result;
        };
        let lhs = self.local_name(u, v);
        let start = steps.len();
        let raw = self.d(def, v, Some(steps));
        let whole = self.partial(def, v);
        if steps.len() == start {
            let rule = if self.mentions(def, v) {
                "identity"
            } else {
                "constant"
            };
            steps.push(Step {
                rule: rule.into(),
                lhs,
                rhs: vec![whole, raw],
            });
        } else {
            // A long sum (a neuron of a wide layer) is not written out again for each of its
            // terms' derivatives: the step keeps the terms that mention v.
            let long_sum =
                matches!(self.model.graph.node(def), Node::Add(terms) if terms.len() > LARGE_SUM);
            let variable = self.model.name(v).to_string();
            let first = &mut steps[start];
            first.lhs = lhs;
            if long_sum {
                first.rule = format!("{}: the terms that mention {variable}", first.rule);
            } else {
                first.rhs.insert(0, whole);
            }
            if steps.len() - start > 1 || steps.last().and_then(|s| s.rhs.last()) != Some(&raw) {
                steps.push(Step {
                    rule: "substitute".into(),
                    lhs,
                    rhs: vec![raw],
                });
            }
        }
        let (result, snapshots) = simplify::simplify_traced(self.g(), raw, &options);
        push_snapshots(steps, lhs, &snapshots);
        self.local_cache.entry((u, v)).or_insert(result);
        result
    }

    /// The adjoint `∂y/∂v`, raw: the sum over the users u of v of `∂y/∂u · ∂u/∂v`.
    fn adjoint(&mut self, y: Sym, v: Sym) -> Id {
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
    fn total_derivative(&mut self, expr: Id, wrt: Sym) -> Id {
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

    fn resolve_derivatives(&mut self, expr: Id) -> Id {
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

    fn expand_all(&mut self, roots: &[Id]) -> Vec<Id> {
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

    fn contains_deriv(&mut self, e: Id) -> bool {
        if let Some(&b) = self.has_deriv.get(&e) {
            return b;
        }
        for id in self.model.graph.reachable(&[e]) {
            if self.has_deriv.contains_key(&id) {
                continue;
            }
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
    fn substitute(&mut self, e: Id, map: &FastMap<Id, Id>) -> Id {
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

    /// The value of a placeholder `∂child/∂x` when the child is a leaf.
    fn leaf_derivative(&mut self, child: Id, x: Sym) -> Option<Id> {
        match *self.model.graph.node(child) {
            Node::Var(s) => Some(self.g().int(if s == x { 1 } else { 0 })),
            Node::Num(_) => Some(self.g().int(0)),
            _ => None,
        }
    }

    /// `∂e/∂x` of one expression, other names held constant. Records the rule applied at each
    /// node when `steps` is given; returns the assembled, unsimplified derivative.
    fn d(&mut self, e: Id, x: Sym, mut steps: Option<&mut Vec<Step>>) -> Id {
        if !self.mentions(e, x) {
            return self.g().int(0);
        }
        if steps.is_none()
            && let Some(&r) = self.raw_cache.get(&(e, x))
        {
            return r;
        }
        let is_x = |g: &Graph, id: Id| matches!(g.node(id), Node::Var(s) if *s == x);
        let shown = steps.is_some();
        let node = self.model.graph.node(e).clone();
        let (rule, views, children): (String, Vec<Id>, Vec<Id>) = match node {
            Node::Num(_) => unreachable!("numbers mention no variable"),
            Node::Var(_) => return self.g().int(1),
            Node::Deriv(..) => {
                let resolved = self.resolve_derivatives(e);
                return self.d(resolved, x, steps);
            }
            Node::Add(terms) => {
                let dependent: Vec<usize> = if terms.len() > LARGE_SUM {
                    self.dependent_terms(e, &terms, x)
                } else {
                    (0..terms.len())
                        .filter(|&i| self.mentions(terms[i], x))
                        .collect()
                };
                let mut formula_terms = Vec::new();
                let mut children = Vec::new();
                let mut difference = false;
                for i in dependent {
                    let (c, rest) = split_coefficient(self.g(), terms[i]);
                    difference |= c.is_negative();
                    let placeholder = self.placeholder(rest, x, shown);
                    children.push(rest);
                    formula_terms.push(simplify::scale(self.g(), c, placeholder));
                }
                let formula = self.g().sum(formula_terms);
                let rule = if difference {
                    "difference rule"
                } else {
                    "sum rule"
                };
                (rule.into(), vec![formula], children)
            }
            Node::Mul(factors) => self.d_product(&factors, x, shown),
            Node::Pow(base, exponent) => {
                let base_varies = self.mentions(base, x);
                let exponent_varies = self.mentions(exponent, x);
                let db = self.placeholder(base, x, shown);
                let dp = self.placeholder(exponent, x, shown);
                if base_varies && !exponent_varies {
                    let lowered = match self.g().as_num(exponent) {
                        Some(n) => {
                            let m = n.add(Num::MINUS_ONE);
                            if m.is_one() {
                                base
                            } else {
                                let m = self.g().num(m);
                                self.g().pow(base, m)
                            }
                        }
                        None => {
                            let m1 = self.g().int(-1);
                            let m = self.g().sum(vec![exponent, m1]);
                            self.g().pow(base, m)
                        }
                    };
                    let mut f = vec![exponent, lowered];
                    let chain = !is_x(&self.model.graph, base);
                    if chain {
                        f.push(db);
                    }
                    let formula = self.g().product(f);
                    let rule = if chain {
                        "power rule, chain rule"
                    } else {
                        "power rule"
                    };
                    (
                        rule.into(),
                        vec![formula],
                        if chain { vec![base] } else { vec![] },
                    )
                } else if !base_varies {
                    let ln = self.g().call(Func::Log, base);
                    let formula = self.g().product(vec![e, ln, dp]);
                    ("exponential rule".into(), vec![formula], vec![exponent])
                } else {
                    let ln = self.g().call(Func::Log, base);
                    let t1 = self.g().product(vec![dp, ln]);
                    let m1 = self.g().int(-1);
                    let inv = self.g().pow(base, m1);
                    let t2 = self.g().product(vec![exponent, db, inv]);
                    let s = self.g().sum(vec![t1, t2]);
                    let formula = self.g().product(vec![e, s]);
                    (
                        "general power rule".into(),
                        vec![formula],
                        vec![base, exponent],
                    )
                }
            }
            Node::Call(f, u) => {
                let chain = !is_x(&self.model.graph, u);
                let du = self.placeholder(u, x, shown);
                let mut views: Vec<Vec<Id>> = Vec::new();
                let (name, zero) = match f {
                    Func::Sigmoid => {
                        let p = self.g().call(Func::SigmoidPrime, u);
                        let s = self.g().call(Func::Sigmoid, u);
                        let one = self.g().int(1);
                        let r = self.g().sub(one, s);
                        views.push(vec![p]);
                        views.push(vec![s, r]);
                        ("sigmoid", false)
                    }
                    Func::Tanh => {
                        let p = self.g().call(Func::TanhPrime, u);
                        let t = self.g().call(Func::Tanh, u);
                        let two = self.g().int(2);
                        let sq = self.g().pow(t, two);
                        let one = self.g().int(1);
                        let r = self.g().sub(one, sq);
                        views.push(vec![p]);
                        views.push(vec![r]);
                        ("tanh", false)
                    }
                    Func::Relu => {
                        let p = self.g().call(Func::ReluPrime, u);
                        views.push(vec![p]);
                        ("relu", false)
                    }
                    Func::Softplus => {
                        let s = self.g().call(Func::Sigmoid, u);
                        views.push(vec![s]);
                        ("softplus", false)
                    }
                    Func::Exp => {
                        views.push(vec![e]);
                        ("exp", false)
                    }
                    Func::Log => {
                        let m1 = self.g().int(-1);
                        let inv = self.g().pow(u, m1);
                        views.push(vec![inv]);
                        ("log", false)
                    }
                    Func::Sqrt => {
                        let half = self.g().num(Num::Rat(1, 2));
                        let m1 = self.g().int(-1);
                        let inv = self.g().pow(e, m1);
                        views.push(vec![half, inv]);
                        ("sqrt", false)
                    }
                    Func::Abs => {
                        // sign(u) as relu'(u) − relu'(−u): the convention abs'(0) = 0, as
                        // relu'(0) = 0, so a flat region (abs of a dead relu) has slope 0
                        // rather than the 0/0 of u/|u|
                        let up = self.g().call(Func::ReluPrime, u);
                        let minus_u = self.g().neg(u);
                        let down = self.g().call(Func::ReluPrime, minus_u);
                        let sign = self.g().sub(up, down);
                        views.push(vec![sign]);
                        ("abs", false)
                    }
                    Func::SigmoidPrime => {
                        let p = self.g().call(Func::SigmoidPrime, u);
                        let s = self.g().call(Func::Sigmoid, u);
                        let two = self.g().int(2);
                        let two_s = self.g().product(vec![two, s]);
                        let one = self.g().int(1);
                        let r = self.g().sub(one, two_s);
                        views.push(vec![p, r]);
                        ("derivative of sigmoid'", false)
                    }
                    Func::TanhPrime => {
                        let m2 = self.g().int(-2);
                        let t = self.g().call(Func::Tanh, u);
                        let p = self.g().call(Func::TanhPrime, u);
                        views.push(vec![m2, t, p]);
                        ("derivative of tanh'", false)
                    }
                    Func::ReluPrime => ("derivative of relu' (0 away from the kink)", true),
                };
                if zero {
                    let z = self.g().int(0);
                    (name.into(), vec![z], vec![])
                } else {
                    let formulas: Vec<Id> = views
                        .into_iter()
                        .map(|mut v| {
                            if chain {
                                v.push(du);
                            }
                            self.g().product(v)
                        })
                        .collect();
                    let rule = if chain {
                        format!("{name}, chain rule")
                    } else {
                        name.to_string()
                    };
                    (rule, formulas, if chain { vec![u] } else { vec![] })
                }
            }
        };
        let formula = *views.last().expect("every rule gives a formula");
        let mut leaves = FastMap::default();
        let mut inner = Vec::new();
        for &c in &children {
            match self.leaf_derivative(c, x) {
                Some(v) => {
                    let p = self.placeholder(c, x, shown);
                    leaves.insert(p, v);
                }
                None => inner.push(c),
            }
        }
        let leaf_view = self.substitute(formula, &leaves);
        if let Some(steps) = steps.as_deref_mut() {
            let lhs = self.partial(e, x);
            let mut rhs = views.clone();
            if leaf_view != formula {
                rhs.push(leaf_view);
            }
            steps.push(Step { rule, lhs, rhs });
        }
        let mut map = leaves;
        for c in inner {
            let dc = self.d(c, x, steps.as_deref_mut());
            let p = self.placeholder(c, x, shown);
            map.insert(p, dc);
        }
        let result = self.substitute(formula, &map);
        self.raw_cache.insert((e, x), result);
        result
    }

    fn dependent_terms(&mut self, sum: Id, terms: &[Id], x: Sym) -> Vec<usize> {
        if !self.term_index.contains_key(&sum) {
            let mut index: FastMap<Sym, Vec<u32>> = FastMap::default();
            for (i, &t) in terms.iter().enumerate() {
                for &s in self.vars_of(t).to_vec().iter() {
                    index.entry(s).or_default().push(i as u32);
                }
            }
            self.term_index.insert(sum, index);
        }
        self.term_index[&sum]
            .get(&x)
            .map(|v| v.iter().map(|&i| i as usize).collect())
            .unwrap_or_default()
    }

    fn d_product(&mut self, factors: &[Id], x: Sym, shown: bool) -> (String, Vec<Id>, Vec<Id>) {
        let is_denominator = |g: &Graph, f: Id| match g.node(f) {
            Node::Pow(_, e) => g.as_num(*e).is_some_and(Num::is_negative),
            _ => false,
        };
        let denominator_varies = factors
            .iter()
            .any(|&f| is_denominator(&self.model.graph, f) && self.mentions(f, x));
        if denominator_varies {
            let mut numerator = Vec::new();
            let mut denominator = Vec::new();
            for &f in factors {
                if is_denominator(&self.model.graph, f) {
                    let Node::Pow(b, e) = *self.model.graph.node(f) else {
                        unreachable!()
                    };
                    let n = self.g().as_num(e).expect("checked numeric").neg();
                    denominator.push(if n.is_one() {
                        b
                    } else {
                        let n = self.g().num(n);
                        self.g().pow(b, n)
                    });
                } else {
                    numerator.push(f);
                }
            }
            let u = self.g().product(numerator);
            let v = self.g().product(denominator);
            let du = self.placeholder(u, x, shown);
            let dv = self.placeholder(v, x, shown);
            let a = self.g().product(vec![du, v]);
            let b = self.g().product(vec![u, dv]);
            let top = self.g().sub(a, b);
            let two = self.g().int(2);
            let bottom = self.g().pow(v, two);
            let formula = self.g().div(top, bottom);
            return ("quotient rule".into(), vec![formula], vec![u, v]);
        }
        let dependent: Vec<usize> = (0..factors.len())
            .filter(|&i| self.mentions(factors[i], x))
            .collect();
        if dependent.len() == 1 {
            let i = dependent[0];
            let mut f: Vec<Id> = factors
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, &f)| f)
                .collect();
            let d = self.placeholder(factors[i], x, shown);
            f.push(d);
            let formula = self.g().product(f);
            return ("constant multiple".into(), vec![formula], vec![factors[i]]);
        }
        let mut terms = Vec::new();
        for &i in &dependent {
            let mut f: Vec<Id> = Vec::new();
            for (j, &g) in factors.iter().enumerate() {
                if j == i {
                    f.push(self.placeholder(g, x, shown));
                } else {
                    f.push(g);
                }
            }
            terms.push(self.g().product(f));
        }
        let formula = self.g().sum(terms);
        let children = dependent.iter().map(|&i| factors[i]).collect();
        ("product rule".into(), vec![formula], children)
    }
}

fn split_coefficient(g: &mut Graph, term: Id) -> (Num, Id) {
    if let Node::Mul(factors) = g.node(term).clone()
        && let Some(c) = g.as_num(factors[0])
    {
        let rest = g.product(factors[1..].to_vec());
        return (c, rest);
    }
    (Num::ONE, term)
}

fn push_snapshots(steps: &mut Vec<Step>, lhs: Id, snapshots: &[Snapshot]) {
    for s in snapshots {
        steps.push(Step {
            rule: format!("simplify: {}", s.rule.name()),
            lhs,
            rhs: vec![s.after],
        });
    }
}

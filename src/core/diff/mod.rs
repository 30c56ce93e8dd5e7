//! Differentiation through the named intermediates, recording every step it takes.
//!
//! A derivative `∂Y/∂X` is computed the way a textbook does it: the chain rule along the names
//! between Y and X (a sum over the names that use a name where it feeds several), each local
//! derivative `∂u/∂v` of one definition by the rule that gives it (sum, product, quotient,
//! power, the derivative of each built-in), then substitution and simplification. The result is
//! the reverse-mode adjoint, built once per name and shared, so the gradient of a large network
//! stays a graph a small multiple of the cost's size. When steps are asked for, each rule
//! application is written down as it happens; the derivation shown is the trace taken.

use crate::core::expr::{FastMap, FastSet, Func, Func2, Graph, Id, Node, Sym};
use crate::core::factor;
use crate::core::model::{Model, SymKind};
use crate::core::simplify::{self, Options, Shapes, Snapshot};

mod adjoint;
mod chain;
mod rules;
mod sites;
mod terms;

/// One line of a derivation: `lhs = rhs[0] = rhs[1] = ...`, justified by `rule`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub rule: Rule,
    pub lhs: Id,
    pub rhs: Vec<Id>,
}

/// What justifies a step: data with a stable code ([`Rule::code`], the `rule` of a step in
/// the JSON); the words a reader sees are the templates' (`rule.txt`), so that they can be
/// reworded or translated without touching the derivation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// `∂x/∂x = 1`, or a definition that is the name itself.
    Identity,
    /// A definition that does not mention the variable.
    Constant,
    /// `∂of/∂wrt = 0`: no path leads from `wrt` to `of`.
    Independent {
        of: Sym,
        wrt: Sym,
    },
    /// The chain rule along a path of names each used once.
    Chain,
    /// The chain rule at a fork: a sum over the names that use a name.
    ChainSum,
    /// The derivatives of the pieces put into the rule's formula.
    Substitute,
    /// The local derivatives put into the chain-rule product.
    SubstituteLocalDerivatives,
    /// The local derivatives and the named terms above put into a named term's chain.
    SubstituteLocalDerivativesAndTerms,
    /// `--expand`: the definitions put in for the names, down to inputs and parameters.
    ExpandDefinitions,
    /// Backpropagation: an error term δ from the ones above it.
    ErrorTerm,
    /// Backpropagation: a gradient through the error terms.
    ThroughErrorTerms,
    /// The sum (or, with a negative term, difference) rule; of a long sum only the terms that
    /// mention `mentioning` are written.
    Sum {
        difference: bool,
        mentioning: Option<Sym>,
    },
    /// A product in which one factor depends on the variable.
    ConstantMultiple,
    Product,
    Quotient,
    /// `∂uⁿ = n uⁿ⁻¹ ∂u`, with the chain rule when the base is not the variable itself.
    Power {
        chain: bool,
    },
    /// `∂aᵘ = aᵘ ln a ∂u`.
    Exponential,
    /// `∂uᵛ` with both varying.
    GeneralPower,
    /// The derivative of a built-in function, with the chain rule when its argument is not
    /// the variable itself.
    Function {
        func: Func,
        chain: bool,
    },
    /// The derivative of a built-in function of two arguments (an activation with a parameter,
    /// a cost with a threshold), with the chain rule through each argument that mentions the
    /// variable.
    Function2(Func2),
    /// `max`/`min` pass the gradient to the argument they pick.
    Routing(Func2),
    /// A simplification that changed the formula.
    Simplify(simplify::Rule),
}

impl Rule {
    /// The stable kebab-case code (docs/json.md lists them all). A built-in function's rule is
    /// coded by its name, a prime spelled `-prime` (`sigmoid-prime`); a simplification by its
    /// group after `simplify-`.
    pub fn code(&self) -> String {
        match self {
            Rule::Identity => "identity".into(),
            Rule::Constant => "constant".into(),
            Rule::Independent { .. } => "independent".into(),
            Rule::Chain => "chain".into(),
            Rule::ChainSum => "chain-sum".into(),
            Rule::Substitute => "substitute".into(),
            Rule::SubstituteLocalDerivatives => "substitute-local-derivatives".into(),
            Rule::SubstituteLocalDerivativesAndTerms => {
                "substitute-local-derivatives-and-terms".into()
            }
            Rule::ExpandDefinitions => "expand-definitions".into(),
            Rule::ErrorTerm => "backprop-error-term".into(),
            Rule::ThroughErrorTerms => "backprop-through-error-terms".into(),
            Rule::Sum {
                difference: false, ..
            } => "sum".into(),
            Rule::Sum {
                difference: true, ..
            } => "difference".into(),
            Rule::ConstantMultiple => "constant-multiple".into(),
            Rule::Product => "product".into(),
            Rule::Quotient => "quotient".into(),
            Rule::Power { .. } => "power".into(),
            Rule::Exponential => "exponential".into(),
            Rule::GeneralPower => "general-power".into(),
            Rule::Function { func, .. } => func.name().replace('\'', "-prime"),
            Rule::Function2(func) => func.name().replace('\'', "-prime"),
            Rule::Routing(f) => f.name().into(),
            Rule::Simplify(rule) => format!("simplify-{}", rule.code()),
        }
    }

    /// Whether the chain rule is applied together with this one (its argument is not the
    /// variable itself).
    pub fn with_chain_rule(&self) -> bool {
        matches!(
            self,
            Rule::Power { chain: true } | Rule::Function { chain: true, .. } | Rule::Function2(_)
        )
    }
}

/// How a derivation is written: chain-rule steps for each derivative, or backpropagation's
/// shared error terms δ = ∂C/∂z layer by layer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Style {
    /// The chain-rule product along the path, per target.
    #[default]
    Chain,
    /// Shared error terms δ = ∂C/∂z from the output backwards, then each gradient through its δ.
    Backprop,
}

/// What a derivation records: its style, whether results are expanded into inputs and
/// parameters, and whether every step is kept.
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

/// One derivative: its target, the result (a node of the model's graph, simplified and written
/// in named intermediates) and the steps that led to it.
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

/// Every derivative asked for, with the named error terms they share (each derived once).
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
    /// The error terms δ = ∂C/∂z of the backprop style that are not among `terms` (those
    /// are derived there, once), in the order derived.
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
    /// The computed names (those with a definition) among a node's free variables, sorted:
    /// the only names through which it can depend on another. A wide layer's neuron mentions
    /// hundreds of inputs and weights and no computed name, so a search over dependencies
    /// that reads these does not walk its leaves.
    computed_vars: FastMap<Id, Box<[Sym]>>,
    /// Whether a formula mentions a computed name other than x that depends on x, per
    /// (formula, x): every target's chain asks it of the same local derivatives again.
    held_fixed: FastMap<(Id, Sym), bool>,
    /// For large sums: each variable beside each term that mentions it (one index a sum,
    /// rather than a list a variable; see [`rules::TermIndex`]).
    term_index: FastMap<Id, rules::TermIndex>,
    has_deriv: FastMap<Id, bool>,
    raw_cache: FastMap<(Id, Sym), Id>,
    local_cache: FastMap<(Sym, Sym), Id>,
    /// Adjoints ∂Y/∂v, raw, per (Y, v).
    adjoint_cache: FastMap<(Sym, Sym), Id>,
    /// The names each name depends on, transitively, itself included (for the few names
    /// asked about often: the cost, the names a derivative is taken of).
    down_cache: FastMap<Sym, FastSet<Sym>>,
    /// Whether a name depends on another, per (other, name), as `depends` searched it.
    depends_memo: FastMap<Sym, bool>,
    /// The `x` whose answers `depends_memo` holds: answers for one name only, since keeping
    /// every pair held hundreds of megabytes on 784-30-10 with steps.
    depends_memo_of: Option<Sym>,
    /// Each computed name's place in program order (`None` for inputs and parameters).
    position: Vec<Option<u32>>,
    expanded_defs: Vec<Option<Id>>,
    recognise: Option<Options>,
    /// Formulas simplified under the `recognise` options: raw to simplified.
    simplified_cache: FastMap<Id, Id>,
    /// Small formulas simplified under the `recognise` options once per shape.
    shapes: Option<Shapes>,
    /// Each computed name's [`sites::Sites`], found when its first local derivative is taken
    /// without steps.
    sites: Vec<Option<sites::Sites>>,
    /// Each formula a step shows, as it reads (see [`simplify::as_read`]).
    read_as: FastMap<Id, Id>,
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
            computed_vars: FastMap::default(),
            held_fixed: FastMap::default(),
            term_index: FastMap::default(),
            has_deriv: FastMap::default(),
            raw_cache: FastMap::default(),
            local_cache: FastMap::default(),
            adjoint_cache: FastMap::default(),
            down_cache: FastMap::default(),
            depends_memo: FastMap::default(),
            depends_memo_of: None,
            position: vec![None; n],
            expanded_defs: Vec::new(),
            recognise: None,
            simplified_cache: FastMap::default(),
            shapes: None,
            sites: Vec::new(),
            read_as: FastMap::default(),
            cut: FastMap::default(),
            named: FastMap::default(),
        };
        let order = engine.model.order.clone();
        for (i, &u) in order.iter().enumerate() {
            engine.position[u.index()] = Some(i as u32);
        }
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
            let vars = &self.vars;
            let order = self
                .model
                .graph
                .reachable_unknown(&[root], |id| vars.contains_key(&id));
            for id in order {
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
                    node => names_below(node, &self.vars),
                };
                self.vars.insert(id, set);
            }
        }
        &self.vars[&root]
    }

    fn mentions(&mut self, e: Id, x: Sym) -> bool {
        self.vars_of(e).binary_search(&x).is_ok()
    }

    /// The computed names `e` mentions, sorted (see [`Engine::computed_vars`]).
    fn computed_vars_of(&mut self, e: Id) -> &[Sym] {
        if !self.computed_vars.contains_key(&e) {
            let computed: Box<[Sym]> = self
                .vars_of(e)
                .to_vec()
                .into_iter()
                .filter(|&v| self.model.definition(v).is_some())
                .collect();
            self.computed_vars.insert(e, computed);
        }
        &self.computed_vars[&e]
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

    /// Whether `y` depends on `x` (through definitions), or is `x`.
    ///
    /// The cost, and any name whose dependencies were listed already, answers from its set
    /// of dependencies. Any other name is searched downwards from `y`, never below `x` in
    /// program order, remembering each name's answer for this `x` (and only this `x`): listing every name's
    /// dependencies would hold a set per name, each as long as the program before it (10,000
    /// lines took seconds and half a gigabyte).
    fn depends(&mut self, y: Sym, x: Sym) -> bool {
        if y == x {
            return true;
        }
        if y == self.model.cost || self.down_cache.contains_key(&y) {
            return self.down(y).contains(&x);
        }
        if self.depends_memo_of != Some(x) {
            self.depends_memo.clear();
            self.depends_memo_of = Some(x);
        }
        let floor = self.position[x.index()];
        let mut stack = vec![(y, false)];
        while let Some((v, ready)) = stack.pop() {
            if self.depends_memo.contains_key(&v) {
                continue;
            }
            let Some(def) = self.model.definition(v) else {
                self.depends_memo.insert(v, v == x);
                continue;
            };
            if v == x {
                self.depends_memo.insert(v, true);
                continue;
            }
            if floor.is_some_and(|f| self.position[v.index()].is_some_and(|p| p < f)) {
                self.depends_memo.insert(v, false);
                continue;
            }
            // Only computed names can lead further down; a leaf answers by being x.
            let names = self.computed_vars_of(def).to_vec();
            if ready {
                let any = self.mentions(def, x)
                    || names
                        .iter()
                        .any(|&c| self.depends_memo.get(&c) == Some(&true));
                self.depends_memo.insert(v, any);
            } else {
                stack.push((v, true));
                for c in names {
                    if c != x && !self.depends_memo.contains_key(&c) {
                        stack.push((c, false));
                    }
                }
            }
        }
        self.depends_memo[&y]
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
            let results = self.simplify_recognising(&raws);
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
                    rule: Rule::Identity,
                    lhs,
                    rhs: vec![one],
                });
                one
            } else if !self.depends(t.of, t.wrt) {
                let zero = self.g().int(0);
                steps.push(Step {
                    rule: Rule::Independent {
                        of: t.of,
                        wrt: t.wrt,
                    },
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
                let mut raw = self.adjoint(t.of, t.wrt);
                let last = steps.last().and_then(|s| s.rhs.last().copied());
                if config.style == Style::Backprop
                    && let Some(shown) = last.filter(|_| steps.last().is_some_and(|s| s.lhs == lhs))
                {
                    // The error terms go into the form just shown, so that a factor it
                    // already dropped (`∂C/∂z2·1 = ∂C/∂z2`) does not come back.
                    raw = self.substitute_error_terms(shown, t.of);
                }
                if last != Some(raw) {
                    steps.push(Step {
                        rule: Rule::SubstituteLocalDerivatives,
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
                            rule: Rule::ExpandDefinitions,
                            lhs,
                            rhs: vec![e],
                        });
                        push_snapshots(&mut d.steps, lhs, &snaps);
                    }
                    d.expanded = Some(x);
                }
            }
        }
        for d in &mut out.derivations {
            d.steps = self.visible(std::mem::take(&mut d.steps));
        }
        for t in &mut out.terms {
            t.steps = self.visible(std::mem::take(&mut t.steps));
        }
        out.shared_steps = self.visible(std::mem::take(&mut out.shared_steps));
        out
    }

    /// The steps a reader sees change the formula: a member of an equation that reads as the
    /// one before it is left out (a rewrite that only changed how the tree nests), then a step
    /// left with nothing on its right, and a step that repeats the line before it.
    fn visible(&mut self, steps: Vec<Step>) -> Vec<Step> {
        let mut out = Vec::with_capacity(steps.len());
        let mut last_line: Option<(Id, Id)> = None;
        for step in steps {
            let lhs = simplify::as_read(&mut self.model.graph, step.lhs, &mut self.read_as);
            let mut previous = lhs;
            let mut rhs = Vec::with_capacity(step.rhs.len());
            for r in step.rhs {
                let read = simplify::as_read(&mut self.model.graph, r, &mut self.read_as);
                if read != previous {
                    rhs.push(r);
                    previous = read;
                }
            }
            if rhs.is_empty() || rhs.len() == 1 && last_line == Some((lhs, previous)) {
                continue;
            }
            last_line = Some((lhs, previous));
            out.push(Step { rhs, ..step });
        }
        out
    }

    /// Formulas simplified under the `recognise` options: a small one through its shape (see
    /// [`Shapes`]), the others together, sharing their common subterms.
    fn simplify_recognising(&mut self, raws: &[Id]) -> Vec<Id> {
        // The options are cloned only where they are used: a regularised network's gradients
        // are simplified one formula at a time, and each clone touches three shared counts.
        self.make_shapes();
        let shapes = self.shapes.as_mut().expect("made above");
        let mut results: Vec<Option<Id>> = raws
            .iter()
            .map(|&raw| shapes.simplify(&mut self.model.graph, raw))
            .collect();
        let rest: Vec<Id> = (0..raws.len())
            .filter(|&i| results[i].is_none())
            .map(|i| raws[i])
            .collect();
        if rest.is_empty() {
            return results.into_iter().flatten().collect();
        }
        let options = self.recognise_options();
        let mut simplified = simplify::simplify_all(self.g(), &rest, &options).into_iter();
        for result in &mut results {
            if result.is_none() {
                *result = simplified.next();
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every formula simplified"))
            .collect()
    }

    /// Each result that uses a named term, in inputs and parameters alone when that is small.
    /// Sizes are measured before anything is expanded: on a large network every expansion is
    /// large, and building them all to learn it cost more than the derivation.
    fn expand_small_results(&mut self, out: &mut Derivations) {
        if out.terms.is_empty() {
            return;
        }
        let results: Vec<Id> = out.derivations.iter().map(|d| d.result).collect();
        let sizes = factor::expanded_sizes(self.model, &results);
        let small: Vec<usize> = (0..results.len())
            .filter(|&i| sizes[i].changes && sizes[i].bytes <= SMALL_EXPANSION)
            .collect();
        if small.is_empty() {
            return;
        }
        let roots: Vec<Id> = small.iter().map(|&i| results[i]).collect();
        let expanded = self.expand_all(&roots);
        let simplified = simplify::simplify_all(self.g(), &expanded, &Options::default());
        for (&i, e) in small.iter().zip(simplified) {
            out.derivations[i].expanded = Some(e);
        }
    }

    /// The results in inputs and parameters alone, unless they would print more than
    /// [`EXPAND_LIMIT`] bytes (measured on the graph, without building the expansion).
    fn expand_within_limit(&mut self, results: &[Id], out: &mut Derivations) -> Option<Vec<Id>> {
        let bytes = factor::expanded_sizes(self.model, results)
            .iter()
            .fold(0u64, |sum, size| sum.saturating_add(size.bytes));
        if bytes > EXPAND_LIMIT {
            out.expansion_too_large = Some(bytes);
            return None;
        }
        Some(self.expand_all(results))
    }
}

fn push_snapshots(steps: &mut Vec<Step>, lhs: Id, snapshots: &[Snapshot]) {
    for s in snapshots {
        steps.push(Step {
            rule: Rule::Simplify(s.rule),
            lhs,
            rhs: vec![s.after],
        });
    }
}

/// The names below a node, sorted, from its children's (each sorted): one child's are taken
/// as they are and two children's merged, since most nodes have one or two and a network has
/// tens of thousands of them.
fn names_below(node: &Node, below: &FastMap<Id, Box<[Sym]>>) -> Box<[Sym]> {
    let mut children = node.child_ids();
    let (Some(first), second) = (children.next(), children.next()) else {
        return Box::new([]);
    };
    let (first, second) = (&below[&first], second.map(|c| &below[&c]));
    match (second, children.next()) {
        (None, _) => first.clone(),
        (Some(second), None) => {
            let mut merged = Vec::with_capacity(first.len() + second.len());
            let (mut i, mut j) = (0, 0);
            while i < first.len() && j < second.len() {
                let (a, b) = (first[i], second[j]);
                merged.push(a.min(b));
                i += usize::from(a <= b);
                j += usize::from(b <= a);
            }
            merged.extend_from_slice(&first[i..]);
            merged.extend_from_slice(&second[j..]);
            merged.into_boxed_slice()
        }
        (Some(second), Some(third)) => {
            let mut all: Vec<Sym> = first.iter().chain(second.iter()).copied().collect();
            all.extend(below[&third].iter().copied());
            for c in children {
                all.extend(below[&c].iter().copied());
            }
            all.sort_unstable();
            all.dedup();
            all.into_boxed_slice()
        }
    }
}

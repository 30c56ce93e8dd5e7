//! The lowered program: names, their kinds and display forms, and their definitions as nodes
//! of one expression graph.
//!
//! `lower` builds a [`Model`] from the syntax tree; differentiation, simplification, evaluation
//! and rendering all read it. An intermediate's definition mentions other names as `Var` nodes,
//! so each definition is the *local* formula a textbook writes (`z3 = w3 a2 + b3`).

use crate::core::error::Span;
use crate::core::expr::{Graph, Id, Node, Sym};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SymKind {
    Input,
    Target,
    Param,
    Intermediate,
    Cost,
    Output,
    /// A named adjoint `∂C/∂v` (`δ3_1`, `dC/dh2`) that derivation results are written in:
    /// computed after the forward pass from its definition, like an intermediate.
    ErrorTerm,
    /// A declared size of a vector program (`size m = 4`): a whole number that formulas of
    /// matrices keep as its name, so `(1/m)` prints as the textbooks write it; scalarisation
    /// writes the number.
    Size(u32),
}

impl SymKind {
    /// The kind as a newcomer reads it in a heading: "parameter", "input", ...
    pub fn word(self) -> &'static str {
        match self {
            SymKind::Input => "input",
            SymKind::Target => "target",
            SymKind::Param => "parameter",
            SymKind::Intermediate => "intermediate",
            SymKind::Cost => "cost",
            SymKind::Output => "output",
            SymKind::ErrorTerm => "error term",
            SymKind::Size(_) => "size",
        }
    }

    /// Names that are given values rather than computed.
    pub fn is_leaf(self) -> bool {
        matches!(self, SymKind::Input | SymKind::Target | SymKind::Param)
    }
}

#[derive(Clone, Debug)]
pub struct Symbol {
    pub name: String,
    pub kind: SymKind,
    /// The LaTeX display form from `as "..."` or `show`, if one was given.
    pub display: Option<String>,
    /// Where the name was declared or first assigned.
    pub span: Span,
    /// Rows × columns; every name of a scalar program (and every entry name a tensor program
    /// is scalarised into) is 1×1.
    pub shape: crate::core::shape::Shape,
}

/// The values a name given a value may take, as its declaration states them
/// (`input x in [0, 1]`, `input p > 0`): each end a bound or none. Checking draws its points
/// and picks its simple points inside, so a claim true only on the domain is judged there.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Domain {
    pub low: Option<Bound>,
    pub high: Option<Bound>,
}

/// One end of a [`Domain`]: the value, and whether the domain includes it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Bound {
    pub value: f64,
    pub closed: bool,
}

impl Domain {
    pub fn contains(&self, v: f64) -> bool {
        let above = self
            .low
            .is_none_or(|b| v > b.value || b.closed && v == b.value);
        let below = self
            .high
            .is_none_or(|b| v < b.value || b.closed && v == b.value);
        v.is_finite() && above && below
    }

    /// Whether no value lies inside (`[1, 0]`, `(1, 1)`).
    pub fn is_empty(&self) -> bool {
        match (self.low, self.high) {
            (Some(low), Some(high)) => {
                low.value > high.value || low.value == high.value && !(low.closed && high.closed)
            }
            _ => false,
        }
    }

    /// A value inside for `u` in [0, 1): spread over a bounded domain, `scale·u` away from a
    /// single bound, and `scale·(2u − 1)` when unbounded. An open end is never reached.
    pub fn place(&self, u: f64, scale: f64) -> f64 {
        let v = match (self.low, self.high) {
            (Some(low), Some(high)) => low.value + (high.value - low.value) * u,
            (Some(low), None) => low.value + scale * u,
            (None, Some(high)) => high.value - scale * u,
            (None, None) => scale * (2.0 * u - 1.0),
        };
        if self.contains(v) {
            v
        } else {
            self.simple(v, 0)
        }
    }

    /// `v` when it lies inside, else a simple value inside, the `variant`-th: across a
    /// bounded domain at a half, a quarter, three quarters...; beyond a single bound, `v`
    /// mirrored in it (or 1 past it).
    pub fn simple(&self, v: f64, variant: usize) -> f64 {
        const FRACTIONS: [f64; 5] = [0.5, 0.25, 0.75, 0.1, 0.9];
        if self.contains(v) {
            return v;
        }
        match (self.low, self.high) {
            (Some(low), Some(high)) => {
                low.value + (high.value - low.value) * FRACTIONS[variant % FRACTIONS.len()]
            }
            (Some(low), None) => {
                let mirrored = 2.0 * low.value - v;
                if self.contains(mirrored) {
                    mirrored
                } else {
                    low.value + 1.0
                }
            }
            (None, Some(high)) => {
                let mirrored = 2.0 * high.value - v;
                if self.contains(mirrored) {
                    mirrored
                } else {
                    high.value - 1.0
                }
            }
            (None, None) => v,
        }
    }
}

/// A lowered program: its names with their kinds and display forms, the expression graph of
/// their definitions, and which name uses which. Derivations add named terms to it.
#[derive(Clone)]
pub struct Model {
    pub graph: Graph,
    pub symbols: Vec<Symbol>,
    /// The defining expression of each computed name, indexed by `Sym`.
    pub definitions: Vec<Option<Id>>,
    /// Computed names in program order (every name after all it depends on).
    pub order: Vec<Sym>,
    pub cost: Sym,
    pub output: Option<Sym>,
    /// Which names each definition uses, and which definitions use each name (the program's
    /// own names: named adjoints added later are not in it, and no program name uses them).
    pub dependencies: Dependencies,
    /// Groups of targets declared `one-hot`: each group sums to one.
    pub one_hot: Vec<Vec<Sym>>,
    /// The domains declared for names given values (`input x in [0, 1]`).
    pub domains: Vec<(Sym, Domain)>,
    /// The adjoints derivations named, as (of, wrt, the `ErrorTerm` naming ∂of/∂wrt).
    pub named_adjoints: Vec<(Sym, Sym, Sym)>,
    /// For the scalarisation of a program with vectors and matrices: each name of the vector
    /// program with its shape and the scalar names of its entries (empty for a program
    /// written in scalars), so that values can be given and shown as arrays.
    pub arrays: Vec<Array>,
}

/// The index of which names use which: built once from the definitions, so that no pass has
/// to walk the definitions again to find a name's users (the forks of the chain rule) or the
/// leaves a name depends on.
#[derive(Clone, Debug, Default)]
pub struct Dependencies {
    uses: Vec<Vec<Sym>>,
    users: Vec<Vec<Sym>>,
}

impl Dependencies {
    /// The index of the definitions (indexed by `Sym`), each a formula of `graph`.
    pub fn of(graph: &Graph, definitions: &[Option<Id>], order: &[Sym]) -> Dependencies {
        let n = definitions.len();
        let mut uses = vec![Vec::new(); n];
        let mut users = vec![Vec::new(); n];
        for &u in order {
            let Some(def) = definitions[u.index()] else {
                continue;
            };
            let mut vars: Vec<Sym> = graph
                .reachable(&[def])
                .into_iter()
                .filter_map(|id| match graph.node(id) {
                    Node::Var(v) => Some(*v),
                    _ => None,
                })
                .collect();
            vars.sort();
            vars.dedup();
            for &v in &vars {
                users[v.index()].push(u);
            }
            uses[u.index()] = vars;
        }
        Dependencies { uses, users }
    }

    /// The names the definition of `s` mentions (none for a leaf), sorted.
    pub fn uses(&self, s: Sym) -> &[Sym] {
        self.uses.get(s.index()).map_or(&[], |v| v.as_slice())
    }

    /// The computed names whose definitions mention `s`, in program order.
    pub fn users(&self, s: Sym) -> &[Sym] {
        self.users.get(s.index()).map_or(&[], |v| v.as_slice())
    }
}

impl Model {
    pub fn symbol(&self, s: Sym) -> &Symbol {
        &self.symbols[s.index()]
    }

    pub fn name(&self, s: Sym) -> &str {
        &self.symbols[s.index()].name
    }

    pub fn lookup(&self, name: &str) -> Option<Sym> {
        self.symbols
            .iter()
            .position(|s| s.name == name)
            .map(|i| Sym(i as u32))
    }

    /// The `Var` node of a name (lowering adds one for every name).
    pub fn graph_var(&self, s: Sym) -> Id {
        self.graph
            .find(&crate::core::expr::Node::Var(s))
            .expect("every name has its Var node")
    }

    /// The domain declared for `s`, if one was.
    pub fn domain(&self, s: Sym) -> Option<&Domain> {
        self.domains.iter().find(|(t, _)| *t == s).map(|(_, d)| d)
    }

    pub fn definition(&self, s: Sym) -> Option<Id> {
        self.definitions[s.index()]
    }

    /// The array a name of the vector program became, if the model is the scalarisation of
    /// one and it has that name.
    pub fn array(&self, name: &str) -> Option<&Array> {
        self.arrays.iter().find(|a| a.name == name)
    }

    pub fn params(&self) -> impl Iterator<Item = Sym> + '_ {
        self.syms()
            .filter(|&s| self.symbol(s).kind == SymKind::Param)
    }

    pub fn syms(&self) -> impl Iterator<Item = Sym> + use<'_> {
        (0..self.symbols.len()).map(|i| Sym(i as u32))
    }
}

/// A value given on the command line (`--at w3=0.5`) or in a values file.
#[derive(Clone, Debug, PartialEq)]
pub struct Given {
    pub sym: crate::core::expr::Sym,
    /// The number as written, so the high-precision reference starts from the exact decimal
    /// (`0.8` is 4/5, not the float64 nearest to it).
    pub text: String,
    pub value: f64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dependency_index_names_each_fork() {
        let model = crate::lang::load::load(
            "input x\nparam w, b\nh = w*x + b\na = sigmoid(h)\nt = tanh(h)\ncost C = a*t + w\n",
        )
        .unwrap();
        let sym = |n: &str| model.lookup(n).unwrap();
        let names = |syms: &[super::Sym]| -> Vec<String> {
            syms.iter().map(|&s| model.name(s).to_string()).collect()
        };
        assert_eq!(names(model.dependencies.users(sym("h"))), ["a", "t"]);
        assert_eq!(names(model.dependencies.users(sym("w"))), ["h", "C"]);
        assert_eq!(names(model.dependencies.uses(sym("C"))), ["w", "a", "t"]);
        assert!(model.dependencies.uses(sym("x")).is_empty());
        assert!(model.dependencies.users(sym("C")).is_empty());
    }
}

/// A name of a vector program and the scalar names of its entries (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub name: String,
    /// The LaTeX display form the name was given (`as "W^{(2)}"`), if any.
    pub display: Option<String>,
    /// The name in the tensor program.
    pub sym: Sym,
    pub shape: crate::core::shape::Shape,
    pub entries: Vec<Sym>,
}

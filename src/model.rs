//! The lowered program: names, their kinds and display forms, and their definitions as nodes
//! of one expression graph.
//!
//! `lower` builds a [`Model`] from the syntax tree; differentiation, simplification, evaluation
//! and rendering all read it. An intermediate's definition mentions other names as `Var` nodes,
//! so each definition is the *local* formula a textbook writes (`z3 = w3 a2 + b3`).

use crate::ast::Span;
use crate::expr::{Graph, Id, Sym};

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
}

impl SymKind {
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
}

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
    /// The layered description, when the program was written with the `network` shorthand.
    pub network: Option<crate::network::NetworkSpec>,
    /// The adjoints derivations named, as (of, wrt, the `ErrorTerm` naming ∂of/∂wrt).
    pub named_adjoints: Vec<(Sym, Sym, Sym)>,
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
            .find(&crate::expr::Node::Var(s))
            .expect("every name has its Var node")
    }

    pub fn definition(&self, s: Sym) -> Option<Id> {
        self.definitions[s.index()]
    }

    pub fn params(&self) -> impl Iterator<Item = Sym> + '_ {
        self.syms()
            .filter(|&s| self.symbol(s).kind == SymKind::Param)
    }

    pub fn syms(&self) -> impl Iterator<Item = Sym> + use<'_> {
        (0..self.symbols.len()).map(|i| Sym(i as u32))
    }
}

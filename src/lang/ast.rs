//! The syntax tree of a `.bp` program, as the parser hands it out.
//!
//! Every node carries the byte span it came from, so that lowering and checking can point at
//! the exact spot of a mistake. Nothing here knows about pest; `syntax` builds these values.

pub use crate::core::error::Span;
pub use crate::core::expr::Partial;

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    /// `W @ x`: the matrix product, written explicitly.
    MatMul,
    /// `a ⊙ b`, `a .* b`: the elementwise product.
    Hadamard,
}

/// An expression. `Clone` and `PartialEq` walk the left spine of a chain `a + b + c …` (a
/// sum of n terms is n levels deep) in a loop, so that they recurse only as deeply as the
/// expression nests otherwise.
#[derive(Debug)]
pub enum Expr {
    /// A numeric literal exactly as written (`0.5`, `1e-3`).
    Number {
        text: String,
        span: Span,
    },
    Name(Ident),
    Neg {
        operand: Box<Expr>,
        span: Span,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        span: Span,
    },
    /// A call of a built-in function; `name` is as written (`σ`, `ln`, `sigmoid'`), and the
    /// arguments are as many as the function takes (one, or two for `max` and `min`).
    Call {
        name: Ident,
        args: Vec<Expr>,
        span: Span,
    },
    /// `dY/dX` (also `∂Y/∂X`): the derivative of one name with respect to another; total, or
    /// the direct partial written `(dY/dX)_direct`.
    DerivRef {
        of: Ident,
        wrt: Ident,
        partial: Partial,
        span: Span,
    },
    /// `d/dX(expr)`: the derivative of an expression with respect to a name; total, or the
    /// direct partial written `(d/dX(expr))_direct`.
    DerivOf {
        wrt: Ident,
        expr: Box<Expr>,
        partial: Partial,
        span: Span,
    },
    /// `z[2]`, `W[1, 2]`: one entry of a vector or matrix, 1-based, as written (one index or
    /// two).
    Index {
        operand: Box<Expr>,
        indices: Vec<u32>,
        span: Span,
    },
    /// `W^⊤`, `Wᵀ`, `W.T`: the transpose (`W^T` and `transpose(W)` are read as one when
    /// lowering, where shapes are known).
    Transpose {
        operand: Box<Expr>,
        span: Span,
    },
}

impl Clone for Expr {
    fn clone(&self) -> Expr {
        let mut spine = Vec::new();
        let mut at = self;
        while let Expr::Binary { op, lhs, rhs, span } = at {
            spine.push((*op, rhs, *span));
            at = lhs;
        }
        let mut out = at.clone_node();
        for (op, rhs, span) in spine.into_iter().rev() {
            out = Expr::Binary {
                op,
                lhs: Box::new(out),
                rhs: rhs.clone(),
                span,
            };
        }
        out
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        let (mut a, mut b) = (self, other);
        loop {
            match (a, b) {
                (
                    Expr::Binary {
                        op: o1,
                        lhs: l1,
                        rhs: r1,
                        span: s1,
                    },
                    Expr::Binary {
                        op: o2,
                        lhs: l2,
                        rhs: r2,
                        span: s2,
                    },
                ) => {
                    if o1 != o2 || s1 != s2 || r1 != r2 {
                        return false;
                    }
                    (a, b) = (l1, l2);
                }
                _ => return a.eq_node(b),
            }
        }
    }
}

impl Expr {
    /// A copy of a node that is not a `Binary` (whose children are cloned as usual).
    fn clone_node(&self) -> Expr {
        match self {
            Expr::Number { text, span } => Expr::Number {
                text: text.clone(),
                span: *span,
            },
            Expr::Name(ident) => Expr::Name(ident.clone()),
            Expr::Neg { operand, span } => Expr::Neg {
                operand: operand.clone(),
                span: *span,
            },
            Expr::Binary { op, lhs, rhs, span } => Expr::Binary {
                op: *op,
                lhs: lhs.clone(),
                rhs: rhs.clone(),
                span: *span,
            },
            Expr::Call { name, args, span } => Expr::Call {
                name: name.clone(),
                args: args.clone(),
                span: *span,
            },
            Expr::DerivRef {
                of,
                wrt,
                partial,
                span,
            } => Expr::DerivRef {
                of: of.clone(),
                wrt: wrt.clone(),
                partial: *partial,
                span: *span,
            },
            Expr::DerivOf {
                wrt,
                expr,
                partial,
                span,
            } => Expr::DerivOf {
                wrt: wrt.clone(),
                expr: expr.clone(),
                partial: *partial,
                span: *span,
            },
            Expr::Index {
                operand,
                indices,
                span,
            } => Expr::Index {
                operand: operand.clone(),
                indices: indices.clone(),
                span: *span,
            },
            Expr::Transpose { operand, span } => Expr::Transpose {
                operand: operand.clone(),
                span: *span,
            },
        }
    }

    /// Equality of two nodes, where a `Binary` pair is compared by [`PartialEq`].
    fn eq_node(&self, other: &Expr) -> bool {
        match (self, other) {
            (Expr::Number { text: a, span: s }, Expr::Number { text: b, span: t }) => {
                a == b && s == t
            }
            (Expr::Name(a), Expr::Name(b)) => a == b,
            (
                Expr::Neg {
                    operand: a,
                    span: s,
                },
                Expr::Neg {
                    operand: b,
                    span: t,
                },
            ) => a == b && s == t,
            (Expr::Binary { .. }, Expr::Binary { .. }) => self == other,
            (
                Expr::Call {
                    name: a,
                    args: x,
                    span: s,
                },
                Expr::Call {
                    name: b,
                    args: y,
                    span: t,
                },
            ) => a == b && x == y && s == t,
            (
                Expr::DerivRef {
                    of: a,
                    wrt: x,
                    partial: p,
                    span: s,
                },
                Expr::DerivRef {
                    of: b,
                    wrt: y,
                    partial: q,
                    span: t,
                },
            ) => a == b && x == y && p == q && s == t,
            (
                Expr::DerivOf {
                    wrt: a,
                    expr: x,
                    partial: p,
                    span: s,
                },
                Expr::DerivOf {
                    wrt: b,
                    expr: y,
                    partial: q,
                    span: t,
                },
            ) => a == b && x == y && p == q && s == t,
            (
                Expr::Index {
                    operand: a,
                    indices: x,
                    span: s,
                },
                Expr::Index {
                    operand: b,
                    indices: y,
                    span: t,
                },
            ) => a == b && x == y && s == t,
            (
                Expr::Transpose {
                    operand: a,
                    span: s,
                },
                Expr::Transpose {
                    operand: b,
                    span: t,
                },
            ) => a == b && s == t,
            _ => false,
        }
    }

    /// The same expression with each name (`ident`) and each span (`span`) mapped: a claim's
    /// name renamed, or a claim moved to its place in a longer text.
    pub fn mapped(&self, ident: &dyn Fn(&Ident) -> Ident, span: &dyn Fn(Span) -> Span) -> Expr {
        let sub = |e: &Expr| Box::new(e.mapped(ident, span));
        match self {
            Expr::Number { text, span: at } => Expr::Number {
                text: text.clone(),
                span: span(*at),
            },
            Expr::Name(name) => Expr::Name(ident(name)),
            Expr::Neg { operand, span: at } => Expr::Neg {
                operand: sub(operand),
                span: span(*at),
            },
            Expr::Binary {
                op,
                lhs,
                rhs,
                span: at,
            } => Expr::Binary {
                op: *op,
                lhs: sub(lhs),
                rhs: sub(rhs),
                span: span(*at),
            },
            Expr::Call {
                name,
                args,
                span: at,
            } => Expr::Call {
                name: ident(name),
                args: args.iter().map(|a| a.mapped(ident, span)).collect(),
                span: span(*at),
            },
            Expr::DerivRef {
                of,
                wrt,
                partial,
                span: at,
            } => Expr::DerivRef {
                of: ident(of),
                wrt: ident(wrt),
                partial: *partial,
                span: span(*at),
            },
            Expr::DerivOf {
                wrt,
                expr,
                partial,
                span: at,
            } => Expr::DerivOf {
                wrt: ident(wrt),
                expr: sub(expr),
                partial: *partial,
                span: span(*at),
            },
            Expr::Index {
                operand,
                indices,
                span: at,
            } => Expr::Index {
                operand: sub(operand),
                indices: indices.clone(),
                span: span(*at),
            },
            Expr::Transpose { operand, span: at } => Expr::Transpose {
                operand: sub(operand),
                span: span(*at),
            },
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Expr::Number { span, .. }
            | Expr::Neg { span, .. }
            | Expr::Binary { span, .. }
            | Expr::Call { span, .. }
            | Expr::DerivRef { span, .. }
            | Expr::DerivOf { span, .. }
            | Expr::Index { span, .. }
            | Expr::Transpose { span, .. } => *span,
            Expr::Name(ident) => ident.span,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeclKind {
    Input,
    Target,
    Param,
}

/// A name with an optional display form (`w3 as "w^{(3)}"`).
#[derive(Clone, Debug, PartialEq)]
pub struct Declared {
    pub ident: Ident,
    pub display: Option<String>,
    /// The shape as written (`W2[3, 2]`, `X[2, m]`): each dimension a number or a declared
    /// size; empty for a scalar.
    pub dims: Vec<Ident>,
    /// The domain as written (`x in [0, 1]`, `p > 0`), with its span.
    pub domain: Option<(crate::core::model::Domain, Span)>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AssignKind {
    /// `name = expr`
    Intermediate,
    /// `cost NAME = expr`
    Cost,
    /// `output NAME = expr`
    Output,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    Declare {
        kind: DeclKind,
        names: Vec<Declared>,
        /// `target y1, y2, y3 one-hot`: the declared names sum to one. The span of the word.
        one_hot: Option<Span>,
        span: Span,
    },
    Show {
        names: Vec<Declared>,
        span: Span,
    },
    Assign {
        kind: AssignKind,
        name: Ident,
        value: Expr,
        span: Span,
    },
    /// `network 2-3-1`: the widths as written (digits; `network.rs` checks their range).
    Network {
        widths: Vec<Ident>,
        span: Span,
    },
    /// An option line of the shorthand: `activation 3 softmax` has key `activation`, layer
    /// `3` and value `softmax`; `cost quadratic` has no layer.
    NetworkOption {
        key: Ident,
        layer: Option<Ident>,
        value: Ident,
        span: Span,
    },
    /// `size m = 4`: a named dimension.
    Size {
        name: Ident,
        value: Ident,
        span: Span,
    },
    /// `layout rows` (`rows` true) or `layout columns`.
    Layout {
        rows: bool,
        span: Span,
    },
    /// `code dW1 = dJ/dW1`: a name for claims to use (`crate::analysis::check`'s matrix
    /// claims), declared beside the convention.
    CodeName {
        name: Ident,
        meaning: CodeMeaning,
        span: Span,
    },
    /// `data x, y` … `end`: training examples, a row per example, columns named.
    Data {
        columns: Vec<Ident>,
        rows: Vec<DataRow>,
        span: Span,
    },
}

/// What a declared code name stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum CodeMeaning {
    /// `dJ/dW1`, or `m dJ/dZ2` with a declared size as its factor.
    Gradient {
        of: Ident,
        wrt: Ident,
        scale: Option<Ident>,
    },
    /// `A0 = X`: another name for a name of the program.
    Alias(Ident),
}

/// One row of a `data` block: a number per column, as written and as read.
#[derive(Clone, Debug, PartialEq)]
pub struct DataRow {
    pub values: Vec<f64>,
    pub span: Span,
}

impl Stmt {
    pub fn span(&self) -> Span {
        match self {
            Stmt::Declare { span, .. }
            | Stmt::Show { span, .. }
            | Stmt::Assign { span, .. }
            | Stmt::Network { span, .. }
            | Stmt::NetworkOption { span, .. }
            | Stmt::Data { span, .. }
            | Stmt::Size { span, .. }
            | Stmt::Layout { span, .. }
            | Stmt::CodeName { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Program {
    pub statements: Vec<Stmt>,
}

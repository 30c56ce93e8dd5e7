//! What the two lowerings of expressions share, the scalar one (`lower`) and the vector one
//! (`shaped`), and the lowering of one expression on its own (claims, `--expr`, formulas read
//! back): why lowering stopped, the node of a numeric literal, names and functions that are
//! not known (with the nearest known one), and derivative references.

use crate::core::error::{Diagnostic, Result};
use crate::core::expr::{Constant, Func, Func2, Graph, Id, Node, Num, Sym};
use crate::lang::ast::{BinOp, Expr, Ident, Span};

/// Why lowering an expression stopped: a name the caller must resolve, or an error.
pub enum LowerFailure {
    Name(Ident),
    Error(Diagnostic),
}

impl From<Diagnostic> for LowerFailure {
    fn from(d: Diagnostic) -> LowerFailure {
        LowerFailure::Error(d)
    }
}

/// A numeric literal as a node, or the error for one past float64's range.
pub fn number(graph: &mut Graph, text: &str, span: Span) -> Result<Id> {
    match Num::parse(text) {
        Some(n) => Ok(graph.num(n)),
        None => Err(Diagnostic::at(
            span,
            format!("`{text}` is not a finite number"),
            "number out of range",
        )),
    }
}

/// The built-in functions as a help line lists them, from the tables of them ([`Func::ALL`],
/// [`Func2::ALL`]): `sigmoid (σ), tanh, …, the two-argument max and min, and the derivatives
/// sigmoid', tanh', relu'`.
pub fn builtin_list() -> String {
    let written = |f: &Func| match f {
        Func::Sigmoid => "sigmoid (σ)".to_string(),
        Func::Log => "log (ln)".to_string(),
        Func::Sign => "sgn (sign)".to_string(),
        f => f.name().to_string(),
    };
    let (derivatives2, two): (Vec<&Func2>, Vec<&Func2>) =
        Func2::ALL.iter().partition(|f| f.is_derivative());
    let two: Vec<String> = two.iter().map(|f| format!("{}(a, b)", f.name())).collect();
    let (derivatives, functions): (Vec<&Func>, Vec<&Func>) =
        Func::ALL.iter().partition(|f| f.primitive().is_some());
    let functions: Vec<String> = functions.into_iter().map(written).collect();
    let derivatives: Vec<String> = derivatives
        .into_iter()
        .map(written)
        .chain(derivatives2.iter().map(|f| f.name().to_string()))
        .collect();
    format!(
        "{}, logsumexp(a, b, ...), the two-argument {}, the derivatives {}, and the constants \
         pi (π) and e",
        functions.join(", "),
        two.join(", "),
        derivatives.join(", ")
    )
}

/// An unknown name, with the nearest known one suggested.
pub fn unknown_name<'a>(ident: &Ident, known: impl Iterator<Item = &'a String>) -> Diagnostic {
    // Function names from other notations: point at the built-in, or say there is none.
    let other_notation = match ident.name.as_str() {
        "sigma" | "sig" | "logistic" | "sigm" => {
            Some("the logistic function is `sigmoid(z)` (also `σ(z)`)".to_string())
        }
        "Relu" | "RELU" => Some("the rectifier is `relu(z)` (also `ReLU(z)`)".to_string()),
        "expit" => Some("the logistic function is `sigmoid(z)` (also `σ(z)`)".to_string()),
        "cosh" | "sinh" | "tan" | "max" | "min" | "log10" | "log2" | "softmax" => Some(format!(
            "`{}` is not a built-in function; the built-ins are {}",
            ident.name,
            builtin_list()
        )),
        _ => None,
    };
    if let Some(help) = other_notation {
        return Diagnostic::at(
            ident.span,
            format!("unknown name `{}`", ident.name),
            "not a name or function chainrule knows",
        )
        .with_help(help);
    }
    // Nearest by edit distance; among equals, names that start like the one written (`x`
    // is nearer `x0` and `x1` than `C`), and all of those that tie.
    let first = ident.name.chars().next();
    let mut scored: Vec<(usize, bool, &String)> = known
        .map(|k| {
            (
                strsim::damerau_levenshtein(&ident.name, k),
                k.chars().next() != first,
                k,
            )
        })
        .filter(|(d, _, k)| *d <= 2.max(k.chars().count() / 3))
        .collect();
    scored.sort();
    scored.dedup();
    let best: Vec<&String> = scored
        .iter()
        .take_while(|(d, other, _)| Some((*d, *other)) == scored.first().map(|f| (f.0, f.1)))
        .take(3)
        .map(|(_, _, k)| *k)
        .collect();
    let d = Diagnostic::at(
        ident.span,
        format!("unknown name `{}`", ident.name),
        "not declared or assigned",
    );
    let nearest = match best.as_slice() {
        [] => None,
        [one] => Some(format!("`{one}`")),
        [init @ .., last] => Some(format!(
            "{} or `{last}`",
            init.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    match nearest {
        Some(k) => d.with_help(format!("did you mean {k}?")),
        None => d.with_help(format!(
            "declare it (`input {0}`, `param {0}`, `target {0}`) or assign it before use (`{0} = ...`)",
            ident.name
        )),
    }
}

/// Lowers an expression, asking `name` for the node of each name (an error names the unknown one).
///
/// Derivative references (`dC/dw3`, `d/dx(...)`) become `Deriv` nodes; the caller decides
/// whether they are allowed and differentiates them.
pub fn lower_expr_with(
    graph: &mut Graph,
    expr: &Expr,
    name: &mut dyn FnMut(&mut Graph, &Ident) -> std::result::Result<Id, Ident>,
) -> std::result::Result<Id, LowerFailure> {
    Ok(match expr {
        Expr::Number { text, span } => number(graph, text, *span)?,
        Expr::Name(ident) => {
            if Func::from_name(&ident.name).is_some() {
                return Err(Diagnostic::at(
                    ident.span,
                    format!("`{}` is a function and needs an argument", ident.name),
                    "function without an argument",
                )
                .with_help(format!("write `{}(z)`", ident.name))
                .into());
            }
            match name(graph, ident) {
                Ok(id) => id,
                // `pi`, `π` and `e` are constants unless the program names something so
                Err(unknown) => match Constant::from_name(&ident.name) {
                    Some(c) => graph.constant(c),
                    None => return Err(LowerFailure::Name(unknown)),
                },
            }
        }
        Expr::Neg { operand, .. } => {
            let x = lower_expr_with(graph, operand, name)?;
            match graph.as_num(x) {
                Some(n) => graph.num(n.neg()),
                None => graph.neg(x),
            }
        }
        Expr::Binary {
            op: BinOp::Pow,
            lhs,
            rhs,
            ..
        } => {
            let a = lower_expr_with(graph, lhs, name)?;
            let b = lower_expr_with(graph, rhs, name)?;
            match fold_literals(BinOp::Pow, graph.as_num(a), graph.as_num(b)) {
                Some(folded) => graph.num(folded),
                None => graph.pow(a, b),
            }
        }
        Expr::Binary { op, .. } => lower_chain(graph, expr, *op, name)?,
        // In a scalar formula (a claim, `--expr`, the scalarisation of a vector program), an
        // entry is the scalar name it was written out as: `W2[1, 2]` is the name `W2[1,2]`.
        Expr::Index {
            operand,
            indices,
            span,
        } => {
            let Expr::Name(base) = &**operand else {
                return Err(Diagnostic::at(
                    *span,
                    "only a name can be indexed in a scalar formula",
                    "not a name",
                )
                .into());
            };
            let index: Vec<String> = indices.iter().map(|i| i.to_string()).collect();
            let entry = Ident {
                name: format!("{}[{}]", base.name, index.join(",")),
                span: *span,
            };
            name(graph, &entry).map_err(LowerFailure::Name)?
        }
        // The transpose of a scalar is itself.
        Expr::Transpose { operand, .. } => lower_expr_with(graph, operand, name)?,
        Expr::Call {
            name: fname,
            args,
            span,
        } => {
            if let Some(f) = Func2::from_name(&fname.name)
                && let [a, b] = args.as_slice()
            {
                let a = lower_expr_with(graph, a, name)?;
                let b = lower_expr_with(graph, b, name)?;
                return Ok(graph.call2(f, a, b));
            }
            if let Some(wrong) = crate::lang::syntax::wrong_arity(fname, args, &[], *span) {
                return Err(wrong.into());
            }
            if fname.name == crate::core::tensor::TensorFn::LogSumExp.name() && args.len() > 1 {
                let terms = args
                    .iter()
                    .map(|a| lower_expr_with(graph, a, name))
                    .collect::<std::result::Result<Vec<Id>, _>>()?;
                return Ok(crate::core::tensor::log_sum_exp(graph, &terms));
            }
            let (Some(f), [arg]) = (Func::from_name(&fname.name), args.as_slice()) else {
                return Err(Diagnostic::at(
                    fname.span,
                    format!("unknown function `{}`", fname.name),
                    "not a built-in function",
                )
                .with_help(format!("the built-in functions are {}", builtin_list()))
                .into());
            };
            let x = lower_expr_with(graph, arg, name)?;
            graph.call(f, x)
        }
        Expr::DerivRef {
            of, wrt, partial, ..
        } => {
            let y = name(graph, of).map_err(LowerFailure::Name)?;
            let xs = with_respect_to(graph, wrt, name)?;
            graph.derivative(y, xs, *partial)
        }
        Expr::DerivOf {
            wrt,
            expr: inner,
            partial,
            ..
        } => {
            let xs = with_respect_to(graph, wrt, name)?;
            let e = lower_expr_with(graph, inner, name)?;
            graph.derivative(e, xs, *partial)
        }
    })
}

/// Lowers a left-nested chain `a + b - c + ...` (or `a b / c ...`) of the operator family of
/// `top`: one sum (product), as it is read.
///
/// The result is the one of lowering each `Binary` node in turn (literal operands folded, the
/// sum so far spliced into the next), but the partial sums are not built: a sum of n terms
/// costs O(n), not O(n²) nodes and hashing.
fn lower_chain(
    graph: &mut Graph,
    expr: &Expr,
    top: BinOp,
    name: &mut dyn FnMut(&mut Graph, &Ident) -> std::result::Result<Id, Ident>,
) -> std::result::Result<Id, LowerFailure> {
    let sum = matches!(top, BinOp::Add | BinOp::Sub);
    let in_family = |op: BinOp| {
        if sum {
            matches!(op, BinOp::Add | BinOp::Sub)
        } else {
            matches!(
                op,
                BinOp::Mul | BinOp::Div | BinOp::MatMul | BinOp::Hadamard
            )
        }
    };
    // The right operands from the last to the first, and the leftmost operand.
    let mut spine: Vec<(BinOp, &Expr)> = Vec::new();
    let mut leftmost = expr;
    while let Expr::Binary { op, lhs, rhs, .. } = leftmost
        && in_family(*op)
    {
        spine.push((*op, rhs));
        leftmost = lhs;
    }
    // The value so far: `acc[0]` when it has one element, else the sum (product) of `acc`,
    // not yet added to the graph.
    if let (Expr::Name(ident), Some((BinOp::Mul, rhs))) = (leftmost, spine.last())
        // A parenthesised operand's span starts inside the `(`: `sigmod(w*x)` is one apart.
        && rhs.span().start <= ident.span.end + 1
        && name(graph, ident).is_err()
        && Constant::from_name(&ident.name).is_none()
        && let Some(d) = misspelt_function(ident)
    {
        return Err(d.into());
    }
    let first = lower_expr_with(graph, leftmost, name)?;
    let mut acc: Vec<Id> = vec![first];
    // The terms (factors) of a node when it is a sum (product), else the node alone.
    let spliced = |graph: &Graph, id: Id| -> Vec<Id> {
        match (graph.node(id), sum) {
            (Node::Add(xs), true) | (Node::Mul(xs), false) => xs.to_vec(),
            _ => vec![id],
        }
    };
    for &(op, rhs) in spine.iter().rev() {
        let b = lower_expr_with(graph, rhs, name)?;
        let a = if acc.len() == 1 {
            graph.as_num(acc[0])
        } else {
            None
        };
        if let Some(folded) = fold_literals(op, a, graph.as_num(b)) {
            acc = vec![graph.num(folded)];
            continue;
        }
        if acc.len() == 1 {
            acc = spliced(graph, acc[0]);
        }
        match op {
            BinOp::Add => acc.push(b),
            BinOp::Sub => {
                let nb = graph.neg(b);
                acc.push(nb);
            }
            BinOp::Div => {
                let m1 = graph.int(-1);
                let inv = graph.pow(b, m1);
                acc.push(inv);
            }
            _ => acc.extend(spliced(graph, b)),
        }
    }
    Ok(if acc.len() == 1 {
        acc[0]
    } else if sum {
        graph.sum(acc)
    } else {
        graph.product(acc)
    })
}

/// Arithmetic on two literals, done exactly (`1/2` is the number ½, `2^-3` is 0.125).
fn fold_literals(op: BinOp, a: Option<Num>, b: Option<Num>) -> Option<Num> {
    let (a, b) = (a?, b?);
    let exact = |n: Num| matches!(n, Num::Rat(..)).then_some(n);
    match op {
        BinOp::Add => exact(a.add(b)),
        BinOp::Sub => exact(a.add(b.neg())),
        BinOp::Mul | BinOp::MatMul | BinOp::Hadamard => exact(a.mul(b)),
        BinOp::Div if !b.is_zero() => exact(a.mul(b.pow(Num::MINUS_ONE)?)),
        BinOp::Pow => exact(a.pow(b)?),
        BinOp::Div => None,
    }
}

/// `sigmod(z)`: an unknown name written like a call, close to a built-in function's name.
fn misspelt_function(ident: &Ident) -> Option<Diagnostic> {
    let nearest = Func::ALL
        .iter()
        .map(|f| f.name())
        .filter(|f| !f.ends_with('\''))
        .map(|f| (strsim::damerau_levenshtein(&ident.name, f), f))
        .filter(|(d, _)| *d <= 2)
        .min()?;
    Some(
        Diagnostic::at(
            ident.span,
            format!("unknown function `{}`", ident.name),
            "not a built-in function",
        )
        .with_help(format!(
            "did you mean `{}`? The built-in functions are {}",
            nearest.1,
            builtin_list()
        )),
    )
}

/// The name a derivative is taken with respect to.
fn with_respect_to(
    graph: &mut Graph,
    wrt: &Ident,
    name: &mut dyn FnMut(&mut Graph, &Ident) -> std::result::Result<Id, Ident>,
) -> std::result::Result<Sym, LowerFailure> {
    let x = name(graph, wrt).map_err(LowerFailure::Name)?;
    match *graph.node(x) {
        Node::Var(s) => Ok(s),
        _ => Err(Diagnostic::at(
            wrt.span,
            "a derivative is taken with respect to a name",
            "not a name",
        )
        .into()),
    }
}

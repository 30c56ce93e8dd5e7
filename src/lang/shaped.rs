//! Lowering of vector and matrix expressions: the syntax tree to nodes of the one graph, with
//! every operand's shape inferred and checked on the way.
//!
//! The conventions (stated in the README's "Vectors and matrices"): a value is rows × columns
//! and a 1×1 is a scalar; `W x`, `W·x` and `W @ x` between two non-scalars are the matrix
//! product, and `*` or juxtaposition with a scalar scales; `+ − / ⊙` and the built-in
//! functions work entry by entry, a dimension of 1 stretching to the other operand's (a bias
//! column is added to every example of a batch); indices count from 1; `sum(M, 1)` sums down
//! each column and `sum(M, 2)` across each row. A shape mismatch is a [`Diagnostic`] naming
//! both operands and their shapes, with the caret under the operation.

use crate::core::error::{Diagnostic, Span};
use crate::core::expr::{Constant, Func, Func2, Graph, Id, Node, Num, TensorOp};
use crate::core::tensor::{Axis, Layout, Shape, ShapeMismatch, TensorFn};
use crate::lang::ast::{BinOp, Expr, Ident, Program, Stmt};
use crate::lang::expr_lowering::LowerFailure;

/// A lowered operand: its node and its shape.
pub type Shaped = (Id, Shape);

type Outcome = std::result::Result<Shaped, LowerFailure>;

/// What names mean while lowering: the program's names (declared sizes among them) with their
/// shapes, and the layout.
pub struct Scope<'a> {
    pub name: &'a mut dyn FnMut(&mut Graph, &Ident) -> std::result::Result<Shaped, Ident>,
    pub layout: Layout,
    /// Combine operands whose shapes do not fit all the same (a matrix product takes the rows
    /// of its left operand and the columns of its right, an entrywise operation the larger
    /// dimensions) instead of refusing them: a wrong claim is lowered so that the checker can
    /// name its mistake. A program is never lowered so.
    pub lenient: bool,
}

/// Whether the program uses anything of vectors and matrices: a declared shape, a size, a
/// layout, an index, a transpose, `@`, `⊙` or a function of vectors. Programs that do not are
/// lowered exactly as before.
pub fn uses_tensors(program: &Program) -> bool {
    program.statements.iter().any(|stmt| match stmt {
        Stmt::Declare { names, .. } => names.iter().any(|d| !d.dims.is_empty()),
        Stmt::Size { .. } | Stmt::Layout { .. } => true,
        Stmt::Assign { value, .. } => expr_uses_tensors(value),
        _ => false,
    })
}

fn expr_uses_tensors(expr: &Expr) -> bool {
    match expr {
        Expr::Number { .. } | Expr::Name(_) | Expr::DerivRef { .. } => false,
        Expr::Index { .. } | Expr::Transpose { .. } => true,
        Expr::Neg { operand, .. } => expr_uses_tensors(operand),
        Expr::Binary { op, lhs, rhs, .. } => {
            matches!(op, BinOp::MatMul | BinOp::Hadamard)
                || expr_uses_tensors(lhs)
                || expr_uses_tensors(rhs)
        }
        Expr::Call { name, args, .. } => {
            let of_scalars = name.name == TensorFn::LogSumExp.name() && args.len() > 1;
            (TensorFn::from_name(&name.name).is_some() && !of_scalars)
                || args.iter().any(expr_uses_tensors)
        }
        Expr::DerivOf { expr, .. } => expr_uses_tensors(expr),
    }
}

/// Lowers an expression of a vector program.
pub fn lower(graph: &mut Graph, expr: &Expr, scope: &mut Scope<'_>) -> Outcome {
    Ok(match expr {
        Expr::Number { text, span } => (
            crate::lang::expr_lowering::number(graph, text, *span)?,
            Shape::SCALAR,
        ),
        Expr::Name(ident) => {
            // a declared size is a name of its own (kept as `m` in formulas); `pi`, `π` and `e`
            // are constants unless the program names something so
            match (scope.name)(graph, ident) {
                Ok(named) => named,
                Err(unknown) => match Constant::from_name(&ident.name) {
                    Some(c) => (graph.constant(c), Shape::SCALAR),
                    None => return Err(LowerFailure::Name(unknown)),
                },
            }
        }
        Expr::Neg { operand, .. } => {
            let (x, shape) = lower(graph, operand, scope)?;
            match graph.as_num(x) {
                Some(n) => (graph.num(n.neg()), shape),
                None => (graph.neg(x), shape),
            }
        }
        Expr::Binary {
            op: BinOp::Pow,
            lhs,
            rhs,
            span,
        } => {
            // `‖v‖²` is the sum of squares, not the square of a square root.
            if let (Expr::Call { name, args, .. }, Expr::Number { text, .. }) = (&**lhs, &**rhs)
                && name.name == "norm"
                && text == "2"
                && let [v] = args.as_slice()
            {
                let (v, shape) = lower(graph, v, scope)?;
                return Ok(sum_of_squares(graph, v, shape));
            }
            let base = lower(graph, lhs, scope)?;
            // `W^T`: a matrix to the power of a name is only ever its transpose.
            if let Expr::Name(t) = &**rhs
                && t.name == "T"
                && !base.1.is_scalar()
            {
                return Ok(tensor(graph, TensorOp::Transpose, &[base]));
            }
            let exponent = lower(graph, rhs, scope)?;
            let shape = elementwise(lhs, base.1, rhs, exponent.1, *span, "raise", scope.lenient)?;
            match (graph.as_num(base.0), graph.as_num(exponent.0)) {
                (Some(a), Some(b)) if a.pow(b).is_some_and(|n| matches!(n, Num::Rat(..))) => {
                    (graph.num(a.pow(b).unwrap_or(Num::ZERO)), shape)
                }
                _ => (graph.pow(base.0, exponent.0), shape),
            }
        }
        Expr::Binary {
            op: BinOp::Add | BinOp::Sub,
            ..
        } => sum(graph, expr, scope)?,
        Expr::Binary { .. } => product(graph, expr, scope)?,
        Expr::Call { name, args, span } => call(graph, name, args, *span, scope)?,
        Expr::Index {
            operand,
            indices,
            span,
        } => {
            let (x, shape) = lower(graph, operand, scope)?;
            // One index for a vector either way it stands (a column first).
            let (row, col) = match (indices.as_slice(), shape.cols == 1, shape.rows == 1) {
                ([i], true, _) => (*i, 1),
                ([j], _, true) => (1, *j),
                ([i, j], ..) => (*i, *j),
                _ => {
                    return Err(Diagnostic::at(
                        *span,
                        format!(
                            "`{}` is {shape}: one index picks an entry of a vector",
                            source_text(operand)
                        ),
                        "one index for a matrix",
                    )
                    .with_help(format!(
                        "write `{}[i, j]` for row i, column j",
                        source_text(operand)
                    ))
                    .into());
                }
            };
            if let Err(ShapeMismatch::OutOfRange(..)) = TensorOp::Entry(row, col).shape(&[shape]) {
                return Err(Diagnostic::at(
                    *span,
                    format!(
                        "`{}` is {shape}: it has no entry ({row}, {col})",
                        source_text(operand)
                    ),
                    "index out of range",
                )
                .with_help("indices count from 1 up to the number of rows (columns)")
                .into());
            }
            tensor(graph, TensorOp::Entry(row, col), &[(x, shape)])
        }
        Expr::Transpose { operand, .. } => {
            let x = lower(graph, operand, scope)?;
            tensor(graph, TensorOp::Transpose, &[x])
        }
        Expr::DerivRef { span, .. } | Expr::DerivOf { span, .. } => {
            return Err(Diagnostic::at(
                *span,
                "a program cannot contain a derivative",
                "derivative",
            )
            .into());
        }
    })
}

/// A tensor operation on operands whose shapes were checked.
fn tensor(graph: &mut Graph, op: TensorOp, operands: &[Shaped]) -> Shaped {
    let shapes: Vec<Shape> = operands.iter().map(|o| o.1).collect();
    let shape = op.shape(&shapes).unwrap_or(Shape::SCALAR);
    let ids: Vec<Id> = operands.iter().map(|o| o.0).collect();
    (graph.add(Node::Tensor(op, ids.into_boxed_slice())), shape)
}

fn sum_of_squares(graph: &mut Graph, v: Id, shape: Shape) -> Shaped {
    let two = graph.int(2);
    let squares = graph.pow(v, two);
    tensor(graph, TensorOp::Sum(None), &[(squares, shape)])
}

/// The shape of an elementwise operation, or the error naming both operands.
fn elementwise(
    lhs: &Expr,
    a: Shape,
    rhs: &Expr,
    b: Shape,
    span: Span,
    verb: &str,
    lenient: bool,
) -> std::result::Result<Shape, LowerFailure> {
    if lenient && a.broadcast(b).is_none() {
        return Ok(Shape::new(a.rows.max(b.rows), a.cols.max(b.cols)));
    }
    a.broadcast(b).ok_or_else(|| {
        let (l, r) = (operand_text(lhs), operand_text(rhs));
        Diagnostic::at(
            span,
            format!(
                "`{}`: {l} is {a} and {r} is {b}; entry by entry, the shapes must be equal \
                 (or 1 where they differ)",
                source_text_of_binary(lhs, rhs, verb)
            ),
            format!("{a} and {b}"),
        )
        .with_help(
            "a scalar combines with anything, and a column n×1 (a bias) with every column of an \
             n×m batch; transpose one operand (`^T`) or use the matrix product (`@`) if that is \
             what you meant",
        )
        .into()
    })
}

fn source_text_of_binary(lhs: &Expr, rhs: &Expr, verb: &str) -> String {
    let (op, level) = match verb {
        "add" => (" + ", 1),
        "subtract" => (" − ", 1),
        "divide" => (" / ", 2),
        "raise" => ("^", 4),
        "hadamard" => (" ⊙ ", 2),
        _ => (", ", 0),
    };
    format!(
        "{}{op}{}",
        child_text(lhs, level),
        child_text(rhs, level + 1)
    )
}

/// A sum `a + b − c ...`: one `Add` node, each term checked against the shape so far.
fn sum(graph: &mut Graph, expr: &Expr, scope: &mut Scope<'_>) -> Outcome {
    let mut spine: Vec<(BinOp, &Expr, &Expr, Span)> = Vec::new();
    let mut leftmost = expr;
    while let Expr::Binary { op, lhs, rhs, span } = leftmost
        && matches!(op, BinOp::Add | BinOp::Sub)
    {
        spine.push((*op, lhs, rhs, *span));
        leftmost = lhs;
    }
    let (first, mut shape) = lower(graph, leftmost, scope)?;
    let mut terms = vec![first];
    for &(op, lhs, rhs, span) in spine.iter().rev() {
        let (b, b_shape) = lower(graph, rhs, scope)?;
        let verb = if op == BinOp::Add { "add" } else { "subtract" };
        shape = elementwise(lhs, shape, rhs, b_shape, span, verb, scope.lenient)?;
        if terms.len() == 1
            && let (Some(x), Some(y)) = (graph.as_num(terms[0]), graph.as_num(b))
            && let folded @ Num::Rat(..) = x.add(if op == BinOp::Add { y } else { y.neg() })
        {
            terms = vec![graph.num(folded)];
            continue;
        }
        let term = if op == BinOp::Add { b } else { graph.neg(b) };
        match graph.node(term) {
            Node::Add(xs) if op == BinOp::Add => terms.extend(xs.to_vec()),
            _ => terms.push(term),
        }
    }
    Ok((graph.sum(terms), shape))
}

/// A product chain `2 W x`, `A ⊙ B / c`, `W @ x`: read left to right; a step between two
/// non-scalars written `*`, `·`, by juxtaposition or `@` is the matrix product, `⊙` and `/`
/// work entry by entry, and a scalar scales.
fn product(graph: &mut Graph, expr: &Expr, scope: &mut Scope<'_>) -> Outcome {
    let mut spine: Vec<(BinOp, &Expr, &Expr, Span)> = Vec::new();
    let mut leftmost = expr;
    while let Expr::Binary { op, lhs, rhs, span } = leftmost
        && matches!(
            op,
            BinOp::Mul | BinOp::Div | BinOp::MatMul | BinOp::Hadamard
        )
    {
        spine.push((*op, lhs, rhs, *span));
        leftmost = lhs;
    }
    let (first, mut shape) = lower(graph, leftmost, scope)?;
    // The factors of the value so far (an entrywise product), not yet added to the graph.
    let mut factors = vec![first];
    let splice = |graph: &Graph, id: Id| -> Vec<Id> {
        match graph.node(id) {
            Node::Mul(xs) => xs.to_vec(),
            _ => vec![id],
        }
    };
    for &(op, lhs, rhs, span) in spine.iter().rev() {
        let (b, b_shape) = lower(graph, rhs, scope)?;
        let matrix_product = match op {
            BinOp::MatMul => true,
            BinOp::Mul => !shape.is_scalar() && !b_shape.is_scalar(),
            _ => false,
        };
        if matrix_product {
            if shape.cols != b_shape.rows && !scope.lenient {
                let (l, r) = (operand_text(lhs), operand_text(rhs));
                let written = format!(
                    "{}{}{}",
                    child_text(lhs, 2),
                    if op == BinOp::MatMul { " @ " } else { " " },
                    child_text(rhs, 3)
                );
                return Err(Diagnostic::at(
                    span,
                    format!(
                        "`{written}`: {l} is {shape} and {r} is {b_shape}; the columns of {l} \
                         must match the rows of {r}"
                    ),
                    format!("{shape} times {b_shape}"),
                )
                .with_help(
                    if shape.rows == b_shape.rows || shape.cols == b_shape.cols {
                        "transpose one of them (`^T`), or write `⊙` for the entrywise product"
                    } else {
                        "check the declared shapes: an r×k matrix multiplies a k×c one"
                    },
                )
                .into());
            }
            let a = graph.product(factors);
            let (id, _) = tensor(graph, TensorOp::MatMul, &[(a, shape), (b, b_shape)]);
            factors = vec![id];
            shape = Shape::new(shape.rows, b_shape.cols);
            continue;
        }
        let verb = if op == BinOp::Div {
            "divide"
        } else {
            "hadamard"
        };
        shape = elementwise(lhs, shape, rhs, b_shape, span, verb, scope.lenient)?;
        if factors.len() == 1
            && let (Some(x), Some(y)) = (graph.as_num(factors[0]), graph.as_num(b))
        {
            let folded = if op == BinOp::Div {
                (!y.is_zero())
                    .then(|| y.pow(Num::MINUS_ONE).map(|inv| x.mul(inv)))
                    .flatten()
            } else {
                Some(x.mul(y))
            };
            if let Some(folded @ Num::Rat(..)) = folded {
                factors = vec![graph.num(folded)];
                continue;
            }
        }
        if factors.len() == 1 {
            factors = splice(graph, factors[0]);
        }
        if op == BinOp::Div {
            let minus_one = graph.int(-1);
            factors.push(graph.pow(b, minus_one));
        } else {
            factors.extend(splice(graph, b));
        }
    }
    Ok((graph.product(factors), shape))
}

fn call(
    graph: &mut Graph,
    name: &Ident,
    args: &[Expr],
    span: Span,
    scope: &mut Scope<'_>,
) -> Outcome {
    if let Some(wrong) = crate::lang::syntax::wrong_arity(name, args, &[], span) {
        return Err(wrong.into());
    }
    if let Some(f) = Func2::from_name(&name.name)
        && let [a, b] = args
    {
        let x = lower(graph, a, scope)?;
        let y = lower(graph, b, scope)?;
        let shape = elementwise(a, x.1, b, y.1, span, "combine", scope.lenient)?;
        return Ok((graph.call2(f, x.0, y.0), shape));
    }
    if let Some(f) = Func::from_name(&name.name)
        && let [a] = args
    {
        let (x, shape) = lower(graph, a, scope)?;
        return Ok((graph.call(f, x), shape));
    }
    let Some(f) = TensorFn::from_name(&name.name) else {
        return Err(Diagnostic::at(
            name.span,
            format!("unknown function `{}`", name.name),
            "not a built-in function",
        )
        .into());
    };
    if f == TensorFn::LogSumExp && args.len() > 1 {
        let mut terms = Vec::with_capacity(args.len());
        for arg in args {
            let (term, shape) = lower(graph, arg, scope)?;
            if !shape.is_scalar() {
                return Err(Diagnostic::at(
                    arg.span(),
                    "`logsumexp` of several arguments takes scalars",
                    format!("{shape}"),
                )
                .with_help("write `logsumexp(z)` for a vector `z`")
                .into());
            }
            terms.push(term);
        }
        return Ok((
            crate::core::tensor::log_sum_exp(graph, &terms),
            Shape::SCALAR,
        ));
    }
    let first = lower(graph, &args[0], scope)?;
    let along = |shape: Shape| {
        if shape.cols == 1 {
            Axis::Down
        } else if shape.rows == 1 {
            Axis::Across
        } else {
            Axis::within_example(scope.layout)
        }
    };
    Ok(match f {
        TensorFn::Sum | TensorFn::Mean => {
            let axis = match args.get(1) {
                None => None,
                Some(Expr::Number { text, .. }) if text == "1" => Some(Axis::Down),
                Some(Expr::Number { text, .. }) if text == "2" => Some(Axis::Across),
                Some(other) => {
                    return Err(Diagnostic::at(
                        other.span(),
                        format!("the axis of `{}` is 1 or 2", name.name),
                        "not 1 or 2",
                    )
                    .with_help(format!(
                        "`{0}(M, 1)` runs down each column (over the rows), `{0}(M, 2)` across \
                         each row (over the columns)",
                        name.name
                    ))
                    .into());
                }
            };
            let count = match axis {
                None => first.1.len(),
                Some(Axis::Down) => first.1.rows as usize,
                Some(Axis::Across) => first.1.cols as usize,
            };
            let total = tensor(graph, TensorOp::Sum(axis), &[first]);
            if f == TensorFn::Sum {
                total
            } else {
                let inverse = graph.num(Num::ratio(1, count as i128));
                (graph.product(vec![inverse, total.0]), total.1)
            }
        }
        TensorFn::Dot | TensorFn::Hadamard => {
            let second = lower(graph, &args[1], scope)?;
            let verb = "hadamard";
            let shape = if f == TensorFn::Dot {
                if first.1 != second.1 {
                    return Err(Diagnostic::at(
                        span,
                        format!(
                            "`dot({}, {})`: {} is {} and {} is {}; a dot product needs two \
                             vectors of one shape",
                            source_text(&args[0]),
                            source_text(&args[1]),
                            operand_text(&args[0]),
                            first.1,
                            operand_text(&args[1]),
                            second.1
                        ),
                        format!("{} and {}", first.1, second.1),
                    )
                    .into());
                }
                first.1
            } else {
                elementwise(
                    &args[0],
                    first.1,
                    &args[1],
                    second.1,
                    span,
                    verb,
                    scope.lenient,
                )?
            };
            let product = graph.product(vec![first.0, second.0]);
            if f == TensorFn::Dot {
                tensor(graph, TensorOp::Sum(None), &[(product, shape)])
            } else {
                (product, shape)
            }
        }
        TensorFn::Softmax => {
            let axis = along(first.1);
            tensor(graph, TensorOp::Softmax(axis), &[first])
        }
        TensorFn::LogSumExp => {
            let axis = along(first.1);
            tensor(graph, TensorOp::LogSumExp(axis), &[first])
        }
        TensorFn::Transpose => tensor(graph, TensorOp::Transpose, &[first]),
        TensorFn::Norm2 => sum_of_squares(graph, first.0, first.1),
        TensorFn::Norm => {
            let (squares, _) = sum_of_squares(graph, first.0, first.1);
            (graph.call(Func::Sqrt, squares), Shape::SCALAR)
        }
    })
}

/// An expression as the input language writes it, for messages: `W2 x`, `W1 X + b1`.
pub fn source_text(expr: &Expr) -> String {
    match expr {
        Expr::Number { text, .. } => text.clone(),
        Expr::Name(ident) => ident.name.clone(),
        Expr::Neg { operand, .. } => format!("−{}", child_text(operand, 3)),
        Expr::Binary { op, lhs, rhs, .. } => {
            let (symbol, level) = match op {
                BinOp::Add => (" + ", 1),
                BinOp::Sub => (" − ", 1),
                BinOp::Mul => (" ", 2),
                BinOp::Div => (" / ", 2),
                BinOp::MatMul => (" @ ", 2),
                BinOp::Hadamard => (" ⊙ ", 2),
                BinOp::Pow => ("^", 4),
            };
            // left-associative: the right operand of an equal level is parenthesised
            format!(
                "{}{symbol}{}",
                child_text(lhs, level),
                child_text(rhs, level + 1)
            )
        }
        Expr::Call { name, args, .. } => format!(
            "{}({})",
            name.name,
            args.iter().map(source_text).collect::<Vec<_>>().join(", ")
        ),
        Expr::Index {
            operand, indices, ..
        } => format!(
            "{}[{}]",
            child_text(operand, 5),
            indices
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Expr::Transpose { operand, .. } => format!("{}ᵀ", child_text(operand, 5)),
        Expr::DerivRef { of, wrt, .. } => format!("d{}/d{}", of.name, wrt.name),
        Expr::DerivOf { wrt, expr, .. } => format!("d/d{}({})", wrt.name, source_text(expr)),
    }
}

/// How tightly an expression binds: 1 sums, 2 products, 3 unary minus, 4 powers, 5 atoms.
fn level(expr: &Expr) -> u8 {
    match expr {
        Expr::Binary { op, .. } => match op {
            BinOp::Add | BinOp::Sub => 1,
            BinOp::Pow => 4,
            _ => 2,
        },
        Expr::Neg { .. } => 3,
        _ => 5,
    }
}

/// A child in a parent of the given level: parenthesised when it binds more loosely.
fn child_text(expr: &Expr, parent: u8) -> String {
    if level(expr) < parent {
        format!("({})", source_text(expr))
    } else {
        source_text(expr)
    }
}

/// An operand in a message: a name as it is, anything longer in backquotes.
fn operand_text(expr: &Expr) -> String {
    match expr {
        Expr::Name(_) | Expr::Number { .. } => source_text(expr),
        _ => format!("`{}`", source_text(expr)),
    }
}

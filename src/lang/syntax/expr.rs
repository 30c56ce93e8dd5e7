//! Expressions: pest's pairs bound by precedence (the Pratt parser, built once), implicit
//! multiplication and calls, into the syntax tree.

use super::*;
use pest::iterators::Pairs;

// ---------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------

/// An expression while it is being built: its tree, its span including any parentheses
/// around it, and its depth.
pub(super) struct Node {
    pub(super) expr: Expr,
    pub(super) outer: Span,
    pub(super) depth: usize,
}

pub(super) static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left)
            | Op::infix(Rule::div, Assoc::Left)
            | Op::infix(Rule::implicit, Assoc::Left)
            | Op::infix(Rule::matmul, Assoc::Left)
            | Op::infix(Rule::hadamard, Assoc::Left))
        .op(Op::prefix(Rule::neg))
        .op(Op::infix(Rule::pow, Assoc::Right))
        .op(Op::postfix(Rule::superscript)
            | Op::postfix(Rule::transposed)
            | Op::postfix(Rule::index))
});

/// An `expr` pair to a tree.
pub(super) fn expression(pair: Pair<'_, Rule>) -> Result<Node> {
    operations(pair.into_inner())
}

/// Operands and operators in a flat list to a tree.
fn operations(pairs: Pairs<'_, Rule>) -> Result<Node> {
    PRATT
        .map_primary(primary)
        .map_prefix(|op, operand| {
            let operand = operand?;
            let span = span_of(&op).to(operand.outer);
            node(
                Expr::Neg {
                    operand: Box::new(operand.expr),
                    span,
                },
                span,
                operand.depth,
            )
        })
        .map_postfix(|operand, op| postfix(operand?, op))
        .map_infix(|lhs, op, rhs| {
            let (lhs, rhs) = (lhs?, rhs?);
            let op_kind = match op.as_rule() {
                Rule::add => BinOp::Add,
                Rule::sub => BinOp::Sub,
                Rule::mul | Rule::implicit => BinOp::Mul,
                Rule::div => BinOp::Div,
                Rule::pow => BinOp::Pow,
                Rule::matmul => BinOp::MatMul,
                Rule::hadamard => BinOp::Hadamard,
                _ => return Err(internal(span_of(&op))),
            };
            if op.as_rule() == Rule::implicit && numbers_meet(&op, &lhs.expr) {
                return Err(numbers_side_by_side(lhs.outer.to(rhs.outer)));
            }
            let span = lhs.outer.to(rhs.outer);
            let depth = lhs.depth.max(rhs.depth);
            if depth >= MAX_EXPR_DEPTH {
                return Err(too_long(span_of(&op)));
            }
            let expr = Expr::Binary {
                op: op_kind,
                lhs: Box::new(lhs.expr),
                rhs: Box::new(rhs.expr),
                span,
            };
            node(expr, span, depth)
        })
        .parse(pairs)
}

/// Whether an implicit product (the empty token `op`, where its right operand starts) puts a
/// number right after a number (`2 3`, `x^2 3`): that reads as one number with a gap, or as
/// an exponent going on. The source decides, since parentheses leave no trace in the tree:
/// `(y - 2) 3` and `a3 2` are products.
fn numbers_meet(op: &Pair<'_, Rule>, lhs: &Expr) -> bool {
    let source = op.get_input();
    let at = op.as_span().start();
    let next_is_digit = source[at..].starts_with(|c: char| c.is_ascii_digit());
    let before = source[..at].trim_end().chars().last();
    next_is_digit && before.is_some_and(|c| c.is_ascii_digit()) && ends_with_number(lhs)
}

/// Whether the last operand of `e` is a number (`2`, `x^2`).
fn ends_with_number(e: &Expr) -> bool {
    match e {
        Expr::Number { .. } => true,
        Expr::Binary { rhs, .. } => ends_with_number(rhs),
        Expr::Neg { operand, .. } => ends_with_number(operand),
        _ => false,
    }
}

fn numbers_side_by_side(span: Span) -> Diagnostic {
    Diagnostic::at(
        span,
        "two numbers side by side",
        "is this one number, or a product?",
    )
    .with_help("write the product with `*` (`2*3`), or the number without a space")
}

/// A postfix operator applied: `x²`, `Wᵀ`, `z[2]`. Not inlined into the Pratt parser's
/// closures, so that the frame of each level of a long chain stays small.
#[inline(never)]
fn postfix(operand: Node, op: Pair<'_, Rule>) -> Result<Node> {
    let op_span = span_of(&op);
    let span = operand.outer.to(op_span);
    match op.as_rule() {
        Rule::transposed => {
            let expr = Expr::Transpose {
                operand: Box::new(operand.expr),
                span,
            };
            return node(expr, span, operand.depth);
        }
        Rule::index => {
            let indices = op
                .into_inner()
                .filter(|p| p.as_rule() == Rule::index_number)
                .map(|p| {
                    p.as_str()
                        .parse::<u32>()
                        .ok()
                        .filter(|&i| i >= 1)
                        .ok_or_else(|| {
                            Diagnostic::at(
                                span_of(&p),
                                format!("`{}` is not an index", p.as_str()),
                                "indices count from 1",
                            )
                            .with_help(
                                "write `z[1]` for the first entry, `W[1, 2]` for row 1, column 2",
                            )
                        })
                })
                .collect::<Result<Vec<u32>>>()?;
            let expr = Expr::Index {
                operand: Box::new(operand.expr),
                indices,
                span,
            };
            return node(expr, span, operand.depth);
        }
        _ => {}
    }
    let exponent: String = op
        .as_str()
        .chars()
        .filter_map(|c| "⁰¹²³⁴⁵⁶⁷⁸⁹".chars().position(|s| s == c))
        .map(|d| char::from(b'0' + d as u8))
        .collect();
    let span = operand.outer.to(op_span);
    let rhs = Expr::Number {
        text: exponent,
        span: op_span,
    };
    let expr = Expr::Binary {
        op: BinOp::Pow,
        lhs: Box::new(operand.expr),
        rhs: Box::new(rhs),
        span,
    };
    node(expr, span, operand.depth)
}

/// A node one level above children of the given depth.
pub(super) fn node(expr: Expr, outer: Span, child_depth: usize) -> Result<Node> {
    if child_depth >= MAX_EXPR_DEPTH {
        return Err(too_long(outer));
    }
    Ok(Node {
        expr,
        outer,
        depth: child_depth + 1,
    })
}

pub(super) fn too_long(span: Span) -> Diagnostic {
    Diagnostic::at(
        span,
        format!(
            "expression too large: more than {MAX_EXPR_DEPTH} operations in a row (a sum of n \
             terms is n of them)"
        ),
        "the limit is reached here",
    )
    .with_help(format!(
        "one expression holds at most {MAX_EXPR_DEPTH} terms: split it into named \
         intermediates (`s1 = ...`, then `s2 = s1 + ...`)"
    ))
}

pub(super) fn primary(pair: Pair<'_, Rule>) -> Result<Node> {
    match pair.as_rule() {
        Rule::number => number(pair),
        Rule::name => Ok(leaf(Expr::Name(variable(pair)?))),
        Rule::paren => paren(pair),
        Rule::call | Rule::tensor_call => call(pair),
        Rule::norm => norm(pair),
        Rule::deriv_ref => deriv_ref(pair),
        Rule::deriv_of => deriv_of(pair),
        Rule::expr => expression(pair),
        _ => Err(internal(span_of(&pair))),
    }
}

pub(super) fn leaf(expr: Expr) -> Node {
    let outer = expr.span();
    Node {
        expr,
        outer,
        depth: 1,
    }
}

pub(super) fn number(pair: Pair<'_, Rule>) -> Result<Node> {
    let span = span_of(&pair);
    let text = pair.as_str();
    if Num::parse(text).is_none() {
        return Err(Diagnostic::at(
            span,
            format!("the number `{text}` is out of range"),
            "out of range",
        )
        .with_help("numbers must be finite 64-bit floating-point values"));
    }
    Ok(leaf(Expr::Number {
        text: text.to_string(),
        span,
    }))
}

/// `(expr)`, or `(dC/dw1)_direct` when the grammar closed it with `)_direct`. Inside is an
/// `expr`, or a derivative and the rest of the expression after it, flat.
pub(super) fn paren(pair: Pair<'_, Rule>) -> Result<Node> {
    let span = span_of(&pair);
    let source = pair.get_input();
    let inner = pair.into_inner();
    let is_direct = inner
        .clone()
        .last()
        .is_some_and(|p| p.as_rule() == Rule::direct_close);
    let mut node = if is_direct {
        direct(span, next(&mut inner.clone(), source)?)?
    } else {
        operations(inner)?
    };
    node.outer = span;
    Ok(node)
}

pub(super) fn call(pair: Pair<'_, Rule>) -> Result<Node> {
    let span = span_of(&pair);
    let source = pair.get_input();
    let (commas, mut inner): (Vec<_>, Vec<_>) =
        pair.into_inner().partition(|p| p.as_rule() == Rule::comma);
    let commas: Vec<Span> = commas.iter().map(span_of).collect();
    let mut inner = inner.drain(..);
    let callee = next(&mut inner, source)?;
    let name = ident_of(&callee);
    let args: Vec<Node> = inner.map(expression).collect::<Result<_>>()?;
    if args.is_empty() {
        return Err(bare_function(callee));
    }
    if Func::from_name(&name.name).is_none()
        && Func2::from_name(&name.name).is_none()
        && TensorFn::from_name(&name.name).is_none()
    {
        return Err(unknown_function(&name));
    }
    let depth = args.iter().map(|a| a.depth).max().unwrap_or(0);
    let args: Vec<Expr> = args.into_iter().map(|a| a.expr).collect();
    if let Some(wrong) = wrong_arity(&name, &args, &commas, span) {
        return Err(wrong);
    }
    node(Expr::Call { name, args, span }, span, depth)
}

/// The error for a built-in called with the wrong number of arguments (`log(w, x)`,
/// `max(a)`), or `None` when the count is right; the caret goes under the comma before the
/// first argument too many (`commas`, where the parser kept them, else under the argument).
/// The language's and LaTeX's parsers and lowering share it, so the message is the same
/// wherever the call was written.
pub fn wrong_arity(name: &Ident, args: &[Expr], commas: &[Span], call: Span) -> Option<Diagnostic> {
    let before = |k: usize| commas.get(k - 1).copied().unwrap_or_else(|| args[k].span());
    let whole = call;
    let call = |d: Diagnostic| d.with_note(name.span, "the call");
    if let Some(f) = TensorFn::from_name(&name.name) {
        let (least, most) = f.arity();
        if (least..=most).contains(&args.len()) {
            return None;
        }
        let counted = match (least, most) {
            (1, 1) => "one argument".to_string(),
            (2, 2) => "two arguments".to_string(),
            _ => format!("{least} or {most} arguments"),
        };
        return Some(
            Diagnostic::at(
                whole,
                format!("`{}` takes {counted}", name.name),
                format!("{} given", args.len()),
            )
            .with_help(format!("write `{}`", f.example())),
        );
    }
    if let Some(f) = Func2::from_name(&name.name) {
        let example = format!("write `{}(a, b)`", f.name());
        return match args {
            [_, _] => None,
            [] | [_] => Some(
                Diagnostic::at(
                    whole,
                    format!("`{}` takes two arguments", name.name),
                    "only one argument",
                )
                .with_help(example),
            ),
            [_, _, _, ..] => Some(
                call(Diagnostic::at(
                    before(2),
                    format!("`{}` takes two arguments, not more", name.name),
                    "a third argument",
                ))
                .with_help(format!(
                    "{example}, and nest it for more: `{0}(a, {0}(b, c))`",
                    f.name()
                )),
            ),
        };
    }
    match args {
        [_, _, ..] => {
            let diagnostic = call(Diagnostic::at(
                before(1),
                format!("`{}` takes one argument, not several", name.name),
                "a second argument",
            ));
            Some(match Func::from_name(&name.name) {
                Some(_) => {
                    diagnostic.with_help(format!("write `{}(x)` with one argument", name.name))
                }
                None => diagnostic,
            })
        }
        _ => None,
    }
}

pub(super) fn unknown_function(name: &Ident) -> Diagnostic {
    Diagnostic::at(
        name.span,
        format!("unknown function `{}`", name.name),
        "not a built-in function",
    )
    .with_help(builtin_help())
}

pub(super) fn bare_function(pair: Pair<'_, Rule>) -> Diagnostic {
    let text = pair.as_str();
    let help = match (Func::from_name(text), Func2::from_name(text)) {
        (Some(func), _) => format!(
            "call it with an argument in parentheses: `{}(z)`",
            func.name()
        ),
        (None, Some(func)) => format!(
            "call it with two arguments in parentheses: `{}(a, b)`",
            func.name()
        ),
        (None, None) => builtin_help(),
    };
    Diagnostic::at(
        span_of(&pair),
        format!("`{text}` is a built-in function and needs an argument"),
        "expected `(` after the function name",
    )
    .with_help(help)
}

/// `‖v‖`: the norm, as the call `norm(v)`.
pub(super) fn norm(pair: Pair<'_, Rule>) -> Result<Node> {
    let span = span_of(&pair);
    let source = pair.get_input();
    let inner = expression(next(&mut pair.into_inner(), source)?)?;
    let name = Ident {
        name: "norm".to_string(),
        span: Span::new(span.start, span.start + "‖".len()),
    };
    node(
        Expr::Call {
            name,
            args: vec![inner.expr],
            span,
        },
        span,
        inner.depth,
    )
}

pub(super) fn deriv_ref(pair: Pair<'_, Rule>) -> Result<Node> {
    let span = span_of(&pair);
    let source = pair.get_input();
    let mut names = pair.into_inner();
    let of = ident_of(&next(&mut names, source)?);
    let wrt = ident_of(&next(&mut names, source)?);
    Ok(leaf(Expr::DerivRef {
        of,
        wrt,
        partial: Partial::Total,
        span,
    }))
}

/// `(dC/dw1)_direct` (spanning `span`): the derivative inside, as the direct partial.
fn direct(span: Span, derivative: Pair<'_, Rule>) -> Result<Node> {
    let mut node = primary(derivative)?;
    match &mut node.expr {
        Expr::DerivRef {
            partial, span: s, ..
        }
        | Expr::DerivOf {
            partial, span: s, ..
        } => {
            *partial = Partial::Direct;
            *s = span;
        }
        _ => return Err(internal(span)),
    }
    Ok(node)
}

pub(super) fn deriv_of(pair: Pair<'_, Rule>) -> Result<Node> {
    let span = span_of(&pair);
    let source = pair.get_input();
    let mut inner = pair.into_inner();
    let op = next(&mut inner, source)?;
    let wrt = ident_of(&next(&mut op.into_inner(), source)?);
    let body = expression(next(&mut inner, source)?)?;
    node(
        Expr::DerivOf {
            wrt,
            expr: Box::new(body.expr),
            partial: Partial::Total,
            span,
        },
        span,
        body.depth,
    )
}

pub(super) fn builtin_help() -> String {
    let names: Vec<&str> = Func::ALL
        .iter()
        .map(|f| f.name())
        .chain(Func2::ALL.iter().map(|f| f.name()))
        .collect();
    format!("the built-in functions are {}", quoted_list(&names))
}

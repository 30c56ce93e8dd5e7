//! One side of a claim written as NumPy or PyTorch code, read into the syntax tree of
//! [`crate::lang::ast`] with NumPy's meaning: `*`, `np.multiply` and `/` entry by entry with
//! broadcasting, `@`, `np.dot`, `np.matmul` and `torch.mm` the matrix product, `.T`, `.t()` and
//! `np.transpose` the transpose, `**` and `np.power` powers, `np.exp`, `np.log`, `np.tanh`
//! entry by entry, and `np.sum(M, axis=…, keepdims=…)` with NumPy's axes (0 down each
//! column, 1 across each row; PyTorch's `dim`/`keepdim` alike). A sum across the rows without
//! `keepdims=True` is a 1-D array in NumPy, which broadcasts as a row: it is read as the
//! transpose of the column it would be with `keepdims`, so that a dropped `keepdims` changes
//! the claim's shape and value exactly as it does in NumPy. Names are left as written; the
//! caller resolves them. Spans are byte offsets into the text; pest's types stay here.

use pest::Parser as _;
use pest::iterators::Pair;

use crate::core::error::{Diagnostic, Result};
use crate::lang::ast::{BinOp, Expr, Ident, Span};

#[derive(pest_derive::Parser)]
#[grammar = "grammar/numpy.pest"]
struct CodeParser;

/// The longest side accepted, in bytes (as for LaTeX: a line from a notebook).
const MAX_LENGTH: usize = 4000;

/// How deeply parentheses and calls may nest (pest and the builder recurse).
const MAX_NESTING: usize = 64;

/// Module paths a function may be written under: `np.dot`, `torch.mm`, `F.relu`.
const MODULES: [&str; 7] = [
    "np",
    "numpy",
    "torch",
    "F",
    "nn.functional",
    "torch.nn.functional",
    "scipy.special",
];

/// Whether a claim side reads as code rather than the plain language or LaTeX: it calls a
/// NumPy or PyTorch function, or uses `@`, `.T`, `.t()`, `**` or a keyword argument.
pub fn looks_like_code(text: &str) -> bool {
    [
        "np.", "numpy.", "torch.", "@", ".T", ".t()", "**", "axis=", "dim=",
    ]
    .iter()
    .any(|mark| text.contains(mark))
}

/// Parses one side of a claim written as NumPy or PyTorch code.
pub fn parse_code(text: &str) -> Result<Expr> {
    if text.len() > MAX_LENGTH {
        return Err(Diagnostic::at(
            Span::new(0, text.len()),
            format!("the formula is longer than {MAX_LENGTH} bytes"),
            "too long",
        ));
    }
    let depth = text
        .chars()
        .fold((0usize, 0usize), |(deepest, open), c| match c {
            '(' => (deepest.max(open + 1), open + 1),
            ')' => (deepest, open.saturating_sub(1)),
            _ => (deepest, open),
        });
    // `a ** b ** c` and `W.T.T` nest to the right as parentheses do.
    if depth.0 + text.matches("**").count() + text.matches(".T").count() > MAX_NESTING {
        return Err(Diagnostic::at(
            Span::new(0, text.len()),
            format!("the expression is nested more than {MAX_NESTING} deep"),
            "nested too deeply",
        ));
    }
    let mut pairs = CodeParser::parse(Rule::side, text).map_err(|e| {
        let at = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
        Diagnostic::at(
            Span::new(at, end.max(at)),
            "this NumPy or PyTorch expression cannot be read",
            if at >= text.len() {
                "the expression ends too early"
            } else {
                "unexpected here"
            },
        )
        .with_help(
            "write e.g. `np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))`, `dZ @ X.T / m` or \
             `np.sum(dZ, axis=1, keepdims=True) / m`",
        )
    })?;
    let side = pairs.next().expect("a side");
    let sum = side.into_inner().next().expect("a sum");
    build(sum)
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    Span::new(pair.as_span().start(), pair.as_span().end())
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span().to(rhs.span());
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        span,
    }
}

fn call(name: &str, name_span: Span, args: Vec<Expr>, span: Span) -> Expr {
    Expr::Call {
        name: Ident {
            name: name.to_string(),
            span: name_span,
        },
        args,
        span,
    }
}

fn number(text: &str, span: Span) -> Expr {
    Expr::Number {
        text: text.to_string(),
        span,
    }
}

fn build(pair: Pair<'_, Rule>) -> Result<Expr> {
    let span = span_of(&pair);
    match pair.as_rule() {
        Rule::sum | Rule::product => {
            let mut inner = pair.into_inner();
            let mut value = build(inner.next().expect("an operand"))?;
            while let Some(op) = inner.next() {
                let rhs = build(inner.next().expect("an operand after an operator"))?;
                let op = match op.as_str() {
                    "+" => BinOp::Add,
                    "-" => BinOp::Sub,
                    "@" => BinOp::MatMul,
                    "*" => BinOp::Hadamard,
                    _ => BinOp::Div,
                };
                value = binary(op, value, rhs);
            }
            Ok(value)
        }
        Rule::unary => {
            let mut signs = Vec::new();
            let mut operand = None;
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::negation => signs.push(span_of(&part)),
                    _ => operand = Some(build(part)?),
                }
            }
            let mut value = operand.expect("an operand");
            for sign in signs.into_iter().rev() {
                let span = sign.to(value.span());
                value = Expr::Neg {
                    operand: Box::new(value),
                    span,
                };
            }
            Ok(value)
        }
        Rule::power => {
            let mut inner = pair.into_inner();
            let base = build(inner.next().expect("a base"))?;
            match inner.next() {
                Some(exponent) => Ok(binary(BinOp::Pow, base, build(exponent)?)),
                None => Ok(base),
            }
        }
        Rule::postfix => {
            let mut inner = pair.into_inner();
            let mut value = build(inner.next().expect("an operand"))?;
            for attribute in inner {
                let at = span_of(&attribute);
                let whole = value.span().to(at);
                value = match attribute.as_rule() {
                    Rule::transpose => Expr::Transpose {
                        operand: Box::new(value),
                        span: whole,
                    },
                    _ => {
                        let mut parts = attribute.into_inner();
                        let word = parts.next().expect("a method name");
                        let args = match parts.next() {
                            Some(arguments) => arguments_of(arguments)?,
                            None => Vec::new(),
                        };
                        method(value, word.as_str(), span_of(&word), args, whole)?
                    }
                };
            }
            Ok(value)
        }
        Rule::call => {
            let mut inner = pair.into_inner();
            let path = inner.next().expect("a path");
            let args = match inner.next() {
                Some(arguments) => arguments_of(arguments)?,
                None => Vec::new(),
            };
            let path_span = span_of(&path);
            let text = path.as_str();
            if let Some(function) = MODULES
                .iter()
                .filter_map(|m| text.strip_prefix(m)?.strip_prefix('.'))
                .find(|rest| !rest.contains('.'))
            {
                let name_span = Span::new(path_span.end - function.len(), path_span.end);
                return function_call(function, name_span, args, span);
            }
            // `dZ.sum(axis=1)`, `W.T.dot(x)`, `sigmoid(Z)`: a name, its attributes, the last
            // one called.
            let mut segments = text.split('.');
            let first = segments.next().unwrap_or_default();
            let rest: Vec<&str> = segments.collect();
            let Some((last, middle)) = rest.split_last() else {
                return function_call(first, path_span, args, span);
            };
            let mut offset = path_span.start + first.len();
            let mut value = Expr::Name(Ident {
                name: first.to_string(),
                span: Span::new(path_span.start, offset),
            });
            for &segment in middle {
                offset += 1 + segment.len();
                let whole = Span::new(path_span.start, offset);
                if segment != "T" {
                    return Err(unknown(segment, Span::new(offset - segment.len(), offset)));
                }
                value = Expr::Transpose {
                    operand: Box::new(value),
                    span: whole,
                };
            }
            let name_span = Span::new(path_span.end - last.len(), path_span.end);
            method(value, last, name_span, args, span)
        }
        Rule::name => Ok(Expr::Name(Ident {
            name: pair.as_str().to_string(),
            span,
        })),
        Rule::number => Ok(number(pair.as_str(), span)),
        rule => unreachable!("the grammar gives no {rule:?} here"),
    }
}

/// An argument: positional, or `keyword=value`.
struct Argument {
    keyword: Option<Ident>,
    value: Expr,
}

fn arguments_of(pair: Pair<'_, Rule>) -> Result<Vec<Argument>> {
    pair.into_inner()
        .map(|argument| {
            let mut parts: Vec<Pair<'_, Rule>> = argument.into_inner().collect();
            let value = build(parts.pop().expect("a value"))?;
            let keyword = parts.pop().map(|k| Ident {
                name: k.as_str().to_string(),
                span: span_of(&k),
            });
            Ok(Argument { keyword, value })
        })
        .collect()
}

fn unknown(name: &str, span: Span) -> Diagnostic {
    Diagnostic::at(
        span,
        format!("`{name}` is not a function a claim can use"),
        "unknown function",
    )
    .with_help(
        "claims in code use np.dot, np.matmul, torch.mm, @, np.multiply, *, np.sum, np.mean, \
         np.exp, np.log, np.tanh, np.power, np.sqrt, np.maximum, np.transpose, .T and .t()",
    )
}

/// A method called on a value: `dZ.sum(axis=1)`, `W.dot(x)`, `W.t()`.
fn method(
    receiver: Expr,
    name: &str,
    name_span: Span,
    mut args: Vec<Argument>,
    span: Span,
) -> Result<Expr> {
    args.insert(
        0,
        Argument {
            keyword: None,
            value: receiver,
        },
    );
    function_call(name, name_span, args, span)
}

/// A NumPy or PyTorch function by its name without the module.
fn function_call(name: &str, name_span: Span, args: Vec<Argument>, span: Span) -> Result<Expr> {
    let (mut positional, mut keywords) = (Vec::new(), Vec::new());
    for a in args {
        match a.keyword {
            Some(k) => keywords.push((k, a.value)),
            None => positional.push(a.value),
        }
    }
    let arity = |positional: &Vec<Expr>, count: usize| -> Result<()> {
        if positional.len() != count {
            return Err(Diagnostic::at(
                span,
                format!(
                    "`{name}` takes {count} argument{} here, not {}",
                    if count == 1 { "" } else { "s" },
                    positional.len()
                ),
                "wrong number of arguments",
            ));
        }
        Ok(())
    };
    let binary_of = |op: BinOp, mut positional: Vec<Expr>| {
        let rhs = positional.pop().expect("two operands");
        let lhs = positional.pop().expect("two operands");
        binary(op, lhs, rhs)
    };
    let op = match name {
        "dot" | "matmul" | "mm" => Some(BinOp::MatMul),
        "multiply" | "mul" => Some(BinOp::Hadamard),
        "divide" | "div" | "true_divide" => Some(BinOp::Div),
        "add" => Some(BinOp::Add),
        "subtract" | "sub" => Some(BinOp::Sub),
        "power" | "pow" => Some(BinOp::Pow),
        _ => None,
    };
    if let Some(op) = op {
        arity(&positional, 2)?;
        return Ok(binary_of(op, positional));
    }
    match name {
        "outer" => {
            arity(&positional, 2)?;
            let v = positional.pop().expect("two operands");
            let u = positional.pop().expect("two operands");
            let v_span = v.span();
            let column_times_row = Expr::Transpose {
                operand: Box::new(v),
                span: v_span,
            };
            Ok(binary(BinOp::MatMul, u, column_times_row))
        }
        "T" | "t" | "transpose" => {
            arity(&positional, 1)?;
            Ok(Expr::Transpose {
                operand: Box::new(positional.remove(0)),
                span,
            })
        }
        "exp" | "log" | "tanh" | "sqrt" | "abs" | "sigmoid" | "expit" | "relu" | "softplus"
        | "softmax" | "logsumexp" => {
            arity(&positional, 1)?;
            let function = if name == "expit" { "sigmoid" } else { name };
            Ok(call(function, name_span, positional, span))
        }
        "maximum" | "minimum" => {
            arity(&positional, 2)?;
            let function = if name == "maximum" { "max" } else { "min" };
            Ok(call(function, name_span, positional, span))
        }
        "sum" | "mean" => {
            let mut axis: Option<(i64, Span)> = None;
            let mut keepdims = false;
            if positional.len() == 2 {
                let second = positional.pop().expect("two arguments");
                axis = Some((integer(&second)?, second.span()));
            }
            arity(&positional, 1)?;
            for (keyword, value) in keywords.drain(..) {
                match keyword.name.as_str() {
                    "axis" | "dim" => axis = Some((integer(&value)?, value.span())),
                    "keepdims" | "keepdim" => keepdims = flag(&value)?,
                    other => {
                        return Err(Diagnostic::at(
                            keyword.span,
                            format!("`{name}` in a claim takes no `{other}`"),
                            "unknown keyword",
                        )
                        .with_help("write `axis=0` or `axis=1`, and `keepdims=True`"));
                    }
                }
            }
            let operand = positional.remove(0);
            let Some((axis, axis_span)) = axis else {
                return Ok(call(name, name_span, vec![operand], span));
            };
            // NumPy's axis 0 runs down each column: the language's (MATLAB's) axis 1.
            match axis {
                0 | -2 => Ok(call(
                    name,
                    name_span,
                    vec![operand, number("1", axis_span)],
                    span,
                )),
                1 | -1 => {
                    let column = call(name, name_span, vec![operand, number("2", axis_span)], span);
                    Ok(if keepdims {
                        column
                    } else {
                        Expr::Transpose {
                            operand: Box::new(column),
                            span,
                        }
                    })
                }
                _ => Err(
                    Diagnostic::at(axis_span, "a matrix has axes 0 and 1", "no such axis")
                        .with_help("axis=0 sums down each column, axis=1 across each row"),
                ),
            }
        }
        _ => Err(unknown(name, name_span)),
    }
    .and_then(|e| match keywords.first() {
        Some((k, _)) => Err(Diagnostic::at(
            k.span,
            format!("`{name}` in a claim takes no `{}`", k.name),
            "unknown keyword",
        )),
        None => Ok(e),
    })
}

fn integer(expr: &Expr) -> Result<i64> {
    let value = match expr {
        Expr::Number { text, .. } => text.parse::<i64>().ok(),
        Expr::Neg { operand, .. } => match operand.as_ref() {
            Expr::Number { text, .. } => text.parse::<i64>().ok().map(|n| -n),
            _ => None,
        },
        _ => None,
    };
    value.ok_or_else(|| {
        Diagnostic::at(expr.span(), "an axis is a whole number", "not an axis")
            .with_help("axis=0 sums down each column, axis=1 across each row")
    })
}

fn flag(expr: &Expr) -> Result<bool> {
    match expr {
        Expr::Name(i) if i.name == "True" => Ok(true),
        Expr::Name(i) if i.name == "False" => Ok(false),
        _ => Err(Diagnostic::at(
            expr.span(),
            "`keepdims` is True or False",
            "not True or False",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::shaped::source_text;

    fn read(text: &str) -> String {
        source_text(&parse_code(text).unwrap_or_else(|e| panic!("{text}: {e:?}")))
    }

    #[test]
    fn numpy_operators_keep_their_meaning() {
        assert_eq!(
            read("np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))"),
            "W2ᵀ @ dZ2 ⊙ (1 − A1^2)"
        );
        assert_eq!(read("dZ @ X.T / m"), "dZ @ Xᵀ / m");
        assert_eq!(read("1/m * np.dot(dZ1, X.T)"), "1 / m ⊙ (dZ1 @ Xᵀ)");
        assert_eq!(read("-A ** 2"), "−A^2");
        assert_eq!(read("torch.mm(W.t(), d)"), "Wᵀ @ d");
        assert_eq!(read("W.T.dot(x)"), "Wᵀ @ x");
    }

    #[test]
    fn numpy_axes_become_the_languages() {
        assert_eq!(
            read("np.sum(dZ, axis=1, keepdims=True) / m"),
            "sum(dZ, 2) / m"
        );
        assert_eq!(read("np.sum(dZ, axis=1)"), "sum(dZ, 2)ᵀ");
        assert_eq!(read("dZ.sum(axis=0)"), "sum(dZ, 1)");
        assert_eq!(read("torch.sum(dZ, dim=1, keepdim=True)"), "sum(dZ, 2)");
        assert_eq!(read("np.sum(dZ)"), "sum(dZ)");
    }

    #[test]
    fn bad_code_is_refused_with_a_caret() {
        let e = parse_code("np.dot(W2.T, ").unwrap_err();
        assert!(e.message.contains("cannot be read"), "{e:?}");
        let e = parse_code("np.fft(W)").unwrap_err();
        assert!(e.message.contains("`fft`"), "{e:?}");
        assert_eq!(e.span, Some(Span::new(3, 6)));
        let e = parse_code("np.sum(W, axis=2)").unwrap_err();
        assert!(e.message.contains("axes 0 and 1"), "{e:?}");
        assert!(parse_code(&"(".repeat(100)).is_err());
        let tower = format!("{}a", "a**".repeat(100));
        assert!(parse_code(&tower).unwrap_err().message.contains("nested"));
    }
}

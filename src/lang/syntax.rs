//! The parser: `.bp` source text to the syntax tree of [`crate::lang::ast`], with byte spans.
//!
//! The grammar lives in `grammar/bp.pest`; operator precedence is bound here by a Pratt
//! parser. pest's types stay in this module: callers see [`ast`](crate::lang::ast) values and
//! [`Diagnostic`]s only.
//!
//! Representation notes for lowering:
//! - A built-in function applied to an argument is [`Expr::Call`]; `name` is as written
//!   (`σ`, `ln`, `sigmoid'`, `tanh′`) and always satisfies [`Func::from_name`].
//! - Any other name followed by parentheses is implicit multiplication: `foo(x)` is
//!   `Binary { op: Mul, lhs: Name(foo), rhs: x }`. Parentheses leave no node of their own.
//! - Names never are keywords or built-in function names; numbers always satisfy
//!   [`Num::parse`].
//! - Expressions are at most [`MAX_EXPR_DEPTH`] nodes deep, so a recursive walk is safe.

use std::sync::LazyLock;

use pest::Parser as _;
use pest::error::InputLocation;
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use crate::core::error::{Diagnostic, Result};
use crate::core::expr::{Func, Num};
use crate::lang::ast::{
    AssignKind, BinOp, DataRow, DeclKind, Declared, Expr, Ident, Program, Span, Stmt,
};

#[derive(pest_derive::Parser)]
#[grammar = "grammar/bp.pest"]
struct BpParser;

/// How deeply parentheses, powers and unary minus signs may nest inside one another.
pub const MAX_NESTING: usize = 256;

/// How deep an expression tree may be (a sum of n terms is n levels deep).
pub const MAX_EXPR_DEPTH: usize = 2048;

/// The words that cannot name a variable.
pub const KEYWORDS: [&str; 8] = [
    "input", "target", "param", "show", "cost", "output", "as", "network",
];

/// Nesting up to this depth is parsed on the caller's stack; deeper input on a thread of
/// its own with [`PARSER_STACK`] bytes of stack (the tree builder needs a few kilobytes per
/// level in debug builds).
const INLINE_NESTING: usize = 24;
const PARSER_STACK: usize = 64 << 20;

/// Parses a whole `.bp` program.
pub fn parse_program(source: &str) -> Result<Program> {
    let nesting = check_nesting(source)?;
    let program = with_stack(nesting, || {
        let mut pairs =
            BpParser::parse(Rule::program, source).map_err(|e| syntax_error(source, e, false))?;
        let program = next(&mut pairs, source)?;
        program
            .into_inner()
            .filter(|p| p.as_rule() != Rule::EOI)
            .map(statement)
            .collect::<Result<Vec<_>>>()
    })?;
    if program.is_empty() {
        return Err(Diagnostic::new("the program is empty").with_help(
            "declare the names and write the cost, e.g. `input x`, `param w`, `cost C = (w*x - 1)^2`",
        ));
    }
    Ok(Program {
        statements: program,
    })
}

/// Parses a single expression (`--expr`, one side of a claim).
pub fn parse_expr(source: &str) -> Result<Expr> {
    let nesting = check_nesting(source)?;
    if is_blank(source) {
        return Err(Diagnostic::new("the expression is empty"));
    }
    with_stack(nesting, || {
        let mut pairs =
            BpParser::parse(Rule::expr_only, source).map_err(|e| syntax_error(source, e, true))?;
        let whole = next(&mut pairs, source)?;
        let expr = next(&mut whole.into_inner(), source)?;
        Ok(expression(expr)?.expr)
    })
}

/// Runs `parse` here if the input nests shallowly, else on a thread with a large stack.
fn with_stack<T: Send>(nesting: usize, parse: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    if nesting <= INLINE_NESTING {
        return parse();
    }
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("chainrule-parser".into())
            .stack_size(PARSER_STACK);
        match thread.spawn_scoped(scope, parse) {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(Diagnostic::new(
                    "internal error: the parser stopped unexpectedly",
                ))
            }),
            Err(e) => Err(Diagnostic::new(format!(
                "cannot start the parser for deeply nested input: {e}"
            ))),
        }
    })
}

/// Whether the text holds nothing but whitespace and comments.
fn is_blank(source: &str) -> bool {
    source.lines().all(|line| {
        let line = line.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
        line.is_empty() || line.starts_with('#')
    })
}

// ---------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------

fn statement(pair: Pair<'_, Rule>) -> Result<Stmt> {
    let span = span_of(&pair);
    let rule = pair.as_rule();
    let source = pair.get_input();
    let mut inner = pair
        .into_inner()
        .filter(|p| !matches!(p.as_rule(), Rule::equals | Rule::comma));
    match rule {
        Rule::declare => {
            let keyword = next(&mut inner, source)?;
            let kind = match keyword.as_rule() {
                Rule::kw_input => DeclKind::Input,
                Rule::kw_target => DeclKind::Target,
                _ => DeclKind::Param,
            };
            let mut one_hot = None;
            let mut names = Vec::new();
            for pair in inner {
                if pair.as_rule() == Rule::kw_one_hot {
                    one_hot = Some(span_of(&pair));
                } else {
                    names.push(declared(pair)?);
                }
            }
            Ok(Stmt::Declare {
                kind,
                names,
                one_hot,
                span,
            })
        }
        Rule::show => {
            let names = inner
                .filter(|p| p.as_rule() == Rule::shown)
                .map(declared)
                .collect::<Result<Vec<_>>>()?;
            Ok(Stmt::Show { names, span })
        }
        Rule::cost | Rule::output => {
            let kind = if rule == Rule::cost {
                AssignKind::Cost
            } else {
                AssignKind::Output
            };
            let _keyword = next(&mut inner, source)?;
            let name = variable(next(&mut inner, source)?)?;
            let value = expression(next(&mut inner, source)?)?.expr;
            Ok(Stmt::Assign {
                kind,
                name,
                value,
                span,
            })
        }
        Rule::network => {
            let widths = inner
                .filter(|p| p.as_rule() == Rule::width)
                .map(|p| ident_of(&p))
                .collect();
            Ok(Stmt::Network { widths, span })
        }
        Rule::net_option => {
            let key = ident_of(&next(&mut inner, source)?);
            let mut layer = None;
            let mut value = None;
            for part in inner {
                match part.as_rule() {
                    Rule::width => layer = Some(ident_of(&part)),
                    Rule::option_word => value = Some(ident_of(&part)),
                    _ => {}
                }
            }
            let value = value.ok_or_else(|| internal(span))?;
            Ok(Stmt::NetworkOption {
                key,
                layer,
                value,
                span,
            })
        }
        Rule::data => data_block(inner, span),
        Rule::assign => {
            let target = next(&mut inner, source)?;
            if matches!(target.as_str(), "cost" | "output") {
                let word = target.as_str();
                let what = if word == "cost" { "cost" } else { "output" };
                return Err(Diagnostic::at(
                    span_of(&target),
                    format!("`{word}` needs a name"),
                    format!("expected a name after `{word}`"),
                )
                .with_help(format!(
                    "name the {what}: `{word} {} = ...`",
                    if word == "cost" { "C" } else { "f" }
                )));
            }
            let name = variable(target)?;
            let value = expression(next(&mut inner, source)?)?.expr;
            Ok(Stmt::Assign {
                kind: AssignKind::Intermediate,
                name,
                value,
                span,
            })
        }
        _ => Err(internal(span)),
    }
}

/// A `data` block: its columns, then rows each as long as the columns.
fn data_block<'i>(parts: impl Iterator<Item = Pair<'i, Rule>>, span: Span) -> Result<Stmt> {
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    for part in parts {
        match part.as_rule() {
            Rule::ident => columns.push(variable(part)?),
            Rule::data_row => {
                let row_span = span_of(&part);
                let values = part
                    .into_inner()
                    .filter(|cell| cell.as_rule() == Rule::signed)
                    .map(|cell| {
                        let text = cell.as_str().replace('−', "-");
                        text.parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                            .ok_or_else(|| {
                                Diagnostic::at(
                                    span_of(&cell),
                                    format!("`{}` is not a finite number", cell.as_str()),
                                    "too large for float64",
                                )
                            })
                    })
                    .collect::<Result<Vec<f64>>>()?;
                if values.len() != columns.len() {
                    return Err(Diagnostic::at(
                        row_span,
                        format!(
                            "this row has {} value{} but the data block has {} column{}",
                            values.len(),
                            if values.len() == 1 { "" } else { "s" },
                            columns.len(),
                            if columns.len() == 1 { "" } else { "s" },
                        ),
                        "wrong number of values",
                    )
                    .with_help(format!(
                        "give one number for each of {}, separated by commas",
                        columns
                            .iter()
                            .map(|c| format!("`{}`", c.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                rows.push(DataRow {
                    values,
                    span: row_span,
                });
            }
            _ => {}
        }
    }
    Ok(Stmt::Data {
        columns,
        rows,
        span,
    })
}

/// `name` or `name as "display"` (a `declared` or `shown` pair).
fn declared(pair: Pair<'_, Rule>) -> Result<Declared> {
    let source = pair.get_input();
    let mut ident = None;
    let mut display = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::ident => ident = Some(variable(part)?),
            Rule::string => {
                let text = part.into_inner().next().map(|t| t.as_str()).unwrap_or("");
                display = Some(text.to_string());
            }
            _ => {}
        }
    }
    match ident {
        Some(ident) => Ok(Declared { ident, display }),
        None => Err(internal(Span::new(0, source.len()))),
    }
}

/// A name that is defined or used as a variable: keywords and function names are refused.
fn variable(pair: Pair<'_, Rule>) -> Result<Ident> {
    let ident = ident_of(&pair);
    refuse_reserved(&ident)?;
    Ok(ident)
}

/// Refuses a keyword or a built-in function's name where a name of the program is expected,
/// in the same words wherever it is written (an assignment, a declaration, a `show`).
pub fn refuse_reserved(ident: &Ident) -> Result<()> {
    if KEYWORDS.contains(&ident.name.as_str()) {
        return Err(Diagnostic::at(
            ident.span,
            format!("`{}` is a keyword and cannot be used as a name", ident.name),
            "a keyword",
        )
        .with_help(format!("the keywords are {}", quoted_list(&KEYWORDS))));
    }
    if let Some(func) = Func::from_name(&ident.name) {
        return Err(Diagnostic::at(
            ident.span,
            format!(
                "`{}` is a built-in function and cannot be used as a name",
                ident.name
            ),
            "a built-in function",
        )
        .with_help(format!(
            "pick another name, or call it: `{}(...)`",
            func.name()
        )));
    }
    Ok(())
}

fn ident_of(pair: &Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(pair),
    }
}

fn quoted_list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    quoted.join(", ")
}

// ---------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------

/// An expression while it is being built: its tree, its span including any parentheses
/// around it, and its depth.
struct Node {
    expr: Expr,
    outer: Span,
    depth: usize,
}

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left)
            | Op::infix(Rule::div, Assoc::Left)
            | Op::infix(Rule::implicit, Assoc::Left))
        .op(Op::prefix(Rule::neg))
        .op(Op::infix(Rule::pow, Assoc::Right))
        .op(Op::postfix(Rule::superscript))
});

/// An `expr` pair to a tree.
fn expression(pair: Pair<'_, Rule>) -> Result<Node> {
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
        .map_postfix(|operand, op| {
            let operand = operand?;
            let op_span = span_of(&op);
            let exponent = if op.as_str() == "²" { "2" } else { "3" };
            let span = operand.outer.to(op_span);
            let rhs = Expr::Number {
                text: exponent.to_string(),
                span: op_span,
            };
            let expr = Expr::Binary {
                op: BinOp::Pow,
                lhs: Box::new(operand.expr),
                rhs: Box::new(rhs),
                span,
            };
            node(expr, span, operand.depth)
        })
        .map_infix(|lhs, op, rhs| {
            let (lhs, rhs) = (lhs?, rhs?);
            let op_kind = match op.as_rule() {
                Rule::add => BinOp::Add,
                Rule::sub => BinOp::Sub,
                Rule::mul | Rule::implicit => BinOp::Mul,
                Rule::div => BinOp::Div,
                Rule::pow => BinOp::Pow,
                _ => return Err(internal(span_of(&op))),
            };
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
        .parse(pair.into_inner())
}

/// A node one level above children of the given depth.
fn node(expr: Expr, outer: Span, child_depth: usize) -> Result<Node> {
    if child_depth >= MAX_EXPR_DEPTH {
        return Err(too_long(outer));
    }
    Ok(Node {
        expr,
        outer,
        depth: child_depth + 1,
    })
}

fn too_long(span: Span) -> Diagnostic {
    Diagnostic::at(
        span,
        format!("expression too large: more than {MAX_EXPR_DEPTH} operations inside one another"),
        "the limit is reached here",
    )
    .with_help("split it into named intermediates (`s1 = ...`, then `s2 = s1 + ...`)")
}

fn primary(pair: Pair<'_, Rule>) -> Result<Node> {
    match pair.as_rule() {
        Rule::number => number(pair),
        Rule::name => Ok(leaf(Expr::Name(variable(pair)?))),
        Rule::paren => paren(pair),
        Rule::call => call(pair),
        Rule::deriv_ref => deriv_ref(pair),
        Rule::deriv_of => deriv_of(pair),
        Rule::expr => expression(pair),
        _ => Err(internal(span_of(&pair))),
    }
}

fn leaf(expr: Expr) -> Node {
    let outer = expr.span();
    Node {
        expr,
        outer,
        depth: 1,
    }
}

fn number(pair: Pair<'_, Rule>) -> Result<Node> {
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

fn paren(pair: Pair<'_, Rule>) -> Result<Node> {
    let span = span_of(&pair);
    let source = pair.get_input();
    let mut node = expression(next(&mut pair.into_inner(), source)?)?;
    node.outer = span;
    Ok(node)
}

fn call(pair: Pair<'_, Rule>) -> Result<Node> {
    let span = span_of(&pair);
    let source = pair.get_input();
    let mut inner = pair.into_inner();
    let callee = next(&mut inner, source)?;
    let name = ident_of(&callee);
    let Some(arg) = inner.next() else {
        return Err(bare_function(callee));
    };
    if Func::from_name(&name.name).is_none() {
        return Err(unknown_function(&name));
    }
    let arg = expression(arg)?;
    node(
        Expr::Call {
            name,
            arg: Box::new(arg.expr),
            span,
        },
        span,
        arg.depth,
    )
}

fn unknown_function(name: &Ident) -> Diagnostic {
    Diagnostic::at(
        name.span,
        format!("unknown function `{}`", name.name),
        "not a built-in function",
    )
    .with_help(builtin_help())
}

fn bare_function(pair: Pair<'_, Rule>) -> Diagnostic {
    let text = pair.as_str();
    let help = match Func::from_name(text) {
        Some(func) => format!(
            "call it with an argument in parentheses: `{}(z)`",
            func.name()
        ),
        None => builtin_help(),
    };
    Diagnostic::at(
        span_of(&pair),
        format!("`{text}` is a built-in function and needs an argument"),
        "expected `(` after the function name",
    )
    .with_help(help)
}

fn deriv_ref(pair: Pair<'_, Rule>) -> Result<Node> {
    let span = span_of(&pair);
    let source = pair.get_input();
    let mut names = pair.into_inner();
    let of = ident_of(&next(&mut names, source)?);
    let wrt = ident_of(&next(&mut names, source)?);
    Ok(leaf(Expr::DerivRef { of, wrt, span }))
}

fn deriv_of(pair: Pair<'_, Rule>) -> Result<Node> {
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
            span,
        },
        span,
        body.depth,
    )
}

fn builtin_help() -> String {
    let names: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
    format!("the built-in functions are {}", quoted_list(&names))
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    Span::new(span.start(), span.end())
}

/// The next pair, which the grammar guarantees; an internal error rather than a panic.
fn next<'i>(
    pairs: &mut impl Iterator<Item = Pair<'i, Rule>>,
    source: &str,
) -> Result<Pair<'i, Rule>> {
    pairs
        .next()
        .ok_or_else(|| internal(Span::new(0, source.len())))
}

fn internal(span: Span) -> Diagnostic {
    Diagnostic::at(
        span,
        "internal error: the parser met a shape it does not know",
        "here",
    )
    .with_help("please report this input as a bug")
}

// ---------------------------------------------------------------------------------------
// Nesting pre-scan
// ---------------------------------------------------------------------------------------

fn is_greek(c: char) -> bool {
    matches!(c, '\u{391}'..='\u{3A9}' | '\u{3B1}'..='\u{3C9}' | '\u{3D1}' | '\u{3D5}' | '\u{3D6}' | '\u{3F1}' | '\u{3F5}')
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || is_greek(c) || matches!(c, '∂' | '√' | '\'' | '′')
}

/// The open operator chains at one parenthesis level, as the pre-scan sees them.
#[derive(Default)]
struct Level {
    /// `^` and unary minus signs still open (each nests the rest of its operand).
    chain: usize,
    /// `+` and binary `-` so far: a sum of n terms is n levels deep.
    sums: usize,
    /// `*`, `/` and implicit products since the last `+` or `-`.
    products: usize,
}

/// Refuses input that nests deeper than [`MAX_NESTING`], or chains more than
/// [`MAX_EXPR_DEPTH`] operations, before pest sees it: pest and the tree builder are
/// recursive, so deep nesting would otherwise overflow the stack, and a megabyte-long sum
/// would take pest seconds only to be refused afterwards.
///
/// Counts, at every point, the open parentheses plus the chains of `^` and unary minus that
/// are still open at each parenthesis level (a chain ends at an operator that binds looser).
/// This follows the recursion of the parser closely enough to keep it bounded; it does not
/// judge whether the text is well formed. Returns the deepest nesting seen.
fn check_nesting(source: &str) -> Result<usize> {
    let mut levels: Vec<Level> = vec![Level::default()];
    // The paren depth plus the open chains of all levels.
    let mut total = 0usize;
    let mut deepest = 0usize;
    let mut expect_operand = true;
    // The previous word was a function name or `d/dx`, so a `(` is its argument.
    let mut after_function = false;
    let mut chars = source.char_indices().peekable();

    let too_deep = |at: usize, c: char| {
        Diagnostic::at(
            Span::new(at, at + c.len_utf8()),
            format!("expression nested too deeply: more than {MAX_NESTING} levels"),
            "nested too deeply here",
        )
        .with_help("name the inner parts as intermediates (`t = ...`) and use the names")
    };
    let operator = |levels: &mut Vec<Level>, total: &mut usize, sum: bool, at: usize, c: char| {
        if let Some(level) = levels.last_mut() {
            *total = total.saturating_sub(level.chain);
            level.chain = 0;
            if sum {
                level.sums += 1;
                level.products = 0;
            } else {
                level.products += 1;
            }
            if level.sums > MAX_EXPR_DEPTH || level.products > MAX_EXPR_DEPTH {
                return Err(too_long(Span::new(at, at + c.len_utf8())));
            }
        }
        Ok(())
    };

    while let Some((i, c)) = chars.next() {
        let function_before = std::mem::take(&mut after_function);
        match c {
            '#' => while chars.next_if(|&(_, c)| c != '\n' && c != '\r').is_some() {},
            '"' => {
                while chars
                    .next_if(|&(_, c)| c != '"' && c != '\n' && c != '\r')
                    .is_some()
                {}
                chars.next_if(|&(_, c)| c == '"');
            }
            '\n' | '\r' | ';' | '=' | ',' => {
                levels.clear();
                levels.push(Level::default());
                total = 0;
                expect_operand = true;
            }
            '(' => {
                if !expect_operand && !function_before {
                    operator(&mut levels, &mut total, false, i, c)?;
                }
                levels.push(Level::default());
                total += 1;
                if total > MAX_NESTING {
                    return Err(too_deep(i, c));
                }
                expect_operand = true;
            }
            ')' => {
                if levels.len() > 1 {
                    let chain = levels.pop().map_or(0, |level| level.chain);
                    total = total.saturating_sub(chain + 1);
                }
                expect_operand = false;
            }
            '^' | '-' | '−' | '*' => {
                let is_pow = c == '^' || (c == '*' && chars.next_if(|&(_, c)| c == '*').is_some());
                let is_neg = (c == '-' || c == '−') && expect_operand;
                if is_pow || is_neg {
                    if let Some(level) = levels.last_mut() {
                        level.chain += 1;
                    }
                    total += 1;
                    if total > MAX_NESTING {
                        return Err(too_deep(i, c));
                    }
                } else {
                    operator(&mut levels, &mut total, c != '*', i, c)?;
                }
                expect_operand = true;
            }
            '+' => {
                operator(&mut levels, &mut total, true, i, c)?;
                expect_operand = true;
            }
            '/' | '·' | '×' | '⋅' | '÷' => {
                operator(&mut levels, &mut total, false, i, c)?;
                expect_operand = true;
            }
            '0'..='9' | '.' => {
                // A number: digits, a point, digits, an exponent.
                while chars
                    .next_if(|&(_, c)| c.is_ascii_digit() || c == '.')
                    .is_some()
                {}
                let mut ahead = chars.clone();
                if ahead.next_if(|&(_, c)| c == 'e' || c == 'E').is_some() {
                    ahead.next_if(|&(_, c)| c == '+' || c == '-');
                    if ahead.peek().is_some_and(|&(_, c)| c.is_ascii_digit()) {
                        chars = ahead;
                        while chars.next_if(|&(_, c)| c.is_ascii_digit()).is_some() {}
                    }
                }
                expect_operand = false;
            }
            c if is_word_char(c) => {
                if !expect_operand {
                    operator(&mut levels, &mut total, false, i, c)?;
                }
                let mut end = i + c.len_utf8();
                while let Some((j, c)) = chars.next_if(|&(_, c)| is_word_char(c)) {
                    end = j + c.len_utf8();
                }
                let word = &source[i..end];
                // `dC/dw3` is one operand, `d/dx` a function: not a division.
                if matches!(word.chars().next(), Some('d' | '∂')) {
                    let rest = &source[end..];
                    let d = if word.starts_with('d') { "/d" } else { "/∂" };
                    if rest.starts_with(d)
                        && rest[d.len()..].chars().next().is_some_and(is_word_char)
                    {
                        chars.next();
                        while chars.next_if(|&(_, c)| is_word_char(c)).is_some() {}
                        after_function = word.chars().count() == 1;
                    }
                }
                after_function |= Func::from_name(word).is_some();
                expect_operand = false;
            }
            '²' | '³' => expect_operand = false,
            c if c.is_whitespace() => after_function = function_before,
            _ => {}
        }
        deepest = deepest.max(total);
    }
    Ok(deepest)
}

// ---------------------------------------------------------------------------------------
// pest errors
// ---------------------------------------------------------------------------------------

/// What the parser expected, in words; `None` for rules that say nothing to a reader.
fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr
        | Rule::expr_only
        | Rule::paren
        | Rule::call
        | Rule::deriv_of
        | Rule::deriv_op
        | Rule::deriv_ref
        | Rule::number
        | Rule::name
        | Rule::neg
        | Rule::builtin => "an expression",
        Rule::add
        | Rule::sub
        | Rule::mul
        | Rule::div
        | Rule::pow
        | Rule::implicit
        | Rule::superscript => "an operator",
        Rule::ident | Rule::deriv_name | Rule::declared | Rule::shown => "a name",
        Rule::declare
        | Rule::show
        | Rule::cost
        | Rule::output
        | Rule::assign
        | Rule::kw_input
        | Rule::kw_target
        | Rule::kw_param
        | Rule::kw_show
        | Rule::kw_cost
        | Rule::kw_output
        | Rule::kw_network
        | Rule::network
        | Rule::net_option
        | Rule::option_key
        | Rule::program => "a statement",
        Rule::width => "a whole number",
        Rule::dash => "`-`",
        Rule::option_word => "a word such as `sigmoid` or `quadratic`",
        Rule::kw_as => "`as`",
        Rule::string | Rule::string_text => "a display form in double quotes",
        Rule::EOI => "the end of the line",
        Rule::equals => "`=`",
        Rule::comma => "`,`",
        _ => return None,
    })
}

/// Readable list: "a, b or c".
fn words_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What stands at `pos`, for "found ...".
fn found_at(source: &str, pos: usize) -> String {
    match source[pos..].chars().next() {
        None => "the end of the input".to_string(),
        Some('\n' | '\r') => "the end of the line".to_string(),
        Some(c) if c.is_whitespace() => "a space".to_string(),
        Some(c) => format!("`{c}`"),
    }
}

/// The start of the line holding `pos`.
fn line_start(source: &str, pos: usize) -> usize {
    source[..pos]
        .rfind(['\n', '\r'])
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// Scans the statement that holds `pos`: the `(` still open at `pos`, and a `"` on the line
/// that is never closed (at or before `pos`).
struct Scan {
    open_parens: Vec<usize>,
    open_quote: Option<usize>,
}

fn scan_statement(source: &str, pos: usize) -> Scan {
    let line = line_start(source, pos);
    let start = source[line..pos].rfind(';').map_or(line, |i| line + i + 1);
    let line_end = source[pos..]
        .find(['\n', '\r'])
        .map_or(source.len(), |i| pos + i);
    let mut scan = Scan {
        open_parens: vec![],
        open_quote: None,
    };
    let mut chars = source[start..line_end].char_indices();
    while let Some((i, c)) = chars.next() {
        let at = start + i;
        match c {
            '#' => break,
            '"' => {
                let closed = chars.by_ref().any(|(_, c)| c == '"');
                if !closed && at <= pos {
                    scan.open_quote = Some(at);
                }
            }
            '(' if at < pos => scan.open_parens.push(at),
            ')' if at < pos => {
                scan.open_parens.pop();
            }
            _ => {}
        }
    }
    scan
}

fn syntax_error(source: &str, err: pest::error::Error<Rule>, whole_expression: bool) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut pos = pos.min(source.len());
    while !source.is_char_boundary(pos) {
        pos -= 1;
    }
    let expected: Vec<&str> = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = vec![];
            // At the start of a statement, "a statement" says it all.
            let statement_start = positives
                .iter()
                .any(|&r| rule_words(r) == Some("a statement"));
            if statement_start {
                return statement_expected(source, pos);
            }
            for &rule in positives {
                let word = match (rule, whole_expression) {
                    (Rule::EOI, true) => "the end of the expression",
                    _ => match rule_words(rule) {
                        Some(word) => word,
                        None => continue,
                    },
                };
                if !words.contains(&word) {
                    words.push(word);
                }
            }
            // The end of the line comes last: "expected `,`, `as` or the end of the line".
            words.sort_by_key(|w| w.starts_with("the end"));
            words
        }
        pest::error::ErrorVariant::CustomError { message } => {
            // pest's own limits ("call limit reached", "stack limit reached").
            return Diagnostic::at(
                Span::new(pos, pos),
                format!("cannot parse this input: {message}"),
                "here",
            );
        }
    };
    let found = found_at(source, pos);
    let at_end = matches!(
        source[pos..].chars().next(),
        None | Some('\n' | '\r' | ';' | '#')
    );
    let scan = scan_statement(source, pos);
    let here = match source[pos..].chars().next() {
        Some(c) if c != '\n' && c != '\r' => Span::new(pos, pos + c.len_utf8()),
        _ => Span::new(pos, pos),
    };

    if let Some(quote) = scan.open_quote {
        let line_end = source[pos..]
            .find(['\n', '\r'])
            .map_or(source.len(), |i| pos + i);
        return Diagnostic::at(
            Span::new(quote, quote + 1),
            "unterminated display form",
            "this `\"` is never closed",
        )
        .with_note(
            Span::new(line_end, line_end),
            "expected a closing `\"` before the end of the line",
        );
    }
    // After a complete operand at the end of the line, a `)` was wanted if one is open.
    if at_end
        && expected.contains(&"an operator")
        && let Some(&open) = scan.open_parens.last()
    {
        return Diagnostic::at(
            Span::new(open, open + 1),
            "unclosed parenthesis",
            "this `(` is never closed",
        )
        .with_note(Span::new(pos, pos), "expected `)` here");
    }
    if source[pos..].starts_with(')') && scan.open_parens.is_empty() {
        return Diagnostic::at(here, "unmatched `)`", "this `)` has no matching `(`");
    }
    if expected.is_empty() {
        return Diagnostic::at(here, format!("unexpected {found}"), "not expected here");
    }
    let list = words_list(&expected);
    let mut diagnostic = Diagnostic::at(
        here,
        format!("expected {list}, found {found}"),
        format!("expected {list}"),
    );
    // A character the language has no use for anywhere.
    let stray = source[pos..].chars().next().filter(|&c| {
        !c.is_whitespace()
            && !is_word_char(c)
            && !c.is_ascii_digit()
            && !"()+-−*/^·×⋅÷=,;.#\"²³".contains(c)
    });
    if let Some(c) = stray {
        diagnostic = Diagnostic::at(
            here,
            format!("unexpected character `{c}`"),
            format!("expected {list}"),
        );
    }
    if expected == ["`=`"] {
        diagnostic = diagnostic.with_help(STATEMENT_FORMS);
    }
    // `sigma'(z)`, `f'(x)`: a prime after a name that is not an activation.
    if source[pos..].starts_with(['\'', '′']) {
        let name_start = source[..pos]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_word_char(c))
            .last()
            .map_or(pos, |(i, _)| i);
        if name_start < pos {
            let name = &source[name_start..pos];
            diagnostic = Diagnostic::at(
                Span::new(name_start, pos + source[pos..].chars().next().map_or(1, char::len_utf8)),
                format!("`{name}'` is not a derivative chainrule knows"),
                "a prime only follows an activation",
            )
            .with_help(
                "the activation derivatives are `sigmoid'(z)` (also `σ'(z)`), `tanh'(z)` and `relu'(z)`; for any other derivative write `d/dx(...)` or `dY/dX`",
            );
        }
    }
    diagnostic
}

const STATEMENT_FORMS: &str = "a statement is `input NAME`, `target NAME`, `param NAME, ...`, \
    `show NAME as \"...\"`, `NAME = EXPR`, `cost NAME = EXPR` or `output NAME = EXPR`; \
    or, for the network shorthand, `network 2-3-1` with `activation ...`, `cost ...`, \
    `biases none` and `regularization l2` lines";

fn statement_expected(source: &str, pos: usize) -> Diagnostic {
    let found = found_at(source, pos);
    let word_end = source[pos..]
        .find(|c: char| !is_word_char(c))
        .map_or(source.len(), |i| pos + i);
    let span = if word_end > pos {
        Span::new(pos, word_end)
    } else {
        Span::new(
            pos,
            pos + source[pos..].chars().next().map_or(0, char::len_utf8),
        )
    };
    Diagnostic::at(
        span,
        format!("expected a statement, found {found}"),
        "expected a statement",
    )
    .with_help(STATEMENT_FORMS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expression in plain, fully parenthesised form, to compare shapes.
    fn shape(expr: &Expr) -> String {
        match expr {
            Expr::Number { text, .. } => text.clone(),
            Expr::Name(ident) => ident.name.clone(),
            Expr::Neg { operand, .. } => format!("(-{})", shape(operand)),
            Expr::Binary { op, lhs, rhs, .. } => {
                let op = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    BinOp::Pow => "^",
                };
                format!("({} {op} {})", shape(lhs), shape(rhs))
            }
            Expr::Call { name, arg, .. } => format!("{}[{}]", name.name, shape(arg)),
            Expr::DerivRef { of, wrt, .. } => format!("d{}/d{}", of.name, wrt.name),
            Expr::DerivOf { wrt, expr, .. } => format!("d/d{}[{}]", wrt.name, shape(expr)),
        }
    }

    #[track_caller]
    fn check(source: &str, expected: &str) {
        match parse_expr(source) {
            Ok(expr) => assert_eq!(shape(&expr), expected, "parsing {source:?}"),
            Err(e) => panic!("parsing {source:?} failed: {e:?}"),
        }
    }

    #[track_caller]
    fn expr_error(source: &str) -> Diagnostic {
        match parse_expr(source) {
            Ok(expr) => panic!("{source:?} parsed as {}", shape(&expr)),
            Err(e) => e,
        }
    }

    #[track_caller]
    fn program_error(source: &str) -> Diagnostic {
        match parse_program(source) {
            Ok(p) => panic!("{source:?} parsed as {p:?}"),
            Err(e) => e,
        }
    }

    /// The text under a diagnostic's span.
    fn spot<'a>(source: &'a str, d: &Diagnostic) -> &'a str {
        let span = d.span.expect("a span");
        &source[span.start..span.end]
    }

    fn ident(name: &str, start: usize) -> Ident {
        Ident {
            name: name.to_string(),
            span: Span::new(start, start + name.len()),
        }
    }

    const SEED: &str = "\
# The network of the seed question: one input, one hidden, one output neuron.
input  x
target y
param  w2, b2, w3, b3

z2 = w2*x + b2
a2 = sigmoid(z2)
z3 = w3*a2 + b3
a3 = sigmoid(z3)

cost C = (y - a3)^2
";

    #[test]
    fn seed_network() {
        let program = parse_program(SEED).unwrap();
        let s = &program.statements;
        assert_eq!(s.len(), 8);
        let names = |stmt: &Stmt| match stmt {
            Stmt::Declare { names, .. } | Stmt::Show { names, .. } => names
                .iter()
                .map(|d| d.ident.name.clone())
                .collect::<Vec<_>>()
                .join(","),
            _ => panic!("not a declaration: {stmt:?}"),
        };
        assert!(matches!(
            s[0],
            Stmt::Declare {
                kind: DeclKind::Input,
                ..
            }
        ));
        assert!(matches!(
            s[1],
            Stmt::Declare {
                kind: DeclKind::Target,
                ..
            }
        ));
        assert!(matches!(
            s[2],
            Stmt::Declare {
                kind: DeclKind::Param,
                ..
            }
        ));
        assert_eq!(names(&s[0]), "x");
        assert_eq!(names(&s[1]), "y");
        assert_eq!(names(&s[2]), "w2,b2,w3,b3");
        let assigns: Vec<(AssignKind, String, String)> = s[3..]
            .iter()
            .map(|stmt| match stmt {
                Stmt::Assign {
                    kind, name, value, ..
                } => (*kind, name.name.clone(), shape(value)),
                _ => panic!("not an assignment: {stmt:?}"),
            })
            .collect();
        use AssignKind::*;
        let expected = [
            (Intermediate, "z2", "((w2 * x) + b2)"),
            (Intermediate, "a2", "sigmoid[z2]"),
            (Intermediate, "z3", "((w3 * a2) + b3)"),
            (Intermediate, "a3", "sigmoid[z3]"),
            (Cost, "C", "((y - a3) ^ 2)"),
        ];
        for (got, want) in assigns.iter().zip(expected) {
            assert_eq!((got.0, got.1.as_str(), got.2.as_str()), want);
        }
        // Spans are byte offsets of the source.
        let Stmt::Assign {
            name, value, span, ..
        } = &s[7]
        else {
            panic!()
        };
        assert_eq!(&SEED[span.start..span.end], "cost C = (y - a3)^2");
        assert_eq!(&SEED[name.span.start..name.span.end], "C");
        assert_eq!(&SEED[value.span().start..value.span().end], "(y - a3)^2");
        let Stmt::Declare { span, names, .. } = &s[2] else {
            panic!()
        };
        assert_eq!(&SEED[span.start..span.end], "param  w2, b2, w3, b3");
        assert_eq!(
            &SEED[names[3].ident.span.start..names[3].ident.span.end],
            "b3"
        );
    }

    #[test]
    fn display_forms() {
        let source = "param w3 as \"w^{(3)}\", b3\nshow a2 as \"a^{(2)}\", z2 as \"z^{(2)}\"\ninput x as \"\\sigma\"";
        let program = parse_program(source).unwrap();
        let Stmt::Declare {
            kind: DeclKind::Param,
            names,
            ..
        } = &program.statements[0]
        else {
            panic!()
        };
        assert_eq!(
            names[0],
            Declared {
                ident: ident("w3", 6),
                display: Some("w^{(3)}".into())
            }
        );
        assert_eq!(names[1].display, None);
        let Stmt::Show { names, .. } = &program.statements[1] else {
            panic!()
        };
        assert_eq!(names.len(), 2);
        assert_eq!(names[0].ident.name, "a2");
        assert_eq!(names[1].display.as_deref(), Some("z^{(2)}"));
        let Stmt::Declare { names, .. } = &program.statements[2] else {
            panic!()
        };
        assert_eq!(names[0].display.as_deref(), Some("\\sigma"));
    }

    #[test]
    fn output_statement() {
        let program = parse_program("input x\noutput f = 2x").unwrap();
        let Stmt::Assign {
            kind, name, value, ..
        } = &program.statements[1]
        else {
            panic!()
        };
        assert_eq!(*kind, AssignKind::Output);
        assert_eq!(name.name, "f");
        assert_eq!(shape(value), "(2 * x)");
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        let program =
            parse_program("input x; param w ;; cost C = w*x # the cost\n\n# end\n").unwrap();
        assert_eq!(program.statements.len(), 3);
        let crlf = parse_program("input x\r\nparam w\r\n\r\n# c\r\ncost C = w x\r\n").unwrap();
        assert_eq!(crlf.statements.len(), 3);
        let Stmt::Assign { value, .. } = &crlf.statements[2] else {
            panic!()
        };
        assert_eq!(shape(value), "(w * x)");
        assert_eq!(parse_program("input x   ").unwrap().statements.len(), 1);
        assert_eq!(
            parse_program("\u{FEFF}input x").unwrap().statements.len(),
            1
        );
    }

    #[test]
    fn precedence() {
        check("-x^2", "(-(x ^ 2))");
        check("2^3^2", "(2 ^ (3 ^ 2))");
        check("a - b - c", "((a - b) - c)");
        check("a / b / c", "((a / b) / c)");
        check("1/2 x", "((1 / 2) * x)");
        check("a3(1 - a3)", "(a3 * (1 - a3))");
        check("2(y - a3)", "(2 * (y - a3))");
        check("2 x", "(2 * x)");
        check("2x", "(2 * x)");
        check("(a)(b)", "(a * b)");
        check("2*-x", "(2 * (-x))");
        check("2^-x", "(2 ^ (-x))");
        check("-a*b", "((-a) * b)");
        check("a + b*c", "(a + (b * c))");
        check("a*b + c", "((a * b) + c)");
        check("2x^2", "(2 * (x ^ 2))");
        check("a3(1 - a3)^2", "(a3 * ((1 - a3) ^ 2))");
        check(
            "-2(y - a3) a3(1 - a3) a2",
            "(((((-2) * (y - a3)) * a3) * (1 - a3)) * a2)",
        );
        check("- -x", "(-(-x))");
        check("x**2", "(x ^ 2)");
        check("(y - a3)²", "((y - a3) ^ 2)");
        check("-x³", "(-(x ^ 3))");
    }

    #[test]
    fn calls_and_names() {
        check("sigmoid'(z)", "sigmoid'[z]");
        check("sigmoid′(z)", "sigmoid′[z]");
        check("σ(z)", "σ[z]");
        check("σ'(z) σ(z)", "(σ'[z] * σ[z])");
        check("tanh (z)", "tanh[z]");
        check(
            "ln(x) + log(x) + exp(x) + sqrt(x) + abs(x)",
            "((((ln[x] + log[x]) + exp[x]) + sqrt[x]) + abs[x])",
        );
        check("2exp(x)", "(2 * exp[x])");
        check("2e", "(2 * e)");
        check("foo(x)", "(foo * x)");
        check("expo(x)", "(expo * x)");
        check("σ2 + η + λ_2 + δ3", "(((σ2 + η) + λ_2) + δ3)");
        check("ηx", "(η * x)");
        check("_a + a_b_1", "(_a + a_b_1)");
        for func in Func::ALL {
            let source = format!("{}(z)", func.name());
            let expr = parse_expr(&source).unwrap();
            let Expr::Call { name, .. } = expr else {
                panic!("{source} is not a call")
            };
            assert_eq!(Func::from_name(&name.name), Some(func));
        }
        for alias in [
            "σ", "ln", "ReLU", "√", "σ'", "σ′", "tanh′", "relu′", "ReLU'",
        ] {
            let source = format!("{alias}(z)");
            assert!(
                matches!(parse_expr(&source), Ok(Expr::Call { .. })),
                "{source}"
            );
        }
    }

    #[test]
    fn unicode_operators() {
        check("x − y", "(x - y)");
        check("−x", "(-x)");
        check("a·b", "(a * b)");
        check("a×b", "(a * b)");
        check("a⋅b", "(a * b)");
        check("a÷b", "(a / b)");
    }

    #[test]
    fn numbers() {
        for text in ["2", "0.5", ".5", "1e-3", "6.02E23", "2.", "1E+3", "007"] {
            let expr = parse_expr(text).unwrap();
            assert_eq!(
                expr,
                Expr::Number {
                    text: text.to_string(),
                    span: Span::new(0, text.len())
                }
            );
        }
        let e = expr_error("1e999");
        assert!(e.message.contains("out of range"), "{e:?}");
        assert!(parse_expr("2 3").is_err());
        assert!(parse_expr("2.5.3").is_err());
    }

    #[test]
    fn derivatives() {
        let expr = parse_expr("dC/dw3").unwrap();
        assert_eq!(
            expr,
            Expr::DerivRef {
                of: ident("C", 1),
                wrt: ident("w3", 4),
                span: Span::new(0, 6)
            }
        );
        let source = "∂C/∂w3";
        let Expr::DerivRef { of, wrt, span } = parse_expr(source).unwrap() else {
            panic!()
        };
        assert_eq!(&source[of.span.start..of.span.end], "C");
        assert_eq!(&source[wrt.span.start..wrt.span.end], "w3");
        assert_eq!(span, Span::new(0, source.len()));
        check("dEo1/douth1", "dEo1/douth1");
        check("d/dx(x^2)", "d/dx[(x ^ 2)]");
        check("∂/∂w(w x)", "d/dw[(w * x)]");
        check("d/dx (x)", "d/dx[x]");
        let Expr::DerivOf { wrt, .. } = parse_expr("d/dx(x^2)").unwrap() else {
            panic!()
        };
        assert_eq!(wrt, ident("x", 3));
        // Plain names that start with `d`.
        check("d", "d");
        check("delta3", "delta3");
        check("d / dx", "(d / dx)");
        check("d/dx", "(d / dx)");
        check("d*x + delta3(1 - d)", "((d * x) + (delta3 * (1 - d)))");
        check("-eta dC/dw3", "((-eta) * dC/dw3)");
        check("w3 - η*dC/dw3", "(w3 - (η * dC/dw3))");
    }

    #[test]
    fn reserved_names() {
        let source = "input x\ncost = x";
        let e = program_error(source);
        assert_eq!(spot(source, &e), "cost");
        assert!(e.message.contains("needs a name"), "{e:?}");

        let source = "input x\nparam as";
        let e = program_error(source);
        assert_eq!(spot(source, &e), "as");
        assert!(e.message.contains("keyword"), "{e:?}");

        let source = "exp = 3";
        let e = program_error(source);
        assert_eq!(spot(source, &e), "exp");
        assert!(e.message.contains("built-in function"), "{e:?}");

        let source = "y = 2 + exp";
        let e = program_error(source);
        assert_eq!(spot(source, &e), "exp");

        let source = "y = σ z";
        let e = program_error(source);
        assert_eq!(spot(source, &e), "σ");

        let source = "y = input + 1";
        let e = program_error(source);
        assert_eq!(spot(source, &e), "input");

        let e = expr_error("ReLU′(x)");
        assert!(e.message.contains("unknown function"), "{e:?}");
    }

    #[test]
    fn syntax_errors_point_at_the_spot() {
        // Unterminated parenthesis: the `(` is the spot.
        let source = "input x\ncost C = (x - 1";
        let e = program_error(source);
        assert_eq!(e.span, Some(Span::new(17, 18)), "{e:?}");
        assert!(e.message.contains("unclosed"), "{e:?}");
        assert_eq!(e.notes[0].span, Span::new(source.len(), source.len()));

        // Missing expression.
        let source = "x = \ny = 1";
        let e = program_error(source);
        assert_eq!(e.span.unwrap().start, 4, "{e:?}");
        assert!(e.message.contains("expected an expression"), "{e:?}");
        assert!(e.message.contains("end of the line"), "{e:?}");
        let e = program_error("x = ");
        assert!(e.message.contains("expected an expression"), "{e:?}");

        // A bad character.
        let source = "input x\ny = x @ 2";
        let e = program_error(source);
        assert_eq!(spot(source, &e), "@");
        assert!(e.message.contains("`@`"), "{e:?}");

        // An unmatched `)`.
        let source = "y = x)";
        let e = program_error(source);
        assert_eq!(spot(source, &e), ")");
        assert!(e.message.contains("unmatched"), "{e:?}");

        // A missing operand inside parentheses.
        let source = "y = (x + )";
        let e = program_error(source);
        assert_eq!(spot(source, &e), ")");
        assert!(
            e.message.contains("expected an expression, found `)`"),
            "{e:?}"
        );

        // A missing name after a comma.
        let source = "param w,";
        let e = program_error(source);
        assert!(e.message.contains("expected a name"), "{e:?}");

        // An unterminated display form.
        let source = "param w as \"w^{(2)}";
        let e = program_error(source);
        assert_eq!(spot(source, &e), "\"");
        assert!(e.message.contains("unterminated"), "{e:?}");

        // Not a statement.
        let source = "input x\nhello world";
        let e = program_error(source);
        assert_eq!(e.span.unwrap().start, 14, "{e:?}");
    }

    #[test]
    fn empty_input() {
        for source in ["", "   ", "\n\n", "# only a comment\n  # another\r\n", ";;"] {
            let e = program_error(source);
            assert_eq!(e.message, "the program is empty");
            assert!(e.span.is_none_or(|s| s.start == 0));
        }
        assert!(expr_error("").message.contains("empty"));
        assert!(expr_error("  # nothing").message.contains("empty"));
    }

    #[test]
    fn deep_parentheses_are_refused() {
        let source = "(".repeat(100_000);
        let e = expr_error(&source);
        assert!(e.message.contains("nested too deeply"), "{e:?}");
        assert_eq!(e.span, Some(Span::new(MAX_NESTING, MAX_NESTING + 1)));

        let source = format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000));
        let e = expr_error(&source);
        assert!(e.message.contains("nested too deeply"), "{e:?}");
        let e = program_error(&format!("y = {source}"));
        assert!(e.message.contains("nested too deeply"), "{e:?}");
    }

    #[test]
    fn deep_chains_are_refused() {
        let pow = format!("x{}", "^x".repeat(100_000));
        assert!(expr_error(&pow).message.contains("nested too deeply"));
        let neg = format!("{}x", "-".repeat(100_000));
        assert!(expr_error(&neg).message.contains("nested too deeply"));
        let mixed = format!("x{}", "^-x".repeat(50_000));
        assert!(expr_error(&mixed).message.contains("nested too deeply"));
        let calls = format!("{}x{}", "x^sigmoid(".repeat(50_000), ")".repeat(50_000));
        assert!(expr_error(&calls).message.contains("nested too deeply"));
        let derivs = format!("{}x{}", "x^d/dx(".repeat(50_000), ")".repeat(50_000));
        assert!(expr_error(&derivs).message.contains("nested too deeply"));
        let unclosed = "sigmoid(".repeat(100_000);
        assert!(expr_error(&unclosed).message.contains("nested too deeply"));
    }

    #[test]
    fn nesting_at_the_limit_parses() {
        // Run on a small stack, as test threads and callers may have.
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let n = MAX_NESTING;
                let parens = format!("{}x{}", "(".repeat(n), ")".repeat(n));
                check(&parens, "x");
                let pow = format!("x{}", "^x".repeat(n));
                assert!(parse_expr(&pow).is_ok());
                let neg = format!("{}x", "-".repeat(n));
                assert!(parse_expr(&neg).is_ok());
                let calls = format!("{}x{}", "x^sigmoid(".repeat(n / 2), ")".repeat(n / 2));
                assert!(parse_expr(&calls).is_ok());
                let calls = format!("{}x{}", "x^d/dx(".repeat(n / 2), ")".repeat(n / 2));
                assert!(parse_expr(&calls).is_ok());
                let implicit = format!("{}x{}", "a(".repeat(n), ")".repeat(n));
                assert!(parse_expr(&implicit).is_ok());
                // Unclosed at depth: an error, quickly (no exponential backtracking).
                for prefix in ["sigmoid(", "d/dx(", "a(", "x^(", "(-", "σ'("] {
                    let source = prefix.repeat(n / 2);
                    assert!(parse_expr(&source).is_err(), "{prefix}");
                }
                // Balanced but a depth error at the innermost level.
                let source = format!("{}x +{}", "sigmoid(".repeat(n / 2), ")".repeat(n / 2));
                assert!(parse_expr(&source).is_err());
                // Chains that are long but not deep are fine.
                let flat = vec!["x^2"; 1000].join(" + ");
                assert!(parse_expr(&flat).is_ok());
                let flat = vec!["-x"; 1000].join(" * ");
                assert!(parse_expr(&flat).is_ok());
                let implicit = vec!["x^2"; 1000].join(" ");
                assert!(parse_expr(&implicit).is_ok());
                // A layer of 784 inputs as one sum.
                let sum = (1..=784)
                    .map(|k| format!("w{k}*a{k}"))
                    .collect::<Vec<_>>()
                    .join(" + ");
                assert!(parse_expr(&format!("{sum} + b")).is_ok());
                let long = vec!["x"; MAX_EXPR_DEPTH].join("+");
                let expr = parse_expr(&long).unwrap();
                drop(expr.clone());
                assert_eq!(expr, expr.clone());
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn very_long_lines_are_quick() {
        let start = std::time::Instant::now();
        let sum = vec!["x"; 200_000].join(" + ");
        let e = expr_error(&sum);
        assert!(e.message.contains("too large"), "{e:?}");
        let program = format!("input x\ncost C = {sum}\n");
        assert!(parse_program(&program).is_err());
        // 1 MB of `x+x+...`.
        let megabyte = format!("x{}", "+x".repeat(500_000));
        assert!(parse_expr(&megabyte).is_err());
        // Long but shallow: many statements.
        let mut many = String::from("input x\n");
        for i in 0..20_000 {
            many.push_str(&format!("t{i} = x + {i}\n"));
        }
        assert_eq!(parse_program(&many).unwrap().statements.len(), 20_001);
        assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// No input panics, and every error renders.
        #[test]
        fn never_panics(source in "[-+*/^()xyd 0-9.e;=#\"\n\r,σ′'²−·∂/a-z_]{0,40}") {
            for error in [parse_program(&source).err(), parse_expr(&source).err()].into_iter().flatten() {
                let text = error.render("f.bp", &source, false);
                proptest::prop_assert!(text.starts_with("error: "));
            }
        }

        /// Spans of a parsed expression lie inside the source, on character boundaries.
        #[test]
        fn spans_are_in_bounds(source in "[-+*/^()xyzσ′'²−·∂d 0-9.]{1,30}") {
            if let Ok(expr) = parse_expr(&source) {
                let span = expr.span();
                proptest::prop_assert!(span.start <= span.end && span.end <= source.len());
                proptest::prop_assert!(source.is_char_boundary(span.start) && source.is_char_boundary(span.end));
            }
        }
    }
}

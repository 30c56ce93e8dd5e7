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
use crate::core::excerpt::{character, describe_char};
use crate::core::expr::{Func, Func2, Num};
use crate::core::model::{Bound, Domain};
use crate::core::tensor::TensorFn;
use crate::lang::ast::{
    AssignKind, BinOp, CodeMeaning, DataRow, DeclKind, Declared, Expr, Ident, Partial, Program,
    Span, Stmt,
};

mod errors;
pub(crate) use errors::parser_limit;
mod expr;
mod nesting;

use errors::*;
pub use expr::wrong_arity;
use expr::*;
use nesting::*;

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
        return Err(Diagnostic::at(
            Span::new(source.len(), source.len()),
            "the program is empty",
            "nothing but blank lines and comments up to here",
        )
        .with_help(
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
        return Err(Diagnostic::at(
            Span::new(0, source.len()),
            "the expression is empty",
            "no formula here",
        ));
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
        Rule::size_decl => {
            let _keyword = next(&mut inner, source)?;
            let name = variable(next(&mut inner, source)?)?;
            let value = ident_of(&next(&mut inner, source)?);
            Ok(Stmt::Size { name, value, span })
        }
        Rule::code_decl => {
            let _keyword = next(&mut inner, source)?;
            let name = variable(next(&mut inner, source)?)?;
            let meaning = code_meaning(next(&mut inner, source)?)?;
            Ok(Stmt::CodeName {
                name,
                meaning,
                span,
            })
        }
        Rule::layout_decl => {
            let _keyword = next(&mut inner, source)?;
            let word = next(&mut inner, source)?;
            Ok(Stmt::Layout {
                rows: word.as_str() == "rows",
                span,
            })
        }
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
    let mut dims = Vec::new();
    let mut domain = None;
    for part in pair.into_inner() {
        let span = span_of(&part);
        match part.as_rule() {
            Rule::ident => ident = Some(variable(part)?),
            Rule::dims => {
                dims = part
                    .into_inner()
                    .filter(|d| d.as_rule() != Rule::comma)
                    .map(|d| ident_of(&d))
                    .collect()
            }
            Rule::domain => domain = Some((domain_of(part)?, span)),
            Rule::string => {
                let quoted = span_of(&part);
                let (text, span) = match part.into_inner().next() {
                    Some(inner) => (inner.as_str(), span_of(&inner)),
                    None => ("", Span::new(quoted.start + 1, quoted.start + 1)),
                };
                crate::lang::display::check_display_form(text, span)?;
                display = Some(text.to_string());
            }
            _ => {}
        }
    }
    match ident {
        Some(ident) => Ok(Declared {
            ident,
            display,
            dims,
            domain,
        }),
        None => Err(internal(Span::new(0, source.len()))),
    }
}

/// A declared domain: `in [a, b]` (each end closed by `[`/`]`, open by `(`/`)`) or one bound
/// (`> a`, `>= a`, `< b`, `<= b`); an interval must not be empty.
fn domain_of(pair: Pair<'_, Rule>) -> Result<Domain> {
    let span = span_of(&pair);
    let mut closed = Vec::new();
    let mut values = Vec::new();
    let mut compare = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::interval_open => closed.push(part.as_str() == "["),
            Rule::interval_close => closed.push(part.as_str() == "]"),
            Rule::signed => values.push(signed_value(&part)?),
            Rule::compare => compare = Some(part.as_str().to_string()),
            _ => {}
        }
    }
    let bound = |value: f64, closed: bool| Some(Bound { value, closed });
    let domain = match (compare.as_deref(), &values[..], &closed[..]) {
        (Some(">"), &[v], _) => Domain {
            low: bound(v, false),
            high: None,
        },
        (Some(">=" | "≥"), &[v], _) => Domain {
            low: bound(v, true),
            high: None,
        },
        (Some("<"), &[v], _) => Domain {
            low: None,
            high: bound(v, false),
        },
        (Some("<=" | "≤"), &[v], _) => Domain {
            low: None,
            high: bound(v, true),
        },
        (None, &[a, b], &[left, right]) => Domain {
            low: bound(a, left),
            high: bound(b, right),
        },
        _ => return Err(internal(span)),
    };
    if domain.is_empty() {
        return Err(
            Diagnostic::at(span, "this domain holds no value", "an empty interval")
                .with_help("write the lower end first, e.g. `input x in [0, 1]`"),
        );
    }
    Ok(domain)
}

/// A signed number as written (`-0.5`, `−2`, `1e-3`); past float64's range is refused.
fn signed_value(pair: &Pair<'_, Rule>) -> Result<f64> {
    let value: f64 = pair
        .as_str()
        .replace('−', "-")
        .parse()
        .map_err(|_| internal(span_of(pair)))?;
    if !value.is_finite() {
        return Err(Diagnostic::at(
            span_of(pair),
            "this number is past float64's range",
            "too large for a domain's end",
        ));
    }
    Ok(value)
}

/// A name that is defined or used as a variable: keywords and function names are refused.
/// `dJ/dW1`, `m dJ/dZ2`, `m * dJ/dZ2` or a name: what a `code` declaration's name stands for.
fn code_meaning(pair: Pair<'_, Rule>) -> Result<CodeMeaning> {
    let span = span_of(&pair);
    let mut scale = None;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::code_scale => scale = Some(ident_of(&part)),
            Rule::ident => return Ok(CodeMeaning::Alias(ident_of(&part))),
            Rule::deriv_ref => {
                let node = deriv_ref(part)?;
                let Expr::DerivRef { of, wrt, .. } = node.expr else {
                    return Err(internal(span));
                };
                return Ok(CodeMeaning::Gradient { of, wrt, scale });
            }
            _ => {}
        }
    }
    Err(internal(span))
}

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
                    BinOp::MatMul => "@",
                    BinOp::Hadamard => "⊙",
                };
                format!("({} {op} {})", shape(lhs), shape(rhs))
            }
            Expr::Call { name, args, .. } => {
                let args: Vec<String> = args.iter().map(shape).collect();
                format!("{}[{}]", name.name, args.join(", "))
            }
            Expr::DerivRef { of, wrt, .. } => format!("d{}/d{}", of.name, wrt.name),
            Expr::DerivOf { wrt, expr, .. } => format!("d/d{}[{}]", wrt.name, shape(expr)),
            Expr::Index {
                operand, indices, ..
            } => format!("{}{indices:?}", shape(operand)),
            Expr::Transpose { operand, .. } => format!("{}ᵀ", shape(operand)),
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
                display: Some("w^{(3)}".into()),
                dims: Vec::new(),
                domain: None,
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
        // any run of superscript digits, as the text output prints a power
        check("A1⁴ + x¹⁰", "((A1 ^ 4) + (x ^ 10))");
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
    fn vector_notation() {
        check("W @ x", "(W @ x)");
        check("a ⊙ b", "(a ⊙ b)");
        check("a .* b", "(a ⊙ b)");
        check("2.*x", "(2. * x)");
        check("Wᵀ δ", "(Wᵀ * δ)");
        check("W^⊤ δ", "(Wᵀ * δ)");
        check("W.T @ d", "(Wᵀ @ d)");
        check("W^T d", "((W ^ T) * d)");
        check("z[2] + W[1, 3]", "(z[2] + W[1, 3])");
        check("softmax(z)[1]", "softmax[z][1]");
        check("sum(M, 2)", "sum[M, 2]");
        check("‖v‖²", "(norm[v] ^ 2)");
        // alone, the names of the functions of vectors are names
        check("sum + dot", "(sum + dot)");
        let e = expr_error("z[0]");
        assert!(e.message.contains("not an index"), "{e:?}");
        let e = expr_error("sum(a, b, c)");
        assert!(e.message.contains("takes 1 or 2 arguments"), "{e:?}");
        let program =
            parse_program("size m = 4\nlayout rows\ninput X[m, 2]\ncost C = sum(X)").unwrap();
        let Stmt::Declare { names, .. } = &program.statements[2] else {
            panic!("{program:?}")
        };
        let dims: Vec<&str> = names[0].dims.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(dims, ["m", "2"]);
        assert!(matches!(&program.statements[0], Stmt::Size { value, .. } if value.name == "4"));
        assert!(matches!(
            program.statements[1],
            Stmt::Layout { rows: true, .. }
        ));
        // `size` and `layout` stay names of assignments
        assert!(parse_program("size = 3\nlayout = 2\ncost C = size").is_ok());
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
                partial: Partial::Total,
                span: Span::new(0, 6)
            }
        );
        let source = "∂C/∂w3";
        let Expr::DerivRef { of, wrt, span, .. } = parse_expr(source).unwrap() else {
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
        // The direct partial, as derivations print it; a name `_direct` after any other
        // parenthesis is still a factor.
        for (source, of_expr) in [
            ("(dC/dw1)_direct", false),
            ("(∂C/∂w1)_direct", false),
            ("(d/dw1(C0 + w1^2))_direct", true),
            ("(∂/∂w1 (C0 + w1^2))_direct", true),
        ] {
            let parsed = parse_expr(source).unwrap();
            let (Expr::DerivRef { partial, span, .. } | Expr::DerivOf { partial, span, .. }) =
                &parsed
            else {
                panic!("{source} is not a derivative: {parsed:?}")
            };
            assert_eq!(*partial, Partial::Direct, "{source}");
            assert_eq!(*span, Span::new(0, source.len()), "{source}");
            assert_eq!(matches!(parsed, Expr::DerivOf { .. }), of_expr, "{source}");
        }
        let Expr::DerivRef { partial, .. } = parse_expr("dC/dw1").unwrap() else {
            panic!()
        };
        assert_eq!(partial, Partial::Total);
        check("(x)_direct", "(x * _direct)");
        check("(dC/dw1) _direct", "(dC/dw1 * _direct)");
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

        // A bad character (`@` is the matrix product).
        let source = "input x\ny = x $ 2";
        let e = program_error(source);
        assert_eq!(spot(source, &e), "$");
        assert!(e.message.contains("`$`"), "{e:?}");

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
            // Pointed at the end: everything before it was blank or a comment.
            assert_eq!(e.span, Some(Span::new(source.len(), source.len())));
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

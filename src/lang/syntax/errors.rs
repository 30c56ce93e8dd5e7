//! pest's failures in the project's words: what was expected where, with the statement forms
//! and a hint where one is obvious.

use super::*;

// ---------------------------------------------------------------------------------------
// pest errors
// ---------------------------------------------------------------------------------------

/// What the parser expected, in words; `None` for rules that say nothing to a reader.
pub(super) fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::expr
        | Rule::expr_only
        | Rule::paren
        | Rule::call
        | Rule::deriv_of
        | Rule::deriv_op
        | Rule::deriv_ref
        | Rule::direct_close
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
pub(super) fn words_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What stands at `pos`, for "found ...".
pub(super) fn found_at(source: &str, pos: usize) -> String {
    match source[pos..].chars().next() {
        None => "the end of the input".to_string(),
        Some('\n' | '\r') => "the end of the line".to_string(),
        Some(c) => describe_char(c),
    }
}

/// The name written right before `at` (a call's `(`), if any.
pub(super) fn word_before(source: &str, at: usize) -> Option<&str> {
    let start = source[..at]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word_char(c) || c == '\'' || c == '′')
        .last()
        .map(|(i, _)| i)?;
    Some(&source[start..at])
}

/// The start of the line holding `pos`.
pub(super) fn line_start(source: &str, pos: usize) -> usize {
    source[..pos]
        .rfind(['\n', '\r'])
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// Scans the statement that holds `pos`: the `(` still open at `pos`, and a `"` on the line
/// that is never closed (at or before `pos`).
pub(super) struct Scan {
    pub(super) open_parens: Vec<usize>,
    pub(super) open_quote: Option<usize>,
}

pub(super) fn scan_statement(source: &str, pos: usize) -> Scan {
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

pub(super) fn syntax_error(
    source: &str,
    err: pest::error::Error<Rule>,
    whole_expression: bool,
) -> Diagnostic {
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
        pest::error::ErrorVariant::CustomError { message } => return parser_limit(pos, message),
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
    // `log(w, x)`: a second argument in a call that takes one.
    if source[pos..].starts_with(',')
        && let Some(&open) = scan.open_parens.last()
        && let Some(name) = word_before(source, open)
    {
        let name_start = open - name.len();
        let diagnostic = Diagnostic::at(
            here,
            format!("`{name}` takes one argument, not several"),
            "a second argument",
        )
        .with_note(Span::new(name_start, open), "the call");
        return match Func::from_name(name) {
            Some(_) => diagnostic.with_help(format!("write `{name}(x)` with one argument")),
            None => diagnostic,
        };
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
            && !"()+-−*/^·×⋅÷=,;.#\"⁰¹²³⁴⁵⁶⁷⁸⁹".contains(c)
    });
    if let Some(c) = stray {
        diagnostic = Diagnostic::at(
            here,
            format!("unexpected {}", character(c)),
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

pub(super) const STATEMENT_FORMS: &str = "a statement is `input NAME`, `target NAME`, `param NAME, ...`, \
    `show NAME as \"...\"`, `NAME = EXPR`, `cost NAME = EXPR` or `output NAME = EXPR`; \
    or, for the network shorthand, `network 2-3-1` with `activation ...`, `cost ...`, \
    `biases none` and `regularization l2` lines";

pub(super) fn statement_expected(source: &str, pos: usize) -> Diagnostic {
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

/// pest's own limits ("call limit reached", "stack limit reached") as both parsers (the
/// language's and LaTeX claims') word them: the place it stopped at is not a mistake in the
/// input.
pub(crate) fn parser_limit(pos: usize, message: &str) -> Diagnostic {
    Diagnostic::at(
        Span::new(pos, pos),
        format!("cannot parse this input: {message}"),
        "here",
    )
}

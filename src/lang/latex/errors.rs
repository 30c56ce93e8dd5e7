//! Errors before and from pest: over-long or too deeply nested input refused up front, an
//! unbalanced delimiter named precisely, and pest's own failures in the project's words.

use super::*;

// ---------------------------------------------------------------------------------------
// Errors before and from pest
// ---------------------------------------------------------------------------------------

/// Refuses over-long input and input that nests deeper than [`MAX_NESTING`] before pest sees
/// it (pest and the builder recurse per level), and names an unbalanced delimiter precisely.
pub(super) fn precheck(text: &str) -> Result<()> {
    if text.len() > MAX_LENGTH {
        return Err(Diagnostic::at(
            Span::new(MAX_LENGTH, text.len()),
            format!("the formula is too long: more than {MAX_LENGTH} bytes"),
            "too long from here",
        )
        .with_help("name parts of it as intermediates in the program"));
    }
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // `\{` and `\}` group like `{` and `}`; `\(`, `\|`, `\,` and the like are escaped
        // characters or spacing, not delimiters.
        let c = match (c, chars.peek()) {
            ('\\', Some(&(_, b @ ('{' | '}')))) => {
                chars.next();
                b
            }
            _ => c,
        };
        if c == '\\' {
            if chars.next_if(|&(_, c)| !c.is_ascii_alphabetic()).is_none() {
                let word: String = std::iter::from_fn(|| {
                    chars
                        .next_if(|&(_, c)| c.is_ascii_alphabetic())
                        .map(|x| x.1)
                })
                .collect();
                match word.as_str() {
                    "lvert" => open.push(('|', i)),
                    "rvert" => {
                        open.pop();
                    }
                    _ => {}
                }
            }
        } else if matches!(c, '{' | '(' | '[') {
            open.push((c, i));
        } else if let Some(want) = match c {
            '}' => Some('{'),
            ')' => Some('('),
            ']' => Some('['),
            _ => None,
        } {
            match open.last() {
                Some(&(top, _)) if top == want => {
                    open.pop();
                }
                Some(&(top, at)) if top != '|' => {
                    return Err(Diagnostic::at(
                        Span::new(i, i + 1),
                        format!("`{c}` does not close the `{top}` before it"),
                        "mismatched",
                    )
                    .with_note(Span::new(at, at + 1), format!("this `{top}` is still open")));
                }
                _ => {
                    return Err(Diagnostic::at(
                        Span::new(i, i + 1),
                        format!("unmatched `{c}`"),
                        "nothing opened it",
                    ));
                }
            }
        }
        if open.len() > MAX_NESTING {
            return Err(Diagnostic::at(
                Span::new(i, i + c.len_utf8()),
                format!("formula nested too deeply: more than {MAX_NESTING} levels"),
                "nested too deeply here",
            ));
        }
    }
    if let Some(&(c, at)) = open.iter().find(|(c, _)| *c != '|') {
        let close = match c {
            '{' => '}',
            '(' => ')',
            _ => ']',
        };
        return Err(Diagnostic::at(
            Span::new(at, at + 1),
            format!("unclosed `{c}`"),
            format!("this `{c}` is never closed"),
        )
        .with_help(format!("add a `{close}`")));
    }
    Ok(())
}

pub(super) fn syntax_error(text: &str, err: pest::error::Error<Rule>) -> Diagnostic {
    let mut pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    if let pest::error::ErrorVariant::CustomError { message } = &err.variant {
        return crate::lang::syntax::parser_limit(pos, message);
    }
    match text[pos..].chars().next() {
        None => Diagnostic::at(
            Span::new(pos, pos),
            "the LaTeX formula ends too early",
            "something is missing here",
        ),
        Some(c) => {
            let found = if c == '\\' {
                let word: String = text[pos + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                format!("\\{word}")
            } else {
                c.to_string()
            };
            Diagnostic::at(
                Span::new(pos, pos + found.len()),
                format!("cannot read the LaTeX formula at `{found}`"),
                "unexpected here",
            )
            .with_help(
                "write operands and operators: `\\frac{a}{b}`, `x^{2}`, `w_{3}`, `\\sigma(z)`, \
                 `\\cdot`, `+`, `-`",
            )
        }
    }
}

pub(super) fn internal(text: &str) -> Diagnostic {
    internal_at(Span::new(0, text.len()))
}

pub(super) fn internal_at(span: Span) -> Diagnostic {
    Diagnostic::at(
        span,
        "internal error: the LaTeX reader met a shape it does not know",
        "here",
    )
    .with_help("please report this input as a bug")
}

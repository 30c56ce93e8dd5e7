//! The nesting pre-scan: input that nests deeper than the parser's recursion allows is
//! refused with a caret before pest sees it.

use super::*;

// ---------------------------------------------------------------------------------------
// Nesting pre-scan
// ---------------------------------------------------------------------------------------

pub(super) fn is_greek(c: char) -> bool {
    matches!(c, '\u{391}'..='\u{3A9}' | '\u{3B1}'..='\u{3C9}' | '\u{3D1}' | '\u{3D5}' | '\u{3D6}' | '\u{3F1}' | '\u{3F5}')
}

pub(super) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || is_greek(c) || matches!(c, '∂' | '√' | '\'' | '′')
}

/// The open operator chains at one parenthesis level, as the pre-scan sees them.
#[derive(Default)]
pub(super) struct Level {
    /// `^` and unary minus signs still open (each nests the rest of its operand).
    pub(super) chain: usize,
    /// `+` and binary `-` so far: a sum of n terms is n levels deep.
    pub(super) sums: usize,
    /// `*`, `/` and implicit products since the last `+` or `-`.
    pub(super) products: usize,
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
pub(super) fn check_nesting(source: &str) -> Result<usize> {
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
                // `network 2-3-1`: its dashes separate widths (a repetition, not nesting);
                // the shorthand reports too many layers itself.
                let before = source[..i].trim_end_matches([' ', '\t']);
                if word == "network" && (before.is_empty() || before.ends_with(['\n', '\r', ';'])) {
                    while chars
                        .next_if(|&(_, c)| !matches!(c, '\n' | '\r' | ';'))
                        .is_some()
                    {}
                    continue;
                }
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
            '⁰' | '¹' | '²' | '³' | '⁴' | '⁵' | '⁶' | '⁷' | '⁸' | '⁹' => {
                expect_operand = false
            }
            c if c.is_whitespace() => after_function = function_before,
            _ => {}
        }
        deepest = deepest.max(total);
    }
    Ok(deepest)
}

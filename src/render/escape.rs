//! The one escaper: prose and names made safe for each output format. Markdown escapes its
//! markup characters; LaTeX escapes its specials and writes every mathematical character of
//! Unicode prose (each Greek letter, `−`, `·`, `→`, `∂`, …) as math, so that pdflatex compiles
//! any sentence chainrule writes (as `$…$`, which works in text mode and inside `\text{}` in
//! pdflatex and KaTeX alike). Text between backticks is a formula or a command: code in
//! Markdown, typewriter type in LaTeX.

use crate::lang::names::greek_letter_latex;

/// Escapes text for Markdown prose (outside math), so `_` and `<` show as themselves.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '*' | '_' | '`' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML text and attribute values: `&`, `<`, `>`, `"` and `'` as entities.
pub fn html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes text for LaTeX text mode: specials escaped, mathematical Unicode as inline math.
pub fn latex_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '<' => out.push_str("\\textless{}"),
            '>' => out.push_str("\\textgreater{}"),
            _ => match math_of(c) {
                Some(math) => {
                    out.push('$');
                    out.push_str(math);
                    out.push('$');
                }
                None => out.push(c),
            },
        }
    }
    out
}

/// The LaTeX math for a mathematical character of prose, if it is one.
fn math_of(c: char) -> Option<&'static str> {
    if let Some(greek) = greek_letter_latex(c) {
        return Some(greek);
    }
    Some(match c {
        '∂' => "\\partial",
        '·' | '⋅' => "\\cdot",
        '×' => "\\times",
        '−' => "-",
        '±' => "\\pm",
        '½' => "\\frac{1}{2}",
        '²' => "^2",
        '³' => "^3",
        '⊙' => "\\odot",
        '′' => "'",
        '∑' => "\\Sigma",
        '→' => "\\to",
        '←' => "\\leftarrow",
        '≈' => "\\approx",
        '≠' => "\\neq",
        '≤' => "\\leq",
        '≥' => "\\geq",
        '∞' => "\\infty",
        '√' => "\\surd",
        '…' => "\\ldots",
        '∈' => "\\in",
        'ᵀ' => "^{T}",
        _ => return None,
    })
}

/// Markdown prose: formulas between backticks stay code spans; the rest is escaped.
pub fn markdown_prose(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("`{part}`")
            } else {
                markdown_text(part)
            }
        })
        .collect()
}

/// LaTeX prose: escaped as [`latex_text`], with formulas between backticks in typewriter type.
pub fn latex_prose(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            let escaped = latex_text(part);
            if i % 2 == 1 {
                format!("\\texttt{{{escaped}}}")
            } else {
                escaped
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_greek_letter_of_prose_becomes_math_in_latex() {
        assert_eq!(latex_text("β"), "$\\beta$");
        assert_eq!(latex_text("ψ and ω"), "$\\psi$ and $\\omega$");
        assert_eq!(latex_text("a_1 & 50%"), "a\\_1 \\& 50\\%");
        assert_eq!(latex_prose("use `w3'` here"), "use \\texttt{w3'} here");
    }

    #[test]
    fn markdown_markup_is_escaped_outside_code() {
        assert_eq!(markdown_prose("w_1 is `w_1`"), "w\\_1 is `w_1`");
    }
}

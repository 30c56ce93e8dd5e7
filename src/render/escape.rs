//! The one escaper: prose and names made safe for each output format. Markdown escapes its
//! markup characters; LaTeX escapes its specials and writes every mathematical character of
//! Unicode prose (each Greek letter, `−`, `·`, `→`, `∂`, …) as math, so that pdflatex compiles
//! any sentence chainrule writes (as `$…$`, which works in text mode and inside `\text{}` in
//! pdflatex and KaTeX alike). Text between backticks is a formula or a command: code in
//! Markdown, typewriter type in LaTeX. A formula in a sentence ([`math_span`]) carries its text
//! and LaTeX forms: text in a terminal and JSON, `$…$` math in Markdown and LaTeX.

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
            // `--` would set an en dash: `--stable` stays two hyphens
            '-' if out.ends_with('-') => out.push_str("{}-"),
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

/// Marks where a formula in prose starts, where its LaTeX form starts, and where it ends
/// (private-use characters, which no sentence of chainrule's own contains).
const MATH_OPEN: char = '\u{E000}';
const MATH_LATEX: char = '\u{E001}';
const MATH_CLOSE: char = '\u{E002}';

/// A formula (a name, a number, a derivative) inside a sentence, in both of its forms: the
/// prose functions below write the text form in a terminal and JSON, the LaTeX form as math
/// in Markdown and LaTeX, so a sentence is worded once for every format.
pub fn math_span(text: &str, latex: &str) -> String {
    format!("{MATH_OPEN}{text}{MATH_LATEX}{latex}{MATH_CLOSE}")
}

/// A piece of prose: plain words, or a formula from [`math_span`] (text form, LaTeX form).
enum Piece<'a> {
    Words(&'a str),
    Math(&'a str, &'a str),
}

/// Splits prose into words and formulas; a marker that is not complete stays words.
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(MATH_OPEN) {
        let after = &rest[open + MATH_OPEN.len_utf8()..];
        let Some((math, tail)) = after.split_once(MATH_CLOSE) else {
            break;
        };
        let Some((plain, latex)) = math.split_once(MATH_LATEX) else {
            break;
        };
        if open > 0 {
            out.push(Piece::Words(&rest[..open]));
        }
        out.push(Piece::Math(plain, latex));
        rest = tail;
    }
    if !rest.is_empty() {
        out.push(Piece::Words(rest));
    }
    out
}

/// Prose for a terminal and for JSON: every formula in its text form.
pub fn text_prose(text: &str) -> String {
    pieces(text)
        .into_iter()
        .map(|p| match p {
            Piece::Words(w) => w,
            Piece::Math(plain, _) => plain,
        })
        .collect()
}

/// The LaTeX form of a code span that is one formula and nothing else.
fn lone_formula(code: &str) -> Option<&str> {
    match pieces(code).as_slice() {
        [Piece::Math(_, latex)] => Some(latex),
        _ => None,
    }
}

/// The pieces of prose with neighbouring formulas joined where only an operator stands between
/// them (`$a_{2}$ = $\\sigma(z_{2})$` is one formula, `$a_{2} = \\sigma(z_{2})$`), as
/// (is it math, its text): words verbatim, formulas in LaTeX.
fn typeset_pieces(text: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let parts = pieces(text);
    let mut i = 0;
    while i < parts.len() {
        match parts[i] {
            Piece::Words(w) => out.push((false, w.to_string())),
            Piece::Math(_, latex) => {
                let mut formula = latex.to_string();
                while let (Some(Piece::Words(between)), Some(Piece::Math(_, next))) =
                    (parts.get(i + 1), parts.get(i + 2))
                {
                    // Operators, and the parentheses of a call written around a formula
                    // (`σ(` … `) = `); a parenthesis after a space opens a remark instead.
                    let operator = match *between {
                        " = " => " = ",
                        " + " => " + ",
                        " − " | " - " => " - ",
                        "·" | " · " => " \\cdot ",
                        "(" | ")" | ")(" => between,
                        ") = " => ") = ",
                        _ => break,
                    };
                    formula.push_str(operator);
                    formula.push_str(next);
                    i += 2;
                }
                // A call written around a formula (`σ(` … `) rounds`) closes inside the math.
                if let Some(Piece::Words(after)) = parts.get(i + 1) {
                    let unclosed = formula.matches('(').count() as isize
                        - formula.matches(')').count() as isize;
                    let closing = after
                        .chars()
                        .take_while(|&c| c == ')')
                        .count()
                        .min(unclosed.max(0) as usize);
                    if closing > 0 {
                        formula.push_str(&after[..closing]);
                        out.push((true, formula));
                        if closing < after.len() {
                            out.push((false, after[closing..].to_string()));
                        }
                        i += 2;
                        continue;
                    }
                }
                out.push((true, formula));
            }
        }
        i += 1;
    }
    out
}

/// Markdown prose: formulas as `$…$` math, a formula between backticks too (the backticks
/// mark it for the terminal); other text between backticks stays a code span; the rest is
/// escaped.
pub fn markdown_prose(text: &str) -> String {
    typeset_prose(
        text,
        &|code| format!("`{}`", text_prose(code)),
        &markdown_text,
    )
}

/// LaTeX prose: escaped as [`latex_text`], formulas as `$…$` math (a formula between
/// backticks too), other text between backticks in typewriter type.
pub fn latex_prose(text: &str) -> String {
    typeset_prose(
        text,
        &|code| format!("\\texttt{{{}}}", latex_text(&text_prose(code))),
        &latex_text,
    )
}

/// Prose for a format that typesets math: formulas as `$…$`, what stands between backticks
/// as `code` writes it (unless it is a lone formula), the rest as `escape` writes it.
fn typeset_prose(
    text: &str,
    code: &dyn Fn(&str) -> String,
    escape: &dyn Fn(&str) -> String,
) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                match lone_formula(part) {
                    Some(latex) => format!("${latex}$"),
                    None => code(part),
                }
            } else {
                typeset_pieces(part)
                    .into_iter()
                    .map(|(math, s)| if math { format!("${s}$") } else { escape(&s) })
                    .collect()
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
        assert_eq!(latex_text("--stable"), "-{}-stable");
        assert_eq!(latex_prose("give `--stable`"), "give \\texttt{-{}-stable}");
    }

    #[test]
    fn markdown_markup_is_escaped_outside_code() {
        assert_eq!(markdown_prose("w_1 is `w_1`"), "w\\_1 is `w_1`");
    }

    #[test]
    fn formulas_in_prose_are_text_in_a_terminal_and_math_where_formulas_are_typeset() {
        let w = math_span("w2_1_1", "w^{(2)}_{11}");
        let v = math_span("-0.2", "-0.2");
        let sentence = format!("At {w} = {v}, `{w}` feeds `z_2`.");
        assert_eq!(
            text_prose(&sentence),
            "At w2_1_1 = -0.2, `w2_1_1` feeds `z_2`."
        );
        assert_eq!(
            markdown_prose(&sentence),
            "At $w^{(2)}_{11} = -0.2$, $w^{(2)}_{11}$ feeds `z_2`."
        );
        assert_eq!(
            latex_prose(&sentence),
            "At $w^{(2)}_{11} = -0.2$, $w^{(2)}_{11}$ feeds \\texttt{z\\_2}."
        );
        // A call written around a formula closes inside the math; a remark's parenthesis
        // after it stays words.
        let sigma = math_span("σ", "\\sigma");
        let fifty = math_span("50", "50");
        let call = format!("so {sigma}({fifty}) rounds ({fifty}))");
        assert_eq!(text_prose(&call), "so σ(50) rounds (50))");
        assert_eq!(latex_prose(&call), "so $\\sigma(50)$ rounds ($50$))");
        assert_eq!(markdown_prose(&call), "so $\\sigma(50)$ rounds ($50$))");
        // A marker left incomplete is words, not a formula.
        assert_eq!(text_prose("a\u{E000}b"), "a\u{E000}b");
    }
}

//! Display forms checked when they are read: a display form (`w3 as "w^{(3)}"`) is LaTeX math
//! that every format splices into its formulas (`$…$`, `\frac{…}{…}`, an `align*` row, a
//! Markdown `$$…$$`, the HTML page's MathML), so one that would break any of them — an
//! unbalanced brace, a `$` that ends the math, a special character, a script with nothing to
//! attach to, a second subscript — is refused where it is written, with a caret under the
//! spot. A display form is math only: its commands come from an allow-list of math
//! ([`MATH_COMMANDS`], Greek letters, spacing and escaped specials), so a TeX primitive that
//! would read or write a file when the document is compiled (`\input`, `\openout`,
//! `\write`), or redefine what later text means (`\def`, `\catcode`, `\csname`), never
//! reaches a document. The check is structural (braces, scripts, commands), not a LaTeX parser.

use crate::core::error::{Diagnostic, Span};

/// Checks one display form; `span` is where its text (inside the quotes) lies in the source.
pub fn check_display_form(text: &str, span: Span) -> Result<(), Diagnostic> {
    let at = |start: usize, len: usize| Span::new(span.start + start, span.start + start + len);
    let fail = |start: usize, len: usize, message: String, label: &str, help: &str| {
        Err(Diagnostic::at(at(start, len), message, label).with_help(help.to_string()))
    };
    if text.trim().is_empty() {
        return Err(Diagnostic::at(
            Span::new(span.start.saturating_sub(1), span.end + 1),
            "an empty display form",
            "nothing to show",
        )
        .with_help("write the name as LaTeX (`w^{(3)}`), or leave out `as \"...\"` to use the default form"));
    }
    // Per open brace: where it opened, and which scripts its current atom already has.
    let mut open: Vec<usize> = Vec::new();
    let mut scripts: Vec<Scripts> = vec![Scripts::default()];
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\\' => {
                let rest = &text[i + 1..];
                let Some(next) = rest.chars().next() else {
                    return fail(
                        i,
                        1,
                        "a backslash at the end of a display form escapes nothing".into(),
                        "nothing after it",
                        "remove it, or complete the command (`\\sigma`)",
                    );
                };
                let len = if next.is_ascii_alphabetic() {
                    1 + rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count()
                } else {
                    1 + next.len_utf8()
                };
                let command = &text[i..i + len];
                if matches!(
                    command,
                    "\\\\" | "\\[" | "\\]" | "\\(" | "\\)" | "\\begin" | "\\end" | "\\newline"
                ) {
                    return fail(
                        i,
                        len,
                        format!("`{command}` cannot be part of a display form"),
                        "breaks the formulas the name appears in",
                        "a display form is one piece of math, such as `w^{(3)}_{jk}`: no line breaks, environments or math delimiters",
                    );
                }
                if !is_math_command(command) {
                    return fail(
                        i,
                        len,
                        format!("`{command}` is not a math command a display form may use"),
                        "not allowed in a display form",
                        "a display form is math only: letters and digits, `_` and `^`, braces, Greek letters (`\\sigma`), accents (`\\hat{y}`), fonts (`\\mathrm{out}`, `\\mathbf{W}`), `\\operatorname{…}`, `\\prime` and spacing (`\\,`)",
                    );
                }
                scripts.last_mut().expect("one level at least").atom();
                i += len;
                continue;
            }
            b'{' => {
                open.push(i);
                scripts.push(Scripts::default());
            }
            b'}' => {
                if open.pop().is_none() {
                    return fail(
                        i,
                        1,
                        "unbalanced brace in a display form: this `}` closes nothing".into(),
                        "no `{` before it",
                        "every `{` needs its `}`: `w_{3}`",
                    );
                }
                scripts.pop();
                scripts
                    .last_mut()
                    .expect("one level at least")
                    .group_closed();
            }
            b'_' | b'^' => {
                let what = if c == b'_' {
                    "subscript"
                } else {
                    "superscript"
                };
                let next = text[i + 1..].trim_start().bytes().next();
                if matches!(next, None | Some(b'}' | b'_' | b'^')) {
                    return fail(
                        i,
                        1,
                        format!("`{}` needs a {what} after it", c as char),
                        "nothing follows",
                        "write the script after it, in braces: `w_{3}`, `a^{(2)}`",
                    );
                }
                let level = scripts.last_mut().expect("one level at least");
                if !level.add(c) {
                    return fail(
                        i,
                        1,
                        format!("a second {what} on the same symbol"),
                        "TeX and KaTeX refuse a double script",
                        "put both in one group: `w_{2,13}` rather than `w_{2}_{13}`",
                    );
                }
            }
            b'$' | b'%' | b'#' | b'&' => {
                let (message, help) = match c {
                    b'$' => (
                        "`$` in a display form would end the math it is printed in".to_string(),
                        "a display form is math already: write `w_{3}`, not `$w_{3}$`",
                    ),
                    _ => (
                        format!("`{}` is a LaTeX special character", c as char),
                        "escape it with a backslash (`\\%`, `\\#`, `\\&`), or leave it out",
                    ),
                };
                return fail(i, 1, message, "breaks the LaTeX and Markdown output", help);
            }
            b' ' => {}
            _ => scripts.last_mut().expect("one level at least").atom(),
        }
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    if let Some(&start) = open.last() {
        return fail(
            start,
            1,
            "unbalanced brace in a display form: this `{` is never closed".into(),
            "opened here",
            "every `{` needs its `}`: `w_{3}`",
        );
    }
    Ok(())
}

/// The commands a display form may use besides Greek letters, by kind: fonts and text,
/// accents, symbols, operators and functions, delimiter sizes and spacing. Every one is a piece
/// of math that reads and writes nothing and redefines nothing, and that pdflatex (with amsmath)
/// and KaTeX both know. `\left` and `\right` are left out: the line breaker pairs its own, and
/// a pair inside a name would be cut where a long formula breaks.
pub const MATH_COMMANDS: [&str; 5] = [
    "mathrm mathbf mathit mathsf mathtt mathcal mathnormal boldsymbol operatorname text textrm \
     textit textbf textsf texttt",
    "hat widehat bar overline underline tilde widetilde vec dot ddot check breve acute grave \
     mathring",
    "prime ast star circ bullet cdot times div pm mp ell hbar imath jmath nabla partial infty top \
     perp dagger ddagger odot oplus otimes ldots cdots dots vdots ddots emptyset in sim approx \
     equiv le ge leq geq neq to rightarrow leftarrow mapsto langle rangle lvert rvert lVert rVert \
     vert Vert mid lbrace rbrace lfloor rfloor lceil rceil",
    "frac tfrac dfrac sqrt sum prod log ln exp sin cos tan sinh cosh tanh max min arg sup inf lim \
     det",
    "big Big bigl bigr Bigl Bigr quad qquad",
];

/// Whether `command` (with its backslash) may stand in a display form: a Greek letter, one of
/// [`MATH_COMMANDS`], a space (`\,` `\;` `\:` `\!` `\ `) or an escaped special
/// (`\{` `\}` `\%` `\#` `\&` `\_` `\|`; not `\$`, which Markdown's math would end at).
fn is_math_command(command: &str) -> bool {
    let name = &command[1..];
    crate::lang::names::is_greek_macro(command)
        || MATH_COMMANDS
            .iter()
            .any(|kind| kind.split_whitespace().any(|known| known == name))
        || matches!(
            name,
            "," | ";" | ":" | "!" | " " | "{" | "}" | "%" | "#" | "&" | "_" | "|"
        )
}

/// The scripts the current atom of one brace level carries, and whether a script argument is
/// still expected (the atom or group right after `_`/`^` is that script's argument, not a new
/// base).
#[derive(Default)]
struct Scripts {
    sub: bool,
    sup: bool,
    argument_pending: bool,
}

impl Scripts {
    /// A script `_` or `^`; false if the atom already has one of that kind.
    fn add(&mut self, c: u8) -> bool {
        let seen = if c == b'_' {
            &mut self.sub
        } else {
            &mut self.sup
        };
        if *seen {
            return false;
        }
        *seen = true;
        self.argument_pending = true;
        true
    }

    /// A character or command: a script's argument, or a new base.
    fn atom(&mut self) {
        if self.argument_pending {
            self.argument_pending = false;
        } else {
            self.sub = false;
            self.sup = false;
        }
    }

    /// A `{…}` group just closed: like an atom at this level.
    fn group_closed(&mut self) {
        self.atom();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> Option<(String, usize, usize)> {
        check_display_form(text, Span::new(10, 10 + text.len()))
            .err()
            .map(|d| {
                let s = d.span.expect("an error has a place");
                (
                    d.message,
                    s.start.saturating_sub(10),
                    s.end.saturating_sub(10),
                )
            })
    }

    #[test]
    fn textbook_display_forms_pass() {
        for ok in [
            "w^{(3)}",
            "w^{(l)}_{jk}",
            "\\sigma",
            "\\hat{y}",
            "\\mathbf{W}^{(2)}",
            "a^{(2)}_{1}",
            "E_{\\mathrm{total}}",
            "\\{x\\}",
            "x'",
            "z^{L}_{j}",
            "w_{2,13}",
            "\\delta^{(3)}_1",
            "{w}_{1}^{2}",
            "y_{\\text{out}}",
            "\\%",
            "\\bar{x}_{\\mathit{in}}",
            "\\operatorname{out}\\,\\tilde{\\theta}^{\\prime}",
            "\\vec{v}\\cdot\\dot{\\Omega}",
        ] {
            assert_eq!(error(ok), None, "{ok}");
        }
    }

    #[test]
    fn tex_primitives_are_refused_at_the_command() {
        let cases: [(&str, usize, usize); 9] = [
            ("\\input{/etc/hostname}", 0, 6),
            ("x\\immediate\\write18{ls}", 1, 10),
            ("\\openout", 0, 8),
            ("a\\def\\x{1}", 1, 4),
            ("\\catcode`\\^=7", 0, 8),
            ("w_{\\csname relax\\endcsname}", 3, 7),
            ("\\text{\\input{x}}", 6, 6),
            ("\\mathrm{\\jobname}", 8, 8),
            ("\\@", 0, 2),
        ];
        for (text, column, len) in cases {
            let (got, start, end) = error(text).unwrap_or_else(|| panic!("{text} passed"));
            assert!(got.contains("is not a math command"), "{text}: {got}");
            assert_eq!((start, end - start), (column, len), "{text}: {got}");
        }
        // `^^5c` is TeX's way to write a backslash: a double script, refused too.
        let (got, _, _) = error("x^^5cinput{y}").expect("refused");
        assert!(got.contains("needs a superscript"), "{got}");
    }

    #[test]
    fn forms_that_break_a_format_are_refused_at_the_spot() {
        let cases: [(&str, &str, usize); 13] = [
            ("w_{3", "this `{` is never closed", 2),
            ("w_3}", "this `}` closes nothing", 3),
            ("$w_3$", "would end the math", 0),
            ("w_", "needs a subscript", 1),
            ("a^", "needs a superscript", 1),
            ("w_{1}_{2}", "a second subscript", 5),
            ("w_1^2_3", "a second subscript", 5),
            ("w\\", "escapes nothing", 1),
            ("50%", "special character", 2),
            ("a & b", "special character", 2),
            ("w\\\\x", "cannot be part of a display form", 1),
            ("\\end{align*}", "cannot be part of a display form", 0),
            (" ", "empty display form", 0),
        ];
        for (text, message, column) in cases {
            let (got, start, _) = error(text).unwrap_or_else(|| panic!("{text} passed"));
            assert!(got.contains(message), "{text}: {got}");
            if !message.contains("empty") {
                assert_eq!(start, column, "{text}: {got}");
            }
        }
    }
}

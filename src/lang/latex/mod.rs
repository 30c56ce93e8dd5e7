//! LaTeX formulas as textbooks print them, read into the syntax tree of [`crate::lang::ast`].
//!
//! A claim side such as `-2(y - f(x))\sigma'(z^{(3)})a^{(2)}` or
//! `\frac{\partial E_{total}}{\partial out_{o1}}` is tokenised by `grammar/latex.pest` into
//! operands with their sub- and superscripts, and this module binds precedence, implicit
//! multiplication and function application, and — the part that needs the model — resolves
//! what was written to the model's names: through display forms first (`show a2 as
//! "a^{(2)}"`), then the default rule both ways (`a_{2}`, `a_2`, `a^{(2)}` are `a2`), then the
//! plain name itself (`E_{total}` is `E_total` or `Etotal`). `\delta^{(3)}`, `δ3` and `delta3`
//! mean ∂C/∂z3 when no name is written so. A Greek letter that names nothing (`\eta`) is kept
//! as a free name for the caller to judge; any other unknown or ambiguous name is a
//! [`Diagnostic`] that lists the candidates. Spans are byte offsets into the LaTeX text.
//! pest's types stay inside this module.

use pest::Parser as _;
use pest::error::InputLocation;
use pest::iterators::Pair;

use crate::core::error::{Diagnostic, Result};
use crate::core::expr::{Func, Func2, Sym};
use crate::core::model::Model;
use crate::lang::ast::{BinOp, Expr, Ident, Partial, Span};
use crate::lang::names::{default_name_latex, greek_ascii};

mod apply;
mod build;
mod derivatives;
mod errors;
mod names;
mod tokens;

use build::*;
use errors::*;
pub use names::Names;
use names::*;
use tokens::*;

/// How deeply groups (`{`, `(`, `[`, `\lvert`) may nest; pest and the builder recurse.
pub const MAX_NESTING: usize = 64;

/// The longest formula accepted, in bytes. A claim side is a line from a book; the bound
/// keeps the trees shallow enough for recursive walks (a sum of n terms is n levels deep).
pub const MAX_LENGTH: usize = 4000;

/// What a written name stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A name of the model.
    Symbol(Sym),
    /// `δ3`, `\delta^{(3)}`: the derivative of the cost with respect to this z-name.
    Delta(Sym),
    /// A Greek letter the model does not declare (`\eta` as a learning rate), spelt out in
    /// ASCII (`eta`). The caller decides whether a free symbol is allowed.
    Free(String),
}

impl Resolved {
    /// The expression a resolved name stands for, with `span` on every part: a name, the
    /// reference ∂C/∂z for a δ, or the free name.
    pub fn to_expr(&self, model: &Model, span: Span) -> Expr {
        match self {
            Resolved::Symbol(s) => Expr::Name(ident(model.name(*s), span)),
            Resolved::Delta(z) => Expr::DerivRef {
                of: ident(model.name(model.cost), span),
                wrt: ident(model.name(*z), span),
                partial: Partial::Total,
                span,
            },
            Resolved::Free(name) => Expr::Name(ident(name, span)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------------------

/// Parses one side of a claim written in LaTeX into an expression over the model's names.
///
/// Names in the result are the model's names (`a2`, not `a^{(2)}`), except free Greek
/// letters (see [`Resolved::Free`]). `\frac{\partial C}{\partial w_3}` is a
/// [`Expr::DerivRef`], `\frac{\partial}{\partial w}(...)` a [`Expr::DerivOf`], and `δ3` the
/// reference ∂C/∂z3.
pub fn parse_latex(model: &Model, text: &str) -> Result<Expr> {
    let names = Names::new(model);
    parse_latex_with(&names, text)
}

/// [`parse_latex`] with the name table built once (for many claims on one model).
pub fn parse_latex_with(names: &Names<'_>, text: &str) -> Result<Expr> {
    let mut items = parse_items(text)?;
    // A displayed formula may end a sentence with a comma.
    if let Some(Item::Op(Op::Comma, _)) = items.last() {
        items.pop();
    }
    let builder = Builder {
        names,
        text,
        depth: std::cell::Cell::new(0),
    };
    if items.is_empty() {
        return Err(Diagnostic::at(
            Span::new(0, text.len()),
            "the formula is empty",
            "nothing to read here",
        ));
    }
    builder.sum(&items, Span::new(0, text.len()))
}

/// Resolves a name written in a *plain* claim (`a_2`, `delta3`, `δ3`, `E_total`) or in LaTeX
/// (`a^{(2)}`) by the same rules as [`parse_latex`]. An error's span covers all of `written`.
pub fn resolve_name(model: &Model, written: &str) -> Result<Resolved> {
    let names = Names::new(model);
    names.resolve_written(written)
}

/// The name an update rule assigns, when `text` is a primed name: `w_3'`, `w'_3`,
/// `w^{(3)\prime}`, `w_{3}^{\prime}`, `w3'`. `None` if it is not a primed name of the model.
pub fn parse_latex_update_target(model: &Model, text: &str) -> Option<Sym> {
    let names = Names::new(model);
    let factor = parse_name_only(text).ok()?;
    let mut written = Written::from_factor(&factor, text)?;
    if written.primes == 0 {
        return None;
    }
    written.primes = 0;
    match names.resolve_parts(&written, Span::new(0, text.len())) {
        Ok((Resolved::Symbol(s), None)) => Some(s),
        _ => None,
    }
}

/// Whether a claim side looks like LaTeX rather than the plain language: it has a backslash
/// or a brace, which the plain language never uses. (`a_2` and `x^2` are plain too; a plain
/// side with an unknown name can still try [`resolve_name`].)
pub fn looks_like_latex(text: &str) -> bool {
    text.contains(['\\', '{', '}'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<Item> {
        parse_items(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    #[test]
    fn tokens() {
        assert_eq!(items("a + b").len(), 3);
        assert_eq!(items("\\left( a \\right) b").len(), 2);
        assert_eq!(items("2\\,x\\;y\\!z").len(), 4);
        assert_eq!(items("\\frac{1}{2} \\cdot x").len(), 3);
        assert_eq!(items("\\lvert x \\rvert").len(), 1);
        assert_eq!(items("|x| |y|").len(), 2);
        assert_eq!(items("\\left| x \\right|").len(), 1);
        assert!(matches!(items("w^{(3)\\prime}")[0], Item::Factor(_)));
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize("{(3)}"), "(3)");
        assert_eq!(normalize("{\\alpha}"), "alpha");
        assert_eq!(normalize("\\text{total}"), "total");
        assert_eq!(normalize("1, 1"), "1,1");
        assert!(is_prime_text("{\\prime}"));
        assert!(is_prime_text("'"));
        assert!(!is_prime_text("2"));
    }

    #[test]
    fn written_parts() {
        let text = "w^{(2)}_{11}";
        let f = parse_name_only(text).unwrap();
        let w = Written::from_factor(&f, text).unwrap();
        assert_eq!(w.base, "w");
        assert_eq!(w.layer(), Some("2"));
        assert_eq!(w.key(Some("2"), false).sub, "2,11");
        let text = "δ3";
        let f = parse_name_only(text).unwrap();
        let w = Written::from_factor(&f, text).unwrap();
        assert_eq!((w.base.as_str(), w.digits.as_str()), ("delta", "3"));
        let text = "out_{o1}";
        let f = parse_name_only(text).unwrap();
        let w = Written::from_factor(&f, text).unwrap();
        assert!(w.plain_names(None).contains(&"outo1".to_string()));
    }

    #[test]
    fn precheck_errors() {
        assert!(precheck("{a").unwrap_err().message.contains("unclosed"));
        assert!(precheck("a}").unwrap_err().message.contains("unmatched"));
        assert!(
            precheck("(a]")
                .unwrap_err()
                .message
                .contains("does not close")
        );
        assert!(precheck("\\{a\\}").is_ok());
        assert!(precheck("\\{a").unwrap_err().message.contains("unclosed"));
        assert!(precheck("\\(a \\|").is_ok());
        let deep = "{".repeat(MAX_NESTING + 1);
        assert!(
            precheck(&deep)
                .unwrap_err()
                .message
                .contains("nested too deeply")
        );
    }
}

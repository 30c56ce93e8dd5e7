//! Derivative notation in LaTeX claims: `\frac{\partial C}{\partial w}` (a derivative of a name
//! or of what follows), `\partial C/\partial w` and `dC/dw` written inline, and the direct
//! partial `\left(\frac{\partial C}{\partial w}\right)_{\mathrm{direct}}` that derivations print.

use super::*;

impl Builder<'_, '_> {
    /// `\partial C/\partial w_3` and `dC/dw_3` written inline.
    pub(super) fn inline_derivative(&self, items: &[Item], i: &mut usize) -> Result<Option<Expr>> {
        let at = *i;
        let factor = |k: usize| match items.get(k) {
            Some(Item::Factor(f)) => Some(f),
            _ => None,
        };
        let partial = |f: Option<&Factor>| {
            f.is_some_and(|f| matches!(f.atom, Atom::Partial) && f.scripts.is_empty())
        };
        if partial(factor(at))
            && matches!(items.get(at + 2), Some(Item::Op(Op::Divide, _)))
            && partial(factor(at + 3))
            && let (Some(x), Some(y)) = (factor(at + 1), factor(at + 4))
        {
            let of = self.deriv_name(x, "the function")?;
            let wrt = self.deriv_name(y, "the variable")?;
            *i = at + 5;
            let span = items_span(&items[at..at + 5]);
            return Ok(Some(Expr::DerivRef {
                of,
                wrt,
                partial: Partial::Total,
                span,
            }));
        }
        fn d_word(f: Option<&Factor>) -> Option<&Factor> {
            f.filter(|f| matches!(&f.atom, Atom::Word(w) if w.len() > 1 && w.starts_with('d')))
        }
        if let (Some(a), Some(_)) = (d_word(factor(at)), d_word(factor(at + 2)))
            && items.get(at + 1).is_some_and(|item| matches!(item, Item::Op(Op::Divide, _)))
            && a.scripts.is_empty()
            // `dot/dw`: a name that starts with `d` stays a name.
            && Written::from_factor(a, self.text)
                .is_some_and(|w| self.names.resolve_parts(&w, a.span()).is_err())
            && let (Some(top), Some(bottom)) = (
                differential(&items[at..at + 1]),
                differential(&items[at + 2..at + 3]),
            )
            && let ([Item::Factor(x)], [Item::Factor(y)]) = (top.as_slice(), bottom.as_slice())
            && let (Ok(of), Ok(wrt)) = (
                self.deriv_name(x, "the function"),
                self.deriv_name(y, "the variable"),
            )
            && self.names.model.lookup(&of.name).is_some()
        {
            *i = at + 3;
            let span = items_span(&items[at..at + 3]);
            return Ok(Some(Expr::DerivRef {
                of,
                wrt,
                partial: Partial::Total,
                span,
            }));
        }
        Ok(None)
    }

    /// Whether a subscript reads "direct" (`\mathrm{direct}`, `\text{direct}`, `direct`).
    pub(super) fn says_direct(&self, span: Span) -> bool {
        let written: String = self.text[span.start..span.end]
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '{' | '}' | '_'))
            .collect();
        ["direct", "\\mathrm", "\\text", "\\textrm", "\\operatorname"]
            .iter()
            .any(|prefix| written.strip_prefix(prefix) == Some("direct"))
            || written == "direct"
    }

    /// `\frac{a}{b}`: a derivative when both start with `d` or `\partial`, else a quotient.
    pub(super) fn frac(
        &self,
        factor: &Factor,
        num: &Arg,
        den: &Arg,
        items: &[Item],
        i: &mut usize,
        whole: Span,
    ) -> Result<Expr> {
        let span = factor.span();
        if let Some(Item::Factor(first)) = num.items.first()
            && matches!(first.atom, Atom::Partial)
            && let Some(script) = first.scripts.first()
        {
            return Err(Diagnostic::at(
                script.span(),
                "second and higher derivatives are not supported",
                "a power of ∂",
            )
            .with_help("claim the first derivative, `\\frac{\\partial C}{\\partial w}`"));
        }
        if let (Some(top), Some(bottom)) = (differential(&num.items), differential(&den.items)) {
            let model = self.names.model;
            // The variable: one name.
            let wrt = match bottom.as_slice() {
                [Item::Factor(f)] => self.deriv_name(f, "the variable")?,
                _ => {
                    return Err(Diagnostic::at(
                        den.span,
                        "the variable of a derivative must be one name",
                        "not a single name",
                    ));
                }
            };
            let of_span = num.span;
            let e = match top.as_slice() {
                // `\frac{\partial}{\partial w}(...)`: the derivative of what follows.
                [] => {
                    let Some(Item::Factor(_)) = items.get(*i) else {
                        return Err(Diagnostic::at(
                            span,
                            "`\\frac{\\partial}{\\partial x}` needs something to differentiate",
                            "nothing follows",
                        ));
                    };
                    let expr = self.operand(items, i, whole)?;
                    let all = span.to(expr.span());
                    return Ok(Expr::DerivOf {
                        wrt,
                        expr: Box::new(expr),
                        partial: Partial::Total,
                        span: all,
                    });
                }
                [Item::Factor(f)] if Written::from_factor(f, self.text).is_some() => {
                    let of = self.deriv_name(f, "the function")?;
                    if model.lookup(&of.name).is_none() {
                        return Err(Diagnostic::at(
                            of.span,
                            format!("`{}` is not a name of the model", of.name),
                            "cannot differentiate a free symbol",
                        ));
                    }
                    Expr::DerivRef {
                        of,
                        wrt,
                        partial: Partial::Total,
                        span,
                    }
                }
                rest => {
                    let expr = self.sum(rest, of_span)?;
                    Expr::DerivOf {
                        wrt,
                        expr: Box::new(expr),
                        partial: Partial::Total,
                        span,
                    }
                }
            };
            return self.scripts(e, factor);
        }
        let a = self.sum(&num.items, num.span)?;
        let b = self.sum(&den.items, den.span)?;
        let q = Expr::Binary {
            op: BinOp::Div,
            lhs: Box::new(a),
            rhs: Box::new(b),
            span: factor.atom_span,
        };
        self.scripts(q, factor)
    }

    /// The name in `\partial w_3` or `dw_3`.
    pub(super) fn deriv_name(&self, f: &Factor, what: &str) -> Result<Ident> {
        let span = f.span();
        let Some(written) = Written::from_factor(f, self.text) else {
            return Err(Diagnostic::at(
                span,
                format!("{what} of a derivative must be a name"),
                "not a name",
            ));
        };
        match self.names.resolve_parts(&written, span)? {
            (Resolved::Symbol(s), None) => Ok(ident(self.names.model.name(s), span)),
            (Resolved::Free(name), None) => Ok(ident(&name, span)),
            (Resolved::Delta(_), _) => Err(Diagnostic::at(
                span,
                format!("{what} of a derivative cannot be a δ"),
                "a δ here",
            )),
            (_, Some(_)) => Err(Diagnostic::at(
                span,
                "higher and power derivatives are not supported",
                "a power here",
            )),
        }
    }
}

/// The items after the differential `d` or `\partial` that starts them, if they start so:
/// `\partial C` -> `[C]`, `dC` -> `[C]`, `dw_3` -> `[w_3]`, `\partial` -> `[]`.
fn differential(items: &[Item]) -> Option<Vec<Item>> {
    let (Item::Factor(first), rest) = items.split_first()? else {
        return None;
    };
    match &first.atom {
        Atom::Partial if first.scripts.is_empty() => Some(rest.to_vec()),
        Atom::Word(w) if w == "d" && first.scripts.is_empty() => Some(rest.to_vec()),
        Atom::Word(w)
            if w.len() > 1
                && w.starts_with('d')
                && w[1..].starts_with(|c: char| c.is_ascii_alphabetic()) =>
        {
            // `dw_3`: the word without its `d`, with the word's scripts.
            let mut out = vec![Item::Factor(Factor {
                atom: Atom::Word(w[1..].to_string()),
                atom_span: Span::new(first.atom_span.start + 1, first.atom_span.end),
                scripts: first.scripts.clone(),
            })];
            out.extend_from_slice(rest);
            Some(out)
        }
        _ => None,
    }
}

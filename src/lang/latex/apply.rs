//! Function application in LaTeX claims: a built-in applied to a parenthesised group or to
//! the next operand (`\sigma(z)`, `\sigma'(z)^2`, `\log x`), and the two-argument `\max(a, b)`,
//! `\min\{a, b\}` with their arguments split at the commas; a wrong number of arguments gets
//! the same error as in the language.

use super::*;

impl Builder<'_, '_> {
    /// `func` applied to what follows: a group's content (the group's scripts then apply to
    /// the call: `\sigma(z)^2`), or the next operand (`\log x`).
    pub(super) fn apply(
        &self,
        func: Func,
        factor: &Factor,
        items: &[Item],
        i: &mut usize,
        whole: Span,
    ) -> Result<Expr> {
        let mut func = func;
        let mut power = None;
        for script in &factor.scripts {
            match script {
                Script::Prime(span) => {
                    func = match func.prime() {
                        Some(p) if func.primitive().is_none() => p,
                        _ => {
                            return Err(Diagnostic::at(
                                *span,
                                format!(
                                    "chainrule has no derivative function for `{}`",
                                    func.name()
                                ),
                                "prime",
                            )
                            .with_help("the activations with a prime are σ', tanh' and relu'"));
                        }
                    };
                }
                Script::Sup(arg) if power.is_none() => power = Some(arg.clone()),
                other => {
                    return Err(Diagnostic::at(
                        other.span(),
                        format!("`{}` cannot take this script", func.name()),
                        "unexpected script",
                    ));
                }
            }
        }
        let name_span = factor.span();
        let result = if let Some(group) = group_at(items, *i) {
            *i += 1;
            self.call_on_group(func.name(), name_span, group)?
        } else if matches!(items.get(*i), Some(Item::Factor(_))) {
            let arg = self.operand(items, i, whole)?;
            call(func, name_span, arg)
        } else {
            return Err(Diagnostic::at(
                name_span,
                format!("`{}` needs an argument", func.name()),
                "function without an argument",
            )
            .with_help("write its argument in parentheses: `\\sigma(z)`"));
        };
        self.power(result, power)
    }

    /// A call's arguments and the commas between them: the group's items split at its
    /// commas (a comma inside a nested group or a subscript belongs there).
    pub(super) fn arguments(&self, inner: &[Item], whole: Span) -> Result<(Vec<Expr>, Vec<Span>)> {
        let mut args = Vec::new();
        let mut commas = Vec::new();
        let mut start = 0;
        for (k, item) in inner.iter().enumerate() {
            if let Item::Op(Op::Comma, comma) = item {
                args.push(self.sum(&inner[start..k], whole.to(*comma))?);
                commas.push(*comma);
                start = k + 1;
            }
        }
        args.push(self.sum(&inner[start..], whole)?);
        Ok((args, commas))
    }

    /// `\max(a, b)`, `\min\{a, b\}`: a function of two arguments, which must follow in a
    /// group.
    pub(super) fn apply2(
        &self,
        func: Func2,
        factor: &Factor,
        items: &[Item],
        i: &mut usize,
    ) -> Result<Expr> {
        let name_span = factor.span();
        if let Some(script) = factor.scripts.first() {
            return Err(Diagnostic::at(
                script.span(),
                format!("`{}` cannot take this script", func.name()),
                "unexpected script",
            )
            .with_help(format!("write `\\{}(a, b)`", func.name())));
        }
        let Some(group) = group_at(items, *i) else {
            return Err(Diagnostic::at(
                name_span,
                format!("`{}` needs its two arguments in parentheses", func.name()),
                "function without its arguments",
            )
            .with_help(format!("write `\\{}(a, b)`", func.name())));
        };
        *i += 1;
        self.call_on_group(func.name(), name_span, group)
    }

    /// The function `name` called on a parenthesised group's arguments (checked for their
    /// number as the language checks them), then the group's scripts (`\sigma(z)^2`).
    fn call_on_group(&self, name: &str, name_span: Span, group: &Factor) -> Result<Expr> {
        let Atom::Group(_, inner) = &group.atom else {
            return Err(internal_at(group.atom_span));
        };
        let (args, commas) = self.arguments(inner, group.atom_span)?;
        let name = ident(name, name_span);
        let whole_call = name_span.to(group.atom_span);
        if let Some(wrong) = crate::lang::syntax::wrong_arity(&name, &args, &commas, whole_call) {
            return Err(wrong);
        }
        let call = Expr::Call {
            name,
            args,
            span: whole_call,
        };
        let rest = Factor {
            atom: Atom::Number(String::new()),
            atom_span: group.atom_span,
            scripts: group.scripts.clone(),
        };
        self.scripts(call, &rest)
    }
}

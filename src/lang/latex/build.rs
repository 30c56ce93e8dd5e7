//! Building the syntax tree from the items: precedence, implicit multiplication, which
//! command or word is a function (applied in `apply`), names and their scripts. Fractions and
//! derivative notation are in `derivatives`.

use super::*;

// ---------------------------------------------------------------------------------------
// Building the tree
// ---------------------------------------------------------------------------------------

pub(super) struct Builder<'a, 'm> {
    pub(super) names: &'a Names<'m>,
    pub(super) text: &'a str,
    /// Operands being built inside one another: `\sigma \sigma \sigma ... x` nests without
    /// any bracket, so [`precheck`] cannot bound it.
    pub(super) depth: std::cell::Cell<usize>,
}

pub(super) fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span().to(rhs.span());
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        span,
    }
}

pub(super) fn neg(operand: Expr, sign: Span) -> Expr {
    let span = sign.to(operand.span());
    Expr::Neg {
        operand: Box::new(operand),
        span,
    }
}

pub(super) fn ident(name: &str, span: Span) -> Ident {
    Ident {
        name: name.to_string(),
        span,
    }
}

pub(super) fn call(func: Func, name_span: Span, arg: Expr) -> Expr {
    let span = name_span.to(arg.span());
    Expr::Call {
        name: ident(func.name(), name_span),
        args: vec![arg],
        span,
    }
}

/// Whether the item is a parenthesised group (a function's argument, `f(x)`).
pub(super) fn group_at(items: &[Item], i: usize) -> Option<&Factor> {
    match items.get(i) {
        Some(Item::Factor(f)) if matches!(f.atom, Atom::Group(..)) => Some(f),
        _ => None,
    }
}

impl Builder<'_, '_> {
    /// A sum of terms, with unary signs.
    pub(super) fn sum(&self, items: &[Item], whole: Span) -> Result<Expr> {
        if items.is_empty() {
            return Err(Diagnostic::at(whole, "empty group", "nothing inside"));
        }
        let mut i = 0;
        let mut acc: Option<Expr> = None;
        while i < items.len() {
            let mut op = BinOp::Add;
            if acc.is_some() {
                // The binary operator between two terms.
                match &items[i] {
                    Item::Op(Op::Plus, _) => op = BinOp::Add,
                    Item::Op(Op::Minus, _) => op = BinOp::Sub,
                    _ => return Err(internal_at(whole)),
                }
                i += 1;
            }
            // Unary signs.
            let mut signs: Vec<Span> = Vec::new();
            while let Some(Item::Op(o @ (Op::Plus | Op::Minus), span)) = items.get(i) {
                if *o == Op::Minus {
                    signs.push(*span);
                }
                i += 1;
            }
            let mut term = self.product(items, &mut i, whole)?;
            for sign in signs.into_iter().rev() {
                term = neg(term, sign);
            }
            acc = Some(match acc {
                None => term,
                Some(lhs) => binary(op, lhs, term),
            });
        }
        acc.ok_or_else(|| internal_at(whole))
    }

    /// Factors joined by `\cdot`, `/` or juxtaposition, up to the next `+` or `-`.
    pub(super) fn product(&self, items: &[Item], i: &mut usize, whole: Span) -> Result<Expr> {
        let mut acc = self.operand(items, i, whole)?;
        while let Some(item) = items.get(*i) {
            match item {
                Item::Op(Op::Plus | Op::Minus, _) => break,
                Item::Op(Op::Comma, span) => {
                    return Err(Diagnostic::at(
                        *span,
                        "a comma inside a formula",
                        "only subscripts take commas",
                    )
                    .with_help("write one formula per side; `w_{1,1}` is a name"));
                }
                Item::Op(op, _) => {
                    let op = match op {
                        Op::Times => BinOp::Mul,
                        Op::Hadamard => BinOp::Hadamard,
                        _ => BinOp::Div,
                    };
                    *i += 1;
                    // `a \cdot -b`.
                    let mut signs = Vec::new();
                    while let Some(Item::Op(Op::Minus, span)) = items.get(*i) {
                        signs.push(*span);
                        *i += 1;
                    }
                    let mut rhs = self.operand(items, i, whole)?;
                    for sign in signs.into_iter().rev() {
                        rhs = neg(rhs, sign);
                    }
                    acc = binary(op, acc, rhs);
                }
                Item::Factor(_) => {
                    let rhs = self.operand(items, i, whole)?;
                    acc = binary(BinOp::Mul, acc, rhs);
                }
            }
        }
        Ok(acc)
    }

    /// One operand, with whatever it takes after it (a function its argument, `f` its `(x)`).
    pub(super) fn operand(&self, items: &[Item], i: &mut usize, whole: Span) -> Result<Expr> {
        let depth = self.depth.get() + 1;
        if depth > 2 * MAX_NESTING {
            let span = match items.get(*i) {
                Some(Item::Factor(f)) => f.span(),
                Some(Item::Op(_, span)) => *span,
                None => whole,
            };
            return Err(Diagnostic::at(
                span,
                format!(
                    "formula nested too deeply: more than {} levels",
                    2 * MAX_NESTING
                ),
                "nested too deeply here",
            ));
        }
        self.depth.set(depth);
        let result = self.operand_at(items, i, whole);
        self.depth.set(depth - 1);
        result
    }

    pub(super) fn operand_at(&self, items: &[Item], i: &mut usize, whole: Span) -> Result<Expr> {
        // `W^T`, `(W^{(3)})^\top`, `x^{\mathsf{T}}`: the transpose of the operand without it.
        if let Some(Item::Factor(f)) = items.get(*i)
            && let Some(Script::Sup(arg)) = f.scripts.last()
            && is_transpose_mark(&arg.text)
        {
            let span = f.span();
            let mut stripped = items.to_vec();
            if let Item::Factor(f) = &mut stripped[*i] {
                f.scripts.pop();
            }
            let operand = self.operand_at(&stripped, i, whole)?;
            return Ok(Expr::Transpose {
                operand: Box::new(operand),
                span,
            });
        }
        if let Some(e) = self.inline_derivative(items, i)? {
            return Ok(e);
        }
        let factor = match items.get(*i) {
            Some(Item::Factor(f)) => f,
            Some(Item::Op(_, span)) => {
                let found = self.text.get(span.start..span.end).unwrap_or("?");
                return Err(Diagnostic::at(
                    *span,
                    format!("expected an operand, found `{found}`"),
                    "an operand is missing before this",
                ));
            }
            None => {
                let at = items.last().map_or(whole.end, |item| match item {
                    Item::Op(_, s) => s.end,
                    Item::Factor(f) => f.span().end,
                });
                return Err(Diagnostic::at(
                    Span::new(at, at),
                    "expected an operand at the end",
                    "an operand is missing here",
                ));
            }
        };
        *i += 1;
        let span = factor.span();
        match &factor.atom {
            Atom::Number(text) => {
                let n = Expr::Number {
                    text: text.clone(),
                    span: factor.atom_span,
                };
                self.scripts(n, factor)
            }
            Atom::Group(_, inner) => {
                let e = self.sum(inner, factor.atom_span)?;
                self.scripts(e, factor)
            }
            Atom::Abs(inner) => {
                let e = self.sum(inner, factor.atom_span)?;
                let e = Expr::Call {
                    name: ident("abs", factor.atom_span),
                    args: vec![e],
                    span: factor.atom_span,
                };
                self.scripts(e, factor)
            }
            Atom::Sqrt(index, radicand) => {
                let x = self.sum(&radicand.items, radicand.span)?;
                let e = match index {
                    None => Expr::Call {
                        name: ident("sqrt", factor.atom_span),
                        args: vec![x],
                        span: factor.atom_span,
                    },
                    Some(index) => {
                        let n = self.sum(index, factor.atom_span)?;
                        let one = Expr::Number {
                            text: "1".into(),
                            span: factor.atom_span,
                        };
                        let exponent = binary(BinOp::Div, one, n);
                        binary(BinOp::Pow, x, exponent)
                    }
                };
                self.scripts(e, factor)
            }
            Atom::Frac(num, den) => self.frac(factor, num, den, items, i, whole),
            Atom::Partial => Err(Diagnostic::at(
                span,
                "`\\partial` outside a fraction",
                "a derivative is written as a fraction",
            )
            .with_help("write `\\frac{\\partial C}{\\partial w_3}`")),
            Atom::Command(c) => self.command(factor, c, items, i, whole),
            Atom::Word(w) => self.word(factor, w, items, i, whole),
        }
    }

    /// Applies the scripts of an operand that is not a name: a superscript is a power.
    pub(super) fn scripts(&self, mut e: Expr, factor: &Factor) -> Result<Expr> {
        let mut powered = false;
        for script in &factor.scripts {
            match script {
                Script::Sup(arg) if !powered => {
                    let exponent = self.sum(&arg.items, arg.span)?;
                    e = binary(BinOp::Pow, e, exponent);
                    powered = true;
                }
                Script::Sup(arg) => {
                    return Err(Diagnostic::at(
                        arg.span,
                        "double superscript",
                        "a second superscript",
                    )
                    .with_help("put braces around the first power: `{x^{2}}^{3}`"));
                }
                // `\left(\frac{\partial C}{\partial w}\right)_{\mathrm{direct}}`, as derivations
                // print the direct partial.
                Script::Sub(arg) if !powered && self.says_direct(arg.span) => match &mut e {
                    Expr::DerivRef { partial, .. } | Expr::DerivOf { partial, .. } => {
                        *partial = Partial::Direct;
                    }
                    _ => {
                        return Err(Diagnostic::at(
                                arg.span,
                                "only a derivative can be direct",
                                "not after a derivative",
                            )
                            .with_help(
                                "the direct partial is written `\\left(\\frac{\\partial C}{\\partial w}\\right)_{\\mathrm{direct}}`",
                            ));
                    }
                },
                Script::Sub(arg) => {
                    return Err(Diagnostic::at(
                        arg.span,
                        "a subscript here names nothing",
                        "subscript on something that is not a name",
                    ));
                }
                Script::Prime(span) => {
                    return Err(Diagnostic::at(
                        *span,
                        "a prime here is not a derivative chainrule knows",
                        "prime",
                    )
                    .with_help(
                        "write the derivative as a fraction, `\\frac{\\partial C}{\\partial w}`, \
                         or of an activation, `\\sigma'(z)`",
                    ));
                }
            }
        }
        Ok(e)
    }

    pub(super) fn command(
        &self,
        factor: &Factor,
        c: &str,
        items: &[Item],
        i: &mut usize,
        whole: Span,
    ) -> Result<Expr> {
        let func = match c {
            "tanh" => Some(Func::Tanh),
            "exp" => Some(Func::Exp),
            "log" | "ln" => Some(Func::Log),
            "sin" => Some(Func::Sin),
            "cos" => Some(Func::Cos),
            // not in plain LaTeX, but common in papers' preambles
            "sgn" | "sign" => Some(Func::Sign),
            _ => None,
        };
        if let Some(func) = Func2::from_name(c) {
            return self.apply2(func, factor, items, i);
        }
        if let Some(func) = func {
            return self.apply(func, factor, items, i, whole);
        }
        if c == "sigma" && (group_at(items, *i).is_some() || self.has_prime(factor)) {
            return self.apply(Func::Sigmoid, factor, items, i, whole);
        }
        if c == "sigma" && self.names.model.lookup("sigma").is_none() {
            // σ as a free symbol would only hide a missing argument.
            let e = self.name(factor, items, i, whole)?;
            if matches!(&e, Expr::Name(n) if n.name == "sigma") {
                return Err(Diagnostic::at(
                    factor.atom_span,
                    "`\\sigma` needs an argument",
                    "function without an argument",
                )
                .with_help("write its argument in parentheses: `\\sigma(z)`"));
            }
            return Ok(e);
        }
        if greek_ascii(c).is_some() {
            return self.name(factor, items, i, whole);
        }
        // A command chainrule reads, without the arguments it takes.
        let needs = match c {
            "frac" | "dfrac" | "tfrac" | "cfrac" => Some(("two arguments", "\\frac{a}{b}")),
            "sqrt" => Some(("an argument", "\\sqrt{x}")),
            "hat" | "widehat" | "bar" | "overline" | "tilde" | "widetilde" | "vec" => {
                Some(("an argument", "\\hat{y}"))
            }
            _ => None,
        };
        if let Some((arguments, example)) = needs {
            return Err(Diagnostic::at(
                factor.atom_span,
                format!("`\\{c}` needs {arguments}"),
                "arguments missing",
            )
            .with_help(format!("write its arguments in braces: `{example}`")));
        }
        Err(Diagnostic::at(
            factor.atom_span,
            format!("unsupported LaTeX command `\\{c}`"),
            "not understood",
        )
        .with_help(
            "chainrule reads \\frac, \\partial, \\sigma, \\tanh, \\exp, \\log, \\ln, \\sin, \
             \\cos, \\sqrt, \\max, \\min, \\pi, \\operatorname{…} (erf, GELU, …), \\cdot, \
             \\times, Greek letters, sub- and superscripts",
        ))
    }

    pub(super) fn has_prime(&self, factor: &Factor) -> bool {
        factor.scripts.iter().any(|s| matches!(s, Script::Prime(_)))
    }

    pub(super) fn word(
        &self,
        factor: &Factor,
        w: &str,
        items: &[Item],
        i: &mut usize,
        whole: Span,
    ) -> Result<Expr> {
        let model = self.names.model;
        // `\operatorname{max}(a, b)`, `max(a, b)`.
        if let Some(func) = Func2::from_name(w).filter(|_| model.lookup(w).is_none())
            && group_at(items, *i).is_some()
        {
            return self.apply2(func, factor, items, i);
        }
        // `sigmoid(z)`, `\text{ReLU}(z)`, `σ(z)`, `σ'(z)`.
        if let Some(func) = Func::from_name(w).filter(|_| model.lookup(w).is_none())
            && (group_at(items, *i).is_some() || self.has_prime(factor) || w != "σ")
        {
            return self.apply(func, factor, items, i, whole);
        }
        // `e` alone: Euler's number, unless the model has a name `e`.
        if w == "e" && factor.scripts.is_empty() && model.lookup("e").is_none() {
            let one = Expr::Number {
                text: "1".into(),
                span: factor.atom_span,
            };
            return Ok(call(Func::Exp, factor.atom_span, one));
        }
        // `e^{x}`: the exponential, unless the model has a name `e`.
        if w == "e"
            && model.lookup("e").is_none()
            && let [Script::Sup(arg)] = factor.scripts.as_slice()
        {
            let x = self.sum(&arg.items, arg.span)?;
            return Ok(Expr::Call {
                name: ident("exp", factor.atom_span),
                args: vec![x],
                span: factor.span(),
            });
        }
        match self.name(factor, items, i, whole) {
            Ok(e) => Ok(e),
            Err(first) => self.split_word(factor, w).ok_or(first),
        }
    }

    /// `xy` as `x·y` when the word is no name but each letter is (the last one takes the
    /// digits and scripts).
    pub(super) fn split_word(&self, factor: &Factor, w: &str) -> Option<Expr> {
        if !w.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let letters = w.trim_end_matches(|c: char| c.is_ascii_digit());
        // A long run of letters is a word, not a product of a dozen single-letter names.
        if letters.len() < 2 || letters.len() > 8 {
            return None;
        }
        let mut acc: Option<Expr> = None;
        let start = factor.atom_span.start;
        for (k, _) in letters.char_indices() {
            let last = k + 1 == letters.len();
            let (atom_text, scripts) = if last {
                (&w[k..], factor.scripts.clone())
            } else {
                (&w[k..k + 1], vec![])
            };
            let part = Factor {
                atom: Atom::Word(atom_text.to_string()),
                atom_span: Span::new(start + k, start + k + atom_text.len()),
                scripts,
            };
            let written = Written::from_factor(&part, self.text)?;
            let e = match self.names.resolve_parts(&written, part.span()).ok()? {
                (Resolved::Symbol(s), power) => {
                    let e = Expr::Name(ident(self.names.model.name(s), part.span()));
                    self.power(e, power).ok()?
                }
                _ => return None,
            };
            acc = Some(match acc {
                None => e,
                Some(lhs) => binary(BinOp::Mul, lhs, e),
            });
        }
        acc
    }

    pub(super) fn power(&self, e: Expr, power: Option<Arg>) -> Result<Expr> {
        match power {
            None => Ok(e),
            Some(arg) => {
                let exponent = self.sum(&arg.items, arg.span)?;
                Ok(binary(BinOp::Pow, e, exponent))
            }
        }
    }

    /// A name operand; the output name takes a following `(x)` as its argument.
    pub(super) fn name(
        &self,
        factor: &Factor,
        items: &[Item],
        i: &mut usize,
        whole: Span,
    ) -> Result<Expr> {
        let span = factor.span();
        let Some(written) = Written::from_factor(factor, self.text) else {
            return Err(double_script(factor));
        };
        if let Some(Script::Prime(p)) = factor
            .scripts
            .iter()
            .find(|s| matches!(s, Script::Prime(_)))
        {
            return Err(Diagnostic::at(
                *p,
                "a primed name is only the left side of an update rule",
                "prime",
            )
            .with_help(
                "write the new value as `w_3' = w_3 - \\eta \\frac{\\partial C}{\\partial w_3}`",
            ));
        }
        let _ = whole;
        let model = self.names.model;
        let (resolved, power) = self.names.resolve_parts(&written, span)?;
        let e = match resolved {
            Resolved::Symbol(s) => {
                let mut e = Expr::Name(ident(model.name(s), span));
                // `f(x)` for the declared output: the argument is the network's input.
                if Some(s) == model.output
                    && power.is_none()
                    && let Some(group) = group_at(items, *i)
                    && matches!(group.atom, Atom::Group(GroupKind::Paren, _))
                {
                    *i += 1;
                    let whole_span = span.to(group.atom_span);
                    e = Expr::Name(ident(model.name(s), whole_span));
                    let rest = Factor {
                        atom: Atom::Number(String::new()),
                        atom_span: whole_span,
                        scripts: group.scripts.clone(),
                    };
                    return self.scripts(e, &rest);
                }
                e
            }
            other => other.to_expr(model, span),
        };
        self.power(e, power)
    }
}

/// Whether a superscript is the transpose: `T`, `\top`, `\intercal`, `\mathsf{T}`, `⊤`.
fn is_transpose_mark(text: &str) -> bool {
    let bare: String = text
        .replace("\\mathsf", "")
        .replace("\\mathrm", "")
        .replace("\\!", "")
        .chars()
        .filter(|c| !matches!(c, '{' | '}' | ' '))
        .collect();
    matches!(bare.as_str(), "T" | "\\top" | "\\intercal" | "⊤")
}

/// The span from the first item to the last.
pub(super) fn items_span(items: &[Item]) -> Span {
    let span = |item: &Item| match item {
        Item::Op(_, s) => *s,
        Item::Factor(f) => f.span(),
    };
    match (items.first(), items.last()) {
        (Some(a), Some(b)) => span(a).to(span(b)),
        _ => Span::default(),
    }
}

/// The error for a name with two subscripts or two superscripts (`x^2^3`), at the second.
pub(super) fn double_script(factor: &Factor) -> Diagnostic {
    let second = |sup: bool| {
        factor
            .scripts
            .iter()
            .filter(|s| match s {
                Script::Sup(_) => sup,
                Script::Sub(_) => !sup,
                Script::Prime(_) => false,
            })
            .nth(1)
            .map(Script::span)
    };
    let (span, what) = match (second(true), second(false)) {
        (Some(span), _) => (span, "superscript"),
        (None, Some(span)) => (span, "subscript"),
        (None, None) => (factor.span(), "script"),
    };
    Diagnostic::at(span, format!("double {what}"), format!("a second {what}"))
        .with_help("put braces around the first part: `{x^{2}}^{3}`, `{w_{1}}_{2}`")
}

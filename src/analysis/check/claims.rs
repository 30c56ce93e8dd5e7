//! Reading a claim: splitting `LHS = RHS`, what the left side is about (a derivative `dC/dw3`
//! or `δ3`, an update `w3'` or `Δw3`, a name's value, the output called at a point, any
//! formula), parsing each side in the plain language or LaTeX, resolving names written in a
//! textbook's notation, and the formula the left side denotes in the model's names.

use crate::core::diff::{self, Target};
use crate::core::error::{Diagnostic, Input};
use crate::core::expr::{Id, Node, Partial, Sym};
use crate::core::model::Model;
use crate::core::model::SymKind;
use crate::core::simplify;
use crate::lang::ast::{Expr, Ident, Span};
use crate::lang::lower::{self, LowerFailure};
use crate::lang::syntax;

use super::optimizer::{OptimizerName, StateName};
use super::{Checker, RATE_NAMES};

/// What the left side of a claim says is claimed.
#[derive(Clone, Debug)]
pub(super) enum Subject {
    Derivative(Target),
    /// `w3' = ...`: the parameter after one step of gradient descent.
    Update(Sym),
    /// `w3'' = 0.28`: the parameter after `steps` (two or more) steps of gradient descent
    /// from the `--at` point, a number only.
    Steps {
        parameter: Sym,
        steps: usize,
    },
    /// `Δw3 = ...`: the change one step of gradient descent makes, −η ∂C/∂w3.
    Change(Sym),
    /// `a3 = ...`: a name.
    Name(Sym),
    /// `f(2) = ...`: the output with inputs set to values (input, value as written).
    OutputAt {
        output: Sym,
        bindings: Vec<(Sym, String)>,
    },
    /// Any other formula.
    Formula(Id),
    /// `v_w1 = beta*v_w1 + (1 - beta)*dC/dw1`, `m_hat_w1 = …`: an optimizer's state after one
    /// step (see `optimizer`).
    OptimizerState(StateName),
    /// `w1 <- w1 - eta*m_hat_w1/(sqrt(v_hat_w1) + eps)`: an update written with an
    /// optimizer's state or hyperparameters.
    OptimizerUpdate(Sym),
}

/// `LHS = RHS` split at the top-level `=` (or `←`, `:=`, `\leftarrow` for an update).
pub(super) struct Split<'a> {
    pub(super) lhs: &'a str,
    pub(super) rhs: &'a str,
    pub(super) rhs_offset: usize,
    pub(super) update_arrow: bool,
}

pub(super) fn split_claim(text: &str) -> Result<Split<'_>, Diagnostic> {
    for arrow in ["\\leftarrow", "←", ":=", "<-"] {
        if let Some(at) = text.find(arrow) {
            return Ok(Split {
                lhs: &text[..at],
                rhs: &text[at + arrow.len()..],
                rhs_offset: at + arrow.len(),
                update_arrow: true,
            });
        }
    }
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '=' if depth == 0 => {
                return Ok(Split {
                    lhs: &text[..i],
                    rhs: &text[i + 1..],
                    rhs_offset: i + 1,
                    update_arrow: false,
                });
            }
            _ => {}
        }
    }
    Err(Diagnostic::at(
        Span::new(0, text.len()),
        "a claim is `LEFT = RIGHT`",
        "no `=` here",
    )
    .with_help(
        "write e.g. `dC/dw3 = 2(a3 - y) a3(1 - a3) a2`, `a3 = 0.73` or `w3' = w3 - eta*dC/dw3`",
    ))
}

/// A name without its update marks, and how many steps they count: `w3''` and `w_3^{\prime\prime}`
/// are two, `w3^{new}` and `w3⁺` one.
fn strip_primes(written: &str) -> (&str, usize) {
    for one in ["^{new}", "_{new}", "^{+}", "^+", "⁺"] {
        if let Some(rest) = written.strip_suffix(one) {
            return (rest.trim_end(), 1);
        }
    }
    let mut rest = written;
    let mut primes = 0;
    for (marks, count) in [
        ("^{\\prime\\prime\\prime}", 3),
        ("^{\\prime\\prime}", 2),
        ("^{\\prime}", 1),
        ("^\\prime", 1),
    ] {
        if let Some(r) = rest.strip_suffix(marks) {
            rest = r;
            primes += count;
            break;
        }
    }
    loop {
        let count = match rest.chars().next_back() {
            Some('\'' | '′') => 1,
            Some('″') => 2,
            Some('‴') => 3,
            _ => break,
        };
        rest = &rest[..rest.len() - rest.chars().next_back().map_or(0, char::len_utf8)];
        primes += count;
    }
    (rest.trim_end(), primes)
}

pub(super) fn looks_latex(text: &str) -> bool {
    crate::lang::latex::looks_like_latex(text)
}

impl Checker {
    /// What the left side claims about.
    pub(super) fn subject(
        &mut self,
        lhs: &str,
        offset: usize,
        arrow: bool,
    ) -> Result<Subject, Diagnostic> {
        let trimmed = lhs.trim();
        let lead = offset + (lhs.len() - lhs.trim_start().len());
        let whole = Span::new(lead, lead + trimmed.len());
        // An update: `w3'`, `w3′`, `w_3^{\prime}`, or an arrow; `w3''` after two steps.
        let (unprimed, primes) = strip_primes(trimmed);
        let primed = primes > 0;
        // `Δw3`, `\Delta w_3`: the change of a parameter in one step.
        for delta in ["\\Delta", "Δ"] {
            if let Some(rest) = trimmed.strip_prefix(delta) {
                let name = rest.trim();
                let start = lead + (trimmed.len() - name.len());
                if let Ok(sym) = self.resolve_plain_name(name, start)
                    && self.model.symbol(sym).kind == SymKind::Param
                {
                    return Ok(Subject::Change(sym));
                }
            }
        }
        let latex_target = if trimmed.contains(['\'', '′']) || trimmed.contains("\\prime") {
            crate::lang::latex::parse_latex_update_target(&self.model, trimmed)
        } else {
            None
        };
        if arrow && let Some(state) = self.optimizer_state_named(unprimed) {
            return Ok(Subject::OptimizerState(state));
        }
        if primed || arrow || latex_target.is_some() {
            let (sym, primes) = match latex_target {
                Some((s, written)) => (s, written.max(primes)),
                None => (self.resolve_plain_name(unprimed, lead)?, primes),
            };
            if self.model.symbol(sym).kind != SymKind::Param {
                return Err(Diagnostic::at(
                    whole,
                    format!("`{}` is not a parameter", self.model.name(sym)),
                    "an update rule gives a parameter's new value",
                )
                .with_help("write the update of a parameter, e.g. `w3' = w3 - eta*dC/dw3`"));
            }
            if primes > 1 {
                return Ok(Subject::Steps {
                    parameter: sym,
                    steps: primes,
                });
            }
            return Ok(Subject::Update(sym));
        }
        // `f(2)`, `f(x)`: the declared output at a point.
        if let Some(output) = self.model.output {
            let name = self.model.name(output).to_string();
            if let Some(rest) = trimmed.strip_prefix(name.as_str())
                && let Some(inner) = rest
                    .trim_start()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
            {
                let inner_start = lead + trimmed.len() - 1 - inner.len();
                return self.output_call(output, inner, inner_start);
            }
        }
        let expr = self.parse_side(lhs, offset)?;
        Ok(match &expr {
            Expr::DerivRef { .. } | Expr::DerivOf { .. } | Expr::Name(_) => {
                let id = self.lower(&expr)?;
                match self.model.graph.node(id).clone() {
                    Node::Var(s) => match self.optimizer.get(s) {
                        Some(OptimizerName::State(state)) => Subject::OptimizerState(state),
                        _ => Subject::Name(s),
                    },
                    Node::Deriv(of, wrt, Partial::Total) => match self.model.graph.node(of) {
                        Node::Var(y) => Subject::Derivative(Target { of: *y, wrt }),
                        _ => Subject::Formula(id),
                    },
                    _ => Subject::Formula(id),
                }
            }
            _ => Subject::Formula(self.lower(&expr)?),
        })
    }

    /// `f(ARGS)`: the output with its inputs, in the order declared, set to the arguments. An
    /// argument is a number, the input's own name (left as it is), or another name given a
    /// value; anything else, or the wrong number of arguments, is an error at its place.
    fn output_call(&self, output: Sym, inner: &str, start: usize) -> Result<Subject, Diagnostic> {
        let name = self.model.name(output).to_string();
        let inputs: Vec<Sym> = self
            .model
            .syms()
            .filter(|&s| {
                self.model.symbol(s).kind == SymKind::Input
                    && s != self.rate
                    && !self.optimizer.contains(s)
            })
            .collect();
        let input_names: Vec<&str> = inputs.iter().map(|&s| self.model.name(s)).collect();
        // The arguments with their byte ranges in the claim.
        let mut args: Vec<(&str, Span)> = Vec::new();
        let mut at = 0;
        for piece in inner.split(',') {
            let lead = piece.len() - piece.trim_start().len();
            let text = piece.trim();
            let begin = start + at + lead;
            args.push((text, Span::new(begin, begin + text.len())));
            at += piece.len() + 1;
        }
        if args.len() == 1 && args[0].0.is_empty() {
            args.clear();
        }
        let whole = Span::new(start, start + inner.len());
        if args.len() != inputs.len() {
            return Err(Diagnostic::at(
                whole,
                format!(
                    "`{name}` takes {} argument{}, one per input ({})",
                    inputs.len(),
                    if inputs.len() == 1 { "" } else { "s" },
                    input_names.join(", ")
                ),
                format!(
                    "{} argument{} here",
                    args.len(),
                    if args.len() == 1 { "" } else { "s" }
                ),
            )
            .with_help(format!(
                "write `{name}({})`, or give the inputs with the point and claim `{name}` by name",
                input_names.join(", ")
            ))
            .about(Input::Point));
        }
        let mut bindings = Vec::new();
        for ((text, span), &input) in args.iter().zip(&inputs) {
            if text.parse::<f64>().is_ok() {
                bindings.push((input, text.to_string()));
                continue;
            }
            let is_name = !text.is_empty()
                && text
                    .chars()
                    .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '\\');
            match self.lookup(text) {
                Some(s) if s == input => {}
                Some(s) if self.model.symbol(s).kind.is_leaf() => {
                    let Some(g) = self.given.iter().find(|g| g.sym == s) else {
                        return Err(Diagnostic::at(
                            *span,
                            format!("`{text}` has no value here"),
                            "an argument of the output needs a value",
                        )
                        .with_help(format!("give `{text}` a value with the point"))
                        .about(Input::Point));
                    };
                    bindings.push((input, g.text.clone()));
                }
                None if is_name => {
                    let ident = Ident {
                        name: text.to_string(),
                        span: *span,
                    };
                    return Err(lower::unknown_name(
                        &ident,
                        self.model.symbols.iter().map(|s| &s.name),
                    ));
                }
                _ => {
                    return Err(Diagnostic::at(
                        *span,
                        format!("an argument of `{name}` is a number or an input's name"),
                        "not a number or a name with a value",
                    )
                    .with_help(format!(
                        "work the argument out first, e.g. `{name}(2)`, or give the inputs with the point"
                    ))
                    .about(Input::Point));
                }
            }
        }
        if bindings.is_empty() {
            return Ok(Subject::Name(output));
        }
        Ok(Subject::OutputAt { output, bindings })
    }

    /// The formula the left side denotes, in the model's names.
    pub(super) fn truth(&mut self, subject: &Subject) -> Id {
        match *subject {
            Subject::Derivative(target) => {
                let of = self.model.graph_var(target.of);
                self.derivative(of, target.wrt)
            }
            Subject::Update(theta) => {
                let gradient = self.gradient(theta);
                let g = &mut self.model.graph;
                let eta = g.var(self.rate);
                let step = g.product(vec![eta, gradient]);
                let theta = g.var(theta);
                let rule = g.sub(theta, step);
                let options = self.recognise_options();
                simplify::simplify(&mut self.model.graph, rule, &options)
            }
            // Not asked for: several steps are judged as a number (`steps_claim`), having no
            // formula short enough to show; the first step's is the nearest meaning.
            Subject::Steps { parameter, .. } => self.truth(&Subject::Update(parameter)),
            Subject::Change(theta) => {
                let gradient = self.gradient(theta);
                let g = &mut self.model.graph;
                let eta = g.var(self.rate);
                let step = g.product(vec![eta, gradient]);
                let change = g.neg(step);
                let options = self.recognise_options();
                simplify::simplify(&mut self.model.graph, change, &options)
            }
            Subject::Name(s) | Subject::OutputAt { output: s, .. } => self.model.graph_var(s),
            Subject::Formula(id) => diff::resolve_derivatives(&mut self.model, id),
            Subject::OptimizerState(state) => {
                let claimed = self.unresolved;
                self.state_truth(state, claimed)
            }
            Subject::OptimizerUpdate(theta) => {
                let claimed = self.unresolved;
                let moved = self.optimizer_move(theta, claimed, false, [false, false]);
                let rule = self.optimizer_update(theta, moved, claimed, false);
                let options = self.recognise_options();
                simplify::simplify(&mut self.model.graph, rule, &options)
            }
        }
    }

    /// The optimizer state a name written on the left of an arrow spells (`v_w1 <- …`).
    fn optimizer_state_named(&mut self, written: &str) -> Option<StateName> {
        if self.lookup(written).is_some() {
            return None;
        }
        let s = self.optimizer_name(written)?;
        match self.optimizer.get(s)? {
            OptimizerName::State(state) => Some(state),
            OptimizerName::Hyper(_) => None,
        }
    }

    /// A derivative in names, simplified; each taken once per checker (many claims of a
    /// worksheet ask about the same target, and diagnoses reuse the local derivatives).
    pub(super) fn derivative(&mut self, expr: Id, wrt: Sym) -> Id {
        if let Some(&d) = self.derivatives.get(&(expr, wrt)) {
            return d;
        }
        let d = diff::differentiate_expr(&mut self.model, expr, wrt);
        self.derivatives.insert((expr, wrt), d);
        d
    }

    pub(super) fn gradient(&mut self, wrt: Sym) -> Id {
        let cost = self.model.graph_var(self.model.cost);
        self.derivative(cost, wrt)
    }

    pub(super) fn resolve_plain_name(&self, name: &str, offset: usize) -> Result<Sym, Diagnostic> {
        let ident = Ident {
            name: name.to_string(),
            span: Span::new(offset, offset + name.len()),
        };
        if let Some(s) = self.lookup(name) {
            return Ok(s);
        }
        if let Some(s) = latex_resolve(&self.model, name) {
            return Ok(s);
        }
        Err(lower::unknown_name(
            &ident,
            self.model.symbols.iter().map(|s| &s.name),
        ))
    }

    pub(super) fn lookup(&self, name: &str) -> Option<Sym> {
        self.model
            .lookup(name)
            .or_else(|| RATE_NAMES.contains(&name).then_some(self.rate))
    }

    /// One side as a syntax tree: the plain language, or LaTeX as a textbook prints it.
    pub(super) fn parse_side(&mut self, text: &str, offset: usize) -> Result<Expr, Diagnostic> {
        let text = self.erase_output_arguments(text);
        let parsed = if looks_latex(&text) {
            self.latex_with_optimizer_names(&text)
        } else {
            syntax::parse_expr(&text)
        };
        parsed
            .map_err(|d| shifted(d, offset))
            .map(|e| shift_expr(e, offset))
    }

    /// LaTeX resolves its names as it reads them: a name it does not know that spells an
    /// optimizer's state or hyperparameter (`\hat{m}_{w_2}`, `\beta_1`) is made a name of the
    /// model, and the side read again.
    fn latex_with_optimizer_names(&mut self, text: &str) -> Result<Expr, Diagnostic> {
        loop {
            let error = match latex_parse(&self.model, text) {
                Ok(expr) => return Ok(expr),
                Err(error) => error,
            };
            let unknown = error
                .message
                .starts_with("unknown name")
                .then_some(error.span)
                .flatten()
                .and_then(|span| text.get(span.start..span.end));
            let before = self.model.symbols.len();
            match unknown.and_then(|written| self.optimizer_name(written)) {
                // A name made just now: read again. One already made did not resolve, so it
                // will not the next time either.
                Some(_) if self.model.symbols.len() > before => {}
                _ => return Err(error),
            }
        }
    }

    /// `f(x)` for the declared output `f` is the output itself: blank out the argument
    /// (keeping byte offsets, so error carets still point at the right spot).
    pub(super) fn erase_output_arguments(&self, text: &str) -> String {
        let Some(output) = self.model.output else {
            return text.to_string();
        };
        let name = self.model.name(output);
        let mut out = text.to_string();
        let mut search = 0;
        while let Some(found) = out[search..].find(name) {
            let start = search + found;
            let end = start + name.len();
            let boundary_before = out[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '\\'));
            let rest = &out[end..];
            let open = rest.len() - rest.trim_start().len();
            if boundary_before && rest.trim_start().starts_with('(') {
                let open_at = end + open;
                // `f(x)`, `f(w, x)`, `f(2)` call the output; `f(1 - f)` multiplies it.
                let inner_end = out[open_at..].find(')').map(|i| open_at + i);
                let is_call = inner_end.is_some_and(|close| {
                    out[open_at + 1..close].split(',').all(|piece| {
                        let piece = piece.trim();
                        piece.parse::<f64>().is_ok()
                            || self
                                .model
                                .lookup(piece)
                                .is_some_and(|s| self.model.symbol(s).kind.is_leaf())
                            || (piece.len() == 1 && piece.chars().all(|c| c.is_ascii_alphabetic()))
                    })
                });
                if !is_call {
                    search = end;
                    continue;
                }
                let mut depth = 0;
                let mut close = None;
                for (i, c) in out[open_at..].char_indices() {
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                close = Some(open_at + i);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(close) = close {
                    let blank = " ".repeat(close + 1 - end);
                    out.replace_range(end..=close, &blank);
                }
            }
            search = end;
        }
        out
    }

    pub(super) fn lower(&mut self, expr: &Expr) -> Result<Id, Diagnostic> {
        let cost = self.model.cost;
        let rate = self.rate;
        let symbols = &self.model.symbols;
        let lookup = |name: &str| -> Option<Sym> {
            symbols
                .iter()
                .position(|s| s.name == name)
                .map(|i| Sym(i as u32))
                .or_else(|| RATE_NAMES.contains(&name).then_some(rate))
        };
        let delta_of = |name: &str| -> Option<Sym> {
            let rest = name
                .strip_prefix("delta")
                .or_else(|| name.strip_prefix('δ'))?;
            let rest = rest.strip_prefix('_').unwrap_or(rest);
            // `delta` alone is ∂C/∂z for a network with one `z`.
            lookup(&format!("z{rest}"))
                .filter(|&z| symbols[z.index()].kind == SymKind::Intermediate)
        };
        let result = lower::lower_expr_with(&mut self.model.graph, expr, &mut |graph, ident| {
            if let Some(s) = lookup(&ident.name) {
                return Ok(graph.var(s));
            }
            if let Some(z) = delta_of(&ident.name) {
                let c = graph.var(cost);
                return Ok(graph.deriv(c, z));
            }
            Err(ident.clone())
        });
        match result {
            Ok(id) => Ok(id),
            Err(LowerFailure::Error(d)) => Err(d),
            Err(LowerFailure::Name(ident)) => {
                // The default display rule read backwards (`a_2` is `a2`), then give up.
                let squeezed: String = ident
                    .name
                    .chars()
                    .filter(|&c| c != '_' && c != '{' && c != '}')
                    .collect();
                let found = lookup(&squeezed).or_else(|| latex_resolve(&self.model, &ident.name));
                if let Some(s) = found.or_else(|| self.optimizer_name(&ident.name)) {
                    let renamed = rename(expr, &ident.name, self.model.name(s));
                    return self.lower(&renamed);
                }
                Err(lower::unknown_name(
                    &ident,
                    self.model.symbols.iter().map(|s| &s.name),
                ))
            }
        }
    }

    pub(super) fn mentions_any_name(&self, id: Id) -> bool {
        self.model
            .graph
            .reachable(&[id])
            .iter()
            .any(|&n| matches!(self.model.graph.node(n), Node::Var(_) | Node::Deriv(..)))
    }
}

/// Renames every occurrence of a name in an expression.
pub(super) fn rename(expr: &Expr, from: &str, to: &str) -> Expr {
    expr.mapped(
        &|i: &Ident| Ident {
            name: if i.name == from { to } else { &i.name }.to_string(),
            span: i.span,
        },
        &|span| span,
    )
}

pub(super) fn shift_span(s: Span, offset: usize) -> Span {
    Span::new(s.start + offset, s.end + offset)
}

pub(super) fn shifted(mut d: Diagnostic, offset: usize) -> Diagnostic {
    d.span = d.span.map(|s| shift_span(s, offset));
    for n in &mut d.notes {
        n.span = shift_span(n.span, offset);
    }
    d
}

pub(super) fn shift_expr(expr: Expr, offset: usize) -> Expr {
    expr.mapped(
        &|i: &Ident| Ident {
            name: i.name.clone(),
            span: shift_span(i.span, offset),
        },
        &|span| shift_span(span, offset),
    )
}

/// The resolution of a claimed number: 0.73 claims two decimals, so anything that rounds
/// to it matches; `None` for integers and formulas, which are compared (nearly) exactly.
pub(super) fn literal_digits(expr: &Expr) -> Option<(f64, String)> {
    use crate::lang::ast::BinOp;
    match expr {
        Expr::Number { text, .. } => number_digits(text, 0),
        Expr::Neg { operand, .. } => literal_digits(operand),
        // 8.22 \times 10^{-2}, 8.22·10^-2: scientific notation as books print it.
        Expr::Binary {
            op: BinOp::Mul,
            lhs,
            rhs,
            ..
        } => {
            let Expr::Number { text, .. } = lhs.as_ref() else {
                return None;
            };
            let Expr::Binary {
                op: BinOp::Pow,
                lhs: base,
                rhs: power,
                ..
            } = rhs.as_ref()
            else {
                return None;
            };
            if !matches!(base.as_ref(), Expr::Number { text, .. } if text == "10") {
                return None;
            }
            let exponent = match power.as_ref() {
                Expr::Number { text, .. } => text.parse::<i32>().ok()?,
                Expr::Neg { operand, .. } => match operand.as_ref() {
                    Expr::Number { text, .. } => -text.parse::<i32>().ok()?,
                    _ => return None,
                },
                _ => return None,
            };
            number_digits(text, exponent)
        }
        _ => None,
    }
}

/// The unit of the last digit of a decimal written with a point (`0.73` → 0.01), scaled by
/// 10^`scale`; `None` for integers, which claim an exact value.
pub(super) fn number_digits(text: &str, scale: i32) -> Option<(f64, String)> {
    let lower = text.to_ascii_lowercase();
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (lower.as_str(), 0),
    };
    let decimals = mantissa.split_once('.').map(|(_, f)| f.len() as i32)?;
    let power = exponent + scale - decimals;
    Some((10f64.powi(power), format!("1e{power}")))
}

/// A name written as LaTeX or in a textbook's notation (`a_2`, `a^{(2)}`, a display form),
/// resolved to one of the model's names.
pub(super) fn latex_resolve(model: &Model, written: &str) -> Option<Sym> {
    match crate::lang::latex::resolve_name(model, written) {
        Ok(crate::lang::latex::Resolved::Symbol(s)) => Some(s),
        _ => None,
    }
}

/// One side of a claim written in LaTeX.
pub(super) fn latex_parse(model: &Model, text: &str) -> Result<Expr, Diagnostic> {
    crate::lang::latex::parse_latex(model, text)
}

//! Tokens and groups of a LaTeX formula, owned: pest's pairs of `grammar/latex.pest` become
//! items (operators and factors with their sub- and superscripts) and do not leave this file.

use super::*;

#[derive(pest_derive::Parser)]
#[grammar = "grammar/latex.pest"]
pub(super) struct LatexParser;

// ---------------------------------------------------------------------------------------
// Tokens and groups, owned (pest's pairs do not leave this section)
// ---------------------------------------------------------------------------------------

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Plus,
    Minus,
    Times,
    /// `\odot`: entry by entry.
    Hadamard,
    Divide,
    Comma,
}

#[derive(Clone, Debug)]
pub(super) enum Item {
    Op(Op, Span),
    Factor(Factor),
}

/// An operand with its scripts.
#[derive(Clone, Debug)]
pub(super) struct Factor {
    pub(super) atom: Atom,
    pub(super) atom_span: Span,
    pub(super) scripts: Vec<Script>,
}

impl Factor {
    pub(super) fn span(&self) -> Span {
        self.scripts
            .iter()
            .fold(self.atom_span, |span, s| span.to(s.span()))
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum GroupKind {
    Brace,
    Paren,
    Bracket,
}

#[derive(Clone, Debug)]
pub(super) enum Atom {
    Number(String),
    /// Letters then digits (`out`, `a3`), a Greek letter with digits (`δ3`), or a font's text
    /// (`\mathrm{d}`, `\text{ReLU}`).
    Word(String),
    /// A control word without its backslash (`sigma`, `eta`, `tanh`, `partial`).
    Command(String),
    Partial,
    Group(GroupKind, Vec<Item>),
    Frac(Arg, Arg),
    Sqrt(Option<Vec<Item>>, Arg),
    Abs(Vec<Item>),
}

/// A script's or a fraction's argument: its items and its source text.
#[derive(Clone, Debug)]
pub(super) struct Arg {
    pub(super) items: Vec<Item>,
    pub(super) span: Span,
    pub(super) text: String,
}

#[derive(Clone, Debug)]
pub(super) enum Script {
    Sub(Arg),
    Sup(Arg),
    Prime(Span),
}

impl Script {
    pub(super) fn span(&self) -> Span {
        match self {
            Script::Sub(a) | Script::Sup(a) => a.span,
            Script::Prime(s) => *s,
        }
    }
}

pub(super) fn parse_items(text: &str) -> Result<Vec<Item>> {
    precheck(text)?;
    let mut pairs = LatexParser::parse(Rule::formula, text).map_err(|e| syntax_error(text, e))?;
    let formula = pairs.next().ok_or_else(|| internal(text))?;
    let expr = formula
        .into_inner()
        .find(|p| p.as_rule() == Rule::expr)
        .ok_or_else(|| internal(text))?;
    items_of(expr)
}

pub(super) fn parse_name_only(text: &str) -> Result<Factor> {
    precheck(text)?;
    let mut pairs = LatexParser::parse(Rule::name_only, text).map_err(|e| syntax_error(text, e))?;
    let whole = pairs.next().ok_or_else(|| internal(text))?;
    let factor = whole
        .into_inner()
        .find(|p| p.as_rule() == Rule::factor)
        .ok_or_else(|| internal(text))?;
    factor_of(factor)
}

pub(super) fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

pub(super) fn items_of(expr: Pair<'_, Rule>) -> Result<Vec<Item>> {
    let mut items = vec![];
    for p in expr.into_inner() {
        let span = span_of(&p);
        let op = match p.as_rule() {
            Rule::plus => Op::Plus,
            Rule::minus => Op::Minus,
            Rule::times => Op::Times,
            Rule::hadamard => Op::Hadamard,
            Rule::divide => Op::Divide,
            Rule::comma => Op::Comma,
            _ => {
                items.extend(factors_of(p)?.into_iter().map(Item::Factor));
                continue;
            }
        };
        items.push(Item::Op(op, span));
    }
    Ok(items)
}

/// A `factor` pair that is one factor (a name with its decorations); a command without all
/// its arguments (`\frac{a}`) is not.
pub(super) fn factor_of(pair: Pair<'_, Rule>) -> Result<Factor> {
    let whole = span_of(&pair);
    let mut factors = factors_of(pair)?;
    if let [_, next, ..] = factors.as_slice() {
        return Err(Diagnostic::at(
            next.atom_span,
            "cannot read the LaTeX formula here",
            "unexpected here",
        ));
    }
    factors.pop().ok_or_else(|| internal_at(whole))
}

/// The factors of a `factor` pair: one; or, for a command written without all its arguments
/// (`\frac{a}`, `\sqrt[3]`, `\hat`), the command and each group it has as factors side by
/// side, the scripts on the last, as a control word followed by groups reads (and as the
/// builder refuses, naming the arguments the command needs).
pub(super) fn factors_of(pair: Pair<'_, Rule>) -> Result<Vec<Factor>> {
    let whole = span_of(&pair);
    let mut inner = pair.into_inner();
    let atom = inner.next().ok_or_else(|| internal_at(whole))?;
    let atoms = if lacks_arguments(&atom) {
        atom.into_inner()
            .map(part_atom)
            .collect::<Result<Vec<_>>>()?
    } else {
        let span = span_of(&atom);
        vec![(atom_of(atom)?, span)]
    };
    let scripts = inner
        .map(|s| {
            let span = span_of(&s);
            Ok(match s.as_rule() {
                Rule::prime => Script::Prime(span),
                rule => {
                    let arg = s.into_inner().next().ok_or_else(|| internal_at(span))?;
                    let arg = arg_of(arg)?;
                    let arg = Arg { span, ..arg };
                    if rule == Rule::sub {
                        Script::Sub(arg)
                    } else if is_prime_text(&arg.text) {
                        // `^{\prime}`, `^'`: a prime written as a superscript.
                        Script::Prime(span)
                    } else {
                        Script::Sup(arg)
                    }
                }
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut factors: Vec<Factor> = atoms
        .into_iter()
        .map(|(atom, atom_span)| Factor {
            atom,
            atom_span,
            scripts: vec![],
        })
        .collect();
    if let Some(last) = factors.last_mut() {
        last.scripts = scripts;
    }
    Ok(factors)
}

/// Whether an atom is a command that takes arguments written without all of them.
fn lacks_arguments(atom: &Pair<'_, Rule>) -> bool {
    let parts = atom.clone().into_inner();
    match atom.as_rule() {
        Rule::frac => parts.count() < 3,
        Rule::sqrt => !parts
            .into_iter()
            .any(|p| matches!(p.as_rule(), Rule::brace | Rule::single)),
        Rule::accent | Rule::font => parts.count() < 2,
        _ => false,
    }
}

/// A part of a command without all its arguments, as the atom it reads as on its own: the
/// command a control word, `[3]` a bracket, a braced group a group, one token its atom.
fn part_atom(part: Pair<'_, Rule>) -> Result<(Atom, Span)> {
    let span = span_of(&part);
    let atom = match part.as_rule() {
        Rule::sqrt_index => {
            let expr = part.into_inner().next().ok_or_else(|| internal_at(span))?;
            Atom::Group(GroupKind::Bracket, items_of(expr)?)
        }
        Rule::brace => atom_of(part)?,
        Rule::single => single_atom(part.as_str()),
        _ => command_atom(&part.as_str()[1..]),
    };
    Ok((atom, span))
}

/// A `brace` or `single` pair as an argument.
pub(super) fn arg_of(pair: Pair<'_, Rule>) -> Result<Arg> {
    let span = span_of(&pair);
    let text = pair.as_str().to_string();
    let items = match pair.as_rule() {
        Rule::brace => {
            let expr = pair.into_inner().next().ok_or_else(|| internal_at(span))?;
            items_of(expr)?
        }
        _ => vec![Item::Factor(Factor {
            atom: single_atom(&text),
            atom_span: span,
            scripts: vec![],
        })],
    };
    Ok(Arg { items, span, text })
}

/// The atom of a one-token argument (`2`, `x`, `η`, `\eta`).
pub(super) fn single_atom(token: &str) -> Atom {
    if let Some(command) = token.strip_prefix('\\') {
        command_atom(command)
    } else if token.chars().all(|c| c.is_ascii_digit()) {
        Atom::Number(token.to_string())
    } else {
        Atom::Word(token.to_string())
    }
}

pub(super) fn command_atom(command: &str) -> Atom {
    if command == "partial" {
        Atom::Partial
    } else {
        Atom::Command(command.to_string())
    }
}

pub(super) fn atom_of(pair: Pair<'_, Rule>) -> Result<Atom> {
    let span = span_of(&pair);
    let rule = pair.as_rule();
    let text = pair.as_str();
    Ok(match rule {
        Rule::number => Atom::Number(text.to_string()),
        Rule::word | Rule::greek_word => Atom::Word(text.to_string()),
        Rule::command => command_atom(&text[1..]),
        Rule::partial_char => Atom::Partial,
        Rule::brace | Rule::paren | Rule::bracket => {
            let kind = match rule {
                Rule::brace => GroupKind::Brace,
                Rule::paren => GroupKind::Paren,
                _ => GroupKind::Bracket,
            };
            let expr = pair.into_inner().next().ok_or_else(|| internal_at(span))?;
            Atom::Group(kind, items_of(expr)?)
        }
        Rule::abs | Rule::bar_abs => {
            let expr = pair
                .into_inner()
                .find(|p| matches!(p.as_rule(), Rule::expr | Rule::expr_nobar))
                .ok_or_else(|| internal_at(span))?;
            Atom::Abs(items_of(expr)?)
        }
        Rule::frac => {
            let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::frac_cmd);
            let num = arg_of(inner.next().ok_or_else(|| internal_at(span))?)?;
            let den = arg_of(inner.next().ok_or_else(|| internal_at(span))?)?;
            Atom::Frac(num, den)
        }
        Rule::sqrt => {
            let mut index = None;
            let mut radicand = None;
            for p in pair.into_inner() {
                match p.as_rule() {
                    Rule::sqrt_cmd => {}
                    Rule::sqrt_index => {
                        let s = span_of(&p);
                        let expr = p.into_inner().next().ok_or_else(|| internal_at(s))?;
                        index = Some(items_of(expr)?);
                    }
                    _ => radicand = Some(arg_of(p)?),
                }
            }
            Atom::Sqrt(index, radicand.ok_or_else(|| internal_at(span))?)
        }
        Rule::accent => {
            let mut inner = pair.into_inner();
            let cmd = inner.next().ok_or_else(|| internal_at(span))?;
            let arg = inner.next().ok_or_else(|| internal_at(span))?;
            let letter = normalize(arg.as_str());
            if letter.is_empty() || !letter.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(Diagnostic::at(
                    span,
                    format!("`{}` over a formula is not understood", cmd.as_str()),
                    "only a decorated letter is a name",
                ));
            }
            // `\hat{y}` is the name `yhat` (`\widehat` and `\overline` as `hat` and `bar`).
            let decoration = match &cmd.as_str()[1..] {
                "widehat" => "hat",
                "overline" => "bar",
                "widetilde" => "tilde",
                other => other,
            };
            Atom::Word(format!("{letter}{decoration}"))
        }
        Rule::font => {
            let content = pair
                .into_inner()
                .find(|p| !matches!(p.as_rule(), Rule::font_cmd | Rule::font_switch))
                .ok_or_else(|| internal_at(span))?;
            match content.as_rule() {
                Rule::font_text => {
                    Atom::Word(content.as_str().split_whitespace().collect::<String>())
                }
                _ => {
                    let s = span_of(&content);
                    let expr = content.into_inner().next().ok_or_else(|| internal_at(s))?;
                    Atom::Group(GroupKind::Brace, items_of(expr)?)
                }
            }
        }
        _ => return Err(internal_at(span)),
    })
}

/// Whether a superscript is only primes: `'`, `\prime`, `{\prime\prime}`.
pub(super) fn is_prime_text(text: &str) -> bool {
    let t = normalize(text);
    !t.is_empty()
        && t.replace("\\prime", "'")
            .chars()
            .all(|c| c == '\'' || c == '′')
}

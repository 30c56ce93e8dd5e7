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
use crate::core::expr::{Func, Sym};
use crate::core::model::Model;
use crate::lang::ast::{BinOp, Expr, Ident, Span};
use crate::lang::names::{default_name_latex, greek_ascii};

#[derive(pest_derive::Parser)]
#[grammar = "grammar/latex.pest"]
struct LatexParser;

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

// ---------------------------------------------------------------------------------------
// Tokens and groups, owned (pest's pairs do not leave this section)
// ---------------------------------------------------------------------------------------

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Op {
    Plus,
    Minus,
    Times,
    Divide,
    Comma,
}

#[derive(Clone, Debug)]
enum Item {
    Op(Op, Span),
    Factor(Factor),
}

/// An operand with its scripts.
#[derive(Clone, Debug)]
struct Factor {
    atom: Atom,
    atom_span: Span,
    scripts: Vec<Script>,
}

impl Factor {
    fn span(&self) -> Span {
        self.scripts
            .iter()
            .fold(self.atom_span, |span, s| span.to(s.span()))
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum GroupKind {
    Brace,
    Paren,
    Bracket,
}

#[derive(Clone, Debug)]
enum Atom {
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
struct Arg {
    items: Vec<Item>,
    span: Span,
    text: String,
}

#[derive(Clone, Debug)]
enum Script {
    Sub(Arg),
    Sup(Arg),
    Prime(Span),
}

impl Script {
    fn span(&self) -> Span {
        match self {
            Script::Sub(a) | Script::Sup(a) => a.span,
            Script::Prime(s) => *s,
        }
    }
}

fn parse_items(text: &str) -> Result<Vec<Item>> {
    precheck(text)?;
    let mut pairs = LatexParser::parse(Rule::formula, text).map_err(|e| syntax_error(text, e))?;
    let formula = pairs.next().ok_or_else(|| internal(text))?;
    let expr = formula
        .into_inner()
        .find(|p| p.as_rule() == Rule::expr)
        .ok_or_else(|| internal(text))?;
    items_of(expr)
}

fn parse_name_only(text: &str) -> Result<Factor> {
    precheck(text)?;
    let mut pairs = LatexParser::parse(Rule::name_only, text).map_err(|e| syntax_error(text, e))?;
    let whole = pairs.next().ok_or_else(|| internal(text))?;
    let factor = whole
        .into_inner()
        .find(|p| p.as_rule() == Rule::factor)
        .ok_or_else(|| internal(text))?;
    factor_of(factor)
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

fn items_of(expr: Pair<'_, Rule>) -> Result<Vec<Item>> {
    expr.into_inner()
        .map(|p| {
            let span = span_of(&p);
            Ok(match p.as_rule() {
                Rule::plus => Item::Op(Op::Plus, span),
                Rule::minus => Item::Op(Op::Minus, span),
                Rule::times => Item::Op(Op::Times, span),
                Rule::divide => Item::Op(Op::Divide, span),
                Rule::comma => Item::Op(Op::Comma, span),
                _ => Item::Factor(factor_of(p)?),
            })
        })
        .collect()
}

fn factor_of(pair: Pair<'_, Rule>) -> Result<Factor> {
    let whole = span_of(&pair);
    let mut inner = pair.into_inner();
    let atom = inner.next().ok_or_else(|| internal_at(whole))?;
    let atom_span = span_of(&atom);
    let atom = atom_of(atom)?;
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
    Ok(Factor {
        atom,
        atom_span,
        scripts,
    })
}

/// A `brace` or `single` pair as an argument.
fn arg_of(pair: Pair<'_, Rule>) -> Result<Arg> {
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
fn single_atom(token: &str) -> Atom {
    if let Some(command) = token.strip_prefix('\\') {
        command_atom(command)
    } else if token.chars().all(|c| c.is_ascii_digit()) {
        Atom::Number(token.to_string())
    } else {
        Atom::Word(token.to_string())
    }
}

fn command_atom(command: &str) -> Atom {
    if command == "partial" {
        Atom::Partial
    } else {
        Atom::Command(command.to_string())
    }
}

fn atom_of(pair: Pair<'_, Rule>) -> Result<Atom> {
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
                .find(|p| p.as_rule() != Rule::font_cmd)
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
fn is_prime_text(text: &str) -> bool {
    let t = normalize(text);
    !t.is_empty()
        && t.replace("\\prime", "'")
            .chars()
            .all(|c| c == '\'' || c == '′')
}

// ---------------------------------------------------------------------------------------
// Errors before and from pest
// ---------------------------------------------------------------------------------------

/// Refuses over-long input and input that nests deeper than [`MAX_NESTING`] before pest sees
/// it (pest and the builder recurse per level), and names an unbalanced delimiter precisely.
fn precheck(text: &str) -> Result<()> {
    if text.len() > MAX_LENGTH {
        return Err(Diagnostic::at(
            Span::new(MAX_LENGTH, text.len()),
            format!("the formula is too long: more than {MAX_LENGTH} bytes"),
            "too long from here",
        )
        .with_help("name parts of it as intermediates in the program"));
    }
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // `\{` and `\}` group like `{` and `}`; `\(`, `\|`, `\,` and the like are escaped
        // characters or spacing, not delimiters.
        let c = match (c, chars.peek()) {
            ('\\', Some(&(_, b @ ('{' | '}')))) => {
                chars.next();
                b
            }
            _ => c,
        };
        if c == '\\' {
            if chars.next_if(|&(_, c)| !c.is_ascii_alphabetic()).is_none() {
                let word: String = std::iter::from_fn(|| {
                    chars
                        .next_if(|&(_, c)| c.is_ascii_alphabetic())
                        .map(|x| x.1)
                })
                .collect();
                match word.as_str() {
                    "lvert" => open.push(('|', i)),
                    "rvert" => {
                        open.pop();
                    }
                    _ => {}
                }
            }
        } else if matches!(c, '{' | '(' | '[') {
            open.push((c, i));
        } else if let Some(want) = match c {
            '}' => Some('{'),
            ')' => Some('('),
            ']' => Some('['),
            _ => None,
        } {
            match open.last() {
                Some(&(top, _)) if top == want => {
                    open.pop();
                }
                Some(&(top, at)) if top != '|' => {
                    return Err(Diagnostic::at(
                        Span::new(i, i + 1),
                        format!("`{c}` does not close the `{top}` before it"),
                        "mismatched",
                    )
                    .with_note(Span::new(at, at + 1), format!("this `{top}` is still open")));
                }
                _ => {
                    return Err(Diagnostic::at(
                        Span::new(i, i + 1),
                        format!("unmatched `{c}`"),
                        "nothing opened it",
                    ));
                }
            }
        }
        if open.len() > MAX_NESTING {
            return Err(Diagnostic::at(
                Span::new(i, i + c.len_utf8()),
                format!("formula nested too deeply: more than {MAX_NESTING} levels"),
                "nested too deeply here",
            ));
        }
    }
    if let Some(&(c, at)) = open.iter().find(|(c, _)| *c != '|') {
        let close = match c {
            '{' => '}',
            '(' => ')',
            _ => ']',
        };
        return Err(Diagnostic::at(
            Span::new(at, at + 1),
            format!("unclosed `{c}`"),
            format!("this `{c}` is never closed"),
        )
        .with_help(format!("add a `{close}`")));
    }
    Ok(())
}

fn syntax_error(text: &str, err: pest::error::Error<Rule>) -> Diagnostic {
    let mut pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    match text[pos..].chars().next() {
        None => Diagnostic::at(
            Span::new(pos, pos),
            "the LaTeX formula ends too early",
            "something is missing here",
        ),
        Some(c) => {
            let found = if c == '\\' {
                let word: String = text[pos + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                format!("\\{word}")
            } else {
                c.to_string()
            };
            Diagnostic::at(
                Span::new(pos, pos + found.len()),
                format!("cannot read the LaTeX formula at `{found}`"),
                "unexpected here",
            )
            .with_help(
                "write operands and operators: `\\frac{a}{b}`, `x^{2}`, `w_{3}`, `\\sigma(z)`, \
                 `\\cdot`, `+`, `-`",
            )
        }
    }
}

fn internal(text: &str) -> Diagnostic {
    internal_at(Span::new(0, text.len()))
}

fn internal_at(span: Span) -> Diagnostic {
    Diagnostic::at(
        span,
        "internal error: the LaTeX reader met a shape it does not know",
        "here",
    )
    .with_help("please report this input as a bug")
}

// ---------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------

/// A script's text compared loosely: no spaces, no braces, no font commands; Greek letters
/// spelt out (`{\alpha}` and `α` are both `alpha`).
fn normalize(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' | ' ' | '\t' | '~' => {}
            '\\' => {
                let word: String =
                    std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_alphabetic())).collect();
                if word.is_empty() {
                    // `\,` and the like: spacing.
                    chars.next_if(|c| matches!(c, ',' | ';' | ':' | '!' | ' ' | '>'));
                } else if matches!(
                    word.as_str(),
                    "mathrm"
                        | "mathit"
                        | "mathbf"
                        | "mathsf"
                        | "text"
                        | "textrm"
                        | "textit"
                        | "operatorname"
                        | "boldsymbol"
                        | "left"
                        | "right"
                ) {
                } else if greek_ascii(&word).is_some() {
                    out.push_str(&word);
                } else {
                    out.push('\\');
                    out.push_str(&word);
                }
            }
            c => match greek_ascii(&c.to_string()) {
                Some(ascii) => out.push_str(ascii),
                None => out.push(c),
            },
        }
    }
    out
}

/// A name's structure for comparison: base (Greek spelt out), subscripts joined by `,`
/// (trailing digits of the base first), and the superscript, all [`normalize`]d.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    base: String,
    sub: String,
    sup: String,
}

impl Key {
    fn loose(&self) -> Key {
        Key {
            base: self.base.clone(),
            sub: self.sub.replace(',', ""),
            sup: self.sup.clone(),
        }
    }
}

fn join_subs(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

/// A name as written: its base as written and canonical, and its scripts.
#[derive(Clone, Debug)]
struct Written {
    /// `out`, `η`, `eta` (from `\eta`), `E`.
    raw: String,
    /// Letters of the base, Greek spelt out: `out`, `eta`.
    base: String,
    /// Trailing digits of a word (`a3` -> `3`).
    digits: String,
    sub: String,
    sup: String,
    sup_arg: Option<Arg>,
    primes: usize,
    /// What was written, for messages.
    shown: String,
}

impl Written {
    /// A factor that can be a name: a word, a Greek command or a Greek letter with scripts.
    /// `None` for anything else, or a name with two subscripts or two superscripts.
    fn from_factor(factor: &Factor, text: &str) -> Option<Written> {
        let raw = match &factor.atom {
            Atom::Word(w) => w.clone(),
            Atom::Command(c) if greek_ascii(c).is_some() => c.clone(),
            _ => return None,
        };
        let mut w = Written::from_word(&raw);
        let span = factor.span();
        w.shown = text
            .get(span.start..span.end)
            .unwrap_or(raw.as_str())
            .to_string();
        for script in &factor.scripts {
            match script {
                Script::Sub(arg) if w.sub.is_empty() => w.sub = normalize(&arg.text),
                Script::Sup(arg) if w.sup_arg.is_none() => {
                    w.sup = normalize(&arg.text);
                    w.sup_arg = Some(arg.clone());
                }
                Script::Prime(_) => w.primes += 1,
                _ => return None,
            }
        }
        // `w^{(3)\prime}`: primes at the end of a layer superscript.
        while let Some(rest) = w
            .sup
            .strip_suffix("\\prime")
            .or_else(|| w.sup.strip_suffix('\''))
            .filter(|rest| rest.ends_with(')') || rest.ends_with(']'))
        {
            w.sup = rest.to_string();
            w.primes += 1;
        }
        Some(w)
    }

    fn from_word(raw: &str) -> Written {
        let letters = raw.trim_end_matches(|c: char| c.is_ascii_digit());
        let digits = &raw[letters.len()..];
        let base = greek_ascii(letters).unwrap_or(letters).to_string();
        Written {
            raw: raw.to_string(),
            base,
            digits: digits.to_string(),
            sub: String::new(),
            sup: String::new(),
            sup_arg: None,
            primes: 0,
            shown: raw.to_string(),
        }
    }

    /// The layer of `a^{(2)}`, `a^{[2]}`.
    fn layer(&self) -> Option<&str> {
        let s = &self.sup;
        s.strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .or_else(|| s.strip_prefix('[').and_then(|s| s.strip_suffix(']')))
            .filter(|l| !l.is_empty())
    }

    fn key(&self, layer: Option<&str>, with_sup: bool) -> Key {
        Key {
            base: self.base.clone(),
            sub: join_subs(&[&self.digits, layer.unwrap_or(""), &self.sub]),
            sup: if with_sup {
                self.sup.clone()
            } else {
                String::new()
            },
        }
    }

    /// The plain names this could be: the parts joined by `_` or run together
    /// (`E_{total}` -> `E_total`, `Etotal`; `out_{o1}` -> `out_o1`, `outo1`).
    fn plain_names(&self, layer: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        let letters = self.raw.trim_end_matches(|c: char| c.is_ascii_digit());
        let bases = [letters.to_string(), self.base.clone()];
        for base in &bases {
            let first = format!("{base}{}", self.digits);
            let subs: Vec<&str> = layer
                .into_iter()
                .chain(self.sub.split(',').filter(|s| !s.is_empty()))
                .collect();
            let mut underscored = first.clone();
            let mut together = first.clone();
            for s in &subs {
                underscored.push('_');
                underscored.push_str(s);
                together.push_str(s);
            }
            out.push(underscored);
            out.push(together);
        }
        out.dedup();
        out
    }
}

/// The model's names with their keys, built once per model.
pub struct Names<'m> {
    model: &'m Model,
    display: Vec<Option<Key>>,
    default: Vec<Option<Key>>,
}

/// The outcome of looking a key up.
enum Lookup<T = Sym> {
    Found(T),
    Ambiguous(Vec<Sym>),
    Missing,
}

impl<'m> Names<'m> {
    pub fn new(model: &'m Model) -> Names<'m> {
        let key_of = |latex: &str| -> Option<Key> {
            let factor = parse_name_only(latex).ok()?;
            let w = Written::from_factor(&factor, latex)?;
            Some(w.key(None, true))
        };
        let display = model
            .symbols
            .iter()
            .map(|s| s.display.as_deref().and_then(key_of))
            .collect();
        let default = model
            .symbols
            .iter()
            .map(|s| key_of(&default_name_latex(&s.name)))
            .collect();
        Names {
            model,
            display,
            default,
        }
    }

    /// The letters that name pre-activations (the arguments of σ, tanh, relu, softplus):
    /// `z` first, then whatever the program uses (`net` in Mazur's example).
    fn pre_activation_bases(&self) -> Vec<String> {
        let mut bases = vec!["z".to_string()];
        let graph = &self.model.graph;
        for def in self.model.definitions.iter().flatten() {
            let crate::core::expr::Node::Call(f, arg) = graph.node(*def) else {
                continue;
            };
            if f.prime().is_none() && *f != Func::Softplus {
                continue;
            }
            if let crate::core::expr::Node::Var(z) = graph.node(*arg) {
                let symbol = &self.model.symbols[z.index()];
                let shown = symbol
                    .display
                    .clone()
                    .unwrap_or_else(|| default_name_latex(&symbol.name));
                let base: String = shown
                    .trim_start_matches('{')
                    .chars()
                    .take_while(|c| c.is_alphabetic() || *c == '\\')
                    .collect();
                if !base.is_empty() && !bases.contains(&base) {
                    bases.push(base);
                }
            }
        }
        bases
    }

    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Looks a name up tier by tier: display forms, the default rule, the plain name, and
    /// the default rule with commas between subscripts ignored (`w_{11}` for `w_{1,1}`).
    fn lookup(&self, key: &Key, plain: &[String], display_only: bool) -> Lookup {
        let pick = |hits: Vec<Sym>| -> Option<Lookup> {
            let mut hits = hits;
            hits.dedup();
            match hits.len() {
                0 => None,
                1 => Some(Lookup::Found(hits[0])),
                _ => Some(Lookup::Ambiguous(hits)),
            }
        };
        let syms = || self.model.syms();
        let by = |keys: &[Option<Key>], loose: bool| -> Vec<Sym> {
            syms()
                .filter(|s| {
                    keys[s.index()].as_ref().is_some_and(|k| {
                        if loose {
                            k.loose() == key.loose()
                        } else {
                            k == key
                        }
                    })
                })
                .collect()
        };
        if let Some(found) = pick(by(&self.display, false)) {
            return found;
        }
        if display_only {
            return Lookup::Missing;
        }
        if let Some(found) = pick(by(&self.default, false)) {
            return found;
        }
        let plain_hits: Vec<Sym> = syms()
            .filter(|&s| plain.iter().any(|p| *p == self.model.name(s)))
            .collect();
        if let Some(found) = pick(plain_hits) {
            return found;
        }
        let mut loose = by(&self.display, true);
        loose.extend(by(&self.default, true));
        loose.sort_by_key(|s| s.index());
        pick(loose).unwrap_or(Lookup::Missing)
    }

    /// Resolves a written name. The second value is the superscript when it is a power
    /// (`a_2^2`), for the caller to apply.
    fn resolve_parts(&self, w: &Written, span: Span) -> Result<(Resolved, Option<Arg>)> {
        match self.resolve_symbol(w) {
            Lookup::Found(s) => return Ok((Resolved::Symbol(s.0), s.1)),
            Lookup::Ambiguous(syms) => return Err(self.ambiguous(w, span, &syms)),
            Lookup::Missing => {}
        }
        // `δ3`, `\delta^{(3)}`: ∂C/∂z3; with Mazur's names, `\delta_{o1}` is ∂E/∂net_{o1}.
        if w.base == "delta" {
            let mut found_base = None;
            for base in self.pre_activation_bases() {
                let candidate = Written {
                    raw: format!("{base}{}", w.digits),
                    base: base.clone(),
                    ..w.clone()
                };
                if !matches!(self.resolve_symbol(&candidate), Lookup::Missing) {
                    found_base = Some(base);
                    break;
                }
            }
            let base = found_base.unwrap_or_else(|| "z".to_string());
            let z = Written {
                raw: format!("{base}{}", w.digits),
                base,
                ..w.clone()
            };
            match self.resolve_symbol(&z) {
                Lookup::Found((s, power)) => return Ok((Resolved::Delta(s), power)),
                Lookup::Ambiguous(syms) => return Err(self.ambiguous(&z, span, &syms)),
                // A bare `\delta` is a Greek letter like any other (below).
                Lookup::Missing if w.digits.is_empty() && w.sub.is_empty() && w.sup.is_empty() => {}
                Lookup::Missing => {
                    return Err(Diagnostic::at(
                        span,
                        format!(
                            "`{}` means ∂C/∂z with the same decorations, but no z-name is written so",
                            w.shown
                        ),
                        "no matching z-name",
                    )
                    .with_help(self.candidates_help("z")));
                }
            }
        }
        // A Greek letter the model does not declare: a free symbol (`\eta`).
        if w.sub.is_empty()
            && w.digits.is_empty()
            && w.layer().is_none()
            && let Some(ascii) = greek_ascii(&w.base)
        {
            let power = if w.sup.is_empty() {
                None
            } else {
                w.sup_arg.clone()
            };
            return Ok((Resolved::Free(ascii.to_string()), power));
        }
        Err(self.unknown(w, span))
    }

    /// The symbol a written name stands for, and the superscript left over as a power.
    fn resolve_symbol(&self, w: &Written) -> Lookup<(Sym, Option<Arg>)> {
        let found = |l: Lookup, power: Option<Arg>| -> Option<Lookup<(Sym, Option<Arg>)>> {
            match l {
                Lookup::Found(s) => Some(Lookup::Found((s, power))),
                Lookup::Ambiguous(v) => Some(Lookup::Ambiguous(v)),
                Lookup::Missing => None,
            }
        };
        if !w.sup.is_empty() {
            // A display form with this superscript (`show a2 as "a^{2}"` makes it a name).
            if let Some(l) = found(self.lookup(&w.key(None, true), &[], true), None) {
                return l;
            }
            // A layer: `a^{(2)}`; Nielsen's `a^L`, `w^l` when a name is written so.
            let layer = w.layer().map(str::to_string).or_else(|| {
                (w.sup.chars().count() == 1 && w.sup.chars().all(|c| c.is_ascii_alphabetic()))
                    .then(|| w.sup.clone())
            });
            if let Some(layer) = layer {
                let l = self.lookup(
                    &w.key(Some(&layer), false),
                    &w.plain_names(Some(&layer)),
                    false,
                );
                if let Some(l) = found(l, None) {
                    return l;
                }
                if w.layer().is_some() {
                    return Lookup::Missing;
                }
            }
        }
        let power = (!w.sup.is_empty()).then(|| w.sup_arg.clone()).flatten();
        let l = self.lookup(&w.key(None, false), &w.plain_names(None), false);
        found(l, power).unwrap_or(Lookup::Missing)
    }

    fn ambiguous(&self, w: &Written, span: Span, syms: &[Sym]) -> Diagnostic {
        let list = self.describe(syms);
        Diagnostic::at(
            span,
            format!("ambiguous name `{}`: it could be {list}", w.shown),
            "ambiguous",
        )
        .with_help(
            "write the name with its subscript or layer, or give it a display form with `show`",
        )
    }

    fn unknown(&self, w: &Written, span: Span) -> Diagnostic {
        // A bare letter where the model has several names of that letter (`a` for `a2`,
        // `a3`): say which.
        if w.digits.is_empty() && w.sub.is_empty() && w.sup.is_empty() {
            let same = self.same_base(&w.base);
            if same.len() > 1 {
                return self.ambiguous(w, span, &same);
            }
        }
        Diagnostic::at(
            span,
            format!("unknown name `{}`", w.shown),
            "no name of the model is written so",
        )
        .with_help(self.candidates_help(&w.base))
    }

    /// The names that share a base with what was written (`a` -> `a2`, `a3`), or the nearest.
    fn candidates_help(&self, base: &str) -> String {
        let same = self.same_base(base);
        if !same.is_empty() {
            return format!("the candidates are {}", self.describe(&same));
        }
        let mut near: Vec<(usize, Sym)> = self
            .model
            .syms()
            .map(|s| (strsim::damerau_levenshtein(base, self.model.name(s)), s))
            .filter(|(d, _)| *d <= 2)
            .collect();
        near.sort_by_key(|&(d, s)| (d, s.index()));
        if let Some(&(_, s)) = near.first() {
            return format!("did you mean {}?", self.describe(&[s]));
        }
        let all: Vec<Sym> = self.model.syms().take(12).collect();
        format!("the model's names are {}", self.describe(&all))
    }

    /// The names written with this base letter or word (at most 12).
    fn same_base(&self, base: &str) -> Vec<Sym> {
        self.model
            .syms()
            .filter(|&s| {
                self.default[s.index()]
                    .as_ref()
                    .is_some_and(|k| k.base == base)
                    || self.display[s.index()]
                        .as_ref()
                        .is_some_and(|k| k.base == base)
            })
            .take(12)
            .collect()
    }

    /// `` `a2` (a^{(2)}), `a3` (a_{3}) ``.
    fn describe(&self, syms: &[Sym]) -> String {
        let words: Vec<String> = syms
            .iter()
            .map(|&s| {
                let symbol = self.model.symbol(s);
                let latex = symbol
                    .display
                    .clone()
                    .unwrap_or_else(|| default_name_latex(&symbol.name));
                format!("`{}` ({latex})", symbol.name)
            })
            .collect();
        match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => words.join(""),
        }
    }

    /// [`resolve_name`] with this table.
    pub fn resolve_written(&self, written: &str) -> Result<Resolved> {
        let whole = Span::new(0, written.len());
        if let Some(s) = self.model.lookup(written) {
            return Ok(Resolved::Symbol(s));
        }
        let not_a_name = || {
            Diagnostic::at(
                whole,
                format!("`{written}` is not a name"),
                "expected a name such as `w3`, `a_2` or `δ3`",
            )
        };
        // A plain name (`a_2`, `delta3`, `δ3`) read through its default LaTeX form; else
        // the text as LaTeX (`a^{(2)}`).
        let plain = written
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_')
            .then(|| default_name_latex(written));
        let latex = plain.as_deref().unwrap_or(written);
        let factor = parse_name_only(latex).map_err(|_| not_a_name())?;
        let mut w = Written::from_factor(&factor, latex).ok_or_else(not_a_name)?;
        if plain.is_some() {
            // Keep the name as written for the plain tier and for messages.
            w.raw = written.split('_').next().unwrap_or(written).to_string();
            w.shown = written.to_string();
        }
        if w.primes > 0 {
            return Err(not_a_name());
        }
        match self.resolve_parts(&w, whole) {
            Ok((resolved, None)) => Ok(resolved),
            Ok((_, Some(_))) => Err(not_a_name()),
            Err(mut d) => {
                d.span = Some(whole);
                Err(d)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Building the tree
// ---------------------------------------------------------------------------------------

struct Builder<'a, 'm> {
    names: &'a Names<'m>,
    text: &'a str,
    /// Operands being built inside one another: `\sigma \sigma \sigma ... x` nests without
    /// any bracket, so [`precheck`] cannot bound it.
    depth: std::cell::Cell<usize>,
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span().to(rhs.span());
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        span,
    }
}

fn neg(operand: Expr, sign: Span) -> Expr {
    let span = sign.to(operand.span());
    Expr::Neg {
        operand: Box::new(operand),
        span,
    }
}

fn ident(name: &str, span: Span) -> Ident {
    Ident {
        name: name.to_string(),
        span,
    }
}

fn call(func: Func, name_span: Span, arg: Expr) -> Expr {
    let span = name_span.to(arg.span());
    Expr::Call {
        name: ident(func.name(), name_span),
        arg: Box::new(arg),
        span,
    }
}

/// Whether the item is a parenthesised group (a function's argument, `f(x)`).
fn group_at(items: &[Item], i: usize) -> Option<&Factor> {
    match items.get(i) {
        Some(Item::Factor(f)) if matches!(f.atom, Atom::Group(..)) => Some(f),
        _ => None,
    }
}

impl Builder<'_, '_> {
    /// A sum of terms, with unary signs.
    fn sum(&self, items: &[Item], whole: Span) -> Result<Expr> {
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
    fn product(&self, items: &[Item], i: &mut usize, whole: Span) -> Result<Expr> {
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
                    let op = if *op == Op::Times {
                        BinOp::Mul
                    } else {
                        BinOp::Div
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
    fn operand(&self, items: &[Item], i: &mut usize, whole: Span) -> Result<Expr> {
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

    /// `\partial C/\partial w_3` and `dC/dw_3` written inline.
    fn inline_derivative(&self, items: &[Item], i: &mut usize) -> Result<Option<Expr>> {
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
            return Ok(Some(Expr::DerivRef { of, wrt, span }));
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
            return Ok(Some(Expr::DerivRef { of, wrt, span }));
        }
        Ok(None)
    }

    fn operand_at(&self, items: &[Item], i: &mut usize, whole: Span) -> Result<Expr> {
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
                    arg: Box::new(e),
                    span: factor.atom_span,
                };
                self.scripts(e, factor)
            }
            Atom::Sqrt(index, radicand) => {
                let x = self.sum(&radicand.items, radicand.span)?;
                let e = match index {
                    None => Expr::Call {
                        name: ident("sqrt", factor.atom_span),
                        arg: Box::new(x),
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
    fn scripts(&self, mut e: Expr, factor: &Factor) -> Result<Expr> {
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

    fn command(
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
            _ => None,
        };
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
        Err(Diagnostic::at(
            factor.atom_span,
            format!("unsupported LaTeX command `\\{c}`"),
            "not understood",
        )
        .with_help(
            "chainrule reads \\frac, \\partial, \\sigma, \\tanh, \\exp, \\log, \\ln, \\sqrt, \
             \\cdot, \\times, Greek letters, sub- and superscripts",
        ))
    }

    fn has_prime(&self, factor: &Factor) -> bool {
        factor.scripts.iter().any(|s| matches!(s, Script::Prime(_)))
    }

    fn word(
        &self,
        factor: &Factor,
        w: &str,
        items: &[Item],
        i: &mut usize,
        whole: Span,
    ) -> Result<Expr> {
        let model = self.names.model;
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
                arg: Box::new(x),
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
    fn split_word(&self, factor: &Factor, w: &str) -> Option<Expr> {
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

    fn power(&self, e: Expr, power: Option<Arg>) -> Result<Expr> {
        match power {
            None => Ok(e),
            Some(arg) => {
                let exponent = self.sum(&arg.items, arg.span)?;
                Ok(binary(BinOp::Pow, e, exponent))
            }
        }
    }

    /// A name operand; the output name takes a following `(x)` as its argument.
    fn name(&self, factor: &Factor, items: &[Item], i: &mut usize, whole: Span) -> Result<Expr> {
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

    /// `func` applied to what follows: a group's content (the group's scripts then apply to
    /// the call: `\sigma(z)^2`), or the next operand (`\log x`).
    fn apply(
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
            let Atom::Group(_, inner) = &group.atom else {
                return Err(internal_at(group.atom_span));
            };
            let arg = self.sum(inner, group.atom_span)?;
            let c = call(func, name_span, arg);
            let c = match c {
                Expr::Call { name, arg, .. } => Expr::Call {
                    name,
                    arg,
                    span: name_span.to(group.atom_span),
                },
                other => other,
            };
            let rest = Factor {
                atom: Atom::Number(String::new()),
                atom_span: group.atom_span,
                scripts: group.scripts.clone(),
            };
            self.scripts(c, &rest)?
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

    /// `\frac{a}{b}`: a derivative when both start with `d` or `\partial`, else a quotient.
    fn frac(
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
                    Expr::DerivRef { of, wrt, span }
                }
                rest => {
                    let expr = self.sum(rest, of_span)?;
                    Expr::DerivOf {
                        wrt,
                        expr: Box::new(expr),
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
    fn deriv_name(&self, f: &Factor, what: &str) -> Result<Ident> {
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

/// The span from the first item to the last.
fn items_span(items: &[Item]) -> Span {
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
fn double_script(factor: &Factor) -> Diagnostic {
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

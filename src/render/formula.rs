//! Formula printers: one expression, three notations.
//!
//! * [`Notation::Plain`] is the input language (ASCII). It parses back to the same value, so
//!   JSON results and `check` round-trips can rely on it.
//! * [`Notation::Text`] is the same layout for a terminal: `−` for minus, `·` for an explicit
//!   product, `σ` for sigmoid, `∂C/∂w3` for a derivative, Greek names as letters.
//! * [`Notation::Latex`] is what a textbook prints: `\frac`, subscripts, `\sigma`, display forms.
//!
//! The printers know precedence; documents (templates) only lay formulas out. Parentheses are
//! minimal for the levels, loosest first: sum, unary minus, product, fraction-like (a derivative
//! `dC/dw3`, a LaTeX `\frac`), power, atom. A sum keeps its terms in order and writes a term with a
//! negative coefficient as ` - ` and the term without its sign (a coefficient −1 disappears). A
//! product writes a leading numeric coefficient first, moves factors with a negative numeric
//! exponent to a denominator (`x/(1 + exp(-z))`), and splices nested products that are plain
//! products of non-numeric factors. Nothing is reordered or simplified otherwise: a derivation
//! step shows exactly the form the rules produced.
//!
//! Juxtaposition: in plain, a number or a name directly followed by a parenthesised factor is
//! juxtaposed (`-2(y - a3)*a3(1 - a3)*a2`), every other product gets `*`. Text also juxtaposes a
//! call or a parenthesised factor with a following parenthesised one (`σ(z3)(1 − σ(z3))`) and a
//! number with a following name or power of a name (`2x`, `2x^2`). LaTeX juxtaposes everything
//! (`-2(y - a_{3}) a_{3}(1 - a_{3}) a_{2}`) except a number factor after another factor (`\cdot`).
//!
//! Numbers: plain and text use [`Num`]'s `Display`; a non-terminating rational coefficient is
//! split into numerator and denominator (`x/3`, `2*x/3`). LaTeX writes a rational as `\frac{p}{q}`
//! when its decimal does not terminate or its denominator is 2 or 4 (`\frac{1}{2}(y - a)^{2}`),
//! as a decimal otherwise (`0.001`), and a float with an exponent as `1.5 \times 10^{-7}`.
//!
//! Names: see [`name_latex`] and [`name_text`].

use std::collections::HashMap;

use crate::expr::{Func, Graph, Id, Node, Num, Sym, terminating_decimal};
use crate::model::{Model, SymKind, Symbol};

/// Which notation a formula is printed in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Notation {
    /// The input language, ASCII; parses back to the same value.
    Plain,
    /// Unicode for a terminal.
    Text,
    /// LaTeX math mode (without the surrounding `$`).
    Latex,
}

/// Prints expressions of one graph, naming variables from one symbol table (indexed by `Sym`).
#[derive(Copy, Clone)]
pub struct FormulaPrinter<'a> {
    graph: &'a Graph,
    symbols: &'a [Symbol],
}

impl<'a> FormulaPrinter<'a> {
    pub fn new(graph: &'a Graph, symbols: &'a [Symbol]) -> FormulaPrinter<'a> {
        FormulaPrinter { graph, symbols }
    }

    /// A printer for the model's graph and names.
    pub fn for_model(model: &'a Model) -> FormulaPrinter<'a> {
        FormulaPrinter::new(&model.graph, &model.symbols)
    }

    /// The input language: `-2(y - a3)*a3(1 - a3)*a2`.
    pub fn plain(&self, id: Id) -> String {
        self.render(id, Notation::Plain)
    }

    /// Unicode for a terminal: `−2(y − a3)·a3(1 − a3)·a2`.
    pub fn text(&self, id: Id) -> String {
        self.render(id, Notation::Text)
    }

    /// LaTeX: `-2(y - a_{3}) a_{3}(1 - a_{3}) a_{2}`.
    pub fn latex(&self, id: Id) -> String {
        self.render(id, Notation::Latex)
    }

    /// The expression in the given notation.
    ///
    /// Works bottom-up over the nodes reachable from `id` (children have smaller ids), so deep
    /// expressions cannot overflow the stack; each shared subterm is printed once.
    pub fn render(&self, id: Id, notation: Notation) -> String {
        let mut pass = Pass {
            graph: self.graph,
            symbols: self.symbols,
            notation,
            memo: HashMap::new(),
            simple: HashMap::new(),
        };
        for node in self.graph.reachable(&[id]) {
            let r = pass.node(node);
            pass.memo.insert(node, r);
        }
        pass.memo.remove(&id).map(|r| r.s).unwrap_or_default()
    }

    /// A name in the given notation (`w3`, `w3`, `w_{3}` or its display form).
    pub fn name(&self, sym: Sym, notation: Notation) -> String {
        match (self.symbols.get(sym.index()), notation) {
            (Some(s), Notation::Plain) => s.name.clone(),
            (Some(s), Notation::Text) => name_text(s),
            (Some(s), Notation::Latex) => name_latex(s),
            (None, _) => format!("sym{}", sym.0),
        }
    }

    /// The derivative of one name with respect to another, as a target is labelled:
    /// `dC/dw3`, `∂C/∂w3`, `\frac{\partial C}{\partial w_{3}}`.
    pub fn deriv_label(&self, of: Sym, wrt: Sym, notation: Notation) -> String {
        let (of, wrt) = (self.name(of, notation), self.name(wrt, notation));
        match notation {
            Notation::Plain => format!("d{of}/d{wrt}"),
            Notation::Text => format!("∂{of}/∂{wrt}"),
            Notation::Latex => format!("\\frac{{\\partial {of}}}{{\\partial {wrt}}}"),
        }
    }
}

/// The LaTeX form of a name: its display form if it has one, else [`default_name_latex`].
pub fn name_latex(symbol: &Symbol) -> String {
    match &symbol.display {
        Some(display) => display.clone(),
        None => default_name_latex(&symbol.name),
    }
}

/// The terminal form of a name: [`default_name_text`] (display forms are LaTeX, so unused).
pub fn name_text(symbol: &Symbol) -> String {
    default_name_text(&symbol.name)
}

/// The fixed LaTeX rule for a name without a display form.
///
/// The name splits at `_`. The first part is a base followed by optional trailing digits; every
/// later non-empty part is a further subscript; all subscripts are joined with `,`:
/// `w3` -> `w_{3}`, `w_jk` -> `w_{jk}`, `w2_13` -> `w_{2,13}`, `w_j_k` -> `w_{j,k}`.
/// A Greek base, spelt out (`eta`, `sigma`, `Delta`, `varepsilon`) or as a letter (`η`), becomes
/// its macro (`\eta`, `eta2` -> `\eta_{2}`); so does a Greek subscript part (`w_alpha` ->
/// `w_{\alpha}`). Any other base of one character stays as it is; a longer one is set as a word,
/// `\mathit{loss}` (`Eo1` -> `\mathit{Eo}_{1}`).
pub fn default_name_latex(name: &str) -> String {
    let (base, subscripts) = split_name(name);
    let base = if base.is_empty() {
        "{}".to_string()
    } else if let Some(g) = greek(base) {
        g.latex.to_string()
    } else if base.chars().count() == 1 {
        base.to_string()
    } else {
        format!("\\mathit{{{base}}}")
    };
    if subscripts.is_empty() {
        return base;
    }
    let subs: Vec<String> = subscripts
        .iter()
        .map(|p| greek(p).map_or_else(|| p.to_string(), |g| g.latex.to_string()))
        .collect();
    format!("{base}_{{{}}}", subs.join(","))
}

/// The fixed terminal rule for a name: the name as written, with a spelt-out Greek base or
/// subscript part replaced by its letter (`eta` -> `η`, `delta3` -> `δ3`, `w_alpha` -> `w_α`).
pub fn default_name_text(name: &str) -> String {
    let mut parts = name.split('_');
    let first = parts.next().unwrap_or("");
    let base = first.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &first[base.len()..];
    let mut out = greek_text(base);
    out.push_str(digits);
    for part in parts {
        out.push('_');
        out.push_str(&greek_text(part));
    }
    out
}

/// The base and the subscripts of a name (see [`default_name_latex`]).
fn split_name(name: &str) -> (&str, Vec<&str>) {
    let mut parts = name.split('_');
    let first = parts.next().unwrap_or("");
    let base = first.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &first[base.len()..];
    let mut subs = Vec::new();
    if !digits.is_empty() {
        subs.push(digits);
    }
    subs.extend(parts.filter(|p| !p.is_empty()));
    (base, subs)
}

fn greek_text(word: &str) -> String {
    match GREEK.iter().find(|g| g.ascii == word) {
        Some(g) => g.letter.to_string(),
        None => word.to_string(),
    }
}

struct Greek {
    ascii: &'static str,
    letter: char,
    latex: &'static str,
}

const fn gk(ascii: &'static str, letter: char, latex: &'static str) -> Greek {
    Greek { ascii, letter, latex }
}

const GREEK: &[Greek] = &[
    gk("alpha", 'α', "\\alpha"),
    gk("beta", 'β', "\\beta"),
    gk("gamma", 'γ', "\\gamma"),
    gk("delta", 'δ', "\\delta"),
    gk("epsilon", 'ε', "\\epsilon"),
    gk("varepsilon", 'ϵ', "\\varepsilon"),
    gk("zeta", 'ζ', "\\zeta"),
    gk("eta", 'η', "\\eta"),
    gk("theta", 'θ', "\\theta"),
    gk("vartheta", 'ϑ', "\\vartheta"),
    gk("iota", 'ι', "\\iota"),
    gk("kappa", 'κ', "\\kappa"),
    gk("lambda", 'λ', "\\lambda"),
    gk("mu", 'μ', "\\mu"),
    gk("nu", 'ν', "\\nu"),
    gk("xi", 'ξ', "\\xi"),
    gk("omicron", 'ο', "o"),
    gk("pi", 'π', "\\pi"),
    gk("varpi", 'ϖ', "\\varpi"),
    gk("rho", 'ρ', "\\rho"),
    gk("varrho", 'ϱ', "\\varrho"),
    gk("sigma", 'σ', "\\sigma"),
    gk("varsigma", 'ς', "\\varsigma"),
    gk("tau", 'τ', "\\tau"),
    gk("upsilon", 'υ', "\\upsilon"),
    gk("phi", 'φ', "\\phi"),
    gk("varphi", 'ϕ', "\\varphi"),
    gk("chi", 'χ', "\\chi"),
    gk("psi", 'ψ', "\\psi"),
    gk("omega", 'ω', "\\omega"),
    gk("Gamma", 'Γ', "\\Gamma"),
    gk("Delta", 'Δ', "\\Delta"),
    gk("Theta", 'Θ', "\\Theta"),
    gk("Lambda", 'Λ', "\\Lambda"),
    gk("Xi", 'Ξ', "\\Xi"),
    gk("Pi", 'Π', "\\Pi"),
    gk("Sigma", 'Σ', "\\Sigma"),
    gk("Upsilon", 'Υ', "\\Upsilon"),
    gk("Phi", 'Φ', "\\Phi"),
    gk("Psi", 'Ψ', "\\Psi"),
    gk("Omega", 'Ω', "\\Omega"),
];

/// A Greek letter spelt out or written as the letter itself.
fn greek(word: &str) -> Option<&'static Greek> {
    let mut chars = word.chars();
    let single = match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    };
    GREEK.iter().find(|g| g.ascii == word || Some(g.letter) == single)
}

/// Binding strength of a printed formula, loosest first.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Sum,
    /// Starts with a minus sign.
    Neg,
    Product,
    /// Looks like a fraction but binds like a factor: `dC/dw3`, `\frac{a}{b}`, `1e-7`.
    Frac,
    Pow,
    Atom,
}

/// A printed subformula and how tightly it binds.
#[derive(Clone, Debug)]
struct R {
    s: String,
    prec: Prec,
}

fn r(s: String, prec: Prec) -> R {
    R { s, prec }
}

/// What a product factor is, for the juxtaposition rules.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Kind {
    Num,
    Var(Sym),
    /// A power of a name (`x^2`), which text juxtaposes after a number like the name itself.
    PowOfVar,
    Call,
    Other,
}

#[derive(Clone, Debug)]
struct Item {
    r: R,
    kind: Kind,
}

/// One printing pass: the printed form of every node met so far.
struct Pass<'a> {
    graph: &'a Graph,
    symbols: &'a [Symbol],
    notation: Notation,
    memo: HashMap<Id, R>,
    /// For LaTeX `exp`: tree size of sums and products of numbers and names (255: not simple).
    simple: HashMap<Id, u8>,
}

const NOT_SIMPLE: u8 = u8::MAX;
/// `exp(arg)` prints as `e^{arg}` when `arg` is a sum/product of numbers and names this small.
const EXP_AS_POWER_MAX_SIZE: u8 = 8;

fn negative_num(graph: &Graph, id: Id) -> Option<Num> {
    graph.as_num(id).filter(|n| n.is_negative())
}

impl Pass<'_> {
    fn got(&self, id: Id) -> &R {
        &self.memo[&id]
    }

    fn minus(&self) -> &'static str {
        match self.notation {
            Notation::Text => "−",
            _ => "-",
        }
    }

    fn node(&mut self, id: Id) -> R {
        if self.notation == Notation::Latex {
            let size = match self.graph.node(id) {
                Node::Num(_) | Node::Var(_) => 1,
                Node::Add(xs) | Node::Mul(xs) => xs.iter().fold(1u8, |acc, x| {
                    let s = self.simple[x];
                    if s == NOT_SIMPLE { NOT_SIMPLE } else { acc.saturating_add(s) }
                }),
                _ => NOT_SIMPLE,
            };
            self.simple.insert(id, size);
        }
        match self.graph.node(id) {
            Node::Num(n) => self.num(*n),
            Node::Var(s) => self.var(*s),
            Node::Add(terms) => self.sum(terms),
            Node::Mul(factors) => self.mul(factors),
            Node::Pow(b, e) => {
                if negative_num(self.graph, *e).is_some() {
                    self.product(false, None, &[id])
                } else {
                    let (base, exp) = (self.got(*b).clone(), self.got(*e).clone());
                    self.pow(&base, &exp)
                }
            }
            Node::Call(f, a) => self.call(*f, *a),
            Node::Deriv(of, wrt) => self.deriv(*of, *wrt),
        }
    }

    fn symbol_name(&self, s: Sym) -> String {
        match (self.symbols.get(s.index()), self.notation) {
            (Some(sym), Notation::Plain) => sym.name.clone(),
            (Some(sym), Notation::Text) => name_text(sym),
            (Some(sym), Notation::Latex) => name_latex(sym),
            (None, _) => format!("sym{}", s.0),
        }
    }

    /// Whether a name followed by `(` could read as a call (`f(x)` for an output, `σ(x)`).
    fn reads_as_call(&self, s: Sym) -> bool {
        match self.symbols.get(s.index()) {
            Some(sym) => {
                sym.kind == SymKind::Output
                    || Func::from_name(&sym.name).is_some()
                    || Func::from_name(&name_text(sym)).is_some()
            }
            None => false,
        }
    }

    fn var(&self, s: Sym) -> R {
        let name = self.symbol_name(s);
        // A display form with a superscript or prime cannot take another superscript directly.
        let prec = if self.notation == Notation::Latex && name.contains(['^', '\'']) {
            Prec::Pow
        } else {
            Prec::Atom
        };
        r(name, prec)
    }

    fn num(&self, n: Num) -> R {
        if self.notation == Notation::Latex {
            return latex_num(n);
        }
        let s = n.to_string();
        let prec = if n.is_negative() {
            Prec::Neg
        } else if s.contains('/') {
            Prec::Product
        } else if matches!(n, Num::Float(_)) && s.contains(['e', 'E']) {
            Prec::Frac
        } else {
            Prec::Atom
        };
        let s = match (self.notation, s.strip_prefix('-')) {
            (Notation::Text, Some(rest)) => format!("−{rest}"),
            _ => s,
        };
        r(s, prec)
    }

    fn paren(&self, s: &str) -> String {
        if self.notation == Notation::Latex && s.contains("\\frac") {
            format!("\\left({s}\\right)")
        } else {
            format!("({s})")
        }
    }

    /// The formula, in parentheses if it binds looser than `need`; and whether it got them.
    fn wrap(&self, x: &R, need: Prec) -> (String, bool) {
        if x.prec < need { (self.paren(&x.s), true) } else { (x.s.clone(), false) }
    }

    fn sum(&self, terms: &[Id]) -> R {
        let mut s = String::new();
        for (i, &t) in terms.iter().enumerate() {
            if i == 0 {
                // A sum is left-associative, so a leading sum needs no parentheses.
                s.push_str(&self.got(t).s);
            } else if let Some(rest) = self.negated(t) {
                s.push(' ');
                s.push_str(self.minus());
                s.push(' ');
                s.push_str(&self.wrap(&rest, Prec::Product).0);
            } else {
                s.push_str(" + ");
                s.push_str(&self.wrap(self.got(t), Prec::Neg).0);
            }
        }
        r(s, Prec::Sum)
    }

    /// A negative term without its sign, if the term is negative (a negative number, or a
    /// product with a negative leading coefficient).
    fn negated(&self, t: Id) -> Option<R> {
        match self.graph.node(t) {
            Node::Num(n) if n.is_negative() => Some(self.num(n.neg())),
            Node::Mul(fs) => {
                let c = negative_num(self.graph, fs[0])?;
                let coef = if c == Num::MINUS_ONE { None } else { Some(c.neg()) };
                Some(self.product(false, coef, &fs[1..]))
            }
            _ => None,
        }
    }

    fn mul(&self, fs: &[Id]) -> R {
        match self.graph.as_num(fs[0]) {
            Some(c) if c.is_negative() => {
                let coef = if c == Num::MINUS_ONE { None } else { Some(c.neg()) };
                self.product(true, coef, &fs[1..])
            }
            Some(c) => self.product(false, Some(c), &fs[1..]),
            None => self.product(false, None, fs),
        }
    }

    fn kind(&self, id: Id) -> Kind {
        match self.graph.node(id) {
            Node::Num(_) => Kind::Num,
            Node::Var(s) => Kind::Var(*s),
            Node::Pow(b, _) if matches!(self.graph.node(*b), Node::Var(_)) => Kind::PowOfVar,
            Node::Call(..) => Kind::Call,
            _ => Kind::Other,
        }
    }

    /// A product nested in a product is spliced in when it is a plain product of non-numeric
    /// factors without a denominator; otherwise it stays a parenthesised factor.
    fn spliceable(&self, factors: &[Id]) -> bool {
        factors.iter().all(|&f| match self.graph.node(f) {
            Node::Num(_) => false,
            Node::Pow(_, e) => negative_num(self.graph, *e).is_none(),
            _ => true,
        })
    }

    /// `sign coef * factors`, with factors of negative numeric exponent in a denominator.
    /// `coef`, if given, is not negative; `None` means no coefficient is written.
    fn product(&self, negative: bool, coef: Option<Num>, factors: &[Id]) -> R {
        let mut num: Vec<Item> = Vec::new();
        let mut den: Vec<Item> = Vec::new();
        let mut stack: Vec<Id> = factors.iter().rev().copied().collect();
        while let Some(f) = stack.pop() {
            match self.graph.node(f) {
                Node::Mul(inner) if self.spliceable(inner) => stack.extend(inner.iter().rev()),
                Node::Pow(b, e) if negative_num(self.graph, *e).is_some() => {
                    let k = self.graph.as_num(*e).map(Num::neg).unwrap_or(Num::ONE);
                    den.push(self.den_item(*b, k));
                }
                _ => num.push(Item { r: self.got(f).clone(), kind: self.kind(f) }),
            }
        }
        if let Some(c) = coef {
            self.place_coefficient(c, &mut num, &mut den);
        }
        let sign = if negative { self.minus() } else { "" };
        let latex = self.notation == Notation::Latex;
        if den.is_empty() {
            let body = self.join(&num, Prec::Frac);
            let prec = match num.as_slice() {
                _ if negative => Prec::Neg,
                // A lone factor was parenthesised if it binds looser than a factor.
                [one] if one.r.prec < Prec::Frac => Prec::Atom,
                [one] => one.r.prec,
                _ => Prec::Product,
            };
            let body = if body.is_empty() { "1".to_string() } else { body };
            return r(format!("{sign}{body}"), prec);
        }
        if latex {
            let part = |items: &[Item]| match items {
                [] => "1".to_string(),
                [one] => one.r.s.clone(),
                _ => self.join(items, Prec::Frac),
            };
            let s = format!("{sign}\\frac{{{}}}{{{}}}", part(&num), part(&den));
            return r(s, if negative { Prec::Neg } else { Prec::Frac });
        }
        let numerator = if num.is_empty() { "1".to_string() } else { self.join(&num, Prec::Pow) };
        let denominator = match den.as_slice() {
            [one] => self.wrap(&one.r, Prec::Pow).0,
            _ => self.paren(&self.join(&den, Prec::Frac)),
        };
        let s = format!("{sign}{numerator}/{denominator}");
        r(s, if negative { Prec::Neg } else { Prec::Product })
    }

    /// Puts a leading coefficient in front of the numerator, or splits a fraction `p/q` into
    /// the numerator and the denominator.
    fn place_coefficient(&self, c: Num, num: &mut Vec<Item>, den: &mut Vec<Item>) {
        let item = |n: Num| Item { r: self.num(n), kind: Kind::Num };
        if let Num::Rat(p, q) = c
            && q != 1
        {
            let split = match self.notation {
                Notation::Latex => latex_fraction(p, q) && !den.is_empty(),
                _ => terminating_decimal(p, q).is_none(),
            };
            if split {
                if p != 1 {
                    num.insert(0, item(Num::int(p)));
                }
                den.insert(0, item(Num::int(q)));
                return;
            }
            if self.notation == Notation::Latex && latex_fraction(p, q) {
                num.insert(0, Item { r: latex_num(c), kind: Kind::Other });
                return;
            }
        }
        num.insert(0, item(c));
    }

    /// A denominator factor: `base`, or `base^k` for a numeric exponent `k` other than 1.
    fn den_item(&self, base: Id, k: Num) -> Item {
        if k.is_one() {
            return Item { r: self.got(base).clone(), kind: self.kind(base) };
        }
        let kind = match self.graph.node(base) {
            Node::Var(_) => Kind::PowOfVar,
            _ => Kind::Other,
        };
        Item { r: self.pow(self.got(base), &self.num(k)), kind }
    }

    /// Factors written one after another, each parenthesised if it binds looser than `need`.
    fn join(&self, items: &[Item], need: Prec) -> String {
        let mut out = String::new();
        let mut prev: Option<(&Item, String, bool)> = None;
        for item in items {
            let (s, wrapped) = self.wrap(&item.r, need);
            if let Some((p, ps, pw)) = &prev {
                out.push_str(self.separator(p, ps, *pw, item, &s, wrapped));
            }
            out.push_str(&s);
            prev = Some((item, s, wrapped));
        }
        out
    }

    /// What goes between two factors of a product.
    fn separator(&self, prev: &Item, prev_s: &str, prev_wrapped: bool, next: &Item, next_s: &str, next_wrapped: bool) -> &'static str {
        let prev_bare = !prev_wrapped && prev.r.prec == Prec::Atom;
        let name_or_number = |k: Kind| match k {
            Kind::Num => true,
            Kind::Var(s) => !self.reads_as_call(s),
            _ => false,
        };
        match self.notation {
            Notation::Plain => {
                if next_s.starts_with('(') && prev_bare && name_or_number(prev.kind) {
                    ""
                } else {
                    "*"
                }
            }
            Notation::Text => {
                let prev_juxtaposes =
                    prev_wrapped || prev_bare && (name_or_number(prev.kind) || prev.kind == Kind::Call);
                if next_s.starts_with('(') && prev_juxtaposes {
                    ""
                } else if prev_bare
                    && prev.kind == Kind::Num
                    && !next_wrapped
                    && matches!(next.kind, Kind::Var(_) | Kind::PowOfVar)
                    && !next_s.starts_with(['e', 'E'])
                {
                    ""
                } else {
                    "·"
                }
            }
            Notation::Latex => {
                if next.kind == Kind::Num || next_s.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                    " \\cdot "
                } else if next_s.starts_with('(') || next_s.starts_with("\\left(") {
                    ""
                } else if prev.kind == Kind::Num && !prev_wrapped && prev_s.ends_with(|c: char| c.is_ascii_digit()) {
                    ""
                } else {
                    " "
                }
            }
        }
    }

    fn pow(&self, base: &R, exp: &R) -> R {
        let (b, _) = self.wrap(base, Prec::Atom);
        let s = match self.notation {
            Notation::Latex => format!("{b}^{{{}}}", exp.s),
            // `^` is right-associative: `x^y^z` is `x^(y^z)`.
            _ => format!("{b}^{}", self.wrap(exp, Prec::Pow).0),
        };
        r(s, Prec::Pow)
    }

    fn call(&self, f: Func, arg: Id) -> R {
        let a = &self.got(arg).s;
        let s = match self.notation {
            Notation::Plain => format!("{}({a})", f.name()),
            Notation::Text => {
                let name = match f {
                    Func::Sigmoid => "σ",
                    Func::SigmoidPrime => "σ'",
                    _ => f.name(),
                };
                format!("{name}({a})")
            }
            Notation::Latex => {
                let head = match f {
                    Func::Sqrt => return r(format!("\\sqrt{{{a}}}"), Prec::Atom),
                    Func::Abs => return r(format!("\\left|{a}\\right|"), Prec::Atom),
                    Func::Exp if self.simple[&arg] <= EXP_AS_POWER_MAX_SIZE => {
                        return r(format!("e^{{{a}}}"), Prec::Pow);
                    }
                    Func::Sigmoid => "\\sigma",
                    Func::SigmoidPrime => "\\sigma'",
                    Func::Tanh => "\\tanh",
                    Func::TanhPrime => "\\tanh'",
                    Func::Relu => "\\operatorname{relu}",
                    Func::ReluPrime => "\\operatorname{relu}'",
                    Func::Softplus => "\\operatorname{softplus}",
                    Func::Exp => "\\exp",
                    Func::Log => "\\log",
                };
                format!("{head}{}", self.paren(a))
            }
        };
        r(s, Prec::Atom)
    }

    fn deriv(&self, of: Id, wrt: Sym) -> R {
        let w = self.symbol_name(wrt);
        let s = match (self.graph.node(of), self.notation) {
            (Node::Var(v), Notation::Plain) => format!("d{}/d{w}", self.symbol_name(*v)),
            (Node::Var(v), Notation::Text) => format!("∂{}/∂{w}", self.symbol_name(*v)),
            (Node::Var(v), Notation::Latex) => {
                format!("\\frac{{\\partial {}}}{{\\partial {w}}}", self.symbol_name(*v))
            }
            (_, Notation::Plain) => format!("d/d{w}({})", self.got(of).s),
            (_, Notation::Text) => format!("∂/∂{w} ({})", self.got(of).s),
            (_, Notation::Latex) => {
                format!("\\frac{{\\partial}}{{\\partial {w}}}\\left({}\\right)", self.got(of).s)
            }
        };
        r(s, Prec::Frac)
    }
}

/// Whether LaTeX writes the rational `p/q` (q > 1) as `\frac{p}{q}` rather than a decimal.
fn latex_fraction(p: i64, q: i64) -> bool {
    q <= 4 || terminating_decimal(p, q).is_none()
}

fn latex_num(n: Num) -> R {
    let sign = if n.is_negative() { "-" } else { "" };
    let neg_or = |prec| if n.is_negative() { Prec::Neg } else { prec };
    match n {
        Num::Rat(p, 1) => r(p.to_string(), neg_or(Prec::Atom)),
        Num::Rat(p, q) if latex_fraction(p, q) => {
            r(format!("{sign}\\frac{{{}}}{{{q}}}", p.unsigned_abs()), neg_or(Prec::Frac))
        }
        Num::Rat(..) => r(n.to_string(), neg_or(Prec::Atom)),
        Num::Float(x) if x.is_nan() => r("\\mathrm{NaN}".to_string(), Prec::Atom),
        Num::Float(x) if x.is_infinite() => r(format!("{sign}\\infty"), neg_or(Prec::Atom)),
        Num::Float(x) => {
            let s = format!("{x:?}");
            match s.split_once('e') {
                Some((m, e)) => {
                    let (m, prec) = match m {
                        "1" => (String::new(), Prec::Pow),
                        "-1" => ("-".to_string(), Prec::Neg),
                        _ => (format!("{m} \\times "), neg_or(Prec::Product)),
                    };
                    r(format!("{m}10^{{{e}}}"), prec)
                }
                None => r(s, neg_or(Prec::Atom)),
            }
        }
    }
}

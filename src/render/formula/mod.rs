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
//! Juxtaposition: in plain, a leading coefficient or a name directly followed by a parenthesised
//! factor is juxtaposed (`-2(y - a3)*a3(1 - a3)*a2`), every other product gets `*`. Text also
//! juxtaposes a call or a parenthesised factor with a following parenthesised one
//! (`σ(z3)(1 − σ(z3))`) and a leading coefficient with a following name or power of a name (`2x`,
//! `2x^2`). LaTeX juxtaposes everything (`-2(y - a_{3}) a_{3}(1 - a_{3}) a_{2}`, `2x`) except a
//! number after another factor (`x \cdot 2`). A name that could read as a call when followed by
//! `(` (an `output` name such as `f`, or a function name) is never juxtaposed in plain or text.
//!
//! Numbers: plain and text use [`Num`]'s `Display`; a non-terminating rational coefficient is
//! split into numerator and denominator (`x/3`, `2*x/3`). LaTeX writes a rational as `\frac{p}{q}`
//! when its decimal does not terminate or its denominator is 2 or 4 (`\frac{1}{2}(y - a)^{2}`),
//! as a decimal otherwise (`0.001`), and a float with an exponent as `1.5 \times 10^{-7}`.
//!
//! Names: see [`crate::lang::names`].

use crate::core::expr::{
    Constant, FastMap, FastSet, Func, Func2, Graph, Id, Node, Num, Partial, Sym,
    terminating_decimal,
};
use crate::core::model::{Model, SymKind, Symbol};
use crate::core::tensor::Shape;
use crate::lang::names::{name_latex, name_text};
use crate::render::linebreak::{Break, BreakKind, Printed};
use crate::render::summation;
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

mod product;
mod tensor;

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
    cache: Option<&'a RenderCache>,
    /// The shapes of a tensor program's nodes: a product of two arrays is then `⊙`.
    shapes: Option<&'a FastMap<Id, Shape>>,
}

/// Printed subterms kept across formulas: the gradients of a network share most of their
/// subterms (every ∂C/∂w^(2)_jk repeats the same sum over the output layer), which are then
/// printed once rather than once per parameter. A subterm is kept from its second printing
/// on: most subterms of a result belong to that result alone (`λ·w2_1_1/n`), and keeping
/// them would cost more than printing them. Names are worked out once too (a name's display
/// form and whether it reads as a call), and kept for the whole document.
#[derive(Default)]
pub struct RenderCache {
    entries: RefCell<FastMap<(Id, Notation), Entry>>,
    /// The subterms printed once already, in each notation: printed again, they are kept.
    printed: RefCell<FastSet<(Id, Notation)>>,
    names: RefCell<FastMap<(Sym, Notation), Rc<str>>>,
    calls: RefCell<FastMap<Sym, bool>>,
    /// The buffers a formula's walk uses, kept for the next formula.
    scratch: RefCell<Scratch>,
}

/// The subterms of a formula still to print (`order`), the walk's stack and visited set that
/// find them, and the entries of the subterms printed for the first time (`fresh`, by id).
#[derive(Default)]
struct Scratch {
    order: Vec<Id>,
    stack: Vec<Id>,
    seen: FastSet<Id>,
    fresh: Vec<(Id, Entry)>,
}

impl RenderCache {
    /// Forgets what was printed (a document printed in pieces keeps one piece's subterms).
    pub fn clear(&self) {
        self.entries.borrow_mut().clear();
    }
}

impl<'a> FormulaPrinter<'a> {
    pub fn new(graph: &'a Graph, symbols: &'a [Symbol]) -> FormulaPrinter<'a> {
        FormulaPrinter {
            graph,
            symbols,
            cache: None,
            shapes: None,
        }
    }

    /// The printer, told the shapes of a tensor program's nodes
    /// ([`crate::core::matrix_diff::shapes_of`]).
    pub fn with_shapes(self, shapes: &'a FastMap<Id, Shape>) -> FormulaPrinter<'a> {
        FormulaPrinter {
            shapes: Some(shapes),
            ..self
        }
    }

    /// A printer that keeps what it printed in `cache`, for many formulas of one graph.
    pub fn with_cache(
        graph: &'a Graph,
        symbols: &'a [Symbol],
        cache: &'a RenderCache,
    ) -> FormulaPrinter<'a> {
        FormulaPrinter {
            graph,
            symbols,
            cache: Some(cache),
            shapes: None,
        }
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
        self.printed(id, notation).s
    }

    /// The expression with the places where a long line of it may be broken
    /// ([`crate::render::linebreak`] lays it out).
    pub fn printed(&self, id: Id, notation: Notation) -> Printed {
        let r = self.render_r(id, notation);
        Printed {
            s: r.s,
            breaks: r.breaks,
        }
    }

    fn render_r(&self, id: Id, notation: Notation) -> R {
        if let Some(cache) = self.cache {
            return self.render_cached(id, notation, cache);
        }
        let order = self.graph.reachable(&[id]);
        // How many parents still need each node's entry; an entry is dropped after its last
        // parent is printed, so a deep chain does not keep every intermediate string alive.
        let mut uses: FastMap<Id, u32> =
            FastMap::with_capacity_and_hasher(order.len(), Default::default());
        for &node in &order {
            for child in self.graph.children(node) {
                *uses.entry(child).or_default() += 1;
            }
        }
        let names = RenderCache::default();
        let mut pass = Pass {
            graph: self.graph,
            symbols: self.symbols,
            shapes: self.shapes,
            notation,
            memo: Memo::Own(FastMap::default()),
            names: &names,
        };
        for node in order {
            let entry = pass.node(node);
            let Memo::Own(memo) = &mut pass.memo else {
                unreachable!("an uncached pass keeps its own entries")
            };
            memo.insert(node, entry);
            for child in self.graph.children(node) {
                let left = uses.get_mut(&child).expect("counted above");
                *left -= 1;
                if *left == 0 && child != id {
                    memo.remove(&child);
                }
            }
        }
        let Memo::Own(mut memo) = pass.memo else {
            unreachable!("an uncached pass keeps its own entries")
        };
        memo.remove(&id)
            .map(|e| e.r)
            .unwrap_or_else(|| r(String::new(), Prec::Atom))
    }

    /// [`FormulaPrinter::render`] that starts from the subterms printed before and keeps
    /// every subterm it prints.
    fn render_cached(&self, id: Id, notation: Notation, cache: &RenderCache) -> R {
        if let Some(entry) = cache.entries.borrow().get(&(id, notation)) {
            return entry.r.clone();
        }
        let mut scratch = cache.scratch.borrow_mut();
        let Scratch {
            order,
            stack,
            seen,
            fresh,
        } = &mut *scratch;
        order.clear();
        stack.clear();
        fresh.clear();
        // Clearing a set costs its capacity: one a large formula grew is let go.
        if seen.capacity() > 4096 {
            *seen = FastSet::default();
        } else {
            seen.clear();
        }
        stack.push(id);
        let mut known = cache.entries.borrow_mut();
        while let Some(node) = stack.pop() {
            if !seen.insert(node) || known.contains_key(&(node, notation)) {
                continue;
            }
            order.push(node);
            self.graph.push_children(node, stack);
        }
        order.sort_unstable();
        let mut printed = cache.printed.borrow_mut();
        // Each subterm is printed from its children's entries, in the cache or fresh.
        for &node in order.iter() {
            let entry = Pass {
                graph: self.graph,
                symbols: self.symbols,
                shapes: self.shapes,
                notation,
                memo: Memo::Cache(&known, fresh),
                names: cache,
            }
            .node(node);
            // The formula itself is not kept: a result is rarely part of another, and is
            // printed again from its children's entries if it is.
            if node != id && !printed.insert((node, notation)) {
                known.insert((node, notation), entry);
            } else {
                fresh.push((node, entry));
            }
        }
        match fresh.pop() {
            Some((last, entry)) if last == id => entry.r,
            _ => r(String::new(), Prec::Atom),
        }
    }

    /// A name in the given notation (`w3`, `w3`, `w_{3}` or its display form).
    pub fn name(&self, sym: Sym, notation: Notation) -> String {
        symbol_name(self.symbols, sym, notation)
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

fn symbol_name(symbols: &[Symbol], sym: Sym, notation: Notation) -> String {
    match (symbols.get(sym.index()), notation) {
        (Some(s), Notation::Plain) => s.name.clone(),
        (Some(s), Notation::Text) => name_text(s),
        (Some(s), Notation::Latex) => name_latex(s),
        // Not a name of this table: still something that reads back as a name.
        (None, _) => format!("sym{}", sym.0),
    }
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

/// A printed subformula, how tightly it binds, and where a line may break in it.
#[derive(Clone, Debug)]
struct R {
    s: String,
    prec: Prec,
    breaks: Vec<Break>,
}

fn r(s: String, prec: Prec) -> R {
    R {
        s,
        prec,
        breaks: Vec::new(),
    }
}

/// Levels of nesting a line may break at: the formula's own operators, and those of its
/// terms and factors down to this depth.
const MAX_BREAK_DEPTH: u8 = 12;

/// The breaks of a part written at `offset` of its parent, one level deeper.
fn nested(breaks: &[Break], offset: usize) -> impl Iterator<Item = Break> + '_ {
    breaks
        .iter()
        .filter(|b| b.depth < MAX_BREAK_DEPTH)
        .map(move |b| Break {
            at: b.at + offset,
            depth: b.depth + 1,
            ..*b
        })
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

/// A factor of a product: borrowed from its node's entry while the product is printed, owned
/// where an entry keeps it.
#[derive(Clone, Debug)]
struct Item<'r> {
    r: Cow<'r, R>,
    kind: Kind,
}

impl Item<'_> {
    fn owned(r: R, kind: Kind) -> Item<'static> {
        Item {
            r: Cow::Owned(r),
            kind,
        }
    }

    /// The same factor, borrowed from this one.
    fn borrowed(&self) -> Item<'_> {
        Item {
            r: Cow::Borrowed(&*self.r),
            kind: self.kind,
        }
    }

    fn into_owned(self) -> Item<'static> {
        Item::owned(self.r.into_owned(), self.kind)
    }
}

/// A factor as placed in a product: printed (parenthesised if it had to be), and whether it
/// comes first.
struct Placed<'i> {
    item: &'i Item<'i>,
    s: Cow<'i, str>,
    wrapped: bool,
    first: bool,
}

/// What the printer keeps of a node until its parents are printed.
#[derive(Clone)]
struct Entry {
    r: R,
    /// A negative number, or a product with a negative leading coefficient, without its sign
    /// (what a sum writes after ` - `).
    negated: Option<R>,
    /// A product that a product containing it splices in: its factors.
    factors: Option<Vec<Item<'static>>>,
    /// A power with a negative numeric exponent: the factor it puts in a denominator.
    den: Option<Item<'static>>,
    /// For LaTeX `exp`: tree size of a sum or product of numbers and names ([`NOT_SIMPLE`] for
    /// anything else).
    simple: u8,
    /// For `exp(x)`, x; for a sum of exponentials, the exponents of its terms: what
    /// `logsumexp(…)` prints when a log takes the sum (a node's grandchildren are gone by then).
    exponents: Option<Vec<R>>,
}

/// One printing pass: the entries of the nodes whose parents are not all printed yet.
struct Pass<'a> {
    graph: &'a Graph,
    symbols: &'a [Symbol],
    shapes: Option<&'a FastMap<Id, Shape>>,
    notation: Notation,
    memo: Memo<'a>,
    /// Where the names already worked out are kept (the printer's cache, else the pass's own).
    names: &'a RenderCache,
}

/// Where a pass finds the entries of the children it prints.
enum Memo<'a> {
    /// Its own, each dropped after its last parent is printed.
    Own(FastMap<Id, Entry>),
    /// A [`RenderCache`]'s, in the pass's notation, and those of the subterms printed for
    /// the first time in this formula (ordered by id).
    Cache(&'a FastMap<(Id, Notation), Entry>, &'a [(Id, Entry)]),
}

const NOT_SIMPLE: u8 = u8::MAX;
/// Bytes of LaTeX above which a numerator's sums are written after the fraction, and a
/// denominator on the line after `/`.
const LONG_NUMERATOR: usize = 160;
/// `exp(arg)` prints as `e^{arg}` when `arg` is a sum/product of numbers and names this small.
const EXP_AS_POWER_MAX_SIZE: u8 = 8;

fn negative_num(graph: &Graph, id: Id) -> Option<Num> {
    graph.as_num(id).filter(|n| n.is_negative())
}

impl Pass<'_> {
    fn entry(&self, id: Id) -> &Entry {
        match &self.memo {
            Memo::Own(memo) => &memo[&id],
            Memo::Cache(cache, fresh) => match fresh.binary_search_by_key(&id, |(node, _)| *node) {
                Ok(at) => &fresh[at].1,
                Err(_) => &cache[&(id, self.notation)],
            },
        }
    }

    fn got(&self, id: Id) -> &R {
        &self.entry(id).r
    }

    fn minus(&self) -> &'static str {
        match self.notation {
            Notation::Text => "−",
            _ => "-",
        }
    }

    /// Prints one node from the entries of its children.
    fn node(&self, id: Id) -> Entry {
        let simple = match self.graph.node(id) {
            Node::Num(_) | Node::Var(_) => 1,
            Node::Add(xs) | Node::Mul(xs) => {
                xs.iter().fold(1u8, |acc, x| match self.entry(*x).simple {
                    NOT_SIMPLE => NOT_SIMPLE,
                    s => acc.saturating_add(s).min(NOT_SIMPLE - 1),
                })
            }
            _ => NOT_SIMPLE,
        };
        let plain = |r: R| Entry {
            r,
            negated: None,
            factors: None,
            den: None,
            simple,
            exponents: None,
        };
        let entry = match self.graph.node(id) {
            Node::Num(n) => Entry {
                negated: n.is_negative().then(|| self.num(n.neg())),
                ..plain(self.num(*n))
            },
            Node::Var(s) => plain(self.var(*s)),
            Node::Const(c) => plain(self.constant(*c)),
            Node::Add(terms) => plain(self.sum(terms)),
            Node::Mul(factors) => match self.hadamard(factors) {
                Some(entry) => entry,
                None => self.mul(factors, simple),
            },
            Node::Pow(b, e) => match negative_num(self.graph, *e) {
                Some(k) => {
                    let den = self.den_item(*b, k.neg());
                    let r = self.product(false, None, &[], std::slice::from_ref(&den));
                    Entry {
                        den: Some(den),
                        ..plain(r)
                    }
                }
                None => plain(self.pow(self.got(*b), self.got(*e))),
            },
            Node::Call(f, a) => plain(self.call(*f, *a)),
            Node::Call2(f, a, b) => plain(self.call2(*f, *a, *b)),
            Node::Deriv(of, wrt, Partial::Total) => plain(self.deriv(*of, *wrt)),
            Node::Deriv(of, wrt, Partial::Direct) => plain(self.direct(*of, *wrt)),
            Node::Tensor(op, xs) => plain(self.tensor(*op, xs)),
        };
        Entry {
            exponents: self.exponents(id),
            ..entry
        }
    }

    fn symbol_name(&self, s: Sym) -> Rc<str> {
        self.names
            .names
            .borrow_mut()
            .entry((s, self.notation))
            .or_insert_with(|| symbol_name(self.symbols, s, self.notation).into())
            .clone()
    }

    /// Whether a name followed by `(` could read as a call (`f(x)` for an output, `σ(x)`).
    fn reads_as_call(&self, s: Sym) -> bool {
        *self
            .names
            .calls
            .borrow_mut()
            .entry(s)
            .or_insert_with(|| self.name_reads_as_call(s))
    }

    fn name_reads_as_call(&self, s: Sym) -> bool {
        match self.symbols.get(s.index()) {
            Some(sym) => {
                sym.kind == SymKind::Output
                    || Func::from_name(&sym.name).is_some()
                    || Func::from_name(&name_text(sym)).is_some()
                    // `∂C/∂h4(1 − h4)` would read as ∂C/∂ of a call `h4(…)`
                    || (sym.kind == SymKind::ErrorTerm && sym.name.contains('/'))
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
        r(name.to_string(), prec)
    }

    fn constant(&self, c: Constant) -> R {
        let s = match (c, self.notation) {
            (Constant::Pi, Notation::Plain) => "pi",
            (Constant::Pi, Notation::Text) => "π",
            (Constant::Pi, Notation::Latex) => "\\pi",
            (Constant::E, _) => "e",
        };
        r(s.to_string(), Prec::Atom)
    }

    fn num(&self, n: Num) -> R {
        if self.notation == Notation::Latex {
            return latex_num(n);
        }
        // ½ is printed as a textbook writes it; a decimal such as 0.001 as the user wrote it.
        let s = match n {
            Num::Rat(p, q) if is_small_fraction(q) => format!("{p}/{q}"),
            _ => n.to_string(),
        };
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
        if self.notation == Notation::Latex && (s.contains("\\frac") || s.contains("\\sum")) {
            format!("\\left({s}\\right)")
        } else {
            format!("({s})")
        }
    }

    /// The formula, in parentheses if it binds looser than `need`; and whether it got them.
    /// [`Pass::wrap`], and the breaks of `x` where they fall in the result (a line may break
    /// inside parentheses; LaTeX's layout then closes `\left(` on the row with `\right.`).
    fn wrap_breaks<'x>(&self, x: &'x R, need: Prec) -> (Cow<'x, str>, Vec<Break>) {
        let (s, breaks, _) = self.wrap_with_breaks(x, need);
        (s, breaks)
    }

    /// [`Pass::wrap_breaks`], and whether it added parentheses.
    fn wrap_with_breaks<'x>(&self, x: &'x R, need: Prec) -> (Cow<'x, str>, Vec<Break>, bool) {
        let (s, wrapped) = self.wrap(x, need);
        // The input language is never laid out: no breaks to keep.
        if self.notation == Notation::Plain || x.breaks.is_empty() {
            return (s, Vec::new(), wrapped);
        }
        let open = if !wrapped {
            0
        } else if s.starts_with("\\left(") {
            "\\left(".len()
        } else {
            1
        };
        let breaks = shifted(&x.breaks, open);
        (s, breaks, wrapped)
    }

    fn wrap<'x>(&self, x: &'x R, need: Prec) -> (Cow<'x, str>, bool) {
        if x.prec < need {
            (Cow::Owned(self.paren(&x.s)), true)
        } else {
            (Cow::Borrowed(&x.s), false)
        }
    }

    fn sum(&self, terms: &[Id]) -> R {
        let runs = self.summable_runs(terms);
        // Room for the terms and a sign between each two (a run written as one `Σ` is short).
        let mut s = if runs.is_empty() {
            String::with_capacity(terms.iter().map(|&t| self.entry(t).r.s.len() + 5).sum())
        } else {
            String::new()
        };
        let mut breaks = Vec::with_capacity(if self.notation == Notation::Plain {
            0
        } else {
            terms.len()
        });
        let mut i = 0;
        while i < terms.len() {
            if i > 0 && self.notation != Notation::Plain {
                breaks.push(Break {
                    at: s.len(),
                    skip: 0,
                    depth: 0,
                    kind: BreakKind::Sum,
                });
            }
            if let Some(run) = runs.iter().find(|run| run.start == i) {
                let sign = match (run.negative, i) {
                    (true, 0) => self.minus().to_string(),
                    (true, _) => format!(" {} ", self.minus()),
                    (false, 0) => String::new(),
                    (false, _) => " + ".to_string(),
                };
                s.push_str(&sign);
                s.push_str(&summation::write(run, self.notation == Notation::Latex));
                i += run.len;
                continue;
            }
            let entry = self.entry(terms[i]);
            let (written, own): (_, Cow<[Break]>) = if i == 0 {
                // A sum is left-associative, so a leading sum needs no parentheses.
                (
                    Cow::Borrowed(entry.r.s.as_str()),
                    Cow::Borrowed(&entry.r.breaks),
                )
            } else if let Some(rest) = &entry.negated {
                s.push(' ');
                s.push_str(self.minus());
                s.push(' ');
                let (written, own) = self.wrap_breaks(rest, Prec::Product);
                (written, Cow::Owned(own))
            } else {
                s.push_str(" + ");
                let (written, own) = self.wrap_breaks(&entry.r, Prec::Neg);
                (written, Cow::Owned(own))
            };
            breaks.extend(nested(&own, s.len()));
            s.push_str(&written);
            i += 1;
        }
        R {
            s,
            prec: Prec::Sum,
            breaks,
        }
    }

    /// Runs of terms that differ only in one index counting up (`w_{1} x_{1} + … + w_{784}
    /// x_{784}`), long enough to be written as one `Σ` (never in the plain notation, which
    /// must parse back).
    fn summable_runs(&self, terms: &[Id]) -> Vec<summation::Run> {
        if self.notation == Notation::Plain || terms.len() < summation::MIN_RUN {
            return Vec::new();
        }
        let written: Vec<(bool, Cow<str>)> = terms
            .iter()
            .map(|&t| {
                let entry = self.entry(t);
                match &entry.negated {
                    Some(rest) => (true, self.wrap(rest, Prec::Product).0),
                    None => (false, self.wrap(&entry.r, Prec::Neg).0),
                }
            })
            .collect();
        summation::runs(&written, self.notation == Notation::Latex)
    }

    fn pow(&self, base: &R, exp: &R) -> R {
        let (b, breaks) = self.wrap_breaks(base, Prec::Atom);
        let s = match self.notation {
            Notation::Latex => format!("{b}^{{{}}}", exp.s),
            // `^` is right-associative: `x^y^z` is `x^(y^z)`.
            _ => format!("{b}^{}", self.wrap(exp, Prec::Pow).0),
        };
        R {
            s,
            prec: Prec::Pow,
            breaks,
        }
    }

    fn call(&self, f: Func, arg: Id) -> R {
        if f == Func::Log
            && let Some(exponents) = &self.entry(arg).exponents
            && exponents.len() >= 2
        {
            return self.log_sum_exp(exponents);
        }
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
                    Func::Exp if self.entry(arg).simple <= EXP_AS_POWER_MAX_SIZE => {
                        return r(format!("e^{{{a}}}"), Prec::Pow);
                    }
                    Func::Sigmoid => "\\sigma",
                    Func::SigmoidPrime => "\\sigma'",
                    Func::Tanh => "\\tanh",
                    Func::TanhPrime => "\\tanh'",
                    // `\mathrm`, not `\operatorname`: KaTeX counts each `\operatorname` as
                    // several macro expansions against its limit of 1000 per formula.
                    Func::Relu => "\\mathrm{relu}",
                    Func::ReluPrime => "\\mathrm{relu}'",
                    Func::Softplus => "\\mathrm{softplus}",
                    Func::Sign => "\\mathrm{sgn}",
                    Func::Exp => "\\exp",
                    Func::Log => "\\log",
                    Func::Erf => "\\mathrm{erf}",
                    Func::Erfc => "\\mathrm{erfc}",
                    Func::Gelu => "\\mathrm{GELU}",
                    Func::Silu => "\\mathrm{SiLU}",
                    Func::Sin => "\\sin",
                    Func::Cos => "\\cos",
                };
                format!("{head}{}", self.paren(a))
            }
        };
        self.with_inner_breaks(r(s, Prec::Atom), arg)
    }

    /// What `Entry::exponents` holds for a node.
    fn exponents(&self, id: Id) -> Option<Vec<R>> {
        match self.graph.node(id) {
            Node::Call(Func::Exp, x) => Some(vec![self.got(*x).clone()]),
            Node::Add(terms) if terms.len() >= 2 => terms
                .iter()
                .map(|&t| match self.graph.node(t) {
                    Node::Call(Func::Exp, _) => self.entry(t).exponents.as_ref()?.first().cloned(),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    /// `log(e^a + e^b + …)` as textbooks and libraries name it, `logsumexp(a, b, …)` (which the
    /// input language reads back as the same formula).
    fn log_sum_exp(&self, exponents: &[R]) -> R {
        let args = exponents
            .iter()
            .map(|x| x.s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let s = match self.notation {
            Notation::Plain | Notation::Text => format!("logsumexp({args})"),
            Notation::Latex => format!("\\mathrm{{logsumexp}}{}", self.paren(&args)),
        };
        r(s, Prec::Atom)
    }

    fn call2(&self, f: Func2, a: Id, b: Id) -> R {
        let args = format!("{}, {}", self.got(a).s, self.got(b).s);
        let s = match self.notation {
            Notation::Plain | Notation::Text => format!("{}({args})", f.name()),
            Notation::Latex => {
                let head = match f {
                    Func2::Max => "\\max",
                    Func2::Min => "\\min",
                    Func2::LeakyRelu => "\\mathrm{LeakyReLU}",
                    Func2::Elu => "\\mathrm{ELU}",
                    Func2::Huber => "\\mathrm{huber}",
                    Func2::LeakyReluPrime => "\\mathrm{LeakyReLU}'",
                    Func2::EluPrime => "\\mathrm{ELU}'",
                };
                format!("{head}{}", self.paren(&args))
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
                format!(
                    "\\frac{{\\partial {}}}{{\\partial {w}}}",
                    self.symbol_name(*v)
                )
            }
            (_, Notation::Plain) => format!("d/d{w}({})", self.got(of).s),
            (_, Notation::Text) => format!("∂/∂{w} ({})", self.got(of).s),
            (_, Notation::Latex) => {
                format!(
                    "\\frac{{\\partial}}{{\\partial {w}}}\\left({}\\right)",
                    self.got(of).s
                )
            }
        };
        self.with_inner_breaks(r(s, Prec::Frac), of)
    }

    /// A call or a derivative whose argument closes it (`σ(…)`, `∂/∂w (…)`) may break inside
    /// the argument, where the argument may.
    fn with_inner_breaks(&self, mut out: R, arg: Id) -> R {
        let inner = self.got(arg);
        if inner.breaks.is_empty() {
            return out;
        }
        let close = if out.s.ends_with("\\right)") {
            "\\right)".len()
        } else if out.s.ends_with(')') {
            1
        } else {
            return out;
        };
        if let Some(offset) = out.s.len().checked_sub(inner.s.len() + close)
            && out.s[offset..].starts_with(&inner.s)
        {
            out.breaks = shifted(&inner.breaks, offset);
        }
        out
    }

    /// The direct partial: the derivative in parentheses, subscripted "direct" (the shape of
    /// a partial with names held fixed, `(∂U/∂T)_V`, saying which: all the others).
    fn direct(&self, of: Id, wrt: Sym) -> R {
        let total = self.deriv(of, wrt);
        let (s, open) = match self.notation {
            Notation::Latex => (
                format!("\\left({}\\right)_{{\\mathrm{{direct}}}}", total.s),
                "\\left(".len(),
            ),
            _ => (format!("({}){DIRECT_SUFFIX}", total.s), 1),
        };
        R {
            s,
            prec: Prec::Frac,
            breaks: shifted(&total.breaks, open),
        }
    }
}

fn shifted(breaks: &[Break], offset: usize) -> Vec<Break> {
    breaks
        .iter()
        .map(|b| Break {
            at: b.at + offset,
            ..*b
        })
        .collect()
}

/// What marks a direct partial: `(∂C/∂w1)_direct`, `\left(\frac{\partial C}{\partial
/// w_{1}}\right)_{\mathrm{direct}}`; the input language reads the plain form back.
pub const DIRECT_SUFFIX: &str = "_direct";

/// Whether the text ends with a name starting with `d` (`delta`, `y^dx`, `2dx`).
fn ends_with_d_name(s: &str) -> bool {
    let start = s
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(s.len(), |(i, _)| i);
    s[start..]
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .starts_with('d')
}

/// Whether LaTeX writes the rational `p/q` (q > 1) as `\frac{p}{q}` rather than a decimal.
/// Denominators small enough that `p/q` reads better than its decimal (½, ¼, ⅛ rather
/// than 0.5, 0.25, 0.125); larger ones (0.05, 0.001) keep the decimal the user wrote.
fn is_small_fraction(q: i64) -> bool {
    (2..=12).contains(&q)
}

fn latex_fraction(p: i64, q: i64) -> bool {
    q <= 4 || terminating_decimal(p, q).is_none()
}

fn latex_num(n: Num) -> R {
    let sign = if n.is_negative() { "-" } else { "" };
    let neg_or = |prec| if n.is_negative() { Prec::Neg } else { prec };
    match n {
        Num::Rat(p, 1) => r(p.to_string(), neg_or(Prec::Atom)),
        Num::Rat(p, q) if latex_fraction(p, q) => r(
            format!("{sign}\\frac{{{}}}{{{q}}}", p.unsigned_abs()),
            neg_or(Prec::Frac),
        ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::ast::Span;
    use crate::lang::names::{default_name_latex, default_name_text};

    const NAMES: &[&str] = &[
        "x", "y", "z", "a", "b", "c", "a2", "a3", "w3", "b3", "z3", "C", "eta", "η", "w2_13",
        "w_jk", "loss", "f", "delta", "dx", "dC", "dw3", "d",
    ];

    fn symbols() -> Vec<Symbol> {
        NAMES
            .iter()
            .map(|&name| Symbol {
                name: name.to_string(),
                kind: if name == "f" {
                    SymKind::Output
                } else {
                    SymKind::Param
                },
                display: None,
                span: Span::default(),
                shape: crate::core::tensor::Shape::SCALAR,
            })
            .collect()
    }

    /// A graph and a symbol table, with each name available as a variable node.
    struct Fixture {
        g: Graph,
        symbols: Vec<Symbol>,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                g: Graph::new(),
                symbols: symbols(),
            }
        }

        fn sym(&self, name: &str) -> Sym {
            Sym(self
                .symbols
                .iter()
                .position(|s| s.name == name)
                .expect("known name") as u32)
        }

        fn v(&mut self, name: &str) -> Id {
            let s = self.sym(name);
            self.g.var(s)
        }

        fn n(&mut self, n: i64) -> Id {
            self.g.int(n)
        }

        fn rat(&mut self, p: i64, q: i64) -> Id {
            self.g.num(Num::Rat(p, q))
        }

        /// Plain, text and LaTeX.
        fn all(&self, id: Id) -> [String; 3] {
            let p = FormulaPrinter::new(&self.g, &self.symbols);
            [p.plain(id), p.text(id), p.latex(id)]
        }

        #[track_caller]
        fn check(&self, id: Id, plain: &str, text: &str, latex: &str) {
            assert_eq!(self.all(id), [plain, text, latex]);
        }
    }

    #[test]
    fn chain_rule_result() {
        let mut f = Fixture::new();
        let (y, a3, a2) = (f.v("y"), f.v("a3"), f.v("a2"));
        let m2 = f.n(-2);
        let one = f.n(1);
        let y_a3 = f.g.sub(y, a3);
        let one_a3 = f.g.sub(one, a3);
        let e = f.g.product(vec![m2, y_a3, a3, one_a3, a2]);
        f.check(
            e,
            "-2(y - a3)*a3(1 - a3)*a2",
            "−2(y − a3)·a3(1 − a3)·a2",
            "-2(y - a_{3}) a_{3}(1 - a_{3}) a_{2}",
        );
    }

    #[test]
    fn affine() {
        let mut f = Fixture::new();
        let (w3, a2, b3) = (f.v("w3"), f.v("a2"), f.v("b3"));
        let wa = f.g.product(vec![w3, a2]);
        let e = f.g.sum(vec![wa, b3]);
        f.check(e, "w3*a2 + b3", "w3·a2 + b3", "w_{3} a_{2} + b_{3}");
    }

    #[test]
    fn sigmoid_derivative_form() {
        let mut f = Fixture::new();
        let z3 = f.v("z3");
        let s = f.g.call(Func::Sigmoid, z3);
        let one = f.n(1);
        let d = f.g.sub(one, s);
        let e = f.g.product(vec![s, d]);
        f.check(
            e,
            "sigmoid(z3)*(1 - sigmoid(z3))",
            "σ(z3)(1 − σ(z3))",
            "\\sigma(z_{3})(1 - \\sigma(z_{3}))",
        );
        let p = f.g.call(Func::SigmoidPrime, z3);
        f.check(p, "sigmoid'(z3)", "σ'(z3)", "\\sigma'(z_{3})");
    }

    #[test]
    fn minus_and_powers() {
        let mut f = Fixture::new();
        let (x, y, z) = (f.v("x"), f.v("y"), f.v("z"));
        let two = f.n(2);
        let x2 = f.g.pow(x, two);
        let neg_x2 = f.g.neg(x2);
        f.check(neg_x2, "-x^2", "−x^2", "-x^{2}");
        let neg_x = f.g.neg(x);
        let sq = f.g.pow(neg_x, two);
        f.check(sq, "(-x)^2", "(−x)^2", "(-x)^{2}");
        let yz = f.g.pow(y, z);
        let right = f.g.pow(x, yz);
        f.check(right, "x^y^z", "x^y^z", "x^{y^{z}}");
        let xy = f.g.pow(x, y);
        let left = f.g.pow(xy, z);
        f.check(left, "(x^y)^z", "(x^y)^z", "(x^{y})^{z}");
        let neg_y = f.g.neg(y);
        let e = f.g.pow(x, neg_y);
        f.check(e, "x^(-y)", "x^(−y)", "x^{-y}");
        let m2 = f.n(-2);
        let e = f.g.pow(m2, x);
        f.check(e, "(-2)^x", "(−2)^x", "(-2)^{x}");
    }

    #[test]
    fn differences() {
        let mut f = Fixture::new();
        let (a, b, c) = (f.v("a"), f.v("b"), f.v("c"));
        let bc = f.g.sub(b, c);
        let e = f.g.sub(a, bc);
        f.check(e, "a - (b - c)", "a − (b − c)", "a - (b - c)");
        let prod = f.g.product(vec![b, c]);
        let e = f.g.sub(a, prod);
        f.check(e, "a - b*c", "a − b·c", "a - b c");
        let m3 = f.n(-3);
        let t = f.g.product(vec![m3, b]);
        let e = f.g.sum(vec![a, t]);
        f.check(e, "a - 3*b", "a − 3b", "a - 3b");
        let neg_a = f.g.neg(a);
        let e = f.g.sum(vec![neg_a, b]);
        f.check(e, "-a + b", "−a + b", "-a + b");
        let neg_neg = f.g.neg(neg_a);
        f.check(neg_neg, "-(-a)", "−(−a)", "-(-a)");
        let e = f.g.sub(a, neg_a);
        f.check(e, "a - (-a)", "a − (−a)", "a - (-a)");
        let m1 = f.n(-1);
        let e = f.g.sum(vec![a, m1]);
        f.check(e, "a - 1", "a − 1", "a - 1");
        let bc_sum = f.g.sum(vec![b, c]);
        let e = f.g.sum(vec![a, bc_sum]);
        f.check(e, "a + (b + c)", "a + (b + c)", "a + (b + c)");
        let e = f.g.neg(bc_sum);
        f.check(e, "-(b + c)", "−(b + c)", "-(b + c)");
    }

    #[test]
    fn quotients() {
        let mut f = Fixture::new();
        let (x, y, z) = (f.v("x"), f.v("y"), f.v("z"));
        let one = f.n(1);
        let neg_z = f.g.neg(z);
        let ez = f.g.call(Func::Exp, neg_z);
        let den = f.g.sum(vec![one, ez]);
        let e = f.g.div(one, den);
        f.check(
            e,
            "1/(1 + exp(-z))",
            "1/(1 + exp(−z))",
            "\\frac{1}{1 + e^{-z}}",
        );
        let m1 = f.n(-1);
        let inv = f.g.pow(x, m1);
        f.check(inv, "1/x", "1/x", "\\frac{1}{x}");
        let e = f.g.div(x, y);
        f.check(e, "x/y", "x/y", "\\frac{x}{y}");
        let m2 = f.n(-2);
        let inv2 = f.g.pow(y, m2);
        let e = f.g.product(vec![x, inv2]);
        f.check(e, "x/y^2", "x/y^2", "\\frac{x}{y^{2}}");
        let e = f.g.product(vec![inv, inv2]);
        f.check(e, "1/(x*y^2)", "1/(x·y^2)", "\\frac{1}{x y^{2}}");
        let e = f.g.neg(inv);
        f.check(e, "-1/x", "−1/x", "-\\frac{1}{x}");
        let three = f.n(3);
        let e = f.g.div(x, three);
        f.check(e, "x/3", "x/3", "\\frac{x}{3}");
    }

    #[test]
    fn rational_coefficients() {
        let mut f = Fixture::new();
        let (x, y, a) = (f.v("x"), f.v("y"), f.v("a"));
        let half = f.rat(1, 2);
        let two = f.n(2);
        let d = f.g.sub(y, a);
        let sq = f.g.pow(d, two);
        let e = f.g.product(vec![half, sq]);
        // ½ is a fraction, never 0.5 (a textbook writes ½(y − a)²).
        f.check(e, "(y - a)^2/2", "(y − a)^2/2", "\\frac{1}{2}(y - a)^{2}");
        f.check(half, "1/2", "1/2", "\\frac{1}{2}");
        let third = f.rat(1, 3);
        let e = f.g.product(vec![third, x]);
        f.check(e, "x/3", "x/3", "\\frac{1}{3} x");
        let two_thirds = f.rat(2, 3);
        let e = f.g.product(vec![two_thirds, x]);
        f.check(e, "2*x/3", "2x/3", "\\frac{2}{3} x");
        let m_two_thirds = f.rat(-2, 3);
        let e = f.g.product(vec![m_two_thirds, x]);
        f.check(e, "-2*x/3", "−2x/3", "-\\frac{2}{3} x");
        let m1 = f.n(-1);
        let inv_y = f.g.pow(y, m1);
        let e = f.g.product(vec![two_thirds, x, inv_y]);
        f.check(e, "2*x/(3*y)", "2x/(3y)", "\\frac{2x}{3y}");
        let e = f.g.product(vec![third, inv_y]);
        f.check(e, "1/(3*y)", "1/(3y)", "\\frac{1}{3y}");
        let milli = f.rat(1, 1000);
        let e = f.g.product(vec![milli, x]);
        f.check(e, "0.001*x", "0.001x", "0.001x");
        f.check(third, "1/3", "1/3", "\\frac{1}{3}");
        let e = f.g.pow(third, x);
        f.check(e, "(1/3)^x", "(1/3)^x", "\\left(\\frac{1}{3}\\right)^{x}");
        let e = f.g.product(vec![x, third]);
        f.check(e, "x*(1/3)", "x·(1/3)", "x \\cdot \\frac{1}{3}");
        let m2 = f.n(-2);
        let e = f.g.product(vec![x, m2]);
        f.check(e, "x*(-2)", "x·(−2)", "x \\cdot (-2)");
        let e = f.g.product(vec![two, x]);
        f.check(e, "2*x", "2x", "2x");
        let x2 = f.g.pow(x, two);
        let e = f.g.product(vec![two, x2]);
        f.check(e, "2*x^2", "2x^2", "2x^{2}");
    }

    #[test]
    fn floats_parse_back() {
        let mut f = Fixture::new();
        let x = f.v("x");
        let tiny = f.g.num(Num::Float(1e-300));
        let e = f.g.product(vec![tiny, x]);
        f.check(e, "1e-300*x", "1e-300·x", "10^{-300} x");
        let e = f.g.pow(tiny, x);
        f.check(e, "(1e-300)^x", "(1e-300)^x", "(10^{-300})^{x}");
        let big = f.g.num(Num::Float(-1.5e300));
        f.check(big, "-1.5e300", "−1.5e300", "-1.5 \\times 10^{300}");
    }

    #[test]
    fn derivatives() {
        let mut f = Fixture::new();
        let (c, x) = (f.v("C"), f.v("x"));
        let w3 = f.sym("w3");
        let d = f.g.deriv(c, w3);
        f.check(
            d,
            "dC/dw3",
            "∂C/∂w3",
            "\\frac{\\partial C}{\\partial w_{3}}",
        );
        let two = f.n(2);
        let x2 = f.g.pow(x, two);
        let xs = f.sym("x");
        let d = f.g.deriv(x2, xs);
        f.check(
            d,
            "d/dx(x^2)",
            "∂/∂x (x^2)",
            "\\frac{\\partial}{\\partial x}\\left(x^{2}\\right)",
        );
        let a3 = f.v("a3");
        let a3s = f.sym("a3");
        let z3s = f.sym("z3");
        let d1 = f.g.deriv(c, a3s);
        let d2 = f.g.deriv(a3, z3s);
        let e = f.g.product(vec![d1, d2]);
        f.check(
            e,
            "dC/da3*da3/dz3",
            "∂C/∂a3·∂a3/∂z3",
            "\\frac{\\partial C}{\\partial a_{3}} \\frac{\\partial a_{3}}{\\partial z_{3}}",
        );
        let e = f.g.pow(d1, two);
        f.check(
            e,
            "(dC/da3)^2",
            "(∂C/∂a3)^2",
            "\\left(\\frac{\\partial C}{\\partial a_{3}}\\right)^{2}",
        );
        let p = FormulaPrinter::new(&f.g, &f.symbols);
        let cs = f.sym("C");
        assert_eq!(p.deriv_label(cs, w3, Notation::Text), "∂C/∂w3");
    }

    #[test]
    fn functions() {
        let mut f = Fixture::new();
        let (x, z3) = (f.v("x"), f.v("z3"));
        let cases = [
            (Func::Tanh, "tanh(x)", "tanh(x)", "\\tanh(x)"),
            (Func::TanhPrime, "tanh'(x)", "tanh'(x)", "\\tanh'(x)"),
            (Func::Relu, "relu(x)", "relu(x)", "\\mathrm{relu}(x)"),
            (
                Func::ReluPrime,
                "relu'(x)",
                "relu'(x)",
                "\\mathrm{relu}'(x)",
            ),
            (
                Func::Softplus,
                "softplus(x)",
                "softplus(x)",
                "\\mathrm{softplus}(x)",
            ),
            (Func::Exp, "exp(x)", "exp(x)", "e^{x}"),
            (Func::Log, "log(x)", "log(x)", "\\log(x)"),
            (Func::Sqrt, "sqrt(x)", "sqrt(x)", "\\sqrt{x}"),
            (Func::Abs, "abs(x)", "abs(x)", "\\left|x\\right|"),
            (Func::Sign, "sgn(x)", "sgn(x)", "\\mathrm{sgn}(x)"),
        ];
        for (func, plain, text, latex) in cases {
            let e = f.g.call(func, x);
            f.check(e, plain, text, latex);
        }
        let s = f.g.call(Func::Sigmoid, z3);
        let e = f.g.call(Func::Exp, s);
        f.check(e, "exp(sigmoid(z3))", "exp(σ(z3))", "\\exp(\\sigma(z_{3}))");
        let e = f.g.call2(Func2::Max, x, s);
        f.check(
            e,
            "max(x, sigmoid(z3))",
            "max(x, σ(z3))",
            "\\max(x, \\sigma(z_{3}))",
        );
        let two = f.n(2);
        let half_x = f.g.div(x, two);
        let e = f.g.call2(Func2::Min, half_x, z3);
        f.check(
            e,
            "min(x/2, z3)",
            "min(x/2, z3)",
            "\\min\\left(\\frac{x}{2}, z_{3}\\right)",
        );
        let two = f.n(2);
        let ex = f.g.call(Func::Exp, x);
        let e = f.g.pow(ex, two);
        f.check(e, "exp(x)^2", "exp(x)^2", "(e^{x})^{2}");
        let half = f.g.div(x, two);
        let e = f.g.call(Func::Log, half);
        f.check(
            e,
            "log(x/2)",
            "log(x/2)",
            "\\log\\left(\\frac{x}{2}\\right)",
        );
    }

    #[test]
    fn names() {
        let mut f = Fixture::new();
        let w3_index = f.sym("w3").index();
        f.symbols[w3_index].display = Some("w^{(3)}".to_string());
        let (w3, eta, eta_letter, x) = (f.v("w3"), f.v("eta"), f.v("η"), f.v("x"));
        f.check(w3, "w3", "w3", "w^{(3)}");
        let two = f.n(2);
        let sq = f.g.pow(w3, two);
        f.check(sq, "w3^2", "w3^2", "(w^{(3)})^{2}");
        f.check(eta, "eta", "η", "\\eta");
        f.check(eta_letter, "η", "η", "\\eta");
        let e = f.g.product(vec![eta, x]);
        f.check(e, "eta*x", "η·x", "\\eta x");
        let (w, jk, loss) = (f.v("w2_13"), f.v("w_jk"), f.v("loss"));
        f.check(w, "w2_13", "w2_13", "w_{2,13}");
        f.check(jk, "w_jk", "w_jk", "w_{jk}");
        f.check(loss, "loss", "loss", "\\mathit{loss}");
        for (name, latex, text) in [
            ("eta2", "\\eta_{2}", "η2"),
            ("delta3", "\\delta_{3}", "δ3"),
            ("w_j_k", "w_{j,k}", "w_j_k"),
            ("w_alpha", "w_{\\alpha}", "w_α"),
            ("Eo1", "\\mathit{Eo}_{1}", "Eo1"),
            ("Delta", "\\Delta", "Δ"),
            ("δ3", "\\delta_{3}", "δ3"),
            ("x", "x", "x"),
        ] {
            assert_eq!(default_name_latex(name), latex, "{name}");
            assert_eq!(default_name_text(name), text, "{name}");
        }
    }

    #[test]
    fn output_name_is_not_juxtaposed() {
        let mut f = Fixture::new();
        let (out, x) = (f.v("f"), f.v("x"));
        let one = f.n(1);
        let d = f.g.sub(one, x);
        let e = f.g.product(vec![out, d]);
        f.check(e, "f*(1 - x)", "f·(1 − x)", "f \\cdot (1 - x)");
        // After a coefficient too (issue 13: `2f(h5 − y)` read as a call of f).
        let two = f.n(2);
        let e = f.g.product(vec![two, out, d]);
        f.check(e, "2*f*(1 - x)", "2f·(1 − x)", "2f \\cdot (1 - x)");
        // A name that is not an output is still juxtaposed, as textbooks write it.
        let e = f.g.product(vec![x, d]);
        f.check(e, "x(1 - x)", "x(1 − x)", "x(1 - x)");
    }

    #[test]
    fn nested_products() {
        let mut f = Fixture::new();
        let (a, b, c) = (f.v("a"), f.v("b"), f.v("c"));
        let bc = f.g.product(vec![b, c]);
        let e = f.g.product(vec![a, bc]);
        f.check(e, "a*b*c", "a·b·c", "a b c");
        let two = f.n(2);
        let two_b = f.g.product(vec![two, b]);
        let e = f.g.product(vec![a, two_b]);
        f.check(e, "a(2*b)", "a(2b)", "a(2b)");
        let e = f.g.neg(two_b);
        f.check(e, "-2*b", "−2b", "-2b");
    }

    #[test]
    fn deep_expressions_do_not_overflow() {
        let mut f = Fixture::new();
        let (mut e, x) = (f.v("x"), f.v("x"));
        for i in 0..20_000 {
            e = if i % 2 == 0 {
                f.g.call(Func::Sigmoid, e)
            } else {
                f.g.product(vec![x, e])
            };
        }
        let s = FormulaPrinter::new(&f.g, &f.symbols).plain(e);
        assert!(s.starts_with("x*sigmoid(x*sigmoid("));
    }

    // ---- Round trip: the plain and text outputs read back, through the real parser, to the
    // same value (and a derivative to the same node). ----

    /// Parses `source` and lowers it into a copy of the fixture's graph, resolving names by
    /// their plain or text form.
    fn read_back(f: &Fixture, source: &str, notation: Notation) -> (Graph, Id) {
        let expr = crate::lang::syntax::parse_expr(source)
            .unwrap_or_else(|d| panic!("{source:?} does not parse: {}", d.message));
        let mut g = f.g.clone();
        let mut lookup = |g: &mut Graph, ident: &crate::lang::ast::Ident| {
            let p = FormulaPrinter::new(&f.g, &f.symbols);
            match (0..f.symbols.len()).find(|&i| p.name(Sym(i as u32), notation) == ident.name) {
                Some(i) => Ok(g.var(Sym(i as u32))),
                None => Err(ident.clone()),
            }
        };
        match crate::lang::lower::lower_expr_with(&mut g, &expr, &mut lookup) {
            Ok(id) => (g, id),
            Err(_) => panic!("{source:?} does not lower"),
        }
    }

    fn value(g: &Graph, id: Id) -> f64 {
        let at = |s: Sym| Some(0.37 + 0.29 * s.0 as f64);
        crate::core::eval::eval_f64(g, &[id], &at).expect("evaluates")[0]
    }

    /// A deterministic generator (xorshift), so failures reproduce.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        fn expr(&mut self, f: &mut Fixture, depth: u32) -> Id {
            let nums = [
                Num::int(2),
                Num::int(-1),
                Num::int(-2),
                Num::int(3),
                Num::Rat(1, 2),
                Num::Rat(1, 3),
                Num::Rat(-2, 3),
                Num::Float(1.5e-3),
                Num::int(1),
                Num::Rat(-1, 4),
            ];
            let vars = [
                "x", "y", "z", "a3", "w2_13", "eta", "f", "delta", "dx", "dC", "dw3", "d",
            ];
            let leaf = depth == 0 || self.next(4) == 0;
            if leaf {
                return if self.next(3) == 0 {
                    let n = nums[self.next(nums.len() as u64) as usize];
                    f.g.num(n)
                } else {
                    let v = vars[self.next(vars.len() as u64) as usize];
                    f.v(v)
                };
            }
            match self.next(7) {
                0 | 1 => {
                    let k = 2 + self.next(3);
                    let terms = (0..k).map(|_| self.expr(f, depth - 1)).collect();
                    f.g.sum(terms)
                }
                2 | 3 => {
                    let k = 2 + self.next(3);
                    let factors = (0..k).map(|_| self.expr(f, depth - 1)).collect();
                    f.g.product(factors)
                }
                4 => {
                    let b = self.expr(f, depth - 1);
                    let e = if self.next(2) == 0 {
                        let n = [
                            Num::int(2),
                            Num::int(-1),
                            Num::int(-2),
                            Num::Rat(1, 2),
                            Num::Rat(-1, 3),
                        ][self.next(5) as usize];
                        f.g.num(n)
                    } else {
                        self.expr(f, depth - 1)
                    };
                    f.g.pow(b, e)
                }
                5 => {
                    let x = self.expr(f, depth - 1);
                    f.g.neg(x)
                }
                _ => {
                    let func = Func::ALL[self.next(Func::ALL.len() as u64) as usize];
                    let x = self.expr(f, depth - 1);
                    f.g.call(func, x)
                }
            }
        }
    }

    fn close(a: f64, b: f64) -> bool {
        if a.is_nan() || b.is_nan() {
            return a.is_nan() && b.is_nan();
        }
        if a.is_infinite() || b.is_infinite() {
            return a == b;
        }
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn plain_and_text_read_back_to_the_same_value() {
        let mut gen_ = Gen(0x9E37_79B9_7F4A_7C15);
        for _ in 0..1500 {
            let mut f = Fixture::new();
            let e = gen_.expr(&mut f, 4);
            let want = value(&f.g, e);
            let p = FormulaPrinter::new(&f.g, &f.symbols);
            for (notation, source) in [(Notation::Plain, p.plain(e)), (Notation::Text, p.text(e))] {
                let (g, id) = read_back(&f, &source, notation);
                let got = crate::core::eval::eval_f64(&g, &[id], &|s: Sym| {
                    Some(0.37 + 0.29 * s.0 as f64)
                })
                .unwrap_or_else(|e| panic!("{source}: {e:?}"))[0];
                assert!(close(want, got), "{source}: {got} != {want}");
            }
        }
    }

    #[test]
    fn quotients_of_d_names_do_not_read_as_derivatives() {
        let mut f = Fixture::new();
        let (delta, dx, dc, dw3) = (f.v("delta"), f.v("dx"), f.v("dC"), f.v("dw3"));
        let e1 = f.g.div(delta, dx);
        f.check(e1, "delta/(dx)", "δ/dx", "\\frac{\\delta}{\\mathit{dx}}");
        let e2 = f.g.div(dc, dw3);
        f.check(
            e2,
            "dC/(dw3)",
            "dC/(dw3)",
            "\\frac{\\mathit{dC}}{\\mathit{dw}_{3}}",
        );
        let p = FormulaPrinter::new(&f.g, &f.symbols);
        for e in [e1, e2] {
            for notation in [Notation::Plain, Notation::Text] {
                let (g, id) = read_back(&f, &p.render(e, notation), notation);
                assert!(close(value(&f.g, e), value(&g, id)));
            }
        }
    }

    #[test]
    fn derivatives_read_back_to_the_same_node() {
        let mut f = Fixture::new();
        let (c, x) = (f.v("C"), f.v("x"));
        let (w3, xs) = (f.sym("w3"), f.sym("x"));
        let two = f.n(2);
        let x2 = f.g.pow(x, two);
        let d1 = f.g.deriv(c, w3);
        let d2 = f.g.deriv(x2, xs);
        // The direct partials read back as direct partials, not as the total derivatives.
        let d3 = f.g.derivative(c, w3, Partial::Direct);
        let d4 = f.g.derivative(x2, xs, Partial::Direct);
        let sum = f.g.sum(vec![d1, d3]);
        let p = FormulaPrinter::new(&f.g, &f.symbols);
        assert_eq!(p.text(sum), "∂C/∂w3 + (∂C/∂w3)_direct");
        assert_eq!(p.plain(d4), "(d/dx(x^2))_direct");
        assert_eq!(
            p.latex(d3),
            "\\left(\\frac{\\partial C}{\\partial w_{3}}\\right)_{\\mathrm{direct}}"
        );
        for e in [d1, d2, d3, d4, sum] {
            for notation in [Notation::Plain, Notation::Text] {
                let (_, id) = read_back(&f, &p.render(e, notation), notation);
                assert_eq!(id, e, "{}", p.render(e, notation));
            }
        }
    }
}

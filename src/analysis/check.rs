//! Checking claims: is a claimed derivative, value or update rule right, and if not, what is
//! the likeliest mistake?
//!
//! A claim is `LHS = RHS`. The left side says what is claimed (a derivative `dC/dw3` or
//! `δ3`, an update `w3'`, a name's value `a3`, the output at a point `f(2)`, or any formula),
//! the right side what it is claimed to be, in the plain language or in LaTeX. Derivative and
//! update claims must hold as identities: first the two sides are expanded and simplified and
//! compared symbolically, then evaluated at random points at high precision. Value claims are
//! judged at the `--at` point to the digits they give. For a wrong claim the diagnosis tries
//! the mistakes people make, each as a hypothesis about what the claim equals (the negative,
//! the derivative with one chain-rule factor missing or extra, one path at a fork left out,
//! the chain rule stopped early, a cost term left out, a one-symbol slip, a constant factor,
//! ascent for descent, float64 rounding), and names the first that fits at every point.
//! Nothing here does I/O.

use std::collections::HashMap;

use crate::core::diff::{self, Target};
use crate::core::error::Diagnostic;
use crate::core::eval::{self, Precise};
use crate::core::model::Given;
use crate::lang::ast::{Expr, Ident, Span};

use crate::analysis::numeric;
use crate::core::expr::{FastMap, FastSet, Func, Graph, Id, Node, Num, Sym};
use crate::core::model::{Model, SymKind, Symbol};
use crate::core::simplify::{self, Options};
use crate::lang::lower::{self, LowerFailure};
use crate::lang::syntax;
use crate::render::FormulaPrinter;

/// How many valid random points an identity must hold at.
pub const POINTS: usize = 24;
/// Random points tried before giving up as `unknown`.
const ATTEMPTS: usize = 96;
/// Working precision of the reference evaluations (bits).
const PRECISION: usize = 128;
/// Two high-precision values agree when they differ by less than this, relatively.
const SAME: f64 = 1e-12;
/// A hypothesis screened in float64 fits when it agrees to this, relatively.
const FITS: f64 = 1e-7;
/// Points a hypothesis is screened at.
const SCREEN_POINTS: usize = 12;

#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Correct,
    Incorrect,
    Unknown,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Incorrect => "incorrect",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The judgement of one claim.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// The claim as written.
    pub claim: String,
    pub verdict: Verdict,
    /// How it was decided: "symbolic", "numeric, 24 points", "value at the given point".
    pub method: String,
    /// A point where the two sides differ, leaves in program order.
    pub counterexample: Option<Vec<(String, f64)>>,
    /// The claim's value and the true value there.
    pub claimed_value: Option<f64>,
    pub true_value: Option<f64>,
    /// The likeliest mistake, in one sentence.
    pub diagnosis: Option<String>,
    /// The corrected formula (plain, LaTeX), when one is known.
    pub corrected: Option<(String, String)>,
    /// What the left side is, derived (plain, LaTeX): the reference the claim is compared with.
    pub expected: Option<(String, String)>,
}

/// A claim that does not make sense; the diagnostic's spans point into the claim's text.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckError {
    /// Which claim.
    pub index: usize,
    pub diagnostic: Box<Diagnostic>,
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "claim {}: {}", self.index + 1, self.diagnostic)
    }
}

impl std::error::Error for CheckError {}

/// The model as claims see it: the program's names plus the learning rate `eta` (also `η`)
/// when the program does not define one, so that `--at eta=0.5` and update rules resolve.
pub fn with_learning_rate(model: &Model) -> Model {
    Checker::new(model).model
}

/// Checks every claim against the model at the given values (`--at`, the learning rate
/// included; parse them against [`with_learning_rate`]'s model).
pub fn check(
    model: &Model,
    claims: &[String],
    given: &[Given],
) -> Result<Vec<Checked>, CheckError> {
    // Claims are independent, so a long worksheet is split over the cores, one checker (and
    // one copy of the model) each; every judgement is deterministic, so the split changes
    // nothing but the time.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = if claims.len() >= PARALLEL_FROM && threads > 1 {
        claims.len().div_ceil(threads)
    } else {
        claims.len().max(1)
    };
    let results: Vec<Result<Vec<Checked>, CheckError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = claims
            .chunks(chunk)
            .enumerate()
            .map(|(part, claims)| {
                scope.spawn(move || check_in_order(model, claims, given, part * chunk))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a checking thread panicked"))
            .collect()
    });
    let mut out = Vec::with_capacity(claims.len());
    for part in results {
        out.extend(part?);
    }
    Ok(out)
}

/// Worksheets at least this long are checked on several threads.
const PARALLEL_FROM: usize = 32;

fn check_in_order(
    model: &Model,
    claims: &[String],
    given: &[Given],
    first_index: usize,
) -> Result<Vec<Checked>, CheckError> {
    let mut checker = Checker::new(model);
    checker.given = given.to_vec();
    let mut out = Vec::with_capacity(claims.len());
    for (index, claim) in claims.iter().enumerate() {
        let checked = checker.check(claim).map_err(|d| CheckError {
            index: first_index + index,
            diagnostic: Box::new(d),
        })?;
        out.push(checked);
    }
    Ok(out)
}

/// The summary line: `N correct, M incorrect, K unknown`.
pub fn summary(checked: &[Checked]) -> String {
    let count = |v| checked.iter().filter(|c| c.verdict == v).count();
    format!(
        "{} correct, {} incorrect, {} unknown",
        count(Verdict::Correct),
        count(Verdict::Incorrect),
        count(Verdict::Unknown)
    )
}

// ---------------------------------------------------------------------------------------------
// Reading a claim
// ---------------------------------------------------------------------------------------------

/// What the left side of a claim says is claimed.
#[derive(Clone, Debug)]
enum Subject {
    Derivative(Target),
    /// `w3' = ...`: the parameter after one step of gradient descent.
    Update(Sym),
    /// `Δw3 = ...`: the change one step of gradient descent makes, −η ∂C/∂w3.
    Change(Sym),
    /// `a3 = ...`: a name.
    Name(Sym),
    /// `f(2) = ...`: the output with its one input set to a value.
    OutputAt {
        output: Sym,
        input: Sym,
        value: String,
    },
    /// Any other formula.
    Formula(Id),
}

/// `LHS = RHS` split at the top-level `=` (or `←`, `:=`, `\leftarrow` for an update).
struct Split<'a> {
    lhs: &'a str,
    rhs: &'a str,
    rhs_offset: usize,
    update_arrow: bool,
}

fn split_claim(text: &str) -> Result<Split<'_>, Diagnostic> {
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

fn looks_latex(text: &str) -> bool {
    crate::lang::latex::looks_like_latex(text)
}

/// Names that stand for the learning rate when the program does not define them.
const RATE_NAMES: [&str; 5] = ["eta", "η", "lr", "alpha", "α"];

/// A point shared by every claim that uses it; `None` where the network is undefined.
type SharedSample = std::rc::Rc<Sample>;

/// What the targets may be at random points: any value in (0, 1), or labels as classifiers
/// have them (0 or 1; exactly one 1 among several outputs).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
enum Labels {
    Free,
    Binary,
    OneHot,
}

/// A derivative with some edges from a name cut: the target, the name, the users cut off.
type CutKey = (Target, Sym, Vec<Sym>);

struct Checker {
    model: Model,
    derivatives: FastMap<(Id, Sym), Id>,
    /// Formulas expanded into inputs and parameters, for [`Checker::exact_at`].
    expanded: FastMap<Id, Id>,
    /// The current claim's right side before its derivatives were worked out.
    unresolved: Id,
    /// The names the current diagnosis considers (see `nearby_names`).
    nearby: Vec<Sym>,
    /// The simple points of counterexamples, by leaves and variant.
    simple_samples: FastMap<(Vec<Sym>, usize), Option<std::rc::Rc<Sample>>>,
    recognise: Option<Options>,
    truth_values: FastMap<(Id, Vec<Sym>, Labels, usize), Option<Precise>>,
    cut_derivatives: FastMap<CutKey, Option<(Sym, Id)>>,
    /// Random points by the leaves they give values to.
    samples: FastMap<(Vec<Sym>, Labels), Vec<Option<SharedSample>>>,
    /// The learning rate: the program's own `eta`, or a symbol added for the claims.
    rate: Sym,
    given: Vec<Given>,
}

impl Checker {
    fn new(model: &Model) -> Checker {
        let mut model = model.clone();
        let rate = match RATE_NAMES.iter().find_map(|n| model.lookup(n)) {
            Some(s) => s,
            None => {
                let s = Sym(model.symbols.len() as u32);
                model.symbols.push(Symbol {
                    name: "eta".to_string(),
                    kind: SymKind::Input,
                    display: Some("\\eta".to_string()),
                    span: Span::default(),
                });
                model.definitions.push(None);
                model.graph.var(s);
                s
            }
        };
        Checker {
            model,
            samples: FastMap::default(),
            derivatives: FastMap::default(),
            expanded: FastMap::default(),
            nearby: Vec::new(),
            unresolved: Id(0),
            simple_samples: FastMap::default(),
            recognise: None,
            truth_values: FastMap::default(),
            cut_derivatives: FastMap::default(),
            rate,
            given: Vec::new(),
        }
    }

    fn check(&mut self, text: &str) -> Result<Checked, Diagnostic> {
        let split = split_claim(text)?;
        let lhs_offset = split.lhs.as_ptr() as usize - text.as_ptr() as usize;
        let subject = self.subject(split.lhs, lhs_offset, split.update_arrow)?;
        if split.rhs.trim().is_empty() {
            let at = split.rhs_offset;
            return Err(Diagnostic::at(
                Span::new(at.saturating_sub(1), at),
                "the claim has nothing after `=`",
                "expected a formula or a number after this",
            )
            .with_help(
                "write what the left side equals, e.g. `dC/dw3 = 2(a3 - y) a3(1 - a3) a2`",
            ));
        }
        let rhs_expr = self.parse_side(split.rhs, split.rhs_offset)?;
        let claimed = self.lower(&rhs_expr)?;
        self.unresolved = claimed;
        let claimed = diff::resolve_derivatives(&mut self.model, claimed);
        let constant = !self.mentions_any_name(claimed);
        let digits = literal_digits(&rhs_expr);
        let lhs_span = {
            let lead = split.lhs.len() - split.lhs.trim_start().len();
            Span::new(lhs_offset + lead, lhs_offset + split.lhs.trim_end().len())
        };
        let mut checked = match &subject {
            Subject::OutputAt {
                output,
                input,
                value,
            } => {
                let mut given = self.given.clone();
                given.retain(|g| g.sym != *input);
                given.push(Given {
                    sym: *input,
                    text: value.clone(),
                    value: value.parse().unwrap_or(f64::NAN),
                });
                let truth = self.model.graph_var(*output);
                self.value_claim(truth, claimed, digits, &given, lhs_span)?
            }
            Subject::Name(s) if constant => {
                let truth = self.model.graph_var(*s);
                self.require_point(lhs_span)?;
                let given = self.given.clone();
                self.value_claim(truth, claimed, digits, &given, lhs_span)?
            }
            // Mazur's w5⁺ = 0.35891648: a number is a value at the given point.
            Subject::Derivative(_)
            | Subject::Formula(_)
            | Subject::Update(_)
            | Subject::Change(_)
                if constant && !self.given.is_empty() =>
            {
                let truth = self.truth(&subject);
                let given = self.given.clone();
                self.value_claim(truth, claimed, digits, &given, lhs_span)?
            }
            _ => {
                let truth = self.truth(&subject);
                self.identity_claim(&subject, truth, claimed)
            }
        };
        checked.claim = text.trim().to_string();
        Ok(checked)
    }

    fn require_point(&self, span: Span) -> Result<(), Diagnostic> {
        if self.given.is_empty() {
            return Err(Diagnostic::at(
                span,
                "a value claim needs a point",
                "the value of this name depends on the inputs and parameters",
            )
            .with_help("give the point with `--at`, e.g. `--at x=1,w2=0.5,...`"));
        }
        Ok(())
    }

    /// What the left side claims about.
    fn subject(&mut self, lhs: &str, offset: usize, arrow: bool) -> Result<Subject, Diagnostic> {
        let trimmed = lhs.trim();
        let lead = offset + (lhs.len() - lhs.trim_start().len());
        let whole = Span::new(lead, lead + trimmed.len());
        // An update: `w3'`, `w3′`, `w_3^{\prime}`, or an arrow.
        let primes = [
            "^{\\prime}",
            "^\\prime",
            "'",
            "′",
            "^{new}",
            "_{new}",
            "^{+}",
            "^+",
            "⁺",
        ];
        let mut unprimed = trimmed;
        let mut primed = false;
        for p in primes {
            if let Some(rest) = unprimed.strip_suffix(p) {
                unprimed = rest.trim_end();
                primed = true;
                break;
            }
        }
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
        if primed || arrow || latex_target.is_some() {
            let sym = match latex_target {
                Some(s) => s,
                None => self.resolve_plain_name(unprimed, lead)?,
            };
            if self.model.symbol(sym).kind != SymKind::Param {
                return Err(Diagnostic::at(
                    whole,
                    format!("`{}` is not a parameter", self.model.name(sym)),
                    "an update rule gives a parameter's new value",
                )
                .with_help("write the update of a parameter, e.g. `w3' = w3 - eta*dC/dw3`"));
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
                let inner = inner.trim();
                if inner.parse::<f64>().is_ok() {
                    let inputs: Vec<Sym> = self
                        .model
                        .syms()
                        .filter(|&s| self.model.symbol(s).kind == SymKind::Input && s != self.rate)
                        .collect();
                    if inputs.len() != 1 {
                        return Err(Diagnostic::at(
                            whole,
                            format!("`{name}({inner})` needs a network with one input"),
                            format!("this network has {} inputs", inputs.len()),
                        )
                        .with_help(
                            "give the inputs with `--at` and claim the output's value by name",
                        ));
                    }
                    return Ok(Subject::OutputAt {
                        output,
                        input: inputs[0],
                        value: inner.to_string(),
                    });
                }
                return Ok(Subject::Name(output));
            }
        }
        let expr = self.parse_side(lhs, offset)?;
        Ok(match &expr {
            Expr::DerivRef { .. } | Expr::DerivOf { .. } | Expr::Name(_) => {
                let id = self.lower(&expr)?;
                match self.model.graph.node(id).clone() {
                    Node::Var(s) => Subject::Name(s),
                    Node::Deriv(of, wrt) => match self.model.graph.node(of) {
                        Node::Var(y) => Subject::Derivative(Target { of: *y, wrt }),
                        _ => Subject::Formula(id),
                    },
                    _ => Subject::Formula(id),
                }
            }
            _ => Subject::Formula(self.lower(&expr)?),
        })
    }

    /// The formula the left side denotes, in the model's names.
    fn truth(&mut self, subject: &Subject) -> Id {
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
        }
    }

    /// A derivative in names, simplified; each taken once per checker (many claims of a
    /// worksheet ask about the same target, and diagnoses reuse the local derivatives).
    fn derivative(&mut self, expr: Id, wrt: Sym) -> Id {
        if let Some(&d) = self.derivatives.get(&(expr, wrt)) {
            return d;
        }
        let d = diff::differentiate_expr(&mut self.model, expr, wrt);
        self.derivatives.insert((expr, wrt), d);
        d
    }

    fn gradient(&mut self, wrt: Sym) -> Id {
        let cost = self.model.graph_var(self.model.cost);
        self.derivative(cost, wrt)
    }

    fn resolve_plain_name(&self, name: &str, offset: usize) -> Result<Sym, Diagnostic> {
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

    fn lookup(&self, name: &str) -> Option<Sym> {
        self.model
            .lookup(name)
            .or_else(|| RATE_NAMES.contains(&name).then_some(self.rate))
    }

    /// One side as a syntax tree: the plain language, or LaTeX as a textbook prints it.
    fn parse_side(&self, text: &str, offset: usize) -> Result<Expr, Diagnostic> {
        let text = self.erase_output_arguments(text);
        let parsed = if looks_latex(&text) {
            latex_parse(&self.model, &text)
        } else {
            syntax::parse_expr(&text)
        };
        parsed
            .map_err(|d| shifted(d, offset))
            .map(|e| shift_expr(e, offset))
    }

    /// `f(x)` for the declared output `f` is the output itself: blank out the argument
    /// (keeping byte offsets, so error carets still point at the right spot).
    fn erase_output_arguments(&self, text: &str) -> String {
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

    fn lower(&mut self, expr: &Expr) -> Result<Id, Diagnostic> {
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
                if let Some(s) =
                    lookup(&squeezed).or_else(|| latex_resolve(&self.model, &ident.name))
                {
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

    fn mentions_any_name(&self, id: Id) -> bool {
        self.model
            .graph
            .reachable(&[id])
            .iter()
            .any(|&n| matches!(self.model.graph.node(n), Node::Var(_) | Node::Deriv(..)))
    }
}

/// Renames every occurrence of a name in an expression.
fn rename(expr: &Expr, from: &str, to: &str) -> Expr {
    let r = |e: &Expr| Box::new(rename(e, from, to));
    let id = |i: &Ident| Ident {
        name: if i.name == from {
            to.to_string()
        } else {
            i.name.clone()
        },
        span: i.span,
    };
    match expr {
        Expr::Number { .. } => expr.clone(),
        Expr::Name(i) => Expr::Name(id(i)),
        Expr::Neg { operand, span } => Expr::Neg {
            operand: r(operand),
            span: *span,
        },
        Expr::Binary { op, lhs, rhs, span } => Expr::Binary {
            op: *op,
            lhs: r(lhs),
            rhs: r(rhs),
            span: *span,
        },
        Expr::Call { name, arg, span } => Expr::Call {
            name: name.clone(),
            arg: r(arg),
            span: *span,
        },
        Expr::DerivRef { of, wrt, span } => Expr::DerivRef {
            of: id(of),
            wrt: id(wrt),
            span: *span,
        },
        Expr::DerivOf { wrt, expr, span } => Expr::DerivOf {
            wrt: id(wrt),
            expr: r(expr),
            span: *span,
        },
    }
}

fn shift_span(s: Span, offset: usize) -> Span {
    Span::new(s.start + offset, s.end + offset)
}

fn shifted(mut d: Diagnostic, offset: usize) -> Diagnostic {
    d.span = d.span.map(|s| shift_span(s, offset));
    for n in &mut d.notes {
        n.span = shift_span(n.span, offset);
    }
    d
}

fn shift_expr(expr: Expr, offset: usize) -> Expr {
    let b = |e: Box<Expr>| Box::new(shift_expr(*e, offset));
    let i = |id: Ident| Ident {
        name: id.name,
        span: shift_span(id.span, offset),
    };
    let s = |span| shift_span(span, offset);
    match expr {
        Expr::Number { text, span } => Expr::Number {
            text,
            span: s(span),
        },
        Expr::Name(id) => Expr::Name(i(id)),
        Expr::Neg { operand, span } => Expr::Neg {
            operand: b(operand),
            span: s(span),
        },
        Expr::Binary { op, lhs, rhs, span } => Expr::Binary {
            op,
            lhs: b(lhs),
            rhs: b(rhs),
            span: s(span),
        },
        Expr::Call { name, arg, span } => Expr::Call {
            name: i(name),
            arg: b(arg),
            span: s(span),
        },
        Expr::DerivRef { of, wrt, span } => Expr::DerivRef {
            of: i(of),
            wrt: i(wrt),
            span: s(span),
        },
        Expr::DerivOf { wrt, expr, span } => Expr::DerivOf {
            wrt: i(wrt),
            expr: b(expr),
            span: s(span),
        },
    }
}

/// The resolution of a claimed number: 0.73 claims two decimals, so anything that rounds
/// to it matches; `None` for integers and formulas, which are compared (nearly) exactly.
fn literal_digits(expr: &Expr) -> Option<(f64, String)> {
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
fn number_digits(text: &str, scale: i32) -> Option<(f64, String)> {
    let lower = text.to_ascii_lowercase();
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (lower.as_str(), 0),
    };
    let decimals = mantissa.split_once('.').map(|(_, f)| f.len() as i32)?;
    let power = exponent + scale - decimals;
    Some((10f64.powi(power), format!("1e{power}")))
}

// ---------------------------------------------------------------------------------------------
// Points
// ---------------------------------------------------------------------------------------------

/// Values of every name at one point: leaves as drawn or given, the rest computed.
#[derive(Clone)]
struct Sample {
    f64: HashMap<Sym, f64>,
    precise: HashMap<Sym, Precise>,
}

impl Checker {
    /// The leaves a formula (in names) depends on, through the definitions.
    fn leaves_of(&self, roots: &[Id]) -> Vec<Sym> {
        let mut seen: FastSet<Sym> = FastSet::default();
        let mut stack: Vec<Sym> = Vec::new();
        for id in self.model.graph.reachable(roots) {
            if let Node::Var(s) = self.model.graph.node(id) {
                stack.push(*s);
            }
        }
        let mut leaves = Vec::new();
        while let Some(s) = stack.pop() {
            if !seen.insert(s) {
                continue;
            }
            match self.model.definition(s) {
                None => leaves.push(s),
                Some(def) => {
                    for id in self.model.graph.reachable(&[def]) {
                        if let Node::Var(t) = self.model.graph.node(id) {
                            stack.push(*t);
                        }
                    }
                }
            }
        }
        leaves.sort();
        leaves
    }

    fn recognise_options(&mut self) -> Options {
        if let Some(options) = &self.recognise {
            return options.clone();
        }
        let options = diff::recognise_options(&mut self.model);
        self.recognise = Some(options.clone());
        options
    }

    /// The random points for a set of leaves, drawn and evaluated once per checker: every
    /// claim about the same names is judged at the same points.
    fn random_sample(
        &mut self,
        leaves: &[Sym],
        labels: Labels,
        attempt: usize,
    ) -> Option<std::rc::Rc<Sample>> {
        let key = (leaves.to_vec(), labels);
        if let Some(cached) = self.samples.get(&key).and_then(|v| v.get(attempt)) {
            return cached.clone();
        }
        // Drawn lazily (a large network's forward pass is costly) but each attempt from its
        // own seed, so the points do not depend on how many were drawn before.
        let mut rng = fastrand::Rng::with_seed(
            0x5eed_c1a1 ^ (attempt as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let targets: Vec<Sym> = leaves
            .iter()
            .copied()
            .filter(|&s| self.model.symbol(s).kind == SymKind::Target)
            .collect();
        // Mostly near the origin, where networks live, but some points far out: a claim off
        // by relu(x − 3) must not pass for never being tested beyond 3.
        let scale = [2.0, 2.0, 5.0, 10.0][attempt % 4];
        let hot = if targets.is_empty() {
            0
        } else {
            rng.usize(..targets.len())
        };
        let values: Vec<(Sym, f64)> = leaves
            .iter()
            .map(|&s| {
                let v = self.draw(&mut rng, s, scale);
                let v = match (labels, self.model.symbol(s).kind) {
                    (Labels::Binary, SymKind::Target) => v.round(),
                    (Labels::OneHot, SymKind::Target) => {
                        f64::from(u8::from(targets.get(hot) == Some(&s)))
                    }
                    _ => v,
                };
                (s, v)
            })
            .collect();
        let sample = self.sample(&values).map(std::rc::Rc::new);
        let cache = self.samples.entry(key).or_default();
        if cache.len() <= attempt {
            cache.resize(attempt + 1, None);
        }
        cache[attempt] = sample.clone();
        sample
    }

    /// A random value for a leaf from a domain that makes sense for its kind.
    fn draw(&self, rng: &mut fastrand::Rng, s: Sym, scale: f64) -> f64 {
        let u = rng.f64();
        if s == self.rate {
            if let Some(g) = self.given.iter().find(|g| g.sym == s) {
                return g.value;
            }
            return 0.01 + 0.99 * u;
        }
        match self.model.symbol(s).kind {
            SymKind::Target => 0.05 + 0.9 * u,
            _ => {
                let v = scale * (2.0 * u - 1.0);
                // Round to a few digits so that a counterexample reads well.
                (v * 1000.0).round() / 1000.0
            }
        }
    }

    /// Computes every name at the leaf values (float64 and high precision); `None` where
    /// something is undefined.
    fn sample(&self, leaves: &[(Sym, f64)]) -> Option<Sample> {
        let mut f64s: HashMap<Sym, f64> = HashMap::new();
        let mut precise: HashMap<Sym, Precise> = HashMap::new();
        for &(s, v) in leaves {
            f64s.insert(s, v);
            precise.insert(s, Precise::from_f64(v));
        }
        for &s in &self.model.order {
            if f64s.contains_key(&s) {
                continue;
            }
            let def = self.model.definition(s)?;
            let Ok(v) = eval::eval_f64(&self.model.graph, &[def], &|t| f64s.get(&t).copied())
            else {
                continue;
            };
            let Ok(p) = eval::eval_precise(
                &self.model.graph,
                &[def],
                &|t| precise.get(&t).cloned(),
                PRECISION,
            ) else {
                continue;
            };
            f64s.insert(s, v[0]);
            precise.insert(s, p[0].clone());
        }
        Some(Sample { f64: f64s, precise })
    }

    /// The value of a formula at a sample, expanded into the leaves and evaluated with the
    /// precision raised until stable: the reference when the fixed precision is in doubt.
    fn exact_at(&mut self, id: Id, sample: &Sample) -> Option<Precise> {
        let expanded = match self.expanded.get(&id) {
            Some(&e) => e,
            None => {
                let e = diff::expand(&mut self.model, &[id])[0];
                self.expanded.insert(id, e);
                e
            }
        };
        eval::eval_precise_stable(&self.model.graph, &[expanded], &|s| {
            sample.precise.get(&s).cloned()
        })
        .ok()
        .map(|mut v| v.values.remove(0))
    }

    /// A value to show the reader: at the working precision, or where that is in doubt (a
    /// tiny value, likely the residue of a cancellation) with the precision raised.
    fn shown_at(&mut self, id: Id, sample: &Sample) -> Option<f64> {
        let quick = self.precise_at(id, sample).as_ref().and_then(finite);
        match quick {
            Some(v) if v.abs() >= 1e-20 => Some(v),
            _ => self.exact_at(id, sample).as_ref().and_then(finite),
        }
    }

    fn precise_at(&self, id: Id, sample: &Sample) -> Option<Precise> {
        eval::eval_precise(
            &self.model.graph,
            &[id],
            &|s| sample.precise.get(&s).cloned(),
            PRECISION,
        )
        .ok()
        .map(|mut v| v.remove(0))
    }

    fn f64_at(&self, id: Id, sample: &Sample) -> Option<f64> {
        eval::eval_f64(&self.model.graph, &[id], &|s| sample.f64.get(&s).copied())
            .ok()
            .map(|v| v[0])
    }
}

fn finite(p: &Precise) -> Option<f64> {
    match p {
        Precise::Finite(_) => Some(p.to_f64()).filter(|v| v.is_finite()),
        _ => None,
    }
}

fn same_precise(a: &Precise, b: &Precise) -> bool {
    let (Some(x), Some(y)) = (finite(a), finite(b)) else {
        return false;
    };
    let difference = a.sub(b, PRECISION).to_f64().abs();
    difference <= SAME * x.abs().max(y.abs()) || difference < 1e-300
}

fn fits(a: f64, b: f64) -> bool {
    a.is_finite() && b.is_finite() && (a - b).abs() <= FITS * a.abs().max(b.abs()) + 1e-300
}

// ---------------------------------------------------------------------------------------------
// Identities
// ---------------------------------------------------------------------------------------------

enum Decision {
    Symbolic,
    Numeric(usize),
    /// Holds at random points whose targets are labels, not for every target value.
    ForLabels(usize, Labels),
    Differs(Sample),
    Unknown(String),
}

impl Checker {
    fn identity_claim(&mut self, subject: &Subject, truth: Id, claimed: Id) -> Checked {
        let decision = self.decide(truth, claimed);
        let printer_pair = |m: &Model, id: Id| {
            let p = FormulaPrinter::new(&m.graph, &m.symbols);
            (p.plain(id), p.latex(id))
        };
        let expected = Some(printer_pair(&self.model, truth));
        let mut checked = Checked {
            claim: String::new(),
            verdict: Verdict::Correct,
            method: String::new(),
            counterexample: None,
            claimed_value: None,
            true_value: None,
            diagnosis: None,
            corrected: None,
            expected,
        };
        match decision {
            Decision::Symbolic => checked.method = "symbolic".to_string(),
            Decision::Numeric(n) => checked.method = format!("numeric, {n} points"),
            Decision::ForLabels(n, labels) => {
                checked.method = match labels {
                    Labels::OneHot => format!(
                        "numeric, {n} points with one-hot targets (one y is 1, the others 0, as classification labels are); it does not hold for every y"
                    ),
                    _ => format!(
                        "numeric, {n} points with targets 0 or 1 (as binary labels are); it does not hold for every y"
                    ),
                }
            }
            Decision::Unknown(why) => {
                checked.verdict = Verdict::Unknown;
                checked.method = why;
            }
            Decision::Differs(random_point) => {
                checked.verdict = Verdict::Incorrect;
                checked.method = "numeric, a point where the sides differ".to_string();
                let leaves = self.leaves_of(&[truth, claimed]);
                let (point, note) = self.counterexample(&leaves, truth, claimed, random_point);
                // Shown to the reader: precision raised until stable, so an exact 0 is not
                // shown as a 1e−39 residue.
                let t = self.shown_at(truth, &point);
                let k = self.shown_at(claimed, &point);
                checked.counterexample = Some(
                    leaves
                        .iter()
                        .filter_map(|&s| {
                            point
                                .f64
                                .get(&s)
                                .map(|&v| (self.model.name(s).to_string(), v))
                        })
                        .collect(),
                );
                checked.true_value = t;
                checked.claimed_value = k;
                let diagnosis = self.diagnose(subject, truth, claimed, &leaves);
                let (sentence, corrected) = match diagnosis {
                    Some((sentence, corrected)) => (sentence, corrected.unwrap_or(truth)),
                    None => (
                        "No single mistake explains the difference (it is not a sign, a constant factor, one chain-rule factor, one path at a fork, or a one-symbol slip); compare the claim with the derivation step by step (`chainrule derive`).".to_string(),
                        truth,
                    ),
                };
                checked.diagnosis = Some(match note {
                    Some(note) => format!("{sentence} {note}"),
                    None => sentence,
                });
                checked.corrected = Some(printer_pair(&self.model, corrected));
            }
        }
        checked
    }

    fn decide(&mut self, truth: Id, claimed: Id) -> Decision {
        let leaves = self.leaves_of(&[truth, claimed]);
        // Simplification may define what the claim leaves undefined (0/(w − w) is not 0):
        // the symbolic verdict needs the claim, as written, to have a value somewhere.
        let defined_somewhere = (0..8).any(|attempt| {
            self.random_sample(&leaves, Labels::Free, attempt)
                .is_some_and(|sample| self.f64_at(claimed, &sample).is_some_and(f64::is_finite))
        });
        if defined_somewhere {
            let expanded = diff::expand(&mut self.model, &[truth, claimed]);
            let options = Options::default();
            let t = simplify::simplify(&mut self.model.graph, expanded[0], &options);
            let k = simplify::simplify(&mut self.model.graph, expanded[1], &options);
            if t == k {
                return Decision::Symbolic;
            }
            let difference = self.model.graph.sub(t, k);
            let difference = simplify::simplify(&mut self.model.graph, difference, &options);
            if self
                .model
                .graph
                .as_num(difference)
                .is_some_and(|n| n.is_zero())
            {
                return Decision::Symbolic;
            }
        }
        let decision = self.numeric(truth, claimed, &leaves, Labels::Free);
        if !matches!(decision, Decision::Differs(_)) {
            return decision;
        }
        // δ = a − y for softmax with log-likelihood, σ(z) − y for softplus((1 − 2y)z): true
        // for the labels classifiers are trained on, not for every y.
        let targets = leaves
            .iter()
            .filter(|&&s| self.model.symbol(s).kind == SymKind::Target)
            .count();
        let labels = match targets {
            0 => return decision,
            1 => Labels::Binary,
            _ => Labels::OneHot,
        };
        match self.numeric(truth, claimed, &leaves, labels) {
            Decision::Numeric(n) => Decision::ForLabels(n, labels),
            _ => decision,
        }
    }

    /// The two sides at random points (the `--at` point first), at high precision.
    fn numeric(&mut self, truth: Id, claimed: Id, leaves: &[Sym], labels: Labels) -> Decision {
        let mut valid = 0;
        let raw = claimed;
        // The claim with its subterms named (σ(z3) is a3, known at each point): the same
        // values, without recomputing the network's activations at every point.
        let recognise = self.recognise_options();
        let claimed = simplify::simplify(&mut self.model.graph, claimed, &recognise);
        // The given point first: a counterexample there reads best.
        let given = if labels == Labels::Free {
            self.given_sample(leaves).map(std::rc::Rc::new)
        } else {
            None
        };
        let given_count = given.iter().count();
        for index in 0..given_count + ATTEMPTS {
            let sample = match (&given, index) {
                (Some(g), 0) => g.clone(),
                _ => match self.random_sample(leaves, labels, index - given_count) {
                    Some(s) => s,
                    None => continue,
                },
            };
            let sample = sample.as_ref();
            // Where the claim as written is undefined, the point does not count.
            let defined = self.f64_at(raw, sample).is_some_and(f64::is_finite)
                || self
                    .precise_at(raw, sample)
                    .as_ref()
                    .is_some_and(|v| finite(v).is_some());
            if !defined {
                continue;
            }
            // In names, with the names' values at the point: the same values as the expanded
            // forms, without evaluating the network again for every formula.
            // The truth's value is shared by every claim about the same quantity.
            let tv = if index >= given_count {
                let key = (truth, leaves.to_vec(), labels, index - given_count);
                match self.truth_values.get(&key) {
                    Some(v) => v.clone(),
                    None => {
                        let v = self.precise_at(truth, sample);
                        self.truth_values.insert(key, v.clone());
                        v
                    }
                }
            } else {
                self.precise_at(truth, sample)
            };
            let (Some(tv), Some(kv)) = (tv, self.precise_at(claimed, sample)) else {
                continue;
            };
            if finite(&tv).is_none() || finite(&kv).is_none() {
                continue;
            }
            if !same_precise(&tv, &kv) {
                // 128 bits are not enough where a saturated activation cancels (1 − σ(400),
                // log(1 + e^−70)): then the values are tiny or nearly agree, and are confirmed
                // in inputs and parameters alone, the precision raised until the digits are
                // stable. A plain disagreement needs no confirmation.
                let (t64, k64) = (tv.to_f64(), kv.to_f64());
                let doubtful = t64.abs().min(k64.abs()) < 1e-20
                    || (t64 - k64).abs() <= 1e-6 * t64.abs().max(k64.abs())
                    || !t64.is_finite()
                    || !k64.is_finite();
                if !doubtful {
                    return Decision::Differs(sample.clone());
                }
                let exact = (self.exact_at(truth, sample), self.exact_at(raw, sample));
                match exact {
                    (Some(t), Some(k)) if same_precise(&t, &k) => {}
                    (Some(t), Some(k)) if finite(&t).is_some() && finite(&k).is_some() => {
                        return Decision::Differs(sample.clone());
                    }
                    _ => continue,
                }
            }
            valid += 1;
            if valid >= POINTS {
                return Decision::Numeric(valid);
            }
        }
        Decision::Unknown(format!(
            "undecided: only {valid} of {ATTEMPTS} random points gave both sides a value (at least {POINTS} are needed)"
        ))
    }

    /// The `--at` point as a sample, the rest of the leaves filled with simple values.
    fn given_sample(&self, leaves: &[Sym]) -> Option<Sample> {
        if self.given.is_empty() {
            return None;
        }
        let values: Vec<(Sym, f64)> = leaves
            .iter()
            .map(|&s| match self.given.iter().find(|g| g.sym == s) {
                Some(g) => (s, g.value),
                None => (s, self.simple_value(s, 0)),
            })
            .collect();
        self.sample(&values)
    }

    /// Simple values for a counterexample, by kind: the `variant`-th choice.
    fn simple_value(&self, s: Sym, variant: usize) -> f64 {
        if s == self.rate {
            return self
                .given
                .iter()
                .find(|g| g.sym == s)
                .map_or(0.1, |g| g.value);
        }
        const PARAMS: [f64; 5] = [0.5, 1.0, -1.0, 2.0, 0.25];
        const INPUTS: [f64; 5] = [1.0, 1.0, 2.0, 0.5, -1.0];
        const TARGETS: [f64; 5] = [0.0, 1.0, 0.0, 1.0, 0.5];
        match self.model.symbol(s).kind {
            SymKind::Target => TARGETS[variant % 5],
            SymKind::Param => PARAMS[variant % 5],
            _ => INPUTS[variant % 5],
        }
    }

    /// A point to show: the `--at` point if the sides differ there, else a simple point,
    /// else the random one. The note says when the claim holds at the given point.
    fn counterexample(
        &mut self,
        leaves: &[Sym],
        truth: Id,
        claimed: Id,
        random: Sample,
    ) -> (Sample, Option<String>) {
        let differs = |this: &Self, sample: &Sample| -> bool {
            match (
                this.precise_at(truth, sample),
                this.precise_at(claimed, sample),
            ) {
                (Some(t), Some(k)) => {
                    finite(&t).is_some()
                        && finite(&k).is_some()
                        && !same_precise(&t, &k)
                        && !fits(t.to_f64(), k.to_f64())
                }
                _ => false,
            }
        };
        let mut note = None;
        if let Some(given) = self.given_sample(leaves) {
            if differs(self, &given) {
                return (given, None);
            }
            note = Some("It holds at the given point, but not in general.".to_string());
        }
        for variant in 0..6 {
            let values: Vec<(Sym, f64)> = leaves
                .iter()
                .enumerate()
                .map(|(i, &s)| match variant {
                    // Distinct values, for claims that swap two names equal at a symmetric point.
                    5 if s != self.rate => (
                        s,
                        match self.model.symbol(s).kind {
                            SymKind::Target => (i % 2) as f64,
                            _ => (i as f64 + 1.0) / 10.0,
                        },
                    ),
                    _ => (s, self.simple_value(s, variant)),
                })
                .collect();
            let key = (leaves.to_vec(), variant);
            let sample = match self.simple_samples.get(&key) {
                Some(cached) => cached.clone(),
                None => {
                    let sample = self.sample(&values).map(std::rc::Rc::new);
                    self.simple_samples.insert(key, sample.clone());
                    sample
                }
            };
            if let Some(sample) = sample
                && differs(self, &sample)
            {
                return (sample.as_ref().clone(), note);
            }
        }
        (random, note)
    }
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

impl Checker {
    fn value_claim(
        &mut self,
        truth: Id,
        claimed: Id,
        digits: Option<(f64, String)>,
        given: &[Given],
        span: Span,
    ) -> Result<Checked, Diagnostic> {
        // Leaves the claim does not depend on need no value (the target, for `f(2) = 0`).
        let needed = self.leaves_of(&[truth, claimed]);
        let mut given = given.to_vec();
        for s in self.model.syms() {
            if self.model.symbol(s).kind.is_leaf()
                && !needed.contains(&s)
                && !given.iter().any(|g| g.sym == s)
            {
                given.push(Given {
                    sym: s,
                    text: "0".to_string(),
                    value: 0.0,
                });
            }
        }
        let point = numeric::forward(&self.model, &given).map_err(|d| {
            // Say which claim needs the value.
            let mut d = d;
            if d.span.is_none() {
                d.span = Some(span);
                d.label = "a value claim is judged at the `--at` point".to_string();
            }
            d
        })?;
        let sample = Sample {
            f64: point.f64.clone(),
            precise: point.precise.clone(),
        };
        let reference = eval::eval_precise_stable(&self.model.graph, &[truth], &|s| {
            point.precise.get(&s).cloned()
        })
        .ok()
        .map(|mut s| s.values.remove(0));
        let claimed_precise = self.precise_at(claimed, &sample);
        let printer = FormulaPrinter::new(&self.model.graph, &self.model.symbols);
        let expected = Some((printer.plain(truth), printer.latex(truth)));
        let counterexample: Vec<(String, f64)> = given
            .iter()
            .filter(|g| needed.contains(&g.sym))
            .map(|g| (self.model.name(g.sym).to_string(), g.value))
            .collect();
        let mut checked = Checked {
            claim: String::new(),
            verdict: Verdict::Correct,
            method: "value at the given point".to_string(),
            counterexample: None,
            claimed_value: None,
            true_value: None,
            diagnosis: None,
            corrected: None,
            expected,
        };
        let (Some(t), Some(k)) = (
            reference.as_ref().and_then(finite),
            claimed_precise.as_ref().and_then(finite),
        ) else {
            checked.verdict = Verdict::Unknown;
            checked.method =
                "undecided: the value is not a real number at the given point".to_string();
            return Ok(checked);
        };
        // A claim with d decimals matches a value that rounds to it.
        let matches = |v: f64| match &digits {
            Some((unit, _)) => (v - k).abs() <= unit / 2.0 * (1.0 + 1e-9),
            None => (v - k).abs() <= 1e-9 * v.abs().max(k.abs()) || (v == 0.0 && k == 0.0),
        };
        if matches(t) {
            if let Some((_, unit)) = &digits {
                checked.method = format!("value at the given point, to the digits given (±{unit})");
            } else if let (Some(reference), Some(claimed)) = (&reference, &claimed_precise)
                && !reference.sub(claimed, 4 * PRECISION).is_zero()
            {
                // `a2 = 1` for σ(50): right to 22 digits, and float64 even says exactly 1, but
                // the reader should know it is not.
                checked.method = format!(
                    "value at the given point, to 1e-9 relative; not exactly: the true value is {}",
                    numeric::plain_decimal(&reference.to_decimal_string(25))
                );
            }
            return Ok(checked);
        }
        checked.verdict = Verdict::Incorrect;
        checked.counterexample = Some(counterexample);
        checked.true_value = Some(t);
        checked.claimed_value = Some(k);
        let float64 = self.f64_at(truth, &sample);
        let sentence = if float64.is_some_and(matches) {
            format!(
                "{} is what float64 computes here, but the true value is {}: float64 rounding, not the mathematics (run `chainrule eval` at this point to see where the digits are lost).",
                numeric::float(k),
                numeric::float(t)
            )
        } else if matches(-t) {
            format!("The sign is wrong: the value is {}.", numeric::float(t))
        } else if let Some((name, activation)) = self.activation_skipped(&sample, &matches, truth) {
            format!(
                "{} is {name}, the value before the activation: the claimed quantity is {activation} = {}.",
                numeric::float(k),
                numeric::float(t)
            )
        } else if let Some(name) = self.name_with_value(&sample, matches, truth) {
            format!(
                "{} is the value of {name} here, not of the quantity claimed, which is {}.",
                numeric::float(k),
                numeric::float(t)
            )
        } else if let Some((unit, _)) = &digits
            && (t - k).abs() < *unit
            && k.abs() < t.abs()
            && k * t > 0.0
        {
            let decimals = (-unit.log10().round()).max(0.0) as usize;
            format!(
                "The value is {}: cut off rather than rounded; to these digits it is {:.*}.",
                numeric::float(t),
                decimals,
                t
            )
        } else {
            format!(
                "The value is {}, not {}.",
                numeric::float(t),
                numeric::float(k)
            )
        };
        checked.diagnosis = Some(sentence);
        Ok(checked)
    }

    /// A computed name whose value at the point matches the claim (`z3` claimed for `a3`).
    /// When the claimed name is an activation σ(z) (through aliases like `f = a3`) and the
    /// claim is z's value: the name z and the activation written out.
    fn activation_skipped(
        &self,
        sample: &Sample,
        matches: &impl Fn(f64) -> bool,
        truth: Id,
    ) -> Option<(String, String)> {
        let Node::Var(mut s) = *self.model.graph.node(truth) else {
            return None;
        };
        let mut chain = vec![self.model.name(s).to_string()];
        for _ in 0..self.model.symbols.len() {
            let def = self.model.definition(s)?;
            match *self.model.graph.node(def) {
                Node::Var(t) => {
                    s = t;
                    chain.push(self.model.name(t).to_string());
                }
                Node::Call(f, arg) if f.prime().is_some() || f == Func::Softplus => {
                    let Node::Var(z) = *self.model.graph.node(arg) else {
                        return None;
                    };
                    let value = *sample.f64.get(&z)?;
                    if !matches(value) {
                        return None;
                    }
                    let zname = self.model.name(z);
                    let fname = if f == Func::Sigmoid { "σ" } else { f.name() };
                    chain.push(format!(
                        "{fname}({zname}) = {fname}({})",
                        numeric::float(value)
                    ));
                    return Some((zname.to_string(), chain.join(" = ")));
                }
                _ => return None,
            }
        }
        None
    }

    fn name_with_value(
        &self,
        sample: &Sample,
        matches: impl Fn(f64) -> bool,
        truth: Id,
    ) -> Option<String> {
        // Computed names the claimed quantity depends on, nearest first (z3 before a2 for a
        // claim about a3), then the others.
        let truth_name = match self.model.graph.node(truth) {
            Node::Var(s) => Some(*s),
            _ => None,
        };
        let down = truth_name.map(|t| self.down_set(t)).unwrap_or_default();
        let upstream = |s: Sym| down.contains(&s);
        let mut names: Vec<Sym> = self
            .model
            .order
            .iter()
            .rev()
            .copied()
            .filter(|&s| upstream(s))
            .collect();
        names.extend(
            self.model
                .order
                .iter()
                .rev()
                .copied()
                .filter(|&s| !upstream(s)),
        );
        names
            .into_iter()
            .filter(|&s| self.model.graph_var(s) != truth)
            .find(|s| sample.f64.get(s).copied().is_some_and(&matches))
            .map(|s| {
                let name = self.model.name(s).to_string();
                match self.model.definition(s) {
                    Some(def) => {
                        let p = FormulaPrinter::new(&self.model.graph, &self.model.symbols);
                        format!("{name} = {}", p.text(def))
                    }
                    None => name,
                }
            })
    }
}

// ---------------------------------------------------------------------------------------------
// Diagnosis
// ---------------------------------------------------------------------------------------------

/// Screening points with the claim's and the truth's values there.
struct Screen {
    samples: Vec<Sample>,
    claimed: Vec<f64>,
    truth: Vec<f64>,
}

impl Checker {
    fn screen(&mut self, leaves: &[Sym], truth: Id, claimed: Id) -> Option<Screen> {
        let mut screen = Screen {
            samples: Vec::new(),
            claimed: Vec::new(),
            truth: Vec::new(),
        };
        for attempt in 0..ATTEMPTS {
            // Hypotheses are screened in float64, so only at the points near the origin,
            // where float64 is trustworthy (far out, saturated activations cancel).
            if attempt % 4 >= 2 {
                continue;
            }
            let Some(sample) = self.random_sample(leaves, Labels::Free, attempt) else {
                continue;
            };
            let sample = sample.as_ref();
            let (Some(t), Some(k)) = (self.f64_at(truth, sample), self.f64_at(claimed, sample))
            else {
                continue;
            };
            // Zeros stay: where relu'(z) = 0 a missing relu' shows, and a constant ratio must
            // hold there too.
            if !(t.is_finite() && k.is_finite()) {
                continue;
            }
            screen.samples.push(sample.clone());
            screen.truth.push(t);
            screen.claimed.push(k);
            if screen.samples.len() == SCREEN_POINTS {
                return Some(screen);
            }
        }
        (screen.samples.len() >= 3).then_some(screen)
    }

    /// The constant c with claim = c·truth at every screening point, if there is one (and
    /// it is not 1: then the points cannot tell the sides apart).
    fn constant_of(screen: &Screen) -> Option<f64> {
        let nonzero = screen
            .claimed
            .iter()
            .zip(&screen.truth)
            .filter(|(k, t)| **k != 0.0 && **t != 0.0)
            .count();
        if nonzero < 3 {
            return None;
        }
        let (k0, t0) = screen
            .claimed
            .iter()
            .zip(&screen.truth)
            .find(|(k, t)| **k != 0.0 && **t != 0.0)?;
        let c = k0 / t0;
        let everywhere = screen
            .claimed
            .iter()
            .zip(&screen.truth)
            .all(|(k, t)| fits(*k, c * t));
        (everywhere && !fits(c, 1.0)).then_some(c)
    }

    /// Whether `candidate` equals `reference` values at every screening point, confirmed at
    /// high precision at the first ones.
    fn fits_everywhere(&self, screen: &Screen, candidate: Id, against_claim: bool) -> bool {
        let reference = if against_claim {
            &screen.claimed
        } else {
            &screen.truth
        };
        for (sample, &r) in screen.samples.iter().zip(reference) {
            match self.f64_at(candidate, sample) {
                Some(v) if fits(v, r) => {}
                _ => return false,
            }
        }
        true
    }

    /// Whether two formulas agree at every screening point.
    fn fits_formulas(&self, screen: &Screen, a: Id, b: Id) -> bool {
        screen.samples.iter().all(|sample| {
            matches!((self.f64_at(a, sample), self.f64_at(b, sample)), (Some(x), Some(y)) if fits(x, y))
        })
    }

    /// Whether a formula is non-zero at `n` screening points at least.
    fn nonzero_at_least(&self, screen: &Screen, id: Id, n: usize) -> bool {
        screen
            .samples
            .iter()
            .filter(|sample| {
                self.f64_at(id, sample)
                    .is_some_and(|v| v != 0.0 && v.is_finite())
            })
            .count()
            >= n
    }

    /// The likeliest mistake: a sentence, and the corrected formula when it is not the truth.
    fn diagnose(
        &mut self,
        subject: &Subject,
        truth: Id,
        claimed: Id,
        leaves: &[Sym],
    ) -> Option<(String, Option<Id>)> {
        let screen = self.screen(leaves, truth, claimed)?;
        let path = match *subject {
            Subject::Derivative(target) => self.between(target.of, target.wrt),
            Subject::Update(theta) | Subject::Change(theta) => self.between(self.model.cost, theta),
            _ => Vec::new(),
        };
        self.nearby = self.nearby_names(&path, &[truth, claimed]);
        match *subject {
            Subject::Update(theta) => self.diagnose_update(&screen, theta, claimed),
            Subject::Derivative(target) => {
                self.diagnose_derivative(&screen, target, truth, claimed)
            }
            _ => self.diagnose_formula(&screen, claimed),
        }
    }

    fn diagnose_formula(&mut self, screen: &Screen, claimed: Id) -> Option<(String, Option<Id>)> {
        if let Some(found) = self.sign_or_constant(screen) {
            return Some(found);
        }
        self.single_edit(screen, claimed)
    }

    fn sign_or_constant(&mut self, screen: &Screen) -> Option<(String, Option<Id>)> {
        let first = Self::constant_of(screen)?;
        if fits(first, -1.0) {
            let why = if self.cost_squares_a_difference() {
                "a minus sign dropped, most often the −1 from differentiating y − a inside the square"
            } else {
                "a minus sign dropped or a difference written the wrong way round"
            };
            return Some((
                format!("A sign error: the claim is the negative of the true value ({why})."),
                None,
            ));
        }
        let c = approximate_ratio(first);
        let convention = if fits(first, 2.0) || fits(first, 0.5) {
            " A factor of 2 or ½ usually comes from the cost's convention: ½(y − a)² has derivative (a − y), while (y − a)² has 2(a − y)."
        } else {
            ""
        };
        Some((
            format!("Off by a constant factor: the claim is {c} times the true value.{convention}"),
            None,
        ))
    }

    /// Only a constant ratio (the sign aside): a factor like 2 or ½.
    fn constant_ratio(&mut self, screen: &Screen) -> Option<(String, Option<Id>)> {
        match Self::constant_of(screen) {
            Some(c) if !fits(c, -1.0) => self.sign_or_constant(screen),
            _ => None,
        }
    }

    fn diagnose_update(
        &mut self,
        screen: &Screen,
        theta: Sym,
        claimed: Id,
    ) -> Option<(String, Option<Id>)> {
        let gradient = self.gradient(theta);
        let g = &mut self.model.graph;
        let theta_var = g.var(theta);
        let eta = g.var(self.rate);
        let step = g.product(vec![eta, gradient]);
        let ascent = g.sum(vec![theta_var, step]);
        let no_rate = g.sub(theta_var, gradient);
        let neg_step = g.neg(step);
        let name = self.model.name(theta).to_string();
        let cost = self.model.name(self.model.cost).to_string();
        if self.fits_everywhere(screen, ascent, true) {
            let confirmed = self.ascent_raises_cost(&screen.samples[0], theta, gradient);
            return Some((
                format!(
                    "Gradient ascent written for descent: {name} + η·∂{cost}/∂{name} moves uphill; descent subtracts the gradient, {name} − η·∂{cost}/∂{name}.{}",
                    confirmed
                        .map(|(before, after)| format!(
                            " A small step of the claimed rule raises the cost from {} to {}.",
                            numeric::float(before),
                            numeric::float(after)
                        ))
                        .unwrap_or_default()
                ),
                None,
            ));
        }
        if self.fits_everywhere(screen, no_rate, true) {
            return Some((
                format!(
                    "The learning rate is missing: the step is η·∂{cost}/∂{name}, not ∂{cost}/∂{name} alone."
                ),
                None,
            ));
        }
        if self.fits_everywhere(screen, neg_step, true) {
            return Some((
                format!(
                    "This is the change Δ{name} = −η·∂{cost}/∂{name}, not the new value {name} − η·∂{cost}/∂{name}."
                ),
                None,
            ));
        }
        // The gradient the claim uses: (θ − θ')/η, diagnosed as a derivative claim.
        let g = &mut self.model.graph;
        let difference = g.sub(theta_var, claimed);
        let claimed_gradient = g.div(difference, eta);
        let inner_screen = Screen {
            samples: screen.samples.clone(),
            claimed: screen
                .samples
                .iter()
                .map(|s| self.f64_at(claimed_gradient, s).unwrap_or(f64::NAN))
                .collect(),
            truth: screen
                .samples
                .iter()
                .map(|s| self.f64_at(gradient, s).unwrap_or(f64::NAN))
                .collect(),
        };
        if inner_screen
            .claimed
            .iter()
            .chain(&inner_screen.truth)
            .any(|v| !v.is_finite())
        {
            return None;
        }
        let target = Target {
            of: self.model.cost,
            wrt: theta,
        };
        let inner = self.diagnose_derivative(&inner_screen, target, gradient, claimed_gradient);
        match inner {
            // A finding about the gradient as such (a factor, a path, a sign).
            Some((sentence, None)) => Some((
                format!(
                    "In the gradient the rule uses, {}",
                    lowercase_first(&sentence)
                ),
                None,
            )),
            // An edit of (θ − θ')/η is an edit of a formula nobody wrote: edit the rule
            // itself instead.
            _ => self.single_edit(screen, claimed),
        }
    }

    /// Cost before and after a small step of the ascent rule, at a sample.
    fn ascent_raises_cost(&self, sample: &Sample, theta: Sym, gradient: Id) -> Option<(f64, f64)> {
        let g = self.f64_at(gradient, sample)?;
        let cost = *sample.f64.get(&self.model.cost)?;
        let theta_value = *sample.f64.get(&theta)?;
        let eta = 1e-3 / g.abs().max(1e-12);
        let leaves: Vec<(Sym, f64)> = sample
            .f64
            .iter()
            .filter(|(s, _)| self.model.definition(**s).is_none())
            .map(|(&s, &v)| (s, if s == theta { theta_value + eta * g } else { v }))
            .collect();
        let after = self.sample(&leaves)?;
        let after_cost = *after.f64.get(&self.model.cost)?;
        (after_cost > cost).then_some((cost, after_cost))
    }

    fn diagnose_derivative(
        &mut self,
        screen: &Screen,
        target: Target,
        truth: Id,
        claimed: Id,
    ) -> Option<(String, Option<Id>)> {
        if Self::constant_of(screen).is_some_and(|c| fits(c, -1.0)) {
            return self.sign_or_constant(screen);
        }
        if let Some(found) = self.constant_ratio(screen) {
            return Some(found);
        }
        if let Some(found) = self.missing_path(screen, target) {
            return Some(found);
        }
        if let Some(found) = self.cost_term(screen, target) {
            return Some(found);
        }
        if let Some(found) = self.chain_stopped(screen, target) {
            return Some(found);
        }
        if let Some(found) = self.activation_for_derivative(screen, claimed) {
            return Some(found);
        }
        if let Some(found) = self.factor(screen, target, truth, claimed) {
            return Some(found);
        }
        if let Some(found) = self.single_edit(screen, claimed) {
            return Some(found);
        }
        if let Some(found) = self.derivative_edit(screen) {
            return Some(found);
        }
        self.sign_or_constant(screen)
    }

    /// A derivative in the claim taken with respect to the wrong name: `δ3` (∂C/∂z3) for
    /// `δ2`, `dC/da2` for `dC/dz2`.
    fn derivative_edit(&mut self, screen: &Screen) -> Option<(String, Option<Id>)> {
        let unresolved = self.unresolved;
        let nodes = self.model.graph.reachable(&[unresolved]);
        for node in nodes {
            let Node::Deriv(of, wrt) = *self.model.graph.node(node) else {
                continue;
            };
            let kind = self.model.symbol(wrt).kind;
            for other in self.nearby.clone() {
                if other == wrt || self.model.symbol(other).kind != kind {
                    continue;
                }
                let replacement = self.model.graph.deriv(of, other);
                let replaced = self.model.graph.replace(unresolved, node, replacement);
                let candidate = diff::resolve_derivatives(&mut self.model, replaced);
                if self.fits_everywhere(screen, candidate, false) {
                    let printer = FormulaPrinter::new(&self.model.graph, &self.model.symbols);
                    return Some((
                        format!(
                            "`{}` should be `{}`: the derivative is taken with respect to the wrong name (a different layer or neuron).",
                            printer.text(node),
                            printer.text(replacement)
                        ),
                        Some(candidate),
                    ));
                }
            }
        }
        None
    }

    /// An activation written where its derivative belongs: `h1` (= relu(z1)) for relu'(z1),
    /// `σ(z)` for σ'(z), softplus for its derivative σ.
    fn activation_for_derivative(
        &mut self,
        screen: &Screen,
        claimed: Id,
    ) -> Option<(String, Option<Id>)> {
        let nodes = self.model.graph.reachable(&[claimed]);
        for node in nodes {
            let (shown, f, arg) = match *self.model.graph.node(node) {
                Node::Var(s) => match self.model.definition(s).map(|d| self.model.graph.node(d)) {
                    Some(&Node::Call(f, arg)) => (self.model.name(s).to_string(), f, arg),
                    _ => continue,
                },
                Node::Call(f, arg) => {
                    let printer = FormulaPrinter::new(&self.model.graph, &self.model.symbols);
                    (printer.text(node), f, arg)
                }
                _ => continue,
            };
            let derivative = match f {
                Func::Softplus => Func::Sigmoid,
                other => match other.prime() {
                    Some(p) => p,
                    None => continue,
                },
            };
            let replacement = self.model.graph.call(derivative, arg);
            let replaced = self.model.graph.replace(claimed, node, replacement);
            let candidate = replaced;
            if self.fits_everywhere(screen, candidate, false) {
                let printer = FormulaPrinter::new(&self.model.graph, &self.model.symbols);
                return Some((
                    format!(
                        "The activation is written where its derivative belongs: `{shown}` should be `{}`.",
                        printer.text(replacement)
                    ),
                    Some(candidate),
                ));
            }
        }
        None
    }

    /// Names that depend on `x` (itself included) and that `y` depends on: the path.
    fn between(&self, y: Sym, x: Sym) -> Vec<Sym> {
        let down = self.down_set(y);
        let up = self.up_set(x);
        self.model
            .syms()
            .filter(|s| down.contains(s) && up.contains(s))
            .collect()
    }

    /// `y` and every name it depends on.
    fn down_set(&self, y: Sym) -> FastSet<Sym> {
        let mut seen: FastSet<Sym> = FastSet::default();
        let mut stack = vec![y];
        while let Some(s) = stack.pop() {
            if !seen.insert(s) {
                continue;
            }
            if let Some(def) = self.model.definition(s) {
                for id in self.model.graph.reachable(&[def]) {
                    if let Node::Var(t) = self.model.graph.node(id) {
                        stack.push(*t);
                    }
                }
            }
        }
        seen
    }

    /// `x` and every name that depends on it, in one pass over the program.
    fn up_set(&self, x: Sym) -> FastSet<Sym> {
        let mut up: FastSet<Sym> = FastSet::default();
        up.insert(x);
        for &s in &self.model.order {
            let Some(def) = self.model.definition(s) else {
                continue;
            };
            let uses = self
                .model
                .graph
                .reachable(&[def])
                .into_iter()
                .any(|id| matches!(self.model.graph.node(id), Node::Var(t) if up.contains(t)));
            if uses {
                up.insert(s);
            }
        }
        up
    }

    /// The names a diagnosis considers: those in the two formulas, on the path, and in the
    /// path's definitions. On a large network this is the neighbourhood of the claim, not
    /// every weight.
    fn nearby_names(&self, path: &[Sym], formulas: &[Id]) -> Vec<Sym> {
        let mut near: FastSet<Sym> = path.iter().copied().collect();
        let mut roots: Vec<Id> = formulas.to_vec();
        roots.extend(path.iter().filter_map(|&s| self.model.definition(s)));
        for id in self.model.graph.reachable(&roots) {
            if let Node::Var(s) = self.model.graph.node(id) {
                near.insert(*s);
            }
        }
        near.remove(&self.rate);
        let mut names: Vec<Sym> = near.into_iter().collect();
        names.sort();
        names
    }

    /// The users of `v` among `names`.
    fn users(&self, v: Sym, names: &[Sym]) -> Vec<Sym> {
        names
            .iter()
            .copied()
            .filter(|&u| u != v)
            .filter(|&u| {
                self.model
                    .definition(u)
                    .is_some_and(|d| self.model.graph.mentions(d, v))
            })
            .collect()
    }

    /// A fork on the path where the claim counts only some of the users.
    fn missing_path(&mut self, screen: &Screen, target: Target) -> Option<(String, Option<Id>)> {
        let path = self.between(target.of, target.wrt);
        for &v in &path {
            // A name the cost uses directly is a term of the cost: `cost_term` says it better.
            let users: Vec<Sym> = self
                .users(v, &path)
                .into_iter()
                .filter(|&u| u != self.model.cost || target.of != self.model.cost)
                .collect();
            if users.len() < 2 {
                continue;
            }
            for &u in &users {
                // Leave out u's path; then, keep only u's path.
                let without = self.cut_derivative(target, v, &[u]);
                let others: Vec<Sym> = users.iter().copied().filter(|&o| o != u).collect();
                let only = self.cut_derivative(target, v, &others);
                let vname = self.model.name(v).to_string();
                let uname = self.model.name(u).to_string();
                let cost = self.model.name(target.of).to_string();
                let all: Vec<String> = users
                    .iter()
                    .map(|&s| format!("`{}`", self.model.name(s)))
                    .collect();
                if let Some((_, candidate)) = &without
                    && self.fits_everywhere(screen, *candidate, true)
                {
                    return Some((
                        format!(
                            "A path is left out: `{vname}` feeds {}, and the path through `{uname}` is missing; at a fork the contributions of every path add up (∂{cost}/∂{vname} is a sum over the names that use it; in code, accumulate with `+=` rather than overwrite with `=`).",
                            all.join(" and ")
                        ),
                        None,
                    ));
                }
                if users.len() > 2
                    && let Some((_, candidate)) = &only
                    && self.fits_everywhere(screen, *candidate, true)
                {
                    return Some((
                        format!(
                            "Only the path through `{uname}` is counted: `{vname}` feeds {}, and the contributions of every path must add up (accumulate with `+=` rather than overwrite with `=`).",
                            all.join(", ")
                        ),
                        None,
                    ));
                }
            }
        }
        None
    }

    /// ∂Y/∂X with the edges from `v` into each of `cut` frozen: v is replaced there by a
    /// constant with v's value. Returns the frozen symbol and the derivative (in names).
    fn cut_derivative(&mut self, target: Target, v: Sym, cut: &[Sym]) -> Option<(Sym, Id)> {
        let key = (target, v, cut.to_vec());
        if let Some(found) = self.cut_derivatives.get(&key) {
            return *found;
        }
        let found = self.cut_derivative_uncached(target, v, cut);
        self.cut_derivatives.insert(key, found);
        found
    }

    fn cut_derivative_uncached(
        &mut self,
        target: Target,
        v: Sym,
        cut: &[Sym],
    ) -> Option<(Sym, Id)> {
        let frozen = Sym(self.model.symbols.len() as u32);
        let mut model = self.model.clone();
        model.symbols.push(Symbol {
            name: format!("{}__frozen", self.model.name(v)),
            kind: SymKind::Input,
            display: None,
            span: Span::default(),
        });
        model.definitions.push(None);
        let frozen_var = model.graph.var(frozen);
        let v_var = model.graph.var(v);
        for &u in cut {
            let def = model.definition(u)?;
            let cut_def = model.graph.replace(def, v_var, frozen_var);
            model.definitions[u.index()] = Some(cut_def);
        }
        let of = model.graph_var(target.of);
        let derivative = diff::differentiate_expr(&mut model, of, target.wrt);
        // Back into the checker's model: every name keeps its value when an edge is cut, so
        // the frozen constant is v itself once the derivative is taken.
        let substituted = model.graph.replace(derivative, frozen_var, v_var);
        let id = self.model.graph.import(&model.graph, substituted);
        Some((frozen, id))
    }

    /// The claim is ∂Y/∂X for a name Y between: the chain rule stopped at Y.
    fn chain_stopped(&mut self, screen: &Screen, target: Target) -> Option<(String, Option<Id>)> {
        let path = self.between(target.of, target.wrt);
        for &y in path.iter().rev() {
            if y == target.of || y == target.wrt {
                continue;
            }
            let y_var = self.model.graph_var(y);
            let partial = self.derivative(y_var, target.wrt);
            if self.fits_everywhere(screen, partial, true) {
                let (yname, xname, of) = (
                    self.model.name(y).to_string(),
                    self.model.name(target.wrt).to_string(),
                    self.model.name(target.of).to_string(),
                );
                return Some((
                    format!(
                        "The chain rule stops early: the claim is ∂{yname}/∂{xname} alone, without the upstream factor ∂{of}/∂{yname} (∂{of}/∂{xname} = ∂{of}/∂{yname} · ∂{yname}/∂{xname})."
                    ),
                    None,
                ));
            }
        }
        None
    }

    /// A term of the cost left out, or its factor wrong (the regulariser's λ/n against λ/2n).
    fn cost_term(&mut self, screen: &Screen, target: Target) -> Option<(String, Option<Id>)> {
        if target.of != self.model.cost {
            return None;
        }
        let def = self.model.definition(self.model.cost)?;
        let Node::Add(terms) = self.model.graph.node(def).clone() else {
            return None;
        };
        let full = {
            let c = self.model.graph_var(self.model.cost);
            self.derivative(c, target.wrt)
        };
        for &term in terms.iter() {
            let part = self.derivative(term, target.wrt);
            if self.model.graph.as_num(part).is_some_and(|n| n.is_zero()) {
                continue;
            }
            let printer = FormulaPrinter::new(&self.model.graph, &self.model.symbols);
            let term_text = printer.text(term);
            let part_text = printer.text(part);
            let regulariser = !self.mentions_kind(term, SymKind::Target);
            let what = if regulariser {
                "the regularisation term"
            } else {
                "the cost's term"
            };
            // claim = full − part, compared with the sizes of full and part in view (a large
            // λw/n taken from a large full leaves a small difference with few digits).
            let left_out = screen
                .samples
                .iter()
                .zip(&screen.claimed)
                .all(
                    |(sample, &k)| match (self.f64_at(full, sample), self.f64_at(part, sample)) {
                        (Some(f), Some(p)) => {
                            (f - p - k).abs() <= FITS * (f.abs() + p.abs() + k.abs())
                        }
                        _ => false,
                    },
                );
            if left_out {
                return Some((
                    format!(
                        "{} `{term_text}` is left out of the derivative: it adds {part_text}.",
                        capitalise(what)
                    ),
                    None,
                ));
            }
            if !regulariser {
                continue;
            }
            for (factor, text) in [(Num::int(2), "twice"), (Num::ratio(1, 2), "half")] {
                let g = &mut self.model.graph;
                let c = g.num(factor.add(Num::int(-1)));
                let extra = g.product(vec![c, part]);
                let candidate = g.sum(vec![full, extra]);
                if self.fits_everywhere(screen, candidate, true) {
                    return Some((
                        format!(
                            "The factor of {what} `{term_text}` is off: the claim has {text} its gradient {part_text} (λ/(2n)·Σw² has gradient (λ/n)·w)."
                        ),
                        None,
                    ));
                }
            }
        }
        None
    }

    fn mentions_kind(&self, id: Id, kind: SymKind) -> bool {
        let mut stack = vec![id];
        let mut seen: FastSet<Id> = FastSet::default();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            for r in self.model.graph.reachable(&[n]) {
                if let Node::Var(s) = self.model.graph.node(r) {
                    if self.model.symbol(*s).kind == kind {
                        return true;
                    }
                    if let Some(d) = self.model.definition(*s) {
                        stack.push(d);
                    }
                }
            }
        }
        false
    }

    /// One chain-rule factor (a name, an activation derivative, a local derivative) missing
    /// from the claim or extra in it.
    fn factor(
        &mut self,
        screen: &Screen,
        target: Target,
        truth: Id,
        claimed: Id,
    ) -> Option<(String, Option<Id>)> {
        let factors = self.candidate_factors(target);
        let cross_entropy = self.cost_has_log();
        // The factor may be wrong in the whole derivative, or in one term of the cost's (the
        // data term, beside a regulariser that is right).
        let mut parts: Vec<(Option<Id>, Id, Option<Id>)> = vec![(None, truth, None)];
        if target.of == self.model.cost
            && let Some(def) = self.model.definition(self.model.cost)
            && let Node::Add(terms) = self.model.graph.node(def).clone()
        {
            for &term in terms.iter() {
                let part = self.derivative(term, target.wrt);
                if self.model.graph.as_num(part).is_some_and(|n| n.is_zero()) || part == truth {
                    continue;
                }
                let rest = self.model.graph.sub(truth, part);
                parts.push((Some(rest), part, Some(term)));
            }
        }
        for (factor, description) in factors {
            let printer = FormulaPrinter::new(&self.model.graph, &self.model.symbols);
            let text = printer.text(factor);
            let is_activation_prime = matches!(
                self.model.graph.node(factor),
                Node::Call(Func::SigmoidPrime, _)
            );
            for &(rest, part, term) in &parts {
                // Within one term of the cost, say which.
                let within = term
                    .map(|t| {
                        let printer = FormulaPrinter::new(&self.model.graph, &self.model.symbols);
                        format!(" in the gradient of the cost's term `{}`", printer.text(t))
                    })
                    .unwrap_or_default();
                let g = &mut self.model.graph;
                let mut extra = g.product(vec![part, factor]);
                // Missing F: the claim's part times F is the true part (a product, not a
                // quotient, so that relu'(z) = 0 at some points does not divide by zero).
                let claimed_part = match rest {
                    Some(rest) => {
                        let negated = g.neg(rest);
                        g.sum(vec![claimed, negated])
                    }
                    None => claimed,
                };
                let completed = g.product(vec![claimed_part, factor]);
                if let Some(rest) = rest {
                    extra = g.sum(vec![rest, extra]);
                }
                if self.fits_everywhere(screen, extra, true) {
                    if cross_entropy && is_activation_prime {
                        return Some((
                            format!(
                                "σ' is kept where the cross-entropy cost cancels it: this is the quadratic cost's gradient. With cross-entropy, ∂C/∂a = (a − y)/(a(1 − a)) cancels σ'(z) = a(1 − a), so the factor {text} must go."
                            ),
                            None,
                        ));
                    }
                    return Some((
                        format!(
                            "An extra factor {text} ({description}){within} that the chain rule does not give."
                        ),
                        None,
                    ));
                }
                if self.nonzero_at_least(screen, factor, 3)
                    && self.fits_formulas(screen, completed, part)
                {
                    return Some((
                        format!("A chain-rule factor is missing{within}: {text} ({description})."),
                        None,
                    ));
                }
            }
        }
        None
    }

    /// Whether the cost (through its names) squares a difference, like (y − a)².
    fn cost_squares_a_difference(&self) -> bool {
        self.cost_mentions(&|graph, id| {
            matches!(graph.node(id), Node::Pow(base, _) if matches!(graph.node(*base), Node::Add(_)))
        })
    }

    fn cost_has_log(&self) -> bool {
        self.cost_mentions(&|graph, id| matches!(graph.node(id), Node::Call(Func::Log, _)))
    }

    /// Whether a node of the cost's definition, or of the definitions it uses, satisfies `is`.
    fn cost_mentions(&self, is: &dyn Fn(&Graph, Id) -> bool) -> bool {
        let Some(def) = self.model.definition(self.model.cost) else {
            return false;
        };
        let mut stack = vec![def];
        let mut seen: FastSet<Id> = FastSet::default();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            for r in self.model.graph.reachable(&[n]) {
                if is(&self.model.graph, r) {
                    return true;
                }
                if let Node::Var(s) = self.model.graph.node(r)
                    && self.model.symbol(*s).kind == SymKind::Intermediate
                    && let Some(d) = self.model.definition(*s)
                {
                    stack.push(d);
                }
            }
        }
        false
    }

    /// The factors a chain-rule product along the path may have: the names, each activation's
    /// derivative at its argument, each local derivative.
    fn candidate_factors(&mut self, target: Target) -> Vec<(Id, String)> {
        let path = self.between(target.of, target.wrt);
        let nearby = self.nearby.clone();
        let mut out: Vec<(Id, String)> = Vec::new();
        let mut seen: FastSet<Id> = FastSet::default();
        let mut push = |out: &mut Vec<(Id, String)>, id: Id, d: String| {
            if seen.insert(id) {
                out.push((id, d));
            }
        };
        // Activation derivatives first: σ'(z) is the factor most often dropped or kept.
        for &s in &nearby {
            if let Some(def) = self.model.definition(s)
                && let Node::Call(f, arg) = *self.model.graph.node(def)
                && let Some(prime) = f.prime()
            {
                let id = self.model.graph.call(prime, arg);
                let printer = FormulaPrinter::new(&self.model.graph, &self.model.symbols);
                let d = format!(
                    "the derivative of {} = {}",
                    self.model.name(s),
                    printer.text(def)
                );
                push(&mut out, id, d);
            }
        }
        for &u in &path {
            let Some(def) = self.model.definition(u) else {
                continue;
            };
            for &v in &path {
                if u == v || !self.model.graph.mentions(def, v) {
                    continue;
                }
                let local = self.derivative(def, v);
                if self.model.graph.as_num(local).is_some() {
                    continue;
                }
                let d = format!("∂{}/∂{}", self.model.name(u), self.model.name(v));
                push(&mut out, local, d.clone());
                // Its factors on their own: the inner derivative (1 − 2y) of softplus((1 − 2y)z).
                if let Node::Mul(factors) = self.model.graph.node(local).clone() {
                    for f in factors.iter().copied() {
                        if self.model.graph.as_num(f).is_none() {
                            push(&mut out, f, format!("a factor of {d}"));
                        }
                    }
                }
            }
        }
        for &s in &nearby {
            let id = self.model.graph_var(s);
            let d = format!(
                "the {} {}",
                self.model.symbol(s).kind.word(),
                self.model.name(s)
            );
            push(&mut out, id, d);
        }
        out
    }

    /// One edit of the claim that makes it right: a name for another, a function for
    /// another, a difference for a product, a term or factor dropped, a sign flipped, a
    /// power or constant changed.
    fn single_edit(&mut self, screen: &Screen, claimed: Id) -> Option<(String, Option<Id>)> {
        let nodes = self.model.graph.reachable(&[claimed]);
        if nodes.len() > 400 {
            return None;
        }
        let names = self.nearby.clone();
        let parents = parents_of(&self.model.graph, &nodes);
        for &node in nodes.iter().rev() {
            let edits = self.edits(node, &names, &parents);
            // A name or number is shared by every place it occurs: edit it in one parent at a
            // time, so `σ'(a3)` can change without the `a3` of `(a3 − y)`.
            let leaf = matches!(self.model.graph.node(node), Node::Var(_) | Node::Num(_));
            let mut places: Vec<(Id, Id)> = Vec::new();
            for (replacement, why) in &edits {
                if leaf {
                    for &parent in parents.get(&node).map(Vec::as_slice).unwrap_or(&[]) {
                        let children = self.model.graph.children(parent);
                        for (i, &c) in children.iter().enumerate() {
                            if c != node {
                                continue;
                            }
                            let edited =
                                replace_child(&mut self.model.graph, parent, i, *replacement);
                            // The parent may be shared too (`−a` in both `y − a` and `1 − a`):
                            // then edit it in one grandparent at a time.
                            let grandparents: Vec<Id> =
                                parents.get(&parent).cloned().unwrap_or_default();
                            if grandparents.len() > 1 {
                                for grandparent in grandparents {
                                    let uncles = self.model.graph.children(grandparent);
                                    for (j, &u) in uncles.iter().enumerate() {
                                        if u == parent {
                                            let outer = replace_child(
                                                &mut self.model.graph,
                                                grandparent,
                                                j,
                                                edited,
                                            );
                                            places.push((grandparent, outer));
                                        }
                                    }
                                }
                            } else {
                                places.push((parent, edited));
                            }
                        }
                    }
                    if node == claimed {
                        places.push((node, *replacement));
                    }
                } else {
                    places.push((node, *replacement));
                }
                for (old_node, new_node) in places.drain(..) {
                    let replaced = self.model.graph.replace(claimed, old_node, new_node);
                    let candidate = replaced;
                    if self.fits_everywhere(screen, candidate, false) {
                        let printer = FormulaPrinter::new(&self.model.graph, &self.model.symbols);
                        // A name inside a call reads best with the call (`σ'(a3)`); elsewhere
                        // the name alone.
                        let shown = |n: Id, r: Id| {
                            // A number reads best with its term (`−num/den²`), a name alone
                            // unless inside a call (`σ'(a3)`).
                            let number = matches!(self.model.graph.node(n), Node::Num(_));
                            if leaf
                                && !number
                                && !matches!(self.model.graph.node(old_node), Node::Call(..))
                            {
                                (printer.text(n), printer.text(r))
                            } else {
                                (printer.text(old_node), printer.text(new_node))
                            }
                        };
                        let (old, new) = shown(node, *replacement);
                        return Some((
                            format!("`{old}` should be `{new}`: {why}."),
                            Some(candidate),
                        ));
                    }
                }
            }
        }
        None
    }

    fn edits(
        &mut self,
        node: Id,
        names: &[Sym],
        parents: &FastMap<Id, Vec<Id>>,
    ) -> Vec<(Id, String)> {
        let g = &mut self.model.graph;
        let mut out: Vec<(Id, String)> = Vec::new();
        let in_activation_prime = parents.get(&node).is_some_and(|ps| {
            ps.iter().any(|p| {
                matches!(
                    g.node(*p),
                    Node::Call(Func::SigmoidPrime | Func::TanhPrime | Func::ReluPrime, _)
                )
            })
        });
        match g.node(node).clone() {
            Node::Var(s) => {
                for &t in names {
                    if t == s {
                        continue;
                    }
                    let why = if in_activation_prime {
                        "the activation's derivative is taken at the wrong node (σ'(z) takes the pre-activation z, the argument of σ)".to_string()
                    } else {
                        "one name written for another (a different layer or neuron)".to_string()
                    };
                    out.push((g.var(t), why));
                }
                let two = g.int(2);
                out.push((
                    g.pow(node, two),
                    "a square missing (1 − tanh(z)² is one minus the square)".to_string(),
                ));
            }
            Node::Num(n) => {
                let values = [
                    (n.neg(), "a sign is wrong here"),
                    (
                        n.mul(Num::int(2)),
                        "a factor 2 is missing here (the power rule: d(u²)/du = 2u)",
                    ),
                    (
                        n.mul(Num::ratio(1, 2)),
                        "a factor 2 too many here (½(y − a)² has derivative a − y)",
                    ),
                    (Num::int(1), "a constant that should not be there"),
                ];
                let mut seen = vec![n];
                for (v, why) in values {
                    if !seen.contains(&v) {
                        seen.push(v);
                        out.push((g.num(v), why.to_string()));
                    }
                }
            }
            Node::Call(f, a) => {
                for h in Func::ALL {
                    if h != f {
                        out.push((
                            g.call(h, a),
                            format!("{} written for {}", f.name(), h.name()),
                        ));
                    }
                }
            }
            Node::Add(terms) => {
                if terms.len() == 2 {
                    let (x, y) = (terms[0], terms[1]);
                    let negated = |g: &mut Graph, t: Id| match g.node(t).clone() {
                        Node::Mul(fs) if fs.len() == 2 && g.as_num(fs[0]) == Some(Num::int(-1)) => {
                            Some(fs[1])
                        }
                        _ => None,
                    };
                    if let Some(inner) = negated(g, y) {
                        out.push((
                            g.product(vec![x, inner]),
                            "a difference written for a product".to_string(),
                        ));
                    }
                    if let Some(inner) = negated(g, x) {
                        out.push((
                            g.product(vec![y, inner]),
                            "a difference written for a product".to_string(),
                        ));
                    }
                    out.push((
                        g.product(vec![x, y]),
                        "a sum written for a product".to_string(),
                    ));
                }
                for i in 0..terms.len() {
                    let rest: Vec<Id> = terms
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(_, &t)| t)
                        .collect();
                    out.push((
                        g.sum(rest.clone()),
                        "a term that should not be there".to_string(),
                    ));
                    let mut flipped = rest;
                    let neg = g.neg(terms[i]);
                    flipped.insert(i, neg);
                    out.push((g.sum(flipped), "a term with the wrong sign".to_string()));
                    // One term short of a factor (η in the decay (1 − ηλ/n), the 2 of one
                    // part of a gradient) or with one too many.
                    let scalings: Vec<(Id, String)> = {
                        let mut v = vec![
                            (g.int(2), "2".to_string()),
                            (g.num(Num::ratio(1, 2)), "½".to_string()),
                        ];
                        // A name the term already has would square it: the leaf edit
                        // ("a square missing") says that better.
                        for &name in names.iter().take(40) {
                            if !g.mentions(terms[i], name) {
                                v.push((g.var(name), String::new()));
                            }
                        }
                        // The learning rate too (η missing from the decay (1 − ηλ/n)).
                        v.push((g.var(self.rate), "η".to_string()));
                        v
                    };
                    for (factor, shown) in scalings {
                        for (scaled, missing) in [
                            (g.product(vec![terms[i], factor]), true),
                            (g.div(terms[i], factor), false),
                        ] {
                            let mut edited: Vec<Id> = terms.to_vec();
                            edited[i] = scaled;
                            let label = if shown.is_empty() {
                                "a name"
                            } else {
                                shown.as_str()
                            };
                            let why = if missing {
                                format!("one term lacks a factor ({label})")
                            } else {
                                format!("one term has a factor ({label}) too many")
                            };
                            out.push((g.sum(edited), why));
                        }
                    }
                }
            }
            Node::Mul(factors) => {
                for i in 0..factors.len() {
                    if g.as_num(factors[i]).is_some() {
                        continue;
                    }
                    let rest: Vec<Id> = factors
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(_, &t)| t)
                        .collect();
                    out.push((
                        g.product(rest),
                        "a factor that should not be there".to_string(),
                    ));
                }
                // a(1 − a), σ's derivative in terms of its value, used for tanh's 1 − a².
                for (i, &x) in factors.iter().enumerate() {
                    let one = g.int(1);
                    let one_minus_x = g.sub(one, x);
                    if let Some(j) = factors.iter().position(|&f| f == one_minus_x) {
                        let two = g.int(2);
                        let square = g.pow(x, two);
                        let tanh_form = g.sub(one, square);
                        let rest: Vec<Id> = factors
                            .iter()
                            .enumerate()
                            .filter(|&(k, _)| k != i && k != j)
                            .map(|(_, &f)| f)
                            .chain(std::iter::once(tanh_form))
                            .collect();
                        out.push((
                            g.product(rest),
                            "σ's derivative a(1 − a) used where the activation's derivative is 1 − a² (tanh)".to_string(),
                        ));
                    }
                }
                if factors.len() == 2 && g.as_num(factors[0]).is_none() {
                    let (x, y) = (factors[0], factors[1]);
                    let d = g.sub(x, y);
                    out.push((d, "a product written for a difference".to_string()));
                }
            }
            Node::Pow(base, exponent) => {
                // (1 − t)² for 1 − t²: the square of a difference for one minus a square.
                if let Node::Add(terms) = g.node(base).clone()
                    && terms.len() == 2
                    && let Node::Mul(fs) = g.node(terms[1]).clone()
                    && fs.len() == 2
                    && g.as_num(fs[0]) == Some(Num::int(-1))
                {
                    let squared = g.pow(fs[1], exponent);
                    let negated = g.neg(squared);
                    out.push((
                        g.sum(vec![terms[0], negated]),
                        "the square of a difference written for one minus a square".to_string(),
                    ));
                }
                out.push((base, "a power that should not be there".to_string()));
                if let Some(e) = g.as_num(exponent) {
                    for v in [e.add(Num::int(1)), e.add(Num::int(-1)), e.neg()] {
                        let exp = g.num(v);
                        out.push((g.pow(base, exp), "a wrong exponent".to_string()));
                    }
                }
            }
            Node::Deriv(..) => {}
        }
        out
    }
}

/// The node with its `index`-th child replaced.
fn replace_child(graph: &mut Graph, parent: Id, index: usize, child: Id) -> Id {
    let node = match graph.node(parent).clone() {
        Node::Add(xs) => {
            let mut xs = xs.to_vec();
            xs[index] = child;
            Node::Add(xs.into_boxed_slice())
        }
        Node::Mul(xs) => {
            let mut xs = xs.to_vec();
            xs[index] = child;
            Node::Mul(xs.into_boxed_slice())
        }
        Node::Pow(a, b) => {
            if index == 0 {
                Node::Pow(child, b)
            } else {
                Node::Pow(a, child)
            }
        }
        Node::Call(f, _) => Node::Call(f, child),
        Node::Deriv(_, s) => Node::Deriv(child, s),
        n @ (Node::Num(_) | Node::Var(_)) => n,
    };
    graph.add(node)
}

fn parents_of(graph: &Graph, nodes: &[Id]) -> FastMap<Id, Vec<Id>> {
    let mut parents: FastMap<Id, Vec<Id>> = FastMap::default();
    for &n in nodes {
        for c in graph.children(n) {
            parents.entry(c).or_default().push(n);
        }
    }
    parents
}

/// A ratio as a reader would write it: 2, ½ → "1/2", −3, 0.37.
fn approximate_ratio(r: f64) -> String {
    for d in 1..=12i64 {
        let n = (r * d as f64).round();
        if fits(n / d as f64, r) {
            return if d == 1 {
                format!("{}", n as i64)
            } else {
                format!("{}/{d}", n as i64)
            };
        }
    }
    numeric::float(r)
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A name written as LaTeX or in a textbook's notation (`a_2`, `a^{(2)}`, a display form),
/// resolved to one of the model's names.
fn latex_resolve(model: &Model, written: &str) -> Option<Sym> {
    match crate::lang::latex::resolve_name(model, written) {
        Ok(crate::lang::latex::Resolved::Symbol(s)) => Some(s),
        _ => None,
    }
}

/// One side of a claim written in LaTeX.
fn latex_parse(model: &Model, text: &str) -> Result<Expr, Diagnostic> {
    crate::lang::latex::parse_latex(model, text)
}

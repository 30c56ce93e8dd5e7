//! Checking claims: is a claimed derivative, value or update rule right, and if not, what is
//! the likeliest mistake?
//!
//! A claim is `LHS = RHS`. The left side says what is claimed (a derivative `dC/dw3` or
//! `δ3`, an update `w3'`, an optimizer's state `m_w3` (`optimizer`), a name's value `a3`, the
//! output at a point `f(2)`, or any formula), the right side what it is claimed to be, in the
//! plain language or in LaTeX. Derivative and
//! update claims must hold as identities (`identities`): first the two sides are expanded
//! and simplified and compared symbolically, then evaluated at random points (`points`) at
//! high precision. Value claims (`values`) are judged at the `--at` point to the digits they
//! give. For a wrong claim, `diagnose` tries the mistakes people make, each as a hypothesis
//! about what the claim equals, and names the first that fits at every point. This module
//! holds the public entry points and the checker's state; nothing here does I/O.

mod claims;
mod diagnose;
mod identities;
pub mod matrix;
mod mistake;
mod optimizer;
mod points;
mod steps;
mod values;

pub use matrix::{MatrixCounterexample, MatrixProgram, NamedValue, ShapeReport};
pub use mistake::{
    Diagnosis, Edit, FactorRole, Formulas, Gate, GateShare, Mistake, Scaling, ShapeEdit,
};

use crate::analysis::optimizer::OptimizerKind;
use crate::core::diff::{self, Target};
use crate::core::error::{Diagnostic, Input};
use crate::core::eval::Precise;
use crate::core::expr::{FastMap, Graph, Id, Node, Partial, Sym};
use crate::core::model::{Given, Model, SymKind, Symbol};
use crate::core::simplify::Options;
use crate::lang::ast::Span;

use claims::{Subject, literal_digits, split_claim};
use points::Sample;

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

/// How a claim was judged (`correct`, `incorrect`, `unknown` in JSON; the exit code is 1
/// unless every claim is correct).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Correct,
    Incorrect,
    Unknown,
    /// The claim could not be read (a line of a worksheet that does not parse); the others
    /// are judged all the same.
    Unreadable,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Incorrect => "incorrect",
            Verdict::Unknown => "unknown",
            Verdict::Unreadable => "unreadable",
        }
    }
}

/// How a claim was decided: data with a stable code (`method` in the JSON, docs/json.md); the
/// words a reader sees are the templates' (`method.txt`), given these fields (`m.points`, ...).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum Method {
    /// Both sides simplify to the same formula.
    Symbolic,
    /// The sides agree at `points` random points (drawn with one-hot targets where the
    /// program declares them).
    Numeric { points: usize, one_hot: bool },
    /// The sides agree at `points` random points whose targets are labels (one-hot, or else 0
    /// or 1), and not for every target.
    NumericForLabels { points: usize, one_hot: bool },
    /// A claim in matrix notation: every entry of both sides compared at `points` random
    /// points.
    NumericEveryEntry { points: usize },
    /// A point was found where the sides differ.
    Counterexample,
    /// The sides differ where float64 cannot show it (both underflow or overflow): the
    /// reference's values, as decimals.
    CounterexampleBeyondFloat64 { claimed: String, truth: String },
    /// Too few random points gave both sides a value; at `unsettled` of them the reference
    /// could not settle whether the sides differ.
    TooFewPoints {
        valid: usize,
        attempts: usize,
        needed: usize,
        unsettled: usize,
    },
    /// A value claim judged at the given point.
    Value,
    /// A value claim judged to the digits written (± `unit`).
    ValueToDigits { unit: String },
    /// A value claim right to 1e-9 relative but not exactly: the true value, as a decimal.
    ValueNotExact { truth: String },
    /// The true value could not be resolved within the precision allowed.
    ValueUnresolved,
    /// The value is not a real number at the given point.
    ValueNotReal,
    /// The value after `steps` steps of gradient descent from the given point.
    Descent { steps: usize },
    /// As [`Method::Descent`], to the digits written (± `unit`).
    DescentToDigits { steps: usize, unit: String },
    /// The value after `steps` steps is not a real number.
    DescentNotReal { steps: usize },
    /// The claim could not be read.
    Unreadable,
}

impl Method {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Method::Symbolic => "symbolic",
            Method::Numeric { .. } => "numeric",
            Method::NumericForLabels { .. } => "numeric-for-labels",
            Method::NumericEveryEntry { .. } => "numeric-every-entry",
            Method::Counterexample => "counterexample",
            Method::CounterexampleBeyondFloat64 { .. } => "counterexample-beyond-float64",
            Method::TooFewPoints { .. } => "too-few-points",
            Method::Value => "value",
            Method::ValueToDigits { .. } => "value-to-digits",
            Method::ValueNotExact { .. } => "value-not-exact",
            Method::ValueUnresolved => "value-unresolved",
            Method::ValueNotReal => "value-not-real",
            Method::Descent { .. } => "descent",
            Method::DescentToDigits { .. } => "descent-to-digits",
            Method::DescentNotReal { .. } => "descent-not-real",
            Method::Unreadable => "unreadable",
        }
    }
}

/// The judgement of one claim.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The claim as written.
    pub claim: String,
    pub verdict: Verdict,
    /// How it was decided.
    pub method: Method,
    /// A point where the two sides differ, leaves in program order.
    pub counterexample: Option<Vec<(String, f64)>>,
    /// For a claim in matrix notation: where it differs, each name and value whole.
    pub matrix_counterexample: Option<MatrixCounterexample>,
    /// The claim's value and the true value there.
    pub claimed_value: Option<f64>,
    pub true_value: Option<f64>,
    /// What is wrong, for an incorrect claim.
    pub diagnosis: Option<Diagnosis>,
    /// The corrected formula, when one is known (a node of `formulas`).
    pub corrected: Option<Id>,
    /// What the left side is, derived: the reference the claim is compared with.
    pub expected: Option<Id>,
    /// The formulas the judgement refers to.
    pub formulas: Formulas,
    /// For an unreadable claim, what is wrong with it as the caret diagnostic shows it.
    pub unreadable: Option<String>,
    /// For a claim in matrix notation whose shape is not the quantity's: both shapes.
    pub shape: Option<ShapeReport>,
}

impl Checked {
    /// The judgement of a claim that could not be read: `shown` is its caret diagnostic.
    pub fn unreadable(claim: &str, shown: String) -> Checked {
        Checked {
            claim: claim.trim().to_string(),
            verdict: Verdict::Unreadable,
            method: Method::Unreadable,
            counterexample: None,
            matrix_counterexample: None,
            claimed_value: None,
            true_value: None,
            diagnosis: None,
            corrected: None,
            expected: None,
            formulas: Formulas::default(),
            unreadable: Some(shown),
            shape: None,
        }
    }

    /// The likeliest mistake, if one was named.
    pub fn mistake(&self) -> Option<&Mistake> {
        self.diagnosis.as_ref().and_then(|d| d.mistake.as_ref())
    }
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
    check_each(model, claims, given, None).into_iter().collect()
}

/// Checks every claim as [`check`] does, each on its own: a claim that cannot be read is an
/// error in its place, and the others are judged all the same (a worksheet with one bad line).
/// With `asked`, update rules are judged against that optimizer's rule (as `step` takes it),
/// whatever names they use.
pub fn check_each(
    model: &Model,
    claims: &[String],
    given: &[Given],
    asked: Option<OptimizerKind>,
) -> Vec<Result<Checked, CheckError>> {
    // Claims are independent, so a long worksheet is split over the cores, one checker (and
    // one copy of the model) each; every judgement is deterministic, so the split changes
    // nothing but the time.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = if claims.len() >= PARALLEL_FROM && threads > 1 {
        claims.len().div_ceil(threads)
    } else {
        claims.len().max(1)
    };
    // One reading of `v` for the whole worksheet (see `optimizer`).
    let v_is_second = optimizer::writes_m_moment(claims, |name| model.lookup(name).is_some());
    let results: Vec<Vec<Result<Checked, CheckError>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = claims
            .chunks(chunk)
            .enumerate()
            .map(|(part, claims)| {
                let reading = Reading { v_is_second, asked };
                scope.spawn(move || check_in_order(model, claims, given, part * chunk, reading))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a checking thread panicked"))
            .collect()
    });
    results.into_iter().flatten().collect()
}

/// How a whole worksheet's optimizer names are read.
#[derive(Copy, Clone)]
struct Reading {
    v_is_second: bool,
    asked: Option<OptimizerKind>,
}

/// Worksheets at least this long are checked on several threads.
const PARALLEL_FROM: usize = 32;

fn check_in_order(
    model: &Model,
    claims: &[String],
    given: &[Given],
    first_index: usize,
    reading: Reading,
) -> Vec<Result<Checked, CheckError>> {
    let mut checker = Checker::new(model);
    checker.given = given.to_vec();
    checker.optimizer.v_is_second = reading.v_is_second;
    checker.optimizer.asked = reading.asked;
    claims
        .iter()
        .enumerate()
        .map(|(index, claim)| {
            checker.check(claim).map_err(|d| CheckError {
                index: first_index + index,
                diagnostic: Box::new(d),
            })
        })
        .collect()
}

/// The summary line: `N correct, M incorrect, K unknown` (and `, U unreadable` when any are).
pub fn summary(checked: &[Checked]) -> String {
    let count = |v| checked.iter().filter(|c| c.verdict == v).count();
    let mut line = format!(
        "{} correct, {} incorrect, {} unknown",
        count(Verdict::Correct),
        count(Verdict::Incorrect),
        count(Verdict::Unknown)
    );
    if count(Verdict::Unreadable) > 0 {
        line.push_str(&format!(", {} unreadable", count(Verdict::Unreadable)));
    }
    line
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
    simple_samples: FastMap<(Vec<Sym>, usize), SharedSample>,
    recognise: Option<Options>,
    truth_values: FastMap<(Id, Vec<Sym>, Labels, usize), Option<Precise>>,
    cut_derivatives: FastMap<CutKey, Option<(Sym, Id)>>,
    /// Random points by the leaves they give values to.
    samples: FastMap<(Vec<Sym>, Labels), Vec<Option<SharedSample>>>,
    /// The learning rate: the program's own `eta`, or a symbol added for the claims.
    rate: Sym,
    given: Vec<Given>,
    /// The model's names, shared by every judgement's formulas.
    symbols: std::sync::Arc<[Symbol]>,
    /// What the current diagnosis may still spend (see [`diagnose::Budget`]).
    budget: diagnose::Budget,
    /// The names claims gave an optimizer's state and hyperparameters.
    optimizer: optimizer::OptimizerNames,
    #[cfg(test)]
    climbs: points::Climbs,
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
                    shape: crate::core::tensor::Shape::SCALAR,
                });
                model.definitions.push(None);
                model.graph.var(s);
                s
            }
        };
        let symbols = model.symbols.clone().into();
        Checker {
            budget: diagnose::Budget::default(),
            symbols,
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
            optimizer: optimizer::OptimizerNames::default(),
            #[cfg(test)]
            climbs: points::Climbs::default(),
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
        // `w1 <- w1 - eta*v_w1`: an update rule in an optimizer's names, or any update rule
        // where an optimizer other than plain descent is asked for.
        let asked = self
            .optimizer
            .asked
            .is_some_and(|k| k != OptimizerKind::Sgd);
        let subject = match subject {
            Subject::Update(theta) if asked || !self.optimizer_names_in(claimed).is_empty() => {
                Subject::OptimizerUpdate(theta)
            }
            subject => subject,
        };
        let constant = !self.mentions_any_name(claimed);
        let digits = literal_digits(&rhs_expr);
        let lhs_span = {
            let lead = split.lhs.len() - split.lhs.trim_start().len();
            Span::new(lhs_offset + lead, lhs_offset + split.lhs.trim_end().len())
        };
        let mut checked = match &subject {
            &Subject::Steps { parameter, steps } => {
                if !constant {
                    let at = split.rhs_offset;
                    let lead = split.rhs.len() - split.rhs.trim_start().len();
                    return Err(Diagnostic::at(
                        Span::new(at + lead, at + split.rhs.trim_end().len()),
                        format!(
                            "a claim about `{}` after {steps} steps must be a number",
                            self.model.name(parameter)
                        ),
                        "expected a number here",
                    )
                    .with_help(
                        "several steps of gradient descent are judged at the given point, e.g. \
                         `w3'' = 0.2854` with `eta=0.5` among the values; write one step as a \
                         formula (`w3' = w3 - eta*dC/dw3`)",
                    )
                    .about(Input::Point));
                }
                self.require_point(lhs_span)?;
                self.steps_claim(parameter, steps, claimed, digits, lhs_span)?
            }
            Subject::OutputAt { output, bindings } => {
                let mut given = self.given.clone();
                for (input, value) in bindings {
                    given.retain(|g| g.sym != *input);
                    given.push(Given {
                        sym: *input,
                        text: value.clone(),
                        value: value.parse().unwrap_or(f64::NAN),
                    });
                }
                let truth = self.model.graph_var(*output);
                self.value_claim(truth, claimed, digits, &given, lhs_span, &subject)?
            }
            Subject::Name(s) if constant => {
                let truth = self.model.graph_var(*s);
                self.require_point(lhs_span)?;
                let given = self.given.clone();
                self.value_claim(truth, claimed, digits, &given, lhs_span, &subject)?
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
                self.value_claim(truth, claimed, digits, &given, lhs_span, &subject)?
            }
            _ => {
                let truth = self.truth(&subject);
                self.identity_claim(&subject, truth, claimed)
            }
        };
        checked.claim = text.trim().to_string();
        self.export(&mut checked);
        Ok(checked)
    }

    /// Copies the formulas a judgement refers to out of the checker's graph (which grows with
    /// every claim) into the judgement's own.
    fn export(&self, checked: &mut Checked) {
        let mut formulas = Formulas {
            graph: Graph::default(),
            symbols: self.symbols.clone(),
            shapes: FastMap::default(),
        };
        let mut error_terms = ErrorTerms {
            base: self.symbols.len(),
            ..ErrorTerms::default()
        };
        let mut copy = |id: &mut Id| {
            let imported = formulas.graph.import(&self.model.graph, *id);
            *id = error_terms.named(&self.model, &mut formulas.graph, imported);
        };
        checked.corrected.iter_mut().for_each(&mut copy);
        checked.expected.iter_mut().for_each(&mut copy);
        if let Some(diagnosis) = checked.diagnosis.as_mut() {
            for mistake in diagnosis
                .mistake
                .iter_mut()
                .chain(&mut diagnosis.alternatives)
            {
                mistake.formulas_mut().into_iter().for_each(&mut copy);
            }
        }
        if !error_terms.added.is_empty() {
            formulas.symbols = self
                .symbols
                .iter()
                .cloned()
                .chain(error_terms.added)
                .collect();
        }
        checked.formulas = formulas;
    }

    fn require_point(&self, span: Span) -> Result<(), Diagnostic> {
        if self.given.is_empty() {
            return Err(Diagnostic::at(
                span,
                "a value claim needs a point",
                "the value of this name depends on the inputs and parameters",
            )
            .with_help("give the values of the inputs and parameters, e.g. `x=1,w2=0.5,...`")
            .about(Input::Point));
        }
        Ok(())
    }
}

/// The error terms of a judgement's formulas named as `derive` names them and `check` reads
/// them: `∂C/∂z2_1` of a pre-activation written `δ2_1` (`\delta^{(2)}_{1}` with the z-name's
/// decorations), one name for one quantity in the claim, its correction and its diagnosis.
/// Each is a name of the judgement's own symbol table, after the model's.
#[derive(Default)]
struct ErrorTerms {
    /// The number of names before the first added.
    base: usize,
    added: Vec<Symbol>,
    /// The name given to each (of, wrt), or `None` where it keeps its derivative form.
    names: FastMap<(Sym, Sym), Option<Sym>>,
}

impl ErrorTerms {
    /// `root` (of `graph`) with every error term named.
    fn named(&mut self, model: &Model, graph: &mut Graph, root: Id) -> Id {
        let mapped = graph.rewrite(&[root], |g, node| match node {
            Node::Deriv(of, wrt, Partial::Total) => {
                let named = match g.node(of) {
                    Node::Var(y) => self.name_of(model, *y, wrt),
                    _ => None,
                };
                match named {
                    Some(sym) => g.var(sym),
                    None => g.add(node),
                }
            }
            other => g.add(other),
        });
        mapped[&root]
    }

    fn name_of(&mut self, model: &Model, y: Sym, u: Sym) -> Option<Sym> {
        if let Some(&named) = self.names.get(&(y, u)) {
            return named;
        }
        let named = (y == model.cost && crate::core::factor::is_pre_activation(model, u))
            .then(|| crate::core::factor::term_name(model, y, u))
            .filter(|(name, _)| !name.contains('/'))
            .map(|(name, display)| {
                self.added.push(Symbol {
                    name,
                    kind: SymKind::ErrorTerm,
                    display,
                    span: Span::default(),
                    shape: model.symbol(u).shape,
                });
                Sym((self.base + self.added.len() - 1) as u32)
            });
        self.names.insert((y, u), named);
        named
    }
}

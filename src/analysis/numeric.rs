//! Numbers at a point: the forward pass, and formulas of the model evaluated at given values,
//! both in float64 (computed exactly as written, as a user's NumPy code would) and as a
//! high-precision reference.
//!
//! A value given to an intermediate cuts the graph there: its definition is not evaluated and
//! everything downstream uses the given value (the seed question gives a^(l−1) = 62.5).

use std::collections::HashMap;

use crate::core::error::{Diagnostic, Input, Result};
use crate::core::eval::{self, Precise};
use crate::core::expr::{FastMap, FastSet, Func, Func2, Id, Num, Sym};
use crate::core::forward::{self, ForwardError};
use crate::core::model::Given;
use crate::core::model::{Model, SymKind};

/// Bits for the starting point of the reference: given decimals are read this precisely.
pub const INPUT_BITS: usize = 1024;

/// The value of every name at a point, in float64 and at high precision.
#[derive(Clone, Debug)]
pub struct Point {
    pub f64: HashMap<Sym, f64>,
    /// The reference value of each name, for display. Formulas are never evaluated from these
    /// (they are rounded); see [`Point::binding`].
    pub precise: HashMap<Sym, Precise>,
    /// How well each computed name's reference is known.
    pub resolution: HashMap<Sym, eval::Resolution>,
    /// The names given a value (leaves, and intermediates that cut the graph).
    pub given: Vec<Sym>,
    /// The definition of each computed name that is not cut.
    definitions: HashMap<Sym, Id>,
    /// The given values that are exact decimals, as ratios (see [`eval::Binding::Decimal`]).
    decimals: HashMap<Sym, Num>,
}

impl Point {
    /// The point of core's forward pass in float64 alone, from values for the leaves
    /// (gradient descent and training need no reference). A name whose leaves have no value
    /// is left out.
    pub fn float64(model: &Model, leaves: &[(Sym, f64)]) -> Point {
        Point {
            f64: forward::float64(model, leaves),
            precise: HashMap::new(),
            resolution: HashMap::new(),
            given: leaves.iter().map(|(s, _)| *s).collect(),
            definitions: HashMap::new(),
            decimals: HashMap::new(),
        }
    }

    /// What a name stands for in a reference evaluation: its given value, or its definition,
    /// evaluated in the same pass so nothing is rounded between a name and its uses.
    pub fn binding(&self, s: Sym) -> Option<eval::Binding> {
        match self.definitions.get(&s) {
            Some(&def) => Some(eval::Binding::Formula(def)),
            None => match self.decimals.get(&s) {
                Some(&n) => Some(eval::Binding::Decimal(n)),
                None => self.precise.get(&s).cloned().map(eval::Binding::Value),
            },
        }
    }
}

/// Runs the forward pass from the given values (core's reference pass). Every input, target
/// and parameter the cost needs must have a value (unless the graph is cut above it).
pub fn forward(model: &Model, given: &[Given]) -> Result<Point> {
    let decimals = exact_decimals(given);
    let pass = match forward::reference_with_decimals(model, &exact_values(given), &decimals) {
        Ok(pass) => pass,
        Err(ForwardError::Missing(names)) => return Err(no_value_given(model, &names)),
        Err(ForwardError::Unevaluated) => {
            return Err(Diagnostic::new(
                "a definition holds a derivative that was not taken; differentiate it first",
            ));
        }
    };
    Ok(Point {
        f64: pass.values.f64,
        precise: pass.values.precise,
        resolution: pass.resolution,
        given: given.iter().map(|g| g.sym).collect(),
        definitions: pass.computed.into_iter().collect(),
        decimals,
    })
}

/// `forward` without the computed names' references: the same check of the leaves, core's
/// float64 pass, and the given values read exactly. Gradient descent needs no reference, and
/// eval evaluates the computed names' references with everything else it prints, in one run.
pub fn forward_float64(model: &Model, given: &[Given]) -> Result<Point> {
    let missing = forward::missing_leaves(model, given.iter().map(|g| g.sym));
    if !missing.is_empty() {
        return Err(no_value_given(model, &missing));
    }
    let leaves: Vec<(Sym, f64)> = given.iter().map(|g| (g.sym, g.value)).collect();
    let f64s = forward::float64(model, &leaves);
    let given_syms: Vec<Sym> = given.iter().map(|g| g.sym).collect();
    let is_given: std::collections::HashSet<Sym> = given_syms.iter().copied().collect();
    let definitions: HashMap<Sym, Id> = model
        .order
        .iter()
        .filter(|s| f64s.contains_key(s) && !is_given.contains(s))
        .filter_map(|&s| model.definition(s).map(|def| (s, def)))
        .collect();
    Ok(Point {
        f64: f64s,
        precise: exact_values(given)
            .into_iter()
            .map(|(s, _, p)| (s, p))
            .collect(),
        resolution: HashMap::new(),
        given: given_syms,
        definitions,
        decimals: exact_decimals(given),
    })
}

/// Each given value in float64 and exactly (the decimal as written).
fn exact_values(given: &[Given]) -> Vec<(Sym, f64, Precise)> {
    given
        .iter()
        .map(|g| {
            let p = Precise::parse_decimal(&g.text, INPUT_BITS)
                .unwrap_or_else(|| Precise::from_f64(g.value));
            (g.sym, g.value, p)
        })
        .collect()
}

/// The given values that are ratios of integers as written (`0.1` is 1/10): the reference
/// rounds them at each precision, as it does the program's constants.
fn exact_decimals(given: &[Given]) -> HashMap<Sym, Num> {
    given
        .iter()
        .filter_map(|g| match Num::parse(g.text.trim()) {
            Some(n @ Num::Rat(..)) => Some((g.sym, n)),
            _ => None,
        })
        .collect()
}

fn no_value_given(model: &Model, names: &[Sym]) -> Diagnostic {
    let missing: Vec<&str> = names.iter().map(|&s| model.name(s)).collect();
    let help = format!(
        "give every input, target and parameter a value, e.g. `{}`, or draw the parameters from an initialisation (zeros, random or xavier) and take the inputs and targets from an example of a data set",
        missing
            .iter()
            .take(LISTED_NAMES)
            .map(|m| format!("{m}=0.5"))
            .collect::<Vec<_>>()
            .join(",")
    );
    Diagnostic::new(format!("no value given for {}", list(&missing)))
        .with_help(help)
        .about(Input::Point)
}

/// Derivatives of a model with targets declared one-hot are simplified with Σy = 1, so they
/// are the gradient only where the given targets do sum to one; anywhere else is refused.
pub fn one_hot_holds(model: &Model, point: &Point) -> Result<()> {
    for group in &model.one_hot {
        let Some(values) = group
            .iter()
            .map(|y| point.f64.get(y).copied())
            .collect::<Option<Vec<f64>>>()
        else {
            continue;
        };
        let total: f64 = values.iter().sum();
        if (total - 1.0).abs() > 1e-9 {
            let names: Vec<&str> = group.iter().map(|&y| model.name(y)).collect();
            return Err(Diagnostic::new(format!(
                "the targets {} are declared one-hot, so they must sum to 1; the values given sum to {}",
                names.join(", "),
                float(total)
            ))
            .with_help(
                "give class labels (one target 1, the others 0) or probabilities that sum to 1; \
                 the derivatives are simplified with Σy = 1",
            ));
        }
    }
    Ok(())
}

pub use crate::core::number::thousands;

/// At most this many names are listed in a message; the rest are counted.
const LISTED_NAMES: usize = 10;

/// `` `a`, `b`, `c` ``, cut after ten names: "… and 24,600 more".
pub fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names
        .iter()
        .take(LISTED_NAMES)
        .map(|n| format!("`{n}`"))
        .collect();
    let rest = names.len().saturating_sub(LISTED_NAMES);
    if rest == 0 {
        quoted.join(", ")
    } else {
        format!("{} and {} more", quoted.join(", "), thousands(rest))
    }
}

/// Formulas (in the model's names) at the point, in float64 exactly as written.
pub fn at_f64(model: &Model, roots: &[Id], point: &Point) -> Vec<f64> {
    eval::eval_f64(&model.graph, roots, &|s| point.f64.get(&s).copied())
        .expect("every name has a value at the point")
}

/// Formulas at the point, as the high-precision reference (precision raised until stable).
pub fn at_precise(model: &Model, roots: &[Id], point: &Point) -> Vec<Precise> {
    reference_at(model, roots, point).values
}

/// Formulas at the point as the reference, with how well each is known.
pub fn reference_at(model: &Model, roots: &[Id], point: &Point) -> eval::Stable {
    eval::eval_reference(
        &model.graph,
        roots,
        &|s| point.binding(s),
        eval::STABLE_MAX_BITS,
    )
    .expect("every name has a value at the point")
}

/// Whether a name is a parameter (what gradient descent updates).
pub fn is_param(model: &Model, s: Sym) -> bool {
    model.symbol(s).kind == SymKind::Param
}

pub use crate::analysis::warnings::{Facts, LOST_BITS, Warning, WarningKind, error_bits};

/// One evaluated quantity: float64 as written, the reference, and the error between them.
#[derive(Clone, Debug)]
pub struct Quantity {
    /// `C`, `a2`, `dC/dw2`, or the formula as given with `--expr`.
    pub label: String,
    /// The derivative it is the value of, if it is one.
    pub target: Option<crate::core::diff::Target>,
    pub formula: Id,
    pub f64: f64,
    pub reference: Precise,
    /// The reference to [`REFERENCE_DIGITS`] significant digits when the evaluation had them
    /// at hand (see [`Quantity::reference_decimal`]).
    pub written_reference: Option<String>,
    /// For a name given a value (an input, target or parameter): the value as written.
    pub given_as: Option<String>,
    /// How well the reference is known.
    pub resolution: eval::Resolution,
    pub error_bits: f64,
    /// Whether `error_bits` is only a lower bound (the reference is an interval).
    pub error_at_least: bool,
    /// With `--stable`: the float64 value through the stable rewrites.
    pub stable: Option<f64>,
}

pub use crate::core::eval::REFERENCE_DIGITS;

impl Quantity {
    /// The reference to [`REFERENCE_DIGITS`] significant digits, as
    /// [`Precise::to_decimal_string`] writes it.
    pub fn reference_decimal(&self) -> std::borrow::Cow<'_, str> {
        if let Some(written) = &self.written_reference {
            return std::borrow::Cow::Borrowed(written);
        }
        // A value given with at most that many digits is its own reference.
        let given = self
            .given_as
            .as_deref()
            .and_then(|text| eval::written_decimal(text, REFERENCE_DIGITS));
        std::borrow::Cow::Owned(
            given.unwrap_or_else(|| self.reference.to_decimal_string(REFERENCE_DIGITS)),
        )
    }
}

/// Why a gradient check's finite difference may be the one that is wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Caveat {
    /// The derivative or the difference is not a finite number: nothing to compare.
    NotFinite,
    /// `function` has a kink at `argument`, within the difference's step.
    Kink { function: Func, argument: f64 },
    /// `function` is saturated at `argument`: the difference is mostly rounding noise.
    Saturated { function: Func, argument: f64 },
    /// `max` or `min` with arguments `gap` apart, within the difference's step.
    Tie { function: Func2, gap: f64 },
}

/// A symbolic derivative against a float64 central difference.
#[derive(Clone, Debug)]
pub struct GradCheck {
    pub label: String,
    pub analytic: f64,
    pub numeric: f64,
    /// |a − n| / (|a| + |n|), 0 when both are 0.
    pub relative_error: f64,
    /// Why the finite difference itself may be the unreliable one, if it may.
    pub caveat: Option<Caveat>,
    /// Whether the comparison says nothing here (a kink within the step, a value that is not
    /// finite): the verdict is "unreliable here" rather than a judgement.
    pub unreliable: bool,
}

/// What `eval` found at a point: every value and the requested derivatives and formulas in
/// float64 beside their high-precision references, with the numerical warnings.
#[derive(Clone, Debug)]
pub struct Report {
    /// Every name at the point, in program order: leaves first, then computed names.
    pub values: Vec<Quantity>,
    /// Whether the values are to be printed (`--no-values` says no).
    pub show_values: bool,
    pub cost: Quantity,
    pub derivatives: Vec<Quantity>,
    pub warnings: Vec<Warning>,
    /// The stable rewrites `--stable` applied.
    pub rewrites_used: Vec<StableRewrite>,
    pub grad_checks: Vec<GradCheck>,
    /// How many derivatives `--check-grad` could compare; more than `grad_checks` holds when
    /// they were sampled (see [`GRAD_CHECK_SAMPLE`]).
    pub grad_checks_of: usize,
    /// The gradient layer by layer, for a program with layers.
    pub layer_view: Option<crate::analysis::layer_view::LayerView>,
    /// Show only the layer view (`--per-layer`).
    pub per_layer: bool,
    /// List every value and derivative even for a large network (`--all-values`).
    pub all_values: bool,
    /// How many inputs and targets were set to 0 on request (`--init-inputs zero`).
    pub inputs_zeroed: usize,
}

/// What to evaluate besides the forward pass and the cost.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub targets: Vec<crate::core::diff::Target>,
    /// Formulas given with `--expr`: the text as written and the lowered formula.
    pub exprs: Vec<(String, Id)>,
    pub stable: bool,
    pub check_grad: bool,
    /// Leave the table of forward values out of the report.
    pub no_values: bool,
    /// Show only the layer view of the gradient.
    pub per_layer: bool,
    /// List every value and derivative even where a large network gets a summary.
    pub all_values: bool,
}

/// The lowest precision (bits) every node is evaluated at to be compared with float64.
const NODES_FLOOR_BITS: usize = 256;

/// Evaluates the forward pass, the cost, the requested derivatives and formulas at the point,
/// in float64 and at high precision, and says where float64 loses the answer.
pub fn evaluate(model: &mut Model, given: &[Given], request: &Request) -> Result<Report> {
    let config = crate::core::diff::Config {
        steps: false,
        ..Default::default()
    };
    // Derived first: the named error terms the results use join the program, so the forward
    // pass computes each once (the backward pass) and every gradient reads them.
    let derived = crate::core::diff::derive(model, &request.targets, &config);
    // The layer view's derivatives too, before the forward pass computes the error terms; it
    // reads the gradients just derived rather than deriving them again.
    let known: HashMap<crate::core::diff::Target, Id> = derived
        .derivations
        .iter()
        .map(|d| (d.target, d.result))
        .collect();
    let layer_gradients = crate::analysis::layer_view::LayerGradients::new(model, &known);
    // The computed names' references are evaluated below, with the formulas, in one run.
    let point = forward_float64(model, given)?;
    one_hot_holds(model, &point)?;
    let mut formulas: Vec<(String, Id)> = derived
        .derivations
        .iter()
        .map(|d| (d.target.plain_label(model), d.result))
        .collect();
    for (text, id) in &request.exprs {
        let resolved = crate::core::diff::resolve_derivatives(model, *id);
        formulas.push((text.clone(), resolved));
    }
    // One walk over every formula finds whether a value is missing; only then is the formula
    // that needs it looked for (a walk per formula costs as much as evaluating them).
    let all_formulas: Vec<Id> = formulas.iter().map(|&(_, f)| f).collect();
    let any_missing = model.graph.reachable(&all_formulas).into_iter().any(|id| {
        matches!(model.graph.node(id), crate::core::expr::Node::Var(s) if !point.f64.contains_key(s))
    });
    for (label, formula) in formulas.iter().filter(|_| any_missing) {
        let missing = model
            .graph
            .reachable(&[*formula])
            .into_iter()
            .find_map(|id| match model.graph.node(id) {
                crate::core::expr::Node::Var(s) if !point.f64.contains_key(s) => Some(*s),
                _ => None,
            });
        if let Some(s) = missing {
            return Err(Diagnostic::new(format!(
                "`{label}` needs a value for `{}`",
                model.name(s)
            ))
            .with_help(format!(
                "give it a value with the point, e.g. `{}=0.5`",
                model.name(s)
            ))
            .about(Input::Point));
        }
    }
    let mut rewrites_used = Vec::new();
    let stable_forms: Vec<Option<Id>> = if request.stable {
        let ids: Vec<Id> = formulas.iter().map(|&(_, f)| f).collect();
        stable_forms(model, &ids, &mut rewrites_used)
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None; formulas.len()]
    };
    let model = &*model;
    let graph = &model.graph;
    // Everything printed is evaluated once: each computed name's definition and each formula.
    let computed: Vec<(Sym, Id)> = model
        .syms()
        .filter_map(|s| point.definitions.get(&s).map(|&d| (s, d)))
        .collect();
    let definition_of: FastMap<Sym, Id> = computed.iter().copied().collect();
    let mut roots: Vec<Id> = computed.iter().map(|&(_, d)| d).collect();
    roots.extend(formulas.iter().map(|&(_, f)| f));
    let f64s = eval::eval_f64_all(graph, &roots, &|s| point.f64.get(&s).copied())
        .expect("every name has a value at the point");
    // The sums are where a fixed precision runs out (1 − tanh(200)^2 is 0 at 512 bits): the
    // nodes are compared at the precision at which the sums are stable too. The sums are
    // checked in the same passes as the roots (each pass evaluates every node below what is
    // still pending once), and the nodes are read from the last pass where it covered them
    // all: two passes in all when everything settles by 512 bits.
    // A sum that is a root already (a regularised gradient `δ·x + λ·w/n`) is checked once.
    let root_set: FastSet<Id> = roots.iter().copied().collect();
    let sums = f64s.evaluated().iter().copied().filter(|&id| {
        matches!(graph.node(id), crate::core::expr::Node::Add(_)) && !root_set.contains(&id)
    });
    let mut checked = roots.clone();
    checked.extend(sums);
    let (mut reference, precise) = eval::eval_reference_and_nodes(
        graph,
        &checked,
        &|s| point.binding(s),
        eval::STABLE_MAX_BITS,
        NODES_FLOOR_BITS,
    )
    .expect("every name has a value at the point");
    reference.values.truncate(roots.len());
    reference.resolutions.truncate(roots.len());
    let evaluated = crate::analysis::warnings::Evaluated {
        model,
        f64s: &f64s,
        precise: &precise,
        names: &point.f64,
    };
    let resolution_of: FastMap<Id, (Precise, eval::Resolution, String)> = roots
        .iter()
        .copied()
        .zip(
            reference
                .values
                .into_iter()
                .zip(reference.resolutions)
                .zip(reference.decimals)
                .map(|((value, resolution), decimal)| (value, resolution, decimal)),
        )
        .collect();
    let quantity = |label: String, formula: Id, f: f64, stable: Option<Id>| {
        let (r, resolution, decimal) = resolution_of[&formula].clone();
        let (bits, at_least) = crate::analysis::warnings::judge(f, &r, &resolution);
        Quantity {
            label,
            target: None,
            formula,
            error_bits: bits,
            error_at_least: at_least,
            f64: f,
            reference: r,
            written_reference: Some(decimal),
            given_as: None,
            resolution,
            stable: stable.map(|s| at_f64(model, &[s], &point)[0]),
        }
    };
    let mut warnings = Vec::new();
    let mut warning_index = crate::analysis::warnings::WarningIndex::default();
    for g in given {
        if !g.value.is_finite() || (g.value == 0.0) != point.precise[&g.sym].is_zero() {
            warnings.push(Warning {
                kind: WarningKind::InputOutOfRange,
                at: model.name(g.sym).to_string(),
                facts: Facts::InputOutOfRange {
                    text: g.text.clone(),
                    read_as: g.text.trim().parse::<f64>().ok(),
                },
                float64: g.value,
                reference: point.precise[&g.sym].to_decimal_string(REFERENCE_DIGITS),
            });
        }
    }
    warnings.extend(crate::analysis::warnings::outside_domain(model, given));
    // The last value given for a name is the one used.
    let text_of: FastMap<Sym, &str> = given.iter().map(|g| (g.sym, g.text.as_str())).collect();
    let mut values = Vec::new();
    for s in model.syms() {
        let Some(&v) = point.f64.get(&s) else {
            continue;
        };
        match definition_of.get(&s) {
            Some(&def) => {
                let mut q = quantity(model.name(s).to_string(), def, v, None);
                q.formula = model.graph_var(s);
                crate::analysis::warnings::diagnose(
                    &evaluated,
                    def,
                    model.name(s),
                    &q.resolution,
                    &mut warnings,
                    &mut warning_index,
                );
                // A named error term is part of the backward pass, not a value of the network.
                if model.symbol(s).kind != SymKind::ErrorTerm {
                    values.push(q);
                }
            }
            None => {
                let r = point.precise[&s].clone();
                values.push(Quantity {
                    label: model.name(s).to_string(),
                    target: None,
                    formula: model.graph_var(s),
                    error_bits: error_bits(v, &r),
                    error_at_least: false,
                    f64: v,
                    reference: r,
                    written_reference: None,
                    given_as: text_of.get(&s).map(|text| text.to_string()),
                    resolution: eval::Resolution::Converged,
                    stable: None,
                });
            }
        }
    }
    let cost_var = model.graph_var(model.cost);
    let cost = values
        .iter()
        .find(|q| q.formula == cost_var)
        .cloned()
        .expect("the cost has a value at the point");
    let mut derivatives = Vec::new();
    for (i, ((label, formula), stable)) in formulas.into_iter().zip(stable_forms).enumerate() {
        // The derivations come first, the `--expr` formulas after them.
        let q = Quantity {
            target: derived.derivations.get(i).map(|d| d.target),
            ..quantity(label, formula, f64s[&formula], stable)
        };
        crate::analysis::warnings::diagnose(
            &evaluated,
            formula,
            &q.label,
            &q.resolution,
            &mut warnings,
            &mut warning_index,
        );
        let lost = q.error_bits > LOST_BITS;
        let cost_scale = cost.reference.to_f64().abs();
        if !lost
            && q.f64 != 0.0
            && cost_scale > 0.0
            && q.f64.abs() < 1e-8 * cost_scale
            && q.label.starts_with('d')
        {
            warnings.push(Warning {
                float64: q.f64,
                reference: q.reference_decimal().into_owned(),
                kind: WarningKind::VanishingGradient,
                at: q.label.clone(),
                facts: Facts::VanishingGradient { cost: cost_scale },
            });
        }
        derivatives.push(q);
    }
    let (grad_checks, grad_checks_of) = if request.check_grad {
        gradient_checks(model, &derived, &point, given)
    } else {
        (Vec::new(), 0)
    };
    let layer_view = layer_gradients.map(|lg| {
        let leaves: Vec<(Sym, f64)> = given.iter().map(|g| (g.sym, g.value)).collect();
        lg.view(model, &[leaves])
    });
    Ok(Report {
        layer_view,
        per_layer: request.per_layer,
        all_values: request.all_values,
        inputs_zeroed: 0,
        show_values: !request.no_values,
        values,
        cost,
        derivatives,
        warnings,
        rewrites_used,
        grad_checks,
        grad_checks_of,
    })
}

/// A rewrite `--stable` evaluates through (worded by `warning.txt`, form `rewrite_` and the
/// code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StableRewrite {
    /// `1 − σ(z) = σ(−z)`, so `σ'(z) = σ(z)·σ(−z)` keeps its value when σ(z) rounds to 1.
    SigmoidComplement,
}

impl StableRewrite {
    pub fn code(self) -> &'static str {
        match self {
            StableRewrite::SigmoidComplement => "sigmoid_complement",
        }
    }
}

/// Rewrites formulas into forms float64 evaluates well: `1 − σ(z)` (or `1 − a` with
/// `a = σ(z)`) becomes `σ(−z)`, so `σ'(z) = σ(z)·σ(−z)` keeps its tiny value when σ saturates.
pub fn stable_forms(model: &mut Model, formulas: &[Id], used: &mut Vec<StableRewrite>) -> Vec<Id> {
    use crate::core::expr::{Func, Node};
    let formulas = through_error_terms(model, formulas);
    let definitions = model.definitions.clone();
    let mut applied = false;
    // One rewrite for every formula: what they share (the named terms' definitions) is
    // rewritten once.
    let mapped = model.graph.rewrite(&formulas, |g, node| {
        if let Node::Add(terms) = &node
            && terms.len() == 2
            && g.as_num(terms[0]).is_some_and(|n| n.is_one())
            && let Node::Mul(fs) = g.node(terms[1]).clone()
            && fs.len() == 2
            && g.as_num(fs[0])
                .is_some_and(|n| n == crate::core::expr::Num::MINUS_ONE)
        {
            let sigmoid_arg = match g.node(fs[1]).clone() {
                Node::Call(Func::Sigmoid, u) => Some(u),
                Node::Var(s) => definitions[s.index()].and_then(|d| match g.node(d) {
                    Node::Call(Func::Sigmoid, u) => Some(*u),
                    _ => None,
                }),
                _ => None,
            };
            if let Some(u) = sigmoid_arg {
                applied = true;
                let minus_u = g.neg(u);
                return g.call(Func::Sigmoid, minus_u);
            }
        }
        g.add(node)
    });
    if applied && !used.contains(&StableRewrite::SigmoidComplement) {
        used.push(StableRewrite::SigmoidComplement);
    }
    formulas.iter().map(|f| mapped[f]).collect()
}

/// The formulas with each named error term replaced by its definition, until none is left:
/// a gradient written in δ2_1 holds most of its arithmetic there (δ2_1 = δ3_1·w·a(1 − a)),
/// where the stable rewrites must reach. One rewrite of all the formulas a level of terms,
/// and the graph shares what the terms share, so this stays the size of the backward pass.
fn through_error_terms(model: &mut Model, formulas: &[Id]) -> Vec<Id> {
    use crate::core::expr::Node;
    let mut current = formulas.to_vec();
    loop {
        let terms: FastMap<Sym, Id> = model
            .graph
            .reachable(&current)
            .into_iter()
            .filter_map(|id| match model.graph.node(id) {
                Node::Var(s) if model.symbol(*s).kind == SymKind::ErrorTerm => {
                    Some((*s, model.definition(*s)?))
                }
                _ => None,
            })
            .collect();
        if terms.is_empty() {
            return current;
        }
        let mapped = model.graph.rewrite(&current, |g, node| match node {
            Node::Var(s) if terms.contains_key(&s) => terms[&s],
            other => g.add(other),
        });
        current = current.iter().map(|f| mapped[f]).collect();
    }
}

/// `--check-grad`: each symbolic derivative with respect to a leaf against a float64 central
/// difference of the cost, with the usual thresholds, and a caveat where the difference
/// itself is unreliable.
/// The most derivatives `--check-grad` compares. Each comparison runs the network forward
/// twice and looks along every name the leaf reaches, so checking all 23,860 of a 784-30-10
/// network took 17 minutes; beyond this many, evenly spaced ones are checked and the report
/// says how many of how many.
pub const GRAD_CHECK_SAMPLE: usize = 64;

/// The gradient checks, and how many derivatives could have been checked.
fn gradient_checks(
    model: &Model,
    derived: &crate::core::diff::Derivations,
    point: &Point,
    given: &[Given],
) -> (Vec<GradCheck>, usize) {
    use crate::core::expr::{Func, Node};
    let eligible: Vec<&crate::core::diff::Derivation> = derived
        .derivations
        .iter()
        .filter(|d| d.target.of == model.cost && model.symbol(d.target.wrt).kind.is_leaf())
        .collect();
    let total = eligible.len();
    let sampled: Vec<&crate::core::diff::Derivation> = if total <= GRAD_CHECK_SAMPLE {
        eligible
    } else {
        (0..GRAD_CHECK_SAMPLE)
            .map(|i| eligible[i * total / GRAD_CHECK_SAMPLE])
            .collect()
    };
    let mut out = Vec::new();
    for d in sampled {
        let wrt = d.target.wrt;
        let Some(&theta) = point.f64.get(&wrt) else {
            continue;
        };
        let analytic = at_f64(model, &[d.result], point)[0];
        let h = 1e-5 * theta.abs().max(1.0);
        let cost_at = |x: f64| {
            let shifted: Vec<(Sym, f64)> = given
                .iter()
                .map(|g| (g.sym, if g.sym == wrt { x } else { g.value }))
                .collect();
            forward::float64(model, &shifted)
                .get(&model.cost)
                .copied()
                .unwrap_or(f64::NAN)
        };
        let numeric = (cost_at(theta + h) - cost_at(theta - h)) / (2.0 * h);
        let relative_error = if analytic == 0.0 && numeric == 0.0 {
            0.0
        } else {
            (analytic - numeric).abs() / (analytic.abs() + numeric.abs())
        };
        // Kinks within reach of the step, and saturated activations, make the difference lie,
        // where they lie between this leaf and the cost.
        let mut depends: std::collections::HashSet<Sym> = std::collections::HashSet::from([wrt]);
        let mut caveat = None;
        let mut unreliable = !(analytic.is_finite() && numeric.is_finite());
        if unreliable {
            caveat = Some(Caveat::NotFinite);
        }
        for &s in &model.order {
            let Some(def) = model.definition(s) else {
                continue;
            };
            let reached = model.graph.reachable(&[def]);
            let uses_wrt = reached
                .iter()
                .any(|&id| matches!(model.graph.node(id), Node::Var(t) if depends.contains(t)));
            if !uses_wrt {
                continue;
            }
            depends.insert(s);
            for id in reached {
                let value = |arg| {
                    eval::eval_f64(&model.graph, &[arg], &|t| point.f64.get(&t).copied()).ok()
                };
                // max and min have their kink where the arguments tie
                if let Node::Call2(f, a, b) = *model.graph.node(id)
                    && f.is_gate()
                    && let (Some(a), Some(b)) = (value(a), value(b))
                    && (a[0] - b[0]).abs() <= h
                {
                    unreliable = true;
                    let gap = a[0] - b[0];
                    caveat = Some(Caveat::Tie { function: f, gap });
                }
                let Node::Call(f, arg) = *model.graph.node(id) else {
                    continue;
                };
                let Some(v) = value(arg) else {
                    continue;
                };
                let z = v[0];
                let kinked = matches!(f, Func::Relu | Func::Abs | Func::ReluPrime | Func::Sign);
                if kinked && z.abs() <= h {
                    unreliable = true;
                    caveat = Some(Caveat::Kink {
                        function: f,
                        argument: z,
                    });
                } else if matches!(f, Func::Sigmoid | Func::Tanh)
                    && z.abs() > 20.0
                    && caveat.is_none()
                {
                    caveat = Some(Caveat::Saturated {
                        function: f,
                        argument: z,
                    });
                }
            }
        }
        out.push(GradCheck {
            label: d.target.plain_label(model),
            analytic,
            numeric,
            relative_error,
            caveat,
            unreliable,
        });
    }
    (out, total)
}

pub use crate::core::number::{float, plain_decimal};

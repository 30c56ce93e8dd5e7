//! Numbers at a point: the forward pass, and formulas of the model evaluated at given values,
//! both in float64 (computed exactly as written, as a user's NumPy code would) and as a
//! high-precision reference.
//!
//! A value given to an intermediate cuts the graph there: its definition is not evaluated and
//! everything downstream uses the given value (the seed question gives a^(l−1) = 62.5).

use std::collections::HashMap;

use crate::core::error::{Diagnostic, Result};
use crate::core::eval::{self, Precise};
use crate::core::expr::{Id, Sym};
use crate::core::model::Given;
use crate::core::model::{Model, SymKind};

/// Bits for the starting point of the reference: given decimals are read this precisely.
pub const INPUT_BITS: usize = 1024;

/// The value of every name at a point, in float64 and at high precision.
#[derive(Clone, Debug)]
pub struct Point {
    pub f64: HashMap<Sym, f64>,
    pub precise: HashMap<Sym, Precise>,
    /// The names given a value (leaves, and intermediates that cut the graph).
    pub given: Vec<Sym>,
}

/// Runs the forward pass from the given values. Every input, target and parameter the cost
/// needs must have a value (unless the graph is cut above it).
pub fn forward(model: &Model, given: &[Given]) -> Result<Point> {
    let mut f64s: HashMap<Sym, f64> = HashMap::new();
    let mut precise: HashMap<Sym, Precise> = HashMap::new();
    for g in given {
        f64s.insert(g.sym, g.value);
        let p = Precise::parse_decimal(&g.text, INPUT_BITS)
            .unwrap_or_else(|| Precise::from_f64(g.value));
        precise.insert(g.sym, p);
    }
    let needed = needed_leaves(model, given);
    let missing: Vec<&str> = needed
        .iter()
        .filter(|s| !f64s.contains_key(s))
        .map(|&s| model.name(s))
        .collect();
    if !missing.is_empty() {
        return Err(
            Diagnostic::new(format!("no value given for {}", list(&missing))).with_help(format!(
                "give every input, target and parameter a value, e.g. `--at {}`",
                missing
                    .iter()
                    .map(|m| format!("{m}=0.5"))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        );
    }
    for &s in &model.order {
        if f64s.contains_key(&s) {
            continue;
        }
        let def = model
            .definition(s)
            .expect("computed names have definitions");
        // A name off the cost's path may depend on a leaf with no value: it has none either.
        let Ok(v) = eval::eval_f64(&model.graph, &[def], &|t| f64s.get(&t).copied()) else {
            continue;
        };
        let Ok(mut p) =
            eval::eval_precise_stable(&model.graph, &[def], &|t| precise.get(&t).cloned())
        else {
            continue;
        };
        let (v, p) = (v[0], p.values.remove(0));
        f64s.insert(s, v);
        precise.insert(s, p);
    }
    Ok(Point {
        f64: f64s,
        precise,
        given: given.iter().map(|g| g.sym).collect(),
    })
}

/// The leaves the cost depends on when the graph is cut at the given intermediates.
fn needed_leaves(model: &Model, given: &[Given]) -> Vec<Sym> {
    let cut: Vec<Sym> = given.iter().map(|g| g.sym).collect();
    let mut needed = Vec::new();
    let mut stack = vec![model.cost];
    let mut seen = std::collections::HashSet::new();
    while let Some(s) = stack.pop() {
        if !seen.insert(s) {
            continue;
        }
        if model.symbol(s).kind.is_leaf() {
            needed.push(s);
            continue;
        }
        if cut.contains(&s) {
            continue;
        }
        if let Some(def) = model.definition(s) {
            for id in model.graph.reachable(&[def]) {
                if let crate::core::expr::Node::Var(t) = model.graph.node(id) {
                    stack.push(*t);
                }
            }
        }
    }
    needed.sort();
    needed
}

fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// Formulas (in the model's names) at the point, in float64 exactly as written.
pub fn at_f64(model: &Model, roots: &[Id], point: &Point) -> Vec<f64> {
    eval::eval_f64(&model.graph, roots, &|s| point.f64.get(&s).copied())
        .expect("every name has a value at the point")
}

/// Formulas at the point, as the high-precision reference (precision raised until stable).
pub fn at_precise(model: &Model, roots: &[Id], point: &Point) -> Vec<Precise> {
    eval::eval_precise_stable(&model.graph, roots, &|s| point.precise.get(&s).cloned())
        .expect("every name has a value at the point")
        .values
}

/// A subterm's text, printed when a message is formatted.
struct NodeText<'p>(&'p crate::render::FormulaPrinter<'p>, Id);

impl std::fmt::Display for NodeText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.text(self.1))
    }
}

/// Whether a name is a parameter (what gradient descent updates).
pub fn is_param(model: &Model, s: Sym) -> bool {
    model.symbol(s).kind == SymKind::Param
}

/// Herbie's measure of a float64 result's error: log2 of the number of floats between it and
/// the correctly rounded reference (0 when it is the correctly rounded value).
pub fn error_bits(computed: f64, reference: &Precise) -> f64 {
    let exact = match reference {
        Precise::Finite(_) => reference.to_f64(),
        _ => return if computed.is_nan() { 0.0 } else { 64.0 },
    };
    // A true value beyond float64's range (it rounds to ∞, or to 0 from a non-zero value)
    // is lost whatever float64 does.
    if exact.is_infinite() || (exact == 0.0 && !reference.is_zero()) {
        return 64.0;
    }
    if computed.is_nan() {
        return 64.0;
    }
    let ordered = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 { i64::MIN - bits } else { bits }
    };
    let distance = (ordered(computed) as i128 - ordered(exact) as i128).unsigned_abs();
    ((distance + 1) as f64).log2()
}

/// Bits of error (of 53) at which a value counts as lost: 2^12 ulps, about 1e-12 relative.
const LOST_BITS: f64 = 12.0;
/// Bits a node must add to its operands' error to be where the answer is lost.
const ADDED_BITS: f64 = 8.0;

/// A place where float64 loses the answer.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Warning {
    /// `saturation`, `cancellation`, `underflow`, `overflow`, `nan`, `division by zero`,
    /// `log domain`, `sqrt domain`, `vanishing gradient`.
    pub kind: &'static str,
    /// The name (or derivative) where it happens.
    pub at: String,
    pub message: String,
    /// The float64 value of the node where the answer is lost.
    pub float64: f64,
    /// Its high-precision value, as a decimal string.
    pub reference: String,
}

/// Finds where float64 loses the answer while evaluating `formula` (labelled `at`): nodes
/// whose operands are accurate but whose own result is not, named by what went wrong.
pub fn diagnose(model: &Model, formula: Id, at: &str, point: &Point, out: &mut Vec<Warning>) {
    use crate::core::expr::{Func, Node};
    let graph = &model.graph;
    let Ok(f64s) = eval::eval_f64_all(graph, &[formula], &|s| point.f64.get(&s).copied()) else {
        return;
    };
    let leaf_value = |s| point.precise.get(&s).cloned();
    // The sums are where a fixed precision runs out (1 − tanh(200)^2 is 0 at 512 bits), so
    // the precision is the one at which they and the formula are stable.
    let mut sums: Vec<Id> = graph
        .reachable(&[formula])
        .into_iter()
        .filter(|&id| matches!(graph.node(id), Node::Add(_)))
        .collect();
    sums.push(formula);
    let Ok(stable) = eval::eval_precise_stable(graph, &sums, &leaf_value) else {
        return;
    };
    let Ok(precise) = eval::eval_precise_all(
        graph,
        &[formula],
        &leaf_value,
        stable.precision_bits.max(512),
    ) else {
        return;
    };
    let printer = crate::render::FormulaPrinter::new(graph, &model.symbols);
    let bits = |id: Id| error_bits(f64s[&id], &precise[&id]);
    let show = float;
    // Five digits unless the float64 value agrees with them: a warning must show the difference.
    let reference = |id: Id| {
        let digits = (5..=17)
            .find(|&n| {
                let computed: f64 = format!("{:.*e}", n - 1, f64s[&id])
                    .parse()
                    .unwrap_or(f64::NAN);
                let true_value: f64 = precise[&id]
                    .to_decimal_string(n)
                    .parse()
                    .unwrap_or(f64::NAN);
                computed != true_value
            })
            .unwrap_or(17);
        plain_decimal(&precise[&id].to_decimal_string(digits))
    };
    // Whether some node of this formula was found where the answer is lost.
    let mut found = false;
    for id in graph.reachable(&[formula]) {
        let value = f64s[&id];
        let exact = &precise[&id];
        // Printed only for a warning: a large formula's subterms written out one by one
        // would cost the square of its size (or more, shared subterms repeated).
        let text = NodeText(&printer, id);
        let node_reference = precise[&id].to_decimal_string(17);
        let push = |out: &mut Vec<Warning>, kind: &'static str, at: String, message: String| {
            let w = Warning {
                kind,
                at,
                message,
                float64: value,
                reference: node_reference.clone(),
            };
            if !out.contains(&w) {
                out.push(w);
            }
        };
        let children = graph.children(id);
        if matches!(exact, Precise::Undefined) {
            if children
                .iter()
                .any(|c| matches!(precise[c], Precise::Undefined))
            {
                continue;
            }
            let (kind, why) = match graph.node(id) {
                Node::Call(Func::Log, a) => ("log domain", format!("log of {}", show(f64s[a]))),
                Node::Call(Func::Sqrt, a) => ("sqrt domain", format!("sqrt of {}", show(f64s[a]))),
                Node::Pow(b, _) if f64s[b] == 0.0 => {
                    ("division by zero", "division by zero".to_string())
                }
                _ => ("nan", "a value that is not a real number".to_string()),
            };
            found = true;
            push(
                out,
                kind,
                at.to_string(),
                format!(
                    "{text} is undefined here ({why}); float64 gives {}",
                    show(value)
                ),
            );
            continue;
        }
        let inherited = children.iter().map(|&c| bits(c)).fold(0.0, f64::max);
        // Only where the answer is lost: the node's own error far beyond its operands'.
        if matches!(graph.node(id), Node::Var(_) | Node::Num(_))
            || bits(id) < inherited + ADDED_BITS
        {
            continue;
        }
        if bits(id) <= LOST_BITS {
            continue;
        }
        let Precise::Finite(_) = exact else { continue };
        found = true;
        let true_value = reference(id);
        if value.is_nan() {
            push(
                out,
                "nan",
                at.to_string(),
                format!(
                    "{text} is NaN in float64 (an ∞/∞, ∞ − ∞ or 0·∞ on the way) but is {true_value}; rescale the inputs or use the stable forms (--stable)"
                ),
            );
        } else if value.is_infinite() {
            push(
                out,
                "overflow",
                at.to_string(),
                format!(
                    "{text} overflows to {value} in float64 (true value {true_value}); float64 ends near 1.8e308: normalise the inputs, or compute in log space"
                ),
            );
        } else if let Node::Add(terms) = graph.node(id) {
            cancellation(
                model,
                &printer,
                id,
                terms,
                at,
                value,
                &true_value,
                &node_reference,
                &f64s,
                point,
                out,
            );
        } else if value == 0.0 || value.abs() < f64::MIN_POSITIVE {
            push(
                out,
                "underflow",
                at.to_string(),
                format!(
                    "{text} underflows to {} in float64 (true value {true_value}); work with logarithms or rescale",
                    show(value)
                ),
            );
        } else if let Node::Call(f @ (Func::SigmoidPrime | Func::TanhPrime), arg) = graph.node(id) {
            let stable = if *f == Func::SigmoidPrime {
                "σ(z)·σ(−z)"
            } else {
                "4/(e^z + e^−z)^2"
            };
            push(
                out,
                "saturation",
                at.to_string(),
                format!(
                    "{text} at z = {} is computed as written, and the activation is saturated: float64 gives {} but the true value is {true_value}; use the stable form {stable}",
                    f64s[arg],
                    show(value)
                ),
            );
        } else {
            push(
                out,
                "precision loss",
                at.to_string(),
                format!(
                    "{text} loses {:.0} of float64's 53 bits here: float64 gives {} but the true value is {true_value}",
                    bits(id),
                    show(value)
                ),
            );
        }
    }
    // Bits lost a few at a time, no single node to blame: say so at the value itself.
    let value = f64s[&formula];
    // Bits lost upstream were reported where the upstream name is computed.
    let inherited = graph
        .reachable(&[formula])
        .into_iter()
        .filter(|&id| matches!(graph.node(id), Node::Var(_)))
        .map(bits)
        .fold(0.0, f64::max);
    if !found
        && value.is_finite()
        && bits(formula) > LOST_BITS
        && inherited <= LOST_BITS
        && let Precise::Finite(_) = &precise[&formula]
    {
        let w = Warning {
            kind: "precision loss",
            at: at.to_string(),
            message: format!(
                "{} loses {:.0} of float64's 53 bits over several operations, none of which loses many alone: float64 gives {} but the true value is {}",
                printer.text(formula),
                bits(formula),
                show(value),
                reference(formula)
            ),
            float64: value,
            reference: precise[&formula].to_decimal_string(17),
        };
        if !out.contains(&w) {
            out.push(w);
        }
    }
}

/// A sum whose terms nearly cancel: say which operand rounded (a saturated sigmoid or tanh,
/// most often) and what to do.
#[allow(clippy::too_many_arguments)]
fn cancellation(
    model: &Model,
    printer: &crate::render::FormulaPrinter,
    id: Id,
    terms: &[Id],
    at: &str,
    value: f64,
    true_value: &str,
    node_reference: &str,
    f64s: &HashMap<Id, f64>,
    point: &Point,
    out: &mut Vec<Warning>,
) {
    use crate::core::expr::{Func, Node};
    let graph = &model.graph;
    let text = printer.text(id);
    // The saturated activation among the operands: σ(z) or tanh(z) itself, or a name defined
    // as one.
    let mut saturated = None;
    for &t in terms {
        let mut base = t;
        if let Node::Mul(fs) = graph.node(t)
            && fs.len() == 2
            && graph.as_num(fs[0]).is_some()
        {
            base = fs[1];
        }
        // 1 − tanh(z)^2, 1 − a^2: the square of the saturated value.
        if let Node::Pow(b, e) = graph.node(base)
            && graph.as_num(*e).is_some()
        {
            base = *b;
        }
        let (name, call) = match graph.node(base) {
            Node::Var(s) => match model.definition(*s).map(|d| (d, graph.node(d))) {
                Some((d, Node::Call(Func::Sigmoid | Func::Tanh, _))) => (Some(*s), d),
                _ => continue,
            },
            Node::Call(Func::Sigmoid | Func::Tanh, _) => (None, base),
            _ => continue,
        };
        let v = f64s.get(&base).copied().unwrap_or(f64::NAN);
        if v == 1.0 || v == 0.0 || v == -1.0 {
            saturated = Some((name, call, v));
            break;
        }
    }
    let message = match saturated {
        Some((name, call, v)) => {
            let Node::Call(f, arg) = *graph.node(call) else {
                unreachable!()
            };
            let arg_value = eval::eval_f64(graph, &[arg], &|s| point.f64.get(&s).copied())
                .map(|v| v[0])
                .unwrap_or(f64::NAN);
            let fname = if f == Func::Sigmoid { "σ" } else { "tanh" };
            let who = match name {
                Some(s) => format!("{} = {}", model.name(s), printer.text(call)),
                None => printer.text(call),
            };
            let remedy = if f == Func::Sigmoid {
                "the neuron is saturated; use the stable form σ'(z) = σ(z)·σ(−z) (1 − σ(z) = σ(−z)), --stable evaluates it, or the cross-entropy cost, whose gradient cancels σ'"
            } else {
                "the neuron is saturated; 1 − tanh(z)^2 is better computed as 4/(e^z + e^−z)^2, or normalise the inputs"
            };
            let at = name
                .map(|s| model.name(s).to_string())
                .unwrap_or_else(|| at.to_string());
            let w = Warning {
                float64: value,
                reference: node_reference.to_string(),
                kind: "saturation",
                at,
                message: format!(
                    "{who} = {fname}({arg_value}) rounds to exactly {v} in float64, so {text} cancels to {} (true value {true_value}); {remedy}",
                    float(value)
                ),
            };
            if !out.contains(&w) {
                out.push(w);
            }
            return;
        }
        None => format!(
            "{text} cancels in float64: its terms agree in most of their digits, leaving {} (true value {true_value}); rearrange the formula to avoid subtracting close values",
            float(value)
        ),
    };
    let w = Warning {
        float64: value,
        reference: node_reference.to_string(),
        kind: "cancellation",
        at: at.to_string(),
        message,
    };
    if !out.contains(&w) {
        out.push(w);
    }
}

/// One evaluated quantity: float64 as written, the reference, and the error between them.
#[derive(Clone, Debug)]
pub struct Quantity {
    /// `C`, `a2`, `dC/dw2`, or the formula as given with `--expr`.
    pub label: String,
    pub formula: Id,
    pub f64: f64,
    pub reference: Precise,
    pub error_bits: f64,
    /// With `--stable`: the float64 value through the stable rewrites.
    pub stable: Option<f64>,
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
    pub caveat: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Report {
    /// Every name at the point, in program order: leaves first, then computed names.
    pub values: Vec<Quantity>,
    pub cost: Quantity,
    pub derivatives: Vec<Quantity>,
    pub warnings: Vec<Warning>,
    /// The stable rewrites `--stable` applied, as sentences.
    pub rewrites_used: Vec<String>,
    pub grad_checks: Vec<GradCheck>,
}

/// What to evaluate besides the forward pass and the cost.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub targets: Vec<crate::core::diff::Target>,
    /// Formulas given with `--expr`: the text as written and the lowered formula.
    pub exprs: Vec<(String, Id)>,
    pub stable: bool,
    pub check_grad: bool,
}

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
    let point = forward(model, given)?;
    let mut formulas: Vec<(String, Id)> = derived
        .derivations
        .iter()
        .map(|d| (d.target.plain_label(model), d.result))
        .collect();
    for (text, id) in &request.exprs {
        let resolved = crate::core::diff::resolve_derivatives(model, *id);
        formulas.push((text.clone(), resolved));
    }
    for (label, formula) in &formulas {
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
            .with_help(format!("add it to --at, e.g. `--at {}=0.5`", model.name(s))));
        }
    }
    let mut rewrites_used = Vec::new();
    let stable_forms: Vec<Option<Id>> = formulas
        .iter()
        .map(|&(_, f)| {
            request
                .stable
                .then(|| stable_form(model, f, &mut rewrites_used))
        })
        .collect();
    let model = &*model;
    let quantity = |label: String, formula: Id, stable: Option<Id>| {
        let f = at_f64(model, &[formula], &point)[0];
        let r = at_precise(model, &[formula], &point).remove(0);
        Quantity {
            label,
            formula,
            error_bits: error_bits(f, &r),
            f64: f,
            reference: r,
            stable: stable.map(|s| at_f64(model, &[s], &point)[0]),
        }
    };
    let mut warnings = Vec::new();
    let mut values = Vec::new();
    for s in model.syms() {
        let Some(&v) = point.f64.get(&s) else {
            continue;
        };
        let r = point.precise[&s].clone();
        if !point.given.contains(&s)
            && let Some(def) = model.definition(s)
        {
            diagnose(model, def, model.name(s), &point, &mut warnings);
        }
        if model.symbol(s).kind == SymKind::ErrorTerm {
            continue;
        }
        values.push(Quantity {
            label: model.name(s).to_string(),
            formula: model.graph_var(s),
            error_bits: error_bits(v, &r),
            f64: v,
            reference: r,
            stable: None,
        });
    }
    let cost_var = model.graph_var(model.cost);
    let cost = values
        .iter()
        .find(|q| q.formula == cost_var)
        .cloned()
        .unwrap_or_else(|| quantity(model.name(model.cost).to_string(), cost_var, None));
    let mut derivatives = Vec::new();
    for ((label, formula), stable) in formulas.into_iter().zip(stable_forms) {
        diagnose(model, formula, &label, &point, &mut warnings);
        let q = quantity(label, formula, stable);
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
                reference: q.reference.to_decimal_string(17),
                kind: "vanishing gradient",
                at: q.label.clone(),
                message: format!(
                    "{} = {:e} is right in float64 but tiny next to the cost {:e}: a step of gradient descent will barely move it (a vanishing gradient; saturated sigmoids are the usual cause)",
                    q.label, q.f64, cost_scale
                ),
            });
        }
        derivatives.push(q);
    }
    let grad_checks = if request.check_grad {
        gradient_checks(model, &derived, &point, given)
    } else {
        Vec::new()
    };
    Ok(Report {
        values,
        cost,
        derivatives,
        warnings,
        rewrites_used,
        grad_checks,
    })
}

/// Rewrites a formula into forms float64 evaluates well: `1 − σ(z)` (or `1 − a` with
/// `a = σ(z)`) becomes `σ(−z)`, so `σ'(z) = σ(z)·σ(−z)` keeps its tiny value when σ saturates.
pub fn stable_form(model: &mut Model, formula: Id, used: &mut Vec<String>) -> Id {
    use crate::core::expr::{Func, Node};
    let definitions = model.definitions.clone();
    let mut applied = false;
    let mapped = model.graph.rewrite(&[formula], |g, node| {
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
    if applied {
        let rule = "1 − σ(z) = σ(−z), so σ'(z) = σ(z)·σ(−z) keeps its value when σ(z) rounds to 1"
            .to_string();
        if !used.contains(&rule) {
            used.push(rule);
        }
    }
    mapped[&formula]
}

/// `--check-grad`: each symbolic derivative with respect to a leaf against a float64 central
/// difference of the cost, with the usual thresholds, and a caveat where the difference
/// itself is unreliable.
fn gradient_checks(
    model: &Model,
    derived: &crate::core::diff::Derivations,
    point: &Point,
    given: &[Given],
) -> Vec<GradCheck> {
    use crate::core::expr::{Func, Node};
    let mut out = Vec::new();
    for d in &derived.derivations {
        if d.target.of != model.cost || !model.symbol(d.target.wrt).kind.is_leaf() {
            continue;
        }
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
            forward_f64(model, &shifted)
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
        // Kinks within reach of the step, and saturated activations, make the difference lie.
        let mut caveat = None;
        for &s in &model.order {
            let Some(def) = model.definition(s) else {
                continue;
            };
            for id in model.graph.reachable(&[def]) {
                let Node::Call(f, arg) = *model.graph.node(id) else {
                    continue;
                };
                let Ok(v) = eval::eval_f64(&model.graph, &[arg], &|t| point.f64.get(&t).copied())
                else {
                    continue;
                };
                let z = v[0];
                if matches!(f, Func::Relu | Func::Abs | Func::ReluPrime) && z.abs() < 1e-3 {
                    caveat = Some(format!(
                        "{}({z:e}) sits at its kink: the finite difference straddles it and is unreliable here",
                        f.name()
                    ));
                } else if matches!(f, Func::Sigmoid | Func::Tanh)
                    && z.abs() > 20.0
                    && caveat.is_none()
                {
                    caveat = Some(format!(
                        "{}({z}) is saturated: the cost barely changes, so the finite difference is mostly rounding noise",
                        f.name()
                    ));
                }
            }
        }
        out.push(GradCheck {
            label: d.target.plain_label(model),
            analytic,
            numeric,
            relative_error,
            caveat,
        });
    }
    out
}

/// The forward pass in float64 alone, from values for the leaves (finite differences and
/// gradient descent need no reference). A name off the cost's path whose leaves have no
/// value is left out.
pub fn forward_f64(model: &Model, leaves: &[(Sym, f64)]) -> HashMap<Sym, f64> {
    let mut values: HashMap<Sym, f64> = leaves.iter().copied().collect();
    for &s in &model.order {
        if values.contains_key(&s) {
            continue;
        }
        let def = model
            .definition(s)
            .expect("computed names have definitions");
        if let Ok(v) = eval::eval_f64(&model.graph, &[def], &|t| values.get(&t).copied()) {
            values.insert(s, v[0]);
        }
    }
    values
}

/// `6.25e1` as `62.5`: scientific notation only for very large or small magnitudes.
pub fn plain_decimal(scientific: &str) -> String {
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific.to_string();
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return scientific.to_string();
    };
    if !(-5..17).contains(&exponent) {
        return scientific.to_string();
    }
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let point = 1 + exponent;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    format!("{sign}{body}")
}

/// A float64 as a reader wants it: plain in the usual range, scientific outside it.
pub fn float(x: f64) -> String {
    if x == 0.0 || (1e-4..1e16).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::plain_decimal;

    #[test]
    fn references_print_as_plain_decimals_in_the_usual_range() {
        assert_eq!(plain_decimal("6.25e1"), "62.5");
        assert_eq!(plain_decimal("-5e-1"), "-0.5");
        assert_eq!(plain_decimal("1e0"), "1");
        assert_eq!(plain_decimal("0e0"), "0");
        assert_eq!(plain_decimal("1.2345e-3"), "0.0012345");
        assert_eq!(
            plain_decimal("2.4109373099548972e-20"),
            "2.4109373099548972e-20"
        );
        assert_eq!(plain_decimal("1.5e3"), "1500");
    }
}

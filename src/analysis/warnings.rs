//! Where float64 loses the answer: each node of a printed formula compared with the
//! high-precision reference, the node where the loss starts named by what happened there
//! (saturation, cancellation, overflow, underflow, ...). A warning is raised only where the
//! loss reaches a value that is printed. A warning is data: its kind and the [`Facts`] its
//! sentence is made of (formulas as nodes of the graph, numbers as numbers); the words are in
//! the `warning.txt` template, so this module decides *what* happened and nothing about phrasing.

use std::collections::HashMap;

use serde::Serialize;

use crate::core::eval::REFERENCE_DIGITS;
use crate::core::eval::{Precise, Resolution};
use crate::core::expr::{Func, Id, Node, Sym};
use crate::core::model::{Domain, Given, Model};

/// Bits of error (of 53) at which a value counts as lost: 2^12 ulps, about 1e-12 relative.
pub const LOST_BITS: f64 = 12.0;
/// Bits a node must add to its operands' error to be where the answer is lost.
const ADDED_BITS: f64 = 8.0;

/// What went wrong, as a stable code (kebab-case in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// An activation rounded to exactly its limit (σ(50) = 1), and a later step needed the
    /// difference.
    Saturation,
    /// A difference of nearly equal values.
    Cancellation,
    /// A true value beyond float64's largest (≈1.8e308), or an intermediate that was.
    Overflow,
    /// A true value below float64's smallest normal (≈2.2e-308): flushed to 0 or subnormal.
    Underflow,
    /// Bits lost without one of the causes above.
    PrecisionLoss,
    /// NaN where the true value is a number.
    NotANumber,
    /// A division by zero: the value is not a real number.
    DivisionByZero,
    /// The log of a value ≤ 0.
    LogDomain,
    /// The square root of a negative value.
    SqrtDomain,
    /// Some other value that is not a real number (a negative base to a fractional power).
    Undefined,
    /// A value given outside float64's range; the reference uses it exactly.
    InputOutOfRange,
    /// A value given outside the domain its name is declared with (`input x in [0, 1]`).
    OutsideDomain,
    /// The reference could not be resolved within the precision allowed.
    UnresolvedReference,
    /// A gradient right in float64 but negligible next to the cost.
    VanishingGradient,
    /// A switch (max, min, relu', sgn) thrown the other way in float64 than in exact
    /// arithmetic: arguments that nearly tie, or an argument that nearly is 0.
    Tie,
}

impl WarningKind {
    /// Every kind, in the order of the declaration (docs/json.md lists their codes; a test
    /// keeps the two the same).
    pub const ALL: [WarningKind; 15] = [
        WarningKind::Saturation,
        WarningKind::Cancellation,
        WarningKind::Overflow,
        WarningKind::Underflow,
        WarningKind::PrecisionLoss,
        WarningKind::NotANumber,
        WarningKind::DivisionByZero,
        WarningKind::LogDomain,
        WarningKind::SqrtDomain,
        WarningKind::Undefined,
        WarningKind::InputOutOfRange,
        WarningKind::OutsideDomain,
        WarningKind::UnresolvedReference,
        WarningKind::VanishingGradient,
        WarningKind::Tie,
    ];

    /// The stable code, as in JSON.
    pub fn code(self) -> &'static str {
        match self {
            WarningKind::Saturation => "saturation",
            WarningKind::Cancellation => "cancellation",
            WarningKind::Overflow => "overflow",
            WarningKind::Underflow => "underflow",
            WarningKind::PrecisionLoss => "precision-loss",
            WarningKind::NotANumber => "not-a-number",
            WarningKind::DivisionByZero => "division-by-zero",
            WarningKind::LogDomain => "log-domain",
            WarningKind::SqrtDomain => "sqrt-domain",
            WarningKind::Undefined => "undefined",
            WarningKind::InputOutOfRange => "input-out-of-range",
            WarningKind::OutsideDomain => "outside-domain",
            WarningKind::UnresolvedReference => "unresolved-reference",
            WarningKind::VanishingGradient => "vanishing-gradient",
            WarningKind::Tie => "tie",
        }
    }
}

impl std::fmt::Display for WarningKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A place where float64 loses the answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    pub kind: WarningKind,
    /// The name (or derivative) whose printed value is affected.
    pub at: String,
    /// What the sentence about it says.
    pub facts: Facts,
    /// The float64 value of the node where the answer is lost.
    pub float64: f64,
    /// Its high-precision value, as a decimal string.
    pub reference: String,
}

/// Why a value is not a real number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Why {
    /// The log of this value (≤ 0).
    LogOf(f64),
    /// The square root of this (negative) value.
    SqrtOf(f64),
    DivisionByZero,
    NotReal,
}

/// A formula float64 loses as it is usually written, where another form of the same value
/// keeps it: the remedy a warning names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StableForm {
    /// `1 − erf(z)` (or `1 + erf(z)`) cancels in erf's tail: `erfc(z)` (`erfc(−z)`) does not.
    ErfTail,
    /// GELU written `z/2·(1 + erf(z/√2))` cancels for z ≪ 0: `z/2·erfc(−z/√2)` keeps it.
    Gelu,
    /// SiLU written `z/(1 + e^(−z))` overflows for z < −709: `z·e^z/(1 + e^z)` keeps it.
    Silu,
    /// `log(e^a + e^b + …)` overflows once an argument passes 709: the shifted form
    /// `m + log(e^(a−m) + e^(b−m) + …)` with `m` the largest argument does not.
    LogSumExp,
}

impl StableForm {
    /// The code `warning.txt` is keyed by.
    pub fn code(self) -> &'static str {
        match self {
            StableForm::ErfTail => "erf_tail",
            StableForm::Gelu => "gelu",
            StableForm::Silu => "silu",
            StableForm::LogSumExp => "logsumexp",
        }
    }
}

/// The facts a warning's sentence is made of, by the situation found. Formulas are nodes of
/// the model's graph (render prints them); `true_value` is the reference written with as
/// many digits as it takes to differ from float64's value ([`shown_reference`]). The value
/// float64 gives is the warning's own [`Warning::float64`].
#[derive(Clone, Debug, PartialEq)]
pub enum Facts {
    /// The reference for `formula` did not settle; float64's error is `lost_bits`, only a lower
    /// bound when `at_least`.
    Unresolved {
        formula: Id,
        lost_bits: f64,
        at_least: bool,
    },
    /// The reference cannot hold `formula` here, even in log form: its value is unknown.
    OutOfRange { formula: Id },
    /// `node` is not a real number here.
    Undefined { node: Id, why: Why },
    /// `node` overflows float64's range (in float64 or in truth).
    Overflow { node: Id, true_value: String },
    /// `node`'s true value is below float64's smallest normal number.
    Underflow { node: Id, true_value: String },
    /// `node` is subnormal in float64 and loses bits for it.
    Subnormal { node: Id, true_value: String },
    /// `node` is NaN in float64 but a number in truth.
    NotANumber { node: Id, true_value: String },
    /// `formula` lost `bits` a few at a time, no node to blame.
    GradualLoss {
        formula: Id,
        bits: f64,
        true_value: String,
    },
    /// `node` alone loses `bits`.
    NodeLoss {
        node: Id,
        bits: f64,
        true_value: String,
    },
    /// `node` (a sum) cancels.
    Cancellation { node: Id, true_value: String },
    /// `node`, σ' or tanh' at `argument`, computed as written, cancels.
    DerivativeAsWritten {
        function: Func,
        node: Id,
        argument: f64,
        true_value: String,
    },
    /// `node`, computed in the usual form (`form` says which and names the stable one), at
    /// `argument` (the largest argument for log-sum-exp) loses its value.
    AsWritten {
        form: StableForm,
        node: Id,
        argument: f64,
        true_value: String,
    },
    /// The activation `call` (named `activation` when a name is defined as it) rounds to
    /// `rounded_to` at `argument`, so `node` gives a wrong value (cancels to it, when `cancels`).
    Saturated {
        activation: Option<Sym>,
        call: Id,
        function: Func,
        argument: f64,
        rounded_to: f64,
        cancels: bool,
        node: Id,
        true_value: String,
    },
    /// A value written as `text`, beyond float64's range, read by float64 as `read_as`.
    InputOutOfRange { text: String, read_as: Option<f64> },
    /// A value written as `text`, given to a name declared with `domain`, which does not
    /// hold it.
    OutsideDomain { text: String, domain: Domain },
    /// A gradient right in float64 but tiny next to the cost (`cost`).
    VanishingGradient { cost: f64 },
    /// The switch `node` (max, min, relu', sgn) thrown the other way in float64: its
    /// arguments (`between`) or its argument are `gap` from the switch exactly,
    /// `gap_float64` in float64.
    Tie {
        node: Id,
        true_value: String,
        between: bool,
        gap: String,
        gap_float64: f64,
    },
}

impl Facts {
    /// The name of the situation, as the `warning.txt` template's components are keyed
    /// (`warning_` and this).
    pub fn form(&self) -> &'static str {
        match self {
            Facts::Unresolved { .. } => "unresolved",
            Facts::OutOfRange { .. } => "out_of_range",
            Facts::Undefined { .. } => "undefined",
            Facts::Overflow { .. } => "overflow",
            Facts::Underflow { .. } => "underflow",
            Facts::Subnormal { .. } => "subnormal",
            Facts::NotANumber { .. } => "not_a_number",
            Facts::GradualLoss { .. } => "gradual_loss",
            Facts::NodeLoss { .. } => "node_loss",
            Facts::Cancellation { .. } => "cancellation",
            Facts::DerivativeAsWritten { .. } => "derivative_as_written",
            Facts::AsWritten { .. } => "as_written",
            Facts::Saturated { .. } => "saturated",
            Facts::InputOutOfRange { .. } => "input_out_of_range",
            Facts::OutsideDomain { .. } => "outside_domain",
            Facts::VanishingGradient { .. } => "vanishing_gradient",
            Facts::Tie { .. } => "tie",
        }
    }
}

/// Each value given outside the domain its name is declared with (`x=1.5` for
/// `input x in [0, 1]`). A warning rather than a refusal: every formula still has a value
/// there, only not one the program says it will meet.
pub fn outside_domain(model: &Model, given: &[Given]) -> Vec<Warning> {
    given
        .iter()
        .filter_map(|g| {
            let domain = *model.domain(g.sym)?;
            (!domain.contains(g.value)).then(|| Warning {
                kind: WarningKind::OutsideDomain,
                at: model.name(g.sym).to_string(),
                facts: Facts::OutsideDomain {
                    text: g.text.trim().to_string(),
                    domain,
                },
                float64: g.value,
                reference: g.text.trim().to_string(),
            })
        })
        .collect()
}

/// Herbie's measure of a float64 result's error: log2 of the number of floats between it and
/// the correctly rounded reference (0 when it is the correctly rounded value).
pub fn error_bits(computed: f64, reference: &Precise) -> f64 {
    let exact = match reference {
        Precise::Finite(_) => reference.to_f64(),
        // Not a real number: float64's NaN says so, anything else is wrong.
        Precise::Undefined => return if computed.is_nan() { 0.0 } else { 64.0 },
        // A real number, beyond what float64 (or the reference) holds: whatever float64
        // gives, NaN included, has lost it.
        Precise::OutOfRange => return 64.0,
    };
    // A true value beyond float64's range (it rounds to ∞, or to 0 from a non-zero value)
    // is lost whatever float64 does.
    if exact.is_infinite() || (exact == 0.0 && !reference.is_zero()) {
        return 64.0;
    }
    float_distance_bits(computed, exact)
}

/// log2 of one more than the number of floats between two float64 values (64 when either is
/// NaN and the other is not).
pub fn float_distance_bits(computed: f64, exact: f64) -> f64 {
    if computed.is_nan() || exact.is_nan() {
        return if computed.is_nan() && exact.is_nan() {
            0.0
        } else {
            64.0
        };
    }
    let ordered = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 { i64::MIN - bits } else { bits }
    };
    let distance = (ordered(computed) as i128 - ordered(exact) as i128).unsigned_abs();
    // ±0 are the same value
    let distance = if computed == 0.0 && exact == 0.0 {
        0
    } else {
        distance
    };
    ((distance + 1) as f64).log2()
}

/// A float64 result judged against a reference that may not be fully resolved: the error in
/// bits, and whether it is only a lower bound ("at least N bits").
pub fn judge(computed: f64, reference: &Precise, resolution: &Resolution) -> (f64, bool) {
    match resolution {
        Resolution::Converged => (error_bits(computed, reference), false),
        Resolution::Within { low, high } => {
            let (lo, hi) = (low.to_f64().value(), high.to_f64().value());
            if lo == hi {
                // every real in the interval rounds to this float64
                return (float_distance_bits(computed, lo), false);
            }
            if computed.is_nan() {
                return (64.0, false);
            }
            if computed < lo {
                (float_distance_bits(computed, lo), true)
            } else if computed > hi {
                (float_distance_bits(computed, hi), true)
            } else {
                (0.0, true)
            }
        }
        Resolution::Unknown => (0.0, true),
    }
}

/// What the diagnosis needs: every node's float64 value and reference, evaluated once for
/// all the formulas of a report.
pub struct Evaluated<'a> {
    pub model: &'a Model,
    pub f64s: &'a crate::core::eval::NodeFloats,
    pub precise: &'a crate::core::eval::NodeValues,
    /// The float64 value of each name at the point.
    pub names: &'a HashMap<Sym, f64>,
}

impl Evaluated<'_> {
    fn bits(&self, id: Id) -> f64 {
        error_bits(self.f64s[&id], &self.precise[&id])
    }

    /// The node a name stands for, looking through names defined as calls.
    fn activation(&self, id: Id) -> Option<(Option<Sym>, Id)> {
        let graph = &self.model.graph;
        match graph.node(id) {
            Node::Var(s) => match self.model.definition(*s).map(|d| (d, graph.node(d))) {
                Some((d, Node::Call(Func::Sigmoid | Func::Tanh, _))) => Some((Some(*s), d)),
                _ => None,
            },
            Node::Call(Func::Sigmoid | Func::Tanh, _) => Some((None, id)),
            _ => None,
        }
    }

    /// A saturated σ or tanh: the node (or a name defined as one) whose float64 value is
    /// exactly its limit.
    fn saturated(&self, id: Id) -> Option<Saturated> {
        let graph = &self.model.graph;
        let (name, call) = self.activation(id)?;
        let v = self.f64s.get(id)?;
        if !(v == 1.0 || v == 0.0 || v == -1.0) {
            return None;
        }
        let Node::Call(f, arg) = *graph.node(call) else {
            return None;
        };
        let argument = crate::core::eval::eval_f64(graph, &[arg], &|s| self.names.get(&s).copied())
            .map(|v| v[0])
            .unwrap_or(f64::NAN);
        Some(Saturated {
            name,
            call,
            function: f,
            argument,
            rounded_to: v,
        })
    }
}

/// An activation whose float64 value rounded to its limit.
pub struct Saturated {
    pub name: Option<Sym>,
    pub call: Id,
    pub function: Func,
    pub argument: f64,
    pub rounded_to: f64,
}

/// The warnings of a list by kind and place, so that [`diagnose`] recognises one it already
/// raised without reading the whole list (a network can have a warning at each of its tens of
/// thousands of gradients). Warnings pushed onto the list by anyone are indexed when next
/// needed.
#[derive(Default)]
pub struct WarningIndex {
    by_place: HashMap<(WarningKind, String), Vec<usize>>,
    indexed: usize,
}

impl WarningIndex {
    /// Pushes `w` onto `out` unless it is there already, or is a second saturation warning
    /// at the same place (one per activation, whatever it spoils downstream).
    fn push_new(&mut self, out: &mut Vec<Warning>, w: Warning) {
        for (i, o) in out.iter().enumerate().skip(self.indexed) {
            self.by_place
                .entry((o.kind, o.at.clone()))
                .or_default()
                .push(i);
        }
        self.indexed = out.len();
        let place = (w.kind, w.at.clone());
        let same_place = self.by_place.get(&place).map_or(&[][..], Vec::as_slice);
        let repeated = w.kind == WarningKind::Saturation && !same_place.is_empty()
            || same_place.iter().any(|&i| out[i] == w);
        if !repeated {
            self.by_place.entry(place).or_default().push(out.len());
            out.push(w);
            self.indexed = out.len();
        }
    }
}

/// Finds where float64 loses the printed value of `formula` (labelled `at`) and says why.
/// Nothing is raised when the printed value is right, whatever happened inside.
pub fn diagnose(
    ev: &Evaluated,
    formula: Id,
    at: &str,
    resolution: &Resolution,
    out: &mut Vec<Warning>,
    index: &mut WarningIndex,
) {
    let model = ev.model;
    let graph = &model.graph;
    let value = ev.f64s[&formula];
    let reference = &ev.precise[&formula];
    let (lost_bits, at_least) = judge(value, reference, resolution);
    let mut push = |w: Warning| index.push_new(out, w);
    if at_least {
        push(Warning {
            kind: WarningKind::UnresolvedReference,
            at: at.to_string(),
            facts: Facts::Unresolved {
                formula,
                lost_bits,
                at_least,
            },
            float64: value,
            reference: reference.to_decimal_string(REFERENCE_DIGITS),
        });
    }
    if matches!(reference, Precise::OutOfRange) && !value.is_infinite() {
        // Never silence: a value beyond what even the reference holds is unknown, and float64
        // (NaN, or a number) cannot be judged. An infinite float64 gets the overflow warning.
        push(Warning {
            kind: WarningKind::UnresolvedReference,
            at: at.to_string(),
            facts: Facts::OutOfRange { formula },
            float64: value,
            reference: reference.to_decimal_string(REFERENCE_DIGITS),
        });
        return;
    }
    if matches!(reference, Precise::Undefined) {
        // Where the formula stops being a real number, if float64 gives something else or
        // nobody was told.
        for id in graph.reachable(&[formula]) {
            if !matches!(ev.precise[&id], Precise::Undefined)
                || graph
                    .children(id)
                    .iter()
                    .any(|c| matches!(ev.precise[c], Precise::Undefined))
            {
                continue;
            }
            let (kind, why) = match graph.node(id) {
                Node::Call(Func::Log, a) => (WarningKind::LogDomain, Why::LogOf(ev.f64s[a])),
                Node::Call(Func::Sqrt, a) => (WarningKind::SqrtDomain, Why::SqrtOf(ev.f64s[a])),
                Node::Pow(b, _) if ev.f64s[b] == 0.0 => {
                    (WarningKind::DivisionByZero, Why::DivisionByZero)
                }
                _ => (WarningKind::Undefined, Why::NotReal),
            };
            push(Warning {
                kind,
                at: at.to_string(),
                facts: Facts::Undefined { node: id, why },
                float64: ev.f64s[&id],
                reference: "undefined".to_string(),
            });
        }
        return;
    }
    let printed_lost = lost_bits > LOST_BITS || (!value.is_finite() && reference.is_finite());
    // a subnormal keeps fewer bits: a warning where that loses more than the threshold
    let subnormal = value != 0.0
        && value.is_finite()
        && value.abs() < f64::MIN_POSITIVE
        && reference
            .rel_error(value)
            .is_some_and(|r| r > (LOST_BITS - 53.0).exp2());
    if !printed_lost && !subnormal {
        return;
    }
    // A switch thrown the other way is the story, whatever rounding led to it: the value
    // jumps rather than loses bits.
    let mut found = false;
    if printed_lost {
        for id in graph.reachable(&[formula]) {
            if let Some((between, gap, gap_float64)) = switched(ev, id) {
                found = true;
                let reference = &ev.precise[&id];
                let value = ev.f64s[&id];
                push(Warning {
                    kind: WarningKind::Tie,
                    at: at.to_string(),
                    facts: Facts::Tie {
                        node: id,
                        true_value: shown_reference(value, reference),
                        between,
                        gap,
                        gap_float64,
                    },
                    float64: value,
                    reference: reference.to_decimal_string(REFERENCE_DIGITS),
                });
            }
        }
    }
    // The nodes where the loss starts: accurate operands, an inaccurate result.
    if printed_lost && !found {
        for id in graph.reachable(&[formula]) {
            if matches!(graph.node(id), Node::Var(_) | Node::Num(_)) {
                continue;
            }
            let Precise::Finite(_) = &ev.precise[&id] else {
                continue;
            };
            let inherited = graph
                .children(id)
                .iter()
                .map(|&c| ev.bits(c))
                .fold(0.0, f64::max);
            let own = ev.bits(id);
            if own <= LOST_BITS || own < inherited + ADDED_BITS {
                continue;
            }
            found = true;
            push(node_warning(ev, id, at, formula));
        }
    }
    if found {
        return;
    }
    let names_lost = graph
        .reachable(&[formula])
        .into_iter()
        .filter(|&id| matches!(graph.node(id), Node::Var(_)))
        .any(|id| ev.bits(id) > LOST_BITS);
    let true_value = shown_reference(value, reference);
    if subnormal && !printed_lost {
        push(Warning {
            kind: WarningKind::Underflow,
            at: at.to_string(),
            facts: Facts::Subnormal {
                node: formula,
                true_value,
            },
            float64: value,
            reference: reference.to_decimal_string(REFERENCE_DIGITS),
        });
    } else if !names_lost {
        // Bits lost a few at a time, no single node to blame: say so at the value itself.
        push(value_warning(formula, at, value, reference, lost_bits));
    }
    // Otherwise the loss comes from a name computed upstream, warned about where it is
    // computed (that name is printed too).
}

/// A printed value that is wrong: what kind of wrong, by its magnitudes alone.
fn value_warning(
    formula: Id,
    at: &str,
    value: f64,
    reference: &Precise,
    lost_bits: f64,
) -> Warning {
    let true_value = shown_reference(value, reference);
    let exact = reference.to_f64();
    let node = formula;
    let (kind, facts) = if exact.is_infinite() || value.is_infinite() {
        (WarningKind::Overflow, Facts::Overflow { node, true_value })
    } else if exact.abs() < f64::MIN_POSITIVE && !reference.is_zero() {
        (
            WarningKind::Underflow,
            Facts::Underflow { node, true_value },
        )
    } else if value.is_nan() {
        (
            WarningKind::NotANumber,
            Facts::NotANumber { node, true_value },
        )
    } else {
        (
            WarningKind::PrecisionLoss,
            Facts::GradualLoss {
                formula,
                bits: lost_bits,
                true_value,
            },
        )
    };
    Warning {
        kind,
        at: at.to_string(),
        facts,
        float64: value,
        reference: reference.to_decimal_string(REFERENCE_DIGITS),
    }
}

/// The warning for the node where the loss starts.
fn node_warning(ev: &Evaluated, id: Id, at: &str, formula: Id) -> Warning {
    let graph = &ev.model.graph;
    if let Some(w) = as_written(ev, id, at, formula) {
        return w;
    }
    let value = ev.f64s[&id];
    let reference = &ev.precise[&id];
    let node = id;
    let true_value = shown_reference(value, reference);
    let exact = reference.to_f64();
    let warning = |kind, facts| Warning {
        kind,
        at: at.to_string(),
        facts,
        float64: value,
        reference: reference.to_decimal_string(REFERENCE_DIGITS),
    };
    // A saturated activation among the operands (or under the derivative's own formula).
    let saturated = graph.children(id).into_iter().find_map(|c| {
        let mut base = c;
        if let Node::Mul(fs) = graph.node(c)
            && fs.len() == 2
            && graph.as_num(fs[0]).is_some()
        {
            base = fs[1];
        }
        if let Node::Pow(b, e) = graph.node(base)
            && graph.as_num(*e).is_some()
        {
            base = *b;
        }
        ev.saturated(base)
    });
    if value.is_infinite() || exact.is_infinite() {
        return warning(WarningKind::Overflow, Facts::Overflow { node, true_value });
    }
    if value.is_nan() {
        return warning(
            WarningKind::NotANumber,
            Facts::NotANumber { node, true_value },
        );
    }
    if exact.abs() < f64::MIN_POSITIVE && !reference.is_zero() {
        return warning(
            WarningKind::Underflow,
            Facts::Underflow { node, true_value },
        );
    }
    if let Some(s) = &saturated {
        return Warning {
            at: s
                .name
                .map(|n| ev.model.name(n).to_string())
                .unwrap_or_else(|| at.to_string()),
            ..warning(
                WarningKind::Saturation,
                Facts::Saturated {
                    activation: s.name,
                    call: s.call,
                    function: s.function,
                    argument: s.argument,
                    rounded_to: s.rounded_to,
                    cancels: matches!(graph.node(id), Node::Add(_)),
                    node,
                    true_value,
                },
            )
        };
    }
    match graph.node(id) {
        Node::Add(_) => warning(
            WarningKind::Cancellation,
            Facts::Cancellation { node, true_value },
        ),
        Node::Call(f @ (Func::SigmoidPrime | Func::TanhPrime), arg) => warning(
            WarningKind::Cancellation,
            Facts::DerivativeAsWritten {
                function: *f,
                node,
                argument: ev.f64s[arg],
                true_value,
            },
        ),
        _ => warning(
            WarningKind::PrecisionLoss,
            Facts::NodeLoss {
                node,
                bits: ev.bits(id),
                true_value,
            },
        ),
    }
}

/// The warning for a node that float64 loses only because of the form it is written in: a
/// log-sum-exp over an exponential that overflows, GELU or SiLU far below 0, `1 ∓ erf(z)` in
/// erf's tail. The warning is about the whole form (the log, for log-sum-exp), with the
/// stable form named.
fn as_written(ev: &Evaluated, id: Id, at: &str, formula: Id) -> Option<Warning> {
    let graph = &ev.model.graph;
    let erf_of = |t: Id| match graph.node(t) {
        Node::Call(Func::Erf, u) => Some(*u),
        Node::Mul(fs)
            if fs.len() == 2 && graph.as_num(fs[0]).is_some_and(|n| n.to_f64() == -1.0) =>
        {
            match graph.node(fs[1]) {
                Node::Call(Func::Erf, u) => Some(*u),
                _ => None,
            }
        }
        _ => None,
    };
    let (form, node, argument, kind) = match graph.node(id) {
        Node::Call(Func::Exp, _) if ev.f64s[&id].is_infinite() => {
            // the log of a sum of exponentials this one is a term of
            let log = graph.reachable(&[formula]).into_iter().find(|&n| {
                matches!(graph.node(n), Node::Call(Func::Log, s)
                    if matches!(graph.node(*s), Node::Add(ts)
                        if ts.contains(&id)
                            && ts.iter().all(|&t| matches!(graph.node(t), Node::Call(Func::Exp, _)))))
            })?;
            let Node::Call(_, sum) = graph.node(log) else {
                return None;
            };
            let largest = graph
                .children(*sum)
                .iter()
                .flat_map(|&t| graph.children(t))
                .map(|a| ev.f64s[&a])
                .fold(f64::NEG_INFINITY, f64::max);
            (StableForm::LogSumExp, log, largest, WarningKind::Overflow)
        }
        Node::Call(Func::Gelu, u) => (StableForm::Gelu, id, ev.f64s[u], WarningKind::Cancellation),
        Node::Call(Func::Silu, u) => {
            let overflows = (-ev.f64s[u]).exp().is_infinite();
            let kind = if overflows {
                WarningKind::Overflow
            } else {
                WarningKind::PrecisionLoss
            };
            (StableForm::Silu, id, ev.f64s[u], kind)
        }
        Node::Add(ts)
            if ts.len() == 2
                && ts
                    .iter()
                    .any(|&t| graph.as_num(t).is_some_and(|n| n.is_one())) =>
        {
            let u = ts.iter().find_map(|&t| erf_of(t))?;
            (
                StableForm::ErfTail,
                id,
                ev.f64s[&u],
                WarningKind::Cancellation,
            )
        }
        _ => return None,
    };
    let value = ev.f64s[&node];
    let reference = &ev.precise[&node];
    Some(Warning {
        kind,
        at: at.to_string(),
        facts: Facts::AsWritten {
            form,
            node,
            argument,
            true_value: shown_reference(value, reference),
        },
        float64: value,
        reference: reference.to_decimal_string(REFERENCE_DIGITS),
    })
}

/// A switch that float64 throws the other way than exact arithmetic: whether it is between
/// two arguments (`max`, `min`) or one and 0 (relu', sgn), and how far from the switch it is,
/// exactly (as a decimal) and in float64.
fn switched(ev: &Evaluated, id: Id) -> Option<(bool, String, f64)> {
    use std::cmp::Ordering;
    let exact_sign = |x: &Id| -> Option<Ordering> {
        let b = ev.precise[x].as_big()?;
        b.partial_cmp(&crate::core::eval::Big::ZERO)
    };
    let float_sign = |v: f64| v.partial_cmp(&0.0);
    match *ev.model.graph.node(id) {
        Node::Call2(f, a, b) if f.is_gate() => {
            let (x, y) = (ev.precise[&a].as_big()?, ev.precise[&b].as_big()?);
            let (fa, fb) = (ev.f64s[&a], ev.f64s[&b]);
            (f.picks_first(&fa, &fb) != f.picks_first(x, y) && !fa.is_nan() && !fb.is_nan()).then(
                || {
                    let exact = ev.precise[&a].sub(&ev.precise[&b], 64);
                    (true, exact.to_decimal_string(5), fa - fb)
                },
            )
        }
        Node::Call(Func::ReluPrime | Func::Sign | Func::Relu, arg) => {
            let float = float_sign(ev.f64s[&arg])?;
            // relu' and relu treat 0 as negative, sgn gives it its own value
            let same = |a: Ordering, b: Ordering| {
                a == b
                    || (!matches!(ev.model.graph.node(id), Node::Call(Func::Sign, _))
                        && a != Ordering::Greater
                        && b != Ordering::Greater)
            };
            (!same(float, exact_sign(&arg)?))
                .then(|| (false, ev.precise[&arg].to_decimal_string(5), ev.f64s[&arg]))
        }
        _ => None,
    }
}

/// The reference with five digits, or as many (up to 17) as it takes to differ from the
/// float64 value: a warning must show the difference.
pub fn shown_reference(value: f64, reference: &Precise) -> String {
    let digits = (5..=17)
        .find(|&n| {
            let computed: f64 = format!("{:.*e}", n - 1, value).parse().unwrap_or(f64::NAN);
            let true_value: f64 = reference.to_decimal_string(n).parse().unwrap_or(f64::NAN);
            computed != true_value
        })
        .unwrap_or(17);
    crate::core::number::plain_decimal(&reference.to_decimal_string(digits))
}

//! Numbers at a point: the forward pass, and formulas of the model evaluated at given values,
//! both in float64 (computed exactly as written, as a user's NumPy code would) and as a
//! high-precision reference.
//!
//! A value given to an intermediate cuts the graph there: its definition is not evaluated and
//! everything downstream uses the given value (the seed question gives a^(l−1) = 62.5).

use std::collections::HashMap;

use crate::error::{Diagnostic, Result};
use crate::eval::{self, Precise};
use crate::explain::Given;
use crate::expr::{Id, Sym};
use crate::model::{Model, SymKind};

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
        let v = eval::eval_f64(&model.graph, &[def], &|t| f64s.get(&t).copied())
            .expect("the forward pass has every earlier value")[0];
        let p = eval::eval_precise_stable(&model.graph, &[def], &|t| precise.get(&t).cloned())
            .expect("the forward pass has every earlier value")
            .values
            .remove(0);
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
                if let crate::expr::Node::Var(t) = model.graph.node(id) {
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

/// Whether a name is a parameter (what gradient descent updates).
pub fn is_param(model: &Model, s: Sym) -> bool {
    model.symbol(s).kind == SymKind::Param
}

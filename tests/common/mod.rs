//! Helpers shared by the integration tests: loading programs and the independent numerical
//! route (high-precision evaluation and central finite differences) that derivatives are
//! checked against.
#![allow(dead_code)]

use std::collections::HashMap;

use chainrule::diff;
use chainrule::eval::{Precise, eval_precise};
use chainrule::expr::{Id, Sym};
use chainrule::model::Model;

pub const BITS: usize = 320;

pub fn load(source: &str) -> Model {
    chainrule::explain::load(source)
        .unwrap_or_else(|d| panic!("{source}\n{}", d.render("test", source, false)))
}

/// The value of any formula of the model at a point given for inputs, targets and parameters:
/// derivatives resolved, intermediates expanded, then evaluated at high precision.
pub fn value_at(model: &mut Model, formula: Id, point: &HashMap<Sym, f64>) -> Precise {
    let resolved = diff::resolve_derivatives(model, formula);
    let expanded = diff::expand(model, &[resolved])[0];
    let value_of = |s: Sym| point.get(&s).map(|&v| Precise::from_f64(v));
    eval_precise(&model.graph, &[expanded], &value_of, BITS).expect("every leaf has a value")[0]
        .clone()
}

/// ∂of/∂wrt by a central difference at high precision: (f(x + h) − f(x − h)) / 2h, h = 2^-60.
pub fn central_difference(
    model: &mut Model,
    of: Sym,
    wrt: Sym,
    point: &HashMap<Sym, f64>,
) -> Precise {
    let var = model.graph.var(of);
    let expanded = diff::expand(model, &[var])[0];
    let h = Precise::from_f64(2f64.powi(-60));
    let at = |shift: &Precise| {
        let value_of = |s: Sym| {
            point.get(&s).map(|&v| {
                let v = Precise::from_f64(v);
                if s == wrt { v.add(shift, BITS) } else { v }
            })
        };
        eval_precise(&model.graph, &[expanded], &value_of, BITS).expect("every leaf has a value")[0]
            .clone()
    };
    let up = at(&h);
    let down = at(&h.neg());
    let two_h = h.add(&h, BITS);
    up.sub(&down, BITS).div(&two_h, BITS)
}

/// Whether two precise values agree to a relative (or, near zero, absolute) tolerance.
pub fn close(a: &Precise, b: &Precise, tolerance: f64) -> bool {
    match (a, b) {
        (Precise::Finite(_), Precise::Finite(_)) => {
            let (x, y) = (a.to_f64(), b.to_f64());
            let scale = x.abs().max(y.abs()).max(1e-3);
            (x - y).abs() <= tolerance * scale
        }
        _ => false,
    }
}

/// A point for every leaf name (inputs, targets, parameters), from a seed.
pub fn point(model: &Model, values: &[f64]) -> HashMap<Sym, f64> {
    model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .enumerate()
        .map(|(i, s)| (s, values[i % values.len()]))
        .collect()
}

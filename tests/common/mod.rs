//! Helpers shared by the integration tests: loading programs and the independent numerical
//! route (high-precision evaluation and central finite differences) that derivatives are
//! checked against.
#![allow(dead_code)]

pub mod claims;
pub mod shapes;
pub mod tools;
pub mod typeset;

use std::collections::HashMap;

use chainrule::Model;
use chainrule::core::diff;
use chainrule::core::eval::{Precise, eval_precise};
use chainrule::core::expr::{Id, Sym};
use proptest::prelude::*;

pub const BITS: usize = 320;

pub fn load(source: &str) -> Model {
    chainrule::load(source)
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

// ---- random programs -------------------------------------------------------------------------

/// A random expression over the given names, as source text. Functions are applied only where
/// they are smooth and defined for every value (log and sqrt of 1 + u^2, no relu or abs kinks).
pub fn expression(names: Vec<String>, depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        3 => proptest::sample::select(names.clone()),
        1 => (1i32..5).prop_map(|n| n.to_string()),
        1 => proptest::sample::select(vec!["0.5".to_string(), "1e-1".to_string(), "2.5".to_string()]),
    ];
    leaf.prop_recursive(depth, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} - {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}*{b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a})(1 + {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a})/(2 + ({b})^2)")),
            (inner.clone(), 2u32..4).prop_map(|(a, n)| format!("({a})^{n}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("sigmoid({a})")),
            inner.clone().prop_map(|a| format!("tanh({a})")),
            inner.clone().prop_map(|a| format!("softplus({a})")),
            inner.clone().prop_map(|a| format!("exp(tanh({a}))")),
            inner.clone().prop_map(|a| format!("log(1 + ({a})^2)")),
            inner.clone().prop_map(|a| format!("sqrt(1 + ({a})^2)")),
            inner.clone().prop_map(|a| format!("sigmoid'({a})")),
            inner.clone().prop_map(|a| format!("tanh'({a})")),
        ]
    })
    .boxed()
}

/// A random straight-line program: two inputs, three parameters, a target, up to four
/// intermediates each using the names before it, and a cost.
pub fn program() -> impl Strategy<Value = String> {
    let base: Vec<String> = ["x1", "x2", "p1", "p2", "p3", "y"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    (1usize..5).prop_flat_map(move |count| {
        let mut strategy: BoxedStrategy<Vec<String>> = Just(Vec::new()).boxed();
        for i in 0..count {
            let base = base.clone();
            strategy = strategy
                .prop_flat_map(move |defs: Vec<String>| {
                    let mut names = base.clone();
                    names.extend((0..i).map(|j| format!("h{j}")));
                    (Just(defs), expression(names, 2))
                })
                .prop_map(|(mut defs, e)| {
                    defs.push(e);
                    defs
                })
                .boxed();
        }
        let names_for_cost: Vec<String> = (0..count).map(|j| format!("h{j}")).collect();
        (
            strategy,
            expression(
                names_for_cost
                    .into_iter()
                    .chain(["y".to_string(), "p1".to_string()])
                    .collect(),
                2,
            ),
        )
            .prop_map(|(defs, cost)| {
                let mut src = String::from("input x1, x2\nparam p1, p2, p3\ntarget y\n");
                for (j, d) in defs.iter().enumerate() {
                    src.push_str(&format!("h{j} = {d}\n"));
                }
                src.push_str(&format!("cost C = {cost}\n"));
                src
            })
    })
}

/// `chainrule ARGS`, with `stdin` on standard input if given.
pub fn run(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("chainrule").unwrap();
    cmd.args(args);
    if let Some(s) = stdin {
        cmd.write_stdin(s);
    }
    cmd.output().unwrap()
}

/// What `chainrule ARGS` (with `stdin` on standard input) writes to standard output; the run
/// must succeed.
pub fn stdout_of(args: &[&str], stdin: &str) -> String {
    let out = run(args, Some(stdin));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `chainrule ARGS --format json` (with `stdin` on standard input), parsed; the run must
/// succeed.
pub fn json_of(args: &[&str], stdin: &str) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&stdout_of(&all, stdin)).expect("the output is JSON")
}

/// The message of a refusal of `chainrule ARGS`: exit 2, nothing on standard output.
pub fn refusal(args: &[&str]) -> String {
    let out = run(args, None);
    assert_eq!(out.status.code(), Some(2), "{args:?} should be refused");
    assert!(out.stdout.is_empty(), "{args:?}: no partial output");
    String::from_utf8(out.stderr).unwrap()
}

/// The example programs (`examples/*.bp`), in name order.
pub fn example_programs() -> Vec<std::path::PathBuf> {
    let mut examples: Vec<std::path::PathBuf> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bp"))
        .collect();
    examples.sort();
    examples
}

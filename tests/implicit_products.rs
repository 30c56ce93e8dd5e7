//! Implicit products as textbooks spell them (issue 20): a name or a closing parenthesis
//! followed by a number or a parenthesis multiplies, in plain formulas and LaTeX claims alike,
//! while a function's name followed by `(` stays a call. Each spelling is read and compared
//! at a point with the same formula written with explicit `*`.

mod common;

use std::collections::HashMap;

use chainrule::Model;
use chainrule::lang::{latex, lower};
use common::{close, load, value_at};

const PROGRAM: &str = "input x, u_1, a3, y\ncost C = x + u_1 + a3 + y\n";

fn point(model: &Model) -> HashMap<chainrule::Sym, f64> {
    [("x", 0.7), ("u_1", -1.3), ("a3", 0.35), ("y", 2.5)]
        .into_iter()
        .map(|(n, v)| (model.lookup(n).unwrap(), v))
        .collect()
}

fn plain(model: &mut Model, text: &str) -> f64 {
    let id = chainrule::formula(model, text).unwrap_or_else(|d| panic!("{text}: {}", d.message));
    let at = point(model);
    value_at(model, id, &at).to_f64()
}

fn latex_value(model: &mut Model, text: &str) -> f64 {
    let expr = latex::parse_latex(model, text).unwrap_or_else(|d| panic!("{text}: {}", d.message));
    let symbols = model.symbols.clone();
    let id = lower::lower_expr_with(&mut model.graph, &expr, &mut |graph, ident| match symbols
        .iter()
        .position(|s| s.name == ident.name)
    {
        Some(i) => Ok(graph.var(chainrule::Sym(i as u32))),
        None => Err(ident.clone()),
    })
    .unwrap_or_else(|_| panic!("{text} lowers"));
    let at = point(model);
    value_at(model, id, &at).to_f64()
}

#[test]
fn textbook_spellings_of_products_read_as_their_explicit_forms() {
    // (as a textbook writes it, with every product explicit)
    let table = [
        ("u_1 + x 2x", "u_1 + x*2*x"), // Parr & Howard
        ("a3 (1 - a3)", "a3*(1 - a3)"),
        ("a3(1 - a3)", "a3*(1 - a3)"),
        ("x 2", "x*2"),
        ("2 x", "2*x"),
        ("y 2(1 - y)", "y*2*(1 - y)"),
        ("(y - a3) 2", "(y - a3)*2"),
        ("(y - a3)(1 - a3) x", "(y - a3)*(1 - a3)*x"),
        ("sin(x) 2x", "sin(x)*2*x"),
        ("2 pi x", "2*pi*x"),
        ("2e x", "2*e*x"),
        ("e^x 2", "exp(x)*2"),
        ("sigmoid(x) (1 - sigmoid(x))", "sigmoid(x)*(1 - sigmoid(x))"),
        // a function's name followed by `(` stays a call, with or without a space
        ("sin (x)", "sin(x)"),
        ("erf (x) 3", "erf(x)*3"),
        ("x^2 y", "x^2*y"),
        ("1/2 x", "(1/2)*x"),
    ];
    let mut model = load(PROGRAM);
    for (written, explicit) in table {
        let (a, b) = (plain(&mut model, written), plain(&mut model, explicit));
        assert!(
            (a - b).abs() <= 1e-15 * b.abs().max(1.0),
            "{written}: {a} against {b}"
        );
    }
}

#[test]
fn textbook_spellings_in_latex_claims_read_as_their_explicit_forms() {
    let table = [
        ("u_1 + x 2x", "u_1 + x*2*x"),
        ("a_3 (1 - a_3)", "a3*(1 - a3)"),
        ("x \\cdot 2x", "x*2*x"),
        ("2\\pi x", "2*pi*x"),
        ("\\sin(x) 2x", "sin(x)*2*x"),
        ("\\sigma(x)(1 - \\sigma(x))", "sigmoid(x)*(1 - sigmoid(x))"),
        ("\\operatorname{erf}(x) 2", "erf(x)*2"),
        ("\\frac{1}{2} x", "x/2"),
    ];
    let mut model = load(PROGRAM);
    for (written, explicit) in table {
        let a = latex_value(&mut model, written);
        let b = plain(&mut model, explicit);
        assert!(
            (a - b).abs() <= 1e-15 * b.abs().max(1.0),
            "{written}: {a} against {b}"
        );
    }
}

#[test]
fn two_numbers_side_by_side_are_refused_as_ambiguous() {
    let mut model = load(PROGRAM);
    for written in ["2 3", "x^2 3", "x 2 3"] {
        let err = chainrule::formula(&mut model, written).unwrap_err();
        assert_eq!(err.message, "two numbers side by side", "{written}");
    }
}

#[test]
fn programs_read_implicit_products_before_numbers_too() {
    let model = load("input x\nparam w\nz = w x 2\ncost C = z (1 - z) + x 3\n");
    let at: HashMap<_, _> = [
        (model.lookup("x").unwrap(), 0.5),
        (model.lookup("w").unwrap(), 0.25),
    ]
    .into_iter()
    .collect();
    let mut model = model;
    let cost = model.graph.var(model.cost);
    let z: f64 = 0.25 * 0.5 * 2.0;
    assert!(close(
        &value_at(&mut model, cost, &at),
        &chainrule::core::eval::Precise::from_f64(z * (1.0 - z) + 1.5),
        1e-15
    ));
}

//! The functions courses name (erf, erfc, GELU, SiLU, leaky ReLU, ELU, sin, cos, log-sum-exp,
//! Huber) and the constants π and e: their derivatives against 320-bit finite differences over
//! random programs, the reference against published values at magnitudes float64 cannot
//! reach, and the float traps of each, in both directions (the usual form warned about where
//! float64 loses it, silent where it does not).

mod common;

use assert_cmd::Command;
use chainrule::core::diff::{self, Config, Style, Target};
use chainrule::core::eval::{Precise, eval_precise};
use common::{central_difference, close, load, point, value_at};
use proptest::prelude::*;
use serde_json::Value;

/// A random expression over `names` using the new functions (and the old ones they combine
/// with), as source text. Second arguments that must be positive (Huber's δ) are kept so.
fn expression(names: Vec<String>, depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        3 => proptest::sample::select(names),
        1 => proptest::sample::select(vec!["pi".to_string(), "e".to_string(), "0.5".to_string(), "2".to_string()]),
    ];
    leaf.prop_recursive(depth, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}*{b}")),
            inner.clone().prop_map(|a| format!("erf({a})")),
            inner.clone().prop_map(|a| format!("erfc({a})")),
            inner.clone().prop_map(|a| format!("gelu({a})")),
            inner.clone().prop_map(|a| format!("silu({a})")),
            inner.clone().prop_map(|a| format!("swish({a})")),
            inner.clone().prop_map(|a| format!("sin({a})")),
            inner.clone().prop_map(|a| format!("cos({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("leaky_relu({a}, {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("elu({a}, {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("huber({a}, 1 + ({b})^2)")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("logsumexp({a}, {b})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("logsumexp({a}, {b}, {c})")),
        ]
    })
    .boxed()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn program() -> impl Strategy<Value = String> {
    (
        expression(names(&["x1", "x2", "p1", "p2", "p3"]), 3),
        expression(names(&["h0", "y", "p1", "p3"]), 2),
    )
        .prop_map(|(h0, cost)| {
            format!("input x1, x2\nparam p1, p2, p3\ntarget y\nh0 = {h0}\ncost C = {cost} + 0*(x1 + x2 + p1 + p2 + p3 + y + h0)\n")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn derivatives_of_the_new_functions_match_finite_differences(
        source in program(),
        values in proptest::collection::vec(-2.5f64..2.5, 6),
        with_steps in any::<bool>(),
    ) {
        let mut model = load(&source);
        let mut targets: Vec<Target> = model.params().map(|p| Target { of: model.cost, wrt: p }).collect();
        let x1 = model.lookup("x1").unwrap();
        targets.push(Target { of: model.cost, wrt: x1 });
        let config = Config { steps: with_steps, expand: true, style: Style::Chain, ..Config::default() };
        let out = diff::derive(&mut model, &targets, &config);
        let at = point(&model, &values);
        for d in &out.derivations {
            let fd = central_difference(&mut model, d.target.of, d.target.wrt, &at);
            let symbolic = value_at(&mut model, d.result, &at);
            prop_assert!(close(&symbolic, &fd, 1e-9), "{source}\n{:?}: {} vs fd {}", d.target, symbolic.to_f64(), fd.to_f64());
        }
    }
}

/// The reference of an expression of the constants alone, at `bits`.
fn reference(expr: &str, bits: usize) -> Precise {
    let source = format!("input x\ncost C = {expr} + 0*x\n");
    let mut model = load(&source);
    let cost = model.graph.var(model.cost);
    let expanded = diff::expand(&mut model, &[cost])[0];
    let value_of = |_| Some(Precise::from_f64(0.0));
    eval_precise(&model.graph, &[expanded], &value_of, bits).unwrap()[0].clone()
}

#[test]
fn the_reference_matches_published_values_at_any_magnitude() {
    // (expression, value to 17 significant digits) from DLMF tables and Wolfram values
    let cases = [
        ("pi", "3.1415926535897932"),
        ("e", "2.7182818284590452"),
        ("erf(0.5)", "0.52049987781304654"),
        ("erfc(10)", "2.0884875837625448e-45"),
        ("erfc(30)", "2.5646562037561116e-393"),
        ("erfc(-3)", "1.9999779095030014"),
        ("erf(1e-300)", "1.1283791670955126e-300"),
        ("sin(1e22)", "-0.85220084976718880"),
        ("cos(1e22)", "0.52321478539513895"),
        ("sin(pi)", "0"),
        ("gelu(-10)", "-7.6198530241605261e-23"),
        ("silu(-800)", "-2.9342996673421498e-345"),
        ("logsumexp(768, 1024)", "1024"),
    ];
    for (expr, want) in cases {
        let got = reference(expr, 320);
        let higher = reference(expr, 640);
        if want == "0" {
            // sin(π) is 0 only in truth: at 320 bits, π is within 2^-320 of it
            assert!(got.to_f64().abs() < 1e-90, "{expr}: {}", got.to_f64());
            continue;
        }
        let want: Precise = Precise::parse_decimal(want, 320).unwrap();
        let rel = got.relative_difference(&want, 320).unwrap();
        assert!(
            rel < 1e-16,
            "{expr}: {} against {}",
            got.to_decimal_string(20),
            want.to_decimal_string(20)
        );
        // a higher-precision re-run agrees far past the digits printed
        let again = got.relative_difference(&higher, 640).unwrap();
        assert!(
            again < 1e-80,
            "{expr}: 320 and 640 bits differ by {again:e}"
        );
    }
}

/// The warnings `eval --expr` gives at `x`, as (kind, message).
fn warnings(expr: &str, x: f64) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.bp");
    std::fs::write(&file, "input x\nparam w\ncost C = w*x\n").unwrap();
    let out = Command::cargo_bin("chainrule")
        .unwrap()
        .args([
            "eval",
            file.to_str().unwrap(),
            "--at",
            &format!("x={x},w=1"),
            "--expr",
            expr,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["kind"].as_str().unwrap().to_string(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn each_float_trap_is_named_with_its_stable_form_where_float64_falls_into_it() {
    // (expression, point, kind, words the remedy is named with)
    let traps = [
        ("logsumexp(768*x, 1024*x)", 1.0, "overflow", "shifted form"),
        ("1 - erf(x)", 6.0, "cancellation", "erfc(z) = 1 − erf(z)"),
        ("1 + erf(x)", -6.5, "cancellation", "erfc(−z) = 1 + erf(z)"),
        ("gelu(x)", -10.0, "cancellation", "z/2·erfc(−z/√2)"),
        ("silu(x)", -720.0, "overflow", "z·e^z/(1 + e^z)"),
    ];
    for (expr, x, kind, remedy) in traps {
        let found = warnings(expr, x);
        assert!(
            found.iter().any(|(k, m)| k == kind && m.contains(remedy)),
            "{expr} at {x}: {found:?}"
        );
        assert_eq!(found.len(), 1, "{expr} at {x}: one warning, {found:?}");
    }
}

#[test]
fn the_same_forms_are_silent_where_float64_keeps_their_value() {
    let safe = [
        ("logsumexp(768*x, 1024*x)", 0.5),
        ("logsumexp(x, 2*x, 3*x)", 1.0),
        ("1 - erf(x)", 0.5),
        ("1 + erf(x)", -0.5),
        ("erfc(x)", 6.0),
        ("gelu(x)", -1.0),
        ("gelu(x)", 10.0),
        ("silu(x)", -30.0),
        ("sin(x) + cos(x)", 1e5),
        ("leaky_relu(x, 0.01) + elu(x, 1) + huber(x, 1)", -3.0),
    ];
    for (expr, x) in safe {
        let found = warnings(expr, x);
        assert!(found.is_empty(), "{expr} at {x}: {found:?}");
    }
}

#[test]
fn a_declared_name_wins_over_the_constant_it_spells() {
    let mut model = load("input x\nparam e\ncost C = e*x\n");
    let e = model.lookup("e").unwrap();
    let x = model.lookup("x").unwrap();
    let cost = model.cost;
    let out = diff::derive(
        &mut model,
        &[Target { of: cost, wrt: e }],
        &Config::default(),
    );
    let at = [(e, 3.0), (x, 2.0)].into_iter().collect();
    // ∂(e·x)/∂e = x with e a parameter, not 0 as for Euler's number
    assert_eq!(
        value_at(&mut model, out.derivations[0].result, &at).to_f64(),
        2.0
    );
}

#[test]
fn the_new_functions_print_by_their_names_in_every_notation() {
    let model = load(
        "input x\nparam w\nz = w*x\ncost C = erf(z) + erfc(z) + gelu(z) + swish(z) + sin(z) + cos(z) \
         + leaky_relu(z, 0.01) + elu(z, 1) + huber(z, 1) + pi*z + e\n",
    );
    let printer = chainrule::FormulaPrinter::new(&model.graph, &model.symbols);
    let def = model.definition(model.cost).unwrap();
    assert_eq!(
        printer.text(def),
        "erf(z) + erfc(z) + gelu(z) + silu(z) + sin(z) + cos(z) + leaky_relu(z, 0.01) + elu(z, 1) \
         + huber(z, 1) + π·z + e"
    );
    assert_eq!(
        printer.latex(def),
        "\\mathrm{erf}(z) + \\mathrm{erfc}(z) + \\mathrm{GELU}(z) + \\mathrm{SiLU}(z) + \\sin(z) \
         + \\cos(z) + \\mathrm{LeakyReLU}(z, 0.01) + \\mathrm{ELU}(z, 1) + \\mathrm{huber}(z, 1) \
         + \\pi z + e"
    );
}

#[test]
fn the_huber_cost_of_the_shorthand_derives_as_its_expansion_does() {
    let source = "network 2-2-1\nactivation sigmoid\ncost huber\n";
    let expanded = chainrule::expand(source).unwrap();
    assert!(
        expanded.contains("cost C = huber(a3_1 - y1, 1)"),
        "{expanded}"
    );
    let mut model = load(source);
    let targets: Vec<Target> = model
        .params()
        .map(|p| Target {
            of: model.cost,
            wrt: p,
        })
        .collect();
    let out = diff::derive(&mut model, &targets, &Config::default());
    // residuals on both sides of δ = 1: the quadratic part and the linear part
    for values in [
        [0.3, -0.8, 0.5, 2.0, -1.1, 0.4],
        [0.9, 0.2, -0.6, -1.5, 0.7, 0.1],
    ] {
        let at = point(&model, &values);
        for d in &out.derivations {
            let fd = central_difference(&mut model, d.target.of, d.target.wrt, &at);
            let symbolic = value_at(&mut model, d.result, &at);
            assert!(
                close(&symbolic, &fd, 1e-9),
                "{:?}: {} vs {}",
                d.target,
                symbolic.to_f64(),
                fd.to_f64()
            );
        }
    }
    let layered = chainrule::layers(source).unwrap().unwrap();
    let text = chainrule::render(
        &chainrule::Document::Layers(&layered),
        chainrule::DocumentFormat::Text,
        &chainrule::Layout::default(),
    )
    .unwrap();
    assert!(
        text.contains("huber"),
        "the layered derivation goes through huber: {text}"
    );
}

/// A log of a sum of exponentials prints as textbooks name it, `logsumexp(a, b)` and
/// `\mathrm{logsumexp}(a, b)`, whether written so or spelled out; the plain form reads back as
/// the same formula (judged equal by `check`).
#[test]
fn log_sum_exp_prints_as_logsumexp_in_text_and_latex() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lse.bp");
    std::fs::write(
        &file,
        "input a, b\ncost C = logsumexp(a, 2*b) + log(exp(a) + exp(b) + exp(a*b))\n",
    )
    .unwrap();
    let derive = |format: &str| {
        let out = Command::cargo_bin("chainrule")
            .unwrap()
            .args([
                "derive",
                file.to_str().unwrap(),
                "--wrt",
                "a",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = derive("text");
    assert!(
        text.contains("∂/∂a (logsumexp(a, 2b) + logsumexp(a, b, a·b))"),
        "{text}"
    );
    let latex = derive("latex");
    assert!(
        latex.contains("\\mathrm{logsumexp}(a, 2b) + \\mathrm{logsumexp}(a, b, a b)"),
        "{latex}"
    );
    // A single exponential stays a log of an exponential.
    std::fs::write(
        &file,
        "input a, b\ncost C = log(exp(a)) + log(exp(a) + b)\n",
    )
    .unwrap();
    let text = derive("text");
    assert!(!text.contains("logsumexp"), "{text}");
    let check = Command::cargo_bin("chainrule")
        .unwrap()
        .args([
            "check",
            file.to_str().unwrap(),
            "--claim",
            "logsumexp(a, 2*b) = log(exp(a) + exp(2b))",
        ])
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
}

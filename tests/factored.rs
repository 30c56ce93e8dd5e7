//! Factored derivatives (issue 9): shared adjoints are named error terms derived once, results
//! are written in them, and the output grows with the network rather than with its paths.
//!
//! Values are checked three ways at random points: the factored result evaluated through the
//! named terms (one forward pass that computes them), the expansion in inputs and parameters
//! alone, and a 320-bit central finite difference of the cost.

mod common;

use std::collections::HashMap;

use assert_cmd::Command;
use chainrule::Sym;
use chainrule::analysis::numeric;
use chainrule::core::diff::{self, Config, Target};
use chainrule::core::model::{Given, Model, SymKind};
use chainrule::lang::load::{self as explain, TargetSpec};
use common::shapes::{deep_narrow, long_chain, named_diamond};
use common::{central_difference, close, load, value_at};
use proptest::prelude::*;

fn chainrule() -> Command {
    Command::cargo_bin("chainrule").unwrap()
}

/// The bytes `chainrule ARGS` writes for a program given on standard input (exit 0 asserted).
fn output_bytes(program: &str, args: &[&str]) -> Vec<u8> {
    common::stdout_of(args, program).into_bytes()
}

/// Every gradient of the cost, factored, expanded and by finite differences, agree at `point`.
fn assert_three_routes_agree(source: &str, values: &[f64]) -> usize {
    let mut model = load(source);
    let targets = explain::targets(&model, &TargetSpec::AllParams).unwrap();
    let config = Config {
        expand: true,
        steps: false,
        ..Config::default()
    };
    let derived = diff::derive(&mut model, &targets, &config);
    let point = common::point(&model, values);
    let given: Vec<Given> = point
        .iter()
        .map(|(&sym, &value)| Given {
            sym,
            text: format!("{value:e}"),
            value,
        })
        .collect();
    // One forward pass computes the named terms after the names they use.
    let at = numeric::forward(&model, &given).unwrap();
    for term in &derived.terms {
        assert!(
            at.precise.contains_key(&term.sym),
            "{source}: a term has a value"
        );
    }
    for d in &derived.derivations {
        let label = format!(
            "{source}\nd{}/d{}",
            model.name(d.target.of),
            model.name(d.target.wrt)
        );
        let factored = numeric::at_precise(&model, &[d.result], &at).remove(0);
        let reference = central_difference(&mut model, d.target.of, d.target.wrt, &point);
        assert!(
            close(&factored, &reference, 1e-9),
            "{label}: factored {} vs finite difference {}",
            factored.to_f64(),
            reference.to_f64()
        );
        if let Some(expanded) = d.expanded {
            let value = value_at(&mut model, expanded, &point);
            assert!(
                close(&value, &reference, 1e-9),
                "{label}: expanded {} vs finite difference {}",
                value.to_f64(),
                reference.to_f64()
            );
        }
    }
    derived.terms.len()
}

/// A random chain of diamonds: each level forks the name below into two that join again.
fn forked_program() -> impl Strategy<Value = String> {
    let joins = [
        "a{i} + b{i}",
        "a{i}*b{i}",
        "a{i}*b{i} + a{i}",
        "(a{i} - b{i})^2",
    ];
    let level = (
        common::expression(vec!["p1".into(), "x1".into(), "p2".into()], 1),
        common::expression(vec!["p2".into(), "x2".into(), "p3".into()], 1),
        proptest::sample::select(joins.to_vec()),
    );
    (proptest::collection::vec(level, 1..5), any::<bool>()).prop_map(move |(levels, skip)| {
        let mut src = String::from("input x1, x2\nparam p1, p2, p3\ntarget y\nh0 = p1*x1 + p2\n");
        for (k, (left, right, join)) in levels.iter().enumerate() {
            let i = k + 1;
            let p = i - 1;
            src.push_str(&format!("a{i} = sigmoid(h{p} + {left})\n"));
            src.push_str(&format!("b{i} = tanh(h{p}*({right}))\n"));
            src.push_str(&format!("h{i} = {}\n", join.replace("{i}", &i.to_string())));
        }
        let n = levels.len();
        // A skip connection makes the last level's input a fork of the cost as well.
        let extra = if skip {
            format!(" + h{}^2", n - 1)
        } else {
            String::new()
        };
        src.push_str(&format!("cost C = (y - h{n})^2{extra}\n"));
        src
    })
}

/// A random small shorthand network, with or without the L2 penalty.
fn shorthand_network() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(1usize..4, 2..5),
        proptest::sample::select(vec!["sigmoid", "tanh", "softplus"]),
        proptest::sample::select(vec!["quadratic", "half-quadratic", "cross-entropy"]),
        any::<bool>(),
    )
        .prop_map(|(widths, hidden, cost, l2)| {
            let layers = widths.len();
            let widths: Vec<String> = widths.iter().map(usize::to_string).collect();
            let penalty = if l2 { "regularization l2\n" } else { "" };
            format!(
                "network {}\nactivation {hidden}\nactivation {layers} sigmoid\ncost {cost}\n{penalty}",
                widths.join("-")
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn factored_expanded_and_finite_differences_agree_on_forked_programs(
        source in forked_program(),
        values in proptest::collection::vec(-1.0f64..1.0, 6),
    ) {
        assert_three_routes_agree(&source, &values);
    }

    #[test]
    fn factored_expanded_and_finite_differences_agree_on_random_programs(
        source in common::program(),
        values in proptest::collection::vec(-1.0f64..1.0, 6),
    ) {
        assert_three_routes_agree(&source, &values);
    }

    #[test]
    fn factored_expanded_and_finite_differences_agree_on_shorthand_networks(
        source in shorthand_network(),
        values in proptest::collection::vec(0.05f64..0.95, 7),
    ) {
        let expanded = explain::expand(&source).unwrap();
        assert_three_routes_agree(&expanded, &values);
    }
}

/// The penalty's sums longer than the differentiator reads term by term (a row of 10
/// squares, a layer of 9 rows) and a neuron's sum of 11 terms: each weight's gradient, through
/// the index of each sum's terms and the shortcuts past sums and products with one varying
/// term, still equals the finite difference.
#[test]
fn l2_gradients_through_long_sums_match_finite_differences() {
    let source = explain::expand("network 10-9-2\nactivation tanh\nregularization l2\n").unwrap();
    assert!(source.contains("cost C = C0 + lambda/(2 n)*"), "{source}");
    let values = [0.3, -0.7, 0.5, 0.9, -0.4, 0.2, 0.8, 0.15, -0.25, 0.6, 0.45];
    assert_three_routes_agree(&source, &values);
}

#[test]
fn a_network_with_two_outputs_names_its_error_terms() {
    let source = explain::expand(&deep_narrow(3)).unwrap();
    let terms = assert_three_routes_agree(&source, &[0.3, -0.2, 0.7, 0.1, -0.5]);
    assert_eq!(terms, 4, "δ3_1, δ3_2, δ2_1, δ2_2");
}

#[test]
fn a_weight_shared_by_the_steps_of_an_unrolled_network_names_each_steps_error_term() {
    // Backpropagation through time (Goodfellow 10.2.2): w and u are used at every step, so
    // each of their gradients has a path through every z_t and δ_t = ∂C/∂z_t is shared by
    // them, even though a single path leads on from z_t to the cost.
    let steps = 4;
    let mut source = String::from("input h0, x1, x2, x3, x4\ntarget y\nparam w, u\n");
    for t in 1..=steps {
        source.push_str(&format!(
            "z{t} = w*x{t} + u*h{}\nh{t} = tanh(z{t})\n",
            t - 1
        ));
    }
    source.push_str(&format!("cost C = 1/2*(h{steps} - y)^2\n"));
    let values = [0.3, -0.7, 0.5, 0.9, -0.4, 0.2, 0.8, 1.1];
    let terms = assert_three_routes_agree(&source, &values);
    assert_eq!(terms, 4, "δ4, δ3, δ2, and δ1 written in δ2");
    let text = String::from_utf8(output_bytes(
        &source,
        &["derive", "-", "--all", "--no-steps"],
    ))
    .unwrap();
    assert!(text.contains("δ4 = (h4 − y)(1 − h4^2)"), "{text}");
    assert!(text.contains("δ3 = δ4·u(1 − h3^2)"), "{text}");
    assert!(text.contains("δ1 = δ2·u(1 − h1^2)"), "{text}");
    assert!(
        text.contains("∂C/∂w = δ1·x1 + δ2·x2 + δ3·x3 + δ4·x4"),
        "{text}"
    );
    assert!(
        text.contains("∂C/∂u = δ1·h0 + δ2·h1 + δ3·h2 + δ4·h3"),
        "{text}"
    );
}

#[test]
fn softmax_outputs_stay_unnamed_when_every_parameter_is_a_target() {
    // Every hidden weight reaches each softmax output through all of the layer's z: the
    // outputs' adjoints are not named, so that δ3 cancels to a − y.
    let text = String::from_utf8(output_bytes(
        &std::fs::read_to_string("examples/softmax_classifier.bp").unwrap(),
        &["derive", "-", "--all", "--no-steps"],
    ))
    .unwrap();
    for k in 1..=3 {
        assert!(
            // A softmax output's error term is its δ, as every shorthand z-term (issue 22).
            text.contains(&format!("δ3_{k} = a3_{k} − y{k}")),
            "{text}"
        );
        assert!(!text.contains(&format!("── ∂C/∂a3_{k}")), "{text}");
    }
}

#[test]
fn the_seed_chain_keeps_its_single_product() {
    let json = output_bytes("", &["derive", "--all", "--no-steps", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert!(
        doc.get("terms").is_none(),
        "nothing is shared in a 1-1-1 chain"
    );
    assert_eq!(
        doc["derivatives"][0]["result"],
        "-2(y - a3)*a3(1 - a3)*w3*a2(1 - a2)*x"
    );
}

#[test]
fn results_and_terms_in_json_parse_back_and_evaluate_to_the_same_values() {
    let source = std::fs::read_to_string("examples/mazur_2_2_2.bp").unwrap();
    let json = output_bytes(&source, &["derive", "-", "--all", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let terms = doc["terms"].as_array().unwrap();
    assert!(terms.len() >= 4, "two output and two hidden error terms");
    // The terms appended to the program as assignments: a program that parses and runs.
    let mut program = source.clone();
    for t in terms {
        let name = t["name"].as_str().unwrap();
        let definition = t["definition"].as_str().unwrap();
        if name.starts_with("delta") {
            program.push_str(&format!("{name} = {definition}\n"));
        }
    }
    let mut extended = load(&program);
    let mut original = load(&source);
    let point = common::point(
        &original,
        &[0.05, 0.1, 0.01, 0.99, 0.15, 0.2, 0.25, 0.3, 0.35],
    );
    for d in doc["derivatives"].as_array().unwrap() {
        let result = d["result"].as_str().unwrap();
        let formula = explain::parse_formula(&mut extended, result)
            .unwrap_or_else(|e| panic!("{result}: {}", e.message));
        let extended_point: HashMap<Sym, f64> = point
            .iter()
            .map(|(&s, &v)| (extended.lookup(original.name(s)).unwrap(), v))
            .collect();
        let value = value_at(&mut extended, formula, &extended_point);
        let target = d["target"].as_str().unwrap();
        let wrt = original
            .lookup(&target[target.find("/d").unwrap() + 2..])
            .unwrap();
        let cost = original.cost;
        let reference = central_difference(&mut original, cost, wrt, &point);
        assert!(
            close(&value, &reference, 1e-9),
            "{target} = {result}: {} vs {}",
            value.to_f64(),
            reference.to_f64()
        );
        let expanded = d["expanded"]
            .as_str()
            .expect("a small network's expansion is given");
        let formula = explain::parse_formula(&mut original, expanded).unwrap();
        assert!(close(
            &value_at(&mut original, formula, &point),
            &reference,
            1e-9
        ));
    }
}

#[test]
fn check_reads_the_delta_names_derive_writes() {
    let source = explain::expand(&deep_narrow(3)).unwrap();
    let json = output_bytes(
        &source,
        &["derive", "-", "--all", "--no-steps", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let gradient = doc["derivatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["target"] == "dC/dw2_1_2")
        .unwrap();
    let claim = format!("dC/dw2_1_2 = {}", gradient["result"].as_str().unwrap());
    assert!(claim.contains("delta2_1"), "{claim}");
    chainrule()
        .args(["check", "-", "--claim", &claim])
        .write_stdin(source)
        .assert()
        .success();
}

#[test]
fn expand_refuses_what_would_be_too_large_to_print() {
    let out = chainrule()
        .args(["derive", "-", "--all", "--no-steps", "--expand"])
        .write_stdin(deep_narrow(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--expand would print about"), "{stderr}");
    assert!(stderr.contains("drop --expand"), "{stderr}");
    // Small enough: the expansion is printed.
    let text = output_bytes(
        &deep_narrow(3),
        &["derive", "-", "--wrt", "w2_1_1", "--expand"],
    );
    assert!(String::from_utf8_lossy(&text).contains("expanded:"));
}

// ---- sizes of the inputs measured in issue 9 (times are in benches/factored.rs) -------------

#[test]
fn thirty_two_layers_of_width_two_derive_in_linear_size() {
    let with_steps = output_bytes(&deep_narrow(32), &["derive", "-", "--all"]);
    let results = output_bytes(&deep_narrow(32), &["derive", "-", "--all", "--no-steps"]);
    // 188 parameters and 62 error terms: a few hundred bytes to a few kilobytes each.
    assert!(with_steps.len() < 400_000, "{} bytes", with_steps.len());
    assert!(results.len() < 40_000, "{} bytes", results.len());
    let backprop = output_bytes(
        &deep_narrow(32),
        &["derive", "-", "--all", "--style", "backprop"],
    );
    assert!(backprop.len() < 1_000_000, "{} bytes", backprop.len());
}

#[test]
fn the_named_diamond_and_the_long_chain_derive_in_linear_size() {
    let diamond = output_bytes(&named_diamond(25), &["derive", "-", "--wrt", "w"]);
    assert!(diamond.len() < 100_000, "{} bytes", diamond.len());
    let chain = output_bytes(&long_chain(3000), &["derive", "-", "--wrt", "w"]);
    // One line per name of the chain.
    assert!(chain.len() < 1_500_000, "{} bytes", chain.len());
    let text = String::from_utf8_lossy(&chain);
    assert!(
        text.contains("result:    ∂C/∂w = 3000"),
        "the chain's gradient folds to 3000"
    );
}

#[test]
fn mnist_derive_all_with_steps_is_under_fifty_megabytes() {
    let source = std::fs::read_to_string("examples/mnist_784_30_10.bp").unwrap();
    let text = output_bytes(&source, &["derive", "-", "--all"]);
    assert!(text.len() < 50_000_000, "{} bytes", text.len());
}

#[test]
fn nested_derivatives_fourteen_deep_evaluate() {
    let mut expr = "C".to_string();
    for _ in 0..14 {
        expr = format!("d/dw3({expr})");
    }
    let out = output_bytes(
        "",
        &[
            "eval",
            "--at",
            "x=0.5,y=0.8,w2=0.3,b2=0.1,w3=-0.4,b3=0.2",
            "--expr",
            &expr,
            "--format",
            "json",
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let value = doc["derivatives"][&expr].as_f64().expect("a number");
    assert!(value.is_finite());
    // Ten deep against an independent reference: sympy's 10th derivative of
    // (y − σ(w3·σ(w2·x + b2) + b3))² at the same point is 0.26695497086439898206.
    let ten = (0..10).fold("C".to_string(), |e, _| format!("d/dw3({e})"));
    let out = output_bytes(
        "",
        &[
            "eval",
            "--at",
            "x=0.5,y=0.8,w2=0.3,b2=0.1,w3=-0.4,b3=0.2",
            "--expr",
            &ten,
            "--format",
            "json",
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let reference = doc["reference"][&ten].as_str().unwrap();
    assert!(reference.starts_with("0.2669549708643989"), "{reference}");
}

/// The gradients step evaluates are the ones eval reports, through the same named terms.
#[test]
fn step_and_eval_give_the_same_gradients_on_a_network_with_named_terms() {
    let source = explain::expand(&deep_narrow(4)).unwrap();
    let mut model: Model = load(&source);
    let leaves: Vec<Sym> = model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .collect();
    let given: Vec<Given> = leaves
        .iter()
        .enumerate()
        .map(|(i, &sym)| {
            let value = (i as f64 * 0.37).sin() * 0.8;
            Given {
                sym,
                text: format!("{value:e}"),
                value,
            }
        })
        .collect();
    let descent =
        chainrule::analysis::descent::descend(&mut model.clone(), &given, 0.1, 1).unwrap();
    let targets: Vec<Target> = explain::targets(&model, &TargetSpec::AllParams).unwrap();
    let request = numeric::Request {
        targets,
        ..numeric::Request::default()
    };
    let report = numeric::evaluate(&mut model, &given, &request).unwrap();
    assert!(
        model
            .syms()
            .any(|s| model.symbol(s).kind == SymKind::ErrorTerm)
    );
    for ((sym, gradient), q) in descent.steps[0].gradients.iter().zip(&report.derivatives) {
        assert_eq!(q.label, format!("dC/d{}", model.name(*sym)));
        assert!((gradient - q.f64).abs() <= 1e-12 * gradient.abs().max(1.0));
    }
}

/// The headings of the named terms (`── δ3_1 = ∂C/∂z3_1`), in the order printed.
fn term_headings(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("── δ"))
        .map(|l| format!("δ{}", l.split(' ').next().unwrap()))
        .collect()
}

#[test]
fn named_error_terms_print_by_layer_then_index_as_read() {
    // Eleven outputs: δ3_10 and δ3_11 come after δ3_9 (numeric order, not by characters), and
    // the output layer's terms, which the hidden layer's use, come first.
    let program = "network 2-3-11\nactivation sigmoid\ncost quadratic\n";
    for style in ["chain", "backprop"] {
        let text = String::from_utf8(output_bytes(
            program,
            &["derive", "-", "--all", "--style", style],
        ))
        .unwrap();
        let mut expected: Vec<String> = (1..=11).map(|j| format!("δ3_{j}")).collect();
        expected.extend((1..=3).map(|j| format!("δ2_{j}")));
        assert_eq!(term_headings(&text), expected, "--style {style}");
    }
}

#[test]
fn backprop_style_lists_each_error_term_once() {
    let program = "network 2-3-2\nactivation sigmoid\ncost quadratic\n";
    let text = String::from_utf8(output_bytes(
        program,
        &["derive", "-", "--all", "--style", "backprop"],
    ))
    .unwrap();
    // Every δ is a named term here, derived in the named terms' section alone.
    assert_eq!(term_headings(&text).len(), 5, "{text}");
    assert!(
        !text.contains("from the output backwards"),
        "a second error-term section:\n{text}"
    );
    assert!(!text.contains("(backprop: error term)"), "{text}");
    // The gradients go through the named terms by name.
    assert!(
        text.contains("∂C/∂w2_1_1 = δ2_1·∂z2_1/∂w2_1_1 = δ2_1·x1    (backprop: gradient through the error terms)"),
        "{text}"
    );
    // 2-2-1: each hidden δ is written in the named output term (BP2), so it is named too and
    // derived once in the terms' section, and each hidden gradient is its δ times an input.
    let text = String::from_utf8(output_bytes(
        "network 2-2-1\nactivation sigmoid\ncost quadratic\n",
        &["derive", "-", "--all", "--style", "backprop"],
    ))
    .unwrap();
    assert_eq!(term_headings(&text), ["δ3_1", "δ2_1", "δ2_2"], "{text}");
    assert!(
        text.contains("term:      δ2_1 = δ3_1·w3_1_1·a2_1(1 − a2_1)"),
        "{text}"
    );
    assert!(text.contains("result:    ∂C/∂w2_2_1 = δ2_2·x1"), "{text}");
    assert!(!text.contains("(backprop: error term)"), "{text}");
    // The seed's 1-1-1 chain shares nothing: its error terms stay unnamed, derived once in
    // backprop style's own section, from the output backwards.
    let text = String::from_utf8(output_bytes(
        "",
        &["derive", "--all", "--style", "backprop"],
    ))
    .unwrap();
    assert!(term_headings(&text).is_empty(), "{text}");
    let error_term_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with("(backprop: error term)"))
        .collect();
    assert_eq!(error_term_lines.len(), 2, "{text}");
    assert!(error_term_lines[0].starts_with("  ∂C/∂z3 = "), "{text}");
    assert!(
        error_term_lines[1].starts_with("  ∂C/∂z2 = ∂C/∂z3·"),
        "{text}"
    );
}

//! Every simplification against an independent route: a random formula and its simplified
//! form have the same value at random points (320-bit evaluation, intermediates expanded).
//! The formulas mix what the rational rules rewrite (sums of fractions, products that cancel,
//! softmax-style quotient intermediates, constants under powers) with anything else.

mod common;

use std::collections::HashMap;

use chainrule::core::diff;
use chainrule::core::simplify;
use common::{close, load, value_at};
use proptest::prelude::*;

/// The program the formulas live in: three inputs, two named quotients over one shared
/// denominator (as a softmax layer writes them), a sigmoid and declared one-hot targets.
const PROGRAM: &str = "input x, y, z
target t1, t2 one-hot
s = exp(x) + exp(y)
q1 = exp(x)/(exp(x) + exp(y))
q2 = exp(y)/(exp(x) + exp(y))
a = sigmoid(z)
cost C = -(t1*log(q1) + t2*log(q2))
";

fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x".to_string()),
        Just("y".to_string()),
        Just("z".to_string()),
        Just("a".to_string()),
        Just("q1".to_string()),
        Just("q2".to_string()),
        Just("exp(x)".to_string()),
        Just("exp(y)".to_string()),
        Just("(exp(x) + exp(y))".to_string()),
        Just("(1 - a)".to_string()),
        (1i32..4).prop_map(|n| n.to_string()),
        Just("1/2".to_string()),
    ]
}

fn formula() -> impl Strategy<Value = String> {
    atom().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} - {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}*{b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}/{b}")),
            (inner.clone(), 2i32..4).prop_map(|(a, k)| format!("({a})^{k}")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("({a}/{b} - {c}/(1 - {b}))*{b}*(1 - {b})")),
            inner.clone().prop_map(|a| format!("-({a})")),
            inner.prop_map(|a| format!("(2*{a})/(2*(1 + x^2))")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn simplified_and_unsimplified_formulas_agree(
        text in formula(),
        values in proptest::collection::vec(-1.5f64..1.5, 3),
        t1 in 0.05f64..0.95,
    ) {
        let mut model = load(PROGRAM);
        let raw = chainrule::formula(&mut model, &text).unwrap();
        // The one-hot identity holds only where the targets sum to one: the point says so.
        let options = diff::recognise_options(&mut model);
        let simplified = simplify::simplify(&mut model.graph, raw, &options);
        let (_, trace) = simplify::simplify_traced(&mut model.graph, raw, &options);
        let mut at = HashMap::new();
        for (name, v) in ["x", "y", "z"].iter().zip(&values) {
            at.insert(model.lookup(name).unwrap(), *v);
        }
        at.insert(model.lookup("t1").unwrap(), t1);
        at.insert(model.lookup("t2").unwrap(), 1.0 - t1);
        let before = value_at(&mut model, raw, &at);
        let after = value_at(&mut model, simplified, &at);
        if before.to_f64().is_finite() && before.to_f64().abs() < 1e12 {
            prop_assert!(
                close(&before, &after, 1e-9),
                "{text}: {} before, {} after simplification", before.to_f64(), after.to_f64()
            );
            // Every step on the way is the same value too.
            for step in trace {
                let v = value_at(&mut model, step.after, &at);
                prop_assert!(close(&before, &v, 1e-9), "{text}: step {:?} gives {}", step.rule, v.to_f64());
            }
        }
    }
}

/// The cancellations the rules exist for, as they print.
#[test]
fn sums_of_fractions_cancel_against_their_denominators() {
    let mut model = load(PROGRAM);
    let options = diff::recognise_options(&mut model);
    let cases = [
        // Nielsen ch. 3: cross-entropy's ∂C/∂a over σ′.
        ("-(t1/a - (1 - t1)/(1 - a))*a*(1 - a)*x", "(a − t1)·x"),
        ("t1/a - (1 - t1)/(1 - a)", "(t1 − a)/(a(1 − a))"),
        // The softmax quotient rule, in the outputs' own names.
        (
            "(exp(x)*(exp(x) + exp(y)) - exp(x)^2)/(exp(x) + exp(y))^2",
            "q1(1 − q1)",
        ),
        ("-exp(x)*exp(y)/(exp(x) + exp(y))^2", "−q1·q2"),
        // Σ t = 1 for one-hot targets.
        ("q1*(t1 + t2) - t1", "q1 − t1"),
        ("t1*(q1 - 1) + t2*q1", "q1 − t1"),
        ("2*x*z/(2*y)", "x·z/y"),
        ("1/2*x", "x/2"),
    ];
    for (text, expected) in cases {
        let raw = chainrule::formula(&mut model, text).unwrap();
        let simplified = simplify::simplify(&mut model.graph, raw, &options);
        let printed = chainrule::FormulaPrinter::for_model(&model).text(simplified);
        assert_eq!(printed, expected, "{text}");
    }
}

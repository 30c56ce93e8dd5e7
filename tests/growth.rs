//! Work that once grew faster than the program (issue 23, items 7 to 11): each reproducer
//! asserts the size of what is built (bytes of output, nodes of the expression graph), never a
//! time; the times are in `benches/growth.rs`.

mod common;

use chainrule::core::diff::{self, Config, Style};
use chainrule::lang::load::{self as explain, TargetSpec};
use chainrule::render::document::{self, Format, Layout};
use common::shapes::unrolled_recurrence;
use proptest::prelude::*;

/// `derive --all` with steps as the CLI runs it: the text's length in bytes and the number of
/// nodes the expression graph holds afterwards (every formula any pass built, kept or not,
/// so it measures the work done as well as the output).
fn derive_size(source: &str) -> (usize, usize) {
    let mut model = explain::load(source).expect("the program loads");
    let targets = explain::targets(&model, &TargetSpec::AllParams).expect("the targets exist");
    let config = Config {
        style: Style::Chain,
        steps: true,
        ..Config::default()
    };
    let derivations = diff::derive(&mut model, &targets, &config);
    let text = document::render_derivations(
        &model,
        &derivations,
        Style::Chain,
        Format::Text,
        &Layout::default(),
    )
    .expect("the built-in templates render");
    (text.len(), model.graph.len())
}

/// Asserts that doubling the steps at most a little more than doubles the output and the
/// work: `f(2n) ≤ 2.5·f(n)` holds for every `a + b·n` and fails for anything quadratic.
fn assert_linear_in_steps(step: &str, short: usize) {
    let (bytes, nodes) = derive_size(&unrolled_recurrence(step, short));
    let (bytes2, nodes2) = derive_size(&unrolled_recurrence(step, 2 * short));
    let source = unrolled_recurrence(step, 2 * short);
    assert!(
        bytes2 * 2 <= bytes * 5,
        "{source}\n{short} steps: {bytes} bytes, {} steps: {bytes2} bytes",
        2 * short
    );
    assert!(
        nodes2 * 2 <= nodes * 5,
        "{source}\n{short} steps: {nodes} graph nodes, {} steps: {nodes2}",
        2 * short
    );
}

// ---- item 7: a quotient inside tanh ---------------------------------------------------------

/// Issue 23 item 7: `z_i = w*x_i/u*h_{i-1}`, `h_i = tanh(z_i)` took 51 s for five steps
/// (factoring the sum over paths tried every order of the bases its terms share).
#[test]
fn issue23_a_quotient_inside_tanh_derives_in_linear_size() {
    let step = "w*x{i}/u*h{p}";
    let (bytes, nodes) = derive_size(&unrolled_recurrence(step, 6));
    assert!(bytes < 20_000, "{bytes} bytes");
    assert!(nodes < 5_000, "{nodes} graph nodes");
    assert_linear_in_steps(step, 8);
    assert_linear_in_steps(step, 16);
}

/// A step formula over the step's input `x{i}`, the state before it `h{p}` and three
/// parameters shared by every step, with quotients and powers.
fn step_formula() -> BoxedStrategy<String> {
    let leaf = proptest::sample::select(vec![
        "w".to_string(),
        "u".to_string(),
        "v".to_string(),
        "x{i}".to_string(),
        "h{p}".to_string(),
        "h{p}".to_string(),
        "2".to_string(),
    ]);
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} - {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}*{b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}/{b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a})/(1 + ({b})^2)")),
            (inner.clone(), 2u32..4).prop_map(|(a, n)| format!("({a})^{n}")),
            inner.clone().prop_map(|a| format!("({a})^-1")),
        ]
    })
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Issue 23 item 7 in general: any recurrence, whatever the naming rule recognises in it.
    #[test]
    fn random_recurrences_derive_in_size_linear_in_their_steps(
        body in step_formula(),
        scale in proptest::sample::select(vec!["w*", "", "u/"]),
    ) {
        // The state always feeds the next step, so every step lies on the path to the cost.
        let step = format!("{scale}h{{p}}*({body}) + v*x{{i}}");
        assert_linear_in_steps(&step, 12);
    }
}

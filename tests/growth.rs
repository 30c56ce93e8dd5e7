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

// ---- item 8: `regularization l2` on a wide network -------------------------------------------

fn regularised(widths: &str, l2: bool) -> String {
    let penalty = if l2 { "regularization l2\n" } else { "" };
    format!("network {widths}\nactivation sigmoid\ncost quadratic\n{penalty}")
}

/// Issue 23 item 8: the penalty's sum of squares was copied whole for each weight's direct
/// derivative and each weight's warning compared with every earlier one (87 s on 784-30-10;
/// the times are in `benches/growth.rs`). Each gradient gains its own `λ·w/n`, and no more.
#[test]
fn issue23_l2_regularisation_adds_one_term_per_weight() {
    let plain = common::stdout_of(
        &["derive", "-", "--all", "--no-steps"],
        &regularised("20-10-5", false),
    );
    let penalised = common::stdout_of(
        &["derive", "-", "--all", "--no-steps"],
        &regularised("20-10-5", true),
    );
    assert!(penalised.contains("λ·w2_1_1/n"), "{penalised}");
    assert!(penalised.contains("λ·w3_5_10/n"), "{penalised}");
    // 250 weights, each `+ λ·w…/n` (about 20 bytes) longer.
    assert!(
        penalised.len() < plain.len() + 250 * 40,
        "{} bytes against {} without the penalty",
        penalised.len(),
        plain.len()
    );
    // With n = 0 every weight's gradient divides by zero: one warning each, none repeated.
    let eval = common::run(
        &[
            "eval",
            "-",
            "--init",
            "xavier",
            "--init-inputs",
            "zero",
            "--all",
        ],
        Some(&regularised("20-10-5", true)),
    );
    let text = String::from_utf8(eval.stdout).unwrap();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("division-by-zero at dC/dw"))
        .collect();
    assert_eq!(warnings.len(), 250, "{text}");
    let mut distinct = warnings.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 250);
}

// ---- a wider hidden layer -------------------------------------------------------------------

/// `derive --all` on a wider hidden layer: every target asked, for each computed name in each
/// local derivative's definition, whether it depends on the name differentiated by (for a
/// neuron of the output layer, every activation of the hidden layer), so 784-200-10 took
/// minutes where 784-30-10 takes a second. Now what is built grows with the parameters:
/// four times the width, four times the bytes and the graph.
#[test]
fn a_wider_hidden_layer_derives_in_size_linear_in_its_parameters() {
    let network =
        |width: usize| format!("network 20-{width}-4\nactivation sigmoid\ncost quadratic\n");
    // 25w + 4 parameters: 204 and 804, 3.94 times as many.
    let (bytes, nodes) = derive_size(&network(8));
    let (bytes4, nodes4) = derive_size(&network(32));
    assert!(
        bytes4 * 10 <= bytes * 42,
        "width 8: {bytes} bytes, width 32: {bytes4}"
    );
    assert!(
        nodes4 * 10 <= nodes * 42,
        "width 8: {nodes} graph nodes, width 32: {nodes4}"
    );
}

// ---- item 9: a wrong claim on a deep network --------------------------------------------------

/// Issue 23 item 9: on 24 layers of width 2 the correction of a wrong claim was printed as the
/// gradient written out, once per path (2^23 times), and the run exhausted 2 GiB.
#[test]
fn issue23_a_wrong_claim_on_a_deep_network_is_corrected_through_named_derivatives() {
    let program = common::shapes::deep_narrow(24);
    let out = common::run(&["check", "-", "--claim", "dC/dw2_1_1 = 0"], Some(&program));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.len() < 4_000, "{} bytes:\n{text}", text.len());
    assert!(text.contains("INCORRECT"), "{text}");
    assert!(text.contains("corrected:  δ2_1·x1"), "{text}");
    // The correction is itself a true claim, judged by the checker's own route.
    let again = common::stdout_of(
        &["check", "-", "--claim", "dC/dw2_1_1 = dC/dz2_1*x1"],
        &program,
    );
    assert!(again.contains("1 correct, 0 incorrect"), "{again}");
}

// ---- item 11: an out-of-range reference ------------------------------------------------------

/// Issue 23 item 11: float64 NaN beside a reference out of range was "0 bits" and "No
/// numerical warnings" (the truth, 1 here, is a real number float64 did not give). The
/// reference now works such quotients in log form and gives the 1; where a value stays out of
/// range, it says so, and either way the report counts the bits lost and warns.
#[test]
fn issue23_nan_beside_an_out_of_range_reference_is_an_error_and_a_warning() {
    let program = "input x\nparam w\nz = exp(w*x)\ncost C = z/(1+z)\n";
    for (args, truth) in [
        (
            vec![
                "eval",
                "-",
                "--at",
                "x=1,w=1",
                "--expr",
                "exp(exp(60))/exp(exp(60))",
            ],
            "is NaN in float64 (an ∞/∞, ∞ − ∞ or 0·∞ on the way) but is 1",
        ),
        (
            vec!["eval", "-", "--at", "x=1e20,w=1", "--all"],
            "out of range",
        ),
    ] {
        let text = common::stdout_of(&args, program);
        assert!(text.contains(truth), "{args:?}\n{text}");
        assert!(!text.contains(" 0 bits"), "{args:?}\n{text}");
        assert!(text.contains("64 bits"), "{args:?}\n{text}");
        assert!(!text.contains("No numerical warnings"), "{args:?}\n{text}");
        assert!(text.contains("\nWarnings\n"), "{args:?}\n{text}");
    }
}

// ---- item 10: long runs ----------------------------------------------------------------------

/// Issue 23 item 10: a straight-line program of 10,000 lines took 46 s (the set of names each
/// name depends on was held per name). Doubling the lines at most doubles the output.
#[test]
fn issue23_a_long_straight_line_program_derives_in_linear_size() {
    let lines =
        |n: usize| common::stdout_of(&["derive", "-", "--all"], &common::shapes::long_chain(n));
    let (short, long) = (lines(2_000), lines(4_000));
    assert!(
        long.contains("result:    ∂C/∂w = 4000"),
        "{}",
        &long[..2_000]
    );
    assert!(
        long.len() * 10 <= short.len() * 21,
        "{} bytes for 2,000 lines, {} for 4,000",
        short.len(),
        long.len()
    );
}

/// Issue 23 item 10: `--check-grad` on 784-30-10 compared all 23,860 derivatives (17 min);
/// it compares 64 evenly spaced ones and says so.
#[test]
fn issue23_check_grad_on_a_large_network_samples_and_says_so() {
    let program = "network 100-30-10\nactivation sigmoid\ncost quadratic\n";
    let text = common::stdout_of(
        &[
            "eval",
            "-",
            "--init",
            "xavier",
            "--init-inputs",
            "zero",
            "--all",
            "--check-grad",
            "--no-values",
        ],
        program,
    );
    assert!(
        text.contains("64 of the 3,340 derivatives, evenly spaced"),
        "{}",
        &text[text.find("Gradient check").unwrap_or(0)..]
    );
    let checked = text
        .lines()
        .filter(|l| l.contains(" analytic ") && l.contains(" numeric "))
        .count();
    assert_eq!(checked, 64);
    let json = common::stdout_of(
        &[
            "eval",
            "-",
            "--init",
            "xavier",
            "--init-inputs",
            "zero",
            "--all",
            "--check-grad",
            "--format",
            "json",
        ],
        program,
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["gradient_check_of"], 3340);
    assert_eq!(doc["gradient_check"].as_object().unwrap().len(), 64);
    // A small network is checked whole, and says nothing of a sample.
    let small = common::stdout_of(
        &[
            "eval",
            "-",
            "--init",
            "xavier",
            "--init-inputs",
            "zero",
            "--all",
            "--check-grad",
        ],
        "network 2-2-1\nactivation sigmoid\ncost quadratic\n",
    );
    assert!(!small.contains("evenly spaced"), "{small}");
}

/// Issue 23 item 10: 100 steps on 784-30-10 held every step's table and ran out of memory
/// near step 70, suggesting an option `step` does not have. Past 250,000 rows the steps
/// between the first and the last keep their costs only.
#[test]
fn issue23_a_long_run_on_a_large_network_keeps_the_first_and_last_tables() {
    // 3,340 parameters: 75 steps are 250,500 rows.
    let program = "network 100-30-10\nactivation sigmoid\ncost quadratic\n";
    // The tables of a network this size are printed on request only (issue 21).
    let run = |steps: &str| {
        common::stdout_of(
            &[
                "step",
                "-",
                "--all-values",
                "--init",
                "xavier",
                "--init-inputs",
                "zero",
                "--lr",
                "0.5",
                "--steps",
                steps,
            ],
            program,
        )
    };
    let short = run("74");
    assert!(!short.contains("table is left out"));
    let long = run("75");
    assert_eq!(
        long.matches("table is left out").count(),
        73,
        "{}",
        &long[..500]
    );
    assert_eq!(long.matches("── step").count(), 75);
    // The first and last tables are whole: a row for w3_10_30 in each.
    assert_eq!(long.matches("\n  w3_10_30 ").count(), 2);
    assert!(long.len() < short.len() / 10, "{} bytes", long.len());
    let json = common::stdout_of(
        &[
            "step",
            "-",
            "--init",
            "xavier",
            "--init-inputs",
            "zero",
            "--lr",
            "0.5",
            "--steps",
            "75",
            "--format",
            "json",
        ],
        program,
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps[1]["summarised"], true);
    assert!(steps[0].get("summarised").is_none());
    assert_eq!(steps[74]["params"].as_object().unwrap().len(), 3340);
}

/// Issue 23 item 9 for an update rule: the correction keeps the gradient one chain-rule step
/// deep inside `θ − η·∂C/∂θ`, and is itself a true claim.
#[test]
fn issue23_a_wrong_update_on_a_deep_network_is_corrected_through_named_derivatives() {
    let program = common::shapes::deep_narrow(24);
    let out = common::run(
        &["check", "-", "--claim", "w2_1_1' = w2_1_1"],
        Some(&program),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.len() < 4_000, "{} bytes:\n{text}", text.len());
    let corrected = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("corrected:"))
        .expect("a correction")
        .trim()
        .to_string();
    assert!(corrected.contains("δ2_1"), "{corrected}");
    let again = common::stdout_of(
        &["check", "-", "--claim", &format!("w2_1_1' = {corrected}")],
        &program,
    );
    assert!(again.contains("1 correct, 0 incorrect"), "{again}");
}

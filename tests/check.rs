//! `chainrule check`: verdicts, counterexamples and the likeliest mistake, each on a
//! realistic wrong answer (from the seed question, Mazur's worked example, Nielsen's book,
//! CS231n's notes), correct-but-different forms accepted, and no false alarms over random
//! programs.

mod common;

use chainrule::FormulaPrinter;
use chainrule::Method;
use chainrule::analysis::check::{self, Checked, Verdict};
use chainrule::core::diff::{self, Config, Target};
use common::claims::{CROSS_ENTROPY, CS231N_STAGED, RELU_SOFTPLUS, TANH, corrected, judge};
use common::run as chainrule;
use proptest::prelude::*;

const SEED: &str = include_str!("../examples/seed.bp");
const SEED_QUESTION: &str = include_str!("../examples/seed_question.bp");
const MAZUR: &str = include_str!("../examples/mazur_2_2_2.bp");

fn wrong(source: &str, claim: &str, at: &str) -> String {
    let c = judge(source, claim, at);
    assert_eq!(c.verdict, Verdict::Incorrect, "{claim}: {c:?}");
    assert!(c.counterexample.is_some(), "{c:?}");
    let (claimed, truth) = (c.claimed_value.unwrap(), c.true_value.unwrap());
    assert!(
        (claimed - truth).abs() > 1e-9 * truth.abs().max(claimed.abs()),
        "{c:?}"
    );
    chainrule::render::check::diagnosis(&c).unwrap()
}

/// A judgement as the JSON report gives it.
fn as_json(c: &Checked) -> String {
    let layout = chainrule::Layout::default();
    let document = chainrule::Document::Checks(std::slice::from_ref(c));
    chainrule::render(&document, chainrule::DocumentFormat::Json, &layout).unwrap()
}

fn right(source: &str, claim: &str) -> Checked {
    let c = judge(source, claim, "");
    assert_eq!(c.verdict, Verdict::Correct, "{claim}: {c:?}");
    c
}

/// The corrected formula really is right: checked again as a claim of its own.
fn corrected_is_right(source: &str, claim: &str, lhs: &str) {
    let c = judge(source, claim, "");
    let plain = corrected(&c);
    right(source, &format!("{lhs} = {plain}"));
}

#[test]
fn the_seed_typo_is_a_difference_written_for_a_product() {
    let claim = "dC/dw2 = 2(a2 - y)(sigmoid(z2) - (1 - sigmoid(z2))) a1";
    let d = wrong(SEED_QUESTION, claim, "");
    assert!(
        d.contains("`σ(z2) − (1 − σ(z2))` should be `σ(z2)(1 − σ(z2))`"),
        "{d}"
    );
    assert!(d.contains("a difference written for a product"), "{d}");
    corrected_is_right(SEED_QUESTION, claim, "dC/dw2");
}

#[test]
fn mazur_dw1_without_the_path_through_o2_is_a_path_left_out() {
    // Mazur's ∂E_total/∂out_h1 must add ∂E_o1/∂out_h1 and ∂E_o2/∂out_h1.
    let claim = "dEtotal/dw1 = (outo1 - t1) outo1(1 - outo1) w5 outh1(1 - outh1) i1";
    let d = wrong(MAZUR, claim, "");
    assert!(d.contains("path through `neto2` is missing"), "{d}");
    assert!(d.contains("`outh1` feeds `neto1` and `neto2`"), "{d}");
    right(
        MAZUR,
        "dEtotal/dw1 = ((outo1 - t1) outo1(1 - outo1) w5 + (outo2 - t2) outo2(1 - outo2) w7) outh1(1 - outh1) i1",
    );
}

#[test]
fn the_cs231n_overwrite_at_a_fork_counts_one_path_only() {
    // `dx = dnum` overwrites instead of accumulating: only the path through num survives.
    let d = wrong(CS231N_STAGED, "df/dx = invden", "");
    assert!(d.contains("Only the path through `num` is counted"), "{d}");
    assert!(d.contains("+="), "{d}");
}

#[test]
fn nielsen_cross_entropy_with_sigma_prime_kept_is_named() {
    let d = wrong(CROSS_ENTROPY, "dC/db = (a - y) sigmoid'(z)", "");
    assert!(d.contains("cross-entropy cost cancels it"), "{d}");
    // With the regulariser beside it, the data term's extra σ' is still found.
    let d = wrong(CROSS_ENTROPY, "dC/dw = (a - y) a(1 - a) x + lambda/n w", "");
    assert!(d.contains("cross-entropy cost cancels it"), "{d}");
    right(CROSS_ENTROPY, "dC/dw = (a - y) x + lambda/n w");
    right(CROSS_ENTROPY, "dC/db = a - y");
}

#[test]
fn a_regulariser_with_the_wrong_factor_or_left_out_is_named() {
    let d = wrong(CROSS_ENTROPY, "dC/dw = (a - y) x + lambda/(2n) w", "");
    assert!(d.contains("factor of the regularisation term"), "{d}");
    assert!(d.contains("half"), "{d}");
    let d = wrong(CROSS_ENTROPY, "dC/dw = (a - y) x", "");
    assert!(d.contains("regularisation term"), "{d}");
    assert!(d.contains("left out"), "{d}");
}

#[test]
fn a_sign_error_is_named() {
    let d = wrong(SEED, "dC/dw3 = 2(y - a3) a3(1 - a3) a2", "");
    assert!(d.starts_with("A sign error"), "{d}");
}

#[test]
fn a_factor_of_two_from_the_half_convention_is_named() {
    // Mazur's cost carries the ½; the claim differentiates as if it did not.
    let d = wrong(
        MAZUR,
        "dEtotal/dw5 = 2(outo1 - t1) outo1(1 - outo1) outh1",
        "",
    );
    assert!(d.contains("2 times the true value"), "{d}");
    assert!(d.contains("½(y − a)²"), "{d}");
    let d = wrong(SEED, "dC/dw3 = (a3 - y) a3(1 - a3) a2", "");
    assert!(d.contains("1/2 times the true value"), "{d}");
}

#[test]
fn a_missing_or_extra_chain_rule_factor_is_named() {
    let d = wrong(SEED, "dC/dw3 = 2(a3 - y) a3(1 - a3)", "");
    assert!(d.contains("factor is missing: a2"), "{d}");
    let d = wrong(SEED, "dC/dw2 = 2(a3 - y) a3(1 - a3) a2(1 - a2) x", "");
    assert!(d.contains("factor is missing: w3"), "{d}");
    let d = wrong(SEED, "dC/dw2 = 2(a3 - y) a3(1 - a3) w3 x", "");
    assert!(d.contains("factor is missing: σ'(z2)"), "{d}");
    let d = wrong(SEED, "dC/dw3 = 2(a3 - y) a3(1 - a3) a2 x", "");
    assert!(d.contains("extra factor x"), "{d}");
}

#[test]
fn sigma_prime_at_the_wrong_node_is_named() {
    let d = wrong(SEED, "dC/dw3 = 2(a3 - y) sigmoid'(a3) a2", "");
    assert!(d.contains("`σ'(a3)` should be `σ'(z3)`"), "{d}");
    assert!(d.contains("wrong node"), "{d}");
    let d = wrong(SEED, "dC/dw3 = 2(a3 - y) sigmoid'(z2) a2", "");
    assert!(d.contains("`σ'(z2)` should be `σ'(z3)`"), "{d}");
}

#[test]
fn a_name_from_the_wrong_layer_is_named() {
    let d = wrong(SEED, "dC/dw3 = 2(a3 - y) a3(1 - a3) x", "");
    assert!(d.contains("`x` should be `a2`"), "{d}");
    assert!(d.contains("one name written for another"), "{d}");
}

#[test]
fn a_local_derivative_without_its_upstream_factor_is_the_chain_rule_stopped() {
    let d = wrong(SEED, "dC/dw3 = a2", "");
    assert!(d.contains("chain rule stops early"), "{d}");
    assert!(d.contains("∂z3/∂w3 alone"), "{d}");
}

#[test]
fn one_minus_tanh_squared_written_as_a_square_is_named() {
    let d = wrong(TANH, "dC/dw = -2(y - a)(1 - tanh(z))^2 x", "");
    assert!(
        d.contains("the square of a difference written for one minus a square"),
        "{d}"
    );
    right(TANH, "dC/dw = -2(y - a)(1 - tanh(z)^2) x");
    right(TANH, "dC/dw = -2(y - a) tanh'(z) x");
}

#[test]
fn gradient_ascent_is_named_and_confirmed_by_the_cost_rising() {
    let d = wrong(SEED, "w3' = w3 + eta*dC/dw3", "");
    assert!(d.contains("Gradient ascent written for descent"), "{d}");
    assert!(d.contains("raises the cost from"), "{d}");
    right(SEED, "w3' = w3 - eta*dC/dw3");
    right(SEED, "w3' = w3 - η*2(a3 - y) a3(1 - a3) a2");
    let d = wrong(SEED, "w3' = w3 - 2(a3 - y) a3(1 - a3) a2", "");
    assert!(d.contains("learning rate is missing"), "{d}");
    // A wrong gradient inside a right rule is diagnosed as a gradient.
    let d = wrong(SEED, "w3' = w3 - eta*2(a3 - y) a3(1 - a3)", "");
    assert!(d.contains("factor is missing: a2"), "{d}");
}

#[test]
fn the_seed_zero_is_float64_rounding_not_the_mathematics() {
    let c = judge(SEED_QUESTION, "dC/dw2 = 0", "a1=62.5,w2=0.8,y=0");
    assert_eq!(c.verdict, Verdict::Incorrect);
    assert_eq!(c.mistake().unwrap().code(), "float64-rounding");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("float64 rounding, not the mathematics"), "{d}");
    let truth = c.true_value.unwrap();
    assert!((truth - 2.410_937_309_954_897e-20).abs() < 1e-30, "{truth}");
    let c = judge(SEED_QUESTION, "dC/dw2 = 2.41e-20", "a1=62.5,w2=0.8,y=0");
    assert_eq!(c.verdict, Verdict::Correct, "{c:?}");
}

#[test]
fn a_forward_value_claim_is_judged_to_its_digits() {
    let at = "x=1,w2=0.5,b2=0,w3=-0.5,b3=0.25";
    assert_eq!(judge(SEED, "a2 = 0.62", at).verdict, Verdict::Correct);
    assert_eq!(judge(SEED, "a2 = 0.6224593", at).verdict, Verdict::Correct);
    // 0.6224593312 rounds to 0.6224593, not 0.6224594, nor to 0.7 at one decimal.
    assert_eq!(
        judge(SEED, "a2 = 0.6224594", at).verdict,
        Verdict::Incorrect
    );
    assert_eq!(judge(SEED, "a2 = 0.7", at).verdict, Verdict::Incorrect);
    let d = wrong(SEED, "a2 = 0.5", at);
    assert!(
        d.contains("0.5 is z2, the value before the activation"),
        "{d}"
    );
    // Not the value before the activation, but another name's value.
    let d = wrong(SEED, "a3 = 0.6224593", at);
    assert!(d.contains("the value of a2"), "{d}");
}

#[test]
fn f_of_2_equal_to_0_is_the_value_before_the_activation() {
    let d = wrong(SEED, "f(2) = 0", "w2=1,b2=0,w3=0,b3=0");
    assert!(
        d.contains("0 is z3, the value before the activation"),
        "{d}"
    );
    assert!(d.contains("σ(0) = 0.5"), "{d}");
    assert_eq!(
        judge(SEED, "f(2) = 0.5", "w2=1,b2=0,w3=0,b3=0").verdict,
        Verdict::Correct
    );
}

#[test]
fn correct_but_different_forms_are_accepted() {
    right(SEED, "dC/dw3 = -2(y - a3) a3(1 - a3) a2");
    right(SEED, "dC/dw3 = 2(a3 - y) sigmoid(z3)(1 - sigmoid(z3)) a2");
    right(SEED, "dC/dw3 = 2(a3 - y) exp(-z3)/(1 + exp(-z3))^2 a2");
    right(SEED, "∂C/∂w3 = 2(a3 − y)·σ'(z3)·a2");
    right(
        SEED,
        "dC/dw3 = 2 a2 a3^2 - 2 a2 a3^3 - 2 y a2 a3 + 2 y a2 a3^2",
    );
    right(SEED, "dC/dw3 = dC/dz3 * a2");
    right(SEED, "delta3 = 2(a3 - y) a3(1 - a3)");
    right(SEED, "δ3 = dC/db3");
    right(SEED, "dz3/dw3 = a2");
    let c = right(SEED, "dC/dw3 = -2(y - a3) a3(1 - a3) a2");
    assert_eq!(c.method, Method::Symbolic);
}

#[test]
fn a_claim_that_cannot_be_evaluated_is_unknown_not_guessed() {
    let c = judge(SEED, "dC/dw3 = sqrt(-1 - w3^2)", "");
    assert_eq!(c.verdict, Verdict::Unknown, "{c:?}");
    assert!(
        matches!(c.method, Method::TooFewPoints { valid, needed, .. } if valid < needed),
        "{c:?}"
    );
}

#[test]
fn a_claim_that_holds_at_the_given_point_only_says_so() {
    // At a3 = 1/2, a3(1 − a3) = 1/4: the claim's 0.25 is right there but not in general.
    let c = judge(
        SEED,
        "dC/dw3 = 2(a3 - y)*0.25*a2",
        "x=1,w2=0,b2=0,w3=0,b3=0,y=1",
    );
    assert_eq!(c.verdict, Verdict::Incorrect);
    assert!(
        chainrule::render::check::diagnosis(&c)
            .unwrap()
            .contains("holds at the given point, but not in general")
    );
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

#[test]
fn exit_codes_are_0_when_all_are_correct_1_otherwise_and_2_on_bad_input() {
    let ok = chainrule(
        &["check", "--claim", "dC/dw3 = -2(y - a3) a3(1 - a3) a2"],
        None,
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(text.contains("1 correct, 0 incorrect, 0 unknown"), "{text}");
    let bad = chainrule(
        &["check", "--claim", "dC/dw3 = 2(y - a3) a3(1 - a3) a2"],
        None,
    );
    assert_eq!(bad.status.code(), Some(1));
    let error = chainrule(&["check", "--claim", "dC/dw3 = 2(y - a33) a3"], None);
    assert_eq!(error.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&error.stderr);
    assert!(stderr.contains("unknown name `a33`"), "{stderr}");
    assert!(stderr.contains("--claim:1:16"), "{stderr}");
    assert!(error.stdout.is_empty());
}

#[test]
fn a_claims_file_skips_comments_and_blank_lines_and_errors_point_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.txt");
    std::fs::write(
        &path,
        "# worksheet 1\n\ndC/dw3 = -2(y - a3) a3(1 - a3) a2  # right\nw3' = w3 + eta*dC/dw3\n",
    )
    .unwrap();
    let out = chainrule(
        &[
            "check",
            "--claims",
            path.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let claims = doc["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 2);
    assert_eq!(claims[0]["verdict"], "correct");
    assert_eq!(claims[0]["counterexample"], serde_json::Value::Null);
    assert_eq!(claims[0]["diagnosis"], serde_json::Value::Null);
    assert_eq!(claims[1]["verdict"], "incorrect");
    assert_eq!(claims[1]["claim"], "w3' = w3 + eta*dC/dw3");
    assert!(claims[1]["counterexample"]["w3"].is_number());
    assert!(claims[1]["diagnosis"].as_str().unwrap().contains("ascent"));
    assert_eq!(claims[1]["method"], "counterexample");
    assert_eq!(
        claims[1]["method_text"],
        "numeric, a point where the sides differ"
    );
    std::fs::write(&path, "# one\ndC/dw3 = a3 +\n").unwrap();
    let out = chainrule(&["check", "--claims", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("claims.txt:2:"), "{stdout}");
}

#[test]
fn a_worksheet_survives_one_unreadable_line() {
    // Line 4 does not parse: it gets an `unreadable` verdict with its caret, the others are
    // judged, and the exit code is the worst verdict's (2, bad input).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.txt");
    std::fs::write(
        &path,
        "dC/dw3 = -2(y - a3) a3(1 - a3) a2\n# a comment\nw3' = w3 + eta*dC/dw3\ndC/db3 = 2(a3 - y a3\ndC/db3 = 2(a3 - y) a3(1 - a3)\n",
    )
    .unwrap();
    let out = chainrule(&["check", "--claims", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("3. dC/db3 = 2(a3 - y a3\n   UNREADABLE"),
        "{text}"
    );
    assert!(text.contains("sheet.txt:4:11"), "{text}");
    assert!(text.contains("4 | dC/db3 = 2(a3 - y a3"), "{text}");
    assert!(
        text.contains("|           ^         - expected `)` here"),
        "{text}"
    );
    assert!(
        text.contains("4. dC/db3 = 2(a3 - y) a3(1 - a3)\n   CORRECT"),
        "{text}"
    );
    assert!(
        text.contains("2 correct, 1 incorrect, 0 unknown, 1 unreadable"),
        "{text}"
    );
    let out = chainrule(
        &[
            "check",
            "--claims",
            path.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdicts: Vec<&str> = doc["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["correct", "incorrect", "unreadable", "correct"]);
    let error = doc["claims"][2]["error"].as_str().unwrap();
    assert!(error.contains("unclosed parenthesis"), "{error}");
    assert_eq!(doc["claims"][0]["error"], serde_json::Value::Null);
    // Without the bad line the worst verdict is an incorrect claim: 1.
    std::fs::write(
        &path,
        "dC/dw3 = -2(y - a3) a3(1 - a3) a2\nw3' = w3 + eta*dC/dw3\n",
    )
    .unwrap();
    let out = chainrule(&["check", "--claims", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    // A bad `--claim` argument is still refused outright.
    let out = chainrule(&["check", "--claim", "dC/dw3 = (a3"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn the_worksheet_reads_in_markdown_and_latex() {
    let args = [
        "check",
        "--claim",
        "dC/dw3 = 2(a3 - y) sigmoid'(a3) a2",
        "--claim",
        "dC/db3 = 2(a3 - y) a3(1 - a3)",
    ];
    let md = chainrule(&[&args[..], &["--format", "markdown"]].concat(), None);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("## 1. `dC/dw3 = 2(a3 - y) sigmoid'(a3) a2`"),
        "{md}"
    );
    assert!(md.contains("**incorrect**"), "{md}");
    assert!(md.contains("*Likeliest mistake:*"), "{md}");
    assert!(md.contains("$$"), "{md}");
    assert!(md.contains("**1 correct, 1 incorrect, 0 unknown**"), "{md}");
    let tex = chainrule(&[&args[..], &["--format", "latex"]].concat(), None);
    let tex = String::from_utf8_lossy(&tex.stdout);
    assert!(tex.contains("\\begin{enumerate}"), "{tex}");
    // The formulas the diagnosis names are typeset like the formulas beside them.
    assert!(
        tex.contains("$\\sigma'(a_{3})$ should be $\\sigma'(z_{3})$"),
        "{tex}"
    );
    assert!(
        md.contains("$\\sigma'(a_{3})$ should be $\\sigma'(z_{3})$"),
        "{md}"
    );
    assert!(!tex.contains('σ'), "unicode left in LaTeX: {tex}");
}

// ---------------------------------------------------------------------------------------------
// No false alarms
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A program's own derivatives, printed (in intermediates, and expanded into inputs and
    /// parameters) and parsed back as claims, are always judged correct.
    #[test]
    fn printed_derivatives_are_judged_correct(source in common::program()) {
        let mut model = common::load(&source);
        let targets: Vec<Target> = model.params().map(|p| Target { of: model.cost, wrt: p }).collect();
        let derivations = diff::derive(&mut model, &targets, &Config { expand: true, ..Config::default() });
        let printer = FormulaPrinter::new(&model.graph, &model.symbols);
        let mut claims = Vec::new();
        for d in &derivations.derivations {
            let label = format!("d{}/d{}", model.name(d.target.of), model.name(d.target.wrt));
            claims.push(format!("{label} = {}", printer.plain(d.result)));
            if let Some(e) = d.expanded {
                claims.push(format!("{label} = {}", printer.plain(e)));
            }
        }
        let checked = check::check(&check::with_learning_rate(&model), &claims, &[]).unwrap();
        for c in checked {
            prop_assert!(c.verdict != Verdict::Incorrect, "{source}\n{c:?}");
        }
    }
}

#[test]
fn latex_claims_as_textbooks_print_them_are_judged() {
    right(
        SEED,
        r"\frac{\partial C}{\partial w^{(3)}} = -2(y - f(x))\sigma'(z^{(3)})a^{(2)}",
    );
    right(
        SEED,
        r"dC/dw3 = 2(a_3 - y)\sigma(z_3)\left(1-\sigma(z_3)\right) a_2",
    );
    right(SEED, r"w_3' = w_3 - \eta \frac{\partial C}{\partial w_3}");
    right(SEED, r"\delta^{(3)} = 2(a_{3} - y) a_3 (1 - a_3)");
    right(SEED, "dC/dw3 = 2(a_3 - y) a_3(1 - a_3) a_2");
    let d = wrong(
        SEED,
        r"\frac{\partial C}{\partial w^{(3)}} = 2(y - f(x))\sigma'(z^{(3)})a^{(2)}",
        "",
    );
    assert!(d.starts_with("A sign error"), "{d}");
    let d = wrong(
        MAZUR,
        r"\frac{\partial E_{total}}{\partial w_{5}} = (out_{o1} - t_{1}) \cdot out_{o1}(1 - out_{o1}) \cdot out_{h2}",
        "",
    );
    assert!(d.contains("`outh2` should be `outh1`"), "{d}");
}

#[test]
fn an_unknown_name_in_a_latex_claim_is_an_error_with_a_caret() {
    let out = chainrule(&["check", "--claim", r"dC/dw3 = 2(a_3 - y) q_{7}"], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--claim:1:"), "{stderr}");
    assert!(stderr.contains('^'), "{stderr}");
}

#[test]
fn a_long_worksheet_split_over_threads_judges_each_claim_as_alone() {
    let mix = [
        "dC/dw3 = -2(y - a3) a3(1 - a3) a2",
        "dC/dw3 = 2(a3 - y) sigmoid'(a3) a2",
        "w3' = w3 + eta*dC/dw3",
        "dC/dw2 = 2(a3 - y) a3(1 - a3) a2(1 - a2) x",
        "dC/db2 = 2(a3 - y) a3(1 - a3) w3 a2(1 - a2)",
    ];
    let claims: Vec<String> = (0..40).map(|i| mix[i % mix.len()].to_string()).collect();
    let model = check::with_learning_rate(&common::load(SEED));
    let together = check::check(&model, &claims, &[]).unwrap();
    assert_eq!(together.len(), claims.len());
    for (claim, judged) in claims.iter().zip(&together) {
        let alone = check::check(&model, std::slice::from_ref(claim), &[]).unwrap();
        assert_eq!(as_json(&alone[0]), as_json(judged), "{claim}");
    }
}

#[test]
fn an_error_in_a_long_worksheet_names_the_right_claim() {
    let mut claims: Vec<String> = (0..40)
        .map(|_| "dC/db3 = 2(a3 - y) a3(1 - a3)".to_string())
        .collect();
    claims[34] = "dC/db3 = 2(a3 - q) a3".to_string();
    let model = check::with_learning_rate(&common::load(SEED));
    let error = check::check(&model, &claims, &[]).unwrap_err();
    assert_eq!(error.index, 34);
    assert!(
        error.diagnostic.message.contains("unknown name `q`"),
        "{}",
        error.diagnostic.message
    );
}

#[test]
fn a_missing_relu_prime_is_found_although_it_is_zero_at_half_the_points() {
    let d = wrong(RELU_SOFTPLUS, "dC/dw1 = 2(out - y) v1 x", "");
    assert!(d.contains("factor is missing: relu'(z1)"), "{d}");
    right(RELU_SOFTPLUS, "dC/dw1 = 2(out - y) v1 relu'(z1) x");
}

#[test]
fn an_activation_written_for_its_derivative_is_named() {
    let d = wrong(RELU_SOFTPLUS, "dC/dw1 = 2(out - y) v1 h1 x", "");
    assert!(d.contains("`h1` should be `relu'(z1)`"), "{d}");
    // softplus' = σ.
    let d = wrong(RELU_SOFTPLUS, "dC/dw2 = 2(out - y) v2 h2 x", "");
    assert!(d.contains("`h2` should be `σ(z2)`"), "{d}");
    right(RELU_SOFTPLUS, "dC/dw2 = 2(out - y) v2 sigmoid(z2) x");
}

#[test]
fn sigmas_derivative_used_for_tanh_is_named() {
    let d = wrong(TANH, "dC/dw = -2(y - a) a(1 - a) x", "");
    assert!(
        d.contains("used where the activation's derivative is 1 − a²"),
        "{d}"
    );
}

#[test]
fn a_number_for_an_update_rule_is_a_value_at_the_point() {
    // Mazur's worked example: after one step with η = 0.5, w5 = 0.35891648.
    let at = "i1=0.05,i2=0.10,t1=0.01,t2=0.99,w1=0.15,w2=0.20,w3=0.25,w4=0.30,b1=0.35,\
              w5=0.40,w6=0.45,w7=0.50,w8=0.55,b2=0.60,eta=0.5";
    let c = judge(MAZUR, "w5' = 0.35891648", at);
    assert_eq!(c.verdict, Verdict::Correct, "{c:?}");
    assert_eq!(
        judge(MAZUR, "w1^+ = 0.149780716", at).verdict,
        Verdict::Correct
    );
    assert_eq!(judge(MAZUR, "w5' = 0.3589", at).verdict, Verdict::Correct);
    assert_eq!(
        judge(MAZUR, "w5' = 0.4410835", at).verdict,
        Verdict::Incorrect
    );
    right(
        MAZUR,
        r"\Delta w_5 = -\eta \frac{\partial E_{total}}{\partial w_5}",
    );
}

#[test]
fn softmax_log_likelihood_delta_holds_for_one_hot_targets_and_says_so() {
    let source = "input x1, x2
target y1, y2
param w1, w2, w3, w4
z1 = w1*x1 + w2*x2
z2 = w3*x1 + w4*x2
s = exp(z1) + exp(z2)
a1 = exp(z1)/s
a2 = exp(z2)/s
cost C = -(y1*log(a1) + y2*log(a2))
";
    let c = right(source, "dC/dz1 = a1 - y1");
    assert!(
        matches!(c.method, Method::NumericForLabels { one_hot: true, .. }),
        "{:?}",
        c.method
    );
    // Σy = 1 is all it needs; a sign error is still wrong for one-hot targets.
    let c = judge(source, "dC/dz1 = y1 - a1", "");
    assert_eq!(c.verdict, Verdict::Incorrect);
}

#[test]
fn a_claim_undefined_everywhere_is_not_made_right_by_simplifying_it() {
    let c = judge(SEED, "dC/dw3 = -2(y - a3) a3(1 - a3) a2 + 0/(w3 - w3)", "");
    assert_eq!(c.verdict, Verdict::Unknown, "{c:?}");
}

#[test]
fn a_claim_wrong_only_far_from_the_origin_is_caught() {
    let c = judge(SEED, "dC/dw3 = -2(y - a3) a3(1 - a3) a2 + relu(x - 3)", "");
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
}

#[test]
fn numbers_in_scientific_notation_as_books_print_them_are_judged_to_their_digits() {
    let at = "i1=0.05,i2=0.10,t1=0.01,t2=0.99,w1=0.15,w2=0.20,w3=0.25,w4=0.30,b1=0.35,\
              w5=0.40,w6=0.45,w7=0.50,w8=0.55,b2=0.60";
    // Mazur: ∂E_total/∂w5 = 0.082167041.
    assert_eq!(
        judge(MAZUR, r"dEtotal/dw5 = 8.22 \times 10^{-2}", at).verdict,
        Verdict::Correct
    );
    assert_eq!(
        judge(MAZUR, r"dEtotal/dw5 = 8.2167 \cdot 10^{-2}", at).verdict,
        Verdict::Correct
    );
    assert_eq!(
        judge(MAZUR, r"dEtotal/dw5 = 8.3 \times 10^{-2}", at).verdict,
        Verdict::Incorrect
    );
    let d = wrong(MAZUR, "dEtotal/dw5 = 0.0821", at);
    assert!(
        d.contains("cut off rather than rounded; to these digits it is 0.0822"),
        "{d}"
    );
}

#[test]
fn a_function_from_another_notation_gets_a_hint() {
    let out = chainrule(&["check", "--claim", "dC/dw3 = sigma(z3)"], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`sigmoid(z)` (also `σ(z)`)"), "{stderr}");
}

#[test]
fn a_large_networks_counterexample_is_summarised_in_text_and_whole_in_json() {
    let args = [
        "check",
        "examples/mnist_784_30_10.bp",
        "--claim",
        "dC/db3_1 = 0",
    ];
    let out = chainrule(&args, None);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("784 names = 1 (x1, x2, …)"),
        "{}",
        &text[..text.len().min(2000)]
    );
    assert!(text.len() < 3000, "{}", text.len());
    let out = chainrule(&[&args[..], &["--format", "json"]].concat(), None);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let point = doc["claims"][0]["counterexample"].as_object().unwrap();
    // x, y1, the weights and biases of layer 2, and the 30 weights and one bias into a3_1.
    assert_eq!(point.len(), 784 + 1 + 784 * 30 + 30 + 30 + 1);
}

#[test]
fn delta_of_the_wrong_layer_is_named() {
    // Nielsen's BP3 for a 2-2-1 network: ∂C/∂b^(2)_1 = δ^(2)_1, not δ^(3)_1.
    let source = "network 2-2-1\nactivation sigmoid\ncost quadratic\n";
    // Written as the claim writes it, and as derive names error terms.
    let d = wrong(source, "dC/db2_1 = delta3_1", "");
    assert!(d.contains("`δ3_1` should be `δ2_1`"), "{d}");
    let d = wrong(
        source,
        r"\frac{\partial C}{\partial w^{(2)}_{11}} = x_1 \delta^{(3)}_{1}",
        "",
    );
    assert!(d.contains("wrong name"), "{d}");
    right(
        source,
        r"\frac{\partial C}{\partial w^{(2)}_{11}} = x_1 \delta^{(2)}_{1}",
    );
}

#[test]
fn a_whole_number_that_float64_gives_exactly_is_accepted_but_not_as_exact() {
    let c = judge(SEED_QUESTION, "a2 = 1", "a1=62.5,w2=0.8,y=0");
    assert_eq!(c.verdict, Verdict::Correct);
    assert!(
        matches!(&c.method, Method::ValueNotExact { truth }
            if truth.starts_with("0.99999999999999999999980")),
        "{:?}",
        c.method
    );
    let c = judge(SEED_QUESTION, "z2 = 50", "a1=62.5,w2=0.8,y=0");
    assert_eq!(c.method, Method::Value);
}

#[test]
fn mazurs_delta_of_net_o1_resolves_through_his_display_forms() {
    let source = format!(
        "{MAZUR}show neto1 as \"net_{{o1}}\", outo1 as \"out_{{o1}}\"\nshow t1 as \"target_{{o1}}\"\n"
    );
    right(
        &source,
        r"\delta_{o1} = (out_{o1} - target_{o1}) out_{o1}(1 - out_{o1})",
    );
}

#[test]
fn a_prime_after_a_name_that_is_not_an_activation_gets_a_hint() {
    let out = chainrule(
        &["check", "--claim", "dC/dw3 = 2(a3-y) sigma'(z3) a2"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`sigma'` is not a derivative chainrule knows"),
        "{stderr}"
    );
    assert!(stderr.contains("`sigmoid'(z)`"), "{stderr}");
}

#[test]
fn right_claims_with_tiny_values_far_out_are_not_rejected_for_want_of_precision() {
    // log(1 + e^z) at z ≈ −70 is 4e−31: 128 bits cannot tell it from softplus(z), the
    // precision-raised reference can.
    let c = right(RELU_SOFTPLUS, "dC/dv2 = 2(out - y) log(1 + exp(z2))");
    assert!(matches!(c.method, Method::Numeric { .. }), "{:?}", c.method);
    right(TANH, "dC/dw = -2(y - a)*4/(exp(z) + exp(-z))^2 x");
}

#[test]
fn the_output_times_one_minus_itself_is_a_product_not_a_call() {
    let cs231n = include_str!("../examples/cs231n_neuron.bp");
    right(cs231n, "dC/ddot = f(1 - f)");
    right(cs231n, "dC/dw0 = f(w, x)(1 - f(w, x)) x0");
    right(SEED, "dC/db3 = 2(f - y) f(1 - f)");
}

#[test]
fn a_wrong_update_rule_is_corrected_as_a_rule() {
    let d = wrong(SEED, "w3' = w3 + eta*2(a3 - y) a3(1 - a3) a2", "");
    assert!(d.contains("ascent"), "{d}");
    let c = judge(SEED, "w3' = (1 - eta) w3 + eta*2(a3 - y) a3(1 - a3) a2", "");
    assert_eq!(c.verdict, Verdict::Incorrect);
    let plain = corrected(&c);
    assert!(
        !plain.contains("/eta"),
        "a corrected rule divides by η: {plain}"
    );
}

#[test]
fn a_missing_square_and_a_nearest_name_tie_are_named() {
    let d = wrong(TANH, "dC/dw = -2(y - a)(1 - a) x", "");
    assert!(d.contains("`a` should be `a^2`: a square missing"), "{d}");
    let out = chainrule(
        &[
            "check",
            "examples/cs231n_neuron.bp",
            "--claim",
            "dC/dx = 0.39",
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean `x0` or `x1`?"), "{stderr}");
}

#[test]
fn nielsens_weight_decay_without_eta_in_the_decay_factor_is_named() {
    let source = "network 2-2-1\nactivation sigmoid\ncost cross-entropy\nregularization l2\n";
    right(
        source,
        "w3_1_1' = (1 - eta lambda/n) w3_1_1 - eta dC0/dw3_1_1",
    );
    let d = wrong(
        source,
        "w3_1_1' = (1 - lambda/n) w3_1_1 - eta dC0/dw3_1_1",
        "",
    );
    assert!(d.contains("one term lacks a factor (η)"), "{d}");
}

#[test]
fn an_inner_derivative_left_out_is_a_missing_factor() {
    // Goodfellow 6.2.2.2: J = softplus((1 − 2y)z), so dJ/dz = (1 − 2y)σ((1 − 2y)z).
    let source = "input h\ntarget y\nparam w, b\nz = w*h + b\ncost J = softplus((1 - 2y) z)\n";
    right(source, "dJ/dz = (1 - 2y) sigmoid((1 - 2y) z)");
    let d = wrong(source, "dJ/dz = sigmoid((1 - 2y) z)", "");
    assert!(d.contains("factor is missing: 1 − 2y"), "{d}");
}

/// A long wrong claim is diagnosed within a budget that grows with its length: the search
/// stops and says so (it grew with the cube of the length; the benchmark times it).
#[test]
fn a_long_wrong_claim_is_diagnosed_within_a_budget() {
    let product = vec!["a2"; 300].join("*");
    let c = judge(SEED, &format!("dC/dw3 = {product}"), "");
    assert_eq!(c.verdict, Verdict::Incorrect);
    let diagnosis = c.diagnosis.as_ref().unwrap();
    assert!(diagnosis.out_of_budget, "{c:?}");
    assert!(diagnosis.mistake.is_none(), "{c:?}");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(
        d.contains("within the search allowed for a claim of this length"),
        "{d}"
    );
    // A short claim is searched in full: its mistake is still found.
    let d = wrong(SEED, "dC/dw3 = 2(a3 - y) a3(1 - a3)", "");
    assert!(d.contains("factor is missing: a2"), "{d}");
}

/// The ascent diagnosis quotes the cost before and after a small step at the point it shows
/// (the `--at` point), so the reader can check the numbers.
#[test]
fn ascent_quotes_the_cost_at_the_point_shown() {
    let at = "x=1,y=0,w2=0.5,b2=0.5,w3=0.5,b3=0.5,eta=0.1";
    let c = judge(SEED, "w3' = w3 + eta*dC/dw3", at);
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let a2 = sigmoid(0.5 * 1.0 + 0.5);
    let a3 = sigmoid(0.5 * a2 + 0.5);
    let cost = a3 * a3;
    match c.mistake() {
        Some(check::Mistake::Ascent {
            cost_before_after: Some((before, after)),
            ..
        }) => {
            assert!((before - cost).abs() < 1e-12, "{before} vs {cost}");
            assert!(after > before);
        }
        other => panic!("{other:?}"),
    }
    let point = c.counterexample.unwrap();
    assert!(point.contains(&("w3".to_string(), 0.5)), "{point:?}");
    let d = chainrule::render::check::diagnosis(&judge(SEED, "w3' = w3 + eta*dC/dw3", at)).unwrap();
    // To 6 digits, as the rest of the report (issue 22).
    let shown = chainrule::core::number::significant(cost, 6);
    assert!(d.contains(&format!("from {shown} ")), "{d}");
}

/// CS231n's staged example as numbers: `dx = dnum` overwrites the gradient where three gates'
/// contributions must accumulate, so the claimed dx is the path through `num` alone.
#[test]
fn a_gradient_overwritten_at_a_fork_is_named_for_numbers() {
    let (x, y) = (3.0f64, -4.0f64);
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let den = sigmoid(x) + (x + y).powi(2);
    let num = x + sigmoid(y);
    let only_num = 1.0 / den;
    let at = "x=3,y=-4";
    let c = judge(CS231N_STAGED, &format!("df/dx = {only_num:.12}"), at);
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    match c.mistake() {
        Some(check::Mistake::OverwrittenAtFork { kept, users, .. }) => {
            assert_eq!(c.formulas.name(*kept), "num");
            assert_eq!(users.len(), 3);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.mistake().unwrap().code(), "overwritten-at-fork");
    // The accumulated gradient, as the staged code computes it, checks as correct.
    let sx = sigmoid(x);
    let dinvden = num;
    let dden = -dinvden / den.powi(2);
    let dx = 1.0 / den + dden * sx * (1.0 - sx) + dden * 2.0 * (x + y);
    let c = judge(CS231N_STAGED, &format!("df/dx = {dx:.12}"), at);
    assert_eq!(c.verdict, Verdict::Correct, "{c:?}");
}

/// A number for ∂C/∂w3 that is only the local gradient ∂z3/∂w3 = a2, or only the upstream
/// gradient ∂C/∂z3: the chain rule stopped early.
#[test]
fn the_chain_rule_stopped_early_is_named_for_numbers() {
    let at = "x=1,y=0,w2=0.5,b2=0.5,w3=0.5,b3=0.5";
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let a2 = sigmoid(0.5 + 0.5);
    let a3 = sigmoid(0.5 * a2 + 0.5);
    let delta3 = 2.0 * a3 * a3 * (1.0 - a3);
    let c = judge(SEED, &format!("dC/dw3 = {a2:.10}"), at);
    match c.mistake() {
        Some(check::Mistake::ChainStopped { at, .. }) => assert_eq!(c.formulas.name(*at), "z3"),
        other => panic!("{other:?}"),
    }
    let c = judge(SEED, &format!("dC/dw3 = {delta3:.10}"), at);
    match c.mistake() {
        Some(check::Mistake::UpstreamOnly { at, .. }) => assert_eq!(c.formulas.name(*at), "z3"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.mistake().unwrap().code(), "chain-stopped");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("the upstream gradient"), "{d}");
    let whole = delta3 * a2;
    let c = judge(SEED, &format!("dC/dw3 = {whole:.10}"), at);
    assert_eq!(c.verdict, Verdict::Correct, "{c:?}");
}

/// Update rules that leave a parameter out (`b' = b`) or decay a bias as if it were a weight
/// (Nielsen's L2 rule applies to weights only).
#[test]
fn a_parameter_not_updated_and_a_decayed_bias_are_named() {
    let source = "network 2-2-1\nactivation sigmoid\ncost cross-entropy\nregularization l2\n";
    let c = judge(source, "b3_1' = b3_1", "");
    assert_eq!(c.mistake().map(|m| m.code()), Some("not-updated"), "{c:?}");
    let c = judge(
        source,
        "b3_1' = (1 - eta lambda/n) b3_1 - eta dC0/db3_1",
        "",
    );
    assert_eq!(c.mistake().map(|m| m.code()), Some("bias-decayed"), "{c:?}");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("not the biases"), "{d}");
    right(source, "b3_1' = b3_1 - eta dC0/db3_1");
    right(
        source,
        "w3_1_1' = (1 - eta lambda/n) w3_1_1 - eta dC0/dw3_1_1",
    );
}

/// Mistakes planted into random programs' printed derivatives are named as the kind planted
/// at least 9 times in 10 (a claim the planting leaves right, as −0 = 0, does not count).
#[test]
fn planted_mistakes_are_named_as_their_kind() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeMap;
    let mut runner = TestRunner::deterministic();
    // kind → (named right, judged incorrect)
    let mut tally: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for _ in 0..60 {
        let source = common::program().new_tree(&mut runner).unwrap().current();
        let mut model = common::load(&source);
        let targets: Vec<Target> = model
            .params()
            .map(|p| Target {
                of: model.cost,
                wrt: p,
            })
            .collect();
        let derivations = diff::derive(&mut model, &targets, &Config::default());
        let printer = FormulaPrinter::new(&model.graph, &model.symbols);
        let mut planted: Vec<(&str, String)> = Vec::new();
        for d in &derivations.derivations {
            let (of, wrt) = (model.name(d.target.of), model.name(d.target.wrt));
            let label = format!("d{of}/d{wrt}");
            let result = printer.plain(d.result);
            planted.push(("sign", format!("{label} = -({result})")));
            planted.push(("constant-factor", format!("{label} = 3*({result})")));
            planted.push(("ascent", format!("{wrt}' = {wrt} + eta*({result})")));
            planted.push((
                "missing-learning-rate",
                format!("{wrt}' = {wrt} - ({result})"),
            ));
            planted.push(("not-updated", format!("{wrt}' = {wrt}")));
            // A chain-rule factor too many: the parameter's own local derivative repeated.
            planted.push(("extra-factor", format!("{label} = ({result})*{wrt}")));
            planted.push(("change-for-new-value", format!("{wrt}' = -eta*({result})")));
        }
        let claims: Vec<String> = planted.iter().map(|(_, c)| c.clone()).collect();
        let checked = check::check(&check::with_learning_rate(&model), &claims, &[]).unwrap();
        tally_named(&planted, &checked, "", &mut tally, &mut misses);
    }
    assert_most_named(&tally, &misses, "claims", 7);
}

/// Counts, for each kind of planted mistake, the claims judged wrong and those named as that
/// kind; the others are listed in `misses` (with `context`).
fn tally_named<'k>(
    planted: &[(&'k str, String)],
    checked: &[Checked],
    context: &str,
    tally: &mut std::collections::BTreeMap<&'k str, (usize, usize)>,
    misses: &mut Vec<String>,
) {
    for ((kind, claim), c) in planted.iter().zip(checked) {
        if c.verdict != Verdict::Incorrect {
            continue;
        }
        let entry = tally.entry(kind).or_default();
        entry.1 += 1;
        if c.mistake().map(|m| m.code()) == Some(*kind) {
            entry.0 += 1;
        } else {
            misses.push(format!("{kind}: {claim}{context}: {:?}", c.mistake()));
        }
    }
}

/// Planted mistakes of each of `kinds` kinds: at least ten of each judged wrong, and nine in
/// ten of those named as their kind (`misses` lists the others).
fn assert_most_named(
    tally: &std::collections::BTreeMap<&str, (usize, usize)>,
    misses: &[String],
    planted: &str,
    kinds: usize,
) {
    for (kind, (named, judged)) in tally {
        assert!(
            *judged >= 10,
            "{kind}: only {judged} planted {planted} were wrong"
        );
        assert!(
            10 * named >= 9 * judged,
            "{kind}: named {named} of {judged}\n{}",
            misses.join("\n")
        );
    }
    assert_eq!(tally.len(), kinds, "{tally:?}");
}

/// The value of ∂of/∂wrt at a point, derived and evaluated at high precision.
fn derivative_value(
    model: &mut chainrule::Model,
    of: chainrule::Sym,
    wrt: chainrule::Sym,
    point: &std::collections::HashMap<chainrule::Sym, f64>,
) -> f64 {
    let derivations = diff::derive(model, &[Target { of, wrt }], &Config::default());
    let result = derivations.derivations[0].result;
    common::value_at(model, result, point).to_f64()
}

/// The program with `name` replaced by the new input `frozen` in the definitions of `cut`:
/// the edges from `name` to those users cut, so that the cost's derivative counts only the
/// other paths (an independent route to a fork's partial sums, through the source).
fn with_edges_cut(source: &str, name: &str, cut: &[&str]) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::from("input frozen\n");
    for line in source.lines() {
        let defined = line
            .split_once(" = ")
            .map(|(lhs, _)| lhs.trim_start_matches("cost ").trim());
        let Some((lhs, rhs)) = line
            .split_once(" = ")
            .filter(|_| defined.is_some_and(|d| cut.contains(&d)))
        else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let mut replaced = String::new();
        let mut word = String::new();
        for c in rhs.chars().chain(std::iter::once(' ')) {
            if is_word(c) {
                word.push(c);
                continue;
            }
            replaced.push_str(if word == name { "frozen" } else { &word });
            word.clear();
            replaced.push(c);
        }
        replaced.pop();
        out.push_str(&format!("{lhs} = {replaced}\n"));
    }
    out
}

/// Wrong numbers planted for derivatives of random programs at random points (the negative,
/// twice or half the value, the local gradient or the upstream gradient alone, the
/// contribution of only some of a fork's paths) are named as the kind planted at least 9
/// times in 10. Each planted number is computed by an independent route: derivatives of the
/// names involved, or of the program with a fork's other edges cut in its source.
#[test]
fn planted_wrong_numbers_are_named_as_their_kind() {
    use chainrule::Sym;
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeMap;
    let mut runner = TestRunner::deterministic();
    // Twelve significant digits: the point is given in decimal, so the last of 17 digits
    // of a number computed from its float64 values is not the claim's to get right.
    let digits = |v: f64| format!("{v:.11e}");
    // kind → (named right, judged incorrect)
    let mut tally: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut programs = 0;
    // Half the programs with forks for certain: p1 feeds h0 and h1, h0 feeds h1 and C.
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let base = names(&["x1", "x2", "p1", "p2", "p3", "y"]);
    let forked = (
        common::expression(base.clone(), 2),
        common::expression(base, 2),
        common::expression(names(&["h0", "h1", "y"]), 2),
    )
        .prop_map(|(e0, e1, e2)| {
            format!(
                "input x1, x2\nparam p1, p2, p3\ntarget y\nh0 = ({e0})*p1\n\
                 h1 = ({e1}) + p1*h0\ncost C = ({e2}) + h0*h1\n"
            )
        });
    // Random programs often leave the parameters out of the cost: 40 that use one.
    while programs < 40 {
        let source = if programs % 2 == 0 {
            common::program().new_tree(&mut runner).unwrap().current()
        } else {
            forked.new_tree(&mut runner).unwrap().current()
        };
        let values = proptest::collection::vec(-2.0f64..2.0, 6)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut model = common::load(&source);
        let point = common::point(&model, &values);
        let at: Vec<String> = point
            .iter()
            .map(|(s, v)| format!("{}={v}", model.name(*s)))
            .collect();
        let cost = model.cost;
        let depends_on = |model: &chainrule::Model, y: Sym, x: Sym| {
            let mut stack = vec![y];
            let mut seen = std::collections::HashSet::new();
            while let Some(s) = stack.pop() {
                if s == x {
                    return true;
                }
                if seen.insert(s) {
                    stack.extend(model.dependencies.uses(s).iter().copied());
                }
            }
            false
        };
        let params: Vec<Sym> = model
            .params()
            .filter(|&p| depends_on(&model, cost, p))
            .collect();
        if params.is_empty() {
            continue;
        }
        programs += 1;
        let mut planted: Vec<(&str, String)> = Vec::new();
        for p in params {
            let label = format!("dC/d{}", model.name(p));
            let truth = derivative_value(&mut model, cost, p, &point);
            planted.push(("sign", format!("{label} = {}", digits(-truth))));
            planted.push((
                "constant-factor",
                format!("{label} = {}", digits(2.0 * truth)),
            ));
            planted.push((
                "constant-factor",
                format!("{label} = {}", digits(truth / 2.0)),
            ));
            let path: Vec<Sym> = model
                .syms()
                .filter(|&y| depends_on(&model, cost, y) && depends_on(&model, y, p))
                .collect();
            for &y in &path {
                if y == cost || y == p {
                    continue;
                }
                let local = derivative_value(&mut model, y, p, &point);
                let upstream = derivative_value(&mut model, cost, y, &point);
                planted.push(("chain-stopped", format!("{label} = {}", digits(local))));
                planted.push(("chain-stopped", format!("{label} = {}", digits(upstream))));
            }
            for &v in &path {
                let users: Vec<Sym> = model
                    .dependencies
                    .users(v)
                    .iter()
                    .copied()
                    .filter(|u| path.contains(u))
                    .collect();
                if users.len() < 2 {
                    continue;
                }
                let v_node = model.graph_var(v);
                let at_v = common::value_at(&mut model, v_node, &point).to_f64();
                for &kept in &users {
                    let cut: Vec<&str> = users
                        .iter()
                        .filter(|&&u| u != kept)
                        .map(|&u| model.name(u))
                        .collect();
                    let one_path = with_edges_cut(&source, model.name(v), &cut);
                    let mut cut_model = common::load(&one_path);
                    let mut cut_point = common::point(&cut_model, &[0.0]);
                    for (s, value) in &point {
                        cut_point.insert(cut_model.lookup(model.name(*s)).unwrap(), *value);
                    }
                    cut_point.insert(cut_model.lookup("frozen").unwrap(), at_v);
                    let (cut_cost, cut_p) =
                        (cut_model.cost, cut_model.lookup(model.name(p)).unwrap());
                    let only = derivative_value(&mut cut_model, cut_cost, cut_p, &cut_point);
                    planted.push(("overwritten-at-fork", format!("{label} = {}", digits(only))));
                }
            }
        }
        let claims: Vec<String> = planted.iter().map(|(_, c)| c.clone()).collect();
        let checking = check::with_learning_rate(&model);
        let given = chainrule::values(&checking, &at.join(",")).unwrap();
        let checked = check::check(&checking, &claims, &given).unwrap();
        let context = format!(" at {} in\n{source}\n", at.join(","));
        tally_named(&planted, &checked, &context, &mut tally, &mut misses);
    }
    eprintln!("{tally:?}");
    assert_most_named(&tally, &misses, "numbers", 4);
}

/// `f(2)` binds the output's one input whatever `--at` says; the wrong number of arguments, a
/// formula or an unknown name as an argument is an error with a caret (exit 2).
#[test]
fn output_calls_take_their_arguments() {
    let at = "x=1,w2=1,b2=0,w3=1,b3=0";
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let at_two = sigmoid(sigmoid(2.0));
    let at_one = sigmoid(sigmoid(1.0));
    assert_eq!(
        judge(SEED, &format!("f(2) = {at_two:.9}"), at).verdict,
        Verdict::Correct
    );
    assert_eq!(
        judge(SEED, &format!("f(x) = {at_one:.9}"), at).verdict,
        Verdict::Correct
    );
    for (claim, message, caret) in [
        (
            "f(2, 3) = 0",
            "`f` takes 1 argument, one per input (x)",
            "  ^^^^",
        ),
        ("f(x+1) = 0.71", "an argument of `f` is a number", "  ^^^"),
        ("f(q) = 0.71", "unknown name `q`", "  ^ "),
    ] {
        let out = chainrule(&["check", "--claim", claim, "--at", at], None);
        assert_eq!(out.status.code(), Some(2), "{claim}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{claim}: {stderr}");
        assert!(stderr.contains(&format!("| {caret}")), "{claim}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    // Without `--at` too: the unknown name is reported, not ignored.
    let out = chainrule(&["check", "--claim", "f(q) = 0.71"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown name `q`"));
}

/// The derivative evaluated at the wrong argument: σ′(a) for σ′(z) (the activation applied
/// twice) and tanh′ at the output value; the correction takes the pre-activation.
#[test]
fn a_derivative_at_the_wrong_argument_is_named() {
    for (source, claim, lhs) in [
        (SEED, "dC/dw3 = 2(a3 - y) sigmoid'(a3) a2", "dC/dw3"),
        (TANH, "dC/dw = -2(y - a) tanh'(a) x", "dC/dw"),
    ] {
        let c = judge(source, claim, "");
        assert_eq!(c.verdict, Verdict::Incorrect, "{claim}");
        assert_eq!(
            c.mistake().map(|m| m.code()),
            Some("wrong-argument"),
            "{claim}: {c:?}"
        );
        corrected_is_right(source, claim, lhs);
    }
}

/// The kind of mistake a judgement names, as the JSON report gives it.
fn json_kind(c: &Checked) -> String {
    let report: serde_json::Value = serde_json::from_str(&as_json(c)).unwrap();
    report["claims"][0]["mistake"]["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("no mistake kind in {report}"))
        .to_string()
}

/// One relu unit and an L1 penalty on its weight: relu and abs are routing gates.
const RELU_L1: &str = "input x, lambda
target y
param w, b
z = w*x + b
a = relu(z)
cost C = 0.5*(a - y)^2 + lambda*abs(w)
";

/// CS231n's rule for a max gate (relu = max(0, z)): the whole gradient goes to one side. A
/// number that passes it through a closed gate, a formula that splits it in half, and an L1
/// gradient that ignores the sign are each a routing-gate mistake.
#[test]
fn a_gradient_routed_wrongly_at_relu_or_abs_is_a_routing_gate_mistake() {
    // z = −1·2 + 0.5 < 0: relu is closed, so dC/dw is the L1 term's λ·sign(w) alone.
    let at = "x=2,y=1,w=-1,b=0.5,lambda=0.1";
    let c = judge(RELU_L1, "dC/dw = -2.1", at);
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    assert_eq!(json_kind(&c), "routing-gate");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("relu routes the gradient"), "{d}");
    assert!(d.contains("passes it through everywhere"), "{d}");
    let c = judge(RELU_L1, "dC/dw = -0.1", at);
    assert_eq!(c.verdict, Verdict::Correct, "{c:?}");

    // Half the gradient to z, as if split between relu's sides.
    let claim = "dC/dw = 0.5 (a - y) x + lambda w/abs(w)";
    let c = judge(RELU_L1, claim, "");
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    assert_eq!(json_kind(&c), "routing-gate");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("passes half of it"), "{d}");
    right(RELU_L1, "dC/dw = (a - y) relu'(z) x + lambda w/abs(w)");

    // L1's gradient without the sign: |w| treated as w.
    let claim = "dC/dw = (a - y) relu'(z) x + lambda";
    let c = judge(RELU_L1, claim, "");
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    assert_eq!(json_kind(&c), "routing-gate");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("abs routes the gradient by sign"), "{d}");
    assert!(d.contains("ignores the sign"), "{d}");
}

/// micrograd's `b = a + a`: with `self.grad = …` for `+=`, the second use overwrites the
/// first and db/da comes out 1. A fork inside one definition is a fork all the same.
#[test]
fn a_use_overwritten_inside_one_definition_is_an_overwrite_at_a_fork() {
    let source = "input a\ncost b = a + a\n";
    let c = judge(source, "db/da = 1", "");
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    assert_eq!(json_kind(&c), "overwritten-at-fork");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(
        d.contains("Only one use of `a` is counted: the definition of `b` uses it 2 times"),
        "{d}"
    );
    assert!(d.contains("+="), "{d}");
    right(source, "db/da = 2");
    // The same for a number at a point, and inside a larger formula (a feeds b twice, and
    // b feeds the cost): one use counted is half of ∂b/∂a's contribution.
    let c = judge(source, "db/da = 1", "a=3");
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    assert_eq!(json_kind(&c), "overwritten-at-fork");
    let c = judge(source, "db/da = 2", "a=3");
    assert_eq!(c.verdict, Verdict::Correct, "{c:?}");
    let source = "input x\nparam w\na = w*x\nb = a*sigmoid(a)\ncost C = b^2\n";
    let c = judge(source, "dC/dw = 2 b sigmoid(a) x", "");
    assert_eq!(json_kind(&c), "overwritten-at-fork");
    right(
        source,
        "dC/dw = 2 b (sigmoid(a) + a sigmoid(a)(1 - sigmoid(a))) x",
    );
}

/// A softmax layer with cross-entropy; `e1`, `e2` are helpers the cost does not use.
const SOFTMAX: &str = "input z1, z2, z3
target y1, y2, y3
e1 = exp(z1)
e2 = exp(z2)
s = exp(z1) + exp(z2) + exp(z3)
p1 = exp(z1)/s
p2 = exp(z2)/s
p3 = exp(z3)/s
cost C = -(y1*log(p1) + y2*log(p2) + y3*log(p3))
";

/// Index slips in a softmax gradient, ∂C/∂z_i = Σ_k y_k (p_i − δ_ik): `p_k y_k` for
/// `p_i y_k` in one term, an input `z_j` for the output `p_j`, and a helper the cost does not
/// use written with the wrong index.
#[test]
fn an_index_slip_in_a_softmax_gradient_is_named() {
    let claim = "dC/dz1 = y1 (p1 - 1) + y2 p2 + y3 p1";
    let c = judge(SOFTMAX, claim, "");
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    assert_eq!(json_kind(&c), "index-slip");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("`p2` should be `p1`"), "{d}");
    assert!(d.contains("an index slip"), "{d}");
    corrected_is_right(SOFTMAX, claim, "dC/dz1");

    // ∂p1/∂z2 = −p1 p2, with the input z2 written for the output p2.
    let claim = "dp1/dz2 = -p1 z2";
    let c = judge(SOFTMAX, claim, "");
    assert_eq!(json_kind(&c), "index-slip");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("`z2` should be `p2`"), "{d}");
    corrected_is_right(SOFTMAX, claim, "dp1/dz2");

    // e1 is used by nothing the claim or the cost touches: found all the same.
    let claim = "dC/dz1 = (y1 + y2 + y3) e2/s - y1";
    let c = judge(SOFTMAX, claim, "");
    assert_eq!(json_kind(&c), "index-slip");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("`e2` should be `e1`"), "{d}");
    corrected_is_right(SOFTMAX, claim, "dC/dz1");
}

/// A correction is printed as `derive` simplifies it and agrees with the diagnosis: where the
/// diagnosis says σ′ must go, the correction has no σ′ and no uncancelled fraction; where it
/// names the regulariser's factor, the correction has λw/n, not 2λw/(2n).
#[test]
fn corrections_are_simplified_and_agree_with_their_diagnosis() {
    let d = wrong(CROSS_ENTROPY, "dC/db = (a - y) sigmoid'(z)", "");
    assert!(d.contains("must go"), "{d}");
    let c = judge(CROSS_ENTROPY, "dC/db = (a - y) sigmoid'(z)", "");
    assert_eq!(corrected(&c), "a - y", "{c:?}");
    let c = judge(CROSS_ENTROPY, "dC/dw = (a - y) x + lambda/(2n) w", "");
    let plain = corrected(&c);
    assert!(!plain.contains("2*n") && !plain.contains("(2"), "{plain}");
    corrected_is_right(CROSS_ENTROPY, "dC/dw = (a - y) x + lambda/(2n) w", "dC/dw");
    corrected_is_right(CROSS_ENTROPY, "dC/db = (a - y) sigmoid'(z)", "dC/db");
}

/// Mazur's warning: the hidden layer's gradients use the original weights, not the output
/// layer's updated ones. A number for w1⁺ computed with w5⁺ and w7⁺ (or w5⁺ alone) in the
/// backward pass, the forward values unchanged, names the weights used too early; w1⁺ with
/// the original weights (Mazur's 0.149780716) is right.
#[test]
fn an_update_whose_gradient_uses_weights_already_updated_is_named() {
    let at = "i1=0.05,i2=0.10,t1=0.01,t2=0.99,w1=0.15,w2=0.20,w3=0.25,w4=0.30,\
              w5=0.40,w6=0.45,w7=0.50,w8=0.55,b1=0.35,b2=0.60,eta=0.5";
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let (i1, i2, t1, t2) = (0.05, 0.10, 0.01, 0.99);
    let (w1, w2, w3, w4, w5, w6, w7, w8, b1, b2) =
        (0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, 0.35, 0.60);
    let eta = 0.5;
    let (h1, h2) = (
        sigmoid(w1 * i1 + w2 * i2 + b1),
        sigmoid(w3 * i1 + w4 * i2 + b1),
    );
    let (o1, o2) = (
        sigmoid(w5 * h1 + w6 * h2 + b2),
        sigmoid(w7 * h1 + w8 * h2 + b2),
    );
    let (d1, d2) = ((o1 - t1) * o1 * (1.0 - o1), (o2 - t2) * o2 * (1.0 - o2));
    let (w5_new, w7_new) = (w5 - eta * d1 * h1, w7 - eta * d2 * h1);
    let w1_new = |w5: f64, w7: f64| w1 - eta * (d1 * w5 + d2 * w7) * h1 * (1.0 - h1) * i1;
    right_at(MAZUR, &format!("w1' = {:.9}", w1_new(w5, w7)), at);
    for (claimed, moved) in [
        (w1_new(w5_new, w7_new), vec!["w5", "w7"]),
        (w1_new(w5_new, w7), vec!["w5"]),
    ] {
        let c = judge(MAZUR, &format!("w1' = {claimed:.9}"), at);
        assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
        let report: serde_json::Value = serde_json::from_str(&as_json(&c)).unwrap();
        let mistake = &report["claims"][0]["mistake"];
        assert_eq!(mistake["kind"], "updated-values-used", "{mistake}");
        assert_eq!(mistake["moved"], serde_json::json!(moved), "{mistake}");
        let d = chainrule::render::check::diagnosis(&c).unwrap();
        assert!(d.contains("already at"), "{d}");
        assert!(d.contains("before updating any parameter"), "{d}");
    }
}

fn right_at(source: &str, claim: &str, at: &str) {
    let c = judge(source, claim, at);
    assert_eq!(c.verdict, Verdict::Correct, "{claim}: {c:?}");
}

/// The usual softmax homework: a 2-3-2 network with a softmax output and the log-likelihood
/// cost, whose targets the shorthand declares one-hot.
const SOFTMAX_232: &str = "network 2-3-2\nactivation 3 softmax\ncost log-likelihood\n";

#[test]
fn softmax_log_likelihood_claims_are_judged_at_one_hot_targets_and_named() {
    // σ' kept: the quadratic cost's δ written for the log-likelihood cost.
    let c = judge(SOFTMAX_232, "delta3_1 = (a3_1 - y1) a3_1 (1 - a3_1)", "");
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    let point: std::collections::HashMap<&str, f64> = c
        .counterexample
        .iter()
        .flatten()
        .map(|(n, v)| (n.as_str(), *v))
        .collect();
    assert_eq!(point["y1"] + point["y2"], 1.0, "{point:?}");
    assert!(point["y1"] == 0.0 || point["y1"] == 1.0, "{point:?}");
    assert_eq!(c.mistake().unwrap().code(), "sigma-prime-kept", "{c:?}");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("log-likelihood cost cancels it"), "{d}");
    // The correction uses Σy = 1, as `derive` does.
    assert_eq!(corrected(&c), "a3_1 - y1");

    // The index slip: a2_1 for a2_2.
    let d = wrong(SOFTMAX_232, "dC/dw3_1_2 = (a3_1 - y1) a2_1", "");
    assert!(d.contains("`a2_1` should be `a2_2`"), "{d}");
    assert!(d.contains("index slip"), "{d}");
    let c = judge(SOFTMAX_232, "dC/dw3_1_2 = (a3_1 - y1) a2_1", "");
    assert_eq!(corrected(&c), "(a3_1 - y1)*a2_2");

    // What `derive` prints holds at every one-hot point, and the method says so.
    let c = right(SOFTMAX_232, "delta3_1 = a3_1 - y1");
    assert!(
        matches!(c.method, Method::Numeric { one_hot: true, .. }),
        "{:?}",
        c.method
    );
    right(SOFTMAX_232, "dC/dw3_1_2 = (a3_1 - y1) a2_2");
}

#[test]
fn a_counterexample_completes_the_given_one_hot_targets() {
    // y1 = 0 given, y2 left out: the point shown makes y2 the hot class.
    let c = judge(
        SOFTMAX_232,
        "delta3_2 = (a3_2 - y2) a3_2 (1 - a3_2)",
        "x1=0.3,x2=-0.2,y1=0",
    );
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    let point: std::collections::HashMap<&str, f64> = c
        .counterexample
        .iter()
        .flatten()
        .map(|(n, v)| (n.as_str(), *v))
        .collect();
    assert_eq!((point["y1"], point["y2"]), (0.0, 1.0), "{point:?}");
    assert_eq!(point["x1"], 0.3, "{point:?}");
}

#[test]
fn a_number_for_an_update_rule_is_read_as_the_rule_slips_are() {
    // Mazur's point, η = 0.5: ∂E/∂w5 = 0.082167041, so w5 + η·∂E/∂w5 = 0.44108352 (ascent),
    // w5 − ∂E/∂w5 = 0.31783296 (no learning rate) and −η·∂E/∂w5 = −0.04108352 (the change).
    let at = "i1=0.05,i2=0.10,t1=0.01,t2=0.99,w1=0.15,w2=0.20,w3=0.25,w4=0.30,b1=0.35,\
              w5=0.40,w6=0.45,w7=0.50,w8=0.55,b2=0.60,eta=0.5";
    let kind = |claim: &str| {
        let c = judge(MAZUR, claim, at);
        assert_eq!(c.verdict, Verdict::Incorrect, "{claim}: {c:?}");
        c.mistake().map(|m| m.code()).unwrap_or("none")
    };
    assert_eq!(kind("w5' = 0.4410835"), "ascent");
    assert_eq!(kind("w5' = 0.317833"), "missing-learning-rate");
    assert_eq!(kind("w5' = -0.0410835"), "change-for-new-value");
    // As the formula form of the same claim is.
    assert_eq!(kind("w5' = w5 + eta*dEtotal/dw5"), "ascent");
    let c = judge(MAZUR, "w5' = 0.4410835", at);
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("Gradient ascent written for descent"), "{d}");
    assert!(d.contains("raises the cost"), "{d}");
}

/// A sigmoid saturated by a factor 50 with the cross-entropy cost (issue 22's reproducer).
const SATURATED_50: &str = "input x; target y; param w, b; z = 50*(w*x + b); a = sigmoid(z); cost C = -(y*log(a) + (1 - y)*log(1 - a))";
const SATURATED: &str = "input x; target y; param w, b; z = w*x + b; a = sigmoid(z); cost C = -(y*log(a) + (1 - y)*log(1 - a))";

#[test]
fn a_true_identity_where_both_sides_saturate_is_judged_through_the_reference() {
    // At x = −0.177, w = −1.852, b = 1.308, z = 81.79 and 1 − a ≈ 2.7e−36: 128 bits lose the
    // difference, float64 gives −5.68797 for the claim. Both sides are −5.686881850499687.
    let claim = "dC/dw = 50*((1 - y)/(1 - a) - y/a)*exp(-z)/(1 + exp(-z))^2*x";
    let c = judge(SATURATED_50, claim, "");
    assert_eq!(c.verdict, Verdict::Correct, "{c:?}");
    let at = "x=-0.177,y=0.3574144801695269,w=-1.852,b=1.308";
    assert_eq!(judge(SATURATED_50, claim, at).verdict, Verdict::Correct);
    // The true value there, by hand: 50(a − y)x with a = σ(81.79) = 1 − 2.7e−36.
    let value = judge(SATURATED_50, "dC/dw = -5.686881850499687", at);
    assert_eq!(value.verdict, Verdict::Correct, "{value:?}");
    // At x = 80 (z = 81, 1 − a ≈ 6.6e−36) float64 said 40.0065 against 40 = (a − y)x.
    let c = judge(
        SATURATED,
        "dC/dw = ((1 - y)/(1 - a) - y/a)*exp(-z)/(1 + exp(-z))^2*x",
        "x=80,w=1,b=1,y=0.5",
    );
    assert_eq!(c.verdict, Verdict::Correct, "{c:?}");
    // A wrong claim at the same saturated point is still wrong.
    let c = judge(
        SATURATED,
        "dC/dw = ((1 - y)/(1 - a) + y/a)*exp(-z)/(1 + exp(-z))^2*x",
        "x=80,w=1,b=1,y=0.5",
    );
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
}

#[test]
fn claims_whose_sides_underflow_or_overflow_in_float64_are_told_apart() {
    // C = x·exp(−625000(1 + w²)): every gradient is below 1e−271430, 0 in float64. The
    // truth at x = 1.704, w = −0.25 is 1250000·0.25·1.704·exp(−664062.5) =
    // 1.114116827827197e−288393 (by 40-digit decimal arithmetic).
    let tiny = "input x\nparam w\ncost C = x*exp(-625000*(1 + w^2))\n";
    let exp = "exp(-625000*(1 + w^2))";
    assert_eq!(
        judge(tiny, &format!("dC/dw = -1250000*w*x*{exp}"), "").verdict,
        Verdict::Correct
    );
    for wrong_claim in [
        format!("dC/dw = -1250001*w*x*{exp}"),
        format!("dC/dw = -2500000*w*x*{exp}"),
        format!("dC/dw = 1250000*w*x*{exp}"),
        "dC/dw = 0".to_string(),
    ] {
        let c = judge(tiny, &wrong_claim, "");
        assert_eq!(c.verdict, Verdict::Incorrect, "{wrong_claim}: {c:?}");
    }
    let c = judge(
        tiny,
        &format!("dC/dw = -2500000*w*x*{exp}"),
        "x=1.704,w=-0.25",
    );
    assert_eq!(
        c.method,
        Method::CounterexampleBeyondFloat64 {
            claimed: "2.22823e-288393".into(),
            truth: "1.11412e-288393".into()
        }
    );
    // Beyond float64's range upward: exp(1000(1 + w²)) > 1e434.
    let huge = "input x\nparam w\ncost C = x*exp(1000*(1 + w^2))\n";
    let exp = "exp(1000*(1 + w^2))";
    let right_claim = judge(huge, &format!("dC/dw = 2000*w*x*{exp}"), "");
    assert_eq!(right_claim.verdict, Verdict::Correct, "{right_claim:?}");
    let wrong_claim = judge(huge, &format!("dC/dw = 2001*w*x*{exp}"), "");
    assert_eq!(wrong_claim.verdict, Verdict::Incorrect, "{wrong_claim:?}");
    // Where not even the reference holds the values (exp of 2e9), the answer is unknown.
    let beyond = "input x\nparam w\ncost C = x*exp(1e9*(2 + w^2))\n";
    let c = judge(beyond, "dC/dw = 3e9*w*x*exp(1e9*(2 + w^2))", "");
    assert_eq!(c.verdict, Verdict::Unknown, "{c:?}");
}

#[test]
fn claims_about_a_function_of_a_value_below_every_magnitude_are_judged_by_its_sign() {
    // z = e^(−1e9(1 + x²)) is 0 to within its bound at every point, but positive: h = relu'(z)
    // is 1, so dC/dw = 1 is right and dC/dw = 0 wrong (a bound taken for z had it backwards).
    let program = "input x\nparam w\nz = exp(-1000000000*(1 + x^2))\nh = relu'(z)\ncost C = w*h\n";
    assert_eq!(judge(program, "dC/dw = 1", "").verdict, Verdict::Correct);
    assert_eq!(judge(program, "dC/dw = 0", "").verdict, Verdict::Incorrect);
}

/// Found by fuzzing: `2 a2 a3^2 - 2 a2 a3^2` is 0 at every point, and the reference could
/// only bound it around 0, climbing to its ceiling at 96 points for an `unknown`. It is judged
/// as the claim `0` is, the same point, values, diagnosis and correction.
#[test]
fn a_claimed_side_that_cancels_to_zero_is_judged_as_zero() {
    let judged = |claim: &str| -> serde_json::Value {
        let out = chainrule(&["check", "--claim", claim, "--format", "json"], None);
        assert_eq!(out.status.code(), Some(1), "{claim}");
        let mut doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["claims"][0].take()
    };
    let mut cancelled = judged("dC/dw3 = 2 a2 a3^2 - 2 a2 a3^2");
    assert_eq!(cancelled["verdict"], "incorrect");
    assert_eq!(cancelled["method"], "counterexample");
    assert_eq!(cancelled["mistake"], serde_json::Value::Null);
    assert_eq!(cancelled["claimed_value"], 0.0);
    assert!(cancelled["true_value"].as_f64().unwrap() > 0.0);
    let mut zero = judged("dC/dw3 = 0");
    cancelled["claim"].take();
    zero["claim"].take();
    assert_eq!(cancelled, zero);
}

//! `eval`: numbers at given values, float64 next to the high-precision reference, and the
//! warnings that say where float64 loses the answer (and only there).

mod common;

use assert_cmd::Command;
use chainrule::{EvalRequest, Target, TargetSpec};
use common::{load, program};
use proptest::prelude::*;

const SEED_QUESTION: &str =
    "input a1\ntarget y\nparam w2\nz2 = w2*a1\na2 = sigmoid(z2)\ncost C = (a2 - y)^2\n";

fn eval_json(args: &[&str], stdin: Option<&str>) -> serde_json::Value {
    let mut all = vec!["eval"];
    all.extend_from_slice(args);
    all.extend(["--format", "json"]);
    serde_json::from_str(&common::stdout_of(&all, stdin.unwrap_or(""))).unwrap()
}

#[test]
fn the_seed_question_gradient_is_zero_in_float64_and_the_warning_says_why() {
    let doc = eval_json(
        &["-", "--at", "a1=62.5,w2=0.8,y=0", "--wrt", "w2", "--stable"],
        Some(SEED_QUESTION),
    );
    assert_eq!(doc["derivatives"]["dC/dw2"].as_f64(), Some(0.0));
    assert_eq!(
        doc["reference"]["dC/dw2"].as_str(),
        Some("2.4109373099548972e-20")
    );
    let stable = doc["stable"]["dC/dw2"].as_f64().unwrap();
    assert!(
        (stable - 2.410_937_309_954_897e-20).abs() < 1e-33,
        "{stable}"
    );
    let warnings = doc["warnings"].as_array().unwrap();
    let saturation = warnings
        .iter()
        .find(|w| w["kind"] == "saturation")
        .expect("a saturation warning");
    assert_eq!(saturation["at"], "a2");
    let message = saturation["message"].as_str().unwrap();
    assert!(message.contains("σ(50) rounds to exactly 1"), "{message}");
    assert!(message.contains("1 − a2 cancels to 0"), "{message}");
    assert!(message.contains("σ'(z) = σ(z)·σ(−z)"), "{message}");
    assert!(doc["rewrites_used"][0].as_str().unwrap().contains("σ(−z)"));
}

#[test]
fn cs231n_neuron_gives_the_course_numbers_without_warnings() {
    let doc = eval_json(
        &[
            "examples/cs231n_neuron.bp",
            "--at",
            "w0=2,w1=-3,w2=-3,x0=-1,x1=-2",
            "--wrt",
            "x0,x1,w0,w1,w2",
        ],
        None,
    );
    let d = |k: &str| doc["derivatives"][k].as_f64().unwrap();
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    assert_eq!(round2(doc["values"]["f"].as_f64().unwrap()), 0.73);
    assert_eq!([round2(d("dC/dx0")), round2(d("dC/dx1"))], [0.39, -0.59]);
    assert_eq!(
        [
            round2(d("dC/dw0")),
            round2(d("dC/dw1")),
            round2(d("dC/dw2"))
        ],
        [-0.20, -0.39, 0.20]
    );
    assert_eq!(
        doc["warnings"].as_array().unwrap().len(),
        0,
        "{}",
        doc["warnings"]
    );
}

#[test]
fn mazur_total_error_matches_his_figure() {
    let doc = eval_json(
        &[
            "examples/mazur_2_2_2.bp",
            "--at",
            "i1=0.05,i2=0.10,t1=0.01,t2=0.99,w1=0.15,w2=0.20,w3=0.25,w4=0.30,w5=0.40,w6=0.45,w7=0.50,w8=0.55,b1=0.35,b2=0.60",
        ],
        None,
    );
    let cost = doc["cost"].as_f64().unwrap();
    assert!((cost - 0.298371109).abs() < 5e-10, "{cost}");
    assert!(doc["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn an_expression_is_evaluated_with_derivatives_inside() {
    let doc = eval_json(
        &[
            "--at",
            "x=0.5,y=1,w2=0.1,b2=0,w3=0.2,b3=0",
            "--expr",
            "dC/dw3 / dC/db3",
        ],
        None,
    );
    // ∂C/∂w3 = ∂C/∂b3 · a2, so the ratio is a2 = σ(0.05).
    let ratio = doc["derivatives"]["dC/dw3 / dC/db3"].as_f64().unwrap();
    assert!(
        (ratio - 1.0 / (1.0 + (-0.05f64).exp())).abs() < 1e-15,
        "{ratio}"
    );
}

/// A seed CI does not use once ran a property test 13 minutes: the reference's sine and cosine
/// took a tiny argument's smallness for bits lost to the reduction by π/2 and computed π to a
/// million bits (this command hung). Now the answer comes at once: cos is 1, and sin is the
/// argument, which float64 flushes to 0 and the warning says so.
#[test]
fn sine_and_cosine_of_a_tiny_argument_are_answered_with_the_underflow_named() {
    let doc = eval_json(
        &[
            "-",
            "--at",
            "x=1",
            "--expr",
            "sin(x*0.5^1000000)",
            "--expr",
            "cos(0.5^1000000)",
        ],
        Some("input x\ncost C = x\n"),
    );
    // 2^-1000000 = 10^-301029.9957 = 1.0100340591980302e-301030
    let tiny = "1.0100340591980302e-301030";
    assert_eq!(doc["reference"]["sin(x*0.5^1000000)"], tiny);
    assert_eq!(doc["reference"]["cos(0.5^1000000)"], "1");
    assert_eq!(doc["derivatives"]["sin(x*0.5^1000000)"], 0.0);
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["kind"], "underflow");
    assert_eq!(warnings[0]["at"], "sin(x*0.5^1000000)");
    assert_eq!(warnings[0]["reference"], tiny);
}

#[test]
fn overflow_and_domain_errors_are_named() {
    let doc = eval_json(
        &["-", "--at", "x=1000"],
        Some("input x\ncost C = exp(x)/exp(x)\n"),
    );
    let kinds: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"overflow") || kinds.contains(&"not-a-number"),
        "{kinds:?}"
    );
    let doc = eval_json(&["-", "--at", "x=-1"], Some("input x\ncost C = log(x)\n"));
    assert_eq!(doc["warnings"][0]["kind"], "log-domain");
}

#[test]
fn gradient_check_flags_a_saturated_neuron_as_unreliable() {
    let mut cmd = Command::cargo_bin("chainrule").unwrap();
    let out = cmd
        .args([
            "eval",
            "-",
            "--at",
            "a1=62.5,w2=0.8,y=0",
            "--wrt",
            "w2",
            "--check-grad",
        ])
        .write_stdin(SEED_QUESTION)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("is saturated"), "{text}");
}

#[test]
fn bad_values_are_errors_with_a_caret() {
    let out = Command::cargo_bin("chainrule")
        .unwrap()
        .args(["eval", "--at", "w33=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown name `w33`") && err.contains("did you mean `w3`?"),
        "{err}"
    );
    let out = Command::cargo_bin("chainrule")
        .unwrap()
        .args(["eval", "--at", "w3=abc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`abc` is not a number"));
    let out = Command::cargo_bin("chainrule")
        .unwrap()
        .args(["eval", "--at", "w3=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no value given for"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// No wolf-crying and no silence: where no warning is raised, float64 agrees with the
    /// reference; every warning points at a value float64 really got wrong.
    #[test]
    fn warnings_are_raised_exactly_where_float64_disagrees(
        source in program(),
        values in proptest::collection::vec(-30.0f64..30.0, 6),
    ) {
        let mut model = load(&source);
        let leaves: Vec<_> = model.syms().filter(|&s| model.symbol(s).kind.is_leaf()).collect();
        let text: Vec<String> = leaves.iter().enumerate().map(|(i, &s)| format!("{}={:?}", model.name(s), values[i % values.len()])).collect();
        let given = chainrule::values(&model, &text.join(",")).unwrap();
        let targets: Vec<Target> = chainrule::targets(&model, &TargetSpec::AllParams).unwrap();
        let report = chainrule::evaluate(&mut model, &given, &EvalRequest { targets, ..EvalRequest::default() }).unwrap();
        let quantities: Vec<_> = report.values.iter().chain(&report.derivatives).collect();
        for q in &quantities {
            let reference = q.reference.to_f64();
            if !report.warnings.is_empty() || !reference.is_finite() {
                continue;
            }
            let scale = reference.abs().max(1e-300);
            prop_assert!(
                (q.f64 - reference).abs() <= 1e-12 * scale || q.error_bits <= 12.0,
                "{source}\n{} = {} but the reference is {} and no warning was raised", q.label, q.f64, reference
            );
        }
        for w in &report.warnings {
            if w.kind == chainrule::WarningKind::VanishingGradient {
                continue;
            }
            // The node the warning names really is wrong in float64: compared here with the
            // reference it carries, not with the measure that raised it. A warning means more
            // than 12 bits lost, that is more than 2^12 ulps, and an ulp is at least 2^-53 of
            // the value: a relative error above 2^-41 (less half an ulp for the rounded
            // reference).
            let reference: f64 = w.reference.parse().unwrap_or(f64::NAN);
            let beyond_float64 = w.reference == "undefined"
                || w.reference == "out of range"
                || !reference.is_finite()
                || (reference == 0.0 && w.reference != "0e0");
            let wrong = beyond_float64
                || !w.float64.is_finite()
                || (w.float64 - reference).abs() > 0.999 * 2f64.powi(-41) * reference.abs();
            prop_assert!(wrong, "{source}\nwarning without a wrong value: {w:?}");
        }
    }
}

#[test]
fn a_tiny_but_correct_gradient_gets_a_vanishing_gradient_note_and_nothing_else() {
    let doc = eval_json(
        &["-", "--at", "x=1,w=-25,y=1", "--wrt", "w"],
        Some("input x\ntarget y\nparam w\na = sigmoid(w*x)\ncost C = (y - a)^2\n"),
    );
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["kind"], "vanishing-gradient");
    assert_eq!(warnings[0]["at"], "dC/dw");
}

#[test]
fn division_by_zero_is_named() {
    let doc = eval_json(&["-", "--at", "x=0"], Some("input x\ncost C = 1/x\n"));
    assert_eq!(doc["warnings"][0]["kind"], "division-by-zero");
    assert_eq!(doc["reference"]["C"], "undefined");
}

/// Regression: a name off the cost's path whose input has no value used to crash the
/// forward pass; now it simply has no value, and a formula that needs it says so.
#[test]
fn a_name_off_the_cost_path_without_a_value_is_not_a_crash() {
    let program = "input x, u\nparam w\nh = u*2\ncost C = (w*x)^2\n";
    let doc = eval_json(&["-", "--at", "x=1,w=2", "--all"], Some(program));
    assert_eq!(doc["derivatives"]["dC/dw"].as_f64(), Some(4.0));
    let out = Command::cargo_bin("chainrule")
        .unwrap()
        .args(["eval", "-", "--at", "x=1,w=2", "--expr", "h + 1"])
        .write_stdin(program)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a value for `h`"));
}

/// Markdown and LaTeX carry what text does (values, cost, derivatives with their error, the
/// gradient check, the warning), under a heading, with names as math and numbers as the one
/// number formatter sets them: never a name as code.
#[test]
fn markdown_and_latex_reports_carry_the_numbers_and_the_warning() {
    for (format, expected) in [
        (
            "markdown",
            &[
                "# Values of &lt;stdin&gt;\n",
                "| $\\frac{\\partial C}{\\partial w_{2}}$ | $0$ | $2.4109373099548972 \\times 10^{-20}$ | 62 bits |",
                "Cost: $C = 1$",
                "| $\\frac{\\partial C}{\\partial w_{2}}$ | $0$ | $0$ | $0$ | fine |",
                "> **saturation** at $a_{2}$: $a_{2} = \\sigma(z_{2}) = \\sigma(50)$ rounds to exactly $1$",
            ][..],
        ),
        (
            "latex",
            &[
                "$\\frac{\\partial C}{\\partial w_{2}}$ & $0$ & $2.4109373099548972 \\times 10^{-20}$ & 62 bits \\\\",
                "Cost: $C = 1$.",
                "\\paragraph{Gradient check}",
                "\\paragraph{saturation at $a_{2}$} $a_{2} = \\sigma(z_{2}) = \\sigma(50)$ rounds to exactly $1$",
            ][..],
        ),
    ] {
        let text = eval_output(
            SEED_QUESTION,
            &["--at", "a1=62.5,w2=0.8,y=0", "--wrt", "w2", "--check-grad"],
            format,
        );
        for line in expected {
            assert!(text.contains(line), "{format}: no {line:?} in\n{text}");
        }
        assert!(!text.contains('`'), "{format}: a name as code:\n{text}");
    }
}

/// 1 − tanh(z)^2 at z = −205 is about 2e−178: beyond 512 bits of working precision, so the
/// reference must raise its precision to see that float64's 0 is wrong.
#[test]
fn a_deeply_saturated_tanh_is_found_even_where_fixed_precision_would_miss_it() {
    let doc = eval_json(
        &["-", "--at", "p=-10.25,y=20", "--wrt", "p"],
        Some("param p\ntarget y\ncost C = exp(tanh(p*y))\n"),
    );
    assert_eq!(doc["derivatives"]["dC/dp"], 0.0);
    let reference: f64 = doc["reference"]["dC/dp"].as_str().unwrap().parse().unwrap();
    assert!(reference > 1e-180 && reference < 1e-170, "{reference}");
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["kind"], "saturation");
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(message.contains("rounds to exactly -1"), "{message}");
}

/// tanh'(p) loses 11 bits and squaring it one or two more: no single node loses the answer,
/// but the value ends more than 12 bits off, so it is reported where it ends.
#[test]
fn bits_lost_a_few_at_a_time_are_reported_at_the_value() {
    let doc = eval_json(
        &["-", "--at", "p=-5.838582446453664"],
        Some("param p\nh = tanh'(p)^2\ncost C = h\n"),
    );
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["kind"], "precision-loss");
    assert_eq!(warnings[0]["at"], "h");
    let float64 = doc["values"]["h"].as_f64().unwrap();
    let reference: f64 = doc["reference"]["h"].as_str().unwrap().parse().unwrap();
    assert!(
        (float64 - reference).abs() > 2f64.powi(-41) * reference,
        "{float64} {reference}"
    );
}

/// eval is laid out by its templates and its warnings worded by `warning.txt`: a template
/// directory replaces either, in every format and in JSON's `message`.
#[test]
fn template_dir_lays_out_eval_and_words_its_warnings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("eval.txt"),
        "mine: << cost.name.text >> = << cost.float64.plain >>, << warnings | length >> warning\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("warning.txt"),
        "<% if form == \"saturated\" %><< activation >> is stuck at << rounded_to >><% endif %>",
    )
    .unwrap();
    let templates = dir.path().to_str().unwrap();
    let run = |format: &str| {
        common::stdout_of(
            &[
                "eval",
                "-",
                "--at",
                "a1=62.5,w2=0.8,y=0",
                "--wrt",
                "w2",
                "--format",
                format,
                "--template-dir",
                templates,
            ],
            SEED_QUESTION,
        )
    };
    assert_eq!(run("text"), "mine: C = 1, 1 warning\n");
    let doc: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(doc["warnings"][0]["kind"], "saturation");
    assert_eq!(doc["warnings"][0]["message"], "a2 is stuck at 1");
    // The facts a user's sentence quotes are typeset where the format typesets.
    let markdown = run("markdown");
    assert!(
        markdown.contains("> **saturation** at $a_{2}$: $a_{2}$ is stuck at $1$"),
        "{markdown}"
    );
}

/// A sum whose terms cancel exactly (`h − h`, `2h − h − h`) is exactly zero in the reference,
/// not a zero of unknown sign: its square, its square root and what uses them are known, and
/// no warning is raised where float64 is right. (Found by the property test above at
/// p1 = 6.44668084792463 with `h2 = ((h1 - h1))^2`.)
#[test]
fn terms_that_cancel_exactly_are_exactly_zero_in_the_reference() {
    let doc = eval_json(
        &["-", "--at", "p1=6.44668084792463", "--all"],
        Some(
            "param p1\nh1 = sigmoid(p1)\nh2 = ((h1 - h1))^2\n\
             h3 = (2*h1 - h1 - h1)^0.5 + sqrt(h1 - h1)\ncost C = h2 + p1 + h3\n",
        ),
    );
    assert_eq!(doc["warnings"], serde_json::json!([]), "{doc}");
    assert_eq!(doc["reference"]["h2"], "0");
    assert_eq!(doc["reference"]["h3"], "0");
    assert_eq!(doc["reference"]["C"], "6.44668084792463");
}

/// A value quoted in a warning (as written, between backticks) is code in Markdown and
/// typewriter type in LaTeX, never an escaped backtick.
#[test]
fn a_value_quoted_in_a_warning_is_code_in_markdown_and_latex() {
    for (format, quoted) in [
        ("markdown", "`1e400` is beyond"),
        ("latex", "\\texttt{1e400} is beyond"),
    ] {
        let text = eval_output(
            "input x\nparam w\ncost C = w*x\n",
            &["--at", "x=1e400,w=1", "--all"],
            format,
        );
        assert!(text.contains(quoted), "{format}:\n{text}");
        assert!(!text.contains("\\`"), "{format}:\n{text}");
    }
}

/// `chainrule eval` on `source` (stdin) in `format`, its standard output.
fn eval_output(source: &str, args: &[&str], format: &str) -> String {
    let mut all = vec!["eval", "-"];
    all.extend_from_slice(args);
    all.extend(["--format", format]);
    common::stdout_of(&all, source)
}

/// The seed question's saturation warning as a terminal and JSON have always read it.
const SEED_SATURATION: &str = "a2 = σ(z2) = σ(50) rounds to exactly 1 in float64, so 1 − a2 \
    cancels to 0 (true value 1.9287e-22); the neuron is saturated; use the stable forms \
    1 − σ(z) = σ(−z), σ'(z) = σ(z)·σ(−z), log σ(z) = −softplus(−z) (--stable evaluates some), \
    or the cross-entropy cost, whose gradient cancels σ'";

/// The warning's names, numbers and formulas are typeset in LaTeX and Markdown (`a_{2}`, not
/// `a2`; `1.9287 \times 10^{-22}`, not `1.9287e-22`; `\sigma(z_{2})` as one formula, not a
/// `$\sigma$` glued to text), while the terminal and JSON read the same sentence as before.
#[test]
fn the_seed_question_warning_is_typeset_in_latex_and_markdown_and_plain_elsewhere() {
    let source = std::fs::read_to_string("examples/seed_question.bp").unwrap();
    let args = [
        "--at",
        "a1=62.5,w2=0.8,y=0",
        "--all",
        "--stable",
        "--check-grad",
    ];
    let typeset = [
        "$a_{2} = \\sigma(z_{2}) = \\sigma(50)$ rounds to exactly $1$ in float64",
        "so $1 - a_{2}$ cancels to $0$ (true value $1.9287 \\times 10^{-22}$)",
        "$\\sigma'(z) = \\sigma(z)\\,\\sigma(-z)$",
        "$\\log \\sigma(z) = -\\operatorname{softplus}(-z)$",
    ];
    for (format, heading, caveat) in [
        (
            "latex",
            "\\paragraph{saturation at $a_{2}$} ",
            "$\\sigma(50)$ is saturated",
        ),
        (
            "markdown",
            "> **saturation** at $a_{2}$: ",
            "$\\sigma(50)$ is saturated",
        ),
    ] {
        let out = eval_output(&source, &args, format);
        let warning = out
            .lines()
            .find_map(|l| l.strip_prefix(heading))
            .unwrap_or_else(|| panic!("{format}: no saturation warning in\n{out}"));
        for math in typeset {
            assert!(
                warning.contains(math),
                "{format}: `{math}` not in\n{warning}"
            );
        }
        // Nothing of the text form is left: no e-notation, no bare name, no Greek letter or
        // minus sign outside math, no half-escaped call.
        for raw in ["e-22", " a2 ", "σ", "−", "$\\sigma$("] {
            assert!(!warning.contains(raw), "{format}: `{raw}` in\n{warning}");
        }
        assert!(out.contains(caveat), "{format}:\n{out}");
        assert!(!out.contains("sigmoid(50)"), "{format}:\n{out}");
    }
    let text = eval_output(&source, &args, "text");
    assert!(
        text.contains(&format!("  saturation at a2: {SEED_SATURATION}\n")),
        "{text}"
    );
    assert!(text.contains("note: sigmoid(50) is saturated: "), "{text}");
    let doc: serde_json::Value =
        serde_json::from_str(&eval_output(&source, &args, "json")).unwrap();
    assert_eq!(doc["warnings"][0]["message"], SEED_SATURATION);
    assert!(
        doc["gradient_check"]["dC/dw2"]["caveat"]
            .as_str()
            .unwrap()
            .starts_with("sigmoid(50) is saturated: ")
    );
    assert!(!doc.to_string().contains('\u{E000}'), "{doc}");
}

/// Every warning's sentence, whatever its form: in LaTeX no number in e-notation and no
/// mathematical character outside `$…$`; in a terminal and JSON no private marker, and the
/// terminal's sentence is JSON's `message`.
#[test]
fn every_form_of_warning_typesets_its_formulas_and_numbers() {
    let cases = [
        ("1 - sigmoid(x)", "50"),
        ("1 - sigmoid(x)", "1000"),
        ("sigmoid'(x)", "40"),
        ("tanh'(x)", "20"),
        ("1 - tanh(x)^2", "-20"),
        ("softplus(x)", "800"),
        ("softplus(x)", "-40"),
        ("(exp(x) - 1)/x", "1e-10"),
        ("exp(x)", "-740"),
        ("log(x)", "-1"),
        ("sqrt(x)", "-4"),
        ("x^0.5", "-2"),
        ("w*x", "1e400"),
        ("1/x", "0"),
    ];
    for (cost, x) in cases {
        let source = format!("input x\nparam w\ncost C = {cost}\n");
        let at = format!("x={x},w=1");
        let args = ["--at", at.as_str(), "--all"];
        let doc: serde_json::Value =
            serde_json::from_str(&eval_output(&source, &args, "json")).unwrap();
        let messages: Vec<&str> = doc["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["message"].as_str().unwrap())
            .collect();
        assert!(!messages.is_empty(), "{cost} at {x}: no warning");
        let text = eval_output(&source, &args, "text");
        for m in &messages {
            assert!(!m.contains(['\u{E000}', '\u{E001}', '\u{E002}']), "{m}");
            assert!(text.contains(m), "{cost} at {x}: `{m}` not in\n{text}");
        }
        let latex = eval_output(&source, &args, "latex");
        let warnings: Vec<&str> = latex
            .lines()
            .filter(|l| l.starts_with("\\paragraph{") && !l.contains("Values"))
            .filter(|l| !l.contains("Derivatives") && !l.contains("Gradient"))
            .collect();
        assert_eq!(warnings.len(), messages.len(), "{latex}");
        for w in warnings {
            // Outside math (odd pieces between `$`) only words: no number in e-notation and
            // no character that would need math.
            for (i, words) in w.split('$').enumerate().filter(|(i, _)| i % 2 == 0) {
                assert!(!has_e_notation(words), "{cost} at {x}: e-notation in `{w}`");
                assert!(
                    !words.contains(['σ', '−', '·', '∞', '\u{E000}']),
                    "{cost} at {x}: piece {i} of `{w}`"
                );
            }
        }
    }
}

/// Whether `words` holds a number in e-notation (`1.9e-22`, `2e308`) outside typewriter type
/// (where a value quoted as written stays as written).
fn has_e_notation(words: &str) -> bool {
    let mut plain = String::new();
    let mut rest = words;
    while let Some((before, code)) = rest.split_once("\\texttt{") {
        plain.push_str(before);
        rest = code.split_once('}').map_or("", |(_, after)| after);
    }
    plain.push_str(rest);
    let chars: Vec<char> = plain.chars().collect();
    chars
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == 'e' && (w[2].is_ascii_digit() || w[2] == '-'))
}

#[test]
fn stable_forms_reach_into_named_error_terms() {
    // A saturated output neuron of a 2-2-1 network: δ3_1 = −2(y1 − a3_1)·a3_1(1 − a3_1) is a
    // named term, and every gradient is written in it. In float64 1 − a3_1 is 0, so every
    // gradient is 0; through the stable forms (1 − σ(z) = σ(−z)) they keep their values.
    let at = "x1=0.5,x2=-0.3,y1=0,w2_1_1=0.1,w2_1_2=-0.2,b2_1=0.05,w2_2_1=0.4,w2_2_2=0.3,\
              b2_2=-0.1,w3_1_1=0.7,w3_1_2=-0.5,b3_1=45";
    let doc = eval_json(
        &["-", "--at", at, "--all", "--stable"],
        Some("network 2-2-1\nactivation sigmoid\ncost quadratic\n"),
    );
    for label in ["dC/db3_1", "dC/dw3_1_1", "dC/dw2_1_1", "dC/db2_2"] {
        assert_eq!(doc["derivatives"][label], 0.0, "{label}: float64 loses it");
        let reference: f64 = doc["reference"][label].as_str().unwrap().parse().unwrap();
        let stable = doc["stable"][label].as_f64().unwrap();
        assert!(reference != 0.0, "{label}");
        assert!(
            ((stable - reference) / reference).abs() < 1e-12,
            "{label}: stable {stable} against the reference {reference}"
        );
    }
    assert_eq!(doc["rewrites_used"].as_array().unwrap().len(), 1);
}

/// Issue 23: a 5-5-2 tanh/softmax classifier with every leaf 0.5 has every gradient exactly
/// 0 by symmetry (both classes get a3 = 0.5 = y). The reference only ever bounds an exact 0,
/// ever more tightly; it once climbed to its ceiling for each (4.5 s). Each is now reported
/// as 0 within a bound float64 cannot tell from 0: float64's 0 is right to its last bit, and
/// nothing is warned about. The zeros are confirmed by a central difference of the cost at
/// 320 bits, an independent route.
#[test]
fn gradients_zero_by_symmetry_are_zero_within_a_bound_float64_cannot_tell_from_zero() {
    let program = "network 5-5-2\nactivation tanh\nactivation 3 softmax\ncost log-likelihood\n";
    let mut model = load(program);
    let leaves: Vec<_> = model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .collect();
    let at: Vec<String> = leaves
        .iter()
        .map(|&s| format!("{}=0.5", model.name(s)))
        .collect();
    let doc = eval_json(&["-", "--all", "--at", &at.join(",")], Some(program));
    let derivatives = doc["derivatives"].as_object().unwrap();
    assert_eq!(derivatives.len(), 42, "{doc}");
    for (label, value) in derivatives {
        assert_eq!(value.as_f64(), Some(0.0), "{label}: {doc}");
        assert_eq!(
            doc["reference"][label].as_str(),
            Some("0"),
            "{label}: {doc}"
        );
        assert_eq!(
            doc["error_bits"][label].as_f64(),
            Some(0.0),
            "{label}: {doc}"
        );
        let bounds = &doc["reference_interval"][label];
        for (i, bound) in bounds.as_array().unwrap().iter().enumerate() {
            let bound = bound.as_str().unwrap();
            // Below half float64's smallest subnormal (2^-1075 ≈ 2.5e-324): it rounds to 0.
            let exponent: i32 = bound.rsplit_once('e').unwrap().1.parse().unwrap();
            assert!(exponent < -324, "{label}: {bound}");
            assert_eq!(bound.starts_with('-'), i == 0, "{label}: {bound}");
        }
    }
    assert_eq!(doc["warnings"].as_array().map(Vec::len), Some(0), "{doc}");
    let point: std::collections::HashMap<_, _> = leaves.iter().map(|&s| (s, 0.5)).collect();
    let cost = model.cost;
    for param in model.params().collect::<Vec<_>>() {
        let difference = common::central_difference(&mut model, cost, param, &point);
        assert!(
            difference.to_f64().abs() < 1e-30,
            "{}: {difference}",
            model.name(param)
        );
    }
}

/// A decimal input divided by 12,000 can land exactly halfway between two 17-digit decimals
/// (0.016041997699583973 / 12000 = 1.33683314163199775e-6): each precision rounds it to
/// either neighbour, and the reference used to climb to its ceiling and report an interval.
/// Such a tie is settled by the digits past it of two passes, and rounded half to even (here
/// up, the 17th digit being odd), for a plain quotient and for an l2 gradient
/// λ/n·w whose data part is 0 (an input of 0), as in a network started with `--init-inputs zero`.
#[test]
fn a_value_exactly_halfway_between_two_printed_decimals_is_settled() {
    // w/n = 1.33683314163199775e-6 exactly: the tie is rounded half to even, whichever side
    // of it each pass's binary value fell.
    let even = "1.3368331416319978e-6";
    let quotient = eval_json(
        &["-", "--at", "w=0.016041997699583973,n=12000"],
        Some("input n\nparam w\ncost C = w/n\n"),
    );
    assert!(quotient.get("reference_interval").is_none(), "{quotient}");
    assert_eq!(quotient["reference"]["C"], even, "{quotient}");

    let network = "network 2-2-1\nactivation sigmoid\ncost quadratic\nregularization l2\n";
    let at = "x1=0,x2=0,y1=0,lambda=5,n=60000,w2_1_1=0.016041997699583973,w2_1_2=0.5,\
              w2_2_1=0.1,w2_2_2=0.2,b2_1=0.1,b2_2=0.2,w3_1_1=0.3,w3_1_2=0.4,b3_1=0.1";
    let doc = eval_json(&["-", "--all", "--at", at], Some(network));
    assert!(doc.get("reference_interval").is_none(), "{doc}");
    let gradient = doc["reference"]["dC/dw2_1_1"].as_str().unwrap();
    assert_eq!(gradient, even, "{doc}");
    // float64's quotient is compared with the settled reference: a bit or two off at most.
    let bits = doc["error_bits"]["dC/dw2_1_1"].as_f64().unwrap();
    assert!(bits <= 2.0, "{doc}");
}

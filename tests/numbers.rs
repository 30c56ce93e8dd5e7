//! The cases measured in issue 10, with their true values (computed with mpmath at 2,000
//! significant digits from the formulas written out: σ(x) = 1/(1 + e^−x), the derivatives by
//! hand), and the CLI promises around numbers: inputs beyond float64's range, `--init`,
//! `values`, `--no-values`, long lists cut.

use assert_cmd::Command;
use predicates::prelude::*;

const SEED_QUESTION: &str =
    "input a1\ntarget y\nparam w2\nz2 = w2*a1\na2 = sigmoid(z2)\ncost C = (a2 - y)^2\n";

fn run(args: &[&str], stdin: &str) -> std::process::Output {
    let mut cmd = Command::cargo_bin("chainrule").unwrap();
    cmd.args(args).write_stdin(stdin.to_string());
    cmd.output().unwrap()
}

fn eval_json(args: &[&str], stdin: &str) -> serde_json::Value {
    let mut all = vec!["eval", "-"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = run(&all, stdin);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn kinds(doc: &serde_json::Value) -> Vec<String> {
    doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_seed_question_at_a1_500_has_its_true_gradient_and_a_warning() {
    let doc = eval_json(&["--at", "a1=500,w2=0.8,y=0", "--wrt", "w2"], SEED_QUESTION);
    assert_eq!(doc["derivatives"]["dC/dw2"], 0.0);
    assert_eq!(doc["reference"]["dC/dw2"], "1.9151695967140057e-171");
    assert!(doc["error_bits"]["dC/dw2"].as_f64().unwrap() > 12.0);
    assert!(kinds(&doc).contains(&"saturation".to_string()), "{doc}");
    let text = run(
        &["eval", "-", "--at", "a1=500,w2=0.8,y=0", "--wrt", "w2"],
        SEED_QUESTION,
    );
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(!text.contains("No numerical warnings"), "{text}");
}

#[test]
fn check_says_a_gradient_float64_rounds_to_zero_is_not_zero() {
    let out = run(
        &[
            "check",
            "-",
            "--claim",
            "dC/dw2 = 0",
            "--at",
            "a1=500,w2=0.8,y=0",
            "--format",
            "json",
        ],
        SEED_QUESTION,
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let claim = &doc["claims"][0];
    assert_eq!(claim["verdict"], "incorrect");
    let diagnosis = claim["diagnosis"].as_str().unwrap();
    assert!(diagnosis.contains("float64"), "{diagnosis}");
    assert!(diagnosis.contains("1.915169596714005"), "{diagnosis}");
}

#[test]
fn minus_log_sigmoid_through_a_name_is_right_far_out() {
    let program = "input x\nparam w\np = sigmoid(w*x)\ncost C = -log(p)\n";
    let doc = eval_json(&["--at", "x=200,w=1", "--wrt", "w"], program);
    assert_eq!(doc["reference"]["C"], "1.3838965267367375e-87");
    assert_eq!(doc["reference"]["dC/dw"], "-2.7677930534734751e-85");
    assert!(!kinds(&doc).is_empty());
    let doc = eval_json(&["--at", "x=150,w=1", "--wrt", "w"], program);
    assert_eq!(doc["reference"]["C"], "7.1750959731644104e-66");
    assert_eq!(doc["reference"]["dC/dw"], "-1.0762643959746616e-63");
}

#[test]
fn cross_entropy_at_a_saturated_output_is_defined() {
    let program = "input x\ntarget y\nparam w\nz = w*x\na = sigmoid(z)\ncost C = -(y*log(a) + (1 - y)*log(1 - a))\n";
    let doc = eval_json(&["--at", "x=200,w=1,y=0.5", "--wrt", "w"], program);
    assert_eq!(doc["reference"]["C"], "100");
    assert_eq!(doc["reference"]["dC/dw"], "100");
    assert!(doc["cost"].is_null(), "float64 gives inf: {doc}");
    assert!(kinds(&doc).contains(&"saturation".to_string()), "{doc}");
}

#[test]
fn an_identically_zero_derivative_is_zero_in_the_reference() {
    let program = "input x\nparam w\ng = sigmoid(w*x) + sigmoid(-w*x)\ncost C = g\n";
    let doc = eval_json(&["--at", "x=1,w=180", "--wrt", "w"], program);
    assert_eq!(doc["reference"]["dC/dw"], "0", "{doc}");
    assert_eq!(doc["reference"]["C"], "1");
    // Every value in the reference's interval rounds to 0: a float64 result other than 0 (the
    // unsimplified form gives −6.7e−79) is known wrong, and 0 is known right.
    let float64 = doc["derivatives"]["dC/dw"].as_f64().unwrap();
    let bits = doc["error_bits"]["dC/dw"].as_f64().unwrap();
    if float64 == 0.0 {
        assert_eq!(bits, 0.0, "{doc}");
    } else {
        assert!(bits > 12.0, "{doc}");
    }
    assert!(doc.get("error_bits_at_least").is_none(), "{doc}");
}

#[test]
fn tanh_prime_at_20_is_cancellation() {
    let doc = eval_json(
        &["--at", "x=20,w=1"],
        "input x\nparam w\ng = tanh'(w*x)\ncost C = g\n",
    );
    assert_eq!(doc["reference"]["g"], "1.6993417021166356e-17");
    let k = kinds(&doc);
    assert!(k.contains(&"cancellation".to_string()), "{k:?}");
    assert!(!k.contains(&"underflow".to_string()), "{k:?}");
}

#[test]
fn abs_of_a_dead_relu_has_slope_zero_not_nan() {
    let program = "input x\nparam w\nh = relu(w*x)\ncost C = abs(h) + w\n";
    let doc = eval_json(&["--at", "x=1,w=-0.5", "--wrt", "w"], program);
    assert_eq!(doc["derivatives"]["dC/dw"], 1.0);
    assert_eq!(doc["reference"]["dC/dw"], "1");
    assert!(kinds(&doc).is_empty(), "{doc}");
}

#[test]
fn overflow_is_a_warning_never_silence() {
    let doc = eval_json(
        &["--at", "x=1e300,w=1", "--wrt", "w"],
        "input x\nparam w\ncost C = exp(w*x)\n",
    );
    assert!(doc["cost"].is_null());
    assert!(kinds(&doc).contains(&"overflow".to_string()), "{doc}");
}

#[test]
fn values_beyond_float64_are_used_exactly_and_warned_about_in_the_same_words() {
    let doc = eval_json(
        &["--at", "x=1e309,w=1e-400", "--wrt", "w"],
        "input x\nparam w\ncost C = exp(w*x)\n",
    );
    assert_eq!(doc["reference"]["x"], "1e309");
    assert_eq!(doc["reference"]["w"], "1e-400");
    // w·x = 1e−91 exactly, so C = e^(1e−91) = 1 to 17 digits
    assert_eq!(doc["reference"]["C"], "1");
    let warnings = doc["warnings"].as_array().unwrap();
    let inputs: Vec<&serde_json::Value> = warnings
        .iter()
        .filter(|w| w["kind"] == "input-out-of-range")
        .collect();
    assert_eq!(inputs.len(), 2, "{warnings:?}");
    for w in inputs {
        assert!(
            w["message"]
                .as_str()
                .unwrap()
                .contains("is beyond float64's range"),
            "{w}"
        );
    }
}

#[test]
fn init_fills_parameters_and_values_files_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.txt");
    let out = run(
        &[
            "values",
            "-",
            "--init",
            "xavier",
            "--seed",
            "7",
            "-o",
            file.to_str().unwrap(),
        ],
        SEED_QUESTION,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("a1 = 0"), "{text}");
    assert!(text.contains("y = 0"), "{text}");
    let w2_line = text.lines().find(|l| l.starts_with("w2 = ")).unwrap();
    let w2: f64 = w2_line["w2 = ".len()..].parse().unwrap();
    // one input and one output: Xavier's bound is √(6/2)
    assert!(w2 != 0.0 && w2.abs() <= 3f64.sqrt(), "{w2}");
    // the file reads back, and gives what --init gives
    let from_file = eval_json(&["--values", file.to_str().unwrap()], SEED_QUESTION);
    let from_init = eval_json(
        &["--init-inputs", "zero", "--init", "xavier", "--seed", "7"],
        SEED_QUESTION,
    );
    assert_eq!(from_file["values"]["w2"], from_init["values"]["w2"]);
    assert_eq!(from_file["values"]["w2"].as_f64(), Some(w2));
    // another seed, another start; zeros are zeros
    let other = eval_json(
        &["--init-inputs", "zero", "--init", "xavier", "--seed", "8"],
        SEED_QUESTION,
    );
    assert_ne!(other["values"]["w2"], from_init["values"]["w2"]);
    let zeros = eval_json(&["--init-inputs", "zero", "--init", "zeros"], SEED_QUESTION);
    assert_eq!(zeros["values"]["w2"], 0.0);
    // a given value is kept
    let kept = eval_json(
        &[
            "--init-inputs",
            "zero",
            "--init",
            "random",
            "--at",
            "w2=0.25",
        ],
        SEED_QUESTION,
    );
    assert_eq!(kept["values"]["w2"], 0.25);
}

#[test]
fn no_values_leaves_the_table_out() {
    let doc = eval_json(
        &[
            "--init-inputs",
            "zero",
            "--init",
            "zeros",
            "--no-values",
            "--all",
        ],
        SEED_QUESTION,
    );
    assert!(doc["values"].as_object().unwrap().is_empty());
    assert!(doc["cost"].is_number());
    assert!(doc["derivatives"]["dC/dw2"].is_number());
    let out = run(
        &[
            "eval",
            "-",
            "--init",
            "zeros",
            "--init-inputs",
            "zero",
            "--no-values",
        ],
        SEED_QUESTION,
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("table left out by --no-values"), "{text}");
    assert!(!text.contains("  z2 "), "{text}");
}

#[test]
fn a_missing_value_on_a_large_network_is_a_short_error() {
    let mnist = include_str!("../examples/mnist_784_30_10.bp");
    let out = run(&["eval", "-", "--at", "x1=0.5"], mnist);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.len() < 2_000, "{} bytes", err.len());
    assert!(err.contains("more"), "{err}");
    assert!(err.contains("--init"), "{err}");
    Command::cargo_bin("chainrule")
        .unwrap()
        .args([
            "eval",
            "-",
            "--init",
            "xavier",
            "--seed",
            "1",
            "--init-inputs",
            "zero",
            "--no-values",
        ])
        .write_stdin(mnist)
        .assert()
        .success()
        .stdout(predicate::str::contains("cost C = "));
}

#[test]
fn a_value_too_small_to_hold_poisons_nothing_downstream() {
    // σ(−1e300) is e^(−1e300): the reference holds it as 0 to within 2^(−2^28); z3, a3 and
    // the cost are plain numbers
    let mut cmd = Command::cargo_bin("chainrule").unwrap();
    let out = cmd
        .args([
            "eval",
            "--at",
            "w2=-1e300,x=1,y=0,b2=0.1,w3=0.5,b3=0.5",
            "--wrt",
            "w2",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["reference"]["z3"], "0.5");
    assert_eq!(doc["reference"]["a2"], "0");
    assert_eq!(doc["reference"]["a3"], "0.62245933120185456");
    assert_eq!(doc["reference"]["dC/dw2"], "0");
    assert_eq!(doc["error_bits"]["dC/dw2"], 0.0);
    assert!(doc["warnings"].as_array().unwrap().is_empty(), "{doc}");
}

#[test]
fn an_exact_decimal_difference_is_exactly_zero() {
    // x − 0.1 at x = 0.1 is 0: not the 1.39e−310 residue of 0.1 read once to 1,024 bits and
    // 1/10 rounded to more, and no underflow warning.
    let doc = eval_json(&["--at", "x=0.1"], "input x\ncost C = x - 0.1\n");
    assert_eq!(doc["reference"]["C"], "0");
    assert_eq!(doc["values"]["C"], 0.0);
    assert!(kinds(&doc).is_empty(), "{doc}");
    // 0.1 + 0.2 − 0.3 is exactly 0 too; float64's 5.55e−17 is its cancellation.
    let doc = eval_json(
        &["--at", "x=0.1,y=0.2"],
        "input x, y\ncost C = x + y - 0.3\n",
    );
    assert_eq!(doc["reference"]["C"], "0");
    assert_eq!(kinds(&doc), ["cancellation"]);
    // Not every difference is zero: 0.3 − 0.1 is 0.2 exactly as a decimal.
    let doc = eval_json(&["--at", "x=0.3"], "input x\ncost C = x - 0.1\n");
    assert_eq!(doc["reference"]["C"], "0.2");
    // A decimal times a constant cancels too: 3x − 0.3 at x = 0.1.
    let doc = eval_json(&["--at", "x=0.1"], "input x\ncost C = 3*x - 0.3\n");
    assert_eq!(doc["reference"]["C"], "0");
}

#[test]
fn quotients_and_logs_of_values_beyond_every_magnitude_are_worked_in_log_form() {
    // e^(1e200) has a binary exponent no float holds; the quotient is 1 (a = 1, C = a + 1 = 2)
    // and float64's NaN is warned about, not left in silence.
    let doc = eval_json(
        &["--at", "x=1e200,w=1"],
        "input x\nparam w\na = exp(w*x)/exp(w*x)\ncost C = a + 1\n",
    );
    assert_eq!(doc["reference"]["a"], "1");
    assert_eq!(doc["reference"]["C"], "2");
    assert_eq!(kinds(&doc), ["not-a-number"]);
    // A 2-class softmax at x1 = x2 = 1e200: p1 = 1/2, and ∂p1/∂w1 = x1·p1(1 − p1) = 2.5e199.
    let softmax = "input x1, x2\nparam w1, w2\nz1 = w1*x1\nz2 = w2*x2\np1 = exp(z1)/(exp(z1) + exp(z2))\ncost C = p1\n";
    let doc = eval_json(
        &["--at", "x1=1e200,x2=1e200,w1=1,w2=1", "--wrt", "w1"],
        softmax,
    );
    assert_eq!(doc["reference"]["p1"], "0.5");
    assert_eq!(doc["reference"]["dC/dw1"], "2.5e199");
    // One class far ahead (z1 − z2 = 1.3e200): p1 = 1 − e^(−1.3e200), 1 to every digit.
    let doc = eval_json(&["--at", "x1=1e200,x2=3e199,w1=1,w2=-1"], softmax);
    assert_eq!(doc["reference"]["p1"], "1");
    // log(exp(x)) = x at x = 1e9 (e^(1e9) is beyond the magnitudes held, its log is not).
    let doc = eval_json(&["--at", "x=1e9"], "input x\ncost C = log(exp(x))\n");
    assert_eq!(doc["reference"]["C"], "1000000000");
    assert_eq!(kinds(&doc), ["overflow"]);
}

#[test]
fn a_value_not_even_the_reference_holds_is_unknown_with_a_warning() {
    // e^(1e200) − e^(2e200) = −e^(2e200)(1 − e^(−1e200)): no float holds it; float64 gives NaN.
    let doc = eval_json(
        &["--at", "x=1e200,w=1"],
        "input x\nparam w\ncost C = exp(w*x) - exp(2*w*x)\n",
    );
    assert_eq!(doc["reference"]["C"], "out of range");
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{doc}");
    assert_eq!(warnings[0]["kind"], "unresolved-reference");
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(message.contains("cannot hold the value"), "{message}");
    assert!(message.contains("unknown"), "{message}");
}

#[test]
fn a_function_of_a_value_the_reference_only_bounds_is_not_computed_from_the_bound() {
    // z = e^(−2e9) is below every magnitude held: 0 to within its bound, but positive, so
    // h = relu'(z) = 1 and C = w·h = 1e550 (not h = 0 from the bound taken for the value).
    let program = "input x\nparam w\nz = exp(-1000000000*(1 + x^2))\nh = relu'(z)\ncost C = w*h\n";
    let doc = eval_json(&["--at", "x=1,w=1e550", "--wrt", "w"], program);
    assert_eq!(doc["reference"]["h"], "1");
    assert_eq!(doc["reference"]["C"], "1e550");
    assert_eq!(doc["reference"]["dC/dw"], "1");
    // The difference of two such values is worked in log form too: e^(−2e9) − e^(−3e9) > 0.
    let difference = "input x\nparam w\nz = exp(-1000000000*(1 + x^2)) - exp(-1000000000*(1 + 2*x^2))\nh = relu'(z)\ncost C = w*h\n";
    let doc = eval_json(&["--at", "x=1,w=1e550"], difference);
    assert_eq!(doc["reference"]["h"], "1", "{doc}");
    // Where only a bound is known (σ(−2e9), with no log form), h is unknown, never 0.
    let unsettled =
        "input x\nparam w\nz = sigmoid(-1000000000*(1 + x^2))\nh = relu'(z)\ncost C = w*h\n";
    let doc = eval_json(&["--at", "x=1,w=1e550"], unsettled);
    assert_eq!(doc["reference"]["h"], "unknown", "{doc}");
}

/// Issue 22: a row of `eval` writes its float64 and its reference in one notation, and a
/// zero has no sign.
#[test]
fn a_row_has_one_notation_and_zero_no_sign() {
    let out = run(
        &[
            "eval",
            "-",
            "--at",
            "a1=0,y=0,w2=0.5",
            "--expr=-a1",
            "--expr",
            "w2*2.0559049150730948e-5",
        ],
        SEED_QUESTION,
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let row = |start: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no row {start}:\n{text}"))
            .split_whitespace()
            .skip(1)
            .take(2)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row("w2*2.0559049150730948e-5"),
        ["1.0279524575365474e-5", "1.0279524575365474e-5"]
    );
    assert_eq!(row("-a1"), ["0", "0"]);
    assert!(!text.contains(" -0 "), "{text}");
}

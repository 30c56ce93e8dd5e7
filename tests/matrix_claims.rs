//! `check` on claims in matrix notation: correct NumPy and LaTeX answers from public course
//! material judged correct, and each shape-aware mistake named from a realistic wrong answer
//! (the source of every formula beside it). The programs are vector programs; claims are
//! judged by shape and by every entry's value against the scalar engine.

use assert_cmd::Command;
use chainrule::{Checked, MatrixProgram, Verdict};

/// Ng, Deep Learning Specialization course 1 week 3, the planar classifier.
const NG_PLANAR: &str = include_str!("../examples/ng_planar.bp");

/// Nielsen, Neural Networks and Deep Learning ch. 2: a 2-3-2 sigmoid network, one example.
const NIELSEN: &str = "
input x[2]
target y[2]
param w2[3, 2], b2[3], w3[2, 3], b3[2]
z2 = w2 x + b2
a2 = sigmoid(z2)
z3 = w3 a2 + b3
a3 = sigmoid(z3)
cost C = 0.5 * norm2(a3 - y)
";

/// CS231n's two-layer net with a softmax (examples as rows; 3 examples of 3 classes, so that
/// a dropped `keepdims` broadcasts without an error and changes the value).
const CS231N: &str = "
layout rows
size N = 3
input X[N, 2]
target Y[N, 3] one-hot
param W1[2, 4], b1[4], W2[4, 3], b2[3]
H = tanh(X W1 + b1)
S = H W2 + b2
P = softmax(S)
cost L = -(1/N) sum(Y ⊙ log(P))
";

/// CS224n's naive-softmax word2vec loss for one centre word.
const CS224N: &str = "
param U[4, 5], vc[4]
target y[5] one-hot
yhat = softmax(U^T vc)
cost J = -sum(y ⊙ log(yhat))
";

fn judge(source: &str, claim: &str) -> Checked {
    let program = chainrule::matrix_program(source)
        .expect("the program loads")
        .expect("a vector program");
    judge_with(&program, claim)
}

fn judge_with(program: &MatrixProgram, claim: &str) -> Checked {
    program
        .check(claim)
        .unwrap_or_else(|| panic!("`{claim}` is not read as a matrix claim"))
        .unwrap_or_else(|e| panic!("`{claim}`: {e:?}"))
}

fn assert_correct(source: &str, claims: &[&str]) {
    let program = chainrule::matrix_program(source).unwrap().unwrap();
    for claim in claims {
        let checked = judge_with(&program, claim);
        assert_eq!(checked.verdict, Verdict::Correct, "{claim}: {checked:?}");
        assert!(checked.shape.is_none());
    }
}

/// The claim is incorrect and the likeliest mistake has this code.
fn assert_mistake(source: &str, claim: &str, code: &str) -> Checked {
    let checked = judge(source, claim);
    assert_eq!(checked.verdict, Verdict::Incorrect, "{claim}");
    let found = checked.mistake().map(|m| m.code());
    assert_eq!(found, Some(code), "{claim}: {checked:?}");
    checked
}

#[test]
fn ng_week3_backward_propagation_is_correct() {
    // planar_utils / Planar_data_classification_with_one_hidden_layer: backward_propagation
    assert_correct(
        NG_PLANAR,
        &[
            "dZ2 = A2 - Y",
            "dW2 = (1 / m) * np.dot(dZ2, A1.T)",
            "db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)",
            "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))",
            "dW1 = (1 / m) * np.dot(dZ1, X.T)",
            "db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)",
            // the same in PyTorch, and with `@`
            "dW1 = torch.mm(dZ1, X.t()) / m",
            "dW1 = dZ1 @ X.T / m",
            "db1 = dZ1.sum(axis=1, keepdims=True) / m",
            // the derivative written out is ∂J/∂Z2 itself, without the code name's m
            "dJ/dZ2 = (A2 - Y) / m",
        ],
    );
}

#[test]
fn ng_week4_linear_backward_is_correct() {
    // Building_your_Deep_Neural_Network_Step_by_Step: linear_backward and
    // linear_activation_backward (sigmoid_backward: dZ = dA * s * (1 - s))
    assert_correct(
        NG_PLANAR,
        &[
            "dA1 = np.dot(W2.T, dZ2)",
            "dZ2 = dA2 * A2 * (1 - A2)",
            "dW2 = 1./m * np.dot(dZ2, A1.T)",
            "db2 = 1./m * np.sum(dZ2, axis = 1, keepdims = True)",
            "dZ1 = dA1 * (1 - np.power(A1, 2))",
        ],
    );
}

#[test]
fn nielsen_bp1_to_bp4_in_latex_are_correct() {
    // Nielsen, ch. 2, equations BP1-BP4
    assert_correct(
        NIELSEN,
        &[
            "\\delta^{(3)} = (a^{(3)} - y) \\odot \\sigma'(z^{(3)})",
            "\\delta^{(2)} = ((W^{(3)})^T \\delta^{(3)}) \\odot \\sigma'(z^{(2)})",
            "\\frac{\\partial C}{\\partial W^{(2)}} = \\delta^{(2)} x^T",
            "\\frac{\\partial C}{\\partial \\mathbf{W}^{(3)}} = \\delta^{(3)} (a^{(2)})^\\top",
            "\\frac{\\partial C}{\\partial b^{(2)}} = \\delta^{(2)}",
            "dC/dw3 = delta3 a2^T",
        ],
    );
}

#[test]
fn cs231n_two_layer_softmax_is_correct() {
    // CS231n neural-networks-case-study: dscores = probs - y one-hot, / N; dW2 = h.T @ dscores
    assert_correct(
        CS231N,
        &[
            "dL/dS = (P - Y) / N",
            "dW2 = np.dot(H.T, (P - Y) / N)",
            "db2 = np.sum((P - Y) / N, axis=0, keepdims=True)",
            "dW2 = H.T @ ((np.exp(S) / np.sum(np.exp(S), axis=1, keepdims=True) - Y) / N)",
        ],
    );
}

#[test]
fn cs224n_naive_softmax_gradient_is_correct() {
    // CS224n assignment 2: ∂J/∂v_c = U(ŷ − y), ∂J/∂U = v_c(ŷ − y)ᵀ
    assert_correct(
        CS224N,
        &[
            "dJ/dvc = U (yhat - y)",
            "\\frac{\\partial J}{\\partial U} = v_c (\\hat{y} - y)^T",
            "dU = np.outer(vc, yhat - y)",
        ],
    );
}

#[test]
fn a_wrong_shape_is_said_before_anything_else() {
    let checked = assert_mistake(NIELSEN, "dC/dw3 = a2 delta3^T", "product-order");
    let shape = checked.shape.as_ref().expect("a shape report");
    assert_eq!(shape.claimed.map(|s| s.to_string()).as_deref(), Some("3×2"));
    assert_eq!(shape.expected.to_string(), "2×3");
    let text = chainrule::render(
        &chainrule::Document::Checks(&[checked]),
        chainrule::DocumentFormat::Text,
        &chainrule::Layout::default(),
    )
    .expect("the report renders");
    let lines: Vec<&str> = text.lines().collect();
    let verdict = lines.iter().position(|l| l.contains("INCORRECT")).unwrap();
    assert_eq!(
        lines[verdict + 1].trim(),
        "the claim is 3×2 but ∂C/∂w3 is 2×3",
        "{text}"
    );
}

#[test]
fn every_shape_mistake_is_named() {
    // a transpose missing: A1 for A1.T
    assert_mistake(
        NG_PLANAR,
        "dW2 = 1/m * np.dot(dZ2, A1)",
        "missing-transpose",
    );
    assert_mistake(
        NIELSEN,
        "\\delta^{(2)} = (W^{(3)} \\delta^{(3)}) \\odot \\sigma'(z^{(2)})",
        "missing-transpose",
    );
    // a transpose too many
    assert_mistake(
        NG_PLANAR,
        "dW1 = 1/m * np.dot(dZ1.T, X.T)",
        "extra-transpose",
    );
    // the product in the wrong order
    assert_mistake(NG_PLANAR, "dW1 = 1/m * np.dot(X.T, dZ1)", "product-order");
    // `*` for `@`, and the reverse
    assert_mistake(NG_PLANAR, "dW1 = 1/m * dZ1 * X.T", "elementwise-for-matmul");
    assert_mistake(
        CS231N,
        "dW2 = H.T * ((P - Y) / N)",
        "elementwise-for-matmul",
    );
    assert_mistake(
        NG_PLANAR,
        "dZ1 = np.dot(np.dot(W2.T, dZ2), 1 - np.power(A1, 2))",
        "matmul-for-elementwise",
    );
    // a sum over the wrong axis
    assert_mistake(
        NG_PLANAR,
        "db1 = 1/m * np.sum(dZ1, axis=0, keepdims=True)",
        "wrong-axis",
    );
    // a dropped keepdims: a shape error, and a broadcast that changes the value
    assert_mistake(
        NG_PLANAR,
        "db1 = 1/m * np.sum(dZ1, axis=1)",
        "dropped-keepdims",
    );
    let changed = assert_mistake(
        CS231N,
        "dW2 = H.T @ ((np.exp(S) / np.sum(np.exp(S), axis=1) - Y) / N)",
        "dropped-keepdims",
    );
    assert!(
        changed.shape.is_none(),
        "the shape is right, the value is not"
    );
    // 1/m missing, and applied twice
    assert_mistake(NG_PLANAR, "dW1 = np.dot(dZ1, X.T)", "missing-mean");
    assert_mistake(NG_PLANAR, "dW2 = 1/m * np.dot(dZ2, A1.T) / m", "mean-twice");
    // a bias gradient not summed over the batch
    assert_mistake(NG_PLANAR, "db1 = 1/m * dZ1", "bias-not-summed");
    // σ′(A) for σ′(Z)
    assert_mistake(
        NG_PLANAR,
        "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(np.tanh(A1), 2))",
        "activation-for-pre-activation",
    );
    assert_mistake(
        NIELSEN,
        "\\delta^{(2)} = ((W^{(3)})^T \\delta^{(3)}) \\odot \\sigma'(a^{(2)})",
        "activation-for-pre-activation",
    );
}

#[test]
fn json_carries_the_kind_codes() {
    let output = Command::cargo_bin("chainrule")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "examples/ng_planar.bp",
            "--claim",
            "dW1 = (1 / m) * np.dot(dZ1, X.T)",
            "--claim",
            "dW1 = 1/m * np.dot(X.T, dZ1)",
            "--claim",
            "db1 = 1/m * dZ1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let claims = report["claims"].as_array().unwrap();
    assert_eq!(claims[0]["verdict"], "correct");
    assert_eq!(claims[1]["mistake"]["kind"], "product-order");
    assert_eq!(claims[1]["shape"]["claimed"], serde_json::Value::Null);
    assert_eq!(claims[1]["corrected"], "(1/m)*dZ1 @ X^T");
    assert_eq!(claims[2]["mistake"]["kind"], "bias-not-summed");
    assert_eq!(claims[2]["shape"]["claimed"], serde_json::json!([4, 4]));
    assert_eq!(claims[2]["shape"]["expected"], serde_json::json!([4, 1]));
}

#[test]
fn claims_that_are_not_matrix_claims_go_to_the_entry_checker() {
    let program = chainrule::matrix_program(NG_PLANAR).unwrap().unwrap();
    assert!(program.check("dJ/dW1[1,2] = 0").is_none());
    // numbers are values at the `--at` point, and a scalar's value is the scalar checker's
    assert!(program.check("dJ/db2 = 0.05").is_none());
    assert!(program.check("J = 0.69").is_none());
    let value = program.check("A1 = np.tanh(Z1)").unwrap().unwrap();
    assert_eq!(value.verdict, Verdict::Correct);
    let unknown = program.check("dW1 = np.dot(dZ9, X.T)").unwrap();
    assert!(unknown.unwrap_err().message.contains("unknown name `dZ9`"));
}

#[test]
fn a_claim_too_large_to_judge_entry_by_entry_is_refused_clearly() {
    let wide = "
size m = 2
input X[60, m]
target Y[40, m]
param W1[40, 60]
cost J = (1/m) sum((W1 X - Y) ⊙ (W1 X - Y))
";
    let program = chainrule::matrix_program(wide).unwrap().unwrap();
    let refused = program
        .check("dW1 = 2/m * np.dot(W1 @ X - Y, X.T)")
        .unwrap()
        .unwrap_err();
    assert!(
        refused.message.contains("2400 entries"),
        "{}",
        refused.message
    );
    assert!(
        refused
            .help
            .as_deref()
            .unwrap_or("")
            .contains("smaller batch")
    );
}

/// Ng's planar program with code names of its own: a gradient, the per-example `dZ1` written
/// as the derivative (so without the convention's m), a scaled one and another name for X.
fn ng_with_code_names(declarations: &str) -> String {
    format!("{NG_PLANAR}\n{declarations}\n")
}

#[test]
fn a_code_name_declared_in_the_program_is_judged() {
    let source = ng_with_code_names(
        "code grad_W1 = dJ/dW1\ncode delta1 = m dJ/dZ1\ncode dZ1 = dJ/dZ1\ncode A0 = X",
    );
    let program = chainrule::matrix_program(&source).unwrap().unwrap();
    for claim in [
        // the declared name on the left, the convention's on the right
        "grad_W1 = (1 / m) * np.dot(delta1, X.T)",
        // another name of X
        "grad_W1 = np.dot(dZ1, A0.T)",
        // `dZ1` declared as ∂J/∂Z1 itself: no 1/m left to apply
        "dW1 = np.dot(dZ1, X.T)",
        "delta1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))",
    ] {
        let checked = judge_with(&program, claim);
        assert_eq!(checked.verdict, Verdict::Correct, "{claim}: {checked:?}");
    }
    // the same claims with the 1/m misplaced are judged wrong, by the mistake made
    let wrong = judge_with(&program, "grad_W1 = np.dot(delta1, X.T)");
    assert_eq!(wrong.verdict, Verdict::Incorrect);
    assert_eq!(wrong.mistake().map(|m| m.code()), Some("missing-mean"));
    let twice = judge_with(&program, "dW1 = (1 / m) * np.dot(dZ1, X.T)");
    assert_eq!(twice.verdict, Verdict::Incorrect);
    assert_eq!(twice.mistake().map(|m| m.code()), Some("mean-twice"));
    // without the declarations the convention reads `dZ1` as m ∂J/∂Z1 again
    let plain = chainrule::matrix_program(NG_PLANAR).unwrap().unwrap();
    assert_eq!(
        judge_with(&plain, "dW1 = np.dot(dZ1, X.T)").verdict,
        Verdict::Incorrect
    );
    assert!(plain.check("grad_W1 = np.dot(dZ1, X.T)").is_none());
}

#[test]
fn a_bad_code_name_declaration_is_an_error_with_a_caret() {
    let cases = [
        ("code dW1 = dJ/dW9", "W9", "unknown name `W9`"),
        ("code W1 = dJ/dW1", "W1 =", "`W1` is defined twice"),
        ("code g = dA1/dW1", "A1/", "`A1` is not the cost"),
        ("code g = n dJ/dW1", "n dJ", "`n` is not a declared size"),
        (
            "code g = dJ/dW1\ncode g = dJ/db1",
            "g = dJ/db1",
            "declared twice",
        ),
        ("code A0 = Q", "Q", "unknown name `Q`"),
    ];
    for (declaration, at, message) in cases {
        let source = ng_with_code_names(declaration);
        let output = Command::cargo_bin("chainrule")
            .unwrap()
            .args(["check", "-", "--claim", "dW1 = dZ1 @ X.T / m"])
            .write_stdin(source.clone())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{declaration}: {stderr}");
        assert!(output.stdout.is_empty(), "{declaration}: no partial output");
        assert!(stderr.contains(message), "{declaration}: {stderr}");
        // the caret is under the offending part of the declaration's line
        let line = declaration.lines().last().unwrap();
        let column = line.find(at).unwrap() + 1;
        let number = source.lines().position(|l| l == line).unwrap() + 1;
        assert!(
            stderr.contains(&format!("<stdin>:{number}:{column}")),
            "{declaration}: expected line {number} column {column}: {stderr}"
        );
        assert!(stderr.contains('^'), "{stderr}");
    }
}

/// Runs `check` on Ng's planar program with a claim missing the batch mean.
fn missing_mean_report(format: &str) -> String {
    let output = Command::cargo_bin("chainrule")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "examples/ng_planar.bp",
            "--claim",
            "dW1 = np.dot(dZ1, X.T)",
            "--format",
            format,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_wrong_matrix_claim_shows_its_point_and_both_values_as_matrices() {
    let report: serde_json::Value = serde_json::from_str(&missing_mean_report("json")).unwrap();
    let claim = &report["claims"][0];
    let rows = |v: &serde_json::Value| -> Vec<Vec<f64>> {
        v.as_array()
            .unwrap_or_else(|| panic!("rows: {v}"))
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect()
    };
    let claimed = rows(&claim["claimed_matrix"]);
    let truth = rows(&claim["true_matrix"]);
    // ∂J/∂W1 is 4×2, and the claim leaves out the 1/m of a batch of 4: 4 times each entry
    assert_eq!((claimed.len(), claimed[0].len()), (4, 2));
    assert_eq!((truth.len(), truth[0].len()), (4, 2));
    for (c, t) in claimed.iter().flatten().zip(truth.iter().flatten()) {
        assert!(
            (c - 4.0 * t).abs() <= 1e-12 * c.abs().max(1.0),
            "{c} vs {t}"
        );
    }
    // the first differing entry is the first entry
    assert_eq!(claim["claimed_value"].as_f64(), Some(claimed[0][0]));
    // the point: every input, target and parameter whole, in the declared shapes
    let point = &claim["counterexample"];
    assert_eq!(rows(&point["X"]).len(), 2);
    assert_eq!(rows(&point["X"])[0].len(), 4);
    assert_eq!(rows(&point["W1"]).len(), 4);
    assert_eq!(
        rows(&point["b1"]).iter().map(Vec::len).collect::<Vec<_>>(),
        [1; 4]
    );
    assert!(point["b2"].is_number(), "a 1×1 is a number: {point}");
    assert!(
        point.get("A1").is_none(),
        "intermediates are not part of the point"
    );

    // text: the values printed as aligned rows, the claim's beside the truth
    let text = missing_mean_report("text");
    let after = |label: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| l.trim() != label)
            .skip(1)
            .take_while(|l| l.trim_start().starts_with('['))
            .map(str::to_string)
            .collect()
    };
    let claimed_rows = after("the claim gives");
    let true_rows = after("the true value is");
    assert_eq!(claimed_rows.len(), 4, "{text}");
    assert_eq!(true_rows.len(), 4, "{text}");
    for (row, values) in claimed_rows.iter().zip(&claimed) {
        let cells: Vec<f64> = row
            .trim()
            .trim_matches(['[', ']'])
            .split_whitespace()
            .map(|c| c.parse().unwrap())
            .collect();
        assert_eq!(cells.len(), 2, "{row}");
        for (cell, value) in cells.iter().zip(values) {
            assert!(
                (cell - value).abs() <= 1e-5 * value.abs().max(1e-3),
                "{row}"
            );
        }
    }
    // the columns line up: each row's `]` at the same place
    let ends: Vec<usize> = claimed_rows.iter().map(|r| r.chars().count()).collect();
    assert!(ends.windows(2).all(|w| w[0] == w[1]), "{claimed_rows:?}");
    assert!(text.contains("     X =\n       [ "), "{text}");

    // Markdown and LaTeX: pmatrix, 4 rows of 2 for each value
    for format in ["markdown", "latex"] {
        let document = missing_mean_report(format);
        let claimed_matrix = document
            .split("\\text{the claim gives } \\begin{pmatrix}")
            .nth(1)
            .and_then(|rest| rest.split("\\end{pmatrix}").next())
            .unwrap_or_else(|| panic!("{format}: {document}"));
        let matrix_rows: Vec<&str> = claimed_matrix.trim().split("\\\\").collect();
        assert_eq!(matrix_rows.len(), 4, "{format}: {claimed_matrix}");
        assert!(matrix_rows.iter().all(|r| r.matches('&').count() == 1));
        assert!(
            document.contains("X = \\begin{pmatrix}"),
            "{format}: {document}"
        );
    }
}

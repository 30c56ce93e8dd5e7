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

//! `derive --all` on a vector program prints its gradients in matrix form, one formula a
//! parameter with its shape, as the courses write backpropagation (Ng's `dW2 = (1/m) dZ2 A1ᵀ`):
//! read as a reader would in snapshots, sized independently of widths and batch, and in JSON
//! with each gradient's shape.

mod common;

use common::stdout_of;

fn derive_all(file: &str, format: &str) -> String {
    stdout_of(&["derive", file, "--all", "--format", format], "")
}

#[test]
fn ng_planar_in_matrix_form_as_text() {
    insta::assert_snapshot!(derive_all("examples/ng_planar.bp", "text"));
}

#[test]
fn ng_planar_in_matrix_form_as_latex() {
    insta::assert_snapshot!(derive_all("examples/ng_planar.bp", "latex"));
}

#[test]
fn ng_planar_in_matrix_form_as_markdown() {
    let out = derive_all("examples/ng_planar.bp", "markdown");
    assert!(out.contains("^{\\top}"), "{out}");
    assert!(out.contains("\\mathbf{1}"), "{out}");
    assert!(
        out.contains("## $\\frac{\\partial J}{\\partial W_{2}}$ ($1 \\times 4$)"),
        "{out}"
    );
}

/// The textbook's pieces are where the courses put them: ∂J/∂W2 ends in `A1ᵀ` (Ng's
/// `np.dot(dZ2, A1.T)`), ∂J/∂W1 in `Xᵀ` with `W2ᵀ` inside and `⊙` for the elementwise
/// product with tanh′, and the bias gradients sum over the batch (`𝟙`).
#[test]
fn ng_planar_gradients_read_as_the_course_writes_them() {
    let out = derive_all("examples/ng_planar.bp", "text");
    let line = |label: &str| result_line(&out, label).to_string();
    // Ng: dZ2 = A2 - Y, dW2 = 1/m dZ2 A1.T, db2 = 1/m np.sum(dZ2, axis=1),
    // dZ1 = W2.T dZ2 * (1 - A1**2), dW1 = 1/m dZ1 X.T, db1 = 1/m np.sum(dZ1, axis=1)
    assert_eq!(line("Δ2"), "Δ2 = A2 − Y", "{out}");
    assert_eq!(line("∂J/∂Z2"), "∂J/∂Z2 = (1/m) Δ2", "{out}");
    assert_eq!(line("∂J/∂W2"), "∂J/∂W2 = (1/m) Δ2 A1ᵀ", "{out}");
    assert_eq!(line("∂J/∂b2"), "∂J/∂b2 = (1/m) Δ2 𝟙", "{out}");
    assert_eq!(line("Δ1"), "Δ1 = (W2ᵀ Δ2) ⊙ (1 − A1^2)", "{out}");
    assert_eq!(line("∂J/∂W1"), "∂J/∂W1 = (1/m) Δ1 Xᵀ", "{out}");
    assert_eq!(line("∂J/∂b1"), "∂J/∂b1 = (1/m) Δ1 𝟙", "{out}");
    for rule in [
        "product rule for a matrix product",
        "elementwise rule",
        "broadcast: stretched over the batch, so its gradient is summed over it",
        "matrix chain rule",
    ] {
        assert!(out.contains(rule), "{rule} in\n{out}");
    }
    for shape in [
        "── ∂J/∂W1   [4×2]",
        "── ∂J/∂b1   [4×1]",
        "── ∂J/∂W2   [1×4]",
    ] {
        assert!(out.contains(shape), "{shape} in\n{out}");
    }
    assert_eq!(
        out.matches("has the shape of its parameter").count(),
        1,
        "{out}"
    );
}

/// JSON: one derivative a parameter, with its shape and its matrix-form result.
#[test]
fn json_gives_each_gradient_its_shape() {
    let out = derive_all("examples/ng_planar.bp", "json");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let derivatives = doc["derivatives"].as_array().unwrap();
    let targets: Vec<&str> = derivatives
        .iter()
        .map(|d| d["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["dJ/dW1", "dJ/db1", "dJ/dW2", "dJ/db2"]);
    let shapes: Vec<serde_json::Value> = derivatives.iter().map(|d| d["shape"].clone()).collect();
    assert_eq!(
        shapes,
        [
            serde_json::json!([4, 2]),
            serde_json::json!([4, 1]),
            serde_json::json!([1, 4]),
            serde_json::json!([1, 1])
        ]
    );
    let w2 = &derivatives[2];
    assert!(w2["result"].as_str().unwrap().ends_with("@ A1^T"), "{w2}");
    assert!(
        w2["result_latex"]
            .as_str()
            .unwrap()
            .contains("A_{1}^{\\top}"),
        "{w2}"
    );
    assert_eq!(doc["convention"], "gradient-has-parameter-shape");
}

/// The same network with other widths and batch sizes: the matrix form is the same document
/// but for the numbers (of the shapes and of 1/m).
#[test]
fn the_matrix_form_does_not_grow_with_widths_or_batch() {
    let program = |hidden: usize, batch: usize| {
        format!(
            "size m = {batch}\ninput X[2, m]\ntarget Y[1, m]\nparam W1[{hidden}, 2], b1[{hidden}], W2[1, {hidden}], b2[1]\n\
             Z1 = W1 X + b1\nA1 = tanh(Z1)\nZ2 = W2 A1 + b2\nA2 = sigmoid(Z2)\n\
             cost J = -(1/m) sum(Y ⊙ log(A2) + (1 - Y) ⊙ log(1 - A2))\n"
        )
    };
    let without_numbers = |s: &str| {
        let mut out = String::new();
        let mut in_number = false;
        for c in s.chars() {
            if c.is_ascii_digit() {
                if !in_number {
                    out.push('N');
                }
                in_number = true;
            } else {
                in_number = false;
                out.push(c);
            }
        }
        out
    };
    for format in ["text", "latex", "json"] {
        let outputs: Vec<String> = [(4, 2), (40, 2), (4, 64), (40, 64)]
            .iter()
            .map(|&(hidden, batch)| {
                let out = stdout_of(
                    &["derive", "-", "--all", "--format", format],
                    &program(hidden, batch),
                );
                without_numbers(&out)
            })
            .collect();
        assert!(outputs[0].len() > 400, "{}", outputs[0]);
        for out in &outputs[1..] {
            assert_eq!(
                out.len(),
                outputs[0].len(),
                "{format}:\n{}\n{out}",
                outputs[0]
            );
            assert_eq!(out, &outputs[0]);
        }
    }
}

fn derive_all_of(program: &str) -> String {
    stdout_of(&["derive", "-", "--all"], program)
}

fn result_line<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .map(str::trim_start)
        .filter_map(|l| l.strip_prefix("result:").or_else(|| l.strip_prefix("so:")))
        .map(str::trim_start)
        .find(|l| l.starts_with(&format!("{label} = ")))
        .unwrap_or_else(|| panic!("no {label} in\n{out}"))
}

/// CS231n's softmax classifier over a batch, its loss written with log-sum-exp: the gradient
/// is `(1/m)(softmax(Z) − Y) Xᵀ`.
#[test]
fn softmax_loss_gradient_is_the_cs231n_formula() {
    let out = derive_all_of(
        "size m = 3\ninput X[4, m]\ntarget Y[3, m] one-hot\nparam W[3, 4], b[3]\nZ = W X + b\n\
         cost J = (1/m) (sum(logsumexp(Z)) - sum(Y ⊙ Z))\n",
    );
    assert_eq!(
        result_line(&out, "∂J/∂W"),
        "∂J/∂W = (1/m)(softmax(Z) − Y) Xᵀ"
    );
    assert_eq!(
        result_line(&out, "∂J/∂b"),
        "∂J/∂b = (1/m)(softmax(Z) − Y) 𝟙"
    );
}

/// With examples as rows (`layout rows`, CS231n's `X W + b`), the transposes and the sum over
/// the batch fall on the other side: `Xᵀ Δ` and `𝟙ᵀ Δ`. A pre-activation not named `z…` or
/// `Z…` has its gradient named as such, `∂C/∂Z`, the mean's `1/m` inside it.
#[test]
fn rows_layout_puts_the_transpose_and_the_batch_sum_first() {
    let out = derive_all_of(
        "layout rows\nsize m = 5\ninput X[m, 2]\ntarget Y[m, 3]\nparam W[2, 3], b[3]\n\
         Z = X W + b\nA = sigmoid(Z)\ncost C = (1/m) sum((A - Y)^2)\n",
    );
    assert_eq!(
        result_line(&out, "∂C/∂Z"),
        "∂C/∂Z = (2/m)((A − Y) ⊙ A ⊙ (1 − A))"
    );
    assert_eq!(result_line(&out, "∂C/∂W"), "∂C/∂W = Xᵀ ∂C/∂Z");
    assert_eq!(result_line(&out, "∂C/∂b"), "∂C/∂b = 𝟙ᵀ ∂C/∂Z");
}

/// What the matrix form does not derive yet (an entry `z[1]`) is given entry by entry.
#[test]
fn an_entry_falls_back_to_the_entries() {
    let out = derive_all_of("input x[3]\nparam W[2, 3]\nz = W x\ncost C = z[1]^2\n");
    assert!(out.contains("── ∂C/∂W[1,1]"), "{out}");
    assert!(!out.contains("matrix form"), "{out}");
}

/// `--scalar` gives the scalar derivation of entries: one entry with `--wrt`, every entry with
/// `--all`, where `--all` alone gives the matrix form.
#[test]
fn scalar_gives_the_entries_derivations() {
    let one = stdout_of(
        &[
            "derive",
            "examples/ng_planar.bp",
            "--wrt",
            "W2[1,3]",
            "--scalar",
        ],
        "",
    );
    assert!(one.contains("result:    ∂J/∂W2[1,3] = "), "{one}");
    assert!(!one.contains("in matrix form"), "{one}");
    let every = stdout_of(
        &["derive", "examples/ng_planar.bp", "--all", "--scalar"],
        "",
    );
    for entry in ["∂J/∂W1[4,2]", "∂J/∂b1[3]", "∂J/∂W2[1,4]", "∂J/∂b2"] {
        assert!(
            every.contains(&format!("result:    {entry} = ")),
            "{entry} in\n{every}"
        );
    }
    let matrix = stdout_of(&["derive", "examples/ng_planar.bp", "--all"], "");
    assert!(matrix.contains("in matrix form"), "{matrix}");
}

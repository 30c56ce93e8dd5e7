//! Numbers for arrays: `eval` on a vector program prints each array as a matrix (rows lined up
//! in text, `pmatrix` in Markdown, LaTeX and the HTML page, nested rows with their shapes in
//! JSON), and every entry keeps the reference and the float64 warnings a scalar gets. The
//! matrices are checked against an independent route: the same derivatives asked for one
//! entry at a time, which the report lists as rows under the entries' names.

mod common;

use serde_json::Value;

const NG: &str = "examples/ng_planar.bp";
const AT: &str = "X=[[1, 2, -1, 0.5], [0.5, -1, 2, 1]], Y=[1, 0, 1, 0]";

fn json_of(args: &[&str]) -> Value {
    let out = common::stdout_of(args, "");
    serde_json::from_str(&out).unwrap()
}

fn eval_json(wrt: &[&str]) -> Value {
    let mut args = vec![
        "eval", NG, "--at", AT, "--init", "xavier", "--seed", "3", "--format", "json",
    ];
    for w in wrt {
        args.extend(["--wrt", w]);
    }
    if wrt.is_empty() {
        args.push("--all");
    }
    json_of(&args)
}

#[test]
fn json_nests_every_array_as_its_rows_with_its_shape() {
    let doc = eval_json(&[]);
    let shapes = &doc["shapes"];
    assert_eq!(shapes["W1"], serde_json::json!([4, 2]), "{shapes}");
    assert_eq!(shapes["dJ/dW1"], serde_json::json!([4, 2]), "{shapes}");
    assert_eq!(shapes["b1"], serde_json::json!([4, 1]), "{shapes}");
    assert_eq!(shapes["X"], serde_json::json!([2, 4]), "{shapes}");
    // A 1×1 stays a number, and has no shape listed.
    assert!(doc["derivatives"]["dJ/db2"].is_f64(), "{doc}");
    assert!(shapes.get("b2").is_none(), "{shapes}");
    // The values given come back in their rows.
    assert_eq!(
        doc["values"]["X"],
        serde_json::json!([[1.0, 2.0, -1.0, 0.5], [0.5, -1.0, 2.0, 1.0]])
    );
    assert_eq!(
        doc["reference"]["X"][1][3],
        Value::String("1".into()),
        "{doc}"
    );
    // Every nested array has the shape listed for it.
    for field in ["values", "derivatives", "reference", "error_bits"] {
        for (label, value) in doc[field].as_object().unwrap() {
            let Some(rows) = value.as_array() else {
                continue;
            };
            let shape = shapes[label]
                .as_array()
                .unwrap_or_else(|| panic!("{label}"));
            assert_eq!(
                rows.len() as u64,
                shape[0].as_u64().unwrap(),
                "{field} {label}"
            );
            for row in rows {
                assert_eq!(
                    row.as_array().unwrap().len() as u64,
                    shape[1].as_u64().unwrap(),
                    "{field} {label}"
                );
            }
        }
    }
    // The entries asked for one by one, out of order, stay rows under their own names: the
    // same numbers as the matrix's, entry (i, j) at row i, column j.
    let entries: Vec<String> = (1..=4)
        .rev()
        .flat_map(|i| (1..=2).map(move |j| format!("W1[{i},{j}]")))
        .collect();
    let wrt = entries.join(",");
    let one_by_one = eval_json(&[&wrt]);
    assert!(one_by_one["shapes"].get("dJ/dW1").is_none(), "{one_by_one}");
    for i in 1..=4 {
        for j in 1..=2 {
            let label = format!("dJ/dW1[{i},{j}]");
            for field in ["derivatives", "reference", "error_bits"] {
                assert_eq!(
                    doc[field]["dJ/dW1"][i - 1][j - 1],
                    one_by_one[field][&label],
                    "{field} {label}"
                );
            }
        }
    }
}

/// The lines of the text block under an array's heading (`  dJ/dW1  (4×2)`).
fn block<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with(heading))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect()
}

#[test]
fn text_lines_up_each_matrix_in_its_rows_and_columns() {
    let text = common::stdout_of(
        &[
            "eval", NG, "--at", AT, "--init", "xavier", "--seed", "3", "--all",
        ],
        "",
    );
    let doc = eval_json(&[]);
    let lines = block(&text, "  dJ/dW1  (4×2)");
    // float64, reference and error, four rows each
    assert_eq!(lines.len(), 12, "{text}");
    assert!(lines[0].starts_with("    float64 "), "{text}");
    assert!(lines[4].starts_with("    reference "), "{text}");
    assert!(lines[8].starts_with("    error bits "), "{text}");
    for rows in lines.chunks(4) {
        let open = rows[0].find('[').unwrap();
        let close = rows[0].find(']').unwrap();
        for row in rows {
            assert_eq!(row.find('['), Some(open), "{text}");
            assert_eq!(row.find(']'), Some(close), "{text}");
        }
    }
    // Row i of the float64 matrix is the JSON's row i, each number round-tripping.
    for (i, line) in lines[..4].iter().enumerate() {
        let inside = &line[line.find('[').unwrap() + 1..line.find(']').unwrap()];
        let numbers: Vec<f64> = inside
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let expected: Vec<f64> = doc["derivatives"]["dJ/dW1"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(numbers, expected, "{line}");
    }
    // Values given are shown once: their references read as they do.
    let x = block(&text, "  X  (2×4), float64 and the reference alike");
    assert_eq!(x.len(), 2, "{text}");
    assert_eq!(
        x[1].split_whitespace().collect::<Vec<_>>(),
        ["[", "0.5", "-1", "2", "1", "]"]
    );
    // A computed matrix shows its references, which differ from float64 in the last digits.
    assert_eq!(block(&text, "  A1  (4×4)").len(), 8, "{text}");
}

#[test]
fn each_entry_keeps_its_float64_warning_under_its_own_name() {
    // exp(x) − 1 loses every bit near 0 for the first entry only.
    let source = "input x[2]\ny = exp(x) - 1\ncost C = sum(y)\n";
    let out = common::stdout_of(&["eval", "-", "--at", "x=[1e-12, 1]"], source);
    assert!(out.contains("at y[1]"), "{out}");
    assert!(!out.contains("at y[2]"), "{out}");
    assert!(out.contains("  y  (2×1)\n"), "{out}");
    let doc: Value = serde_json::from_str(&common::stdout_of(
        &["eval", "-", "--at", "x=[1e-12, 1]", "--format", "json"],
        source,
    ))
    .unwrap();
    let at: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["at"].as_str().unwrap())
        .collect();
    assert!(at.contains(&"y[1]"), "{at:?}");
    // the reference of y[1] is 1.0000000000005e-12, far from float64's
    let reference = doc["reference"]["y"][0][0].as_str().unwrap();
    assert!(reference.starts_with("1.0000000000005"), "{reference}");
}

#[test]
fn markdown_latex_and_the_page_write_matrices() {
    let args = |format: &'static str| {
        vec![
            "eval", NG, "--at", AT, "--init", "xavier", "--seed", "3", "--all", "--format", format,
        ]
    };
    let md = common::stdout_of(&args("markdown"), "");
    assert!(
        md.contains("$\\frac{\\partial J}{\\partial W_{1}}$ (4×2), in float64:"),
        "{md}"
    );
    assert!(md.contains("$$\\begin{pmatrix}\n"), "{md}");
    let tex = common::stdout_of(&args("latex"), "");
    assert!(
        tex.contains("\\paragraph{$W_{1}$} ($4 \\times 2$) in float64 and the reference alike:"),
        "{tex}"
    );
    assert_eq!(
        tex.matches("\\begin{pmatrix}").count(),
        tex.matches("\\end{pmatrix}").count()
    );
    let html = common::stdout_of(&args("html"), "");
    assert!(html.contains("<mtable"), "{html}");
    assert!(!html.contains("<span class=\"math-error\""), "{html}");
}

/// The numbers of `tests/numpy/make_fixtures.py`, written by hand.
const NG_VALUES: &str = "X=[[1, 2, -1, 0.5], [0.5, -1, 2, 1]], Y=[1, 0, 1, 0], \
    W1=[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6], [0.7, -0.8]], b1=[0.01, 0.02, -0.03, 0.04], \
    W2=[[0.5, -0.25, 0.125, 1.5]], b2=-0.1";

fn eval_with(extra: &[&str]) -> Value {
    let mut args = vec!["eval", NG, "--all", "--format", "json"];
    args.extend(extra);
    json_of(&args)
}

#[test]
fn numpy_archives_and_files_give_the_values_numpy_saved() {
    let by_hand = eval_with(&["--at", NG_VALUES]);
    // float32 weights, int64 targets and a compressed archive: the same values, and the same
    // references (float32's 0.1 is read as the decimal 0.1).
    let archive = eval_with(&["--values", "tests/numpy/ng_planar.npz"]);
    assert_eq!(archive, by_hand);
    // One array from an .npy file stored column by column, and a flat vector for a 4×1 bias,
    // the rest from the archive; `--at` overrides the archive.
    let at_w1 = "W1=[[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6], [0.7, -0.8]]";
    let rest = NG_VALUES.replace(&format!("{at_w1}, "), "");
    let files = eval_with(&[
        "--at",
        "W1=@tests/numpy/w1_fortran.npy",
        "--at",
        "b1=@tests/numpy/b1_flat.npy",
        "--at",
        &rest.replace("b1=[0.01, 0.02, -0.03, 0.04], ", ""),
    ]);
    assert_eq!(files, by_hand);
    let mixed = eval_with(&["--values", "tests/numpy/ng_planar.npz", "--at", "b2=0.5"]);
    assert_ne!(mixed["derivatives"], by_hand["derivatives"]);
    assert_eq!(mixed["values"]["b2"], serde_json::json!(0.5));
}

#[test]
fn a_numpy_array_of_the_wrong_shape_is_refused_naming_file_array_and_both_shapes() {
    let out = common::run(
        &[
            "eval",
            NG,
            "--all",
            "--at",
            "W1=@tests/numpy/w1_transposed.npy",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "`tests/numpy/w1_transposed.npy` has NumPy shape (2, 4), but `W1` is declared 4×2"
        ),
        "{stderr}"
    );
    // An archive whose array is named for nothing in the program, and a file that is not
    // NumPy's, are refused too.
    let out = common::run(
        &["eval", "-", "--values", "tests/numpy/ng_planar.npz"],
        Some("input X[2, 4]\ncost C = sum(X)\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`Y` in `tests/numpy/ng_planar.npz` is named `Y`, which is not a name"),
        "{stderr}"
    );
    let out = common::run(&["eval", NG, "--at", "W1=@examples/ng_planar.bp"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a NumPy `.npy` file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn step_shows_each_parameter_array_as_matrices_and_json_as_rows() {
    let mut args = vec![
        "step", NG, "--at", AT, "--init", "xavier", "--seed", "3", "--lr", "0.5",
    ];
    let text = common::stdout_of(&args, "");
    let w1 = block(&text, "  W1  (4×2)");
    assert_eq!(w1.len(), 12, "{text}");
    assert!(w1[0].starts_with("    value "), "{text}");
    assert!(w1[4].starts_with("    gradient "), "{text}");
    assert!(w1[8].starts_with("    new value "), "{text}");
    args.extend(["--format", "json"]);
    let step = json_of(&args);
    assert_eq!(step["shapes"]["W1"], serde_json::json!([4, 2]));
    // The gradient is eval's, and the new value θ − η ∂J/∂θ, entry by entry.
    let eval = eval_json(&[]);
    let first = &step["steps"][0];
    assert_eq!(first["gradients"]["W1"], eval["derivatives"]["dJ/dW1"]);
    for i in 0..4 {
        for j in 0..2 {
            let before = eval["values"]["W1"][i][j].as_f64().unwrap();
            let gradient = first["gradients"]["W1"][i][j].as_f64().unwrap();
            let after = first["params"]["W1"][i][j].as_f64().unwrap();
            let expected = before - 0.5 * gradient;
            assert!(
                (after - expected).abs() <= 1e-15 * expected.abs(),
                "W1[{i},{j}]: {after} against {expected}"
            );
        }
    }
    assert!(first["gradients"]["b2"].is_f64());
}

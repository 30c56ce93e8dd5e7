//! The command line as a user meets it: exit codes, standard input, output files, and the
//! rustc-style messages for bad input. Rendered derivations of the seed network are
//! snapshot-tested in all four formats (reviewed by eye when accepted).

use assert_cmd::Command;

mod common;
use predicates::prelude::*;

fn chainrule() -> Command {
    Command::cargo_bin("chainrule").expect("the binary builds")
}

/// Runs `derive` on a program from standard input and returns (exit code, stderr).
fn derive_stdin(program: &str) -> (i32, String) {
    let out = chainrule()
        .args(["derive", "-", "--all"])
        .write_stdin(program)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_built_in_example_derives_without_a_file() {
    chainrule()
        .args(["derive", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "∂C/∂w2 = −2(y − a3)·a3(1 − a3)·w3·a2(1 − a2)·x",
        ));
}

#[test]
fn snapshot_text() {
    let out = chainrule()
        .args(["derive", "--wrt", "w3"])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn snapshot_markdown() {
    let out = chainrule()
        .args(["derive", "--wrt", "w2", "--format", "markdown"])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn snapshot_latex() {
    let out = chainrule()
        .args(["derive", "--wrt", "b3", "--format", "latex", "--standalone"])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn snapshot_json() {
    let out = chainrule()
        .args([
            "derive",
            "--all",
            "--no-steps",
            "--expand",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn snapshot_backprop_style() {
    let out = chainrule()
        .args([
            "derive",
            "examples/mazur_2_2_2.bp",
            "--wrt",
            "w1,w5",
            "--style",
            "backprop",
        ])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn every_plain_formula_in_json_parses_back_to_the_same_value() {
    let out = chainrule()
        .args(["derive", "--all", "--expand", "--format", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut model = chainrule::load(chainrule::BUILTIN_EXAMPLE).unwrap();
    let leaves: Vec<_> = model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .collect();
    let point = |s: chainrule::Sym| {
        leaves.iter().position(|&l| l == s).map(|i| {
            chainrule::core::eval::Precise::from_f64([0.4, -0.7, 1.3, 0.2, -0.9, 0.6][i % 6])
        })
    };
    let mut checked = 0;
    for d in doc["derivatives"].as_array().unwrap() {
        let formulas = [
            d["result"].as_str().unwrap().to_string(),
            d["expanded"].as_str().unwrap().to_string(),
        ];
        let step_sides: Vec<Vec<String>> = d["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|step| {
                step["text"]
                    .as_str()
                    .unwrap()
                    .split(" = ")
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        let target = d["target"].as_str().unwrap();
        let expected = chainrule::formula(&mut model, target).unwrap();
        let value = |model: &mut chainrule::Model, id| {
            let r = chainrule::core::diff::resolve_derivatives(model, id);
            let e = chainrule::core::diff::expand(model, &[r])[0];
            chainrule::core::eval::eval_precise(&model.graph, &[e], &point, 256).unwrap()[0]
                .to_f64()
        };
        let want = value(&mut model, expected);
        for f in [&formulas[0], &formulas[1]] {
            let id = chainrule::formula(&mut model, f)
                .unwrap_or_else(|e| panic!("`{f}` does not parse: {e}"));
            let got = value(&mut model, id);
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "`{f}` = {got}, want {want}"
            );
            checked += 1;
        }
        // Each step's sides parse back and have one value (the seed network has no skip
        // connection, so a local ∂u/∂v and the total derivative agree).
        for sides in &step_sides {
            let values: Vec<f64> = sides
                .iter()
                .map(|f| {
                    let id = chainrule::formula(&mut model, f)
                        .unwrap_or_else(|e| panic!("step text `{f}` does not parse: {e}"));
                    value(&mut model, id)
                })
                .collect();
            for (f, v) in sides.iter().zip(&values) {
                assert!(
                    (v - values[0]).abs() <= 1e-12 * values[0].abs().max(1.0),
                    "step side `{f}` = {v}, but `{}` = {}",
                    sides[0],
                    values[0]
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 20);
}

#[test]
fn standard_input_is_read_with_a_dash() {
    chainrule()
        .args(["derive", "-", "--wrt", "w", "--no-steps"])
        .write_stdin("input x\nparam w\ncost C = (w*x)^2\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("result:    ∂C/∂w = 2w·x^2"));
}

#[test]
fn output_file_is_written_on_success_only() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.txt");
    chainrule()
        .args(["derive", "--all", "-o"])
        .arg(&good)
        .assert()
        .success()
        .stdout("");
    assert!(std::fs::read_to_string(&good).unwrap().contains("∂C/∂w3"));
    let bad = dir.path().join("bad.txt");
    chainrule()
        .args(["derive", "-", "--all", "-o"])
        .arg(&bad)
        .write_stdin("input x\ncost C = x +\n")
        .assert()
        .code(2);
    assert!(!bad.exists());
}

#[test]
fn a_template_directory_overrides_a_built_in_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("derive.txt"),
        "<% for d in derivations %>[<< d.target >>] << d.result >>\n<% endfor %>",
    )
    .unwrap();
    chainrule()
        .args(["derive", "--wrt", "b3", "--template-dir"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout("[dC/db3] ∂C/∂b3 = −2(y − a3)·a3(1 − a3)\n");
}

/// The built-in templates lay out each step's rows; a template of the user's is still handed
/// each step's members (`lhs`, `rhs`).
#[test]
fn a_template_of_the_users_gets_each_steps_members() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("derive.txt"),
        "<% for d in derivations %><% for s in d.steps %>\
         << s.lhs >> | << s.rhs | join(sep=\" | \") >>\n<% endfor %><% endfor %>",
    )
    .unwrap();
    let out = chainrule()
        .args(["derive", "--wrt", "b3", "--template-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"∂C/∂b3 | ∂C/∂a3·∂a3/∂z3·∂z3/∂b3"));
    assert!(lines.contains(&"∂a3/∂z3 | ∂/∂z3 (σ(z3)) | σ'(z3) | σ(z3)(1 − σ(z3))"));
    assert_eq!(lines.last(), Some(&"∂C/∂b3 | −2(y − a3)·a3(1 − a3)"));
}

#[test]
fn usage_errors_exit_2() {
    chainrule().args(["derive"]).assert().code(2);
    chainrule()
        .args(["derive", "--all", "--wrt", "w3"])
        .assert()
        .code(2);
    chainrule()
        .args(["derive", "--all", "--format", "pdf"])
        .assert()
        .code(2);
    chainrule()
        .args(["derive", "no/such/file.bp", "--all"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
}

#[test]
fn an_unknown_target_names_the_nearest_one() {
    chainrule()
        .args(["derive", "--wrt", "w33"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown name `w33`")
                .and(predicate::str::contains("did you mean `w3`?")),
        );
}

#[test]
fn an_unknown_name_suggests_the_nearest_declared_one() {
    let (code, err) = derive_stdin("input x\nparam w2\nz2 = w2*x\ncost C = (z3 - 1)^2\n");
    assert_eq!(code, 2);
    assert!(err.contains("unknown name `z3`"), "{err}");
    assert!(err.contains("did you mean `z2`?"), "{err}");
    assert!(err.contains("<stdin>:4:11"), "{err}");
    assert!(err.contains('^'), "{err}");
}

#[test]
fn a_name_assigned_twice_names_both_lines() {
    let (code, err) = derive_stdin("input x\nparam w\nz = w*x\nz = w + x\ncost C = z\n");
    assert_eq!(code, 2);
    assert!(err.contains("`z` is assigned twice"), "{err}");
    assert!(err.contains("<stdin>:4:1"), "{err}");
    assert!(err.contains("first assigned here"), "{err}");
}

#[test]
fn a_name_used_before_its_assignment_names_both_lines() {
    let (code, err) = derive_stdin("input x\nparam w\na = sigmoid(z)\nz = w*x\ncost C = a\n");
    assert_eq!(code, 2);
    assert!(err.contains("`z` is used before its assignment"), "{err}");
    assert!(err.contains("is assigned here, later"), "{err}");
}

#[test]
fn a_cycle_is_an_error() {
    let (code, err) = derive_stdin("input x\na = b + x\nb = a * x\ncost C = a\n");
    assert_eq!(code, 2);
    assert!(err.contains("cycle"), "{err}");
}

#[test]
fn an_unknown_function_lists_the_built_ins() {
    let (code, err) = derive_stdin("input x\nparam w\na = sigmod(w*x)\ncost C = a\n");
    assert_eq!(code, 2);
    assert!(err.contains("sigmod"), "{err}");
    assert!(err.contains("sigmoid"), "{err}");
}

#[test]
fn empty_no_cost_and_non_utf8_inputs_are_errors() {
    let (code, err) = derive_stdin("# nothing here\n");
    assert_eq!(code, 2);
    assert!(err.contains("empty"), "{err}");
    let (code, err) = derive_stdin("input x\nparam w\nz = w*x\n");
    assert_eq!(code, 2);
    assert!(err.contains("no cost"), "{err}");
    let out = chainrule()
        .args(["derive", "-", "--all"])
        .write_stdin(b"input x\ncost C = x\xff\n".to_vec())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
}

#[test]
fn deep_nesting_and_long_lines_end_in_an_error_or_a_result_never_a_crash() {
    let deep = format!(
        "input x\ncost C = {}x{}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let (code, err) = derive_stdin(&deep);
    assert_eq!(code, 2);
    assert!(err.contains("nested too deeply"), "{err}");
    let long = format!("input x\ncost C = {}x\n", "x + ".repeat(300_000));
    let (code, err) = derive_stdin(&long);
    assert!(code == 0 || code == 2, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `--standalone` LaTeX compiles with pdflatex. CI installs pdflatex (`.ci/run`); elsewhere
/// the test runs when pdflatex is on the PATH and says so when it is not.
#[test]
fn standalone_latex_compiles_with_pdflatex() {
    if common::tools::pdflatex_available() {
        compile_every_standalone_document();
    }
}

fn compile_every_standalone_document() {
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in [
        ("seed", vec!["derive", "--all", "--expand"]),
        (
            // A run that diverges: its verdict carries η, θ ← θ + η∂C/∂θ and option names.
            "train",
            vec![
                "train",
                "examples/seed_training.bp",
                "--ascent",
                "--epochs",
                "60",
            ],
        ),
        (
            "mazur",
            vec![
                "derive",
                "examples/mazur_2_2_2.bp",
                "--all",
                "--style",
                "backprop",
            ],
        ),
        (
            // A worksheet: diagnoses carry σ, ∂, η and formulas in backticks.
            "worksheet",
            vec![
                "check",
                "--claim",
                "dC/dw2 = 2(a3-y)(sigmoid(z3) - (1 - sigmoid(z3))) w3 a2(1-a2) x",
                "--claim",
                r"w_3' = w_3 + \eta \frac{\partial C}{\partial w_3}",
                "--claim",
                "dC/dw3 = -2(y - a3) a3(1 - a3) a2",
            ],
        ),
        (
            "layers",
            vec!["derive", "examples/network_2_3_1.bp", "--layers"],
        ),
        ("layers_l2", vec!["derive", "-", "--layers"]),
        (
            // Values, derivatives, the stable form, a gradient check and a saturation warning
            // whose sentence carries σ, − and ·.
            "eval",
            vec![
                "eval",
                "examples/seed_question.bp",
                "--at",
                "a1=62.5,w2=0.8,y=0",
                "--all",
                "--stable",
                "--check-grad",
            ],
        ),
        (
            // A vector program's arrays as matrices (pmatrix), with their references.
            "eval_arrays",
            vec![
                "eval",
                "examples/ng_planar.bp",
                "--at",
                "X=[[1, 2, -1, 0.5], [0.5, -1, 2, 1]], Y=[1, 0, 1, 0]",
                "--init",
                "xavier",
                "--all",
            ],
        ),
        (
            "eval_shorthand",
            vec![
                "eval",
                "-",
                "--init",
                "xavier",
                "--at",
                "x1=0.5,x2=-0.2,x3=0.1,y1=1,y2=0,y3=0,lambda=0.1,n=4",
                "--all",
                "--check-grad",
            ],
        ),
    ] {
        let tex = dir.path().join(format!("{name}.tex"));
        let status = chainrule()
            .args(&args)
            .args(["--format", "latex", "--standalone", "-o"])
            .arg(&tex)
            .write_stdin(
                "network 3-4-4-3\nactivation tanh\nactivation 3 relu\nactivation 4 softmax\n\
                 cost log-likelihood\nregularization l2\n",
            )
            .output()
            .unwrap()
            .status;
        // `check` exits 1 when a claim is wrong; the document is written all the same.
        assert!(matches!(status.code(), Some(0 | 1)), "{name}: {status}");
        common::tools::compile_latex(&tex);
        assert!(dir.path().join(format!("{name}.pdf")).exists());
        // No line runs past the margin by more than 20 pt (tests/typeset.rs checks many more).
        let log = std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap();
        for line in log.lines().filter(|l| l.starts_with("Overfull \\hbox (")) {
            let points: f64 = line["Overfull \\hbox (".len()..]
                .split("pt")
                .next()
                .and_then(|pt| pt.parse().ok())
                .unwrap_or(f64::INFINITY);
            assert!(points <= 20.0, "{name}: {line}");
        }
    }
}

// ---- the network shorthand (issue 5) --------------------------------------------------------

const NETWORK_EXAMPLES: [&str; 3] = [
    "examples/network_2_3_1.bp",
    "examples/softmax_classifier.bp",
    "examples/mnist_784_30_10.bp",
];

/// `--at` values for every input, target and parameter of a program: small, varied, nonzero.
fn values_for(file: &str) -> String {
    let source = std::fs::read_to_string(file).unwrap();
    let model = chainrule::load(&source).unwrap();
    let leaves: Vec<String> = model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .enumerate()
        .map(|(i, s)| {
            let value = ((i * 7919) % 41) as f64 / 40.0 - 0.5;
            // Targets declared one-hot (the log-likelihood shorthand) are a class label.
            let value = match model.one_hot.iter().find(|group| group.contains(&s)) {
                Some(group) if group[0] == s => 1.0,
                Some(_) => 0.0,
                None => value,
            };
            format!("{}={value}", model.name(s))
        })
        .collect();
    leaves.join(",")
}

#[test]
fn expand_prints_a_program_that_parses_back_to_the_same_network() {
    for file in NETWORK_EXAMPLES {
        let out = chainrule().args(["expand", file]).output().unwrap();
        assert!(out.status.success(), "{file}");
        let text = String::from_utf8(out.stdout).unwrap();
        let from_file = chainrule::load(&std::fs::read_to_string(file).unwrap()).unwrap();
        let from_expansion = chainrule::load(&text).unwrap();
        let names = |m: &chainrule::Model| -> Vec<String> {
            m.symbols.iter().map(|s| s.name.clone()).collect()
        };
        assert_eq!(names(&from_file), names(&from_expansion), "{file}");
    }
    chainrule()
        .args(["expand", "examples/network_2_3_1.bp"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "z2_3 = w2_3_1*x1 + w2_3_2*x2 + b2_3\n",
        ))
        .stdout(predicate::str::contains("cost C = (y1 - a3_1)^2\n"));
    // A straight-line program is already expanded; without a file, the built-in example.
    chainrule()
        .args(["expand"])
        .assert()
        .success()
        .stdout(chainrule::BUILTIN_EXAMPLE);
}

#[test]
fn derive_eval_and_step_work_unchanged_on_the_network_examples() {
    for file in &NETWORK_EXAMPLES[..2] {
        let at = values_for(file);
        chainrule()
            .args(["derive", file, "--all"])
            .assert()
            .success()
            .stdout(predicate::str::contains("── ∂C/∂w2_1_1"));
        chainrule()
            .args([
                "eval",
                file,
                "--at",
                &at,
                "--wrt",
                "w2_1_1,b3_1",
                "--check-grad",
            ])
            .assert()
            .success()
            .stdout(predicate::str::contains("cost C = "));
        let out = chainrule()
            .args([
                "step", file, "--at", &at, "--lr", "0.1", "--steps", "3", "--format", "json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let steps = doc["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 3);
        let costs: Vec<f64> = steps.iter().map(|s| s["cost"].as_f64().unwrap()).collect();
        assert!(
            costs[2] < costs[0],
            "{file}: descent lowers the cost: {costs:?}"
        );
    }
    chainrule()
        .args([
            "derive",
            "examples/network_2_3_1.bp",
            "--wrt",
            "w3_1_2",
            "--no-steps",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "∂C/∂w3_1_2 = −2(y1 − a3_1)·a3_1(1 − a3_1)·a2_2",
        ));
}

#[test]
fn mnist_784_30_10_derives_every_gradient() {
    let out = chainrule()
        .args([
            "derive",
            "examples/mnist_784_30_10.bp",
            "--all",
            "--no-steps",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let derivatives = doc["derivatives"].as_array().unwrap();
    assert_eq!(derivatives.len(), 784 * 30 + 30 + 30 * 10 + 10);
    let b = derivatives
        .iter()
        .find(|d| d["target"] == "dC/db3_7")
        .unwrap();
    // The output error term is shared by 31 gradients and 30 hidden paths: it is named once.
    assert_eq!(b["result"], "delta3_7");
    let terms = doc["terms"].as_array().unwrap();
    assert_eq!(
        terms.len(),
        10 + 30,
        "one term per output and per hidden neuron"
    );
    let delta = terms.iter().find(|t| t["name"] == "delta3_7").unwrap();
    assert_eq!(delta["target"], "dC/dz3_7");
    assert_eq!(delta["definition"], "-2(y7 - a3_7)*a3_7(1 - a3_7)");
    let hidden = derivatives
        .iter()
        .find(|d| d["target"] == "dC/dw2_5_100")
        .unwrap();
    assert_eq!(hidden["result"], "delta2_5*x100");
}

#[test]
fn bad_network_shorthand_exits_2_with_a_caret() {
    chainrule()
        .args(["expand", "-"])
        .write_stdin("network 2-3-1\nactivation 2 softmax\n")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("<stdin>:2:14"))
        .stderr(predicate::str::contains(
            "^^^^^^^ softmax is for the output layer only",
        ));
    chainrule()
        .args(["derive", "-", "--all"])
        .write_stdin("network 2-3-1\ncost quadratik\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `quadratic`?"));
}

#[test]
fn derive_layers_prints_the_backprop_equations_in_every_format() {
    chainrule()
        .args(["derive", "examples/network_2_3_1.bp", "--layers"])
        .assert()
        .success()
        .stdout(predicate::str::contains("BP1: δ3 = −2(y − a3)·a3(1 − a3)"))
        .stdout(predicate::str::contains(
            "BP2: δ2 = δ3(W3ᵀ ⊙ a2 ⊙ (1 − a2))",
        ))
        .stdout(predicate::str::contains("BP4: ∂C/∂W2 = δ2 xᵀ"));
    chainrule()
        .args(["derive", "examples/softmax_classifier.bp", "--layers"])
        .assert()
        .success()
        .stdout(predicate::str::contains("BP1: δ3 = a3 − y"))
        .stdout(predicate::str::contains("BP2: δ2 = (W3ᵀ δ3) ⊙ (1 − a2^2)"));
    for (format, marker) in [
        ("markdown", "\\delta^{(2)} = \\delta^{(3)}"),
        ("latex", "\\begin{align*}"),
        ("json", "\"label\": \"BP4\""),
    ] {
        chainrule()
            .args([
                "derive",
                "examples/network_2_3_1.bp",
                "--layers",
                "--format",
                format,
            ])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker));
    }
    // The layered derivation needs the shorthand; a straight-line program is refused.
    chainrule()
        .args(["derive", "--layers"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "needs a network written with the `network` shorthand",
        ));
    chainrule()
        .args(["derive", "examples/network_2_3_1.bp", "--layers", "--all"])
        .assert()
        .code(2);
}

#[test]
fn snapshot_layers_text() {
    let out = chainrule()
        .args(["derive", "examples/network_2_3_1.bp", "--layers"])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn snapshot_layers_softmax_markdown() {
    let out = chainrule()
        .args([
            "derive",
            "examples/softmax_classifier.bp",
            "--layers",
            "--format",
            "markdown",
        ])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn a_template_directory_overrides_the_layers_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("layers.txt"),
        "<% for q in quantities %><< q.label >>: << q.rows | join(sep=\" \") >>\n<% endfor %>",
    )
    .unwrap();
    chainrule()
        .args([
            "derive",
            "examples/network_2_3_1.bp",
            "--layers",
            "--template-dir",
        ])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(
            "BP1: δ3 = −2(y − a3)·a3(1 − a3)\n\
             BP2: δ2 = δ3(W3ᵀ ⊙ a2 ⊙ (1 − a2))\n\
             BP3: ∂C/∂b2 = δ2\n\
             BP3: ∂C/∂b3 = δ3\n\
             BP4: ∂C/∂W2 = δ2 xᵀ\n\
             BP4: ∂C/∂W3 = δ3 a2ᵀ\n",
        );
}

/// The softmax shorthand declares its targets one-hot and its derivatives use Σy = 1: `eval`
/// and `step` refuse targets that do not sum to one rather than print a wrong gradient, and
/// `derive` states the assumption as a step.
#[test]
fn one_hot_targets_are_used_and_enforced() {
    let program = "network 2-2-3\nactivation sigmoid\nactivation 3 softmax\ncost log-likelihood\n";
    chainrule()
        .args(["derive", "-", "--wrt", "b3_1"])
        .write_stdin(program)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "∂C/∂b3_1 = a3_1 − y1    (simplify: the targets are one-hot, so they sum to 1)",
        ))
        .stdout(predicate::str::contains("result:    ∂C/∂b3_1 = a3_1 − y1"));
    let at = "x1=0.5,x2=-1,y1=0.2,y2=0.3,y3=0.2,w2_1_1=0.1,w2_1_2=0.2,w2_2_1=0.3,w2_2_2=0.4,b2_1=0,b2_2=0,w3_1_1=0.1,w3_1_2=0.2,w3_2_1=0.3,w3_2_2=0.4,w3_3_1=0.5,w3_3_2=0.6,b3_1=0,b3_2=0,b3_3=0";
    for command in [
        vec!["eval", "-", "--all", "--at", at],
        vec!["step", "-", "--lr", "0.1", "--at", at],
    ] {
        chainrule()
            .args(&command)
            .write_stdin(program)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(
                "the targets y1, y2, y3 are declared one-hot, so they must sum to 1; the values given sum to 0.7",
            ));
    }
    let at = at.replace("y3=0.2", "y3=0.5");
    chainrule()
        .args(["eval", "-", "--wrt", "b3_1", "--at", &at])
        .write_stdin(program)
        .assert()
        .success();
}

//! `chainrule train`: the seed question's training loop converges (checked by recomputing the
//! network's output from the trained parameters by hand), its ascent rule is reported rising,
//! a rate too large, a blow-up and a saturated neuron are each named, batch training agrees
//! with `step`, and bad data is refused with a caret.

mod common;

use assert_cmd::Command;
use serde_json::Value;

const SEED_TRAINING: &str = "examples/seed_training.bp";

fn chainrule() -> Command {
    Command::cargo_bin("chainrule").expect("the binary builds")
}

/// `chainrule train ARGS --format json`, parsed.
fn json(args: &[&str]) -> Value {
    common::json_of(&[&["train"], args].concat(), "")
}

/// The message of `chainrule train ARGS`'s refusal.
fn failure(args: &[&str]) -> String {
    common::refusal(&[&["train"], args].concat())
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn param(doc: &Value, name: &str) -> f64 {
    doc["params"][name].as_f64().expect("a trained parameter")
}

fn last_cost(doc: &Value) -> f64 {
    doc["epochs"].as_array().unwrap().last().unwrap()["cost"]
        .as_f64()
        .unwrap()
}

fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let path = path.display().to_string();
    (dir, path)
}

#[test]
fn seed_training_converges_to_one_for_every_even_number() {
    let doc = json(&[SEED_TRAINING]);
    assert_eq!(doc["diverged"], Value::Null);
    let epochs = doc["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 1000);
    let cost = last_cost(&doc);
    assert!(cost < 1e-4, "final mean cost {cost}");
    assert!(cost < doc["initial_cost"].as_f64().unwrap() / 1000.0);
    // f(x) = σ(w3·σ(w2·x + b2) + b3), computed here from the trained parameters.
    let (w2, b2, w3, b3) = (
        param(&doc, "w2"),
        param(&doc, "b2"),
        param(&doc, "w3"),
        param(&doc, "b3"),
    );
    let mut mean_cost = 0.0;
    for x in [2.0, 4.0, 6.0, 8.0] {
        let f = sigmoid(w3 * sigmoid(w2 * x + b2) + b3);
        assert!(f > 0.9, "f({x}) = {f}");
        mean_cost += (1.0 - f).powi(2) / 4.0;
    }
    // The reported cost is the mean cost at the trained parameters.
    assert!((mean_cost - cost).abs() <= 1e-12 * cost.max(1e-300) + 1e-15);
    for e in epochs {
        assert!(e["gradient_norm"].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn the_seed_answers_ascent_rule_is_reported_rising() {
    let doc = json(&[SEED_TRAINING, "--ascent"]);
    assert_eq!(doc["diverged_kind"], "ascent");
    let text = doc["diverged"].as_str().unwrap();
    assert!(text.contains("adds the gradient"), "{text}");
    assert!(text.contains("--ascent"), "{text}");
    assert!(last_cost(&doc) > doc["initial_cost"].as_f64().unwrap());
    assert!(
        last_cost(&doc) > 0.9,
        "ascent drives f to 0: {}",
        last_cost(&doc)
    );

    let out = chainrule()
        .args(["train", SEED_TRAINING, "--ascent", "--epochs", "50"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("θ ← θ + η·∂C/∂θ (gradient ascent)"), "{text}");
    assert!(
        text.contains("warning: the update adds the gradient"),
        "{text}"
    );
}

#[test]
fn a_negative_learning_rate_points_at_ascent() {
    let message = failure(&[SEED_TRAINING, "--lr", "-0.5"]);
    assert!(message.contains("--ascent --lr 0.5"), "{message}");
}

const LINEAR: &str = "input x\ntarget y\nparam w\ncost C = (w*x - y)^2\n";
const LINEAR_DATA: &str = "x,y\n1,1\n2,2\n3,3\n";

#[test]
fn a_rate_too_large_and_a_blow_up_are_told_apart() {
    let (_d1, program) = temp_file("linear.bp", LINEAR);
    let (_d2, data) = temp_file("linear.csv", LINEAR_DATA);
    let args = [
        program.as_str(),
        "--data",
        &data,
        "--lr",
        "0.3",
        "--at",
        "w=0",
    ];
    let mut short = args.to_vec();
    short.extend(["--epochs", "5"]);
    let doc = json(&short);
    assert_eq!(doc["diverged_kind"], "rate-too-large");
    assert!(
        doc["diverged"]
            .as_str()
            .unwrap()
            .contains("η = 0.3 is too large")
    );

    let mut long = args.to_vec();
    long.extend(["--epochs", "5000"]);
    let doc = json(&long);
    assert_eq!(doc["diverged_kind"], "not-finite");
    let run = doc["epochs"].as_array().unwrap().len();
    assert!(
        run < 5000,
        "the run stops at the blow-up, not after {run} epochs"
    );
    let text = doc["diverged"].as_str().unwrap();
    assert!(text.contains(&format!("in epoch {run} ")), "{text}");

    // The same rate ten times smaller learns w = 1.
    let mut small = args.to_vec();
    small[4] = "0.03";
    small.extend(["--epochs", "200"]);
    let doc = json(&small);
    assert_eq!(doc["diverged"], Value::Null);
    assert!((param(&doc, "w") - 1.0).abs() < 1e-9);
}

#[test]
fn the_seed_questions_saturated_neuron_is_named() {
    let (_d, data) = temp_file("seed.csv", "a1,y\n62.5,0\n");
    let doc = json(&[
        "examples/seed_question.bp",
        "--data",
        &data,
        "--at",
        "w2=0.8",
        "--epochs",
        "100",
    ]);
    assert_eq!(doc["diverged_kind"], "saturated");
    let text = doc["diverged"].as_str().unwrap();
    assert!(text.starts_with("a2 saturated at epoch 1:"), "{text}");
    assert!(text.contains("slope at z2"), "{text}");
    // w2 barely moved: σ'(50) ≈ 2e-22.
    assert!((param(&doc, "w2") - 0.8).abs() < 1e-15);
}

#[test]
fn batch_training_takes_the_same_steps_as_step() {
    // One example, every parameter given: a batch epoch is one step of `step`.
    let (_d, data) = temp_file("one.csv", "x,y\n1.5,0.25\n");
    let start = "w2=0.8,b2=0.1,w3=-0.5,b3=0.2";
    let trained = json(&[
        "--data", &data, "--batch", "--at", start, "--epochs", "3", "--lr", "0.7",
    ]);
    let out = chainrule()
        .args(["step", "--at", &format!("x=1.5,y=0.25,{start}")])
        .args(["--lr", "0.7", "--steps", "3", "--format", "json"])
        .output()
        .unwrap();
    let stepped: Value = serde_json::from_slice(&out.stdout).unwrap();
    let last = &stepped["steps"][2];
    for name in ["w2", "b2", "w3", "b3"] {
        assert_eq!(
            param(&trained, name),
            last["params"][name].as_f64().unwrap(),
            "{name}"
        );
    }
    assert_eq!(last_cost(&trained), last["cost_after"].as_f64().unwrap());
}

#[test]
fn shuffling_is_reproducible_by_its_seed() {
    let run = |seed: &str| json(&[SEED_TRAINING, "--shuffle", "--seed", seed, "--epochs", "20"]);
    assert_eq!(run("7"), run("7"));
    assert_ne!(run("7")["params"], run("8")["params"]);
    let doc = json(&[SEED_TRAINING, "--init", "zeros", "--epochs", "1"]);
    for name in ["w2", "b2", "w3", "b3"] {
        assert_eq!(doc["initial_params"][name], 0.0);
    }
    let doc = json(&[SEED_TRAINING, "--init", "xavier", "--epochs", "1"]);
    assert_eq!(doc["initial_params"]["b2"], 0.0, "biases start at 0");
    let w2 = doc["initial_params"]["w2"].as_f64().unwrap();
    // One weight in, one reader out: Glorot's limit √(6/2).
    assert!(w2 != 0.0 && w2.abs() <= 3f64.sqrt(), "{w2}");
}

#[test]
fn the_loss_curve_is_an_svg_with_o_and_inline_in_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("loss.svg");
    chainrule()
        .args(["train", SEED_TRAINING, "--epochs", "50", "-o"])
        .arg(&svg)
        .assert()
        .success();
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.starts_with("<svg"), "{}", &picture[..80]);
    assert!(picture.contains("mean cost C per epoch"));
    // The curve: one point for the start and each epoch.
    let line = picture
        .lines()
        .find(|l| l.contains("<polyline") && l.to_lowercase().contains("#1f6fb4"))
        .expect("the curve's polyline");
    let points = line.split("points=\"").nth(1).unwrap();
    assert_eq!(points.split(' ').filter(|p| p.contains(',')).count(), 51);

    let out = chainrule()
        .args([
            "train",
            SEED_TRAINING,
            "--epochs",
            "50",
            "--format",
            "markdown",
        ])
        .output()
        .unwrap();
    let markdown = String::from_utf8(out.stdout).unwrap();
    assert!(markdown.contains("<svg"));
    assert!(markdown.contains("| $w_{2}$ |"), "{markdown}");
}

#[test]
fn the_text_report_lists_the_outputs_after_training() {
    let out = chainrule()
        .args(["train", SEED_TRAINING, "--epochs", "400"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("f after training:"), "{text}");
    assert!(text.contains("x = 8  →  0.9"), "{text}");
    assert!(
        text.contains("(one epoch in 20 shown; JSON has them all)"),
        "{text}"
    );
    assert!(text.contains("mean cost C: 0.218106 → "), "{text}");
}

#[test]
fn bad_data_is_refused_with_a_caret() {
    let message = failure(&["examples/seed.bp"]);
    assert!(message.contains("has no training data"), "{message}");

    let (_d, program) = temp_file(
        "short_row.bp",
        "input x\ntarget y\nparam w\ncost C = (w*x - y)^2\ndata x, y\n  1, 2\n  3\nend\n",
    );
    let message = failure(&[&program]);
    assert!(
        message.contains("this row has 1 value but the data block has 2 columns"),
        "{message}"
    );
    assert!(message.contains(":7:3"), "{message}");

    let (_d, program) = temp_file(
        "param_column.bp",
        "input x\ntarget y\nparam w\ncost C = (w*x - y)^2\ndata x, w\n1, 2\nend\n",
    );
    let message = failure(&[&program]);
    assert!(
        message.contains("`w` is a parameter, not an input or a target"),
        "{message}"
    );

    let (_d, csv) = temp_file("missing.csv", "x\n1\n");
    let message = failure(&[SEED_TRAINING, "--data", &csv]);
    assert!(
        message.contains("the data has no column for `y`"),
        "{message}"
    );

    let (_d, csv) = temp_file("word.csv", "x,y\n1,one\n");
    let message = failure(&[SEED_TRAINING, "--data", &csv]);
    assert!(message.contains("`one` is not a number"), "{message}");
    assert!(message.contains("word.csv:2:3"), "{message}");

    let message = failure(&[SEED_TRAINING, "--at", "x=2"]);
    assert!(
        message.contains("`x` has a column in the data and is also given one value"),
        "{message}"
    );
    let message = failure(&[SEED_TRAINING, "--at", "a2=0.5"]);
    assert!(message.contains("`a2` is not a parameter"), "{message}");
}

#[test]
fn a_data_block_may_use_semicolons_and_comments() {
    let (_d, program) = temp_file(
        "inline.bp",
        "input x\ntarget y\nparam w\ncost C = (w*x - y)^2\ndata x, y; 1, -2 # first\n2, −4; end\n",
    );
    let doc = json(&[&program, "--lr", "0.05", "--epochs", "300"]);
    assert!((param(&doc, "w") + 2.0).abs() < 1e-9, "{doc}");
}

#[test]
fn train_starts_from_the_same_draw_as_values_eval_and_step() {
    // One initialiser for every command: the parameters `train` starts from are those
    // `values --init … --seed …` writes, for each rule and seed.
    for (init, seed) in [("xavier", "3"), ("random", "5"), ("zeros", "1")] {
        let doc = json(&[
            SEED_TRAINING,
            "--init",
            init,
            "--seed",
            seed,
            "--epochs",
            "1",
        ]);
        let out = chainrule()
            .args(["values", SEED_TRAINING, "--init", init, "--seed", seed])
            .output()
            .unwrap();
        let values = String::from_utf8(out.stdout).unwrap();
        for name in ["w2", "b2", "w3", "b3"] {
            let written: f64 = values
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name} = ")))
                .unwrap_or_else(|| panic!("{name} in {values}"))
                .parse()
                .unwrap();
            assert_eq!(doc["initial_params"][name], written, "{init} {seed} {name}");
        }
    }
}

/// A one-layer vector program trained on two examples of a CSV file.
const VECTOR_PROGRAM: &str = "input x[2]
target y[2]
param W[2, 2], b[2]
a = sigmoid(W x + b)
cost C = sum((a - y)^2)
";
const VECTOR_DATA: &str = "x[1],x[2],y[1],y[2]\n0.5,0.2,1,0\n0.1,0.9,0,1\n";

/// `train` on [`VECTOR_PROGRAM`]: one batch step of η = 0.5 from a given start.
fn vector_training(format: &str) -> String {
    let (_dir, program) = temp_file("layer.bp", VECTOR_PROGRAM);
    let data = program.replace("layer.bp", "layer.csv");
    std::fs::write(&data, VECTOR_DATA).unwrap();
    let out = chainrule()
        .args([
            "train", &program, "--data", &data, "--epochs", "1", "--batch",
        ])
        .args([
            "--lr",
            "0.5",
            "--at",
            "W=[[0.1, 0.2], [0.3, -0.4]], b=[0.05, -0.05]",
        ])
        .args(["--format", format])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_vector_programs_parameters_are_printed_as_arrays() {
    // The step by hand: a = σ(W x + b), ∂C/∂z = 2(a − y) a(1 − a), ∂C/∂W = ∂C/∂z xᵀ, the
    // mean over the two examples.
    let w = [[0.1, 0.2], [0.3, -0.4]];
    let b = [0.05, -0.05];
    let examples = [([0.5, 0.2], [1.0, 0.0]), ([0.1, 0.9], [0.0, 1.0])];
    let mut grad_w = [[0.0; 2]; 2];
    let mut grad_b = [0.0; 2];
    for (x, y) in examples {
        for i in 0..2 {
            let a = sigmoid(w[i][0] * x[0] + w[i][1] * x[1] + b[i]);
            let dz = 2.0 * (a - y[i]) * a * (1.0 - a) / 2.0;
            grad_b[i] += dz;
            for j in 0..2 {
                grad_w[i][j] += dz * x[j];
            }
        }
    }
    let trained_w: Vec<Vec<f64>> = (0..2)
        .map(|i| (0..2).map(|j| w[i][j] - 0.5 * grad_w[i][j]).collect())
        .collect();
    let trained_b: Vec<Vec<f64>> = (0..2).map(|i| vec![b[i] - 0.5 * grad_b[i]]).collect();

    // JSON: each array whole, as its rows, with its shape
    let doc: Value = serde_json::from_str(&vector_training("json")).unwrap();
    let rows = |v: &Value| -> Vec<Vec<f64>> {
        serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"))
    };
    assert_eq!(
        rows(&doc["initial_params"]["W"]),
        vec![vec![0.1, 0.2], vec![0.3, -0.4]]
    );
    assert_eq!(
        rows(&doc["initial_params"]["b"]),
        vec![vec![0.05], vec![-0.05]]
    );
    for (got, want) in [
        (rows(&doc["params"]["W"]), &trained_w),
        (rows(&doc["params"]["b"]), &trained_b),
    ] {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    }
    assert_eq!(doc["shapes"]["W"], serde_json::json!([2, 2]));
    assert_eq!(doc["shapes"]["b"], serde_json::json!([2, 1]));
    assert!(doc["params"].get("W[1,1]").is_none());

    // text: a block per array, the start and the trained rows aligned in brackets
    let text = vector_training("text");
    let block: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("W  (2×2)"))
        .take(5)
        .collect();
    assert_eq!(block.len(), 5, "{text}");
    assert!(block[1].trim_start().starts_with("start"), "{block:?}");
    assert!(block[3].trim_start().starts_with("trained"), "{block:?}");
    let cells = |line: &str| -> Vec<f64> {
        let inside = &line[line.find('[').unwrap() + 1..line.rfind(']').unwrap()];
        inside
            .split_whitespace()
            .map(|c| c.parse().unwrap())
            .collect()
    };
    assert_eq!(cells(block[1]), vec![0.1, 0.2]);
    assert_eq!(cells(block[2]), vec![0.3, -0.4]);
    for (line, want) in block[3..].iter().zip(&trained_w) {
        for (cell, w) in cells(line).iter().zip(want) {
            assert!((cell - w).abs() < 1e-5, "{line} vs {want:?}");
        }
    }
    assert!(
        block[1..]
            .iter()
            .all(|l| l.rfind(']') == block[1].rfind(']')),
        "{block:?}"
    );
    assert!(text.contains("b  (2×1)"), "{text}");
    assert!(!text.contains("W[1,1]"), "no entry rows: {text}");

    // Markdown and LaTeX: each array as a pmatrix, start → trained
    for format in ["markdown", "latex"] {
        let document = vector_training(format);
        assert_eq!(
            document.matches("\\begin{pmatrix}").count(),
            4,
            "{format}: {document}"
        );
        let first = document
            .split("\\begin{pmatrix}")
            .nth(1)
            .and_then(|m| m.split("\\end{pmatrix}").next())
            .unwrap();
        assert_eq!(first.trim().split("\\\\").count(), 2, "{format}: {first}");
        assert!(document.contains("\\quad \\to \\quad"), "{format}");
        assert!(
            !document.contains("W[1,1]") && !document.contains("W_{1,1}"),
            "{format}"
        );
    }
}

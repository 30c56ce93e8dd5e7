//! An input or target the data has no column for, given one value by `--at`, is held at it for
//! every example (`regularization l2`'s λ and n beside a CSV of pixels and labels): `train`
//! learns with it (its costs recomputed by hand from the parameters it reports, and equal to
//! `eval --example` averaged over the rows), `eval`/`step --example` give the same numbers as
//! with a CSV that has the columns, a name still missing is the only one named, and a column
//! for a name `--at` also gives is refused by `train` at its header cell.

mod common;

use serde_json::Value;

/// Nielsen's chapter 3 in small: a 3-2-2 sigmoid network, quadratic cost, L2 penalty.
const NETWORK: &str = "network 3-2-2\nactivation sigmoid\ncost quadratic\nregularization l2\n";

/// Three examples: inputs x1..x3 and one-hot targets y1, y2, without λ and n.
const ROWS: [([f64; 3], [f64; 2]); 3] = [
    ([0.1, 0.2, 0.3], [1.0, 0.0]),
    ([0.5, 0.1, 0.9], [0.0, 1.0]),
    ([-0.4, 0.7, 0.2], [1.0, 0.0]),
];

const LAMBDA: f64 = 0.1;
const N: f64 = 3.0;

/// The rows as CSV, with λ and n as two more columns when `with_penalty_columns`, and without
/// the column `left_out` if one is named.
fn csv(with_penalty_columns: bool, left_out: Option<&str>) -> String {
    let mut names = vec!["x1", "x2", "x3", "y1", "y2"];
    if with_penalty_columns {
        names.extend(["lambda", "n"]);
    }
    let keep: Vec<bool> = names.iter().map(|n| Some(*n) != left_out).collect();
    let pick = |cells: Vec<String>| {
        cells
            .into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut text = pick(names.iter().map(|n| n.to_string()).collect()) + "\n";
    for (x, y) in ROWS {
        let mut cells: Vec<String> = x.iter().chain(&y).map(|v| v.to_string()).collect();
        if with_penalty_columns {
            cells.extend([LAMBDA.to_string(), N.to_string()]);
        }
        text += &(pick(cells) + "\n");
    }
    text
}

/// A directory holding the network and the CSV files the tests read.
struct Files {
    _dir: tempfile::TempDir,
    network: String,
    /// The rows without λ and n.
    rows: String,
    /// The rows with λ and n as columns.
    with_penalty: String,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    Files {
        network: write("l2.bp", NETWORK),
        rows: write("rows.csv", &csv(false, None)),
        with_penalty: write("with_penalty.csv", &csv(true, None)),
        _dir: dir,
    }
}

fn json_of(args: &[&str]) -> Value {
    common::json_of(args, "")
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The network's cost on one example, worked out by hand from the parameters (an object
/// name → number): a2 = σ(W2 x + b2), a3 = σ(W3 a2 + b3), C = Σ(y − a3)² + λ/(2n)·Σw².
fn cost_by_hand(params: &Value, x: [f64; 3], y: [f64; 2], lambda: f64, n: f64) -> f64 {
    let p = |name: String| {
        params[&name]
            .as_f64()
            .unwrap_or_else(|| panic!("{name} in {params}"))
    };
    let layer = |l: usize, below: &[f64]| -> Vec<f64> {
        (1..=2)
            .map(|j| {
                let weighted: f64 = (1..=below.len())
                    .map(|k| p(format!("w{l}_{j}_{k}")) * below[k - 1])
                    .sum();
                sigmoid(weighted + p(format!("b{l}_{j}")))
            })
            .collect()
    };
    let a2 = layer(2, &x);
    let a3 = layer(3, &a2);
    let c0: f64 = (0..2).map(|j| (y[j] - a3[j]).powi(2)).sum();
    let weights = params
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.starts_with('w'));
    assert_eq!(weights.clone().count(), 10, "3·2 + 2·2 weights in {params}");
    let squares: f64 = weights.map(|(_, w)| w.as_f64().unwrap().powi(2)).sum();
    c0 + lambda / (2.0 * n) * squares
}

fn mean_cost_by_hand(params: &Value, lambda: f64) -> f64 {
    ROWS.iter()
        .map(|&(x, y)| cost_by_hand(params, x, y, lambda, N))
        .sum::<f64>()
        / ROWS.len() as f64
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1e-300),
        "{what}: {got} against {want}"
    );
}

#[test]
fn train_holds_lambda_and_n_given_by_at_for_every_example() {
    let f = files();
    let at = format!("lambda={LAMBDA},n={N}");
    let train = |data: &str, extra: &[&str]| {
        let mut args = vec![
            "train", &f.network, "--data", data, "--init", "xavier", "--epochs", "1",
        ];
        args.extend_from_slice(extra);
        json_of(&args)
    };
    let doc = train(&f.rows, &["--at", &at]);
    // The cost before training and after the first epoch, each the mean of the cost worked out
    // by hand with λ and n at the values given.
    assert_close(
        doc["initial_cost"].as_f64().unwrap(),
        mean_cost_by_hand(&doc["initial_params"], LAMBDA),
        "initial cost",
    );
    assert_close(
        doc["epochs"][0]["cost"].as_f64().unwrap(),
        mean_cost_by_hand(&doc["params"], LAMBDA),
        "first epoch's cost",
    );
    // The same as `eval --example` on each row, averaged (the same draw of the parameters:
    // train's seed is 1 unless given, eval's 0).
    let evaluated: f64 = (1..=ROWS.len())
        .map(|row| {
            let row = row.to_string();
            json_of(&[
                "eval",
                &f.network,
                "--data",
                &f.rows,
                "--example",
                &row,
                "--at",
                &at,
                "--init",
                "xavier",
                "--seed",
                "1",
            ])["cost"]
                .as_f64()
                .unwrap()
        })
        .sum::<f64>()
        / ROWS.len() as f64;
    assert_close(
        doc["initial_cost"].as_f64().unwrap(),
        evaluated,
        "eval averaged",
    );
    // Holding λ and n is training on a CSV whose columns give them in every row.
    assert_eq!(doc, train(&f.with_penalty, &[]));
    // And they are held at the value given: another λ trains to other parameters.
    let other = train(&f.rows, &["--at", "lambda=5,n=3"]);
    assert_ne!(doc["params"], other["params"]);
    assert_close(
        other["initial_cost"].as_f64().unwrap(),
        mean_cost_by_hand(&other["initial_params"], 5.0),
        "initial cost at λ = 5",
    );
}

#[test]
fn a_programs_data_block_takes_the_held_value_too() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("held.bp");
    std::fs::write(
        &program,
        "input x, lam\ntarget y\nparam w\ncost C = (y - w*x)^2 + lam*w^2\n\
         data x, y\n  1, 2\n  2, 3\nend\n",
    )
    .unwrap();
    let program = program.display().to_string();
    let doc = json_of(&[
        "train",
        &program,
        "--at",
        "lam=0.5,w=0.3",
        "--epochs",
        "1",
        "--batch",
        "--lr",
        "0.1",
    ]);
    let cost = |w: f64| ((2.0 - w).powi(2) + (3.0 - 2.0 * w).powi(2)) / 2.0 + 0.5 * w * w;
    // One step down the mean gradient: ∂C/∂w = −2x(y − wx) + 2·lam·w, averaged.
    let gradient = ((-2.0 * (2.0 - 0.3)) + (-4.0 * (3.0 - 0.6))) / 2.0 + 2.0 * 0.5 * 0.3;
    let w = 0.3 - 0.1 * gradient;
    assert_close(
        doc["initial_cost"].as_f64().unwrap(),
        cost(0.3),
        "initial cost",
    );
    assert_close(doc["params"]["w"].as_f64().unwrap(), w, "w after one step");
    assert_close(
        doc["epochs"][0]["cost"].as_f64().unwrap(),
        cost(w),
        "first epoch's cost",
    );
    // `eval --example` reads the block with the held value as well.
    let eval = json_of(&["eval", &program, "--example", "2", "--at", "lam=0.5,w=0.3"]);
    assert_close(
        eval["cost"].as_f64().unwrap(),
        (3.0f64 - 0.6).powi(2) + 0.5 * 0.09,
        "eval",
    );
}

#[test]
fn eval_and_step_on_one_example_agree_with_a_csv_that_has_the_columns() {
    let f = files();
    let at = format!("lambda={LAMBDA},n={N}");
    for command in [
        vec!["eval", "--all"],
        vec!["step", "--lr", "0.5", "--steps", "2"],
    ] {
        let run = |data: &str, at: &[&str]| {
            let mut args = command.clone();
            args.extend([
                f.network.as_str(),
                "--data",
                data,
                "--example",
                "2",
                "--init",
                "xavier",
            ]);
            args.extend_from_slice(at);
            json_of(&args)
        };
        let held = run(&f.rows, &["--at", &at]);
        let columns = run(&f.with_penalty, &[]);
        assert_eq!(held, columns, "{command:?}");
    }
    let eval = |data: &str, at: &str| {
        json_of(&[
            "eval",
            &f.network,
            "--data",
            data,
            "--example",
            "2",
            "--init",
            "xavier",
            "--at",
            at,
        ])
    };
    let doc = eval(&f.rows, &at);
    let params = serde_json::Value::Object(
        doc["values"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(name, _)| name.starts_with('w') || name.starts_with('b'))
            .map(|(name, v)| (name.clone(), v.clone()))
            .collect(),
    );
    let (x, y) = ROWS[1];
    assert_close(
        doc["cost"].as_f64().unwrap(),
        cost_by_hand(&params, x, y, LAMBDA, N),
        "eval",
    );
    // For one example `--at` overrides a cell, columns of λ and n included.
    assert_eq!(
        eval(&f.with_penalty, "lambda=5"),
        eval(&f.rows, "lambda=5,n=3")
    );
}

#[test]
fn a_name_still_missing_is_the_only_one_named() {
    let f = files();
    let dir = tempfile::tempdir().unwrap();
    let no_x3 = dir.path().join("no_x3.csv");
    std::fs::write(&no_x3, csv(false, Some("x3"))).unwrap();
    let no_x3 = no_x3.display().to_string();
    let at = "lambda=0.1,n=3";
    let common = ["--data", &no_x3, "--at", at, "--init", "xavier"];
    let with = |command: &'static str, extra: &[&'static str]| -> Vec<&str> {
        [command, f.network.as_str()]
            .into_iter()
            .chain(common)
            .chain(extra.iter().copied())
            .collect()
    };
    for args in [
        with("train", &[]),
        with("eval", &["--example", "1"]),
        with("step", &["--example", "1", "--lr", "0.5"]),
    ] {
        let message = common::refusal(&args);
        assert!(
            message.contains("the data has no column for `x3`\n"),
            "{args:?}: {message}"
        );
        assert!(
            !message.contains("`lambda`") && !message.contains("`n`"),
            "{message}"
        );
        assert!(message.contains("no_x3.csv:1:1"), "{message}");
        assert!(
            message.contains("| ^^^^^^^^^^^ the columns"),
            "the caret under the header `x1,x2,y1,y2`: {message}"
        );
        assert!(message.contains("`--at x3=0.5`"), "{message}");
    }
    // Without `--at`, λ and n are missing too, and named.
    let message = common::refusal(&["train", &f.network, "--data", &no_x3]);
    assert!(
        message.contains("the data has no column for `x3`, `lambda`, `n`"),
        "{message}"
    );
}

#[test]
fn train_refuses_a_column_for_a_name_at_also_gives() {
    let f = files();
    let message = common::refusal(&[
        "train",
        &f.network,
        "--data",
        &f.with_penalty,
        "--at",
        "n=3",
    ]);
    assert!(
        message
            .contains("`n` has a column in the data and is also given one value for every example"),
        "{message}"
    );
    // Header `x1,x2,x3,y1,y2,lambda,n`: `n` is the 23rd character.
    assert!(message.contains("with_penalty.csv:1:23"), "{message}");
    assert!(
        message.contains("\n  |                       ^ "),
        "{message}"
    );
    assert!(message.contains("leave `n` out of `--at`"), "{message}");
    // The same in a program's own `data` block, the caret on the column's name.
    let message = common::refusal(&["train", "examples/seed_training.bp", "--at", "x=2"]);
    assert!(
        message.contains("`x` has a column in the data"),
        "{message}"
    );
    assert!(message.contains("seed_training.bp:"), "{message}");
}

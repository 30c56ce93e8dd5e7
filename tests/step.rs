//! `chainrule step`: gradient descent on the command line. Mazur's worked example reproduces
//! his numbers; a learning rate that overshoots is warned about; bad input exits 2 with a
//! message that names the problem.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn chainrule() -> Command {
    Command::cargo_bin("chainrule").expect("the binary builds")
}

const MAZUR: &str = "i1=0.05,i2=0.10,t1=0.01,t2=0.99,w1=0.15,w2=0.20,w3=0.25,w4=0.30,\
                     w5=0.40,w6=0.45,w7=0.50,w8=0.55,b1=0.35,b2=0.60";

/// A point of the seed network where the cost is small but a large step overshoots.
const SEED: &str = "x=1,y=0.5,w2=0.5,b2=0.5,w3=0.5,b3=0.5";

fn json(args: &[&str]) -> Value {
    let mut all = vec!["step"];
    all.extend_from_slice(args);
    all.extend(["--format", "json"]);
    serde_json::from_str(&common::stdout_of(&all, "")).expect("the output is JSON")
}

/// Rounds to 9 significant digits, the precision Mazur prints.
fn sig9(x: f64) -> String {
    format!("{x:.8e}")
}

fn assert_sig9(actual: &Value, expected: f64) {
    let actual = actual.as_f64().expect("a number");
    assert_eq!(sig9(actual), sig9(expected), "{actual} vs {expected}");
}

/// Agrees with a figure to the digits it is printed with.
fn assert_printed(actual: &Value, printed: &str) {
    let actual = actual.as_f64().expect("a number");
    let decimals = printed.split_once('.').map_or(0, |(_, d)| d.len()) as i32;
    let expected: f64 = printed.parse().unwrap();
    assert!(
        (actual - expected).abs() <= 0.5 * 10f64.powi(-decimals),
        "{actual} vs {printed}"
    );
}

#[test]
fn mazur_one_step_reproduces_his_numbers() {
    let doc = json(&["examples/mazur_2_2_2.bp", "--at", MAZUR, "--lr", "0.5"]);
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1);
    let step = &steps[0];
    assert_sig9(&step["cost"], 0.298371109);
    assert_sig9(&step["params"]["w5"], 0.35891648);
    assert_sig9(&step["params"]["w6"], 0.408666186);
    assert_sig9(&step["params"]["w1"], 0.149780716);
    // His other figures: w2, w3, w4, w7, w8 after the step, ∂E/∂w5 and ∂E/∂w1.
    assert_printed(&step["params"]["w2"], "0.19956143");
    assert_printed(&step["params"]["w3"], "0.24975114");
    assert_printed(&step["params"]["w4"], "0.29950229");
    assert_printed(&step["params"]["w7"], "0.511301270");
    assert_printed(&step["params"]["w8"], "0.561370121");
    assert_printed(&step["gradients"]["w5"], "0.082167041");
    assert_printed(&step["gradients"]["w1"], "0.000438568");
    // Every parameter moves, the biases included (Mazur leaves them out of his text).
    let b1 = step["params"]["b1"].as_f64().unwrap();
    let b2 = step["params"]["b2"].as_f64().unwrap();
    assert!(b1 < 0.35 && b2 < 0.60, "b1 = {b1}, b2 = {b2}");
    assert_eq!(step["params"].as_object().unwrap().len(), 10);
    assert_eq!(step["gradients"].as_object().unwrap().len(), 10);
    assert_eq!(step["cost_rose"], Value::Bool(false));
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 0);
}

#[test]
fn mazur_text_table_shows_the_step() {
    chainrule()
        .args([
            "step",
            "examples/mazur_2_2_2.bp",
            "--at",
            MAZUR,
            "--lr",
            "0.5",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("Etotal = 0.298371109"))
        .stdout(predicate::str::contains("0.35891648"))
        .stdout(predicate::str::contains("0.408666186"))
        .stdout(predicate::str::contains("0.149780716"))
        .stdout(predicate::str::contains("warning").not());
}

#[test]
fn values_file_gives_the_same_start_as_at() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mazur.values");
    let text = format!("# Mazur's start\n{}\n", MAZUR.replace(',', "\n"));
    std::fs::write(&path, text).unwrap();
    let from_file = json(&[
        "examples/mazur_2_2_2.bp",
        "--values",
        path.to_str().unwrap(),
        "--lr",
        "0.5",
    ]);
    let from_at = json(&["examples/mazur_2_2_2.bp", "--at", MAZUR, "--lr", "0.5"]);
    assert_eq!(from_file, from_at);
}

#[test]
fn a_large_rate_that_raises_the_cost_is_warned_about() {
    let expected = "warning: the cost rose in step 1, from 0.0415403852 to 0.200462106: \
                    the learning rate η = 30 is probably too large";
    chainrule()
        .args(["step", "examples/seed.bp", "--at", SEED, "--lr", "30"])
        .assert()
        .success()
        .stdout(predicate::str::contains(expected));
    let doc = json(&["examples/seed.bp", "--at", SEED, "--lr", "30"]);
    let step = &doc["steps"][0];
    assert!(step["cost_after"].as_f64().unwrap() > step["cost"].as_f64().unwrap());
    assert_eq!(step["cost_rose"], Value::Bool(true));
    assert_eq!(doc["warnings"][0]["kind"], "cost-rose");
    assert_eq!(doc["warnings"][0]["step"], 1);
}

#[test]
fn a_small_rate_lowers_the_cost_every_step_without_warnings() {
    let doc = json(&[
        "examples/seed.bp",
        "--at",
        SEED,
        "--lr",
        "0.5",
        "--steps",
        "3",
    ]);
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    let costs: Vec<f64> = steps.iter().map(|s| s["cost"].as_f64().unwrap()).collect();
    assert!(costs.windows(2).all(|w| w[1] < w[0]), "{costs:?}");
    // Each step starts where the previous one ended.
    for pair in steps.windows(2) {
        assert_eq!(pair[0]["cost_after"], pair[1]["cost"]);
    }
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 0);
    chainrule()
        .args(["step", "--at", SEED, "--lr", "0.5", "--steps", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("── step 3"))
        .stdout(predicate::str::contains("warning").not());
}

#[test]
fn gradient_is_taken_at_the_start_of_the_step() {
    // θ_after = θ_before − η·g for every parameter, with g from the JSON at the start.
    let doc = json(&["--at", SEED, "--lr", "0.25", "--steps", "2"]);
    let first = &doc["steps"][0];
    let second = &doc["steps"][1];
    let start = [("w2", 0.5), ("b2", 0.5), ("w3", 0.5), ("b3", 0.5)];
    for (name, before) in start {
        let g = first["gradients"][name].as_f64().unwrap();
        assert_eq!(first["params"][name].as_f64().unwrap(), before - 0.25 * g);
        let g2 = second["gradients"][name].as_f64().unwrap();
        let mid = first["params"][name].as_f64().unwrap();
        assert_eq!(second["params"][name].as_f64().unwrap(), mid - 0.25 * g2);
    }
}

#[test]
fn markdown_and_latex_are_tables() {
    chainrule()
        .args(["step", "--at", SEED, "--lr", "30", "--format", "markdown"])
        .assert()
        .success()
        .stdout(predicate::str::contains("|---|--:|--:|--:|"))
        .stdout(predicate::str::contains("| $w_{2}$ | 0.5 |"))
        .stdout(predicate::str::contains("> **Warning:** the cost rose"));
    chainrule()
        .args(["step", "--at", SEED, "--lr", "0.5", "--format", "latex"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\\begin{tabular}{lrrr}"))
        .stdout(predicate::str::contains("$w_{2}$ & $0.5$ &"));
}

#[test]
fn output_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    chainrule()
        .args([
            "step", "--at", SEED, "--lr", "0.5", "--format", "json", "-o",
        ])
        .arg(&path)
        .assert()
        .success()
        .stdout("");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["steps"].as_array().unwrap().len(), 1);
}

fn fails(args: &[&str]) -> String {
    let out = chainrule().arg("step").args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn an_unknown_name_in_at_suggests_the_nearest() {
    let stderr = fails(&[
        "--at",
        "x=1,y=0.5,w2=0.5,b2=0.5,w3=0.5,bb3=0.5",
        "--lr",
        "0.5",
    ]);
    assert!(stderr.contains("unknown name `bb3`"), "{stderr}");
    assert!(stderr.contains("--> --at:1:"), "{stderr}");
    assert!(stderr.contains("did you mean `b3`?"), "{stderr}");
}

#[test]
fn a_missing_parameter_is_named() {
    let stderr = fails(&["--at", "x=1,y=0.5,w2=0.5,b2=0.5,b3=0.5", "--lr", "0.5"]);
    assert!(
        stderr.starts_with("error: no starting value given for `w3`\n"),
        "{stderr}"
    );
    let stderr = fails(&["--at", "x=1,w2=0.5,b2=0.5,w3=0.5,b3=0.5", "--lr", "0.5"]);
    assert!(
        stderr.starts_with("error: no value given for `y`\n"),
        "{stderr}"
    );
}

#[test]
fn a_value_for_an_intermediate_is_refused() {
    let stderr = fails(&["--at", &format!("{SEED},a2=0.3"), "--lr", "0.5"]);
    assert!(stderr.contains("`a2` is an intermediate"), "{stderr}");
}

#[test]
fn the_learning_rate_must_be_a_positive_number() {
    let stderr = fails(&["--at", SEED, "--lr", "-1"]);
    assert!(stderr.contains("positive"), "{stderr}");
    let stderr = fails(&["--at", SEED, "--lr", "abc"]);
    assert!(stderr.contains("`abc` is not a number"), "{stderr}");
    fails(&["--at", SEED, "--lr", "0"]);
    fails(&["--at", SEED]);
}

#[test]
fn the_step_count_is_bounded() {
    fails(&["--at", SEED, "--lr", "0.5", "--steps", "0"]);
    fails(&["--at", SEED, "--lr", "0.5", "--steps", "100001"]);
}

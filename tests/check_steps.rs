//! `check` on a parameter after several steps of gradient descent (`w5'' = …`): the numbers
//! `step --steps k` prints check as correct; Mazur's network after two and three steps, worked
//! out here by hand (forward and backward pass written out), is judged right, and a number
//! whose later steps reused the previous step's gradient is named `stale-gradient`, a random
//! wrong number not; the primes are read in the plain language and in LaTeX.

use assert_cmd::Command;
use serde_json::Value;

fn chainrule() -> Command {
    Command::cargo_bin("chainrule").expect("the binary builds")
}

const SEED_AT: &str = "x=1,y=0,w2=0.5,b2=0.5,w3=0.5,b3=0.5";

const MAZUR_AT: &str = "i1=0.05,i2=0.10,t1=0.01,t2=0.99,w1=0.15,w2=0.20,w3=0.25,w4=0.30,\
                        w5=0.40,w6=0.45,w7=0.50,w8=0.55,b1=0.35,b2=0.60";

/// Mazur's parameters in the order the example declares them, and their starting values.
const MAZUR_PARAMS: [&str; 10] = ["w1", "w2", "w3", "w4", "b1", "w5", "w6", "w7", "w8", "b2"];
const MAZUR_START: [f64; 10] = [0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60];

/// ∂Etotal/∂θ for Mazur's network (i1 = 0.05, i2 = 0.10, t1 = 0.01, t2 = 0.99), by hand.
fn mazur_gradient(p: [f64; 10]) -> [f64; 10] {
    let [w1, w2, w3, w4, b1, w5, w6, w7, w8, b2] = p;
    let (i1, i2, t1, t2) = (0.05, 0.10, 0.01, 0.99);
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let h1 = sigmoid(w1 * i1 + w2 * i2 + b1);
    let h2 = sigmoid(w3 * i1 + w4 * i2 + b1);
    let o1 = sigmoid(w5 * h1 + w6 * h2 + b2);
    let o2 = sigmoid(w7 * h1 + w8 * h2 + b2);
    let d1 = (o1 - t1) * o1 * (1.0 - o1);
    let d2 = (o2 - t2) * o2 * (1.0 - o2);
    let e1 = (d1 * w5 + d2 * w7) * h1 * (1.0 - h1);
    let e2 = (d1 * w6 + d2 * w8) * h2 * (1.0 - h2);
    [
        e1 * i1,
        e1 * i2,
        e2 * i1,
        e2 * i2,
        e1 + e2,
        d1 * h1,
        d1 * h2,
        d2 * h1,
        d2 * h2,
        d1 + d2,
    ]
}

/// Mazur's parameters after `steps` steps with learning rate η; with `stale`, every step after
/// the first moves along the gradient taken at the start of the step before.
fn mazur_descent(eta: f64, steps: usize, stale: bool) -> [f64; 10] {
    let mut p = MAZUR_START;
    let mut previous: Option<[f64; 10]> = None;
    for _ in 0..steps {
        let current = mazur_gradient(p);
        let used = if stale {
            previous.unwrap_or(current)
        } else {
            current
        };
        for (v, g) in p.iter_mut().zip(used) {
            *v -= eta * g;
        }
        previous = Some(current);
    }
    p
}

/// The JSON report of `check` on one file with the claims, and its exit code.
fn check(file: &str, at: &str, claims: &[String]) -> (Value, i32) {
    let mut cmd = chainrule();
    cmd.args(["check", file, "--at", at, "--format", "json"]);
    for claim in claims {
        cmd.args(["--claim", claim]);
    }
    let out = cmd.output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out.status.code().unwrap())
}

fn verdicts(report: &Value) -> Vec<&str> {
    report["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect()
}

/// The parameters of the last step's table in `step`'s text output, as printed.
fn printed_parameters(text: &str) -> Vec<(String, String)> {
    let last = text.rsplit("── step").next().unwrap();
    last.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            (cells.len() == 4 && cells[1].parse::<f64>().is_ok())
                .then(|| (cells[0].to_string(), cells[3].to_string()))
        })
        .collect()
}

#[test]
fn the_parameters_step_prints_after_two_and_three_steps_check_as_correct() {
    for (file, at, params) in [
        ("examples/seed.bp", SEED_AT, 4),
        ("examples/mazur_2_2_2.bp", MAZUR_AT, 10),
    ] {
        for (steps, primes) in [("2", "''"), ("3", "'''")] {
            let out = chainrule()
                .args(["step", file, "--at", at, "--lr", "0.5", "--steps", steps])
                .output()
                .unwrap();
            assert!(out.status.success());
            let printed = printed_parameters(&String::from_utf8(out.stdout).unwrap());
            assert_eq!(printed.len(), params, "{printed:?}");
            let claims: Vec<String> = printed
                .iter()
                .map(|(name, value)| format!("{name}{primes} = {value}"))
                .collect();
            let (report, code) = check(file, &format!("{at},eta=0.5"), &claims);
            assert_eq!(code, 0, "{report}");
            assert!(
                verdicts(&report).iter().all(|v| *v == "correct"),
                "{report}"
            );
            assert_eq!(
                report["claims"][0]["method"], "descent-to-digits",
                "{report}"
            );
            assert!(
                report["claims"][0]["method_text"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("after {steps} steps of gradient descent")),
                "{report}"
            );
        }
    }
}

#[test]
fn mazur_after_two_steps_a_reused_gradient_is_named_and_the_correction_checks() {
    let at = format!("{MAZUR_AT},eta=0.5");
    let right = mazur_descent(0.5, 2, false);
    let stale = mazur_descent(0.5, 2, true);
    for (i, name) in MAZUR_PARAMS.iter().enumerate() {
        // Apart by much more than the digits claimed: the mistake is visible at 6 decimals.
        assert!((right[i] - stale[i]).abs() > 1e-5, "{name}");
        let claims = [
            format!("{name}'' = {:.6}", right[i]),
            format!("{name}'' = {:.6}", stale[i]),
            format!("{name}'' = {:.6}", right[i] + 0.0123),
        ];
        let (report, code) = check("examples/mazur_2_2_2.bp", &at, &claims);
        assert_eq!(code, 1);
        assert_eq!(
            verdicts(&report),
            ["correct", "incorrect", "incorrect"],
            "{report}"
        );
        let stale_claim = &report["claims"][1];
        let mistake = &stale_claim["mistake"];
        assert_eq!(mistake["kind"], "stale-gradient", "{mistake}");
        assert_eq!(mistake["parameter"], *name, "{mistake}");
        assert_eq!(mistake["steps"], 2, "{mistake}");
        let truth = stale_claim["true_value"].as_f64().unwrap();
        assert!((truth - right[i]).abs() < 1e-12, "{truth} {}", right[i]);
        let diagnosis = stale_claim["diagnosis"].as_str().unwrap();
        assert!(
            diagnosis.contains("The second step reused the first step's gradient"),
            "{diagnosis}"
        );
        assert!(
            diagnosis.contains("computed again at the new parameters"),
            "{diagnosis}"
        );
        // A random wrong number is not taken for a stale gradient.
        assert_eq!(
            report["claims"][2]["mistake"]["kind"], "wrong-value",
            "{report}"
        );
        // The correction is the right number, and checks as such.
        let corrected = stale_claim["corrected"].as_str().unwrap();
        let (again, code) = check(
            "examples/mazur_2_2_2.bp",
            &at,
            &[format!("{name}'' = {corrected}")],
        );
        assert_eq!(code, 0, "{again}");
    }
}

#[test]
fn after_three_steps_each_step_reusing_the_one_before_is_named() {
    // From the third step on, the stale descent takes its gradients at points the right one
    // never visits: θ''' = θ'' − η ∇C(θ') with θ'' itself stale.
    let at = format!("{MAZUR_AT},eta=0.5");
    let right = mazur_descent(0.5, 3, false);
    let stale = mazur_descent(0.5, 3, true);
    let claims = [
        format!("w5''' = {:.7}", right[5]),
        format!("w5''' = {:.7}", stale[5]),
    ];
    let (report, _) = check("examples/mazur_2_2_2.bp", &at, &claims);
    assert_eq!(verdicts(&report), ["correct", "incorrect"], "{report}");
    let mistake = &report["claims"][1]["mistake"];
    assert_eq!(mistake["kind"], "stale-gradient", "{mistake}");
    assert_eq!(mistake["steps"], 3, "{mistake}");
    let diagnosis = report["claims"][1]["diagnosis"].as_str().unwrap();
    assert!(
        diagnosis.contains("Each step after the first reused the previous step's gradient"),
        "{diagnosis}"
    );
}

#[test]
fn primes_are_counted_in_plain_and_latex_notation() {
    let at = format!("{SEED_AT},eta=0.5");
    // w3 is 0.392741 after one step, 0.285391 after two, 0.178... after three.
    let (report, _) = check(
        "examples/seed.bp",
        &at,
        &[
            "w3' = 0.392741".to_string(),
            "w3'' = 0.285391".to_string(),
            "w_3'' = 0.285391".to_string(),
            "w3′′ = 0.285391".to_string(),
            "w3″ = 0.285391".to_string(),
            "w_3^{\\prime\\prime} = 0.285391".to_string(),
            "w^{(3)\\prime\\prime} = 0.285391".to_string(),
            "w3'' = 0.392741".to_string(),
        ],
    );
    assert_eq!(
        verdicts(&report),
        [
            "correct",
            "correct",
            "correct",
            "correct",
            "correct",
            "correct",
            "correct",
            "incorrect"
        ],
        "{report}"
    );
}

#[test]
fn several_steps_need_a_number_and_a_learning_rate() {
    let formula = chainrule()
        .args(["check", "examples/seed.bp", "--at"])
        .arg(format!("{SEED_AT},eta=0.5"))
        .args(["--claim", "w3'' = w3 - 2*eta*dC/dw3"])
        .output()
        .unwrap();
    assert_eq!(formula.status.code(), Some(2));
    assert!(formula.stdout.is_empty());
    let message = String::from_utf8(formula.stderr).unwrap();
    assert!(
        message.contains("a claim about `w3` after 2 steps must be a number"),
        "{message}"
    );
    assert!(message.contains("^^^"), "{message}");

    let no_rate = chainrule()
        .args(["check", "examples/seed.bp", "--at", SEED_AT])
        .args(["--claim", "w3'' = 0.2854"])
        .output()
        .unwrap();
    assert_eq!(no_rate.status.code(), Some(2));
    let message = String::from_utf8(no_rate.stderr).unwrap();
    assert!(message.contains("needs a learning rate"), "{message}");
    assert!(message.contains("eta=0.5"), "{message}");

    // A rate that is not positive is named as the claim's point's, not as `step`'s option.
    let negative_rate = chainrule()
        .args(["check", "examples/seed.bp", "--at"])
        .arg(format!("{SEED_AT},eta=-0.5"))
        .args(["--claim", "w3'' = 0.2854"])
        .output()
        .unwrap();
    assert_eq!(negative_rate.status.code(), Some(2));
    assert!(negative_rate.stdout.is_empty());
    let message = String::from_utf8(negative_rate.stderr).unwrap();
    assert!(
        message.contains("needs a positive learning rate, and `eta` is -0.5"),
        "{message}"
    );
    assert!(message.contains("eta=0.5"), "{message}");
    assert!(message.contains("^^^"), "{message}");
    assert!(!message.contains("--lr"), "{message}");
}

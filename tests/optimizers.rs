//! The optimizers of `step`: three steps of each on a small network against an implementation
//! written out here by hand from PyTorch's documented update rules (the gradient by hand too),
//! to at least 12 significant digits, and the state every format and JSON report.

use assert_cmd::Command;
use chainrule::{Given, Optimizer, OptimizerKind};
use serde_json::Value;

const PROGRAM: &str =
    "input x\ntarget y\nparam w, b\nz = w*x + b\na = sigmoid(z)\ncost C = (y - a)^2\n";
const X: f64 = 1.5;
const Y: f64 = 0.2;

/// ∂C/∂w and ∂C/∂b of the program above, by hand: −2(y − a)·a(1 − a)·(x, 1).
fn gradient(w: f64, b: f64) -> [f64; 2] {
    let a = 1.0 / (1.0 + (-(w * X + b)).exp());
    let delta = -2.0 * (Y - a) * a * (1.0 - a);
    [delta * X, delta]
}

/// The parameters (w, b) after each of `steps` steps, written from PyTorch's documentation of
/// `SGD` (with `momentum`, `nesterov`), `RMSprop` and `Adam`/`AdamW`; weight decay is
/// AdamW's, on w only (b is a bias).
fn by_hand(o: &Optimizer, lr: f64, steps: usize) -> Vec<[f64; 2]> {
    let mut theta = [0.8, -0.4];
    let (mut buf, mut m, mut v) = ([0.0; 2], [0.0; 2], [0.0; 2]);
    let mut out = Vec::new();
    for t in 1..=steps {
        let g = gradient(theta[0], theta[1]);
        let mut next = theta;
        for i in 0..2 {
            let direction = match o.kind {
                OptimizerKind::Sgd => g[i],
                OptimizerKind::Momentum => {
                    buf[i] = if t == 1 {
                        g[i]
                    } else {
                        o.momentum * buf[i] + g[i]
                    };
                    buf[i]
                }
                OptimizerKind::Nesterov => {
                    buf[i] = if t == 1 {
                        g[i]
                    } else {
                        o.momentum * buf[i] + g[i]
                    };
                    g[i] + o.momentum * buf[i]
                }
                OptimizerKind::RmsProp => {
                    v[i] = o.beta2 * v[i] + (1.0 - o.beta2) * g[i] * g[i];
                    g[i] / (v[i].sqrt() + o.eps)
                }
                OptimizerKind::Adam => {
                    m[i] = o.beta1 * m[i] + (1.0 - o.beta1) * g[i];
                    v[i] = o.beta2 * v[i] + (1.0 - o.beta2) * g[i] * g[i];
                    let m_hat = m[i] / (1.0 - o.beta1.powi(t as i32));
                    let v_hat = v[i] / (1.0 - o.beta2.powi(t as i32));
                    m_hat / (v_hat.sqrt() + o.eps)
                }
            };
            let decay = if i == 0 { o.weight_decay } else { 0.0 };
            next[i] = theta[i] * (1.0 - lr * decay) - lr * direction;
        }
        theta = next;
        out.push(theta);
    }
    out
}

fn agree(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

#[test]
fn three_steps_of_each_optimizer_match_the_rule_written_by_hand() {
    let mut configs: Vec<Optimizer> = OptimizerKind::ALL
        .into_iter()
        .map(Optimizer::with_defaults)
        .collect();
    configs.push(Optimizer {
        weight_decay: 0.05,
        ..Optimizer::with_defaults(OptimizerKind::Adam)
    });
    configs.push(Optimizer {
        momentum: 0.5,
        weight_decay: 0.1,
        ..Optimizer::with_defaults(OptimizerKind::Nesterov)
    });
    configs.push(Optimizer {
        beta1: 0.8,
        beta2: 0.95,
        eps: 1e-3,
        ..Optimizer::with_defaults(OptimizerKind::Adam)
    });
    for o in configs {
        let mut model = chainrule::load(PROGRAM).unwrap();
        let at: Vec<Given> = [("x", X), ("y", Y), ("w", 0.8), ("b", -0.4)]
            .into_iter()
            .map(|(n, v)| Given {
                sym: model.lookup(n).unwrap(),
                text: v.to_string(),
                value: v,
            })
            .collect();
        let descent = chainrule::descend_with(&mut model, &at, 0.3, 3, &o).unwrap();
        let want = by_hand(&o, 0.3, 3);
        assert_eq!(descent.steps.len(), 3);
        for (step, want) in descent.steps.iter().zip(&want) {
            let got: Vec<f64> = step.params_after.iter().map(|p| p.1).collect();
            assert!(
                agree(got[0], want[0]) && agree(got[1], want[1]),
                "{o:?}: {got:?} against {want:?}"
            );
            // b is the bias: weight decay spares it
            assert!(!step.state[1].decayed);
            assert_eq!(step.state[0].decayed, o.weight_decay != 0.0);
        }
    }
}

#[test]
fn adam_reports_its_moments_bias_corrected_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("n.bp");
    std::fs::write(&file, PROGRAM).unwrap();
    let out = Command::cargo_bin("chainrule")
        .unwrap()
        .args([
            "step",
            file.to_str().unwrap(),
            "--at",
            "x=1.5,y=0.2,w=0.8,b=-0.4",
            "--lr",
            "0.3",
        ])
        .args([
            "--steps",
            "2",
            "--optimizer",
            "adam",
            "--beta1",
            "0.8",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["optimizer"]["name"], "adam");
    assert_eq!(json["optimizer"]["beta1"], 0.8);
    assert_eq!(json["optimizer"]["beta2"], 0.999);
    assert!(json["optimizer"].get("momentum").is_none());
    let g = gradient(0.8, -0.4);
    let first = &json["steps"][0]["state"]["w"];
    // after one step m = (1 − β₁)g, and the correction undoes the factor: m̂ = g
    assert!(agree(first["first_moment"].as_f64().unwrap(), 0.2 * g[0]));
    assert!(agree(
        first["first_moment_corrected"].as_f64().unwrap(),
        g[0]
    ));
    assert!(agree(
        first["second_moment_corrected"].as_f64().unwrap(),
        g[0] * g[0]
    ));
    assert_eq!(first["decayed"], false);
}

#[test]
fn every_format_writes_the_rule_and_the_state_columns() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("n.bp");
    std::fs::write(&file, PROGRAM).unwrap();
    let run = |optimizer: &str, format: &str| {
        let out = Command::cargo_bin("chainrule")
            .unwrap()
            .args([
                "step",
                file.to_str().unwrap(),
                "--at",
                "x=1.5,y=0.2,w=0.8,b=-0.4",
            ])
            .args([
                "--lr",
                "0.3",
                "--optimizer",
                optimizer,
                "--weight-decay",
                "0.01",
            ])
            .args(["--format", format])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("adam", "text");
    assert!(text.contains("θ ← θ − η·m̂/(√v̂ + ε)"), "{text}");
    assert!(
        text.contains("Weight decay λ = 0.01 is decoupled from the cost"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains(" m ") && l.contains(" v̂ ")),
        "{text}"
    );
    let markdown = run("rmsprop", "markdown");
    assert!(
        markdown.contains("\\theta \\leftarrow \\theta - \\eta\\, g / (\\sqrt{v} + \\epsilon)"),
        "{markdown}"
    );
    assert!(markdown.contains("| $v$ |"), "{markdown}");
    let latex = run("nesterov", "latex");
    assert!(
        latex.contains("\\theta \\leftarrow \\theta - \\eta\\,(g + \\mu b)"),
        "{latex}"
    );
    assert!(latex.contains("\\begin{tabular}{lrrrr}"), "{latex}");
    let html = run("momentum", "html");
    assert!(html.contains("<math"), "{html}");
}

#[test]
fn train_in_batches_on_one_example_moves_as_step_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("n.bp");
    std::fs::write(&file, format!("{PROGRAM}data x, y\n1.5, 0.2\nend\n")).unwrap();
    let run = |args: &[&str]| -> Value {
        let out = Command::cargo_bin("chainrule")
            .unwrap()
            .args(args)
            .args([
                "--optimizer",
                "adam",
                "--weight-decay",
                "0.1",
                "--lr",
                "0.3",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let path = file.to_str().unwrap();
    let trained = run(&[
        "train",
        path,
        "--batch",
        "--epochs",
        "3",
        "--at",
        "w=0.8,b=-0.4",
    ]);
    let stepped = run(&[
        "step",
        path,
        "--steps",
        "3",
        "--at",
        "x=1.5,y=0.2,w=0.8,b=-0.4",
    ]);
    assert_eq!(trained["optimizer"]["name"], "adam");
    assert_eq!(trained["optimizer"]["weight_decay"], 0.1);
    for name in ["w", "b"] {
        let a = trained["params"][name].as_f64().unwrap();
        let b = stepped["steps"][2]["params"][name].as_f64().unwrap();
        assert!(agree(a, b), "{name}: train {a}, step {b}");
    }
}

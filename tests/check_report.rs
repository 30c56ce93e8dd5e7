//! `chainrule check` reports, snapshot-tested in every format on worksheets that reach every
//! kind of diagnosis (each reviewed by eye when accepted): the wording of each mistake, its
//! escaping for Markdown and LaTeX, and its JSON fields.

mod common;

use assert_cmd::Command;
use common::claims::{CROSS_ENTROPY, CS231N_STAGED, RELU_SOFTPLUS, TANH};

const GOODFELLOW: &str =
    "input h\ntarget y\nparam w, b\nz = w*h + b\ncost J = softplus((1 - 2y) z)\n";

const L2_NETWORK: &str =
    "network 2-2-1\nactivation sigmoid\ncost cross-entropy\nregularization l2\n";

const SMALL_NETWORK: &str = "network 2-2-1\nactivation sigmoid\ncost quadratic\n";

/// A worksheet: the program, its claims and the `--at` point.
struct Sheet {
    program: &'static str,
    at: &'static str,
    claims: &'static [&'static str],
}

fn sheets() -> Vec<Sheet> {
    let seed = include_str!("../examples/seed.bp");
    let seed_question = include_str!("../examples/seed_question.bp");
    let mazur = include_str!("../examples/mazur_2_2_2.bp");
    vec![
        Sheet {
            program: seed,
            at: "",
            claims: &[
                "dC/dw3 = 2(y - a3) a3(1 - a3) a2",
                "dC/dw3 = (a3 - y) a3(1 - a3) a2",
                "dC/dw3 = 2(a3 - y) a3(1 - a3)",
                "dC/dw2 = 2(a3 - y) a3(1 - a3) a2(1 - a2) x",
                "dC/dw3 = 2(a3 - y) a3(1 - a3) a2 x",
                "dC/dw3 = 2(a3 - y) sigmoid'(a3) a2",
                "dC/dw3 = 2(a3 - y) sigmoid'(z2) a2",
                "dC/dw3 = 2(a3 - y) a3(1 - a3) x",
                "dC/dw3 = a2",
                "w3' = w3 + eta*dC/dw3",
                "w3' = w3 - 2(a3 - y) a3(1 - a3) a2",
                "w3' = w3 - eta*2(a3 - y) a3(1 - a3)",
                "w3' = -eta*dC/dw3",
                "w3' = w3 + eta*2(a3 - y) a3(1 - a3) a2",
                "dC/dw3 = w3 x b2 + exp(b3)",
                "dC/dw3 = -2(y - a3) a3(1 - a3) a2",
            ],
        },
        Sheet {
            program: seed,
            at: "x=1,y=0,w2=0.5,b2=0,w3=0.5,b3=0",
            claims: &[
                "a2 = 0.5",
                "a3 = 0.6224593",
                "a2 = 0.62",
                "a2 = 0.6224",
                "a2 = -0.6224593",
                "a3 = 0.9",
                "dC/dw3 = -2(y - a3) a3(1 - a3) a2 + relu(x - 3)",
                "dC/dw3 = 2(y - a3) a3(1 - a3) a2",
            ],
        },
        Sheet {
            program: seed,
            at: "w2=1,b2=0,w3=0,b3=0",
            claims: &["f(2) = 0", "f(2) = 0.5"],
        },
        Sheet {
            program: seed_question,
            at: "a1=62.5,w2=0.8,y=0",
            claims: &[
                "dC/dw2 = 2.41e-20",
                "a2 = 1",
                "z2 = 50",
                "dC/dw2 = 2(a2 - y)(sigmoid(z2) - (1 - sigmoid(z2))) a1",
            ],
        },
        Sheet {
            program: mazur,
            at: "",
            claims: &[
                "dEtotal/dw1 = (outo1 - t1) outo1(1 - outo1) w5 outh1(1 - outh1) i1",
                "dEtotal/dw5 = 2(outo1 - t1) outo1(1 - outo1) outh1",
                r"\frac{\partial E_{total}}{\partial w_{5}} = (out_{o1} - t_{1}) \cdot out_{o1}(1 - out_{o1}) \cdot out_{h2}",
            ],
        },
        Sheet {
            program: CS231N_STAGED,
            at: "",
            claims: &["df/dx = invden"],
        },
        Sheet {
            program: CROSS_ENTROPY,
            at: "",
            claims: &[
                "dC/db = (a - y) sigmoid'(z)",
                "dC/dw = (a - y) a(1 - a) x + lambda/n w",
                "dC/dw = (a - y) x + lambda/(2n) w",
                "dC/dw = (a - y) x",
            ],
        },
        Sheet {
            program: TANH,
            at: "",
            claims: &[
                "dC/dw = -2(y - a)(1 - tanh(z))^2 x",
                "dC/dw = -2(y - a) a(1 - a) x",
                "dC/dw = -2(y - a)(1 - a) x",
            ],
        },
        Sheet {
            program: RELU_SOFTPLUS,
            at: "",
            claims: &[
                "dC/dw1 = 2(out - y) v1 x",
                "dC/dw1 = 2(out - y) v1 h1 x",
                "dC/dw2 = 2(out - y) v2 h2 x",
            ],
        },
        Sheet {
            program: GOODFELLOW,
            at: "",
            claims: &["dJ/dz = sigmoid((1 - 2y) z)"],
        },
        Sheet {
            program: L2_NETWORK,
            at: "",
            claims: &["w3_1_1' = (1 - lambda/n) w3_1_1 - eta dC0/dw3_1_1"],
        },
        Sheet {
            program: SMALL_NETWORK,
            at: "",
            claims: &[
                "dC/db2_1 = delta3_1",
                r"\frac{\partial C}{\partial w^{(2)}_{11}} = x_1 \delta^{(3)}_{1}",
            ],
        },
    ]
}

fn report(format: &str) -> String {
    let mut out = String::new();
    for sheet in sheets() {
        let mut args = vec!["check", "-", "--format", format];
        for claim in sheet.claims {
            args.push("--claim");
            args.push(claim);
        }
        if !sheet.at.is_empty() {
            args.push("--at");
            args.push(sheet.at);
        }
        let result = Command::cargo_bin("chainrule")
            .unwrap()
            .args(&args)
            .write_stdin(sheet.program)
            .output()
            .unwrap();
        assert!(
            matches!(result.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        out.push_str(&String::from_utf8(result.stdout).unwrap());
        out.push_str("\n----\n");
    }
    out
}

#[test]
fn every_diagnosis_as_text() {
    insta::assert_snapshot!(report("text"));
}

#[test]
fn every_diagnosis_as_markdown() {
    insta::assert_snapshot!(report("markdown"));
}

#[test]
fn every_diagnosis_as_latex() {
    insta::assert_snapshot!(report("latex"));
}

#[test]
fn every_diagnosis_as_json() {
    insta::assert_snapshot!(report("json"));
}

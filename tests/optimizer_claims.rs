//! `check` on update-rule claims of the optimizers `step` runs: momentum, RMSProp and Adam as
//! Ng's "Optimization methods" notebook writes them (`v`, `s`, `v_corrected`, `s_corrected`,
//! β, β₁, β₂, ε, t) and as PyTorch's documentation does (`m`, `v`, `m̂`, `v̂`, the momentum
//! buffer `b`, μ, weight decay λ), judged correct; and each classic mistake named as its kind
//! from a realistic wrong line.

mod common;

use chainrule::OptimizerKind;
use chainrule::analysis::check::{self, Checked, Verdict};
use common::claims::judge;

const SEED: &str = include_str!("../examples/seed.bp");

/// A worksheet judged together (the names of one worksheet decide what `v` means).
fn worksheet(claims: &[&str]) -> Vec<Checked> {
    let model = check::with_learning_rate(&common::load(SEED));
    let claims: Vec<String> = claims.iter().map(|c| c.to_string()).collect();
    check::check(&model, &claims, &[]).unwrap_or_else(|e| {
        let claim = &claims[e.index];
        panic!("{}", e.diagnostic.render("claim", claim, false))
    })
}

fn all_correct(claims: &[&str]) {
    for c in worksheet(claims) {
        assert_eq!(c.verdict, Verdict::Correct, "{}: {c:?}", c.claim);
    }
}

/// The kind named for the last claim of a worksheet, which must be incorrect; with its
/// sentence.
fn named(claims: &[&str]) -> (String, String) {
    named_in(worksheet(claims).pop().unwrap())
}

/// The kind named for a claim judged incorrect, with its sentence.
fn named_in(c: Checked) -> (String, String) {
    assert_eq!(c.verdict, Verdict::Incorrect, "{}: {c:?}", c.claim);
    let kind = c
        .mistake()
        .map(|m| m.code().to_string())
        .unwrap_or_default();
    let words = chainrule::render::check::diagnosis(&c).unwrap();
    (kind, words)
}

/// Ng's notebook, `update_parameters_with_momentum`, `update_parameters_with_adam` (and the
/// RMSProp of his lectures), written with the program's names: the gradient `dW` is `dC/dw2`
/// and the learning rate `α`.
#[test]
fn ngs_momentum_rmsprop_and_adam_are_judged_correct() {
    all_correct(&[
        "v_dw2 = beta*v_dw2 + (1 - beta)*dC/dw2",
        "w2 <- w2 - alpha*v_dw2",
    ]);
    all_correct(&[
        "s_w3 = β s_w3 + (1 - β) (dC/dw3)^2",
        "w3 := w3 - α dC/dw3/(sqrt(s_w3) + ε)",
    ]);
    all_correct(&[
        "v_dw2 = beta1*v_dw2 + (1 - beta1)*dC/dw2",
        "v_corrected_dw2 = v_dw2/(1 - beta1^t)",
        "s_dw2 = beta2*s_dw2 + (1 - beta2)*(dC/dw2)^2",
        "s_corrected_dw2 = s_dw2/(1 - beta2^t)",
        "w2 <- w2 - alpha*v_corrected_dw2/(sqrt(s_corrected_dw2) + epsilon)",
        "b3 <- b3 - alpha*v_corrected_db3/(sqrt(s_corrected_db3) + epsilon)",
    ]);
}

/// PyTorch's documentation of `SGD(momentum=μ)`, `Adam` and `AdamW`: the buffer b ← μb + g,
/// m and v with their corrections, and decoupled weight decay on the weights only.
#[test]
fn pytorchs_momentum_adam_and_adamw_are_judged_correct() {
    all_correct(&[
        "b_w2 = mu*b_w2 + dC/dw2",
        "v_w3 <- momentum*v_w3 + dC/dw3",
        "w2 <- w2 - eta*b_w2",
    ]);
    all_correct(&[
        "m_w2 = β1 m_w2 + (1 - β1) dC/dw2",
        "v_w2 = β2 v_w2 + (1 - β2) (dC/dw2)^2",
        "m_hat_w2 = m_w2/(1 - β1^t)",
        "v_hat_w2 = v_w2/(1 - β2^t)",
        "w2 <- w2 - η m_hat_w2/(sqrt(v_hat_w2) + ε)",
        // The corrections written out inside the rule.
        "w2 <- w2 - eta*(m_w2/(1 - beta1^t))/(sqrt(v_w2/(1 - beta2^t)) + eps)",
        // AdamW: θ ← θ − ηλθ beside the step, for a weight; a bias is not decayed.
        "w2 <- w2 - eta*lambda*w2 - eta*m_hat_w2/(sqrt(v_hat_w2) + eps)",
        "w3 <- (1 - eta*weight_decay)*w3 - eta*m_hat_w3/(sqrt(v_hat_w3) + eps)",
        "b2 <- b2 - eta*m_hat_b2/(sqrt(v_hat_b2) + eps)",
    ]);
}

#[test]
fn beta_and_one_minus_beta_swapped_is_named() {
    let (kind, words) = named(&["v_dw2 = (1 - beta)*v_dw2 + beta*dC/dw2"]);
    assert_eq!(kind, "decay-swapped", "{words}");
    assert!(words.contains("β and 1 − β are swapped"), "{words}");
    let (kind, _) = named(&[
        "m_hat_w3 = m_w3/(1 - beta1^t)",
        "m_w3 = (1 - beta1)*m_w3 + beta1*dC/dw3",
    ]);
    assert_eq!(kind, "decay-swapped");
}

#[test]
fn a_missing_bias_correction_is_named() {
    // Both moments raw in Adam's step, PyTorch's names.
    let (kind, words) = named(&["w2 <- w2 - eta*m_w2/(sqrt(v_w2) + eps)"]);
    assert_eq!(kind, "bias-correction-missing", "{words}");
    assert!(words.contains("bias correction is left out"), "{words}");
    assert!(words.contains("m_w2 and v_w2"), "{words}");
    // Only the second moment raw, Ng's names.
    let (kind, words) = named(&["w2 <- w2 - alpha*v_corrected_dw2/(sqrt(s_dw2) + epsilon)"]);
    assert_eq!(kind, "bias-correction-missing", "{words}");
    assert!(words.contains("s_w2 starts at 0"), "{words}");
    // The correction without its power t.
    let (kind, words) = named(&["m_hat_w2 = m_w2/(1 - beta1)"]);
    assert_eq!(kind, "bias-correction-missing", "{words}");
    assert!(words.contains("raised to the step number t"), "{words}");
}

/// The first printings of Ng's notebook (and many solutions copied from them) wrote
/// `np.sqrt(s_corrected + epsilon)`.
#[test]
fn epsilon_inside_the_square_root_is_named() {
    let (kind, words) =
        named(&["w2 <- w2 - alpha*v_corrected_dw2/sqrt(s_corrected_dw2 + epsilon)"]);
    assert_eq!(kind, "epsilon-inside-root", "{words}");
    assert!(words.contains("inside the square root"), "{words}");
    let (kind, _) = named(&["w3 <- w3 - eta*dC/dw3/sqrt(s_w3 + eps)"]);
    assert_eq!(kind, "epsilon-inside-root");
}

#[test]
fn weight_decay_applied_to_a_bias_is_named() {
    let (kind, words) = named(&["b3 <- b3 - eta*(m_hat_b3/(sqrt(v_hat_b3) + eps) + lambda*b3)"]);
    assert_eq!(kind, "bias-decayed", "{words}");
    assert!(words.contains("not the biases"), "{words}");
    // A weight with no decay where the claim uses it elsewhere is simply another rule: the
    // claim names λ, so the weight must be decayed.
    let c = judge(SEED, "w3 <- w3 - eta*lambda*w3 - eta*dC/dw3", "");
    assert_eq!(c.verdict, Verdict::Correct, "{c:?}");
}

#[test]
fn beta1_for_beta2_and_an_unsquared_gradient_are_named() {
    let (kind, words) = named(&["s_dw2 = beta1*s_dw2 + (1 - beta1)*(dC/dw2)^2"]);
    assert_eq!(kind, "wrong-decay", "{words}");
    assert!(words.contains("β₂ the second"), "{words}");
    let (kind, words) = named(&["s_dw2 = beta2*s_dw2 + (1 - beta2)*dC/dw2"]);
    assert_eq!(kind, "gradient-not-squared", "{words}");
}

/// LaTeX as a textbook prints Adam.
#[test]
fn adam_in_latex_is_read() {
    all_correct(&[
        "m_{w_2} = \\beta_1 m_{w_2} + (1 - \\beta_1) \\frac{\\partial C}{\\partial w_2}",
        "\\hat{m}_{w_2} = \\frac{m_{w_2}}{1 - \\beta_1^t}",
        "w_2 \\leftarrow w_2 - \\eta \\frac{\\hat{m}_{w_2}}{\\sqrt{\\hat{v}_{w_2}} + \\epsilon}",
    ]);
}

/// Other wrong rules still get a diagnosis of their own: here the step's sign.
#[test]
fn a_wrong_sign_in_an_optimizer_rule_is_still_named() {
    let (kind, words) = named(&["w2 <- w2 + eta*m_hat_w2/(sqrt(v_hat_w2) + eps)"]);
    assert_eq!(kind, "sign", "{words}");
    assert!(words.contains("a term with the wrong sign"), "{words}");
}

/// A worksheet judged for one optimizer, as `check --optimizer` does: every update rule
/// against the update `step` takes with it.
fn for_optimizer(kind: OptimizerKind, claims: &[&str]) -> Vec<Checked> {
    let model = chainrule::with_learning_rate(&common::load(SEED));
    let claims: Vec<String> = claims.iter().map(|c| c.to_string()).collect();
    chainrule::check_claims_for(kind, None, &model, &claims, &[])
        .into_iter()
        .zip(&claims)
        .map(|(judged, claim)| {
            judged.unwrap_or_else(|e| panic!("{}", e.diagnostic.render("claim", claim, false)))
        })
        .collect()
}

/// The kind named for a wrong Nesterov update, with its sentence.
fn named_for_nesterov(claim: &str) -> (String, String) {
    named_in(
        for_optimizer(OptimizerKind::Nesterov, &[claim])
            .pop()
            .unwrap(),
    )
}

/// Nesterov's momentum as PyTorch's documentation writes it (b ← μb + g, θ ← θ − η(g + μb)),
/// as Sutskever et al. and CS231n write it with a velocity that is the step itself
/// (v ← μv − η∇f, θ ← θ + μv − η∇f: `step`'s parameter is their look-ahead point, where
/// the gradient is taken), and the rewrite θ ← θ − μv_prev + (1 + μ)v of Bengio et al.; plain
/// and LaTeX, read from the names alone and with Nesterov asked for.
#[test]
fn nesterov_in_each_usual_spelling_is_judged_correct() {
    let spellings: [&[&str]; 4] = [
        &[
            "b_w2 = mu*b_w2 + dC/dw2",
            "w2 <- w2 - eta*(dC/dw2 + mu*b_w2)",
            "b3 <- b3 - lr*dC/db3 - lr*momentum*b_b3",
        ],
        &[
            "v_w3 = mu*v_w3 - eta*dC/dw3",
            "w3 <- w3 + mu*v_w3 - eta*dC/dw3",
            "w3 := w3 - mu*v_prev_w3 + (1 + mu)*v_w3",
            "v_w2 = μ v_prev_w2 - η dC/dw2",
        ],
        &[
            "b_{w_2} = \\mu b_{w_2} + \\frac{\\partial C}{\\partial w_2}",
            "w_2 \\leftarrow w_2 - \\eta \\left( \\frac{\\partial C}{\\partial w_2} + \\mu b_{w_2} \\right)",
            "w_3 \\leftarrow w_3 - \\mu v^{prev}_{w_3} + (1 + \\mu) v_{w_3}",
        ],
        // With weight decay, a weight decays and a bias does not.
        &[
            "w2 <- w2 - eta*lambda*w2 - eta*(dC/dw2 + mu*b_w2)",
            "b2 <- b2 - eta*(dC/db2 + mu*b_b2)",
        ],
    ];
    for claims in spellings {
        all_correct(claims);
        for c in for_optimizer(OptimizerKind::Nesterov, claims) {
            assert_eq!(c.verdict, Verdict::Correct, "{}: {c:?}", c.claim);
        }
    }
    // CS231n's momentum in the same velocity is momentum's rule, and right as such.
    all_correct(&["v_w3 = mu*v_w3 - eta*dC/dw3", "w3 <- w3 + v_w3"]);
    for c in for_optimizer(
        OptimizerKind::Momentum,
        &["w3 <- w3 + v_w3", "w2 <- w2 - eta*b_w2"],
    ) {
        assert_eq!(c.verdict, Verdict::Correct, "{}: {c:?}", c.claim);
    }
}

/// Momentum's update handed in for Nesterov's: the gradient taken at the current point, in
/// PyTorch's buffer and in CS231n's velocity.
#[test]
fn momentum_written_where_nesterov_was_asked_is_named() {
    for claim in [
        "w2 <- w2 - eta*b_w2",
        "w3 <- w3 + v_w3",
        "w_3 \\leftarrow w_3 + v_{w_3}",
    ] {
        let (kind, words) = named_for_nesterov(claim);
        assert_eq!(kind, "momentum-for-nesterov", "{claim}: {words}");
        assert!(words.contains("look-ahead point"), "{words}");
    }
    // Asked for momentum, the same line is right.
    let c = for_optimizer(OptimizerKind::Momentum, &["w2 <- w2 - eta*b_w2"]).remove(0);
    assert_eq!(c.verdict, Verdict::Correct, "{c:?}");
}

/// PyTorch's form with μb left out: plain gradient descent.
#[test]
fn the_lookahead_term_left_out_is_named() {
    let (kind, words) = named_for_nesterov("w2 <- w2 - eta*dC/dw2");
    assert_eq!(kind, "lookahead-missing", "{words}");
    assert!(words.contains("look-ahead term is left out"), "{words}");
    assert!(words.contains("b_w2"), "{words}");
    let (kind, _) = named_for_nesterov("w3 <- w3 - eta*dC/dw3 - eta*lambda*w3");
    assert_eq!(kind, "lookahead-missing");
}

/// μ and 1 − μ swapped in the look-ahead, its sign flipped, and weight decay on a bias, read
/// from the names alone (μ beside the velocity in the update is Nesterov's) and asked for.
#[test]
fn nesterovs_decay_sign_and_bias_slips_are_named() {
    let cases = [
        ("w2 <- w2 - eta*(dC/dw2 + (1 - mu)*b_w2)", "decay-swapped"),
        ("w3 <- w3 + (1 - mu)*v_w3 - eta*dC/dw3", "decay-swapped"),
        ("w2 <- w2 - eta*(dC/dw2 - mu*b_w2)", "sign"),
        ("w3 <- w3 - mu*v_w3 - eta*dC/dw3", "sign"),
        (
            "b3 <- b3 - eta*(dC/db3 + mu*b_b3) - eta*lambda*b3",
            "bias-decayed",
        ),
    ];
    for (claim, expected) in cases {
        let (kind, words) = named(&[claim]);
        assert_eq!(kind, expected, "{claim}: {words}");
        let (kind, words) = named_for_nesterov(claim);
        assert_eq!(kind, expected, "{claim} (asked): {words}");
        if expected == "decay-swapped" {
            assert!(
                words.contains("swapped in Nesterov's look-ahead"),
                "{words}"
            );
        }
    }
}

/// `check --optimizer nesterov` in LaTeX, wrong lines and right ones, compiles with pdflatex.
#[test]
fn a_nesterov_worksheet_in_latex_compiles() {
    if common::tools::pdflatex_available() {
        compile_a_nesterov_worksheet();
    }
}

fn compile_a_nesterov_worksheet() {
    let dir = tempfile::tempdir().unwrap();
    let tex = dir.path().join("nesterov.tex");
    let status = assert_cmd::Command::cargo_bin("chainrule")
        .unwrap()
        .args(["check", "examples/seed.bp", "--optimizer", "nesterov"])
        .args(["--claim", "w2 <- w2 - eta*b_w2"])
        .args(["--claim", "w2 <- w2 - eta*dC/dw2"])
        .args(["--claim", "w2 <- w2 - eta*(dC/dw2 + (1 - mu)*b_w2)"])
        .args(["--claim", "w3 := w3 - mu*v_prev_w3 + (1 + mu)*v_w3"])
        .args(["--format", "latex", "--standalone", "-o"])
        .arg(&tex)
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(1), "{status}");
    let text = std::fs::read_to_string(&tex).unwrap();
    assert!(text.contains("look-ahead"), "{text}");
    common::tools::compile_latex(&tex);
}

/// The three spellings `check` judges right, each run by hand for three steps on one sigmoid
/// neuron, give the parameters `step --optimizer nesterov` gives, to 12 significant digits:
/// PyTorch's buffer, the signed velocity θ ← θ + μv − ηg, and Bengio's rewrite
/// θ ← θ − μv_prev + (1 + μ)v (the gradient each time at the parameters step holds, the
/// look-ahead point of Sutskever's form).
#[test]
fn each_spelling_check_accepts_steps_as_step_does() {
    const NEURON: &str =
        "input x\ntarget y\nparam w, b\nz = w*x + b\na = sigmoid(z)\ncost C = (y - a)^2\n";
    let (x, y, lr, mu) = (1.5, 0.2, 0.3, 0.9);
    let gradient = |theta: [f64; 2]| {
        let a = 1.0 / (1.0 + (-(theta[0] * x + theta[1])).exp());
        let delta = -2.0 * (y - a) * a * (1.0 - a);
        [delta * x, delta]
    };
    let spellings: [&[&str]; 3] = [
        &["b_w = mu*b_w + dC/dw", "w <- w - eta*(dC/dw + mu*b_w)"],
        &["v_w = mu*v_w - eta*dC/dw", "w <- w + mu*v_w - eta*dC/dw"],
        &[
            "v_b = mu*v_prev_b - eta*dC/db",
            "b <- b - mu*v_prev_b + (1 + mu)*v_b",
        ],
    ];
    let model = chainrule::with_learning_rate(&common::load(NEURON));
    for claims in spellings {
        let claims: Vec<String> = claims.iter().map(|c| c.to_string()).collect();
        for judged in
            chainrule::check_claims_for(OptimizerKind::Nesterov, None, &model, &claims, &[])
        {
            assert_eq!(judged.unwrap().verdict, Verdict::Correct);
        }
    }
    // Each spelling's rule, as the claims above write it.
    let (mut pytorch, mut signed, mut bengio) = ([0.8, -0.4], [0.8, -0.4], [0.8, -0.4]);
    let (mut buffer, mut velocity, mut previous) = ([0.0; 2], [0.0; 2], [0.0; 2]);
    let mut by_hand = Vec::new();
    for _ in 0..3 {
        let (g_pytorch, g_signed, g_bengio) =
            (gradient(pytorch), gradient(signed), gradient(bengio));
        for i in 0..2 {
            buffer[i] = mu * buffer[i] + g_pytorch[i];
            pytorch[i] -= lr * (g_pytorch[i] + mu * buffer[i]);
            velocity[i] = mu * velocity[i] - lr * g_signed[i];
            signed[i] += mu * velocity[i] - lr * g_signed[i];
            let v = mu * previous[i] - lr * g_bengio[i];
            bengio[i] += -mu * previous[i] + (1.0 + mu) * v;
            previous[i] = v;
        }
        by_hand.push([pytorch, signed, bengio]);
    }
    let mut model = chainrule::load(NEURON).unwrap();
    let at = chainrule::values(&model, "x=1.5,y=0.2,w=0.8,b=-0.4").unwrap();
    let optimizer = chainrule::Optimizer {
        momentum: mu,
        ..chainrule::Optimizer::with_defaults(OptimizerKind::Nesterov)
    };
    let descent = chainrule::descend_with(&mut model, &at, lr, 3, &optimizer).unwrap();
    for (step, spelled) in descent.steps.iter().zip(&by_hand) {
        for theta in spelled {
            for (&(_, got), want) in step.params_after.iter().zip(theta) {
                assert!(
                    (got - want).abs() <= 1e-12 * got.abs().max(want.abs()),
                    "step gives {got}, by hand {want}"
                );
            }
        }
    }
}

//! `check` on update-rule claims of the optimizers `step` runs: momentum, RMSProp and Adam as
//! Ng's "Optimization methods" notebook writes them (`v`, `s`, `v_corrected`, `s_corrected`,
//! β, β₁, β₂, ε, t) and as PyTorch's documentation does (`m`, `v`, `m̂`, `v̂`, the momentum
//! buffer `b`, μ, weight decay λ), judged correct; and each classic mistake named as its kind
//! from a realistic wrong line.

mod common;

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
    let c = worksheet(claims).pop().unwrap();
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

//! Diagnoses ranked by how likely a person is to make the mistake: the mistakes textbook cases
//! showed misnamed (σ′ taken at the activation, CS224n's flipped sign inside σ, a direct use
//! missed beside an indirect one, a max gate whose unpicked side gets a share), each written
//! from its realistic wrong answer and named as its kind, with a competing one-symbol edit
//! offered second; and planted mistakes, each beside a generic edit that fits the value as
//! well, named as the pattern planted in at least 95 of 100 random programs.

mod common;

use chainrule::{Checked, Verdict};
use common::claims::judge;
use serde_json::Value;

/// One hidden relu unit and a sigmoid output: relu is a function the program uses, so
/// `relu(a3)` (= a3, a3 being positive) is an edit the search may offer.
fn relu_sigmoid(k: &str) -> String {
    format!(
        "input x
target y
param w, b, v, c
z2 = w*x + b
a2 = relu(z2)
z3 = v*a2 + c
a3 = sigmoid(z3)
cost C = {k}(a3 - y)^2
"
    )
}

/// CS224n's negative-sampling loss for one centre vector v: the observed outside word uo and
/// `k` negative samples.
fn negative_sampling(k: usize) -> String {
    let negatives: Vec<String> = (1..=k).map(|i| format!("u{i}")).collect();
    let terms: String = negatives
        .iter()
        .map(|u| format!(" - log(sigmoid(-{u}*v))"))
        .collect();
    format!(
        "input uo, {}\nparam v\ncost J = -log(sigmoid(uo*v)){terms}\n",
        negatives.join(", ")
    )
}

/// A student's ∂J/∂v with the sign inside σ flipped in the negative samples listed.
fn negative_sampling_claim(k: usize, flipped: &[usize]) -> String {
    let mut claim = "dJ/dv = -(1 - sigmoid(uo*v))*uo".to_string();
    for i in 1..=k {
        let sign = if flipped.contains(&i) { "" } else { "-" };
        claim.push_str(&format!(" + (1 - sigmoid({sign}u{i}*v))*u{i}"));
    }
    claim
}

/// The JSON report of one judgement.
fn json(c: &Checked) -> Value {
    let layout = chainrule::Layout::default();
    let document = chainrule::Document::Checks(std::slice::from_ref(c));
    let text = chainrule::render(&document, chainrule::DocumentFormat::Json, &layout).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    report["claims"][0].clone()
}

/// The kinds named, likeliest first: the mistake, then the alternatives.
fn kinds(c: &Checked) -> Vec<String> {
    let doc = json(c);
    let mut out: Vec<String> = doc["mistake"]["kind"]
        .as_str()
        .map(String::from)
        .into_iter()
        .collect();
    if let Some(alternatives) = doc["alternatives"].as_array() {
        out.extend(
            alternatives
                .iter()
                .filter_map(|a| a["kind"].as_str().map(String::from)),
        );
    }
    out
}

fn wrong(source: &str, claim: &str) -> Checked {
    let c = judge(source, claim, "");
    assert_eq!(c.verdict, Verdict::Incorrect, "{claim}: {c:?}");
    c
}

// -------------------------------------------------------------------------------------------
// The mistakes under "Why", from their realistic wrong answers
// -------------------------------------------------------------------------------------------

/// σ′ evaluated at the activation, `σ(a3)(1 − σ(a3))` for `a3(1 − a3)`: a wrong argument, not
/// "sigmoid written for relu" (relu(a3) = a3 only because a3 > 0), which is mentioned second.
#[test]
fn sigma_prime_at_the_activation_is_a_wrong_argument_before_a_function_swap() {
    let source = relu_sigmoid("");
    let claim = "dC/dz3 = 2(a3 - y) sigmoid(a3)(1 - sigmoid(a3))";
    let c = wrong(&source, claim);
    assert_eq!(kinds(&c), ["wrong-argument", "wrong-function"], "{claim}");
    let doc = json(&c);
    assert_eq!(doc["mistake"]["written"], "sigmoid(a3)", "{doc}");
    assert_eq!(doc["mistake"]["should_be"], "sigmoid(z3)", "{doc}");
    assert_eq!(doc["alternatives"][0]["function_meant"], "relu", "{doc}");
    let text = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(text.starts_with("`σ(a3)` should be `σ(z3)`"), "{text}");
    assert!(
        text.contains("Another single mistake fits as well") && text.contains("relu"),
        "the text mentions the second: {text}"
    );
    // Every place the slip recurs is corrected, and the correction checks.
    let corrected = common::claims::corrected(&c);
    assert_eq!(
        judge(&source, &format!("dC/dz3 = {corrected}"), "").verdict,
        Verdict::Correct
    );
}

/// On a network that uses no relu, the function swap is not offered at all: a generic edit
/// swaps in only a function the program or the claim uses.
#[test]
fn a_function_swap_offers_only_functions_in_use() {
    let source = "network 2-2-1\nactivation sigmoid\ncost quadratic\n";
    let c = wrong(
        source,
        "delta3_1 = 2(a3_1 - y1) sigmoid(a3_1)(1 - sigmoid(a3_1))",
    );
    assert_eq!(kinds(&c), ["wrong-argument"]);
    // tanh written where the program has σ: the swap back to σ, a function in use, is offered.
    let c = wrong(source, "delta3_1 = 2(a3_1 - y1) tanh(z3_1)(1 - tanh(z3_1))");
    let doc = json(&c);
    assert_eq!(doc["mistake"]["kind"], "wrong-function", "{doc}");
    assert_eq!(doc["mistake"]["function_meant"], "sigmoid", "{doc}");
}

/// CS224n's flipped sign inside σ, σ(u_k·v_c) for σ(−u_k·v_c): with one negative sample a
/// flipped argument before "a difference written for a product" (1 − σ for 1·σ), and with two,
/// where no single edit fits, a flipped argument the same way in both terms.
#[test]
fn a_flipped_sign_inside_sigma_is_a_flipped_argument_in_every_term() {
    let c = wrong(&negative_sampling(1), &negative_sampling_claim(1, &[1]));
    assert_eq!(kinds(&c), ["flipped-argument", "difference-for-product"]);
    let doc = json(&c);
    assert_eq!(doc["mistake"]["written"], "sigmoid(u1*v)", "{doc}");
    assert_eq!(doc["mistake"]["occurrences"], 1, "{doc}");
    let c = wrong(&negative_sampling(2), &negative_sampling_claim(2, &[1, 2]));
    assert_eq!(kinds(&c)[0], "flipped-argument");
    let doc = json(&c);
    assert_eq!(doc["mistake"]["occurrences"], 2, "{doc}");
    let text = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(text.contains("in 2 places the same way"), "{text}");
    let corrected = common::claims::corrected(&c);
    assert_eq!(
        judge(&negative_sampling(2), &format!("dJ/dv = {corrected}"), "").verdict,
        Verdict::Correct
    );
}

/// A direct use missed beside an indirect one (`y = x + u1` with `u1 = x²`, the
/// single-variable chain rule keeping only the u1 path) is a path left out, not "the
/// regularisation term `x`": x is an input, no penalty on a parameter.
#[test]
fn a_direct_use_missed_is_a_missing_path_not_a_regulariser() {
    let source = "input x\nu1 = x^2\ncost y = x + u1\n";
    let c = wrong(source, "dy/dx = 2x");
    // The chain stopped at u1 (∂u1/∂x = 2x) fits too, and comes after both.
    assert_eq!(kinds(&c)[..2], ["missing-path", "missing-cost-term"]);
    let doc = json(&c);
    assert_eq!(doc["mistake"]["name"], "x", "{doc}");
    assert_eq!(doc["mistake"]["user"], "y", "{doc}");
    assert_eq!(
        doc["mistake"]["through"],
        serde_json::json!(["u1"]),
        "{doc}"
    );
    assert_eq!(doc["alternatives"][0]["regulariser"], false, "{doc}");
    let text = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(!text.contains("regularisation"), "{text}");
    assert!(text.contains("the direct use is missing"), "{text}");
    // A regulariser's term left out is still named as one.
    let c = wrong(common::claims::CROSS_ENTROPY, "dC/dw = (a - y) x");
    assert_eq!(kinds(&c)[0], "missing-cost-term");
    assert_eq!(json(&c)["mistake"]["regulariser"], true);
}

/// CS231n's max gate where the claim gives the side not picked a share: the gate treated as a
/// sum, every argument given the whole gradient, is a routing-gate mistake, not a path
/// counted once.
#[test]
fn a_share_for_the_side_max_did_not_pick_is_a_routing_gate_mistake() {
    let source = "input x\nparam w, v\nz = w*x\nu = v*x\nm = max(z, u)\ncost C = m^2\n";
    let c = wrong(source, "dC/dx = 2m(w + v)");
    assert_eq!(kinds(&c)[0], "routing-gate");
    let doc = json(&c);
    assert_eq!(doc["mistake"]["share"], "both", "{doc}");
    let text = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(
        text.contains("the argument not picked gets a share"),
        "{text}"
    );
    // CS231n's own circuit, f = 2(xy + max(z, w)): w not picked, and given the gradient.
    let circuit = "input x, y, z, w\nq = x*y\nm = max(z, w)\ncost f = 2*(q + m)\n";
    let c = wrong(circuit, "df/dw = 2");
    assert_eq!(kinds(&c)[0], "routing-gate");
    assert_eq!(json(&c)["mistake"]["share"], "whole_to_second");
    let c = judge(circuit, "df/dw = 2", "x=3,y=-4,z=2,w=-1");
    assert_eq!(json(&c)["mistake"]["kind"], "routing-gate");
}

// -------------------------------------------------------------------------------------------
// Planted patterns beside competing generic edits
// -------------------------------------------------------------------------------------------

/// Each recognised pattern planted in random programs where a generic one-symbol edit fits
/// the claim's value as well (relu(a3) = a3 for a σ′ at the activation, 1·σ for 1 − σ beside a
/// flipped sign, the term left out for a direct use, another name of the same value for an
/// index slip, the number for a constant factor or a sign), named first in at least 95 of 100.
#[test]
fn planted_patterns_beat_generic_edits_that_fit_as_well() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    const TRIALS: usize = 100;
    let mut runner = TestRunner::deterministic();
    let mut named: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut misses: Vec<String> = Vec::new();
    let mut tally = |kind: &'static str, source: &str, claim: &str, c: &Checked| {
        if kinds(c).first().map(String::as_str) == Some(kind) {
            *named.entry(kind).or_default() += 1;
        } else {
            misses.push(format!("{kind}: {claim} on\n{source}→ {:?}", kinds(c)));
        }
    };
    let scales = prop::sample::select(vec!["", "0.5*", "3*", "1.5*"]);
    let weights = prop::sample::select(vec!["v", "c", "w", "b"]);
    let functions = prop::sample::select(vec![
        ("x^2", "2x"),
        ("x^3", "3x^2"),
        ("exp(x)", "exp(x)"),
        ("sigmoid(x)", "sigmoid(x)(1 - sigmoid(x))"),
        ("tanh(x)", "1 - tanh(x)^2"),
        ("log(1 + x^2)", "2x/(1 + x^2)"),
    ]);
    let strategy = (
        scales,
        weights,
        any::<bool>(),
        1usize..=3,
        any::<prop::sample::Index>(),
        functions,
        prop::sample::select(vec!["", "2*", "0.5*", "3*"]),
        any::<bool>(),
    );
    for _ in 0..TRIALS {
        let (k, wrt, expanded, negatives, which, (f, df), direct_scale, first) =
            strategy.new_tree(&mut runner).unwrap().current();
        // σ′ at the activation, beside relu(a3) = a3.
        let source = relu_sigmoid(k);
        let factor = k.strip_suffix('*').unwrap_or("1");
        let local = match wrt {
            "v" => " a2",
            "c" => "",
            "w" => " v relu'(z2) x",
            _ => " v relu'(z2)",
        };
        let at_activation = if expanded {
            "sigmoid(a3)(1 - sigmoid(a3))"
        } else {
            "sigmoid'(a3)"
        };
        let planted = [
            (
                "wrong-argument",
                format!("dC/d{wrt} = 2*{factor}(a3 - y) {at_activation}{local}"),
            ),
            // The number 2 halved, beside "a factor 2 too many here".
            (
                "constant-factor",
                format!("dC/d{wrt} = {factor}(a3 - y) sigmoid'(z3){local}"),
            ),
            // y − a for a − y, beside one term's sign.
            (
                "sign",
                format!("dC/d{wrt} = 2*{factor}(y - a3) sigmoid'(z3){local}"),
            ),
        ];
        let claims: Vec<String> = planted.iter().map(|(_, c)| c.clone()).collect();
        let model = chainrule::with_learning_rate(&common::load(&source));
        for ((kind, claim), c) in planted
            .iter()
            .zip(chainrule::check(&model, &claims, &[]).unwrap())
        {
            tally(kind, &source, claim, &c);
        }
        // CS224n: the sign inside σ flipped in one negative sample, or in all of them.
        let source = negative_sampling(negatives);
        let flipped: Vec<usize> = if first {
            vec![which.index(negatives) + 1]
        } else {
            (1..=negatives).collect()
        };
        let claim = negative_sampling_claim(negatives, &flipped);
        tally(
            "flipped-argument",
            &source,
            &claim,
            &judge(&source, &claim, ""),
        );
        // A direct use missed beside the path through u1.
        let source = format!("input x\nu1 = {f}\ncost y = {direct_scale}x + u1\n");
        let claim = format!("dy/dx = {df}");
        tally("missing-path", &source, &claim, &judge(&source, &claim, ""));
        // An index slip, x2 for x1, beside the alias s of x1 (one name for another).
        let (slip, right) = if first { ("x2", "x1") } else { ("x1", "x2") };
        let source = format!(
            "input x1, x2\ntarget y\nparam w1, w2\ns = {right}\nz = w1*x1 + w2*x2\ncost C = {k}(z - y)^2\n"
        );
        let w = if first { "w1" } else { "w2" };
        let claim = format!("dC/d{w} = 2*{factor}(z - y) {slip}");
        tally("index-slip", &source, &claim, &judge(&source, &claim, ""));
    }
    // Shown with --nocapture: how often each pattern was named first.
    println!("named first, of {TRIALS}: {named:?}");
    for kind in [
        "wrong-argument",
        "flipped-argument",
        "missing-path",
        "index-slip",
        "constant-factor",
        "sign",
    ] {
        let count = named.get(kind).copied().unwrap_or(0);
        assert!(
            count >= 95,
            "{kind} named first in {count} of {TRIALS}:\n{}",
            misses.join("\n")
        );
    }
}

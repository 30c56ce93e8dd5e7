//! Declared domains (`input x > 0`, `input x in [0, 1]`): `check` draws its random points and
//! picks its counterexamples and simple points inside them, so a claim true only on the
//! domain is correct with the declaration and incorrect without it; a domain that holds no
//! value, or one on a one-hot target, is refused with a caret.

mod common;

use chainrule::analysis::check::Verdict;
use common::claims::judge;
use common::run as chainrule;

/// The reproducer: sqrt(x²) = |x| is x only for x ≥ 0.
#[test]
fn a_claim_true_only_on_the_domain_is_correct_with_the_declaration_and_not_without() {
    let declared = "input x > 0\nparam w\ncost C = w*sqrt(x^2)\n";
    let undeclared = "input x\nparam w\ncost C = w*sqrt(x^2)\n";
    for claim in ["dC/dw = x", "sqrt(x^2) = x"] {
        let c = judge(declared, claim, "");
        assert_eq!(c.verdict, Verdict::Correct, "{claim}: {c:?}");
        let c = judge(undeclared, claim, "");
        assert_eq!(c.verdict, Verdict::Incorrect, "{claim}: {c:?}");
        let (_, x) = c.counterexample.as_ref().unwrap()[0].clone();
        assert!(x < 0.0, "{claim}: a counterexample at x = {x}");
    }
    // Intervals, open and closed ends, each notation.
    for (declaration, claim) in [
        ("input x in [0, 1]", "relu(x) = x"),
        ("input x ∈ (-1, 0)", "abs(x) = -x"),
        ("input x >= 0", "sqrt(x^2) = x"),
        ("input x ≤ 0", "sqrt(x^2) = -x"),
        ("input x < -2", "max(x, -2) = -2"),
        ("input x in (0.5, 0.6]", "min(x, 0.5) = 0.5"),
    ] {
        let source = format!("{declaration}\ncost C = x\n");
        let c = judge(&source, claim, "");
        assert_eq!(c.verdict, Verdict::Correct, "{declaration}: {claim}: {c:?}");
        let c = judge("input x\ncost C = x\n", claim, "");
        assert_eq!(
            c.verdict,
            Verdict::Incorrect,
            "{claim} without {declaration}: {c:?}"
        );
    }
}

/// A wrong claim's counterexample, simple point or random, lies inside the domain.
#[test]
fn counterexamples_lie_inside_the_domain() {
    for (declaration, inside) in [
        ("input x in [2, 3]", (2.0, 3.0)),
        ("input x > 5", (5.0, f64::INFINITY)),
        ("input x < -4", (f64::NEG_INFINITY, -4.0)),
        ("input x in (0, 0.001)", (0.0, 0.001)),
    ] {
        let source = format!("{declaration}\nparam w\ncost C = w*x^2\n");
        let c = judge(&source, "dC/dw = 2x", "");
        assert_eq!(c.verdict, Verdict::Incorrect, "{declaration}: {c:?}");
        let point = c.counterexample.as_ref().unwrap();
        let x = point.iter().find(|(name, _)| name == "x").unwrap().1;
        assert!(
            inside.0 < x && x <= inside.1,
            "{declaration}: a counterexample at x = {x}"
        );
    }
}

/// Each entry of a vector declared with a domain has it.
#[test]
fn a_vector_s_domain_is_each_entry_s() {
    let model = common::load("input x[2] in [0, 1]\nparam w[2]\ncost C = dot(w, x)\n");
    assert_eq!(model.domains.len(), 2);
    for (s, domain) in &model.domains {
        assert!(model.name(*s).starts_with('x'), "{}", model.name(*s));
        assert!(domain.contains(0.0) && domain.contains(1.0) && !domain.contains(1.5));
    }
}

/// A domain that holds no value, or one on a one-hot target, is bad input: exit 2, a caret
/// under the domain.
#[test]
fn an_empty_domain_or_one_on_a_one_hot_target_is_refused() {
    for (source, message) in [
        (
            "input x in [1, 0]\ncost C = x\n",
            "this domain holds no value",
        ),
        (
            "input x in (1, 1]\ncost C = x\n",
            "this domain holds no value",
        ),
        (
            "input x\ntarget y1, y2 in [0, 1] one-hot\ncost C = x*y1\n",
            "a one-hot target takes no domain",
        ),
    ] {
        let out = chainrule(&["derive", "-", "--all"], Some(source));
        assert_eq!(out.status.code(), Some(2), "{source}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{source}: {stderr}");
        assert!(stderr.contains('^'), "{source}: {stderr}");
        assert!(out.stdout.is_empty(), "{source}: no partial output");
    }
}

/// Issue 22, item 1's last half: a value given outside a declared domain is a warning (kind
/// `outside-domain`), not a refusal: `eval` carries it among its warnings (text and JSON),
/// `step` and `check` write it on standard error, and every command still answers.
#[test]
fn a_value_outside_the_declared_domain_is_warned_about() {
    let program = "input x in [0, 1]\ninput p > 0\nparam w\ncost C = w*x*p\n";
    let json = chainrule(
        &["eval", "-", "--at", "x=1.5,p=-2,w=1", "--format", "json"],
        Some(program),
    );
    assert_eq!(json.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let outside: Vec<(&str, &str)> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "outside-domain")
        .map(|w| (w["at"].as_str().unwrap(), w["message"].as_str().unwrap()))
        .collect();
    assert_eq!(outside.len(), 2, "{doc}");
    assert_eq!(outside[0].0, "x");
    assert!(outside[0].1.contains("x = 1.5"), "{}", outside[0].1);
    assert!(outside[0].1.contains("x ∈ [0, 1]"), "{}", outside[0].1);
    assert_eq!(outside[1].0, "p");
    assert!(outside[1].1.contains("p > 0"), "{}", outside[1].1);
    // The value is still computed: C = 1·1.5·(−2).
    assert_eq!(doc["cost"].as_f64(), Some(-3.0), "{doc}");

    let text = chainrule(&["eval", "-", "--at", "x=1.5,p=2,w=1"], Some(program));
    let shown = String::from_utf8(text.stdout).unwrap();
    assert!(shown.contains("x = 1.5 lies outside"), "{shown}");

    for args in [
        vec![
            "check",
            "-",
            "--at",
            "x=1,p=0,w=1",
            "--claim",
            "dC/dw = x*p",
        ],
        vec!["step", "-", "--lr", "0.1", "--at", "x=-0.5,p=1,w=1"],
    ] {
        let out = chainrule(&args, Some(program));
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.matches("warning:").count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("outside the domain"), "{stderr}");
        assert!(!out.stdout.is_empty());
    }
    // Inside every domain (an end included where it is closed): nothing to say.
    let out = chainrule(
        &["step", "-", "--lr", "0.1", "--at", "x=0,p=2,w=1"],
        Some(program),
    );
    assert!(String::from_utf8(out.stderr).unwrap().is_empty());
}

/// Issue 22, items 4 and 14: `step`'s JSON carries a value given outside its declared domain
/// among its warnings, as eval's JSON does (kind `outside-domain`, the name, the sentence in
/// text form), beside the step warnings; a run inside every domain has none.
#[test]
fn steps_json_carries_a_value_outside_the_declared_domain() {
    let program = "input x in [0, 1]\ninput p > 0\nparam w\ncost C = w*x*p\n";
    let step_json = |at: &str| {
        let out = chainrule(
            &[
                "step", "-", "--lr", "0.1", "--steps", "2", "--at", at, "--format", "json",
            ],
            Some(program),
        );
        assert_eq!(out.status.code(), Some(0), "{at}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let doc = step_json("x=1.5,p=-2,w=1");
    let warnings = doc["warnings"].as_array().unwrap();
    let outside: Vec<_> = warnings
        .iter()
        .filter(|w| w["kind"] == "outside-domain")
        .collect();
    assert_eq!(outside.len(), 2, "{doc}");
    assert_eq!(outside[0]["at"], "x", "{doc}");
    assert_eq!(outside[0]["step"], 1, "{doc}");
    let message = outside[0]["message"].as_str().unwrap();
    assert!(message.contains("x = 1.5"), "{message}");
    assert!(message.contains("x ∈ [0, 1]"), "{message}");
    assert_eq!(outside[1]["at"], "p", "{doc}");
    assert!(outside[1]["message"].as_str().unwrap().contains("p > 0"));
    // The run still happened from there: C = 1·1.5·(−2) at the start.
    assert_eq!(doc["steps"][0]["cost"].as_f64(), Some(-3.0), "{doc}");
    // Its own warnings keep their form: no `at`.
    assert!(
        warnings
            .iter()
            .filter(|w| w["kind"] != "outside-domain")
            .all(|w| w.get("at").is_none())
    );
    let inside = step_json("x=0,p=2,w=1");
    assert_eq!(
        inside["warnings"].as_array().map(Vec::len),
        Some(0),
        "{inside}"
    );
}

//! The sign function and the two-argument routing gates `max` and `min`: written in the
//! language and in claims (plain and LaTeX as textbooks print them), differentiated (sgn′ = 0,
//! abs′ = sgn, max and min pass the whole gradient to the argument they pick), evaluated in
//! float64 and in the reference (with a warning where the two pick different sides), printed
//! in every format, and checked: Nielsen's L1 rule is right, and a claim that routes the
//! gradient wrongly at max or min is named a routing-gate mistake.

mod common;

use chainrule::{Checked, Verdict};
use common::claims::{corrected, judge};
use common::{run as chainrule, stdout_of};
use proptest::prelude::*;

/// Nielsen's chapter 3, L1 regularisation: C = C0 + (λ/n) Σ_w |w|, on one sigmoid neuron
/// with the quadratic cost as C0.
const NIELSEN_L1: &str = "input x1, x2, lambda, n
target y
param w1, w2, b
z = w1*x1 + w2*x2 + b
a = sigmoid(z)
C0 = 0.5*(y - a)^2
cost C = C0 + lambda/n*(abs(w1) + abs(w2))
";

/// CS231n's max gate inside a small network: the larger of two pre-activations is squared.
const MAX_GATE: &str = "input x, y
param w, v
z = w*x
u = v*y
m = max(z, u)
cost C = m^2
";

/// The same with `min`.
const MIN_GATE: &str = "input x, y
param w, v
z = w*x
u = v*y
m = min(z, u)
cost C = m^2
";

fn right(source: &str, claim: &str, at: &str) {
    let c = judge(source, claim, at);
    assert_eq!(c.verdict, Verdict::Correct, "{claim}: {c:?}");
}

/// The mistake of a judgement as the JSON report gives it.
fn json_mistake(c: &Checked) -> serde_json::Value {
    let layout = chainrule::Layout::default();
    let document = chainrule::Document::Checks(std::slice::from_ref(c));
    let text = chainrule::render(&document, chainrule::DocumentFormat::Json, &layout).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    report["claims"][0]["mistake"].clone()
}

// ---------------------------------------------------------------------------------------------
// sgn and Nielsen's L1 rule
// ---------------------------------------------------------------------------------------------

/// Nielsen's equations (96) and (97), as he prints them and as code writes them: ∂C/∂w =
/// ∂C0/∂w + (λ/n) sgn(w), and w → w′ = w − (ηλ/n) sgn(w) − η ∂C0/∂w.
#[test]
fn nielsens_l1_gradient_and_update_rule_check_as_correct() {
    for claim in [
        r"\frac{\partial C}{\partial w_1} = \frac{\partial C_0}{\partial w_1} + \frac{\lambda}{n} \, {\rm sgn}(w_1)",
        r"\frac{\partial C}{\partial w_1} = \frac{\partial C_0}{\partial w_1} + \frac{\lambda}{n}\operatorname{sgn}(w_1)",
        r"\frac{\partial C}{\partial w_2} = \frac{\partial C_0}{\partial w_2} + \frac{\lambda}{n}\mathrm{sgn}(w_2)",
        "dC/dw1 = dC0/dw1 + lambda/n*sgn(w1)",
        "dC/dw1 = dC0/dw1 + lambda/n*sign(w1)",
        "dC/dw1 = (a - y) sigmoid'(z) x1 + lambda/n sgn(w1)",
        r"w_1' = w_1 - \frac{\eta \lambda}{n} \mathrm{sgn}(w_1) - \eta \frac{\partial C_0}{\partial w_1}",
        "w1' = w1 - (eta*lambda/n)*sgn(w1) - eta*dC0/dw1",
        "w2' = w2 - eta*lambda/n*sign(w2) - eta*dC0/dw2",
    ] {
        right(NIELSEN_L1, claim, "");
    }
    // The bias carries no penalty: its rule is the unregularised one.
    right(NIELSEN_L1, "b' = b - eta*dC0/db", "");
}

/// sgn(0) = 0 (Nielsen: "we use the convention sgn(0) = 0"), as relu′(0) = 0: at w1 = 0 the
/// L1 term adds nothing and the gradient is ∂C0/∂w1 = (a − y)σ′(z)x1 = −0.5·0.25·1.
#[test]
fn at_zero_the_sign_is_zero_and_the_l1_term_adds_nothing() {
    let at = "x1=1,x2=0,w1=0,w2=0,b=0,y=1,lambda=1,n=10";
    right(NIELSEN_L1, "dC/dw1 = -0.125", at);
    let c = judge(NIELSEN_L1, "dC/dw1 = -0.025", at);
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(
        &[
            "eval",
            "-",
            "--at",
            "x=0",
            "--expr",
            "sgn(x) + 10*sgn(x - 3) + 100*sign(2)",
            "--format",
            "json",
        ],
        "input x\ncost C = x\n",
    ))
    .unwrap();
    let value = doc["derivatives"]
        .as_object()
        .and_then(|d| d.values().next())
        .and_then(|v| v.as_f64());
    assert_eq!(value, Some(90.0), "{doc}");
}

/// L1's gradient without the sign treats |w| as w: a routing-gate mistake at abs, and the
/// correction checks.
#[test]
fn an_l1_gradient_without_the_sign_is_a_routing_gate_mistake() {
    let claim = "dC/dw1 = dC0/dw1 + lambda/n";
    let c = judge(NIELSEN_L1, claim, "");
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    let mistake = json_mistake(&c);
    assert_eq!(mistake["kind"], "routing-gate", "{mistake}");
    assert_eq!(mistake["function"], "abs", "{mistake}");
    let d = chainrule::render::check::diagnosis(&c).unwrap();
    assert!(d.contains("ignores the sign"), "{d}");
    right(NIELSEN_L1, &format!("dC/dw1 = {}", corrected(&c)), "");
}

// ---------------------------------------------------------------------------------------------
// max and min
// ---------------------------------------------------------------------------------------------

/// The derivative goes whole to the argument picked; at a tie to the second, so that
/// max(z, 0) has relu's derivative at 0 too. Numbers from `eval`, against the rule by hand.
#[test]
fn max_and_min_route_the_whole_gradient_to_the_argument_they_pick() {
    let gradients = |source: &str, at: &str| -> (f64, f64) {
        let doc: serde_json::Value = serde_json::from_str(&stdout_of(
            &["eval", "-", "--at", at, "--wrt", "w,v", "--format", "json"],
            source,
        ))
        .unwrap();
        let d = &doc["derivatives"];
        (d["dC/dw"].as_f64().unwrap(), d["dC/dv"].as_f64().unwrap())
    };
    // z = 3 > u = 1: all of dC/dm = 2m = 6 goes to z, so dC/dw = 6x = 6.
    assert_eq!(gradients(MAX_GATE, "x=1,y=1,w=3,v=1"), (6.0, 0.0));
    assert_eq!(gradients(MAX_GATE, "x=1,y=1,w=1,v=3"), (0.0, 6.0));
    assert_eq!(gradients(MIN_GATE, "x=1,y=1,w=3,v=1"), (0.0, 2.0));
    assert_eq!(gradients(MIN_GATE, "x=1,y=1,w=1,v=3"), (2.0, 0.0));
    // A tie: to the second argument, u.
    assert_eq!(gradients(MAX_GATE, "x=1,y=1,w=2,v=2"), (0.0, 4.0));
    assert_eq!(gradients(MIN_GATE, "x=1,y=1,w=2,v=2"), (0.0, 4.0));
    // max(z, 0) and relu(z) agree at the kink.
    let relu_like = "input x\nparam w\nz = w*x\ncost C = max(z, 0) + 2*relu(z)\n";
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(
        &[
            "eval", "-", "--at", "x=1,w=0", "--wrt", "w", "--format", "json",
        ],
        relu_like,
    ))
    .unwrap();
    assert_eq!(doc["derivatives"]["dC/dw"].as_f64(), Some(0.0), "{doc}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Away from ties, the derivative through max and min is the high-precision central
    /// difference (an independent route).
    #[test]
    fn max_and_min_derivatives_match_finite_differences(
        values in proptest::collection::vec(-3.0f64..3.0, 4),
        minimum in any::<bool>(),
    ) {
        let source = if minimum { MIN_GATE } else { MAX_GATE };
        let mut model = common::load(source);
        // x, y, w, v in declaration order
        let point = common::point(&model, &values);
        let (z, u) = (values[2] * values[0], values[3] * values[1]);
        prop_assume!((z - u).abs() > 1e-3);
        for name in ["w", "v"] {
            let wrt = model.lookup(name).unwrap();
            let cost = model.cost;
            let derivations = chainrule::derive_targets(
                &mut model,
                &[chainrule::Target { of: cost, wrt }],
                &chainrule::DeriveConfig::default(),
            );
            let result = derivations.derivations[0].result;
            let symbolic = common::value_at(&mut model, result, &point);
            let numeric = common::central_difference(&mut model, cost, wrt, &point);
            prop_assert!(common::close(&symbolic, &numeric, 1e-12), "{name}: {symbolic} vs {numeric}");
        }
    }
}

/// CS231n: "the max gate routes the gradient" to the larger input. A claim that passes it to
/// one side whichever is larger, splits it, or sends it to the smaller side is a routing-gate
/// mistake at max (or min), for formulas and for numbers; each correction checks.
#[test]
fn a_gradient_routed_wrongly_at_max_or_min_is_a_routing_gate_mistake() {
    for (source, claim, function, share, lhs) in [
        (MAX_GATE, "dC/dw = 2m x", "max", "whole", "dC/dw"),
        (MAX_GATE, "dC/dv = 2m y", "max", "whole_to_second", "dC/dv"),
        (MAX_GATE, "dC/dw = m x", "max", "split", "dC/dw"),
        (
            MAX_GATE,
            "dC/dw = 2m relu'(u - z) x",
            "max",
            "reversed",
            "dC/dw",
        ),
        (MIN_GATE, "dC/dw = 2m x", "min", "whole", "dC/dw"),
        (MIN_GATE, "dC/dw = m x", "min", "split", "dC/dw"),
    ] {
        let c = judge(source, claim, "");
        assert_eq!(c.verdict, Verdict::Incorrect, "{claim}: {c:?}");
        let mistake = json_mistake(&c);
        assert_eq!(mistake["kind"], "routing-gate", "{claim}: {mistake}");
        assert_eq!(mistake["function"], function, "{claim}: {mistake}");
        assert_eq!(mistake["share"], share, "{claim}: {mistake}");
        let d = chainrule::render::check::diagnosis(&c).unwrap();
        assert!(
            d.contains(&format!("{function} routes the gradient")),
            "{claim}: {d}"
        );
        right(source, &format!("{lhs} = {}", corrected(&c)), "");
    }
    // Numbers: z = 3 > u = 1, so dC/dm = 6 goes to z alone; half to v is a split.
    let at = "x=1,y=1,w=3,v=1";
    right(MAX_GATE, "dC/dw = 6", at);
    right(MAX_GATE, "dC/dv = 0", at);
    let c = judge(MAX_GATE, "dC/dv = 3", at);
    assert_eq!(c.verdict, Verdict::Incorrect, "{c:?}");
    assert_eq!(json_mistake(&c)["kind"], "routing-gate");
    // The right forms, plain and LaTeX.
    for claim in [
        "dC/dw = 2m relu'(z - u) x",
        "dC/dv = 2 max(z, u) (1 - relu'(z - u)) y",
        r"\frac{\partial C}{\partial w} = 2\max(z, u)\operatorname{relu}'(z - u)\, x",
        r"\frac{\partial C}{\partial w} = 2\max\left(z, u\right)\operatorname{relu}'(z - u)\, x",
    ] {
        right(MAX_GATE, claim, "");
    }
    right(
        MIN_GATE,
        r"\frac{\partial C}{\partial w} = 2\min(z, u) relu'(u - z) x",
        "",
    );
}

/// Every format prints sgn and max as the other built-ins are printed: plain `sgn(w)` and
/// `max(a, b)` (which parse back), LaTeX `\mathrm{sgn}` (as relu, softplus) and `\max`.
#[test]
fn sgn_max_and_min_print_in_every_format() {
    let source = "input x, y\nparam w\nz = w*x\ncost C = min(z, y)^2 + abs(w)\n";
    let text = stdout_of(&["derive", "-", "--wrt", "w"], source);
    assert!(text.contains("sgn(w)"), "{text}");
    assert!(text.contains("min(z, y)"), "{text}");
    assert!(text.contains("min routes the gradient"), "{text}");
    let latex = stdout_of(&["derive", "-", "--wrt", "w", "--format", "latex"], source);
    assert!(latex.contains(r"\mathrm{sgn}(w)"), "{latex}");
    assert!(latex.contains(r"\min(z, y)"), "{latex}");
    let markdown = stdout_of(
        &["derive", "-", "--wrt", "w", "--format", "markdown"],
        source,
    );
    assert!(markdown.contains(r"\mathrm{sgn}(w)"), "{markdown}");
    let json: serde_json::Value = serde_json::from_str(&stdout_of(
        &["derive", "-", "--wrt", "w", "--format", "json"],
        source,
    ))
    .unwrap();
    let derivative = &json["derivatives"][0];
    let result = derivative["result"].as_str().unwrap();
    assert!(result.contains("sgn(w)"), "{result}");
    // The plain result and the LaTeX result both check as right.
    right(source, &format!("dC/dw = {result}"), "");
    let result_latex = derivative["result_latex"].as_str().unwrap();
    right(source, &format!("dC/dw = {result_latex}"), "");
}

/// Where the arguments nearly tie and float64 rounds them the other way round, the gradient
/// goes to the other side: the warning says so, with the gap both ways.
#[test]
fn a_tie_thrown_the_other_way_in_float64_is_warned_about() {
    let source = "input x, y\nu = 1 + x\nm = max(u, y)\ncost C = m^2\n";
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(
        &[
            "eval",
            "-",
            "--at",
            "x=1e-17,y=1",
            "--wrt",
            "x",
            "--format",
            "json",
        ],
        source,
    ))
    .unwrap();
    assert_eq!(doc["derivatives"]["dC/dx"].as_f64(), Some(0.0), "{doc}");
    assert_eq!(doc["reference"]["dC/dx"].as_str(), Some("2"), "{doc}");
    let warnings = doc["warnings"].as_array().unwrap();
    let tie = warnings
        .iter()
        .find(|w| w["kind"] == "tie")
        .unwrap_or_else(|| panic!("no tie warning: {doc}"));
    let message = tie["message"].as_str().unwrap();
    assert!(
        message.contains("relu'(u − y) is 0 in float64 but 1 exactly"),
        "{message}"
    );
    assert!(message.contains("only 1e-17 (0 in float64)"), "{message}");
    // Far from a tie, nothing to say.
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(
        &[
            "eval",
            "-",
            "--at",
            "x=0.5,y=1",
            "--wrt",
            "x",
            "--format",
            "json",
        ],
        source,
    ))
    .unwrap();
    assert_eq!(doc["warnings"].as_array().map(Vec::len), Some(0), "{doc}");
}

/// `max` and `min` take two arguments, every other built-in one: anything else is an error
/// with the file, line, column and a caret, exit 2, and no output.
#[test]
fn a_call_with_the_wrong_number_of_arguments_is_a_clear_error() {
    for (program, message, caret) in [
        (
            "input x\nparam w\ncost C = log(w, x)\n",
            "`log` takes one argument, not several",
            "^ a second argument",
        ),
        (
            "input x\nparam w\ncost C = max(w)\n",
            "`max` takes two arguments",
            "^^^^^^ only one argument",
        ),
        (
            "input x\nparam w\ncost C = min(w, x, 1)\n",
            "`min` takes two arguments, not more",
            "^ a third argument",
        ),
        (
            "input x\nparam w\ncost C = sgn(w, x)\n",
            "`sgn` takes one argument, not several",
            "^ a second argument",
        ),
    ] {
        let out = chainrule(&["derive", "-", "--all"], Some(program));
        assert_eq!(out.status.code(), Some(2), "{program}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{program}: {stderr}");
        assert!(
            stderr.contains("<stdin>:3:") || stderr.contains(":3:"),
            "{stderr}"
        );
        assert!(stderr.contains(caret), "{program}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    for (claim, message) in [
        (
            r"dC/dw = \log(w, x)",
            "`log` takes one argument, not several",
        ),
        (
            r"dC/dw = \max w",
            "`max` needs its two arguments in parentheses",
        ),
        (
            "dC/dw = max(w, x, 2)",
            "`max` takes two arguments, not more",
        ),
    ] {
        let out = chainrule(&["check", "-", "--claim", claim], Some(MAX_GATE));
        assert_eq!(out.status.code(), Some(2), "{claim}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{claim}: {stderr}");
        assert!(stderr.contains("--claim:1:"), "{claim}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// A built-in's name set in any font reads as the function (`\mathrm{relu}(z)`,
/// `\operatorname{tanh}`, `{\rm sgn}`, `\text{ReLU}`, `\operatorname{max}(a, b)`).
#[test]
fn built_in_names_in_a_font_read_as_the_function() {
    let source = "input x, y\nparam w\nz = w*x\ncost C = relu(z) + tanh(z) + max(z, y) + abs(w)\n";
    for claim in [
        r"\frac{\partial C}{\partial w} = \mathrm{relu}'(z) x + \operatorname{tanh}'(z) x + \operatorname{relu}'(z - y) x + {\rm sgn}(w)",
        r"\frac{\partial C}{\partial w} = \text{ReLU}'(z) x + (1 - \tanh^2(z)) x + \mathrm{relu}'(z - y) x + \mathrm{sign}(w)",
        r"\frac{\partial C}{\partial w} = \operatorname{relu}'(z) x + {\rm tanh}'(z) x + \operatorname{relu}'(z - y) x + \sgn(w)",
    ] {
        right(source, claim, "");
    }
    right(
        source,
        r"C = \operatorname{relu}(z) + \mathrm{tanh}(z) + \operatorname{max}(z, y) + |w|",
        "x=1,y=2,w=0.5",
    );
}

/// max and min in the reference are the exact argument picked: max(x, y) − min(x, y) is
/// exactly 0.2 at x = 0.1, y = 0.3 (float64's subtraction is a bit off).
#[test]
fn max_and_min_evaluate_exactly_in_the_reference() {
    let doc: serde_json::Value = serde_json::from_str(&stdout_of(
        &[
            "eval",
            "-",
            "--at",
            "x=0.1,y=0.3",
            "--expr",
            "max(x, y) - min(x, y)",
            "--format",
            "json",
        ],
        "input x, y\ncost C = x + y\n",
    ))
    .unwrap();
    let (float64, reference) = (&doc["derivatives"], &doc["reference"]);
    let key = float64.as_object().unwrap().keys().next().unwrap().clone();
    assert!(
        (float64[&key].as_f64().unwrap() - 0.2).abs() < 1e-15,
        "{doc}"
    );
    assert_eq!(reference[&key].as_str(), Some("0.2"), "{doc}");
    assert_eq!(doc["error_bits"][&key].as_f64(), Some(1.0), "{doc}");
}

/// A gradient check across max's switch says the finite difference is unreliable there.
#[test]
fn a_gradient_check_at_a_tie_says_it_is_unreliable() {
    let text = stdout_of(
        &[
            "eval",
            "-",
            "--at",
            "x=1,y=1,w=1,v=1",
            "--all",
            "--check-grad",
        ],
        MAX_GATE,
    );
    assert!(text.contains("max's arguments tie"), "{text}");
    assert!(text.contains("unreliable here"), "{text}");
}

//! The one forward pass (core::forward): float64 as written, at a fixed precision and as the
//! reference, agreeing with each other and with a hand computation; a missing leaf is a typed
//! error naming it, never a panic; and eval, step and train read the same numbers from it.

use chainrule::core::eval::Precise;
use chainrule::core::forward::{self, ForwardError};

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[test]
fn float64_precision_and_reference_passes_agree_with_a_hand_computation() {
    let model = chainrule::load(chainrule::BUILTIN_EXAMPLE).unwrap();
    let at = chainrule::values(&model, "x=1.5,y=0,w2=0.8,b2=0.1,w3=-0.5,b3=0.2").unwrap();
    let leaves: Vec<_> = at.iter().map(|g| (g.sym, g.value)).collect();
    let name = |n: &str| model.lookup(n).unwrap();
    // by hand, as a NumPy user would write it
    let a2 = sigmoid(0.8 * 1.5 + 0.1);
    let a3 = sigmoid(-0.5 * a2 + 0.2);
    let cost = (0.0 - a3) * (0.0 - a3);

    let float = forward::float64(&model, &leaves);
    assert_eq!(float[&name("a2")], a2);
    assert_eq!(float[&name("a3")], a3);
    assert!((float[&name("C")] - cost).abs() <= 1e-15 * cost);

    let fixed = forward::at_precision(&model, &leaves, 256);
    assert_eq!(fixed.f64, float);
    // The fixed-precision pass takes the float64 inputs as exact: so does the reference here.
    let exact: Vec<_> = at
        .iter()
        .map(|g| (g.sym, g.value, Precise::from_f64(g.value)))
        .collect();
    let reference = forward::reference(&model, &exact).unwrap();
    assert_eq!(reference.computed.len(), 6, "z2, a2, z3, a3, f, C");
    assert_eq!(reference.values.f64, float);
    for (s, _) in &reference.computed {
        let (r, p) = (&reference.values.precise[s], &fixed.precise[s]);
        assert!(
            r.sub(p, 256).to_f64().abs() <= 1e-60 * r.to_f64().abs().max(1e-300),
            "{}: {r:?} vs {p:?}",
            model.name(*s)
        );
        assert!((r.to_f64() - float[s]).abs() <= 1e-14 * r.to_f64().abs());
    }
}

#[test]
fn a_missing_leaf_is_a_typed_error_naming_it() {
    let model = chainrule::load(chainrule::BUILTIN_EXAMPLE).unwrap();
    let at = chainrule::values(&model, "x=1.5,y=0,w2=0.8,b2=0.1").unwrap();
    let exact: Vec<_> = at
        .iter()
        .map(|g| (g.sym, g.value, Precise::from_f64(g.value)))
        .collect();
    let missing = vec![model.lookup("w3").unwrap(), model.lookup("b3").unwrap()];
    let mut sorted = missing.clone();
    sorted.sort();
    assert_eq!(
        forward::reference(&model, &exact).unwrap_err(),
        ForwardError::Missing(sorted)
    );
    // float64 alone computes what it can and leaves the rest out
    let leaves: Vec<_> = at.iter().map(|g| (g.sym, g.value)).collect();
    let float = forward::float64(&model, &leaves);
    assert!(float.contains_key(&model.lookup("a2").unwrap()));
    assert!(!float.contains_key(&model.lookup("a3").unwrap()));
    assert!(!float.contains_key(&model.cost));
    // a value given to an intermediate cuts the graph there: a3 needs no w3 or b3
    let cut = [
        (model.lookup("a3").unwrap(), 0.25),
        (model.lookup("y").unwrap(), 0.0),
    ];
    assert_eq!(forward::float64(&model, &cut)[&model.cost], 0.0625);
    assert!(forward::missing_leaves(&model, cut.iter().map(|c| c.0)).is_empty());
}

#[test]
fn eval_and_step_read_the_same_forward_pass() {
    let mut model = chainrule::load(chainrule::BUILTIN_EXAMPLE).unwrap();
    let at = chainrule::values(&model, "x=1.5,y=0,w2=0.8,b2=0.1,w3=-0.5,b3=0.2").unwrap();
    let report = chainrule::evaluate(&mut model, &at, &Default::default()).unwrap();
    let descent = chainrule::descend(&mut model, &at, 0.5, 1).unwrap();
    let leaves: Vec<_> = at.iter().map(|g| (g.sym, g.value)).collect();
    let float = forward::float64(&model, &leaves);
    assert_eq!(report.cost.f64, float[&model.cost]);
    assert_eq!(descent.steps[0].cost, float[&model.cost]);
    let moved: Vec<_> = leaves
        .iter()
        .map(|&(s, v)| {
            let after = descent.steps[0].params_after.iter().find(|p| p.0 == s);
            (s, after.map_or(v, |p| p.1))
        })
        .collect();
    assert_eq!(
        descent.steps[0].cost_after,
        forward::float64(&model, &moved)[&model.cost]
    );
}

#[test]
fn the_working_precision_pass_leaves_a_cancelled_name_unset_where_the_other_raises_it() {
    // 1 − σ(400) ≈ 1.9e−174: cancelled to nothing at 128 bits, settled by raising the
    // precision. A point that is only tried is passed over on it instead (an exact zero by
    // cancellation, at a symmetric point, would be raised to the ceiling and never settle).
    let model =
        chainrule::load("input x\nparam w\ngap = 1 - sigmoid(w*x)\ncost C = gap\n").unwrap();
    let name = |n: &str| model.lookup(n).unwrap();
    let leaves = [(name("x"), 400.0), (name("w"), 1.0)];
    let raised = forward::at_precision(&model, &leaves, 128);
    let working = forward::at_working_precision(&model, &leaves, 128);
    assert_eq!(working.f64, raised.f64, "float64 is the same pass");
    let gap = raised.precise[&name("gap")].to_f64();
    assert!((gap / (-400f64).exp() - 1.0).abs() < 1e-12, "{gap}");
    for unset in ["gap", "C"] {
        assert!(!working.precise.contains_key(&name(unset)), "{unset}");
    }
}

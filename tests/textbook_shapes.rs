//! The textbook-shape table: for every activation × cost the shorthand accepts, with and
//! without L2, the derived result for an output weight, an output bias and a first-layer
//! weight equals the textbook's formula in value (at random points, 320-bit) and is no longer
//! than it in operations.
//!
//! Operations are counted on the formula's tree as it prints: a sum of n terms counts n − 1,
//! a product n − 1 (a factor −1 is the negation, a factor x^−1 goes below the fraction bar, so
//! `a/(b·c)` counts two), a power and a call one each. Both sides are built by the same
//! parser, so `a − y` is two (a sum and a negation) on both alike. The textbook formulas are written below in the input language, each with its
//! source, in the names of the shorthand's expansion (`a3_1` is a^{(3)}_1).

mod common;

use std::collections::HashMap;

use chainrule::Model;
use chainrule::core::diff::{Config, Style, Target};
use chainrule::core::expr::{FastMap, Graph, Id, Node};
use chainrule::lang::expansion::names;
use common::{load, value_at};

/// A small deterministic generator, so that failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

const ACTIVATIONS: [&str; 5] = ["sigmoid", "tanh", "relu", "softplus", "softmax"];
const COSTS: [&str; 4] = [
    "quadratic",
    "half-quadratic",
    "cross-entropy",
    "log-likelihood",
];

/// f′(z^{(l)}_j) as a textbook writes it, in the layer's own names.
fn activation_derivative(activation: &str, l: usize, j: usize) -> String {
    let a = names::activation(l, j);
    let z = names::weighted_input(l, j);
    match activation {
        // Nielsen ch. 3, eq. (38) and the exercise before it: σ′(z) = σ(z)(1 − σ(z)).
        "sigmoid" => format!("{a}(1 - {a})"),
        // Goodfellow 6.3.3 (tanh): tanh′(z) = 1 − tanh²(z).
        "tanh" => format!("(1 - {a}^2)"),
        // CS231n "Neural Networks Part 1" (ReLU): the gradient is the unit step.
        "relu" => format!("relu'({z})"),
        // Goodfellow 3.10, eq. (3.40): d/dx ζ(x) = σ(x).
        "softplus" => format!("sigmoid({z})"),
        other => panic!("no textbook derivative for {other}"),
    }
}

/// δ^{(3)}_j = ∂C/∂z^{(3)}_j for a 2-2-2 network, as the sources print it.
fn output_delta(activation: &str, cost: &str, j: usize) -> String {
    let a = |k: usize| names::activation(3, k);
    let y = names::target;
    // ∂C/∂a_k for each cost.
    let dc_da = |k: usize| match cost {
        // Nielsen ch. 2, eq. (BP1) with C = Σ (y − a)² (no ½): ∂C/∂a = 2(a − y).
        "quadratic" => format!("2({} - {})", a(k), y(k)),
        // Nielsen ch. 2, eq. (BP1), C = ½ Σ (y − a)²: ∂C/∂a = a − y.
        "half-quadratic" => format!("({} - {})", a(k), y(k)),
        // Nielsen ch. 3, eq. (58): ∂C/∂a = (a − y)/(a(1 − a)).
        "cross-entropy" => format!("({} - {})/({}(1 - {}))", a(k), y(k), a(k), a(k)),
        other => panic!("no ∂C/∂a for {other}"),
    };
    match (activation, cost) {
        // Nielsen ch. 3, eq. (66) and CS231n: σ′ cancels, δ = a − y.
        ("sigmoid", "cross-entropy") => format!("({} - {})", a(j), y(j)),
        // Nielsen ch. 3, eq. (84); Goodfellow 6.2.2.3; CS231n "softmax classifier": δ = a − y.
        ("softmax", "log-likelihood") => format!("({} - {})", a(j), y(j)),
        // Goodfellow 6.2.2.3 / Nielsen ch. 3 (softmax): ∂a_k/∂z_j = a_k(δ_jk − a_j), so
        // δ_j = Σ_k ∂C/∂a_k · a_k(δ_jk − a_j).
        ("softmax", _) => {
            let other = 3 - j;
            format!(
                "({}*{}(1 - {}) - {}*{}*{})",
                dc_da(j),
                a(j),
                a(j),
                dc_da(other),
                a(other),
                a(j)
            )
        }
        // Nielsen ch. 2, eq. (BP1): δ = ∂C/∂a ⊙ f′(z).
        _ => format!("{}*{}", dc_da(j), activation_derivative(activation, 3, j)),
    }
}

/// The three results of a row, as the sources print them.
fn textbook(activation: &str, cost: &str, l2: bool) -> [(String, String); 3] {
    let hidden = if activation == "softmax" {
        "sigmoid"
    } else {
        activation
    };
    let delta = |j| output_delta(activation, cost, j);
    // Nielsen ch. 3, eq. (87): L2 adds (λ/n)·w to a weight's gradient, nothing to a bias's.
    let decay = |w: &str| {
        if l2 {
            format!(" + {}*{w}/{}", names::LAMBDA, names::SAMPLES)
        } else {
            String::new()
        }
    };
    let w_out = names::weight(3, 1, 1);
    let w_in = names::weight(2, 1, 1);
    [
        // Nielsen ch. 2, eq. (BP4): ∂C/∂w^l_jk = a^{l−1}_k δ^l_j.
        (
            w_out.clone(),
            format!("{}*{}{}", delta(1), names::activation(2, 1), decay(&w_out)),
        ),
        // Nielsen ch. 2, eq. (BP3): ∂C/∂b^l_j = δ^l_j.
        (names::bias(3, 1), delta(1)),
        // Nielsen ch. 2, eq. (BP2) then (BP4): δ^2_1 = (Σ_k w^3_k1 δ^3_k) f′(z^2_1).
        (
            w_in.clone(),
            format!(
                "({}*{} + {}*{})*{}*{}{}",
                delta(1),
                names::weight(3, 1, 1),
                delta(2),
                names::weight(3, 2, 1),
                activation_derivative(hidden, 2, 1),
                names::input(1),
                decay(&w_in)
            ),
        ),
    ]
}

fn source(activation: &str, cost: &str, l2: bool) -> String {
    let activation_lines = if activation == "softmax" {
        "activation sigmoid\nactivation 3 softmax\n".to_string()
    } else {
        format!("activation {activation}\n")
    };
    let l2 = if l2 { "regularization l2\n" } else { "" };
    format!("network 2-2-2\n{activation_lines}cost {cost}\n{l2}")
}

/// Operations of the formula's tree, counted as the module documentation says.
fn operations(graph: &Graph, root: Id) -> u64 {
    let reciprocal_of = |id: Id| match graph.node(id) {
        Node::Pow(base, e) if graph.as_num(*e).is_some_and(|e| e.to_f64() == -1.0) => Some(*base),
        _ => None,
    };
    let mut count: FastMap<Id, u64> = FastMap::default();
    for id in graph.reachable(&[root]) {
        let total = match graph.node(id) {
            Node::Num(_) | Node::Const(_) | Node::Var(_) => 0,
            Node::Add(xs) => xs.len() as u64 - 1 + xs.iter().map(|x| count[x]).sum::<u64>(),
            // n/d: the numerator's n − 1 products, then one division and d − 1 products in
            // the denominator; a factor x^−1 is written x below the line.
            Node::Mul(xs) => {
                let below: Vec<Id> = xs.iter().filter_map(|&x| reciprocal_of(x)).collect();
                let above = xs.len() - below.len();
                let own = above.saturating_sub(1) + below.len();
                own as u64
                    + xs.iter()
                        .filter(|&&x| reciprocal_of(x).is_none())
                        .map(|x| count[x])
                        .sum::<u64>()
                    + below.iter().map(|b| count[b]).sum::<u64>()
            }
            Node::Pow(a, b) | Node::Call2(_, a, b) => 1 + count[a] + count[b],
            Node::Call(_, a) | Node::Deriv(a, ..) => 1 + count[a],
            Node::Tensor(_, xs) => 1 + xs.iter().map(|x| count[x]).sum::<u64>(),
        };
        count.insert(id, total);
    }
    count[&root]
}

/// The result with every name the derivation introduced (named error terms such as `δ3_1`,
/// defined in the model after the names the program declares) replaced by its definition,
/// so that the comparison is of the formula in the program's own names, as a textbook's is.
fn resolve_introduced_names(model: &mut Model, mut formula: Id, loaded: usize) -> Id {
    for _ in 0..=model.symbols.len() {
        let introduced: Vec<(Id, Id)> = (loaded..model.symbols.len())
            .map(|i| chainrule::Sym(i as u32))
            .filter_map(|s| {
                let var = model.graph.find(&Node::Var(s))?;
                let definition = model.definition(s)?;
                model
                    .graph
                    .mentions(formula, s)
                    .then_some((var, definition))
            })
            .collect();
        if introduced.is_empty() {
            return formula;
        }
        for (var, definition) in introduced {
            formula = model.graph.replace(formula, var, definition);
        }
    }
    formula
}

/// A point: weights and inputs in (−1.5, 1.5), λ and n fixed, targets in (0.05, 0.95) and
/// summing to one where they are declared one-hot.
fn point(model: &Model, seed: u64) -> HashMap<chainrule::Sym, f64> {
    let mut rng = Lcg(seed);
    let mut out = HashMap::new();
    for s in model.syms().filter(|&s| model.symbol(s).kind.is_leaf()) {
        let name = model.name(s);
        let v = if name == names::LAMBDA {
            0.7
        } else if name == names::SAMPLES {
            3.0
        } else if name.starts_with('y') {
            0.05 + 0.9 * (rng.next() + 1.0) / 2.0
        } else {
            1.5 * rng.next()
        };
        out.insert(s, v);
    }
    for group in &model.one_hot {
        let total: f64 = group.iter().map(|y| out[y]).sum();
        for y in group {
            *out.get_mut(y).unwrap() /= total;
        }
    }
    out
}

#[test]
fn every_row_has_the_textbook_shape() {
    let mut rows = 0;
    let mut rejected = Vec::new();
    for activation in ACTIVATIONS {
        for cost in COSTS {
            for l2 in [false, true] {
                let text = source(activation, cost, l2);
                if chainrule::load(&text).is_err() {
                    rejected.push(format!(
                        "{activation} × {cost}{}",
                        if l2 { " + L2" } else { "" }
                    ));
                    continue;
                }
                rows += 1;
                let mut model = load(&text);
                for (wrt, formula) in textbook(activation, cost, l2) {
                    let wrt_sym = model.lookup(&wrt).expect("a name of the expansion");
                    let target = Target {
                        of: model.cost,
                        wrt: wrt_sym,
                    };
                    let config = Config {
                        style: Style::Chain,
                        expand: false,
                        steps: false,
                        expand_if_small: false,
                    };
                    let loaded = model.symbols.len();
                    let derived = chainrule::derive_targets(&mut model, &[target], &config)
                        .derivations[0]
                        .result;
                    let derived = resolve_introduced_names(&mut model, derived, loaded);
                    let book = chainrule::formula(&mut model, &formula)
                        .unwrap_or_else(|e| panic!("{formula}: {e:?}"));
                    let printed = chainrule::FormulaPrinter::for_model(&model).plain(derived);
                    let row = format!("{activation} × {cost}, L2 {l2}, ∂C/∂{wrt}");
                    // Points where the textbook's formula is undefined (relu's a = 0 under
                    // cross-entropy's 1/a) are skipped; enough others must remain.
                    let mut compared = 0;
                    for seed in 1..=64 {
                        if compared == 4 {
                            break;
                        }
                        let at = point(&model, seed * 7919);
                        let theirs = value_at(&mut model, book, &at).to_f64();
                        if !theirs.is_finite() {
                            continue;
                        }
                        let ours = value_at(&mut model, derived, &at).to_f64();
                        assert!(
                            (ours - theirs).abs() <= 1e-12 * (1.0 + theirs.abs()),
                            "{row}: {printed} = {ours}, the textbook's {formula} = {theirs}"
                        );
                        compared += 1;
                    }
                    assert!(
                        compared >= 3,
                        "{row}: only {compared} points where it is defined"
                    );
                    let (ours, theirs) = (
                        operations(&model.graph, derived),
                        operations(&model.graph, book),
                    );
                    assert!(
                        ours <= theirs,
                        "{row}: {printed} has {ours} operations, the textbook's {formula} {theirs}"
                    );
                }
            }
        }
    }
    // The shorthand refuses log-likelihood without a softmax output (network.rs); every
    // other combination is a row.
    let expected_rejections: Vec<String> = ["sigmoid", "tanh", "relu", "softplus"]
        .iter()
        .flat_map(|a| {
            [
                format!("{a} × log-likelihood"),
                format!("{a} × log-likelihood + L2"),
            ]
        })
        .collect();
    assert_eq!(rejected, expected_rejections);
    assert_eq!(rows, 5 * 4 * 2 - expected_rejections.len());
}

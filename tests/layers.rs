//! The layered derivation (`derive --layers`): the `network` shorthand's vector form derived in
//! matrix form by the one engine, sorted into Nielsen's BP1–BP4. Its gradients, written out
//! entry by entry, must equal the scalar engine's gradients of the shorthand's own expansion
//! at random points, every step must hold there too, and the equations a textbook prints
//! must appear, derived.

mod common;

use std::collections::HashMap;

use chainrule::Layered;
use chainrule::core::diff::{self, Config};
use chainrule::core::expr::{Id, Sym};
use chainrule::core::matrix_diff::Role;
use chainrule::core::model::{Model, SymKind};
use chainrule::core::tensor::Layout;
use chainrule::lang::load::{self, TargetSpec};
use chainrule::render::document::{Format, Layout as DocumentLayout};
use common::{close, load, value_at};
use proptest::prelude::*;

fn layered(source: &str) -> Layered {
    chainrule::layers(source).unwrap().unwrap()
}

/// The shorthand's name of an entry of its vector form: `W2[j,k]` is `w2_j_k`, `b2[j]` is
/// `b2_j`, `x[i]` is `x_i`.
fn shorthand_name(entry: &str) -> String {
    let (base, rest) = entry.split_once('[').unwrap_or((entry, ""));
    let indices: Vec<&str> = rest
        .trim_end_matches(']')
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .collect();
    let (i, j) = match indices.as_slice() {
        [] => ("1", "1"),
        [i] => (*i, "1"),
        [i, j, ..] => (*i, *j),
    };
    let layer = &base[1..];
    match &base[..1] {
        "W" => format!("w{layer}_{i}_{j}"),
        "b" => format!("b{layer}_{i}"),
        "x" => format!("x{i}"),
        "y" => format!("y{i}"),
        _ => entry.to_string(),
    }
}

/// The expansion's names an entry of a layer's vector may have: `z2[3]` is `z2_3`; a 1×1
/// `z2` is `z2_1`, and `C0` is `C0`.
fn shorthand_names_of_intermediate(entry: &str) -> [String; 2] {
    match entry.split_once('[') {
        Some((base, rest)) => {
            let i = rest.trim_end_matches(']').split(',').next().unwrap().trim();
            [format!("{base}_{i}"), format!("{base}_{i}")]
        }
        None => [entry.to_string(), format!("{entry}_1")],
    }
}

/// ∂C/∂θ for every parameter entry of the shorthand's own expansion, by the scalar engine.
fn scalar_gradients(model: &mut Model, at: &HashMap<Sym, f64>) -> HashMap<String, f64> {
    let targets = load::targets(model, &TargetSpec::AllParams).unwrap();
    let config = Config {
        steps: false,
        ..Config::default()
    };
    let out = diff::derive(model, &targets, &config);
    out.derivations
        .iter()
        .map(|d| {
            let name = model.name(d.target.wrt).to_string();
            (name, value_at(model, d.result, at).to_f64())
        })
        .collect()
}

/// Every gradient of the layered derivation and every step of it, at a random point, against
/// the scalar engine on the shorthand's expansion; `Err` names the first disagreement.
fn check(source: &str, seed: u64) -> Result<(), String> {
    let form = layered(source);
    let model = &form.model;
    let gradients = form.derivation.gradients(model);
    let mut roots: Vec<Id> = gradients.iter().map(|&(_, g)| g).collect();
    let steps: Vec<(Id, Id)> = form
        .derivation
        .quantities
        .iter()
        .flat_map(|q| q.steps.iter().map(|s| (s.of, s.result)))
        .collect();
    roots.extend(steps.iter().flat_map(|&(of, result)| [of, result]));
    let (mut scalar, arrays, written) =
        chainrule::core::tensor::scalarise_with(model, Layout::Columns, &roots).unwrap();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut at: HashMap<Sym, f64> = scalar
        .syms()
        .filter(|&s| scalar.symbol(s).kind.is_leaf())
        .map(|s| (s, rng.f64() * 2.0 - 1.0))
        .collect();
    for group in &scalar.one_hot {
        let hot = rng.usize(..group.len());
        for (k, &s) in group.iter().enumerate() {
            at.insert(s, if k == hot { 1.0 } else { 0.0 });
        }
    }
    for s in scalar
        .syms()
        .filter(|&s| scalar.name(s) == "lambda" || scalar.name(s) == "n")
    {
        at.insert(s, 0.5 + rng.f64());
    }
    let mut expanded = load(source);
    let expanded_at: HashMap<Sym, f64> = at
        .iter()
        .filter_map(|(&s, &v)| Some((expanded.lookup(&shorthand_name(scalar.name(s)))?, v)))
        .collect();
    let theirs = scalar_gradients(&mut expanded, &expanded_at);
    let mut compared = 0;
    for ((p, _), entries) in gradients.iter().zip(&written) {
        for (&entry, &sym) in entries.iter().zip(&arrays[p.index()].entries) {
            let ours = value_at(&mut scalar, entry, &at).to_f64();
            let name = shorthand_name(scalar.name(sym));
            let other = theirs[&name];
            if (ours - other).abs() > 1e-9 * ours.abs().max(other.abs()).max(1e-3) {
                return Err(format!(
                    "∂C/∂{name}: {ours} by the layers, {other} by the scalar engine"
                ));
            }
            compared += 1;
        }
    }
    if compared != theirs.len() {
        return Err(format!("{compared} gradients compared of {}", theirs.len()));
    }
    // Every step whose subject is a name of the network (`∂C/∂a2 = W3ᵀ δ3`, `∂C/∂z2 = …`)
    // holds: entry by entry it is the scalar engine's ∂C/∂a2_j on the expansion.
    let cost = expanded.cost;
    for (k, &(of, _)) in steps.iter().enumerate() {
        let chainrule::core::expr::Node::Var(v) = model.graph.node(of) else {
            continue;
        };
        if !matches!(
            model.symbol(*v).kind,
            SymKind::Intermediate | SymKind::Output
        ) {
            continue;
        }
        let result = &written[gradients.len() + 2 * k + 1];
        for (&entry, &sym) in result.iter().zip(&arrays[v.index()].entries) {
            let ours = value_at(&mut scalar, entry, &at).to_f64();
            let names = shorthand_names_of_intermediate(scalar.name(sym));
            let (name, wrt) = names
                .iter()
                .find_map(|n| Some((n.clone(), expanded.lookup(n)?)))
                .ok_or(format!("no {}", names[0]))?;
            let targets = [diff::Target { of: cost, wrt }];
            let config = Config {
                steps: false,
                ..Config::default()
            };
            let out = diff::derive(&mut expanded, &targets, &config);
            let other = value_at(&mut expanded, out.derivations[0].result, &expanded_at).to_f64();
            if (ours - other).abs() > 1e-9 * ours.abs().max(other.abs()).max(1e-3) {
                return Err(format!(
                    "step ∂C/∂{name}: {ours} by the layers, {other} by the scalar engine"
                ));
            }
        }
    }
    Ok(())
}

fn shorthand() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(1usize..=3, 2..=4),
        prop::sample::select(vec!["sigmoid", "tanh", "relu", "softplus", "identity"]),
        prop::sample::select(vec![
            "quadratic",
            "half-quadratic",
            "cross-entropy",
            "log-likelihood",
        ]),
        prop::bool::ANY,
        prop::bool::ANY,
    )
        .prop_map(|(widths, hidden, cost, biases, l2)| {
            let output = match cost {
                "log-likelihood" => "softmax",
                "cross-entropy" => "sigmoid",
                _ => hidden,
            };
            let layers = widths.len();
            let widths: Vec<String> = widths.iter().map(|w| w.to_string()).collect();
            let mut s = format!(
                "network {}\nactivation {hidden}\nactivation {layers} {output}\ncost {cost}\n",
                widths.join("-")
            );
            if !biases {
                s += "biases none\n";
            }
            if l2 {
                s += "regularization l2\n";
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Random shorthand networks (widths, activations, costs, biases or none, L2): the layered
    /// derivation's gradients equal the scalar engine's on the shorthand's own expansion.
    #[test]
    fn random_networks_agree_with_the_scalar_engine(source in shorthand(), seed in 1u64..1000) {
        prop_assert!(check(&source, seed).is_ok(), "{}\n{:?}", source, check(&source, seed));
    }
}

/// A changed error term is caught: the check is not vacuous.
#[test]
fn a_wrong_error_term_is_caught() {
    let source = "network 2-3-2\nactivation sigmoid\ncost quadratic\n";
    assert_eq!(check(source, 7), Ok(()));
    let mut form = layered(source);
    let q = form
        .derivation
        .quantities
        .iter_mut()
        .find(|q| q.role == Role::OutputError)
        .unwrap();
    let (term, definition) = q.term.unwrap();
    // drop σ′(z3): the classic slip
    let model = &mut form.model;
    let chainrule::core::expr::Node::Mul(factors) = model.graph.node(definition).clone() else {
        panic!("{:?}", model.graph.node(definition))
    };
    let slipped = model.graph.product(factors[..factors.len() - 1].to_vec());
    model.definitions[term.index()] = Some(slipped);
    let gradients = form.derivation.gradients(&form.model);
    let roots: Vec<Id> = gradients.iter().map(|&(_, g)| g).collect();
    let (mut scalar, _, written) =
        chainrule::core::tensor::scalarise_with(&form.model, Layout::Columns, &roots).unwrap();
    let at: HashMap<Sym, f64> = scalar
        .syms()
        .filter(|&s| scalar.symbol(s).kind.is_leaf())
        .map(|s| (s, 0.3 + s.0 as f64 / 17.0))
        .collect();
    let mut expanded = load(source);
    let expanded_at: HashMap<Sym, f64> = at
        .iter()
        .filter_map(|(&s, &v)| Some((expanded.lookup(&shorthand_name(scalar.name(s)))?, v)))
        .collect();
    let theirs = scalar_gradients(&mut expanded, &expanded_at);
    let w3 = gradients
        .iter()
        .position(|&(p, _)| form.model.name(p) == "W3")
        .unwrap();
    let ours = value_at(&mut scalar, written[w3][0], &at);
    assert!(!close(
        &ours,
        &chainrule::core::eval::Precise::from_f64(theirs["w3_1_1"]),
        1e-6
    ));
}

fn text(source: &str) -> String {
    render(&layered(source), Format::Text)
}

fn render(form: &Layered, format: Format) -> String {
    let layout = DocumentLayout {
        source_name: "net.bp".into(),
        ..DocumentLayout::default()
    };
    chainrule::render::matrix_form::render(form, format, &layout).unwrap()
}

/// The result line of an equation in the text document's summary (`  BP1: δ3 = …`).
fn summary<'a>(out: &'a str, label: &str, lhs: &str) -> &'a str {
    let summary = &out[out.find("── BP1–BP4").expect(out)..];
    summary
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{label}: {lhs}")))
        .unwrap_or_else(|| panic!("no {label} for {lhs} in\n{out}"))
}

#[test]
fn nielsens_equations_appear_for_sigmoid_and_quadratic() {
    let out = text("network 2-3-2\nactivation sigmoid\ncost half-quadratic\n");
    // BP1: δ^L = ∇_a C ⊙ σ′(z^L)
    assert!(
        summary(&out, "BP1", "δ3").ends_with("= (a3 − y) ⊙ a3 ⊙ (1 − a3)"),
        "{out}"
    );
    // BP2: δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ′(z^l)
    assert!(
        summary(&out, "BP2", "δ2").ends_with("= (W3ᵀ δ3) ⊙ a2 ⊙ (1 − a2)"),
        "{out}"
    );
    // BP3: ∂C/∂b^l = δ^l
    assert!(summary(&out, "BP3", "∂C/∂b2").ends_with("= δ2"), "{out}");
    // BP4: ∂C/∂W^l = δ^l (a^{l−1})ᵀ
    assert!(
        summary(&out, "BP4", "∂C/∂W3").ends_with("= δ3 a2ᵀ"),
        "{out}"
    );
    assert!(summary(&out, "BP4", "∂C/∂W2").ends_with("= δ2 xᵀ"), "{out}");
    // The rules are named, each quantity has its shape.
    for rule in [
        "product rule for a matrix product",
        "elementwise rule",
        "sum rule",
    ] {
        assert!(out.contains(rule), "{rule} in\n{out}");
    }
    assert!(out.contains("δ2 = ∂C/∂z2   [3×1]"), "{out}");
}

#[test]
fn the_output_error_is_a_minus_y_where_it_cancels() {
    for source in [
        "network 2-3-2\nactivation sigmoid\nactivation 3 softmax\ncost log-likelihood\n",
        "network 2-3-1\nactivation tanh\nactivation 3 sigmoid\ncost cross-entropy\n",
    ] {
        let out = text(source);
        assert!(
            summary(&out, "BP1", "δ3").ends_with("= a3 − y"),
            "{source}\n{out}"
        );
    }
}

#[test]
fn l2_adds_lambda_over_n_times_w() {
    let out = text("network 2-3-1\nactivation sigmoid\ncost quadratic\nregularization l2\n");
    // Nielsen's (λ/n) w + δ aᵀ
    let bp4 = summary(&out, "BP4", "∂C/∂W3");
    assert!(bp4.ends_with("= (λ/n) W3 + δ3 a2ᵀ"), "{out}");
    // the biases are not penalised
    assert!(summary(&out, "BP3", "∂C/∂b3").ends_with("= δ3"), "{out}");
}

#[test]
fn every_format_states_the_layout_convention() {
    let form = layered("network 2-3-1\nactivation sigmoid\ncost quadratic\n");
    assert!(render(&form, Format::Text).contains("Each gradient has the shape of its parameter"));
    for format in [Format::Markdown, Format::Latex] {
        let out = render(&form, format);
        assert!(
            out.contains("Each gradient has the shape of its parameter"),
            "{out}"
        );
        assert!(out.contains("\\odot"), "{out}");
    }
    let json = render(&form, Format::Json);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["convention"], "gradient-has-parameter-shape");
    assert_eq!(
        doc["network"],
        "network 2-3-1, activation sigmoid, cost quadratic"
    );
    let labels: Vec<&str> = doc["terms"]
        .as_array()
        .unwrap()
        .iter()
        .chain(doc["derivatives"].as_array().unwrap())
        .map(|q| q["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["BP1", "BP2", "BP3", "BP3", "BP4", "BP4"]);
}

/// The document does not grow with the widths (of more than one neuron, whose shapes are
/// matrices): only with the layers.
#[test]
fn the_document_does_not_grow_with_the_widths() {
    let masked = |source: &str| -> String {
        text(source)
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect()
    };
    let small =
        masked("network 2-3-2\nactivation tanh\ncost cross-entropy\nactivation 3 sigmoid\n");
    let large =
        masked("network 20-30-10\nactivation tanh\ncost cross-entropy\nactivation 3 sigmoid\n");
    // one digit against two in the widths' shapes
    let squeeze = |s: &str| s.replace("##", "#");
    assert_eq!(squeeze(&small), squeeze(&large));
}

//! The layered derivation (`derive --layers`) against the scalar engine: the index-form and
//! matrix-form equations, evaluated for the actual widths, must give every parameter's
//! derivative that the scalar chain rule gives on the expanded network, at random points.
//! And the equations a textbook prints must appear, derived.

mod common;

use std::collections::HashMap;

use chainrule::analysis::layers::{self, Gradients, Point, Style};
use chainrule::core::diff::{self, Config};
use chainrule::core::eval::eval_f64;
use chainrule::core::expr::Num;
use chainrule::lang::expansion::names;
use chainrule::lang::load::{self, TargetSpec};
use chainrule::lang::network::{CostKind, NetworkSpec};
use chainrule::render::document::Format;
use common::load;
use proptest::prelude::*;

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

/// Values for every leaf of the expanded network: weights and inputs in (−1.5, 1.5), targets
/// in (0, 1) and, for the log-likelihood cost, a distribution (the derivation uses Σ y = 1).
fn values(
    model: &chainrule::core::model::Model,
    spec: &NetworkSpec,
    seed: u64,
) -> HashMap<String, f64> {
    let mut rng = Lcg(seed);
    let mut out = HashMap::new();
    for s in model.syms().filter(|&s| model.symbol(s).kind.is_leaf()) {
        out.insert(model.name(s).to_string(), 1.5 * rng.next());
    }
    let m = spec.widths[spec.layers() - 1];
    let ys: Vec<f64> = (0..m)
        .map(|_| 0.05 + 0.9 * (rng.next() + 1.0) / 2.0)
        .collect();
    let total: f64 = ys.iter().sum();
    for (j, v) in ys.iter().enumerate() {
        let v = if spec.cost == CostKind::LogLikelihood {
            v / total
        } else {
            *v
        };
        out.insert(names::target(j + 1), v);
    }
    if spec.l2 {
        out.insert(names::LAMBDA.into(), 0.7);
        out.insert(names::SAMPLES.into(), 3.0);
    }
    out
}

fn point(spec: &NetworkSpec, v: &HashMap<String, f64>) -> Point {
    let layers = spec.layers();
    let x = (1..=spec.widths[0]).map(|k| v[&names::input(k)]).collect();
    let y = (1..=spec.widths[layers - 1])
        .map(|j| v[&names::target(j)])
        .collect();
    let mut w = vec![vec![]; layers + 1];
    let mut b = vec![vec![]; layers + 1];
    for l in 2..=layers {
        w[l] = (1..=spec.width(l))
            .map(|j| {
                (1..=spec.width(l - 1))
                    .map(|k| v[&names::weight(l, j, k)])
                    .collect()
            })
            .collect();
        b[l] = (1..=spec.width(l))
            .map(|j| v.get(&names::bias(l, j)).copied().unwrap_or(0.0))
            .collect();
    }
    let lambda = v.get(names::LAMBDA).copied().unwrap_or(0.0);
    let n = v.get(names::SAMPLES).copied().unwrap_or(1.0);
    Point::new(spec, x, y, w, b, lambda, n)
}

/// Every parameter's derivative by the scalar engine, evaluated in float64.
fn scalar_gradients(source: &str, v: &HashMap<String, f64>) -> HashMap<String, f64> {
    let mut model = load(source);
    let targets = load::targets(&model, &TargetSpec::AllParams).unwrap();
    let config = Config {
        steps: false,
        ..Config::default()
    };
    let out = diff::derive(&mut model, &targets, &config);
    let results: Vec<_> = out.derivations.iter().map(|d| d.result).collect();
    let expanded = diff::expand(&mut model, &results);
    let symbols = model.symbols.clone();
    let value_of = |s: chainrule::core::expr::Sym| v.get(&symbols[s.index()].name).copied();
    let numbers = eval_f64(&model.graph, &expanded, &value_of).unwrap();
    out.derivations
        .iter()
        .zip(numbers)
        .map(|(d, x)| (model.name(d.target.wrt).to_string(), x))
        .collect()
}

fn agree(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The layered gradients must equal the scalar ones for every weight and bias.
fn compare(
    form: &str,
    spec: &NetworkSpec,
    g: &Gradients,
    scalar: &HashMap<String, f64>,
) -> Result<(), String> {
    let mut checked = 0;
    for l in 2..=spec.layers() {
        for j in 1..=spec.width(l) {
            for k in 1..=spec.width(l - 1) {
                let name = names::weight(l, j, k);
                let (want, got) = (scalar[&name], g.w[l][j - 1][k - 1]);
                if !agree(want, got) {
                    return Err(format!("{form}: dC/d{name} = {got}, scalar engine {want}"));
                }
                checked += 1;
            }
            if spec.biases {
                let name = names::bias(l, j);
                let (want, got) = (scalar[&name], g.b[l][j - 1]);
                if !agree(want, got) {
                    return Err(format!("{form}: dC/d{name} = {got}, scalar engine {want}"));
                }
                checked += 1;
            }
        }
    }
    if checked != scalar.len() {
        return Err(format!(
            "{form}: checked {checked} of {} parameters",
            scalar.len()
        ));
    }
    Ok(())
}

fn check_agreement(source: &str, seeds: &[u64]) -> Result<(), String> {
    let model = load(source);
    let spec = load::network_spec(source)
        .unwrap()
        .expect("a network shorthand");
    let layered = layers::derive(&spec);
    for &seed in seeds {
        let v = values(&model, &spec, seed);
        let p = point(&spec, &v);
        let scalar = scalar_gradients(source, &v);
        let index =
            layers::evaluate_index(&layered, &p).ok_or("the index form does not evaluate")?;
        let matrix =
            layers::evaluate_matrix(&layered, &p).ok_or("the matrix form does not evaluate")?;
        compare("index form", &spec, &index, &scalar)
            .map_err(|e| format!("{source}\nseed {seed}: {e}"))?;
        compare("matrix form", &spec, &matrix, &scalar)
            .map_err(|e| format!("{source}\nseed {seed}: {e}"))?;
    }
    Ok(())
}

#[test]
fn index_and_matrix_forms_agree_with_the_scalar_engine() {
    let networks = [
        "network 2-3-1",
        "network 3-4-4-2",
        "network 3-4-2-3\nactivation tanh\nactivation 3 relu\nactivation 4 identity\ncost half-quadratic",
        "network 2-3-2\nactivation sigmoid\ncost cross-entropy",
        "network 4-5-3\nactivation tanh\nactivation 3 softmax\ncost log-likelihood",
        "network 2-4-3\nactivation softplus\nactivation 3 softmax\ncost quadratic\nregularization l2",
        "network 3-2-2\nactivation relu\nactivation 3 sigmoid\ncost cross-entropy\nbiases none\nregularization l2",
        "network 1-1-1",
    ];
    for source in networks {
        check_agreement(source, &[1, 2, 3]).unwrap();
    }
}

#[test]
fn a_wrong_equation_is_caught() {
    // The check can fail: drop σ'(z^L) from BP1 and the forms must disagree with the engine.
    let source = "network 2-3-1";
    let model = load(source);
    let spec = load::network_spec(source).unwrap().unwrap();
    let mut layered = layers::derive(&spec);
    let bp1 = layered
        .equations
        .iter_mut()
        .find(|e| e.label == "BP1")
        .unwrap();
    let chainrule::analysis::layers::E::Mul(factors) = &mut bp1.rhs else {
        panic!("BP1 is a product: {:?}", bp1.rhs)
    };
    factors.pop();
    let v = values(&model, &spec, 7);
    let p = point(&spec, &v);
    let scalar = scalar_gradients(source, &v);
    let index = layers::evaluate_index(&layered, &p).unwrap();
    assert!(compare("index form", &spec, &index, &scalar).is_err());

    // And the matrix form: BP2 without its factor f'(z^(l)) must disagree too.
    let source = "network 2-3-2-1";
    let model = load(source);
    let spec = load::network_spec(source).unwrap().unwrap();
    let mut layered = layers::derive(&spec);
    let bp2 = layered
        .matrix
        .iter_mut()
        .find(|e| e.label == "BP2")
        .unwrap();
    let layers::M::Hadamard(factors) = &mut bp2.rhs else {
        panic!("BP2 is a Hadamard product: {:?}", bp2.rhs)
    };
    factors.pop();
    let v = values(&model, &spec, 11);
    let p = point(&spec, &v);
    let scalar = scalar_gradients(source, &v);
    let matrix = layers::evaluate_matrix(&layered, &p).unwrap();
    assert!(compare("matrix form", &spec, &matrix, &scalar).is_err());
}

fn result(layered: &layers::Layered, label: &str) -> String {
    let eq = layered.equations.iter().find(|e| e.label == label).unwrap();
    format!(
        "{} = {}",
        layers::show(&eq.lhs, Style::Text),
        layers::show(&eq.rhs, Style::Text)
    )
}

fn matrix(layered: &layers::Layered, label: &str) -> String {
    let m = layered.matrix.iter().find(|e| e.label == label).unwrap();
    format!(
        "{} = {}",
        layers::show_m(&m.lhs, Style::Text),
        layers::show_m(&m.rhs, Style::Text)
    )
}

fn derive_source(source: &str) -> layers::Layered {
    layers::derive(
        &load::network_spec(source)
            .unwrap()
            .expect("a network shorthand"),
    )
}

#[test]
fn nielsens_equations_appear_for_sigmoid_and_quadratic() {
    let l = derive_source("network 2-3-1\nactivation sigmoid\ncost quadratic");
    assert_eq!(result(&l, "BP1"), "δ^L_j = 2(a^L_j − y_j)σ'(z^L_j)");
    assert_eq!(
        result(&l, "BP2"),
        "δ^(l)_j = (Σ_i w^(l+1)_ij·δ^(l+1)_i)σ'(z^(l)_j)"
    );
    assert_eq!(result(&l, "BP3"), "∂C/∂b^(l)_j = δ^(l)_j");
    assert_eq!(result(&l, "BP4"), "∂C/∂w^(l)_jk = a^(l−1)_k·δ^(l)_j");
    assert_eq!(matrix(&l, "BP1"), "δ^L = 2(a^L − y) ⊙ σ'(z^L)");
    assert_eq!(
        matrix(&l, "BP2"),
        "δ^(l) = ((W^(l+1))ᵀ δ^(l+1)) ⊙ σ'(z^(l))"
    );
    assert_eq!(matrix(&l, "BP3"), "∂C/∂b^(l) = δ^(l)");
    assert_eq!(matrix(&l, "BP4"), "∂C/∂W^(l) = δ^(l) (a^(l−1))ᵀ");
    // Each step names its rule; the Kronecker deltas are eliminated by a rule of their own.
    let bp4 = l.equations.iter().find(|e| e.label == "BP4").unwrap();
    assert!(
        bp4.steps
            .iter()
            .any(|s| s.rule.starts_with("Kronecker delta"))
    );
    assert!(
        bp4.steps
            .iter()
            .any(|s| layers::show(&s.rhs, Style::Text).contains("δ_ij·δ_mk"))
    );

    let half = derive_source("network 2-3-1\ncost half-quadratic");
    assert_eq!(result(&half, "BP1"), "δ^L_j = (a^L_j − y_j)σ'(z^L_j)");
}

#[test]
fn the_output_error_is_a_minus_y_where_it_cancels() {
    for source in [
        "network 2-3-2\nactivation sigmoid\ncost cross-entropy",
        "network 4-5-3\nactivation tanh\nactivation 3 softmax\ncost log-likelihood",
    ] {
        let l = derive_source(source);
        assert_eq!(result(&l, "BP1"), "δ^L_j = a^L_j − y_j", "{source}");
        assert_eq!(matrix(&l, "BP1"), "δ^L = a^L − y", "{source}");
        let bp1 = l.equations.iter().find(|e| e.label == "BP1").unwrap();
        assert!(
            bp1.steps.iter().any(|s| s.rule.contains("cancel")),
            "{source}: the cancellation is a step"
        );
    }
    // No cancellation where none happens: tanh with cross-entropy keeps tanh'.
    let l = derive_source("network 2-2\nactivation tanh\ncost cross-entropy");
    assert!(
        result(&l, "BP1").contains("tanh'(z^L_j)"),
        "{}",
        result(&l, "BP1")
    );
}

#[test]
fn l2_adds_lambda_over_n_times_w() {
    let l = derive_source("network 2-3-1\nregularization l2");
    assert_eq!(
        result(&l, "BP4"),
        "∂C/∂w^(l)_jk = a^(l−1)_k·δ^(l)_j + λ·w^(l)_jk/n"
    );
    assert_eq!(
        matrix(&l, "BP4"),
        "∂C/∂W^(l) = δ^(l) (a^(l−1))ᵀ + (λ/n) W^(l)"
    );
    assert_eq!(result(&l, "BP3"), "∂C/∂b^(l)_j = δ^(l)_j");
}

fn render(layered: &layers::Layered, format: Format) -> String {
    let layout = chainrule::render::document::Layout {
        source_name: "net.bp".into(),
        ..Default::default()
    };
    chainrule::render::layers::render(layered, format, &layout).unwrap()
}

#[test]
fn every_format_states_the_layout_convention() {
    let l = derive_source("network 2-3-1");
    for format in [Format::Text, Format::Markdown, Format::Latex] {
        let doc = render(&l, format);
        let words = doc
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace('$', "");
        assert!(
            words.contains("one row per neuron of layer l"),
            "{format:?}\n{doc}"
        );
    }
    let latex = render(&l, Format::Latex);
    assert!(
        latex.contains("\\delta^{L}_{j} &= 2 \\left(a^{L}_{j} - y_{j}\\right) \\sigma'(z^{L}_{j})"),
        "{latex}"
    );
    assert!(latex.contains("\\odot"), "{latex}");
    let json: serde_json::Value = serde_json::from_str(&render(&l, Format::Json)).unwrap();
    assert_eq!(json["equations"][0]["label"], "BP1");
    assert_eq!(json["matrix"][3]["result"], "∂C/∂W^(l) = δ^(l) (a^(l−1))ᵀ");
}

/// Markdown and LaTeX write the prose's formulas as math (`$z^{L}_{j}$`), never as the
/// terminal's pseudo-TeX (`z^L_j`, escaped to `z^L\_j` or `z\textasciicircum{}L`); text and
/// JSON keep the terminal notation, with no `$` of the markup left.
#[test]
fn prose_sets_its_formulas_as_math() {
    for source in [
        "network 2-3-1",
        "network 4-5-3\nactivation tanh\nactivation 3 softmax\ncost log-likelihood",
        "network 3-2-2-2\nactivation relu\nactivation 3 tanh\ncost cross-entropy\nregularization l2",
    ] {
        let l = derive_source(source);
        let markdown = render(&l, Format::Markdown);
        // Prose is what is left of a line without its display math ($$ … $$) and inline math.
        for line in markdown.lines() {
            let without_display: String = line.split("$$").step_by(2).collect();
            for outside_math in without_display.split('$').step_by(2) {
                assert!(
                    !outside_math.contains('^') && !outside_math.contains("\\_"),
                    "{source}: pseudo-TeX in Markdown prose: {outside_math:?} in {line:?}"
                );
            }
        }
        assert!(
            markdown.contains("chain rule: $C$ depends on $z^{L}_{j}$"),
            "{markdown}"
        );
        assert!(markdown.contains("($a^{(1)} = x$)"), "{markdown}");
        let latex = render(&l, Format::Latex);
        assert!(!latex.contains("textasciicircum"), "{latex}");
        assert!(
            latex.contains("\\tag*{\\textit{definition of }$z^{(l)}_{i}$}"),
            "{latex}"
        );
        for format in [Format::Text, Format::Json] {
            let doc = render(&l, format);
            assert!(!doc.contains('$'), "{format:?}\n{doc}");
            assert!(
                doc.contains("depends on z^L_j through"),
                "{format:?}\n{doc}"
            );
        }
    }
}

/// A random shorthand: widths ≤ 5, activations and a cost that fit together.
fn shorthand() -> impl Strategy<Value = String> {
    let hidden = prop::sample::select(vec!["sigmoid", "tanh", "relu", "softplus", "identity"]);
    let output = prop::sample::select(vec!["sigmoid", "tanh", "softplus", "identity", "softmax"]);
    (
        prop::collection::vec(1usize..=5, 2..=4),
        prop::collection::vec(hidden, 3),
        output,
        0usize..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(widths, hidden, output, cost, biases, l2)| {
            let layers = widths.len();
            let w: Vec<String> = widths.iter().map(usize::to_string).collect();
            let mut src = format!("network {}\n", w.join("-"));
            for l in 2..layers {
                src.push_str(&format!("activation {l} {}\n", hidden[l - 2]));
            }
            src.push_str(&format!("activation {layers} {output}\n"));
            // Cross-entropy needs outputs in (0, 1) (a softmax over one neuron is exactly 1,
            // where ln(1 − a) is undefined); log-likelihood a softmax.
            let outputs = widths[layers - 1];
            let cost = match (cost, output) {
                (2 | 3, "sigmoid") => "cross-entropy",
                (2, "softmax") if outputs > 1 => "cross-entropy",
                (3, "softmax") => "log-likelihood",
                (1, _) => "half-quadratic",
                _ => "quadratic",
            };
            src.push_str(&format!("cost {cost}\n"));
            if !biases {
                src.push_str("biases none\n");
            }
            if l2 {
                src.push_str("regularization l2\n");
            }
            src
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_networks_agree_with_the_scalar_engine(source in shorthand(), seed in 1u64..1000) {
        prop_assert!(check_agreement(&source, &[seed]).is_ok(), "{:?}", check_agreement(&source, &[seed]));
    }
}

/// The free indices of an expression with the width each ranges over at layer `l`.
fn free_indices(
    e: &layers::E,
    spec: &NetworkSpec,
    l: usize,
    bound: &mut Vec<char>,
    out: &mut Vec<(char, usize)>,
) {
    use layers::{E, Layer, Quantity};
    let layer = |layer: &Option<Layer>| match layer {
        Some(Layer::Out) => Some(spec.layers()),
        Some(Layer::Rel(r)) => Some((l as i64 + *r as i64) as usize),
        _ => None,
    };
    let mut add = |i: char, width: usize, bound: &Vec<char>| {
        if !bound.contains(&i) && !out.iter().any(|(j, _)| *j == i) {
            out.push((i, width));
        }
    };
    match e {
        E::At(Quantity::Y, _, ix) => add(ix[0], spec.widths[spec.layers() - 1], bound),
        E::At(Quantity::W, ly, ix) => {
            if let Some(ly) = layer(ly) {
                add(ix[0], spec.width(ly), bound);
                add(ix[1], spec.width(ly - 1), bound);
            }
        }
        E::At(_, ly, ix) if ix.len() == 1 => {
            if let Some(ly) = layer(ly) {
                add(ix[0], spec.width(ly), bound);
            }
        }
        E::Add(xs) | E::Mul(xs) => xs.iter().for_each(|x| free_indices(x, spec, l, bound, out)),
        E::Pow(b, _) | E::F(_, b) | E::LayerSum(b) => free_indices(b, spec, l, bound, out),
        E::Sum(i, _, b) => {
            bound.push(*i);
            free_indices(b, spec, l, bound, out);
            bound.pop();
        }
        E::D(a, b) => {
            free_indices(a, spec, l, bound, out);
            free_indices(b, spec, l, bound, out);
        }
        _ => {}
    }
}

/// Every assignment of values to the indices.
fn assignments(ranges: &[(char, usize)]) -> Vec<Vec<(char, usize)>> {
    let mut all = vec![vec![]];
    for &(i, width) in ranges {
        all = all
            .into_iter()
            .flat_map(|a: Vec<(char, usize)>| {
                (0..width).map(move |v| {
                    let mut a = a.clone();
                    a.push((i, v));
                    a
                })
            })
            .collect();
    }
    all
}

/// Every step of the derivation whose sides have numbers (no unevaluated ∂) is a true
/// equation, for every layer it is stated for and every value of its indices: the steps are
/// the trace of the derivation, not a story told next to it.
#[test]
fn every_evaluable_step_is_a_true_equation() {
    for source in [
        "network 2-3-2-2\nactivation tanh\nactivation 4 sigmoid\ncost cross-entropy\nregularization l2",
        "network 3-4-3\nactivation relu\nactivation 3 softmax\ncost log-likelihood",
        "network 2-3-3\nactivation softplus\nactivation 3 softmax\ncost half-quadratic\nbiases none",
        "network 2-2-1\ncost quadratic",
    ] {
        let model = load(source);
        let spec = load::network_spec(source).unwrap().unwrap();
        let layered = layers::derive(&spec);
        let v = values(&model, &spec, 5);
        let p = point(&spec, &v);
        let g = layers::evaluate_index(&layered, &p).unwrap();
        let mut checked = 0;
        for eq in &layered.equations {
            let ls = match &eq.layers {
                layers::Layers::Output => vec![spec.layers()],
                layers::Layers::General(ls) => ls.clone(),
            };
            for &l in &ls {
                for s in &eq.steps {
                    let mut ranges = Vec::new();
                    free_indices(&s.lhs, &spec, l, &mut vec![], &mut ranges);
                    free_indices(&s.rhs, &spec, l, &mut vec![], &mut ranges);
                    for a in assignments(&ranges) {
                        let lhs = layers::value(&spec, &p, &g.delta, l, &a, &s.lhs);
                        let rhs = layers::value(&spec, &p, &g.delta, l, &a, &s.rhs);
                        if let (Some(x), Some(y)) = (lhs, rhs) {
                            assert!(
                                agree(x, y),
                                "{source}\nlayer {l}, {a:?}: step `{} = {}` ({}) gives {x} and {y}",
                                layers::show(&s.lhs, Style::Text),
                                layers::show(&s.rhs, Style::Text),
                                s.rule
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(
            checked >= 10,
            "{source}: only {checked} step values checked"
        );
    }
}

/// Every combination the shorthand accepts derives a matrix form (the translation to
/// vectors and matrices never gives up) and both forms evaluate.
#[test]
fn every_activation_and_cost_has_a_matrix_form() {
    let hidden = ["sigmoid", "tanh", "relu", "softplus", "identity"];
    let outputs = ["sigmoid", "tanh", "relu", "softplus", "identity", "softmax"];
    let costs = [
        "quadratic",
        "half-quadratic",
        "cross-entropy",
        "log-likelihood",
    ];
    let mut derived = 0;
    for h in hidden {
        for o in outputs {
            for c in costs {
                for extra in ["", "biases none\nregularization l2\n"] {
                    let source = format!(
                        "network 2-3-2\nactivation {h}\nactivation 3 {o}\ncost {c}\n{extra}"
                    );
                    let Ok(model) = load::load(&source) else {
                        assert!(c == "log-likelihood" && o != "softmax", "{source}");
                        continue;
                    };
                    let spec = load::network_spec(&source).unwrap().unwrap();
                    let layered = layers::derive(&spec);
                    for m in &layered.matrix {
                        assert_ne!(m.rhs, layers::M::Num(Num::ZERO), "{source}: {}", m.label);
                    }
                    let v = values(&model, &spec, 3);
                    let p = point(&spec, &v);
                    assert!(layers::evaluate_index(&layered, &p).is_some(), "{source}");
                    assert!(layers::evaluate_matrix(&layered, &p).is_some(), "{source}");
                    derived += 1;
                }
            }
        }
    }
    assert_eq!(derived, 5 * (6 * 3 + 1) * 2);
}

//! Vectors, matrices and batches: programs written with shapes are read with their shapes
//! checked, scalarised into today's scalar graph (one name per entry), and differentiated by
//! the scalar engine. Their gradients are checked against two independent routes: 320-bit
//! central finite differences, and the same network written with the `network` shorthand,
//! whose expansion is scalar code of its own.

mod common;

use std::collections::HashMap;

use chainrule::Model;
use chainrule::Sym;
use chainrule::core::diff::{self, Config};
use chainrule::lang::load;
use common::{central_difference, close, load, value_at};
use proptest::prelude::*;

/// A random fully connected network in vector form.
#[derive(Clone, Debug)]
struct Net {
    /// Widths, the input layer first.
    widths: Vec<usize>,
    /// The activation of each layer after the input (`softmax` only on the last).
    activations: Vec<&'static str>,
    /// `quadratic`, `cross-entropy` (with a sigmoid output) or `log-likelihood` (with a
    /// softmax output).
    cost: &'static str,
    batch: usize,
}

impl Net {
    fn layers(&self) -> usize {
        self.widths.len()
    }

    /// The network as a vector program, averaged over the batch.
    fn vector_source(&self) -> String {
        let mut s = format!("size m = {}\n", self.batch);
        let last = self.layers();
        s += &format!("input X[{}, m]\n", self.widths[0]);
        let one_hot = if self.cost == "log-likelihood" {
            " one-hot"
        } else {
            ""
        };
        s += &format!("target Y[{}, m]{one_hot}\n", self.widths[last - 1]);
        for l in 2..=last {
            s += &format!(
                "param W{l}[{}, {}], b{l}[{}]\n",
                self.widths[l - 1],
                self.widths[l - 2],
                self.widths[l - 1]
            );
        }
        for l in 2..=last {
            let previous = if l == 2 {
                "X".to_string()
            } else {
                format!("A{}", l - 1)
            };
            s += &format!("Z{l} = W{l} {previous} + b{l}\n");
            s += &format!("A{l} = {}(Z{l})\n", self.activations[l - 2]);
        }
        s += &match self.cost {
            "quadratic" => format!("cost C = (1/m) sum((Y - A{last})^2)\n"),
            "cross-entropy" => {
                format!("cost C = -(1/m) sum(Y ⊙ log(A{last}) + (1 - Y) ⊙ log(1 - A{last}))\n")
            }
            _ => format!("cost C = -(1/m) sum(Y ⊙ log(A{last}))\n"),
        };
        s
    }

    /// The same network with the shorthand (one example).
    fn shorthand_source(&self) -> String {
        let widths: Vec<String> = self.widths.iter().map(|w| w.to_string()).collect();
        let mut s = format!("network {}\n", widths.join("-"));
        for (i, a) in self.activations.iter().enumerate() {
            s += &format!("activation {} {a}\n", i + 2);
        }
        s += &format!("cost {}\n", self.cost);
        s
    }

    /// The shorthand's name of an entry of the vector program (batch of one): `W2[j,k]` is
    /// `w2_j_k`; a column vector has one index, and a 1×1 none.
    fn shorthand_name(entry: &str) -> String {
        let (base, rest) = entry.split_once('[').unwrap_or((entry, ""));
        let indices: Vec<&str> = rest
            .trim_end_matches(']')
            .split(',')
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
            "X" | "x" => format!("x{i}"),
            "Y" | "y" => format!("y{i}"),
            _ => entry.to_string(),
        }
    }
}

/// Widths 1–4 (two or three layers after the input), sigmoid, tanh or relu hidden layers,
/// one of three costs with its output, and batches of 1–5.
fn net() -> impl Strategy<Value = Net> {
    (
        prop::collection::vec(1usize..=4, 3..=4),
        prop::collection::vec(prop::sample::select(vec!["sigmoid", "tanh", "relu"]), 3),
        prop::sample::select(vec!["quadratic", "cross-entropy", "log-likelihood"]),
        1usize..=5,
    )
        .prop_map(|(widths, mut activations, cost, batch)| {
            activations.truncate(widths.len() - 1);
            let output = activations.last_mut().unwrap();
            match cost {
                "log-likelihood" => *output = "softmax",
                "cross-entropy" => *output = "sigmoid",
                _ => {}
            }
            Net {
                widths,
                activations,
                cost,
                batch,
            }
        })
}

/// A value for every leaf of the model: targets of a one-hot group positive and summing to
/// one per example, everything else in ±1.5 (never 0, away from relu's kink).
fn random_point(model: &Model, seed: u64) -> HashMap<Sym, f64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out: HashMap<Sym, f64> = HashMap::new();
    for s in model.syms().filter(|&s| model.symbol(s).kind.is_leaf()) {
        let v = (0.1 + 1.4 * rng.f64()) * if rng.bool() { 1.0 } else { -1.0 };
        out.insert(s, v);
    }
    for group in &model.one_hot {
        let values: Vec<f64> = group.iter().map(|_| 0.05 + rng.f64()).collect();
        let total: f64 = values.iter().sum();
        for (s, v) in group.iter().zip(values) {
            out.insert(*s, v / total);
        }
    }
    out
}

/// ∂C/∂θ for every parameter entry, by the symbolic engine, at the point, by name.
fn gradients(
    model: &mut Model,
    at: &HashMap<Sym, f64>,
) -> Vec<(String, chainrule::core::eval::Precise)> {
    let targets = load::targets(model, &load::TargetSpec::AllParams).unwrap();
    let out = diff::derive(
        model,
        &targets,
        &Config {
            steps: false,
            ..Config::default()
        },
    );
    out.derivations
        .iter()
        .map(|d| {
            (
                model.name(d.target.wrt).to_string(),
                value_at(model, d.result, at),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random vector programs (widths 1–4, sigmoid/tanh/relu, quadratic, cross-entropy or
    /// softmax with the log-likelihood, batches of 1–5): every scalarised gradient equals the 320-bit central
    /// difference, and with one example the gradient of the same network written with the
    /// shorthand.
    #[test]
    fn vector_gradients_equal_finite_differences_and_the_shorthand(net in net(), seed in 0u64..1000) {
        let source = net.vector_source();
        let mut model = load(&source);
        let at = random_point(&model, seed);
        let grads = gradients(&mut model, &at);
        let params: usize = (1..net.layers()).map(|l| net.widths[l] * (net.widths[l - 1] + 1)).sum();
        prop_assert_eq!(grads.len(), params, "{}", source);
        for (name, symbolic) in &grads {
            let wrt = model.lookup(name).unwrap();
            let cost = model.cost;
            let fd = central_difference(&mut model, cost, wrt, &at);
            prop_assert!(
                close(symbolic, &fd, 1e-12),
                "{}\n∂C/∂{}: {} vs finite difference {}", source, name, symbolic.to_f64(), fd.to_f64()
            );
        }
        if net.batch == 1 {
            let shorthand = net.shorthand_source();
            let mut scalar = load(&shorthand);
            let scalar_at: HashMap<Sym, f64> = at
                .iter()
                .map(|(&s, &v)| {
                    let name = Net::shorthand_name(model.name(s));
                    let mapped = scalar.lookup(&name).unwrap_or_else(|| panic!("{name} in\n{shorthand}"));
                    (mapped, v)
                })
                .collect();
            let scalar_grads: HashMap<String, chainrule::core::eval::Precise> =
                gradients(&mut scalar, &scalar_at).into_iter().collect();
            prop_assert_eq!(scalar_grads.len(), grads.len());
            for (name, symbolic) in &grads {
                let other = &scalar_grads[&Net::shorthand_name(name)];
                prop_assert!(
                    close(symbolic, other, 1e-12),
                    "{}\n∂C/∂{}: {} vs the shorthand's {}", source, name, symbolic.to_f64(), other.to_f64()
                );
            }
        }
    }
}

/// The value of the cost at a point given by name.
fn cost_at(source: &str, values: &[(&str, f64)]) -> f64 {
    let mut model = load(source);
    let at: HashMap<Sym, f64> = values
        .iter()
        .map(|(n, v)| {
            (
                load::lookup_entry(&model, n).unwrap_or_else(|| panic!("no entry {n}")),
                *v,
            )
        })
        .collect();
    let cost = model.graph_var(model.cost);
    value_at(&mut model, cost, &at).to_f64()
}

fn error_of(source: &str) -> (String, String) {
    let d = chainrule::load(source).err().expect("an error");
    let span = d.span.expect("a spot");
    (d.message.clone(), source[span.start..span.end].to_string())
}

#[test]
fn a_mismatched_product_names_both_shapes_under_a_caret() {
    let source = "input x[3]\nparam W2[3, 2]\nz = W2 x\ncost C = sum(z)\n";
    let (message, spot) = error_of(source);
    assert_eq!(
        message,
        "`W2 x`: W2 is 3×2 and x is 3×1; the columns of W2 must match the rows of x"
    );
    assert_eq!(spot, "W2 x");
    let (message, spot) = error_of("input x[3]\nparam b[2]\ncost C = sum(x + b)\n");
    assert!(
        message.starts_with("`x + b`: x is 3×1 and b is 2×1"),
        "{message}"
    );
    assert_eq!(spot, "x + b");
    let (message, _) = error_of("input x[3]\ncost C = x\n");
    assert!(
        message.contains("must be a scalar, but this is 3×1"),
        "{message}"
    );
    let (message, spot) = error_of("input x[3]\ncost C = x[4]\n");
    assert!(message.contains("no entry (4, 1)"), "{message}");
    assert_eq!(spot, "x[4]");
    let (message, spot) = error_of("size m = 2\ninput X[2, n]\ncost C = sum(X)\n");
    assert!(message.contains("unknown size `n`"), "{message}");
    assert_eq!(spot, "n");
    let (message, spot) = error_of("input x[2]\ncost C = sum(x, 3)\n");
    assert!(message.contains("axis"), "{message}");
    assert_eq!(spot, "3");
}

#[test]
fn operations_of_vectors_have_their_textbook_values() {
    let x = [0.5, -1.25, 2.0];
    let y = [1.5, 0.25, -0.75];
    let at: Vec<(String, f64)> = (0..3)
        .flat_map(|i| {
            [
                (format!("x[{}]", i + 1), x[i]),
                (format!("y[{}]", i + 1), y[i]),
            ]
        })
        .collect();
    let at: Vec<(&str, f64)> = at.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let program = |cost: &str| format!("input x[3], y[3]\ncost C = {cost}\n");
    let dot: f64 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
    let norm2: f64 = x.iter().map(|a| a * a).sum();
    let lse = x.iter().map(|a| a.exp()).sum::<f64>().ln();
    let softmax_2 = x[1].exp() / x.iter().map(|a| a.exp()).sum::<f64>();
    for (cost, expected) in [
        ("sum(x)", x.iter().sum::<f64>()),
        ("mean(x)", x.iter().sum::<f64>() / 3.0),
        ("dot(x, y)", dot),
        ("sum(x ⊙ y)", dot),
        ("sum(x .* y)", dot),
        ("sum(hadamard(x, y))", dot),
        ("x^T y", dot),
        ("x.T @ y", dot),
        ("transpose(x) y", dot),
        ("xᵀ·y", dot),
        ("x^⊤ y", dot),
        ("norm2(x)", norm2),
        ("‖x‖²", norm2),
        ("‖x‖", norm2.sqrt()),
        ("logsumexp(x)", lse),
        ("softmax(x)[2]", softmax_2),
        ("x[3] + 2 y[1]", x[2] + 2.0 * y[0]),
        (
            "sum(2 x - y / 4)",
            x.iter().zip(&y).map(|(a, b)| 2.0 * a - b / 4.0).sum(),
        ),
        (
            "sum(sigmoid(x))",
            x.iter().map(|a| 1.0 / (1.0 + (-a).exp())).sum(),
        ),
    ] {
        let value = cost_at(&program(cost), &at);
        assert!(
            (value - expected).abs() < 1e-12 * expected.abs().max(1.0),
            "{cost}: {value} vs {expected}"
        );
    }
}

#[test]
fn matrices_sum_over_an_axis_and_broadcast_a_bias_over_the_batch() {
    // W is 2×3, X is 3×2 (two examples as columns), b is 2×1.
    let w = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]];
    let xs = [[1.0, -2.0], [0.5, 3.0], [-1.5, 0.75]];
    let b = [0.1, -0.3];
    let mut at: Vec<(String, f64)> = Vec::new();
    for (i, row) in w.iter().enumerate() {
        for (k, v) in row.iter().enumerate() {
            at.push((format!("W[{},{}]", i + 1, k + 1), *v));
        }
        at.push((format!("b[{}]", i + 1), b[i]));
    }
    for (k, row) in xs.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            at.push((format!("X[{},{}]", k + 1, j + 1), *v));
        }
    }
    let at: Vec<(&str, f64)> = at.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let z = |i: usize, j: usize| (0..3).map(|k| w[i][k] * xs[k][j]).sum::<f64>() + b[i];
    let program = |cost: &str| {
        format!("size m = 2\ninput X[3, m]\nparam W[2, 3], b[2]\nZ = W X + b\ncost C = {cost}\n")
    };
    for (cost, expected) in [
        ("Z[2, 1]", z(1, 0)),
        ("sum(Z)", z(0, 0) + z(0, 1) + z(1, 0) + z(1, 1)),
        // down each column: one number per example
        ("sum(Z, 1)[2]", z(0, 1) + z(1, 1)),
        // across each row: one number per neuron, summed over the batch
        ("sum(Z, 2)[1]", z(0, 0) + z(0, 1)),
        ("mean(Z, 2)[2]", (z(1, 0) + z(1, 1)) / 2.0),
        (
            "(1/m) sum(Z)",
            (z(0, 0) + z(0, 1) + z(1, 0) + z(1, 1)) / 2.0,
        ),
        ("logsumexp(Z)[2]", (z(0, 1).exp() + z(1, 1).exp()).ln()),
        (
            "softmax(Z)[1, 2]",
            z(0, 1).exp() / (z(0, 1).exp() + z(1, 1).exp()),
        ),
    ] {
        let value = cost_at(&program(cost), &at);
        assert!(
            (value - expected).abs() < 1e-12 * expected.abs().max(1.0),
            "{cost}: {value} vs {expected}"
        );
    }
}

/// CS231n writes examples as rows: `X W + b` with X m×2 and b a row broadcast down the batch.
/// The same network in either layout has the same cost and the same gradient entry by entry
/// (W in one is the transpose of W in the other).
#[test]
fn the_rows_layout_is_the_transposed_columns_layout() {
    let columns = "size m = 2\ninput X[2, m]\ntarget Y[3, m]\nparam W[3, 2], b[3]\n\
                   A = sigmoid(W X + b)\ncost C = (1/m) sum((A - Y)^2)\n";
    let rows = "layout rows\nsize m = 2\ninput X[m, 2]\ntarget Y[m, 3]\nparam W[2, 3], b[3]\n\
                A = sigmoid(X W + b)\ncost C = (1/m) sum((A - Y)^2)\n";
    let mut c = load(columns);
    let mut r = load(rows);
    assert_eq!(r.name(r.lookup("b[2]").unwrap()), "b[2]");
    let at_c = random_point(&c, 7);
    // entry (i, j) of a name in the columns program is entry (j, i) in the rows program
    let swap = |name: &str| -> String {
        match name.split_once('[') {
            Some((base, rest)) if rest.contains(',') => {
                let (i, j) = rest.trim_end_matches(']').split_once(',').unwrap();
                format!("{base}[{j},{i}]")
            }
            _ => name.to_string(),
        }
    };
    let at_r: HashMap<Sym, f64> = at_c
        .iter()
        .map(|(&s, &v)| (r.lookup(&swap(c.name(s))).unwrap(), v))
        .collect();
    let cost_c = c.graph_var(c.cost);
    let cost_r = r.graph_var(r.cost);
    assert!(close(
        &value_at(&mut c, cost_c, &at_c),
        &value_at(&mut r, cost_r, &at_r),
        1e-14
    ));
    let gc = gradients(&mut c, &at_c);
    let gr: HashMap<String, _> = gradients(&mut r, &at_r).into_iter().collect();
    for (name, value) in &gc {
        assert!(close(value, &gr[&swap(name)], 1e-14), "{name}");
    }
}

#[test]
fn arrays_are_given_as_values_with_their_shapes_checked() {
    let model = load("input x[2]\nparam W2[3, 2], b2[3], c\nz = W2 x + b2\ncost C = sum(z) + c\n");
    let given = load::parse_assignments(
        &model,
        "W2=[[0.1, 0.2], [0.3, 0.4], [9, 0.6]], x=[1, −2]\nb2 = [1,\n  2, 3]  # a comment\nc=4",
    )
    .unwrap();
    let by_name: HashMap<&str, (&str, f64)> = given
        .iter()
        .map(|g| (model.name(g.sym), (g.text.as_str(), g.value)))
        .collect();
    assert_eq!(by_name["W2[1,2]"], ("0.2", 0.2));
    assert_eq!(by_name["W2[3,1]"], ("9", 9.0));
    assert_eq!(by_name["W2[3,2]"], ("0.6", 0.6));
    assert_eq!(by_name["x[2]"], ("-2", -2.0));
    assert_eq!(by_name["b2[3]"], ("3", 3.0));
    assert_eq!(by_name["c"], ("4", 4.0));
    assert_eq!(given.len(), 6 + 2 + 3 + 1);
    // An entry given again after its whole array is a name given two values: refused, as any
    // name given twice is, pointing at the second.
    let twice = "W2=[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], W2[3, 1]=9";
    let e = load::parse_assignments(&model, twice).unwrap_err();
    assert!(e.message.contains("given two values"), "{}", e.message);
    assert_eq!(e.span.map(|s| &twice[s.start..s.end]), Some("W2[3, 1]"));

    let text = "W2=[[0.1, 0.2], [0.3, 0.4]]";
    let e = load::parse_assignments(&model, text).unwrap_err();
    assert_eq!(e.message, "`W2` is 3×2, but this array has 2 rows of 2");
    let span = e.span.unwrap();
    assert_eq!(&text[span.start..span.end], "[[0.1, 0.2], [0.3, 0.4]]");
    let text = "x=[1, 2, 3]";
    let e = load::parse_assignments(&model, text).unwrap_err();
    assert!(e.message.contains("3 numbers"), "{e:?}");
    let text = "W2=0.5";
    let e = load::parse_assignments(&model, text).unwrap_err();
    assert!(e.message.contains("takes an array"), "{e:?}");
    let text = "x=[1, oops]";
    let e = load::parse_assignments(&model, text).unwrap_err();
    let span = e.span.unwrap();
    assert_eq!(&text[span.start..span.end], "oops");
}

#[test]
fn scalar_programs_are_not_scalarised() {
    let source = "input x\nparam w, b\nsum = w*x + b\ncost C = (sum - 1)^2\n";
    let model = load(source);
    assert!(model.arrays.is_empty());
    assert_eq!(model.symbols.len(), 5);
    // `sum` without a parenthesis is still a name
    let model = load("input x\nparam dot\ncost C = dot x\n");
    assert!(model.lookup("dot").is_some());
}

/// The commands on a vector program: entries named in `--wrt`, `--at` and claims, a whole
/// array in `--wrt`, and a shape error reported with its caret.
#[test]
fn commands_name_entries_and_arrays() {
    let ng = "examples/ng_planar.bp";
    let at = "X=[[1, 2, -1, 0.5], [0.5, -1, 2, 1]], Y=[1, 0, 1, 0]";
    let out = common::stdout_of(
        &[
            "eval",
            ng,
            "--wrt",
            "W2[1, 3],b2",
            "--at",
            at,
            "--init",
            "xavier",
        ],
        "",
    );
    assert!(out.contains("dJ/dW2[1,3]"), "{out}");
    assert!(out.contains("dJ/db2"), "{out}");
    let out = common::stdout_of(&["derive", ng, "--wrt", "W1", "--no-steps"], "");
    for entry in ["W1[1,1]", "W1[4,2]"] {
        assert!(out.contains(&format!("∂J/∂{entry}")), "{out}");
    }
    assert!(!out.contains("∂J/∂b1"), "{out}");
    // Ng's db2 = (1/m) Σ (A2 − Y), one claim over the entries; without the 1/m it is wrong.
    let sum = "A2[1,1] - Y[1,1] + A2[1,2] - Y[1,2] + A2[1,3] - Y[1,3] + A2[1,4] - Y[1,4]";
    let right = format!("dJ/db2 = (1/4)({sum})");
    let out = common::run(&["check", ng, "--claim", &right], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("CORRECT"), "{text}");
    let wrong = format!("dJ/db2 = {sum}");
    let out = common::run(&["check", ng, "--claim", &wrong], None);
    assert_eq!(out.status.code(), Some(1));
    // A values file of every entry reads back to the values it was written from.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ng.values");
    let file = file.to_str().unwrap();
    common::stdout_of(
        &["values", ng, "--at", at, "--init", "xavier", "-o", file],
        "",
    );
    let written = std::fs::read_to_string(file).unwrap();
    assert!(written.contains("\nW1[4,2] = "), "{written}");
    assert!(written.contains("\nX[2,3] = 2\n"), "{written}");
    let from_file = common::stdout_of(&["eval", ng, "--all", "--values", file], "");
    let from_init = common::stdout_of(&["eval", ng, "--all", "--at", at, "--init", "xavier"], "");
    assert_eq!(from_file, from_init);
    let out = common::run(
        &["eval", "-", "--at", "x=[1, 2, 3]"],
        Some("input x[2]\ncost C = sum(x)\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`x` is 2×1, but this array has 3 numbers"),
        "{stderr}"
    );
    let out = common::run(
        &["derive", "-", "--all"],
        Some("input x[3]\nparam W2[3, 2]\ncost C = sum(W2 x)\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("W2 is 3×2 and x is 3×1; the columns of W2 must match the rows of x"),
        "{stderr}"
    );
    assert!(stderr.contains("^^^^"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// Programs whose scalarisation would not fit are refused quickly, at the spot.
#[test]
fn programs_too_large_to_write_out_are_refused() {
    let (message, spot) =
        error_of("input x[800]\nparam W[800, 800], V[800, 800]\ncost C = sum(V W x)\n");
    assert!(
        message.contains("more than 8000000 operations"),
        "{message}"
    );
    assert_eq!(spot, "C");
    let (message, _) =
        error_of("size m = 1000\ninput X[1000, m], Y[1000, m], Z[1000, m]\ncost C = sum(X)\n");
    assert!(message.contains("more than 2000000 names"), "{message}");
    let (message, spot) = error_of("input X[2000, 1000]\ncost C = sum(X)\n");
    assert!(
        message.contains("2000000 entries; at most 1000000"),
        "{message}"
    );
    assert_eq!(spot, "X");
    let (message, spot) = error_of("input X[2000000, 1]\ncost C = sum(X)\n");
    assert!(message.contains("from 1 to 1000000"), "{message}");
    assert_eq!(spot, "2000000");
    let (message, spot) = error_of("input X[0]\ncost C = sum(X)\n");
    assert!(message.contains("from 1 to 1000000"), "{message}");
    assert_eq!(spot, "0");
}

/// A random expression over names of assorted shapes, with every operation of vectors; most
/// do not fit their shapes, which is the point: each is read, refused with a spot in the
/// source, or scalarised and evaluated, and none panics.
fn shaped_expression(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop::sample::select(vec!["s", "u", "v", "w", "M", "N", "B", "2", "0.5"])
        .prop_map(String::from);
    leaf.prop_recursive(depth, 24, 2, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "⊙", "@", " ", "*", "/", ".*"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a}){op}({b})")),
            (
                inner.clone(),
                prop::sample::select(vec!["^T", "ᵀ", ".T", "[1]", "[2, 1]", "[3]", "^2"])
            )
                .prop_map(|(a, post)| format!("({a}){post}")),
            (
                prop::sample::select(vec![
                    "sum",
                    "mean",
                    "softmax",
                    "logsumexp",
                    "sigmoid",
                    "tanh",
                    "transpose",
                    "norm2",
                    "exp"
                ]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            (
                prop::sample::select(vec!["sum", "mean", "dot", "hadamard", "max"]),
                inner.clone(),
                prop::sample::select(vec!["1", "2", "3", "u"])
            )
                .prop_map(|(f, a, b)| format!("{f}({a}, {b})")),
            inner.prop_map(|a| format!("‖{a}‖²")),
        ]
    })
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn vector_programs_never_panic(expr in shaped_expression(4), rows in prop::bool::ANY) {
        let layout = if rows { "layout rows\n" } else { "" };
        let source = format!(
            "{layout}size m = 2\ninput s, u[2], v[2], w[3]\nparam M[2, 3], N[3, 2], B[2, m]\nZ = {expr}\ncost C = sum(Z)\n"
        );
        match chainrule::load(&source) {
            Err(d) => {
                let text = d.render("f.bp", &source, false);
                prop_assert!(text.starts_with("error: "), "{}", text);
                if let Some(span) = d.span {
                    prop_assert!(span.end <= source.len() && source.is_char_boundary(span.start));
                }
            }
            Ok(mut model) => {
                let at: HashMap<Sym, f64> = model
                    .syms()
                    .filter(|&s| model.symbol(s).kind.is_leaf())
                    .map(|s| (s, 0.25 + s.0 as f64 / 16.0))
                    .collect();
                let cost = model.graph_var(model.cost);
                let value = value_at(&mut model, cost, &at);
                let _ = value.to_f64();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The gradients in matrix form (written in the named error terms δ, with transposes over
    /// the tensor nodes, a bias summed over the batch, `1/m` kept as the size's name), written
    /// out entry by entry, equal the scalar engine's gradients of the scalarised program and
    /// the 320-bit central differences of its cost, entry by entry, at random points: random
    /// widths, activations and costs, softmax outputs, batches of 1–5.
    #[test]
    fn matrix_form_gradients_equal_the_scalarised_gradients(net in net(), seed in 0u64..1000) {
        let source = net.vector_source();
        let program = chainrule::lang::syntax::parse_program(&source).unwrap();
        let (mut tensor_model, layout) =
            chainrule::lang::lower::lower_tensor(&program).unwrap().unwrap();
        let derivation = chainrule::core::matrix_diff::derive(&mut tensor_model, layout).unwrap();
        let matrix = derivation.gradients(&tensor_model);
        // Every error term is named: one a layer.
        let terms = derivation.quantities.iter().filter(|q| q.term.is_some()).count();
        prop_assert_eq!(terms, net.layers() - 1, "{}", source);
        let roots: Vec<chainrule::Id> = matrix.iter().map(|&(_, g)| g).collect();
        let (mut scalar, arrays, written) =
            chainrule::core::tensor::scalarise_with(&tensor_model, layout, &roots).unwrap();
        let at = random_point(&scalar, seed);
        let by_name: HashMap<String, chainrule::core::eval::Precise> =
            gradients(&mut scalar, &at).into_iter().collect();
        let mut compared = 0;
        for ((p, _), entries) in matrix.iter().zip(&written) {
            let array = &arrays[p.index()];
            prop_assert_eq!(entries.len(), array.entries.len());
            for (&entry, &sym) in entries.iter().zip(&array.entries) {
                let value = value_at(&mut scalar, entry, &at);
                let name = scalar.name(sym).to_string();
                prop_assert!(
                    close(&value, &by_name[&name], 1e-12),
                    "{}\n∂C/∂{}: matrix form {} vs scalar {}", source, name, value.to_f64(), by_name[&name].to_f64()
                );
                let cost = scalar.cost;
                let fd = central_difference(&mut scalar, cost, sym, &at);
                prop_assert!(
                    close(&value, &fd, 1e-12),
                    "{}\n∂C/∂{}: matrix form {} vs finite difference {}", source, name, value.to_f64(), fd.to_f64()
                );
                compared += 1;
            }
        }
        prop_assert_eq!(compared, by_name.len());
    }
}

/// The matrix form reads as the courses write it: ∂J/∂W2 is a product with A1ᵀ (Ng's
/// `dZ2 @ A1.T`), and ∂J/∂b1 is a sum across each row, over the batch (Ng's
/// `np.sum(dZ1, axis=1, keepdims=True)`), each of the named error term Δ of its layer, times
/// the mean's 1/m.
#[test]
fn matrix_form_gradients_have_the_textbook_structure() {
    use chainrule::core::expr::{Node, TensorOp};
    use chainrule::core::tensor::Axis;
    let source = std::fs::read_to_string("examples/ng_planar.bp").unwrap();
    let program = chainrule::lang::syntax::parse_program(&source).unwrap();
    let (mut model, layout) = chainrule::lang::lower::lower_tensor(&program)
        .unwrap()
        .unwrap();
    let gradients = chainrule::core::matrix_diff::derive(&mut model, layout)
        .unwrap()
        .gradients(&model);
    let of = |name: &str| {
        gradients[gradients
            .iter()
            .position(|&(p, _)| model.name(p) == name)
            .unwrap()]
        .1
    };
    let var = |name: &str| model.graph_var(model.lookup(name).unwrap());
    // (1/m) times the rest
    let scaled = |id| {
        let Node::Mul(factors) = model.graph.node(id) else {
            panic!("{:?}", model.graph.node(id))
        };
        assert_eq!(factors.len(), 2, "{factors:?}");
        assert!(model.graph.reachable(&[factors[0]]).contains(&var("m")));
        factors[1]
    };
    let Node::Tensor(TensorOp::MatMul, operands) = model.graph.node(scaled(of("W2"))) else {
        panic!("{:?}", model.graph.node(of("W2")))
    };
    assert_eq!(operands[0], var("Delta2"));
    assert_eq!(
        model.graph.node(operands[1]),
        &Node::Tensor(TensorOp::Transpose, Box::new([var("A1")]))
    );
    let Node::Tensor(TensorOp::Sum(Some(Axis::Across)), summed) =
        model.graph.node(scaled(of("b1")))
    else {
        panic!("{:?}", model.graph.node(of("b1")))
    };
    assert_eq!(summed[0], var("Delta1"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// `expand --vector` writes the shorthand as a vector program (with a batch of one, too)
    /// whose gradients equal those of the shorthand's own expansion, entry by entry, for every
    /// activation, cost, biases or none, and the L2 term.
    #[test]
    fn the_vector_form_of_the_shorthand_has_its_gradients(
        widths in prop::collection::vec(1usize..=3, 2..=4),
        hidden in prop::sample::select(vec!["sigmoid", "tanh", "relu", "softplus", "identity"]),
        cost in prop::sample::select(vec!["quadratic", "half-quadratic", "cross-entropy", "log-likelihood"]),
        biases in prop::bool::ANY,
        l2 in prop::bool::ANY,
        batch in prop::bool::ANY,
        seed in 0u64..1000,
    ) {
        let output = match cost {
            "log-likelihood" => "softmax",
            "cross-entropy" => "sigmoid",
            _ => hidden,
        };
        let layers = widths.len();
        let mut shorthand = format!(
            "network {}\nactivation {hidden}\nactivation {layers} {output}\ncost {cost}\n",
            widths.iter().map(|w| w.to_string()).collect::<Vec<_>>().join("-")
        );
        if !biases {
            shorthand += "biases none\n";
        }
        if l2 {
            shorthand += "regularization l2\n";
        }
        let vector = load::expand_vector(&shorthand, batch.then_some(1)).unwrap();
        let mut model = load(&vector);
        let mut scalar = load(&shorthand);
        let at = random_point(&model, seed);
        let scalar_at: HashMap<Sym, f64> = at
            .iter()
            .map(|(&s, &v)| {
                let name = Net::shorthand_name(model.name(s));
                (scalar.lookup(&name).unwrap_or_else(|| panic!("{name} in\n{vector}")), v)
            })
            .collect();
        let grads = gradients(&mut model, &at);
        let theirs: HashMap<String, chainrule::core::eval::Precise> =
            gradients(&mut scalar, &scalar_at).into_iter().collect();
        prop_assert_eq!(grads.len(), theirs.len());
        for (name, value) in &grads {
            let other = &theirs[&Net::shorthand_name(name)];
            prop_assert!(
                close(value, other, 1e-12),
                "{}\n∂C/∂{}: {} vs the shorthand's {}", vector, name, value.to_f64(), other.to_f64()
            );
        }
    }
}

#[test]
fn the_vector_form_needs_a_shorthand() {
    let e = load::expand_vector("input x\nparam w\ncost C = (w x - 1)^2\n", None).unwrap_err();
    assert!(
        e.message
            .contains("vector form is written for a `network` shorthand"),
        "{e:?}"
    );
    let text = load::expand_vector("network 2-3-1\n", Some(4)).unwrap();
    assert!(text.contains("size m = 4\ninput x[2, m]"), "{text}");
    assert!(text.contains("cost C = (1/m) (sum((y - a3)^2))"), "{text}");
}

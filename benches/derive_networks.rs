//! How long `derive --all --no-steps` takes on scalar-expanded fully connected sigmoid
//! networks, from 1-1-…-1 chains to Nielsen's 784-30-10 MNIST network.
//!
//! Also times `chainrule expand` on the `network 784-30-10` shorthand (parse the shorthand,
//! check it, print the straight-line form), loading the shorthand (its expansion built as a
//! syntax tree and lowered, what every command does first) and `derive --all` on it.
//!
//! Besides the timings, it prints each network's cost-graph and derivative-graph sizes, so the
//! "derivative graph under 4× the cost graph" goal can be read off the same run.

use std::hint::black_box;

use chainrule::core::diff::{self, Config};
use chainrule::lang::load;
use criterion::{Criterion, criterion_group, criterion_main};

/// A fully connected sigmoid network with quadratic cost, written out neuron by neuron.
fn layered_network(widths: &[usize]) -> String {
    let mut src = String::new();
    let inputs: Vec<String> = (0..widths[0]).map(|k| format!("x_{k}")).collect();
    src.push_str(&format!("input {}\n", inputs.join(", ")));
    let last = widths.len() - 1;
    let targets: Vec<String> = (0..widths[last]).map(|j| format!("y_{j}")).collect();
    src.push_str(&format!("target {}\n", targets.join(", ")));
    let mut previous = inputs;
    for l in 1..widths.len() {
        let mut params = Vec::new();
        for j in 0..widths[l] {
            for k in 0..widths[l - 1] {
                params.push(format!("w{l}_{j}_{k}"));
            }
            params.push(format!("b{l}_{j}"));
        }
        src.push_str(&format!("param {}\n", params.join(", ")));
        let mut current = Vec::new();
        for j in 0..widths[l] {
            let terms: Vec<String> = previous
                .iter()
                .enumerate()
                .map(|(k, a)| format!("w{l}_{j}_{k}*{a}"))
                .collect();
            src.push_str(&format!("z{l}_{j} = {} + b{l}_{j}\n", terms.join(" + ")));
            src.push_str(&format!("a{l}_{j} = sigmoid(z{l}_{j})\n"));
            current.push(format!("a{l}_{j}"));
        }
        previous = current;
    }
    let errors: Vec<String> = previous
        .iter()
        .enumerate()
        .map(|(j, a)| format!("(y_{j} - {a})^2"))
        .collect();
    src.push_str(&format!("cost C = {}\n", errors.join(" + ")));
    src
}

/// What `derive --all --no-steps` does: load the program and differentiate the cost with
/// respect to every parameter, without rendering.
fn derive_all(source: &str) -> (chainrule::core::model::Model, diff::Derivations) {
    let mut model = load::load(source).expect("the generated network parses");
    let targets =
        load::targets(&model, &load::TargetSpec::AllParams).expect("every parameter is a target");
    let config = Config {
        steps: false,
        ..Config::default()
    };
    let out = diff::derive(&mut model, &targets, &config);
    (model, out)
}

/// The cost graph's and the derivative graph's sizes (outside the timed runs).
fn graph_sizes(source: &str) -> (usize, usize) {
    let (model, out) = derive_all(source);
    let defs: Vec<_> = model
        .order
        .iter()
        .filter_map(|&s| model.definition(s))
        .collect();
    let cost_graph = model.graph.reachable(&defs).len();
    let roots: Vec<_> = out.derivations.iter().map(|d| d.result).collect();
    (cost_graph, model.graph.reachable(&roots).len())
}

fn networks() -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    for depth in [8usize, 32, 128, 256] {
        out.push((format!("chain-depth-{depth}"), vec![1; depth + 1]));
    }
    for widths in [
        vec![4, 8, 8, 1],
        vec![16, 16, 16, 1],
        vec![32, 32, 1],
        vec![784, 30, 10],
    ] {
        let name = widths
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("-");
        out.push((name, widths));
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("derive --all --no-steps");
    group.sample_size(10);
    for (name, widths) in networks() {
        let source = layered_network(&widths);
        let (cost_graph, derivative_graph) = graph_sizes(&source);
        eprintln!(
            "{name}: cost graph {cost_graph} nodes, derivative graph {derivative_graph} nodes ({:.2}x)",
            derivative_graph as f64 / cost_graph as f64
        );
        group.bench_function(&name, |b| b.iter(|| derive_all(black_box(&source))));
        group.bench_function(format!("{name} (parse and lower only)"), |b| {
            b.iter(|| load::load(black_box(&source)).expect("parses"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("network shorthand");
    group.sample_size(10);
    let mnist = include_str!("../examples/mnist_784_30_10.bp");
    group.bench_function("expand 784-30-10", |b| {
        b.iter(|| load::expand(black_box(mnist)).expect("expands"))
    });
    group.bench_function(
        "load 784-30-10 (parse the shorthand, build and lower the expansion)",
        |b| b.iter(|| load::load(black_box(mnist)).expect("loads")),
    );
    group.bench_function("derive --all --no-steps 784-30-10 (shorthand)", |b| {
        b.iter(|| derive_all(black_box(mnist)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

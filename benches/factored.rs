//! The inputs of issue 9 whose output once grew with the number of paths: derivation
//! documents (steps included, rendered as text) on Nielsen's 784-30-10 network, 32 layers of
//! width 2, the 25-level named diamond and the 3,000-line chain; and `eval --all` against
//! `step` on 784-30-10 (both evaluate every gradient once from the named error terms).
//!
//! Goals (issue 9): 784-30-10 with steps ≤ 3 s, 32×2 ≤ 0.1 s, diamond and chain ≤ 0.5 s,
//! `eval --all` within 2× of `step`. Each run prints the document's size once.

use std::hint::black_box;

use chainrule::analysis::numeric::{self, Request};
use chainrule::core::diff::{self, Config, Style};
use chainrule::core::model::Given;
use chainrule::lang::load::{self as explain, TargetSpec};
use chainrule::render::document::{self, Format, Layout};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/shapes.rs"]
#[allow(dead_code)]
mod shapes;
use shapes::{deep_narrow, long_chain, named_diamond};

/// `derive` with steps as the CLI runs it: load, differentiate, render text.
fn derive_text(source: &str, spec: &TargetSpec) -> String {
    let mut model = explain::load(source).expect("the program loads");
    let targets = explain::targets(&model, spec).expect("the targets exist");
    let config = Config {
        style: Style::Chain,
        expand: false,
        steps: true,
        expand_if_small: false,
    };
    let derivations = diff::derive(&mut model, &targets, &config);
    document::render_derivations(
        &model,
        &derivations,
        Style::Chain,
        Format::Text,
        &Layout::default(),
    )
    .expect("the built-in templates render")
}

fn mnist_point(model: &chainrule::core::model::Model) -> Vec<Given> {
    model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .enumerate()
        .map(|(i, sym)| {
            let value = ((i % 17) as f64 - 8.0) / 40.0;
            Given {
                sym,
                text: value.to_string(),
                value,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mnist = include_str!("../examples/mnist_784_30_10.bp");
    let wrt_w = TargetSpec::List(vec!["w".to_string()]);
    let inputs = [
        ("784-30-10 --all", mnist.to_string(), TargetSpec::AllParams),
        ("2x32 --all", deep_narrow(32), TargetSpec::AllParams),
        ("diamond 25 --wrt w", named_diamond(25), wrt_w.clone()),
        ("chain 3000 --wrt w", long_chain(3000), wrt_w),
    ];
    let mut group = c.benchmark_group("derive with steps (text)");
    group.sample_size(10);
    for (name, source, spec) in &inputs {
        eprintln!(
            "{name}: {} bytes (784-30-10's goal: at most 50 MB)",
            derive_text(source, spec).len()
        );
        group.bench_function(*name, |b| b.iter(|| derive_text(black_box(source), spec)));
    }
    group.finish();

    let mut group = c.benchmark_group("gradients of 784-30-10");
    group.sample_size(10);
    let model = explain::load(mnist).expect("loads");
    let point = mnist_point(&model);
    let targets = explain::targets(&model, &TargetSpec::AllParams).expect("parameters");
    group.bench_function("eval --all", |b| {
        b.iter(|| {
            let mut model = model.clone();
            let request = Request {
                targets: targets.clone(),
                ..Request::default()
            };
            numeric::evaluate(&mut model, black_box(&point), &request).expect("evaluates")
        })
    });
    group.bench_function("step (one step)", |b| {
        b.iter(|| {
            let mut model = model.clone();
            chainrule::analysis::descent::descend(&mut model, black_box(&point), 0.1, 1)
                .expect("descends")
        })
    });
    group.finish();

    // The goal is a ratio: both are timed here in turn, best of three, so a busy machine
    // slows both alike.
    let best_of_three = |run: &dyn Fn()| {
        (0..3)
            .map(|_| {
                let started = std::time::Instant::now();
                run();
                started.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let eval_seconds = best_of_three(&|| {
        let mut model = model.clone();
        let request = Request {
            targets: targets.clone(),
            ..Request::default()
        };
        black_box(numeric::evaluate(&mut model, &point, &request).expect("evaluates"));
    });
    let step_seconds = best_of_three(&|| {
        let mut model = model.clone();
        black_box(
            chainrule::analysis::descent::descend(&mut model, &point, 0.1, 1).expect("descends"),
        );
    });
    eprintln!(
        "784-30-10: eval --all {eval_seconds:.3} s, step {step_seconds:.3} s: {:.2}× (goal: at most 2×)",
        eval_seconds / step_seconds
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

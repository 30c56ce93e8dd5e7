//! The library's calls as the Python package makes them, through the facade alone, so that
//! `python/bench.py` (the same calls from Python) can be held against them: load, derive every
//! parameter's gradient (no steps), evaluate every gradient at a point, and check one claim,
//! on the seed network and on Nielsen's 784-30-10. Issue 19's goal: Python within 10% of these.
//! The calls are the package's own: its `derive` also gives each small result in inputs and
//! parameters (its `to_dict()` is the JSON document), and its values are numbers by name.

use std::hint::black_box;

use chainrule::{DeriveConfig, EvalRequest, TargetSpec, Value};
use criterion::{Criterion, criterion_group, criterion_main};

/// Every leaf given a value, the same point `python/bench.py` builds: (i mod 17 − 8)/40.
fn point(model: &chainrule::Model) -> Vec<(String, Value)> {
    model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .enumerate()
        .map(|(i, s)| {
            let value = ((i % 17) as f64 - 8.0) / 40.0;
            (model.name(s).to_string(), Value::Number(value))
        })
        .collect()
}

fn calls(c: &mut Criterion, label: &str, source: &str, claim: &str) {
    let model = chainrule::load(source).unwrap();
    let at = point(&model);
    let config = DeriveConfig {
        steps: false,
        expand_if_small: true,
        ..DeriveConfig::default()
    };
    let mut group = c.benchmark_group(label);
    group.sample_size(10);
    group.bench_function("load", |b| {
        b.iter(|| chainrule::load(black_box(source)).unwrap())
    });
    group.bench_function("derive --all --no-steps", |b| {
        b.iter(|| {
            let mut model = model.clone();
            chainrule::derive(&mut model, &TargetSpec::AllParams, &config).unwrap()
        })
    });
    group.bench_function("eval --all", |b| {
        b.iter(|| {
            let mut model = model.clone();
            let given = chainrule::values_of(&model, &at).unwrap();
            let request = EvalRequest {
                targets: chainrule::targets(&model, &TargetSpec::AllParams).unwrap(),
                ..Default::default()
            };
            chainrule::evaluate(&mut model, &given, &request).unwrap()
        })
    });
    group.bench_function("check", |b| {
        b.iter(|| {
            let claims_model = chainrule::with_learning_rate(&model);
            let given = chainrule::values_of(&claims_model, &at).unwrap();
            chainrule::check(&claims_model, &[claim.to_string()], &given).unwrap()
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    calls(
        c,
        "seed",
        chainrule::BUILTIN_EXAMPLE,
        "dC/dw3 = -2(y - a3)*(a3 - (1 - a3))*a2",
    );
    calls(
        c,
        "784-30-10",
        include_str!("../examples/mnist_784_30_10.bp"),
        "dC/dw3_1_1 = (a3_1 - y1)*a3_1*(1 - a3_1)*a2_1",
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

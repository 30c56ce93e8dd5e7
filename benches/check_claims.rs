//! How long `check` takes on a worksheet of 1,000 claims on the seed network: a realistic
//! mix of right answers in several forms and wrong ones that need a diagnosis (the goal is
//! under half a second for the whole worksheet); one long wrong claim of 400 terms, a
//! worksheet of 10,000 claims (each a few seconds at most), and a wrong claim on a softmax
//! network whose truth is exactly 0 at the simple points a counterexample is sought at, on
//! the model as loaded and on one carrying its derivation's named terms.

use std::hint::black_box;

use chainrule::analysis::check;
use chainrule::lang::load;
use chainrule::{DeriveConfig, TargetSpec};
use criterion::{Criterion, criterion_group, criterion_main};

/// Right and wrong answers a class hands in, in rotation.
const CLAIMS: [&str; 10] = [
    "dC/dw3 = -2(y - a3) a3(1 - a3) a2",
    "dC/dw3 = 2(a3 - y) sigmoid'(z3) a2",
    "dC/db3 = 2(a3 - y) a3(1 - a3)",
    "dC/dw2 = 2(a3 - y) a3(1 - a3) w3 a2(1 - a2) x",
    "w3' = w3 - eta*dC/dw3",
    "dC/dw3 = 2(y - a3) a3(1 - a3) a2",
    "dC/dw3 = 2(a3 - y) sigmoid'(a3) a2",
    "dC/dw2 = 2(a3 - y)(sigmoid(z3) - (1 - sigmoid(z3))) w3 a2(1 - a2) x",
    "dC/dw2 = 2(a3 - y) a3(1 - a3) a2(1 - a2) x",
    "w3' = w3 + eta*dC/dw3",
];

fn worksheet(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| CLAIMS[i % CLAIMS.len()].to_string())
        .collect()
}

fn bench(c: &mut Criterion) {
    let model = check::with_learning_rate(&load::load(load::BUILTIN_EXAMPLE).unwrap());
    let claims = worksheet(1000);
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("1000 claims on the seed network", |b| {
        b.iter(|| black_box(check::check(&model, &claims, &[]).unwrap()))
    });
    // A long wrong claim: diagnosis works within a budget that grows linearly with the
    // claim (it grew with the cube of the length: 400 terms took 33 s).
    let long = vec![long_claim(400)];
    group.bench_function("one wrong claim of 400 terms", |b| {
        b.iter(|| black_box(check::check(&model, &long, &[]).unwrap()))
    });
    // A long worksheet of wrong claims stays linear in the number of claims.
    let many = worksheet(10_000);
    group.sample_size(10);
    group.bench_function("10000 claims on the seed network", |b| {
        b.iter(|| black_box(check::check(&model, &many, &[]).unwrap()))
    });
    // A wrong claim whose truth is exactly 0 at the symmetric points a counterexample is
    // first sought at (equal weights, softmax outputs all 1/3 with one-hot targets): an
    // exact zero is never settled by raising the reference's precision, so those points are
    // passed over on the working precision's error bound (each was raised to the ceiling:
    // 9 s in a debug build, 0.3 s after).
    let classifier =
        load::load("network 5-5-3\nactivation tanh\nactivation 3 softmax\ncost log-likelihood\n")
            .unwrap();
    let softmax = check::with_learning_rate(&classifier);
    let zero = vec!["dC/dw2_1_1 = 0".to_string()];
    group.bench_function("a wrong claim whose truth is 0 at simple points", |b| {
        b.iter(|| black_box(check::check(&softmax, &zero, &[]).unwrap()))
    });
    // The same claim on the model a derivation has added its named error terms to, as a
    // library caller holds it after `derive`: at those points every δ2_j is exactly 0 by
    // cancellation, and the points' forward pass raised the precision for each through the
    // whole network to the ceiling (with the update claim beside it, 42 s in a debug build;
    // 2.4 s once a simple point's forward pass stays at the working precision).
    let mut derived = classifier.clone();
    let config = DeriveConfig {
        steps: true,
        ..DeriveConfig::default()
    };
    chainrule::derive(&mut derived, &TargetSpec::AllParams, &config).unwrap();
    let derived = check::with_learning_rate(&derived);
    group.bench_function("the same claim on a model carrying its derivation", |b| {
        b.iter(|| black_box(check::check(&derived, &zero, &[]).unwrap()))
    });
    group.finish();
}

/// `dC/dw3 = 1 a2 a3 + 2 a2 a3 + ...`: wrong, and long.
fn long_claim(terms: usize) -> String {
    let sum: Vec<String> = (1..=terms).map(|k| format!("{k}*a2*(1 - a3)")).collect();
    format!("dC/dw3 = {}", sum.join(" + "))
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The inputs of issue 23 whose work grew faster than the program (sizes are asserted in
//! `tests/growth.rs`):
//!
//! - item 7: a recurrence with a quotient inside tanh, derived with steps (5 steps took 51 s,
//!   6 more than 120 s; the goal is linear in the steps, 6 and 24 steps timed);
//! - item 8: Nielsen's 784-30-10 with and without `regularization l2`, derived without steps,
//!   evaluated with every gradient (at a point of small values, and at an MNIST-like digit whose
//!   inputs are mostly 0), and one step of descent (87 s against 0.5 s; the goal is
//!   at most 1.5× the network without the penalty, printed as a ratio);
//! - item 9: `check` of a wrong claim on 24 layers of width 2 and 32 of width 3 (exhausted
//!   2 GiB after 10 s and 30 s);
//! - a wider hidden layer, 100-30-10 and 100-120-10 derived with steps (each target's chain
//!   asked a question of every name of a neuron's sum: quadratic in the width).

use std::hint::black_box;

use chainrule::{
    DeriveConfig, Document, DocumentFormat, EvalRequest, Given, Layout, Model, Style, SymKind,
    TargetSpec,
};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/shapes.rs"]
#[allow(dead_code)]
mod shapes;
use shapes::{deep_narrow, unrolled_recurrence};

/// `derive --all` as the CLI runs it: load, differentiate, render text.
fn derive_text(source: &str, steps: bool) -> String {
    let mut model = chainrule::load(source).expect("the program loads");
    let config = DeriveConfig {
        style: Style::Chain,
        steps,
        ..DeriveConfig::default()
    };
    let derivations =
        chainrule::derive(&mut model, &TargetSpec::AllParams, &config).expect("the targets exist");
    let document = Document::Derivations {
        model: &model,
        derivations: &derivations,
        style: Style::Chain,
    };
    chainrule::render(&document, DocumentFormat::Text, &Layout::default())
        .expect("the built-in templates render")
}

/// Every leaf of the model a small value.
fn leaf_point(model: &Model) -> Vec<Given> {
    point_with_inputs(model, |_| false)
}

/// Every leaf a small value, except the inputs `blank` picks, which are 0 (as most of an
/// MNIST digit's pixels are: their weights' data gradients are then exactly 0, the penalty's
/// are not).
fn point_with_inputs(model: &Model, blank: impl Fn(usize) -> bool) -> Vec<Given> {
    let mut input = 0;
    model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .enumerate()
        .map(|(i, sym)| {
            let is_input = model.symbol(sym).kind == SymKind::Input;
            input += usize::from(is_input);
            let value = if is_input && blank(input) {
                0.0
            } else {
                ((i % 17) as f64 - 8.0) / 40.0 + 0.5
            };
            Given {
                sym,
                text: value.to_string(),
                value,
            }
        })
        .collect()
}

/// `eval --init xavier --all`-like: every leaf a small value, every gradient evaluated.
fn eval_all(source: &str) {
    eval_all_at(source, &leaf_point)
}

/// `eval --example N --all` on an MNIST-like digit: four inputs in five are 0.
fn eval_all_sparse(source: &str) {
    eval_all_at(source, &|model| point_with_inputs(model, |k| k % 5 != 0))
}

fn eval_all_at(source: &str, point_of: &dyn Fn(&Model) -> Vec<Given>) {
    let mut model = chainrule::load(source).expect("the program loads");
    let targets = chainrule::targets(&model, &TargetSpec::AllParams).expect("parameters");
    let point = point_of(&model);
    let request = EvalRequest {
        targets,
        ..EvalRequest::default()
    };
    black_box(chainrule::evaluate(&mut model, &point, &request).expect("evaluates"));
}

/// `step`-like: one step of gradient descent from the same point.
fn step_once(source: &str) {
    let mut model = chainrule::load(source).expect("the program loads");
    let point = leaf_point(&model);
    black_box(chainrule::descend(&mut model, &point, 0.5, 1).expect("descends"));
}

fn mnist(l2: bool) -> String {
    let penalty = if l2 { "regularization l2\n" } else { "" };
    format!("network 784-30-10\nactivation sigmoid\ncost quadratic\n{penalty}")
}

/// The time of `penalised` over that of `plain`: each run in turn, eleven rounds, the median of
/// each (a busy moment slows one round of both, and the median sets it aside).
fn paired_ratio(penalised: &dyn Fn(), plain: &dyn Fn()) -> f64 {
    let time = |run: &dyn Fn()| {
        let started = std::time::Instant::now();
        run();
        started.elapsed().as_secs_f64()
    };
    let (mut a, mut b): (Vec<f64>, Vec<f64>) =
        (0..11).map(|_| (time(penalised), time(plain))).unzip();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    median(&mut a) / median(&mut b)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("issue 23 item 7: w*x_i/u*h_(i-1) inside tanh");
    group.sample_size(10);
    for steps in [6, 24] {
        let source = unrolled_recurrence("w*x{i}/u*h{p}", steps);
        group.bench_function(format!("derive --all, {steps} steps"), |b| {
            b.iter(|| derive_text(black_box(&source), true))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("issue 23 item 8: 784-30-10, regularization l2");
    group.sample_size(10);
    for l2 in [false, true] {
        let source = mnist(l2);
        let label = if l2 { "with l2" } else { "without" };
        group.bench_function(format!("derive --all --no-steps, {label}"), |b| {
            b.iter(|| derive_text(black_box(&source), false))
        });
        group.bench_function(format!("eval --all, {label}"), |b| {
            b.iter(|| eval_all(black_box(&source)))
        });
        group.bench_function(format!("eval --all at an MNIST-like digit, {label}"), |b| {
            b.iter(|| eval_all_sparse(black_box(&source)))
        });
        group.bench_function(format!("step, {label}"), |b| {
            b.iter(|| step_once(black_box(&source)))
        });
    }
    group.finish();
    // The goal is a ratio: both timed here in turn, so a busy machine slows both alike.
    let (plain, penalised) = (mnist(false), mnist(true));
    let derive_ratio = paired_ratio(&|| drop(derive_text(&penalised, false)), &|| {
        drop(derive_text(&plain, false))
    });
    let eval_ratio = paired_ratio(&|| eval_all(&penalised), &|| eval_all(&plain));
    let sparse_ratio = paired_ratio(&|| eval_all_sparse(&penalised), &|| eval_all_sparse(&plain));
    let step_ratio = paired_ratio(&|| step_once(&penalised), &|| step_once(&plain));
    eprintln!(
        "784-30-10 with l2 against without: derive {derive_ratio:.2}×, eval {eval_ratio:.2}× \
         (at an MNIST-like digit {sparse_ratio:.2}×), step {step_ratio:.2}× (goal: at most 1.5×)"
    );

    // Linear in the parameters: 30 and 120 hidden neurons are 3,340 and 13,330 parameters
    // (4.0 times as many); the time should be about 4 times, not 16.
    let mut group = c.benchmark_group("a wider hidden layer: 100-w-10 derive --all with steps");
    group.sample_size(10);
    for width in [30, 120] {
        let source = format!("network 100-{width}-10\nactivation sigmoid\ncost quadratic\n");
        group.bench_function(format!("{width} hidden"), |b| {
            b.iter(|| derive_text(black_box(&source), true))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("issue 23 item 9: a wrong claim on a deep network");
    group.sample_size(10);
    let claims = vec!["dC/dw2_1_1 = 0".to_string()];
    let deep = [
        ("24 layers of width 2", deep_narrow(24)),
        (
            "32 layers of width 3",
            format!(
                "network {}\nactivation sigmoid\ncost quadratic\n",
                vec!["3"; 32].join("-")
            ),
        ),
    ];
    for (name, source) in &deep {
        let model = chainrule::with_learning_rate(&chainrule::load(source).expect("loads"));
        group.bench_function(*name, |b| {
            b.iter(|| black_box(chainrule::check(&model, &claims, &[]).expect("checks")))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

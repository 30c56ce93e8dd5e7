//! How long `eval --init xavier --seed 1 --all --no-values` takes on Nielsen's 784-30-10 MNIST
//! network: the parameters filled from the seed, the forward pass in float64 and as the
//! reference, every derivative of the cost in both, and the warnings (the report itself is
//! not rendered). Inputs and targets are 0, as `--init` leaves them.
//!
//! Beside it, `step --init xavier --seed 1 --lr 0.1` at the same point (one descent step,
//! every gradient in float64): issue 9's goal is eval within 2× of step.
//!
//! Then the report of `eval --all` rendered, as text, Markdown and JSON (23,860 derivatives, and
//! in JSON every value), at a point with inputs in [0, 1) and y1 = 1 so the numbers have their
//! usual lengths: the whole command's time is the evaluation and this.
//!
//! Then issue 23's symmetric point: a 5-5-2 tanh/softmax classifier with every leaf 0.5, where
//! every gradient is exactly 0 and the reference only bounds it (it once raised the precision
//! to its ceiling for each, 4.5 s in a debug build).

use std::hint::black_box;

use chainrule::analysis::init::{self, Init};
use chainrule::analysis::numeric::{self, Request};
use chainrule::core::model::{Given, SymKind};
use chainrule::lang::load::{self, TargetSpec};
use chainrule::render::document::{Format, Layout};
use chainrule::render::eval::render_eval;
use criterion::{Criterion, criterion_group, criterion_main};

const MNIST: &str = include_str!("../examples/mnist_784_30_10.bp");

fn eval_mnist(c: &mut Criterion) {
    let model = load::load(MNIST).expect("the example loads");
    let mut group = c.benchmark_group("eval");
    group.sample_size(10);
    group.bench_function("784-30-10 --init xavier --seed 1 --all --no-values", |b| {
        b.iter(|| {
            let mut model = model.clone();
            let given = init::zero_data(&model, &init::fill(&model, &[], Init::Xavier, 1)).0;
            let targets = load::targets(&model, &TargetSpec::AllParams).expect("targets");
            let request = Request {
                targets,
                no_values: true,
                ..Default::default()
            };
            let report = numeric::evaluate(&mut model, &given, &request).expect("evaluates");
            black_box(report.derivatives.len())
        })
    });
    group.bench_function("784-30-10 step --init xavier --seed 1 --lr 0.1", |b| {
        b.iter(|| {
            let mut model = model.clone();
            let given = init::zero_data(&model, &init::fill(&model, &[], Init::Xavier, 1)).0;
            let descent = chainrule::analysis::descent::descend(&mut model, &given, 0.1, 1)
                .expect("descends");
            black_box(descent.steps.len())
        })
    });
    group.finish();
}

fn render_mnist_report(c: &mut Criterion) {
    let mut model = load::load(MNIST).expect("the example loads");
    let mut rng = fastrand::Rng::with_seed(1);
    let point: Vec<Given> = model
        .syms()
        .filter_map(|sym| {
            let value = match (model.symbol(sym).kind, model.name(sym)) {
                (SymKind::Input, _) => rng.f64(),
                (SymKind::Target, "y1") => 1.0,
                _ => return None,
            };
            Some(Given {
                sym,
                text: value.to_string(),
                value,
            })
        })
        .collect();
    let given = init::zero_data(&model, &init::fill(&model, &point, Init::Xavier, 1)).0;
    let request = Request {
        targets: load::targets(&model, &TargetSpec::AllParams).expect("targets"),
        ..Default::default()
    };
    let report = numeric::evaluate(&mut model, &given, &request).expect("evaluates");
    let layout = Layout {
        source_name: "mnist_784_30_10.bp".to_string(),
        ..Layout::default()
    };
    let mut group = c.benchmark_group("eval render");
    group.sample_size(10);
    for (format, name) in [
        (Format::Text, "text"),
        (Format::Markdown, "markdown"),
        (Format::Json, "json"),
    ] {
        group.bench_function(format!("784-30-10 --all, {name}"), |b| {
            b.iter(|| {
                let document = render_eval(&model, &report, format, &layout).expect("renders");
                black_box(document.len())
            })
        });
    }
    group.finish();
}

/// Issue 18's goal: the same network written in vector form over a batch of 32 examples
/// (`expand --vector --batch 32`), inputs in [0, 1) and the first class the target of every
/// example; eval of every gradient entry (float64 and the reference) within 2× of `step`.
fn eval_vector_batch(c: &mut Criterion) {
    let source = load::expand_vector(MNIST, Some(32)).expect("the vector form");
    let model = load::load(&source).expect("the vector form loads");
    let mut rng = fastrand::Rng::with_seed(1);
    let point: Vec<Given> = model
        .syms()
        .filter_map(|sym| {
            let value = match (model.symbol(sym).kind, model.name(sym).starts_with("y[1,")) {
                (SymKind::Input, _) => rng.f64(),
                (SymKind::Target, first) => f64::from(u8::from(first)),
                _ => return None,
            };
            Some(Given {
                sym,
                text: value.to_string(),
                value,
            })
        })
        .collect();
    let given = init::fill(&model, &point, Init::Xavier, 1);
    let mut group = c.benchmark_group("eval vector batch");
    group.sample_size(10);
    group.bench_function("784-30-10 × 32 --all --no-values", |b| {
        b.iter(|| {
            let mut model = model.clone();
            let targets = load::targets(&model, &TargetSpec::AllParams).expect("targets");
            let request = Request {
                targets,
                no_values: true,
                ..Default::default()
            };
            let report = numeric::evaluate(&mut model, &given, &request).expect("evaluates");
            black_box(report.derivatives.len())
        })
    });
    group.bench_function("784-30-10 × 32 step --lr 0.1", |b| {
        b.iter(|| {
            let mut model = model.clone();
            let descent = chainrule::analysis::descent::descend(&mut model, &given, 0.1, 1)
                .expect("descends");
            black_box(descent.steps.len())
        })
    });
    group.finish();
}

fn eval_symmetric_zeros(c: &mut Criterion) {
    let model =
        load::load("network 5-5-2\nactivation tanh\nactivation 3 softmax\ncost log-likelihood\n")
            .expect("the program loads");
    let given: Vec<Given> = model
        .syms()
        .filter(|&sym| model.symbol(sym).kind.is_leaf())
        .map(|sym| Given {
            sym,
            text: "0.5".to_string(),
            value: 0.5,
        })
        .collect();
    let mut group = c.benchmark_group("eval symmetric zeros");
    group.sample_size(10);
    group.bench_function("5-5-2 tanh softmax, every leaf 0.5, --all", |b| {
        b.iter(|| {
            let mut model = model.clone();
            let request = Request {
                targets: load::targets(&model, &TargetSpec::AllParams).expect("targets"),
                ..Default::default()
            };
            let report = numeric::evaluate(&mut model, &given, &request).expect("evaluates");
            black_box(report.derivatives.len())
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    eval_mnist,
    render_mnist_report,
    eval_vector_batch,
    eval_symmetric_zeros
);
criterion_main!(benches);

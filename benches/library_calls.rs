//! The library's calls as the Python package makes them, through the facade alone, so that
//! `python/bench.py` (the same calls from Python) can be held against them: load, derive every
//! parameter's gradient (no steps), evaluate every gradient at a point, and check one claim,
//! on the seed network and on Nielsen's 784-30-10. Issue 19's goal: Python within 10% of these.
//! The calls are the package's own: its `derive` also gives each small result in inputs and
//! parameters (its `to_dict()` is the JSON document), and its values are numbers by name.
//!
//! Each side does the same work in the same state of the heap. The package turns its `at` dict
//! into named values on every call, so the point is built inside each timed call here too; and
//! nothing long-lived is allocated between loading the network and the calls, as the dict
//! lives in Python's own memory: tens of thousands of names kept here would fill the holes the
//! network's loading leaves in the C allocator's heap, and every later call would allocate
//! faster than it can in Python (784-30-10 `load` 15–20% faster, measured).
//!
//! The clock is the process's CPU time (every thread's), as `python/bench.py` reports it too:
//! a busy machine stretches wall time by whatever else runs, CPU time much less.

use std::hint::black_box;
use std::time::Duration;

use chainrule::{DeriveConfig, EvalRequest, TargetSpec, Value};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, criterion_group, criterion_main};

/// The CPU time this process has used, every thread included.
fn process_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to write.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "the process's CPU clock cannot be read");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Criterion's clock here: CPU time, written as durations as wall time is.
struct CpuTime;

static DURATIONS: WallTime = WallTime;

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        process_cpu_time()
    }

    fn end(&self, start: Duration) -> Duration {
        process_cpu_time() - start
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        DURATIONS.formatter()
    }
}

/// The names that take values, in program order, borrowed from the model.
fn leaves(model: &chainrule::Model) -> Vec<&str> {
    model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .map(|s| model.name(s))
        .collect()
}

/// Every leaf given a value, the same point `python/bench.py` builds: (i mod 17 − 8)/40; owned
/// names, as the package reads them out of the dict on each call.
fn point(leaves: &[&str]) -> Vec<(String, Value)> {
    leaves
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let value = ((i % 17) as f64 - 8.0) / 40.0;
            (name.to_string(), Value::Number(value))
        })
        .collect()
}

fn calls(c: &mut Criterion<CpuTime>, label: &str, source: &str, claim: &str) {
    let model = chainrule::load(source).unwrap();
    let names = leaves(&model);
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
        // In the package's order: the values, the targets, then the model's copy.
        b.iter(|| {
            let given = chainrule::values_of(&model, &point(&names)).unwrap();
            let request = EvalRequest {
                targets: chainrule::targets(&model, &TargetSpec::AllParams).unwrap(),
                ..Default::default()
            };
            let mut model = model.clone();
            chainrule::evaluate(&mut model, &given, &request).unwrap()
        })
    });
    group.bench_function("check", |b| {
        b.iter(|| {
            let claims_model = chainrule::with_learning_rate(&model);
            let given = chainrule::values_of(&claims_model, &point(&names)).unwrap();
            chainrule::check(&claims_model, &[claim.to_string()], &given).unwrap()
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion<CpuTime>) {
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

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = bench
}
criterion_main!(benches);

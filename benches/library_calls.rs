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
//!
//! Run by `cargo bench --bench library_calls`, it is a criterion benchmark. Given `--quick`
//! (`cargo bench --bench library_calls -- --quick`), it times each call a fixed number of times
//! after one untimed call, as `python/bench.py` does, and prints the same tab-separated lines:
//! `python/compare_bench.py` runs the two in turn and compares them round by round. `--network
//! NAME`, `--call NAME` and `--runs N` narrow a quick run (both sides take them).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chainrule::{DeriveConfig, EvalRequest, TargetSpec, Value};
use criterion::Criterion;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

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

/// One network's calls as the package makes them.
struct Calls<'a> {
    source: &'a str,
    model: chainrule::Model,
    claim: &'a str,
    config: DeriveConfig,
}

impl Calls<'_> {
    fn load(&self) -> chainrule::Model {
        chainrule::load(black_box(self.source)).unwrap()
    }

    fn derive(&self) -> chainrule::Derivations {
        let mut model = self.model.clone();
        chainrule::derive(&mut model, &TargetSpec::AllParams, &self.config).unwrap()
    }

    /// In the package's order: the values, the targets, then the model's copy.
    fn eval(&self, names: &[&str]) -> chainrule::Report {
        let given = chainrule::values_of(&self.model, &point(names)).unwrap();
        let request = EvalRequest {
            targets: chainrule::targets(&self.model, &TargetSpec::AllParams).unwrap(),
            ..Default::default()
        };
        let mut model = self.model.clone();
        chainrule::evaluate(&mut model, &given, &request).unwrap()
    }

    fn check(&self, names: &[&str]) -> Vec<chainrule::Checked> {
        let claims_model = chainrule::with_learning_rate(&self.model);
        let given = chainrule::values_of(&claims_model, &point(names)).unwrap();
        chainrule::check(&claims_model, &[self.claim.to_string()], &given).unwrap()
    }
}

/// The networks, their claims and how many times a quick run times each call (`python/bench.py`
/// has the same table).
const NETWORKS: [(&str, &str, &str, usize); 2] = [
    (
        "seed",
        chainrule::BUILTIN_EXAMPLE,
        "dC/dw3 = -2(y - a3)*(a3 - (1 - a3))*a2",
        50,
    ),
    (
        "784-30-10",
        include_str!("../examples/mnist_784_30_10.bp"),
        "dC/dw3_1_1 = (a3_1 - y1)*a3_1*(1 - a3_1)*a2_1",
        10,
    ),
];

/// The calls' names in the lines a quick run prints, in the order they run.
const CALLS: [&str; 4] = ["load", "derive", "eval", "check"];

fn loaded<'a>(source: &'a str, claim: &'a str) -> Calls<'a> {
    Calls {
        source,
        model: chainrule::load(source).unwrap(),
        claim,
        config: DeriveConfig {
            steps: false,
            expand_if_small: true,
            ..DeriveConfig::default()
        },
    }
}

fn criterion_benches(c: &mut Criterion<CpuTime>) {
    for (label, source, claim, _) in NETWORKS {
        let calls = loaded(source, claim);
        let names = leaves(&calls.model);
        let mut group = c.benchmark_group(label);
        group.sample_size(10);
        group.bench_function("load", |b| b.iter(|| calls.load()));
        group.bench_function("derive --all --no-steps", |b| b.iter(|| calls.derive()));
        group.bench_function("eval --all", |b| b.iter(|| calls.eval(&names)));
        group.bench_function("check", |b| b.iter(|| calls.check(&names)));
        group.finish();
    }
}

/// A quick run's choices: `--network NAME`, `--call NAME`, `--runs N` (each call's timed count,
/// else the network's own).
#[derive(Default)]
struct Quick {
    network: Option<String>,
    call: Option<String>,
    runs: Option<usize>,
}

impl Quick {
    fn from_args(args: &[String]) -> Quick {
        let mut quick = Quick::default();
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .cloned()
                    .unwrap_or_else(|| panic!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--network" => quick.network = Some(value()),
                "--call" => quick.call = Some(value()),
                "--runs" => {
                    let runs = value().parse().ok().filter(|&n: &usize| n > 0);
                    quick.runs = Some(runs.expect("--runs takes a positive count"));
                }
                // What cargo adds when it runs a benchmark.
                "--bench" => {}
                other => panic!("unknown option {other}: --network, --call or --runs"),
            }
        }
        quick
    }

    fn wants(choice: &Option<String>, name: &str) -> bool {
        choice.as_deref().is_none_or(|c| c == name)
    }
}

/// The median CPU time and the median wall time of `runs` calls after one untimed call, in
/// milliseconds, each result dropped inside its timing as Python drops it.
fn medians<T>(runs: usize, mut call: impl FnMut() -> T) -> (f64, f64) {
    drop(black_box(call()));
    let (mut cpu, mut wall) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let (start_cpu, start_wall) = (process_cpu_time(), Instant::now());
        drop(black_box(call()));
        cpu.push((process_cpu_time() - start_cpu).as_secs_f64() * 1000.0);
        wall.push(start_wall.elapsed().as_secs_f64() * 1000.0);
    }
    (median(&mut cpu), median(&mut wall))
}

/// The median as Python's `statistics.median` takes it (the mean of the middle two of an even
/// count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn quick_run(quick: &Quick) {
    println!("# network\tcall\truns\tcpu_ms\twall_ms\tside=rust");
    for (label, source, claim, runs) in NETWORKS {
        if !Quick::wants(&quick.network, label) {
            continue;
        }
        let runs = quick.runs.unwrap_or(runs);
        let calls = loaded(source, claim);
        let names = leaves(&calls.model);
        for call in CALLS.into_iter().filter(|c| Quick::wants(&quick.call, c)) {
            let (cpu, wall) = match call {
                "load" => medians(runs, || calls.load()),
                "derive" => medians(runs, || calls.derive()),
                "eval" => medians(runs, || calls.eval(&names)),
                _ => medians(runs, || calls.check(&names)),
            };
            println!("{label}\t{call}\t{runs}\t{cpu:.3}\t{wall:.3}");
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--quick") {
        let mut rest = args;
        rest.remove(at);
        return quick_run(&Quick::from_args(&rest));
    }
    let mut criterion = Criterion::default()
        .with_measurement(CpuTime)
        .configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
}

//! Issue 22: `chainrule derive examples/mnist_784_30_10.bp --all` (steps included, 13.5 MB of
//! text) as a user runs it, the release binary end to end. It once peaked at 480 MB and took
//! 3.1 s, holding every step's text and its template context at once; the document is now
//! rendered in pieces of a few derivations each.
//!
//! Goals: at most 100 MB peak memory and 1 s. The peak is measured once with
//! `/usr/bin/time -v` (printed; skipped with a note where it is missing), the time by criterion.
//! The JSON document (42 MB) is measured too: it is written as it is printed, never held whole
//! as a tree of strings.

use std::hint::black_box;
use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};

const BINARY: &str = env!("CARGO_BIN_EXE_chainrule");
const ARGS: [&str; 3] = ["derive", "examples/mnist_784_30_10.bp", "--all"];
/// The formats measured: the default (text) and JSON.
const FORMATS: [&str; 2] = ["text", "json"];

/// The bytes written to standard output by one run.
fn run(format: &str) -> usize {
    let out = Command::new(BINARY)
        .args(ARGS)
        .args(["--format", format])
        .stderr(Stdio::inherit())
        .output()
        .expect("chainrule runs");
    assert!(out.status.success(), "chainrule derive failed");
    out.stdout.len()
}

/// The peak resident memory of one run, in kB, as `/usr/bin/time -v` reports it.
fn peak_kilobytes(format: &str) -> Option<u64> {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(BINARY)
        .args(ARGS)
        .args(["--format", format])
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let report = String::from_utf8_lossy(&out.stderr);
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
}

fn bench(c: &mut Criterion) {
    for format in FORMATS {
        let bytes = run(format);
        match peak_kilobytes(format) {
            Some(kb) => eprintln!(
                "derive 784-30-10 --all --format {format}: {bytes} bytes, peak memory {} MB \
                 (goal: at most 100 MB)",
                kb / 1000
            ),
            None => {
                eprintln!("note: /usr/bin/time is missing here, so the peak memory is not measured")
            }
        }
    }
    let mut group = c.benchmark_group("derive document, release binary");
    group.sample_size(10);
    group.bench_function("784-30-10 --all (goal: at most 1 s)", |b| {
        b.iter(|| black_box(run("text")))
    });
    group.bench_function("784-30-10 --all --format json", |b| {
        b.iter(|| black_box(run("json")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

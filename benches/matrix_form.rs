//! Issue 18: Nielsen's 784-30-10 network written in vector form over a batch of 32 examples
//! (`expand --vector --batch 32`), and `derive --all` on it: the derivation in matrix form
//! with every step, as a document. Goal: at most 0.1 s. The library call (derive and render
//! the text document) and the release binary end to end are both timed; the tensor graph
//! does not grow with the widths or the batch, so neither does the work.

use std::hint::black_box;
use std::io::Write;
use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};

const BINARY: &str = env!("CARGO_BIN_EXE_chainrule");

fn vector_form() -> String {
    let shorthand = std::fs::read_to_string("examples/mnist_784_30_10.bp").expect("the example");
    chainrule::lang::load::expand_vector(&shorthand, Some(32)).expect("its vector form")
}

fn document(source: &str) -> String {
    let form = chainrule::matrix_form(source)
        .expect("a vector program")
        .expect("derived in matrix form");
    let layout = chainrule::render::document::Layout {
        source_name: "mnist_784_30_10_batch_32.bp".into(),
        ..Default::default()
    };
    chainrule::render::matrix_form::render(
        &form,
        chainrule::render::document::Format::Text,
        &layout,
    )
    .expect("rendered")
}

/// One run of the release binary, the program on standard input: the bytes it wrote.
fn run(source: &str) -> usize {
    let mut child = Command::new(BINARY)
        .args(["derive", "-", "--all"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("chainrule runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(source.as_bytes())
        .expect("written");
    let out = child.wait_with_output().expect("finished");
    assert!(out.status.success(), "chainrule derive failed");
    out.stdout.len()
}

fn bench(c: &mut Criterion) {
    let source = vector_form();
    let text = document(&source);
    assert!(text.contains("∂C/∂W2 = (1/m) δ2 xᵀ"), "{text}");
    println!(
        "matrix form of 784-30-10 over a batch of 32: {} bytes",
        text.len()
    );
    c.bench_function(
        "derive --all, matrix form with steps, 784-30-10 batch 32 (library)",
        |b| b.iter(|| black_box(document(black_box(&source)))),
    );
    c.bench_function(
        "derive --all, matrix form with steps, 784-30-10 batch 32 (binary)",
        |b| b.iter(|| black_box(run(black_box(&source)))),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);

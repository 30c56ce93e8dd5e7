//! The `chainrule` command: parses arguments, reads files, calls the library, writes the
//! result, reports failures, and chooses the exit code. All I/O of the program lives here.
//!
//! Every failure becomes one [`Failure`] and is reported in one place, rustc-style, with exit
//! code 2. Output is written only once the whole result exists and never over an input
//! (`output`), so a failure never destroys or half-writes a file.

// A failure happens at most once per run and is reported at once; its size does not matter.
#![allow(clippy::result_large_err)]

mod args;
mod commands;
mod diagnostics;
pub mod graph;
mod input;
pub mod limits;
mod output;
mod progress;
pub mod train;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use chainrule::core::error::Diagnostic;

use args::Cli;
use diagnostics::Failure;

/// What a command produced: the text, where it goes, and the exit code once it is written
/// (1 when `check` found a claim that is not correct).
pub struct Outcome {
    text: String,
    out: Option<PathBuf>,
    code: u8,
}

/// Runs the command line and returns the exit code: 0 success, 1 a claim not correct, 2 bad
/// input or usage (clap reports usage errors itself, with code 2).
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let color = diagnostics::use_color(cli.color);
    limits::advise(match &cli.command {
        args::Command::Derive(_) | args::Command::Eval(_) => limits::Advice::FewerNames,
        args::Command::Check(_) => limits::Advice::Check,
        args::Command::Step(_) => limits::Advice::Step,
        args::Command::Train(_) => limits::Advice::Train,
        args::Command::Graph(_) => limits::Advice::Graph,
        _ => limits::Advice::SmallerProgram,
    });
    // Deep but legal programs (long chains of names) recurse; give the work a roomy stack.
    let (done, finished) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(move || {
            let _ = done.send(commands::run(cli.command).and_then(write));
        })
        .expect("spawning the worker thread");
    let result = loop {
        match finished.recv_timeout(limits::WATCH_INTERVAL) {
            Ok(result) => break result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Some(overdue) = limits::overdue_template() {
                    // The worker is inside the template engine and cannot be stopped from
                    // outside; nothing has been written yet, so ending the process is clean.
                    break Err(Failure::plain(overdue));
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                break Err(Failure::plain(Diagnostic::new(
                    "internal error: chainrule crashed; please report this input",
                )));
            }
        }
    };
    drop(worker);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            let _ = std::io::stderr().write_all(failure.render(color).as_bytes());
            ExitCode::from(2)
        }
    }
}

/// Writes the result where it goes; only after that is the command's own exit code final.
fn write(outcome: Outcome) -> Result<u8, Failure> {
    match &outcome.out {
        Some(path) => output::write_file(path, outcome.text.as_bytes())?,
        None => output::write_stdout(outcome.text.as_bytes())?,
    }
    Ok(outcome.code)
}

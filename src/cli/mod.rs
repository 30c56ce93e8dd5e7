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
mod options;
mod output;
mod progress;
mod signals;
pub mod train;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use chainrule::Diagnostic;

use args::{Cli, Command};
use diagnostics::Failure;
use output::{Outcome, ReadOnly};

/// Runs the command line and returns the exit code: 0 success, 1 a claim not correct, 2 bad
/// input or usage (clap reports usage errors itself, with code 2).
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    let color = diagnostics::use_color(cli.color);
    signals::remove_temporary_on_signals();
    limits::advise(match &cli.command {
        args::Command::Derive(_) | args::Command::Eval(_) => limits::Advice::FewerNames,
        args::Command::Check(_) => limits::Advice::Check,
        args::Command::Step(_) => limits::Advice::Step,
        args::Command::Train(_) => limits::Advice::Train,
        args::Command::Graph(_) => limits::Advice::Graph,
        _ => limits::Advice::SmallerProgram,
    });
    let (done, finished) = std::sync::mpsc::channel();
    let work = move |command: args::Command| {
        let _ = done.send(run_command(command).and_then(write));
    };
    // Deep but legal programs recurse: the work gets a roomy stack on a thread of its own.
    let Some(worker) = limits::spawn_worker(cli.command, work) else {
        // Not even a small thread could be had: the work ran here, without the watchdog.
        return report(finished.recv().unwrap_or_else(|_| Err(crashed())), color);
    };
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
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break Err(crashed()),
        }
    };
    drop(worker);
    report(result, color)
}

/// Runs one command.
fn run_command(command: Command) -> Result<Outcome, Failure> {
    match command {
        Command::Derive(args) => commands::derive(args),
        Command::Eval(args) => commands::eval(args),
        Command::Check(args) => commands::check(args),
        Command::Step(args) => commands::step(args),
        Command::Expand(args) => commands::expand(args),
        Command::Values(args) => commands::values(args),
        Command::Train(args) => train::train(args),
        Command::Graph(args) => graph::graph(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "chainrule",
                &mut script,
            );
            Ok(Outcome {
                text: String::from_utf8_lossy(&script).into_owned(),
                out: None,
                read_only: ReadOnly::Refuse,
                code: 0,
            })
        }
    }
}

fn crashed() -> Failure {
    Failure::plain(Diagnostic::new(
        "internal error: chainrule crashed; please report this input",
    ))
}

/// The exit code of a finished run, its failure reported on standard error.
fn report(result: Result<u8, Failure>, color: bool) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            let _ = std::io::stderr().write_all(failure.render(color).as_bytes());
            ExitCode::from(2)
        }
    }
}

/// What clap says when it does not run a command: help and the version on standard output
/// (exit 0, or 2 when they cannot be written, a closed pipe excepted), a usage error on
/// standard error (exit 2).
fn usage(error: &clap::Error) -> ExitCode {
    let printed = error.print().and_then(|()| std::io::stdout().flush());
    match printed {
        Err(e) if !error.use_stderr() && e.kind() != std::io::ErrorKind::BrokenPipe => {
            let failure = Failure::from(output::WriteError::Stdout(e));
            let _ = std::io::stderr().write_all(failure.render(false).as_bytes());
            ExitCode::from(2)
        }
        _ => ExitCode::from(error.exit_code() as u8),
    }
}

/// Writes the result where it goes; only after that is the command's own exit code final.
fn write(outcome: Outcome) -> Result<u8, Failure> {
    match &outcome.out {
        Some(path) => output::write_file(path, outcome.text.as_bytes(), outcome.read_only)?,
        None => output::write_stdout(outcome.text.as_bytes())?,
    }
    Ok(outcome.code)
}

//! The `chainrule` binary: everything it does is in [`cli`]; the library does the work.

mod cli;

#[global_allocator]
static ALLOCATOR: cli::limits::Bounded = cli::limits::Bounded;

fn main() -> std::process::ExitCode {
    cli::run()
}

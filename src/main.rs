//! The `chainrule` command: parses arguments, reads files, calls the library, prints, exits.
//!
//! All I/O lives here. Errors are reported in one place, rustc-style, with exit code 2; the
//! output file is written only once the whole result exists, so a failure never leaves a
//! half-written file behind.

// A failure happens at most once per run and is reported at once; its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use chainrule::diff::{Config, Style};
use chainrule::document::{self, Format, Layout};
use chainrule::error::Diagnostic;
use chainrule::explain::{self, TargetSpec};

#[derive(Parser)]
#[command(
    name = "chainrule",
    version,
    about = "Symbolic backpropagation, explained step by step"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Differentiate the cost (or any name) step by step with the chain rule.
    Derive(DeriveArgs),
}

#[derive(Args)]
struct DeriveArgs {
    /// The network (`.bp` file); `-` reads standard input; none uses the built-in example.
    file: Option<PathBuf>,
    /// Derivatives to take: names (`w3`: the cost with respect to it) or pairs (`dY/dX`).
    #[arg(long, value_delimiter = ',', required_unless_present = "all")]
    wrt: Vec<String>,
    /// The cost with respect to every parameter.
    #[arg(long, conflicts_with = "wrt")]
    all: bool,
    /// `chain`: the chain-rule product per target; `backprop`: shared error terms δ = ∂C/∂z.
    #[arg(long, value_enum, default_value_t = StyleArg::Chain)]
    style: StyleArg,
    /// Also give each result in inputs and parameters alone.
    #[arg(long)]
    expand: bool,
    /// Print the results alone (for large networks).
    #[arg(long)]
    no_steps: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct OutputArgs {
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// A directory whose templates (`derive.txt`, `derive.md`, `derive.tex`, `standalone.tex`)
    /// replace the built-in ones.
    #[arg(long)]
    template_dir: Option<PathBuf>,
    /// With `--format latex`: a complete document that compiles with pdflatex.
    #[arg(long)]
    standalone: bool,
    /// Write to this file (only on success) instead of standard output.
    #[arg(short = 'o', long = "output")]
    out: Option<PathBuf>,
}

#[derive(Copy, Clone, ValueEnum)]
enum StyleArg {
    Chain,
    Backprop,
}

#[derive(Copy, Clone, ValueEnum)]
enum FormatArg {
    Text,
    Markdown,
    Latex,
    Json,
}

/// A failure to report: a diagnostic about some text (a file, an argument), or a plain one.
struct Failure {
    diagnostic: Diagnostic,
    file_name: String,
    source: String,
}

impl Failure {
    fn plain(diagnostic: Diagnostic) -> Failure {
        Failure {
            diagnostic,
            file_name: String::new(),
            source: String::new(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Deep but legal programs (long chains of names) recurse; give the work a roomy stack.
    let worker = std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(move || run(cli))
        .expect("spawning the worker thread");
    let result = worker.join().unwrap_or_else(|_| {
        Err(Failure::plain(Diagnostic::new(
            "internal error: chainrule crashed; please report this input",
        )))
    });
    match result {
        Ok(code) => code,
        Err(failure) => {
            let color = std::io::stderr().is_terminal();
            let text = failure
                .diagnostic
                .render(&failure.file_name, &failure.source, color);
            let _ = std::io::stderr().write_all(text.as_bytes());
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Derive(args) => derive(args),
    }
}

/// The program text and the name to show for it.
fn read_source(file: Option<&Path>) -> Result<(String, String), Failure> {
    let (name, bytes) = match file {
        None => {
            return Ok((
                explain::BUILTIN_NAME.to_string(),
                explain::BUILTIN_EXAMPLE.to_string(),
            ));
        }
        Some(p) if p == Path::new("-") => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
                Failure::plain(Diagnostic::new(format!("cannot read standard input: {e}")))
            })?;
            ("<stdin>".to_string(), bytes)
        }
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| {
                Failure::plain(Diagnostic::new(format!(
                    "cannot read `{}`: {e}",
                    p.display()
                )))
            })?;
            (p.display().to_string(), bytes)
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok((name, text)),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&valid[line_start..])
                .chars()
                .count()
                + 1;
            Err(Failure::plain(
                Diagnostic::new(format!(
                    "{name}:{line}:{column}: the file is not UTF-8 text"
                ))
                .with_help("save the file as UTF-8; chainrule reads `σ`, `η` and `−` in UTF-8"),
            ))
        }
    }
}

fn layout(output: &OutputArgs, source_name: &str) -> Result<Layout, Failure> {
    let mut overrides = BTreeMap::new();
    if let Some(dir) = &output.template_dir {
        if !dir.is_dir() {
            return Err(Failure::plain(Diagnostic::new(format!(
                "the template directory `{}` does not exist",
                dir.display()
            ))));
        }
        for (name, _) in document::TEMPLATES {
            let path = dir.join(name);
            if path.exists() {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Failure::plain(Diagnostic::new(format!(
                        "cannot read template `{}`: {e}",
                        path.display()
                    )))
                })?;
                overrides.insert(name.to_string(), text);
            }
        }
    }
    Ok(Layout {
        overrides,
        standalone: output.standalone,
        source_name: source_name.to_string(),
    })
}

fn format_of(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Text => Format::Text,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Latex => Format::Latex,
        FormatArg::Json => Format::Json,
    }
}

fn emit(text: &str, out: Option<&Path>) -> Result<ExitCode, Failure> {
    match out {
        Some(path) => std::fs::write(path, text).map_err(|e| {
            Failure::plain(Diagnostic::new(format!(
                "cannot write `{}`: {e}",
                path.display()
            )))
        })?,
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn derive(args: DeriveArgs) -> Result<ExitCode, Failure> {
    let (name, source) = read_source(args.file.as_deref())?;
    let with_source = |diagnostic: Diagnostic| Failure {
        diagnostic,
        file_name: name.clone(),
        source: source.clone(),
    };
    let mut model = explain::load(&source).map_err(with_source)?;
    let spec = if args.all {
        TargetSpec::AllParams
    } else {
        TargetSpec::List(args.wrt.clone())
    };
    let targets = explain::targets(&model, &spec).map_err(|e| Failure {
        diagnostic: *e.diagnostic,
        file_name: "--wrt".to_string(),
        source: e.argument,
    })?;
    let style = match args.style {
        StyleArg::Chain => Style::Chain,
        StyleArg::Backprop => Style::Backprop,
    };
    let config = Config {
        style,
        expand: args.expand,
        steps: !args.no_steps,
    };
    let derivations = explain::derive(&mut model, &targets, &config);
    let layout = layout(&args.output, &name)?;
    let text = document::render_derivations(
        &model,
        &derivations,
        style,
        format_of(args.output.format),
        &layout,
    )
    .map_err(Failure::plain)?;
    emit(&text, args.output.out.as_deref())
}

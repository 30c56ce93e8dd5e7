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

use chainrule::core::diff::{Config, Style};
use chainrule::core::error::Diagnostic;
use chainrule::lang::load::{self, TargetSpec};
use chainrule::render::document::{self, Format, Layout};

/// The binary's commands that live in files of their own.
mod cli {
    pub mod graph;
    pub mod train;
}

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
    /// Evaluate the network and its derivatives at given values, in float64 and exactly,
    /// and say where float64 loses the answer.
    Eval(EvalArgs),
    /// Check claimed derivatives, values and update rules, and name the likeliest mistake.
    Check(CheckArgs),
    /// Gradient descent: θ ← θ − η ∂C/∂θ for every parameter at once, step by step.
    Step(StepArgs),
    /// Write a values file (every input, target and parameter, one `name = value` a line) to
    /// edit and give back with `--values`.
    Values(ValuesArgs),
    /// Print the straight-line form of a `network` shorthand (a file that parses back to the
    /// same network); a straight-line program is printed as it is.
    Expand(ExpandArgs),
    /// Train over a data set (a CSV file or a `data` block): many descent steps, a table of
    /// epochs, the loss curve, and why a run diverged or stalled.
    Train(cli::train::TrainArgs),
    /// Draw the computation graph as SVG; `--format html`: a page where choosing a parameter
    /// lights its paths to the cost and shows its derivation.
    Graph(cli::graph::GraphArgs),
    /// Print a shell completion script: `chainrule completions bash > /etc/bash_completion.d/chainrule`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
struct ValuesArgs {
    /// The network (`.bp` file); `-` reads standard input; none uses the built-in example.
    file: Option<PathBuf>,
    /// Values to keep (the rest of the parameters are filled by `--init`).
    #[command(flatten)]
    point: PointArgs,
    #[command(flatten)]
    init: InitArgs,
    /// Write to this file (only on success) instead of standard output.
    #[arg(short = 'o', long = "output")]
    out: Option<PathBuf>,
}

/// How to fill the parameters `--at`/`--values` leave out.
#[derive(Args)]
struct InitArgs {
    /// Fill the parameters not given: zeros, random (uniform in [−1, 1]) or xavier
    /// (uniform in ±√(6/(fan_in + fan_out)), biases 0).
    #[arg(long, value_enum)]
    init: Option<InitArg>,
    /// The seed for `--init random|xavier` (the same seed gives the same values).
    #[arg(long, default_value_t = 0, requires = "init")]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum InitArg {
    Zeros,
    Random,
    Xavier,
}

impl InitArgs {
    fn fill(
        &self,
        model: &chainrule::Model,
        given: Vec<chainrule::Given>,
    ) -> Vec<chainrule::Given> {
        let Some(init) = self.init else {
            return given;
        };
        let init = match init {
            InitArg::Zeros => chainrule::analysis::init::Init::Zeros,
            InitArg::Random => chainrule::analysis::init::Init::Random,
            InitArg::Xavier => chainrule::analysis::init::Init::Xavier,
        };
        chainrule::analysis::init::fill(model, &given, init, self.seed)
    }
}

#[derive(Args)]
struct ExpandArgs {
    /// The network (`.bp` file); `-` reads standard input; none uses the built-in example.
    file: Option<PathBuf>,
    /// Write to this file (only on success) instead of standard output.
    #[arg(short = 'o', long = "output")]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct CheckArgs {
    /// The network (`.bp` file); `-` reads standard input; none uses the built-in example.
    file: Option<PathBuf>,
    /// A claim: `dC/dw3 = EXPR`, `a3 = 0.73`, `f(2) = 0`, `w3' = w3 - eta*dC/dw3`, plain or
    /// LaTeX; repeatable.
    #[arg(long, required_unless_present = "claims")]
    claim: Vec<String>,
    /// A file with one claim a line (`#` comments, blank lines skipped).
    #[arg(long, value_name = "CLAIMFILE")]
    claims: Option<PathBuf>,
    /// The point for value claims and counterexamples (the learning rate `eta` too).
    #[command(flatten)]
    point: PointArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct StepArgs {
    /// The network (`.bp` file); `-` reads standard input; none uses the built-in example.
    file: Option<PathBuf>,
    /// Starting values for every input, target and parameter.
    #[command(flatten)]
    point: PointArgs,
    /// The learning rate η (a positive number).
    #[arg(
        long = "lr",
        value_name = "ETA",
        value_parser = positive_rate,
        allow_hyphen_values = true
    )]
    lr: f64,
    #[command(flatten)]
    init: InitArgs,
    /// How many steps to take.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    steps: u32,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Args)]
struct EvalArgs {
    /// The network (`.bp` file); `-` reads standard input; none uses the built-in example.
    file: Option<PathBuf>,
    #[command(flatten)]
    point: PointArgs,
    /// Derivatives to evaluate: names (the cost with respect to them) or pairs (`dY/dX`).
    #[arg(long, value_delimiter = ',')]
    wrt: Vec<String>,
    /// The cost with respect to every parameter.
    #[arg(long, conflicts_with = "wrt")]
    all: bool,
    /// Any formula in the input language (`dC/dw3` allowed); repeatable.
    #[arg(long)]
    expr: Vec<String>,
    /// Also evaluate through stable rewrites (σ'(z) = σ(z)·σ(−z)) and say which were used.
    #[arg(long)]
    stable: bool,
    /// Compare each derivative with a float64 central finite difference.
    #[arg(long)]
    check_grad: bool,
    #[command(flatten)]
    init: InitArgs,
    /// Leave out the table of forward values (the cost, derivatives and warnings stay).
    #[arg(long)]
    no_values: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// Where the values come from: `--at` and/or a values file.
#[derive(Args)]
struct PointArgs {
    /// Values for names: `--at x=0.5,w3=-1.2` (any name; an intermediate cuts the graph there).
    #[arg(long)]
    at: Vec<String>,
    /// A file with one `name = value` a line (`#` comments).
    #[arg(long)]
    values: Option<PathBuf>,
}

#[derive(Args)]
struct DeriveArgs {
    /// The network (`.bp` file); `-` reads standard input; none uses the built-in example.
    file: Option<PathBuf>,
    /// Derivatives to take: names (`w3`: the cost with respect to it) or pairs (`dY/dX`).
    #[arg(long, value_delimiter = ',', required_unless_present_any = ["all", "layers"])]
    wrt: Vec<String>,
    /// The cost with respect to every parameter.
    #[arg(long, conflicts_with = "wrt")]
    all: bool,
    /// For a `network` shorthand: the backprop equations BP1–BP4 for a general layer l and
    /// neurons j, k, derived in index form and then written in matrix form.
    #[arg(long, conflicts_with_all = ["wrt", "all", "style", "expand", "no_steps"])]
    layers: bool,
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
    /// A directory whose templates (`derive.txt`, `derive.md`, `derive.tex`, `standalone.tex`,
    /// and for `--layers` `layers.txt`, `layers.md`, `layers.tex`, `layers_convention.txt`)
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
    /// One self-contained page (math as MathML), made from the Markdown document.
    Html,
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
        Command::Eval(args) => eval(args),
        Command::Check(args) => check(args),
        Command::Step(args) => step(args),
        Command::Expand(args) => expand(args),
        Command::Values(args) => values(args),
        Command::Train(args) => cli::train::train(args),
        Command::Graph(args) => cli::graph::graph(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "chainrule",
                &mut script,
            );
            emit(&String::from_utf8_lossy(&script), None)
        }
    }
}

fn expand(args: ExpandArgs) -> Result<ExitCode, Failure> {
    let (name, source) = read_source(args.file.as_deref())?;
    let text = load::expand(&source).map_err(|diagnostic| Failure {
        diagnostic,
        file_name: name,
        source: source.clone(),
    })?;
    emit(&text, args.out.as_deref())
}

/// The program text and the name to show for it.
fn read_source(file: Option<&Path>) -> Result<(String, String), Failure> {
    let (name, bytes) = match file {
        None => {
            return Ok((
                load::BUILTIN_NAME.to_string(),
                load::BUILTIN_EXAMPLE.to_string(),
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
        for (name, _) in document::TEMPLATES.iter() {
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
        // The page is made from the Markdown document (see `emit_document`).
        FormatArg::Html => Format::Markdown,
    }
}

/// Writes a command's document: as it is, or as an HTML page made from its Markdown.
fn emit_document(text: &str, output: &OutputArgs, source_name: &str) -> Result<ExitCode, Failure> {
    if let FormatArg::Html = output.format {
        let layout = layout(output, source_name)?;
        let page =
            chainrule::render::html::page(&page_title(text, source_name), text, &[], "", &layout)
                .map_err(Failure::plain)?;
        return emit(&page, output.out.as_deref());
    }
    emit(text, output.out.as_deref())
}

/// The page's title: the document's first heading in plain words, or the file's name.
fn page_title(markdown: &str, source_name: &str) -> String {
    markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|h| {
            h.replace(['$', '\\'], "")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
        })
        .unwrap_or_else(|| format!("chainrule: {source_name}"))
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
    if args.layers {
        return derive_layers(args);
    }
    let (name, mut model, targets) = load_with_targets(args.file.as_deref(), args.all, &args.wrt)?;
    let style = match args.style {
        StyleArg::Chain => Style::Chain,
        StyleArg::Backprop => Style::Backprop,
    };
    let config = Config {
        style,
        expand: args.expand,
        steps: !args.no_steps,
    };
    let derivations = chainrule::core::diff::derive(&mut model, &targets, &config);
    let layout = layout(&args.output, &name)?;
    let text = document::render_derivations(
        &model,
        &derivations,
        style,
        format_of(args.output.format),
        &layout,
    )
    .map_err(Failure::plain)?;
    emit_document(&text, &args.output, &name)
}

/// `derive --layers`: the layered derivation of a `network` shorthand.
fn derive_layers(args: DeriveArgs) -> Result<ExitCode, Failure> {
    let (name, source) = read_source(args.file.as_deref())?;
    let layered = chainrule::layers(&source).map_err(|diagnostic| Failure {
        diagnostic,
        file_name: name.clone(),
        source: source.clone(),
    })?;
    let Some(layered) = layered else {
        return Err(Failure::plain(
            Diagnostic::new(format!(
                "`--layers` needs a network written with the `network` shorthand; {name} is a \
                 straight-line program"
            ))
            .with_help("describe the network as `network 2-3-1` with its option lines, or use `--wrt`/`--all`"),
        ));
    };
    let format = format_of(args.output.format);
    let layout = layout(&args.output, &name)?;
    let text =
        chainrule::render::layers::render(&layered, format, &layout).map_err(Failure::plain)?;
    emit_document(&text, &args.output, &name)
}

/// The values of `--at` (all of them) and `--values`, later ones overriding earlier.
fn given_values(
    model: &chainrule::core::model::Model,
    point: &PointArgs,
) -> Result<Vec<chainrule::core::model::Given>, Failure> {
    let mut sources: Vec<(String, String)> = Vec::new();
    if let Some(path) = &point.values {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::plain(Diagnostic::new(format!(
                "cannot read `{}`: {e}",
                path.display()
            )))
        })?;
        sources.push((path.display().to_string(), text));
    }
    for at in &point.at {
        sources.push(("--at".to_string(), at.clone()));
    }
    let mut given: Vec<chainrule::core::model::Given> = Vec::new();
    for (name, text) in sources {
        let parsed = load::parse_assignments(model, &text).map_err(|diagnostic| Failure {
            diagnostic,
            file_name: name.clone(),
            source: text.clone(),
        })?;
        for g in parsed {
            given.retain(|old| old.sym != g.sym);
            given.push(g);
        }
    }
    Ok(given)
}

fn eval(args: EvalArgs) -> Result<ExitCode, Failure> {
    let (name, mut model, targets) = load_with_targets(args.file.as_deref(), args.all, &args.wrt)?;
    let given = args.init.fill(&model, given_values(&model, &args.point)?);
    let mut exprs = Vec::new();
    for text in &args.expr {
        let id = load::parse_formula(&mut model, text).map_err(|diagnostic| Failure {
            diagnostic,
            file_name: "--expr".to_string(),
            source: text.clone(),
        })?;
        exprs.push((text.clone(), id));
    }
    let request = chainrule::analysis::numeric::Request {
        targets,
        exprs,
        stable: args.stable,
        check_grad: args.check_grad,
        no_values: args.no_values,
    };
    let report = with_progress("evaluating in float64 and at high precision", || {
        chainrule::analysis::numeric::evaluate(&mut model, &given, &request)
    })
    .map_err(Failure::plain)?;
    let text = chainrule::render::eval::render_eval(&report, format_of(args.output.format));
    emit_document(&text, &args.output, &name)
}

/// A claim and where it came from, so an error can point into its file or argument.
struct ClaimSource {
    text: String,
    file_name: String,
    /// The whole text the claim is part of, and the claim's byte offset in it.
    source: std::rc::Rc<String>,
    offset: usize,
}

/// The claims of a claims file: one a line, `#` comments and blank lines skipped.
fn claims_in_file(name: &str, text: std::rc::Rc<String>) -> Vec<ClaimSource> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.split('#').next().unwrap_or("");
        let trimmed = content.trim_end_matches(['\n', '\r']);
        if !trimmed.trim().is_empty() {
            out.push(ClaimSource {
                text: trimmed.to_string(),
                file_name: name.to_string(),
                source: text.clone(),
                offset,
            });
        }
        offset += line.len();
    }
    out
}

fn check(args: CheckArgs) -> Result<ExitCode, Failure> {
    let (name, source) = read_source(args.file.as_deref())?;
    let model = load::load(&source).map_err(|diagnostic| Failure {
        diagnostic,
        file_name: name.clone(),
        source: source.clone(),
    })?;
    let mut claims: Vec<ClaimSource> = Vec::new();
    if let Some(path) = &args.claims {
        let (file_name, text) = read_source(Some(path))?;
        claims.extend(claims_in_file(&file_name, std::rc::Rc::new(text)));
    }
    for text in &args.claim {
        claims.push(ClaimSource {
            text: text.clone(),
            file_name: "--claim".to_string(),
            source: std::rc::Rc::new(text.clone()),
            offset: 0,
        });
    }
    if claims.is_empty() {
        return Err(Failure::plain(
            Diagnostic::new("no claims to check").with_help(
                "give claims with `--claim 'dC/dw3 = ...'` or a file with `--claims FILE`",
            ),
        ));
    }
    let model = chainrule::analysis::check::with_learning_rate(&model);
    let given = given_values(&model, &args.point)?;
    let texts: Vec<String> = claims.iter().map(|c| c.text.clone()).collect();
    let checked = chainrule::analysis::check::check(&model, &texts, &given).map_err(|e| {
        let claim = &claims[e.index];
        let mut diagnostic = *e.diagnostic;
        let shift = |s: chainrule::lang::ast::Span| {
            chainrule::lang::ast::Span::new(s.start + claim.offset, s.end + claim.offset)
        };
        diagnostic.span = diagnostic.span.map(shift);
        for note in &mut diagnostic.notes {
            note.span = shift(note.span);
        }
        Failure {
            diagnostic,
            file_name: claim.file_name.clone(),
            source: claim.source.as_ref().clone(),
        }
    })?;
    let layout = layout(&args.output, &name)?;
    let text =
        chainrule::render::check::render_check(&checked, format_of(args.output.format), &layout)
            .map_err(Failure::plain)?;
    let all_correct = checked
        .iter()
        .all(|c| c.verdict == chainrule::analysis::check::Verdict::Correct);
    emit_document(&text, &args.output, &name)?;
    Ok(if all_correct {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `--lr`: a positive, finite number.
fn positive_rate(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .replace('−', "-")
        .parse()
        .map_err(|_| format!("`{text}` is not a number; give a learning rate such as 0.5"))?;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "the learning rate must be a positive number, not {text}"
        ))
    }
}

fn step(args: StepArgs) -> Result<ExitCode, Failure> {
    let (name, source) = read_source(args.file.as_deref())?;
    let mut model = load::load(&source).map_err(|diagnostic| Failure {
        diagnostic,
        file_name: name.clone(),
        source: source.clone(),
    })?;
    let layout = layout(&args.output, &name)?;
    let given = args.init.fill(&model, given_values(&model, &args.point)?);
    let descent = with_progress("descending", || {
        chainrule::analysis::descent::descend(&mut model, &given, args.lr, args.steps as usize)
    })
    .map_err(Failure::plain)?;
    let text = chainrule::render::step::render_descent(
        &model,
        &descent,
        format_of(args.output.format),
        &layout,
    )
    .map_err(Failure::plain)?;
    emit_document(&text, &args.output, &name)
}

/// `values`: a values file to edit, every leaf listed, parameters filled by `--init`.
fn values(args: ValuesArgs) -> Result<ExitCode, Failure> {
    let (name, source) = read_source(args.file.as_deref())?;
    let model = load::load(&source).map_err(|diagnostic| Failure {
        diagnostic,
        file_name: name.clone(),
        source: source.clone(),
    })?;
    let given = given_values(&model, &args.point)?;
    let filled = args.init.fill(&model, given);
    let header = match args.init.init {
        Some(init) => format!(
            "values for {name} (--init {}{}); edit, then give back with --values FILE",
            init.to_possible_value()
                .expect("no skipped values")
                .get_name(),
            if matches!(init, InitArg::Zeros) {
                String::new()
            } else {
                format!(" --seed {}", args.init.seed)
            }
        ),
        None => format!(
            "values for {name}; edit, then give back with --values FILE (parameters not given are 0)"
        ),
    };
    let text = chainrule::analysis::init::values_file(&model, &filled, &header);
    emit(&text, args.out.as_deref())
}

/// Reads and lowers the program and resolves `--wrt`/`--all`: the common start of `derive`
/// and `eval`. Returns the name to show for the program too.
fn load_with_targets(
    file: Option<&Path>,
    all: bool,
    wrt: &[String],
) -> Result<
    (
        String,
        chainrule::core::model::Model,
        Vec<chainrule::core::diff::Target>,
    ),
    Failure,
> {
    let (name, source) = read_source(file)?;
    let model = load::load(&source).map_err(|diagnostic| Failure {
        diagnostic,
        file_name: name.clone(),
        source: source.clone(),
    })?;
    let spec = if all {
        TargetSpec::AllParams
    } else {
        TargetSpec::List(wrt.to_vec())
    };
    let targets = load::targets(&model, &spec).map_err(|e| Failure {
        diagnostic: *e.diagnostic,
        file_name: "--wrt".to_string(),
        source: e.argument,
    })?;
    Ok((name, model, targets))
}

/// Runs `work`; when it takes more than a second and standard error is a terminal, a spinner
/// with `message` says it is still going (and is cleared at the end).
fn with_progress<T>(message: &str, work: impl FnOnce() -> T) -> T {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let done = Arc::new(AtomicBool::new(false));
    let spinner = {
        let done = done.clone();
        let message = message.to_string();
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(1) {
                if done.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(message);
            bar.enable_steady_tick(Duration::from_millis(100));
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
            bar.finish_and_clear();
        })
    };
    let out = work();
    done.store(true, Ordering::Relaxed);
    let _ = spinner.join();
    out
}

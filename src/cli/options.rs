//! The options of the commands as clap reads them, with their help, and the formats each
//! command writes.

use std::path::PathBuf;

use chainrule::{Hyperparameter, HyperparameterRange};
use clap::{Args, ValueEnum};

/// `--at` where a value may cut the graph (`eval`, `check`, `graph`).
pub(super) const AT_ANY_NAME: &str = "Values for names: `--at x=0.5,w3=-1.2`; any name, and a value given to \
     an intermediate cuts the graph there (what it is computed from is not used)";

/// `--at` where values are a starting point (`step`, `values`).
pub(super) const AT_LEAVES: &str = "Values for inputs, targets and parameters: `--at x=0.5,w3=-1.2`; a \
     computed name (an intermediate, the output, the cost) is refused, since these are \
     computed from the rest";

/// The help of `--template-dir` for one command: the templates it reads, from the render
/// layer's table, so a command that gains templates names them here without a change.
pub(super) fn template_help(command: &str) -> String {
    let names = chainrule::templates_of(command);
    if names.is_empty() {
        return format!(
            "A directory of templates; `{command}` has no templates yet, so it is only checked \
             to exist"
        );
    }
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!(
        "A directory whose templates replace the built-in ones by file name ({})",
        list.join(", ")
    )
}

/// The network file every command reads.
#[derive(Args)]
pub struct SourceArg {
    /// The network (`.bp` file); `-` reads standard input; none uses the built-in example.
    pub file: Option<PathBuf>,
}

#[derive(Args)]
pub struct ValuesArgs {
    #[command(flatten)]
    pub source: SourceArg,
    /// Values to keep (the rest of the parameters are filled by `--init`).
    #[command(flatten)]
    pub point: PointArgs,
    #[command(flatten)]
    pub init: InitArgs,
    /// Write to this file (only on success) instead of standard output: a file is replaced
    /// whole (through a symbolic link, the file it names), keeping its owner and mode; a device,
    /// a FIFO or `/dev/stdout` is written directly.
    #[arg(short = 'o', long = "output")]
    pub out: Option<PathBuf>,
    /// With `-o`: replace the file even if it is read-only.
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// How to fill the parameters `--at`/`--values` leave out.
#[derive(Args)]
pub struct InitArgs {
    /// Fill the parameters not given (never inputs or targets: see `--example`): zeros,
    /// random (uniform in [−1, 1]), xavier (Glorot uniform in ±√(6/(fan_in + fan_out)), biases
    /// 0) or he (He/Kaiming uniform in ±√(6/fan_in), variance 2/fan_in, biases 0; PyTorch's
    /// `kaiming_uniform_` with its relu gain, for relu layers).
    #[arg(long, value_enum)]
    pub init: Option<InitArg>,
    /// The seed for `--init random|xavier|he` (the same seed gives the same values).
    #[arg(long, default_value_t = 0, requires = "init")]
    pub seed: u64,
}

/// Where inputs and targets come from besides `--at`/`--values`: one example of a data set,
/// or zeros on request.
#[derive(Args)]
pub struct ExampleArgs {
    /// Take the inputs and targets from example N (1 is the first row) of `--data` or of the
    /// program's `data` block; `--at` overrides single values.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub example: Option<u64>,
    /// A CSV file of examples for `--example` (a header naming inputs and targets).
    #[arg(long, value_name = "CSV", requires = "example")]
    pub data: Option<PathBuf>,
    /// `zero`: set the inputs and targets left without a value to 0 (the report says so);
    /// without it, they are an error.
    #[arg(long, value_enum, value_name = "zero")]
    pub init_inputs: Option<InitInputsArg>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum InitInputsArg {
    Zero,
}

/// How much of a report to show.
#[derive(Args)]
pub struct ShownArgs {
    /// Show only the gradient layer by layer (for programs with layers).
    #[arg(long)]
    pub per_layer: bool,
    /// List every value and derivative even for a large network, whose report is otherwise a
    /// summary (JSON always lists them).
    #[arg(long, conflicts_with = "per_layer")]
    pub all_values: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum InitArg {
    Zeros,
    Random,
    Xavier,
    He,
}

#[derive(Args)]
pub struct ExpandArgs {
    #[command(flatten)]
    pub source: SourceArg,
    /// Write the network in vector form (one weight matrix and bias vector a layer,
    /// `z2 = W2 x + b2`) instead of neuron by neuron.
    #[arg(long)]
    pub vector: bool,
    /// With `--vector`: a batch of this many examples (the columns of `x` and `y`), the cost
    /// averaged over them.
    #[arg(long, requires = "vector", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: Option<u32>,
    /// Write to this file (only on success) instead of standard output: a file is replaced
    /// whole (through a symbolic link, the file it names), keeping its owner and mode; a device,
    /// a FIFO or `/dev/stdout` is written directly.
    #[arg(short = 'o', long = "output")]
    pub out: Option<PathBuf>,
    /// With `-o`: replace the file even if it is read-only.
    #[arg(long, requires = "out")]
    pub force: bool,
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: SourceArg,
    /// A claim: `dC/dw3 = EXPR`, `a3 = 0.73`, `f(2) = 0`, `w3' = w3 - eta*dC/dw3`, plain or
    /// LaTeX; repeatable.
    #[arg(long, required_unless_present = "claims")]
    pub claim: Vec<String>,
    /// A file with one claim a line (`#` comments, blank lines skipped); `-` reads standard
    /// input.
    #[arg(long, value_name = "CLAIMFILE")]
    pub claims: Option<PathBuf>,
    /// The point for value claims and counterexamples (the learning rate `eta` too).
    #[command(flatten)]
    pub point: PointArgs,
    /// Judge update rules against this optimizer's rule, as `step --optimizer` takes it:
    /// sgd, momentum, nesterov, rmsprop or adam.
    #[arg(long, value_parser = ["sgd", "momentum", "nesterov", "rmsprop", "adam"])]
    pub optimizer: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args)]
pub struct StepArgs {
    #[command(flatten)]
    pub source: SourceArg,
    /// Starting values for every input, target and parameter.
    #[command(flatten)]
    pub point: PointArgs,
    /// The learning rate η (a positive number).
    #[arg(
        long = "lr",
        value_name = "ETA",
        value_parser = positive_rate,
        allow_hyphen_values = true
    )]
    pub lr: f64,
    #[command(flatten)]
    pub init: InitArgs,
    #[command(flatten)]
    pub example: ExampleArgs,
    #[command(flatten)]
    pub shown: ShownArgs,
    /// How many steps to take.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub steps: u32,
    #[command(flatten)]
    pub optimizer: OptimizerArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub source: SourceArg,
    #[command(flatten)]
    pub point: PointArgs,
    /// Derivatives to evaluate: names (the cost with respect to them) or pairs (`dY/dX`).
    #[arg(long)]
    pub wrt: Vec<String>,
    /// The cost with respect to every parameter.
    #[arg(long, conflicts_with = "wrt")]
    pub all: bool,
    /// Any formula in the input language (`dC/dw3` allowed); repeatable.
    #[arg(long)]
    pub expr: Vec<String>,
    /// Also evaluate through stable rewrites (σ'(z) = σ(z)·σ(−z)) and say which were used.
    #[arg(long)]
    pub stable: bool,
    /// Compare each derivative with a float64 central finite difference.
    #[arg(long)]
    pub check_grad: bool,
    #[command(flatten)]
    pub init: InitArgs,
    #[command(flatten)]
    pub example: ExampleArgs,
    #[command(flatten)]
    pub shown: ShownArgs,
    /// Leave out the table of forward values (the cost, derivatives and warnings stay).
    #[arg(long)]
    pub no_values: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where the values come from: `--at` and/or a values file.
#[derive(Args)]
pub struct PointArgs {
    /// Values for names: `--at x=0.5,w3=-1.2` (each command says which names it takes).
    #[arg(long)]
    pub at: Vec<String>,
    /// A file with one `name = value` a line (`#` comments); `-` reads standard input.
    #[arg(long)]
    pub values: Option<PathBuf>,
}

#[derive(Args)]
pub struct DeriveArgs {
    #[command(flatten)]
    pub source: SourceArg,
    /// Derivatives to take: names (`w3`: the cost with respect to it) or pairs (`dY/dX`).
    #[arg(long)]
    pub wrt: Vec<String>,
    /// The cost with respect to every parameter.
    #[arg(long, conflicts_with = "wrt")]
    pub all: bool,
    /// For a `network` shorthand: the backprop equations BP1–BP4 in matrix form, derived step
    /// by step from its vector form.
    #[arg(long, conflicts_with_all = ["wrt", "all", "style", "expand", "no_steps", "scalar"])]
    pub layers: bool,
    /// For a vector program: derive entries in scalars, one name an entry (`--wrt 'W2[1,2]'
    /// --scalar`; with `--all`, every entry) rather than in matrix form.
    #[arg(long)]
    pub scalar: bool,
    /// `chain`: the chain-rule product per target; `backprop`: shared error terms δ = ∂C/∂z.
    #[arg(long, value_enum, default_value_t = StyleArg::Chain)]
    pub style: StyleArg,
    /// Also give each result in inputs and parameters alone.
    #[arg(long)]
    pub expand: bool,
    /// Print the results alone (for large networks).
    #[arg(long)]
    pub no_steps: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args)]
pub struct OutputArgs {
    /// The output format (each command names its own; see `format_arg`).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// A directory whose templates replace the built-in ones by file name.
    #[arg(long)]
    pub template_dir: Option<PathBuf>,
    /// With `--format latex`: a complete document that compiles with pdflatex.
    #[arg(long)]
    pub standalone: bool,
    /// Write to this file (only on success) instead of standard output: a file is replaced
    /// whole (through a symbolic link, the file it names), keeping its owner and mode; a device,
    /// a FIFO or `/dev/stdout` is written directly.
    #[arg(short = 'o', long = "output")]
    pub out: Option<PathBuf>,
    /// With `-o`: replace the file even if it is read-only.
    #[arg(long, requires = "out")]
    pub force: bool,
}

#[derive(Copy, Clone, ValueEnum)]
pub enum StyleArg {
    Chain,
    Backprop,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Markdown,
    Latex,
    Json,
    /// One self-contained page (math as MathML), made from the Markdown document.
    Html,
    /// A picture: the computation graph, or the loss curve of `train`.
    Svg,
}

impl FormatArg {
    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            FormatArg::Text => "text",
            FormatArg::Markdown => "markdown",
            FormatArg::Latex => "latex",
            FormatArg::Json => "json",
            FormatArg::Html => "html",
            FormatArg::Svg => "svg",
        }
    }
}

/// The formats a command writes, its default first: `--format` offers these alone, and `-o`'s
/// extension may name only these.
pub fn formats_of(command: &str) -> &'static [FormatArg] {
    use FormatArg::*;
    match command {
        "graph" => &[Svg, Html],
        "train" => &[Text, Markdown, Latex, Json, Html, Svg],
        _ => &[Text, Markdown, Latex, Json, Html],
    }
}

/// `--format` for one command: the values it has (clap refuses any other, listing these),
/// and help that says how the default follows `-o`.
pub(super) fn format_arg(arg: clap::Arg, command: &'static str) -> clap::Arg {
    let formats = formats_of(command);
    use clap::builder::TypedValueParser;
    let names: Vec<&'static str> = formats.iter().map(|f| f.name()).collect();
    arg.value_parser(
        clap::builder::PossibleValuesParser::new(names.clone()).map(|name: String| {
            <FormatArg as ValueEnum>::from_str(&name, true).expect("a format's own name")
        }),
    )
    .help(format!(
        "The output format: {} [default: the one `-o`'s extension names (.{}), else {}]",
        names.join(", "),
        formats
            .iter()
            .map(|&f| extension_of(f))
            .collect::<Vec<_>>()
            .join(", ."),
        names[0]
    ))
}

/// The usual file extension of a format.
pub fn extension_of(format: FormatArg) -> &'static str {
    match format {
        FormatArg::Text => "txt",
        FormatArg::Markdown => "md",
        FormatArg::Latex => "tex",
        FormatArg::Json => "json",
        FormatArg::Html => "html",
        FormatArg::Svg => "svg",
    }
}

/// What an output file's extension says about its format.
#[derive(Debug, PartialEq, Eq)]
pub enum Extension {
    /// One of chainrule's formats.
    Names(FormatArg),
    /// A format chainrule does not write (a bitmap, a PDF): written as it is, the file would
    /// lie about its content.
    Foreign(String),
    /// No extension, or one that names no format (`.out`, `.log`).
    Silent,
}

/// The format `path`'s extension names.
pub fn extension(path: &std::path::Path) -> Extension {
    let Some(ext) = path.extension().map(|e| e.to_string_lossy().to_lowercase()) else {
        return Extension::Silent;
    };
    let format = match ext.as_str() {
        "txt" | "text" => FormatArg::Text,
        "md" | "markdown" => FormatArg::Markdown,
        "tex" | "latex" => FormatArg::Latex,
        "json" => FormatArg::Json,
        "html" | "htm" | "xhtml" => FormatArg::Html,
        "svg" => FormatArg::Svg,
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "bmp" | "tif" | "tiff" | "pdf" | "ps" | "eps"
        | "dvi" | "docx" | "odt" | "rtf" | "csv" | "xml" | "yaml" | "yml" => {
            return Extension::Foreign(ext);
        }
        _ => return Extension::Silent,
    };
    Extension::Names(format)
}

#[derive(Copy, Clone, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// The optimizer and its hyperparameters, with PyTorch's names and defaults.
#[derive(Args)]
pub struct OptimizerArgs {
    /// The update rule: sgd (θ − η∂C/∂θ), momentum, nesterov, rmsprop or adam.
    #[arg(long, default_value = "sgd", value_parser = ["sgd", "momentum", "nesterov", "rmsprop", "adam"])]
    pub optimizer: String,
    /// μ of momentum and nesterov (default 0.9).
    #[arg(long, value_name = "MU", value_parser = hyperparameter(Hyperparameter::Momentum))]
    pub momentum: Option<f64>,
    /// β₁ of adam (default 0.9).
    #[arg(long, value_name = "BETA1", value_parser = hyperparameter(Hyperparameter::Beta1))]
    pub beta1: Option<f64>,
    /// β₂ of adam (default 0.999) and rmsprop's smoothing constant (PyTorch's alpha, default 0.99).
    #[arg(long, value_name = "BETA2", value_parser = hyperparameter(Hyperparameter::Beta2))]
    pub beta2: Option<f64>,
    /// ε added outside the square root of rmsprop and adam (default 1e-8).
    #[arg(long, value_name = "EPS", value_parser = hyperparameter(Hyperparameter::Eps))]
    pub eps: Option<f64>,
    /// λ of weight decay, decoupled from the cost (AdamW's θ ← θ − ηλθ), biases spared (default 0).
    #[arg(long = "weight-decay", value_name = "LAMBDA", value_parser = hyperparameter(Hyperparameter::WeightDecay))]
    pub weight_decay: Option<f64>,
}

impl OptimizerArgs {
    /// The optimizer asked for, defaults filled in.
    pub fn optimizer(&self) -> chainrule::Optimizer {
        let kind = chainrule::OptimizerKind::from_code(&self.optimizer)
            .expect("clap admits only the optimizers' codes");
        let given = chainrule::Hyperparameters {
            momentum: self.momentum,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
        };
        chainrule::Optimizer::with_hyperparameters(kind, &given)
            .expect("each hyperparameter was checked when it was parsed")
    }
}

fn number(text: &str) -> Result<f64, String> {
    text.trim()
        .replace('−', "-")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{text}` is not a number"))
}

/// The value of a hyperparameter's option: a number in the range the library gives it.
fn hyperparameter(
    which: Hyperparameter,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |text| {
        which
            .check(number(text)?)
            .map_err(|refused| match refused.range() {
                HyperparameterRange::DecayRate => {
                    format!("a decay rate is at least 0 and below 1, not {text}")
                }
                HyperparameterRange::NonNegative => format!("must be 0 or more, not {text}"),
            })
    }
}

/// `--lr`: a positive, finite number.
pub(crate) fn positive_rate(text: &str) -> Result<f64, String> {
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

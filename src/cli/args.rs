//! The command line as clap reads it: the subcommands and their help (their options are in
//! `options`, `graph` and `train`).
//!
//! Only the shape of the arguments lives here; what they mean is decided in `commands`.

use clap::{Parser, Subcommand};

use super::graph::GraphArgs;
use super::options::{
    AT_ANY_NAME, AT_LEAVES, CheckArgs, ColorArg, DeriveArgs, EvalArgs, ExpandArgs, StepArgs,
    ValuesArgs, format_arg, template_help,
};
use super::train::TrainArgs;

#[derive(Parser)]
#[command(
    name = "chainrule",
    version,
    about = "Symbolic backpropagation, explained step by step"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour in error reports: `auto` (when standard error is a terminal and `NO_COLOR` is
    /// unset), `always` or `never`.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true)]
    pub color: ColorArg,
}

#[derive(Subcommand)]
pub enum Command {
    /// Differentiate the cost (or any name) step by step with the chain rule.
    #[command(
        mut_arg("template_dir", |a| a.help(template_help("derive"))),
        mut_arg("format", |a| format_arg(a, "derive"))
    )]
    Derive(DeriveArgs),
    /// Evaluate the network and its derivatives at given values, in float64 and exactly,
    /// and say where float64 loses the answer.
    #[command(
        mut_arg("template_dir", |a| a.help(template_help("eval"))),
        mut_arg("format", |a| format_arg(a, "eval")),
        mut_arg("at", |a| a.help(AT_ANY_NAME))
    )]
    Eval(EvalArgs),
    /// Check claimed derivatives, values and update rules, and name the likeliest mistake.
    #[command(
        mut_arg("template_dir", |a| a.help(template_help("check"))),
        mut_arg("format", |a| format_arg(a, "check")),
        mut_arg("at", |a| a.help(AT_ANY_NAME))
    )]
    Check(CheckArgs),
    /// Gradient descent: θ ← θ − η ∂C/∂θ for every parameter at once, step by step.
    #[command(
        mut_arg("template_dir", |a| a.help(template_help("step"))),
        mut_arg("format", |a| format_arg(a, "step")),
        mut_arg("at", |a| a.help(AT_LEAVES))
    )]
    Step(StepArgs),
    /// Write a values file (every input, target and parameter, one `name = value` a line) to
    /// edit and give back with `--values`.
    #[command(mut_arg("at", |a| a.help(AT_LEAVES)))]
    Values(ValuesArgs),
    /// Print the straight-line form of a `network` shorthand (a file that parses back to the
    /// same network); a straight-line program is printed as it is.
    Expand(ExpandArgs),
    /// Train over a data set (a CSV file or a `data` block): many descent steps, a table of
    /// epochs, the loss curve, and why a run diverged or stalled.
    #[command(
        mut_arg("template_dir", |a| a.help(template_help("train"))),
        mut_arg("format", |a| format_arg(a, "train")),
        mut_arg("at", |a| a.help(
            "Starting values for parameters: `--at w2=0.5`; an input or target the data has no \
             column for may be given one value, held for every example (`--at lambda=0.1,n=60000`); \
             any other name is refused"
        ))
    )]
    Train(TrainArgs),
    /// Draw the computation graph as SVG; `--format html`: a page where choosing a parameter
    /// lights its paths to the cost and shows its derivation.
    #[command(
        mut_arg("template_dir", |a| a.help(template_help("graph"))),
        mut_arg("format", |a| format_arg(a, "graph")),
        mut_arg("at", |a| a.help(AT_ANY_NAME))
    )]
    Graph(GraphArgs),
    /// Print a shell completion script, e.g. `mkdir -p ~/.local/share/bash-completion/completions
    /// && chainrule completions bash > ~/.local/share/bash-completion/completions/chainrule`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

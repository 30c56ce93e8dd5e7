//! `chainrule train`: its arguments, reading the data (a CSV file or the program's `data`
//! block), a progress bar on a terminal, and writing the report or the loss curve.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use chainrule::Diagnostic;
use chainrule::Init;
use chainrule::{Direction, TrainConfig};

use super::commands::{Documented, given_values, load_program};
use super::diagnostics::Failure;
use super::input;
use super::options::{FormatArg, InitArg, OutputArgs, PointArgs};
use super::output::Outcome;

#[derive(Args)]
pub struct TrainArgs {
    /// The network (`.bp` file); `-` reads standard input; none uses the built-in example.
    file: Option<PathBuf>,
    /// A CSV file of examples: a header naming the inputs and targets, one example a line
    /// (without it, the program's `data` block).
    #[arg(long, value_name = "CSV")]
    data: Option<PathBuf>,
    /// How many passes over the data.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    epochs: u32,
    #[command(flatten)]
    optimizer: super::options::OptimizerArgs,
    /// The learning rate η (a positive number).
    #[arg(
        long = "lr",
        value_name = "ETA",
        default_value_t = 0.5,
        value_parser = training_rate,
        allow_hyphen_values = true
    )]
    lr: f64,
    /// Add the gradient instead of subtracting it (θ ← θ + η ∂C/∂θ), to watch the cost rise.
    #[arg(long)]
    ascent: bool,
    /// One update per epoch with the mean gradient of all examples (default: one per example).
    #[arg(long)]
    batch: bool,
    /// Visit the examples in a new random order each epoch (per-example updates).
    #[arg(long, conflicts_with = "batch")]
    shuffle: bool,
    /// How parameters without a value in `--at`/`--values` start: zeros, random (uniform in
    /// [−1, 1]), xavier (Glorot uniform, ±√(6/(fan_in + fan_out))) or he (He/Kaiming uniform,
    /// ±√(6/fan_in)); biases start at 0 with xavier and he.
    #[arg(long, value_enum, default_value_t = InitArg::Random)]
    init: InitArg,
    /// The seed of `--init random|xavier|he` and `--shuffle`: the same seed, the same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Starting values for parameters.
    #[command(flatten)]
    point: PointArgs,
    /// Show only the gradient layer by layer after training (for programs with layers).
    #[arg(long)]
    per_layer: bool,
    /// List every parameter even for a large network, whose report is otherwise a summary.
    #[arg(long, conflicts_with = "per_layer")]
    all_values: bool,
    /// Write the trained parameters to this values file (`name = value` a line; give it back
    /// with `--values`).
    #[arg(long, value_name = "FILE")]
    save_values: Option<PathBuf>,
    /// `--format svg` (or `-o FILE.svg`) writes the loss curve alone; the other formats, the
    /// report.
    #[command(flatten)]
    output: OutputArgs,
}

/// `--lr` for training: positive; a negative rate is refused with the way to ask for ascent.
fn training_rate(text: &str) -> Result<f64, String> {
    let negative = text.trim().starts_with(['-', '−']) && text.trim().len() > 1;
    super::options::positive_rate(text).map_err(|message| {
        if negative {
            format!(
                "a negative learning rate ({text}) would turn descent into ascent; to run the rule \
                 θ ← θ + η ∂C/∂θ, say so: `--ascent --lr {}`",
                text.trim().trim_start_matches(['-', '−'])
            )
        } else {
            message
        }
    })
}

pub fn train(args: TrainArgs) -> Result<Outcome, Failure> {
    let file = args.file.as_deref();
    let report_out = args.output.out.clone();
    let documented = Documented::start(
        "train",
        args.output,
        file,
        Some(&args.point),
        &[args.data.as_deref()],
    )?;
    if let Some(save) = &args.save_values {
        let mut inputs: Vec<PathBuf> = [file, args.data.as_deref(), args.point.values.as_deref()]
            .into_iter()
            .flatten()
            .map(PathBuf::from)
            .collect();
        inputs.extend(report_out.clone());
        super::output::refuse_overwriting_inputs(save, &inputs, false)?;
        if report_out.as_deref() == Some(save.as_path()) {
            return Err(Failure::plain(Diagnostic::new(
                "`--save-values` and `-o` name the same file",
            )));
        }
        super::output::check_target(save, super::output::ReadOnly::Refuse)?;
    }
    let (source, mut model) = load_program(file)?;
    let name = &source.name;
    super::commands::per_layer_needs_layers(args.per_layer, &model, name)?;
    // Inputs and targets given a value are held at it for every example; a column for one of
    // them too is refused (which of the two was meant cannot be told), and the parameters'
    // values are where training starts.
    let given = given_values(&model, &args.point)?;
    let overlap = chainrule::Overlap::Refused;
    let examples = match &args.data {
        Some(path) => {
            let csv = input::read_text(path)?;
            chainrule::csv_data_holding(&csv.text, &model, &given, overlap)
                .map_err(Failure::in_text(&csv))?
        }
        None => chainrule::training_data_holding(&source.text, &model, &given, overlap)
            .map_err(Failure::in_text(&source))?
            .ok_or_else(|| {
                Failure::plain(
                    Diagnostic::new(format!("{name} has no training data"))
                        .with_help("give a CSV file (`--data examples.csv`, a header naming the inputs and targets) or write a `data` block in the program"),
                )
            })?,
    };
    let given = examples.left_out(given);
    let config = TrainConfig {
        epochs: args.epochs as usize,
        learning_rate: args.lr,
        direction: if args.ascent {
            Direction::Ascent
        } else {
            Direction::Descent
        },
        per_example: !args.batch,
        shuffle: args.shuffle,
        init: match args.init {
            InitArg::Zeros => Init::Zeros,
            InitArg::Random => Init::Random,
            InitArg::Xavier => Init::Xavier,
            InitArg::He => Init::He,
        },
        seed: args.seed,
        optimizer: args.optimizer.optimizer(),
    };
    let bar = progress_bar(config.epochs);
    let started = std::time::Instant::now();
    let training = chainrule::train(&mut model, &examples, &given, &config, |epoch| {
        if epoch == 1
            && let Some(note) = expected_duration(started.elapsed(), config.epochs)
        {
            let note = format!("note: {note}\n");
            match &bar {
                Some(bar) => bar.println(note.trim_end()),
                None => {
                    let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
                }
            }
        }
        if let Some(bar) = &bar {
            bar.set_position(epoch as u64);
        }
    })
    .map_err(Failure::plain)?;
    let mut training = training;
    training.per_layer = args.per_layer;
    training.all_values = args.all_values;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(save) = &args.save_values {
        let header = format!(
            "parameters of {name} after {} epochs of training; give back with --values FILE",
            training.epochs.len()
        );
        let text = chainrule::trained_values(&model, &training, &header);
        super::output::write_file(save, text.as_bytes(), super::output::ReadOnly::Refuse)?;
    }
    if let FormatArg::Svg = documented.format() {
        let curve = chainrule::loss_curve(&model, &training);
        return Ok(documented.outcome(curve, 0));
    }
    let document = chainrule::Document::Training {
        model: &model,
        training: &training,
    };
    documented.finish(name, 0, document)
}

/// A bar on standard error when it is a terminal (never in a pipe, a file or CI's log).
fn progress_bar(epochs: usize) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(epochs as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("training {bar:40} epoch {pos}/{len} ({eta})")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// Runs expected to take longer than this are announced after their first epoch.
const ANNOUNCED_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// What a run whose first epoch took `first` will take in all, said up front (on standard
/// error, whatever it is) when that is over [`ANNOUNCED_AFTER`]: a million rows take 22 s an
/// epoch, and the default 1,000 epochs about 6 h.
fn expected_duration(first: std::time::Duration, epochs: usize) -> Option<String> {
    let total = first.as_secs_f64() * epochs as f64;
    if total <= ANNOUNCED_AFTER.as_secs_f64() {
        return None;
    }
    let (amount, unit) = if total < 3_600.0 {
        (total / 60.0, "min")
    } else if total < 172_800.0 {
        (total / 3_600.0, "h")
    } else {
        (total / 86_400.0, "days")
    };
    Some(format!(
        "the first epoch took {:.1} s, so {epochs} epochs will take about {amount:.0} {unit}; \
         `--epochs` sets fewer (the data's rows, or a smaller sample of them, set the time of one)",
        first.as_secs_f64()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Issue 23 item 10: a 10⁶-row CSV took 22 s an epoch, about 6 h for the default 1,000
    /// epochs, and nothing said so.
    #[test]
    fn a_long_run_is_announced_with_its_expected_duration() {
        let note = expected_duration(Duration::from_secs(22), 1000).expect("announced");
        assert!(note.contains("about 6 h"), "{note}");
        assert!(note.contains("1000 epochs"), "{note}");
        assert!(note.contains("`--epochs`"), "{note}");
        assert!(expected_duration(Duration::from_millis(50), 1000).is_none());
        let minutes = expected_duration(Duration::from_secs(1), 300).expect("announced");
        assert!(minutes.contains("about 5 min"), "{minutes}");
        let days = expected_duration(Duration::from_secs(300), 1000).expect("announced");
        assert!(days.contains("about 3 days"), "{days}");
    }
}

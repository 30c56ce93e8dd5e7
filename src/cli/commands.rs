//! One function per subcommand: read the inputs, call the library, and hand back the text to
//! write. Reading and writing go through `input` and `output`; every error leaves as a
//! [`Failure`].

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use chainrule::{
    Checked, DeriveConfig, Diagnostic, Document, DocumentFormat, Layout, Span, Style, TargetSpec,
    Verdict, thousands,
};
use chainrule::{Given, Model};

use super::diagnostics::{Failure, Text};
use super::input::{self, InputPaths};
use super::options::{
    CheckArgs, DeriveArgs, EvalArgs, ExampleArgs, ExpandArgs, Extension, FormatArg, InitArg,
    InitArgs, OutputArgs, PointArgs, StepArgs, StyleArg, ValuesArgs,
};
use super::output::{self, Outcome, ReadOnly};
use super::progress::with_progress;

/// The values given, with the parameters they leave out filled by `--init`, if asked.
pub(super) fn fill(init: &InitArgs, model: &Model, given: Vec<Given>) -> Vec<Given> {
    let Some(choice) = init.init else {
        return given;
    };
    let how = match choice {
        InitArg::Zeros => chainrule::Init::Zeros,
        InitArg::Random => chainrule::Init::Random,
        InitArg::Xavier => chainrule::Init::Xavier,
        InitArg::He => chainrule::Init::He,
    };
    chainrule::initialise(model, &given, how, init.seed)
}

/// Where a point's values came from, for the report: how many inputs and targets were set to
/// 0 on request.
pub(super) struct Start {
    pub given: Vec<Given>,
    pub zeroed: usize,
}

/// The values `eval` and `step` start from: `--values`, then one `--example` of the data for
/// the inputs and targets `--at` leaves out (the data need not have a column for those it
/// gives), then `--at`; the parameters left out filled by
/// `--init`; inputs and targets still without a value set to 0 with `--init-inputs zero`, and
/// otherwise refused, naming a few and the ways to give them.
pub(super) fn starting_point(
    source: &Text,
    model: &Model,
    point: &PointArgs,
    init: &InitArgs,
    example: &ExampleArgs,
) -> Result<Start, Failure> {
    let mut given = given_values(model, point)?;
    if let Some(n) = example.example {
        let data = match &example.data {
            Some(path) => {
                let csv = input::read_text(path)?;
                chainrule::csv_data_holding(&csv.text, model, &given, chainrule::Overlap::GivenWins)
                    .map_err(Failure::in_text(&csv))?
            }
            None => chainrule::training_data_holding(
                &source.text,
                model,
                &given,
                chainrule::Overlap::GivenWins,
            )
                .map_err(Failure::in_text(source))?
                .ok_or_else(|| {
                    Failure::plain(
                        Diagnostic::new(format!(
                            "`--example {n}` needs examples, and {} has no `data` block",
                            source.name
                        ))
                        .with_help("give a CSV file with `--data FILE` (a header naming the inputs and targets)"),
                    )
                })?,
        };
        let row = usize::try_from(n - 1).unwrap_or(usize::MAX);
        if row >= data.rows.len() {
            return Err(Failure::plain(
                Diagnostic::new(format!(
                    "`--example {n}`: the data has {} example{}",
                    thousands(data.rows.len()),
                    if data.rows.len() == 1 { "" } else { "s" }
                ))
                .with_help("examples are counted from 1, the first row after the header"),
            ));
        }
        let at: std::collections::HashSet<_> = given.iter().map(|g| g.sym).collect();
        let from_data: Vec<Given> = data
            .example(row)
            .filter(|(sym, _)| !at.contains(sym))
            .map(|(sym, value)| Given {
                sym,
                text: format!("{value:?}"),
                value,
            })
            .collect();
        given.splice(0..0, from_data);
    }
    let mut given = fill(init, model, given);
    let mut zeroed = 0;
    if example.init_inputs.is_some() {
        (given, zeroed) = chainrule::zero_data(model, &given);
    }
    // Every value still missing is named at once, when inputs or targets are among them (a
    // parameter alone missing is the library's to name, with `--init`).
    let (unset, data) = chainrule::unset_leaves(model, &given);
    if data > 0 {
        let names: Vec<&str> = unset.iter().map(String::as_str).collect();
        return Err(Failure::plain(
            Diagnostic::new(format!(
                "no value given for {}",
                chainrule::listed(&names)
            ))
            .with_help(format!(
                "inputs and targets are data, and `--init` fills only parameters: give them with \
                 `--at {}=0.5`, a values file (`--values FILE`; `chainrule values` writes one to \
                 edit), or one example of a data set with `--example N` (`--data FILE.csv`, or \
                 the program's `data` block); `--init-inputs zero` sets them to 0 on purpose",
                names[0]
            )),
        ));
    }
    Ok(Start { given, zeroed })
}

/// `values`: a values file to edit, every leaf listed, parameters filled by `--init`.
pub(super) fn values(args: ValuesArgs) -> Result<Outcome, Failure> {
    let file = args.source.file.as_deref();
    let read_only = read_only(args.force);
    guard_output(
        args.out.as_deref(),
        read_only,
        &inputs_of(file, Some(&args.point), None, &[]),
    )?;
    let (source, model) = load_program(file)?;
    let given = given_values(&model, &args.point)?;
    chainrule::leaves_only(
        &model,
        &given,
        "a values file lists inputs, targets and parameters, and the rest is computed from them",
    )
    .map_err(Failure::plain)?;
    let filled = fill(&args.init, &model, given);
    let name = &source.name;
    let header = match args.init.init {
        Some(init) => format!(
            "values for {name} (--init {}{}); edit, then give back with --values FILE",
            clap::ValueEnum::to_possible_value(&init)
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
    Ok(Outcome {
        text: chainrule::values_file(&model, &filled, &header),
        out: args.out,
        read_only,
        code: 0,
    })
}

/// What `--force` says about a read-only `-o`.
fn read_only(force: bool) -> ReadOnly {
    if force {
        ReadOnly::Replace
    } else {
        ReadOnly::Refuse
    }
}

/// Refuses, before anything is read, `-o` onto any input (the file standard input reads
/// included), a read-only `-o` without `--force`, and standard input read twice.
fn guard_output(
    out: Option<&Path>,
    read_only: ReadOnly,
    inputs: &InputPaths,
) -> Result<(), Failure> {
    inputs.check_stdin()?;
    if let Some(out) = out {
        output::refuse_overwriting_inputs(out, &inputs.files, inputs.stdin > 0)?;
        output::check_target(out, read_only)?;
    }
    Ok(())
}

/// What every command that writes a document does around its own work: before anything is
/// read, its templates found in `--template-dir` and `-o` checked against every input; after,
/// the result rendered with the layout (an error in a template points into it), made a page
/// for `--format html`, and handed back to be written where `-o` says.
pub(super) struct Documented {
    output: OutputArgs,
    /// `--format`, or the one `-o`'s extension names, or the command's default.
    format: FormatArg,
    templates: Vec<(String, Box<Path>)>,
}

impl Documented {
    /// The command's templates and the inputs' check: `point` for `--values`, `more` for any
    /// other file the command reads (claims, data).
    pub(super) fn start(
        command: &str,
        output: OutputArgs,
        file: Option<&Path>,
        point: Option<&PointArgs>,
        more: &[Option<&Path>],
    ) -> Result<Documented, Failure> {
        let templates = template_paths(command, &output)?;
        let mut inputs = inputs_of(file, point, None, &templates);
        for path in more {
            inputs.add(*path);
        }
        guard_output(output.out.as_deref(), read_only(output.force), &inputs)?;
        let format = resolve_format(command, output.format, output.out.as_deref())?;
        Ok(Documented {
            output,
            format,
            templates,
        })
    }

    /// The format to write.
    pub(super) fn format(&self) -> FormatArg {
        self.format
    }

    /// The layout for the program named `source_name`, and the mapping of a rendering error
    /// into the template it comes from: for commands that render more than one document.
    pub(super) fn layout(&self, source_name: &str) -> Result<Layout, Failure> {
        layout(&self.templates, &self.output, source_name)
    }

    /// Values given outside their names' declared domains, on standard error: the command
    /// still answers (the formulas have values there), so they are warnings, not refusals.
    pub(super) fn warn_outside_domain(
        &self,
        model: &Model,
        given: &[Given],
        source_name: &str,
    ) -> Result<(), Failure> {
        let layout = self.layout(source_name)?;
        let sentences =
            chainrule::domain_warnings(model, given, &layout).map_err(self.in_template(&layout))?;
        for sentence in sentences {
            eprintln!("warning: {sentence}");
        }
        Ok(())
    }

    /// A rendering error as a failure pointing into its template.
    pub(super) fn in_template<'a>(
        &'a self,
        layout: &'a Layout,
    ) -> impl Fn(Diagnostic) -> Failure + 'a {
        in_template(&self.templates, layout)
    }

    /// The outcome: `text`, to be written where `-o` says, with the exit code.
    pub(super) fn outcome(self, text: String, code: u8) -> Outcome {
        Outcome {
            text,
            read_only: read_only(self.output.force),
            out: self.output.out,
            code,
        }
    }

    /// Renders the result in the format asked for (a page with `--format html`), with the
    /// exit code.
    pub(super) fn finish(
        self,
        source_name: &str,
        code: u8,
        document: Document<'_>,
    ) -> Result<Outcome, Failure> {
        let layout = self.layout(source_name)?;
        let text = chainrule::render(&document, format_of(self.format), &layout)
            .map_err(self.in_template(&layout))?;
        Ok(self.outcome(text, code))
    }
}

pub(super) fn expand(args: ExpandArgs) -> Result<Outcome, Failure> {
    let file = args.source.file.as_deref();
    let read_only = read_only(args.force);
    guard_output(
        args.out.as_deref(),
        read_only,
        InputPaths::default().add(file),
    )?;
    let source = input::read_program(file)?;
    let text = if args.vector {
        chainrule::expand_vector(&source.text, args.batch)
    } else {
        chainrule::expand(&source.text)
    }
    .map_err(Failure::in_text(&source))?;
    warn_about(&source);
    Ok(Outcome {
        text,
        out: args.out,
        read_only,
        code: 0,
    })
}

/// The templates of `command` that `--template-dir` replaces, as paths that exist.
fn template_paths(command: &str, output: &OutputArgs) -> Result<Vec<(String, Box<Path>)>, Failure> {
    let Some(dir) = &output.template_dir else {
        return Ok(vec![]);
    };
    if !dir.is_dir() {
        return Err(Failure::plain(Diagnostic::new(format!(
            "the template directory `{}` does not exist",
            output::shown(dir)
        ))));
    }
    Ok(chainrule::templates_of(command)
        .into_iter()
        .map(|name| (name.to_string(), dir.join(name).into_boxed_path()))
        .filter(|(_, path)| path.exists())
        .collect())
}

/// The layout of a command's document: its templates from `--template-dir`, `--standalone`,
/// and the name of the program for headings.
fn layout(
    templates: &[(String, Box<Path>)],
    output: &OutputArgs,
    source_name: &str,
) -> Result<Layout, Failure> {
    let mut overrides = BTreeMap::new();
    for (name, path) in templates {
        let text = input::read_text(path)?;
        overrides.insert(name.clone(), text.text);
    }
    Ok(Layout {
        overrides,
        standalone: output.standalone,
        source_name: source_name.to_string(),
        watch: super::limits::TEMPLATE_WATCH.clone(),
    })
}

/// The mapping for rendering errors: one about a template points into that template's text
/// (the user's file, or the built-in one).
fn in_template<'a>(
    templates: &'a [(String, Box<Path>)],
    layout: &'a Layout,
) -> impl Fn(Diagnostic) -> Failure + 'a {
    move |diagnostic| {
        let Some(name) = diagnostic.file.as_ref().map(|f| f.0.clone()) else {
            return Failure::plain(diagnostic);
        };
        let path = templates.iter().find(|(n, _)| *n == name);
        let text = layout.overrides.get(&name).map(String::as_str).or_else(|| {
            chainrule::TEMPLATES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, builtin)| *builtin)
        });
        let origin = Text {
            name: path.map_or_else(|| format!("<built-in {name}>"), |(_, p)| output::shown(p)),
            text: text.unwrap_or_default().to_string(),
        };
        Failure::in_text(&origin)(diagnostic)
    }
}

pub(super) fn format_of(arg: FormatArg) -> DocumentFormat {
    match arg {
        FormatArg::Text => DocumentFormat::Text,
        FormatArg::Markdown => DocumentFormat::Markdown,
        FormatArg::Latex => DocumentFormat::Latex,
        FormatArg::Json => DocumentFormat::Json,
        FormatArg::Html => DocumentFormat::Html,
        // Only `graph` and `train` write pictures, and they draw them before any document.
        FormatArg::Svg => unreachable!("`resolve_format` refuses svg for a document"),
    }
}

/// The format a command writes: `--format` if given, else the one `-o`'s extension names,
/// else the command's default. A format the command does not have, an extension that names
/// another format than `--format`, or one that names a format chainrule does not write
/// (`-o loss.png`) is refused before anything is read.
fn resolve_format(
    command: &str,
    asked: Option<FormatArg>,
    out: Option<&Path>,
) -> Result<FormatArg, Failure> {
    let formats = super::options::formats_of(command);
    let names = || {
        formats
            .iter()
            .map(|f| format!("`{}` (.{})", f.name(), super::options::extension_of(*f)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let extension = out.map_or(Extension::Silent, super::options::extension);
    let shown = |path: &Path| path.display().to_string();
    let format = match (asked, extension) {
        (_, Extension::Foreign(ext)) => {
            return Err(Failure::plain(
                Diagnostic::new(format!(
                    "`{command}` cannot write a .{ext} file: `{}` would hold another format \
                     under that name",
                    shown(out.expect("an extension comes from -o"))
                ))
                .with_help(format!("`{command}` writes {}", names())),
            ));
        }
        (Some(asked), Extension::Names(named)) if asked != named => {
            return Err(Failure::plain(
                Diagnostic::new(format!(
                    "`--format {}` and `-o {}` disagree: the extension names {}",
                    asked.name(),
                    shown(out.expect("an extension comes from -o")),
                    named.name()
                ))
                .with_help(format!(
                    "drop `--format` (the extension decides), or name the file `.{}`",
                    super::options::extension_of(asked)
                )),
            ));
        }
        (Some(asked), _) => asked,
        (None, Extension::Names(named)) => named,
        (None, Extension::Silent) => formats[0],
    };
    if !formats.contains(&format) {
        return Err(Failure::plain(
            Diagnostic::new(format!(
                "`{command}` has no {} output (`-o {}`)",
                format.name(),
                out.map(shown).unwrap_or_default()
            ))
            .with_help(format!("`{command}` writes {}", names())),
        ));
    }
    Ok(format)
}

/// The name and the file of an `--at NAME=@FILE` (a NumPy `.npy` file: the rest of the
/// argument is the file's path, commas and all).
fn numpy_file(at: &str) -> Option<(&str, &Path)> {
    let (name, value) = at.split_once('=')?;
    let path = value.trim_start().strip_prefix('@')?;
    Some((name.trim(), Path::new(path)))
}

/// The files a command with formats reads: the program, the values, the claims, templates.
fn inputs_of(
    file: Option<&Path>,
    point: Option<&PointArgs>,
    claims: Option<&Path>,
    templates: &[(String, Box<Path>)],
) -> InputPaths {
    let mut inputs = InputPaths::default();
    inputs
        .add(file)
        .add(point.and_then(|p| p.values.as_deref()))
        .add(claims);
    for at in point.iter().flat_map(|p| &p.at) {
        inputs.add(numpy_file(at).map(|(_, path)| path));
    }
    for (_, path) in templates {
        inputs.add(Some(path));
    }
    inputs
}

pub(super) fn derive(args: DeriveArgs) -> Result<Outcome, Failure> {
    let file = args.source.file.as_deref();
    let documented = Documented::start("derive", args.output, file, None, &[])?;
    if args.layers {
        return derive_layers(file, documented);
    }
    if args.wrt.is_empty() && !args.all {
        let mut diagnostic = Diagnostic::new("`derive` needs `--wrt NAME` or `--all`");
        if let Some(word) = file.filter(|f| !f.exists()) {
            diagnostic = diagnostic.with_help(format!(
                "`{0}` was read as the network file (the first argument); to differentiate \
                 with respect to it, write `--wrt {0}`",
                output::shown(word)
            ));
        } else {
            diagnostic = diagnostic.with_help(
                "name the derivatives (`--wrt w3` or `--wrt dC/dw3`), or take every parameter \
                 with `--all`",
            );
        }
        return Err(Failure::plain(diagnostic));
    }
    let source = input::read_program(file)?;
    // `--all` on a vector program: one formula a parameter, in matrix form, rather than one
    // an entry (which `--wrt NAME` and `--scalar` give). What the matrix form does not handle
    // yet falls back to the entries. It is tried before the program is written out entry by
    // entry, which it does not need (784-30-10 over a batch of 32 has a million entries).
    if args.all
        && !args.expand
        && !args.scalar
        && let Ok(Some(form)) = chainrule::matrix_form(&source.text)
    {
        warn_about(&source);
        return documented.finish(&source.name, 0, Document::Layers(&form));
    }
    let (source, mut model, targets) = load_with_targets(source, args.all, &args.wrt)?;
    let style = match args.style {
        StyleArg::Chain => Style::Chain,
        StyleArg::Backprop => Style::Backprop,
    };
    let config = DeriveConfig {
        style,
        expand: args.expand,
        steps: !args.no_steps,
        expand_if_small: matches!(documented.format(), FormatArg::Json),
    };
    let derivations = chainrule::derive_targets(&mut model, &targets, &config);
    if let Some(bytes) = derivations.expansion_too_large {
        // The count saturates where it passes what a machine could hold: say "far more".
        let size = if bytes >= u64::MAX / 2 {
            "far more than 10^18".to_string()
        } else {
            format!("about {}", thousands(bytes as usize))
        };
        return Err(Failure::plain(
            Diagnostic::new(format!(
                "--expand would print {size} bytes of formulas, over the limit of {}: \
                 written in inputs and parameters alone, every shared error term is repeated \
                 along every path",
                thousands(chainrule::EXPAND_LIMIT as usize)
            ))
            .with_help(
                "drop --expand: the results are then written in named error terms (δ), each \
                 derived once; or expand fewer derivatives with --wrt",
            ),
        ));
    }
    let document = Document::Derivations {
        model: &model,
        derivations: &derivations,
        style,
    };
    documented.finish(&source.name, 0, document)
}

/// `derive --layers`: the layered derivation of a `network` shorthand.
fn derive_layers(file: Option<&Path>, documented: Documented) -> Result<Outcome, Failure> {
    let source = input::read_program(file)?;
    let layered = chainrule::layers(&source.text).map_err(Failure::in_text(&source))?;
    warn_about(&source);
    let Some(layered) = layered else {
        return Err(Failure::plain(
            Diagnostic::new(format!(
                "`--layers` needs a network written with the `network` shorthand; {} is a \
                 straight-line program",
                source.name
            ))
            .with_help("describe the network as `network 2-3-1` with its option lines, or use `--wrt`/`--all`"),
        ));
    };
    documented.finish(&source.name, 0, Document::Layers(&layered))
}

/// The values of `--values` and `--at` (all of them), later ones overriding earlier.
pub(super) fn given_values(model: &Model, point: &PointArgs) -> Result<Vec<Given>, Failure> {
    // Each source is a text to parse, or values already read from a NumPy file.
    let mut sources: Vec<Result<Text, Vec<Given>>> = Vec::new();
    if let Some(path) = &point.values {
        let (name, bytes) = input::read_bytes(path)?;
        sources.push(if chainrule::is_npz(&bytes) {
            Err(chainrule::npz_values(model, &name, &bytes).map_err(Failure::plain)?)
        } else {
            Ok(input::text_of(name, bytes)?)
        });
    }
    for at in &point.at {
        sources.push(match numpy_file(at) {
            Some((name, path)) => {
                let (file, bytes) = input::read_bytes(path)?;
                if !chainrule::is_npy(&bytes) {
                    return Err(Failure::plain(
                        Diagnostic::new(format!(
                            "`{file}` is not a NumPy `.npy` file (`--at {name}=@FILE` reads one \
                             array saved by `np.save`)"
                        ))
                        .with_help("give the numbers themselves: `--at NAME=[...]`"),
                    ));
                }
                Err(chainrule::npy_values(model, &file, name, &bytes).map_err(Failure::plain)?)
            }
            None => Ok(Text::argument("--at", at)),
        });
    }
    // `--at` overrides `--values` (a values file to start from, a few names changed); the last
    // value given for a name keeps that name's last place. Within either, a name given twice
    // is refused: which value was meant cannot be told.
    let first_at = usize::from(point.values.is_some());
    let mut given: Vec<Given> = Vec::new();
    let mut at_names = std::collections::HashSet::new();
    for (i, source) in sources.into_iter().enumerate() {
        let values = match source {
            Ok(text) => chainrule::values(model, &text.text).map_err(Failure::in_text(&text))?,
            Err(values) => values,
        };
        if i >= first_at {
            // Two `--at` give a name two values as surely as one `--at` listing it twice.
            if let Some(twice) = values.iter().find(|g| !at_names.insert(g.sym)) {
                return Err(Failure::plain(
                    Diagnostic::new(format!(
                        "`{}` is given two values in `--at`",
                        model.name(twice.sym)
                    ))
                    .with_help("give each name one value: remove one of them"),
                ));
            }
        }
        given.extend(values);
    }
    let mut last_of = std::collections::HashMap::new();
    for (i, g) in given.iter().enumerate() {
        last_of.insert(g.sym, i);
    }
    let mut i = 0;
    given.retain(|g| {
        i += 1;
        last_of[&g.sym] == i - 1
    });
    Ok(given)
}

pub(super) fn eval(args: EvalArgs) -> Result<Outcome, Failure> {
    let file = args.source.file.as_deref();
    let documented = Documented::start(
        "eval",
        args.output,
        file,
        Some(&args.point),
        &[args.example.data.as_deref()],
    )?;
    let (source, mut model, targets) =
        load_with_targets(input::read_program(file)?, args.all, &args.wrt)?;
    per_layer_needs_layers(args.shown.per_layer, &model, &source.name)?;
    let start = starting_point(&source, &model, &args.point, &args.init, &args.example)?;
    let mut exprs = Vec::new();
    for text in &args.expr {
        let argument = Text::argument("--expr", text);
        let id = chainrule::formula(&mut model, text).map_err(Failure::in_text(&argument))?;
        exprs.push((text.clone(), id));
    }
    let request = chainrule::EvalRequest {
        targets,
        exprs,
        stable: args.stable,
        check_grad: args.check_grad,
        no_values: args.no_values,
        per_layer: args.shown.per_layer,
        all_values: args.shown.all_values,
    };
    let mut report = with_progress("evaluating in float64 and at high precision", || {
        chainrule::evaluate(&mut model, &start.given, &request)
    })
    .map_err(Failure::plain)?;
    report.inputs_zeroed = start.zeroed;
    let document = Document::Evaluation {
        model: &model,
        report: &report,
    };
    documented.finish(&source.name, 0, document)
}

/// A claim and where it came from, so an error can point into its file or argument.
struct ClaimSource {
    text: String,
    /// The whole text the claim is part of, and the claim's byte offset in it.
    origin: Rc<Text>,
    offset: usize,
    /// A line of a `--claims` file rather than a `--claim` argument.
    in_file: bool,
}

/// The claims of a claims file: one a line, `#` comments and blank lines skipped.
fn claims_in_file(file: Rc<Text>) -> Vec<ClaimSource> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in file.text.split_inclusive('\n') {
        let content = line.split('#').next().unwrap_or("");
        let trimmed = content.trim_end_matches(['\n', '\r']);
        if !trimmed.trim().is_empty() {
            out.push(ClaimSource {
                text: trimmed.to_string(),
                origin: file.clone(),
                offset,
                in_file: true,
            });
        }
        offset += line.len();
    }
    out
}

pub(super) fn check(args: CheckArgs) -> Result<Outcome, Failure> {
    let file = args.source.file.as_deref();
    let documented = Documented::start(
        "check",
        args.output,
        file,
        Some(&args.point),
        &[args.claims.as_deref()],
    )?;
    let (source, model) = load_program(file)?;
    let mut claims: Vec<ClaimSource> = Vec::new();
    if let Some(path) = &args.claims {
        claims.extend(claims_in_file(Rc::new(input::read_text(path)?)));
    }
    for text in &args.claim {
        claims.push(ClaimSource {
            text: text.clone(),
            origin: Rc::new(Text::argument("--claim", text)),
            offset: 0,
            in_file: false,
        });
    }
    if claims.is_empty() {
        return Err(Failure::plain(
            Diagnostic::new("no claims to check").with_help(
                "give claims with `--claim 'dC/dw3 = ...'` or a file with `--claims FILE`",
            ),
        ));
    }
    let model = chainrule::with_learning_rate(&model);
    let given = given_values(&model, &args.point)?;
    documented.warn_outside_domain(&model, &given, &source.name)?;
    let texts: Vec<String> = claims.iter().map(|c| c.text.clone()).collect();
    let mut checked = Vec::with_capacity(claims.len());
    let matrices = chainrule::matrix_program(&source.text).map_err(Failure::in_text(&source))?;
    let judged = match args.optimizer.as_deref() {
        Some(code) => {
            let kind = chainrule::OptimizerKind::from_code(code)
                .expect("clap admits only the optimizers' codes");
            chainrule::check_claims_for(kind, matrices.as_ref(), &model, &texts, &given)
        }
        None => chainrule::check_claims(matrices.as_ref(), &model, &texts, &given),
    };
    for (result, claim) in judged.into_iter().zip(&claims) {
        match result {
            Ok(c) => checked.push(c),
            Err(e) => {
                let mut diagnostic = *e.diagnostic;
                let shift = |s: Span| Span::new(s.start + claim.offset, s.end + claim.offset);
                diagnostic.span = diagnostic.span.map(shift);
                for note in &mut diagnostic.notes {
                    note.span = shift(note.span);
                }
                // A line of a worksheet that cannot be read is a verdict of its own, the rest
                // judged; a claim on the command line is refused, as any bad argument is.
                if !claim.in_file {
                    return Err(Failure::in_text(&claim.origin)(diagnostic));
                }
                let shown = diagnostic.render(&claim.origin.name, &claim.origin.text, false);
                checked.push(Checked::unreadable(&claim.text, shown));
            }
        }
    }
    // The worst verdict: an unreadable claim is bad input (2), an incorrect or undecided one 1.
    let code = checked
        .iter()
        .map(|c| match c.verdict {
            Verdict::Correct => 0,
            Verdict::Incorrect | Verdict::Unknown => 1,
            Verdict::Unreadable => 2,
        })
        .max()
        .unwrap_or(0);
    documented.finish(&source.name, code, Document::Checks(&checked))
}

pub(super) fn step(args: StepArgs) -> Result<Outcome, Failure> {
    let file = args.source.file.as_deref();
    let documented = Documented::start(
        "step",
        args.output,
        file,
        Some(&args.point),
        &[args.example.data.as_deref()],
    )?;
    let (source, mut model) = load_program(file)?;
    per_layer_needs_layers(args.shown.per_layer, &model, &source.name)?;
    let start = starting_point(&source, &model, &args.point, &args.init, &args.example)?;
    documented.warn_outside_domain(&model, &start.given, &source.name)?;
    let mut descent = with_progress("descending", || {
        chainrule::descend_with(
            &mut model,
            &start.given,
            args.lr,
            args.steps as usize,
            &args.optimizer.optimizer(),
        )
    })
    .map_err(Failure::plain)?;
    descent.inputs_zeroed = start.zeroed;
    descent.per_layer = args.shown.per_layer;
    descent.all_values = args.shown.all_values;
    let document = Document::Descent {
        model: &model,
        descent: &descent,
    };
    documented.finish(&source.name, 0, document)
}

/// Refuses `--per-layer` for a program without layers before any work: the report it asks
/// for does not exist there, and the whole report in its place would not be what was asked.
pub(super) fn per_layer_needs_layers(
    per_layer: bool,
    model: &Model,
    name: &str,
) -> Result<(), Failure> {
    if !per_layer || chainrule::has_layers(model) {
        return Ok(());
    }
    Err(Failure::plain(
        Diagnostic::new(format!(
            "`--per-layer` shows the gradient layer by layer, and {name} has no layers"
        ))
        .with_help(
            "a program has layers when it is written with the `network` shorthand, or when its \
             names say their layer (`z2_1`, `a2_1 = sigmoid(z2_1)`, `w2_1_1`, `b2_1`), two \
             layers with weights or biases at least; without `--per-layer`, the report lists \
             every value and derivative",
        ),
    ))
}

/// Warns about what a program that loads may still get wrong (a softmax over one neuron).
fn warn_about(source: &Text) {
    for caveat in chainrule::caveats(&source.text) {
        super::diagnostics::warn(&caveat, source);
    }
}

/// Reads and lowers the program (the built-in example without a file): every command's start.
pub(super) fn load_program(file: Option<&Path>) -> Result<(Text, Model), Failure> {
    let source = input::read_program(file)?;
    let model = lowered(&source)?;
    Ok((source, model))
}

/// Lowers a program read, with its caveats on standard error.
fn lowered(source: &Text) -> Result<Model, Failure> {
    let model = chainrule::load(&source.text).map_err(Failure::in_text(source))?;
    warn_about(source);
    Ok(model)
}

/// Reads and lowers the program and resolves `--wrt`/`--all`: the common start of `derive`
/// and `eval`.
fn load_with_targets(
    source: Text,
    all: bool,
    wrt: &[String],
) -> Result<(Text, Model, Vec<chainrule::Target>), Failure> {
    let model = lowered(&source)?;
    let targets = if all {
        chainrule::targets(&model, &TargetSpec::AllParams)
            .map_err(|e| Failure::in_text(&Text::argument("--wrt", &e.argument))(*e.diagnostic))?
    } else {
        wrt_targets(&model, wrt)?
    };
    Ok((source, model, targets))
}

/// The targets of every `--wrt` (each a comma-separated list); errors point into the whole
/// argument, an empty item included.
fn wrt_targets(model: &Model, wrt: &[String]) -> Result<Vec<chainrule::Target>, Failure> {
    let mut targets = Vec::new();
    for argument in wrt {
        let whole = Text::argument("--wrt", argument);
        for (at, item) in chainrule::split_items(argument) {
            if item.trim().is_empty() {
                // The comma after the gap, or at the end the one before it.
                let comma = if at + item.len() < argument.len() {
                    at + item.len()
                } else {
                    at.saturating_sub(1)
                };
                return Err(Failure::in_text(&whole)(
                    Diagnostic::at(
                        Span::new(comma, (comma + 1).min(argument.len())),
                        "a name is missing in `--wrt`",
                        "a name is missing here",
                    )
                    .with_help("separate the names with single commas: `--wrt w3,b3`"),
                ));
            }
            let list = TargetSpec::List(vec![item.to_string()]);
            let found = chainrule::targets(model, &list).map_err(|e| {
                let mut diagnostic = *e.diagnostic;
                diagnostic.span = diagnostic.span.map(|s| Span::new(s.start + at, s.end + at));
                Failure::in_text(&whole)(diagnostic)
            })?;
            for target in found {
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
        }
    }
    Ok(targets)
}

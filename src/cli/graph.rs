//! `chainrule graph`: the computation graph as SVG (`-o net.svg`), or with `--format html` a
//! page where choosing a parameter lights its paths to the cost and shows its derivation.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Args;

use chainrule::{
    DeriveConfig, Diagnostic, Document, DocumentFormat, Figure, GraphOptions, Style, TargetSpec,
};

use super::commands::{Documented, given_values, load_program};
use super::diagnostics::Failure;
use super::options::{FormatArg, OutputArgs, PointArgs};
use super::output::Outcome;

#[derive(Args)]
pub struct GraphArgs {
    /// The network (`.bp` file); `-` reads standard input; none uses the built-in example.
    file: Option<PathBuf>,
    /// A parameter whose paths to the cost are drawn highlighted (in the page: chosen first).
    #[arg(long, value_name = "NAME")]
    wrt: Option<String>,
    /// Values to show in the nodes (saturated σ and tanh neurons are marked).
    #[command(flatten)]
    point: PointArgs,
    /// `--format svg` (the default, or `-o FILE.svg`): the picture; `html`: the page with the
    /// derivations.
    #[command(flatten)]
    output: OutputArgs,
}

/// The command that writes a unit's derivation (`NAME` stands for the unit), for a unit the
/// page does not derive.
fn derive_command(file: Option<&std::path::Path>) -> String {
    let file = file.map(|f| {
        let shown = f.display().to_string();
        if shown
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
        {
            format!(" {shown}")
        } else {
            format!(" '{}'", shown.replace('\'', "'\\''"))
        }
    });
    format!("chainrule derive{} --wrt NAME", file.unwrap_or_default())
}

/// Parameters whose derivations the page holds at most; beyond, the chosen one and the units
/// offered first.
const MAX_DERIVED: usize = 64;

pub fn graph(args: GraphArgs) -> Result<Outcome, Failure> {
    let file = args.file.as_deref();
    let documented = Documented::start("graph", args.output, file, Some(&args.point), &[])?;
    let (source, mut model) = load_program(file)?;
    let name = &source.name;
    let highlight = match &args.wrt {
        None => None,
        Some(wanted) => Some(
            model
                .lookup(wanted)
                .filter(|&s| model.params().any(|p| p == s))
                .ok_or_else(|| {
                    Failure::plain(
                        Diagnostic::new(format!("`{wanted}` is not a parameter of {name}"))
                            .with_help(format!(
                                "choose one of {}",
                                model
                                    .params()
                                    .map(|p| format!("`{}`", model.name(p)))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                    )
                })?,
        ),
    };
    let mut values = HashMap::new();
    if !args.point.at.is_empty() || args.point.values.is_some() {
        let given = given_values(&model, &args.point)?;
        values = chainrule::forward_values(&model, &given)
            .map_err(Failure::plain)?
            .into_iter()
            .collect();
    }
    let FormatArg::Html = documented.format() else {
        let picture = chainrule::graph_svg(&model, &GraphOptions { values, highlight });
        return Ok(documented.outcome(picture, 0));
    };
    let layout = documented.layout(name)?;
    // A network too wide to draw name by name is drawn as one block a layer on the page.
    let blocks =
        chainrule::graph_layer_blocks(&mut model, &values, &Figure::marker("graph"), &layout)
            .map_err(documented.in_template(&layout))?;
    let (picture, sections, offered) = match blocks {
        Some((picture, sections, offered)) => (picture, Some(sections), offered),
        None => (
            chainrule::graph_svg(&model, &GraphOptions { values, highlight }),
            None,
            Vec::new(),
        ),
    };
    // The page: the picture, then the derivation of every parameter (the script shows one);
    // a large network's page derives the chosen parameter and, drawn as layers, the units
    // each layer offers without a search, so the page stays small.
    let small = model.params().count() <= MAX_DERIVED;
    let derived: Vec<String> = if small {
        model.params().map(|p| model.name(p).to_string()).collect()
    } else {
        let chosen = highlight.or_else(|| model.params().next());
        let mut derived: Vec<String> = chosen
            .map(|p| model.name(p).to_string())
            .into_iter()
            .collect();
        for unit in offered {
            if !derived.contains(&unit) {
                derived.push(unit);
            }
        }
        derived
    };
    let targets = chainrule::targets(&model, &TargetSpec::List(derived.clone()))
        .map_err(|e| Failure::in_text(&source)(*e.diagnostic))?;
    let config = DeriveConfig {
        style: Style::Chain,
        expand: false,
        // A large network's derivation is its result alone: its steps run to hundreds of kB.
        steps: small,
        expand_if_small: false,
    };
    let derivations = chainrule::derive_targets(&mut model, &targets, &config);
    let document = Document::Derivations {
        model: &model,
        derivations: &derivations,
        style: Style::Chain,
    };
    let derivation = chainrule::render(&document, DocumentFormat::Markdown, &layout)
        .map_err(documented.in_template(&layout))?;
    let (markdown, mut script) = match sections {
        Some(sections) => (
            sections + "\n" + &derivation,
            format!(
                "var chainruleDerived = {:?};\nvar chainruleDeriveCommand = {:?};\n{}",
                derived.join(" "),
                derive_command(file),
                chainrule::LAYER_SCRIPT
            ),
        ),
        None => (
            format!(
                "{}\n\nChoose a parameter in the picture: every path from it to the cost lights up, and its derivation is shown below.\n",
                Figure::marker("graph")
            ) + &derivation,
            format!(
                "var chainruleDerived = {:?};\n{}",
                derived.join(" "),
                chainrule::HIGHLIGHT_SCRIPT
            ),
        ),
    };
    if let Some(p) = highlight {
        script = format!(
            "if (!location.hash) history.replaceState(null, \"\", \"#{}\");\n{script}",
            model.name(p)
        );
    }
    let page = chainrule::html_page(
        &format!("The graph of {name}"),
        &markdown,
        &[Figure {
            name: "graph",
            svg: picture,
        }],
        &script,
        &layout,
    )
    .map_err(documented.in_template(&layout))?;
    Ok(documented.outcome(page, 0))
}

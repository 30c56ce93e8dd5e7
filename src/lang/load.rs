//! The library's front door: source text and a request in, results out.
//!
//! `load` parses and lowers a program (the built-in seed network when no file is given);
//! `targets` turns `--wrt` arguments into derivatives to take; `derive` runs the engine. Every
//! failure is a [`Diagnostic`]; the caller decides how to show it.

use std::collections::HashMap;

use crate::core::diff::Target;
use crate::core::error::{Diagnostic, Result};
use crate::core::model::{Given, Model};
use crate::lang::ast::{Ident, Program, Span};
use crate::lang::{expansion, lower, network, syntax};

/// The seed network, used when no file is given.
pub const BUILTIN_EXAMPLE: &str = include_str!("../../examples/seed.bp");

/// The name the built-in example goes by in messages.
pub const BUILTIN_NAME: &str = "<built-in example>";

/// A program as read: straight-line, or a network written with the shorthand (checked, not
/// yet expanded).
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    StraightLine(Program),
    Network(network::NetworkSpec),
}

/// Parses a program once and says which kind it is.
pub fn parse(source: &str) -> Result<Parsed> {
    let program = syntax::parse_program(source)?;
    Ok(match network::from_program(&program)? {
        Some(spec) => Parsed::Network(spec),
        None => Parsed::StraightLine(program),
    })
}

/// Parses and lowers a program. A program written with the `network` shorthand is lowered
/// through its expansion, built as a syntax tree ([`expansion::program`]), never as text.
pub fn load(source: &str) -> Result<Model> {
    match parse(source)? {
        Parsed::StraightLine(program) => lower::lower(&program),
        Parsed::Network(spec) => load_network(&spec),
    }
}

/// The layered description of a program written with the `network` shorthand (checked, not
/// expanded: the layered derivation needs no neuron-by-neuron model), or `None`.
pub fn network_spec(source: &str) -> Result<Option<network::NetworkSpec>> {
    Ok(match parse(source)? {
        Parsed::Network(spec) => Some(spec),
        Parsed::StraightLine(_) => None,
    })
}

/// What a program that loads may still get wrong: a softmax over a single output neuron is 1
/// whatever its input, so every gradient through it is 0 (the cost cannot learn from the
/// data). Empty for a program without such a trap, or one that does not load.
pub fn caveats(source: &str) -> Vec<Diagnostic> {
    let Ok(Some(spec)) = network_spec(source) else {
        return Vec::new();
    };
    let layers = spec.widths.len();
    let mut found = Vec::new();
    if spec.activation(layers) == network::Activation::Softmax && spec.widths[layers - 1] == 1 {
        found.push(
            Diagnostic::at(
                spec.span,
                format!(
                    "the softmax of layer {layers} has one neuron, so its output is exactly 1 \
                     whatever its input: every gradient through it is 0, and the network \
                     cannot learn"
                ),
                "one output neuron under softmax",
            )
            .with_help(
                "softmax needs two or more outputs (one per class, `network 2-3-2`); for one \
                 output, use `activation sigmoid` with `cost cross-entropy`",
            ),
        );
    }
    found
}

/// The training examples of a program's `data` block, checked against its model, or `None`
/// when it has none.
pub fn training_data(source: &str, model: &Model) -> Result<Option<crate::lang::data::DataSet>> {
    let program = syntax::parse_program(source)?;
    crate::lang::data::from_program(&program, model)
}

/// The straight-line form of a program: the expansion of a `network` shorthand, or the
/// program itself when it is already straight-line (after checking that it is valid).
pub fn expand(source: &str) -> Result<String> {
    match parse(source)? {
        Parsed::StraightLine(program) => {
            lower::lower(&program)?;
            Ok(source.to_string())
        }
        Parsed::Network(spec) => Ok(expansion::text(&spec)),
    }
}

/// Lowers the expansion of a network. Its spans all point at the `network` line, and a failure
/// there is a bug of the expansion, never the user's, so it says so.
pub fn load_network(spec: &network::NetworkSpec) -> Result<Model> {
    lower::lower(&expansion::program(spec)).map_err(|d| {
        Diagnostic::at(
            spec.span,
            format!(
                "internal error: the expansion of this network does not lower: {}",
                d.message
            ),
            "this network",
        )
        .with_help("please report this input as a bug")
    })
}

/// Which derivatives to take.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetSpec {
    /// The cost with respect to every parameter.
    AllParams,
    /// Names (`w3`: the cost with respect to it) or pairs (`dY/dX`, `∂Y/∂X`).
    List(Vec<String>),
}

/// An error in a command-line argument: the argument is the "source" the caret points into.
#[derive(Clone, Debug, PartialEq)]
pub struct ArgumentError {
    pub argument: String,
    pub diagnostic: Box<Diagnostic>,
}

impl std::fmt::Display for ArgumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "in `{}`: {}", self.argument, self.diagnostic)
    }
}

impl std::error::Error for ArgumentError {}

/// Resolves the targets against the model. Names that are not in the program are errors with
/// the nearest known name suggested; the diagnostic's span points into the argument text.
pub fn targets(
    model: &Model,
    spec: &TargetSpec,
) -> std::result::Result<Vec<Target>, ArgumentError> {
    match spec {
        TargetSpec::AllParams => Ok(model
            .params()
            .map(|p| Target {
                of: model.cost,
                wrt: p,
            })
            .collect()),
        TargetSpec::List(items) => {
            let mut out = Vec::new();
            for item in items {
                let target = parse_target(model, item).map_err(|diagnostic| ArgumentError {
                    argument: item.clone(),
                    diagnostic: Box::new(diagnostic),
                })?;
                if !out.contains(&target) {
                    out.push(target);
                }
            }
            Ok(out)
        }
    }
}

fn parse_target(model: &Model, text: &str) -> Result<Target> {
    let trimmed = text.trim();
    let offset = text.len() - text.trim_start().len();
    if let Some((of, wrt)) = split_pair(trimmed) {
        let of_start = offset + trimmed.find(of).unwrap_or(0);
        let wrt_start = offset + trimmed.rfind(wrt).unwrap_or(0);
        let of = resolve(model, of, of_start)?;
        let wrt = resolve(model, wrt, wrt_start)?;
        return Ok(Target { of, wrt });
    }
    let wrt = resolve(model, trimmed, offset)?;
    Ok(Target {
        of: model.cost,
        wrt,
    })
}

/// `dY/dX` or `∂Y/∂X` split into `Y` and `X`.
fn split_pair(text: &str) -> Option<(&str, &str)> {
    let (top, bottom) = text.split_once('/')?;
    let of = top
        .strip_prefix('d')
        .or_else(|| top.strip_prefix('∂'))?
        .trim();
    let wrt = bottom
        .trim()
        .strip_prefix('d')
        .or_else(|| bottom.trim().strip_prefix('∂'))?
        .trim();
    (!of.is_empty() && !wrt.is_empty()).then_some((of, wrt))
}

fn resolve(model: &Model, name: &str, start: usize) -> Result<crate::core::expr::Sym> {
    known(model, model.lookup(name), name, start)
}

/// The symbol a name was found to be, or the error for a name the program does not have.
fn known(
    model: &Model,
    found: Option<crate::core::expr::Sym>,
    name: &str,
    start: usize,
) -> Result<crate::core::expr::Sym> {
    let ident = Ident {
        name: name.to_string(),
        span: Span::new(start, start + name.len()),
    };
    found.ok_or_else(|| lower::unknown_name(&ident, model.symbols.iter().map(|s| &s.name)))
}

/// Parses a formula in the input language against the model's names: `--expr`, claims and
/// the round trip of printed results. Derivative references (`dC/dw3`) are kept as
/// unevaluated derivatives; `diff::resolve_derivatives` evaluates them.
pub fn parse_formula(model: &mut Model, text: &str) -> Result<crate::core::expr::Id> {
    let expr = syntax::parse_expr(text)?;
    let symbols = &model.symbols;
    let result = lower::lower_expr_with(&mut model.graph, &expr, &mut |graph, ident| match symbols
        .iter()
        .position(|s| s.name == ident.name)
    {
        Some(i) => Ok(graph.var(crate::core::expr::Sym(i as u32))),
        None => Err(ident.clone()),
    });
    match result {
        Ok(id) => Ok(id),
        Err(lower::LowerFailure::Name(ident)) => Err(lower::unknown_name(
            &ident,
            model.symbols.iter().map(|s| &s.name),
        )),
        Err(lower::LowerFailure::Error(d)) => Err(d),
    }
}

/// Parses `NAME=VALUE` pairs separated by commas or newlines (`#` starts a comment), as
/// `--at` and `--values` take them. Spans in the diagnostic point into `text`.
pub fn parse_assignments(model: &Model, text: &str) -> Result<Vec<Given>> {
    // A values file names every leaf (24,658 lines for 784-30-10): names are found through an
    // index, not a scan of the symbol table per line.
    let mut index: HashMap<&str, crate::core::expr::Sym> = HashMap::new();
    for s in model.syms() {
        // the first symbol of a name, as `Model::lookup` finds it
        index.entry(model.name(s)).or_insert(s);
    }
    let mut out: Vec<Given> = Vec::new();
    let mut position_of: HashMap<crate::core::expr::Sym, usize> = HashMap::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.split('#').next().unwrap_or("");
        let mut item_start = offset;
        for item in content.split(',') {
            let start = item_start + (item.len() - item.trim_start().len());
            item_start += item.len() + 1;
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let Some((name, value)) = item.split_once('=') else {
                return Err(Diagnostic::at(
                    Span::new(start, start + item.len()),
                    format!("`{item}` is not of the form NAME=VALUE"),
                    "expected `NAME=VALUE`",
                )
                .with_help("write each value as NAME=VALUE, e.g. `x=0.5, w3=-1.2`"));
            };
            let name_trimmed = name.trim();
            let name_start = start + (name.len() - name.trim_start().len());
            let found = index.get(name_trimmed).copied();
            let sym = known(model, found, name_trimmed, name_start)?;
            let value_text = value.trim();
            let value_start = start + name.len() + 1 + (value.len() - value.trim_start().len());
            let parsed = value_text
                .replace('−', "-")
                .parse::<f64>()
                .ok()
                .filter(|v| {
                    // beyond float64's range (`1e309`, `1e-400`) is accepted: the reference
                    // uses the decimal exactly and eval warns about float64's reading of it
                    !v.is_nan()
                        && crate::core::eval::Precise::parse_decimal(
                            &value_text.replace('−', "-"),
                            64,
                        )
                        .is_some_and(|p| p.is_finite())
                });
            if value_text.is_empty() {
                let at = start + name.len();
                return Err(Diagnostic::at(
                    Span::new(at, at + 1),
                    format!("no value after `{name_trimmed}=`"),
                    "expected a number after this `=`",
                ));
            }
            let Some(number) = parsed else {
                return Err(Diagnostic::at(
                    Span::new(value_start, value_start + value_text.len().max(1)),
                    format!("`{value_text}` is not a number"),
                    "expected a number such as `0.5`, `-2` or `1e-3`",
                ));
            };
            if let Some(&previous) = position_of.get(&sym) {
                out[previous].text = value_text.replace('−', "-");
                out[previous].value = number;
            } else {
                position_of.insert(sym, out.len());
                out.push(Given {
                    sym,
                    text: value_text.replace('−', "-"),
                    value: number,
                });
            }
        }
        offset += line.len();
    }
    Ok(out)
}

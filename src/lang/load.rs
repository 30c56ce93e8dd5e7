//! The library's front door: source text and a request in, results out.
//!
//! `load` parses and lowers a program (the built-in seed network when no file is given);
//! `targets` turns `--wrt` arguments into derivatives to take; `derive` runs the engine. Every
//! failure is a [`Diagnostic`]; the caller decides how to show it.

use std::collections::HashMap;

use crate::core::diff::Target;
use crate::core::error::{Diagnostic, Result};
use crate::core::expr::{Graph, Sym};
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
/// through its expansion, built as a syntax tree ([`expansion::program_for_lowering`], its
/// L2 penalty's squares built straight into the graph), never as text.
pub fn load(source: &str) -> Result<Model> {
    match parse(source)? {
        Parsed::StraightLine(program) => lower::lower(&program),
        Parsed::Network(spec) => load_network(&spec),
    }
}

/// A vector program's tensor model with the derivation in matrix form of its cost's gradients
/// (whose formulas and named error terms are of that model).
#[derive(Clone)]
pub struct MatrixForm {
    pub model: Model,
    pub derivation: crate::core::matrix_diff::MatrixDerivation,
    /// The `network` shorthand the program is the vector form of (`derive --layers`).
    pub network: Option<network::NetworkSpec>,
}

/// The derivation in matrix form of a vector program's gradients
/// ([`crate::core::matrix_diff::derive`]); `None` for a scalar program or the `network`
/// shorthand. An operation the matrix-form derivation does not handle yet is an error (the
/// entry-by-entry derivation handles every program).
pub fn matrix_form(source: &str) -> Result<Option<MatrixForm>> {
    let Parsed::StraightLine(program) = parse(source)? else {
        return Ok(None);
    };
    derived(&program, None)
}

/// The derivation in matrix form of a `network` shorthand: of its vector form over one example
/// ([`crate::lang::vector_form`]), as `derive --layers` presents it; `None` for a straight-line
/// program (which is read and checked all the same, so that its mistakes are reported first).
pub fn layered(source: &str) -> Result<Option<MatrixForm>> {
    let spec = match parse(source)? {
        Parsed::Network(spec) => spec,
        Parsed::StraightLine(program) => {
            lower::lower(&program)?;
            return Ok(None);
        }
    };
    let vector = syntax::parse_program(&crate::lang::vector_form::text(&spec, None))?;
    derived(&vector, Some(spec))
}

fn derived(program: &Program, network: Option<network::NetworkSpec>) -> Result<Option<MatrixForm>> {
    let Some((mut model, layout)) = lower::lower_tensor(program)? else {
        return Ok(None);
    };
    let derivation = crate::core::matrix_diff::derive(&mut model, layout)?;
    Ok(Some(MatrixForm {
        model,
        derivation,
        network,
    }))
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
/// when it has none; the inputs and targets `given` has values for are held at them (see
/// [`crate::lang::data::from_program`]).
pub fn training_data(
    source: &str,
    model: &Model,
    given: &[Given],
    overlap: crate::lang::data::Overlap,
) -> Result<Option<crate::lang::data::DataSet>> {
    let program = syntax::parse_program(source)?;
    crate::lang::data::from_program(&program, model, given, overlap)
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

/// The vector form of a program written with the `network` shorthand (`expand --vector`),
/// over one example or a batch of `batch` examples (the cost averaged over them). A
/// straight-line program has none: the error says so.
pub fn expand_vector(source: &str, batch: Option<u32>) -> Result<String> {
    match parse(source)? {
        Parsed::Network(spec) => Ok(crate::lang::vector_form::text(&spec, batch)),
        Parsed::StraightLine(program) => {
            lower::lower(&program)?;
            Err(Diagnostic::new(
                "the vector form is written for a `network` shorthand; this is a straight-line \
                 program",
            )
            .with_help("describe the network as `network 2-3-1` with its option lines"))
        }
    }
}

/// Lowers the expansion of a network. Its spans all point at the `network` line, and a failure
/// there is a bug of the expansion, never the user's, so it says so.
pub fn load_network(spec: &network::NetworkSpec) -> Result<Model> {
    let build = |graph: &mut Graph, weight: &dyn Fn(&str) -> Sym| {
        expansion::penalty_sum(spec, graph, weight)
    };
    let penalty = lower::PrebuiltSum {
        name: expansion::PENALTY_SUM,
        build: &build,
    };
    lower::lower_with_sum(&expansion::program_for_lowering(spec), penalty).map_err(|d| {
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
                // A whole vector or matrix (`--wrt W2`): the cost with respect to each entry.
                if model.lookup(item.trim()).is_none()
                    && let Some(array) = model.array(item.trim())
                {
                    for &wrt in &array.entries {
                        let target = Target {
                            of: model.cost,
                            wrt,
                        };
                        if !out.contains(&target) {
                            out.push(target);
                        }
                    }
                    continue;
                }
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
    known(model, lookup_entry(model, name), name, start)
}

/// A name of the model, or an entry of an array written with its indices: `W2[1, 2]` (spaces
/// allowed), and `b2[1]` for an array of one entry (which is named `b2`).
pub fn lookup_entry(model: &Model, name: &str) -> Option<crate::core::expr::Sym> {
    if let Some(s) = model.lookup(name) {
        return Some(s);
    }
    let (base, rest) = name.split_once('[')?;
    let inside = rest.strip_suffix(']')?;
    let indices: Vec<u32> = inside
        .split(',')
        .map(|i| i.trim().parse::<u32>().ok().filter(|&i| i >= 1))
        .collect::<Option<_>>()?;
    let array = model.array(base.trim())?;
    let shape = array.shape;
    let (row, col) = match indices.as_slice() {
        [i] if shape.cols == 1 => (*i, 1),
        [j] if shape.rows == 1 => (1, *j),
        [i, j] => (*i, *j),
        _ => return None,
    };
    if row > shape.rows || col > shape.cols {
        return None;
    }
    array
        .entries
        .get(((row - 1) * shape.cols + (col - 1)) as usize)
        .copied()
}

/// The items of a comma-separated list, each with its byte offset; a comma inside brackets
/// (`W2[1,2]`, `[[1, 2], [3, 4]]`) does not separate.
pub fn split_items(text: &str) -> Vec<(usize, &str)> {
    split_outside_brackets(text, false)
}

/// The items of `text` split at commas (and at line breaks when `lines`) outside brackets,
/// each with its byte offset.
fn split_outside_brackets(text: &str, lines: bool) -> Vec<(usize, &str)> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push((start, &text[start..i]));
                start = i + 1;
            }
            '\n' if lines && depth == 0 => {
                items.push((start, &text[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push((start, &text[start..]));
    items
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
///
/// The value of a vector or matrix may be an array (`x=[1, 2]`, `W2=[[0.1, 0.2], [0.3, 0.4]]`,
/// over several lines too) of the declared shape, and an entry may be named with its indices
/// (`W2[1, 2]=0.5`).
pub fn parse_assignments(model: &Model, text: &str) -> Result<Vec<Given>> {
    let index = name_index(model);
    // Comments blanked out (offsets kept), then items split at commas and line breaks outside
    // brackets.
    let mut blanked = String::with_capacity(text.len());
    // A byte-order mark (Notepad's and Excel's UTF-8) is not part of the first name: blanked
    // like a comment, one space a byte.
    let text_after_mark = match text.strip_prefix('\u{FEFF}') {
        Some(rest) => {
            blanked.push_str(&" ".repeat('\u{FEFF}'.len_utf8()));
            rest
        }
        None => text,
    };
    for line in text_after_mark.split_inclusive('\n') {
        match line.find('#') {
            Some(at) => {
                blanked.push_str(&line[..at]);
                // one space a byte, so that offsets into the text stay right
                blanked.extend(
                    line[at..]
                        .bytes()
                        .map(|b| if b == b'\n' { '\n' } else { ' ' }),
                );
            }
            None => blanked.push_str(line),
        }
    }
    let mut out: Vec<Given> = Vec::new();
    // Where each name (or entry) was given: a second value is refused, not silently taken.
    let mut given_at: HashMap<crate::core::expr::Sym, Span> = HashMap::new();
    let mut push = |given: Given, name_span: Span| -> Result<()> {
        if let Some(&first) = given_at.get(&given.sym) {
            return Err(Diagnostic::at(
                name_span,
                format!("`{}` is given two values", model.name(given.sym)),
                "given again here",
            )
            .with_note(first, "first given here")
            .with_help("give each name one value: remove one of them"));
        }
        given_at.insert(given.sym, name_span);
        out.push(given);
        Ok(())
    };
    for (item_start, raw) in split_items_and_lines(&blanked) {
        let start = item_start + (raw.len() - raw.trim_start().len());
        let item = raw.trim();
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
        let name_span = Span::new(name_start, name_start + name_trimmed.len());
        let value_text = value.trim();
        let value_start = start + name.len() + 1 + (value.len() - value.trim_start().len());
        if value_text.is_empty() {
            let at = start + name.len();
            return Err(Diagnostic::at(
                Span::new(at, at + 1),
                format!("no value after `{name_trimmed}=`"),
                "expected a number after this `=`",
            ));
        }
        if value_text.starts_with('[') {
            let Some(array) = model.array(name_trimmed) else {
                let found = index
                    .get(name_trimmed)
                    .copied()
                    .or_else(|| lookup_entry(model, name_trimmed));
                known(model, found, name_trimmed, name_start)?;
                return Err(Diagnostic::at(
                    Span::new(value_start, value_start + value_text.len()),
                    format!("`{name_trimmed}` is a scalar and takes one number"),
                    "an array",
                ));
            };
            let cells = array_cells(value_text, value_start, array)?;
            for (&sym, (text, number)) in array.entries.iter().zip(cells) {
                push(
                    Given {
                        sym,
                        text,
                        value: number,
                    },
                    name_span,
                )?;
            }
            continue;
        }
        let found = index
            .get(name_trimmed)
            .copied()
            .or_else(|| lookup_entry(model, name_trimmed));
        if found.is_none()
            && let Some(array) = model.array(name_trimmed)
        {
            return Err(Diagnostic::at(
                Span::new(value_start, value_start + value_text.len()),
                format!(
                    "`{name_trimmed}` is {} and takes an array of that shape",
                    array.shape
                ),
                "one number",
            )
            .with_help(format!(
                "write `{name_trimmed}=[...]` ({} rows of {} numbers, `[[..], [..]]`), or name \
                 one entry: `{}=...`",
                array.shape.rows,
                array.shape.cols,
                model.name(array.entries[0])
            )));
        }
        let sym = known(model, found, name_trimmed, name_start)?;
        let (text, number) = number_at(value_text, value_start)?;
        push(
            Given {
                sym,
                text,
                value: number,
            },
            name_span,
        )?;
    }
    Ok(out)
}

/// Each name's symbol: values name every leaf (24,658 for 784-30-10), found through an index
/// rather than a scan of the symbol table per value.
fn name_index(model: &Model) -> HashMap<&str, crate::core::expr::Sym> {
    let mut index = HashMap::with_capacity(model.symbols.len());
    for s in model.syms() {
        // the first symbol of a name, as `Model::lookup` finds it
        index.entry(model.name(s)).or_insert(s);
    }
    index
}

/// A number as written in a values list: its text (`−` read as `-`) and its float64 value.
fn number_at(value_text: &str, value_start: usize) -> Result<(String, f64)> {
    let normal = value_text.replace('−', "-");
    let parsed = normal.parse::<f64>().ok().filter(|v| {
        // beyond float64's range (`1e309`, `1e-400`) is accepted: the reference
        // uses the decimal exactly and eval warns about float64's reading of it
        !v.is_nan()
            && crate::core::eval::Precise::parse_decimal(&normal, 64).is_some_and(|p| p.is_finite())
    });
    match parsed {
        Some(number) => Ok((normal, number)),
        None => Err(Diagnostic::at(
            Span::new(value_start, value_start + value_text.len().max(1)),
            format!("`{value_text}` is not a number"),
            "expected a number such as `0.5`, `-2` or `1e-3`",
        )),
    }
}

/// A value a program gives a name as a number rather than as text ([`values_of`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar's value, or one entry's named on its own (`W1_2_3`, `W1[2, 3]`).
    Number(f64),
    /// A vector's entries, whichever way it stands.
    Vector(Vec<f64>),
    /// A matrix's rows.
    Matrix(Vec<Vec<f64>>),
}

/// The values given by name as numbers (a Python dict, NumPy arrays among them), read as
/// [`parse_assignments`] reads `NAME=VALUE` text, with no text to write and parse again: the
/// reference starts from each float64's shortest decimal. An error's caret points into the
/// name at fault (the error's `argument`).
pub fn values_of(
    model: &Model,
    values: &[(String, Value)],
) -> std::result::Result<Vec<Given>, ArgumentError> {
    let index = name_index(model);
    let mut out: Vec<Given> = Vec::with_capacity(values.len());
    let mut given: HashMap<crate::core::expr::Sym, &str> = HashMap::with_capacity(values.len());
    for (name, value) in values {
        let refuse = |diagnostic: Diagnostic| ArgumentError {
            argument: name.clone(),
            diagnostic: Box::new(diagnostic.about(crate::core::error::Input::Point)),
        };
        let whole = Span::new(0, name.len());
        let found = index
            .get(name.as_str())
            .copied()
            .or_else(|| lookup_entry(model, name));
        let cells: Vec<(crate::core::expr::Sym, f64)> = match (value, model.array(name)) {
            (Value::Number(x), None) => vec![(known(model, found, name, 0).map_err(refuse)?, *x)],
            (Value::Number(x), Some(array)) => match found {
                Some(sym) => vec![(sym, *x)],
                None => {
                    return Err(refuse(Diagnostic::at(
                        whole,
                        format!(
                            "`{name}` is {} and takes an array of that shape",
                            array.shape
                        ),
                        "given one number",
                    )));
                }
            },
            (Value::Vector(_) | Value::Matrix(_), None) => {
                known(model, found, name, 0).map_err(refuse)?;
                return Err(refuse(Diagnostic::at(
                    whole,
                    format!("`{name}` is a scalar and takes one number"),
                    "given an array",
                )));
            }
            (Value::Vector(xs), Some(array)) => {
                let shape = array.shape;
                if shape.rows != 1 && shape.cols != 1 || xs.len() != shape.len() {
                    return Err(refuse(Diagnostic::at(
                        whole,
                        format!(
                            "`{name}` is {shape}, but this array has {} numbers",
                            xs.len()
                        ),
                        format!("given {} numbers", xs.len()),
                    )));
                }
                array
                    .entries
                    .iter()
                    .copied()
                    .zip(xs.iter().copied())
                    .collect()
            }
            (Value::Matrix(rows), Some(array)) => {
                let shape = array.shape;
                let cols = rows.first().map_or(0, Vec::len);
                if rows.iter().any(|r| r.len() != cols) {
                    return Err(refuse(Diagnostic::at(
                        whole,
                        format!("the rows of the array given `{name}` differ in length"),
                        "ragged rows",
                    )));
                }
                if rows.len() != shape.rows as usize || cols != shape.cols as usize {
                    return Err(refuse(Diagnostic::at(
                        whole,
                        format!(
                            "`{name}` is {shape}, but this array has {} rows of {cols}",
                            rows.len()
                        ),
                        format!("given {} rows of {cols}", rows.len()),
                    )));
                }
                array
                    .entries
                    .iter()
                    .copied()
                    .zip(rows.iter().flatten().copied())
                    .collect()
            }
        };
        for (sym, x) in cells {
            if !x.is_finite() {
                return Err(refuse(Diagnostic::at(
                    whole,
                    format!("`{name}` is given {x}, not a number chainrule can evaluate at"),
                    "not a finite number",
                )));
            }
            if let Some(first) = given.insert(sym, name) {
                return Err(refuse(Diagnostic::at(
                    whole,
                    format!("`{}` is given two values", model.name(sym)),
                    format!("also given as `{first}`"),
                )));
            }
            out.push(Given {
                sym,
                // Rust's shortest round-trip digits, exponent and all (`1e-7`), as an `.npy`
                // file's numbers are written.
                text: format!("{x:?}"),
                value: x,
            });
        }
    }
    Ok(out)
}

/// The items of a values list: split at commas and line breaks outside brackets.
fn split_items_and_lines(text: &str) -> Vec<(usize, &str)> {
    split_outside_brackets(text, true)
}

/// The numbers of an array value, row-major, checked against the array's shape: a flat list
/// for a vector (`[1, 2, 3]`), a list of rows for a matrix (`[[1, 2], [3, 4]]`).
fn array_cells(
    text: &str,
    start: usize,
    array: &crate::core::tensor::Array,
) -> Result<Vec<(String, f64)>> {
    let whole = Span::new(start, start + text.len());
    fn inner(t: &str) -> Option<&str> {
        t.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
    }
    let Some(body) = inner(text) else {
        return Err(Diagnostic::at(
            whole,
            "this array is not closed",
            "expected `]` at the end",
        ));
    };
    let body_start = start + 1;
    let shape = array.shape;
    // rows, each a list of (text, offset)
    let mut rows: Vec<Vec<(usize, &str)>> = Vec::new();
    let nested = body.trim_start().starts_with('[');
    if nested {
        for (at, row) in split_items(body) {
            let lead = row.len() - row.trim_start().len();
            let row_text = row.trim();
            let Some(cells) = inner(row_text) else {
                return Err(Diagnostic::at(
                    Span::new(
                        body_start + at + lead,
                        body_start + at + lead + row_text.len().max(1),
                    ),
                    "expected a row `[..]` of numbers",
                    "not a row",
                ));
            };
            let cells_start = body_start + at + lead + 1;
            rows.push(
                split_items(cells)
                    .into_iter()
                    .map(|(k, c)| (cells_start + k, c))
                    .collect(),
            );
        }
    } else {
        rows.push(
            split_items(body)
                .into_iter()
                .map(|(k, c)| (body_start + k, c))
                .collect(),
        );
    }
    let given = if nested {
        let cols = rows.first().map_or(0, Vec::len);
        if rows.iter().any(|r| r.len() != cols) {
            return Err(Diagnostic::at(
                whole,
                "the rows of this array differ in length",
                "ragged rows",
            ));
        }
        crate::core::tensor::Shape::new(rows.len() as u32, cols as u32)
    } else {
        // a flat list fills a vector, whichever way it stands
        let n = rows[0].len() as u32;
        if shape.rows == 1 {
            crate::core::tensor::Shape::new(1, n)
        } else {
            crate::core::tensor::Shape::new(n, 1)
        }
    };
    if given != shape {
        let written = if nested {
            format!("{} rows of {}", given.rows, given.cols)
        } else {
            format!("{} numbers", given.len())
        };
        return Err(Diagnostic::at(
            whole,
            format!("`{}` is {shape}, but this array has {written}", array.name),
            format!("{given}, not {shape}"),
        )
        .with_help(if shape.cols == 1 || shape.rows == 1 {
            format!("give {} numbers: `{}=[...]`", shape.len(), array.name)
        } else {
            format!(
                "give {} rows of {} numbers: `{}=[[..], [..]]`",
                shape.rows, shape.cols, array.name
            )
        }));
    }
    rows.into_iter()
        .flatten()
        .map(|(at, cell)| {
            let lead = cell.len() - cell.trim_start().len();
            number_at(cell.trim(), at + lead)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::expr::Id;

    /// The L2 penalty built straight into the graph is the very graph lowering its syntax tree
    /// builds: the same nodes with the same ids (printing and simplifying go by id order), the
    /// same definitions, for layers and rows of one weight as for wide ones.
    #[test]
    fn the_penalty_built_in_the_graph_is_the_one_its_tree_lowers_to() {
        for source in [
            "network 1-1\nregularization l2",
            "network 2-1\nregularization l2",
            "network 1-2\nregularization l2",
            "network 1-2-1\nregularization l2",
            "network 3-1-2\nactivation tanh\ncost cross-entropy\nregularization l2",
            "network 2-3-4-3\nactivation relu\nbiases none\nregularization l2",
            "network 4-12-11\nactivation softplus\ncost half-quadratic\nregularization l2",
            "network 2-3-2",
        ] {
            let spec = network_spec(source).unwrap().unwrap();
            let direct = load_network(&spec).unwrap();
            let from_tree = lower::lower(&expansion::program(&spec)).unwrap();
            assert_eq!(direct.graph.len(), from_tree.graph.len(), "{source}");
            for i in 0..direct.graph.len() {
                let id = Id(i as u32);
                assert_eq!(
                    direct.graph.node(id),
                    from_tree.graph.node(id),
                    "{source}: {i}"
                );
            }
            assert_eq!(direct.definitions, from_tree.definitions, "{source}");
            assert_eq!(direct.order, from_tree.order, "{source}");
            assert_eq!(direct.cost, from_tree.cost, "{source}");
            let names = |m: &Model| -> Vec<String> {
                m.symbols
                    .iter()
                    .map(|s| format!("{} {:?} {:?}", s.name, s.kind, s.display))
                    .collect()
            };
            assert_eq!(names(&direct), names(&from_tree), "{source}");
        }
    }
}

//! Training data: the examples `train` learns from, from a `data` block of a `.bp` file or the
//! text of a CSV file, checked against the model's names.
//!
//! Every column is named after an input or a target, and every input and target has a column;
//! each row gives one number per column. A mistake points at its cell, column name or row. The
//! CSV reader takes what spreadsheets and `numpy.savetxt` write for numbers (a header line,
//! commas, optional quotes around a header name, blank lines, `#` comments): cells are numbers
//! only, so quoting rules beyond the header are not needed, and our own reader can point a
//! caret at the very cell that is wrong.

use crate::core::error::{Diagnostic, Result, Span};
use crate::core::expr::Sym;
use crate::core::model::{Model, SymKind};
use crate::lang::ast::{DataRow, Ident, Program, Stmt};
use crate::lang::lower;

/// Examples as rows of numbers, one column per input or target.
#[derive(Clone, Debug, PartialEq)]
pub struct DataSet {
    /// The name each column gives a value to, in the order written.
    pub columns: Vec<Sym>,
    /// One example a row, one number per column.
    pub rows: Vec<Vec<f64>>,
}

impl DataSet {
    /// The example's values as (name, value) pairs.
    pub fn example(&self, row: usize) -> impl Iterator<Item = (Sym, f64)> + '_ {
        self.columns
            .iter()
            .copied()
            .zip(self.rows[row].iter().copied())
    }
}

/// The `data` block of a program, checked against the model, or `None` when it has none.
pub fn from_program(program: &Program, model: &Model) -> Result<Option<DataSet>> {
    let mut blocks = program.statements.iter().filter_map(|s| match s {
        Stmt::Data {
            columns,
            rows,
            span,
        } => Some((columns, rows, *span)),
        _ => None,
    });
    let Some((columns, rows, span)) = blocks.next() else {
        return Ok(None);
    };
    if let Some((_, _, second)) = blocks.next() {
        return Err(
            Diagnostic::at(second, "a second `data` block", "second data block")
                .with_note(span, "the first `data` block is here")
                .with_help("put every example in one block"),
        );
    }
    let columns = resolve_columns(columns, model)?;
    if rows.is_empty() {
        return Err(
            Diagnostic::at(span, "this `data` block has no rows", "empty")
                .with_help("write one example a line, e.g. `2, 1`, before `end`"),
        );
    }
    Ok(Some(DataSet {
        columns,
        rows: rows.iter().map(|r: &DataRow| r.values.clone()).collect(),
    }))
}

/// Reads CSV text: a header naming inputs and targets, then one example a line. Spans in the
/// diagnostic point into `text`.
pub fn parse_csv(text: &str, model: &Model) -> Result<DataSet> {
    let mut header: Option<Vec<Ident>> = None;
    let mut rows = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.split('#').next().unwrap_or("");
        let content = content.trim_end_matches(['\n', '\r']);
        if content.trim().is_empty() {
            continue;
        }
        let cells = cells(content, start);
        match &header {
            None => {
                header = Some(
                    cells
                        .into_iter()
                        .map(|(cell, span)| {
                            let name = cell.trim_matches('"');
                            let skip = cell.len() - cell.trim_start_matches('"').len();
                            Ident {
                                name: name.to_string(),
                                span: Span::new(span.start + skip, span.start + skip + name.len()),
                            }
                        })
                        .collect(),
                );
            }
            Some(names) => {
                if cells.len() != names.len() {
                    return Err(Diagnostic::at(
                        Span::new(start, start + content.len().max(1)),
                        format!(
                            "this row has {} value{} but the header names {} column{}",
                            cells.len(),
                            plural(cells.len()),
                            names.len(),
                            plural(names.len())
                        ),
                        "wrong number of values",
                    )
                    .with_help("give one number for each column of the header line"));
                }
                let mut row = Vec::with_capacity(cells.len());
                for (cell, span) in cells {
                    let value = cell
                        .replace('−', "-")
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| {
                            Diagnostic::at(
                                Span::new(span.start, span.end.max(span.start + 1)),
                                format!("`{cell}` is not a number"),
                                "expected a number such as `0.5`, `-2` or `1e-3`",
                            )
                        })?;
                    row.push(value);
                }
                rows.push(row);
            }
        }
    }
    let Some(names) = header else {
        return Err(Diagnostic::new("the CSV file is empty").with_help(
            "write a header line naming the inputs and targets (`x,y`), then one example a line",
        ));
    };
    let columns = resolve_columns(&names, model)?;
    if rows.is_empty() {
        return Err(Diagnostic::at(
            names[0].span,
            "the CSV file has a header but no examples",
            "header",
        )
        .with_help("write one example a line after the header"));
    }
    Ok(DataSet { columns, rows })
}

/// The cells of a line, trimmed, with their spans in the whole text.
fn cells(content: &str, line_start: usize) -> Vec<(&str, Span)> {
    let mut out = Vec::new();
    let mut at = line_start;
    for cell in content.split(',') {
        let lead = cell.len() - cell.trim_start().len();
        let trimmed = cell.trim();
        out.push((trimmed, Span::new(at + lead, at + lead + trimmed.len())));
        at += cell.len() + 1;
    }
    out
}

/// Each column's name, which must be an input or a target; every input and target needs one.
fn resolve_columns(names: &[Ident], model: &Model) -> Result<Vec<Sym>> {
    let mut columns: Vec<Sym> = Vec::with_capacity(names.len());
    for ident in names {
        let sym = model.lookup(&ident.name).ok_or_else(|| {
            lower::unknown_name(
                ident,
                model
                    .symbols
                    .iter()
                    .filter(|s| matches!(s.kind, SymKind::Input | SymKind::Target))
                    .map(|s| &s.name),
            )
        })?;
        let kind = model.symbol(sym).kind;
        if !matches!(kind, SymKind::Input | SymKind::Target) {
            return Err(Diagnostic::at(
                ident.span,
                format!(
                    "`{}` is {} {}, not an input or a target",
                    ident.name,
                    if kind == SymKind::Intermediate {
                        "an"
                    } else {
                        "a"
                    },
                    kind.word()
                ),
                "not a data column",
            )
            .with_help(match kind {
                SymKind::Param => {
                    "training learns the parameters: start them with `--init` or `--at`"
                }
                _ => "data gives values to inputs and targets; the rest is computed from them",
            }));
        }
        if let Some(i) = columns.iter().position(|&c| c == sym) {
            return Err(Diagnostic::at(
                ident.span,
                format!("the column `{}` appears twice", ident.name),
                "second column of this name",
            )
            .with_note(names[i].span, "the first is here"));
        }
        columns.push(sym);
    }
    let missing: Vec<String> = model
        .syms()
        .filter(|&s| matches!(model.symbol(s).kind, SymKind::Input | SymKind::Target))
        .filter(|s| !columns.contains(s))
        .map(|s| format!("`{}`", model.name(s)))
        .collect();
    if !missing.is_empty() {
        let span = names
            .first()
            .map(|f| f.span.to(names.last().map_or(f.span, |l| l.span)))
            .unwrap_or(Span::new(0, 0));
        return Err(Diagnostic::at(
            span,
            format!("the data has no column for {}", missing.join(", ")),
            "the columns",
        )
        .with_help("every input and target needs a column: one number per example"));
    }
    Ok(columns)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

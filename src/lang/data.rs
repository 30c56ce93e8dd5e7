//! Training data: the examples `train` learns from, from a `data` block of a `.bp` file or the
//! text of a CSV file, checked against the model's names.
//!
//! Every column is named after an input or a target, and every input and target has a column
//! unless it is given one value outside the data (`--at`, a values file): that value is then
//! held for every example, as a column of its own. Each row gives one number per column. A
//! mistake points at its cell, column name or row. CSV is read by `csv-core` (the `csv` crate's
//! parser, which reports how many bytes each cell took, so a caret can point at the very cell
//! that is wrong): what spreadsheets and `numpy.savetxt` write (a header line, commas, quoted
//! cells, `\r\n` line ends, blank lines, lines starting with `#`).

use crate::core::error::{Diagnostic, Input, Result, Span};
use crate::core::expr::Sym;
use crate::core::model::{Given, Model, SymKind};
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

    /// The given values this set does not hold in a column: where the set holds the inputs
    /// and targets given (`*_holding`), the parameters' starting values.
    pub fn left_out(&self, given: Vec<Given>) -> Vec<Given> {
        given
            .into_iter()
            .filter(|g| !self.columns.contains(&g.sym))
            .collect()
    }
}

/// What a value given outside the data to an input or a target does to a column of the same
/// name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlap {
    /// The value given replaces the column's numbers (one example, where `--at` changes a cell).
    GivenWins,
    /// The column is refused: a whole data set's numbers would go unused (training).
    Refused,
}

/// The `data` block of a program, checked against the model, or `None` when it has none. The
/// inputs and targets `given` has values for need no column: each is held at its value for
/// every example; `overlap` says what a column for one of them means.
pub fn from_program(
    program: &Program,
    model: &Model,
    given: &[Given],
    overlap: Overlap,
) -> Result<Option<DataSet>> {
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
    let held = held(model, given);
    let columns = resolve_columns(columns, model, &held, overlap)?;
    if rows.is_empty() {
        return Err(
            Diagnostic::at(span, "this `data` block has no rows", "empty")
                .with_help("write one example a line, e.g. `2, 1`, before `end`"),
        );
    }
    let rows = rows
        .iter()
        .map(|r: &DataRow| {
            let mut row = Vec::with_capacity(r.values.len() + held.len());
            row.extend_from_slice(&r.values);
            row
        })
        .collect();
    Ok(Some(DataSet { columns, rows }.holding(&held)))
}

/// Reads CSV text: a header naming inputs and targets, then one example a line. The inputs and
/// targets `given` has values for need no column, as in [`from_program`]. Spans in the
/// diagnostic point into `text`.
pub fn parse_csv(text: &str, model: &Model, given: &[Given], overlap: Overlap) -> Result<DataSet> {
    let held = held(model, given);
    let mut header: Option<Vec<Ident>> = None;
    let mut rows = Vec::new();
    for record in records(text) {
        let Some(first) = record.first() else {
            continue;
        };
        // A line of blanks (`  `) is a record of one empty cell: skipped like an empty line.
        let blank = |c: char| c.is_whitespace() || c == '\u{FEFF}';
        if record.len() == 1 && first.value.trim_matches(blank).is_empty() {
            continue;
        }
        match &header {
            None => {
                header = Some(
                    record
                        .iter()
                        .map(|cell| {
                            let cell_text = &text[cell.span.start..cell.span.end];
                            // A byte-order mark (Excel's "CSV UTF-8") is not part of the name.
                            let written = cell_text.trim_start_matches('\u{FEFF}');
                            let name = written.trim_matches('"');
                            let skip = cell_text.len() - written.trim_start_matches('"').len();
                            Ident {
                                name: name.to_string(),
                                span: Span::new(
                                    cell.span.start + skip,
                                    cell.span.start + skip + name.len(),
                                ),
                            }
                        })
                        .collect(),
                );
            }
            Some(names) => {
                if record.len() != names.len() {
                    let line =
                        first.line.start..record.last().map_or(first.span.end, |c| c.span.end);
                    return Err(Diagnostic::at(
                        Span::new(line.start, line.end.max(line.start + 1)),
                        format!(
                            "this row has {} value{} but the header names {} column{}",
                            record.len(),
                            plural(record.len()),
                            names.len(),
                            plural(names.len())
                        ),
                        "wrong number of values",
                    )
                    .with_help("give one number for each column of the header line"));
                }
                // Room for the held values too, so that adding them copies no row.
                let mut row = Vec::with_capacity(record.len() + held.len());
                for cell in &record {
                    let written = cell.value.trim();
                    let spot = Span::new(cell.span.start, cell.span.end.max(cell.span.start + 1));
                    let value = match written.replace('−', "-").parse::<f64>() {
                        Ok(v) if v.is_finite() => v,
                        // A number past float64's largest, where training would run on inf.
                        Ok(v)
                            if v.is_infinite() && !written.to_ascii_lowercase().contains("inf") =>
                        {
                            return Err(Diagnostic::at(
                                spot,
                                format!(
                                    "`{written}` is beyond float64's range (about 1.8e308 in \
                                     magnitude): training computes in float64, where it would \
                                     be inf"
                                ),
                                "too large for float64",
                            )
                            .with_help("scale the column so that its values are moderate"));
                        }
                        _ => {
                            return Err(Diagnostic::at(
                                spot,
                                format!("`{written}` is not a number"),
                                "expected a number such as `0.5`, `-2` or `1e-3`",
                            ));
                        }
                    };
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
    let columns = resolve_columns(&names, model, &held, overlap)?;
    if rows.is_empty() {
        return Err(Diagnostic::at(
            names[0].span,
            "the CSV file has a header but no examples",
            "header",
        )
        .with_help("write one example a line after the header"));
    }
    Ok(DataSet { columns, rows }.holding(&held))
}

/// The values `given` has for inputs and targets, the last for a name given twice.
fn held(model: &Model, given: &[Given]) -> Vec<(Sym, f64)> {
    let mut held: Vec<(Sym, f64)> = Vec::new();
    for g in given {
        if !matches!(model.symbol(g.sym).kind, SymKind::Input | SymKind::Target) {
            continue;
        }
        match held.iter_mut().find(|(s, _)| *s == g.sym) {
            Some(value) => value.1 = g.value,
            None => held.push((g.sym, g.value)),
        }
    }
    held
}

impl DataSet {
    /// The set with each held value in every example: in its column, or a column of its own.
    fn holding(mut self, held: &[(Sym, f64)]) -> DataSet {
        for &(sym, value) in held {
            match self.columns.iter().position(|&c| c == sym) {
                Some(i) => self.rows.iter_mut().for_each(|row| row[i] = value),
                None => {
                    self.columns.push(sym);
                    self.rows.iter_mut().for_each(|row| row.push(value));
                }
            }
        }
        self
    }
}

/// One cell of a CSV record: its value (quotes removed) and where it is written, trimmed.
struct Cell {
    value: String,
    span: Span,
    /// The line the cell's record starts on (for a row's error).
    line: Span,
}

/// The records of CSV text, read by `csv-core` (RFC 4180 quoting, `\n` or `\r\n` line ends,
/// lines starting with `#` and empty lines skipped), each cell with its place in `text`: the
/// parser reports how many bytes each cell took, which is where its caret goes.
fn records(text: &str) -> Vec<Vec<Cell>> {
    let bytes = text.as_bytes();
    let mut reader = csv_core::ReaderBuilder::new().comment(Some(b'#')).build();
    // A cell's unquoted value is never longer than the text.
    let mut out = vec![0u8; bytes.len() + 1];
    let mut records = Vec::new();
    let mut record: Vec<Cell> = Vec::new();
    let mut at = 0;
    let mut written = 0;
    let mut cell_start: Option<usize> = None;
    loop {
        let start = *cell_start.get_or_insert(at);
        let (result, read, wrote) = reader.read_field(&bytes[at..], &mut out[written..]);
        at += read;
        written += wrote;
        let record_end = match result {
            csv_core::ReadFieldResult::InputEmpty => continue,
            csv_core::ReadFieldResult::OutputFull => {
                out.resize(out.len() * 2, 0);
                continue;
            }
            csv_core::ReadFieldResult::End => break,
            csv_core::ReadFieldResult::Field { record_end } => record_end,
        };
        // What the parser skipped before a record's first cell: empty lines and comments.
        let start = if record.is_empty() {
            skip_blank_and_comment_lines(bytes, start)
        } else {
            start
        };
        let end = cell_end(bytes, at, record_end);
        let source = &text[start..end.max(start)];
        let lead = source.len() - source.trim_start().len();
        let span = Span::new(start + lead, start + lead + source.trim().len());
        let line = record
            .first()
            .map_or(Span::new(start, start), |c: &Cell| c.line);
        record.push(Cell {
            value: String::from_utf8_lossy(&out[..written]).into_owned(),
            span,
            line,
        });
        written = 0;
        cell_start = None;
        if record_end {
            records.push(std::mem::take(&mut record));
        }
    }
    records
}

/// Where the record's text starts after `at`: past empty lines and lines starting with `#`.
fn skip_blank_and_comment_lines(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() {
        match bytes[at] {
            b'\n' | b'\r' => at += 1,
            b'#' => {
                at = bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |i| at + i + 1)
            }
            _ => break,
        }
    }
    at
}

/// Where a cell's text ends, given where the parser stopped after it: before the `,` that
/// ended it, or before the line end that ended its record (the end of the text has none).
fn cell_end(bytes: &[u8], at: usize, record_end: bool) -> usize {
    if !record_end {
        return at - 1;
    }
    let mut end = at;
    if end > 0 && bytes[end - 1] == b'\n' {
        end -= 1;
    }
    if end > 0 && bytes[end - 1] == b'\r' {
        end -= 1;
    }
    end
}

/// Each column's name, which must be an input or a target; every input and target needs one,
/// unless it is held at a value given outside the data.
fn resolve_columns(
    names: &[Ident],
    model: &Model,
    held: &[(Sym, f64)],
    overlap: Overlap,
) -> Result<Vec<Sym>> {
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
                    "training learns the parameters: give them starting values, or draw them \
                     from an initialisation"
                }
                _ => "data gives values to inputs and targets; the rest is computed from them",
            })
            .about(Input::Point));
        }
        if let Some(i) = columns.iter().position(|&c| c == sym) {
            return Err(Diagnostic::at(
                ident.span,
                format!("the column `{}` appears twice", ident.name),
                "second column of this name",
            )
            .with_note(names[i].span, "the first is here"));
        }
        if overlap == Overlap::Refused && held.iter().any(|&(s, _)| s == sym) {
            return Err(Diagnostic::at(
                ident.span,
                format!(
                    "`{}` has a column in the data and is also given one value for every example",
                    ident.name
                ),
                "a column for a name given a value",
            )
            .with_help(format!(
                "each input and target takes its values from one place: leave `{}` out of \
                 `--at` and the values file to take it from this column, or remove the column \
                 to hold it at the value given",
                ident.name
            )));
        }
        columns.push(sym);
    }
    let missing: Vec<&str> = model
        .syms()
        .filter(|&s| matches!(model.symbol(s).kind, SymKind::Input | SymKind::Target))
        .filter(|s| !columns.contains(s) && !held.iter().any(|(h, _)| h == s))
        .map(|s| model.name(s))
        .collect();
    if let Some(first) = missing.first() {
        let span = names
            .first()
            .map(|f| f.span.to(names.last().map_or(f.span, |l| l.span)))
            .unwrap_or(Span::new(0, 0));
        return Err(Diagnostic::at(
            span,
            format!(
                "the data has no column for {}",
                missing
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "the columns",
        )
        .with_help(format!(
            "every input and target needs a column (one number per example), or one value \
             for every example given with `--at` (`--at {first}=0.5`) or a values file"
        )));
    }
    Ok(columns)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        crate::lang::load::load("input x\ntarget y\nparam w\ncost C = (y - w*x)^2")
            .expect("the program loads")
    }

    /// The error's message and the text its caret is under.
    fn error(csv: &str) -> (String, String) {
        let d = parse_csv(csv, &model(), &[], Overlap::Refused).expect_err("the CSV is refused");
        let span = d.span.expect("the error has a place");
        (d.message, csv[span.start..span.end].to_string())
    }

    #[test]
    fn spreadsheet_and_numpy_csv_read_as_examples() {
        for csv in [
            "x,y\n1,0\n2,1\n",
            "x,y\r\n1,0\r\n2,1",
            "# written by numpy.savetxt\n\"x\",\"y\"\n\n1 , 0\n  \n# a comment line\n2,1\n",
            "y,x\n0,1\n1,2\n",
            "x,y\n\"1\",\"0\"\n2,1\n",
        ] {
            let data = parse_csv(csv, &model(), &[], Overlap::Refused)
                .unwrap_or_else(|d| panic!("{csv:?}: {}", d.message));
            let m = model();
            let x = m.lookup("x").unwrap();
            let xs: Vec<f64> = (0..data.rows.len())
                .map(|r| data.example(r).find(|&(s, _)| s == x).unwrap().1)
                .collect();
            assert_eq!(xs, [1.0, 2.0], "{csv:?}");
        }
    }

    #[test]
    fn the_caret_is_under_the_cell_that_is_wrong() {
        let cases = [
            ("x,y\n1,one\n", "`one` is not a number", "one"),
            (
                "x,y\r\n1,0\r\n2 , oops \r\n",
                "`oops` is not a number",
                "oops",
            ),
            (
                "# c\n\nx,y\n1,\"1,5\"\n",
                "`1,5` is not a number",
                "\"1,5\"",
            ),
            (
                "x,y\n1,0,3\n",
                "this row has 3 values but the header names 2 columns",
                "1,0,3",
            ),
            ("x,\"q\"\n1,0\n", "unknown name `q`", "q"),
            ("x,y\n1,\n", "`` is not a number", "\n"),
        ];
        for (csv, message, under) in cases {
            let (got, caret) = error(csv);
            assert!(got.contains(message), "{csv:?}: {got}");
            assert_eq!(caret, under, "{csv:?}");
        }
        assert_eq!(
            error("x,y\n").0,
            "the CSV file has a header but no examples"
        );
    }

    fn given(model: &Model, name: &str, value: f64) -> Given {
        Given {
            sym: model.lookup(name).unwrap(),
            text: value.to_string(),
            value,
        }
    }

    #[test]
    fn a_value_given_outside_the_data_is_held_for_every_example() {
        let m = model();
        let w = given(&m, "w", 0.5);
        for overlap in [Overlap::GivenWins, Overlap::Refused] {
            // A parameter's value is the caller's; only inputs and targets are held.
            let data = parse_csv("x\n1\n2\n", &m, &[given(&m, "y", 3.0), w.clone()], overlap)
                .unwrap_or_else(|d| panic!("{}", d.message));
            let names: Vec<&str> = data.columns.iter().map(|&s| m.name(s)).collect();
            assert_eq!(names, ["x", "y"]);
            assert_eq!(data.rows, [[1.0, 3.0], [2.0, 3.0]]);
        }
        // One example with `--at` changing a cell.
        let data = parse_csv(
            "x,y\n1,0\n2,1\n",
            &m,
            &[given(&m, "y", 3.0)],
            Overlap::GivenWins,
        )
        .unwrap_or_else(|d| panic!("{}", d.message));
        assert_eq!(data.rows, [[1.0, 3.0], [2.0, 3.0]]);
        // Training, where the column's numbers would go unused.
        let text = "x,y\n1,0\n";
        let d = parse_csv(text, &m, &[given(&m, "y", 3.0)], Overlap::Refused)
            .expect_err("a column for a held name is refused");
        assert!(
            d.message.contains("`y` has a column in the data"),
            "{}",
            d.message
        );
        let span = d.span.expect("the error has a place");
        assert_eq!(&text[span.start..span.end], "y");
        // A held value makes no parameter a column.
        let d = parse_csv("w\n1\n", &m, &[given(&m, "y", 3.0)], Overlap::Refused)
            .expect_err("a parameter is not a column");
        assert!(d.message.contains("`w` is a parameter"), "{}", d.message);
        // What is still missing is named alone, in a program's `data` block too.
        let program = crate::lang::syntax::parse_program(
            "input x\ntarget y\nparam w\ncost C = (y - w*x)^2\ndata y\n1\nend\n",
        )
        .unwrap();
        let d = from_program(&program, &m, &[given(&m, "y", 3.0)], Overlap::GivenWins)
            .expect_err("x has neither a column nor a value");
        assert_eq!(d.message, "the data has no column for `x`");
        assert!(d.help.as_deref().unwrap_or("").contains("`--at x=0.5`"));
    }
}

//! Vectors and matrices in the number reports (`eval`, `step`): which rows of a report are the
//! entries of one array of a vector program, and an array's cells laid out in its rows and
//! columns. A run of rows that holds every entry of an array, in order, is shown as the array;
//! anything else (one entry asked for, a 1×1, a program written in scalars) stays a row, so a
//! scalar program's reports are unchanged. Cells arrive printed for the format; the templates
//! add the brackets and the words.

use std::collections::HashMap;

use crate::core::expr::Sym;
use crate::core::model::Array;
use crate::core::model::Model;
use crate::core::shape::Shape;

/// The most columns an array may have to be printed as a matrix: a wider one (a weight matrix
/// with a column per input pixel) would make lines of thousands of characters, and keeps one
/// entry a row.
pub const MAX_COLUMNS: u32 = 12;

/// A run of a report's rows: one row, or the rows holding the entries of an array.
#[derive(Clone, Debug, PartialEq)]
pub enum Run<'m> {
    Row(usize),
    Array {
        array: &'m Array,
        rows: std::ops::Range<usize>,
    },
}

/// What a row of a report is of: a family (the `of` of a derivative; every value is of one
/// family) and the scalar name (the value's name, or the derivative's `wrt`).
pub type Key = Option<(u32, Sym)>;

/// The runs of a report's rows, given each row's [`Key`].
pub fn runs<'m>(model: &'m Model, keys: &[Key]) -> Vec<Run<'m>> {
    // The first entry of every array printed as a matrix.
    let mut first: HashMap<Sym, &Array> = HashMap::new();
    for array in &model.arrays {
        if !array.shape.is_scalar() && array.shape.cols <= MAX_COLUMNS {
            first.insert(array.entries[0], array);
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        if let Some((family, sym)) = keys[i]
            && let Some(&array) = first.get(&sym)
        {
            let n = array.entries.len();
            let whole = keys.len() - i >= n
                && array
                    .entries
                    .iter()
                    .zip(&keys[i..i + n])
                    .all(|(&entry, &key)| key == Some((family, entry)));
            if whole {
                out.push(Run::Array {
                    array,
                    rows: i..i + n,
                });
                i += n;
                continue;
            }
        }
        out.push(Run::Row(i));
        i += 1;
    }
    out
}

/// An array's cells (row-major) in its rows, each padded on the left to its column's width so
/// that the columns line up in a terminal and in the LaTeX source alike.
pub fn grid(shape: Shape, cells: Vec<String>) -> Vec<Vec<String>> {
    let cols = (shape.cols as usize).max(1);
    let mut rows: Vec<Vec<String>> = cells.chunks(cols).map(<[String]>::to_vec).collect();
    for j in 0..cols {
        let width = rows
            .iter()
            .filter_map(|r| r.get(j))
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0);
        for cell in rows.iter_mut().filter_map(|r| r.get_mut(j)) {
            let pad = width - cell.chars().count();
            cell.insert_str(0, &" ".repeat(pad));
        }
    }
    rows
}

/// An array's name in LaTeX: its display form, else the name's usual form (`W1` → `W_{1}`).
pub fn name_latex(array: &Array) -> String {
    array
        .display
        .clone()
        .unwrap_or_else(|| crate::lang::names::default_name_latex(&array.name))
}

/// The plain label of the derivative of `of` with respect to a whole array (`dJ/dW1`), as the
/// rows of its entries are labelled `dJ/dW1[1,2]`.
pub fn derivative_label(model: &Model, of: Sym, array: &Array) -> String {
    format!("d{}/d{}", model.name(of), array.name)
}

/// The derivative of `of` with respect to a whole array in LaTeX.
pub fn derivative_latex(model: &Model, of: Sym, array: &Array) -> String {
    format!(
        "\\frac{{\\partial {}}}{{\\partial {}}}",
        crate::lang::names::name_latex(model.symbol(of)),
        name_latex(array)
    )
}

/// A value in JSON: one number (a scalar, an entry), or an array's rows ([`nested`]).
#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum Nested<T> {
    One(T),
    Rows(Vec<Vec<T>>),
}

/// An array's values nested as its rows (`[[1, 2], [3, 4]]`, a column vector `[[1], [2]]`),
/// so that NumPy's `np.array(v)` has the declared shape; the entries come row-major.
pub fn nested<T>(shape: Shape, entries: impl IntoIterator<Item = T>) -> Vec<Vec<T>> {
    let cols = (shape.cols as usize).max(1);
    let mut rows: Vec<Vec<T>> = Vec::with_capacity(shape.rows as usize);
    for (k, entry) in entries.into_iter().enumerate() {
        if k % cols == 0 {
            rows.push(Vec::with_capacity(cols));
        }
        if let Some(row) = rows.last_mut() {
            row.push(entry);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_array_in_order_is_one_run_and_anything_else_stays_rows() {
        let model = crate::lang::load::load(
            "input x[2]\nparam W[2, 2], b[2]\ntarget y[2]\nz = W x + b\ncost C = sum((z - y)^2)\n",
        )
        .unwrap();
        let key = |name: &str| Some((0, model.lookup(name).unwrap()));
        let whole: Vec<Key> = ["W[1,1]", "W[1,2]", "W[2,1]", "W[2,2]", "b[1]"]
            .iter()
            .map(|n| key(n))
            .collect();
        let runs_of = runs(&model, &whole);
        assert!(
            matches!(&runs_of[..], [Run::Array { array, rows }, Run::Row(4)] if array.name == "W" && *rows == (0..4)),
            "{runs_of:?}"
        );
        // one entry missing, or another family in the middle: rows
        let partial: Vec<Key> = vec![key("W[1,1]"), key("W[1,2]"), key("W[2,1]")];
        assert_eq!(
            runs(&model, &partial),
            vec![Run::Row(0), Run::Row(1), Run::Row(2)]
        );
        let mut mixed = whole.clone();
        mixed[2] = Some((1, model.lookup("W[2,1]").unwrap()));
        assert!(matches!(runs(&model, &mixed)[0], Run::Row(0)));
    }

    #[test]
    fn cells_line_up_in_columns_and_nest_as_rows() {
        let rows = grid(
            Shape::new(2, 2),
            ["1", "-0.25", "10.5", "2"].map(String::from).to_vec(),
        );
        assert_eq!(rows, vec![vec!["   1", "-0.25"], vec!["10.5", "    2"]]);
        assert_eq!(nested(Shape::new(2, 1), [1, 2]), vec![vec![1], vec![2]]);
        assert_eq!(nested(Shape::new(1, 3), [1, 2, 3]), vec![vec![1, 2, 3]]);
    }
}

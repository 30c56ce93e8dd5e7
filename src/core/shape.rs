//! Shapes of the values of a vector program (rows × columns, a 1×1 is a scalar), the layout
//! convention that says which way examples run, and the record of which scalar names a
//! tensor name became. The model holds these; `tensor` works with them.

use std::fmt;

use crate::core::expr::Sym;

/// The shape of a value: rows × columns; 1×1 is a scalar.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Shape {
    pub rows: u32,
    pub cols: u32,
}

impl Shape {
    pub const SCALAR: Shape = Shape { rows: 1, cols: 1 };

    pub fn new(rows: u32, cols: u32) -> Shape {
        Shape { rows, cols }
    }

    pub fn is_scalar(self) -> bool {
        self == Shape::SCALAR
    }

    /// The number of entries.
    pub fn len(self) -> usize {
        self.rows as usize * self.cols as usize
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    pub fn transposed(self) -> Shape {
        Shape::new(self.cols, self.rows)
    }

    /// Whether the shape is a vector in the given layout (`n×1` for columns, `1×n` for rows):
    /// such a value is indexed with one index.
    pub fn is_vector(self, layout: Layout) -> bool {
        match layout {
            Layout::Columns => self.cols == 1,
            Layout::Rows => self.rows == 1,
        }
    }

    /// The shape of an elementwise combination of the two (`+ − ⊙ /`), where each dimension
    /// is equal or 1 in one of them (the broadcast); `None` when they do not combine.
    pub fn broadcast(self, other: Shape) -> Option<Shape> {
        let dim = |a: u32, b: u32| {
            if a == b || b == 1 {
                Some(a)
            } else if a == 1 {
                Some(b)
            } else {
                None
            }
        };
        Some(Shape::new(
            dim(self.rows, other.rows)?,
            dim(self.cols, other.cols)?,
        ))
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.rows, self.cols)
    }
}

/// Which way examples (and vectors) run: `Columns` (the default: `input X[2, m]`, one example
/// a column) or `Rows` (`layout rows`: `input X[m, 2]`, one example a row).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub enum Layout {
    #[default]
    Columns,
    Rows,
}

/// A name of a vector program and the scalar names of its entries (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub name: String,
    /// The LaTeX display form the name was given (`as "W^{(2)}"`), if any.
    pub display: Option<String>,
    /// The name in the tensor program.
    pub sym: Sym,
    pub shape: Shape,
    pub entries: Vec<Sym>,
}

//! Shapes of the values of a vector program (rows × columns, a 1×1 is a scalar), the layout
//! convention that says which way examples run, and the tensor operations with the shapes
//! they give. The expression graph and the model hold these; `tensor` works with them.

use std::fmt;

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

/// An index of a matrix that an operation runs over: `Down` is the first index (over the rows
/// of each column, `sum(M, 1)`), `Across` the second (over the columns of each row,
/// `sum(M, 2)`). The numbers are 1-based like the language's indices (MATLAB's `sum(M, dim)`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Axis {
    Down,
    Across,
}

impl Axis {
    /// The axis that runs along one example's entries: down a column, or across a row.
    pub fn within_example(layout: Layout) -> Axis {
        match layout {
            Layout::Columns => Axis::Down,
            Layout::Rows => Axis::Across,
        }
    }
}

/// The operations that only tensors have; their operands are the node's children.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum TensorOp {
    /// The matrix product of two operands.
    MatMul,
    Transpose,
    /// The sum of every entry (`None`) or over one axis (the result keeps the other one).
    Sum(Option<Axis>),
    /// One entry: 1-based row and column.
    Entry(u32, u32),
    /// Softmax over an axis: every column (`Down`) or row (`Across`) is normalised.
    Softmax(Axis),
    /// log Σ exp over an axis.
    LogSumExp(Axis),
    /// The operand stretched to rows × columns (a dimension of 1 repeated): the adjoint of a
    /// sum, written where a derivation spreads a total back over the entries.
    Broadcast(u32, u32),
}

impl TensorOp {
    /// How many operands the operation takes.
    pub fn arity(self) -> usize {
        match self {
            TensorOp::MatMul => 2,
            _ => 1,
        }
    }

    /// The shape of the result, or why the operands do not fit (as a reason code).
    pub fn shape(self, operands: &[Shape]) -> std::result::Result<Shape, ShapeMismatch> {
        let a = operands.first().copied().ok_or(ShapeMismatch::Arity)?;
        Ok(match self {
            TensorOp::MatMul => {
                let b = operands.get(1).copied().ok_or(ShapeMismatch::Arity)?;
                if a.cols != b.rows {
                    return Err(ShapeMismatch::Inner(a, b));
                }
                Shape::new(a.rows, b.cols)
            }
            TensorOp::Transpose => a.transposed(),
            TensorOp::Sum(None) => Shape::SCALAR,
            TensorOp::Sum(Some(Axis::Down)) | TensorOp::LogSumExp(Axis::Down) => {
                Shape::new(1, a.cols)
            }
            TensorOp::Sum(Some(Axis::Across)) | TensorOp::LogSumExp(Axis::Across) => {
                Shape::new(a.rows, 1)
            }
            TensorOp::Entry(i, j) => {
                if i == 0 || j == 0 || i > a.rows || j > a.cols {
                    return Err(ShapeMismatch::OutOfRange(a, i, j));
                }
                Shape::SCALAR
            }
            TensorOp::Softmax(_) => a,
            TensorOp::Broadcast(rows, cols) => {
                let target = Shape::new(rows, cols);
                if a.broadcast(target) != Some(target) {
                    return Err(ShapeMismatch::Inner(a, target));
                }
                target
            }
        })
    }
}

/// Why a tensor operation does not apply to its operands' shapes.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ShapeMismatch {
    Arity,
    /// A matrix product whose inner dimensions differ (left, right).
    Inner(Shape, Shape),
    /// An entry outside the matrix (shape, row, column).
    OutOfRange(Shape, u32, u32),
}

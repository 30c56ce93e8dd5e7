//! Vectors and matrices in the one expression graph: shapes, the tensor operations that are
//! nodes of [`Graph`] ([`Node::Tensor`]), and the pass that scalarises a tensor program into
//! today's scalar graph, one name per entry.
//!
//! Every value is a matrix of `rows × cols` (MATLAB's convention): a 1×1 is a scalar, a vector
//! is one column (`n×1`, examples as columns, as Nielsen and Ng write them) or, in a program
//! declared `layout rows` (CS231n), one row (`1×n`). Elementwise operations (`Add`, `Mul`,
//! `Pow`, `Call`, `Call2` of tensors) combine entry by entry, and a dimension of 1 stretches to
//! the other operand's (the broadcast: a scalar everywhere, a bias column to every example of a
//! batch). The tensor-only operations are [`TensorOp`]s. Scalarisation turns each of them into
//! sums and products of entries, so that differentiation, evaluation and checking, which only
//! ever see scalar graphs, work on vector programs unchanged.

use crate::core::error::{Diagnostic, Result, Span};
use crate::core::expr::{FastMap, Graph, Id, Node, Sym};
use crate::core::model::{Dependencies, Model, SymKind, Symbol};

pub use crate::core::model::Array;
pub use crate::core::shape::{Axis, Layout, Shape, ShapeMismatch, TensorOp};

/// The functions of vectors and matrices as the language spells them; lowering turns each
/// into [`TensorOp`]s and elementwise nodes.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum TensorFn {
    /// `sum(v)`: every entry; `sum(M, 1)` down each column, `sum(M, 2)` across each row.
    Sum,
    /// `mean(v)`, `mean(M, axis)`: the sum divided by the number of entries summed.
    Mean,
    /// `dot(u, v)`: the sum of the elementwise product.
    Dot,
    Softmax,
    LogSumExp,
    Transpose,
    Hadamard,
    /// `norm(v)`, `‖v‖`: the square root of the sum of squares.
    Norm,
    /// `norm2(v)`, `‖v‖²`: the sum of squares.
    Norm2,
}

impl TensorFn {
    pub const ALL: [TensorFn; 9] = [
        TensorFn::Sum,
        TensorFn::Mean,
        TensorFn::Dot,
        TensorFn::Softmax,
        TensorFn::LogSumExp,
        TensorFn::Transpose,
        TensorFn::Hadamard,
        TensorFn::Norm,
        TensorFn::Norm2,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TensorFn::Sum => "sum",
            TensorFn::Mean => "mean",
            TensorFn::Dot => "dot",
            TensorFn::Softmax => "softmax",
            TensorFn::LogSumExp => "logsumexp",
            TensorFn::Transpose => "transpose",
            TensorFn::Hadamard => "hadamard",
            TensorFn::Norm => "norm",
            TensorFn::Norm2 => "norm2",
        }
    }

    pub fn from_name(name: &str) -> Option<TensorFn> {
        TensorFn::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The fewest and the most arguments.
    pub fn arity(self) -> (usize, usize) {
        match self {
            TensorFn::Sum | TensorFn::Mean => (1, 2),
            TensorFn::Dot | TensorFn::Hadamard => (2, 2),
            // `logsumexp(z)` of a vector, or `logsumexp(a, b, …)` of scalars
            TensorFn::LogSumExp => (1, usize::MAX),
            _ => (1, 1),
        }
    }

    /// A call as a help line shows it.
    pub fn example(self) -> &'static str {
        match self {
            TensorFn::Sum => "sum(v), or sum(M, 2) to sum across each row",
            TensorFn::Mean => "mean(v), or mean(M, 2) to average across each row",
            TensorFn::Dot => "dot(u, v)",
            TensorFn::Softmax => "softmax(z)",
            TensorFn::LogSumExp => "logsumexp(z), or logsumexp(a, b) of scalars",
            TensorFn::Transpose => "transpose(W)",
            TensorFn::Hadamard => "hadamard(a, b)",
            TensorFn::Norm => "norm(v)",
            TensorFn::Norm2 => "norm2(v)",
        }
    }
}

/// The name of entry `(row, col)` (1-based) of a name of the given shape: `W2[1,2]` for a
/// matrix, `b2[3]` for a vector in the layout, the name itself for a 1×1.
///
/// A bracket cannot be part of a name the user writes, so entry names never collide with the
/// program's own names; `--at`, `--wrt` and claims name an entry as written here.
pub fn entry_name(name: &str, shape: Shape, layout: Layout, row: u32, col: u32) -> String {
    if shape.is_scalar() {
        name.to_string()
    } else if shape.is_vector(layout) {
        let index = if layout == Layout::Columns { row } else { col };
        format!("{name}[{index}]")
    } else {
        format!("{name}[{row},{col}]")
    }
}

/// The display form of an entry of a name that has one: `W^{(2)}` gives `W^{(2)}_{1,2}`, and
/// a form with a subscript of its own is parenthesised first (`(W_{2})_{1,2}`).
fn entry_display(display: &str, shape: Shape, layout: Layout, row: u32, col: u32) -> String {
    if shape.is_scalar() {
        return display.to_string();
    }
    let index = if shape.is_vector(layout) {
        if layout == Layout::Columns { row } else { col }.to_string()
    } else {
        format!("{row},{col}")
    };
    if display.contains('_') {
        format!("({display})_{{{index}}}")
    } else {
        format!("{display}_{{{index}}}")
    }
}

/// The values of a node during scalarisation: its shape and one scalar node per entry,
/// row-major.
#[derive(Clone, Debug)]
struct Grid {
    shape: Shape,
    entries: Vec<Id>,
}

impl Grid {
    /// Entry (i, j), 0-based, with a dimension of 1 stretched (the broadcast).
    fn at(&self, i: u32, j: u32) -> Id {
        let i = if self.shape.rows == 1 { 0 } else { i };
        let j = if self.shape.cols == 1 { 0 } else { j };
        self.entries[(i * self.shape.cols + j) as usize]
    }
}

/// The scalar program of a tensor program: every name of shape r×c becomes r·c scalar names
/// ([`entry_name`]), every definition one definition per entry; with the list of which entries
/// each name became ([`Array`]). A program without tensors comes back with the same names and
/// an equal graph.
pub fn scalarise(model: &Model, layout: Layout) -> Result<(Model, Vec<Array>)> {
    let (scalar, arrays, _) = scalarise_with(model, layout, &[])?;
    Ok((scalar, arrays))
}

/// [`scalarise`], with further formulas of the tensor program (derivatives in matrix form)
/// written out too: the entries of each, row-major, as formulas of the scalar model.
pub fn scalarise_with(
    model: &Model,
    layout: Layout,
    formulas: &[Id],
) -> Result<(Model, Vec<Array>, Vec<Vec<Id>>)> {
    let mut graph = Graph::new();
    let mut symbols: Vec<Symbol> = Vec::new();
    let mut arrays: Vec<Array> = Vec::with_capacity(model.symbols.len());
    let mut total = 0usize;
    for symbol in &model.symbols {
        total = total.saturating_add(symbol.shape.len());
        if total > MAX_SCALAR_NAMES {
            return Err(Diagnostic::at(
                symbol.span,
                format!(
                    "written out entry by entry, this program has more than {MAX_SCALAR_NAMES} \
                     names"
                ),
                "the limit is reached here",
            )
            .with_help("use smaller widths or a smaller batch"));
        }
    }
    for (index, symbol) in model.symbols.iter().enumerate() {
        let shape = symbol.shape;
        let mut entries = Vec::with_capacity(shape.len());
        for row in 1..=shape.rows {
            for col in 1..=shape.cols {
                let s = Sym(symbols.len() as u32);
                symbols.push(Symbol {
                    name: entry_name(&symbol.name, shape, layout, row, col),
                    kind: symbol.kind,
                    display: symbol
                        .display
                        .as_deref()
                        .map(|d| entry_display(d, shape, layout, row, col)),
                    span: symbol.span,
                    shape: Shape::SCALAR,
                });
                graph.var(s);
                entries.push(s);
            }
        }
        arrays.push(Array {
            name: symbol.name.clone(),
            display: symbol.display.clone(),
            sym: Sym(index as u32),
            shape,
            entries,
        });
    }
    let mut definitions: Vec<Option<Id>> = vec![None; symbols.len()];
    let mut order = Vec::new();
    let mut grids: FastMap<Id, Grid> = FastMap::default();
    // a declared size is its number entry by entry
    for s in model.syms() {
        if let SymKind::Size(n) = model.symbol(s).kind {
            let number = graph.int(i64::from(n));
            grids.insert(
                model.graph_var(s),
                Grid {
                    shape: Shape::SCALAR,
                    entries: vec![number],
                },
            );
        }
    }
    for &s in &model.order {
        let Some(def) = model.definition(s) else {
            continue;
        };
        let span = model.symbol(s).span;
        for id in model.graph.reachable(&[def]) {
            if grids.contains_key(&id) {
                continue;
            }
            if graph.len() > MAX_SCALAR_NODES {
                return Err(too_large(span));
            }
            let grid = scalarise_node(&model.graph, id, &grids, &arrays, &mut graph, span)?;
            grids.insert(id, grid);
        }
        let grid = &grids[&def];
        let array = &arrays[s.index()];
        if grid.shape != array.shape {
            return Err(internal(span, "a definition's shape changed"));
        }
        for (k, &entry) in array.entries.iter().enumerate() {
            definitions[entry.index()] = Some(grid.entries[k]);
            order.push(entry);
        }
    }
    let scalar_of = |s: Sym| -> Result<Sym> {
        match arrays[s.index()].entries.as_slice() {
            [one] if arrays[s.index()].shape.is_scalar() => Ok(*one),
            _ => Err(Diagnostic::at(
                model.symbol(s).span,
                format!(
                    "`{}` is {} but must be a scalar",
                    model.name(s),
                    arrays[s.index()].shape
                ),
                "not a scalar",
            )),
        }
    };
    let span = model.symbol(model.cost).span;
    let mut written = Vec::with_capacity(formulas.len());
    for &formula in formulas {
        for id in model.graph.reachable(&[formula]) {
            if grids.contains_key(&id) {
                continue;
            }
            if graph.len() > MAX_SCALAR_NODES {
                return Err(too_large(span));
            }
            let grid = scalarise_node(&model.graph, id, &grids, &arrays, &mut graph, span)?;
            grids.insert(id, grid);
        }
        written.push(grids[&formula].entries.clone());
    }
    let cost = scalar_of(model.cost)?;
    let output = model.output.map(scalar_of).transpose()?;
    let one_hot = model
        .one_hot
        .iter()
        .flat_map(|group| one_hot_groups(group, &arrays, layout))
        .collect();
    // A vector's domain is each entry's.
    let domains = model
        .domains
        .iter()
        .flat_map(|&(s, domain)| arrays[s.index()].entries.iter().map(move |&e| (e, domain)))
        .collect();
    let dependencies = Dependencies::of(&graph, &definitions, &order);
    let scalar = Model {
        graph,
        symbols,
        definitions,
        order,
        cost,
        output,
        dependencies,
        one_hot,
        domains,
        named_adjoints: Vec::new(),
        arrays: arrays.clone(),
    };
    Ok((scalar, arrays, written))
}

/// The one-hot groups of scalar targets: a group of scalar names stays as it is; a vector
/// target is one group, a batch of them one group per example.
fn one_hot_groups(group: &[Sym], arrays: &[Array], layout: Layout) -> Vec<Vec<Sym>> {
    if group.iter().all(|&s| arrays[s.index()].shape.is_scalar()) {
        return vec![
            group
                .iter()
                .map(|&s| arrays[s.index()].entries[0])
                .collect(),
        ];
    }
    let mut out = Vec::new();
    for &s in group {
        let array = &arrays[s.index()];
        let (rows, cols) = (array.shape.rows as usize, array.shape.cols as usize);
        let at = |i: usize, j: usize| array.entries[i * cols + j];
        match layout {
            Layout::Columns => {
                out.extend((0..cols).map(|j| (0..rows).map(|i| at(i, j)).collect::<Vec<_>>()))
            }
            Layout::Rows => {
                out.extend((0..rows).map(|i| (0..cols).map(|j| at(i, j)).collect::<Vec<_>>()))
            }
        }
    }
    out
}

/// How many scalar nodes the scalarisation of a program may build (a 784-30-10 network over a
/// batch of 32 needs under a million).
pub const MAX_SCALAR_NODES: usize = 8_000_000;

/// How many scalar names (entries of every name together) the scalarisation may have.
pub const MAX_SCALAR_NAMES: usize = 2_000_000;

fn too_large(span: Span) -> Diagnostic {
    Diagnostic::at(
        span,
        format!(
            "written out entry by entry, this program needs more than {MAX_SCALAR_NODES} \
             operations"
        ),
        "the limit is reached in this definition",
    )
    .with_help("use smaller widths or a smaller batch")
}

fn internal(span: Span, what: &str) -> Diagnostic {
    Diagnostic::at(
        span,
        format!("internal error while writing the program entry by entry: {what}"),
        "in this definition",
    )
    .with_help("please report this input as a bug")
}

/// The grid of one node, its children's grids already made.
fn scalarise_node(
    from: &Graph,
    id: Id,
    grids: &FastMap<Id, Grid>,
    arrays: &[Array],
    graph: &mut Graph,
    span: Span,
) -> Result<Grid> {
    let node = from.node(id);
    let child = |c: &Id| -> &Grid { &grids[c] };
    let elementwise = |graph: &mut Graph, children: &[Id], make: &dyn Fn(&[Id]) -> Node| {
        let shape = children
            .iter()
            .try_fold(Shape::SCALAR, |acc, c| acc.broadcast(child(c).shape))
            .ok_or_else(|| internal(span, "operands that do not combine"))?;
        let mut entries = Vec::with_capacity(shape.len());
        for i in 0..shape.rows {
            for j in 0..shape.cols {
                let parts: Vec<Id> = children.iter().map(|c| child(c).at(i, j)).collect();
                entries.push(graph.add(make(&parts)));
            }
        }
        Ok::<Grid, Diagnostic>(Grid { shape, entries })
    };
    Ok(match node {
        Node::Num(n) => Grid {
            shape: Shape::SCALAR,
            entries: vec![graph.num(*n)],
        },
        Node::Const(c) => Grid {
            shape: Shape::SCALAR,
            entries: vec![graph.constant(*c)],
        },
        Node::Var(s) => {
            let array = &arrays[s.index()];
            Grid {
                shape: array.shape,
                entries: array.entries.iter().map(|&e| graph.var(e)).collect(),
            }
        }
        // A matrix product's entries are sums (products): a sum of them is one flat sum, as
        // the scalar language writes `z = w1 x1 + w2 x2 + b`.
        Node::Add(xs) => {
            let grid = elementwise(graph, xs, &|p| Node::Add(p.into()))?;
            flattened(graph, grid, |n| matches!(n, Node::Add(_)))
        }
        Node::Mul(xs) => {
            let grid = elementwise(graph, xs, &|p| Node::Mul(p.into()))?;
            flattened(graph, grid, |n| matches!(n, Node::Mul(_)))
        }
        Node::Pow(a, b) => elementwise(graph, &[*a, *b], &|p| Node::Pow(p[0], p[1]))?,
        Node::Call(f, a) => elementwise(graph, &[*a], &|p| Node::Call(*f, p[0]))?,
        Node::Call2(f, a, b) => elementwise(graph, &[*a, *b], &|p| Node::Call2(*f, p[0], p[1]))?,
        Node::Deriv(..) => return Err(internal(span, "a derivative inside a program")),
        Node::Tensor(op, xs) => {
            let operands: Vec<&Grid> = xs.iter().map(child).collect();
            let shapes: Vec<Shape> = operands.iter().map(|g| g.shape).collect();
            let shape = op
                .shape(&shapes)
                .map_err(|_| internal(span, "a tensor operation on the wrong shapes"))?;
            let a = operands[0];
            let mut entries = Vec::with_capacity(shape.len());
            match op {
                TensorOp::MatMul => {
                    let b = operands[1];
                    if shape.len().saturating_mul(a.shape.cols as usize) > MAX_SCALAR_NODES {
                        return Err(too_large(span));
                    }
                    for i in 0..shape.rows {
                        for j in 0..shape.cols {
                            let terms: Vec<Id> = (0..a.shape.cols)
                                .map(|k| graph.product(vec![a.at(i, k), b.at(k, j)]))
                                .collect();
                            entries.push(graph.sum(terms));
                        }
                    }
                }
                TensorOp::Transpose => {
                    for i in 0..shape.rows {
                        for j in 0..shape.cols {
                            entries.push(a.at(j, i));
                        }
                    }
                }
                TensorOp::Entry(i, j) => entries.push(a.at(i - 1, j - 1)),
                TensorOp::Broadcast(..) => {
                    for i in 0..shape.rows {
                        for j in 0..shape.cols {
                            entries.push(a.at(i, j));
                        }
                    }
                }
                TensorOp::Sum(None) => entries.push(graph.sum(a.entries.clone())),
                TensorOp::Sum(Some(axis)) => {
                    for line in lines(a.shape, *axis) {
                        let terms = line.iter().map(|&(i, j)| a.at(i, j)).collect();
                        entries.push(graph.sum(terms));
                    }
                }
                TensorOp::LogSumExp(axis) => {
                    for line in lines(a.shape, *axis) {
                        let terms: Vec<Id> = line.iter().map(|&(i, j)| a.at(i, j)).collect();
                        entries.push(log_sum_exp(graph, &terms));
                    }
                }
                TensorOp::Softmax(axis) => {
                    let mut grid = vec![Id(0); a.shape.len()];
                    for line in lines(a.shape, *axis) {
                        let exps: Vec<Id> = line
                            .iter()
                            .map(|&(i, j)| graph.call(crate::core::expr::Func::Exp, a.at(i, j)))
                            .collect();
                        let total = graph.sum(exps.clone());
                        let minus_one = graph.int(-1);
                        let inverse = graph.pow(total, minus_one);
                        for (&(i, j), &e) in line.iter().zip(&exps) {
                            grid[(i * a.shape.cols + j) as usize] = graph.product(vec![e, inverse]);
                        }
                    }
                    entries = grid;
                }
            }
            Grid { shape, entries }
        }
    })
}

/// `log(e^a + e^b + …)` of scalars, as written: the reference keeps its value where float64's
/// e^a overflows, and the warnings name the shifted form as the remedy.
pub fn log_sum_exp(graph: &mut Graph, terms: &[Id]) -> Id {
    let exps = terms
        .iter()
        .map(|&t| graph.call(crate::core::expr::Func::Exp, t))
        .collect();
    let total = graph.sum(exps);
    graph.call(crate::core::expr::Func::Log, total)
}

/// Each entry of the grid, a sum (product) whose terms (factors) that are sums (products)
/// themselves are spliced in.
fn flattened(graph: &mut Graph, grid: Grid, same: impl Fn(&Node) -> bool) -> Grid {
    let entries = grid
        .entries
        .iter()
        .map(|&entry| {
            let node = graph.node(entry).clone();
            let (Node::Add(parts) | Node::Mul(parts)) = &node else {
                return entry;
            };
            if !parts.iter().any(|&p| same(graph.node(p))) {
                return entry;
            }
            let mut flat = Vec::with_capacity(parts.len());
            for &p in parts.iter() {
                match graph.node(p) {
                    Node::Add(inner) | Node::Mul(inner) if same(graph.node(p)) => {
                        flat.extend(inner.iter().copied())
                    }
                    _ => flat.push(p),
                }
            }
            let rebuilt = match node {
                Node::Add(_) => Node::Add(flat.into_boxed_slice()),
                _ => Node::Mul(flat.into_boxed_slice()),
            };
            graph.add(rebuilt)
        })
        .collect();
    Grid {
        shape: grid.shape,
        entries,
    }
}

/// The positions (0-based) of each line an operation over `axis` runs along, in the order of
/// the result's entries: each column for `Down`, each row for `Across`.
fn lines(shape: Shape, axis: Axis) -> Vec<Vec<(u32, u32)>> {
    match axis {
        Axis::Down => (0..shape.cols)
            .map(|j| (0..shape.rows).map(|i| (i, j)).collect())
            .collect(),
        Axis::Across => (0..shape.rows)
            .map(|i| (0..shape.cols).map(|j| (i, j)).collect())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_stretches_a_dimension_of_one() {
        let column = Shape::new(3, 1);
        let batch = Shape::new(3, 4);
        assert_eq!(column.broadcast(batch), Some(batch));
        assert_eq!(batch.broadcast(Shape::SCALAR), Some(batch));
        assert_eq!(Shape::new(1, 4).broadcast(batch), Some(batch));
        assert_eq!(Shape::new(2, 1).broadcast(batch), None);
        assert_eq!(Shape::new(2, 3).to_string(), "2×3");
    }

    #[test]
    fn entry_names_follow_the_layout() {
        let m = Shape::new(3, 2);
        assert_eq!(entry_name("W2", m, Layout::Columns, 1, 2), "W2[1,2]");
        assert_eq!(
            entry_name("b", Shape::new(3, 1), Layout::Columns, 3, 1),
            "b[3]"
        );
        assert_eq!(
            entry_name("b", Shape::new(1, 3), Layout::Rows, 1, 3),
            "b[3]"
        );
        assert_eq!(
            entry_name("b", Shape::new(1, 3), Layout::Columns, 1, 3),
            "b[1,3]"
        );
        assert_eq!(entry_name("c", Shape::SCALAR, Layout::Columns, 1, 1), "c");
        assert_eq!(
            entry_display("W^{(2)}", m, Layout::Columns, 1, 2),
            "W^{(2)}_{1,2}"
        );
        assert_eq!(
            entry_display("W_{2}", m, Layout::Columns, 1, 2),
            "(W_{2})_{1,2}"
        );
    }

    #[test]
    fn operation_shapes() {
        let w = Shape::new(3, 2);
        let x = Shape::new(2, 1);
        assert_eq!(TensorOp::MatMul.shape(&[w, x]), Ok(Shape::new(3, 1)));
        assert_eq!(
            TensorOp::MatMul.shape(&[w, Shape::new(3, 1)]),
            Err(ShapeMismatch::Inner(w, Shape::new(3, 1)))
        );
        assert_eq!(
            TensorOp::Sum(Some(Axis::Across)).shape(&[w]),
            Ok(Shape::new(3, 1))
        );
        assert_eq!(
            TensorOp::Sum(Some(Axis::Down)).shape(&[w]),
            Ok(Shape::new(1, 2))
        );
        assert!(TensorOp::Entry(4, 1).shape(&[w]).is_err());
    }
}

//! Lowering: from the syntax tree to the [`Model`] (names, kinds, display forms, definitions).
//!
//! This is where the program's meaning is checked: every name declared once, every
//! intermediate assigned once and before use, no cycles, exactly one cost, known functions.
//! Each mistake becomes a [`Diagnostic`] pointing at the spot, with the other line involved
//! and a hint where one is obvious (the nearest known name for a misspelling).

use std::collections::HashMap;

use crate::core::error::{Diagnostic, Input, Result};
use crate::core::expr::{Graph, Id, Sym};
use crate::core::model::{Dependencies, Domain, Model, SymKind, Symbol};
use crate::core::tensor::{Layout, Shape};
use crate::lang::ast::{AssignKind, CodeMeaning, DeclKind, Expr, Ident, Program, Span, Stmt};
pub use crate::lang::expr_lowering::{
    LowerFailure, builtin_list, lower_expr_with, number, unknown_name,
};

/// `use_name` only returns for a name that resolves, which the lowering of the expression
/// already did; kept as a value rather than a panic.
fn unreachable_shape() -> (Id, Shape) {
    (Id(0), Shape::SCALAR)
}

/// Lowers a parsed program. A program with vectors and matrices is lowered to its tensor
/// form ([`lower_tensor`]) and handed out scalarised: one scalar name per entry, the form
/// every command works on.
pub fn lower(program: &Program) -> Result<Model> {
    match lower_tensor(program)? {
        Some((model, layout)) => Ok(crate::core::tensor::scalarise(&model, layout)?.0),
        None => lower_scalar(program, None),
    }
}

/// The tensor form of a program that uses vectors or matrices (names carry their shapes,
/// operations of matrices are `Tensor` nodes), with its layout; `None` for a scalar program.
pub fn lower_tensor(program: &Program) -> Result<Option<(Model, Layout)>> {
    if !crate::lang::shaped::uses_tensors(program) {
        return Ok(None);
    }
    let mut lowering = Lowering {
        tensor: Some(TensorScope::of(program)?),
        ..Lowering::default()
    };
    let layout = lowering
        .tensor
        .as_ref()
        .map_or(Layout::Columns, |t| t.layout);
    lowering.declare_sizes();
    lowering.run(program)?;
    Ok(Some((lowering.finish()?, layout)))
}

/// The sizes and the layout a vector program declares.
#[derive(Default)]
struct TensorScope {
    layout: Layout,
    sizes: HashMap<String, u32>,
    size_spans: HashMap<String, Span>,
}

/// The most entries one name may have (its scalarisation is a name per entry).
pub const MAX_ENTRIES: u64 = 1_000_000;

impl TensorScope {
    fn of(program: &Program) -> Result<TensorScope> {
        let mut scope = TensorScope::default();
        let mut layout_at: Option<Span> = None;
        for stmt in &program.statements {
            match stmt {
                Stmt::Layout { rows, span } => {
                    if let Some(first) = layout_at {
                        return Err(Diagnostic::at(
                            *span,
                            "a second `layout` is given",
                            "second layout",
                        )
                        .with_note(first, "the first is here"));
                    }
                    layout_at = Some(*span);
                    scope.layout = if *rows { Layout::Rows } else { Layout::Columns };
                }
                Stmt::Size { name, value, .. } => {
                    crate::lang::syntax::refuse_reserved(name)?;
                    if let Some(first) = scope.size_spans.get(&name.name) {
                        return Err(Diagnostic::at(
                            name.span,
                            format!("the size `{}` is declared twice", name.name),
                            "declared again here",
                        )
                        .with_note(*first, "first declared here"));
                    }
                    let n = value
                        .name
                        .parse::<u32>()
                        .ok()
                        .filter(|&n| n >= 1 && u64::from(n) <= MAX_ENTRIES)
                        .ok_or_else(|| {
                            Diagnostic::at(
                                value.span,
                                format!("a size is a whole number from 1 to {MAX_ENTRIES}"),
                                "not a size",
                            )
                        })?;
                    scope.sizes.insert(name.name.clone(), n);
                    scope.size_spans.insert(name.name.clone(), name.span);
                }
                _ => {}
            }
        }
        Ok(scope)
    }

    /// The shape of a declaration's dimensions (`[3]`, `[3, 2]`, `[2, m]`).
    fn shape(&self, ident: &Ident, dims: &[Ident]) -> Result<Shape> {
        let dim = |d: &Ident| -> Result<u32> {
            if let Some(&n) = self.sizes.get(&d.name) {
                return Ok(n);
            }
            match d.name.parse::<u32>() {
                Ok(n) if n >= 1 && u64::from(n) <= MAX_ENTRIES => Ok(n),
                Ok(_) | Err(_) if d.name.starts_with(|c: char| c.is_ascii_digit()) => {
                    Err(Diagnostic::at(
                        d.span,
                        format!("a dimension is a whole number from 1 to {MAX_ENTRIES}"),
                        "not a dimension",
                    ))
                }
                _ => Err(Diagnostic::at(
                    d.span,
                    format!("unknown size `{}`", d.name),
                    "not a declared size",
                )
                .with_help(format!(
                    "declare it before: `size {} = 4`, or write the number",
                    d.name
                ))),
            }
        };
        let shape = match dims {
            [n] => {
                let n = dim(n)?;
                match self.layout {
                    Layout::Columns => Shape::new(n, 1),
                    Layout::Rows => Shape::new(1, n),
                }
            }
            [r, c] => Shape::new(dim(r)?, dim(c)?),
            [_, _, extra, ..] => {
                return Err(Diagnostic::at(
                    extra.span,
                    "a name has at most two dimensions (rows, columns)",
                    "a third dimension",
                ));
            }
            [] => Shape::SCALAR,
        };
        if shape.len() as u64 > MAX_ENTRIES {
            return Err(Diagnostic::at(
                ident.span,
                format!(
                    "`{}` would have {} entries; at most {MAX_ENTRIES} are written out",
                    ident.name,
                    shape.len()
                ),
                "too large",
            ));
        }
        Ok(shape)
    }
}

/// Lowers a program written in scalars, its name `prebuilt.name` (if any) standing for the
/// sum `prebuilt.build` builds.
fn lower_scalar<'p>(program: &'p Program, prebuilt: Option<PrebuiltSum<'p>>) -> Result<Model> {
    let mut lowering = Lowering {
        prebuilt,
        ..Lowering::default()
    };
    lowering.run(program)?;
    lowering.finish()
}

/// A sum too long to hold as a syntax tree (a network's L2 penalty over every weight), built
/// straight into the graph where the program names it.
#[derive(Clone, Copy)]
pub struct PrebuiltSum<'a> {
    /// The name the program holds in its place, one no program can write.
    pub name: &'a str,
    /// Builds it, given the symbol of each name it uses (all of them declared before it).
    pub build: &'a BuildSum<'a>,
}

/// Builds a [`PrebuiltSum`] in the graph, given the symbol of each name it uses.
pub type BuildSum<'a> = dyn Fn(&mut Graph, &dyn Fn(&str) -> Sym) -> Id + 'a;

/// [`lower`] for a program written in scalars whose name `sum.name` stands for the sum
/// `sum.build` builds.
pub fn lower_with_sum<'p>(program: &'p Program, sum: PrebuiltSum<'p>) -> Result<Model> {
    lower_scalar(program, Some(sum))
}

impl<'p> Lowering<'p> {
    fn run(&mut self, program: &'p Program) -> Result<()> {
        let lowering = self;
        lowering.collect_assignments(program)?;
        for stmt in &program.statements {
            lowering.statement(stmt)?;
        }
        for stmt in &program.statements {
            if let Stmt::Show { names, .. } = stmt {
                for declared in names {
                    let s = lowering.known(&declared.ident)?;
                    lowering.symbols[s.index()].display = declared.display.clone();
                }
            }
        }
        lowering.check_code_names(program)
    }

    /// `code dW1 = dJ/dW1`: the name is new (neither the program's nor declared twice), the
    /// derivative is the cost's with respect to a name of the program, its factor a declared
    /// size; `code A0 = X` names a name of the program. Code names are for claims in matrix
    /// notation, so a program written in scalars has none.
    fn check_code_names(&self, program: &Program) -> Result<()> {
        let mut declared: HashMap<&str, Span> = HashMap::new();
        for stmt in &program.statements {
            let Stmt::CodeName {
                name,
                meaning,
                span,
            } = stmt
            else {
                continue;
            };
            if self.tensor.is_none() {
                return Err(Diagnostic::at(
                    *span,
                    "code names are for programs with vectors and matrices",
                    "in a program written in scalars",
                )
                .with_help("a claim about a scalar program uses the program's own names"));
            }
            self.check_new_name(name)?;
            if let Some(first) = declared.insert(&name.name, name.span) {
                return Err(Diagnostic::at(
                    name.span,
                    format!("the code name `{}` is declared twice", name.name),
                    "declared again here",
                )
                .with_note(first, "first declared here"));
            }
            match meaning {
                CodeMeaning::Alias(of) => {
                    self.known(of)?;
                }
                CodeMeaning::Gradient { of, wrt, scale } => {
                    if let Some((cost, _)) = self.cost
                        && self.known(of)? != cost
                    {
                        return Err(Diagnostic::at(
                            of.span,
                            format!("`{}` is not the cost", of.name),
                            "a code name is a gradient of the cost",
                        )
                        .with_help(format!(
                            "write `code {} = d{}/d{}`",
                            name.name,
                            self.symbols[cost.index()].name,
                            wrt.name
                        )));
                    }
                    let wrt_sym = self.known(wrt)?;
                    if let SymKind::Size(_) = self.symbols[wrt_sym.index()].kind {
                        return Err(Diagnostic::at(
                            wrt.span,
                            format!(
                                "`{}` is a size, which the cost has no gradient for",
                                wrt.name
                            ),
                            "a size",
                        ));
                    }
                    if let Some(scale) = scale
                        && !self
                            .tensor
                            .as_ref()
                            .is_some_and(|t| t.sizes.contains_key(&scale.name))
                    {
                        return Err(Diagnostic::at(
                            scale.span,
                            format!("`{}` is not a declared size", scale.name),
                            "the factor of a code name is a size",
                        )
                        .with_help(format!(
                            "write `code {} = m d{}/d{}` with `size m = …` declared, or leave \
                             out the factor",
                            name.name, of.name, wrt.name
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Lowering<'p> {
    graph: Graph,
    symbols: Vec<Symbol>,
    definitions: Vec<Option<Id>>,
    order: Vec<Sym>,
    by_name: HashMap<String, Sym>,
    /// Every assignment in the program, to tell "used before assignment" from "unknown"
    /// (borrowed: a network's cost is a sum over every weight, not copied again).
    assigned_at: HashMap<&'p String, (Span, &'p Expr)>,
    cost: Option<(Sym, Span)>,
    output: Option<(Sym, Span)>,
    one_hot: Vec<Vec<Sym>>,
    domains: Vec<(Sym, Domain)>,
    /// For a program with vectors and matrices: its sizes and layout.
    tensor: Option<TensorScope>,
    prebuilt: Option<PrebuiltSum<'p>>,
}

impl<'p> Lowering<'p> {
    fn collect_assignments(&mut self, program: &'p Program) -> Result<()> {
        for stmt in &program.statements {
            if let Stmt::Assign { name, value, .. } = stmt {
                if let Some((first, _)) = self.assigned_at.get(&name.name) {
                    return Err(Diagnostic::at(
                        name.span,
                        format!("`{}` is assigned twice", name.name),
                        "assigned again here",
                    )
                    .with_note(*first, "first assigned here")
                    .with_help("each name is assigned once; give the second value a new name"));
                }
                self.assigned_at.insert(&name.name, (name.span, value));
            }
        }
        Ok(())
    }

    fn check_new_name(&self, ident: &Ident) -> Result<()> {
        crate::lang::syntax::refuse_reserved(ident)?;
        if let Some(first) = self
            .tensor
            .as_ref()
            .and_then(|t| t.size_spans.get(&ident.name))
        {
            return Err(Diagnostic::at(
                ident.span,
                format!("`{}` is a size", ident.name),
                "already declared as a size",
            )
            .with_note(*first, "declared a size here"));
        }
        if let Some(&s) = self.by_name.get(&ident.name) {
            let previous = &self.symbols[s.index()];
            let what = match previous.kind {
                SymKind::Input => "declared as an input",
                SymKind::Target => "declared as a target",
                SymKind::Param => "declared as a parameter",
                _ => "assigned",
            };
            return Err(Diagnostic::at(
                ident.span,
                format!("`{}` is defined twice", ident.name),
                "defined again here",
            )
            .with_note(previous.span, format!("first {what} here")));
        }
        Ok(())
    }

    /// A name for each declared size, in the order declared: formulas keep `m` (scalarisation
    /// writes its number).
    fn declare_sizes(&mut self) {
        let Some(tensor) = &self.tensor else {
            return;
        };
        let mut sizes: Vec<(&String, &Span)> = tensor.size_spans.iter().collect();
        sizes.sort_by_key(|&(_, span)| span.start);
        for (name, &span) in sizes {
            let s = Sym(self.symbols.len() as u32);
            self.symbols.push(Symbol {
                name: name.clone(),
                kind: SymKind::Size(tensor.sizes[name]),
                display: None,
                span,
                shape: crate::core::tensor::Shape::SCALAR,
            });
            self.definitions.push(None);
            self.by_name.insert(name.clone(), s);
            self.graph.var(s);
        }
    }

    fn define(&mut self, ident: &Ident, kind: SymKind, display: Option<String>) -> Result<Sym> {
        self.check_new_name(ident)?;
        let s = Sym(self.symbols.len() as u32);
        self.symbols.push(Symbol {
            name: ident.name.clone(),
            kind,
            display,
            span: ident.span,
            shape: crate::core::tensor::Shape::SCALAR,
        });
        self.definitions.push(None);
        self.by_name.insert(ident.name.clone(), s);
        self.graph.var(s);
        Ok(s)
    }

    fn statement(&mut self, stmt: &Stmt) -> Result<()> {
        match stmt {
            Stmt::Declare {
                kind,
                names,
                one_hot,
                ..
            } => {
                if let Some(word) = one_hot
                    && *kind != DeclKind::Target
                {
                    return Err(Diagnostic::at(
                        *word,
                        "only targets can be declared one-hot",
                        "not a target declaration",
                    )
                    .with_help(
                        "write `target y1, y2, y3 one-hot` for class labels that sum to one",
                    ));
                }
                let kind = match kind {
                    DeclKind::Input => SymKind::Input,
                    DeclKind::Target => SymKind::Target,
                    DeclKind::Param => SymKind::Param,
                };
                let mut group = Vec::with_capacity(names.len());
                for declared in names {
                    let shape = match &self.tensor {
                        Some(scope) => scope.shape(&declared.ident, &declared.dims)?,
                        None => Shape::SCALAR,
                    };
                    let s = self.define(&declared.ident, kind, declared.display.clone())?;
                    self.symbols[s.index()].shape = shape;
                    if let Some((domain, span)) = declared.domain {
                        // A label is 0 or 1 by its declaration: no other domain applies.
                        if one_hot.is_some() {
                            return Err(Diagnostic::at(
                                span,
                                "a one-hot target takes no domain",
                                "its values are labels, 0 or 1",
                            )
                            .with_help(
                                "leave out the domain, or declare the target without `one-hot`",
                            ));
                        }
                        self.domains.push((s, domain));
                    }
                    group.push(s);
                }
                if one_hot.is_some() {
                    self.one_hot.push(group);
                }
            }
            // Training examples are read by `data::from_program`; they define no names.
            Stmt::Show { .. } | Stmt::Data { .. } => {}
            // Read before the statements (`TensorScope::of`).
            Stmt::Size { .. } | Stmt::Layout { .. } => {}
            // Checked once every name is known (`check_code_names`).
            Stmt::CodeName { .. } => {}
            // `explain::load` expands the shorthand before lowering; a program that still
            // holds it here mixes it with other statements, which `network::from_program`
            // refuses first. Kept as an error rather than a panic for direct callers.
            Stmt::Network { span, .. } | Stmt::NetworkOption { span, .. } => {
                return Err(Diagnostic::at(
                    *span,
                    "the network shorthand must be expanded before lowering",
                    "network shorthand",
                ));
            }
            Stmt::Assign {
                kind,
                name,
                value,
                span,
            } => {
                let (value_id, shape) = if self.tensor.is_some() {
                    self.shaped_expr(value, Some(name))?
                } else {
                    (self.expr(value, Some(name))?, Shape::SCALAR)
                };
                if *kind != AssignKind::Intermediate && !shape.is_scalar() {
                    let what = if *kind == AssignKind::Cost {
                        "cost"
                    } else {
                        "output"
                    };
                    return Err(Diagnostic::at(
                        value.span(),
                        format!("the {what} `{}` must be a scalar, but this is {shape}", name.name),
                        format!("{shape}"),
                    )
                    .with_help("sum or average it over the entries: `sum(...)`, `mean(...)`, or `(1/m) sum(...)` over a batch"));
                }
                let sym_kind = match kind {
                    AssignKind::Intermediate => SymKind::Intermediate,
                    AssignKind::Cost => SymKind::Cost,
                    AssignKind::Output => SymKind::Output,
                };
                let s = self.define(name, sym_kind, None)?;
                self.symbols[s.index()].shape = shape;
                self.definitions[s.index()] = Some(value_id);
                self.order.push(s);
                let slot = match kind {
                    AssignKind::Cost => Some((&mut self.cost, "cost")),
                    AssignKind::Output => Some((&mut self.output, "output")),
                    AssignKind::Intermediate => None,
                };
                if let Some((slot, what)) = slot {
                    if let Some((_, first)) = slot {
                        return Err(Diagnostic::at(
                            *span,
                            format!("a second {what} is given"),
                            format!("second {what}"),
                        )
                        .with_note(*first, format!("the first {what} is here"))
                        .with_help(format!(
                            "a program has one {what}; make the other an intermediate"
                        )));
                    }
                    *slot = Some((s, *span));
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Model> {
        let Some((cost, _)) = self.cost else {
            // Pointed at the end of the last name declared or assigned.
            let end = self.symbols.iter().map(|s| s.span.end).max().unwrap_or(0);
            return Err(Diagnostic::at(
                Span::new(end, end),
                "the program has no cost",
                "no `cost` line up to here",
            )
            .with_help(
                "name the quantity to differentiate with a line like `cost C = (y - a3)^2`",
            ));
        };
        let dependencies = Dependencies::of(&self.graph, &self.definitions, &self.order);
        Ok(Model {
            graph: self.graph,
            symbols: self.symbols,
            definitions: self.definitions,
            order: self.order,
            cost,
            output: self.output.map(|(s, _)| s),
            dependencies,
            one_hot: self.one_hot,
            domains: self.domains,
            named_adjoints: Vec::new(),
            arrays: Vec::new(),
        })
    }

    fn known(&self, ident: &Ident) -> Result<Sym> {
        self.by_name
            .get(&ident.name)
            .copied()
            .ok_or_else(|| unknown_name(ident, self.by_name.keys()))
    }

    /// Resolves a name used inside the definition of `defining`.
    fn use_name(&mut self, ident: &Ident, defining: Option<&Ident>) -> Result<Id> {
        if let Some(&s) = self.by_name.get(&ident.name) {
            return Ok(self.graph.var(s));
        }
        if let Some(defining) = defining {
            if ident.name == defining.name {
                return Err(Diagnostic::at(ident.span, format!("`{}` is defined in terms of itself", ident.name), "used in its own definition")
                    .with_help("a program is a straight line of assignments; a name cannot depend on itself (a cycle)"));
            }
            if let Some(&(later, value)) = self.assigned_at.get(&ident.name) {
                let cycle = self.reaches(value, &defining.name, &mut Vec::new());
                let message = if cycle {
                    format!(
                        "cycle: `{}` and `{}` are defined in terms of each other",
                        defining.name, ident.name
                    )
                } else {
                    format!("`{}` is used before its assignment", ident.name)
                };
                return Err(Diagnostic::at(ident.span, message, "used here")
                    .with_note(later, format!("`{}` is assigned here, later", ident.name))
                    .with_help("assign each name before the lines that use it"));
            }
        }
        Err(unknown_name(
            ident,
            self.by_name.keys().chain(self.assigned_at.keys().copied()),
        ))
    }

    /// Whether the expression mentions `target`, directly or through later assignments.
    fn reaches(&self, expr: &Expr, target: &str, visiting: &mut Vec<String>) -> bool {
        let mut names = Vec::new();
        collect_names(expr, &mut names);
        names.iter().any(|n| {
            if n == target {
                return true;
            }
            if visiting.contains(n) {
                return false;
            }
            visiting.push(n.clone());
            match self.assigned_at.get(n) {
                Some((_, value)) => self.reaches(value, target, visiting),
                None => false,
            }
        })
    }

    /// [`Lowering::expr`] for a vector program: the node and its shape.
    fn shaped_expr(&mut self, expr: &Expr, defining: Option<&Ident>) -> Result<(Id, Shape)> {
        if let Some(span) = first_derivative(expr) {
            return Err(Diagnostic::at(span, "a program cannot contain a derivative", "derivative")
                .with_help("derivatives are what chainrule computes: ask for them by name, or write them in a claim")
                .about(Input::Targets));
        }
        let Some(tensor) = &self.tensor else {
            return Err(Diagnostic::at(
                expr.span(),
                "internal error: not a vector program",
                "here",
            ));
        };
        let (by_name, symbols) = (&self.by_name, &self.symbols);
        let mut name = |graph: &mut Graph, ident: &Ident| match by_name.get(&ident.name) {
            Some(&s) => Ok((graph.var(s), symbols[s.index()].shape)),
            None => Err(ident.clone()),
        };
        let mut scope = crate::lang::shaped::Scope {
            name: &mut name,
            layout: tensor.layout,
            lenient: false,
        };
        match crate::lang::shaped::lower(&mut self.graph, expr, &mut scope) {
            Ok(shaped) => Ok(shaped),
            Err(LowerFailure::Name(ident)) => {
                self.use_name(&ident, defining).map(|_| unreachable_shape())
            }
            Err(LowerFailure::Error(d)) => Err(d),
        }
    }

    fn expr(&mut self, expr: &Expr, defining: Option<&Ident>) -> Result<Id> {
        if let Some(span) = first_derivative(expr) {
            return Err(Diagnostic::at(span, "a program cannot contain a derivative", "derivative")
                .with_help("derivatives are what chainrule computes: ask for them by name, or write them in a claim")
                .about(Input::Targets));
        }
        let by_name = &self.by_name;
        let prebuilt = self.prebuilt;
        let result = lower_expr_with(&mut self.graph, expr, &mut |graph, ident| match (
            by_name.get(&ident.name),
            prebuilt,
        ) {
            (Some(&s), _) => Ok(graph.var(s)),
            (None, Some(sum)) if ident.name == sum.name => {
                let symbol = |name: &str| by_name[name];
                Ok((sum.build)(graph, &symbol))
            }
            (None, _) => Err(ident.clone()),
        });
        match result {
            Ok(id) => Ok(id),
            Err(LowerFailure::Name(ident)) => self.use_name(&ident, defining),
            Err(LowerFailure::Error(d)) => Err(d),
        }
    }
}

fn first_derivative(expr: &Expr) -> Option<Span> {
    match expr {
        Expr::Number { .. } | Expr::Name(_) => None,
        Expr::Neg { operand, .. }
        | Expr::Index { operand, .. }
        | Expr::Transpose { operand, .. } => first_derivative(operand),
        Expr::Binary { lhs, rhs, .. } => first_derivative(lhs).or_else(|| first_derivative(rhs)),
        Expr::Call { args, .. } => args.iter().find_map(first_derivative),
        Expr::DerivRef { span, .. } | Expr::DerivOf { span, .. } => Some(*span),
    }
}

fn collect_names(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Number { .. } => {}
        Expr::Name(ident) => out.push(ident.name.clone()),
        Expr::Neg { operand, .. }
        | Expr::Index { operand, .. }
        | Expr::Transpose { operand, .. } => collect_names(operand, out),
        Expr::Binary { lhs, rhs, .. } => {
            collect_names(lhs, out);
            collect_names(rhs, out);
        }
        Expr::Call { args, .. } => {
            for arg in args {
                collect_names(arg, out);
            }
        }
        Expr::DerivRef { of, wrt, .. } => {
            out.push(of.name.clone());
            out.push(wrt.name.clone());
        }
        Expr::DerivOf { wrt, expr, .. } => {
            out.push(wrt.name.clone());
            collect_names(expr, out);
        }
    }
}

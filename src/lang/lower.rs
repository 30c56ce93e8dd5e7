//! Lowering: from the syntax tree to the [`Model`] (names, kinds, display forms, definitions).
//!
//! This is where the program's meaning is checked: every name declared once, every
//! intermediate assigned once and before use, no cycles, exactly one cost, known functions.
//! Each mistake becomes a [`Diagnostic`] pointing at the spot, with the other line involved
//! and a hint where one is obvious (the nearest known name for a misspelling).

use std::collections::HashMap;

use crate::core::error::{Diagnostic, Result};
use crate::core::expr::{Func, Func2, Graph, Id, Node, Num, Sym};
use crate::core::model::{Dependencies, Model, SymKind, Symbol};
use crate::lang::ast::{AssignKind, BinOp, DeclKind, Expr, Ident, Program, Span, Stmt};

/// The built-in functions as a help line lists them, from the tables of them ([`Func::ALL`],
/// [`Func2::ALL`]): `sigmoid (σ), tanh, …, the two-argument max and min, and the derivatives
/// sigmoid', tanh', relu'`.
pub fn builtin_list() -> String {
    let written = |f: &Func| match f {
        Func::Sigmoid => "sigmoid (σ)".to_string(),
        Func::Log => "log (ln)".to_string(),
        Func::Sign => "sgn (sign)".to_string(),
        f => f.name().to_string(),
    };
    let two: Vec<&str> = Func2::ALL.iter().map(|f| f.name()).collect();
    let (derivatives, functions): (Vec<&Func>, Vec<&Func>) =
        Func::ALL.iter().partition(|f| f.primitive().is_some());
    let functions: Vec<String> = functions.into_iter().map(written).collect();
    let derivatives: Vec<String> = derivatives.into_iter().map(written).collect();
    format!(
        "{}, the two-argument {}, and the derivatives {}",
        functions.join(", "),
        two.join(" and "),
        derivatives.join(", ")
    )
}

/// Lowers a parsed program.
pub fn lower(program: &Program) -> Result<Model> {
    let mut lowering = Lowering::default();
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
    lowering.finish()
}

#[derive(Default)]
struct Lowering {
    graph: Graph,
    symbols: Vec<Symbol>,
    definitions: Vec<Option<Id>>,
    order: Vec<Sym>,
    by_name: HashMap<String, Sym>,
    /// Every assignment in the program, to tell "used before assignment" from "unknown".
    assigned_at: HashMap<String, (Span, Expr)>,
    cost: Option<(Sym, Span)>,
    output: Option<(Sym, Span)>,
    one_hot: Vec<Vec<Sym>>,
}

impl Lowering {
    fn collect_assignments(&mut self, program: &Program) -> Result<()> {
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
                self.assigned_at
                    .insert(name.name.clone(), (name.span, value.clone()));
            }
        }
        Ok(())
    }

    fn check_new_name(&self, ident: &Ident) -> Result<()> {
        crate::lang::syntax::refuse_reserved(ident)?;
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
                    group.push(self.define(&declared.ident, kind, declared.display.clone())?);
                }
                if one_hot.is_some() {
                    self.one_hot.push(group);
                }
            }
            // Training examples are read by `data::from_program`; they define no names.
            Stmt::Show { .. } | Stmt::Data { .. } => {}
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
                let value_id = self.expr(value, Some(name))?;
                let sym_kind = match kind {
                    AssignKind::Intermediate => SymKind::Intermediate,
                    AssignKind::Cost => SymKind::Cost,
                    AssignKind::Output => SymKind::Output,
                };
                let s = self.define(name, sym_kind, None)?;
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
            named_adjoints: Vec::new(),
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
            if let Some((later, value)) = self.assigned_at.get(&ident.name) {
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
                    .with_note(*later, format!("`{}` is assigned here, later", ident.name))
                    .with_help("assign each name before the lines that use it"));
            }
        }
        Err(unknown_name(
            ident,
            self.by_name.keys().chain(self.assigned_at.keys()),
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

    fn expr(&mut self, expr: &Expr, defining: Option<&Ident>) -> Result<Id> {
        if let Some(span) = first_derivative(expr) {
            return Err(Diagnostic::at(span, "a program cannot contain a derivative", "derivative")
                .with_help("derivatives are what chainrule computes; ask for them with `derive --wrt` or write them in a claim"));
        }
        let by_name = &self.by_name;
        let result = lower_expr_with(&mut self.graph, expr, &mut |graph, ident| match by_name
            .get(&ident.name)
        {
            Some(&s) => Ok(graph.var(s)),
            None => Err(ident.clone()),
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
        Expr::Neg { operand, .. } => first_derivative(operand),
        Expr::Binary { lhs, rhs, .. } => first_derivative(lhs).or_else(|| first_derivative(rhs)),
        Expr::Call { args, .. } => args.iter().find_map(first_derivative),
        Expr::DerivRef { span, .. } | Expr::DerivOf { span, .. } => Some(*span),
    }
}

fn collect_names(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Number { .. } => {}
        Expr::Name(ident) => out.push(ident.name.clone()),
        Expr::Neg { operand, .. } => collect_names(operand, out),
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

/// An unknown name, with the nearest known one suggested.
pub fn unknown_name<'a>(ident: &Ident, known: impl Iterator<Item = &'a String>) -> Diagnostic {
    // Function names from other notations: point at the built-in, or say there is none.
    let other_notation = match ident.name.as_str() {
        "sigma" | "sig" | "logistic" | "sigm" => {
            Some("the logistic function is `sigmoid(z)` (also `σ(z)`)".to_string())
        }
        "Relu" | "RELU" => Some("the rectifier is `relu(z)` (also `ReLU(z)`)".to_string()),
        "expit" => Some("the logistic function is `sigmoid(z)` (also `σ(z)`)".to_string()),
        "cosh" | "sinh" | "sin" | "cos" | "tan" | "max" | "min" | "erf" | "log10" | "log2"
        | "softmax" | "elu" | "gelu" | "swish" => Some(format!(
            "`{}` is not a built-in function; the built-ins are {}",
            ident.name,
            builtin_list()
        )),
        _ => None,
    };
    if let Some(help) = other_notation {
        return Diagnostic::at(
            ident.span,
            format!("unknown name `{}`", ident.name),
            "not a name or function chainrule knows",
        )
        .with_help(help);
    }
    // Nearest by edit distance; among equals, names that start like the one written (`x`
    // is nearer `x0` and `x1` than `C`), and all of those that tie.
    let first = ident.name.chars().next();
    let mut scored: Vec<(usize, bool, &String)> = known
        .map(|k| {
            (
                strsim::damerau_levenshtein(&ident.name, k),
                k.chars().next() != first,
                k,
            )
        })
        .filter(|(d, _, k)| *d <= 2.max(k.chars().count() / 3))
        .collect();
    scored.sort();
    scored.dedup();
    let best: Vec<&String> = scored
        .iter()
        .take_while(|(d, other, _)| Some((*d, *other)) == scored.first().map(|f| (f.0, f.1)))
        .take(3)
        .map(|(_, _, k)| *k)
        .collect();
    let d = Diagnostic::at(
        ident.span,
        format!("unknown name `{}`", ident.name),
        "not declared or assigned",
    );
    let nearest = match best.as_slice() {
        [] => None,
        [one] => Some(format!("`{one}`")),
        [init @ .., last] => Some(format!(
            "{} or `{last}`",
            init.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    match nearest {
        Some(k) => d.with_help(format!("did you mean {k}?")),
        None => d.with_help(format!(
            "declare it (`input {0}`, `param {0}`, `target {0}`) or assign it before use (`{0} = ...`)",
            ident.name
        )),
    }
}

/// Why lowering an expression stopped: a name the caller must resolve, or an error.
pub enum LowerFailure {
    Name(Ident),
    Error(Diagnostic),
}

impl From<Diagnostic> for LowerFailure {
    fn from(d: Diagnostic) -> LowerFailure {
        LowerFailure::Error(d)
    }
}

/// Lowers an expression, asking `name` for the node of each name (an error names the unknown one).
///
/// Derivative references (`dC/dw3`, `d/dx(...)`) become `Deriv` nodes; the caller decides
/// whether they are allowed and differentiates them.
pub fn lower_expr_with(
    graph: &mut Graph,
    expr: &Expr,
    name: &mut dyn FnMut(&mut Graph, &Ident) -> std::result::Result<Id, Ident>,
) -> std::result::Result<Id, LowerFailure> {
    Ok(match expr {
        Expr::Number { text, span } => match Num::parse(text) {
            Some(n) => graph.num(n),
            None => {
                return Err(Diagnostic::at(
                    *span,
                    format!("`{text}` is not a finite number"),
                    "number out of range",
                )
                .into());
            }
        },
        Expr::Name(ident) => {
            if Func::from_name(&ident.name).is_some() {
                return Err(Diagnostic::at(
                    ident.span,
                    format!("`{}` is a function and needs an argument", ident.name),
                    "function without an argument",
                )
                .with_help(format!("write `{}(z)`", ident.name))
                .into());
            }
            name(graph, ident).map_err(LowerFailure::Name)?
        }
        Expr::Neg { operand, .. } => {
            let x = lower_expr_with(graph, operand, name)?;
            match graph.as_num(x) {
                Some(n) => graph.num(n.neg()),
                None => graph.neg(x),
            }
        }
        Expr::Binary {
            op: BinOp::Pow,
            lhs,
            rhs,
            ..
        } => {
            let a = lower_expr_with(graph, lhs, name)?;
            let b = lower_expr_with(graph, rhs, name)?;
            match fold_literals(BinOp::Pow, graph.as_num(a), graph.as_num(b)) {
                Some(folded) => graph.num(folded),
                None => graph.pow(a, b),
            }
        }
        Expr::Binary { op, .. } => lower_chain(graph, expr, *op, name)?,
        Expr::Call {
            name: fname,
            args,
            span,
        } => {
            if let Some(f) = Func2::from_name(&fname.name)
                && let [a, b] = args.as_slice()
            {
                let a = lower_expr_with(graph, a, name)?;
                let b = lower_expr_with(graph, b, name)?;
                return Ok(graph.call2(f, a, b));
            }
            if let Some(wrong) = crate::lang::syntax::wrong_arity(fname, args, &[], *span) {
                return Err(wrong.into());
            }
            let (Some(f), [arg]) = (Func::from_name(&fname.name), args.as_slice()) else {
                return Err(Diagnostic::at(
                    fname.span,
                    format!("unknown function `{}`", fname.name),
                    "not a built-in function",
                )
                .with_help(format!("the built-in functions are {}", builtin_list()))
                .into());
            };
            let x = lower_expr_with(graph, arg, name)?;
            graph.call(f, x)
        }
        Expr::DerivRef {
            of, wrt, partial, ..
        } => {
            let y = name(graph, of).map_err(LowerFailure::Name)?;
            let xs = with_respect_to(graph, wrt, name)?;
            graph.derivative(y, xs, *partial)
        }
        Expr::DerivOf {
            wrt,
            expr: inner,
            partial,
            ..
        } => {
            let xs = with_respect_to(graph, wrt, name)?;
            let e = lower_expr_with(graph, inner, name)?;
            graph.derivative(e, xs, *partial)
        }
    })
}

/// Lowers a left-nested chain `a + b - c + ...` (or `a b / c ...`) of the operator family of
/// `top`: one sum (product), as it is read.
///
/// The result is the one of lowering each `Binary` node in turn (literal operands folded, the
/// sum so far spliced into the next), but the partial sums are not built: a sum of n terms
/// costs O(n), not O(n²) nodes and hashing.
fn lower_chain(
    graph: &mut Graph,
    expr: &Expr,
    top: BinOp,
    name: &mut dyn FnMut(&mut Graph, &Ident) -> std::result::Result<Id, Ident>,
) -> std::result::Result<Id, LowerFailure> {
    let sum = matches!(top, BinOp::Add | BinOp::Sub);
    let in_family = |op: BinOp| {
        if sum {
            matches!(op, BinOp::Add | BinOp::Sub)
        } else {
            matches!(op, BinOp::Mul | BinOp::Div)
        }
    };
    // The right operands from the last to the first, and the leftmost operand.
    let mut spine: Vec<(BinOp, &Expr)> = Vec::new();
    let mut leftmost = expr;
    while let Expr::Binary { op, lhs, rhs, .. } = leftmost
        && in_family(*op)
    {
        spine.push((*op, rhs));
        leftmost = lhs;
    }
    // The value so far: `acc[0]` when it has one element, else the sum (product) of `acc`,
    // not yet added to the graph.
    if let (Expr::Name(ident), Some((BinOp::Mul, rhs))) = (leftmost, spine.last())
        // A parenthesised operand's span starts inside the `(`: `sigmod(w*x)` is one apart.
        && rhs.span().start <= ident.span.end + 1
        && name(graph, ident).is_err()
        && let Some(d) = misspelt_function(ident)
    {
        return Err(d.into());
    }
    let first = lower_expr_with(graph, leftmost, name)?;
    let mut acc: Vec<Id> = vec![first];
    // The terms (factors) of a node when it is a sum (product), else the node alone.
    let spliced = |graph: &Graph, id: Id| -> Vec<Id> {
        match (graph.node(id), sum) {
            (Node::Add(xs), true) | (Node::Mul(xs), false) => xs.to_vec(),
            _ => vec![id],
        }
    };
    for &(op, rhs) in spine.iter().rev() {
        let b = lower_expr_with(graph, rhs, name)?;
        let a = if acc.len() == 1 {
            graph.as_num(acc[0])
        } else {
            None
        };
        if let Some(folded) = fold_literals(op, a, graph.as_num(b)) {
            acc = vec![graph.num(folded)];
            continue;
        }
        if acc.len() == 1 {
            acc = spliced(graph, acc[0]);
        }
        match op {
            BinOp::Add => acc.push(b),
            BinOp::Sub => {
                let nb = graph.neg(b);
                acc.push(nb);
            }
            BinOp::Div => {
                let m1 = graph.int(-1);
                let inv = graph.pow(b, m1);
                acc.push(inv);
            }
            _ => acc.extend(spliced(graph, b)),
        }
    }
    Ok(if acc.len() == 1 {
        acc[0]
    } else if sum {
        graph.sum(acc)
    } else {
        graph.product(acc)
    })
}

/// Arithmetic on two literals, done exactly (`1/2` is the number ½, `2^-3` is 0.125).
fn fold_literals(op: BinOp, a: Option<Num>, b: Option<Num>) -> Option<Num> {
    let (a, b) = (a?, b?);
    let exact = |n: Num| matches!(n, Num::Rat(..)).then_some(n);
    match op {
        BinOp::Add => exact(a.add(b)),
        BinOp::Sub => exact(a.add(b.neg())),
        BinOp::Mul => exact(a.mul(b)),
        BinOp::Div if !b.is_zero() => exact(a.mul(b.pow(Num::MINUS_ONE)?)),
        BinOp::Pow => exact(a.pow(b)?),
        BinOp::Div => None,
    }
}

/// `sigmod(z)`: an unknown name written like a call, close to a built-in function's name.
fn misspelt_function(ident: &Ident) -> Option<Diagnostic> {
    let nearest = Func::ALL
        .iter()
        .map(|f| f.name())
        .filter(|f| !f.ends_with('\''))
        .map(|f| (strsim::damerau_levenshtein(&ident.name, f), f))
        .filter(|(d, _)| *d <= 2)
        .min()?;
    Some(
        Diagnostic::at(
            ident.span,
            format!("unknown function `{}`", ident.name),
            "not a built-in function",
        )
        .with_help(format!(
            "did you mean `{}`? The built-in functions are {}",
            nearest.1,
            builtin_list()
        )),
    )
}

/// The name a derivative is taken with respect to.
fn with_respect_to(
    graph: &mut Graph,
    wrt: &Ident,
    name: &mut dyn FnMut(&mut Graph, &Ident) -> std::result::Result<Id, Ident>,
) -> std::result::Result<Sym, LowerFailure> {
    let x = name(graph, wrt).map_err(LowerFailure::Name)?;
    match *graph.node(x) {
        Node::Var(s) => Ok(s),
        _ => Err(Diagnostic::at(
            wrt.span,
            "a derivative is taken with respect to a name",
            "not a name",
        )
        .into()),
    }
}

//! Claims in matrix notation about a vector program: `dW1 = 1/m * np.dot(dZ1, X.T)`,
//! `\delta^{(2)} = ((W^{(3)})^T \delta^{(3)}) \odot \sigma'(z^{(2)})`, `dJ/dW2 = dZ2 A1^T / m`.
//!
//! The left side names a whole vector or matrix of the program: its gradient (`dW1`, `db1`,
//! `dZ2`, `dA1` by the code convention, `∂J/∂W1`, `\frac{\partial C}{\partial W^{(2)}}`, or
//! `δ2`/`\delta^{(2)}` for the pre-activation of layer 2) or its value. The right side is
//! NumPy or PyTorch code, LaTeX, or the plain language, lowered into the program's own tensor
//! graph with the program's names; a code name `dZ2` on the right stands for the true ∂J/∂Z2,
//! as in a notebook where it was computed the line before. A claim is judged by shape first
//! (the claim's shape against the quantity's, which is its name's: the gradient has the shape
//! of its parameter) and then by value, every entry at random points, against the scalar
//! engine's derivatives of the scalarised program (an independent route: the matrix-form
//! derivation is not used). A wrong claim is diagnosed by edits of its tensor tree
//! (`diagnose::shapes`). Nothing here does I/O.

use std::collections::HashMap;

use crate::analysis::optimizer::OptimizerKind;
use crate::core::diff;
use crate::core::error::Diagnostic;
use crate::core::eval;
use crate::core::expr::{FastMap, Graph, Id, Node, Sym};
use crate::core::forward;
use crate::core::matrix_diff::{checked_shape, shapes_in};
use crate::core::model::{Given, Model, SymKind, Symbol};
use crate::core::tensor::{Layout, Shape, scalarise_with};
use crate::lang::ast::{CodeMeaning, Expr, Ident, Program, Stmt};
use crate::lang::expr_lowering::LowerFailure;
use crate::lang::{code_claim, latex, shaped, syntax};

use super::claims::{shift_expr, shifted, split_claim};
use super::diagnose::shapes::{Candidate, Context, candidates};
use super::{CheckError, Checked, Diagnosis, Formulas, Method, Mistake, Verdict};

/// Random points every entry is compared at.
const POINTS: usize = 5;

/// Two entries agree when they differ by less than this, relative to the largest entry of
/// the true matrix (and at least 1).
const SAME: f64 = 1e-9;

/// The most gradient entries a claim's judgement differentiates (each one derivative of the
/// scalarised program).
const MAX_GRADIENT_ENTRIES: usize = 2000;

/// Names that stand for the cost in a claim when the program does not define them.
const COST_NAMES: [&str; 6] = ["C", "J", "L", "E", "cost", "loss"];

/// Why a claim's shape is wrong: what it is (`None`: its operands do not fit, `unfit` says
/// how) and what the quantity it claims is.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeReport {
    pub claimed: Option<Shape>,
    pub expected: Shape,
    /// The quantity as the text and LaTeX forms write it: `∂J/∂W2`.
    pub quantity: String,
    pub quantity_latex: String,
    /// For a claim whose operands do not fit: the message naming them and their shapes.
    pub unfit: Option<String>,
}

/// A name's value at a point: its entries row-major (one for a scalar).
#[derive(Clone, Debug, PartialEq)]
pub struct NamedValue {
    pub name: String,
    pub shape: Shape,
    pub values: Vec<f64>,
}

/// Where a claim in matrix notation differs: the point (every input, target and parameter of
/// the program, whole), and the claim's and the true value there, whole, of `shape`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixCounterexample {
    pub point: Vec<NamedValue>,
    pub shape: Shape,
    pub claimed: Vec<f64>,
    pub truth: Vec<f64>,
}

/// A vector program ready to judge claims in matrix notation: its tensor model, with a name
/// `d<name>` (of the name's shape) for the gradient of the cost with respect to each name.
pub struct MatrixProgram {
    tensor: Model,
    layout: Layout,
    sizes: HashMap<String, u32>,
    /// The gradient names (`dZ2`, `∂J/∂Z2`).
    gradients: Vec<Gradient>,
    /// The names of the program (the gradient names come after them).
    program_names: usize,
    /// Names declared for names of the program (`code A0 = X`).
    aliases: HashMap<String, Sym>,
}

/// A name for the gradient of the cost with respect to a name of the program, times `scale`
/// (m for the code names of intermediates, which are the per-example loss's).
#[derive(Copy, Clone, Debug)]
struct Gradient {
    sym: Sym,
    of: Sym,
    scale: u32,
}

/// A new name for scale·∂cost/∂`of` (a code name, `dW1`, or the derivative written out,
/// `∂J/∂Z2`): a value of `of`'s shape that a claim may use, given at each point checked.
fn gradient_symbol(tensor: &mut Model, name: String, of: Sym, scale: u32) -> Gradient {
    let symbol = tensor.symbol(of);
    let (span, shape) = (symbol.span, symbol.shape);
    let sym = Sym(tensor.symbols.len() as u32);
    tensor.symbols.push(Symbol {
        name,
        kind: SymKind::Input,
        display: None,
        span,
        shape,
    });
    tensor.definitions.push(None);
    tensor.graph.var(sym);
    Gradient { sym, of, scale }
}

/// What the left side of a matrix claim is.
#[derive(Copy, Clone, Debug)]
enum Quantity {
    /// ∂cost/∂name, times a scale (see [`Gradient`]).
    Gradient(Sym, u32),
    /// The name's value.
    Value(Sym),
}

impl Quantity {
    /// The name the quantity is of, whose shape it has.
    fn subject(self) -> Sym {
        match self {
            Quantity::Gradient(s, _) | Quantity::Value(s) => s,
        }
    }
}

impl MatrixProgram {
    /// [`MatrixProgram::of`] the program in `source`; `None` also for the `network` shorthand.
    pub fn from_source(source: &str) -> crate::core::error::Result<Option<MatrixProgram>> {
        match crate::lang::load::parse(source)? {
            crate::lang::load::Parsed::StraightLine(program) => MatrixProgram::of(&program),
            crate::lang::load::Parsed::Network(_) => Ok(None),
        }
    }

    /// The program's tensor form, or `None` for a program without vectors and matrices.
    pub fn of(program: &Program) -> crate::core::error::Result<Option<MatrixProgram>> {
        let Some((mut tensor, layout)) = crate::lang::lower::lower_tensor(program)? else {
            return Ok(None);
        };
        let sizes = program
            .statements
            .iter()
            .filter_map(|stmt| match stmt {
                Stmt::Size { name, value, .. } => {
                    Some((name.name.clone(), value.name.parse().ok()?))
                }
                _ => None,
            })
            .collect();
        let program_names = tensor.symbols.len();
        // `W^{(3)}` for a matrix the program calls `w3` (Nielsen writes w, most books W).
        for index in 0..program_names {
            let symbol = &tensor.symbols[index];
            let letters = symbol.name.trim_end_matches(|c: char| c.is_ascii_digit());
            let digits = &symbol.name[letters.len()..];
            let mut chars = letters.chars();
            let (Some(first), None) = (chars.next(), chars.next()) else {
                continue;
            };
            let swapped: String = if first.is_lowercase() {
                first.to_uppercase().collect()
            } else {
                first.to_lowercase().collect()
            };
            if symbol.display.is_some()
                || symbol.shape.is_scalar()
                || digits.is_empty()
                || tensor.lookup(&format!("{swapped}{digits}")).is_some()
            {
                continue;
            }
            tensor.symbols[index].display = Some(format!("{swapped}^{{({digits})}}"));
        }
        let batch = batch_size(&tensor, layout, &sizes);
        // Declared code names (`code dW1 = dJ/dW1`) come before the convention's, which
        // give way to them; the lowering has checked every name.
        let mut declared = Vec::new();
        let mut aliases = HashMap::new();
        for stmt in &program.statements {
            let Stmt::CodeName { name, meaning, .. } = stmt else {
                continue;
            };
            match meaning {
                CodeMeaning::Alias(of) => {
                    if let Some(s) = tensor.lookup(&of.name) {
                        aliases.insert(name.name.clone(), s);
                    }
                }
                CodeMeaning::Gradient { wrt, scale, .. } => {
                    let scale = scale
                        .as_ref()
                        .and_then(|s| sizes.get(&s.name).copied())
                        .unwrap_or(1);
                    if let Some(of) = tensor.lookup(&wrt.name) {
                        declared.push((name.name.clone(), of, scale));
                    }
                }
            }
        }
        let mut gradients: Vec<Gradient> = declared
            .into_iter()
            .map(|(name, of, scale)| gradient_symbol(&mut tensor, name, of, scale))
            .collect();
        // Code names follow Ng's notebooks: `dW1`, `db1` are ∂J/∂W1, ∂J/∂b1; `dZ2`, `dA1` are
        // the per-example loss's, m ∂J/∂Z2 (the 1/m of the averaged cost is applied once, in
        // dW and db). `δ2` and `∂J/∂Z2` written out are ∂J/∂Z2 itself.
        for index in 0..program_names {
            let of = Sym(index as u32);
            let symbol = tensor.symbol(of);
            if of == tensor.cost {
                continue;
            }
            let per_example = symbol.kind != SymKind::Param && batch > 1;
            let cost = tensor.name(tensor.cost).to_string();
            let mut names = vec![(
                format!("d{}", symbol.name),
                if per_example { batch } else { 1 },
            )];
            if per_example {
                names.push((format!("∂{cost}/∂{}", symbol.name), 1));
            }
            for (name, scale) in names {
                if tensor.lookup(&name).is_some() || aliases.contains_key(&name) {
                    continue;
                }
                gradients.push(gradient_symbol(&mut tensor, name, of, scale));
            }
        }
        Ok(Some(MatrixProgram {
            tensor,
            layout,
            sizes,
            gradients,
            program_names,
            aliases,
        }))
    }

    /// The name of ∂cost/∂of: the code name (`dZ2`, `scaled`, m ∂J/∂Z2 for an
    /// intermediate) or the derivative itself (∂J/∂Z2).
    fn gradient_name(&self, of: Sym, scaled: bool) -> Option<Sym> {
        let mut of_name = self.gradients.iter().filter(|g| g.of == of);
        if scaled {
            of_name.next()
        } else {
            of_name.find(|g| g.scale == 1)
        }
        .map(|g| g.sym)
    }

    /// A name of the program as a claim writes it: exactly, or with the case of its first
    /// letter changed (`w2` for `W2`, as Nielsen and Ng differ).
    fn program_name(&self, written: &str) -> Option<Sym> {
        let found = |name: &str| {
            self.tensor
                .lookup(name)
                .filter(|s| s.index() < self.program_names)
                .or_else(|| self.aliases.get(name).copied())
        };
        found(written).or_else(|| {
            let mut chars = written.chars();
            let first = chars.next()?;
            let swapped: String = if first.is_uppercase() {
                first.to_lowercase().chain(chars).collect()
            } else {
                first.to_uppercase().chain(chars).collect()
            };
            found(&swapped)
        })
    }

    /// The pre-activation of layer `k`: `z2` or `Z2`.
    fn pre_activation(&self, layer: &str) -> Option<Sym> {
        self.program_name(&format!("z{layer}"))
    }

    fn is_cost(&self, written: &str) -> bool {
        let written = bare_name(written);
        self.program_name(&written) == Some(self.tensor.cost)
            || (COST_NAMES.contains(&written.as_str()) && self.program_name(&written).is_none())
    }

    /// What the left side names, or `None` when it is not a whole vector or matrix of the
    /// program (the claim is then for the entry-by-entry checker).
    fn quantity(&self, lhs: &str) -> Option<Quantity> {
        let text = lhs.trim();
        if let Some((of, wrt)) = derivative_parts(text) {
            if !self.is_cost(of) {
                return None;
            }
            return self.written_name(wrt).map(|s| Quantity::Gradient(s, 1));
        }
        let bare = bare_name(text);
        // A gradient name as written (declared ones before `δ2`'s reading).
        if let Some(g) = self.gradient_named(text) {
            return Some(Quantity::Gradient(g.of, g.scale));
        }
        if let Some(layer) = delta_layer(text) {
            return self
                .pre_activation(&layer)
                .map(|s| Quantity::Gradient(s, 1));
        }
        if let Some(s) = self.program_name(&bare) {
            return Some(Quantity::Value(s));
        }
        let of = self.program_name(bare.strip_prefix('d')?)?;
        let code = self.gradient_name(of, true)?;
        let scale = self.gradients.iter().find(|g| g.sym == code)?.scale;
        Some(Quantity::Gradient(of, scale))
    }

    /// The gradient name written so (`dZ2`, `d_{Z2}`, or one the program declares, `grad_W1`).
    fn gradient_named(&self, written: &str) -> Option<&Gradient> {
        let named = |name: &str| {
            self.gradients
                .iter()
                .find(|g| self.tensor.name(g.sym) == name)
        };
        named(written.trim()).or_else(|| named(&bare_name(written)))
    }

    /// A name written in LaTeX or plain (`W^{(2)}`, `\mathbf{W}^{[2]}`, `W_2`, `W2`).
    fn written_name(&self, written: &str) -> Option<Sym> {
        self.program_name(&bare_name(written))
    }

    /// Judges one claim, or `None` when it is not a claim in matrix notation about this
    /// program.
    pub fn check(&self, text: &str) -> Option<Result<Checked, Diagnostic>> {
        let split = split_claim(text).ok()?;
        let quantity = self.quantity(split.lhs)?;
        // A number is a value at the `--at` point, which the entry-by-entry checker judges
        // (`dJ/db2 = 0.05`, `J = 0.69`), as it does a scalar's value.
        let number = !split
            .rhs
            .chars()
            .any(|c| c.is_alphabetic() && !matches!(c, 'e' | 'E'));
        let scalar_value =
            matches!(quantity, Quantity::Value(s) if self.tensor.symbol(s).shape.is_scalar());
        if number || scalar_value {
            return None;
        }
        // A code name on the left (`dZ1 = …`) says the right side is code: `*` entry by entry.
        let lhs = bare_name(split.lhs);
        let code = derivative_parts(split.lhs.trim()).is_none()
            && (self.gradient_named(split.lhs).is_some()
                || (delta_layer(split.lhs).is_none() && self.program_name(&lhs).is_none()));
        Some(self.judge(text, quantity, split.rhs, split.rhs_offset, code))
    }

    fn judge(
        &self,
        text: &str,
        quantity: Quantity,
        rhs: &str,
        offset: usize,
        code: bool,
    ) -> Result<Checked, Diagnostic> {
        let expr = self.parse_side(rhs, code).map_err(|d| shifted(d, offset))?;
        let expr = shift_expr(expr, offset);
        let mut tensor = self.tensor.clone();
        // Strictly first: a claim whose operands do not fit is named by the lowering's message.
        let unfit = match self.lower(&mut tensor, &expr, false) {
            Ok(_) => None,
            Err(LowerFailure::Error(d)) => Some(d.message),
            Err(LowerFailure::Name(ident)) => return Err(self.unknown_name(&ident)),
        };
        let (claim, _) = self
            .lower(&mut tensor, &expr, true)
            .map_err(|failure| match failure {
                LowerFailure::Error(d) => d,
                LowerFailure::Name(ident) => self.unknown_name(&ident),
            })?;
        let expected = tensor.symbol(quantity.subject()).shape;
        let claimed = if unfit.is_some() {
            None
        } else {
            checked_shape(&tensor, claim)
        };
        let context = Context {
            layout: self.layout,
            batch: Some(batch_size(&self.tensor, self.layout, &self.sizes)),
            activations: self.activations(),
        };
        let found = candidates(&mut tensor, claim, &context);
        let mut formulas = vec![claim];
        let fitting: Vec<&Candidate> = found
            .iter()
            .filter(|c| checked_shape(&tensor, c.root) == Some(expected))
            .collect();
        formulas.extend(fitting.iter().map(|c| c.root));
        let judged = Judgement::run(
            self,
            &tensor,
            quantity,
            &formulas,
            claimed == Some(expected),
        )?;
        let claim_agrees = claimed == Some(expected) && judged.agrees[0];
        let mistake = if claim_agrees {
            None
        } else {
            fitting
                .iter()
                .zip(&judged.agrees[1..])
                .find(|(_, agrees)| **agrees)
                .map(|(c, _)| (*c).clone())
        };
        let (quantity_text, quantity_latex) = self.quantity_forms(quantity);
        let shape = (claimed != Some(expected)).then(|| ShapeReport {
            claimed,
            expected,
            quantity: quantity_text,
            quantity_latex,
            unfit: unfit.clone(),
        });
        let mut graph = Graph::default();
        let mut copy = |id: Id| graph.import(&tensor.graph, id);
        let (diagnosis, corrected) = match &mistake {
            Some(c) => {
                let written = copy(c.written);
                let should_be = copy(c.should_be);
                let root = copy(c.root);
                (
                    Some(Diagnosis::of(Some(Mistake::Shape {
                        edit: c.edit,
                        written,
                        should_be,
                    }))),
                    Some(root),
                )
            }
            None if claim_agrees => (None, None),
            None => (Some(Diagnosis::of(None)), None),
        };
        let mut roots: Vec<Id> = corrected.into_iter().collect();
        if let Some(Some(Mistake::Shape {
            written, should_be, ..
        })) = diagnosis.as_ref().map(|d| d.mistake.as_ref())
        {
            roots.extend([*written, *should_be]);
        }
        let symbols: std::sync::Arc<[Symbol]> = tensor.symbols.clone().into();
        let shapes = shapes_in(&graph, &symbols, &roots);
        Ok(Checked {
            claim: text.trim().to_string(),
            verdict: if claim_agrees {
                Verdict::Correct
            } else {
                Verdict::Incorrect
            },
            method: Method::NumericEveryEntry { points: POINTS },
            counterexample: None,
            matrix_counterexample: judged.counterexample,
            claimed_value: judged.first_difference.map(|d| d.0),
            true_value: judged.first_difference.map(|d| d.1),
            diagnosis,
            corrected,
            expected: None,
            formulas: Formulas {
                graph,
                symbols,
                shapes,
            },
            unreadable: None,
            shape,
        })
    }

    fn parse_side(&self, rhs: &str, code: bool) -> Result<Expr, Diagnostic> {
        let parsed = if code_claim::looks_like_code(rhs) {
            code_claim::parse_code(rhs)
        } else if latex::looks_like_latex(rhs) {
            latex::parse_latex(&self.tensor, rhs)
        } else if code {
            code_claim::parse_code(rhs)
        } else {
            syntax::parse_expr(rhs)
        }?;
        Ok(self.gradients_as_names(&parsed))
    }

    /// `∂J/∂Z2` and `\delta^{(2)}` written inside a claim become the gradient name `dZ2`.
    fn gradients_as_names(&self, expr: &Expr) -> Expr {
        let sub = |e: &Expr| Box::new(self.gradients_as_names(e));
        match expr {
            Expr::DerivRef { of, wrt, span, .. } if self.is_cost(&of.name) => {
                match self
                    .program_name(&wrt.name)
                    .and_then(|s| self.gradient_name(s, false))
                {
                    Some(g) => Expr::Name(Ident {
                        name: self.tensor.name(g).to_string(),
                        span: *span,
                    }),
                    None => expr.clone(),
                }
            }
            Expr::Neg { operand, span } => Expr::Neg {
                operand: sub(operand),
                span: *span,
            },
            Expr::Binary { op, lhs, rhs, span } => Expr::Binary {
                op: *op,
                lhs: sub(lhs),
                rhs: sub(rhs),
                span: *span,
            },
            Expr::Call { name, args, span } => Expr::Call {
                name: name.clone(),
                args: args.iter().map(|a| self.gradients_as_names(a)).collect(),
                span: *span,
            },
            Expr::Index {
                operand,
                indices,
                span,
            } => Expr::Index {
                operand: sub(operand),
                indices: indices.clone(),
                span: *span,
            },
            Expr::Transpose { operand, span } => Expr::Transpose {
                operand: sub(operand),
                span: *span,
            },
            other => other.clone(),
        }
    }

    fn lower(
        &self,
        tensor: &mut Model,
        expr: &Expr,
        lenient: bool,
    ) -> Result<(Id, Shape), LowerFailure> {
        let symbols = tensor.symbols.clone();
        let mut name = |graph: &mut Graph, ident: &Ident| {
            let sym = self.resolve(&ident.name).ok_or_else(|| ident.clone())?;
            Ok((graph.var(sym), symbols[sym.index()].shape))
        };
        let mut scope = shaped::Scope {
            name: &mut name,
            layout: self.layout,
            lenient,
        };
        shaped::lower(&mut tensor.graph, expr, &mut scope)
    }

    /// A name on the right side: the program's, a gradient name (`dZ2`), or `δ2`.
    fn resolve(&self, written: &str) -> Option<Sym> {
        if let Some(s) = self.tensor.lookup(written) {
            return Some(s);
        }
        if let Some(layer) = delta_layer(written) {
            return self.gradient_name(self.pre_activation(&layer)?, false);
        }
        if let Some(s) = self.program_name(written) {
            return Some(s);
        }
        self.gradient_name(self.program_name(written.strip_prefix('d')?)?, true)
    }

    fn unknown_name(&self, ident: &Ident) -> Diagnostic {
        Diagnostic::at(
            ident.span,
            format!("unknown name `{}`", ident.name),
            "not a name of the program",
        )
        .with_help(
            "a claim uses the program's names (`W1`, `A1`, `X`), `dW1` or `dZ2` for the \
             gradient of the cost with respect to `W1` or `Z2`, `delta2` for that of `z2`, the \
             declared sizes (`m`), and the names the program declares with `code` \
             (`code grad_W1 = dJ/dW1`)",
        )
    }

    /// The inputs, targets and parameters of the program at a point of its scalarisation
    /// (`arrays` gives each name's entries there), each whole.
    fn point_values(
        &self,
        tensor: &Model,
        arrays: &[crate::core::model::Array],
        point: &[(Sym, f64)],
    ) -> Vec<NamedValue> {
        let at: FastMap<Sym, f64> = point.iter().copied().collect();
        (0..self.program_names)
            .map(|index| tensor.symbol(Sym(index as u32)))
            .zip(arrays)
            .filter(|(symbol, _)| {
                matches!(
                    symbol.kind,
                    SymKind::Input | SymKind::Target | SymKind::Param
                )
            })
            .map(|(symbol, array)| NamedValue {
                name: symbol.name.clone(),
                shape: symbol.shape,
                values: array
                    .entries
                    .iter()
                    .map(|e| at.get(e).copied().unwrap_or(f64::NAN))
                    .collect(),
            })
            .collect()
    }

    /// The activations of the program: `A1 = tanh(Z1)` gives (A1, Z1).
    fn activations(&self) -> Vec<(Sym, Sym)> {
        self.tensor
            .order
            .iter()
            .filter_map(|&a| {
                let def = self.tensor.definition(a)?;
                match self.tensor.graph.node(def) {
                    Node::Call(_, arg) => match self.tensor.graph.node(*arg) {
                        Node::Var(z) => Some((a, *z)),
                        _ => None,
                    },
                    Node::Tensor(crate::core::tensor::TensorOp::Softmax(_), xs) => {
                        match self.tensor.graph.node(xs[0]) {
                            Node::Var(z) => Some((a, *z)),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            })
            .collect()
    }

    fn quantity_forms(&self, quantity: Quantity) -> (String, String) {
        let cost = self.tensor.name(self.tensor.cost);
        match quantity {
            Quantity::Gradient(s, scale) => {
                let name = self.tensor.name(s);
                let m = if scale > 1 { "m " } else { "" };
                (
                    format!("{m}∂{cost}/∂{name}"),
                    format!(
                        "{m}\\partial {}/\\partial {}",
                        crate::lang::names::name_latex(self.tensor.symbol(self.tensor.cost)),
                        crate::lang::names::name_latex(self.tensor.symbol(s))
                    ),
                )
            }
            Quantity::Value(s) => (
                self.tensor.name(s).to_string(),
                crate::lang::names::name_latex(self.tensor.symbol(s)),
            ),
        }
    }
}

/// The numbers behind a judgement: whether each formula agrees with the truth at every
/// point, and the first entry where the claim (the first formula) differs.
struct Judgement {
    agrees: Vec<bool>,
    first_difference: Option<(f64, f64)>,
    counterexample: Option<MatrixCounterexample>,
}

impl Judgement {
    fn run(
        program: &MatrixProgram,
        tensor: &Model,
        quantity: Quantity,
        formulas: &[Id],
        claim_fits: bool,
    ) -> Result<Judgement, Diagnostic> {
        // The claim is scalarised only when its shape fits; the candidates always fit.
        let (written_formulas, skip) = if claim_fits {
            (formulas.to_vec(), 0)
        } else {
            (formulas[1..].to_vec(), 1)
        };
        let (mut scalar, arrays, written) =
            scalarise_with(tensor, program.layout, &written_formulas)?;
        let cost = scalar.graph_var(scalar.cost);
        // The truth: ∂cost/∂entry for every entry of each gradient the claim is about or uses.
        let mut derivative_of: FastMap<Sym, Vec<Id>> = FastMap::default();
        let mut needed: Vec<Sym> = Vec::new();
        if let Quantity::Gradient(s, _) = quantity {
            needed.push(s);
        }
        for &f in &written_formulas {
            for id in tensor.graph.reachable(&[f]) {
                if let Node::Var(v) = tensor.graph.node(id)
                    && let Some(of) = program.gradients.iter().find(|g| g.sym == *v).map(|g| g.of)
                    && !needed.contains(&of)
                {
                    needed.push(of);
                }
            }
        }
        let entries: usize = needed
            .iter()
            .map(|of| arrays[of.index()].entries.len())
            .sum();
        if entries > MAX_GRADIENT_ENTRIES {
            return Err(Diagnostic::new(format!(
                "judging this claim entry by entry takes the derivatives of {entries} entries; \
                 at most {MAX_GRADIENT_ENTRIES} are taken"
            ))
            .with_help(
                "check the claim on the program with a smaller batch or narrower layers: a \
                 formula in matrix notation holds for every size or for none",
            ));
        }
        for &of in &needed {
            let entries: Vec<Id> = arrays[of.index()]
                .entries
                .clone()
                .into_iter()
                .map(|e| diff::differentiate_expr(&mut scalar, cost, e))
                .collect();
            derivative_of.insert(of, entries);
        }
        let truth: Vec<Id> = match quantity {
            Quantity::Gradient(s, scale) => derivative_of[&s]
                .iter()
                .map(|&d| {
                    let scale = scalar.graph.int(scale as i64);
                    scalar.graph.product(vec![scale, d])
                })
                .collect(),
            Quantity::Value(s) => arrays[s.index()]
                .entries
                .iter()
                .map(|&e| scalar.graph_var(e))
                .collect(),
        };
        let gradient_leaves: Vec<Sym> = program
            .gradients
            .iter()
            .flat_map(|g| arrays[g.sym.index()].entries.iter().copied())
            .collect();
        let mut rng = fastrand::Rng::with_seed(0x6d61_7472_6978);
        let mut agrees = vec![true; formulas.len()];
        let mut first_difference = None;
        let mut counterexample = None;
        for _ in 0..POINTS {
            let point = random_point(&scalar, &gradient_leaves, &mut rng);
            let mut values = forward::float64(&scalar, &point);
            for &of in &needed {
                let at = eval::eval_f64(&scalar.graph, &derivative_of[&of], &|s| {
                    values.get(&s).copied()
                })
                .map_err(|_| Diagnostic::new("the true gradient cannot be evaluated"))?;
                for g in program.gradients.iter().filter(|g| g.of == of) {
                    for (&entry, v) in arrays[g.sym.index()].entries.iter().zip(&at) {
                        values.insert(entry, v * g.scale as f64);
                    }
                }
            }
            let value_of = |s: Sym| values.get(&s).copied();
            let truth_values = eval::eval_f64(&scalar.graph, &truth, &value_of)
                .map_err(|_| Diagnostic::new("the true value cannot be evaluated"))?;
            let scale = truth_values.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            // NaN is never close.
            let close = |c: f64, t: f64| (c - t).abs() <= SAME * scale;
            for (k, entries) in written.iter().enumerate() {
                let index = k + skip;
                if !agrees[index] {
                    continue;
                }
                let Ok(claimed) = eval::eval_f64(&scalar.graph, entries, &value_of) else {
                    agrees[index] = false;
                    continue;
                };
                let differing = claimed
                    .iter()
                    .zip(&truth_values)
                    .find(|&(&c, &t)| !close(c, t));
                if let Some((&c, &t)) = differing {
                    agrees[index] = false;
                    if index == 0 && first_difference.is_none() {
                        first_difference = Some((c, t));
                        counterexample = Some(MatrixCounterexample {
                            point: program.point_values(tensor, &arrays, &point),
                            shape: tensor.symbol(quantity.subject()).shape,
                            claimed,
                            truth: truth_values.clone(),
                        });
                    }
                }
            }
        }
        if !claim_fits {
            agrees[0] = false;
        }
        Ok(Judgement {
            agrees,
            first_difference,
            counterexample,
        })
    }
}

/// The batch size m: the program's one size, or the size the inputs' examples run along (1
/// for a program of one example).
fn batch_size(tensor: &Model, layout: Layout, sizes: &HashMap<String, u32>) -> u32 {
    if sizes.len() == 1 {
        return sizes.values().next().copied().unwrap_or(1);
    }
    let input = tensor.symbols.iter().find(|s| s.kind == SymKind::Input);
    input.map_or(1, |input| match layout {
        Layout::Columns => input.shape.cols,
        Layout::Rows => input.shape.rows,
    })
}

/// Values for the leaves of the scalarised program: inputs and parameters in (−1, 1),
/// targets in (0, 1), and a one-hot group's targets one-hot.
fn random_point(scalar: &Model, skip: &[Sym], rng: &mut fastrand::Rng) -> Vec<(Sym, f64)> {
    let mut point = Vec::new();
    let mut one_hot: FastMap<Sym, f64> = FastMap::default();
    for group in &scalar.one_hot {
        let hot = rng.usize(..group.len());
        for (k, &y) in group.iter().enumerate() {
            one_hot.insert(y, if k == hot { 1.0 } else { 0.0 });
        }
    }
    for s in scalar.syms() {
        if scalar.definition(s).is_some() || skip.contains(&s) {
            continue;
        }
        let value = match (one_hot.get(&s), scalar.symbol(s).kind) {
            (Some(&v), _) => v,
            (None, SymKind::Target) => 0.1 + 0.8 * rng.f64(),
            _ => 2.0 * rng.f64() - 1.0,
        };
        point.push((s, value));
    }
    point
}

/// `dJ/dW1`, `∂C/∂W^{(2)}`, `\frac{\partial J}{\partial W^{[1]}}`: the two names.
fn derivative_parts(text: &str) -> Option<(&str, &str)> {
    for frac in ["\\frac", "\\dfrac", "\\tfrac"] {
        if let Some(rest) = text.strip_prefix(frac) {
            let (top, rest) = braced(rest.trim_start())?;
            let (bottom, rest) = braced(rest.trim_start())?;
            if !rest.trim().is_empty() {
                return None;
            }
            return Some((differential(top)?, differential(bottom)?));
        }
    }
    let (top, bottom) = text.split_once('/')?;
    Some((differential(top)?, differential(bottom)?))
}

/// `∂J`, `\partial J`, `dJ`: the name after the differential.
fn differential(text: &str) -> Option<&str> {
    let text = text.trim();
    let rest = text
        .strip_prefix("\\partial")
        .or_else(|| text.strip_prefix('∂'))
        .or_else(|| text.strip_prefix("\\mathrm{d}"))
        .or_else(|| text.strip_prefix('d'))?
        .trim();
    (!rest.is_empty()).then_some(rest)
}

/// The content of a leading `{…}` and what follows it.
fn braced(text: &str) -> Option<(&str, &str)> {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&text[1..i], &text[i + 1..]));
                }
            }
            _ if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// The layer of `δ2`, `delta2`, `\delta^{(2)}`, `\delta^{[2]}`, `\delta_2`,
/// `\boldsymbol{\delta}^{(2)}`.
fn delta_layer(text: &str) -> Option<String> {
    let bare = bare_name(text);
    let layer = bare
        .strip_prefix("delta")
        .or_else(|| bare.strip_prefix('δ'))?;
    (!layer.is_empty() && layer.chars().all(|c| c.is_ascii_digit())).then(|| layer.to_string())
}

/// A name with its LaTeX decorations taken off: `\mathbf{W}^{(2)}`, `W^{[2]}`, `W_{2}` and
/// `W_2` are `W2`; `\delta` is `delta`.
fn bare_name(text: &str) -> String {
    let mut out = text.trim().to_string();
    for font in [
        "\\mathbf",
        "\\boldsymbol",
        "\\bm",
        "\\mathrm",
        "\\mathit",
        "\\vec",
    ] {
        out = out.replace(font, "");
    }
    out = out.replace('\\', "");
    out.chars()
        .filter(|c| !matches!(c, '{' | '}' | '(' | ')' | '[' | ']' | '^' | '_' | ' '))
        .collect()
}

/// Judges every claim about a program: claims in matrix notation about a vector program
/// here, the others by [`super::check_each`] on the scalarised model (update rules against
/// `asked`'s rule where an optimizer is asked for); in the claims' order.
pub fn check_claims(
    program: Option<&MatrixProgram>,
    model: &Model,
    claims: &[String],
    given: &[Given],
    asked: Option<OptimizerKind>,
) -> Vec<Result<Checked, CheckError>> {
    let mut results: Vec<Option<Result<Checked, CheckError>>> = claims
        .iter()
        .enumerate()
        .map(|(index, claim)| {
            program?.check(claim).map(|judged| {
                judged.map_err(|d| CheckError {
                    index,
                    diagnostic: Box::new(d),
                })
            })
        })
        .collect();
    let rest: Vec<usize> = (0..claims.len())
        .filter(|&i| results[i].is_none())
        .collect();
    let texts: Vec<String> = rest.iter().map(|&i| claims[i].clone()).collect();
    for (&i, judged) in rest
        .iter()
        .zip(super::check_each(model, &texts, given, asked))
    {
        results[i] = Some(judged.map_err(|e| CheckError { index: i, ..e }));
    }
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_sides_name_their_quantity() {
        assert_eq!(derivative_parts("dJ/dW1"), Some(("J", "W1")));
        assert_eq!(
            derivative_parts("\\frac{\\partial C}{\\partial W^{(2)}}"),
            Some(("C", "W^{(2)}"))
        );
        assert_eq!(bare_name("\\mathbf{W}^{[2]}"), "W2");
        assert_eq!(delta_layer("\\delta^{(2)}").as_deref(), Some("2"));
        assert_eq!(delta_layer("δ3").as_deref(), Some("3"));
        assert_eq!(delta_layer("deltaW"), None);
    }
}

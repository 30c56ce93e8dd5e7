//! The expansion of the `network` shorthand: the straight-line program a [`NetworkSpec`]
//! stands for — declarations with textbook display forms, then layer by layer `z` and `a` for
//! every neuron, then the cost — built as a syntax tree ([`program`]), printed as text
//! ([`text`]) for `chainrule expand`, and lowered by `load` as that tree with the L2
//! penalty's squares built straight into the graph ([`program_for_lowering`],
//! [`penalty_sum`]).

use crate::core::expr::{Graph, Id, Sym};
use crate::lang::ast::{AssignKind, BinOp, DeclKind, Declared, Expr, Ident, Program, Span, Stmt};
use crate::lang::network::{Activation, CostKind, NetworkSpec};

/// The names of the expansion and their display forms, in one place, so the expansion, its
/// printed text, the layered derivation and the tests agree on them. Layers and indices are
/// 1-based, as textbooks count.
pub mod names {
    /// The activation of neuron `k` of layer `l`: the input `x{k}` for the input layer.
    pub fn activation(l: usize, k: usize) -> String {
        if l == 1 {
            input(k)
        } else {
            format!("a{l}_{k}")
        }
    }
    pub fn input(k: usize) -> String {
        format!("x{k}")
    }
    pub fn target(j: usize) -> String {
        format!("y{j}")
    }
    /// The weight from neuron `k` of layer `l − 1` to neuron `j` of layer `l`.
    pub fn weight(l: usize, j: usize, k: usize) -> String {
        format!("w{l}_{j}_{k}")
    }
    pub fn bias(l: usize, j: usize) -> String {
        format!("b{l}_{j}")
    }
    pub fn weighted_input(l: usize, j: usize) -> String {
        format!("z{l}_{j}")
    }
    pub const COST: &str = "C";
    /// The cost before the L2 term, when there is one.
    pub const DATA_COST: &str = "C0";
    pub const LAMBDA: &str = "lambda";
    pub const SAMPLES: &str = "n";

    /// The display forms, as LaTeX. In `w^{(2)}_{10,3}` a comma separates indices of 10 and
    /// more (`w^{(2)}_{103}` would not say whether it is row 10 or 1).
    pub fn input_display(k: usize) -> String {
        format!("x_{{{k}}}")
    }
    pub fn target_display(j: usize) -> String {
        format!("y_{{{j}}}")
    }
    /// `comma` is whether the layer's rows or columns reach 10.
    pub fn weight_display(l: usize, j: usize, k: usize, comma: bool) -> String {
        let comma = if comma { "," } else { "" };
        format!("w^{{({l})}}_{{{j}{comma}{k}}}")
    }
    pub fn bias_display(l: usize, j: usize) -> String {
        format!("b^{{({l})}}_{{{j}}}")
    }
    pub fn weighted_input_display(l: usize, j: usize) -> String {
        format!("z^{{({l})}}_{{{j}}}")
    }
    pub fn activation_display(l: usize, j: usize) -> String {
        format!("a^{{({l})}}_{{{j}}}")
    }
    pub const LAMBDA_DISPLAY: &str = "\\lambda";
    pub const SAMPLES_DISPLAY: &str = "n";
}

/// The expansion as a syntax tree, the very tree the parser reads from [`text`] (operators
/// associate to the left as written there, parentheses leave no node). Every span is the
/// `network` line's: a statement the user did not write is reported where the network is.
pub fn program(spec: &NetworkSpec) -> Program {
    build(spec, Penalty::Tree)
}

/// The name [`program_for_lowering`]'s cost holds where [`program`]'s has the L2 penalty's
/// sum of squares: one no program can write (it starts with a control character).
pub const PENALTY_SUM: &str = "\u{1}sum of squared weights";

/// [`program`] with the L2 penalty's sum of squares left as the name [`PENALTY_SUM`], for
/// [`penalty_sum`] to build straight into the graph: 784-30-10 has 23,860 squares, and as a
/// syntax tree they were a third of the memory a derivation took at its peak.
pub fn program_for_lowering(spec: &NetworkSpec) -> Program {
    build(spec, Penalty::Name)
}

/// How the L2 penalty's sum of squares is written in the program built.
#[derive(Clone, Copy, PartialEq)]
enum Penalty {
    Tree,
    Name,
}

/// The L2 penalty's sum of squares built in `graph` as lowering [`program`]'s tree builds
/// it, node for node and in the same order (`weight` gives each weight's symbol): by layer,
/// each layer's first row's squares and then its other rows, each row a sum of its own, as
/// a left-associative chain of sums is read.
pub fn penalty_sum(spec: &NetworkSpec, graph: &mut Graph, weight: &dyn Fn(&str) -> Sym) -> Id {
    let two = graph.int(2);
    let squares = |graph: &mut Graph, l: usize, j: usize| -> Vec<Id> {
        // A row's weights are declared one after another (see `build`): only the first is
        // looked up by its name.
        let first = weight(&names::weight(l, j, 1));
        (0..spec.width(l - 1))
            .map(|k| {
                let w = graph.var(Sym(first.0 + k as u32));
                graph.pow(w, two)
            })
            .collect()
    };
    let one_or_sum = |graph: &mut Graph, terms: Vec<Id>| match terms[..] {
        [only] => only,
        _ => graph.sum(terms),
    };
    // A layer's chain: its first row's squares, then each other row as a sum.
    let layer = |graph: &mut Graph, l: usize| -> Vec<Id> {
        let mut terms = squares(graph, l, 1);
        for j in 2..=spec.width(l) {
            let row = squares(graph, l, j);
            terms.push(one_or_sum(graph, row));
        }
        terms
    };
    let mut terms = layer(graph, 2);
    for l in 3..=spec.layers() {
        let sum = layer(graph, l);
        terms.push(one_or_sum(graph, sum));
    }
    one_or_sum(graph, terms)
}

fn build(spec: &NetworkSpec, penalty: Penalty) -> Program {
    let tree = Tree { span: spec.span };
    let layers = spec.layers();
    let output = layers;
    let mut statements = Vec::new();
    let declare = |kind: DeclKind, names: Vec<Declared>| Stmt::Declare {
        kind,
        names,
        one_hot: None,
        span: spec.span,
    };
    let inputs = (1..=spec.width(1))
        .map(|k| tree.declared(names::input(k), names::input_display(k)))
        .collect();
    statements.push(declare(DeclKind::Input, inputs));
    let targets = (1..=spec.width(output))
        .map(|j| tree.declared(names::target(j), names::target_display(j)))
        .collect();
    // The log-likelihood cost is written for class labels: `target y1, ... one-hot`.
    statements.push(Stmt::Declare {
        kind: DeclKind::Target,
        names: targets,
        one_hot: (spec.cost == CostKind::LogLikelihood).then_some(spec.span),
        span: spec.span,
    });
    if spec.l2 {
        let scalars = vec![
            tree.declared(names::LAMBDA.into(), names::LAMBDA_DISPLAY.into()),
            tree.declared(names::SAMPLES.into(), names::SAMPLES_DISPLAY.into()),
        ];
        statements.push(declare(DeclKind::Input, scalars));
    }
    for l in 2..=layers {
        let (rows, cols) = (spec.width(l), spec.width(l - 1));
        let comma = rows >= 10 || cols >= 10;
        for j in 1..=rows {
            let mut params: Vec<Declared> = (1..=cols)
                .map(|k| {
                    tree.declared(
                        names::weight(l, j, k),
                        names::weight_display(l, j, k, comma),
                    )
                })
                .collect();
            if spec.biases {
                params.push(tree.declared(names::bias(l, j), names::bias_display(l, j)));
            }
            statements.push(declare(DeclKind::Param, params));
        }
        let shown = (1..=rows)
            .flat_map(|j| {
                [
                    tree.declared(
                        names::weighted_input(l, j),
                        names::weighted_input_display(l, j),
                    ),
                    tree.declared(names::activation(l, j), names::activation_display(l, j)),
                ]
            })
            .collect();
        statements.push(Stmt::Show {
            names: shown,
            span: spec.span,
        });
        for j in 1..=rows {
            let mut terms: Vec<Expr> = (1..=cols)
                .map(|k| {
                    tree.binary(
                        BinOp::Mul,
                        tree.name(names::weight(l, j, k)),
                        tree.name(names::activation(l - 1, k)),
                    )
                })
                .collect();
            if spec.biases {
                terms.push(tree.name(names::bias(l, j)));
            }
            statements.push(tree.assign(
                AssignKind::Intermediate,
                names::weighted_input(l, j),
                tree.sum(terms),
            ));
        }
        for j in 1..=rows {
            let z = tree.name(names::weighted_input(l, j));
            let value = match spec.activation(l) {
                Activation::Softmax => {
                    let exps = (1..=rows)
                        .map(|k| tree.call("exp", tree.name(names::weighted_input(l, k))))
                        .collect();
                    tree.binary(BinOp::Div, tree.call("exp", z), tree.sum(exps))
                }
                other => match other.func() {
                    Some(f) => tree.call(f.name(), z),
                    None => z,
                },
            };
            statements.push(tree.assign(AssignKind::Intermediate, names::activation(l, j), value));
        }
    }

    // One summand list over every output neuron: the printed text writes the cross-entropy's
    // two terms per neuron into one sum, which the parser reads as one chain.
    let one = || tree.number("1");
    let two = || tree.number("2");
    let summands: Vec<Expr> = (1..=spec.width(output))
        .flat_map(|j| {
            let y = || tree.name(names::target(j));
            let a = || tree.name(names::activation(output, j));
            match spec.cost {
                CostKind::Quadratic | CostKind::HalfQuadratic => {
                    vec![tree.binary(BinOp::Pow, tree.binary(BinOp::Sub, y(), a()), two())]
                }
                CostKind::CrossEntropy => vec![
                    tree.binary(BinOp::Mul, y(), tree.call("log", a())),
                    tree.binary(
                        BinOp::Mul,
                        tree.binary(BinOp::Sub, one(), y()),
                        tree.call("log", tree.binary(BinOp::Sub, one(), a())),
                    ),
                ],
                CostKind::LogLikelihood => {
                    vec![tree.binary(BinOp::Mul, y(), tree.call("log", a()))]
                }
                CostKind::Huber => {
                    vec![tree.call_with("huber", vec![tree.binary(BinOp::Sub, a(), y()), one()])]
                }
            }
        })
        .collect();
    let sum = tree.sum(summands);
    let data_cost = match spec.cost {
        CostKind::Quadratic | CostKind::Huber => sum,
        CostKind::HalfQuadratic => {
            tree.binary(BinOp::Mul, tree.binary(BinOp::Div, one(), two()), sum)
        }
        CostKind::CrossEntropy | CostKind::LogLikelihood => Expr::Neg {
            operand: Box::new(sum),
            span: spec.span,
        },
    };
    if spec.l2 {
        // Σ_l Σ_j Σ_k (w^(l)_jk)², grouped by row and by layer as the text writes it.
        let squares = || {
            if penalty == Penalty::Name {
                return tree.name(PENALTY_SUM.into());
            }
            let layer_sums = (2..=layers)
                .map(|l| {
                    let rows = (1..=spec.width(l))
                        .map(|j| {
                            let squares = (1..=spec.width(l - 1))
                                .map(|k| {
                                    tree.binary(
                                        BinOp::Pow,
                                        tree.name(names::weight(l, j, k)),
                                        two(),
                                    )
                                })
                                .collect();
                            tree.sum(squares)
                        })
                        .collect();
                    tree.sum(rows)
                })
                .collect();
            tree.sum(layer_sums)
        };
        statements.push(tree.assign(AssignKind::Intermediate, names::DATA_COST.into(), data_cost));
        let strength = tree.binary(
            BinOp::Div,
            tree.name(names::LAMBDA.into()),
            tree.binary(BinOp::Mul, two(), tree.name(names::SAMPLES.into())),
        );
        let l2 = tree.binary(BinOp::Mul, strength, squares());
        let cost = tree.binary(BinOp::Add, tree.name(names::DATA_COST.into()), l2);
        statements.push(tree.assign(AssignKind::Cost, names::COST.into(), cost));
    } else {
        statements.push(tree.assign(AssignKind::Cost, names::COST.into(), data_cost));
    }
    Program { statements }
}

/// Builds nodes that all carry the `network` line's span.
struct Tree {
    span: Span,
}

impl Tree {
    fn ident(&self, name: String) -> Ident {
        Ident {
            name,
            span: self.span,
        }
    }

    fn declared(&self, name: String, display: String) -> Declared {
        Declared {
            ident: self.ident(name),
            display: Some(display),
            dims: Vec::new(),
            domain: None,
        }
    }

    fn name(&self, name: String) -> Expr {
        Expr::Name(self.ident(name))
    }

    fn number(&self, text: &str) -> Expr {
        Expr::Number {
            text: text.into(),
            span: self.span,
        }
    }

    fn call(&self, function: &str, arg: Expr) -> Expr {
        self.call_with(function, vec![arg])
    }

    fn call_with(&self, function: &str, args: Vec<Expr>) -> Expr {
        Expr::Call {
            name: self.ident(function.into()),
            args,
            span: self.span,
        }
    }

    fn binary(&self, op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            span: self.span,
        }
    }

    /// `t1 + t2 + … + tn`, associating to the left as the parser reads it.
    fn sum(&self, terms: Vec<Expr>) -> Expr {
        let mut terms = terms.into_iter();
        let first = terms.next().unwrap_or_else(|| self.number("0"));
        terms.fold(first, |acc, t| self.binary(BinOp::Add, acc, t))
    }

    fn assign(&self, kind: AssignKind, name: String, value: Expr) -> Stmt {
        Stmt::Assign {
            kind,
            name: self.ident(name),
            value,
            span: self.span,
        }
    }
}

/// The expansion as `chainrule expand` prints it: the statements of [`program`] with the
/// comments that say what each part is. It is only printed, never read back by `load` (which
/// lowers [`program_for_lowering`]); tests hold that it parses to exactly [`program`]'s tree,
/// and that lowering that tree gives the graph `load` builds.
pub fn text(spec: &NetworkSpec) -> String {
    use std::fmt::Write as _;
    let layers = spec.layers();
    let output = layers;
    let mut out = String::new();
    let _ = writeln!(out, "# {}", spec.describe());
    let _ = writeln!(
        out,
        "# expanded by chainrule: w{{l}}_{{j}}_{{k}} is the weight from neuron k of layer l-1 \
         to neuron j of layer l"
    );
    let declared = |name: String, display: String| format!("{name} as \"{display}\"");
    let inputs: Vec<String> = (1..=spec.width(1))
        .map(|k| declared(names::input(k), names::input_display(k)))
        .collect();
    let _ = writeln!(out, "input {}", inputs.join(", "));
    let targets: Vec<String> = (1..=spec.width(output))
        .map(|j| declared(names::target(j), names::target_display(j)))
        .collect();
    // The log-likelihood cost is written for class labels: the targets sum to one, which is
    // what lets softmax + log-likelihood simplify to a − y.
    let one_hot = if spec.cost == CostKind::LogLikelihood {
        " one-hot"
    } else {
        ""
    };
    let _ = writeln!(out, "target {}{one_hot}", targets.join(", "));
    if spec.l2 {
        let _ = writeln!(
            out,
            "input {}, {}    # the L2 strength and the number of training examples",
            declared(names::LAMBDA.into(), names::LAMBDA_DISPLAY.into()),
            declared(names::SAMPLES.into(), names::SAMPLES_DISPLAY.into())
        );
    }
    for l in 2..=layers {
        let (rows, cols) = (spec.width(l), spec.width(l - 1));
        let comma = rows >= 10 || cols >= 10;
        let _ = writeln!(out, "\n# layer {l}");
        for j in 1..=rows {
            let mut params: Vec<String> = (1..=cols)
                .map(|k| {
                    declared(
                        names::weight(l, j, k),
                        names::weight_display(l, j, k, comma),
                    )
                })
                .collect();
            if spec.biases {
                params.push(declared(names::bias(l, j), names::bias_display(l, j)));
            }
            let _ = writeln!(out, "param {}", params.join(", "));
        }
        let shown: Vec<String> = (1..=rows)
            .flat_map(|j| {
                [
                    declared(
                        names::weighted_input(l, j),
                        names::weighted_input_display(l, j),
                    ),
                    declared(names::activation(l, j), names::activation_display(l, j)),
                ]
            })
            .collect();
        let _ = writeln!(out, "show {}", shown.join(", "));
        for j in 1..=rows {
            let mut terms: Vec<String> = (1..=cols)
                .map(|k| format!("{}*{}", names::weight(l, j, k), names::activation(l - 1, k)))
                .collect();
            if spec.biases {
                terms.push(names::bias(l, j));
            }
            let _ = writeln!(
                out,
                "{} = {}",
                names::weighted_input(l, j),
                terms.join(" + ")
            );
        }
        for j in 1..=rows {
            let z = names::weighted_input(l, j);
            let value = match spec.activation(l) {
                Activation::Identity => z,
                Activation::Softmax => {
                    let exps: Vec<String> = (1..=rows)
                        .map(|k| format!("exp({})", names::weighted_input(l, k)))
                        .collect();
                    format!("exp({z})/({})", exps.join(" + "))
                }
                other => format!("{}({z})", other.name()),
            };
            let _ = writeln!(out, "{} = {value}", names::activation(l, j));
        }
    }

    let _ = writeln!(out, "\n# cost: {}", spec.cost.name());
    let per_output: Vec<String> = (1..=spec.width(output))
        .map(|j| {
            let (y, a) = (names::target(j), names::activation(output, j));
            match spec.cost {
                CostKind::Quadratic | CostKind::HalfQuadratic => format!("({y} - {a})^2"),
                CostKind::CrossEntropy => format!("{y}*log({a}) + (1 - {y})*log(1 - {a})"),
                CostKind::LogLikelihood => format!("{y}*log({a})"),
                CostKind::Huber => format!("huber({a} - {y}, 1)"),
            }
        })
        .collect();
    let sum = per_output.join(" + ");
    let data_cost = match spec.cost {
        CostKind::Quadratic | CostKind::Huber => sum,
        CostKind::HalfQuadratic if per_output.len() == 1 => format!("1/2 {sum}"),
        CostKind::HalfQuadratic => format!("1/2 ({sum})"),
        CostKind::CrossEntropy | CostKind::LogLikelihood => format!("-({sum})"),
    };
    if spec.l2 {
        // Σ_l Σ_j Σ_k (w^(l)_jk)², grouped by row and by layer so that no sum is longer than
        // one layer's width (the parser bounds the length of a sum).
        let layer_sums: Vec<String> = (2..=layers)
            .map(|l| {
                let rows: Vec<String> = (1..=spec.width(l))
                    .map(|j| {
                        let squares: Vec<String> = (1..=spec.width(l - 1))
                            .map(|k| format!("{}^2", names::weight(l, j, k)))
                            .collect();
                        format!("({})", squares.join(" + "))
                    })
                    .collect();
                format!("({})", rows.join(" + "))
            })
            .collect();
        let _ = writeln!(out, "{} = {data_cost}", names::DATA_COST);
        let _ = writeln!(
            out,
            "cost {} = {} + {}/(2 {})*({})",
            names::COST,
            names::DATA_COST,
            names::LAMBDA,
            names::SAMPLES,
            layer_sums.join(" + ")
        );
    } else {
        let _ = writeln!(out, "cost {} = {data_cost}", names::COST);
    }
    out
}

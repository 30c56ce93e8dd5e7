//! Vectorised backprop as the textbooks and courses print it, each formula with its source:
//! the derivation in matrix form of the same network must give it, equal in value entry by
//! entry (at random points, every entry's value at 320 bits) and in shape, and printed no
//! longer. A formula the source writes in its own error terms (`dZ2`, `δ^l`) is written here
//! in chainrule's names for them (`Delta2`, `delta2`); one the source writes out in full is
//! compared with the derived result with its error terms written out too.

mod common;

use std::collections::HashMap;

use chainrule::core::expr::{FastMap, Id, Node, Sym};
use chainrule::core::model::{Model, SymKind};
use chainrule::core::tensor::{Layout, Shape};
use chainrule::render::{FormulaPrinter, Notation};
use common::{close, value_at};

/// One textbook formula: the gradient (a parameter's name) or the error term (its name) it
/// gives, and the formula in the program's names.
struct Formula {
    of: &'static str,
    textbook: &'static str,
}

struct Case {
    source: &'static str,
    program: &'static str,
    /// The source writes its formulas in full, without named error terms.
    written_out: bool,
    formulas: &'static [Formula],
}

const NIELSEN: &str = "\
input x[2]
target y[2]
param W2[3, 2], b2[3], W3[2, 3], b3[2]
z2 = W2 x + b2
a2 = sigmoid(z2)
z3 = W3 a2 + b3
a3 = sigmoid(z3)
cost C = 1/2 sum((y - a3)^2)
";

const NG_WEEK3: &str = "\
size m = 4
input X[2, m]
target Y[1, m]
param W1[4, 2], b1[4], W2[1, 4], b2[1]
Z1 = W1 X + b1
A1 = tanh(Z1)
Z2 = W2 A1 + b2
A2 = sigmoid(Z2)
cost J = -(1/m) sum(Y ⊙ log(A2) + (1 - Y) ⊙ log(1 - A2))
";

const NG_WEEK4: &str = "\
size m = 5
input X[3, m]
target Y[1, m]
param W1[4, 3], b1[4], W2[3, 4], b2[3], W3[1, 3], b3[1]
Z1 = W1 X + b1
A1 = relu(Z1)
Z2 = W2 A1 + b2
A2 = relu(Z2)
Z3 = W3 A2 + b3
A3 = sigmoid(Z3)
cost J = -(1/m) sum(Y ⊙ log(A3) + (1 - Y) ⊙ log(1 - A3))
";

const NG_L2: &str = "\
size m = 3
input X[2, m], lambda
target Y[1, m]
param W1[3, 2], b1[3], W2[1, 3], b2[1]
Z1 = W1 X + b1
A1 = relu(Z1)
Z2 = W2 A1 + b2
A2 = sigmoid(Z2)
cost J = -(1/m) sum(Y ⊙ log(A2) + (1 - Y) ⊙ log(1 - A2)) + lambda/(2 m) (norm2(W1) + norm2(W2))
";

const CS231N: &str = "\
layout rows
size N = 3
input X[N, 4]
target Y[N, 3] one-hot
param W1[4, 5], b1[5], W2[5, 3], b2[3]
Z1 = X W1 + b1
H = relu(Z1)
Z2 = H W2 + b2
P = softmax(Z2)
cost L = -(1/N) sum(Y ⊙ log(P))
";

const CS224N: &str = "\
param v_c[3], U[3, 5]
target y[5] one-hot
scores = U^T v_c
yhat = softmax(scores)
cost J = -sum(y ⊙ log(yhat))
";

const D2L: &str = "\
input x[3], lambda
target y[2]
param W1[4, 3], W2[2, 4]
z = W1 x
h = relu(z)
o = W2 h
cost J = 1/2 sum((o - y)^2) + lambda/2 (norm2(W1) + norm2(W2))
";

const CASES: &[Case] = &[
    Case {
        source: "Nielsen, Neural Networks and Deep Learning, ch. 2, BP1–BP4",
        program: NIELSEN,
        written_out: false,
        formulas: &[
            // BP1: δ^L = ∇_a C ⊙ σ′(z^L), σ′(z) = σ(z)(1 − σ(z))
            Formula {
                of: "delta3",
                textbook: "(a3 - y) ⊙ a3 ⊙ (1 - a3)",
            },
            // BP2: δ^l = ((w^{l+1})ᵀ δ^{l+1}) ⊙ σ′(z^l)
            Formula {
                of: "delta2",
                textbook: "(W3^T delta3) ⊙ a2 ⊙ (1 - a2)",
            },
            // BP3: ∂C/∂b^l = δ^l
            Formula {
                of: "b2",
                textbook: "delta2",
            },
            Formula {
                of: "b3",
                textbook: "delta3",
            },
            // BP4: ∂C/∂w^l = δ^l (a^{l−1})ᵀ
            Formula {
                of: "W2",
                textbook: "delta2 x^T",
            },
            Formula {
                of: "W3",
                textbook: "delta3 a2^T",
            },
        ],
    },
    Case {
        source: "Ng, Deep Learning Specialization, course 1 week 3, backward_propagation",
        program: NG_WEEK3,
        written_out: false,
        formulas: &[
            // dZ2 = A2 - Y
            Formula {
                of: "Delta2",
                textbook: "A2 - Y",
            },
            // dW2 = 1/m * np.dot(dZ2, A1.T)
            Formula {
                of: "W2",
                textbook: "(1/m) Delta2 A1^T",
            },
            // db2 = 1/m * np.sum(dZ2, axis=1, keepdims=True)
            Formula {
                of: "b2",
                textbook: "(1/m) sum(Delta2, 2)",
            },
            // dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))
            Formula {
                of: "Delta1",
                textbook: "(W2^T Delta2) ⊙ (1 - A1^2)",
            },
            // dW1 = 1/m * np.dot(dZ1, X.T)
            Formula {
                of: "W1",
                textbook: "(1/m) Delta1 X^T",
            },
            // db1 = 1/m * np.sum(dZ1, axis=1, keepdims=True)
            Formula {
                of: "b1",
                textbook: "(1/m) sum(Delta1, 2)",
            },
        ],
    },
    Case {
        source: "Ng, Deep Learning Specialization, course 1 week 4, linear_backward, \
                 relu_backward, sigmoid_backward",
        program: NG_WEEK4,
        written_out: false,
        formulas: &[
            // sigmoid_backward with dAL = -(Y/AL - (1-Y)/(1-AL)): dZ = dA * s * (1-s)
            Formula {
                of: "Delta3",
                textbook: "A3 - Y",
            },
            // linear_backward: dW = 1/m * np.dot(dZ, A_prev.T)
            Formula {
                of: "W3",
                textbook: "(1/m) Delta3 A2^T",
            },
            // linear_backward: db = 1/m * np.sum(dZ, axis=1, keepdims=True)
            Formula {
                of: "b3",
                textbook: "(1/m) sum(Delta3, 2)",
            },
            // relu_backward(dA_prev = np.dot(W.T, dZ)): dZ = dA with dZ[Z <= 0] = 0
            Formula {
                of: "Delta2",
                textbook: "(W3^T Delta3) ⊙ relu'(Z2)",
            },
            Formula {
                of: "W2",
                textbook: "(1/m) Delta2 A1^T",
            },
            Formula {
                of: "Delta1",
                textbook: "(W2^T Delta2) ⊙ relu'(Z1)",
            },
            Formula {
                of: "W1",
                textbook: "(1/m) Delta1 X^T",
            },
            Formula {
                of: "b1",
                textbook: "(1/m) sum(Delta1, 2)",
            },
        ],
    },
    Case {
        source: "Ng, Deep Learning Specialization, course 2 week 1, \
                 backward_propagation_with_regularization",
        program: NG_L2,
        written_out: false,
        formulas: &[
            // dW2 = 1./m * np.dot(dZ2, A1.T) + lambd/m * W2
            Formula {
                of: "W2",
                textbook: "(1/m) Delta2 A1^T + (lambda/m) W2",
            },
            // dW1 = 1./m * np.dot(dZ1, X.T) + lambd/m * W1
            Formula {
                of: "W1",
                textbook: "(1/m) Delta1 X^T + (lambda/m) W1",
            },
            // db1 = 1./m * np.sum(dZ1, axis=1, keepdims=True): the penalty has no bias
            Formula {
                of: "b1",
                textbook: "(1/m) sum(Delta1, 2)",
            },
        ],
    },
    Case {
        source: "CS231n, assignment 1, two-layer net: softmax loss and backward pass \
                 (examples as rows)",
        program: CS231N,
        written_out: false,
        formulas: &[
            // dscores = probs; dscores[range(N), y] -= 1 (then /= N)
            Formula {
                of: "Delta2",
                textbook: "P - Y",
            },
            // dW2 = np.dot(hidden.T, dscores)
            Formula {
                of: "W2",
                textbook: "(1/N) H^T Delta2",
            },
            // db2 = np.sum(dscores, axis=0)
            Formula {
                of: "b2",
                textbook: "(1/N) sum(Delta2, 1)",
            },
            // dhidden = np.dot(dscores, W2.T); dhidden[hidden <= 0] = 0
            Formula {
                of: "Delta1",
                textbook: "(Delta2 W2^T) ⊙ relu'(Z1)",
            },
            // dW1 = np.dot(X.T, dhidden)
            Formula {
                of: "W1",
                textbook: "(1/N) X^T Delta1",
            },
            // db1 = np.sum(dhidden, axis=0)
            Formula {
                of: "b1",
                textbook: "(1/N) sum(Delta1, 1)",
            },
        ],
    },
    Case {
        source: "CS224n, assignment 2, naive-softmax word2vec gradients",
        program: CS224N,
        written_out: true,
        formulas: &[
            // ∂J/∂v_c = U(ŷ − y)
            Formula {
                of: "v_c",
                textbook: "U (yhat - y)",
            },
            // ∂J/∂U = v_c (ŷ − y)ᵀ
            Formula {
                of: "U",
                textbook: "v_c (yhat - y)^T",
            },
        ],
    },
    Case {
        source: "Dive into Deep Learning, 5.3 forward propagation, backward propagation \
                 (the MLP with L2 penalty)",
        program: D2L,
        written_out: true,
        formulas: &[
            // ∂J/∂W(2) = (∂J/∂o) hᵀ + λ W(2), ∂J/∂o = o − y for the squared loss
            Formula {
                of: "W2",
                textbook: "(o - y) h^T + lambda W2",
            },
            // ∂J/∂W(1) = (∂J/∂z) xᵀ + λ W(1), ∂J/∂z = (W(2)ᵀ ∂J/∂o) ⊙ φ′(z)
            Formula {
                of: "W1",
                textbook: "((W2^T (o - y)) ⊙ relu'(z)) x^T + lambda W1",
            },
        ],
    },
];

/// The formula of `name` in the derivation: a parameter's gradient, or an error term's
/// definition.
fn derived(
    model: &Model,
    derivation: &chainrule::core::matrix_diff::MatrixDerivation,
    name: &str,
) -> Id {
    let sym = model
        .lookup(name)
        .unwrap_or_else(|| panic!("no name `{name}`"));
    derivation
        .quantities
        .iter()
        .find_map(|q| match q.term {
            Some((term, definition)) if term == sym => Some(definition),
            None if q.wrt == sym => Some(q.result),
            _ => None,
        })
        .unwrap_or_else(|| panic!("`{name}` is neither a gradient nor an error term"))
}

/// `formula` with every error term replaced by its definition.
fn written_out(model: &mut Model, formula: Id) -> Id {
    let mut order = model.graph.reachable(&[formula]);
    order.sort_unstable();
    let mut done: FastMap<Id, Id> = FastMap::default();
    for id in order {
        let node = model.graph.node(id).clone();
        let new = match node {
            Node::Var(s) if model.symbol(s).kind == SymKind::ErrorTerm => {
                let definition = model.definition(s).unwrap();
                written_out(model, definition)
            }
            node => {
                let node = node.map_children(|c| done[&c]);
                model.graph.add(node)
            }
        };
        done.insert(id, new);
    }
    done[&formula]
}

/// A textbook formula lowered in the program's names (error terms among them), with its
/// shape.
fn lowered(model: &mut Model, layout: Layout, text: &str) -> (Id, Shape) {
    let expr = chainrule::lang::syntax::parse_expr(text).unwrap();
    let names: HashMap<String, (Sym, Shape)> = model
        .syms()
        .map(|s| (model.name(s).to_string(), (s, model.symbol(s).shape)))
        .collect();
    let mut name = |graph: &mut chainrule::core::expr::Graph,
                    ident: &chainrule::lang::ast::Ident| {
        match names.get(&ident.name) {
            Some(&(s, shape)) => Ok((graph.var(s), shape)),
            None => Err(ident.clone()),
        }
    };
    let mut scope = chainrule::lang::shaped::Scope {
        name: &mut name,
        layout,
        lenient: false,
    };
    match chainrule::lang::shaped::lower(&mut model.graph, &expr, &mut scope) {
        Ok(shaped) => shaped,
        Err(_) => panic!("`{text}` does not lower"),
    }
}

fn random_point(model: &Model, seed: u64) -> HashMap<Sym, f64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out: HashMap<Sym, f64> = model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .map(|s| {
            (
                s,
                (0.1 + 1.4 * rng.f64()) * if rng.bool() { 1.0 } else { -1.0 },
            )
        })
        .collect();
    for group in &model.one_hot {
        let hot = rng.usize(..group.len());
        for (k, s) in group.iter().enumerate() {
            out.insert(*s, if k == hot { 1.0 } else { 0.0 });
        }
    }
    // a penalty's strength is positive
    for s in model.syms().filter(|&s| model.name(s) == "lambda") {
        out.insert(s, 0.1 + rng.f64());
    }
    out
}

#[test]
fn derived_gradients_are_the_textbook_formulas() {
    for case in CASES {
        let program = chainrule::lang::syntax::parse_program(case.program).unwrap();
        let (mut model, layout) = chainrule::lang::lower::lower_tensor(&program)
            .unwrap()
            .unwrap();
        let derivation = chainrule::core::matrix_diff::derive(&mut model, layout).unwrap();
        let mut pairs = Vec::new();
        for f in case.formulas {
            let mut ours = derived(&model, &derivation, f.of);
            if case.written_out {
                ours = written_out(&mut model, ours);
            }
            let (theirs, shape) = lowered(&mut model, layout, f.textbook);
            let expected_shape = model.symbol(model.lookup(f.of).unwrap()).shape;
            assert_eq!(
                shape, expected_shape,
                "{}: `{}` for {} is {shape}, not {expected_shape}",
                case.source, f.textbook, f.of
            );
            let shapes = chainrule::core::matrix_diff::shapes_of(&model, &[ours, theirs]);
            assert_eq!(shapes[&ours], expected_shape, "{}: {}", case.source, f.of);
            let printer = FormulaPrinter::for_model(&model).with_shapes(&shapes);
            let (printed, textbook) = (
                printer.render(ours, Notation::Text),
                printer.render(theirs, Notation::Text),
            );
            assert!(
                printed.chars().count() <= textbook.chars().count(),
                "{}: {} is derived as `{printed}`, longer than the textbook's `{textbook}`",
                case.source,
                f.of
            );
            pairs.push((f, printed, textbook, ours, theirs));
        }
        let roots: Vec<Id> = pairs.iter().flat_map(|p| [p.3, p.4]).collect();
        let (mut scalar, _, written) =
            chainrule::core::tensor::scalarise_with(&model, layout, &roots).unwrap();
        for seed in 0..3 {
            let at = random_point(&scalar, seed);
            for (k, (f, printed, textbook, ..)) in pairs.iter().enumerate() {
                let (ours, theirs) = (&written[2 * k], &written[2 * k + 1]);
                assert_eq!(ours.len(), theirs.len());
                for (&a, &b) in ours.iter().zip(theirs) {
                    let (x, y) = (value_at(&mut scalar, a, &at), value_at(&mut scalar, b, &at));
                    assert!(
                        close(&x, &y, 1e-12),
                        "{}: {}: derived `{printed}` = {} but the textbook's `{textbook}` = {}",
                        case.source,
                        f.of,
                        x.to_f64(),
                        y.to_f64()
                    );
                }
            }
        }
    }
}

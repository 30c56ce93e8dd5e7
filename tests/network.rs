//! The `network` shorthand: its expansion (the same derivatives as the hand-written seed
//! network, printed text that reads back as the very tree `load` lowers and as the same model,
//! the names and display forms promised),
//! its errors (with file, line, column and caret), and the big MNIST network.

mod common;

use std::collections::HashMap;

use chainrule::FormulaPrinter;
use chainrule::Model;
use chainrule::core::diff::{self, Config};
use chainrule::lang::ast::{CodeMeaning, Declared, Expr, Ident, Program, Span, Stmt};
use chainrule::lang::load::{self, TargetSpec};
use chainrule::lang::network::{Activation, CostKind};
use chainrule::lang::{expansion, syntax};
use common::{close, load, value_at};

/// Every derivative of the cost with respect to a parameter, by parameter name.
fn gradients(model: &mut Model) -> Vec<(String, chainrule::Id)> {
    let targets = load::targets(model, &TargetSpec::AllParams).unwrap();
    let config = Config {
        steps: false,
        ..Config::default()
    };
    let out = diff::derive(model, &targets, &config);
    out.derivations
        .iter()
        .map(|d| (model.name(d.target.wrt).to_string(), d.result))
        .collect()
}

/// The diagnostic of a bad program, rendered as the user sees it.
fn error_of(source: &str) -> String {
    match load::load(source) {
        Ok(_) => panic!("expected an error for:\n{source}"),
        Err(d) => d.render("net.bp", source, false),
    }
}

#[test]
fn network_1_1_1_has_the_derivatives_of_the_seed_network() {
    let mut seed = load(load::BUILTIN_EXAMPLE);
    let mut net = load("network 1-1-1\nactivation sigmoid\ncost quadratic\n");
    // The seed's names and the expansion's textbook names.
    let names = [
        ("x", "x1"),
        ("y", "y1"),
        ("w2", "w2_1_1"),
        ("b2", "b2_1"),
        ("w3", "w3_1_1"),
        ("b3", "b3_1"),
    ];
    let seed_grads = gradients(&mut seed);
    let net_grads: HashMap<String, chainrule::Id> = gradients(&mut net).into_iter().collect();
    assert_eq!(seed_grads.len(), 4);
    assert_eq!(net_grads.len(), 4);
    let points = [
        [0.3, -1.2, 0.7, 0.05, 1.9, -0.4],
        [2.0, 0.1, -0.8, 1.1, 0.0, 0.9],
        [-1.5, 0.6, 0.2, -2.2, 0.4, 0.33],
        [0.9, 0.0, -3.0, 0.5, -0.7, 2.5],
    ];
    for values in points {
        let mut seed_at = HashMap::new();
        let mut net_at = HashMap::new();
        for ((seed_name, net_name), v) in names.iter().zip(values) {
            seed_at.insert(seed.lookup(seed_name).unwrap(), v);
            net_at.insert(net.lookup(net_name).unwrap(), v);
        }
        for (seed_name, seed_result) in &seed_grads {
            let net_name = names.iter().find(|(s, _)| s == seed_name).unwrap().1;
            let want = value_at(&mut seed, *seed_result, &seed_at);
            let got = value_at(&mut net, net_grads[net_name], &net_at);
            assert!(
                close(&got, &want, 1e-15),
                "dC/d{net_name} = {} but the seed's dC/d{seed_name} = {} at {values:?}",
                got.to_f64(),
                want.to_f64()
            );
        }
    }
    // And as formulas, up to the names.
    let printer = FormulaPrinter::for_model(&net);
    assert_eq!(
        printer.text(net_grads["w2_1_1"]),
        "−2(y1 − a3_1)·a3_1(1 − a3_1)·w3_1_1·a2_1(1 − a2_1)·x1"
    );
}

/// The model as data: every name with its kind and display form, every definition in the
/// input language.
fn fingerprint(model: &Model) -> Vec<String> {
    let printer = FormulaPrinter::for_model(model);
    model
        .syms()
        .map(|s| {
            let symbol = model.symbol(s);
            let definition = model
                .definition(s)
                .map(|d| printer.plain(d))
                .unwrap_or_default();
            format!(
                "{} {:?} {:?} = {definition}",
                symbol.name, symbol.kind, symbol.display
            )
        })
        .collect()
}

const SHORTHANDS: [&str; 9] = [
    "network 2-3-1",
    "network 3-4-4-2\nactivation tanh\nactivation 4 sigmoid\ncost cross-entropy",
    "network 2-3-3\nactivation relu\nactivation 3 softmax\ncost log-likelihood\nregularization l2",
    "network 2-2\nactivation identity\ncost half-quadratic\nbiases none",
    "network 1-12-11\nactivation softplus\ncost half-quadratic\nregularization l2",
    "# comments are fine\nnetwork 2-2-2 # here too\n\nactivation 2 tanh; cost quadratic\n",
    "network 2-3-2\nactivation sigmoid\ncost cross-entropy\nregularization l2",
    "network 3-2-1\nactivation 3 softmax\ncost log-likelihood",
    "network 2-3-4-3\nactivation relu\nactivation 4 identity\ncost half-quadratic\nbiases none\nregularization l2",
];

#[test]
fn the_expansion_parses_back_to_the_same_model() {
    for source in SHORTHANDS {
        let model = load(source);
        let expanded = load::expand(source).unwrap();
        let again = load(&expanded);
        assert!(
            load::network_spec(&expanded).unwrap().is_none(),
            "the expansion is straight-line"
        );
        assert!(load::network_spec(source).unwrap().is_some());
        assert_eq!(fingerprint(&model), fingerprint(&again), "{source}");
        // Expanding the expansion changes nothing.
        assert_eq!(load::expand(&expanded).unwrap(), expanded);
    }
}

/// The tree with every span set to 0..0, so that trees read from different texts compare.
fn without_spans(program: &Program) -> Program {
    fn ident(i: &Ident) -> Ident {
        Ident {
            name: i.name.clone(),
            span: NOWHERE,
        }
    }
    fn declared(d: &Declared) -> Declared {
        Declared {
            ident: ident(&d.ident),
            display: d.display.clone(),
            dims: d.dims.iter().map(ident).collect(),
            domain: d.domain.map(|(domain, _)| (domain, NOWHERE)),
        }
    }
    fn expr(e: &Expr) -> Expr {
        let b = |e: &Expr| Box::new(expr(e));
        match e {
            Expr::Number { text, .. } => Expr::Number {
                text: text.clone(),
                span: NOWHERE,
            },
            Expr::Name(i) => Expr::Name(ident(i)),
            Expr::Neg { operand, .. } => Expr::Neg {
                operand: b(operand),
                span: NOWHERE,
            },
            Expr::Binary { op, lhs, rhs, .. } => Expr::Binary {
                op: *op,
                lhs: b(lhs),
                rhs: b(rhs),
                span: NOWHERE,
            },
            Expr::Call { name, args, .. } => Expr::Call {
                name: ident(name),
                args: args.iter().map(expr).collect(),
                span: NOWHERE,
            },
            Expr::DerivRef {
                of, wrt, partial, ..
            } => Expr::DerivRef {
                of: ident(of),
                wrt: ident(wrt),
                partial: *partial,
                span: NOWHERE,
            },
            Expr::DerivOf {
                wrt,
                expr: inner,
                partial,
                ..
            } => Expr::DerivOf {
                wrt: ident(wrt),
                expr: b(inner),
                partial: *partial,
                span: NOWHERE,
            },
            Expr::Index {
                operand, indices, ..
            } => Expr::Index {
                operand: b(operand),
                indices: indices.clone(),
                span: NOWHERE,
            },
            Expr::Transpose { operand, .. } => Expr::Transpose {
                operand: b(operand),
                span: NOWHERE,
            },
        }
    }
    const NOWHERE: Span = Span { start: 0, end: 0 };
    let statements = program
        .statements
        .iter()
        .map(|s| match s {
            Stmt::Declare {
                kind,
                names,
                one_hot,
                ..
            } => Stmt::Declare {
                kind: *kind,
                names: names.iter().map(declared).collect(),
                one_hot: one_hot.map(|_| NOWHERE),
                span: NOWHERE,
            },
            Stmt::Show { names, .. } => Stmt::Show {
                names: names.iter().map(declared).collect(),
                span: NOWHERE,
            },
            Stmt::Assign {
                kind, name, value, ..
            } => Stmt::Assign {
                kind: *kind,
                name: ident(name),
                value: expr(value),
                span: NOWHERE,
            },
            Stmt::Network { widths, .. } => Stmt::Network {
                widths: widths.iter().map(ident).collect(),
                span: NOWHERE,
            },
            Stmt::NetworkOption {
                key, layer, value, ..
            } => Stmt::NetworkOption {
                key: ident(key),
                layer: layer.as_ref().map(ident),
                value: ident(value),
                span: NOWHERE,
            },
            // A network shorthand's expansion has no data block; rows kept as they are.
            Stmt::Data { columns, rows, .. } => Stmt::Data {
                columns: columns.iter().map(ident).collect(),
                rows: rows.clone(),
                span: NOWHERE,
            },
            Stmt::Size { name, value, .. } => Stmt::Size {
                name: ident(name),
                value: ident(value),
                span: NOWHERE,
            },
            Stmt::Layout { rows, .. } => Stmt::Layout {
                rows: *rows,
                span: NOWHERE,
            },
            Stmt::CodeName { name, meaning, .. } => Stmt::CodeName {
                name: ident(name),
                meaning: match meaning {
                    CodeMeaning::Gradient { of, wrt, scale } => CodeMeaning::Gradient {
                        of: ident(of),
                        wrt: ident(wrt),
                        scale: scale.as_ref().map(ident),
                    },
                    CodeMeaning::Alias(of) => CodeMeaning::Alias(ident(of)),
                },
                span: NOWHERE,
            },
        })
        .collect();
    Program { statements }
}

/// `load` lowers the expansion's tree without printing it; `chainrule expand` prints it. The
/// text must read back as exactly that tree (every statement, operator, grouping, number and
/// display form), and every span of the tree must point at the `network` line.
#[test]
fn the_printed_expansion_reads_back_as_the_tree_load_lowers() {
    for source in SHORTHANDS {
        let spec = load::network_spec(source).unwrap().unwrap();
        let tree = expansion::program(&spec);
        let printed = syntax::parse_program(&expansion::text(&spec)).unwrap();
        assert_eq!(
            without_spans(&tree),
            without_spans(&printed),
            "{source}\n{}",
            expansion::text(&spec)
        );
        let line = &source[spec.span.start..spec.span.end];
        assert!(line.starts_with("network "), "{line:?}");
        assert!(
            tree.statements.iter().all(|s| s.span() == spec.span),
            "{source}: a statement not at the network line"
        );
    }
    // The comparison can fail: a tree with one operand swapped is not the printed one.
    let spec = load::network_spec("network 2-2-1").unwrap().unwrap();
    let mut tree = expansion::program(&spec);
    let Some(Stmt::Assign { value, .. }) = tree.statements.last_mut() else {
        panic!("the cost comes last")
    };
    let Expr::Binary { lhs, rhs, .. } = value else {
        panic!("the cost is (y1 - a3_1)^2")
    };
    std::mem::swap(lhs, rhs);
    let printed = syntax::parse_program(&expansion::text(&spec)).unwrap();
    assert_ne!(without_spans(&tree), without_spans(&printed));
}

#[test]
fn the_expansion_uses_textbook_names_and_display_forms() {
    let model = load("network 2-3-1");
    let display = |name: &str| {
        let s = model.lookup(name).unwrap_or_else(|| panic!("no {name}"));
        model.symbol(s).display.clone().unwrap()
    };
    assert_eq!(display("x2"), "x_{2}");
    assert_eq!(display("y1"), "y_{1}");
    assert_eq!(display("w2_3_1"), "w^{(2)}_{31}");
    assert_eq!(display("b3_1"), "b^{(3)}_{1}");
    assert_eq!(display("z2_2"), "z^{(2)}_{2}");
    assert_eq!(display("a3_1"), "a^{(3)}_{1}");
    let printer = FormulaPrinter::for_model(&model);
    let def = |name: &str| printer.plain(model.definition(model.lookup(name).unwrap()).unwrap());
    assert_eq!(def("z2_3"), "w2_3_1*x1 + w2_3_2*x2 + b2_3");
    assert_eq!(def("a2_3"), "sigmoid(z2_3)");
    assert_eq!(def("C"), "(y1 - a3_1)^2");
    let params: Vec<&str> = model.params().map(|p| model.name(p)).collect();
    assert_eq!(params.len(), 2 * 3 + 3 + 3 + 1);

    // Indices of 10 and more are separated by a comma: w^{(3)}_{10,2} is not w^{(3)}_{102}.
    let wide = load("network 2-12-1");
    let s = wide.lookup("w2_10_2").unwrap();
    assert_eq!(wide.symbol(s).display.as_deref(), Some("w^{(2)}_{10,2}"));
    let s = wide.lookup("w3_1_12").unwrap();
    assert_eq!(wide.symbol(s).display.as_deref(), Some("w^{(3)}_{1,12}"));
}

#[test]
fn options_reach_the_spec_and_the_formulas() {
    let model = load(SHORTHANDS[2]);
    let spec = load::network_spec(SHORTHANDS[2]).unwrap().unwrap();
    assert_eq!(spec.widths, vec![2, 3, 3]);
    assert_eq!(
        spec.activations,
        vec![Activation::Relu, Activation::Softmax]
    );
    assert_eq!(spec.cost, CostKind::LogLikelihood);
    assert!(spec.biases && spec.l2);
    let printer = FormulaPrinter::for_model(&model);
    let def = |name: &str| printer.plain(model.definition(model.lookup(name).unwrap()).unwrap());
    assert_eq!(def("a3_2"), "exp(z3_2)/(exp(z3_1) + exp(z3_2) + exp(z3_3))");
    assert_eq!(def("C0"), "-(y1*log(a3_1) + y2*log(a3_2) + y3*log(a3_3))");
    let cost = def("C");
    assert!(
        cost.starts_with("C0 + lambda(w2_1_1^2 + w2_1_2^2 + (w2_2_1^2"),
        "{cost}"
    );
    assert!(
        cost.ends_with("(w3_3_1^2 + w3_3_2^2 + w3_3_3^2)))/(2*n)"),
        "{cost}"
    );
    // λ and n are inputs, so `--all` does not differentiate them.
    for name in ["lambda", "n"] {
        let s = model.lookup(name).unwrap();
        assert_eq!(model.symbol(s).kind, chainrule::core::model::SymKind::Input);
    }
    let lambda = model.lookup("lambda").unwrap();
    assert_eq!(model.symbol(lambda).display.as_deref(), Some("\\lambda"));

    let ce = load(SHORTHANDS[1]);
    let printer = FormulaPrinter::for_model(&ce);
    let def = |name: &str| printer.plain(ce.definition(ce.lookup(name).unwrap()).unwrap());
    assert_eq!(def("a2_4"), "tanh(z2_4)");
    assert_eq!(def("a4_2"), "sigmoid(z4_2)");
    assert_eq!(
        def("C"),
        "-(y1*log(a4_1) + (1 - y1)*log(1 - a4_1) + y2*log(a4_2) + (1 - y2)*log(1 - a4_2))"
    );

    let bare = load(SHORTHANDS[3]);
    let printer = FormulaPrinter::for_model(&bare);
    let def = |name: &str| printer.plain(bare.definition(bare.lookup(name).unwrap()).unwrap());
    assert_eq!(def("z2_1"), "w2_1_1*x1 + w2_1_2*x2");
    assert_eq!(def("a2_1"), "z2_1");
    assert!(bare.lookup("b2_1").is_none());
}

#[test]
fn bad_shorthand_gets_a_caret_and_a_hint() {
    let cases: [(&str, &[&str]); 12] = [
        (
            "network 2-0-1",
            &[
                "error: a layer of width 0",
                "net.bp:1:11",
                "^ a layer needs at least one neuron",
            ],
        ),
        (
            "network 2-3-1\nactivation sigmod",
            &[
                "unknown activation `sigmod`",
                "net.bp:2:12",
                "did you mean `sigmoid`?",
            ],
        ),
        (
            "network 2-3-1\ncost cross-entropi",
            &[
                "unknown cost `cross-entropi`",
                "net.bp:2:6",
                "did you mean `cross-entropy`?",
            ],
        ),
        (
            "network 2-3-1\nactivation 2 softmax",
            &[
                "softmax on hidden layer 2",
                "net.bp:2:14",
                "output layer; here that is layer 3",
            ],
        ),
        (
            "network 2-3-1\nactivation softmax",
            &[
                "softmax on hidden layer 2",
                "net.bp:2:1",
                "`activation 3 softmax`",
            ],
        ),
        (
            "network 2-3-2\ncost log-likelihood",
            &[
                "the log-likelihood cost needs a softmax output layer",
                "net.bp:2:6",
                "add `activation 3 softmax`",
            ],
        ),
        (
            "network 2-3-1\nactivation 4 tanh",
            &[
                "there is no layer 4 in a network of 3 layers",
                "net.bp:2:12",
            ],
        ),
        (
            "network 2-3-1\nactivation 1 tanh",
            &["layer 1 is the input layer", "net.bp:2:12"],
        ),
        (
            "network 2\n",
            &["a network needs at least two layers", "net.bp:1:1"],
        ),
        (
            "network 2-3-1\ninput x",
            &[
                "the network shorthand stands alone",
                "net.bp:2:1",
                "chainrule expand",
            ],
        ),
        (
            "activation tanh\ninput x\ncost C = x",
            &["there is no `network` line", "net.bp:1:1"],
        ),
        (
            "network 2-3-1\ncost quadratic\ncost half-quadratic",
            &["`cost` is set twice", "net.bp:3:1", "first set here"],
        ),
    ];
    for (source, wanted) in cases {
        let text = error_of(source);
        for want in wanted {
            assert!(
                text.contains(want),
                "{source:?}: missing {want:?} in\n{text}"
            );
        }
    }
}

#[test]
fn the_network_words_remain_usable_as_names_in_the_core_language() {
    let source = "input x\nparam activation, biases\nregularization = activation*x\ncost C = (regularization - biases)^2\n";
    load(source);
    assert!(load::network_spec(source).unwrap().is_none());
    // `cost C` without its formula is still an unfinished cost, not a network option.
    let text = error_of("input x\ncost C\n");
    assert!(text.contains("expected `=` after `cost C`"), "{text}");
    assert!(text.contains("net.bp:2:7"), "{text}");
}

#[test]
fn nielsens_mnist_network_expands_and_loads() {
    let source = include_str!("../examples/mnist_784_30_10.bp");
    let expanded = load::expand(source).unwrap();
    let model = load(source);
    assert_eq!(model.params().count(), 784 * 30 + 30 + 30 * 10 + 10);
    assert_eq!(load(&expanded).symbols.len(), model.symbols.len());
    let s = model.lookup("w2_30_784").unwrap();
    assert_eq!(model.symbol(s).display.as_deref(), Some("w^{(2)}_{30,784}"));
}

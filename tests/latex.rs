//! LaTeX claim sides (`chainrule::lang::latex`): each construct, name resolution, errors, and
//! textbook formulas that must equal the same formula written in the plain language.

use chainrule::Model;
use chainrule::core::expr::{Id, Sym};
use chainrule::lang::ast::{Expr, Span};
use chainrule::lang::latex::{Resolved, parse_latex, parse_latex_update_target, resolve_name};
use chainrule::{core::diff, core::eval, lang::load, lang::lower, lang::syntax};

const SEED: &str = chainrule::BUILTIN_EXAMPLE;
const MAZUR: &str = include_str!("../examples/mazur_2_2_2.bp");

fn load(source: &str) -> Model {
    load::load(source).unwrap_or_else(|e| panic!("{e:?}"))
}

fn latex(model: &Model, text: &str) -> Expr {
    parse_latex(model, text)
        .unwrap_or_else(|e| panic!("{text}: {}", e.render("claim", text, false)))
}

fn latex_err(model: &Model, text: &str) -> chainrule::core::error::Diagnostic {
    match parse_latex(model, text) {
        Ok(e) => panic!("{text} parsed as {e:?}"),
        Err(d) => d,
    }
}

/// Lowers an expression over the model's names, with derivative references worked out.
fn lower_expr(model: &mut Model, expr: &Expr) -> Id {
    let symbols = model.symbols.clone();
    let id = lower::lower_expr_with(&mut model.graph, expr, &mut |graph, ident| match symbols
        .iter()
        .position(|s| s.name == ident.name)
    {
        Some(i) => Ok(graph.var(Sym(i as u32))),
        None => Err(ident.clone()),
    })
    .unwrap_or_else(|_| panic!("cannot lower {expr:?}"));
    diff::resolve_derivatives(model, id)
}

/// The value of an expression at a point given for the leaves (intermediates computed).
fn value_at(model: &mut Model, expr: &Expr, leaves: &[(&str, f64)]) -> f64 {
    let id = lower_expr(model, expr);
    let leaves: Vec<(Sym, f64)> = leaves
        .iter()
        .map(|(n, v)| (model.lookup(n).unwrap_or_else(|| panic!("{n}")), *v))
        .collect();
    let values = chainrule::core::forward::float64(model, &leaves);
    eval::eval_f64(&model.graph, &[id], &|s| values.get(&s).copied()).unwrap()[0]
}

/// The LaTeX side equals the plain side at several points.
fn same(source: &str, tex: &str, plain: &str, points: &[Vec<(&str, f64)>]) {
    let mut model = load(source);
    let a = latex(&model, tex);
    let b = syntax::parse_expr(plain).unwrap_or_else(|e| panic!("{plain}: {e:?}"));
    for point in points {
        let x = value_at(&mut model, &a, point);
        let y = value_at(&mut model, &b, point);
        assert!(
            x.is_finite() && (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
            "{tex} = {x} but {plain} = {y} at {point:?}"
        );
    }
}

fn seed_points() -> Vec<Vec<(&'static str, f64)>> {
    vec![
        vec![
            ("x", 0.7),
            ("y", 0.2),
            ("w2", 0.3),
            ("b2", -0.4),
            ("w3", 1.1),
            ("b3", 0.25),
        ],
        vec![
            ("x", -1.3),
            ("y", 0.9),
            ("w2", -0.8),
            ("b2", 0.5),
            ("w3", 0.6),
            ("b3", -1.5),
        ],
    ]
}

fn mazur_points() -> Vec<Vec<(&'static str, f64)>> {
    // Mazur's numbers, and a second point.
    let mut first = vec![
        ("i1", 0.05),
        ("i2", 0.10),
        ("t1", 0.01),
        ("t2", 0.99),
        ("b1", 0.35),
        ("b2", 0.60),
    ];
    let ws = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55];
    let names = ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"];
    first.extend(names.iter().copied().zip(ws));
    let second: Vec<(&str, f64)> = first
        .iter()
        .enumerate()
        .map(|(k, &(n, v))| (n, v * 1.7 - 0.1 * k as f64))
        .collect();
    vec![first, second]
}

// ---------------------------------------------------------------------------------------
// Textbook formulas equal their plain forms
// ---------------------------------------------------------------------------------------

#[test]
fn seed_answer_as_printed() {
    // The seed question's answer, as the asker typed it.
    same(
        SEED,
        "-2(y - f(x))\\sigma'(z^{(3)})a^{(2)}",
        "-2(y - a3) sigmoid'(z3) a2",
        &seed_points(),
    );
    same(
        SEED,
        "-2(y - f(x))\\sigma'(z^{(3)})a^{(2)}",
        "dC/dw3",
        &seed_points(),
    );
}

#[test]
fn textbook_formulas_equal_the_plain_language() {
    let cases = [
        // Derivatives as fractions, ∂ and d.
        ("\\frac{\\partial C}{\\partial w^{(3)}}", "dC/dw3"),
        ("\\frac{dC}{dw_3}", "dC/dw3"),
        ("\\dfrac{\\mathrm{d}C}{\\mathrm{d}w_{2}}", "dC/dw2"),
        (
            "\\partial C/\\partial w_3 + dC/dw_2 - ∂C/∂b_3",
            "dC/dw3 + dC/dw2 - dC/db3",
        ),
        (
            "\\frac{\\partial}{\\partial w_3}\\left(y - a_3\\right)^2",
            "dC/dw3",
        ),
        // The sigmoid's derivative written four ways.
        ("2(a_3 - y) a_3 (1 - a_3) a_2", "dC/dw3"),
        ("2(a_3 - y)\\sigma(z_3)(1-\\sigma(z_3)) a_2", "dC/dw3"),
        (
            "2(a_3 - y)\\frac{e^{-z_3}}{(1+e^{-z_3})^2} a_2",
            "2(a3 - y) exp(-z3)/(1 + exp(-z3))^2 a2",
        ),
        ("2(a_3 - y)\\sigma^{\\prime}(z_3)\\, a_2", "dC/dw3"),
        // δ notation.
        ("\\delta^{(3)} a^{(2)}", "dC/dz3 * a2"),
        ("\\delta_3 w_3 \\sigma'(z_2) x", "dC/dw2"),
        ("δ3 \\cdot a_2", "dC/dw3"),
        // Spacing, sizing and operators.
        (
            "-2\\,\\bigl(y-a_3\\bigr)\\;\\sigma'(z_3)\\!\\cdot w_3\\,\\sigma'(z_2)\\times x",
            "dC/dw2",
        ),
        ("\\frac{1}{2}\\left(y - a_{3}\\right)^{2}", "1/2 (y - a3)^2"),
        (
            "0.5 \\cdot x^{2} \\div 3 - 4 * w_2 / 2",
            "0.5 x^2 / 3 - 4 w2 / 2",
        ),
        ("\\tfrac12 x^2", "x^2/2"),
        (
            "1e-3 x + 2.5E2 - e^{2} + 2e",
            "0.001 x + 250 - exp(2) + 2 exp(1)",
        ),
        ("\\{ x + 1 \\} \\cdot 2", "(x + 1) * 2"),
        ("−(y − a_3)", "-(y - a3)"),
        // Functions.
        (
            "\\sqrt{x^2 + 1} \\cdot \\ln(a_2) \\times \\exp(w_2)",
            "sqrt(x^2 + 1) log(a2) exp(w2)",
        ),
        (
            "\\tanh(z_2) - \\log\\left[ 1 + x^{2} \\right]",
            "tanh(z2) - log(1 + x^2)",
        ),
        ("\\sqrt[3]{x^2+1}", "(x^2 + 1)^(1/3)"),
        (
            "\\left| w_2 - w_3 \\right| + |b_2| + \\lvert x \\rvert",
            "abs(w2 - w3) + abs(b2) + abs(x)",
        ),
        ("\\sigma(z_2)^2 + \\exp{-x}", "sigmoid(z2)^2 + exp(-x)"),
        (
            "\\text{ReLU}(z_2) + \\operatorname{softplus}(z_3)",
            "relu(z2) + softplus(z3)",
        ),
        ("\\log x^2 + \\ln{a_2}", "log(x^2) + log(a2)"),
        (
            "1 - \\tanh^2(z_2) + \\tanh'(z_3)",
            "1 - tanh(z2)^2 + tanh'(z3)",
        ),
        (
            "\\text{ReLU}'(z_2) + \\mathrm{relu}(z_3)",
            "relu'(z2) + relu(z3)",
        ),
        // Implicit multiplication, groups, the output's `f(x)`.
        ("2[y - f(x)]{a_2}", "2 (y - a3) a2"),
        ("f(x)^2 - y f(x)", "a3^2 - y a3"),
        ("\\sigma'(z_3)a_2 w_3", "sigmoid'(z3) a2 w3"),
        ("a_2 w_3 + b_3", "z3"),
        ("z3 - w3 a2", "b3"),
        ("xy - yx", "0"),
        ("(y - a_3)^{2}.", "C"),
    ];
    for (tex, plain) in cases {
        same(SEED, tex, plain, &seed_points());
    }
}

#[test]
fn mazur_step_by_step() {
    let cases = [
        (
            "\\frac{\\partial E_{total}}{\\partial out_{o1}}",
            "dEtotal/douto1",
        ),
        ("-(t_1 - out_{o1})", "dEtotal/douto1"),
        ("\\frac{\\partial E_{total}}{\\partial w_5}", "dEtotal/dw5"),
        (
            "\\frac{\\partial E_{total}}{\\partial out_{o1}} \\cdot \\frac{\\partial out_{o1}}{\\partial net_{o1}} \\cdot \\frac{\\partial net_{o1}}{\\partial w_5}",
            "dEtotal/dw5",
        ),
        (
            "-(t_1 - out_{o1}) \\cdot out_{o1}(1 - out_{o1}) \\cdot out_{h1}",
            "dEtotal/dw5",
        ),
        (
            "\\frac{\\partial E_{o1}}{\\partial net_{o1}}",
            "dEo1/dneto1",
        ),
        (
            "\\left(\\frac{\\partial E_{o1}}{\\partial out_{h1}} + \\frac{\\partial E_{o2}}{\\partial out_{h1}}\\right) out_{h1}(1-out_{h1}) i_1",
            "dEtotal/dw1",
        ),
        ("E_{o1} + E_{o2}", "Etotal"),
    ];
    for (tex, plain) in cases {
        same(MAZUR, tex, plain, &mazur_points());
    }
}

const LAYERED: &str = r#"
input x1, x2
target y
param w2_1_1 as "w^{(2)}_{11}", w2_1_2 as "w^{(2)}_{12}", b2_1 as "b^{(2)}_1"
show z2_1 as "z^{(2)}_1", a2_1 as "a^{(2)}_1"
z2_1 = w2_1_1*x1 + w2_1_2*x2 + b2_1
a2_1 = sigmoid(z2_1)
cost C = 1/2 (y - a2_1)^2
"#;

#[test]
fn layered_names_with_display_forms() {
    let points = vec![
        vec![
            ("x1", 0.3),
            ("x2", -0.7),
            ("y", 0.6),
            ("w2_1_1", 0.2),
            ("w2_1_2", -1.1),
            ("b2_1", 0.4),
        ],
        vec![
            ("x1", 1.3),
            ("x2", 0.5),
            ("y", 0.1),
            ("w2_1_1", -0.6),
            ("w2_1_2", 0.9),
            ("b2_1", -0.2),
        ],
    ];
    let cases = [
        ("\\frac{\\partial C}{\\partial w^{(2)}_{12}}", "dC/dw2_1_2"),
        ("(a^{(2)}_1 - y)\\,\\sigma'(z^{(2)}_1)\\, x_2", "dC/dw2_1_2"),
        ("\\delta^{(2)}_1 x_2", "dC/dw2_1_2"),
        ("\\delta^{(2)}_{1}", "dC/db2_1"),
        ("w_{12}^{(2)} x_2 + w^{(2)}_{11} x_1 + b^{(2)}_{1}", "z2_1"),
        ("\\frac{\\partial C}{\\partial a^{(2)}_1}", "a2_1 - y"),
    ];
    for (tex, plain) in cases {
        same(LAYERED, tex, plain, &points);
    }
}

#[test]
fn cs231n_neuron() {
    let source = include_str!("../examples/cs231n_neuron.bp");
    let points = vec![
        vec![
            ("x0", -1.0),
            ("x1", -2.0),
            ("w0", 2.0),
            ("w1", -3.0),
            ("w2", -3.0),
        ],
        vec![
            ("x0", 0.5),
            ("x1", 1.5),
            ("w0", -0.4),
            ("w1", 0.3),
            ("w2", 0.8),
        ],
    ];
    let cases = [
        ("\\frac{1}{1+e^{-(w_0x_0 + w_1x_1 + w_2)}}", "sigmoid(dot)"),
        ("f(w,x)", "sigmoid(w0 x0 + w1 x1 + w2)"),
        ("(1 - f(w,x))\\,f(w,x)\\,x_0", "df/dw0"),
        ("\\frac{\\partial f}{\\partial w_1}", "(1 - f) f x1"),
        (
            "\\left(1-\\sigma(\\mathit{dot})\\right)\\sigma(dot)",
            "(1 - sigmoid(dot)) sigmoid(dot)",
        ),
    ];
    for (tex, plain) in cases {
        same(source, tex, plain, &points);
    }
    // The page's `\sigma(x)` is generic: here `x` could be `x0` or `x1`.
    let d = latex_err(&load(source), "(1-\\sigma(x))\\sigma(x)");
    assert!(d.message.contains("ambiguous name `x`"), "{d:?}");
}

#[test]
fn decorated_letters_are_names() {
    let model = load("input x\ntarget y\nparam w\nyhat = sigmoid(w*x)\ncost C = (y - yhat)^2");
    assert_eq!(name_of(&latex(&model, "\\hat{y}")), "yhat");
    assert_eq!(name_of(&latex(&model, "\\hat y")), "yhat");
    let model = load(
        "input x\ntarget y\nparam w\nshow p as \"\\hat{y}\"\np = sigmoid(w*x)\ncost C = (y - p)^2",
    );
    assert_eq!(name_of(&latex(&model, "\\hat{y}")), "p");
    assert_eq!(name_of(&latex(&model, "\\widehat{y}")), "p");
    let d = latex_err(&model, "\\hat{x + 1}");
    assert!(d.message.contains("not understood"), "{d:?}");
}

#[test]
fn a_bare_letter_with_several_names_is_ambiguous() {
    // The seed's typo answer `2(a - y)(\sigma(z) - (1 - \sigma(z)))a` leaves out the layers.
    let model = load(SEED);
    let text = "2(a-y)(\\sigma(z) - (1 - \\sigma(z)))a";
    let d = latex_err(&model, text);
    assert!(d.message.contains("ambiguous name `a`"), "{d:?}");
    assert!(
        d.message.contains("`a2`") && d.message.contains("`a3`"),
        "{d:?}"
    );
    assert_eq!(d.span, Some(Span::new(2, 3)));
    // A bare `\delta` is a free Greek letter.
    assert!(matches!(latex(&model, "\\delta"), Expr::Name(i) if i.name == "delta"));
}

// ---------------------------------------------------------------------------------------
// The shape of the tree
// ---------------------------------------------------------------------------------------

fn deriv_names(e: &Expr) -> (String, String) {
    match e {
        Expr::DerivRef { of, wrt, .. } => (of.name.clone(), wrt.name.clone()),
        other => panic!("not a derivative: {other:?}"),
    }
}

#[test]
fn derivative_references() {
    let model = load(SEED);
    for tex in [
        "\\partial C / \\partial w^{(3)}",
        "dC/dw_{3}",
        "\\frac{\\partial C}{\\partial w^{(3)}}",
        "\\frac{dC}{dw_3}",
        "\\frac{d C}{d w3}",
        "\\frac{\\partial C}{\\partial w_{3}}",
        "\\frac{∂C}{∂w_3}",
        "\\left(\\frac{\\partial C}{\\partial w_3}\\right)",
    ] {
        assert_eq!(
            deriv_names(&latex(&model, tex)),
            ("C".into(), "w3".into()),
            "{tex}"
        );
    }
    // δ names are ∂C/∂z of the same decorations.
    for tex in ["\\delta^{(3)}", "\\delta_3", "\\delta_{3}", "δ3", "delta3"] {
        assert_eq!(
            deriv_names(&latex(&model, tex)),
            ("C".into(), "z3".into()),
            "{tex}"
        );
    }
    let e = latex(&model, "\\frac{\\partial}{\\partial x}(x^2)");
    assert!(
        matches!(e, Expr::DerivOf { ref wrt, .. } if wrt.name == "x"),
        "{e:?}"
    );
}

#[test]
fn spans_point_into_the_text() {
    let model = load(SEED);
    let text = "2 a_{2} + \\sigma(z_3)";
    let e = latex(&model, text);
    assert_eq!(e.span(), Span::new(0, text.len()));
    let Expr::Binary { lhs, .. } = &e else {
        panic!("{e:?}")
    };
    let Expr::Binary { rhs, .. } = lhs.as_ref() else {
        panic!("{lhs:?}")
    };
    assert_eq!(rhs.span(), Span::new(2, 7));
    assert!(matches!(rhs.as_ref(), Expr::Name(i) if i.name == "a2"));
}

#[test]
fn greek_letters_are_free_unless_declared() {
    let model = load(SEED);
    let e = latex(&model, "w_3 - \\eta \\frac{\\partial C}{\\partial w_3}");
    let Expr::Binary { rhs, .. } = &e else {
        panic!("{e:?}")
    };
    let Expr::Binary { lhs, .. } = rhs.as_ref() else {
        panic!("{rhs:?}")
    };
    assert!(
        matches!(lhs.as_ref(), Expr::Name(i) if i.name == "eta"),
        "{lhs:?}"
    );
    assert_eq!(resolve_name(&model, "η"), Ok(Resolved::Free("eta".into())));

    // Declared as `eta` or as `η`: the model's name.
    let model = load("input x\nparam w, eta\ncost C = eta*(w*x)^2");
    assert!(matches!(latex(&model, "\\eta"), Expr::Name(i) if i.name == "eta"));
    assert!(matches!(latex(&model, "η"), Expr::Name(i) if i.name == "eta"));
    let model = load("input x\nparam w, η\ncost C = η*(w*x)^2");
    assert!(matches!(latex(&model, "\\eta"), Expr::Name(i) if i.name == "η"));
    // `\lambda^2` is a power of a free λ.
    let e = latex(&model, "\\lambda^2");
    assert!(
        matches!(e, Expr::Binary { ref lhs, .. } if matches!(lhs.as_ref(), Expr::Name(i) if i.name == "lambda")),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Name resolution
// ---------------------------------------------------------------------------------------

fn name_of(e: &Expr) -> &str {
    match e {
        Expr::Name(i) => &i.name,
        other => panic!("not a name: {other:?}"),
    }
}

#[test]
fn default_rule_both_ways() {
    let model = load(SEED);
    for tex in [
        "a_{2}", "a_2", "a^{(2)}", "a^{[2]}", "a2", "a_{ 2 }", "{a_2}",
    ] {
        assert_eq!(name_of(&latex(&model, tex)), "a2", "{tex}");
    }
    // `a^{2}` is a power, not a name.
    let e = latex(&model, "x^{2}");
    assert!(matches!(e, Expr::Binary { .. }), "{e:?}");
    let e = latex(&model, "a_2^2");
    assert!(
        matches!(&e, Expr::Binary { lhs, .. } if name_of(lhs) == "a2"),
        "{e:?}"
    );
    // Plain names and run-together subscripts.
    let model = load(MAZUR);
    for (tex, name) in [
        ("E_{total}", "Etotal"),
        ("out_{o1}", "outo1"),
        ("net_{h2}", "neth2"),
        ("outo1", "outo1"),
        ("w_{5}", "w5"),
        ("E_{\\text{total}}", "Etotal"),
    ] {
        assert_eq!(name_of(&latex(&model, tex)), name, "{tex}");
    }
    // Layered weights: `w^{(2)}_{11}` and `w^{(2)}_{1,1}` for `w2_1_1`.
    let model = load("input x\nparam w2_1_1, w2_1_2\ncost C = (w2_1_1 + w2_1_2) * x");
    for tex in ["w^{(2)}_{11}", "w^{(2)}_{1,1}", "w_{2,1,1}", "w_{211}"] {
        assert_eq!(name_of(&latex(&model, tex)), "w2_1_1", "{tex}");
    }
    assert_eq!(name_of(&latex(&model, "w^{(2)}_{12}")), "w2_1_2");
}

#[test]
fn display_forms_come_first() {
    let source = "input x\nparam w3 as \"\\theta_{out}\", b\nshow z as \"z^{(3)}\"\nz = w3*x + b\ncost C = z^2";
    let model = load(source);
    assert_eq!(name_of(&latex(&model, "\\theta_{out}")), "w3");
    assert_eq!(name_of(&latex(&model, "\\theta_{\\mathrm{out}}")), "w3");
    assert_eq!(
        resolve_name(&model, "θ_out"),
        Ok(Resolved::Symbol(model.lookup("w3").unwrap()))
    );
    assert_eq!(name_of(&latex(&model, "z^{(3)}")), "z");
    // The default rule still works for a name with a display form.
    assert_eq!(name_of(&latex(&model, "w_3")), "w3");
    // Display form beats the default rule: `a^{2}` declared as a name is the name.
    let model = load("input x\nparam a2 as \"a^{2}\"\ncost C = a2*x");
    assert_eq!(name_of(&latex(&model, "a^{2}")), "a2");
    assert_eq!(name_of(&latex(&model, "a^2")), "a2");
}

#[test]
fn ambiguous_names_list_the_candidates() {
    let model = load("input x\nparam a2, a_2\ncost C = (a2 + a_2)*x");
    let text = "3 a_{2}";
    let d = latex_err(&model, text);
    assert!(d.message.contains("ambiguous"), "{d:?}");
    assert!(
        d.message.contains("`a2`") && d.message.contains("`a_2`"),
        "{d:?}"
    );
    assert_eq!(d.span, Some(Span::new(2, 7)));
    // The plain name is exact, so `a_2` written plain is no longer ambiguous there.
    assert!(resolve_name(&model, "a_2").is_ok());
    let rendered = d.render("claim", text, false);
    assert!(rendered.contains("^^^^^"), "{rendered}");
}

#[test]
fn unknown_names_point_at_the_spot() {
    let model = load(SEED);
    let text = "2(y - a_{9})";
    let d = latex_err(&model, text);
    assert_eq!(d.message, "unknown name `a_{9}`");
    assert_eq!(d.span, Some(Span::new(6, 11)));
    let help = d.help.clone().unwrap();
    assert!(help.contains("`a2`") && help.contains("`a3`"), "{help}");

    let d = latex_err(&model, "q + 1");
    assert!(d.message.contains("unknown name `q`"), "{d:?}");
    assert_eq!(d.span, Some(Span::new(0, 1)));

    // A δ with no matching z-name.
    let d = latex_err(&model, "\\delta^{(7)}");
    assert!(d.message.contains("∂C/∂z"), "{d:?}");
    // `a^{(9)}` is a layer, never a power of an unknown `a`.
    let d = latex_err(&model, "a^{(9)}");
    assert!(d.message.contains("unknown name"), "{d:?}");
}

#[test]
fn resolve_plain_names() {
    let model = load(SEED);
    let sym = |n: &str| model.lookup(n).unwrap();
    assert_eq!(resolve_name(&model, "a2"), Ok(Resolved::Symbol(sym("a2"))));
    assert_eq!(resolve_name(&model, "a_2"), Ok(Resolved::Symbol(sym("a2"))));
    assert_eq!(
        resolve_name(&model, "a^{(2)}"),
        Ok(Resolved::Symbol(sym("a2")))
    );
    assert_eq!(
        resolve_name(&model, "delta3"),
        Ok(Resolved::Delta(sym("z3")))
    );
    assert_eq!(resolve_name(&model, "δ3"), Ok(Resolved::Delta(sym("z3"))));
    assert_eq!(resolve_name(&model, "δ_2"), Ok(Resolved::Delta(sym("z2"))));
    let d = resolve_name(&model, "a_7").unwrap_err();
    assert_eq!(d.span, Some(Span::new(0, 3)));
    assert!(d.help.unwrap().contains("`a3`"));
    let d = resolve_name(&model, "a").unwrap_err();
    assert!(d.message.contains("ambiguous name `a`"), "{d:?}");
    assert!(
        d.message.contains("`a2`") && d.message.contains("`a3`"),
        "{d:?}"
    );
    let delta = resolve_name(&model, "delta_3").unwrap();
    assert_eq!(
        deriv_names(&delta.to_expr(&model, Span::new(0, 7))),
        ("C".into(), "z3".into())
    );
    assert!(resolve_name(&model, "x^2").is_err());
    assert!(resolve_name(&model, "").is_err());
    let model = load(MAZUR);
    assert_eq!(
        resolve_name(&model, "E_total"),
        Ok(Resolved::Symbol(model.lookup("Etotal").unwrap()))
    );
}

#[test]
fn update_targets() {
    let model = load(SEED);
    let w3 = model.lookup("w3");
    for text in [
        "w_3'",
        "w'_3",
        "w^{(3)\\prime}",
        "w_{3}^{\\prime}",
        "w3'",
        "w3′",
        "w^{(3)'}",
    ] {
        assert_eq!(
            parse_latex_update_target(&model, text),
            w3.map(|s| (s, 1)),
            "{text}"
        );
    }
    // Two primes: the parameter after two steps.
    for text in [
        "w_3''",
        "w''_3",
        "w^{(3)\\prime\\prime}",
        "w^{(3)''}",
        "w3′′",
    ] {
        assert_eq!(
            parse_latex_update_target(&model, text),
            w3.map(|s| (s, 2)),
            "{text}"
        );
    }
    for text in ["w_3", "w_9'", "x^2", "\\frac{a}{b}", "", "w_3''' + 1"] {
        assert_eq!(parse_latex_update_target(&model, text), None, "{text}");
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

#[test]
fn errors_are_clear() {
    let model = load(SEED);
    let cases: &[(&str, &str, (usize, usize))] = &[
        ("\\frac{1}{", "unclosed `{`", (8, 9)),
        ("a_2)", "unmatched `)`", (3, 4)),
        ("(a_2]", "does not close", (4, 5)),
        ("\\foo x", "unsupported LaTeX command `\\foo`", (0, 4)),
        ("\\sigma", "needs an argument", (0, 6)),
        ("a_2 +", "expected an operand", (5, 5)),
        ("+ * x", "expected an operand, found `*`", (2, 3)),
        ("\\partial C", "outside a fraction", (0, 8)),
        ("a_2'", "update rule", (3, 4)),
        ("", "empty", (0, 0)),
        ("x^2^3", "double superscript", (3, 5)),
        ("x @ 2", "cannot read", (2, 3)),
        (
            "\\frac{\\partial^2 C}{\\partial w_3^2}",
            "higher derivatives",
            (14, 16),
        ),
        ("x, y", "comma", (1, 2)),
        ("\\frac{\\partial C}{\\partial w_3 x}", "one name", (17, 33)),
    ];
    for &(text, message, (start, end)) in cases {
        let d = latex_err(&model, text);
        assert!(d.message.contains(message), "{text}: {d:?}");
        assert_eq!(d.span, Some(Span::new(start, end)), "{text}: {d:?}");
        let rendered = d.render("claim", text, false);
        assert!(rendered.starts_with("error: "), "{rendered}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let model = load(SEED);
    for open in [
        "{", "\\{", "(", "[", "\\left(", "\\lvert ", "\\frac{", "\\sqrt{", "x^{", "\\sigma(",
    ] {
        let text = open.repeat(50_000);
        let d = latex_err(&model, &text);
        assert!(
            d.message.contains("too long") || d.message.contains("nested too deeply"),
            "{open}: {d:?}"
        );
        let text = format!("{}x{}", open.repeat(200), "}".repeat(200));
        let d = latex_err(&model, &text);
        assert!(d.message.contains("nested too deeply"), "{open}: {d:?}");
    }
    // Functions applied without brackets nest too.
    for chain in [
        "\\sigma ",
        "\\log ",
        "\\frac{\\partial}{\\partial x} ",
        "\\sqrt ",
    ] {
        let text = format!("{}x", chain.repeat(400));
        let text = &text[..text.len().min(chainrule::lang::latex::MAX_LENGTH)];
        assert!(parse_latex(&model, text).is_err(), "{chain}");
    }
    let text = format!("{}x", "\\log ".repeat(100));
    assert!(parse_latex(&model, &text).is_ok());
    // At the limit, on a small stack, it parses.
    let n = chainrule::lang::latex::MAX_NESTING - 2;
    let texts = [
        format!("{}x{}", "(".repeat(n), ")".repeat(n)),
        format!("{}x{}", "\\sigma(".repeat(n), ")".repeat(n)),
        format!("{}x{}", "\\frac{1}{".repeat(n), "}".repeat(n)),
        format!("{}x{}", "x^{".repeat(n), "}".repeat(n)),
        format!("{}x{}", "\\left[\\log ".repeat(n), "\\right]".repeat(n)),
        format!("{}x", "\\log ".repeat(2 * n)),
    ];
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let model = load(SEED);
            texts
                .iter()
                .map(|t| parse_latex(&model, t).map(|_| ()).map_err(|d| d.message))
                .collect::<Vec<_>>()
        })
        .unwrap();
    for result in handle.join().unwrap() {
        assert_eq!(result, Ok(()));
    }
    // Many bars stay quick.
    let start = std::time::Instant::now();
    let _ = parse_latex(&model, &"|".repeat(3000));
    let _ = parse_latex(&model, &"\\left|".repeat(600));
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// No input panics; errors render; spans lie inside the text.
    #[test]
    fn garbage_never_panics(parts in proptest::collection::vec(proptest::sample::select(vec![
        "\\frac", "{", "}", "(", ")", "[", "]", "\\left(", "\\right)", "\\left|", "\\right|", "|",
        "\\partial", "∂", "d", "C", "w", "_", "^", "3", "(3)", "'", "\\prime", "\\sigma", "\\cdot",
        "\\times", "+", "-", "−", "/", "\\,", " ", "\\eta", "\\delta", "δ", "a", "f", "x", "e",
        "\\sqrt", "\\tanh", "\\exp", "\\log", "0.5", "\\lvert", "\\rvert", "\\text{ReLU}",
        "\\mathrm{d}", ".", "\\foo", "ω", "η2", "E_{total}",
    ]), 0..24)) {
        let model = load(SEED);
        let text: String = parts.concat();
        match parse_latex(&model, &text) {
            Ok(e) => {
                let span = e.span();
                proptest::prop_assert!(span.start <= span.end && span.end <= text.len());
            }
            Err(d) => {
                let rendered = d.render("claim", &text, false);
                proptest::prop_assert!(rendered.starts_with("error: "));
            }
        }
        let _ = resolve_name(&model, &text);
        let _ = parse_latex_update_target(&model, &text);
    }
}

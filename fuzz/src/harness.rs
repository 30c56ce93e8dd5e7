//! What every fuzzed input must satisfy: nothing panics, and every refusal is a diagnostic
//! that points into the text it is about and renders. One function per fuzz target; the same
//! functions run a bounded number of inputs in `cargo test` (`tests/robustness.rs`).

use chainrule::{
    DeriveConfig, Diagnostic, Document, DocumentFormat, EvalRequest, Given, Layout, Model, Style,
    TargetSpec,
};

/// Longest program the whole-command target runs (a derivation grows with the program).
const MAX_PROGRAM: usize = 400;
/// Longest claim the claim target checks.
const MAX_CLAIM: usize = 200;

/// A refusal must say where: a span inside the text, and a report naming line and column.
pub fn assert_located(diagnostic: &Diagnostic, source: &str) {
    let span = diagnostic
        .span
        .unwrap_or_else(|| panic!("no location for {:?} in {source:?}", diagnostic.message));
    assert!(
        span.start <= span.end && span.end <= source.len(),
        "span {span:?} outside the text ({} bytes) for {:?}",
        source.len(),
        diagnostic.message
    );
    let report = diagnostic.render("input", source, false);
    assert!(report.contains("--> input:"), "{report}");
    let colored = diagnostic.render("input", source, true);
    assert!(colored.contains("input:"), "{colored}");
    // No invisible character reaches the terminal raw.
    assert!(
        !report
            .chars()
            .any(|c| c != '\n' && chainrule::core::excerpt::is_invisible(c)),
        "{report:?}"
    );
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The built-in example with the learning rate, as `check` reads claims against it: loaded
/// once a thread and copied (loading it was most of the time a values input took).
fn example() -> Model {
    thread_local! {
        static EXAMPLE: Model = chainrule::with_learning_rate(
            &chainrule::load(chainrule::BUILTIN_EXAMPLE).expect("the built-in example loads"),
        );
    }
    EXAMPLE.with(Model::clone)
}

/// The `.bp` parser, the shorthand's expansion and the layered derivation.
pub fn parse_bp(data: &[u8]) {
    let source = text(data);
    match chainrule::load(&source) {
        Ok(_) => {}
        Err(d) => assert_located(&d, &source),
    }
    if let Err(d) = chainrule::expand(&source) {
        assert_located(&d, &source);
    }
    if let Err(d) = chainrule::layers(&source) {
        assert_located(&d, &source);
    }
}

/// A claim (plain or LaTeX) checked against the built-in example.
pub fn parse_claim(data: &[u8]) {
    if data.len() > MAX_CLAIM {
        return;
    }
    let claim = text(data);
    if claim.contains('\n') {
        return; // a claims file gives one claim a line
    }
    let model = example();
    match chainrule::check(&model, std::slice::from_ref(&claim), &[]) {
        Ok(checked) => {
            for format in [DocumentFormat::Text, DocumentFormat::Json] {
                chainrule::render(&Document::Checks(&checked), format, &Layout::default())
                    .expect("built-in templates render");
            }
        }
        Err(e) => assert_located(&e.diagnostic, &claim),
    }
}

/// `--at`/values files, `--wrt` targets and `--expr` formulas against the built-in example.
pub fn parse_values(data: &[u8]) {
    let input = text(data);
    let mut model = example();
    if let Err(d) = chainrule::values(&model, &input) {
        assert_located(&d, &input);
    }
    let wrt: Vec<String> = input.split(',').map(str::to_string).collect();
    if let Err(e) = chainrule::targets(&model, &TargetSpec::List(wrt)) {
        assert_located(&e.diagnostic, &e.argument);
    }
    if let Err(d) = chainrule::formula(&mut model, &input) {
        assert_located(&d, &input);
    }
}

/// Whole commands on a small program: the first byte chooses the options, the rest is the
/// program. derive (both styles, with and without expansion) in every format (HTML standing
/// for Markdown, which it is written from), eval, step, check, expand and, for a shorthand or
/// a vector program, the derivation in matrix form.
pub fn commands(data: &[u8]) {
    let Some((&options, rest)) = data.split_first() else {
        return;
    };
    if rest.len() > MAX_PROGRAM {
        return;
    }
    let source = text(rest);
    let format = [
        DocumentFormat::Text,
        DocumentFormat::Html,
        DocumentFormat::Latex,
        DocumentFormat::Json,
    ][options as usize % 4];
    let layout = Layout {
        standalone: options & 4 != 0,
        source_name: "input.bp".into(),
        ..Layout::default()
    };
    let render = |document: Document<'_>, what: &str| {
        if let Err(d) = chainrule::render(&document, format, &layout) {
            panic!("{what} does not render: {}", d.message);
        }
    };
    if let Ok(expanded) = chainrule::expand(&source) {
        // The expansion parses back.
        if let Err(d) = chainrule::load(&expanded) {
            panic!("the expansion of {source:?} does not load: {}", d.message);
        }
    }
    if let Ok(Some(layered)) = chainrule::layers(&source) {
        render(Document::Layers(&layered), "the layered derivation");
    }
    if let Ok(Some(form)) = chainrule::matrix_form(&source) {
        render(Document::Layers(&form), "the matrix form");
    }
    let mut model = match chainrule::load(&source) {
        Ok(model) => model,
        Err(d) => return assert_located(&d, &source),
    };
    let style = if options & 8 != 0 {
        Style::Backprop
    } else {
        Style::Chain
    };
    let config = DeriveConfig {
        style,
        expand: options & 16 != 0,
        steps: options & 32 == 0,
        // As `derive` does: JSON gives small results in inputs and parameters too.
        expand_if_small: format == DocumentFormat::Json,
    };
    let derivations = chainrule::derive(&mut model, &TargetSpec::AllParams, &config)
        .expect("--all always resolves");
    render(
        Document::Derivations {
            model: &model,
            derivations: &derivations,
            style,
        },
        "derive",
    );

    // Every leaf at a value chosen by the options byte.
    let value = ["0.5", "-1.25", "3", "0", "1e-3", "40", "-0.75", "2"][(options as usize >> 5) % 8];
    let point: Vec<String> = model
        .syms()
        .filter(|&s| model.symbol(s).kind.is_leaf())
        .map(|s| format!("{}={value}", model.name(s)))
        .collect();
    let given: Vec<Given> =
        chainrule::values(&model, &point.join(",")).expect("the model's own names parse as values");
    let request = EvalRequest {
        targets: chainrule::targets(&model, &TargetSpec::AllParams).expect("--all always resolves"),
        exprs: vec![],
        stable: options & 64 != 0,
        check_grad: options & 128 != 0,
        no_values: false,
        ..Default::default()
    };
    if let Ok(report) = chainrule::evaluate(&mut model, &given, &request) {
        render(
            Document::Evaluation {
                model: &model,
                report: &report,
            },
            "eval",
        );
    }
    if let Ok(descent) = chainrule::descend(&mut model, &given, 0.1, 2) {
        render(
            Document::Descent {
                model: &model,
                descent: &descent,
            },
            "step",
        );
    }
    let checking = chainrule::with_learning_rate(&model);
    if let Some(p) = model.params().next() {
        let claims = vec![
            format!("dC/d{} = 0", model.name(p)),
            format!(
                "{}' = {} - eta*dC/d{}",
                model.name(p),
                model.name(p),
                model.name(p)
            ),
        ];
        match chainrule::check(&checking, &claims, &[]) {
            Ok(checked) => render(Document::Checks(&checked), "check"),
            Err(e) => assert_located(&e.diagnostic, &claims[e.index]),
        }
    }
}

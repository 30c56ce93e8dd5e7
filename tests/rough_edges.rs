//! Issue 22's notation and typesetting, each from its reproducer: one number notation per
//! sentence, a multi-letter name set as one word, derivation order and labels, and the
//! typesetting of check's corrected formula, its sentences and the layered derivation.

mod common;

const MAZUR: &str = "examples/mazur_2_2_2.bp";
const MAZUR_AT: &str = "i1=0.05,i2=0.10,t1=0.01,t2=0.99,w1=0.15,w2=0.20,w3=0.25,w4=0.30,\
                        w5=0.40,w6=0.45,w7=0.50,w8=0.55,b1=0.35,b2=0.60";

fn run(args: &[&str]) -> String {
    let out = common::run(args, None);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The numbers of a sentence: every run of digits with its point and exponent.
fn numbers_in(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in sentence.chars() {
        if c.is_ascii_digit() || (c == '.' && !current.is_empty()) {
            current.push(c);
        } else if !current.is_empty() {
            out.push(current.trim_end_matches('.').to_string());
            current.clear();
        }
    }
    if !current.is_empty() {
        out.push(current.trim_end_matches('.').to_string());
    }
    out
}

#[test]
fn the_ascent_sentence_gives_six_digits_as_the_rest_of_check() {
    let text = run(&[
        "check",
        "--claim",
        "w3' = w3 + eta*dC/dw3",
        "--at",
        "x=1,y=0,w2=0.5,b2=0.5,w3=0.5,b3=0.5",
    ]);
    let sentence = text
        .lines()
        .find(|l| l.contains("raises the cost from"))
        .unwrap_or_else(|| panic!("{text}"));
    let costs: Vec<String> = numbers_in(sentence.split("raises the cost from").nth(1).unwrap());
    assert_eq!(costs.len(), 2, "{sentence}");
    for cost in &costs {
        let digits = cost.trim_start_matches("0.").trim_start_matches('0').len();
        assert!(digits <= 6, "{cost} in {sentence}");
    }
    assert_ne!(costs[0], costs[1], "{sentence}");
}

#[test]
fn a_multi_letter_name_is_one_word_in_latex_and_one_mi_in_html() {
    let at = format!("{MAZUR_AT},eta=0.5");
    for args in [
        vec!["derive", MAZUR, "--wrt", "w5"],
        vec!["eval", MAZUR, "--wrt", "w5", "--at", MAZUR_AT],
        vec!["step", MAZUR, "--lr", "0.5", "--at", MAZUR_AT],
        vec![
            "check",
            MAZUR,
            "--claim",
            "dEtotal/dw5 = outh1",
            "--at",
            &at,
        ],
    ] {
        let latex = run(&[&args[..], &["--format", "latex"]].concat());
        assert!(latex.contains("\\mathit{Etotal}"), "{args:?}:\n{latex}");
        // No letter of it stands alone as a factor.
        assert!(!latex.contains(" Etotal"), "{args:?}:\n{latex}");
        let html = run(&[&args[..], &["--format", "html"]].concat());
        assert!(
            html.contains("<mi>𝐸𝑡𝑜𝑡𝑎𝑙</mi>") || html.contains("<mi>Etotal</mi>"),
            "{args:?}"
        );
        assert!(!html.contains("<mi>E</mi><mi>t</mi>"), "{args:?}");
    }
}

/// Issue 22, item 17: a derivation document is rendered in pieces of a few derivations each
/// (so that 784-30-10's 13.5 MB never holds every step's text and template context at once).
/// The pieces join to exactly the document rendered whole, as a template of the user's is.
#[test]
fn a_document_rendered_in_pieces_is_the_document_rendered_whole() {
    use chainrule::core::diff::{self, Config, Style};
    use chainrule::lang::load::{self, TargetSpec};
    use chainrule::render::document::{self, Format, Layout, TEMPLATES};
    // 139 parameters: three pieces.
    let source = "network 4-8-8-3\nactivation 4 softmax\ncost log-likelihood\n";
    for style in [Style::Chain, Style::Backprop] {
        let mut model = load::load(source).unwrap();
        let targets = load::targets(&model, &TargetSpec::AllParams).unwrap();
        assert!(targets.len() > 128);
        let config = Config {
            style,
            steps: true,
            ..Config::default()
        };
        let derivations = diff::derive(&mut model, &targets, &config);
        for (format, template) in [
            (Format::Text, "derive.txt"),
            (Format::Markdown, "derive.md"),
            (Format::Latex, "derive.tex"),
        ] {
            for standalone in [false, true] {
                let pieces = Layout {
                    standalone,
                    source_name: "net.bp".into(),
                    ..Layout::default()
                };
                let builtin = TEMPLATES.iter().find(|(n, _)| *n == template).unwrap().1;
                let mut whole = pieces.clone();
                whole
                    .overrides
                    .insert(template.to_string(), builtin.to_string());
                let render = |layout: &Layout| {
                    document::render_derivations(&model, &derivations, style, format, layout)
                        .unwrap()
                };
                let (in_pieces, in_one) = (render(&pieces), render(&whole));
                assert_eq!(in_pieces, in_one, "{template}, standalone {standalone}");
                if format == Format::Text {
                    // Every piece is there: the last parameter's section ends the document.
                    assert!(in_pieces.contains("── ∂C/∂b4_3"), "{in_pieces}");
                    assert_eq!(in_pieces.matches(": parameter)").count(), targets.len());
                }
            }
        }
    }
}

#[test]
fn the_layered_derivation_keeps_math_out_of_its_text() {
    for file in [
        "examples/network_2_3_1.bp",
        "examples/softmax_classifier.bp",
    ] {
        let latex = run(&["derive", file, "--layers", "--format", "latex"]);
        // A formula inside `\textit{…}` is set in an italic font without `∂` (KaTeX's strict
        // mode warns); inside `\text{…}` of display math a `$` is not LaTeX at all.
        for opening in ["\\textit{", "\\text{"] {
            for (at, _) in latex.match_indices(opening) {
                let inside = &latex[at + opening.len()..];
                let end = inside.find('}').unwrap();
                assert!(
                    !inside[..end].contains('$'),
                    "{file}: math inside {opening}…}}: {}",
                    &latex[at..at + opening.len() + end + 1]
                );
            }
        }
        assert!(
            latex.contains("\\tag*{product rule for a matrix product: $\\partial/\\partial A"),
            "{latex}"
        );
        let html = run(&["derive", file, "--layers", "--format", "html"]);
        for (at, _) in html.match_indices("<mtext>") {
            let inside = &html[at..at + html[at..].find("</mtext>").unwrap()];
            assert!(!inside.contains('$'), "{file}: {inside}");
        }
    }
}

#[test]
fn the_stale_gradient_sentence_sets_nabla_as_math() {
    let at = format!("{MAZUR_AT},eta=0.5");
    let claim = "w5'' = 0.31783";
    let latex = run(&[
        "check", MAZUR, "--claim", claim, "--at", &at, "--format", "latex",
    ]);
    assert!(
        latex.contains("$\\nabla C$ must be computed again"),
        "{latex}"
    );
    assert!(!latex.contains('∇'), "{latex}");
    let text = run(&["check", MAZUR, "--claim", claim, "--at", &at]);
    assert!(text.contains("∇C must be computed again"), "{text}");
}

/// Issue 22, item 9: a softmax output's error terms are its δ, as every shorthand z-term is,
/// and a heading writes one name in one form.
#[test]
fn softmax_error_terms_are_named_delta_with_one_form_per_name() {
    let program = "network 2-3-2\nactivation 3 softmax\ncost log-likelihood\n";
    let text = common::stdout_of(&["derive", "-", "--all", "--no-steps"], program);
    assert!(
        text.contains("── δ3_1 = ∂C/∂z3_1\n  term:      δ3_1 = a3_1 − y1"),
        "{text}"
    );
    assert!(!text.contains("── ∂C/∂z3_1"), "{text}");
    assert!(
        text.contains("δ2_1 = (δ3_1·w3_1_1 + δ3_2·w3_2_1)"),
        "{text}"
    );
    let latex = common::stdout_of(
        &["derive", "-", "--all", "--no-steps", "--format", "latex"],
        program,
    );
    assert!(
        latex.contains(
            "\\subsubsection*{$\\delta^{(3)}_{1} = \\frac{\\partial C}{\\partial z^{(3)}_{1}}$}"
        ),
        "{latex}"
    );
    // z3_1 is written z^{(3)}_{1} wherever it appears.
    assert!(!latex.contains("z_{3,1}"), "{latex}");
    let json = common::stdout_of(
        &["derive", "-", "--all", "--no-steps", "--format", "json"],
        program,
    );
    assert!(json.contains("\"name\": \"delta3_1\""), "{json}");
}

/// Issue 22, item 11: in `--style backprop`, a factor the gradient's step dropped
/// (`∂C/∂z2·1 = ∂C/∂z2`) does not come back when the error terms are substituted.
#[test]
fn a_dropped_factor_stays_dropped_in_backprop() {
    let text = common::stdout_of(&["derive", "--wrt", "b2", "--style", "backprop"], "");
    let section = text.split("── ∂C/∂b2").nth(1).unwrap();
    let lines: Vec<&str> = section.lines().collect();
    let through = lines
        .iter()
        .position(|l| l.contains("∂C/∂b2 = ∂C/∂z2·∂z2/∂b2 = ∂C/∂z2·1 = ∂C/∂z2"))
        .unwrap_or_else(|| panic!("{section}"));
    for line in &lines[through + 1..] {
        assert!(
            !line.contains("·1 ") && !line.ends_with("·1"),
            "{line}\n{section}"
        );
        assert!(!line.contains("·1    ("), "{line}\n{section}");
    }
}

/// Issue 22, item 11, in matrix form (issue 18): every step of the layered derivation names
/// its rule and the shape of its gradient, and the softmax output's error uses that each
/// example's one-hot targets sum to 1.
#[test]
fn every_layered_step_names_its_rule_and_a_distribution_sums_to_one() {
    for file in [
        "examples/softmax_classifier.bp",
        "examples/network_2_3_1.bp",
    ] {
        let text = run(&["derive", file, "--layers"]);
        let steps: Vec<&str> = text.lines().filter(|l| l.starts_with("  ∂C/∂")).collect();
        assert!(steps.len() > 10, "{text}");
        for step in steps {
            let (_, rest) = step.rsplit_once("    [").expect(step);
            let (shape, rule) = rest.split_once("] (").expect(step);
            assert!(shape.contains('×') && rule.ends_with(')'), "{step}");
        }
        if file.contains("softmax") {
            assert!(text.contains("  BP1: δ3 = a3 − y\n"), "{text}");
        }
    }
}

/// Issue 22, item 11: the chain rule's steps go by layer, then by index (∂C/∂z3_1 before
/// ∂C/∂z3_2), from the variable up.
#[test]
fn chain_steps_go_by_layer_then_index() {
    let program = "network 2-3-2\nactivation 3 softmax\ncost log-likelihood\n";
    let text = common::stdout_of(&["derive", "-", "--wrt", "w2_1_1"], program);
    let chain_lhs: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("(chain rule"))
        .map(|l| l.trim().split(" = ").next().unwrap())
        .collect();
    assert_eq!(
        chain_lhs,
        ["∂C/∂w2_1_1", "∂C/∂a2_1", "∂C/∂z3_1", "∂C/∂z3_2"],
        "{text}"
    );
    let first = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in\n{text}"))
    };
    // The local derivatives follow in the same order.
    assert!(first("  ∂a2_1/∂z2_1 = ") < first("  ∂z3_1/∂a2_1 = "));
    assert!(first("  ∂z3_1/∂a2_1 = ") < first("  ∂z3_2/∂a2_1 = "));
    assert!(first("  ∂a3_1/∂z3_1 = ") < first("  ∂a3_1/∂z3_2 = "));
}

/// Issue 22, item 12: check's corrected formula is broken as derive breaks its results: text
/// within the line, LaTeX as alignment rows (one line once ran past pdflatex's margin).
#[test]
fn a_long_corrected_formula_is_broken_to_fit() {
    // Written out in activations (a deeper network's result names its error terms, and a
    // correction of a claim in them is as short as the claim's own).
    let program = "network 2-6-6\n";
    let json = common::stdout_of(
        &[
            "derive",
            "-",
            "--wrt",
            "w2_1_1",
            "--no-steps",
            "--format",
            "json",
        ],
        program,
    );
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let result = doc["derivatives"][0]["result"].as_str().unwrap();
    let claim = format!("dC/dw2_1_1 = -({result})");
    let out = common::run(&["check", "-", "--claim", &claim], Some(program));
    let text = String::from_utf8(out.stdout).unwrap();
    let at = text
        .find("   corrected:  ")
        .unwrap_or_else(|| panic!("{text}"));
    let lines: Vec<&str> = text[at..]
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert!(lines.len() > 1, "{text}");
    for line in &lines {
        assert!(line.chars().count() <= 100, "{line}");
    }
    // Continuations sit under the formula.
    assert!(
        lines[1..].iter().all(|l| l.starts_with("               ")),
        "{text}"
    );
    let out = common::run(
        &["check", "-", "--claim", &claim, "--format", "latex"],
        Some(program),
    );
    let latex = String::from_utf8(out.stdout).unwrap();
    let block = latex
        .split("\\emph{Corrected:}")
        .nth(1)
        .unwrap_or_else(|| panic!("{latex}"));
    assert!(block.trim_start().starts_with("\\begin{align*}"), "{latex}");
    let rows = block.split("\\end{align*}").next().unwrap();
    assert!(rows.matches(" \\\\").count() >= 2, "{rows}");
}

/// Every shorthand z-term is its δ, an identity layer's too (`a2_1 = z2_1`), so that no
/// heading writes z2_1 in two notations.
#[test]
fn an_identity_layers_error_terms_are_named_delta() {
    let program = "network 2-2-2\nactivation 2 identity\n";
    let latex = common::stdout_of(
        &["derive", "-", "--all", "--no-steps", "--format", "latex"],
        program,
    );
    assert!(
        latex.contains("\\delta^{(2)}_{1} = \\frac{\\partial C}{\\partial z^{(2)}_{1}}"),
        "{latex}"
    );
    assert!(!latex.contains("z_{2,1}"), "{latex}");
}

/// The `corrected` of a claim as JSON has it (in the input language), and the exit code.
fn json_correction(program: &str, claim: &str) -> String {
    let out = common::run(
        &["check", "-", "--claim", claim, "--format", "json"],
        Some(program),
    );
    assert_eq!(out.status.code(), Some(1), "{claim}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["claims"][0]["corrected"]
        .as_str()
        .unwrap_or_else(|| panic!("{claim}: {doc}"))
        .to_string()
}

/// A correction's value against the true derivative by an independent route: its error terms
/// read back as the derivatives they name (`delta2_1` is ∂C/∂z2_1), everything expanded into
/// inputs and parameters and evaluated at 320 bits, against a central difference of the cost,
/// at random points.
fn equals_the_derivative(program: &str, wrt: &str, corrected: &str) {
    let mut model = common::load(program);
    let written = deltas_as_derivatives(corrected);
    let formula = chainrule::lang::load::parse_formula(&mut model, &written)
        .unwrap_or_else(|d| panic!("{written}: {}", d.message));
    let wrt = model.lookup(wrt).unwrap();
    let cost = model.cost;
    for seed in 0..5u32 {
        let values: Vec<f64> = (0..13)
            .map(|i| {
                let u = ((seed * 7919 + i * 104_729) % 1000) as f64 / 1000.0;
                2.0 * u - 1.0
            })
            .collect();
        let point = common::point(&model, &values);
        let claimed = common::value_at(&mut model, formula, &point);
        let truth = common::central_difference(&mut model, cost, wrt, &point);
        assert!(
            common::close(&claimed, &truth, 1e-9),
            "{corrected}: {} against {}",
            claimed.to_f64(),
            truth.to_f64()
        );
    }
}

/// `delta2_1` written as the derivative it names, `dC/dz2_1`.
fn deltas_as_derivatives(formula: &str) -> String {
    formula.replace("delta", "dC/dz")
}

/// Issue 22, items 1 and 12: a claim written with named error terms is corrected in them, by
/// its one edit (`x2` for `x1`), not by δ2_1 written out through the layers after it; a
/// mistake that is no single edit is corrected one chain-rule step deep with δ named, as
/// `derive` writes a result. Each correction is the true derivative.
#[test]
fn a_correction_is_written_in_the_claims_named_terms() {
    let program = "network 2-2-1\nactivation sigmoid\ncost quadratic\n";
    let out = common::run(
        &[
            "check",
            "-",
            "--claim",
            "dC/dw2_1_1 = delta2_1 * x2",
            "--claim",
            "w2_1_1' = w2_1_1 - eta*delta2_1*x2",
            "--claim",
            "dC/dw2_1_1 = delta3_1 * x1",
        ],
        Some(program),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let corrections: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("corrected:"))
        .map(str::trim)
        .collect();
    assert_eq!(
        corrections,
        ["δ2_1·x1", "w2_1_1 − η·δ2_1·x1", "δ2_1·x1"],
        "{text}"
    );
    let latex = common::run(
        &[
            "check",
            "-",
            "--claim",
            "dC/dw2_1_1 = delta2_1 * x2",
            "--format",
            "latex",
        ],
        Some(program),
    );
    let latex = String::from_utf8(latex.stdout).unwrap();
    assert!(latex.contains("\\delta^{(2)}_{1} x_{1}"), "{latex}");
    for claim in [
        "dC/dw2_1_1 = delta2_1 * x2",
        "dC/dw2_1_1 = delta3_1 * x1",
        "dC/dw2_1_1 = 2 delta2_1 * x1",
        "dC/dw2_1_1 = delta2_1 * a2_1",
        "dC/dw2_1_1 = 0",
    ] {
        let corrected = json_correction(program, claim);
        // A claim without named terms gets the truth as derive writes this small one.
        assert_eq!(
            corrected.contains("delta2_1"),
            claim.contains("delta"),
            "{claim}: {corrected}"
        );
        equals_the_derivative(program, "w2_1_1", &corrected);
        // And the checker's own route agrees.
        let again = common::stdout_of(
            &[
                "check",
                "-",
                "--claim",
                &format!("dC/dw2_1_1 = {corrected}"),
            ],
            program,
        );
        assert!(again.contains("1 correct, 0 incorrect"), "{claim}: {again}");
    }
}

/// Issue 22, item 12: a sign or constant-factor mistake is corrected by fixing the claim
/// itself, in its own terms (σ(z3_1) stays σ(z3_1), δ3_1 stays named, the sign goes into the
/// difference `y1 − a3_1`), not replaced by the truth. Each correction is the true
/// derivative at 320 bits and is judged correct when checked.
#[test]
fn a_sign_or_factor_correction_is_the_claim_fixed_in_its_own_terms() {
    let program = "network 2-2-1\nactivation sigmoid\ncost quadratic\n";
    for (claim, wrt, corrected) in [
        (
            "dC/dw3_1_1 = (y1 - a3_1)*sigmoid(z3_1)*(1 - sigmoid(z3_1))*a2_1",
            "w3_1_1",
            "2(a3_1 - y1)*sigmoid(z3_1)*(1 - sigmoid(z3_1))*a2_1",
        ),
        (
            "dC/db2_1 = 2*delta3_1*w3_1_1*a2_1*(1 - a2_1)",
            "b2_1",
            "delta3_1*w3_1_1*a2_1(1 - a2_1)",
        ),
        (
            "dC/db2_1 = -delta3_1*w3_1_1*a2_1*(1 - a2_1)",
            "b2_1",
            "delta3_1*w3_1_1*a2_1(1 - a2_1)",
        ),
        (
            "dC/db2_1 = delta3_1*w3_1_1*a2_1*(a2_1 - 1)",
            "b2_1",
            "delta3_1*w3_1_1*a2_1(1 - a2_1)",
        ),
    ] {
        assert_eq!(json_correction(program, claim), corrected, "{claim}");
        equals_the_derivative(program, wrt, corrected);
        let subject = claim.split(" = ").next().unwrap();
        let again = common::stdout_of(
            &["check", "-", "--claim", &format!("{subject} = {corrected}")],
            program,
        );
        assert!(again.contains("1 correct, 0 incorrect"), "{claim}: {again}");
    }
    // In an update rule the step beside the parameter is the part rescaled.
    let claim = "w3_1_1' = w3_1_1 - eta*(a3_1 - y1)*a3_1*(1 - a3_1)*a2_1";
    let corrected = json_correction(program, claim);
    assert_eq!(
        corrected, "w3_1_1 - 2*eta(a3_1 - y1)*a3_1(1 - a3_1)*a2_1",
        "{claim}"
    );
    let again = common::stdout_of(
        &["check", "-", "--claim", &format!("w3_1_1' = {corrected}")],
        program,
    );
    assert!(again.contains("1 correct, 0 incorrect"), "{claim}: {again}");
}

/// Issue 22, item 12: one wrong claim on a 10-layer network once printed a correction of
/// 547 KB. Every format's whole report stays small, the correction in named terms, and is
/// the true derivative.
#[test]
fn a_correction_on_a_ten_layer_network_stays_small() {
    let program = std::fs::read_to_string("examples/deep_sigmoid_10.bp").unwrap();
    for (claim, wrt) in [
        ("dC/dw2_1_1 = 0", "w2_1_1"),
        ("dC/dw2_1_1 = (a10_1 - y1)*x1", "w2_1_1"),
        ("dC/dw2_1_1 = delta2_1 * x2", "w2_1_1"),
        ("dC/db3_2 = delta3_1", "b3_2"),
    ] {
        for format in ["text", "markdown", "latex", "json"] {
            let out = common::run(
                &["check", "-", "--claim", claim, "--format", format],
                Some(&program),
            );
            assert_eq!(out.status.code(), Some(1), "{claim}");
            assert!(
                out.stdout.len() < 6_000,
                "{claim} as {format}: {} bytes",
                out.stdout.len()
            );
        }
        let corrected = json_correction(&program, claim);
        assert!(corrected.len() < 200, "{claim}: {corrected}");
        assert!(corrected.contains("delta"), "{claim}: {corrected}");
        equals_the_derivative(&program, wrt, &corrected);
    }
}

/// The printed steps of a text derivation, each as `(left side, last right side)` with its
/// rule's label and shape left off and its continuation lines joined, in order; `None`
/// between derivations (a result line or a heading ends a run of steps).
fn printed_steps(text: &str) -> Vec<Option<(String, String)>> {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let continuation = line.starts_with("   ") && !line.trim_start().starts_with("result:");
        match lines.last_mut() {
            Some(last) if continuation => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => lines.push(line.to_string()),
        }
    }
    lines
        .iter()
        .map(|line| {
            let step = line.strip_prefix("  ")?;
            if step.starts_with(' ') || step.starts_with("result:") || step.starts_with("expanded:")
            {
                return None;
            }
            // The rule's label (and a matrix step's shape) sits after four spaces.
            let (equation, _label) = step.rsplit_once("    ")?;
            let equation = equation.split("    [").next().unwrap_or(equation);
            let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            let sides: Vec<&str> = equation.split(" = ").collect();
            Some((words(sides[0]), words(sides[sides.len() - 1])))
        })
        .collect()
}

/// Issue 22, item 17: a step that reads as the one before it (a flatten shown again, a fold
/// repeated) is not printed. Every example's derivation, in both styles, with its steps.
#[test]
fn no_printed_step_repeats_the_one_before_it() {
    for program in common::example_programs() {
        let path = program.to_str().unwrap();
        for style in ["chain", "backprop"] {
            let text = run(&["derive", path, "--all", "--style", style]);
            let steps = printed_steps(&text);
            assert!(
                steps.iter().flatten().count() > 0,
                "{path} ({style}): no steps read\n{text}"
            );
            for pair in steps.windows(2) {
                if let [Some(before), Some(after)] = pair {
                    assert!(
                        before != after,
                        "{path} ({style}): `{} = {}` printed twice",
                        after.0,
                        after.1
                    );
                }
            }
        }
    }
}

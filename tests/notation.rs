//! Notation and prose (issue 13, item 0): the direct partial told from the total derivative in
//! every format and read back by `check`, formulas that do not read as something else, headings
//! that name the program's own cost, and display forms checked when they are read.

mod common;

use assert_cmd::Command;
use chainrule::FormulaPrinter;
use chainrule::analysis::check::{self, Verdict};
use chainrule::core::diff::{self, Config, Style, Target};
use proptest::prelude::*;

fn chainrule() -> Command {
    Command::cargo_bin("chainrule").unwrap()
}

/// `chainrule ARGS` on a program given on standard input: exit code, stdout, stderr.
fn run(program: &str, args: &[&str]) -> (i32, String, String) {
    let out = chainrule()
        .args(args)
        .write_stdin(program.to_string())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn stdout(program: &str, args: &[&str]) -> String {
    let (code, out, err) = run(program, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// A cost that uses a weight directly and through the loss: the direct partial ∂C/∂w1 (the
/// regulariser's) differs from the total.
const REGULARISED: &str = "input x\ntarget y\nparam w1, b1\nz = w1*x + b1\na = sigmoid(z)\n\
                           C0 = (y - a)^2\ncost C = C0 + 0.01*w1^2\n";

/// The output name used in the cost beside the intermediate it names: `Etotal`'s formula
/// mentions `h5` directly and through `f`.
const OUTPUT_IN_COST: &str = "input x\ntarget y\nparam w, b\nh5 = w*x + b\noutput f = h5\n\
                              cost Etotal = f*(h5 - y)^2\n";

#[test]
fn a_direct_partial_is_marked_so_no_result_reads_as_circular() {
    for style in ["chain", "backprop"] {
        let text = stdout(
            REGULARISED,
            &["derive", "-", "--wrt", "w1", "--style", style],
        );
        // The sum over the names that use w1 ends in the regulariser's direct partial, not in
        // the total derivative it is defining.
        assert!(
            text.lines().any(|l| l.trim_start().starts_with("∂C/∂w1 = ")
                && l.contains("∂z/∂w1 + (∂C/∂w1)_direct")),
            "{style}:\n{text}"
        );
        for line in text.lines() {
            let line = line.trim_start();
            if let Some(rhs) = line.strip_prefix("∂C/∂w1 = ") {
                assert!(
                    !rhs.replace("(∂C/∂w1)_direct", "").contains("∂C/∂w1"),
                    "{style}: circular: {line}"
                );
            }
        }
        // Its own derivation is labelled direct too.
        assert!(
            text.contains("(∂C/∂w1)_direct = (∂/∂w1 (C0 + 0.01w1^2))_direct = "),
            "{style}:\n{text}"
        );
        assert!(text.contains("result:    ∂C/∂w1 = 0.02w1 − 2(y − a)·a(1 − a)·x"));
    }
}

#[test]
fn the_notation_is_explained_once_in_every_format() {
    let cases = [
        (
            "text",
            "note: (∂C/∂w1)_direct is a direct partial derivative",
        ),
        (
            "markdown",
            "*Notation:* $\\left(\\frac{\\partial C}{\\partial w_{1}}\\right)_{\\mathrm{direct}}$ is a direct partial derivative",
        ),
        (
            "latex",
            "\\emph{Notation:} $\\left(\\frac{\\partial C}{\\partial w_{1}}\\right)_{\\mathrm{direct}}$ is a direct partial derivative",
        ),
    ];
    for (format, note) in cases {
        let out = stdout(
            REGULARISED,
            &[
                "derive", "-", "--all", "--style", "backprop", "--format", format,
            ],
        );
        assert_eq!(out.matches(note).count(), 1, "{format}:\n{out}");
        assert_eq!(
            out.matches("is a direct partial derivative").count(),
            1,
            "{format}"
        );
        // Explained before (or where) it is first used.
        let first_use = out.find("direct").unwrap();
        assert!(out.find(note).unwrap() <= first_use, "{format}:\n{out}");
    }
    // Where the direct partial and the total are the same, nothing changes.
    for format in ["text", "markdown", "latex", "json"] {
        let seed = stdout("", &["derive", "--all", "--format", format]);
        assert!(!seed.contains("direct"), "{format}:\n{seed}");
    }
}

/// Every step derive prints is an equality chain; `check` reads each link back (in the plain
/// form JSON gives) and finds it an identity, the direct partials included.
#[test]
fn every_step_reads_back_in_check_as_correct() {
    for program in [REGULARISED, OUTPUT_IN_COST] {
        for style in ["chain", "backprop"] {
            let json = stdout(
                program,
                &["derive", "-", "--all", "--style", style, "--format", "json"],
            );
            let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
            let mut claims = Vec::new();
            let steps = doc["derivatives"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|d| d["steps"].as_array().unwrap().iter())
                .chain(
                    doc["terms"]
                        .as_array()
                        .into_iter()
                        .flat_map(|terms| terms.iter())
                        .flat_map(|t| t["steps"].as_array().unwrap().iter()),
                )
                .chain(
                    doc["shared_steps"]
                        .as_array()
                        .into_iter()
                        .flat_map(|s| s.iter()),
                );
            // The plain form JSON's `text` gives, and the LaTeX the documents print.
            for step in steps {
                for form in ["text", "latex"] {
                    let written = step[form].as_str().unwrap();
                    let mut parts = written.split(" = ");
                    let lhs = parts.next().unwrap();
                    claims.extend(parts.map(|rhs| format!("{lhs} = {rhs}")));
                }
            }
            assert!(
                claims.iter().any(|c| c.contains(")_direct")),
                "{style}: {claims:?}"
            );
            assert!(
                claims
                    .iter()
                    .any(|c| c.contains("\\right)_{\\mathrm{direct}}")),
                "{style}: {claims:?}"
            );
            let dir = tempfile::tempdir().unwrap();
            let program_path = dir.path().join("net.bp");
            let claims_path = dir.path().join("claims.txt");
            std::fs::write(&program_path, program).unwrap();
            std::fs::write(&claims_path, claims.join("\n") + "\n").unwrap();
            let out = chainrule()
                .args(["check", program_path.to_str().unwrap(), "--claims"])
                .arg(&claims_path)
                .output()
                .unwrap();
            let report = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{style}:\n{report}");
            assert!(report.contains(&format!("{} correct, 0 incorrect", claims.len())));
        }
    }
}

#[test]
fn check_tells_the_direct_partial_from_the_total() {
    let (code, out, _) = run(
        REGULARISED,
        &[
            "check",
            "-",
            "--claim",
            "(dC/dw1)_direct = 0.02*w1",
            "--claim",
            "(∂/∂w1 (C0 + 0.01w1^2))_direct = 0.02w1",
            "--claim",
            "dC/dw1 = dC/dC0*dC0/da*da/dz*dz/dw1 + (dC/dw1)_direct",
            "--claim",
            "dC/dw1 = 0.02*w1",
            "--claim",
            "d/dw1(C0 + 0.01*w1^2) = 0.02*w1",
        ],
    );
    assert_eq!(code, 1);
    assert!(out.contains("3 correct, 2 incorrect"), "{out}");
    let verdicts: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| ["CORRECT", "INCORRECT"].contains(w))
        .collect();
    assert_eq!(
        verdicts,
        ["CORRECT", "CORRECT", "CORRECT", "INCORRECT", "INCORRECT"]
    );
}

#[test]
fn an_output_name_before_a_parenthesis_is_not_read_as_a_call() {
    for format in ["latex", "markdown"] {
        let out = stdout(
            OUTPUT_IN_COST,
            &["derive", "-", "--wrt", "w", "--format", format],
        );
        assert!(out.contains("2f \\cdot (h_{5} - y)"), "{format}:\n{out}");
        assert!(!out.contains("f(h_{5}"), "{format}:\n{out}");
    }
    let text = stdout(OUTPUT_IN_COST, &["derive", "-", "--wrt", "w"]);
    assert!(
        text.contains("2f·(h5 − y)") && !text.contains("f(h5"),
        "{text}"
    );
}

#[test]
fn the_error_terms_heading_names_the_programs_cost() {
    let mazur = std::fs::read_to_string("examples/mazur_2_2_2.bp").unwrap();
    let cases = [
        (
            "text",
            "Error terms δ = ∂Etotal/∂z, from the output backwards",
        ),
        (
            "markdown",
            "## Error terms $\\delta = \\partial \\mathit{Etotal} / \\partial z$",
        ),
        (
            "latex",
            "\\subsection*{Error terms $\\delta = \\partial \\mathit{Etotal} / \\partial z$}",
        ),
    ];
    for (format, heading) in cases {
        let out = stdout(
            &mazur,
            &[
                "derive", "-", "--wrt", "w1", "--style", "backprop", "--format", format,
            ],
        );
        assert!(out.contains(heading), "{format}:\n{out}");
        assert!(
            !out.contains("∂C/∂z") && !out.contains("\\partial C /"),
            "{format}"
        );
    }
}

#[test]
fn a_display_form_that_would_break_a_format_is_an_error_with_a_caret() {
    let cases = [
        (
            "param w3 as \"w_{3\"",
            "unbalanced brace in a display form: this `{` is never closed",
            "2:16",
            "               ^ opened here",
        ),
        (
            "param w3 as \"w_3}\"",
            "unbalanced brace in a display form: this `}` closes nothing",
            "2:17",
            "                ^ no `{` before it",
        ),
        (
            "param w3\nshow x as \"$x$\"",
            "`$` in a display form would end the math",
            "3:12",
            "           ^ breaks the LaTeX and Markdown output",
        ),
        (
            "param w3 as \"w_{1}_{2}\"",
            "a second subscript on the same symbol",
            "2:19",
            "                  ^ TeX and KaTeX refuse a double script",
        ),
        (
            "param w3 as \"w^\"",
            "`^` needs a superscript after it",
            "2:15",
            "              ^ nothing follows",
        ),
        (
            "param w3 as \"\"",
            "an empty display form",
            "2:13",
            "            ^^ nothing to show",
        ),
    ];
    for (declaration, message, place, caret) in cases {
        let program = format!("input x\n{declaration}\ncost C = w3*x\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.bp");
        // No extension: the format is `--format`'s alone.
        let out_path = dir.path().join("out");
        std::fs::write(&path, &program).unwrap();
        for format in ["text", "latex", "markdown", "json", "html"] {
            let out = chainrule()
                .args([
                    "derive",
                    path.to_str().unwrap(),
                    "--all",
                    "--format",
                    format,
                ])
                .arg("-o")
                .arg(&out_path)
                .args(["--color", "never"])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{declaration}: {stderr}");
            assert!(out.stdout.is_empty());
            assert!(!out_path.exists(), "{declaration}: partial output");
            assert!(stderr.contains(&format!("error: {message}")), "{stderr}");
            assert!(stderr.contains(&format!("net.bp:{place}")), "{stderr}");
            assert!(
                stderr.lines().any(|l| l.ends_with(caret.trim_start())
                    && l.trim_start_matches(['|', ' ']).len() >= caret.trim_start().len()),
                "{declaration}:\n{stderr}"
            );
        }
    }
}

/// Everything outside `$…$` math and code spans of a Markdown or LaTeX line: the prose.
fn prose_of(line: &str) -> String {
    let mut out = String::new();
    for (i, part) in line.split('$').enumerate() {
        if i % 2 == 0 {
            out.extend(part.split('`').step_by(2));
        }
    }
    out
}

#[test]
fn check_prose_typesets_names_minus_signs_and_powers_of_ten_beside_typeset_formulas() {
    let at = "x1=1,x2=2,y1=1,w2_1_1=0.1,w2_1_2=-0.2,b2_1=0.3,w2_2_1=0.1,w2_2_2=0.1,b2_2=0.1,\
              w2_3_1=0.2,w2_3_2=0.1,b2_3=0,w3_1_1=30,w3_1_2=1,w3_1_3=1,b3_1=2,eta=0.5";
    let program = std::fs::read_to_string("examples/network_2_3_1.bp").unwrap();
    let args = |format: &'static str| {
        vec![
            "check",
            "-",
            "--claim",
            "dC/dw2_1_1 = 2*(a3_1 - y1)*a3_1*(1-a3_1)*w3_1_1*x1",
            "--claim",
            "w2_1_1' = w2_1_1 + eta*dC/dw2_1_1",
            "--at",
            at,
            "--format",
            format,
        ]
    };
    for format in ["markdown", "latex"] {
        let (code, out, err) = run(&program, &args(format));
        assert_eq!(code, 1, "{err}");
        // Names by their display forms, a real minus sign and ×10ⁿ, inside math.
        assert!(out.contains("$w^{(2)}_{12} = -0.2$"), "{format}:\n{out}");
        assert!(
            out.contains("$-9.37804 \\times 10^{-15}$"),
            "{format}:\n{out}"
        );
        assert!(out.contains("$\\eta = 0.5$"), "{format}:\n{out}");
        assert!(
            out.contains(
                "$w^{(2)}_{11} + \\eta \\frac{\\partial C}{\\partial w^{(2)}_{11}}$ moves uphill"
            ),
            "{format}:\n{out}"
        );
        for line in out
            .lines()
            .filter(|l| l.starts_with("At ") || l.contains("Likeliest"))
        {
            let prose = prose_of(line);
            for raw in ["w2_1", "w2\\_1", "e-15", "eta", "= -", "∂C"] {
                assert!(!prose.contains(raw), "{format}: {raw:?} in prose: {line}");
            }
        }
    }
    // The terminal keeps the program's own names and the digits as typed.
    let (_, text, _) = run(&program, &args("text"));
    assert!(text.contains("w2_1_2 = -0.2"), "{text}");
    assert!(text.contains("the claim gives -9.37804e-15"), "{text}");
    assert!(
        text.contains("w2_1_1 + η·∂C/∂w2_1_1 moves uphill"),
        "{text}"
    );
    // JSON's diagnosis is the terminal's sentence: no markup, no private characters.
    let (_, json, _) = run(&program, &args("json"));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let diagnosis = doc["claims"][1]["diagnosis"].as_str().unwrap();
    assert!(
        diagnosis.starts_with("Gradient ascent written for descent: w2_1_1 + η·∂C/∂w2_1_1"),
        "{diagnosis}"
    );
    assert!(!diagnosis.contains(['$', '\u{E000}', '\u{E001}', '\u{E002}']));
}

/// The prose of a Markdown or LaTeX document: outside `$$…$$`, `$…$`, `\[…\]` and code spans.
fn document_prose(doc: &str) -> String {
    let mut out = String::new();
    for (i, outside_display) in doc.split("$$").enumerate() {
        if i % 2 == 1 {
            continue;
        }
        for (j, block) in outside_display.split("\\[").enumerate() {
            let block = if j == 0 {
                block
            } else {
                block.split_once("\\]").map_or("", |(_, rest)| rest)
            };
            out.push_str(&prose_of(block));
        }
    }
    out
}

#[test]
fn the_layers_documents_write_their_prose_as_prose_and_their_tags_in_math() {
    for example in [
        "examples/network_2_3_1.bp",
        "examples/softmax_classifier.bp",
    ] {
        let program = std::fs::read_to_string(example).unwrap();
        let md = stdout(
            &program,
            &["derive", "-", "--layers", "--format", "markdown"],
        );
        let prose = document_prose(&md);
        // No ASCII pseudo-TeX (`a^(1) = x`, `w^(l)\_jk`) and no bare script outside math.
        for pseudo in ["^(", "\\_jk", "^L", "_j ", "ˆ"] {
            assert!(
                !prose.contains(pseudo),
                "{example}: {pseudo:?} in Markdown prose"
            );
        }
        assert!(
            md.contains("so $z^{(l)} = W^{(l)} a^{(l-1)} + b^{(l)}$"),
            "{example}:\n{md}"
        );
        let tex = stdout(&program, &["derive", "-", "--layers", "--format", "latex"]);
        let tags: Vec<&str> = tex
            .match_indices("\\tag*{\\textit{")
            .map(|(i, _)| &tex[i..tex[i..].find('\n').map_or(tex.len(), |e| i + e)])
            .collect();
        assert!(!tags.is_empty(), "{example}");
        for tag in tags {
            // A caret or subscript in a tag is inside math, or pdflatex prints `zˆL_j`.
            let outside: String = prose_of(tag);
            assert!(
                !outside.contains('^') && !outside.replace("\\_", "").contains('_'),
                "{example}: {tag}"
            );
        }
        assert!(!tex.contains('ˆ'), "{example}");
    }
}

#[test]
fn direct_marks_only_a_derivative_in_latex_claims() {
    let (code, _, err) = run(
        REGULARISED,
        &[
            "check",
            "-",
            "--claim",
            "(x)_{\\mathrm{direct}} = 1",
            "--color",
            "never",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("only a derivative can be direct"), "{err}");
    assert!(err.contains("--claim:1:4"), "{err}");
    let (code, out, err) = run(
        REGULARISED,
        &[
            "check",
            "-",
            "--claim",
            "\\left(\\frac{\\partial C}{\\partial w_{1}}\\right)_{\\mathrm{direct}} = 0.02 w_{1}",
            "--claim",
            "\\frac{\\partial C}{\\partial w_{1}} = 0.02 w_{1}",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("1 correct, 1 incorrect"), "{out}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Over random programs (names used directly and through others alike), every link of
    /// every step derive writes, read back as a claim in the plain form JSON gives, is an
    /// identity: a direct partial is never written where the total is meant, nor the reverse.
    #[test]
    fn every_step_of_a_random_program_is_an_identity(
        program in common::program(),
        backprop in any::<bool>(),
        direct in any::<bool>(),
    ) {
        // Half the programs also use the parameters in the cost directly, beside a name that
        // depends on one of them too (a regulariser, a skip connection): there the direct and
        // total partials differ.
        let source = if direct {
            let last = program.lines().filter(|l| l.starts_with('h')).count() - 1;
            program.replace(
                "\ncost C = ",
                &format!(
                    "\nhd = p1*x1 + h{last}\ncost C = 0.01*(p1^2 + p2^2 + p3^2) + p1*hd + "
                ),
            )
        } else {
            program
        };
        let mut model = common::load(&source);
        let targets: Vec<Target> = model.params().map(|p| Target { of: model.cost, wrt: p }).collect();
        let config = Config {
            steps: true,
            style: if backprop { Style::Backprop } else { Style::Chain },
            ..Config::default()
        };
        let derivations = diff::derive(&mut model, &targets, &config);
        let printer = FormulaPrinter::new(&model.graph, &model.symbols);
        let steps = derivations
            .terms
            .iter()
            .flat_map(|t| t.steps.iter())
            .chain(derivations.shared_steps.iter())
            .chain(derivations.derivations.iter().flat_map(|d| d.steps.iter()));
        let mut claims = Vec::new();
        for step in steps {
            let lhs = printer.plain(step.lhs);
            for &rhs in &step.rhs {
                claims.push(format!("{lhs} = {}", printer.plain(rhs)));
            }
        }
        let checked = check::check(&check::with_learning_rate(&model), &claims, &[])
            .unwrap_or_else(|e| panic!("{source}\n{}", e.diagnostic.message));
        if direct {
            prop_assert!(claims.iter().any(|c| c.contains(")_direct")), "{source}");
        }
        for c in checked {
            prop_assert!(c.verdict != Verdict::Incorrect, "{source}\n{}\n{c:?}", c.claim);
        }
    }
}

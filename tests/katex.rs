//! Every formula chainrule prints renders with KaTeX's default settings (its limits included:
//! 1000 macro expansions a formula): for `examples/`, the Markdown and LaTeX of `derive --all`
//! in both styles, `derive --layers`, `check`, `step` and `train`; for generated shorthand
//! networks of several shapes, every command with formulas in both styles, with and without
//! `--expand`, and 784-30-10's largest cases. Each `$…$`, `$$…$$`, `\[…\]` and `align*` is
//! given to KaTeX (npm `katex`, installed by .ci/run into `target/npm`) with `throwOnError`.
//! Under CI (any `CI` value but empty, `false` or `0`) a missing node or KaTeX fails the test; elsewhere it is skipped with a note.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn chainrule() -> Command {
    Command::cargo_bin("chainrule").expect("the binary builds")
}

fn katex() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/npm/node_modules/katex");
    let found = path.join("dist/katex.js").exists() && common::tools::runs("node");
    common::tools::available(
        "node or KaTeX",
        found,
        "`npm install --prefix target/npm katex`",
    )
    .then_some(path)
}

#[test]
fn every_formula_for_the_examples_renders_in_katex() {
    let Some(katex) = katex() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut runs: Vec<Vec<String>> = Vec::new();
    let examples = common::example_programs();
    for example in &examples {
        let file = example.display().to_string();
        // 784-30-10's --all is 23,860 derivations: its layered form stands for it.
        if !file.contains("mnist") {
            for style in ["chain", "backprop"] {
                runs.push(
                    ["derive", &file, "--all", "--style", style]
                        .map(String::from)
                        .to_vec(),
                );
            }
        }
        runs.push(["derive", &file, "--layers"].map(String::from).to_vec());
    }
    let at = "x=1,y=0,w2=0.5,b2=0.1,w3=1,b3=0";
    for args in [
        vec![
            "check",
            "--claim",
            "dC/dw3 = -2(y - a3)*a3*(1 - a3)",
            "--claim",
            "w3' = w3 + eta*dC/dw3",
        ],
        vec!["step", "--at", at, "--lr", "0.5", "--steps", "2"],
        vec!["train", "examples/seed_training.bp", "--epochs", "50"],
        vec![
            "train",
            "examples/seed_training.bp",
            "--epochs",
            "50",
            "--ascent",
        ],
    ] {
        runs.push(args.into_iter().map(String::from).collect());
    }
    let mut files = Vec::new();
    for (i, args) in runs.iter().enumerate() {
        for (format, extension) in [("markdown", "md"), ("latex", "tex")] {
            let out = chainrule()
                .args(args)
                .args(["--format", format])
                .output()
                .unwrap();
            // `--layers` on a straight-line program is refused (exit 2): nothing to render.
            if out.status.code() == Some(2) {
                continue;
            }
            let path = dir.path().join(format!("{i}.{extension}"));
            std::fs::write(&path, &out.stdout).unwrap();
            files.push(path);
        }
    }
    let total = render_all(&katex, &files);
    assert!(total > 2000, "only {total} formulas found");
}

/// Shorthand networks of several shapes, every command and style, Markdown and LaTeX.
#[test]
fn every_formula_for_generated_networks_renders_in_katex() {
    let Some(katex) = katex() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut refused = 0;
    for run in common::typeset::runs(dir.path()) {
        for (format, extension) in [("markdown", "md"), ("latex", "tex")] {
            let out = chainrule()
                .args(&run.args)
                .args(["--format", format])
                .output()
                .unwrap();
            let code = out.status.code();
            if run.may_refuse && code == Some(2) {
                refused += 1;
                continue;
            }
            // `check` exits 1 when a claim is wrong; its worksheet is written all the same.
            assert!(
                matches!(code, Some(0 | 1)),
                "{}: {}",
                run.name,
                String::from_utf8_lossy(&out.stderr)
            );
            let path = dir.path().join(format!("{}.{extension}", run.name));
            std::fs::write(&path, &out.stdout).unwrap();
            files.push(path);
        }
    }
    // `--expand` is refused only where its result would be too large to print.
    assert!(refused <= 4, "{refused} --expand runs refused");
    let total = render_all(&katex, &files);
    assert!(total > 5000, "only {total} formulas found");
}

/// Renders every formula of the documents; fails naming each that KaTeX refuses. Returns how
/// many formulas were rendered.
fn render_all(katex: &Path, files: &[PathBuf]) -> u64 {
    let out = std::process::Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/katex_check.js"))
        .args(files)
        .env("KATEX_PATH", katex)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total = report["total"].as_u64().unwrap();
    assert_eq!(
        report["failed"],
        serde_json::json!([]),
        "of {total} formulas"
    );
    total
}

//! Every `--standalone` LaTeX document compiles with pdflatex, with no error and no line
//! wider than the page by more than 20 pt ("Overfull \hbox (X pt too wide)" in the log): for
//! `examples/` (`derive --all` in both styles, with and without `--expand`, `--layers`) and
//! for generated shorthand networks (every command with formulas, see `common::typeset`).
//! CI installs pdflatex (`.ci/run`); under CI a missing pdflatex fails the test,
//! elsewhere it is skipped with a note.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// How far past the margin a line may run, in points.
const OVERFULL_LIMIT: f64 = 20.0;

fn chainrule() -> Command {
    Command::cargo_bin("chainrule").expect("the binary builds")
}

/// The widest overfull line of a pdflatex log, in points (0 when there is none).
fn widest_overfull(log: &str) -> f64 {
    log.lines()
        .filter_map(|l| l.strip_prefix("Overfull \\hbox ("))
        .filter_map(|rest| rest.split("pt too wide").next())
        .filter_map(|pt| pt.parse::<f64>().ok())
        .fold(0.0, f64::max)
}

/// Compiles each document (two at a time); returns the failures.
fn compile_all(dir: &Path, documents: &[PathBuf]) -> Vec<String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(tex) = documents.get(i) else { break };
                    let out = std::process::Command::new("pdflatex")
                        .args(["-interaction=nonstopmode", "-halt-on-error"])
                        .arg(tex)
                        .current_dir(dir)
                        .output()
                        .unwrap();
                    let name = tex.file_stem().unwrap().to_string_lossy().to_string();
                    let log = std::fs::read_to_string(dir.join(format!("{name}.log")))
                        .unwrap_or_default();
                    let problem = if !out.status.success() {
                        let error: Vec<&str> = log
                            .lines()
                            .skip_while(|l| !l.starts_with('!'))
                            .take(4)
                            .collect();
                        Some(format!("{name}: pdflatex failed: {}", error.join(" | ")))
                    } else {
                        let widest = widest_overfull(&log);
                        (widest > OVERFULL_LIMIT)
                            .then(|| format!("{name}: a line {widest} pt past the margin"))
                    };
                    if let Some(problem) = problem {
                        failures.lock().unwrap().push(problem);
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// Writes `args … --format latex --standalone -o DIR/NAME.tex`; None when `--expand` refused.
fn standalone(dir: &Path, name: &str, args: &[String], may_refuse: bool) -> Option<PathBuf> {
    let tex = dir.join(format!("{name}.tex"));
    let out = chainrule()
        .args(args)
        .args(["--format", "latex", "--standalone", "-o"])
        .arg(&tex)
        .output()
        .unwrap();
    let code = out.status.code();
    if may_refuse && code == Some(2) {
        return None;
    }
    // `check` exits 1 when a claim is wrong; the document is written all the same.
    assert!(
        matches!(code, Some(0 | 1)),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(tex)
}

#[test]
fn every_standalone_document_compiles_within_the_margins() {
    if common::tools::pdflatex_available() {
        every_standalone_document_within_the_margins();
    }
}

fn every_standalone_document_within_the_margins() {
    let dir = tempfile::tempdir().unwrap();
    let mut documents = Vec::new();
    let examples = common::example_programs();
    for example in &examples {
        let file = example.display().to_string();
        let stem = example.file_stem().unwrap().to_string_lossy().to_string();
        // 784-30-10's --all is 23,860 derivations: its two largest cases are in the runs below.
        if !stem.contains("mnist") {
            for style in ["chain", "backprop"] {
                for expand in [false, true] {
                    let mut args = vec!["derive", &file, "--all", "--style", style];
                    if expand {
                        args.push("--expand");
                    }
                    let args: Vec<String> = args.into_iter().map(String::from).collect();
                    let name = format!("{stem}_{style}{}", if expand { "_expand" } else { "" });
                    documents.extend(standalone(dir.path(), &name, &args, expand));
                }
            }
        }
        let layers = ["derive", &file, "--layers"].map(String::from);
        // `--layers` needs a `network` shorthand; a straight-line program is refused.
        documents.extend(standalone(
            dir.path(),
            &format!("{stem}_layers"),
            &layers,
            true,
        ));
    }
    for run in common::typeset::runs(dir.path()) {
        documents.extend(standalone(dir.path(), &run.name, &run.args, run.may_refuse));
    }
    assert!(documents.len() > 60, "only {} documents", documents.len());
    let failures = compile_all(dir.path(), &documents);
    assert!(
        failures.is_empty(),
        "{} of {} documents:\n{}",
        failures.len(),
        documents.len(),
        failures.join("\n")
    );
}

#[test]
fn overfull_lines_are_read_from_the_log() {
    let log = "Overfull \\hbox (3.1pt too wide) in paragraph\n\
               Overfull \\hbox (25.5pt too wide) detected at line 7\n\
               Underfull \\hbox (badness 10000)\n";
    assert_eq!(widest_overfull(log), 25.5);
    assert_eq!(widest_overfull("nothing"), 0.0);
}

//! Flags and files that do what they say: a command offers the formats it has and no other,
//! `-o`'s extension decides the format or is refused when it disagrees, every template that
//! words a command's output is read from `--template-dir` and named in its `--help`, and
//! `--at` takes an intermediate where the help says so and refuses it elsewhere.

mod common;

use common::run;

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn chainrule(args: &[&str]) -> Ran {
    let out = run(args, None);
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

const SEED_TRAINING: &str = "examples/seed_training.bp";
const SEED_POINT: &str = "x=1,y=0.5,w2=0.5,b2=0.5,w3=0.5,b3=0.5";

#[test]
fn graph_refuses_a_format_it_does_not_have_and_its_help_names_its_own() {
    for format in ["json", "text", "latex", "markdown"] {
        let ran = chainrule(&["graph", "--format", format]);
        assert_eq!(ran.code, 2, "--format {format}: {}", ran.stdout);
        assert!(ran.stdout.is_empty(), "{}", ran.stdout);
        assert!(
            ran.stderr.contains("[possible values: svg, html]"),
            "{}",
            ran.stderr
        );
    }
    let help = chainrule(&["graph", "--help"]).stdout;
    let line = help
        .lines()
        .find(|l| l.trim_start().starts_with("--format"))
        .unwrap();
    assert!(line.contains("svg, html"), "{line}");
    assert!(!line.contains("default: text"), "{line}");
    // Its default is the picture; html the page.
    assert!(chainrule(&["graph"]).stdout.starts_with("<svg"));
    assert!(
        chainrule(&["graph", "--format", "html"])
            .stdout
            .starts_with("<!DOCTYPE html>")
    );
    // A document command has no picture.
    let ran = chainrule(&["derive", "--all", "--format", "svg"]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("invalid value 'svg'"), "{}", ran.stderr);
}

#[test]
fn a_file_whose_name_promises_a_format_chainrule_does_not_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("loss.png");
    let ran = chainrule(&["train", SEED_TRAINING, "--epochs", "3", "-o", s(&png)]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("cannot write a .png file"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("`svg` (.svg)"), "{}", ran.stderr);
    assert!(!png.exists());
    let pdf = dir.path().join("derive.pdf");
    let ran = chainrule(&["derive", "--all", "-o", s(&pdf)]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(!pdf.exists());
}

#[test]
fn the_extension_of_o_chooses_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    assert_eq!(
        chainrule(&["derive", "--wrt", "w3", "-o", &at("d.json")]).code,
        0
    );
    let json: serde_json::Value = serde_json::from_str(&read("d.json")).unwrap();
    assert_eq!(json["derivatives"][0]["target"], "dC/dw3");
    assert_eq!(
        chainrule(&["derive", "--wrt", "w3", "-o", &at("d.tex")]).code,
        0
    );
    assert!(read("d.tex").contains("\\frac{\\partial C}{\\partial w_{3}}"));
    assert_eq!(
        chainrule(&["derive", "--wrt", "w3", "-o", &at("d.html")]).code,
        0
    );
    assert!(read("d.html").starts_with("<!DOCTYPE html>"));
    // A name that says nothing of a format gets the default.
    assert_eq!(
        chainrule(&["derive", "--wrt", "w3", "-o", &at("d.out")]).code,
        0
    );
    assert!(read("d.out").starts_with("Derivatives of"));
    // train: the curve for .svg, the report for .md.
    let args = ["train", SEED_TRAINING, "--epochs", "3", "-o"];
    assert_eq!(chainrule(&[&args[..], &[&at("loss.svg")]].concat()).code, 0);
    assert!(read("loss.svg").starts_with("<svg"));
    assert_eq!(
        chainrule(&[&args[..], &[&at("report.md")]].concat()).code,
        0
    );
    assert!(read("report.md").starts_with("# "), "{}", read("report.md"));
    // graph: the page for .html.
    assert_eq!(chainrule(&["graph", "-o", &at("g.html")]).code, 0);
    assert!(read("g.html").starts_with("<!DOCTYPE html>"));
}

#[test]
fn a_format_that_disagrees_with_the_extension_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.json");
    let ran = chainrule(&["derive", "--all", "--format", "text", "-o", s(&out)]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("`--format text` and `-o") && ran.stderr.contains("disagree"),
        "{}",
        ran.stderr
    );
    assert!(!out.exists());
    let svg = dir.path().join("g.svg");
    let ran = chainrule(&["graph", "--format", "html", "-o", s(&svg)]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(!svg.exists());
    // A graph has no text form, whatever the file is called.
    let txt = dir.path().join("g.txt");
    let ran = chainrule(&["graph", "-o", s(&txt)]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("`graph` has no text output"),
        "{}",
        ran.stderr
    );
}

/// The templates a command renders, as its `--help` lists them.
fn listed_templates(command: &str) -> String {
    let help = chainrule(&[command, "--help"]).stdout;
    help.lines()
        .skip_while(|l| !l.contains("--template-dir"))
        .take_while(|l| !l.trim_start().starts_with("--standalone"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_template_named_after_a_command_is_listed_in_its_help() {
    for command in ["derive", "eval", "check", "step", "train"] {
        let listed = listed_templates(command);
        let templates = std::fs::read_dir("templates").unwrap();
        for entry in templates {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let stem = name.split('.').next().unwrap();
            if stem == command || stem.starts_with(&format!("{command}_")) {
                assert!(
                    listed.contains(&format!("`{name}`")),
                    "`{command} --help` does not list {name}: {listed}"
                );
            }
        }
    }
    assert!(listed_templates("check").contains("`mistake.txt`"));
    assert!(listed_templates("check").contains("`method.txt`"));
    assert!(listed_templates("derive").contains("`rule.txt`"));
}

#[test]
fn a_rule_txt_and_a_method_txt_of_ones_own_reword_the_rules_and_methods() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rule.txt"), "RULE << r.code >>").unwrap();
    std::fs::write(dir.path().join("method.txt"), "HOW << m.code >>").unwrap();
    let derive = ["derive", "--wrt", "w3", "--template-dir", s(dir.path())];
    let ran = chainrule(&derive);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("RULE chain"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("RULE simplify-flatten"),
        "{}",
        ran.stdout
    );
    let plain = chainrule(&derive[..3]);
    assert!(plain.stdout.contains("chain rule"), "{}", plain.stdout);
    assert!(!plain.stdout.contains("RULE "), "{}", plain.stdout);
    // The codes stay in the JSON whatever the words.
    let json = chainrule(&[&derive[..], &["--format", "json"]].concat());
    assert!(
        json.stdout.contains("\"rule\": \"chain\""),
        "{}",
        json.stdout
    );
    let claim = "dC/dw3 = 2(y - a3)*a3(1 - a3)*a2";
    let ran = chainrule(&["check", "--claim", claim, "--template-dir", s(dir.path())]);
    assert!(
        ran.stdout.contains("(HOW counterexample)"),
        "{}",
        ran.stdout
    );
}

#[test]
fn a_mistake_txt_of_ones_own_rewords_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mistake.txt"),
        "In my words: << m.variant >>, claimed << m.claimed | default(value=\"?\") >>.",
    )
    .unwrap();
    let claim = "dC/dw3 = 2(y - a3)*a3(1 - a3)*a2";
    let ran = chainrule(&["check", "--claim", claim, "--template-dir", s(dir.path())]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stdout.contains("In my words: "), "{}", ran.stdout);
    let plain = chainrule(&["check", "--claim", claim]);
    assert!(!plain.stdout.contains("In my words"), "{}", plain.stdout);
}

#[test]
fn a_step_words_txt_of_ones_own_rewords_step() {
    let dir = tempfile::tempdir().unwrap();
    let builtin = std::fs::read_to_string("templates/step_words.txt").unwrap();
    let mine = builtin.replace(
        "the cost rose in step",
        "MY WORDS: the cost went up in step",
    );
    assert_ne!(builtin, mine);
    std::fs::write(dir.path().join("step_words.txt"), mine).unwrap();
    // η = 30 overshoots on the seed network from here.
    let at = SEED_POINT;
    let args = ["step", "--at", at, "--lr", "30"];
    let plain = chainrule(&args);
    assert!(
        plain.stdout.contains("the cost rose in step"),
        "{}",
        plain.stdout
    );
    let ran = chainrule(&[&args[..], &["--template-dir", s(dir.path())]].concat());
    assert!(
        ran.stdout.contains("MY WORDS: the cost went up"),
        "{}",
        ran.stdout
    );
}

#[test]
fn an_intermediate_in_at_cuts_the_graph_in_eval_and_is_refused_by_values_and_step() {
    // eval: a2 = 0.3 is used as given, so C = (y − a3)² follows from it.
    let ran = chainrule(&[
        "eval",
        "--at",
        "x=1,y=0,w2=0.5,b2=0.5,w3=1,b3=0,a2=0.3",
        "--format",
        "json",
    ]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let json: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let a3 = 1.0 / (1.0 + (-0.3f64).exp());
    assert!(
        (json["cost"].as_f64().unwrap() - a3 * a3).abs() < 1e-12,
        "{json}"
    );
    for args in [
        vec!["values", "--at", "a2=0.3"],
        vec![
            "step",
            "--at",
            "x=1,y=0,w2=0.5,b2=0.5,w3=1,b3=0,a2=0.3",
            "--lr",
            "0.1",
        ],
    ] {
        let ran = chainrule(&args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stdout);
        assert!(ran.stdout.is_empty());
        assert!(
            ran.stderr
                .contains("`a2` is an intermediate, not a starting value"),
            "{}",
            ran.stderr
        );
    }
    // Each command's help says which it does.
    let help_of = |command: &str| {
        let help = chainrule(&[command, "--help"]).stdout;
        help.lines()
            .find(|l| l.trim_start().starts_with("--at"))
            .unwrap()
            .to_string()
    };
    assert!(
        help_of("eval").contains("cuts the graph"),
        "{}",
        help_of("eval")
    );
    for command in ["step", "values"] {
        let line = help_of(command);
        assert!(line.contains("is refused"), "{line}");
        assert!(!line.contains("cuts the graph"), "{line}");
    }
}

#[test]
fn a_softmax_over_one_neuron_is_warned_about() {
    let one = "network 2-3-1\nactivation 3 softmax\n";
    let out = run(&["derive", "-", "--wrt", "b3_1", "--no-steps"], Some(one));
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("warning: the softmax of layer 3 has one neuron"),
        "{stderr}"
    );
    assert!(stderr.contains("<stdin>:1:1"), "{stderr}");
    // It is right: the gradient vanishes.
    assert!(String::from_utf8_lossy(&out.stdout).contains("∂C/∂b3_1 = 0"));
    let two = "network 2-3-2\nactivation 3 softmax\n";
    let out = run(&["derive", "-", "--wrt", "b3_1", "--no-steps"], Some(two));
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

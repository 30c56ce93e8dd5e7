//! Issue 11's reproducers, each asserting the exit code, the message and that no input was
//! touched; the atomic write with a writer that fails midway; and a bounded run of the fuzz
//! targets (`fuzz/src/harness.rs`) over generated and mutated inputs, through the library and,
//! for a sample, through the binary. Issue 23's reproducers (devices, FIFOs, links, read-only
//! and foreign files, standard input, signals, escapes in file names, memory limits, TeX in
//! display forms, and its "clear words") follow at the end; the devices, FIFOs and links are
//! made in temporary directories, never on the machine's own `/dev`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

#[path = "../fuzz/src/harness.rs"]
mod harness;
#[path = "../src/cli/output.rs"]
#[allow(dead_code)]
mod output;

const BIN: &str = env!("CARGO_BIN_EXE_chainrule");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_with(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("the binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    let _ = input.write_all(stdin);
    drop(input);
    let out = child.wait_with_output().expect("the binary finishes");
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with(args, b"", &[])
}

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .expect("the example exists")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A refusal to write over an input: exit 2, the message, and every file as it was.
fn assert_refused(args: &[&str], files: &[(&Path, &str)]) {
    let out = run(args);
    assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
    assert!(
        out.stderr.contains("writing it would destroy the input"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("nothing was read or written"),
        "{}",
        out.stderr
    );
    for (path, content) in files {
        assert_eq!(&std::fs::read_to_string(path).unwrap(), content, "{path:?}");
    }
}

#[test]
fn output_onto_an_input_is_refused_through_any_path_or_link() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("in.bp");
    let source = example("seed.bp");
    std::fs::write(&program, &source).unwrap();
    let files = [(program.as_path(), source.as_str())];
    // The same path, written differently, absolute, through a symbolic and a hard link.
    assert_refused(&["derive", s(&program), "--all", "-o", s(&program)], &files);
    let dotted = dir.path().join(".").join("in.bp");
    assert_refused(&["derive", s(&program), "--all", "-o", s(&dotted)], &files);
    let symlink = dir.path().join("link.bp");
    std::os::unix::fs::symlink(&program, &symlink).unwrap();
    assert_refused(&["derive", s(&symlink), "--all", "-o", s(&program)], &files);
    assert_refused(&["derive", s(&program), "--all", "-o", s(&symlink)], &files);
    let hard = dir.path().join("hard.bp");
    std::fs::hard_link(&program, &hard).unwrap();
    assert_refused(&["expand", s(&program), "-o", s(&hard)], &files);
    let out = run(&["derive", s(&program), "--all", "-o", s(&hard)]);
    assert!(
        out.stderr.contains(&format!(
            "the output `{}` is the same file as the input `{}`",
            hard.display(),
            program.display()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn train_and_graph_refuse_an_output_onto_their_inputs_and_write_pages_whole() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("net.bp");
    let source = example("seed_training.bp");
    std::fs::write(&program, &source).unwrap();
    let csv = dir.path().join("data.csv");
    std::fs::write(&csv, "x,y\n1,0\n").unwrap();
    let files = [
        (program.as_path(), source.as_str()),
        (csv.as_path(), "x,y\n1,0\n"),
    ];
    let p = s(&program);
    assert_refused(&["train", p, "--data", s(&csv), "-o", s(&csv)], &files);
    assert_refused(&["train", p, "--epochs", "2", "-o", p], &files);
    assert_refused(&["graph", p, "--format", "html", "-o", p], &files);
    // An HTML page goes through the same writer: complete, and only the file asked for.
    let page = dir.path().join("page.html");
    let out = run(&["derive", p, "--all", "--format", "html", "-o", s(&page)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let written = std::fs::read_to_string(&page).unwrap();
    assert!(written.starts_with("<!DOCTYPE html>"), "{written}");
    assert!(written.trim_end().ends_with("</html>"), "{written}");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["data.csv", "net.bp", "page.html"]);
}

#[test]
fn output_onto_claims_values_or_templates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let claims = dir.path().join("c.txt");
    std::fs::write(&claims, "dC/dw3 = 0\n").unwrap();
    assert_refused(
        &["check", "--claims", s(&claims), "-o", s(&claims)],
        &[(&claims, "dC/dw3 = 0\n")],
    );
    let values = dir.path().join("v.txt");
    let point = "x=1\ny=0\nw2=0.5\nb2=0.1\nw3=-1\nb3=0.2\n";
    std::fs::write(&values, point).unwrap();
    assert_refused(
        &["eval", "--values", s(&values), "--all", "-o", s(&values)],
        &[(&values, point)],
    );
    assert_refused(
        &[
            "step",
            "--values",
            s(&values),
            "--lr",
            "0.1",
            "-o",
            s(&values),
        ],
        &[(&values, point)],
    );
    let template = dir.path().join("derive.txt");
    std::fs::write(&template, "<< source >>\n").unwrap();
    assert_refused(
        &[
            "derive",
            "--all",
            "--template-dir",
            s(dir.path()),
            "-o",
            s(&template),
        ],
        &[(&template, "<< source >>\n")],
    );
}

/// A writer that accepts `budget` bytes and then fails as a full disk does.
struct FullDisk<'f> {
    file: &'f mut std::fs::File,
    budget: usize,
}

impl Write for FullDisk<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.budget == 0 {
            return Err(std::io::Error::from_raw_os_error(28));
        }
        let n = buf.len().min(self.budget).min(4096);
        self.budget -= n;
        self.file.write(&buf[..n])
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[test]
fn a_write_that_fails_midway_leaves_the_old_file_whole() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.txt");
    std::fs::write(&target, "the earlier content\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    // JSON: the text form is now factored (about 10 kB), short of the 12 kB the disk holds.
    let derivation = run(&[
        "derive",
        "examples/mazur_2_2_2.bp",
        "--all",
        "--format",
        "json",
    ])
    .stdout;
    assert!(derivation.len() > 25_000, "{}", derivation.len());

    let result = output::write_file_through(
        &target,
        derivation.as_bytes(),
        output::ReadOnly::Refuse,
        |file| {
            Box::new(FullDisk {
                file,
                budget: 12_000,
            })
        },
    );
    let error = result.expect_err("the disk filled up").to_string();
    assert!(
        error.contains(&format!("cannot write `{}`", target.display())),
        "{error}"
    );
    assert!(error.contains("No space left on device"), "{error}");
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "the earlier content\n"
    );
    let left: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(left, vec![target.clone()], "the temporary file is removed");

    // The same path with room on the disk: replaced whole, permissions kept.
    output::write_file(&target, derivation.as_bytes(), output::ReadOnly::Refuse).unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), derivation);
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn writing_through_a_symbolic_link_replaces_its_file_not_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.txt");
    let link = dir.path().join("link.txt");
    std::fs::write(&real, "old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = run(&["expand", "-o", s(&link)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read_to_string(&real).unwrap().contains("cost"));
}

#[test]
fn an_output_that_cannot_be_created_is_an_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing").join("out.txt");
    let out = run(&["derive", "--all", "-o", s(&target)]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains(&format!("cannot write `{}`", target.display())),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("missing").exists());
}

fn to_dev_full(args: &[&str]) -> Run {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    let out = Command::new(BIN)
        .args(args)
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn write_errors_on_standard_output_are_reported() {
    for args in [
        &["derive", "--all"][..],
        &["expand"][..],
        &["check", "--claim", "dC/dw3 = 0"][..],
        &["eval", "--at", "x=1,y=0,w2=1,b2=0,w3=1,b3=0", "--all"][..],
    ] {
        let out = to_dev_full(args);
        assert_eq!(out.code, 2, "{args:?}");
        assert_eq!(
            out.stderr,
            "error: cannot write to standard output: No space left on device (os error 28)\n\n",
            "{args:?}"
        );
    }
}

#[test]
fn a_closed_pipe_is_silent() {
    // More output than a pipe holds, so the write meets the closed end.
    let mut child = Command::new(BIN)
        .args(["step", "--lr", "0.1", "--steps", "400"])
        .args(["--at", "x=1,y=0,w2=1,b2=1,w3=1,b3=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// A program with `c` inside its cost line, at line 4, column 18.
fn program_with(c: char) -> String {
    format!("input x\ntarget y\nparam w\ncost C = (y - w*x{c})^2\n")
}

#[test]
fn invisible_characters_are_named_and_shown_by_code_point() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("net.bp");
    for c in [
        '\u{301}', '\u{200B}', '\u{200D}', '\u{202E}', '\0', '\u{2028}', '\u{B}',
    ] {
        let source = program_with(c);
        std::fs::write(&file, &source).unwrap();
        let out = run(&["derive", s(&file), "--all"]);
        assert_eq!(out.code, 2, "{c:?}");
        let code_point = format!("U+{:04X}", c as u32);
        assert!(
            out.stderr
                .contains(&format!("invisible character `{code_point}`")),
            "{c:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!("--> {}:4:18", file.display())),
            "{}",
            out.stderr
        );
        // The line is echoed whole, on one line, with the character spelled out, and the
        // caret under it.
        assert!(
            out.stderr
                .contains(&format!("4 | cost C = (y - w*x<{code_point}>)^2\n")),
            "{c:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("  |                  ^^^^^^^^"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains(c), "{c:?} echoed raw");
        assert!(!out.stderr.contains("a space"), "{}", out.stderr);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), source);
    }
}

#[test]
fn a_long_line_is_shown_as_a_window_around_the_spot() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.bp");
    let filler = "x*".repeat(500_000);
    let source = format!("input x\ntarget y\nparam w\ncost C = (y - w*x)^2 + {filler}) + q\n");
    std::fs::write(&file, &source).unwrap();
    let out = run(&["derive", s(&file), "--all"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.len() < 2_000, "{} bytes", out.stderr.len());
    assert!(
        out.stderr.contains(&format!("--> {}:4:", file.display())),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("..."), "{}", out.stderr);
}

#[test]
fn latex_commands_without_arguments_say_so() {
    for (claim, command, needs) in [
        ("dC/dw3 = \\frac{1}", "\\frac", "two arguments"),
        ("dC/dw3 = \\frac", "\\frac", "two arguments"),
        ("dC/dw3 = \\sqrt", "\\sqrt", "an argument"),
    ] {
        let out = run(&["check", "--claim", claim]);
        assert_eq!(out.code, 2);
        assert!(
            out.stderr
                .starts_with(&format!("error: `{command}` needs {needs}\n")),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("--> --claim:1:10"), "{}", out.stderr);
        assert!(!out.stderr.contains("unsupported"), "{}", out.stderr);
    }
}

#[test]
fn too_many_layers_is_worded_the_same_at_any_size() {
    let dir = tempfile::tempdir().unwrap();
    for layers in [33usize, 40, 2_048, 2_050, 100_000] {
        let file = dir.path().join("deep.bp");
        let widths = vec!["1"; layers].join("-");
        std::fs::write(&file, format!("network {widths}\n")).unwrap();
        let out = run(&["derive", s(&file), "--layers"]);
        assert_eq!(out.code, 2);
        assert!(
            out.stderr.starts_with(&format!(
                "error: a network of {layers} layers is more than the shorthand expands (32)\n"
            )),
            "{layers}: {}",
            &out.stderr[..out.stderr.len().min(300)]
        );
    }
}

#[test]
fn a_second_argument_in_a_call_is_named() {
    let out = run(&["check", "--claim", "dC/dw3 = log(w3, a2)"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: `log` takes one argument, not several\n"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--> --claim:1:16"), "{}", out.stderr);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("net.bp");
    std::fs::write(&file, "input x\nparam w\ncost C = log(w, x)\n").unwrap();
    let out = run(&["derive", s(&file), "--all"]);
    assert!(
        out.stderr.starts_with("error: `log` takes one argument"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(":3:15"), "{}", out.stderr);
}

#[test]
fn an_empty_name_in_wrt_points_at_its_comma() {
    let out = run(&["derive", "--wrt", "w3,"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: a name is missing in `--wrt`\n  --> --wrt:1:3\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("1 | w3,\n  |   ^ a name is missing here"),
        "{}",
        out.stderr
    );
    let out = run(&["derive", "--wrt", "w3,bb3"]);
    assert!(out.stderr.contains("unknown name `bb3`"), "{}", out.stderr);
    assert!(out.stderr.contains("--> --wrt:1:4"), "{}", out.stderr);
}

#[test]
fn a_name_read_as_the_file_is_explained() {
    let out = run(&["derive", "w3"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("`derive` needs `--wrt NAME` or `--all`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("`w3` was read as the network file (the first argument)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("write `--wrt w3`"), "{}", out.stderr);
    let out = run(&["eval", "w3", "--all"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("cannot read `w3`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("`w3` was read as the network file"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_bad_line_in_a_values_file_gets_advice_for_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("v.txt");
    let text = "x = 1\ny 0\n";
    std::fs::write(&values, text).unwrap();
    let out = run(&["eval", "--values", s(&values), "--all"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`y 0` is not of the form NAME=VALUE"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("--> {}:2:1", values.display())),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("--at"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&values).unwrap(), text);
}

#[test]
fn step_names_every_missing_value_at_once() {
    let out = run(&["step", "--lr", "0.5", "--at", "y=0,w2=1,b2=0,b3=0"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: no value given for `x`, `w3`\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn values_and_claims_read_standard_input() {
    let out = run_with(
        &["eval", "--values", "-", "--all"],
        b"x=1\ny=0\nw2=0.5\nb2=0.1\nw3=-1\nb3=0.2\n",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("dC/dw3  0.1199739379826339"),
        "{}",
        out.stdout
    );
    let out = run_with(&["check", "--claims", "-"], b"dC/dw3 = 0\n", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let out = run_with(&["eval", "-", "--values", "-", "--all"], b"x=1\n", &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("standard input (`-`) is given twice"),
        "{}",
        out.stderr
    );
}

#[test]
fn template_errors_point_into_the_template_in_its_own_delimiters() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("derive.txt");
    for (text, message, at) in [
        (
            "Hello << 1 + >>\n",
            "Found `>>` but expected one of",
            ":1:14",
        ),
        ("Hello <% endfor %>\n", "Unknown tag", ":1:10"),
        (
            "Hi << nothing.here >>\n",
            "Variable `nothing` is not defined",
            ":1:7",
        ),
    ] {
        std::fs::write(&template, text).unwrap();
        let out = run(&["derive", "--all", "--template-dir", s(dir.path())]);
        assert_eq!(out.code, 2);
        assert!(
            out.stderr
                .starts_with(&format!("error: in the template `derive.txt`: {message}")),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains(&format!("--> {}{at}", template.display())),
            "{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("error: a template failed: error:"),
            "{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("}}") && !out.stderr.contains("%}"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let bad = ["derive", "--wrt", "w33"];
    let with = |color: &str, env: &[(&str, &str)]| {
        let mut args = bad.to_vec();
        args.extend(["--color", color]);
        run_with(&args, b"", env).stderr
    };
    assert!(with("always", &[]).contains('\u{1b}'));
    assert!(
        with("always", &[("NO_COLOR", "1")]).contains('\u{1b}'),
        "the flag wins"
    );
    assert!(!with("never", &[]).contains('\u{1b}'));
    assert!(!with("auto", &[("NO_COLOR", "1")]).contains('\u{1b}'));
    assert!(!with("auto", &[]).contains('\u{1b}'), "not a terminal");
}

#[test]
fn every_command_with_formats_takes_template_dir_and_standalone() {
    let dir = tempfile::tempdir().unwrap();
    let at = "x=1,y=0,w2=0.5,b2=0.1,w3=-1,b3=0.2";
    std::fs::write(
        dir.path().join("standalone.tex"),
        "%% mine\n<< title >>\n<< body >>\n",
    )
    .unwrap();
    let d = s(dir.path());
    for args in [
        vec!["derive", "--all"],
        vec!["eval", "--all", "--at", at],
        vec!["check", "--claim", "dC/dw3 = 0"],
        vec!["step", "--lr", "0.1", "--at", at],
    ] {
        let mut args = args.clone();
        args.extend(["--format", "latex", "--standalone", "--template-dir", d]);
        let out = run(&args);
        assert!(out.code == 0 || out.code == 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stdout.starts_with("%% mine\n"),
            "{args:?}: {}",
            out.stdout
        );
    }
    for (command, own) in [
        ("derive", "`derive.txt`"),
        ("check", "`check.txt`"),
        ("eval", "`eval.txt`"),
        ("eval", "`warning.txt`"),
        ("step", "`step.txt`"),
    ] {
        let help = run(&[command, "--help"]).stdout;
        // The flag and its help: on one line, or (when clap wraps long help) on the lines
        // below it up to the blank line.
        let start = help
            .find("--template-dir")
            .unwrap_or_else(|| panic!("{command}: {help}"));
        let line = help[start..].split("\n\n").next().unwrap_or_default();
        assert!(line.contains(own), "{command}: {line}");
        if command != "derive" {
            assert!(!line.contains("derive.txt"), "{command}: {line}");
        }
    }
}

// ---- Bounded fuzzing: the fuzz targets' properties over generated and mutated inputs ----

/// Characters that mutations insert: the language's operators and words, LaTeX, numbers,
/// and the characters that have broken reports before (invisible, bidirectional, separators).
const ALPHABET: &[&str] = &[
    "(",
    ")",
    "+",
    "-",
    "*",
    "/",
    "^",
    "=",
    ",",
    ";",
    "#",
    "\n",
    " ",
    "'",
    "\"",
    "x",
    "w3",
    "a2",
    "σ",
    "η",
    "−",
    "·",
    "²",
    "0",
    "1",
    "2.5",
    "1e308",
    "-1e-308",
    "sigmoid",
    "tanh",
    "relu",
    "log",
    "exp",
    "sqrt",
    "abs",
    "input ",
    "param ",
    "target ",
    "cost ",
    "output ",
    "show ",
    "network ",
    "activation ",
    "softmax",
    "\\frac",
    "{",
    "}",
    "_",
    "\\partial ",
    "\\sigma",
    "\\sqrt",
    "dC/d",
    "d/dx",
    "δ",
    "\u{200B}",
    "\u{202E}",
    "\u{301}",
    "\u{2028}",
    "\0",
    "\u{B}",
    "\r",
    "\t",
    "中",
    "🙂",
    "]",
    "[",
    "|",
];

fn mutate(rng: &mut fastrand::Rng, seed: &str) -> String {
    let mut text: Vec<char> = seed.chars().collect();
    for _ in 0..rng.usize(1..6) {
        let at = rng.usize(0..=text.len());
        match rng.u8(0..5) {
            0 | 1 => {
                let piece = ALPHABET[rng.usize(0..ALPHABET.len())];
                text.splice(at..at, piece.chars());
            }
            2 if at < text.len() => {
                let end = (at + rng.usize(1..8)).min(text.len());
                text.drain(at..end);
            }
            3 if at < text.len() => {
                let end = (at + rng.usize(1..16)).min(text.len());
                let copy: Vec<char> = text[at..end].to_vec();
                text.splice(end..end, copy);
            }
            _ if !text.is_empty() => {
                let other = rng.usize(0..text.len());
                let to = at.min(text.len() - 1);
                text.swap(to, other);
            }
            _ => {}
        }
    }
    text.into_iter().collect()
}

fn seeds(target: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut seeds: Vec<String> = std::fs::read_dir(dir)
        .expect("the fuzz corpus is in the repository")
        .map(|e| String::from_utf8_lossy(&std::fs::read(e.unwrap().path()).unwrap()).into_owned())
        .collect();
    seeds.sort();
    seeds
}

/// Runs `property` on every seed and on `count` mutations of them; returns how many ran.
fn fuzz_bounded(target: &str, count: usize, property: fn(&[u8])) -> usize {
    let seeds = seeds(target);
    assert!(!seeds.is_empty(), "{target} has seeds");
    let mut rng = fastrand::Rng::with_seed(0x11 + count as u64);
    for seed in &seeds {
        property(seed.as_bytes());
    }
    for _ in 0..count {
        let seed = &seeds[rng.usize(0..seeds.len())];
        let input = mutate(&mut rng, seed);
        let result = std::panic::catch_unwind(|| property(input.as_bytes()));
        if let Err(panic) = result {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{target} failed on {input:?}: {message}");
        }
    }
    seeds.len() + count
}

#[test]
fn bounded_fuzz_the_program_parser() {
    assert!(fuzz_bounded("parse_bp", 3_000, harness::parse_bp) > 3_000);
}

#[test]
fn bounded_fuzz_values_targets_and_formulas() {
    assert!(fuzz_bounded("parse_values", 2_000, harness::parse_values) > 2_000);
}

#[test]
fn bounded_fuzz_claims() {
    assert!(fuzz_bounded("parse_claim", 600, harness::parse_claim) > 600);
}

#[test]
fn bounded_fuzz_whole_commands() {
    assert!(fuzz_bounded("commands", 60, harness::commands) > 60);
}

#[test]
fn bounded_fuzz_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fuzzed.bp");
    let seeds = seeds("parse_bp");
    let mut rng = fastrand::Rng::with_seed(2026);
    for round in 0..40 {
        let source = mutate(&mut rng, &seeds[round % seeds.len()]);
        std::fs::write(&file, &source).unwrap();
        let command: &[&str] = match round % 4 {
            0 => &["derive", "--all"],
            1 => &["expand"],
            2 => &["check", "--claim", "dC/dw3 = 0"],
            _ => &["derive", "--all", "--format", "json"],
        };
        let mut args = vec![command[0], s(&file)];
        args.extend(&command[1..]);
        let out = run(&args);
        assert!(
            [0, 1, 2].contains(&out.code),
            "{args:?} on {source:?}: exit {}",
            out.code
        );
        if out.code == 2 {
            let located = out.stderr.contains(&format!("--> {}:", file.display()))
                || out.stderr.contains("--> --claim:");
            assert!(located, "no location for {source:?}:\n{}", out.stderr);
        }
        assert!(
            !out.stderr.contains("internal error"),
            "{source:?}: {}",
            out.stderr
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), source);
    }
}

#[test]
fn a_runaway_template_is_stopped_at_a_bound() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("derive.txt"),
        "<% for i in range(end=100000) %><% for j in range(end=100000) %>xxxxxxxxxxxxxxxx\
         <% endfor %><% endfor %>\n",
    )
    .unwrap();
    let out = run(&["derive", "--all", "--template-dir", s(dir.path())]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with(
            "error: the template `derive.txt` wrote more than 256 MiB; a loop in it runs away\n"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

/// A user's template that runs away, in memory or in time, is refused with exit 2 before
/// anything is written: the `-o` target keeps its old content.
fn assert_template_refused(template: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("derive.txt"), template).unwrap();
    let target = dir.path().join("out.txt");
    std::fs::write(&target, "earlier work\n").unwrap();
    let out = run(&[
        "derive",
        "--all",
        "--template-dir",
        s(dir.path()),
        "-o",
        s(&target),
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.contains(message), "{}", out.stderr);
    assert!(out.stderr.contains("= help:"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "earlier work\n");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
}

#[test]
fn a_template_whose_string_keeps_doubling_is_refused_before_memory_runs_out() {
    assert_template_refused(
        "<% set_global s = \"xxxxxxxx\" %><% for i in range(end=60) %>\
         <% set_global s = s ~ s %><% endfor %><< s | length >>\n",
        "this needs more than 2 GiB of memory",
    );
}

#[test]
fn a_template_whose_loops_run_on_without_writing_is_refused() {
    assert_template_refused(
        "<% for i in range(end=100000) %><% for j in range(end=100000) %>\
         <% for k in range(end=100000) %><% endfor %><% endfor %><% endfor %>done\n",
        "the template `derive.txt` rendered for more than 30 s; a loop in it runs on",
    );
}

// ---- Issue 23: safe with any file and any input -------------------------------------------

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether a test that needs the superuser may run: under CI (which runs as root) it must;
/// elsewhere, without root, it says so and checks nothing else.
fn as_root(what: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        !common::tools::in_ci(),
        "CI runs as root, but this run is not: {what} needs it"
    );
    eprintln!("note: not root; {what} did not run");
    false
}

/// The names in a directory, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs the binary with standard input read from `file`.
fn run_with_stdin_file(args: &[&str], file: &Path) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::from(std::fs::File::open(file).unwrap()))
        .output()
        .unwrap();
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn output_onto_a_device_writes_through_it_and_keeps_the_node() {
    if as_root("writing onto a device node made with mknod") {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("nul");
        // The same device as /dev/null (1, 3), made in the temporary directory.
        let made = Command::new("mknod")
            .arg(&node)
            .args(["c", "1", "3"])
            .status()
            .unwrap();
        assert!(made.success(), "mknod works as root");
        let before = std::fs::metadata(&node).unwrap().rdev();
        let out = run(&["derive", "--all", "-o", s(&node)]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let after = std::fs::metadata(&node).unwrap();
        assert!(
            after.file_type().is_char_device(),
            "the node is still a device"
        );
        assert_eq!(after.rdev(), before);
        assert_eq!(names_in(dir.path()), ["nul"], "no temporary file beside it");
    }
}

#[test]
fn output_onto_a_fifo_feeds_its_reader() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("f");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = run(&["derive", "--all", "-o", s(&fifo)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let read = String::from_utf8(reader.join().unwrap()).unwrap();
    assert_eq!(
        read,
        run(&["derive", "--all"]).stdout,
        "the reader gets it all"
    );
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(names_in(dir.path()), ["f"]);
}

#[test]
fn output_through_a_link_to_dev_stdout_writes_the_descriptor_as_it_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("out");
    std::os::unix::fs::symlink("/dev/stdout", &link).unwrap();
    let log = dir.path().join("log.txt");
    std::fs::write(&log, "earlier\n").unwrap();
    // Standard output open for appending (`>> log.txt`): the document follows what is there.
    let appending = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let status = Command::new(BIN)
        .args(["derive", "--all", "-o", s(&link)])
        .stdout(Stdio::from(appending))
        .status()
        .unwrap();
    assert!(status.success());
    let expected = format!("earlier\n{}", run(&["derive", "--all"]).stdout);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), expected);
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("/dev/stdout"),
        "the link is left as it was"
    );
    assert_eq!(names_in(dir.path()), ["log.txt", "out"]);
}

#[test]
fn output_through_a_chain_of_links_replaces_the_file_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let real = dir.path().join("sub").join("real.txt");
    std::fs::write(&real, "old").unwrap();
    // first -> sub/second (relative) -> real.txt (relative to sub/).
    std::os::unix::fs::symlink("real.txt", dir.path().join("sub").join("second")).unwrap();
    let first = dir.path().join("first");
    std::os::unix::fs::symlink("sub/second", &first).unwrap();
    let out = run(&["expand", "-o", s(&first)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        run(&["expand"]).stdout
    );
    for link in [first.clone(), dir.path().join("sub").join("second")] {
        let kind = std::fs::symlink_metadata(&link).unwrap().file_type();
        assert!(kind.is_symlink(), "{link:?} is still a link");
    }
    // A link to a file not there yet creates that file.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink("fresh.txt", &dangling).unwrap();
    let out = run(&["expand", "-o", s(&dangling)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("fresh.txt")).unwrap(),
        run(&["expand"]).stdout
    );
}

#[test]
fn a_read_only_output_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ro.txt");
    std::fs::write(&target, "keep me\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o444)).unwrap();
    for args in [
        &["derive", "--all"][..],
        &["expand"][..],
        &["values"][..],
        &["check", "--claim", "dC/dw3 = 0"][..],
    ] {
        let mut args = args.to_vec();
        args.extend(["-o", s(&target)]);
        let out = run(&args);
        assert_eq!(out.code, 2, "{args:?}");
        assert!(
            out.stderr.contains(&format!(
                "the output `{}` is read-only (mode 0444)",
                target.display()
            )),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("add `--force`"), "{}", out.stderr);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    }
    let out = run(&["derive", "--all", "-o", s(&target), "--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        run(&["derive", "--all"]).stdout
    );
    let mode = std::fs::metadata(&target).unwrap().mode();
    assert_eq!(mode & 0o777, 0o444, "the mode is kept");
    assert_eq!(names_in(dir.path()), ["ro.txt"]);
    // Every command that writes with `-o` takes `--force`, and says so in its help.
    for command in [
        "derive", "eval", "check", "step", "values", "expand", "train", "graph",
    ] {
        let help = run(&[command, "--help"]).stdout;
        assert!(help.contains("--force"), "{command}: {help}");
    }
}

#[test]
fn a_replaced_file_keeps_its_owner_group_and_mode() {
    if as_root("keeping another user's ownership") {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("theirs.txt");
        std::fs::write(&target, "theirs\n").unwrap();
        std::os::unix::fs::chown(&target, Some(1234), Some(2345)).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = run(&["derive", "--all", "-o", s(&target)]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let meta = std::fs::metadata(&target).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (1234, 2345));
        assert_eq!(meta.mode() & 0o7777, 0o600);
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            run(&["derive", "--all"]).stdout
        );
    }
}

#[test]
fn output_onto_the_file_standard_input_reads_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("p.bp");
    let source = example("seed.bp");
    std::fs::write(&program, &source).unwrap();
    let values = dir.path().join("v.txt");
    let point = "x=1\ny=0\nw2=0.5\nb2=0.1\nw3=-1\nb3=0.2\n";
    std::fs::write(&values, point).unwrap();
    let claims = dir.path().join("c.txt");
    std::fs::write(&claims, "dC/dw3 = 0\n").unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, "x,y\n1,0\n").unwrap();
    let link = dir.path().join("link.bp");
    std::os::unix::fs::symlink(&program, &link).unwrap();
    let cases: [(Vec<&str>, &Path, &str); 5] = [
        (
            vec!["derive", "-", "--all", "-o", s(&program)],
            &program,
            &source,
        ),
        (
            vec!["derive", "-", "--all", "-o", s(&link)],
            &program,
            &source,
        ),
        (
            vec!["eval", "--values", "-", "--all", "-o", s(&values)],
            &values,
            point,
        ),
        (
            vec!["check", "--claims", "-", "-o", s(&claims)],
            &claims,
            "dC/dw3 = 0\n",
        ),
        (
            vec![
                "train",
                "examples/seed_training.bp",
                "--data",
                "-",
                "-o",
                s(&data),
            ],
            &data,
            "x,y\n1,0\n",
        ),
    ];
    for (args, file, content) in cases {
        let out = run_with_stdin_file(&args, file);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("is the file standard input reads"),
            "{args:?}: {}",
            out.stderr
        );
        assert_eq!(&std::fs::read_to_string(file).unwrap(), content, "{args:?}");
    }
    // Another file is written as usual.
    let other = dir.path().join("other.txt");
    let out = run_with_stdin_file(&["derive", "-", "--all", "-o", s(&other)], &program);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::read_to_string(&other)
            .unwrap()
            .starts_with("Derivatives of <stdin>")
    );
}

#[test]
fn a_signal_during_a_write_removes_the_temporary_file_and_keeps_the_target() {
    use std::os::unix::process::ExitStatusExt;
    // A network whose JSON derivation is about 7 MB: its temporary file lives long enough
    // (milliseconds while it is written and synced) to be caught; a miss is tried again.
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("big.bp");
    std::fs::write(
        &program,
        "network 120-30-10\nactivation sigmoid\ncost quadratic\n",
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("out.json");
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        std::fs::write(&target, "earlier\n").unwrap();
        let mut caught = false;
        for _attempt in 0..6 {
            let mut child = Command::new(BIN)
                .args(["derive", s(&program), "--all", "--format", "json"])
                .args(["-o", s(&target)])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                if names_in(&out_dir).iter().any(|n| n.ends_with(".tmp")) {
                    // SAFETY: kill has no memory preconditions; the child is ours and alive.
                    unsafe { libc::kill(child.id() as i32, signal) };
                    break child.wait().unwrap();
                }
                std::thread::sleep(std::time::Duration::from_micros(200));
            };
            if status.success() {
                // The write ended before the signal came: the temporary file was already in
                // place. Try again.
                std::fs::write(&target, "earlier\n").unwrap();
                continue;
            }
            assert_eq!(
                status.signal(),
                Some(signal),
                "ended by the signal: {status:?}"
            );
            assert_eq!(
                names_in(&out_dir),
                ["out.json"],
                "no temporary file is left"
            );
            assert_eq!(std::fs::read_to_string(&target).unwrap(), "earlier\n");
            caught = true;
            break;
        }
        assert!(caught, "signal {signal} never met a write in progress");
    }
}

#[test]
fn control_characters_in_file_names_are_shown_by_code_point() {
    let dir = tempfile::tempdir().unwrap();
    let name = "t\u{1b}]0;PWNED\u{7}.bp";
    let shown = "t<U+001B>]0;PWNED<U+0007>.bp";
    let program = dir.path().join(name);
    std::fs::write(&program, example("seed.bp")).unwrap();
    let p = program.to_str().unwrap();
    for format in ["text", "markdown", "latex", "html"] {
        let out = run(&["derive", p, "--all", "--format", format]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            !out.stdout.contains(['\u{1b}', '\u{7}']),
            "{format}: raw escape"
        );
        assert!(out.stdout.contains("PWNED"), "{format}");
    }
    let out = run(&["derive", p, "--all"]);
    assert!(out.stdout.contains(shown), "{}", out.stdout);
    // The `-->` line of an error in that file.
    std::fs::write(&program, "input x\ncost C = (x\n").unwrap();
    let out = run(&["derive", p, "--all"]);
    assert_eq!(out.code, 2);
    assert!(
        !out.stderr.contains(['\u{1b}', '\u{7}']),
        "{:?}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("--> {}", dir.path().join(shown).display()))
    );
    // A file that cannot be read, and an output that cannot be written.
    let missing = dir.path().join("gone\u{1b}[2J.bp");
    let out = run(&["derive", missing.to_str().unwrap(), "--all"]);
    assert_eq!(out.code, 2);
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
    assert!(out.stderr.contains("gone<U+001B>[2J.bp"), "{}", out.stderr);
    let nowhere = dir.path().join("no\u{1b}]2;dir").join("out.txt");
    let out = run(&["derive", "--all", "-o", nowhere.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(!out.stderr.contains('\u{1b}'), "{:?}", out.stderr);
    assert!(out.stderr.contains("no<U+001B>]2;dir"), "{}", out.stderr);
}

/// Runs the binary under `ulimit -v KB` (address space), through `sh`.
fn run_limited(kilobytes: u32, args: &[&str]) -> Run {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kilobytes}; exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_memory_limit_gives_a_smaller_stack_or_a_message_never_a_panic_or_an_abort() {
    // 300 MB: the 512 MiB stack of the worker does not fit; a smaller one does.
    let out = run_limited(300_000, &["derive", "--all"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, run(&["derive", "--all"]).stdout);
    // 150 MB: a 784-200-10 network needs several times more (784-30-10 alone needs about
    // that much); the refusal is a message and exit code 2, not exit 134.
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("wide.bp");
    std::fs::write(
        &program,
        "network 784-200-10\nactivation sigmoid\ncost quadratic\n",
    )
    .unwrap();
    let out = run_limited(150_000, &["derive", program.to_str().unwrap(), "--all"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: the system refused chainrule more memory"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn display_forms_with_tex_primitives_are_refused_at_the_command() {
    let dir = tempfile::tempdir().unwrap();
    for (form, command) in [
        (r"\input{/etc/hostname}", r"\input"),
        (r"x\immediate\openout5=pwned.txt", r"\immediate"),
        (r"w_{\write18{touch pwned}}", r"\write"),
        (r"\def\x{1}x", r"\def"),
        (r"\catcode`\^=7", r"\catcode"),
        (r"\text{\csname input\endcsname}", r"\csname"),
    ] {
        let program = dir.path().join("p.bp");
        let source = format!("input x as \"{form}\"\ntarget y\nparam w\ncost C = (y - w*x)^2\n");
        std::fs::write(&program, &source).unwrap();
        let doc = dir.path().join("doc.tex");
        let out = run(&[
            "derive",
            s(&program),
            "--all",
            "--format",
            "latex",
            "--standalone",
            "-o",
            s(&doc),
        ]);
        assert_eq!(out.code, 2, "{form}");
        assert!(
            out.stderr.contains(&format!(
                "`{command}` is not a math command a display form may use"
            )),
            "{}",
            out.stderr
        );
        // The caret stands under the command: its column in the line `input x as "…"`.
        let column = source.find(command).unwrap() + 1;
        assert!(
            out.stderr.contains(&format!("p.bp:1:{column}")),
            "{form}: {}",
            out.stderr
        );
        assert!(!doc.exists(), "no document is written");
    }
    // The same through `show`.
    let out = run_with(
        &["derive", "-", "--all"],
        b"input x\nparam w\nz = w*x\nshow z as \"z\\input{/etc/passwd}\"\ncost C = z^2\n",
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`\\input` is not a math command"),
        "{}",
        out.stderr
    );
}

/// Compiles `doc.tex` in `dir` with pdflatex, shell escape off, recording the files it opens;
/// returns the files read and written (from pdflatex's `.fls` record).
fn compile_recorded(dir: &Path) -> (Vec<String>, Vec<String>) {
    let status = Command::new("pdflatex")
        .args([
            "-no-shell-escape",
            "-recorder",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "doc.tex",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "pdflatex compiles {dir:?}");
    let record = std::fs::read_to_string(dir.join("doc.fls")).unwrap();
    let files = |kind: &str| -> Vec<String> {
        record
            .lines()
            .filter_map(|l| l.strip_prefix(kind))
            .map(str::to_string)
            .collect()
    };
    (files("INPUT "), files("OUTPUT "))
}

#[test]
fn documents_from_allowed_display_forms_compile_and_read_or_write_no_other_file() {
    if common::tools::pdflatex_available() {
        let secrets = tempfile::tempdir().unwrap();
        let secret = secrets.path().join("secret.tex");
        std::fs::write(&secret, "SECRET-CONTENT").unwrap();
        // Every kind on the allow-list: fonts, accents, Greek, primes, spacing, an operator name.
        let program = "input x as \"x_{\\mathrm{in}}\"\ntarget y as \"\\bar{y}\"\n\
                   param w as \"\\hat{w}^{\\prime}\", b as \"\\tilde{\\beta}_{\\mathit{out}}\"\n\
                   z = w*x + b\nshow z as \"\\vec{z}\\,\\dot{\\sigma}\", a as \"\\mathbf{a}\"\n\
                   a = sigmoid(z)\ncost C = (y - a)^2\n";
        let allowed = [
            vec!["derive", "-", "--all", "--format", "latex", "--standalone"],
            vec![
                "check",
                "-",
                "--claim",
                // Wrong (σ' is missing), so the worksheet prints the corrected formula.
                r"\frac{\partial C}{\partial \hat{w}^{\prime}} = 2(a - y) x",
                "--format",
                "latex",
                "--standalone",
            ],
        ];
        for args in allowed {
            let dir = tempfile::tempdir().unwrap();
            let out = run_with(&args, program.as_bytes(), &[]);
            assert!(out.code == 0 || out.code == 1, "{args:?}: {}", out.stderr);
            assert!(out.stdout.contains(r"\hat{w}^{\prime}"), "{}", out.stdout);
            std::fs::write(dir.path().join("doc.tex"), &out.stdout).unwrap();
            let (read, written) = compile_recorded(dir.path());
            assert!(
                !read.iter().any(|f| f.contains("secret")),
                "{args:?} read {read:?}"
            );
            let mut written: Vec<String> = written.into_iter().collect();
            written.sort();
            written.dedup();
            assert_eq!(written, ["doc.aux", "doc.log", "doc.pdf"], "{args:?}");
            assert_eq!(
                names_in(dir.path()),
                ["doc.aux", "doc.fls", "doc.log", "doc.pdf", "doc.tex"]
            );
        }
        // What the refusal prevents: the same document with a refused form where an allowed one
        // stood reads the secret and writes a file when it is compiled (the record sees both).
        let dir = tempfile::tempdir().unwrap();
        let out = run_with(&allowed_derive(), program.as_bytes(), &[]);
        let refused = format!(
            r"\hat{{w}}\input{{{}}}\immediate\openout9=pwned.txt\immediate\closeout9",
            secret.display()
        );
        let would_be = out.stdout.replacen(r"\hat{w}", &refused, 1);
        std::fs::write(dir.path().join("doc.tex"), would_be).unwrap();
        let (read, written) = compile_recorded(dir.path());
        assert!(read.iter().any(|f| f.contains("secret.tex")), "{read:?}");
        assert!(
            written.iter().any(|f| f.contains("pwned.txt")),
            "{written:?}"
        );
        // …and chainrule refuses that form where it is written.
        let out = run_with(
            &allowed_derive(),
            program.replace(r"\hat{w}^{\prime}", &refused).as_bytes(),
            &[],
        );
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains("`\\input` is not a math command"),
            "{}",
            out.stderr
        );
    }
}

fn allowed_derive() -> Vec<&'static str> {
    vec!["derive", "-", "--all", "--format", "latex", "--standalone"]
}

#[test]
fn latex_claims_never_reach_a_document_verbatim() {
    // A claim is read with its own allow-list; its text is printed escaped.
    for claim in [
        r"dC/dw3 = \input{/etc/hostname}",
        r"dC/dw3 = \immediate\write18{touch pwned}",
        r"dC/dw3 = 0\def\x{1}",
    ] {
        let out = run(&[
            "check",
            "--claim",
            claim,
            "--format",
            "latex",
            "--standalone",
        ]);
        assert_eq!(out.code, 2, "{claim}");
        assert!(
            out.stderr.contains("unsupported LaTeX command"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stdout, "");
    }
    let claim = r"\frac{\partial C}{\partial w_3} = -2(y - a_3) a_3(1 - a_3) a_2";
    let out = run(&["check", "--claim", claim, "--format", "latex"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains(r"\texttt{\textbackslash{}frac\{\textbackslash{}partial C\}"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_byte_order_mark_is_skipped_in_csv_and_values_files() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("excel.csv");
    std::fs::write(&csv, "\u{FEFF}x,y\n1,0\n0,1\n").unwrap();
    let out = run(&[
        "train",
        "examples/seed_training.bp",
        "--data",
        s(&csv),
        "--epochs",
        "2",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("2 examples"), "{}", out.stdout);
    let values = dir.path().join("v.txt");
    std::fs::write(&values, "\u{FEFF}x=1\ny=0\nw2=0.5\nb2=0.1\nw3=-1\nb3=0.2\n").unwrap();
    let out = run(&["eval", "--values", s(&values), "--all"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("dC/dw3  0.1199739379826339"),
        "{}",
        out.stdout
    );
    // Only at the start: elsewhere the mark is a character of a name, shown by its code point.
    std::fs::write(&values, "x=1\n\u{FEFF}y=0\n").unwrap();
    let out = run(&["eval", "--values", s(&values), "--all"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("unknown name `<U+FEFF>y`"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_csv_number_past_float64_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    std::fs::write(&csv, "x,y\n1e400,0\n").unwrap();
    let out = run(&["train", "examples/seed_training.bp", "--data", s(&csv)]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("`1e400` is beyond float64's range (about 1.8e308 in magnitude)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("big.csv:2:1"), "{}", out.stderr);
    std::fs::write(&csv, "x,y\nabc,0\n").unwrap();
    let out = run(&["train", "examples/seed_training.bp", "--data", s(&csv)]);
    assert!(
        out.stderr.contains("`abc` is not a number"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_name_given_two_values_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("v.txt");
    std::fs::write(&values, "x=1\ny=0\nx=2\n").unwrap();
    let out = run(&["eval", "--values", s(&values), "--all"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`x` is given two values"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("v.txt:3:1"), "{}", out.stderr);
    assert!(out.stderr.contains("first given here"), "{}", out.stderr);
    let out = run(&["eval", "--at", "x=1,y=0,x=2", "--all"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--> --at:1:9"), "{}", out.stderr);
    let out = run(&["eval", "--at", "x=1", "--at", "x=2", "--all"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`x` is given two values in `--at`"),
        "{}",
        out.stderr
    );
    // `--at` over `--values` stays an override: a values file to start from, a name changed.
    std::fs::write(&values, "x=1\ny=0\nw2=0.5\nb2=0.1\nw3=-1\nb3=0.2\n").unwrap();
    let out = run(&["eval", "--values", s(&values), "--at", "w3=-1", "--all"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn an_output_in_a_missing_directory_names_the_directory_not_a_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("nodir").join("out.txt");
    let out = run(&["derive", "--all", "-o", s(&target)]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!(
            "the directory `{}` does not exist",
            dir.path().join("nodir").display()
        )),
        "{}",
        out.stderr
    );
    // The temporary file would be `.out.txt.XXXXXX.tmp`.
    assert!(!out.stderr.contains(".out.txt."), "{}", out.stderr);
}

#[test]
fn an_expansion_past_any_count_says_far_more() {
    // Each step squares the one before: the expansion's size doubles per line and saturates.
    let mut program = String::from("input x\nparam w\nh0 = w*x\n");
    for i in 1..200 {
        program += &format!("h{i} = h{}*h{} + w\n", i - 1, i - 1);
    }
    program += "cost C = h199\n";
    let out = run_with(
        &["derive", "-", "--all", "--expand"],
        program.as_bytes(),
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("--expand would print far more than 10^18 bytes"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("18,446,744"), "{}", out.stderr);
}

#[test]
fn a_long_flat_sum_is_refused_as_long_not_as_nested() {
    let program = format!("input x\ncost C = {}x\n", "x + ".repeat(2048));
    let out = run_with(&["derive", "-", "--all"], program.as_bytes(), &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("more than 2048 operations in a row (a sum of n terms is n of them)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("inside one another"), "{}", out.stderr);
}

#[test]
fn help_that_cannot_be_written_is_an_error() {
    for args in [
        &["--help"][..],
        &["derive", "--help"][..],
        &["--version"][..],
    ] {
        let out = to_dev_full(args);
        assert_eq!(out.code, 2, "{args:?}");
        assert!(
            out.stderr
                .contains("cannot write to standard output: No space left on device"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let out = run(&["--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("Usage: chainrule"), "{}", out.stdout);
}

/// Each command a display form may use, written as it is used (with its arguments).
fn every_allowed_command_in_use() -> Vec<String> {
    let mut uses = Vec::new();
    for (kind, names) in chainrule::lang::display::MATH_COMMANDS.iter().enumerate() {
        for name in names.split_whitespace() {
            uses.push(match (kind, name) {
                // Fonts, text and accents take their argument.
                (0 | 1, _) | (_, "sqrt") => format!("\\{name}{{a}}"),
                (_, "frac" | "tfrac" | "dfrac") => format!("\\{name}{{a}}{{b}}"),
                (_, "big" | "Big" | "bigl" | "bigr" | "Bigl" | "Bigr") => format!("\\{name}("),
                _ => format!("\\{name}"),
            });
        }
    }
    uses
}

#[test]
fn every_allowed_display_command_renders_in_every_format_and_compiles() {
    let uses = every_allowed_command_in_use();
    assert!(uses.len() > 100, "{}", uses.len());
    let form = format!(
        "{} \\alpha\\Omega\\, \\; \\: \\! \\{{ \\}} \\% \\# \\& \\_ \\|",
        uses.join(" ")
    );
    let program =
        format!("input x\ntarget y\nparam w\nz = w*x\nshow z as \"{form}\"\ncost C = (y - z)^2\n");
    for format in ["text", "markdown", "latex", "json", "html"] {
        let out = run_with(
            &["derive", "-", "--all", "--format", format],
            program.as_bytes(),
            &[],
        );
        assert_eq!(out.code, 0, "{format}: {}", out.stderr);
    }
    if common::tools::pdflatex_available() {
        let dir = tempfile::tempdir().unwrap();
        let out = run_with(
            &["derive", "-", "--all", "--format", "latex", "--standalone"],
            program.as_bytes(),
            &[],
        );
        assert!(out.stdout.contains("\\bigl("), "{}", out.stdout);
        std::fs::write(dir.path().join("doc.tex"), &out.stdout).unwrap();
        let (_, written) = compile_recorded(dir.path());
        assert!(written.iter().all(|f| f.starts_with("doc.")), "{written:?}");
    }
}

#[test]
fn another_users_file_is_refused_to_an_ordinary_user_unless_forced() {
    use std::os::unix::process::CommandExt;
    if as_root("running chainrule as another user") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let theirs = dir.path().join("root.txt");
        std::fs::write(&theirs, "root's\n").unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o644)).unwrap();
        let shared = dir.path().join("shared.txt");
        std::fs::write(&shared, "shared\n").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o666)).unwrap();
        // As `nobody`: the directory lets them rename over either file; a shell's `>` would fail
        // on the first and keep root as the owner of the second.
        let as_nobody = |args: &[&str]| Command::new(BIN).args(args).uid(65534).gid(65534).output();
        match as_nobody(&["derive", "--all", "-o", s(&theirs)]) {
            Err(e) => {
                assert!(
                    !common::tools::in_ci(),
                    "CI runs as root and must be able to run the binary as nobody: {e}"
                );
                eprintln!("note: the binary cannot run as nobody here ({e}); the test did not run");
            }
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "{stderr}");
                assert!(
                    stderr.contains("is not yours to write (mode 0644, owner uid 0)"),
                    "{stderr}"
                );
                assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "root's\n");
                let out = as_nobody(&["derive", "--all", "-o", s(&shared)]).unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "{stderr}");
                assert!(
                    stderr.contains("belongs to another user (uid 0)"),
                    "{stderr}"
                );
                assert_eq!(std::fs::read_to_string(&shared).unwrap(), "shared\n");
                // `--force` replaces it; the file is then theirs.
                let out = as_nobody(&["derive", "--all", "-o", s(&theirs), "--force"]).unwrap();
                assert_eq!(out.status.code(), Some(0));
                assert_eq!(std::fs::metadata(&theirs).unwrap().uid(), 65534);
                assert_eq!(names_in(dir.path()), ["root.txt", "shared.txt"]);
            }
        }
    }
}

//! Every example in the README works when pasted: each `$ chainrule …` (or `$ cargo run -- …`)
//! line in a fenced block, and each line of a `sh` block, is split as a shell would split it
//! (a backslash at the end of a line joins the next one, indentation included), run in a
//! directory holding a copy of `examples/`, and must exit 0 (or 1 for `check`, which reports a
//! wrong claim that way) without an error. The output shown under a command must be what it
//! prints: every shown line, in order (a line with `…` stands for lines left out).

use std::path::Path;
use std::process::Command;

/// One command of the README and the output shown under it.
struct Example {
    line: usize,
    command: String,
    shown: Vec<String>,
}

fn examples(readme: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_block: Option<String> = None;
    let mut pending = String::new();
    let mut pending_line = 0;
    // The example whose output the lines of this block show, if any.
    let mut showing: Option<usize> = None;
    for (n, line) in readme.lines().enumerate() {
        if let Some(fence) = line.strip_prefix("```") {
            in_block = match in_block {
                None => Some(fence.trim().to_string()),
                Some(_) => None,
            };
            showing = None;
            continue;
        }
        let Some(kind) = &in_block else { continue };
        let command_text = if !pending.is_empty() {
            Some(line)
        } else if let Some(rest) = line.strip_prefix("$ ") {
            pending_line = n + 1;
            Some(rest)
        } else if kind == "sh" && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            pending_line = n + 1;
            Some(line)
        } else {
            None
        };
        match command_text {
            Some(text) => {
                // A shell removes backslash-newline and nothing else.
                match text.strip_suffix('\\') {
                    Some(start) => pending.push_str(start),
                    None => {
                        pending.push_str(text);
                        out.push(Example {
                            line: pending_line,
                            command: std::mem::take(&mut pending),
                            shown: Vec::new(),
                        });
                        showing = (kind != "sh").then_some(out.len() - 1);
                    }
                }
            }
            None => {
                if let Some(i) = showing {
                    out[i].shown.push(line.to_string());
                }
            }
        }
    }
    out
}

/// The arguments after the program name, for commands that run chainrule.
fn chainrule_arguments(command: &str) -> Option<Vec<String>> {
    let command = command.split(" # ").next().unwrap_or(command);
    let words = shlex::split(command)?;
    let rest = match words.first().map(String::as_str) {
        Some("chainrule") => &words[1..],
        Some("cargo") if words.get(1).map(String::as_str) == Some("run") => {
            let dashes = words.iter().position(|w| w == "--")?;
            &words[dashes + 1..]
        }
        _ => return None,
    };
    Some(rest.to_vec())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn every_readme_example_runs_and_prints_what_the_readme_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root.join("examples"), &dir.path().join("examples"));
    let mut ran = 0;
    let mut failures = Vec::new();
    for example in examples(&readme) {
        let Some(args) = chainrule_arguments(&example.command) else {
            continue;
        };
        ran += 1;
        let out = Command::new(env!("CARGO_BIN_EXE_chainrule"))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let allowed = code == 0 || (code == 1 && args.first().is_some_and(|a| a == "check"));
        if !allowed || stderr.contains("error") {
            failures.push(format!(
                "README line {}: `{}` exited {code}:\n{stderr}",
                example.line, example.command
            ));
            continue;
        }
        // The shown lines appear in the output in order.
        let printed: Vec<&str> = stdout.lines().map(str::trim_end).collect();
        let mut at = 0;
        for shown in &example.shown {
            let shown = shown.trim_end();
            if shown.is_empty() || shown.contains('…') {
                continue;
            }
            match printed[at..].iter().position(|p| *p == shown) {
                Some(i) => at += i + 1,
                None => {
                    failures.push(format!(
                        "README line {}: `{}` does not print\n  {shown}\nin that place; it prints:\n{stdout}",
                        example.line, example.command
                    ));
                    break;
                }
            }
        }
    }
    assert!(ran >= 3, "the README's examples were found ({ran})");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_continued_line_is_joined_as_a_shell_joins_it() {
    let readme = "```\n$ chainrule eval --at x=1,\\\n    y=2\nout\n```\n";
    let found = examples(readme);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].command, "chainrule eval --at x=1,    y=2");
    // …so the list is split in two arguments, as a pasted command would split it.
    assert_eq!(
        chainrule_arguments(&found[0].command).unwrap(),
        ["eval", "--at", "x=1,", "y=2"]
    );
    assert_eq!(found[0].shown, ["out"]);
}

/// The fenced blocks of the README: the word after the opening fence, and the lines inside.
fn blocks(readme: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut open = false;
    for line in readme.lines() {
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            if open {
                open = false;
            } else {
                open = true;
                out.push((fence.trim().to_string(), Vec::new()));
            }
        } else if open {
            out.last_mut().unwrap().1.push(line.to_string());
        }
    }
    out
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn every_cargo_run_in_the_readme_builds_in_release_mode() {
    let readme = readme();
    let mut found = 0;
    for (n, line) in readme.lines().enumerate() {
        for (at, _) in line.match_indices("cargo run ") {
            found += 1;
            assert!(
                line[at..].starts_with("cargo run --release"),
                "README line {}: `cargo run` without --release: {line}",
                n + 1
            );
        }
    }
    assert!(
        found >= 2,
        "the README's `cargo run` examples were found ({found})"
    );
}

/// The README's completion commands, pasted into `sh` by a user whose home holds nothing yet,
/// write each script where its shell looks.
#[test]
fn the_completion_commands_work_on_a_fresh_account() {
    let readme = readme();
    let commands: Vec<String> = blocks(&readme)
        .into_iter()
        .flat_map(|(_, lines)| lines)
        .filter(|l| l.contains("chainrule completions"))
        .collect();
    assert!(commands.len() >= 3, "{commands:?}");
    let home = tempfile::tempdir().unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_chainrule"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for command in &commands {
        let out = Command::new("sh")
            .args(["-c", command])
            .env("HOME", home.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{command}` failed on a fresh account: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (script, shell_word) in [
        (
            ".local/share/bash-completion/completions/chainrule",
            "complete",
        ),
        (
            ".config/fish/completions/chainrule.fish",
            "complete -c chainrule",
        ),
        (".zfunc/_chainrule", "#compdef chainrule"),
    ] {
        let text = std::fs::read_to_string(home.path().join(script))
            .unwrap_or_else(|e| panic!("{script}: {e}"));
        assert!(text.contains(shell_word), "{script}:\n{text}");
    }
}

/// A network in the README is one a reader may copy: it loads, and draws no warning (the
/// options example once built a softmax over a single neuron, whose gradients all vanish).
#[test]
fn every_shorthand_in_the_readme_loads_without_a_warning() {
    let readme = readme();
    let mut checked = 0;
    for (_, lines) in blocks(&readme) {
        let program: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .collect();
        if !program.first().is_some_and(|l| l.starts_with("network ")) {
            continue;
        }
        checked += 1;
        let text = lines.join("\n") + "\n";
        let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_chainrule"))
            .args(["expand", "-"])
            .write_stdin(text.clone())
            .output()
            .unwrap();
        assert!(out.status.success(), "{text}");
        assert!(
            out.stderr.is_empty(),
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(checked >= 1, "the README's shorthand examples were found");
}

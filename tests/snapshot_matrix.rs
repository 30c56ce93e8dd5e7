//! Every command in every format, on the built-in example and on a small `network` shorthand,
//! snapshot byte for byte from the built binary. The matrix was taken before the source moved
//! into layers (issue 8), so a move that changes any output shows up here; a deliberate change
//! of output (a bug fixed) updates its snapshot in its own commit. Each snapshot records the
//! command line it came from, and the exit code is asserted alongside the output.

use assert_cmd::Command;

/// A 2-2-1 shorthand, read from standard input: small enough that `derive --all` stays
/// readable, large enough to have a hidden layer of two neurons and `--layers` to apply.
const SHORTHAND_2_2_1: &str = "network 2-2-1\nactivation sigmoid\ncost quadratic\n";

/// Every input, target and parameter of the built-in example (the seed network).
const POINT_BUILT_IN: &str = "x=0.5,y=1,w2=0.3,b2=-0.1,w3=0.8,b3=0.2";

/// Every input, target and parameter of the 2-2-1 shorthand.
const POINT_SHORTHAND: &str = "x1=0.5,x2=-0.3,y1=1,w2_1_1=0.1,w2_1_2=-0.2,b2_1=0.05,\
                               w2_2_1=0.4,w2_2_2=0.3,b2_2=-0.1,w3_1_1=0.7,w3_1_2=-0.5,b3_1=0.2";

const FORMATS: [&str; 4] = ["text", "markdown", "latex", "json"];

/// Which network a case runs on: the built-in example (no FILE), the 2-2-1 shorthand on
/// standard input, or the seed question's file (a saturated sigmoid, where `--stable` and
/// `--check-grad` have something to say).
#[derive(Clone, Copy)]
enum Network {
    BuiltIn,
    Shorthand,
    SeedQuestion,
}

impl Network {
    fn label(self) -> &'static str {
        match self {
            Network::BuiltIn => "builtin",
            Network::Shorthand => "shorthand221",
            Network::SeedQuestion => "seedquestion",
        }
    }

    /// The FILE argument (none for the built-in example) and what goes to standard input.
    fn source(self) -> (Option<&'static str>, Option<&'static str>) {
        match self {
            Network::BuiltIn => (None, None),
            Network::Shorthand => (Some("-"), Some(SHORTHAND_2_2_1)),
            Network::SeedQuestion => (Some("examples/seed_question.bp"), None),
        }
    }
}

/// Runs the binary with `args` (and `stdin` if given), asserts the exit code and an empty
/// standard error, and snapshots standard output under `name`.
fn snapshot(name: &str, args: &[&str], stdin: Option<&str>, expected_code: i32) {
    let mut command = Command::cargo_bin("chainrule").expect("the binary builds");
    command.args(args);
    if let Some(input) = stdin {
        command.write_stdin(input);
    }
    let output = command.output().expect("the binary runs");
    let stdout = String::from_utf8(output.stdout).expect("standard output is UTF-8");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let command_line = format!("chainrule {}", args.join(" "));
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "{name}: `{command_line}` exited with {:?}, expected {expected_code}; stderr:\n{stderr}",
        output.status.code(),
    );
    assert!(
        stderr.is_empty(),
        "{name}: `{command_line}` wrote to standard error:\n{stderr}"
    );
    assert!(
        !stdout.trim().is_empty(),
        "{name}: `{command_line}` printed nothing"
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_description(match stdin {
        Some(input) => format!("{command_line}  <<<  {input:?}"),
        None => command_line,
    });
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, stdout));
}

/// One row of the matrix: a command name for the snapshot, the arguments after the FILE
/// (the network-specific ones filled in per network), and the exit code it must end with.
struct Case {
    command: &'static str,
    args: Vec<String>,
    expected_code: i32,
    /// Whether `--format` applies (everything but `expand`).
    formats: bool,
    /// Whether to add a `--format latex --standalone` run to the four formats.
    standalone: bool,
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}

fn cases(network: Network) -> Vec<Case> {
    let point = match network {
        Network::BuiltIn => POINT_BUILT_IN,
        Network::Shorthand => POINT_SHORTHAND,
        Network::SeedQuestion => "a1=62.5,w2=0.8,y=0",
    };
    let case = |command, args: Vec<String>, expected_code, standalone| Case {
        command,
        args,
        expected_code,
        formats: true,
        standalone,
    };
    if let Network::SeedQuestion = network {
        let args = strings(&["eval", "--at", point, "--all", "--stable", "--check-grad"]);
        return vec![case("eval_stable_checkgrad", args, 0, true)];
    }
    let (hidden_weight, claims) = match network {
        Network::BuiltIn => (
            "w2",
            [
                "dC/dw3 = -2(y - a3)*a3*(1 - a3)*a2",
                "dC/db3 = 2(y - a3)*a3*(1 - a3)",
                "a3 = 0.6479",
                "w3' = w3 - eta*dC/dw3",
            ],
        ),
        _ => (
            "w2_1_1",
            [
                "dC/db3_1 = -2(y1 - a3_1)*a3_1*(1 - a3_1)",
                "dC/dw3_1_1 = -2(y1 - a3_1)*a3_1*(1 - a3_1)",
                "a3_1 = 0.5810",
                "w2_1_1' = w2_1_1 - eta*dC/dw2_1_1",
            ],
        ),
    };
    let mut check = strings(&["check"]);
    for claim in claims {
        check.push("--claim".into());
        check.push(claim.into());
    }
    check.extend(strings(&["--at", &format!("{point},eta=0.5")]));

    let mut rows = vec![
        case("derive_all", strings(&["derive", "--all"]), 0, true),
        case(
            "derive_backprop",
            strings(&["derive", "--all", "--style", "backprop"]),
            0,
            true,
        ),
        case(
            "derive_wrt_expand",
            strings(&["derive", "--wrt", hidden_weight, "--expand"]),
            0,
            false,
        ),
        case(
            "eval_all",
            strings(&["eval", "--at", point, "--all"]),
            0,
            true,
        ),
        case(
            "eval_stable_checkgrad",
            strings(&["eval", "--at", point, "--all", "--stable", "--check-grad"]),
            0,
            true,
        ),
        // The second claim is wrong (a sign on the seed, a missing factor on the shorthand).
        case("check", check, 1, true),
        case(
            "step",
            strings(&["step", "--at", point, "--lr", "0.5", "--steps", "2"]),
            0,
            true,
        ),
        Case {
            command: "expand",
            args: strings(&["expand"]),
            expected_code: 0,
            formats: false,
            standalone: false,
        },
    ];
    if let Network::Shorthand = network {
        rows.push(case(
            "derive_layers",
            strings(&["derive", "--layers"]),
            0,
            true,
        ));
    }
    rows
}

/// Puts the FILE argument right after the subcommand, where a user would write it.
fn with_source(args: &[String], file: Option<&str>) -> Vec<String> {
    let mut full = vec![args[0].clone()];
    full.extend(file.map(str::to_string));
    full.extend(args[1..].iter().cloned());
    full
}

fn run_matrix(network: Network) {
    let (file, stdin) = network.source();
    for case in cases(network) {
        let base = with_source(&case.args, file);
        let variants: Vec<(String, Vec<&str>)> = if case.formats {
            let mut variants: Vec<(String, Vec<&str>)> = FORMATS
                .iter()
                .map(|format| (format.to_string(), vec!["--format", format]))
                .collect();
            if case.standalone {
                variants.push((
                    "latexstandalone".to_string(),
                    vec!["--format", "latex", "--standalone"],
                ));
            }
            variants
        } else {
            vec![("text".to_string(), vec![])]
        };
        for (format_label, format_args) in variants {
            let name = format!("{}_{}_{}", case.command, format_label, network.label());
            let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
            args.extend(format_args);
            snapshot(&name, &args, stdin, case.expected_code);
        }
    }
}

#[test]
fn every_command_and_format_on_the_built_in_example() {
    run_matrix(Network::BuiltIn);
}

#[test]
fn every_command_and_format_on_a_2_2_1_shorthand() {
    run_matrix(Network::Shorthand);
}

#[test]
fn eval_stable_check_grad_on_the_saturated_seed_question() {
    run_matrix(Network::SeedQuestion);
}

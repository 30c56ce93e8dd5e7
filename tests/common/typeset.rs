//! The documents the typesetting tests render: shorthand networks of a few shapes (sigmoid,
//! relu with softmax, tanh with cross-entropy and L2, a deeper softplus one), every command
//! with formulas on each (derive in both styles, with and without `--expand`, `--layers`,
//! eval, step, check), and the two large 784-30-10 cases the typesetting must survive.

/// Name, source, inputs, outputs.
pub const NETWORKS: &[(&str, &str, usize, usize)] = &[
    (
        "s221",
        "network 2-2-1\nactivation sigmoid\ncost quadratic\n",
        2,
        1,
    ),
    (
        "r343",
        "network 3-4-3\nactivation relu\nactivation 3 softmax\ncost log-likelihood\n",
        3,
        3,
    ),
    (
        "t232",
        "network 2-3-2\nactivation tanh\ncost cross-entropy\nregularization l2\n",
        2,
        2,
    ),
    (
        "p2332",
        "network 2-3-3-2\nactivation softplus\ncost half-quadratic\n",
        2,
        2,
    ),
];

/// One document to write: a name for its file, and the arguments (without `--format`).
pub struct Run {
    pub name: String,
    pub args: Vec<String>,
    /// `--expand` may refuse (exit 2) a result too large to print.
    pub may_refuse: bool,
}

fn run(name: String, args: &[&str]) -> Run {
    Run {
        may_refuse: args.contains(&"--expand"),
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

/// Every command with formulas on the network in `file` (`inputs` inputs, `outputs` outputs,
/// `layers` layers counting the input), and the 784-30-10 cases.
pub fn runs(dir: &std::path::Path) -> Vec<Run> {
    let mut out = Vec::new();
    for (name, source, inputs, outputs) in NETWORKS {
        let file = dir.join(format!("{name}.bp"));
        std::fs::write(&file, source).unwrap();
        let file = file.display().to_string();
        let layers = source.lines().next().unwrap().split('-').count();
        let at: Vec<String> = (1..=*inputs)
            .map(|i| format!("x{i}=0.{i}"))
            .chain((1..=*outputs).map(|j| format!("y{j}={}", u8::from(j == 1))))
            .collect();
        let at = at.join(",");
        for style in ["chain", "backprop"] {
            out.push(run(
                format!("{name}_{style}"),
                &["derive", &file, "--all", "--style", style],
            ));
            out.push(run(
                format!("{name}_{style}_expand"),
                &["derive", &file, "--all", "--style", style, "--expand"],
            ));
        }
        out.push(run(
            format!("{name}_layers"),
            &["derive", &file, "--layers"],
        ));
        // The regularised shapes leave `lambda` and `n` to zeros, asked for.
        let init = ["--init", "random", "--seed", "1", "--init-inputs", "zero"];
        let mut eval = vec!["eval", &file, "--all", "--at", &at];
        eval.extend(init);
        out.push(run(format!("{name}_eval"), &eval));
        let mut step = vec!["step", &file, "--at", &at, "--lr", "0.5", "--steps", "2"];
        step.extend(init);
        out.push(run(format!("{name}_step"), &step));
        let claim = format!("dC/db{layers}_1 = a{layers}_1 - y1");
        out.push(run(
            format!("{name}_check"),
            &["check", &file, "--claim", &claim],
        ));
    }
    let mnist = "examples/mnist_784_30_10.bp";
    out.push(run(
        "mnist_backprop".into(),
        &["derive", mnist, "--wrt", "w3_10_30", "--style", "backprop"],
    ));
    out.push(run("mnist_input".into(), &["derive", mnist, "--wrt", "x1"]));
    out
}

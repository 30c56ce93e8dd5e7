//! Whether a test that needs an outside tool (pdflatex, Chromium, node with KaTeX) may run.
//! CI installs every tool (`.ci/run`), so under CI a missing one is a failure, never a
//! silent pass; on a developer's machine without it the test says so on stderr and checks
//! nothing else.

/// Whether CI is running: any `CI` value but empty, `false` or `0` (CI services set `true`,
/// some `1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "false" | "0"))
}

/// `found` as it is, after failing under CI when it is false (naming how `.ci/run`
/// installs `tool`) and noting on stderr, elsewhere, that the tests needing it did not run.
pub fn available(tool: &str, found: bool, installed_by: &str) -> bool {
    if !found {
        assert!(
            !in_ci(),
            "CI is set but {tool} is missing: .ci/run installs it ({installed_by})"
        );
        eprintln!("note: {tool} is not installed here; the tests that need it did not run");
    }
    found
}

/// Whether `program --version` runs.
pub fn runs(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether pdflatex may be used (see [`available`]).
pub fn pdflatex_available() -> bool {
    available("pdflatex", runs("pdflatex"), "Debian's TeX Live packages")
}

/// Compiles `tex` with pdflatex in its own folder, stopping at the first error, and fails
/// the test, with pdflatex's output, when it does not compile.
pub fn compile_latex(tex: &std::path::Path) {
    let out = std::process::Command::new("pdflatex")
        .args(["-interaction=nonstopmode", "-halt-on-error"])
        .arg(tex)
        .current_dir(tex.parent().expect("a file in a folder"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pdflatex failed on {}:\n{}",
        tex.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

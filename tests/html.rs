//! `--format html`: one self-contained page per command, math as MathML, nothing fetched from
//! the network, every user string inert; and `completions`. The pages are opened in a real
//! browser by tests/browser.rs.

use assert_cmd::Command;

fn chainrule() -> Command {
    Command::cargo_bin("chainrule").expect("the binary builds")
}

const AT: &str = "x=1,y=0,w2=0.5,b2=0.1,w3=1,b3=0";

fn page(args: &[&str]) -> String {
    let out = chainrule()
        .args(args)
        .args(["--format", "html"])
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What every page must be: a whole document, formulas as MathML with none left unconverted,
/// and nothing that would load from elsewhere.
fn assert_self_contained(html: &str, what: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{what}");
    assert!(html.trim_end().ends_with("</html>"), "{what}");
    // eval's document is tables of numbers, with no formula.
    if what != "eval" {
        assert!(html.contains("<math"), "{what}: no MathML");
    }
    assert!(
        !html.contains("class=\"math-error\""),
        "{what}: a formula failed"
    );
    for fetch in [
        "<link", " src=", "url(", "@import", "<script", "<iframe", "$$",
    ] {
        assert!(!html.contains(fetch), "{what}: contains {fetch}");
    }
    assert!(html.contains("prefers-color-scheme: dark"), "{what}");
    assert!(html.contains("name=\"viewport\""), "{what}");
}

#[test]
fn every_command_writes_a_self_contained_page() {
    let pages = [
        ("derive", page(&["derive", "--wrt", "w2"])),
        (
            "derive backprop",
            page(&["derive", "--all", "--style", "backprop"]),
        ),
        (
            "layers",
            page(&["derive", "--layers", "examples/network_2_3_1.bp"]),
        ),
        ("eval", page(&["eval", "--at", AT, "--wrt", "w2"])),
        (
            "check",
            page(&["check", "--claim", "dC/dw3 = -2(y - a3)*a3*(1 - a3)"]),
        ),
        ("step", page(&["step", "--at", AT, "--lr", "0.5"])),
        (
            "train",
            page(&["train", "examples/seed_training.bp", "--epochs", "30"]),
        ),
    ];
    for (what, html) in &pages {
        assert_self_contained(html, what);
    }
    // The derivation's result is there as MathML: ∂C/∂w2 as a fraction.
    assert!(pages[0].1.contains("<mfrac>"));
    // The check names the missing factor in prose; the train page draws its loss curve inline.
    assert!(pages[4].1.contains("incorrect"), "{}", pages[4].1);
    assert!(pages[6].1.contains("<figure class=\"figure\"><svg"));
    assert!(pages[6].1.contains("mean cost C per epoch"));
}

#[test]
fn user_strings_are_inert() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("x<script>\"y");
    std::fs::create_dir(&folder).unwrap();
    let file = folder.join("n<script>\"'.bp");
    std::fs::write(
        &file,
        "input x\ntarget y\n\
         param w as \"w^{<script>alert(1)</script>}\", b as \"\\text{<img src=x onerror=alert(1)>}\"\n\
         show z as \"z_{\\text{><script>}}\"\n\
         z = w*x + b\ncost C = (y - z)^2\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let pages = [
        page(&["derive", "--all", file]),
        page(&["eval", "--at", "x=1,y=0,w=1,b=0", "--all", file]),
        page(&["check", file, "--claim", "dC/dw = -2(y - z)"]),
        page(&["step", file, "--at", "x=1,y=0,w=1,b=0", "--lr", "0.1"]),
    ];
    for html in &pages {
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script"), "{html}");
        assert!(!lower.contains("<img"), "{html}");
        // The attribute survives only as text, after an escaped `<`.
        assert!(!lower.contains("<img src=x onerror"), "{html}");
    }
    // A claim holding markup is not a formula: refused before any page is written.
    let out = chainrule()
        .args(["check", file, "--format", "html", "--claim"])
        .arg("\\frac{\\partial C}{\\partial w} = \"<script>alert(2)</script>\"")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    // The strings are shown, escaped, not dropped.
    assert!(pages[0].contains("&lt;script&gt;"));
    assert!(pages[0].contains("<title>Derivatives of "));
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef chainrule"),
        ("fish", "complete -c chainrule"),
    ] {
        let out = chainrule().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}");
        assert!(script.contains("train"), "{shell}: the train command");
        assert!(script.contains("epochs"), "{shell}: train's options");
    }
}

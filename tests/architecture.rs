//! The layers of `src/` import only from below: core ← lang ← analysis ← render ← the facade
//! (`lib.rs`) and the binary (`main.rs`, `cli/`). This test reads every `crate::` path in the
//! library's sources (test modules excepted) and names the file and line of each upward one.

use std::path::{Path, PathBuf};

/// The layers, bottom first; a file may use its own layer and those before it.
const LAYERS: [&str; 4] = ["core", "lang", "analysis", "render"];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

/// The layer a source file belongs to, from its path under `src/` (`None` for the facade and
/// the binary, which may use everything).
fn layer_of(relative: &Path) -> Option<usize> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    rank(first)
}

/// Every upward import in one file, as `file:line: ...` messages.
fn violations(relative: &Path, text: &str) -> Vec<String> {
    let Some(own) = layer_of(relative) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        // Each `crate::NAME`, and each item of a group `use crate::{core::…, render::…}`.
        let mut imported: Vec<&str> = code
            .match_indices("crate::")
            .map(|(at, _)| leading_name(&code[at + "crate::".len()..]))
            .collect();
        if let Some(group) = code.split("crate::{").nth(1) {
            imported.extend(group.split(',').map(|item| leading_name(item.trim())));
        }
        for name in imported {
            if let Some(target) = rank(name)
                && target > own
            {
                found.push(format!(
                    "{}:{}: the {} layer imports `crate::{}` from the {} layer above it",
                    relative.display(),
                    n + 1,
                    LAYERS[own],
                    name,
                    LAYERS[target]
                ));
            }
        }
    }
    found
}

/// The first path segment of `text`.
fn leading_name(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Upward imports still being removed (file and imported layer); each entry must still occur,
/// so the list only shrinks.
const BEING_REMOVED: &[(&str, &str)] = &[];

#[test]
fn no_layer_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    assert!(files.len() > 20, "the sources were found");
    let mut all = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        all.extend(violations(file.strip_prefix(&src).unwrap(), &text));
    }
    for (file, layer) in BEING_REMOVED {
        let pattern = format!("imports `crate::{layer}`");
        assert!(
            all.iter()
                .any(|v| v.starts_with(&format!("{file}:")) && v.contains(&pattern)),
            "{file} no longer imports from {layer}: remove it from BEING_REMOVED"
        );
    }
    all.retain(|v| {
        !BEING_REMOVED.iter().any(|(file, layer)| {
            v.starts_with(&format!("{file}:")) && v.contains(&format!("imports `crate::{layer}`"))
        })
    });
    assert!(all.is_empty(), "upward imports:\n{}", all.join("\n"));
}

#[test]
fn a_planted_upward_import_is_caught_with_its_file_and_line() {
    let planted =
        "//! A core module.\n\nuse crate::core::expr::Graph;\nuse crate::render::FormulaPrinter;\n";
    let found = violations(Path::new("core/planted.rs"), planted);
    assert_eq!(
        found,
        vec![
            "core/planted.rs:4: the core layer imports `crate::render` from the render layer above it"
                .to_string()
        ]
    );
    let grouped = "use crate::{lang::ast::Expr, analysis::check};\n";
    let found = violations(Path::new("lang/planted.rs"), grouped);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("lang/planted.rs:1:"), "{found:?}");
    // Downward and sideways imports are fine, and so are test modules.
    let fine = "use crate::core::expr::Graph;\nuse crate::lang::ast::Span;\n#[cfg(test)]\nmod tests { use crate::render::x; }\n";
    assert!(violations(Path::new("analysis/fine.rs"), fine).is_empty());
    // The facade and the binary may use every layer.
    assert!(violations(Path::new("lib.rs"), planted).is_empty());
}

//! The layers of `src/` import only from below: core ← lang ← analysis ← render ← the facade
//! (`lib.rs`, and the Python module beside it) ← the binary (`main.rs`, `cli/`), which reaches
//! the library through the facade's names alone. No modules import each other in a circle,
//! within a layer or across layers.
//!
//! Every source file is read with `syn` (test modules excepted): each `use` tree, grouped or
//! nested over many lines, and each path written in code (`crate::render::x()`), resolved from
//! `crate::`, `self::` and any number of `super::` to the module it names. A re-export through
//! `lib.rs` (`use crate::FormulaPrinter` in `core/`) is an import of the facade, which ranks
//! above every layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The layers, bottom first; a file may use its own layer and those before it.
const LAYERS: [&str; 4] = ["core", "lang", "analysis", "render"];
/// The rank of the facade (`lib.rs`, `python.rs` and the names `lib.rs` exports).
const FACADE: usize = LAYERS.len();
/// The rank of the binary (`main.rs`, `cli/`).
const BINARY: usize = FACADE + 1;

fn rank_name(rank: usize) -> &'static str {
    match rank {
        r if r < FACADE => LAYERS[r],
        FACADE => "facade",
        _ => "cli",
    }
}

/// A source file: which crate it belongs to, its module path and its rank.
struct Module {
    file: String,
    binary: bool,
    path: Vec<String>,
    rank: usize,
}

impl Module {
    fn of(relative: &str) -> Module {
        let binary = relative == "main.rs" || relative.starts_with("cli/");
        let mut path: Vec<String> = relative
            .trim_end_matches(".rs")
            .split('/')
            .map(str::to_string)
            .collect();
        if matches!(
            path.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            path.pop();
        }
        let rank = if binary {
            BINARY
        } else {
            path.first()
                .and_then(|first| LAYERS.iter().position(|l| l == first))
                .unwrap_or(FACADE)
        };
        Module {
            file: relative.to_string(),
            binary,
            path,
            rank,
        }
    }
}

/// A path a file names, resolved: `library` when it names the library crate (from the library
/// itself, or as `chainrule::` from the binary), with its segments from that crate's root.
struct Reach {
    library: bool,
    segments: Vec<String>,
    line: usize,
}

/// Collects every `crate::`, `self::`, `super::` and `chainrule::` path of a file, outside
/// `#[cfg(test)]` modules; `inner` is the module path of the inline module being read.
struct Reaches<'m> {
    module: &'m Module,
    /// The module paths of the crate the file is in (to resolve `child::x` from a parent).
    known: &'m BTreeSet<Vec<String>>,
    inner: Vec<String>,
    found: Vec<Reach>,
}

impl Reaches<'_> {
    fn resolve(&mut self, segments: Vec<String>, line: usize) {
        let Some(first) = segments.first() else {
            return;
        };
        let here: Vec<String> = self
            .module
            .path
            .iter()
            .chain(&self.inner)
            .cloned()
            .collect();
        let (library, absolute) = match first.as_str() {
            "crate" => (!self.module.binary, segments[1..].to_vec()),
            "chainrule" if self.module.binary => (true, segments[1..].to_vec()),
            "self" => (!self.module.binary, [&here[..], &segments[1..]].concat()),
            "super" => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                let kept = here.len().saturating_sub(ups);
                (
                    !self.module.binary,
                    [&here[..kept], &segments[ups..]].concat(),
                )
            }
            // A child module named from its parent (`use args::Cli;` in `cli/mod.rs`).
            child
                if self
                    .known
                    .contains(&[&here[..], &[child.to_string()]].concat()) =>
            {
                (!self.module.binary, [&here[..], &segments[..]].concat())
            }
            _ => return,
        };
        self.found.push(Reach {
            library,
            segments: absolute,
            line,
        });
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree, line: usize) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree, line);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix.clone();
                if n.ident != "self" {
                    path.push(n.ident.to_string());
                }
                self.resolve(path, line);
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string());
                }
                self.resolve(path, line);
            }
            syn::UseTree::Glob(_) => self.resolve(prefix.clone(), line),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item, line_of(item));
                }
            }
        }
    }
}

fn line_of(node: &impl syn::spanned::Spanned) -> usize {
    node.span().start().line
}

fn is_test_module(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

impl<'ast> Visit<'ast> for Reaches<'_> {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if is_test_module(&item.attrs) {
            return;
        }
        self.inner.push(item.ident.to_string());
        syn::visit::visit_item_mod(self, item);
        self.inner.pop();
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree, line_of(&item.tree));
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve(segments, line_of(path));
        syn::visit::visit_path(self, path);
    }
}

/// What the checker found in a set of source files.
#[derive(Debug, Default)]
struct Findings {
    /// Imports against the ranks, as `file:line: ...`.
    upward: Vec<String>,
    /// Each circle of modules that import each other, as their module paths (`core/diff`;
    /// the binary's as `main:cli/args`).
    circles: Vec<Vec<String>>,
}

/// Checks source files given as (path under `src/`, text).
fn check(files: &[(String, String)]) -> Findings {
    let modules: Vec<Module> = files.iter().map(|(f, _)| Module::of(f)).collect();
    let library_modules: BTreeMap<Vec<String>, usize> = modules
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.binary)
        .map(|(i, m)| (m.path.clone(), i))
        .collect();
    let binary_modules: BTreeMap<Vec<String>, usize> = modules
        .iter()
        .enumerate()
        .filter(|(_, m)| m.binary)
        .map(|(i, m)| (m.path.clone(), i))
        .collect();
    // `chainrule::render` alone is the facade's function, not the module of the same name.
    let facade_functions: BTreeSet<String> = files
        .iter()
        .filter(|(f, _)| f == "lib.rs")
        .flat_map(|(_, text)| syn::parse_file(text).expect("lib.rs parses").items)
        .filter_map(|item| match item {
            syn::Item::Fn(f) => Some(f.sig.ident.to_string()),
            _ => None,
        })
        .collect();
    let mut findings = Findings::default();
    // Which module imports which, by module path, within each crate.
    let mut imports: BTreeSet<(bool, Vec<String>, Vec<String>)> = BTreeSet::new();
    for (i, ((_, text), module)) in files.iter().zip(&modules).enumerate() {
        let parsed =
            syn::parse_file(text).unwrap_or_else(|e| panic!("{} does not parse: {e}", module.file));
        let known: BTreeSet<Vec<String>> = if module.binary {
            binary_modules.keys().cloned().collect()
        } else {
            library_modules.keys().cloned().collect()
        };
        let mut reaches = Reaches {
            module,
            known: &known,
            inner: Vec::new(),
            found: Vec::new(),
        };
        reaches.visit_file(&parsed);
        for reach in reaches.found {
            let Some(first) = reach.segments.first() else {
                continue;
            };
            if reach.library {
                let target = LAYERS.iter().position(|l| l == first).unwrap_or(FACADE);
                let facade_function = reach.segments.len() == 1 && facade_functions.contains(first);
                if module.binary && target < FACADE && !facade_function {
                    findings.upward.push(format!(
                        "{}:{}: the binary reaches past the facade to `chainrule::{}`",
                        module.file,
                        reach.line,
                        reach.segments.join("::")
                    ));
                } else if !module.binary && target > module.rank {
                    findings.upward.push(format!(
                        "{}:{}: the {} layer imports `crate::{}` from the {} above it",
                        module.file,
                        reach.line,
                        rank_name(module.rank),
                        reach.segments.join("::"),
                        rank_name(target)
                    ));
                }
            }
            // Within a crate, the module the path leads into (its longest known prefix).
            if reach.library == module.binary {
                continue;
            }
            let known = if module.binary {
                &binary_modules
            } else {
                &library_modules
            };
            let target = (1..=reach.segments.len())
                .rev()
                .find_map(|n| known.get(&reach.segments[..n]).copied());
            if let Some(t) = target.filter(|&t| t != i) {
                imports.insert((module.binary, module.path.clone(), modules[t].path.clone()));
            }
        }
    }
    findings.circles = circles(&imports);
    findings
}

/// The circles among modules. A folder is one module to the modules beside it: an import
/// from `a/x` to `b/y` is an edge `a → b` where `a` and `b` sit side by side; a module and
/// the modules inside it (a `mod.rs` and its files) are one unit, and their imports of each
/// other are not circles.
fn circles(imports: &BTreeSet<(bool, Vec<String>, Vec<String>)>) -> Vec<Vec<String>> {
    let mut nodes: BTreeMap<(bool, Vec<String>), usize> = BTreeMap::new();
    let mut pairs = Vec::new();
    for (binary, from, to) in imports {
        let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        if common == from.len() || common == to.len() {
            continue;
        }
        let mut node = |path: &[String]| {
            let next = nodes.len();
            *nodes.entry((*binary, path.to_vec())).or_insert(next)
        };
        let a = node(&from[..=common]);
        let b = node(&to[..=common]);
        pairs.push((a, b));
    }
    let mut edges = vec![BTreeSet::new(); nodes.len()];
    for (a, b) in pairs {
        edges[a].insert(b);
    }
    let names: BTreeMap<usize, String> = nodes
        .iter()
        .map(|((binary, path), &i)| {
            let root = if *binary { "main:" } else { "" };
            (i, format!("{root}{}", path.join("/")))
        })
        .collect();
    let mut found: Vec<Vec<String>> = strongly_connected(&edges)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut members: Vec<String> = c.iter().map(|i| names[i].clone()).collect();
            members.sort();
            members
        })
        .collect();
    found.sort();
    found
}

/// Tarjan's strongly connected components of a directed graph given by adjacency sets.
fn strongly_connected(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct State<'e> {
        edges: &'e [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn connect(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in s.edges[v].iter() {
            match s.index[w] {
                None => {
                    connect(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let n = edges.len();
    let mut state = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if state.index[v].is_none() {
            connect(&mut state, v);
        }
    }
    state.out
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

fn the_sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    assert!(files.len() > 20, "the sources were found");
    files
        .iter()
        .map(|f| {
            (
                f.strip_prefix(&src).unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(f).unwrap(),
            )
        })
        .collect()
}

/// Reaches past the facade still being removed (file and the path it reaches); each must
/// still occur, so the list only shrinks.
const BEING_REMOVED: &[(&str, &str)] = &[];

/// Circles tolerated while they are being removed (folders whose files import each other);
/// each must still occur, so the list only shrinks. The last one, the second derivation
/// engine of `derive --layers`, went when the layered derivation moved onto the one engine.
const KNOWN_CIRCLES: &[&str] = &[];

#[test]
fn no_layer_imports_from_a_layer_above_it_and_the_binary_uses_the_facade_alone() {
    let findings = check(&the_sources());
    let mut upward = findings.upward;
    for (file, reached) in BEING_REMOVED {
        let pattern = format!("`chainrule::{reached}");
        assert!(
            upward
                .iter()
                .any(|v| v.starts_with(&format!("{file}:")) && v.contains(&pattern)),
            "{file} no longer reaches {reached}: remove it from BEING_REMOVED"
        );
    }
    upward.retain(|v| {
        !BEING_REMOVED.iter().any(|(file, reached)| {
            v.starts_with(&format!("{file}:")) && v.contains(&format!("`chainrule::{reached}"))
        })
    });
    assert!(
        upward.is_empty(),
        "imports against the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let circles = check(&the_sources()).circles;
    for known in KNOWN_CIRCLES {
        assert!(
            circles
                .iter()
                .any(|c| c.iter().all(|f| f.starts_with(known))),
            "the circle in {known} is gone: remove it from KNOWN_CIRCLES"
        );
    }
    let unknown: Vec<String> = circles
        .iter()
        .filter(|c| {
            !KNOWN_CIRCLES
                .iter()
                .any(|known| c.iter().all(|f| f.starts_with(known)))
        })
        .map(|c| c.join(" ↔ "))
        .collect();
    assert!(
        unknown.is_empty(),
        "import circles:\n{}",
        unknown.join("\n")
    );
}

fn planted(files: &[(&str, &str)]) -> Findings {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    check(&files)
}

#[test]
fn a_planted_upward_import_is_caught_with_its_file_and_line() {
    let found = planted(&[(
        "core/planted.rs",
        "//! A core module.\n\nuse crate::core::expr::Graph;\nuse crate::render::FormulaPrinter;\n",
    )]);
    assert_eq!(
        found.upward,
        vec![
            "core/planted.rs:4: the core layer imports `crate::render::FormulaPrinter` from the \
             render above it"
                .to_string()
        ]
    );
}

#[test]
fn a_multi_line_group_and_a_path_in_code_are_caught() {
    let grouped = "use crate::{\n    lang::ast::Expr,\n    analysis::check::{\n        Checked,\n    },\n};\n";
    let found = planted(&[("lang/planted.rs", grouped)]);
    assert_eq!(found.upward.len(), 1, "{found:?}");
    assert!(
        found.upward[0].starts_with("lang/planted.rs:4:"),
        "{found:?}"
    );
    let in_code = "fn f() -> usize {\n    crate::render::width(\"x\")\n}\n";
    let found = planted(&[("core/planted.rs", in_code)]);
    assert_eq!(found.upward.len(), 1, "{found:?}");
    assert!(
        found.upward[0].starts_with("core/planted.rs:2:"),
        "{found:?}"
    );
}

#[test]
fn a_re_export_through_lib_rs_and_super_super_are_caught() {
    // The facade's names rank above every layer: `crate::FormulaPrinter` is render's printer
    // re-exported, reached from core.
    let found = planted(&[("core/planted.rs", "use crate::FormulaPrinter;\n")]);
    assert_eq!(found.upward.len(), 1, "{found:?}");
    assert!(
        found.upward[0].contains("from the facade above it"),
        "{found:?}"
    );
    // From core/diff/planted.rs, three `super`s lead to the crate's root.
    let found = planted(&[(
        "core/diff/planted.rs",
        "use super::super::super::render::FormulaPrinter;\nuse super::Step;\n",
    )]);
    assert_eq!(found.upward.len(), 1, "{found:?}");
    assert!(
        found.upward[0].contains("`crate::render::FormulaPrinter`"),
        "{found:?}"
    );
}

#[test]
fn the_binary_may_use_the_facade_and_nothing_below_it() {
    let cli = "use chainrule::{Model, render};\nuse chainrule::core::expr::Id;\n\
               fn f() { chainrule::analysis::numeric::forward(); chainrule::derive(); }\n";
    let facade = "pub fn render() {}\npub fn derive() {}\n";
    let found = planted(&[("cli/planted.rs", cli), ("lib.rs", facade)]);
    assert_eq!(found.upward.len(), 2, "{found:?}");
    assert!(
        found
            .upward
            .iter()
            .all(|v| v.contains("reaches past the facade"))
    );
    // The facade may use every layer; test modules are not read.
    let fine =
        "use crate::render::FormulaPrinter;\n#[cfg(test)]\nmod tests { use crate::cli::x; }\n";
    let found = planted(&[("lib.rs", fine)]);
    assert!(found.upward.is_empty(), "{found:?}");
    let test_only = "#[cfg(test)]\nmod tests { use crate::render::x; }\n";
    assert!(planted(&[("core/fine.rs", test_only)]).upward.is_empty());
}

#[test]
fn a_circle_inside_a_layer_is_caught() {
    let found = planted(&[
        ("core/one.rs", "use crate::core::two::B;\npub struct A;\n"),
        ("core/two.rs", "use super::three::C;\npub struct B;\n"),
        ("core/three.rs", "use crate::core::one::A;\npub struct C;\n"),
        ("core/four.rs", "use crate::core::one::A;\n"),
    ]);
    assert!(found.upward.is_empty(), "{found:?}");
    assert_eq!(
        found.circles,
        vec![vec![
            "core/one".to_string(),
            "core/three".to_string(),
            "core/two".to_string()
        ]]
    );
    // A folder is one module to the modules beside it; a folder's files may use each other
    // and their `mod.rs`.
    let found = planted(&[
        (
            "core/diff/mod.rs",
            "mod rules;\nuse rules::local;\npub struct Step;\n",
        ),
        (
            "core/diff/rules.rs",
            "use super::Step;\nuse crate::core::simplify::Snapshot;\n",
        ),
        (
            "core/simplify.rs",
            "pub struct Snapshot(crate::core::diff::Step);\n",
        ),
    ]);
    assert_eq!(
        found.circles,
        vec![vec!["core/diff".to_string(), "core/simplify".to_string()]]
    );
    // A circle in the binary's modules too.
    let found = planted(&[
        ("cli/a.rs", "use super::b::f;\n"),
        ("cli/b.rs", "fn g() { crate::cli::a::h() }\n"),
    ]);
    assert_eq!(found.circles.len(), 1, "{found:?}");
}

//! docs/json.md is what users read about `--format json`; this test keeps it true. It reads the
//! page in a simple, fixed way:
//!
//! - a command's section is a `## ` heading whose text is the command in backticks
//!   (`` ## `derive --layers` ``);
//! - its field list is every bullet line under the section's `### Fields` heading (up to the
//!   next heading) that starts with a name in backticks: `` - `name` (type): meaning ``. Two
//!   more spaces of indentation put a field inside the one above it: in each element of an
//!   array, in the object, or, when the type of the field above starts with `map`, in each
//!   value of that object. Lines that do not start with `- ` continue the bullet above;
//! - a field whose parenthesis says `present only` appears in some documents and not others;
//! - a table of kinds is the rows of the table under a `### … kinds` heading; the first cell
//!   of a row is one code in backticks (the mistake table's third cell names the other fields
//!   a mistake may carry).
//!
//! Each section is checked against the binary run with `--format json` on fixed inputs: every
//! field listed is in every document where its parent is (a `present only` field in at least
//! one), every field appears at least once, and no document has a field the page does not
//! list. The warning and mistake kinds must be exactly the program's codes, read through the
//! library ([`WarningKind::ALL`], [`Mistake::CODES`]). Formulas the page says parse back are
//! given back to `check`, which must judge them correct.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assert_cmd::Command;
use chainrule::WarningKind;
use chainrule::analysis::check::Mistake;
use serde_json::Value;

const PAGE: &str = include_str!("../docs/json.md");

/// A documented field and the fields inside it.
#[derive(Debug)]
struct Field {
    name: String,
    /// The parenthesis after the name: `array of objects`, `map: label → object`, ...
    kind: String,
    children: Vec<Field>,
}

impl Field {
    fn optional(&self) -> bool {
        self.kind.contains("present only")
    }

    fn is_map(&self) -> bool {
        self.kind.starts_with("map")
    }
}

/// The lines of each `## `command`` section, by command.
fn sections(page: &str) -> BTreeMap<String, Vec<&str>> {
    let mut out: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            current = heading
                .strip_prefix('`')
                .and_then(|h| h.strip_suffix('`'))
                .map(str::to_string);
            if let Some(c) = &current {
                assert!(!out.contains_key(c), "two sections for `{c}`");
                out.insert(c.clone(), Vec::new());
            }
            continue;
        }
        if let Some(c) = &current {
            out.get_mut(c).expect("inserted at the heading").push(line);
        }
    }
    out
}

/// The lines under the `### {title}` heading of a section, up to the next heading.
fn subsection<'a>(lines: &[&'a str], title: &str) -> Vec<&'a str> {
    let start = lines
        .iter()
        .position(|l| l.trim_end() == format!("### {title}"))
        .unwrap_or_else(|| panic!("no `### {title}` heading"));
    lines[start + 1..]
        .iter()
        .take_while(|l| !l.starts_with('#'))
        .copied()
        .collect()
}

/// The field tree of a section's `### Fields` list.
fn fields(lines: &[&str]) -> Vec<Field> {
    // Each bullet with its continuation lines joined: (indentation, text after `- `).
    let mut bullets: Vec<(usize, String)> = Vec::new();
    for line in subsection(lines, "Fields") {
        let body = line.trim_start();
        match (body.strip_prefix("- "), bullets.last_mut()) {
            (Some(text), _) => bullets.push((line.len() - body.len(), text.to_string())),
            (None, Some((_, text))) if !body.is_empty() => {
                text.push(' ');
                text.push_str(body);
            }
            _ => {}
        }
    }
    let mut roots: Vec<Field> = Vec::new();
    for (indent, line) in &bullets {
        let indent = *indent;
        let Some(rest) = line.strip_prefix('`') else {
            continue;
        };
        assert_eq!(indent % 2, 0, "indentation by two spaces: {line}");
        let (name, after) = rest.split_once('`').expect("a closing backtick");
        let kind = after
            .trim_start()
            .strip_prefix('(')
            .and_then(|k| k.split_once(')'))
            .map(|(k, _)| k.to_string())
            .unwrap_or_else(|| panic!("`{name}` has no (type): {line}"));
        let mut level = &mut roots;
        for _ in 0..indent / 2 {
            level = &mut level
                .last_mut()
                .unwrap_or_else(|| panic!("`{name}` is nested under nothing"))
                .children;
        }
        level.push(Field {
            name: name.to_string(),
            kind,
            children: Vec::new(),
        });
    }
    assert!(!roots.is_empty(), "a `### Fields` list with no fields");
    roots
}

/// The codes in the first column of a kinds table, and the backticked names of its third.
fn kinds_table(lines: &[&str], title: &str) -> (Vec<String>, BTreeSet<String>) {
    let mut codes = Vec::new();
    let mut other_fields = BTreeSet::new();
    for line in subsection(lines, title) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // `| code | meaning |` splits into ["", code, meaning, ""].
        let Some(code) = cells
            .get(1)
            .and_then(|c| c.strip_prefix('`'))
            .and_then(|c| c.strip_suffix('`'))
        else {
            continue;
        };
        assert!(!code.contains('`'), "one code a row: {line}");
        codes.push(code.to_string());
        if cells.len() > 4 {
            for (i, part) in cells[3].split('`').enumerate() {
                if i % 2 == 1 {
                    other_fields.insert(part.to_string());
                }
            }
        }
    }
    assert!(!codes.is_empty(), "an empty table under `### {title}`");
    (codes, other_fields)
}

fn run(args: &[&str], dir: &Path) -> Value {
    let output = Command::cargo_bin("chainrule")
        .expect("the binary builds")
        .current_dir(dir)
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("chainrule runs");
    let code = output.status.code();
    let allowed = if args[0] == "check" { 0..=1 } else { 0..=0 };
    assert!(
        code.is_some_and(|c| allowed.contains(&c)),
        "chainrule {args:?} exited {code:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("chainrule {args:?} wrote no JSON ({e})"))
}

/// What a section's checks found over all its documents.
#[derive(Default)]
struct Findings {
    seen: BTreeSet<String>,
    problems: BTreeSet<String>,
}

/// Checks the documented `fields` against `value`, the value of the field at `path`.
fn check_fields(
    value: &Value,
    parent: Option<&Field>,
    fields: &[Field],
    path: &str,
    found: &mut Findings,
) {
    let objects: Vec<&serde_json::Map<String, Value>> = match value {
        Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
        Value::Object(map) if parent.is_some_and(Field::is_map) => {
            map.values().filter_map(Value::as_object).collect()
        }
        Value::Object(map) => vec![map],
        _ => Vec::new(),
    };
    for object in objects {
        for field in fields {
            let here = format!("{path}.{}", field.name);
            match object.get(&field.name) {
                Some(v) => {
                    found.seen.insert(here.clone());
                    check_fields(v, Some(field), &field.children, &here, found);
                }
                None if field.optional() => {}
                None => {
                    found.problems.insert(format!("`{here}` is missing"));
                }
            }
        }
        // The page lists every field a document has (a mistake's fields by kind, in its table;
        // maps and the leaves below the documented fields are data, not fields).
        if !fields.is_empty() {
            for key in object.keys() {
                if !fields.iter().any(|f| &f.name == key) {
                    found
                        .problems
                        .insert(format!("`{path}.{key}` is not in docs/json.md"));
                }
            }
        }
    }
}

/// Runs every document of a section and checks its fields.
fn check_section(command: &str, documents: &[Value]) {
    let page = sections(PAGE);
    let lines = page
        .get(command)
        .unwrap_or_else(|| panic!("docs/json.md has no section `## `{command}``"));
    let fields = fields(lines);
    let mut found = Findings::default();
    for doc in documents {
        check_fields(doc, None, &fields, command, &mut found);
    }
    fn every_path(fields: &[Field], path: &str, out: &mut Vec<String>) {
        for f in fields {
            let here = format!("{path}.{}", f.name);
            out.push(here.clone());
            every_path(&f.children, &here, out);
        }
    }
    let mut paths = Vec::new();
    every_path(&fields, command, &mut paths);
    for path in paths {
        if !found.seen.contains(&path) {
            found
                .problems
                .insert(format!("`{path}` is in no document of the test"));
        }
    }
    assert!(
        found.problems.is_empty(),
        "docs/json.md and the output of `{command}` disagree:\n{}",
        found.problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}

fn examples() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `check` judges every claim correct (exit 0).
fn all_correct(file: Option<&str>, claims: &[String]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let claims_file = dir.path().join("claims.txt");
    std::fs::write(&claims_file, claims.join("\n")).expect("the claims are written");
    let mut args: Vec<String> = vec!["check".into()];
    args.extend(file.map(str::to_string));
    args.extend(["--claims".into(), claims_file.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let doc = run(&args, examples());
    for claim in doc["claims"].as_array().expect("claims") {
        assert_eq!(claim["verdict"], "correct", "{claim}");
    }
    assert_eq!(doc["claims"].as_array().map(Vec::len), Some(claims.len()));
}

/// Each derivative, term and step of a derive document, as claims of the formulas it writes
/// (a step `a = b = c` gives `a = b` and `a = c`).
fn claims_of(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let steps = doc["derivatives"]
        .as_array()
        .into_iter()
        .chain(doc["terms"].as_array())
        .flatten()
        .flat_map(|d| d["steps"].as_array().expect("steps"))
        .chain(doc["shared_steps"].as_array().into_iter().flatten());
    for step in steps {
        let sides: Vec<&str> = step["text"].as_str().expect("text").split(" = ").collect();
        for later in &sides[1..] {
            out.push(format!("{} = {later}", sides[0]));
        }
    }
    for d in doc["derivatives"].as_array().expect("derivatives") {
        let target = d["target"].as_str().expect("target");
        out.push(format!(
            "{target} = {}",
            d["result"].as_str().expect("result")
        ));
        if let Some(expanded) = d["expanded"].as_str() {
            out.push(format!("{target} = {expanded}"));
        }
    }
    for t in doc["terms"].as_array().into_iter().flatten() {
        let name = t["name"].as_str().expect("name");
        out.push(format!(
            "{name} = {}",
            t["definition"].as_str().expect("definition")
        ));
    }
    out
}

#[test]
fn derive_documents_have_the_documented_fields_and_parse_back() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let net = dir.path().join("net.bp");
    std::fs::write(&net, "network 2-2-1\n").expect("the program is written");
    let net = net.display().to_string();
    let seed = run(&["derive", "--wrt", "w3"], examples());
    let backprop = run(
        &["derive", &net, "--all", "--style", "backprop"],
        examples(),
    );
    let expanded = run(&["derive", "--all", "--expand", "--no-steps"], examples());
    // The seed's error terms are not shared, so backprop style derives them in their own
    // section (`shared_steps`).
    let seed_backprop = run(&["derive", "--all", "--style", "backprop"], examples());
    // A vector program's gradients in matrix form, each with its shape.
    let matrix_form = run(&["derive", "examples/ng_planar.bp", "--all"], examples());
    check_section(
        "derive",
        &[
            seed.clone(),
            backprop.clone(),
            expanded.clone(),
            seed_backprop,
            matrix_form,
        ],
    );
    // "PLAIN formulas parse back": results, expansions, the error terms' definitions and
    // every step.
    let claims = claims_of(&seed);
    assert!(
        claims.iter().any(|c| c.starts_with("dC/da3 = d/da3(")),
        "{claims:?}"
    );
    all_correct(None, &claims);
    all_correct(None, &claims_of(&expanded));
    let claims = claims_of(&backprop);
    assert!(
        claims.iter().any(|c| c.starts_with("delta3_1 = ")),
        "{claims:?}"
    );
    all_correct(Some(&net), &claims);
}

#[test]
fn derive_layers_documents_have_the_documented_fields() {
    let doc = run(
        &["derive", "examples/network_2_3_1.bp", "--layers"],
        examples(),
    );
    check_section("derive --layers", &[doc]);
}

#[test]
fn eval_documents_have_the_documented_fields_and_kinds() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let unsettled = dir.path().join("unsettled.bp");
    // relu at σ(−1e30), a value the reference only bounds (0 to within its magnitude, with
    // no log form to give its sign): relu' there cannot settle. (`(1 + e^(−1e30)) − 1` no
    // longer serves: the constants cancel exactly and e^(−1e30) is known positive.)
    std::fs::write(
        &unsettled,
        "input x\nparam w\ncost C = relu(sigmoid(-w*x))\n",
    )
    .expect("the program is written");
    let saturated = run(
        &[
            "eval",
            "examples/seed_question.bp",
            "--at",
            "a1=62.5,w2=0.8,y=0",
            "--wrt",
            "w2",
            "--stable",
            "--check-grad",
        ],
        examples(),
    );
    let unsettled = run(
        &[
            "eval",
            &unsettled.display().to_string(),
            "--at",
            "x=1e30,w=1",
            "--wrt",
            "w",
        ],
        examples(),
    );
    let plain = run(
        &[
            "eval",
            "--at",
            "x=1,y=0,w2=0.5,b2=0.5,w3=0.5,b3=0.5",
            "--all",
            "--expr",
            "dC/dw3 / dC/db3",
        ],
        examples(),
    );
    // More derivatives than `--check-grad` compares: a sample, and how many it is of.
    let wide = dir.path().join("wide.bp");
    std::fs::write(&wide, "network 9-9-1\nactivation sigmoid\ncost quadratic\n")
        .expect("the program is written");
    let sampled = run(
        &[
            "eval",
            &wide.display().to_string(),
            "--init",
            "xavier",
            "--init-inputs",
            "zero",
            "--all",
            "--check-grad",
        ],
        examples(),
    );
    // Ten sigmoid layers: the layer view and its vanishing-gradient finding (issue 21).
    let deep = run(
        &[
            "eval",
            "examples/deep_sigmoid_10.bp",
            "--init",
            "xavier",
            "--example",
            "1",
            "--data",
            "examples/deep_sigmoid_10.csv",
        ],
        examples(),
    );
    let documents = [saturated, unsettled, plain, sampled, deep];
    check_section("eval", &documents);

    let page = sections(PAGE);
    let (documented, _) = kinds_table(&page["eval"], "Warning kinds");
    let codes: Vec<String> = WarningKind::ALL
        .iter()
        .map(|k| k.code().to_string())
        .collect();
    assert_eq!(
        documented.iter().collect::<BTreeSet<_>>(),
        codes.iter().collect::<BTreeSet<_>>(),
        "docs/json.md's warning kinds are not WarningKind's codes"
    );
    assert_eq!(documented.len(), codes.len(), "a warning kind listed twice");
    for kind in WarningKind::ALL {
        // JSON writes the kind through serde: it must be the code.
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.code());
    }
    for doc in &documents {
        for w in doc["warnings"].as_array().expect("warnings") {
            let kind = w["kind"].as_str().expect("a kind");
            assert!(
                documented.iter().any(|d| d == kind),
                "`{kind}` undocumented"
            );
        }
    }
}

/// Fails to compile when a warning kind is added, to send whoever adds it to
/// `WarningKind::ALL` and docs/json.md (which the test above keeps equal).
#[allow(dead_code)]
fn every_warning_kind_is_in_all(kind: WarningKind) -> bool {
    match kind {
        WarningKind::Saturation
        | WarningKind::Cancellation
        | WarningKind::Overflow
        | WarningKind::Underflow
        | WarningKind::PrecisionLoss
        | WarningKind::NotANumber
        | WarningKind::DivisionByZero
        | WarningKind::LogDomain
        | WarningKind::SqrtDomain
        | WarningKind::Undefined
        | WarningKind::InputOutOfRange
        | WarningKind::OutsideDomain
        | WarningKind::UnresolvedReference
        | WarningKind::VanishingGradient
        | WarningKind::Tie => WarningKind::ALL.contains(&kind),
    }
}

#[test]
fn check_documents_have_the_documented_fields_and_kinds() {
    let doc = run(
        &[
            "check",
            "--claim",
            "dC/dw2 = 2(a3-y)(sigmoid(z3) - (1 - sigmoid(z3))) w3 a2(1-a2) x",
            "--claim",
            "dC/dw3 = -2(y - a3) a3(1 - a3) a2",
            "--claim",
            "w3' = w3 + eta*dC/dw3",
            "--claim",
            "a3 = 0.5",
            // A flipped argument, and a difference for a product as well (1 − σ(−z3) = σ(z3)).
            "--claim",
            "dC/dw3 = 2(a3 - y) sigmoid(z3)(1 - sigmoid(-z3)) a2",
            "--at",
            "x=1,y=0,w2=0.5,b2=0.5,w3=0.5,b3=0.5",
        ],
        examples(),
    );
    // The page lists a mistake's kind-specific fields in its table, not under Fields: take
    // them out here and check them against the table.
    let page = sections(PAGE);
    let (documented, other_fields) = kinds_table(&page["check"], "Mistake kinds");
    let mut doc = doc;
    let mut mistakes = 0;
    let mut alternatives = 0;
    let mut strip = |mistake: &mut serde_json::Map<String, Value>| {
        mistakes += 1;
        let kind = mistake["kind"].as_str().expect("a kind").to_string();
        assert!(documented.contains(&kind), "`{kind}` undocumented");
        mistake.retain(|key, _| {
            assert!(
                key == "kind" || key == "in_update_gradient" || other_fields.contains(key),
                "the mistake field `{key}` of `{kind}` is not in docs/json.md"
            );
            key == "kind"
        });
    };
    for claim in doc["claims"].as_array_mut().expect("claims") {
        let claim = claim.as_object_mut().expect("a claim");
        if let Some(mistake) = claim.get_mut("mistake").and_then(Value::as_object_mut) {
            strip(mistake);
        }
        // Each alternative is a mistake too, with the fields of its kind.
        if let Some(listed) = claim.get_mut("alternatives").and_then(Value::as_array_mut) {
            alternatives += listed.len();
            for mistake in listed.iter_mut().filter_map(Value::as_object_mut) {
                strip(mistake);
            }
        }
    }
    assert!(mistakes >= 2 && alternatives >= 1, "{doc}");
    // A claim in matrix notation whose shape is wrong carries `shape`.
    let mut matrix = run(
        &[
            "check",
            "examples/ng_planar.bp",
            "--claim",
            "db1 = 1/m * np.sum(dZ1, axis=1)",
            // and one of the right shape but wrong: its point and both values as arrays
            "--claim",
            "dW1 = np.dot(dZ1, X.T)",
        ],
        examples(),
    );
    assert_eq!(matrix["claims"][0]["mistake"]["kind"], "dropped-keepdims");
    assert_eq!(matrix["claims"][1]["mistake"]["kind"], "missing-mean");
    assert!(matrix["claims"][1]["claimed_matrix"].is_array());
    for claim in matrix["claims"].as_array_mut().expect("claims") {
        let kind = claim["mistake"]["kind"]
            .as_str()
            .expect("a kind")
            .to_string();
        assert!(documented.contains(&kind), "`{kind}` undocumented");
        claim["mistake"]
            .as_object_mut()
            .expect("a mistake")
            .retain(|key, _| key == "kind");
    }
    check_section("check", &[doc, matrix]);

    let codes: BTreeSet<&str> = Mistake::CODES.iter().copied().collect();
    assert_eq!(codes.len(), Mistake::CODES.len(), "a code listed twice");
    assert_eq!(
        documented
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        codes,
        "docs/json.md's mistake kinds are not Mistake::CODES"
    );
    assert_eq!(documented.len(), codes.len(), "a mistake kind listed twice");
}

#[test]
fn step_documents_have_the_documented_fields_and_kinds() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let line = dir.path().join("line.bp");
    std::fs::write(&line, "input x\ntarget y\nparam w\ncost C = (y - w*x)^2\n")
        .expect("the program is written");
    let line = line.display().to_string();
    // η = 2 overshoots: the cost rises in every step.
    let rising = run(
        &[
            "step",
            &line,
            "--at",
            "x=1,y=0,w=1",
            "--lr",
            "2",
            "--steps",
            "2",
        ],
        examples(),
    );
    let diverging = run(
        &[
            "step",
            &line,
            "--at",
            "x=1,y=0,w=1",
            "--lr",
            "1e200",
            "--steps",
            "3",
        ],
        examples(),
    );
    // Past 250,000 parameter rows the steps between the first and last are summarised.
    let wide = dir.path().join("wide.bp");
    std::fs::write(
        &wide,
        "network 100-30-10\nactivation sigmoid\ncost quadratic\n",
    )
    .expect("the program is written");
    let long = run(
        &[
            "step",
            &wide.display().to_string(),
            "--init",
            "xavier",
            "--init-inputs",
            "zero",
            "--lr",
            "0.5",
            "--steps",
            "75",
        ],
        examples(),
    );
    // A starting value outside its declared domain.
    let bounded = dir.path().join("bounded.bp");
    std::fs::write(
        &bounded,
        "input x in [0, 1]\ntarget y\nparam w\ncost C = (y - w*x)^2\n",
    )
    .expect("the program is written");
    let outside = run(
        &[
            "step",
            &bounded.display().to_string(),
            "--at",
            "x=1.5,y=0,w=1",
            "--lr",
            "0.1",
        ],
        examples(),
    );
    let page = sections(PAGE);
    let (documented, _) = kinds_table(&page["step"], "Step warning kinds");
    let mut kinds = BTreeSet::new();
    for doc in [&rising, &diverging, &outside] {
        for w in doc["warnings"].as_array().expect("warnings") {
            kinds.insert(w["kind"].as_str().expect("a kind").to_string());
        }
    }
    assert!(kinds.len() >= 3, "{kinds:?}");
    for kind in &kinds {
        assert!(documented.contains(kind), "`{kind}` undocumented");
    }
    // Every optimizer's state and hyperparameters: Adam with weight decay, and momentum.
    let optimizer = |name: &str| {
        run(
            &[
                "step",
                &line,
                "--at",
                "x=1,y=0,w=1",
                "--lr",
                "0.1",
                "--steps",
                "2",
                "--optimizer",
                name,
                "--weight-decay",
                "0.01",
            ],
            examples(),
        )
    };
    let (adam, momentum) = (optimizer("adam"), optimizer("momentum"));
    // A vector program: its parameter arrays as rows, with their shapes.
    let vector = run(
        &[
            "step",
            "examples/ng_planar.bp",
            "--at",
            "X=[[1, 2, -1, 0.5], [0.5, -1, 2, 1]], Y=[1, 0, 1, 0]",
            "--init",
            "xavier",
            "--lr",
            "0.5",
        ],
        examples(),
    );
    check_section(
        "step",
        &[rising, diverging, outside, long, adam, momentum, vector],
    );
}

#[test]
fn train_documents_have_the_documented_fields_and_kinds() {
    let descent = run(
        &["train", "examples/seed_training.bp", "--epochs", "3"],
        examples(),
    );
    let ascent = run(
        &[
            "train",
            "examples/seed_training.bp",
            "--epochs",
            "3",
            "--ascent",
        ],
        examples(),
    );
    let page = sections(PAGE);
    let (documented, _) = kinds_table(&page["train"], "Training verdict kinds");
    let kind = ascent["diverged_kind"].as_str().expect("ascent is named");
    assert!(
        documented.iter().any(|d| d == kind),
        "`{kind}` undocumented"
    );
    // A vector program: its parameter arrays as rows, with their shapes.
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join("layer.bp"),
        "input x[2]\ntarget y[2]\nparam W[2, 2], b[2]\na = sigmoid(W x + b)\ncost C = sum((a - y)^2)\n",
    )
    .expect("the program is written");
    std::fs::write(
        dir.path().join("layer.csv"),
        "x[1],x[2],y[1],y[2]\n0.5,0.2,1,0\n0.1,0.9,0,1\n",
    )
    .expect("the data are written");
    let vector = run(
        &["train", "layer.bp", "--data", "layer.csv", "--epochs", "2"],
        dir.path(),
    );
    check_section("train", &[descent, ascent, vector]);
}

#[test]
fn every_section_of_the_page_is_tested() {
    let tested = [
        "derive",
        "derive --layers",
        "eval",
        "check",
        "step",
        "train",
    ];
    let page = sections(PAGE);
    let sections: Vec<&str> = page.keys().map(String::as_str).collect();
    assert_eq!(
        sections.iter().copied().collect::<BTreeSet<_>>(),
        tested.into_iter().collect::<BTreeSet<_>>()
    );
    // The examples on the page are JSON.
    let mut in_block = false;
    let mut block = String::new();
    let mut blocks = 0;
    for line in PAGE.lines() {
        match (line, in_block) {
            ("```json", false) => in_block = true,
            ("```", true) => {
                serde_json::from_str::<Value>(&block)
                    .unwrap_or_else(|e| panic!("an example is not JSON ({e}):\n{block}"));
                block.clear();
                blocks += 1;
                in_block = false;
            }
            (_, true) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    assert!(blocks >= sections.len(), "an example for each command");
}

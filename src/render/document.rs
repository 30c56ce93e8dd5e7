//! Documents: a derivation laid out as text, Markdown, LaTeX or JSON.
//!
//! Formulas are printed by `render` (Rust code that knows precedence); this module turns the
//! derivation into one serialisable model per format and hands it to a tera template, which
//! only lays out headings, lists and environments. The built-in templates are embedded in the
//! binary; a template directory may override any of them by file name. Templates use `<< >>`,
//! `<% %>` and `<# #>` as delimiters so LaTeX braces never collide with template syntax.
//! JSON is not templated: its fields are a contract with users (docs/json.md), written with serde.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::core::diff::{Derivation, Derivations, Rule, Step, Style, Target};
use crate::core::error::Diagnostic;
use crate::core::expr::{FastMap, Graph, Id, Node, Partial, Sym};
use crate::core::model::Model;
use crate::render::escape::{latex_text, markdown_text, math_span};
use crate::render::linebreak::{
    Printed, STEPS_PER_BLOCK, TEXT_LABEL, display_rows, plain, step_rows,
};
use crate::render::{FormulaPrinter, Notation};

pub use crate::render::format::Format;

/// The built-in templates, by the file name that overrides them.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("derive.txt", include_str!("../../templates/derive.txt")),
    (
        "derive_words.txt",
        include_str!("../../templates/derive_words.txt"),
    ),
    ("layers.txt", include_str!("../../templates/layers.txt")),
    (
        "matrix_words.txt",
        include_str!("../../templates/matrix_words.txt"),
    ),
    ("layers.md", include_str!("../../templates/layers.md")),
    ("layers.tex", include_str!("../../templates/layers.tex")),
    ("warning.txt", include_str!("../../templates/warning.txt")),
    (
        "layer_view.txt",
        include_str!("../../templates/layer_view.txt"),
    ),
    (
        "layer_view.md",
        include_str!("../../templates/layer_view.md"),
    ),
    (
        "layer_view.tex",
        include_str!("../../templates/layer_view.tex"),
    ),
    (
        "layer_view_words.txt",
        include_str!("../../templates/layer_view_words.txt"),
    ),
    (
        "eval_words.txt",
        include_str!("../../templates/eval_words.txt"),
    ),
    ("eval.txt", include_str!("../../templates/eval.txt")),
    ("eval.md", include_str!("../../templates/eval.md")),
    ("eval.tex", include_str!("../../templates/eval.tex")),
    (
        "step_words.txt",
        include_str!("../../templates/step_words.txt"),
    ),
    ("step.txt", include_str!("../../templates/step.txt")),
    (
        "train_words.txt",
        include_str!("../../templates/train_words.txt"),
    ),
    ("train.txt", include_str!("../../templates/train.txt")),
    ("page.html", include_str!("../../templates/page.html")),
    (
        "graph_layers.md",
        include_str!("../../templates/graph_layers.md"),
    ),
    ("train.md", include_str!("../../templates/train.md")),
    ("train.tex", include_str!("../../templates/train.tex")),
    ("step.md", include_str!("../../templates/step.md")),
    ("step.tex", include_str!("../../templates/step.tex")),
    ("check.txt", include_str!("../../templates/check.txt")),
    ("check.md", include_str!("../../templates/check.md")),
    ("check.tex", include_str!("../../templates/check.tex")),
    ("mistake.txt", include_str!("../../templates/mistake.txt")),
    ("method.txt", include_str!("../../templates/method.txt")),
    ("rule.txt", include_str!("../../templates/rule.txt")),
    ("derive.md", include_str!("../../templates/derive.md")),
    (
        "matrix_form.txt",
        include_str!("../../templates/matrix_form.txt"),
    ),
    (
        "matrix_form.md",
        include_str!("../../templates/matrix_form.md"),
    ),
    (
        "matrix_form.tex",
        include_str!("../../templates/matrix_form.tex"),
    ),
    ("derive.tex", include_str!("../../templates/derive.tex")),
    (
        "standalone.tex",
        include_str!("../../templates/standalone.tex"),
    ),
];

/// The templates a command reads (a `--template-dir` overrides these by file name): those
/// named after the command, `layers.*` for `derive --layers`, and `standalone.tex` for the
/// commands whose LaTeX it wraps.
pub fn templates_of(command: &str) -> Vec<&'static str> {
    let stems: &[&str] = match command {
        "derive" => &[
            "rule",
            "derive",
            "derive_words",
            "matrix_form",
            "layers",
            "matrix_words",
            "standalone",
            "page",
        ],
        "check" => &["check", "mistake", "method", "standalone", "page"],
        "eval" => &[
            "eval",
            "eval_words",
            "warning",
            "layer_view",
            "layer_view_words",
            "standalone",
            "page",
        ],
        "step" => &[
            "step",
            "step_words",
            "layer_view",
            "layer_view_words",
            "standalone",
            "page",
        ],
        "train" => &[
            "train",
            "train_words",
            "layer_view",
            "layer_view_words",
            "standalone",
            "page",
        ],
        "graph" => &["derive", "derive_words", "rule", "graph_layers", "page"],
        _ => &[],
    };
    let own = |name: &str| name.split('.').next() == Some(command);
    TEMPLATES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| own(name) || stems.iter().any(|s| name.split('.').next() == Some(s)))
        .collect()
}

/// How a document is laid out.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Templates that replace the built-in ones, by file name (read by the caller).
    pub overrides: BTreeMap<String, String>,
    /// A complete LaTeX document rather than a fragment.
    pub standalone: bool,
    /// The name of the program shown in the heading.
    pub source_name: String,
    /// Where rendering with the user's templates is reported, for a caller that watches it.
    pub watch: TemplateWatch,
}

#[derive(Serialize)]
struct StepView {
    rule: String,
    /// The members of the equation, for a template of the user's (the built-in ones lay out
    /// `rows`, and are not handed these).
    #[serde(skip_serializing_if = "Option::is_none")]
    lhs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rhs: Option<Vec<String>>,
    /// The equation `lhs = rhs…` broken to fit the line: text lines (continuations indented
    /// relative to the first), or LaTeX alignment rows (`lhs &= …`, `&\quad {}+ …`; in
    /// Markdown one row `lhs = …` when it fits).
    rows: Vec<String>,
    /// LaTeX: a new alignment starts at this step (long derivations are set in several, so
    /// that each stays within KaTeX's limits and LaTeX may break pages between them).
    new_block: bool,
}

/// The first direct partial of a document, for the sentence that says what it means (shown
/// once, at the section where it first appears): `(∂C/∂w1)_direct`, the same derivative
/// total (`∂C/∂w1`), the name differentiated (`C`) and the variable (`w1`), printed for the
/// format.
#[derive(Serialize)]
struct DirectNote {
    direct: String,
    total: Option<String>,
    /// The name whose formula is differentiated (none for `∂/∂w (formula)`).
    of: Option<String>,
    wrt: String,
}

#[derive(Serialize)]
struct DerivationView {
    target: String,
    heading: String,
    note: Option<DirectNote>,
    kind: String,
    wrt: String,
    steps: Vec<StepView>,
    /// `target = formula`, for a template of the user's (the built-in ones lay out
    /// `result_rows`, and are not handed it).
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<String>,
    /// `result` broken to fit the line (see [`StepView::rows`]).
    result_rows: Vec<String>,
    expanded: Option<String>,
    expanded_rows: Option<Vec<String>>,
}

/// A named error term: its derivation and its definition, `δ3_1 = ...`.
#[derive(Serialize)]
struct TermView {
    name: String,
    note: Option<DirectNote>,
    /// The adjoint it names, `∂C/∂z3_1`.
    adjoint: String,
    steps: Vec<StepView>,
    definition: String,
    definition_rows: Vec<String>,
}

#[derive(Serialize)]
struct DocumentView {
    /// Whether this piece carries the document's head (its title, the error terms and the
    /// shared steps). The built-in templates are rendered in pieces, the head and then a few
    /// derivations at a time, so that no more than a few derivations' formulas are held at
    /// once; a template of the user's is rendered whole, in one piece with `head` set.
    head: bool,
    /// Whether this piece ends the document (with its last line's end).
    tail: bool,
    source: String,
    style: &'static str,
    terms: Vec<TermView>,
    shared_steps: Vec<StepView>,
    shared_note: Option<DirectNote>,
    /// The name whose error terms the backprop style derives (the cost), as formulas print it.
    error_of: String,
    derivations: Vec<DerivationView>,
}

/// Writes the derivations in the format asked for.
pub fn render_derivations(
    model: &Model,
    derivations: &Derivations,
    style: Style,
    format: Format,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    // Gradients share most of their subterms: print each once across all of them.
    let cache = crate::render::RenderCache::default();
    let printer = FormulaPrinter::with_cache(&model.graph, &model.symbols, &cache);
    if format == Format::Json {
        return Ok(json_document(model, &printer, &cache, derivations));
    }
    let notation = match format {
        Format::Text => Notation::Text,
        Format::Markdown | Format::Latex => Notation::Latex,
        Format::Json => Notation::Plain,
    };
    let template = match format {
        Format::Text => "derive.txt",
        Format::Markdown => "derive.md",
        Format::Latex => "derive.tex",
        Format::Json => unreachable!("JSON is written above"),
    };
    // The built-in template is rendered in pieces; a template of the user's whole.
    let in_pieces = !layout.overrides.contains_key(template);
    let printed = |id: Id| printer.printed(id, notation);
    let print = |id: Id| printer.render(id, notation);
    let tera = templates(layout)?;
    let wording = rule_words(&tera, model, derivations, layout)?;
    let escape_rule = |rule: &Rule| {
        let words = &wording[rule];
        match format {
            Format::Latex => latex_text(words),
            Format::Markdown => markdown_text(words),
            _ => words.clone(),
        }
    };
    let step_views = |steps: &[Step]| -> Vec<StepView> {
        let equations: Vec<Vec<Printed>> = steps
            .iter()
            .map(|s| {
                std::iter::once(printed(s.lhs))
                    .chain(s.rhs.iter().map(|&r| printed(r)))
                    .collect()
            })
            .collect();
        let rules: Vec<String> = steps.iter().map(|s| escape_rule(&s.rule)).collect();
        let rows = step_rows(format, &equations, &rules);
        equations
            .into_iter()
            .zip(rules)
            .zip(rows)
            .enumerate()
            .map(|(n, ((mut members, rule), rows))| {
                let lhs = std::mem::take(&mut members[0].s);
                StepView {
                    rule,
                    lhs: (!in_pieces).then_some(lhs),
                    rhs: (!in_pieces).then(|| members.into_iter().skip(1).map(|m| m.s).collect()),
                    rows,
                    new_block: n > 0 && n % STEPS_PER_BLOCK == 0,
                }
            })
            .collect()
    };
    // A result or definition alone: `label = formula`, broken after a label of `indent`
    // columns in text.
    let display = |label: String, id: Id, indent: usize| {
        display_rows(format, &[plain(label), printed(id)], indent)
    };
    // Sections are built in the order the templates print them, so the note goes with the
    // first section that uses a direct partial.
    // Most documents have no direct partial at all: then no step's formulas need a look.
    let noted = std::cell::Cell::new(!has_direct_partial(&model.graph));
    let note_for = |steps: &[Step]| -> Option<DirectNote> {
        if noted.get() {
            return None;
        }
        let direct = first_direct_partial(model, steps)?;
        noted.set(true);
        let Node::Deriv(of, wrt, _) = *model.graph.node(direct) else {
            unreachable!("found as a derivative")
        };
        let notation = match format {
            Format::Text => Notation::Text,
            _ => Notation::Latex,
        };
        Some(DirectNote {
            direct: print(direct),
            total: match *model.graph.node(of) {
                Node::Var(y) => Some(printer.deriv_label(y, wrt, notation)),
                _ => None,
            },
            of: match *model.graph.node(of) {
                Node::Var(y) => Some(printer.name(y, notation)),
                _ => None,
            },
            wrt: printer.name(wrt, notation),
        })
    };
    let source = match format {
        Format::Latex => latex_text(&layout.source_name),
        Format::Markdown => markdown_text(&layout.source_name),
        _ => layout.source_name.clone(),
    };
    let style = match style {
        Style::Chain => "chain",
        Style::Backprop => "backprop",
    };
    let error_of =
        print(model.graph_var(derivations.error_terms.first().map_or(model.cost, |t| t.of)));
    let derivation_view = |d: &Derivation| DerivationView {
        note: note_for(&d.steps),
        target: d.target.plain_label(model),
        heading: print_target(model, d.target, format),
        kind: model.symbol(d.target.wrt).kind.word().to_string(),
        wrt: model.name(d.target.wrt).to_string(),
        steps: step_views(&d.steps),
        result: (!in_pieces).then(|| {
            format!(
                "{} = {}",
                print_target(model, d.target, format),
                print(d.result)
            )
        }),
        result_rows: display(print_target(model, d.target, format), d.result, TEXT_LABEL),
        expanded: d
            .expanded
            .map(|e| format!("{} = {}", print_target(model, d.target, format), print(e))),
        expanded_rows: d
            .expanded
            .map(|e| display(print_target(model, d.target, format), e, TEXT_LABEL)),
    };
    let mut out = Vec::new();
    let render_piece = |view: &DocumentView, out: &mut Vec<u8>| {
        let context = tera::Context::from_serialize(view).map_err(template_error)?;
        render_into(&tera, template, &context, layout, out)
    };
    let terms = derivations
        .terms
        .iter()
        .map(|t| {
            let name = print(model.graph_var(t.sym));
            TermView {
                note: note_for(&t.steps),
                adjoint: print_target(model, t.target, format),
                steps: step_views(&t.steps),
                definition: format!("{name} = {}", print(t.definition)),
                definition_rows: display(name.clone(), t.definition, TEXT_LABEL),
                name,
            }
        })
        .collect();
    let shared_steps = step_views(&derivations.shared_steps);
    let shared_note = note_for(&derivations.shared_steps);
    let head = DocumentView {
        head: true,
        tail: !in_pieces || derivations.derivations.is_empty(),
        source: source.clone(),
        style,
        terms,
        shared_steps,
        shared_note,
        error_of: error_of.clone(),
        derivations: if in_pieces {
            Vec::new()
        } else {
            derivations
                .derivations
                .iter()
                .map(derivation_view)
                .collect()
        },
    };
    render_piece(&head, &mut out)?;
    drop(head);
    if in_pieces {
        let pieces = derivations
            .derivations
            .len()
            .div_ceil(DERIVATIONS_PER_PIECE);
        for (n, piece) in derivations
            .derivations
            .chunks(DERIVATIONS_PER_PIECE)
            .enumerate()
        {
            // What was printed for the pieces before is not needed again (their shared
            // subterms are the named terms, printed in the head).
            cache.clear();
            let view = DocumentView {
                head: false,
                tail: n + 1 == pieces,
                source: source.clone(),
                style,
                terms: Vec::new(),
                shared_steps: Vec::new(),
                shared_note: None,
                error_of: error_of.clone(),
                derivations: piece.iter().map(derivation_view).collect(),
            };
            render_piece(&view, &mut out)?;
        }
    }
    let body = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    if format == Format::Latex {
        wrap_standalone(&tera, body, &format!("Derivatives of {source}"), layout)
    } else {
        Ok(body)
    }
}

/// How many derivations one piece of a derivation document holds (see [`DocumentView::head`]).
const DERIVATIONS_PER_PIECE: usize = 64;

/// What `rule.txt` words a rule from (as `r`).
#[derive(Serialize)]
struct RuleFacts<'a> {
    code: String,
    chain: bool,
    mentioning: Option<&'a str>,
    of: Option<&'a str>,
    wrt: Option<&'a str>,
    function: Option<&'static str>,
}

/// The words of every rule the derivations' steps use, each worded once by `rule.txt`.
fn rule_words(
    tera: &tera::Tera,
    model: &Model,
    derivations: &Derivations,
    layout: &Layout,
) -> Result<FastMap<Rule, String>, Diagnostic> {
    let steps = derivations
        .terms
        .iter()
        .flat_map(|t| &t.steps)
        .chain(&derivations.shared_steps)
        .chain(derivations.derivations.iter().flat_map(|d| &d.steps));
    let mut words = FastMap::default();
    for step in steps {
        if words.contains_key(&step.rule) {
            continue;
        }
        let name = |s: Sym| model.name(s);
        let (of, wrt) = match step.rule {
            Rule::Independent { of, wrt } => (Some(name(of)), Some(name(wrt))),
            _ => (None, None),
        };
        let facts = RuleFacts {
            code: step.rule.code(),
            chain: step.rule.with_chain_rule(),
            mentioning: match step.rule {
                Rule::Sum { mentioning, .. } => mentioning.map(name),
                _ => None,
            },
            of,
            wrt,
            function: match step.rule {
                Rule::Function { func, .. } => Some(func.name()),
                Rule::Routing(f) => Some(f.name()),
                _ => None,
            },
        };
        let mut context = tera::Context::new();
        context.insert("r", &facts);
        let text = render_bounded(tera, "rule.txt", &context, layout)?;
        words.insert(step.rule.clone(), text.trim().to_string());
    }
    Ok(words)
}

/// Whether the graph holds a direct partial anywhere.
fn has_direct_partial(graph: &Graph) -> bool {
    (0..graph.len()).any(|n| matches!(graph.node(Id(n as u32)), Node::Deriv(_, _, Partial::Direct)))
}

/// The first direct partial in the steps' formulas.
fn first_direct_partial(model: &Model, steps: &[Step]) -> Option<Id> {
    steps.iter().find_map(|s| {
        let roots: Vec<Id> = std::iter::once(s.lhs)
            .chain(s.rhs.iter().copied())
            .collect();
        model
            .graph
            .reachable(&roots)
            .into_iter()
            .find(|&id| matches!(model.graph.node(id), Node::Deriv(_, _, Partial::Direct)))
    })
}

/// `∂C/∂w2` (text), `dC/dw2` (JSON), `\frac{\partial C}{\partial w_2}` (LaTeX and Markdown).
pub(crate) fn print_target(model: &Model, t: Target, format: Format) -> String {
    let of = model.name(t.of);
    let wrt = model.name(t.wrt);
    match format {
        Format::Text => format!("∂{of}/∂{wrt}"),
        Format::Json => format!("d{of}/d{wrt}"),
        Format::Markdown | Format::Latex => format!(
            "\\frac{{\\partial {}}}{{\\partial {}}}",
            crate::lang::names::name_latex(model.symbol(t.of)),
            crate::lang::names::name_latex(model.symbol(t.wrt))
        ),
    }
}

/// Renders a built-in (or overriding) template with a view. With `standalone_title` (LaTeX
/// output) and `--standalone`, the body is wrapped in `standalone.tex` under that title.
pub fn render_template(
    template: &str,
    view: &impl Serialize,
    standalone_title: Option<&str>,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let tera = templates(layout)?;
    let context = tera::Context::from_serialize(view).map_err(template_error)?;
    let body = render_bounded(&tera, template, &context, layout)?;
    match standalone_title {
        Some(title) => wrap_standalone(&tera, body, title, layout),
        None => Ok(body),
    }
}

/// Renders `template` once for each view, reading the templates once: the sentences of a
/// document's warnings, each from its facts.
pub fn render_each<V: Serialize>(
    template: &str,
    views: impl IntoIterator<Item = V>,
    layout: &Layout,
) -> Result<Vec<String>, Diagnostic> {
    let mut views = views.into_iter().peekable();
    if views.peek().is_none() {
        return Ok(Vec::new());
    }
    let tera = templates(layout)?;
    views
        .map(|view| {
            let context = tera::Context::from_serialize(&view).map_err(template_error)?;
            render_bounded(&tera, template, &context, layout)
        })
        .collect()
}

/// The most a template may write. The built-in ones write a few megabytes for the largest
/// networks; a user's template whose loops run away is stopped here instead of filling memory.
pub const MAX_DOCUMENT_BYTES: usize = 256 << 20;

/// Which template is rendering while a user's templates (`--template-dir`) are in play, and
/// since when. A template loop that writes nothing cannot be stopped from inside the template
/// engine, so a caller (the binary) keeps a clone of its layout's watch and looks at it from
/// another thread, refusing a template that runs on.
#[derive(Clone, Debug, Default)]
pub struct TemplateWatch(Arc<Mutex<Option<(Instant, String)>>>);

impl TemplateWatch {
    /// The template being rendered with a user's templates in play, and when it started.
    pub fn rendering(&self) -> Option<(Instant, String)> {
        self.0.lock().map(|started| started.clone()).unwrap_or(None)
    }
}

/// Marks a user's template as rendering on the layout's watch until dropped.
struct RenderingMark<'a>(&'a TemplateWatch);

impl<'a> RenderingMark<'a> {
    fn set(template: &str, layout: &'a Layout) -> Option<RenderingMark<'a>> {
        if layout.overrides.is_empty() {
            return None;
        }
        if let Ok(mut started) = layout.watch.0.lock() {
            *started = Some((Instant::now(), template.to_string()));
        }
        Some(RenderingMark(&layout.watch))
    }
}

impl Drop for RenderingMark<'_> {
    fn drop(&mut self) {
        if let Ok(mut started) = self.0.0.lock() {
            *started = None;
        }
    }
}

/// Renders `template`, refusing to write more than [`MAX_DOCUMENT_BYTES`].
fn render_bounded(
    tera: &tera::Tera,
    template: &str,
    context: &tera::Context,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let mut out = Vec::new();
    render_into(tera, template, context, layout, &mut out)?;
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Renders `template` onto the end of `out`, refusing to let `out` pass
/// [`MAX_DOCUMENT_BYTES`] (a document rendered in pieces is bounded as a whole).
fn render_into(
    tera: &tera::Tera,
    template: &str,
    context: &tera::Context,
    layout: &Layout,
    out: &mut Vec<u8>,
) -> Result<(), Diagnostic> {
    let _mark = RenderingMark::set(template, layout);
    struct Bounded<'o>(&'o mut Vec<u8>, bool);
    impl std::io::Write for Bounded<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0.len() + buf.len() > MAX_DOCUMENT_BYTES {
                self.1 = true;
                return Err(std::io::Error::other("too long"));
            }
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Bounded(out, false);
    match tera.render_to(template, context, &mut out) {
        Ok(()) => Ok(()),
        Err(_) if out.1 => Err(Diagnostic::new(format!(
            "the template `{template}` wrote more than {} MiB; a loop in it runs away",
            MAX_DOCUMENT_BYTES >> 20
        ))
        .with_help("check the template's `for` loops and `range` bounds")),
        Err(e) => Err(template_error(e)),
    }
}

/// With `--standalone`, a LaTeX body wrapped in `standalone.tex` (a document that compiles)
/// under `title`; without, the body as it is. For documents not laid out by a template.
pub fn standalone(body: String, title: &str, layout: &Layout) -> Result<String, Diagnostic> {
    if !layout.standalone {
        return Ok(body);
    }
    wrap_standalone(&templates(layout)?, body, title, layout)
}

fn wrap_standalone(
    tera: &tera::Tera,
    body: String,
    title: &str,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    if !layout.standalone {
        return Ok(body);
    }
    let mut context = tera::Context::new();
    context.insert("body", &body);
    context.insert("source", &latex_text(&layout.source_name));
    context.insert("title", title);
    render_bounded(tera, "standalone.tex", &context, layout)
}

pub(crate) fn templates(layout: &Layout) -> Result<tera::Tera, Diagnostic> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(Vec::<&str>::new());
    tera.set_delimiters(tera::Delimiters {
        block_start: "<%".into(),
        block_end: "%>".into(),
        variable_start: "<<".into(),
        variable_end: ">>".into(),
        comment_start: "<#".into(),
        comment_end: "#>".into(),
    })
    .map_err(template_error)?;
    tera.register_filter("pad", pad);
    tera.register_function("math", math);
    tera.register_function("number", number);
    let chosen: Vec<(String, String)> = TEMPLATES
        .iter()
        .map(|(name, builtin)| {
            let text = layout
                .overrides
                .get(*name)
                .cloned()
                .unwrap_or_else(|| builtin.to_string());
            (name.to_string(), text)
        })
        .collect();
    tera.add_raw_templates(chosen).map_err(template_error)?;
    Ok(tera)
}

/// The `pad` filter of the text layouts: `<< x | pad(width=24) >>` fills with spaces to 24
/// characters (`right=true` aligns to the right); longer text is left as it is.
fn pad(text: &str, kwargs: tera::Kwargs, _: &tera::State) -> tera::TeraResult<String> {
    // A user's template cannot make a line of a gigabyte of spaces.
    let width = kwargs.must_get::<usize>("width")?.min(1 << 12);
    let right = kwargs.get::<bool>("right")?.unwrap_or(false);
    Ok(if right {
        format!("{text:>width$}")
    } else {
        format!("{text:<width$}")
    })
}

/// The `math` function of sentences: `<< math(text="σ(−z)", latex="\\sigma(-z)") >>` is a
/// formula the template writes itself, in both forms ([`math_span`]): the text form in a
/// terminal and JSON, typeset in Markdown and LaTeX.
fn math(kwargs: tera::Kwargs, _: &tera::State) -> tera::TeraResult<String> {
    let text = kwargs.must_get::<&str>("text")?;
    let latex = kwargs.must_get::<&str>("latex")?;
    Ok(math_span(text, latex))
}

/// The `number` function of sentences: `<< number(written="2.2e-308") >>` is a number the
/// template writes itself, as the number formatter sets it in LaTeX (`2.2 \times 10^{-308}`).
fn number(kwargs: tera::Kwargs, _: &tera::State) -> tera::TeraResult<String> {
    let written = kwargs.must_get::<&str>("written")?;
    Ok(math_span(written, &crate::core::number::latex(written)))
}

/// Tera's error as a diagnostic: a syntax or rendering error points into the template (named
/// in [`Diagnostic::file`]); others carry their whole cause chain. Tera's delimiters in its
/// messages are written as this project's (`<< >>`, `<% %>`, `<# #>`).
pub(crate) fn template_error(e: tera::Error) -> Diagnostic {
    let ours = |text: &str| {
        [
            ("`{{`", "`<<`"),
            ("`}}`", "`>>`"),
            ("`{%`", "`<%`"),
            ("`%}`", "`%>`"),
            ("`{#`", "`<#`"),
            ("`#}`", "`#>`"),
        ]
        .iter()
        .fold(text.to_string(), |t, (theirs, ours)| {
            t.replace(theirs, ours)
        })
    };
    let mut error: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(current) = error {
        if let Some(e) = current.downcast_ref::<tera::Error>()
            && let tera::ErrorKind::SyntaxError(report) | tera::ErrorKind::RenderingError(report) =
                e.kind()
        {
            let range = report.span().range.clone();
            let mut diagnostic = Diagnostic::at(
                crate::core::error::Span::new(range.start, range.end),
                format!(
                    "in the template `{}`: {}",
                    report.filename(),
                    ours(report.message())
                ),
                "here",
            );
            diagnostic.file = Some(Box::new(crate::core::error::FileName(
                report.filename().to_string(),
            )));
            return diagnostic;
        }
        error = current.source();
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    let message = message
        .trim_start_matches("error: ")
        .replace(": error: ", ": ");
    Diagnostic::new(format!("a template failed: {}", ours(&message)))
}

#[derive(Serialize)]
struct JsonStep {
    /// The rule's code (its words are the templates').
    rule: String,
    /// The chain rule is applied together with `rule`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    chain: bool,
    text: String,
    latex: String,
}

#[derive(Serialize)]
#[serde(bound = "")]
struct JsonDerivation<I: Iterator<Item = JsonStep> + Clone> {
    target: String,
    result: String,
    result_latex: String,
    result_text: String,
    expanded: Option<String>,
    expanded_latex: Option<String>,
    steps: Lazy<I>,
}

/// A named error term as JSON: `name` and `definition` parse back in the input language
/// (`delta3_1 = ...` is an assignment a program may contain), so a `result` written in terms
/// can be read with them.
#[derive(Serialize)]
#[serde(bound = "")]
struct JsonTerm<I: Iterator<Item = JsonStep> + Clone> {
    name: String,
    /// The adjoint it names: `dC/dz3_1`.
    target: String,
    definition: String,
    definition_latex: String,
    steps: Lazy<I>,
}

/// The JSON document, serialised as it is printed: each derivation's formulas are printed when
/// the writer reaches it, and the printed subterms are forgotten every
/// [`DERIVATIONS_PER_PIECE`] derivations, so that only the text is held whole.
struct JsonDocument<'a> {
    model: &'a Model,
    printer: &'a FormulaPrinter<'a>,
    cache: &'a crate::render::RenderCache,
    derivations: &'a Derivations,
}

impl<'a> Serialize for JsonDocument<'a> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (model, printer, derivations) = (self.model, self.printer, self.derivations);
        let steps = |steps: &'a [Step]| Lazy(steps.iter().map(|s| json_step(printer, s)));
        let mut doc = serializer.serialize_struct("JsonDocument", 3)?;
        // Named `derivatives` in docs/json.md, which users rely on.
        doc.serialize_field(
            "derivatives",
            &Lazy(derivations.derivations.iter().enumerate().map(|(n, d)| {
                if n > 0 && n % DERIVATIONS_PER_PIECE == 0 {
                    self.cache.clear();
                }
                JsonDerivation {
                    target: d.target.plain_label(model),
                    result: printer.plain(d.result),
                    result_latex: printer.latex(d.result),
                    result_text: printer.text(d.result),
                    expanded: d.expanded.map(|e| printer.plain(e)),
                    expanded_latex: d.expanded.map(|e| printer.latex(e)),
                    steps: steps(&d.steps),
                }
            })),
        )?;
        // The named error terms the results use, each defined before the terms that use it.
        if !derivations.terms.is_empty() {
            doc.serialize_field(
                "terms",
                &Lazy(derivations.terms.iter().map(|t| JsonTerm {
                    name: model.name(t.sym).to_string(),
                    target: t.target.plain_label(model),
                    definition: printer.plain(t.definition),
                    definition_latex: printer.latex(t.definition),
                    steps: steps(&t.steps),
                })),
            )?;
        }
        if !derivations.shared_steps.is_empty() {
            doc.serialize_field("shared_steps", &steps(&derivations.shared_steps))?;
        }
        doc.end()
    }
}

/// A sequence serialised from an iterator, each item made as the writer reaches it.
struct Lazy<I>(I);

impl<I> Serialize for Lazy<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

fn json_step(printer: &FormulaPrinter, s: &Step) -> JsonStep {
    let chain = |f: &dyn Fn(Id) -> String| {
        std::iter::once(f(s.lhs))
            .chain(s.rhs.iter().map(|&r| f(r)))
            .collect::<Vec<_>>()
            .join(" = ")
    };
    JsonStep {
        rule: s.rule.code(),
        chain: s.rule.with_chain_rule(),
        text: chain(&|i| printer.plain(i)),
        latex: chain(&|i| printer.latex(i)),
    }
}

fn json_document(
    model: &Model,
    printer: &FormulaPrinter,
    cache: &crate::render::RenderCache,
    derivations: &Derivations,
) -> String {
    crate::render::json::document(&JsonDocument {
        model,
        printer,
        cache,
        derivations,
    })
}

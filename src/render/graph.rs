//! The computation graph as an SVG picture: every name a node, an arrow from each name to the
//! names computed from it, laid out in columns from the inputs to the cost.
//!
//! A computed name's column is one past the deepest name it reads; a leaf (input, target,
//! parameter) stands one column before its first reader, so a layered network is drawn as its
//! layers of neurons with each layer's weights beside it. A column of more than
//! [`MAX_SHOWN`] names shows its first ones and one summary node ("772 more inputs"); arrows
//! to or from hidden names are left out, so the picture grows with the shown names only.
//! Nodes and arrows carry `data-` attributes naming their ends, so a page's script (or
//! `--wrt`, drawn in Rust) can light every path from a parameter to the cost. With values,
//! nodes show them, and a σ or tanh neuron whose slope is under 10⁻³ is marked saturated.

use std::collections::{HashMap, HashSet};

use crate::analysis::layer_view::Layering;
use crate::core::expr::{Func, Node, Sym};
use crate::core::model::{Model, SymKind};
use crate::core::number::significant;
use crate::render::escape::html_text;

/// Names drawn in one column at most; the rest are summarised.
pub const MAX_SHOWN: usize = 24;
const ROW: f64 = 46.0;
const COLUMN: f64 = 150.0;
const MARGIN: f64 = 40.0;
const NODE_WIDTH: f64 = 104.0;
const NODE_HEIGHT: f64 = 30.0;

/// What to draw besides the graph itself.
#[derive(Default)]
pub struct GraphOptions {
    /// Values of names (from `--at`), shown in the nodes.
    pub values: HashMap<Sym, f64>,
    /// A parameter whose paths to the cost are drawn highlighted.
    pub highlight: Option<Sym>,
}

/// The picture as an SVG document.
pub fn svg(model: &Model, options: &GraphOptions) -> String {
    let readers = readers(model);
    let column = columns(model, &readers);
    let columns_count = column.values().copied().max().unwrap_or(0) + 1;
    let mut by_column: Vec<Vec<Sym>> = vec![Vec::new(); columns_count];
    for s in model.syms() {
        if let Some(&c) = column.get(&s) {
            by_column[c].push(s);
        }
    }
    let mut position: HashMap<Sym, (f64, f64)> = HashMap::new();
    let mut summaries: Vec<(f64, f64, String)> = Vec::new();
    let tallest = by_column
        .iter()
        .map(|c| c.len().min(MAX_SHOWN + 1))
        .max()
        .unwrap_or(1);
    let height = MARGIN * 2.0 + tallest as f64 * ROW;
    for (c, names) in by_column.iter().enumerate() {
        let shown = if names.len() > MAX_SHOWN + 1 {
            MAX_SHOWN
        } else {
            names.len()
        };
        let rows = shown + usize::from(shown < names.len());
        let top = (height - rows as f64 * ROW) / 2.0 + ROW / 2.0;
        let x = MARGIN + NODE_WIDTH / 2.0 + c as f64 * COLUMN;
        for (i, &s) in names.iter().take(shown).enumerate() {
            position.insert(s, (x, top + i as f64 * ROW));
        }
        if shown < names.len() {
            summaries.push((x, top + shown as f64 * ROW, summary(model, &names[shown..])));
        }
    }
    let width = MARGIN * 2.0 + NODE_WIDTH + (columns_count - 1) as f64 * COLUMN;
    let lit = options
        .highlight
        .map(|p| on_paths(model, p, &readers))
        .unwrap_or_default();

    let params: Vec<String> = model.params().map(|p| html_text(model.name(p))).collect();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chainrule-graph\" data-cost=\"{}\" data-params=\"{}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <style>.edge{{stroke:#8a93a3;stroke-width:1.2;fill:none}} .edge.lit{{stroke:#d9480f;stroke-width:3}} \
         .node rect{{fill:#fff;stroke:#5b6270;stroke-width:1.2}} .node.param rect{{fill:#e7f0fa;stroke:#1f6fb4}} \
         .node.input rect,.node.target rect{{fill:#f1f3f5}} .node.cost rect{{fill:#fff4e6;stroke:#9a4b00}} \
         .node.lit rect{{stroke:#d9480f;stroke-width:3}} .node.saturated rect{{fill:#ffe3e3;stroke:#c92a2a;stroke-dasharray:4 2}} \
         .node text{{fill:#1d1f23}} .summary text{{fill:#5b6270;font-style:italic}} .node.param{{cursor:pointer}}</style>\n",
        html_text(model.name(model.cost)),
        params.join(" ")
    );
    for &s in &model.order {
        let Some(&(x2, y2)) = position.get(&s) else {
            continue;
        };
        let Some(def) = model.definition(s) else {
            continue;
        };
        for from in names_in(model, def) {
            let Some(&(x1, y1)) = position.get(&from) else {
                continue;
            };
            let class = if lit.contains(&from) && lit.contains(&s) {
                "edge lit"
            } else {
                "edge"
            };
            let (sx, ex) = (x1 + NODE_WIDTH / 2.0, x2 - NODE_WIDTH / 2.0);
            let mid = (sx + ex) / 2.0;
            out.push_str(&format!(
                "<path class=\"{class}\" data-from=\"{}\" data-to=\"{}\" d=\"M{sx:.1},{y1:.1} C{mid:.1},{y1:.1} {mid:.1},{y2:.1} {ex:.1},{y2:.1}\"/>\n",
                html_text(model.name(from)),
                html_text(model.name(s)),
            ));
        }
    }
    for s in model.syms() {
        let Some(&(x, y)) = position.get(&s) else {
            continue;
        };
        let kind = model.symbol(s).kind;
        let mut class = format!("node {}", kind_class(kind));
        if lit.contains(&s) {
            class.push_str(" lit");
        }
        let value = options.values.get(&s).copied();
        let saturated = value.is_some_and(|v| saturated(model, s, v));
        if saturated {
            class.push_str(" saturated");
        }
        let label = match value {
            Some(v) => format!("{} = {}", model.name(s), significant(v, 4)),
            None => model.name(s).to_string(),
        };
        let title = format!(
            "{} ({}){}",
            model.name(s),
            kind.word(),
            if saturated {
                ": saturated, slope under 0.001"
            } else {
                ""
            }
        );
        out.push_str(&format!(
            "<g class=\"{class}\" data-name=\"{}\"><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{NODE_WIDTH}\" height=\"{NODE_HEIGHT}\" rx=\"8\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>\n",
            html_text(model.name(s)),
            html_text(&title),
            x - NODE_WIDTH / 2.0,
            y - NODE_HEIGHT / 2.0,
            y + 4.5,
            html_text(&label),
        ));
    }
    for (x, y, text) in summaries {
        out.push_str(&format!(
            "<g class=\"summary\"><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>\n",
            y + 4.5,
            html_text(&text)
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// Whether the picture of every name would summarise a column: a network too wide to draw
/// neuron by neuron, which the page draws as one block a layer instead.
pub fn too_wide(model: &Model) -> bool {
    let readers = readers(model);
    let mut per_column: HashMap<usize, usize> = HashMap::new();
    for c in columns(model, &readers).into_values() {
        *per_column.entry(c).or_default() += 1;
    }
    per_column.values().any(|&n| n > MAX_SHOWN + 1)
}

/// A network with layers drawn as one block a layer (the inputs first), each block a node the
/// page's script can choose (`data-layer`), with an arrow from each layer to the next. The
/// svg carries every parameter, by layer, for the script's search box.
pub fn layer_blocks(model: &Model, layering: &Layering) -> String {
    let blocks = layering.layers.len() + 1;
    let height = MARGIN * 2.0 + NODE_HEIGHT * 2.0;
    let width = MARGIN * 2.0 + NODE_WIDTH + (blocks - 1) as f64 * COLUMN;
    let y = height / 2.0;
    let units: Vec<String> = layering
        .layers
        .iter()
        .map(|l| {
            let names: Vec<String> = l
                .weights
                .iter()
                .chain(&l.biases)
                .map(|&p| html_text(model.name(p)))
                .collect();
            format!("{}:{}", l.layer, names.join(","))
        })
        .collect();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chainrule-layers\" data-units=\"{}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <style>.edge{{stroke:#8a93a3;stroke-width:1.2;fill:none}} .edge.lit{{stroke:#d9480f;stroke-width:3}} \
         .node rect{{fill:#e7f0fa;stroke:#1f6fb4;stroke-width:1.2}} .node.input rect{{fill:#f1f3f5;stroke:#5b6270}} \
         .node.lit rect{{stroke:#d9480f;stroke-width:3}} .node text{{fill:#1d1f23}} .node.layer{{cursor:pointer}}</style>\n",
        units.join(" ")
    );
    let x_of = |i: usize| MARGIN + NODE_WIDTH / 2.0 + i as f64 * COLUMN;
    for i in 1..blocks {
        let (sx, ex) = (x_of(i - 1) + NODE_WIDTH / 2.0, x_of(i) - NODE_WIDTH / 2.0);
        let layer = layering.layers[i - 1].layer;
        out.push_str(&format!(
            "<path class=\"edge\" data-from=\"{}\" data-to=\"{layer}\" d=\"M{sx:.1},{y:.1} L{ex:.1},{y:.1}\"/>\n",
            layer - 1
        ));
    }
    let inputs = model
        .syms()
        .filter(|&s| model.symbol(s).kind == SymKind::Input)
        .count();
    let first = layering.layers[0].layer - 1;
    let mut block = |i: usize, class: &str, layer: usize, label: String, detail: String| {
        let x = x_of(i);
        out.push_str(&format!(
            "<g class=\"node {class}\" data-layer=\"{layer}\"><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{NODE_WIDTH}\" height=\"{:.1}\" rx=\"8\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>\n",
            html_text(&format!("{label}: {detail}")),
            x - NODE_WIDTH / 2.0,
            y - NODE_HEIGHT,
            NODE_HEIGHT * 2.0,
            y - 4.0,
            html_text(&label),
            y + 13.0,
            html_text(&detail),
        ));
    };
    block(
        0,
        "input",
        first,
        format!("layer {first}"),
        format!("{inputs} inputs"),
    );
    for (i, layer) in layering.layers.iter().enumerate() {
        block(
            i + 1,
            "layer",
            layer.layer,
            format!("layer {}", layer.layer),
            format!(
                "{} {}",
                layer.pre_activations.len(),
                layer.function.map_or("units", Func::name)
            ),
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The page script of the layer picture: choosing a layer (a click on its block, the address
/// ending in #layer-L, or a unit found with the search box) shows that layer's section.
pub const LAYER_SCRIPT: &str = include_str!("../../templates/graph_layers.js");

/// The page script: choosing a parameter lights every path from it to the cost and shows its
/// derivation (the document's sections, one per parameter in order, follow the picture).
pub const HIGHLIGHT_SCRIPT: &str = include_str!("../../templates/graph.js");

fn kind_class(kind: SymKind) -> &'static str {
    match kind {
        SymKind::Input => "input",
        SymKind::Target => "target",
        SymKind::Param => "param",
        SymKind::Intermediate => "intermediate",
        SymKind::Cost => "cost",
        SymKind::Output => "output",
        SymKind::ErrorTerm => "error-term",
        SymKind::Size(_) => "size",
    }
}

/// "772 more inputs": what a summary node stands for.
fn summary(model: &Model, hidden: &[Sym]) -> String {
    let kind = model.symbol(hidden[0]).kind;
    let same = hidden.iter().all(|&s| model.symbol(s).kind == kind);
    let word = if same { kind.word() } else { "name" };
    format!(
        "… {} more {word}{}",
        hidden.len(),
        if hidden.len() == 1 { "" } else { "s" }
    )
}

fn saturated(model: &Model, s: Sym, value: f64) -> bool {
    let Some(def) = model.definition(s) else {
        return false;
    };
    match model.graph.node(def) {
        Node::Call(Func::Sigmoid, _) => value * (1.0 - value) < 1e-3,
        Node::Call(Func::Tanh, _) => 1.0 - value * value < 1e-3,
        _ => false,
    }
}

/// For each name, the computed names that read it.
fn readers(model: &Model) -> HashMap<Sym, Vec<Sym>> {
    let mut out: HashMap<Sym, Vec<Sym>> = HashMap::new();
    for &s in &model.order {
        if let Some(def) = model.definition(s) {
            for from in names_in(model, def) {
                out.entry(from).or_default().push(s);
            }
        }
    }
    out
}

/// Each name's column: computed names one past their deepest operand, leaves one before
/// their first reader.
fn columns(model: &Model, readers: &HashMap<Sym, Vec<Sym>>) -> HashMap<Sym, usize> {
    let mut depth: HashMap<Sym, usize> = HashMap::new();
    for &s in &model.order {
        let Some(def) = model.definition(s) else {
            continue;
        };
        let d = names_in(model, def)
            .iter()
            .map(|n| depth.get(n).map_or(1, |d| d + 1))
            .max()
            .unwrap_or(1);
        depth.insert(s, d);
    }
    for s in model.syms() {
        if model.symbol(s).kind.is_leaf() {
            let first = readers
                .get(&s)
                .and_then(|r| r.iter().filter_map(|t| depth.get(t)).min().copied())
                .unwrap_or(1);
            depth.insert(s, first - 1);
        }
    }
    depth
}

/// The names on some path from `param` to the cost (both included).
fn on_paths(model: &Model, param: Sym, readers: &HashMap<Sym, Vec<Sym>>) -> HashSet<Sym> {
    let mut forward = HashSet::from([param]);
    let mut stack = vec![param];
    while let Some(s) = stack.pop() {
        for &r in readers.get(&s).into_iter().flatten() {
            if forward.insert(r) {
                stack.push(r);
            }
        }
    }
    // Of those, the ones the cost depends on.
    let mut backward = HashSet::from([model.cost]);
    let mut stack = vec![model.cost];
    while let Some(s) = stack.pop() {
        if let Some(def) = model.definition(s) {
            for n in names_in(model, def) {
                if backward.insert(n) {
                    stack.push(n);
                }
            }
        }
    }
    forward.retain(|s| backward.contains(s));
    forward
}

/// The names a definition reads, each once, in first-seen order.
fn names_in(model: &Model, def: crate::core::expr::Id) -> Vec<Sym> {
    let mut out = Vec::new();
    for id in model.graph.reachable(&[def]) {
        if let Node::Var(s) = model.graph.node(id)
            && !out.contains(s)
        {
            out.push(*s);
        }
    }
    out
}

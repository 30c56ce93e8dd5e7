//! Simplification up to the names in a formula: a small formula is simplified once per shape
//! (its names replaced by numbered placeholders) and the result given the names back, so that
//! a gradient repeated for every weight with different names is simplified once.

use crate::core::expr::{FastMap, FastSet, Graph, Id, Node, Sym};

use super::{Options, simplify};

/// Simplification up to the names in a formula. A small formula is simplified as its shape,
/// each name replaced by a placeholder in the order of the names' ids, and the simplified
/// shape given the names back. A regularised network's penalty differentiates to `λ·w/n` for
/// every weight and each gradient is `δ·x + λ·w/n`: one shape, simplified once however many
/// parameters share it. The rules treat every name alike, except where a name is recognised
/// inside a definition or is a one-hot target; a formula with such a name, or with more than
/// `SHAPE_NAMES` (8) names, has no shape here and is simplified as it is.
pub struct Shapes {
    options: Options,
    /// The names a formula with a shape may not have: those of the recognised definitions
    /// with at most `SHAPE_NAMES` names (one with more cannot be formed from a shape's
    /// names), and the one-hot targets.
    kept: FastSet<Sym>,
    /// The placeholder of each position, in increasing id order as the names they stand for.
    slots: Vec<Id>,
    /// Each shape simplified.
    simplified: FastMap<Id, Id>,
    /// Each small formula's layout (see [`Layout`]) and its shape simplified, as a layout to
    /// fill with the names, or `None` when the shape is already simplified: a formula met
    /// again in another's names is neither rewritten to its shape nor its simplified shape
    /// searched node by node, and one that simplifies to itself is not built again (a
    /// gradient `δ·x + λ·w/n` met once per weight).
    by_layout: FastMap<Layout, Option<Layout>>,
}

/// A small formula's nodes in increasing id order, each child the position of its node in
/// the list and each name its placeholder: the formula up to its names, read without adding
/// anything to the graph.
type Layout = Box<[Node]>;

/// The most names a formula simplified by its shape may have.
const SHAPE_NAMES: usize = 8;

/// The most nodes a formula read as a [`Layout`] may have; a larger one is rewritten to its
/// shape in the graph.
const LAYOUT_NODES: usize = 48;

impl Shapes {
    pub fn new(graph: &Graph, options: &Options) -> Shapes {
        let mut kept = FastSet::default();
        for &definition in options.recognise.keys() {
            if let Some(names) = names_within(graph, definition, SHAPE_NAMES) {
                kept.extend(names);
            }
        }
        for &target in options.one_hot.iter().flatten() {
            if let Node::Var(s) = *graph.node(target) {
                kept.insert(s);
            }
        }
        Shapes {
            options: options.clone(),
            kept,
            slots: Vec::new(),
            simplified: FastMap::default(),
            by_layout: FastMap::default(),
        }
    }

    /// `root` simplified through its shape, or `None` when it has none.
    pub fn simplify(&mut self, graph: &mut Graph, root: Id) -> Option<Id> {
        let Some(order) = small_formula(graph, root) else {
            return self.simplify_by_rewriting(graph, root);
        };
        let names = self.names(graph, &order)?;
        let position = |c: Id| Id(order.binary_search(&c).expect("a child is reached") as u32);
        let mut slot = 0;
        let layout: Layout = order
            .iter()
            .map(|&id| match graph.node(id) {
                Node::Var(_) => {
                    slot += 1;
                    Node::Var(placeholder(slot - 1))
                }
                node => node.map_children(position),
            })
            .collect();
        let simplified = match self.by_layout.get(&layout) {
            Some(known) => known,
            None => {
                let shape = self.shape(graph, root, &names);
                let simplified = self.simplified_shape(graph, shape);
                let filled = (simplified != shape).then(|| {
                    let nodes = graph.reachable(&[simplified]);
                    let at =
                        |c: Id| Id(nodes.binary_search(&c).expect("a child is reached") as u32);
                    nodes
                        .iter()
                        .map(|&id| graph.node(id).map_children(at))
                        .collect()
                });
                self.by_layout.entry(layout).or_insert(filled)
            }
        };
        let Some(simplified) = simplified else {
            return Some(root);
        };
        let mut built: Vec<Id> = Vec::with_capacity(simplified.len());
        for node in simplified.iter() {
            let id = match *node {
                Node::Var(s) => match slot_of(s) {
                    Some(slot) => names[slot],
                    None => graph.var(s),
                },
                ref other => graph.add(other.map_children(|c| built[c.index()])),
            };
            built.push(id);
        }
        built.last().copied()
    }

    /// [`Shapes::simplify`] for a formula too large to read as a layout: rewritten to its
    /// shape in the graph and back.
    fn simplify_by_rewriting(&mut self, graph: &mut Graph, root: Id) -> Option<Id> {
        let order = graph.reachable(&[root]);
        let names = self.names(graph, &order)?;
        let shape = self.shape(graph, root, &names);
        let simplified = self.simplified_shape(graph, shape);
        let back = graph.rewrite(&[simplified], |g, node| match node {
            Node::Var(s) => match slot_of(s) {
                Some(slot) => names[slot],
                None => g.var(s),
            },
            other => g.add(other),
        });
        Some(back[&simplified])
    }

    /// The names among a formula's nodes (given in increasing id order), or `None` when the
    /// formula has no shape: more than `SHAPE_NAMES` names, or a name kept.
    fn names(&self, graph: &Graph, order: &[Id]) -> Option<Vec<Id>> {
        let mut names: Vec<Id> = Vec::new();
        for &id in order {
            if let Node::Var(s) = *graph.node(id) {
                if names.len() == SHAPE_NAMES || self.kept.contains(&s) {
                    return None;
                }
                names.push(id);
            }
        }
        Some(names)
    }

    /// `root` with each of its names (in increasing id order) replaced by its placeholder.
    fn shape(&mut self, graph: &mut Graph, root: Id, names: &[Id]) -> Id {
        while self.slots.len() < names.len() {
            let slot = placeholder(self.slots.len());
            self.slots.push(graph.var(slot));
        }
        let to_slot: FastMap<Id, Id> = names.iter().copied().zip(self.slots.clone()).collect();
        graph.rewrite(&[root], |g, node| match node {
            Node::Var(_) => to_slot[&g.add(node)],
            other => g.add(other),
        })[&root]
    }

    fn simplified_shape(&mut self, graph: &mut Graph, shape: Id) -> Id {
        match self.simplified.get(&shape) {
            Some(&known) => known,
            None => {
                let done = simplify(graph, shape, &self.options);
                self.simplified.insert(shape, done);
                done
            }
        }
    }
}

/// The name a shape has in position `slot`.
fn placeholder(slot: usize) -> Sym {
    Sym(u32::MAX - slot as u32)
}

/// The position a placeholder stands for, or `None` for a name of the program.
fn slot_of(s: Sym) -> Option<usize> {
    (s.0 > u32::MAX - SHAPE_NAMES as u32).then(|| (u32::MAX - s.0) as usize)
}

/// The nodes of a formula of at most [`LAYOUT_NODES`] nodes, in increasing id order.
fn small_formula(graph: &Graph, root: Id) -> Option<Vec<Id>> {
    let mut seen: Vec<Id> = Vec::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if seen.contains(&id) {
            continue;
        }
        if seen.len() == LAYOUT_NODES {
            return None;
        }
        seen.push(id);
        graph.push_children(id, &mut stack);
    }
    seen.sort_unstable();
    Some(seen)
}

/// The names of a formula when it has at most `most` of them.
fn names_within(graph: &Graph, root: Id, most: usize) -> Option<Vec<Sym>> {
    let mut names = Vec::new();
    let mut seen: FastSet<Id> = FastSet::default();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        match graph.node(id) {
            Node::Var(s) => {
                if names.len() == most {
                    return None;
                }
                names.push(*s);
            }
            _ => stack.extend(graph.children(id).iter().copied()),
        }
    }
    Some(names)
}

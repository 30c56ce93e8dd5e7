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
    /// Each small formula's key (see [`Shapes::key`]) and its shape simplified, as a layout
    /// to fill with the names, or `None` when the shape is already simplified: a formula met
    /// again in another's names is neither rewritten to its shape nor its simplified shape
    /// searched node by node, and one that simplifies to itself is not built again (a
    /// gradient `δ·x + λ·w/n` met once per weight).
    by_layout: FastMap<Box<[u32]>, Option<Layout>>,
    /// The calls and derivatives met in keys, each with its children cleared, numbered.
    heads: FastMap<Node, u32>,
    /// Buffers reused from one formula to the next: a gradient of a large network is tens of
    /// thousands of small formulas, and allocating for each cost more than reading it.
    scratch: Scratch,
}

/// A simplified shape's nodes in increasing id order, each child the position of its node in
/// the list and each name its placeholder, to be filled with a formula's names.
pub type Layout = Box<[Node]>;

#[derive(Default)]
struct Scratch {
    /// A formula's nodes in increasing id order, then the nodes built from a layout.
    order: Vec<Id>,
    stack: Vec<Id>,
    /// A formula's names in increasing id order (its placeholders' slots).
    names: Vec<Id>,
    key: Vec<u32>,
}

/// The kinds of node in a key.
const KEY_NAME: u32 = 0;
const KEY_VALUE: u32 = 1;
const KEY_SUM: u32 = 2;
const KEY_PRODUCT: u32 = 3;
const KEY_POWER: u32 = 4;
const KEY_OTHER: u32 = 5;

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
            heads: FastMap::default(),
            scratch: Scratch::default(),
        }
    }

    /// `root` simplified through its shape, or `None` when it has none.
    pub fn simplify(&mut self, graph: &mut Graph, root: Id) -> Option<Id> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = self.simplify_with(graph, root, &mut scratch, false);
        self.scratch = scratch;
        result.map(|(simplified, _)| simplified)
    }

    /// [`Shapes::simplify`], and when the simplified shape was filled with `root`'s names,
    /// that shape and those names: a formula differing from `root` only in names that keep
    /// their places in id order is simplified by [`Shapes::refill`] with its own names.
    pub fn simplify_refillable(
        &mut self,
        graph: &mut Graph,
        root: Id,
    ) -> Option<(Id, Option<Refill>)> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = self.simplify_with(graph, root, &mut scratch, true);
        self.scratch = scratch;
        result
    }

    /// `refill`'s layout filled with its names, the one at `slot` (if any) replaced by
    /// `name`: what [`Shapes::simplify`] gives a formula that differs from the first only in
    /// that name, keeping its place in id order.
    pub fn refill(
        &mut self,
        graph: &mut Graph,
        refill: &Refill,
        slot: Option<usize>,
        name: Id,
    ) -> Id {
        let mut built = std::mem::take(&mut self.scratch.order);
        let name_at = |s: usize| {
            if Some(s) == slot {
                name
            } else {
                refill.names[s]
            }
        };
        let filled = fill(graph, &refill.layout, name_at, &mut built);
        self.scratch.order = built;
        filled
    }

    /// Whether a formula mentioning `name` has no shape (see [`Shapes::kept`]).
    pub fn keeps(&self, name: Sym) -> bool {
        self.kept.contains(&name)
    }

    fn simplify_with(
        &mut self,
        graph: &mut Graph,
        root: Id,
        scratch: &mut Scratch,
        refillable: bool,
    ) -> Option<(Id, Option<Refill>)> {
        if !graph.small_reachable(root, LAYOUT_NODES, &mut scratch.order, &mut scratch.stack) {
            return self
                .simplify_by_rewriting(graph, root)
                .map(|simplified| (simplified, None));
        }
        if !self.key(graph, scratch) {
            return None;
        }
        let Scratch {
            order, names, key, ..
        } = scratch;
        let simplified = match self.by_layout.get(&key[..]) {
            Some(known) => known,
            None => {
                let shape = self.shape(graph, root, names);
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
                self.by_layout
                    .entry(key.as_slice().into())
                    .or_insert(filled)
            }
        };
        let Some(layout) = simplified else {
            return Some((root, None));
        };
        let refill = refillable.then(|| Refill {
            layout: layout.clone(),
            names: names.clone(),
        });
        // `order` is free again: it holds the simplified shape's nodes as they are built.
        Some((fill(graph, layout, |slot| names[slot], order), refill))
    }

    /// Writes the key of the small formula in `scratch.order` (its nodes in increasing id
    /// order) into `scratch.key`, and its names into `scratch.names`; `false` when the formula
    /// has no shape (more than `SHAPE_NAMES` names, or a name kept).
    ///
    /// The key is the formula up to its names, read without allocating: each node in order as
    /// its kind, each child as its position in the order and each name as its placeholder's
    /// slot. Numbers and constants are their ids (the graph keeps one node per value), and the
    /// rest of a call or derivative (its function, its name) is the index of that node with
    /// its children cleared among the ones met before.
    fn key(&mut self, graph: &Graph, scratch: &mut Scratch) -> bool {
        let Scratch {
            order, names, key, ..
        } = scratch;
        names.clear();
        key.clear();
        let position = |c: Id| order.binary_search(&c).expect("a child is reached") as u32;
        for &id in order.iter() {
            let node = graph.node(id);
            match node {
                Node::Var(s) => {
                    if names.len() == SHAPE_NAMES || self.kept.contains(s) {
                        return false;
                    }
                    key.extend([KEY_NAME, names.len() as u32]);
                    names.push(id);
                }
                Node::Num(_) | Node::Const(_) => key.extend([KEY_VALUE, id.0]),
                Node::Add(xs) | Node::Mul(xs) => {
                    let kind = if matches!(node, Node::Add(_)) {
                        KEY_SUM
                    } else {
                        KEY_PRODUCT
                    };
                    key.extend([kind, xs.len() as u32]);
                    key.extend(xs.iter().map(|&x| position(x)));
                }
                Node::Pow(b, e) => key.extend([KEY_POWER, position(*b), position(*e)]),
                _ => {
                    let heads = self.heads.len() as u32;
                    let head = *self
                        .heads
                        .entry(node.map_children(|_| Id(0)))
                        .or_insert(heads);
                    key.extend([KEY_OTHER, head]);
                    key.extend(node.child_ids().map(position));
                }
            }
        }
        true
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

/// A simplified shape as a layout, and the names of the formula it was filled with, in id
/// order (see [`Shapes::simplify_refillable`]).
#[derive(Clone)]
pub struct Refill {
    pub layout: Layout,
    pub names: Vec<Id>,
}

/// A layout's nodes built in order with `name_at(slot)` in each placeholder's slot; the last
/// is the formula. `built` is a reused buffer.
fn fill(
    graph: &mut Graph,
    layout: &[Node],
    name_at: impl Fn(usize) -> Id,
    built: &mut Vec<Id>,
) -> Id {
    built.clear();
    for node in layout {
        let id = match *node {
            Node::Var(s) => match slot_of(s) {
                Some(slot) => name_at(slot),
                None => graph.var(s),
            },
            ref other => graph.add(other.map_children(|c| built[c.index()])),
        };
        built.push(id);
    }
    *built.last().expect("a layout has its formula")
}

/// The name a shape has in position `slot`.
fn placeholder(slot: usize) -> Sym {
    Sym(u32::MAX - slot as u32)
}

/// The position a placeholder stands for, or `None` for a name of the program.
fn slot_of(s: Sym) -> Option<usize> {
    (s.0 > u32::MAX - SHAPE_NAMES as u32).then(|| (u32::MAX - s.0) as usize)
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

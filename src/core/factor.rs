//! Sizes of formulas as trees, measured on the graph, and the names of shared error terms.
//!
//! A derivative is a graph whose shared subterms a printer writes out again at every use, so
//! its printed size can grow with the number of paths while the graph stays linear. The
//! counts here walk each node once (saturating), which is how `--expand` learns that its text
//! would be too large without building it, and how the engine decides that an adjoint is long
//! enough to be named. Named error terms follow the notation `check` reads: `δ` of the z-name
//! with the same decorations (`delta3_1`, shown `δ3_1`, `\delta^{(3)}_{1}`), and `dC/dh2` for
//! any other name, which parses back as the derivative it stands for.

use crate::core::error::Span;
use crate::core::expr::{FastMap, Func, Graph, Id, Node, Sym, TensorOp};
use crate::core::model::{Model, SymKind, Symbol};

/// The number of nodes of `root` written out as a tree (shared subterms counted at each use).
pub fn tree_nodes(graph: &Graph, root: Id, memo: &mut FastMap<Id, u64>) -> u64 {
    tree_measure(graph, root, memo, &|_| 1)
}

/// About how many bytes a formula prints as plain text, written out in full (each shared
/// subterm at every use), with a memo shared across calls.
pub fn printed_bytes_shared(model: &Model, root: Id, memo: &mut FastMap<Id, u64>) -> u64 {
    tree_measure(&model.graph, root, memo, &|node| own_bytes(model, node))
}

/// A formula's expansion (every computed name written as its definition, down to inputs,
/// targets and parameters) as [`expanded_sizes`] measures it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ExpandedSize {
    /// [`printed_bytes_shared`] of the expansion.
    pub bytes: u64,
    /// Whether the formula mentions a computed name (else its expansion is itself).
    pub changes: bool,
}

/// How large each formula's expansion prints, measured on the graph as it is: a computed
/// name counts what its definition's expansion counts, so the expansion (which repeats every
/// shared subterm once per path) is never built to learn that it is too large. Each node and
/// each name is measured once; the counts saturate.
pub fn expanded_sizes(model: &Model, roots: &[Id]) -> Vec<ExpandedSize> {
    let mut computed = vec![false; model.symbols.len()];
    for &s in &model.order {
        computed[s.index()] = true;
    }
    // The definition a node stands for when it is a computed name's `Var`.
    let definition_of = |id: Id| match model.graph.node(id) {
        Node::Var(s) if computed[s.index()] => model.definition(*s),
        _ => None,
    };
    let mut memo: FastMap<Id, ExpandedSize> = FastMap::default();
    let mut stack = Vec::new();
    for &root in roots {
        stack.push((root, false));
        while let Some((id, children_done)) = stack.pop() {
            if memo.contains_key(&id) {
                continue;
            }
            if !children_done {
                stack.push((id, true));
                let children = match definition_of(id) {
                    Some(definition) => vec![definition],
                    None => model.graph.children(id),
                };
                stack.extend(
                    children
                        .into_iter()
                        .filter(|c| !memo.contains_key(c))
                        .map(|c| (c, false)),
                );
                continue;
            }
            let size = match definition_of(id) {
                Some(definition) => ExpandedSize {
                    changes: true,
                    ..memo[&definition]
                },
                None => model.graph.children(id).iter().fold(
                    ExpandedSize {
                        bytes: own_bytes(model, model.graph.node(id)),
                        changes: false,
                    },
                    |sum, c| ExpandedSize {
                        bytes: sum.bytes.saturating_add(memo[c].bytes),
                        changes: sum.changes || memo[c].changes,
                    },
                ),
            };
            memo.insert(id, size);
        }
    }
    roots.iter().map(|r| memo[r]).collect()
}

/// The bytes a node prints itself, beside its children.
fn own_bytes(model: &Model, node: &Node) -> u64 {
    match node {
        Node::Num(_) | Node::Const(_) => 3,
        Node::Var(s) => model.symbols.get(s.index()).map_or(4, |s| s.name.len()) as u64,
        Node::Add(terms) => 3 * terms.len() as u64,
        Node::Mul(factors) => factors.len() as u64,
        Node::Pow(..) => 3,
        Node::Call(f, _) => f.name().len() as u64 + 2,
        Node::Call2(f, ..) => f.name().len() as u64 + 4,
        Node::Deriv(..) => 8,
        Node::Tensor(_, xs) => 4 * xs.len() as u64,
    }
}

fn tree_measure(
    graph: &Graph,
    root: Id,
    memo: &mut FastMap<Id, u64>,
    own: &dyn Fn(&Node) -> u64,
) -> u64 {
    // Depth first, stopping at nodes measured before (a memo shared across many roots
    // keeps the total work linear in the graph).
    let mut stack = vec![(root, false)];
    while let Some((id, children_done)) = stack.pop() {
        if memo.contains_key(&id) {
            continue;
        }
        let children = graph.children(id);
        if children_done {
            let size = children
                .iter()
                .fold(own(graph.node(id)), |sum, c| sum.saturating_add(memo[c]));
            memo.insert(id, size);
        } else {
            stack.push((id, true));
            stack.extend(
                children
                    .into_iter()
                    .filter(|c| !memo.contains_key(c))
                    .map(|c| (c, false)),
            );
        }
    }
    memo[&root]
}

/// The symbol naming the adjoint `∂y/∂u`, added to the model as a computed name defined by
/// `definition` (after every name it uses); an existing one of that name is reused.
pub fn term_symbol(model: &mut Model, y: Sym, u: Sym, definition: Id) -> Sym {
    if let Some(&(_, _, existing)) = model
        .named_adjoints
        .iter()
        .find(|&&(of, wrt, _)| (of, wrt) == (y, u))
    {
        return existing;
    }
    let (name, display) = term_name(model, y, u);
    let sym = Sym(model.symbols.len() as u32);
    model.symbols.push(Symbol {
        name,
        kind: SymKind::ErrorTerm,
        display,
        span: Span::new(0, 0),
        shape: crate::core::tensor::Shape::SCALAR,
    });
    model.definitions.push(Some(definition));
    model.order.push(sym);
    model.graph.var(sym);
    model.named_adjoints.push((y, u, sym));
    sym
}

/// `delta` and the decorations of a pre-activation named `z…` for its error term when y is
/// the cost (with the z-name's display form, its letter replaced by `\delta`), as `check`
/// reads `δ3_1` first; `Delta` for a matrix of them named `Z…` (a batch, as Ng writes `Z1`);
/// else, and when that name is taken, `dY/dU`.
pub(crate) fn term_name(model: &Model, y: Sym, u: Sym) -> (String, Option<String>) {
    let z = model.symbol(u);
    let (letter, greek) = match z.name.chars().next() {
        Some('Z') => ('Z', "Delta"),
        _ => ('z', "delta"),
    };
    let decorations = z
        .name
        .strip_prefix(letter)
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '_'));
    if y == model.cost
        && let Some(decorations) = decorations
        && is_pre_activation(model, u)
    {
        let candidate = format!("{greek}{decorations}");
        if model.lookup(&candidate).is_none() {
            let display = z.display.as_ref().and_then(|shown| {
                let letters: String = shown
                    .trim_start_matches('{')
                    .chars()
                    .take_while(|c| c.is_alphabetic() || *c == '\\')
                    .collect();
                let at = shown.find(&letters)?;
                (letters == letter.to_string())
                    .then(|| format!("{}\\{greek}{}", &shown[..at], &shown[at + letters.len()..]))
            });
            return (candidate, display);
        }
    }
    let name = format!("d{}/d{}", model.name(y), z.name);
    // Without display forms the renderer writes the fraction from the name.
    let display = match (&model.symbol(y).display, &z.display) {
        (Some(of), Some(wrt)) => Some(format!("\\frac{{\\partial {of}}}{{\\partial {wrt}}}")),
        _ => None,
    };
    (name, display)
}

/// Whether an activation is applied to the name: a function with a derivative of its own, or
/// softplus, as `a = σ(z)`; the identity, `a = z`; or the exponential of the name inside a definition, as softmax's
/// `a_j = exp(z_j)/Σ_k exp(z_k)`, or the softmax of a vector. Backprop's δ = ∂C/∂z belongs
/// to it.
pub(crate) fn is_pre_activation(model: &Model, z: Sym) -> bool {
    let is_z = |arg: &Id| matches!(model.graph.node(*arg), Node::Var(v) if *v == z);
    let definitions = || model.order.iter().filter_map(|&s| model.definition(s));
    definitions().any(|def| match model.graph.node(def) {
        Node::Call(f, arg) => (f.prime().is_some() || *f == Func::Softplus) && is_z(arg),
        Node::Tensor(TensorOp::Softmax(_), args) => is_z(&args[0]),
        // The identity activation: `a = z`.
        Node::Var(v) => *v == z,
        _ => false,
    }) || definitions().any(|def| {
        model
            .graph
            .reachable(&[def])
            .into_iter()
            .any(|id| matches!(model.graph.node(id), Node::Call(Func::Exp, arg) if is_z(arg)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes measured on the graph as it is are those of the expansions built: every
    /// example's gradients, with their named terms, and the named terms themselves.
    #[test]
    fn expanded_sizes_measure_the_expansion_without_building_it() {
        let mut changed = 0;
        for source in [
            include_str!("../../examples/seed.bp"),
            include_str!("../../examples/mazur_2_2_2.bp"),
            include_str!("../../examples/softmax_classifier.bp"),
            include_str!("../../examples/cross_entropy_2_2_1.bp"),
            include_str!("../../examples/rnn_unrolled.bp"),
            include_str!("../../examples/deep_sigmoid_10.bp"),
        ] {
            let mut model = crate::lang::load::load(source).unwrap();
            let targets =
                crate::lang::load::targets(&model, &crate::lang::load::TargetSpec::AllParams)
                    .unwrap();
            let config = crate::core::diff::Config::default();
            let derived = crate::core::diff::derive(&mut model, &targets, &config);
            let mut roots: Vec<Id> = derived.derivations.iter().map(|d| d.result).collect();
            roots.extend(derived.terms.iter().map(|t| t.definition));
            let sizes = expanded_sizes(&model, &roots);
            let expanded = crate::core::diff::expand(&mut model, &roots);
            let mut memo = FastMap::default();
            for ((&root, &built), size) in roots.iter().zip(&expanded).zip(sizes) {
                assert_eq!(size.changes, built != root);
                changed += usize::from(size.changes);
                assert_eq!(size.bytes, printed_bytes_shared(&model, built, &mut memo));
            }
        }
        assert!(changed > 50, "{changed} formulas mention a computed name");
    }
}

//! Starting values for the parameters a user did not type, by the method asked for: `zeros`,
//! `random` (uniform in [−1, 1]), `xavier` (Glorot's uniform in ±√(6/(fan_in + fan_out)) for a
//! weight, 0 for a bias) or `he` (He's uniform in ±√(6/fan_in) for a weight, 0 for a bias), from
//! a seed, so the same command gives the same numbers. Inputs and targets are data,
//! never invented: [`unset_data`] names those still without a value, and [`zero_data`] sets
//! them to 0 only when asked. Also the text of a values file listing every input, target and
//! parameter, which reads back with `--values`.

use crate::core::error::{Diagnostic, Input, Result};
use crate::core::expr::{Id, Node, Sym};
use crate::core::model::Given;
use crate::core::model::{Model, SymKind};

/// How to fill the parameters that were not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    Zeros,
    Random,
    Xavier,
    /// He (Kaiming) uniform, as PyTorch's `kaiming_uniform_(w, a=0, mode="fan_in",
    /// nonlinearity="relu")` draws it: the gain √2 times √(3/fan_in), so the variance is
    /// 2/fan_in, which keeps the variance of relu layers' outputs from layer to layer.
    He,
}

/// The inputs, targets and parameters the cost needs that `given` leaves without a value (a
/// value given to an intermediate cuts the graph above it).
pub fn unset_leaves(model: &Model, given: &[Given]) -> Vec<Sym> {
    crate::core::forward::missing_leaves(model, given.iter().map(|g| g.sym))
}

/// The inputs and targets among [`unset_leaves`].
pub fn unset_data(model: &Model, given: &[Given]) -> Vec<Sym> {
    unset_leaves(model, given)
        .into_iter()
        .filter(|&s| matches!(model.symbol(s).kind, SymKind::Input | SymKind::Target))
        .collect()
}

/// `given` with every input and target it leaves out set to 0, and how many that was: only
/// on request (`--init-inputs zero`), and the report says so.
pub fn zero_data(model: &Model, given: &[Given]) -> (Vec<Given>, usize) {
    let mut out = given.to_vec();
    let unset = unset_data(model, given);
    out.extend(unset.iter().map(|&sym| Given {
        sym,
        text: "0".to_string(),
        value: 0.0,
    }));
    (out, unset.len())
}

/// Values for the parameters `given` leaves out (given values stay as they are; inputs and
/// targets are left to the data).
pub fn fill(model: &Model, given: &[Given], init: Init, seed: u64) -> Vec<Given> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = given.to_vec();
    let fans = Fans::compute(model);
    for p in model.params() {
        // the generator advances for every parameter, so a value does not depend on which
        // others were given
        let u = rng.f64() * 2.0 - 1.0;
        if given.iter().any(|g| g.sym == p) {
            continue;
        }
        let value = match init {
            Init::Zeros => 0.0,
            Init::Random => u,
            Init::Xavier => match fans.get(p) {
                Some((fan_in, fan_out)) => u * (6.0 / (fan_in + fan_out) as f64).sqrt(),
                None => 0.0,
            },
            Init::He => match fans.get(p) {
                Some((fan_in, _)) => u * (6.0 / fan_in as f64).sqrt(),
                None => 0.0,
            },
        };
        out.push(Given {
            sym: p,
            text: format!("{value:?}"),
            value,
        });
    }
    out
}

/// Refuses a value for a computed name (an intermediate, the output, the cost) where values
/// are a starting point: a values file and gradient descent hold inputs, targets and
/// parameters, and compute the rest from them. `why` ends the sentence. (`eval` and `check` take any name: there a value
/// for an intermediate cuts the graph.)
pub fn leaves_only(model: &Model, given: &[Given], why: &str) -> Result<()> {
    let Some(g) = given.iter().find(|g| !model.symbol(g.sym).kind.is_leaf()) else {
        return Ok(());
    };
    let name = model.name(g.sym);
    let what = match model.symbol(g.sym).kind {
        SymKind::Cost => "the cost",
        SymKind::Output => "the output",
        _ => "an intermediate",
    };
    Err(Diagnostic::new(format!(
        "`{name}` is {what}, not a starting value: {why}"
    ))
    .with_help(
        "give values to inputs, targets and parameters only (the point of an evaluation may give \
         an intermediate, and cuts the graph there)",
    )
    .about(Input::Point))
}

/// A values file: every input, target and parameter, one `name = value` a line, with the
/// given or initial value (inputs and targets not given are 0).
pub fn values_file(model: &Model, values: &[Given], header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(&format!("# {line}\n"));
    }
    for (kind, title) in [
        (SymKind::Input, "inputs"),
        (SymKind::Target, "targets"),
        (SymKind::Param, "parameters"),
    ] {
        let names: Vec<Sym> = model
            .syms()
            .filter(|&s| model.symbol(s).kind == kind)
            .collect();
        if names.is_empty() {
            continue;
        }
        out.push_str(&format!("\n# {title}\n"));
        for s in names {
            let text = values
                .iter()
                .find(|g| g.sym == s)
                .map(|g| g.text.clone())
                .unwrap_or_else(|| "0".to_string());
            out.push_str(&format!("{} = {text}\n", model.name(s)));
        }
    }
    out
}

/// Fan-in and fan-out of each weight: the number of terms of the sum it is a factor in, and
/// the number of names that use what that sum feeds. A parameter that is a term of a sum on
/// its own is a bias (no fans).
struct Fans {
    of: std::collections::HashMap<Sym, (usize, usize)>,
}

impl Fans {
    fn compute(model: &Model) -> Fans {
        let graph = &model.graph;
        let users = |t: Sym| model.dependencies.users(t);
        let count = |t: Sym| users(t).len();
        let param = |id: Id| match graph.node(id) {
            Node::Var(s) if model.symbol(*s).kind == SymKind::Param => Some(*s),
            _ => None,
        };
        let mut of = std::collections::HashMap::new();
        for s in model.syms() {
            let Some(def) = model.definition(s) else {
                continue;
            };
            // the sum inside the definition (relu(w·x + b) too), or a lone product
            let reached = graph.reachable(&[def]);
            let sum = reached
                .iter()
                .rev()
                .find(|&&id| matches!(graph.node(id), Node::Add(_)));
            let terms: Vec<Id> = match sum.map(|&id| graph.node(id)) {
                Some(Node::Add(terms)) => terms.to_vec(),
                _ => reached
                    .iter()
                    .copied()
                    .filter(|&id| matches!(graph.node(id), Node::Mul(_)))
                    .collect(),
            };
            let fan_in = terms.iter().filter(|&&t| param(t).is_none()).count().max(1);
            // what the sum feeds: the names using s (its activation), and the names using those
            let fan_out = users(s).iter().map(|&u| count(u)).sum::<usize>().max(1);
            for &t in terms.iter() {
                if let Node::Mul(fs) = graph.node(t) {
                    for &f in fs.iter() {
                        if let Some(p) = param(f) {
                            of.insert(p, (fan_in, fan_out));
                        }
                    }
                }
            }
        }
        Fans { of }
    }

    fn get(&self, p: Sym) -> Option<(usize, usize)> {
        self.of.get(&p).copied()
    }
}

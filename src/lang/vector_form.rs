//! The `network` shorthand written in vector form (`chainrule expand --vector`): one weight
//! matrix and one bias vector a layer, `z2 = W2 x + b2`, `a2 = sigmoid(z2)`, as Nielsen writes
//! it; with a batch of m examples (`--batch m`), the input and target are m columns and the
//! cost is averaged over them, as Ng writes it. The text reads back as a vector program whose
//! scalarisation has the same gradients as the shorthand's own expansion (`tests/vectors.rs`).

use std::fmt::Write as _;

use crate::lang::expansion::names;
use crate::lang::network::{Activation, CostKind, NetworkSpec};

/// The vector form of a network, over one example (`batch` `None`) or a batch of m.
pub fn text(spec: &NetworkSpec, batch: Option<u32>) -> String {
    let layers = spec.layers();
    let mut out = String::new();
    let _ = writeln!(out, "# {}", spec.describe());
    let _ = writeln!(
        out,
        "# in vector form, written by chainrule: W{{l}} holds the weights into layer l (row j: \
         the weights into its neuron j)"
    );
    // one example is a column; a batch is m of them
    let columns = match batch {
        Some(m) => {
            let _ = writeln!(out, "size m = {m}");
            ", m".to_string()
        }
        None => String::new(),
    };
    let _ = writeln!(out, "input x[{}{columns}] as \"x\"", spec.width(1));
    let one_hot = if spec.cost == CostKind::LogLikelihood {
        " one-hot"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "target y[{}{columns}] as \"y\"{one_hot}",
        spec.width(layers)
    );
    if spec.l2 {
        let _ = writeln!(
            out,
            "input {} as \"{}\", {} as \"{}\"    # the L2 strength and the number of training examples",
            names::LAMBDA,
            names::LAMBDA_DISPLAY,
            names::SAMPLES,
            names::SAMPLES_DISPLAY
        );
    }
    for l in 2..=layers {
        let (rows, cols) = (spec.width(l), spec.width(l - 1));
        let _ = writeln!(out, "\n# layer {l}");
        let mut params = vec![format!("W{l}[{rows}, {cols}] as \"W^{{({l})}}\"")];
        if spec.biases {
            params.push(format!("b{l}[{rows}] as \"b^{{({l})}}\""));
        }
        let _ = writeln!(out, "param {}", params.join(", "));
        let _ = writeln!(out, "show z{l} as \"z^{{({l})}}\", a{l} as \"a^{{({l})}}\"");
        let previous = if l == 2 {
            "x".to_string()
        } else {
            format!("a{}", l - 1)
        };
        let bias = if spec.biases {
            format!(" + b{l}")
        } else {
            String::new()
        };
        let _ = writeln!(out, "z{l} = W{l} {previous}{bias}");
        let value = match spec.activation(l) {
            Activation::Identity => format!("z{l}"),
            other => format!("{}(z{l})", other.name()),
        };
        let _ = writeln!(out, "a{l} = {value}");
    }
    let _ = writeln!(out, "\n# cost: {}", spec.cost.name());
    let a = format!("a{layers}");
    let total = match spec.cost {
        CostKind::Quadratic => format!("sum((y - {a})^2)"),
        CostKind::HalfQuadratic => format!("1/2 sum((y - {a})^2)"),
        CostKind::CrossEntropy => format!("-sum(y ⊙ log({a}) + (1 - y) ⊙ log(1 - {a}))"),
        CostKind::LogLikelihood => format!("-sum(y ⊙ log({a}))"),
        CostKind::Huber => format!("sum(huber({a} - y, 1))"),
    };
    let data_cost = match batch {
        Some(_) => format!("(1/m) ({total})"),
        None => total,
    };
    if spec.l2 {
        let squares: Vec<String> = (2..=layers).map(|l| format!("norm2(W{l})")).collect();
        let _ = writeln!(out, "{} = {data_cost}", names::DATA_COST);
        let _ = writeln!(
            out,
            "cost {} = {} + {}/(2 {}) ({})",
            names::COST,
            names::DATA_COST,
            names::LAMBDA,
            names::SAMPLES,
            squares.join(" + ")
        );
    } else {
        let _ = writeln!(out, "cost {} = {data_cost}", names::COST);
    }
    out
}

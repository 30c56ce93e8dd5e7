//! The derivation of BP1–BP4 for a network: its definitions (z, a, the cost, δ) written with
//! indexed quantities, then each equation derived step by step by the chain rule, the rules of
//! [`algebra`](super::algebra) and, where it shortens BP1, the activation's derivative written
//! in terms of its value.

use super::algebra::{BASIC, collect_terms, diff, expand_products, fold, simplify_with};
use super::matrix::{MatrixEquation, to_matrix};
use super::{
    Activation, E, Fun, Ix, Layer, Quantity, Step, add, apply, at, cost, d, fraction, mul, neg,
    num, recip, scalar, sub, sum, y,
};
use crate::lang::network::{CostKind, NetworkSpec};

/// Which layers an equation holds for.
#[derive(Clone, Debug, PartialEq)]
pub enum Layers {
    /// The output layer L.
    Output,
    /// The general layer l, for these layers.
    General(Vec<usize>),
}

/// One derived equation in index form.
#[derive(Clone, Debug, PartialEq)]
pub struct Equation {
    /// `BP1` … `BP4`.
    pub label: &'static str,
    pub title: String,
    pub layers: Layers,
    pub steps: Vec<Step>,
    pub lhs: E,
    pub rhs: E,
}

/// A definition of the network, as the derivation starts from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub lhs: E,
    pub rhs: E,
    /// Words and `$`-delimited formulas, as [`Step::rule`](super::Step::rule).
    pub note: String,
}

/// The whole layered derivation.
#[derive(Clone, Debug, PartialEq)]
pub struct Layered {
    pub spec: NetworkSpec,
    pub definitions: Vec<Definition>,
    pub equations: Vec<Equation>,
    pub matrix: Vec<MatrixEquation>,
}

/// z^(l)_i = Σ_m w^(l)_im a^(l−1)_m + b^(l)_i, in the layer and indices asked for.
fn weighted_input(spec: &NetworkSpec, layer: Layer, i: Ix, m: Ix) -> E {
    let below = match layer {
        Layer::Rel(r) => Layer::Rel(r - 1),
        other => other,
    };
    let mut terms = vec![sum(
        m,
        below,
        mul(vec![
            at(Quantity::W, layer, &[i, m]),
            at(Quantity::A, below, &[m]),
        ]),
    )];
    if spec.biases {
        terms.push(at(Quantity::B, layer, &[i]));
    }
    add(terms)
}

/// The cost as a sum over the output neurons, index `i` (without the L2 term).
fn data_cost(spec: &NetworkSpec, i: Ix) -> E {
    let a = at(Quantity::A, Layer::Out, &[i]);
    let body = match spec.cost {
        CostKind::Quadratic | CostKind::HalfQuadratic => E::Pow(Box::new(sub(y(i), a)), 2),
        CostKind::CrossEntropy => add(vec![
            mul(vec![y(i), apply(Fun::Log, a.clone())]),
            mul(vec![sub(num(1), y(i)), apply(Fun::Log, sub(num(1), a))]),
        ]),
        CostKind::LogLikelihood => mul(vec![y(i), apply(Fun::Log, a)]),
        CostKind::Huber => apply(Fun::Huber, sub(a, y(i))),
    };
    let total = sum(i, Layer::Out, body);
    match spec.cost {
        CostKind::Quadratic | CostKind::Huber => total,
        CostKind::HalfQuadratic => mul(vec![fraction(1, 2), total]),
        CostKind::CrossEntropy | CostKind::LogLikelihood => neg(total),
    }
}

/// λ/(2n) Σ_l′ Σ_i Σ_m (w^(l′)_im)².
fn l2_term() -> E {
    mul(vec![
        scalar(Quantity::Lambda),
        recip(mul(vec![num(2), scalar(Quantity::N)])),
        E::LayerSum(Box::new(sum(
            'i',
            Layer::Other,
            sum(
                'm',
                Layer::Other,
                E::Pow(Box::new(at(Quantity::W, Layer::Other, &['i', 'm'])), 2),
            ),
        ))),
    ])
}

/// a^(l)_j as a function of z^(l)_j, and the rule that names the derivative used for it.
fn activation_of(act: Activation, layer: Layer, j: Ix) -> E {
    apply(Fun::Act(act), at(Quantity::Z, layer, &[j]))
}

/// Derives BP1–BP4 and their matrix form for the network.
pub fn derive(spec: &NetworkSpec) -> Layered {
    let layers = spec.layers();
    let out_act = spec.activation(layers);
    let mut definitions = vec![Definition {
        lhs: at(Quantity::Z, Layer::Rel(0), &['j']),
        rhs: weighted_input(spec, Layer::Rel(0), 'j', 'k'),
        note: "$l = 2, …, L$; layer 1 holds the inputs".to_string(),
    }];
    for (act, ls) in activation_groups(spec) {
        let rhs = if act == Activation::Softmax {
            mul(vec![
                apply(Fun::Exp, at(Quantity::Z, Layer::Rel(0), &['j'])),
                recip(sum(
                    'k',
                    Layer::Rel(0),
                    apply(Fun::Exp, at(Quantity::Z, Layer::Rel(0), &['k'])),
                )),
            ])
        } else {
            activation_of(act, Layer::Rel(0), 'j')
        };
        definitions.push(Definition {
            lhs: at(Quantity::A, Layer::Rel(0), &['j']),
            rhs,
            note: layer_list(&ls, layers),
        });
    }
    let mut c = data_cost(spec, 'j');
    if spec.l2 {
        c = add(vec![c, l2_term()]);
    }
    definitions.push(Definition {
        lhs: cost(),
        rhs: c,
        note: format!("cost: {}", spec.cost.name()),
    });
    definitions.push(Definition {
        lhs: at(Quantity::Delta, Layer::Rel(0), &['j']),
        rhs: d(cost(), at(Quantity::Z, Layer::Rel(0), &['j'])),
        note: "the error of neuron $j$ in layer $l$".to_string(),
    });

    let mut equations = vec![bp1(spec, out_act)];
    for (act, ls) in activation_groups(spec) {
        let hidden: Vec<usize> = ls.into_iter().filter(|&l| l < layers).collect();
        if !hidden.is_empty() {
            equations.push(bp2(spec, act, hidden));
        }
    }
    let all: Vec<usize> = (2..=layers).collect();
    if spec.biases {
        equations.push(bp3(spec, all.clone()));
    }
    equations.push(bp4(spec, all));
    let matrix = equations.iter().map(to_matrix).collect();
    Layered {
        spec: spec.clone(),
        definitions,
        equations,
        matrix,
    }
}

/// The layers after the input grouped by activation, in order of first appearance.
fn activation_groups(spec: &NetworkSpec) -> Vec<(Activation, Vec<usize>)> {
    let mut groups: Vec<(Activation, Vec<usize>)> = Vec::new();
    for l in 2..=spec.layers() {
        let a = spec.activation(l);
        match groups.iter_mut().find(|(g, _)| *g == a) {
            Some((_, ls)) => ls.push(l),
            None => groups.push((a, vec![l])),
        }
    }
    groups
}

/// "l = 2, …, 4", "l = 3", "l = 2, 4", as a formula between `$` signs.
pub fn layer_list(ls: &[usize], layers: usize) -> String {
    let contiguous = ls.windows(2).all(|w| w[1] == w[0] + 1);
    match ls {
        [one] if *one == layers => format!("$l = L = {one}$"),
        [one] => format!("$l = {one}$"),
        [first, second] => format!("$l = {first}, {second}$"),
        [first, .., last] if contiguous && *last == layers => format!("$l = {first}, …, L$"),
        [first, .., last] if contiguous && *last + 1 == layers => format!("$l = {first}, …, L−1$"),
        [first, .., last] if contiguous => format!("$l = {first}, …, {last}$"),
        _ => {
            let s: Vec<String> = ls.iter().map(usize::to_string).collect();
            format!("$l ∈ {{{}}}$", s.join(", "))
        }
    }
}

/// Appends a step `lhs = rhs` (rule).
fn step(steps: &mut Vec<Step>, rule: &str, lhs: &E, rhs: E) -> E {
    steps.push(Step {
        rule: rule.to_string(),
        lhs: lhs.clone(),
        rhs: rhs.clone(),
    });
    rhs
}

/// Differentiates, recording the raw result with the rules used, then simplifies.
fn differentiate(of: &E, wrt: &E, steps: &mut Vec<Step>) -> E {
    let lhs = d(of.clone(), wrt.clone());
    let mut rules = Vec::new();
    // The rules' output is flattened at once (no `x^1`, `0 +`), so the step reads as a
    // textbook writes it; the rules are named all the same.
    let raw = fold(&diff(of, wrt, &mut rules));
    step(steps, &rules.join(", "), &lhs, raw.clone());
    simplify_with(raw, &BASIC, steps, &lhs)
}

/// BP1: δ^L_j = Σ_i ∂C/∂a^L_i ∂a^L_i/∂z^L_j, with the cost's and activation's derivatives.
fn bp1(spec: &NetworkSpec, act: Activation) -> Equation {
    let mut steps = Vec::new();
    let lhs = at(Quantity::Delta, Layer::Out, &['j']);
    let z_j = at(Quantity::Z, Layer::Out, &['j']);
    let a_i = at(Quantity::A, Layer::Out, &['i']);
    let dc_da = |i: Ix| d(cost(), at(Quantity::A, Layer::Out, &[i]));
    step(
        &mut steps,
        "definition of $δ$",
        &lhs,
        d(cost(), z_j.clone()),
    );
    let local = d(a_i.clone(), z_j.clone());
    let mut rhs = step(
        &mut steps,
        "chain rule: $C$ depends on $z^L_j$ through the activations $a^L_i$",
        &lhs,
        sum('i', Layer::Out, mul(vec![dc_da('i'), local.clone()])),
    );

    // ∂a^L_i/∂z^L_j from the activation.
    let local_value = if act == Activation::Softmax {
        let a_j = at(Quantity::A, Layer::Out, &['j']);
        step(
            &mut steps,
            "derivative of softmax: $∂a_i/∂z_j = a_i(δ_ij − a_j)$",
            &local,
            mul(vec![a_i.clone(), sub(E::Kron('i', 'j'), a_j)]),
        )
    } else {
        let definition = activation_of(act, Layer::Out, 'i');
        step(
            &mut steps,
            "definition of $a^L_i$",
            &local,
            d(definition.clone(), z_j.clone()),
        );
        differentiate(&definition, &z_j, &mut steps)
    };
    rhs = step(
        &mut steps,
        "substitute",
        &lhs,
        rhs.replace(&local, &local_value),
    );
    rhs = simplify_with(rhs, &BASIC, &mut steps, &lhs);

    // ∂C/∂a^L_j from the cost (the L2 term does not depend on a).
    let c = data_cost(spec, 'm');
    let wrt = at(Quantity::A, Layer::Out, &['j']);
    let mut sub_steps = Vec::new();
    if spec.l2 {
        sub_steps.push(Step {
            rule: "the L2 term does not depend on the activations".into(),
            lhs: dc_da('j'),
            rhs: d(c.clone(), wrt.clone()),
        });
    }
    let dcost = differentiate(&c, &wrt, &mut sub_steps);
    steps.extend(sub_steps);
    // The derivative is for index j; the chain rule may need it for index i.
    let mut substituted = rhs.replace(&dc_da('j'), &dcost);
    substituted = substituted.replace(&dc_da('i'), &dcost.rename('j', 'i'));
    rhs = step(&mut steps, "substitute $∂C/∂a^L$", &lhs, substituted);
    rhs = simplify_with(rhs, &BASIC, &mut steps, &lhs);

    // Where the cost's derivative has denominators, writing σ' in terms of a may cancel them.
    rhs = try_cancellation(spec, act, rhs, &lhs, &mut steps);
    Equation {
        label: "BP1",
        title: "the error of the output layer".into(),
        layers: Layers::Output,
        steps,
        lhs,
        rhs,
    }
}

/// Writes σ'(z) = a(1 − a) (tanh'(z) = 1 − a²), multiplies out, cancels and collects; with a
/// softmax output and the log-likelihood cost uses Σ_i y_i = 1. Keeps the steps only if the
/// result is smaller than what it started from.
fn try_cancellation(
    spec: &NetworkSpec,
    act: Activation,
    rhs: E,
    lhs: &E,
    steps: &mut Vec<Step>,
) -> E {
    let mut trial = Vec::new();
    let z = at(Quantity::Z, Layer::Out, &['j']);
    let a = at(Quantity::A, Layer::Out, &['j']);
    let prime = apply(Fun::Prime(act), z);
    let mut e = rhs.clone();
    if rhs.has_denominator() || act == Activation::Softmax {
        let in_a = match act {
            Activation::Sigmoid => Some((
                "$σ'(z) = σ(z)(1 − σ(z)) = a(1 − a)$",
                mul(vec![a.clone(), sub(num(1), a.clone())]),
            )),
            Activation::Tanh => Some((
                "$tanh'(z) = 1 − tanh²(z) = 1 − a²$",
                sub(num(1), E::Pow(Box::new(a.clone()), 2)),
            )),
            _ => None,
        };
        if let Some((rule, value)) = in_a {
            e = step(&mut trial, rule, lhs, fold(&e.replace(&prime, &value)));
        }
        let spread = expand_products(&e);
        if spread != e {
            e = step(
                &mut trial,
                "multiply out and cancel common factors",
                lhs,
                spread,
            );
        }
        e = simplify_with(e, &BASIC, &mut trial, lhs);
        let collected = collect_terms(&e);
        if collected != e {
            e = step(&mut trial, "collect like terms", lhs, collected);
        }
        if spec.cost == CostKind::LogLikelihood {
            let total = sum('i', Layer::Out, y('i'));
            let replaced = fold(&e.replace(&total, &num(1)));
            if replaced != e {
                e = step(
                    &mut trial,
                    "the targets are a distribution: $Σ_i y_i = 1$",
                    lhs,
                    replaced,
                );
            }
        }
        e = simplify_with(e, &BASIC, &mut trial, lhs);
    }
    if e.size() < rhs.size() {
        steps.extend(trial);
        e
    } else {
        rhs
    }
}

/// BP2: δ^(l)_j = Σ_i δ^(l+1)_i ∂z^(l+1)_i/∂z^(l)_j for the hidden layers with activation `act`.
fn bp2(spec: &NetworkSpec, act: Activation, hidden: Vec<usize>) -> Equation {
    let mut steps = Vec::new();
    let lhs = at(Quantity::Delta, Layer::Rel(0), &['j']);
    let z_j = at(Quantity::Z, Layer::Rel(0), &['j']);
    let z_up = at(Quantity::Z, Layer::Rel(1), &['i']);
    step(
        &mut steps,
        "definition of $δ$",
        &lhs,
        d(cost(), z_j.clone()),
    );
    let local = d(z_up.clone(), z_j.clone());
    let rhs = step(
        &mut steps,
        "chain rule: $z^(l)_j$ reaches $C$ only through the weighted inputs $z^(l+1)_i$",
        &lhs,
        sum(
            'i',
            Layer::Rel(1),
            mul(vec![d(cost(), z_up.clone()), local.clone()]),
        ),
    );
    let mut rhs = step(
        &mut steps,
        "definition of $δ^(l+1)$",
        &lhs,
        rhs.replace(
            &d(cost(), z_up),
            &at(Quantity::Delta, Layer::Rel(1), &['i']),
        ),
    );
    // z^(l+1)_i = Σ_k w^(l+1)_ik a^(l)_k + b^(l+1)_i with a^(l)_k = f(z^(l)_k).
    let definition = weighted_input(spec, Layer::Rel(1), 'i', 'k');
    step(
        &mut steps,
        "definition of $z^(l+1)_i$",
        &local,
        d(definition.clone(), z_j.clone()),
    );
    let a_k = at(Quantity::A, Layer::Rel(0), &['k']);
    let through = definition.replace(&a_k, &activation_of(act, Layer::Rel(0), 'k'));
    step(
        &mut steps,
        "definition of $a^(l)_k$",
        &local,
        d(through.clone(), z_j.clone()),
    );
    let local_value = differentiate(&through, &z_j, &mut steps);
    rhs = step(
        &mut steps,
        "substitute",
        &lhs,
        rhs.replace(&local, &local_value),
    );
    rhs = simplify_with(rhs, &BASIC, &mut steps, &lhs);
    Equation {
        label: "BP2",
        title: "the error of a hidden layer, from the layer above".into(),
        layers: Layers::General(hidden),
        steps,
        lhs,
        rhs,
    }
}

/// BP3: ∂C/∂b^(l)_j = Σ_i δ^(l)_i ∂z^(l)_i/∂b^(l)_j.
fn bp3(spec: &NetworkSpec, ls: Vec<usize>) -> Equation {
    let wrt = at(Quantity::B, Layer::Rel(0), &['j']);
    through_z(spec, "BP3", "the gradient of the biases", wrt, ls)
}

/// BP4: ∂C/∂w^(l)_jk = Σ_i δ^(l)_i ∂z^(l)_i/∂w^(l)_jk (+ the L2 term's own derivative).
fn bp4(spec: &NetworkSpec, ls: Vec<usize>) -> Equation {
    let wrt = at(Quantity::W, Layer::Rel(0), &['j', 'k']);
    through_z(spec, "BP4", "the gradient of the weights", wrt, ls)
}

fn through_z(
    spec: &NetworkSpec,
    label: &'static str,
    title: &str,
    wrt: E,
    ls: Vec<usize>,
) -> Equation {
    let mut steps = Vec::new();
    let lhs = d(cost(), wrt.clone());
    let z_i = at(Quantity::Z, Layer::Rel(0), &['i']);
    let local = d(z_i.clone(), wrt.clone());
    let mut terms = vec![sum(
        'i',
        Layer::Rel(0),
        mul(vec![d(cost(), z_i.clone()), local.clone()]),
    )];
    let is_weight = matches!(wrt, E::At(Quantity::W, ..));
    let direct = d(l2_term(), wrt.clone());
    let rule = if spec.l2 && is_weight {
        terms.push(direct.clone());
        "chain rule through the weighted inputs $z^(l)_i$, plus the L2 term, which holds $w$ directly"
    } else {
        "chain rule: the parameter reaches $C$ only through the weighted inputs $z^(l)_i$"
    };
    let rhs = step(&mut steps, rule, &lhs, add(terms));
    let mut rhs = step(
        &mut steps,
        "definition of $δ^(l)$",
        &lhs,
        rhs.replace(&d(cost(), z_i), &at(Quantity::Delta, Layer::Rel(0), &['i'])),
    );
    let definition = weighted_input(spec, Layer::Rel(0), 'i', 'm');
    step(
        &mut steps,
        "definition of $z^(l)_i$",
        &local,
        d(definition.clone(), wrt.clone()),
    );
    let local_value = differentiate(&definition, &wrt, &mut steps);
    rhs = step(
        &mut steps,
        "substitute",
        &lhs,
        rhs.replace(&local, &local_value),
    );
    if spec.l2 && is_weight {
        let value = differentiate(&l2_term(), &wrt, &mut steps);
        rhs = step(&mut steps, "substitute", &lhs, rhs.replace(&direct, &value));
    }
    rhs = simplify_with(rhs, &BASIC, &mut steps, &lhs);
    Equation {
        label,
        title: title.into(),
        layers: Layers::General(ls),
        steps,
        lhs,
        rhs,
    }
}

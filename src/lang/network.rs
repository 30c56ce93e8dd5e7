//! The layered `network` shorthand: what a fully connected network is (widths, activation of
//! each layer, cost, biases, L2 term), independent of how it was written.
//!
//! The parser fills a [`NetworkSpec`] from `network 2-3-1` and its option lines;
//! [`expansion`](crate::lang::expansion) turns it into the straight-line program of the core
//! language, and the layered derivation (`derive --layers`) reads it to derive the backprop
//! equations for a general layer.

use crate::core::error::{Diagnostic, Result};
use crate::core::expr::Func;
use crate::lang::ast::{Ident, Program, Span, Stmt};

/// The activation of one layer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    Sigmoid,
    Tanh,
    Relu,
    Softplus,
    Identity,
    /// Output layer only.
    Softmax,
}

/// The cost over the output layer (summed over the output neurons).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CostKind {
    /// Σ_j (y_j − a_j)²
    Quadratic,
    /// ½ Σ_j (y_j − a_j)²
    HalfQuadratic,
    /// −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]
    CrossEntropy,
    /// −Σ_j y_j ln a_j (with a softmax output)
    LogLikelihood,
    /// Σ_j huber(a_j − y_j, 1): PyTorch's `HuberLoss` with δ = 1, summed.
    Huber,
}

/// A fully connected network as the shorthand describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSpec {
    /// Neurons per layer, input layer first (`2-3-1` is `[2, 3, 1]`); every width ≥ 1.
    pub widths: Vec<usize>,
    /// The activation of layers 2..=L, one entry per layer after the input layer.
    pub activations: Vec<Activation>,
    pub cost: CostKind,
    /// Whether each neuron of layers 2..=L has a bias b^(l)_j.
    pub biases: bool,
    /// Whether the cost carries the L2 term λ/(2n)·Σ w².
    pub l2: bool,
    /// Where the `network` line was written.
    pub span: Span,
}

/// The most neurons one layer may have: a neuron's `z` is one sum over the layer before, and
/// the parser bounds how long a sum may be (`syntax::MAX_EXPR_DEPTH`), with room for the L2
/// term, whose sum nests a layer's rows inside the layers.
pub const MAX_WIDTH: usize = 1000;
/// The most layers, input layer included (the L2 term adds one level per layer).
pub const MAX_LAYERS: usize = 32;
/// The most weights: the expansion writes one line per neuron and one name per weight, and a
/// bigger network would not be read by anyone, only wait for memory.
pub const MAX_WEIGHTS: usize = 250_000;

impl Activation {
    pub const ALL: [Activation; 6] = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::Softplus,
        Activation::Identity,
        Activation::Softmax,
    ];

    /// The word of the shorthand (`activation tanh`).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Softplus => "softplus",
            Activation::Identity => "identity",
            Activation::Softmax => "softmax",
        }
    }

    pub fn from_name(word: &str) -> Option<Activation> {
        let word = word.to_ascii_lowercase();
        Activation::ALL.into_iter().find(|a| a.name() == word)
    }

    /// The core's function applied to each neuron, or `None` where there is none: the
    /// identity, and softmax, which is not applied neuron by neuron.
    pub fn func(self) -> Option<Func> {
        match self {
            Activation::Sigmoid => Some(Func::Sigmoid),
            Activation::Tanh => Some(Func::Tanh),
            Activation::Relu => Some(Func::Relu),
            Activation::Softplus => Some(Func::Softplus),
            Activation::Identity | Activation::Softmax => None,
        }
    }
}

impl CostKind {
    pub const ALL: [CostKind; 5] = [
        CostKind::Quadratic,
        CostKind::HalfQuadratic,
        CostKind::CrossEntropy,
        CostKind::LogLikelihood,
        CostKind::Huber,
    ];

    /// The word of the shorthand (`cost cross-entropy`).
    pub fn name(self) -> &'static str {
        match self {
            CostKind::Quadratic => "quadratic",
            CostKind::HalfQuadratic => "half-quadratic",
            CostKind::CrossEntropy => "cross-entropy",
            CostKind::LogLikelihood => "log-likelihood",
            CostKind::Huber => "huber",
        }
    }

    pub fn from_name(word: &str) -> Option<CostKind> {
        let word = word.to_ascii_lowercase();
        CostKind::ALL.into_iter().find(|c| c.name() == word)
    }
}

impl NetworkSpec {
    /// The number of layers L (the input layer is layer 1, the output layer layer L).
    pub fn layers(&self) -> usize {
        self.widths.len()
    }

    /// The width of layer `l` (1-based).
    pub fn width(&self, l: usize) -> usize {
        self.widths[l - 1]
    }

    /// The activation of layer `l`, for 2 ≤ l ≤ L.
    pub fn activation(&self, l: usize) -> Activation {
        self.activations[l - 2]
    }

    /// How the network was written, one option a line (the header of the expansion).
    pub fn describe(&self) -> String {
        let widths: Vec<String> = self.widths.iter().map(usize::to_string).collect();
        let mut text = format!("network {}", widths.join("-"));
        let common = self.activations[0];
        text.push_str(&format!(", activation {}", common.name()));
        for l in 3..=self.layers() {
            if self.activation(l) != common {
                text.push_str(&format!(", activation {l} {}", self.activation(l).name()));
            }
        }
        text.push_str(&format!(", cost {}", self.cost.name()));
        if !self.biases {
            text.push_str(", biases none");
        }
        if self.l2 {
            text.push_str(", regularization l2");
        }
        text
    }
}

// ---------------------------------------------------------------------------------------
// From the syntax tree
// ---------------------------------------------------------------------------------------

/// The network a program describes with the shorthand, or `None` for a straight-line program.
///
/// The shorthand stands alone: a file with a `network` line holds nothing but option lines and
/// comments (to extend a network, `chainrule expand` it and edit the straight-line form).
pub fn from_program(program: &Program) -> Result<Option<NetworkSpec>> {
    let network = program.statements.iter().find_map(|s| match s {
        Stmt::Network { widths, span } => Some((widths, *span)),
        _ => None,
    });
    let Some((width_words, span)) = network else {
        if let Some(Stmt::NetworkOption { key, value, .. }) = program
            .statements
            .iter()
            .find(|s| matches!(s, Stmt::NetworkOption { .. }))
        {
            // `cost C` alone is far likelier an unfinished `cost C = EXPR` than a network
            // option without its network.
            if key.name == "cost" && CostKind::from_name(&value.name).is_none() {
                let end = Span::new(value.span.end, value.span.end);
                return Err(Diagnostic::at(
                    end,
                    format!("expected `=` after `cost {}`", value.name),
                    "expected `=`",
                )
                .with_help(format!(
                    "give the cost its formula: `cost {} = EXPR`",
                    value.name
                )));
            }
            return Err(Diagnostic::at(
                key.span,
                format!(
                    "`{}` sets an option of the network shorthand, but there is no `network` line",
                    key.name
                ),
                "an option of the network shorthand",
            )
            .with_help(option_without_network_help(&key.name)));
        }
        return Ok(None);
    };
    for stmt in &program.statements {
        match stmt {
            Stmt::Network { span: other, .. } if *other != span => {
                return Err(
                    Diagnostic::at(*other, "a second `network` line", "second network")
                        .with_note(span, "the first `network` line is here")
                        .with_help("a file describes one network"),
                );
            }
            Stmt::Declare { span: other, .. }
            | Stmt::Show { span: other, .. }
            | Stmt::Assign { span: other, .. } => {
                return Err(Diagnostic::at(
                    *other,
                    "the network shorthand stands alone in its file",
                    "a statement of the straight-line language",
                )
                .with_note(span, "the network is described here")
                .with_help(
                    "keep only the `network` line, its option lines and comments; to change the \
                     network beyond the options, write out its expansion (`chainrule expand FILE`) \
                     and edit that",
                ));
            }
            _ => {}
        }
    }

    let widths = layer_widths(width_words, span)?;
    let layers = widths.len();
    let mut spec = NetworkSpec {
        widths,
        activations: vec![Activation::Sigmoid; layers - 1],
        cost: CostKind::Quadratic,
        biases: true,
        l2: false,
        span,
    };

    // Where each setting was written, to name both lines of a conflict.
    let mut all_layers: Option<(Activation, Span)> = None;
    let mut per_layer: Vec<Option<(Activation, Span)>> = vec![None; layers + 1];
    let mut cost_at: Option<(CostKind, Span)> = None;
    let mut biases_at: Option<Span> = None;
    let mut l2_at: Option<Span> = None;
    for stmt in &program.statements {
        let Stmt::NetworkOption {
            key,
            layer,
            value,
            span: line,
        } = stmt
        else {
            continue;
        };
        if key.name != "activation"
            && let Some(layer) = layer
        {
            return Err(Diagnostic::at(
                layer.span,
                format!(
                    "`{}` applies to the whole network, not to one layer",
                    key.name
                ),
                "a layer number",
            )
            .with_help(format!("write `{} {}`", key.name, value.name)));
        }
        let twice = |first: Span| {
            Diagnostic::at(
                *line,
                format!("`{}` is set twice", key.name),
                "set again here",
            )
            .with_note(first, "first set here")
            .with_help("keep one of the two lines")
        };
        match key.name.as_str() {
            "activation" => {
                let activation = Activation::from_name(&value.name).ok_or_else(|| {
                    unknown_word(
                        value,
                        "activation",
                        Activation::ALL.iter().map(|a| a.name()),
                    )
                })?;
                match layer {
                    None => {
                        if let Some((_, first)) = all_layers {
                            return Err(twice(first));
                        }
                        all_layers = Some((activation, *line));
                    }
                    Some(number) => {
                        let l = layer_number(number, layers)?;
                        if let Some((_, first)) = per_layer[l] {
                            return Err(Diagnostic::at(
                                *line,
                                format!("the activation of layer {l} is set twice"),
                                "set again here",
                            )
                            .with_note(first, "first set here")
                            .with_help("keep one of the two lines"));
                        }
                        per_layer[l] = Some((activation, value.span));
                    }
                }
            }
            "cost" => {
                let cost = CostKind::from_name(&value.name).ok_or_else(|| {
                    let d = unknown_word(value, "cost", CostKind::ALL.iter().map(|c| c.name()));
                    if d.help
                        .as_deref()
                        .is_some_and(|h| h.starts_with("did you mean"))
                    {
                        return d;
                    }
                    d.with_help(format!(
                        "the costs are {}; a straight-line program names its cost with \
                         `cost C = EXPR` instead",
                        quoted(CostKind::ALL.iter().map(|c| c.name()))
                    ))
                })?;
                if let Some((_, first)) = cost_at {
                    return Err(twice(first));
                }
                cost_at = Some((cost, value.span));
            }
            "biases" => {
                let on = match value.name.to_ascii_lowercase().as_str() {
                    "none" | "no" | "off" => false,
                    "all" | "yes" | "on" => true,
                    _ => {
                        return Err(unknown_word(
                            value,
                            "biases setting",
                            ["none", "all"].into_iter(),
                        ));
                    }
                };
                if let Some(first) = biases_at {
                    return Err(twice(first));
                }
                biases_at = Some(*line);
                spec.biases = on;
            }
            _ => {
                let on = match value.name.to_ascii_lowercase().as_str() {
                    "l2" => true,
                    "none" => false,
                    _ => {
                        return Err(unknown_word(
                            value,
                            "regularization",
                            ["l2", "none"].into_iter(),
                        ));
                    }
                };
                if let Some(first) = l2_at {
                    return Err(twice(first));
                }
                l2_at = Some(*line);
                spec.l2 = on;
            }
        }
    }

    // A line for all layers sets the default; a line for one layer wins over it, whichever
    // comes first.
    for (l, own) in per_layer.iter().enumerate().skip(2) {
        let activation = match (*own, all_layers) {
            (Some((a, _)), _) | (None, Some((a, _))) => a,
            (None, None) => Activation::Sigmoid,
        };
        spec.activations[l - 2] = activation;
        if activation == Activation::Softmax && l < layers {
            let at = own.or(all_layers).map_or(span, |(_, s)| s);
            let help = if own.is_some() {
                format!("softmax normalises the output layer; here that is layer {layers}")
            } else {
                format!(
                    "this line sets every layer after the input; give the hidden layers another \
                     activation and the output layer softmax: `activation sigmoid` and \
                     `activation {layers} softmax`"
                )
            };
            return Err(Diagnostic::at(
                at,
                format!("softmax on hidden layer {l}"),
                "softmax is for the output layer only",
            )
            .with_help(help));
        }
    }
    if let Some((cost, at)) = cost_at {
        spec.cost = cost;
        if cost == CostKind::LogLikelihood && spec.activation(layers) != Activation::Softmax {
            return Err(Diagnostic::at(
                at,
                "the log-likelihood cost needs a softmax output layer",
                "needs softmax outputs",
            )
            .with_help(format!(
                "add `activation {layers} softmax`, so that the outputs are probabilities \
                 that sum to 1"
            )));
        }
    }
    Ok(Some(spec))
}

fn option_without_network_help(key: &str) -> String {
    if key == "cost" {
        "name the cost of a straight-line program with `cost C = EXPR`, or describe a layered \
         network first: `network 2-3-1`"
            .to_string()
    } else {
        "describe the network first, e.g. `network 2-3-1`".to_string()
    }
}

/// The widths of `network 2-3-1`, checked.
fn layer_widths(words: &[Ident], span: Span) -> Result<Vec<usize>> {
    if words.len() < 2 {
        return Err(Diagnostic::at(
            span,
            "a network needs at least two layers",
            "one layer only",
        )
        .with_help("give the width of every layer, input first: `network 2-3-1`"));
    }
    if words.len() > MAX_LAYERS {
        return Err(Diagnostic::at(
            span,
            format!(
                "a network of {} layers is more than the shorthand expands ({MAX_LAYERS})",
                words.len()
            ),
            "too many layers",
        ));
    }
    let mut widths = Vec::with_capacity(words.len());
    for word in words {
        let width = word.name.parse::<usize>().unwrap_or(usize::MAX);
        if width == 0 {
            return Err(Diagnostic::at(
                word.span,
                "a layer of width 0",
                "a layer needs at least one neuron",
            ));
        }
        if width > MAX_WIDTH {
            return Err(Diagnostic::at(
                word.span,
                format!(
                    "a layer of {} neurons is wider than the shorthand expands",
                    word.name
                ),
                format!("at most {MAX_WIDTH} neurons a layer"),
            ));
        }
        widths.push(width);
    }
    let weights: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    if weights > MAX_WEIGHTS {
        return Err(Diagnostic::at(
            span,
            format!("the network has {weights} weights, more than the shorthand expands"),
            format!("at most {MAX_WEIGHTS} weights"),
        ));
    }
    Ok(widths)
}

/// The `3` of `activation 3 softmax`: a layer after the input layer.
fn layer_number(word: &Ident, layers: usize) -> Result<usize> {
    let l = word.name.parse::<usize>().unwrap_or(usize::MAX);
    if l == 1 {
        return Err(Diagnostic::at(
            word.span,
            "layer 1 is the input layer and has no activation",
            "the input layer",
        )
        .with_help(format!(
            "layers are numbered from 1 (the input layer) to {layers} (the output layer)"
        )));
    }
    if l < 2 || l > layers {
        return Err(Diagnostic::at(
            word.span,
            format!(
                "there is no layer {} in a network of {layers} layers",
                word.name
            ),
            "layer number out of range",
        )
        .with_help(format!(
            "layers are numbered from 1 (the input layer) to {layers} (the output layer)"
        )));
    }
    Ok(l)
}

/// An unknown option word, with the nearest known one suggested.
fn unknown_word<'a>(word: &Ident, what: &str, known: impl Iterator<Item = &'a str>) -> Diagnostic {
    let known: Vec<&str> = known.collect();
    let lower = word.name.to_ascii_lowercase();
    let nearest = known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&lower, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min();
    let d = Diagnostic::at(
        word.span,
        format!("unknown {what} `{}`", word.name),
        format!("not a known {what}"),
    );
    match nearest {
        Some((_, k)) => d.with_help(format!("did you mean `{k}`?")),
        None => d.with_help(format!("expected {}", quoted(known.into_iter()))),
    }
}

fn quoted<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let words: Vec<String> = words.map(|w| format!("`{w}`")).collect();
    match words.split_last() {
        Some((last, init)) if !init.is_empty() => format!("{} or {last}", init.join(", ")),
        _ => words.join(""),
    }
}

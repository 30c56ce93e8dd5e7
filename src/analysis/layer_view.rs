//! The gradient layer by layer, and why it vanishes or explodes: for a program with layers
//! (the `network` shorthand, or any program whose names say their layer: `z3_1`, `a3_1`,
//! `w3_1_2`, `b3_1`, or `z2`, `a2`, `w2`, `b2`), the norm of ∂C/∂W, ∂C/∂b and δ = ∂C/∂z of
//! each layer, the mean of the activation's derivative, the saturated and dead units, and each
//! layer's gradient norm against the last layer's. From these, findings: a vanishing or
//! exploding gradient past a stated ratio with the product that explains it (σ′ ≤ ¼ per
//! layer, saturated units, dead ReLUs, weights off the Xavier or He scale), and a saturated
//! sigmoid output under a cost that does not cancel σ′. Pure data: causes and remedies are
//! codes, which templates word.
//!
//! The numbers are float64 (the network's own arithmetic), from one derivation of ∂C/∂θ, ∂C/∂z
//! and the output layer's ∂C/∂a, evaluated at one example or averaged over several.

use std::collections::HashMap;

use crate::core::diff::{Config, Target};
use crate::core::expr::{Func, Id, Node, Sym};
use crate::core::model::{Model, SymKind};

/// Below this ratio of the first layer's gradient norm to the last layer's, the gradient
/// vanishes (a finding).
pub const VANISHING_RATIO: f64 = 1e-3;
/// Above this ratio, it explodes.
pub const EXPLODING_RATIO: f64 = 1e3;
/// Slope of σ or tanh below which a unit counts as saturated: σ′ < 10⁻³ (|z| > 6.9), tanh′ <
/// 10⁻³ (|z| > 4.5).
pub const SATURATED_SLOPE: f64 = 1e-3;
/// Weights whose root mean square is off the Xavier (σ, tanh) or He (relu) scale by more than
/// this factor either way are named as a cause.
pub const WEIGHT_SCALE_FACTOR: f64 = 4.0;
/// An output unit the cost still pulls at least this hard (|∂C/∂a|) while its δ is below
/// [`OUTPUT_STUCK_DELTA`] is stuck in saturation.
const OUTPUT_PULL: f64 = 0.1;
const OUTPUT_STUCK_DELTA: f64 = 0.1;
/// At most this many units are named in a cause; the rest are counted.
pub const NAMED_UNITS: usize = 6;

/// Names that say their layer, by letter and layer, each with its unit indices (to sort by).
type NamesByLayer = HashMap<(char, usize), Vec<(Vec<usize>, Sym)>>;

/// The names of one layer l ≥ 2 (the input layer is 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub layer: usize,
    /// `z{l}…` in unit order.
    pub pre_activations: Vec<Sym>,
    /// `a{l}…`, the same units.
    pub activations: Vec<Sym>,
    /// The activation function applied unit by unit, where one is (none: identity, softmax).
    pub function: Option<Func>,
    pub weights: Vec<Sym>,
    pub biases: Vec<Sym>,
    /// Units of the layer before (fan-in of a weight).
    pub fan_in: usize,
}

/// Weights of a layer a page names (and derives) before any search, besides its first bias.
pub const FIRST_UNITS: usize = 4;

impl Layer {
    /// The parameters a page names for the layer without a search: its first
    /// [`FIRST_UNITS`] weights and its first bias.
    pub fn first_parameters(&self) -> Vec<Sym> {
        self.weights
            .iter()
            .take(FIRST_UNITS)
            .chain(self.biases.iter().take(1))
            .copied()
            .collect()
    }
}

/// Which names of a program form layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Layering {
    pub layers: Vec<Layer>,
}

/// A name that says its layer: its letter, the layer, and the unit indices after it.
fn layered_name(name: &str) -> Option<(char, usize, Vec<usize>)> {
    let mut chars = name.chars();
    let letter = chars
        .next()
        .filter(|c| matches!(c, 'w' | 'b' | 'z' | 'a'))?;
    let rest = chars.as_str();
    let mut parts = rest.split('_');
    let layer = parts.next().filter(|p| !p.is_empty())?;
    if !layer.bytes().all(|b| b.is_ascii_digit()) || layer.len() > 3 {
        return None;
    }
    let mut units = Vec::new();
    for part in parts {
        if part.is_empty() || part.len() > 6 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        units.push(part.parse().ok()?);
    }
    Some((letter, layer.parse().ok()?, units))
}

impl Layering {
    /// The layers of the program, if it has at least two, each with its `z` and `a` names (each
    /// `a` defined from its `z`) and parameters.
    pub fn of(model: &Model) -> Option<Layering> {
        let mut by_layer: std::collections::BTreeMap<usize, Layer> = Default::default();
        let mut units: NamesByLayer = HashMap::new();
        for s in model.syms() {
            let kind = model.symbol(s).kind;
            let Some((letter, layer, index)) = layered_name(model.name(s)) else {
                continue;
            };
            let fits = match letter {
                'w' | 'b' => kind == SymKind::Param,
                _ => matches!(
                    kind,
                    SymKind::Intermediate | SymKind::Output | SymKind::Input
                ),
            };
            if fits {
                units.entry((letter, layer)).or_default().push((index, s));
            }
        }
        for list in units.values_mut() {
            list.sort();
        }
        let take = |units: &mut NamesByLayer, key| {
            units
                .remove(&key)
                .map(|l| l.into_iter().map(|(_, s)| s).collect::<Vec<Sym>>())
                .unwrap_or_default()
        };
        let layer_numbers: Vec<usize> = units
            .keys()
            .filter(|(letter, _)| *letter == 'z')
            .map(|&(_, l)| l)
            .collect();
        for l in layer_numbers {
            let zs = take(&mut units, ('z', l));
            let as_ = take(&mut units, ('a', l));
            if zs.len() != as_.len() || zs.iter().any(|&z| model.definition(z).is_none()) {
                continue;
            }
            // Each unit's activation is a function of its own pre-activation.
            let function_of = |a: Sym, z: Sym| -> Option<Option<Func>> {
                let def = model.definition(a)?;
                match model.graph.node(def) {
                    Node::Call(f, arg) if *model.graph.node(*arg) == Node::Var(z) => Some(Some(*f)),
                    Node::Var(v) if *v == z => Some(None),
                    _ => model.dependencies.uses(a).contains(&z).then_some(None),
                }
            };
            let functions: Option<Vec<Option<Func>>> = as_
                .iter()
                .zip(&zs)
                .map(|(&a, &z)| function_of(a, z))
                .collect();
            let Some(functions) = functions else {
                continue;
            };
            let function = functions[0].filter(|f| functions.iter().all(|g| *g == Some(*f)));
            by_layer.insert(
                l,
                Layer {
                    layer: l,
                    pre_activations: zs,
                    activations: as_,
                    function,
                    weights: take(&mut units, ('w', l)),
                    biases: take(&mut units, ('b', l)),
                    fan_in: 0,
                },
            );
        }
        let mut layers: Vec<Layer> = by_layer
            .into_values()
            .filter(|l| !l.weights.is_empty() || !l.biases.is_empty())
            .collect();
        if layers.len() < 2 {
            return None;
        }
        // Fan-in: weights per unit (the units of the layer before).
        for layer in &mut layers {
            layer.fan_in = (layer.weights.len() / layer.pre_activations.len()).max(1);
        }
        Some(Layering { layers })
    }

    /// Which layer (index into `layers`) each parameter belongs to.
    pub fn layer_of_params(&self) -> HashMap<Sym, usize> {
        let mut out = HashMap::new();
        for (i, layer) in self.layers.iter().enumerate() {
            for &p in layer.weights.iter().chain(&layer.biases) {
                out.insert(p, i);
            }
        }
        out
    }
}

/// The numbers of one layer, at one example or averaged over several.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerStats {
    pub layer: usize,
    pub units: usize,
    pub function: Option<Func>,
    /// ‖∂C/∂W‖ (Frobenius) and ‖∂C/∂b‖.
    pub grad_norm_w: f64,
    pub grad_norm_b: f64,
    /// √(‖∂C/∂W‖² + ‖∂C/∂b‖²): the layer's gradient norm.
    pub grad_norm: f64,
    /// ‖δ‖ = ‖∂C/∂z‖ of the layer.
    pub delta_norm: f64,
    /// The mean |f′(z)| over the layer's units (and examples); `None` for softmax or a
    /// function the view does not know.
    pub mean_activation_derivative: Option<f64>,
    /// Units saturated (σ′ or tanh′ below [`SATURATED_SLOPE`]) on every example.
    pub saturated: Vec<Sym>,
    /// ReLU units with relu′ = 0 on every example.
    pub dead: Vec<Sym>,
    /// `grad_norm` over the last layer's.
    pub ratio_to_last: f64,
    /// Root mean square of the layer's weights, and the Xavier (√(2/(fan_in + fan_out))) and He
    /// (√(2/fan_in)) scales it is compared with.
    pub weight_rms: f64,
    /// ‖W‖ (Frobenius) of the layer's weights.
    pub weight_norm: f64,
    pub xavier_scale: f64,
    pub he_scale: f64,
}

/// What a finding is about.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FindingKind {
    VanishingGradient,
    ExplodingGradient,
    /// A sigmoid or tanh output unit is saturated while the cost still pulls it: σ′ in δ^L
    /// stops it learning.
    SaturatedOutput,
    /// Training: the cost stopped moving before it was low.
    Stall,
    /// Training: the cost went up and down.
    Oscillation,
    /// Training: the cost rose or stopped being a number.
    Divergence,
}

impl FindingKind {
    pub fn code(self) -> &'static str {
        match self {
            FindingKind::VanishingGradient => "vanishing-gradient",
            FindingKind::ExplodingGradient => "exploding-gradient",
            FindingKind::SaturatedOutput => "saturated-output",
            FindingKind::Stall => "stall",
            FindingKind::Oscillation => "oscillation",
            FindingKind::Divergence => "divergence",
        }
    }
}

/// Why: the product or the units that explain a finding.
#[derive(Clone, Debug, PartialEq)]
pub enum Cause {
    /// σ′ ≤ ¼: across `layers` sigmoid layers between the first and the last, the factors of
    /// σ′ alone shrink the gradient by at most 4^−layers; `product` is the product of the
    /// measured mean σ′ of those layers.
    SigmoidSlope { layers: usize, product: f64 },
    /// Units whose σ′ or tanh′ is below [`SATURATED_SLOPE`] (first [`NAMED_UNITS`], of
    /// `count`).
    Saturation { units: Vec<Sym>, count: usize },
    /// ReLU units with z ≤ 0: relu′ = 0, so nothing flows back through them.
    DeadRelu { units: Vec<Sym>, count: usize },
    /// A layer's weights far below (or above) the scale of the initialisation that fits its
    /// activation.
    SmallWeights {
        layer: usize,
        rms: f64,
        scale: f64,
        he: bool,
    },
    LargeWeights {
        layer: usize,
        rms: f64,
        scale: f64,
        he: bool,
    },
    /// No single cause: the product of each layer's ‖W^{l+1}‖·mean|f′(z^l)| from the last to
    /// the first.
    LayerProduct { product: f64 },
    /// Training: the learning rate is too large for the cost's curvature.
    LearningRate { rate: f64 },
    /// Training: the gradient is tiny everywhere (‖∇C‖ at the end).
    SmallGradient { norm: f64 },
}

impl Cause {
    pub fn code(&self) -> &'static str {
        match self {
            Cause::SigmoidSlope { .. } => "sigmoid-slope",
            Cause::Saturation { .. } => "saturation",
            Cause::DeadRelu { .. } => "dead-relu",
            Cause::SmallWeights { .. } => "small-weights",
            Cause::LargeWeights { .. } => "large-weights",
            Cause::LayerProduct { .. } => "layer-product",
            Cause::LearningRate { .. } => "learning-rate",
            Cause::SmallGradient { .. } => "small-gradient",
        }
    }
}

/// One finding: what, the ratio that triggered it (first layer's gradient norm over the last
/// layer's, where it is about that), and the cause, whose code names the remedy too.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    pub ratio: f64,
    /// Layers from the first with parameters to the last.
    pub first_layer: usize,
    pub last_layer: usize,
    pub cause: Cause,
}

/// The layer view at a point (or over examples) with its findings.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerView {
    pub layers: Vec<LayerStats>,
    pub findings: Vec<Finding>,
    /// How many examples it is averaged over.
    pub examples: usize,
}

/// The derivatives the view needs: ∂C/∂θ for the layered parameters, ∂C/∂z for every unit,
/// ∂C/∂a for the output units; those the command derived already are reused, the rest derived
/// once.
pub struct LayerGradients {
    pub layering: Layering,
    params: Vec<Id>,
    deltas: Vec<Vec<Id>>,
    output_pull: Vec<Id>,
}

impl LayerGradients {
    /// `None` for a program without layers. `known` holds the derivatives the command derived
    /// already (eval's requested derivatives, the gradient of descent and training): the view
    /// reads those rather than deriving them a second time, so its norms are of the very
    /// gradients the report prints.
    pub fn new(model: &mut Model, known: &HashMap<Target, Id>) -> Option<LayerGradients> {
        let layering = Layering::of(model)?;
        let cost = model.cost;
        let target = |wrt| Target { of: cost, wrt };
        let last = layering.layers.last().expect("two layers at least");
        let mut targets: Vec<Target> = Vec::new();
        for layer in &layering.layers {
            targets.extend(
                layer
                    .weights
                    .iter()
                    .chain(&layer.biases)
                    .map(|&p| target(p)),
            );
        }
        let params = targets.len();
        for layer in &layering.layers {
            targets.extend(layer.pre_activations.iter().map(|&z| target(z)));
        }
        targets.extend(last.activations.iter().map(|&a| target(a)));
        let config = Config {
            steps: false,
            ..Default::default()
        };
        let unknown: Vec<Target> = targets
            .iter()
            .filter(|t| !known.contains_key(t))
            .copied()
            .collect();
        let derived = if unknown.is_empty() {
            Vec::new()
        } else {
            crate::core::diff::derive(model, &unknown, &config).derivations
        };
        let mut fresh = derived.iter().map(|d| d.result);
        let results: Vec<Id> = targets
            .iter()
            .map(|t| match known.get(t) {
                Some(&id) => id,
                None => fresh.next().expect("one derivation a target"),
            })
            .collect();
        let mut at = params;
        let deltas = layering
            .layers
            .iter()
            .map(|layer| {
                let n = layer.pre_activations.len();
                at += n;
                results[at - n..at].to_vec()
            })
            .collect();
        let output_pull = results[at..].to_vec();
        Some(LayerGradients {
            params: results[..params].to_vec(),
            layering,
            deltas,
            output_pull,
        })
    }

    /// The view over examples, each given as the values of every leaf (inputs, targets,
    /// parameters): gradients averaged, saturated and dead units those on every example.
    pub fn view(&self, model: &Model, examples: &[Vec<(Sym, f64)>]) -> LayerView {
        let layers = &self.layering.layers;
        let n = examples.len().max(1) as f64;
        let mut param_grads = vec![0.0; self.params.len()];
        let mut deltas: Vec<Vec<f64>> = self.deltas.iter().map(|d| vec![0.0; d.len()]).collect();
        let mut slope_sum = vec![0.0; layers.len()];
        let mut saturated: Vec<Vec<bool>> = layers
            .iter()
            .map(|l| vec![true; l.pre_activations.len()])
            .collect();
        let mut dead = saturated.clone();
        let mut stuck_outputs = vec![true; self.output_pull.len()];
        let mut weights: HashMap<Sym, f64> = HashMap::new();
        for leaves in examples {
            let forward = crate::core::forward::float64(model, leaves);
            let value = |s: Sym| forward.get(&s).copied().unwrap_or(f64::NAN);
            let mut roots = self.params.clone();
            roots.extend(self.deltas.iter().flatten());
            roots.extend(&self.output_pull);
            let values =
                crate::core::eval::eval_f64(&model.graph, &roots, &|s| forward.get(&s).copied())
                    .unwrap_or_else(|_| vec![f64::NAN; roots.len()]);
            let (grads, rest) = values.split_at(self.params.len());
            for (sum, g) in param_grads.iter_mut().zip(grads) {
                *sum += g / n;
            }
            let (unit_deltas, pulls) = rest.split_at(rest.len() - self.output_pull.len());
            let mut unit_deltas = unit_deltas.iter();
            let last = layers.len() - 1;
            for (i, layer) in layers.iter().enumerate() {
                for (j, (&z, &a)) in layer
                    .pre_activations
                    .iter()
                    .zip(&layer.activations)
                    .enumerate()
                {
                    let delta = *unit_deltas.next().expect("one δ a unit");
                    deltas[i][j] += delta / n;
                    let slope = slope(layer.function, value(z), value(a));
                    slope_sum[i] += slope.map_or(0.0, f64::abs);
                    let is_saturated = matches!(layer.function, Some(Func::Sigmoid | Func::Tanh))
                        && slope.is_some_and(|s| s < SATURATED_SLOPE);
                    saturated[i][j] &= is_saturated;
                    dead[i][j] &= layer.function == Some(Func::Relu) && value(z) <= 0.0;
                    if i == last {
                        // The cost still pulls the unit, yet σ′ leaves δ nothing to pass on.
                        stuck_outputs[j] &= is_saturated
                            && pulls[j].abs() >= OUTPUT_PULL
                            && delta.abs() < OUTPUT_STUCK_DELTA;
                    }
                }
            }
            for layer in layers {
                for &w in &layer.weights {
                    weights.entry(w).or_insert_with(|| value(w));
                }
            }
        }
        let norm = |xs: &mut dyn Iterator<Item = f64>| xs.map(|x| x * x).sum::<f64>().sqrt();
        let mut at = 0;
        let mut stats: Vec<LayerStats> = layers
            .iter()
            .enumerate()
            .map(|(i, layer)| {
                let w = &param_grads[at..at + layer.weights.len()];
                at += layer.weights.len();
                let b = &param_grads[at..at + layer.biases.len()];
                at += layer.biases.len();
                let grad_norm_w = norm(&mut w.iter().copied());
                let grad_norm_b = norm(&mut b.iter().copied());
                let units = layer.pre_activations.len();
                let fan_out = units as f64;
                let weight_rms = if layer.weights.is_empty() {
                    0.0
                } else {
                    (layer
                        .weights
                        .iter()
                        .map(|w| weights[w].powi(2))
                        .sum::<f64>()
                        / layer.weights.len() as f64)
                        .sqrt()
                };
                let pick = |flags: &[bool], syms: &[Sym]| {
                    flags
                        .iter()
                        .zip(syms)
                        .filter(|(f, _)| **f)
                        .map(|(_, &s)| s)
                        .collect::<Vec<Sym>>()
                };
                LayerStats {
                    layer: layer.layer,
                    units,
                    function: layer.function,
                    grad_norm_w,
                    grad_norm_b,
                    grad_norm: grad_norm_w.hypot(grad_norm_b),
                    delta_norm: norm(&mut deltas[i].iter().copied()),
                    mean_activation_derivative: slope(layer.function, 0.0, 0.0)
                        .map(|_| slope_sum[i] / (units as f64 * n)),
                    saturated: pick(&saturated[i], &layer.activations),
                    dead: pick(&dead[i], &layer.activations),
                    ratio_to_last: 0.0,
                    weight_rms,
                    weight_norm: weight_rms * (layer.weights.len() as f64).sqrt(),
                    xavier_scale: (2.0 / (layer.fan_in as f64 + fan_out)).sqrt(),
                    he_scale: (2.0 / layer.fan_in as f64).sqrt(),
                }
            })
            .collect();
        let last_norm = stats.last().map_or(0.0, |s| s.grad_norm);
        for s in &mut stats {
            s.ratio_to_last = s.grad_norm / last_norm;
        }
        let last = layers.len() - 1;
        let stuck: Vec<Sym> = stuck_outputs
            .iter()
            .zip(&layers[last].activations)
            .filter(|(f, _)| **f)
            .map(|(_, &a)| a)
            .collect();
        LayerView {
            findings: findings(&stats, &stuck),
            layers: stats,
            examples: examples.len(),
        }
    }
}

/// The activation's derivative at a unit from its z and a, where the view knows it.
fn slope(function: Option<Func>, z: f64, a: f64) -> Option<f64> {
    match function? {
        // σ(z)·σ(−z) keeps its value where σ(z) rounds to 1.
        Func::Sigmoid => Some(crate::core::eval::apply_f64(Func::Sigmoid, -z) * a),
        Func::Tanh => Some(1.0 - a * a),
        Func::Relu => Some(if z > 0.0 { 1.0 } else { 0.0 }),
        Func::Softplus => Some(crate::core::eval::apply_f64(Func::Sigmoid, z)),
        _ => None,
    }
}

/// The first units of a list to name, and how many there are.
fn named(units: Vec<Sym>) -> (Vec<Sym>, usize) {
    let count = units.len();
    (units.into_iter().take(NAMED_UNITS).collect(), count)
}

/// The scale a layer's weights should have for its activation: He's for relu, Xavier's else.
fn fitting_scale(s: &LayerStats) -> (f64, bool) {
    match s.function {
        Some(Func::Relu) => (s.he_scale, true),
        _ => (s.xavier_scale, false),
    }
}

/// Vanishing or exploding gradients with their causes, and outputs stuck in saturation.
fn findings(stats: &[LayerStats], stuck_outputs: &[Sym]) -> Vec<Finding> {
    let (first, last) = (&stats[0], &stats[stats.len() - 1]);
    let ratio = first.grad_norm / last.grad_norm;
    let finding = |kind, cause| Finding {
        kind,
        ratio,
        first_layer: first.layer,
        last_layer: last.layer,
        cause,
    };
    let mut out = Vec::new();
    // The factors between the last layer's δ and the first layer's gradient: f′ of each
    // layer before the last.
    let between = &stats[..stats.len() - 1];
    if ratio.is_finite() && ratio < VANISHING_RATIO {
        let kind = FindingKind::VanishingGradient;
        let saturated: Vec<Sym> = stats.iter().flat_map(|s| s.saturated.clone()).collect();
        if !saturated.is_empty() {
            let (units, count) = named(saturated);
            out.push(finding(kind, Cause::Saturation { units, count }));
        }
        let dead: Vec<Sym> = stats.iter().flat_map(|s| s.dead.clone()).collect();
        if !dead.is_empty() {
            let (units, count) = named(dead);
            out.push(finding(kind, Cause::DeadRelu { units, count }));
        }
        let sigmoid: Vec<&LayerStats> = between
            .iter()
            .filter(|s| s.function == Some(Func::Sigmoid))
            .collect();
        if !sigmoid.is_empty() {
            out.push(finding(
                kind,
                Cause::SigmoidSlope {
                    layers: sigmoid.len(),
                    product: sigmoid
                        .iter()
                        .map(|s| s.mean_activation_derivative.unwrap_or(0.0))
                        .product(),
                },
            ));
        }
        for s in stats.iter().filter(|s| s.weight_rms > 0.0) {
            let (scale, he) = fitting_scale(s);
            if s.weight_rms < scale / WEIGHT_SCALE_FACTOR {
                out.push(finding(
                    kind,
                    Cause::SmallWeights {
                        layer: s.layer,
                        rms: s.weight_rms,
                        scale,
                        he,
                    },
                ));
            }
        }
        if out.is_empty() {
            out.push(finding(kind, layer_product(stats)));
        }
    } else if ratio.is_finite() && ratio > EXPLODING_RATIO {
        let kind = FindingKind::ExplodingGradient;
        // δ^l = (W^{l+1})ᵀδ^{l+1} ⊙ f′(z^l): the weights the error term is multiplied by on its
        // way back to the first layer are those of the layers after it.
        for s in &stats[1..] {
            let (scale, he) = fitting_scale(s);
            if s.weight_rms > scale * WEIGHT_SCALE_FACTOR {
                out.push(finding(
                    kind,
                    Cause::LargeWeights {
                        layer: s.layer,
                        rms: s.weight_rms,
                        scale,
                        he,
                    },
                ));
            }
        }
        if out.is_empty() {
            out.push(finding(kind, layer_product(stats)));
        }
    }
    if !stuck_outputs.is_empty() {
        let (units, count) = named(stuck_outputs.to_vec());
        out.push(finding(
            FindingKind::SaturatedOutput,
            Cause::Saturation { units, count },
        ));
    }
    out
}

/// The product the ratio comes from where no single cause stands out: δ^l = (W^{l+1})ᵀδ^{l+1}
/// ⊙ f′(z^l), so each layer before the last scales the gradient by about ‖W^{l+1}‖ · mean|f′(z^l)|;
/// the product runs from the last layer to the first.
fn layer_product(stats: &[LayerStats]) -> Cause {
    let product = stats
        .windows(2)
        .map(|pair| pair[1].weight_norm * pair[0].mean_activation_derivative.unwrap_or(1.0))
        .product();
    Cause::LayerProduct { product }
}

//! The diagnosis as data: which mistake a wrong claim makes, with the names, formulas and
//! numbers it refers to, and a stable code for each kind (`sign`, `missing-path`, ...). The
//! wording lives in the templates (`templates/mistake.txt`); formulas are nodes of the claim's
//! own small graph ([`Formulas`]), which the renderer prints in each notation.

use std::sync::Arc;

use crate::core::expr::{FastMap, Func, Func2, Graph, Id, Sym};
use crate::core::model::Symbol;
use crate::core::shape::Shape;

/// The formulas a judgement refers to (the derived reference, the correction and those a
/// mistake names), copied out of the checker's graph so that a judgement stands alone.
#[derive(Clone, Default)]
pub struct Formulas {
    pub graph: Graph,
    /// The model's names, the learning rate included.
    pub symbols: Arc<[Symbol]>,
    /// The shapes of the formulas' nodes when they are formulas of a vector program (a
    /// product of two arrays is then printed `⊙`); empty for a scalar program.
    pub shapes: FastMap<Id, Shape>,
}

impl std::fmt::Debug for Formulas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Formulas({} nodes)", self.graph.len())
    }
}

impl Formulas {
    /// A name as the program writes it.
    pub fn name(&self, s: Sym) -> &str {
        &self.symbols[s.index()].name
    }
}

/// What the diagnosis of a wrong claim found.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnosis {
    /// The likeliest mistake; `None` when no single mistake explains the difference.
    pub mistake: Option<Mistake>,
    /// The search ran out of its budget (a claim too long to try every hypothesis on).
    pub out_of_budget: bool,
    /// The claim holds at the `--at` point, though not in general.
    pub holds_at_given_point: bool,
    /// Other mistakes that explain the claim's value as well as `mistake` does, likeliest
    /// first (see `diagnose`'s prior).
    pub alternatives: Vec<Mistake>,
}

impl Diagnosis {
    /// The diagnosis that names `mistake` (`None`: no single mistake), found within budget.
    pub fn of(mistake: Option<Mistake>) -> Diagnosis {
        Diagnosis {
            mistake,
            out_of_budget: false,
            holds_at_given_point: false,
            alternatives: Vec::new(),
        }
    }
}

/// One kind of mistake, with what it refers to. Names are symbols of [`Formulas::symbols`],
/// formulas nodes of [`Formulas::graph`].
#[derive(Clone, Debug, PartialEq)]
pub enum Mistake {
    /// A value claim: the claimed number is what float64 computes, not the true value.
    Float64Rounding { claimed: f64, truth: f64 },
    /// A value claim with the wrong sign.
    ValueSign { truth: f64 },
    /// A value claim that gives the pre-activation's value: `aliases` are the claimed name and
    /// the names it is defined as, down to `function(argument)`.
    ValueBeforeActivation {
        claimed: f64,
        truth: f64,
        aliases: Vec<Sym>,
        function: Func,
        argument: Sym,
        argument_value: f64,
    },
    /// A value claim that gives another name's value (with its definition when it has one).
    ValueOfAnotherName {
        claimed: f64,
        truth: f64,
        name: Sym,
        definition: Option<Id>,
    },
    /// A value claim cut off rather than rounded to its digits.
    Truncated { truth: f64, decimals: usize },
    /// A value claim that is simply wrong.
    WrongValue { claimed: f64, truth: f64 },
    /// The negative of the truth; `squared_difference` when the cost squares y − a.
    Sign { squared_difference: bool },
    /// A constant times the truth; `two_or_half` when it is 2 or ½ (the cost's convention).
    ConstantFactor { ratio: f64, two_or_half: bool },
    /// θ + η∂C/∂θ for θ − η∂C/∂θ; the cost before and after a small step at the point shown.
    Ascent {
        parameter: Sym,
        cost: Sym,
        cost_before_after: Option<(f64, f64)>,
    },
    /// θ − η ∂C/∂θ with the gradient taken where the `moved` parameters already have their
    /// new values (the layer after updated first and its new weights used going backward).
    UpdatedValuesUsed { parameter: Sym, moved: Vec<Sym> },
    /// A number for θ after `steps` steps of descent in which each step after the first
    /// moved along the previous step's gradient (∇C not computed again at the new
    /// parameters); `truth` is the right value.
    StaleGradient {
        parameter: Sym,
        steps: usize,
        truth: f64,
    },
    /// θ' = θ: the parameter left out of the update.
    NotUpdated { parameter: Sym },
    /// A bias decayed by weight decay, which L2 regularisation applies to weights only.
    BiasDecayed { parameter: Sym },
    /// An optimizer's running average with β and 1 − β swapped: (1 − β)·s + β·g for
    /// β·s + (1 − β)·g; `state` is the average, `decay` its β. `lookahead`: in Nesterov's
    /// look-ahead, (1 − μ)·v for μ·v.
    DecaySwapped {
        state: Sym,
        decay: Sym,
        lookahead: bool,
    },
    /// Nesterov's update asked for and momentum's written: the step along the velocity alone,
    /// the gradient taken at the current point rather than at the look-ahead point.
    MomentumForNesterov { parameter: Sym, velocity: Sym },
    /// Nesterov's update with its look-ahead term (`decay` times `velocity`) left out.
    LookAheadMissing {
        parameter: Sym,
        velocity: Sym,
        decay: Sym,
    },
    /// An optimizer's running average weighed with the other moment's decay (β₁ for β₂).
    WrongDecay {
        state: Sym,
        written: Sym,
        should_be: Sym,
    },
    /// A second moment averaging the gradient rather than its square.
    GradientNotSquared { state: Sym },
    /// Adam's bias correction left out: the raw `moments` used where m̂ = m/(1 − β₁ᵗ) and
    /// v̂ = v/(1 − β₂ᵗ) belong, or (`power_dropped`) divided by 1 − β rather than 1 − βᵗ.
    BiasCorrectionMissing {
        moments: Vec<Sym>,
        power_dropped: bool,
    },
    /// ε added inside the square root, √(v̂ + ε), where the rule adds it outside, √v̂ + ε.
    EpsilonInsideRoot { parameter: Sym, epsilon: Sym },
    /// θ − ∂C/∂θ: the learning rate left out.
    MissingLearningRate { parameter: Sym, cost: Sym },
    /// −η∂C/∂θ, the change, given as the new value.
    ChangeForNewValue { parameter: Sym, cost: Sym },
    /// A mistake in the gradient an update rule uses.
    InUpdateGradient(Box<Mistake>),
    /// At the fork `name` (used by `users`), the path through `missing` is left out.
    MissingPath {
        name: Sym,
        users: Vec<Sym>,
        missing: Sym,
        of: Sym,
    },
    /// `name` used directly by `user` and also through the `through` names that `user` uses:
    /// the direct use is left out (the single-variable chain rule keeps the indirect path).
    MissingDirectUse {
        name: Sym,
        user: Sym,
        through: Vec<Sym>,
    },
    /// A function's argument with the wrong sign, `occurrences` times the same way: `written`
    /// (σ(x)) where `should_be` (σ(−x)) belongs.
    FlippedArgument {
        written: Id,
        should_be: Id,
        occurrences: usize,
    },
    /// At the fork `name`, only the path through `kept` is counted: overwritten, not
    /// accumulated.
    OverwrittenAtFork {
        name: Sym,
        users: Vec<Sym>,
        kept: Sym,
    },
    /// At a fork inside one definition (`b = a + a`), only one of the `occurrences` uses of
    /// `name` in `user`'s definition is counted.
    OverwrittenInDefinition {
        name: Sym,
        user: Sym,
        occurrences: usize,
    },
    /// A routing gate (relu, abs, max, min) whose upstream gradient the claim routes wrongly.
    RoutingGate { gate: Gate, share: GateShare },
    /// The claim is ∂at/∂wrt alone, without the upstream ∂of/∂at.
    ChainStopped { at: Sym, wrt: Sym, of: Sym },
    /// The claim is ∂of/∂at alone, the upstream gradient, without the local ∂at/∂wrt.
    UpstreamOnly { at: Sym, wrt: Sym, of: Sym },
    /// A term of the cost left out; `gradient` is what it adds.
    MissingCostTerm {
        term: Id,
        gradient: Id,
        regulariser: bool,
    },
    /// A regulariser's gradient twice or half what it is.
    RegulariserFactor { term: Id, gradient: Id, twice: bool },
    /// σ' kept where the cross-entropy cost cancels it; `local` is (a, z) when the factor
    /// kept is the local derivative ∂a/∂z of an output whose log the cost takes (a softmax
    /// output under the log-likelihood cost) rather than σ'(z) itself.
    SigmaPrimeKept {
        factor: Id,
        local: Option<(Sym, Sym)>,
    },
    /// A chain-rule factor the claim has too many (`within` one term of the cost).
    ExtraFactor {
        factor: Id,
        role: FactorRole,
        within: Option<Id>,
    },
    /// A chain-rule factor missing (`within` one term of the cost).
    MissingFactor {
        factor: Id,
        role: FactorRole,
        within: Option<Id>,
    },
    /// An activation written where its derivative belongs.
    ActivationForDerivative { written: Id, should_be: Id },
    /// A derivative taken with respect to the wrong name (δ of the wrong layer).
    WrongDerivative { written: Id, should_be: Id },
    /// One edit of the claim makes it right.
    Edit {
        written: Id,
        should_be: Id,
        edit: Edit,
    },
    /// One edit of a claim in matrix notation makes it right (in shape and in value).
    Shape {
        edit: ShapeEdit,
        written: Id,
        should_be: Id,
    },
}

/// The mistakes of vectorised backpropagation, in the order a diagnosis prefers them when
/// more than one edit makes the claim right.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ShapeEdit {
    /// `np.sum(dZ, axis=1)` without `keepdims=True`: a 1-D array, which broadcasts as a row.
    DroppedKeepdims,
    ExtraTranspose,
    /// A sum over the wrong axis.
    WrongAxis,
    /// The factors of a matrix product swapped (`Xᵀ dZ` for `dZ Xᵀ`, or `dZᵀ X` for `Xᵀ dZ`).
    ProductOrder,
    MissingTranspose,
    /// `*` (entry by entry) written where the matrix product belongs.
    ElementwiseForMatmul,
    /// The matrix product written where the entrywise product belongs.
    MatmulForElementwise,
    /// σ′(A) for σ′(Z): a function of the activation written where it takes the
    /// pre-activation.
    ActivationForPreActivation,
    /// The 1/m of a cost averaged over m examples left out.
    MissingMean,
    /// 1/m applied twice.
    MeanTwice,
    /// A bias gradient not summed over the examples of the batch.
    BiasNotSummed,
}

impl ShapeEdit {
    /// Every kind, in order.
    pub const ALL: [ShapeEdit; 11] = [
        ShapeEdit::DroppedKeepdims,
        ShapeEdit::ExtraTranspose,
        ShapeEdit::WrongAxis,
        ShapeEdit::ProductOrder,
        ShapeEdit::MissingTranspose,
        ShapeEdit::ElementwiseForMatmul,
        ShapeEdit::MatmulForElementwise,
        ShapeEdit::ActivationForPreActivation,
        ShapeEdit::MissingMean,
        ShapeEdit::MeanTwice,
        ShapeEdit::BiasNotSummed,
    ];

    /// The stable code of the kind, as JSON gives it.
    pub fn code(self) -> &'static str {
        match self {
            ShapeEdit::DroppedKeepdims => "dropped-keepdims",
            ShapeEdit::ExtraTranspose => "extra-transpose",
            ShapeEdit::ProductOrder => "product-order",
            ShapeEdit::MissingTranspose => "missing-transpose",
            ShapeEdit::ElementwiseForMatmul => "elementwise-for-matmul",
            ShapeEdit::MatmulForElementwise => "matmul-for-elementwise",
            ShapeEdit::WrongAxis => "wrong-axis",
            ShapeEdit::ActivationForPreActivation => "activation-for-pre-activation",
            ShapeEdit::MissingMean => "missing-mean",
            ShapeEdit::MeanTwice => "mean-twice",
            ShapeEdit::BiasNotSummed => "bias-not-summed",
        }
    }
}

/// A gate that sends the whole upstream gradient to one side, with its arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum Gate {
    /// relu(u) = max(0, u): to u where u > 0.
    Relu(Id),
    /// |u| = max(u, −u): to u times u's sign.
    Abs(Id),
    /// max(a, b) or min(a, b): to the argument picked.
    Pick(Func2, Id, Id),
}

impl Gate {
    /// The function's name in the input language.
    pub fn name(&self) -> &'static str {
        match self {
            Gate::Relu(_) => Func::Relu.name(),
            Gate::Abs(_) => Func::Abs.name(),
            Gate::Pick(f, ..) => f.name(),
        }
    }

    /// The arguments, first to last.
    pub fn arguments_mut(&mut self) -> Vec<&mut Id> {
        match self {
            Gate::Relu(u) | Gate::Abs(u) => vec![u],
            Gate::Pick(_, a, b) => vec![a, b],
        }
    }
}

/// How a claim routes the gradient at a gate that sends it all to one side.
#[derive(Clone, Debug, PartialEq)]
pub enum GateShare {
    /// The whole gradient passed on whichever side is chosen (relu's closed side included,
    /// abs's sign ignored).
    Whole,
    /// Split evenly between the sides (half through relu; for abs = max(u, −u) the halves
    /// cancel).
    Split,
    /// Sent to the side the gate did not choose.
    Reversed,
    /// For max and min: the whole gradient to the second argument, whichever is picked
    /// (`Whole` is to the first).
    WholeToSecond,
    /// For max and min: the whole gradient to both arguments, the side not picked included
    /// (the gate treated as a sum).
    Both,
}

/// What a candidate chain-rule factor is.
#[derive(Clone, Debug, PartialEq)]
pub enum FactorRole {
    /// The derivative of `name = definition`, an activation.
    ActivationDerivative { name: Sym, definition: Id },
    /// The local derivative ∂of/∂wrt.
    Local { of: Sym, wrt: Sym },
    /// A factor of the local derivative ∂of/∂wrt.
    PartOfLocal { of: Sym, wrt: Sym },
    /// A name.
    Name(Sym),
}

/// The one edit that makes a claim right.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// An activation's derivative at the wrong node (σ'(a) for σ'(z)).
    WrongArgument,
    /// One name for another.
    WrongName,
    /// One name for another of the same stem with a different index (`p2` for `p1`), or an
    /// input for the output with its index (`x1` for `s1`).
    IndexSlip,
    MissingSquare,
    /// One number's sign.
    NumberSign,
    MissingTwo,
    ExtraTwo,
    ExtraConstant,
    WrongFunction {
        written: Func,
        meant: Func,
    },
    DifferenceForProduct,
    SumForProduct,
    ExtraTerm,
    TermSign,
    TermLacksFactor(Scaling),
    TermExtraFactor(Scaling),
    ExtraFactor,
    /// a(1 − a), σ's derivative from its value, where tanh's 1 − a² belongs.
    SigmoidFormForTanh,
    ProductForDifference,
    SquareOfDifference,
    ExtraPower,
    WrongExponent,
}

/// A factor one term of a sum lacks or has too many.
#[derive(Clone, Debug, PartialEq)]
pub enum Scaling {
    Two,
    Half,
    Name,
    LearningRate,
}

impl Mistake {
    /// Every code [`Mistake::code`] gives, once each (docs/json.md lists them with their
    /// meaning; a test keeps the two the same, and the renderer asserts in debug builds that
    /// each code it writes is here).
    pub const CODES: &[&str] = &[
        "sign",
        "constant-factor",
        "missing-factor",
        "extra-factor",
        "sigma-prime-kept",
        "missing-path",
        "flipped-argument",
        "overwritten-at-fork",
        "routing-gate",
        "chain-stopped",
        "missing-cost-term",
        "regulariser-factor",
        "activation-for-derivative",
        "wrong-derivative",
        "wrong-argument",
        "wrong-name",
        "index-slip",
        "wrong-function",
        "wrong-activation-derivative",
        "missing-square",
        "square-of-difference",
        "difference-for-product",
        "sum-for-product",
        "product-for-difference",
        "extra-term",
        "extra-constant",
        "extra-power",
        "wrong-exponent",
        "ascent",
        "missing-learning-rate",
        "change-for-new-value",
        "not-updated",
        "bias-decayed",
        "decay-swapped",
        "momentum-for-nesterov",
        "lookahead-missing",
        "wrong-decay",
        "gradient-not-squared",
        "bias-correction-missing",
        "epsilon-inside-root",
        "updated-values-used",
        "stale-gradient",
        "float64-rounding",
        "value-before-activation",
        "value-of-another-name",
        "truncated",
        "wrong-value",
        "dropped-keepdims",
        "extra-transpose",
        "product-order",
        "missing-transpose",
        "elementwise-for-matmul",
        "matmul-for-elementwise",
        "wrong-axis",
        "activation-for-pre-activation",
        "missing-mean",
        "mean-twice",
        "bias-not-summed",
    ];

    /// The stable code of the kind of mistake, as JSON gives it (one of [`Mistake::CODES`]).
    pub fn code(&self) -> &'static str {
        match self {
            Mistake::Float64Rounding { .. } => "float64-rounding",
            Mistake::ValueSign { .. } | Mistake::Sign { .. } => "sign",
            Mistake::ValueBeforeActivation { .. } => "value-before-activation",
            Mistake::ValueOfAnotherName { .. } => "value-of-another-name",
            Mistake::Truncated { .. } => "truncated",
            Mistake::WrongValue { .. } => "wrong-value",
            Mistake::ConstantFactor { .. } => "constant-factor",
            Mistake::Ascent { .. } => "ascent",
            Mistake::NotUpdated { .. } => "not-updated",
            Mistake::UpdatedValuesUsed { .. } => "updated-values-used",
            Mistake::StaleGradient { .. } => "stale-gradient",
            Mistake::BiasDecayed { .. } => "bias-decayed",
            Mistake::DecaySwapped { .. } => "decay-swapped",
            Mistake::MomentumForNesterov { .. } => "momentum-for-nesterov",
            Mistake::LookAheadMissing { .. } => "lookahead-missing",
            Mistake::WrongDecay { .. } => "wrong-decay",
            Mistake::GradientNotSquared { .. } => "gradient-not-squared",
            Mistake::BiasCorrectionMissing { .. } => "bias-correction-missing",
            Mistake::EpsilonInsideRoot { .. } => "epsilon-inside-root",
            Mistake::MissingLearningRate { .. } => "missing-learning-rate",
            Mistake::ChangeForNewValue { .. } => "change-for-new-value",
            Mistake::InUpdateGradient(inner) => inner.code(),
            Mistake::MissingPath { .. } | Mistake::MissingDirectUse { .. } => "missing-path",
            Mistake::FlippedArgument { .. } => "flipped-argument",
            Mistake::OverwrittenAtFork { .. } | Mistake::OverwrittenInDefinition { .. } => {
                "overwritten-at-fork"
            }
            Mistake::RoutingGate { .. } => "routing-gate",
            Mistake::ChainStopped { .. } | Mistake::UpstreamOnly { .. } => "chain-stopped",
            Mistake::MissingCostTerm { .. } => "missing-cost-term",
            Mistake::RegulariserFactor { .. } => "regulariser-factor",
            Mistake::SigmaPrimeKept { .. } => "sigma-prime-kept",
            Mistake::ExtraFactor { .. } => "extra-factor",
            Mistake::MissingFactor { .. } => "missing-factor",
            Mistake::ActivationForDerivative { .. } => "activation-for-derivative",
            Mistake::WrongDerivative { .. } => "wrong-derivative",
            Mistake::Edit { edit, .. } => edit.code(),
            Mistake::Shape { edit, .. } => edit.code(),
        }
    }

    /// Every formula the mistake refers to, to copy them into another graph.
    pub fn formulas_mut(&mut self) -> Vec<&mut Id> {
        match self {
            Mistake::ValueOfAnotherName { definition, .. } => definition.iter_mut().collect(),
            Mistake::InUpdateGradient(inner) => inner.formulas_mut(),
            Mistake::MissingCostTerm { term, gradient, .. }
            | Mistake::RegulariserFactor { term, gradient, .. } => vec![term, gradient],
            Mistake::SigmaPrimeKept { factor, .. } => vec![factor],
            Mistake::RoutingGate { gate, .. } => gate.arguments_mut(),
            Mistake::ExtraFactor {
                factor,
                role,
                within,
            }
            | Mistake::MissingFactor {
                factor,
                role,
                within,
            } => {
                let mut out = vec![factor];
                if let FactorRole::ActivationDerivative { definition, .. } = role {
                    out.push(definition);
                }
                out.extend(within.iter_mut());
                out
            }
            Mistake::ActivationForDerivative { written, should_be }
            | Mistake::WrongDerivative { written, should_be }
            | Mistake::FlippedArgument {
                written, should_be, ..
            }
            | Mistake::Edit {
                written, should_be, ..
            }
            | Mistake::Shape {
                written, should_be, ..
            } => vec![written, should_be],
            _ => Vec::new(),
        }
    }
}

impl Edit {
    /// The stable code of the kind of mistake the edit undoes.
    pub fn code(&self) -> &'static str {
        match self {
            Edit::WrongArgument => "wrong-argument",
            Edit::WrongName => "wrong-name",
            Edit::IndexSlip => "index-slip",
            Edit::MissingSquare => "missing-square",
            Edit::NumberSign | Edit::TermSign => "sign",
            Edit::MissingTwo | Edit::ExtraTwo => "constant-factor",
            Edit::ExtraConstant => "extra-constant",
            Edit::WrongFunction { .. } => "wrong-function",
            Edit::DifferenceForProduct => "difference-for-product",
            Edit::SumForProduct => "sum-for-product",
            Edit::ExtraTerm => "extra-term",
            Edit::TermLacksFactor(_) => "missing-factor",
            Edit::TermExtraFactor(_) | Edit::ExtraFactor => "extra-factor",
            Edit::SigmoidFormForTanh => "wrong-activation-derivative",
            Edit::ProductForDifference => "product-for-difference",
            Edit::SquareOfDifference => "square-of-difference",
            Edit::ExtraPower => "extra-power",
            Edit::WrongExponent => "wrong-exponent",
        }
    }
}

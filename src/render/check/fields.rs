//! The fields of a mistake, for the JSON's `mistake` object (formulas plain, numbers as numbers)
//! and for `mistake.txt`'s wording (every name, number and formula as a reader sees it, in both
//! of its forms: text for a terminal, LaTeX for the typeset formats).

use serde_json::{Map, Value, json};

use super::number_span;
use crate::analysis::check::{Checked, Edit, FactorRole, GateShare, Mistake, Scaling};
use crate::core::expr::{Func, Id, Node, Sym};
use crate::core::number::float;
use crate::lang::names::name_latex;
use crate::render::escape::math_span;
use crate::render::{FormulaPrinter, Notation};

/// Data for the JSON (formulas plain, numbers as numbers) or for the wording (formulas and
/// numbers as a reader sees them).
#[derive(Copy, Clone, PartialEq)]
pub(super) enum Style {
    Json,
    Words,
}

/// A mistake's kind and what it refers to, as named fields.
pub(super) fn mistake_fields(
    checked: &Checked,
    mistake: &Mistake,
    style: Style,
) -> Map<String, Value> {
    let formulas = &checked.formulas;
    let printer = FormulaPrinter::new(&formulas.graph, &formulas.symbols);
    let printer = if formulas.shapes.is_empty() {
        printer
    } else {
        printer.with_shapes(&formulas.shapes)
    };
    let formula = |id: Id| -> Value {
        match style {
            Style::Json => json!(printer.plain(id)),
            Style::Words => json!(math_span(&printer.text(id), &printer.latex(id))),
        }
    };
    // A name alone is shown as the program writes it (and typeset by its display form).
    let name_words =
        |s: Sym| math_span(formulas.name(s), &name_latex(&formulas.symbols[s.index()]));
    let written = |id: Id| -> Value {
        match formulas.graph.node(id) {
            Node::Var(s) if style == Style::Words => json!(name_words(*s)),
            _ => formula(id),
        }
    };
    let number = |v: f64| -> Value {
        match style {
            Style::Json => json!(v),
            Style::Words => json!(number_span(&float(v))),
        }
    };
    let name = |s: Sym| match style {
        Style::Json => json!(formulas.name(s)),
        Style::Words => json!(name_words(s)),
    };
    // Derivatives and update rules the wording names, composed from the names (words only).
    let words = Words {
        printer: &printer,
        names: formulas,
    };
    // A function by itself, as the formula printers write its head (`σ`, `\\sigma`).
    let function = |f: Func| -> Value {
        match style {
            Style::Json => json!(f.name()),
            Style::Words => {
                let mut graph = crate::core::expr::Graph::new();
                let x = graph.int(0);
                let call = graph.call(f, x);
                let heads = FormulaPrinter::new(&graph, &[]);
                let head = |s: String| s.strip_suffix("(0)").map(str::to_string).unwrap_or(s);
                json!(math_span(&head(heads.text(call)), &head(heads.latex(call)),))
            }
        }
    };
    let mut out = Map::new();
    debug_assert!(
        Mistake::CODES.contains(&mistake.code()),
        "`{}` is missing from Mistake::CODES (and docs/json.md)",
        mistake.code()
    );
    out.insert("kind".into(), json!(mistake.code()));
    let mut put = |key: &str, value: Value| {
        out.insert(key.to_string(), value);
    };
    let variant = match mistake {
        Mistake::Float64Rounding { claimed, truth } => {
            put("claimed", number(*claimed));
            put("truth", number(*truth));
            "float64_rounding"
        }
        Mistake::ValueSign { truth } => {
            put("truth", number(*truth));
            "value_sign"
        }
        Mistake::ValueBeforeActivation {
            claimed,
            truth,
            aliases,
            function: f,
            argument,
            argument_value,
        } => {
            put("claimed", number(*claimed));
            put("truth", number(*truth));
            put("aliases", aliases.iter().map(|&s| name(s)).collect());
            put("function", function(*f));
            put("argument", name(*argument));
            put("argument_value", number(*argument_value));
            "value_before_activation"
        }
        Mistake::ValueOfAnotherName {
            claimed,
            truth,
            name: other,
            definition,
        } => {
            put("claimed", number(*claimed));
            put("truth", number(*truth));
            put("name", name(*other));
            put(
                "definition",
                definition.map(&formula).unwrap_or(Value::Null),
            );
            "value_of_another_name"
        }
        Mistake::Truncated { truth, decimals } => {
            put("truth", number(*truth));
            match style {
                Style::Json => put("decimals", json!(decimals)),
                Style::Words => put(
                    "rounded",
                    json!(number_span(&format!("{truth:.decimals$}"))),
                ),
            }
            "truncated"
        }
        Mistake::WrongValue { claimed, truth } => {
            put("claimed", number(*claimed));
            put("truth", number(*truth));
            "wrong_value"
        }
        Mistake::Sign { squared_difference } => {
            put("squared_difference", json!(squared_difference));
            "sign"
        }
        Mistake::ConstantFactor { ratio, two_or_half } => {
            match style {
                Style::Json => put("ratio", json!(ratio)),
                Style::Words => put("ratio", json!(approximate_ratio(*ratio))),
            }
            put("two_or_half", json!(two_or_half));
            "constant_factor"
        }
        Mistake::Ascent {
            parameter,
            cost,
            cost_before_after,
        } => {
            put("parameter", name(*parameter));
            put("cost", name(*cost));
            if style == Style::Words {
                put("ascent_rule", json!(words.rule(*parameter, *cost, "+")));
                put("descent_rule", json!(words.rule(*parameter, *cost, "−")));
            }
            if let Some((before, after)) = cost_before_after {
                // Words give the costs to 6 digits, as the rest of the report (more only
                // where 6 would not tell them apart).
                let pair = |v: f64, other: f64| match style {
                    Style::Json => json!(v),
                    Style::Words => json!(number_span(&super::distinct(v, other))),
                };
                put("cost_before", pair(*before, *after));
                put("cost_after", pair(*after, *before));
            }
            "ascent"
        }
        Mistake::NotUpdated { parameter } => {
            put("parameter", name(*parameter));
            "not_updated"
        }
        Mistake::UpdatedValuesUsed { parameter, moved } => {
            put("parameter", name(*parameter));
            put("moved", moved.iter().map(|&s| name(s)).collect());
            "updated_values_used"
        }
        Mistake::StaleGradient {
            parameter,
            steps,
            truth,
        } => {
            put("parameter", name(*parameter));
            put("steps", json!(steps));
            put("truth", number(*truth));
            "stale_gradient"
        }
        Mistake::BiasDecayed { parameter } => {
            put("parameter", name(*parameter));
            "bias_decayed"
        }
        Mistake::DecaySwapped {
            state,
            decay,
            lookahead,
        } => {
            put("state", name(*state));
            put("decay", name(*decay));
            put("lookahead", json!(lookahead));
            "decay_swapped"
        }
        Mistake::MomentumForNesterov {
            parameter,
            velocity,
        } => {
            put("parameter", name(*parameter));
            put("velocity", name(*velocity));
            "momentum_for_nesterov"
        }
        Mistake::LookAheadMissing {
            parameter,
            velocity,
            decay,
        } => {
            put("parameter", name(*parameter));
            put("velocity", name(*velocity));
            put("decay", name(*decay));
            "lookahead_missing"
        }
        Mistake::WrongDecay {
            state,
            written: w,
            should_be,
        } => {
            put("state", name(*state));
            put("written", name(*w));
            put("should_be", name(*should_be));
            "wrong_decay"
        }
        Mistake::GradientNotSquared { state } => {
            put("state", name(*state));
            "gradient_not_squared"
        }
        Mistake::BiasCorrectionMissing {
            moments,
            power_dropped,
        } => {
            put("moments", moments.iter().map(|&s| name(s)).collect());
            put("power_dropped", json!(power_dropped));
            "bias_correction_missing"
        }
        Mistake::EpsilonInsideRoot { parameter, epsilon } => {
            put("parameter", name(*parameter));
            put("epsilon", name(*epsilon));
            "epsilon_inside_root"
        }
        Mistake::MissingLearningRate { parameter, cost } => {
            put("parameter", name(*parameter));
            put("cost", name(*cost));
            if style == Style::Words {
                put("gradient", json!(words.derivative(*cost, *parameter)));
                put("step", json!(words.step(*parameter, *cost)));
            }
            "missing_learning_rate"
        }
        Mistake::ChangeForNewValue { parameter, cost } => {
            put("parameter", name(*parameter));
            put("cost", name(*cost));
            if style == Style::Words {
                put("change", json!(words.change(*parameter, *cost)));
                put("descent_rule", json!(words.rule(*parameter, *cost, "−")));
            }
            "change_for_new_value"
        }
        Mistake::InUpdateGradient(inner) => {
            for (key, value) in mistake_fields(checked, inner, style) {
                put(&key, value);
            }
            put("in_update_gradient", json!(true));
            "in_update_gradient"
        }
        Mistake::MissingPath {
            name: fork,
            users,
            missing,
            of,
        } => {
            put("name", name(*fork));
            put("users", users.iter().map(|&s| name(s)).collect());
            put("missing", name(*missing));
            put("of", name(*of));
            if style == Style::Words {
                put("adjoint", json!(words.derivative(*of, *fork)));
            }
            "missing_path"
        }
        Mistake::MissingDirectUse {
            name: fork,
            user,
            through,
        } => {
            put("name", name(*fork));
            put("user", name(*user));
            put("through", through.iter().map(|&s| name(s)).collect());
            if style == Style::Words {
                put("adjoint", json!(words.derivative(*user, *fork)));
            }
            "missing_direct_use"
        }
        Mistake::FlippedArgument {
            written: w,
            should_be,
            occurrences,
        } => {
            put("written", formula(*w));
            put("should_be", formula(*should_be));
            put("occurrences", json!(occurrences));
            "flipped_argument"
        }
        Mistake::OverwrittenAtFork {
            name: fork,
            users,
            kept,
        } => {
            put("name", name(*fork));
            put("users", users.iter().map(|&s| name(s)).collect());
            put("kept", name(*kept));
            "overwritten_at_fork"
        }
        Mistake::OverwrittenInDefinition {
            name: fork,
            user,
            occurrences,
        } => {
            put("name", name(*fork));
            put("user", name(*user));
            put("occurrences", json!(occurrences));
            "overwritten_in_definition"
        }
        Mistake::RoutingGate { gate, share } => {
            put("function", json!(gate.name()));
            let mut gate = gate.clone();
            let arguments: Vec<Id> = gate.arguments_mut().into_iter().map(|a| *a).collect();
            put("argument", formula(arguments[0]));
            if let Some(&second) = arguments.get(1) {
                put("second", formula(second));
            }
            put(
                "share",
                json!(match share {
                    GateShare::Whole => "whole",
                    GateShare::Split => "split",
                    GateShare::Reversed => "reversed",
                    GateShare::WholeToSecond => "whole_to_second",
                    GateShare::Both => "both",
                }),
            );
            "routing_gate"
        }
        Mistake::ChainStopped { at, wrt, of } => {
            put("at", name(*at));
            put("wrt", name(*wrt));
            put("of", name(*of));
            if style == Style::Words {
                words.put_chain(&mut put, *of, *at, *wrt);
            }
            "chain_stopped"
        }
        Mistake::UpstreamOnly { at, wrt, of } => {
            put("at", name(*at));
            put("wrt", name(*wrt));
            put("of", name(*of));
            if style == Style::Words {
                words.put_chain(&mut put, *of, *at, *wrt);
            }
            put("upstream_only", json!(true));
            "upstream_only"
        }
        Mistake::MissingCostTerm {
            term,
            gradient,
            regulariser,
        } => {
            put("term", formula(*term));
            put("gradient", formula(*gradient));
            put("regulariser", json!(regulariser));
            "missing_cost_term"
        }
        Mistake::RegulariserFactor {
            term,
            gradient,
            twice,
        } => {
            put("term", formula(*term));
            put("gradient", formula(*gradient));
            put("twice", json!(twice));
            "regulariser_factor"
        }
        Mistake::SigmaPrimeKept { factor, local } => {
            put("factor", formula(*factor));
            if let Some((of, wrt)) = local {
                let mut l = Map::new();
                l.insert("name".into(), name(*of));
                l.insert("wrt".into(), name(*wrt));
                if let Style::Words = style {
                    l.insert("derivative".into(), json!(words.derivative(*of, *wrt)));
                }
                put("local", Value::Object(l));
            }
            "sigma_prime_kept"
        }
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
            put("factor", formula(*factor));
            let mut r = Map::new();
            let (role_kind, of, wrt) = match role {
                FactorRole::ActivationDerivative {
                    name: s,
                    definition,
                } => {
                    r.insert("definition".into(), formula(*definition));
                    ("activation-derivative", Some(*s), None)
                }
                FactorRole::Local { of, wrt } => ("local-derivative", Some(*of), Some(*wrt)),
                FactorRole::PartOfLocal { of, wrt } => {
                    ("part-of-local-derivative", Some(*of), Some(*wrt))
                }
                FactorRole::Name(s) => {
                    r.insert(
                        "name_kind".into(),
                        json!(formulas.symbols[s.index()].kind.word()),
                    );
                    ("name", Some(*s), None)
                }
            };
            r.insert("kind".into(), json!(role_kind));
            if let Some(of) = of {
                r.insert("name".into(), name(of));
            }
            if let Some(wrt) = wrt {
                r.insert("wrt".into(), name(wrt));
                if let (Some(of), Style::Words) = (of, style) {
                    r.insert("derivative".into(), json!(words.derivative(of, wrt)));
                }
            }
            put("role", Value::Object(r));
            put("within", within.map(&formula).unwrap_or(Value::Null));
            match mistake {
                Mistake::ExtraFactor { .. } => "extra_factor",
                _ => "missing_factor",
            }
        }
        Mistake::ActivationForDerivative {
            written: w,
            should_be,
        } => {
            put("written", written(*w));
            put("should_be", formula(*should_be));
            "activation_for_derivative"
        }
        Mistake::WrongDerivative {
            written: w,
            should_be,
        } => {
            put("written", formula(*w));
            put("should_be", formula(*should_be));
            "wrong_derivative"
        }
        Mistake::Edit {
            written: w,
            should_be,
            edit,
        } => {
            put("written", formula(*w));
            put("should_be", formula(*should_be));
            put("edit", json!(edit_name(edit)));
            match edit {
                Edit::WrongFunction { written, meant } => {
                    put("function_written", json!(written.name()));
                    put("function_meant", json!(meant.name()));
                }
                Edit::TermLacksFactor(s) | Edit::TermExtraFactor(s) => {
                    put("factor", json!(scaling_word(s)));
                }
                _ => {}
            }
            "edit"
        }
        Mistake::Shape {
            written: w,
            should_be,
            edit,
        } => {
            put("written", formula(*w));
            put("should_be", formula(*should_be));
            put("edit", json!(edit.code()));
            "shape"
        }
    };
    if style == Style::Words {
        out.insert("variant".into(), json!(variant));
    }
    out
}

/// The derivatives and update rules a sentence names, each one formula in both forms: the
/// program's names in the text form (`∂C/∂w2`), display forms in LaTeX.
struct Words<'a> {
    printer: &'a FormulaPrinter<'a>,
    names: &'a crate::analysis::check::Formulas,
}

impl Words<'_> {
    fn plain(&self, s: Sym) -> &str {
        self.names.name(s)
    }

    fn latex(&self, s: Sym) -> String {
        self.printer.name(s, Notation::Latex)
    }

    fn d_text(&self, of: Sym, wrt: Sym) -> String {
        format!("∂{}/∂{}", self.plain(of), self.plain(wrt))
    }

    fn d_latex(&self, of: Sym, wrt: Sym) -> String {
        self.printer.deriv_label(of, wrt, Notation::Latex)
    }

    /// `∂C/∂w2`.
    fn derivative(&self, of: Sym, wrt: Sym) -> String {
        math_span(&self.d_text(of, wrt), &self.d_latex(of, wrt))
    }

    /// `η·∂C/∂w2`.
    fn step(&self, parameter: Sym, cost: Sym) -> String {
        math_span(
            &format!("η·{}", self.d_text(cost, parameter)),
            &format!("\\eta {}", self.d_latex(cost, parameter)),
        )
    }

    /// `w2 + η·∂C/∂w2` (`sign` "+") or `w2 − η·∂C/∂w2` (`sign` "−").
    fn rule(&self, parameter: Sym, cost: Sym, sign: &str) -> String {
        let latex_sign = if sign == "+" { "+" } else { "-" };
        math_span(
            &format!(
                "{} {sign} η·{}",
                self.plain(parameter),
                self.d_text(cost, parameter)
            ),
            &format!(
                "{} {latex_sign} \\eta {}",
                self.latex(parameter),
                self.d_latex(cost, parameter)
            ),
        )
    }

    /// `Δw2 = −η·∂C/∂w2`.
    fn change(&self, parameter: Sym, cost: Sym) -> String {
        math_span(
            &format!(
                "Δ{} = −η·{}",
                self.plain(parameter),
                self.d_text(cost, parameter)
            ),
            &format!(
                "\\Delta {} = -\\eta {}",
                self.latex(parameter),
                self.d_latex(cost, parameter)
            ),
        )
    }

    /// The chain rule at one name: the local factor `∂at/∂wrt`, the upstream factor `∂of/∂at`,
    /// and `∂of/∂wrt = ∂of/∂at · ∂at/∂wrt`.
    fn put_chain(&self, put: &mut impl FnMut(&str, Value), of: Sym, at: Sym, wrt: Sym) {
        put("local", json!(self.derivative(at, wrt)));
        put("upstream", json!(self.derivative(of, at)));
        put(
            "chain",
            json!(math_span(
                &format!(
                    "{} = {} · {}",
                    self.d_text(of, wrt),
                    self.d_text(of, at),
                    self.d_text(at, wrt)
                ),
                &format!(
                    "{} = {} {}",
                    self.d_latex(of, wrt),
                    self.d_latex(of, at),
                    self.d_latex(at, wrt)
                ),
            )),
        );
    }
}

/// An edit's name, for the wording.
fn edit_name(edit: &Edit) -> &'static str {
    match edit {
        Edit::WrongArgument => "wrong_argument",
        Edit::WrongName => "wrong_name",
        Edit::IndexSlip => "index_slip",
        Edit::MissingSquare => "missing_square",
        Edit::NumberSign => "number_sign",
        Edit::MissingTwo => "missing_two",
        Edit::ExtraTwo => "extra_two",
        Edit::ExtraConstant => "extra_constant",
        Edit::WrongFunction { .. } => "wrong_function",
        Edit::DifferenceForProduct => "difference_for_product",
        Edit::SumForProduct => "sum_for_product",
        Edit::ExtraTerm => "extra_term",
        Edit::TermSign => "term_sign",
        Edit::TermLacksFactor(_) => "term_lacks_factor",
        Edit::TermExtraFactor(_) => "term_extra_factor",
        Edit::ExtraFactor => "extra_factor",
        Edit::SigmoidFormForTanh => "sigmoid_form_for_tanh",
        Edit::ProductForDifference => "product_for_difference",
        Edit::SquareOfDifference => "square_of_difference",
        Edit::ExtraPower => "extra_power",
        Edit::WrongExponent => "wrong_exponent",
    }
}

fn scaling_word(s: &Scaling) -> &'static str {
    match s {
        Scaling::Two => "2",
        Scaling::Half => "½",
        Scaling::Name => "a name",
        Scaling::LearningRate => "η",
    }
}

/// A ratio as a reader would write it: 2, ½ → "1/2", −3, 0.37.
fn approximate_ratio(r: f64) -> String {
    let fits = |a: f64, b: f64| (a - b).abs() <= 1e-7 * a.abs().max(b.abs()) + 1e-300;
    for d in 1..=12i64 {
        let n = (r * d as f64).round();
        if fits(n / d as f64, r) {
            return if d == 1 {
                format!("{}", n as i64)
            } else {
                format!("{}/{d}", n as i64)
            };
        }
    }
    float(r)
}
